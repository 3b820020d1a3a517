/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ipc error table and the helpers that fill struct ipc_err. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static const struct {
	const char *name;
	const char *message;
	Splitvm__ErrorCode reply;
} errcodes[IPC_ERR_COUNT_] = {
	[IPC_OK] = { "OK", "success", SPLITVM__ERROR_CODE__ERR_NONE },
	[IPC_ERR_SYS] = { "SYS", "a system call failed", SPLITVM__ERROR_CODE__ERR_INTERNAL },
	[IPC_ERR_INVALID] = { "INVALID", "invalid argument",
	                      SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT },
	[IPC_ERR_TIMEOUT] = { "TIMEOUT", "the deadline passed", SPLITVM__ERROR_CODE__ERR_TIMEOUT },
	[IPC_ERR_CLOSED] = { "CLOSED", "the channel or its peer is gone",
	                     SPLITVM__ERROR_CODE__ERR_INTERNAL },
	[IPC_ERR_TOO_BIG] = { "TOO_BIG", "the message is over the size limit",
	                      SPLITVM__ERROR_CODE__ERR_PROTOCOL },
	[IPC_ERR_TRUNCATED] = { "TRUNCATED", "the envelope is cut short",
	                        SPLITVM__ERROR_CODE__ERR_PROTOCOL },
	[IPC_ERR_DECODE] = { "DECODE", "the message does not decode",
	                     SPLITVM__ERROR_CODE__ERR_PROTOCOL },
	[IPC_ERR_VERSION] = { "VERSION", "unsupported protocol version",
	                      SPLITVM__ERROR_CODE__ERR_PROTOCOL },
	[IPC_ERR_UNKNOWN_TYPE] = { "UNKNOWN_TYPE", "unknown message type",
	                           SPLITVM__ERROR_CODE__ERR_PROTOCOL },
	[IPC_ERR_WRONG_PLANE] = { "WRONG_PLANE", "message type not allowed on this channel",
	                          SPLITVM__ERROR_CODE__ERR_PROTOCOL },
	[IPC_ERR_PEER] = { "PEER", "the peer answered with an error",
	                   SPLITVM__ERROR_CODE__ERR_INTERNAL },
	[IPC_ERR_RUNDIR] = { "RUNDIR", "the run directory is unsafe",
	                     SPLITVM__ERROR_CODE__ERR_PERMISSION },
	[IPC_ERR_PEER_UID] = { "PEER_UID", "the peer runs as an unexpected uid",
	                       SPLITVM__ERROR_CODE__ERR_PERMISSION },
	[IPC_ERR_TAG] = { "TAG", "fds arrived under an unexpected tag",
	                  SPLITVM__ERROR_CODE__ERR_PROTOCOL },
	[IPC_ERR_BAD_PACKET] = { "BAD_PACKET", "malformed fd channel packet",
	                         SPLITVM__ERROR_CODE__ERR_PROTOCOL },
	[IPC_ERR_CTRUNC] = { "CTRUNC", "the kernel cut the control data",
	                     SPLITVM__ERROR_CODE__ERR_PROTOCOL },
};

static bool known(enum ipc_errcode code)
{
	return (unsigned)code < IPC_ERR_COUNT_;
}

const char *ipc_errcode_name(enum ipc_errcode code)
{
	return known(code) ? errcodes[code].name : "UNKNOWN";
}

const char *ipc_errcode_message(enum ipc_errcode code)
{
	return known(code) ? errcodes[code].message : "unknown ipc error";
}

bool ipc_errcode_is_malformed(enum ipc_errcode code)
{
	return code >= IPC_ERR_TOO_BIG && code <= IPC_ERR_WRONG_PLANE;
}

Splitvm__ErrorCode ipc_errcode_to_reply(enum ipc_errcode code)
{
	return known(code) ? errcodes[code].reply : SPLITVM__ERROR_CODE__ERR_INTERNAL;
}

__attribute__((format(printf, 4, 0))) static int
err_vset(struct ipc_err *err, enum ipc_errcode code, int errnum, const char *fmt, va_list ap)
{
	int saved = errno;

	if (err) {
		memset(err, 0, sizeof(*err));
		err->code = code;
		err->sys_errno = errnum;
		vsnprintf(err->text, sizeof(err->text), fmt, ap);
		if (errnum) {
			size_t n = strlen(err->text);

			snprintf(err->text + n, sizeof(err->text) - n, ": %s", strerror(errnum));
		}
	}
	errno = saved;
	return -(int)code;
}

int ipc_err_set(struct ipc_err *err, enum ipc_errcode code, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = err_vset(err, code, 0, fmt, ap);
	va_end(ap);
	return ret;
}

int ipc_err_sys(struct ipc_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = err_vset(err, IPC_ERR_SYS, errnum, fmt, ap);
	va_end(ap);
	return ret;
}

uint64_t ipc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
