// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mhp_replay: replay Linux's recorded register traffic on the ACPI
 * memory-hotplug controller against the core's controller and demand
 * QEMU's answers.
 *
 * usage: mhp_replay [-v] LOG|DIR...   (a DIR means every *.log in it;
 *                                      -v prints the controller's own trace)
 *
 * The log is QEMU's trace output as tests/linux/record-mhp.sh makes it
 * (-trace 'mhp_acpi_*' -trace handle_qmp_command -trace monitor_qmp_respond
 * -D LOG, with or without -msg timestamp=on) behind a "# " header whose
 * "# command:" line holds QEMU's -m SIZE,slots=N,maxmem=MAX.
 *
 * The controller is built with those N slots and reached the way a vCPU's
 * MMIO exit reaches it: io_handle_mmio() at MEMMAP_MHP_BASE (and the GED at
 * MEMMAP_GED_BASE), with the access sizes the DSDT's fields make (DWord for
 * the address, size, proximity, selector and _OST registers, Byte for the
 * flags).  QEMU's trace names every access Linux made, in order:
 *   - mhp_acpi_write_slot, _write_ost_ev, _write_ost_status: the same write;
 *   - mhp_acpi_read_*: the same read, whose value must equal QEMU's;
 *   - mhp_acpi_clear_insert_evt / _clear_remove_evt / _pc_dimm_deleted /
 *     _ejecting_invalid_slot: the flags write of 0x2 / 0x4 / 0x8 / 0x8;
 *   - mhp_acpi_invalid_slot_selected: the selector must be out of range
 *     here too, and a read gives 0 as QEMU's does.
 * QEMU traces no write to the flags that sets none of those bits: Linux's
 * AML (QEMU's and ours) makes none.
 *
 * A device_add of a pc-dimm plugs the DIMM QEMU's query-memory-devices
 * replies describe (id, slot, addr, size, node; the log is read once first
 * to find them): the core's placement (memmap_devmem_place() over
 * memmap_init() of the same -m) must give QEMU's address and mhp_plug() its
 * slot.  A device_del is mhp_unplug_request().  Both must pulse the GED,
 * and the first access after them reads the GED's selector, as our _EVT
 * does before it scans (on q35 QEMU signals through a GPE instead, which
 * this trace does not show).  An eject must queue MHP_EV_EJECTED for the
 * slot; the replay then does what the machine plane does (unmap, then
 * mhp_release()).  Every _OST status written after qmp_capabilities must
 * match QEMU's ACPI_DEVICE_OST events in order, every DEVICE_DELETED an
 * eject, and each query-memory-devices reply the controller's slots.
 *
 * A DIMM on QEMU's command line (-device pc-dimm,id=..,memdev=..) is
 * cold-plugged: before the first line the core places it (QEMU's address
 * again) and mhp_plug()s it not hotplugged: enabled, no insert event, no
 * GED pulse, as the machine plane does before the boot.  When the guest
 * refuses an eject (QEMU's ACPI_DEVICE_OST for an eject request, source 3
 * or 0x103, with a failure status: Linux could not offline the memory) the
 * DIMM must stay: the controller's slot still used and enabled with no
 * event pending (its flags read exactly ENABLED through the MMIO window),
 * its region still in the memory map, and the _OST the core reports (what
 * the machine plane sends the supervisor as ACPI_DEVICE_OST) QEMU's.
 *
 * Exit 0 when everything matched, 1 at the first difference (printed).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "log.h"
#include "replay_common.h"

#define MAX_DIMMS  64
#define MAX_COLD   16
#define MAX_EVENTS 256
#define DIMM_ALIGN 4096ull /* what the core asks of a RAM-backed DIMM */

struct dimm {
	char id[MHP_ID_MAX];
	uint64_t addr, size;
	unsigned slot;
	uint32_t node;
	bool hotplugged;
};

/* A pc-dimm of QEMU's command line, in its order. */
struct cold_dimm {
	char id[MHP_ID_MAX];
	char memdev[MEMMAP_REGION_NAME_MAX];
	int slot;      /* slot=, or -1 */
	uint64_t addr; /* addr=, or UINT64_MAX */
};

/* An ACPI_DEVICE_OST, QEMU's or ours. */
struct ost {
	unsigned slot;
	uint32_t source, status;
	char device[MHP_ID_MAX];
};

struct replay {
	const char *file;
	unsigned line;
	/* -m of the recording */
	uint64_t ram, maxmem;
	unsigned slots;
	unsigned cmd_line; /* the header's "# command:" line, where cold plugs fail */
	struct cold_dimm cold[MAX_COLD];
	unsigned n_cold;
	/* the DIMMs QEMU described, from the first pass */
	struct dimm dimm[MAX_DIMMS];
	unsigned n_dimms;
	/* the core's side */
	struct acpi_hotplug *h;
	struct memmap *mm;
	unsigned irqs, notifies;
	bool ged_pending; /* a plug or unplug request the guest has not scanned yet */
	/* what happened, for the checks at the end */
	bool ost_on;
	struct ost qemu_ost[MAX_EVENTS], our_ost[MAX_EVENTS];
	unsigned n_qemu_ost, n_our_ost;
	char qemu_deleted[MAX_DIMMS][MHP_ID_MAX], our_ejected[MAX_DIMMS][MHP_ID_MAX];
	unsigned n_qemu_deleted, n_our_ejected;
	unsigned reads, writes, plugs, unplugs, queries, refusals;
};

/* A difference, reported with the recording's file and line. */
#define fail(r, ...) replay_fail("mhp_replay", (r)->file, (r)->line, __VA_ARGS__)

/* ---- small parsers ------------------------------------------------------- */

/* "1G", "512M", "4096": bytes; false when it is none of those. */
static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	uint64_t v, mul = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (end == s || errno)
		return false;
	switch (*end) {
	case 'G':
		mul = 1ull << 30;
		end++;
		break;
	case 'M':
		mul = 1ull << 20;
		end++;
		break;
	case 'K':
		mul = 1ull << 10;
		end++;
		break;
	default:
		break;
	}
	if (*end && *end != ',' && *end != ' ' && *end != '\n')
		return false;
	return !__builtin_mul_overflow(v, mul, out);
}

/*
 * Where the value of "key": in @s starts (past its opening quote when
 * @quoted), or NULL when @s has no such key.
 */
static const char *json_value(const char *s, const char *key, bool quoted)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), quoted ? "\"%s\": \"" : "\"%s\": ", key);
	p = strstr(s, pat);
	return p ? p + strlen(pat) : NULL;
}

/* The JSON number after "key": in @s; false when absent. */
static bool json_num(const char *s, const char *key, uint64_t *out)
{
	const char *p = json_value(s, key, false);
	char *end;

	if (!p)
		return false;
	errno = 0;
	*out = strtoull(p, &end, 10);
	return end != p && !errno;
}

/* The JSON string after "key": in @s into @buf; false when absent or long. */
static bool json_str(const char *s, const char *key, char *buf, size_t n)
{
	const char *p = json_value(s, key, true), *q;

	if (!p)
		return false;
	q = strchr(p, '"');
	if (!q || (size_t)(q - p) >= n)
		return false;
	memcpy(buf, p, (size_t)(q - p));
	buf[q - p] = '\0';
	return true;
}

/* The JSON true or false after "key": in @s; false when absent. */
static bool json_bool(const char *s, const char *key, bool *out)
{
	const char *p = json_value(s, key, false);

	if (!p)
		return false;
	if (!strncmp(p, "true", 4))
		*out = true;
	else if (!strncmp(p, "false", 5))
		*out = false;
	else
		return false;
	return true;
}

/* A device property, which QMP takes as a number or as a string. */
static bool json_prop(const char *s, const char *key, uint64_t *out)
{
	char buf[32], *end;

	if (json_num(s, key, out))
		return true;
	if (!json_str(s, key, buf, sizeof(buf)))
		return false;
	errno = 0;
	*out = strtoull(buf, &end, 0);
	return end != buf && !*end && !errno;
}

/* The innermost {...} starting at @p (QMP's dimm data has no nesting). */
static char *json_object_at(const char *p)
{
	const char *q = strchr(p, '}');

	return q ? strndup(p, (size_t)(q - p + 1)) : NULL;
}

/* The event's name and its arguments, past QEMU's "pid@sec.usec:" prefix. */
static bool split_trace(char *line, char **name, char **args)
{
	char *p = line, *sp;

	p += strspn(p, "0123456789");
	if (p != line && *p == '@') {
		p = strchr(p, ':');
		if (!p)
			return false;
		p++;
	} else {
		p = line;
	}
	sp = strchr(p, ' ');
	*name = p;
	if (sp) {
		*sp = '\0';
		*args = sp + 1;
	} else {
		p[strcspn(p, "\n")] = '\0';
		*args = p + strlen(p);
	}
	return **name != '\0';
}

/* ---- first pass: the machine and the DIMMs QEMU described -------------- */

/*
 * "key=VALUE" among the comma-separated properties of @props (up to the
 * next space) into @buf; false when absent or too long.
 */
static bool prop_str(const char *props, const char *key, char *buf, size_t n)
{
	size_t klen = strlen(key);
	const char *p = props, *stop = props + strcspn(props, " \n");

	while (p < stop) {
		size_t len = strcspn(p, ", \n");

		if (len > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			if (len - klen - 1 >= n)
				return false;
			memcpy(buf, p + klen + 1, len - klen - 1);
			buf[len - klen - 1] = '\0';
			return true;
		}
		p += len + 1; /* past the comma; past @stop after the last one */
	}
	return false;
}

/* Each "-device pc-dimm,..." of the command line: a cold-plugged DIMM. */
static int header_cold(struct replay *r, const char *line)
{
	const char *p = line;

	while ((p = strstr(p, " -device pc-dimm,"))) {
		struct cold_dimm *c;
		char num[32], *end;

		p += strlen(" -device pc-dimm,");
		if (r->n_cold == MAX_COLD)
			return fail(r, "more than %d cold-plugged DIMMs", MAX_COLD);
		c = &r->cold[r->n_cold++];
		if (!prop_str(p, "id", c->id, sizeof(c->id)) ||
		    !prop_str(p, "memdev", c->memdev, sizeof(c->memdev)))
			return fail(r, "a cold-plugged pc-dimm without id= or memdev=");
		c->slot = -1;
		c->addr = UINT64_MAX;
		if (prop_str(p, "slot", num, sizeof(num))) {
			unsigned long v = strtoul(num, &end, 0);

			if (*end || v >= r->slots)
				return fail(r, "pc-dimm %s: slot=%s is not below %u", c->id, num,
				            r->slots);
			c->slot = (int)v;
		}
		if (prop_str(p, "addr", num, sizeof(num))) {
			errno = 0;
			c->addr = strtoull(num, &end, 0);
			if (*end || errno)
				return fail(r, "pc-dimm %s: addr=%s is not a number", c->id, num);
		}
	}
	return 0;
}

static int header_line(struct replay *r, const char *line)
{
	const char *m = strstr(line, " -m ");
	const char *s, *x;
	uint64_t slots;

	if (strncmp(line, "# command:", 10) || !m)
		return 0;
	m += 4;
	s = strstr(m, "slots=");
	x = strstr(m, "maxmem=");
	if (!parse_size(m, &r->ram) || !s || !x || !parse_size(s + 6, &slots) ||
	    !parse_size(x + 7, &r->maxmem) || slots == 0 || slots > CORE_MAX_RAM_SLOTS)
		return fail(r, "the header's -m is not SIZE,slots=N,maxmem=MAX");
	r->slots = (unsigned)slots;
	r->cmd_line = r->line;
	return header_cold(r, line);
}

static struct dimm *dimm_find(struct replay *r, const char *id)
{
	for (unsigned i = 0; i < r->n_dimms; i++)
		if (!strcmp(r->dimm[i].id, id))
			return &r->dimm[i];
	return NULL;
}

/* Each {"type": "dimm", "data": {...}} of a query-memory-devices reply. */
static int collect_dimms(struct replay *r, const char *resp)
{
	const char *p = resp;

	while ((p = strstr(p, "\"type\": \"dimm\""))) {
		const char *d = strstr(p, "\"data\": {");
		struct dimm nd = { 0 }, *old;
		uint64_t slot, node;
		char *obj;
		bool ok;

		if (!d)
			return fail(r, "a dimm entry without data");
		obj = json_object_at(d + 8);
		if (!obj)
			return fail(r, "a dimm entry's data is cut short");
		ok = json_str(obj, "id", nd.id, sizeof(nd.id)) && json_num(obj, "addr", &nd.addr) &&
		     json_num(obj, "size", &nd.size) && json_num(obj, "slot", &slot) &&
		     json_num(obj, "node", &node) && json_bool(obj, "hotplugged", &nd.hotplugged) &&
		     slot < CORE_MAX_RAM_SLOTS;
		free(obj);
		if (!ok)
			return fail(
			        r, "a dimm entry without id, addr, size, slot, node or hotplugged");
		nd.slot = (unsigned)slot;
		nd.node = (uint32_t)node;
		old = dimm_find(r, nd.id);
		if (old && (old->addr != nd.addr || old->size != nd.size || old->slot != nd.slot ||
		            old->hotplugged != nd.hotplugged))
			return fail(r,
			            "dimm %s is described twice, differently (a re-plug is not "
			            "supported by the replay)",
			            nd.id);
		if (!old) {
			if (r->n_dimms == MAX_DIMMS)
				return fail(r, "more than %d DIMMs", MAX_DIMMS);
			r->dimm[r->n_dimms++] = nd;
		}
		p = d;
	}
	return 0;
}

static int prescan(struct replay *r, FILE *f)
{
	char line[8192];
	int ret = 0;

	r->line = 0;
	while (!ret && fgets(line, sizeof(line), f)) {
		r->line++;
		if (line[0] == '#')
			ret = header_line(r, line);
		else if (strstr(line, "monitor_qmp_respond") && strstr(line, "\"return\": ["))
			ret = collect_dimms(r, line);
	}
	if (!ret && !r->slots)
		ret = fail(r, "no '# command:' header with -m SIZE,slots=N,maxmem=MAX: not a "
		              "recording of record-mhp.sh");
	return ret;
}

/* ---- the core's side ------------------------------------------------------ */

static void on_irq(void *opaque)
{
	((struct replay *)opaque)->irqs++;
}

static void on_notify(void *opaque)
{
	((struct replay *)opaque)->notifies++;
}

static uint32_t mmio_read(uint64_t gpa, uint32_t len)
{
	uint8_t b[4] = { 0 };
	uint32_t v = 0;

	io_handle_mmio(gpa, b, len, false);
	for (uint32_t i = 0; i < len; i++)
		v |= (uint32_t)b[i] << (8 * i);
	return v;
}

static void mmio_write(uint64_t gpa, uint32_t v, uint32_t len)
{
	uint8_t b[4];

	for (uint32_t i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	io_handle_mmio(gpa, b, len, true);
}

/* What the machine plane does with the controller's events. */
static int drain_events(struct replay *r, unsigned *ejected_slot)
{
	struct mhp_event ev[MHP_MAX_EVENTS];
	unsigned n = mhp_take_events(r->h, ev, MHP_MAX_EVENTS);

	for (unsigned i = 0; i < n; i++) {
		if (ev[i].kind == MHP_EV_EJECTED) {
			if (!ejected_slot)
				return fail(r, "slot %u ejected by a write that should not eject",
				            ev[i].slot);
			*ejected_slot = ev[i].slot;
			if (r->n_our_ejected == MAX_DIMMS)
				return fail(r, "more than %d ejects", MAX_DIMMS);
			memcpy(r->our_ejected[r->n_our_ejected++], ev[i].id, MHP_ID_MAX);
			if (memmap_remove(r->mm, ev[i].memdev))
				return fail(r, "ejected dimm %s's region %s is not in the map",
				            ev[i].id, ev[i].memdev);
			mhp_release(r->h, ev[i].slot);
		} else if (r->ost_on) {
			struct ost *o;

			if (r->n_our_ost == MAX_EVENTS)
				return fail(r, "more than %d _OST reports", MAX_EVENTS);
			o = &r->our_ost[r->n_our_ost++];
			o->slot = ev[i].slot;
			o->source = ev[i].ost_event;
			o->status = ev[i].ost_status;
			memcpy(o->device, ev[i].id, MHP_ID_MAX);
		}
	}
	return 0;
}

/* ---- second pass: QMP ---------------------------------------------------- */

/*
 * Place DIMM @d (@want: its addr=, or UINT64_MAX) where QEMU did and put
 * its region into the map; mhp_plug() it into @slot_arg (-1: the first
 * free one), which must give QEMU's slot.
 */
static int dimm_place_plug(struct replay *r, const struct dimm *d, const char *memdev,
                           uint64_t want, int slot_arg, bool hotplugged)
{
	const char *id = d->id;
	struct memmap_region reg = { 0 };
	uint64_t gpa, auto_gpa;
	unsigned slot;
	int e;

	/* With no addr= the core must choose QEMU's address by itself. */
	if (want == UINT64_MAX) {
		e = memmap_devmem_place(r->mm, d->size, DIMM_ALIGN, 0, &auto_gpa);
		if (e)
			return fail(r,
			            "dimm %s: the core finds no place for 0x%" PRIx64 " bytes: %s",
			            id, d->size, strerror(-e));
		if (auto_gpa != d->addr)
			return fail(r,
			            "dimm %s: the core places it at 0x%" PRIx64
			            ", QEMU at 0x%" PRIx64,
			            id, auto_gpa, d->addr);
	}
	e = memmap_devmem_place(r->mm, d->size, DIMM_ALIGN, d->addr, &gpa);
	if (e)
		return fail(r, "dimm %s: the core refuses QEMU's addr 0x%" PRIx64 ": %s", id,
		            d->addr, strerror(-e));
	reg.kind = MEMMAP_DEVICE_MEMORY;
	reg.gpa = gpa;
	reg.size = d->size;
	reg.slot = -1;
	snprintf(reg.name, sizeof(reg.name), "%s", memdev);
	e = memmap_add(r->mm, &reg);
	if (e)
		return fail(r, "dimm %s: memmap_add: %s", id, strerror(-e));
	e = mhp_plug(r->h, slot_arg, id, memdev, gpa, d->size, d->node, hotplugged, &slot);
	if (e)
		return fail(r, "dimm %s: mhp_plug: %s", id, strerror(-e));
	if (slot != d->slot)
		return fail(r, "dimm %s: the core plugs it into slot %u, QEMU into %u", id, slot,
		            d->slot);
	return 0;
}

static int do_device_add(struct replay *r, const char *req)
{
	char id[MHP_ID_MAX], memdev[MEMMAP_REGION_NAME_MAX], driver[32];
	uint64_t want, slot_arg;
	const struct dimm *d;
	unsigned irqs = r->irqs;

	if (!json_str(req, "driver", driver, sizeof(driver)) || strcmp(driver, "pc-dimm"))
		return 0;
	if (!json_str(req, "id", id, sizeof(id)) ||
	    !json_str(req, "memdev", memdev, sizeof(memdev)))
		return fail(r, "device_add pc-dimm without id or memdev");
	d = dimm_find(r, id);
	if (!d)
		return fail(r,
		            "dimm %s: no query-memory-devices reply describes it (the "
		            "recorder asks for one after each device_add)",
		            id);
	if (!json_prop(req, "addr", &want))
		want = UINT64_MAX;
	if (!json_prop(req, "slot", &slot_arg))
		slot_arg = UINT64_MAX;
	else if (slot_arg >= r->slots)
		return fail(r, "dimm %s: slot=%" PRIu64 " but QEMU has %u slots", id, slot_arg,
		            r->slots);
	if (dimm_place_plug(r, d, memdev, want, slot_arg == UINT64_MAX ? -1 : (int)slot_arg, true))
		return -1;
	if (r->irqs != irqs + 1)
		return fail(r, "dimm %s: the plug pulsed the GED %u times, not once", id,
		            r->irqs - irqs);
	r->ged_pending = true;
	r->plugs++;
	return 0;
}

/* The command line's DIMMs, before the guest runs: as the machine plane plugs them. */
static int plug_cold(struct replay *r)
{
	for (unsigned i = 0; i < r->n_cold; i++) {
		const struct cold_dimm *c = &r->cold[i];
		const struct dimm *d = dimm_find(r, c->id);
		unsigned irqs = r->irqs;
		struct mhp_slot s;

		if (!d)
			return fail(
			        r,
			        "cold-plugged dimm %s: no query-memory-devices reply describes it",
			        c->id);
		if (d->hotplugged)
			return fail(r,
			            "dimm %s is on QEMU's command line, but QEMU says hotplugged",
			            c->id);
		if (dimm_place_plug(r, d, c->memdev, c->addr, c->slot, false))
			return -1;
		if (r->irqs != irqs || mhp_lookup(r->h, c->id, &s) || !s.enabled || s.inserting)
			return fail(r,
			            "cold-plugged dimm %s: a GED pulse or an insert event, or not "
			            "enabled",
			            c->id);
	}
	return 0;
}

static int do_device_del(struct replay *r, const char *req)
{
	char id[MHP_ID_MAX];
	struct mhp_slot cur;
	unsigned slot, irqs = r->irqs;
	int e;

	if (!json_str(req, "id", id, sizeof(id)) || !dimm_find(r, id) || mhp_lookup(r->h, id, &cur))
		return 0; /* not a DIMM of ours: another device */
	e = mhp_unplug_request(r->h, id, &slot);
	if (e)
		return fail(r, "dimm %s: mhp_unplug_request: %s", id, strerror(-e));
	if (r->irqs != irqs + 1)
		return fail(r, "dimm %s: the unplug request pulsed the GED %u times, not once", id,
		            r->irqs - irqs);
	r->ged_pending = true;
	r->unplugs++;
	return 0;
}

/* A query-memory-devices reply: the controller must hold the same DIMMs. */
static int check_query(struct replay *r, const char *resp)
{
	unsigned n = 0, ours = 0;
	const char *p = resp;

	while ((p = strstr(p, "\"type\": \"dimm\""))) {
		const char *data = strstr(p, "\"data\": {");
		char id[MHP_ID_MAX] = "";
		struct mhp_slot s;
		const struct dimm *d;
		char *obj = data ? json_object_at(data + 8) : NULL;

		if (obj) {
			json_str(obj, "id", id, sizeof(id));
			free(obj);
		}
		d = dimm_find(r, id);
		if (!d || mhp_lookup(r->h, id, &s))
			return fail(r, "QEMU lists dimm %s, the controller has no such DIMM", id);
		if (s.addr != d->addr || s.size != d->size || s.node != d->node || s.ejected ||
		    s.hotplugged != d->hotplugged)
			return fail(r,
			            "dimm %s: the controller has [0x%" PRIx64 ", +0x%" PRIx64
			            ") node %u%s%s, QEMU [0x%" PRIx64 ", +0x%" PRIx64 ") node %u%s",
			            id, s.addr, s.size, s.node, s.ejected ? " (ejected)" : "",
			            s.hotplugged ? " hotplugged" : " cold-plugged", d->addr,
			            d->size, d->node,
			            d->hotplugged ? " hotplugged" : " cold-plugged");
		n++;
		p++;
	}
	for (unsigned i = 0; i < r->slots; i++)
		ours += r->h->slot[i].used;
	if (ours != n)
		return fail(r, "QEMU lists %u DIMMs, the controller holds %u", n, ours);
	r->queries++;
	return 0;
}

/*
 * An _OST that answers an eject request (3) or the eject itself (0x103)
 * with a failure (ACPI 6.5, 6.3.5): 1, 2, or 0x80..0x83; 0x84, "ejection
 * in progress", is what Linux says before every eject.
 */
static bool eject_refused(const struct ost *o)
{
	if (o->source != 3 && o->source != 0x103)
		return false;
	return o->status == 1 || o->status == 2 || (o->status >= 0x80 && o->status <= 0x83);
}

/*
 * QEMU saw the guest refuse to eject: the controller, which took the same
 * writes just before, must still hold the DIMM at that slot, enabled with
 * no event pending, and its memory still mapped.
 */
static int check_refused(struct replay *r, const struct ost *o)
{
	const struct memmap_region *reg = NULL;
	bool verbose = log_verbose();
	uint32_t sel, flags;
	struct mhp_slot s;

	if (mhp_lookup(r->h, o->device, &s) || o->slot >= r->slots || !r->h->slot[o->slot].used ||
	    strcmp(r->h->slot[o->slot].id, o->device))
		return fail(r,
		            "the guest refused to eject %s (status 0x%x), but slot %u of the "
		            "controller does not hold it",
		            o->device, o->status, o->slot);
	if (!s.enabled || s.ejected || s.removing || s.inserting)
		return fail(r, "the guest refused to eject %s: the controller has it%s%s%s%s",
		            o->device, s.enabled ? "" : " disabled", s.ejected ? " ejected" : "",
		            s.removing ? " with its remove event set" : "",
		            s.inserting ? " with its insert event set" : "");
	/* What the guest's next scan reads; quietly, -v's trace is QEMU's lines. */
	sel = r->h->selector;
	log_set_verbose(false);
	mmio_write(MEMMAP_MHP_BASE + MHP_REG_SELECTOR, o->slot, 4);
	flags = mmio_read(MEMMAP_MHP_BASE + MHP_REG_FLAGS, 1);
	mmio_write(MEMMAP_MHP_BASE + MHP_REG_SELECTOR, sel, 4);
	log_set_verbose(verbose);
	if (flags != MHP_FLAG_ENABLED)
		return fail(r, "the guest refused to eject %s: slot %u's flags read 0x%x, not 0x%x",
		            o->device, o->slot, flags, MHP_FLAG_ENABLED);
	/* By name: with no host mapping here the area reserving it is memmap_find()'s. */
	for (unsigned i = 0; i < r->mm->n && !reg; i++)
		if (!strcmp(r->mm->r[i].name, s.memdev))
			reg = &r->mm->r[i];
	if (!reg || reg->gpa != s.addr || reg->size != s.size)
		return fail(r, "the guest refused to eject %s: its region %s is gone from the map",
		            o->device, s.memdev);
	r->refusals++;
	return 0;
}

static int qmp_line(struct replay *r, const char *name, const char *args)
{
	if (!strcmp(name, "handle_qmp_command")) {
		if (strstr(args, "\"execute\": \"qmp_capabilities\""))
			r->ost_on = true; /* QEMU sends events from here on */
		else if (strstr(args, "\"execute\": \"device_add\""))
			return do_device_add(r, args);
		else if (strstr(args, "\"execute\": \"device_del\""))
			return do_device_del(r, args);
		return 0;
	}
	/* monitor_qmp_respond */
	if (strstr(args, "\"event\": \"ACPI_DEVICE_OST\"")) {
		struct ost *o;
		char slot[16] = "";
		uint64_t src, st;

		if (r->n_qemu_ost == MAX_EVENTS)
			return fail(r, "more than %d ACPI_DEVICE_OST", MAX_EVENTS);
		o = &r->qemu_ost[r->n_qemu_ost++];
		memset(o, 0, sizeof(*o));
		if (!json_str(args, "slot", slot, sizeof(slot)) ||
		    !json_num(args, "source", &src) || !json_num(args, "status", &st))
			return fail(r, "ACPI_DEVICE_OST without slot, source or status");
		json_str(args, "device", o->device, sizeof(o->device)); /* absent: none */
		o->slot = (unsigned)strtoul(slot, NULL, 10);
		o->source = (uint32_t)src;
		o->status = (uint32_t)st;
		if (eject_refused(o))
			return check_refused(r, o);
	} else if (strstr(args, "\"event\": \"DEVICE_DELETED\"")) {
		char id[MHP_ID_MAX];

		if (json_str(args, "device", id, sizeof(id)) && dimm_find(r, id)) {
			if (r->n_qemu_deleted == MAX_DIMMS)
				return fail(r, "more than %d DEVICE_DELETED", MAX_DIMMS);
			memcpy(r->qemu_deleted[r->n_qemu_deleted++], id, MHP_ID_MAX);
		}
	} else if (strstr(args, "\"return\": [") &&
	           (strstr(args, "\"type\": \"dimm\"") || strstr(args, "\"return\": []"))) {
		return check_query(r, args);
	}
	return 0;
}

/* ---- second pass: the registers ------------------------------------------ */

struct reg_read {
	const char *event;
	uint64_t off;
	uint32_t len;
};

static const struct reg_read reads[] = {
	{ "mhp_acpi_read_addr_lo", MHP_REG_ADDR_LO, 4 },
	{ "mhp_acpi_read_addr_hi", MHP_REG_ADDR_HI, 4 },
	{ "mhp_acpi_read_size_lo", MHP_REG_SIZE_LO, 4 },
	{ "mhp_acpi_read_size_hi", MHP_REG_SIZE_HI, 4 },
	{ "mhp_acpi_read_pxm", MHP_REG_PXM, 4 },
	{ "mhp_acpi_read_flags", MHP_REG_FLAGS, 1 },
};

/* slot[0xS] in @args must be the controller's selected slot. */
static int check_selected(struct replay *r, const char *name, const char *args, unsigned *slot)
{
	if (sscanf(args, "slot[0x%x]", slot) != 1)
		return fail(r, "%s: no slot[0xN] in '%s'", name, args);
	if (*slot != r->h->selector)
		return fail(r, "%s: QEMU had slot 0x%x selected, the controller 0x%x", name, *slot,
		            r->h->selector);
	return 0;
}

/* One flags write: @bits into the Byte field at 0x14, as the AML stores it. */
static int flags_write(struct replay *r, uint32_t bits, unsigned *ejected)
{
	unsigned notifies = r->notifies;

	mmio_write(MEMMAP_MHP_BASE + MHP_REG_FLAGS, bits, 1);
	r->writes++;
	if (drain_events(r, ejected))
		return -1;
	if (!ejected && r->notifies != notifies)
		return fail(r, "a flags write of 0x%x queued an event", bits);
	return 0;
}

static int mhp_line(struct replay *r, const char *name, const char *args)
{
	unsigned slot, v, ejected = UINT32_MAX;
	uint32_t got;

	if (r->ged_pending) {
		/* The guest's _EVT reads the selector before it scans. */
		v = mmio_read(MEMMAP_GED_BASE, 4);
		if (v != ACPI_GED_MEM_HOTPLUG_EVT)
			return fail(r, "the GED's selector reads 0x%x after the event, not 0x%x", v,
			            ACPI_GED_MEM_HOTPLUG_EVT);
		r->ged_pending = false;
	}
	for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		if (strcmp(name, reads[i].event))
			continue;
		if (check_selected(r, name, args, &slot))
			return -1;
		if (sscanf(strchr(args, ':') ? strchr(args, ':') + 1 : "", " 0x%x", &v) != 1)
			return fail(r, "%s: no value in '%s'", name, args);
		got = mmio_read(MEMMAP_MHP_BASE + reads[i].off, reads[i].len);
		r->reads++;
		if (got != v)
			return fail(r, "%s slot %u: the controller reads 0x%x, QEMU read 0x%x",
			            name, slot, got, v);
		return 0;
	}
	if (!strcmp(name, "mhp_acpi_write_slot")) {
		if (sscanf(args, "set active slot: 0x%x", &v) != 1)
			return fail(r, "%s: no slot in '%s'", name, args);
		mmio_write(MEMMAP_MHP_BASE + MHP_REG_SELECTOR, v, 4);
		r->writes++;
		return 0;
	}
	if (!strcmp(name, "mhp_acpi_write_ost_ev") || !strcmp(name, "mhp_acpi_write_ost_status")) {
		bool ev = !strcmp(name, "mhp_acpi_write_ost_ev");

		if (check_selected(r, name, args, &slot))
			return -1;
		if (sscanf(strchr(args, ':') ? strchr(args, ':') + 1 : "", " 0x%x", &v) != 1)
			return fail(r, "%s: no value in '%s'", name, args);
		mmio_write(MEMMAP_MHP_BASE + (ev ? MHP_REG_OST_EVENT : MHP_REG_OST_STATUS), v, 4);
		r->writes++;
		return drain_events(r, NULL);
	}
	if (!strcmp(name, "mhp_acpi_clear_insert_evt") ||
	    !strcmp(name, "mhp_acpi_clear_remove_evt")) {
		if (check_selected(r, name, args, &slot))
			return -1;
		return flags_write(r, strstr(name, "insert") ? MHP_FLAG_INSERT : MHP_FLAG_REMOVE,
		                   NULL);
	}
	if (!strcmp(name, "mhp_acpi_pc_dimm_deleted")) {
		if (check_selected(r, name, args, &slot) ||
		    flags_write(r, MHP_FLAG_EJECT, &ejected))
			return -1;
		if (ejected != slot)
			return fail(r,
			            "QEMU ejected slot %u, the controller queued no eject for it",
			            slot);
		return 0;
	}
	if (!strcmp(name, "mhp_acpi_ejecting_invalid_slot")) {
		if (sscanf(args, "0x%x", &slot) != 1)
			return fail(r, "%s: no slot in '%s'", name, args);
		if (slot != r->h->selector)
			return fail(r, "%s: QEMU had slot 0x%x selected, the controller 0x%x", name,
			            slot, r->h->selector);
		if (flags_write(r, MHP_FLAG_EJECT, &ejected))
			return -1;
		if (ejected != UINT32_MAX)
			return fail(r, "slot %u: QEMU refused the eject, the controller ejected",
			            slot);
		return 0;
	}
	if (!strcmp(name, "mhp_acpi_invalid_slot_selected")) {
		if (sscanf(args, "0x%x", &slot) != 1)
			return fail(r, "%s: no slot in '%s'", name, args);
		if (slot != r->h->selector || slot < r->slots)
			return fail(r,
			            "QEMU found selector 0x%x invalid, the controller has 0x%x of "
			            "%u slots",
			            slot, r->h->selector, r->slots);
		/* A read or a write: only a read shows anything, 0 in QEMU. */
		v = mmio_read(MEMMAP_MHP_BASE + MHP_REG_FLAGS, 1);
		r->reads++;
		if (v)
			return fail(r, "invalid selector 0x%x: the controller reads 0x%x, not 0",
			            slot, v);
		return 0;
	}
	return fail(r, "unknown trace event %s: teach mhp_replay what access it is", name);
}

static int replay_line(struct replay *r, char *line)
{
	char *name, *args;

	if (line[0] == '#' || line[0] == '\n' || !split_trace(line, &name, &args))
		return 0;
	args[strcspn(args, "\n")] = '\0';
	if (!strncmp(name, "mhp_acpi_", 9))
		return mhp_line(r, name, args);
	if (!strcmp(name, "handle_qmp_command") || !strcmp(name, "monitor_qmp_respond"))
		return qmp_line(r, name, args);
	return 0; /* QEMU's own messages (e.g. "terminating on signal") */
}

/* After the last line: the events QEMU sent, against ours. */
static int check_end(struct replay *r)
{
	if (r->ged_pending)
		return fail(r, "the last plug or unplug request was never scanned by the guest");
	if (r->n_qemu_ost != r->n_our_ost)
		return fail(r, "QEMU sent %u ACPI_DEVICE_OST, the controller reported %u _OST",
		            r->n_qemu_ost, r->n_our_ost);
	for (unsigned i = 0; i < r->n_qemu_ost; i++) {
		const struct ost *q = &r->qemu_ost[i], *o = &r->our_ost[i];

		if (q->slot != o->slot || q->source != o->source || q->status != o->status ||
		    strcmp(q->device, o->device))
			return fail(r,
			            "_OST #%u: QEMU slot %u source 0x%x status 0x%x device '%s', "
			            "the controller slot %u source 0x%x status 0x%x device '%s'",
			            i + 1, q->slot, q->source, q->status, q->device, o->slot,
			            o->source, o->status, o->device);
	}
	if (r->n_qemu_deleted != r->n_our_ejected)
		return fail(r, "QEMU deleted %u DIMMs, the controller ejected %u",
		            r->n_qemu_deleted, r->n_our_ejected);
	for (unsigned i = 0; i < r->n_qemu_deleted; i++)
		if (strcmp(r->qemu_deleted[i], r->our_ejected[i]))
			return fail(r, "delete #%u: QEMU deleted %s, the controller ejected %s",
			            i + 1, r->qemu_deleted[i], r->our_ejected[i]);
	if (!r->plugs && !r->n_cold)
		return fail(r, "no pc-dimm plugged or cold-plugged: not a recording of "
		               "record-mhp.sh");
	return 0;
}

static int replay_file(const char *path)
{
	struct replay *r = calloc(1, sizeof(*r));
	char line[8192];
	FILE *f = NULL;
	int ret = -1, e;

	if (!r) {
		fprintf(stderr, "mhp_replay: %s: out of memory\n", path);
		return -1;
	}
	r->file = path;
	f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "mhp_replay: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (prescan(r, f))
		goto out;
	r->mm = calloc(1, sizeof(*r->mm));
	if (!r->mm) {
		fail(r, "out of memory");
		goto out;
	}
	e = memmap_init(r->mm, r->ram, r->maxmem, r->slots);
	if (!e)
		e = mhp_create(&r->h, r->slots);
	if (e) {
		fail(r, "the core cannot build -m 0x%" PRIx64 ",slots=%u,maxmem=0x%" PRIx64 ": %s",
		     r->ram, r->slots, r->maxmem, strerror(-e));
		goto out;
	}
	r->h->irq = on_irq;
	r->h->notify = on_notify;
	r->h->opaque = r;
	/* The windows, registered as the machine plane does, for the MMIO exits. */
	io_reset();
	e = mhp_register(r->h);
	if (e) {
		fail(r, "cannot register the MMIO windows: %s", strerror(-e));
		goto out;
	}
	r->line = r->cmd_line;
	if (plug_cold(r))
		goto out;
	rewind(f);
	r->line = 0;
	ret = 0;
	while (!ret && fgets(line, sizeof(line), f)) {
		r->line++;
		if (!strchr(line, '\n') && !feof(f)) {
			ret = fail(r, "line longer than %zu bytes", sizeof(line) - 1);
			break;
		}
		ret = replay_line(r, line);
	}
	if (!ret)
		ret = check_end(r);
	if (!ret)
		printf("mhp_replay: %s: %u slots, %u cold-plugged, %u plug(s), %u unplug "
		       "request(s), %u reads and %u writes, %u _OST, %u eject(s), %u refused, "
		       "%u query checks: all equal to QEMU's\n",
		       path, r->slots, r->n_cold, r->plugs, r->unplugs, r->reads, r->writes,
		       r->n_our_ost, r->n_our_ejected, r->refusals, r->queries);
out:
	io_reset();
	mhp_destroy(r->h);
	free(r->mm);
	if (f)
		fclose(f);
	free(r);
	return ret;
}

/* replay_paths()'s callback: one recording. */
static int replay_one(void *ctx, const char *path)
{
	(void)ctx;
	return replay_file(path);
}

int main(int argc, char **argv)
{
	int first = 1;

	log_init("mhp_replay");
	if (argc > 1 && !strcmp(argv[1], "-v")) {
		/* The controller's debug lines are QEMU's trace lines: diffable. */
		log_set_verbose(true);
		first = 2;
	}
	if (argc <= first) {
		fprintf(stderr, "usage: mhp_replay [-v] LOG|DIR...\n");
		return 2;
	}
	return replay_paths("mhp_replay", argv + first, argc - first, replay_one, NULL) ? 1 : 0;
}
