/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Boot scenarios: memmap (the memory map as e820 and as the FDT say it, and
 * that they agree) and bootcheck (what a Linux kernel would check of what
 * its loader handed over).
 */
#include "guest.h"
#include "gfdt.h"

#define FDT_RANGES_MAX 64

extern uint8_t __image_start[], _end[];

static uint16_t rd16(const uint8_t *p, size_t off)
{
	uint16_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint32_t rd32(const uint8_t *p, size_t off)
{
	uint32_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

struct range {
	uint64_t addr;
	uint64_t size;
};

/* Is [addr, addr + size) covered by the union of @r? */
static bool covered(const struct range *r, unsigned int n, uint64_t addr, uint64_t size)
{
	uint64_t end = addr + size;

	while (addr < end) {
		bool moved = false;

		for (unsigned int i = 0; i < n; i++) {
			if (addr >= r[i].addr && addr - r[i].addr < r[i].size) {
				addr = r[i].addr + r[i].size;
				moved = true;
			}
		}
		if (!moved)
			return false;
	}
	return true;
}

int check_e820_sane(const struct e820_entry *e, unsigned int n, const char *what)
{
	bool ram = false;

	if (n == 0)
		return fail("%s: no entries", what);
	for (unsigned int i = 0; i < n; i++) {
		uint64_t end;

		if (e[i].size == 0)
			return fail("%s: entry %u at 0x%lx is empty", what, i, e[i].addr);
		if (__builtin_add_overflow(e[i].addr, e[i].size, &end))
			return fail("%s: entry %u at 0x%lx wraps around", what, i, e[i].addr);
		if (i > 0 && e[i].addr < e[i - 1].addr + e[i - 1].size)
			return fail("%s: entry %u at 0x%lx is unsorted or overlaps entry %u", what,
			            i, e[i].addr, i - 1);
		ram |= e[i].type == E820_RAM;
	}
	if (!ram)
		return fail("%s: no ram entry", what);
	return 0;
}

/* The map as handed over; an empty entry prints with size 0. */
static void print_e820(const struct guest_boot *b)
{
	for (unsigned int i = 0; i < b->e820_raw_n; i++) {
		const struct e820_entry *e = &b->e820_raw[i];

		if (e->size == 0)
			say("e820: 0x%lx size 0 %s", e->addr, e820_type_name(e->type));
		else
			say("e820: 0x%lx - 0x%lx %s", e->addr, e->addr + e->size - 1,
			    e820_type_name(e->type));
	}
}

struct fdt_mem {
	struct range r[FDT_RANGES_MAX];
	unsigned int n;
	bool cut;
	int err;
};

static int collect_memory(void *ctx, const struct gfdt_node *node)
{
	struct fdt_mem *m = ctx;

	if (!gfdt_node_is_memory(node))
		return 0;
	for (uint32_t i = 0; i < gfdt_reg_count(node); i++) {
		uint64_t addr, size;
		int err = gfdt_reg(node, i, &addr, &size);

		if (err)
			return err;
		say("fdt memory: 0x%lx size 0x%lx", addr, size);
		if (m->n == FDT_RANGES_MAX) {
			m->cut = true;
			continue;
		}
		m->r[m->n].addr = addr;
		m->r[m->n].size = size;
		m->n++;
	}
	return 0;
}

/* The FDT's memory nodes and bootargs against the e820 map and cmdline. */
static int check_fdt(const struct guest_boot *b)
{
	struct range e820_all[E820_MAX];
	struct fdt_mem m = { .n = 0 };
	uint64_t fdt_total = 0;
	const char *args;
	uint32_t args_len;
	int err;

	say("fdt: %u bytes at 0x%lx", b->dtb_size, b->dtb_addr);
	err = gfdt_nodes(b->dtb, b->dtb_size, collect_memory, &m);
	if (err)
		return fail("fdt: %s", gfdt_strerror(err));
	if (m.cut)
		return fail("fdt: more than %u memory ranges", FDT_RANGES_MAX);
	if (m.n == 0)
		return fail("fdt: no memory node");

	for (unsigned int i = 0; i < b->e820_n; i++) {
		e820_all[i].addr = b->e820[i].addr;
		e820_all[i].size = b->e820[i].size;
	}
	for (unsigned int i = 0; i < m.n; i++) {
		fdt_total += m.r[i].size;
		if (!covered(e820_all, b->e820_n, m.r[i].addr, m.r[i].size))
			return fail("fdt memory 0x%lx size 0x%lx is not in the e820 map",
			            m.r[i].addr, m.r[i].size);
	}
	for (unsigned int i = 0; i < b->e820_n; i++) {
		const struct e820_entry *e = &b->e820[i];

		if (e->type == E820_RAM && !covered(m.r, m.n, e->addr, e->size))
			return fail("e820 ram 0x%lx size 0x%lx is in no fdt memory node", e->addr,
			            e->size);
	}
	say("fdt memory total: 0x%lx", fdt_total);

	err = gfdt_bootargs(b->dtb, b->dtb_size, &args, &args_len);
	if (err < 0)
		return fail("fdt /chosen: %s", gfdt_strerror(err));
	if (err == 1) {
		if (args_len != b->cmdline_len || memcmp(args, b->cmdline, args_len) != 0)
			return fail("fdt /chosen/bootargs differs from the boot command line");
		say("fdt bootargs match the command line");
	}
	return 0;
}

static int memmap_run(const struct guest_boot *b)
{
	uint64_t total, want;
	int err;

	print_e820(b);
	if (b->e820_cut)
		return fail("e820: the loader claims more than %u entries", E820_MAX);
	/* Linux sorts the map and drops empty entries; overlaps it cannot fix. */
	err = check_e820_sane(b->e820, b->e820_n, "e820 (sorted)");
	if (err)
		return err;
	total = e820_ram_total(b);
	say("e820 ram total: 0x%lx (%lu KiB)", total, total >> 10);

	if (b->dtb) {
		err = check_fdt(b);
		if (err)
			return err;
	} else {
		say("fdt: none");
	}

	err = cmdline_u64(b, "expect_ram", &want);
	if (err == 0 && want != total)
		return fail("e820 ram total 0x%lx, expect_ram=0x%lx", total, want);
	if (err && err != -GERR_NOENT)
		return fail("expect_ram=: want a number of bytes");
	return 0;
}

const struct guest_scenario scenario_memmap = {
	.name = "memmap",
	.run = memmap_run,
};

static int check_linux_header(const struct guest_boot *b)
{
	const uint8_t *bp = b->bp;
	uint16_t version = rd16(bp, BP_VERSION);
	uint32_t max;

	if (rd16(bp, BP_BOOT_FLAG) != BOOT_FLAG)
		return fail("boot_params.hdr.boot_flag 0x%x, want 0xaa55", rd16(bp, BP_BOOT_FLAG));
	if (rd32(bp, BP_HEADER) != HDRS_MAGIC)
		return fail("boot_params.hdr.header 0x%08x, want \"HdrS\"", rd32(bp, BP_HEADER));
	say("boot protocol %u.%02u, loadflags 0x%02x, xloadflags 0x%x", version >> 8,
	    version & 0xff, bp[BP_LOADFLAGS], rd16(bp, BP_XLOADFLAGS));
	if (bp[BP_TYPE_OF_LOADER] == 0)
		return fail(
		        "boot_params.hdr.type_of_loader is 0: the loader did not say who it is");
	say("type_of_loader 0x%02x", bp[BP_TYPE_OF_LOADER]);

	max = rd32(bp, BP_CMDLINE_SIZE);
	if (max && b->cmdline_len > max)
		return fail("command line of %zu bytes, cmdline_size is %u", b->cmdline_len, max);
	if (!e820_in_ram(b, b->info_addr, BP_SIZE))
		return fail("boot_params at 0x%lx is not in e820 ram", b->info_addr);
	return 0;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int check_initrd(const struct guest_boot *b)
{
	uint64_t image = (uint64_t)(uintptr_t)__image_start;
	uint64_t image_len = (uint64_t)(_end - __image_start);
	uint64_t want;
	const uint8_t *p;
	int err;

	err = cmdline_u64(b, "initrd_size", &want);
	if (err && err != -GERR_NOENT)
		return fail("initrd_size=: want a number of bytes");
	if (b->initrd_size == 0) {
		if (err == 0)
			return fail("no initrd, initrd_size=%lu was expected", want);
		say("initrd: none");
		return 0;
	}
	say("initrd: 0x%lx size 0x%lx", b->initrd_addr, b->initrd_size);
	if (err == 0 && want != b->initrd_size)
		return fail("initrd size %lu, initrd_size=%lu", b->initrd_size, want);
	if (b->initrd_addr % 4096)
		return fail("initrd at 0x%lx is not page aligned", b->initrd_addr);
	if (!e820_in_ram(b, b->initrd_addr, b->initrd_size))
		return fail("initrd 0x%lx size 0x%lx is not inside one e820 ram entry",
		            b->initrd_addr, b->initrd_size);
	if (overlaps(b->initrd_addr, b->initrd_size, image, image_len))
		return fail("initrd overlaps the kernel image 0x%lx size 0x%lx", image, image_len);
	if (b->bp) {
		uint32_t max = rd32(b->bp, BP_INITRD_ADDR_MAX);

		if (overlaps(b->initrd_addr, b->initrd_size, b->info_addr, BP_SIZE))
			return fail("initrd overlaps boot_params");
		if (!b->initrd_ext && max && b->initrd_addr + b->initrd_size - 1 > max)
			return fail("initrd ends above initrd_addr_max 0x%x", max);
	}
	p = guest_ptr(b->initrd_addr, 16);
	if (!p)
		return fail("initrd at 0x%lx cannot be mapped", b->initrd_addr);
	say("initrd head: %02x %02x %02x %02x %02x %02x %02x %02x", p[0], p[1], p[2], p[3], p[4],
	    p[5], p[6], p[7]);
	return 0;
}

static int bootcheck_run(const struct guest_boot *b)
{
	uint64_t image = (uint64_t)(uintptr_t)__image_start;
	uint64_t image_len = (uint64_t)(_end - __image_start);
	int err;

	if (b->bp) {
		err = check_linux_header(b);
		if (err)
			return err;
	} else {
		say("hvm_start_info version %u", b->hvm_version);
	}

	if (b->cmdline_cut)
		return fail("command line longer than %u bytes", GUEST_CMDLINE_MAX);
	if (b->cmdline_len == 0)
		return fail("empty command line");
	say("cmdline at 0x%lx, %zu bytes: %s", b->cmdline_addr, b->cmdline_len, b->cmdline);

	print_e820(b);
	if (b->e820_cut)
		return fail("e820: the loader claims more than %u entries", E820_MAX);
	err = check_e820_sane(b->e820_raw, b->e820_raw_n, "e820");
	if (err)
		return err;
	if (!e820_in_ram(b, image, image_len))
		return fail("kernel image 0x%lx size 0x%lx is not in e820 ram", image, image_len);

	err = check_initrd(b);
	if (err)
		return err;

	say("setup_data: %u nodes", b->setup_data_n);
	if (b->dtb) {
		err = gfdt_check_header(b->dtb, b->dtb_size);
		if (err)
			return fail("setup_data dtb at 0x%lx: %s", b->dtb_addr, gfdt_strerror(err));
		say("dtb: %u bytes at 0x%lx", b->dtb_size, b->dtb_addr);
	}
	if (b->rsdp_addr)
		say("acpi rsdp at 0x%lx", b->rsdp_addr);
	return 0;
}

const struct guest_scenario scenario_bootcheck = {
	.name = "bootcheck",
	.run = bootcheck_run,
};
