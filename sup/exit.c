/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a child's end means: its wait status as a ProcessExit, the text the
 * log and `events` show, and the device process's stderr, whose seccomp
 * violation line (common/sandbox.h) is the only place the syscall that
 * killed it is told: the kernel reports it to the dying process and the
 * audit log, never to the parent.  Apart from the rest of the supervisor so
 * that a unit test links it alone.
 */
#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd.h"
#include "log.h"
#include "sandbox.h"
#include "sup.h"

void sup_exit_reason(int status, pid_t pid, int violation, char *name, size_t name_len,
                     Splitvm__ProcessExit *out)
{
	splitvm__process_exit__init(out);
	out->pid = pid;
	out->syscall = -1;
	out->syscall_name = (char *)"";
	if (WIFEXITED(status)) {
		out->kind = SPLITVM__EXIT_KIND__EXIT_CODE;
		out->code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) {
		/* A seccomp filter's kill and trap actions both end in SIGSYS. */
		out->kind = SPLITVM__EXIT_KIND__EXIT_SECCOMP;
		out->code = SIGSYS;
		if (violation >= 0) {
			char *n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, violation);

			out->syscall = violation;
			if (name && name_len) {
				snprintf(name, name_len, "%s", n ? n : "");
				out->syscall_name = name;
			}
			free(n);
		}
	} else {
		out->kind = SPLITVM__EXIT_KIND__EXIT_SIGNAL;
		out->code = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	}
}

const char *sup_exit_text(const Splitvm__ProcessExit *e, char *buf, size_t len)
{
	switch (e->kind) {
	case SPLITVM__EXIT_KIND__EXIT_CODE:
		snprintf(buf, len, "exit code %d", e->code);
		break;
	case SPLITVM__EXIT_KIND__EXIT_SECCOMP:
		if (e->syscall >= 0)
			snprintf(buf, len, "seccomp violation (SIGSYS), syscall %d %s", e->syscall,
			         e->syscall_name ? e->syscall_name : "");
		else
			snprintf(buf, len, "seccomp violation (SIGSYS)");
		break;
	default:
		snprintf(buf, len, "signal %d (%s)", e->code, strsignal(e->code));
	}
	return buf;
}

/* One whole line (without its newline) of device @d's stderr. */
static void stderr_line(struct sup_dev *d, const char *line, size_t len)
{
	int nr;

	if (!sandbox_violation_parse(line, len, &nr))
		d->violation = nr;
	/* Its own log line already carries its tag; say which device it is. */
	fprintf(stderr, "[%s] %.*s\n", d->cfg && d->cfg->id ? d->cfg->id : "?", (int)len, line);
}

void sup_dev_stderr_feed(struct sup_dev *d, const char *buf, size_t len)
{
	while (len) {
		const char *nl = memchr(buf, '\n', len);
		size_t take = nl ? (size_t)(nl - buf) : len;
		size_t room = sizeof(d->err_line) - d->err_len;

		if (take > room)
			take = room;
		memcpy(d->err_line + d->err_len, buf, take);
		d->err_len += take;
		buf += take;
		len -= take;
		if (nl && buf == nl) {
			buf++;
			len--;
		} else if (d->err_len < sizeof(d->err_line)) {
			continue; /* the line goes on in a later read */
		}
		stderr_line(d, d->err_line, d->err_len);
		d->err_len = 0;
	}
}

void sup_dev_stderr_drain(struct sup_dev *d)
{
	char buf[4096];

	while (d->stderr_fd >= 0) {
		ssize_t n = read(d->stderr_fd, buf, sizeof(buf));

		if (n > 0) {
			sup_dev_stderr_feed(d, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		/* EOF (every writer gone) or an error: the pipe is done. */
		if (d->err_len) {
			stderr_line(d, d->err_line, d->err_len);
			d->err_len = 0;
		}
		close_fd(&d->stderr_fd);
	}
}
