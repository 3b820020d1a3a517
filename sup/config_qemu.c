/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU-style options -> VmConfig: `splitvm run -name vm1 -m 1G,slots=4,
 * maxmem=8G -smp 2 -object memory-backend-ram,id=mem0,size=4G -device
 * virtio-mem-pci,id=vm0,memdev=mem0 -kernel ... -initrd ... -append ...`.
 *
 * Option syntax and defaults are QEMU 7.2's (QemuOpts via common/opts.h):
 * -m's size is in MiB without a suffix but maxmem= in bytes, -m defaults
 * to 128M, -smp fills missing topology as 7.2's machine types do (cores
 * first) and splitvm refuses maxcpus above cpus (no vCPU hotplug).
 * Drivers: pc-dimm, nvdimm, virtio-mem(-pci), virtio-pmem(-pci); the -pci
 * names are taken for command lines written for QEMU, and their PCI bus=
 * and addr= are ignored with a notice (splitvm's virtio is virtio-mmio).
 * Every device needs an id: it names the device process.
 *
 * One difference from QEMU 7.2: -numa nodes without memdev= get the RAM
 * split between them as QEMU up to 5.0 did (8 MiB granules, the rest on
 * the last node), so that the command line of QEMU's virtio-mem commit
 * runs; 7.2 refuses it.  -numa node,mem= is refused as 7.2 refuses it.
 */
#include "config_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_config.h"
#include "log.h"
#include "opts.h"
#include "size.h"

#define MIB (UINT64_C(1) << 20)
/* QEMU's default -m. */
#define QEMU_DEFAULT_RAM (128 * MIB)
/* x86's numa_mem_align_shift: 8 MiB granules for the split. */
#define NUMA_SPLIT_ALIGN (8 * MIB)
#define DEFAULT_NAME     "splitvm"

struct qnode {
	uint32_t id;
	uint64_t cpus[(CONFIG_MAX_VCPUS + 63) / 64];
	bool have_cpus;
	char *memdev;
};

struct qctx {
	Splitvm__VmConfig *cfg;
	struct config_error *err;
	struct qnode nodes[CONFIG_MAX_NUMA_NODES];
	size_t n_nodes;
	bool have_m, have_serial, nvdimm_on;
	char field[160];
};

/* The opts error, under @field. */
static int opts_err(struct qctx *q, const char *field, int rc, const struct opts_error *oe)
{
	const char *msg = oe->msg;
	size_t len = strlen(field);

	/* opts_check_unused() starts with the option's name: say it once. */
	if (strncmp(msg, field, len) == 0 && msg[len] == ':' && msg[len + 1] == ' ')
		msg += len + 2;
	if (rc == -EINVAL)
		return cfg_fail(q->err, field, "%s", msg);
	return rc;
}

/* "-device ID" or, before the id is known, "-device DRIVER". */
static const char *fld_device(struct qctx *q, const char *driver, const char *id)
{
	snprintf(q->field, sizeof(q->field), "-device %s", id ? id : driver);
	return q->field;
}

static int parse_name(struct qctx *q, const char *arg)
{
	struct opts_error oe = { { 0 } };
	struct opts *o = NULL;
	bool dbg;
	int rc = opts_parse(arg, "guest", &o, &oe);

	if (rc)
		return opts_err(q, "-name", rc, &oe);
	(void)opts_get(o, "guest");
	(void)opts_get(o, "process");
	rc = opts_get_bool(o, "debug-threads", false, &dbg, &oe);
	if (!rc)
		rc = opts_check_unused(o, "-name", &oe);
	if (rc) {
		rc = opts_err(q, "-name", rc, &oe);
	} else if (!opts_get(o, "guest")) {
		rc = cfg_fail(q->err, "-name", "Parameter 'guest' is missing");
	} else {
		rc = cfg_set_str(&q->cfg->name, opts_get(o, "guest"));
	}
	opts_free(o);
	return rc;
}

static int parse_m(struct qctx *q, const char *arg)
{
	struct opts_error oe = { { 0 } };
	struct opts *o = NULL;
	uint64_t size = 0, maxmem = 0, slots = 0;
	int rc = opts_parse(arg, "size", &o, &oe);

	if (rc)
		return opts_err(q, "-m", rc, &oe);
	if (opts_get(o, "size") && !opts_get(o, "size")[0])
		rc = cfg_fail(q->err, "-m", "missing 'size' option value");
	if (!rc)
		rc = opts_err(q, "-m", opts_get_size_unit(o, "size", 0, MIB, &size, &oe), &oe);
	if (!rc)
		rc = opts_err(q, "-m maxmem", opts_get_size(o, "maxmem", 0, &maxmem, &oe), &oe);
	if (!rc)
		rc = opts_err(q, "-m slots", opts_get_u64(o, "slots", 0, UINT32_MAX, &slots, &oe),
		              &oe);
	if (!rc)
		rc = opts_err(q, "-m", opts_check_unused(o, "-m", &oe), &oe);
	if (!rc && opts_get(o, "slots") && !opts_get(o, "maxmem"))
		rc = cfg_fail(q->err, "-m", "invalid -m option value: missing 'maxmem' option");
	if (!rc) {
		/* "-m 0" is QEMU's default size, as QEMU reads it. */
		q->cfg->ram_size = size ? size : QEMU_DEFAULT_RAM;
		q->cfg->maxmem = opts_get(o, "maxmem") ? maxmem : q->cfg->ram_size;
		q->cfg->slots = (uint32_t)slots;
		q->have_m = true;
	}
	opts_free(o);
	return rc;
}

static int parse_smp(struct qctx *q, const char *arg)
{
	static const char *const keys[] = { "cpus",     "maxcpus", "sockets", "dies",
		                            "clusters", "cores",   "threads" };
	uint64_t v[N_ELEMS(keys)] = { 0 };
	struct opts_error oe = { { 0 } };
	struct opts *o = NULL;
	uint64_t cpus, maxcpus, sockets, dies, clusters, cores, threads;
	int rc = opts_parse(arg, "cpus", &o, &oe);

	if (rc)
		return opts_err(q, "-smp", rc, &oe);
	for (size_t i = 0; i < N_ELEMS(keys) && !rc; i++)
		rc = opts_get_u64(o, keys[i], 0, 4096, &v[i], &oe);
	if (!rc)
		rc = opts_check_unused(o, "-smp", &oe);
	opts_free(o);
	if (rc)
		return opts_err(q, "-smp", rc, &oe);
	cpus = v[0], maxcpus = v[1], sockets = v[2], dies = v[3] ?: 1, clusters = v[4] ?: 1;
	cores = v[5], threads = v[6] ?: 1;
	/* QEMU 7.2 smp_parse() for machine types that prefer cores. */
	if (!cpus && !maxcpus) {
		sockets = sockets ?: 1;
		cores = cores ?: 1;
	} else {
		maxcpus = maxcpus ?: cpus;
		sockets = sockets ?: 1;
		if (!cores)
			cores = maxcpus / (sockets * dies * clusters * threads) ?: 1;
	}
	if (!maxcpus)
		maxcpus = sockets * dies * clusters * cores * threads;
	if (!cpus)
		cpus = maxcpus;
	if (sockets * dies * clusters * cores * threads != maxcpus)
		return cfg_fail(
		        q->err, "-smp",
		        "Invalid CPU topology: product of the hierarchy must match maxcpus: "
		        "sockets (%" PRIu64 ") * dies (%" PRIu64 ") * cores (%" PRIu64
		        ") * threads (%" PRIu64 ") != maxcpus (%" PRIu64 ")",
		        sockets, dies, cores, threads, maxcpus);
	if (maxcpus != cpus)
		return cfg_fail(q->err, "-smp",
		                "maxcpus (%" PRIu64 ") must equal cpus (%" PRIu64
		                "): splitvm has no vCPU hotplug",
		                maxcpus, cpus);
	if (cpus > CONFIG_MAX_VCPUS)
		return cfg_fail(q->err, "-smp", "%" PRIu64 " vCPUs: splitvm runs 1 to %u", cpus,
		                CONFIG_MAX_VCPUS);
	q->cfg->vcpus = (uint32_t)cpus;
	return 0;
}

static int parse_numa(struct qctx *q, const char *arg)
{
	struct opts_error oe = { { 0 } };
	struct opts *o = NULL;
	struct qnode *n;
	const char *type, *cpus, *memdev;
	uint64_t id;
	int rc = opts_parse(arg, "type", &o, &oe);

	if (rc)
		return opts_err(q, "-numa", rc, &oe);
	type = opts_get(o, "type");
	if (!type || strcmp(type, "node")) {
		rc = cfg_fail(q->err, "-numa", "only '-numa node' is supported, not '%s'",
		              type ? type : "");
		goto out;
	}
	if (opts_get(o, "mem")) {
		rc = cfg_fail(q->err, "-numa",
		              "Parameter -numa node,mem is not supported by this "
		              "machine type. Use -numa node,memdev instead");
		goto out;
	}
	if (q->n_nodes >= CONFIG_MAX_NUMA_NODES) {
		rc = cfg_fail(q->err, "-numa", "more than %u NUMA nodes", CONFIG_MAX_NUMA_NODES);
		goto out;
	}
	n = &q->nodes[q->n_nodes];
	rc = opts_get_u64(o, "nodeid", q->n_nodes, CONFIG_MAX_NUMA_NODES - 1, &id, &oe);
	cpus = opts_get(o, "cpus");
	memdev = opts_get(o, "memdev");
	if (!rc)
		rc = opts_check_unused(o, "-numa node", &oe);
	if (rc) {
		rc = opts_err(q, "-numa", rc, &oe);
		goto out;
	}
	n->id = (uint32_t)id;
	snprintf(q->field, sizeof(q->field), "-numa node,nodeid=%u", n->id);
	if (cpus && cfg_parse_list(cpus, false, CONFIG_MAX_VCPUS, n->cpus) < 0) {
		rc = cfg_fail(q->err, q->field, "cpus '%s' is not a CPU range below %u (0-3)", cpus,
		              CONFIG_MAX_VCPUS);
		goto out;
	}
	n->have_cpus = cpus != NULL;
	if (memdev) {
		n->memdev = strdup(memdev);
		if (!n->memdev) {
			rc = -ENOMEM;
			goto out;
		}
	}
	q->n_nodes++;
out:
	opts_free(o);
	return rc;
}

static int parse_object(struct qctx *q, const char *arg)
{
	struct backend_config_error be;
	Splitvm__BackendConfig *b = NULL;
	int rc = backend_config_parse(arg, &b, &be);

	if (rc == -EINVAL)
		return cfg_fail(q->err, "-object", "%s", be.text);
	if (rc)
		return rc;
	return cfg_add_backend(q->cfg, b);
}

static const struct {
	const char *driver;
	Splitvm__DeviceModel model;
	bool pci;
} drivers[] = {
	{ "pc-dimm", SPLITVM__DEVICE_MODEL__MODEL_DIMM, false },
	{ "nvdimm", SPLITVM__DEVICE_MODEL__MODEL_NVDIMM, false },
	{ "virtio-mem", SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_MEM, false },
	{ "virtio-mem-pci", SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_MEM, true },
	{ "virtio-pmem", SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_PMEM, false },
	{ "virtio-pmem-pci", SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_PMEM, true },
};

/* The properties of each model that splitvm takes (QEMU 7.2's names). */
static bool prop_known(Splitvm__DeviceModel m, bool pci, const char *key)
{
	static const char *const common[] = { "driver", "id", "memdev" };
	static const char *const dimm[] = { "node", "slot", "addr" };
	static const char *const nvd[] = { "node", "slot", "addr", "label-size", "unarmed" };
	static const char *const vmem[] = { "node", "memaddr", "block-size", "requested-size" };
	static const char *const vpmem[] = { "memaddr" };
	static const char *const pcis[] = { "bus", "addr" };
	const char *const *list;
	size_t n;

	for (size_t i = 0; i < N_ELEMS(common); i++)
		if (!strcmp(key, common[i]))
			return true;
	if (pci)
		for (size_t i = 0; i < N_ELEMS(pcis); i++)
			if (!strcmp(key, pcis[i]))
				return true;
	switch (m) {
	case SPLITVM__DEVICE_MODEL__MODEL_DIMM:
		list = dimm, n = N_ELEMS(dimm);
		break;
	case SPLITVM__DEVICE_MODEL__MODEL_NVDIMM:
		list = nvd, n = N_ELEMS(nvd);
		break;
	case SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_MEM:
		list = vmem, n = N_ELEMS(vmem);
		break;
	default:
		list = vpmem, n = N_ELEMS(vpmem);
		break;
	}
	for (size_t i = 0; i < n; i++)
		if (!strcmp(key, list[i]))
			return true;
	return false;
}

static int device_props(struct qctx *q, struct opts *o, Splitvm__DeviceConfig *d, bool pci,
                        const char *f)
{
	struct opts_error oe = { { 0 } };
	uint64_t v;
	bool b;
	int rc;

	if (opts_get(o, "node")) {
		rc = opts_get_u64(o, "node", 0, INT32_MAX, &v, &oe);
		if (rc)
			return opts_err(q, f, rc, &oe);
		d->node = (int32_t)v;
	}
	if (opts_get(o, "slot")) {
		rc = opts_get_u64(o, "slot", 0, INT32_MAX, &v, &oe);
		if (rc)
			return opts_err(q, f, rc, &oe);
		d->slot = (int32_t)v;
	}
	rc = opts_get_u64(o, pci ? "memaddr" : (opts_get(o, "memaddr") ? "memaddr" : "addr"), 0,
	                  UINT64_MAX, &d->addr, &oe);
	if (!rc)
		rc = opts_get_size(
		        o, "block-size",
		        d->model == SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_MEM ? CONFIG_THP_SIZE : 0,
		        &d->block_size, &oe);
	if (!rc)
		rc = opts_get_size(o, "requested-size", 0, &d->requested_size, &oe);
	if (!rc)
		rc = opts_get_size(o, "label-size", 0, &d->label_size, &oe);
	if (!rc)
		rc = opts_get_bool(o, "unarmed", false, &b, &oe);
	if (rc)
		return opts_err(q, f, rc, &oe);
	d->unarmed = b;
	if (pci && (opts_get(o, "bus") || opts_get(o, "addr")))
		log_info("%s: PCI bus= and addr= ignored: splitvm's virtio devices are "
		         "virtio-mmio",
		         f);
	return 0;
}

static int parse_device(struct qctx *q, const char *arg)
{
	struct opts_error oe = { { 0 } };
	struct opts *o = NULL;
	Splitvm__DeviceConfig *d = NULL;
	const char *drv, *id, *memdev;
	size_t k;
	int rc = opts_parse(arg, "driver", &o, &oe);

	if (rc)
		return opts_err(q, "-device", rc, &oe);
	drv = opts_get(o, "driver");
	for (k = 0; k < N_ELEMS(drivers); k++)
		if (drv && !strcmp(drv, drivers[k].driver))
			break;
	if (k == N_ELEMS(drivers)) {
		rc = cfg_fail(q->err, "-device",
		              "driver '%s' is not a memory device splitvm models (pc-dimm, nvdimm, "
		              "virtio-mem-pci, virtio-pmem-pci)",
		              drv ? drv : "");
		goto out;
	}
	id = opts_get(o, "id");
	if (!id || !id[0]) {
		rc = cfg_fail(q->err, fld_device(q, drv, NULL),
		              "Parameter 'id' is missing: splitvm names each device process by it");
		goto out;
	}
	snprintf(q->field, sizeof(q->field), "-device %s", id);
	for (size_t i = 0; i < opts_count(o); i++) {
		if (!prop_known(drivers[k].model, drivers[k].pci, opts_key(o, i))) {
			rc = cfg_fail(q->err, q->field, "Property '%s.%s' not found", drv,
			              opts_key(o, i));
			goto out;
		}
	}
	rc = cfg_device_new(drivers[k].model, &d);
	if (rc)
		goto out;
	memdev = opts_get(o, "memdev");
	rc = cfg_set_str(&d->id, id);
	if (!rc && memdev)
		rc = cfg_set_str(&d->memdev, memdev);
	if (!rc)
		rc = device_props(q, o, d, drivers[k].pci, q->field);
	if (rc) {
		cfg_device_free(d);
		goto out;
	}
	rc = cfg_add_device(q->cfg, d);
out:
	opts_free(o);
	return rc;
}

static int parse_machine(struct qctx *q, const char *arg)
{
	struct opts_error oe = { { 0 } };
	struct opts *o = NULL;
	const char *type, *accel;
	bool nv;
	int rc = opts_parse(arg, "type", &o, &oe);

	if (rc)
		return opts_err(q, "-machine", rc, &oe);
	type = opts_get(o, "type");
	accel = opts_get(o, "accel");
	rc = opts_get_bool(o, "nvdimm", false, &nv, &oe);
	if (!rc)
		rc = opts_check_unused(o, "-machine", &oe);
	if (rc) {
		rc = opts_err(q, "-machine", rc, &oe);
	} else if (type && strcmp(type, "pc") && strcmp(type, "q35") && strcmp(type, "microvm") &&
	           strncmp(type, "pc-", 3)) {
		rc = cfg_fail(q->err, "-machine",
		              "machine type '%s' is not supported (pc, q35, microvm)", type);
	} else if (accel && strcmp(accel, "kvm")) {
		rc = cfg_fail(q->err, "-machine", "accel '%s' is not supported (kvm)", accel);
	} else {
		if (opts_get(o, "nvdimm"))
			q->nvdimm_on = nv;
	}
	opts_free(o);
	return rc;
}

static int parse_serial(struct qctx *q, const char *arg)
{
	Splitvm__VmConfig *cfg = q->cfg;
	const char *path = "";

	if (q->have_serial)
		return cfg_fail(q->err, "-serial",
		                "splitvm has one serial port: a second -serial "
		                "is refused");
	q->have_serial = true;
	if (!strcmp(arg, "stdio"))
		cfg->serial = SPLITVM__SERIAL_TYPE__SERIAL_STDIO;
	else if (!strcmp(arg, "pty"))
		cfg->serial = SPLITVM__SERIAL_TYPE__SERIAL_PTY;
	else if (!strcmp(arg, "none") || !strcmp(arg, "null"))
		cfg->serial = SPLITVM__SERIAL_TYPE__SERIAL_NONE;
	else if (!strncmp(arg, "file:", 5) && arg[5]) {
		cfg->serial = SPLITVM__SERIAL_TYPE__SERIAL_FILE;
		path = arg + 5;
	} else
		return cfg_fail(q->err, "-serial",
		                "'%s' is not supported (stdio, pty, none, null, file:PATH)", arg);
	return cfg_set_str(&cfg->serial_path, path);
}

/* After all options: NUMA nodes get their memory and base-RAM backends. */
static int finish_numa(struct qctx *q)
{
	Splitvm__VmConfig *cfg = q->cfg;
	size_t with = 0;
	uint64_t used = 0;

	for (size_t i = 0; i < q->n_nodes; i++)
		with += q->nodes[i].memdev != NULL;
	if (with && with != q->n_nodes)
		return cfg_fail(q->err, "-numa",
		                "memdev option must be specified for either all or "
		                "no nodes");
	if (q->n_nodes && !with)
		log_info("-numa: no memdev= given: the RAM is split between the nodes as QEMU 5.0 "
		         "did (QEMU 7.2 refuses this)");
	for (size_t i = 0; i < q->n_nodes; i++) {
		struct qnode *qn = &q->nodes[i];
		Splitvm__NumaNode *n;
		Splitvm__BackendConfig *b;
		char name[32];
		int rc;

		for (size_t j = 0; j < i; j++)
			if (q->nodes[j].id == qn->id)
				return cfg_fail(q->err, "-numa", "Duplicate NUMA nodeid: %u",
				                qn->id);
		rc = cfg_add_numa(cfg, &n);
		if (rc)
			return rc;
		n->node_id = qn->id;
		for (uint32_t c = 0; c < CONFIG_MAX_VCPUS && !rc; c++)
			if (qn->cpus[c / 64] & (UINT64_C(1) << (c % 64)))
				rc = cfg_numa_add_cpu(n, c);
		if (rc)
			return rc;
		if (qn->memdev) {
			/* A backend named by -numa is boot RAM, not a device's. */
			for (size_t k = 0; k < cfg->n_backends; k++) {
				if (!strcmp(cfg->backends[k]->id, qn->memdev)) {
					cfg->backends[k]->base_ram = true;
					n->memory = cfg->backends[k]->size;
				}
			}
			rc = cfg_set_str(&n->memdev, qn->memdev);
			if (rc)
				return rc;
			continue;
		}
		if (i + 1 < q->n_nodes)
			n->memory =
			        cfg->ram_size / q->n_nodes / NUMA_SPLIT_ALIGN * NUMA_SPLIT_ALIGN;
		else
			n->memory = cfg->ram_size - used;
		used += n->memory;
		snprintf(name, sizeof(name), "ram-node%u", n->node_id);
		b = malloc(sizeof(*b));
		if (!b)
			return -ENOMEM;
		backend_config_init(b, SPLITVM__BACKEND_TYPE__BACKEND_RAM);
		b->size = n->memory;
		b->base_ram = true;
		rc = cfg_set_str(&b->id, name);
		if (rc) {
			backend_config_free(b);
			return rc;
		}
		rc = cfg_set_str(&n->memdev, name);
		if (!rc)
			rc = cfg_add_backend(cfg, b);
		else
			backend_config_free(b);
		if (rc)
			return rc;
	}
	return 0;
}

static const char *const with_value[] = { "name",   "m",       "smp",  "numa",   "object",
	                                  "device", "machine", "M",    "kernel", "initrd",
	                                  "append", "serial",  "accel" };

static int dispatch(struct qctx *q, const char *opt, const char *val)
{
	Splitvm__VmConfig *cfg = q->cfg;

	if (!strcmp(opt, "name"))
		return parse_name(q, val);
	if (!strcmp(opt, "m"))
		return parse_m(q, val);
	if (!strcmp(opt, "smp"))
		return parse_smp(q, val);
	if (!strcmp(opt, "numa"))
		return parse_numa(q, val);
	if (!strcmp(opt, "object"))
		return parse_object(q, val);
	if (!strcmp(opt, "device"))
		return parse_device(q, val);
	if (!strcmp(opt, "machine") || !strcmp(opt, "M"))
		return parse_machine(q, val);
	if (!strcmp(opt, "kernel"))
		return cfg_set_str(&cfg->kernel, val);
	if (!strcmp(opt, "initrd"))
		return cfg_set_str(&cfg->initrd, val);
	if (!strcmp(opt, "append"))
		return cfg_set_str(&cfg->cmdline, val);
	if (!strcmp(opt, "serial"))
		return parse_serial(q, val);
	/* "accel": */
	if (strcmp(val, "kvm"))
		return cfg_fail(q->err, "-accel", "accelerator '%s' is not supported (kvm)", val);
	return 0;
}

int config_parse_qemu(int argc, char *const *argv, unsigned flags, Splitvm__VmConfig **out,
                      struct config_error *err)
{
	struct qctx q = { .err = err };
	int rc;

	*out = NULL;
	rc = config_new(&q.cfg);
	if (rc)
		return rc;
	q.cfg->ram_size = QEMU_DEFAULT_RAM;
	q.cfg->maxmem = QEMU_DEFAULT_RAM;
	rc = cfg_set_str(&q.cfg->name, DEFAULT_NAME);
	for (int i = 0; i < argc && !rc; i++) {
		const char *a = argv[i];
		const char *opt = a + (a[0] == '-' && a[1] == '-' ? 2 : 1);
		bool takes = false;

		if (a[0] != '-' || !a[1]) {
			rc = cfg_fail(err, a,
			              "not an option: splitvm run takes QEMU-style options "
			              "or one XML file");
			break;
		}
		for (size_t k = 0; k < N_ELEMS(with_value); k++)
			takes |= !strcmp(opt, with_value[k]);
		if (!takes) {
			if (strcmp(opt, "enable-kvm"))
				rc = cfg_fail(
				        err, a,
				        "option not supported by splitvm (-name, -m, -smp, "
				        "-numa, -object, -device, -machine, -kernel, -initrd, "
				        "-append, -serial, -accel kvm, -enable-kvm)");
			continue;
		}
		if (i + 1 >= argc) {
			rc = cfg_fail(err, a, "requires an argument");
			break;
		}
		rc = dispatch(&q, opt, argv[++i]);
	}
	if (!rc)
		rc = finish_numa(&q);
	for (size_t i = 0; !rc && i < q.cfg->n_devices; i++)
		if (q.cfg->devices[i]->model == SPLITVM__DEVICE_MODEL__MODEL_NVDIMM && !q.nvdimm_on)
			rc = cfg_fail(err, fld_device(&q, "nvdimm", q.cfg->devices[i]->id),
			              "nvdimm is not enabled: add 'nvdimm=on' to '-M'");
	if (!rc)
		rc = config_check(q.cfg, CONFIG_SYNTAX_QEMU, flags, err);
	for (size_t i = 0; i < q.n_nodes; i++)
		free(q.nodes[i].memdev);
	if (rc) {
		config_free(q.cfg);
		return rc;
	}
	*out = q.cfg;
	return 0;
}
