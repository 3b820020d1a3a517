/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the loader handed over, read into one struct guest_boot whichever
 * entry was taken: Linux's boot_params (zero page) or PVH's hvm_start_info.
 * Every count and length from the loader is bounded before use; the guest
 * is testing the loader, so a bad value is a finding, not a crash.
 */
#include "guest.h"

/* hvm_start_info (Xen's arch-x86/hvm/start_info.h) */
#define HVM_MAGIC          0x00
#define HVM_VERSION        0x04
#define HVM_NR_MODULES     0x0c
#define HVM_MODLIST_PADDR  0x10
#define HVM_CMDLINE_PADDR  0x18
#define HVM_RSDP_PADDR     0x20
#define HVM_MEMMAP_PADDR   0x28 /* version 1+ */
#define HVM_MEMMAP_ENTRIES 0x30 /* version 1+ */
#define HVM_SIZE_V0        0x28
#define HVM_SIZE_V1        0x38
#define HVM_MODLIST_ENTRY  32 /* paddr, size, cmdline_paddr, reserved */
#define HVM_MEMMAP_ENTRY   24 /* addr, size, type, reserved */

/* The longest setup_data chain the guest follows (a loop ends there). */
#define SETUP_DATA_MAX 64
#define SETUP_DATA_HDR 16

static uint32_t rd32(const uint8_t *p, size_t off)
{
	uint32_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint64_t rd64(const uint8_t *p, size_t off)
{
	uint64_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static int copy_cmdline(struct guest_boot *b, uint64_t addr)
{
	const char *s;
	size_t n;

	b->cmdline_addr = addr;
	if (addr == 0)
		return 0;
	/* Linux-entry cmdlines may sit anywhere below 4 GiB: mapped by now. */
	s = guest_ptr(addr, 1);
	if (!s)
		return -GERR_FAULT;
	n = strnlen(s, GUEST_CMDLINE_MAX + 1);
	if (n > GUEST_CMDLINE_MAX) {
		b->cmdline_cut = true;
		n = GUEST_CMDLINE_MAX;
	}
	memcpy(b->cmdline, s, n);
	b->cmdline[n] = '\0';
	b->cmdline_len = n;
	return 0;
}

static int parse_boot_params(struct guest_boot *b)
{
	const uint8_t *bp = b->bp;
	uint32_t n = bp[BP_E820_ENTRIES];
	uint64_t cmd;

	if (n > E820_MAX) {
		b->e820_cut = true;
		n = E820_MAX;
	}
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = bp + BP_E820_TABLE + 20 * i;

		b->e820_raw[i].addr = rd64(e, 0);
		b->e820_raw[i].size = rd64(e, 8);
		b->e820_raw[i].type = rd32(e, 16);
	}
	b->e820_raw_n = n;

	b->initrd_addr = rd32(bp, BP_RAMDISK_IMAGE) | (uint64_t)rd32(bp, BP_EXT_RAMDISK_IMAGE)
	                                                      << 32;
	b->initrd_size = rd32(bp, BP_RAMDISK_SIZE) | (uint64_t)rd32(bp, BP_EXT_RAMDISK_SIZE) << 32;
	b->initrd_ext = rd32(bp, BP_EXT_RAMDISK_IMAGE) || rd32(bp, BP_EXT_RAMDISK_SIZE);
	b->rsdp_addr = rd64(bp, BP_ACPI_RSDP_ADDR);

	cmd = rd32(bp, BP_CMD_LINE_PTR) | (uint64_t)rd32(bp, BP_EXT_CMD_LINE_PTR) << 32;
	return copy_cmdline(b, cmd);
}

static int parse_hvm(struct guest_boot *b)
{
	const uint8_t *h = b->hvm;

	if (rd32(h, HVM_MAGIC) != PVH_MAGIC)
		return -GERR_INVAL;
	b->hvm_version = rd32(h, HVM_VERSION);
	b->rsdp_addr = rd64(h, HVM_RSDP_PADDR);

	if (b->hvm_version >= 1) {
		uint64_t map = rd64(h, HVM_MEMMAP_PADDR);
		uint32_t n = rd32(h, HVM_MEMMAP_ENTRIES);
		const uint8_t *m;

		if (n > E820_MAX) {
			b->e820_cut = true;
			n = E820_MAX;
		}
		m = n ? guest_ptr(map, (uint64_t)n * HVM_MEMMAP_ENTRY) : NULL;
		if (n && !m)
			return -GERR_FAULT;
		for (uint32_t i = 0; i < n; i++) {
			b->e820_raw[i].addr = rd64(m, i * HVM_MEMMAP_ENTRY);
			b->e820_raw[i].size = rd64(m, i * HVM_MEMMAP_ENTRY + 8);
			b->e820_raw[i].type = rd32(m, i * HVM_MEMMAP_ENTRY + 16);
		}
		b->e820_raw_n = n;
	}

	/* The first module is the initrd, as Linux's PVH entry reads it. */
	if (rd32(h, HVM_NR_MODULES) > 0) {
		const uint8_t *mod = guest_ptr(rd64(h, HVM_MODLIST_PADDR), HVM_MODLIST_ENTRY);

		if (!mod)
			return -GERR_FAULT;
		b->initrd_addr = rd64(mod, 0);
		b->initrd_size = rd64(mod, 8);
	}
	return copy_cmdline(b, rd64(h, HVM_CMDLINE_PADDR));
}

/* Sorted by address, empty entries dropped: the map Linux goes on with. */
static void e820_sort(struct guest_boot *b)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < b->e820_raw_n; i++) {
		struct e820_entry e = b->e820_raw[i];
		unsigned int j = n;

		if (e.size == 0)
			continue;
		for (; j > 0 && b->e820[j - 1].addr > e.addr; j--)
			b->e820[j] = b->e820[j - 1];
		b->e820[j] = e;
		n++;
	}
	b->e820_n = n;
}

int boot_parse_early(struct guest_boot *b, uint32_t entry, uint64_t info)
{
	int err;

	b->entry = entry;
	b->info_addr = info;
	switch (entry) {
	case GUEST_ENTRY_LINUX64:
	case GUEST_ENTRY_LINUX32:
		b->bp = guest_ptr(info, BP_SIZE);
		if (!b->bp)
			return -GERR_FAULT;
		err = parse_boot_params(b);
		break;
	case GUEST_ENTRY_PVH:
		b->hvm = guest_ptr(info, HVM_SIZE_V0);
		if (!b->hvm)
			return -GERR_FAULT;
		err = parse_hvm(b);
		break;
	default:
		return -GERR_INVAL;
	}
	e820_sort(b);
	return err;
}

int boot_parse_late(struct guest_boot *b)
{
	uint64_t next;

	if (!b->bp)
		return 0;
	next = rd64(b->bp, BP_SETUP_DATA);
	while (next) {
		const uint8_t *node = guest_ptr(next, SETUP_DATA_HDR);
		uint32_t type, len;

		if (!node)
			return -GERR_FAULT;
		if (b->setup_data_n == SETUP_DATA_MAX)
			return -GERR_RANGE;
		b->setup_data_n++;
		type = rd32(node, 8);
		len = rd32(node, 12);
		if (type == SETUP_DTB && !b->dtb) {
			b->dtb = guest_ptr(next + SETUP_DATA_HDR, len);
			if (!b->dtb)
				return -GERR_FAULT;
			b->dtb_size = len;
			b->dtb_addr = next + SETUP_DATA_HDR;
		}
		next = rd64(node, 0);
	}
	return 0;
}

const char *e820_type_name(uint32_t type)
{
	switch (type) {
	case E820_RAM:
		return "ram";
	case E820_RESERVED:
		return "reserved";
	case E820_ACPI:
		return "acpi";
	case E820_NVS:
		return "nvs";
	case E820_UNUSABLE:
		return "unusable";
	case E820_PMEM:
		return "pmem";
	default:
		return "other";
	}
}

uint64_t e820_ram_total(const struct guest_boot *b)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < b->e820_n; i++) {
		if (b->e820_raw[i].type == E820_RAM)
			total += b->e820_raw[i].size;
	}
	return total;
}

bool e820_in_ram(const struct guest_boot *b, uint64_t addr, uint64_t size)
{
	uint64_t end;

	if (__builtin_add_overflow(addr, size, &end))
		return false;
	for (unsigned int i = 0; i < b->e820_n; i++) {
		const struct e820_entry *e = &b->e820[i];

		if (e->type == E820_RAM && addr >= e->addr && end - e->addr <= e->size)
			return true;
	}
	return false;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

const char *cmdline_get(const struct guest_boot *b, const char *key, size_t *len)
{
	size_t klen = strlen(key);
	const char *found = NULL;
	const char *p = b->cmdline;

	while (*p) {
		const char *tok;
		size_t tlen = 0;

		while (is_space(*p))
			p++;
		tok = p;
		while (*p && !is_space(*p))
			p++;
		tlen = (size_t)(p - tok);
		if (tlen > klen && tok[klen] == '=' && memcmp(tok, key, klen) == 0) {
			found = tok + klen + 1;
			*len = tlen - klen - 1;
		}
	}
	return found;
}

int cmdline_u64(const struct guest_boot *b, const char *key, uint64_t *out)
{
	size_t len;
	const char *v = cmdline_get(b, key, &len);

	if (!v)
		return -GERR_NOENT;
	return parse_u64(v, len, out);
}
