/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-mmio scenarios: the guest's side of the core's transport, driven
 * as Linux's virtio_mmio does it.
 *
 *   virtio       finds the virtio,mmio nodes of the FDT, negotiates
 *                VERSION_1, sets up queue 0 and sends requests=N requests
 *                (default 4) to the first device; each answer must be the
 *                test echo device's: le32 sum of the bytes, le32 count;
 *                with virtio_id= the device's config must read "echo" and
 *                version 1 (never the 0 a late-restating device declares).
 *                The device's interrupt is routed through the IOAPIC (its
 *                FDT interrupts cell) and the guest halts for it: each
 *                used element must bring exactly one interrupt, with
 *                InterruptStatus's used bit (irqfd -> in-kernel IOAPIC ->
 *                LAPIC -> IDT, the path Linux's driver takes); the last
 *                line says "N requests answered, N interrupts".
 *                virtio_poll=1 polls the used ring instead ("polled").
 *   virtio-bad   for each broken chain of a table (loop, head out of range,
 *                next out of range, buffer outside RAM, readable after
 *                writable, zero length): send it, wait for NEEDS_RESET and
 *                the config interrupt, reset, and check that a good request
 *                is answered again.
 */
#include "guest.h"
#include "gfdt.h"
#include "virtio.h"

#define VIRTIO_MAX_DEVS 8

static struct vq vq __attribute__((aligned(4096)));
static uint8_t req_buf[256] __attribute__((aligned(64)));
static uint8_t resp_buf[64] __attribute__((aligned(64)));

struct vdev {
	uint64_t base;
	uint32_t gsi;
	struct virtio_wait wait;
	uint16_t last_used;
	uint16_t avail_idx;
};

struct finder {
	struct vdev devs[VIRTIO_MAX_DEVS];
	unsigned n;
};

static uint32_t rd(const struct vdev *d, uint32_t off)
{
	return virtio_rd(d->base, off);
}

static void wr(const struct vdev *d, uint32_t off, uint32_t v)
{
	virtio_wr(d->base, off, v);
}

static int find_cb(void *ctx, const struct gfdt_node *node)
{
	struct finder *f = ctx;
	uint64_t addr, size;

	if (!gfdt_node_is_compatible(node, "virtio,mmio") || f->n >= VIRTIO_MAX_DEVS)
		return 0;
	if (gfdt_reg(node, 0, &addr, &size) || size < 0x200)
		return 0;
	f->devs[f->n] = (struct vdev){ .base = addr, .gsi = gfdt_interrupt(node) };
	f->n++;
	return 0;
}

static int find_devices(const struct guest_boot *b, struct finder *f)
{
	int err;

	f->n = 0;
	if (!b->dtb)
		return fail("virtio: no device tree was handed over");
	err = gfdt_nodes(b->dtb, b->dtb_size, find_cb, f);
	if (err)
		return fail("virtio: device tree: %s", gfdt_strerror(err));
	if (f->n == 0)
		return fail("virtio: no virtio,mmio node in the device tree");
	for (unsigned i = 0; i < f->n; i++) {
		if (mmu_map(f->devs[i].base, 0x200, MMU_UNCACHED))
			return fail("virtio: cannot map the window at 0x%lx", f->devs[i].base);
	}
	return 0;
}

/* Status 0 .. DRIVER_OK with VERSION_1 only and queue 0 of QSIZE. */
static int dev_init(struct vdev *d)
{
	uint32_t v, hi;

	wr(d, REG_STATUS, 0);
	if (rd(d, REG_STATUS) != 0)
		return fail("virtio 0x%lx: status not 0 after a reset", d->base);
	wr(d, REG_STATUS, ST_ACK);
	wr(d, REG_STATUS, ST_ACK | ST_DRIVER);
	wr(d, REG_DEV_FEAT_SEL, 1);
	hi = rd(d, REG_DEV_FEAT);
	if (!(hi & 1))
		return fail("virtio 0x%lx: VERSION_1 not offered (features hi 0x%x)", d->base, hi);
	wr(d, REG_DRV_FEAT_SEL, 0);
	wr(d, REG_DRV_FEAT, 0);
	wr(d, REG_DRV_FEAT_SEL, 1);
	wr(d, REG_DRV_FEAT, 1);
	wr(d, REG_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	v = rd(d, REG_STATUS);
	if (!(v & ST_FEATURES_OK))
		return fail("virtio 0x%lx: FEATURES_OK did not stick (status 0x%x)", d->base, v);

	wr(d, REG_QUEUE_SEL, 0);
	if (rd(d, REG_QUEUE_READY))
		return fail("virtio 0x%lx: queue 0 ready after a reset", d->base);
	v = rd(d, REG_QUEUE_MAX);
	if (v < QSIZE)
		return fail("virtio 0x%lx: QueueNumMax %u < %u", d->base, v, QSIZE);
	memset(&vq, 0, sizeof(vq));
	d->last_used = 0;
	d->avail_idx = 0;
	virtio_queue_rings(d->base, &vq);
	wr(d, REG_QUEUE_READY, 1);
	if (rd(d, REG_QUEUE_READY) != 1)
		return fail("virtio 0x%lx: queue 0 refused (status 0x%x)", d->base,
		            rd(d, REG_STATUS));
	wr(d, REG_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	return 0;
}

static void make_avail(struct vdev *d, uint16_t head)
{
	vq.avail.ring[d->avail_idx % QSIZE] = head;
	barrier();
	d->avail_idx++;
	*(volatile uint16_t *)&vq.avail.idx = d->avail_idx;
	barrier();
	wr(d, REG_QUEUE_NOTIFY, 0);
}

/* Wait for the next used element; -1 on timeout. */
static int wait_used(struct vdev *d, uint32_t *len)
{
	if (virtio_wait_used(&d->wait, &vq.used.idx, d->last_used))
		return -1;
	barrier();
	*len = vq.used.ring[d->last_used % QSIZE].len;
	d->last_used++;
	return 0;
}

/*
 * @what was seen (a used element, NEEDS_RESET): its interrupt must come
 * too, once.  The core stores the used index or the status before it
 * signals, so the interrupt may still be on its way: halts until it is
 * taken (10 ms each, 100 at most).
 */
static int check_irq(const struct vdev *d, const char *what, uint64_t before)
{
	for (unsigned i = 0; i < 100 && idle_dev_irqs() == before; i++)
		guest_wait_irq();
	if (idle_dev_irqs() == before)
		return fail("virtio %s: no interrupt on GSI %u within 1 s", what, d->gsi);
	if (idle_dev_irqs() != before + 1)
		return fail("virtio %s: %lu interrupts, want 1", what, idle_dev_irqs() - before);
	return 0;
}

/* The interrupt routed unless virtio_poll=1: this scenario tests it, so it must route. */
static int wait_setup(const struct guest_boot *b, struct vdev *d)
{
	if (virtio_wait_setup(b, "virtio", d->gsi, &d->wait) < 0)
		return fail("virtio 0x%lx: its interrupt (GSI %u) cannot be routed", d->base,
		            d->gsi);
	return 0;
}

/*
 * With answer_config=1 the echo device sends a config copy with each answer,
 * its version counting the answers: the core must apply it before it pushes
 * the used element (docs/protocol.md, Requests), so the guest that sees
 * answer n already reads version n + 2 under a new ConfigGeneration.
 */
static bool answer_config;

static int check_answer_config(struct vdev *d, unsigned n, uint32_t gen_before)
{
	uint32_t ver = rd(d, REG_CONFIG + 4), gen = rd(d, REG_CONFIG_GEN);

	if (ver != n + 2)
		return fail("virtio: request %u: config version %u once answered, want %u", n, ver,
		            n + 2);
	if (gen == gen_before)
		return fail(
		        "virtio: request %u: ConfigGeneration %u unchanged by the answer's config",
		        n, gen);
	return 0;
}

static int good_request(struct vdev *d, unsigned n)
{
	uint32_t sum = 0, len = 0, got_sum, got_n;
	uint32_t isr, gen_before = rd(d, REG_CONFIG_GEN);
	unsigned size = 1 + (n * 37) % sizeof(req_buf);
	uint64_t irqs = idle_dev_irqs();

	for (unsigned i = 0; i < size; i++) {
		req_buf[i] = (uint8_t)(n * 13 + i);
		sum += req_buf[i];
	}
	memset(resp_buf, 0, sizeof(resp_buf));
	vq.desc[0] = (struct vdesc){ (uintptr_t)req_buf, size, D_NEXT, 1 };
	vq.desc[1] = (struct vdesc){ (uintptr_t)resp_buf, sizeof(resp_buf), D_WRITE, 0 };
	make_avail(d, 0);
	if (wait_used(d, &len))
		return fail("virtio: request %u: no used element (status 0x%x)", n,
		            rd(d, REG_STATUS));
	if (len != 8)
		return fail("virtio: request %u: used len %u, want 8", n, len);
	memcpy(&got_sum, resp_buf, 4);
	memcpy(&got_n, resp_buf + 4, 4);
	if (got_sum != sum || got_n != size)
		return fail("virtio: request %u: answer sum %u count %u, want %u %u", n, got_sum,
		            got_n, sum, size);
	if (answer_config && check_answer_config(d, n, gen_before))
		return 1;
	if (d->wait.irq && check_irq(d, "request: used element", irqs))
		return 1;
	isr = rd(d, REG_INT_STATUS);
	if (!(isr & 1))
		return fail("virtio: request %u: InterruptStatus 0x%x lacks the used bit", n, isr);
	wr(d, REG_INT_ACK, isr);
	return 0;
}

static int virtio_run(const struct guest_boot *b)
{
	struct finder f;
	uint64_t n = 4, want_id = 0, flag = 0;
	int err;

	if (find_devices(b, &f))
		return 1;
	err = cmdline_u64(b, "requests", &n);
	if (err && err != -GERR_NOENT)
		return fail("requests=: want a number");
	err = cmdline_u64(b, "virtio_id", &want_id);
	if (err && err != -GERR_NOENT)
		return fail("virtio_id=: want a number");
	err = cmdline_u64(b, "answer_config", &flag);
	if (err && err != -GERR_NOENT)
		return fail("answer_config=: want 0 or 1");
	answer_config = !err && flag;
	for (unsigned i = 0; i < f.n; i++) {
		struct vdev *d = &f.devs[i];
		uint32_t magic = rd(d, REG_MAGIC), ver = rd(d, REG_VERSION);

		if (magic != 0x74726976 || ver != 2)
			return fail("virtio 0x%lx: magic 0x%x version %u, want 0x74726976 2",
			            d->base, magic, ver);
		say("virtio device at 0x%lx gsi %u id %u", d->base, d->gsi, rd(d, REG_DEVICE_ID));
	}
	if (want_id && rd(&f.devs[0], REG_DEVICE_ID) != want_id)
		return fail("virtio: device id %u, want %lu", rd(&f.devs[0], REG_DEVICE_ID),
		            want_id);
	if (want_id) {
		uint32_t magic = rd(&f.devs[0], REG_CONFIG), ver = rd(&f.devs[0], REG_CONFIG + 4);

		if (magic != 0x6f686365u || ver != 1)
			return fail("virtio: config 0x%x version %u, want \"echo\" version 1",
			            magic, ver);
		say("virtio: config \"echo\" version %u", ver);
	}
	if (dev_init(&f.devs[0]))
		return 1;
	if (wait_setup(b, &f.devs[0]))
		return 1;
	for (unsigned i = 0; i < n; i++) {
		if (good_request(&f.devs[0], i))
			return 1;
	}
	if (f.devs[0].wait.irq)
		say("virtio: %lu requests answered, %lu interrupts", n, idle_dev_irqs());
	else
		say("virtio: %lu requests answered, polled", n);
	return 0;
}

const struct guest_scenario scenario_virtio = {
	.name = "virtio",
	.run = virtio_run,
};

/* ---- broken chains ----------------------------------------------------- */

struct bad_chain {
	const char *name;
	uint16_t head;
	struct vdesc d[3];
};

static const struct bad_chain bad_chains[] = {
	{ "loop", 0, { { 0, 8, D_NEXT, 1 }, { 0, 8, D_NEXT, 0 } } },
	{ "head out of range", QSIZE + 1, { { 0 } } },
	{ "next out of range", 0, { { 0, 8, D_NEXT, 200 } } },
	{ "buffer outside RAM", 0, { { 0xfff0000000ull, 8, 0, 0 } } },
	{ "readable after writable", 0, { { 0, 8, D_WRITE | D_NEXT, 1 }, { 0, 8, 0, 0 } } },
	{ "zero length", 0, { { 0, 0, 0, 0 } } },
};

static int bad_one(struct vdev *d, const struct bad_chain *c)
{
	uint32_t st = 0, isr;
	uint64_t i, irqs = idle_dev_irqs();

	for (unsigned k = 0; k < 3; k++) {
		vq.desc[k] = c->d[k];
		if (!vq.desc[k].addr)
			vq.desc[k].addr = (uintptr_t)req_buf;
	}
	make_avail(d, c->head);
	for (i = 0; i < 1000000; i++) {
		st = rd(d, REG_STATUS);
		if (st & ST_NEEDS_RESET)
			break;
	}
	if (!(st & ST_NEEDS_RESET))
		return fail("virtio-bad %s: no NEEDS_RESET (status 0x%x)", c->name, st);
	if (d->wait.irq && check_irq(d, "bad chain: NEEDS_RESET", irqs))
		return 1;
	isr = rd(d, REG_INT_STATUS);
	if (!(isr & 2))
		return fail("virtio-bad %s: InterruptStatus 0x%x lacks the config bit", c->name,
		            isr);
	wr(d, REG_INT_ACK, isr);
	say("virtio-bad %s: NEEDS_RESET, config interrupt", c->name);
	if (dev_init(d))
		return 1;
	if (good_request(d, 1))
		return 1;
	return 0;
}

static int virtio_bad_run(const struct guest_boot *b)
{
	struct finder f;

	if (find_devices(b, &f) || dev_init(&f.devs[0]) || wait_setup(b, &f.devs[0]))
		return 1;
	if (good_request(&f.devs[0], 0))
		return 1;
	for (size_t i = 0; i < ARRAY_SIZE(bad_chains); i++) {
		if (bad_one(&f.devs[0], &bad_chains[i]))
			return 1;
	}
	say("virtio-bad: %u broken chains reported, device recovered each time",
	    (unsigned)ARRAY_SIZE(bad_chains));
	return 0;
}

const struct guest_scenario scenario_virtio_bad = {
	.name = "virtio-bad",
	.run = virtio_bad_run,
};
