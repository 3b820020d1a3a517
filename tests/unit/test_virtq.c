/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core/virtq.c against a fake guest memory (one host buffer as the only RAM
 * region), and core/virtio_mmio.c's register file: feature negotiation,
 * reset, ConfigGeneration, InterruptStatus/ACK, queue setup.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core.h"

#define RAM_GPA  0x100000ull
#define RAM_SIZE (1ull << 20)
#define QNUM     8
#define DESC     (RAM_GPA + 0x0000)
#define AVAIL    (RAM_GPA + 0x1000)
#define USED     (RAM_GPA + 0x2000)
#define BUF      (RAM_GPA + 0x10000) /* buffers from here */
#define INDIR    (RAM_GPA + 0x8000)

#define F_NEXT     1
#define F_WRITE    2
#define F_INDIRECT 4

struct fake {
	struct memmap mm;
	uint8_t *ram;
	struct virtq q;
	uint16_t avail_idx;
};

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct memmap_region reg = {
		.name = "ram", .kind = MEMMAP_RAM, .gpa = RAM_GPA, .size = RAM_SIZE, .slot = -1
	};

	if (!f)
		return -1;
	f->ram = calloc(1, RAM_SIZE);
	if (!f->ram) {
		free(f);
		return -1;
	}
	reg.host = f->ram;
	if (memmap_add(&f->mm, &reg)) {
		free(f->ram);
		free(f);
		return -1;
	}
	f->q = (struct virtq){ .num = QNUM, .desc = DESC, .avail = AVAIL, .used = USED };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	free(f->ram);
	free(f);
	return 0;
}

static void *host(struct fake *f, uint64_t gpa)
{
	return f->ram + (gpa - RAM_GPA);
}

static void set_desc(struct fake *f, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
	uint8_t *d = host(f, table + 16ull * i);

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void make_avail(struct fake *f, uint16_t head)
{
	uint16_t *ring = host(f, AVAIL + 4);

	ring[f->avail_idx % QNUM] = head;
	f->avail_idx++;
	memcpy(host(f, AVAIL + 2), &f->avail_idx, 2);
}

static void test_empty(void **state)
{
	struct fake *f = *state;
	struct virtq_chain c;

	assert_int_equal(virtq_check(&f->q, &f->mm), 0);
	assert_int_equal(virtq_pop(&f->q, &f->mm, &c), 0);
}

static void test_readable_and_writable(void **state)
{
	struct fake *f = *state;
	struct virtq_chain c;

	memcpy(host(f, BUF), "hello ", 6);
	memcpy(host(f, BUF + 0x100), "world", 5);
	set_desc(f, DESC, 3, BUF, 6, F_NEXT, 5);
	set_desc(f, DESC, 5, BUF + 0x100, 5, F_NEXT, 1);
	set_desc(f, DESC, 1, BUF + 0x200, 16, F_WRITE | F_NEXT, 2);
	set_desc(f, DESC, 2, BUF + 0x300, 8, F_WRITE, 0);
	make_avail(f, 3);

	assert_int_equal(virtq_pop(&f->q, &f->mm, &c), 1);
	assert_int_equal(c.head, 3);
	assert_int_equal(c.data_len, 11);
	assert_memory_equal(c.data, "hello world", 11);
	assert_int_equal(c.n_wr, 2);
	assert_int_equal(c.wr_len, 24);
	assert_int_equal(f->q.last_avail, 1);
	virtq_chain_release(&c);
	assert_int_equal(virtq_pop(&f->q, &f->mm, &c), 0);
}

static void test_write_scatters_and_push(void **state)
{
	struct fake *f = *state;
	struct virtq_chain c;
	uint8_t resp[20];
	uint32_t written = 0, id, len;
	uint16_t used_idx;

	for (unsigned i = 0; i < sizeof(resp); i++)
		resp[i] = (uint8_t)(i + 1);
	set_desc(f, DESC, 0, BUF, 4, F_NEXT, 1);
	set_desc(f, DESC, 1, BUF + 0x200, 16, F_WRITE | F_NEXT, 2);
	set_desc(f, DESC, 2, BUF + 0x300, 8, F_WRITE, 0);
	make_avail(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->mm, &c), 1);
	assert_int_equal(virtq_chain_write(&f->mm, c.wr, c.n_wr, resp, sizeof(resp), &written), 0);
	assert_int_equal(written, 20);
	assert_memory_equal(host(f, BUF + 0x200), resp, 16);
	assert_memory_equal(host(f, BUF + 0x300), resp + 16, 4);
	assert_int_equal(virtq_push(&f->q, &f->mm, c.head, written), 0);
	memcpy(&used_idx, host(f, USED + 2), 2);
	memcpy(&id, host(f, USED + 4), 4);
	memcpy(&len, host(f, USED + 8), 4);
	assert_int_equal(used_idx, 1);
	assert_int_equal(id, 0);
	assert_int_equal(len, 20);
	/* No flags, no EVENT_IDX: the driver wants the interrupt. */
	assert_true(virtq_need_signal(&f->q, &f->mm));
	virtq_chain_release(&c);
}

static void test_response_cut_to_room(void **state)
{
	struct fake *f = *state;
	struct virtq_chain c;
	uint8_t resp[64];
	uint32_t written = 0;

	memset(resp, 0xab, sizeof(resp));
	set_desc(f, DESC, 0, BUF, 8, F_WRITE, 0);
	make_avail(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->mm, &c), 1);
	assert_int_equal(c.data_len, 0);
	assert_int_equal(virtq_chain_write(&f->mm, c.wr, c.n_wr, resp, sizeof(resp), &written), 0);
	assert_int_equal(written, 8);
	virtq_chain_release(&c);
}

static void test_no_interrupt_flag(void **state)
{
	struct fake *f = *state;
	uint16_t flags = 1;

	memcpy(host(f, AVAIL), &flags, 2);
	assert_int_equal(virtq_push(&f->q, &f->mm, 0, 0), 0);
	assert_false(virtq_need_signal(&f->q, &f->mm));
}

static void test_event_idx(void **state)
{
	struct fake *f = *state;
	struct virtq_chain c;
	uint16_t used_event = 1, avail_event;

	f->q.event_idx = true;
	/* Popping an empty ring publishes avail_event = last_avail. */
	assert_int_equal(virtq_pop(&f->q, &f->mm, &c), 0);
	memcpy(&avail_event, host(f, USED + 4 + 8 * QNUM), 2);
	assert_int_equal(avail_event, 0);
	memcpy(host(f, AVAIL + 4 + 2 * QNUM), &used_event, 2);
	assert_int_equal(virtq_push(&f->q, &f->mm, 0, 0), 0);
	assert_true(virtq_need_signal(&f->q, &f->mm));        /* first one always */
	assert_int_equal(virtq_push(&f->q, &f->mm, 0, 0), 0); /* used 2 passes event 1 */
	assert_true(virtq_need_signal(&f->q, &f->mm));
	assert_int_equal(virtq_push(&f->q, &f->mm, 0, 0), 0); /* used 3: event 1 already passed */
	assert_false(virtq_need_signal(&f->q, &f->mm));
}

static void test_indirect(void **state)
{
	struct fake *f = *state;
	struct virtq_chain c;

	memcpy(host(f, BUF), "abcd", 4);
	set_desc(f, INDIR, 0, BUF, 4, F_NEXT, 1);
	set_desc(f, INDIR, 1, BUF + 0x100, 32, F_WRITE, 0);
	set_desc(f, DESC, 0, INDIR, 32, F_INDIRECT, 0);
	make_avail(f, 0);
	/* Not negotiated: a broken chain. */
	assert_int_equal(virtq_pop(&f->q, &f->mm, &c), -VIRTQ_ERR_INDIRECT);
	f->q.indirect = true;
	assert_int_equal(virtq_pop(&f->q, &f->mm, &c), 1);
	assert_int_equal(c.data_len, 4);
	assert_int_equal(c.wr_len, 32);
	virtq_chain_release(&c);
}

/* Table-driven broken chains: each must fail without popping. */
struct bad_case {
	const char *name;
	void (*build)(struct fake *f);
	int err;
};

static void bad_loop(struct fake *f)
{
	set_desc(f, DESC, 0, BUF, 4, F_NEXT, 1);
	set_desc(f, DESC, 1, BUF, 4, F_NEXT, 0);
	make_avail(f, 0);
}

static void bad_self_loop(struct fake *f)
{
	set_desc(f, DESC, 2, BUF, 4, F_WRITE | F_NEXT, 2);
	make_avail(f, 2);
}

static void bad_head(struct fake *f)
{
	make_avail(f, QNUM);
}

static void bad_next(struct fake *f)
{
	set_desc(f, DESC, 0, BUF, 4, F_NEXT, QNUM + 3);
	make_avail(f, 0);
}

static void bad_addr(struct fake *f)
{
	set_desc(f, DESC, 0, RAM_GPA + RAM_SIZE - 2, 4, 0, 0);
	make_avail(f, 0);
}

static void bad_addr_wrap(struct fake *f)
{
	set_desc(f, DESC, 0, UINT64_MAX - 1, 4, F_WRITE, 0);
	make_avail(f, 0);
}

static void bad_direction(struct fake *f)
{
	set_desc(f, DESC, 0, BUF, 4, F_WRITE | F_NEXT, 1);
	set_desc(f, DESC, 1, BUF + 0x100, 4, 0, 0);
	make_avail(f, 0);
}

static void bad_zero_len(struct fake *f)
{
	set_desc(f, DESC, 0, BUF, 0, 0, 0);
	make_avail(f, 0);
}

static void bad_avail_overflow(struct fake *f)
{
	uint16_t idx = QNUM + 1;

	memcpy(host(f, AVAIL + 2), &idx, 2);
}

static void bad_too_big(struct fake *f)
{
	/* 8 readable descriptors of 64 KiB: 512 KiB > VIRTQ_MAX_REQUEST. */
	for (unsigned i = 0; i < QNUM; i++)
		set_desc(f, DESC, i, BUF, 64 * 1024, i + 1 < QNUM ? F_NEXT : 0, (uint16_t)(i + 1));
	make_avail(f, 0);
}

static void bad_indirect_nested(struct fake *f)
{
	f->q.indirect = true;
	set_desc(f, INDIR, 0, INDIR, 16, F_INDIRECT, 0);
	set_desc(f, DESC, 0, INDIR, 16, F_INDIRECT, 0);
	make_avail(f, 0);
}

static void bad_indirect_len(struct fake *f)
{
	f->q.indirect = true;
	set_desc(f, DESC, 0, INDIR, 20, F_INDIRECT, 0);
	make_avail(f, 0);
}

static void bad_indirect_loop(struct fake *f)
{
	f->q.indirect = true;
	set_desc(f, INDIR, 0, BUF, 4, F_NEXT, 1);
	set_desc(f, INDIR, 1, BUF, 4, F_NEXT, 0);
	set_desc(f, DESC, 0, INDIR, 32, F_INDIRECT, 0);
	make_avail(f, 0);
}

static const struct bad_case bad_cases[] = {
	{ "loop", bad_loop, VIRTQ_ERR_LOOP },
	{ "self loop", bad_self_loop, VIRTQ_ERR_LOOP },
	{ "head >= size", bad_head, VIRTQ_ERR_HEAD },
	{ "next >= size", bad_next, VIRTQ_ERR_NEXT },
	{ "buffer past RAM", bad_addr, VIRTQ_ERR_ADDR },
	{ "buffer wraps", bad_addr_wrap, VIRTQ_ERR_ADDR },
	{ "readable after writable", bad_direction, VIRTQ_ERR_DIRECTION },
	{ "zero length", bad_zero_len, VIRTQ_ERR_ZERO_LEN },
	{ "avail idx > size ahead", bad_avail_overflow, VIRTQ_ERR_AVAIL_IDX },
	{ "too many readable bytes", bad_too_big, VIRTQ_ERR_TOO_BIG },
	{ "nested indirect", bad_indirect_nested, VIRTQ_ERR_INDIRECT },
	{ "indirect length", bad_indirect_len, VIRTQ_ERR_INDIRECT },
	{ "loop in indirect table", bad_indirect_loop, VIRTQ_ERR_LOOP },
};

static void test_bad_chains(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct fake *f;
		struct virtq_chain c;
		int r;

		assert_int_equal(setup((void **)&f), 0);
		bad_cases[i].build(f);
		r = virtq_pop(&f->q, &f->mm, &c);
		if (r != -bad_cases[i].err)
			fail_msg("%s: got %d (%s), want -%d", bad_cases[i].name, r,
			         virtq_error_str(r), bad_cases[i].err);
		assert_int_equal(f->q.last_avail, 0);
		assert_null(c.data);
		assert_null(c.wr);
		assert_non_null(virtq_error_str(r));
		teardown((void **)&f);
	}
}

static void test_check_rings(void **state)
{
	struct fake *f = *state;
	struct virtq q = f->q;

	q.num = 6; /* not a power of two */
	assert_int_equal(virtq_check(&q, &f->mm), -VIRTQ_ERR_RING);
	q = f->q;
	q.used = USED + 2; /* misaligned */
	assert_int_equal(virtq_check(&q, &f->mm), -VIRTQ_ERR_RING);
	q = f->q;
	q.desc = RAM_GPA + RAM_SIZE - 16; /* table runs past RAM */
	assert_int_equal(virtq_check(&q, &f->mm), -VIRTQ_ERR_RING);
	q = f->q;
	q.num = 0;
	assert_int_equal(virtq_check(&q, &f->mm), -VIRTQ_ERR_RING);
}

/* ---- the register file ----------------------------------------------- */

struct regs {
	struct fake *f;
	struct vmmio d;
	unsigned kicks;
	unsigned irqs;
};

static void count_kick(void *opaque)
{
	((struct regs *)opaque)->kicks++;
}

static void count_irq(void *opaque)
{
	((struct regs *)opaque)->irqs++;
}

static const uint16_t qmax[2] = { 64, 8 };
static const uint8_t cfg_bytes[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

static int regs_setup(void **state)
{
	struct regs *r = calloc(1, sizeof(*r));

	if (!r || setup((void **)&r->f))
		return -1;
	if (vmmio_init(&r->d, 1, &r->f->mm))
		return -1;
	r->d.kick = count_kick;
	r->d.irq = count_irq;
	r->d.opaque = r;
	/* features: device bit 1 (required) and bit 0, plus a transport bit to drop */
	if (vmmio_set_device(&r->d, 24, 0x3 | (1ull << 30), 0x2, 2, qmax, cfg_bytes,
	                     sizeof(cfg_bytes)))
		return -1;
	*state = r;
	return 0;
}

static int regs_teardown(void **state)
{
	struct regs *r = *state;

	vmmio_destroy(&r->d);
	teardown((void **)&r->f);
	free(r);
	return 0;
}

static uint32_t rd(struct regs *r, uint64_t off)
{
	uint32_t v = 0;

	vmmio_mmio(&r->d, off, (uint8_t *)&v, 4, false);
	return v;
}

static void wr(struct regs *r, uint64_t off, uint32_t v)
{
	vmmio_mmio(&r->d, off, (uint8_t *)&v, 4, true);
}

static void negotiate(struct regs *r, uint64_t features)
{
	wr(r, 0x070, 1);
	wr(r, 0x070, 3);
	wr(r, 0x024, 0);
	wr(r, 0x020, (uint32_t)features);
	wr(r, 0x024, 1);
	wr(r, 0x020, (uint32_t)(features >> 32));
	wr(r, 0x070, 3 | 8);
}

static void test_identity(void **state)
{
	struct regs *r = *state;

	assert_int_equal(rd(r, 0x000), 0x74726976);
	assert_int_equal(rd(r, 0x004), 2);
	assert_int_equal(rd(r, 0x008), 24);
	assert_int_equal(rd(r, 0x00c), VMMIO_VENDOR_ID);
	assert_int_equal(r->d.base, 0xd0000200);
	assert_int_equal(r->d.gsi, 17);
	wr(r, 0x014, 0);
	/* bit 30 was dropped, INDIRECT_DESC and EVENT_IDX added */
	assert_int_equal(rd(r, 0x010), 0x3 | (1u << 28) | (1u << 29));
	wr(r, 0x014, 1);
	assert_int_equal(rd(r, 0x010), 1); /* VERSION_1 */
	wr(r, 0x014, 2);
	assert_int_equal(rd(r, 0x010), 0);
	wr(r, 0x030, 0);
	assert_int_equal(rd(r, 0x034), 64);
	wr(r, 0x030, 1);
	assert_int_equal(rd(r, 0x034), 8);
	wr(r, 0x030, 2);
	assert_int_equal(rd(r, 0x034), 0);
}

static void test_features_ok(void **state)
{
	struct regs *r = *state;

	negotiate(r, 0x3 | (1ull << 32));
	assert_int_equal(rd(r, 0x070), 3 | 8);
	assert_int_equal(r->d.driver_features, 0x3 | (1ull << 32));
	/* Settled: later writes are ignored. */
	wr(r, 0x024, 0);
	wr(r, 0x020, 0);
	assert_int_equal(r->d.driver_features, 0x3 | (1ull << 32));
}

static void test_features_refused(void **state)
{
	struct regs *r = *state;
	static const uint64_t bad[] = {
		0x3,                      /* no VERSION_1 */
		0x1 | (1ull << 32),       /* required bit 1 missing */
		0x3 | (1ull << 32) | 0x4, /* bit 2 not offered */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wr(r, 0x070, 0);
		negotiate(r, bad[i]);
		assert_int_equal(rd(r, 0x070), 3);
		/* DRIVER_OK without FEATURES_OK does not stick either. */
		wr(r, 0x070, 3 | 4);
		assert_int_equal(rd(r, 0x070) & 4, 0);
	}
}

static void setup_queue0(struct regs *r)
{
	wr(r, 0x030, 0);
	wr(r, 0x038, QNUM);
	wr(r, 0x080, (uint32_t)DESC);
	wr(r, 0x084, 0);
	wr(r, 0x090, (uint32_t)AVAIL);
	wr(r, 0x094, 0);
	wr(r, 0x0a0, (uint32_t)USED);
	wr(r, 0x0a4, 0);
	wr(r, 0x044, 1);
}

static void test_driver_ok_and_reset(void **state)
{
	struct regs *r = *state;
	uint32_t mask;
	unsigned ev;

	negotiate(r, 0x3 | (1ull << 32) | (1ull << 29));
	setup_queue0(r);
	assert_int_equal(rd(r, 0x044), 1);
	assert_true(r->d.q[0].event_idx);
	assert_false(r->d.q[0].indirect);
	wr(r, 0x070, 3 | 8 | 4);
	assert_int_equal(rd(r, 0x070), 15);
	ev = vmmio_take_pending(&r->d, &mask);
	assert_int_equal(ev, VMMIO_EV_DRIVER_OK);
	assert_true(vmmio_queue_live_locked(&r->d, 0));
	assert_false(vmmio_queue_live_locked(&r->d, 1));

	/* A notify by MMIO exit lands in the mask. */
	wr(r, 0x050, 0);
	wr(r, 0x050, 7); /* no such queue: ignored */
	ev = vmmio_take_pending(&r->d, &mask);
	assert_int_equal(ev, VMMIO_EV_NOTIFY);
	assert_int_equal(mask, 1);

	wr(r, 0x070, 0);
	assert_int_equal(rd(r, 0x070), 0);
	assert_int_equal(rd(r, 0x044), 0);
	assert_int_equal(r->d.driver_features, 0);
	assert_int_equal(r->d.reset_count, 1);
	ev = vmmio_take_pending(&r->d, &mask);
	assert_int_equal(ev, VMMIO_EV_RESET);
}

static void test_queue_setup_refused(void **state)
{
	struct regs *r = *state;

	negotiate(r, 0x3 | (1ull << 32));
	wr(r, 0x030, 1);
	wr(r, 0x038, 16); /* above QueueNumMax 8 */
	wr(r, 0x044, 1);
	assert_int_equal(rd(r, 0x044), 0);
	assert_true(rd(r, 0x070) & VIRTIO_STATUS_NEEDS_RESET);
	/* Not DRIVER_OK yet: no config interrupt. */
	assert_int_equal(r->irqs, 0);
	/* The driver cannot clear NEEDS_RESET but by a reset. */
	wr(r, 0x070, 3 | 8);
	assert_true(rd(r, 0x070) & VIRTIO_STATUS_NEEDS_RESET);
	wr(r, 0x070, 0);
	assert_int_equal(rd(r, 0x070), 0);
}

static void test_needs_reset_interrupt(void **state)
{
	struct regs *r = *state;

	negotiate(r, 0x3 | (1ull << 32));
	setup_queue0(r);
	wr(r, 0x070, 15);
	pthread_mutex_lock(&r->d.lock);
	vmmio_needs_reset_locked(&r->d);
	vmmio_needs_reset_locked(&r->d); /* once */
	assert_false(vmmio_queue_live_locked(&r->d, 0));
	pthread_mutex_unlock(&r->d.lock);
	assert_int_equal(r->irqs, 1);
	assert_int_equal(rd(r, 0x060), VMMIO_INT_CONFIG);
	assert_int_equal(rd(r, 0x070), 15 | VIRTIO_STATUS_NEEDS_RESET);
}

static void test_interrupt_ack(void **state)
{
	struct regs *r = *state;

	pthread_mutex_lock(&r->d.lock);
	vmmio_raise_locked(&r->d, VMMIO_INT_VRING);
	vmmio_raise_locked(&r->d, VMMIO_INT_CONFIG);
	pthread_mutex_unlock(&r->d.lock);
	assert_int_equal(rd(r, 0x060), 3);
	wr(r, 0x064, VMMIO_INT_VRING);
	assert_int_equal(rd(r, 0x060), VMMIO_INT_CONFIG);
	wr(r, 0x064, VMMIO_INT_CONFIG);
	assert_int_equal(rd(r, 0x060), 0);
	assert_int_equal(r->irqs, 2);
}

static void test_config(void **state)
{
	struct regs *r = *state;
	uint8_t b = 0;
	uint16_t h = 0;
	uint64_t q = 0;
	uint8_t next[12] = { 0 };
	uint32_t gen = rd(r, 0x0fc);

	vmmio_mmio(&r->d, 0x100 + 3, &b, 1, false);
	assert_int_equal(b, 4);
	vmmio_mmio(&r->d, 0x100 + 4, (uint8_t *)&h, 2, false);
	assert_int_equal(h, 0x0605);
	vmmio_mmio(&r->d, 0x100, (uint8_t *)&q, 8, false);
	assert_int_equal(q, 0x0807060504030201ull);
	/* Outside the declared bytes: zero, and writes do nothing. */
	assert_int_equal(rd(r, 0x100 + 12), 0);
	wr(r, 0x100, 0xffffffff);
	assert_int_equal(rd(r, 0x100), 0x04030201);

	/* An update without DRIVER_OK bumps the generation, no interrupt. */
	next[0] = 0x42;
	assert_int_equal(vmmio_config_update(&r->d, next, sizeof(next), true), 0);
	assert_int_equal(rd(r, 0x0fc), gen + 1);
	assert_int_equal(r->irqs, 0);
	assert_int_equal(rd(r, 0x100), 0x42);
	negotiate(r, 0x3 | (1ull << 32));
	wr(r, 0x070, 15);
	assert_int_equal(vmmio_config_update(&r->d, cfg_bytes, sizeof(cfg_bytes), true), 0);
	assert_int_equal(rd(r, 0x0fc), gen + 2);
	assert_int_equal(r->irqs, 1);
	assert_int_equal(rd(r, 0x060), VMMIO_INT_CONFIG);
	/* notify false: generation only. */
	assert_int_equal(vmmio_config_update(&r->d, cfg_bytes, sizeof(cfg_bytes), false), 0);
	assert_int_equal(r->irqs, 1);
}

static void test_odd_widths(void **state)
{
	struct regs *r = *state;
	uint16_t h = 0x1234;

	vmmio_mmio(&r->d, 0x000, (uint8_t *)&h, 2, false);
	assert_int_equal(h, 0);
	h = 0;
	vmmio_mmio(&r->d, 0x070, (uint8_t *)&h, 2, true); /* not a reset */
	negotiate(r, 0x3 | (1ull << 32));
	vmmio_mmio(&r->d, 0x070, (uint8_t *)&h, 2, true);
	assert_int_equal(rd(r, 0x070), 11);
}

static void test_successor_declaration(void **state)
{
	struct regs *r = *state;
	uint8_t other[12] = { 9 };
	uint32_t gen = rd(r, 0x0fc);

	/* Same device: accepted; new config bytes are a config update. */
	assert_int_equal(vmmio_set_device(&r->d, 24, 0x3, 0x2, 2, qmax, other, sizeof(other)), 0);
	assert_int_equal(rd(r, 0x0fc), gen + 1);
	assert_int_equal(rd(r, 0x100), 9);
	/* Another device in meaning: refused. */
	assert_int_equal(vmmio_set_device(&r->d, 27, 0x3, 0x2, 2, qmax, other, sizeof(other)),
	                 -EBUSY);
	assert_int_equal(vmmio_set_device(&r->d, 24, 0x1, 0x0, 2, qmax, other, sizeof(other)),
	                 -EBUSY);
	assert_int_equal(vmmio_set_device(&r->d, 24, 0x3, 0x2, 1, qmax, other, sizeof(other)),
	                 -EBUSY);
}

static void test_bad_declarations(void **state)
{
	struct vmmio d;
	static const uint16_t odd[1] = { 6 };
	uint8_t big[VMMIO_CONFIG_MAX + 1] = { 0 };

	(void)state;
	assert_int_equal(vmmio_init(&d, VMMIO_MAX_DEVICES, NULL), -ENOSPC);
	assert_int_equal(vmmio_init(&d, 0, NULL), 0);
	assert_int_equal(vmmio_set_device(&d, 0, 0, 0, 1, qmax, NULL, 0), -EINVAL);
	assert_int_equal(vmmio_set_device(&d, 24, 0, 0, 0, qmax, NULL, 0), -EINVAL);
	assert_int_equal(vmmio_set_device(&d, 24, 0, 0, VMMIO_MAX_QUEUES + 1, qmax, NULL, 0),
	                 -EINVAL);
	assert_int_equal(vmmio_set_device(&d, 24, 0, 0, 1, odd, NULL, 0), -EINVAL);
	assert_int_equal(vmmio_set_device(&d, 24, 0, 0, 1, qmax, big, sizeof(big)), -EINVAL);
	assert_int_equal(vmmio_set_device(&d, 24, 0x1, 0x2, 1, qmax, NULL, 0), -EINVAL);
	vmmio_destroy(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readable_and_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_scatters_and_push, setup, teardown),
		cmocka_unit_test_setup_teardown(test_response_cut_to_room, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_interrupt_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect, setup, teardown),
		cmocka_unit_test(test_bad_chains),
		cmocka_unit_test_setup_teardown(test_check_rings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity, regs_setup, regs_teardown),
		cmocka_unit_test_setup_teardown(test_features_ok, regs_setup, regs_teardown),
		cmocka_unit_test_setup_teardown(test_features_refused, regs_setup, regs_teardown),
		cmocka_unit_test_setup_teardown(test_driver_ok_and_reset, regs_setup,
		                                regs_teardown),
		cmocka_unit_test_setup_teardown(test_queue_setup_refused, regs_setup,
		                                regs_teardown),
		cmocka_unit_test_setup_teardown(test_needs_reset_interrupt, regs_setup,
		                                regs_teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_ack, regs_setup, regs_teardown),
		cmocka_unit_test_setup_teardown(test_config, regs_setup, regs_teardown),
		cmocka_unit_test_setup_teardown(test_odd_widths, regs_setup, regs_teardown),
		cmocka_unit_test_setup_teardown(test_successor_declaration, regs_setup,
		                                regs_teardown),
		cmocka_unit_test(test_bad_declarations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
