/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rules of a launch config, shared by both syntaxes and run before
 * anything starts.  Where a rule is QEMU's, the text is QEMU 7.2's (checked
 * against Debian's qemu-system-x86_64 7.2.22 where it prints one); where it
 * is libvirt's, libvirt's.  In order:
 *
 *   name       1-64 of [A-Za-z0-9_.+:-], not starting with '.' or '-': it
 *              names the run directory
 *   vcpus      1..CONFIG_MAX_VCPUS
 *   memory     ram_size > 0, a multiple of 4 KiB; maxmem >= ram_size and a
 *              multiple of 4 KiB; slots <= 256, and slots need maxmem above
 *              ram_size (QEMU); memory devices need maxmem above ram_size
 *   numa       ids 0..n-1 without gaps, at most CONFIG_MAX_NUMA_NODES; each
 *              node's memdev a base-RAM backend of the node's size; sizes
 *              add up to ram_size; cpus below vcpus, in one node each
 *   backends   backend_config_validate(); ids unique; base-RAM backends
 *              used by a NUMA node
 *   devices    id well-formed and unique; model known; memdev exists, is
 *              not base RAM and serves one device; node exists; size a
 *              multiple of 2 MiB; virtio-mem block a power of two >= the THP
 *              size, size and requested multiples of block, requested <=
 *              size; nvdimm label 0 or >= 128 KiB and < size, read-only
 *              backend only unarmed; nvdimm and virtio-pmem on a
 *              memory-backend-file; properties of another model unset;
 *              DIMM slots below slots and unique; addr 2 MiB aligned,
 *              ranges apart; DIMMs + NVDIMMs <= slots; all device memory
 *              fits in maxmem - ram_size
 *   host       (unless CONFIG_NO_HOST_CHECKS) mem-path, kernel and initrd
 *              can be opened for reading, or a missing mem-path / serial
 *              file can be created in its directory; nothing is created
 *   policy     restart window > 0, backoff initial <= max
 */
#include "config_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend_config.h"
#include "size.h"

#define PAGE_SIZE_4K 4096u

struct ctx {
	const Splitvm__VmConfig *cfg;
	enum config_syntax syntax;
	struct config_error *err;
	char field[128];
};

static bool xml(const struct ctx *c)
{
	return c->syntax == CONFIG_SYNTAX_XML;
}

/* Name @dev's element or option, with @xml_sub or @prop after it. */
static const char *f_dev(struct ctx *c, const Splitvm__DeviceConfig *dev, const char *xml_sub,
                         const char *prop)
{
	if (xml(c))
		snprintf(c->field, sizeof(c->field), "devices/memory[alias=%s]%s%s", dev->id,
		         xml_sub ? "/" : "", xml_sub ? xml_sub : "");
	else
		snprintf(c->field, sizeof(c->field), "-device %s%s%s", dev->id, prop ? "," : "",
		         prop ? prop : "");
	return c->field;
}

static const Splitvm__DeviceConfig *device_of(const Splitvm__VmConfig *cfg, const char *memdev)
{
	for (size_t i = 0; i < cfg->n_devices; i++)
		if (strcmp(cfg->devices[i]->memdev, memdev) == 0)
			return cfg->devices[i];
	return NULL;
}

static const Splitvm__NumaNode *node_of(const Splitvm__VmConfig *cfg, const char *memdev)
{
	for (size_t i = 0; i < cfg->n_numa; i++)
		if (strcmp(cfg->numa[i]->memdev, memdev) == 0)
			return cfg->numa[i];
	return NULL;
}

/* Name a backend: in XML by the device or NUMA cell it came from. */
static const char *f_backend(struct ctx *c, const Splitvm__BackendConfig *b, const char *xml_sub,
                             const char *prop)
{
	const Splitvm__DeviceConfig *dev;
	const Splitvm__NumaNode *node;

	if (!xml(c)) {
		snprintf(c->field, sizeof(c->field), "-object %s%s%s", b->id, prop ? "," : "",
		         prop ? prop : "");
		return c->field;
	}
	dev = device_of(c->cfg, b->id);
	node = node_of(c->cfg, b->id);
	if (dev)
		return f_dev(c, dev, xml_sub, prop);
	if (node)
		snprintf(c->field, sizeof(c->field), "cpu/numa/cell[id=%u]", node->node_id);
	else
		snprintf(c->field, sizeof(c->field), "backend %s", b->id);
	return c->field;
}

static const char *f_node(struct ctx *c, const Splitvm__NumaNode *n)
{
	if (xml(c))
		snprintf(c->field, sizeof(c->field), "cpu/numa/cell[id=%u]", n->node_id);
	else
		snprintf(c->field, sizeof(c->field), "-numa node,nodeid=%u", n->node_id);
	return c->field;
}

static const char *hsize(uint64_t v, char *buf, size_t len)
{
	return size_format(v, buf, len);
}

static bool name_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '_' || ch == '.' || ch == '+' || ch == ':';
}

static int check_name(struct ctx *c)
{
	const char *name = c->cfg->name;
	const char *f = xml(c) ? "name" : "-name";
	size_t len = name ? strlen(name) : 0;

	if (!len)
		return cfg_fail(c->err, f, "a VM name is required: it names the run directory");
	if (len > 64 || name[0] == '.' || name[0] == '-')
		goto bad;
	for (size_t i = 0; i < len; i++)
		if (!name_char_ok(name[i]))
			goto bad;
	return 0;
bad:
	return cfg_fail(c->err, f,
	                "'%s' is not a valid VM name (1 to 64 letters, digits, '-', '_', '.', "
	                "'+', ':', not starting with '.' or '-'): it names the run directory",
	                name);
}

static int check_memory(struct ctx *c)
{
	const Splitvm__VmConfig *cfg = c->cfg;
	char a[SIZE_FMT_LEN], b[SIZE_FMT_LEN];

	if (cfg->vcpus < 1 || cfg->vcpus > CONFIG_MAX_VCPUS)
		return cfg_fail(c->err, xml(c) ? "vcpu" : "-smp", "%u vCPUs: splitvm runs 1 to %u",
		                cfg->vcpus, CONFIG_MAX_VCPUS);
	if (!cfg->ram_size)
		return cfg_fail(c->err, xml(c) ? "memory" : "-m",
		                "the boot memory size must not be zero");
	if (cfg->ram_size % PAGE_SIZE_4K)
		return cfg_fail(c->err, xml(c) ? "memory" : "-m",
		                "boot memory size %s is not a multiple of 4 KiB",
		                hsize(cfg->ram_size, a, sizeof(a)));
	if (cfg->maxmem < cfg->ram_size)
		return cfg_fail(c->err, xml(c) ? "maxMemory" : "-m maxmem",
		                "invalid value of maxmem: maximum memory size (0x%" PRIx64
		                ") must be at least the initial memory size (0x%" PRIx64 ")",
		                cfg->maxmem, cfg->ram_size);
	if (cfg->maxmem % PAGE_SIZE_4K)
		return cfg_fail(c->err, xml(c) ? "maxMemory" : "-m maxmem",
		                "maximum memory size must be aligned to multiple of %u bytes",
		                PAGE_SIZE_4K);
	if (cfg->slots > CONFIG_MAX_SLOTS)
		return cfg_fail(c->err, xml(c) ? "maxMemory slots" : "-m slots",
		                "unsupported amount of memory slots: %u (at most %u)", cfg->slots,
		                CONFIG_MAX_SLOTS);
	if (cfg->slots && cfg->maxmem == cfg->ram_size)
		return cfg_fail(c->err, xml(c) ? "maxMemory" : "-m maxmem",
		                "invalid value of maxmem: memory slots were specified but maximum "
		                "memory size (%s) is equal to the initial memory size (%s)",
		                hsize(cfg->maxmem, a, sizeof(a)),
		                hsize(cfg->ram_size, b, sizeof(b)));
	if (cfg->n_devices && cfg->maxmem == cfg->ram_size)
		return cfg_fail(c->err, xml(c) ? "maxMemory" : "-m maxmem",
		                "memory devices need room above the boot memory: %s",
		                xml(c) ? "add <maxMemory> larger than the boot memory"
		                       : "add maxmem= larger than the boot memory to -m");
	return 0;
}

static int check_numa(struct ctx *c)
{
	const Splitvm__VmConfig *cfg = c->cfg;
	uint64_t seen = 0, total = 0;
	uint64_t cpus[(CONFIG_MAX_VCPUS + 63) / 64] = { 0 };

	if (cfg->n_numa > CONFIG_MAX_NUMA_NODES)
		return cfg_fail(c->err, xml(c) ? "cpu/numa" : "-numa",
		                "%zu NUMA nodes: splitvm supports at most %u", cfg->n_numa,
		                CONFIG_MAX_NUMA_NODES);
	for (size_t i = 0; i < cfg->n_numa; i++) {
		const Splitvm__NumaNode *n = cfg->numa[i];
		const Splitvm__BackendConfig *b;

		if (n->node_id >= cfg->n_numa)
			return cfg_fail(c->err, f_node(c, n),
			                "NUMA node ids must run from 0 to %zu without gaps",
			                cfg->n_numa - 1);
		if (seen & (UINT64_C(1) << n->node_id))
			return cfg_fail(c->err, f_node(c, n), "duplicate NUMA nodeid: %u",
			                n->node_id);
		seen |= UINT64_C(1) << n->node_id;
		if (!n->memdev[0])
			return cfg_fail(c->err, f_node(c, n), "the node has no memdev");
		b = cfg_find_backend(cfg, n->memdev);
		if (!b)
			return cfg_fail(c->err, f_node(c, n), "memdev '%s' is not a backend id",
			                n->memdev);
		if (!b->base_ram || b->size != n->memory)
			return cfg_fail(c->err, f_node(c, n),
			                "memdev '%s' must be a base-RAM backend of the node's size",
			                n->memdev);
		if (node_of(cfg, n->memdev) != n)
			return cfg_fail(c->err, f_node(c, n),
			                "memdev '%s' already serves another NUMA node", n->memdev);
		if (__builtin_add_overflow(total, n->memory, &total))
			return cfg_fail(c->err, f_node(c, n), "NUMA node sizes overflow");
		for (size_t j = 0; j < n->n_cpus; j++) {
			uint32_t cpu = n->cpus[j];

			if (cpu >= cfg->vcpus)
				return cfg_fail(
				        c->err, f_node(c, n),
				        "CPU index (%u) should be smaller than maxcpus (%u)", cpu,
				        cfg->vcpus);
			if (cpus[cpu / 64] & (UINT64_C(1) << (cpu % 64)))
				return cfg_fail(c->err, f_node(c, n),
				                "vCPU %u is already in another NUMA node", cpu);
			cpus[cpu / 64] |= UINT64_C(1) << (cpu % 64);
		}
	}
	if (cfg->n_numa && total != cfg->ram_size)
		return cfg_fail(c->err, xml(c) ? "cpu/numa" : "-numa",
		                "total memory for NUMA nodes (0x%" PRIx64
		                ") should equal RAM size (0x%" PRIx64 ")",
		                total, cfg->ram_size);
	return 0;
}

/* Before the backends: in XML a backend's id is "mem" + the alias. */
static int check_device_ids(struct ctx *c)
{
	const Splitvm__VmConfig *cfg = c->cfg;

	for (size_t i = 0; i < cfg->n_devices; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->devices[j]->id, cfg->devices[i]->id) == 0)
				return cfg_fail(c->err, f_dev(c, cfg->devices[i], NULL, NULL),
				                "two memory devices have the alias '%s'",
				                cfg->devices[i]->id);
	return 0;
}

static int check_backends(struct ctx *c)
{
	const Splitvm__VmConfig *cfg = c->cfg;

	for (size_t i = 0; i < cfg->n_backends; i++) {
		const Splitvm__BackendConfig *b = cfg->backends[i];
		struct backend_config_error berr;

		if (backend_config_validate(b, &berr) < 0)
			return cfg_fail(c->err, f_backend(c, b, NULL, berr.field), "%s", berr.text);
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->backends[j]->id, b->id) == 0)
				return cfg_fail(c->err, f_backend(c, b, NULL, NULL),
				                "attempt to add duplicate property '%s' to object "
				                "(type 'container')",
				                b->id);
		if (b->base_ram && !node_of(cfg, b->id))
			return cfg_fail(c->err, f_backend(c, b, NULL, NULL),
			                "base-RAM backend '%s' is used by no NUMA node", b->id);
	}
	return 0;
}

static bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static int check_virtio_mem(struct ctx *c, const Splitvm__DeviceConfig *d, uint64_t size)
{
	char a[SIZE_FMT_LEN], b[SIZE_FMT_LEN];

	if (!pow2(d->block_size))
		return cfg_fail(c->err, f_dev(c, d, "target/block", "block-size"),
		                "block size %s must be a power of two",
		                hsize(d->block_size, a, sizeof(a)));
	if (d->block_size < CONFIG_THP_SIZE)
		return cfg_fail(c->err, f_dev(c, d, "target/block", "block-size"),
		                "block size %s is below the THP size: it must be at least %s",
		                hsize(d->block_size, a, sizeof(a)),
		                hsize(CONFIG_THP_SIZE, b, sizeof(b)));
	if (size % d->block_size)
		return cfg_fail(c->err, f_dev(c, d, "target/size", "memdev"),
		                "size %s must be an integer multiple of block size %s",
		                hsize(size, a, sizeof(a)), hsize(d->block_size, b, sizeof(b)));
	if (d->requested_size > size)
		return cfg_fail(c->err, f_dev(c, d, "target/requested", "requested-size"),
		                "requested size %s must be smaller than or equal to size %s",
		                hsize(d->requested_size, a, sizeof(a)), hsize(size, b, sizeof(b)));
	if (d->requested_size % d->block_size)
		return cfg_fail(c->err, f_dev(c, d, "target/requested", "requested-size"),
		                "requested size %s must be an integer multiple of block size %s",
		                hsize(d->requested_size, a, sizeof(a)),
		                hsize(d->block_size, b, sizeof(b)));
	return 0;
}

static int check_nvdimm(struct ctx *c, const Splitvm__DeviceConfig *d,
                        const Splitvm__BackendConfig *b)
{
	char s1[SIZE_FMT_LEN], s2[SIZE_FMT_LEN];

	if (d->label_size && d->label_size < CONFIG_MIN_LABEL_SIZE)
		return cfg_fail(c->err, f_dev(c, d, "target/label/size", "label-size"),
		                "label size %s is below the minimum of %s",
		                hsize(d->label_size, s1, sizeof(s1)),
		                hsize(CONFIG_MIN_LABEL_SIZE, s2, sizeof(s2)));
	if (d->label_size >= b->size)
		return cfg_fail(c->err, f_dev(c, d, "target/label/size", "label-size"),
		                "label size %s must be smaller than the NVDIMM size %s",
		                hsize(d->label_size, s1, sizeof(s1)),
		                hsize(b->size, s2, sizeof(s2)));
	if (b->readonly && !d->unarmed)
		return cfg_fail(c->err, f_dev(c, d, "target/readonly", "unarmed"),
		                "'unarmed' property must be 'on' since memdev %s is read-only",
		                b->id);
	return 0;
}

/* A property given to a model that has no such property. */
static int check_foreign(struct ctx *c, const Splitvm__DeviceConfig *d)
{
	bool vmem = d->model == SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_MEM;
	bool nvd = d->model == SPLITVM__DEVICE_MODEL__MODEL_NVDIMM;
	bool dimmish = nvd || d->model == SPLITVM__DEVICE_MODEL__MODEL_DIMM;
	const char *m = cfg_model_qemu_name(d->model);

	if (!vmem && (d->block_size || d->requested_size))
		return cfg_fail(
		        c->err,
		        f_dev(c, d, "target", d->block_size ? "block-size" : "requested-size"),
		        "%s has no block or requested size (virtio-mem only)", m);
	if (!nvd && (d->label_size || d->unarmed))
		return cfg_fail(c->err,
		                f_dev(c, d, "target", d->label_size ? "label-size" : "unarmed"),
		                "%s has no label or read-only setting (nvdimm only)", m);
	if (!dimmish && d->slot >= 0)
		return cfg_fail(c->err, f_dev(c, d, "address", "slot"),
		                "%s sits in no DIMM slot (pc-dimm and nvdimm only)", m);
	if (d->model == SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_PMEM && d->node >= 0)
		return cfg_fail(c->err, f_dev(c, d, "target/node", "node"),
		                "virtio-pmem does not support NUMA nodes");
	return 0;
}

static int check_device(struct ctx *c, size_t idx, uint64_t *dimms, uint64_t *dev_mem)
{
	const Splitvm__VmConfig *cfg = c->cfg;
	const Splitvm__DeviceConfig *d = cfg->devices[idx];
	const Splitvm__BackendConfig *b;
	bool nvd = d->model == SPLITVM__DEVICE_MODEL__MODEL_NVDIMM;
	bool dimmish = nvd || d->model == SPLITVM__DEVICE_MODEL__MODEL_DIMM;
	char s1[SIZE_FMT_LEN];
	int rc;

	if (!backend_config_id_wellformed(d->id))
		return cfg_fail(c->err, xml(c) ? "devices/memory/alias" : "-device",
		                "'%s' is not a valid device id (a letter, then letters, digits, "
		                "'-', '.', '_'; at most %d characters)",
		                d->id, BACKEND_CONFIG_ID_MAX);
	if (d->model < SPLITVM__DEVICE_MODEL__MODEL_DIMM ||
	    d->model > SPLITVM__DEVICE_MODEL__MODEL_NVDIMM)
		return cfg_fail(c->err, f_dev(c, d, NULL, NULL),
		                "unknown memory device model %d (dimm, virtio-mem, virtio-pmem, "
		                "nvdimm)",
		                (int)d->model);
	if (!d->memdev[0])
		return cfg_fail(c->err, f_dev(c, d, NULL, "memdev"), "Property 'memdev' not set");
	b = cfg_find_backend(cfg, d->memdev);
	if (!b)
		return cfg_fail(c->err, f_dev(c, d, NULL, "memdev"),
		                "Device '%s' not found: memdev names no memory backend", d->memdev);
	if (b->base_ram || device_of(cfg, d->memdev) != d)
		return cfg_fail(c->err, f_dev(c, d, NULL, "memdev"),
		                "can't use already busy memdev: %s", d->memdev);
	if (cfg->n_numa && d->node >= (int32_t)cfg->n_numa)
		return cfg_fail(c->err, f_dev(c, d, "target/node", "node"),
		                "node %d does not exist: the guest has only %zu NUMA nodes",
		                d->node, cfg->n_numa);
	if (!cfg->n_numa && d->node > 0)
		return cfg_fail(c->err, f_dev(c, d, "target/node", "node"),
		                "node %d does not exist: the guest has no NUMA nodes configured",
		                d->node);
	if (d->node < -1)
		return cfg_fail(c->err, f_dev(c, d, "target/node", "node"), "node %d is negative",
		                d->node);
	rc = check_foreign(c, d);
	if (rc < 0)
		return rc;
	if (b->size % CONFIG_DEVICE_ALIGN)
		return cfg_fail(c->err, f_dev(c, d, "target/size", "memdev"),
		                "backend memory size must be multiple of 0x%" PRIx64 " (size %s)",
		                CONFIG_DEVICE_ALIGN, hsize(b->size, s1, sizeof(s1)));
	if ((d->model == SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_PMEM || nvd) &&
	    b->type != SPLITVM__BACKEND_TYPE__BACKEND_FILE)
		return cfg_fail(c->err, f_dev(c, d, "source/path", "memdev"),
		                "%s needs a memory-backend-file: a host file holds its content",
		                cfg_model_qemu_name(d->model));
	if (d->model == SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_MEM) {
		rc = check_virtio_mem(c, d, b->size);
		if (rc < 0)
			return rc;
	}
	if (nvd) {
		rc = check_nvdimm(c, d, b);
		if (rc < 0)
			return rc;
	}
	if (dimmish) {
		(*dimms)++;
		if (d->slot >= 0 && (uint32_t)d->slot >= cfg->slots)
			return cfg_fail(c->err, f_dev(c, d, "address", "slot"),
			                "memory device slot '%d' exceeds slots count '%u'", d->slot,
			                cfg->slots);
		for (size_t j = 0; j < idx; j++)
			if (d->slot >= 0 && cfg->devices[j]->slot == d->slot)
				return cfg_fail(c->err, f_dev(c, d, "address", "slot"),
				                "memory device slot '%d' is already being used by "
				                "'%s'",
				                d->slot, cfg->devices[j]->id);
	}
	if (d->addr) {
		if (d->addr % CONFIG_DEVICE_ALIGN)
			return cfg_fail(c->err, f_dev(c, d, "address", "addr"),
			                "address 0x%" PRIx64 " must be aligned to 2 MiB", d->addr);
		if (d->addr + b->size < d->addr)
			return cfg_fail(c->err, f_dev(c, d, "address", "addr"),
			                "address 0x%" PRIx64 " plus size overflows", d->addr);
		for (size_t j = 0; j < idx; j++) {
			const Splitvm__DeviceConfig *o = cfg->devices[j];
			const Splitvm__BackendConfig *ob = cfg_find_backend(cfg, o->memdev);

			if (!o->addr || !ob)
				continue;
			if (d->addr < o->addr + ob->size && o->addr < d->addr + b->size)
				return cfg_fail(c->err, f_dev(c, d, "address", "addr"),
				                "address range [0x%" PRIx64 ", 0x%" PRIx64
				                ") overlaps device '%s'",
				                d->addr, d->addr + b->size, o->id);
		}
	}
	if (__builtin_add_overflow(*dev_mem, b->size, dev_mem))
		return cfg_fail(c->err, f_dev(c, d, "target/size", "memdev"),
		                "the sizes of the memory devices overflow");
	return 0;
}

static int check_devices(struct ctx *c)
{
	const Splitvm__VmConfig *cfg = c->cfg;
	uint64_t dimms = 0, dev_mem = 0;
	char a[SIZE_FMT_LEN], b[SIZE_FMT_LEN];
	int rc;

	for (size_t i = 0; i < cfg->n_devices; i++) {
		rc = check_device(c, i, &dimms, &dev_mem);
		if (rc < 0)
			return rc;
	}
	if (dimms > cfg->slots)
		return cfg_fail(c->err, xml(c) ? "maxMemory slots" : "-m slots",
		                "%" PRIu64 " DIMM and NVDIMM devices need more than the %u slots",
		                dimms, cfg->slots);
	if (dev_mem > cfg->maxmem - cfg->ram_size)
		return cfg_fail(c->err, xml(c) ? "maxMemory" : "-m maxmem",
		                "memory devices total %s, over the %s between boot memory and "
		                "maximum memory",
		                hsize(dev_mem, a, sizeof(a)),
		                hsize(cfg->maxmem - cfg->ram_size, b, sizeof(b)));
	return 0;
}

/* Can @path be read, or (when @create) made in its existing directory? */
static int host_path(struct ctx *c, const char *field, const char *path, bool create)
{
	char dir[PATH_MAX];
	char *slash;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno != ENOENT || !create)
		return cfg_fail(c->err, field, "cannot open '%s': %s", path, strerror(errno));
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (access(dir, W_OK | X_OK) < 0)
		return cfg_fail(c->err, field, "cannot create '%s' in '%s': %s", path, dir,
		                strerror(errno));
	return 0;
}

static int check_host(struct ctx *c)
{
	const Splitvm__VmConfig *cfg = c->cfg;
	int rc;

	for (size_t i = 0; i < cfg->n_backends; i++) {
		const Splitvm__BackendConfig *b = cfg->backends[i];

		if (b->type != SPLITVM__BACKEND_TYPE__BACKEND_FILE)
			continue;
		rc = host_path(c, f_backend(c, b, "source/path", "mem-path"), b->mem_path,
		               !b->readonly);
		if (rc < 0)
			return rc;
	}
	if (cfg->kernel[0]) {
		rc = host_path(c, xml(c) ? "os/kernel" : "-kernel", cfg->kernel, false);
		if (rc < 0)
			return rc;
	}
	if (cfg->initrd[0]) {
		rc = host_path(c, xml(c) ? "os/initrd" : "-initrd", cfg->initrd, false);
		if (rc < 0)
			return rc;
	}
	if (cfg->serial == SPLITVM__SERIAL_TYPE__SERIAL_FILE) {
		rc = host_path(c, xml(c) ? "devices/serial/source" : "-serial", cfg->serial_path,
		               true);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int check_policy(struct ctx *c)
{
	const Splitvm__RestartPolicy *rp = c->cfg->restart;
	const char *f = xml(c) ? "splitvm:settings/restart" : "restart policy";

	if (c->cfg->serial == SPLITVM__SERIAL_TYPE__SERIAL_FILE && !c->cfg->serial_path[0])
		return cfg_fail(c->err, xml(c) ? "devices/serial/source" : "-serial",
		                "a file serial port needs a path");
	if ((unsigned)c->cfg->sandbox > SPLITVM__SANDBOX_MODE__SANDBOX_AUDIT)
		return cfg_fail(c->err, xml(c) ? "splitvm:settings/sandbox" : "sandbox",
		                "unknown sandbox mode %d", (int)c->cfg->sandbox);
	if (!rp)
		return cfg_fail(c->err, f, "the restart policy is missing");
	if (!rp->window_ms)
		return cfg_fail(c->err, f, "the restart window must not be zero");
	if (rp->backoff_initial_ms > rp->backoff_max_ms)
		return cfg_fail(c->err, f,
		                "the first restart delay (%u ms) is above the longest (%u ms)",
		                rp->backoff_initial_ms, rp->backoff_max_ms);
	return 0;
}

int config_check(const Splitvm__VmConfig *cfg, enum config_syntax syntax, unsigned flags,
                 struct config_error *err)
{
	struct ctx c = { .cfg = cfg, .syntax = syntax, .err = err };
	int rc;

	rc = check_name(&c);
	if (!rc)
		rc = check_memory(&c);
	if (!rc)
		rc = check_numa(&c);
	if (!rc)
		rc = check_device_ids(&c);
	if (!rc)
		rc = check_backends(&c);
	if (!rc)
		rc = check_devices(&c);
	if (!rc)
		rc = check_policy(&c);
	if (!rc && !(flags & CONFIG_NO_HOST_CHECKS))
		rc = check_host(&c);
	return rc;
}
