/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A QEMU virtio-mem recording (tests/linux/record-virtio-mem.sh: the trace
 * events virtio_mem_*, handle_qmp_command and monitor_qmp_respond, with or
 * without -msg timestamp=on) read into the operations to replay and QEMU's
 * answers to check.
 */
#ifndef SPLITVM_TESTS_VMEM_REC_H
#define SPLITVM_TESTS_VMEM_REC_H

#include <stddef.h>
#include <stdint.h>

enum vr_kind {
	VR_SET,   /* qom-set requested-size: value */
	VR_REQ,   /* a request Linux sent: type, addr, nb; QEMU's resp (and state) */
	VR_QUERY, /* query-memory-devices: value is QEMU's plugged size */
};

struct vr_ev {
	enum vr_kind kind;
	unsigned line;
	uint64_t value;
	uint16_t type; /* 0 PLUG, 1 UNPLUG, 2 UNPLUG_ALL, 3 STATE */
	uint16_t nb;
	uint64_t addr;
	int resp;       /* QEMU's answer type */
	int state;      /* QEMU's STATE answer, -1 for other requests */
	int64_t usable; /* QEMU's usable region size after this event, -1: unchanged */
	double qemu_us; /* request line to response line; 0 without timestamps */
};

struct vr_rec {
	uint64_t addr, size, block_size, requested; /* the first query's geometry */
	uint64_t final_plugged;                     /* the last query's size */
	struct vr_ev *ev;
	size_t n, nreq;
};

/* 0, or -1 with the reason (file:line: what) in @err. */
int vr_load(struct vr_rec *r, const char *path, char *err, size_t errlen)
        __attribute__((warn_unused_result));
void vr_free(struct vr_rec *r);

#endif
