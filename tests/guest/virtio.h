/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest's virtio-mmio driver pieces (virtio 1.2, 4.2.2) shared by the
 * virtio scenarios: the register map, one split virtqueue of QSIZE, finding
 * a device in the FDT and handing queue 0 to it, and waiting for its used
 * ring: halted until the device's interrupt, as Linux's drivers wait, or
 * polled with PAUSE (virtio_poll=1 on the command line, or no LAPIC).
 */
#ifndef SPLITVM_GUEST_VIRTIO_H
#define SPLITVM_GUEST_VIRTIO_H

#include "guest.h"

#define REG_MAGIC        0x000
#define REG_VERSION      0x004
#define REG_DEVICE_ID    0x008
#define REG_DEV_FEAT     0x010
#define REG_DEV_FEAT_SEL 0x014
#define REG_DRV_FEAT     0x020
#define REG_DRV_FEAT_SEL 0x024
#define REG_QUEUE_SEL    0x030
#define REG_QUEUE_MAX    0x034
#define REG_QUEUE_NUM    0x038
#define REG_QUEUE_READY  0x044
#define REG_QUEUE_NOTIFY 0x050
#define REG_INT_STATUS   0x060
#define REG_INT_ACK      0x064
#define REG_STATUS       0x070
#define REG_DESC_LO      0x080
#define REG_DESC_HI      0x084
#define REG_AVAIL_LO     0x090
#define REG_AVAIL_HI     0x094
#define REG_USED_LO      0x0a0
#define REG_USED_HI      0x0a4
#define REG_CONFIG_GEN   0x0fc
#define REG_CONFIG       0x100

#define ST_ACK         1u
#define ST_DRIVER      2u
#define ST_DRIVER_OK   4u
#define ST_FEATURES_OK 8u
#define ST_NEEDS_RESET 0x40u

#define D_NEXT  1
#define D_WRITE 2

#define QSIZE 16

#define VIRTIO_SPIN_MAX 4000000000ull
#define VIRTIO_WAIT_MAX 60000u

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vq {
	struct vdesc desc[QSIZE];
	struct {
		uint16_t flags;
		uint16_t idx;
		uint16_t ring[QSIZE];
		uint16_t used_event;
	} avail __attribute__((aligned(2)));
	struct {
		uint16_t flags;
		uint16_t idx;
		struct {
			uint32_t id;
			uint32_t len;
		} ring[QSIZE];
		uint16_t avail_event;
	} used __attribute__((aligned(4096)));
};

static inline void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static inline uint32_t virtio_rd(uint64_t base, uint32_t off)
{
	return *(volatile uint32_t *)(uintptr_t)(base + off);
}

static inline void virtio_wr(uint64_t base, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(base + off) = v;
}

/* How a driver waits for its device's used ring (virtio_wait_used()). */
struct virtio_wait {
	bool irq;     /* halts for the interrupt; polls when false */
	uint32_t gsi; /* the node's interrupts cell */
};

/*
 * The first virtio,mmio node of the FDT whose window (mapped uncached on
 * the way) holds a version 2 device @device_id: its base in *@base, and in
 * *@w how to wait for it: its GSI routed through the IOAPIC unless the
 * command line says virtio_poll=1 (a node without an interrupts cell, or a
 * guest without a LAPIC, polls and says so).  Failures print "@name: ..."
 * and return 1.
 */
int virtio_find(const struct guest_boot *b, const char *name, uint32_t device_id, uint64_t *base,
                struct virtio_wait *w) GUEST_MUST_CHECK;
/*
 * How a driver of the device at FDT GSI @gsi (UINT32_MAX: none) waits, in
 * *@w: polling when the command line says virtio_poll=1 (0), else halted
 * on the routed interrupt (0), else polling for want of it (a negative
 * GERR_*; said on the console either way).
 */
int virtio_wait_setup(const struct guest_boot *b, const char *name, uint32_t gsi,
                      struct virtio_wait *w);
/*
 * Until the used ring's index *@idx differs from @last: 0, or 1 once the
 * wait has lasted minutes (@w->irq: 60000 halts of at most 10 ms) or
 * VIRTIO_SPIN_MAX polls, long enough for a device process to die and its
 * successor to take the request over.  InterruptStatus is the caller's:
 * the interrupt is edge-triggered, and the core pulses it for every used
 * element whatever InterruptStatus holds.
 */
int virtio_wait_used(const struct virtio_wait *w, const volatile uint16_t *idx,
                     uint16_t last) GUEST_MUST_CHECK;
/* The config space's le64 at @off, read as two le32. */
uint64_t virtio_cfg64(uint64_t base, uint32_t off);
/*
 * Queue 0 of QSIZE on @q (zeroed here), after a reset: checked not ready
 * and at least QSIZE long, its rings told, QueueReady set.  Failures print
 * "@name: ..." and return 1.
 */
int virtio_queue0(uint64_t base, struct vq *q, const char *name) GUEST_MUST_CHECK;
/* QueueNum and the three ring addresses of @q to the selected queue. */
void virtio_queue_rings(uint64_t base, const struct vq *q);

#endif
