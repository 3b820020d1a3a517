/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the replay tools (vmem_replay, pmem_replay, nvdimm_replay,
 * mhp_replay) and vmem_rec share: the LOG|DIR... walk of their command
 * line, the "tool: file:line: what" report of a difference, and the
 * reading of QEMU's trace lines (-trace ... -D LOG, with or without
 * -msg timestamp=on).
 *
 * Contract: nothing here allocates what the caller must free or keeps a
 * pointer past the call; reports go to stderr, results to stdout stay
 * the tools' own.
 */
#ifndef SPLITVM_TESTS_REPLAY_COMMON_H
#define SPLITVM_TESTS_REPLAY_COMMON_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Each of @paths[0..@n) in order: a directory stands for every "*.log" in
 * it (sorted by name; none is an error), anything else is one recording.
 * @one is called on each recording and returns 0 when it matched, < 0 when
 * not (having printed why).  The walk goes on after a failure.  0 when
 * every recording matched, -1 otherwise; a directory that cannot be read
 * or holds no recording is reported as "@tool: DIR: why".
 */
int replay_paths(const char *tool, char **paths, int n, int (*one)(void *ctx, const char *path),
                 void *ctx) __attribute__((warn_unused_result));

/*
 * Prints "@tool: @file:@line: " and the message, one line on stderr.
 * Always returns -1, so that a check reads "return replay_fail(...)".
 */
int replay_fail(const char *tool, const char *file, unsigned line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/*
 * The number right after the first @key in @s, in C notation (decimal, or
 * 0x hex): JSON's "key": N, a trace's key=0xN or "Key 0xN".  False when
 * @key is absent or no number follows it (or it overflows 64 bits).
 */
bool replay_num_after(const char *s, const char *key, uint64_t *out)
        __attribute__((warn_unused_result));
/* The same, false also when the number does not fit 32 bits. */
bool replay_u32_after(const char *s, const char *key, uint32_t *out)
        __attribute__((warn_unused_result));

/*
 * A trace line past its "PID@SEC.USEC:" prefix (-msg timestamp=on): the
 * event's name and arguments.  A line without that prefix is returned as
 * it is.
 */
const char *replay_event_of(const char *line);

/* Whether @ev (from replay_event_of) is the event @name, not one it prefixes. */
bool replay_is_event(const char *ev, const char *name);

#endif
