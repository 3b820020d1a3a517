/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_ipc [-n ROUND_TRIPS]: round-trip latency between two processes of a
 * small request through ipc/ (REQ/REP, typed protobuf messages in the
 * envelope), beside the baselines of the same run: a raw AF_UNIX
 * SOCK_SEQPACKET ping-pong and an eventfd ping-pong.  Two more rows split
 * ipc's cost: the nanomsg API's REQ/REP with raw bytes (the library alone),
 * and ipc over PAIR (no REQ/REP state machine).
 *
 * Prints one table on stdout: transport, p50 and p99 in microseconds, and the
 * ratio of each p50 to the raw socket's.  Not a test: no pass/fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef SPLITVM_SP_NNG
#include <nng/compat/nanomsg/nn.h>
#include <nng/compat/nanomsg/reqrep.h>
#define SP_LIB "NNG compat"
#else
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#define SP_LIB "libnanomsg"
#endif

#include "ipc.h"
#include "log.h"

#define WARMUP  1000
#define MSG_LEN 64

static unsigned rounds = 20000;
static char rounds_arg[16] = "20000";
static char rundir[64];

struct result {
	const char *name;
	double p50_us, p99_us;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void summarize(struct result *r, const char *name, uint64_t *ns)
{
	qsort(ns, rounds, sizeof(*ns), cmp_u64);
	r->name = name;
	r->p50_us = (double)ns[rounds / 2] / 1000.0;
	r->p99_us = (double)ns[(size_t)rounds * 99 / 100] / 1000.0;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_ipc: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void reap(pid_t pid, const char *what)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "bench_ipc: %s: the child failed\n", what);
		exit(1);
	}
}

/* ---- raw AF_UNIX SOCK_SEQPACKET --------------------------------------- */

static void bench_seqpacket(struct result *r, uint64_t *ns)
{
	char buf[MSG_LEN] = { 1 };
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(sv[0]);
		for (unsigned i = 0; i < WARMUP + rounds; i++) {
			if (read(sv[1], buf, sizeof(buf)) != sizeof(buf) ||
			    write(sv[1], buf, sizeof(buf)) != sizeof(buf))
				_exit(1);
		}
		_exit(0);
	}
	close(sv[1]);
	for (unsigned i = 0; i < WARMUP + rounds; i++) {
		uint64_t t0 = now_ns();

		if (write(sv[0], buf, sizeof(buf)) != sizeof(buf) ||
		    read(sv[0], buf, sizeof(buf)) != sizeof(buf))
			die("seqpacket ping-pong");
		if (i >= WARMUP)
			ns[i - WARMUP] = now_ns() - t0;
	}
	close(sv[0]);
	reap(pid, "seqpacket");
	summarize(r, "AF_UNIX SOCK_SEQPACKET, 64 B (raw)", ns);
}

/* ---- eventfd ----------------------------------------------------------- */

static void bench_eventfd(struct result *r, uint64_t *ns)
{
	int ping = eventfd(0, EFD_CLOEXEC), pong = eventfd(0, EFD_CLOEXEC);
	uint64_t v = 1;
	pid_t pid;

	if (ping < 0 || pong < 0)
		die("eventfd");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		for (unsigned i = 0; i < WARMUP + rounds; i++) {
			if (read(ping, &v, sizeof(v)) != sizeof(v) ||
			    write(pong, &v, sizeof(v)) != sizeof(v))
				_exit(1);
		}
		_exit(0);
	}
	for (unsigned i = 0; i < WARMUP + rounds; i++) {
		uint64_t t0 = now_ns();

		if (write(ping, &v, sizeof(v)) != sizeof(v) ||
		    read(pong, &v, sizeof(v)) != sizeof(v))
			die("eventfd ping-pong");
		if (i >= WARMUP)
			ns[i - WARMUP] = now_ns() - t0;
	}
	close(ping);
	close(pong);
	reap(pid, "eventfd");
	summarize(r, "eventfd pair", ns);
}

/* ---- the nanomsg API alone: REQ/REP with raw bytes --------------------- */

static int nn_open(int proto, const char *name, bool bind)
{
	char url[128];
	int s = nn_socket(AF_SP, proto);
	int tmo = 10000;

	if (s < 0)
		die("nn_socket");
	snprintf(url, sizeof(url), "ipc://%s/%s", rundir, name);
	nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVTIMEO, &tmo, sizeof(tmo));
	nn_setsockopt(s, NN_SOL_SOCKET, NN_SNDTIMEO, &tmo, sizeof(tmo));
	if ((bind ? nn_bind(s, url) : nn_connect(s, url)) < 0)
		die(bind ? "nn_bind" : "nn_connect");
	return s;
}

/*
 * The NNG rows' servers are fork + exec'ed copies of this program: NNG's
 * threads do not survive fork, and this process has started them by then.
 * The server writes one byte to its ready pipe (fd number on argv) once bound.
 */
static pid_t fork_server(const char *kind)
{
	char fdarg[16];
	int p[2];
	char c;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe2");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (fcntl(p[1], F_SETFD, 0) < 0)
			_exit(126);
		snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
		execl("/proc/self/exe", "bench_ipc", "--serve", kind, rundir, fdarg, rounds_arg,
		      (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1) {
		fprintf(stderr, "bench_ipc: %s server did not start\n", kind);
		exit(1);
	}
	close(p[0]);
	return pid;
}

static void serve_nn(int ready)
{
	int s = nn_open(NN_REP, "nn.sock", true);
	char buf[MSG_LEN];

	if (write(ready, "r", 1) != 1)
		_exit(1);
	for (unsigned i = 0; i < WARMUP + rounds; i++) {
		if (nn_recv(s, buf, sizeof(buf), 0) != sizeof(buf) ||
		    nn_send(s, buf, sizeof(buf), 0) != sizeof(buf))
			_exit(1);
	}
	usleep(100 * 1000); /* let the last reply leave before nn_close */
	nn_close(s);
}

static void bench_nn(struct result *r, uint64_t *ns)
{
	pid_t pid = fork_server("nn");
	int s = nn_open(NN_REQ, "nn.sock", false);
	char buf[MSG_LEN] = { 1 };

	for (unsigned i = 0; i < WARMUP + rounds; i++) {
		uint64_t t0 = now_ns();

		if (nn_send(s, buf, sizeof(buf), 0) != sizeof(buf) ||
		    nn_recv(s, buf, sizeof(buf), 0) != sizeof(buf))
			die("nanomsg REQ/REP");
		if (i >= WARMUP)
			ns[i - WARMUP] = now_ns() - t0;
	}
	nn_close(s);
	reap(pid, "nanomsg");
	summarize(r, "nn_send/nn_recv REQ/REP, 64 B (" SP_LIB ")", ns);
}

/* ---- ipc/: typed messages ---------------------------------------------- */

static const struct ipc_chan_opts devctl = { .planes = PROTO_PLANE_DEVCTL };

static void serve_ipc(struct ipc_chan *c, int ready)
{
	if (write(ready, "r", 1) != 1)
		_exit(1);
	for (unsigned i = 0; i < WARMUP + rounds; i++) {
		Splitvm__DevicePropValue val = SPLITVM__DEVICE_PROP_VALUE__INIT;
		struct ipc_msg *req;
		struct ipc_err err;

		if (ipc_serve_recv(c, 10000, &req, &err) < 0) {
			fprintf(stderr, "bench_ipc: serve: %s\n", err.text);
			_exit(1);
		}
		val.name = ((Splitvm__DevicePropGet *)req->body)->name;
		val.value = (char *)"1073741824";
		if (ipc_reply(c, req, &val.base, &err) < 0) {
			fprintf(stderr, "bench_ipc: reply: %s\n", err.text);
			_exit(1);
		}
		ipc_msg_free(req);
	}
	usleep(100 * 1000);
	ipc_chan_destroy(c);
}

static void serve_ipc_rep(int ready)
{
	struct ipc_chan *c;

	if (ipc_chan_bind(&c, IPC_ROLE_REP, rundir, "rep.sock", &devctl, NULL) < 0)
		_exit(1);
	serve_ipc(c, ready);
}

static void serve_ipc_pair(int ready)
{
	struct ipc_chan *c;

	if (ipc_chan_bind(&c, IPC_ROLE_PAIR, rundir, "pair.sock", &devctl, NULL) < 0)
		_exit(1);
	serve_ipc(c, ready);
}

static void bench_ipc_call(struct result *r, uint64_t *ns)
{
	pid_t pid = fork_server("rep");
	Splitvm__DevicePropGet get = SPLITVM__DEVICE_PROP_GET__INIT;
	struct ipc_hdr hdr = { .device = "vm0", .epoch = 1 };
	struct ipc_chan *c;
	struct ipc_err err;

	if (ipc_chan_connect(&c, IPC_ROLE_REQ, rundir, "rep.sock", &devctl, &err) < 0) {
		fprintf(stderr, "bench_ipc: %s\n", err.text);
		exit(1);
	}
	get.name = (char *)"requested-size";
	for (unsigned i = 0; i < WARMUP + rounds; i++) {
		struct ipc_msg *reply;
		uint64_t t0 = now_ns();

		hdr.seq = i;
		if (ipc_call(c, &hdr, &get.base, 10000, &reply, &err) < 0) {
			fprintf(stderr, "bench_ipc: call: %s\n", err.text);
			exit(1);
		}
		ipc_msg_free(reply);
		if (i >= WARMUP)
			ns[i - WARMUP] = now_ns() - t0;
	}
	ipc_chan_destroy(c);
	reap(pid, "ipc REQ/REP");
	summarize(r, "ipc_call REQ/REP, typed (target)", ns);
}

static void bench_ipc_pair(struct result *r, uint64_t *ns)
{
	pid_t pid = fork_server("pair");
	Splitvm__DevicePropGet get = SPLITVM__DEVICE_PROP_GET__INIT;
	struct ipc_hdr hdr = { .device = "vm0", .epoch = 1 };
	struct ipc_chan *c;
	struct ipc_err err;

	if (ipc_chan_connect(&c, IPC_ROLE_PAIR, rundir, "pair.sock", &devctl, &err) < 0) {
		fprintf(stderr, "bench_ipc: %s\n", err.text);
		exit(1);
	}
	get.name = (char *)"requested-size";
	for (unsigned i = 0; i < WARMUP + rounds; i++) {
		struct ipc_msg *reply;
		uint64_t t0 = now_ns();

		hdr.seq = hdr.correlation_id = i;
		if (ipc_send(c, &hdr, &get.base, &err) < 0 ||
		    ipc_recv(c, 10000, &reply, &err) < 0) {
			fprintf(stderr, "bench_ipc: pair: %s\n", err.text);
			exit(1);
		}
		ipc_msg_free(reply);
		if (i >= WARMUP)
			ns[i - WARMUP] = now_ns() - t0;
	}
	ipc_chan_destroy(c);
	reap(pid, "ipc PAIR");
	summarize(r, "ipc_send/ipc_recv PAIR, typed", ns);
}

int main(int argc, char **argv)
{
	struct result res[5];
	uint64_t *ns;
	char cmd[96];
	int opt;

	log_init("bench/ipc");
	if (argc == 6 && !strcmp(argv[1], "--serve")) {
		/* bench_ipc --serve KIND RUNDIR READY_FD ROUNDS: a server (above). */
		int ready = atoi(argv[4]);

		snprintf(rundir, sizeof(rundir), "%s", argv[3]);
		rounds = (unsigned)strtoul(argv[5], NULL, 10);
		if (!strcmp(argv[2], "nn"))
			serve_nn(ready);
		else if (!strcmp(argv[2], "rep"))
			serve_ipc_rep(ready);
		else if (!strcmp(argv[2], "pair"))
			serve_ipc_pair(ready);
		else
			return 2;
		return 0;
	}
	while ((opt = getopt(argc, argv, "n:")) != -1) {
		char *end;
		unsigned long v;

		if (opt != 'n')
			goto usage;
		errno = 0;
		v = strtoul(optarg, &end, 10);
		if (errno || *end || v < 100 || v > 10000000)
			goto usage;
		rounds = (unsigned)v;
		snprintf(rounds_arg, sizeof(rounds_arg), "%u", rounds);
	}
	ns = calloc(rounds, sizeof(*ns));
	if (!ns)
		die("calloc");
	snprintf(rundir, sizeof(rundir), "/tmp/splitvm-bench-XXXXXX");
	if (!mkdtemp(rundir))
		die("mkdtemp");

	bench_seqpacket(&res[0], ns);
	bench_eventfd(&res[1], ns);
	bench_nn(&res[2], ns);
	bench_ipc_pair(&res[3], ns);
	bench_ipc_call(&res[4], ns);

	printf("round trips between two processes: %u each, after %u warm-up; %ld CPUs online\n",
	       rounds, WARMUP, sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-44s %9s %9s %9s\n", "transport", "p50 us", "p99 us", "p50/raw");
	for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++)
		printf("%-44s %9.2f %9.2f %9.2f\n", res[i].name, res[i].p50_us, res[i].p99_us,
		       res[i].p50_us / res[0].p50_us);
	free(ns);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rundir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_ipc: could not remove %s\n", rundir);
	return 0;

usage:
	fprintf(stderr, "usage: bench_ipc [-n ROUND_TRIPS (100..10000000)]\n");
	return 2;
}
