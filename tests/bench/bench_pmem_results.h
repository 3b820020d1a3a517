/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where the test guest's virtio-pmem bench mode (tests/guest/scn_virtio_pmem.c,
 * pmem_bench=N pmem_results=0xGPA) leaves its figures in RAM for
 * tests/bench/bench_pmem.c: 64-bit words, TSC cycles.  Plain #defines: the
 * guest is freestanding.
 */
#ifndef SPLITVM_BENCH_PMEM_RESULTS_H
#define SPLITVM_BENCH_PMEM_RESULTS_H

#define PMB_MAGIC     0x706d656d62656e63ull /* "pmembenc": written last */
#define PMB_CHUNK     0x100000              /* the throughput passes' copy size */
#define PMB_DONE      0                     /* PMB_MAGIC once everything else is there */
#define PMB_N         1                     /* flush rounds */
#define PMB_BYTES     2                     /* bytes per throughput pass (the region) */
#define PMB_PASS_COLD 3                     /* cycles of the first pass over the region */
#define PMB_PASS_WARM 4                     /* cycles of the second */
#define PMB_TSC0      5                     /* the guest's TSC before round 0 */
#define PMB_TSC1      6                     /* and after the second pass */
#define PMB_RAM_WRITE 7                     /* cycles of a 4 KiB write into RAM (least of 16) */
#define PMB_ROUND     8 /* round i: [8 + 2i] write cycles, [9 + 2i] flush cycles, notify to used */
#define PMB_SIZE(n)   ((PMB_ROUND + 2 * (uint64_t)(n)) * 8)

#endif
