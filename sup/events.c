/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The event bus: a PUB socket `events` in the run directory (planes EVENT)
 * and a history of the last SUP_HISTORY events, so that `splitvm-ctl
 * events` shows what happened before it asked.  Publishing never fails the
 * caller: a subscriber that is slow or absent loses events, the VM does not
 * wait for it (nanomsg PUB drops).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sup.h"

int sup_events_open(struct sup *s)
{
	struct ipc_chan_opts o = { .planes = PROTO_PLANE_EVENT };
	struct ipc_err err;

	if (ipc_chan_bind(&s->events, IPC_ROLE_PUB, s->run_dir, "events", &o, &err)) {
		log_warnx("events socket: %s", err.text);
		return -EIO;
	}
	return 0;
}

void sup_events_close(struct sup *s)
{
	ipc_chan_destroy(s->memsrv_events);
	s->memsrv_events = NULL;
	ipc_chan_destroy(s->events);
	s->events = NULL;
	for (unsigned i = 0; i < SUP_HISTORY; i++) {
		free(s->history[i].buf);
		s->history[i].buf = NULL;
	}
	s->hist_n = 0;
}

static void keep(struct sup *s, const Splitvm__Event *ev)
{
	size_t len = splitvm__event__get_packed_size(ev);
	unsigned slot;
	uint8_t *buf = malloc(len ? len : 1);

	if (!buf)
		return;
	splitvm__event__pack(ev, buf);
	if (s->hist_n == SUP_HISTORY) {
		slot = s->hist_start;
		s->hist_start = (s->hist_start + 1) % SUP_HISTORY;
		free(s->history[slot].buf);
	} else {
		slot = (s->hist_start + s->hist_n++) % SUP_HISTORY;
	}
	s->history[slot].buf = buf;
	s->history[slot].len = len;
}

void sup_event_publish(struct sup *s, Splitvm__Event *ev)
{
	struct timespec ts;
	struct ipc_err err;

	clock_gettime(CLOCK_REALTIME, &ts);
	ev->timestamp_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	keep(s, ev);
	if (s->events && ipc_send(s->events, NULL, &ev->base, &err))
		log_debug("event not published: %s", err.text);
}

void sup_event_size_change(struct sup *s, const struct sup_dev *d, uint64_t size)
{
	Splitvm__Event ev = SPLITVM__EVENT__INIT;
	Splitvm__MemoryDeviceSizeChange m = SPLITVM__MEMORY_DEVICE_SIZE_CHANGE__INIT;
	char path[96];

	snprintf(path, sizeof(path), "/machine/peripheral/%s", d->cfg->id);
	m.size = size;
	m.qom_path = path;
	ev.device = d->cfg->id;
	ev.kind_case = SPLITVM__EVENT__KIND_MEMORY_DEVICE_SIZE_CHANGE;
	ev.memory_device_size_change = &m;
	sup_event_publish(s, &ev);
}

void sup_event_process_exited(struct sup *s, const char *who, bool device,
                              const Splitvm__ProcessExit *e)
{
	Splitvm__Event ev = SPLITVM__EVENT__INIT;
	Splitvm__ProcessExit copy = *e;

	ev.device = (char *)who;
	if (device) {
		ev.kind_case = SPLITVM__EVENT__KIND_DEVICE_PROCESS_EXITED;
		ev.device_process_exited = &copy;
	} else {
		ev.kind_case = SPLITVM__EVENT__KIND_PROCESS_EXITED;
		ev.process_exited = &copy;
	}
	sup_event_publish(s, &ev);
}

void sup_event_restarted(struct sup *s, const struct sup_dev *d, pid_t old_pid,
                         const Splitvm__ProcessExit *e)
{
	Splitvm__Event ev = SPLITVM__EVENT__INIT;
	Splitvm__ProcessRestarted r = SPLITVM__PROCESS_RESTARTED__INIT;
	Splitvm__ProcessExit copy = *e;

	r.old_pid = old_pid;
	r.new_pid = d->proc.pid;
	r.restarts = d->proc.restarts;
	r.reason = &copy;
	ev.device = d->cfg->id;
	ev.kind_case = SPLITVM__EVENT__KIND_DEVICE_PROCESS_RESTARTED;
	ev.device_process_restarted = &r;
	sup_event_publish(s, &ev);
}

void sup_event_guest_shutdown(struct sup *s, const char *reason)
{
	Splitvm__Event ev = SPLITVM__EVENT__INIT;
	Splitvm__GuestShutdown g = SPLITVM__GUEST_SHUTDOWN__INIT;

	g.reason = (char *)reason;
	ev.device = (char *)"";
	ev.kind_case = SPLITVM__EVENT__KIND_GUEST_SHUTDOWN;
	ev.guest_shutdown = &g;
	sup_event_publish(s, &ev);
}

int sup_events_history(struct sup *s, uint8_t **buf, size_t *len)
{
	size_t total = 0, off = 0;
	uint8_t *b;

	for (unsigned i = 0; i < s->hist_n; i++)
		total += 4 + s->history[(s->hist_start + i) % SUP_HISTORY].len;
	b = malloc(total ? total : 1);
	if (!b)
		return -ENOMEM;
	for (unsigned i = 0; i < s->hist_n; i++) {
		const __typeof__(s->history[0]) *h = &s->history[(s->hist_start + i) % SUP_HISTORY];
		uint32_t n = (uint32_t)h->len;

		/* Little-endian length, then the packed Event. */
		for (int k = 0; k < 4; k++)
			b[off++] = (uint8_t)(n >> (8 * k));
		memcpy(b + off, h->buf, h->len);
		off += h->len;
	}
	*buf = b;
	*len = total;
	return 0;
}

/* ---- memsrv's events: prealloc progress ------------------------------------ */

int sup_memsrv_events_open(struct sup *s)
{
	struct ipc_chan_opts o = { .planes = PROTO_PLANE_EVENT };
	struct ipc_err err;

	if (ipc_chan_connect(&s->memsrv_events, IPC_ROLE_SUB, s->run_dir, "memsrv-events", &o,
	                     &err)) {
		log_warnx("memsrv-events: %s", err.text);
		return -EIO;
	}
	return 0;
}

/* One message of memsrv-events; 1 when it was prealloc progress. */
static int forward_one(void *opaque, const struct ipc_msg *m)
{
	struct sup *s = opaque;
	const Splitvm__Event *in = (const Splitvm__Event *)m->body;
	Splitvm__Event ev = SPLITVM__EVENT__INIT;

	if (m->type->type != SPLITVM__MSG_TYPE__MSG_EVENT ||
	    in->kind_case != SPLITVM__EVENT__KIND_PREALLOC_PROGRESS || !in->prealloc_progress) {
		log_debug("memsrv-events: %s is not forwarded", m->type->name);
		return 0;
	}
	/* A backend is no device: its id is in the data. */
	ev.device = (char *)"";
	ev.kind_case = SPLITVM__EVENT__KIND_PREALLOC_PROGRESS;
	ev.prealloc_progress = in->prealloc_progress;
	sup_event_publish(s, &ev);
	return 1;
}

void sup_memsrv_events_forward(struct sup *s)
{
	while (s->memsrv_events) {
		struct ipc_msg *m = NULL;
		struct ipc_err err;
		int r = ipc_recv(s->memsrv_events, 0, &m, &err);

		if (r == -IPC_ERR_TIMEOUT)
			return;
		if (r) {
			log_warnx("memsrv-events: %s", err.text);
			if (ipc_errcode_is_malformed(err.code))
				continue;
			return;
		}
		forward_one(s, m);
		ipc_msg_free(m);
	}
}

int sup_memsrv_call(struct sup *s, const ProtobufCMessage *req, int deadline_ms,
                    struct ipc_msg **reply, struct ipc_err *err)
{
	int r;

	*reply = NULL;
	if (!s->memsrv_req) {
		memset(err, 0, sizeof(*err));
		err->code = IPC_ERR_CLOSED;
		snprintf(err->text, sizeof(err->text), "splitvm-memsrv is not connected");
		return -IPC_ERR_CLOSED;
	}
	r = ipc_call_watch(s->memsrv_req, NULL, req, deadline_ms, s->memsrv_events,
	                   s->memsrv_events ? forward_one : NULL, s, reply, err);
	/* Progress published just before the reply goes out before the answer. */
	sup_memsrv_events_forward(s);
	return r;
}
