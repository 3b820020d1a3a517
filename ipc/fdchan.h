/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fd channel: file descriptors between processes, on an AF_UNIX
 * SOCK_SEQPACKET socket with SCM_RIGHTS, beside the nanomsg channels (which
 * cannot carry fds).  Each packet is one header {magic, version, tag, nfds}
 * and up to IPC_FDCHAN_MAX_FDS fds; the tag is the number that a protobuf
 * message names (fd_tag), so a receiver knows what the fds are for.
 *
 * Every end checks its peer's uid (SO_PEERCRED) against the uid the caller
 * expects, and refuses and closes a connection from anyone else.  Every fd
 * made or received here is CLOEXEC.  Included by ipc.h; same error rules.
 */
#ifndef SPLITVM_IPC_FDCHAN_H
#define SPLITVM_IPC_FDCHAN_H

#include <stdint.h>
#include <sys/types.h>

#include "ipc.h"

#define IPC_FDCHAN_MAX_FDS 8
#define IPC_FDCHAN_MAGIC   0x44465653u /* "SVFD" little-endian */
#define IPC_FDCHAN_VERSION 1

struct ipc_fdchan;
struct ipc_fdchan_listener;

/*
 * Listen on rundir/name (a stale socket file there is replaced; a live one
 * is EADDRINUSE).  Destroying the listener closes it and unlinks the path.
 */
int ipc_fdchan_listen(struct ipc_fdchan_listener **out, const char *rundir, const char *name,
                      struct ipc_err *err) IPC_WUR;
void ipc_fdchan_listener_destroy(struct ipc_fdchan_listener *l);
/* The listening socket, to poll() for POLLIN.  Owned by the listener. */
int ipc_fdchan_listener_fd(const struct ipc_fdchan_listener *l);

/* Accept one connection within @timeout_ms whose peer runs as @expected_uid. */
int ipc_fdchan_accept(struct ipc_fdchan **out, struct ipc_fdchan_listener *l, uid_t expected_uid,
                      int timeout_ms, struct ipc_err *err) IPC_WUR;

/* Connect to rundir/name, whose listener must run as @expected_uid. */
int ipc_fdchan_connect(struct ipc_fdchan **out, const char *rundir, const char *name,
                       uid_t expected_uid, struct ipc_err *err) IPC_WUR;

/*
 * Wrap a connected SOCK_SEQPACKET fd (one end of a socketpair inherited
 * through exec, its number parsed from argv).  Consumes @fd always: on
 * failure it is closed.
 */
int ipc_fdchan_wrap(struct ipc_fdchan **out, int fd, uid_t expected_uid,
                    struct ipc_err *err) IPC_WUR;

/* Close the channel.  NULL is a no-op. */
void ipc_fdchan_destroy(struct ipc_fdchan *ch);

/* The socket, to poll() for POLLIN.  Owned by the channel. */
int ipc_fdchan_fd(const struct ipc_fdchan *ch);

/*
 * Send @nfds (0..IPC_FDCHAN_MAX_FDS) fds under @tag.  Never consumes the
 * fds: the caller closes its copies after the hand-off.
 */
int ipc_fdchan_send(struct ipc_fdchan *ch, uint64_t tag, const int *fds, unsigned nfds,
                    struct ipc_err *err) IPC_WUR;

/* Received fds.  The set owns every fd still in fds[] (not -1). */
struct ipc_fdset {
	uint64_t tag;
	unsigned nfds;
	int fds[IPC_FDCHAN_MAX_FDS];
};

/*
 * Receive one packet within @timeout_ms.  A packet under another tag than
 * @expected_tag is refused (IPC_ERR_TAG): its fds are closed and logged.
 * A malformed packet or cut control data closes whatever fds arrived.
 */
int ipc_fdchan_recv(struct ipc_fdchan *ch, uint64_t expected_tag, int timeout_ms,
                    struct ipc_fdset **out, struct ipc_err *err) IPC_WUR;

/* Move fd @i out of the set (its slot becomes -1); -1 if none is there. */
int ipc_fdset_take(struct ipc_fdset *set, unsigned i);

/* Close, and log, every fd nobody took; free the set.  NULL is a no-op. */
void ipc_fdset_release(struct ipc_fdset *set);

#endif
