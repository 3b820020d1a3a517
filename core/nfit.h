/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NVDIMMs in the core (core/nfit.c): QEMU's NFIT, its ACPI0012 root device
 * with an NVxx device per DIMM slot in the DSDT, and the _DSM port whose
 * calls go to each nvdimm's device process (docs/protocol.md, "nvdimm").
 *
 * Error rule as core.h: 0 or a negative errno, logged.
 */
#ifndef SPLITVM_CORE_NFIT_H
#define SPLITVM_CORE_NFIT_H

#include "core.h"

struct Splitvm__VmConfig;

/* QEMU's NVDIMM_ACPI_IO_BASE/LEN: the AML writes the DSM page address here. */
#define NVDIMM_ACPI_IO_BASE 0x0a18
#define NVDIMM_ACPI_IO_LEN  4
/*
 * The DSM page ("MEMA" in the AML; QEMU's firmware allocates it, we have
 * none): the last page of the ACPI area, reserved in e820.
 */
#define NFIT_DSM_PAGE_GPA (BOOT_ACPI_GPA + BOOT_ACPI_MAX - 0x1000ull)
#define NFIT_DSM_PAGE_LEN 0x1000u
/* QEMU's handle of the root device's calls, and of its own Read FIT. */
#define NFIT_ROOT_HANDLE      0u
#define NFIT_QEMU_ROOT_HANDLE 0x10000u
/* How long a vCPU's _DSM call waits for the nvdimm's process. */
#define NFIT_DSM_TIMEOUT_MS 10000

/* QEMU's NFIT numbering, all from the slot (hw/acpi/nvdimm.c). */
static inline uint32_t nfit_handle(uint32_t slot)
{
	return slot + 1;
}

static inline uint16_t nfit_spa_index(uint32_t slot)
{
	return (uint16_t)((slot + 1) << 1);
}

static inline uint16_t nfit_dcr_index(uint32_t slot)
{
	return (uint16_t)(nfit_spa_index(slot) + 1);
}

/*
 * VmConfig.devices of model nvdimm into cfg->nvdimm[], with their slots:
 * slot= when given, else the lowest slot that no DIMM or NVDIMM of the
 * config names and no earlier NVDIMM took (the supervisor's place_devices()
 * applies the same rule).  -EINVAL with @err filled.
 */
int nfit_config_from_vm(struct core_config *cfg, const struct Splitvm__VmConfig *vm,
                        struct core_cfg_err *err) WUR;

/* One NVDIMM as the NFIT describes it. */
struct nfit_region {
	uint32_t slot;
	uint32_t node;
	uint64_t gpa;
	uint64_t size; /* the PMEM region: backend size - label size, aligned */
	bool unarmed;
};

/* NFIT header (36) + reserved (4), and QEMU's three structures per NVDIMM. */
#define NFIT_HEADER_LEN         40
#define NFIT_SPA_LEN            56
#define NFIT_MEMDEV_LEN         48
#define NFIT_DCR_LEN            80
#define NFIT_ACPI_MEM_NOT_ARMED (1u << 3)

/* The NFIT of @n regions into @a (empty), header and checksum included. */
void nfit_table(struct aml *a, const struct nfit_region *r, unsigned n);

/*
 * The machine's NFIT into @a from cfg->nvdimm[] and the regions mapped
 * under their memdevs; -EINVAL when one is not mapped.  Nothing is added
 * without NVDIMMs.
 */
int nfit_build(const struct machine *m, struct aml *a) WUR;

/*
 * DSDT part, inside Scope(\_SB): QEMU's NVDR (_HID ACPI0012) with the
 * common method NCAL, the root _DSM and an NVxx device (_ADR = handle,
 * _DSM) for each of @n_slots slots, and Name(MEMA, @page_gpa).
 */
void nfit_dsdt(struct aml *a, unsigned n_slots, uint64_t page_gpa);

/*
 * Reserve every NVDIMM's slot in the memory-hotplug controller (used, never
 * enabled), so that a DIMM is not given it.  -EBUSY when a slot is taken.
 */
int nfit_reserve_slots(const struct core_config *cfg, struct acpi_hotplug *h) WUR;

/*
 * The port: io_handler_fn (opaque = the machine).  A 4-byte write of a
 * page address copies the page, routes the call by its handle (the root's
 * and unknown handles answered here, as QEMU does; an NVDIMM's by its
 * process) and writes the answer over the page.
 */
void nfit_dsm_io(void *opaque, uint64_t addr, uint8_t *data, uint32_t len, bool is_write);

#endif
