/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fixed layout of the test guest's image, shared by its assembly entry
 * (head.S), its C code and the host tool that wraps it into a bzImage
 * (mkbzimage.c).  Plain #defines only: this header is read by the assembler
 * and by host C as well as by the freestanding guest.
 */
#ifndef SPLITVM_GUEST_LAYOUT_H
#define SPLITVM_GUEST_LAYOUT_H

/* Where the image is linked and must be loaded (not relocatable). */
#define GUEST_LOAD_ADDR 0x100000

/*
 * Offsets inside the protected-mode image, as Linux lays out its own:
 * the 32-bit boot protocol entry at 0, the 64-bit one at 0x200
 * (XLF_KERNEL_64 promises a loader exactly that).  kernel_info (boot
 * protocol 2.15) sits between them, where mkbzimage expects it.
 */
#define GUEST_HEAD_STARTUP_32  0x000
#define GUEST_HEAD_KERNEL_INFO 0x100
#define GUEST_HEAD_STARTUP_64  0x200

/* Longest command line the guest accepts, without its NUL (Linux's x86 value). */
#define GUEST_CMDLINE_MAX 2047

/* Which entry the guest came in through; passed to guest_main(). */
#define GUEST_ENTRY_LINUX64 1 /* 64-bit boot protocol, RSI = boot_params */
#define GUEST_ENTRY_LINUX32 2 /* 32-bit boot protocol, ESI = boot_params */
#define GUEST_ENTRY_PVH     3 /* PVH (Xen ELF note 18), EBX = hvm_start_info */

/* GDT selectors the guest loads for itself. */
#define GUEST_CS64 0x08
#define GUEST_DS   0x10

/* Bytes of the boot stack. */
#define GUEST_STACK_SIZE 0x8000

#endif
