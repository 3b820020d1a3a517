/* SPDX-License-Identifier: GPL-2.0-or-later */
/* core/memmap.c: the x86_64 layout, device-memory sizing, the checked gpa translation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core.h"

static int setup(void **state)
{
	struct memmap *mm = calloc(1, sizeof(*mm));

	if (!mm)
		return -1;
	*state = mm;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static const struct memmap_region *by_name(const struct memmap *mm, const char *name)
{
	for (unsigned i = 0; i < mm->n; i++) {
		if (!strcmp(mm->r[i].name, name))
			return &mm->r[i];
	}
	return NULL;
}

static void test_small_ram_all_low(void **state)
{
	struct memmap *mm = *state;
	uint64_t ranges[4][2];

	assert_int_equal(memmap_init(mm, 512 * MIB, 512 * MIB, 0), 0);
	assert_int_equal(mm->low_ram_end, 512 * MIB);
	assert_int_equal(mm->high_ram_end, 4 * GIB);
	assert_null(by_name(mm, "ram-high"));
	assert_null(by_name(mm, "device-memory-area"));
	assert_int_equal(memmap_ram_ranges(mm, ranges, 4), 1);
	assert_int_equal(ranges[0][0], 0);
	assert_int_equal(ranges[0][1], 512 * MIB);
	assert_non_null(by_name(mm, "lapic"));
	assert_int_equal(by_name(mm, "ioapic")->gpa, 0xfec00000);
}

/* QEMU pc: device memory at the 1 GiB boundary after RAM, maxmem-ram + 1 GiB per slot. */
static void test_split_ram_and_device_memory(void **state)
{
	struct memmap *mm = *state;
	const struct memmap_region *hi, *dev;

	assert_int_equal(memmap_init(mm, 4 * GIB + 512 * MIB, 16 * GIB, 4), 0);
	assert_int_equal(mm->low_ram_end, 3 * GIB);
	hi = by_name(mm, "ram-high");
	assert_non_null(hi);
	assert_int_equal(hi->gpa, 4 * GIB);
	assert_int_equal(hi->size, 1 * GIB + 512 * MIB);
	assert_int_equal(mm->high_ram_end, 5 * GIB + 512 * MIB);
	assert_int_equal(mm->devmem_base, 6 * GIB);
	assert_int_equal(mm->devmem_size, 16 * GIB - (4 * GIB + 512 * MIB) + 4 * GIB);
	dev = by_name(mm, "device-memory-area");
	assert_non_null(dev);
	assert_int_equal(dev->gpa, 6 * GIB);
	assert_int_equal(dev->kind, MEMMAP_RESERVED);
}

static void test_ram_slice_straddles_hole(void **state)
{
	struct memmap *mm = *state;
	uint64_t r[2][2];

	assert_int_equal(memmap_init(mm, 4 * GIB, 4 * GIB, 0), 0);
	assert_int_equal(memmap_ram_slice(mm, 2 * GIB, 2 * GIB, r), 2);
	assert_int_equal(r[0][0], 2 * GIB);
	assert_int_equal(r[0][1], 1 * GIB);
	assert_int_equal(r[1][0], 4 * GIB);
	assert_int_equal(r[1][1], 1 * GIB);
	assert_int_equal(memmap_ram_slice(mm, 3 * GIB, 2 * GIB, r), 0); /* past RAM */
	assert_int_equal(memmap_ram_slice(mm, 0, 0, r), 0);
}

static void test_gpa_to_host_checks_bounds(void **state)
{
	struct memmap *mm = *state;
	static uint8_t backing[8192];
	struct memmap_region reg = { .name = "dev0",
		                     .kind = MEMMAP_DEVICE_MEMORY,
		                     .gpa = 0,
		                     .size = sizeof(backing),
		                     .host = backing,
		                     .slot = 3 };

	assert_int_equal(memmap_init(mm, 64 * MIB, 64 * MIB + 2 * GIB, 1), 0);
	/* RAM has no host mapping until machine_ram_setup: no translation. */
	assert_null(memmap_gpa_to_host(mm, 0x1000, 8));
	reg.gpa = mm->devmem_base;
	assert_int_equal(memmap_add(mm, &reg), 0);
	assert_ptr_equal(memmap_gpa_to_host(mm, mm->devmem_base + 16, 16), backing + 16);
	assert_ptr_equal(memmap_gpa_to_host(mm, mm->devmem_base, sizeof(backing)), backing);
	/* A range that runs past the region's end is refused. */
	assert_null(memmap_gpa_to_host(mm, mm->devmem_base + 8190, 4));
	assert_null(memmap_gpa_to_host(mm, mm->devmem_base + sizeof(backing), 1));
	assert_null(memmap_gpa_to_host(mm, UINT64_MAX - 1, 4));
	assert_ptr_equal(memmap_find(mm, mm->devmem_base + 5)->host, backing);
	assert_int_equal(memmap_remove(mm, "dev0"), 0);
	assert_int_equal(memmap_remove(mm, "dev0"), -ENOENT);
	assert_null(memmap_gpa_to_host(mm, mm->devmem_base, 4));
}

struct add_case {
	const char *name;
	uint64_t gpa, size;
	int want;
};

static void test_add_rejects_overlap_and_overflow(void **state)
{
	struct memmap *mm = *state;
	static const struct add_case cases[] = {
		{ "over-ram", 0x1000, 0x1000, -EEXIST },
		{ "over-lapic", 0xfee00800, 0x10, -EEXIST },
		{ "ram-low", 0xd1000000, 0x1000, -EEXIST }, /* duplicate name */
		{ "wraps", UINT64_MAX - 10, 0x100, -ERANGE },
		{ "empty", 0xd1000000, 0, -ERANGE },
		{ "free-hole", 0xd1000000, 0x1000, 0 },
	};

	assert_int_equal(memmap_init(mm, 1 * GIB, 1 * GIB, 0), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct memmap_region r = {
			.kind = MEMMAP_MMIO, .gpa = cases[i].gpa, .size = cases[i].size, .slot = -1
		};

		strcpy(r.name, cases[i].name);
		assert_int_equal(memmap_add(mm, &r), cases[i].want);
	}
	/* Sorted by address. */
	for (unsigned i = 1; i < mm->n; i++)
		assert_true(mm->r[i - 1].gpa < mm->r[i].gpa);
}

static void test_layout_too_large(void **state)
{
	struct memmap *mm = *state;

	assert_int_equal(memmap_init(mm, 1 * GIB, 1ull << 62, 8), -ERANGE);
	assert_int_equal(memmap_init(mm, 1 * GIB, 512 * MIB, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_small_ram_all_low, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_ram_and_device_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ram_slice_straddles_hole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gpa_to_host_checks_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_rejects_overlap_and_overflow, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_layout_too_large, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
