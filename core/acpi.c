/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ACPI tables of a hardware-reduced x86 machine, written in C: RSDP (v2),
 * XSDT, FADT (HW_REDUCED_ACPI, reset and sleep registers), MADT (a LAPIC per
 * vCPU, the IOAPIC, ISA IRQ0 -> GSI2, LINT1 NMI), DSDT (from the AML
 * builder: COM1, virtio-mmio, the GED with its power button, the DIMM
 * slots) and, with -numa, SRAT.  They live at 0xe0000 (RSDP first, so the
 * legacy scan finds it too) and boot_params.acpi_rsdp_addr points there.
 */
#include "core.h"
#include "nfit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd.h"
#include "log.h"

#define ACPI_OEM_ID       "SPLTVM"
#define ACPI_OEM_TABLE_ID "SPLITVM "
#define ACPI_CREATOR_ID   "SPVM"

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum;
	uint8_t reserved[3];
} __attribute__((packed));

struct acpi_gas {
	uint8_t space_id; /* 0 memory, 1 I/O */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size; /* 1 byte */
	uint64_t address;
} __attribute__((packed));

struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT of ACPI 6.x is 276 bytes");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP v2 is 36 bytes");

#define FADT_F_RESET_REG_SUP      (1u << 10)
#define FADT_F_HW_REDUCED_ACPI    (1u << 20)
#define FADT_BOOT_VGA_NOT_PRESENT (1u << 2)
#define FADT_BOOT_NO_CMOS_RTC     (1u << 5)

uint8_t acpi_checksum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum = (uint8_t)(sum + b[i]);
	return (uint8_t)(0 - sum);
}

static void header_init(struct acpi_header *h, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = 1;
}

/* Finish a table in @a: patch the length and checksum of its header. */
static void table_finish(struct aml *a)
{
	struct acpi_header *h;

	if (a->err || a->len < sizeof(*h))
		return;
	h = (struct acpi_header *)(void *)a->buf;
	h->length = (uint32_t)a->len;
	h->checksum = 0;
	h->checksum = acpi_checksum(a->buf, a->len);
}

static void table_begin(struct aml *a, const char *sig, uint8_t rev)
{
	struct acpi_header h;

	memset(&h, 0, sizeof(h));
	header_init(&h, sig, 0, rev);
	aml_bytes(a, &h, sizeof(h));
}

/* ---- DSDT ---------------------------------------------------------------- */

/*
 * A virtio-mmio transport as ACPI device "LNRO0005": the window and an
 * edge-triggered, active-high interrupt, as QEMU's microvm declares them.
 */
void acpi_dsdt_virtio_mmio(struct aml *a, unsigned index, uint64_t base, uint32_t size,
                           uint32_t gsi)
{
	char name[5];
	size_t dev, rt;

	snprintf(name, sizeof(name), "VR%02X", index & 0xff);
	dev = aml_device_begin(a, name);
	aml_name_decl(a, "_HID");
	aml_string(a, "LNRO0005");
	aml_name_decl(a, "_UID");
	aml_integer(a, index);
	aml_name_decl(a, "_CCA");
	aml_integer(a, 1);
	aml_name_decl(a, "_CRS");
	rt = aml_rt_begin(a);
	aml_rt_mem32_fixed(a, (uint32_t)base, size, true);
	aml_rt_interrupt(a, gsi, false, false, false);
	aml_rt_end(a, rt);
	aml_block_end(a, dev);
}

static void build_dsdt(struct machine *m, struct aml *a)
{
	size_t sb, dev, meth, rt, pkg;

	table_begin(a, "DSDT", 2);
	sb = aml_scope_begin(a, "\\_SB");

	/* COM1: an ACPI 16550 (PNP0501), what Linux's 8250_pnp binds. */
	dev = aml_device_begin(a, "COM1");
	aml_name_decl(a, "_HID");
	aml_eisaid(a, "PNP0501");
	aml_name_decl(a, "_UID");
	aml_integer(a, 0);
	meth = aml_method_begin(a, "_STA", 0, false);
	aml_return(a);
	aml_integer(a, 0x0f); /* present, enabled, shown, functioning */
	aml_block_end(a, meth);
	aml_name_decl(a, "_CRS");
	rt = aml_rt_begin(a);
	aml_rt_io(a, SERIAL_COM1_BASE, 8);
	aml_rt_irq_noflags(a, SERIAL_COM1_IRQ);
	aml_rt_end(a, rt);
	aml_block_end(a, dev);

	/* virtio-mmio windows in device order: Linux's virtio_mmio binds LNRO0005. */
	for (unsigned i = 0; i < m->cfg->n_virtio; i++)
		acpi_dsdt_virtio_mmio(a, i, MEMMAP_VIRTIO_MMIO_BASE + i * MEMMAP_VIRTIO_MMIO_SLOT,
		                      (uint32_t)MEMMAP_VIRTIO_MMIO_SLOT, VMMIO_GSI_BASE + i);

	/*
	 * The GED on every machine, for the power button (system_powerdown);
	 * with DIMM slots also QEMU's memory-hotplug devices it signals.
	 */
	if (m->cfg->slots)
		acpi_dsdt_memory_hotplug(a, m->cfg->slots, MEMMAP_MHP_BASE);
	acpi_dsdt_ged(a, MHP_GED_GSI, MEMMAP_GED_BASE,
	              ACPI_GED_PWR_DOWN_EVT | (m->cfg->slots ? ACPI_GED_MEM_HOTPLUG_EVT : 0));

	/* NVDIMMs: QEMU's root device and an NVxx per slot (core/nfit.c). */
	if (m->cfg->n_nvdimm)
		nfit_dsdt(a, m->cfg->slots, NFIT_DSM_PAGE_GPA);

	aml_block_end(a, sb);

	/* \_S5: the SLP_TYP the FADT sleep control register expects. */
	aml_name_decl(a, "\\_S5");
	pkg = aml_package_begin(a, 4);
	aml_integer(a, ACPI_SLP_TYP_S5);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_block_end(a, pkg);
	table_finish(a);
}

/* ---- FADT, MADT, SRAT ------------------------------------------------------ */

static struct acpi_gas gas_io8(uint16_t port)
{
	return (struct acpi_gas){
		.space_id = 1, .bit_width = 8, .access_size = 1, .address = port
	};
}

static void build_fadt(struct aml *a, uint64_t dsdt_gpa)
{
	struct acpi_fadt f;

	memset(&f, 0, sizeof(f));
	header_init(&f.h, "FACP", sizeof(f), 6);
	f.minor_version = 3;
	f.dsdt = (uint32_t)dsdt_gpa;
	f.x_dsdt = dsdt_gpa;
	f.flags = FADT_F_HW_REDUCED_ACPI | FADT_F_RESET_REG_SUP;
	f.iapc_boot_arch = FADT_BOOT_VGA_NOT_PRESENT | FADT_BOOT_NO_CMOS_RTC;
	/* Reset through the i8042's pulse-reset command, as QEMU's q35. */
	f.reset_reg = gas_io8(I8042_CMD_PORT);
	f.reset_value = 0xfe;
	f.sleep_control_reg = gas_io8(ACPI_SLEEP_CONTROL_PORT);
	f.sleep_status_reg = gas_io8(ACPI_SLEEP_STATUS_PORT);
	memcpy(&f.hypervisor_vendor_id, "SPLITVM", 8);
	f.h.checksum = acpi_checksum(&f, sizeof(f));
	aml_bytes(a, &f, sizeof(f));
}

static void build_madt(struct machine *m, struct aml *a)
{
	uint32_t lapic = MEMMAP_LAPIC_BASE, flags = 1; /* PCAT_COMPAT: 8259s present */

	table_begin(a, "APIC", 5);
	aml_bytes(a, &lapic, 4);
	aml_bytes(a, &flags, 4);
	for (unsigned i = 0; i < m->cfg->vcpus; i++) {
		/* type 0, length 8, ACPI processor uid, APIC id, flags: enabled */
		uint8_t e[8] = { 0, 8, (uint8_t)i, (uint8_t)i, 1, 0, 0, 0 };

		aml_bytes(a, e, sizeof(e));
	}
	{
		/* type 1: IOAPIC id 0 at 0xfec00000, GSI base 0 */
		uint8_t e[12] = { 1, 12, 0, 0 };
		uint32_t addr = MEMMAP_IOAPIC_BASE;

		memcpy(&e[4], &addr, 4);
		aml_bytes(a, e, sizeof(e));
	}
	{
		/* type 2: ISA IRQ0 (PIT) -> GSI 2, bus defaults (edge, high) */
		uint8_t e[10] = { 2, 10, 0, 0, 2, 0, 0, 0, 0, 0 };

		aml_bytes(a, e, sizeof(e));
	}
	{
		/* type 4: LINT1 of every processor (uid 0xff) is NMI */
		uint8_t e[6] = { 4, 6, 0xff, 0, 0, 1 };

		aml_bytes(a, e, sizeof(e));
	}
	table_finish(a);
}

static void srat_mem(struct aml *a, uint32_t node, uint64_t base, uint64_t len, bool hotplug)
{
	uint8_t e[40];
	uint32_t flags = 1u | (hotplug ? 2u : 0u); /* enabled, hot-pluggable */

	memset(e, 0, sizeof(e));
	e[0] = 1;
	e[1] = 40;
	memcpy(&e[2], &node, 4);
	memcpy(&e[8], &base, 8);
	memcpy(&e[16], &len, 8);
	memcpy(&e[28], &flags, 4);
	aml_bytes(a, e, sizeof(e));
}

/*
 * The device-memory area as QEMU's build_srat_hotpluggable_memory() writes
 * it: each DIMM present at boot with its own node, the gaps between them
 * with the last node (a hot-plugged DIMM's _PXM overrides it), every entry
 * enabled and hot-pluggable.
 */
static void srat_devmem(struct machine *m, struct aml *a, uint32_t last_node)
{
	uint64_t cur = m->mm.devmem_base, end = m->mm.devmem_base + m->mm.devmem_size;
	const struct acpi_hotplug *h = m->mhp;

	for (;;) {
		const struct mhp_slot *next = NULL;

		/* The lowest DIMM at or above cur: the slots are few. */
		for (unsigned i = 0; h && i < h->n_slots; i++) {
			const struct mhp_slot *s = &h->slot[i];

			if (s->used && s->enabled && s->addr >= cur &&
			    (!next || s->addr < next->addr))
				next = s;
		}
		if (!next)
			break;
		if (next->addr > cur)
			srat_mem(a, last_node, cur, next->addr - cur, true);
		srat_mem(a, next->node, next->addr, next->size, true);
		cur = next->addr + next->size;
	}
	if (end > cur)
		srat_mem(a, last_node, cur, end - cur, true);
}

static void build_srat(struct machine *m, struct aml *a)
{
	const struct core_config *cfg = m->cfg;
	uint32_t one = 1;
	uint64_t zero = 0, off = 0;
	uint64_t ranges[2][2];

	table_begin(a, "SRAT", 3);
	aml_bytes(a, &one, 4); /* reserved, 1 for compatibility */
	aml_bytes(a, &zero, 8);
	for (unsigned i = 0; i < cfg->vcpus; i++) {
		uint32_t node = cfg->numa[0].node_id, flags = 1;
		uint8_t e[16];

		for (unsigned j = 0; j < cfg->n_numa; j++) {
			const struct core_numa_cfg *n = &cfg->numa[j];

			if (n->cpu_count && i >= n->cpu_first && i < n->cpu_first + n->cpu_count)
				node = n->node_id;
		}
		memset(e, 0, sizeof(e));
		e[0] = 0;
		e[1] = 16;
		e[2] = (uint8_t)node;
		e[3] = (uint8_t)i; /* APIC id */
		memcpy(&e[4], &flags, 4);
		e[9] = (uint8_t)(node >> 8);
		e[10] = (uint8_t)(node >> 16);
		e[11] = (uint8_t)(node >> 24);
		aml_bytes(a, e, sizeof(e));
	}
	for (unsigned i = 0; i < cfg->n_numa; i++) {
		unsigned n = memmap_ram_slice(&m->mm, off, cfg->numa[i].mem, ranges);

		for (unsigned j = 0; j < n; j++)
			srat_mem(a, cfg->numa[i].node_id, ranges[j][0], ranges[j][1], false);
		off += cfg->numa[i].mem;
	}
	if (m->mm.devmem_size)
		srat_devmem(m, a, cfg->numa[cfg->n_numa - 1].node_id);
	table_finish(a);
}

/* ---- the table set ------------------------------------------------------- */

static int blob_add(struct acpi_blob *b, const char *name, struct aml *a)
{
	if (a->err)
		return a->err;
	if (b->n >= sizeof(b->tables) / sizeof(b->tables[0]))
		return -ENOSPC;
	b->tables[b->n] = a->buf;
	b->sizes[b->n] = a->len;
	snprintf(b->names[b->n], sizeof(b->names[0]), "%s", name);
	b->n++;
	a->buf = NULL; /* ownership moves to the blob */
	a->len = a->cap = 0;
	return 0;
}

static uint64_t align8(uint64_t v)
{
	return (v + 7) & ~7ull;
}

int acpi_build(struct machine *m, struct acpi_blob *out)
{
	struct aml dsdt, fadt, madt, srat, nfit, xsdt, rsdp;
	uint64_t gpa, dsdt_gpa, fadt_gpa, madt_gpa, srat_gpa = 0, nfit_gpa = 0, xsdt_gpa;
	/* With NVDIMMs the area's last page is their _DSM page. */
	uint64_t acpi_max = m->cfg->n_nvdimm ? NFIT_DSM_PAGE_GPA - BOOT_ACPI_GPA : BOOT_ACPI_MAX;
	struct acpi_rsdp r;
	int err = 0;

	memset(out, 0, sizeof(*out));
	aml_init(&dsdt);
	aml_init(&fadt);
	aml_init(&madt);
	aml_init(&srat);
	aml_init(&nfit);
	aml_init(&xsdt);
	aml_init(&rsdp);

	/* Addresses first: RSDP, DSDT, FADT, MADT, [SRAT], XSDT. */
	build_dsdt(m, &dsdt);
	gpa = BOOT_ACPI_GPA + align8(sizeof(r));
	dsdt_gpa = gpa;
	gpa = align8(gpa + dsdt.len);
	fadt_gpa = gpa;
	build_fadt(&fadt, dsdt_gpa);
	gpa = align8(gpa + fadt.len);
	madt_gpa = gpa;
	build_madt(m, &madt);
	gpa = align8(gpa + madt.len);
	if (m->cfg->n_numa) {
		srat_gpa = gpa;
		build_srat(m, &srat);
		gpa = align8(gpa + srat.len);
	}
	if (m->cfg->n_nvdimm) {
		err = nfit_build(m, &nfit);
		if (err)
			goto out;
		nfit_gpa = gpa;
		gpa = align8(gpa + nfit.len);
	}
	xsdt_gpa = gpa;
	table_begin(&xsdt, "XSDT", 1);
	aml_bytes(&xsdt, &fadt_gpa, 8);
	aml_bytes(&xsdt, &madt_gpa, 8);
	if (srat_gpa)
		aml_bytes(&xsdt, &srat_gpa, 8);
	if (nfit_gpa)
		aml_bytes(&xsdt, &nfit_gpa, 8);
	table_finish(&xsdt);
	gpa = gpa + xsdt.len;
	if (gpa - BOOT_ACPI_GPA > acpi_max) {
		log_warnx("ACPI: tables of %llu bytes exceed the 0x%llx bytes at 0x%llx",
		          (unsigned long long)(gpa - BOOT_ACPI_GPA), (unsigned long long)acpi_max,
		          BOOT_ACPI_GPA);
		err = -E2BIG;
		goto out;
	}

	memset(&r, 0, sizeof(r));
	memcpy(r.signature, "RSD PTR ", 8);
	memcpy(r.oem_id, ACPI_OEM_ID, 6);
	r.revision = 2;
	r.length = sizeof(r);
	r.xsdt_address = xsdt_gpa;
	r.checksum = acpi_checksum(&r, 20);
	r.extended_checksum = acpi_checksum(&r, sizeof(r));
	aml_bytes(&rsdp, &r, sizeof(r));

	/*
	 * Into guest RAM when it is mapped: m->ram standalone, the supervisor's
	 * RegionMaps when supervised (m->ram is NULL there); --dump-acpi alone
	 * has no RAM at all.
	 */
	if (memmap_gpa_to_host(&m->mm, BOOT_ACPI_GPA, BOOT_ACPI_MAX)) {
		struct {
			struct aml *a;
			uint64_t gpa;
		} place[] = { { &rsdp, BOOT_ACPI_GPA }, { &dsdt, dsdt_gpa }, { &fadt, fadt_gpa },
			      { &madt, madt_gpa },      { &srat, srat_gpa }, { &nfit, nfit_gpa },
			      { &xsdt, xsdt_gpa } };

		for (size_t i = 0; i < sizeof(place) / sizeof(place[0]); i++) {
			void *dst;

			if (!place[i].a->len)
				continue;
			dst = memmap_gpa_to_host(&m->mm, place[i].gpa, place[i].a->len);
			if (!dst) {
				log_warnx("ACPI: 0x%llx is not guest RAM",
				          (unsigned long long)place[i].gpa);
				err = -ENOMEM;
				goto out;
			}
			memcpy(dst, place[i].a->buf, place[i].a->len);
		}
	}
	err = blob_add(out, "RSDP", &rsdp);
	if (!err)
		err = blob_add(out, "XSDT", &xsdt);
	if (!err)
		err = blob_add(out, "FACP", &fadt);
	if (!err)
		err = blob_add(out, "APIC", &madt);
	if (!err)
		err = blob_add(out, "DSDT", &dsdt);
	if (!err && srat.len)
		err = blob_add(out, "SRAT", &srat);
	if (!err && nfit.len)
		err = blob_add(out, "NFIT", &nfit);
	if (err)
		log_warnx("ACPI: building the tables failed: %s", strerror(-err));
out:
	aml_free(&dsdt);
	aml_free(&fadt);
	aml_free(&madt);
	aml_free(&srat);
	aml_free(&nfit);
	aml_free(&xsdt);
	aml_free(&rsdp);
	if (err)
		acpi_blob_free(out);
	return err;
}

int acpi_dump(const struct acpi_blob *b, const char *dir)
{
	for (unsigned i = 0; i < b->n; i++) {
		char path[4096], lower[5];
		int fd, r = 0;

		for (int j = 0; j < 5; j++)
			lower[j] = (char)((b->names[i][j] >= 'A' && b->names[i][j] <= 'Z')
			                          ? b->names[i][j] + 32
			                          : b->names[i][j]);
		snprintf(path, sizeof(path), "%s/%s.dat", dir, lower);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			r = -errno;
			log_warn("--dump-acpi: %s", path);
			return r;
		}
		if (write(fd, b->tables[i], b->sizes[i]) != (ssize_t)b->sizes[i]) {
			r = errno ? -errno : -EIO;
			log_warn("--dump-acpi: write %s", path);
		}
		close_fd(&fd);
		if (r)
			return r;
	}
	return 0;
}

void acpi_blob_free(struct acpi_blob *b)
{
	if (!b)
		return;
	for (unsigned i = 0; i < b->n; i++)
		free(b->tables[i]);
	memset(b, 0, sizeof(*b));
}
