/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Exceptions: every vector reports itself on the serial line as a FAIL and
 * exits 1, so a guest bug (or a loader that handed over a bad map) shows up
 * as a test failure with a reason instead of a silent triple fault.  The
 * IDT also has room for the few interrupt vectors idle.c uses; until it
 * sets them they are not present, and an unexpected interrupt is a
 * segment-not-present fault that names its vector (error code vec*8+2).
 */
#include "guest.h"

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));

struct trap_frame {
	uint64_t vector;
	uint64_t error;
	uint64_t rip;
	uint64_t cs;
	uint64_t rflags;
	uint64_t rsp;
	uint64_t ss;
};

#define IDT_INTERRUPT_GATE 0x8e /* present, DPL 0, 64-bit interrupt gate */

extern const uint64_t trap_stubs[32];

static struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(16)));

void guest_trap(const struct trap_frame *f);

static const char *const trap_names[32] = {
	[0] = "divide error",
	[1] = "debug",
	[2] = "NMI",
	[3] = "breakpoint",
	[4] = "overflow",
	[5] = "bound range",
	[6] = "invalid opcode",
	[7] = "device not available",
	[8] = "double fault",
	[10] = "invalid TSS",
	[11] = "segment not present",
	[12] = "stack fault",
	[13] = "general protection",
	[14] = "page fault",
	[16] = "x87 error",
	[17] = "alignment check",
	[18] = "machine check",
	[19] = "SIMD error",
	[20] = "virtualization",
	[21] = "control protection",
};

static void set_gate(unsigned int v, uint64_t off)
{
	idt[v].off_lo = (uint16_t)off;
	idt[v].sel = GUEST_CS64;
	idt[v].ist = 0;
	idt[v].type = IDT_INTERRUPT_GATE;
	idt[v].off_mid = (uint16_t)(off >> 16);
	idt[v].off_hi = (uint32_t)(off >> 32);
	idt[v].zero = 0;
}

void idt_set_irq(unsigned int vec, const void *stub)
{
	if (vec >= ARRAY_SIZE(trap_stubs) && vec < ARRAY_SIZE(idt))
		set_gate(vec, (uint64_t)(uintptr_t)stub);
}

void idt_init(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) desc;

	/* Only the exceptions now: .bss leaves the rest not present. */
	for (unsigned int v = 0; v < ARRAY_SIZE(trap_stubs); v++)
		set_gate(v, trap_stubs[v]);
	desc.limit = sizeof(idt) - 1;
	desc.base = (uint64_t)(uintptr_t)idt;
	__asm__ volatile("lidt %0" : : "m"(desc));
}

void guest_trap(const struct trap_frame *f)
{
	static bool in_trap;
	uint64_t cr2;
	const char *name = f->vector < 32 ? trap_names[f->vector] : NULL;

	/* A fault while reporting a fault: say nothing more, just stop. */
	if (in_trap)
		guest_exit(1);
	in_trap = true;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	fail("exception %lu (%s) error 0x%lx at rip 0x%lx cr2 0x%lx", f->vector,
	     name ? name : "reserved", f->error, f->rip, cr2);
	guest_exit(1);
}
