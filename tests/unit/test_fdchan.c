/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fd channel: fds arrive and work; fds under the wrong tag, in a
 * malformed packet, or beyond the limit are closed in the receiver; a peer
 * with another uid is refused; a released set closes what nobody took.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "fd.h"
#include "ipc.h"
#include "log.h"

struct fx {
	int sv[2]; /* raw socketpair ends, before wrapping */
	struct ipc_fdchan *a, *b;
	int logpipe[2];
	char dir[64];
	char logbuf[8192];
};

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the DIR's own fd */
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (pipe2(f->logpipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	log_init("test/fdchan");
	log_set_fd(f->logpipe[1]);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, f->sv) < 0)
		return -1;
	if (ipc_fdchan_wrap(&f->a, take_fd(&f->sv[0]), getuid(), NULL) < 0)
		return -1;
	if (ipc_fdchan_wrap(&f->b, take_fd(&f->sv[1]), getuid(), NULL) < 0)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/splitvm-fdchan-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	log_set_fd(-1);
	ipc_fdchan_destroy(f->a);
	ipc_fdchan_destroy(f->b);
	close_fd(&f->logpipe[0]);
	close_fd(&f->logpipe[1]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* What was logged since the last call. */
static const char *logged(struct fx *f)
{
	ssize_t n = read(f->logpipe[0], f->logbuf, sizeof(f->logbuf) - 1);

	f->logbuf[n > 0 ? n : 0] = '\0';
	return f->logbuf;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; (s = strchr(s, '\n')); s++)
		n++;
	return n;
}

static int make_memfd(const char *text)
{
	int fd = memfd_create("test", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	return fd;
}

static void test_memfd_reads_back(void **state)
{
	struct fx *f = *state;
	struct ipc_fdset *set;
	char buf[32] = { 0 };
	int fd = make_memfd("guest ram");
	int got;

	assert_int_equal(ipc_fdchan_send(f->a, 42, &fd, 1, NULL), 0);
	close_fd(&fd); /* the sender's copy; the receiver has its own */
	assert_int_equal(ipc_fdchan_recv(f->b, 42, 1000, &set, NULL), 0);
	assert_int_equal(set->tag, 42);
	assert_int_equal(set->nfds, 1);
	got = ipc_fdset_take(set, 0);
	assert_true(got >= 0);
	assert_int_equal(ipc_fdset_take(set, 0), -1); /* taken once only */
	assert_int_equal(ipc_fdset_take(set, 1), -1); /* out of range */
	ipc_fdset_release(set);
	assert_int_equal(pread(got, buf, sizeof(buf) - 1, 0), 9);
	assert_string_equal(buf, "guest ram");
	assert_true(fcntl(got, F_GETFD) & FD_CLOEXEC);
	close_fd(&got);
	/* Nothing was left for the release to log. */
	assert_string_equal(logged(f), "");
}

static void test_wrong_tag_is_refused_and_closed(void **state)
{
	struct fx *f = *state;
	struct ipc_fdset *set = (struct ipc_fdset *)&set;
	struct ipc_err err;
	int fd = make_memfd("x");
	int before, next;

	assert_int_equal(ipc_fdchan_send(f->a, 7, &fd, 1, NULL), 0);
	close_fd(&fd);
	before = count_fds();
	/* The kernel installs a received fd at the lowest free number. */
	next = dup(0);
	close(next);
	assert_int_equal(ipc_fdchan_recv(f->b, 8, 1000, &set, &err), -IPC_ERR_TAG);
	assert_null(set);
	assert_non_null(strstr(err.text, "tag 7"));
	assert_non_null(strstr(err.text, "expected tag 8"));
	assert_false(fd_open(next));
	assert_int_equal(count_fds(), before);
	assert_int_equal(count_lines(logged(f)), 1);
}

static void test_released_set_closes_untaken_and_logs(void **state)
{
	struct fx *f = *state;
	struct ipc_fdset *set;
	int fds[3], got[3];
	const char *out;

	for (int i = 0; i < 3; i++)
		fds[i] = make_memfd("x");
	assert_int_equal(ipc_fdchan_send(f->a, 1, fds, 3, NULL), 0);
	for (int i = 0; i < 3; i++)
		close_fd(&fds[i]);
	assert_int_equal(ipc_fdchan_recv(f->b, 1, 1000, &set, NULL), 0);
	assert_int_equal(set->nfds, 3);
	memcpy(got, set->fds, sizeof(got));
	fds[1] = ipc_fdset_take(set, 1);
	ipc_fdset_release(set);
	assert_false(fd_open(got[0]));
	assert_true(fd_open(fds[1]));
	assert_false(fd_open(got[2]));
	out = logged(f);
	assert_int_equal(count_lines(out), 2);
	assert_non_null(strstr(out, "nobody took"));
	close_fd(&fds[1]);
	ipc_fdset_release(NULL);
}

/* Raw sendmsg of @n fds under a header of our choosing. */
static void raw_send(int sock, const void *data, size_t len, const int *fds, unsigned n)
{
	char ctl[CMSG_SPACE(sizeof(int) * 32)] = { 0 };
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (n) {
		struct cmsghdr *cm;

		mh.msg_control = ctl;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	}
	assert_int_equal(sendmsg(sock, &mh, 0), (ssize_t)len);
}

struct raw_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t nfds;
	uint64_t tag;
};

static void test_malformed_packets_close_their_fds(void **state)
{
	struct fx *f = *state;
	int fds[20];
	const struct {
		const char *what;
		struct raw_hdr hdr;
		size_t len;
		unsigned nfds;
		enum ipc_errcode want;
	} cases[] = {
		{ "short packet", { IPC_FDCHAN_MAGIC, 1, 1, 5 }, 3, 1, IPC_ERR_BAD_PACKET },
		{ "bad magic",
		  { 0xdeadbeef, 1, 1, 5 },
		  sizeof(struct raw_hdr),
		  1,
		  IPC_ERR_BAD_PACKET },
		{ "bad version",
		  { IPC_FDCHAN_MAGIC, 2, 1, 5 },
		  sizeof(struct raw_hdr),
		  1,
		  IPC_ERR_BAD_PACKET },
		{ "count lies",
		  { IPC_FDCHAN_MAGIC, 1, 1, 5 },
		  sizeof(struct raw_hdr),
		  2,
		  IPC_ERR_BAD_PACKET },
		{ "nine fds",
		  { IPC_FDCHAN_MAGIC, 1, 9, 5 },
		  sizeof(struct raw_hdr),
		  9,
		  IPC_ERR_BAD_PACKET },
		{ "twenty fds overflow the control buffer",
		  { IPC_FDCHAN_MAGIC, 1, 20, 5 },
		  sizeof(struct raw_hdr),
		  20,
		  IPC_ERR_CTRUNC },
	};
	int sv[2];
	struct ipc_fdchan *rx;

	for (int i = 0; i < 20; i++)
		fds[i] = make_memfd("x");
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(ipc_fdchan_wrap(&rx, sv[1], getuid(), NULL), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ipc_fdset *set;
		struct ipc_err err;
		int before = count_fds();
		int ret;

		raw_send(sv[0], &cases[i].hdr, cases[i].len, fds, cases[i].nfds);
		ret = ipc_fdchan_recv(rx, 5, 1000, &set, &err);
		if (ret != -(int)cases[i].want)
			fail_msg("%s: got %s (%s)", cases[i].what, ipc_errcode_name(-ret),
			         err.text);
		assert_int_equal(count_fds(), before);
	}
	assert_int_equal(count_lines(logged(f)), (int)(sizeof(cases) / sizeof(cases[0])));
	for (int i = 0; i < 20; i++)
		close_fd(&fds[i]);
	close_fd(&sv[0]);
	ipc_fdchan_destroy(rx);
}

static void test_timeout_and_closed_peer(void **state)
{
	struct fx *f = *state;
	struct ipc_fdset *set;

	assert_int_equal(ipc_fdchan_recv(f->b, 1, 0, &set, NULL), -IPC_ERR_TIMEOUT);
	/* A packet with no fds is a valid hand-off of nothing. */
	assert_int_equal(ipc_fdchan_send(f->a, 3, NULL, 0, NULL), 0);
	assert_int_equal(ipc_fdchan_recv(f->b, 3, 1000, &set, NULL), 0);
	assert_int_equal(set->nfds, 0);
	ipc_fdset_release(set);
	ipc_fdchan_destroy(f->a);
	f->a = NULL;
	assert_int_equal(ipc_fdchan_recv(f->b, 1, 1000, &set, NULL), -IPC_ERR_CLOSED);
	assert_int_equal(ipc_fdchan_send(f->b, 1, NULL, 0, NULL), -IPC_ERR_CLOSED);
}

static void test_too_many_fds_to_send(void **state)
{
	struct fx *f = *state;
	int fds[IPC_FDCHAN_MAX_FDS + 1] = { 0 };
	struct ipc_err err;

	assert_int_equal(ipc_fdchan_send(f->a, 1, fds, IPC_FDCHAN_MAX_FDS + 1, &err),
	                 -IPC_ERR_INVALID);
	assert_non_null(strstr(err.text, "at most 8"));
}

static void test_listen_accept_connect(void **state)
{
	struct fx *f = *state;
	struct ipc_fdchan_listener *l;
	struct ipc_fdchan *srv, *cli;
	struct ipc_fdset *set;
	int fd = make_memfd("over a path");
	char path[128];
	struct stat st;

	assert_int_equal(ipc_fdchan_listen(&l, f->dir, "fd.sock", NULL), 0);
	assert_int_equal(ipc_fdchan_connect(&cli, f->dir, "fd.sock", getuid(), NULL), 0);
	assert_int_equal(ipc_fdchan_accept(&srv, l, getuid(), 1000, NULL), 0);
	assert_int_equal(ipc_fdchan_send(cli, 9, &fd, 1, NULL), 0);
	assert_int_equal(ipc_fdchan_recv(srv, 9, 1000, &set, NULL), 0);
	ipc_fdset_release(set); /* closes and logs the untaken fd */
	assert_int_equal(count_lines(logged(f)), 1);
	assert_true(fcntl(ipc_fdchan_fd(srv), F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(ipc_fdchan_listener_fd(l), F_GETFD) & FD_CLOEXEC);
	ipc_fdchan_destroy(srv);
	ipc_fdchan_destroy(cli);
	/* Nobody connecting: the accept times out. */
	assert_int_equal(ipc_fdchan_accept(&srv, l, getuid(), 0, NULL), -IPC_ERR_TIMEOUT);
	ipc_fdchan_listener_destroy(l);
	snprintf(path, sizeof(path), "%s/fd.sock", f->dir);
	assert_int_equal(stat(path, &st), -1);
	close_fd(&fd);
}

static void test_stale_socket_is_replaced_live_one_is_not(void **state)
{
	struct fx *f = *state;
	struct ipc_fdchan_listener *l, *l2;
	struct ipc_err err;
	int status;
	pid_t pid;

	/* A listener that dies without cleaning up leaves its socket file. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(ipc_fdchan_listen(&l, f->dir, "fd.sock", NULL) < 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(ipc_fdchan_listen(&l, f->dir, "fd.sock", NULL), 0);
	/* A live one is left alone. */
	assert_int_equal(ipc_fdchan_listen(&l2, f->dir, "fd.sock", &err), -IPC_ERR_SYS);
	assert_int_equal(err.sys_errno, EADDRINUSE);
	ipc_fdchan_listener_destroy(l);
}

static void test_bad_endpoint_names(void **state)
{
	struct fx *f = *state;
	struct ipc_fdchan_listener *l;
	struct ipc_fdchan *c;
	struct ipc_err err;
	char longname[200];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(ipc_fdchan_listen(&l, f->dir, "../escape", &err), -IPC_ERR_INVALID);
	assert_int_equal(ipc_fdchan_listen(&l, f->dir, "..", &err), -IPC_ERR_INVALID);
	assert_int_equal(ipc_fdchan_listen(&l, f->dir, longname, &err), -IPC_ERR_INVALID);
	assert_non_null(strstr(err.text, "socket path"));
	assert_int_equal(ipc_fdchan_connect(&c, f->dir, "nobody", getuid(), &err), -IPC_ERR_SYS);
	assert_int_equal(err.sys_errno, ENOENT);
}

/* Expecting any uid but ours: the peer (ourselves) is refused on both ends. */
static void test_wrong_uid_is_refused(void **state)
{
	struct fx *f = *state;
	struct ipc_fdchan_listener *l;
	struct ipc_fdchan *c;
	struct ipc_err err;
	uid_t other = getuid() + 1;
	char want[64];
	int sv[2];

	assert_int_equal(ipc_fdchan_listen(&l, f->dir, "fd.sock", NULL), 0);
	assert_int_equal(ipc_fdchan_connect(&c, f->dir, "fd.sock", other, &err), -IPC_ERR_PEER_UID);
	snprintf(want, sizeof(want), "runs as uid %u, expected uid %u", (unsigned)getuid(),
	         (unsigned)other);
	assert_non_null(strstr(err.text, want));
	/* The refused connection is still queued on the listener: refuse it there. */
	assert_int_equal(ipc_fdchan_accept(&c, l, other, 1000, &err), -IPC_ERR_PEER_UID);
	assert_null(c);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(ipc_fdchan_wrap(&c, sv[0], other, &err), -IPC_ERR_PEER_UID);
	assert_false(fd_open(sv[0])); /* wrap consumes its fd, also on failure */
	close_fd(&sv[1]);
	assert_int_equal(count_lines(logged(f)), 3);
	ipc_fdchan_listener_destroy(l);
}

/* As root: a child that becomes uid 65534 connects, and is refused. */
static void test_unprivileged_peer_is_refused(void **state)
{
	struct fx *f = *state;
	struct ipc_fdchan_listener *l;
	struct ipc_fdchan *c;
	struct ipc_err err;
	char path[128];
	int status;
	pid_t pid;

	if (geteuid() != 0) {
		print_message("SKIP: needs root to setuid a child to 65534\n");
		skip();
	}
	assert_int_equal(ipc_fdchan_listen(&l, f->dir, "fd.sock", NULL), 0);
	/* Let uid 65534 reach the socket, for this test only. */
	snprintf(path, sizeof(path), "%s/fd.sock", f->dir);
	assert_int_equal(chmod(f->dir, 0711), 0);
	assert_int_equal(chmod(path, 0777), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ipc_fdchan *mine;
		struct ipc_fdset *set;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		/* The listener runs as root, which is what this child expects. */
		if (ipc_fdchan_connect(&mine, f->dir, "fd.sock", 0, NULL) < 0)
			_exit(3);
		/* The server must hang up on us without sending anything. */
		_exit(ipc_fdchan_recv(mine, 1, 5000, &set, NULL) == -IPC_ERR_CLOSED ? 0 : 4);
	}
	assert_int_equal(ipc_fdchan_accept(&c, l, 0, 5000, &err), -IPC_ERR_PEER_UID);
	assert_non_null(strstr(err.text, "runs as uid 65534, expected uid 0"));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	ipc_fdchan_listener_destroy(l);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_memfd_reads_back),
		T(test_wrong_tag_is_refused_and_closed),
		T(test_released_set_closes_untaken_and_logs),
		T(test_malformed_packets_close_their_fds),
		T(test_timeout_and_closed_peer),
		T(test_too_many_fds_to_send),
		T(test_listen_accept_connect),
		T(test_stale_socket_is_replaced_live_one_is_not),
		T(test_bad_endpoint_names),
		T(test_wrong_uid_is_refused),
		T(test_unprivileged_peer_is_refused),
	};
#undef T

	return cmocka_run_group_tests_name("fdchan", tests, NULL, NULL);
}
