/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Starting and stopping tests/integration/ipc_peer from a test process. */
#ifndef SPLITVM_TEST_IPC_SPAWN_H
#define SPLITVM_TEST_IPC_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * fork + exec @peer_path DIR NAME READY_FD; return its pid once it has bound
 * DIR/NAME (or -1 after printing why).  The child dies with its parent.
 */
pid_t ipc_peer_spawn(const char *peer_path, const char *dir, const char *name);

/* Wait for @pid; true when it exited with @want_status. */
bool ipc_peer_reap(pid_t pid, int want_status);

/* A fresh 0700 run directory under /tmp; removed by ipc_rundir_remove(). */
void ipc_rundir_make(char *buf, size_t size);
void ipc_rundir_remove(const char *dir);

#endif
