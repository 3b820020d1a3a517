// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vmem_replay: feed a recorded Linux virtio-mem request stream to splitvm's
 * virtio-mem model and demand QEMU's answers.
 *
 * usage: vmem_replay LOG|DIR...   (a DIR means every *.log in it)
 *
 * The log is QEMU's own trace output, as tests/linux/record-virtio-mem.sh
 * makes it (-trace 'virtio_mem_*' -trace handle_qmp_command -trace
 * monitor_qmp_respond -D LOG, with or without -msg timestamp=on):
 *   - the first query-memory-devices reply gives the geometry (memaddr,
 *     max-size, block-size, requested-size) and creates the model over a
 *     sparse memfd of max-size and a fresh state memfd;
 *   - each qom-set of requested-size is a DevicePropSet;
 *   - each virtio_mem_{plug,unplug,unplug_all,state}_request is sent to the
 *     model as the bytes Linux wrote, and the next virtio_mem_send_response
 *     (and state_response) must carry the same answer;
 *   - each virtio_mem_resized_usable_region must match the model's usable
 *     region size, and each later query reply its plugged size.
 * Exit 0 when everything matched, 1 at the first difference (printed).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devproc.h"
#include "replay_common.h"

struct replay {
	const char *file;
	unsigned line;
	const struct devproc_model_ops *ops;
	struct devproc_model *m;
	int backend, state;
	uint64_t seq;
	int want_resp; /* -1: no request outstanding */
	int got_resp, got_state;
	unsigned requests, queries;
	uint64_t qemu_plugged;
};

/* A difference, reported with the recording's file and line. */
#define fail(r, ...) replay_fail("vmem_replay", (r)->file, (r)->line, __VA_ARGS__)

static uint64_t model_u64(struct replay *r, const char *prop)
{
	char buf[32] = "0";

	if (r->ops->prop_get(r->m, prop, buf, sizeof(buf)) < 0)
		return UINT64_MAX;
	return strtoull(buf, NULL, 10);
}

static int create_model(struct replay *r, const char *line)
{
	uint64_t addr, max, block, requested;
	char config[160], err[256] = "";
	struct devproc_res res = { .backend_fd = -1, .state_fd = -1 };

	if (!replay_num_after(line, "\"memaddr\": ", &addr) ||
	    !replay_num_after(line, "\"max-size\": ", &max) ||
	    !replay_num_after(line, "\"block-size\": ", &block) ||
	    !replay_num_after(line, "\"requested-size\": ", &requested))
		return fail(r, "query-memory-devices reply without the geometry");
	r->backend = memfd_create("vmem-replay", MFD_CLOEXEC);
	r->state = memfd_create("vmem-replay-state", MFD_CLOEXEC);
	if (r->backend < 0 || r->state < 0 || ftruncate(r->backend, (off_t)max) < 0)
		return fail(r, "memfd: %s", strerror(errno));
	snprintf(config, sizeof(config),
	         "virtio-mem,id=vm0,block-size=%" PRIu64 ",requested-size=%" PRIu64, block,
	         requested);
	res.backend_fd = dup(r->backend);
	res.state_fd = dup(r->state);
	if (r->ops->create(&r->m, config, err, sizeof(err)) < 0 ||
	    r->ops->attach(r->m, &res, err, sizeof(err)) < 0 || r->ops->placed(r->m, addr) < 0) {
		close(res.backend_fd);
		close(res.state_fd);
		return fail(r, "model: %s", err);
	}
	printf("vmem_replay: %s: region 0x%" PRIx64 "+0x%" PRIx64 ", block 0x%" PRIx64 "\n",
	       r->file, addr, max, block);
	return 0;
}

static int send_req(struct replay *r, uint16_t type, uint64_t addr, uint64_t nb)
{
	uint8_t in[24] = { 0 }, out[16];
	size_t outlen;

	if (r->want_resp >= 0)
		return fail(r, "a request before QEMU answered the previous one");
	in[0] = (uint8_t)type;
	for (int i = 0; i < 8; i++)
		in[8 + i] = (uint8_t)(addr >> (8 * i));
	in[16] = (uint8_t)nb;
	in[17] = (uint8_t)(nb >> 8);
	if (r->ops->request(r->m, 0, ++r->seq, in, sizeof(in), 10, out, sizeof(out), &outlen) < 0)
		return fail(r, "the model failed (journal)");
	r->want_resp = 1;
	r->got_resp = out[0] | out[1] << 8;
	r->got_state = out[8] | out[9] << 8;
	r->requests++;
	return 0;
}

static int replay_line(struct replay *r, const char *s)
{
	uint64_t a, b;
	char err[256];

	if (strstr(s, "monitor_qmp_respond") && strstr(s, "\"virtio-mem\"")) {
		if (!r->m)
			return create_model(r, s);
		if (!replay_num_after(s, "\"size\": ", &r->qemu_plugged))
			return fail(r, "query reply without size");
		r->queries++;
		if (r->want_resp < 0 && model_u64(r, "size") != r->qemu_plugged)
			return fail(r, "plugged size: QEMU 0x%" PRIx64 ", model 0x%" PRIx64,
			            r->qemu_plugged, model_u64(r, "size"));
		return 0;
	}
	if (!r->m)
		return 0; /* realize and reset before the geometry: nothing plugged */
	if (strstr(s, "handle_qmp_command") && strstr(s, "\"qom-set\"") &&
	    strstr(s, "\"requested-size\"")) {
		char val[32];

		if (!replay_num_after(s, "\"value\": ", &a))
			return fail(r, "qom-set without a value");
		snprintf(val, sizeof(val), "%" PRIu64, a);
		if (r->ops->prop_set(r->m, "requested-size", val, err, sizeof(err)) < 0)
			return fail(r, "requested-size %s refused: %s", val, err);
		return 0;
	}
	if (strstr(s, "virtio_mem_plug_request") || strstr(s, "virtio_mem_unplug_request") ||
	    strstr(s, "virtio_mem_state_request")) {
		uint16_t type = strstr(s, "_plug_request") && !strstr(s, "unplug") ? 0
		                : strstr(s, "unplug_request")                      ? 1
		                                                                   : 3;

		if (!replay_num_after(s, "addr=", &a) || !replay_num_after(s, "nb_blocks=", &b))
			return fail(r, "request without addr or nb_blocks");
		return send_req(r, type, a, b);
	}
	if (strstr(s, "virtio_mem_unplug_all_request"))
		return send_req(r, 2, 0, 0);
	if (strstr(s, "virtio_mem_state_response")) {
		if (!replay_num_after(s, "state=", &a))
			return fail(r, "state response without state");
		if (a != (uint64_t)r->got_state)
			return fail(r, "STATE: QEMU %" PRIu64 ", model %d", a, r->got_state);
		return 0;
	}
	if (strstr(s, "virtio_mem_send_response")) {
		if (!replay_num_after(s, "type=", &a))
			return fail(r, "response without type");
		if (r->want_resp < 0)
			return fail(r, "a response without a request");
		if (a != (uint64_t)r->got_resp)
			return fail(r, "response: QEMU %" PRIu64 ", model %d", a, r->got_resp);
		r->want_resp = -1;
		return 0;
	}
	if (strstr(s, "virtio_mem_resized_usable_region")) {
		if (!replay_num_after(s, "new_size=", &a))
			return fail(r, "resize without new_size");
		if (model_u64(r, "usable-region-size") != a)
			return fail(r, "usable region: QEMU 0x%" PRIx64 ", model 0x%" PRIx64, a,
			            model_u64(r, "usable-region-size"));
	}
	return 0;
}

static int replay_file(const char *path)
{
	struct replay r = { .file = path, .backend = -1, .state = -1, .want_resp = -1 };
	char line[4096];
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (!f) {
		fprintf(stderr, "vmem_replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	r.ops = devproc_model_lookup("virtio-mem");
	while (!ret && fgets(line, sizeof(line), f)) {
		r.line++;
		ret = replay_line(&r, line);
	}
	fclose(f);
	if (!ret && !r.m)
		ret = fail(&r, "no query-memory-devices reply: not a recording of the script");
	if (!ret && r.want_resp >= 0)
		ret = fail(&r, "the last request has no response");
	if (!ret && model_u64(&r, "size") != r.qemu_plugged)
		ret = fail(&r, "final plugged size: QEMU 0x%" PRIx64 ", model 0x%" PRIx64,
		           r.qemu_plugged, model_u64(&r, "size"));
	if (!ret)
		printf("vmem_replay: %s: %u requests, %u size checks, final plugged 0x%" PRIx64
		       ": all equal to QEMU's\n",
		       path, r.requests, r.queries, r.qemu_plugged);
	if (r.m)
		r.ops->destroy(r.m);
	if (r.backend >= 0)
		close(r.backend);
	if (r.state >= 0)
		close(r.state);
	return ret;
}

/* replay_paths()'s callback: one recording. */
static int replay_one(void *ctx, const char *path)
{
	(void)ctx;
	return replay_file(path);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: vmem_replay LOG|DIR...\n");
		return 2;
	}
	return replay_paths("vmem_replay", argv + 1, argc - 1, replay_one, NULL) ? 1 : 0;
}
