/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cost of the process split, seen by a user:
 *
 *  - control latency: `qom-get vm0 size` and `info memory-devices` as
 *    CtlRequests on the supervisor's ctl socket (ctl -> splitvm -> the
 *    virtio-mem device process's devctl socket and back), p50 and p99,
 *    beside a raw AF_UNIX SOCK_SEQPACKET round trip of the same run (the
 *    foundation benchmark's baseline) and beside the whole splitvm-ctl
 *    command (fork + exec + connect + ask);
 *    The test guest's virtio-mem driver waits for a config change halted
 *    (tests/guest/idle.c: a LAPIC timer tick of about 1 ms, then one look
 *    at the interrupt status); when it spun instead, its vCPU thread took
 *    a whole CPU and made the tail on a small host.  Each verb is
 *    measured twice: with the guest running (idle, halting), and after
 *    `stop` (vCPUs out of KVM_RUN), then `cont`;
 *  - boot: `splitvm run` (memsrv, core, the supervisor's start-up) to the
 *    guest's first serial line and to its exit, beside splitvm-core alone
 *    booting the same guest with the same memory, median of RUNS.
 *
 * Prints one table and the ratios on stdout.  Not a test: no pass/fail.
 *
 * usage: bench_ctl SPLITVM SPLITVM_CTL SPLITVM_CORE GUEST_ELF XML [ROUNDS [RUNS]]
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"

static unsigned rounds = 5000, runs = 10;

struct row {
	const char *name;
	double p50_us, p99_us;
};

static struct row rows[8];
static unsigned nrows;

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

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench_ctl: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static struct row *summarize(const char *name, uint64_t *ns, unsigned n)
{
	struct row *r = &rows[nrows++];

	qsort(ns, n, sizeof(*ns), cmp_u64);
	r->name = name;
	r->p50_us = (double)ns[n / 2] / 1000.0;
	r->p99_us = (double)ns[(size_t)n * 99 / 100] / 1000.0;
	return r;
}

/* ---- raw AF_UNIX ---------------------------------------------------------- */

static void bench_raw(void)
{
	uint64_t *ns = calloc(rounds, sizeof(*ns));
	char buf[64] = { 0 };
	int sv[2], status;
	pid_t pid;

	if (!ns || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		ssize_t n;

		close(sv[0]);
		while ((n = read(sv[1], buf, sizeof(buf))) > 0)
			if (write(sv[1], buf, (size_t)n) != n)
				_exit(1);
		_exit(0);
	}
	close(sv[1]);
	for (unsigned i = 0; i < rounds; i++) {
		uint64_t t = now_ns();

		if (write(sv[0], buf, sizeof(buf)) != sizeof(buf) ||
		    read(sv[0], buf, sizeof(buf)) != sizeof(buf))
			die("raw round trip: %s", strerror(errno));
		ns[i] = now_ns() - t;
	}
	close(sv[0]);
	waitpid(pid, &status, 0);
	summarize("AF_UNIX SOCK_SEQPACKET 64 B (raw)", ns, rounds);
	free(ns);
}

/* ---- boot --------------------------------------------------------------- */

/*
 * Run @argv with stdout on a pipe: ns from the fork to the first line that
 * starts with "splitvm-guest:" and to the exit.
 */
static void boot_once(char *const *argv, uint64_t *first, uint64_t *exit_ns)
{
	char buf[4096];
	size_t have = 0;
	int p[2], status;
	uint64_t t0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	t0 = now_ns();
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(p[1], STDOUT_FILENO);
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	*first = 0;
	for (;;) {
		ssize_t n = read(p[0], buf + have, sizeof(buf) - 1 - have);

		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = 0;
		if (!*first && strstr(buf, "splitvm-guest:"))
			*first = now_ns() - t0;
		if (have > sizeof(buf) / 2)
			have = 0;
	}
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		die("%s exited with status 0x%x", argv[0], status);
	*exit_ns = now_ns() - t0;
	if (!*first)
		die("%s: the guest printed nothing", argv[0]);
}

static double median_ms(uint64_t *ns, unsigned n)
{
	qsort(ns, n, sizeof(*ns), cmp_u64);
	return (double)ns[n / 2] / 1e6;
}

struct boot {
	const char *name;
	double first_ms, exit_ms;
};

static void bench_boot(struct boot *b, const char *name, char *const *argv)
{
	uint64_t *first = calloc(runs, sizeof(*first)), *ex = calloc(runs, sizeof(*ex));

	if (!first || !ex)
		die("out of memory");
	for (unsigned i = 0; i < runs; i++)
		boot_once(argv, &first[i], &ex[i]);
	b->name = name;
	b->first_ms = median_ms(first, runs);
	b->exit_ms = median_ms(ex, runs);
	free(first);
	free(ex);
}

/* ---- ctl ---------------------------------------------------------------- */

static void run_wait(char *const *argv, bool quiet)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			if (quiet)
				dup2(null, STDERR_FILENO);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		die("%s %s exited with status 0x%x", argv[0], argv[1], status);
}

/* One verb without arguments (stop, cont), which must succeed. */
static void ctl_verb(struct ipc_chan *c, const char *verb)
{
	Splitvm__CtlRequest req = SPLITVM__CTL_REQUEST__INIT;
	struct ipc_msg *rep = NULL;
	struct ipc_err err;

	req.verb = (char *)verb;
	if (ipc_call(c, NULL, &req.base, 5000, &rep, &err))
		die("%s: %s", verb, err.text);
	ipc_msg_free(rep);
}

static void bench_ctl_call(struct ipc_chan *c, const char *name, const char *verb, char **args,
                           size_t nargs)
{
	Splitvm__CtlRequest req = SPLITVM__CTL_REQUEST__INIT;
	uint64_t *ns = calloc(rounds, sizeof(*ns));
	struct ipc_err err;

	if (!ns)
		die("out of memory");
	req.verb = (char *)verb;
	req.args = args;
	req.n_args = nargs;
	for (unsigned i = 0; i < rounds + rounds / 10; i++) {
		struct ipc_msg *rep = NULL;
		uint64_t t = now_ns();

		if (ipc_call(c, NULL, &req.base, 5000, &rep, &err))
			die("%s: %s", verb, err.text);
		/* The first tenth warms caches and connections up. */
		if (i >= rounds / 10)
			ns[i - rounds / 10] = now_ns() - t;
		if (rep->type->type != SPLITVM__MSG_TYPE__MSG_CTL_REPLY)
			die("%s: answered %s", verb, rep->type->name);
		ipc_msg_free(rep);
	}
	summarize(name, ns, rounds);
	free(ns);
}

int main(int argc, char **argv)
{
	const char *sup, *ctl, *core, *guest, *xml;
	char tmp[] = "/tmp/bench-ctl.XXXXXX", path[700], cmd[4096], name[64], rundir[600];
	struct boot boots[2];
	struct ipc_chan *c = NULL;
	struct ipc_chan_opts o = { .planes = PROTO_PLANE_CONTROL,
		                   .send_timeout_ms = 5000,
		                   .recv_timeout_ms = 5000 };
	struct ipc_err err;
	uint64_t *ns;
	unsigned exec_rounds;

	if (argc < 6) {
		fprintf(stderr, "usage: bench_ctl SPLITVM SPLITVM_CTL SPLITVM_CORE GUEST_ELF XML "
		                "[ROUNDS [RUNS]]\n");
		return 2;
	}
	sup = argv[1];
	ctl = argv[2];
	core = argv[3];
	guest = argv[4];
	xml = argv[5];
	if (argc > 6)
		rounds = (unsigned)strtoul(argv[6], NULL, 10);
	if (argc > 7)
		runs = (unsigned)strtoul(argv[7], NULL, 10);
	if (rounds < 100 || runs < 1)
		die("ROUNDS >= 100, RUNS >= 1");
	if (access("/dev/kvm", R_OK | W_OK)) {
		printf("SKIP: /dev/kvm is not usable\n");
		return 77;
	}
	if (!mkdtemp(tmp))
		die("mkdtemp: %s", strerror(errno));

	/* Before any NNG thread exists: fork without exec stays safe. */
	bench_raw();

	{
		char *core_argv[] = { (char *)core,
			              (char *)"-m",
			              (char *)"512M",
			              (char *)"-smp",
			              (char *)"1",
			              (char *)"-kernel",
			              (char *)guest,
			              (char *)"-append",
			              (char *)"scenario=pvh-boot",
			              NULL };
		char *sup_argv[] = { (char *)sup,
			             (char *)"run",
			             (char *)"-name",
			             name,
			             (char *)"-m",
			             (char *)"512M",
			             (char *)"-smp",
			             (char *)"1",
			             (char *)"-kernel",
			             (char *)guest,
			             (char *)"-append",
			             (char *)"scenario=pvh-boot",
			             (char *)"-serial",
			             (char *)"stdio",
			             NULL };

		snprintf(name, sizeof(name), "benchboot%d", (int)getpid());
		bench_boot(&boots[0], "splitvm-core alone", core_argv);
		bench_boot(&boots[1], "splitvm run (memsrv + core)", sup_argv);
	}

	/* The bundled config, daemonized, with its virtio-mem device. */
	snprintf(name, sizeof(name), "benchctl%d", (int)getpid());
	snprintf(path, sizeof(path), "%s/pmem.img", tmp);
	snprintf(cmd, sizeof(cmd),
	         "truncate -s 64M %s && sed -e 's|@GUEST@|%s|' -e "
	         "'s|<name>vm1</name>|<name>%s</name>|' "
	         "-e 's|/var/tmp/splitvm-vm1-console.log|%s/console.log|' "
	         "-e 's|/var/tmp/splitvm-vm1-pmem.img|%s|' %s > %s/vm.xml",
	         path, guest, name, tmp, path, xml, tmp);
	if (system(cmd))
		die("cannot write the launch config");
	snprintf(path, sizeof(path), "%s/vm.xml", tmp);
	{
		char *run_argv[] = { (char *)sup, (char *)"run", (char *)"--daemonize", path,
			             NULL };

		run_wait(run_argv, true);
	}
	if (geteuid() == 0)
		snprintf(rundir, sizeof(rundir), "/run/splitvm/%s", name);
	else
		snprintf(rundir, sizeof(rundir), "%s/splitvm/%s", getenv("XDG_RUNTIME_DIR"), name);
	/* Let the guest's driver plug its 128 MiB first. */
	usleep(500000);
	if (ipc_chan_connect(&c, IPC_ROLE_REQ, rundir, "ctl", &o, &err))
		die("ctl: %s", err.text);
	{
		char *qargs[] = { (char *)"vm0", (char *)"size" };
		char *iargs[] = { (char *)"memory-devices" };

		bench_ctl_call(c, "qom-get vm0 size (guest idle)", "qom-get", qargs, 2);
		bench_ctl_call(c, "info memory-devices (guest idle)", "info", iargs, 1);
		ctl_verb(c, "stop");
		bench_ctl_call(c, "qom-get vm0 size (vCPUs stopped)", "qom-get", qargs, 2);
		bench_ctl_call(c, "info memory-devices (vCPUs stopped)", "info", iargs, 1);
		ctl_verb(c, "cont");
	}
	/* The whole command, as a user types it: fewer rounds, it forks. */
	exec_rounds = rounds / 20 < 100 ? 100 : rounds / 20;
	ns = calloc(exec_rounds, sizeof(*ns));
	if (!ns)
		die("out of memory");
	snprintf(path, sizeof(path), "%s/ctl", rundir);
	for (unsigned i = 0; i < exec_rounds; i++) {
		char *a[] = { (char *)ctl,   (char *)"--socket", path, (char *)"qom-get",
			      (char *)"vm0", (char *)"size",     NULL };
		uint64_t t = now_ns();

		run_wait(a, false);
		ns[i] = now_ns() - t;
	}
	summarize("splitvm-ctl qom-get vm0 size (exec)", ns, exec_rounds);
	free(ns);
	{
		char *a[] = { (char *)ctl, (char *)"--socket", path, (char *)"quit", NULL };

		run_wait(a, false);
	}
	ipc_chan_destroy(c);
	for (int i = 0; i < 100 && !access(rundir, F_OK); i++)
		usleep(50000);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd))
		fprintf(stderr, "bench_ctl: %s left behind\n", tmp);

	printf("%-42s %10s %10s %8s\n", "control round trip", "p50 us", "p99 us", "p50/raw");
	for (unsigned i = 0; i < nrows; i++)
		printf("%-42s %10.1f %10.1f %8.1f\n", rows[i].name, rows[i].p50_us, rows[i].p99_us,
		       rows[i].p50_us / rows[0].p50_us);
	printf("\n%-42s %12s %12s\n", "boot, median of runs", "first line ms", "exit ms");
	for (unsigned i = 0; i < 2; i++)
		printf("%-42s %12.1f %12.1f\n", boots[i].name, boots[i].first_ms, boots[i].exit_ms);
	printf("split overhead: %+.1f%% to the first line, %+.1f%% to the exit (%u runs)\n",
	       100.0 * (boots[1].first_ms / boots[0].first_ms - 1),
	       100.0 * (boots[1].exit_ms / boots[0].exit_ms - 1), runs);
	return 0;
}
