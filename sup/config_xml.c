/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Domain XML -> VmConfig, as libvirt (9.x) reads a domain and as its qemu
 * driver turns memory devices into -object/-device pairs:
 *
 *  - sizes: libvirt's unit rules (size_parse_libvirt), KiB by default,
 *    rounded up to whole KiB; then aligned as qemuDomainAlignMemorySizes()
 *    does on x86: NUMA cells and the boot memory up to 1 MiB, maxMemory up
 *    to 1 MiB, memory devices up to 2 MiB; each change is a notice;
 *  - with <numa>, the boot memory is the sum of the cells and <memory> is
 *    recomputed (cells + devices), as libvirt does; each cell becomes a
 *    base-RAM backend "ram-node<N>";
 *  - DIMMs and NVDIMMs without <address type='dimm'> take the first free
 *    slot; a device without <alias> gets libvirt's: "dimm<slot>",
 *    "nvdimm<slot>", "virtiomem<N>", "virtiopmem<N>" (N one above the
 *    highest in use); its backend is "mem" + alias;
 *  - backends: nvdimm and virtio-pmem are memory-backend-file on
 *    <source><path>; dimm and virtio-mem are memory-backend-ram, or
 *    memory-backend-memfd with hugetlb=on when <pagesize> is a huge page
 *    (libvirt uses a hugetlbfs file; memsrv makes hugetlb memfds);
 *    <nodemask> is host-nodes with policy=bind; access='shared' is
 *    share=on; DIMMs on huge pages and NVDIMMs not on pmem are
 *    preallocated, virtio-mem backends get reserve=off, as libvirt does.
 *
 * Elements splitvm has no use for are named in one warning and skipped
 * (refused with CONFIG_STRICT); anything unknown inside <os>, <cpu><numa>,
 * <maxMemory>, a memory device or splitvm's own settings is an error.
 * libvirt refuses memory hotplug without NUMA; splitvm does not need NUMA
 * for it and accepts such a domain.
 */
#include "config_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "backend_config.h"
#include "fd.h"
#include "log.h"
#include "size.h"

#define KIB             UINT64_C(1024)
#define MIB             (KIB * 1024)
#define MAX_MEM_DEVICES 256

enum access { ACCESS_DEFAULT, ACCESS_SHARED, ACCESS_PRIVATE };

/* A <memory> device as written, before aliases, slots and backends. */
struct xdev {
	Splitvm__DeviceModel model;
	char field[64]; /* "devices/memory[2]" */
	enum access access;
	bool discard;
	uint64_t size, pagesize, alignsize, block, requested, label;
	bool have_size, have_block, pmem, readonly;
	uint64_t nodemask[BACKEND_CONFIG_MAX_NODES / 64];
	bool have_nodemask;
	char *path;
	char *alias;
	int32_t node, slot;
	uint64_t base;
};

struct xctx {
	Splitvm__VmConfig *cfg;
	unsigned flags;
	struct config_error *err;
	char skipped[512];
	bool skipped_cut;
	bool have_name, have_memory, have_current, have_max, have_vcpu, have_cpu, have_os;
	bool have_devices, have_settings, serial_set, serial_from_console;
	uint64_t memory, current, maxmem;
	struct xdev devs[MAX_MEM_DEVICES];
	size_t n_devs;
	char field[128];
};

static bool is(const xmlNode *n, const char *name)
{
	return strcmp((const char *)n->name, name) == 0;
}

static const char *fld(struct xctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *fld(struct xctx *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->field, sizeof(x->field), fmt, ap);
	va_end(ap);
	return x->field;
}

/* Name a skipped element once; refuse it under CONFIG_STRICT. */
static int skip(struct xctx *x, const char *what)
{
	size_t used = strlen(x->skipped);
	const char *p = x->skipped;
	size_t wl = strlen(what);

	if (x->flags & CONFIG_STRICT)
		return cfg_fail(x->err, what,
		                "splitvm has no use for this element (refused in strict mode)");
	/* Already named? */
	while ((p = strstr(p, what)) != NULL) {
		if ((p == x->skipped || p[-2] == ',') && (p[wl] == ',' || p[wl] == '\0'))
			return 0;
		p += wl;
	}
	if (used + wl + 3 >= sizeof(x->skipped)) {
		x->skipped_cut = true;
		return 0;
	}
	snprintf(x->skipped + used, sizeof(x->skipped) - used, "%s%s", used ? ", " : "", what);
	return 0;
}

/* The text of a leaf element; elements inside it are an error. */
static int leaf_text(struct xctx *x, const xmlNode *n, const char *field, char **out)
{
	for (const xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return cfg_fail(x->err, field, "unexpected element <%s> inside <%s>",
			                (const char *)c->name, (const char *)n->name);
	*out = (char *)xmlNodeGetContent(n);
	if (!*out)
		return -ENOMEM;
	return 0;
}

static char *attr(const xmlNode *n, const char *name)
{
	return (char *)xmlGetNoNsProp(n, (const xmlChar *)name);
}

/* Every attribute of @n is in the NULL-terminated @known list. */
static int check_attrs(struct xctx *x, const xmlNode *n, const char *field,
                       const char *const *known)
{
	for (const xmlAttr *a = n->properties; a; a = a->next) {
		bool ok = false;

		for (const char *const *k = known; *k && !ok; k++)
			ok = !a->ns && strcmp((const char *)a->name, *k) == 0;
		if (!ok)
			return cfg_fail(x->err, field, "unknown attribute '%s' of <%s>",
			                (const char *)a->name, (const char *)n->name);
	}
	return 0;
}

/* A decimal number of at most @max, as libvirt's virStrToLong_uip takes it. */
static int parse_u64(struct xctx *x, const char *field, const char *what, const char *s,
                     uint64_t max, int base, uint64_t *out)
{
	const char *p = s;
	uint64_t v = 0;
	bool any = false;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (base == 16 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	for (; *p; p++, any = true) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			break;
		if (__builtin_mul_overflow(v, (uint64_t)base, &v) ||
		    __builtin_add_overflow(v, d, &v))
			return cfg_fail(x->err, field, "%s '%s' overflows", what, s);
	}
	if (!any || *p)
		return cfg_fail(x->err, field, "%s '%s' is not a %s number", what, s,
		                base == 16 ? "hexadecimal" : "decimal");
	if (v > max)
		return cfg_fail(x->err, field, "%s '%s' is above the maximum of %" PRIu64, what, s,
		                max);
	*out = v;
	return 0;
}

static int attr_u64(struct xctx *x, const xmlNode *n, const char *name, const char *field,
                    uint64_t max, int base, bool *have, uint64_t *out)
{
	char *v = attr(n, name);
	int rc = 0;

	if (have)
		*have = v != NULL;
	if (v)
		rc = parse_u64(x, field, name, v, max, base, out);
	xmlFree(v);
	return rc;
}

/* A size: @value (or the element text) with @unit as libvirt scales it. */
static int size_value(struct xctx *x, const char *field, const char *value, const char *unit,
                      uint64_t *bytes)
{
	uint64_t v;
	int rc = size_parse_libvirt(value, unit, KIB, INT64_MAX, &v);

	if (rc == SIZE_ERR_UNKNOWN_UNIT)
		return cfg_fail(x->err, field, "unknown unit '%s'", unit);
	if (rc < 0)
		return cfg_fail(x->err, field, "invalid size '%s'%s%s%s: %s", value,
		                unit ? " (unit '" : "", unit ? unit : "", unit ? "')" : "",
		                size_strerror(rc));
	/* libvirt keeps sizes in KiB, rounding bytes up. */
	if (v % KIB) {
		if (v > UINT64_MAX - KIB)
			return cfg_fail(x->err, field, "size overflows");
		v = (v / KIB + 1) * KIB;
	}
	*bytes = v;
	return 0;
}

static int size_elem(struct xctx *x, const xmlNode *n, const char *field, uint64_t *bytes)
{
	static const char *const known[] = { "unit", NULL };
	char *text = NULL, *unit = NULL;
	int rc;

	rc = check_attrs(x, n, field, known);
	if (!rc)
		rc = leaf_text(x, n, field, &text);
	if (!rc) {
		unit = attr(n, "unit");
		rc = size_value(x, field, text, unit, bytes);
	}
	xmlFree(text);
	xmlFree(unit);
	return rc;
}

static int empty_elem(struct xctx *x, const xmlNode *n, const char *field)
{
	static const char *const none[] = { NULL };
	char *text = NULL;
	int rc = check_attrs(x, n, field, none);

	if (!rc)
		rc = leaf_text(x, n, field, &text);
	if (!rc && text[strspn(text, " \t\r\n")])
		rc = cfg_fail(x->err, field, "<%s/> takes no text", (const char *)n->name);
	xmlFree(text);
	return rc;
}

static int dup_elem(struct xctx *x, bool *seen, const char *field)
{
	if (*seen)
		return cfg_fail(x->err, field, "the element appears twice");
	*seen = true;
	return 0;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* Align @*v up to @a with a notice; overflow is an error. */
static int align_notice(struct xctx *x, const char *field, uint64_t *v, uint64_t a, const char *why)
{
	if (*v % a == 0)
		return 0;
	if (*v > UINT64_MAX - a)
		return cfg_fail(x->err, field, "size overflowed after alignment");
	log_info("%s: %" PRIu64 " KiB aligned up to %" PRIu64 " KiB, %s", field, *v / KIB,
	         align_up(*v, a) / KIB, why);
	*v = align_up(*v, a);
	return 0;
}

/* --- <vcpu>, <cpu>, <os> ------------------------------------------------ */

static int parse_vcpu(struct xctx *x, const xmlNode *n)
{
	static const char *const known[] = { "placement", "cpuset", "current", NULL };
	char *text = NULL, *place = NULL;
	uint64_t count = 0, current = 0;
	bool have_current = false;
	int rc;

	rc = dup_elem(x, &x->have_vcpu, "vcpu");
	if (!rc)
		rc = check_attrs(x, n, "vcpu", known);
	if (!rc)
		rc = leaf_text(x, n, "vcpu", &text);
	if (!rc)
		rc = parse_u64(x, "vcpu", "vcpu count", text, UINT32_MAX, 10, &count);
	if (!rc)
		rc = attr_u64(x, n, "current", "vcpu", UINT32_MAX, 10, &have_current, &current);
	if (!rc && have_current && current != count)
		rc = cfg_fail(x->err, "vcpu",
		              "current='%" PRIu64 "' differs from the vcpu count %" PRIu64
		              ": splitvm has no vCPU hotplug",
		              current, count);
	place = attr(n, "placement");
	if (!rc && place && strcmp(place, "static") && strcmp(place, "auto"))
		rc = cfg_fail(x->err, "vcpu", "placement '%s' is unknown (static, auto)", place);
	if (!rc && xmlHasProp(n, (const xmlChar *)"cpuset"))
		rc = skip(x, "vcpu/@cpuset");
	if (!rc)
		x->cfg->vcpus = (uint32_t)count;
	xmlFree(text);
	xmlFree(place);
	return rc;
}

static int parse_cell(struct xctx *x, const xmlNode *n, size_t idx, uint64_t *seen)
{
	static const char *const known[] = { "id", "cpus", "memory", "unit", NULL };
	uint64_t id = idx, bits[1];
	char *cpus = NULL, *mem = NULL, *unit = NULL;
	Splitvm__NumaNode *node;
	Splitvm__BackendConfig *b;
	const char *f = fld(x, "cpu/numa/cell[%zu]", idx + 1);
	char field[64], name[32];
	bool have_id;
	int rc;

	snprintf(field, sizeof(field), "%s", f);
	rc = check_attrs(x, n, field, known);
	if (rc)
		return rc;
	for (const xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return cfg_fail(x->err, field, "unknown element <%s> in a NUMA cell",
			                (const char *)c->name);
	rc = attr_u64(x, n, "id", field, CONFIG_MAX_NUMA_NODES - 1, 10, &have_id, &id);
	if (rc)
		return rc;
	if (*seen & (UINT64_C(1) << id))
		return cfg_fail(x->err, field, "Duplicate NUMA cell info for cell id '%" PRIu64 "'",
		                id);
	*seen |= UINT64_C(1) << id;
	mem = attr(n, "memory");
	unit = attr(n, "unit");
	cpus = attr(n, "cpus");
	if (!mem) {
		rc = cfg_fail(x->err, field, "Missing 'memory' attribute in NUMA cell");
		goto out;
	}
	rc = cfg_add_numa(x->cfg, &node);
	if (rc)
		goto out;
	node->node_id = (uint32_t)id;
	rc = size_value(x, field, mem, unit, &node->memory);
	if (!rc)
		rc = align_notice(x, field, &node->memory, MIB,
		                  "as libvirt aligns NUMA cells on x86");
	if (!rc && !node->memory)
		rc = cfg_fail(x->err, field, "a NUMA cell needs memory");
	if (rc)
		goto out;
	if (cpus) {
		if (cfg_parse_list(cpus, true, CONFIG_MAX_VCPUS, bits) < 0) {
			rc = cfg_fail(x->err, field,
			              "cpus '%s' is not a CPU list below %u (0-3, 0,2, ^1)", cpus,
			              CONFIG_MAX_VCPUS);
			goto out;
		}
		for (uint32_t i = 0; i < CONFIG_MAX_VCPUS && !rc; i++)
			if (bits[0] & (UINT64_C(1) << i))
				rc = cfg_numa_add_cpu(node, i);
		if (rc)
			goto out;
	}
	snprintf(name, sizeof(name), "ram-node%u", node->node_id);
	rc = cfg_set_str(&node->memdev, name);
	if (rc)
		goto out;
	b = malloc(sizeof(*b));
	if (!b) {
		rc = -ENOMEM;
		goto out;
	}
	backend_config_init(b, SPLITVM__BACKEND_TYPE__BACKEND_RAM);
	b->size = node->memory;
	b->base_ram = true;
	rc = cfg_set_str(&b->id, name);
	if (rc) {
		backend_config_free(b);
		goto out;
	}
	rc = cfg_add_backend(x->cfg, b);
out:
	xmlFree(cpus);
	xmlFree(mem);
	xmlFree(unit);
	return rc;
}

static int parse_cpu(struct xctx *x, const xmlNode *n)
{
	bool have_numa = false;
	uint64_t seen = 0;
	int rc = dup_elem(x, &x->have_cpu, "cpu");

	for (const xmlNode *c = n->children; c && !rc; c = c->next) {
		size_t idx = 0;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!is(c, "numa")) {
			rc = skip(x, fld(x, "cpu/%s", (const char *)c->name));
			continue;
		}
		rc = dup_elem(x, &have_numa, "cpu/numa");
		if (!rc && c->properties)
			rc = cfg_fail(x->err, "cpu/numa", "unknown attribute '%s' of <numa>",
			              (const char *)c->properties->name);
		for (const xmlNode *cell = c->children; cell && !rc; cell = cell->next) {
			if (cell->type != XML_ELEMENT_NODE)
				continue;
			if (!is(cell, "cell"))
				rc = cfg_fail(x->err, "cpu/numa",
				              "unknown element <%s> (splitvm knows <cell>)",
				              (const char *)cell->name);
			else if (idx >= CONFIG_MAX_NUMA_NODES)
				rc = cfg_fail(x->err, "cpu/numa", "more than %u NUMA cells",
				              CONFIG_MAX_NUMA_NODES);
			else
				rc = parse_cell(x, cell, idx++, &seen);
		}
		/* libvirt: ids run 0..n-1, one cell each. */
		if (!rc && idx && seen != (UINT64_C(1) << idx) - 1)
			rc = cfg_fail(x->err, "cpu/numa",
			              "Exactly one 'cell' element per guest NUMA cell allowed, "
			              "non-contiguous ranges or ranges not starting from 0 are not "
			              "allowed");
	}
	return rc;
}

static int os_string(struct xctx *x, const xmlNode *n, const char *field, char **slot)
{
	static const char *const none[] = { NULL };
	char *text = NULL;
	int rc;

	if ((*slot)[0])
		return cfg_fail(x->err, field, "the element appears twice");
	rc = check_attrs(x, n, field, none);
	if (!rc)
		rc = leaf_text(x, n, field, &text);
	if (!rc)
		rc = cfg_set_str(slot, text);
	xmlFree(text);
	return rc;
}

static int parse_os_type(struct xctx *x, const xmlNode *n)
{
	static const char *const known[] = { "arch", "machine", NULL };
	char *text = NULL, *arch = NULL;
	int rc = check_attrs(x, n, "os/type", known);

	if (!rc)
		rc = leaf_text(x, n, "os/type", &text);
	if (!rc && strcmp(text, "hvm"))
		rc = cfg_fail(x->err, "os/type", "os type '%s' is not supported (hvm)", text);
	arch = attr(n, "arch");
	/* libvirt's own tests say i686 for the same PC machine. */
	if (!rc && arch && strcmp(arch, "x86_64") && strcmp(arch, "i686"))
		rc = cfg_fail(x->err, "os/type", "arch '%s' is not supported (x86_64)", arch);
	xmlFree(text);
	xmlFree(arch);
	return rc;
}

static int parse_os(struct xctx *x, const xmlNode *n)
{
	Splitvm__VmConfig *cfg = x->cfg;
	bool have_type = false;
	int rc = dup_elem(x, &x->have_os, "os");

	if (!rc && n->properties)
		rc = cfg_fail(x->err, "os", "unknown attribute '%s' of <os>",
		              (const char *)n->properties->name);
	for (const xmlNode *c = n->children; c && !rc; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (c->ns)
			rc = cfg_fail(x->err, "os", "unknown element <%s:%s>",
			              (const char *)c->ns->prefix, (const char *)c->name);
		else if (is(c, "type"))
			rc = dup_elem(x, &have_type, "os/type") ?: parse_os_type(x, c);
		else if (is(c, "kernel"))
			rc = os_string(x, c, "os/kernel", &cfg->kernel);
		else if (is(c, "initrd"))
			rc = os_string(x, c, "os/initrd", &cfg->initrd);
		else if (is(c, "cmdline"))
			rc = os_string(x, c, "os/cmdline", &cfg->cmdline);
		else if (is(c, "boot"))
			rc = skip(x, "os/boot");
		else
			rc = cfg_fail(
			        x->err, fld(x, "os/%s", (const char *)c->name),
			        "unknown element in <os> (type, kernel, initrd, cmdline, boot)");
	}
	return rc;
}

/* --- <devices><memory> ------------------------------------------------- */

static int parse_mem_source(struct xctx *x, struct xdev *d, const xmlNode *n)
{
	char f[128];
	int rc = 0;

	if (n->properties)
		return cfg_fail(x->err, fld(x, "%s/source", d->field),
		                "unknown attribute '%s' of <source>",
		                (const char *)n->properties->name);
	for (const xmlNode *c = n->children; c && !rc; c = c->next) {
		char *text = NULL;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		snprintf(f, sizeof(f), "%s/source/%s", d->field, (const char *)c->name);
		if (is(c, "pagesize")) {
			rc = size_elem(x, c, f, &d->pagesize);
			if (!rc && (d->pagesize < 4 * KIB || (d->pagesize & (d->pagesize - 1))))
				rc = cfg_fail(x->err, f,
				              "page size must be a power of two of 4 KiB "
				              "or more");
		} else if (is(c, "alignsize")) {
			rc = size_elem(x, c, f, &d->alignsize);
		} else if (is(c, "pmem")) {
			rc = empty_elem(x, c, f);
			d->pmem = true;
		} else if (is(c, "nodemask")) {
			rc = leaf_text(x, c, f, &text);
			if (!rc &&
			    cfg_parse_list(text, true, BACKEND_CONFIG_MAX_NODES, d->nodemask) < 0)
				rc = cfg_fail(
				        x->err, f,
				        "'%s' is not a host node list below %d (1-3, 0,2, ^1)",
				        text, BACKEND_CONFIG_MAX_NODES);
			d->have_nodemask = true;
		} else if (is(c, "path")) {
			rc = leaf_text(x, c, f, &text);
			if (!rc && !text[0])
				rc = cfg_fail(x->err, f, "the path is empty");
			if (!rc) {
				free(d->path);
				d->path = strdup(text);
				if (!d->path)
					rc = -ENOMEM;
			}
		} else {
			rc = cfg_fail(x->err, f,
			              "unknown element in a memory device's <source> (pagesize, "
			              "nodemask, path, alignsize, pmem)");
		}
		xmlFree(text);
	}
	return rc;
}

static int parse_mem_target(struct xctx *x, struct xdev *d, const xmlNode *n)
{
	char f[128];
	int rc = 0;

	if (n->properties)
		return cfg_fail(x->err, fld(x, "%s/target", d->field),
		                "unknown attribute '%s' of <target>",
		                (const char *)n->properties->name);
	for (const xmlNode *c = n->children; c && !rc; c = c->next) {
		char *text = NULL;
		uint64_t v;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		snprintf(f, sizeof(f), "%s/target/%s", d->field, (const char *)c->name);
		if (is(c, "size")) {
			rc = size_elem(x, c, f, &d->size);
			d->have_size = true;
		} else if (is(c, "node")) {
			rc = leaf_text(x, c, f, &text);
			if (!rc)
				rc = parse_u64(x, f, "node", text, INT32_MAX, 10, &v);
			if (!rc)
				d->node = (int32_t)v;
		} else if (is(c, "block")) {
			rc = size_elem(x, c, f, &d->block);
			d->have_block = true;
		} else if (is(c, "requested")) {
			rc = size_elem(x, c, f, &d->requested);
		} else if (is(c, "current")) {
			/* Live XML only; libvirt never parses it either. */
			rc = size_elem(x, c, f, &v);
			if (!rc)
				log_info("%s: <current> is reported by a running VM, not set: "
				         "ignored",
				         f);
		} else if (is(c, "label")) {
			const xmlNode *s = NULL;

			for (const xmlNode *l = c->children; l && !rc; l = l->next) {
				if (l->type != XML_ELEMENT_NODE)
					continue;
				if (!is(l, "size") || s)
					rc = cfg_fail(x->err, f, "<label> holds one <size>");
				s = l;
			}
			if (!rc && !s)
				rc = cfg_fail(x->err, f, "<label> needs a <size>");
			if (!rc) {
				strncat(f, "/size", sizeof(f) - strlen(f) - 1);
				rc = size_elem(x, s, f, &d->label);
			}
		} else if (is(c, "readonly")) {
			rc = empty_elem(x, c, f);
			d->readonly = true;
		} else {
			rc = cfg_fail(x->err, f,
			              "unknown element in a memory device's <target> (size, node, "
			              "block, requested, current, label, readonly)");
		}
		xmlFree(text);
	}
	return rc;
}

static bool is_virtio(Splitvm__DeviceModel m)
{
	return m == SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_MEM ||
	       m == SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_PMEM;
}

static int parse_mem_address(struct xctx *x, struct xdev *d, const xmlNode *n)
{
	static const char *const dimm_attrs[] = { "type", "slot", "base", NULL };
	char *type = attr(n, "type");
	char f[80];
	uint64_t v;
	bool have;
	int rc = 0;

	snprintf(f, sizeof(f), "%s/address", d->field);
	if (!type) {
		rc = cfg_fail(x->err, f, "the address needs a type");
	} else if (strcmp(type, "pci") == 0) {
		/* splitvm's virtio devices are virtio-mmio: a PCI slot means nothing. */
		if (!is_virtio(d->model))
			rc = cfg_fail(x->err, f,
			              "only 'dimm' addresses are supported for the %s "
			              "device",
			              cfg_model_qemu_name(d->model));
		else
			rc = skip(x, "devices/memory/address[@type='pci']");
	} else if (strcmp(type, "dimm") == 0) {
		if (is_virtio(d->model))
			rc = cfg_fail(x->err, f,
			              "only 'pci' addresses are supported for the %s "
			              "device",
			              cfg_model_qemu_name(d->model));
		if (!rc)
			rc = check_attrs(x, n, f, dimm_attrs);
		if (!rc)
			rc = attr_u64(x, n, "slot", f, INT32_MAX, 10, &have, &v);
		if (!rc && have)
			d->slot = (int32_t)v;
		if (!rc)
			rc = attr_u64(x, n, "base", f, UINT64_MAX, 16, &have, &d->base);
	} else {
		rc = cfg_fail(x->err, f, "address type '%s' is not supported (dimm, pci)", type);
	}
	xmlFree(type);
	return rc;
}

static const struct {
	const char *name;
	Splitvm__DeviceModel model;
} xml_models[] = {
	{ "dimm", SPLITVM__DEVICE_MODEL__MODEL_DIMM },
	{ "virtio-mem", SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_MEM },
	{ "virtio-pmem", SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_PMEM },
	{ "nvdimm", SPLITVM__DEVICE_MODEL__MODEL_NVDIMM },
};

static int parse_memory_device(struct xctx *x, const xmlNode *n)
{
	static const char *const known[] = { "model", "access", "discard", NULL };
	struct xdev *d;
	char *model = NULL, *access = NULL, *discard = NULL;
	bool have_source = false, have_target = false, have_alias = false, have_addr = false;
	int rc;

	if (x->n_devs >= MAX_MEM_DEVICES)
		return cfg_fail(x->err, "devices/memory", "more than %d memory devices",
		                MAX_MEM_DEVICES);
	d = &x->devs[x->n_devs++];
	d->node = -1;
	d->slot = -1;
	snprintf(d->field, sizeof(d->field), "devices/memory[%zu]", x->n_devs);
	rc = check_attrs(x, n, d->field, known);
	if (rc)
		return rc;
	model = attr(n, "model");
	access = attr(n, "access");
	discard = attr(n, "discard");
	if (!model) {
		rc = cfg_fail(x->err, d->field, "missing memory model");
		goto out;
	}
	for (size_t i = 0; i < N_ELEMS(xml_models); i++)
		if (strcmp(model, xml_models[i].name) == 0)
			d->model = xml_models[i].model;
	if (!d->model) {
		rc = cfg_fail(x->err, d->field,
		              "unknown memory model '%s' (dimm, virtio-mem, virtio-pmem, nvdimm)",
		              model);
		goto out;
	}
	if (access && strcmp(access, "shared") == 0)
		d->access = ACCESS_SHARED;
	else if (access && strcmp(access, "private") == 0)
		d->access = ACCESS_PRIVATE;
	else if (access && strcmp(access, "default"))
		rc = cfg_fail(x->err, d->field, "access '%s' is unknown (shared, private)", access);
	if (!rc && discard && strcmp(discard, "yes") == 0)
		d->discard = true;
	else if (!rc && discard && strcmp(discard, "no"))
		rc = cfg_fail(x->err, d->field, "discard '%s' is unknown (yes, no)", discard);
	for (const xmlNode *c = n->children; c && !rc; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (c->ns)
			rc = cfg_fail(x->err, d->field, "unknown element <%s:%s>",
			              (const char *)c->ns->prefix, (const char *)c->name);
		else if (is(c, "source"))
			rc = dup_elem(x, &have_source, fld(x, "%s/source", d->field))
			             ?: parse_mem_source(x, d, c);
		else if (is(c, "target"))
			rc = dup_elem(x, &have_target, fld(x, "%s/target", d->field))
			             ?: parse_mem_target(x, d, c);
		else if (is(c, "address"))
			rc = dup_elem(x, &have_addr, fld(x, "%s/address", d->field))
			             ?: parse_mem_address(x, d, c);
		else if (is(c, "alias")) {
			static const char *const name_only[] = { "name", NULL };

			rc = dup_elem(x, &have_alias, fld(x, "%s/alias", d->field));
			if (!rc)
				rc = check_attrs(x, c, x->field, name_only);
			if (!rc) {
				d->alias = attr(c, "name");
				if (!d->alias)
					rc = cfg_fail(x->err, x->field, "<alias> needs a name");
			}
		} else {
			rc = cfg_fail(x->err, fld(x, "%s/%s", d->field, (const char *)c->name),
			              "unknown element in a memory device (source, target, alias, "
			              "address)");
		}
	}
out:
	xmlFree(model);
	xmlFree(access);
	xmlFree(discard);
	return rc;
}

/* --- serial and console -------------------------------------------------- */

static int parse_chardev(struct xctx *x, const xmlNode *n, bool console)
{
	static const char *const known[] = { "type", "tty", NULL };
	const char *f = console ? "devices/console" : "devices/serial";
	Splitvm__VmConfig *cfg = x->cfg;
	char *type = attr(n, "type"), *path = NULL;
	Splitvm__SerialType st;
	int rc = check_attrs(x, n, f, known);

	if (rc)
		goto out;
	if (!type || strcmp(type, "pty") == 0)
		st = SPLITVM__SERIAL_TYPE__SERIAL_PTY;
	else if (strcmp(type, "stdio") == 0)
		st = SPLITVM__SERIAL_TYPE__SERIAL_STDIO;
	else if (strcmp(type, "file") == 0)
		st = SPLITVM__SERIAL_TYPE__SERIAL_FILE;
	else if (strcmp(type, "null") == 0)
		st = SPLITVM__SERIAL_TYPE__SERIAL_NONE;
	else {
		rc = cfg_fail(x->err, f, "type '%s' is not supported (file, pty, stdio, null)",
		              type);
		goto out;
	}
	for (const xmlNode *c = n->children; c && !rc; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is(c, "source")) {
			xmlFree(path);
			path = attr(c, "path");
		} else if (is(c, "target")) {
			char *ttype = attr(c, "type");

			if (console && ttype && strcmp(ttype, "serial"))
				rc = cfg_fail(x->err, f,
				              "console target type '%s' is not supported (serial)",
				              ttype);
			xmlFree(ttype);
		} else {
			rc = skip(x, fld(x, "%s/%s", f, (const char *)c->name));
		}
	}
	if (rc)
		goto out;
	if (st == SPLITVM__SERIAL_TYPE__SERIAL_FILE && (!path || !path[0])) {
		rc = cfg_fail(x->err, fld(x, "%s/source", f), "a file serial port needs a path");
		goto out;
	}
	/* libvirt's console on a serial target is that serial port again. */
	if (console && x->serial_set)
		goto out;
	if (!console && x->serial_set && !x->serial_from_console) {
		rc = cfg_fail(x->err, f,
		              "splitvm has one serial port: a second <serial> is "
		              "refused");
		goto out;
	}
	cfg->serial = st;
	rc = cfg_set_str(&cfg->serial_path, st == SPLITVM__SERIAL_TYPE__SERIAL_FILE ? path : "");
	x->serial_set = true;
	x->serial_from_console = console;
out:
	xmlFree(type);
	xmlFree(path);
	return rc;
}

static int parse_devices(struct xctx *x, const xmlNode *n)
{
	int rc = dup_elem(x, &x->have_devices, "devices");

	for (const xmlNode *c = n->children; c && !rc; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (c->ns)
			rc = skip(x, fld(x, "devices/%s:%s", (const char *)c->ns->prefix,
			                 (const char *)c->name));
		else if (is(c, "memory"))
			rc = parse_memory_device(x, c);
		else if (is(c, "serial"))
			rc = parse_chardev(x, c, false);
		else if (is(c, "console"))
			rc = parse_chardev(x, c, true);
		else
			rc = skip(x, fld(x, "devices/%s", (const char *)c->name));
	}
	return rc;
}

/* --- splitvm's settings ------------------------------------------------ */

static int parse_settings(struct xctx *x, const xmlNode *n)
{
	Splitvm__VmConfig *cfg = x->cfg;
	int rc = dup_elem(x, &x->have_settings, "splitvm:settings");

	for (const xmlNode *c = n->children; c && !rc; c = c->next) {
		const char *f;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		f = fld(x, "splitvm:settings/%s", (const char *)c->name);
		if (c->ns && strcmp((const char *)c->ns->href, CONFIG_XML_NS)) {
			rc = cfg_fail(x->err, f,
			              "element of another namespace in splitvm's settings");
		} else if (is(c, "sandbox")) {
			static const char *const k[] = { "mode", NULL };
			char *mode = attr(c, "mode");

			rc = check_attrs(x, c, f, k);
			if (!rc && mode && strcmp(mode, "enforce") == 0)
				cfg->sandbox = SPLITVM__SANDBOX_MODE__SANDBOX_ENFORCE;
			else if (!rc && mode && strcmp(mode, "audit") == 0)
				cfg->sandbox = SPLITVM__SANDBOX_MODE__SANDBOX_AUDIT;
			else if (!rc)
				rc = cfg_fail(x->err, f, "mode '%s' is unknown (enforce, audit)",
				              mode ? mode : "");
			xmlFree(mode);
		} else if (is(c, "restart")) {
			static const char *const k[] = { "max", "window", "backoff-initial-ms",
				                         "backoff-max-ms", NULL };
			Splitvm__RestartPolicy *rp = cfg->restart;
			uint64_t v;
			bool have;

			rc = check_attrs(x, c, f, k);
			if (!rc)
				rc = attr_u64(x, c, "max", f, 1000, 10, &have, &v);
			if (!rc && have)
				rp->max_restarts = (uint32_t)v;
			if (!rc)
				rc = attr_u64(x, c, "window", f, 86400, 10, &have, &v);
			if (!rc && have)
				rp->window_ms = (uint32_t)(v * 1000);
			if (!rc)
				rc = attr_u64(x, c, "backoff-initial-ms", f, 3600000, 10, &have,
				              &v);
			if (!rc && have)
				rp->backoff_initial_ms = (uint32_t)v;
			if (!rc)
				rc = attr_u64(x, c, "backoff-max-ms", f, 3600000, 10, &have, &v);
			if (!rc && have)
				rp->backoff_max_ms = (uint32_t)v;
		} else if (is(c, "rundir")) {
			static const char *const k[] = { "path", NULL };
			char *path = attr(c, "path");

			rc = check_attrs(x, c, f, k);
			if (!rc && (!path || path[0] != '/'))
				rc = cfg_fail(x->err, f,
				              "the run directory needs an absolute path");
			if (!rc)
				rc = cfg_set_str(&cfg->run_dir, path);
			xmlFree(path);
		} else {
			rc = cfg_fail(x->err, f,
			              "unknown element in splitvm's settings (sandbox, restart, "
			              "rundir)");
		}
	}
	return rc;
}

/* --- <domain> ------------------------------------------------------------ */

static int parse_memory_elem(struct xctx *x, const xmlNode *n, const char *name, bool *seen,
                             uint64_t *out)
{
	static const char *const known[] = { "unit", "dumpCore", NULL };
	char *text = NULL, *unit = NULL;
	int rc = dup_elem(x, seen, name);

	if (!rc)
		rc = check_attrs(x, n, name, known);
	if (!rc)
		rc = leaf_text(x, n, name, &text);
	if (!rc) {
		unit = attr(n, "unit");
		rc = size_value(x, name, text, unit, out);
	}
	xmlFree(text);
	xmlFree(unit);
	return rc;
}

static int parse_max_memory(struct xctx *x, const xmlNode *n)
{
	static const char *const known[] = { "unit", "slots", NULL };
	char *text = NULL, *unit = NULL;
	uint64_t slots = 0;
	bool have_slots = false;
	int rc = dup_elem(x, &x->have_max, "maxMemory");

	if (!rc)
		rc = check_attrs(x, n, "maxMemory", known);
	if (!rc)
		rc = leaf_text(x, n, "maxMemory", &text);
	if (!rc) {
		unit = attr(n, "unit");
		rc = size_value(x, "maxMemory", text, unit, &x->maxmem);
	}
	if (!rc)
		rc = attr_u64(x, n, "slots", "maxMemory slots", UINT32_MAX, 10, &have_slots,
		              &slots);
	if (!rc && (!have_slots || !x->maxmem))
		rc = cfg_fail(x->err, "maxMemory",
		              "both maximum memory size and memory slot count must be specified");
	if (!rc)
		x->cfg->slots = (uint32_t)slots;
	xmlFree(text);
	xmlFree(unit);
	return rc;
}

static int parse_domain(struct xctx *x, const xmlNode *root)
{
	Splitvm__VmConfig *cfg = x->cfg;
	char *type;
	int rc = 0;

	if (root->ns || !is(root, "domain"))
		return cfg_fail(x->err, (const char *)root->name,
		                "the root element must be <domain>");
	type = attr(root, "type");
	if (type && strcmp(type, "kvm") && strcmp(type, "qemu"))
		rc = cfg_fail(x->err, "domain", "domain type '%s' is not supported (kvm, qemu)",
		              type);
	xmlFree(type);
	for (const xmlNode *c = root->children; c && !rc; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (c->ns && c->ns->href && strcmp((const char *)c->ns->href, CONFIG_XML_NS) == 0) {
			if (is(c, "settings"))
				rc = parse_settings(x, c);
			else
				rc = cfg_fail(x->err, fld(x, "splitvm:%s", (const char *)c->name),
				              "unknown splitvm element (settings)");
		} else if (c->ns) {
			rc = skip(x,
			          fld(x, "%s:%s", c->ns->prefix ? (const char *)c->ns->prefix : "",
			              (const char *)c->name));
		} else if (is(c, "name")) {
			char *text = NULL;

			rc = dup_elem(x, &x->have_name, "name") ?: leaf_text(x, c, "name", &text);
			if (!rc)
				rc = cfg_set_str(&cfg->name, text);
			xmlFree(text);
		} else if (is(c, "memory")) {
			rc = parse_memory_elem(x, c, "memory", &x->have_memory, &x->memory);
		} else if (is(c, "currentMemory")) {
			rc = parse_memory_elem(x, c, "currentMemory", &x->have_current,
			                       &x->current);
		} else if (is(c, "maxMemory")) {
			rc = parse_max_memory(x, c);
		} else if (is(c, "vcpu")) {
			rc = parse_vcpu(x, c);
		} else if (is(c, "cpu")) {
			rc = parse_cpu(x, c);
		} else if (is(c, "os")) {
			rc = parse_os(x, c);
		} else if (is(c, "devices")) {
			rc = parse_devices(x, c);
		} else {
			rc = skip(x, (const char *)c->name);
		}
	}
	return rc;
}

/* --- building ------------------------------------------------------------ */

static const char *alias_prefix(Splitvm__DeviceModel m)
{
	switch (m) {
	case SPLITVM__DEVICE_MODEL__MODEL_DIMM:
		return "dimm";
	case SPLITVM__DEVICE_MODEL__MODEL_NVDIMM:
		return "nvdimm";
	case SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_MEM:
		return "virtiomem";
	default:
		return "virtiopmem";
	}
}

/* qemuDomainDeviceAliasIndex(): N of "<prefix>N", else -1. */
static long alias_index(const char *alias, const char *prefix)
{
	size_t pl = strlen(prefix);
	long v = 0;

	if (!alias || strncmp(alias, prefix, pl) || !alias[pl])
		return -1;
	for (const char *p = alias + pl; *p; p++) {
		if (*p < '0' || *p > '9' || v > 100000000)
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v;
}

/* Slots and aliases the way libvirt's qemu driver assigns them. */
static int assign_names(struct xctx *x)
{
	uint64_t used[(CONFIG_MAX_SLOTS + 63) / 64 + 1] = { 0 };

	for (size_t i = 0; i < x->n_devs; i++) {
		struct xdev *d = &x->devs[i];

		if (d->slot >= 0 && d->slot < CONFIG_MAX_SLOTS)
			used[d->slot / 64] |= UINT64_C(1) << (d->slot % 64);
	}
	for (size_t i = 0; i < x->n_devs; i++) {
		struct xdev *d = &x->devs[i];

		if (is_virtio(d->model) || d->slot >= 0)
			continue;
		for (uint32_t s = 0; s < x->cfg->slots && s < CONFIG_MAX_SLOTS; s++) {
			if (!(used[s / 64] & (UINT64_C(1) << (s % 64)))) {
				used[s / 64] |= UINT64_C(1) << (s % 64);
				d->slot = (int32_t)s;
				break;
			}
		}
		/* No free slot: left -1; config_check() counts DIMMs over slots. */
	}
	for (size_t i = 0; i < x->n_devs; i++) {
		struct xdev *d = &x->devs[i];
		const char *prefix = alias_prefix(d->model);
		long idx = 0;
		char buf[32];

		if (d->alias)
			continue;
		if (!is_virtio(d->model) && d->slot >= 0) {
			idx = d->slot;
		} else {
			for (size_t j = 0; j < x->n_devs; j++) {
				long k = alias_index(x->devs[j].alias, prefix);

				if (k >= idx)
					idx = k + 1;
			}
		}
		snprintf(buf, sizeof(buf), "%s%ld", prefix, idx);
		d->alias = (char *)xmlStrdup((const xmlChar *)buf);
		if (!d->alias)
			return -ENOMEM;
	}
	return 0;
}

static void set_nodes(Splitvm__BackendConfig *b, const struct xdev *d, int *rc)
{
	size_t n = 0;

	for (uint32_t i = 0; i < BACKEND_CONFIG_MAX_NODES; i++)
		n += !!(d->nodemask[i / 64] & (UINT64_C(1) << (i % 64)));
	if (!n)
		return;
	b->host_nodes = malloc(n * sizeof(*b->host_nodes));
	if (!b->host_nodes) {
		*rc = -ENOMEM;
		return;
	}
	for (uint32_t i = 0; i < BACKEND_CONFIG_MAX_NODES; i++)
		if (d->nodemask[i / 64] & (UINT64_C(1) << (i % 64)))
			b->host_nodes[b->n_host_nodes++] = i;
	b->policy = SPLITVM__HOST_MEM_POLICY__POLICY_BIND;
}

/* Model rules that belong to libvirt's XML, before the backend is made. */
static int check_xdev(struct xctx *x, const struct xdev *d)
{
	bool file = d->model == SPLITVM__DEVICE_MODEL__MODEL_NVDIMM ||
	            d->model == SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_PMEM;
	const char *m = cfg_model_xml_name(d->model);

	if (!d->have_size)
		return cfg_fail(x->err, fld(x, "%s/target/size", d->field),
		                "the memory device needs a size");
	if (!d->size)
		return cfg_fail(x->err, fld(x, "%s/target/size", d->field),
		                "the memory device size must not be zero");
	if (file && !d->path)
		return cfg_fail(x->err, fld(x, "%s/source/path", d->field),
		                "path is required for model '%s'", m);
	if (!file && (d->path || d->pmem || d->alignsize))
		return cfg_fail(x->err, fld(x, "%s/source", d->field),
		                "path, pmem and alignsize are for nvdimm and virtio-pmem, not '%s'",
		                m);
	if (file && (d->pagesize || d->have_nodemask))
		return cfg_fail(x->err, fld(x, "%s/source", d->field),
		                "pagesize and nodemask are for dimm and virtio-mem, not '%s'", m);
	if (file && d->discard)
		return cfg_fail(x->err, d->field, "discard is not supported for model '%s'", m);
	if (d->model == SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_PMEM && d->access != ACCESS_SHARED)
		return cfg_fail(x->err, d->field,
		                "shared access mode required for virtio-pmem "
		                "device");
	if (d->model == SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_MEM && !d->have_block)
		return cfg_fail(x->err, fld(x, "%s/target/block", d->field),
		                "virtio-mem needs a block size");
	if (d->model != SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_MEM && (d->have_block || d->requested))
		return cfg_fail(x->err, fld(x, "%s/target", d->field),
		                "block and requested are for virtio-mem, not '%s'", m);
	if (d->model != SPLITVM__DEVICE_MODEL__MODEL_NVDIMM && (d->label || d->readonly))
		return cfg_fail(x->err, fld(x, "%s/target", d->field),
		                "label and readonly are for nvdimm, not '%s'", m);
	if (d->node >= 0 && !x->cfg->n_numa)
		return cfg_fail(x->err, fld(x, "%s/target/node", d->field),
		                "can't add memory backend as guest has no NUMA nodes configured");
	if (d->node < 0 && x->cfg->n_numa && !is_virtio(d->model))
		return cfg_fail(x->err, fld(x, "%s/target/node", d->field),
		                "target NUMA node needs to be specified for memory device");
	return 0;
}

static int build_device(struct xctx *x, struct xdev *d)
{
	bool file = d->model == SPLITVM__DEVICE_MODEL__MODEL_NVDIMM ||
	            d->model == SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_PMEM;
	bool huge = d->pagesize && d->pagesize != 4 * KIB;
	Splitvm__BackendConfig *b;
	Splitvm__DeviceConfig *dev;
	char id[80];
	int rc = 0;

	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	backend_config_init(b, file   ? SPLITVM__BACKEND_TYPE__BACKEND_FILE
	                       : huge ? SPLITVM__BACKEND_TYPE__BACKEND_MEMFD
	                              : SPLITVM__BACKEND_TYPE__BACKEND_RAM);
	snprintf(id, sizeof(id), "mem%s", d->alias);
	rc = cfg_set_str(&b->id, id);
	b->size = d->size;
	if (d->access == ACCESS_SHARED)
		b->share = true;
	else if (d->access == ACCESS_PRIVATE)
		b->share = false;
	if (file) {
		if (!rc)
			rc = cfg_set_str(&b->mem_path, d->path);
		b->pmem = d->pmem;
		b->align = d->alignsize;
		/* libvirt preallocates an NVDIMM unless real pmem backs it. */
		b->prealloc = d->model == SPLITVM__DEVICE_MODEL__MODEL_NVDIMM && !d->pmem;
	} else {
		if (huge) {
			b->hugetlb = true;
			b->hugetlbsize = d->pagesize;
			b->prealloc = d->model == SPLITVM__DEVICE_MODEL__MODEL_DIMM;
		}
		if (d->model == SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_MEM)
			b->reserve = false;
		set_nodes(b, d, &rc);
		if (d->discard)
			log_info("%s: discard='yes' has no effect on a memory backend without a "
			         "file",
			         d->field);
	}
	if (rc) {
		backend_config_free(b);
		return rc;
	}
	rc = cfg_add_backend(x->cfg, b);
	if (rc)
		return rc;
	rc = cfg_device_new(d->model, &dev);
	if (rc)
		return rc;
	rc = cfg_set_str(&dev->id, d->alias);
	if (!rc)
		rc = cfg_set_str(&dev->memdev, id);
	if (rc) {
		cfg_device_free(dev);
		return rc;
	}
	dev->node = d->node;
	dev->slot = d->slot;
	dev->addr = d->base;
	dev->block_size = d->block;
	dev->requested_size = d->requested;
	dev->label_size = d->label;
	dev->unarmed = d->readonly;
	return cfg_add_device(x->cfg, dev);
}

static int build(struct xctx *x)
{
	Splitvm__VmConfig *cfg = x->cfg;
	uint64_t dev_sum = 0, initial = 0, total;
	char a[SIZE_FMT_LEN], b[SIZE_FMT_LEN];
	int rc;

	if (!x->have_name)
		return cfg_fail(x->err, "name", "missing name information");
	if (!x->have_memory && !cfg->n_numa)
		return cfg_fail(x->err, "memory",
		                "Memory size must be specified via <memory> or "
		                "in the <numa> configuration");
	if (x->n_devs && !x->have_max)
		return cfg_fail(x->err, "maxMemory",
		                "cannot use/hotplug a memory device when "
		                "domain 'maxMemory' is not defined");
	for (size_t i = 0; i < x->n_devs; i++) {
		rc = check_xdev(x, &x->devs[i]);
		if (rc)
			return rc;
		if (__builtin_add_overflow(dev_sum, x->devs[i].size, &dev_sum))
			return cfg_fail(x->err, "devices/memory", "memory device sizes overflow");
	}
	if (cfg->n_numa) {
		for (size_t i = 0; i < cfg->n_numa; i++)
			if (__builtin_add_overflow(initial, cfg->numa[i]->memory, &initial))
				return cfg_fail(x->err, "cpu/numa", "NUMA cell sizes overflow");
	} else {
		if (dev_sum > x->memory)
			return cfg_fail(x->err, "memory",
			                "Total size of memory devices exceeds the "
			                "total memory size");
		initial = x->memory - dev_sum;
		rc = align_notice(x, "memory", &initial, MIB,
		                  "the boot memory as libvirt aligns it on x86");
		if (rc)
			return rc;
	}
	cfg->ram_size = initial;
	if (x->have_max) {
		rc = align_notice(x, "maxMemory", &x->maxmem, MIB, "as libvirt aligns it on x86");
		if (rc)
			return rc;
		cfg->maxmem = x->maxmem;
	} else {
		cfg->maxmem = initial;
	}
	dev_sum = 0;
	for (size_t i = 0; i < x->n_devs; i++) {
		char f[96];

		snprintf(f, sizeof(f), "%s/target/size", x->devs[i].field);
		rc = align_notice(x, f, &x->devs[i].size, CONFIG_DEVICE_ALIGN,
		                  "as libvirt aligns memory devices on x86");
		if (rc)
			return rc;
		if (__builtin_add_overflow(dev_sum, x->devs[i].size, &dev_sum))
			return cfg_fail(x->err, "devices/memory", "memory device sizes overflow");
	}
	if (__builtin_add_overflow(initial, dev_sum, &total))
		return cfg_fail(x->err, "memory", "the total memory size overflows");
	if (x->have_memory && x->memory != total)
		log_info("memory: %s given, the total is %s (boot memory plus memory devices), as "
		         "libvirt computes it",
		         size_format(x->memory, a, sizeof(a)), size_format(total, b, sizeof(b)));
	if (x->have_current && x->current < total)
		log_info("currentMemory: ignored, splitvm has no balloon");
	rc = assign_names(x);
	for (size_t i = 0; i < x->n_devs && !rc; i++)
		rc = build_device(x, &x->devs[i]);
	return rc;
}

static void xctx_release(struct xctx *x)
{
	for (size_t i = 0; i < x->n_devs; i++) {
		free(x->devs[i].path);
		xmlFree(x->devs[i].alias);
	}
}

/* The text of libxml2's last error, without its newline. */
static int xml_error(struct config_error *err, xmlParserCtxtPtr ctxt)
{
	const xmlError *e = xmlCtxtGetLastError(ctxt);
	char msg[256];
	size_t len;

	if (!e || !e->message)
		return cfg_fail(err, "XML", "the document cannot be parsed");
	snprintf(msg, sizeof(msg), "%s", e->message);
	len = strlen(msg);
	while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		msg[--len] = '\0';
	return cfg_fail(err, "XML", "line %d: %s", e->line, msg);
}

int config_parse_xml(const char *buf, size_t len, unsigned flags, Splitvm__VmConfig **out,
                     struct config_error *err)
{
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr doc = NULL;
	struct xctx *x = NULL;
	int rc;

	*out = NULL;
	if (len > CONFIG_MAX_FILE_SIZE)
		return cfg_fail(err, "XML", "the document is larger than %d bytes",
		                CONFIG_MAX_FILE_SIZE);
	if (len > INT32_MAX)
		return -EINVAL;
	/*
	 * No DTD at all: a DOCTYPE is where external entities and entity
	 * expansion bombs come from, and a domain XML never needs one.
	 */
	if (memmem(buf, len, "<!DOCTYPE", 9) || memmem(buf, len, "<!ENTITY", 8))
		return cfg_fail(err, "XML", "a DOCTYPE or entity declaration is refused");
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->flags = flags;
	x->err = err;
	rc = config_new(&x->cfg);
	if (rc)
		goto out;
	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		rc = -ENOMEM;
		goto out;
	}
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, "domain.xml", NULL,
	                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		rc = xml_error(err, ctxt);
		goto out;
	}
	if (doc->intSubset || doc->extSubset) {
		rc = cfg_fail(err, "XML", "a DOCTYPE or entity declaration is refused");
		goto out;
	}
	if (!xmlDocGetRootElement(doc)) {
		rc = cfg_fail(err, "XML", "the document has no root element");
		goto out;
	}
	rc = parse_domain(x, xmlDocGetRootElement(doc));
	if (!rc)
		rc = build(x);
	if (!rc && (x->skipped[0]))
		log_warnx("launch config: skipping elements splitvm has no use for: %s%s",
		          x->skipped, x->skipped_cut ? ", ..." : "");
	if (!rc)
		rc = config_check(x->cfg, CONFIG_SYNTAX_XML, flags, err);
out:
	if (rc) {
		config_free(x->cfg);
		x->cfg = NULL;
	}
	*out = rc ? NULL : x->cfg;
	xctx_release(x);
	free(x);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return rc;
}

int config_parse_xml_file(const char *path, unsigned flags, Splitvm__VmConfig **out,
                          struct config_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	char *buf = NULL;
	size_t used = 0;
	struct stat st;
	int rc;

	*out = NULL;
	if (fd < 0)
		return cfg_fail(err, path, "cannot open the launch config: %s", strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = cfg_fail(err, path, "the launch config is not a regular file");
		goto out;
	}
	buf = malloc(CONFIG_MAX_FILE_SIZE + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + used, CONFIG_MAX_FILE_SIZE + 1 - used);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = cfg_fail(err, path, "cannot read the launch config: %s",
			              strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used > CONFIG_MAX_FILE_SIZE) {
			rc = cfg_fail(err, path, "the launch config is larger than %d bytes",
			              CONFIG_MAX_FILE_SIZE);
			goto out;
		}
	}
	rc = config_parse_xml(buf, used, flags, out, err);
out:
	free(buf);
	close_fd(&fd);
	return rc;
}
