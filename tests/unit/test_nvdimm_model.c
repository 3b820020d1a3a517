// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The nvdimm device model alone (devproc/nvdimm.c), played as the core
 * would: DSM pages in, NvdimmDsmOut answers back.  The backend is a temp
 * file whose last label-size bytes are the label area; what Set Label Data
 * writes must land there, byte for byte, and nowhere else.  A read-only fd
 * refuses writes with QEMU's "not supported"; out-of-range and oversized
 * transfers get "invalid input".
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "devproc.h"
#include "seccomp_policy.h"

#define SIZE  (UINT64_C(4) << 20)
#define LABEL (UINT64_C(256) << 10)

struct fx {
	const struct devproc_model_ops *ops;
	struct devproc_model *m;
	char path[64];
	int fd;
	uint8_t page[NVDIMM_DSM_PAGE_SIZE];
	uint8_t out[NVDIMM_DSM_PAGE_SIZE];
	size_t outlen;
};

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int make(void **state, const char *config, bool readonly)
{
	static struct fx f;
	struct devproc_res res = { .backend_fd = -1, .state_fd = -1 };
	char err[256] = "";

	memset(&f, 0, sizeof(f));
	f.ops = devproc_model_lookup("nvdimm");
	assert_non_null(f.ops);
	snprintf(f.path, sizeof(f.path), "/tmp/test-nvdimm-XXXXXX");
	f.fd = mkstemp(f.path);
	assert_true(f.fd >= 0);
	assert_int_equal(ftruncate(f.fd, (off_t)SIZE), 0);
	if (readonly) {
		close(f.fd);
		f.fd = open(f.path, O_RDONLY | O_CLOEXEC);
		assert_true(f.fd >= 0);
	}
	assert_int_equal(f.ops->create(&f.m, config, err, sizeof(err)), 0);
	res.backend_fd = f.fd;
	assert_int_equal(f.ops->attach(f.m, &res, err, sizeof(err)), 0);
	assert_int_equal(res.backend_fd, -1); /* taken */
	f.fd = -1;
	*state = &f;
	return 0;
}

static int setup(void **state)
{
	return make(state, "nvdimm,id=nv0,memdev=mem0,label-size=256K", false);
}

static int setup_ro(void **state)
{
	return make(state, "nvdimm,id=nv0,memdev=mem0,label-size=256K,unarmed=on", true);
}

static int setup_nolabel(void **state)
{
	return make(state, "nvdimm,id=nv0,memdev=mem0", false);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	f->ops->destroy(f->m);
	unlink(f->path);
	return 0;
}

/* Fill the page as the AML does (handle 1, revision 1), call, check len. */
static void __call(struct fx *f, uint32_t rev, uint32_t func, const void *arg3, size_t arg3_len)
{
	memset(f->page, 0xa5, sizeof(f->page)); /* what the guest left: not zero */
	put32(f->page, 1);
	put32(f->page + 4, rev);
	put32(f->page + 8, func);
	if (arg3_len)
		memcpy(f->page + NVDIMM_DSM_ARG3_OFF, arg3, arg3_len);
	f->outlen = 0;
	assert_int_equal(f->ops->request(f->m, 0, 1, f->page, sizeof(f->page), sizeof(f->out),
	                                 f->out, sizeof(f->out), &f->outlen),
	                 0);
	assert_true(f->outlen >= 8);
	assert_int_equal(le32(f->out), f->outlen); /* the length counts itself */
}

static uint32_t call(struct fx *f, uint32_t func, const void *arg3, size_t arg3_len)
{
	__call(f, 1, func, arg3, arg3_len);
	return le32(f->out + 4);
}

static uint32_t get_label(struct fx *f, uint32_t off, uint32_t len)
{
	uint8_t a[8];

	put32(a, off);
	put32(a + 4, len);
	return call(f, NVDIMM_DSM_GET_LABEL_DATA, a, sizeof(a));
}

static uint32_t set_label(struct fx *f, uint32_t off, uint32_t len, uint8_t fill)
{
	static uint8_t a[NVDIMM_DSM_PAGE_SIZE];

	put32(a, off);
	put32(a + 4, len);
	memset(a + 8, fill, NVDIMM_DSM_PAGE_SIZE - NVDIMM_DSM_ARG3_OFF - 8);
	return call(f, NVDIMM_DSM_SET_LABEL_DATA, a, NVDIMM_DSM_PAGE_SIZE - NVDIMM_DSM_ARG3_OFF);
}

static void test_function0(void **state)
{
	struct fx *f = *state;

	/* Function 0 answers the supported mask in place of a status. */
	assert_int_equal(call(f, 0, NULL, 0), 0x71u);
	assert_int_equal(f->outlen, 8);
}

static void test_label_size(void **state)
{
	struct fx *f = *state;

	assert_int_equal(call(f, NVDIMM_DSM_GET_LABEL_SIZE, NULL, 0), NVDIMM_DSM_STATUS_SUCCESS);
	assert_int_equal(f->outlen, 16);
	assert_int_equal(le32(f->out + 8), LABEL);
	assert_int_equal(le32(f->out + 12), 4076); /* QEMU's max_xfer */
}

static void test_write_read_back(void **state)
{
	struct fx *f = *state;
	uint8_t file[4096];
	int fd;

	assert_int_equal(set_label(f, 0x1000, 4076, 0x5a), NVDIMM_DSM_STATUS_SUCCESS);
	assert_int_equal(f->outlen, 8);
	assert_int_equal(get_label(f, 0x1000, 4076), NVDIMM_DSM_STATUS_SUCCESS);
	assert_int_equal(f->outlen, 8 + 4076);
	for (size_t i = 0; i < 4076; i++)
		assert_int_equal(f->out[8 + i], 0x5a);
	/* In the file: at size - label-size + offset, and not a byte beyond. */
	fd = open(f->path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, file, sizeof(file), (off_t)(SIZE - LABEL + 0x1000)),
	                 (ssize_t)sizeof(file));
	close(fd);
	for (size_t i = 0; i < sizeof(file); i++)
		assert_int_equal(file[i], i < 4076 ? 0x5a : 0);
	/* The last byte of the area is in range; zero length is fine. */
	assert_int_equal(set_label(f, LABEL - 1, 1, 0x11), NVDIMM_DSM_STATUS_SUCCESS);
	assert_int_equal(get_label(f, LABEL - 1, 1), NVDIMM_DSM_STATUS_SUCCESS);
	assert_int_equal(f->out[8], 0x11);
	assert_int_equal(get_label(f, LABEL, 0), NVDIMM_DSM_STATUS_SUCCESS);
}

/* Bad input, table-driven: each gets its status and changes nothing. */
static void test_bad_ranges(void **state)
{
	static const struct {
		uint32_t off, len, status;
	} bad[] = {
		{ LABEL, 1, NVDIMM_DSM_STATUS_INVALID },       /* past the end */
		{ LABEL - 4, 8, NVDIMM_DSM_STATUS_INVALID },   /* straddles it */
		{ 0xffffffffu, 2, NVDIMM_DSM_STATUS_INVALID }, /* offset + length wraps */
		{ 0, 4077, NVDIMM_DSM_STATUS_INVALID },        /* above max_xfer */
		{ 0, 0xffffffffu, NVDIMM_DSM_STATUS_INVALID }, /* huge */
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(get_label(f, bad[i].off, bad[i].len), bad[i].status);
		assert_int_equal(f->outlen, 8);
		assert_int_equal(set_label(f, bad[i].off, bad[i].len, 0x77), bad[i].status);
		assert_int_equal(f->outlen, 8);
	}
	/* Nothing was written by the refused calls. */
	assert_int_equal(get_label(f, LABEL - 4076, 4076), NVDIMM_DSM_STATUS_SUCCESS);
	for (size_t i = 0; i < 4076; i++)
		assert_int_equal(f->out[8 + i], 0);
}

static void test_unknown_function_and_revision(void **state)
{
	struct fx *f = *state;
	static const uint32_t funcs[] = { 1, 2, 3, 7, 8, 31, 0x80000000u };

	for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++) {
		assert_int_equal(call(f, funcs[i], NULL, 0), NVDIMM_DSM_STATUS_UNSUPPORTED);
		assert_int_equal(f->outlen, 8);
	}
	__call(f, 2, NVDIMM_DSM_GET_LABEL_SIZE, NULL, 0);
	assert_int_equal(le32(f->out + 4), NVDIMM_DSM_STATUS_UNSUPPORTED);
	__call(f, 0, 0, NULL, 0);
	assert_int_equal(le32(f->out + 4), NVDIMM_DSM_STATUS_UNSUPPORTED);
}

static void test_short_page(void **state)
{
	struct fx *f = *state;
	size_t n = 0;

	memset(f->page, 0, sizeof(f->page));
	assert_int_equal(f->ops->request(f->m, 0, 1, f->page, 12, sizeof(f->out), f->out,
	                                 sizeof(f->out), &n),
	                 0);
	assert_int_equal(n, 8);
	assert_int_equal(le32(f->out + 4), NVDIMM_DSM_STATUS_INVALID);
	/* A buffer too small for an answer is main.c's bug: an error, not an answer. */
	assert_int_equal(f->ops->request(f->m, 0, 1, f->page, sizeof(f->page), 64, f->out, 64, &n),
	                 -ENOBUFS);
}

static void test_readonly(void **state)
{
	struct fx *f = *state;
	char v[16];

	assert_int_equal(f->ops->prop_get(f->m, "readonly", v, sizeof(v)), 0);
	assert_string_equal(v, "on");
	assert_int_equal(call(f, 0, NULL, 0), 0x71u);
	assert_int_equal(set_label(f, 0, 16, 0x33), NVDIMM_DSM_STATUS_UNSUPPORTED);
	/* Range errors come first, as in QEMU's check. */
	assert_int_equal(set_label(f, LABEL, 16, 0x33), NVDIMM_DSM_STATUS_INVALID);
	assert_int_equal(get_label(f, 0, 16), NVDIMM_DSM_STATUS_SUCCESS);
	for (int i = 0; i < 16; i++)
		assert_int_equal(f->out[8 + i], 0);
}

static void test_no_label(void **state)
{
	struct fx *f = *state;
	struct devproc_decl d;

	assert_int_equal(call(f, 0, NULL, 0), 0);
	assert_int_equal(call(f, NVDIMM_DSM_GET_LABEL_SIZE, NULL, 0),
	                 NVDIMM_DSM_STATUS_UNSUPPORTED);
	assert_int_equal(get_label(f, 0, 8), NVDIMM_DSM_STATUS_UNSUPPORTED);
	f->ops->decl(f->m, &d);
	assert_int_equal(d.virtio_id, 0);
	assert_int_equal(d.nqueues, 0);
	assert_int_equal(d.region_size, SIZE);
}

static void test_config_errors(void **state)
{
	static const char *const bad[] = {
		"virtio-pmem,id=nv0,memdev=m",
		"nvdimm,id=nv0,memdev=m,label-size=64K",
		"nvdimm,id=nv0,memdev=m,unarmed=maybe",
		"nvdimm,id=nv0,memdev=m,colour=red",
	};
	const struct devproc_model_ops *ops = devproc_model_lookup("nvdimm");
	struct devproc_model *m = NULL;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_true(ops->create(&m, bad[i], err, sizeof(err)) < 0);
		assert_null(m);
		assert_true(err[0] != 0);
	}
}

static void test_label_bigger_than_backend(void **state)
{
	const struct devproc_model_ops *ops = devproc_model_lookup("nvdimm");
	struct devproc_res res = { .backend_fd = -1, .state_fd = -1 };
	struct devproc_model *m = NULL;
	char path[] = "/tmp/test-nvdimm-XXXXXX", err[256] = "";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 256 << 10), 0);
	assert_int_equal(ops->create(&m, "nvdimm,id=n,memdev=m,label-size=256K", err, sizeof(err)),
	                 0);
	res.backend_fd = fd;
	assert_int_equal(ops->attach(m, &res, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "label-size"));
	assert_int_equal(res.backend_fd, fd); /* not taken on failure */
	ops->destroy(m);
	close(fd);
	unlink(path);
}

/*
 * The seccomp table (issue 7: no open/openat): beyond the common list the
 * model adds pread64 and, on a writable backend only, pwrite64, each for
 * its backend fd alone.  No other rule names either syscall.
 */
static void check_seccomp(struct fx *f, bool writable)
{
	struct sandbox_policy *pol = NULL;
	size_t common, n_pread = 0, n_pwrite = 0;
	int fds[2];

	assert_int_equal(sandbox_policy_create(&pol), 0);
	assert_int_equal(sandbox_policy_add_common(pol), 0);
	common = sandbox_policy_count(pol);
	assert_false(sandbox_policy_has(pol, SCMP_SYS(pread64)));
	assert_false(sandbox_policy_has(pol, SCMP_SYS(pwrite64)));
	assert_int_equal(f->ops->seccomp(f->m, pol), 0);
	assert_int_equal(sandbox_policy_count(pol), common + (writable ? 2 : 1));
	assert_false(sandbox_policy_has(pol, SCMP_SYS(open)));
	assert_false(sandbox_policy_has(pol, SCMP_SYS(openat)));
	assert_false(sandbox_policy_has(pol, SCMP_SYS(ftruncate)));
	assert_false(sandbox_policy_has(pol, SCMP_SYS(fallocate)));
	assert_int_equal(sandbox_policy_has(pol, SCMP_SYS(pwrite64)), writable);
	assert_int_equal(f->ops->kept_fds(f->m, fds, 2), 1);
	for (size_t i = 0; i < sandbox_policy_count(pol); i++) {
		const struct sandbox_rule *r = sandbox_policy_rule(pol, i);

		if (r->nr != SCMP_SYS(pread64) && r->nr != SCMP_SYS(pwrite64))
			continue;
		if (r->nr == SCMP_SYS(pread64))
			n_pread++;
		else
			n_pwrite++;
		assert_int_equal(r->n_args, 1);
		assert_int_equal(r->args[0].arg, 0);
		assert_int_equal(r->args[0].op, SCMP_CMP_EQ);
		assert_int_equal(r->args[0].datum_a, (scmp_datum_t)fds[0]);
	}
	assert_int_equal(n_pread, 1);
	assert_int_equal(n_pwrite, writable ? 1 : 0);
	sandbox_policy_destroy(pol);
}

static void test_seccomp(void **state)
{
	check_seccomp(*state, true);
	assert_int_equal(devproc_nvdimm_seccomp(NULL, -1, true), -EBADF);
}

static void test_seccomp_readonly(void **state)
{
	check_seccomp(*state, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_function0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_label_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_function_and_revision, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_short_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(test_no_label, setup_nolabel, teardown),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_label_bigger_than_backend),
		cmocka_unit_test_setup_teardown(test_seccomp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seccomp_readonly, setup_ro, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
