/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Small scenarios for the core's plumbing: exit=N (exit status), unmapped=
 * (a touch of guest-physical space nothing backs), fault (the exception
 * report), pvh-boot (nothing but the boot, for the benchmark's PVH
 * comparison) and idle (guest_idle() and its LAPIC timer).
 */
#include "guest.h"

/* Most repeats unmapped accepts: enough to show a rate-limited log. */
#define UNMAPPED_REPEAT_MAX 100000

static int exit_run(const struct guest_boot *b)
{
	uint64_t n;
	int err = cmdline_u64(b, "exit", &n);

	if (err == -GERR_NOENT)
		return fail("scenario exit needs exit=N on the command line");
	if (err || n > 255)
		return fail("exit=: want a number 0..255");
	say("exit %lu", n);
	guest_exit((uint8_t)n);
}

const struct guest_scenario scenario_exit = {
	.name = "exit",
	.run = exit_run,
};

/*
 * Reads, writes and reads again a 32-bit word where the host maps nothing:
 * the core must answer reads with all-ones, drop the write and keep the
 * guest running.  repeat=N does it N times.
 */
static int unmapped_run(const struct guest_boot *b)
{
	volatile uint32_t *p;
	uint64_t addr, repeat = 1;
	uint32_t v;
	int err;

	err = cmdline_u64(b, "unmapped", &addr);
	if (err == -GERR_NOENT)
		return fail("scenario unmapped needs unmapped=0xADDR on the command line");
	if (err || addr % 4)
		return fail("unmapped=: want a 4-byte aligned address");
	err = cmdline_u64(b, "repeat", &repeat);
	if (err == -GERR_NOENT)
		repeat = 1;
	else if (err || repeat == 0 || repeat > UNMAPPED_REPEAT_MAX)
		return fail("repeat=: want 1..%u", UNMAPPED_REPEAT_MAX);
	if (e820_in_ram(b, addr, 4))
		return fail("unmapped=0x%lx is RAM in the e820 map", addr);
	err = mmu_map(addr, 4, MMU_UNCACHED);
	if (err)
		return fail("unmapped=0x%lx: cannot map it (error %d, %u physical address bits)",
		            addr, err, mmu_phys_bits());

	p = (volatile uint32_t *)(uintptr_t)addr;
	for (uint64_t i = 0; i < repeat; i++) {
		v = *p;
		if (v != 0xffffffffu)
			return fail("read 0x%08x at unmapped 0x%lx, want 0xffffffff", v, addr);
		*p = 0x5a5a5a5au;
		v = *p;
		if (v != 0xffffffffu)
			return fail("read 0x%08x at unmapped 0x%lx after a write, want 0xffffffff",
			            v, addr);
	}
	say("unmapped 0x%lx: read 0xffffffff, write dropped, %lu times", addr, repeat);
	return 0;
}

const struct guest_scenario scenario_unmapped = {
	.name = "unmapped",
	.run = unmapped_run,
};

/*
 * A general-protection fault on purpose (a non-canonical address): shows
 * that the exception handler reports a guest bug as a FAIL line with the
 * vector and the faulting rip, and exits 1, instead of a triple fault.
 */
static int fault_run(const struct guest_boot *b)
{
	volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)0x8000000000000000ull;

	(void)b;
	say("reading non-canonical 0x%lx", (uint64_t)(uintptr_t)p);
	(void)*p;
	return fail("no exception for a non-canonical address");
}

const struct guest_scenario scenario_fault = {
	.name = "fault",
	.run = fault_run,
};

static int pvh_boot_run(const struct guest_boot *b)
{
	(void)b;
	return 0;
}

const struct guest_scenario scenario_pvh_boot = {
	.name = "pvh-boot",
	.run = pvh_boot_run,
};

/* Most halts idle_ms= accepts: about a minute. */
#define IDLE_MS_MAX 60000

/*
 * idle_ms=N (default 20) halts through guest_idle(): each must end with
 * the LAPIC timer's interrupt (the only one unmasked), so N halts take N
 * ticks.  A missing or silent timer hangs here (the host's timeout), a
 * wrong vector or a bad stub is an exception's FAIL line.
 */
static int idle_run(const struct guest_boot *b)
{
	uint64_t n = 20, ticks, t0, tsc;
	int err = cmdline_u64(b, "idle_ms", &n);

	if ((err && err != -GERR_NOENT) || n == 0 || n > IDLE_MS_MAX)
		return fail("idle_ms=: want 1..%u", IDLE_MS_MAX);
	t0 = idle_ticks();
	tsc = guest_rdtsc();
	for (uint64_t i = 0; i < n; i++)
		guest_idle();
	tsc = guest_rdtsc() - tsc;
	ticks = idle_ticks() - t0;
	if (!idle_uses_apic())
		return fail("idle: no local APIC, guest_idle() spins");
	/* A spurious interrupt may end a halt early; no more than one tick each. */
	if (ticks > n || ticks < n - n / 4)
		return fail("idle: %lu halts took %lu timer ticks", n, ticks);
	say("idle: %lu halts, %lu timer ticks, %lu TSC cycles each", n, ticks, tsc / n);
	return 0;
}

const struct guest_scenario scenario_idle = {
	.name = "idle",
	.run = idle_run,
};
