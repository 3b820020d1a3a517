/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reads a QEMU virtio-mem recording as QEMU writes it (vmem_rec.h):
 *   - the first query-memory-devices reply gives the geometry (memaddr,
 *     max-size, block-size, requested-size); later ones QEMU's plugged size;
 *   - each qom-set of requested-size is a VR_SET;
 *   - each virtio_mem_{plug,unplug,unplug_all,state}_request a VR_REQ, whose
 *     answer is the next virtio_mem_send_response (and state_response);
 *   - each virtio_mem_resized_usable_region sets the usable size after the
 *     event before it.
 * Realize and reset, before the geometry, plug nothing and are skipped; a
 * request before it is an error (the replay could not place it).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay_common.h"
#include "vmem_rec.h"

struct parse {
	struct vr_rec *r;
	const char *path;
	unsigned line;
	char *err;
	size_t errlen;
	bool geometry;
	long pending; /* the request waiting for its response, -1: none */
	double t_req;
	size_t cap;
};

static int perr(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(struct parse *p, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->err, p->errlen, "%s:%u: ", p->path, p->line);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < p->errlen)
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static struct vr_ev *add(struct parse *p, enum vr_kind kind)
{
	struct vr_rec *r = p->r;

	if (r->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 256;
		struct vr_ev *ev = realloc(r->ev, cap * sizeof(*ev));

		if (!ev)
			return NULL;
		r->ev = ev;
		p->cap = cap;
	}
	r->ev[r->n] = (struct vr_ev){
		.kind = kind, .line = p->line, .resp = -1, .state = -1, .usable = -1
	};
	return &r->ev[r->n++];
}

static int request(struct parse *p, uint16_t type, uint64_t addr, uint64_t nb, double t)
{
	struct vr_ev *e;

	if (!p->geometry)
		return perr(p, "a request before the first query-memory-devices reply");
	if (p->pending >= 0)
		return perr(p, "a request before QEMU answered the previous one");
	if (nb > UINT16_MAX)
		return perr(p, "nb_blocks %llu does not fit the request", (unsigned long long)nb);
	e = add(p, VR_REQ);
	if (!e)
		return perr(p, "out of memory");
	e->type = type;
	e->addr = addr;
	e->nb = (uint16_t)nb;
	p->pending = (long)(p->r->n - 1);
	p->t_req = t;
	p->r->nreq++;
	return 0;
}

static int line_event(struct parse *p, const char *s, double t)
{
	struct vr_rec *r = p->r;
	struct vr_ev *e;
	uint64_t a, b;

	if (strstr(s, "monitor_qmp_respond") && strstr(s, "\"virtio-mem\"")) {
		if (!p->geometry) {
			if (!replay_num_after(s, "\"memaddr\": ", &r->addr) ||
			    !replay_num_after(s, "\"max-size\": ", &r->size) ||
			    !replay_num_after(s, "\"block-size\": ", &r->block_size) ||
			    !replay_num_after(s, "\"requested-size\": ", &r->requested))
				return perr(p, "query-memory-devices reply without the geometry");
			p->geometry = true;
		}
		if (!replay_num_after(s, "\"size\": ", &a))
			return perr(p, "query reply without size");
		e = add(p, VR_QUERY);
		if (!e)
			return perr(p, "out of memory");
		e->value = a;
		r->final_plugged = a;
		return 0;
	}
	if (!p->geometry)
		goto before_geometry;
	if (strstr(s, "handle_qmp_command") && strstr(s, "\"qom-set\"") &&
	    strstr(s, "\"requested-size\"")) {
		if (!replay_num_after(s, "\"value\": ", &a))
			return perr(p, "qom-set without a value");
		e = add(p, VR_SET);
		if (!e)
			return perr(p, "out of memory");
		e->value = a;
		return 0;
	}
	if (strstr(s, "virtio_mem_unplug_all_request"))
		return request(p, 2, 0, 0, t);
	if (strstr(s, "virtio_mem_plug_request") || strstr(s, "virtio_mem_unplug_request") ||
	    strstr(s, "virtio_mem_state_request")) {
		uint16_t type = strstr(s, "virtio_mem_plug_request") ? 0
		                : strstr(s, "unplug_request")        ? 1
		                                                     : 3;

		if (!replay_num_after(s, "addr=", &a) || !replay_num_after(s, "nb_blocks=", &b))
			return perr(p, "request without addr or nb_blocks");
		return request(p, type, a, b, t);
	}
	if (strstr(s, "virtio_mem_state_response")) {
		if (p->pending < 0 || !replay_num_after(s, "state=", &a))
			return perr(p, "a state response without a STATE request or state=");
		r->ev[p->pending].state = (int)a;
		return 0;
	}
	if (strstr(s, "virtio_mem_send_response")) {
		if (!replay_num_after(s, "type=", &a))
			return perr(p, "response without type");
		if (p->pending < 0)
			return perr(p, "a response without a request");
		r->ev[p->pending].resp = (int)a;
		r->ev[p->pending].qemu_us = t - p->t_req;
		p->pending = -1;
		return 0;
	}
	if (strstr(s, "virtio_mem_resized_usable_region")) {
		if (!replay_num_after(s, "new_size=", &a))
			return perr(p, "resize without new_size");
		if (!r->n)
			return perr(p, "a usable-region resize before any event");
		r->ev[r->n - 1].usable = (int64_t)a;
	}
	return 0;
before_geometry:
	if (strstr(s, "_request addr=") || strstr(s, "virtio_mem_unplug_all_request"))
		return perr(p, "a request before the first query-memory-devices reply");
	return 0;
}

int vr_load(struct vr_rec *r, const char *path, char *err, size_t errlen)
{
	struct parse p = { .r = r, .path = path, .err = err, .errlen = errlen, .pending = -1 };
	char line[4096];
	FILE *f;
	int ret = 0;

	*r = (struct vr_rec){ .ev = NULL };
	f = fopen(path, "re");
	if (!f)
		return perr(&p, "%s", strerror(errno));
	while (!ret && fgets(line, sizeof(line), f)) {
		/* "PID@SEC.USEC:event args" with -msg timestamp=on, "PID:event" without. */
		const char *at = strchr(line, '@'), *colon = strchr(line, ':');
		double t = 0;

		p.line++;
		if (at && colon && at < colon)
			t = strtod(at + 1, NULL) * 1e6;
		ret = line_event(&p, colon ? colon + 1 : line, t);
	}
	fclose(f);
	if (!ret && !p.geometry)
		ret = perr(&p, "no query-memory-devices reply: not a recording of the script");
	if (!ret && p.pending >= 0)
		ret = perr(&p, "the last request has no response");
	if (ret)
		vr_free(r);
	return ret;
}

void vr_free(struct vr_rec *r)
{
	free(r->ev);
	r->ev = NULL;
	r->n = r->nreq = 0;
}
