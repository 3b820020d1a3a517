// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-mem (virtio 1.2 "Memory Device", device id 24), with the checks,
 * their order and the usable-region sizing of QEMU 7.2's
 * hw/virtio/virtio-mem.c, so that Linux sees the same answers from us as
 * from QEMU (tests/tools/vmem_replay.c proves it on recorded streams).
 *
 * State: a bitmap of blocks plus requested/usable/plugged sizes, kept in the
 * journal (devproc.h) with the last completed request's seq and answer, so
 * that a successor answers a re-sent request without acting twice.
 *
 * Side effects per request, in this order (a kill -9 between any two leaves
 * a state its successor repairs; see vmem_placed()):
 *   PLUG:   prealloc (prealloc=on) -> ask the core to map slots that had no
 *           plugged block -> commit -> config copy -> ACK
 *   UNPLUG: punch the blocks out of the backend -> ask the core to unmap
 *           slots left with no plugged block -> commit -> config copy -> ACK
 * A host failure (fallocate, the core refusing) is BUSY, which Linux
 * retries; ERROR is only for what the spec calls an invalid request.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "le.h"
#include "devproc.h"
#include "log.h"
#include "opts.h"
#include "size.h"

#define VIRTIO_ID_MEM                       24
#define VIRTIO_MEM_F_ACPI_PXM               0
#define VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE 1

#define VIRTIO_MEM_REQ_PLUG       0
#define VIRTIO_MEM_REQ_UNPLUG     1
#define VIRTIO_MEM_REQ_UNPLUG_ALL 2
#define VIRTIO_MEM_REQ_STATE      3

#define VIRTIO_MEM_RESP_ACK   0
#define VIRTIO_MEM_RESP_NACK  1
#define VIRTIO_MEM_RESP_BUSY  2
#define VIRTIO_MEM_RESP_ERROR 3

#define VIRTIO_MEM_STATE_PLUGGED   0
#define VIRTIO_MEM_STATE_UNPLUGGED 1
#define VIRTIO_MEM_STATE_MIXED     2

/* struct virtio_mem_req: type, padding[3], then addr u64, nb_blocks u16, padding[3]. */
#define VMEM_REQ_LEN 24
/* struct virtio_mem_resp: type, padding[3], then state u16 (STATE only). */
#define VMEM_RESP_LEN   10
#define VMEM_CONFIG_LEN 56

#define VMEM_QUEUE_SIZE  128
#define VMEM_THP_DEFAULT (2ull << 20)
/* QEMU's VIRTIO_MEM_USABLE_EXTENT on x86: two Linux memory blocks. */
#define VMEM_USABLE_EXTENT (2 * (128ull << 20))
/* DESIGN.md: the region is mapped into KVM in Linux memory-block slots. */
#define VMEM_SLOT_SIZE (128ull << 20)

#define VMEM_STATE_VERSION 1

/* The journal payload: fixed fields, then the bitmap. */
struct vmem_state {
	uint32_t version;
	uint32_t resp_len;
	uint64_t block_size; /* geometry: a successor checks they match */
	uint64_t region_size;
	uint64_t requested_size;
	uint64_t usable_region_size;
	uint64_t plugged_size;
	uint64_t last_seq; /* the last request that changed state, and its answer */
	uint8_t last_resp[16];
	uint64_t bitmap[];
};

struct vmem {
	char id[64];
	uint64_t block_size;
	uint64_t requested_cfg; /* requested-size= of the config string */
	int32_t node;           /* -1: none given */
	bool prealloc;

	int backend_fd;
	int state_fd;
	const struct devproc_host *host;
	uint64_t addr;
	uint64_t region_size;
	uint64_t nblocks;
	uint64_t slot_size;
	uint64_t nslots;
	uint32_t *slot_plugged; /* plugged blocks per slot, derived from the bitmap */
	uint64_t max_seq;       /* highest seq seen, journaled or not */
	bool recovered;         /* the journal had a state: a successor */
	bool settled;

	struct devproc_journal *journal;
	struct vmem_state *st;
	size_t st_len;
};

static struct log_ratelimit guest_rl = LOG_RATELIMIT_INIT(5000, 10);

static struct vmem *to_vmem(struct devproc_model *m)
{
	return (struct vmem *)(void *)m;
}

static const struct vmem *to_cvmem(const struct devproc_model *m)
{
	return (const struct vmem *)(const void *)m;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static uint64_t thp_size(void)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "re");
	unsigned long long v = 0;

	if (!f)
		return VMEM_THP_DEFAULT;
	if (fscanf(f, "%llu", &v) != 1 || !is_pow2(v))
		v = VMEM_THP_DEFAULT;
	fclose(f);
	return v;
}

/* ---- the bitmap -------------------------------------------------------- */

static bool block_test(const struct vmem *v, uint64_t b)
{
	return v->st->bitmap[b / 64] >> (b % 64) & 1;
}

/* Blocks [first, first + n) all in state @plugged. */
static bool range_is(const struct vmem *v, uint64_t first, uint64_t n, bool plugged)
{
	for (uint64_t b = first; b < first + n; b++)
		if (block_test(v, b) != plugged)
			return false;
	return true;
}

static void range_set(struct vmem *v, uint64_t first, uint64_t n, bool plugged)
{
	for (uint64_t b = first; b < first + n; b++) {
		uint64_t bit = UINT64_C(1) << (b % 64);

		if (plugged)
			v->st->bitmap[b / 64] |= bit;
		else
			v->st->bitmap[b / 64] &= ~bit;
		v->slot_plugged[b * v->block_size / v->slot_size] += plugged ? 1 : (uint32_t)-1;
	}
}

static uint64_t slot_len(const struct vmem *v, uint64_t s)
{
	uint64_t off = s * v->slot_size;

	return v->region_size - off < v->slot_size ? v->region_size - off : v->slot_size;
}

static int slot_map(struct vmem *v, uint64_t s, bool map)
{
	if (!v->host || !v->host->slot_map)
		return 0;
	return v->host->slot_map(v->host->opaque, s * v->slot_size, slot_len(v, s), map);
}

/* ---- config, journal --------------------------------------------------- */

static void vmem_config(const struct vmem *v, uint8_t *c)
{
	memset(c, 0, VMEM_CONFIG_LEN);
	put_le64(c + 0, v->block_size);
	put_le16(c + 8, v->node < 0 ? 0 : (uint16_t)v->node);
	put_le64(c + 16, v->addr);
	put_le64(c + 24, v->region_size);
	put_le64(c + 32, v->st->usable_region_size);
	put_le64(c + 40, v->st->plugged_size);
	put_le64(c + 48, v->st->requested_size);
}

static int push_config(struct vmem *v, bool notify)
{
	uint8_t c[VMEM_CONFIG_LEN];

	if (!v->host || !v->host->config_update)
		return 0;
	vmem_config(v, c);
	return v->host->config_update(v->host->opaque, c, sizeof(c), notify);
}

static int commit(struct vmem *v)
{
	int ret = devproc_journal_commit(v->journal, v->st, v->st_len);

	if (ret < 0)
		log_warnx("journal commit failed: %s", strerror(-ret));
	return ret;
}

/* Log once each time plugged_size reaches requested_size (MEMORY_DEVICE_SIZE_CHANGE). */
static void check_settled(struct vmem *v)
{
	bool now = v->st->plugged_size == v->st->requested_size;

	if (now && !v->settled)
		log_info("plugged size settled at %" PRIu64 " bytes", v->st->plugged_size);
	v->settled = now;
}

/* QEMU's virtio_mem_resize_usable_region(). */
static void resize_usable(struct vmem *v, uint64_t requested, bool can_shrink)
{
	uint64_t n = requested + VMEM_USABLE_EXTENT;

	if (n > v->region_size)
		n = v->region_size;
	n = (n + v->block_size - 1) & ~(v->block_size - 1);
	if (!requested)
		n = 0;
	if (n < v->st->usable_region_size && !can_shrink)
		return;
	v->st->usable_region_size = n;
}

/* ---- create / attach ----------------------------------------------------- */

static int vmem_create(struct devproc_model **out, const char *config, char *errbuf, size_t errlen)
{
	struct opts_error oe = { { 0 } };
	struct opts *o = NULL;
	struct vmem *v;
	uint64_t node;
	int ret;

	*out = NULL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->backend_fd = -1;
	v->state_fd = -1;
	v->node = -1;
	ret = devproc_config_parse(config, "virtio-mem", &o, v->id, sizeof(v->id), &oe);
	if (ret < 0)
		goto fail_msg;
	ret = opts_get_size(o, "block-size", 0, &v->block_size, &oe);
	if (ret < 0)
		goto fail_msg;
	ret = opts_get_size(o, "requested-size", 0, &v->requested_cfg, &oe);
	if (ret < 0)
		goto fail_msg;
	ret = opts_get_bool(o, "prealloc", false, &v->prealloc, &oe);
	if (ret < 0)
		goto fail_msg;
	if (opts_get(o, "node")) {
		ret = opts_get_u64(o, "node", 0, UINT16_MAX, &node, &oe);
		if (ret < 0)
			goto fail_msg;
		v->node = (int32_t)node;
	}
	ret = opts_check_unused(o, "virtio-mem", &oe);
	if (ret < 0)
		goto fail_msg;
	if (!v->block_size)
		v->block_size = thp_size(); /* QEMU's default with a page-sized backend */
	if (!is_pow2(v->block_size)) {
		snprintf(oe.msg, sizeof(oe.msg), "block-size: has to be a power of two");
		ret = -EINVAL;
		goto fail_msg;
	}
	if (v->block_size < thp_size()) {
		snprintf(oe.msg, sizeof(oe.msg),
		         "block-size: has to be at least the THP size (0x%" PRIx64 ")", thp_size());
		ret = -EINVAL;
		goto fail_msg;
	}
	if (v->requested_cfg % v->block_size) {
		snprintf(oe.msg, sizeof(oe.msg),
		         "requested-size: has to be a multiple of block-size (0x%" PRIx64 ")",
		         v->block_size);
		ret = -EINVAL;
		goto fail_msg;
	}
	opts_free(o);
	*out = (struct devproc_model *)(void *)v;
	return 0;

fail_msg:
	snprintf(errbuf, errlen, "%s", oe.msg);
	opts_free(o);
	free(v);
	return ret;
}

/*
 * The geometry must be the one the journal was written with; a fresh journal
 * starts from the config string (requested-size=) with nothing plugged.
 */
static int vmem_load(struct vmem *v, char *errbuf, size_t errlen)
{
	size_t bm_words = (size_t)((v->nblocks + 63) / 64);
	bool fresh;
	long n;
	int ret;

	v->st_len = sizeof(struct vmem_state) + bm_words * 8;
	v->st = calloc(1, v->st_len);
	if (!v->st)
		return -ENOMEM;
	ret = devproc_journal_open(&v->journal, v->state_fd, v->st_len, &fresh);
	if (ret < 0) {
		snprintf(errbuf, errlen, "state memfd: cannot hold the journal: %s",
		         strerror(-ret));
		return ret;
	}
	if (!fresh) {
		n = devproc_journal_read(v->journal, v->st, v->st_len);
		if (n != (long)v->st_len || v->st->version != VMEM_STATE_VERSION ||
		    v->st->block_size != v->block_size || v->st->region_size != v->region_size) {
			snprintf(errbuf, errlen,
			         "state memfd: the journal belongs to another geometry or version");
			return -EINVAL;
		}
		v->max_seq = v->st->last_seq;
		v->recovered = true;
		for (uint64_t b = 0; b < v->nblocks; b++)
			if (block_test(v, b))
				v->slot_plugged[b * v->block_size / v->slot_size]++;
		log_info("journal generation %" PRIu64 ": %" PRIu64 " of %" PRIu64
		         " bytes plugged, last seq %" PRIu64,
		         devproc_journal_generation(v->journal), v->st->plugged_size,
		         v->st->requested_size, v->st->last_seq);
		return 0;
	}
	v->st->version = VMEM_STATE_VERSION;
	v->st->block_size = v->block_size;
	v->st->region_size = v->region_size;
	v->st->requested_size = v->requested_cfg;
	resize_usable(v, v->requested_cfg, true);
	return commit(v);
}

static int vmem_attach(struct devproc_model *m, struct devproc_res *res, char *errbuf,
                       size_t errlen)
{
	struct vmem *v = to_vmem(m);
	struct stat st;
	int ret;

	if (fstat(res->backend_fd, &st) < 0) {
		ret = -errno;
		snprintf(errbuf, errlen, "backend fd: fstat: %s", strerror(errno));
		return ret;
	}
	v->region_size = (uint64_t)st.st_size;
	if (!v->region_size || v->region_size % v->block_size) {
		snprintf(errbuf, errlen,
		         "memdev: size 0x%" PRIx64 " has to be a non-zero multiple of block-size",
		         v->region_size);
		return -EINVAL;
	}
	/* A hugetlb memfd reports its page size here: blocks cannot be smaller. */
	if ((uint64_t)st.st_blksize > v->block_size) {
		snprintf(errbuf, errlen, "block-size: has to be at least the page size (0x%lx)",
		         (unsigned long)st.st_blksize);
		return -EINVAL;
	}
	if (v->requested_cfg > v->region_size) {
		snprintf(errbuf, errlen,
		         "requested-size: cannot exceed the memory backend size (0x%" PRIx64 ")",
		         v->region_size);
		return -EINVAL;
	}
	v->nblocks = v->region_size / v->block_size;
	v->slot_size = v->block_size > VMEM_SLOT_SIZE ? v->block_size : VMEM_SLOT_SIZE;
	v->nslots = (v->region_size + v->slot_size - 1) / v->slot_size;
	v->slot_plugged = calloc((size_t)v->nslots, sizeof(*v->slot_plugged));
	if (!v->slot_plugged)
		return -ENOMEM;
	v->backend_fd = res->backend_fd;
	v->state_fd = res->state_fd;
	ret = vmem_load(v, errbuf, errlen);
	if (ret < 0) {
		v->backend_fd = -1;
		v->state_fd = -1;
		return ret;
	}
	res->backend_fd = -1;
	res->state_fd = -1;
	v->host = res->host;
	v->addr = res->region_gpa;
	v->settled = v->st->plugged_size == v->st->requested_size;
	return 0;
}

/*
 * The core placed the region (DeviceAttached): tell it which slots hold
 * plugged blocks.  A predecessor may have died between mapping and its
 * commit, so every slot is stated once, mapped or not (the core treats a
 * repeat as a no-op); a fresh device has nothing mapped yet.
 */
static int vmem_placed(struct devproc_model *m, uint64_t gpa)
{
	struct vmem *v = to_vmem(m);
	int ret;

	v->addr = gpa;
	if (v->recovered) {
		for (uint64_t s = 0; s < v->nslots; s++) {
			ret = slot_map(v, s, v->slot_plugged[s] > 0);
			if (ret < 0)
				return ret;
		}
	}
	return push_config(v, false);
}

static void vmem_decl(const struct devproc_model *m, struct devproc_decl *d)
{
	const struct vmem *v = to_cvmem(m);

	memset(d, 0, sizeof(*d));
	d->virtio_id = VIRTIO_ID_MEM;
	d->features = UINT64_C(1) << VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE;
	if (v->node >= 0)
		d->features |= UINT64_C(1) << VIRTIO_MEM_F_ACPI_PXM;
	d->required_features = UINT64_C(1) << VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE;
	d->nqueues = 1;
	d->queue_size[0] = VMEM_QUEUE_SIZE;
	vmem_config(v, d->config);
	d->config_len = VMEM_CONFIG_LEN;
	d->region_size = v->region_size;
	d->config_follows = true; /* addr is the region's address */
}

/* ---- requests ------------------------------------------------------------ */

/* QEMU's virtio_mem_valid_range(), on offsets from addr. */
static bool valid_range(const struct vmem *v, uint64_t gpa, uint64_t size)
{
	uint64_t end;

	if (gpa % v->block_size || !size || __builtin_add_overflow(gpa, size, &end))
		return false;
	if (gpa < v->addr || gpa - v->addr >= v->st->usable_region_size)
		return false;
	return end - v->addr <= v->st->usable_region_size;
}

static int backend_punch(struct vmem *v, uint64_t off, uint64_t len)
{
	if (v->backend_fd < 0)
		return 0;
	if (fallocate(v->backend_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
	              (off_t)len) < 0)
		return -errno;
	return 0;
}

/* fallocate(mode 0) populates memfd and hugetlbfs pages without a mapping. */
static int backend_prealloc(struct vmem *v, uint64_t off, uint64_t len)
{
	if (v->backend_fd < 0 || !v->prealloc)
		return 0;
	if (fallocate(v->backend_fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0)
		return -errno;
	return 0;
}

static uint16_t do_plug(struct vmem *v, uint64_t first, uint64_t n)
{
	uint64_t off = first * v->block_size, len = n * v->block_size;
	uint64_t s0 = off / v->slot_size, s1 = (off + len - 1) / v->slot_size, s;
	int ret;

	ret = backend_prealloc(v, off, len);
	if (ret < 0) {
		log_warnx_ratelimited(&guest_rl,
		                      "prealloc of 0x%" PRIx64 "+0x%" PRIx64 " failed: %s", off,
		                      len, strerror(-ret));
		goto punch;
	}
	for (s = s0; s <= s1; s++) {
		if (v->slot_plugged[s])
			continue;
		ret = slot_map(v, s, true);
		if (ret < 0) {
			log_warnx_ratelimited(&guest_rl,
			                      "the core did not map slot %" PRIu64 ": %s", s,
			                      strerror(-ret));
			goto unmap;
		}
	}
	range_set(v, first, n, true);
	v->st->plugged_size += len;
	return VIRTIO_MEM_RESP_ACK;

unmap:
	while (s-- > s0)
		if (!v->slot_plugged[s] && slot_map(v, s, false) < 0)
			log_warnx("slot %" PRIu64 " stays mapped after a failed plug", s);
punch:
	if (backend_punch(v, off, len) < 0)
		log_warn("discard after a failed plug");
	return VIRTIO_MEM_RESP_BUSY;
}

static uint16_t do_unplug(struct vmem *v, uint64_t first, uint64_t n)
{
	uint64_t off = first * v->block_size, len = n * v->block_size;
	uint64_t s0 = off / v->slot_size, s1 = (off + len - 1) / v->slot_size;
	int ret;

	ret = backend_punch(v, off, len);
	if (ret < 0) {
		log_warnx_ratelimited(&guest_rl,
		                      "punch-hole of 0x%" PRIx64 "+0x%" PRIx64 " failed: %s", off,
		                      len, strerror(-ret));
		return VIRTIO_MEM_RESP_BUSY;
	}
	range_set(v, first, n, false);
	v->st->plugged_size -= len;
	for (uint64_t s = s0; s <= s1; s++) {
		if (v->slot_plugged[s])
			continue;
		/* The blocks are gone either way; a slot left mapped only wastes a memslot. */
		ret = slot_map(v, s, false);
		if (ret < 0)
			log_warnx_ratelimited(&guest_rl,
			                      "the core did not unmap slot %" PRIu64 ": %s", s,
			                      strerror(-ret));
	}
	return VIRTIO_MEM_RESP_ACK;
}

/* QEMU's virtio_mem_state_change_request(): the checks and their order. */
static uint16_t state_change(struct vmem *v, uint64_t gpa, uint16_t nb, bool plug)
{
	uint64_t size = (uint64_t)nb * v->block_size, first, n;

	if (!valid_range(v, gpa, size))
		return VIRTIO_MEM_RESP_ERROR;
	if (plug && v->st->plugged_size + size > v->st->requested_size)
		return VIRTIO_MEM_RESP_NACK;
	first = (gpa - v->addr) / v->block_size;
	n = nb;
	if (!range_is(v, first, n, !plug))
		return VIRTIO_MEM_RESP_ERROR;
	return plug ? do_plug(v, first, n) : do_unplug(v, first, n);
}

/* QEMU's virtio_mem_unplug_all(): also the device reset. */
static uint16_t unplug_all(struct vmem *v)
{
	if (v->st->plugged_size) {
		if (backend_punch(v, 0, v->region_size) < 0) {
			log_warn("punch-hole of the whole region");
			return VIRTIO_MEM_RESP_BUSY;
		}
		memset(v->st->bitmap, 0, v->st_len - sizeof(*v->st));
		v->st->plugged_size = 0;
		for (uint64_t s = 0; s < v->nslots; s++) {
			if (!v->slot_plugged[s])
				continue;
			v->slot_plugged[s] = 0;
			if (slot_map(v, s, false) < 0)
				log_warnx("the core did not unmap slot %" PRIu64, s);
		}
	}
	resize_usable(v, v->st->requested_size, true);
	return VIRTIO_MEM_RESP_ACK;
}

static uint16_t state_query(const struct vmem *v, uint64_t gpa, uint16_t nb, uint16_t *state)
{
	uint64_t size = (uint64_t)nb * v->block_size, first;

	if (!valid_range(v, gpa, size))
		return VIRTIO_MEM_RESP_ERROR;
	first = (gpa - v->addr) / v->block_size;
	if (range_is(v, first, nb, true))
		*state = VIRTIO_MEM_STATE_PLUGGED;
	else if (range_is(v, first, nb, false))
		*state = VIRTIO_MEM_STATE_UNPLUGGED;
	else
		*state = VIRTIO_MEM_STATE_MIXED;
	return VIRTIO_MEM_RESP_ACK;
}

static void answer(uint8_t *out, uint16_t type, uint16_t state)
{
	memset(out, 0, VMEM_RESP_LEN);
	put_le16(out, type);
	put_le16(out + 8, state);
}

static int vmem_request(struct devproc_model *m, uint32_t queue, uint64_t seq, const uint8_t *in,
                        size_t len, uint32_t writable, uint8_t *out, size_t outcap, size_t *outlen)
{
	struct vmem *v = to_vmem(m);
	uint16_t type, resp, state = 0;
	uint64_t plugged_before = v->st->plugged_size;
	uint64_t usable_before = v->st->usable_region_size;
	int ret;

	*outlen = 0;
	if (outcap < VMEM_RESP_LEN)
		return -ENOBUFS;
	*outlen = VMEM_RESP_LEN;
	if (seq && seq == v->st->last_seq) {
		/* Re-sent after a crash: the journal has the answer; act never twice. */
		memcpy(out, v->st->last_resp, VMEM_RESP_LEN);
		log_debug("seq %" PRIu64 " answered from the journal", seq);
		return 0;
	}
	if (seq && seq < v->max_seq) {
		/* The core re-sends only unanswered requests, in order: not this. */
		log_warnx_ratelimited(&guest_rl,
		                      "seq %" PRIu64 " is older than %" PRIu64 ", not acted on",
		                      seq, v->max_seq);
		answer(out, VIRTIO_MEM_RESP_BUSY, 0);
		return 0;
	}
	if (seq)
		v->max_seq = seq;
	/* QEMU breaks the device on these; the spec's answer to an invalid request is ERROR. */
	if (queue != 0 || len < VMEM_REQ_LEN || writable < VMEM_RESP_LEN) {
		log_warnx_ratelimited(&guest_rl,
		                      "invalid request: queue %u, %zu bytes in, %u"
		                      " writable",
		                      queue, len, writable);
		answer(out, VIRTIO_MEM_RESP_ERROR, 0);
		return 0;
	}
	type = get_le16(in);
	switch (type) {
	case VIRTIO_MEM_REQ_PLUG:
	case VIRTIO_MEM_REQ_UNPLUG:
		resp = state_change(v, get_le64(in + 8), get_le16(in + 16),
		                    type == VIRTIO_MEM_REQ_PLUG);
		break;
	case VIRTIO_MEM_REQ_UNPLUG_ALL:
		resp = unplug_all(v);
		break;
	case VIRTIO_MEM_REQ_STATE:
		resp = state_query(v, get_le64(in + 8), get_le16(in + 16), &state);
		break;
	default:
		log_warnx_ratelimited(&guest_rl, "unknown request type %u", type);
		resp = VIRTIO_MEM_RESP_ERROR;
		break;
	}
	answer(out, resp, state);
	if (v->st->plugged_size == plugged_before && v->st->usable_region_size == usable_before)
		return 0; /* nothing changed: a re-sent copy gets the same answer */
	v->st->last_seq = seq;
	v->st->resp_len = VMEM_RESP_LEN;
	memcpy(v->st->last_resp, out, VMEM_RESP_LEN);
	ret = commit(v);
	if (ret < 0)
		return ret;
	check_settled(v);
	ret = push_config(v, false);
	if (ret < 0)
		log_warnx("config copy to the core failed: %s", strerror(-ret));
	return 0;
}

static int vmem_reset(struct devproc_model *m)
{
	struct vmem *v = to_vmem(m);
	int ret;

	if (unplug_all(v) != VIRTIO_MEM_RESP_ACK)
		return -EIO;
	ret = commit(v);
	if (ret < 0)
		return ret;
	check_settled(v);
	return push_config(v, false);
}

static int vmem_driver_ready(struct devproc_model *m, uint64_t features)
{
	(void)m;
	if (!(features & UINT64_C(1) << VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE))
		log_warnx("driver without UNPLUGGED_INACCESSIBLE: the core should have refused it");
	return 0;
}

/* ---- properties and status ------------------------------------------------ */

static int vmem_prop_set(struct devproc_model *m, const char *name, const char *value, char *errbuf,
                         size_t errlen)
{
	struct vmem *v = to_vmem(m);
	uint64_t req;
	int ret;

	if (strcmp(name, "requested-size")) {
		if (!strcmp(name, "block-size") || !strcmp(name, "node") || !strcmp(name, "addr")) {
			snprintf(errbuf, errlen, "%s: cannot be changed", name);
			return -EINVAL;
		}
		snprintf(errbuf, errlen, "%s: no such property", name);
		return -ENOENT;
	}
	ret = size_parse_qemu(value, 1, &req);
	if (ret < 0) {
		snprintf(errbuf, errlen, "requested-size: %s", size_strerror(ret));
		return -EINVAL;
	}
	if (req % v->block_size) {
		snprintf(errbuf, errlen,
		         "requested-size: has to be a multiple of block-size (0x%" PRIx64 ")",
		         v->block_size);
		return -EINVAL;
	}
	if (req > v->region_size) {
		snprintf(errbuf, errlen,
		         "requested-size: cannot exceed the memory backend size (0x%" PRIx64 ")",
		         v->region_size);
		return -EINVAL;
	}
	if (req != v->st->requested_size) {
		resize_usable(v, req, false);
		v->st->requested_size = req;
		ret = commit(v);
		if (ret < 0) {
			snprintf(errbuf, errlen, "state journal: %s", strerror(-ret));
			return ret;
		}
	}
	v->settled = false;
	check_settled(v);
	/* QEMU notifies even when the size did not change: handy for debugging. */
	return push_config(v, true);
}

static int vmem_prop_get(const struct devproc_model *m, const char *name, char *buf, size_t len)
{
	const struct vmem *v = to_cvmem(m);
	uint64_t val;

	if (!strcmp(name, "requested-size"))
		val = v->st->requested_size;
	else if (!strcmp(name, "size"))
		val = v->st->plugged_size;
	else if (!strcmp(name, "block-size"))
		val = v->block_size;
	else if (!strcmp(name, "addr"))
		val = v->addr;
	else if (!strcmp(name, "usable-region-size"))
		val = v->st->usable_region_size;
	else if (!strcmp(name, "region-size"))
		val = v->region_size;
	else if (!strcmp(name, "node"))
		val = v->node < 0 ? 0 : (uint64_t)v->node;
	else if (!strcmp(name, "prealloc")) {
		snprintf(buf, len, "%s", v->prealloc ? "on" : "off");
		return 0;
	} else
		return -ENOENT;
	snprintf(buf, len, "%" PRIu64, val);
	return 0;
}

static void vmem_status(const struct devproc_model *m, struct devproc_status *st)
{
	const struct vmem *v = to_cvmem(m);

	st->size = v->region_size;
	st->requested_size = v->st->requested_size;
	st->plugged_size = v->st->plugged_size;
	st->block_size = v->block_size;
	st->addr = v->addr;
	st->node = v->node;
	st->settled = v->st->plugged_size == v->st->requested_size;
}

/* The table is in virtio_mem_seccomp.c; here because it needs the backend fd. */
static int vmem_seccomp(const struct devproc_model *m, struct sandbox_policy *policy)
{
	return devproc_virtio_mem_seccomp(policy, to_cvmem(m)->backend_fd);
}

static size_t vmem_kept_fds(const struct devproc_model *m, int *fds, size_t max)
{
	const struct vmem *v = to_cvmem(m);
	size_t n = 0;

	if (v->backend_fd >= 0 && n < max)
		fds[n++] = v->backend_fd;
	if (v->state_fd >= 0 && n < max)
		fds[n++] = v->state_fd;
	return n;
}

static void vmem_destroy(struct devproc_model *m)
{
	struct vmem *v = to_vmem(m);

	if (!v)
		return;
	devproc_journal_close(v->journal);
	free(v->st);
	free(v->slot_plugged);
	if (v->state_fd >= 0)
		close(v->state_fd);
	if (v->backend_fd >= 0)
		close(v->backend_fd);
	free(v);
}

static const struct devproc_model_ops vmem_ops;

const struct devproc_model_ops *devproc_virtio_mem(void)
{
	return &vmem_ops;
}

static const struct devproc_model_ops vmem_ops = {
	.name = "virtio-mem",
	.create = vmem_create,
	.attach = vmem_attach,
	.placed = vmem_placed,
	.decl = vmem_decl,
	.request = vmem_request,
	.reset = vmem_reset,
	.driver_ready = vmem_driver_ready,
	.prop_set = vmem_prop_set,
	.prop_get = vmem_prop_get,
	.status = vmem_status,
	.seccomp = vmem_seccomp,
	.kept_fds = vmem_kept_fds,
	.destroy = vmem_destroy,
};
