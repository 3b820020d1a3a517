/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The machine plane: splitvm (the supervisor) drives a supervised core over
 * a REP channel (planes MACHINE) in the run directory, and hands it fds on
 * the fd channel inherited at exec.  Served from a thread of its own, so
 * that no vCPU thread ever waits on ipc.
 *
 * The order of a start (docs/protocol.md, "Machine"):
 *   1. MachineStart{config}: the core checks the config as its command line
 *      (core_config_from_vm), creates the KVM VM, the serial port and the
 *      fixed devices, and answers MemoryMap: every region of the machine,
 *      the base-RAM ranges among them (REGION_RAM, slot -1: not mapped yet).
 *   2. RegionMap for each base-RAM range, named as in that reply ("ram-low",
 *      "ram-high"), gpa and size exactly the range's, offset into the RAM
 *      memfd (low RAM first, then the rest).
 *   3. VcpusResume: the first one loads the kernel, builds the boot tables,
 *      the FDT and ACPI, creates the vCPUs and starts them.  Later ones let
 *      paused vCPUs continue.
 * Device-memory regions may be mapped and unmapped at any time after 1.
 *
 * DIMMs: DimmPlug{device, size, fd_tag} places the backend in the
 * device-memory area (DeviceConfig.addr checked, or the first free range
 * aligned to the backend's page size, as QEMU does), maps it as region
 * <memdev> and fills a slot of the ACPI memory-hotplug controller.  Before
 * the first VcpusResume that is a cold plug (present at boot, in the
 * SRAT); after it, a hot plug announced through the GED.
 * DimmUnplugRequest{device} asks the guest to eject; the guest's eject
 * unmaps the region and the core publishes Event{device_deleted} on its PUB
 * socket core-events; each _OST the guest reports is published as
 * Event{acpi_device_ost}.  Before the boot an unplug removes at once.
 *
 * MachinePowerdown{force=false} presses the ACPI power button (the GED's
 * power-down event and its interrupt) and answers at once; the guest's S5
 * ends the core with status 0.  force=true ends the core now.
 *
 * A RegionMap's fd travels before the request, under the request's fd_tag;
 * the core takes it off the fd channel before checking anything else, so
 * that a refused request never leaves an fd behind to confuse the next one.
 * Every request is checked whole before its first side effect; a refused
 * one is answered ErrorReply{code, field, rule}, logged, and changes nothing.
 */
#include "core.h"
#include "nfit.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend_config.h"
#include "fd.h"
#include "ipc.h"
#include "log.h"

#define PLANE_PAGE_SIZE      4096ull
#define PLANE_FD_WAIT_MS     2000 /* a RegionMap's fd is sent before the request */
#define PLANE_DEVICE_WAIT_MS 5000 /* device processes attaching before the boot */
#define PLANE_PAUSE_WAIT_MS  2000

enum plane_state {
	PLANE_NEW,        /* no MachineStart yet */
	PLANE_CONFIGURED, /* machine created, vCPUs not started */
	PLANE_RUNNING,    /* vCPUs started (maybe paused) */
	PLANE_FAILED,     /* the boot failed: only power-down is left */
	PLANE_STOPPING,   /* powered down: waiting for main to end us */
};

struct machine_plane {
	struct machine *m;
	struct core_config cfg; /* the config m->cfg points to */
	struct ipc_chan *chan;
	struct ipc_fdchan *fdch;
	/*
	 * PUB core-events: what the guest did to a DIMM (DEVICE_DELETED after
	 * its eject, ACPI_DEVICE_OST), for the supervisor to forward.
	 */
	struct ipc_chan *events;
	/* The DIMM slots' controller (MachineStart with slots), or NULL. */
	struct acpi_hotplug *mhp;
	int mhp_fd;   /* eventfd: the controller queued an eject or an _OST */
	int stop_fd;  /* eventfd: main asks the thread to end */
	int ready_fd; /* eventfd: the thread tells main what happened */
	pthread_t thread;
	bool thread_started;
	/* Written by the plane thread before ready_fd, read by main after. */
	enum plane_state state;
	bool machine_created;
	bool exit_now; /* power-down before any machine existed */
};

/* One answer: an ErrorReply when code is set, else body (or OkReply{text}). */
struct plane_reply {
	Splitvm__ErrorCode code;
	char field[64];
	char text[256];
	const ProtobufCMessage *body;
	Splitvm__OkReply ok;
	Splitvm__MemoryMap map;
	Splitvm__MemoryMapEntry *entries;
	Splitvm__MemoryMapEntry **entry_ptrs;
	Splitvm__Dtb dtb;
};

static void reply_error(struct plane_reply *rp, Splitvm__ErrorCode code, const char *field,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void reply_error(struct plane_reply *rp, Splitvm__ErrorCode code, const char *field,
                        const char *fmt, ...)
{
	va_list ap;

	rp->code = code;
	snprintf(rp->field, sizeof(rp->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(rp->text, sizeof(rp->text), fmt, ap);
	va_end(ap);
}

static void reply_ok(struct plane_reply *rp, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void reply_ok(struct plane_reply *rp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rp->text, sizeof(rp->text), fmt, ap);
	va_end(ap);
	rp->ok.text = rp->text;
	rp->body = &rp->ok.base;
}

static void tell_main(struct machine_plane *p)
{
	uint64_t one = 1;

	if (write(p->ready_fd, &one, sizeof(one)) < 0)
		log_warn("machine plane: waking the main thread");
}

static Splitvm__RegionKind region_kind(enum memmap_kind k)
{
	switch (k) {
	case MEMMAP_RAM:
		return SPLITVM__REGION_KIND__REGION_RAM;
	case MEMMAP_DEVICE_MEMORY:
		return SPLITVM__REGION_KIND__REGION_DEVICE_MEMORY;
	case MEMMAP_MMIO:
		return SPLITVM__REGION_KIND__REGION_MMIO;
	case MEMMAP_RESERVED:
		break;
	}
	return SPLITVM__REGION_KIND__REGION_RESERVED;
}

/* MemoryMap of the whole map; names point into m->mm until the reply is sent. */
static void reply_memory_map(struct machine_plane *p, struct plane_reply *rp)
{
	const struct memmap *mm = &p->m->mm;

	rp->entries = calloc(mm->n ? mm->n : 1, sizeof(*rp->entries));
	rp->entry_ptrs = calloc(mm->n ? mm->n : 1, sizeof(*rp->entry_ptrs));
	if (!rp->entries || !rp->entry_ptrs) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INTERNAL, "", "out of memory");
		return;
	}
	for (unsigned i = 0; i < mm->n; i++) {
		Splitvm__MemoryMapEntry *e = &rp->entries[i];

		splitvm__memory_map_entry__init(e);
		e->name = (char *)mm->r[i].name;
		e->kind = region_kind(mm->r[i].kind);
		e->gpa = mm->r[i].gpa;
		e->size = mm->r[i].size;
		e->readonly = mm->r[i].readonly;
		e->slot = mm->r[i].slot;
		rp->entry_ptrs[i] = e;
	}
	rp->map.n_entries = mm->n;
	rp->map.entries = rp->entry_ptrs;
	rp->body = &rp->map.base;
}

/* Is the machine there to act on?  Else answer why not. */
static bool need_machine(struct machine_plane *p, struct plane_reply *rp)
{
	switch (p->state) {
	case PLANE_NEW:
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "",
		            "no machine yet: send MachineStart first");
		return false;
	case PLANE_FAILED:
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "",
		            "the machine failed to boot; only MachinePowerdown is left");
		return false;
	case PLANE_STOPPING:
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_BUSY, "", "the machine is powering down");
		return false;
	default:
		return true;
	}
}

/* ---- DIMMs: the controller's callbacks and events ---------------------- */

/* acpi_hotplug.irq: pulse the GED's edge-triggered line. */
static void mhp_irq(void *opaque)
{
	struct machine *m = ((struct machine_plane *)opaque)->m;

	if (machine_irq_line(m, MHP_GED_GSI, true) || machine_irq_line(m, MHP_GED_GSI, false))
		log_warnx("GED: cannot pulse GSI %u", MHP_GED_GSI);
}

/* acpi_hotplug.notify, on a vCPU thread: wake the plane's thread. */
static void mhp_notify(void *opaque)
{
	struct machine_plane *p = opaque;
	uint64_t one = 1;

	if (write(p->mhp_fd, &one, sizeof(one)) < 0)
		log_warn("memory hotplug: event eventfd");
}

static void publish(struct machine_plane *p, Splitvm__Event *ev)
{
	struct ipc_err err = { .code = IPC_OK };
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ev->timestamp_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (p->events && ipc_send(p->events, NULL, &ev->base, &err) < 0)
		log_warnx("core-events: %s", err.text);
}

static void publish_deleted(struct machine_plane *p, const char *id)
{
	Splitvm__Event ev = SPLITVM__EVENT__INIT;
	Splitvm__DeviceDeleted dd = SPLITVM__DEVICE_DELETED__INIT;
	char path[MHP_ID_MAX + 32];

	snprintf(path, sizeof(path), "/machine/peripheral/%s", id);
	dd.qom_path = path;
	ev.device = (char *)id;
	ev.kind_case = SPLITVM__EVENT__KIND_DEVICE_DELETED;
	ev.device_deleted = &dd;
	publish(p, &ev);
}

/* Unmap an ejected DIMM's region and free its slot.  Under mm_lock. */
static void dimm_remove(struct machine_plane *p, unsigned slot, const char *id, const char *memdev)
{
	if (machine_unmap_region(p->m, memdev))
		log_warnx("dimm %s: region %s was not in the map", id, memdev);
	mhp_release(p->mhp, slot);
	log_info("dimm %s: ejected from slot %u, region %s unmapped", id, slot, memdev);
}

/*
 * An _OST status that means the guest refused or failed (ACPI 6.5, 6.3.5):
 * 1 and 2 for any event; for an eject request (3) 0x80..0x83, 0x84 being
 * "ejection in progress", which Linux reports before every eject; for a
 * device check or bus check (0, 1) 0x81..0x83, 0x80 being "in progress".
 */
static bool ost_is_failure(uint32_t event, uint32_t status)
{
	if (status == 1 || status == 2)
		return true;
	if (event == 3)
		return status >= 0x80 && status <= 0x83;
	if (event <= 1)
		return status >= 0x81 && status <= 0x83;
	return false;
}

/* The controller's queued events: ejects and _OST reports. */
static void mhp_events(struct machine_plane *p)
{
	struct mhp_event ev[MHP_MAX_EVENTS];
	uint64_t v;
	unsigned n;

	if (read(p->mhp_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("memory hotplug: event eventfd");
	n = mhp_take_events(p->mhp, ev, MHP_MAX_EVENTS);
	for (unsigned i = 0; i < n; i++) {
		if (ev[i].kind == MHP_EV_EJECTED) {
			pthread_rwlock_wrlock(&p->m->mm_lock);
			dimm_remove(p, ev[i].slot, ev[i].id, ev[i].memdev);
			pthread_rwlock_unlock(&p->m->mm_lock);
			publish_deleted(p, ev[i].id);
		} else {
			Splitvm__Event e = SPLITVM__EVENT__INIT;
			Splitvm__AcpiDeviceOst ost = SPLITVM__ACPI_DEVICE_OST__INIT;

			ost.device = ev[i].id;
			ost.slot = ev[i].slot;
			ost.source = ev[i].ost_event;
			ost.status = ev[i].ost_status;
			e.device = ev[i].id;
			e.kind_case = SPLITVM__EVENT__KIND_ACPI_DEVICE_OST;
			e.acpi_device_ost = &ost;
			if (ost_is_failure(ost.source, ost.status))
				log_warnx("dimm %s (slot %u): the guest reports _OST event 0x%x "
				          "status 0x%x",
				          ev[i].id[0] ? ev[i].id : "-", ev[i].slot, ost.source,
				          ost.status);
			else
				log_debug("dimm %s (slot %u): _OST event 0x%x status 0x%x",
				          ev[i].id[0] ? ev[i].id : "-", ev[i].slot, ost.source,
				          ost.status);
			publish(p, &e);
		}
	}
}

/*
 * The GED on every machine (its power button); with DIMM slots the
 * controller's window too.
 */
static int mhp_setup(struct machine_plane *p)
{
	int r;

	r = mhp_create(&p->mhp, p->cfg.slots);
	if (r)
		return r;
	p->mhp->irq = mhp_irq;
	p->mhp->notify = mhp_notify;
	p->mhp->opaque = p;
	r = mhp_register(p->mhp);
	if (r) {
		log_warnx("GED and memory hotplug: registering the MMIO windows: %s", strerror(-r));
		mhp_destroy(p->mhp);
		p->mhp = NULL;
		return r;
	}
	p->m->mhp = p->mhp;
	return 0;
}

/* ---- MachineStart ------------------------------------------------------ */

static void do_machine_start(struct machine_plane *p, const Splitvm__MachineStart *req,
                             struct plane_reply *rp)
{
	struct machine *m = p->m;
	struct core_cfg_err err = { .field = "", .text = "" };
	int r;

	if (p->state != PLANE_NEW) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_ALREADY_EXISTS, "config",
		            "the machine was already started by an earlier MachineStart");
		return;
	}
	if (!req->config) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "config",
		            "MachineStart carries no config");
		return;
	}
	r = core_config_from_vm(&p->cfg, req->config, &err);
	if (r) {
		if (r == -ENOMEM)
			reply_error(rp, SPLITVM__ERROR_CODE__ERR_INTERNAL, "", "out of memory");
		else
			reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, err.field, "%s",
			            err.text);
		return;
	}
	r = machine_create(m, &p->cfg);
	p->machine_created = true;
	if (!r) {
		m->serial = serial_create(m, p->cfg.serial, p->cfg.serial_path);
		r = m->serial ? devices_register(m) : -EIO;
	}
	/* The dev-<id> sockets now; their processes must attach before boot. */
	if (!r)
		r = core_virtio_start(m, 0);
	if (!r)
		r = mhp_setup(p);
	/* NVDIMMs hold their DIMM slots: a DIMM never gets one of them. */
	if (!r)
		r = nfit_reserve_slots(&p->cfg, p->mhp);
	if (r) {
		/* Logged by the step that failed; leave nothing half made. */
		mhp_destroy(p->mhp);
		p->mhp = NULL;
		m->mhp = NULL;
		serial_destroy(m->serial);
		m->serial = NULL;
		machine_destroy(m);
		io_reset();
		p->machine_created = false;
		core_config_release(&p->cfg);
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INTERNAL, "",
		            "cannot create the machine: %s (the core's log says where)",
		            strerror(-r));
		return;
	}
	log_info("machine %s: %u vCPU(s), RAM 0x%" PRIx64 ", maxmem 0x%" PRIx64
	         ", %u slot(s); waiting for base RAM",
	         p->cfg.name, p->cfg.vcpus, p->cfg.ram_size, p->cfg.maxmem, p->cfg.slots);
	p->state = PLANE_CONFIGURED;
	tell_main(p);
	reply_memory_map(p, rp);
}

/* ---- RegionMap / RegionUnmap ------------------------------------------- */

static bool region_name_ok(const char *name)
{
	return name && name[0] && strlen(name) < MEMMAP_REGION_NAME_MAX &&
	       backend_config_id_wellformed(name);
}

static struct memmap_region *region_find(struct memmap *mm, const char *name)
{
	for (unsigned i = 0; i < mm->n; i++) {
		if (!strcmp(mm->r[i].name, name))
			return &mm->r[i];
	}
	return NULL;
}

/* Take the fd sent under @tag; -1 with the reply filled when it is not there. */
static int take_region_fd(struct machine_plane *p, uint64_t tag, struct plane_reply *rp)
{
	struct ipc_fdset *set = NULL;
	struct ipc_err err = { .code = IPC_OK };
	int fd;

	if (tag == 0) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "fd_tag",
		            "must name the fd sent on the fd channel before the request");
		return -1;
	}
	if (ipc_fdchan_recv(p->fdch, tag, PLANE_FD_WAIT_MS, &set, &err) < 0) {
		reply_error(rp,
		            err.code == IPC_ERR_TIMEOUT ? SPLITVM__ERROR_CODE__ERR_TIMEOUT
		                                        : SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT,
		            "fd_tag", "no fd under tag %" PRIu64 " on the fd channel: %s", tag,
		            err.text);
		return -1;
	}
	fd = set->nfds == 1 ? ipc_fdset_take(set, 0) : -1;
	if (fd < 0)
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "fd_tag",
		            "tag %" PRIu64 " carried %u fds; a region takes exactly one", tag,
		            set->nfds);
	ipc_fdset_release(set);
	return fd;
}

static bool page_aligned(struct plane_reply *rp, const char *field, uint64_t v)
{
	if (v % PLANE_PAGE_SIZE == 0)
		return true;
	reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, field,
	            "0x%" PRIx64 " is not a multiple of the page size (0x%llx)", v,
	            PLANE_PAGE_SIZE);
	return false;
}

/*
 * Every rule of a RegionMap that does not need the fd's contents.  *ram is
 * the base-RAM entry it maps, or NULL for a device-memory region.
 */
static bool region_map_check(struct machine_plane *p, const Splitvm__RegionMap *req, int fd,
                             struct memmap_region **ram, struct plane_reply *rp)
{
	struct memmap *mm = &p->m->mm;
	struct memmap_region *r;
	uint64_t end, fd_end;
	struct stat st;

	*ram = NULL;
	if (!region_name_ok(req->region)) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "region",
		            "'%s' is not an id (a letter, then letters, digits, '-', '.', '_'; "
		            "at most %zu bytes)",
		            req->region ? req->region : "", sizeof(r->name) - 1);
		return false;
	}
	if (req->size == 0) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "size",
		            "region '%s': the size must not be zero", req->region);
		return false;
	}
	if (!page_aligned(rp, "gpa", req->gpa) || !page_aligned(rp, "size", req->size) ||
	    !page_aligned(rp, "offset", req->offset))
		return false;
	if (__builtin_add_overflow(req->gpa, req->size, &end) ||
	    __builtin_add_overflow(req->offset, req->size, &fd_end)) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "size",
		            "region '%s': gpa or offset + size overflows 64 bits", req->region);
		return false;
	}

	r = region_find(mm, req->region);
	if (r && r->kind == MEMMAP_RAM && !r->host) {
		if (req->gpa != r->gpa || req->size != r->size) {
			reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT,
			            req->gpa != r->gpa ? "gpa" : "size",
			            "base RAM region '%s' is [0x%" PRIx64 ", 0x%" PRIx64
			            "): map it whole, not [0x%" PRIx64 ", 0x%" PRIx64 ")",
			            r->name, r->gpa, r->gpa + r->size, req->gpa, end);
			return false;
		}
		if (req->readonly) {
			reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "readonly",
			            "base RAM region '%s' must be writable", r->name);
			return false;
		}
		*ram = r;
	} else if (r) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_ALREADY_EXISTS, "region",
		            "region '%s' is already in the memory map", r->name);
		return false;
	} else {
		if (mm->devmem_size == 0 || req->gpa < mm->devmem_base ||
		    end > mm->devmem_base + mm->devmem_size) {
			reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "gpa",
			            "region '%s' [0x%" PRIx64 ", 0x%" PRIx64
			            ") is outside the device-memory area [0x%" PRIx64 ", 0x%" PRIx64
			            ") and is not a base-RAM range",
			            req->region, req->gpa, end, mm->devmem_base,
			            mm->devmem_base + mm->devmem_size);
			return false;
		}
		for (unsigned i = 0; i < mm->n; i++) {
			const struct memmap_region *o = &mm->r[i];

			if (o->kind != MEMMAP_DEVICE_MEMORY || req->gpa >= o->gpa + o->size ||
			    o->gpa >= end)
				continue;
			reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "gpa",
			            "region '%s' [0x%" PRIx64 ", 0x%" PRIx64
			            ") overlaps region '%s' [0x%" PRIx64 ", 0x%" PRIx64 ")",
			            req->region, req->gpa, end, o->name, o->gpa, o->gpa + o->size);
			return false;
		}
	}
	if (fstat(fd, &st) < 0) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INTERNAL, "fd_tag", "fstat: %s",
		            strerror(errno));
		return false;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < fd_end) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "size",
		            "region '%s': the fd holds 0x%llx bytes, fewer than offset + size "
		            "= 0x%" PRIx64,
		            req->region,
		            S_ISREG(st.st_mode) ? (unsigned long long)st.st_size : 0ull, fd_end);
		return false;
	}
	return true;
}

/*
 * RegionMap{sparse, owner_device}: register only.  The core keeps the fd and
 * reserves the range; the owner's DeviceSlotMap maps slots of it later, so
 * that no unplugged block is ever reachable by the guest or the ring walker.
 */
static void do_sparse_map(struct machine_plane *p, const Splitvm__RegionMap *req,
                          const struct memmap_region *ram, int *fd, struct plane_reply *rp)
{
	struct machine *m = p->m;
	bool known = false;
	int e;

	if (!req->sparse) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "owner_device",
		            "region '%s': owner_device is only for a sparse region", req->region);
		return;
	}
	if (ram) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "sparse",
		            "base RAM region '%s' cannot be sparse", req->region);
		return;
	}
	if (req->readonly) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "readonly",
		            "sparse region '%s': its owner device maps slots writable",
		            req->region);
		return;
	}
	for (unsigned i = 0; req->owner_device && i < p->cfg.n_virtio; i++)
		known = known || !strcmp(p->cfg.virtio[i].id, req->owner_device);
	if (!known) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "owner_device",
		            "sparse region '%s': owner_device '%s' is not a virtio device of "
		            "the machine",
		            req->region, req->owner_device ? req->owner_device : "");
		return;
	}
	e = machine_sparse_add(m, req->region, req->owner_device, req->gpa, req->size, req->offset,
	                       fd);
	if (e) {
		reply_error(rp,
		            e == -ENOSPC   ? SPLITVM__ERROR_CODE__ERR_NO_SPACE
		            : e == -EEXIST ? SPLITVM__ERROR_CODE__ERR_ALREADY_EXISTS
		                           : SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT,
		            e == -EEXIST ? "owner_device" : "region",
		            "sparse region '%s' of device %s: %s", req->region, req->owner_device,
		            e == -EEXIST ? "the device has a sparse region already" : strerror(-e));
		return;
	}
	if (devplane_set_region(m->devplane, req->owner_device, req->gpa, req->size))
		log_warnx("sparse region %s: device %s has no transport", req->region,
		          req->owner_device);
	log_info("registered sparse region %s of device %s at [0x%" PRIx64 ", 0x%" PRIx64 ")",
	         req->region, req->owner_device, req->gpa, req->gpa + req->size);
	reply_ok(rp, "registered sparse region %s at 0x%" PRIx64 " for device %s", req->region,
	         req->gpa, req->owner_device);
}

static void do_region_map(struct machine_plane *p, const Splitvm__RegionMap *req,
                          struct plane_reply *rp)
{
	struct machine *m = p->m;
	struct memmap_region *ram = NULL, *r;
	struct memmap_region reg;
	void *host;
	int fd, e;

	/* The fd first, whatever follows: see the top of this file. */
	fd = take_region_fd(p, req->fd_tag, rp);
	if (fd < 0)
		return;
	if (!need_machine(p, rp) || !region_map_check(p, req, fd, &ram, rp))
		goto out;
	if (req->sparse || (req->owner_device && req->owner_device[0])) {
		do_sparse_map(p, req, ram, &fd, rp);
		goto out;
	}

	host = mmap(NULL, req->size, PROT_READ | (req->readonly ? 0 : PROT_WRITE), MAP_SHARED, fd,
	            (off_t)req->offset);
	if (host == MAP_FAILED) {
		e = errno;
		reply_error(rp,
		            e == EACCES ? SPLITVM__ERROR_CODE__ERR_PERMISSION
		                        : SPLITVM__ERROR_CODE__ERR_INTERNAL,
		            "fd_tag", "mmap of region '%s': %s", req->region, strerror(e));
		goto out;
	}
	/* Guest memory in a core dump would be large and the guest's secrets. */
	madvise(host, req->size, MADV_DONTDUMP);

	if (ram) {
		ram->host = host;
		ram->host_owned = true;
		e = machine_slot_attach(m, ram);
		if (e) {
			ram->host = NULL;
			ram->host_owned = false;
		}
		r = ram;
	} else {
		reg = (struct memmap_region){
			.kind = MEMMAP_DEVICE_MEMORY,
			.gpa = req->gpa,
			.size = req->size,
			.host = host,
			.slot = -1,
			.readonly = req->readonly,
			.host_owned = true,
		};
		snprintf(reg.name, sizeof(reg.name), "%s", req->region);
		e = memmap_add(&m->mm, &reg);
		r = e ? NULL : region_find(&m->mm, req->region);
		if (r) {
			e = machine_slot_attach(m, r);
			if (e && memmap_remove(&m->mm, req->region))
				log_warnx("region %s: lost from the map", req->region);
		}
	}
	if (e) {
		munmap(host, req->size);
		reply_error(rp,
		            e == -ENOSPC    ? SPLITVM__ERROR_CODE__ERR_NO_SPACE
		            : e == -ENOTSUP ? SPLITVM__ERROR_CODE__ERR_UNSUPPORTED
		                            : SPLITVM__ERROR_CODE__ERR_INTERNAL,
		            e == -ENOTSUP ? "readonly" : "region", "region '%s': %s", req->region,
		            e == -ENOSPC ? "no KVM memslot or map entry is free" : strerror(-e));
		goto out;
	}
	log_info("mapped region %s at [0x%" PRIx64 ", 0x%" PRIx64 ")%s, slot %d", r->name, r->gpa,
	         r->gpa + r->size, r->readonly ? " read-only" : "", r->slot);
	reply_ok(rp, "mapped region %s at 0x%" PRIx64 ", slot %d", r->name, r->gpa, r->slot);
out:
	close_fd(&fd);
}

/*
 * The id of the DIMM whose memory region @memdev is, copied to @id; false
 * when none.  Such a region goes only through the controller: unmapping it
 * under a slot the guest sees as present would pull memory from under it.
 */
static bool dimm_of_region(struct machine_plane *p, const char *memdev, char id[MHP_ID_MAX])
{
	bool found = false;

	if (!p->mhp)
		return false;
	pthread_mutex_lock(&p->mhp->lock);
	for (unsigned i = 0; i < p->mhp->n_slots && !found; i++) {
		const struct mhp_slot *s = &p->mhp->slot[i];

		if (s->used && !strcmp(s->memdev, memdev)) {
			memcpy(id, s->id, MHP_ID_MAX);
			found = true;
		}
	}
	pthread_mutex_unlock(&p->mhp->lock);
	return found;
}

static void do_region_unmap(struct machine_plane *p, const Splitvm__RegionUnmap *req,
                            struct plane_reply *rp)
{
	const struct memmap_region *r;
	char dimm[MHP_ID_MAX];

	if (!need_machine(p, rp))
		return;
	r = req->region ? region_find(&p->m->mm, req->region) : NULL;
	if (!r || (r->kind != MEMMAP_DEVICE_MEMORY && r->kind != MEMMAP_RAM)) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_NOT_FOUND, "region",
		            "no region '%s' was mapped by RegionMap",
		            req->region ? req->region : "");
		return;
	}
	if (r->kind == MEMMAP_RAM) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_IN_USE, "region",
		            "'%s' is the guest's base RAM: it stays mapped while the machine lives",
		            r->name);
		return;
	}
	if (dimm_of_region(p, r->name, dimm)) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_IN_USE, "region",
		            "'%s' is the memory of dimm %s: DimmUnplugRequest it, the guest's "
		            "eject unmaps it",
		            r->name, dimm);
		return;
	}
	if (machine_unmap_region(p->m, req->region)) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INTERNAL, "region",
		            "region '%s' vanished from the map", req->region);
		return;
	}
	log_info("unmapped region %s", req->region);
	reply_ok(rp, "unmapped region %s", req->region);
}

/* ---- DimmPlug / DimmUnplugRequest -------------------------------------- */

static bool dimm_ready(struct machine_plane *p, struct plane_reply *rp)
{
	if (!need_machine(p, rp))
		return false;
	if (!p->mhp || !p->mhp->n_slots) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_NO_SPACE, "slots",
		            "the machine has no DIMM slots (-m ...,slots=N, <maxMemory slots=>)");
		return false;
	}
	return true;
}

/*
 * Every rule of a DimmPlug before its first side effect; *align gets the
 * backend's page size (QEMU aligns a DIMM to its backend's pages).
 */
static bool dimm_plug_check(struct machine_plane *p, const Splitvm__DimmPlug *req, int fd,
                            uint64_t *align, struct plane_reply *rp)
{
	const Splitvm__DeviceConfig *d = req->device;
	struct mhp_slot cur;
	struct stat st;

	if (!d || !d->id || !d->id[0] || strlen(d->id) >= MHP_ID_MAX ||
	    !backend_config_id_wellformed(d->id)) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "device.id",
		            "a DIMM needs an id (a letter, then letters, digits, '-', '.', '_'; at "
		            "most %d bytes)",
		            MHP_ID_MAX - 1);
		return false;
	}
	if (d->model != SPLITVM__DEVICE_MODEL__MODEL_DIMM) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "device.model",
		            "dimm %s: DimmPlug takes a pc-dimm, not model %d", d->id, d->model);
		return false;
	}
	if (!region_name_ok(d->memdev)) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "device.memdev",
		            "dimm %s: memdev '%s' is not a backend id", d->id,
		            d->memdev ? d->memdev : "");
		return false;
	}
	if (mhp_lookup(p->mhp, d->id, &cur) == 0) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_ALREADY_EXISTS, "device.id",
		            "dimm %s is plugged already (memdev %s)", d->id, cur.memdev);
		return false;
	}
	if (region_find(&p->m->mm, d->memdev)) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_IN_USE, "device.memdev",
		            "dimm %s: memdev %s is mapped already", d->id, d->memdev);
		return false;
	}
	if (d->slot >= 0 && (uint32_t)d->slot >= p->cfg.slots) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "device.slot",
		            "dimm %s: slot %d is not below the machine's %u slots", d->id, d->slot,
		            p->cfg.slots);
		return false;
	}
	if (d->node >= 0 && p->cfg.n_numa) {
		bool known = false;

		for (unsigned i = 0; i < p->cfg.n_numa; i++)
			known = known || p->cfg.numa[i].node_id == (uint32_t)d->node;
		if (!known) {
			reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "device.node",
			            "dimm %s: node %d is not a NUMA node of the machine", d->id,
			            d->node);
			return false;
		}
	} else if (d->node > 0 && !p->cfg.n_numa) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "device.node",
		            "dimm %s: node %d given, but the machine has no NUMA nodes", d->id,
		            d->node);
		return false;
	}
	if (fstat(fd, &st) < 0) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INTERNAL, "fd_tag", "fstat: %s",
		            strerror(errno));
		return false;
	}
	/* hugetlbfs reports its page size as the block size. */
	*align = PLANE_PAGE_SIZE;
	if (st.st_blksize > 0 && ((uint64_t)st.st_blksize & ((uint64_t)st.st_blksize - 1)) == 0 &&
	    (uint64_t)st.st_blksize > *align)
		*align = (uint64_t)st.st_blksize;
	if (req->size == 0 || req->size % *align) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "size",
		            "dimm %s: size 0x%" PRIx64 " is not a non-zero multiple of the "
		            "backend's page size 0x%" PRIx64,
		            d->id, req->size, *align);
		return false;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < req->size) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "size",
		            "dimm %s: the backend holds 0x%llx bytes, fewer than 0x%" PRIx64, d->id,
		            S_ISREG(st.st_mode) ? (unsigned long long)st.st_size : 0ull, req->size);
		return false;
	}
	return true;
}

static void do_dimm_plug(struct machine_plane *p, const Splitvm__DimmPlug *req,
                         struct plane_reply *rp)
{
	struct machine *m = p->m;
	const Splitvm__DeviceConfig *d = req->device;
	struct memmap_region reg, *r;
	uint64_t align = PLANE_PAGE_SIZE, gpa = 0;
	bool hot = p->state == PLANE_RUNNING;
	uint32_t node;
	unsigned slot = 0;
	void *host;
	int fd, e;

	fd = take_region_fd(p, req->fd_tag, rp);
	if (fd < 0)
		return;
	if (!dimm_ready(p, rp) || !dimm_plug_check(p, req, fd, &align, rp))
		goto out;
	e = memmap_devmem_place(&m->mm, req->size, align, d->addr, &gpa);
	if (e) {
		reply_error(
		        rp,
		        e == -ENOSPC ? SPLITVM__ERROR_CODE__ERR_NO_SPACE
		                     : SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT,
		        d->addr ? "device.addr" : "size",
		        e == -EINVAL   ? "dimm %s: addr 0x%" PRIx64 " is not aligned to 0x%" PRIx64
		        : e == -ERANGE ? "dimm %s: [0x%" PRIx64 ", +0x%" PRIx64
		                         ") is outside the device-memory area"
		        : e == -EEXIST ? "dimm %s: addr 0x%" PRIx64 " overlaps another device's "
		                         "memory (size 0x%" PRIx64 ")"
		                       : "dimm %s: no free range at 0x%" PRIx64 " for 0x%" PRIx64
		                         " bytes in the device-memory area",
		        d->id, d->addr, e == -EINVAL ? align : req->size);
		goto out;
	}
	host = mmap(NULL, req->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (host == MAP_FAILED) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INTERNAL, "fd_tag", "dimm %s: mmap: %s",
		            d->id, strerror(errno));
		goto out;
	}
	madvise(host, req->size, MADV_DONTDUMP);
	reg = (struct memmap_region){
		.kind = MEMMAP_DEVICE_MEMORY,
		.gpa = gpa,
		.size = req->size,
		.host = host,
		.slot = -1,
		.host_owned = true,
	};
	snprintf(reg.name, sizeof(reg.name), "%s", d->memdev);
	e = memmap_add(&m->mm, &reg);
	r = e ? NULL : region_find(&m->mm, d->memdev);
	if (!r) {
		munmap(host, req->size);
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_NO_SPACE, "device.memdev",
		            "dimm %s: the memory map has no room: %s", d->id, strerror(-e));
		goto out;
	}
	e = machine_slot_attach(m, r);
	node = d->node > 0 ? (uint32_t)d->node : 0;
	/* Announce only what is mapped: the slot comes last. */
	if (!e)
		e = mhp_plug(p->mhp, d->slot, d->id, d->memdev, gpa, req->size, node, hot, &slot);
	if (e) {
		if (machine_unmap_region(m, d->memdev))
			log_warnx("dimm %s: region %s lost from the map", d->id, d->memdev);
		reply_error(rp,
		            e == -ENOSPC  ? SPLITVM__ERROR_CODE__ERR_NO_SPACE
		            : e == -EBUSY ? SPLITVM__ERROR_CODE__ERR_IN_USE
		                          : SPLITVM__ERROR_CODE__ERR_INTERNAL,
		            e == -EBUSY || e == -ENOSPC ? "device.slot" : "device",
		            e == -ENOSPC  ? "dimm %s: every one of the %u DIMM slots is taken"
		            : e == -EBUSY ? "dimm %s: slot %d of %u is taken"
		                          : "dimm %s: cannot plug it (%d of %u)",
		            d->id, e == -EBUSY ? d->slot : (int)p->cfg.slots, p->cfg.slots);
		goto out;
	}
	log_info("dimm %s: %s-plugged in slot %u at [0x%" PRIx64 ", 0x%" PRIx64
	         "), node %u, memslot %d",
	         d->id, hot ? "hot" : "cold", slot, gpa, gpa + req->size, node, r->slot);
	reply_ok(rp, "dimm %s slot %u addr 0x%" PRIx64 " size 0x%" PRIx64 " node %u", d->id, slot,
	         gpa, req->size, node);
out:
	close_fd(&fd);
}

static void do_dimm_unplug(struct machine_plane *p, const Splitvm__DimmUnplugRequest *req,
                           struct plane_reply *rp)
{
	struct mhp_slot cur;
	unsigned slot;
	int e;

	if (!dimm_ready(p, rp))
		return;
	if (!req->device || mhp_lookup(p->mhp, req->device, &cur)) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_NOT_FOUND, "device",
		            "no dimm '%s' is plugged", req->device ? req->device : "");
		return;
	}
	if (p->state == PLANE_CONFIGURED) {
		/* No guest yet to ask: remove it now, as an eject would. */
		for (slot = 0; slot < p->mhp->n_slots; slot++)
			if (p->mhp->slot[slot].used && !strcmp(p->mhp->slot[slot].id, req->device))
				break;
		pthread_rwlock_wrlock(&p->m->mm_lock);
		dimm_remove(p, slot, cur.id, cur.memdev);
		pthread_rwlock_unlock(&p->m->mm_lock);
		publish_deleted(p, cur.id);
		reply_ok(rp, "dimm %s removed before the boot", cur.id);
		return;
	}
	e = mhp_unplug_request(p->mhp, req->device, &slot);
	if (e) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_BUSY, "device",
		            "dimm %s is being removed already", req->device);
		return;
	}
	log_info("dimm %s: asked the guest to eject slot %u", req->device, slot);
	reply_ok(rp, "dimm %s: eject requested (slot %u)", req->device, slot);
}

/* ---- vCPUs ------------------------------------------------------------- */

/* The first VcpusResume: load, build the tables, create and start the vCPUs. */
static void machine_boot(struct machine_plane *p, struct plane_reply *rp)
{
	struct machine *m = p->m;
	struct acpi_blob acpi = { .n = 0 };
	int r;

	for (unsigned i = 0; i < m->mm.n; i++) {
		const struct memmap_region *ram = &m->mm.r[i];

		if (ram->kind == MEMMAP_RAM && !ram->host) {
			reply_error(
			        rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "region",
			        "base RAM region '%s' [0x%" PRIx64 ", 0x%" PRIx64
			        ") is not mapped yet: RegionMap it before the first VcpusResume",
			        ram->name, ram->gpa, ram->gpa + ram->size);
			return;
		}
	}
	/* virtio-mmio has no hotplug: every device process attaches first. */
	r = m->devplane ? devplane_wait_attached(m->devplane, PLANE_DEVICE_WAIT_MS) : 0;
	if (!r)
		r = boot_load(m);
	if (!r)
		r = acpi_build(m, &acpi);
	acpi_blob_free(&acpi);
	if (!r)
		r = machine_vcpus_create(m);
	if (!r)
		r = machine_vcpus_start(m);
	if (r) {
		p->state = PLANE_FAILED;
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "kernel",
		            "the boot of %s failed: %s (the core's log says why)", p->cfg.kernel,
		            strerror(-r));
		return;
	}
	p->state = PLANE_RUNNING;
	log_info("started %u vCPU(s), entry 0x%" PRIx64, m->n_vcpus, m->entry);
	reply_ok(rp, "started %u vCPU(s)", m->n_vcpus);
}

static void do_vcpus_pause(struct machine_plane *p, struct plane_reply *rp)
{
	int r;

	if (!need_machine(p, rp))
		return;
	if (p->state == PLANE_CONFIGURED) {
		reply_ok(rp, "the vCPUs have not started yet");
		return;
	}
	r = machine_vcpus_pause(p->m, PLANE_PAUSE_WAIT_MS);
	if (r == -ETIMEDOUT)
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_TIMEOUT, "",
		            "not every vCPU left KVM_RUN within %d ms; they run on",
		            PLANE_PAUSE_WAIT_MS);
	else if (r)
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_BUSY, "", "the machine is stopping");
	else
		reply_ok(rp, "paused %u vCPU(s)", p->m->n_started);
}

static void do_vcpus_resume(struct machine_plane *p, struct plane_reply *rp)
{
	if (!need_machine(p, rp))
		return;
	if (p->state == PLANE_CONFIGURED) {
		machine_boot(p, rp);
		return;
	}
	machine_vcpus_resume(p->m);
	reply_ok(rp, "resumed %u vCPU(s)", p->m->n_started);
}

/* ---- power-down, queries ----------------------------------------------- */

/*
 * force: stop now.  Otherwise press the ACPI power button and answer at
 * once, as QEMU's system_powerdown does: the machine stops when the guest
 * powers off (S5 through the FADT's sleep control register, the core's
 * exit), or never, if the guest ignores the button.
 */
static void do_powerdown(struct machine_plane *p, const Splitvm__MachinePowerdown *req,
                         struct plane_reply *rp, bool *exit_after)
{
	if (!req->force) {
		if (!need_machine(p, rp))
			return;
		if (!p->mhp) {
			reply_error(rp, SPLITVM__ERROR_CODE__ERR_INTERNAL, "force",
			            "the machine has no GED");
			return;
		}
		ged_power_button(p->mhp);
		log_info("power button pressed (ACPI GED): the guest decides");
		reply_ok(rp, "power button pressed");
		return;
	}
	if (p->state == PLANE_STOPPING) {
		reply_ok(rp, "already powering down");
		return;
	}
	reply_ok(rp, "powering down now");
	*exit_after = true;
}

static void do_dtb(struct machine_plane *p, struct plane_reply *rp)
{
	if (!need_machine(p, rp))
		return;
	if (!p->m->dtb) {
		reply_error(rp, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "",
		            "the device tree is built at the first VcpusResume");
		return;
	}
	rp->dtb.blob.data = p->m->dtb;
	rp->dtb.blob.len = p->m->dtb_size;
	rp->body = &rp->dtb.base;
}

/* ---- serving ----------------------------------------------------------- */

static void serve(struct machine_plane *p, const struct ipc_msg *req)
{
	struct plane_reply rp;
	struct ipc_err err = { .code = IPC_OK };
	bool exit_after = false;
	int r;

	memset(&rp, 0, sizeof(rp));
	splitvm__ok_reply__init(&rp.ok);
	splitvm__memory_map__init(&rp.map);
	splitvm__dtb__init(&rp.dtb);

	switch (req->type->type) {
	case SPLITVM__MSG_TYPE__MSG_MACHINE_START:
		do_machine_start(p, (const void *)req->body, &rp);
		break;
	case SPLITVM__MSG_TYPE__MSG_REGION_MAP:
		/* The device plane's thread walks rings through the map. */
		pthread_rwlock_wrlock(&p->m->mm_lock);
		do_region_map(p, (const void *)req->body, &rp);
		pthread_rwlock_unlock(&p->m->mm_lock);
		break;
	case SPLITVM__MSG_TYPE__MSG_REGION_UNMAP:
		pthread_rwlock_wrlock(&p->m->mm_lock);
		do_region_unmap(p, (const void *)req->body, &rp);
		pthread_rwlock_unlock(&p->m->mm_lock);
		break;
	case SPLITVM__MSG_TYPE__MSG_VCPUS_PAUSE:
		do_vcpus_pause(p, &rp);
		break;
	case SPLITVM__MSG_TYPE__MSG_VCPUS_RESUME:
		do_vcpus_resume(p, &rp);
		break;
	case SPLITVM__MSG_TYPE__MSG_MACHINE_POWERDOWN:
		do_powerdown(p, (const void *)req->body, &rp, &exit_after);
		break;
	case SPLITVM__MSG_TYPE__MSG_MEMORY_MAP_QUERY:
		if (need_machine(p, &rp))
			reply_memory_map(p, &rp);
		break;
	case SPLITVM__MSG_TYPE__MSG_DTB_QUERY:
		do_dtb(p, &rp);
		break;
	case SPLITVM__MSG_TYPE__MSG_DIMM_PLUG:
		pthread_rwlock_wrlock(&p->m->mm_lock);
		do_dimm_plug(p, (const void *)req->body, &rp);
		pthread_rwlock_unlock(&p->m->mm_lock);
		break;
	case SPLITVM__MSG_TYPE__MSG_DIMM_UNPLUG_REQUEST:
		do_dimm_unplug(p, (const void *)req->body, &rp);
		break;
	default:
		reply_error(&rp, SPLITVM__ERROR_CODE__ERR_UNSUPPORTED, "",
		            "%s is not served by splitvm-core yet", req->type->name);
		break;
	}

	if (rp.code != SPLITVM__ERROR_CODE__ERR_NONE) {
		log_warnx("%s refused: %s%s%s", req->type->name, rp.field, rp.field[0] ? ": " : "",
		          rp.text);
		r = ipc_reply_error(p->chan, req, rp.code, rp.field, &err, "%s", rp.text);
	} else {
		r = ipc_reply(p->chan, req, rp.body, &err);
	}
	if (r < 0)
		log_warnx("machine plane: answering %s: %s", req->type->name, err.text);
	free(rp.entries);
	free(rp.entry_ptrs);

	/* After the answer has left: the supervisor learns it before we go. */
	if (exit_after) {
		log_info("power-down (force) from the supervisor");
		if (p->machine_created) {
			machine_request_exit(p->m, MACHINE_EXIT_POWEROFF, 0);
		} else {
			p->exit_now = true;
			tell_main(p);
		}
		p->state = PLANE_STOPPING;
	}
}

static void *plane_thread(void *arg)
{
	struct machine_plane *p = arg;
	struct ipc_err err = { .code = IPC_OK };
	int chan_fd;

	if (ipc_chan_poll_fd(p->chan, &chan_fd, &err) < 0) {
		log_warnx("machine plane: %s", err.text);
		return NULL;
	}
	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = chan_fd, .events = POLLIN },
			{ .fd = p->stop_fd, .events = POLLIN },
			{ .fd = p->mhp_fd, .events = POLLIN },
		};
		struct ipc_msg *req = NULL;

		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("machine plane: poll");
			break;
		}
		if (pfd[1].revents & POLLIN)
			break;
		if ((pfd[2].revents & POLLIN) && p->mhp)
			mhp_events(p);
		if (!(pfd[0].revents & POLLIN))
			continue;
		/* A malformed request is answered and logged by ipc/. */
		if (ipc_serve_recv(p->chan, 0, &req, &err) < 0)
			continue;
		serve(p, req);
		ipc_msg_free(req);
	}
	return NULL;
}

int machine_plane_create(struct machine_plane **out, struct machine *m, const char *run_dir,
                         const char *chan_name, int fdchan_fd)
{
	static const struct ipc_chan_opts opts = { .planes = PROTO_PLANE_MACHINE };
	static const struct ipc_chan_opts ev_opts = { .planes = PROTO_PLANE_EVENT };
	struct machine_plane *p;
	struct ipc_err err = { .code = IPC_OK };
	int r = -ENOMEM;

	p = calloc(1, sizeof(*p));
	if (!p) {
		close_fd(&fdchan_fd);
		return -ENOMEM;
	}
	p->m = m;
	p->stop_fd = -1;
	p->ready_fd = -1;
	p->mhp_fd = -1;
	p->state = PLANE_NEW;
	if (ipc_fdchan_wrap(&p->fdch, take_fd(&fdchan_fd), getuid(), &err) < 0) {
		log_warnx("--fd-chan-fd: %s", err.text);
		r = -EINVAL;
		goto fail;
	}
	if (ipc_chan_bind(&p->chan, IPC_ROLE_REP, run_dir, chan_name, &opts, &err) < 0) {
		log_warnx("--machine-chan %s: %s", chan_name, err.text);
		r = -EINVAL;
		goto fail;
	}
	if (ipc_chan_bind(&p->events, IPC_ROLE_PUB, run_dir, "core-events", &ev_opts, &err) < 0) {
		log_warnx("core-events: %s", err.text);
		r = -EINVAL;
		goto fail;
	}
	p->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->ready_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->mhp_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->stop_fd < 0 || p->ready_fd < 0 || p->mhp_fd < 0) {
		r = -errno;
		log_warn("eventfd");
		goto fail;
	}
	*out = p;
	return 0;
fail:
	machine_plane_destroy(p);
	return r;
}

int machine_plane_start(struct machine_plane *p)
{
	int r = -pthread_create(&p->thread, NULL, plane_thread, p);

	if (r) {
		log_warnx("machine plane: pthread_create: %s", strerror(-r));
		return r;
	}
	p->thread_started = true;
	return 0;
}

int machine_plane_ready_fd(const struct machine_plane *p)
{
	return p->ready_fd;
}

int machine_plane_outcome(struct machine_plane *p)
{
	uint64_t v;

	if (read(p->ready_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("machine plane: ready eventfd");
	if (p->exit_now)
		return MACHINE_PLANE_EXIT;
	return p->state == PLANE_NEW ? MACHINE_PLANE_WAITING : MACHINE_PLANE_MACHINE;
}

bool machine_plane_has_machine(const struct machine_plane *p)
{
	return p && p->machine_created;
}

void machine_plane_stop(struct machine_plane *p)
{
	uint64_t one = 1;

	if (!p || !p->thread_started)
		return;
	if (write(p->stop_fd, &one, sizeof(one)) < 0)
		log_warn("machine plane: stop eventfd");
	pthread_join(p->thread, NULL);
	p->thread_started = false;
}

void machine_plane_destroy(struct machine_plane *p)
{
	if (!p)
		return;
	machine_plane_stop(p);
	ipc_chan_destroy(p->chan);
	ipc_chan_destroy(p->events);
	ipc_fdchan_destroy(p->fdch);
	close_fd(&p->stop_fd);
	close_fd(&p->ready_fd);
	close_fd(&p->mhp_fd);
	if (p->m && p->m->mhp == p->mhp)
		p->m->mhp = NULL;
	mhp_destroy(p->mhp);
	core_config_release(&p->cfg);
	free(p);
}
