/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Seccomp allowlists (STYLE.md "Seccomp and the sandbox"): one common list
 * that every sandboxed process needs (the nanomsg worker threads, glibc's
 * allocator, logging), and a table per device model beside the model's code
 * that adds only what that model does (a discard path, a flush...).  Every
 * entry names who needs it; docs/security.md is written from these tables.
 *
 * A policy is plain data until sandbox_policy_build() turns it into a
 * libseccomp filter; sandbox_lock() (common/sandbox.h) loads it.
 *
 * Functions return 0 or -errno.
 */
#ifndef SPLITVM_SECCOMP_POLICY_H
#define SPLITVM_SECCOMP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <seccomp.h>

#define SANDBOX_WUR __attribute__((warn_unused_result))

/* At most this many argument comparisons in one rule (libseccomp allows 6). */
#define SANDBOX_RULE_MAX_ARGS 3

/*
 * One allowed syscall.  With n_args > 0 the call is allowed only when every
 * comparison holds (SANDBOX_ARG_MASKED_EQ(2, PROT_EXEC, 0): no PROT_EXEC).
 * The same syscall may appear in several rules; any matching rule allows it.
 */
struct sandbox_rule {
	int nr;           /* SCMP_SYS(name): negative for a syscall this arch lacks */
	const char *name; /* "mmap" */
	const char *who;  /* "glibc malloc; nanomsg worker stacks" */
	unsigned n_args;
	struct scmp_arg_cmp args[SANDBOX_RULE_MAX_ARGS];
	/*
	 * 0: allow.  Else the call fails with this errno and the process goes
	 * on: for a library's best-effort call that must not happen but must
	 * not kill either (NNG unlinking its socket file at close).
	 */
	int refuse_errno;
};

/*
 * Argument comparisons usable in static tables (libseccomp's SCMP_A0() are
 * compound literals, not constants).  @n is the argument index, 0 to 5.
 */
#define SANDBOX_ARG_EQ(n, v)                                                                       \
	{                                                                                          \
		.arg = (n), .op = SCMP_CMP_EQ, .datum_a = (scmp_datum_t)(v)                        \
	}
#define SANDBOX_ARG_MASKED_EQ(n, mask, v)                                                          \
	{                                                                                          \
		.arg = (n), .op = SCMP_CMP_MASKED_EQ, .datum_a = (scmp_datum_t)(mask),             \
		.datum_b = (scmp_datum_t)(v)                                                       \
	}

#define SANDBOX_ALLOW(sys, who_)                                                                   \
	{                                                                                          \
		.nr = SCMP_SYS(sys), .name = #sys, .who = (who_)                                   \
	}
#define SANDBOX_REFUSE(sys, errno_, who_)                                                          \
	{                                                                                          \
		.nr = SCMP_SYS(sys), .name = #sys, .who = (who_), .refuse_errno = (errno_)         \
	}
#define SANDBOX_ALLOW_IF(sys, who_, ...)                                                           \
	{                                                                                          \
		.nr = SCMP_SYS(sys), .name = #sys, .who = (who_),                                  \
		.n_args = sizeof((struct scmp_arg_cmp[]){ __VA_ARGS__ }) /                         \
		          sizeof(struct scmp_arg_cmp),                                             \
		.args = { __VA_ARGS__ },                                                           \
	}

/* What the filter does with a syscall that no rule allows. */
enum sandbox_action {
	SANDBOX_ACT_KILL, /* SCMP_ACT_KILL_PROCESS: the process dies by SIGSYS */
	SANDBOX_ACT_TRAP, /* SCMP_ACT_TRAP: a SIGSYS handler reports, then the process dies */
	SANDBOX_ACT_LOG,  /* SCMP_ACT_LOG: --sandbox=audit, the kernel logs and runs it */
};

struct sandbox_policy;

int sandbox_policy_create(struct sandbox_policy **out) SANDBOX_WUR;
/* NULL is a no-op. */
void sandbox_policy_destroy(struct sandbox_policy *policy);

/*
 * Add one rule (copied; @rule->name and ->who must outlive the policy:
 * string literals).  A syscall that no sandboxed process may ever make
 * (execve, ptrace, mount, unshare, fork... see sandbox_policy_forbidden())
 * is refused with -EPERM and a log line naming it; more than
 * SANDBOX_RULE_MAX_ARGS comparisons, or a NULL name or who, is -EINVAL.
 * An exact duplicate is accepted once.
 */
int sandbox_policy_add(struct sandbox_policy *policy, const struct sandbox_rule *rule) SANDBOX_WUR;
/* sandbox_policy_add() of each; stops at the first error. */
int sandbox_policy_add_table(struct sandbox_policy *policy, const struct sandbox_rule *rules,
                             size_t n) SANDBOX_WUR;

/*
 * The common list (the table in seccomp_policy.c): what the nanomsg
 * worker threads, glibc and the log API need in every sandboxed process.
 */
int sandbox_policy_add_common(struct sandbox_policy *policy) SANDBOX_WUR;
/*
 * kill and tgkill limited to @self_pid, the process's pid as it sees itself
 * (getpid()): glibc's raise() and abort().  sandbox_isolate() adds them once
 * the process knows its pid in the new pid namespace.
 */
int sandbox_policy_add_self_signals(struct sandbox_policy *policy, int self_pid) SANDBOX_WUR;

/* True for a syscall sandbox_policy_add() refuses. */
bool sandbox_policy_forbidden(int nr);

/* The rules added so far, in order, for docs and tests. */
size_t sandbox_policy_count(const struct sandbox_policy *policy);
const struct sandbox_rule *sandbox_policy_rule(const struct sandbox_policy *policy, size_t i);
/* True when some rule names @nr (with or without argument checks). */
bool sandbox_policy_has(const struct sandbox_policy *policy, int nr);

/*
 * A libseccomp filter of the rules with @action for everything else,
 * applied to all threads when loaded (SCMP_FLTATR_CTL_TSYNC) and setting
 * no_new_privs.  Not loaded: *out is the caller's (seccomp_release()).
 */
int sandbox_policy_build(const struct sandbox_policy *policy, enum sandbox_action action,
                         scmp_filter_ctx *out) SANDBOX_WUR;

/* "socket" for a syscall number of the native arch; "?" when unknown.  Copies into @buf. */
const char *sandbox_syscall_name(int nr, char *buf, size_t size);

#endif
