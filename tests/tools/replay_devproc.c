// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The device-process side of the replay tools (replay_devproc.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "replay_devproc.h"

int replay_dev_start(struct vm *v, struct ipc_chan **pair, const char *devproc, const char *prefix,
                     const char *model, const char *id, const char *config, int backend_fd,
                     int wait_ms, struct ipc_msg **attach, char *err, size_t errlen)
{
	struct ipc_chan_opts o = { .planes = PROTO_PLANE_DEVICE };
	char name[64];
	struct ipc_msg *msg;
	struct ipc_err ierr;

	*v = (struct vm){ .devproc_bin = devproc, .epoch = v->epoch };
	v->ram_fd = v->state_fd = v->core_log_fd = -1;
	v->backend_fd = backend_fd;
	snprintf(v->dir, sizeof(v->dir), "/tmp/%s-XXXXXX", prefix);
	if (!mkdtemp(v->dir)) {
		snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
		v->dir[0] = '\0';
		return -1;
	}
	snprintf(v->console, sizeof(v->console), "%s/none", v->dir);
	snprintf(v->devlog, sizeof(v->devlog), "%s/devproc.log", v->dir);
	vm_watch(v);
	snprintf(name, sizeof(name), "state-%s", id);
	v->state_fd = memfd(name, 0);

	snprintf(name, sizeof(name), "dev-%s", id);
	if (ipc_chan_bind(pair, IPC_ROLE_PAIR, v->dir, name, &o, &ierr) < 0) {
		snprintf(err, errlen, "%s: %s", name, ierr.text);
		return -1;
	}
	dev_spawn(v, model, id, config);
	if (ipc_recv(*pair, wait_ms, &msg, &ierr) < 0) {
		snprintf(err, errlen, "no DeviceAttach from splitvm-devproc: %s", ierr.text);
		return -1;
	}
	if (msg->type->type != SPLITVM__MSG_TYPE__MSG_DEVICE_ATTACH) {
		snprintf(err, errlen, "%s before DeviceAttach", msg->type->name);
		ipc_msg_free(msg);
		return -1;
	}
	*attach = msg;
	return 0;
}

uint64_t replay_dev_prop_u64(struct vm *v, const char *name)
{
	Splitvm__DevicePropGet g = SPLITVM__DEVICE_PROP_GET__INIT;
	struct ipc_msg *msg;
	uint64_t val;

	g.name = (char *)name;
	call_ok(v->ctl, &g.base, &msg);
	CHECK(msg->type->type == SPLITVM__MSG_TYPE__MSG_DEVICE_PROP_VALUE, "%s answered %s", name,
	      msg->type->name);
	val = strtoull(((Splitvm__DevicePropValue *)msg->body)->value, NULL, 10);
	ipc_msg_free(msg);
	return val;
}

void replay_dev_abort(const char *tool, struct vm *v, const char *backend)
{
	char cmd[160];

	if (v->dev_pid > 0) {
		kill(v->dev_pid, SIGKILL);
		waitpid(v->dev_pid, NULL, 0);
	}
	if (backend)
		unlink(backend);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", v->dir);
	if (v->dir[0] && system(cmd) != 0)
		fprintf(stderr, "%s: cannot remove %s\n", tool, v->dir);
	_exit(1);
}
