// SPDX-License-Identifier: GPL-2.0-or-later
/* The virtio-mmio driver pieces of the virtio scenarios; see virtio.h. */
#include "virtio.h"
#include "gfdt.h"

struct finder {
	uint64_t bases[8];
	uint32_t gsis[8]; /* UINT32_MAX: no interrupts cell */
	unsigned n;
};

static int find_cb(void *ctx, const struct gfdt_node *node)
{
	struct finder *f = ctx;
	uint64_t addr, size;

	if (!gfdt_node_is_compatible(node, "virtio,mmio") || f->n >= ARRAY_SIZE(f->bases))
		return 0;
	if (gfdt_reg(node, 0, &addr, &size) || size < 0x200)
		return 0;
	f->gsis[f->n] = gfdt_interrupt(node);
	f->bases[f->n++] = addr;
	return 0;
}

int virtio_wait_setup(const struct guest_boot *b, const char *name, uint32_t gsi,
                      struct virtio_wait *w)
{
	uint64_t poll = 0;
	int err;

	w->irq = false;
	w->gsi = gsi;
	if (!cmdline_u64(b, "virtio_poll", &poll) && poll) {
		say("%s: polls its used ring (virtio_poll=1)", name);
		return 0;
	}
	if (gsi == UINT32_MAX) {
		say("%s: no interrupts cell in its FDT node: polls its used ring", name);
		return -GERR_NOENT;
	}
	err = guest_irq_route(gsi);
	if (err) {
		say("%s: cannot route GSI %u (error %d): polls its used ring", name, gsi, err);
		return err;
	}
	w->irq = true;
	return 0;
}

int virtio_find(const struct guest_boot *b, const char *name, uint32_t device_id, uint64_t *base,
                struct virtio_wait *w)
{
	struct finder f = { .n = 0 };
	int err;

	if (!b->dtb)
		return fail("%s: no device tree was handed over", name);
	err = gfdt_nodes(b->dtb, b->dtb_size, find_cb, &f);
	if (err)
		return fail("%s: device tree: %s", name, gfdt_strerror(err));
	for (unsigned i = 0; i < f.n; i++) {
		if (mmu_map(f.bases[i], 0x200, MMU_UNCACHED))
			return fail("%s: cannot map the window at 0x%lx", name, f.bases[i]);
		*base = f.bases[i];
		if (virtio_rd(*base, REG_MAGIC) == 0x74726976 &&
		    virtio_rd(*base, REG_VERSION) == 2 &&
		    virtio_rd(*base, REG_DEVICE_ID) == device_id) {
			/* A driver that cannot take the interrupt still works, polling. */
			virtio_wait_setup(b, name, f.gsis[i], w);
			return 0;
		}
	}
	return fail("%s: none of %u virtio,mmio nodes is a %s device", name, f.n, name);
}

uint64_t virtio_cfg64(uint64_t base, uint32_t off)
{
	uint32_t lo = virtio_rd(base, REG_CONFIG + off), hi = virtio_rd(base, REG_CONFIG + off + 4);

	return (uint64_t)hi << 32 | lo;
}

void virtio_queue_rings(uint64_t base, const struct vq *q)
{
	virtio_wr(base, REG_QUEUE_NUM, QSIZE);
	virtio_wr(base, REG_DESC_LO, (uint32_t)(uintptr_t)q->desc);
	virtio_wr(base, REG_DESC_HI, (uint32_t)((uint64_t)(uintptr_t)q->desc >> 32));
	virtio_wr(base, REG_AVAIL_LO, (uint32_t)(uintptr_t)&q->avail);
	virtio_wr(base, REG_AVAIL_HI, (uint32_t)((uint64_t)(uintptr_t)&q->avail >> 32));
	virtio_wr(base, REG_USED_LO, (uint32_t)(uintptr_t)&q->used);
	virtio_wr(base, REG_USED_HI, (uint32_t)((uint64_t)(uintptr_t)&q->used >> 32));
}

int virtio_queue0(uint64_t base, struct vq *q, const char *name)
{
	uint32_t v;

	virtio_wr(base, REG_QUEUE_SEL, 0);
	if (virtio_rd(base, REG_QUEUE_READY))
		return fail("%s: queue 0 ready after a reset", name);
	v = virtio_rd(base, REG_QUEUE_MAX);
	if (v < QSIZE)
		return fail("%s: QueueNumMax %u < %u", name, v, QSIZE);
	memset(q, 0, sizeof(*q));
	virtio_queue_rings(base, q);
	virtio_wr(base, REG_QUEUE_READY, 1);
	return 0;
}

int virtio_wait_used(const struct virtio_wait *w, const volatile uint16_t *idx, uint16_t last)
{
	if (w->irq) {
		/*
		 * The check runs with interrupts off and the halt is sti; hlt:
		 * an interrupt that came after the check wakes the halt
		 * instead of being taken before it.
		 */
		for (unsigned i = 0; i < VIRTIO_WAIT_MAX; i++) {
			if (*idx != last)
				return 0;
			guest_wait_irq();
		}
		return *idx != last ? 0 : 1;
	}
	for (uint64_t i = 0; i < VIRTIO_SPIN_MAX; i++) {
		if (*idx != last)
			return 0;
		cpu_relax();
	}
	return 1;
}
