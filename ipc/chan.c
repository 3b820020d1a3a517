/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Message channels: one nanomsg socket each, typed protobuf messages in the
 * envelope, a bound on every wait.
 *
 * Timeouts are socket options (NN_SNDTIMEO, NN_RCVTIMEO).  The channel
 * remembers what the socket holds and sets an option only when a call needs
 * another value, so the steady state of a request loop costs no extra
 * library calls.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifdef SPLITVM_SP_NNG
#include <nng/nng.h> /* nng_fini() */
#include <nng/compat/nanomsg/nn.h>
#include <nng/compat/nanomsg/pair.h>
#include <nng/compat/nanomsg/pubsub.h>
#include <nng/compat/nanomsg/reqrep.h>
#else
#include <nanomsg/nn.h>
#include <nanomsg/pair.h>
#include <nanomsg/pubsub.h>
#include <nanomsg/reqrep.h>
#endif

#include "log.h"
#include "envelope_internal.h"
#include "internal.h"

#define ENDPOINT_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

/* A dialer's back-off: first retry after MIN, doubling up to MAX (see chan_open). */
#define IPC_REDIAL_MIN_MS     10
#define IPC_REDIAL_MAX_MS     1000
#define IPC_REDIAL_REQ_MIN_MS 2
#define IPC_REDIAL_REQ_MAX_MS 10
#define IPC_REDIAL_SUB_MAX_MS 100
/* How long a REQ's send waits for a peer before it redials (chan_redial). */
#define IPC_PEER_WAIT_MS 100

struct ipc_chan {
	int sock; /* nanomsg socket; -1 when closed */
	enum ipc_role role;
	unsigned planes;
	size_t max_msg;
	int send_timeout_ms; /* defaults from the options */
	int recv_timeout_ms;
	int cur_sndtimeo; /* what the socket holds now */
	int cur_rcvtimeo;
	uint64_t next_id;
	struct log_ratelimit rl;    /* for the refused-request lines */
	struct timespec last_reply; /* REP: when the last answer was queued; 0 none */
	bool unanswered;            /* REQ: the last request sent got no answer */
	int dial_eid;               /* nn_connect()'s endpoint; -1 for a bound channel */
	char name[ENDPOINT_MAX];
};

/*
 * NNG 1.5's nn_close() (and nng_fini()) can block forever on a SUB that a
 * publisher is still feeding, and on a REQ whose last request was given up
 * on (nanomsg/nng#648, #1813): up to 1 in 3 runs of ipc's own test on a
 * loaded host, in the SUB's close.  Such sockets are left open instead:
 * a SUB lives until its process ends anyway (ctl's, the supervisor's),
 * and a process that gave up on a request is usually on its way out; the
 * kernel closes them then.  Counted, so that ipc_shutdown() does not trip
 * over them either.
 */
static atomic_uint abandoned_socks;

/*
 * nn_close() drops what NNG has not written yet, and NNG's compatibility
 * layer has no NN_LINGER: a REP that answers and then closes (the core's
 * MachinePowerdown{force}, then its exit) lost the answer now and then on a
 * loaded host.  Closing a REP within this long of its last answer waits out
 * the rest first; an older answer has long left.
 */
#define IPC_REP_LINGER_MS 50

static const struct {
	int proto;
	const char *name;
} roles[] = {
	[IPC_ROLE_REQ] = { NN_REQ, "REQ" },    [IPC_ROLE_REP] = { NN_REP, "REP" },
	[IPC_ROLE_PAIR] = { NN_PAIR, "PAIR" }, [IPC_ROLE_PUB] = { NN_PUB, "PUB" },
	[IPC_ROLE_SUB] = { NN_SUB, "SUB" },
};

/* Map a failed nanomsg call's errno to an ipc error. */
static int chan_err(struct ipc_err *err, const struct ipc_chan *c, const char *what, int e)
{
	enum ipc_errcode code;

	switch (e) {
	case ETIMEDOUT:
	case EAGAIN:
		code = IPC_ERR_TIMEOUT;
		break;
	case EBADF:
	case ETERM:
	case ECONNRESET:
	case ECONNREFUSED:
	case ECONNABORTED:
	case EPIPE:
		code = IPC_ERR_CLOSED;
		break;
	case EMSGSIZE:
		code = IPC_ERR_TOO_BIG;
		break;
	case EFSM:
		code = IPC_ERR_INVALID;
		break;
	default:
		code = IPC_ERR_SYS;
		break;
	}
	ipc_err_set(err, code, "%s: %s: %s", c->name, what, nn_strerror(e));
	if (err)
		err->sys_errno = e;
	return -(int)code;
}

static int chan_setopt(struct ipc_chan *c, int level, int opt, int val, const char *optname,
                       struct ipc_err *err)
{
	if (nn_setsockopt(c->sock, level, opt, &val, sizeof(val)) < 0) {
		char what[64];

		snprintf(what, sizeof(what), "set %s to %d", optname, val);
		return chan_err(err, c, what, nn_errno());
	}
	return 0;
}

static int set_sndtimeo(struct ipc_chan *c, int ms, struct ipc_err *err)
{
	int ret;

	if (c->cur_sndtimeo == ms)
		return 0;
	ret = chan_setopt(c, NN_SOL_SOCKET, NN_SNDTIMEO, ms, "NN_SNDTIMEO", err);
	if (ret == 0)
		c->cur_sndtimeo = ms;
	return ret;
}

static int set_rcvtimeo(struct ipc_chan *c, int ms, struct ipc_err *err)
{
	int ret;

	if (c->cur_rcvtimeo == ms)
		return 0;
	ret = chan_setopt(c, NN_SOL_SOCKET, NN_RCVTIMEO, ms, "NN_RCVTIMEO", err);
	if (ret == 0)
		c->cur_rcvtimeo = ms;
	return ret;
}

/* A random start, so that ids do not repeat across a peer's restarts. */
static uint64_t first_id(void)
{
	uint64_t id = 0;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
		id = ((uint64_t)getpid() << 32) ^ ipc_now_ms();
	return id ? id : 1;
}

static int chan_open(struct ipc_chan **out, enum ipc_role role, const char *rundir,
                     const char *name, const struct ipc_chan_opts *opts, struct ipc_err *err)
{
	struct ipc_chan *c;
	int ret;

	*out = NULL;
	if ((unsigned)role >= sizeof(roles) / sizeof(roles[0]))
		return ipc_err_set(err, IPC_ERR_INVALID, "channel role %d does not exist", role);
	if (!opts || !opts->planes)
		return ipc_err_set(err, IPC_ERR_INVALID,
		                   "channel %s: opts.planes must name the planes it carries", name);
	if (opts->max_msg > INT_MAX || opts->send_timeout_ms < 0 || opts->recv_timeout_ms < 0)
		return ipc_err_set(err, IPC_ERR_INVALID,
		                   "channel %s: max_msg must be <= INT_MAX and timeouts >= 0 "
		                   "(0: default; there is no infinite wait)",
		                   name);
	c = calloc(1, sizeof(*c));
	if (!c)
		return ipc_err_sys(err, ENOMEM, "channel %s", name);
	c->sock = -1;
	c->dial_eid = -1;
	c->role = role;
	c->planes = opts->planes;
	c->max_msg = opts->max_msg ? opts->max_msg : IPC_MAX_MSG_DEFAULT;
	c->send_timeout_ms = opts->send_timeout_ms ? opts->send_timeout_ms : IPC_TIMEOUT_DEFAULT_MS;
	c->recv_timeout_ms = opts->recv_timeout_ms ? opts->recv_timeout_ms : IPC_TIMEOUT_DEFAULT_MS;
	c->cur_sndtimeo = -2; /* unknown: the first call sets it */
	c->cur_rcvtimeo = -2;
	c->next_id = first_id();
	c->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(1000, 10);
	ret = ipc_endpoint_path(c->name, sizeof(c->name), rundir, name, err);
	if (ret < 0)
		goto fail_free;

	c->sock = nn_socket(AF_SP, roles[role].proto);
	if (c->sock < 0) {
		ret = chan_err(err, c, "nn_socket", nn_errno());
		goto fail_free;
	}
	ret = set_sndtimeo(c, c->send_timeout_ms, err);
	if (ret < 0)
		goto fail_close;
	ret = set_rcvtimeo(c, c->recv_timeout_ms, err);
	if (ret < 0)
		goto fail_close;
	/*
	 * The size limit in the library too: NNG's ipc transport then drops an
	 * oversize frame by its header, before allocating for it.
	 */
	ret = chan_setopt(c, NN_SOL_SOCKET, NN_RCVMAXSIZE, (int)c->max_msg, "NN_RCVMAXSIZE", err);
	if (ret < 0)
		goto fail_close;
	/*
	 * Redial soon after a peer restarts.  A REQ client is made before its
	 * restarted server binds (the supervisor connects as it spawns a
	 * device process), so its first dials fail and the back-off decides
	 * when it gets through: capped at 1 s it added 20-70 ms to a device
	 * process's restart, capped at IPC_REDIAL_REQ_MAX_MS it adds at most
	 * that.  A failed dial on an ipc:// endpoint is a socket() and a
	 * refused connect(): 100 a second against a dead server cost next to
	 * nothing.  A SUB loses what is published before its dial gets
	 * through (a test's core-events subscriber, made as the core is
	 * spawned, missed an _OST on a loaded host with the 1 s cap), so it
	 * is capped at IPC_REDIAL_SUB_MAX_MS: short, yet cheap for one left
	 * open after its publisher went (ipc_chan_destroy).  Other roles keep
	 * the slower back-off: a PAIR refuses a second connection while it
	 * holds one (a dead predecessor's, until it notices), and what is sent
	 * on a refused connection is lost, so more redials in that window
	 * would only lose more.
	 */
	ret = chan_setopt(c, NN_SOL_SOCKET, NN_RECONNECT_IVL,
	                  role == IPC_ROLE_REQ || role == IPC_ROLE_SUB ? IPC_REDIAL_REQ_MIN_MS
	                                                               : IPC_REDIAL_MIN_MS,
	                  "NN_RECONNECT_IVL", err);
	if (ret == 0)
		ret = chan_setopt(c, NN_SOL_SOCKET, NN_RECONNECT_IVL_MAX,
		                  role == IPC_ROLE_REQ   ? IPC_REDIAL_REQ_MAX_MS
		                  : role == IPC_ROLE_SUB ? IPC_REDIAL_SUB_MAX_MS
		                                         : IPC_REDIAL_MAX_MS,
		                  "NN_RECONNECT_IVL_MAX", err);
	if (ret < 0)
		goto fail_close;
	if (role == IPC_ROLE_REQ) {
		/*
		 * No automatic resend: a hotplug request is not idempotent, and
		 * a request that must be retried is retried by its owner with
		 * the same device, epoch and seq.  NNG takes -1
		 * (NNG_DURATION_INFINITE), which disables the resend timer;
		 * libnanomsg has no "off" and gets its largest interval.
		 */
#ifdef SPLITVM_SP_NNG
		ret = chan_setopt(c, NN_REQ, NN_REQ_RESEND_IVL, -1, "NN_REQ_RESEND_IVL", err);
#else
		ret = chan_setopt(c, NN_REQ, NN_REQ_RESEND_IVL, INT_MAX, "NN_REQ_RESEND_IVL", err);
#endif
		if (ret < 0)
			goto fail_close;
	}
	if (role == IPC_ROLE_SUB && nn_setsockopt(c->sock, NN_SUB, NN_SUB_SUBSCRIBE, "", 0) < 0) {
		ret = chan_err(err, c, "subscribe", nn_errno());
		goto fail_close;
	}
	*out = c;
	return 0;

fail_close:
	nn_close(c->sock);
fail_free:
	free(c);
	return ret;
}

static int chan_attach(struct ipc_chan **out, enum ipc_role role, const char *rundir,
                       const char *name, const struct ipc_chan_opts *opts, bool bind,
                       struct ipc_err *err)
{
	char url[ENDPOINT_MAX + sizeof("ipc://")];
	struct ipc_chan *c;
	int ret;

	*out = NULL;
	ret = chan_open(&c, role, rundir, name, opts, err);
	if (ret < 0)
		return ret;
	snprintf(url, sizeof(url), "ipc://%s", c->name);
	ret = bind ? nn_bind(c->sock, url) : nn_connect(c->sock, url);
	if (ret < 0) {
		ret = chan_err(err, c, bind ? "bind" : "connect", nn_errno());
		ipc_chan_destroy(c);
		return ret;
	}
	if (!bind)
		c->dial_eid = ret;
	log_debug("%s: %s %s", c->name, roles[role].name, bind ? "bound" : "connected");
	*out = c;
	return 0;
}

int ipc_chan_bind(struct ipc_chan **out, enum ipc_role role, const char *rundir, const char *name,
                  const struct ipc_chan_opts *opts, struct ipc_err *err)
{
	return chan_attach(out, role, rundir, name, opts, true, err);
}

int ipc_chan_connect(struct ipc_chan **out, enum ipc_role role, const char *rundir,
                     const char *name, const struct ipc_chan_opts *opts, struct ipc_err *err)
{
	return chan_attach(out, role, rundir, name, opts, false, err);
}

void ipc_chan_destroy(struct ipc_chan *c)
{
	if (!c)
		return;
	if (c->sock >= 0 && (c->last_reply.tv_sec || c->last_reply.tv_nsec)) {
		struct timespec now, left = { 0, 0 };
		int64_t ms;

		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (int64_t)(now.tv_sec - c->last_reply.tv_sec) * 1000 +
		     (now.tv_nsec - c->last_reply.tv_nsec) / 1000000;
		if (ms >= 0 && ms < IPC_REP_LINGER_MS) {
			left.tv_nsec = (long)(IPC_REP_LINGER_MS - ms) * 1000000L;
			while (nanosleep(&left, &left) < 0 && errno == EINTR)
				;
		}
	}
	if (c->sock >= 0 && (c->unanswered || c->role == IPC_ROLE_SUB)) {
		log_debug("%s: left open to the exit (%s)", c->name,
		          c->unanswered ? "its last request is unanswered" : "a subscriber");
		atomic_fetch_add(&abandoned_socks, 1);
	} else if (c->sock >= 0) {
		nn_close(c->sock);
	}
	free(c);
}

/*
 * NNG tears a closed socket's connections down asynchronously: its reaper
 * thread frees each pipe, and with it a message still queued on it (a
 * DeviceRequest the core sent to a device process that died), some time
 * after nn_close() returned.  A process that exits before then "leaks"
 * that message in LeakSanitizer's eyes.  nng_fini() closes what is left,
 * drains the reaper and stops the library's threads, so everything is
 * freed before exit; libnanomsg's nn_term() is its counterpart.
 */
void ipc_shutdown(void)
{
	if (atomic_load(&abandoned_socks)) {
		/* It would close the sockets left open above, and block. */
		log_debug("ipc: %u socket(s) left to the exit", atomic_load(&abandoned_socks));
		return;
	}
#ifdef SPLITVM_SP_NNG
	nng_fini();
#else
	nn_term();
#endif
}

const char *ipc_chan_name(const struct ipc_chan *c)
{
	return c->name;
}

int ipc_chan_poll_fd(struct ipc_chan *c, int *fd, struct ipc_err *err)
{
	size_t sz = sizeof(*fd);

	*fd = -1;
	if (c->role == IPC_ROLE_PUB)
		return ipc_err_set(err, IPC_ERR_INVALID, "%s: a PUB socket receives nothing",
		                   c->name);
	if (nn_getsockopt(c->sock, NN_SOL_SOCKET, NN_RCVFD, fd, &sz) < 0)
		return chan_err(err, c, "get NN_RCVFD", nn_errno());
	return 0;
}

/*
 * A REQ's new dialer.  NNG's dialer stops for good when a connection
 * attempt ends in NNG_ECLOSED (nng's dialer_connect_cb: "no further
 * action"), and NNG maps EPIPE and ENOTCONN to it: a listener that drops a
 * connection while the SP headers are exchanged leaves the socket without
 * a peer for good.  Seen here from the test harness, which plays the
 * supervisor: in 1 of 12 runs of bench_virtio_mem_core (16 device process
 * restarts each) its devctl calls said "no peer took" for 20 s while a
 * plain connect() to the successor's socket worked.  So a REQ that has had no peer for
 * IPC_PEER_WAIT_MS of a call's send is given a fresh dialer (send_req()).
 */
static void chan_redial(struct ipc_chan *c)
{
	char url[ENDPOINT_MAX + sizeof("ipc://")];
	int eid;

	if (c->role != IPC_ROLE_REQ || c->dial_eid < 0)
		return;
	if (nn_shutdown(c->sock, c->dial_eid) < 0)
		log_debug("%s: nn_shutdown of the old dialer: %s", c->name,
		          nn_strerror(nn_errno()));
	snprintf(url, sizeof(url), "ipc://%s", c->name);
	eid = nn_connect(c->sock, url);
	if (eid < 0) {
		c->dial_eid = -1;
		log_warnx_ratelimited(&c->rl, "%s: no peer, and a new dialer failed: %s", c->name,
		                      nn_strerror(nn_errno()));
		return;
	}
	c->dial_eid = eid;
	log_debug("%s: no peer for %d ms: dialling afresh", c->name, IPC_PEER_WAIT_MS);
}

static int send_env(struct ipc_chan *c, const struct ipc_hdr *hdr, const ProtobufCMessage *body,
                    struct ipc_err *err)
{
	struct ipc_env_builder b;
	void *buf;
	int ret;

	ret = ipc_env_builder_init(&b, hdr, body, c->max_msg, err);
	if (ret < 0)
		return ret;
	/* Pack straight into the library's message: no copy on nn_send. */
	buf = nn_allocmsg(b.size ? b.size : 1, 0);
	if (!buf) {
		ret = chan_err(err, c, "nn_allocmsg", nn_errno());
		goto out;
	}
	ipc_env_builder_write(&b, buf);
	if (nn_send(c->sock, &buf, NN_MSG, 0) < 0) {
		char what[64];

		snprintf(what, sizeof(what), "send %s", b.type->name);
		ret = chan_err(err, c, what, nn_errno());
		nn_freemsg(buf); /* still ours when the send failed */
		goto out;
	}
	if (c->role == IPC_ROLE_REP)
		clock_gettime(CLOCK_MONOTONIC, &c->last_reply);
	ret = 0;
out:
	ipc_env_builder_fini(&b);
	return ret;
}

/*
 * A REQ's send within @deadline_ms: in slices of IPC_PEER_WAIT_MS, with a
 * fresh dialer after each slice that found no peer.  Nothing is queued
 * when a send times out, so the next slice sends the same request once.
 */
static int send_req(struct ipc_chan *c, const struct ipc_hdr *hdr, const ProtobufCMessage *body,
                    int deadline_ms, struct ipc_err *err)
{
	uint64_t end = ipc_now_ms() + (uint64_t)deadline_ms;

	for (;;) {
		uint64_t now = ipc_now_ms();
		uint64_t left = now < end ? end - now : 1;
		int ret;

		ret = set_sndtimeo(c, left < IPC_PEER_WAIT_MS ? (int)left : IPC_PEER_WAIT_MS, err);
		if (ret < 0)
			return ret;
		ret = send_env(c, hdr, body, err);
		if (ret != -IPC_ERR_TIMEOUT || ipc_now_ms() >= end)
			return ret;
		chan_redial(c);
	}
}

int ipc_send(struct ipc_chan *c, const struct ipc_hdr *hdr, const ProtobufCMessage *body,
             struct ipc_err *err)
{
	int ret;

	if (c->role == IPC_ROLE_SUB)
		return ipc_err_set(err, IPC_ERR_INVALID, "%s: a SUB socket sends nothing", c->name);
	ret = set_sndtimeo(c, c->send_timeout_ms, err);
	if (ret < 0)
		return ret;
	return send_env(c, hdr, body, err);
}

/* Receive and check one frame; *corr_id as ipc_envelope_decode_id(). */
static int recv_env(struct ipc_chan *c, int timeout_ms, struct ipc_msg **out, uint64_t *corr_id,
                    struct ipc_err *err)
{
	void *buf = NULL;
	int flags = 0;
	int n, ret;

	*out = NULL;
	*corr_id = 0;
	if (c->role == IPC_ROLE_PUB)
		return ipc_err_set(err, IPC_ERR_INVALID, "%s: a PUB socket receives nothing",
		                   c->name);
	if (timeout_ms < 0)
		timeout_ms = c->recv_timeout_ms;
	if (timeout_ms == 0) {
		flags = NN_DONTWAIT;
	} else {
		ret = set_rcvtimeo(c, timeout_ms, err);
		if (ret < 0)
			return ret;
	}
	n = nn_recv(c->sock, &buf, NN_MSG, flags);
	if (n < 0)
		return chan_err(err, c, "receive", nn_errno());
	ret = ipc_envelope_decode_id(buf, (size_t)n, c->max_msg, c->planes, out, corr_id, err);
	nn_freemsg(buf);
	return ret;
}

int ipc_recv(struct ipc_chan *c, int timeout_ms, struct ipc_msg **out, struct ipc_err *err)
{
	uint64_t id;

	return recv_env(c, timeout_ms, out, &id, err);
}

/*
 * The reply's wait when a second channel is watched: poll both, hand each
 * message on @watch to @on_watch, and start the wait again when it says
 * the peer made progress.  0 with *msg set, or TIMEOUT when @idle_ms
 * passed with neither.
 */
static int wait_watching(struct ipc_chan *c, int idle_ms, struct ipc_chan *watch,
                         ipc_watch_fn on_watch, void *opaque, struct ipc_msg **msg, uint64_t *id,
                         struct ipc_err *err)
{
	uint64_t deadline = ipc_now_ms() + (uint64_t)idle_ms;
	int cfd, wfd, ret;

	ret = ipc_chan_poll_fd(c, &cfd, err);
	if (ret < 0)
		return ret;
	ret = ipc_chan_poll_fd(watch, &wfd, err);
	if (ret < 0)
		return ret;
	for (;;) {
		struct pollfd p[2] = { { .fd = cfd, .events = POLLIN },
			               { .fd = wfd, .events = POLLIN } };
		uint64_t now = ipc_now_ms();
		struct ipc_msg *w;

		if (now >= deadline)
			return -IPC_ERR_TIMEOUT;
		if (poll(p, 2, (int)(deadline - now)) < 0 && errno != EINTR)
			return ipc_err_set(err, IPC_ERR_SYS, "%s: poll: %s", c->name,
			                   strerror(errno));
		/* The watched messages first: they were sent before the reply. */
		while (p[1].revents & POLLIN) {
			struct ipc_err werr;
			uint64_t wid;

			ret = recv_env(watch, 0, &w, &wid, &werr);
			if (ret == -IPC_ERR_TIMEOUT)
				break;
			if (ret < 0) {
				if (ipc_errcode_is_malformed(werr.code))
					continue;
				if (err)
					*err = werr;
				return ret;
			}
			if (on_watch(opaque, w) > 0)
				deadline = ipc_now_ms() + (uint64_t)idle_ms;
			ipc_msg_free(w);
		}
		if (!(p[0].revents & POLLIN))
			continue;
		ret = recv_env(c, 0, msg, id, err);
		if (ret != -IPC_ERR_TIMEOUT)
			return ret;
	}
}

int ipc_call_watch(struct ipc_chan *c, const struct ipc_hdr *hdr, const ProtobufCMessage *req,
                   int deadline_ms, struct ipc_chan *watch, ipc_watch_fn on_watch, void *opaque,
                   struct ipc_msg **reply, struct ipc_err *err)
{
	struct ipc_hdr h = { 0 };
	struct ipc_msg *msg;
	uint64_t deadline, now, id;
	int ret;

	*reply = NULL;
	if (c->role != IPC_ROLE_REQ)
		return ipc_err_set(err, IPC_ERR_INVALID, "%s: ipc_call needs a REQ socket, not %s",
		                   c->name, roles[c->role].name);
	if (deadline_ms <= 0)
		return ipc_err_set(err, IPC_ERR_INVALID, "%s: deadline must be > 0 ms, not %d",
		                   c->name, deadline_ms);
	if (watch && !on_watch)
		return ipc_err_set(err, IPC_ERR_INVALID, "%s: a watched channel needs a handler",
		                   c->name);
	if (hdr)
		h = *hdr;
	h.correlation_id = c->next_id++;
	if (!c->next_id)
		c->next_id = 1;
	deadline = ipc_now_ms() + (uint64_t)deadline_ms;

	/* With no peer connected, REQ's send waits for one: bound it too. */
	ret = send_req(c, &h, req, deadline_ms, err);
	if (ret == -IPC_ERR_TIMEOUT)
		return ipc_err_set(err, IPC_ERR_TIMEOUT,
		                   "%s: no peer took %s (id %llu) within %d ms", c->name,
		                   req->descriptor->short_name,
		                   (unsigned long long)h.correlation_id, deadline_ms);
	if (ret < 0)
		return ret;
	c->unanswered = true;

	for (;;) {
		now = ipc_now_ms();
		if (watch) {
			ret = wait_watching(c, deadline_ms, watch, on_watch, opaque, &msg, &id,
			                    err);
		} else {
			/*
			 * Whole milliseconds, rounded up: a first wait that
			 * starts within the same millisecond asks for
			 * deadline_ms again, and the socket option need not
			 * change.
			 */
			if (now > deadline)
				break;
			ret = recv_env(c, (int)(deadline - now) ? (int)(deadline - now) : 1, &msg,
			               &id, err);
		}
		if (ret == -IPC_ERR_TIMEOUT)
			break;
		if (ret < 0)
			return ret;
		if (msg->correlation_id != h.correlation_id) {
			/* A late answer to an earlier call that gave up. */
			log_debug("%s: dropped a stale %s (id %llu, waiting for %llu)", c->name,
			          msg->type->name, (unsigned long long)msg->correlation_id,
			          (unsigned long long)h.correlation_id);
			ipc_msg_free(msg);
			continue;
		}
		c->unanswered = false;
		if (msg->type->type == SPLITVM__MSG_TYPE__MSG_ERROR_REPLY) {
			const Splitvm__ErrorReply *er = (const Splitvm__ErrorReply *)msg->body;

			ret = ipc_err_set(err, IPC_ERR_PEER, "%s", er->text ? er->text : "");
			if (err) {
				err->peer_code = er->code;
				snprintf(err->field, sizeof(err->field), "%s",
				         er->field ? er->field : "");
			}
			ipc_msg_free(msg);
			return ret;
		}
		*reply = msg;
		return 0;
	}
	return ipc_err_set(err, IPC_ERR_TIMEOUT, "%s: no reply to %s (id %llu) within %d ms%s",
	                   c->name, req->descriptor->short_name,
	                   (unsigned long long)h.correlation_id, deadline_ms,
	                   watch ? " of silence" : "");
}

int ipc_call(struct ipc_chan *c, const struct ipc_hdr *hdr, const ProtobufCMessage *req,
             int deadline_ms, struct ipc_msg **reply, struct ipc_err *err)
{
	return ipc_call_watch(c, hdr, req, deadline_ms, NULL, NULL, NULL, reply, err);
}

static int reply_error_id(struct ipc_chan *c, const struct ipc_msg *req, uint64_t corr_id,
                          Splitvm__ErrorCode code, const char *field, const char *text,
                          struct ipc_err *err)
{
	Splitvm__ErrorReply er = SPLITVM__ERROR_REPLY__INIT;
	struct ipc_hdr h = { .correlation_id = corr_id };

	if (req) {
		h.correlation_id = req->correlation_id;
		h.device = req->device;
		h.epoch = req->epoch;
		h.seq = req->seq;
	}
	er.code = code;
	er.field = (char *)(field ? field : "");
	er.text = (char *)text;
	return ipc_send(c, &h, &er.base, err);
}

int ipc_reply_error(struct ipc_chan *c, const struct ipc_msg *req, Splitvm__ErrorCode code,
                    const char *field, struct ipc_err *err, const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return reply_error_id(c, req, 0, code, field, text, err);
}

int ipc_reply(struct ipc_chan *c, const struct ipc_msg *req, const ProtobufCMessage *body,
              struct ipc_err *err)
{
	struct ipc_hdr h = {
		.correlation_id = req->correlation_id,
		.device = req->device,
		.epoch = req->epoch,
		.seq = req->seq,
	};

	return ipc_send(c, &h, body, err);
}

int ipc_serve_recv(struct ipc_chan *c, int timeout_ms, struct ipc_msg **req, struct ipc_err *err)
{
	struct ipc_err local, sent;
	char text[sizeof(local.text) + 32];
	uint64_t id;
	int ret;

	if (!err)
		err = &local;
	ret = recv_env(c, timeout_ms, req, &id, err);
	if (ret == 0 || !ipc_errcode_is_malformed(err->code))
		return ret;
	log_warnx_ratelimited(&c->rl, "%s: refused a request: %s: %s", c->name,
	                      ipc_errcode_name(err->code), err->text);
	snprintf(text, sizeof(text), "%s: %s", ipc_errcode_name(err->code), err->text);
	if (reply_error_id(c, NULL, id, SPLITVM__ERROR_CODE__ERR_PROTOCOL, err->field, text,
	                   &sent) < 0)
		log_debug("%s: could not answer a refused request: %s", c->name, sent.text);
	return ret;
}
