/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The sandbox of a device process (DESIGN.md "Sandbox", docs/security.md).
 *
 * Two steps, because namespaces and capabilities belong to each thread and
 * the nanomsg library starts its worker threads with the first socket:
 *
 *   sandbox_create()    config -> policy; the model adds its rules
 *   sandbox_isolate()   SINGLE-THREADED, after the fds are received and
 *                       before the first channel: closes every fd not kept,
 *                       new user/mount/net/ipc/uts/pid namespaces, an empty
 *                       read-only tmpfs root (the run directory bound in
 *                       so the channels can still connect and bind),
 *                       capabilities dropped, not dumpable.  It forks once:
 *                       the caller continues as pid 1 of the new pid
 *                       namespace; the original process stays behind as a
 *                       sandboxed reaper that mirrors the child's end (exit
 *                       code or signal) and kills it if it is killed itself.
 *   ...connect channels (threads inherit all of the above)...
 *   sandbox_lock()      uid/gid dropped when started as root (every thread),
 *                       no_new_privs, rlimits (no new processes, few fds, no
 *                       core), then the seccomp filter on all threads.
 *   ...serve guest bytes...
 *
 * Modes: ENFORCE (a refused syscall ends the process by SIGSYS), AUDIT
 * (the kernel logs it and lets it run: --sandbox=audit), OFF (nothing).
 *
 * How a violation is reported: with report_fd < 0 the filter's default
 * action is SCMP_ACT_KILL_PROCESS and the parent learns only WTERMSIG ==
 * SIGSYS.  With report_fd >= 0 it is SCMP_ACT_TRAP: a SIGSYS handler writes
 * one line, SANDBOX_VIOLATION_PREFIX "syscall=N arch=0xA\n", to report_fd and
 * then makes a forbidden call with SIGSYS blocked, which the kernel turns
 * into death by SIGSYS: the parent sees the same WTERMSIG, plus the number.
 *
 * Functions return 0 or -errno and log why.
 */
#ifndef SPLITVM_SANDBOX_H
#define SPLITVM_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "seccomp_policy.h"

enum sandbox_mode {
	SANDBOX_OFF,
	SANDBOX_ENFORCE,
	SANDBOX_AUDIT,
};

/* "on"/"enforce" -> ENFORCE, "audit" -> AUDIT, "off" -> OFF; else -EINVAL. */
int sandbox_mode_parse(const char *s, enum sandbox_mode *out) SANDBOX_WUR;
const char *sandbox_mode_name(enum sandbox_mode mode);

#define SANDBOX_DEFAULT_ID   65534 /* nobody / nogroup */
#define SANDBOX_NOFILE_SLACK 8

struct sandbox_config {
	enum sandbox_mode mode;
	/* The ids to run as when started as root; 0 means SANDBOX_DEFAULT_ID. */
	uid_t uid;
	gid_t gid;
	/* fds that survive sandbox_isolate() besides 0, 1 and 2 (copied). */
	const int *keep_fds;
	size_t n_keep_fds;
	/*
	 * Absolute path of the run directory whose sockets the channels
	 * connect to (or bind) after sandbox_isolate(), bound at the same
	 * path in the new root; NULL for none.  Copied.
	 */
	const char *rundir;
	/* Where the SIGSYS handler reports a violation; -1: kill without report. */
	int report_fd;
	/* Free fd numbers above the highest open one (RLIMIT_NOFILE); 0: default. */
	unsigned nofile_slack;
};

struct sandbox;

int sandbox_create(struct sandbox **out, const struct sandbox_config *cfg) SANDBOX_WUR;
/* NULL is a no-op.  Safe in the sandbox: it only frees memory. */
void sandbox_destroy(struct sandbox *sb);

/*
 * The policy, holding the common list already; a model adds its table
 * here before sandbox_isolate().  The sandbox owns it.
 */
struct sandbox_policy *sandbox_policy(struct sandbox *sb);

/* Step 1; see above.  -EBUSY when the process has more than one thread. */
int sandbox_isolate(struct sandbox *sb) SANDBOX_WUR;
/* Step 2; see above.  -EINVAL before sandbox_isolate(). */
int sandbox_lock(struct sandbox *sb) SANDBOX_WUR;

bool sandbox_started_as_root(const struct sandbox *sb);

/* The line of the SIGSYS handler, for a supervisor reading report_fd. */
#define SANDBOX_VIOLATION_PREFIX "splitvm-sandbox: seccomp violation: "

/*
 * Find a violation line in @buf (@len bytes, not necessarily terminated) and
 * its syscall number; -ENOENT when there is none, -EINVAL when it is cut.
 */
int sandbox_violation_parse(const char *buf, size_t len, int *nr) SANDBOX_WUR;

#endif
