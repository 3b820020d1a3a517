/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vmem-replay mailbox, shared by the test guest's scenario
 * (tests/guest/scn_vmem_replay.c, which describes it) and the host side
 * (test_vmem_replay.c, bench_virtio_mem_core.c).  Plain #defines: the guest
 * is freestanding.
 */
#ifndef SPLITVM_VMEM_REPLAY_MAILBOX_H
#define SPLITVM_VMEM_REPLAY_MAILBOX_H

#define VMR_MAILBOX_GPA  0x8000000 /* 128 MiB: inside the harness's 256 MiB of RAM */
#define VMR_MAILBOX_SIZE 0x100000
#define VMR_READY        0
#define VMR_POSTED       1
#define VMR_DONE         2
#define VMR_FINISH       3
#define VMR_OPS          8 /* first word of operation 0 */
#define VMR_OP_WORDS     8
#define VMR_MAX_OPS      ((VMR_MAILBOX_SIZE / 8 - VMR_OPS) / VMR_OP_WORDS)

#define VMR_W_OP      0
#define VMR_W_ARG     1
#define VMR_W_RESP    2
#define VMR_W_USABLE  3
#define VMR_W_PLUGGED 4
#define VMR_W_CYCLES  5
#define VMR_W_TSC     6

#define VMR_OP_REQ  1
#define VMR_OP_WAIT 2

#endif
