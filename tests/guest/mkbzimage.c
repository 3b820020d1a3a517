/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mkbzimage: wrap the test guest into a Linux bzImage (boot protocol 2.15,
 * Documentation/arch/x86/boot.rst).
 *
 *   mkbzimage GUEST.elf GUEST.bin OUT.bzImage
 *
 * GUEST.bin is `objcopy -O binary` of GUEST.elf: the protected-mode part,
 * loaded at 0x100000, with the 64-bit entry at offset 0x200.  The ELF gives
 * what the flat binary cannot: the entry to check and the memory the image
 * needs beyond its file (.bss, page tables, stack) for init_size.
 *
 * The setup part is one boot sector and one setup sector holding the setup
 * header.  The image does not support the 16-bit real-mode entry a BIOS
 * loader (QEMU's -kernel on pc/q35) uses: that entry prints a FAIL line on
 * COM1 and exits with status 1 through the debug-exit port.  Loaders of the
 * 32- and 64-bit boot protocols (splitvm-core) get a working guest.
 */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layout.h"

#define SECTOR       512
#define SETUP_SECTS  1
#define SETUP_SIZE   ((SETUP_SECTS + 1) * SECTOR)
#define BOOT_VERSION 0x020f

/* Setup header fields: offsets in the file (and in boot_params). */
#define H_SETUP_SECTS        0x1f1
#define H_SYSSIZE            0x1f4
#define H_VID_MODE           0x1fa
#define H_BOOT_FLAG          0x1fe
#define H_JUMP               0x200
#define H_HEADER             0x202
#define H_VERSION            0x206
#define H_START_SYS_SEG      0x20c
#define H_KERNEL_VERSION     0x20e
#define H_LOADFLAGS          0x211
#define H_CODE32_START       0x214
#define H_INITRD_ADDR_MAX    0x22c
#define H_KERNEL_ALIGNMENT   0x230
#define H_RELOCATABLE_KERNEL 0x234
#define H_MIN_ALIGNMENT      0x235
#define H_XLOADFLAGS         0x236
#define H_CMDLINE_SIZE       0x238
#define H_PREF_ADDRESS       0x258
#define H_INIT_SIZE          0x260
#define H_KERNEL_INFO_OFFSET 0x268
#define H_END                0x26c

#define LOADED_HIGH                0x01
#define XLF_KERNEL_64              0x0001
#define XLF_CAN_BE_LOADED_ABOVE_4G 0x0002
#define VID_MODE_NORMAL            0xffff

/* Where the real-mode stub, its message and the version string sit. */
#define STUB_OFF    0x270
#define MSG_OFF     0x2a0
#define VERSION_OFF 0x380

#define MAX_IMAGE (64u << 20)

static const char version_string[] = "splitvm-guest (test guest of splitvm)";
static const char realmode_msg[] =
        "splitvm-guest: FAIL: 16-bit real-mode entry not supported; use the 32- or 64-bit "
        "boot protocol\n";

/*
 * The real-mode entry (CS:0 is file offset 0x200, so IP = offset - 0x200):
 *   push cs; pop ds; mov si, MSG; mov dx, 0x3f8; cld
 *   1: lodsb; test al, al; jz 2f; out dx, al; jmp 1b
 *   2: mov dx, 0x501; mov al, 1; out dx, al
 *   3: cli; hlt; jmp 3b
 */
/* clang-format off */
static const uint8_t realmode_stub[] = {
	0x0e,                         /* push cs */
	0x1f,                         /* pop ds */
	0xbe, (MSG_OFF - 0x200) & 0xff,
	      (MSG_OFF - 0x200) >> 8, /* mov si, MSG */
	0xba, 0xf8, 0x03,             /* mov dx, 0x3f8 */
	0xfc,                         /* cld */
	0xac,                         /* 1: lodsb */
	0x84, 0xc0,                   /* test al, al */
	0x74, 0x03,                   /* jz 2f */
	0xee,                         /* out dx, al */
	0xeb, 0xf8,                   /* jmp 1b */
	0xba, 0x01, 0x05,             /* 2: mov dx, 0x501 */
	0xb0, 0x01,                   /* mov al, 1 */
	0xee,                         /* out dx, al */
	0xfa,                         /* 3: cli */
	0xf4,                         /* hlt */
	0xeb, 0xfd,                   /* jmp 3b (to hlt) */
};
/* clang-format on */

_Static_assert(STUB_OFF >= H_END, "the stub would overwrite the setup header");
_Static_assert(STUB_OFF + sizeof(realmode_stub) <= MSG_OFF, "stub runs into its message");
_Static_assert(MSG_OFF + sizeof(realmode_msg) <= VERSION_OFF, "message runs into the version");
_Static_assert(VERSION_OFF + sizeof(version_string) <= SETUP_SIZE, "version past the setup");
_Static_assert(VERSION_OFF - 0x200 < SECTOR * SETUP_SECTS, "kernel_version out of reach");

static void put16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	put16(p, off, (uint16_t)v);
	put16(p, off + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	put32(p, off, (uint32_t)v);
	put32(p, off + 4, (uint32_t)(v >> 32));
}

/* Reads a whole file of at most MAX_IMAGE bytes; 0 or -errno. */
static int read_file(const char *path, uint8_t **data, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	uint8_t *buf = NULL;
	long size;
	int err = 0;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		err = -errno;
		goto out_close;
	}
	if ((unsigned long)size > MAX_IMAGE) {
		err = -EFBIG;
		goto out_close;
	}
	buf = malloc(size ? (size_t)size : 1);
	if (!buf) {
		err = -ENOMEM;
		goto out_close;
	}
	if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
		err = ferror(f) ? -EIO : -ENODATA;
		free(buf);
		goto out_close;
	}
	*data = buf;
	*len = (size_t)size;
out_close:
	fclose(f);
	return err;
}

struct elf_facts {
	uint64_t entry;
	uint64_t file_end; /* highest p_paddr + p_filesz of a PT_LOAD */
	uint64_t mem_end;  /* highest p_paddr + p_memsz of a PT_LOAD */
	uint64_t low;      /* lowest p_paddr of a PT_LOAD */
};

static int read_elf(const char *path, const uint8_t *d, size_t len, struct elf_facts *f)
{
	Elf64_Ehdr eh;

	if (len < sizeof(eh))
		goto bad;
	memcpy(&eh, d, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_machine != EM_X86_64 || eh.e_type != ET_EXEC) {
		fprintf(stderr, "mkbzimage: %s: not an x86_64 ELF64 executable\n", path);
		return -EINVAL;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > len ||
	    (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
		goto bad;
	f->entry = eh.e_entry;
	f->file_end = 0;
	f->mem_end = 0;
	f->low = UINT64_MAX;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, d + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_paddr < f->low)
			f->low = ph.p_paddr;
		if (ph.p_paddr + ph.p_filesz > f->file_end)
			f->file_end = ph.p_paddr + ph.p_filesz;
		if (ph.p_paddr + ph.p_memsz > f->mem_end)
			f->mem_end = ph.p_paddr + ph.p_memsz;
	}
	if (f->low == UINT64_MAX)
		goto bad;
	return 0;
bad:
	fprintf(stderr, "mkbzimage: %s: truncated or malformed ELF headers\n", path);
	return -EINVAL;
}

static int write_file(const char *path, const uint8_t *setup, const uint8_t *bin, size_t bin_len,
                      size_t padded)
{
	static const uint8_t zeros[16];
	FILE *f = fopen(path, "wbe");
	int err = 0;

	if (!f)
		return -errno;
	if (fwrite(setup, 1, SETUP_SIZE, f) != SETUP_SIZE ||
	    fwrite(bin, 1, bin_len, f) != bin_len ||
	    fwrite(zeros, 1, padded - bin_len, f) != padded - bin_len)
		err = -EIO;
	if (fclose(f) != 0 && !err)
		err = -errno;
	if (err)
		unlink(path);
	return err;
}

int main(int argc, char **argv)
{
	uint8_t setup[SETUP_SIZE];
	uint8_t *elf = NULL, *bin = NULL;
	size_t elf_len, bin_len, padded;
	struct elf_facts ef;
	uint64_t init_size;
	int err, ret = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: mkbzimage GUEST.elf GUEST.bin OUT.bzImage\n");
		return 2;
	}
	err = read_file(argv[1], &elf, &elf_len);
	if (err) {
		fprintf(stderr, "mkbzimage: %s: %s\n", argv[1], strerror(-err));
		goto out;
	}
	err = read_file(argv[2], &bin, &bin_len);
	if (err) {
		fprintf(stderr, "mkbzimage: %s: %s\n", argv[2], strerror(-err));
		goto out;
	}
	if (read_elf(argv[1], elf, elf_len, &ef) != 0)
		goto out;

	/* The layout rules a loader relies on, checked once here. */
	if (ef.low != GUEST_LOAD_ADDR) {
		fprintf(stderr, "mkbzimage: first PT_LOAD at 0x%llx, must be 0x%x\n",
		        (unsigned long long)ef.low, GUEST_LOAD_ADDR);
		goto out;
	}
	if (ef.entry != GUEST_LOAD_ADDR + GUEST_HEAD_STARTUP_64) {
		fprintf(stderr, "mkbzimage: e_entry 0x%llx, must be load address + 0x%x\n",
		        (unsigned long long)ef.entry, GUEST_HEAD_STARTUP_64);
		goto out;
	}
	if (bin_len != ef.file_end - ef.low) {
		fprintf(stderr, "mkbzimage: %s has %zu bytes, the ELF's PT_LOADs span %llu\n",
		        argv[2], bin_len, (unsigned long long)(ef.file_end - ef.low));
		goto out;
	}
	if (bin_len < GUEST_HEAD_KERNEL_INFO + 16 ||
	    memcmp(bin + GUEST_HEAD_KERNEL_INFO, "LToP", 4) != 0) {
		fprintf(stderr, "mkbzimage: no kernel_info (\"LToP\") at offset 0x%x\n",
		        GUEST_HEAD_KERNEL_INFO);
		goto out;
	}
	init_size = (ef.mem_end - ef.low + 4095) & ~4095ull;
	padded = (bin_len + 15) & ~(size_t)15;

	memset(setup, 0, sizeof(setup));
	setup[H_SETUP_SECTS] = SETUP_SECTS;
	put32(setup, H_SYSSIZE, (uint32_t)(padded / 16));
	put16(setup, H_VID_MODE, VID_MODE_NORMAL);
	put16(setup, H_BOOT_FLAG, 0xaa55);
	/* jump: 0xeb and an offset from 0x202, to the real-mode stub */
	setup[H_JUMP] = 0xeb;
	setup[H_JUMP + 1] = STUB_OFF - (H_JUMP + 2);
	memcpy(setup + H_HEADER, "HdrS", 4);
	put16(setup, H_VERSION, BOOT_VERSION);
	put16(setup, H_START_SYS_SEG, 0x1000);
	put16(setup, H_KERNEL_VERSION, VERSION_OFF - 0x200);
	setup[H_LOADFLAGS] = LOADED_HIGH;
	put32(setup, H_CODE32_START, GUEST_LOAD_ADDR + GUEST_HEAD_STARTUP_32);
	put32(setup, H_INITRD_ADDR_MAX, 0x7fffffff);
	put32(setup, H_KERNEL_ALIGNMENT, GUEST_LOAD_ADDR);
	setup[H_RELOCATABLE_KERNEL] = 0;
	setup[H_MIN_ALIGNMENT] = 12;
	put16(setup, H_XLOADFLAGS, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	put32(setup, H_CMDLINE_SIZE, GUEST_CMDLINE_MAX);
	put64(setup, H_PREF_ADDRESS, GUEST_LOAD_ADDR);
	put32(setup, H_INIT_SIZE, (uint32_t)init_size);
	put32(setup, H_KERNEL_INFO_OFFSET, GUEST_HEAD_KERNEL_INFO);
	memcpy(setup + STUB_OFF, realmode_stub, sizeof(realmode_stub));
	memcpy(setup + MSG_OFF, realmode_msg, sizeof(realmode_msg));
	memcpy(setup + VERSION_OFF, version_string, sizeof(version_string));

	err = write_file(argv[3], setup, bin, bin_len, padded);
	if (err) {
		fprintf(stderr, "mkbzimage: %s: %s\n", argv[3], strerror(-err));
		goto out;
	}
	ret = 0;
out:
	free(bin);
	free(elf);
	return ret;
}
