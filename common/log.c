/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char log_tag_buf[64] = "splitvm";
static bool log_is_verbose;
static int log_fd = -1;

void log_init(const char *tag)
{
	snprintf(log_tag_buf, sizeof(log_tag_buf), "%s", tag ? tag : "splitvm");
}

void log_set_verbose(bool verbose)
{
	log_is_verbose = verbose;
}

bool log_verbose(void)
{
	return log_is_verbose;
}

const char *log_tag(void)
{
	return log_tag_buf;
}

void log_set_fd(int fd)
{
	log_fd = fd;
}

static const char *const level_names[] = {
	[LOG_LEVEL_WARN] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void log_vmsg(enum log_level level, bool with_errno, const char *fmt, va_list ap)
{
	int saved = errno;
	char line[1024];
	size_t len;
	int n;

	if (level == LOG_LEVEL_DEBUG && !log_is_verbose) {
		errno = saved;
		return;
	}
	/* Build the whole line first so that one write() keeps it whole when
	 * several processes share the terminal. */
	n = snprintf(line, sizeof(line), "%s[%ld]: %s: ", log_tag_buf, (long)getpid(),
	             level_names[level]);
	len = n < 0 ? 0 : (size_t)n;
	if (len < sizeof(line)) {
		n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
		if (n > 0)
			len += (size_t)n;
	}
	if (with_errno && len < sizeof(line)) {
		n = snprintf(line + len, sizeof(line) - len, ": %s", strerror(saved));
		if (n > 0)
			len += (size_t)n;
	}
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	if (write(log_fd >= 0 ? log_fd : STDERR_FILENO, line, len) < 0) {
		/* Nowhere left to report it. */
	}
	errno = saved;
}

#define LOG_FN(name, level, with_errno)                                                            \
	void name(const char *fmt, ...)                                                            \
	{                                                                                          \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_vmsg(level, with_errno, fmt, ap);                                              \
		va_end(ap);                                                                        \
	}

LOG_FN(log_warn, LOG_LEVEL_WARN, true)
LOG_FN(log_warnx, LOG_LEVEL_WARN, false)
LOG_FN(log_info, LOG_LEVEL_INFO, false)
LOG_FN(log_debug, LOG_LEVEL_DEBUG, false)

void log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_WARN, true, fmt, ap);
	va_end(ap);
	exit(1);
}

void log_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_WARN, false, fmt, ap);
	va_end(ap);
	exit(1);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void log_warnx_ratelimited(struct log_ratelimit *rl, const char *fmt, ...)
{
	int saved = errno;
	uint64_t now = now_ms();
	va_list ap;

	if (now - rl->window_start_ms >= rl->interval_ms) {
		if (rl->suppressed)
			log_warnx("%llu similar messages suppressed",
			          (unsigned long long)rl->suppressed);
		rl->window_start_ms = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed >= rl->burst) {
		rl->suppressed++;
		errno = saved;
		return;
	}
	rl->printed++;
	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_WARN, false, fmt, ap);
	va_end(ap);
	errno = saved;
}
