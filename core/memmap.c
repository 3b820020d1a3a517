/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest-physical memory map: one sorted table of named regions that every
 * part of the core consults (loaders, e820, FDT, ACPI, the MMIO dispatcher)
 * and that later issues add device-memory regions to.
 */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *memmap_kind_name(enum memmap_kind kind)
{
	switch (kind) {
	case MEMMAP_RAM:
		return "ram";
	case MEMMAP_DEVICE_MEMORY:
		return "device-memory";
	case MEMMAP_MMIO:
		return "mmio";
	case MEMMAP_RESERVED:
		return "reserved";
	}
	return "unknown";
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int memmap_add(struct memmap *mm, const struct memmap_region *reg)
{
	uint64_t end;
	unsigned i;

	if (reg->size == 0 || __builtin_add_overflow(reg->gpa, reg->size, &end))
		return -ERANGE;
	if (mm->n >= MEMMAP_MAX_REGIONS)
		return -ENOSPC;
	for (i = 0; i < mm->n; i++) {
		if (!strcmp(mm->r[i].name, reg->name))
			return -EEXIST;
		/* Device-memory regions live inside the device-memory area. */
		if (mm->r[i].kind == MEMMAP_RESERVED && reg->kind == MEMMAP_DEVICE_MEMORY &&
		    !strcmp(mm->r[i].name, "device-memory-area"))
			continue;
		/* A sparse region's mapped slots nest inside it, whole. */
		if (mm->r[i].sparse && !reg->sparse && reg->gpa >= mm->r[i].gpa &&
		    end <= mm->r[i].gpa + mm->r[i].size)
			continue;
		if (overlaps(mm->r[i].gpa, mm->r[i].size, reg->gpa, reg->size))
			return -EEXIST;
	}
	/* Keep the table sorted by address: insertion sort, the table is small. */
	for (i = mm->n; i > 0 && mm->r[i - 1].gpa > reg->gpa; i--)
		mm->r[i] = mm->r[i - 1];
	mm->r[i] = *reg;
	mm->n++;
	return 0;
}

int memmap_remove(struct memmap *mm, const char *name)
{
	for (unsigned i = 0; i < mm->n; i++) {
		if (strcmp(mm->r[i].name, name))
			continue;
		memmove(&mm->r[i], &mm->r[i + 1], (mm->n - i - 1) * sizeof(mm->r[0]));
		mm->n--;
		return 0;
	}
	return -ENOENT;
}

const struct memmap_region *memmap_find(const struct memmap *mm, uint64_t gpa)
{
	const struct memmap_region *hit = NULL;

	/* A device-memory region wins over the area that reserves its range. */
	for (unsigned i = 0; i < mm->n; i++) {
		const struct memmap_region *r = &mm->r[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size) {
			if (!hit || r->host)
				hit = r;
		}
	}
	return hit;
}

void *memmap_gpa_to_host(const struct memmap *mm, uint64_t gpa, uint64_t len)
{
	const struct memmap_region *r = memmap_find(mm, gpa);
	uint64_t off;

	if (!r || !r->host)
		return NULL;
	off = gpa - r->gpa;
	if (len > r->size - off)
		return NULL;
	return (uint8_t *)r->host + off;
}

unsigned memmap_ram_ranges(const struct memmap *mm, uint64_t (*ranges)[2], unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < mm->n && n < max; i++) {
		if (mm->r[i].kind != MEMMAP_RAM)
			continue;
		ranges[n][0] = mm->r[i].gpa;
		ranges[n][1] = mm->r[i].size;
		n++;
	}
	return n;
}

unsigned memmap_ram_slice(const struct memmap *mm, uint64_t off, uint64_t len,
                          uint64_t (*ranges)[2])
{
	unsigned n = 0;

	if (off >= mm->ram_size || len > mm->ram_size - off || len == 0)
		return 0;
	if (off < mm->low_ram_end) {
		uint64_t l = mm->low_ram_end - off < len ? mm->low_ram_end - off : len;

		ranges[n][0] = off;
		ranges[n][1] = l;
		n++;
		off += l;
		len -= l;
	}
	if (len) {
		ranges[n][0] = MEMMAP_HIGH_RAM_BASE + (off - mm->low_ram_end);
		ranges[n][1] = len;
		n++;
	}
	return n;
}

static int add_fixed(struct memmap *mm, const char *name, enum memmap_kind kind, uint64_t gpa,
                     uint64_t size)
{
	struct memmap_region r = { .kind = kind, .gpa = gpa, .size = size, .slot = -1 };

	snprintf(r.name, sizeof(r.name), "%s", name);
	return memmap_add(mm, &r);
}

int memmap_init(struct memmap *mm, uint64_t ram_size, uint64_t maxmem, uint32_t slots)
{
	uint64_t high, devmem, end;
	int r;

	memset(mm, 0, sizeof(*mm));
	if (ram_size == 0 || maxmem < ram_size)
		return -EINVAL;
	mm->ram_size = ram_size;
	mm->low_ram_end = ram_size < MEMMAP_LOW_RAM_MAX ? ram_size : MEMMAP_LOW_RAM_MAX;
	high = ram_size - mm->low_ram_end;
	if (__builtin_add_overflow(MEMMAP_HIGH_RAM_BASE, high, &mm->high_ram_end))
		return -ERANGE;
	/*
	 * QEMU's pc_memory_init: device memory starts at the first 1 GiB
	 * boundary after RAM and holds maxmem - ram plus 1 GiB per slot, so
	 * that every DIMM can be placed 1 GiB aligned.
	 */
	if (__builtin_add_overflow(mm->high_ram_end, GIB - 1, &end))
		return -ERANGE;
	mm->devmem_base = end & ~(GIB - 1);
	devmem = maxmem - ram_size;
	if (slots && __builtin_add_overflow(devmem, (uint64_t)slots * GIB, &devmem))
		return -ERANGE;
	mm->devmem_size = devmem;
	/* 52 bits of guest-physical address at most. */
	if (__builtin_add_overflow(mm->devmem_base, devmem, &end) || end > (1ull << 52))
		return -ERANGE;

	/* RAM regions get their host address when machine_ram_setup maps them. */
	r = add_fixed(mm, "ram-low", MEMMAP_RAM, 0, mm->low_ram_end);
	if (!r && high)
		r = add_fixed(mm, "ram-high", MEMMAP_RAM, MEMMAP_HIGH_RAM_BASE, high);
	if (!r)
		r = add_fixed(mm, "virtio-mmio", MEMMAP_MMIO, MEMMAP_VIRTIO_MMIO_BASE,
		              MEMMAP_VIRTIO_MMIO_SLOT * MEMMAP_VIRTIO_MMIO_COUNT);
	if (!r)
		r = add_fixed(mm, "acpi-ged", MEMMAP_MMIO, MEMMAP_GED_BASE, MEMMAP_GED_SIZE);
	if (!r)
		r = add_fixed(mm, "acpi-memory-hotplug", MEMMAP_MMIO, MEMMAP_MHP_BASE,
		              MEMMAP_MHP_SIZE);
	if (!r)
		r = add_fixed(mm, "ioapic", MEMMAP_MMIO, MEMMAP_IOAPIC_BASE, MEMMAP_IOAPIC_SIZE);
	if (!r)
		r = add_fixed(mm, "lapic", MEMMAP_MMIO, MEMMAP_LAPIC_BASE, MEMMAP_LAPIC_SIZE);
	if (!r)
		r = add_fixed(mm, "kvm-private", MEMMAP_RESERVED, MEMMAP_KVM_IDENTITY_BASE,
		              MEMMAP_KVM_PRIVATE_SIZE);
	if (!r && devmem)
		r = add_fixed(mm, "device-memory-area", MEMMAP_RESERVED, mm->devmem_base, devmem);
	return r;
}

/* The device-memory regions inside the area, used by DIMM placement. */
static bool devmem_busy(const struct memmap *mm, uint64_t gpa, uint64_t size, uint64_t *next)
{
	for (unsigned i = 0; i < mm->n; i++) {
		const struct memmap_region *r = &mm->r[i];

		if (r->kind != MEMMAP_DEVICE_MEMORY && !r->sparse)
			continue;
		if (overlaps(r->gpa, r->size, gpa, size)) {
			*next = r->gpa + r->size;
			return true;
		}
	}
	return false;
}

int memmap_devmem_place(const struct memmap *mm, uint64_t size, uint64_t align, uint64_t want,
                        uint64_t *addr)
{
	uint64_t end = mm->devmem_base + mm->devmem_size, gpa, next, top;

	if (size == 0 || align == 0 || (align & (align - 1)) || size % align)
		return -EINVAL;
	if (want) {
		if (want % align)
			return -EINVAL;
		if (want < mm->devmem_base || __builtin_add_overflow(want, size, &top) || top > end)
			return -ERANGE;
		if (devmem_busy(mm, want, size, &next))
			return -EEXIST;
		*addr = want;
		return 0;
	}
	/* First fit from the bottom, past every region in the way. */
	gpa = mm->devmem_base;
	for (;;) {
		if (__builtin_add_overflow(gpa, align - 1, &gpa))
			return -ENOSPC;
		gpa &= ~(align - 1);
		if (__builtin_add_overflow(gpa, size, &top) || top > end)
			return -ENOSPC;
		if (!devmem_busy(mm, gpa, size, &next)) {
			*addr = gpa;
			return 0;
		}
		gpa = next;
	}
}
