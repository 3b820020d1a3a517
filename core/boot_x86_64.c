/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * x86_64 boot: ELF64 and bzImage loaders, the Linux "zero page", e820, the
 * command line, initrd placement, the FDT as setup_data, identity page
 * tables and the boot vCPU's long-mode register state.
 *
 * Both loaders enter in 64-bit mode with RSI = boot_params, as Linux's
 * 64-bit boot protocol (Documentation/arch/x86/boot.rst) asks; the test
 * guest's ELF gets the same zero page so it sees e820, command line, initrd
 * and FDT whichever way it was loaded.
 *
 * Low memory while booting:
 *   0x500   GDT (null, null, CS 0x10 64-bit code, DS 0x18 data)
 *   0x6ff0  initial stack, growing down
 *   0x7000  boot_params
 *   0x9000  PML4, 0xa000 PDPT, 0xb000-0xefff PDs (4 GiB in 2 MiB pages)
 *   0x20000 command line
 *   0x30000 setup_data chain (the FDT)
 *   0xe0000 ACPI: RSDP, then the tables (e820 reserved)
 *   1 MiB   the kernel
 */
#include "core.h"

#include <asm/bootparam.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd.h"
#include "log.h"

#define E820_RAM      1
#define E820_RESERVED 2

#define EBDA_START    0x9fc00ull
#define BIOS_AREA_END 0x100000ull

#define HDR_MAGIC             0x53726448u /* "HdrS" */
#define BOOT_FLAG             0xaa55u
#define MIN_BOOT_VERSION      0x020c /* xloadflags, the 64-bit entry */
#define LOADER_TYPE_UNDEFINED 0xff

static int read_at(int fd, void *buf, size_t len, uint64_t off, const char *what)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warnx("%s: short read at offset 0x%" PRIx64 "%s%s", what, off,
			          n < 0 ? ": " : "", n < 0 ? strerror(errno) : " (file truncated)");
			return n < 0 ? -errno : -EIO;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Host pointer for a guest RAM range, logging @what when it is not RAM. */
static void *guest_ptr(struct machine *m, uint64_t gpa, uint64_t len, const char *what)
{
	void *p = memmap_gpa_to_host(&m->mm, gpa, len);

	if (!p)
		log_warnx("%s: guest range 0x%" PRIx64 "+0x%" PRIx64 " is not in guest RAM "
		          "(-m 0x%" PRIx64 ")",
		          what, gpa, len, m->mm.ram_size);
	return p;
}

/* ---- ELF64 ------------------------------------------------------------- */

static int load_elf(struct machine *m, int fd, uint64_t file_size, const Elf64_Ehdr *eh,
                    uint64_t *kernel_end)
{
	const char *path = m->cfg->kernel;
	Elf64_Phdr ph;
	uint64_t end = 0, tab_end;
	bool any = false;
	int r;

	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64 || eh->e_type != ET_EXEC) {
		log_warnx("-kernel %s: not an x86_64 ELF64 executable (class %u, data %u, "
		          "machine %u, type %u)",
		          path, eh->e_ident[EI_CLASS], eh->e_ident[EI_DATA], eh->e_machine,
		          eh->e_type);
		return -ENOEXEC;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    __builtin_mul_overflow((uint64_t)eh->e_phnum, sizeof(Elf64_Phdr), &tab_end) ||
	    __builtin_add_overflow(tab_end, eh->e_phoff, &tab_end) || tab_end > file_size) {
		log_warnx("-kernel %s: program header table out of the file", path);
		return -ENOEXEC;
	}
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		uint64_t fend, mend;
		uint8_t *dst;

		r = read_at(fd, &ph, sizeof(ph), eh->e_phoff + (uint64_t)i * sizeof(ph), path);
		if (r)
			return r;
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz ||
		    __builtin_add_overflow(ph.p_offset, ph.p_filesz, &fend) || fend > file_size ||
		    __builtin_add_overflow(ph.p_paddr, ph.p_memsz, &mend)) {
			log_warnx("-kernel %s: PT_LOAD %u is out of the file or overflows", path,
			          i);
			return -ENOEXEC;
		}
		/* Below 1 MiB live the zero page, page tables and ACPI. */
		if (ph.p_paddr < BOOT_KERNEL_GPA) {
			log_warnx("-kernel %s: PT_LOAD %u at p_paddr 0x%" PRIx64 " is below "
			          "1 MiB, where the boot structures live",
			          path, i, ph.p_paddr);
			return -ENOEXEC;
		}
		dst = guest_ptr(m, ph.p_paddr, ph.p_memsz, path);
		if (!dst)
			return -ENOMEM;
		r = read_at(fd, dst, ph.p_filesz, ph.p_offset, path);
		if (r)
			return r;
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if (mend > end)
			end = mend;
		any = true;
	}
	if (!any) {
		log_warnx("-kernel %s: no PT_LOAD segment", path);
		return -ENOEXEC;
	}
	m->entry = eh->e_entry;
	*kernel_end = end;
	return 0;
}

/* ---- bzImage ------------------------------------------------------------ */

static int load_bzimage(struct machine *m, int fd, uint64_t file_size, const uint8_t *head,
                        struct boot_params *bp, uint64_t *kernel_end)
{
	const char *path = m->cfg->kernel;
	struct setup_header *hdr = &bp->hdr;
	uint64_t setup_size, kernel_size, need;
	size_t hdr_end;
	uint8_t *dst;
	int r;

	/* The header ends at 0x202 + the byte at 0x201 (the jump's offset). */
	hdr_end = 0x202 + head[0x201];
	if (hdr_end > 0x1f1 + sizeof(*hdr))
		hdr_end = 0x1f1 + sizeof(*hdr);
	memcpy((uint8_t *)bp + 0x1f1, head + 0x1f1, hdr_end - 0x1f1);
	if (hdr->version < MIN_BOOT_VERSION || !(hdr->xloadflags & XLF_KERNEL_64)) {
		log_warnx("-kernel %s: boot protocol %u.%02u without a 64-bit entry "
		          "(need 2.12 and XLF_KERNEL_64)",
		          path, hdr->version >> 8, hdr->version & 0xff);
		return -ENOEXEC;
	}
	if (!(hdr->loadflags & LOADED_HIGH)) {
		log_warnx("-kernel %s: a zImage (not loaded high) is not supported", path);
		return -ENOEXEC;
	}
	setup_size = ((uint64_t)(hdr->setup_sects ? hdr->setup_sects : 4) + 1) * 512;
	if (setup_size >= file_size) {
		log_warnx("-kernel %s: setup_sects %u leaves no protected-mode kernel", path,
		          hdr->setup_sects);
		return -ENOEXEC;
	}
	kernel_size = file_size - setup_size;
	/* The kernel decompresses in place: it needs init_size from its start. */
	need = hdr->init_size > kernel_size ? hdr->init_size : kernel_size;
	if (!guest_ptr(m, BOOT_KERNEL_GPA, need, "-kernel (init_size)"))
		return -ENOMEM;
	dst = guest_ptr(m, BOOT_KERNEL_GPA, kernel_size, path);
	r = read_at(fd, dst, kernel_size, setup_size, path);
	if (r)
		return r;
	hdr->type_of_loader = LOADER_TYPE_UNDEFINED;
	hdr->loadflags |= CAN_USE_HEAP;
	hdr->heap_end_ptr = 0xfe00;
	hdr->code32_start = BOOT_KERNEL_GPA;
	m->entry = BOOT_KERNEL_GPA + 0x200;
	*kernel_end = BOOT_KERNEL_GPA + need;
	return 0;
}

/* The setup header a bzImage would carry, for the ELF path. */
static void synth_setup_header(struct setup_header *hdr)
{
	hdr->boot_flag = BOOT_FLAG;
	hdr->header = HDR_MAGIC;
	hdr->version = 0x020f;
	hdr->type_of_loader = LOADER_TYPE_UNDEFINED;
	hdr->loadflags = LOADED_HIGH;
	hdr->code32_start = BOOT_KERNEL_GPA;
	hdr->initrd_addr_max = 0x7fffffff;
	hdr->kernel_alignment = 0x200000;
	hdr->xloadflags = XLF_KERNEL_64;
	hdr->cmdline_size = BOOT_CMDLINE_MAX - 1;
}

/* ---- initrd, command line, e820 ------------------------------------------ */

static int load_initrd(struct machine *m, struct boot_params *bp, uint64_t kernel_end,
                       uint64_t *gpa, uint64_t *size)
{
	const char *path = m->cfg->initrd;
	uint64_t max, addr;
	struct stat st;
	int fd, r;
	void *dst;

	*gpa = 0;
	*size = 0;
	if (!path)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		log_warn("-initrd %s", path);
		close_fd(&fd);
		return r;
	}
	if (st.st_size <= 0 || (uint64_t)st.st_size > UINT32_MAX) {
		log_warnx("-initrd %s: size %lld is not in 1..4 GiB", path, (long long)st.st_size);
		close_fd(&fd);
		return -EFBIG;
	}
	/*
	 * As high as the protocol allows: initrd_addr_max is the last byte the
	 * initrd may use, and it must lie in low RAM; page aligned, above the
	 * kernel's init_size.
	 */
	max = (uint64_t)bp->hdr.initrd_addr_max + 1;
	if (max > m->mm.low_ram_end)
		max = m->mm.low_ram_end;
	addr = (max - (uint64_t)st.st_size) & ~0xfffull;
	if ((uint64_t)st.st_size > max || addr < kernel_end) {
		log_warnx("-initrd %s: 0x%llx bytes do not fit between the kernel's end "
		          "0x%" PRIx64 " and 0x%" PRIx64 " (initrd_addr_max / RAM): raise -m",
		          path, (unsigned long long)st.st_size, kernel_end, max);
		close_fd(&fd);
		return -ENOMEM;
	}
	dst = guest_ptr(m, addr, (uint64_t)st.st_size, path);
	r = dst ? read_at(fd, dst, (size_t)st.st_size, 0, path) : -ENOMEM;
	close_fd(&fd);
	if (r)
		return r;
	bp->hdr.ramdisk_image = (uint32_t)addr;
	bp->hdr.ramdisk_size = (uint32_t)st.st_size;
	*gpa = addr;
	*size = (uint64_t)st.st_size;
	log_debug("initrd at 0x%" PRIx64 ", 0x%" PRIx64 " bytes", addr, *size);
	return 0;
}

static int write_cmdline(struct machine *m, struct boot_params *bp)
{
	const char *s = m->cfg->cmdline ? m->cfg->cmdline : "";
	size_t len = strlen(s);
	uint32_t max = bp->hdr.version >= 0x0206 ? bp->hdr.cmdline_size : 255;
	char *dst;

	if (max > BOOT_CMDLINE_MAX - 1)
		max = BOOT_CMDLINE_MAX - 1;
	if (len > max) {
		log_warnx("-append: %zu bytes, the kernel takes at most %u (cmdline_size)", len,
		          max);
		return -E2BIG;
	}
	dst = guest_ptr(m, BOOT_CMDLINE_GPA, len + 1, "-append");
	if (!dst)
		return -ENOMEM;
	memcpy(dst, s, len + 1);
	bp->hdr.cmd_line_ptr = BOOT_CMDLINE_GPA;
	bp->ext_cmd_line_ptr = 0;
	return 0;
}

static void e820_add(struct boot_params *bp, uint64_t addr, uint64_t size, uint32_t type)
{
	struct boot_e820_entry *e;

	if (size == 0 || bp->e820_entries >= E820_MAX_ENTRIES_ZEROPAGE)
		return;
	e = &bp->e820_table[bp->e820_entries++];
	e->addr = addr;
	e->size = size;
	e->type = type;
}

/*
 * A PC's map: conventional memory to the EBDA; the EBDA, the VGA/ROM hole
 * and the BIOS area (where the ACPI tables are) reserved as one entry, so
 * that the FDT's /memory nodes (all of RAM as configured) lie inside e820; RAM from 1 MiB, KVM's private pages
 * reserved, RAM above 4 GiB.  The device-memory area is not in e820: ACPI
 * (SRAT, memory devices) describes what gets plugged there, as in QEMU.
 */
static void build_e820(struct machine *m, struct boot_params *bp)
{
	uint64_t low = m->mm.low_ram_end;

	e820_add(bp, 0, low < EBDA_START ? low : EBDA_START, E820_RAM);
	e820_add(bp, EBDA_START, BIOS_AREA_END - EBDA_START, E820_RESERVED);
	if (low > BIOS_AREA_END)
		e820_add(bp, BIOS_AREA_END, low - BIOS_AREA_END, E820_RAM);
	e820_add(bp, MEMMAP_KVM_IDENTITY_BASE, MEMMAP_KVM_PRIVATE_SIZE, E820_RESERVED);
	if (m->mm.high_ram_end > MEMMAP_HIGH_RAM_BASE)
		e820_add(bp, MEMMAP_HIGH_RAM_BASE, m->mm.high_ram_end - MEMMAP_HIGH_RAM_BASE,
		         E820_RAM);
}

static int write_setup_data(struct machine *m, struct boot_params *bp)
{
	struct setup_data *sd;

	if (m->dtb_size > BOOT_SETUP_DATA_MAX - sizeof(*sd)) {
		log_warnx("FDT: %zu bytes exceed the 0x%llx bytes of setup_data room", m->dtb_size,
		          BOOT_SETUP_DATA_MAX - sizeof(*sd));
		return -E2BIG;
	}
	sd = guest_ptr(m, BOOT_SETUP_DATA_GPA, sizeof(*sd) + m->dtb_size, "setup_data");
	if (!sd)
		return -ENOMEM;
	sd->next = bp->hdr.setup_data; /* a kernel's own chain, normally 0 */
	sd->type = SETUP_DTB;
	sd->len = (uint32_t)m->dtb_size;
	memcpy(sd->data, m->dtb, m->dtb_size);
	bp->hdr.setup_data = BOOT_SETUP_DATA_GPA;
	return 0;
}

/* ---- page tables and GDT ------------------------------------------------- */

static bool cpu_has_1g_pages(const struct machine *m)
{
	const struct kvm_cpuid2 *c = m->cpuid;

	if (!c)
		return false;
	for (uint32_t i = 0; i < c->nent; i++) {
		if (c->entries[i].function == 0x80000001)
			return c->entries[i].edx & (1u << 26);
	}
	return false;
}

/*
 * Identity map: 4 GiB in 2 MiB pages (every guest has those), and when the
 * CPU has 1 GiB pages the rest of the first 512 GiB too, so the test guest
 * can reach the device-memory area without building its own tables.
 */
static int build_page_tables(struct machine *m)
{
	uint64_t *pml4 = guest_ptr(m, BOOT_PML4_GPA, 4096, "page tables");
	uint64_t *pdpt = guest_ptr(m, BOOT_PDPT_GPA, 4096, "page tables");
	uint64_t *pd = guest_ptr(m, BOOT_PD_GPA, 4 * 4096, "page tables");

	if (!pml4 || !pdpt || !pd)
		return -ENOMEM;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT_GPA | 0x03; /* present, writable */
	for (unsigned i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_GPA + i * 4096ull) | 0x03;
	for (unsigned i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83; /* present, writable, 2 MiB */
	if (cpu_has_1g_pages(m)) {
		for (unsigned i = 4; i < 512; i++)
			pdpt[i] = ((uint64_t)i << 30) | 0x83;
	}
	return 0;
}

static int build_gdt(struct machine *m)
{
	uint64_t *gdt = guest_ptr(m, BOOT_GDT_GPA, 4 * 8, "GDT");

	if (!gdt)
		return -ENOMEM;
	gdt[0] = 0;
	gdt[1] = 0;
	gdt[2] = 0x00af9b000000ffffull; /* 0x10: 64-bit code, DPL 0 */
	gdt[3] = 0x00cf93000000ffffull; /* 0x18: flat data */
	return 0;
}

/* ---- the loader ---------------------------------------------------------- */

int boot_load(struct machine *m)
{
	const char *path = m->cfg->kernel;
	uint8_t head[0x400];
	struct boot_params *bp;
	uint64_t kernel_end = 0, initrd_gpa, initrd_size;
	struct stat st;
	int fd, r;

	bp = guest_ptr(m, BOOT_PARAMS_GPA, sizeof(*bp), "boot_params");
	if (!bp)
		return -ENOMEM;
	memset(bp, 0, sizeof(*bp));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		log_warn("-kernel %s", path);
		close_fd(&fd);
		return r;
	}
	if ((uint64_t)st.st_size < sizeof(head)) {
		log_warnx("-kernel %s: %lld bytes is too small for an ELF64 or a bzImage", path,
		          (long long)st.st_size);
		close_fd(&fd);
		return -ENOEXEC;
	}
	r = read_at(fd, head, sizeof(head), 0, path);
	if (r)
		goto out;
	if (!memcmp(head, ELFMAG, SELFMAG)) {
		Elf64_Ehdr eh;

		memcpy(&eh, head, sizeof(eh));
		r = load_elf(m, fd, (uint64_t)st.st_size, &eh, &kernel_end);
		synth_setup_header(&bp->hdr);
		if (!r)
			log_debug("ELF64 kernel, entry 0x%" PRIx64, m->entry);
	} else if (head[0x1fe] == 0x55 && head[0x1ff] == 0xaa && !memcmp(head + 0x202, "HdrS", 4)) {
		r = load_bzimage(m, fd, (uint64_t)st.st_size, head, bp, &kernel_end);
		log_debug("bzImage kernel, boot protocol %u.%02u", bp->hdr.version >> 8,
		          bp->hdr.version & 0xff);
	} else {
		log_warnx("-kernel %s: neither an ELF64 nor a bzImage (no ELF magic, no HdrS)",
		          path);
		r = -ENOEXEC;
	}
	if (r)
		goto out;
	r = write_cmdline(m, bp);
	if (r)
		goto out;
	r = load_initrd(m, bp, kernel_end, &initrd_gpa, &initrd_size);
	if (r)
		goto out;
	build_e820(m, bp);
	r = fdt_build(m, initrd_gpa, initrd_size);
	if (r)
		goto out;
	r = write_setup_data(m, bp);
	if (r)
		goto out;
	bp->acpi_rsdp_addr = BOOT_ACPI_GPA;
	r = build_gdt(m);
	if (!r)
		r = build_page_tables(m);
	m->boot_params_gpa = BOOT_PARAMS_GPA;
out:
	close_fd(&fd);
	return r;
}

/* ---- vCPU state ---------------------------------------------------------- */

static void set_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code64;
	s->db = !code64;
}

/* LINT0 as ExtINT (the PIC's virtual wire), LINT1 as NMI, as a BIOS does. */
int boot_setup_lapic(struct vcpu *v)
{
	struct kvm_lapic_state la;
	uint32_t *lint0, *lint1;

	if (ioctl(v->fd, KVM_GET_LAPIC, &la) < 0)
		return -errno;
	lint0 = (uint32_t *)(void *)&la.regs[0x350];
	lint1 = (uint32_t *)(void *)&la.regs[0x360];
	*lint0 = (*lint0 & ~0x1ffffu) | (7u << 8);
	*lint1 = (*lint1 & ~0x1ffffu) | (4u << 8);
	if (ioctl(v->fd, KVM_SET_LAPIC, &la) < 0)
		return -errno;
	return 0;
}

int boot_setup_vcpu(struct machine *m, struct vcpu *v)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;
	int r;

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
		r = -errno;
		log_warn("vCPU %u: KVM_GET_SREGS", v->index);
		return r;
	}
	set_seg(&sregs.cs, 0x10, 11, true); /* execute/read, accessed */
	set_seg(&sregs.ds, 0x18, 3, false); /* read/write, accessed */
	sregs.es = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.ss = sregs.ds;
	sregs.gdt.base = BOOT_GDT_GPA;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = 0x80000033; /* PG | NE | ET | MP | PE */
	sregs.cr3 = BOOT_PML4_GPA;
	sregs.cr4 = 0x20;   /* PAE */
	sregs.efer = 0x500; /* LMA | LME */
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0) {
		r = -errno;
		log_warn("vCPU %u: KVM_SET_SREGS (long mode)", v->index);
		return r;
	}
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = m->entry;
	regs.rsi = m->boot_params_gpa;
	regs.rsp = BOOT_STACK_TOP;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0) {
		r = -errno;
		log_warn("vCPU %u: KVM_SET_REGS", v->index);
		return r;
	}
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		log_debug("vCPU %u: KVM_SET_FPU: %s", v->index, strerror(errno));
	return 0;
}
