/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The machine's flattened device tree, built with libfdt.  x86 Linux does
 * not read it (Debian's kernels have no OF support on x86); the test guest
 * does, and `splitvm-ctl dump-dtb` hands it to dtc.  It describes what the
 * core configured: every RAM range (/memory@ nodes, with numa-node-id under
 * -numa), the vCPUs by APIC id, the command line and initrd in /chosen, and
 * the reserved device-memory area.  Later issues add a node per device.
 */
#include "core.h"

#include <errno.h>
#include <inttypes.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define FDT_INITIAL_SIZE (16 * 1024)
#define FDT_MAX_SIZE     (256 * 1024)

static int memory_node(void *fdt, uint64_t gpa, uint64_t size, int node_id)
{
	char name[40];
	fdt64_t reg[2] = { cpu_to_fdt64(gpa), cpu_to_fdt64(size) };
	int r;

	snprintf(name, sizeof(name), "memory@%" PRIx64, gpa);
	r = fdt_begin_node(fdt, name);
	if (!r)
		r = fdt_property_string(fdt, "device_type", "memory");
	if (!r)
		r = fdt_property(fdt, "reg", reg, sizeof(reg));
	if (!r && node_id >= 0)
		r = fdt_property_u32(fdt, "numa-node-id", (uint32_t)node_id);
	if (!r)
		r = fdt_end_node(fdt);
	return r;
}

static int node_of_cpu(const struct core_config *cfg, unsigned cpu)
{
	for (unsigned i = 0; i < cfg->n_numa; i++) {
		const struct core_numa_cfg *n = &cfg->numa[i];

		if (n->cpu_count && cpu >= n->cpu_first && cpu < n->cpu_first + n->cpu_count)
			return (int)n->node_id;
	}
	/* QEMU puts CPUs no node names on node 0 (the first node). */
	return cfg->n_numa ? (int)cfg->numa[0].node_id : -1;
}

static int fdt_fill(struct machine *m, void *fdt, size_t size, uint64_t initrd_gpa,
                    uint64_t initrd_size)
{
	const struct core_config *cfg = m->cfg;
	uint64_t ranges[MEMMAP_MAX_REGIONS][2];
	unsigned n;
	int r;

	r = fdt_create(fdt, (int)size);
	if (!r)
		r = fdt_finish_reservemap(fdt);
	if (!r)
		r = fdt_begin_node(fdt, "");
	if (!r)
		r = fdt_property_u32(fdt, "#address-cells", 2);
	if (!r)
		r = fdt_property_u32(fdt, "#size-cells", 2);
	if (!r)
		r = fdt_property_string(fdt, "compatible", "splitvm,x86_64");
	if (!r)
		r = fdt_property_string(fdt, "model", "splitvm");
	if (r)
		return r;

	/* /chosen */
	r = fdt_begin_node(fdt, "chosen");
	if (!r)
		r = fdt_property_string(fdt, "bootargs", cfg->cmdline ? cfg->cmdline : "");
	if (!r && initrd_size) {
		r = fdt_property_u64(fdt, "linux,initrd-start", initrd_gpa);
		if (!r)
			r = fdt_property_u64(fdt, "linux,initrd-end", initrd_gpa + initrd_size);
	}
	if (!r)
		r = fdt_end_node(fdt);
	if (r)
		return r;

	/* /cpus: reg is the APIC id (== vCPU index). */
	r = fdt_begin_node(fdt, "cpus");
	if (!r)
		r = fdt_property_u32(fdt, "#address-cells", 1);
	if (!r)
		r = fdt_property_u32(fdt, "#size-cells", 0);
	for (unsigned i = 0; !r && i < cfg->vcpus; i++) {
		char name[16];
		int node = node_of_cpu(cfg, i);

		snprintf(name, sizeof(name), "cpu@%u", i);
		r = fdt_begin_node(fdt, name);
		if (!r)
			r = fdt_property_string(fdt, "device_type", "cpu");
		if (!r)
			r = fdt_property_u32(fdt, "reg", i);
		if (!r && node >= 0)
			r = fdt_property_u32(fdt, "numa-node-id", (uint32_t)node);
		if (!r)
			r = fdt_end_node(fdt);
	}
	if (!r)
		r = fdt_end_node(fdt);
	if (r)
		return r;

	/* Memory: one node per RAM range, split per NUMA node when given. */
	if (cfg->n_numa) {
		uint64_t off = 0;

		for (unsigned i = 0; !r && i < cfg->n_numa; i++) {
			n = memmap_ram_slice(&m->mm, off, cfg->numa[i].mem, ranges);
			for (unsigned j = 0; !r && j < n; j++)
				r = memory_node(fdt, ranges[j][0], ranges[j][1],
				                (int)cfg->numa[i].node_id);
			off += cfg->numa[i].mem;
		}
	} else {
		n = memmap_ram_ranges(&m->mm, ranges, MEMMAP_MAX_REGIONS);
		for (unsigned j = 0; !r && j < n; j++)
			r = memory_node(fdt, ranges[j][0], ranges[j][1], -1);
	}
	if (r)
		return r;

	/* The hotpluggable device-memory area: reserved, not RAM. */
	if (m->mm.devmem_size) {
		char name[48];
		fdt64_t reg[2] = { cpu_to_fdt64(m->mm.devmem_base),
			           cpu_to_fdt64(m->mm.devmem_size) };

		snprintf(name, sizeof(name), "device-memory@%" PRIx64, m->mm.devmem_base);
		r = fdt_begin_node(fdt, name);
		if (!r)
			r = fdt_property_string(fdt, "compatible", "splitvm,device-memory");
		if (!r)
			r = fdt_property(fdt, "reg", reg, sizeof(reg));
		if (!r)
			r = fdt_property_u32(fdt, "slots", cfg->slots);
		if (!r)
			r = fdt_end_node(fdt);
		if (r)
			return r;
	}

	/*
	 * virtio-mmio windows as the "virtio,mmio" binding has them; one
	 * interrupts cell, the IOAPIC GSI (x86 has no interrupt-controller
	 * node here; the test guest reads the GSI and programs the IOAPIC).
	 */
	for (unsigned i = 0; !r && i < cfg->n_virtio; i++) {
		uint64_t base = MEMMAP_VIRTIO_MMIO_BASE + i * MEMMAP_VIRTIO_MMIO_SLOT;
		fdt64_t reg[2] = { cpu_to_fdt64(base), cpu_to_fdt64(MEMMAP_VIRTIO_MMIO_SLOT) };
		char name[48];

		snprintf(name, sizeof(name), "virtio_mmio@%" PRIx64, base);
		r = fdt_begin_node(fdt, name);
		if (!r)
			r = fdt_property_string(fdt, "compatible", "virtio,mmio");
		if (!r)
			r = fdt_property(fdt, "reg", reg, sizeof(reg));
		if (!r)
			r = fdt_property_u32(fdt, "interrupts", VMMIO_GSI_BASE + i);
		if (!r)
			r = fdt_property_string(fdt, "splitvm,id", cfg->virtio[i].id);
		if (!r)
			r = fdt_end_node(fdt);
	}
	if (r)
		return r;

	r = fdt_end_node(fdt);
	if (!r)
		r = fdt_finish(fdt);
	return r;
}

int fdt_build(struct machine *m, uint64_t initrd_gpa, uint64_t initrd_size)
{
	size_t size = FDT_INITIAL_SIZE;
	void *fdt;
	int r;

	for (;;) {
		fdt = calloc(1, size);
		if (!fdt)
			return -ENOMEM;
		r = fdt_fill(m, fdt, size, initrd_gpa, initrd_size);
		if (r != -FDT_ERR_NOSPACE || size >= FDT_MAX_SIZE)
			break;
		free(fdt);
		size *= 2;
	}
	if (r) {
		log_warnx("FDT: %s", fdt_strerror(r));
		free(fdt);
		return -EINVAL;
	}
	free(m->dtb);
	m->dtb = fdt;
	m->dtb_size = fdt_totalsize(fdt);
	return 0;
}
