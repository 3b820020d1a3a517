/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * splitvm-core's standalone command line, with QEMU's option names and the
 * checks QEMU makes on them (softmmu/vl.c parse_memory_options and
 * hw/core/numa.c), so that a machine that QEMU refuses is refused here too.
 */
#include "core.h"
#include "nfit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend_config.h"
#include "log.h"
#include "opts.h"
#include "size.h"
#include "splitvm_proto.h"

/* Copy the value of "key=" at the start of @opt into @val; the next field. */
static const char *next_field(const char *opt, char *key, size_t klen, char *val, size_t vlen)
{
	const char *eq, *end;
	size_t n;

	end = strchr(opt, ',');
	if (!end)
		end = opt + strlen(opt);
	eq = memchr(opt, '=', (size_t)(end - opt));
	if (eq) {
		n = (size_t)(eq - opt);
		snprintf(key, klen, "%.*s", (int)n, opt);
		n = (size_t)(end - eq - 1);
		snprintf(val, vlen, "%.*s", (int)n, eq + 1);
	} else {
		key[0] = '\0';
		n = (size_t)(end - opt);
		snprintf(val, vlen, "%.*s", (int)n, opt);
	}
	return *end ? end + 1 : end;
}

int core_cfg_fail(struct core_cfg_err *err, const char *field, const char *fmt, ...)
{
	struct core_cfg_err scratch;
	va_list ap;

	if (!err)
		err = &scratch;
	snprintf(err->field, sizeof(err->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/*
 * QEMU 7.2's rules for the machine's memory (hw/core/machine.c
 * machine_set_mem and hw/i386/pc.c pc_memory_init), in its order and with
 * its words, checked against Debian's qemu-system-x86_64 7.2: a size of 0
 * means the default 128 MiB, the size is rounded up to 8 KiB, slots need
 * maxmem, maxmem is at least the size and above it when slots are given,
 * maxmem without slots is fine (virtio-mem needs no slots), and with room
 * for device memory slots are at most 256 and maxmem is page aligned.
 * One difference: QEMU's "must by aligned" is spelled "must be aligned".
 */
int core_mem_check(struct core_config *cfg, uint64_t size, bool has_slots, uint64_t slots,
                   bool has_max, uint64_t maxmem, const char *size_field, struct core_cfg_err *err)
{
	if (size == 0)
		size = 128 * MIB;
	if (size > UINT64_MAX - 8191)
		return core_cfg_fail(err, size_field, "ram size too large");
	size = (size + 8191) & ~8191ull;
	if (has_slots && !has_max)
		return core_cfg_fail(err, "slots", "slots specified but no max-size");
	if (!has_max)
		maxmem = size;
	if (maxmem < size)
		return core_cfg_fail(err, "maxmem",
		                     "invalid value of maxmem: maximum memory size (0x%" PRIx64
		                     ") must be at least the initial memory size (0x%" PRIx64 ")",
		                     maxmem, size);
	if (has_slots && slots && maxmem == size)
		return core_cfg_fail(err, "maxmem",
		                     "invalid value of maxmem: memory slots were specified but "
		                     "maximum memory size (0x%" PRIx64 ") is equal to the initial "
		                     "memory size (0x%" PRIx64 ")",
		                     maxmem, size);
	if (maxmem > size) {
		if (slots > CORE_MAX_RAM_SLOTS)
			return core_cfg_fail(err, "slots",
			                     "unsupported amount of memory slots: %" PRIu64
			                     " (at most %u)",
			                     slots, CORE_MAX_RAM_SLOTS);
		if (maxmem & (4 * KIB - 1))
			return core_cfg_fail(err, "maxmem",
			                     "maximum memory size must be aligned to multiple of "
			                     "4096 bytes");
	}
	cfg->ram_size = size;
	cfg->maxmem = maxmem;
	cfg->slots = (uint32_t)slots;
	return 0;
}

/* "-m" through common/opts.h, implied key "size" (MiB without a suffix). */
static int parse_mem(struct core_config *cfg, const char *arg, struct core_cfg_err *err)
{
	struct opts *o = NULL;
	struct opts_error oe = { .msg = "" };
	uint64_t size = 0, slots = 0, maxmem = 0;
	bool has_slots, has_max;
	int r;

	r = opts_parse(arg, "size", &o, &oe);
	if (!r)
		r = opts_get_size_unit(o, "size", 0, SIZE_MIB, &size, &oe);
	if (!r)
		r = opts_get_size(o, "maxmem", 0, &maxmem, &oe);
	if (!r)
		r = opts_get_u64(o, "slots", 0, UINT64_MAX, &slots, &oe);
	if (!r)
		r = opts_check_unused(o, "-m", &oe);
	if (r) {
		opts_free(o);
		return core_cfg_fail(err, "-m", "%s", oe.msg);
	}
	has_slots = opts_get(o, "slots") != NULL;
	has_max = opts_get(o, "maxmem") != NULL;
	opts_free(o);
	return core_mem_check(cfg, size, has_slots, slots, has_max, maxmem, "size", err);
}

int core_parse_mem_opt(struct core_config *cfg, const char *arg)
{
	struct core_cfg_err err;
	int r = parse_mem(cfg, arg, &err);

	if (r)
		log_warnx("-m %s: %s", arg, err.text);
	return r;
}

static int parse_u32(const char *what, const char *s, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > max) {
		log_warnx("%s: invalid value '%s' (a decimal number up to %u)", what, s, max);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

static int parse_smp(struct core_config *cfg, const char *arg)
{
	char key[32], val[64];
	const char *p = arg;
	uint32_t n;

	while (*p) {
		p = next_field(p, key, sizeof(key), val, sizeof(val));
		if (key[0] && strcmp(key, "cpus")) {
			log_warnx("-smp: unsupported property '%s' (cpus only)", key);
			return -EINVAL;
		}
		if (parse_u32("-smp", val, CORE_MAX_VCPUS, &n))
			return -EINVAL;
		if (n == 0) {
			log_warnx("-smp: cpus must be at least 1");
			return -EINVAL;
		}
		cfg->vcpus = n;
	}
	return 0;
}

/*
 * -object through common/backend_config.h, with QEMU's properties and
 * checks.  Alone, the core puts all RAM in one memfd of its own, so only the
 * memfd-backed types make sense; a NUMA node names one by id for its size.
 */
static int parse_object(struct core_config *cfg, const char *arg)
{
	struct backend_config_error be = { .field = "", .text = "" };
	Splitvm__BackendConfig *bc = NULL;
	struct core_backend_cfg *b;
	int r;

	r = backend_config_parse(arg, &bc, &be);
	if (r) {
		log_warnx("-object %s: %s", arg, be.text);
		return -EINVAL;
	}
	r = -EINVAL;
	if (bc->type != SPLITVM__BACKEND_TYPE__BACKEND_RAM &&
	    bc->type != SPLITVM__BACKEND_TYPE__BACKEND_MEMFD) {
		log_warnx("-object %s: splitvm-core alone takes memory-backend-ram and "
		          "memory-backend-memfd; %s needs the supervisor (splitvm)",
		          arg, backend_config_type_name(bc->type));
		goto out;
	}
	if (cfg->n_backends >= CORE_MAX_BACKENDS) {
		log_warnx("-object %s: more than %u backends", arg, CORE_MAX_BACKENDS);
		goto out;
	}
	for (unsigned i = 0; i < cfg->n_backends; i++) {
		if (!strcmp(cfg->backends[i].id, bc->id)) {
			log_warnx("-object %s: duplicate ID '%s' for object", arg, bc->id);
			goto out;
		}
	}
	b = &cfg->backends[cfg->n_backends++];
	snprintf(b->id, sizeof(b->id), "%s", bc->id);
	b->size = bc->size;
	r = 0;
out:
	backend_config_free(bc);
	return r;
}

/*
 * -device virtio-mem|virtio-pmem,id=ID[,memdev=BACKEND]: a virtio-mmio
 * window whose device process attaches to dev-ID in --run-dir.  The model's
 * own properties (block-size, requested-size, ...) belong to the device
 * process; splitvm-core alone only needs to know the device exists.
 */
static int parse_device(struct core_config *cfg, const char *arg)
{
	struct opts_error oe = { .msg = "" };
	struct core_virtio_cfg *d;
	struct opts *o = NULL;
	const char *model, *id, *memdev;
	int r = -EINVAL;

	if (opts_parse(arg, "driver", &o, &oe)) {
		log_warnx("-device %s: %s", arg, oe.msg);
		return -EINVAL;
	}
	model = opts_get(o, "driver");
	id = opts_get(o, "id");
	memdev = opts_get(o, "memdev");
	if (!model || (strcmp(model, "virtio-mem") && strcmp(model, "virtio-pmem"))) {
		log_warnx("-device %s: splitvm-core serves virtio-mem and virtio-pmem devices",
		          arg);
		goto out;
	}
	if (!id || !opts_id_valid(id) || strlen(id) >= sizeof(d->id) - 4) {
		log_warnx("-device %s: id= is required: a letter, then letters, digits, "
		          "'-', '.', '_', at most %zu characters",
		          arg, sizeof(d->id) - 5);
		goto out;
	}
	if (memdev && strlen(memdev) >= sizeof(d->memdev)) {
		log_warnx("-device %s: memdev '%s' is too long", arg, memdev);
		goto out;
	}
	if (opts_check_unused(o, "-device", &oe)) {
		log_warnx("%s", oe.msg);
		goto out;
	}
	if (cfg->n_virtio >= CORE_MAX_VIRTIO) {
		log_warnx("-device %s: at most %u virtio devices", arg, CORE_MAX_VIRTIO);
		goto out;
	}
	for (unsigned i = 0; i < cfg->n_virtio; i++) {
		if (!strcmp(cfg->virtio[i].id, id)) {
			log_warnx("-device %s: Duplicate ID '%s' for device", arg, id);
			goto out;
		}
	}
	d = &cfg->virtio[cfg->n_virtio++];
	snprintf(d->id, sizeof(d->id), "%s", id);
	snprintf(d->model, sizeof(d->model), "%s", model);
	snprintf(d->memdev, sizeof(d->memdev), "%s", memdev ? memdev : "");
	r = 0;
out:
	opts_free(o);
	return r;
}

static int parse_numa(struct core_config *cfg, const char *arg)
{
	char key[32], val[64];
	const char *p = arg;
	struct core_numa_cfg *n;
	bool have_id = false;

	p = next_field(p, key, sizeof(key), val, sizeof(val));
	if (key[0] || strcmp(val, "node")) {
		log_warnx("-numa: only 'node' is supported, not '%s'", val);
		return -EINVAL;
	}
	if (cfg->n_numa >= CORE_MAX_NUMA) {
		log_warnx("-numa: more than %u nodes", CORE_MAX_NUMA);
		return -EINVAL;
	}
	n = &cfg->numa[cfg->n_numa];
	memset(n, 0, sizeof(*n));
	n->node_id = cfg->n_numa;
	while (*p) {
		p = next_field(p, key, sizeof(key), val, sizeof(val));
		if (!strcmp(key, "nodeid")) {
			if (parse_u32("-numa nodeid", val, CORE_MAX_NUMA - 1, &n->node_id))
				return -EINVAL;
			have_id = true;
		} else if (!strcmp(key, "cpus")) {
			uint32_t a, b;
			char *dash = strchr(val, '-');

			if (dash)
				*dash = '\0';
			if (parse_u32("-numa cpus", val, CORE_MAX_VCPUS - 1, &a))
				return -EINVAL;
			b = a;
			if (dash && parse_u32("-numa cpus", dash + 1, CORE_MAX_VCPUS - 1, &b))
				return -EINVAL;
			if (b < a) {
				log_warnx("-numa: cpus range %u-%u is reversed", a, b);
				return -EINVAL;
			}
			n->cpu_first = a;
			n->cpu_count = b - a + 1;
		} else if (!strcmp(key, "memdev")) {
			snprintf(n->memdev, sizeof(n->memdev), "%s", val);
		} else {
			log_warnx("-numa: property '%s' is not supported (nodeid, cpus, memdev)",
			          key);
			return -EINVAL;
		}
	}
	(void)have_id;
	cfg->n_numa++;
	return 0;
}

/* QEMU's NUMA rules: memdev exists, ids unique, sizes add up to -m. */
static int check_numa(struct core_config *cfg, struct core_cfg_err *err)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < cfg->n_numa; i++) {
		struct core_numa_cfg *n = &cfg->numa[i];
		bool found = false;

		for (unsigned j = 0; j < i; j++) {
			if (cfg->numa[j].node_id == n->node_id)
				return core_cfg_fail(err, "nodeid", "duplicate NUMA nodeid: %u",
				                     n->node_id);
		}
		if (!n->memdev[0])
			return core_cfg_fail(err, "memdev", "node %u: memdev is required",
			                     n->node_id);
		for (unsigned j = 0; j < cfg->n_backends; j++) {
			if (!strcmp(cfg->backends[j].id, n->memdev)) {
				n->mem = cfg->backends[j].size;
				found = true;
			}
		}
		if (!found)
			return core_cfg_fail(err, "memdev",
			                     "node %u: memdev '%s' is not a memory backend id",
			                     n->node_id, n->memdev);
		if (n->cpu_count && n->cpu_first + n->cpu_count > cfg->vcpus)
			return core_cfg_fail(err, "cpus", "node %u: cpus beyond the %u vCPUs",
			                     n->node_id, cfg->vcpus);
		total += n->mem;
	}
	if (cfg->n_numa && total != cfg->ram_size)
		return core_cfg_fail(err, "memdev",
		                     "total memory for NUMA nodes (0x%" PRIx64 ") should equal "
		                     "RAM size (0x%" PRIx64 ")",
		                     total, cfg->ram_size);
	return 0;
}

static int parse_serial(struct core_config *cfg, const char *arg)
{
	if (!strcmp(arg, "stdio")) {
		cfg->serial = CORE_SERIAL_STDIO;
	} else if (!strcmp(arg, "pty")) {
		cfg->serial = CORE_SERIAL_PTY;
	} else if (!strcmp(arg, "none")) {
		cfg->serial = CORE_SERIAL_NONE;
	} else if (!strncmp(arg, "file:", 5) && arg[5]) {
		cfg->serial = CORE_SERIAL_FILE;
		cfg->serial_path = arg + 5;
	} else {
		log_warnx("-serial: '%s' is not stdio, file:PATH, pty or none", arg);
		return -EINVAL;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: splitvm-core -kernel FILE [-m SIZE[,slots=N,maxmem=SIZE]] [-smp N]\n"
	        "       [-initrd FILE] [-append STR] [-serial stdio|file:PATH|pty|none]\n"
	        "       [-object memory-backend-ram,id=ID,size=SIZE]\n"
	        "       [-numa node,nodeid=N,cpus=A-B,memdev=ID] [-name NAME]\n"
	        "       [-device virtio-mem|virtio-pmem,id=ID[,memdev=ID] --run-dir DIR]\n"
	        "       [--dump-acpi DIR] [--dump-dtb FILE] [--verbose]\n");
}

static void config_defaults(struct core_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->name, sizeof(cfg->name), "vm");
	cfg->ram_size = 128 * MIB; /* QEMU's default */
	cfg->maxmem = cfg->ram_size;
	cfg->vcpus = 1;
	cfg->cmdline = "";
	cfg->serial = CORE_SERIAL_STDIO;
}

int core_cmdline_parse(struct core_config *cfg, int argc, char **argv)
{
	struct core_cfg_err err;
	int r;

	config_defaults(cfg);
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			usage();
			return 1;
		}
		if (!strcmp(o, "--verbose") || !strcmp(o, "-v")) {
			cfg->verbose = true;
			continue;
		}
		if (!v) {
			log_warnx("%s: missing argument (or unknown option)", o);
			usage();
			return -EINVAL;
		}
		i++;
		if (!strcmp(o, "-m")) {
			r = core_parse_mem_opt(cfg, v);
		} else if (!strcmp(o, "-smp")) {
			r = parse_smp(cfg, v);
		} else if (!strcmp(o, "-kernel")) {
			cfg->kernel = v;
			r = 0;
		} else if (!strcmp(o, "-initrd")) {
			cfg->initrd = v;
			r = 0;
		} else if (!strcmp(o, "-append")) {
			cfg->cmdline = v;
			r = 0;
		} else if (!strcmp(o, "-serial")) {
			r = parse_serial(cfg, v);
		} else if (!strcmp(o, "-object")) {
			r = parse_object(cfg, v);
		} else if (!strcmp(o, "-numa")) {
			r = parse_numa(cfg, v);
		} else if (!strcmp(o, "-device")) {
			r = parse_device(cfg, v);
		} else if (!strcmp(o, "--run-dir")) {
			cfg->run_dir = v;
			r = 0;
		} else if (!strcmp(o, "-name")) {
			snprintf(cfg->name, sizeof(cfg->name), "%s", v);
			r = 0;
		} else if (!strcmp(o, "--dump-acpi")) {
			cfg->dump_acpi_dir = v;
			r = 0;
		} else if (!strcmp(o, "--dump-dtb")) {
			cfg->dump_dtb_path = v;
			r = 0;
		} else {
			log_warnx("%s: unknown option", o);
			usage();
			return -EINVAL;
		}
		if (r)
			return r;
	}
	if (!cfg->kernel && !cfg->dump_acpi_dir && !cfg->dump_dtb_path) {
		log_warnx("-kernel: a kernel (ELF64 or bzImage) is required");
		usage();
		return -EINVAL;
	}
	if (cfg->n_virtio && !cfg->run_dir) {
		log_warnx("-device: virtio devices need --run-dir DIR for their sockets");
		return -EINVAL;
	}
	r = check_numa(cfg, &err);
	if (r)
		log_warnx("-numa: %s", err.text);
	return r;
}

/* ---- the same configuration from the wire (MachineStart) --------------- */

static char *keep_string(struct core_config *cfg, const char *src)
{
	for (unsigned i = 0; i < CORE_CONFIG_STRINGS; i++) {
		if (!cfg->strings[i]) {
			cfg->strings[i] = strdup(src ? src : "");
			return cfg->strings[i];
		}
	}
	return NULL;
}

void core_config_release(struct core_config *cfg)
{
	if (!cfg)
		return;
	for (unsigned i = 0; i < CORE_CONFIG_STRINGS; i++) {
		free(cfg->strings[i]);
		cfg->strings[i] = NULL;
	}
}

static int vm_numa(struct core_config *cfg, const Splitvm__VmConfig *vm, struct core_cfg_err *err)
{
	if (vm->n_numa > CORE_MAX_NUMA)
		return core_cfg_fail(err, "numa", "%zu NUMA nodes: at most %u", vm->n_numa,
		                     CORE_MAX_NUMA);
	for (size_t i = 0; i < vm->n_numa; i++) {
		const Splitvm__NumaNode *in = vm->numa[i];
		struct core_numa_cfg *n = &cfg->numa[i];
		bool known = false;

		if (in->node_id >= CORE_MAX_NUMA)
			return core_cfg_fail(err, "numa.node_id", "node id %u: at most %u",
			                     in->node_id, CORE_MAX_NUMA - 1);
		n->node_id = in->node_id;
		for (size_t j = 0; j < in->n_cpus; j++) {
			if (in->cpus[j] != in->cpus[0] + j)
				return core_cfg_fail(
				        err, "numa.cpus",
				        "node %u: splitvm takes one contiguous range of "
				        "cpus per node (as cpus=A-B)",
				        in->node_id);
		}
		n->cpu_first = in->n_cpus ? in->cpus[0] : 0;
		n->cpu_count = (uint32_t)in->n_cpus;
		if (!in->memdev || !in->memdev[0] || strlen(in->memdev) >= sizeof(n->memdev))
			return core_cfg_fail(err, "numa.memdev",
			                     "node %u: memdev must name a memory backend",
			                     in->node_id);
		snprintf(n->memdev, sizeof(n->memdev), "%s", in->memdev);
		/* Only the backends nodes name matter to the core: their sizes. */
		for (unsigned j = 0; j < cfg->n_backends; j++)
			known = known || !strcmp(cfg->backends[j].id, n->memdev);
		for (size_t j = 0; !known && j < vm->n_backends; j++) {
			const Splitvm__BackendConfig *b = vm->backends[j];

			if (!b->id || strcmp(b->id, n->memdev))
				continue;
			if (cfg->n_backends >= CORE_MAX_BACKENDS)
				return core_cfg_fail(err, "numa.memdev", "more than %u backends",
				                     CORE_MAX_BACKENDS);
			snprintf(cfg->backends[cfg->n_backends].id, sizeof(cfg->backends[0].id),
			         "%s", b->id);
			cfg->backends[cfg->n_backends++].size = b->size;
			known = true;
		}
	}
	cfg->n_numa = (unsigned)vm->n_numa;
	return check_numa(cfg, err);
}

/*
 * A virtio-pmem region is mapped whole (a plain RegionMap), so nothing but
 * its backend's size tells core_virtio_start() where it goes and
 * DeviceAttached.region_gpa what to say: the device's config start.  A
 * virtio-mem region is registered by its sparse RegionMap instead.
 */
static int virtio_backend_add(struct core_config *cfg, const Splitvm__VmConfig *vm,
                              const char *memdev, struct core_cfg_err *err)
{
	for (unsigned j = 0; j < cfg->n_backends; j++) {
		if (!strcmp(cfg->backends[j].id, memdev))
			return 0;
	}
	for (size_t j = 0; j < vm->n_backends; j++) {
		const Splitvm__BackendConfig *b = vm->backends[j];

		if (!b->id || strcmp(b->id, memdev))
			continue;
		if (cfg->n_backends >= CORE_MAX_BACKENDS)
			return core_cfg_fail(err, "devices.memdev", "more than %u backends",
			                     CORE_MAX_BACKENDS);
		snprintf(cfg->backends[cfg->n_backends].id, sizeof(cfg->backends[0].id), "%s",
		         b->id);
		cfg->backends[cfg->n_backends++].size = b->size;
		return 0;
	}
	return core_cfg_fail(err, "devices.memdev", "virtio-pmem memdev '%s' is not a backend",
	                     memdev);
}

/*
 * VmConfig.devices: every virtio-mem and virtio-pmem entry gets a
 * virtio-mmio window, in config order (DIMMs and NVDIMMs are not virtio).
 */
static int vm_virtio(struct core_config *cfg, const Splitvm__VmConfig *vm, struct core_cfg_err *err)
{
	int r;

	for (size_t i = 0; i < vm->n_devices; i++) {
		const Splitvm__DeviceConfig *dc = vm->devices[i];
		struct core_virtio_cfg *d;
		const char *model;

		if (dc->model == SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_MEM)
			model = "virtio-mem";
		else if (dc->model == SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_PMEM)
			model = "virtio-pmem";
		else
			continue;
		if (!dc->id || !opts_id_valid(dc->id) || strlen(dc->id) >= sizeof(d->id) - 4)
			return core_cfg_fail(err, "devices.id",
			                     "device %zu: '%s' is not an id of at most %zu bytes",
			                     i, dc->id ? dc->id : "", sizeof(d->id) - 5);
		if (cfg->n_virtio >= CORE_MAX_VIRTIO)
			return core_cfg_fail(err, "devices", "more than %u virtio devices",
			                     CORE_MAX_VIRTIO);
		for (unsigned k = 0; k < cfg->n_virtio; k++) {
			if (!strcmp(cfg->virtio[k].id, dc->id))
				return core_cfg_fail(err, "devices.id", "duplicate id '%s'",
				                     dc->id);
		}
		d = &cfg->virtio[cfg->n_virtio++];
		snprintf(d->id, sizeof(d->id), "%s", dc->id);
		snprintf(d->model, sizeof(d->model), "%s", model);
		snprintf(d->memdev, sizeof(d->memdev), "%s", dc->memdev ? dc->memdev : "");
		if (dc->model == SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_PMEM) {
			r = virtio_backend_add(cfg, vm, d->memdev, err);
			if (r)
				return r;
		}
	}
	if (cfg->n_virtio && (!vm->run_dir || !vm->run_dir[0]))
		return core_cfg_fail(err, "run_dir", "virtio devices need a run directory");
	return 0;
}

int core_config_from_vm(struct core_config *cfg, const Splitvm__VmConfig *vm,
                        struct core_cfg_err *err)
{
	int r;

	config_defaults(cfg);
	if (vm->ram_size == 0)
		return core_cfg_fail(err, "ram_size", "memory size must be greater than zero");
	r = core_mem_check(cfg, vm->ram_size, vm->slots != 0, vm->slots, vm->maxmem != 0,
	                   vm->maxmem, "ram_size", err);
	if (r)
		return r;
	if (vm->vcpus == 0 || vm->vcpus > CORE_MAX_VCPUS)
		return core_cfg_fail(err, "vcpus", "%u vCPUs: from 1 to %u", vm->vcpus,
		                     CORE_MAX_VCPUS);
	cfg->vcpus = vm->vcpus;
	if (vm->name && vm->name[0]) {
		if (strlen(vm->name) >= sizeof(cfg->name))
			return core_cfg_fail(err, "name", "longer than %zu bytes",
			                     sizeof(cfg->name) - 1);
		snprintf(cfg->name, sizeof(cfg->name), "%s", vm->name);
	}
	if (!vm->kernel || !vm->kernel[0])
		return core_cfg_fail(err, "kernel", "a kernel (ELF64 or bzImage) is required");
	if (access(vm->kernel, R_OK) < 0)
		return core_cfg_fail(err, "kernel", "%s: %s", vm->kernel, strerror(errno));
	if (vm->initrd && vm->initrd[0] && access(vm->initrd, R_OK) < 0)
		return core_cfg_fail(err, "initrd", "%s: %s", vm->initrd, strerror(errno));
	switch (vm->serial) {
	case SPLITVM__SERIAL_TYPE__SERIAL_STDIO:
		cfg->serial = CORE_SERIAL_STDIO;
		break;
	case SPLITVM__SERIAL_TYPE__SERIAL_FILE:
		if (!vm->serial_path || !vm->serial_path[0])
			return core_cfg_fail(err, "serial_path", "a file serial needs a path");
		cfg->serial = CORE_SERIAL_FILE;
		break;
	case SPLITVM__SERIAL_TYPE__SERIAL_PTY:
		cfg->serial = CORE_SERIAL_PTY;
		break;
	case SPLITVM__SERIAL_TYPE__SERIAL_NONE:
		cfg->serial = CORE_SERIAL_NONE;
		break;
	default:
		return core_cfg_fail(err, "serial", "unknown serial type %d", (int)vm->serial);
	}
	r = vm_numa(cfg, vm, err);
	if (!r)
		r = vm_virtio(cfg, vm, err);
	if (!r)
		r = nfit_config_from_vm(cfg, vm, err);
	if (!r && cfg->n_nvdimm && (!vm->run_dir || !vm->run_dir[0]))
		r = core_cfg_fail(err, "run_dir", "NVDIMMs need a run directory");
	if (r)
		return r;
	cfg->run_dir = cfg->n_virtio || cfg->n_nvdimm ? keep_string(cfg, vm->run_dir) : NULL;
	cfg->kernel = keep_string(cfg, vm->kernel);
	cfg->initrd = vm->initrd && vm->initrd[0] ? keep_string(cfg, vm->initrd) : NULL;
	cfg->cmdline = keep_string(cfg, vm->cmdline);
	cfg->serial_path =
	        cfg->serial == CORE_SERIAL_FILE ? keep_string(cfg, vm->serial_path) : NULL;
	if (!cfg->kernel || !cfg->cmdline || (vm->initrd && vm->initrd[0] && !cfg->initrd) ||
	    ((cfg->n_virtio || cfg->n_nvdimm) && !cfg->run_dir) ||
	    (cfg->serial == CORE_SERIAL_FILE && !cfg->serial_path)) {
		core_config_release(cfg);
		return -ENOMEM;
	}
	return 0;
}
