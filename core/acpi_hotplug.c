/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ACPI memory-hotplug controller and the Generic Event Device: the
 * register files the DIMMs' AML drives (QEMU's layout and semantics, see
 * core.h) and that AML itself.  Linux's acpi_memhotplug and its GED driver
 * were written against QEMU's, so keeping to it keeps them working: the
 * same registers, the same order of accesses, the same answers.  The GED
 * also carries the ACPI power button (QEMU's ACPI_GED_PWR_DOWN_EVT), so
 * every machine has one, with or without DIMM slots.
 *
 * The guest's writes never block: an eject or an _OST status is queued for
 * the machine plane's thread, which unmaps the memory and tells the
 * supervisor.  The guest sees an ejected slot as empty at once (QEMU's
 * unplug is synchronous too, and Linux reads _STA right after _EJ0).
 */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int mhp_create(struct acpi_hotplug **out, unsigned n_slots)
{
	struct acpi_hotplug *h;
	int r;

	if (n_slots > CORE_MAX_RAM_SLOTS)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	r = -pthread_mutex_init(&h->lock, NULL);
	if (r) {
		free(h);
		return r;
	}
	h->n_slots = n_slots;
	*out = h;
	return 0;
}

void mhp_destroy(struct acpi_hotplug *h)
{
	if (!h)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* Under the lock: an event for the GED; the caller pulses the line after. */
static void ged_set_locked(struct acpi_hotplug *h, uint32_t ev)
{
	h->ged_sel |= ev;
}

static void ged_pulse(struct acpi_hotplug *h)
{
	if (h->irq)
		h->irq(h->opaque);
}

static int slot_of_locked(const struct acpi_hotplug *h, const char *id)
{
	for (unsigned i = 0; i < h->n_slots; i++) {
		if (h->slot[i].used && !strcmp(h->slot[i].id, id))
			return (int)i;
	}
	return -1;
}

int mhp_plug(struct acpi_hotplug *h, int slot, const char *id, const char *memdev, uint64_t addr,
             uint64_t size, uint32_t node, bool hotplugged, unsigned *slot_out)
{
	struct mhp_slot *s;
	int r = 0;

	if (strlen(id) >= MHP_ID_MAX || strlen(memdev) >= MEMMAP_REGION_NAME_MAX)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	if (slot_of_locked(h, id) >= 0) {
		r = -EEXIST;
		goto out;
	}
	if (slot < 0) {
		for (unsigned i = 0; i < h->n_slots && slot < 0; i++)
			if (!h->slot[i].used)
				slot = (int)i;
		if (slot < 0) {
			r = -ENOSPC;
			goto out;
		}
	} else if ((unsigned)slot >= h->n_slots) {
		r = -EINVAL;
		goto out;
	} else if (h->slot[slot].used) {
		r = -EBUSY;
		goto out;
	}
	s = &h->slot[slot];
	memset(s, 0, sizeof(*s));
	s->used = true;
	s->enabled = true;
	s->hotplugged = hotplugged;
	s->inserting = hotplugged; /* QEMU: only a hot-plugged DIMM is announced */
	snprintf(s->id, sizeof(s->id), "%s", id);
	snprintf(s->memdev, sizeof(s->memdev), "%s", memdev);
	s->addr = addr;
	s->size = size;
	s->node = node;
	if (hotplugged)
		ged_set_locked(h, ACPI_GED_MEM_HOTPLUG_EVT);
	*slot_out = (unsigned)slot;
out:
	pthread_mutex_unlock(&h->lock);
	if (!r && hotplugged)
		ged_pulse(h);
	return r;
}

int mhp_unplug_request(struct acpi_hotplug *h, const char *id, unsigned *slot_out)
{
	struct mhp_slot *s;
	int i, r = 0;

	pthread_mutex_lock(&h->lock);
	i = slot_of_locked(h, id);
	if (i < 0) {
		r = -ENOENT;
		goto out;
	}
	s = &h->slot[i];
	if (s->removing || s->ejected) {
		r = -EBUSY;
		goto out;
	}
	s->removing = true;
	ged_set_locked(h, ACPI_GED_MEM_HOTPLUG_EVT);
	*slot_out = (unsigned)i;
out:
	pthread_mutex_unlock(&h->lock);
	if (!r)
		ged_pulse(h);
	return r;
}

void mhp_release(struct acpi_hotplug *h, unsigned slot)
{
	if (slot >= h->n_slots)
		return;
	pthread_mutex_lock(&h->lock);
	memset(&h->slot[slot], 0, sizeof(h->slot[slot]));
	pthread_mutex_unlock(&h->lock);
}

int mhp_lookup(struct acpi_hotplug *h, const char *id, struct mhp_slot *out)
{
	int i;

	pthread_mutex_lock(&h->lock);
	i = slot_of_locked(h, id);
	if (i >= 0)
		*out = h->slot[i];
	pthread_mutex_unlock(&h->lock);
	return i < 0 ? -ENOENT : 0;
}

/* Under the lock: queue @ev; the oldest gives way when the ring is full. */
static void event_push_locked(struct acpi_hotplug *h, const struct mhp_event *ev)
{
	if (h->ev_n == MHP_MAX_EVENTS) {
		h->ev_head = (h->ev_head + 1) % MHP_MAX_EVENTS;
		h->ev_n--;
		h->ev_lost++;
	}
	h->ev[(h->ev_head + h->ev_n) % MHP_MAX_EVENTS] = *ev;
	h->ev_n++;
}

unsigned mhp_take_events(struct acpi_hotplug *h, struct mhp_event *out, unsigned max)
{
	unsigned n = 0, lost;

	pthread_mutex_lock(&h->lock);
	while (n < max && h->ev_n) {
		out[n++] = h->ev[h->ev_head];
		h->ev_head = (h->ev_head + 1) % MHP_MAX_EVENTS;
		h->ev_n--;
	}
	lost = h->ev_lost;
	h->ev_lost = 0;
	pthread_mutex_unlock(&h->lock);
	if (lost)
		log_warnx("memory hotplug: the guest wrote %u _OST status(es) faster than they "
		          "were reported; those were dropped",
		          lost);
	return n;
}

/* ---- the controller's registers ----------------------------------------- */

static uint32_t mhp_read_locked(struct acpi_hotplug *h, uint64_t off)
{
	const struct mhp_slot *s;
	uint32_t sel = h->selector, val = 0;
	bool dimm;

	if (sel >= h->n_slots) {
		log_debug("mhp_acpi_invalid_slot_selected slot[0x%x]", sel);
		return 0;
	}
	s = &h->slot[sel];
	/* QEMU reads 0 from a slot with no DIMM, and from one just ejected. */
	dimm = s->used && !s->ejected;
	switch (off) {
	case MHP_REG_ADDR_LO:
		val = dimm ? (uint32_t)s->addr : 0;
		log_debug("mhp_acpi_read_addr_lo slot[0x%x] addr lo: 0x%x", sel, val);
		break;
	case MHP_REG_ADDR_HI:
		val = dimm ? (uint32_t)(s->addr >> 32) : 0;
		log_debug("mhp_acpi_read_addr_hi slot[0x%x] addr hi: 0x%x", sel, val);
		break;
	case MHP_REG_SIZE_LO:
		val = dimm ? (uint32_t)s->size : 0;
		log_debug("mhp_acpi_read_size_lo slot[0x%x] size lo: 0x%x", sel, val);
		break;
	case MHP_REG_SIZE_HI:
		val = dimm ? (uint32_t)(s->size >> 32) : 0;
		log_debug("mhp_acpi_read_size_hi slot[0x%x] size hi: 0x%x", sel, val);
		break;
	case MHP_REG_PXM:
		val = dimm ? s->node : 0;
		log_debug("mhp_acpi_read_pxm slot[0x%x] proximity: 0x%x", sel, val);
		break;
	case MHP_REG_FLAGS:
		val = (s->enabled ? MHP_FLAG_ENABLED : 0) | (s->inserting ? MHP_FLAG_INSERT : 0) |
		      (s->removing ? MHP_FLAG_REMOVE : 0);
		log_debug("mhp_acpi_read_flags slot[0x%x] flags: 0x%x", sel, val);
		break;
	default:
		val = ~0u;
		break;
	}
	return val;
}

/* Under the lock; *queued when an event went to the machine plane. */
static void mhp_write_locked(struct acpi_hotplug *h, uint64_t off, uint32_t data, bool *queued)
{
	struct mhp_slot *s;
	struct mhp_event ev;

	if (!h->n_slots)
		return;
	if (off != MHP_REG_SELECTOR && h->selector >= h->n_slots) {
		log_debug("mhp_acpi_invalid_slot_selected slot[0x%x]", h->selector);
		return;
	}
	switch (off) {
	case MHP_REG_SELECTOR:
		h->selector = data;
		log_debug("mhp_acpi_write_slot set active slot: 0x%x", data);
		break;
	case MHP_REG_OST_EVENT:
		h->slot[h->selector].ost_event = data;
		log_debug("mhp_acpi_write_ost_ev slot[0x%x] OST EVENT: 0x%x", h->selector, data);
		break;
	case MHP_REG_OST_STATUS:
		s = &h->slot[h->selector];
		s->ost_status = data;
		log_debug("mhp_acpi_write_ost_status slot[0x%x] OST STATUS: 0x%x", h->selector,
		          data);
		/* QEMU sends ACPI_DEVICE_OST on every status write. */
		memset(&ev, 0, sizeof(ev));
		ev.kind = MHP_EV_OST;
		ev.slot = h->selector;
		memcpy(ev.id, s->id, sizeof(ev.id));
		memcpy(ev.memdev, s->memdev, sizeof(ev.memdev));
		ev.ost_event = s->ost_event;
		ev.ost_status = s->ost_status;
		event_push_locked(h, &ev);
		*queued = true;
		break;
	case MHP_REG_FLAGS:
		s = &h->slot[h->selector];
		/* One action per write, in QEMU's order of precedence. */
		if (data & MHP_FLAG_INSERT) {
			s->inserting = false;
			log_debug("mhp_acpi_clear_insert_evt slot[0x%x]", h->selector);
		} else if (data & MHP_FLAG_REMOVE) {
			s->removing = false;
			log_debug("mhp_acpi_clear_remove_evt slot[0x%x]", h->selector);
		} else if (data & MHP_FLAG_EJECT) {
			if (!s->enabled) {
				log_debug("mhp_acpi_ejecting_invalid_slot slot[0x%x]", h->selector);
				break;
			}
			s->enabled = false;
			s->ejected = true;
			memset(&ev, 0, sizeof(ev));
			ev.kind = MHP_EV_EJECTED;
			ev.slot = h->selector;
			memcpy(ev.id, s->id, sizeof(ev.id));
			memcpy(ev.memdev, s->memdev, sizeof(ev.memdev));
			/*
			 * An eject must not be lost to a flood of _OST writes:
			 * the plane also finds it by the slot's ejected flag.
			 */
			event_push_locked(h, &ev);
			*queued = true;
			log_debug("mhp_acpi_pc_dimm_deleted slot[0x%x]", h->selector);
		}
		break;
	default:
		break;
	}
}

void mhp_mmio(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct acpi_hotplug *h = opaque;
	bool queued = false;
	uint32_t v = 0;

	/* QEMU's region takes 1 to 4 bytes; anything else reads as all-ones. */
	if (len == 0 || len > 4 || off >= MEMMAP_MHP_SIZE) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&h->lock);
	if (is_write) {
		for (uint32_t i = 0; i < len; i++)
			v |= (uint32_t)data[i] << (8 * i);
		mhp_write_locked(h, off, v, &queued);
	} else {
		v = mhp_read_locked(h, off);
		for (uint32_t i = 0; i < len; i++)
			data[i] = (uint8_t)(v >> (8 * i));
	}
	pthread_mutex_unlock(&h->lock);
	if (queued && h->notify)
		h->notify(h->opaque);
}

void ged_power_button(struct acpi_hotplug *h)
{
	pthread_mutex_lock(&h->lock);
	ged_set_locked(h, ACPI_GED_PWR_DOWN_EVT);
	pthread_mutex_unlock(&h->lock);
	ged_pulse(h);
}

int mhp_register(struct acpi_hotplug *h)
{
	int r;

	r = io_register_mmio(MEMMAP_GED_BASE, MEMMAP_GED_SIZE, ged_mmio, h);
	if (!r && h->n_slots)
		r = io_register_mmio(MEMMAP_MHP_BASE, MEMMAP_MHP_SIZE, mhp_mmio, h);
	return r;
}

void ged_mmio(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct acpi_hotplug *h = opaque;
	uint32_t v = 0;

	if (is_write)
		return; /* the selector is read-only; QEMU ignores writes too */
	if (off == 0 && len <= 4) {
		/* Reading the selector takes the events: QEMU's ged_evt_read. */
		pthread_mutex_lock(&h->lock);
		v = h->ged_sel;
		h->ged_sel = 0;
		pthread_mutex_unlock(&h->lock);
	}
	for (uint32_t i = 0; i < len; i++)
		data[i] = i < 4 ? (uint8_t)(v >> (8 * i)) : 0;
}

/* ---- AML ------------------------------------------------------------------ */

/* Store(ToInteger(Arg0), MSEL): select the slot a method was called for. */
static void select_arg0(struct aml *a)
{
	aml_store(a);
	aml_to_integer(a);
	aml_arg(a, 0);
	aml_null_target(a);
	aml_name(a, "MSEL");
}

/* If (LEqual(@name, One)) { @name's callee MTFY(Local0, @code); @name = One } */
static void scan_one(struct aml *a, const char *flag, unsigned code)
{
	size_t ifm = aml_if_begin(a);

	aml_lequal(a);
	aml_name(a, flag);
	aml_integer(a, 1);
	aml_name(a, "MTFY");
	aml_local(a, 0);
	aml_integer(a, code);
	aml_store(a);
	aml_integer(a, 1);
	aml_name(a, flag);
	aml_block_end(a, ifm);
}

static void build_mscn(struct aml *a)
{
	size_t meth, ifm, wh, elm;

	meth = aml_method_begin(a, "MSCN", 0, false);
	ifm = aml_if_begin(a);
	aml_lequal(a);
	aml_name(a, "MDNR");
	aml_integer(a, 0);
	aml_return(a);
	aml_integer(a, 0);
	aml_block_end(a, ifm);
	aml_store(a);
	aml_integer(a, 0);
	aml_local(a, 0);
	aml_acquire(a, "MLCK", 0xffff);
	wh = aml_while_begin(a);
	aml_lless(a);
	aml_local(a, 0);
	aml_name(a, "MDNR");
	aml_store(a);
	aml_local(a, 0);
	aml_name(a, "MSEL");
	scan_one(a, "MINS", 1); /* Device Check */
	elm = aml_else_begin(a);
	scan_one(a, "MRMV", 3); /* Eject Request */
	aml_block_end(a, elm);
	aml_add(a);
	aml_local(a, 0);
	aml_integer(a, 1);
	aml_local(a, 0);
	aml_block_end(a, wh);
	aml_release(a, "MLCK");
	aml_return(a);
	aml_integer(a, 1);
	aml_block_end(a, meth);
}

static void build_mrst(struct aml *a)
{
	size_t meth = aml_method_begin(a, "MRST", 1, false), ifm;

	aml_store(a);
	aml_integer(a, 0);
	aml_local(a, 0);
	aml_acquire(a, "MLCK", 0xffff);
	select_arg0(a);
	ifm = aml_if_begin(a);
	aml_lequal(a);
	aml_name(a, "MES_");
	aml_integer(a, 1);
	aml_store(a);
	aml_integer(a, 0x0f);
	aml_local(a, 0);
	aml_block_end(a, ifm);
	aml_release(a, "MLCK");
	aml_return(a);
	aml_local(a, 0);
	aml_block_end(a, meth);
}

/* Target = A op B for Add/Subtract with named operands. */
static void arith(struct aml *a, bool add, const char *x, const char *y, bool y_one,
                  const char *target)
{
	if (add)
		aml_add(a);
	else
		aml_subtract(a);
	aml_name(a, x);
	if (y_one)
		aml_integer(a, 1);
	else
		aml_name(a, y);
	aml_name(a, target);
}

static void store_name(struct aml *a, const char *src, const char *dst)
{
	aml_store(a);
	aml_name(a, src);
	aml_name(a, dst);
}

static void build_mcrs(struct aml *a)
{
	size_t meth, rt, ifm;

	meth = aml_method_begin(a, "MCRS", 1, true);
	aml_acquire(a, "MLCK", 0xffff);
	select_arg0(a);
	aml_name_decl(a, "MR64");
	rt = aml_rt_begin(a);
	aml_rt_qword_memory(a, 0, 0xfffffffffffffffeull, 0xffffffffffffffffull);
	aml_rt_end(a, rt);
	aml_create_dword_field(a, "MR64", 14, "MINL");
	aml_create_dword_field(a, "MR64", 18, "MINH");
	aml_create_dword_field(a, "MR64", 38, "LENL");
	aml_create_dword_field(a, "MR64", 42, "LENH");
	aml_create_dword_field(a, "MR64", 22, "MAXL");
	aml_create_dword_field(a, "MR64", 26, "MAXH");
	store_name(a, "MRBH", "MINH");
	store_name(a, "MRBL", "MINL");
	store_name(a, "MRLH", "LENH");
	store_name(a, "MRLL", "LENL");
	/* 64-bit arithmetic in 32-bit halves: MAX = MIN + LEN - 1. */
	arith(a, true, "MINL", "LENL", false, "MAXL");
	arith(a, true, "MINH", "LENH", false, "MAXH");
	ifm = aml_if_begin(a);
	aml_lless(a);
	aml_name(a, "MAXL");
	aml_name(a, "MINL");
	arith(a, true, "MAXH", NULL, true, "MAXH");
	aml_block_end(a, ifm);
	ifm = aml_if_begin(a);
	aml_lless(a);
	aml_name(a, "MAXL");
	aml_integer(a, 1);
	arith(a, false, "MAXH", NULL, true, "MAXH");
	aml_block_end(a, ifm);
	arith(a, false, "MAXL", NULL, true, "MAXL");

	/* Below 4 GiB, a 32-bit descriptor, as QEMU still answers. */
	ifm = aml_if_begin(a);
	aml_lequal(a);
	aml_name(a, "MAXH");
	aml_integer(a, 0);
	aml_name_decl(a, "MR32");
	rt = aml_rt_begin(a);
	aml_rt_dword_memory(a, 0, 0xfffffffe, 0xffffffff);
	aml_rt_end(a, rt);
	aml_create_dword_field(a, "MR32", 10, "MIN_");
	aml_create_dword_field(a, "MR32", 14, "MAX_");
	aml_create_dword_field(a, "MR32", 22, "LEN_");
	store_name(a, "MINL", "MIN_");
	store_name(a, "MAXL", "MAX_");
	store_name(a, "LENL", "LEN_");
	aml_release(a, "MLCK");
	aml_return(a);
	aml_name(a, "MR32");
	aml_block_end(a, ifm);

	aml_release(a, "MLCK");
	aml_return(a);
	aml_name(a, "MR64");
	aml_block_end(a, meth);
}

static void build_mpxm(struct aml *a)
{
	size_t meth = aml_method_begin(a, "MPXM", 1, false);

	aml_acquire(a, "MLCK", 0xffff);
	select_arg0(a);
	aml_store(a);
	aml_name(a, "MPX_");
	aml_local(a, 0);
	aml_release(a, "MLCK");
	aml_return(a);
	aml_local(a, 0);
	aml_block_end(a, meth);
}

static void build_most(struct aml *a)
{
	size_t meth = aml_method_begin(a, "MOST", 4, false);

	aml_acquire(a, "MLCK", 0xffff);
	select_arg0(a);
	aml_store(a);
	aml_arg(a, 1);
	aml_name(a, "MOEV");
	aml_store(a);
	aml_arg(a, 2);
	aml_name(a, "MOSC");
	aml_release(a, "MLCK");
	aml_block_end(a, meth);
}

static void build_mej0(struct aml *a)
{
	size_t meth = aml_method_begin(a, "MEJ0", 2, false);

	aml_acquire(a, "MLCK", 0xffff);
	select_arg0(a);
	aml_store(a);
	aml_integer(a, 1);
	aml_name(a, "MEJ_");
	aml_release(a, "MLCK");
	aml_block_end(a, meth);
}

/* Method(@name, @nargs) { [Return] @callee(_UID, Arg0..) } */
static void slot_method(struct aml *a, const char *name, unsigned nargs, const char *callee,
                        bool ret)
{
	size_t meth = aml_method_begin(a, name, nargs, false);

	if (ret)
		aml_return(a);
	aml_name(a, callee);
	aml_name(a, "_UID");
	for (unsigned i = 0; i < nargs; i++)
		aml_arg(a, i);
	aml_block_end(a, meth);
}

void acpi_dsdt_memory_hotplug(struct aml *a, unsigned n_slots, uint64_t base)
{
	size_t dev, cont, rt, fld, meth, ifm;
	char name[8], uid[8];

	/* The register block, as a device that owns the range. */
	dev = aml_device_begin(a, "\\_SB.MHPD");
	aml_name_decl(a, "_HID");
	aml_string(a, "PNP0A06");
	aml_name_decl(a, "_UID");
	aml_string(a, "Memory hotplug resources");
	aml_name_decl(a, "_CRS");
	rt = aml_rt_begin(a);
	aml_rt_mem32_fixed(a, (uint32_t)base, (uint32_t)MEMMAP_MHP_SIZE, true);
	aml_rt_end(a, rt);
	aml_operation_region(a, "HPMR", AML_SYSTEM_MEMORY, base, MEMMAP_MHP_SIZE);
	aml_block_end(a, dev);

	cont = aml_device_begin(a, "\\_SB.MHPC");
	aml_name_decl(a, "_HID");
	aml_string(a, "PNP0A06");
	aml_name_decl(a, "_UID");
	aml_string(a, "DIMM devices");
	aml_name_decl(a, "MDNR");
	aml_integer(a, n_slots);

	fld = aml_field_begin(a, "\\_SB.MHPD.HPMR", AML_FIELD_DWORD_ACC | AML_FIELD_PRESERVE);
	aml_named_field(a, "MRBL", 32); /* read only */
	aml_named_field(a, "MRBH", 32);
	aml_named_field(a, "MRLL", 32);
	aml_named_field(a, "MRLH", 32);
	aml_named_field(a, "MPX", 32);
	aml_block_end(a, fld);

	fld = aml_field_begin(a, "\\_SB.MHPD.HPMR", AML_FIELD_BYTE_ACC | AML_FIELD_WRITE_AS_ZEROS);
	aml_reserved_field(a, 160);    /* Offset (0x14) */
	aml_named_field(a, "MES", 1);  /* enabled, read only */
	aml_named_field(a, "MINS", 1); /* insert event; write 1 clears */
	aml_named_field(a, "MRMV", 1); /* remove event; write 1 clears */
	aml_named_field(a, "MEJ", 1);  /* write 1 ejects */
	aml_block_end(a, fld);

	fld = aml_field_begin(a, "\\_SB.MHPD.HPMR", AML_FIELD_DWORD_ACC | AML_FIELD_PRESERVE);
	aml_named_field(a, "MSEL", 32); /* write only */
	aml_named_field(a, "MOEV", 32);
	aml_named_field(a, "MOSC", 32);
	aml_block_end(a, fld);

	meth = aml_method_begin(a, "_STA", 0, false);
	ifm = aml_if_begin(a);
	aml_lequal(a);
	aml_name(a, "MDNR");
	aml_integer(a, 0);
	aml_return(a);
	aml_integer(a, 0);
	aml_block_end(a, ifm);
	aml_return(a);
	aml_integer(a, 0x0b); /* present, enabled, functioning, not shown */
	aml_block_end(a, meth);

	aml_mutex(a, "MLCK", 0);
	build_mscn(a);
	build_mrst(a);
	build_mcrs(a);
	build_mpxm(a);
	build_most(a);
	build_mej0(a);

	for (unsigned i = 0; i < n_slots; i++) {
		snprintf(name, sizeof(name), "MP%02X", i & 0xff);
		snprintf(uid, sizeof(uid), "0x%02X", i & 0xff);
		dev = aml_device_begin(a, name);
		aml_name_decl(a, "_UID");
		aml_string(a, uid);
		aml_name_decl(a, "_HID");
		aml_eisaid(a, "PNP0C80");
		slot_method(a, "_CRS", 0, "MCRS", true);
		slot_method(a, "_STA", 0, "MRST", true);
		slot_method(a, "_PXM", 0, "MPXM", true);
		slot_method(a, "_OST", 3, "MOST", false);
		slot_method(a, "_EJ0", 1, "MEJ0", false);
		aml_block_end(a, dev);
	}

	meth = aml_method_begin(a, "MTFY", 2, false);
	for (unsigned i = 0; i < n_slots; i++) {
		snprintf(name, sizeof(name), "MP%02X", i & 0xff);
		ifm = aml_if_begin(a);
		aml_lequal(a);
		aml_arg(a, 0);
		aml_integer(a, i);
		aml_notify(a);
		aml_name(a, name);
		aml_arg(a, 1);
		aml_block_end(a, ifm);
	}
	aml_block_end(a, meth);
	aml_block_end(a, cont);
}

/* If (LEqual(And(Local0, @bit), @bit)) { ... }: the caller ends the block. */
static size_t if_event(struct aml *a, uint32_t bit)
{
	size_t ifm = aml_if_begin(a);

	aml_lequal(a);
	aml_and(a);
	aml_local(a, 0);
	aml_integer(a, bit);
	aml_null_target(a);
	aml_integer(a, bit);
	return ifm;
}

void acpi_dsdt_ged(struct aml *a, uint32_t gsi, uint64_t base, uint32_t events)
{
	size_t dev, rt, fld, meth, ifm;

	/*
	 * The power button the GED notifies, as QEMU's microvm and arm virt
	 * declare it: Linux's ACPI button driver binds PNP0C0C and turns
	 * Notify 0x80 into KEY_POWER for userspace (systemd-logind, acpid).
	 */
	if (events & ACPI_GED_PWR_DOWN_EVT) {
		dev = aml_device_begin(a, "PWRB");
		aml_name_decl(a, "_HID");
		aml_eisaid(a, "PNP0C0C");
		aml_name_decl(a, "_UID");
		aml_integer(a, 0);
		aml_block_end(a, dev);
	}

	dev = aml_device_begin(a, "GED");
	aml_name_decl(a, "_HID");
	aml_string(a, "ACPI0013");
	aml_name_decl(a, "_UID");
	aml_string(a, "GED");
	aml_name_decl(a, "_CRS");
	rt = aml_rt_begin(a);
	aml_rt_interrupt(a, gsi, false, false, false); /* edge, active-high */
	aml_rt_end(a, rt);
	aml_operation_region(a, "EREG", AML_SYSTEM_MEMORY, base, 4);
	fld = aml_field_begin(a, "EREG", AML_FIELD_DWORD_ACC | AML_FIELD_WRITE_AS_ZEROS);
	aml_named_field(a, "ESEL", 32);
	aml_block_end(a, fld);

	meth = aml_method_begin(a, "_EVT", 1, true);
	aml_store(a);
	aml_name(a, "ESEL");
	aml_local(a, 0);
	if (events & ACPI_GED_MEM_HOTPLUG_EVT) {
		ifm = if_event(a, ACPI_GED_MEM_HOTPLUG_EVT);
		aml_name(a, "\\_SB.MHPC.MSCN");
		aml_block_end(a, ifm);
	}
	if (events & ACPI_GED_PWR_DOWN_EVT) {
		ifm = if_event(a, ACPI_GED_PWR_DOWN_EVT);
		aml_notify(a);
		aml_name(a, "\\_SB.PWRB");
		aml_integer(a, 0x80); /* button pressed */
		aml_block_end(a, ifm);
	}
	aml_block_end(a, meth);
	aml_block_end(a, dev);
}
