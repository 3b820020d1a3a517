/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The test guest's virtio-mem driver (scn_virtio_mem.c) as other scenarios
 * use it: one device, one queue, one request at a time.
 */
#ifndef SPLITVM_GUEST_VIRTIO_MEM_H
#define SPLITVM_GUEST_VIRTIO_MEM_H

#include "guest.h"

struct vmem_config {
	uint64_t addr, region_size, block_size, usable, plugged, requested;
};

/* Finds the device in the FDT and brings it up as Linux's probe does; 0 or 1 (FAIL printed). */
int vmem_open(const struct guest_boot *b);
/* One virtio_mem_req; the answer's type and state.  1 (FAIL printed) on a transport failure. */
int vmem_request(uint16_t type, uint64_t addr, uint16_t nb, uint16_t *resp, uint16_t *state);
/*
 * The TSC just before the last request's QueueNotify write and just after
 * the guest saw its used element: the device's time as the guest sees it,
 * without the guest's own work around the request.
 */
void vmem_request_tsc(uint64_t *notify, uint64_t *used);
/* A consistent copy of the config; acknowledges any pending interrupt. */
void vmem_config(struct vmem_config *c);

#endif
