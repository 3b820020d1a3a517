/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * devproc/: one device model instance per process (DESIGN.md "The device
 * plane").  This header is the contract between main.c (sockets, fds,
 * sandbox) and the models (one file each, one ops table each, listed in
 * models.c).
 *
 * A model never touches a socket.  What it needs from the outside world it
 * asks through struct devproc_host: the core maps or unmaps part of the
 * device's region, the core gets a new copy of the config space.  That keeps
 * every model testable alone (tests/unit/test_virtio_mem.c plays the core).
 *
 * Errors: functions return 0 or -errno.  A request from the guest is never
 * an error here: the model answers it with the spec's status bytes; only a
 * broken internal invariant (the journal cannot be written) is an error, and
 * then the process ends and its successor answers from the journal.
 */
#ifndef SPLITVM_DEVPROC_H
#define SPLITVM_DEVPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEVPROC_WUR __attribute__((warn_unused_result))

/* What a model may ask of the core; main.c sends these on the PAIR socket. */
struct devproc_host {
	void *opaque;
	/*
	 * Map (or unmap) [offset, offset + size) of the device's own region.
	 * Must be idempotent: a successor may repeat what its predecessor did.
	 * A map waits for the core: 0, or -errno when the core refused or did
	 * not answer.  An unmap only goes out (0 once sent): the core acts on
	 * the device's messages in order, so it is done before the response
	 * that follows it reaches the guest, and a refusal, which a model
	 * could not undo anyway (its blocks are discarded already), is logged
	 * by the core and by main.c when the core's ErrorReply comes back.
	 * During a guest request, main.c holds the unmaps and the config copy
	 * and sends them inside the request's DeviceResponse: one message
	 * instead of three, applied by the core in the same order.
	 */
	int (*slot_map)(void *opaque, uint64_t offset, uint64_t size, bool map);
	/* Replace the core's copy of the config space; @notify raises an interrupt. */
	int (*config_update)(void *opaque, const void *config, size_t len, bool notify);
};

/* Runtime resources, handed over at attach.  fds stay the caller's until taken. */
struct devproc_res {
	int backend_fd;      /* the device's memory backend (memfd or file) */
	int state_fd;        /* the device's state memfd (the journal) */
	uint64_t region_gpa; /* where the core placed the region */
	const struct devproc_host *host;
};

/* What the device declares to the core (DeviceAttach). */
struct devproc_decl {
	uint32_t virtio_id;
	uint64_t features;
	uint64_t required_features;
	uint32_t nqueues;
	uint32_t queue_size[4];
	uint8_t config[64];
	size_t config_len;
	uint64_t region_size;
	bool config_follows; /* config embeds the region address: restated once placed */
};

/* DeviceStatus, without the strings the caller owns. */
struct devproc_status {
	uint64_t size; /* the region (backend) size */
	uint64_t requested_size;
	uint64_t plugged_size;
	uint64_t block_size;
	uint64_t addr;
	int32_t node; /* -1: none */
	bool settled; /* plugged_size == requested_size */
};

struct devproc_model;
struct sandbox_policy;

/*
 * One model.  Order of calls: create (config string only) -> attach
 * (resources; fds the model keeps are taken, their slots set to -1) ->
 * decl -> placed -> any of request/reset/driver_ready/prop_* -> destroy.
 */
struct devproc_model_ops {
	const char *name; /* "virtio-mem" */
	/*
	 * The core serves the device itself (pc-dimm): no dev-<id> to connect,
	 * no DeviceAttach; decl/placed/request/reset/driver_ready never come.
	 * The process keeps its sandbox and device control.
	 */
	bool no_device_plane;
	/* Parse and check @config (QemuOpts syntax); no fd, no syscall. */
	int (*create)(struct devproc_model **out, const char *config, char *errbuf, size_t errlen);
	/* Take the fds it keeps from @res, read the journal, reconcile with the core. */
	int (*attach)(struct devproc_model *m, struct devproc_res *res, char *errbuf,
	              size_t errlen);
	/*
	 * The core placed the region at @gpa (DeviceAttached).  A successor
	 * (the journal was not fresh) restates every slot's mapping, since its
	 * predecessor may have died between asking the core and committing;
	 * then the config copy goes to the core.
	 */
	int (*placed)(struct devproc_model *m, uint64_t gpa);
	/* What to send in DeviceAttach (valid after attach). */
	void (*decl)(const struct devproc_model *m, struct devproc_decl *d);
	/*
	 * One guest request: @in/@len are the driver-readable bytes, @writable
	 * the room for the answer.  The answer goes to @out (at most @outcap
	 * bytes), its length to *@outlen.  @seq is the core's sequence number:
	 * the request the journal last completed is answered from the journal.
	 * 0, or -errno only when the journal failed (the process must end).
	 */
	int (*request)(struct devproc_model *m, uint32_t queue, uint64_t seq, const uint8_t *in,
	               size_t len, uint32_t writable, uint8_t *out, size_t outcap, size_t *outlen);
	/* The driver reset the device, or the guest rebooted. */
	int (*reset)(struct devproc_model *m);
	int (*driver_ready)(struct devproc_model *m, uint64_t features);
	/* -EINVAL (rule in @errbuf), -ENOENT (unknown name), or 0. */
	int (*prop_set)(struct devproc_model *m, const char *name, const char *value, char *errbuf,
	                size_t errlen);
	int (*prop_get)(const struct devproc_model *m, const char *name, char *buf, size_t len);
	void (*status)(const struct devproc_model *m, struct devproc_status *st);
	/*
	 * Add the model's seccomp table (beside its code, STYLE.md) to @policy,
	 * which holds the common list already; arguments are constrained to
	 * the model's own fds, so it is called after attach.
	 */
	int (*seccomp)(const struct devproc_model *m, struct sandbox_policy *policy);
	/* The fds the model keeps (for the close-everything-else step). */
	size_t (*kept_fds)(const struct devproc_model *m, int *fds, size_t max);
	void (*destroy)(struct devproc_model *m);
};

/* models.c: the one table.  NULL for an unknown name. */
const struct devproc_model_ops *devproc_model_lookup(const char *name);
/* "virtio-mem" ...; for --help. */
const char *devproc_model_name(size_t i);

struct opts;
struct opts_error;
/*
 * The start a virtio model's create shares: parse CONFIG (implied key
 * "driver"), check that the driver, if given, is DRIVER, DRIVER-pci or
 * DRIVER-device, copy id= into ID and take memdev= (the supervisor already
 * turned it into the backend fd).  0 with *out the caller's, or -errno with
 * oe->msg set and nothing left allocated.
 */
int devproc_config_parse(const char *config, const char *driver, struct opts **out, char *id,
                         size_t idlen, struct opts_error *oe) __attribute__((warn_unused_result));

/* Each model's table, defined at the end of its file. */
const struct devproc_model_ops *devproc_virtio_mem(void);
const struct devproc_model_ops *devproc_virtio_pmem(void);
const struct devproc_model_ops *devproc_dimm(void);
const struct devproc_model_ops *devproc_nvdimm(void);

/*
 * nvdimm's DSM interface (QEMU's hw/acpi/nvdimm.c; Intel's NVDIMM DSM
 * Interface, revision 1): the 4 KiB page the AML fills, the functions of an
 * NVDIMM device's _DSM that QEMU serves, and their status codes.
 */
#define NVDIMM_DSM_PAGE_SIZE          4096u
#define NVDIMM_DSM_ARG3_OFF           12u /* after le32 handle, revision, function */
#define NVDIMM_DSM_GET_LABEL_SIZE     4u
#define NVDIMM_DSM_GET_LABEL_DATA     5u
#define NVDIMM_DSM_SET_LABEL_DATA     6u
#define NVDIMM_DSM_STATUS_SUCCESS     0u
#define NVDIMM_DSM_STATUS_UNSUPPORTED 1u
#define NVDIMM_DSM_STATUS_NOMEMDEV    2u
#define NVDIMM_DSM_STATUS_INVALID     3u
#define NVDIMM_DSM_STATUS_HW_ERROR    4u
/*
 * QEMU's nvdimm_get_max_xfer_label_size(): the smaller of what one Get
 * (page - 8 bytes of out header) and one Set (page - 12 - 8) can carry.
 */
#define NVDIMM_DSM_MAX_XFER (NVDIMM_DSM_PAGE_SIZE - NVDIMM_DSM_ARG3_OFF - 8u)
/* QEMU's MIN_NAMESPACE_LABEL_SIZE. */
#define NVDIMM_MIN_LABEL_SIZE 0x20000u

/*
 * nvdimm_seccomp.c: pread of the label area on @backend_fd, and pwrite when
 * @writable (a read-only backend has none).
 */
int devproc_nvdimm_seccomp(struct sandbox_policy *policy, int backend_fd,
                           bool writable) DEVPROC_WUR;

/* dimm_seccomp.c: pc-dimm's discard, fallocate(PUNCH_HOLE) on @backend_fd only. */
int devproc_dimm_seccomp(struct sandbox_policy *policy, int backend_fd) DEVPROC_WUR;

/*
 * virtio_pmem_seccomp.c: virtio-pmem's syscalls on top of the common list,
 * fdatasync on @backend_fd only.
 */
int devproc_virtio_pmem_seccomp(struct sandbox_policy *policy, int backend_fd) DEVPROC_WUR;
/* Tests only: FLUSH calls @fn (0 or -errno) instead of fdatasync; NULL restores it. */
void devproc_virtio_pmem_set_flush(struct devproc_model *m, int (*fn)(int fd));

/*
 * virtio_mem_seccomp.c: virtio-mem's syscalls on top of the common list,
 * fallocate on @backend_fd only (docs/security.md lists them).
 */
int devproc_virtio_mem_seccomp(struct sandbox_policy *policy, int backend_fd) DEVPROC_WUR;

/* ---- journal.c: crash-consistent state in the state memfd ---------------- */

/*
 * Two slots, each {magic, generation, length, crc32c, payload}.  A commit
 * writes the payload, its length and crc into the slot that does not hold
 * the newest state, and then, last, its generation (old + 1).  A crash at
 * any store leaves the newest valid slot untouched: recovery picks the valid
 * slot (magic and crc match) with the highest generation, so it finds either
 * the old state or the new one, never a mix.
 */
struct devproc_journal;

/* Bytes of state memfd a journal of @payload_max bytes needs. */
size_t devproc_journal_size(size_t payload_max);

/*
 * Map @fd (a memfd of at least devproc_journal_size() bytes; a smaller one
 * that is not sealed is grown).  @fd stays the caller's.  *@fresh: no valid
 * slot was found (a new device).
 */
int devproc_journal_open(struct devproc_journal **out, int fd, size_t payload_max,
                         bool *fresh) DEVPROC_WUR;
/* The newest committed payload into @buf (at most @cap bytes); its length or -ENOENT. */
long devproc_journal_read(const struct devproc_journal *j, void *buf, size_t cap) DEVPROC_WUR;
int devproc_journal_commit(struct devproc_journal *j, const void *payload, size_t len) DEVPROC_WUR;
uint64_t devproc_journal_generation(const struct devproc_journal *j);
void devproc_journal_close(struct devproc_journal *j);

/*
 * Tests only: stop a commit after @stores of its stores (payload, length,
 * crc, magic, generation), as a kill -9 would.  0 disables.
 */
void devproc_journal_crash_after(struct devproc_journal *j, unsigned stores);

#endif
