/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config_print(): a VmConfig as text for `splitvm run --dry-run` and the
 * golden files.  One "key: value" line per field, in the order of
 * config.proto; sizes exact with the largest binary suffix; backends and
 * devices as the QEMU option strings that would make them, so that the
 * text reads like a command line and diffs line by line.  Strings are
 * printed with '\\', control and non-ASCII bytes escaped, so a name cannot
 * forge a line.
 */
#include "config_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_config.h"
#include "size.h"

static void put_esc(FILE *f, const char *s)
{
	if (!s || !s[0]) {
		fputc('-', f);
		return;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
}

static void put_str(FILE *f, const char *key, const char *s)
{
	fprintf(f, "%s: ", key);
	put_esc(f, s);
	fputc('\n', f);
}

static void put_size(FILE *f, const char *key, uint64_t v)
{
	char buf[SIZE_FMT_LEN];

	fprintf(f, "%s: %s\n", key, size_format(v, buf, sizeof(buf)));
}

/* 0,1,2,5 -> "0-2,5" */
static void put_cpus(FILE *f, const Splitvm__NumaNode *n)
{
	uint64_t bits[(CONFIG_MAX_VCPUS + 63) / 64] = { 0 };
	bool first = true, other = false;

	for (size_t i = 0; i < n->n_cpus; i++) {
		if (n->cpus[i] < CONFIG_MAX_VCPUS)
			bits[n->cpus[i] / 64] |= UINT64_C(1) << (n->cpus[i] % 64);
		else
			other = true;
	}
	for (uint32_t i = 0; i < CONFIG_MAX_VCPUS; i++) {
		uint32_t j = i;

		if (!(bits[i / 64] & (UINT64_C(1) << (i % 64))))
			continue;
		while (j + 1 < CONFIG_MAX_VCPUS &&
		       (bits[(j + 1) / 64] & (UINT64_C(1) << ((j + 1) % 64))))
			j++;
		fprintf(f, "%s%u", first ? "" : ",", i);
		if (j > i)
			fprintf(f, "-%u", j);
		first = false;
		i = j;
	}
	/* Out-of-range CPUs only reach here in a config that failed its check. */
	if (other)
		fprintf(f, "%s...", first ? "" : ",");
	if (first && !other)
		fputc('-', f);
}

static const char *serial_name(Splitvm__SerialType t)
{
	switch (t) {
	case SPLITVM__SERIAL_TYPE__SERIAL_STDIO:
		return "stdio";
	case SPLITVM__SERIAL_TYPE__SERIAL_FILE:
		return "file";
	case SPLITVM__SERIAL_TYPE__SERIAL_PTY:
		return "pty";
	case SPLITVM__SERIAL_TYPE__SERIAL_NONE:
		return "none";
	default:
		return "unknown";
	}
}

static void put_device(FILE *f, size_t i, const Splitvm__DeviceConfig *d)
{
	char buf[SIZE_FMT_LEN];

	fprintf(f, "device[%zu]: %s,id=%s,memdev=%s", i, cfg_model_qemu_name(d->model), d->id,
	        d->memdev);
	if (d->node >= 0)
		fprintf(f, ",node=%d", d->node);
	if (d->slot >= 0)
		fprintf(f, ",slot=%d", d->slot);
	if (d->addr)
		fprintf(f, ",%s=0x%" PRIx64,
		        d->model == SPLITVM__DEVICE_MODEL__MODEL_DIMM ||
		                        d->model == SPLITVM__DEVICE_MODEL__MODEL_NVDIMM
		                ? "addr"
		                : "memaddr",
		        d->addr);
	if (d->model == SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_MEM) {
		fprintf(f, ",block-size=%s", size_format(d->block_size, buf, sizeof(buf)));
		fprintf(f, ",requested-size=%s", size_format(d->requested_size, buf, sizeof(buf)));
	}
	if (d->label_size)
		fprintf(f, ",label-size=%s", size_format(d->label_size, buf, sizeof(buf)));
	if (d->unarmed)
		fputs(",unarmed=on", f);
	if (d->hotplugged)
		fputs(" (hotplugged)", f);
	fputc('\n', f);
}

int config_print(const Splitvm__VmConfig *cfg, FILE *f)
{
	char line[1024];

	put_str(f, "name", cfg->name);
	put_size(f, "ram_size", cfg->ram_size);
	fprintf(f, "slots: %u\n", cfg->slots);
	put_size(f, "maxmem", cfg->maxmem);
	fprintf(f, "vcpus: %u\n", cfg->vcpus);
	for (size_t i = 0; i < cfg->n_numa; i++) {
		const Splitvm__NumaNode *n = cfg->numa[i];
		char buf[SIZE_FMT_LEN];

		fprintf(f, "numa[%zu]: nodeid=%u,cpus=", i, n->node_id);
		put_cpus(f, n);
		fprintf(f, ",memory=%s,memdev=%s\n", size_format(n->memory, buf, sizeof(buf)),
		        n->memdev);
	}
	put_str(f, "kernel", cfg->kernel);
	put_str(f, "initrd", cfg->initrd);
	put_str(f, "cmdline", cfg->cmdline);
	fprintf(f, "serial: %s\n", serial_name(cfg->serial));
	put_str(f, "serial_path", cfg->serial_path);
	for (size_t i = 0; i < cfg->n_backends; i++) {
		const Splitvm__BackendConfig *b = cfg->backends[i];
		int rc = backend_config_format(b, line, sizeof(line));

		fprintf(f, "backend[%zu]: ", i);
		put_esc(f, line);
		/* A cut line (-ENOSPC) still prints what fits, marked. */
		fprintf(f, "%s%s\n", rc < 0 ? "..." : "", b->base_ram ? " (base RAM)" : "");
	}
	for (size_t i = 0; i < cfg->n_devices; i++)
		put_device(f, i, cfg->devices[i]);
	fprintf(f, "sandbox: %s\n",
	        cfg->sandbox == SPLITVM__SANDBOX_MODE__SANDBOX_AUDIT ? "audit" : "enforce");
	if (cfg->restart)
		fprintf(f, "restart: max=%u,window-ms=%u,backoff-initial-ms=%u,backoff-max-ms=%u\n",
		        cfg->restart->max_restarts, cfg->restart->window_ms,
		        cfg->restart->backoff_initial_ms, cfg->restart->backoff_max_ms);
	put_str(f, "run_dir", cfg->run_dir);
	if (fflush(f) == EOF || ferror(f))
		return errno ? -errno : -EIO;
	return 0;
}

int config_print_string(const Splitvm__VmConfig *cfg, char **out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	if (!f)
		return -errno;
	rc = config_print(cfg, f);
	if (fclose(f) == EOF && !rc)
		rc = -errno;
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}
