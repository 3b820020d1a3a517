/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The split-ring walker (virtio 1.2, "Split Virtqueues").  Everything the
 * guest wrote is untrusted: every index is checked against its table's size,
 * every buffer is translated through memmap_gpa_to_host() (which refuses a
 * range that leaves one host-mapped region), chain lengths are bounded by the
 * table size so a loop ends, and arithmetic that the guest can push past its
 * type is checked.  Any violation is a broken chain: the caller puts the
 * device into NEEDS_RESET; nothing here logs, so the caller can rate-limit.
 *
 * Memory ordering (the spec's "Memory barriers" rules, x86 or not): avail->idx
 * is read with acquire before the ring entries and descriptors it publishes;
 * the used element is written before used->idx is stored with release; the
 * avail_event (EVENT_IDX) store is followed by a full fence before avail->idx
 * is read again, and the used->idx store by a full fence before used_event or
 * the avail flags are read, so that neither side misses the other's update.
 */
#include "core.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define VRING_DESC_F_NEXT          1
#define VRING_DESC_F_WRITE         2
#define VRING_DESC_F_INDIRECT      4
#define VRING_AVAIL_F_NO_INTERRUPT 1

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

_Static_assert(sizeof(struct vring_desc) == 16, "virtio descriptor layout");

static const char *const error_text[VIRTQ_ERR_COUNT_] = {
	[VIRTQ_OK] = "no error",
	[VIRTQ_ERR_RING] = "a ring lies outside guest RAM or is misaligned",
	[VIRTQ_ERR_AVAIL_IDX] = "avail->idx ran more than the queue size ahead",
	[VIRTQ_ERR_HEAD] = "the avail ring names a descriptor index >= the queue size",
	[VIRTQ_ERR_NEXT] = "a descriptor's next index is >= its table's size",
	[VIRTQ_ERR_LOOP] = "the chain is longer than its table (a loop)",
	[VIRTQ_ERR_ADDR] = "a buffer lies outside guest RAM",
	[VIRTQ_ERR_DIRECTION] = "a driver-readable descriptor follows a writable one",
	[VIRTQ_ERR_ZERO_LEN] = "a descriptor has length 0",
	[VIRTQ_ERR_TOO_BIG] = "the chain's buffers exceed the request size limit",
	[VIRTQ_ERR_INDIRECT] = ("an indirect descriptor is not negotiated, nested, not at the "
	                        "head, chained, or its table length is not a multiple of 16"),
	[VIRTQ_ERR_NOMEM] = "out of memory copying the chain",
};

const char *virtq_error_str(int err)
{
	if (err < 0)
		err = -err;
	if (err >= VIRTQ_ERR_COUNT_ || !error_text[err])
		return "unknown virtqueue error";
	return error_text[err];
}

static uint64_t desc_size(const struct virtq *q)
{
	return 16ull * q->num;
}

static uint64_t avail_size(const struct virtq *q)
{
	return 6ull + 2ull * q->num; /* flags, idx, ring[num], used_event */
}

static uint64_t used_size(const struct virtq *q)
{
	return 6ull + 8ull * q->num; /* flags, idx, ring[num], avail_event */
}

int virtq_check_layout(const struct virtq *q)
{
	if (q->num == 0 || q->num > VIRTQ_MAX_SIZE || (q->num & (q->num - 1)))
		return -VIRTQ_ERR_RING;
	/* The spec's alignment: descriptors 16, avail 2, used 4. */
	if ((q->desc & 15) || (q->avail & 1) || (q->used & 3))
		return -VIRTQ_ERR_RING;
	return 0;
}

int virtq_check(const struct virtq *q, const struct memmap *mm)
{
	if (virtq_check_layout(q))
		return -VIRTQ_ERR_RING;
	if (!memmap_gpa_to_host(mm, q->desc, desc_size(q)) ||
	    !memmap_gpa_to_host(mm, q->avail, avail_size(q)) ||
	    !memmap_gpa_to_host(mm, q->used, used_size(q)))
		return -VIRTQ_ERR_RING;
	return 0;
}

/* Host pointer of the 16-bit field at byte @off of a ring, or NULL. */
static uint16_t *ring_u16(const struct memmap *mm, uint64_t base, uint64_t off)
{
	return memmap_gpa_to_host(mm, base + off, 2);
}

static int read_desc(const struct memmap *mm, uint64_t table, uint16_t i, struct vring_desc *d)
{
	const void *p = memmap_gpa_to_host(mm, table + 16ull * i, 16);

	if (!p)
		return -VIRTQ_ERR_RING;
	memcpy(d, p, sizeof(*d));
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
	return 0;
}

static int chain_add_writable(struct virtq_chain *c, uint64_t gpa, uint32_t len)
{
	if (c->n_wr == c->cap_wr) {
		unsigned cap = c->cap_wr ? c->cap_wr * 2 : 4;
		struct virtq_seg *n = realloc(c->wr, cap * sizeof(*n));

		if (!n)
			return -VIRTQ_ERR_NOMEM;
		c->wr = n;
		c->cap_wr = cap;
	}
	if (__builtin_add_overflow(c->wr_len, len, &c->wr_len))
		return -VIRTQ_ERR_TOO_BIG;
	c->wr[c->n_wr++] = (struct virtq_seg){ .gpa = gpa, .len = len };
	return 0;
}

static int chain_add_readable(struct virtq_chain *c, const void *src, uint32_t len)
{
	size_t need;
	uint8_t *n;

	if (__builtin_add_overflow(c->data_len, (size_t)len, &need) || need > VIRTQ_MAX_REQUEST)
		return -VIRTQ_ERR_TOO_BIG;
	n = realloc(c->data, need);
	if (!n)
		return -VIRTQ_ERR_NOMEM;
	c->data = n;
	memcpy(c->data + c->data_len, src, len);
	c->data_len = need;
	return 0;
}

/* Walk the chain at @head into @c. */
static int walk(const struct virtq *q, const struct memmap *mm, uint16_t head,
                struct virtq_chain *c)
{
	uint64_t table = q->desc;
	uint32_t table_n = q->num, count = 0;
	bool indirect = false, writable_seen = false;
	uint16_t i = head;
	int r;

	for (;;) {
		struct vring_desc d;
		const void *buf;

		/* A chain visits each descriptor of its table at most once. */
		if (++count > table_n)
			return -VIRTQ_ERR_LOOP;
		r = read_desc(mm, table, i, &d);
		if (r)
			return r;
		if (d.flags & VRING_DESC_F_INDIRECT) {
			/* As QEMU: only the head may be indirect, never nested. */
			if (!q->indirect || indirect || count != 1 ||
			    (d.flags & VRING_DESC_F_NEXT) || d.len == 0 || d.len % 16 ||
			    d.len / 16 > VIRTQ_MAX_SIZE)
				return -VIRTQ_ERR_INDIRECT;
			if (!memmap_gpa_to_host(mm, d.addr, d.len))
				return -VIRTQ_ERR_ADDR;
			table = d.addr;
			table_n = d.len / 16;
			indirect = true;
			count = 0;
			i = 0;
			continue;
		}
		/* QEMU refuses zero-sized buffers too; no driver adds one. */
		if (d.len == 0)
			return -VIRTQ_ERR_ZERO_LEN;
		buf = memmap_gpa_to_host(mm, d.addr, d.len);
		if (!buf)
			return -VIRTQ_ERR_ADDR;
		if (d.flags & VRING_DESC_F_WRITE) {
			writable_seen = true;
			r = chain_add_writable(c, d.addr, d.len);
		} else if (writable_seen) {
			r = -VIRTQ_ERR_DIRECTION;
		} else {
			r = chain_add_readable(c, buf, d.len);
		}
		if (r)
			return r;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= table_n)
			return -VIRTQ_ERR_NEXT;
		i = d.next;
	}
}

int virtq_pop(struct virtq *q, const struct memmap *mm, struct virtq_chain *c)
{
	uint16_t *avail_idx = ring_u16(mm, q->avail, 2);
	uint16_t idx, head, pending;
	uint16_t *ring;
	int r;

	memset(c, 0, sizeof(*c));
	if (!avail_idx)
		return -VIRTQ_ERR_RING;
	idx = le16toh(__atomic_load_n(avail_idx, __ATOMIC_ACQUIRE));
	if (idx == q->last_avail && q->event_idx) {
		/* Ask for a kick at the next entry, then look once more. */
		uint16_t *avail_event = ring_u16(mm, q->used, 4 + 8ull * q->num);

		if (!avail_event)
			return -VIRTQ_ERR_RING;
		__atomic_store_n(avail_event, htole16(q->last_avail), __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		idx = le16toh(__atomic_load_n(avail_idx, __ATOMIC_ACQUIRE));
	}
	pending = (uint16_t)(idx - q->last_avail);
	if (pending == 0)
		return 0;
	if (pending > q->num)
		return -VIRTQ_ERR_AVAIL_IDX;
	ring = ring_u16(mm, q->avail, 4 + 2ull * (q->last_avail % q->num));
	if (!ring)
		return -VIRTQ_ERR_RING;
	head = le16toh(*ring);
	if (head >= q->num)
		return -VIRTQ_ERR_HEAD;
	c->head = head;
	r = walk(q, mm, head, c);
	if (r) {
		virtq_chain_release(c);
		return r;
	}
	q->last_avail++;
	return 1;
}

void virtq_chain_release(struct virtq_chain *c)
{
	if (!c)
		return;
	free(c->data);
	free(c->wr);
	memset(c, 0, sizeof(*c));
}

int virtq_chain_write(const struct memmap *mm, const struct virtq_seg *wr, unsigned n_wr,
                      const void *data, size_t len, uint32_t *written)
{
	const uint8_t *src = data;
	size_t done = 0;

	for (unsigned k = 0; k < n_wr && done < len; k++) {
		size_t n = wr[k].len < len - done ? wr[k].len : len - done;
		void *dst = memmap_gpa_to_host(mm, wr[k].gpa, n);

		/* The map may have changed since the pop: check again. */
		if (!dst)
			return -VIRTQ_ERR_ADDR;
		memcpy(dst, src + done, n);
		done += n;
	}
	*written = (uint32_t)done;
	return 0;
}

int virtq_push(struct virtq *q, const struct memmap *mm, uint16_t head, uint32_t len)
{
	uint8_t *elem = memmap_gpa_to_host(mm, q->used + 4 + 8ull * (q->used_idx % q->num), 8);
	uint16_t *used_idx = ring_u16(mm, q->used, 2);
	uint32_t id = htole32(head), l = htole32(len);

	if (!elem || !used_idx)
		return -VIRTQ_ERR_RING;
	memcpy(elem, &id, 4);
	memcpy(elem + 4, &l, 4);
	q->used_idx++;
	/* The element is visible before the index that publishes it. */
	__atomic_store_n(used_idx, htole16(q->used_idx), __ATOMIC_RELEASE);
	return 0;
}

bool virtq_need_signal(struct virtq *q, const struct memmap *mm)
{
	uint16_t old = q->signalled_used, now = q->used_idx;
	bool valid = q->signalled_valid;

	/* used->idx must be visible before we read what the driver asked. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->signalled_used = now;
	q->signalled_valid = true;
	if (q->event_idx) {
		uint16_t *used_event = ring_u16(mm, q->avail, 4 + 2ull * q->num);
		uint16_t ev;

		if (!used_event || !valid)
			return true;
		ev = le16toh(__atomic_load_n(used_event, __ATOMIC_RELAXED));
		/* vring_need_event(): did new_idx step past event_idx? */
		return (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
	} else {
		uint16_t *flags = ring_u16(mm, q->avail, 0);

		return !flags || !(le16toh(__atomic_load_n(flags, __ATOMIC_RELAXED)) &
		                   VRING_AVAIL_F_NO_INTERRUPT);
	}
}

void virtq_reset(struct virtq *q)
{
	memset(q, 0, sizeof(*q));
}
