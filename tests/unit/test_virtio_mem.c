// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The virtio-mem model alone: a memfd backend, a state memfd, and a fake
 * core that records every slot-map and config call.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "devproc.h"

#define MiB    (UINT64_C(1) << 20)
#define BASE   (UINT64_C(4) << 30)
#define REGION (UINT64_C(1) << 30)
#define BLK    (2 * MiB)

enum { PLUG = 0, UNPLUG = 1, UNPLUG_ALL = 2, STATE = 3, UNKNOWN = 7 };
enum { ACK = 0, NACK = 1, BUSY = 2, ERROR = 3 };
enum { S_PLUGGED = 0, S_UNPLUGGED = 1, S_MIXED = 2 };

struct slot_call {
	uint64_t offset, size;
	bool map;
};

struct fx {
	const struct devproc_model_ops *ops;
	struct devproc_model *m;
	struct devproc_host host;
	int backend, state;
	struct slot_call calls[64];
	int ncalls;
	int fail_map; /* the core refuses the next map */
	int config_pushes;
	bool last_notify;
	uint8_t config[64];
	uint64_t seq;
};

static int fake_slot_map(void *opaque, uint64_t offset, uint64_t size, bool map)
{
	struct fx *f = opaque;

	if (map && f->fail_map) {
		f->fail_map = 0;
		return -EIO;
	}
	assert_true(f->ncalls < 64);
	f->calls[f->ncalls++] = (struct slot_call){ offset, size, map };
	return 0;
}

static int fake_config(void *opaque, const void *config, size_t len, bool notify)
{
	struct fx *f = opaque;

	assert_int_equal(len, 56);
	memcpy(f->config, config, len);
	f->config_pushes++;
	f->last_notify = notify;
	return 0;
}

static uint64_t cfg64(const struct fx *f, size_t off)
{
	uint64_t v;

	memcpy(&v, f->config + off, 8);
	return v;
}

/* A model over f's fds, as a (first or successor) device process would. */
static void fx_attach(struct fx *f, const char *config)
{
	char err[256] = "";
	struct devproc_res res = {
		.backend_fd = dup(f->backend),
		.state_fd = dup(f->state),
		.host = &f->host,
	};

	assert_int_equal(f->ops->create(&f->m, config, err, sizeof(err)), 0);
	assert_int_equal(f->ops->attach(f->m, &res, err, sizeof(err)), 0);
	assert_int_equal(res.backend_fd, -1);
	assert_int_equal(f->ops->placed(f->m, BASE), 0);
	f->ncalls = 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->ops = devproc_model_lookup("virtio-mem");
	f->host = (struct devproc_host){ f, fake_slot_map, fake_config };
	f->backend = memfd_create("backend", MFD_CLOEXEC);
	f->state = memfd_create("state", MFD_CLOEXEC);
	assert_int_equal(ftruncate(f->backend, (off_t)REGION), 0);
	fx_attach(f, "virtio-mem,id=vm0,memdev=mem0,requested-size=512M,block-size=2M");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	f->ops->destroy(f->m);
	close(f->backend);
	close(f->state);
	free(f);
	return 0;
}

/* __req() returns the raw answer; req() asserts its type. */
static uint16_t __req(struct fx *f, const uint8_t *in, size_t len, uint32_t writable, uint16_t *st)
{
	uint8_t out[16];
	size_t outlen;

	assert_int_equal(
	        f->ops->request(f->m, 0, ++f->seq, in, len, writable, out, sizeof(out), &outlen),
	        0);
	assert_int_equal(outlen, 10);
	if (st)
		*st = (uint16_t)(out[8] | out[9] << 8);
	return (uint16_t)(out[0] | out[1] << 8);
}

static void mkreq(uint8_t *b, uint16_t type, uint64_t addr, uint16_t nb)
{
	memset(b, 0, 24);
	memcpy(b, &type, 2);
	memcpy(b + 8, &addr, 8);
	memcpy(b + 16, &nb, 2);
}

static uint16_t req(struct fx *f, uint16_t type, uint64_t addr, uint16_t nb, uint16_t *st)
{
	uint8_t b[24];

	mkreq(b, type, addr, nb);
	return __req(f, b, sizeof(b), 10, st);
}

static uint64_t plugged(struct fx *f)
{
	struct devproc_status st;

	f->ops->status(f->m, &st);
	return st.plugged_size;
}

static void test_config_and_decl(void **state)
{
	struct fx *f = *state;
	struct devproc_decl d;

	f->ops->decl(f->m, &d);
	assert_int_equal(d.virtio_id, 24);
	assert_int_equal(d.features, 1u << 1); /* no node: no ACPI_PXM */
	assert_int_equal(d.required_features, 1u << 1);
	assert_int_equal(d.config_len, 56);
	assert_int_equal(cfg64(f, 0), BLK);
	assert_int_equal(cfg64(f, 16), BASE);
	assert_int_equal(cfg64(f, 24), REGION);
	/* QEMU: requested + 256 MiB, at most the region. */
	assert_int_equal(cfg64(f, 32), 768 * MiB);
	assert_int_equal(cfg64(f, 48), 512 * MiB);
}

static void test_plug_unplug_slots(void **state)
{
	struct fx *f = *state;
	uint16_t st;

	assert_int_equal(req(f, PLUG, BASE, 64, NULL), ACK);
	assert_int_equal(plugged(f), 128 * MiB);
	assert_int_equal(f->ncalls, 1);
	assert_true(f->calls[0].map && f->calls[0].offset == 0 && f->calls[0].size == 128 * MiB);
	assert_int_equal(cfg64(f, 40), 128 * MiB);
	/* A second plug into the same slot asks the core for nothing. */
	assert_int_equal(req(f, PLUG, BASE + 128 * MiB, 1, NULL), ACK);
	assert_int_equal(f->ncalls, 2);
	assert_true(f->calls[1].map && f->calls[1].offset == 128 * MiB);
	assert_int_equal(req(f, PLUG, BASE + 130 * MiB, 1, NULL), ACK);
	assert_int_equal(f->ncalls, 2);
	assert_int_equal(req(f, STATE, BASE, 64, &st), ACK);
	assert_int_equal(st, S_PLUGGED);
	assert_int_equal(req(f, STATE, BASE + 128 * MiB, 3, &st), ACK);
	assert_int_equal(st, S_MIXED);
	assert_int_equal(req(f, STATE, BASE + 256 * MiB, 8, &st), ACK);
	assert_int_equal(st, S_UNPLUGGED);
	/* Unplugging one of two blocks keeps the slot; the last one unmaps it. */
	assert_int_equal(req(f, UNPLUG, BASE + 128 * MiB, 1, NULL), ACK);
	assert_int_equal(f->ncalls, 2);
	assert_int_equal(req(f, UNPLUG, BASE + 130 * MiB, 1, NULL), ACK);
	assert_int_equal(f->ncalls, 3);
	assert_true(!f->calls[2].map && f->calls[2].offset == 128 * MiB);
	assert_int_equal(plugged(f), 128 * MiB);
	assert_int_equal(req(f, UNPLUG_ALL, 0, 0, NULL), ACK);
	assert_int_equal(plugged(f), 0);
	assert_int_equal(f->ncalls, 4);
	assert_true(!f->calls[3].map && f->calls[3].offset == 0);
	assert_int_equal(req(f, STATE, BASE, 64, &st), ACK);
	assert_int_equal(st, S_UNPLUGGED);
}

struct bad_case {
	const char *name;
	uint16_t type;
	uint64_t addr;
	uint16_t nb;
	size_t len;
	uint32_t writable;
	uint16_t want;
};

static void test_bad_requests(void **state)
{
	static const struct bad_case cases[] = {
		{ "outside usable region", PLUG, BASE + 768 * MiB, 1, 24, 10, ERROR },
		{ "below the region", PLUG, BASE - BLK, 1, 24, 10, ERROR },
		{ "ends past usable region", PLUG, BASE + 766 * MiB, 2, 24, 10, ERROR },
		{ "unaligned address", PLUG, BASE + 4096, 1, 24, 10, ERROR },
		{ "zero blocks", PLUG, BASE, 0, 24, 10, ERROR },
		{ "address wraps", PLUG, UINT64_MAX - BLK + 1, 2, 24, 10, ERROR },
		{ "plug past requested size", PLUG, BASE, 257, 24, 10, NACK },
		{ "unplug of unplugged", UNPLUG, BASE + 256 * MiB, 1, 24, 10, ERROR },
		{ "unplug of mixed", UNPLUG, BASE, 2, 24, 10, ERROR },
		{ "plug of plugged", PLUG, BASE + 2 * MiB, 1, 24, 10, ERROR },
		{ "state outside", STATE, BASE + 768 * MiB, 1, 24, 10, ERROR },
		{ "short request", PLUG, BASE + 4 * MiB, 1, 23, 10, ERROR },
		{ "no room for the answer", PLUG, BASE + 4 * MiB, 1, 24, 9, ERROR },
		{ "unknown type", UNKNOWN, BASE, 1, 24, 10, ERROR },
	};
	struct fx *f = *state;
	uint8_t b[24];

	assert_int_equal(req(f, PLUG, BASE + 2 * MiB, 1, NULL), ACK);
	f->ncalls = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *c = &cases[i];
		uint16_t got;

		mkreq(b, c->type, c->addr, c->nb);
		got = __req(f, b, c->len, c->writable, NULL);
		if (got != c->want)
			fail_msg("%s: answer %u, want %u", c->name, got, c->want);
		if (plugged(f) != 2 * MiB || f->ncalls)
			fail_msg("%s: changed state", c->name);
	}
	/* The device keeps serving. */
	assert_int_equal(req(f, PLUG, BASE + 4 * MiB, 1, NULL), ACK);
}

static void test_punch_hole_frees_memory(void **state)
{
	struct fx *f = *state;
	struct stat before, after;
	char *p;

	assert_int_equal(req(f, PLUG, BASE, 8, NULL), ACK);
	p = mmap(NULL, 16 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, f->backend, 0);
	assert_true(p != MAP_FAILED);
	memset(p, 0xa5, 16 * MiB); /* the guest fills its blocks */
	munmap(p, 16 * MiB);
	assert_int_equal(fstat(f->backend, &before), 0);
	assert_int_equal(req(f, UNPLUG, BASE, 8, NULL), ACK);
	assert_int_equal(fstat(f->backend, &after), 0);
	assert_true(before.st_blocks >= (blkcnt_t)(16 * MiB / 512));
	assert_true(after.st_blocks == 0);
	assert_int_equal(after.st_size, (off_t)REGION);
}

static void test_map_refused_is_busy(void **state)
{
	struct fx *f = *state;

	f->fail_map = 1;
	assert_int_equal(req(f, PLUG, BASE, 64, NULL), BUSY);
	assert_int_equal(plugged(f), 0);
	assert_int_equal(req(f, PLUG, BASE, 64, NULL), ACK);
}

static void test_requested_size_property(void **state)
{
	struct fx *f = *state;
	char err[256], val[32];

	assert_int_equal(f->ops->prop_set(f->m, "requested-size", "3M", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "multiple of block-size"));
	assert_int_equal(f->ops->prop_set(f->m, "requested-size", "2G", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "cannot exceed"));
	assert_int_equal(f->ops->prop_set(f->m, "block-size", "4M", err, sizeof(err)), -EINVAL);
	assert_int_equal(f->ops->prop_set(f->m, "nope", "1", err, sizeof(err)), -ENOENT);
	f->config_pushes = 0;
	assert_int_equal(f->ops->prop_set(f->m, "requested-size", "1G", err, sizeof(err)), 0);
	assert_int_equal(f->config_pushes, 1);
	assert_true(f->last_notify);
	assert_int_equal(cfg64(f, 48), REGION);
	assert_int_equal(cfg64(f, 32), REGION); /* capped at the region */
	/* Shrinking the request leaves the usable region (QEMU: no shrink). */
	assert_int_equal(f->ops->prop_set(f->m, "requested-size", "0", err, sizeof(err)), 0);
	assert_int_equal(cfg64(f, 32), REGION);
	assert_int_equal(f->ops->prop_get(f->m, "requested-size", val, sizeof(val)), 0);
	assert_string_equal(val, "0");
	assert_int_equal(req(f, PLUG, BASE, 1, NULL), NACK);
	/* UNPLUG_ALL shrinks it: requested 0 -> usable 0. */
	assert_int_equal(req(f, UNPLUG_ALL, 0, 0, NULL), ACK);
	assert_int_equal(cfg64(f, 32), 0);
}

/* A successor over the same fds answers the last seq from the journal. */
static void test_successor_answers_from_journal(void **state)
{
	struct fx *f = *state;
	uint8_t b[24], out[16];
	size_t outlen;
	uint64_t seq;

	assert_int_equal(req(f, PLUG, BASE, 64, NULL), ACK);
	seq = f->seq;
	f->ops->destroy(f->m); /* kill -9 after the commit, before the answer left */
	f->ncalls = 0;
	fx_attach(f, "virtio-mem,id=vm0,memdev=mem0,requested-size=512M,block-size=2M");
	assert_int_equal(plugged(f), 128 * MiB);
	mkreq(b, PLUG, BASE, 64);
	assert_int_equal(f->ops->request(f->m, 0, seq, b, 24, 10, out, sizeof(out), &outlen), 0);
	assert_int_equal(out[0], ACK);
	assert_int_equal(plugged(f), 128 * MiB);
	assert_int_equal(f->ncalls, 0);
	/* Executed again it would be an ERROR (already plugged). */
	f->seq = seq;
	assert_int_equal(req(f, PLUG, BASE, 64, NULL), ERROR);
}

/* Restating slots after a restart: mapped exactly where blocks are plugged. */
static void test_successor_restates_slots(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	struct devproc_res res = { .backend_fd = dup(f->backend),
		                   .state_fd = dup(f->state),
		                   .host = &f->host };

	assert_int_equal(req(f, PLUG, BASE + 256 * MiB, 1, NULL), ACK);
	f->ops->destroy(f->m);
	f->ncalls = 0;
	assert_int_equal(f->ops->create(&f->m, "virtio-mem,block-size=2M,requested-size=512M", err,
	                                sizeof(err)),
	                 0);
	assert_int_equal(f->ops->attach(f->m, &res, err, sizeof(err)), 0);
	assert_int_equal(f->ops->placed(f->m, BASE), 0);
	assert_int_equal(f->ncalls, 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(f->calls[i].map, i == 2);
}

struct cfg_case {
	const char *config;
	const char *err;
};

static void test_create_rules(void **state)
{
	static const struct cfg_case cases[] = {
		{ "virtio-mem,block-size=3M", "power of two" },
		{ "virtio-mem,block-size=1M", "THP size" },
		{ "virtio-mem,block-size=2M,requested-size=3M", "multiple of block-size" },
		{ "virtio-mem,sise=1G", "sise" },
		{ "virtio-pmem,id=x", "not virtio-mem" },
		{ "virtio-mem,node=x", "node" },
	};
	struct fx *f = *state;
	struct devproc_model *m;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = 0;
		assert_int_equal(f->ops->create(&m, cases[i].config, err, sizeof(err)), -EINVAL);
		if (!strstr(err, cases[i].err))
			fail_msg("%s: '%s' lacks '%s'", cases[i].config, err, cases[i].err);
	}
}

static void test_attach_rules(void **state)
{
	struct fx *f = *state;
	struct devproc_model *m;
	char err[256];
	int st = memfd_create("s2", MFD_CLOEXEC);
	struct devproc_res res = { .backend_fd = f->backend, .state_fd = st, .host = &f->host };
	struct devproc_decl d;

	assert_int_equal(
	        f->ops->create(&m, "virtio-mem,requested-size=2G,node=1", err, sizeof(err)), 0);
	assert_int_equal(f->ops->attach(m, &res, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "cannot exceed"));
	assert_int_equal(res.backend_fd, f->backend); /* not taken on failure */
	f->ops->destroy(m);
	assert_int_equal(f->ops->create(&m, "virtio-mem,node=1", err, sizeof(err)), 0);
	res.backend_fd = dup(f->backend);
	assert_int_equal(f->ops->attach(m, &res, err, sizeof(err)), 0);
	f->ops->decl(m, &d);
	assert_int_equal(d.features, 3); /* ACPI_PXM with a node */
	assert_int_equal(d.config[8], 1);
	f->ops->destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_and_decl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plug_unplug_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_punch_hole_frees_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_refused_is_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requested_size_property, setup, teardown),
		cmocka_unit_test_setup_teardown(test_successor_answers_from_journal, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_successor_restates_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_rules, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
