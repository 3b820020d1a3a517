/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The integration tests' supervisor: starts the real splitvm-core with one
 * virtio-mem device, maps base RAM and the device's sparse backend region
 * over the machine plane, runs the real splitvm-devproc sandboxed (and its
 * successors), and watches the guest's console.  Shared by
 * test_vmem_resize.c and test_vmem_replay.c (and the virtio-mem bench).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

extern char **environ;

static struct vm *current;
static struct core *current_core;

void vm_watch(struct vm *v)
{
	current = v;
}

void slurp(struct vm *v)
{
	ssize_t n;

	while (v->core_log_len < sizeof(v->core_log) - 1 &&
	       (n = read(v->core_log_fd, v->core_log + v->core_log_len,
	                 sizeof(v->core_log) - 1 - v->core_log_len)) > 0)
		v->core_log_len += (size_t)n;
	v->core_log[v->core_log_len] = '\0';
}

static void tail_file(const char *what, const char *path)
{
	char cmd[256];

	fprintf(stderr, "--- %s (%s), last lines ---\n", what, path);
	fflush(stderr);
	snprintf(cmd, sizeof(cmd), "tail -n 25 '%s' >&2", path);
	if (system(cmd) != 0)
		fprintf(stderr, "(none)\n");
}

void dump_logs(void)
{
	struct vm *v = current;
	const char *p;

	if (current_core) {
		fprintf(stderr, "--- splitvm-core's log ---\n%s\n", core_log(current_core));
		if (current_core->console[0])
			fprintf(stderr, "--- the guest's console ---\n%s\n",
			        read_console(current_core));
	}
	if (!v)
		return;
	slurp(v);
	p = v->core_log_len > 6000 ? v->core_log + v->core_log_len - 6000 : v->core_log;
	fprintf(stderr, "--- splitvm-core's log (tail) ---\n%s\n", p);
	tail_file("console", v->console);
	tail_file("splitvm-devproc's log", v->devlog);
}

void test_setup(void)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("SKIP: /dev/kvm is not usable: %s\n", strerror(errno));
		exit(77);
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGPIPE, SIG_IGN);
}

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int memfd(const char *name, uint64_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);

	CHECK(fd >= 0, "memfd_create: %s", strerror(errno));
	CHECK(ftruncate(fd, (off_t)size) == 0, "ftruncate: %s", strerror(errno));
	return fd;
}

/* ---- processes ---------------------------------------------------------- */

/*
 * splitvm-core on the run dir @dir (--verbose when @verbose), its stderr
 * into *log_fd (non-blocking), its machine plane and fd channel connected.
 */
static void core_exec(const char *bin, const char *dir, bool verbose, pid_t *pid, int *log_fd,
                      struct ipc_chan **req, struct ipc_fdchan **fdch)
{
	static const struct ipc_chan_opts opts = {
		.planes = PROTO_PLANE_MACHINE,
		.recv_timeout_ms = DEADLINE_MS,
		.send_timeout_ms = DEADLINE_MS,
	};
	struct ipc_err err = { .code = IPC_OK };
	int sv[2], logp[2];
	pid_t parent = getpid();

	CHECK(pipe2(logp, O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0, "socketpair: %s",
	      strerror(errno));
	*pid = fork();
	CHECK(*pid >= 0, "fork: %s", strerror(errno));
	if (*pid == 0) {
		char fdnum[16];

		/* The core must not outlive a failed test. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(logp[1], STDERR_FILENO);
		/* Only the fd meant for the child loses CLOEXEC, just before exec. */
		fcntl(sv[1], F_SETFD, 0);
		snprintf(fdnum, sizeof(fdnum), "%d", sv[1]);
		execl(bin, bin, "--run-dir", dir, "--machine-chan", "machine", "--fd-chan-fd",
		      fdnum, verbose ? "--verbose" : (char *)NULL, (char *)NULL);
		_exit(127);
	}
	close(logp[1]);
	close(sv[1]);
	*log_fd = logp[0];
	fcntl(*log_fd, F_SETFL, O_NONBLOCK);
	CHECK(ipc_chan_connect(req, IPC_ROLE_REQ, dir, "machine", &opts, &err) == 0, "connect: %s",
	      err.text);
	CHECK(ipc_fdchan_wrap(fdch, sv[0], getuid(), &err) == 0, "wrap: %s", err.text);
}

void core_start(struct vm *v)
{
	core_exec(v->core_bin, v->dir, false, &v->core_pid, &v->core_log_fd, &v->req, &v->fdch);
	v->next_tag = 1;
}

/*
 * The device process's environment: ours, with LeakSanitizer off (its
 * exit-time check needs ptrace and a new thread, which the sandbox kills).
 * Made before fork(): this process has threads, the child may only exec.
 */
static char **devproc_env(void)
{
	const char *asan = getenv("ASAN_OPTIONS");
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	CHECK(env, "calloc");
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "ASAN_OPTIONS=", 13))
			env[k++] = environ[i];
	CHECK(asprintf(&env[k], "ASAN_OPTIONS=%s%sdetect_leaks=0", asan ? asan : "",
	               asan ? ":" : "") > 0,
	      "asprintf");
	return env;
}

static void devproc_env_free(char **env)
{
	size_t k = 0;

	while (env[k + 1])
		k++;
	free(env[k]); /* the ASAN_OPTIONS entry, always last */
	free(env);
}

void dev_spawn(struct vm *v, const char *model, const char *id, const char *config)
{
	static const struct ipc_chan_opts opts = {
		.planes = PROTO_PLANE_DEVCTL,
		.recv_timeout_ms = DEADLINE_MS,
		.send_timeout_ms = DEADLINE_MS,
	};
	struct ipc_err err = { .code = IPC_OK };
	pid_t parent = getpid();
	char **env = devproc_env();
	char model_arg[64], devctl[80];
	int logfd;

	snprintf(model_arg, sizeof(model_arg), "--model=%s", model);
	snprintf(devctl, sizeof(devctl), "devctl-%s", id);
	v->epoch++;
	logfd = open(v->devlog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	CHECK(logfd >= 0, "%s: %s", v->devlog, strerror(errno));
	v->dev_pid = fork();
	CHECK(v->dev_pid >= 0, "fork: %s", strerror(errno));
	if (v->dev_pid == 0) {
		char epoch[16], bfd[16], sfd[16];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(logfd, STDERR_FILENO);
		fcntl(v->backend_fd, F_SETFD, 0);
		fcntl(v->state_fd, F_SETFD, 0);
		snprintf(epoch, sizeof(epoch), "%u", v->epoch);
		snprintf(bfd, sizeof(bfd), "%d", v->backend_fd);
		snprintf(sfd, sizeof(sfd), "%d", v->state_fd);
		execle(v->devproc_bin, v->devproc_bin, model_arg, "--id", id, "--run-dir", v->dir,
		       "--epoch", epoch, "--backend-fd", bfd, "--state-fd", sfd, "--config", config,
		       "--sandbox=enforce", (char *)NULL, env);
		_exit(127);
	}
	devproc_env_free(env);
	close(logfd);
	ipc_chan_destroy(v->ctl);
	v->ctl = NULL;
	CHECK(ipc_chan_connect(&v->ctl, IPC_ROLE_REQ, v->dir, devctl, &opts, &err) == 0,
	      "devctl connect: %s", err.text);
}

void dev_start(struct vm *v, const char *requested)
{
	char config[160];

	snprintf(config, sizeof(config),
	         "virtio-mem,id=" DEV_ID ",memdev=" MEMDEV ",requested-size=%s,block-size=%" PRIu64,
	         requested, v->block_size);
	dev_spawn(v, "virtio-mem", DEV_ID, config);
}

/* kill -9 the reaper; its death must take the device process along. */
void dev_kill(struct vm *v)
{
	pid_t child = dev_child(v->dev_pid);
	int status = 0;

	CHECK(kill(v->dev_pid, SIGKILL) == 0, "kill: %s", strerror(errno));
	CHECK(waitpid(v->dev_pid, &status, 0) == v->dev_pid, "waitpid: %s", strerror(errno));
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	      "the device process ended with status 0x%x before the kill", status);
	v->dev_pid = 0;
	CHECK(dev_wait_gone(child), "device process %d outlived its reaper by 30 s", (int)child);
}

void vm_cleanup(struct vm *v)
{
	char cmd[128];

	if (v->dev_pid > 0) {
		kill(v->dev_pid, SIGKILL);
		waitpid(v->dev_pid, NULL, 0);
	}
	if (v->core_pid > 0) {
		kill(v->core_pid, SIGKILL);
		waitpid(v->core_pid, NULL, 0);
	}
	ipc_chan_destroy(v->ctl);
	ipc_chan_destroy(v->req);
	ipc_fdchan_destroy(v->fdch);
	close(v->core_log_fd);
	close(v->ram_fd);
	close(v->backend_fd);
	close(v->state_fd);
	/* The same struct vm may boot again (a VM restart). */
	v->ctl = v->req = NULL;
	v->fdch = NULL;
	v->dev_pid = v->core_pid = 0;
	v->core_log_fd = v->ram_fd = v->backend_fd = v->state_fd = -1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", v->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", v->dir);
	current = NULL;
}

/* ---- the machine plane -------------------------------------------------- */

void call_ok(struct ipc_chan *c, const ProtobufCMessage *req, struct ipc_msg **out)
{
	struct ipc_msg *reply = NULL;
	struct ipc_err err = { .code = IPC_OK };

	CHECK(ipc_call(c, NULL, req, DEADLINE_MS, &reply, &err) == 0, "%s: %s (field '%s')",
	      req->descriptor->short_name, err.text, err.field);
	if (out)
		*out = reply;
	else
		ipc_msg_free(reply);
}

void region_map_opts(struct vm *v, const char *name, int fd, uint64_t gpa, uint64_t size,
                     const char *owner, bool readonly)
{
	Splitvm__RegionMap m = SPLITVM__REGION_MAP__INIT;
	struct ipc_err err = { .code = IPC_OK };

	m.region = (char *)name;
	m.gpa = gpa;
	m.size = size;
	m.readonly = readonly;
	m.sparse = owner != NULL;
	m.owner_device = (char *)(owner ? owner : "");
	m.fd_tag = v->next_tag++;
	CHECK(ipc_fdchan_send(v->fdch, m.fd_tag, &fd, 1, &err) == 0, "fd send: %s", err.text);
	call_ok(v->req, &m.base, NULL);
}

void region_map(struct vm *v, const char *name, int fd, uint64_t gpa, uint64_t size,
                const char *owner)
{
	region_map_opts(v, name, fd, gpa, size, owner, false);
}

void machine_start(struct vm *v, const char *cmdline)
{
	Splitvm__MachineStart s = SPLITVM__MACHINE_START__INIT;
	Splitvm__VmConfig vm = SPLITVM__VM_CONFIG__INIT;
	Splitvm__DeviceConfig dev = SPLITVM__DEVICE_CONFIG__INIT;
	Splitvm__BackendConfig be = SPLITVM__BACKEND_CONFIG__INIT;
	Splitvm__DeviceConfig *devs[1] = { &dev };
	Splitvm__BackendConfig *bes[1] = { &be };

	be.id = (char *)MEMDEV;
	be.type = SPLITVM__BACKEND_TYPE__BACKEND_MEMFD;
	be.size = v->vmem_size;
	dev.id = (char *)DEV_ID;
	dev.model = SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_MEM;
	dev.memdev = (char *)MEMDEV;
	dev.node = -1;
	dev.slot = -1;
	dev.block_size = v->block_size;
	vm.name = (char *)"vmem";
	vm.ram_size = RAM_SIZE;
	vm.maxmem = RAM_SIZE + v->vmem_size;
	vm.slots = 1;
	vm.vcpus = 1;
	vm.kernel = (char *)v->guest;
	vm.cmdline = (char *)cmdline;
	vm.serial = SPLITVM__SERIAL_TYPE__SERIAL_FILE;
	vm.serial_path = v->console;
	vm.run_dir = v->dir;
	vm.n_devices = 1;
	vm.devices = devs;
	vm.n_backends = 1;
	vm.backends = bes;
	s.config = &vm;
	call_ok(v->req, &s.base, NULL);
}

void vcpus_pause(struct vm *v)
{
	Splitvm__VcpusPause m = SPLITVM__VCPUS_PAUSE__INIT;

	call_ok(v->req, &m.base, NULL);
}

void vcpus_resume(struct vm *v)
{
	Splitvm__VcpusResume m = SPLITVM__VCPUS_RESUME__INIT;

	call_ok(v->req, &m.base, NULL);
}

/*
 * The machine up to a running guest: memfds, MachineStart, base RAM, the
 * sparse device region, the device process, VcpusResume.
 */
void vm_boot(struct vm *v, const char *cmdline, const char *requested)
{
	snprintf(v->dir, sizeof(v->dir), "/tmp/splitvm-vmem-XXXXXX");
	CHECK(mkdtemp(v->dir), "mkdtemp: %s", strerror(errno));
	snprintf(v->console, sizeof(v->console), "%s/console.txt", v->dir);
	snprintf(v->devlog, sizeof(v->devlog), "%s/devproc.log", v->dir);
	current = v;
	if (!v->vmem_size)
		v->vmem_size = VMEM_SIZE;
	if (!v->block_size)
		v->block_size = 2 * MIB;
	if (!v->devmem_base)
		v->devmem_base = DEVMEM_BASE;
	v->ram_fd = memfd("ram", RAM_SIZE);
	v->backend_fd = memfd(MEMDEV, v->vmem_size);
	/* DESIGN.md: no holder may truncate the memory under another. */
	CHECK(fcntl(v->backend_fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) == 0,
	      "seal: %s", strerror(errno));
	v->state_fd = memfd("state-" DEV_ID, 0);
	core_start(v);
	machine_start(v, cmdline);
	region_map(v, "ram-low", v->ram_fd, 0, RAM_SIZE, NULL);
	region_map(v, MEMDEV, v->backend_fd, v->devmem_base, v->vmem_size, DEV_ID);
	dev_start(v, requested);
	vcpus_resume(v);
}

/* ---- observing the guest and the device --------------------------------- */

/* The file @path's text (a static buffer, up to 64 KiB; empty when none). */
static char *file_text(const char *path)
{
	static char buf[1 << 16];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

char *console_text(const struct vm *v)
{
	return file_text(v->console);
}

unsigned count(const char *text, const char *what)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

/* Wait until the console holds @n copies of @what; fails on FAIL or a dead core. */
void wait_console(struct vm *v, const char *what, unsigned n)
{
	uint64_t until = now_ms() + SETTLE_MS;

	for (;;) {
		const char *text = console_text(v);
		int status;

		CHECK(!strstr(text, "splitvm-guest: FAIL"), "the guest failed");
		if (count(text, what) >= n)
			return;
		CHECK(waitpid(v->core_pid, &status, WNOHANG) == 0,
		      "the core ended (status 0x%x) before '%s' #%u", status, what, n);
		CHECK(now_ms() < until, "no '%s' #%u within %d ms", what, n, SETTLE_MS);
		slurp(v);
		sleep_ms(10);
	}
}

Splitvm__DeviceStatus *dev_status(struct vm *v, struct ipc_msg **msg)
{
	Splitvm__DeviceStatusQuery q = SPLITVM__DEVICE_STATUS_QUERY__INIT;

	call_ok(v->ctl, &q.base, msg);
	CHECK((*msg)->type->type == SPLITVM__MSG_TYPE__MSG_DEVICE_STATUS, "answered %s",
	      (*msg)->type->name);
	return (Splitvm__DeviceStatus *)(*msg)->body;
}

uint64_t plugged(struct vm *v)
{
	struct ipc_msg *msg;
	uint64_t p = dev_status(v, &msg)->plugged_size;

	ipc_msg_free(msg);
	return p;
}

/* The core has ended (the guest passed); left unreaped for core_exit_status(). */
bool core_ended(struct vm *v)
{
	siginfo_t si = { .si_pid = 0 };

	return waitid(P_PID, (id_t)v->core_pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	       si.si_pid == v->core_pid;
}

/*
 * Start a successor and wait until it serves devctl: its plugged_size, or
 * CORE_ENDED when the guest finished and the core ended meanwhile (the
 * successor then dies: its redial is a syscall the sandbox forbids).  A
 * successor that exits at start while the core runs is restarted with the
 * next epoch, as the supervisor does; *failed counts those (the test wants
 * none).
 */
uint64_t dev_restart(struct vm *v, unsigned *failed)
{
	Splitvm__DeviceStatusQuery q = SPLITVM__DEVICE_STATUS_QUERY__INIT;

	for (unsigned tries = 0; tries < 8; tries++) {
		struct ipc_err last = { .code = IPC_OK };
		uint64_t until;

		dev_start(v, "0");
		until = now_ms() + DEADLINE_MS;
		while (now_ms() < until) {
			struct ipc_msg *reply = NULL;
			struct ipc_err err = { .code = IPC_OK };
			int status;

			if (core_ended(v)) {
				printf("the core ended while successor epoch %u started\n",
				       v->epoch);
				return CORE_ENDED;
			}
			if (waitpid(v->dev_pid, &status, WNOHANG) == v->dev_pid) {
				if (core_ended(v)) {
					v->dev_pid = 0;
					return CORE_ENDED;
				}
				printf("successor epoch %u exited at start (status 0x%x)\n",
				       v->epoch, status);
				v->dev_pid = 0;
				(*failed)++;
				break;
			}
			/* Long enough for a loaded (sanitizer) run: a late answer is discarded. */
			if (ipc_call(v->ctl, NULL, &q.base, 1000, &reply, &err) == 0) {
				uint64_t p = ((Splitvm__DeviceStatus *)reply->body)->plugged_size;

				ipc_msg_free(reply);
				return p;
			}
			last = err;
		}
		CHECK(v->dev_pid == 0, "successor epoch %u neither serves nor exits (devctl: %s)",
		      v->epoch, last.text);
	}
	CHECK(0, "no successor came up in 8 tries");
	return 0;
}

void set_requested(struct vm *v, uint64_t size)
{
	Splitvm__DevicePropSet ps = SPLITVM__DEVICE_PROP_SET__INIT;
	char value[32];

	snprintf(value, sizeof(value), "%" PRIu64, size);
	ps.name = (char *)"requested-size";
	ps.value = value;
	call_ok(v->ctl, &ps.base, NULL);
}

uint64_t allocated(const struct vm *v)
{
	struct stat st;

	CHECK(fstat(v->backend_fd, &st) == 0, "fstat: %s", strerror(errno));
	return (uint64_t)st.st_blocks * 512;
}

void expect_settle(struct vm *v, unsigned nth, uint64_t size)
{
	char line[128];

	static const char prefix[] = "splitvm-guest: virtio-mem plugged ";
	uint64_t until = now_ms() + DEADLINE_MS;
	const char *p, *nl;

	snprintf(line, sizeof(line), "%s0x%" PRIx64 " of requested 0x%" PRIx64 "\n", prefix, size,
	         size);
	wait_console(v, prefix, nth);
	/* The serial port writes byte by byte: wait for the line's end. */
	for (;;) {
		p = console_text(v);
		for (unsigned i = 0; i < nth; i++)
			p = strstr(i ? p + 1 : p, prefix);
		nl = strchr(p, '\n');
		if (nl)
			break;
		CHECK(now_ms() < until, "settle #%u never ended its line", nth);
		sleep_ms(5);
	}
	CHECK(!strncmp(p, line, strlen(line)), "settle #%u is '%.*s', want '%s'", nth,
	      (int)(nl - p), p, line);
}

int core_exit_status(struct vm *v)
{
	int status = 0;
	uint64_t until = now_ms() + DEADLINE_MS;
	pid_t r;

	/* Draining the core's log meanwhile: a full pipe would block its exit. */
	while ((r = waitpid(v->core_pid, &status, WNOHANG)) == 0 && now_ms() < until) {
		slurp(v);
		sleep_ms(10);
	}
	CHECK(r == v->core_pid, "the core did not exit after the guest's PASS");
	v->core_pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- the core alone ----------------------------------------------------- */

const char *core_log(struct core *c)
{
	ssize_t n;

	while (c->log_len < sizeof(c->log) - 1 &&
	       (n = read(c->log_fd, c->log + c->log_len, sizeof(c->log) - 1 - c->log_len)) > 0)
		c->log_len += (size_t)n;
	c->log[c->log_len] = '\0';
	return c->log;
}

char *read_console(struct core *c)
{
	return file_text(c->console);
}

void core_spawn(struct core *c, const char *bin, const char *tag, bool events)
{
	static const struct ipc_chan_opts ev_opts = {
		.planes = PROTO_PLANE_EVENT,
		.recv_timeout_ms = DEADLINE_MS,
		.send_timeout_ms = DEADLINE_MS,
	};
	struct ipc_err err = { .code = IPC_OK };

	memset(c, 0, sizeof(*c));
	current_core = c;
	snprintf(c->dir, sizeof(c->dir), "/tmp/splitvm-%s-XXXXXX", tag);
	CHECK(mkdtemp(c->dir), "mkdtemp: %s", strerror(errno));
	CHECK(ipc_rundir_create(c->dir, &err) == 0, "run dir: %s", err.text);
	snprintf(c->console, sizeof(c->console), "%s/console.txt", c->dir);
	core_exec(bin, c->dir, true, &c->pid, &c->log_fd, &c->req, &c->fdch);
	/* Connecting works before the core binds: the library reconnects. */
	if (events)
		CHECK(ipc_chan_connect(&c->events, IPC_ROLE_SUB, c->dir, "core-events", &ev_opts,
		                       &err) == 0,
		      "connect core-events: %s", err.text);
	c->next_tag = 1;
}

void core_cleanup(struct core *c)
{
	char cmd[128];

	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	ipc_chan_destroy(c->req);
	ipc_chan_destroy(c->events);
	ipc_fdchan_destroy(c->fdch);
	close(c->log_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", c->dir);
	current_core = NULL;
}

int core_call_raw(struct core *c, const ProtobufCMessage *req, struct ipc_msg **reply,
                  struct ipc_err *err)
{
	return ipc_call(c->req, NULL, req, DEADLINE_MS, reply, err);
}

struct ipc_msg *core_call(struct core *c, const ProtobufCMessage *req)
{
	struct ipc_msg *reply = NULL;
	struct ipc_err err = { .code = IPC_OK };

	CHECK(core_call_raw(c, req, &reply, &err) == 0, "%s: %s (field '%s')",
	      req->descriptor->short_name, err.text, err.field);
	return reply;
}

void core_call_ok(struct core *c, const ProtobufCMessage *req)
{
	ipc_msg_free(core_call(c, req));
}

struct ipc_msg *query_map(struct core *c)
{
	Splitvm__MemoryMapQuery q = SPLITVM__MEMORY_MAP_QUERY__INIT;
	struct ipc_msg *reply = core_call(c, &q.base);

	CHECK(reply->type->type == SPLITVM__MSG_TYPE__MSG_MEMORY_MAP, "reply %s",
	      reply->type->name);
	return reply;
}

const Splitvm__MemoryMapEntry *find_entry(const struct ipc_msg *map, const char *name)
{
	const Splitvm__MemoryMap *mm = (const void *)map->body;

	for (size_t i = 0; i < mm->n_entries; i++) {
		if (!strcmp(mm->entries[i]->name, name))
			return mm->entries[i];
	}
	return NULL;
}
