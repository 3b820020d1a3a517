/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The seccomp allowlist of every sandboxed process, and the policy object
 * that device models extend with their own tables.  See seccomp_policy.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "log.h"
#include "seccomp_policy.h"

struct sandbox_policy {
	struct sandbox_rule *rules;
	size_t n, cap;
};

/*
 * Syscalls no sandboxed process may make, whatever its model says: running
 * code or processes (exec, fork, ptrace), leaving or reshaping the sandbox
 * (namespaces, mounts, root), and the kernel's largest attack surfaces that
 * no device needs.  The SIGSYS handler of sandbox.c relies on ptrace being
 * here: it calls it to die.
 */
static const int forbidden[] = {
	SCMP_SYS(execve),
	SCMP_SYS(execveat),
	SCMP_SYS(fork),
	SCMP_SYS(vfork),
	SCMP_SYS(clone3),
	SCMP_SYS(ptrace),
	SCMP_SYS(unshare),
	SCMP_SYS(setns),
	SCMP_SYS(mount),
	SCMP_SYS(umount2),
	SCMP_SYS(pivot_root),
	SCMP_SYS(chroot),
	SCMP_SYS(init_module),
	SCMP_SYS(finit_module),
	SCMP_SYS(delete_module),
	SCMP_SYS(kexec_load),
	SCMP_SYS(kexec_file_load),
	SCMP_SYS(bpf),
	SCMP_SYS(perf_event_open),
	SCMP_SYS(process_vm_writev),
	SCMP_SYS(process_vm_readv),
	SCMP_SYS(open_by_handle_at),
	SCMP_SYS(keyctl),
	SCMP_SYS(add_key),
	SCMP_SYS(request_key),
	SCMP_SYS(userfaultfd),
	SCMP_SYS(setuid),
	SCMP_SYS(setgid),
	SCMP_SYS(setresuid),
	SCMP_SYS(setresgid),
	SCMP_SYS(capset),
	SCMP_SYS(seccomp),
	SCMP_SYS(reboot),
};

/*
 * The common list, measured with strace -f on tests/integration/sandbox_probe
 * (an NNG REQ/REP exchange after sandbox_lock()) and the log API.  Every
 * sandboxed process gets it; a model adds its own table on top.
 */
#define NO_EXEC SANDBOX_ARG_MASKED_EQ(2, PROT_EXEC, 0)

static const struct sandbox_rule common_rules[] = {
	/* I/O on fds the process already holds. */
	SANDBOX_ALLOW(read, "nanomsg workers (ipc:// stream, eventfd wake-ups); fd channel"),
	SANDBOX_ALLOW(write, "log lines on stderr; nanomsg workers (ipc:// stream, wake-ups)"),
	SANDBOX_ALLOW(readv, "nanomsg ipc:// transport (scatter receive)"),
	SANDBOX_ALLOW(writev, "nanomsg ipc:// transport (header + body send)"),
	SANDBOX_ALLOW(recvmsg, "nanomsg ipc:// transport; fd channel"),
	SANDBOX_ALLOW(sendmsg, "nanomsg ipc:// transport; fd channel"),
	SANDBOX_ALLOW(close, "nanomsg closing a dropped pipe; the process closing its own fds"),
	SANDBOX_ALLOW(shutdown, "nanomsg closing an ipc:// connection (socket close)"),
	/* Refused, not killed: the supervisor removes the run directory's files. */
	SANDBOX_REFUSE(unlink, EPERM, "nanomsg removing a listener's socket file at close"),
	SANDBOX_REFUSE(unlinkat, EPERM, "nanomsg removing a listener's socket file at close"),
	SANDBOX_ALLOW(accept, "nanomsg listeners (devproc's devctl REP) taking a connection"),
	SANDBOX_ALLOW(accept4, "nanomsg listeners taking a connection (newer NNG)"),
	SANDBOX_ALLOW_IF(fcntl, "nanomsg: accepted socket to non-blocking (F_GETFL)",
	                 SANDBOX_ARG_EQ(1, F_GETFL)),
	SANDBOX_ALLOW_IF(fcntl, "nanomsg: accepted socket to non-blocking (F_SETFL)",
	                 SANDBOX_ARG_EQ(1, F_SETFL)),
	SANDBOX_ALLOW_IF(fcntl, "nanomsg: accepted socket close-on-exec (F_GETFD)",
	                 SANDBOX_ARG_EQ(1, F_GETFD)),
	SANDBOX_ALLOW_IF(fcntl, "nanomsg: accepted socket close-on-exec (F_SETFD)",
	                 SANDBOX_ARG_EQ(1, F_SETFD)),
	/* Waiting. */
	SANDBOX_ALLOW(futex, "nanomsg worker threads and glibc locks (condition variables)"),
	SANDBOX_ALLOW(epoll_wait, "nanomsg poller thread"),
	SANDBOX_ALLOW(epoll_pwait, "nanomsg poller thread (glibc's epoll_wait)"),
	SANDBOX_ALLOW(epoll_ctl, "nanomsg poller thread (arming fds)"),
	SANDBOX_ALLOW(poll, "the service loop; ipc_recv() on a channel's poll fd"),
	SANDBOX_ALLOW(ppoll, "the service loop (glibc's poll on some arches)"),
	SANDBOX_ALLOW(clock_gettime, "deadlines; nanomsg timers; log rate limit (vDSO fallback)"),
	SANDBOX_ALLOW(clock_nanosleep, "nanomsg back-off; nanosleep()"),
	SANDBOX_ALLOW(nanosleep, "nanomsg back-off on older glibc"),
	SANDBOX_ALLOW(sched_yield, "glibc and nanomsg spin loops"),
	SANDBOX_ALLOW(restart_syscall, "the kernel restarting a wait cut by a signal"),
	/* Memory, never executable. */
	SANDBOX_ALLOW_IF(mmap, "glibc malloc arenas; protobuf-c buffers (no PROT_EXEC)", NO_EXEC),
	SANDBOX_ALLOW_IF(mprotect, "glibc malloc arenas growing (no PROT_EXEC)", NO_EXEC),
	SANDBOX_ALLOW(munmap, "glibc free() of large blocks"),
	SANDBOX_ALLOW(mremap, "glibc realloc() of large blocks"),
	SANDBOX_ALLOW(brk, "glibc malloc (main arena)"),
	SANDBOX_ALLOW(madvise, "glibc free() trimming arenas (MADV_DONTNEED)"),
	/* Signals, threads, exit. */
	SANDBOX_ALLOW(rt_sigreturn, "return from a signal handler"),
	SANDBOX_ALLOW(rt_sigprocmask, "glibc (pthread, abort); nanomsg thread start"),
	SANDBOX_ALLOW(sigaltstack,
	              "AddressSanitizer builds: their signal stack, torn down at exit"),
	SANDBOX_ALLOW(getpid, "log lines carry the pid"),
	SANDBOX_ALLOW(gettid, "glibc raise()/abort()"),
	SANDBOX_ALLOW(exit, "a thread ending (nanomsg shutdown)"),
	/*
	 * A thread NNG created before the lock may first run after it, under
	 * load: glibc's thread start registers its rseq area and robust-futex
	 * list, then NNG names the thread (pthread_setname_np on itself is
	 * prctl(PR_SET_NAME)).  Each acts on the calling thread only.  Seen as
	 * SIGSYS kills (rseq) right after sandbox_lock() on a loaded host.
	 */
	SANDBOX_ALLOW(rseq, "glibc's start of a thread created before the lock"),
	SANDBOX_ALLOW(set_robust_list, "glibc's start of a thread created before the lock"),
	SANDBOX_ALLOW(sched_getaffinity,
	              "the allocator sizing its arenas by CPU count on a thread's first malloc"),
	SANDBOX_ALLOW_IF(prctl, "nanomsg worker thread naming itself at its start (PR_SET_NAME)",
	                 SANDBOX_ARG_EQ(0, PR_SET_NAME)),
	SANDBOX_ALLOW(exit_group, "the process ending"),
	SANDBOX_ALLOW(getrandom, "glibc malloc's tcache randomisation; nanomsg ids"),
	SANDBOX_ALLOW(fstat, "stdio's first use of a stream"),
	SANDBOX_ALLOW(newfstatat, "stdio's first use of a stream (glibc fstat)"),
};

int sandbox_policy_create(struct sandbox_policy **out)
{
	struct sandbox_policy *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	*out = p;
	return 0;
}

void sandbox_policy_destroy(struct sandbox_policy *policy)
{
	if (!policy)
		return;
	free(policy->rules);
	free(policy);
}

bool sandbox_policy_forbidden(int nr)
{
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
		if (forbidden[i] == nr && nr >= 0)
			return true;
	return false;
}

static bool rule_equal(const struct sandbox_rule *a, const struct sandbox_rule *b)
{
	if (a->nr != b->nr || a->n_args != b->n_args || a->refuse_errno != b->refuse_errno)
		return false;
	for (unsigned i = 0; i < a->n_args; i++)
		if (a->args[i].arg != b->args[i].arg || a->args[i].op != b->args[i].op ||
		    a->args[i].datum_a != b->args[i].datum_a ||
		    a->args[i].datum_b != b->args[i].datum_b)
			return false;
	return true;
}

int sandbox_policy_add(struct sandbox_policy *policy, const struct sandbox_rule *rule)
{
	if (!rule->name || !rule->who) {
		log_warnx("seccomp rule %d: name and who are required", rule->nr);
		return -EINVAL;
	}
	if (rule->refuse_errno < 0 || rule->refuse_errno > 4095) {
		log_warnx("seccomp rule %s: refuse_errno %d is not an errno", rule->name,
		          rule->refuse_errno);
		return -EINVAL;
	}
	if (rule->n_args > SANDBOX_RULE_MAX_ARGS) {
		log_warnx("seccomp rule %s: %u argument checks, at most %d", rule->name,
		          rule->n_args, SANDBOX_RULE_MAX_ARGS);
		return -EINVAL;
	}
	if (sandbox_policy_forbidden(rule->nr)) {
		log_warnx("seccomp rule %s (for %s): no sandboxed process may make this syscall",
		          rule->name, rule->who);
		return -EPERM;
	}
	for (size_t i = 0; i < policy->n; i++)
		if (rule_equal(&policy->rules[i], rule))
			return 0;
	if (policy->n == policy->cap) {
		size_t cap = policy->cap ? policy->cap * 2 : 64;
		struct sandbox_rule *r = reallocarray(policy->rules, cap, sizeof(*r));

		if (!r)
			return -ENOMEM;
		policy->rules = r;
		policy->cap = cap;
	}
	policy->rules[policy->n++] = *rule;
	return 0;
}

int sandbox_policy_add_table(struct sandbox_policy *policy, const struct sandbox_rule *rules,
                             size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ret = sandbox_policy_add(policy, &rules[i]);

		if (ret < 0)
			return ret;
	}
	return 0;
}

int sandbox_policy_add_common(struct sandbox_policy *policy)
{
	return sandbox_policy_add_table(policy, common_rules,
	                                sizeof(common_rules) / sizeof(common_rules[0]));
}

int sandbox_policy_add_self_signals(struct sandbox_policy *policy, int self_pid)
{
	/* Only signals to itself: glibc's raise() and abort(). */
	const struct sandbox_rule self_signals[] = {
		SANDBOX_ALLOW_IF(tgkill, "glibc raise()/abort() (own pid only)",
		                 SANDBOX_ARG_EQ(0, self_pid)),
		SANDBOX_ALLOW_IF(kill, "glibc raise() fallback (own pid only)",
		                 SANDBOX_ARG_EQ(0, self_pid)),
	};

	if (self_pid <= 0) {
		log_warnx("seccomp self signals: pid %d must be positive", self_pid);
		return -EINVAL;
	}
	return sandbox_policy_add_table(policy, self_signals,
	                                sizeof(self_signals) / sizeof(self_signals[0]));
}

size_t sandbox_policy_count(const struct sandbox_policy *policy)
{
	return policy->n;
}

const struct sandbox_rule *sandbox_policy_rule(const struct sandbox_policy *policy, size_t i)
{
	return i < policy->n ? &policy->rules[i] : NULL;
}

bool sandbox_policy_has(const struct sandbox_policy *policy, int nr)
{
	for (size_t i = 0; i < policy->n; i++)
		if (policy->rules[i].nr == nr)
			return true;
	return false;
}

static uint32_t scmp_action(enum sandbox_action action)
{
	switch (action) {
	case SANDBOX_ACT_TRAP:
		return SCMP_ACT_TRAP;
	case SANDBOX_ACT_LOG:
		return SCMP_ACT_LOG;
	case SANDBOX_ACT_KILL:
	default:
		return SCMP_ACT_KILL_PROCESS;
	}
}

int sandbox_policy_build(const struct sandbox_policy *policy, enum sandbox_action action,
                         scmp_filter_ctx *out)
{
	scmp_filter_ctx ctx;
	int ret;

	ctx = seccomp_init(scmp_action(action));
	if (!ctx) {
		log_warnx("seccomp_init failed (libseccomp refused the default action)");
		return -ENOMEM;
	}
	/*
	 * TSYNC: the nanomsg worker threads exist already and must get the
	 * same filter.  CTL_LOG: the kernel logs every refused call (where an
	 * audit log exists), the only trace a KILL_PROCESS leaves.
	 */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (ret == 0)
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (ret == 0)
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	if (ret < 0) {
		log_warnx("seccomp_attr_set: %s", strerror(-ret));
		goto err;
	}
	for (size_t i = 0; i < policy->n; i++) {
		const struct sandbox_rule *r = &policy->rules[i];

		/* A syscall this arch does not have (negative pseudo number). */
		if (r->nr < 0)
			continue;
		ret = seccomp_rule_add_array(ctx,
		                             r->refuse_errno
		                                     ? SCMP_ACT_ERRNO((uint32_t)r->refuse_errno)
		                                     : SCMP_ACT_ALLOW,
		                             r->nr, r->n_args, r->args);
		if (ret < 0) {
			log_warnx("seccomp rule %s (for %s): %s", r->name, r->who, strerror(-ret));
			goto err;
		}
	}
	*out = ctx;
	return 0;
err:
	seccomp_release(ctx);
	return ret;
}

const char *sandbox_syscall_name(int nr, char *buf, size_t size)
{
	char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

	snprintf(buf, size, "%s", name ? name : "?");
	free(name);
	return buf;
}
