/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The test guest's internal contract: a freestanding x86_64 kernel, no libc.
 * Functions return 0 or a negative GERR_* code unless they say otherwise.
 * Guest-physical memory is identity mapped (mmu.c); guest_ptr() is the one
 * way to turn an address the host handed in into a pointer.
 */
#ifndef SPLITVM_GUEST_H
#define SPLITVM_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"

#define GUEST_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define GUEST_MUST_CHECK   __attribute__((warn_unused_result))
#define ARRAY_SIZE(a)      (sizeof(a) / sizeof((a)[0]))

/* Error codes (negative on return); the values of Linux's errno. */
#define GERR_NOENT 2
#define GERR_NOMEM 12
#define GERR_FAULT 14
#define GERR_INVAL 22
#define GERR_RANGE 34

/* --- port I/O ---------------------------------------------------------- */
#define PORT_COM1       0x3f8
#define PORT_DEBUG_EXIT 0x501

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* The TSC, ordered after the loads and stores before it (lfence). */
static inline uint64_t guest_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return (uint64_t)hi << 32 | lo;
}

/* --- lib.c: what the compiler may call, and a few string helpers ------- */
void *memset(void *s, int c, size_t n);
void *memcpy(void *restrict d, const void *restrict s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
/*
 * Parse an unsigned number of exactly @len bytes: decimal or 0x hex, with an
 * optional binary suffix K, M, G or T.  -GERR_INVAL on a bad digit,
 * -GERR_RANGE on overflow.
 */
int parse_u64(const char *s, size_t len, uint64_t *out) GUEST_MUST_CHECK;

/* --- console.c: polled 8250 on COM1, debug exit ------------------------ */
/* The least the "ready" line needs; con_init_rest() does the rest after it. */
void con_init(void);
void con_init_rest(void);
/*
 * "splitvm-guest: ready", the line the boot benchmark times, with as few
 * instructions as it takes: on kvm_pvm each one is emulated.
 */
void con_ready(void);
void con_write(const char *s, size_t len);
void gprintf(const char *fmt, ...) GUEST_PRINTF(1, 2);
void gvprintf(const char *fmt, va_list ap) GUEST_PRINTF(1, 0);
/* One protocol line: "splitvm-guest: " + message + "\n". */
void say(const char *fmt, ...) GUEST_PRINTF(1, 2);
/* Prints "splitvm-guest: FAIL: <why>" and returns 1, a scenario's failure. */
int fail(const char *fmt, ...) GUEST_PRINTF(1, 2);
/* Writes @status to the debug-exit port; never returns. */
__attribute__((noreturn)) void guest_exit(uint8_t status);

/* --- boot.c: what the loader handed over ------------------------------ */
#define E820_MAX 128

#define E820_RAM      1
#define E820_RESERVED 2
#define E820_ACPI     3
#define E820_NVS      4
#define E820_UNUSABLE 5
#define E820_PMEM     7

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/* Offsets in struct boot_params (the zero page); hdr fields as in the file. */
#define BP_ACPI_RSDP_ADDR    0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_EXT_CMD_LINE_PTR  0x0c8
#define BP_E820_ENTRIES      0x1e8
#define BP_SETUP_SECTS       0x1f1
#define BP_BOOT_FLAG         0x1fe
#define BP_HEADER            0x202
#define BP_VERSION           0x206
#define BP_TYPE_OF_LOADER    0x210
#define BP_LOADFLAGS         0x211
#define BP_RAMDISK_IMAGE     0x218
#define BP_RAMDISK_SIZE      0x21c
#define BP_CMD_LINE_PTR      0x228
#define BP_INITRD_ADDR_MAX   0x22c
#define BP_XLOADFLAGS        0x236
#define BP_CMDLINE_SIZE      0x238
#define BP_SETUP_DATA        0x250
#define BP_INIT_SIZE         0x260
#define BP_E820_TABLE        0x2d0
#define BP_SIZE              0x1000

#define HDRS_MAGIC 0x53726448u /* "HdrS" */
#define BOOT_FLAG  0xaa55
#define SETUP_DTB  2
#define PVH_MAGIC  0x336ec578u

struct guest_boot {
	uint32_t entry;     /* GUEST_ENTRY_* */
	const uint8_t *bp;  /* boot_params (Linux entries), else NULL */
	const uint8_t *hvm; /* hvm_start_info (PVH), else NULL */
	uint32_t hvm_version;
	uint64_t info_addr; /* address of bp or hvm as handed in */

	char cmdline[GUEST_CMDLINE_MAX + 1];
	uint64_t cmdline_addr; /* 0: none */
	size_t cmdline_len;
	bool cmdline_cut; /* longer than GUEST_CMDLINE_MAX */

	/* The map as handed over, and sorted without empty entries as Linux
	 * reads it (QEMU's PVH map, for one, is unsorted). */
	struct e820_entry e820_raw[E820_MAX];
	unsigned int e820_raw_n;
	struct e820_entry e820[E820_MAX];
	unsigned int e820_n;
	bool e820_cut; /* the loader claimed more than E820_MAX */

	uint64_t initrd_addr; /* 0 with initrd_size 0: none */
	uint64_t initrd_size;
	bool initrd_ext; /* address or size used the ext_ fields */

	unsigned int setup_data_n; /* nodes in the setup_data chain */
	const uint8_t *dtb;        /* SETUP_DTB payload, or NULL */
	uint32_t dtb_size;
	uint64_t dtb_addr;

	uint64_t rsdp_addr;
};

/* Reads what fits in the loader's own mapping (cmdline, e820). */
int boot_parse_early(struct guest_boot *b, uint32_t entry, uint64_t info) GUEST_MUST_CHECK;
/* Needs mmu_init(): walks setup_data, wherever the loader put it. */
int boot_parse_late(struct guest_boot *b) GUEST_MUST_CHECK;
const char *e820_type_name(uint32_t type);
/* Sum of the sizes of the E820_RAM entries. */
uint64_t e820_ram_total(const struct guest_boot *b);
/* Is [addr, addr + size) inside one E820_RAM entry? */
bool e820_in_ram(const struct guest_boot *b, uint64_t addr, uint64_t size);

/*
 * The value of "key=value" on the command line, or NULL if the key is
 * absent; *len gets the value's length.  The last occurrence wins, as with
 * Linux's parameters.
 */
const char *cmdline_get(const struct guest_boot *b, const char *key, size_t *len);
/* 0 and *out when present and well formed, -GERR_NOENT when absent. */
int cmdline_u64(const struct guest_boot *b, const char *key, uint64_t *out) GUEST_MUST_CHECK;

/* --- mmu.c ------------------------------------------------------------- */
#define MMU_UNCACHED 1u

/* Identity map 0 - 4 GiB (holes uncached) in the guest's own tables. */
int mmu_init(const struct guest_boot *b) GUEST_MUST_CHECK;
/* Identity map [gpa, gpa + len) with 2 MiB pages; already mapped is fine. */
int mmu_map(uint64_t gpa, uint64_t len, unsigned int flags) GUEST_MUST_CHECK;
/* Map and return a pointer to guest-physical [gpa, gpa + len), or NULL. */
void *guest_ptr(uint64_t gpa, uint64_t len);
unsigned int mmu_phys_bits(void);

/* --- trap.c ------------------------------------------------------------ */
/* Vectors past the exceptions that the IDT holds (idle.c's LAPIC). */
#define IRQ_VECTOR_TICK     0x20
#define IRQ_VECTOR_DEV      0x21 /* every routed device GSI (idle.c) */
#define IRQ_VECTOR_SPURIOUS 0x2f /* low nibble all ones: old APICs insist */
#define IDT_VECTORS         0x30

/*
 * Every exception reports itself as a FAIL and exits; vectors 32 and up
 * are absent (a segment-not-present fault names them) until set.
 */
void idt_init(void);
/* Route @vec (32 to IDT_VECTORS - 1) to the assembly stub @stub. */
void idt_set_irq(unsigned int vec, const void *stub);

/* --- idle.c: halting until the host has something --------------------- */
/*
 * Halt until an interrupt: the LAPIC timer's one shot of about 1 ms at the
 * latest.  For waits on the host, never for a poll whose latency is
 * measured.  The first call sets the LAPIC up (after mmu_init()); without
 * one, it spins a little instead.  Interrupts are off again on return.
 */
void guest_idle(void);
/* Timer interrupts taken so far. */
uint64_t idle_ticks(void);
/* Did guest_idle() find a LAPIC (false before the first call)? */
bool idle_uses_apic(void);
/*
 * Route IOAPIC input @gsi (the IOAPIC at 0xfec00000, GSI base 0, as the
 * MADT says) to IRQ_VECTOR_DEV on this CPU: edge-triggered, active high,
 * as the DSDT declares a virtio-mmio transport's interrupt.  Sets the LAPIC
 * up first.  0, or a negative GERR_* (no LAPIC, @gsi past the IOAPIC's
 * inputs) with nothing routed.
 */
int guest_irq_route(uint32_t gsi) GUEST_MUST_CHECK;
/*
 * Halt until an interrupt, a device's or the LAPIC timer's one shot of
 * about 10 ms, the safety net that turns a lost interrupt into a slow
 * wait.  Interrupts are off again on return.  Needs guest_irq_route().
 */
void guest_wait_irq(void);
/* Interrupts taken on IRQ_VECTOR_DEV so far. */
uint64_t idle_dev_irqs(void);

/* --- power.c: the ACPI power button (GED) and S5 power-off ------------ */
#define GED_MEM_HOTPLUG_EVT 0x1u /* the GED selector's bits, QEMU's */
#define GED_PWR_DOWN_EVT    0x2u

/*
 * Find the FADT's sleep registers, \_S5 and the GED in the ACPI tables, and
 * read power_button= (act, the default, or ignore).  No tables: nothing is
 * watched and power_poll() returns 0.  0, or 1 after a FAIL line.
 */
int power_init(const struct guest_boot *b) GUEST_MUST_CHECK;
/*
 * Read the GED's selector (which takes its events).  The power-down bit
 * powers the machine off through the sleep control register (no return),
 * or with power_button=ignore is reported and dropped.  Returns the other
 * bits, for a scenario that handles them (memory hotplug).
 */
uint32_t power_poll(void);

/* --- scenarios --------------------------------------------------------- */
struct guest_scenario {
	const char *name;
	/* 0: PASS; otherwise the scenario has printed its FAIL line. */
	int (*run)(const struct guest_boot *b);
};

/* The table of every scenario lives in scenarios.c; one file per group. */
const struct guest_scenario *scenario_find(const char *name, size_t len);

extern const struct guest_scenario scenario_memmap;
extern const struct guest_scenario scenario_bootcheck;
extern const struct guest_scenario scenario_unmapped;
extern const struct guest_scenario scenario_exit;
extern const struct guest_scenario scenario_fault;
extern const struct guest_scenario scenario_pvh_boot;
extern const struct guest_scenario scenario_idle;
extern const struct guest_scenario scenario_virtio;
extern const struct guest_scenario scenario_virtio_bad;
extern const struct guest_scenario scenario_plane;
extern const struct guest_scenario scenario_virtio_mem, scenario_virtio_mem_bad;
extern const struct guest_scenario scenario_vmem_replay;
extern const struct guest_scenario scenario_dimm;
extern const struct guest_scenario scenario_virtio_pmem;
extern const struct guest_scenario scenario_nvdimm;

/*
 * Sorted, no empty entry, no overlap, no wrap, some RAM: a map as a loader
 * should hand it over.  0, or prints FAIL naming @what and returns 1.
 */
int check_e820_sane(const struct e820_entry *e, unsigned int n, const char *what);

#endif
