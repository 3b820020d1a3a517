/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Halting while the guest waits for the host, as a Linux guest does when it
 * is idle.  A wait that polled a register with PAUSE kept the vCPU thread
 * on a host CPU all the time (an MMIO exit per poll: 93% of a CPU in top),
 * and on a 2-CPU host that CPU was missing from everything else, the
 * control path's tail latency first.
 *
 * guest_idle() arms the local APIC's timer for one shot of about 1 ms and
 * halts with interrupts enabled (sti; hlt; cli, Linux's safe_halt: STI's
 * one-instruction shadow means an interrupt that is already pending wakes
 * the HLT instead of being taken before it and lost).  The timer's
 * interrupt handler (head.S) counts the tick and EOIs.  One shot per call,
 * not a periodic timer: a guest that is busy between waits (a benchmark's
 * request loop) is then never interrupted nor kicked by a host timer.
 *
 * The clock: KVM's and QEMU's APIC timers count at 1 GHz before the
 * divider, so divide-by-16 and 62500 counts is 1 ms there.  Nothing is
 * calibrated; callers only need "about a millisecond, then look again".
 *
 * Only the timer and the inputs a scenario routes may interrupt: LINT0
 * (the 8259 PIC's virtual wire) is masked in the LAPIC and every PIC input
 * is masked, so a device's GSI below 16 (the GED's 9) or QEMU's running
 * PIT never reaches the CPU through the PIC with vectors that would land
 * on the exception stubs.  The IOAPIC's entries stay masked as reset
 * leaves them until guest_irq_route() unmasks one: a virtio device's, so
 * that the guest can wait for its used ring as Linux does, halted, instead
 * of spinning on it.  That matters beyond the CPU it saves: KVM waits for
 * every running vCPU to leave the kernel before it finishes a memslot
 * change, and on an emulating KVM (kvm_pvm) a spinning vCPU stays there;
 * adding a 128 MiB memslot took 157 us p50 and removing one 913 us with a
 * vCPU spinning, 59 and 46 us with it halted.
 */
#include "guest.h"

#define MSR_APIC_BASE   0x1bu
#define APIC_BASE_EN    (1ull << 11)
#define APIC_BASE_EXTD  (1ull << 10) /* x2APIC mode */
#define APIC_BASE_ADDR  0xfffff000ull
#define MSR_X2APIC_BASE 0x800u

#define CPUID1_EDX_APIC (1u << 9)

/* xAPIC register offsets; x2APIC MSR = 0x800 + offset / 16. */
#define APIC_ID        0x020
#define APIC_TPR       0x080
#define APIC_EOI       0x0b0
#define APIC_SVR       0x0f0
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_ERROR 0x370
#define APIC_TMICT     0x380
#define APIC_TDCR      0x3e0

#define SVR_ENABLE  0x100u
#define LVT_MASKED  (1u << 16)
#define TDCR_DIV_16 0x3u
#define TICK_COUNT  62500u  /* 1 ms at 1 GHz / 16 */
#define WAIT_COUNT  625000u /* 10 ms: guest_wait_irq()'s safety net */

/* The IOAPIC (MADT: id 0 at 0xfec00000, GSI base 0) and its registers. */
#define IOAPIC_BASE   0xfec00000ull
#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN    0x10
#define IOAPIC_VER    0x01
#define IOAPIC_REDTBL 0x10 /* entry n: 0x10 + 2n (low), 0x11 + 2n (high) */
/* Redirection entry, low word: vector, fixed delivery, physical
 * destination, active high, edge; bit 16 masks. */
#define REDIR_MASKED (1u << 16)

#define PIC1_DATA 0x21
#define PIC2_DATA 0xa1

/* Without a LAPIC: PAUSEs per guest_idle() (a few ms on kvm_pvm). */
#define NO_APIC_SPINS 2000u

/* Read by the interrupt stubs in head.S. */
volatile uint64_t idle_tick_count;
volatile uint64_t idle_dev_irq_count;
volatile uint32_t *idle_eoi_reg; /* NULL in x2APIC mode: EOI by MSR */

static enum { IDLE_UNSET, IDLE_APIC, IDLE_SPIN } idle_mode;
static volatile uint8_t *apic;

extern const uint8_t irq_tick_stub[], irq_dev_stub[], irq_spurious_stub[];

static uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
	                 :
	                 : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
	                 : "memory");
}

static uint32_t apic_rd(uint32_t reg)
{
	if (!apic)
		return (uint32_t)rdmsr(MSR_X2APIC_BASE + reg / 16);
	return *(volatile uint32_t *)(apic + reg);
}

static void apic_wr(uint32_t reg, uint32_t v)
{
	if (!apic)
		wrmsr(MSR_X2APIC_BASE + reg / 16, v);
	else
		*(volatile uint32_t *)(apic + reg) = v;
}

static bool cpu_has_apic(void)
{
	uint32_t a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	return (d & CPUID1_EDX_APIC) != 0;
}

/* 0, or a negative GERR_* with the LAPIC left as it was. */
static int idle_setup(void)
{
	uint64_t base;

	if (!cpu_has_apic())
		return -GERR_NOENT;
	base = rdmsr(MSR_APIC_BASE);
	if (!(base & APIC_BASE_EN)) {
		base |= APIC_BASE_EN;
		wrmsr(MSR_APIC_BASE, base);
	}
	if (!(base & APIC_BASE_EXTD)) {
		uint64_t addr = base & APIC_BASE_ADDR & ((1ull << mmu_phys_bits()) - 1);

		if (mmu_map(addr, 4096, MMU_UNCACHED))
			return -GERR_FAULT;
		apic = (volatile uint8_t *)(uintptr_t)addr;
		idle_eoi_reg = (volatile uint32_t *)(uintptr_t)(addr + APIC_EOI);
	}

	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
	idt_set_irq(IRQ_VECTOR_TICK, irq_tick_stub);
	idt_set_irq(IRQ_VECTOR_DEV, irq_dev_stub);
	idt_set_irq(IRQ_VECTOR_SPURIOUS, irq_spurious_stub);

	apic_wr(APIC_LVT_LINT0, apic_rd(APIC_LVT_LINT0) | LVT_MASKED);
	apic_wr(APIC_LVT_ERROR, LVT_MASKED);
	apic_wr(APIC_TPR, 0);
	apic_wr(APIC_SVR, SVR_ENABLE | IRQ_VECTOR_SPURIOUS);
	apic_wr(APIC_TDCR, TDCR_DIV_16);
	apic_wr(APIC_LVT_TIMER, IRQ_VECTOR_TICK); /* one-shot, unmasked */
	return 0;
}

static bool idle_ready(void)
{
	if (idle_mode == IDLE_UNSET) {
		int err = idle_setup();

		idle_mode = err ? IDLE_SPIN : IDLE_APIC;
		if (err)
			say("idle: no usable local APIC (error %d), waits spin", err);
	}
	return idle_mode == IDLE_APIC;
}

void guest_idle(void)
{
	if (!idle_ready()) {
		for (unsigned int i = 0; i < NO_APIC_SPINS; i++)
			__asm__ volatile("pause" ::: "memory");
		return;
	}
	/* Writing the initial count (re)starts the one shot. */
	apic_wr(APIC_TMICT, TICK_COUNT);
	__asm__ volatile("sti; hlt; cli" ::: "memory");
}

static uint32_t ioapic_rd(volatile uint32_t *io, uint32_t reg)
{
	io[IOAPIC_REGSEL / 4] = reg;
	return io[IOAPIC_WIN / 4];
}

static void ioapic_wr(volatile uint32_t *io, uint32_t reg, uint32_t v)
{
	io[IOAPIC_REGSEL / 4] = reg;
	io[IOAPIC_WIN / 4] = v;
}

int guest_irq_route(uint32_t gsi)
{
	volatile uint32_t *io;
	uint32_t inputs, apic_id;

	if (!idle_ready())
		return -GERR_NOENT;
	if (mmu_map(IOAPIC_BASE, 4096, MMU_UNCACHED))
		return -GERR_FAULT;
	io = (volatile uint32_t *)(uintptr_t)IOAPIC_BASE;
	/* Version register bits 16-23: the highest redirection entry. */
	inputs = (ioapic_rd(io, IOAPIC_VER) >> 16 & 0xff) + 1;
	if (gsi >= inputs)
		return -GERR_RANGE;
	/* This CPU's APIC id: the destination, in bits 24-31 (xAPIC). */
	apic_id = apic ? apic_rd(APIC_ID) >> 24 : apic_rd(APIC_ID);
	ioapic_wr(io, IOAPIC_REDTBL + 2 * gsi + 1, (apic_id & 0xff) << 24);
	ioapic_wr(io, IOAPIC_REDTBL + 2 * gsi, IRQ_VECTOR_DEV);
	return 0;
}

void guest_wait_irq(void)
{
	apic_wr(APIC_TMICT, WAIT_COUNT);
	__asm__ volatile("sti; hlt; cli" ::: "memory");
}

uint64_t idle_ticks(void)
{
	return idle_tick_count;
}

uint64_t idle_dev_irqs(void)
{
	return idle_dev_irq_count;
}

bool idle_uses_apic(void)
{
	return idle_mode == IDLE_APIC;
}
