/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Port and MMIO exit dispatch.  Handlers are registered before the vCPUs
 * start and never change afterwards, so lookups take no lock; a handler
 * serialises its own state.  Anything no handler claims is "unmapped": reads
 * see all-ones (what an empty bus returns on a PC), writes are dropped, and a
 * rate-limited warning names the address — the guest controls these, so they
 * must never end the machine or flood the log.
 */
#include "core.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "log.h"

struct io_range {
	uint64_t base;
	uint64_t len;
	io_handler_fn fn;
	void *opaque;
};

#define IO_MAX_RANGES 32

static struct io_range pio_ranges[IO_MAX_RANGES];
static unsigned n_pio;
static struct io_range mmio_ranges[IO_MAX_RANGES];
static unsigned n_mmio;

static struct log_ratelimit unmapped_rl = LOG_RATELIMIT_INIT(1000, 10);

static int add_range(struct io_range *tab, unsigned *n, uint64_t base, uint64_t len,
                     io_handler_fn fn, void *opaque)
{
	if (*n >= IO_MAX_RANGES)
		return -ENOSPC;
	for (unsigned i = 0; i < *n; i++) {
		if (base < tab[i].base + tab[i].len && tab[i].base < base + len)
			return -EEXIST;
	}
	tab[*n] = (struct io_range){ .base = base, .len = len, .fn = fn, .opaque = opaque };
	(*n)++;
	return 0;
}

int io_register_pio(uint16_t base, uint16_t len, io_handler_fn fn, void *opaque)
{
	return add_range(pio_ranges, &n_pio, base, len, fn, opaque);
}

int io_register_mmio(uint64_t base, uint64_t len, io_handler_fn fn, void *opaque)
{
	return add_range(mmio_ranges, &n_mmio, base, len, fn, opaque);
}

void io_reset(void)
{
	n_pio = 0;
	n_mmio = 0;
}

static const struct io_range *lookup(const struct io_range *tab, unsigned n, uint64_t addr,
                                     uint32_t len)
{
	for (unsigned i = 0; i < n; i++) {
		if (addr >= tab[i].base && addr - tab[i].base < tab[i].len &&
		    len <= tab[i].len - (addr - tab[i].base))
			return &tab[i];
	}
	return NULL;
}

void io_handle_pio(uint16_t port, uint8_t *data, uint32_t size, bool is_write)
{
	const struct io_range *r = lookup(pio_ranges, n_pio, port, size);

	if (r) {
		r->fn(r->opaque, port - r->base, data, size, is_write);
		return;
	}
	if (!is_write)
		memset(data, 0xff, size);
	/* Port probes (PCI config, CMOS, POST codes) are normal: debug only. */
	log_debug("unclaimed port %s 0x%x size %u", is_write ? "write" : "read", port, size);
}

void io_handle_mmio(uint64_t gpa, uint8_t *data, uint32_t len, bool is_write)
{
	const struct io_range *r = lookup(mmio_ranges, n_mmio, gpa, len);

	if (r) {
		r->fn(r->opaque, gpa - r->base, data, len, is_write);
		return;
	}
	if (!is_write)
		memset(data, 0xff, len);
	log_warnx_ratelimited(
	        &unmapped_rl, "guest %s of unmapped guest-physical 0x%" PRIx64 " (%u bytes): %s",
	        is_write ? "write" : "read", gpa, len, is_write ? "dropped" : "reads all-ones");
}
