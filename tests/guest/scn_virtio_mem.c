/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-mem scenarios: the guest's side of a virtio-mem device (virtio 1.2,
 * 5.15) behind the core's virtio-mmio transport, driven as Linux's
 * virtio_mem driver does it: halted until the device's interrupt while a
 * request is out (virtio_wait_used(); virtio_poll=1 polls the used ring
 * instead), InterruptStatus looked at between halts for a config change.
 *
 *   virtio-mem      finds the device (virtio,mmio node, DeviceID 24) in the
 *                   FDT; first checks that a driver refusing
 *                   UNPLUGGED_INACCESSIBLE does not get FEATURES_OK, then
 *                   negotiates it.  Then, vmem_steps=N times (default 1):
 *                   wait for a config-change interrupt, plug or unplug
 *                   toward requested_size in requests of at most one Linux
 *                   memory block (128 MiB, or one device block when larger),
 *                   lowest free block first when plugging, highest plugged
 *                   block first when unplugging, as Linux does; BUSY is
 *                   retried, NACK re-reads the config, ERROR fails.  Every
 *                   newly plugged block gets a pattern written and read
 *                   back; a block about to be unplugged must still hold it.
 *                   Each settle prints
 *                     "virtio-mem plugged 0x<plugged> of requested 0x<req>"
 *                   and checks the device's plugged_size agrees.  After the
 *                   last one, STATE over every memory block must match the
 *                   guest's own view; then PASS.
 *                   vmem_steps=0 serves forever, as a driver does: it plugs
 *                   the requested size at once (Linux's probe), then
 *                   follows every config change until the machine is
 *                   powered off (splitvm's bundled config, the demo).
 *                   While it waits it watches the ACPI power button and
 *                   powers off through S5 when it is pressed (power.c;
 *                   power_button=ignore: it runs on).
 *   virtio-mem-bad  table-driven requests no Linux driver sends, each with
 *                   the answer the spec (and QEMU) gives, the device serving
 *                   on after each; touching unplugged memory reads all-ones;
 *                   a looping chain puts the device into NEEDS_RESET, and a
 *                   reset unplugs everything.  Needs requested_size >= 256
 *                   MiB from the host (the devproc's requested-size=).
 */
#include "guest.h"
#include "gfdt.h"
#include "virtio.h"
#include "virtio_mem.h"

#define INT_VRING  1u
#define INT_CONFIG 2u

#define VIRTIO_ID_MEM            24
#define F_ACPI_PXM               (1u << 0)
#define F_UNPLUGGED_INACCESSIBLE (1u << 1)

/* struct virtio_mem_config offsets */
#define CFG_BLOCK_SIZE  0
#define CFG_NODE_ID     8
#define CFG_ADDR        16
#define CFG_REGION_SIZE 24
#define CFG_USABLE      32
#define CFG_PLUGGED     40
#define CFG_REQUESTED   48

enum { REQ_PLUG = 0, REQ_UNPLUG = 1, REQ_UNPLUG_ALL = 2, REQ_STATE = 3 };
enum { RESP_ACK = 0, RESP_NACK = 1, RESP_BUSY = 2, RESP_ERROR = 3 };
enum { STATE_PLUGGED = 0, STATE_UNPLUGGED = 1, STATE_MIXED = 2 };

#define REQ_LEN  24
#define RESP_LEN 10

/* Linux's memory-block size on x86_64: its unit of plugging. */
#define MEMORY_BLOCK (128ull << 20)
/* The most blocks the guest tracks: 8 GiB of 2 MiB blocks, twice over. */
#define MAX_BLOCKS 8192
#define BUSY_MAX   100000u
/*
 * Halts (guest_idle(), about 1 ms each) a config-change wait lasts before
 * it fails: longer than any host test waits for a step of its own.
 */
#define IDLE_WAIT_MAX 600000u
#define PAT_WORDS     8

static struct vq vq __attribute__((aligned(4096)));
static uint8_t req_buf[64] __attribute__((aligned(64)));
static uint8_t resp_buf[64] __attribute__((aligned(64)));

struct vmem {
	uint64_t base; /* the virtio-mmio window */
	struct virtio_wait wait;
	uint16_t last_used;
	uint16_t avail_idx;
	uint64_t block_size;
	uint64_t addr;
	uint64_t region_size;
	uint64_t usable;
	uint64_t requested;
	uint64_t dev_plugged; /* the config's plugged_size */
	uint64_t nblocks;
	uint64_t plugged;   /* what the guest was told is plugged */
	uint64_t mb_blocks; /* blocks per memory block */
	unsigned busy, nacks, requests;
	uint64_t notify_tsc, used_tsc; /* the last request's, for vmem_request_tsc() */
	uint8_t state[MAX_BLOCKS / 8]; /* the guest's view: plugged blocks */
};

static struct vmem vmem;

static uint32_t rd(uint32_t off)
{
	return virtio_rd(vmem.base, off);
}

static void wr(uint32_t off, uint32_t v)
{
	virtio_wr(vmem.base, off, v);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* ---- finding and negotiating -------------------------------------------- */

static int find_device(const struct guest_boot *b)
{
	return virtio_find(b, "virtio-mem", VIRTIO_ID_MEM, &vmem.base, &vmem.wait);
}

static uint64_t cfg64(uint32_t off)
{
	return virtio_cfg64(vmem.base, off);
}

/* The config as one consistent copy (ConfigGeneration unchanged around it). */
static void read_config(void)
{
	uint32_t gen;

	do {
		gen = rd(REG_CONFIG_GEN);
		vmem.block_size = cfg64(CFG_BLOCK_SIZE);
		vmem.addr = cfg64(CFG_ADDR);
		vmem.region_size = cfg64(CFG_REGION_SIZE);
		vmem.usable = cfg64(CFG_USABLE);
		vmem.dev_plugged = cfg64(CFG_PLUGGED);
		vmem.requested = cfg64(CFG_REQUESTED);
	} while (gen != rd(REG_CONFIG_GEN));
}

/*
 * Reset, then ACKNOWLEDGE, DRIVER and the features @lo (bits 0..31) with
 * VERSION_1; FEATURES_OK.  1 when FEATURES_OK stuck, 0 when it did not.
 */
static int negotiate(uint32_t lo)
{
	wr(REG_STATUS, 0);
	wr(REG_STATUS, ST_ACK);
	wr(REG_STATUS, ST_ACK | ST_DRIVER);
	wr(REG_DRV_FEAT_SEL, 0);
	wr(REG_DRV_FEAT, lo);
	wr(REG_DRV_FEAT_SEL, 1);
	wr(REG_DRV_FEAT, 1);
	wr(REG_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	return (rd(REG_STATUS) & ST_FEATURES_OK) != 0;
}

/* Linux's probe: features, config, queue 0, DRIVER_OK. */
static int dev_init(void)
{
	uint32_t lo;

	wr(REG_STATUS, 0);
	if (rd(REG_STATUS) != 0)
		return fail("virtio-mem: status not 0 after a reset");
	wr(REG_DEV_FEAT_SEL, 1);
	if (!(rd(REG_DEV_FEAT) & 1))
		return fail("virtio-mem: VERSION_1 not offered");
	wr(REG_DEV_FEAT_SEL, 0);
	lo = rd(REG_DEV_FEAT);
	if (!(lo & F_UNPLUGGED_INACCESSIBLE))
		return fail("virtio-mem: UNPLUGGED_INACCESSIBLE not offered (features 0x%x)", lo);
	if (!negotiate(lo & F_UNPLUGGED_INACCESSIBLE & ~F_ACPI_PXM))
		return fail("virtio-mem: FEATURES_OK did not stick (status 0x%x)", rd(REG_STATUS));

	read_config();
	if (vmem.block_size < 4096 || (vmem.block_size & (vmem.block_size - 1)))
		return fail("virtio-mem: block_size 0x%lx is not a power of two", vmem.block_size);
	if (!vmem.addr || vmem.addr % vmem.block_size || !vmem.region_size ||
	    vmem.region_size % vmem.block_size)
		return fail("virtio-mem: region 0x%lx+0x%lx does not fit block_size 0x%lx",
		            vmem.addr, vmem.region_size, vmem.block_size);
	vmem.nblocks = vmem.region_size / vmem.block_size;
	if (vmem.nblocks > MAX_BLOCKS)
		return fail("virtio-mem: %lu blocks, at most %u", vmem.nblocks, MAX_BLOCKS);
	vmem.mb_blocks = vmem.block_size >= MEMORY_BLOCK ? 1 : MEMORY_BLOCK / vmem.block_size;
	if (mmu_map(vmem.addr, vmem.region_size, 0))
		return fail("virtio-mem: cannot map the region 0x%lx+0x%lx", vmem.addr,
		            vmem.region_size);

	if (virtio_queue0(vmem.base, &vq, "virtio-mem"))
		return 1;
	vmem.last_used = 0;
	vmem.avail_idx = 0;
	wr(REG_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	return 0;
}

/* A driver that does not accept UNPLUGGED_INACCESSIBLE gets no FEATURES_OK. */
static int check_refused(void)
{
	if (negotiate(0))
		return fail("virtio-mem: FEATURES_OK stuck without UNPLUGGED_INACCESSIBLE");
	wr(REG_STATUS, 0);
	say("virtio-mem: a driver without UNPLUGGED_INACCESSIBLE gets no FEATURES_OK");
	return 0;
}

/* ---- requests ----------------------------------------------------------- */

/*
 * Send @len bytes of req_buf with @wlen writable bytes; 0 with the used
 * length in *used, or fails.
 */
static int transact(size_t len, uint32_t wlen, uint32_t *used)
{
	uint16_t head = 0;

	memset(resp_buf, 0xee, sizeof(resp_buf));
	vq.desc[0] = (struct vdesc){ (uintptr_t)req_buf, (uint32_t)len, D_NEXT, 1 };
	vq.desc[1] = (struct vdesc){ (uintptr_t)resp_buf, wlen, D_WRITE, 0 };
	vq.avail.ring[vmem.avail_idx % QSIZE] = head;
	barrier();
	vmem.avail_idx++;
	*(volatile uint16_t *)&vq.avail.idx = vmem.avail_idx;
	barrier();
	vmem.notify_tsc = guest_rdtsc();
	wr(REG_QUEUE_NOTIFY, 0);
	vmem.requests++;
	if (!virtio_wait_used(&vmem.wait, &vq.used.idx, vmem.last_used)) {
		vmem.used_tsc = guest_rdtsc();
		*used = vq.used.ring[vmem.last_used % QSIZE].len;
		vmem.last_used++;
		return 0;
	}
	return fail("virtio-mem: request %u: no used element (status 0x%x)", vmem.requests,
	            rd(REG_STATUS));
}

/* One virtio_mem_req; *type and *state of the answer.  Fails only on the transport. */
static int request(uint16_t type, uint64_t addr, uint16_t nb, uint16_t *resp, uint16_t *state)
{
	uint32_t used = 0;

	memset(req_buf, 0, REQ_LEN);
	put16(req_buf, type);
	put64(req_buf + 8, addr);
	put16(req_buf + 16, nb);
	if (transact(REQ_LEN, RESP_LEN, &used))
		return 1;
	if (used < RESP_LEN)
		return fail("virtio-mem: request type %u: %u bytes answered, want %u", type, used,
		            RESP_LEN);
	*resp = get16(resp_buf);
	*state = get16(resp_buf + 8);
	return 0;
}

static bool blk_test(uint64_t b)
{
	return vmem.state[b / 8] >> (b % 8) & 1;
}

static void blk_set(uint64_t b, uint64_t n, bool on)
{
	for (uint64_t i = b; i < b + n; i++) {
		if (on)
			vmem.state[i / 8] |= (uint8_t)(1u << (i % 8));
		else
			vmem.state[i / 8] &= (uint8_t) ~(1u << (i % 8));
	}
}

static uint64_t pattern(uint64_t gpa)
{
	return gpa * 0x9e3779b97f4a7c15ull ^ 0x766d656d2d706174ull;
}

/* The first and last PAT_WORDS words of block @b. */
static volatile uint64_t *blk_words(uint64_t b, bool last)
{
	uint64_t gpa = vmem.addr + b * vmem.block_size;

	if (last)
		gpa += vmem.block_size - PAT_WORDS * 8;
	return (volatile uint64_t *)(uintptr_t)gpa;
}

static void pattern_write(uint64_t b)
{
	for (int end = 0; end < 2; end++) {
		volatile uint64_t *w = blk_words(b, end);

		for (unsigned i = 0; i < PAT_WORDS; i++)
			w[i] = pattern((uint64_t)(uintptr_t)&w[i]);
	}
}

static int pattern_check(uint64_t b, const char *when)
{
	for (int end = 0; end < 2; end++) {
		volatile uint64_t *w = blk_words(b, end);

		for (unsigned i = 0; i < PAT_WORDS; i++) {
			uint64_t want = pattern((uint64_t)(uintptr_t)&w[i]), got = w[i];

			if (got != want)
				return fail("virtio-mem: block %lu at 0x%lx %s: read 0x%lx, wrote "
				            "0x%lx",
				            b, (uint64_t)(uintptr_t)&w[i], when, got, want);
		}
	}
	return 0;
}

/*
 * PLUG or UNPLUG blocks [first, first+n): ACK updates the guest's view
 * (pattern written and checked on plug); BUSY is retried; NACK returns 1
 * through *nacked; ERROR fails.
 */
static int change(bool plug, uint64_t first, uint64_t n, bool *nacked)
{
	uint16_t resp = RESP_BUSY, state;
	unsigned tries;

	*nacked = false;
	if (!plug) {
		for (uint64_t b = first; b < first + n; b++) {
			if (pattern_check(b, "before its unplug"))
				return 1;
		}
	}
	for (tries = 0; tries < BUSY_MAX; tries++) {
		if (request(plug ? REQ_PLUG : REQ_UNPLUG, vmem.addr + first * vmem.block_size,
		            (uint16_t)n, &resp, &state))
			return 1;
		if (resp != RESP_BUSY)
			break;
		vmem.busy++;
		for (unsigned i = 0; i < 10000; i++)
			cpu_relax();
	}
	switch (resp) {
	case RESP_ACK:
		break;
	case RESP_NACK:
		vmem.nacks++;
		*nacked = true;
		return 0;
	case RESP_BUSY:
		return fail("virtio-mem: %s of 0x%lx+%lu blocks: BUSY %u times",
		            plug ? "PLUG" : "UNPLUG", vmem.addr + first * vmem.block_size, n,
		            tries);
	default:
		return fail("virtio-mem: %s of 0x%lx+%lu blocks answered %u (ERROR is 3)",
		            plug ? "PLUG" : "UNPLUG", vmem.addr + first * vmem.block_size, n, resp);
	}
	blk_set(first, n, plug);
	if (plug) {
		vmem.plugged += n * vmem.block_size;
		for (uint64_t b = first; b < first + n; b++) {
			pattern_write(b);
			if (pattern_check(b, "after its plug"))
				return 1;
		}
	} else {
		vmem.plugged -= n * vmem.block_size;
	}
	return 0;
}

/* Lowest unplugged block in the usable region, run cut at a memory block. */
static bool next_plug(uint64_t want, uint64_t *first, uint64_t *n)
{
	uint64_t usable = vmem.usable / vmem.block_size, b;

	for (b = 0; b < usable && blk_test(b); b++)
		;
	if (b == usable)
		return false;
	*first = b;
	for (*n = 0; b < usable && !blk_test(b) && *n < want; b++) {
		(*n)++;
		if ((b + 1) % vmem.mb_blocks == 0)
			break;
	}
	return true;
}

/* Highest plugged block, run going down to its memory block's start. */
static bool next_unplug(uint64_t want, uint64_t *first, uint64_t *n)
{
	uint64_t b = vmem.nblocks;

	while (b > 0 && !blk_test(b - 1))
		b--;
	if (b == 0)
		return false;
	*n = 0;
	while (b > 0 && blk_test(b - 1) && *n < want) {
		b--;
		(*n)++;
		if (b % vmem.mb_blocks == 0)
			break;
	}
	*first = b;
	return true;
}

/* Plug or unplug toward requested_size until it is reached. */
static int settle(void)
{
	for (;;) {
		uint64_t first, n;
		bool nacked = false, found;

		read_config();
		if (vmem.plugged == vmem.requested)
			return 0;
		if (vmem.plugged < vmem.requested)
			found = next_plug((vmem.requested - vmem.plugged) / vmem.block_size, &first,
			                  &n);
		else
			found = next_unplug((vmem.plugged - vmem.requested) / vmem.block_size,
			                    &first, &n);
		if (!found || n == 0)
			return fail("virtio-mem: cannot move 0x%lx toward 0x%lx in usable 0x%lx",
			            vmem.plugged, vmem.requested, vmem.usable);
		if (change(vmem.plugged < vmem.requested, first, n, &nacked))
			return 1;
		/* NACK: requested_size moved under us; the config says where to. */
	}
}

/*
 * Wait for a config-change interrupt and acknowledge it; @forever: no limit.
 * The guest is idle here, so it halts between looks (guest_idle()), and
 * watches the power button too (power.c), as a Linux guest takes it
 * whatever its drivers do.
 */
static int wait_config_change(bool forever)
{
	static bool mem_said;

	for (uint64_t i = 0; forever || i < IDLE_WAIT_MAX; i++) {
		uint32_t isr = rd(REG_INT_STATUS);

		if (isr)
			wr(REG_INT_ACK, isr);
		if (isr & INT_CONFIG)
			return 0;
		if ((power_poll() & GED_MEM_HOTPLUG_EVT) && !mem_said) {
			say("virtio-mem: a DIMM hotplug event, and no DIMM driver in this "
			    "scenario");
			mem_said = true;
		}
		guest_idle();
	}
	return fail("virtio-mem: no config-change interrupt (status 0x%x)", rd(REG_STATUS));
}

/* STATE over every memory block agrees with the guest's own view. */
static int check_states(void)
{
	unsigned checked = 0;

	for (uint64_t b = 0; b < vmem.usable / vmem.block_size; b += vmem.mb_blocks) {
		uint64_t n = vmem.mb_blocks, on = 0;
		uint16_t resp, state, want;

		if (b + n > vmem.usable / vmem.block_size)
			n = vmem.usable / vmem.block_size - b;
		for (uint64_t i = b; i < b + n; i++)
			on += blk_test(i);
		want = on == n ? STATE_PLUGGED : on == 0 ? STATE_UNPLUGGED : STATE_MIXED;
		if (request(REQ_STATE, vmem.addr + b * vmem.block_size, (uint16_t)n, &resp, &state))
			return 1;
		if (resp != RESP_ACK || state != want)
			return fail(
			        "virtio-mem: STATE of 0x%lx+%lu blocks: answer %u state %u, the "
			        "guest holds %lu plugged (state %u)",
			        vmem.addr + b * vmem.block_size, n, resp, state, on, want);
		checked++;
	}
	say("virtio-mem: STATE agrees with the guest over %u memory blocks", checked);
	return 0;
}

static int vmem_run(const struct guest_boot *b)
{
	uint64_t steps = 1;
	int err;

	err = cmdline_u64(b, "vmem_steps", &steps);
	if (err && err != -GERR_NOENT)
		return fail("vmem_steps=: want a number");
	if (power_init(b) || find_device(b) || check_refused() || dev_init())
		return 1;
	say("virtio-mem: region 0x%lx+0x%lx block 0x%lx, requested 0x%lx", vmem.addr,
	    vmem.region_size, vmem.block_size, vmem.requested);
	for (uint64_t s = 0; !steps || s < steps; s++) {
		/* Serving forever: the first settle is the probe's, with no interrupt. */
		if ((steps || s) && wait_config_change(!steps))
			return 1;
		if (settle())
			return 1;
		read_config();
		if (vmem.dev_plugged != vmem.plugged)
			return fail("virtio-mem: the device says 0x%lx plugged, the guest 0x%lx",
			            vmem.dev_plugged, vmem.plugged);
		say("virtio-mem plugged 0x%lx of requested 0x%lx", vmem.plugged, vmem.requested);
	}
	if (check_states())
		return 1;
	say("virtio-mem: %lu steps, %u requests, %u BUSY, %u NACK", steps, vmem.requests, vmem.busy,
	    vmem.nacks);
	return 0;
}

const struct guest_scenario scenario_virtio_mem = {
	.name = "virtio-mem",
	.run = vmem_run,
};

/* ---- requests no Linux driver sends ------------------------------------- */

/* Where a bad request points, relative to the device's geometry. */
enum where {
	AT_ADDR,     /* addr + off */
	AT_USABLE,   /* addr + usable_region_size + off */
	BELOW_ADDR,  /* addr - block_size */
	PAST_REGION, /* addr + region_size */
};

struct bad_req {
	const char *name;
	uint16_t type;
	enum where where;
	uint64_t off; /* in bytes; MEMORY_BLOCK multiples below */
	uint16_t nb;  /* 0xffff: one memory block plus one */
	size_t len;   /* readable bytes sent (REQ_LEN normally) */
	uint16_t want;
	int want_state; /* -1: not checked */
};

/* Block 0's memory block is plugged when the table runs, the rest is not. */
static const struct bad_req bad_reqs[] = {
	{ "outside the usable region", REQ_PLUG, AT_USABLE, 0, 1, REQ_LEN, RESP_ERROR, -1 },
	{ "past the region", REQ_PLUG, PAST_REGION, 0, 1, REQ_LEN, RESP_ERROR, -1 },
	{ "below the region", REQ_PLUG, BELOW_ADDR, 0, 1, REQ_LEN, RESP_ERROR, -1 },
	{ "unaligned address", REQ_PLUG, AT_ADDR, MEMORY_BLOCK + 4096, 1, REQ_LEN, RESP_ERROR, -1 },
	{ "zero blocks", REQ_PLUG, AT_ADDR, MEMORY_BLOCK, 0, REQ_LEN, RESP_ERROR, -1 },
	{ "plug past requested", REQ_PLUG, AT_ADDR, MEMORY_BLOCK, 0xffff, REQ_LEN, RESP_NACK, -1 },
	{ "plug of plugged", REQ_PLUG, AT_ADDR, 0, 1, REQ_LEN, RESP_ERROR, -1 },
	{ "unplug of unplugged", REQ_UNPLUG, AT_ADDR, MEMORY_BLOCK, 1, REQ_LEN, RESP_ERROR, -1 },
	{ "unplug over a mixed range", REQ_UNPLUG, AT_ADDR, MEMORY_BLOCK - 4096 * 512, 2, REQ_LEN,
	  RESP_ERROR, -1 },
	{ "STATE of plugged", REQ_STATE, AT_ADDR, 0, 1, REQ_LEN, RESP_ACK, STATE_PLUGGED },
	{ "STATE of unplugged", REQ_STATE, AT_ADDR, MEMORY_BLOCK, 1, REQ_LEN, RESP_ACK,
	  STATE_UNPLUGGED },
	{ "STATE over a mixed range", REQ_STATE, AT_ADDR, MEMORY_BLOCK - 4096 * 512, 2, REQ_LEN,
	  RESP_ACK, STATE_MIXED },
	{ "STATE outside the usable region", REQ_STATE, AT_USABLE, 0, 1, REQ_LEN, RESP_ERROR, -1 },
	{ "shorter than its header", REQ_PLUG, AT_ADDR, MEMORY_BLOCK, 1, 8, RESP_ERROR, -1 },
	{ "unknown type", 7, AT_ADDR, 0, 1, REQ_LEN, RESP_ERROR, -1 },
};

static int bad_one(const struct bad_req *r)
{
	uint64_t addr = vmem.addr + r->off;
	uint32_t used = 0;
	uint16_t resp, state, nb = r->nb;

	switch (r->where) {
	case AT_ADDR:
		/* Offsets in the table are for 2 MiB blocks: scale to this device's. */
		if (r->off == MEMORY_BLOCK - 4096 * 512)
			addr = vmem.addr + (vmem.mb_blocks - 1) * vmem.block_size;
		else if (r->off >= MEMORY_BLOCK)
			addr = vmem.addr + vmem.mb_blocks * vmem.block_size +
			       (r->off - MEMORY_BLOCK);
		break;
	case AT_USABLE:
		addr = vmem.addr + vmem.usable + r->off;
		break;
	case BELOW_ADDR:
		addr = vmem.addr - vmem.block_size;
		break;
	case PAST_REGION:
		addr = vmem.addr + vmem.region_size;
		break;
	}
	if (nb == 0xffff) /* everything left to requested, and one block more */
		nb = (uint16_t)((vmem.requested - vmem.plugged) / vmem.block_size + 1);
	memset(req_buf, 0, REQ_LEN);
	put16(req_buf, r->type);
	put64(req_buf + 8, addr);
	put16(req_buf + 16, nb);
	if (transact(r->len, RESP_LEN, &used))
		return 1;
	resp = get16(resp_buf);
	state = get16(resp_buf + 8);
	if (used < RESP_LEN || resp != r->want || (r->want_state >= 0 && state != r->want_state))
		return fail("virtio-mem-bad %s (addr 0x%lx nb %u): %u bytes, answer %u state %u; "
		            "want %u state %d",
		            r->name, addr, nb, used, resp, state, r->want, r->want_state);
	say("virtio-mem-bad %s: answer %u%s", r->name, resp,
	    r->want_state >= 0 ? " with the state expected" : "");
	return 0;
}

/*
 * Every word at a 4 KiB step of the unplugged memory block @mb reads
 * all-ones, and writes vanish; the host must allocate nothing for it.
 */
static int touch_unplugged(uint64_t mb)
{
	uint64_t gpa = vmem.addr + mb * vmem.mb_blocks * vmem.block_size;
	uint64_t len = vmem.mb_blocks * vmem.block_size;

	for (uint64_t off = 0; off < len; off += 4096) {
		volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)(gpa + off);

		*p = 0x12345678;
		if (*p != 0xffffffffu)
			return fail("virtio-mem-bad: unplugged 0x%lx reads 0x%x, want all-ones",
			            gpa + off, *p);
	}
	say("virtio-mem-bad: unplugged memory block at 0x%lx reads all-ones", gpa);
	return 0;
}

/* A chain that loops: the transport's NEEDS_RESET; the reset unplugs all. */
static int loop_chain(void)
{
	uint32_t st = 0, isr;
	uint16_t resp, state;

	vq.desc[0] = (struct vdesc){ (uintptr_t)req_buf, REQ_LEN, D_NEXT, 1 };
	vq.desc[1] = (struct vdesc){ (uintptr_t)resp_buf, RESP_LEN, D_NEXT | D_WRITE, 0 };
	vq.avail.ring[vmem.avail_idx % QSIZE] = 0;
	barrier();
	vmem.avail_idx++;
	*(volatile uint16_t *)&vq.avail.idx = vmem.avail_idx;
	barrier();
	wr(REG_QUEUE_NOTIFY, 0);
	for (uint64_t i = 0; i < VIRTIO_SPIN_MAX && !(st & ST_NEEDS_RESET); i++)
		st = rd(REG_STATUS);
	if (!(st & ST_NEEDS_RESET))
		return fail("virtio-mem-bad loop: no NEEDS_RESET (status 0x%x)", st);
	isr = rd(REG_INT_STATUS);
	wr(REG_INT_ACK, isr);
	if (!(isr & INT_CONFIG))
		return fail("virtio-mem-bad loop: InterruptStatus 0x%x lacks the config bit", isr);
	say("virtio-mem-bad a looping chain: NEEDS_RESET, config interrupt");
	if (dev_init())
		return 1;
	memset(vmem.state, 0, sizeof(vmem.state));
	vmem.plugged = 0;
	/* The reset unplugged everything: QEMU's and the spec's rule. */
	for (uint64_t i = 0; i < 1000000; i++) {
		read_config();
		if (vmem.dev_plugged == 0)
			break;
	}
	if (vmem.dev_plugged != 0)
		return fail("virtio-mem-bad: plugged_size 0x%lx after a reset, want 0",
		            vmem.dev_plugged);
	if (request(REQ_STATE, vmem.addr, (uint16_t)vmem.mb_blocks, &resp, &state))
		return 1;
	if (resp != RESP_ACK || state != STATE_UNPLUGGED)
		return fail("virtio-mem-bad: after the reset STATE answers %u state %u", resp,
		            state);
	say("virtio-mem-bad: the reset unplugged every block");
	return 0;
}

static int vmem_bad_run(const struct guest_boot *b)
{
	uint16_t resp, state;
	bool nacked;

	if (find_device(b) || check_refused() || dev_init())
		return 1;
	if (vmem.requested < 2 * vmem.mb_blocks * vmem.block_size)
		return fail("virtio-mem-bad: requested_size 0x%lx, need two memory blocks",
		            vmem.requested);
	/* One memory block plugged the good way. */
	if (change(true, 0, vmem.mb_blocks, &nacked) || nacked)
		return nacked ? fail("virtio-mem-bad: the first PLUG was NACKed") : 1;
	for (size_t i = 0; i < ARRAY_SIZE(bad_reqs); i++) {
		if (bad_one(&bad_reqs[i]))
			return 1;
	}
	if (touch_unplugged(1))
		return 1;
	/* The device still serves: plug and unplug the next memory block. */
	if (change(true, vmem.mb_blocks, vmem.mb_blocks, &nacked) || nacked ||
	    change(false, vmem.mb_blocks, vmem.mb_blocks, &nacked) || nacked)
		return nacked ? fail("virtio-mem-bad: a good request was NACKed") : 1;
	if (request(REQ_UNPLUG_ALL, 0, 0, &resp, &state) || resp != RESP_ACK)
		return fail("virtio-mem-bad: UNPLUG_ALL answered %u", resp);
	memset(vmem.state, 0, sizeof(vmem.state));
	vmem.plugged = 0;
	if (change(true, 0, vmem.mb_blocks, &nacked) || nacked)
		return 1;
	if (loop_chain())
		return 1;
	/* Serving again after the reset; leave one memory block plugged. */
	if (change(true, 0, vmem.mb_blocks, &nacked) || nacked)
		return nacked ? fail("virtio-mem-bad: PLUG after the reset was NACKed") : 1;
	if (touch_unplugged(1))
		return 1;
	say("virtio-mem-bad: %u bad requests answered as specified, device serving; plugged "
	    "0x%lx",
	    (unsigned)ARRAY_SIZE(bad_reqs), vmem.plugged);
	return 0;
}

const struct guest_scenario scenario_virtio_mem_bad = {
	.name = "virtio-mem-bad",
	.run = vmem_bad_run,
};

/* ---- for other scenarios (virtio_mem.h) --------------------------------- */

int vmem_open(const struct guest_boot *b)
{
	return find_device(b) || check_refused() || dev_init();
}

int vmem_request(uint16_t type, uint64_t addr, uint16_t nb, uint16_t *resp, uint16_t *state)
{
	return request(type, addr, nb, resp, state);
}

void vmem_request_tsc(uint64_t *notify, uint64_t *used)
{
	*notify = vmem.notify_tsc;
	*used = vmem.used_tsc;
}

void vmem_config(struct vmem_config *c)
{
	uint32_t isr = rd(REG_INT_STATUS);

	if (isr)
		wr(REG_INT_ACK, isr);
	read_config();
	c->addr = vmem.addr;
	c->region_size = vmem.region_size;
	c->block_size = vmem.block_size;
	c->usable = vmem.usable;
	c->plugged = vmem.dev_plugged;
	c->requested = vmem.requested;
}
