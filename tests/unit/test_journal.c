// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The state journal: a crash after each store of a commit leaves the old
 * state or the new one, never a mix.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "devproc.h"

#define PAYLOAD 600

static int setup(void **state)
{
	int *fd = malloc(sizeof(*fd));

	*fd = memfd_create("state", MFD_CLOEXEC);
	assert_true(*fd >= 0);
	*state = fd;
	return 0;
}

static int teardown(void **state)
{
	int *fd = *state;

	close(*fd);
	free(fd);
	return 0;
}

static void fill(uint8_t *p, uint8_t v)
{
	for (int i = 0; i < PAYLOAD; i++)
		p[i] = (uint8_t)(v + i);
}

static void test_fresh_then_commit(void **state)
{
	int fd = *(int *)*state;
	struct devproc_journal *j;
	uint8_t a[PAYLOAD], b[PAYLOAD];
	bool fresh;

	assert_int_equal(devproc_journal_open(&j, fd, PAYLOAD, &fresh), 0);
	assert_true(fresh);
	assert_int_equal(devproc_journal_read(j, b, sizeof(b)), -ENOENT);
	fill(a, 1);
	assert_int_equal(devproc_journal_commit(j, a, sizeof(a)), 0);
	devproc_journal_close(j);
	assert_int_equal(devproc_journal_open(&j, fd, PAYLOAD, &fresh), 0);
	assert_false(fresh);
	assert_int_equal(devproc_journal_read(j, b, sizeof(b)), PAYLOAD);
	assert_memory_equal(a, b, PAYLOAD);
	assert_int_equal(devproc_journal_commit(j, a, PAYLOAD + 1), -EMSGSIZE);
	devproc_journal_close(j);
}

/* Several generations, then a crash after each store count in turn. */
static void test_crash_at_every_store(void **state)
{
	int fd = *(int *)*state;
	uint8_t old[PAYLOAD], new[PAYLOAD], got[PAYLOAD];
	struct devproc_journal *j;
	bool fresh;

	for (unsigned crash = 1; crash <= 8; crash++) {
		for (int gen = 0; gen < 3; gen++) {
			/* Alternate slots: crash in slot 0 and in slot 1. */
			assert_int_equal(devproc_journal_open(&j, fd, PAYLOAD, &fresh), 0);
			fill(old, (uint8_t)(crash * 10 + gen));
			assert_int_equal(devproc_journal_commit(j, old, sizeof(old)), 0);
			fill(new, (uint8_t)(crash * 10 + gen + 100));
			devproc_journal_crash_after(j, crash);
			int ret = devproc_journal_commit(j, new, sizeof(new));
			devproc_journal_close(j);

			assert_int_equal(devproc_journal_open(&j, fd, PAYLOAD, &fresh), 0);
			assert_false(fresh);
			assert_int_equal(devproc_journal_read(j, got, sizeof(got)), PAYLOAD);
			if (ret == 0)
				assert_memory_equal(got, new, PAYLOAD);
			else if (memcmp(got, old, PAYLOAD))
				fail_msg("crash after store %u: neither old nor new state", crash);
			devproc_journal_close(j);
		}
	}
}

/* A slot with a flipped byte is not the state. */
static void test_corrupt_slot_is_ignored(void **state)
{
	int fd = *(int *)*state;
	uint8_t a[PAYLOAD], b[PAYLOAD], got[PAYLOAD];
	size_t size = devproc_journal_size(PAYLOAD);
	struct devproc_journal *j;
	bool fresh;
	uint8_t *p;

	assert_int_equal(devproc_journal_open(&j, fd, PAYLOAD, &fresh), 0);
	fill(a, 1);
	fill(b, 2);
	assert_int_equal(devproc_journal_commit(j, a, sizeof(a)), 0);
	assert_int_equal(devproc_journal_commit(j, b, sizeof(b)), 0);
	devproc_journal_close(j);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	p[size / 2 + 40] ^= 1; /* slot 1 holds b */
	munmap(p, size);
	assert_int_equal(devproc_journal_open(&j, fd, PAYLOAD, &fresh), 0);
	assert_int_equal(devproc_journal_read(j, got, sizeof(got)), PAYLOAD);
	assert_memory_equal(got, a, PAYLOAD);
	devproc_journal_close(j);
}

static void test_sealed_small_memfd(void **state)
{
	int fd = memfd_create("sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	struct devproc_journal *j;
	bool fresh;

	(void)state;
	assert_int_equal(ftruncate(fd, 64), 0);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK), 0);
	assert_int_equal(devproc_journal_open(&j, fd, PAYLOAD, &fresh), -EPERM);
	assert_null(j);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh_then_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_at_every_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_slot_is_ignored, setup, teardown),
		cmocka_unit_test(test_sealed_small_memfd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
