/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The MsgType table: every enum value of schema v1 has exactly one row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "splitvm_proto.h"

static void test_every_enum_value_has_one_row(void **state)
{
	const ProtobufCEnumDescriptor *ed = &splitvm__msg_type__descriptor;
	size_t n;
	const struct proto_msg_type *t = proto_msg_types(&n);

	(void)state;
	/* All values but MSG_UNSPECIFIED. */
	assert_int_equal(n, ed->n_values - 1);
	for (unsigned i = 0; i < ed->n_values; i++) {
		int v = ed->values[i].value;
		const struct proto_msg_type *row = proto_msg_type_lookup((Splitvm__MsgType)v);

		if (v == SPLITVM__MSG_TYPE__MSG_UNSPECIFIED) {
			assert_null(row);
			continue;
		}
		assert_non_null(row);
		/* "MSG_DEVICE_REQUEST" names the row "DEVICE_REQUEST". */
		assert_string_equal(row->name, ed->values[i].name + strlen("MSG_"));
		assert_non_null(row->desc);
		assert_int_not_equal(row->planes, 0);
		assert_ptr_equal(proto_msg_type_by_desc(row->desc), row);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			assert_ptr_not_equal(t[i].desc, t[j].desc);
}

static void test_unknown_type_has_a_name(void **state)
{
	(void)state;
	assert_null(proto_msg_type_lookup((Splitvm__MsgType)9999));
	assert_string_equal(proto_msg_type_name((Splitvm__MsgType)9999), "UNKNOWN");
	assert_string_equal(proto_msg_type_name(SPLITVM__MSG_TYPE__MSG_EVENT), "EVENT");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_enum_value_has_one_row),
		cmocka_unit_test(test_unknown_type_has_a_name),
	};

	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
