// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The state journal of a device process (devproc.h): two slots in the state
 * memfd, the newer valid one is the state.  The memfd outlives the process
 * (memsrv holds it), and a kill -9 stops the process between two stores, so
 * the order of stores is the whole design: payload, length, crc, magic, and
 * the generation last.  The crc covers the generation too, so a slot whose
 * new generation never landed fails its check and the other slot wins.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devproc.h"
#include "log.h"

#define JOURNAL_MAGIC UINT64_C(0x4c4e524a4d564453) /* "SDVMJRNL" */

struct slot_hdr {
	uint64_t magic;
	uint64_t generation;
	uint32_t len;
	uint32_t crc;
	uint64_t reserved;
};

struct devproc_journal {
	uint8_t *map;
	size_t map_len;
	size_t slot_len;
	size_t payload_max;
	int cur;             /* slot holding the newest state, -1 none */
	uint64_t generation; /* its generation */
	unsigned crash_after;
};

static size_t slot_len_for(size_t payload_max)
{
	return (sizeof(struct slot_hdr) + payload_max + 63) & ~(size_t)63;
}

size_t devproc_journal_size(size_t payload_max)
{
	return 2 * slot_len_for(payload_max);
}

/* CRC-32C (Castagnoli), bitwise: the journal is small and written per request. */
static uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	return ~crc;
}

static uint32_t slot_crc(uint64_t generation, uint32_t len, const void *payload)
{
	uint32_t crc = crc32c(0, &generation, sizeof(generation));

	crc = crc32c(crc, &len, sizeof(len));
	return crc32c(crc, payload, len);
}

static struct slot_hdr *slot_at(const struct devproc_journal *j, int i)
{
	return (struct slot_hdr *)(void *)(j->map + (size_t)i * j->slot_len);
}

static bool slot_valid(const struct devproc_journal *j, int i)
{
	const struct slot_hdr *h = slot_at(j, i);

	if (h->magic != JOURNAL_MAGIC || h->generation == 0 || h->len > j->payload_max)
		return false;
	return slot_crc(h->generation, h->len, h + 1) == h->crc;
}

int devproc_journal_open(struct devproc_journal **out, int fd, size_t payload_max, bool *fresh)
{
	struct devproc_journal *j;
	struct stat st;
	size_t need = devproc_journal_size(payload_max);
	int ret;

	*out = NULL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size < need) {
		/* A sealed memfd refuses to grow: say how much it needs. */
		if (ftruncate(fd, (off_t)need) < 0) {
			ret = -errno;
			log_warn("state memfd has %lld bytes, the journal needs %zu",
			         (long long)st.st_size, need);
			return ret;
		}
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->slot_len = slot_len_for(payload_max);
	j->payload_max = payload_max;
	j->map_len = need;
	j->map = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (j->map == MAP_FAILED) {
		ret = -errno;
		free(j);
		return ret;
	}
	j->cur = -1;
	for (int i = 0; i < 2; i++) {
		if (!slot_valid(j, i))
			continue;
		if (j->cur < 0 || slot_at(j, i)->generation > j->generation) {
			j->cur = i;
			j->generation = slot_at(j, i)->generation;
		}
	}
	*fresh = j->cur < 0;
	*out = j;
	return 0;
}

long devproc_journal_read(const struct devproc_journal *j, void *buf, size_t cap)
{
	const struct slot_hdr *h;

	if (j->cur < 0)
		return -ENOENT;
	h = slot_at(j, j->cur);
	if (h->len > cap)
		return -ENOSPC;
	memcpy(buf, h + 1, h->len);
	return (long)h->len;
}

/* One store of a commit; false once the test-only crash point is reached. */
static bool step(struct devproc_journal *j, unsigned *n)
{
	return !(j->crash_after && ++*n > j->crash_after);
}

int devproc_journal_commit(struct devproc_journal *j, const void *payload, size_t len)
{
	int next = j->cur < 0 ? 0 : 1 - j->cur;
	struct slot_hdr *h = slot_at(j, next);
	uint64_t gen = j->generation + 1;
	size_t half = len / 2;
	unsigned n = 0;

	if (len > j->payload_max)
		return -EMSGSIZE;
	/* The slot we overwrite stops being valid before any payload byte lands. */
	__atomic_store_n(&h->generation, 0, __ATOMIC_RELEASE);
	if (!step(j, &n))
		return -EINTR;
	memcpy(h + 1, payload, half);
	if (!step(j, &n))
		return -EINTR;
	memcpy((uint8_t *)(h + 1) + half, (const uint8_t *)payload + half, len - half);
	if (!step(j, &n))
		return -EINTR;
	h->len = (uint32_t)len;
	if (!step(j, &n))
		return -EINTR;
	h->crc = slot_crc(gen, (uint32_t)len, payload);
	if (!step(j, &n))
		return -EINTR;
	h->magic = JOURNAL_MAGIC;
	if (!step(j, &n))
		return -EINTR;
	/* Everything above is visible before the generation makes the slot newest. */
	__atomic_store_n(&h->generation, gen, __ATOMIC_RELEASE);
	j->cur = next;
	j->generation = gen;
	return 0;
}

uint64_t devproc_journal_generation(const struct devproc_journal *j)
{
	return j->generation;
}

void devproc_journal_crash_after(struct devproc_journal *j, unsigned stores)
{
	j->crash_after = stores;
}

void devproc_journal_close(struct devproc_journal *j)
{
	if (!j)
		return;
	munmap(j->map, j->map_len);
	free(j);
}
