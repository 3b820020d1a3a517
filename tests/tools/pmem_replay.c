// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pmem_replay: Linux's recorded virtio-pmem requests, replayed against a
 * real, sandboxed splitvm-devproc --model=virtio-pmem through the device
 * plane, with this program as the core; every answer must equal QEMU's.
 *
 * usage: pmem_replay SPLITVM-DEVPROC LOG|DIR...   (a DIR: every *.log in it)
 *
 * The log is QEMU's own trace output as tests/linux/record-virtio-pmem.sh
 * makes it (-trace 'virtio_pmem_*' -trace virtqueue_pop -trace
 * virtqueue_fill -trace handle_qmp_command -trace monitor_qmp_respond -D
 * LOG, with or without -msg timestamp=on), read in one pass as written:
 *   - the first query-memory-devices reply with a virtio-pmem entry gives
 *     the geometry (memaddr, size): the device process gets a host file of
 *     that size, the region is placed at memaddr, and its DeviceAttach
 *     (virtio id 27, one queue, region size) and the config it restates
 *     (start, size: what QEMU's get_config serves) must agree;
 *   - each virtqueue_pop that follows virtio_pmem_flush_request (on that
 *     request queue) is one request: Linux's virtio_pmem_flush() chain, a
 *     4-byte struct virtio_pmem_req {le32 type = FLUSH} readable and a
 *     4-byte struct virtio_pmem_resp writable (in_num 1, out_num 1; any
 *     other shape is refused as not Linux's), sent as a DeviceRequest;
 *   - virtio_pmem_flush_done gives QEMU's fsync result (the oldest
 *     unanswered request's: QEMU's pool may reorder overlapping fsyncs,
 *     which only matters for a recording with a failed one), whence its
 *     answer: 0 (OK) for 0, 1 (EIO) otherwise (QEMU's worker_cb);
 *   - each virtqueue_fill of a popped element is QEMU's answer to it: the
 *     device process's DeviceResponse for the same request must carry the
 *     same used length and the same le32 ret.  Requests are sent where
 *     QEMU popped them and their answers awaited where QEMU filled them,
 *     so requests that overlapped in QEMU overlap here too;
 *   - each later query-memory-devices reply: the process's DeviceStatus
 *     (devctl) must have QEMU's memaddr and size;
 *   - at the end: no request left unanswered, and the model's own count
 *     of backend flushes equals QEMU's count of fsyncs.
 * Exit 0 when everything matched, 1 at the first difference (printed with
 * the recording's file and line).  Needs no /dev/kvm: there is no guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "replay_common.h"
#include "replay_devproc.h"

#define PR_ID          "vpmem0"
#define PR_MEMDEV      "pmem0"
#define PR_CONFIG_LEN  16  /* struct virtio_pmem_config: le64 start, le64 size */
#define PR_RESP_LEN    4   /* struct virtio_pmem_resp: le32 ret */
#define PR_MAX_ELEMS   256 /* popped and not yet filled at once; QEMU's queue holds 128 */
#define PR_WAIT_MS     20000
#define PR_VIRTIO_PMEM 27

struct pr_elem {
	uint64_t elem; /* QEMU's VirtQueueElement pointer: the key of pop and fill */
	uint64_t seq;  /* ours */
	int qemu_ret;  /* QEMU's answer once its fsync is done, -1 before */
};

struct pr_answer {
	bool got;
	size_t len;
	uint32_t ret;
};

struct replay {
	const char *file;
	unsigned line;
	struct vm v;
	struct ipc_chan *pair;
	char path[4200]; /* the host file behind the region */
	bool attached;
	uint64_t addr, size;
	uint64_t vq; /* the request queue's pointer in the trace; 0: not seen */
	bool kicked; /* a virtio_pmem_flush_request waits for its pop */
	struct pr_elem elems[PR_MAX_ELEMS];
	unsigned nelems;
	struct pr_answer *answers; /* by seq */
	size_t nanswers;
	uint64_t seq;
	unsigned requests, fsyncs, queries, checks;
};

/* A difference, reported with the recording's file and line. */
#define fail(r, ...) replay_fail("pmem_replay", (r)->file, (r)->line, __VA_ARGS__)

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* ---- the device plane, as a core ----------------------------------------- */

static int config_check(struct replay *r, const ProtobufCBinaryData *c, const char *what)
{
	if (c->len != PR_CONFIG_LEN)
		return fail(r, "%s: config of %zu bytes, want %d", what, c->len, PR_CONFIG_LEN);
	if (le64(c->data) != r->addr || le64(c->data + 8) != r->size)
		return fail(r,
		            "%s: config start 0x%" PRIx64 " size 0x%" PRIx64
		            "; QEMU's memaddr 0x%" PRIx64 " size 0x%" PRIx64,
		            what, le64(c->data), le64(c->data + 8), r->addr, r->size);
	r->checks++;
	return 0;
}

/*
 * One message from the device process within @ms: a response is filed by
 * seq, a config update checked.  0, -ETIMEDOUT, or -1 (failed, printed).
 */
static int pump(struct replay *r, int ms)
{
	struct ipc_msg *msg;
	struct ipc_err err;
	int ret = 0;

	if (ipc_recv(r->pair, ms, &msg, &err) < 0) {
		if (err.code == IPC_ERR_TIMEOUT)
			return -ETIMEDOUT;
		return fail(r, "device plane: %s", err.text);
	}
	switch (msg->type->type) {
	case SPLITVM__MSG_TYPE__MSG_DEVICE_CONFIG_UPDATE: {
		Splitvm__DeviceConfigUpdate *cu = (Splitvm__DeviceConfigUpdate *)msg->body;

		ret = config_check(r, &cu->config, "DeviceConfigUpdate");
		break;
	}
	case SPLITVM__MSG_TYPE__MSG_DEVICE_RESPONSE: {
		Splitvm__DeviceResponse *rs = (Splitvm__DeviceResponse *)msg->body;
		struct pr_answer *a;

		if (msg->seq == 0 || msg->seq > r->seq) {
			ret = fail(r, "a response to seq %" PRIu64 ", never sent", msg->seq);
			break;
		}
		a = &r->answers[msg->seq - 1];
		if (a->got) {
			ret = fail(r, "seq %" PRIu64 " answered twice", msg->seq);
			break;
		}
		a->got = true;
		a->len = rs->data.len;
		a->ret = rs->data.len >= 4
		                 ? (uint32_t)rs->data.data[0] | (uint32_t)rs->data.data[1] << 8 |
		                           (uint32_t)rs->data.data[2] << 16 |
		                           (uint32_t)rs->data.data[3] << 24
		                 : UINT32_MAX;
		break;
	}
	default:
		ret = fail(r, "unexpected %s on the device plane", msg->type->name);
	}
	ipc_msg_free(msg);
	return ret;
}

static int attach(struct replay *r, const char *devproc)
{
	Splitvm__DeviceAttached ad = SPLITVM__DEVICE_ATTACHED__INIT;
	Splitvm__DeviceAttach *at;
	struct ipc_msg *msg;
	struct ipc_err err;
	char why[256];
	int fd;

	/* A real file (TMPDIR, else /var/tmp: disk-backed), so the flushes are real. */
	snprintf(r->path, sizeof(r->path), "%s/splitvm-pmemrep-%d.img",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp", (int)getpid());
	fd = open(r->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)r->size) < 0)
		return fail(r, "%s: %s", r->path, strerror(errno));
	if (replay_dev_start(&r->v, &r->pair, devproc, "splitvm-pmemrep", "virtio-pmem", PR_ID,
	                     "virtio-pmem,id=" PR_ID ",memdev=" PR_MEMDEV, fd, PR_WAIT_MS, &msg,
	                     why, sizeof(why)) < 0)
		return fail(r, "%s", why);
	at = (Splitvm__DeviceAttach *)msg->body;
	if (at->virtio_id != PR_VIRTIO_PMEM || at->n_queues != 1 || !at->queues[0]->max_size ||
	    at->region_size != r->size || !at->config_follows) {
		fail(r,
		     "DeviceAttach: virtio id %u, %zu queues, region 0x%" PRIx64
		     ", config_follows %d; want 27, 1, QEMU's size 0x%" PRIx64 ", 1",
		     at->virtio_id, at->n_queues, at->region_size, at->config_follows, r->size);
		ipc_msg_free(msg);
		return -1;
	}
	r->checks++;
	/* Where QEMU put it: the config's start has to say the same. */
	ad.region_gpa = r->addr;
	if (ipc_reply(r->pair, msg, &ad.base, &err) < 0) {
		ipc_msg_free(msg);
		return fail(r, "DeviceAttached: %s", err.text);
	}
	ipc_msg_free(msg);
	/* The restated config (config_follows) comes next. */
	for (unsigned before = r->checks; r->checks == before;) {
		int ret = pump(r, PR_WAIT_MS);

		if (ret == -ETIMEDOUT)
			return fail(r, "no DeviceConfigUpdate after DeviceAttached");
		if (ret < 0)
			return ret;
	}
	r->attached = true;
	return 0;
}

static void detach(struct replay *r)
{
	if (r->v.dir[0]) {
		ipc_chan_destroy(r->pair);
		r->pair = NULL;
		vm_cleanup(&r->v);
		unlink(r->path);
	}
	free(r->answers);
	r->answers = NULL;
}

static Splitvm__DeviceStatus *status(struct replay *r, struct ipc_msg **msg)
{
	return dev_status(&r->v, msg);
}

/* ---- the recording's events ---------------------------------------------- */

static int geometry(struct replay *r, const char *s, const char *devproc)
{
	const char *p = strstr(s, "\"virtio-pmem\"");
	uint64_t addr, size, got_addr, got_size;
	Splitvm__DeviceStatus *st;
	struct ipc_msg *msg;

	if (!p || !replay_num_after(p, "\"memaddr\": ", &addr) ||
	    !replay_num_after(p, "\"size\": ", &size))
		return fail(r, "a virtio-pmem entry without memaddr and size");
	if (!r->attached) {
		r->addr = addr;
		r->size = size;
		printf("pmem_replay: %s: region 0x%" PRIx64 "+0x%" PRIx64 "\n", r->file, addr,
		       size);
		return attach(r, devproc);
	}
	st = status(r, &msg);
	got_addr = st->addr;
	got_size = st->size;
	ipc_msg_free(msg);
	if (got_addr != addr || got_size != size)
		return fail(r,
		            "query-memory-devices: QEMU memaddr 0x%" PRIx64 " size 0x%" PRIx64
		            ", splitvm 0x%" PRIx64 " 0x%" PRIx64,
		            addr, size, got_addr, got_size);
	r->queries++;
	r->checks++;
	return 0;
}

static int pop(struct replay *r, const char *ev)
{
	Splitvm__DeviceRequest rq = SPLITVM__DEVICE_REQUEST__INIT;
	struct ipc_hdr hdr = { .device = PR_ID, .epoch = r->v.epoch };
	static const uint8_t flush_req[4] = { 0, 0, 0, 0 }; /* le32 VIRTIO_PMEM_REQ_TYPE_FLUSH */
	uint64_t vq, elem, in_num, out_num;
	struct pr_answer *grown;
	struct ipc_err err;

	if (!replay_num_after(ev, "vq ", &vq) || !replay_num_after(ev, "elem ", &elem) ||
	    !replay_num_after(ev, "in_num ", &in_num) ||
	    !replay_num_after(ev, "out_num ", &out_num))
		return fail(r, "virtqueue_pop without vq, elem, in_num, out_num");
	if (r->kicked && !r->vq)
		r->vq = vq; /* the pop in virtio_pmem_flush(): this is the request queue */
	if (vq != r->vq)
		return 0; /* another device's queue */
	if (!r->kicked)
		return fail(r, "a pop from the request queue without virtio_pmem_flush_request");
	r->kicked = false;
	if (!r->attached)
		return fail(r, "a request before the device's geometry (query-memory-devices)");
	if (in_num != 1 || out_num != 1)
		return fail(r,
		            "a chain of %" PRIu64 " readable and %" PRIu64
		            " writable buffers: not Linux's virtio_pmem_flush()",
		            out_num, in_num);
	if (r->nelems == PR_MAX_ELEMS)
		return fail(r, "more than %d requests in flight", PR_MAX_ELEMS);
	grown = realloc(r->answers, (r->seq + 1) * sizeof(*grown));
	if (!grown)
		return fail(r, "out of memory");
	r->answers = grown;
	r->answers[r->seq] = (struct pr_answer){ 0 };
	hdr.seq = ++r->seq;
	rq.queue = 0;
	rq.data.data = (uint8_t *)(uintptr_t)flush_req;
	rq.data.len = sizeof(flush_req);
	rq.writable_len = PR_RESP_LEN;
	if (ipc_send(r->pair, &hdr, &rq.base, &err) < 0)
		return fail(r, "DeviceRequest: %s", err.text);
	r->elems[r->nelems++] = (struct pr_elem){ .elem = elem, .seq = hdr.seq, .qemu_ret = -1 };
	r->requests++;
	return 0;
}

static int flush_done(struct replay *r, const char *ev)
{
	const char *p = strstr(ev, "return=");
	long fsync_ret;

	if (!p)
		return fail(r, "virtio_pmem_flush_done without return=");
	fsync_ret = strtol(p + 7, NULL, 0);
	for (unsigned i = 0; i < r->nelems; i++) {
		if (r->elems[i].qemu_ret < 0) {
			r->elems[i].qemu_ret = fsync_ret ? 1 : 0; /* QEMU's worker_cb() */
			r->fsyncs++;
			return 0;
		}
	}
	return fail(r, "an fsync with no request in flight");
}

static int fill(struct replay *r, const char *ev)
{
	uint64_t vq, elem, len;
	struct pr_answer *a;
	struct pr_elem e;
	unsigned i;

	if (!replay_num_after(ev, "vq ", &vq) || !replay_num_after(ev, "elem ", &elem) ||
	    !replay_num_after(ev, "len ", &len))
		return fail(r, "virtqueue_fill without vq, elem, len");
	if (!r->vq || vq != r->vq)
		return 0;
	for (i = 0; i < r->nelems && r->elems[i].elem != elem; i++)
		;
	if (i == r->nelems)
		return fail(r, "QEMU answered element 0x%" PRIx64 ", which it never popped", elem);
	e = r->elems[i];
	memmove(&r->elems[i], &r->elems[i + 1], (r->nelems - i - 1) * sizeof(e));
	r->nelems--;
	if (e.qemu_ret < 0)
		return fail(r, "QEMU answered request %" PRIu64 " before its fsync", e.seq);
	a = &r->answers[e.seq - 1];
	for (uint64_t until = now_ms() + PR_WAIT_MS; !a->got;) {
		int ret;

		if (now_ms() >= until)
			return fail(r,
			            "request %" PRIu64 ": no answer from splitvm-devproc in %d ms",
			            e.seq, PR_WAIT_MS);
		ret = pump(r, (int)(until - now_ms()));
		if (ret < 0 && ret != -ETIMEDOUT)
			return ret;
	}
	if (a->len != len || (len >= PR_RESP_LEN && a->ret != (uint32_t)e.qemu_ret))
		return fail(r,
		            "request %" PRIu64 ": QEMU answered used length %" PRIu64
		            ", ret %d; splitvm used length %zu, ret %" PRIu32,
		            e.seq, len, e.qemu_ret, a->len, a->ret);
	r->checks++;
	return 0;
}

static int replay_line(struct replay *r, const char *s, const char *devproc)
{
	const char *ev = replay_event_of(s);

	if (replay_is_event(ev, "monitor_qmp_respond")) {
		if (strstr(ev, "\"virtio-pmem\""))
			return geometry(r, ev, devproc);
		return 0;
	}
	if (replay_is_event(ev, "virtio_pmem_flush_request")) {
		if (r->kicked)
			return fail(r, "two flush requests without a pop between them");
		r->kicked = true;
		return 0;
	}
	if (replay_is_event(ev, "virtqueue_pop"))
		return pop(r, ev);
	if (replay_is_event(ev, "virtio_pmem_flush_done"))
		return flush_done(r, ev);
	if (replay_is_event(ev, "virtqueue_fill"))
		return fill(r, ev);
	return 0;
}

static int replay_file(const char *devproc, const char *path)
{
	struct replay *r = calloc(1, sizeof(*r));
	char line[4096];
	FILE *f;
	int ret = 0;

	CHECK(r, "calloc");
	r->file = path;
	f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "pmem_replay: %s: %s\n", path, strerror(errno));
		free(r);
		return -1;
	}
	while (!ret && fgets(line, sizeof(line), f)) {
		r->line++;
		ret = replay_line(r, line, devproc);
	}
	fclose(f);
	if (!ret && !r->attached)
		ret = fail(r, "no virtio-pmem in a query-memory-devices reply: not a recording of "
		              "record-virtio-pmem.sh");
	if (!ret && !r->requests)
		ret = fail(r, "no flush requests in the recording");
	if (!ret && r->nelems)
		ret = fail(r, "%u request%s QEMU never answered", r->nelems,
		           r->nelems == 1 ? "" : "s");
	if (!ret) {
		uint64_t flushes = replay_dev_prop_u64(&r->v, "flushes");

		if (flushes != r->fsyncs)
			ret = fail(r,
			           "QEMU called fsync %u times, the device process flushed %" PRIu64
			           " times",
			           r->fsyncs, flushes);
		r->checks++;
	}
	if (!ret)
		printf("pmem_replay: %s: %u requests, %u fsyncs, %u queries, %u checks: all equal "
		       "to QEMU's\n",
		       path, r->requests, r->fsyncs, r->queries, r->checks);
	if (ret)
		replay_dev_abort("pmem_replay", &r->v, r->path[0] ? r->path : NULL);
	detach(r);
	free(r);
	return ret;
}

/* replay_paths()'s callback: one recording, @ctx the splitvm-devproc binary. */
static int replay_one(void *ctx, const char *path)
{
	return replay_file(ctx, path);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: pmem_replay SPLITVM-DEVPROC LOG|DIR...\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGPIPE, SIG_IGN);
	return replay_paths("pmem_replay", argv + 2, argc - 2, replay_one, argv[1]) ? 1 : 0;
}
