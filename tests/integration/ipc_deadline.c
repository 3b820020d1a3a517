/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Deadlines when the peer is gone: a call to a path where no server ever
 * ran, a call after the server was killed, and a call that the server took
 * and then died without answering while a successor came up.  The first two
 * return TIMEOUT at their deadline instead of blocking; the third returns
 * CLOSED as soon as the connection drops (NNG) or TIMEOUT; and REQ never
 * resends a request behind our back.
 *
 * Usage: ipc_deadline PATH_TO_IPC_PEER
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fd.h"
#include "ipc.h"
#include "ipc_check.h"
#include "ipc_spawn.h"
#include "log.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Call @verb with @deadline_ms; return its result and the time it took. */
static int __call(struct ipc_chan *req, const char *verb, int deadline_ms, uint64_t *took,
                  struct ipc_err *err)
{
	Splitvm__CtlRequest cr = SPLITVM__CTL_REQUEST__INIT;
	struct ipc_msg *reply = NULL;
	uint64_t t0 = now_ms();
	int ret;

	cr.verb = (char *)verb;
	ret = ipc_call(req, NULL, &cr.base, deadline_ms, &reply, err);
	*took = now_ms() - t0;
	ipc_msg_free(reply);
	return ret;
}

/* The call must fail with TIMEOUT, no sooner than its deadline. */
static void call_times_out(struct ipc_chan *req, const char *verb, int deadline_ms,
                           const char *what)
{
	struct ipc_err err;
	uint64_t took;
	int ret = __call(req, verb, deadline_ms, &took, &err);

	CHECK(ret == -IPC_ERR_TIMEOUT, "%s: got %s (%s)", what, ipc_errcode_name(-ret),
	      ret ? err.text : "a reply");
	CHECK(took + 1 >= (uint64_t)deadline_ms, "%s: gave up after %llu ms, before %d ms", what,
	      (unsigned long long)took, deadline_ms);
	/* Generous: this only proves that the wait is bounded. */
	CHECK(took < (uint64_t)deadline_ms + 2000, "%s: took %llu ms for a %d ms deadline", what,
	      (unsigned long long)took, deadline_ms);
	printf("%s: TIMEOUT after %llu ms (deadline %d ms): %s\n", what, (unsigned long long)took,
	       deadline_ms, err.text);
}

/*
 * Reap the peer that hangs up, then start its successor at once.  The
 * thread lives until main closes @hold: a child's parent-death signal fires
 * when the thread that forked it ends.
 */
struct respawn {
	pid_t dead;
	const char *peer, *dir;
	bool ok;
	pid_t pid;
	int hold[2];
};

static void *respawn(void *arg)
{
	struct respawn *r = arg;
	char c;

	r->ok = ipc_peer_reap(r->dead, 0);
	__atomic_store_n(&r->pid, ipc_peer_spawn(r->peer, r->dir, "ctl.sock"), __ATOMIC_RELEASE);
	(void)!read(r->hold[0], &c, 1);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct ipc_chan_opts opts = { .planes = PROTO_PLANE_CONTROL };
	struct respawn succ = { 0 };
	struct ipc_chan *req;
	pthread_t th;
	struct ipc_err err;
	char dir[64];
	uint64_t took;
	pid_t pid;
	int status, ret;

#ifndef SPLITVM_SP_NNG
	printf("expected to fail in the nanomsg build: libnanomsg 1.1.5's REQ resends a pending "
	       "request to the peer that reconnects, whatever NN_REQ_RESEND_IVL says, so a "
	       "request can be carried out twice (docs/dependencies.md)\n");
#endif

	CHECK(argc == 2, "usage: ipc_deadline PATH_TO_IPC_PEER");
	log_init("test/ipc_deadline");
	ipc_rundir_make(dir, sizeof(dir));

	/* 1. Nobody ever listened on the path. */
	CHECK(ipc_chan_connect(&req, IPC_ROLE_REQ, dir, "none.sock", &opts, &err) == 0, "%s",
	      err.text);
	call_times_out(req, "info", 200, "no server");
	ipc_chan_destroy(req);

	/* 2. The server answered once, then was killed. */
	pid = ipc_peer_spawn(argv[1], dir, "ctl.sock");
	CHECK(pid > 0, "peer did not start");
	CHECK(ipc_chan_connect(&req, IPC_ROLE_REQ, dir, "ctl.sock", &opts, &err) == 0, "%s",
	      err.text);
	ret = __call(req, "info", 5000, &took, &err);
	CHECK(ret == 0, "first call: %s", ipc_errcode_name(-ret));
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	/*
	 * NNG notices the dead connection on its own thread: a call racing
	 * with that may go out on the dying connection and come back CLOSED.
	 * Once it has noticed, a call waits for a peer until its deadline.
	 */
	ret = __call(req, "info", 300, &took, &err);
	if (ret == -IPC_ERR_CLOSED)
		printf("server killed: the first call raced with the hang-up: %s\n", err.text);
	else
		CHECK(ret == -IPC_ERR_TIMEOUT, "server killed: got %s", ipc_errcode_name(-ret));
	call_times_out(req, "info", 300, "server killed");

	/*
	 * 3. The server took the request and died without answering, and a
	 * successor came up on the same path while the call still waited.
	 * With REQ's resend on, the library would hand "hang" to the successor
	 * too; off, the call ends at its deadline and the successor serves
	 * only what we send it next.
	 */
	pid = ipc_peer_spawn(argv[1], dir, "ctl.sock");
	CHECK(pid > 0, "peer did not start");
	ret = __call(req, "info", 5000, &took, &err);
	CHECK(ret == 0, "call to the successor: %s (%s)", ipc_errcode_name(-ret), err.text);
	succ.dead = pid;
	succ.peer = argv[1];
	succ.dir = dir;
	CHECK(pipe2(succ.hold, O_CLOEXEC) == 0, "pipe2");
	CHECK(pthread_create(&th, NULL, respawn, &succ) == 0, "pthread_create");
	ret = __call(req, "hang", 1500, &took, &err);
	/*
	 * NNG, with resend off, fails the waiting receive as soon as the
	 * connection that carried the request closes: CLOSED, well before the
	 * deadline.  A library that cannot tell must still stop at the deadline.
	 */
	CHECK(ret == -IPC_ERR_CLOSED || ret == -IPC_ERR_TIMEOUT,
	      "server died mid-request: got %s (%s)", ipc_errcode_name(-ret),
	      ret ? err.text : "a reply");
	CHECK(took < 1500 + 2000, "server died mid-request: took %llu ms",
	      (unsigned long long)took);
	printf("server died mid-request: %s after %llu ms (deadline 1500 ms): %s\n",
	       ipc_errcode_name(-ret), (unsigned long long)took, err.text);
	/* Wait until the successor is up (or failed to come up). */
	while (!__atomic_load_n(&succ.pid, __ATOMIC_ACQUIRE))
		usleep(1000);
	CHECK(succ.ok, "the hanging peer did not exit 0");
	CHECK(succ.pid > 0, "the successor did not start");
	{
		Splitvm__CtlRequest cr = SPLITVM__CTL_REQUEST__INIT;
		struct ipc_msg *reply;

		cr.verb = (char *)"count";
		ret = ipc_call(req, NULL, &cr.base, 5000, &reply, &err);
		CHECK(ret == 0, "count: %s (%s): was \"hang\" resent to the successor?",
		      ipc_errcode_name(-ret), err.text);
		CHECK(!strcmp(((Splitvm__CtlReply *)reply->body)->text, "1"),
		      "the successor served %s requests: a request was resent",
		      ((Splitvm__CtlReply *)reply->body)->text);
		ipc_msg_free(reply);
		cr.verb = (char *)"quit";
		ret = ipc_call(req, NULL, &cr.base, 5000, &reply, &err);
		CHECK(ret == 0, "quit: %s", ipc_errcode_name(-ret));
		ipc_msg_free(reply);
	}
	CHECK(ipc_peer_reap(succ.pid, 0), "successor");
	close_fd(&succ.hold[1]);
	CHECK(pthread_join(th, NULL) == 0, "pthread_join");
	close_fd(&succ.hold[0]);
	ipc_chan_destroy(req);
	ipc_rundir_remove(dir);
	printf("ipc_deadline: ok\n");
	return 0;
}
