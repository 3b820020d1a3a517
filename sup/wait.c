/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Waiting for a child without sleeping: for the sockets it binds to appear
 * in the run directory (inotify) and for it to end (a pidfd), each bounded
 * by a deadline.  Connecting before a socket exists costs NNG's reconnect
 * back-off (a random wait of up to 10 ms, doubling on each miss); polling
 * for an exit in 10 ms steps costs up to 10 ms per process at teardown.
 * Both used to be most of what `splitvm run` added to a boot.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd.h"
#include "log.h"
#include "sup.h"

/* A pidfd for @pid, or -1 where the kernel has none (then only the deadline bounds a wait). */
static int pidfd_of(pid_t pid)
{
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	/* pidfd_open() makes its fd close-on-exec. */
	return fd >= 0 ? fd : -1;
#else
	(void)pid;
	return -1;
#endif
}

/* The first of @names that is not in @dir yet; NULL: all there. */
static const char *first_missing(int dirfd, const char *const *names, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (faccessat(dirfd, names[i], F_OK, AT_SYMLINK_NOFOLLOW) && errno == ENOENT)
			return names[i];
	return NULL;
}

/*
 * One inotify instance on the run directory for the whole start-up.
 * Closing an instance that holds a watch waits for an SRCU grace period
 * (8-15 ms here); removing the watch first lets the kernel free it in the
 * background, so sup_watch_stop() comes well before sup_watch_close().
 */
int sup_watch_open(struct sup *s)
{
	s->watch_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (s->watch_fd < 0) {
		log_warn("inotify_init1");
		return -errno;
	}
	s->watch_wd = inotify_add_watch(s->watch_fd, s->run_dir, IN_CREATE | IN_MOVED_TO);
	if (s->watch_wd < 0) {
		int e = errno;

		log_warn("inotify_add_watch %s", s->run_dir);
		close_fd(&s->watch_fd);
		return -e;
	}
	return 0;
}

void sup_watch_stop(struct sup *s)
{
	if (s->watch_fd >= 0 && s->watch_wd >= 0)
		(void)inotify_rm_watch(s->watch_fd, s->watch_wd);
	s->watch_wd = -1;
}

void sup_watch_close(struct sup *s)
{
	sup_watch_stop(s);
	close_fd(&s->watch_fd);
}

int sup_wait_files(struct sup *s, const char *const *names, unsigned n, pid_t pid, int timeout_ms)
{
	uint64_t deadline = sup_now_ms() + (uint64_t)timeout_ms;
	int dfd = -1, pfd = -1, r;
	const char *missing;

	if (s->watch_fd < 0 || s->watch_wd < 0)
		return -EBADF;
	dfd = open(s->run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (pid > 0)
		pfd = pidfd_of(pid);
	/* The watch is older than the names: one made before now is found by looking. */
	for (;;) {
		struct pollfd p[2] = { { .fd = s->watch_fd, .events = POLLIN },
			               { .fd = pfd, .events = POLLIN } };
		char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
		uint64_t now;

		missing = first_missing(dfd, names, n);
		if (!missing) {
			r = 0;
			break;
		}
		now = sup_now_ms();
		if (now >= deadline) {
			r = -ETIMEDOUT;
			break;
		}
		if (poll(p, 2, (int)(deadline - now)) < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		if (p[1].revents & POLLIN) {
			/* It ended without making the socket (reaped by the caller). */
			missing = first_missing(dfd, names, n);
			r = missing ? -ECHILD : 0;
			break;
		}
		/* What was made does not matter: the names are looked up again. */
		while (read(s->watch_fd, buf, sizeof(buf)) > 0)
			;
	}
	if (r == -ETIMEDOUT)
		log_debug("%s/%s: not there after %d ms", s->run_dir, missing, timeout_ms);
	close_fd(&pfd);
	close_fd(&dfd);
	return r;
}

int sup_wait_exit(pid_t pid, int timeout_ms)
{
	uint64_t deadline = sup_now_ms() + (uint64_t)timeout_ms;
	int pfd = pidfd_of(pid), r = -ETIMEDOUT;

	if (pfd < 0) {
		/* No pidfd: a waitid() that leaves the zombie, in 1 ms steps. */
		siginfo_t si;

		do {
			memset(&si, 0, sizeof(si));
			if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
				return -errno;
			if (si.si_pid == pid)
				return 0;
			usleep(1000);
		} while (sup_now_ms() < deadline);
		return -ETIMEDOUT;
	}
	for (;;) {
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		uint64_t now = sup_now_ms();
		int k;

		if (now >= deadline)
			break;
		k = poll(&p, 1, (int)(deadline - now));
		if (k < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		if (k > 0) {
			r = 0;
			break;
		}
	}
	close_fd(&pfd);
	return r;
}
