/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * splitvm-core's standalone command line, with QEMU's option names and the
 * checks QEMU makes on them (softmmu/vl.c parse_memory_options and
 * hw/core/numa.c), so that a machine that QEMU refuses is refused here too.
 */
#include "core.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "size.h"

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

int core_parse_mem_opt(struct core_config *cfg, const char *arg)
{
	char key[32], val[64];
	const char *p = arg;
	uint64_t size = 0, maxmem = 0;
	bool have_size = false, have_maxmem = false, have_slots = false;
	unsigned long long slots = 0;
	char *end;
	int r;

	while (*p) {
		p = next_field(p, key, sizeof(key), val, sizeof(val));
		if (!key[0] || !strcmp(key, "size")) {
			r = size_parse_qemu(val, SIZE_MIB, &size);
			if (r) {
				log_warnx("-m: invalid size '%s': %s", val, size_strerror(r));
				return -EINVAL;
			}
			have_size = true;
		} else if (!strcmp(key, "maxmem")) {
			r = size_parse_qemu(val, SIZE_MIB, &maxmem);
			if (r) {
				log_warnx("-m: invalid maxmem '%s': %s", val, size_strerror(r));
				return -EINVAL;
			}
			have_maxmem = true;
		} else if (!strcmp(key, "slots")) {
			errno = 0;
			slots = strtoull(val, &end, 10);
			if (errno || end == val || *end || val[0] == '-') {
				log_warnx("-m: invalid slots '%s' (a decimal count)", val);
				return -EINVAL;
			}
			have_slots = true;
		} else {
			log_warnx("-m: unknown property '%s' (size, slots, maxmem)", key);
			return -EINVAL;
		}
	}
	if (!have_size || size == 0) {
		log_warnx("-m: the RAM size must be given and non-zero");
		return -EINVAL;
	}
	/* QEMU rounds RAM up to 8 KiB. */
	if (size > UINT64_MAX - 8191) {
		log_warnx("-m: ram size too large");
		return -EINVAL;
	}
	size = (size + 8191) & ~8191ull;
	if (have_slots && slots > CORE_MAX_RAM_SLOTS) {
		log_warnx("-m: unsupported amount of memory slots: %llu (at most %u)", slots,
		          CORE_MAX_RAM_SLOTS);
		return -EINVAL;
	}
	if (!have_maxmem) {
		if (have_slots && slots) {
			log_warnx("-m: invalid -m option value: missing 'maxmem' option "
			          "(slots=%llu needs maxmem=)",
			          slots);
			return -EINVAL;
		}
		maxmem = size;
	} else {
		if (maxmem < size) {
			log_warnx("-m: invalid value of maxmem: maximum memory size (0x%" PRIx64
			          ") must be at least the initial memory size (0x%" PRIx64 ")",
			          maxmem, size);
			return -EINVAL;
		}
		if (slots && maxmem == size) {
			log_warnx("-m: invalid value of maxmem: memory slots were specified but "
			          "maximum memory size (0x%" PRIx64 ") must be more than initial "
			          "memory size (0x%" PRIx64 ")",
			          maxmem, size);
			return -EINVAL;
		}
		if (!slots && maxmem > size) {
			log_warnx("-m: maxmem was specified, but no hotplug slots were specified");
			return -EINVAL;
		}
		if (maxmem & (4 * KIB - 1)) {
			log_warnx("-m: maxmem 0x%" PRIx64 " is not page aligned", maxmem);
			return -EINVAL;
		}
	}
	cfg->ram_size = size;
	cfg->maxmem = maxmem;
	cfg->slots = (uint32_t)slots;
	return 0;
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

static int parse_object(struct core_config *cfg, const char *arg)
{
	char key[32], val[64];
	const char *p = arg;
	struct core_backend_cfg *b;
	bool have_size = false;

	p = next_field(p, key, sizeof(key), val, sizeof(val));
	if (key[0] || (strcmp(val, "memory-backend-ram") && strcmp(val, "memory-backend-memfd"))) {
		log_warnx("-object: only memory-backend-ram and memory-backend-memfd are "
		          "supported by splitvm-core alone, not '%s'",
		          val);
		return -EINVAL;
	}
	if (cfg->n_backends >= CORE_MAX_BACKENDS) {
		log_warnx("-object: more than %u backends", CORE_MAX_BACKENDS);
		return -EINVAL;
	}
	b = &cfg->backends[cfg->n_backends];
	memset(b, 0, sizeof(*b));
	while (*p) {
		p = next_field(p, key, sizeof(key), val, sizeof(val));
		if (!strcmp(key, "id")) {
			snprintf(b->id, sizeof(b->id), "%s", val);
		} else if (!strcmp(key, "size")) {
			int e = size_parse_qemu(val, 1, &b->size);

			if (e || b->size == 0) {
				log_warnx("-object %s: invalid size '%s': %s",
				          b->id[0] ? b->id : "", val,
				          e ? size_strerror(e) : "must not be zero");
				return -EINVAL;
			}
			have_size = true;
		} else {
			log_warnx("-object: property '%s' is not supported by splitvm-core alone",
			          key);
			return -EINVAL;
		}
	}
	if (!b->id[0] || !have_size) {
		log_warnx("-object: memory backends need id= and size=");
		return -EINVAL;
	}
	for (unsigned i = 0; i < cfg->n_backends; i++) {
		if (!strcmp(cfg->backends[i].id, b->id)) {
			log_warnx("-object: duplicate id '%s'", b->id);
			return -EINVAL;
		}
	}
	cfg->n_backends++;
	return 0;
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
static int check_numa(struct core_config *cfg)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < cfg->n_numa; i++) {
		struct core_numa_cfg *n = &cfg->numa[i];
		bool found = false;

		for (unsigned j = 0; j < i; j++) {
			if (cfg->numa[j].node_id == n->node_id) {
				log_warnx("-numa: duplicate NUMA nodeid: %u", n->node_id);
				return -EINVAL;
			}
		}
		if (!n->memdev[0]) {
			log_warnx("-numa node,nodeid=%u: memdev= is required", n->node_id);
			return -EINVAL;
		}
		for (unsigned j = 0; j < cfg->n_backends; j++) {
			if (!strcmp(cfg->backends[j].id, n->memdev)) {
				n->mem = cfg->backends[j].size;
				found = true;
			}
		}
		if (!found) {
			log_warnx("-numa node,nodeid=%u: memdev '%s' is not an -object id",
			          n->node_id, n->memdev);
			return -EINVAL;
		}
		if (n->cpu_count && n->cpu_first + n->cpu_count > cfg->vcpus) {
			log_warnx("-numa node,nodeid=%u: cpus beyond -smp %u", n->node_id,
			          cfg->vcpus);
			return -EINVAL;
		}
		total += n->mem;
	}
	if (cfg->n_numa && total != cfg->ram_size) {
		log_warnx("-numa: total memory for NUMA nodes (0x%" PRIx64 ") should equal RAM "
		          "size (0x%" PRIx64 ")",
		          total, cfg->ram_size);
		return -EINVAL;
	}
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
	        "       [--dump-acpi DIR] [--dump-dtb FILE] [--verbose]\n");
}

int core_cmdline_parse(struct core_config *cfg, int argc, char **argv)
{
	int r;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->name, sizeof(cfg->name), "vm");
	cfg->ram_size = 128 * MIB; /* QEMU's default */
	cfg->maxmem = cfg->ram_size;
	cfg->vcpus = 1;
	cfg->cmdline = "";
	cfg->serial = CORE_SERIAL_STDIO;

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
	return check_numa(cfg);
}
