// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The virtio-pmem model alone: a backing file, a fake core that records the
 * config copies, and a flush stand-in that counts calls (or fails).  The
 * write-back test uses the real fdatasync on a file of the disk that holds
 * TMPDIR, and watches the file's dirty pages with cachestat(2) where the
 * kernel has it (6.5 and later).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "devproc.h"
#include "seccomp_policy.h"

#define BASE (UINT64_C(5) << 30)
#define SIZE (UINT64_C(2) << 20)

enum { OK = 0, EIO_ = 1, NONE = -1 };

struct fx {
	const struct devproc_model_ops *ops;
	struct devproc_model *m;
	struct devproc_host host;
	char path[256];
	int file;
	uint8_t config[16];
	int config_pushes;
	uint64_t seq;
};

static int flush_calls;
static int flush_result;
static int flush_fd_seen;

static int fake_flush(int fd)
{
	flush_calls++;
	flush_fd_seen = fd;
	return flush_result;
}

static int fake_config(void *opaque, const void *config, size_t len, bool notify)
{
	struct fx *f = opaque;

	assert_int_equal(len, 16);
	assert_false(notify);
	memcpy(f->config, config, len);
	f->config_pushes++;
	return 0;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* A file of @size bytes in TMPDIR (or /tmp), opened @flags; unlinked at teardown. */
static int make_file(struct fx *f, uint64_t size)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(f->path, sizeof(f->path), "%s/test_virtio_pmem.XXXXXX", dir ? dir : "/tmp");
	fd = mkostemp(f->path, O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

static int __attach(struct fx *f, int fd, const char *config, char *err, size_t errlen)
{
	struct devproc_res res = { .backend_fd = fd, .state_fd = -1, .host = &f->host };
	int ret;

	ret = f->ops->create(&f->m, config, err, errlen);
	if (ret < 0)
		return ret;
	ret = f->ops->attach(f->m, &res, err, errlen);
	if (ret < 0) {
		f->ops->destroy(f->m);
		f->m = NULL;
		close(fd);
		return ret;
	}
	assert_int_equal(res.backend_fd, -1);
	return 0;
}

static void attach(struct fx *f, int fd, const char *config)
{
	char err[256] = "";

	assert_int_equal(__attach(f, fd, config, err, sizeof(err)), 0);
	assert_int_equal(f->ops->placed(f->m, BASE), 0);
	devproc_virtio_pmem_set_flush(f->m, fake_flush);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->ops = devproc_model_lookup("virtio-pmem");
	assert_non_null(f->ops);
	f->host = (struct devproc_host){ f, NULL, fake_config };
	f->file = make_file(f, SIZE);
	flush_calls = 0;
	flush_result = 0;
	flush_fd_seen = -1;
	*state = f;
	return 0;
}

static int setup_attached(void **state)
{
	struct fx *f;

	setup(state);
	f = *state;
	attach(f, dup(f->file), "virtio-pmem,id=pm0,memdev=mem1");
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->m)
		f->ops->destroy(f->m);
	close(f->file);
	unlink(f->path);
	free(f);
	return 0;
}

/* __req() returns the answer's ret, or NONE when no answer bytes came. */
static int __req(struct fx *f, const uint8_t *in, size_t len, uint32_t writable)
{
	uint8_t out[64];
	size_t outlen = 99;

	memset(out, 0xee, sizeof(out));
	assert_int_equal(
	        f->ops->request(f->m, 0, ++f->seq, in, len, writable, out, sizeof(out), &outlen),
	        0);
	if (outlen == 0)
		return NONE;
	assert_int_equal(outlen, 4);
	return (int)le64((const uint8_t[8]){ out[0], out[1], out[2], out[3] });
}

static int flush_req(struct fx *f)
{
	static const uint8_t flush[4] = { 0, 0, 0, 0 };

	return __req(f, flush, sizeof(flush), 4);
}

/* ---- the request parser --------------------------------------------------- */

struct req_case {
	const char *name;
	uint8_t bytes[8];
	size_t len;
	uint32_t writable;
	int want;     /* ret, or NONE */
	bool flushes; /* the backend is flushed */
};

static const struct req_case req_cases[] = {
	{ "FLUSH", { 0, 0, 0, 0 }, 4, 4, OK, true },
	{ "FLUSH with room to spare", { 0, 0, 0, 0 }, 4, 64, OK, true },
	{ "unknown type 1", { 1, 0, 0, 0 }, 4, 4, EIO_, false },
	{ "unknown type 0x100", { 0, 1, 0, 0 }, 4, 4, EIO_, false },
	{ "unknown type 0xffffffff", { 0xff, 0xff, 0xff, 0xff }, 4, 4, EIO_, false },
	{ "empty", { 0 }, 0, 4, EIO_, false },
	{ "short (3 bytes)", { 0, 0, 0 }, 3, 4, EIO_, false },
	{ "long (5 bytes)", { 0, 0, 0, 0, 0 }, 5, 4, EIO_, false },
	{ "long (8 bytes)", { 0 }, 8, 4, EIO_, false },
	{ "no room for the answer", { 0, 0, 0, 0 }, 4, 0, NONE, false },
	{ "3 bytes of room", { 0, 0, 0, 0 }, 4, 3, NONE, false },
	{ "unknown type, no room", { 9, 0, 0, 0 }, 4, 2, NONE, false },
};

static void test_request_table(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(req_cases) / sizeof(req_cases[0]); i++) {
		const struct req_case *c = &req_cases[i];
		int before = flush_calls, got;

		got = __req(f, c->bytes, c->len, c->writable);
		if (got != c->want || (flush_calls != before) != c->flushes)
			fail_msg("%s: answered %d, flushed %d; want %d, flushed %d", c->name, got,
			         flush_calls - before, c->want, c->flushes);
		/* The device serves on after each. */
		assert_int_equal(flush_req(f), OK);
	}
	assert_int_equal(flush_fd_seen >= 0, true);
}

static void test_wrong_queue(void **state)
{
	struct fx *f = *state;
	static const uint8_t flush[4] = { 0 };
	uint8_t out[8];
	size_t outlen = 0;

	assert_int_equal(f->ops->request(f->m, 1, 1, flush, 4, 4, out, sizeof(out), &outlen), 0);
	assert_int_equal(outlen, 4);
	assert_int_equal(out[0], EIO_);
	assert_int_equal(flush_calls, 0);
	/* The caller's buffer too small for any answer is the caller's bug. */
	assert_int_equal(f->ops->request(f->m, 0, 2, flush, 4, 4, out, 3, &outlen), -ENOBUFS);
	assert_int_equal(outlen, 0);
}

static void test_flush_failure(void **state)
{
	struct fx *f = *state;
	char buf[32];

	flush_result = -EIO;
	assert_int_equal(flush_req(f), EIO_);
	flush_result = -ENOSPC;
	assert_int_equal(flush_req(f), EIO_);
	/* A transient failure does not break the device. */
	flush_result = 0;
	assert_int_equal(flush_req(f), OK);
	assert_int_equal(f->ops->prop_get(f->m, "flushes", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "3");
	assert_int_equal(f->ops->prop_get(f->m, "flush-failures", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2");
}

/* A re-sent seq (the core replays to a successor) is flushed and answered again. */
static void test_resent_seq(void **state)
{
	struct fx *f = *state;
	static const uint8_t flush[4] = { 0 };
	uint8_t out[8];
	size_t outlen = 0;

	for (int i = 0; i < 2; i++) {
		memset(out, 0xee, sizeof(out));
		assert_int_equal(
		        f->ops->request(f->m, 0, 42, flush, 4, 4, out, sizeof(out), &outlen), 0);
		assert_int_equal(outlen, 4);
		assert_memory_equal(out, ((uint8_t[4]){ 0, 0, 0, 0 }), 4);
	}
	assert_int_equal(flush_calls, 2);
}

/* ---- write-back: the guest's stores through a mapping reach the disk ---- */

struct cachestat_range {
	uint64_t off, len;
};

struct cachestat {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

#ifndef SYS_cachestat
#define SYS_cachestat 451
#endif

/* Dirty + under-writeback pages of @fd, or -1 without cachestat(2). */
static long dirty_pages(int fd)
{
	struct cachestat_range r = { 0, 0 };
	struct cachestat cs;

	if (syscall(SYS_cachestat, fd, &r, &cs, 0) < 0)
		return -1;
	return (long)(cs.nr_dirty + cs.nr_writeback);
}

static void test_flush_writes_back(void **state)
{
	struct fx *f = *state;
	uint8_t *map, back[4096];
	long dirty;

	/* The real fdatasync this time. */
	devproc_virtio_pmem_set_flush(f->m, NULL);
	map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, f->file, 0);
	assert_true(map != MAP_FAILED);
	for (size_t i = 0; i < 4096; i++)
		map[SIZE - 4096 + i] = (uint8_t)(i * 7 + 3);
	dirty = dirty_pages(f->file);
	if (dirty >= 0)
		assert_true(dirty >= 1); /* the store dirtied the page */
	assert_int_equal(flush_req(f), OK);
	dirty = dirty_pages(f->file);
	if (dirty < 0)
		print_message("note: no cachestat(2) here; the write-back was not observed\n");
	else
		assert_int_equal(dirty, 0);
	assert_int_equal(pread(f->file, back, sizeof(back), (off_t)(SIZE - 4096)), 4096);
	assert_memory_equal(back, map + SIZE - 4096, 4096);
	munmap(map, SIZE);
}

/* ---- read-only backends --------------------------------------------------- */

static void test_readonly(void **state)
{
	struct fx *f = *state;
	char buf[16];
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	attach(f, fd, "virtio-pmem,id=pm0,memdev=mem1");
	assert_int_equal(f->ops->prop_get(f->m, "readonly", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "on");
	/* Nothing the guest could have dirtied: OK without a flush. */
	assert_int_equal(flush_req(f), OK);
	assert_int_equal(flush_calls, 0);
	/* Bad requests still get EIO. */
	assert_int_equal(__req(f, (const uint8_t[4]){ 5, 0, 0, 0 }, 4, 4), EIO_);
}

static void test_writable_prop(void **state)
{
	struct fx *f = *state;
	char buf[16];

	assert_int_equal(f->ops->prop_get(f->m, "readonly", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "off");
}

/* ---- declaration, config, status ------------------------------------------ */

static void test_decl_and_config(void **state)
{
	struct fx *f = *state;
	struct devproc_decl d;
	struct devproc_status st;
	int fds[4];
	char buf[32];

	f->ops->decl(f->m, &d);
	assert_int_equal(d.virtio_id, 27);
	assert_int_equal(d.features, 0);
	assert_int_equal(d.required_features, 0);
	assert_int_equal(d.nqueues, 1);
	assert_int_equal(d.queue_size[0], 128);
	assert_int_equal(d.config_len, 16);
	assert_int_equal(d.region_size, SIZE);
	assert_int_equal(le64(d.config), BASE);
	assert_int_equal(le64(d.config + 8), SIZE);
	/* placed() told the core the start. */
	assert_int_equal(f->config_pushes, 1);
	assert_int_equal(le64(f->config), BASE);
	assert_int_equal(le64(f->config + 8), SIZE);

	f->ops->status(f->m, &st);
	assert_int_equal(st.size, SIZE);
	assert_int_equal(st.addr, BASE);
	assert_int_equal(st.node, -1);
	assert_true(st.settled);
	assert_int_equal(f->ops->kept_fds(f->m, fds, 4), 1);
	assert_int_equal(f->ops->kept_fds(f->m, fds, 0), 0);
	assert_int_equal(f->ops->prop_get(f->m, "size", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2097152");
	assert_int_equal(f->ops->prop_get(f->m, "memaddr", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "5368709120");
	assert_int_equal(f->ops->prop_get(f->m, "requested-size", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(f->ops->prop_set(f->m, "size", "4M", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(f->ops->prop_set(f->m, "requested-size", "0", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(f->ops->reset(f->m), 0);
	assert_int_equal(f->ops->driver_ready(f->m, 0), 0);
	assert_int_equal(flush_req(f), OK);
}

/* ---- refused configurations ------------------------------------------------ */

struct bad_cfg {
	const char *config;
	const char *want; /* a substring of the error */
};

static const struct bad_cfg bad_cfgs[] = {
	{ "virtio-mem,id=pm0,memdev=mem1", "driver: 'virtio-mem' is not virtio-pmem" },
	{ "virtio-pmem,id=pm0,memdev=mem1,requested-size=1G", "requested-size" },
	{ "virtio-pmem,id=pm0,memdev=mem1,memaddr=0x1001", "memaddr: 0x1001 is not a multiple" },
	{ "virtio-pmem,id=pm0,memdev=mem1,memaddr=lots", "memaddr" },
};

static void test_bad_config(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(bad_cfgs) / sizeof(bad_cfgs[0]); i++) {
		char err[256] = "";

		assert_int_equal(f->ops->create(&f->m, bad_cfgs[i].config, err, sizeof(err)),
		                 -EINVAL);
		assert_null(f->m);
		if (!strstr(err, bad_cfgs[i].want))
			fail_msg("'%s': error '%s' lacks '%s'", bad_cfgs[i].config, err,
			         bad_cfgs[i].want);
	}
}

static void test_bad_backend(void **state)
{
	struct fx *f = *state;
	char err[256];
	int p[2];

	/* Empty. */
	assert_int_equal(ftruncate(f->file, 0), 0);
	err[0] = 0;
	assert_int_equal(__attach(f, dup(f->file), "virtio-pmem,id=pm0", err, sizeof(err)),
	                 -EINVAL);
	assert_non_null(strstr(err, "size 0x0 has to be a non-zero multiple"));
	/* Not page granular. */
	assert_int_equal(ftruncate(f->file, 4096 + 512), 0);
	err[0] = 0;
	assert_int_equal(__attach(f, dup(f->file), "virtio-pmem,id=pm0", err, sizeof(err)),
	                 -EINVAL);
	assert_non_null(strstr(err, "size 0x1200"));
	/* Not a file. */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	close(p[1]);
	err[0] = 0;
	assert_int_equal(__attach(f, p[0], "virtio-pmem,id=pm0", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a file"));
	/* A memfd is fine. */
	{
		int mfd = memfd_create("pmem", MFD_CLOEXEC);

		assert_int_equal(ftruncate(mfd, 1 << 20), 0);
		assert_int_equal(__attach(f, mfd, "virtio-pmem-pci,id=pm0", err, sizeof(err)), 0);
	}
}

/* ---- the seccomp table ------------------------------------------------------ */

static void test_seccomp(void **state)
{
	struct fx *f = *state;
	struct sandbox_policy *pol = NULL;
	int fds[1];
	bool found = false;

	assert_int_equal(sandbox_policy_create(&pol), 0);
	assert_int_equal(sandbox_policy_add_common(pol), 0);
	assert_int_equal(f->ops->seccomp(f->m, pol), 0);
	assert_true(sandbox_policy_has(pol, SCMP_SYS(fdatasync)));
	/* The rule: the pmem process opens nothing. */
	assert_false(sandbox_policy_has(pol, SCMP_SYS(open)));
	assert_false(sandbox_policy_has(pol, SCMP_SYS(openat)));
	assert_false(sandbox_policy_has(pol, SCMP_SYS(fsync)));
	/* fdatasync only on the backend fd. */
	assert_int_equal(f->ops->kept_fds(f->m, fds, 1), 1);
	for (size_t i = 0; i < sandbox_policy_count(pol); i++) {
		const struct sandbox_rule *r = sandbox_policy_rule(pol, i);

		if (r->nr != SCMP_SYS(fdatasync))
			continue;
		found = true;
		assert_int_equal(r->n_args, 1);
		assert_int_equal(r->args[0].arg, 0);
		assert_int_equal(r->args[0].datum_a, (scmp_datum_t)fds[0]);
	}
	assert_true(found);
	sandbox_policy_destroy(pol);
	assert_int_equal(devproc_virtio_pmem_seccomp(NULL, -1), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_request_table, setup_attached, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_queue, setup_attached, teardown),
		cmocka_unit_test_setup_teardown(test_flush_failure, setup_attached, teardown),
		cmocka_unit_test_setup_teardown(test_resent_seq, setup_attached, teardown),
		cmocka_unit_test_setup_teardown(test_flush_writes_back, setup_attached, teardown),
		cmocka_unit_test_setup_teardown(test_readonly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writable_prop, setup_attached, teardown),
		cmocka_unit_test_setup_teardown(test_decl_and_config, setup_attached, teardown),
		cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_backend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seccomp, setup_attached, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
