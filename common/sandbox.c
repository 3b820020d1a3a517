/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Entering the sandbox of a device process.  See sandbox.h for the two steps
 * and why there are two; docs/security.md for what each step buys.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd.h"
#include "log.h"
#include "sandbox.h"

struct sandbox {
	enum sandbox_mode mode;
	uid_t uid;
	gid_t gid;
	int *keep; /* sorted, with 0, 1, 2 and report_fd */
	size_t n_keep;
	char *rundir;
	int report_fd;
	unsigned nofile_slack;
	bool as_root;
	int parent_deathsig; /* what the spawner asked for, restored after id changes */
	pid_t parent_pid;
	int alive_fd; /* child: hangs up when the reaper dies */
	bool isolated;
	bool locked;
	struct sandbox_policy *policy;
	scmp_filter_ctx filter; /* built by sandbox_isolate(), loaded by sandbox_lock() */
};

/* Where the SIGSYS handler writes; set just before the filter is loaded. */
static volatile int sigsys_report_fd = -1;

int sandbox_mode_parse(const char *s, enum sandbox_mode *out)
{
	if (!strcmp(s, "on") || !strcmp(s, "enforce"))
		*out = SANDBOX_ENFORCE;
	else if (!strcmp(s, "audit"))
		*out = SANDBOX_AUDIT;
	else if (!strcmp(s, "off"))
		*out = SANDBOX_OFF;
	else
		return -EINVAL;
	return 0;
}

const char *sandbox_mode_name(enum sandbox_mode mode)
{
	switch (mode) {
	case SANDBOX_OFF:
		return "off";
	case SANDBOX_ENFORCE:
		return "enforce";
	case SANDBOX_AUDIT:
		return "audit";
	}
	return "?";
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int sandbox_create(struct sandbox **out, const struct sandbox_config *cfg)
{
	struct sandbox *sb;
	size_t n;
	int ret;

	if (cfg->mode != SANDBOX_OFF && cfg->mode != SANDBOX_ENFORCE &&
	    cfg->mode != SANDBOX_AUDIT) {
		log_warnx("sandbox mode %d: not off, enforce or audit", (int)cfg->mode);
		return -EINVAL;
	}
	if (cfg->n_keep_fds > 1024 || (cfg->n_keep_fds && !cfg->keep_fds)) {
		log_warnx("sandbox keep_fds: %zu fds, at most 1024 and a list", cfg->n_keep_fds);
		return -EINVAL;
	}
	for (size_t i = 0; i < cfg->n_keep_fds; i++) {
		if (cfg->keep_fds[i] < 0) {
			log_warnx("sandbox keep_fds[%zu]: fd %d is negative", i, cfg->keep_fds[i]);
			return -EINVAL;
		}
	}
	if (cfg->rundir &&
	    (cfg->rundir[0] != '/' || strstr(cfg->rundir, "/..") || strlen(cfg->rundir) >= 108)) {
		log_warnx("sandbox rundir '%s': must be an absolute path without '..' that fits "
		          "an AF_UNIX address",
		          cfg->rundir);
		return -EINVAL;
	}
	if (cfg->uid == (uid_t)-1 || cfg->gid == (gid_t)-1) {
		log_warnx("sandbox uid/gid: -1 is not an id");
		return -EINVAL;
	}

	sb = calloc(1, sizeof(*sb));
	if (!sb)
		return -ENOMEM;
	sb->mode = cfg->mode;
	sb->uid = cfg->uid ? cfg->uid : SANDBOX_DEFAULT_ID;
	sb->gid = cfg->gid ? cfg->gid : SANDBOX_DEFAULT_ID;
	sb->report_fd = cfg->report_fd;
	sb->alive_fd = -1;
	sb->nofile_slack = cfg->nofile_slack ? cfg->nofile_slack : SANDBOX_NOFILE_SLACK;
	ret = -ENOMEM;
	sb->keep = calloc(cfg->n_keep_fds + 4, sizeof(int));
	if (!sb->keep)
		goto err;
	n = 0;
	for (int fd = 0; fd <= 2; fd++)
		sb->keep[n++] = fd;
	if (cfg->report_fd >= 0)
		sb->keep[n++] = cfg->report_fd;
	for (size_t i = 0; i < cfg->n_keep_fds; i++)
		sb->keep[n++] = cfg->keep_fds[i];
	qsort(sb->keep, n, sizeof(int), cmp_int);
	sb->n_keep = n;
	if (cfg->rundir) {
		sb->rundir = strdup(cfg->rundir);
		if (!sb->rundir)
			goto err;
	}
	ret = sandbox_policy_create(&sb->policy);
	if (ret < 0)
		goto err;
	ret = sandbox_policy_add_common(sb->policy);
	if (ret < 0)
		goto err;
	*out = sb;
	return 0;
err:
	sandbox_destroy(sb);
	return ret;
}

void sandbox_destroy(struct sandbox *sb)
{
	if (!sb)
		return;
	if (sb->filter)
		seccomp_release(sb->filter);
	close_fd(&sb->alive_fd);
	sandbox_policy_destroy(sb->policy);
	free(sb->rundir);
	free(sb->keep);
	free(sb);
}

struct sandbox_policy *sandbox_policy(struct sandbox *sb)
{
	return sb->policy;
}

bool sandbox_started_as_root(const struct sandbox *sb)
{
	return sb->as_root;
}

/* ---- helpers ----------------------------------------------------------- */

static int count_threads(void)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (!dir)
		return -errno;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* Close every fd but the sorted keep list. */
static int close_other_fds(const int *keep, size_t n)
{
	unsigned first = 0;

	for (size_t i = 0; i < n; i++) {
		if ((unsigned)keep[i] > first && close_range(first, (unsigned)keep[i] - 1, 0) < 0)
			return -errno;
		first = (unsigned)keep[i] + 1;
	}
	if (close_range(first, ~0u, 0) < 0)
		return -errno;
	return 0;
}

static int write_file(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n < 0 || (size_t)n != len) {
		int ret = n < 0 ? -errno : -EIO;

		close_fd(&fd);
		return ret;
	}
	close_fd(&fd);
	return 0;
}

/*
 * Started as root: the new user namespace maps 0 (so the process can still
 * reach the root-owned run directory until sandbox_lock()) and the target
 * ids.  A process may map only its own id into a namespace it created, so a
 * helper child that stays in the parent namespace, as root, writes the maps
 * (what newuidmap does).
 */
static int unshare_user_root(struct sandbox *sb)
{
	int go[2] = { -1, -1 }, done[2] = { -1, -1 };
	int err = 0, status;
	ssize_t n;
	pid_t pid;
	int ret;

	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(done, O_CLOEXEC) < 0) {
		ret = -errno;
		log_warn("sandbox: pipe2 for the id-map helper");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		log_warn("sandbox: fork of the id-map helper");
		goto out;
	}
	if (pid == 0) {
		char path[64], text[96];
		pid_t target = getppid();
		char c;

		close_fd(&go[1]);
		close_fd(&done[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(0); /* the parent gave up */
		snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)target);
		snprintf(text, sizeof(text), "0 0 1\n%u %u 1\n", (unsigned)sb->uid,
		         (unsigned)sb->uid);
		err = write_file(path, text);
		if (!err) {
			snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)target);
			snprintf(text, sizeof(text), "0 0 1\n%u %u 1\n", (unsigned)sb->gid,
			         (unsigned)sb->gid);
			err = write_file(path, text);
		}
		if (write(done[1], &err, sizeof(err)) != sizeof(err))
			_exit(1);
		_exit(0);
	}
	close_fd(&go[0]);
	close_fd(&done[1]);
	ret = 0;
	if (unshare(CLONE_NEWUSER) < 0) {
		ret = -errno;
		log_warn("sandbox: unshare(CLONE_NEWUSER)");
	} else if (write(go[1], "g", 1) != 1) {
		ret = -EIO;
	} else {
		n = read(done[0], &err, sizeof(err));
		if (n != sizeof(err))
			ret = -EIO;
		else if (err < 0)
			ret = err;
		if (ret < 0) {
			errno = -ret;
			log_warn("sandbox: writing the uid/gid map (0 and %u/%u)",
			         (unsigned)sb->uid, (unsigned)sb->gid);
		}
	}
	close_fd(&go[1]); /* a helper still waiting reads EOF and leaves */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
out:
	close_fd(&go[0]);
	close_fd(&go[1]);
	close_fd(&done[0]);
	close_fd(&done[1]);
	return ret;
}

/* Not root: map our own ids to 0 in the new namespace (no helper needed). */
static int unshare_user_self(void)
{
	char text[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int ret;

	if (unshare(CLONE_NEWUSER) < 0) {
		ret = -errno;
		log_warn("sandbox: unshare(CLONE_NEWUSER) (does the host allow unprivileged user "
		         "namespaces?)");
		return ret;
	}
	/* An unprivileged gid_map needs setgroups denied first (user_namespaces(7)). */
	ret = write_file("/proc/self/setgroups", "deny");
	if (ret == 0) {
		snprintf(text, sizeof(text), "0 %u 1\n", (unsigned)uid);
		ret = write_file("/proc/self/uid_map", text);
	}
	if (ret == 0) {
		snprintf(text, sizeof(text), "0 %u 1\n", (unsigned)gid);
		ret = write_file("/proc/self/gid_map", text);
	}
	if (ret < 0) {
		errno = -ret;
		log_warn("sandbox: writing the uid/gid map of the new user namespace");
	}
	return ret;
}

static int mkdir_p(char *path)
{
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;

		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			*p = saved;
			return -errno;
		}
		*p = saved;
		if (!saved)
			return 0;
	}
}

/*
 * An empty root: a small tmpfs, read-only once set up, holding nothing but
 * the run directory bound at its own path (nosuid, nodev, noexec), so that
 * channels still connect there, and bind there (devproc's devctl socket),
 * between sandbox_isolate() and sandbox_lock(); after the lock the filter
 * allows no call that creates or removes a file.  The
 * tmpfs is mounted on /tmp of the private mount namespace only to have a
 * mount point; the run directory is bound through an O_PATH fd opened before,
 * so a run directory under /tmp is found too.
 */
static int make_empty_root(struct sandbox *sb)
{
	const unsigned long rw = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	const unsigned long ro = rw | MS_RDONLY;
	char target[PATH_MAX], src[64];
	int dirfd = -1;
	int ret;

	if (sb->rundir) {
		dirfd = open(sb->rundir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0) {
			ret = -errno;
			log_warn("sandbox: open rundir %s", sb->rundir);
			return ret;
		}
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		ret = -errno;
		log_warn("sandbox: making / private in the new mount namespace");
		goto out;
	}
	if (mount("splitvm-sandbox", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	          "mode=0755,size=64k,nr_inodes=256") < 0) {
		ret = -errno;
		log_warn("sandbox: mount tmpfs for the new root");
		goto out;
	}
	if (dirfd >= 0) {
		snprintf(target, sizeof(target), "/tmp%s", sb->rundir);
		snprintf(src, sizeof(src), "/proc/self/fd/%d", dirfd);
		ret = mkdir_p(target);
		if (ret < 0) {
			errno = -ret;
			log_warn("sandbox: mkdir %s", target);
			goto out;
		}
		if (mount(src, target, NULL, MS_BIND, NULL) < 0 ||
		    mount(NULL, target, NULL, rw, NULL) < 0) {
			ret = -errno;
			log_warn("sandbox: binding rundir %s into the new root", sb->rundir);
			goto out;
		}
	}
	/* pivot_root(".", "."): the old root lands on top of the new one; detach it. */
	if (chdir("/tmp") < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
		ret = -errno;
		log_warn("sandbox: pivot_root into the empty tmpfs");
		goto out;
	}
	if (mount(NULL, "/", NULL, ro, NULL) < 0) {
		ret = -errno;
		log_warn("sandbox: remount the new root read-only");
		goto out;
	}
	ret = 0;
out:
	close_fd(&dirfd);
	return ret;
}

/*
 * Capabilities of the calling thread: none in the bounding and ambient
 * sets, and only @keep (a CAP_* bit mask of the first 32) in effective and
 * permitted.  Threads started later inherit the result.
 */
static int drop_caps(uint32_t keep)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	int ret;

	for (int cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
			ret = -errno;
			log_warn("sandbox: dropping capability %d from the bounding set", cap);
			return ret;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		ret = -errno;
		log_warn("sandbox: clearing the ambient capabilities");
		return ret;
	}
	memset(data, 0, sizeof(data));
	data[0].effective = keep;
	data[0].permitted = keep;
	if (syscall(SYS_capset, &hdr, data) < 0) {
		ret = -errno;
		log_warn("sandbox: capset");
		return ret;
	}
	return 0;
}

static int caps_are_zero(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	for (int i = 0; i < 2; i++)
		if (data[i].effective || data[i].permitted || data[i].inheritable)
			return -EPERM;
	return 0;
}

static int set_rlimit(int resource, rlim_t value, const char *name)
{
	struct rlimit rl = { .rlim_cur = value, .rlim_max = value };
	int ret;

	if (setrlimit(resource, &rl) < 0) {
		ret = -errno;
		log_warn("sandbox: setrlimit(%s, %llu)", name, (unsigned long long)value);
		return ret;
	}
	return 0;
}

/* ---- the reaper ------------------------------------------------------- */

/*
 * The original process after the fork into the new pid namespace: it holds
 * nothing but stderr, runs with no privilege under a filter of a handful of
 * calls, waits for the child and ends the same way.  If it is killed itself
 * (the supervisor's kill -9), the child's PDEATHSIG kills the child.
 */
static const struct sandbox_rule reaper_rules[] = {
	SANDBOX_ALLOW(wait4, "reaper waiting for the sandboxed child"),
	SANDBOX_ALLOW(waitid, "reaper waiting for the sandboxed child"),
	SANDBOX_ALLOW(restart_syscall, "reaper's wait restarted after a signal"),
	SANDBOX_ALLOW(rt_sigreturn, "return from a signal handler"),
	SANDBOX_ALLOW(rt_sigprocmask, "reaper unblocking the signal it re-raises"),
	SANDBOX_ALLOW(getpid, "reaper re-raising the child's signal at itself"),
	SANDBOX_ALLOW(gettid, "reaper re-raising the child's signal at itself"),
	SANDBOX_ALLOW(write, "reaper's log line on stderr"),
	SANDBOX_ALLOW(exit_group, "reaper ending with the child's exit code"),
	SANDBOX_ALLOW(sigaltstack,
	              "AddressSanitizer builds: their signal stack, torn down at exit"),
};

static __attribute__((noreturn)) void reaper_run(struct sandbox *sb, pid_t child, int alive)
{
	struct sandbox_policy *policy = NULL;
	scmp_filter_ctx ctx = NULL;
	int status, sig, ret;
	sigset_t all;

	/* Nothing of the device's: its backend must not outlive the child. */
	if ((alive > 3 && close_range(3, (unsigned)alive - 1, 0) < 0) ||
	    close_range((unsigned)alive + 1, ~0u, 0) < 0)
		goto fail;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	/* As in the child: the bounding set needs CAP_SETPCAP, the id change clears the rest. */
	if (drop_caps(sb->as_root ? (1u << CAP_SETUID) | (1u << CAP_SETGID) : 0) < 0)
		goto fail;
	if (sb->as_root && (setgroups(0, NULL) < 0 || setresgid(sb->gid, sb->gid, sb->gid) < 0 ||
	                    setresuid(sb->uid, sb->uid, sb->uid) < 0))
		goto fail;
	if (caps_are_zero() < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		goto fail;
	/*
	 * An id change clears the parent-death signal: give back the one the
	 * spawner set, and go if the spawner is gone already.
	 */
	if (sb->parent_deathsig && prctl(PR_SET_PDEATHSIG, sb->parent_deathsig, 0, 0, 0) < 0)
		goto fail;
	if (getppid() != sb->parent_pid)
		goto fail;
	if (set_rlimit(RLIMIT_NPROC, 0, "NPROC") < 0 || set_rlimit(RLIMIT_CORE, 0, "CORE") < 0 ||
	    set_rlimit(RLIMIT_NOFILE, (rlim_t)alive + 1, "NOFILE") < 0)
		goto fail;
	if (sandbox_policy_create(&policy) < 0 ||
	    sandbox_policy_add_table(policy, reaper_rules,
	                             sizeof(reaper_rules) / sizeof(reaper_rules[0])) < 0 ||
	    sandbox_policy_add_self_signals(policy, getpid()) < 0 ||
	    sandbox_policy_build(policy,
	                         sb->mode == SANDBOX_AUDIT ? SANDBOX_ACT_LOG : SANDBOX_ACT_KILL,
	                         &ctx) < 0)
		goto fail;
	sandbox_policy_destroy(policy);
	policy = NULL;
	ret = seccomp_load(ctx);
	seccomp_release(ctx);
	if (ret < 0)
		goto fail;

	while ((ret = waitpid(child, &status, 0)) < 0 && errno == EINTR)
		;
	if (ret < 0)
		_exit(125);
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	/* Die of the same signal, so the supervisor sees what the child died of. */
	sig = WTERMSIG(status);
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	kill(getpid(), sig);
	_exit(128 + sig); /* a signal whose default is not to end the process */
fail:
	log_warn("sandbox: the reaper could not sandbox itself; killing the child");
	sandbox_policy_destroy(policy);
	kill(child, SIGKILL);
	_exit(125);
}

/*
 * Fork into the new pid namespace (a process joins one only by being born
 * in it, and unshare(CLONE_NEWPID) forbids creating threads until then).
 * Returns 0 in the child, which becomes pid 1; the parent never returns.
 */
static int fork_into_pid_ns(struct sandbox *sb)
{
	struct pollfd pfd = { .events = POLLIN };
	int alive[2];
	pid_t pid;
	int ret;

	if (pipe2(alive, O_CLOEXEC) < 0) {
		ret = -errno;
		log_warn("sandbox: pipe2");
		return ret;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		log_warn("sandbox: fork into the new pid namespace");
		close_fd(&alive[0]);
		close_fd(&alive[1]);
		return ret;
	}
	if (pid > 0) {
		close_fd(&alive[0]);
		reaper_run(sb, pid, alive[1]);
	}
	close_fd(&alive[1]);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
		ret = -errno;
		log_warn("sandbox: PR_SET_PDEATHSIG");
		close_fd(&alive[0]);
		return ret;
	}
	/* The reaper holds the write end: a hang-up now means it died before PDEATHSIG. */
	pfd.fd = alive[0];
	if (poll(&pfd, 1, 0) != 0) {
		log_warnx("sandbox: the reaper died during start-up");
		_exit(125);
	}
	/* Kept for sandbox_lock(): its id change clears PDEATHSIG, which is then set again. */
	sb->alive_fd = take_fd(&alive[0]);
	return 0;
}

/* ---- step 1 ----------------------------------------------------------- */

int sandbox_isolate(struct sandbox *sb)
{
	const int ns = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID;
	enum sandbox_action action;
	uint32_t keep_caps;
	int ret;

	if (sb->isolated) {
		log_warnx("sandbox_isolate: called twice");
		return -EINVAL;
	}
	if (sb->mode == SANDBOX_OFF) {
		log_info("sandbox: off");
		sb->isolated = true;
		return 0;
	}
	ret = count_threads();
	if (ret != 1) {
		log_warnx("sandbox_isolate: the process has %d threads; namespaces and "
		          "capabilities are per thread, so call it before the first channel",
		          ret);
		return ret < 0 ? ret : -EBUSY;
	}
	sb->as_root = geteuid() == 0;
	sb->parent_pid = getppid();
	if (prctl(PR_GET_PDEATHSIG, &sb->parent_deathsig, 0, 0, 0) < 0)
		sb->parent_deathsig = 0;

	ret = close_other_fds(sb->keep, sb->n_keep);
	if (ret < 0) {
		errno = -ret;
		log_warn("sandbox: closing the fds not kept");
		return ret;
	}
	ret = sb->as_root ? unshare_user_root(sb) : unshare_user_self();
	if (ret < 0)
		return ret;
	if (unshare(ns) < 0) {
		ret = -errno;
		log_warn("sandbox: unshare(mount, net, ipc, uts, pid)");
		return ret;
	}
	ret = make_empty_root(sb);
	if (ret < 0)
		return ret;
	/* No core dump of guest memory, no ptrace by a same-uid process. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		ret = -errno;
		log_warn("sandbox: PR_SET_DUMPABLE");
		return ret;
	}
	ret = fork_into_pid_ns(sb);
	if (ret < 0)
		return ret;

	/* Root keeps only what sandbox_lock() needs to change ids; the change clears them. */
	keep_caps = sb->as_root ? (1u << CAP_SETUID) | (1u << CAP_SETGID) : 0;
	ret = drop_caps(keep_caps);
	if (ret < 0)
		return ret;

	ret = sandbox_policy_add_self_signals(sb->policy, getpid());
	if (ret < 0)
		return ret;
	if (sb->mode == SANDBOX_AUDIT)
		action = SANDBOX_ACT_LOG;
	else
		action = sb->report_fd >= 0 ? SANDBOX_ACT_TRAP : SANDBOX_ACT_KILL;
	ret = sandbox_policy_build(sb->policy, action, &sb->filter);
	if (ret < 0)
		return ret;
	sb->isolated = true;
	return 0;
}

/* ---- step 2 ----------------------------------------------------------- */

static void put_str(char *buf, size_t *n, size_t size, const char *s)
{
	while (*s && *n < size)
		buf[(*n)++] = *s++;
}

static void put_num(char *buf, size_t *n, size_t size, unsigned long v, unsigned base)
{
	char digits[24];
	int i = 0;

	do {
		digits[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v && i < (int)sizeof(digits));
	while (i > 0 && *n < size)
		buf[(*n)++] = digits[--i];
}

/*
 * SCMP_ACT_TRAP lands here, in the thread that made the call, with SIGSYS
 * blocked.  Async-signal-safe only: format by hand, write, then make a call
 * that every policy refuses (ptrace, see seccomp_policy.c): with SIGSYS
 * blocked, the kernel resets SIGSYS to its default and the process dies by
 * it, exactly as under SCMP_ACT_KILL_PROCESS.
 */
static void sigsys_handler(int sig, siginfo_t *si, void *uc)
{
	char line[128];
	size_t n = 0;
	int fd = sigsys_report_fd;

	(void)sig;
	(void)uc;
	put_str(line, &n, sizeof(line), SANDBOX_VIOLATION_PREFIX "syscall=");
	put_num(line, &n, sizeof(line), (unsigned long)si->si_syscall, 10);
	put_str(line, &n, sizeof(line), " arch=0x");
	put_num(line, &n, sizeof(line), si->si_arch, 16);
	put_str(line, &n, sizeof(line), "\n");
	if (fd >= 0 && write(fd, line, n) < 0) {
		/* nothing to do: the death below is the report */
	}
	syscall(SYS_ptrace, -1L, 0L, 0L, 0L);
	/*
	 * Still here only under a tracer that swallowed that SIGSYS: leave one
	 * pending; SA_RESETHAND made SIGSYS fatal, and it is delivered the
	 * moment this handler returns, before the program runs on.
	 */
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGSYS);
}

/*
 * The highest open fd below RLIMIT_NOFILE (at most 65536).  There is no
 * /proc in the empty root, so the table is probed: poll() with no events
 * and no wait marks each closed fd POLLNVAL, one call per chunk.  One
 * fcntl() per fd number cost 10-20 ms of a restart under a 20000-fd limit.
 */
#define FD_PROBE_CHUNK 256

static int highest_open_fd(void)
{
	struct pollfd pfd[FD_PROBE_CHUNK];
	struct rlimit rl;
	int limit, top = -1;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	limit = rl.rlim_cur > 65536 ? 65536 : (int)rl.rlim_cur;
	for (int base = 0; base < limit; base += FD_PROBE_CHUNK) {
		int n = limit - base < FD_PROBE_CHUNK ? limit - base : FD_PROBE_CHUNK;

		for (int i = 0; i < n; i++)
			pfd[i] = (struct pollfd){ .fd = base + i };
		if (poll(pfd, (nfds_t)n, 0) < 0)
			return -errno;
		for (int i = 0; i < n; i++)
			if (!(pfd[i].revents & POLLNVAL))
				top = base + i;
	}
	return top;
}

int sandbox_lock(struct sandbox *sb)
{
	struct sigaction sa;
	int top, ret;

	if (sb->mode == SANDBOX_OFF)
		return 0;
	if (!sb->isolated || sb->locked || !sb->filter) {
		log_warnx("sandbox_lock: needs one sandbox_isolate() before it, and only once");
		return -EINVAL;
	}
	if (sb->as_root) {
		/*
		 * glibc runs these on every thread (its setxid broadcast), and a
		 * thread leaving uid 0 loses its capabilities: the nanomsg
		 * workers end with none, like this thread.
		 */
		if (setgroups(0, NULL) < 0 || setresgid(sb->gid, sb->gid, sb->gid) < 0 ||
		    setresuid(sb->uid, sb->uid, sb->uid) < 0) {
			ret = -errno;
			log_warn("sandbox: changing to uid %u gid %u", (unsigned)sb->uid,
			         (unsigned)sb->gid);
			return ret;
		}
	}
	/* The id change cleared PDEATHSIG: set it again, then make sure the reaper lives. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
		ret = -errno;
		log_warn("sandbox: PR_SET_PDEATHSIG");
		return ret;
	}
	{
		struct pollfd pfd = { .fd = sb->alive_fd, .events = POLLIN };

		if (sb->alive_fd >= 0 && poll(&pfd, 1, 0) != 0) {
			log_warnx("sandbox: the reaper died before the lock");
			_exit(125);
		}
		close_fd(&sb->alive_fd);
	}
	ret = caps_are_zero();
	if (ret < 0) {
		log_warnx("sandbox: capabilities left after dropping them");
		return ret;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		ret = -errno;
		log_warn("sandbox: PR_SET_NO_NEW_PRIVS");
		return ret;
	}
	/* NPROC counts per uid: it must come after the uid change to mean ours. */
	top = highest_open_fd();
	if (top < 0)
		return top;
	ret = set_rlimit(RLIMIT_NPROC, 0, "NPROC");
	if (!ret)
		ret = set_rlimit(RLIMIT_CORE, 0, "CORE");
	if (!ret)
		ret = set_rlimit(RLIMIT_NOFILE, (rlim_t)top + 1 + sb->nofile_slack, "NOFILE");
	if (ret < 0)
		return ret;
	if (sb->mode == SANDBOX_ENFORCE && sb->report_fd >= 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = sigsys_handler;
		sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
		sigemptyset(&sa.sa_mask);
		sigsys_report_fd = sb->report_fd;
		if (sigaction(SIGSYS, &sa, NULL) < 0) {
			ret = -errno;
			log_warn("sandbox: sigaction(SIGSYS)");
			return ret;
		}
	}
	ret = seccomp_load(sb->filter);
	if (ret < 0) {
		errno = -ret;
		log_warn("sandbox: seccomp_load (all threads)");
		return ret;
	}
	seccomp_release(sb->filter);
	sb->filter = NULL;
	sb->locked = true;
	return 0;
}

int sandbox_violation_parse(const char *buf, size_t len, int *nr)
{
	static const char prefix[] = SANDBOX_VIOLATION_PREFIX "syscall=";
	const char *p = memmem(buf, len, prefix, sizeof(prefix) - 1);
	const char *end = buf + len;
	long v = 0;
	bool digits = false;

	if (!p)
		return -ENOENT;
	for (p += sizeof(prefix) - 1; p < end && *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		digits = true;
		if (v > INT_MAX)
			return -EINVAL;
	}
	if (!digits || p == end || *p != ' ')
		return -EINVAL;
	*nr = (int)v;
	return 0;
}
