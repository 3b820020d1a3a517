/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What pmem_replay and nvdimm_replay share as the core of a real,
 * sandboxed splitvm-devproc (tests/integration/harness.h's struct vm):
 * starting it up to its DeviceAttach, reading a property through devctl,
 * and ending the run at the first difference.
 */
#ifndef SPLITVM_TESTS_REPLAY_DEVPROC_H
#define SPLITVM_TESTS_REPLAY_DEVPROC_H

#include <stddef.h>
#include <stdint.h>

#include "harness.h"

/*
 * Resets @v for @devproc (keeping its epoch), makes and watches a fresh
 * directory /tmp/@prefix-XXXXXX, takes @backend_fd into @v (on success
 * and on failure: vm_cleanup() closes it), binds the device plane's pair
 * dev-@id into *@pair, spawns @model @id with @config and receives its
 * first message.  0 with that DeviceAttach in *@attach (the caller checks
 * it, replies and frees it); -1 with the reason in @err.
 */
int replay_dev_start(struct vm *v, struct ipc_chan **pair, const char *devproc, const char *prefix,
                     const char *model, const char *id, const char *config, int backend_fd,
                     int wait_ms, struct ipc_msg **attach, char *err, size_t errlen)
        __attribute__((warn_unused_result));

/* The device process's property @name as a number (devctl; CHECKed). */
uint64_t replay_dev_prop_u64(struct vm *v, const char *name);

/*
 * The first difference ends the run: closing the NNG sockets with a
 * request in flight can hang in nng_close() (NNG 1.5.2, nanomsg/nng#1813;
 * 1 in 12 failing replays), so the device process is killed, @backend
 * (unless NULL) and @v's directory removed, and the program exits 1.
 */
void replay_dev_abort(const char *tool, struct vm *v, const char *backend)
        __attribute__((noreturn));

#endif
