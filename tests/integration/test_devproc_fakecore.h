/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fake core for one real splitvm-devproc: it binds the device plane's PAIR
 * dev-<id>, owns the backend memfd (sealed) and the state memfd, starts the
 * device process (fork + exec: nng must not run in a forked child), answers
 * DeviceAttach and DeviceSlotMap, keeps the config copy, and sends
 * DeviceRequests.  It also checks what a core would refuse: a slot map
 * outside the region or not slot-aligned, and (the exactly-once rule) an
 * unmap of a slot that holds a block the guest was told is plugged.
 *
 * Used by tests/integration/test_devproc_crash.c and
 * tests/bench/bench_virtio_mem.c.  Every failure prints why and exits 1.
 */
#ifndef SPLITVM_TEST_DEVPROC_FAKECORE_H
#define SPLITVM_TEST_DEVPROC_FAKECORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipc.h"

#define FC_SLOT_SIZE  (UINT64_C(128) << 20)
#define FC_MAX_SLOTS  256
#define FC_CONFIG_LEN 56

/* virtio-mem's request and response codes (virtio 1.2, 5.15.6). */
enum { FC_PLUG = 0, FC_UNPLUG = 1, FC_UNPLUG_ALL = 2, FC_STATE = 3 };
enum { FC_ACK = 0, FC_NACK = 1, FC_BUSY = 2, FC_ERROR = 3 };

/* What the device process is doing when the hook runs. */
enum fc_event {
	FC_EV_SLOT_MAP,      /* a DeviceSlotMap arrived and was applied, not yet answered */
	FC_EV_CONFIG_UPDATE, /* a config copy arrived, alone or with a response (after the commit) */
};

struct fcore;
/* Return true to kill -9 the device process at this point. */
typedef bool (*fc_hook)(struct fcore *fc, enum fc_event ev, void *opaque);

struct fcore {
	/* set by the caller before fc_init() */
	const char *devproc; /* path of splitvm-devproc */
	const char *id;      /* device id */
	const char *config;  /* --config string */
	const char *sandbox; /* --sandbox= */
	uint64_t region_size;
	uint64_t gpa; /* where this core places the region */

	char rundir[64];
	struct ipc_chan *pair;
	int backend_fd, state_fd;
	pid_t pid;
	uint32_t epoch;

	uint8_t config_copy[FC_CONFIG_LEN];
	unsigned config_updates;
	bool last_notify;

	bool mapped[FC_MAX_SLOTS];
	unsigned slot_calls;
	uint64_t last_map_offset; /* the last DeviceSlotMap, for hooks */
	bool last_map;
	uint64_t block_size;
	uint8_t *acked; /* per block: the guest was told it is plugged */
	uint64_t nblocks;
	uint64_t inflight_first, inflight_n; /* the unplug in flight, may unmap these */

	fc_hook hook;
	void *hook_opaque;
	long kill_after_us; /* >= 0: fc_request() kills this long after sending; then -1 */
	int drain_ms;       /* fc_kill() waits this long for the dead one's last words */
	unsigned kills;
};

/* Run dir, PAIR bound, memfds made (backend sealed against grow/shrink). */
void fc_init(struct fcore *fc);
/* Stop the process, close everything, remove the run dir. */
void fc_fini(struct fcore *fc);

/*
 * Start the device process with fc->epoch + 1 and attach it: check its
 * DeviceAttach, answer DeviceAttached.  Returns once attached; the slot
 * restatement and the config copy are served by the next fc_request().
 */
void fc_spawn(struct fcore *fc);
/*
 * kill -9 the pid the spawner holds (sandboxed: the reaper), reap it, wait
 * until the real device process is gone too, and take in what it had sent.
 */
void fc_kill(struct fcore *fc);
/*
 * The device process itself: the reaper's only child when sandboxed
 * (/proc/R/task/R/children), else -1.
 */
pid_t fc_device_pid(const struct fcore *fc);
/* Wait (at most 5 s, else fail) until @pid is gone or a zombie; <= 0: no-op. */
void fc_wait_gone(pid_t pid);

/*
 * Send DeviceRequest{queue 0, @req} under @seq and serve the device until
 * its DeviceResponse for @seq: 0 with the answer in @resp (10 bytes), or
 * -ECHILD when the hook killed the process first (the caller restarts it and
 * re-sends the same seq).
 */
int fc_request(struct fcore *fc, uint64_t seq, const uint8_t *req, size_t len, uint8_t resp[10]);

/* Serve the device plane (slot maps, config copies) for @ms milliseconds. */
void fc_serve(struct fcore *fc, int ms);

/* A 24-byte struct virtio_mem_req. */
void fc_vmem_req(uint8_t out[24], uint16_t type, uint64_t addr, uint16_t nb_blocks);
uint64_t fc_config_u64(const struct fcore *fc, size_t off);
/* Bytes of the backend the host has allocated (st_blocks * 512). */
uint64_t fc_backend_allocated(const struct fcore *fc);
/* VmRSS of the device process (not its reaper) in KiB, or 0. */
unsigned long fc_rss_kib(const struct fcore *fc);

/* The guest was answered ACK to a PLUG/UNPLUG of blocks [first, first + n). */
void fc_ack_blocks(struct fcore *fc, uint64_t first, uint64_t n, bool plugged);

#endif
