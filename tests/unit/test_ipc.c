/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Message channels inside one process: the run directory rules, typed
 * send/receive on PAIR, REQ/REP calls against a server thread, PUB/SUB, the
 * poll fd, and what a server does with a malformed request.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#ifdef SPLITVM_SP_NNG
#include <nng/compat/nanomsg/nn.h>
#include <nng/compat/nanomsg/pair.h>
#else
#include <nanomsg/nn.h>
#include <nanomsg/pair.h>
#endif

#include "fd.h"
#include "ipc.h"
#include "log.h"

struct fx {
	char dir[64];
	int logpipe[2];
	char logbuf[8192];
	/* A test's channels, destroyed by teardown() too: a failed assert skips its own end. */
	struct ipc_chan *a, *b;
};

static const struct ipc_chan_opts device_opts = { .planes = PROTO_PLANE_DEVICE };
static const struct ipc_chan_opts control_opts = { .planes = PROTO_PLANE_CONTROL };

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/splitvm-ipc-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	if (pipe2(f->logpipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	log_init("test/ipc");
	log_set_fd(f->logpipe[1]);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	ipc_chan_destroy(f->b);
	ipc_chan_destroy(f->a);
	log_set_fd(-1);
	close_fd(&f->logpipe[0]);
	close_fd(&f->logpipe[1]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

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

/* ---- run directory ---------------------------------------------------- */

static void test_rundir_created_0700_with_parents(void **state)
{
	struct fx *f = *state;
	char path[128], parent[128];
	struct stat st;

	snprintf(parent, sizeof(parent), "%s/run", f->dir);
	snprintf(path, sizeof(path), "%s/run/vm0/", f->dir);
	assert_int_equal(ipc_rundir_create(path, NULL), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(parent, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* An existing safe directory is fine. */
	assert_int_equal(ipc_rundir_create(path, NULL), 0);
}

static void test_rundir_refuses_unsafe(void **state)
{
	struct fx *f = *state;
	char open_dir[128], file[128], link[128];
	struct ipc_err err;
	int fd;

	snprintf(open_dir, sizeof(open_dir), "%s/open", f->dir);
	assert_int_equal(mkdir(open_dir, 0700), 0);
	assert_int_equal(chmod(open_dir, 0750), 0);
	assert_int_equal(ipc_rundir_create(open_dir, &err), -IPC_ERR_RUNDIR);
	assert_non_null(strstr(err.text, "mode 0750"));

	snprintf(file, sizeof(file), "%s/file", f->dir);
	fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close_fd(&fd);
	assert_int_equal(ipc_rundir_create(file, &err), -IPC_ERR_RUNDIR);
	assert_non_null(strstr(err.text, "not a directory"));

	snprintf(link, sizeof(link), "%s/link", f->dir);
	assert_int_equal(symlink(f->dir, link), 0);
	assert_int_equal(ipc_rundir_create(link, &err), -IPC_ERR_RUNDIR);
	assert_non_null(strstr(err.text, "not a directory"));

	assert_int_equal(ipc_rundir_create("", &err), -IPC_ERR_INVALID);

	if (geteuid() == 0) {
		char theirs[128];

		snprintf(theirs, sizeof(theirs), "%s/theirs", f->dir);
		assert_int_equal(mkdir(theirs, 0700), 0);
		assert_int_equal(chown(theirs, 65534, 65534), 0);
		assert_int_equal(ipc_rundir_create(theirs, &err), -IPC_ERR_RUNDIR);
		assert_non_null(strstr(err.text, "owned by uid 65534"));
	} else {
		print_message("SKIP (part): a directory owned by another uid needs root\n");
	}
}

static void test_endpoint_path_rules(void **state)
{
	char buf[108];
	char longname[120];
	struct ipc_err err;

	(void)state;
	assert_int_equal(ipc_endpoint_path(buf, sizeof(buf), "/run/x", "core.sock", NULL), 0);
	assert_string_equal(buf, "/run/x/core.sock");
	assert_int_equal(ipc_endpoint_path(buf, sizeof(buf), "/run/x", "a/b", &err),
	                 -IPC_ERR_INVALID);
	assert_non_null(strstr(err.text, "'a/b'"));
	assert_int_equal(ipc_endpoint_path(buf, sizeof(buf), "/run/x", "..", NULL),
	                 -IPC_ERR_INVALID);
	assert_int_equal(ipc_endpoint_path(buf, sizeof(buf), "/run/x", "", NULL), -IPC_ERR_INVALID);
	assert_int_equal(ipc_endpoint_path(buf, sizeof(buf), "", "a", NULL), -IPC_ERR_INVALID);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(ipc_endpoint_path(buf, sizeof(buf), "/run/x", longname, &err),
	                 -IPC_ERR_INVALID);
}

/* ---- channels ----------------------------------------------------------- */

static void test_channel_options_are_checked(void **state)
{
	struct fx *f = *state;
	struct ipc_chan_opts none = { 0 };
	struct ipc_chan_opts neg = { .planes = PROTO_PLANE_DEVICE, .recv_timeout_ms = -1 };
	struct ipc_chan *c = (struct ipc_chan *)&c;
	struct ipc_err err;

	assert_int_equal(ipc_chan_bind(&c, IPC_ROLE_PAIR, f->dir, "x", &none, &err),
	                 -IPC_ERR_INVALID);
	assert_null(c);
	assert_non_null(strstr(err.text, "planes"));
	assert_int_equal(ipc_chan_bind(&c, IPC_ROLE_PAIR, f->dir, "x", &neg, &err),
	                 -IPC_ERR_INVALID);
	assert_non_null(strstr(err.text, "no infinite wait"));
	assert_int_equal(ipc_chan_bind(&c, (enum ipc_role)42, f->dir, "x", &device_opts, &err),
	                 -IPC_ERR_INVALID);
	assert_int_equal(ipc_chan_bind(&c, IPC_ROLE_PAIR, f->dir, "a/b", &device_opts, &err),
	                 -IPC_ERR_INVALID);
	ipc_chan_destroy(NULL);
}

/* A bound and a connected PAIR on rundir/@name. */
static void pair_open(struct fx *f, const char *name, const struct ipc_chan_opts *opts,
                      struct ipc_chan **a, struct ipc_chan **b)
{
	assert_int_equal(ipc_chan_bind(a, IPC_ROLE_PAIR, f->dir, name, opts, NULL), 0);
	assert_int_equal(ipc_chan_connect(b, IPC_ROLE_PAIR, f->dir, name, opts, NULL), 0);
}

static void send_device_request(struct ipc_chan *c, uint64_t seq, const char *data)
{
	Splitvm__DeviceRequest req = SPLITVM__DEVICE_REQUEST__INIT;
	struct ipc_hdr hdr = { .correlation_id = seq, .device = "vm0", .epoch = 2, .seq = seq };
	struct ipc_err err;

	req.queue = 0;
	req.data.data = (uint8_t *)data;
	req.data.len = strlen(data);
	if (ipc_send(c, &hdr, &req.base, &err) < 0)
		fail_msg("send: %s", err.text);
}

static void test_pair_typed_send_receive(void **state)
{
	struct fx *f = *state;
	struct ipc_chan *a, *b;
	const Splitvm__DeviceRequest *r;
	struct ipc_msg *msg;
	struct ipc_err err;

	pair_open(f, "dev.sock", &device_opts, &a, &b);
	assert_string_equal(ipc_chan_name(a), strcat(strcpy(f->logbuf, f->dir), "/dev.sock"));
	send_device_request(b, 11, "plug 0-127");
	assert_int_equal(ipc_recv(a, 5000, &msg, &err), 0);
	assert_int_equal(msg->type->type, SPLITVM__MSG_TYPE__MSG_DEVICE_REQUEST);
	assert_int_equal(msg->seq, 11);
	assert_int_equal(msg->epoch, 2);
	assert_string_equal(msg->device, "vm0");
	r = (const Splitvm__DeviceRequest *)msg->body;
	assert_int_equal(r->data.len, 10);
	assert_memory_equal(r->data.data, "plug 0-127", 10);
	ipc_msg_free(msg);
	/* Nothing more: a zero timeout returns at once. */
	assert_int_equal(ipc_recv(a, 0, &msg, &err), -IPC_ERR_TIMEOUT);
	assert_null(msg);
	/* The socket file sits in the run directory. */
	assert_int_equal(access(ipc_chan_name(a), F_OK), 0);
	ipc_chan_destroy(b);
	ipc_chan_destroy(a);
}

static void test_poll_fd_turns_readable(void **state)
{
	struct fx *f = *state;
	struct ipc_chan *a, *b;
	struct ipc_msg *msg;
	struct pollfd pfd = { .events = POLLIN };

	pair_open(f, "poll.sock", &device_opts, &a, &b);
	assert_int_equal(ipc_chan_poll_fd(a, &pfd.fd, NULL), 0);
	assert_true(pfd.fd >= 0);
	assert_int_equal(poll(&pfd, 1, 0), 0);
	send_device_request(b, 1, "x");
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_int_equal(ipc_recv(a, 0, &msg, NULL), 0);
	ipc_msg_free(msg);
	ipc_chan_destroy(b);
	ipc_chan_destroy(a);
}

static void test_wrong_plane_refused_channel_keeps_working(void **state)
{
	struct fx *f = *state;
	Splitvm__CtlRequest ctl = SPLITVM__CTL_REQUEST__INIT;
	struct ipc_chan *a, *b;
	struct ipc_msg *msg;
	struct ipc_err err;
	struct ipc_chan_opts both = { .planes = PROTO_PLANE_DEVICE | PROTO_PLANE_CONTROL };

	assert_int_equal(ipc_chan_bind(&a, IPC_ROLE_PAIR, f->dir, "p.sock", &device_opts, NULL), 0);
	assert_int_equal(ipc_chan_connect(&b, IPC_ROLE_PAIR, f->dir, "p.sock", &both, NULL), 0);
	ctl.verb = (char *)"info";
	assert_int_equal(ipc_send(b, NULL, &ctl.base, NULL), 0);
	assert_int_equal(ipc_recv(a, 5000, &msg, &err), -IPC_ERR_WRONG_PLANE);
	assert_non_null(strstr(err.text, "CTL_REQUEST"));
	send_device_request(b, 2, "y");
	assert_int_equal(ipc_recv(a, 5000, &msg, NULL), 0);
	assert_int_equal(msg->seq, 2);
	ipc_msg_free(msg);
	ipc_chan_destroy(b);
	ipc_chan_destroy(a);
}

/* A raw nanomsg PAIR socket, to send bytes no ipc sender would make. */
static int raw_pair(struct fx *f, const char *name)
{
	char url[128];
	int s = nn_socket(AF_SP, NN_PAIR);
	int tmo = 5000;

	assert_true(s >= 0);
	snprintf(url, sizeof(url), "ipc://%s/%s", f->dir, name);
	assert_true(nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVTIMEO, &tmo, sizeof(tmo)) == 0);
	assert_true(nn_setsockopt(s, NN_SOL_SOCKET, NN_SNDTIMEO, &tmo, sizeof(tmo)) == 0);
	assert_true(nn_connect(s, url) >= 0);
	return s;
}

static void test_server_answers_malformed_and_keeps_serving(void **state)
{
	struct fx *f = *state;
	static const char garbage[] = "\x07not protobuf";
	uint8_t good[64];
	struct ipc_chan *srv;
	struct ipc_msg *msg, *answer;
	struct ipc_err err;
	const Splitvm__ErrorReply *er;
	void *buf;
	int raw, n;
	uint8_t *enc;
	size_t len;
	Splitvm__DeviceReset rst = SPLITVM__DEVICE_RESET__INIT;
	struct ipc_hdr hdr = { .correlation_id = 99 };
	const char *out;

	assert_int_equal(ipc_chan_bind(&srv, IPC_ROLE_PAIR, f->dir, "s.sock", &device_opts, NULL),
	                 0);
	raw = raw_pair(f, "s.sock");
	assert_int_equal(nn_send(raw, garbage, sizeof(garbage) - 1, 0), sizeof(garbage) - 1);
	assert_int_equal(ipc_serve_recv(srv, 5000, &msg, &err), -IPC_ERR_DECODE);
	assert_null(msg);

	/* The sender got ErrorReply{PROTOCOL} naming the check. */
	n = nn_recv(raw, &buf, NN_MSG, 0);
	assert_true(n > 0);
	assert_int_equal(
	        ipc_envelope_decode(buf, (size_t)n, 4096, PROTO_PLANE_DEVICE, &answer, NULL), 0);
	nn_freemsg(buf);
	assert_int_equal(answer->type->type, SPLITVM__MSG_TYPE__MSG_ERROR_REPLY);
	er = (const Splitvm__ErrorReply *)answer->body;
	assert_int_equal(er->code, SPLITVM__ERROR_CODE__ERR_PROTOCOL);
	assert_string_equal(er->field, "envelope");
	assert_non_null(strstr(er->text, "DECODE"));
	ipc_msg_free(answer);

	/* One log line for the refused request. */
	out = logged(f);
	assert_int_equal(count_lines(out), 1);
	assert_non_null(strstr(out, "refused a request: DECODE"));

	/* A well-formed request after it is served, and errors carry its id. */
	assert_int_equal(ipc_envelope_encode(&hdr, &rst.base, sizeof(good), &enc, &len, NULL), 0);
	assert_int_equal(nn_send(raw, enc, len, 0), (int)len);
	free(enc);
	assert_int_equal(ipc_serve_recv(srv, 5000, &msg, NULL), 0);
	assert_int_equal(msg->correlation_id, 99);
	assert_int_equal(ipc_reply_error(srv, msg, SPLITVM__ERROR_CODE__ERR_BUSY, "vm0", NULL,
	                                 "resize of %s under way", "vm0"),
	                 0);
	ipc_msg_free(msg);
	n = nn_recv(raw, &buf, NN_MSG, 0);
	assert_true(n > 0);
	assert_int_equal(
	        ipc_envelope_decode(buf, (size_t)n, 4096, PROTO_PLANE_DEVICE, &answer, NULL), 0);
	nn_freemsg(buf);
	assert_int_equal(answer->correlation_id, 99);
	assert_string_equal(((Splitvm__ErrorReply *)answer->body)->text, "resize of vm0 under way");
	ipc_msg_free(answer);
	nn_close(raw);
	ipc_chan_destroy(srv);
}

/*
 * An oversize frame on the wire: the library drops it by its length before
 * reading it (NNG closes that connection), nothing is delivered, and the
 * peer's messages get through once it has reconnected.
 */
static void test_oversize_frame_never_delivered(void **state)
{
	struct fx *f = *state;
	struct ipc_chan_opts small = { .planes = PROTO_PLANE_DEVICE, .max_msg = 1024 };
	char big[4096];
	struct ipc_msg *msg;
	struct ipc_err err;
	uint64_t seq;
	int raw;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	pair_open(f, "big.sock", &small, &f->a, &f->b);
	/* Our own sender refuses it first. */
	send_device_request(f->b, 1, "ok");
	assert_int_equal(ipc_recv(f->a, 5000, &msg, NULL), 0);
	ipc_msg_free(msg);
	{
		Splitvm__DeviceRequest req = SPLITVM__DEVICE_REQUEST__INIT;

		req.data.data = (uint8_t *)big;
		req.data.len = sizeof(big);
		assert_int_equal(ipc_send(f->b, NULL, &req.base, &err), -IPC_ERR_TOO_BIG);
	}
	ipc_chan_destroy(f->b);
	f->b = NULL;

	raw = raw_pair(f, "big.sock");
	assert_int_equal(nn_send(raw, big, sizeof(big), 0), (int)sizeof(big));
	assert_int_equal(ipc_recv(f->a, 300, &msg, &err), -IPC_ERR_TIMEOUT);
	nn_close(raw);
	assert_int_equal(ipc_chan_connect(&f->b, IPC_ROLE_PAIR, f->dir, "big.sock", &small, NULL),
	                 0);
	/*
	 * A PAIR holds one peer: until the bound side has let go of the raw
	 * socket's connection (it redials after the drop), it turns the new one
	 * away, and what the connector sent on it is lost.  So send until one
	 * arrives; the first to arrive must be one of ours, never the big frame.
	 */
	for (seq = 3;; seq++) {
		int ret;

		send_device_request(f->b, seq, "after");
		ret = ipc_recv(f->a, 200, &msg, &err);
		if (ret == 0)
			break;
		assert_int_equal(ret, -IPC_ERR_TIMEOUT);
		if (seq >= 3 + 50)
			fail_msg("no message through the reconnected PAIR in %d tries",
			         (int)(seq - 2));
	}
	assert_int_equal(msg->type->type, SPLITVM__MSG_TYPE__MSG_DEVICE_REQUEST);
	assert_in_range(msg->seq, 3, seq);
	assert_memory_equal(((const Splitvm__DeviceRequest *)msg->body)->data.data, "after", 5);
	ipc_msg_free(msg);
}

/* ---- REQ/REP against a server thread ----------------------------------- */

struct server {
	struct ipc_chan *rep;
	int served;
};

/* Echo the verb; "fail" gets an ErrorReply; "quit" stops. */
static void *server_main(void *arg)
{
	struct server *s = arg;
	bool quit = false;

	while (!quit) {
		Splitvm__CtlReply rep = SPLITVM__CTL_REPLY__INIT;
		const Splitvm__CtlRequest *cr;
		struct ipc_msg *req;
		int ret = ipc_serve_recv(s->rep, 10000, &req, NULL);

		if (ret < 0) {
			if (ipc_errcode_is_malformed(-ret))
				continue;
			break;
		}
		s->served++;
		cr = (const Splitvm__CtlRequest *)req->body;
		quit = !strcmp(cr->verb, "quit");
		if (!strcmp(cr->verb, "fail")) {
			ret = ipc_reply_error(s->rep, req, SPLITVM__ERROR_CODE__ERR_NOT_FOUND, "id",
			                      NULL, "no device '%s'",
			                      cr->n_args ? cr->args[0] : "");
		} else {
			rep.text = cr->verb;
			ret = ipc_reply(s->rep, req, &rep.base, NULL);
		}
		ipc_msg_free(req);
		if (ret < 0)
			break;
	}
	return NULL;
}

static int call_verb(struct ipc_chan *req, const char *verb, char **args, size_t nargs,
                     struct ipc_msg **reply, struct ipc_err *err)
{
	Splitvm__CtlRequest cr = SPLITVM__CTL_REQUEST__INIT;

	cr.verb = (char *)verb;
	cr.args = args;
	cr.n_args = nargs;
	return ipc_call(req, NULL, &cr.base, 5000, reply, err);
}

static void test_req_rep_call(void **state)
{
	struct fx *f = *state;
	struct server s = { 0 };
	struct ipc_chan *req;
	struct ipc_msg *reply;
	struct ipc_err err;
	char *args[] = { (char *)"dimm7" };
	pthread_t th;
	uint64_t id1;

	assert_int_equal(
	        ipc_chan_bind(&s.rep, IPC_ROLE_REP, f->dir, "ctl.sock", &control_opts, NULL), 0);
	assert_int_equal(
	        ipc_chan_connect(&req, IPC_ROLE_REQ, f->dir, "ctl.sock", &control_opts, NULL), 0);
	assert_int_equal(pthread_create(&th, NULL, server_main, &s), 0);

	assert_int_equal(call_verb(req, "info", NULL, 0, &reply, &err), 0);
	assert_int_equal(reply->type->type, SPLITVM__MSG_TYPE__MSG_CTL_REPLY);
	assert_string_equal(((Splitvm__CtlReply *)reply->body)->text, "info");
	id1 = reply->correlation_id;
	ipc_msg_free(reply);

	assert_int_equal(call_verb(req, "fail", args, 1, &reply, &err), -IPC_ERR_PEER);
	assert_null(reply);
	assert_int_equal(err.peer_code, SPLITVM__ERROR_CODE__ERR_NOT_FOUND);
	assert_string_equal(err.field, "id");
	assert_string_equal(err.text, "no device 'dimm7'");

	assert_int_equal(call_verb(req, "quit", NULL, 0, &reply, &err), 0);
	/* Each call has its own correlation id. */
	assert_int_equal(reply->correlation_id, id1 + 2);
	ipc_msg_free(reply);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(s.served, 3);

	/* Only REQ calls; a deadline must be positive. */
	assert_int_equal(ipc_call(s.rep, NULL, NULL, 100, &reply, &err), -IPC_ERR_INVALID);
	/* The server is gone: nobody answers. */
	{
		Splitvm__CtlRequest cr = SPLITVM__CTL_REQUEST__INIT;

		assert_int_equal(ipc_call(req, NULL, &cr.base, 100, &reply, &err),
		                 -IPC_ERR_TIMEOUT);
	}
	ipc_chan_destroy(s.rep);
	ipc_chan_destroy(req);
}

/* No server at all: the call gives up at its deadline with TIMEOUT. */
static void test_call_without_peer_times_out(void **state)
{
	struct fx *f = *state;
	Splitvm__CtlRequest cr = SPLITVM__CTL_REQUEST__INIT;
	struct ipc_chan *req;
	struct ipc_msg *reply;
	struct ipc_err err;

	assert_int_equal(
	        ipc_chan_connect(&req, IPC_ROLE_REQ, f->dir, "nobody.sock", &control_opts, NULL),
	        0);
	cr.verb = (char *)"info";
	assert_int_equal(ipc_call(req, NULL, &cr.base, 50, &reply, &err), -IPC_ERR_TIMEOUT);
	assert_null(reply);
	assert_non_null(strstr(err.text, "within 50 ms"));
	assert_int_equal(ipc_call(req, NULL, &cr.base, 0, &reply, &err), -IPC_ERR_INVALID);
	ipc_chan_destroy(req);
}

/* ---- a long call that reports progress on a second channel -------------- */

struct slow_server {
	struct ipc_chan *rep, *pub;
	int reports;   /* events published before the reply */
	bool progress; /* PREALLOC_PROGRESS, or DEVICE_DELETED (no progress) */
};

/* Answer one request after @reports events 100 ms apart: 1.5 s in all. */
static void *slow_server_main(void *arg)
{
	struct slow_server *s = arg;
	Splitvm__CtlReply rep = SPLITVM__CTL_REPLY__INIT;
	Splitvm__PreallocProgress pp = SPLITVM__PREALLOC_PROGRESS__INIT;
	Splitvm__Event e = SPLITVM__EVENT__INIT;
	struct ipc_msg *req;

	if (ipc_serve_recv(s->rep, 10000, &req, NULL) < 0)
		return NULL;
	e.device = (char *)"";
	if (s->progress) {
		e.kind_case = SPLITVM__EVENT__KIND_PREALLOC_PROGRESS;
		e.prealloc_progress = &pp;
	}
	for (int i = 0; i < s->reports; i++) {
		usleep(100 * 1000);
		pp.percent = (uint32_t)(i + 1);
		if (ipc_send(s->pub, NULL, &e.base, NULL) < 0)
			break;
	}
	rep.text = (char *)"done";
	(void)!ipc_reply(s->rep, req, &rep.base, NULL);
	ipc_msg_free(req);
	return NULL;
}

struct seen {
	int events, progress;
};

static int count_progress(void *opaque, const struct ipc_msg *m)
{
	struct seen *seen = opaque;
	const Splitvm__Event *e = (const Splitvm__Event *)m->body;
	int p = e->kind_case == SPLITVM__EVENT__KIND_PREALLOC_PROGRESS;

	seen->events++;
	seen->progress += p;
	return p;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Progress keeps the caller waiting past its deadline (a 16 GiB prealloc
 * outlasts sup's and ctl's); events that are not progress do not, and a
 * silent peer still times out.
 */
static void test_call_watch_progress_extends_deadline(void **state)
{
	static const struct ipc_chan_opts ev = { .planes = PROTO_PLANE_EVENT };
	struct fx *f = *state;
	Splitvm__CtlRequest cr = SPLITVM__CTL_REQUEST__INIT;
	Splitvm__Event probe = SPLITVM__EVENT__INIT;
	struct slow_server s = { .reports = 15, .progress = true };
	struct ipc_chan *req, *sub;
	struct ipc_msg *reply = NULL, *m = NULL;
	struct ipc_err err;
	struct seen seen = { 0 };
	pthread_t th;
	uint64_t t0;

	assert_int_equal(
	        ipc_chan_bind(&s.rep, IPC_ROLE_REP, f->dir, "ctl.sock", &control_opts, NULL), 0);
	assert_int_equal(ipc_chan_bind(&s.pub, IPC_ROLE_PUB, f->dir, "ev.sock", &ev, NULL), 0);
	assert_int_equal(
	        ipc_chan_connect(&req, IPC_ROLE_REQ, f->dir, "ctl.sock", &control_opts, NULL), 0);
	assert_int_equal(ipc_chan_connect(&sub, IPC_ROLE_SUB, f->dir, "ev.sock", &ev, NULL), 0);
	/* PUB drops what it sends before the subscriber is connected. */
	probe.device = (char *)"probe";
	for (int i = 0; i < 100 && !m; i++) {
		assert_int_equal(ipc_send(s.pub, NULL, &probe.base, NULL), 0);
		(void)!ipc_recv(sub, 100, &m, &err);
	}
	assert_non_null(m);
	ipc_msg_free(m);
	while (ipc_recv(sub, 0, &m, &err) == 0)
		ipc_msg_free(m);
	cr.verb = (char *)"object_add";

	/* 15 reports 100 ms apart: 1.5 s, past a 1 s deadline of silence. */
	assert_int_equal(pthread_create(&th, NULL, slow_server_main, &s), 0);
	t0 = mono_ms();
	assert_int_equal(
	        ipc_call_watch(req, NULL, &cr.base, 1000, sub, count_progress, &seen, &reply, &err),
	        0);
	assert_true(mono_ms() - t0 >= 1000);
	assert_string_equal(((Splitvm__CtlReply *)reply->body)->text, "done");
	/* The reply may overtake the last reports: they travel on another socket. */
	assert_in_range(seen.progress, 10, 15);
	ipc_msg_free(reply);
	assert_int_equal(pthread_join(th, NULL), 0);
	/* Those stragglers must not count in the next call: take them now. */
	while (ipc_recv(sub, 300, &m, &err) == 0)
		ipc_msg_free(m);

	/* The same length of events that are not progress: the deadline holds. */
	s.progress = false;
	seen = (struct seen){ 0 };
	assert_int_equal(pthread_create(&th, NULL, slow_server_main, &s), 0);
	assert_int_equal(
	        ipc_call_watch(req, NULL, &cr.base, 1000, sub, count_progress, &seen, &reply, &err),
	        -IPC_ERR_TIMEOUT);
	assert_null(reply);
	assert_non_null(strstr(err.text, "within 1000 ms of silence"));
	assert_true(seen.events > 0);
	assert_int_equal(seen.progress, 0);
	assert_int_equal(pthread_join(th, NULL), 0);

	/* A handler is required with a watched channel. */
	assert_int_equal(ipc_call_watch(req, NULL, &cr.base, 1000, sub, NULL, NULL, &reply, &err),
	                 -IPC_ERR_INVALID);
	/*
	 * req gave up on its last request: destroying it leaves the socket
	 * to the exit rather than risk NNG's close (this used to hang here).
	 */
	ipc_chan_destroy(sub);
	ipc_chan_destroy(req);
	ipc_chan_destroy(s.pub);
	ipc_chan_destroy(s.rep);
}

static void test_pub_sub(void **state)
{
	struct fx *f = *state;
	static const struct ipc_chan_opts ev = { .planes = PROTO_PLANE_EVENT };
	Splitvm__Event e = SPLITVM__EVENT__INIT;
	struct ipc_chan *pub, *sub;
	struct ipc_msg *msg = NULL;
	struct ipc_err err;
	int fd;

	assert_int_equal(ipc_chan_bind(&pub, IPC_ROLE_PUB, f->dir, "ev.sock", &ev, NULL), 0);
	assert_int_equal(ipc_chan_connect(&sub, IPC_ROLE_SUB, f->dir, "ev.sock", &ev, NULL), 0);
	e.device = (char *)"vm0";
	/* PUB drops what it sends before the subscriber is connected: repeat. */
	for (int i = 0; i < 100 && !msg; i++) {
		e.timestamp_ns = (uint64_t)i;
		assert_int_equal(ipc_send(pub, NULL, &e.base, NULL), 0);
		if (ipc_recv(sub, 100, &msg, &err) < 0)
			assert_int_equal(err.code, IPC_ERR_TIMEOUT);
	}
	assert_non_null(msg);
	assert_int_equal(msg->type->type, SPLITVM__MSG_TYPE__MSG_EVENT);
	assert_string_equal(((Splitvm__Event *)msg->body)->device, "vm0");
	ipc_msg_free(msg);
	assert_int_equal(ipc_send(sub, NULL, &e.base, NULL), -IPC_ERR_INVALID);
	assert_int_equal(ipc_recv(pub, 0, &msg, NULL), -IPC_ERR_INVALID);
	assert_int_equal(ipc_chan_poll_fd(pub, &fd, NULL), -IPC_ERR_INVALID);
	ipc_chan_destroy(sub);
	ipc_chan_destroy(pub);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_rundir_created_0700_with_parents),
		T(test_rundir_refuses_unsafe),
		T(test_endpoint_path_rules),
		T(test_channel_options_are_checked),
		T(test_pair_typed_send_receive),
		T(test_poll_fd_turns_readable),
		T(test_wrong_plane_refused_channel_keeps_working),
		T(test_server_answers_malformed_and_keeps_serving),
		T(test_oversize_frame_never_delivered),
		T(test_req_rep_call),
		T(test_call_without_peer_times_out),
		T(test_pub_sub),
		T(test_call_watch_progress_extends_deadline),
	};
#undef T

	return cmocka_run_group_tests_name("ipc", tests, NULL, NULL);
}
