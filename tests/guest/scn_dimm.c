/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scenario=dimm dimm_slots=N: the guest's half of the DIMM hotplug test
 * (tests/integration/test_dimm_hotplug.c).  It drives the core's ACPI
 * memory-hotplug controller (QEMU's registers, core/core.h) in the order
 * QEMU's AML does it for Linux, but polls the Generic Event Device's
 * selector instead of taking its interrupt, halting between polls:
 *
 *   at boot   every slot whose flags read ENABLED is a cold-plugged DIMM:
 *             "dimm slot N present addr 0x.. size 0x.. node N boot"
 *   GED bit 0 (memory hotplug) read: MSCN, slot by slot:
 *     INSERT  read the range and node (_CRS, _PXM), clear the insert
 *             event, write the pattern across the DIMM, report it
 *             ("... hotplug"), then _OST(1 Device Check, 0 success);
 *     REMOVE  clear the remove event, _OST(3 Eject Request, 0x84 ejection
 *             in progress) as Linux's ACPI core does first, then _EJ0
 *             (EJECT) and _OST(3, 0): "dimm slot N ejected";
 *             with dimm_refuse=1 the memory "cannot be offlined" instead:
 *             _OST(3, 0x82 device busy) and no eject: "dimm slot N refused";
 *             with dimm_eject_late=1 the guest stops after _OST(3, 0x84)
 *             ("dimm slot N eject pending") and ejects at the start of the
 *             next memory-hotplug event's scan instead: a removal the host
 *             holds open for as long as it likes, without a race
 *             (tests/integration/test_sup_dimm_unplug.sh).
 *   dimm_removes=K  PASS after K remove events (0 or absent: run until
 *             the machine is powered off, by the power button too:
 *             power.c reads the same selector).
 *
 * The pattern: the 64-bit word at offset o of a DIMM at address a, for o a
 * multiple of 2 MiB (or of the size, if smaller), holds dimm_word(a + o);
 * a sparse pattern, so that a 1 GiB DIMM costs the host 2 MiB, not 1 GiB.
 */
#include "guest.h"

#define MHP_BASE 0xfea01000ull /* MEMMAP_MHP_BASE */

#define R_ADDR_LO    0x00
#define R_ADDR_HI    0x04
#define R_SIZE_LO    0x08
#define R_SIZE_HI    0x0c
#define R_PXM        0x10
#define R_FLAGS      0x14
#define W_SELECTOR   0x00
#define W_OST_EVENT  0x04
#define W_OST_STATUS 0x08

#define F_ENABLED 0x1u
#define F_INSERT  0x2u
#define F_REMOVE  0x4u
#define F_EJECT   0x8u

#define OST_DEVICE_CHECK   1u
#define OST_EJECT_REQUEST  3u
#define OST_SUCCESS        0u
#define OST_DEVICE_BUSY    0x82u
#define OST_EJECT_PROGRESS 0x84u

#define DIMM_MAGIC  0x6d6d69642d6d7673ull /* "svm-dimm" */
#define DIMM_STRIDE (2ull << 20)

static volatile uint8_t *mhp;

static uint32_t mhp_rd(uint32_t off)
{
	return *(volatile uint32_t *)(mhp + off);
}

static void mhp_wr(uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(mhp + off) = v;
}

static uint64_t dimm_word(uint64_t gpa)
{
	return DIMM_MAGIC ^ gpa;
}

static uint64_t dimm_stride(uint64_t size)
{
	return size < DIMM_STRIDE ? size : DIMM_STRIDE;
}

/* Write the pattern over [addr, addr + size) and read it back. */
static int dimm_fill(unsigned int slot, uint64_t addr, uint64_t size)
{
	uint64_t step = dimm_stride(size);
	volatile uint64_t *w;

	if (!size || size % 4096 || addr % 4096)
		return fail("dimm slot %u: range 0x%lx+0x%lx is not page aligned", slot, addr,
		            size);
	if (!guest_ptr(addr, size))
		return fail("dimm slot %u: cannot map 0x%lx+0x%lx (%u physical address bits)", slot,
		            addr, size, mmu_phys_bits());
	for (uint64_t o = 0; o < size; o += step) {
		w = (volatile uint64_t *)(uintptr_t)(addr + o);
		*w = dimm_word(addr + o);
	}
	for (uint64_t o = 0; o < size; o += step) {
		w = (volatile uint64_t *)(uintptr_t)(addr + o);
		if (*w != dimm_word(addr + o))
			return fail("dimm slot %u: word at 0x%lx reads 0x%lx, want 0x%lx", slot,
			            addr + o, *w, dimm_word(addr + o));
	}
	return 0;
}

/* Select @slot and read its range and node, as _CRS and _PXM do. */
static int dimm_found(unsigned int slot, const char *how)
{
	uint64_t addr, size;
	uint32_t pxm;

	mhp_wr(W_SELECTOR, slot);
	addr = mhp_rd(R_ADDR_LO) | (uint64_t)mhp_rd(R_ADDR_HI) << 32;
	size = mhp_rd(R_SIZE_LO) | (uint64_t)mhp_rd(R_SIZE_HI) << 32;
	pxm = mhp_rd(R_PXM);
	if (dimm_fill(slot, addr, size))
		return 1;
	say("dimm slot %u present addr 0x%lx size 0x%lx node %u %s", slot, addr, size, pxm, how);
	return 0;
}

static void ost(unsigned int slot, uint32_t event, uint32_t status)
{
	mhp_wr(W_SELECTOR, slot);
	mhp_wr(W_OST_EVENT, event);
	mhp_wr(W_OST_STATUS, status);
}

/* _EJ0 of @slot, then _OST(3, 0) as Linux reports a finished eject. */
static int dimm_eject(unsigned int slot)
{
	uint32_t fl;

	mhp_wr(W_SELECTOR, slot);
	mhp_wr(R_FLAGS, F_EJECT); /* _EJ0 */
	mhp_wr(W_SELECTOR, slot);
	fl = mhp_rd(R_FLAGS);
	if (fl & F_ENABLED)
		return fail("dimm slot %u: still enabled after eject (0x%x)", slot, fl);
	ost(slot, OST_EJECT_REQUEST, OST_SUCCESS);
	say("dimm slot %u ejected", slot);
	return 0;
}

/* dimm_eject_late=1: slots whose eject waits for the next scan. */
static bool eject_pending[256];
static unsigned int n_eject_pending;

/*
 * MSCN: one pass over the slots, after the ejects held back from the last
 * one; *removes counts the remove events seen.
 */
static int dimm_scan(unsigned int n_slots, bool refuse, bool late, uint64_t *removes)
{
	for (unsigned int i = 0; i < n_slots && n_eject_pending; i++) {
		if (!eject_pending[i])
			continue;
		eject_pending[i] = false;
		n_eject_pending--;
		if (dimm_eject(i))
			return 1;
	}
	for (unsigned int i = 0; i < n_slots; i++) {
		uint32_t fl;

		mhp_wr(W_SELECTOR, i);
		fl = mhp_rd(R_FLAGS);
		if (fl & F_INSERT) {
			mhp_wr(R_FLAGS, F_INSERT); /* the AML clears it before Notify */
			if (dimm_found(i, "hotplug"))
				return 1;
			ost(i, OST_DEVICE_CHECK, OST_SUCCESS);
		} else if (fl & F_REMOVE) {
			mhp_wr(R_FLAGS, F_REMOVE);
			(*removes)++;
			if (refuse) {
				ost(i, OST_EJECT_REQUEST, OST_DEVICE_BUSY);
				say("dimm slot %u refused", i);
				continue;
			}
			ost(i, OST_EJECT_REQUEST, OST_EJECT_PROGRESS);
			if (late) {
				eject_pending[i] = true;
				n_eject_pending++;
				say("dimm slot %u eject pending", i);
				continue;
			}
			if (dimm_eject(i))
				return 1;
		}
	}
	return 0;
}

static int dimm_run(const struct guest_boot *b)
{
	uint64_t n_slots, refuse = 0, late = 0, want_removes = 0, removes = 0, scans = 0;
	int err;

	if (cmdline_u64(b, "dimm_slots", &n_slots) || !n_slots || n_slots > 256)
		return fail("scenario dimm needs dimm_slots=N, 1 to 256");
	err = cmdline_u64(b, "dimm_refuse", &refuse);
	if ((err && err != -GERR_NOENT) || refuse > 1)
		return fail("dimm_refuse= takes 0 or 1");
	err = cmdline_u64(b, "dimm_eject_late", &late);
	if ((err && err != -GERR_NOENT) || late > 1 || (late && refuse))
		return fail("dimm_eject_late= takes 0 or 1, and not with dimm_refuse=1");
	err = cmdline_u64(b, "dimm_removes", &want_removes);
	if (err && err != -GERR_NOENT)
		return fail("dimm_removes= takes a number");
	mhp = guest_ptr(MHP_BASE, 0x18);
	if (!mhp)
		return fail("cannot map the hotplug controller");
	/* The GED, found in the DSDT; its power button ends the scenario too. */
	if (power_init(b))
		return 1;

	/* Cold-plugged DIMMs: enabled at boot, no insert event (QEMU's way). */
	for (unsigned int i = 0; i < n_slots; i++) {
		mhp_wr(W_SELECTOR, i);
		if ((mhp_rd(R_FLAGS) & F_ENABLED) && dimm_found(i, "boot"))
			return 1;
	}
	say("dimm ready, %lu slots%s", n_slots,
	    refuse ? ", refusing ejects"
	    : late ? ", ejecting late"
	           : "");

	while (!want_removes || removes < want_removes || n_eject_pending) {
		if (!(power_poll() & GED_MEM_HOTPLUG_EVT)) {
			guest_idle(); /* nothing to do until the host plugs */
			continue;
		}
		scans++;
		if (dimm_scan((unsigned int)n_slots, refuse, late, &removes))
			return 1;
	}
	say("dimm done: %lu scans, %lu removes", scans, removes);
	return 0;
}

const struct guest_scenario scenario_dimm = {
	.name = "dimm",
	.run = dimm_run,
};
