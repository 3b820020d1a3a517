/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the split-ring walker (core/virtq.c): the rings and
 * descriptors are guest memory, written by a guest that may be hostile.
 *
 * Input: byte 0 holds the negotiated ring features (bit 0 INDIRECT_DESC,
 * bit 1 EVENT_IDX), byte 1 the queue size as a power of two (modulo 9:
 * 1..256), and the rest is the first bytes of a 64 KiB guest RAM at
 * RAM_GPA whose first page holds the descriptor table, the second the
 * avail ring and the third the used ring.  Every chain popped gets a
 * response scattered into its writable buffers and a used element.
 * Besides "no crash, no leak, no access outside RAM" (ASan sees the RAM as
 * one heap block), it checks the walker's promises: a popped chain's
 * readable bytes stay under VIRTQ_MAX_REQUEST, its writable buffers lie in
 * RAM, and an error pops nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define RAM_GPA  0x10000ull
#define RAM_SIZE 0x10000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t resp[96] = { 0x5a };
	struct memmap_region reg = {
		.name = "ram", .kind = MEMMAP_RAM, .gpa = RAM_GPA, .size = RAM_SIZE, .slot = -1
	};
	struct memmap mm;
	struct virtq q;
	uint8_t *ram;

	if (size < 2)
		return 0;
	ram = calloc(1, RAM_SIZE);
	if (!ram)
		return 0;
	memcpy(ram, data + 2, size - 2 < RAM_SIZE ? size - 2 : RAM_SIZE);
	memset(&mm, 0, sizeof(mm));
	reg.host = ram;
	if (memmap_add(&mm, &reg))
		abort();
	q = (struct virtq){
		.num = (uint16_t)(1u << (data[1] % 9)),
		.indirect = data[0] & 1,
		.event_idx = data[0] & 2,
		.desc = RAM_GPA,
		.avail = RAM_GPA + 0x1000,
		.used = RAM_GPA + 0x2000,
	};
	if (virtq_check(&q, &mm))
		abort(); /* the fixed layout is always valid */

	for (unsigned i = 0; i < 2u * q.num; i++) {
		struct virtq_chain c;
		uint16_t before = q.last_avail;
		uint32_t written = 0;
		int r = virtq_pop(&q, &mm, &c);

		if (r <= 0) {
			if (q.last_avail != before || c.data || c.wr)
				abort();
			break;
		}
		if (c.data_len > VIRTQ_MAX_REQUEST || c.head >= q.num)
			abort();
		for (unsigned k = 0; k < c.n_wr; k++) {
			if (!memmap_gpa_to_host(&mm, c.wr[k].gpa, c.wr[k].len))
				abort();
		}
		if (virtq_chain_write(&mm, c.wr, c.n_wr, resp, sizeof(resp), &written) ||
		    written > c.wr_len || written > sizeof(resp))
			abort();
		if (virtq_push(&q, &mm, c.head, written))
			abort();
		(void)virtq_need_signal(&q, &mm);
		virtq_chain_release(&c);
	}
	free(ram);
	return 0;
}
