/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fd ownership helpers (STYLE.md): fd fields start at -1; close_fd() closes
 * once, writes -1 and keeps errno; take_fd() moves an fd out of its slot.
 */
#ifndef SPLITVM_FD_H
#define SPLITVM_FD_H

#include <errno.h>
#include <unistd.h>

static inline void close_fd(int *fd)
{
	int saved = errno;

	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	errno = saved;
}

static inline int take_fd(int *fd)
{
	int ret = *fd;

	*fd = -1;
	return ret;
}

#endif
