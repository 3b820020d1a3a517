// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Linux's recorded virtio-mem request stream (tests/linux/record-virtio-mem.sh
 * under QEMU 7.2 TCG: tests/bench/bench_virtio_mem.sh records 0 -> 4 GiB -> 0
 * in the same run, else passes tests/data/virtio-mem/) through a real
 * splitvm-devproc, with the bench as the core (the fake core of
 * tests/integration/test_devproc_fakecore.c, which answers slot maps at
 * once: a real core adds its KVM memslot work).  Beside it, QEMU's own
 * per-request time from the same recording's trace timestamps (request
 * line to response line).  Then kill -9 to the successor's first answer,
 * and the device process's VmRSS.
 *
 * usage: bench_virtio_mem SPLITVM-DEVPROC RECORDING.log [REPEATS]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "ipc_check.h"
#include "test_devproc_fakecore.h"

#define MAX_EV   4096
#define RESTARTS 10

struct ev {
	bool set;       /* a requested-size change, else a request */
	uint64_t value; /* set: the new requested-size */
	uint16_t type;  /* FC_PLUG ... */
	uint64_t addr;
	uint16_t nb;
	int qemu_resp;  /* QEMU's answer */
	double qemu_us; /* request line to response line */
};

struct rec {
	struct ev ev[MAX_EV];
	size_t n, nreq;
	uint64_t gpa, block_size, size;
};

/* "PID@SEC.USEC:event args": the timestamp in µs, the event text after it. */
static bool trace_line(const char *line, double *us, const char **event)
{
	const char *at = strchr(line, '@'), *colon;

	if (!at)
		return false;
	colon = strchr(at, ':');
	if (!colon)
		return false;
	*us = strtod(at + 1, NULL) * 1e6;
	*event = colon + 1;
	return true;
}

static uint64_t json_u64(const char *line, const char *key)
{
	const char *p = strstr(line, key);

	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

static void rec_load(struct rec *r, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[2048];
	struct ev *pending = NULL;
	double t_req = 0;

	CHECK(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		const char *e;
		double us;

		if (strstr(line, "\"memaddr\": ") && !r->gpa) {
			r->gpa = json_u64(line, "\"memaddr\": ");
			r->block_size = json_u64(line, "\"block-size\": ");
			r->size = json_u64(line, "\"max-size\": ");
		}
		if (strstr(line, "\"property\": \"requested-size\"")) {
			CHECK(r->n < MAX_EV, "recording too long");
			r->ev[r->n++] =
			        (struct ev){ .set = true, .value = json_u64(line, "\"value\": ") };
			continue;
		}
		if (!trace_line(line, &us, &e))
			continue;
		if (!strncmp(e, "virtio_mem_plug_request", 23) ||
		    !strncmp(e, "virtio_mem_unplug_request", 25)) {
			unsigned long long addr;
			unsigned nb;

			CHECK(sscanf(strchr(e, ' '), " addr=%llx nb_blocks=%u", &addr, &nb) == 2,
			      "cannot read: %s", line);
			CHECK(r->n < MAX_EV, "recording too long");
			pending = &r->ev[r->n++];
			*pending = (struct ev){ .type = e[11] == 'p' ? FC_PLUG : FC_UNPLUG,
				                .addr = addr,
				                .nb = (uint16_t)nb };
			t_req = us;
		} else if (!strncmp(e, "virtio_mem_unplug_all_request", 29)) {
			pending = &r->ev[r->n++];
			*pending = (struct ev){ .type = FC_UNPLUG_ALL };
			t_req = us;
		} else if (!strncmp(e, "virtio_mem_send_response", 24) && pending) {
			pending->qemu_resp = atoi(strstr(e, "type=") + 5);
			pending->qemu_us = us - t_req;
			pending = NULL;
			r->nreq++;
		}
	}
	fclose(f);
	CHECK(r->gpa && r->block_size && r->size && r->nreq,
	      "%s: no device geometry or no requests", path);
}

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i];
}

static double sum(const double *v, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	return s;
}

static void set_requested(struct fcore *fc, struct ipc_chan *ctl, uint64_t value)
{
	Splitvm__DevicePropSet ps = SPLITVM__DEVICE_PROP_SET__INIT;
	struct ipc_msg *reply;
	struct ipc_err err;
	char val[32];

	snprintf(val, sizeof(val), "%" PRIu64, value);
	ps.name = (char *)"requested-size";
	ps.value = val;
	CHECK(ipc_call(ctl, NULL, &ps.base, 5000, &reply, &err) == 0, "requested-size: %s",
	      err.text);
	ipc_msg_free(reply);
	fc_serve(fc, 2); /* take the config update in, outside the timing */
}

/* One pass over the recording; latencies in µs appended per type. */
static void run_stream(struct fcore *fc, struct ipc_chan *ctl, const struct rec *r, uint64_t *seq,
                       uint8_t *guest, double *plug, size_t *nplug, double *unplug, size_t *nunplug)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct ev *e = &r->ev[i];
		uint8_t req[24], resp[10];
		double t0, dt;

		if (e->set) {
			set_requested(fc, ctl, e->value);
			continue;
		}
		fc_vmem_req(req, e->type, e->addr, e->nb);
		t0 = now_us();
		CHECK(fc_request(fc, ++*seq, req, sizeof(req), resp) == 0, "no answer");
		dt = now_us() - t0;
		CHECK(resp[0] == e->qemu_resp, "request %zu: answer %u, QEMU answered %d", i,
		      resp[0], e->qemu_resp);
		if (e->type == FC_PLUG) {
			plug[(*nplug)++] = dt;
			/* The guest writes its new memory: the next UNPLUG discards pages. */
			if (guest)
				for (uint64_t o = 0; o < (uint64_t)e->nb * r->block_size; o += 4096)
					guest[e->addr - r->gpa + o] = 1;
		} else {
			unplug[(*nunplug)++] = dt;
		}
	}
}

/* @passes: how many passes @v holds; the totals are per pass. */
static void row(const char *what, double *v, size_t n, int passes, double *q, size_t nq)
{
	double ours = sum(v, n) / passes, theirs = sum(q, nq);

	printf("%-22s %5zu  %8.1f %8.1f %9.1f   %8.1f %8.1f %9.1f   %5.2fx\n", what, n,
	       pct(v, n, 50), pct(v, n, 99), ours, pct(q, nq, 50), pct(q, nq, 99), theirs,
	       theirs > 0 ? ours / theirs : 0);
}

/* VmRSS split: anonymous, file (shared libraries), shmem (the journal). */
static void print_rss_detail(const struct fcore *fc)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)fc->pid);
	f = fopen(path, "re");
	if (!f)
		return;
	printf("  ");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Rss", 3) || !strncmp(line, "Threads", 7)) {
			line[strcspn(line, "\n")] = 0;
			printf(" %s;", line);
		}
	printf("\n");
	fclose(f);
}

int main(int argc, char **argv)
{
	static struct rec r;
	static double plug[MAX_EV * 8], unplug[MAX_EV * 8], qplug[MAX_EV], qunplug[MAX_EV];
	static double tplug[MAX_EV], tunplug[MAX_EV];
	struct fcore fc = { .id = "vm0" };
	struct ipc_chan_opts o = { .planes = PROTO_PLANE_DEVCTL };
	size_t nplug = 0, nunplug = 0, nq = 0, nqu = 0, ntp = 0, ntu = 0;
	double restart[RESTARTS], all[MAX_EV * 16], qall[MAX_EV * 2];
	unsigned long rss_idle, rss_after;
	struct ipc_chan *ctl;
	struct ipc_err err;
	char config[256], ctlname[80];
	uint8_t *guest;
	uint64_t seq = 0;
	int repeats;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s SPLITVM-DEVPROC RECORDING.log [REPEATS]\n", argv[0]);
		return 2;
	}
	repeats = argc == 4 ? atoi(argv[3]) : 5;
	CHECK(repeats >= 1 && repeats <= 8, "REPEATS: 1 to 8");
	rec_load(&r, argv[2]);
	for (size_t i = 0; i < r.n; i++) {
		if (r.ev[i].set)
			continue;
		if (r.ev[i].type == FC_PLUG)
			qplug[nq++] = r.ev[i].qemu_us;
		else
			qunplug[nqu++] = r.ev[i].qemu_us;
	}

	snprintf(config, sizeof(config),
	         "virtio-mem,id=vm0,memdev=mem0,requested-size=0,block-size=%" PRIu64,
	         r.block_size);
	fc.devproc = argv[1];
	fc.config = config;
	fc.sandbox = getenv("BENCH_SANDBOX") ? getenv("BENCH_SANDBOX") : "off";
	fc.region_size = r.size;
	fc.gpa = r.gpa;
	fc_init(&fc);
	fc_spawn(&fc);
	fc_serve(&fc, 50);
	rss_idle = fc_rss_kib(&fc);
	snprintf(ctlname, sizeof(ctlname), "devctl-%s", fc.id);
	CHECK(ipc_chan_connect(&ctl, IPC_ROLE_REQ, fc.rundir, ctlname, &o, &err) == 0, "%s",
	      err.text);

	for (int i = 0; i < repeats; i++)
		run_stream(&fc, ctl, &r, &seq, NULL, plug, &nplug, unplug, &nunplug);
	rss_after = fc_rss_kib(&fc);

	/* Once more with the guest writing every page it got (the core maps the backend). */
	guest = mmap(NULL, r.size, PROT_READ | PROT_WRITE, MAP_SHARED, fc.backend_fd, 0);
	CHECK(guest != MAP_FAILED, "mmap: %s", strerror(errno));
	run_stream(&fc, ctl, &r, &seq, guest, tplug, &ntp, tunplug, &ntu);
	munmap(guest, r.size);

	/* kill -9 with 4 GiB plugged, to the successor's first answer. */
	set_requested(&fc, ctl, UINT64_C(4) << 30);
	for (uint64_t a = 0; a < (UINT64_C(4) << 30); a += 128u << 20) {
		uint8_t req[24], resp[10];

		fc_vmem_req(req, FC_PLUG, r.gpa + a, (uint16_t)((128u << 20) / r.block_size));
		CHECK(fc_request(&fc, ++seq, req, sizeof(req), resp) == 0 && resp[0] == FC_ACK,
		      "plug to 4 GiB");
	}
	/* A core does not wait for a dead process's last messages: take what is there. */
	fc.drain_ms = 0;
	for (int i = 0; i < RESTARTS; i++) {
		uint8_t req[24], resp[10];
		double t0 = now_us();

		fc_kill(&fc);
		fc_spawn(&fc);
		fc_vmem_req(req, FC_STATE, r.gpa, 64);
		CHECK(fc_request(&fc, ++seq, req, sizeof(req), resp) == 0 && resp[0] == FC_ACK &&
		              resp[8] == 0,
		      "the successor's STATE answer");
		restart[i] = (now_us() - t0) / 1000;
	}

	memcpy(all, plug, nplug * sizeof(double));
	memcpy(all + nplug, unplug, nunplug * sizeof(double));
	memcpy(qall, qplug, nq * sizeof(double));
	memcpy(qall + nq, qunplug, nqu * sizeof(double));
	printf("virtio-mem: %s, %zu requests x %d passes, %s through splitvm-devproc"
	       " (sandbox %s)\n",
	       argv[2], r.nreq, repeats, "fake core", fc.sandbox);
	printf("latency in us, totals per pass  splitvm-devproc (send->response)"
	       "   QEMU 7.2 (trace: request->response)\n");
	printf("%-22s %5s  %8s %8s %9s   %8s %8s %9s   %6s\n", "", "n", "p50", "p99", "total",
	       "p50", "p99", "total", "ratio");
	row("PLUG 128 MiB", plug, nplug, repeats, qplug, nq);
	row("UNPLUG 128 MiB", unplug, nunplug, repeats, qunplug, nqu);
	row("whole stream", all, nplug + nunplug, repeats, qall, nq + nqu);
	row("PLUG, guest writes", tplug, ntp, 1, qplug, nq);
	row("UNPLUG, populated", tunplug, ntu, 1, qunplug, nqu);
	printf("restart, kill -9 -> successor's first answer, 4 GiB plugged (%d): "
	       "p50 %.1f ms, max %.1f ms (target < 50 ms)\n",
	       RESTARTS, pct(restart, RESTARTS, 50), pct(restart, RESTARTS, 100));
	printf("device process VmRSS: %lu KiB attached, %lu KiB after the stream,"
	       " %lu KiB after restarts (target < 2048 KiB)\n",
	       rss_idle, rss_after, fc_rss_kib(&fc));
	print_rss_detail(&fc);
	printf("whole stream per pass: %.2fx QEMU's total (target <= 1.3x)\n",
	       sum(all, nplug + nunplug) / repeats / sum(qall, nq + nqu));
	ipc_chan_destroy(ctl);
	fc_fini(&fc);
	return 0;
}
