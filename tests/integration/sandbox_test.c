/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The device-process sandbox, seen from outside and inside, with the
 * test-only tests/integration/sandbox_probe (never splitvm-devproc):
 *
 *  - inside: every thread (nanomsg's too) shows Seccomp 2, NoNewPrivs 1,
 *    no capability, the sandbox uid; the user, mount, net, ipc, uts and pid
 *    namespaces all differ from before; a REQ/REP channel connected before
 *    the lock still carries a call after it.
 *  - a forbidden syscall (socket, openat, execve, mmap PROT_EXEC, fork) ends
 *    the process by SIGSYS, which this test reports as a seccomp violation
 *    and names the syscall (from the probe's report fd, or the kernel log);
 *  - in audit mode the same call is logged by the kernel and the process
 *    lives on.
 *
 * Started as root it runs every scenario as root, then again as uid 65534
 * (the unprivileged user-namespace path) when the host allows it.  Exit 77
 * (SKIP) with the reason when seccomp or user namespaces are unavailable.
 *
 * Usage: sandbox_test PATH_TO_SANDBOX_PROBE
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fd.h"
#include "ipc.h"
#include "ipc_check.h"
#include "ipc_spawn.h"
#include "log.h"
#include "sandbox.h"

#define NOBODY 65534
/*
 * Each scenario's whole budget, from spawn to reap.  A stuck probe fails the
 * test with its output well before meson's 120 s timeout would kill it
 * silently (scenarios take well under a second each).
 */
#define SCENARIO_MS 20000

extern char **environ;

struct scenario {
	const char *name;
	const char *mode; /* "enforce" or "audit" */
	bool report;      /* give the probe a report fd (SCMP_ACT_TRAP + handler) */
	char cmd;         /* the probe's command; 0: none, just quit */
	const char *syscall;
	bool dies;
};

/*
 * Audit first: the kernel rate-limits its log (printk_ratelimit, 10 lines in
 * 5 s), and every kill below adds a record.
 */
static const struct scenario scenarios[] = {
	{ "audit: socket() logged, lives", "audit", false, 's', "socket", false },
	{ "audit: openat() logged, lives", "audit", false, 'o', "openat", false },
	{ "quits cleanly", "enforce", false, 0, NULL, false },
	{ "socket() kills", "enforce", false, 's', "socket", true },
	{ "openat(O_CREAT) kills, reported", "enforce", true, 'o', "openat", true },
	{ "execve() kills, reported", "enforce", true, 'x', "execve", true },
	{ "mmap(PROT_EXEC) kills, reported", "enforce", true, 'm', "mmap", true },
	{ "fork() kills, reported", "enforce", true, 'f', "fork", true },
	/* 'K' is the test's: kill -9 the pid it spawned (the reaper); the child must go too. */
	{ "kill -9 takes the sandboxed child along", "enforce", false, 'K', NULL, false },
};

struct probe {
	pid_t pid;
	int out, cmd, report;
	char buf[32768];
	size_t len;
};

static const char *who = "root";
/* The running scenario: its name, its deadline, its probe (killed at exit). */
static const char *scn_name = "";
static long scn_deadline;
static pid_t live_probe;

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* The running scenario's time left in ms (> 0); fails the test once it is spent. */
static int left_ms(const char *doing)
{
	long left = scn_deadline - now_ms();

	CHECK(left > 0, "[%s] %s: over its %d ms deadline while %s", who, scn_name, SCENARIO_MS,
	      doing);
	return (int)left;
}

/* A failed CHECK exits: the probe (and its sandboxed child) must not outlive us. */
static void kill_live_probe(void)
{
	if (live_probe > 0) {
		kill(live_probe, SIGKILL);
		waitpid(live_probe, NULL, 0);
		live_probe = 0;
	}
}

/*
 * Under AddressSanitizer the probe's compiled-in detect_leaks=0 gives way to
 * an ASAN_OPTIONS in the environment (scripts/test.sh sets detect_leaks=1),
 * and LeakSanitizer's exit-time ptrace() dies in the sandbox.  The probe's
 * environment: ours with detect_leaks=0 appended (the last value wins).
 * Made before fork(): this process has NNG's threads, the child only execs.
 */
static char **probe_env(void)
{
	static char **env;
	const char *asan = getenv("ASAN_OPTIONS");
	size_t n = 0, k = 0;

	if (env)
		return env;
	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	CHECK(env, "calloc");
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "ASAN_OPTIONS=", 13))
			env[k++] = environ[i];
	CHECK(asprintf(&env[k], "ASAN_OPTIONS=%s%sdetect_leaks=0", asan && *asan ? asan : "",
	               asan && *asan ? ":" : "") > 0,
	      "asprintf");
	return env;
}

/* Read the probe's output until @marker has appeared @count times. */
static void read_until(struct probe *p, const char *marker, int count)
{
	for (;;) {
		struct pollfd pfd = { .fd = p->out, .events = POLLIN };
		const char *s = p->buf;
		int seen = 0;
		ssize_t n;

		while ((s = strstr(s, marker))) {
			seen++;
			s += strlen(marker);
		}
		if (seen >= count)
			return;
		CHECK(now_ms() < scn_deadline,
		      "[%s] %s: no '%s' from the probe within %d ms; it said:\n%s", who, scn_name,
		      marker, SCENARIO_MS, p->buf);
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		CHECK(p->len + 1 < sizeof(p->buf), "probe output too long");
		n = read(p->out, p->buf + p->len, sizeof(p->buf) - 1 - p->len);
		if (n <= 0) {
			/* How it ended: the reaper dies of the child's signal or exits with its code. */
			int status = -1;

			for (int i = 0; i < 50 && waitpid(p->pid, &status, WNOHANG) == 0; i++)
				usleep(20000);
			if (status != -1)
				live_probe = 0;
			CHECK(n > 0,
			      "[%s] the probe closed its output before '%s' (reaper: %s %d); it "
			      "said:\n%s",
			      who, marker,
			      status == -1          ? "still running, status"
			      : WIFSIGNALED(status) ? "killed by signal"
			                            : "exit code",
			      status == -1          ? 0
			      : WIFSIGNALED(status) ? WTERMSIG(status)
			                            : WEXITSTATUS(status),
			      p->buf);
		}
		p->len += (size_t)n;
		p->buf[p->len] = '\0';
	}
}

static void spawn_probe(struct probe *p, const char *path, const char *rundir,
                        const struct scenario *scn)
{
	int out[2], cmd[2], rep[2] = { -1, -1 };
	char **env = probe_env();

	memset(p, 0, sizeof(*p));
	CHECK(pipe2(out, O_CLOEXEC) == 0 && pipe2(cmd, O_CLOEXEC) == 0, "pipe2");
	if (scn->report)
		CHECK(pipe2(rep, O_CLOEXEC) == 0, "pipe2");
	p->pid = fork();
	CHECK(p->pid >= 0, "fork");
	if (p->pid == 0) {
		char a_out[16], a_cmd[16], a_rep[16];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fcntl(out[1], F_SETFD, 0) < 0 || fcntl(cmd[0], F_SETFD, 0) < 0 ||
		    (rep[1] >= 0 && fcntl(rep[1], F_SETFD, 0) < 0))
			_exit(126);
		snprintf(a_out, sizeof(a_out), "%d", out[1]);
		snprintf(a_cmd, sizeof(a_cmd), "%d", cmd[0]);
		snprintf(a_rep, sizeof(a_rep), "%d", rep[1]);
		execle(path, path, scn->mode, rundir, a_out, a_cmd, a_rep, (char *)NULL, env);
		_exit(127);
	}
	live_probe = p->pid;
	close_fd(&out[1]);
	close_fd(&cmd[0]);
	close_fd(&rep[1]);
	p->out = out[0];
	p->cmd = cmd[1];
	p->report = rep[0];
}

/* Answer one CtlRequest with its own verb. */
static void serve_one(struct ipc_chan *rep, const char *want)
{
	Splitvm__CtlReply reply = SPLITVM__CTL_REPLY__INIT;
	struct ipc_msg *req;
	struct ipc_err err;
	const char *verb;

	CHECK(ipc_serve_recv(rep, left_ms("waiting for a request"), &req, &err) == 0,
	      "[%s] %s: serve %s: %s", who, scn_name, want, err.text);
	verb = ((const Splitvm__CtlRequest *)req->body)->verb;
	CHECK(!strcmp(verb, want), "[%s] request '%s', want '%s'", who, verb, want);
	reply.text = (char *)verb;
	CHECK(ipc_reply(rep, req, &reply.base, &err) == 0, "reply: %s", err.text);
	ipc_msg_free(req);
}

/* 'R' running, 'Z' zombie..., or 0 when @pid is gone. */
static char proc_state(pid_t pid)
{
	char path[64], text[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	p = strrchr(text, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * kill -9 the process the supervisor spawned (the reaper): the sandboxed
 * child (pid 1 of its namespace) must die with it, not linger as an orphan
 * still holding the device's memory.
 */
static void kill_reaper(struct probe *p)
{
	char path[96], text[64];
	pid_t child;
	FILE *f;
	int status;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)p->pid, (int)p->pid);
	f = fopen(path, "re");
	CHECK(f, "[%s] %s: no CONFIG_PROC_CHILDREN?", who, path);
	CHECK(fgets(text, sizeof(text), f), "[%s] the reaper has no child", who);
	fclose(f);
	child = (pid_t)atoi(text);
	CHECK(child > 0 && proc_state(child), "[%s] child '%s'", who, text);
	CHECK(kill(p->pid, SIGKILL) == 0, "kill");
	CHECK(waitpid(p->pid, &status, 0) == p->pid, "waitpid");
	live_probe = 0;
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "reaper status 0x%x", status);
	while (proc_state(child) && proc_state(child) != 'Z') {
		CHECK(now_ms() < scn_deadline, "[%s] sandboxed child %d outlived its reaper", who,
		      (int)child);
		usleep(10000);
	}
	printf("  [%s] kill -9 of the reaper %d ended the sandboxed child %d too\n", who,
	       (int)p->pid, (int)child);
}

/* A call to the REP socket the probe bound inside the sandbox, connected after its lock. */
static void call_probe(const char *rundir)
{
	static const struct ipc_chan_opts opts = { .planes = PROTO_PLANE_CONTROL };
	Splitvm__CtlRequest cr = SPLITVM__CTL_REQUEST__INIT;
	struct ipc_chan *req;
	struct ipc_msg *reply;
	struct ipc_err err;

	CHECK(ipc_chan_connect(&req, IPC_ROLE_REQ, rundir, "probe-ctl.sock", &opts, &err) == 0,
	      "[%s] connect probe-ctl.sock: %s", who, err.text);
	cr.verb = (char *)"status";
	CHECK(ipc_call(req, NULL, &cr.base, left_ms("calling the probe"), &reply, &err) == 0,
	      "[%s] call to the sandboxed listener: %s", who, err.text);
	ipc_msg_free(reply);
	ipc_chan_destroy(req);
}

/* The LINK of "ns WHEN NAME LINK" in the probe's output. */
static void ns_link(const struct probe *p, const char *when, const char *name, char *out,
                    size_t size)
{
	char key[64];
	const char *s;
	size_t n = 0;

	snprintf(key, sizeof(key), "ns %s %s ", when, name);
	s = strstr(p->buf, key);
	CHECK(s, "[%s] no '%s' line", who, key);
	s += strlen(key);
	while (s[n] && s[n] != '\n' && n + 1 < size)
		n++;
	memcpy(out, s, n);
	out[n] = '\0';
}

static void check_inside(const struct probe *p, bool as_root)
{
	static const char *const names[] = { "user", "mnt", "net", "ipc", "uts", "pid" };
	const char *want_uid = as_root ? "65534" : "0";
	const char *s = p->buf;
	int threads = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char before[128], after[128];

		ns_link(p, "before", names[i], before, sizeof(before));
		ns_link(p, "after", names[i], after, sizeof(after));
		CHECK(strcmp(before, after) != 0, "[%s] %s namespace unchanged: %s", who, names[i],
		      after);
	}
	while ((s = strstr(s, "\nthread "))) {
		char line[256], want[160];
		size_t n = 0;
		const char *rest;

		s++;
		while (s[n] && s[n] != '\n' && n + 1 < sizeof(line))
			n++;
		memcpy(line, s, n);
		line[n] = '\0';
		rest = strchr(line + 7, ' ');
		CHECK(rest, "bad line '%s'", line);
		snprintf(want, sizeof(want),
		         " seccomp=2 nnp=1 capeff=0000000000000000 capprm=0000000000000000 "
		         "capbnd=0000000000000000 uid=%s",
		         want_uid);
		CHECK(!strcmp(rest, want), "[%s] %s\n  want thread N%s", who, line, want);
		threads++;
		s += n;
	}
	/* The nanomsg workers exist and were covered, not just the main thread. */
	CHECK(threads >= 2, "[%s] %d thread lines; want the nanomsg workers too", who, threads);
	CHECK(strstr(p->buf, "\nrpc OK ping\n"), "[%s] REQ/REP inside the sandbox failed:\n%s", who,
	      p->buf);
	CHECK(strstr(p->buf, "\nserved OK\n"), "[%s] the sandboxed REP listener failed:\n%s", who,
	      p->buf);
	printf("  [%s] inside: %d threads with Seccomp 2, NoNewPrivs 1, no caps, uid %s; "
	       "6 new namespaces; REQ/REP both ways\n",
	       who, threads, want_uid);
}

/*
 * The kernel's audit record of a seccomp action on @nr by the probe, read from
 * /dev/kmsg after @kmsg's position; 1 found, 0 not found, -1 not readable,
 * 2 not found but the kernel said it dropped audit lines meanwhile
 * ("kauditd_printk_skb: N callbacks suppressed": printk's rate limit).
 */
static int kmsg_find(int kmsg, int nr)
{
	char rec[2048], want[32];
	long deadline = now_ms() + 2000;
	bool suppressed = false;

	if (kmsg < 0)
		return -1;
	snprintf(want, sizeof(want), " syscall=%d ", nr);
	while (now_ms() < deadline) {
		ssize_t n = read(kmsg, rec, sizeof(rec) - 1);

		if (n < 0 && errno == EAGAIN) {
			usleep(20000);
			continue;
		}
		if (n < 0 && errno == EPIPE)
			continue; /* records overwritten; go on */
		if (n <= 0)
			break;
		rec[n] = '\0';
		if (strstr(rec, "kauditd_printk_skb") && strstr(rec, "suppressed"))
			suppressed = true;
		if (strstr(rec, "type=1326") && strstr(rec, "comm=\"sandbox_probe\"") &&
		    strstr(rec, want))
			return 1;
	}
	return suppressed ? 2 : 0;
}

static int syscall_nr(const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);

	CHECK(nr >= 0, "unknown syscall %s", name);
	return nr;
}

/*
 * Reap the probe by the scenario's deadline; past it, kill -9 it (its
 * sandboxed child goes along) and fail with what it said.
 */
static int wait_probe(struct probe *p)
{
	int status;
	pid_t r;

	while ((r = waitpid(p->pid, &status, WNOHANG)) == 0) {
		if (now_ms() >= scn_deadline) {
			kill_live_probe();
			CHECK(0,
			      "[%s] %s: the probe did not end within %d ms; killed; it said:\n%s",
			      who, scn_name, SCENARIO_MS, p->buf);
		}
		usleep(5000);
	}
	CHECK(r == p->pid, "waitpid: %s", strerror(errno));
	live_probe = 0;
	return status;
}

/*
 * One scenario; false only when an audit record that should be in the
 * kernel log is not (everything else CHECKs and exits).
 */
static bool run_scenario(const char *probe_path, const char *rundir, struct ipc_chan *rep,
                         const struct scenario *scn, bool as_root)
{
	bool ok = true;
	struct probe *p = calloc(1, sizeof(*p));
	char name[64], rbuf[256];
	int status, kmsg = -1, nr = -1, logged;
	ssize_t rn;

	CHECK(p, "calloc");
	scn_name = scn->name;
	scn_deadline = now_ms() + SCENARIO_MS;
	printf("[%s] %s (%s)\n", who, scn->name, scn->mode);
	fflush(stdout);
	spawn_probe(p, probe_path, rundir, scn);
	serve_one(rep, "hello");
	read_until(p, "calling\n", 1);
	serve_one(rep, "ping");
	read_until(p, "serving\n", 1);
	call_probe(rundir);
	read_until(p, "ready\n", 1);
	check_inside(p, as_root);

	if (scn->cmd == 'K') {
		kill_reaper(p);
		goto out;
	}
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg >= 0)
		lseek(kmsg, 0, SEEK_END);
	if (scn->cmd) {
		CHECK(write(p->cmd, &scn->cmd, 1) == 1, "write command");
		nr = syscall_nr(scn->syscall);
	}
	if (!scn->dies) {
		if (scn->cmd) {
			read_until(p, "ready\n", 2);
			const char *line = strstr(p->buf, "survived ");

			CHECK(line, "no survival line");
			printf("  [%s] %.*s\n", who, (int)strcspn(line, "\n"), line);
		}
		CHECK(write(p->cmd, "q", 1) == 1, "write command");
	}
	status = wait_probe(p);

	if (scn->dies) {
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
		      "[%s] probe ended with status 0x%x, want death by SIGSYS; it said:\n%s", who,
		      status, p->buf);
		if (p->report >= 0) {
			int got;

			rn = read(p->report, rbuf, sizeof(rbuf) - 1);
			CHECK(rn > 0, "[%s] no violation report", who);
			CHECK(sandbox_violation_parse(rbuf, (size_t)rn, &got) == 0,
			      "[%s] unparsable report '%.*s'", who, (int)rn, rbuf);
			printf("  [%s] seccomp violation: syscall %s (%d), reported by the probe\n",
			       who, sandbox_syscall_name(got, name, sizeof(name)), got);
			CHECK(got == nr, "[%s] reported syscall %d, want %s (%d)", who, got,
			      scn->syscall, nr);
		} else {
			logged = kmsg_find(kmsg, nr);
			printf("  [%s] seccomp violation (SIGSYS): %s\n", who,
			       logged == 1 ? "the kernel log names the syscall we called"
			       : logged == 2
			               ? "syscall not in the kernel log, which dropped audit lines"
			       : logged == 0
			               ? "syscall not in the kernel log"
			               : "kernel log not readable; the exit status is the report");
		}
	} else {
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "[%s] probe ended with status 0x%x, want exit 0; it said:\n%s", who, status,
		      p->buf);
		if (scn->cmd) {
			logged = kmsg_find(kmsg, nr);
			if (logged < 0) {
				printf("  [%s] audit record not checked: /dev/kmsg not readable "
				       "by this user\n",
				       who);
			} else if (logged == 2) {
				/* Not a pass of the audit check: said as such. */
				printf("  [%s] audit record of %s not checked: the kernel dropped "
				       "audit lines (printk rate limit) meanwhile; the probe lived "
				       "on\n",
				       who, scn->syscall);
			} else {
				ok = logged == 1;
				printf("  [%s] %s %s (%d)%s\n", who,
				       ok ? "the kernel logged" : "no kernel log record of",
				       scn->syscall, nr, ok ? " and the probe lived on" : "");
			}
		}
	}
out:
	close_fd(&kmsg);
	close_fd(&p->out);
	close_fd(&p->cmd);
	close_fd(&p->report);
	free(p);
	return ok;
}

/* All scenarios in a fresh run directory; 0 when they pass (CHECK exits otherwise). */
static void run_all(const char *probe_path, bool as_root)
{
	static const struct ipc_chan_opts opts = { .planes = PROTO_PLANE_CONTROL };
	struct ipc_chan *rep;
	struct ipc_err err;
	char dir[64];

	ipc_rundir_make(dir, sizeof(dir));
	CHECK(ipc_chan_bind(&rep, IPC_ROLE_REP, dir, "probe.sock", &opts, &err) == 0, "bind: %s",
	      err.text);
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		/* SANDBOX_TEST_ONLY=WORD: only the scenarios whose name has WORD (debugging). */
		const char *only = getenv("SANDBOX_TEST_ONLY");

		if (only && !strstr(scenarios[i].name, only))
			continue;
		if (run_scenario(probe_path, dir, rep, &scenarios[i], as_root))
			continue;
		/*
		 * The kernel drops log lines past printk_ratelimit (10 in 5 s),
		 * and other tests log too: once more after a quiet spell.
		 */
		printf("  [%s] again after 6 s, past the kernel's log rate limit\n", who);
		sleep(6);
		CHECK(run_scenario(probe_path, dir, rep, &scenarios[i], as_root),
		      "[%s] %s: the kernel did not log the call", who, scenarios[i].name);
	}
	ipc_chan_destroy(rep);
	ipc_rundir_remove(dir);
}

/* Can this user create a user namespace?  NULL if so, else why not. */
static const char *userns_unavailable(void)
{
	static char why[160];
	int status;
	pid_t pid = fork();

	CHECK(pid >= 0, "fork");
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER) == 0 ? 0 : errno);
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return NULL;
	snprintf(why, sizeof(why),
	         "unprivileged user namespaces are not allowed here (unshare: %s)",
	         strerror(WIFEXITED(status) ? WEXITSTATUS(status) : EPERM));
	return why;
}

/*
 * The non-root pass: this test again, exec'ed as uid/gid 65534 (NNG may not
 * be used across a fork, so the pass gets a fresh process).  Its exit status.
 */
static int run_unprivileged(const char *self, const char *probe_path)
{
	int status;
	pid_t pid = fork();

	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		CHECK(setgroups(0, NULL) == 0 && setresgid(NOBODY, NOBODY, NOBODY) == 0 &&
		              setresuid(NOBODY, NOBODY, NOBODY) == 0,
		      "dropping to uid %d", NOBODY);
		if (access(probe_path, X_OK) < 0 || access(self, X_OK) < 0) {
			printf("SKIP: non-root pass: uid %d cannot run %s\n", NOBODY, probe_path);
			_exit(77);
		}
		execl(self, self, probe_path, "--as-nobody", (char *)NULL);
		_exit(127);
	}
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int main(int argc, char **argv)
{
	const char *why;
	int ret;

	CHECK(argc == 2 || argc == 3, "usage: sandbox_test PATH_TO_SANDBOX_PROBE");
	log_init("test/sandbox");
	setvbuf(stdout, NULL, _IOLBF, 0);
	CHECK(atexit(kill_live_probe) == 0, "atexit");
	/* A command to a probe that died early fails its CHECK, not the test by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL) {
		printf("SKIP: the kernel has no seccomp\n");
		return 77;
	}
	if (geteuid() != 0) {
		who = argc == 3 ? "uid 65534" : "non-root";
		why = userns_unavailable();
		if (why) {
			printf("SKIP: %s%s\n", argc == 3 ? "non-root pass: " : "", why);
			return 77;
		}
		run_all(argv[1], false);
		printf("sandbox_test: ok as %s\n", who);
		return 0;
	}
	run_all(argv[1], true);
	ret = run_unprivileged("/proc/self/exe", argv[1]);
	if (ret == 77) {
		printf("sandbox_test: ok as root; non-root pass skipped\n");
		return 0;
	}
	CHECK(ret == 0, "the non-root pass failed");
	printf("sandbox_test: ok as root and as uid %d\n", NOBODY);
	return 0;
}
