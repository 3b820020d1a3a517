/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Entry points of the test guest.  Three ways in, one way on:
 *
 *   startup_32  (image offset 0)     Linux 32-bit boot protocol: flat
 *                                    protected mode, paging off, ESI =
 *                                    boot_params.
 *   pvh_start32 (Xen ELF note 18)    PVH: flat protected mode, paging off,
 *                                    EBX = struct hvm_start_info.
 *   startup_64  (image offset 0x200) Linux 64-bit boot protocol: long mode,
 *                                    the loader's identity map, RSI =
 *                                    boot_params.  Also the ELF's e_entry.
 *
 * The page tables are data of the image, built by the assembler: an
 * identity map of the low 4 GiB in 2 MiB pages, once write-back and once
 * uncached; mmu.c picks one of the two per GiB.  The 32-bit entries load
 * them to switch to long mode; the 64-bit entry keeps the loader's map
 * until mmu_init().  All of them load the guest's GDT, clear .bss (a
 * bzImage loader copies no .bss), take the boot stack and call
 * guest_main(entry kind, boot info address).
 *
 * Why tables in the image instead of a loop: on kvm_pvm this guest's every
 * instruction is emulated (about 1-3 us each), so the 2048-entry loop took
 * 15 ms and its C twin 140 ms.  For the same reason .bss is cleared 8 bytes
 * at a time.  Only instructions that emulator runs are used: no int3, no
 * SSE, no xsave family (tests/unit/test_guest_image.c checks).
 */
#include "layout.h"

#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)
#define CR0_PE   (1 << 0)
#define CR0_PG   (1 << 31)
#define CR4_PAE  (1 << 5)
#define PTE_P    0x001
#define PTE_RW   0x002
#define PTE_PWT  0x008
#define PTE_PCD  0x010
#define PTE_PS   0x080
#define PAGE     4096

	.section .head.text, "ax"
	.code32
	.globl startup_32
startup_32:
	cli
	movl	$GUEST_ENTRY_LINUX32, %edi
	jmp	entry32

	.globl pvh_start32
pvh_start32:
	cli
	movl	%ebx, %esi
	movl	$GUEST_ENTRY_PVH, %edi
	jmp	entry32

	/*
	 * kernel_info of boot protocol 2.15: no variable part.  The guest
	 * skips setup_data types it does not know and follows no
	 * setup_indirect, so every direct type is allowed.
	 */
	.org	GUEST_HEAD_KERNEL_INFO
	.globl kernel_info
kernel_info:
	.ascii	"LToP"
	.long	kernel_info_end - kernel_info	/* size */
	.long	kernel_info_end - kernel_info	/* size_total */
	.long	0x7fffffff			/* setup_type_max */
kernel_info_end:

	.org	GUEST_HEAD_STARTUP_64
	.code64
	.globl startup_64
startup_64:
	cli
	movl	$GUEST_ENTRY_LINUX64, %edi
	lgdt	gdt_desc(%rip)
	movl	$GUEST_DS, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	/* CS still holds the loader's selector: reload it with a far return. */
	leaq	1f(%rip), %rax
	pushq	$GUEST_CS64
	pushq	%rax
	lretq
1:	jmp	common64

	.text
	.code32
/* %edi = entry kind, %esi = boot info address: both survive to guest_main. */
entry32:
	movl	%edi, %ebp
	lgdt	gdt_desc
	movl	$GUEST_DS, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs

	movl	$boot_pml4, %eax
	movl	%eax, %cr3
	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$(CR0_PG | CR0_PE), %eax
	movl	%eax, %cr0
	ljmp	$GUEST_CS64, $from32

	.code64
from32:
	/* The upper halves are undefined after the mode switch. */
	movl	%ebp, %edi
	movl	%esi, %esi

common64:
	movq	%rdi, %r12
	movq	%rsi, %r13
	/* guest.ld aligns both ends of .bss to 16 bytes. */
	leaq	__bss_start(%rip), %rdi
	leaq	__bss_end(%rip), %rcx
	subq	%rdi, %rcx
	shrq	$3, %rcx
	xorl	%eax, %eax
	cld
	rep stosq
	leaq	boot_stack_top(%rip), %rsp
	xorl	%ebp, %ebp
	movq	%r12, %rdi
	movq	%r13, %rsi
	call	guest_main
4:	cli
	hlt
	jmp	4b

/*
 * Exception stubs: every vector ends in guest_trap(), which reports and
 * exits.  The CPU pushes an error code for some vectors; the others push a
 * zero so that the frame has one shape.
 */
	.macro TRAP vec, err
trap_\vec:
	.if \err == 0
	pushq	$0
	.endif
	pushq	$\vec
	jmp	trap_common
	.endm

	TRAP 0, 0
	TRAP 1, 0
	TRAP 2, 0
	TRAP 3, 0
	TRAP 4, 0
	TRAP 5, 0
	TRAP 6, 0
	TRAP 7, 0
	TRAP 8, 1
	TRAP 9, 0
	TRAP 10, 1
	TRAP 11, 1
	TRAP 12, 1
	TRAP 13, 1
	TRAP 14, 1
	TRAP 15, 0
	TRAP 16, 0
	TRAP 17, 1
	TRAP 18, 0
	TRAP 19, 0
	TRAP 20, 0
	TRAP 21, 1
	TRAP 22, 0
	TRAP 23, 0
	TRAP 24, 0
	TRAP 25, 0
	TRAP 26, 0
	TRAP 27, 0
	TRAP 28, 0
	TRAP 29, 1
	TRAP 30, 1
	TRAP 31, 0

trap_common:
	movq	%rsp, %rdi
	andq	$-16, %rsp
	call	guest_trap
5:	cli
	hlt
	jmp	5b

/*
 * Interrupts (idle.c): they arrive only inside the sti; hlt of
 * guest_idle() and guest_wait_irq(), so the stubs touch nothing but what
 * they save.  The timer's and the devices' count their interrupt and EOI,
 * by MMIO or, in x2APIC mode (idle_eoi_reg NULL), by MSR; a spurious
 * interrupt takes no EOI.
 */
	.globl irq_tick_stub, irq_dev_stub, irq_spurious_stub
irq_tick_stub:
	pushq	%rax
	incq	idle_tick_count(%rip)
	jmp	7f
irq_dev_stub:
	pushq	%rax
	incq	idle_dev_irq_count(%rip)
7:	movq	idle_eoi_reg(%rip), %rax
	testq	%rax, %rax
	jz	6f
	movl	$0, (%rax)
	popq	%rax
	iretq
6:	pushq	%rcx
	pushq	%rdx
	movl	$0x80b, %ecx		/* x2APIC EOI */
	xorl	%eax, %eax
	xorl	%edx, %edx
	wrmsr
	popq	%rdx
	popq	%rcx
	popq	%rax
	iretq

irq_spurious_stub:
	iretq

	.section .rodata
	.balign 8
	.globl trap_stubs
trap_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad	trap_\v
	.endr

	.data
	.balign 16
	/* Accessed bits preset: the CPU need not write to the GDT. */
gdt:
	.quad	0
	.quad	0x00af9b000000ffff	/* GUEST_CS64: 64-bit code, DPL 0 */
	.quad	0x00cf93000000ffff	/* GUEST_DS: flat data */
gdt_end:
gdt_desc:
	.word	gdt_end - gdt - 1
	.quad	gdt

	/* PVH: XEN_ELFNOTE_PHYS32_ENTRY, 8 bytes of address as Linux writes it. */
	.section .note.pvh, "a", @note
	.balign 4
	.long	4
	.long	8
	.long	18
	.asciz	"Xen"
	.balign 4
	.quad	pvh_start32
	.balign 4

	/*
	 * The identity map of the low 4 GiB.  PML4[0] -> PDPT; PDPT[0..3] ->
	 * the write-back directories until mmu_init() chooses per GiB.
	 */
	.data
	.balign PAGE
	.globl boot_pml4, boot_pdpt, boot_pd_wb, boot_pd_uc
boot_pml4:
	.quad	boot_pdpt + PTE_P + PTE_RW
	.fill	511, 8, 0
boot_pdpt:
	.quad	boot_pd_wb + 0 * PAGE + PTE_P + PTE_RW
	.quad	boot_pd_wb + 1 * PAGE + PTE_P + PTE_RW
	.quad	boot_pd_wb + 2 * PAGE + PTE_P + PTE_RW
	.quad	boot_pd_wb + 3 * PAGE + PTE_P + PTE_RW
	.fill	508, 8, 0
boot_pd_wb:
	.set	gpa, 0
	.rept	2048
	.quad	gpa + PTE_P + PTE_RW + PTE_PS
	.set	gpa, gpa + 0x200000
	.endr
boot_pd_uc:
	.set	gpa, 0
	.rept	2048
	.quad	gpa + PTE_P + PTE_RW + PTE_PWT + PTE_PCD + PTE_PS
	.set	gpa, gpa + 0x200000
	.endr

	/* Not part of the image file: tables for above 4 GiB, the stack. */
	.section .pgtables, "aw", @nobits
	.balign PAGE
	.globl pt_pool, pt_pool_end
pt_pool:
	.skip	32 * PAGE
pt_pool_end:
	.balign 16
boot_stack:
	.skip	GUEST_STACK_SIZE
boot_stack_top:

	/* No executable stack (ld warns without this note). */
	.section .note.GNU-stack, "", @progbits
