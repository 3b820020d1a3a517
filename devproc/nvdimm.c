// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nvdimm: the label area of an NVDIMM, served through QEMU's _DSM interface
 * (hw/acpi/nvdimm.c; Intel's NVDIMM DSM Interface, revision 1).
 *
 * The guest-visible PMEM region is mapped by the core; what is left for a
 * process of its own is the label area, the last label-size bytes of the
 * backend (QEMU places it there, so a file written by QEMU reads the same
 * here).  The core traps the AML's write of the DSM page address to port
 * 0x0a18, copies the 4 KiB page out of guest memory and sends it here
 * (NvdimmDsm); the answer (NvdimmDsmReply) is QEMU's NvdimmDsmOut: a 32-bit
 * length that counts itself, then the payload.  Everything in the page is
 * the guest's: every field is checked before it is used.
 *
 * The process holds one fd, the backend's, and reads and writes the label
 * area with pread/pwrite on it: no mapping, no open.  A read-only backend
 * (the fd is O_RDONLY) refuses Set Namespace Label Data with "not
 * supported", as QEMU does since 8.2 (7.2 crashed on it).  unarmed= only
 * changes the NFIT's flags, which the core builds.
 *
 * A DSM call is idempotent but for Set Label Data, and writing the same
 * bytes twice is harmless: a request re-sent to a successor is served
 * again.  No journal.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "le.h"
#include "devproc.h"
#include "fd.h"
#include "log.h"
#include "opts.h"

struct nvdimm {
	char id[64];
	int backend_fd;
	bool readonly;
	bool unarmed;
	uint64_t size;       /* the backend's (size=, or the file's) */
	uint64_t label_size; /* 0: no label area, no label functions */
	uint64_t label_off;  /* size - label_size */
	uint64_t calls, reads, writes, refused;
};

static struct log_ratelimit guest_rl = LOG_RATELIMIT_INIT(5000, 10);

static struct nvdimm *to_nv(struct devproc_model *m)
{
	return (struct nvdimm *)(void *)m;
}

static const struct nvdimm *to_cnv(const struct devproc_model *m)
{
	return (const struct nvdimm *)(const void *)m;
}

/* ---- create / attach ----------------------------------------------------- */

static int nv_create(struct devproc_model **out, const char *config, char *errbuf, size_t errlen)
{
	struct opts_error oe = { { 0 } };
	struct opts *o = NULL;
	struct nvdimm *p;
	int ret;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->backend_fd = -1;
	ret = devproc_config_parse(config, "nvdimm", &o, p->id, sizeof(p->id), &oe);
	if (ret < 0)
		goto fail_msg;
	ret = opts_get_size(o, "label-size", 0, &p->label_size, &oe);
	if (ret == 0)
		ret = opts_get_bool(o, "unarmed", false, &p->unarmed, &oe);
	/* The backend's size: a file may be longer than the backend uses. */
	if (ret == 0)
		ret = opts_get_size(o, "size", 0, &p->size, &oe);
	/* Placement is the core's: slot/node/addr are accepted and not used here. */
	(void)opts_get(o, "slot");
	(void)opts_get(o, "node");
	(void)opts_get(o, "addr");
	if (ret == 0)
		ret = opts_check_unused(o, "nvdimm", &oe);
	if (ret < 0)
		goto fail_msg;
	if (p->label_size && p->label_size < NVDIMM_MIN_LABEL_SIZE) {
		snprintf(oe.msg, sizeof(oe.msg),
		         "label-size: 0x%" PRIx64 " is below the minimum of 0x%x (128 KiB)",
		         p->label_size, NVDIMM_MIN_LABEL_SIZE);
		ret = -EINVAL;
		goto fail_msg;
	}
	opts_free(o);
	*out = (struct devproc_model *)(void *)p;
	return 0;

fail_msg:
	snprintf(errbuf, errlen, "%s", oe.msg);
	opts_free(o);
	free(p);
	return ret;
}

static int nv_attach(struct devproc_model *m, struct devproc_res *res, char *errbuf, size_t errlen)
{
	struct nvdimm *p = to_nv(m);
	struct stat st;
	int fl, ret;

	if (fstat(res->backend_fd, &st) < 0) {
		ret = -errno;
		snprintf(errbuf, errlen, "memdev: fstat of the backend fd: %s", strerror(errno));
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(errbuf, errlen, "memdev: the backend is not a file (mode 0%o)",
		         (unsigned)(st.st_mode & S_IFMT));
		return -EINVAL;
	}
	if (!p->size)
		p->size = (uint64_t)st.st_size;
	if (p->size > (uint64_t)st.st_size) {
		snprintf(errbuf, errlen,
		         "memdev: size 0x%" PRIx64 " is larger than the backend file (0x%" PRIx64
		         ")",
		         p->size, (uint64_t)st.st_size);
		return -EINVAL;
	}
	if (p->label_size >= p->size) {
		snprintf(errbuf, errlen,
		         "label-size: 0x%" PRIx64 " leaves no PMEM in a backend of 0x%" PRIx64,
		         p->label_size, p->size);
		return -EINVAL;
	}
	fl = fcntl(res->backend_fd, F_GETFL);
	if (fl < 0) {
		ret = -errno;
		snprintf(errbuf, errlen, "memdev: F_GETFL of the backend fd: %s", strerror(errno));
		return ret;
	}
	p->readonly = (fl & O_ACCMODE) == O_RDONLY;
	p->label_off = p->size - p->label_size;
	p->backend_fd = take_fd(&res->backend_fd);
	log_info("label area 0x%" PRIx64 " bytes at backend offset 0x%" PRIx64 "%s%s",
	         p->label_size, p->label_off, p->readonly ? ", read-only" : "",
	         p->unarmed ? ", unarmed" : "");
	return 0;
}

static int nv_placed(struct devproc_model *m, uint64_t gpa)
{
	(void)m;
	(void)gpa;
	return 0;
}

/* No virtio transport: no id, no queues, no config. */
static void nv_decl(const struct devproc_model *m, struct devproc_decl *d)
{
	memset(d, 0, sizeof(*d));
	d->region_size = to_cnv(m)->size - to_cnv(m)->label_size;
}

/* ---- the DSM functions ---------------------------------------------------- */

/* QEMU's NvdimmFuncNoPayloadOut: {len = 8, status}. */
static size_t out_status(uint8_t *out, uint32_t status)
{
	put_le32(out, 8);
	put_le32(out + 4, status);
	return 8;
}

/* QEMU's nvdimm_rw_label_data_check(), in its order. */
static uint32_t label_range_check(const struct nvdimm *p, uint32_t offset, uint32_t length,
                                  bool is_write)
{
	uint32_t end;

	if (__builtin_add_overflow(offset, length, &end))
		return NVDIMM_DSM_STATUS_INVALID;
	if (end > p->label_size)
		return NVDIMM_DSM_STATUS_INVALID;
	if (length > NVDIMM_DSM_MAX_XFER)
		return NVDIMM_DSM_STATUS_INVALID;
	if (is_write && p->readonly)
		return NVDIMM_DSM_STATUS_UNSUPPORTED;
	return NVDIMM_DSM_STATUS_SUCCESS;
}

static size_t dsm_get_label(struct nvdimm *p, const uint8_t *arg3, uint8_t *out)
{
	uint32_t offset = get_le32(arg3), length = get_le32(arg3 + 4);
	uint32_t st = label_range_check(p, offset, length, false);
	ssize_t n;

	if (st != NVDIMM_DSM_STATUS_SUCCESS) {
		p->refused++;
		log_debug("Get Label Data offset 0x%x length 0x%x: status %u", offset, length, st);
		return out_status(out, st);
	}
	n = length ? pread(p->backend_fd, out + 8, length, (off_t)(p->label_off + offset)) : 0;
	if (n != (ssize_t)length) {
		log_warnx_ratelimited(&guest_rl, "label read of 0x%x bytes at 0x%x: %s", length,
		                      offset, n < 0 ? strerror(errno) : "short read");
		return out_status(out, NVDIMM_DSM_STATUS_HW_ERROR);
	}
	p->reads++;
	put_le32(out, 8 + length);
	put_le32(out + 4, NVDIMM_DSM_STATUS_SUCCESS);
	return 8 + (size_t)length;
}

static size_t dsm_set_label(struct nvdimm *p, const uint8_t *arg3, uint8_t *out)
{
	uint32_t offset = get_le32(arg3), length = get_le32(arg3 + 4);
	uint32_t st = label_range_check(p, offset, length, true);
	ssize_t n;

	if (st != NVDIMM_DSM_STATUS_SUCCESS) {
		p->refused++;
		log_debug("Set Label Data offset 0x%x length 0x%x: status %u", offset, length, st);
		return out_status(out, st);
	}
	n = length ? pwrite(p->backend_fd, arg3 + 8, length, (off_t)(p->label_off + offset)) : 0;
	if (n != (ssize_t)length) {
		log_warnx_ratelimited(&guest_rl, "label write of 0x%x bytes at 0x%x: %s", length,
		                      offset, n < 0 ? strerror(errno) : "short write");
		return out_status(out, NVDIMM_DSM_STATUS_HW_ERROR);
	}
	p->writes++;
	return out_status(out, NVDIMM_DSM_STATUS_SUCCESS);
}

/*
 * One DSM page (QEMU's NvdimmDsmIn: le32 handle, revision, function, then
 * arg3) in, NvdimmDsmOut out.  The core routed it here by its handle.
 */
static int nv_request(struct devproc_model *m, uint32_t queue, uint64_t seq, const uint8_t *in,
                      size_t len, uint32_t writable, uint8_t *out, size_t outcap, size_t *outlen)
{
	struct nvdimm *p = to_nv(m);
	uint32_t revision, function;

	(void)queue;
	(void)seq;
	(void)writable;
	*outlen = 0;
	if (outcap < NVDIMM_DSM_PAGE_SIZE)
		return -ENOBUFS; /* main.c's buffer: a bug, not the guest's doing */
	p->calls++;
	if (len != NVDIMM_DSM_PAGE_SIZE) {
		/* The core always sends the whole page: this is no DSM call. */
		log_warnx_ratelimited(&guest_rl, "DSM page of %zu bytes, not %u: refused", len,
		                      NVDIMM_DSM_PAGE_SIZE);
		*outlen = out_status(out, NVDIMM_DSM_STATUS_INVALID);
		return 0;
	}
	revision = get_le32(in + 4);
	function = get_le32(in + 8);
	if (revision != 1) {
		*outlen = out_status(out, NVDIMM_DSM_STATUS_UNSUPPORTED);
		return 0;
	}
	switch (function) {
	case 0: {
		uint32_t funcs = 0;

		if (p->label_size)
			funcs = 1u | 1u << NVDIMM_DSM_GET_LABEL_SIZE |
			        1u << NVDIMM_DSM_GET_LABEL_DATA | 1u << NVDIMM_DSM_SET_LABEL_DATA;
		put_le32(out, 8);
		put_le32(out + 4, funcs);
		*outlen = 8;
		return 0;
	}
	case NVDIMM_DSM_GET_LABEL_SIZE:
		if (!p->label_size)
			break;
		put_le32(out, 16);
		put_le32(out + 4, NVDIMM_DSM_STATUS_SUCCESS);
		put_le32(out + 8, (uint32_t)p->label_size);
		put_le32(out + 12, NVDIMM_DSM_MAX_XFER);
		*outlen = 16;
		return 0;
	case NVDIMM_DSM_GET_LABEL_DATA:
		if (!p->label_size)
			break;
		*outlen = dsm_get_label(p, in + NVDIMM_DSM_ARG3_OFF, out);
		return 0;
	case NVDIMM_DSM_SET_LABEL_DATA:
		if (!p->label_size)
			break;
		*outlen = dsm_set_label(p, in + NVDIMM_DSM_ARG3_OFF, out);
		return 0;
	default:
		break;
	}
	*outlen = out_status(out, NVDIMM_DSM_STATUS_UNSUPPORTED);
	return 0;
}

static int nv_reset(struct devproc_model *m)
{
	(void)m;
	return 0;
}

static int nv_driver_ready(struct devproc_model *m, uint64_t features)
{
	(void)m;
	(void)features;
	return 0;
}

static int nv_prop_set(struct devproc_model *m, const char *name, const char *value, char *errbuf,
                       size_t errlen)
{
	(void)m;
	(void)value;
	snprintf(errbuf, errlen, "nvdimm has no settable property '%s'", name);
	return -ENOENT;
}

static int nv_prop_get(const struct devproc_model *m, const char *name, char *buf, size_t len)
{
	const struct nvdimm *p = to_cnv(m);

	if (!strcmp(name, "size"))
		snprintf(buf, len, "%" PRIu64, p->size - p->label_size);
	else if (!strcmp(name, "label-size"))
		snprintf(buf, len, "%" PRIu64, p->label_size);
	else if (!strcmp(name, "unarmed"))
		snprintf(buf, len, "%s", p->unarmed ? "on" : "off");
	else if (!strcmp(name, "readonly"))
		snprintf(buf, len, "%s", p->readonly ? "on" : "off");
	else if (!strcmp(name, "dsm-calls"))
		snprintf(buf, len, "%" PRIu64, p->calls);
	else if (!strcmp(name, "label-reads"))
		snprintf(buf, len, "%" PRIu64, p->reads);
	else if (!strcmp(name, "label-writes"))
		snprintf(buf, len, "%" PRIu64, p->writes);
	else if (!strcmp(name, "label-refused"))
		snprintf(buf, len, "%" PRIu64, p->refused);
	else
		return -ENOENT;
	return 0;
}

static void nv_status(const struct devproc_model *m, struct devproc_status *st)
{
	memset(st, 0, sizeof(*st));
	st->size = to_cnv(m)->size - to_cnv(m)->label_size;
	st->node = -1;
	st->settled = true;
}

static int nv_seccomp(const struct devproc_model *m, struct sandbox_policy *policy)
{
	const struct nvdimm *p = to_cnv(m);

	return devproc_nvdimm_seccomp(policy, p->backend_fd, !p->readonly);
}

static size_t nv_kept_fds(const struct devproc_model *m, int *fds, size_t max)
{
	const struct nvdimm *p = to_cnv(m);

	if (max < 1 || p->backend_fd < 0)
		return 0;
	fds[0] = p->backend_fd;
	return 1;
}

static void nv_destroy(struct devproc_model *m)
{
	struct nvdimm *p;

	if (!m)
		return;
	p = to_nv(m);
	close_fd(&p->backend_fd);
	free(p);
}

static const struct devproc_model_ops nvdimm_ops = {
	.name = "nvdimm",
	.create = nv_create,
	.attach = nv_attach,
	.placed = nv_placed,
	.decl = nv_decl,
	.request = nv_request,
	.reset = nv_reset,
	.driver_ready = nv_driver_ready,
	.prop_set = nv_prop_set,
	.prop_get = nv_prop_get,
	.status = nv_status,
	.seccomp = nv_seccomp,
	.kept_fds = nv_kept_fds,
	.destroy = nv_destroy,
};

const struct devproc_model_ops *devproc_nvdimm(void)
{
	return &nvdimm_ops;
}
