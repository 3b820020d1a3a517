// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The one table of device models (STYLE.md): a model exists when it is
 * listed here, nowhere else.
 */
#include <string.h>

#include "devproc.h"

static const struct devproc_model_ops *(*const models[])(void) = {
	devproc_virtio_mem,
	devproc_virtio_pmem,
	devproc_dimm,
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
