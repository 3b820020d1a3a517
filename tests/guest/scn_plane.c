/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scenario=plane mailbox=0xGPA devmem=0xGPA: the guest's half of the
 * machine-plane test (tests/integration/test_core_plane.c), which plays the
 * supervisor and sees the guest's RAM through the memfd it mapped in.
 *
 * The mailbox is four 64-bit words in RAM:
 *   [0] progress  the guest counts up without end (pause/resume shows it)
 *   [1] command   written by the host: 1 = check devmem, 2 = finish
 *   [2] done      the last command the guest completed
 *   [3] checksum  of devmem's first page, for the host to compare
 * For command 1 the guest reads devmem's first page, which must start with
 * PLANE_MAGIC (the host wrote it through its own mapping of the region),
 * prints its checksum, and writes checksum ^ index into every word of the
 * second page for the host to find.
 */
#include "guest.h"

#define PLANE_MAGIC      ((uint64_t)0x21736d7674696c70ull) /* "plitvms!" */
#define PLANE_CMD_DEVMEM 1
#define PLANE_CMD_FINISH 2
#define PLANE_PAGE_WORDS 512

static uint64_t page_checksum(const volatile uint64_t *w)
{
	uint64_t sum = 0xcbf29ce484222325ull;

	/* FNV-1a over words: order matters, so a misplaced word shows. */
	for (unsigned int i = 0; i < PLANE_PAGE_WORDS; i++) {
		sum ^= w[i];
		sum *= 0x100000001b3ull;
	}
	return sum;
}

static int plane_devmem(uint64_t devmem, volatile uint64_t *mb)
{
	volatile uint64_t *w = guest_ptr(devmem, 2 * PLANE_PAGE_WORDS * 8);
	uint64_t sum;

	if (!w)
		return fail("devmem=0x%lx: cannot map it (%u physical address bits)", devmem,
		            mmu_phys_bits());
	if (w[0] != PLANE_MAGIC)
		return fail("devmem 0x%lx: read 0x%lx, want the magic 0x%lx", devmem, w[0],
		            PLANE_MAGIC);
	sum = page_checksum(w);
	for (unsigned int i = 0; i < PLANE_PAGE_WORDS; i++)
		w[PLANE_PAGE_WORDS + i] = sum ^ i;
	mb[3] = sum;
	say("plane devmem 0x%lx: magic ok, checksum 0x%lx", devmem, sum);
	return 0;
}

static int plane_run(const struct guest_boot *b)
{
	uint64_t mailbox, devmem;
	volatile uint64_t *mb;

	if (cmdline_u64(b, "mailbox", &mailbox) || mailbox % 8 || !e820_in_ram(b, mailbox, 32))
		return fail("scenario plane needs mailbox=0xGPA: 8-byte aligned, in RAM");
	if (cmdline_u64(b, "devmem", &devmem) || devmem % 4096)
		return fail("scenario plane needs devmem=0xGPA, page aligned");
	mb = guest_ptr(mailbox, 32);
	if (!mb)
		return fail("mailbox=0x%lx: cannot map it", mailbox);
	say("plane mailbox 0x%lx, devmem 0x%lx", mailbox, devmem);
	for (;;) {
		uint64_t cmd = mb[1];

		mb[0]++;
		if (cmd == PLANE_CMD_DEVMEM && mb[2] != PLANE_CMD_DEVMEM) {
			if (plane_devmem(devmem, mb))
				return 1;
			mb[2] = PLANE_CMD_DEVMEM;
		} else if (cmd == PLANE_CMD_FINISH) {
			say("plane finish after %lu rounds", mb[0]);
			mb[2] = PLANE_CMD_FINISH;
			return 0;
		}
	}
}

const struct guest_scenario scenario_plane = {
	.name = "plane",
	.run = plane_run,
};
