/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The KVM machine: VM with in-kernel irqchip and PIT, guest RAM in a sealed
 * memfd, one thread per vCPU, and a clean stop.
 *
 * Stopping: the thread that decides the machine ends (a device write, a KVM
 * failure) records the reason once and signals exit_fd.  The main thread
 * then sets immediate_exit in every vCPU's kvm_run and sends it SIGUSR1: a
 * vCPU inside KVM_RUN returns -EINTR, and one about to enter it returns at
 * once because of immediate_exit, so no wake-up is lost.  Then it joins them.
 *
 * TSC: KVM gives the guest the host's TSC frequency by default; splitvm does
 * not migrate, so KVM_SET_TSC_KHZ is not needed.  The KVM paravirtual leaves
 * advertise kvmclock with the stable bit, which Linux uses as its clock.
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "fd.h"
#include "log.h"

#define VCPU_STOP_SIGNAL SIGUSR1

struct kvm_cap_need {
	int cap;
	const char *name;
	const char *why;
};

static const struct kvm_cap_need required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest RAM from user memory" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", "in-kernel PIC, IOAPIC and LAPIC" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2", "in-kernel PIT" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "KVM_GET_SUPPORTED_CPUID" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "a race-free vCPU stop" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD", "device interrupts (virtio-mmio)" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD", "queue notifications (virtio-mmio)" },
};

static int check_caps(int kvm_fd)
{
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		int r = ioctl(kvm_fd, KVM_CHECK_EXTENSION, required_caps[i].cap);

		if (r <= 0) {
			log_warnx("/dev/kvm lacks %s, needed for %s", required_caps[i].name,
			          required_caps[i].why);
			return -ENOTSUP;
		}
	}
	return 0;
}

static struct kvm_cpuid2 *get_supported_cpuid(int kvm_fd)
{
	struct kvm_cpuid2 *c;
	unsigned nent = 64;

	for (;;) {
		c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return NULL;
		c->nent = nent;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG || nent >= 4096) {
			log_warn("KVM_GET_SUPPORTED_CPUID");
			return NULL;
		}
		nent *= 2;
	}
}

int machine_create(struct machine *m, const struct core_config *cfg)
{
	struct kvm_pit_config pit = { .flags = 0 };
	int r, max_vcpus;

	memset(m, 0, sizeof(*m));
	m->cfg = cfg;
	m->kvm_fd = -1;
	m->vm_fd = -1;
	m->ram_fd = -1;
	m->exit_fd = -1;
	for (unsigned i = 0; i < CORE_MAX_VCPUS; i++)
		m->vcpus[i].fd = -1;
	pthread_mutex_init(&m->lock, NULL);
	pthread_rwlock_init(&m->mm_lock, NULL);
	pthread_cond_init(&m->pause_cond, NULL);

	r = memmap_init(&m->mm, cfg->ram_size, cfg->maxmem, cfg->slots);
	if (r) {
		log_warnx("-m: the memory map of ram 0x%" PRIx64 " maxmem 0x%" PRIx64
		          " slots %u does not fit the guest-physical address space",
		          cfg->ram_size, cfg->maxmem, cfg->slots);
		return r;
	}
	m->exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->exit_fd < 0) {
		log_warn("eventfd");
		return -errno;
	}
	m->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (m->kvm_fd < 0) {
		r = -errno;
		log_warn("open /dev/kvm");
		return r;
	}
	r = ioctl(m->kvm_fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION) {
		log_warnx("/dev/kvm: API version %d, need %d", r, KVM_API_VERSION);
		return -ENOTSUP;
	}
	r = check_caps(m->kvm_fd);
	if (r)
		return r;
	max_vcpus = ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max_vcpus <= 0)
		max_vcpus = ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max_vcpus <= 0)
		max_vcpus = 4; /* KVM's documented floor when neither cap answers */
	if (cfg->vcpus > (unsigned)max_vcpus) {
		log_warnx("-smp %u: KVM supports at most %d vCPUs (KVM_CAP_MAX_VCPUS)", cfg->vcpus,
		          max_vcpus);
		return -EINVAL;
	}
	r = ioctl(m->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r <= 0) {
		log_warn("KVM_GET_VCPU_MMAP_SIZE");
		return -ENOTSUP;
	}
	m->run_size = (size_t)r;
	/* KVM_CAP_NR_MEMSLOTS answers 0 on KVMs too old to say: their 32. */
	r = ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	m->max_slots = r > 0 ? (unsigned)r : 32;
	if (m->max_slots > CORE_MAX_MEMSLOTS)
		m->max_slots = CORE_MAX_MEMSLOTS;
	m->vm_fd = ioctl(m->kvm_fd, KVM_CREATE_VM, 0);
	if (m->vm_fd < 0) {
		r = -errno;
		log_warn("KVM_CREATE_VM");
		return r;
	}
	/*
	 * Intel needs a real-mode TSS and identity page table in guest-physical
	 * space; QEMU's addresses, reserved in the hole.  KVMs that do not
	 * implement them (no capability) do not need them.
	 */
	if (ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
		uint64_t addr = MEMMAP_KVM_IDENTITY_BASE;

		if (ioctl(m->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &addr) < 0)
			log_debug("KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
	}
	if (ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0) {
		if (ioctl(m->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)MEMMAP_KVM_TSS_BASE) < 0)
			log_debug("KVM_SET_TSS_ADDR: %s", strerror(errno));
	}
	if (ioctl(m->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		r = -errno;
		log_warn("KVM_CREATE_IRQCHIP");
		return r;
	}
	if (ioctl(m->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		r = -errno;
		log_warn("KVM_CREATE_PIT2");
		return r;
	}
	m->cpuid = get_supported_cpuid(m->kvm_fd);
	if (!m->cpuid)
		return -ENOTSUP;
	return 0;
}

int machine_slot_attach(struct machine *m, struct memmap_region *reg)
{
	struct kvm_userspace_memory_region mr = {
		.flags = reg->readonly ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = reg->gpa,
		.memory_size = reg->size,
		.userspace_addr = (uintptr_t)reg->host,
	};
	unsigned slot;
	int r;

	for (slot = 0; slot < m->max_slots && m->slot_used[slot]; slot++)
		;
	if (slot == m->max_slots) {
		log_warnx("region %s: all %u KVM memslots are in use", reg->name, m->max_slots);
		return -ENOSPC;
	}
	if (reg->readonly && ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0) {
		log_warnx("region %s: read-only mapping needs KVM_CAP_READONLY_MEM", reg->name);
		return -ENOTSUP;
	}
	mr.slot = slot;
	if (ioctl(m->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr) < 0) {
		r = -errno;
		log_warn("region %s: KVM_SET_USER_MEMORY_REGION slot %u gpa 0x%" PRIx64
		         " size 0x%" PRIx64,
		         reg->name, slot, reg->gpa, reg->size);
		return r;
	}
	m->slot_used[slot] = true;
	reg->slot = (int)slot;
	return 0;
}

void machine_slot_detach(struct machine *m, struct memmap_region *reg)
{
	/* Size 0 deletes the slot; vCPUs then exit to us on the range. */
	struct kvm_userspace_memory_region mr = { .slot = (uint32_t)reg->slot };

	if (reg->slot < 0 || (unsigned)reg->slot >= m->max_slots)
		return;
	if (ioctl(m->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr) < 0)
		log_warn("region %s: deleting KVM memslot %d", reg->name, reg->slot);
	m->slot_used[reg->slot] = false;
	reg->slot = -1;
}

int machine_map_region(struct machine *m, const char *name, enum memmap_kind kind, uint64_t gpa,
                       uint64_t size, void *host, bool readonly)
{
	struct memmap_region reg = {
		.kind = kind,
		.gpa = gpa,
		.size = size,
		.host = host,
		.slot = -1,
		.readonly = readonly,
	};
	int r;

	snprintf(reg.name, sizeof(reg.name), "%s", name);
	r = machine_slot_attach(m, &reg);
	if (r)
		return r;
	r = memmap_add(&m->mm, &reg);
	if (r)
		machine_slot_detach(m, &reg);
	return r;
}

/* Remove map entry @i: memslot, entry, host mapping when its own. */
static void unmap_entry(struct machine *m, unsigned i)
{
	struct memmap_region reg = m->mm.r[i];

	machine_slot_detach(m, &reg);
	memmove(&m->mm.r[i], &m->mm.r[i + 1], (m->mm.n - i - 1) * sizeof(m->mm.r[0]));
	m->mm.n--;
	if (reg.host_owned)
		munmap(reg.host, reg.size);
}

static struct machine_sparse *sparse_find(struct machine *m, const char *region, const char *owner)
{
	for (unsigned i = 0; i < m->n_sparse; i++) {
		if ((region && !strcmp(m->sparse[i].region, region)) ||
		    (owner && !strcmp(m->sparse[i].owner, owner)))
			return &m->sparse[i];
	}
	return NULL;
}

int machine_sparse_add(struct machine *m, const char *region, const char *owner, uint64_t gpa,
                       uint64_t size, uint64_t offset, int *fd)
{
	struct memmap_region reg = {
		.kind = MEMMAP_DEVICE_MEMORY,
		.gpa = gpa,
		.size = size,
		.slot = -1,
		.sparse = true,
	};
	struct machine_sparse *s;
	int r;

	if (strlen(region) >= sizeof(s->region) || strlen(owner) >= sizeof(s->owner))
		return -ENAMETOOLONG;
	if (sparse_find(m, region, owner))
		return -EEXIST;
	if (m->n_sparse >= CORE_MAX_VIRTIO)
		return -ENOSPC;
	snprintf(reg.name, sizeof(reg.name), "%s", region);
	r = memmap_add(&m->mm, &reg);
	if (r)
		return r;
	s = &m->sparse[m->n_sparse++];
	snprintf(s->region, sizeof(s->region), "%s", region);
	snprintf(s->owner, sizeof(s->owner), "%s", owner);
	s->gpa = gpa;
	s->size = size;
	s->offset = offset;
	s->fd = take_fd(fd);
	return 0;
}

/*
 * Unmap every slot inside [gpa, gpa+size) of sparse region @s; -EEXIST when
 * one reaches outside the range (it was mapped with other bounds).
 */
static int sparse_unmap_range(struct machine *m, const struct machine_sparse *s, uint64_t gpa,
                              uint64_t size)
{
	for (unsigned i = 0; i < m->mm.n; i++) {
		const struct memmap_region *e = &m->mm.r[i];

		if (e->sparse || !e->host || e->gpa < s->gpa || e->gpa - s->gpa >= s->size)
			continue;
		if (e->gpa >= gpa + size || gpa >= e->gpa + e->size)
			continue;
		if (e->gpa < gpa || e->gpa + e->size > gpa + size)
			return -EEXIST;
	}
	for (unsigned i = 0; i < m->mm.n;) {
		const struct memmap_region *e = &m->mm.r[i];

		if (!e->sparse && e->host && e->gpa >= gpa && e->gpa - gpa < size)
			unmap_entry(m, i);
		else
			i++;
	}
	return 0;
}

static int sparse_map(struct machine *m, const struct machine_sparse *s, uint64_t offset,
                      uint64_t size)
{
	struct memmap_region reg = {
		.kind = MEMMAP_DEVICE_MEMORY,
		.gpa = s->gpa + offset,
		.size = size,
		.slot = -1,
		.host_owned = true,
	};
	const struct memmap_region *o;
	unsigned i;
	int r;

	/* Mapped already with these bounds: a successor restating its slots. */
	for (i = 0; i < m->mm.n; i++) {
		o = &m->mm.r[i];
		if (!o->sparse && o->host && o->gpa == reg.gpa && o->size == size)
			return 0;
	}
	if (m->mm.n >= MEMMAP_MAX_REGIONS)
		return -ENOSPC;
	snprintf(reg.name, sizeof(reg.name), "%s+0x%" PRIx64, s->region, offset);
	reg.host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd,
	                (off_t)(s->offset + offset));
	if (reg.host == MAP_FAILED) {
		r = -errno;
		log_warn("region %s: mmap of slot [0x%" PRIx64 ", +0x%" PRIx64 ")", s->region,
		         offset, size);
		return r;
	}
	/* Guest memory in a core dump would be large and the guest's secrets. */
	madvise(reg.host, size, MADV_DONTDUMP);
	r = memmap_add(&m->mm, &reg);
	if (r) {
		/* -EEXIST: it straddles a slot mapped with other bounds. */
		munmap(reg.host, size);
		return r;
	}
	for (i = 0; i < m->mm.n && strcmp(m->mm.r[i].name, reg.name); i++)
		;
	r = machine_slot_attach(m, &m->mm.r[i]);
	if (r) {
		unmap_entry(m, i);
		return r;
	}
	log_debug("region %s: slot [0x%" PRIx64 ", +0x%" PRIx64 ") mapped at 0x%" PRIx64
	          ", memslot %d",
	          s->region, offset, size, reg.gpa, m->mm.r[i].slot);
	return 0;
}

int machine_sparse_slot_map(void *opaque, const char *id, uint64_t offset, uint64_t size, bool map)
{
	struct machine *m = opaque;
	const struct machine_sparse *s;
	uint64_t end;
	int r;

	pthread_rwlock_wrlock(&m->mm_lock);
	s = sparse_find(m, NULL, id);
	if (!s) {
		r = -ENOENT;
	} else if (size == 0 || __builtin_add_overflow(offset, size, &end) || end > s->size) {
		r = -EINVAL;
	} else if (map) {
		r = sparse_map(m, s, offset, size);
	} else {
		r = sparse_unmap_range(m, s, s->gpa + offset, size);
		if (!r)
			log_debug("region %s: slot [0x%" PRIx64 ", +0x%" PRIx64 ") unmapped",
			          s->region, offset, size);
	}
	pthread_rwlock_unlock(&m->mm_lock);
	return r;
}

int machine_unmap_region(struct machine *m, const char *name)
{
	struct machine_sparse *s = sparse_find(m, name, NULL);
	struct memmap_region reg;
	unsigned i;

	if (s) {
		/* Its slots first: they nest inside it and use its fd. */
		if (sparse_unmap_range(m, s, s->gpa, s->size))
			log_warnx("region %s: a slot reaches outside it", name);
		if (m->devplane && devplane_set_region(m->devplane, s->owner, 0, 0))
			log_warnx("region %s: device %s has gone", name, s->owner);
		close_fd(&s->fd);
		*s = m->sparse[--m->n_sparse];
	}
	for (i = 0; i < m->mm.n && strcmp(m->mm.r[i].name, name); i++)
		;
	if (i == m->mm.n)
		return -ENOENT;
	reg = m->mm.r[i];
	machine_slot_detach(m, &reg);
	if (memmap_remove(&m->mm, name))
		return -ENOENT;
	if (reg.host_owned)
		munmap(reg.host, reg.size);
	return 0;
}

/* Fill the RAM entries the memmap laid out with their host addresses. */
int machine_ram_setup(struct machine *m)
{
	uint64_t off = 0;
	int r;

	m->ram_fd = memfd_create("splitvm-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (m->ram_fd < 0) {
		r = -errno;
		log_warn("memfd_create for guest RAM");
		return r;
	}
	if (ftruncate(m->ram_fd, (off_t)m->mm.ram_size) < 0) {
		r = -errno;
		log_warn("ftruncate guest RAM memfd to 0x%" PRIx64, m->mm.ram_size);
		return r;
	}
	/* No holder may truncate the memory under another (DESIGN.md). */
	if (fcntl(m->ram_fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		r = -errno;
		log_warn("F_ADD_SEALS on guest RAM memfd");
		return r;
	}
	m->ram = mmap(NULL, m->mm.ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, m->ram_fd, 0);
	if (m->ram == MAP_FAILED) {
		m->ram = NULL;
		r = -errno;
		log_warn("mmap guest RAM (0x%" PRIx64 " bytes)", m->mm.ram_size);
		return r;
	}
	/* Guest RAM in a core dump would be large and the guest's secrets. */
	madvise(m->ram, m->mm.ram_size, MADV_DONTDUMP);

	for (unsigned i = 0; i < m->mm.n; i++) {
		struct memmap_region *reg = &m->mm.r[i];

		if (reg->kind != MEMMAP_RAM)
			continue;
		reg->host = (uint8_t *)m->ram + off;
		r = machine_slot_attach(m, reg);
		if (r)
			return r;
		off += reg->size;
	}
	return 0;
}

static struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		if (c->entries[i].function == fn &&
		    (!(c->entries[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     c->entries[i].index == idx))
			return &c->entries[i];
	}
	return NULL;
}

/* The KVM signature "KVMKVMKVM\0\0\0" in EBX, ECX, EDX. */
static void cpuid_set_kvm_signature(struct kvm_cpuid_entry2 *e)
{
	static const char sig[12] = "KVMKVMKVM\0\0";

	memcpy(&e->ebx, sig, 4);
	memcpy(&e->ecx, sig + 4, 4);
	memcpy(&e->edx, sig + 8, 4);
}

/*
 * Per-vCPU CPUID: the hypervisor bit, the KVM leaves and this vCPU's APIC id
 * (leaf 1 EBX[31:24], leaf 0xb/0x1f EDX).  Called on a private copy.
 */
static int cpuid_fixup(struct kvm_cpuid2 *c, unsigned apic_id, unsigned n_vcpus)
{
	struct kvm_cpuid_entry2 *e;

	e = cpuid_find(c, 1, 0);
	if (!e) {
		log_warnx("KVM_GET_SUPPORTED_CPUID has no leaf 1");
		return -ENOTSUP;
	}
	e->ecx |= 1u << 31; /* hypervisor present */
	e->ebx = (e->ebx & 0x0000ffffu) | (apic_id << 24) | ((n_vcpus & 0xff) << 16);
	if (n_vcpus > 1)
		e->edx |= 1u << 28; /* HTT: EBX[23:16] is valid */
	for (uint32_t i = 0; i < c->nent; i++) {
		if (c->entries[i].function == 0xb || c->entries[i].function == 0x1f)
			c->entries[i].edx = apic_id;
	}
	e = cpuid_find(c, 0x40000000, 0);
	if (!e) {
		/* Older KVMs leave the paravirtual leaves to the VMM. */
		if (c->nent >= 4096)
			return -E2BIG;
		e = &c->entries[c->nent++];
		memset(e, 0, sizeof(*e));
		e->function = 0x40000000;
		e->eax = 0x40000001;
	}
	cpuid_set_kvm_signature(e);
	return 0;
}

int machine_vcpus_create(struct machine *m)
{
	size_t csize;
	int r;

	/* Room for the leaf cpuid_fixup may add. */
	csize = sizeof(*m->cpuid) + (m->cpuid->nent + 1) * sizeof(m->cpuid->entries[0]);
	for (unsigned i = 0; i < m->cfg->vcpus; i++) {
		struct vcpu *v = &m->vcpus[i];
		struct kvm_cpuid2 *c;

		v->m = m;
		v->index = i;
		v->fd = ioctl(m->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (v->fd < 0) {
			r = -errno;
			log_warn("KVM_CREATE_VCPU %u", i);
			return r;
		}
		m->n_vcpus++;
		v->run = mmap(NULL, m->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			r = -errno;
			log_warn("mmap kvm_run of vCPU %u", i);
			return r;
		}
		c = calloc(1, csize);
		if (!c)
			return -ENOMEM;
		memcpy(c, m->cpuid, sizeof(*c) + m->cpuid->nent * sizeof(c->entries[0]));
		/* APIC id == vCPU index: what the MADT and FDT describe. */
		r = cpuid_fixup(c, i, m->cfg->vcpus);
		if (!r && ioctl(v->fd, KVM_SET_CPUID2, c) < 0) {
			r = -errno;
			log_warn("KVM_SET_CPUID2 on vCPU %u", i);
		}
		free(c);
		if (r)
			return r;
		/*
		 * vCPU 0 is KVM's boot CPU and starts at the kernel's entry; the
		 * others wait in KVM for INIT/SIPI from the guest, as on a PC.
		 */
		r = boot_setup_lapic(v);
		if (r) {
			log_warnx("vCPU %u: KVM_GET/SET_LAPIC: %s", i, strerror(-r));
			return r;
		}
		if (i == 0) {
			r = boot_setup_vcpu(m, v);
			if (r)
				return r;
		}
	}
	return 0;
}

void machine_request_exit(struct machine *m, enum machine_exit_reason reason, int status)
{
	uint64_t one = 1;

	pthread_mutex_lock(&m->lock);
	if (m->exit_reason == MACHINE_RUNNING) {
		m->exit_reason = reason;
		m->exit_status = status;
	}
	m->stopping = 1;
	pthread_mutex_unlock(&m->lock);
	if (write(m->exit_fd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow with one write per stop. */
	}
}

static void vcpu_handle_io(struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;

	/* A rep ins/outs exits once with count elements back to back. */
	for (uint32_t i = 0; i < run->io.count; i++)
		io_handle_pio(run->io.port, data + (size_t)i * run->io.size, run->io.size, out);
}

/*
 * The slow path before KVM_RUN, taken when a pause is asked for or
 * immediate_exit is set: park while paused, then clear immediate_exit unless
 * the machine is stopping.  Under the lock, so that a stop that sets
 * immediate_exit after taking it can never be undone here.  True: stop.
 */
static bool vcpu_park(struct vcpu *v)
{
	struct machine *m = v->m;
	bool parked = false, stop;

	pthread_mutex_lock(&m->lock);
	while (m->pause_req && !m->stopping) {
		if (!parked) {
			parked = true;
			m->n_parked++;
			pthread_cond_broadcast(&m->pause_cond);
		}
		pthread_cond_wait(&m->pause_cond, &m->lock);
	}
	if (parked)
		m->n_parked--;
	stop = m->stopping;
	if (!stop)
		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&m->lock);
	return stop;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct machine *m = v->m;
	struct kvm_run *run = v->run;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, VCPU_STOP_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (!m->stopping) {
		if ((__atomic_load_n(&m->pause_req, __ATOMIC_ACQUIRE) ||
		     __atomic_load_n(&run->immediate_exit, __ATOMIC_ACQUIRE)) &&
		    vcpu_park(v))
			break;
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			log_warn("vCPU %u: KVM_RUN", v->index);
			machine_request_exit(m, MACHINE_EXIT_ERROR, 1);
			break;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			vcpu_handle_io(run);
			break;
		case KVM_EXIT_MMIO:
			io_handle_mmio(run->mmio.phys_addr, run->mmio.data, run->mmio.len,
			               run->mmio.is_write);
			break;
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_HLT:
			/* Only without an in-kernel LAPIC; treat as a pause. */
			break;
		case KVM_EXIT_SHUTDOWN:
			log_warnx("vCPU %u: guest triple fault (KVM_EXIT_SHUTDOWN)", v->index);
			machine_request_exit(m, MACHINE_EXIT_ERROR, 1);
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			if (run->system_event.type == KVM_SYSTEM_EVENT_RESET) {
				log_info("guest reset");
				machine_request_exit(m, MACHINE_EXIT_RESET, 0);
			} else {
				log_info("guest power-off (system event %u)",
				         run->system_event.type);
				machine_request_exit(m, MACHINE_EXIT_POWEROFF, 0);
			}
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			log_warnx("vCPU %u: KVM internal error, suberror %u (1 = emulation "
			          "failure)",
			          v->index, run->internal.suberror);
			machine_request_exit(m, MACHINE_EXIT_ERROR, 1);
			break;
		case KVM_EXIT_FAIL_ENTRY:
			log_warnx(
			        "vCPU %u: VM entry failed, reason 0x%llx", v->index,
			        (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			machine_request_exit(m, MACHINE_EXIT_ERROR, 1);
			break;
		default:
			log_warnx("vCPU %u: unhandled KVM exit %u", v->index, run->exit_reason);
			machine_request_exit(m, MACHINE_EXIT_ERROR, 1);
			break;
		}
	}
	return NULL;
}

static void stop_signal_handler(int sig)
{
	(void)sig; /* only there to make KVM_RUN return -EINTR */
}

/* Kick every started vCPU out of KVM_RUN (see the top of this file). */
static void vcpus_kick(struct machine *m)
{
	for (unsigned i = 0; i < m->n_vcpus; i++) {
		struct vcpu *v = &m->vcpus[i];

		if (!v->thread_started)
			continue;
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(v->thread, VCPU_STOP_SIGNAL);
	}
}

static void vcpus_stop(struct machine *m)
{
	/* Under the lock: machine_vcpus_start() starts none after this. */
	pthread_mutex_lock(&m->lock);
	m->stopping = 1;
	pthread_cond_broadcast(&m->pause_cond);
	vcpus_kick(m);
	pthread_mutex_unlock(&m->lock);
	for (unsigned i = 0; i < m->n_vcpus; i++) {
		if (!m->vcpus[i].thread_started)
			continue;
		pthread_join(m->vcpus[i].thread, NULL);
		m->vcpus[i].thread_started = false;
	}
	m->n_started = 0;
}

void machine_block_stop_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int machine_vcpus_start(struct machine *m)
{
	struct sigaction sa = { .sa_handler = stop_signal_handler };
	sigset_t set, old;
	int r = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_STOP_SIGNAL, &sa, NULL);
	/* Each vCPU thread unblocks the stop signal itself; nobody else takes it. */
	sigemptyset(&set);
	sigaddset(&set, VCPU_STOP_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	pthread_mutex_lock(&m->lock);
	if (m->stopping)
		r = -ESHUTDOWN;
	for (unsigned i = 0; !r && i < m->n_vcpus; i++) {
		struct vcpu *v = &m->vcpus[i];

		if (v->thread_started)
			continue;
		r = -pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (r) {
			log_warnx("vCPU %u: pthread_create: %s", i, strerror(-r));
			break;
		}
		v->thread_started = true;
		m->n_started++;
	}
	/* Threads that start while a pause is asked for park at once. */
	if (m->pause_req)
		vcpus_kick(m);
	pthread_mutex_unlock(&m->lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r && r != -ESHUTDOWN)
		machine_request_exit(m, MACHINE_EXIT_ERROR, 1);
	return r;
}

int machine_wait(struct machine *m)
{
	sigset_t set;
	int sig_fd = -1, r = 0;

	/*
	 * SIGINT/SIGTERM/SIGHUP stop the machine cleanly through a signalfd of
	 * this thread; every thread keeps them blocked.
	 */
	machine_block_stop_signals();
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0)
		log_warn("signalfd: SIGINT/SIGTERM will not stop the guest cleanly");

	while (!m->stopping) {
		struct pollfd pfd[3] = {
			{ .fd = m->exit_fd, .events = POLLIN },
			{ .fd = m->serial ? serial_input_fd(m->serial) : -1, .events = POLLIN },
			{ .fd = sig_fd, .events = POLLIN },
		};

		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			machine_request_exit(m, MACHINE_EXIT_ERROR, 1);
			break;
		}
		if (pfd[1].revents & (POLLIN | POLLHUP))
			serial_input_ready(m->serial);
		if (pfd[2].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				log_info("stopping the guest on signal %u", si.ssi_signo);
				machine_request_exit(m, MACHINE_EXIT_ERROR,
				                     128 + (int)si.ssi_signo);
			}
		}
	}
	vcpus_stop(m);
	close_fd(&sig_fd);
	return r;
}

int machine_run(struct machine *m)
{
	machine_block_stop_signals();
	if (machine_vcpus_start(m) == 0)
		log_debug("%u vCPU thread(s) started", m->n_started);
	return machine_wait(m);
}

int machine_vcpus_pause(struct machine *m, int timeout_ms)
{
	struct timespec deadline;
	int r = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&m->lock);
	m->pause_req = true;
	vcpus_kick(m);
	while (!r && !m->stopping && m->n_parked < m->n_started)
		r = -pthread_cond_timedwait(&m->pause_cond, &m->lock, &deadline);
	if (m->stopping)
		r = -ESHUTDOWN;
	if (r) {
		m->pause_req = false;
		pthread_cond_broadcast(&m->pause_cond);
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

void machine_vcpus_resume(struct machine *m)
{
	pthread_mutex_lock(&m->lock);
	m->pause_req = false;
	pthread_cond_broadcast(&m->pause_cond);
	pthread_mutex_unlock(&m->lock);
}

void machine_destroy(struct machine *m)
{
	if (!m)
		return;
	vcpus_stop(m);
	/* Its ioeventfds and irqfds need the VM fd: before it closes. */
	devplane_destroy(m->devplane);
	m->devplane = NULL;
	for (unsigned i = 0; i < m->n_vcpus; i++) {
		if (m->vcpus[i].run)
			munmap(m->vcpus[i].run, m->run_size);
		close_fd(&m->vcpus[i].fd);
	}
	free(m->cpuid);
	m->cpuid = NULL;
	free(m->dtb);
	m->dtb = NULL;
	for (unsigned i = 0; i < m->mm.n; i++) {
		if (m->mm.r[i].host_owned)
			munmap(m->mm.r[i].host, m->mm.r[i].size);
		m->mm.r[i].host_owned = false;
	}
	for (unsigned i = 0; i < m->n_sparse; i++)
		close_fd(&m->sparse[i].fd);
	m->n_sparse = 0;
	if (m->ram)
		munmap(m->ram, m->mm.ram_size);
	m->ram = NULL;
	close_fd(&m->ram_fd);
	close_fd(&m->vm_fd);
	close_fd(&m->kvm_fd);
	close_fd(&m->exit_fd);
	pthread_cond_destroy(&m->pause_cond);
	pthread_mutex_destroy(&m->lock);
	pthread_rwlock_destroy(&m->mm_lock);
}

int machine_irq_line(struct machine *m, unsigned irq, bool level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };

	if (ioctl(m->vm_fd, KVM_IRQ_LINE, &l) < 0)
		return -errno;
	return 0;
}
