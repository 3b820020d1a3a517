/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The memsrv integration tests play the supervisor: they start the real
 * splitvm-memsrv with fork+exec, talk to it on the memory plane and take
 * fds off the fd channel.  Helpers come in pairs: __mc_x() returns the raw
 * result, mc_x() checks it and exits 1 with a message when it is wrong.
 */
#ifndef SPLITVM_TEST_MEMSRV_CLIENT_H
#define SPLITVM_TEST_MEMSRV_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include "backend_config.h"
#include "ipc.h"

#define MC_CHECK(cond, ...)                                                                        \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

#define MC_DEADLINE_MS 20000

struct mc {
	pid_t pid;
	int log_fd;   /* read end of memsrv's stderr */
	char dir[64]; /* the run directory */
	struct ipc_chan *req;
	struct ipc_fdchan *fdch;
	char log[65536];
	size_t log_len;
};

/*
 * Start @bin.  With @socketpair the fd channel is an inherited socketpair
 * (--fd-channel-fd); else memsrv listens and this connects to DIR/memsrv-fd.
 */
void mc_start(struct mc *c, const char *bin, bool socketpair);
/* Connect the fd channel again (listen mode), as a restarted supervisor does. */
void mc_fdchan_reconnect(struct mc *c);
/* Wait for memsrv's exit; its status, or 128+signal. */
int mc_wait(struct mc *c);
/* memsrv's log so far (read without blocking). */
const char *mc_log(struct mc *c);
/* Close the channels, remove the run directory. */
void mc_cleanup(struct mc *c);

/* One request; on IPC_ERR_PEER, err carries the peer's code, field, text. */
int __mc_call(struct mc *c, const ProtobufCMessage *req, struct ipc_msg **reply,
              struct ipc_err *err);
/* The same, which must succeed; the reply is the caller's. */
struct ipc_msg *mc_call(struct mc *c, const ProtobufCMessage *req);
/* The same, which must fail with @code, @field and a text containing @text. */
void mc_call_fails(struct mc *c, const ProtobufCMessage *req, int code, const char *field,
                   const char *text);

Splitvm__BackendConfig mc_config(Splitvm__BackendType type, const char *id, uint64_t size);
/* BackendCreate; the BackendInfo reply (free with ipc_msg_free). */
struct ipc_msg *mc_create(struct mc *c, const Splitvm__BackendConfig *cfg);
/* BackendAcquire + the fd off the fd channel under the reply's tag. */
int __mc_acquire(struct mc *c, const char *id, const char *user, int *fd, struct ipc_err *err);
int mc_acquire(struct mc *c, const char *id, const char *user);
void mc_release(struct mc *c, const char *id, const char *user);
void mc_delete(struct mc *c, const char *id);
/* StateCreate + its fd. */
int mc_state(struct mc *c, const char *device, uint64_t size);
/* BackendList; the reply (free with ipc_msg_free). */
struct ipc_msg *mc_list(struct mc *c);
const Splitvm__BackendInfo *mc_find(const struct ipc_msg *list, const char *id);

#endif
