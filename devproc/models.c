// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The one table of device models (STYLE.md): a model exists when it is
 * listed here, nowhere else.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devproc.h"
#include "opts.h"

static const struct devproc_model_ops *(*const models[])(void) = {
	devproc_virtio_mem,
	devproc_virtio_pmem,
	devproc_dimm,
	devproc_nvdimm,
};

const struct devproc_model_ops *devproc_model_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		if (!strcmp(models[i]()->name, name))
			return models[i]();
	return NULL;
}

const char *devproc_model_name(size_t i)
{
	return i < sizeof(models) / sizeof(models[0]) ? models[i]()->name : NULL;
}

int devproc_config_parse(const char *config, const char *driver, struct opts **out, char *id,
                         size_t idlen, struct opts_error *oe)
{
	size_t n = strlen(driver);
	struct opts *o = NULL;
	const char *s;
	int ret;

	*out = NULL;
	ret = opts_parse(config, "driver", &o, oe);
	if (ret < 0)
		return ret;
	s = opts_get(o, "driver");
	if (s && (strncmp(s, driver, n) ||
	          (s[n] && strcmp(s + n, "-pci") && strcmp(s + n, "-device")))) {
		snprintf(oe->msg, sizeof(oe->msg), "driver: '%s' is not %s", s, driver);
		opts_free(o);
		return -EINVAL;
	}
	s = opts_get(o, "id");
	snprintf(id, idlen, "%s", s ? s : "");
	(void)opts_get(o, "memdev");
	*out = o;
	return 0;
}
