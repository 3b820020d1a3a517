// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * splitvm-devproc: one device model instance.  Its life: parse the command
 * line, take the inherited fds, create the model, attach it to its fds,
 * close every other fd, connect the device plane (PAIR dev-<id>) and bind device control (REP
 * devctl-<id>), declare the device to the core, enter the sandbox, serve.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devproc.h"
#include "fd.h"
#include "ipc.h"
#include "log.h"

#define ATTACH_TIMEOUT_MS 10000
#define SLOT_MAP_TIMEOUT_MS 5000
#define STASH_MAX 16

struct devproc {
	const struct devproc_model_ops *ops;
	struct devproc_model *m;
	const char *id;
	uint32_t epoch;
	struct ipc_chan *dev;    /* PAIR to the core */
	struct ipc_chan *ctl;    /* REP for the supervisor */
	struct ipc_msg *stash[STASH_MAX]; /* requests that came while we waited */
	int nstash;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: splitvm-devproc --model=MODEL --id ID --run-dir DIR --epoch N\n"
		   "         --backend-fd N --state-fd N --config STRING\n"
		   "         [--sandbox=enforce|audit|off] [--verbose]\n"
		   "  --model       the device model (virtio-mem)\n"
		   "  --id          the device id; sockets dev-ID and devctl-ID in DIR\n"
		   "  --epoch       this process's incarnation: 1, then +1 per restart\n"
		   "  --backend-fd  inherited fd of the device's memory backend\n"
		   "  --state-fd    inherited fd of the device's state memfd (journal)\n"
		   "  --config      the -device string: virtio-mem,id=vm0,memdev=mem0,\n"
		   "                requested-size=0,block-size=2M[,node=N][,prealloc=on]\n");
}

/* An inherited fd number: 3 .. INT_MAX, decimal, nothing after it. */
static int parse_fd(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 3 || v > INT_MAX)
		log_fatalx("--%s: '%s' is not an fd number of 3 or more", what, s);
	return (int)v;
}

/* ---- the host side of the model: requests to the core ----------------- */

static int wait_reply(struct devproc *d, int timeout_ms)
{
	struct ipc_err err;
	struct ipc_msg *msg;

	for (;;) {
		int ret = ipc_recv(d->dev, timeout_ms, &msg, &err);

		if (ret < 0) {
			log_warnx("waiting for the core: %s", err.text);
			return ret == -IPC_ERR_TIMEOUT ? -ETIMEDOUT : -EIO;
		}
		switch (msg->type->type) {
		case SPLITVM__MSG_TYPE__MSG_OK_REPLY:
			ipc_msg_free(msg);
			return 0;
		case SPLITVM__MSG_TYPE__MSG_ERROR_REPLY: {
			Splitvm__ErrorReply *e = (Splitvm__ErrorReply *)msg->body;

			log_warnx("the core refused: %s", e->text);
			ipc_msg_free(msg);
			return -EPERM;
		}
		default:
			if (d->nstash == STASH_MAX) {
				log_warnx("more than %d messages while waiting: dropped %s", STASH_MAX,
					  msg->type->name);
				ipc_msg_free(msg);
				continue;
			}
			d->stash[d->nstash++] = msg;
		}
	}
}

static int host_slot_map(void *opaque, uint64_t offset, uint64_t size, bool map)
{
	struct devproc *d = opaque;
	Splitvm__DeviceSlotMap sm = SPLITVM__DEVICE_SLOT_MAP__INIT;
	struct ipc_hdr hdr = { .device = d->id, .epoch = d->epoch };
	struct ipc_err err;

	sm.offset = offset;
	sm.size = size;
	sm.map = map;
	if (ipc_send(d->dev, &hdr, &sm.base, &err) < 0) {
		log_warnx("slot map: %s", err.text);
		return -EIO;
	}
	return wait_reply(d, SLOT_MAP_TIMEOUT_MS);
}

static int host_config(void *opaque, const void *config, size_t len, bool notify)
{
	struct devproc *d = opaque;
	Splitvm__DeviceConfigUpdate cu = SPLITVM__DEVICE_CONFIG_UPDATE__INIT;
	struct ipc_hdr hdr = { .device = d->id, .epoch = d->epoch };
	struct ipc_err err;

	cu.config.data = (uint8_t *)(uintptr_t)config;
	cu.config.len = len;
	cu.notify = notify;
	if (ipc_send(d->dev, &hdr, &cu.base, &err) < 0) {
		log_warnx("config update: %s", err.text);
		return -EIO;
	}
	return 0;
}

/* ---- start-up ------------------------------------------------------------ */

static void devproc_attach_core(struct devproc *d)
{
	Splitvm__DeviceAttach at = SPLITVM__DEVICE_ATTACH__INIT;
	Splitvm__VirtQueueDecl q[4], *qp[4];
	struct ipc_hdr hdr = { .device = d->id, .epoch = d->epoch };
	struct devproc_decl decl;
	struct ipc_err err;
	struct ipc_msg *msg;
	uint64_t gpa;

	d->ops->decl(d->m, &decl);
	at.virtio_id = decl.virtio_id;
	at.features = decl.features;
	at.required_features = decl.required_features;
	at.config.data = decl.config;
	at.config.len = decl.config_len;
	at.region_size = decl.region_size;
	for (uint32_t i = 0; i < decl.nqueues && i < 4; i++) {
		splitvm__virt_queue_decl__init(&q[i]);
		q[i].max_size = decl.queue_size[i];
		qp[i] = &q[i];
	}
	at.n_queues = decl.nqueues;
	at.queues = qp;
	if (ipc_send(d->dev, &hdr, &at.base, &err) < 0)
		log_fatalx("DeviceAttach: %s", err.text);
	if (ipc_recv(d->dev, ATTACH_TIMEOUT_MS, &msg, &err) < 0)
		log_fatalx("no DeviceAttached from the core: %s", err.text);
	if (msg->type->type != SPLITVM__MSG_TYPE__MSG_DEVICE_ATTACHED)
		log_fatalx("the core answered the attach with %s", msg->type->name);
	gpa = ((Splitvm__DeviceAttached *)msg->body)->region_gpa;
	ipc_msg_free(msg);
	if (d->ops->placed(d->m, gpa) < 0)
		log_fatalx("cannot restate the device's slots to the core");
	log_info("attached: region at 0x%" PRIx64 ", epoch %u", gpa, d->epoch);
}

/*
 * Close every inherited fd but stdio and the model's (STYLE.md: the model
 * lists what it keeps).  Done before the channels exist, so no socket of
 * the messaging library can be among them.
 */
static void devproc_close_extra_fds(struct devproc *d)
{
	int keep[8], fds[256], n = 0;
	size_t nkeep = d->ops->kept_fds(d->m, keep, 8);
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;

	if (!dir)
		log_fatal("/proc/self/fd");
	while ((e = readdir(dir)) && n < 256) {
		int fd = atoi(e->d_name);
		bool kept = fd < 3 || fd == dirfd(dir) || e->d_name[0] == '.';

		for (size_t i = 0; i < nkeep && !kept; i++)
			kept = fd == keep[i];
		if (!kept)
			fds[n++] = fd;
	}
	closedir(dir);
	for (int i = 0; i < n; i++) {
		log_debug("closing inherited fd %d", fds[i]);
		close(fds[i]);
	}
}

/* The sandbox call site; common/sandbox.h takes it over when it lands. */
static void devproc_enter_sandbox(const char *mode)
{
	if (!strcmp(mode, "off"))
		return;
	log_warnx("--sandbox=%s: the sandbox is not built yet; running without it", mode);
}

/* ---- serving ---------------------------------------------------------------- */

static void serve_device(struct devproc *d, struct ipc_msg *msg)
{
	struct ipc_hdr hdr = { .device = d->id, .epoch = d->epoch, .seq = msg->seq };
	struct ipc_err err;

	switch (msg->type->type) {
	case SPLITVM__MSG_TYPE__MSG_DEVICE_REQUEST: {
		Splitvm__DeviceRequest *rq = (Splitvm__DeviceRequest *)msg->body;
		Splitvm__DeviceResponse rs = SPLITVM__DEVICE_RESPONSE__INIT;
		uint8_t out[64];
		size_t outlen;

		if (d->ops->request(d->m, rq->queue, msg->seq, rq->data.data, rq->data.len,
				    rq->writable_len, out, sizeof(out), &outlen) < 0) {
			/* The journal is broken: our successor answers from the last good state. */
			log_fatalx("seq %" PRIu64 ": the state journal failed", msg->seq);
		}
		rs.data.data = out;
		rs.data.len = outlen;
		if (ipc_send(d->dev, &hdr, &rs.base, &err) < 0)
			log_warnx("response to seq %" PRIu64 ": %s", msg->seq, err.text);
		break;
	}
	case SPLITVM__MSG_TYPE__MSG_DEVICE_RESET:
		if (d->ops->reset(d->m) < 0)
			log_warnx("device reset: could not unplug everything");
		break;
	case SPLITVM__MSG_TYPE__MSG_DEVICE_DRIVER_READY:
		(void)d->ops->driver_ready(
			d->m, ((Splitvm__DeviceDriverReady *)msg->body)->driver_features);
		break;
	default:
		log_warnx("unexpected %s from the core", msg->type->name);
	}
	ipc_msg_free(msg);
}

static void serve_ctl(struct devproc *d, struct ipc_msg *msg)
{
	struct ipc_err err;
	char buf[256];
	int ret = 0;

	switch (msg->type->type) {
	case SPLITVM__MSG_TYPE__MSG_DEVICE_PROP_SET: {
		Splitvm__DevicePropSet *ps = (Splitvm__DevicePropSet *)msg->body;
		Splitvm__OkReply ok = SPLITVM__OK_REPLY__INIT;

		buf[0] = 0;
		ret = d->ops->prop_set(d->m, ps->name, ps->value, buf, sizeof(buf));
		if (ret == 0)
			ret = ipc_reply(d->ctl, msg, &ok.base, &err);
		else
			ret = ipc_reply_error(d->ctl, msg,
					      ret == -ENOENT ? SPLITVM__ERROR_CODE__ERR_NOT_FOUND :
					      ret == -EINVAL ? SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT :
							       SPLITVM__ERROR_CODE__ERR_INTERNAL,
					      ps->name, &err, "%s", buf);
		break;
	}
	case SPLITVM__MSG_TYPE__MSG_DEVICE_PROP_GET: {
		Splitvm__DevicePropGet *pg = (Splitvm__DevicePropGet *)msg->body;
		Splitvm__DevicePropValue pv = SPLITVM__DEVICE_PROP_VALUE__INIT;

		if (d->ops->prop_get(d->m, pg->name, buf, sizeof(buf)) < 0) {
			ret = ipc_reply_error(d->ctl, msg, SPLITVM__ERROR_CODE__ERR_NOT_FOUND,
					      pg->name, &err, "%s: no such property", pg->name);
			break;
		}
		pv.name = pg->name;
		pv.value = buf;
		ret = ipc_reply(d->ctl, msg, &pv.base, &err);
		break;
	}
	case SPLITVM__MSG_TYPE__MSG_DEVICE_STATUS_QUERY: {
		Splitvm__DeviceStatus ds = SPLITVM__DEVICE_STATUS__INIT;
		struct devproc_status st;

		d->ops->status(d->m, &st);
		ds.id = (char *)(uintptr_t)d->id;
		ds.model = (char *)(uintptr_t)d->ops->name;
		ds.size = st.size;
		ds.requested_size = st.requested_size;
		ds.plugged_size = st.plugged_size;
		ds.block_size = st.block_size;
		ds.addr = st.addr;
		ds.node = st.node;
		ret = ipc_reply(d->ctl, msg, &ds.base, &err);
		break;
	}
	default:
		ret = ipc_reply_error(d->ctl, msg, SPLITVM__ERROR_CODE__ERR_PROTOCOL, "type", &err,
				      "%s is not a device-control request", msg->type->name);
	}
	if (ret < 0)
		log_warnx("device control reply: %s", err.text);
	ipc_msg_free(msg);
}

static __attribute__((noreturn)) void devproc_run(struct devproc *d)
{
	struct pollfd pfd[2] = { { .events = POLLIN }, { .events = POLLIN } };
	struct ipc_err err;
	struct ipc_msg *msg;

	if (ipc_chan_poll_fd(d->dev, &pfd[0].fd, &err) < 0 ||
	    ipc_chan_poll_fd(d->ctl, &pfd[1].fd, &err) < 0)
		log_fatalx("poll fds: %s", err.text);
	for (;;) {
		while (d->nstash) {
			msg = d->stash[0];
			memmove(d->stash, d->stash + 1, (size_t)--d->nstash * sizeof(d->stash[0]));
			serve_device(d, msg);
		}
		if (poll(pfd, 2, -1) < 0) {
			if (errno != EINTR)
				log_warn("poll");
			continue;
		}
		if (pfd[0].revents & POLLIN) {
			if (ipc_recv(d->dev, 0, &msg, &err) == 0)
				serve_device(d, msg);
			else if (err.code != IPC_ERR_TIMEOUT)
				log_warnx("device plane: %s", err.text);
		}
		if (pfd[1].revents & POLLIN) {
			if (ipc_serve_recv(d->ctl, 0, &msg, &err) == 0)
				serve_ctl(d, msg);
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "id", required_argument, NULL, 'i' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "epoch", required_argument, NULL, 'e' },
		{ "backend-fd", required_argument, NULL, 'b' },
		{ "state-fd", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "sandbox", required_argument, NULL, 'x' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *model = NULL, *rundir = NULL, *config = NULL, *sandbox = "enforce";
	struct devproc d = { 0 };
	struct devproc_host host = { &d, host_slot_map, host_config };
	struct devproc_res res = { .backend_fd = -1, .state_fd = -1, .host = &host };
	struct ipc_chan_opts copts = { .planes = PROTO_PLANE_DEVICE };
	struct ipc_chan_opts ctlopts = { .planes = PROTO_PLANE_DEVCTL };
	char tag[64], name[80], errbuf[256] = "";
	struct ipc_err err;
	unsigned long epoch = 0;
	int c;

	log_init("devproc");
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 'i': d.id = optarg; break;
		case 'r': rundir = optarg; break;
		case 'e': epoch = strtoul(optarg, NULL, 10); break;
		case 'b': res.backend_fd = parse_fd(optarg, "backend-fd"); break;
		case 's': res.state_fd = parse_fd(optarg, "state-fd"); break;
		case 'c': config = optarg; break;
		case 'x': sandbox = optarg; break;
		case 'v': log_set_verbose(true); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!model || !d.id || !rundir || !config || res.backend_fd < 0 || res.state_fd < 0 ||
	    epoch < 1 || epoch > UINT32_MAX || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(sandbox, "enforce") && strcmp(sandbox, "audit") && strcmp(sandbox, "off"))
		log_fatalx("--sandbox: '%s' is not enforce, audit or off", sandbox);
	d.epoch = (uint32_t)epoch;
	snprintf(tag, sizeof(tag), "devproc/%s/%s", model, d.id);
	log_init(tag);

	d.ops = devproc_model_lookup(model);
	if (!d.ops)
		log_fatalx("--model: '%s' is not a device model", model);
	if (d.ops->create(&d.m, config, errbuf, sizeof(errbuf)) < 0)
		log_fatalx("--config: %s", errbuf);
	if (d.ops->attach(d.m, &res, errbuf, sizeof(errbuf)) < 0)
		log_fatalx("%s", errbuf);

	devproc_close_extra_fds(&d);

	snprintf(name, sizeof(name), "dev-%s", d.id);
	if (ipc_chan_connect(&d.dev, IPC_ROLE_PAIR, rundir, name, &copts, &err) < 0)
		log_fatalx("%s: %s", name, err.text);
	snprintf(name, sizeof(name), "devctl-%s", d.id);
	if (ipc_chan_bind(&d.ctl, IPC_ROLE_REP, rundir, name, &ctlopts, &err) < 0)
		log_fatalx("%s: %s", name, err.text);
	devproc_attach_core(&d);
	devproc_enter_sandbox(sandbox);
	devproc_run(&d);
}
