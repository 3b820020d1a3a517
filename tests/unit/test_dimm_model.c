// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The pc-dimm device model alone (devproc/dimm.c): a memfd as its backend.
 * It has no device plane, takes the backend fd at attach, and discard=on
 * gives the backend's pages back to the host (st_blocks falls to 0).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "devproc.h"

#define SIZE (UINT64_C(4) << 20)

struct fx {
	const struct devproc_model_ops *ops;
	struct devproc_model *m;
	int memfd;
};

static int setup(void **state)
{
	static struct fx f;
	char err[256] = "";

	memset(&f, 0, sizeof(f));
	f.ops = devproc_model_lookup("pc-dimm");
	assert_non_null(f.ops);
	f.memfd = memfd_create("dimm-test", MFD_CLOEXEC);
	assert_true(f.memfd >= 0);
	assert_int_equal(ftruncate(f.memfd, (off_t)SIZE), 0);
	assert_int_equal(f.ops->create(&f.m, "pc-dimm,id=dimm1,memdev=mem1", err, sizeof(err)), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	f->ops->destroy(f->m);
	if (f->memfd >= 0)
		close(f->memfd);
	return 0;
}

static void attach(struct fx *f)
{
	struct devproc_res res = { .backend_fd = f->memfd, .state_fd = -1 };
	char err[256] = "";

	assert_int_equal(f->ops->attach(f->m, &res, err, sizeof(err)), 0);
	/* Taken: the model closes it now. */
	assert_int_equal(res.backend_fd, -1);
}

static uint64_t blocks(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return (uint64_t)st.st_blocks;
}

static void test_no_plane_and_status(void **state)
{
	struct fx *f = *state;
	struct devproc_status st;
	int fds[4];
	char buf[32];

	assert_true(f->ops->no_device_plane);
	attach(f);
	f->ops->status(f->m, &st);
	assert_int_equal(st.size, SIZE);
	assert_int_equal(st.node, -1);
	assert_int_equal(f->ops->kept_fds(f->m, fds, 4), 1);
	assert_int_equal(fds[0], f->memfd);
	f->memfd = -1; /* the model's now */
	assert_int_equal(f->ops->prop_get(f->m, "size", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "4194304");
	assert_int_equal(f->ops->prop_get(f->m, "requested-size", buf, sizeof(buf)), -ENOENT);
}

static void test_discard(void **state)
{
	struct fx *f = *state;
	int fd = f->memfd, fds[1];
	char err[256] = "", buf[32];
	uint8_t *p;

	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	memset(p, 0xa5, SIZE);
	assert_int_equal(munmap(p, SIZE), 0);
	assert_true(blocks(fd) * 512 >= SIZE);
	attach(f);
	assert_int_equal(f->ops->kept_fds(f->m, fds, 1), 1);
	f->memfd = -1;
	assert_int_equal(f->ops->prop_set(f->m, "discard", "on", err, sizeof(err)), 0);
	assert_int_equal(blocks(fds[0]), 0);
	assert_int_equal(f->ops->prop_get(f->m, "discards", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1");
}

static void test_prop_errors(void **state)
{
	struct fx *f = *state;
	char err[256] = "";

	attach(f);
	f->memfd = -1;
	assert_int_equal(f->ops->prop_set(f->m, "size", "1G", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no settable property 'size'"));
	assert_int_equal(f->ops->prop_set(f->m, "discard", "off", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "discard: 'off' is not 'on'"));
}

static void test_bad_config(void **state)
{
	struct fx *f = *state;
	struct devproc_model *m = NULL;
	char err[256] = "";

	assert_int_equal(f->ops->create(&m, "virtio-mem,id=x,memdev=m", err, sizeof(err)), -EINVAL);
	assert_null(m);
	assert_non_null(strstr(err, "'virtio-mem' is not pc-dimm"));
	assert_int_equal(f->ops->create(&m, "pc-dimm,id=x,id=y", err, sizeof(err)), -EINVAL);
	assert_null(m);
	assert_int_equal(devproc_dimm_seccomp(NULL, -1), -EBADF);
	f->ops->destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_plane_and_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prop_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
