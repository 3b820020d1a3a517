/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest's page tables: an identity map with 2 MiB pages.  The low
 * 4 GiB come ready-made in the image (head.S): each GiB is mapped
 * write-back if the e820 map has RAM in it, else uncached (the 32-bit MMIO
 * hole of splitvm's and QEMU's layouts is the GiB below 4 GiB).  Anything
 * above is mapped on demand with tables from a fixed pool (.pgtables), so
 * a scenario can touch any guest-physical address below MAXPHYADDR.
 * Choosing per GiB, not per 2 MiB page, keeps mmu_init() to a handful of
 * instructions: on kvm_pvm each one is emulated.
 */
#include "guest.h"

#define PTE_P    0x001ull
#define PTE_RW   0x002ull
#define PTE_PWT  0x008ull
#define PTE_PCD  0x010ull
#define PTE_PS   0x080ull
#define PTE_ADDR 0x000ffffffffff000ull

#define PAGE_SIZE  4096u
#define HUGE_SHIFT 21
#define HUGE_SIZE  (1ull << HUGE_SHIFT)
#define LOW_MAP    (4ull << 30)
#define GIB_SHIFT  30
#define LOW_GIBS   4

extern uint8_t pt_pool[], pt_pool_end[];
extern uint64_t boot_pml4[512], boot_pdpt[512];
extern uint8_t boot_pd_wb[], boot_pd_uc[];

static unsigned int pool_used;
static uint64_t *pml4;
static unsigned int phys_bits;
static bool mmu_ready;

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static void write_cr3(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

unsigned int mmu_phys_bits(void)
{
	uint32_t a, b, c, d;

	if (phys_bits)
		return phys_bits;
	cpuid(0x80000000, &a, &b, &c, &d);
	if (a >= 0x80000008) {
		cpuid(0x80000008, &a, &b, &c, &d);
		phys_bits = a & 0xff;
	}
	/* 36 is what the SDM says to assume without the leaf. */
	if (phys_bits < 32 || phys_bits > 52)
		phys_bits = 36;
	return phys_bits;
}

static uint64_t *table_alloc(void)
{
	size_t pages = (size_t)(pt_pool_end - pt_pool) / PAGE_SIZE;
	uint64_t *t;

	if (pool_used == pages)
		return NULL;
	t = (uint64_t *)(void *)(pt_pool + (size_t)pool_used * PAGE_SIZE);
	pool_used++;
	memset(t, 0, PAGE_SIZE);
	return t;
}

static uint64_t *next_level(uint64_t *table, unsigned int idx)
{
	if (!(table[idx] & PTE_P)) {
		uint64_t *t = table_alloc();

		if (!t)
			return NULL;
		table[idx] = (uint64_t)(uintptr_t)t | PTE_P | PTE_RW;
	}
	return (uint64_t *)(uintptr_t)(table[idx] & PTE_ADDR);
}

static int map_huge(uint64_t gpa, unsigned int flags)
{
	uint64_t *pdpt, *pd;
	uint64_t pte = gpa | PTE_P | PTE_RW | PTE_PS;

	pdpt = next_level(pml4, (gpa >> 39) & 511);
	if (!pdpt)
		return -GERR_NOMEM;
	pd = next_level(pdpt, (gpa >> 30) & 511);
	if (!pd)
		return -GERR_NOMEM;
	if (flags & MMU_UNCACHED)
		pte |= PTE_PCD | PTE_PWT;
	pd[(gpa >> HUGE_SHIFT) & 511] = pte;
	return 0;
}

int mmu_map(uint64_t gpa, uint64_t len, unsigned int flags)
{
	uint64_t end, page;

	if (!mmu_ready)
		return -GERR_INVAL;
	if (len == 0 || __builtin_add_overflow(gpa, len, &end))
		return -GERR_RANGE;
	if (end > (1ull << mmu_phys_bits()))
		return -GERR_RANGE;
	for (page = gpa & ~(HUGE_SIZE - 1); page < end; page += HUGE_SIZE) {
		int err = map_huge(page, flags);

		if (err)
			return err;
	}
	/* An entry may have changed (cached to uncached): flush them all. */
	write_cr3((uint64_t)(uintptr_t)pml4);
	return 0;
}

int mmu_init(const struct guest_boot *b)
{
	for (unsigned int g = 0; g < LOW_GIBS; g++) {
		uint64_t start = (uint64_t)g << GIB_SHIFT, end = start + (1ull << GIB_SHIFT);
		const uint8_t *pd = boot_pd_uc;

		for (unsigned int i = 0; i < b->e820_n; i++) {
			const struct e820_entry *e = &b->e820[i];

			if (e->type == E820_RAM && e->addr < end && e->addr + e->size > start)
				pd = boot_pd_wb;
		}
		boot_pdpt[g] = (uint64_t)(uintptr_t)(pd + g * PAGE_SIZE) | PTE_P | PTE_RW;
	}
	mmu_phys_bits();
	pml4 = boot_pml4;
	write_cr3((uint64_t)(uintptr_t)pml4);
	mmu_ready = true;
	return 0;
}

void *guest_ptr(uint64_t gpa, uint64_t len)
{
	uint64_t end;

	if (len == 0)
		len = 1;
	if (__builtin_add_overflow(gpa, len, &end))
		return NULL;
	/* The low 4 GiB are mapped from the entry on (by the loader or us). */
	if (end > LOW_MAP && mmu_map(gpa, len, 0) != 0)
		return NULL;
	return (void *)(uintptr_t)gpa;
}
