/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-VM run directory that holds every socket file.  Its 0700 mode is
 * what keeps other users off the sockets, so an existing directory is
 * checked, not trusted.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fd.h"
#include "internal.h"

/* mkdir -p with mode 0700 for every directory it creates. */
static int mkdir_parents(char *path, struct ipc_err *err)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			int e = errno;

			ipc_err_sys(err, e, "run directory: mkdir %s", path);
			*p = '/';
			return -IPC_ERR_SYS;
		}
		*p = '/';
	}
	return 0;
}

int ipc_rundir_create(const char *path, struct ipc_err *err)
{
	char buf[PATH_MAX];
	struct stat st;
	int fd = -1;
	int ret;

	if (!path || !*path)
		return ipc_err_set(err, IPC_ERR_INVALID, "run directory: empty path");
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return ipc_err_set(err, IPC_ERR_INVALID, "run directory: path longer than %d bytes",
		                   PATH_MAX - 1);
	/* "a/b/" names the same directory as "a/b". */
	for (size_t n = strlen(buf); n > 1 && buf[n - 1] == '/'; n--)
		buf[n - 1] = '\0';
	ret = mkdir_parents(buf, err);
	if (ret < 0)
		return ret;
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return ipc_err_sys(err, errno, "run directory: mkdir %s", buf);

	/*
	 * Check what is there now through an fd, so that a symlink swapped in
	 * between mkdir and the check is refused rather than followed.
	 */
	fd = open(buf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOTDIR || errno == ELOOP)
			return ipc_err_set(err, IPC_ERR_RUNDIR,
			                   "run directory %s is not a directory", buf);
		return ipc_err_sys(err, errno, "run directory: open %s", buf);
	}
	if (fstat(fd, &st) < 0) {
		ret = ipc_err_sys(err, errno, "run directory: fstat %s", buf);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		ret = ipc_err_set(err, IPC_ERR_RUNDIR,
		                  "run directory %s is owned by uid %u, not by us (uid %u)", buf,
		                  (unsigned)st.st_uid, (unsigned)geteuid());
		goto out;
	}
	if (st.st_mode & 077) {
		ret = ipc_err_set(
		        err, IPC_ERR_RUNDIR,
		        "run directory %s has mode %04o: group and others must have no access", buf,
		        (unsigned)(st.st_mode & 07777));
		goto out;
	}
	ret = 0;
out:
	close_fd(&fd);
	return ret;
}

static bool name_ok(const char *name)
{
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *c = name; *c; c++) {
		bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		          (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-';

		if (!ok)
			return false;
	}
	return true;
}

int ipc_endpoint_path(char *buf, size_t size, const char *rundir, const char *name,
                      struct ipc_err *err)
{
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path);
	int n;

	if (!rundir || !*rundir)
		return ipc_err_set(err, IPC_ERR_INVALID, "endpoint: empty run directory");
	if (!name || !name_ok(name))
		return ipc_err_set(err, IPC_ERR_INVALID,
		                   "endpoint name '%s': use one path component of [A-Za-z0-9._-]",
		                   name ? name : "(null)");
	if (size < max)
		max = size;
	n = snprintf(buf, size, "%s/%s", rundir, name);
	if (n < 0 || (size_t)n >= max)
		return ipc_err_set(err, IPC_ERR_INVALID,
		                   "endpoint longer than the %zu bytes of a socket path: %s/%s",
		                   max - 1, rundir, name);
	return 0;
}
