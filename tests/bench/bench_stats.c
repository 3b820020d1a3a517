// SPDX-License-Identifier: GPL-2.0-or-later
#include "bench_stats.h"

#include <stdlib.h>
#include <time.h>

#include "harness.h"

double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

double tsc_per_us(void)
{
	double t0 = now_us();
	uint64_t c0 = rdtsc();

	sleep_ms(200);
	return (double)(rdtsc() - c0) / (now_us() - t0);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct stats stats_of(double *v, size_t n)
{
	struct stats s = { .n = n };

	if (!n)
		return s;
	qsort(v, n, sizeof(*v), cmp_d);
	for (size_t i = 0; i < n; i++)
		s.sum += v[i];
	s.p50 = v[(n - 1) / 2];
	s.p99 = v[(size_t)(0.99 * (double)(n - 1) + 0.5)];
	s.mean = s.sum / (double)n;
	return s;
}
