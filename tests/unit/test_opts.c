/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "opts.h"
#include "size.h"

/* Deprecation warnings go to a pipe so that tests can read them. */
static int log_pipe[2] = { -1, -1 };

static int group_setup(void **state)
{
	(void)state;
	if (pipe(log_pipe) < 0)
		return -1;
	log_set_fd(log_pipe[1]);
	log_init("test/opts");
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

/* Everything logged since the last call; a marker line keeps read() from blocking. */
static const char *drain_log(void)
{
	static char buf[2048];
	ssize_t n;

	log_warnx("--");
	n = read(log_pipe[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Each test owns at most one list, freed in teardown even when it fails. */
static struct opts *cur;

static int teardown(void **state)
{
	(void)state;
	opts_free(cur);
	cur = NULL;
	return 0;
}

static struct opts *parse_ok(const char *str, const char *implied)
{
	struct opts_error err = { { 0 } };
	int ret;

	opts_free(cur);
	cur = NULL;
	ret = opts_parse(str, implied, &cur, &err);
	if (ret != 0)
		fail_msg("'%s': %d %s", str, ret, err.msg);
	return cur;
}

static void assert_parse_fails(const char *str, const char *implied, const char *want)
{
	struct opts_error err = { { 0 } };
	struct opts *o = (struct opts *)&err; /* must stay untouched */

	assert_int_equal(opts_parse(str, implied, &o, &err), -EINVAL);
	assert_ptr_equal(o, (struct opts *)&err);
	if (strcmp(err.msg, want) != 0)
		fail_msg("'%s': got \"%s\", want \"%s\"", str, err.msg, want);
}

static void test_object_with_implied_key(void **state)
{
	struct opts *o = parse_ok("memory-backend-ram,id=mem1,size=1G,prealloc=on", "qom-type");
	static const char *const keys[] = { "qom-type", "id", "size", "prealloc" };
	static const char *const values[] = { "memory-backend-ram", "mem1", "1G", "on" };
	size_t i;

	(void)state;
	assert_int_equal(opts_count(o), 4);
	for (i = 0; i < 4; i++) {
		assert_string_equal(opts_key(o, i), keys[i]);
		assert_string_equal(opts_value(o, i), values[i]);
	}
	assert_null(opts_key(o, 4));
	assert_null(opts_value(o, 4));
	assert_string_equal(opts_get(o, "qom-type"), "memory-backend-ram");
	assert_null(opts_get(o, "share"));
	assert_null(strstr(drain_log(), "deprecated"));
}

static void test_implied_key_rules(void **state)
{
	struct opts *o;

	(void)state;
	/* The implied key may also be spelled out. */
	o = parse_ok("qom-type=memory-backend-ram,id=m", "qom-type");
	assert_string_equal(opts_get(o, "qom-type"), "memory-backend-ram");
	/* -m 1G: the first element only. */
	o = parse_ok("1G,slots=4,maxmem=8G", "size");
	assert_string_equal(opts_get(o, "size"), "1G");
	assert_string_equal(opts_get(o, "slots"), "4");
	/* An implied value is a value: ",," escapes there too. */
	o = parse_ok("a,,b,id=x", "driver");
	assert_string_equal(opts_get(o, "driver"), "a,b");
	/* A leading ',' gives the implied key an empty value, as in QEMU. */
	o = parse_ok(",size=1G", "driver");
	assert_string_equal(opts_get(o, "driver"), "");
	/* Without an implied key a first bare word is a short-form flag. */
	o = parse_ok("virtio-mem", NULL);
	assert_string_equal(opts_get(o, "virtio-mem"), "on");
	drain_log();
}

static void test_comma_escaping(void **state)
{
	static const struct {
		const char *in;
		const char *key;
		const char *want;
		size_t count;
	} cases[] = {
		{ "path=/a,,b", "path", "/a,b", 1 },
		{ "path=a,,,,b", "path", "a,,b", 1 },
		{ "path=a,,,b=c", "path", "a,", 2 },
		{ "path=a,,,b=c", "b", "c", 2 },
		{ "v=,,", "v", ",", 1 },
		{ "v=a=b", "v", "a=b", 1 },
		{ "v=", "v", "", 1 },
		{ "v=,w=1", "v", "", 2 },
		{ "size=1G,", "size", "1G", 1 },    /* one trailing comma is dropped */
		{ "size=1G,,", "size", "1G,", 1 },  /* two are an escaped comma */
		{ "size=1G,,,", "size", "1G,", 1 }, /* and then a trailing one */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct opts *o = parse_ok(cases[i].in, NULL);
		const char *got = opts_get(o, cases[i].key);

		if (!got || strcmp(got, cases[i].want) != 0 || opts_count(o) != cases[i].count)
			fail_msg("'%s' %s: got '%s' (%zu elements), want '%s' (%zu)", cases[i].in,
			         cases[i].key, got ? got : "(null)", opts_count(o), cases[i].want,
			         cases[i].count);
	}
	assert_int_equal(opts_count(parse_ok("", "qom-type")), 0);
}

static void test_bool_spellings(void **state)
{
	static const struct {
		const char *v;
		bool want;
	} ok[] = {
		{ "on", true },   { "yes", true }, { "true", true },   { "y", true },
		{ "off", false }, { "no", false }, { "false", false }, { "n", false },
	};
	static const char *const bad[] = {
		"ON", "On", "Yes", "TRUE", "1", "0", "maybe", "", "onn"
	};
	char str[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct opts_error err = { { 0 } };
		bool b = !ok[i].want;

		snprintf(str, sizeof(str), "prealloc=%s", ok[i].v);
		assert_int_equal(
		        opts_get_bool(parse_ok(str, NULL), "prealloc", !ok[i].want, &b, &err), 0);
		assert_true(b == ok[i].want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct opts_error err = { { 0 } };
		char want[160];
		bool b = true;

		snprintf(str, sizeof(str), "prealloc=%s", bad[i]);
		assert_int_equal(opts_get_bool(parse_ok(str, NULL), "prealloc", true, &b, &err),
		                 -EINVAL);
		snprintf(want, sizeof(want),
		         "property 'prealloc': '%s' is not a boolean (use on/off, yes/no, "
		         "true/false, y/n)",
		         bad[i]);
		assert_string_equal(err.msg, want);
	}
	/* Absent: the default. */
	{
		bool b = false;

		assert_int_equal(opts_get_bool(parse_ok("id=m", NULL), "share", true, &b, NULL), 0);
		assert_true(b);
	}
}

static void test_short_form_booleans(void **state)
{
	struct opts_error err = { { 0 } };
	struct opts *o;
	bool b;

	(void)state;
	drain_log();
	o = parse_ok("memory-backend-ram,id=m,prealloc,noshare", "qom-type");
	assert_int_equal(opts_get_bool(o, "prealloc", false, &b, &err), 0);
	assert_true(b);
	assert_int_equal(opts_get_bool(o, "share", true, &b, &err), 0);
	assert_false(b);
	assert_non_null(strstr(drain_log(),
	                       "short-form boolean option 'prealloc' deprecated, use prealloc=on "
	                       "instead\ntest/opts"));
	o = parse_ok("noshare", NULL);
	assert_non_null(strstr(drain_log(), "'noshare' deprecated, use share=off instead"));

	/* "nodes" becomes des=off as in QEMU, but errors say what was typed. */
	o = parse_ok("memory-backend-ram,nodes", "qom-type");
	assert_non_null(opts_get(o, "qom-type"));
	assert_int_equal(opts_check_unused(o, "memory-backend-ram", &err), -EINVAL);
	assert_string_equal(err.msg, "memory-backend-ram: unknown property 'nodes'");
	drain_log();
}

static void test_parse_errors(void **state)
{
	(void)state;
	assert_parse_fails("size=1G,size=2G", NULL, "duplicate property 'size'");
	assert_parse_fails("1G,size=2G", "size", "duplicate property 'size'");
	assert_parse_fails("prealloc,noprealloc", NULL, "duplicate property 'prealloc'");
	assert_parse_fails("prealloc=on,prealloc", NULL, "duplicate property 'prealloc'");
	assert_parse_fails("=1G", NULL, "element 1 has an empty property name");
	assert_parse_fails("=1G", "qom-type", "element 1 has an empty property name");
	assert_parse_fails(",size=1G", NULL, "element 1 has an empty property name");
	assert_parse_fails("a=1,=2", NULL, "element 2 has an empty property name");
	/* After a value ",," is an escape; after a bare flag it is not. */
	assert_parse_fails("prealloc,,size=1G", NULL, "element 2 has an empty property name");
	assert_parse_fails("no", NULL, "element 1 has an empty property name");
	assert_parse_fails(NULL, NULL, "internal error: opts_parse() without a string");
	drain_log();
}

static void test_unused_detection(void **state)
{
	struct opts_error err = { { 0 } };
	struct opts *o = parse_ok("memory-backend-ram,id=mem1,sise=1G", "qom-type");
	uint64_t size;

	(void)state;
	assert_non_null(opts_get(o, "qom-type"));
	assert_non_null(opts_get(o, "id"));
	assert_int_equal(opts_get_size(o, "size", 0, &size, &err), 0);
	assert_true(size == 0);
	assert_int_equal(opts_check_unused(o, "memory-backend-ram", &err), -EINVAL);
	assert_string_equal(err.msg, "memory-backend-ram: unknown property 'sise'");
	assert_non_null(opts_get(o, "sise"));
	assert_int_equal(opts_check_unused(o, "memory-backend-ram", &err), 0);
	assert_int_equal(opts_check_unused(NULL, "x", &err), 0);
}

static void test_get_size(void **state)
{
	static const struct {
		const char *in;
		const char *msg;
	} bad[] = {
		{ "size=1G junk", "property 'size': trailing characters after '1G'" },
		{ "size=1KiB", "property 'size': trailing characters after '1K'" },
		{ "size=1Q", "property 'size': unknown unit suffix 'Q' in '1Q' "
		             "(use B, K, M, G, T, P or E)" },
		{ "size=-1", "property 'size': '-1': negative values are not allowed" },
		{ "size=", "property 'size': empty value, expected a size" },
		{ "size=16E", "property 'size': '16E': value does not fit in 64 bits "
		              "(the largest is 16E minus 1 byte)" },
		{ "size=1.5", "property 'size': '1.5': a fraction needs a unit larger than "
		              "a byte (K, M, G, T, P or E)" },
		{ "size=1e3", "property 'size': '1e3': exponents are not allowed" },
		{ "size=on", "property 'size': 'on': not a number" },
	};
	struct opts_error err = { { 0 } };
	uint64_t v;
	size_t i;

	(void)state;
	assert_int_equal(opts_get_size(parse_ok("size=1.5G", NULL), "size", 0, &v, &err), 0);
	assert_true(v == 3 * SIZE_GIB / 2);
	assert_int_equal(opts_get_size(parse_ok("id=x", NULL), "size", 42, &v, &err), 0);
	assert_true(v == 42);
	/* -m: MiB by default, and "1.5" is 1.5 MiB there. */
	assert_int_equal(opts_get_size_unit(parse_ok("512", "size"), "size", 0, SIZE_MIB, &v, &err),
	                 0);
	assert_true(v == 512 * SIZE_MIB);
	assert_int_equal(opts_get_size_unit(parse_ok("1.5", "size"), "size", 0, SIZE_MIB, &v, &err),
	                 0);
	assert_true(v == 3 * SIZE_MIB / 2);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		assert_int_equal(opts_get_size(parse_ok(bad[i].in, NULL), "size", 0, &v, &err),
		                 -EINVAL);
		assert_true(v == 7);
		if (strcmp(err.msg, bad[i].msg) != 0)
			fail_msg("'%s': got \"%s\", want \"%s\"", bad[i].in, err.msg, bad[i].msg);
	}
}

static void test_get_u64(void **state)
{
	static const struct {
		const char *in;
		uint64_t want;
	} ok[] = {
		{ "slots=4", 4 },     { "slots=0", 0 },      { "slots=256", 256 },
		{ "slots=0x10", 16 }, { "slots=0XfF", 255 },
	};
	static const struct {
		const char *in;
		const char *msg;
	} bad[] = {
		{ "slots=300", "property 'slots': 300 is above the maximum 256" },
		{ "slots=99999999999999999999", "property 'slots': 99999999999999999999 is above "
		                                "the maximum 256" },
		{ "slots=0x10000000000000000", "property 'slots': 0x10000000000000000 is above "
		                               "the maximum 256" },
		{ "slots=010", "property 'slots': '010': a leading zero is octal to QEMU; "
		               "write the number without it" },
		{ "slots=4G",
		  "property 'slots': '4G' is not a number (decimal or 0x hexadecimal)" },
		{ "slots=0x",
		  "property 'slots': '0x' is not a number (decimal or 0x hexadecimal)" },
		{ "slots= 4",
		  "property 'slots': ' 4' is not a number (decimal or 0x hexadecimal)" },
		{ "slots=+4",
		  "property 'slots': '+4' is not a number (decimal or 0x hexadecimal)" },
		{ "slots=-1", "property 'slots': '-1': negative values are not allowed" },
		{ "slots=", "property 'slots': empty value, expected a number" },
	};
	struct opts_error err = { { 0 } };
	uint64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 7;
		assert_int_equal(opts_get_u64(parse_ok(ok[i].in, NULL), "slots", 1, 256, &v, &err),
		                 0);
		assert_true(v == ok[i].want);
	}
	assert_int_equal(opts_get_u64(parse_ok("id=x", NULL), "slots", 1, 256, &v, &err), 0);
	assert_true(v == 1);
	assert_int_equal(opts_get_u64(parse_ok("n=18446744073709551615", NULL), "n", 0, UINT64_MAX,
	                              &v, &err),
	                 0);
	assert_true(v == UINT64_MAX);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		assert_int_equal(opts_get_u64(parse_ok(bad[i].in, NULL), "slots", 1, 256, &v, &err),
		                 -EINVAL);
		assert_true(v == 7);
		if (strcmp(err.msg, bad[i].msg) != 0)
			fail_msg("'%s': got \"%s\", want \"%s\"", bad[i].in, err.msg, bad[i].msg);
	}
}

static void test_id_valid(void **state)
{
	static const char *const good[] = { "mem0", "a", "vm-0.mem_1", "Z9" };
	static const char *const bad[] = { "", "0mem", "-a", "_a", "a b", "a,b", "a/b", "é" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(opts_id_valid(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (opts_id_valid(bad[i]))
			fail_msg("'%s' accepted", bad[i]);
	}
	assert_false(opts_id_valid(NULL));
}

static void test_null_and_no_err(void **state)
{
	struct opts *o = NULL;

	(void)state;
	opts_free(NULL);
	assert_int_equal(opts_count(NULL), 0);
	assert_null(opts_key(NULL, 0));
	assert_null(opts_get(NULL, "x"));
	/* @err is optional. */
	assert_int_equal(opts_parse("a=1,a=2", NULL, &o, NULL), -EINVAL);
	assert_null(o);
	assert_int_equal(opts_parse("a=1", NULL, &o, NULL), 0);
	assert_int_equal(opts_check_unused(o, "x", NULL), -EINVAL);
	opts_free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_object_with_implied_key, teardown),
		cmocka_unit_test_teardown(test_implied_key_rules, teardown),
		cmocka_unit_test_teardown(test_comma_escaping, teardown),
		cmocka_unit_test_teardown(test_bool_spellings, teardown),
		cmocka_unit_test_teardown(test_short_form_booleans, teardown),
		cmocka_unit_test_teardown(test_parse_errors, teardown),
		cmocka_unit_test_teardown(test_unused_detection, teardown),
		cmocka_unit_test_teardown(test_get_size, teardown),
		cmocka_unit_test_teardown(test_get_u64, teardown),
		cmocka_unit_test_teardown(test_id_valid, teardown),
		cmocka_unit_test_teardown(test_null_and_no_err, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
