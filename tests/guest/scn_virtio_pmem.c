/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-pmem scenario: the guest's side of a virtio-pmem device (virtio
 * 1.2, 5.19) behind the core's virtio-mmio transport, driven as Linux's
 * virtio_pmem/nd_virtio drivers do it: halted until the device's interrupt
 * while a request is out (virtio_poll=1 polls the used ring instead).
 *
 *   virtio-pmem  finds the device (virtio,mmio node, DeviceID 27) in the
 *                FDT, negotiates VERSION_1 alone, reads config start/size,
 *                maps the region and then, by the command line:
 *                  pmem_check=1  the region must hold the pattern (a boot
 *                                after the one that wrote it); else it is
 *                                written over the whole region now;
 *                  pmem_ro=1     the region is read-only: a store must not
 *                                change it (implies pmem_check=1);
 *                one FLUSH (answer 0), the malformed-request table (each
 *                with the answer the device gives and the device serving
 *                on), then pmem_flushes=N (default 64) FLUSHes kept 8 in
 *                flight, each answered 0 once.  Prints "virtio-pmem: N
 *                flushes, all 0, M out of order" (M: completions that
 *                overtook an older flush) and PASS.
 *
 * The pattern: the 64-bit word at region offset o holds pmem_word(o), the
 * function tests/integration/test_pmem_flush.c checks the host file with.
 *
 * pmem_bench=N pmem_results=0xGPA (tests/bench/bench_pmem.c) replaces all of
 * the above after the probe: N rounds of a 4 KiB write into the region (page
 * i % pages) and one FLUSH, each timed with the TSC (the FLUSH from its
 * QueueNotify write to the guest seeing its used element); then two passes of
 * 1 MiB copies (rep movsq) from RAM over the whole region (the first one faults the
 * region in, the second is warm), timed too.  The figures go into RAM at
 * pmem_results (PMB_* in tests/bench/bench_pmem_results.h) for the host to
 * read; the console says "virtio-pmem-bench: N flushes done".
 */
#include "guest.h"
#include "gfdt.h"
#include "virtio.h"

#include "../bench/bench_pmem_results.h"

#define VIRTIO_ID_PMEM 27
#define RESP_OK        0
#define RESP_EIO       1

#define INFLIGHT 8 /* chains of 2 descriptors each */

static struct vq vq __attribute__((aligned(4096)));
static uint8_t req_buf[INFLIGHT][16] __attribute__((aligned(64)));
static uint8_t resp_buf[INFLIGHT][16] __attribute__((aligned(64)));

static struct {
	uint64_t base;
	struct virtio_wait wait;
	uint64_t start, size;
	uint16_t avail_idx, last_used;
	unsigned requests;
} pm;

static uint32_t rd(uint32_t off)
{
	return virtio_rd(pm.base, off);
}

static void wr(uint32_t off, uint32_t v)
{
	virtio_wr(pm.base, off, v);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t pmem_word(uint64_t off)
{
	return (off + 1) * 0x9e3779b97f4a7c15ull ^ 0x706d656d2d706174ull;
}

/* ---- finding and negotiating -------------------------------------------- */

static int find_device(const struct guest_boot *b)
{
	return virtio_find(b, "virtio-pmem", VIRTIO_ID_PMEM, &pm.base, &pm.wait);
}

static uint64_t cfg64(uint32_t off)
{
	return virtio_cfg64(pm.base, off);
}

/* Linux's probe: VERSION_1 alone, config, queue 0, DRIVER_OK. */
static int dev_init(void)
{
	uint32_t gen;

	wr(REG_STATUS, 0);
	if (rd(REG_STATUS) != 0)
		return fail("virtio-pmem: status not 0 after a reset");
	wr(REG_STATUS, ST_ACK);
	wr(REG_STATUS, ST_ACK | ST_DRIVER);
	wr(REG_DEV_FEAT_SEL, 1);
	if (!(rd(REG_DEV_FEAT) & 1))
		return fail("virtio-pmem: VERSION_1 not offered");
	wr(REG_DRV_FEAT_SEL, 0);
	wr(REG_DRV_FEAT, 0);
	wr(REG_DRV_FEAT_SEL, 1);
	wr(REG_DRV_FEAT, 1);
	wr(REG_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	if (!(rd(REG_STATUS) & ST_FEATURES_OK))
		return fail("virtio-pmem: FEATURES_OK did not stick (status 0x%x)", rd(REG_STATUS));
	do {
		gen = rd(REG_CONFIG_GEN);
		pm.start = cfg64(0);
		pm.size = cfg64(8);
	} while (gen != rd(REG_CONFIG_GEN));
	if (!pm.start || pm.start % 4096 || !pm.size || pm.size % 4096)
		return fail("virtio-pmem: config start 0x%lx size 0x%lx", pm.start, pm.size);
	if (mmu_map(pm.start, pm.size, 0))
		return fail("virtio-pmem: cannot map the region 0x%lx+0x%lx", pm.start, pm.size);

	if (virtio_queue0(pm.base, &vq, "virtio-pmem"))
		return 1;
	pm.avail_idx = 0;
	pm.last_used = 0;
	wr(REG_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	return 0;
}

/* ---- requests ----------------------------------------------------------- */

/*
 * Queue chain @slot (descriptors 2*slot, 2*slot+1): @len readable bytes of
 * req_buf[slot], @wlen writable bytes of resp_buf[slot] (no writable
 * descriptor when 0).  Not yet notified.
 */
static void queue_chain(unsigned slot, uint32_t len, uint32_t wlen)
{
	uint16_t d = (uint16_t)(2 * slot);

	memset(resp_buf[slot], 0xee, sizeof(resp_buf[slot]));
	vq.desc[d] = (struct vdesc){ (uintptr_t)req_buf[slot], len, wlen ? D_NEXT : 0,
		                     (uint16_t)(d + 1) };
	vq.desc[d + 1] = (struct vdesc){ (uintptr_t)resp_buf[slot], wlen, D_WRITE, 0 };
	vq.avail.ring[pm.avail_idx % QSIZE] = d;
	barrier();
	pm.avail_idx++;
	*(volatile uint16_t *)&vq.avail.idx = pm.avail_idx;
	barrier();
	pm.requests++;
}

/*
 * The next used element: its head and length, and in *@tsc (when not NULL)
 * the TSC as the guest saw it, before the InterruptStatus acknowledgement.
 */
static int wait_used(uint16_t *head, uint32_t *len, uint64_t *tsc)
{
	if (!virtio_wait_used(&pm.wait, &vq.used.idx, pm.last_used)) {
		if (tsc)
			*tsc = guest_rdtsc();
		barrier();
		*head = (uint16_t)vq.used.ring[pm.last_used % QSIZE].id;
		*len = vq.used.ring[pm.last_used % QSIZE].len;
		pm.last_used++;
		wr(REG_INT_ACK, rd(REG_INT_STATUS));
		return 0;
	}
	return fail("virtio-pmem: request %u: no used element (status 0x%x)", pm.requests,
	            rd(REG_STATUS));
}

/* One request of @len bytes (type @type) with @wlen writable: used length, answer. */
static int request(uint32_t type, uint32_t len, uint32_t wlen, uint32_t *used, uint32_t *ret)
{
	uint16_t head;

	memset(req_buf[0], 0, sizeof(req_buf[0]));
	put32(req_buf[0], type);
	queue_chain(0, len, wlen);
	wr(REG_QUEUE_NOTIFY, 0);
	if (wait_used(&head, used, NULL))
		return 1;
	if (head != 0)
		return fail("virtio-pmem: used head %u, want 0", head);
	*ret = get32(resp_buf[0]);
	return 0;
}

static int flush_once(const char *when)
{
	uint32_t used, ret;

	if (request(0, 4, 4, &used, &ret))
		return 1;
	if (used != 4 || ret != RESP_OK)
		return fail("virtio-pmem: FLUSH %s: used %u, ret %u; want 4, 0", when, used, ret);
	return 0;
}

/*
 * @n FLUSHes, INFLIGHT at a time: every one answered 0, once.  *@ooo counts
 * completions that overtook an older one still in flight (the used ring
 * need not be in order by the spec; the device answers in order, and a
 * successor after a crash gets the held requests re-sent in order).
 */
static int flood(uint64_t n, uint64_t *ooo)
{
	uint8_t fifo[INFLIGHT]; /* in-flight slots, oldest first */
	unsigned nfifo = 0, busy = 0;
	uint64_t queued = 0, done = 0;

	*ooo = 0;
	while (done < n) {
		while (queued < n && nfifo < INFLIGHT) {
			unsigned slot = 0;

			while (busy & (1u << slot))
				slot++;
			busy |= 1u << slot;
			fifo[nfifo++] = (uint8_t)slot;
			memset(req_buf[slot], 0, 4);
			queue_chain(slot, 4, 4);
			queued++;
		}
		wr(REG_QUEUE_NOTIFY, 0);
		while (done < queued) {
			uint16_t head;
			uint32_t len, ret;
			unsigned slot, k;

			if (wait_used(&head, &len, NULL))
				return 1;
			slot = head / 2;
			if (head % 2 || slot >= INFLIGHT || !(busy & (1u << slot)))
				return fail("virtio-pmem: flush %lu: used head %u is not in flight",
				            done, head);
			ret = get32(resp_buf[slot]);
			if (len != 4 || ret != RESP_OK)
				return fail(
				        "virtio-pmem: flush %lu: len %u ret %u; want len 4 ret 0",
				        done, len, ret);
			for (k = 0; fifo[k] != slot; k++)
				;
			if (k)
				(*ooo)++;
			memmove(fifo + k, fifo + k + 1, nfifo - k - 1);
			nfifo--;
			busy &= ~(1u << slot);
			done++;
		}
	}
	return 0;
}

/* ---- the region --------------------------------------------------------- */

static void pattern_write(void)
{
	volatile uint64_t *w = (volatile uint64_t *)(uintptr_t)pm.start;

	for (uint64_t i = 0; i < pm.size / 8; i++)
		w[i] = pmem_word(i * 8);
	say("virtio-pmem: pattern written over 0x%lx bytes", pm.size);
}

static int pattern_check(void)
{
	volatile uint64_t *w = (volatile uint64_t *)(uintptr_t)pm.start;

	for (uint64_t i = 0; i < pm.size / 8; i++) {
		uint64_t got = w[i];

		if (got != pmem_word(i * 8))
			return fail("virtio-pmem: offset 0x%lx reads 0x%lx, want 0x%lx", i * 8, got,
			            pmem_word(i * 8));
	}
	say("virtio-pmem: pattern read back over 0x%lx bytes", pm.size);
	return 0;
}

/* A store into the read-only region must not change it. */
static int readonly_check(void)
{
	volatile uint64_t *w = (volatile uint64_t *)(uintptr_t)(pm.start + pm.size - 8);
	uint64_t before = *w;

	*w = ~before;
	if (*w != before)
		return fail("virtio-pmem: a store changed the read-only region at 0x%lx",
		            pm.start + pm.size - 8);
	say("virtio-pmem: the read-only region kept its bytes after a store");
	return 0;
}

/* ---- malformed requests ------------------------------------------------- */

struct bad_req {
	const char *name;
	uint32_t type;
	uint32_t len;  /* readable bytes */
	uint32_t wlen; /* writable bytes */
	uint32_t want_used;
	uint32_t want_ret; /* checked when want_used is 4 */
};

static const struct bad_req bad_reqs[] = {
	{ "unknown type 1", 1, 4, 4, 4, RESP_EIO },
	{ "unknown type 0xffffffff", 0xffffffffu, 4, 4, 4, RESP_EIO },
	{ "short request (2 bytes)", 0, 2, 4, 4, RESP_EIO },
	{ "long request (12 bytes)", 0, 12, 4, 4, RESP_EIO },
	{ "no room for the answer", 0, 4, 0, 0, 0 },
	{ "2 bytes of room", 0, 4, 2, 0, 0 },
};

static int bad_table(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_reqs); i++) {
		const struct bad_req *r = &bad_reqs[i];
		uint32_t used, ret;

		if (request(r->type, r->len, r->wlen, &used, &ret))
			return 1;
		if (used != r->want_used || (used == 4 && ret != r->want_ret))
			return fail("virtio-pmem-bad %s: used %u ret %u; want used %u ret %u",
			            r->name, used, ret, r->want_used, r->want_ret);
		if (used)
			say("virtio-pmem-bad %s: used %u, ret %u", r->name, used, ret);
		else
			say("virtio-pmem-bad %s: used 0", r->name);
		if (flush_once("after a bad request"))
			return 1;
	}
	return 0;
}

/* ---- the benchmark ------------------------------------------------------ */

static uint8_t bench_src[PMB_CHUNK] __attribute__((aligned(4096)));
static uint8_t bench_ram[4096] __attribute__((aligned(4096)));

/*
 * rep movsq, a fast string copy like glibc's on the host; words, not bytes,
 * because kvm_pvm emulates the test guest's instructions one iteration at a
 * time (docs/performance.md): 8x fewer there, the same speed on real KVM.
 * @n is a multiple of 8.
 */
static void copy_bytes(uint64_t dst, const void *src, uint64_t n)
{
	void *d = (void *)(uintptr_t)dst;
	uint64_t words = n / 8;

	__asm__ volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(words) : : "memory");
}

static int bench(const struct guest_boot *b, uint64_t n)
{
	uint64_t gpa, pages = pm.size / 4096, passes[2];
	volatile uint64_t *res;

	if (cmdline_u64(b, "pmem_results", &gpa) || gpa % 4096 || !e820_in_ram(b, gpa, PMB_SIZE(n)))
		return fail("pmem_bench=%lu needs pmem_results=0xGPA: page aligned, 0x%lx bytes of "
		            "RAM",
		            n, PMB_SIZE(n));
	res = guest_ptr(gpa, PMB_SIZE(n));
	if (!res)
		return fail("pmem_results=0x%lx: cannot map it", gpa);
	if (pm.size % PMB_CHUNK)
		return fail("virtio-pmem-bench: region size 0x%lx is not a multiple of 0x%x",
		            pm.size, PMB_CHUNK);
	for (uint64_t i = 0; i < sizeof(bench_src); i++)
		bench_src[i] = (uint8_t)(i * 7 + 1);
	res[PMB_N] = n;
	res[PMB_BYTES] = pm.size;
	/* The same 4 KiB write into RAM, for scale: the least of 16 (warm). */
	res[PMB_RAM_WRITE] = ~0ull;
	for (int k = 0; k < 16; k++) {
		uint64_t t0 = guest_rdtsc(), dt;

		copy_bytes((uintptr_t)bench_ram, bench_src, 4096);
		dt = guest_rdtsc() - t0;
		if (dt < res[PMB_RAM_WRITE])
			res[PMB_RAM_WRITE] = dt;
	}
	res[PMB_TSC0] = guest_rdtsc();
	for (uint64_t i = 0; i < n; i++) {
		uint64_t t0, t1, t2, t3;
		uint16_t head;
		uint32_t used, ret;

		bench_src[0] = (uint8_t)i; /* every round writes different bytes */
		memset(req_buf[0], 0, 4);
		t0 = guest_rdtsc();
		copy_bytes(pm.start + i % pages * 4096, bench_src, 4096);
		t1 = guest_rdtsc();
		queue_chain(0, 4, 4);
		t3 = guest_rdtsc();
		wr(REG_QUEUE_NOTIFY, 0);
		if (wait_used(&head, &used, &t2))
			return 1;
		ret = get32(resp_buf[0]);
		if (head != 0 || used != 4 || ret != RESP_OK)
			return fail("virtio-pmem-bench: flush %lu: head %u used %u ret %u", i, head,
			            used, ret);
		res[PMB_ROUND + 2 * i] = t1 - t0;
		res[PMB_ROUND + 2 * i + 1] = t2 - t3;
	}
	for (int p = 0; p < 2; p++) {
		uint64_t t0 = guest_rdtsc();

		for (uint64_t off = 0; off < pm.size; off += PMB_CHUNK)
			copy_bytes(pm.start + off, bench_src, PMB_CHUNK);
		passes[p] = guest_rdtsc() - t0;
	}
	res[PMB_PASS_COLD] = passes[0];
	res[PMB_PASS_WARM] = passes[1];
	res[PMB_TSC1] = guest_rdtsc();
	__asm__ volatile("" ::: "memory");
	res[PMB_DONE] = PMB_MAGIC;
	say("virtio-pmem-bench: %lu flushes done", n);
	return 0;
}

static int pmem_run(const struct guest_boot *b)
{
	uint64_t check = 0, ro = 0, flushes = 64, nbench = 0, ooo;
	int err;

	err = cmdline_u64(b, "pmem_check", &check);
	if (err && err != -GERR_NOENT)
		return fail("pmem_check=: want a number");
	err = cmdline_u64(b, "pmem_ro", &ro);
	if (err && err != -GERR_NOENT)
		return fail("pmem_ro=: want a number");
	err = cmdline_u64(b, "pmem_flushes", &flushes);
	if (err && err != -GERR_NOENT)
		return fail("pmem_flushes=: want a number");
	err = cmdline_u64(b, "pmem_bench", &nbench);
	if (err && err != -GERR_NOENT)
		return fail("pmem_bench=: want a number");
	if (find_device(b) || dev_init())
		return 1;
	say("virtio-pmem: region 0x%lx+0x%lx", pm.start, pm.size);
	if (nbench)
		return bench(b, nbench);
	if (check || ro) {
		if (pattern_check())
			return 1;
	} else {
		pattern_write();
	}
	if (ro && readonly_check())
		return 1;
	if (flush_once("after the pattern"))
		return 1;
	say("virtio-pmem: FLUSH answered 0");
	if (bad_table())
		return 1;
	say("virtio-pmem: flushing %lu times", flushes);
	if (flood(flushes, &ooo))
		return 1;
	say("virtio-pmem: %lu flushes, all 0, %lu out of order", flushes, ooo);
	return 0;
}

const struct guest_scenario scenario_virtio_pmem = {
	.name = "virtio-pmem",
	.run = pmem_run,
};
