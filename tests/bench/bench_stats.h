/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the benchmarks that time the guest share: the TSC, the host's
 * clock, the TSC's rate against it, and percentiles of a sample.
 */
#ifndef SPLITVM_BENCH_STATS_H
#define SPLITVM_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return (uint64_t)hi << 32 | lo;
}

/* CLOCK_MONOTONIC in µs. */
double now_us(void);
/* TSC ticks per µs, over 200 ms of the host's clock. */
double tsc_per_us(void);

struct stats {
	double p50, p99, mean, sum;
	size_t n;
};

/* Sorts @v in place; all zero for n == 0. */
struct stats stats_of(double *v, size_t n);

#endif
