/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ACPI memory-hotplug controller and GED register files (QEMU's
 * semantics), driven as the DSDT's AML drives them, the GED's power button,
 * and DIMM placement in the device-memory area.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"

struct fixture {
	struct acpi_hotplug *h;
	unsigned irqs;
	unsigned notifies;
};

static void on_irq(void *opaque)
{
	((struct fixture *)opaque)->irqs++;
}

static void on_notify(void *opaque)
{
	((struct fixture *)opaque)->notifies++;
}

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	if (mhp_create(&f.h, 4))
		return -1;
	f.h->irq = on_irq;
	f.h->notify = on_notify;
	f.h->opaque = &f;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mhp_destroy(f->h);
	return 0;
}

static uint32_t rd(struct fixture *f, uint64_t off, uint32_t len)
{
	uint8_t b[4] = { 0 };
	uint32_t v = 0;

	mhp_mmio(f->h, off, b, len, false);
	for (uint32_t i = 0; i < len; i++)
		v |= (uint32_t)b[i] << (8 * i);
	return v;
}

static void wr(struct fixture *f, uint64_t off, uint32_t v, uint32_t len)
{
	uint8_t b[4];

	for (uint32_t i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	mhp_mmio(f->h, off, b, len, true);
}

static uint32_t ged_read(struct fixture *f)
{
	uint8_t b[4];

	ged_mmio(f->h, 0, b, 4, false);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Select @slot as MSEL = ToInteger(Arg0) does, then read its flags byte. */
static uint32_t flags_of(struct fixture *f, unsigned slot)
{
	wr(f, MHP_REG_SELECTOR, slot, 4);
	return rd(f, MHP_REG_FLAGS, 1);
}

static void test_cold_plug(void **state)
{
	struct fixture *f = *state;
	unsigned slot = 99;

	assert_int_equal(
	        mhp_plug(f->h, -1, "dimm0", "mem0", 0x140000000ull, 0x40000000ull, 1, false, &slot),
	        0);
	assert_int_equal(slot, 0);
	assert_int_equal(f->irqs, 0);
	assert_int_equal(ged_read(f), 0);
	assert_int_equal(flags_of(f, 0), MHP_FLAG_ENABLED);
	/* MCRS reads the halves as the AML does: high, low, size high, low. */
	assert_int_equal(rd(f, MHP_REG_ADDR_HI, 4), 0x1);
	assert_int_equal(rd(f, MHP_REG_ADDR_LO, 4), 0x40000000u);
	assert_int_equal(rd(f, MHP_REG_SIZE_HI, 4), 0);
	assert_int_equal(rd(f, MHP_REG_SIZE_LO, 4), 0x40000000u);
	assert_int_equal(rd(f, MHP_REG_PXM, 4), 1);
	/* An empty slot reads as zeros. */
	assert_int_equal(flags_of(f, 1), 0);
	assert_int_equal(rd(f, MHP_REG_ADDR_LO, 4), 0);
	assert_int_equal(rd(f, MHP_REG_SIZE_LO, 4), 0);
}

/* GED interrupt -> _EVT reads ESEL -> MSCN walks the slots. */
static void test_hot_plug_scan(void **state)
{
	struct fixture *f = *state;
	unsigned slot;

	assert_int_equal(
	        mhp_plug(f->h, 2, "dimm1", "mem1", 0x100000000ull, 0x8000000ull, 0, true, &slot),
	        0);
	assert_int_equal(slot, 2);
	assert_int_equal(f->irqs, 1);
	assert_int_equal(ged_read(f), ACPI_GED_MEM_HOTPLUG_EVT);
	assert_int_equal(ged_read(f), 0); /* a read takes the events */
	for (unsigned i = 0; i < 4; i++) {
		uint32_t fl = flags_of(f, i);

		if (i != 2) {
			assert_int_equal(fl, 0);
			continue;
		}
		assert_int_equal(fl, MHP_FLAG_ENABLED | MHP_FLAG_INSERT);
		wr(f, MHP_REG_FLAGS, MHP_FLAG_INSERT, 1); /* MINS = One clears it */
		assert_int_equal(rd(f, MHP_REG_FLAGS, 1), MHP_FLAG_ENABLED);
	}
	/* _OST(0x01 insert, 0 success) */
	wr(f, MHP_REG_SELECTOR, 2, 4);
	wr(f, MHP_REG_OST_EVENT, 1, 4);
	wr(f, MHP_REG_OST_STATUS, 0, 4);
	{
		struct mhp_event ev[4];

		assert_int_equal(mhp_take_events(f->h, ev, 4), 1);
		assert_int_equal(ev[0].kind, MHP_EV_OST);
		assert_int_equal(ev[0].slot, 2);
		assert_string_equal(ev[0].id, "dimm1");
		assert_int_equal(ev[0].ost_event, 1);
		assert_int_equal(ev[0].ost_status, 0);
	}
	assert_int_equal(f->notifies, 1);
}

static void test_unplug_eject(void **state)
{
	struct fixture *f = *state;
	struct mhp_event ev[4];
	unsigned slot;

	assert_int_equal(
	        mhp_plug(f->h, -1, "dimm0", "mem0", 0x100000000ull, 0x40000000ull, 0, true, &slot),
	        0);
	wr(f, MHP_REG_SELECTOR, 0, 4);
	wr(f, MHP_REG_FLAGS, MHP_FLAG_INSERT, 1);
	(void)ged_read(f);
	assert_int_equal(mhp_unplug_request(f->h, "dimm0", &slot), 0);
	assert_int_equal(slot, 0);
	assert_int_equal(f->irqs, 2);
	assert_int_equal(mhp_unplug_request(f->h, "dimm0", &slot), -EBUSY);
	assert_int_equal(mhp_unplug_request(f->h, "nope", &slot), -ENOENT);
	assert_int_equal(ged_read(f), ACPI_GED_MEM_HOTPLUG_EVT);
	assert_int_equal(flags_of(f, 0), MHP_FLAG_ENABLED | MHP_FLAG_REMOVE);
	wr(f, MHP_REG_FLAGS, MHP_FLAG_REMOVE, 1); /* MRMV = One */
	assert_int_equal(rd(f, MHP_REG_FLAGS, 1), MHP_FLAG_ENABLED);
	/* _EJ0 -> MEJ0: MSEL, then MEJ = One. */
	wr(f, MHP_REG_SELECTOR, 0, 4);
	wr(f, MHP_REG_FLAGS, MHP_FLAG_EJECT, 1);
	assert_int_equal(f->notifies, 1);
	/* Linux's _STA after _EJ0 must see it gone, at once. */
	assert_int_equal(rd(f, MHP_REG_FLAGS, 1), 0);
	assert_int_equal(rd(f, MHP_REG_ADDR_LO, 4), 0);
	assert_int_equal(mhp_unplug_request(f->h, "dimm0", &slot), -EBUSY);
	assert_int_equal(mhp_take_events(f->h, ev, 4), 1);
	assert_int_equal(ev[0].kind, MHP_EV_EJECTED);
	assert_string_equal(ev[0].memdev, "mem0");
	/* The slot stays taken until the core has unmapped it. */
	assert_int_equal(
	        mhp_plug(f->h, 0, "dimm2", "mem2", 0x100000000ull, 0x40000000ull, 0, true, &slot),
	        -EBUSY);
	mhp_release(f->h, 0);
	assert_int_equal(
	        mhp_plug(f->h, 0, "dimm2", "mem2", 0x100000000ull, 0x40000000ull, 0, true, &slot),
	        0);
}

static void test_eject_empty_and_bad_selector(void **state)
{
	struct fixture *f = *state;
	struct mhp_event ev[2];

	wr(f, MHP_REG_SELECTOR, 1, 4);
	wr(f, MHP_REG_FLAGS, MHP_FLAG_EJECT, 1);
	assert_int_equal(mhp_take_events(f->h, ev, 2), 0);
	assert_int_equal(f->notifies, 0);
	/* A selector past the slots: reads 0, writes other than MSEL ignored. */
	wr(f, MHP_REG_SELECTOR, 4, 4);
	assert_int_equal(rd(f, MHP_REG_FLAGS, 4), 0);
	assert_int_equal(rd(f, MHP_REG_ADDR_LO, 4), 0);
	wr(f, MHP_REG_OST_STATUS, 5, 4);
	assert_int_equal(mhp_take_events(f->h, ev, 2), 0);
	/* An offset with no register reads all-ones; 8-byte accesses too. */
	wr(f, MHP_REG_SELECTOR, 0, 4);
	assert_int_equal(rd(f, 0x15, 1), 0xff);
	{
		uint8_t b[8] = { 0 };

		mhp_mmio(f->h, 0, b, 8, false);
		for (int i = 0; i < 8; i++)
			assert_int_equal(b[i], 0xff);
	}
}

static void test_plug_errors(void **state)
{
	struct fixture *f = *state;
	unsigned slot;
	char id[8];

	assert_int_equal(mhp_plug(f->h, 4, "d", "m", 0, 1, 0, false, &slot), -EINVAL);
	for (int i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		assert_int_equal(mhp_plug(f->h, -1, id, id, 0, 1, 0, false, &slot), 0);
		assert_int_equal(slot, (unsigned)i);
	}
	assert_int_equal(mhp_plug(f->h, -1, "d9", "m9", 0, 1, 0, false, &slot), -ENOSPC);
	assert_int_equal(mhp_plug(f->h, 1, "d9", "m9", 0, 1, 0, false, &slot), -EBUSY);
	mhp_release(f->h, 1);
	assert_int_equal(mhp_plug(f->h, -1, "d0", "m9", 0, 1, 0, false, &slot), -EEXIST);
	assert_int_equal(f->irqs, 0);
}

static void test_ost_flood_keeps_newest(void **state)
{
	struct fixture *f = *state;
	struct mhp_event ev[MHP_MAX_EVENTS];

	wr(f, MHP_REG_SELECTOR, 0, 4);
	for (uint32_t i = 0; i < MHP_MAX_EVENTS + 10; i++)
		wr(f, MHP_REG_OST_STATUS, i, 4);
	assert_int_equal(mhp_take_events(f->h, ev, MHP_MAX_EVENTS), MHP_MAX_EVENTS);
	assert_int_equal(ev[0].ost_status, 10);
	assert_int_equal(ev[MHP_MAX_EVENTS - 1].ost_status, MHP_MAX_EVENTS + 9);
}

static void test_place(void **state)
{
	struct memmap mm;
	struct memmap_region r = { .kind = MEMMAP_DEVICE_MEMORY, .slot = -1 };
	uint64_t addr = 0;

	(void)state;
	/* 1 GiB of RAM, maxmem 4 GiB, 2 slots: the area is [4 GiB, +5 GiB). */
	assert_int_equal(memmap_init(&mm, GIB, 4 * GIB, 2), 0);
	assert_int_equal(mm.devmem_base, 4 * GIB);
	assert_int_equal(memmap_devmem_place(&mm, GIB, 4096, 0, &addr), 0);
	assert_int_equal(addr, 4 * GIB);
	r.gpa = addr;
	r.size = 128 * MIB;
	snprintf(r.name, sizeof(r.name), "mem0");
	assert_int_equal(memmap_add(&mm, &r), 0);
	/* First fit right after it, at the backend's alignment. */
	assert_int_equal(memmap_devmem_place(&mm, GIB, 4096, 0, &addr), 0);
	assert_int_equal(addr, 4 * GIB + 128 * MIB);
	assert_int_equal(memmap_devmem_place(&mm, GIB, 2 * MIB, 0, &addr), 0);
	assert_int_equal(addr, 4 * GIB + 128 * MIB);
	assert_int_equal(memmap_devmem_place(&mm, GIB, GIB, 0, &addr), 0);
	assert_int_equal(addr, 5 * GIB);
	/* addr= checked: misaligned, overlapping, outside, too big. */
	assert_int_equal(memmap_devmem_place(&mm, GIB, 2 * MIB, 5 * GIB + 4096, &addr), -EINVAL);
	assert_int_equal(memmap_devmem_place(&mm, GIB, 4096, 4 * GIB + 64 * MIB, &addr), -EEXIST);
	assert_int_equal(memmap_devmem_place(&mm, GIB, 4096, 2 * GIB, &addr), -ERANGE);
	assert_int_equal(memmap_devmem_place(&mm, GIB, 4096, 9 * GIB, &addr), -ERANGE);
	assert_int_equal(memmap_devmem_place(&mm, GIB, 4096, 8 * GIB, &addr), 0);
	assert_int_equal(memmap_devmem_place(&mm, 5 * GIB, 4096, 0, &addr), -ENOSPC);
	assert_int_equal(memmap_devmem_place(&mm, GIB + 1, 4096, 0, &addr), -EINVAL);
}

/* The power button: its own bit, its own pulse, taken by one read. */
static void test_power_button(void **state)
{
	struct fixture *f = *state;
	unsigned slot;

	ged_power_button(f->h);
	assert_int_equal(f->irqs, 1);
	assert_int_equal(ged_read(f), ACPI_GED_PWR_DOWN_EVT);
	assert_int_equal(ged_read(f), 0);
	/* With a hot plug pending, one read returns both events. */
	assert_int_equal(
	        mhp_plug(f->h, -1, "dimm0", "mem0", 0x100000000ull, 0x8000000ull, 0, true, &slot),
	        0);
	ged_power_button(f->h);
	assert_int_equal(f->irqs, 3);
	assert_int_equal(ged_read(f), ACPI_GED_MEM_HOTPLUG_EVT | ACPI_GED_PWR_DOWN_EVT);
	assert_int_equal(ged_read(f), 0);
	assert_int_equal(f->notifies, 0);
}

/* A machine without slots: the GED alone, the controller inert. */
static void test_ged_without_slots(void **state)
{
	struct fixture *f = *state;
	unsigned slot;

	mhp_destroy(f->h);
	assert_int_equal(mhp_create(&f->h, 0), 0);
	f->h->irq = on_irq;
	f->h->notify = on_notify;
	f->h->opaque = f;
	assert_int_equal(
	        mhp_plug(f->h, -1, "dimm0", "mem0", 0x100000000ull, 0x8000000ull, 0, true, &slot),
	        -ENOSPC);
	wr(f, MHP_REG_SELECTOR, 0, 4);
	wr(f, MHP_REG_FLAGS, MHP_FLAG_EJECT, 1);
	assert_int_equal(f->notifies, 0);
	ged_power_button(f->h);
	assert_int_equal(f->irqs, 1);
	assert_int_equal(ged_read(f), ACPI_GED_PWR_DOWN_EVT);
}

static void test_aml_builds(void **state)
{
	struct aml a;

	(void)state;
	aml_init(&a);
	acpi_dsdt_memory_hotplug(&a, CORE_MAX_RAM_SLOTS, MEMMAP_MHP_BASE);
	acpi_dsdt_ged(&a, MHP_GED_GSI, MEMMAP_GED_BASE, ACPI_GED_MEM_HOTPLUG_EVT);
	assert_int_equal(a.err, 0);
	assert_non_null(memmem(a.buf, a.len, "MPFF", 4));
	assert_non_null(memmem(a.buf, a.len, "ACPI0013", 8));
	/* The power button comes with its event bit only. */
	assert_null(memmem(a.buf, a.len, "PWRB", 4));
	aml_free(&a);
	aml_init(&a);
	acpi_dsdt_ged(&a, MHP_GED_GSI, MEMMAP_GED_BASE, ACPI_GED_PWR_DOWN_EVT);
	assert_int_equal(a.err, 0);
	assert_non_null(memmem(a.buf, a.len, "PWRB", 4));
	assert_null(memmem(a.buf, a.len, "MSCN", 4));
	aml_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cold_plug, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hot_plug_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unplug_eject, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eject_empty_and_bad_selector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plug_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ost_flood_keeps_newest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_power_button, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ged_without_slots, setup, teardown),
		cmocka_unit_test(test_place),
		cmocka_unit_test(test_aml_builds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
