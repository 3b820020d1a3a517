/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ipc/: typed protobuf messages over nanomsg (Scalability Protocols) sockets
 * on ipc:// endpoints in a per-VM run directory, and the fd channel
 * (ipc/fdchan.h) for the file descriptors that nanomsg cannot carry.
 *
 * Errors are values.  Every function that can fail returns 0 or the negated
 * enum ipc_errcode (-IPC_ERR_TIMEOUT, ...) and, when @err is not NULL, fills
 * it with the code, the errno of a failed syscall and a sentence naming what
 * was refused and why.  Nothing here blocks without a bound: every wait has a
 * timeout, and REQ's automatic resend is off (hotplug is not idempotent).
 *
 * The nanomsg API comes from NNG's compatibility layer (-DSPLITVM_SP_NNG) or
 * from libnanomsg; its types stay out of this header.
 */
#ifndef SPLITVM_IPC_H
#define SPLITVM_IPC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "splitvm_proto.h"

#define IPC_WUR __attribute__((warn_unused_result))

enum ipc_errcode {
	IPC_OK = 0,
	IPC_ERR_SYS,          /* a syscall or the SP library failed: sys_errno */
	IPC_ERR_INVALID,      /* the caller broke an API rule (role, name, type) */
	IPC_ERR_TIMEOUT,      /* the deadline passed */
	IPC_ERR_CLOSED,       /* the channel or its peer went away */
	IPC_ERR_TOO_BIG,      /* the frame is over the channel's size limit */
	IPC_ERR_TRUNCATED,    /* the envelope is cut short */
	IPC_ERR_DECODE,       /* the envelope or its payload is not valid protobuf */
	IPC_ERR_VERSION,      /* the envelope's protocol version is not ours */
	IPC_ERR_UNKNOWN_TYPE, /* the envelope's type is not a schema v1 MsgType */
	IPC_ERR_WRONG_PLANE,  /* the type is not allowed on this channel */
	IPC_ERR_PEER,         /* the peer answered ErrorReply: peer_code, field, text */
	IPC_ERR_RUNDIR,       /* the run directory is unsafe */
	IPC_ERR_PEER_UID,     /* fd channel: the peer runs as another uid */
	IPC_ERR_TAG,          /* fd channel: fds arrived under an unexpected tag */
	IPC_ERR_BAD_PACKET,   /* fd channel: the packet header is malformed */
	IPC_ERR_CTRUNC,       /* fd channel: the kernel cut the control data */
	IPC_ERR_COUNT_
};

struct ipc_err {
	enum ipc_errcode code;
	int sys_errno;  /* errno where a syscall failed, else 0 */
	int peer_code;  /* IPC_ERR_PEER: the peer's Splitvm__ErrorCode */
	char field[64]; /* IPC_ERR_PEER: the field the peer names */
	char text[256]; /* one sentence, no trailing newline */
};

/* "TIMEOUT"; "UNKNOWN" for a value outside the enum.  Never NULL. */
const char *ipc_errcode_name(enum ipc_errcode code);
/* "the deadline passed"; a generic phrase for a value outside the enum. */
const char *ipc_errcode_message(enum ipc_errcode code);
/*
 * True for the errors a peer causes by sending bad bytes (TOO_BIG .. 
 * WRONG_PLANE): a server answers them and keeps serving.
 */
bool ipc_errcode_is_malformed(enum ipc_errcode code);
/* The ErrorReply code that answers @code (PROTOCOL, TIMEOUT, INTERNAL...). */
Splitvm__ErrorCode ipc_errcode_to_reply(enum ipc_errcode code);

/*
 * The run directory: ipc_rundir_create() makes @path (and missing parents)
 * with mode 0700 and refuses (IPC_ERR_RUNDIR) an existing @path that is a
 * symlink or not a directory, is not owned by our effective uid, or is open
 * to group or others.
 */
int ipc_rundir_create(const char *path, struct ipc_err *err) IPC_WUR;

/*
 * @rundir + "/" + @name into @buf.  @name is one path component ([A-Za-z0-9._-],
 * not "." or ".."), and the result must fit an AF_UNIX sun_path.
 */
int ipc_endpoint_path(char *buf, size_t size, const char *rundir, const char *name,
                      struct ipc_err *err) IPC_WUR;

/* ---- the envelope --------------------------------------------------- */

#define IPC_MAX_MSG_DEFAULT (1u << 20)

/* What a sender puts around a message; all optional (zero/NULL). */
struct ipc_hdr {
	uint64_t correlation_id;
	const char *device;
	uint32_t epoch;
	uint64_t seq;
};

/* A received message.  One owner; free it with ipc_msg_free(). */
struct ipc_msg {
	const struct proto_msg_type *type;
	uint64_t correlation_id;
	const char *device; /* "" when absent; lives as long as the message */
	uint32_t epoch;
	uint64_t seq;
	ProtobufCMessage *body; /* a message of type->desc */
	void *env_;             /* private: the decoded envelope */
};

void ipc_msg_free(struct ipc_msg *msg);

/*
 * Pack @body (a message registered in the MsgType table) in an envelope.
 * The result, malloc'ed into *buf, is at most @limit bytes, else
 * IPC_ERR_TOO_BIG and nothing is allocated.
 */
int ipc_envelope_encode(const struct ipc_hdr *hdr, const ProtobufCMessage *body, size_t limit,
                        uint8_t **buf, size_t *len, struct ipc_err *err) IPC_WUR;

/*
 * The receive-side checks on untrusted bytes, in this order: @len > @limit
 * (TOO_BIG, before decoding anything), the envelope decodes (TRUNCATED or
 * DECODE), version (VERSION), type known (UNKNOWN_TYPE), type allowed on
 * @planes (WRONG_PLANE; ErrorReply and OkReply pass everywhere), payload
 * decodes (DECODE).  On success *out is the caller's.
 */
int ipc_envelope_decode(const void *buf, size_t len, size_t limit, unsigned planes,
                        struct ipc_msg **out, struct ipc_err *err) IPC_WUR;

/* ---- channels --------------------------------------------------------- */

enum ipc_role {
	IPC_ROLE_REQ,
	IPC_ROLE_REP,
	IPC_ROLE_PAIR,
	IPC_ROLE_PUB,
	IPC_ROLE_SUB, /* subscribes to everything */
};

#define IPC_TIMEOUT_DEFAULT_MS 5000

struct ipc_chan_opts {
	unsigned planes;     /* enum proto_plane bits this channel accepts; required */
	size_t max_msg;      /* 0: IPC_MAX_MSG_DEFAULT; at most INT_MAX */
	int send_timeout_ms; /* 0: IPC_TIMEOUT_DEFAULT_MS; no infinite wait */
	int recv_timeout_ms; /* 0: IPC_TIMEOUT_DEFAULT_MS */
};

struct ipc_chan;

/*
 * Open a socket of @role and bind it to, or connect it to, rundir/name.
 * Connecting succeeds before the peer exists; the library reconnects.
 */
int ipc_chan_bind(struct ipc_chan **out, enum ipc_role role, const char *rundir, const char *name,
                  const struct ipc_chan_opts *opts, struct ipc_err *err) IPC_WUR;
int ipc_chan_connect(struct ipc_chan **out, enum ipc_role role, const char *rundir,
                     const char *name, const struct ipc_chan_opts *opts,
                     struct ipc_err *err) IPC_WUR;
/*
 * Close the socket and free the channel.  NULL is a no-op.  A SUB, and a
 * REQ whose last request got no answer, are left open for the kernel to
 * close at exit: NNG 1.5 can block forever closing them (chan.c).
 */
void ipc_chan_destroy(struct ipc_chan *chan);

/*
 * At process exit, after the last ipc_chan_destroy(): wait until the
 * messaging library has freed every closed socket's connections and the
 * messages still queued on them, and stop its threads.  No channel may be
 * used, or made, after it.
 */
void ipc_shutdown(void);

/* "rundir/name", for log lines. */
const char *ipc_chan_name(const struct ipc_chan *chan);

/*
 * An fd that polls readable (POLLIN) while a message waits on @chan, for a
 * process that poll()s several channels; then ipc_recv(chan, 0, ...).  The fd
 * belongs to the channel: never close it.  Not for PUB.
 */
int ipc_chan_poll_fd(struct ipc_chan *chan, int *fd, struct ipc_err *err) IPC_WUR;

/* Send one message (REP: the reply to the last request received). */
int ipc_send(struct ipc_chan *chan, const struct ipc_hdr *hdr, const ProtobufCMessage *body,
             struct ipc_err *err) IPC_WUR;

/*
 * Receive one message within @timeout_ms (0: only what is already there;
 * negative: the channel's receive timeout).  A malformed frame is one of
 * the envelope errors above; the channel stays usable.
 */
int ipc_recv(struct ipc_chan *chan, int timeout_ms, struct ipc_msg **out,
             struct ipc_err *err) IPC_WUR;

/*
 * REQ only: send @req under a fresh correlation id and wait up to
 * @deadline_ms in all for the reply carrying that id.  A peer's ErrorReply
 * becomes IPC_ERR_PEER with its code, field and text; no peer, or no
 * answer in time, is IPC_ERR_TIMEOUT.  A peer whose connection drops while
 * it holds the request is IPC_ERR_CLOSED at once (NNG; the request may or
 * may not have been carried out): it is never resent.
 */
int ipc_call(struct ipc_chan *chan, const struct ipc_hdr *hdr, const ProtobufCMessage *req,
             int deadline_ms, struct ipc_msg **reply, struct ipc_err *err) IPC_WUR;

/*
 * A handler for the messages of a watched channel (ipc_call_watch): > 0
 * when @msg shows the called peer making progress, 0 otherwise.  @msg is
 * freed after it returns.
 */
typedef int (*ipc_watch_fn)(void *opaque, const struct ipc_msg *msg);

/*
 * ipc_call() for a request that may run long but reports progress on
 * another channel (@watch, a SUB): while it waits for the reply, each
 * message on @watch goes to @on_watch, and a progress report starts the
 * @deadline_ms wait again.  The call times out only after @deadline_ms
 * with neither a reply nor progress.  @watch NULL is ipc_call().
 */
int ipc_call_watch(struct ipc_chan *chan, const struct ipc_hdr *hdr, const ProtobufCMessage *req,
                   int deadline_ms, struct ipc_chan *watch, ipc_watch_fn on_watch, void *opaque,
                   struct ipc_msg **reply, struct ipc_err *err) IPC_WUR;

/*
 * REP serving: receive one request.  A malformed one is answered with
 * ErrorReply{PROTOCOL, text naming the check} and logged in one
 * (rate-limited) line, and its error is returned: the caller goes on
 * serving when ipc_errcode_is_malformed() or TIMEOUT.
 */
int ipc_serve_recv(struct ipc_chan *chan, int timeout_ms, struct ipc_msg **req,
                   struct ipc_err *err) IPC_WUR;

/* Answer @req with @body, carrying @req's correlation id, device, epoch, seq. */
int ipc_reply(struct ipc_chan *chan, const struct ipc_msg *req, const ProtobufCMessage *body,
              struct ipc_err *err) IPC_WUR;

/* Answer @req (NULL: not decodable) with ErrorReply{code, field, text}. */
int ipc_reply_error(struct ipc_chan *chan, const struct ipc_msg *req, Splitvm__ErrorCode code,
                    const char *field, struct ipc_err *err, const char *fmt, ...)
        __attribute__((format(printf, 6, 7))) IPC_WUR;

#include "fdchan.h"

#endif
