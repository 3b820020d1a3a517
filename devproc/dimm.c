// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pc-dimm: a model with no device plane.  The core serves the DIMM itself
 * (the ACPI memory-hotplug controller, core/acpi_hotplug.c); what is left
 * for a process of its own is the backend's host memory.  It holds the
 * backend fd from device_add until the guest ejected the DIMM, and on the
 * supervisor's DevicePropSet discard=on punches the whole backend out, so
 * that the memory an unplugged DIMM held goes back to the host even while
 * the backend object lives on (QEMU keeps it too, until object_del).
 * Nothing the guest does reaches this process: request/reset never come.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "devproc.h"
#include "fd.h"
#include "log.h"
#include "opts.h"

struct dimm {
	int backend_fd;
	uint64_t size;
	uint64_t discards;
};

static struct dimm *to_dimm(struct devproc_model *m)
{
	return (struct dimm *)(void *)m;
}

static const struct dimm *to_cdimm(const struct devproc_model *m)
{
	return (const struct dimm *)(const void *)m;
}

static int dimm_create(struct devproc_model **out, const char *config, char *errbuf, size_t errlen)
{
	struct opts_error oe = { { 0 } };
	struct opts *o = NULL;
	struct dimm *p;
	const char *drv;

	*out = NULL;
	if (opts_parse(config, "driver", &o, &oe) < 0) {
		snprintf(errbuf, errlen, "%s", oe.msg);
		return -EINVAL;
	}
	drv = opts_get(o, "driver");
	if (!drv || strcmp(drv, "pc-dimm")) {
		snprintf(errbuf, errlen, "driver: '%s' is not pc-dimm", drv ? drv : "");
		opts_free(o);
		return -EINVAL;
	}
	opts_free(o);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->backend_fd = -1;
	*out = (struct devproc_model *)(void *)p;
	return 0;
}

static int dimm_attach(struct devproc_model *m, struct devproc_res *res, char *errbuf,
                       size_t errlen)
{
	struct dimm *p = to_dimm(m);
	struct stat st;

	if (fstat(res->backend_fd, &st) < 0) {
		snprintf(errbuf, errlen, "backend fd %d: %s", res->backend_fd, strerror(errno));
		return -errno;
	}
	p->size = (uint64_t)st.st_size;
	p->backend_fd = take_fd(&res->backend_fd);
	return 0;
}

static int dimm_placed(struct devproc_model *m, uint64_t gpa)
{
	(void)m;
	(void)gpa;
	return 0;
}

static void dimm_decl(const struct devproc_model *m, struct devproc_decl *d)
{
	memset(d, 0, sizeof(*d));
	d->region_size = to_cdimm(m)->size;
}

static int dimm_request(struct devproc_model *m, uint32_t queue, uint64_t seq, const uint8_t *in,
                        size_t len, uint32_t writable, uint8_t *out, size_t outcap, size_t *outlen)
{
	(void)m, (void)queue, (void)seq, (void)in, (void)len, (void)writable, (void)out;
	(void)outcap;
	*outlen = 0;
	return 0;
}

static int dimm_reset(struct devproc_model *m)
{
	(void)m;
	return 0;
}

static int dimm_driver_ready(struct devproc_model *m, uint64_t features)
{
	(void)m;
	(void)features;
	return 0;
}

/* discard=on: give the backend's pages back (the DIMM is no longer mapped). */
static int dimm_prop_set(struct devproc_model *m, const char *name, const char *value, char *errbuf,
                         size_t errlen)
{
	struct dimm *p = to_dimm(m);

	if (strcmp(name, "discard")) {
		snprintf(errbuf, errlen, "pc-dimm has no settable property '%s' (discard has)",
		         name);
		return -ENOENT;
	}
	if (strcmp(value, "on")) {
		snprintf(errbuf, errlen, "discard: '%s' is not 'on'", value);
		return -EINVAL;
	}
	if (p->size && fallocate(p->backend_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
	                         (off_t)p->size) < 0) {
		snprintf(errbuf, errlen, "discard: fallocate(PUNCH_HOLE) of %" PRIu64 " bytes: %s",
		         p->size, strerror(errno));
		return -errno;
	}
	p->discards++;
	log_info("backend discarded (%" PRIu64 " bytes)", p->size);
	return 0;
}

static int dimm_prop_get(const struct devproc_model *m, const char *name, char *buf, size_t len)
{
	const struct dimm *p = to_cdimm(m);

	if (!strcmp(name, "size"))
		snprintf(buf, len, "%" PRIu64, p->size);
	else if (!strcmp(name, "discards"))
		snprintf(buf, len, "%" PRIu64, p->discards);
	else
		return -ENOENT;
	return 0;
}

static void dimm_status(const struct devproc_model *m, struct devproc_status *st)
{
	memset(st, 0, sizeof(*st));
	st->size = to_cdimm(m)->size;
	st->node = -1;
	st->settled = true;
}

static int dimm_seccomp(const struct devproc_model *m, struct sandbox_policy *policy)
{
	return devproc_dimm_seccomp(policy, to_cdimm(m)->backend_fd);
}

static size_t dimm_kept_fds(const struct devproc_model *m, int *fds, size_t max)
{
	const struct dimm *p = to_cdimm(m);

	if (max < 1 || p->backend_fd < 0)
		return 0;
	fds[0] = p->backend_fd;
	return 1;
}

static void dimm_destroy(struct devproc_model *m)
{
	struct dimm *p;

	if (!m)
		return;
	p = to_dimm(m);
	close_fd(&p->backend_fd);
	free(p);
}

static const struct devproc_model_ops dimm_ops = {
	.name = "pc-dimm",
	.no_device_plane = true,
	.create = dimm_create,
	.attach = dimm_attach,
	.placed = dimm_placed,
	.decl = dimm_decl,
	.request = dimm_request,
	.reset = dimm_reset,
	.driver_ready = dimm_driver_ready,
	.prop_set = dimm_prop_set,
	.prop_get = dimm_prop_get,
	.status = dimm_status,
	.seccomp = dimm_seccomp,
	.kept_fds = dimm_kept_fds,
	.destroy = dimm_destroy,
};

const struct devproc_model_ops *devproc_dimm(void)
{
	return &dimm_ops;
}
