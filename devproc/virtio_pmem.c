// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-pmem (virtio 1.2 "PMEM Device", device id 27): a host file that
 * the core maps whole into the guest's device-memory area, and one request
 * queue whose only request, FLUSH, asks the host to make the guest's
 * stores through that mapping durable.
 *
 * The device process never maps the region: it holds the backing file's fd
 * only, and a FLUSH is fdatasync(2) of it.  The guest's stores land in the
 * file's page cache through the core's MAP_SHARED mapping, so writing back
 * the file writes back what the guest wrote.  fdatasync and not fsync: the
 * file's size never changes and its timestamps are nobody's data, so the
 * metadata fsync adds is not needed for the data to survive (QEMU calls
 * fsync; the answer is the same).
 *
 * Answers (struct virtio_pmem_resp, le32 ret): 0 (VIRTIO_PMEM_RESP_TYPE_OK)
 * when the flush succeeded, 1 (VIRTIO_PMEM_RESP_TYPE_EIO) when it failed.
 * QEMU's worker_cb() answers 1 for any fsync failure and Linux's
 * virtio_pmem_flush() turns any non-zero ret into -EIO; so do we.  QEMU
 * flushes whatever the driver sent; we are stricter where the spec leaves
 * room, and answer EIO without flushing to a request that is not a 4-byte
 * struct virtio_pmem_req of type FLUSH (0): the issue asks for a clear
 * error, and Linux never sends anything else.  A chain with no room for the
 * 4-byte answer gets no answer bytes (used length 0) and no flush.
 *
 * Read-only backend (memory-backend-file readonly=on): memsrv opens the
 * file O_RDONLY and the core maps the region read-only (KVM_MEM_READONLY),
 * so the guest cannot have dirtied a byte: FLUSH answers OK without a
 * syscall.  The model learns it from the backend fd's access mode, which is
 * what makes it true, not from a flag that could disagree with it.
 *
 * Exactly-once across a crash needs no journal: a flush is idempotent, so a
 * successor that gets a re-sent seq flushes again and answers.  The state
 * memfd is therefore not kept.
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
#include "log.h"
#include "opts.h"

#define VIRTIO_ID_PMEM             27
#define VIRTIO_PMEM_REQ_TYPE_FLUSH 0
#define VIRTIO_PMEM_RESP_TYPE_OK   0
#define VIRTIO_PMEM_RESP_TYPE_EIO  1

#define VPMEM_REQ_LEN    4   /* struct virtio_pmem_req: le32 type */
#define VPMEM_RESP_LEN   4   /* struct virtio_pmem_resp: le32 ret */
#define VPMEM_CONFIG_LEN 16  /* struct virtio_pmem_config: le64 start, le64 size */
#define VPMEM_QUEUE_SIZE 128 /* QEMU's */
/* The core maps whole pages; a region is page granular. */
#define VPMEM_ALIGN 4096ull

struct vpmem {
	char id[64];
	uint64_t memaddr; /* memaddr= of the config string; 0: wherever the core puts it */
	int backend_fd;
	bool readonly;
	uint64_t size;
	uint64_t addr;
	const struct devproc_host *host;
	uint64_t flushes, failures;
	int (*flush)(int fd); /* fdatasync, or a test's stand-in */
};

static struct log_ratelimit guest_rl = LOG_RATELIMIT_INIT(5000, 10);

static struct vpmem *to_vpmem(struct devproc_model *m)
{
	return (struct vpmem *)(void *)m;
}

static const struct vpmem *to_cvpmem(const struct devproc_model *m)
{
	return (const struct vpmem *)(const void *)m;
}

static int do_fdatasync(int fd)
{
	int ret;

	do
		ret = fdatasync(fd);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : 0;
}

static void vpmem_config(const struct vpmem *p, uint8_t *c)
{
	put_le64(c + 0, p->addr);
	put_le64(c + 8, p->size);
}

/* ---- create / attach ----------------------------------------------------- */

static int vpmem_create(struct devproc_model **out, const char *config, char *errbuf, size_t errlen)
{
	struct opts_error oe = { { 0 } };
	struct opts *o = NULL;
	struct vpmem *p;
	int ret;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->backend_fd = -1;
	p->flush = do_fdatasync;
	ret = devproc_config_parse(config, "virtio-pmem", &o, p->id, sizeof(p->id), &oe);
	if (ret < 0)
		goto fail_msg;
	ret = opts_get_size(o, "memaddr", 0, &p->memaddr, &oe);
	if (ret < 0)
		goto fail_msg;
	ret = opts_check_unused(o, "virtio-pmem", &oe);
	if (ret < 0)
		goto fail_msg;
	if (p->memaddr % VPMEM_ALIGN) {
		snprintf(oe.msg, sizeof(oe.msg),
		         "memaddr: 0x%" PRIx64 " is not a multiple of the page size (0x%llx)",
		         p->memaddr, VPMEM_ALIGN);
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

static int vpmem_attach(struct devproc_model *m, struct devproc_res *res, char *errbuf,
                        size_t errlen)
{
	struct vpmem *p = to_vpmem(m);
	struct stat st;
	int fl, ret;

	if (fstat(res->backend_fd, &st) < 0) {
		ret = -errno;
		snprintf(errbuf, errlen, "memdev: fstat of the backend fd: %s", strerror(errno));
		return ret;
	}
	/* A memfd is a regular file too; a pipe or a device has nothing to flush. */
	if (!S_ISREG(st.st_mode)) {
		snprintf(errbuf, errlen, "memdev: the backend is not a file (mode 0%o)",
		         (unsigned)(st.st_mode & S_IFMT));
		return -EINVAL;
	}
	p->size = (uint64_t)st.st_size;
	if (!p->size || p->size % VPMEM_ALIGN) {
		snprintf(errbuf, errlen,
		         "memdev: size 0x%" PRIx64 " has to be a non-zero multiple of the page "
		         "size (0x%llx)",
		         p->size, VPMEM_ALIGN);
		return -EINVAL;
	}
	fl = fcntl(res->backend_fd, F_GETFL);
	if (fl < 0) {
		ret = -errno;
		snprintf(errbuf, errlen, "memdev: F_GETFL of the backend fd: %s", strerror(errno));
		return ret;
	}
	p->readonly = (fl & O_ACCMODE) == O_RDONLY;
	/* The state memfd stays the caller's: a flush is idempotent, nothing to journal. */
	p->backend_fd = res->backend_fd;
	res->backend_fd = -1;
	p->host = res->host;
	p->addr = res->region_gpa;
	log_info("backend 0x%" PRIx64 " bytes%s", p->size, p->readonly ? ", read-only" : "");
	return 0;
}

/* The core placed the region (DeviceAttached): its address is the config's start. */
static int vpmem_placed(struct devproc_model *m, uint64_t gpa)
{
	struct vpmem *p = to_vpmem(m);
	uint8_t c[VPMEM_CONFIG_LEN];

	p->addr = gpa;
	if (p->memaddr && p->memaddr != gpa)
		log_warnx("memaddr=0x%" PRIx64 " asked, the core placed the region at 0x%" PRIx64,
		          p->memaddr, gpa);
	if (!p->host || !p->host->config_update)
		return 0;
	vpmem_config(p, c);
	return p->host->config_update(p->host->opaque, c, sizeof(c), false);
}

static void vpmem_decl(const struct devproc_model *m, struct devproc_decl *d)
{
	const struct vpmem *p = to_cvpmem(m);

	memset(d, 0, sizeof(*d));
	d->virtio_id = VIRTIO_ID_PMEM;
	/* VIRTIO_PMEM_F_SHMEM_REGION is not offered: the region is at config start. */
	d->nqueues = 1;
	d->queue_size[0] = VPMEM_QUEUE_SIZE;
	vpmem_config(p, d->config);
	d->config_len = VPMEM_CONFIG_LEN;
	d->region_size = p->size;
	d->config_follows = true; /* start is the region's address */
}

/* ---- requests ------------------------------------------------------------ */

static uint32_t flush(struct vpmem *p)
{
	int ret;

	if (p->readonly)
		return VIRTIO_PMEM_RESP_TYPE_OK; /* nothing the guest could have dirtied */
	ret = p->flush(p->backend_fd);
	p->flushes++;
	if (ret < 0) {
		p->failures++;
		log_warnx_ratelimited(&guest_rl, "flush of the backend failed: %s", strerror(-ret));
		return VIRTIO_PMEM_RESP_TYPE_EIO;
	}
	return VIRTIO_PMEM_RESP_TYPE_OK;
}

static int vpmem_request(struct devproc_model *m, uint32_t queue, uint64_t seq, const uint8_t *in,
                         size_t len, uint32_t writable, uint8_t *out, size_t outcap, size_t *outlen)
{
	struct vpmem *p = to_vpmem(m);
	uint32_t ret;

	*outlen = 0;
	if (outcap < VPMEM_RESP_LEN)
		return -ENOBUFS;
	if (writable < VPMEM_RESP_LEN) {
		/* Nowhere to say whether it worked: no flush the guest could rely on. */
		log_warnx_ratelimited(&guest_rl,
		                      "seq %" PRIu64 ": %u writable bytes, the answer "
		                      "needs %d; not flushed",
		                      seq, writable, VPMEM_RESP_LEN);
		return 0;
	}
	*outlen = VPMEM_RESP_LEN;
	if (queue != 0 || len != VPMEM_REQ_LEN) {
		log_warnx_ratelimited(&guest_rl,
		                      "seq %" PRIu64 ": invalid request (queue %u, %zu"
		                      " bytes, want %d); EIO",
		                      seq, queue, len, VPMEM_REQ_LEN);
		ret = VIRTIO_PMEM_RESP_TYPE_EIO;
	} else if (get_le32(in) != VIRTIO_PMEM_REQ_TYPE_FLUSH) {
		log_warnx_ratelimited(&guest_rl,
		                      "seq %" PRIu64 ": unknown request type %" PRIu32 "; EIO", seq,
		                      get_le32(in));
		ret = VIRTIO_PMEM_RESP_TYPE_EIO;
	} else {
		ret = flush(p);
		log_debug("seq %" PRIu64 ": FLUSH answered %" PRIu32, seq, ret);
	}
	put_le32(out, ret);
	return 0;
}

static int vpmem_reset(struct devproc_model *m)
{
	(void)m; /* no state: the region's contents are the file's, they survive a reset */
	return 0;
}

static int vpmem_driver_ready(struct devproc_model *m, uint64_t features)
{
	(void)m;
	(void)features;
	return 0;
}

/* ---- properties and status ------------------------------------------------ */

static int vpmem_prop_set(struct devproc_model *m, const char *name, const char *value,
                          char *errbuf, size_t errlen)
{
	(void)m;
	(void)value;
	if (!strcmp(name, "size") || !strcmp(name, "memaddr") || !strcmp(name, "memdev")) {
		snprintf(errbuf, errlen, "%s: cannot be changed on virtio-pmem", name);
		return -EINVAL;
	}
	snprintf(errbuf, errlen, "%s: no such property", name);
	return -ENOENT;
}

static int vpmem_prop_get(const struct devproc_model *m, const char *name, char *buf, size_t len)
{
	const struct vpmem *p = to_cvpmem(m);

	if (!strcmp(name, "size"))
		snprintf(buf, len, "%" PRIu64, p->size);
	else if (!strcmp(name, "memaddr") || !strcmp(name, "addr"))
		snprintf(buf, len, "%" PRIu64, p->addr);
	else if (!strcmp(name, "readonly"))
		snprintf(buf, len, "%s", p->readonly ? "on" : "off");
	else if (!strcmp(name, "flushes"))
		snprintf(buf, len, "%" PRIu64, p->flushes);
	else if (!strcmp(name, "flush-failures"))
		snprintf(buf, len, "%" PRIu64, p->failures);
	else
		return -ENOENT;
	return 0;
}

/* QEMU's VirtioPMEMDeviceInfo is memaddr and size; the whole region is always there. */
static void vpmem_status(const struct devproc_model *m, struct devproc_status *st)
{
	const struct vpmem *p = to_cvpmem(m);

	memset(st, 0, sizeof(*st));
	st->size = p->size;
	st->requested_size = p->size;
	st->plugged_size = p->size;
	st->addr = p->addr;
	st->node = -1;
	st->settled = true;
}

/* The table is in virtio_pmem_seccomp.c; here because it needs the backend fd. */
static int vpmem_seccomp(const struct devproc_model *m, struct sandbox_policy *policy)
{
	return devproc_virtio_pmem_seccomp(policy, to_cvpmem(m)->backend_fd);
}

static size_t vpmem_kept_fds(const struct devproc_model *m, int *fds, size_t max)
{
	const struct vpmem *p = to_cvpmem(m);

	if (p->backend_fd >= 0 && max > 0) {
		fds[0] = p->backend_fd;
		return 1;
	}
	return 0;
}

static void vpmem_destroy(struct devproc_model *m)
{
	struct vpmem *p = to_vpmem(m);

	if (!p)
		return;
	if (p->backend_fd >= 0)
		close(p->backend_fd);
	free(p);
}

void devproc_virtio_pmem_set_flush(struct devproc_model *m, int (*fn)(int fd))
{
	to_vpmem(m)->flush = fn ? fn : do_fdatasync;
}

static const struct devproc_model_ops vpmem_ops;

const struct devproc_model_ops *devproc_virtio_pmem(void)
{
	return &vpmem_ops;
}

static const struct devproc_model_ops vpmem_ops = {
	.name = "virtio-pmem",
	.create = vpmem_create,
	.attach = vpmem_attach,
	.placed = vpmem_placed,
	.decl = vpmem_decl,
	.request = vpmem_request,
	.reset = vpmem_reset,
	.driver_ready = vpmem_driver_ready,
	.prop_set = vpmem_prop_set,
	.prop_get = vpmem_prop_get,
	.status = vpmem_status,
	.seccomp = vpmem_seccomp,
	.kept_fds = vpmem_kept_fds,
	.destroy = vpmem_destroy,
};
