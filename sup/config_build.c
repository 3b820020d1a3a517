/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Building and freeing a VmConfig; the error helper (config_priv.h). */
#include "config_priv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_config.h"

int cfg_fail(struct config_error *err, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
		va_start(ap, fmt);
		vsnprintf(err->text, sizeof(err->text), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

const char *config_error_line(const struct config_error *err, char *buf, size_t len)
{
	if (err->field[0])
		snprintf(buf, len, "%s: %s", err->field, err->text);
	else
		snprintf(buf, len, "%s", err->text);
	return buf;
}

int cfg_set_str(char **slot, const char *s)
{
	char *copy = strdup(s ? s : "");

	if (!copy)
		return -ENOMEM;
	/* protobuf-c's empty default is a static string: never free it. */
	if (*slot && *slot != protobuf_c_empty_string)
		free(*slot);
	*slot = copy;
	return 0;
}

int config_new(Splitvm__VmConfig **out)
{
	Splitvm__VmConfig *cfg = malloc(sizeof(*cfg));
	Splitvm__RestartPolicy *rp = malloc(sizeof(*rp));

	if (!cfg || !rp) {
		free(cfg);
		free(rp);
		return -ENOMEM;
	}
	splitvm__vm_config__init(cfg);
	splitvm__restart_policy__init(rp);
	rp->max_restarts = CONFIG_RESTART_MAX;
	rp->window_ms = CONFIG_RESTART_WINDOW_MS;
	rp->backoff_initial_ms = CONFIG_RESTART_BACKOFF_MS;
	rp->backoff_max_ms = CONFIG_RESTART_BACKOFF_MAX_MS;
	cfg->restart = rp;
	cfg->sandbox = SPLITVM__SANDBOX_MODE__SANDBOX_ENFORCE;
	cfg->serial = SPLITVM__SERIAL_TYPE__SERIAL_NONE;
	cfg->vcpus = 1;
	*out = cfg;
	return 0;
}

void config_free(Splitvm__VmConfig *cfg)
{
	if (cfg)
		splitvm__vm_config__free_unpacked(cfg, NULL);
}

int cfg_device_new(Splitvm__DeviceModel model, Splitvm__DeviceConfig **out)
{
	Splitvm__DeviceConfig *dev = malloc(sizeof(*dev));

	if (!dev)
		return -ENOMEM;
	splitvm__device_config__init(dev);
	dev->model = model;
	dev->node = -1;
	dev->slot = -1;
	*out = dev;
	return 0;
}

void cfg_device_free(Splitvm__DeviceConfig *dev)
{
	if (dev)
		splitvm__device_config__free_unpacked(dev, NULL);
}

int cfg_add_backend(Splitvm__VmConfig *cfg, Splitvm__BackendConfig *b)
{
	Splitvm__BackendConfig **v;

	v = realloc(cfg->backends, (cfg->n_backends + 1) * sizeof(*v));
	if (!v) {
		backend_config_free(b);
		return -ENOMEM;
	}
	cfg->backends = v;
	cfg->backends[cfg->n_backends++] = b;
	return 0;
}

int cfg_add_device(Splitvm__VmConfig *cfg, Splitvm__DeviceConfig *dev)
{
	Splitvm__DeviceConfig **v;

	v = realloc(cfg->devices, (cfg->n_devices + 1) * sizeof(*v));
	if (!v) {
		cfg_device_free(dev);
		return -ENOMEM;
	}
	cfg->devices = v;
	cfg->devices[cfg->n_devices++] = dev;
	return 0;
}

int cfg_add_numa(Splitvm__VmConfig *cfg, Splitvm__NumaNode **out)
{
	Splitvm__NumaNode **v, *n = malloc(sizeof(*n));

	if (!n)
		return -ENOMEM;
	splitvm__numa_node__init(n);
	v = realloc(cfg->numa, (cfg->n_numa + 1) * sizeof(*v));
	if (!v) {
		free(n);
		return -ENOMEM;
	}
	cfg->numa = v;
	cfg->numa[cfg->n_numa++] = n;
	*out = n;
	return 0;
}

int cfg_numa_add_cpu(Splitvm__NumaNode *node, uint32_t cpu)
{
	uint32_t *v = realloc(node->cpus, (node->n_cpus + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	node->cpus = v;
	node->cpus[node->n_cpus++] = cpu;
	return 0;
}

const Splitvm__BackendConfig *cfg_find_backend(const Splitvm__VmConfig *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->n_backends; i++)
		if (cfg->backends[i]->id && strcmp(cfg->backends[i]->id, id) == 0)
			return cfg->backends[i];
	return NULL;
}

const char *cfg_model_qemu_name(Splitvm__DeviceModel model)
{
	switch (model) {
	case SPLITVM__DEVICE_MODEL__MODEL_DIMM:
		return "pc-dimm";
	case SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_MEM:
		return "virtio-mem";
	case SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_PMEM:
		return "virtio-pmem";
	case SPLITVM__DEVICE_MODEL__MODEL_NVDIMM:
		return "nvdimm";
	default:
		return "unknown";
	}
}

const char *cfg_model_xml_name(Splitvm__DeviceModel model)
{
	if (model == SPLITVM__DEVICE_MODEL__MODEL_DIMM)
		return "dimm";
	return cfg_model_qemu_name(model);
}

static int parse_uint(const char **p, uint32_t *out)
{
	uint64_t v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	/* One leading zero at most: "007" is not a CPU number anyone means. */
	if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
	}
	*out = (uint32_t)v;
	*p = s;
	return 0;
}

int cfg_parse_list(const char *s, bool allow_exclude, uint32_t limit, uint64_t *bits)
{
	const char *p = s;

	memset(bits, 0, ((limit + 63) / 64) * sizeof(uint64_t));
	if (!*p)
		return -EINVAL;
	for (;;) {
		bool exclude = false;
		uint32_t lo, hi;

		if (allow_exclude && *p == '^') {
			exclude = true;
			p++;
		}
		if (parse_uint(&p, &lo) < 0)
			return -EINVAL;
		hi = lo;
		if (*p == '-' && !exclude) {
			p++;
			if (parse_uint(&p, &hi) < 0 || hi < lo)
				return -EINVAL;
		}
		if (hi >= limit)
			return -EINVAL;
		for (uint32_t i = lo; i <= hi; i++) {
			if (exclude)
				bits[i / 64] &= ~(UINT64_C(1) << (i % 64));
			else
				bits[i / 64] |= UINT64_C(1) << (i % 64);
		}
		if (!*p)
			return 0;
		if (*p != ',')
			return -EINVAL;
		p++;
	}
}
