/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virtio-mmio register file (virtio 1.2, 4.2 "Virtio Over MMIO",
 * version 2; the legacy version 1 registers are not implemented), once for
 * every device.  The guest drives it from vCPU threads; everything that needs
 * the device process goes through @pending to the device plane's event loop,
 * so a vCPU never waits on another process.
 *
 * Decisions, where the spec leaves room:
 * - The core owns the transport feature bits 24..41: it offers VERSION_1
 *   (required: no legacy), INDIRECT_DESC and EVENT_IDX, and drops whatever
 *   a device process declares in that range.
 * - FEATURES_OK sticks only when the driver accepted VERSION_1, every bit of
 *   the device's required features, and nothing that was not offered.
 * - Registers are 32-bit: other widths read 0 and are dropped; config space
 *   takes 1, 2, 4 and 8-byte accesses inside the declared bytes.
 * - A bad queue setup (size not a power of two or above QueueNumMax,
 *   misaligned rings) refuses QueueReady and sets NEEDS_RESET; rings
 *   outside RAM set it at the first pop.
 */
#include "core.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "log.h"

#define REG_MAGIC               0x000
#define REG_VERSION             0x004
#define REG_DEVICE_ID           0x008
#define REG_VENDOR_ID           0x00c
#define REG_DEVICE_FEATURES     0x010
#define REG_DEVICE_FEATURES_SEL 0x014
#define REG_DRIVER_FEATURES     0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL           0x030
#define REG_QUEUE_NUM_MAX       0x034
#define REG_QUEUE_NUM           0x038
#define REG_QUEUE_READY         0x044
#define REG_QUEUE_NOTIFY        VMMIO_REG_QUEUE_NOTIFY
#define REG_INTERRUPT_STATUS    0x060
#define REG_INTERRUPT_ACK       0x064
#define REG_STATUS              0x070
#define REG_QUEUE_DESC_LOW      0x080
#define REG_QUEUE_DESC_HIGH     0x084
#define REG_QUEUE_DRIVER_LOW    0x090
#define REG_QUEUE_DRIVER_HIGH   0x094
#define REG_QUEUE_DEVICE_LOW    0x0a0
#define REG_QUEUE_DEVICE_HIGH   0x0a4
#define REG_SHM_SEL             0x0ac
#define REG_SHM_LEN_LOW         0x0b0
#define REG_SHM_LEN_HIGH        0x0b4
#define REG_SHM_BASE_LOW        0x0b8
#define REG_SHM_BASE_HIGH       0x0bc
#define REG_CONFIG_GENERATION   0x0fc
#define REG_CONFIG              0x100

#define VIRTIO_MMIO_MAGIC 0x74726976u /* "virt" */

#define TRANSPORT_BITS (((1ull << 42) - 1) & ~((1ull << 24) - 1))
#define CORE_OFFERS                                                                                \
	((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC) |                    \
	 (1ull << VIRTIO_RING_F_EVENT_IDX))

static struct log_ratelimit vmmio_rl = LOG_RATELIMIT_INIT(1000, 10);

int vmmio_init(struct vmmio *d, unsigned index, const struct memmap *mm)
{
	int r;

	if (index >= VMMIO_MAX_DEVICES) {
		log_warnx("virtio-mmio: at most %u devices (IOAPIC pins %u..%u)", VMMIO_MAX_DEVICES,
		          VMMIO_GSI_BASE, VMMIO_GSI_BASE + VMMIO_MAX_DEVICES - 1);
		return -ENOSPC;
	}
	memset(d, 0, sizeof(*d));
	d->index = index;
	d->base = MEMMAP_VIRTIO_MMIO_BASE + index * MEMMAP_VIRTIO_MMIO_SLOT;
	d->gsi = VMMIO_GSI_BASE + index;
	d->mm = mm;
	r = -pthread_mutex_init(&d->lock, NULL);
	if (r)
		log_warnx("virtio-mmio %u: pthread_mutex_init: %s", index, strerror(-r));
	return r;
}

void vmmio_destroy(struct vmmio *d)
{
	if (!d)
		return;
	pthread_mutex_destroy(&d->lock);
}

static void note_locked(struct vmmio *d, unsigned ev)
{
	d->pending |= ev;
	if (d->kick)
		d->kick(d->opaque);
}

void vmmio_raise_locked(struct vmmio *d, uint32_t bits)
{
	d->isr |= bits;
	if (d->irq)
		d->irq(d->opaque);
}

void vmmio_needs_reset_locked(struct vmmio *d)
{
	if (d->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	/* 2.1.2: with DRIVER_OK set, the device must send a config change. */
	if (d->status & VIRTIO_STATUS_DRIVER_OK)
		vmmio_raise_locked(d, VMMIO_INT_CONFIG);
}

bool vmmio_queue_live_locked(const struct vmmio *d, unsigned qi)
{
	return qi < d->n_queues && d->q_ready[qi] && (d->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(d->status & VIRTIO_STATUS_NEEDS_RESET);
}

unsigned vmmio_take_pending(struct vmmio *d, uint32_t *notify)
{
	unsigned ev;

	pthread_mutex_lock(&d->lock);
	ev = d->pending;
	*notify = d->notify_mask;
	d->pending = 0;
	d->notify_mask = 0;
	pthread_mutex_unlock(&d->lock);
	return ev;
}

int vmmio_set_device(struct vmmio *d, uint32_t device_id, uint64_t features, uint64_t required,
                     unsigned n_queues, const uint16_t *queue_max, const void *config,
                     size_t config_len)
{
	uint64_t offered = (features & ~TRANSPORT_BITS) | CORE_OFFERS;
	int r = 0;

	if (device_id == 0 || device_id > 0xffff) {
		log_warnx("virtio-mmio %u: virtio_id %u is not a device id", d->index, device_id);
		return -EINVAL;
	}
	if (n_queues == 0 || n_queues > VMMIO_MAX_QUEUES) {
		log_warnx("virtio-mmio %u: queues: %u declared, 1..%u allowed", d->index, n_queues,
		          VMMIO_MAX_QUEUES);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n_queues; i++) {
		if (queue_max[i] == 0 || (queue_max[i] & (queue_max[i] - 1))) {
			log_warnx("virtio-mmio %u: queues[%u].max_size %u is not a power of two",
			          d->index, i, queue_max[i]);
			return -EINVAL;
		}
	}
	if (config_len > VMMIO_CONFIG_MAX) {
		log_warnx("virtio-mmio %u: config: %zu bytes, at most %llu fit the window",
		          d->index, config_len, (unsigned long long)VMMIO_CONFIG_MAX);
		return -EINVAL;
	}
	if (required & ~offered) {
		log_warnx("virtio-mmio %u: required_features 0x%" PRIx64
		          " are not all in features 0x%" PRIx64,
		          d->index, required, offered);
		return -EINVAL;
	}

	pthread_mutex_lock(&d->lock);
	if (d->declared) {
		/* A successor: same device in meaning, the guest keeps its state. */
		if (d->device_id != device_id || d->device_features != offered ||
		    d->required_features != required || d->n_queues != n_queues ||
		    memcmp(d->queue_max, queue_max, n_queues * sizeof(*queue_max))) {
			log_warnx("virtio-mmio %u: a successor declared another device (id, "
			          "features or queues differ)",
			          d->index);
			r = -EBUSY;
		} else if (config_len != d->config_len || memcmp(d->config, config, config_len)) {
			memcpy(d->config, config, config_len);
			d->config_len = (uint32_t)config_len;
			d->config_generation++;
			if (d->status & VIRTIO_STATUS_DRIVER_OK)
				vmmio_raise_locked(d, VMMIO_INT_CONFIG);
		}
		pthread_mutex_unlock(&d->lock);
		return r;
	}
	d->declared = true;
	d->device_id = device_id;
	d->device_features = offered;
	d->required_features = required;
	d->n_queues = n_queues;
	memcpy(d->queue_max, queue_max, n_queues * sizeof(*queue_max));
	memcpy(d->config, config, config_len);
	d->config_len = (uint32_t)config_len;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

int vmmio_config_update(struct vmmio *d, const void *config, size_t len, bool notify)
{
	if (len > VMMIO_CONFIG_MAX)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	memcpy(d->config, config, len);
	d->config_len = (uint32_t)len;
	d->config_generation++;
	if (notify && (d->status & VIRTIO_STATUS_DRIVER_OK))
		vmmio_raise_locked(d, VMMIO_INT_CONFIG);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

/* Status 0: every register back to its reset value but the declaration. */
static void reset_locked(struct vmmio *d)
{
	d->dev_features_sel = 0;
	d->drv_features_sel = 0;
	d->driver_features = 0;
	d->queue_sel = 0;
	d->status = 0;
	d->isr = 0;
	for (unsigned i = 0; i < VMMIO_MAX_QUEUES; i++) {
		virtq_reset(&d->q[i]);
		d->q_ready[i] = false;
	}
	d->reset_count++;
	d->notify_mask = 0;
	d->pending &= ~(VMMIO_EV_DRIVER_OK | VMMIO_EV_NOTIFY);
	note_locked(d, VMMIO_EV_RESET);
}

static bool features_acceptable(const struct vmmio *d)
{
	uint64_t f = d->driver_features;

	if (!(f & (1ull << VIRTIO_F_VERSION_1)))
		return false;
	if ((f & d->required_features) != d->required_features)
		return false;
	return !(f & ~d->device_features);
}

static void write_status(struct vmmio *d, uint32_t v)
{
	uint32_t old = d->status;

	if (v == 0) {
		reset_locked(d);
		return;
	}
	/* NEEDS_RESET is the device's bit: only a reset clears it. */
	v = (v & 0xff & ~VIRTIO_STATUS_NEEDS_RESET) | (old & VIRTIO_STATUS_NEEDS_RESET);
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    !features_acceptable(d)) {
		log_warnx_ratelimited(&vmmio_rl,
		                      "virtio-mmio %u: FEATURES_OK refused: driver features "
		                      "0x%" PRIx64 " lack VERSION_1 or required 0x%" PRIx64
		                      ", or take bits not offered (0x%" PRIx64 ")",
		                      d->index, d->driver_features, d->required_features,
		                      d->device_features);
		v &= ~VIRTIO_STATUS_FEATURES_OK;
	}
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		if (!(v & VIRTIO_STATUS_FEATURES_OK)) {
			log_warnx_ratelimited(
			        &vmmio_rl, "virtio-mmio %u: DRIVER_OK without FEATURES_OK refused",
			        d->index);
			v &= ~VIRTIO_STATUS_DRIVER_OK;
		} else {
			note_locked(d, VMMIO_EV_DRIVER_OK);
		}
	}
	d->status = v;
}

static void queue_set_ready(struct vmmio *d, struct virtq *q, unsigned qi, uint32_t v)
{
	int r;

	if (!v) {
		d->q_ready[qi] = false;
		return;
	}
	if (d->q_ready[qi])
		return;
	q->indirect = d->driver_features & (1ull << VIRTIO_RING_F_INDIRECT_DESC);
	q->event_idx = d->driver_features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	/*
	 * Size and alignment only: a vCPU thread does not read the memory map
	 * (the machine plane changes it).  Rings outside RAM fail the first
	 * pop in the device plane's thread, with the same NEEDS_RESET.
	 */
	r = q->num > d->queue_max[qi] ? -VIRTQ_ERR_RING : virtq_check_layout(q);
	if (r) {
		log_warnx_ratelimited(&vmmio_rl,
		                      "virtio-mmio %u: queue %u: size %u (max %u), desc 0x%" PRIx64
		                      " avail 0x%" PRIx64 " used 0x%" PRIx64 ": %s; NEEDS_RESET",
		                      d->index, qi, q->num, d->queue_max[qi], q->desc, q->avail,
		                      q->used, virtq_error_str(r));
		vmmio_needs_reset_locked(d);
		return;
	}
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_valid = false;
	d->q_ready[qi] = true;
}

static void set_lo(uint64_t *p, uint32_t v)
{
	*p = (*p & ~0xffffffffull) | v;
}

static void set_hi(uint64_t *p, uint32_t v)
{
	*p = (*p & 0xffffffffull) | ((uint64_t)v << 32);
}

static void write_reg(struct vmmio *d, uint64_t off, uint32_t v)
{
	bool qvalid = d->queue_sel < d->n_queues;
	struct virtq *q = qvalid ? &d->q[d->queue_sel] : NULL;
	bool qwritable = qvalid && !d->q_ready[d->queue_sel];

	switch (off) {
	case REG_DEVICE_FEATURES_SEL:
		d->dev_features_sel = v;
		break;
	case REG_DRIVER_FEATURES:
		/* After FEATURES_OK the features are settled. */
		if (d->status & VIRTIO_STATUS_FEATURES_OK)
			break;
		if (d->drv_features_sel == 0)
			set_lo(&d->driver_features, v);
		else if (d->drv_features_sel == 1)
			set_hi(&d->driver_features, v);
		break;
	case REG_DRIVER_FEATURES_SEL:
		d->drv_features_sel = v;
		break;
	case REG_QUEUE_SEL:
		d->queue_sel = v;
		break;
	case REG_QUEUE_NUM:
		if (qwritable)
			q->num = v > 0xffff ? 0 : (uint16_t)v; /* 0 fails virtq_check */
		break;
	case REG_QUEUE_READY:
		if (qvalid)
			queue_set_ready(d, q, d->queue_sel, v & 1);
		break;
	case REG_QUEUE_NOTIFY:
		/* Reaches here only when no ioeventfd matched (or none exists). */
		if (v < d->n_queues) {
			d->notify_mask |= 1u << v;
			note_locked(d, VMMIO_EV_NOTIFY);
		}
		break;
	case REG_INTERRUPT_ACK:
		d->isr &= ~v;
		break;
	case REG_STATUS:
		write_status(d, v);
		break;
	case REG_QUEUE_DESC_LOW:
		if (qwritable)
			set_lo(&q->desc, v);
		break;
	case REG_QUEUE_DESC_HIGH:
		if (qwritable)
			set_hi(&q->desc, v);
		break;
	case REG_QUEUE_DRIVER_LOW:
		if (qwritable)
			set_lo(&q->avail, v);
		break;
	case REG_QUEUE_DRIVER_HIGH:
		if (qwritable)
			set_hi(&q->avail, v);
		break;
	case REG_QUEUE_DEVICE_LOW:
		if (qwritable)
			set_lo(&q->used, v);
		break;
	case REG_QUEUE_DEVICE_HIGH:
		if (qwritable)
			set_hi(&q->used, v);
		break;
	case REG_SHM_SEL:
		break;
	default:
		log_debug("virtio-mmio %u: write 0x%x to read-only or unknown register 0x%" PRIx64,
		          d->index, v, off);
		break;
	}
}

static uint32_t read_reg(struct vmmio *d, uint64_t off)
{
	bool qvalid = d->queue_sel < d->n_queues;
	const struct virtq *q = qvalid ? &d->q[d->queue_sel] : NULL;

	switch (off) {
	case REG_MAGIC:
		return VIRTIO_MMIO_MAGIC;
	case REG_VERSION:
		return 2;
	case REG_DEVICE_ID:
		return d->declared ? d->device_id : 0;
	case REG_VENDOR_ID:
		return VMMIO_VENDOR_ID;
	case REG_DEVICE_FEATURES:
		if (d->dev_features_sel > 1)
			return 0;
		return (uint32_t)(d->device_features >> (32 * d->dev_features_sel));
	case REG_QUEUE_NUM_MAX:
		return qvalid ? d->queue_max[d->queue_sel] : 0; /* 0: no such queue */
	case REG_QUEUE_NUM:
		return q ? q->num : 0;
	case REG_QUEUE_READY:
		return qvalid && d->q_ready[d->queue_sel];
	case REG_INTERRUPT_STATUS:
		return d->isr;
	case REG_STATUS:
		return d->status;
	case REG_QUEUE_DESC_LOW:
		return q ? (uint32_t)q->desc : 0;
	case REG_QUEUE_DESC_HIGH:
		return q ? (uint32_t)(q->desc >> 32) : 0;
	case REG_QUEUE_DRIVER_LOW:
		return q ? (uint32_t)q->avail : 0;
	case REG_QUEUE_DRIVER_HIGH:
		return q ? (uint32_t)(q->avail >> 32) : 0;
	case REG_QUEUE_DEVICE_LOW:
		return q ? (uint32_t)q->used : 0;
	case REG_QUEUE_DEVICE_HIGH:
		return q ? (uint32_t)(q->used >> 32) : 0;
	case REG_SHM_LEN_LOW:
	case REG_SHM_LEN_HIGH:
		return 0xffffffffu; /* length -1: no shared memory region */
	case REG_SHM_BASE_LOW:
	case REG_SHM_BASE_HIGH:
		return 0xffffffffu;
	case REG_CONFIG_GENERATION:
		return d->config_generation;
	default:
		return 0;
	}
}

void vmmio_mmio(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct vmmio *d = opaque;

	pthread_mutex_lock(&d->lock);
	if (off >= REG_CONFIG) {
		uint64_t c = off - REG_CONFIG;

		if ((len == 1 || len == 2 || len == 4 || len == 8) && c + len <= d->config_len) {
			/* The config copy is the device process's: writes are dropped. */
			if (!is_write)
				memcpy(data, d->config + c, len);
		} else {
			if (!is_write)
				memset(data, 0, len);
			log_warnx_ratelimited(&vmmio_rl,
			                      "virtio-mmio %u: config %s at 0x%" PRIx64
			                      " (%u bytes) outside its %u bytes",
			                      d->index, is_write ? "write" : "read", c, len,
			                      d->config_len);
		}
	} else if (len != 4 || (off & 3)) {
		if (!is_write)
			memset(data, 0, len);
		log_warnx_ratelimited(&vmmio_rl,
		                      "virtio-mmio %u: %u-byte access to register 0x%" PRIx64
		                      " ignored (registers are 32-bit)",
		                      d->index, len, off);
	} else if (is_write) {
		uint32_t v;

		memcpy(&v, data, 4);
		write_reg(d, off, v);
	} else {
		uint32_t v = read_reg(d, off);

		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&d->lock);
}
