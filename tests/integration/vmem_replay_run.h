/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A QEMU virtio-mem recording replayed through the real core's virtio-mmio
 * transport and the real splitvm-devproc (the test guest's vmem-replay
 * scenario), every answer checked against QEMU's.  Used by
 * test_vmem_replay.c and tests/bench/bench_virtio_mem_core.c.
 */
#ifndef SPLITVM_TESTS_VMEM_REPLAY_RUN_H
#define SPLITVM_TESTS_VMEM_REPLAY_RUN_H

#include "harness.h"
#include "vmem_rec.h"

struct replay_out {
	size_t nreq, checks;
	uint64_t *cycles;             /* per request, the guest's TSC from notify to used (nreq) */
	uint64_t first_tsc, last_tsc; /* the guest's TSC at the first notify and the last used */
	uint64_t wall_us;             /* the whole stream on the host's clock */
};

/*
 * Boots the core, the device process and the guest (@guest_args, "" or
 * more of its command line, e.g. virtio_poll=1) with @r's geometry,
 * replays it, checks every response, usable region size, query and the
 * final plugged size; fails the test (CHECK) at the first difference.
 * @out: NULL, or filled (free out->cycles).  @v is left running (the guest
 * stopped) for the caller to vm_cleanup().
 */
void replay_recording(struct vm *v, const struct vr_rec *r, const char *guest_args,
                      struct replay_out *out);

#endif
