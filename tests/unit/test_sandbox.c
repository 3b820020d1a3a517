/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * common/sandbox.h and common/seccomp_policy.h without entering a sandbox:
 * config checks, the policy rules (forbidden calls refused, duplicates,
 * argument checks), the filter each mode builds, the violation line, and
 * the refusal to isolate a process that has threads already.  Entering the
 * sandbox is tests/integration/sandbox_test.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "fd.h"
#include "log.h"
#include "sandbox.h"
#include "seccomp_policy.h"

struct fixture {
	struct sandbox_policy *policy;
	int logpipe[2];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || sandbox_policy_create(&f->policy) < 0)
		return -1;
	/* Refusals log a line; keep them out of the test output, and readable. */
	if (pipe2(f->logpipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	log_init("test/sandbox");
	log_set_fd(f->logpipe[1]);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	log_set_fd(-1);
	close_fd(&f->logpipe[0]);
	close_fd(&f->logpipe[1]);
	sandbox_policy_destroy(f->policy);
	free(f);
	return 0;
}

/* The log lines written since the last call. */
static const char *logged(struct fixture *f)
{
	static char buf[4096];
	ssize_t n = read(f->logpipe[0], buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void test_mode_parse(void **state)
{
	static const struct {
		const char *text;
		int ret;
		enum sandbox_mode mode;
	} cases[] = {
		{ "on", 0, SANDBOX_ENFORCE },     { "enforce", 0, SANDBOX_ENFORCE },
		{ "audit", 0, SANDBOX_AUDIT },    { "off", 0, SANDBOX_OFF },
		{ "", -EINVAL, SANDBOX_OFF },     { "ON", -EINVAL, SANDBOX_OFF },
		{ "kill", -EINVAL, SANDBOX_OFF }, { "audit ", -EINVAL, SANDBOX_OFF },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum sandbox_mode m = SANDBOX_OFF;

		assert_int_equal(sandbox_mode_parse(cases[i].text, &m), cases[i].ret);
		if (!cases[i].ret) {
			assert_int_equal(m, cases[i].mode);
			/* The name parses back to the same mode. */
			assert_int_equal(sandbox_mode_parse(sandbox_mode_name(m), &m), 0);
			assert_int_equal(m, cases[i].mode);
		}
	}
}

static void test_config_refused(void **state)
{
	struct fixture *f = *state;
	static const int neg[] = { 5, -2 };
	char longdir[200];
	struct {
		struct sandbox_config cfg;
		const char *names;
	} cases[] = {
		{ { .mode = (enum sandbox_mode)7, .report_fd = -1 }, "mode" },
		{ { .mode = SANDBOX_ENFORCE, .keep_fds = neg, .n_keep_fds = 2, .report_fd = -1 },
		  "keep_fds[1]" },
		{ { .mode = SANDBOX_ENFORCE, .n_keep_fds = 1, .report_fd = -1 }, "keep_fds" },
		{ { .mode = SANDBOX_ENFORCE, .rundir = "run/splitvm", .report_fd = -1 }, "rundir" },
		{ { .mode = SANDBOX_ENFORCE, .rundir = "/run/../etc", .report_fd = -1 }, "rundir" },
		{ { .mode = SANDBOX_ENFORCE, .rundir = longdir, .report_fd = -1 }, "rundir" },
		{ { .mode = SANDBOX_ENFORCE, .uid = (uid_t)-1, .report_fd = -1 }, "uid" },
	};

	memset(longdir, 'a', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sandbox *sb = NULL;

		assert_int_equal(sandbox_create(&sb, &cases[i].cfg), -EINVAL);
		assert_null(sb);
		assert_non_null(strstr(logged(f), cases[i].names));
	}
}

static void test_create_has_common(void **state)
{
	struct sandbox_config cfg = { .mode = SANDBOX_ENFORCE,
		                      .rundir = "/run/x",
		                      .report_fd = -1 };
	struct sandbox *sb;
	struct sandbox_policy *p;

	(void)state;
	assert_int_equal(sandbox_create(&sb, &cfg), 0);
	p = sandbox_policy(sb);
	assert_true(sandbox_policy_has(p, SCMP_SYS(read)));
	assert_true(sandbox_policy_has(p, SCMP_SYS(futex)));
	assert_true(sandbox_policy_has(p, SCMP_SYS(mmap)));
	assert_false(sandbox_policy_has(p, SCMP_SYS(socket)));
	assert_false(sandbox_policy_has(p, SCMP_SYS(openat)));
	/* Every common rule says who needs it. */
	for (size_t i = 0; i < sandbox_policy_count(p); i++) {
		const struct sandbox_rule *r = sandbox_policy_rule(p, i);

		assert_non_null(r->who);
		assert_true(strlen(r->who) > 5);
		assert_false(sandbox_policy_forbidden(r->nr));
	}
	assert_null(sandbox_policy_rule(p, sandbox_policy_count(p)));
	sandbox_destroy(sb);
	sandbox_destroy(NULL);
	sandbox_policy_destroy(NULL);
}

static void test_forbidden_refused(void **state)
{
	struct fixture *f = *state;
	static const struct sandbox_rule bad[] = {
		SANDBOX_ALLOW(execve, "a model that wants to run a helper"),
		SANDBOX_ALLOW(ptrace, "x"),
		SANDBOX_ALLOW(mount, "x"),
		SANDBOX_ALLOW(fork, "x"),
		SANDBOX_ALLOW(unshare, "x"),
		SANDBOX_ALLOW(seccomp, "x"),
		SANDBOX_ALLOW(setresuid, "x"),
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(sandbox_policy_forbidden(bad[i].nr));
		assert_int_equal(sandbox_policy_add(f->policy, &bad[i]), -EPERM);
		assert_non_null(strstr(logged(f), bad[i].name));
	}
	assert_int_equal(sandbox_policy_count(f->policy), 0);
	assert_false(sandbox_policy_forbidden(SCMP_SYS(read)));
	/* A pseudo number (a syscall this arch lacks) is not "forbidden". */
	assert_false(sandbox_policy_forbidden(-10001));
}

static void test_add_rules(void **state)
{
	struct fixture *f = *state;
	const struct sandbox_rule fallocate = SANDBOX_ALLOW(fallocate, "virtio-mem discard");
	const struct sandbox_rule punch = SANDBOX_ALLOW_IF(
	        fallocate, "virtio-mem discard (punch only)", SANDBOX_ARG_MASKED_EQ(1, 0x3, 0x3));
	struct sandbox_rule toomany = SANDBOX_ALLOW(pread64, "x");
	struct sandbox_rule noname = { .nr = SCMP_SYS(read), .who = "x" };
	struct sandbox_rule nowho = { .nr = SCMP_SYS(read), .name = "read" };
	const struct sandbox_rule table[] = {
		SANDBOX_ALLOW(msync, "pmem flush"),
		SANDBOX_ALLOW(ptrace, "a bad entry in the middle"),
		SANDBOX_ALLOW(fdatasync, "never reached"),
	};

	assert_int_equal(sandbox_policy_add(f->policy, &fallocate), 0);
	assert_int_equal(sandbox_policy_add(f->policy, &fallocate), 0); /* once */
	assert_int_equal(sandbox_policy_count(f->policy), 1);
	assert_int_equal(sandbox_policy_add(f->policy, &punch), 0); /* differs by its args */
	assert_int_equal(sandbox_policy_count(f->policy), 2);
	assert_int_equal(sandbox_policy_rule(f->policy, 1)->n_args, 1);
	assert_int_equal(sandbox_policy_rule(f->policy, 1)->args[0].datum_a, 0x3);

	/* A refusal is a rule of its own, with an errno in range. */
	const struct sandbox_rule refuse = SANDBOX_REFUSE(unlink, EPERM, "nanomsg at close");
	struct sandbox_rule badrefuse = SANDBOX_REFUSE(unlink, -1, "x");

	assert_int_equal(sandbox_policy_add(f->policy, &refuse), 0);
	assert_int_equal(sandbox_policy_count(f->policy), 3);
	assert_int_equal(sandbox_policy_add(f->policy, &badrefuse), -EINVAL);
	badrefuse.refuse_errno = 5000;
	assert_int_equal(sandbox_policy_add(f->policy, &badrefuse), -EINVAL);

	toomany.n_args = SANDBOX_RULE_MAX_ARGS + 1;
	assert_int_equal(sandbox_policy_add(f->policy, &toomany), -EINVAL);
	assert_int_equal(sandbox_policy_add(f->policy, &noname), -EINVAL);
	assert_int_equal(sandbox_policy_add(f->policy, &nowho), -EINVAL);

	/* A table stops at its first bad entry and says which. */
	assert_int_equal(sandbox_policy_add_table(f->policy, table, 3), -EPERM);
	assert_true(sandbox_policy_has(f->policy, SCMP_SYS(msync)));
	assert_false(sandbox_policy_has(f->policy, SCMP_SYS(fdatasync)));
	assert_non_null(strstr(logged(f), "ptrace"));
}

static void test_self_signals(void **state)
{
	struct fixture *f = *state;
	const struct sandbox_rule *r;

	assert_int_equal(sandbox_policy_add_self_signals(f->policy, 0), -EINVAL);
	assert_int_equal(sandbox_policy_add_self_signals(f->policy, -3), -EINVAL);
	assert_int_equal(sandbox_policy_add_self_signals(f->policy, 1234), 0);
	assert_int_equal(sandbox_policy_count(f->policy), 2);
	r = sandbox_policy_rule(f->policy, 0);
	assert_int_equal(r->nr, SCMP_SYS(tgkill));
	assert_int_equal(r->n_args, 1);
	assert_int_equal(r->args[0].arg, 0);
	assert_int_equal(r->args[0].op, SCMP_CMP_EQ);
	assert_int_equal(r->args[0].datum_a, 1234);
}

/* The filter of @action as libseccomp's pseudo-code text. */
static char *pfc_of(struct sandbox_policy *p, enum sandbox_action action)
{
	scmp_filter_ctx ctx = NULL;
	int fd = memfd_create("pfc", MFD_CLOEXEC);
	char *text = calloc(1, 65536);
	ssize_t n;

	assert_true(fd >= 0 && text);
	assert_int_equal(sandbox_policy_build(p, action, &ctx), 0);
	assert_non_null(ctx);
	assert_int_equal(seccomp_export_pfc(ctx, fd), 0);
	seccomp_release(ctx);
	n = pread(fd, text, 65535, 0);
	assert_true(n > 0);
	close_fd(&fd);
	return text;
}

static void test_build_actions(void **state)
{
	struct fixture *f = *state;
	static const struct {
		enum sandbox_action action;
		const char *default_line;
	} cases[] = {
		{ SANDBOX_ACT_KILL, "action KILL_PROCESS;" },
		{ SANDBOX_ACT_TRAP, "action TRAP;" },
		{ SANDBOX_ACT_LOG, "action LOG;" },
	};

	uint32_t kill = SCMP_ACT_KILL_PROCESS;

	/* libseccomp asks the kernel what it supports; valgrind knows no seccomp(2). */
	if (syscall(SYS_seccomp, 2 /* SECCOMP_GET_ACTION_AVAIL */, 0, &kill) < 0 &&
	    errno == ENOSYS) {
		printf("SKIP: seccomp(2) is not available here (valgrind?)\n");
		skip();
	}
	assert_int_equal(sandbox_policy_add_common(f->policy), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = pfc_of(f->policy, cases[i].action);
		const char *last = strstr(text, "# default action");

		assert_non_null(last);
		assert_non_null(strstr(last, cases[i].default_line));
		/* mmap is allowed only with PROT_EXEC clear: its rule masks arg 2. */
		assert_non_null(strstr(text, "if ($a2.lo32 & 0x00000004 == 0)"));
		/* unlink fails with EPERM (1) instead of killing. */
		assert_non_null(strstr(text, "action ERRNO(1);"));
		free(text);
	}
}

static void *idle_thread(void *arg)
{
	pthread_barrier_t *b = arg;

	pthread_barrier_wait(b);
	pthread_barrier_wait(b);
	return NULL;
}

/* With a second thread nothing happens: no fd closed, no namespace left. */
static void test_isolate_refuses_threads(void **state)
{
	struct fixture *f = *state;
	struct sandbox_config cfg = { .mode = SANDBOX_ENFORCE, .report_fd = -1 };
	char before[64], after[64];
	pthread_barrier_t b;
	struct sandbox *sb;
	pthread_t t;
	ssize_t n;
	int fd;

	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = readlink("/proc/self/ns/mnt", before, sizeof(before) - 1);
	assert_true(n > 0);
	before[n] = '\0';
	assert_int_equal(sandbox_create(&sb, &cfg), 0);
	assert_int_equal(sandbox_lock(sb), -EINVAL); /* not isolated yet */
	pthread_barrier_init(&b, NULL, 2);
	assert_int_equal(pthread_create(&t, NULL, idle_thread, &b), 0);
	pthread_barrier_wait(&b);

	assert_int_equal(sandbox_isolate(sb), -EBUSY);
	assert_non_null(strstr(logged(f), "threads"));
	assert_true(fcntl(fd, F_GETFD) >= 0);
	n = readlink("/proc/self/ns/mnt", after, sizeof(after) - 1);
	assert_true(n > 0);
	after[n] = '\0';
	assert_string_equal(before, after);

	pthread_barrier_wait(&b);
	pthread_join(t, NULL);
	pthread_barrier_destroy(&b);
	close_fd(&fd);
	sandbox_destroy(sb);
}

static void test_off_does_nothing(void **state)
{
	struct sandbox_config cfg = { .mode = SANDBOX_OFF, .report_fd = -1 };
	struct sandbox *sb;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(sandbox_create(&sb, &cfg), 0);
	assert_int_equal(sandbox_isolate(sb), 0);
	assert_int_equal(sandbox_lock(sb), 0);
	assert_true(fcntl(fd, F_GETFD) >= 0);
	assert_int_equal(prctl(PR_GET_SECCOMP, 0, 0, 0, 0), 0);
	assert_int_equal(sandbox_isolate(sb), -EINVAL); /* once */
	close_fd(&fd);
	sandbox_destroy(sb);
}

static void test_violation_parse(void **state)
{
	static const struct {
		const char *text;
		int ret, nr;
	} cases[] = {
		{ SANDBOX_VIOLATION_PREFIX "syscall=41 arch=0xc000003e\n", 0, 41 },
		{ "other log\n" SANDBOX_VIOLATION_PREFIX "syscall=257 arch=0xc000003e\n", 0, 257 },
		{ "nothing here\n", -ENOENT, 0 },
		{ SANDBOX_VIOLATION_PREFIX "syscall=", -EINVAL, 0 },
		{ SANDBOX_VIOLATION_PREFIX "syscall=41", -EINVAL, 0 }, /* cut before arch */
		{ SANDBOX_VIOLATION_PREFIX "syscall=x41 arch=0x0\n", -EINVAL, 0 },
		{ SANDBOX_VIOLATION_PREFIX "syscall=99999999999 arch=0x0\n", -EINVAL, 0 },
	};
	char name[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int nr = -1;

		assert_int_equal(sandbox_violation_parse(cases[i].text, strlen(cases[i].text), &nr),
		                 cases[i].ret);
		if (!cases[i].ret)
			assert_int_equal(nr, cases[i].nr);
	}
	assert_string_equal(sandbox_syscall_name(SCMP_SYS(socket), name, sizeof(name)), "socket");
	assert_string_equal(sandbox_syscall_name(99999, name, sizeof(name)), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mode_parse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_has_common, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forbidden_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_self_signals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_actions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isolate_refuses_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_off_does_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_violation_parse, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
