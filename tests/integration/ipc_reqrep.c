/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Two processes, REQ/REP: typed calls and their replies, an ErrorReply that
 * becomes an error value, many calls in a row, and a server restarted on the
 * same path that the client reaches again without reconnecting by hand.
 *
 * Usage: ipc_reqrep PATH_TO_IPC_PEER
 */
#include <stdio.h>
#include <string.h>

#include "ipc.h"
#include "ipc_check.h"
#include "ipc_spawn.h"
#include "log.h"

static int __call(struct ipc_chan *req, const char *verb, const char *arg, char *out, size_t outsz,
                  struct ipc_err *err)
{
	Splitvm__CtlRequest cr = SPLITVM__CTL_REQUEST__INIT;
	char *args[1] = { (char *)arg };
	struct ipc_msg *reply;
	int ret;

	cr.verb = (char *)verb;
	cr.args = args;
	cr.n_args = arg ? 1 : 0;
	ret = ipc_call(req, NULL, &cr.base, 5000, &reply, err);
	if (ret < 0)
		return ret;
	if (reply->type->type != SPLITVM__MSG_TYPE__MSG_CTL_REPLY) {
		ipc_msg_free(reply);
		return -IPC_ERR_INVALID;
	}
	snprintf(out, outsz, "%s", ((Splitvm__CtlReply *)reply->body)->text);
	ipc_msg_free(reply);
	return 0;
}

/* A call that must succeed with @want. */
static void call(struct ipc_chan *req, const char *verb, const char *want)
{
	struct ipc_err err;
	char got[64];
	int ret = __call(req, verb, NULL, got, sizeof(got), &err);

	CHECK(ret == 0, "%s: %s", verb, ipc_errcode_name(-ret));
	CHECK(!strcmp(got, want), "%s: got '%s', want '%s'", verb, got, want);
}

int main(int argc, char **argv)
{
	static const struct ipc_chan_opts opts = { .planes = PROTO_PLANE_CONTROL };
	struct ipc_chan *req;
	struct ipc_err err;
	char dir[64], got[64];
	pid_t pid;
	int ret;

	CHECK(argc == 2, "usage: ipc_reqrep PATH_TO_IPC_PEER");
	log_init("test/ipc_reqrep");
	ipc_rundir_make(dir, sizeof(dir));
	pid = ipc_peer_spawn(argv[1], dir, "ctl.sock");
	CHECK(pid > 0, "peer did not start");
	CHECK(ipc_chan_connect(&req, IPC_ROLE_REQ, dir, "ctl.sock", &opts, &err) == 0, "%s",
	      err.text);

	call(req, "info", "info");
	ret = __call(req, "fail", "dimm3", got, sizeof(got), &err);
	CHECK(ret == -IPC_ERR_PEER, "fail: got %s", ipc_errcode_name(-ret));
	CHECK(err.peer_code == SPLITVM__ERROR_CODE__ERR_NOT_FOUND, "peer code %d", err.peer_code);
	CHECK(!strcmp(err.field, "id"), "field '%s'", err.field);
	CHECK(!strcmp(err.text, "no device 'dimm3'"), "text '%s'", err.text);
	for (int i = 0; i < 1000; i++)
		call(req, "ping", "ping");
	call(req, "count", "1003");
	call(req, "quit", "bye");
	CHECK(ipc_peer_reap(pid, 0), "first peer");

	/* A successor binds the same path; the same REQ socket reaches it. */
	pid = ipc_peer_spawn(argv[1], dir, "ctl.sock");
	CHECK(pid > 0, "second peer did not start");
	call(req, "count", "1");
	call(req, "quit", "bye");
	CHECK(ipc_peer_reap(pid, 0), "second peer");

	ipc_chan_destroy(req);
	ipc_rundir_remove(dir);
	printf("ipc_reqrep: ok\n");
	return 0;
}
