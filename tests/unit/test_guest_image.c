/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The test guest's two images, as a loader sees them:
 *   argv[1] splitvm-guest.elf, argv[2] splitvm-guest.bzImage,
 *   argv[3] splitvm-guest.bin (objcopy -O binary of the ELF).
 * The ELF's entries and PVH note, the bzImage's setup header (boot
 * protocol 2.15) and payload, and the instructions: nothing that a
 * software-assisted KVM (kvm_pvm) fails to emulate.
 */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "layout.h"

struct blob {
	uint8_t *data;
	size_t len;
};

static const char *elf_path, *bz_path, *bin_path;
static struct blob elf, bz, bin;

static int load(const char *path, struct blob *b)
{
	FILE *f = fopen(path, "rbe");
	long n;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0)
		goto fail;
	b->data = malloc((size_t)n);
	if (!b->data || fread(b->data, 1, (size_t)n, f) != (size_t)n)
		goto fail;
	b->len = (size_t)n;
	fclose(f);
	return 0;
fail:
	free(b->data);
	b->data = NULL;
	fclose(f);
	return -1;
}

static int setup(void **state)
{
	(void)state;
	if (load(elf_path, &elf) || load(bz_path, &bz) || load(bin_path, &bin))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(elf.data);
	free(bz.data);
	free(bin.data);
	memset(&elf, 0, sizeof(elf));
	memset(&bz, 0, sizeof(bz));
	memset(&bin, 0, sizeof(bin));
	return 0;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return le16(p) | (uint32_t)le16(p + 2) << 16;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static Elf64_Ehdr ehdr(void)
{
	Elf64_Ehdr eh;

	assert_true(elf.len >= sizeof(eh));
	memcpy(&eh, elf.data, sizeof(eh));
	return eh;
}

static Elf64_Phdr phdr(unsigned int i)
{
	Elf64_Ehdr eh = ehdr();
	Elf64_Phdr ph;

	assert_true(i < eh.e_phnum);
	assert_true(eh.e_phoff + (i + 1) * sizeof(ph) <= elf.len);
	memcpy(&ph, elf.data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
	return ph;
}

/* The ELF bytes at guest-physical @paddr, from the PT_LOAD that holds them. */
static const uint8_t *elf_at(uint64_t paddr, size_t len)
{
	Elf64_Ehdr eh = ehdr();

	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph = phdr(i);

		if (ph.p_type == PT_LOAD && paddr >= ph.p_paddr &&
		    paddr + len <= ph.p_paddr + ph.p_filesz) {
			assert_true(ph.p_offset + ph.p_filesz <= elf.len);
			return elf.data + ph.p_offset + (paddr - ph.p_paddr);
		}
	}
	fail_msg("no PT_LOAD holds 0x%llx", (unsigned long long)paddr);
	return NULL;
}

static uint64_t elf_mem_end(void)
{
	Elf64_Ehdr eh = ehdr();
	uint64_t end = 0;

	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph = phdr(i);

		if (ph.p_type == PT_LOAD && ph.p_paddr + ph.p_memsz > end)
			end = ph.p_paddr + ph.p_memsz;
	}
	return end;
}

static void test_elf_entry_is_64bit_protocol_entry(void **state)
{
	Elf64_Ehdr eh = ehdr();
	const uint8_t *code;

	(void)state;
	assert_memory_equal(eh.e_ident, ELFMAG, SELFMAG);
	assert_int_equal(eh.e_ident[EI_CLASS], ELFCLASS64);
	assert_int_equal(eh.e_machine, EM_X86_64);
	assert_int_equal(eh.e_type, ET_EXEC);
	assert_int_equal(eh.e_entry, GUEST_LOAD_ADDR + GUEST_HEAD_STARTUP_64);
	/* startup_64 begins with cli: interrupts stay off whatever the loader did. */
	code = elf_at(eh.e_entry, 1);
	assert_int_equal(code[0], 0xfa);
}

static void test_elf_loads_at_1mib_below_2gib(void **state)
{
	Elf64_Ehdr eh = ehdr();
	uint64_t low = UINT64_MAX;
	unsigned int loads = 0;

	(void)state;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph = phdr(i);

		if (ph.p_type != PT_LOAD)
			continue;
		loads++;
		if (ph.p_paddr < low)
			low = ph.p_paddr;
		assert_int_equal(ph.p_paddr, ph.p_vaddr);
		assert_true(ph.p_paddr + ph.p_memsz < (2ull << 30));
		assert_true(ph.p_filesz <= ph.p_memsz);
	}
	assert_true(loads >= 1);
	assert_int_equal(low, GUEST_LOAD_ADDR);
}

static void test_elf_pvh_note_points_at_32bit_entry(void **state)
{
	Elf64_Ehdr eh = ehdr();
	bool found = false;

	(void)state;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph = phdr(i);
		size_t off = 0;

		if (ph.p_type != PT_NOTE)
			continue;
		assert_true(ph.p_offset + ph.p_filesz <= elf.len);
		while (off + 12 <= ph.p_filesz) {
			const uint8_t *n = elf.data + ph.p_offset + off;
			uint32_t namesz = le32(n), descsz = le32(n + 4), type = le32(n + 8);
			size_t desc = 12 + ((namesz + 3) & ~3u);

			assert_true(desc + descsz <= ph.p_filesz - off);
			if (namesz == 4 && memcmp(n + 12, "Xen", 4) == 0 && type == 18) {
				uint64_t entry;
				const uint8_t *code;

				assert_true(descsz == 4 || descsz == 8);
				entry = descsz == 8 ? le64(n + desc) : le32(n + desc);
				assert_true(entry < (4ull << 30));
				/* pvh_start32: cli; mov %ebx, %esi */
				code = elf_at(entry, 3);
				assert_int_equal(code[0], 0xfa);
				assert_int_equal(code[1], 0x89);
				assert_int_equal(code[2], 0xde);
				found = true;
			}
			off = desc + ((descsz + 3) & ~3u) + off;
		}
	}
	assert_true(found);
}

static void test_bzimage_setup_header(void **state)
{
	const uint8_t *h = bz.data;
	unsigned int setup_sects;
	size_t setup_len, pm_len;

	(void)state;
	assert_true(bz.len > 1024);
	setup_sects = h[0x1f1];
	assert_true(setup_sects >= 1);
	setup_len = (setup_sects + 1) * 512u;
	assert_true(bz.len > setup_len);
	pm_len = bz.len - setup_len;

	assert_int_equal(le16(h + 0x1fe), 0xaa55);
	assert_memory_equal(h + 0x202, "HdrS", 4);
	assert_int_equal(le16(h + 0x206), 0x020f);
	/* jump: 0xeb and an offset from 0x202 that skips the whole header */
	assert_int_equal(h[0x200], 0xeb);
	assert_true(0x202 + h[0x201] >= 0x26c);
	assert_int_equal((uint64_t)le32(h + 0x1f4) * 16, pm_len);
	assert_int_equal(h[0x211] & 0x01, 0x01);              /* LOADED_HIGH */
	assert_int_equal(le16(h + 0x236) & 0x3, 0x3);         /* KERNEL_64, ABOVE_4G */
	assert_int_equal(le32(h + 0x214), GUEST_LOAD_ADDR);   /* code32_start */
	assert_int_equal(h[0x234], 0);                        /* relocatable_kernel */
	assert_int_not_equal(le32(h + 0x230), 0);             /* kernel_alignment */
	assert_int_equal(le32(h + 0x238), GUEST_CMDLINE_MAX); /* cmdline_size */
	assert_int_equal(le64(h + 0x258), GUEST_LOAD_ADDR);   /* pref_address */
	assert_true(le32(h + 0x260) >= elf_mem_end() - GUEST_LOAD_ADDR);
	assert_int_equal(le32(h + 0x260) % 4096, 0);
	/* the fields a loader writes start out zero */
	assert_int_equal(h[0x210], 0);
	assert_int_equal(le32(h + 0x218), 0);
	assert_int_equal(le32(h + 0x21c), 0);
	assert_int_equal(le32(h + 0x228), 0);
	assert_int_equal(le64(h + 0x250), 0);
	/* kernel_version: a string inside the setup sectors */
	assert_true(le16(h + 0x20e) + 0x200u < setup_len);
	assert_non_null(
	        memchr(h + le16(h + 0x20e) + 0x200, '\0', setup_len - le16(h + 0x20e) - 0x200));
}

static void test_bzimage_kernel_info(void **state)
{
	size_t setup_len = (bz.data[0x1f1] + 1) * 512u;
	const uint8_t *pm = bz.data + setup_len;
	uint32_t off = le32(bz.data + 0x268);

	(void)state;
	assert_int_equal(off, GUEST_HEAD_KERNEL_INFO);
	assert_true(off + 16 <= bz.len - setup_len);
	assert_memory_equal(pm + off, "LToP", 4);
	assert_true(le32(pm + off + 4) >= 16);                 /* size */
	assert_true(le32(pm + off + 8) >= le32(pm + off + 4)); /* size_total */
	assert_true(le32(pm + off + 12) >= 2);                 /* setup_type_max >= SETUP_DTB */
}

static void test_bzimage_payload_is_the_elf(void **state)
{
	size_t setup_len = (bz.data[0x1f1] + 1) * 512u;
	const uint8_t *pm = bz.data + setup_len;
	Elf64_Ehdr eh = ehdr();

	(void)state;
	assert_true(bz.len - setup_len >= bin.len);
	assert_true(bz.len - setup_len - bin.len < 16);
	assert_memory_equal(pm, bin.data, bin.len);
	/* Every loadable byte of the ELF sits at its offset from 1 MiB. */
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph = phdr(i);

		if (ph.p_type != PT_LOAD || ph.p_filesz == 0)
			continue;
		assert_true(ph.p_paddr - GUEST_LOAD_ADDR + ph.p_filesz <= bin.len);
		assert_memory_equal(pm + (ph.p_paddr - GUEST_LOAD_ADDR),
		                    elf_at(ph.p_paddr, ph.p_filesz), ph.p_filesz);
	}
	/* The 64-bit entry of XLF_KERNEL_64 at 0x200, the 32-bit one at 0. */
	assert_int_equal(pm[GUEST_HEAD_STARTUP_64], 0xfa);
	assert_int_equal(pm[GUEST_HEAD_STARTUP_32], 0xfa);
}

/*
 * Instructions kvm_pvm cannot emulate, as objdump spells them: a guest
 * that uses one dies with an emulation failure there.
 */
static const char *const forbidden[] = {
	"int3", "cmpxchg16b", "xsave", "xrstor", "fxsave", "fxrstor", "%xmm", "%ymm", "%zmm",
};

static void test_no_instruction_kvm_pvm_cannot_emulate(void **state)
{
	char cmd[4096], line[512];
	unsigned int lines = 0, bad = 0;
	FILE *p;

	(void)state;
	snprintf(cmd, sizeof(cmd), "objdump -d --no-show-raw-insn '%s'", elf_path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		lines++;
		for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
			if (strstr(line, forbidden[i])) {
				printf("forbidden instruction: %s", line);
				bad++;
			}
		}
	}
	assert_int_equal(pclose(p), 0);
	/* An objdump that printed nothing proves nothing. */
	assert_true(lines > 100);
	assert_int_equal(bad, 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_elf_entry_is_64bit_protocol_entry, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_elf_loads_at_1mib_below_2gib, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_pvh_note_points_at_32bit_entry, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_setup_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_kernel_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_payload_is_the_elf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_instruction_kvm_pvm_cannot_emulate, setup,
		                                teardown),
	};

	if (argc != 4) {
		fprintf(stderr, "usage: %s GUEST.elf GUEST.bzImage GUEST.bin\n", argv[0]);
		return 2;
	}
	elf_path = argv[1];
	bz_path = argv[2];
	bin_path = argv[3];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
