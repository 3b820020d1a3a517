/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the option-string and size parsers (common/opts.h,
 * common/size.h): the text of -object/-device/-m and of the launch
 * config's sizes reaches them straight from the user.
 *
 * Input: byte 0 picks the implied key, the rest is the option string.  The
 * same bytes also go through both size parsers.  Besides "no crash, no
 * leak", it checks two properties: every key found can be read back with
 * every getter without crashing, and a size that parses formats to a
 * string that parses back to the same size.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "opts.h"
#include "size.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* Deprecation warnings would flood the fuzzer's output. */
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	(void)argc;
	(void)argv;
	if (fd >= 0)
		log_set_fd(fd);
	return 0;
}

static void check_size_roundtrip(const char *s, uint64_t unit)
{
	char buf[SIZE_FMT_LEN];
	uint64_t v, back;

	if (size_parse_qemu(s, unit, &v) != 0)
		return;
	size_format(v, buf, sizeof(buf));
	if (size_parse_qemu(buf, 1, &back) != 0 || back != v)
		abort();
}

static void exercise_opts(struct opts *o)
{
	struct opts_error err;
	size_t i, n = opts_count(o);

	for (i = 0; i < n; i++) {
		const char *key = opts_key(o, i);
		uint64_t u;
		bool b;

		if (!key || !opts_value(o, i) || !*key)
			abort();
		if (opts_get_bool(o, key, false, &b, &err) < 0 && !err.msg[0])
			abort();
		if (opts_get_size(o, key, 0, &u, &err) < 0 && !err.msg[0])
			abort();
		if (opts_get_size_unit(o, key, 0, SIZE_MIB, &u, &err) < 0 && !err.msg[0])
			abort();
		if (opts_get_u64(o, key, 0, 256, &u, &err) < 0 && !err.msg[0])
			abort();
		(void)opts_id_valid(opts_value(o, i));
	}
	/* Every key was asked for. */
	if (opts_check_unused(o, "fuzz", &err) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const implied[] = { NULL, "qom-type", "driver", "size" };
	struct opts_error err;
	struct opts *o = NULL;
	const char *unit;
	size_t len;
	uint64_t v;
	char *str;

	if (size < 1)
		return 0;
	str = malloc(size);
	if (!str)
		return 0;
	memcpy(str, data + 1, size - 1);
	str[size - 1] = '\0';

	err.msg[0] = '\0';
	if (opts_parse(str, implied[data[0] % 4], &o, &err) == 0) {
		exercise_opts(o);
		opts_free(o);
	} else if (!err.msg[0]) {
		abort();
	}

	check_size_roundtrip(str, 1);
	check_size_roundtrip(str, SIZE_MIB);
	/* libvirt: the value up to the first NUL, the unit after it if any. */
	len = strlen(str);
	unit = len + 1 < size ? str + len + 1 : NULL;
	(void)!size_parse_libvirt(str, unit, 1024, UINT64_MAX, &v);

	free(str);
	return 0;
}
