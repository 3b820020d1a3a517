/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The log API of every splitvm process: one line per event on stderr,
 * "splitvm-core[1234] core/demo: message".  Messages carry no trailing
 * newline.  errno is preserved across every call, so a caller can log and
 * then return -errno.  log_fatal*() are for start-up only (STYLE.md).
 */
#ifndef SPLITVM_LOG_H
#define SPLITVM_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_WARN = 0,
	LOG_LEVEL_INFO = 1,
	LOG_LEVEL_DEBUG = 2,
};

/*
 * Set the process tag once, early in main(): "devproc/demo/vm0".  The tag is
 * copied; a tag longer than 63 bytes is cut.
 */
void log_init(const char *tag);
void log_set_verbose(bool verbose);
bool log_verbose(void);
const char *log_tag(void);

/*
 * Send log lines to @fd instead of stderr (tests capture them through a
 * pipe); -1 restores stderr.  The fd stays the caller's.
 */
void log_set_fd(int fd);

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* warn() appends ": strerror(errno)"; warnx() does not. */
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
/* Printed only with --verbose. */
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_vmsg(enum log_level level, bool with_errno, const char *fmt, va_list ap) LOG_PRINTF(3, 0);

/* Start-up only: print and exit(1). */
__attribute__((noreturn)) void log_fatal(const char *fmt, ...) LOG_PRINTF(1, 2);
__attribute__((noreturn)) void log_fatalx(const char *fmt, ...) LOG_PRINTF(1, 2);

/*
 * A rate limit for warnings that a guest or a peer can trigger: at most
 * @burst lines per @interval_ms; the first line after a quiet spell says how
 * many were suppressed.  Zero-initialise with LOG_RATELIMIT_INIT.
 */
struct log_ratelimit {
	uint32_t interval_ms;
	uint32_t burst;
	uint64_t window_start_ms;
	uint32_t printed;
	uint64_t suppressed;
};
#define LOG_RATELIMIT_INIT(ms, n)                                                                  \
	{                                                                                          \
		.interval_ms = (ms), .burst = (n)                                                  \
	}

void log_warnx_ratelimited(struct log_ratelimit *rl, const char *fmt, ...) LOG_PRINTF(2, 3);

#endif
