/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * prealloc=on: fault in every page of a backend before the guest runs, so
 * that a host short of memory fails now, with an error, rather than later
 * with a SIGBUS or the OOM killer in the middle of the guest's life.
 *
 * The range is cut into chunks (64 MiB, or one huge page when that is
 * larger) that the threads take in turn from a shared counter, so a slow
 * thread does not leave the others idle at the end.  Each chunk is populated
 * with MADV_POPULATE_WRITE (Linux 5.14), which allocates without touching
 * the data; older kernels get one write per page, as QEMU did before.
 */
#include "memsrv.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define PREALLOC_CHUNK (64ul << 20)
/* QEMU's MAX_MEM_PREALLOC_THREAD_COUNT. */
#define PREALLOC_MAX_THREADS 16u

struct prealloc_job {
	const struct memsrv_prealloc *p;
	size_t chunk;
	size_t n_chunks;
	bool touch;
	atomic_size_t next;
	atomic_size_t done;
	atomic_int error;        /* first -errno, 0 while all is well */
	atomic_size_t error_off; /* where it happened */
};

unsigned memsrv_prealloc_threads(size_t len, size_t page_size, unsigned wanted)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t pages = page_size ? len / page_size : 0;
	size_t by_size = len / PREALLOC_CHUNK;
	size_t n = wanted ? wanted : 1;

	if (cpus > 0 && n > (size_t)cpus)
		n = (size_t)cpus;
	if (n > PREALLOC_MAX_THREADS)
		n = PREALLOC_MAX_THREADS;
	/* Gigantic pages: never more threads than pages. */
	if (n > pages)
		n = pages;
	/* A small backend is not worth a thread start. */
	if (n > by_size)
		n = by_size;
	return n ? (unsigned)n : 1;
}

static int touch_range(char *addr, size_t len, size_t page_size, bool read_only)
{
	for (size_t off = 0; off < len; off += page_size) {
		volatile char *c = addr + off;

		if (read_only) {
			(void)*c;
		} else {
			/* Write back what is there: a file keeps its data. */
			*c = *c;
		}
	}
	return 0;
}

static int populate(struct prealloc_job *job, char *addr, size_t len)
{
	const struct memsrv_prealloc *p = job->p;
	int advice = p->read_only ? MADV_POPULATE_READ : MADV_POPULATE_WRITE;

	if (job->touch)
		return touch_range(addr, len, p->page_size, p->read_only);
	while (madvise(addr, len, advice) < 0) {
		/* A signal interrupts a long populate; resume it. */
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* Take chunks until none is left or some thread failed; 0 or -errno. */
static int work_one(struct prealloc_job *job)
{
	size_t idx = atomic_fetch_add(&job->next, 1);
	size_t off, len;
	int rc;

	if (idx >= job->n_chunks || atomic_load(&job->error))
		return 1;
	off = idx * job->chunk;
	len = job->p->len - off < job->chunk ? job->p->len - off : job->chunk;
	rc = populate(job, (char *)job->p->addr + off, len);
	if (rc < 0) {
		int expected = 0;

		if (atomic_compare_exchange_strong(&job->error, &expected, rc))
			atomic_store(&job->error_off, off);
		return rc;
	}
	atomic_fetch_add(&job->done, 1);
	return 0;
}

static void *worker(void *arg)
{
	struct prealloc_job *job = arg;

	while (work_one(job) == 0)
		;
	return NULL;
}

static void report(struct prealloc_job *job, unsigned *last)
{
	const struct memsrv_prealloc *p = job->p;
	unsigned percent;

	if (!p->progress)
		return;
	percent = (unsigned)(atomic_load(&job->done) * 100 / job->n_chunks);
	if (percent > *last) {
		*last = percent;
		p->progress(p->opaque, p->id ? p->id : "", percent);
	}
}

/*
 * Decide on MADV_POPULATE_* or touching with the first page: a kernel
 * without it says EINVAL at once.
 */
static int probe_method(struct prealloc_job *job)
{
	const struct memsrv_prealloc *p = job->p;
	int advice = p->read_only ? MADV_POPULATE_READ : MADV_POPULATE_WRITE;

	if (p->method == MEMSRV_PREALLOC_TOUCH) {
		job->touch = true;
		return 0;
	}
	if (madvise(p->addr, p->page_size, advice) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	log_info("prealloc %s: this kernel has no MADV_POPULATE_%s, touching each page",
	         p->id ? p->id : "", p->read_only ? "READ" : "WRITE");
	job->touch = true;
	return 0;
}

int memsrv_prealloc_run(const struct memsrv_prealloc *p, struct memsrv_error *err)
{
	struct prealloc_job job = { .p = p };
	pthread_t tids[PREALLOC_MAX_THREADS];
	unsigned nthreads, started = 0, last = 0;
	int rc;

	if (!p->addr || !p->len || !p->page_size || p->len % p->page_size ||
	    (uintptr_t)p->addr % p->page_size) {
		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INTERNAL, "prealloc",
		                 "prealloc %s: range is empty or not page aligned",
		                 p->id ? p->id : "");
		return -EINVAL;
	}
	job.chunk = PREALLOC_CHUNK < p->page_size ? p->page_size
	                                          : PREALLOC_CHUNK / p->page_size * p->page_size;
	job.n_chunks = (p->len + job.chunk - 1) / job.chunk;
	atomic_init(&job.next, 0);
	atomic_init(&job.done, 0);
	atomic_init(&job.error, 0);
	atomic_init(&job.error_off, 0);

	rc = probe_method(&job);
	if (rc < 0) {
		atomic_store(&job.error, rc);
		goto out;
	}

	nthreads = memsrv_prealloc_threads(p->len, p->page_size, p->threads);
	for (unsigned i = 1; i < nthreads; i++) {
		rc = pthread_create(&tids[started], NULL, worker, &job);
		if (rc) {
			/* Fewer threads is slower, not wrong. */
			errno = rc;
			log_warn("prealloc %s: started %u of %u threads", p->id ? p->id : "",
			         started + 1, nthreads);
			break;
		}
		started++;
	}
	while (work_one(&job) == 0)
		report(&job, &last);
	for (unsigned i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	if (!atomic_load(&job.error))
		report(&job, &last);
out:
	rc = atomic_load(&job.error);
	if (rc < 0) {
		memsrv_error_set(err,
		                 rc == -ENOMEM || rc == -ENOSPC ? SPLITVM__ERROR_CODE__ERR_NO_SPACE
		                                                : SPLITVM__ERROR_CODE__ERR_INTERNAL,
		                 "prealloc", "prealloc of '%s' failed at offset %zu of %zu: %s",
		                 p->id ? p->id : "", (size_t)atomic_load(&job.error_off), p->len,
		                 strerror(-rc));
		return rc;
	}
	return 0;
}
