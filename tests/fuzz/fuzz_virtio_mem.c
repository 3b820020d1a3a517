/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for virtio-mem's request parser and state machine
 * (devproc/virtio_mem.c): the guest writes these bytes, the device process
 * parses them.  Each input is a program of operations on one device (512
 * MiB region, 2 MiB blocks, 4 slots of 128 MiB): requests built from
 * fields (so that addresses land in the region), raw request bytes, a new
 * requested-size, device reset, the last request re-sent with its seq, a
 * crash (the model destroyed and a successor attached to the same state
 * memfd), and a core that refuses the next slot map.
 *
 * Beyond "no crash, no leak", a shadow of the spec's rules checks every
 * answer: ERROR exactly for what the spec calls invalid, NACK past
 * requested-size, BUSY only when the fake core refused a map, STATE as the
 * shadow bitmap says; plugged_size and the mapped slots follow the
 * acknowledged blocks; a re-sent seq gets the same answer and changes
 * nothing, also from a successor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devproc.h"
#include "log.h"

#define MiB    (UINT64_C(1) << 20)
#define REGION (512 * MiB)
#define BLK    (2 * MiB)
#define NBLK   (REGION / BLK)
#define SLOT   (128 * MiB)
#define NSLOT  (REGION / SLOT)
#define GPA    (UINT64_C(16) << 30)
#define CONFIG "virtio-mem,id=vm0,memdev=mem0,requested-size=256M,block-size=2M"

enum { PLUG = 0, UNPLUG = 1, UNPLUG_ALL = 2, STATE = 3 };
enum { ACK = 0, NACK = 1, BUSY = 2, ERROR = 3 };

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int backend_fd = -1, state_fd = -1;

struct fz {
	const struct devproc_model_ops *ops;
	struct devproc_model *m;
	struct devproc_host host;
	bool plugged[NBLK]; /* the shadow: what the guest was answered */
	bool mapped[NSLOT]; /* the fake core's view */
	bool fail_next_map;
	bool map_refused; /* this request saw a refusal: BUSY is allowed */
	uint64_t seq;
	uint8_t last_req[40];
	size_t last_len;
	uint8_t last_resp[16];
	bool have_last;
};

#define FZ_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_virtio_mem: %s:%d: %s\n", __FILE__, __LINE__,        \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static int fake_slot_map(void *opaque, uint64_t offset, uint64_t size, bool map)
{
	struct fz *f = opaque;

	FZ_CHECK(offset % SLOT == 0 && offset < REGION && size == SLOT);
	if (map && f->fail_next_map) {
		f->fail_next_map = false;
		f->map_refused = true;
		return -EIO;
	}
	f->mapped[offset / SLOT] = map;
	return 0;
}

static int fake_config(void *opaque, const void *config, size_t len, bool notify)
{
	(void)opaque;
	(void)config;
	(void)notify;
	FZ_CHECK(len == 56);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	(void)argc;
	(void)argv;
	/* The model's rate-limited warnings would flood the output. */
	if (fd >= 0)
		log_set_fd(fd);
	/* Never written: punch-hole on it costs nothing, RSS stays flat. */
	backend_fd = memfd_create("fuzz-vmem", MFD_CLOEXEC);
	state_fd = memfd_create("fuzz-vmem-state", MFD_CLOEXEC);
	if (backend_fd < 0 || state_fd < 0 || ftruncate(backend_fd, (off_t)REGION) < 0)
		abort();
	return 0;
}

static uint64_t prop(const struct fz *f, const char *name)
{
	char buf[64];

	FZ_CHECK(f->ops->prop_get(f->m, name, buf, sizeof(buf)) == 0);
	return strtoull(buf, NULL, 10);
}

/* Create and attach a model to the shared fds; @fresh wipes the journal. */
static void fz_attach(struct fz *f, bool fresh)
{
	struct devproc_res res = { .region_gpa = GPA, .host = &f->host };
	char err[256];

	if (fresh)
		FZ_CHECK(ftruncate(state_fd, 0) == 0);
	res.backend_fd = fcntl(backend_fd, F_DUPFD_CLOEXEC, 3);
	res.state_fd = fcntl(state_fd, F_DUPFD_CLOEXEC, 3);
	FZ_CHECK(res.backend_fd >= 0 && res.state_fd >= 0);
	FZ_CHECK(f->ops->create(&f->m, CONFIG, err, sizeof(err)) == 0);
	FZ_CHECK(f->ops->attach(f->m, &res, err, sizeof(err)) == 0);
	FZ_CHECK(res.backend_fd == -1 && res.state_fd == -1);
	FZ_CHECK(f->ops->placed(f->m, GPA) == 0);
}

/* plugged_size and the slots follow the acknowledged blocks. */
static void fz_check_state(const struct fz *f)
{
	uint64_t n = 0;

	for (uint64_t b = 0; b < NBLK; b++)
		n += f->plugged[b];
	FZ_CHECK(prop(f, "size") == n * BLK);
	FZ_CHECK(prop(f, "size") <= prop(f, "usable-region-size"));
	FZ_CHECK(prop(f, "usable-region-size") <= REGION);
	for (uint64_t s = 0; s < NSLOT; s++) {
		bool any = false;

		for (uint64_t b = s * (SLOT / BLK); b < (s + 1) * (SLOT / BLK); b++)
			any |= f->plugged[b];
		FZ_CHECK(any == f->mapped[s]);
	}
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The spec's (and QEMU's) answer, from the shadow; *range is the block range. */
static int expect(const struct fz *f, const uint8_t *in, size_t len, uint32_t queue,
                  uint32_t writable, uint16_t *state, uint64_t *first, uint64_t *n)
{
	uint64_t usable = prop(f, "usable-region-size"), plugged = prop(f, "size");
	uint64_t addr, size, end;
	uint16_t type, nb;
	bool all_p = true, all_u = true;

	if (queue || len < 24 || writable < 10)
		return ERROR;
	type = le16(in);
	if (type == UNPLUG_ALL)
		return ACK;
	if (type != PLUG && type != UNPLUG && type != STATE)
		return ERROR;
	addr = le64(in + 8);
	nb = le16(in + 16);
	size = (uint64_t)nb * BLK;
	if (addr % BLK || !nb || __builtin_add_overflow(addr, size, &end) || addr < GPA ||
	    addr - GPA >= usable || end - GPA > usable)
		return ERROR;
	*first = (addr - GPA) / BLK;
	*n = nb;
	for (uint64_t b = *first; b < *first + *n; b++) {
		all_p &= f->plugged[b];
		all_u &= !f->plugged[b];
	}
	if (type == STATE) {
		*state = all_p ? 0 : all_u ? 1 : 2;
		return ACK;
	}
	if (type == PLUG && plugged + size > prop(f, "requested-size"))
		return NACK;
	return (type == PLUG ? all_u : all_p) ? ACK : ERROR;
}

static void fz_request(struct fz *f, const uint8_t *in, size_t len, uint32_t queue,
                       uint32_t writable)
{
	uint8_t out[64];
	size_t outlen = 0;
	uint16_t state = 0;
	uint64_t first = 0, n = 0;
	int want = expect(f, in, len, queue, writable, &state, &first, &n);

	f->map_refused = false;
	f->seq++;
	FZ_CHECK(f->ops->request(f->m, queue, f->seq, in, len, writable, out, sizeof(out),
	                         &outlen) == 0);
	FZ_CHECK(outlen == 10);
	if (want == ACK && out[0] == BUSY)
		FZ_CHECK(f->map_refused);
	else
		FZ_CHECK(out[0] == want && out[1] == 0);
	if (out[0] == ACK && queue == 0 && len >= 24 && writable >= 10) {
		uint16_t type = le16(in);

		if (type == STATE)
			FZ_CHECK(le16(out + 8) == state);
		else if (type == UNPLUG_ALL)
			memset(f->plugged, 0, sizeof(f->plugged));
		else
			memset(f->plugged + first, type == PLUG, n);
	}
	/* A refused map is undone: BUSY leaves everything as it was. */
	fz_check_state(f);
	memcpy(f->last_req, in, len < sizeof(f->last_req) ? len : sizeof(f->last_req));
	f->last_len = len < sizeof(f->last_req) ? len : sizeof(f->last_req);
	memcpy(f->last_resp, out, 10);
	f->have_last = len == f->last_len && queue == 0 && writable >= 10 && !f->map_refused;
}

/* The core re-sends the last request with its seq: same answer, no change. */
static void fz_resend(struct fz *f)
{
	uint8_t out[64];
	size_t outlen = 0;
	uint64_t size = prop(f, "size");

	if (!f->have_last)
		return;
	FZ_CHECK(f->ops->request(f->m, 0, f->seq, f->last_req, f->last_len, 10, out, sizeof(out),
	                         &outlen) == 0);
	FZ_CHECK(outlen == 10 && !memcmp(out, f->last_resp, 10));
	FZ_CHECK(prop(f, "size") == size);
	fz_check_state(f);
}

static void fz_set_requested(struct fz *f, const char *value, bool must_pass)
{
	char err[256];
	int ret = f->ops->prop_set(f->m, "requested-size", value, err, sizeof(err));

	FZ_CHECK(!must_pass || ret == 0);
	FZ_CHECK(ret == 0 || ret == -EINVAL);
	/* An answered request is never re-sent once the state moved on. */
	f->have_last = false;
	fz_check_state(f);
}

struct input {
	const uint8_t *p;
	size_t left;
};

static uint8_t next8(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static uint16_t next16(struct input *in)
{
	uint16_t lo = next8(in);

	return (uint16_t)(lo | next8(in) << 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct fz *f = calloc(1, sizeof(*f));
	char val[32];

	FZ_CHECK(f);
	f->ops = devproc_virtio_mem();
	f->host = (struct devproc_host){ f, fake_slot_map, fake_config };
	FZ_CHECK(fallocate(backend_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
	                   (off_t)REGION) == 0);
	fz_attach(f, true);

	for (unsigned ops = 0; in.left && ops < 256; ops++) {
		uint8_t op = next8(&in), req[40] = { 0 };
		size_t len;

		switch (op % 8) {
		case 0:
		case 1: { /* a request from fields, mostly inside the region */
			uint64_t addr = GPA + (uint64_t)(next16(&in) % (NBLK + 16)) * BLK;

			req[0] = (uint8_t)(next8(&in) % 5);
			if (op & 0x80)
				addr += next8(&in) * 4096u; /* unaligned */
			if (op & 0x40)
				addr -= 16 * BLK; /* below the region */
			for (int i = 0; i < 8; i++)
				req[8 + i] = (uint8_t)(addr >> (8 * i));
			req[16] = next8(&in) % 140;
			req[17] = op & 0x20 ? next8(&in) : 0;
			fz_request(f, req, 24, 0, 10);
			break;
		}
		case 2: /* raw bytes, any length, queue and writable room */
			len = next8(&in) % 41;
			for (size_t i = 0; i < len; i++)
				req[i] = next8(&in);
			fz_request(f, req, len, op >> 7, next8(&in) % 16);
			break;
		case 3: /* requested-size, a block multiple or any short text */
			if (op & 0x80) {
				len = next8(&in) % sizeof(val);
				for (size_t i = 0; i < len; i++)
					val[i] = (char)next8(&in);
				val[len] = 0;
				fz_set_requested(f, val, false);
			} else {
				uint64_t v = (uint64_t)(next8(&in) % (NBLK + 8)) * BLK;

				snprintf(val, sizeof(val), "%llu", (unsigned long long)v);
				fz_set_requested(f, val, v <= REGION);
			}
			break;
		case 4: /* the driver reset the device */
			FZ_CHECK(f->ops->reset(f->m) == 0);
			memset(f->plugged, 0, sizeof(f->plugged));
			f->have_last = false;
			fz_check_state(f);
			break;
		case 5:
			fz_resend(f);
			break;
		case 6: /* kill -9 and a successor on the same state memfd */
			f->ops->destroy(f->m);
			f->m = NULL;
			f->fail_next_map = false; /* the restatement must go through */
			fz_attach(f, false);
			fz_check_state(f);
			fz_resend(f);
			break;
		case 7:
			f->fail_next_map = true;
			break;
		}
	}
	f->ops->destroy(f->m);
	free(f);
	return 0;
}
