/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the files of ipc/; not part of its API. */
#ifndef SPLITVM_IPC_INTERNAL_H
#define SPLITVM_IPC_INTERNAL_H

#include "ipc.h"

/*
 * Fill @err (when not NULL) with @code and the formatted text; return
 * -@code.  errno is preserved.
 */
int ipc_err_set(struct ipc_err *err, enum ipc_errcode code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* As ipc_err_set(), for a failed syscall: records @errnum and appends its text. */
int ipc_err_sys(struct ipc_err *err, int errnum, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t ipc_now_ms(void);

/*
 * The envelope decode with the correlation id of an envelope that got as far
 * as decoding (0 otherwise), so that a server can address its ErrorReply.
 */
int ipc_envelope_decode_id(const void *buf, size_t len, size_t limit, unsigned planes,
                           struct ipc_msg **out, uint64_t *corr_id, struct ipc_err *err);

#endif
