/* SPDX-License-Identifier: GPL-2.0-or-later */
/* core/aml.c and the ACPI table set: encodings checked against the ACPI spec's bytes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core.h"

static int setup(void **state)
{
	struct aml *a = calloc(1, sizeof(*a));

	if (!a)
		return -1;
	aml_init(a);
	*state = a;
	return 0;
}

static int teardown(void **state)
{
	aml_free(*state);
	free(*state);
	return 0;
}

#define assert_aml(a, ...)                                                                         \
	do {                                                                                       \
		static const uint8_t want_[] = { __VA_ARGS__ };                                    \
		assert_int_equal((a)->err, 0);                                                     \
		assert_int_equal((a)->len, sizeof(want_));                                         \
		assert_memory_equal((a)->buf, want_, sizeof(want_));                               \
	} while (0)

static void test_integers_pick_shortest_encoding(void **state)
{
	struct aml *a = *state;

	aml_integer(a, 0);
	aml_integer(a, 1);
	aml_integer(a, 0x0f);
	aml_integer(a, 0x3f8);
	aml_integer(a, 0xfee00000);
	aml_integer(a, 0x100000000ull);
	assert_aml(a, 0x00, 0x01, 0x0a, 0x0f, 0x0b, 0xf8, 0x03, 0x0c, 0x00, 0x00, 0xe0, 0xfe, 0x0e,
	           0, 0, 0, 0, 1, 0, 0, 0);
}

static void test_name_strings(void **state)
{
	struct aml *a = *state;

	aml_name(a, "\\_SB");
	aml_name(a, "\\_SB.COM1");
	aml_name(a, "^A.B.C");
	assert_aml(a, '\\', '_', 'S', 'B', '_', '\\', 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1',
	           '^', 0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_');
}

static void test_bad_name_is_sticky_error(void **state)
{
	struct aml *a = *state;

	aml_name(a, "TOOLONG");
	aml_integer(a, 5);
	assert_int_equal(a->err, -EINVAL);
}

/* EisaId("PNP0501") is 0x0105d041 in AML, as iasl compiles it. */
static void test_eisaid(void **state)
{
	struct aml *a = *state;

	aml_eisaid(a, "PNP0501");
	assert_aml(a, 0x0c, 0x41, 0xd0, 0x05, 0x01);
	aml_eisaid(a, "pnp0501");
	assert_int_equal(a->err, -EINVAL);
}

/* PkgLength: 1 byte up to 63, then 2 bytes with the low nibble first. */
static void test_pkg_length_encodings(void **state)
{
	struct aml *a = *state;
	size_t mark;
	uint8_t body[100];

	memset(body, 0xaa, sizeof(body));
	mark = aml_pkg_begin(a);
	aml_bytes(a, body, 62);
	aml_pkg_end(a, mark);
	assert_int_equal(a->len, 63);
	assert_int_equal(a->buf[0], 63);

	aml_free(a);
	mark = aml_pkg_begin(a);
	aml_bytes(a, body, 63);
	aml_pkg_end(a, mark);
	/* 63 + 2 = 65 = 0x41: lead byte 0x40 | 1, then 0x41 >> 4 = 4. */
	assert_int_equal(a->len, 65);
	assert_int_equal(a->buf[0], 0x41);
	assert_int_equal(a->buf[1], 0x04);

	aml_free(a);
	mark = aml_pkg_begin(a);
	for (int i = 0; i < 50; i++)
		aml_bytes(a, body, 100); /* 5000 bytes: 2-byte form up to 4095 */
	aml_pkg_end(a, mark);
	assert_int_equal(a->len, 5003);
	assert_int_equal(a->buf[0], 0x80 | (5003 & 0xf));
	assert_int_equal(a->buf[1], (5003 >> 4) & 0xff);
	assert_int_equal(a->buf[2], 5003 >> 12);
}

static void test_device_with_resource_template(void **state)
{
	struct aml *a = *state;
	size_t dev, rt;

	dev = aml_device_begin(a, "COM1");
	aml_name_decl(a, "_CRS");
	rt = aml_rt_begin(a);
	aml_rt_io(a, 0x3f8, 8);
	aml_rt_irq_noflags(a, 4);
	aml_rt_end(a, rt);
	aml_block_end(a, dev);
	assert_aml(a, 0x5b, 0x82, 0x1b, 'C', 'O', 'M', '1', 0x08, '_', 'C', 'R', 'S', 0x11, 0x10,
	           0x0a, 0x0d, 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, 0x22, 0x10, 0x00,
	           0x79, 0x00);
}

static void test_checksum(void **state)
{
	uint8_t t[8] = { 1, 2, 3, 4, 5, 6, 7, 0 };

	(void)state;
	t[7] = acpi_checksum(t, sizeof(t));
	assert_int_equal(acpi_checksum(t, sizeof(t)), 0);
}

/* The whole table set, built without a VM: every table sums to zero. */
static void test_table_set_checksums(void **state)
{
	static struct machine m;
	static struct core_config cfg;
	struct acpi_blob b;
	bool have_srat = false;

	(void)state;
	memset(&m, 0, sizeof(m));
	memset(&cfg, 0, sizeof(cfg));
	cfg.vcpus = 4;
	cfg.ram_size = 1 * GIB;
	cfg.maxmem = 3 * GIB;
	cfg.slots = 2;
	cfg.n_numa = 2;
	cfg.numa[0] = (struct core_numa_cfg){
		.node_id = 0, .cpu_first = 0, .cpu_count = 2, .mem = 512 * MIB
	};
	cfg.numa[1] = (struct core_numa_cfg){
		.node_id = 1, .cpu_first = 2, .cpu_count = 2, .mem = 512 * MIB
	};
	m.cfg = &cfg;
	assert_int_equal(memmap_init(&m.mm, cfg.ram_size, cfg.maxmem, cfg.slots), 0);
	assert_int_equal(acpi_build(&m, &b), 0);
	assert_true(b.n >= 5);
	for (unsigned i = 0; i < b.n; i++) {
		if (!strcmp(b.names[i], "RSDP")) {
			assert_int_equal(acpi_checksum(b.tables[i], 20), 0);
			assert_int_equal(acpi_checksum(b.tables[i], 36), 0);
			continue;
		}
		assert_memory_equal(b.tables[i], b.names[i], 4);
		assert_int_equal(acpi_checksum(b.tables[i], b.sizes[i]), 0);
		if (!strcmp(b.names[i], "SRAT"))
			have_srat = true;
	}
	assert_true(have_srat);
	acpi_blob_free(&b);
	acpi_blob_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_integers_pick_shortest_encoding, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_name_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_name_is_sticky_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eisaid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pkg_length_encodings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_with_resource_template, setup,
		                                teardown),
		cmocka_unit_test(test_checksum),
		cmocka_unit_test(test_table_set_checksums),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
