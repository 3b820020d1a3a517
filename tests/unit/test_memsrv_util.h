/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers shared by the memsrv unit tests: a second real process that gets
 * a backend's fd over a socketpair (SCM_RIGHTS) after fork, so it holds only
 * what it was sent, and small host probes.  Header-only: each test is one
 * executable.
 */
#ifndef SPLITVM_TEST_MEMSRV_UTIL_H
#define SPLITVM_TEST_MEMSRV_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static inline int test_send_fd(int sock, int fd)
{
	char byte = 'F';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;

	memset(&u, 0, sizeof(u));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

static inline int test_recv_fd(int sock)
{
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/*
 * Fork a child that receives one fd and runs @fn(fd, arg) as its whole life
 * (its return value is its exit status); send it @fd; wait for it.  Returns
 * the child's exit status, or -1 when it did not exit normally.
 */
static inline int test_run_child_with_fd(int fd, int (*fn)(int fd, void *arg), void *arg)
{
	int sv[2], status = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int got;

		close(sv[0]);
		got = test_recv_fd(sv[1]);
		_exit(got < 0 ? 99 : fn(got, arg));
	}
	close(sv[1]);
	if (test_send_fd(sv[0], fd) < 0) {
		close(sv[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	close(sv[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Does any fd of ours point at a file whose link name contains @needle? */
static inline bool test_have_fd_named(const char *needle)
{
	char path[300], target[PATH_MAX];
	struct dirent *de;
	bool found = false;
	DIR *d = opendir("/proc/self/fd");

	if (!d)
		return false;
	while ((de = readdir(d))) {
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strstr(target, needle))
			found = true;
	}
	closedir(d);
	return found;
}

/* Entries in @dir other than "." and "..", or -1. */
static inline int test_count_dir(const char *dir)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* An integer from a one-line /proc or /sys file; -1 when unreadable. */
static inline long test_read_long(const char *path)
{
	long v = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

#endif
