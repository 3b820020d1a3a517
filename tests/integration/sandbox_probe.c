/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sandbox_probe MODE RUNDIR OUT_FD CMD_FD REPORT_FD: a test-only process
 * (never splitvm-devproc) that enters the device-process sandbox through the
 * same common/sandbox.h calls, in the same order, and then shows what it is
 * like inside.  Driven by tests/integration/sandbox_test.c.
 *
 * Lines on OUT_FD:
 *   ns before|after NAME LINK     its namespaces before and after isolation
 *                                 (then a "hello" call that connects the channel
 *                                 before the lock, as a device's attach does)
 *   thread TID seccomp=N nnp=N capeff=HEX capprm=HEX capbnd=HEX uid=N
 *                                 each thread (nanomsg's too) after the lock
 *   calling                       about to make a REQ/REP call to RUNDIR/probe.sock
 *   rpc OK|ERR text               its outcome
 *   serving                       it waits for one call on the REP socket
 *                                 RUNDIR/probe-ctl.sock, bound after isolation
 *                                 (as devproc's devctl) and connected after the lock
 *   served OK|ERR text            its outcome
 *   ready                         waiting for a command byte on CMD_FD
 *   survived NAME ret=R           audit mode: a forbidden call came back
 * Commands: q (exit 0), s socket(), o openat(O_CREAT), x execve(),
 * m mmap(PROT_EXEC), f fork().
 *
 * To read /proc/self after the root is emptied, it keeps an O_PATH fd of
 * /proc across sandbox_isolate() (a test-only hole) and opens each thread's
 * status before the lock, to re-read it with pread() after.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fd.h"
#include "ipc.h"
#include "log.h"
#include "sandbox.h"

#define MAX_THREADS 64

/*
 * Under AddressSanitizer: LeakSanitizer stops the world at exit with a
 * ptrace()ing clone, which the sandbox forbids (and RLIMIT_NPROC prevents):
 * the probe would die at exit.  No effect in other builds.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}

static int out_fd = -1;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(out_fd, line, (size_t)n) != n)
		_exit(3);
}

static int parse_fd(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < -1 || v > 1023)
		log_fatalx("fd '%s': want -1 or an fd number below 1024", s);
	return (int)v;
}

static void report_ns(int procfd, const char *when)
{
	static const char *const names[] = { "user", "mnt", "net", "ipc", "uts", "pid" };
	char path[64], link[128];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ssize_t n;

		snprintf(path, sizeof(path), "self/ns/%s", names[i]);
		n = readlinkat(procfd, path, link, sizeof(link) - 1);
		if (n < 0)
			log_fatal("readlink /proc/%s", path);
		link[n] = '\0';
		say("ns %s %s %s", when, names[i], link);
	}
}

/* The value after "Key:" in a /proc status text, or "?" */
static void field(const char *text, const char *key, char *out, size_t size)
{
	const char *p = strstr(text, key);
	size_t n = 0;

	snprintf(out, size, "?");
	if (!p)
		return;
	p += strlen(key);
	while (*p == ' ' || *p == '\t')
		p++;
	while (p[n] && p[n] != '\n' && p[n] != '\t' && n + 1 < size)
		n++;
	memcpy(out, p, n);
	out[n] = '\0';
}

static void report_threads(const int *fds, const int *tids, int n)
{
	char text[4096], sec[16], nnp[16], eff[32], prm[32], bnd[32], uid[32];

	for (int i = 0; i < n; i++) {
		ssize_t len = pread(fds[i], text, sizeof(text) - 1, 0);

		if (len < 0)
			log_fatal("pread status of thread %d", tids[i]);
		text[len] = '\0';
		field(text, "\nSeccomp:", sec, sizeof(sec));
		field(text, "\nNoNewPrivs:", nnp, sizeof(nnp));
		field(text, "\nCapEff:", eff, sizeof(eff));
		field(text, "\nCapPrm:", prm, sizeof(prm));
		field(text, "\nCapBnd:", bnd, sizeof(bnd));
		field(text, "\nUid:", uid, sizeof(uid));
		say("thread %d seccomp=%s nnp=%s capeff=%s capprm=%s capbnd=%s uid=%s", tids[i],
		    sec, nnp, eff, prm, bnd, uid);
	}
}

/* Open self/task/TID/status of every thread, for pread() after the lock. */
static int open_thread_status(int procfd, int *fds, int *tids)
{
	int dfd = openat(procfd, "self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	int n = 0;

	if (!dir)
		log_fatal("open /proc/self/task");
	while ((de = readdir(dir)) && n < MAX_THREADS) {
		char path[sizeof(de->d_name) + 8];

		if (de->d_name[0] == '.')
			continue;
		tids[n] = atoi(de->d_name);
		snprintf(path, sizeof(path), "%s/status", de->d_name);
		fds[n] = openat(dfd, path, O_RDONLY | O_CLOEXEC);
		if (fds[n] < 0)
			log_fatal("open /proc/self/task/%s", path);
		n++;
	}
	closedir(dir);
	return n;
}

/* The model-specific table of the probe, as a device model would have one. */
static const struct sandbox_rule probe_rules[] = {
	SANDBOX_ALLOW(pread64, "test probe: re-reading /proc/self/task/*/status after the lock"),
};

static void forbidden_call(char cmd)
{
	const char *name = "?";
	long ret = 0;

	switch (cmd) {
	case 's':
		name = "socket";
		ret = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		break;
	case 'o':
		name = "openat";
		ret = openat(AT_FDCWD, "/probe-new-file", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		break;
	case 'x': {
		char *const argv[] = { (char *)"/bin/true", NULL };

		name = "execve";
		ret = execve("/bin/true", argv, argv + 1);
		break;
	}
	case 'm': {
		void *p =
		        mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		name = "mmap";
		ret = p == MAP_FAILED ? -1 : 0;
		break;
	}
	case 'f':
		name = "fork";
		ret = syscall(SYS_fork);
		if (ret == 0)
			_exit(0);
		break;
	default:
		log_fatalx("unknown command '%c'", cmd);
	}
	/* Only audit mode comes back. */
	say("survived %s ret=%ld errno=%d", name, ret, ret < 0 ? errno : 0);
}

int main(int argc, char **argv)
{
	static const struct ipc_chan_opts opts = { .planes = PROTO_PLANE_CONTROL };
	struct sandbox_config cfg = { .report_fd = -1 };
	int status_fds[MAX_THREADS], tids[MAX_THREADS];
	struct ipc_chan *req = NULL, *ctl = NULL;
	struct sandbox *sb = NULL;
	int procfd, cmd_fd, nthreads, ret;
	int keep[3];

	log_init("test/sandbox_probe");
	if (argc != 6)
		log_fatalx("usage: sandbox_probe MODE RUNDIR OUT_FD CMD_FD REPORT_FD");
	if (sandbox_mode_parse(argv[1], &cfg.mode) < 0)
		log_fatalx("mode '%s': want enforce, audit or off", argv[1]);
	out_fd = parse_fd(argv[3]);
	cmd_fd = parse_fd(argv[4]);
	cfg.report_fd = parse_fd(argv[5]);
	cfg.rundir = argv[2];

	procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		log_fatal("open /proc");
	report_ns(procfd, "before");

	keep[0] = out_fd;
	keep[1] = cmd_fd;
	keep[2] = procfd;
	cfg.keep_fds = keep;
	cfg.n_keep_fds = 3;
	if (sandbox_create(&sb, &cfg) < 0)
		log_fatalx("sandbox_create failed");
	if (sandbox_policy_add_table(sandbox_policy(sb), probe_rules,
	                             sizeof(probe_rules) / sizeof(probe_rules[0])) < 0)
		log_fatalx("adding the probe's rules failed");

	/* Step 1 while single-threaded; from here on this is the pid-1 child. */
	if (sandbox_isolate(sb) < 0)
		log_fatalx("sandbox_isolate failed");
	report_ns(procfd, "after");

	{
		struct ipc_err err;

		if (ipc_chan_connect(&req, IPC_ROLE_REQ, cfg.rundir, "probe.sock", &opts, &err) < 0)
			log_fatalx("connect: %s", err.text);
		if (ipc_chan_bind(&ctl, IPC_ROLE_REP, cfg.rundir, "probe-ctl.sock", &opts, &err) <
		    0)
			log_fatalx("bind: %s", err.text);
	}
	/* Let NNG dial before the lock, as a device process's attach would. */
	{
		Splitvm__CtlRequest cr = SPLITVM__CTL_REQUEST__INIT;
		struct ipc_msg *reply;
		struct ipc_err err;

		cr.verb = (char *)"hello";
		ret = ipc_call(req, NULL, &cr.base, 10000, &reply, &err);
		if (ret < 0)
			log_fatalx("hello before the lock: %s", err.text);
		ipc_msg_free(reply);
	}
	nthreads = open_thread_status(procfd, status_fds, tids);
	close_fd(&procfd);

	if (sandbox_lock(sb) < 0)
		log_fatalx("sandbox_lock failed");
	report_threads(status_fds, tids, nthreads);

	say("calling");
	{
		Splitvm__CtlRequest cr = SPLITVM__CTL_REQUEST__INIT;
		struct ipc_msg *reply;
		struct ipc_err err;

		cr.verb = (char *)"ping";
		ret = ipc_call(req, NULL, &cr.base, 10000, &reply, &err);
		if (ret < 0) {
			say("rpc ERR %s", err.text);
		} else {
			say("rpc OK %s", reply->type->type == SPLITVM__MSG_TYPE__MSG_CTL_REPLY
			                         ? ((Splitvm__CtlReply *)reply->body)->text
			                         : "(not a CtlReply)");
			ipc_msg_free(reply);
		}
	}

	say("serving");
	{
		Splitvm__CtlReply cr = SPLITVM__CTL_REPLY__INIT;
		struct ipc_msg *msg;
		struct ipc_err err;

		ret = ipc_serve_recv(ctl, 10000, &msg, &err);
		if (ret == 0) {
			cr.text = (char *)"status";
			ret = ipc_reply(ctl, msg, &cr.base, &err);
			ipc_msg_free(msg);
		}
		if (ret < 0)
			say("served ERR %s", err.text);
		else
			say("served OK");
	}

	for (;;) {
		char cmd;
		ssize_t n;

		say("ready");
		n = read(cmd_fd, &cmd, 1);
		if (n <= 0 || cmd == 'q')
			break;
		forbidden_call(cmd);
	}
	for (int i = 0; i < nthreads; i++)
		close_fd(&status_fds[i]);
	ipc_chan_destroy(ctl);
	ipc_chan_destroy(req);
	sandbox_destroy(sb);
	return 0;
}
