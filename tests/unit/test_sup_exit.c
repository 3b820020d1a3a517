/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The supervisor's exit reasons (sup/exit.c): a wait status as a
 * ProcessExit, and a device process's stderr, whose sandbox violation line
 * names the syscall behind a SIGSYS death.  Real wait statuses: children
 * that exit, are killed, or die of SIGSYS.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox.h"
#include "sup.h"

/* The wait status of a child that does @what: exit 3, SIGKILL, SIGSYS. */
static int child_status(int what)
{
	int status = 0;
	pid_t p = fork();

	assert_true(p >= 0);
	if (p == 0) {
		if (what == 0)
			_exit(3);
		signal(what, SIG_DFL);
		raise(what);
		_exit(99);
	}
	assert_int_equal(waitpid(p, &status, 0), p);
	return status;
}

static void test_exit_code(void **state)
{
	Splitvm__ProcessExit e;
	char buf[128];

	(void)state;
	sup_exit_reason(child_status(0), 42, -1, NULL, 0, &e);
	assert_int_equal(e.kind, SPLITVM__EXIT_KIND__EXIT_CODE);
	assert_int_equal(e.code, 3);
	assert_int_equal(e.pid, 42);
	assert_int_equal(e.syscall, -1);
	assert_string_equal(sup_exit_text(&e, buf, sizeof(buf)), "exit code 3");
	/* A violation line before an ordinary exit is not its reason. */
	sup_exit_reason(child_status(SIGKILL), 42, 2, NULL, 0, &e);
	assert_int_equal(e.kind, SPLITVM__EXIT_KIND__EXIT_SIGNAL);
	assert_int_equal(e.code, SIGKILL);
	assert_int_equal(e.syscall, -1);
}

static void test_seccomp_known_and_unknown(void **state)
{
	Splitvm__ProcessExit e;
	char name[40], buf[128], want[128];
	int st = child_status(SIGSYS);

	(void)state;
	sup_exit_reason(st, 7, -1, name, sizeof(name), &e);
	assert_int_equal(e.kind, SPLITVM__EXIT_KIND__EXIT_SECCOMP);
	assert_int_equal(e.syscall, -1);
	assert_string_equal(sup_exit_text(&e, buf, sizeof(buf)), "seccomp violation (SIGSYS)");
	sup_exit_reason(st, 7, SYS_openat, name, sizeof(name), &e);
	assert_int_equal(e.syscall, SYS_openat);
	assert_string_equal(e.syscall_name, "openat");
	snprintf(want, sizeof(want), "seccomp violation (SIGSYS), syscall %d openat", SYS_openat);
	assert_string_equal(sup_exit_text(&e, buf, sizeof(buf)), want);
}

static void feed_str(struct sup_dev *d, const char *s)
{
	sup_dev_stderr_feed(d, s, strlen(s));
}

static void test_stderr_lines(void **state)
{
	static Splitvm__DeviceConfig cfg = SPLITVM__DEVICE_CONFIG__INIT;
	struct sup_dev d = { .cfg = &cfg, .stderr_fd = -1, .violation = -1 };
	char line[128];

	(void)state;
	cfg.id = (char *)"pmem0";
	feed_str(&d, "devproc: info: attached\n");
	assert_int_equal(d.violation, -1);
	assert_int_equal(d.err_len, 0);
	/* Split across reads, as a pipe may deliver it. */
	snprintf(line, sizeof(line), "%ssyscall=%d arch=0xc000003e\n", SANDBOX_VIOLATION_PREFIX,
	         SYS_openat);
	sup_dev_stderr_feed(&d, line, 20);
	assert_int_equal(d.violation, -1);
	feed_str(&d, line + 20);
	assert_int_equal(d.violation, SYS_openat);
	assert_int_equal(d.err_len, 0);
	/* A cut line (no arch yet) names nothing until it is whole. */
	d.violation = -1;
	snprintf(line, sizeof(line), "%ssyscall=%d", SANDBOX_VIOLATION_PREFIX, SYS_socket);
	feed_str(&d, line);
	assert_int_equal(d.violation, -1);
	feed_str(&d, " arch=0xc000003e\n");
	assert_int_equal(d.violation, SYS_socket);
}

static void test_stderr_long_line(void **state)
{
	static Splitvm__DeviceConfig cfg = SPLITVM__DEVICE_CONFIG__INIT;
	struct sup_dev d = { .cfg = &cfg, .stderr_fd = -1, .violation = -1 };
	char big[1500];

	(void)state;
	cfg.id = (char *)"vm0";
	memset(big, 'x', sizeof(big));
	/* Passed on in pieces: the buffer never overflows, nothing is kept. */
	sup_dev_stderr_feed(&d, big, sizeof(big));
	assert_true(d.err_len < sizeof(d.err_line));
	feed_str(&d, "\n");
	assert_int_equal(d.err_len, 0);
	assert_int_equal(d.violation, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_code),
		cmocka_unit_test(test_seccomp_known_and_unknown),
		cmocka_unit_test(test_stderr_lines),
		cmocka_unit_test(test_stderr_long_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
