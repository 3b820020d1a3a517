/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for virtio-pmem's request parser (devproc/virtio_pmem.c):
 * the guest writes these bytes, the device process parses them.  Each input
 * is a program of operations on one device over a 1 MiB memfd backend:
 * raw requests (bytes, readable length, writable room and queue from the
 * input), well-formed FLUSHes, a flush that fails from now on or works
 * again, the last request re-sent with its seq, and a crash (the model
 * destroyed and a successor attached, read-only or writable).
 *
 * Beyond "no crash, no leak", every answer is checked against the rules:
 * no answer bytes without 4 bytes of room; otherwise ret 0 exactly for a
 * 4-byte FLUSH on queue 0 whose flush worked (or a read-only backend), else
 * 1; the backend flushed exactly for a FLUSH with room on a writable
 * backend.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devproc.h"
#include "log.h"

#define SIZE (UINT64_C(1) << 20)
#define GPA  (UINT64_C(4) << 30)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int backend_fd = -1;
static int flush_calls;
static bool flush_fails;

static int fake_flush(int fd)
{
	if (fd < 0)
		abort();
	flush_calls++;
	return flush_fails ? -EIO : 0;
}

struct fz {
	const struct devproc_model_ops *ops;
	struct devproc_model *m;
	bool readonly;
	uint64_t seq;
	uint8_t last[64];
	size_t last_len;
	uint32_t last_queue, last_writable;
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz-virtio-pmem");
	backend_fd = memfd_create("pmem", MFD_CLOEXEC);
	if (backend_fd < 0 || ftruncate(backend_fd, (off_t)SIZE) < 0)
		abort();
	return 0;
}

static void attach(struct fz *f, bool readonly)
{
	char err[256], path[64];
	struct devproc_res res = { .backend_fd = -1, .state_fd = -1, .host = NULL };

	/* Read-only as memsrv does it: the file opened O_RDONLY. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", backend_fd);
	res.backend_fd = readonly ? open(path, O_RDONLY | O_CLOEXEC) : dup(backend_fd);
	if (res.backend_fd < 0)
		abort();
	if (f->ops->create(&f->m, "virtio-pmem,id=pm0,memdev=mem0", err, sizeof(err)) < 0 ||
	    f->ops->attach(f->m, &res, err, sizeof(err)) < 0 || f->ops->placed(f->m, GPA) < 0) {
		fprintf(stderr, "attach: %s\n", err);
		abort();
	}
	devproc_virtio_pmem_set_flush(f->m, fake_flush);
	f->readonly = readonly;
}

static void check(struct fz *f, uint32_t queue, uint64_t seq, const uint8_t *in, size_t len,
                  uint32_t writable)
{
	uint8_t out[64];
	size_t outlen = 99;
	int before = flush_calls;
	bool room = writable >= 4, flush, ok;
	uint32_t ret;

	memset(out, 0xa5, sizeof(out));
	if (f->ops->request(f->m, queue, seq, in, len, writable, out, sizeof(out), &outlen) != 0)
		abort();
	flush = room && queue == 0 && len == 4 && !in[0] && !in[1] && !in[2] && !in[3];
	if (!room) {
		if (outlen != 0 || flush_calls != before)
			abort();
		return;
	}
	if (outlen != 4)
		abort();
	ret = (uint32_t)out[0] | (uint32_t)out[1] << 8 | (uint32_t)out[2] << 16 |
	      (uint32_t)out[3] << 24;
	if ((flush_calls != before) != (flush && !f->readonly))
		abort();
	ok = flush && (f->readonly || !flush_fails);
	if (ret != (ok ? 0u : 1u))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { .ops = devproc_model_lookup("virtio-pmem") };
	size_t i = 0;

	flush_fails = false;
	attach(&f, false);
	while (i < size) {
		uint8_t op = data[i++];

		switch (op % 6) {
		case 0: { /* raw request: queue, readable length, room, then the bytes */
			uint32_t queue, writable;
			size_t len;

			if (size - i < 3)
				goto out;
			queue = data[i] & 3 ? 0 : data[i] >> 2;
			len = data[i + 1] % 64;
			writable = data[i + 2];
			i += 3;
			if (len > size - i)
				len = size - i;
			memcpy(f.last, data + i, len);
			i += len;
			f.last_len = len;
			f.last_queue = queue;
			f.last_writable = writable;
			check(&f, queue, ++f.seq, f.last, len, writable);
			break;
		}
		case 1: /* a FLUSH as Linux sends it */
			memset(f.last, 0, 4);
			f.last_len = 4;
			f.last_queue = 0;
			f.last_writable = 4;
			check(&f, 0, ++f.seq, f.last, 4, 4);
			break;
		case 2: /* the host's flush fails from now on, or works again */
			flush_fails = !flush_fails;
			break;
		case 3: /* the core re-sends the last request with its seq */
			check(&f, f.last_queue, f.seq, f.last, f.last_len, f.last_writable);
			break;
		case 4: /* kill -9: a successor, read-only or writable by the next bit */
		case 5:
			f.ops->destroy(f.m);
			f.m = NULL;
			attach(&f, op & 0x10);
			break;
		}
	}
out:
	f.ops->destroy(f.m);
	return 0;
}
