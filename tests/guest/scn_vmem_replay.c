/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scenario=vmem-replay mailbox=0xGPA: the guest's half of the virtio-mem
 * replay (tests/integration/test_vmem_replay.c), which plays the supervisor,
 * reads a QEMU recording and posts its operations, one at a time, into the
 * mailbox through its own mapping of the guest's RAM.  The guest issues each
 * through the core's virtio-mmio transport and writes the answer back.
 *
 * Mailbox, 64-bit words (VMR_* in tests/integration/vmem_replay_mailbox.h):
 *   [0] ready     guest: 1 once the device is up
 *   [1] posted    host: operations posted so far
 *   [2] done      guest: operations answered so far
 *   [3] finish    host: 1 = stop with PASS
 *   [8 + 8 * i]   operation i: w0 op | type << 8 | nb << 16, w1 addr or
 *                 value; the guest's w2 resp | state << 16, w3 usable
 *                 region size and w4 plugged size read after it, w5 TSC
 *                 cycles from the notify to the used element, w6 the TSC
 *                 at the notify.
 * Ops: REQ sends the request; WAIT waits until the config's requested_size
 * equals w1 (the host changed it on the devctl channel) and reports.
 */
#include "guest.h"
#include "virtio_mem.h"

#include "../integration/vmem_replay_mailbox.h"

static void report(volatile uint64_t *op)
{
	struct vmem_config c;

	vmem_config(&c);
	op[VMR_W_USABLE] = c.usable;
	op[VMR_W_PLUGGED] = c.plugged;
}

static int replay_op(volatile uint64_t *op, uint64_t i)
{
	uint64_t w0 = op[VMR_W_OP], t0, t1;
	uint16_t resp = 0xffff, state = 0xffff;
	struct vmem_config c;

	switch (w0 & 0xff) {
	case VMR_OP_REQ:
		if (vmem_request((uint16_t)(w0 >> 8 & 0xff), op[VMR_W_ARG], (uint16_t)(w0 >> 16),
		                 &resp, &state))
			return 1;
		vmem_request_tsc(&t0, &t1);
		op[VMR_W_RESP] = resp | (uint64_t)state << 16;
		op[VMR_W_CYCLES] = t1 - t0;
		op[VMR_W_TSC] = t0;
		report(op);
		return 0;
	case VMR_OP_WAIT:
		/* The host owns the deadline: it fails the test if this never ends. */
		for (vmem_config(&c); c.requested != op[VMR_W_ARG]; vmem_config(&c))
			guest_idle();
		op[VMR_W_RESP] = 0;
		report(op);
		return 0;
	default:
		return fail("vmem-replay: operation %lu is 0x%lx", i, w0);
	}
}

static int replay_run(const struct guest_boot *b)
{
	uint64_t mailbox, done = 0;
	volatile uint64_t *mb;
	struct vmem_config c;

	if (cmdline_u64(b, "mailbox", &mailbox) || mailbox % 4096 ||
	    !e820_in_ram(b, mailbox, VMR_MAILBOX_SIZE))
		return fail("scenario vmem-replay needs mailbox=0xGPA: page aligned, 0x%x bytes of "
		            "RAM",
		            VMR_MAILBOX_SIZE);
	mb = guest_ptr(mailbox, VMR_MAILBOX_SIZE);
	if (!mb)
		return fail("mailbox=0x%lx: cannot map it", mailbox);
	if (vmem_open(b))
		return 1;
	vmem_config(&c);
	say("vmem-replay: region 0x%lx+0x%lx block 0x%lx, mailbox 0x%lx", c.addr, c.region_size,
	    c.block_size, mailbox);
	mb[VMR_READY] = 1;
	for (;;) {
		if (mb[VMR_FINISH])
			break;
		if (mb[VMR_POSTED] == done) {
			/* Waiting for the host, not timed: halt (about 1 ms). */
			guest_idle();
			continue;
		}
		if (done >= VMR_MAX_OPS)
			return fail("vmem-replay: more than %u operations", VMR_MAX_OPS);
		__asm__ volatile("" ::: "memory");
		if (replay_op(mb + VMR_OPS + done * VMR_OP_WORDS, done))
			return 1;
		__asm__ volatile("" ::: "memory");
		mb[VMR_DONE] = ++done;
	}
	say("vmem-replay: %lu operations answered", done);
	return 0;
}

const struct guest_scenario scenario_vmem_replay = {
	.name = "vmem-replay",
	.run = replay_run,
};
