/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fd channel: AF_UNIX SOCK_SEQPACKET, one packet per hand-off, the fds in
 * SCM_RIGHTS.  SEQPACKET keeps packet boundaries, so a header can never be
 * split from its fds or merged with the next packet's.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fd.h"
#include "log.h"
#include "internal.h"

struct fdchan_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t nfds;
	uint64_t tag;
};

struct ipc_fdchan {
	int fd;
	char name[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

struct ipc_fdchan_listener {
	int fd;
	struct sockaddr_un addr;
};

static int peer_check(int fd, uid_t expected, const char *name, struct ipc_err *err)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return ipc_err_sys(err, errno, "fd channel %s: SO_PEERCRED", name);
	if (cred.uid != expected)
		return ipc_err_set(err, IPC_ERR_PEER_UID,
		                   "fd channel %s: peer pid %d runs as uid %u, expected uid %u",
		                   name, (int)cred.pid, (unsigned)cred.uid, (unsigned)expected);
	return 0;
}

/* Take @fd (consumed always) into a new channel once its peer is checked. */
static int chan_new(struct ipc_fdchan **out, int fd, uid_t expected, const char *name,
                    struct ipc_err *err)
{
	struct ipc_fdchan *ch;
	int ret;

	*out = NULL;
	ret = peer_check(fd, expected, name, err);
	if (ret < 0) {
		log_warnx("%s", err ? err->text : "fd channel: peer refused");
		goto fail;
	}
	ch = calloc(1, sizeof(*ch));
	if (!ch) {
		ret = ipc_err_sys(err, ENOMEM, "fd channel %s", name);
		goto fail;
	}
	ch->fd = take_fd(&fd);
	snprintf(ch->name, sizeof(ch->name), "%s", name);
	*out = ch;
	return 0;
fail:
	close_fd(&fd);
	return ret;
}

static int make_addr(struct sockaddr_un *addr, const char *rundir, const char *name,
                     struct ipc_err *err)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	return ipc_endpoint_path(addr->sun_path, sizeof(addr->sun_path), rundir, name, err);
}

/*
 * A socket file left by a process that died would make bind() fail: remove
 * it, but only when nobody answers on it.
 */
static bool stale_socket(const struct sockaddr_un *addr)
{
	struct stat st;
	int fd, r;

	if (lstat(addr->sun_path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	r = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	close_fd(&fd);
	return r < 0 && errno == ECONNREFUSED;
}

int ipc_fdchan_listen(struct ipc_fdchan_listener **out, const char *rundir, const char *name,
                      struct ipc_err *err)
{
	struct ipc_fdchan_listener *l;
	int ret;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return ipc_err_sys(err, ENOMEM, "fd channel listener %s", name);
	l->fd = -1;
	ret = make_addr(&l->addr, rundir, name, err);
	if (ret < 0)
		goto fail;
	l->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		ret = ipc_err_sys(err, errno, "fd channel %s: socket", l->addr.sun_path);
		goto fail;
	}
	if (bind(l->fd, (struct sockaddr *)&l->addr, sizeof(l->addr)) < 0) {
		if (errno != EADDRINUSE || !stale_socket(&l->addr) ||
		    unlink(l->addr.sun_path) < 0 ||
		    bind(l->fd, (struct sockaddr *)&l->addr, sizeof(l->addr)) < 0) {
			ret = ipc_err_sys(err, errno, "fd channel %s: bind", l->addr.sun_path);
			goto fail;
		}
	}
	if (listen(l->fd, 8) < 0) {
		ret = ipc_err_sys(err, errno, "fd channel %s: listen", l->addr.sun_path);
		unlink(l->addr.sun_path);
		goto fail;
	}
	*out = l;
	return 0;
fail:
	close_fd(&l->fd);
	free(l);
	return ret;
}

void ipc_fdchan_listener_destroy(struct ipc_fdchan_listener *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		unlink(l->addr.sun_path);
	close_fd(&l->fd);
	free(l);
}

int ipc_fdchan_listener_fd(const struct ipc_fdchan_listener *l)
{
	return l->fd;
}

/* poll() @fd for POLLIN up to @timeout_ms; 0 when readable. */
static int wait_readable(int fd, int timeout_ms, const char *what, struct ipc_err *err)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t deadline = ipc_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	int r;

	for (;;) {
		uint64_t now = ipc_now_ms();
		int left = now >= deadline ? 0 : (int)(deadline - now);

		r = poll(&pfd, 1, left);
		if (r > 0)
			return 0;
		if (r == 0)
			return ipc_err_set(err, IPC_ERR_TIMEOUT, "%s: nothing within %d ms", what,
			                   timeout_ms);
		if (errno != EINTR)
			return ipc_err_sys(err, errno, "%s: poll", what);
	}
}

int ipc_fdchan_accept(struct ipc_fdchan **out, struct ipc_fdchan_listener *l, uid_t expected_uid,
                      int timeout_ms, struct ipc_err *err)
{
	int fd, ret;

	*out = NULL;
	ret = wait_readable(l->fd, timeout_ms, l->addr.sun_path, err);
	if (ret < 0)
		return ret;
	fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return ipc_err_sys(err, errno, "fd channel %s: accept", l->addr.sun_path);
	return chan_new(out, fd, expected_uid, l->addr.sun_path, err);
}

int ipc_fdchan_connect(struct ipc_fdchan **out, const char *rundir, const char *name,
                       uid_t expected_uid, struct ipc_err *err)
{
	struct sockaddr_un addr;
	int fd, ret;

	*out = NULL;
	ret = make_addr(&addr, rundir, name, err);
	if (ret < 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ipc_err_sys(err, errno, "fd channel %s: socket", addr.sun_path);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		ret = ipc_err_sys(err, errno, "fd channel %s: connect", addr.sun_path);
		close_fd(&fd);
		return ret;
	}
	return chan_new(out, fd, expected_uid, addr.sun_path, err);
}

int ipc_fdchan_wrap(struct ipc_fdchan **out, int fd, uid_t expected_uid, struct ipc_err *err)
{
	char name[32];
	int type;
	socklen_t len = sizeof(type);
	int ret;

	*out = NULL;
	snprintf(name, sizeof(name), "fd %d", fd);
	if (fd < 0)
		return ipc_err_set(err, IPC_ERR_INVALID, "fd channel: no fd to wrap");
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET) {
		ret = ipc_err_set(err, IPC_ERR_INVALID,
		                  "fd channel %s: not a SOCK_SEQPACKET socket", name);
		close_fd(&fd);
		return ret;
	}
	/* An inherited fd should already be CLOEXEC again; make sure. */
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		ret = ipc_err_sys(err, errno, "fd channel %s: set FD_CLOEXEC", name);
		close_fd(&fd);
		return ret;
	}
	return chan_new(out, fd, expected_uid, name, err);
}

void ipc_fdchan_destroy(struct ipc_fdchan *ch)
{
	if (!ch)
		return;
	close_fd(&ch->fd);
	free(ch);
}

int ipc_fdchan_fd(const struct ipc_fdchan *ch)
{
	return ch->fd;
}

int ipc_fdchan_send(struct ipc_fdchan *ch, uint64_t tag, const int *fds, unsigned nfds,
                    struct ipc_err *err)
{
	struct fdchan_hdr hdr = {
		.magic = IPC_FDCHAN_MAGIC,
		.version = IPC_FDCHAN_VERSION,
		.nfds = (uint16_t)nfds,
		.tag = tag,
	};
	union {
		char buf[CMSG_SPACE(sizeof(int) * IPC_FDCHAN_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = &hdr, .iov_len = sizeof(hdr) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds > IPC_FDCHAN_MAX_FDS)
		return ipc_err_set(err, IPC_ERR_INVALID,
		                   "fd channel %s: %u fds in one packet, at most %d", ch->name,
		                   nfds, IPC_FDCHAN_MAX_FDS);
	if (nfds) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	do {
		n = sendmsg(ch->fd, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EPIPE || errno == ECONNRESET)
			return ipc_err_set(err, IPC_ERR_CLOSED, "fd channel %s: the peer is gone",
			                   ch->name);
		return ipc_err_sys(err, errno, "fd channel %s: sendmsg (tag %llu)", ch->name,
		                   (unsigned long long)tag);
	}
	return 0;
}

int ipc_fdset_take(struct ipc_fdset *set, unsigned i)
{
	if (!set || i >= set->nfds)
		return -1;
	return take_fd(&set->fds[i]);
}

void ipc_fdset_release(struct ipc_fdset *set)
{
	if (!set)
		return;
	for (unsigned i = 0; i < set->nfds; i++) {
		if (set->fds[i] < 0)
			continue;
		log_warnx("fd channel: closing fd %d (%u of %u under tag %llu) that nobody took",
		          set->fds[i], i, set->nfds, (unsigned long long)set->tag);
		close_fd(&set->fds[i]);
	}
	free(set);
}

/* Close every fd that arrived with a refused packet. */
static void drop_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		close_fd(&fds[i]);
}

int ipc_fdchan_recv(struct ipc_fdchan *ch, uint64_t expected_tag, int timeout_ms,
                    struct ipc_fdset **out, struct ipc_err *err)
{
	/* One byte more than a header, to see a packet that is too long. */
	union {
		struct fdchan_hdr hdr;
		char bytes[sizeof(struct fdchan_hdr) + 1];
	} data;
	/* Room for one fd more than allowed, so that excess shows as a count. */
	union {
		char buf[CMSG_SPACE(sizeof(int) * (IPC_FDCHAN_MAX_FDS + 1))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = &data, .iov_len = sizeof(data) };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	int fds[IPC_FDCHAN_MAX_FDS + 1];
	unsigned nfds = 0;
	struct ipc_fdset *set;
	ssize_t n;
	int ret;

	*out = NULL;
	ret = wait_readable(ch->fd, timeout_ms, ch->name, err);
	if (ret < 0)
		return ret;
	do {
		n = recvmsg(ch->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN)
			return ipc_err_set(err, IPC_ERR_TIMEOUT,
			                   "fd channel %s: nothing within %d ms", ch->name,
			                   timeout_ms);
		if (errno == ECONNRESET)
			return ipc_err_set(err, IPC_ERR_CLOSED, "fd channel %s: the peer is gone",
			                   ch->name);
		return ipc_err_sys(err, errno, "fd channel %s: recvmsg", ch->name);
	}

	/* Collect every fd that arrived, whatever else is wrong with the packet. */
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (nfds < sizeof(fds) / sizeof(fds[0]))
				fds[nfds++] = fd;
			else
				close(fd);
		}
	}

	if (n == 0 && nfds == 0)
		return ipc_err_set(err, IPC_ERR_CLOSED, "fd channel %s: the peer is gone",
		                   ch->name);
	if (mh.msg_flags & MSG_CTRUNC) {
		ret = ipc_err_set(err, IPC_ERR_CTRUNC,
		                  "fd channel %s: control data cut short (more than %d fds?); "
		                  "closed the %u that arrived",
		                  ch->name, IPC_FDCHAN_MAX_FDS, nfds);
		goto refuse;
	}
	if ((size_t)n != sizeof(data.hdr) || (mh.msg_flags & MSG_TRUNC)) {
		ret = ipc_err_set(err, IPC_ERR_BAD_PACKET,
		                  "fd channel %s: packet of %zd bytes, a header is %zu", ch->name,
		                  n, sizeof(data.hdr));
		goto refuse;
	}
	if (data.hdr.magic != IPC_FDCHAN_MAGIC || data.hdr.version != IPC_FDCHAN_VERSION) {
		ret = ipc_err_set(err, IPC_ERR_BAD_PACKET,
		                  "fd channel %s: bad magic 0x%08x or version %u", ch->name,
		                  data.hdr.magic, data.hdr.version);
		goto refuse;
	}
	if (data.hdr.nfds != nfds || nfds > IPC_FDCHAN_MAX_FDS) {
		ret = ipc_err_set(err, IPC_ERR_BAD_PACKET,
		                  "fd channel %s: header says %u fds, %u arrived (at most %d)",
		                  ch->name, data.hdr.nfds, nfds, IPC_FDCHAN_MAX_FDS);
		goto refuse;
	}
	if (data.hdr.tag != expected_tag) {
		ret = ipc_err_set(err, IPC_ERR_TAG,
		                  "fd channel %s: %u fds under tag %llu, expected tag %llu",
		                  ch->name, nfds, (unsigned long long)data.hdr.tag,
		                  (unsigned long long)expected_tag);
		goto refuse;
	}

	set = calloc(1, sizeof(*set));
	if (!set) {
		ret = ipc_err_sys(err, ENOMEM, "fd channel %s", ch->name);
		goto refuse;
	}
	set->tag = data.hdr.tag;
	set->nfds = nfds;
	for (unsigned i = 0; i < IPC_FDCHAN_MAX_FDS; i++)
		set->fds[i] = i < nfds ? fds[i] : -1;
	*out = set;
	return 0;

refuse:
	log_warnx("%s", err ? err->text : "fd channel: refused a packet");
	drop_fds(fds, nfds);
	return ret;
}
