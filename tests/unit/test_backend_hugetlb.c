/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hugetlb=on: a memfd of huge pages, sealed, shared with a second process.
 * Runs where the host has huge pages configured; SKIPs (exit 77) elsewhere.
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
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "memsrv.h"
#include "test_memsrv_util.h"

#define MIB   (1ull << 20)
#define HPAGE (2 * MIB)

struct fixture {
	struct memsrv_registry *reg;
};

static int setup(void **state)
{
	static struct fixture f;

	if (memsrv_registry_create(NULL, &f.reg) < 0)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	memsrv_registry_destroy(f->reg);
	f->reg = NULL;
	return 0;
}

static long free_2m_pages(void)
{
	return test_read_long("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
}

static int child_checks(int fd, void *arg)
{
	char *p;

	(void)arg;
	p = mmap(NULL, 2 * HPAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 10;
	if (strcmp(p + HPAGE, "huge hello") != 0)
		return 11;
	strcpy(p, "huge reply");
	if (ftruncate(fd, 4 * HPAGE) == 0 || errno != EPERM)
		return 12;
	munmap(p, 2 * HPAGE);
	return 0;
}

static void test_hugetlb_shared_and_sealed(void **state)
{
	struct fixture *f = *state;
	struct memsrv_error err = { 0 };
	Splitvm__BackendConfig c;
	uint64_t resident = 0;
	int fd = -1;
	char *p;

	backend_config_init(&c, SPLITVM__BACKEND_TYPE__BACKEND_MEMFD);
	c.id = (char *)"huge0";
	c.size = 2 * HPAGE;
	c.hugetlb = true;
	c.hugetlbsize = HPAGE;
	c.prealloc = true;
	if (memsrv_backend_create(f->reg, &c, NULL, &err) < 0)
		fail_msg("create: %s", err.text);
	assert_int_equal(memsrv_backend_page_size(memsrv_backend_find(f->reg, "huge0")), HPAGE);
	assert_true(memsrv_backend_sealed(memsrv_backend_find(f->reg, "huge0")));
	assert_int_equal(memsrv_backend_resident(memsrv_backend_find(f->reg, "huge0"), &resident),
	                 0);
	assert_int_equal(resident, 2 * HPAGE);
	assert_int_equal(memsrv_backend_acquire(f->reg, "huge0", "dimm0", &fd, &err), 0);

	p = mmap(NULL, 2 * HPAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	strcpy(p + HPAGE, "huge hello");
	assert_int_equal(test_run_child_with_fd(fd, child_checks, NULL), 0);
	assert_string_equal(p, "huge reply");
	munmap(p, 2 * HPAGE);

	/* Punching one huge page gives it back to the pool. */
	long before = free_2m_pages();
	assert_int_equal(memsrv_backend_discard(f->reg, "huge0", HPAGE, HPAGE, &err), 0);
	assert_int_equal(free_2m_pages(), before + 1);
	assert_int_equal(memsrv_backend_release(f->reg, "huge0", "dimm0", &err), 0);
	assert_int_equal(memsrv_backend_delete(f->reg, "huge0", &err), 0);
}

static void test_hugetlb_refusals(void **state)
{
	struct fixture *f = *state;
	struct memsrv_error err = { 0 };
	Splitvm__BackendConfig c;

	backend_config_init(&c, SPLITVM__BACKEND_TYPE__BACKEND_MEMFD);
	c.id = (char *)"huge1";
	c.hugetlb = true;

	/* Not a multiple of the huge page size. */
	c.size = HPAGE + 4096;
	assert_true(memsrv_backend_create(f->reg, &c, NULL, &err) < 0);
	assert_string_equal(err.field, "size");
	assert_non_null(strstr(err.text, "is not a multiple of the page size 2M"));

	/* More huge pages than the pool holds. */
	c.size = (uint64_t)(free_2m_pages() + 1) * HPAGE;
	assert_true(memsrv_backend_create(f->reg, &c, NULL, &err) < 0);
	assert_int_equal(err.code, SPLITVM__ERROR_CODE__ERR_NO_SPACE);
	assert_non_null(strstr(err.text, "the host cannot give"));

	/* A page size the host has no pool of. */
	c.size = 1ull << 30;
	c.hugetlbsize = 1ull << 29;
	assert_true(memsrv_backend_create(f->reg, &c, NULL, &err) < 0);
	assert_int_equal(err.code, SPLITVM__ERROR_CODE__ERR_UNSUPPORTED);
	assert_string_equal(err.field, "hugetlbsize");
	assert_non_null(strstr(err.text, "this host has no 512M huge pages"));
	assert_int_equal(memsrv_registry_count(f->reg), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hugetlb_shared_and_sealed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hugetlb_refusals, setup, teardown),
	};
	long nr = test_read_long("/proc/sys/vm/nr_hugepages");

	if (nr <= 0) {
		printf("SKIP: no hugepages configured (/proc/sys/vm/nr_hugepages=%ld)\n",
		       nr < 0 ? 0 : nr);
		return 77;
	}
	if (free_2m_pages() < 4) {
		printf("SKIP: fewer than 4 free 2 MiB huge pages (%ld)\n", free_2m_pages());
		return 77;
	}
	log_init("test/backend_hugetlb");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
