/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The memory plane: splitvm's requests in, the backend layer's answers out.
 *
 * Requests arrive on a REP socket; fds leave on the fd channel, each under a
 * fresh tag that the reply names, and always before the reply, so that the
 * supervisor finds the fd waiting when it reads the tag.  Prealloc progress
 * goes out as events on a PUB socket beside the REP one, which the
 * supervisor subscribes to and passes on.
 *
 * No peer can take memsrv down: a malformed request is answered and logged
 * by ipc/, a requester that vanished costs one log line, a dead fd-channel
 * peer is dropped (a new one may connect), and SIGPIPE is ignored.
 */
#include "memsrv.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fd.h"
#include "ipc.h"
#include "log.h"
#include "size.h"

#define SERVER_POLL_MS 500

struct memsrv_server {
	struct memsrv_registry *reg;
	struct ipc_chan *rep;
	struct ipc_chan *events;
	struct ipc_fdchan_listener *listener; /* listen mode only */
	struct ipc_fdchan *fdch;              /* NULL until a peer connects */
	uid_t peer_uid;
	uint64_t next_tag;
};

/* --- dispatch ----------------------------------------------------------- */

static void reply_init(struct memsrv_reply *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->fd = -1;
	splitvm__backend_info__init(&rep->info);
	splitvm__ok_reply__init(&rep->ok);
	splitvm__backend_list_reply__init(&rep->list);
}

static void reply_ok(struct memsrv_reply *rep)
{
	rep->ok.text = rep->text;
	rep->body = &rep->ok.base;
}

static void reply_failed(struct memsrv_reply *rep)
{
	rep->failed = true;
	rep->body = NULL;
	rep->fd = -1;
}

void memsrv_reply_clear(struct memsrv_reply *rep)
{
	memsrv_backend_info_clear(&rep->info);
	for (size_t i = 0; rep->items && i < rep->list.n_backends; i++)
		memsrv_backend_info_clear(&rep->items[i]);
	free(rep->items);
	free(rep->ptrs);
	rep->items = NULL;
	rep->ptrs = NULL;
	rep->list.n_backends = 0;
	rep->list.backends = NULL;
}

static bool empty(const char *s)
{
	return !s || !s[0];
}

static bool held_by(const struct memsrv_backend *b, const char *user)
{
	for (size_t i = 0; b && user && i < memsrv_backend_user_count(b); i++)
		if (strcmp(memsrv_backend_user(b, i), user) == 0)
			return true;
	return false;
}

static void do_create(struct memsrv_registry *reg, const Splitvm__BackendCreate *m,
                      struct memsrv_reply *rep)
{
	struct memsrv_backend *b;

	if (!m->config) {
		memsrv_error_set(&rep->err, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "config",
		                 "BackendCreate carries no config");
		reply_failed(rep);
		return;
	}
	if (memsrv_backend_create(reg, m->config, &b, &rep->err) < 0 ||
	    memsrv_backend_info_fill(b, &rep->info) < 0) {
		reply_failed(rep);
		return;
	}
	rep->body = &rep->info.base;
}

static void do_acquire(struct memsrv_registry *reg, const Splitvm__BackendAcquire *m, uint64_t tag,
                       struct memsrv_reply *rep)
{
	struct memsrv_backend *b = empty(m->id) ? NULL : memsrv_backend_find(reg, m->id);
	bool had = held_by(b, m->user);
	char sz[SIZE_FMT_LEN];
	int fd = -1;

	if (memsrv_backend_acquire(reg, m->id, m->user, &fd, &rep->err) < 0) {
		reply_failed(rep);
		return;
	}
	b = memsrv_backend_find(reg, m->id);
	if (memsrv_backend_info_fill(b, &rep->info) < 0) {
		memsrv_error_set(&rep->err, SPLITVM__ERROR_CODE__ERR_INTERNAL, "", "out of memory");
		if (!had && memsrv_backend_release(reg, m->id, m->user, NULL) < 0)
			log_warnx("cannot undo the acquire of %s by %s", m->id, m->user);
		reply_failed(rep);
		return;
	}
	rep->info.fd_tag = tag;
	rep->fd = fd;
	rep->new_user = !had;
	snprintf(rep->text, sizeof(rep->text), "handed backend %s (%s) to %s", m->id,
	         size_format(memsrv_backend_size(b), sz, sizeof(sz)), m->user);
	rep->body = &rep->info.base;
}

static void do_list(struct memsrv_registry *reg, struct memsrv_reply *rep)
{
	size_t n = memsrv_registry_count(reg);

	if (n) {
		rep->items = calloc(n, sizeof(*rep->items));
		rep->ptrs = calloc(n, sizeof(*rep->ptrs));
		if (!rep->items || !rep->ptrs) {
			memsrv_error_set(&rep->err, SPLITVM__ERROR_CODE__ERR_INTERNAL, "",
			                 "out of memory");
			reply_failed(rep);
			return;
		}
	}
	for (size_t i = 0; i < n; i++) {
		splitvm__backend_info__init(&rep->items[i]);
		rep->ptrs[i] = &rep->items[i];
		rep->list.n_backends = i + 1;
		if (memsrv_backend_info_fill(memsrv_registry_at(reg, i), &rep->items[i]) < 0) {
			memsrv_error_set(&rep->err, SPLITVM__ERROR_CODE__ERR_INTERNAL, "",
			                 "out of memory");
			reply_failed(rep);
			return;
		}
	}
	rep->list.backends = rep->ptrs;
	rep->body = &rep->list.base;
}

static void do_state_create(struct memsrv_registry *reg, const Splitvm__StateCreate *m,
                            uint64_t tag, struct memsrv_reply *rep)
{
	bool created = false;
	int fd = -1;

	if (memsrv_state_get(reg, m->device, m->size, &fd, &created, &rep->err) < 0) {
		reply_failed(rep);
		return;
	}
	rep->info.id = m->device;
	rep->info.size = m->size;
	rep->info.resident = m->size;
	rep->info.sealed = true;
	rep->info.fd_tag = tag;
	rep->fd = fd;
	snprintf(rep->text, sizeof(rep->text), "handed %s state memfd of %s (%" PRIu64 " bytes)",
	         created ? "new" : "existing", m->device, m->size);
	rep->body = &rep->info.base;
}

/* 0 or the error already in rep->err: the common tail of the simple ones. */
static void ok_or_failed(struct memsrv_reply *rep, int rc, const char *done, const char *what)
{
	if (rc < 0) {
		reply_failed(rep);
		return;
	}
	snprintf(rep->text, sizeof(rep->text), "%s %s", done, what);
	reply_ok(rep);
}

void memsrv_dispatch(struct memsrv_registry *reg, Splitvm__MsgType type,
                     const ProtobufCMessage *req, uint64_t next_tag, struct memsrv_reply *rep)
{
	reply_init(rep);
	switch (type) {
	case SPLITVM__MSG_TYPE__MSG_BACKEND_CREATE:
		do_create(reg, (const Splitvm__BackendCreate *)req, rep);
		break;
	case SPLITVM__MSG_TYPE__MSG_BACKEND_ACQUIRE:
		do_acquire(reg, (const Splitvm__BackendAcquire *)req, next_tag, rep);
		break;
	case SPLITVM__MSG_TYPE__MSG_BACKEND_RELEASE: {
		const Splitvm__BackendRelease *m = (const void *)req;

		ok_or_failed(rep, memsrv_backend_release(reg, m->id, m->user, &rep->err),
		             "released", m->id);
		break;
	}
	case SPLITVM__MSG_TYPE__MSG_BACKEND_DELETE: {
		const Splitvm__BackendDelete *m = (const void *)req;

		ok_or_failed(rep, memsrv_backend_delete(reg, m->id, &rep->err), "deleted", m->id);
		break;
	}
	case SPLITVM__MSG_TYPE__MSG_BACKEND_DISCARD: {
		const Splitvm__BackendDiscard *m = (const void *)req;

		ok_or_failed(rep,
		             memsrv_backend_discard(reg, m->id, m->offset, m->length, &rep->err),
		             "discarded a range of", m->id);
		break;
	}
	case SPLITVM__MSG_TYPE__MSG_BACKEND_LIST:
		do_list(reg, rep);
		break;
	case SPLITVM__MSG_TYPE__MSG_STATE_CREATE:
		do_state_create(reg, (const Splitvm__StateCreate *)req, next_tag, rep);
		break;
	case SPLITVM__MSG_TYPE__MSG_STATE_DELETE: {
		const Splitvm__StateDelete *m = (const void *)req;

		ok_or_failed(rep, memsrv_state_delete(reg, m->device, &rep->err),
		             "deleted the state memfd of", m->device);
		break;
	}
	case SPLITVM__MSG_TYPE__MSG_MEMSRV_SHUTDOWN:
		snprintf(rep->text, sizeof(rep->text), "memsrv shuts down");
		reply_ok(rep);
		rep->shutdown = true;
		break;
	default:
		memsrv_error_set(&rep->err, SPLITVM__ERROR_CODE__ERR_PROTOCOL, "type",
		                 "%s is not a request of the memory plane",
		                 proto_msg_type_name(type));
		reply_failed(rep);
		break;
	}
}

/* --- the server ---------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void publish_progress(void *opaque, const char *id, unsigned percent)
{
	struct memsrv_server *srv = opaque;
	Splitvm__Event ev = SPLITVM__EVENT__INIT;
	Splitvm__PreallocProgress pp = SPLITVM__PREALLOC_PROGRESS__INIT;
	struct ipc_err err;

	log_info("prealloc %s: %u%%", id, percent);
	if (!srv->events)
		return;
	pp.backend = (char *)id;
	pp.percent = percent;
	ev.timestamp_ns = now_ns();
	ev.kind_case = SPLITVM__EVENT__KIND_PREALLOC_PROGRESS;
	ev.prealloc_progress = &pp;
	if (ipc_send(srv->events, NULL, &ev.base, &err) < 0)
		log_debug("prealloc %s: event not sent: %s", id, err.text);
}

static int ipc_failed(struct memsrv_error *err, const struct ipc_err *ierr, const char *what)
{
	memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INTERNAL, "", "%s: %s", what, ierr->text);
	return ierr->sys_errno ? -ierr->sys_errno : -EIO;
}

int memsrv_server_create(const struct memsrv_server_opts *opts, struct memsrv_server **out,
                         struct memsrv_error *err)
{
	const char *channel = opts->channel ? opts->channel : "memsrv";
	struct ipc_chan_opts rep_opts = { .planes = PROTO_PLANE_MEMORY };
	struct ipc_chan_opts ev_opts = { .planes = PROTO_PLANE_EVENT };
	struct memsrv_registry_opts ropts = {
		.progress = publish_progress,
		.prealloc_method = opts->prealloc_method,
	};
	int fd = opts->fd_channel_fd;
	struct memsrv_server *srv;
	struct ipc_err ierr;
	char name[128];
	int rc;

	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		close_fd(&fd);
		return -ENOMEM;
	}
	srv->peer_uid = opts->peer_uid;
	srv->next_tag = 1;
	ropts.progress_opaque = srv;

	if (fd >= 0) {
		rc = ipc_fdchan_wrap(&srv->fdch, take_fd(&fd), srv->peer_uid, &ierr);
		if (rc < 0) {
			rc = ipc_failed(err, &ierr, "fd channel");
			goto fail;
		}
	}
	if (ipc_rundir_create(opts->run_dir, &ierr) < 0) {
		rc = ipc_failed(err, &ierr, "run directory");
		goto fail;
	}
	if (!srv->fdch) {
		snprintf(name, sizeof(name), "%s-fd", channel);
		if (ipc_fdchan_listen(&srv->listener, opts->run_dir, name, &ierr) < 0) {
			rc = ipc_failed(err, &ierr, "fd channel");
			goto fail;
		}
	}
	snprintf(name, sizeof(name), "%s-events", channel);
	if (ipc_chan_bind(&srv->events, IPC_ROLE_PUB, opts->run_dir, name, &ev_opts, &ierr) < 0) {
		rc = ipc_failed(err, &ierr, "event channel");
		goto fail;
	}
	if (ipc_chan_bind(&srv->rep, IPC_ROLE_REP, opts->run_dir, channel, &rep_opts, &ierr) < 0) {
		rc = ipc_failed(err, &ierr, "memory plane channel");
		goto fail;
	}
	rc = memsrv_registry_create(&ropts, &srv->reg);
	if (rc < 0) {
		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INTERNAL, "", "out of memory");
		goto fail;
	}
	*out = srv;
	return 0;
fail:
	memsrv_server_destroy(srv);
	return rc;
}

void memsrv_server_destroy(struct memsrv_server *srv)
{
	if (!srv)
		return;
	memsrv_registry_destroy(srv->reg);
	ipc_chan_destroy(srv->rep);
	ipc_chan_destroy(srv->events);
	ipc_fdchan_destroy(srv->fdch);
	ipc_fdchan_listener_destroy(srv->listener);
	free(srv);
}

/* Send the reply's fd, or turn the reply into the error that says why not. */
static void send_fd(struct memsrv_server *srv, const ProtobufCMessage *req,
                    struct memsrv_reply *rep)
{
	struct ipc_err ierr;

	if (!srv->fdch) {
		memsrv_error_set(&rep->err, SPLITVM__ERROR_CODE__ERR_INTERNAL, "",
		                 "no fd channel: nobody has connected to receive the fd");
	} else if (ipc_fdchan_send(srv->fdch, rep->info.fd_tag, &rep->fd, 1, &ierr) == 0) {
		srv->next_tag++;
		return;
	} else {
		memsrv_error_set(&rep->err, SPLITVM__ERROR_CODE__ERR_INTERNAL, "", "%s", ierr.text);
		if (ierr.code == IPC_ERR_CLOSED) {
			log_warnx("fd channel: the peer is gone");
			ipc_fdchan_destroy(srv->fdch);
			srv->fdch = NULL;
		}
	}
	/* The user never got it: it does not hold it. */
	if (rep->new_user) {
		const Splitvm__BackendAcquire *m = (const void *)req;

		if (memsrv_backend_release(srv->reg, m->id, m->user, NULL) < 0)
			log_warnx("cannot undo the acquire of %s by %s", m->id, m->user);
	}
	reply_failed(rep);
}

/* One request; 1 when it was MemsrvShutdown. */
static int serve_one(struct memsrv_server *srv)
{
	struct memsrv_reply rep;
	struct ipc_msg *req = NULL;
	struct ipc_err ierr;
	int rc, ret = 0;

	rc = ipc_serve_recv(srv->rep, 0, &req, &ierr);
	if (rc < 0) {
		/* Malformed ones were answered and logged by ipc/. */
		if (ierr.code != IPC_ERR_TIMEOUT && !ipc_errcode_is_malformed(ierr.code))
			log_warnx("memory plane: %s", ierr.text);
		return 0;
	}
	log_debug("request %s (id %" PRIu64 ")", req->type->name, req->correlation_id);
	memsrv_dispatch(srv->reg, req->type->type, req->body, srv->next_tag, &rep);
	if (!rep.failed && rep.fd >= 0)
		send_fd(srv, req->body, &rep);

	if (rep.failed) {
		log_info("%s refused: %s", req->type->name, rep.err.text);
		rc = ipc_reply_error(srv->rep, req, rep.err.code, rep.err.field, &ierr, "%s",
		                     rep.err.text);
	} else {
		rc = ipc_reply(srv->rep, req, rep.body, &ierr);
		if (rep.fd >= 0)
			log_info("%s (tag %" PRIu64 ")", rep.text, rep.info.fd_tag);
	}
	if (rc < 0)
		log_warnx("memory plane: no reply to %s: %s", req->type->name, ierr.text);
	ret = rep.shutdown;
	memsrv_reply_clear(&rep);
	ipc_msg_free(req);
	return ret;
}

static void accept_peer(struct memsrv_server *srv)
{
	struct ipc_fdchan *ch = NULL;
	struct ipc_err ierr;

	if (ipc_fdchan_accept(&ch, srv->listener, srv->peer_uid, 0, &ierr) < 0) {
		/* ipc/ logged a refused peer; anything else is ours to say. */
		if (ierr.code != IPC_ERR_PEER_UID)
			log_warnx("fd channel: %s", ierr.text);
		return;
	}
	/* A supervisor that restarted: the new connection replaces the old. */
	if (srv->fdch)
		log_info("fd channel: a new peer replaces the old one");
	ipc_fdchan_destroy(srv->fdch);
	srv->fdch = ch;
	log_debug("fd channel: peer connected");
}

/* memsrv receives nothing on the fd channel: refuse and close what comes. */
static void drain_fdchan(struct memsrv_server *srv, short revents)
{
	struct ipc_fdset *set = NULL;
	struct ipc_err ierr;

	if (revents & POLLIN) {
		/* No tag is ever expected: whatever arrives is refused and closed. */
		if (ipc_fdchan_recv(srv->fdch, UINT64_MAX, 0, &set, &ierr) == 0 ||
		    ierr.code == IPC_ERR_TAG) {
			log_warnx("fd channel: the peer sent fds; closing them");
			ipc_fdset_release(set);
		} else if (ierr.code == IPC_ERR_CLOSED) {
			revents |= POLLHUP;
		} else if (ierr.code != IPC_ERR_TIMEOUT) {
			log_warnx("fd channel: %s", ierr.text);
		}
	}
	if (revents & (POLLHUP | POLLERR | POLLNVAL)) {
		log_info("fd channel: the peer is gone");
		ipc_fdchan_destroy(srv->fdch);
		srv->fdch = NULL;
	}
}

int memsrv_server_run(struct memsrv_server *srv, volatile int *stop)
{
	struct ipc_err ierr;
	int rep_fd;

	if (ipc_chan_poll_fd(srv->rep, &rep_fd, &ierr) < 0) {
		log_warnx("memory plane: %s", ierr.text);
		return -EIO;
	}
	while (!stop || !*stop) {
		struct pollfd pfd[3] = { { .fd = rep_fd, .events = POLLIN } };
		nfds_t n = 1;
		int listener_i = -1, fdch_i = -1;

		if (srv->listener) {
			listener_i = (int)n;
			pfd[n++] = (struct pollfd){ .fd = ipc_fdchan_listener_fd(srv->listener),
				                    .events = POLLIN };
		}
		if (srv->fdch) {
			fdch_i = (int)n;
			pfd[n++] =
			        (struct pollfd){ .fd = ipc_fdchan_fd(srv->fdch), .events = POLLIN };
		}
		if (poll(pfd, n, SERVER_POLL_MS) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			return -errno;
		}
		if (fdch_i >= 0 && pfd[fdch_i].revents)
			drain_fdchan(srv, pfd[fdch_i].revents);
		if (listener_i >= 0 && (pfd[listener_i].revents & POLLIN))
			accept_peer(srv);
		if ((pfd[0].revents & POLLIN) && serve_one(srv) == 1)
			return 0;
	}
	log_info("stopping on a signal");
	return 0;
}
