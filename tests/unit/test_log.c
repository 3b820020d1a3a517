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

struct capture {
	int pipe[2];
	char buf[4096];
};

static int setup(void **state)
{
	static struct capture cap;

	memset(&cap, 0, sizeof(cap));
	if (pipe(cap.pipe) < 0)
		return -1;
	log_set_fd(cap.pipe[1]);
	log_set_verbose(false);
	log_init("test/log");
	*state = &cap;
	return 0;
}

static int teardown(void **state)
{
	struct capture *cap = *state;

	log_set_fd(-1);
	close(cap->pipe[0]);
	close(cap->pipe[1]);
	return 0;
}

/* Everything logged so far, as one string. */
static const char *drain(struct capture *cap)
{
	ssize_t n;

	close(cap->pipe[1]);
	cap->pipe[1] = -1;
	n = read(cap->pipe[0], cap->buf, sizeof(cap->buf) - 1);
	cap->buf[n > 0 ? n : 0] = '\0';
	return cap->buf;
}

static void test_line_has_tag_pid_level(void **state)
{
	char want[128];

	log_info("device %s attached", "vm0");
	snprintf(want, sizeof(want), "test/log[%ld]: info: device vm0 attached\n", (long)getpid());
	assert_string_equal(drain(*state), want);
}

static void test_warn_appends_strerror_and_keeps_errno(void **state)
{
	errno = ENOENT;
	log_warn("open %s", "/nope");
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(drain(*state), "warning: open /nope: No such file or directory\n"));
}

static void test_debug_only_when_verbose(void **state)
{
	const char *out;

	log_debug("hidden");
	log_set_verbose(true);
	log_debug("shown");
	out = drain(*state);
	assert_null(strstr(out, "hidden"));
	assert_non_null(strstr(out, "debug: shown\n"));
}

static void test_long_message_is_one_line(void **state)
{
	char big[3000];
	const char *out;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_warnx("%s", big);
	out = drain(*state);
	assert_non_null(strchr(out, '\n'));
	assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out));
}

static void test_ratelimit_suppresses_and_counts(void **state)
{
	/* A long interval: the window cannot roll over during the test. */
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(3600 * 1000, 2);
	const char *out;
	int lines = 0;

	for (int i = 0; i < 10; i++)
		log_warnx_ratelimited(&rl, "guest touched unmapped %d", i);
	assert_int_equal(rl.suppressed, 8);
	out = drain(*state);
	for (const char *p = out; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 2);
	assert_non_null(strstr(out, "unmapped 1"));
	assert_null(strstr(out, "unmapped 2"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_line_has_tag_pid_level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warn_appends_strerror_and_keeps_errno, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_debug_only_when_verbose, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_message_is_one_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ratelimit_suppresses_and_counts, setup,
		                                teardown),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
