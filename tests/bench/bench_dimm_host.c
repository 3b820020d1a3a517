/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host-side work of a DIMM plug done in one process, the baseline of
 * tests/bench/bench_dimm.sh: memfd_create + ftruncate + mmap (+
 * MADV_POPULATE_WRITE with prealloc) + KVM_SET_USER_MEMORY_REGION into a VM
 * made beforehand (a running VM exists before any device_add), then the
 * unplug's side: memslot deleted, munmap, close.
 *
 * Prints "plug_ns UNPLUG_NS" on stdout, one line per round.
 *
 * usage: bench_dimm_host SIZE_MIB PREALLOC(0|1) ROUNDS
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Where the DIMM goes in guest-physical space: above 4 GiB, like the core's
 * device-memory area. */
#define DIMM_GPA (8ull << 30)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int fail(const char *what)
{
	fprintf(stderr, "bench_dimm_host: %s: %s\n", what, strerror(errno));
	return 1;
}

static int round_once(int vm, uint64_t size, int prealloc)
{
	struct kvm_userspace_memory_region reg = { .slot = 1, .guest_phys_addr = DIMM_GPA };
	uint64_t t0 = now_ns(), t1, t2;
	void *p;
	int fd;

	fd = memfd_create("bench-dimm", MFD_CLOEXEC);
	if (fd < 0)
		return fail("memfd_create");
	if (ftruncate(fd, (off_t)size)) {
		close(fd);
		return fail("ftruncate");
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return fail("mmap");
	}
	if (prealloc && madvise(p, size, MADV_POPULATE_WRITE)) {
		munmap(p, size);
		close(fd);
		return fail("madvise(MADV_POPULATE_WRITE)");
	}
	reg.memory_size = size;
	reg.userspace_addr = (uint64_t)(uintptr_t)p;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &reg)) {
		munmap(p, size);
		close(fd);
		return fail("KVM_SET_USER_MEMORY_REGION");
	}
	t1 = now_ns();
	reg.memory_size = 0;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &reg))
		fail("KVM_SET_USER_MEMORY_REGION (delete)");
	munmap(p, size);
	close(fd);
	t2 = now_ns();
	printf("%" PRIu64 " %" PRIu64 "\n", t1 - t0, t2 - t1);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t size;
	int kvm, vm, prealloc, rounds, rc = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_dimm_host SIZE_MIB PREALLOC(0|1) ROUNDS\n");
		return 2;
	}
	size = strtoull(argv[1], NULL, 0) << 20;
	prealloc = atoi(argv[2]);
	rounds = atoi(argv[3]);
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		printf("SKIP: /dev/kvm: %s\n", strerror(errno));
		return 77;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		close(kvm);
		return fail("KVM_CREATE_VM");
	}
	for (int i = 0; i < rounds && !rc; i++)
		rc = round_once(vm, size, prealloc);
	close(vm);
	close(kvm);
	return rc;
}
