/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "size.h"

#define KiB SIZE_KIB
#define MiB SIZE_MIB
#define GiB SIZE_GIB
#define TiB SIZE_TIB
#define PiB (UINT64_C(1) << 50)
#define EiB (UINT64_C(1) << 60)

/* Deprecation warnings go to a pipe, not to the test log. */
static int log_pipe[2] = { -1, -1 };

static int group_setup(void **state)
{
	(void)state;
	if (pipe(log_pipe) < 0)
		return -1;
	log_set_fd(log_pipe[1]);
	log_init("test/size");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	log_set_fd(-1);
	close(log_pipe[0]);
	close(log_pipe[1]);
	return 0;
}

/* Everything logged since the last call. */
static const char *drain_log(void)
{
	static char buf[1024];
	ssize_t n;

	/* The pipe never holds more than one line here; an empty pipe would
	 * block, so log a marker first. */
	log_warnx("--");
	n = read(log_pipe[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

struct qemu_ok {
	const char *in;
	uint64_t unit;
	uint64_t want;
};

static const struct qemu_ok qemu_accepted[] = {
	{ "0", 1, 0 },
	{ "512", 1, 512 },
	{ "512", MiB, 512 * MiB },
	{ "1b", 1, 1 },
	{ "1B", MiB, 1 },
	{ "1k", 1, KiB },
	{ "1K", 1, KiB },
	{ "1m", 1, MiB },
	{ "1M", 1, MiB },
	{ "1g", 1, GiB },
	{ "1G", 1, GiB },
	{ "1t", 1, TiB },
	{ "1T", 1, TiB },
	{ "1p", 1, PiB },
	{ "1P", 1, PiB },
	{ "1e", 1, EiB },
	{ "1E", 1, EiB },
	{ "15E", 1, 15 * EiB },
	{ "1.5G", 1, 3 * GiB / 2 },
	{ "1.5", MiB, 3 * MiB / 2 },
	{ "0.5k", 1, 512 },
	{ "0.5K", 1, 512 },
	{ "1.1k", 1, 1126 },            /* 1126.4 rounds down */
	{ "1.00048828125k", 1, 1025 },  /* exactly 1024.5: halves round up */
	{ "1.000488281249k", 1, 1024 }, /* just below the half */
	{ "0.0001k", 1, 0 },            /* 0.1024 bytes */
	{ "1.", 1, 1 },                 /* a '.' without digits is skipped */
	{ "1.0", 1, 1 },                /* a zero fraction needs no unit */
	{ "1.000B", 1, 1 },
	{ "1.k", 1, KiB },
	{ "1.5e", 1, 3 * EiB / 2 },                      /* 'e' with no digits is the suffix */
	{ "15.9999999999999999E", 1, UINT64_MAX - 114 }, /* 2^64 - 115.29 */
	{ "0x10", 1, 16 },
	{ "0X10", 1, 16 },
	{ "0x10", MiB, 16 * MiB }, /* the default unit applies to hex */
	{ "0x1E", 1, 30 },         /* E and B are hex digits there */
	{ "0x1B", 1, 27 },
	{ "0xffffffffffffffff", 1, UINT64_MAX },
	{ "0x10k", 1, 16 * KiB }, /* deprecated but accepted in 7.2 */
	{ "  1G", 1, GiB },
	{ "\t\n1k", 1, KiB },
	{ "+1k", 1, KiB },
	{ "+0x10", 1, 16 },
	{ "18446744073709551615", 1, UINT64_MAX },
	{ "17592186044415M", 1, 17592186044415 * MiB },
	{ "0.999999999999999999999999999999999999999999999999999999999999999999999k", 1, KiB },
	{ "007", 1, 7 }, /* decimal, not octal */
};

static void test_qemu_accepted(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(qemu_accepted) / sizeof(qemu_accepted[0]); i++) {
		const struct qemu_ok *t = &qemu_accepted[i];
		uint64_t got = 12345;
		int ret = size_parse_qemu(t->in, t->unit, &got);

		if (ret != 0 || got != t->want)
			fail_msg("'%s' unit %llu: ret %d (%s) got %llu want %llu", t->in,
			         (unsigned long long)t->unit, ret, size_strerror(ret),
			         (unsigned long long)got, (unsigned long long)t->want);
	}
}

struct qemu_bad {
	const char *in;
	uint64_t unit;
	int want;
	int end_at; /* offset of *end for the codes that set it, else -1 */
};

static const struct qemu_bad qemu_refused[] = {
	{ "", 1, SIZE_ERR_EMPTY, -1 },
	{ "   ", 1, SIZE_ERR_EMPTY, -1 },
	{ "-1", 1, SIZE_ERR_NEGATIVE, -1 },
	{ "-0", 1, SIZE_ERR_NEGATIVE, -1 },
	{ " -1k", 1, SIZE_ERR_NEGATIVE, -1 },
	{ "-0x10", 1, SIZE_ERR_NEGATIVE, -1 },
	{ "-", 1, SIZE_ERR_NOT_A_NUMBER, -1 },
	{ "--1", 1, SIZE_ERR_NOT_A_NUMBER, -1 },
	{ "+-1", 1, SIZE_ERR_NOT_A_NUMBER, -1 },
	{ "k", 1, SIZE_ERR_NOT_A_NUMBER, -1 },
	{ ".5k", 1, SIZE_ERR_NOT_A_NUMBER, -1 },
	{ "abc", 1, SIZE_ERR_NOT_A_NUMBER, -1 },
	{ "1Q", 1, SIZE_ERR_UNKNOWN_SUFFIX, 1 },
	{ "1.5Q", 1, SIZE_ERR_UNKNOWN_SUFFIX, 3 },
	{ "1G junk", 1, SIZE_ERR_TRAILING, 2 },
	{ "1G ", 1, SIZE_ERR_TRAILING, 2 }, /* trailing white space */
	{ "1 G", 1, SIZE_ERR_TRAILING, 1 },
	{ "1KiB", 1, SIZE_ERR_TRAILING, 2 },
	{ "1GB", 1, SIZE_ERR_TRAILING, 2 },
	{ "1Gx", 1, SIZE_ERR_TRAILING, 2 },
	{ "1QQ", 1, SIZE_ERR_TRAILING, 1 },
	{ "1.5.5k", 1, SIZE_ERR_TRAILING, 3 },
	{ "0x", 1, SIZE_ERR_UNKNOWN_SUFFIX, 1 },
	{ "0xg", 1, SIZE_ERR_TRAILING, 1 },
	{ "00x10", 1, SIZE_ERR_TRAILING, 2 },
	{ "0x1.8", 1, SIZE_ERR_HEX_FRACTION, -1 },
	{ "0x1.8k", 1, SIZE_ERR_HEX_FRACTION, -1 },
	{ "1.5e3", 1, SIZE_ERR_EXPONENT, 3 },
	{ "1.5E+3k", 1, SIZE_ERR_EXPONENT, 3 },
	{ "1.5e-3", 1, SIZE_ERR_EXPONENT, 3 },
	{ "1e3", 1, SIZE_ERR_EXPONENT, 1 },
	{ "1.e3", 1, SIZE_ERR_EXPONENT, 2 },
	{ "1.5", 1, SIZE_ERR_FRACTION_UNIT, -1 },
	{ "1.5B", 1, SIZE_ERR_FRACTION_UNIT, -1 },
	{ "1.5b", MiB, SIZE_ERR_FRACTION_UNIT, -1 },
	{ "1.0000000000000000000001", 1, SIZE_ERR_FRACTION_UNIT, -1 },
	{ "16E", 1, SIZE_ERR_OVERFLOW, -1 },
	{ "16384P", 1, SIZE_ERR_OVERFLOW, -1 },
	{ "17592186044416M", 1, SIZE_ERR_OVERFLOW, -1 },
	{ "17592186044416", MiB, SIZE_ERR_OVERFLOW, -1 },
	{ "99999999999999999999", 1, SIZE_ERR_OVERFLOW, -1 },
	{ "18446744073709551616", 1, SIZE_ERR_OVERFLOW, -1 },
	{ "99999999999999999999junk", 1, SIZE_ERR_OVERFLOW, -1 },
	{ "0x10000000000000000", 1, SIZE_ERR_OVERFLOW, -1 },
	{ "0x4000000000000000K", 1, SIZE_ERR_OVERFLOW, -1 },
	{ "15.99999999999999999999E", 1, SIZE_ERR_OVERFLOW, -1 }, /* rounds to 16E */
	{ "1", 0, SIZE_ERR_INVALID_ARG, -1 },
	{ "1", 1000, SIZE_ERR_INVALID_ARG, -1 },
	{ "1", 3, SIZE_ERR_INVALID_ARG, -1 },
};

static void test_qemu_refused(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(qemu_refused) / sizeof(qemu_refused[0]); i++) {
		const struct qemu_bad *t = &qemu_refused[i];
		const char *end = NULL;
		uint64_t got = 12345;
		int ret = size_parse_qemu_end(t->in, t->unit, &got, &end);

		if (ret != t->want)
			fail_msg("'%s': ret %d (%s), want %d (%s)", t->in, ret, size_strerror(ret),
			         t->want, size_strerror(t->want));
		if (got != 12345)
			fail_msg("'%s': *out written on failure", t->in);
		if (t->end_at >= 0 && end != t->in + t->end_at)
			fail_msg("'%s': end at %td, want %d", t->in, end ? end - t->in : -1,
			         t->end_at);
		if (t->end_at < 0 && end != NULL)
			fail_msg("'%s': end set for %s", t->in, size_strerror(ret));
	}
}

static void test_qemu_null_args(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(size_parse_qemu(NULL, 1, &v), SIZE_ERR_INVALID_ARG);
	assert_int_equal(size_parse_qemu("1", 1, NULL), SIZE_ERR_INVALID_ARG);
	/* @end is optional on every path. */
	assert_int_equal(size_parse_qemu("1G junk", 1, &v), SIZE_ERR_TRAILING);
	assert_int_equal(size_parse_qemu("1.5e3", 1, &v), SIZE_ERR_EXPONENT);
}

static void test_qemu_hex_suffix_warns(void **state)
{
	uint64_t v;

	(void)state;
	drain_log();
	assert_int_equal(size_parse_qemu("0x10k", 1, &v), 0);
	assert_non_null(strstr(drain_log(), "suffix on hex numbers is deprecated: 0x10k"));
	assert_int_equal(size_parse_qemu("0x10", 1, &v), 0);
	assert_null(strstr(drain_log(), "deprecated"));
}

struct libvirt_case {
	const char *value;
	const char *unit;
	uint64_t def;
	uint64_t max;
	int want_ret;
	uint64_t want;
};

static const struct libvirt_case libvirt_cases[] = {
	/* every unit of formatdomain's list, with case variants */
	{ "3", "b", 1024, UINT64_MAX, 0, 3 },
	{ "3", "B", 1024, UINT64_MAX, 0, 3 },
	{ "3", "byte", 1024, UINT64_MAX, 0, 3 },
	{ "3", "bytes", 1024, UINT64_MAX, 0, 3 },
	{ "3", "Bytes", 1024, UINT64_MAX, 0, 3 },
	{ "3", "KB", 1, UINT64_MAX, 0, 3000 },
	{ "3", "kb", 1, UINT64_MAX, 0, 3000 },
	{ "3", "k", 1, UINT64_MAX, 0, 3 * KiB },
	{ "3", "K", 1, UINT64_MAX, 0, 3 * KiB },
	{ "3", "KiB", 1, UINT64_MAX, 0, 3 * KiB },
	{ "3", "kib", 1, UINT64_MAX, 0, 3 * KiB },
	{ "3", "KIB", 1, UINT64_MAX, 0, 3 * KiB },
	{ "3", "MB", 1, UINT64_MAX, 0, 3000000 },
	{ "3", "M", 1, UINT64_MAX, 0, 3 * MiB },
	{ "3", "MiB", 1, UINT64_MAX, 0, 3 * MiB },
	{ "3", "GB", 1, UINT64_MAX, 0, UINT64_C(3000000000) },
	{ "3", "G", 1, UINT64_MAX, 0, 3 * GiB },
	{ "3", "GiB", 1, UINT64_MAX, 0, 3 * GiB },
	{ "3", "TB", 1, UINT64_MAX, 0, UINT64_C(3000000000000) },
	{ "3", "T", 1, UINT64_MAX, 0, 3 * TiB },
	{ "3", "TiB", 1, UINT64_MAX, 0, 3 * TiB },
	{ "3", "PB", 1, UINT64_MAX, 0, UINT64_C(3000000000000000) },
	{ "3", "P", 1, UINT64_MAX, 0, 3 * PiB },
	{ "3", "PiB", 1, UINT64_MAX, 0, 3 * PiB },
	{ "3", "EB", 1, UINT64_MAX, 0, UINT64_C(3000000000000000000) },
	{ "3", "E", 1, UINT64_MAX, 0, 3 * EiB },
	{ "3", "EiB", 1, UINT64_MAX, 0, 3 * EiB },
	/* default unit: KiB for <memory> */
	{ "1048576", NULL, 1024, UINT64_MAX, 0, GiB },
	{ "1048576", "", 1024, UINT64_MAX, 0, GiB },
	{ " 1024", "KiB", 1, UINT64_MAX, 0, MiB },
	{ "+1024", "KiB", 1, UINT64_MAX, 0, MiB },
	{ "0", "EiB", 1, 0, 0, 0 },
	/* the caller's maximum and 64 bits */
	{ "15", "EiB", 1, UINT64_MAX, 0, 15 * EiB },
	{ "16", "EiB", 1, UINT64_MAX, SIZE_ERR_TOO_LARGE, 0 },
	{ "18446744073709551615", "b", 1, UINT64_MAX, 0, UINT64_MAX },
	{ "18446744073709551616", "b", 1, UINT64_MAX, SIZE_ERR_OVERFLOW, 0 },
	{ "1025", "KiB", 1, MiB, SIZE_ERR_TOO_LARGE, 0 },
	{ "1024", "KiB", 1, MiB, 0, MiB },
	{ "17179869184", NULL, 1024, (UINT64_C(1) << 44) - 1, SIZE_ERR_TOO_LARGE, 0 },
	{ "17179869184", NULL, 1024, UINT64_C(1) << 44, 0, UINT64_C(1) << 44 },
	/* refused values */
	{ "", "KiB", 1, UINT64_MAX, SIZE_ERR_EMPTY, 0 },
	{ "  ", "KiB", 1, UINT64_MAX, SIZE_ERR_EMPTY, 0 },
	{ NULL, "KiB", 1, UINT64_MAX, SIZE_ERR_EMPTY, 0 },
	{ "-1", "KiB", 1, UINT64_MAX, SIZE_ERR_NEGATIVE, 0 },
	{ "-", "KiB", 1, UINT64_MAX, SIZE_ERR_NOT_A_NUMBER, 0 },
	{ "one", "KiB", 1, UINT64_MAX, SIZE_ERR_NOT_A_NUMBER, 0 },
	{ "1.5", "GiB", 1, UINT64_MAX, SIZE_ERR_FRACTION, 0 },
	{ "1G", NULL, 1024, UINT64_MAX, SIZE_ERR_TRAILING, 0 },
	{ "1024 ", "KiB", 1, UINT64_MAX, SIZE_ERR_TRAILING, 0 },
	{ "0x10", "KiB", 1, UINT64_MAX, SIZE_ERR_TRAILING, 0 },
	{ "1.", "KiB", 1, UINT64_MAX, SIZE_ERR_TRAILING, 0 },
	/* refused units */
	{ "1", "Q", 1, UINT64_MAX, SIZE_ERR_UNKNOWN_UNIT, 0 },
	{ "1", "KiBs", 1, UINT64_MAX, SIZE_ERR_UNKNOWN_UNIT, 0 },
	{ "1", "Ki", 1, UINT64_MAX, SIZE_ERR_UNKNOWN_UNIT, 0 },
	{ "1", "ZiB", 1, UINT64_MAX, SIZE_ERR_UNKNOWN_UNIT, 0 },
	{ "1", "bit", 1, UINT64_MAX, SIZE_ERR_UNKNOWN_UNIT, 0 },
	{ "1", " KiB", 1, UINT64_MAX, SIZE_ERR_UNKNOWN_UNIT, 0 },
	{ "1", NULL, 0, UINT64_MAX, SIZE_ERR_INVALID_ARG, 0 },
};

static void test_libvirt(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(libvirt_cases) / sizeof(libvirt_cases[0]); i++) {
		const struct libvirt_case *t = &libvirt_cases[i];
		uint64_t got = 12345;
		int ret = size_parse_libvirt(t->value, t->unit, t->def, t->max, &got);

		if (ret != t->want_ret)
			fail_msg("'%s' unit '%s': ret %d (%s), want %d (%s)",
			         t->value ? t->value : "(null)", t->unit ? t->unit : "(null)", ret,
			         size_strerror(ret), t->want_ret, size_strerror(t->want_ret));
		if (ret == 0 && got != t->want)
			fail_msg("'%s' unit '%s': got %llu want %llu", t->value, t->unit,
			         (unsigned long long)got, (unsigned long long)t->want);
		if (ret != 0 && got != 12345)
			fail_msg("'%s': *out written on failure", t->value);
	}
	assert_int_equal(size_parse_libvirt("1", NULL, 1, 1, NULL), SIZE_ERR_INVALID_ARG);
}

static void test_format(void **state)
{
	static const struct {
		uint64_t in;
		const char *want;
	} cases[] = {
		{ 0, "0B" },
		{ 1, "1B" },
		{ 123, "123B" },
		{ 1023, "1023B" },
		{ KiB, "1K" },
		{ 4097 * KiB, "4097K" },
		{ 512 * MiB, "512M" },
		{ GiB, "1G" },
		{ 3 * GiB / 2, "1536M" },
		{ TiB, "1T" },
		{ PiB, "1P" },
		{ EiB, "1E" },
		{ 15 * EiB, "15E" },
		{ UINT64_MAX, "18446744073709551615B" },
		{ UINT64_MAX - 1023, "18014398509481983K" },
	};
	char buf[SIZE_FMT_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t back = 0;

		assert_ptr_equal(size_format(cases[i].in, buf, sizeof(buf)), buf);
		assert_string_equal(buf, cases[i].want);
		/* What it prints, QEMU's parser reads back. */
		assert_int_equal(size_parse_qemu(buf, 1, &back), 0);
		assert_true(back == cases[i].in);
	}
	/* A short buffer is cut, never overrun. */
	memset(buf, 'x', sizeof(buf));
	size_format(512 * MiB, buf, 3);
	assert_string_equal(buf, "51");
	assert_int_equal(buf[3], 'x');
}

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(size_strerror(0), "success");
	assert_string_equal(size_strerror(SIZE_ERR_TRAILING),
	                    "trailing characters after the number");
	assert_string_equal(size_strerror(SIZE_ERR_FRACTION_UNIT),
	                    "a fraction needs a unit larger than a byte (K, M, G, T, P or E)");
	assert_string_equal(size_strerror(1), "unknown error");
	assert_string_equal(size_strerror(-1000), "unknown error");
	assert_string_equal(size_strerror(-2147483647 - 1), "unknown error");
	/* Every code has its own phrase. */
	for (int c = SIZE_ERR_TOO_LARGE; c <= SIZE_ERR_INVALID_ARG; c++)
		assert_string_not_equal(size_strerror(c), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qemu_accepted),  cmocka_unit_test(test_qemu_refused),
		cmocka_unit_test(test_qemu_null_args), cmocka_unit_test(test_qemu_hex_suffix_warns),
		cmocka_unit_test(test_libvirt),        cmocka_unit_test(test_format),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
