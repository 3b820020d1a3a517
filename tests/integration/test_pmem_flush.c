/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-pmem end to end: this process plays the supervisor.  It starts the
 * real splitvm-core with a virtio-pmem device in MachineStart's VmConfig,
 * maps base RAM from a memfd, maps the device's backing file (a host file
 * in TMPDIR, share=on) whole into the device-memory area (a plain RegionMap
 * at the 1 GiB-aligned address the core gives the device), starts the real
 * splitvm-devproc --model=virtio-pmem --sandbox=enforce with the file's fd,
 * and boots the test guest's virtio-pmem scenario.
 *
 *   flush     boot 1 writes a pattern over the whole region and FLUSHes;
 *             once the guest says the FLUSH answered 0, the file has no
 *             dirty page left (cachestat(2), where the kernel has it) and
 *             holds the pattern byte for byte (pread); the malformed table
 *             and 64 flushes in flight follow.  The VM stops; boot 2, a new
 *             core and device process on the same file, reads the pattern
 *             back (pmem_check=1).  Boot 3 maps the file read-only (fd
 *             O_RDONLY, RegionMap readonly): the guest reads the pattern,
 *             its store changes nothing, FLUSH answers 0; the file is
 *             unchanged.
 *   crash     the guest keeps 8 FLUSHes in flight, 3000 in all, while the
 *             device process is killed with SIGKILL again and again and
 *             restarted with epoch + 1: the core re-sends what the dead
 *             one left unanswered, and the guest sees every flush answered
 *             0, once, and in queue order: a successor drops what the
 *             core had queued for its dead predecessor and serves the
 *             core's in-order re-sends (devproc/main.c).
 * SKIPs (77) when /dev/kvm is not usable.
 *
 * usage: test_pmem_flush SPLITVM_CORE SPLITVM_DEVPROC GUEST_ELF [flush|crash]
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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"

extern char **environ;

#define MIB (1ull << 20)
#define GIB (1ull << 30)

#define RAM_SIZE      (256 * MIB)
#define PMEM_SIZE     (16 * MIB)
#define DEVMEM_BASE   (4 * GIB) /* RAM ends below the hole: device memory at 4 GiB */
#define DEV_ID        "pmem0"
#define MEMDEV        "pmemfile0"
#define DEADLINE_MS   20000
#define RUN_MS        120000
#define CRASH_KILLS   8
#define CRASH_FLUSHES 3000

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			dump_logs();                                                               \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

struct vm {
	const char *core_bin, *devproc_bin, *guest;
	const char *file;
	bool readonly;
	char dir[64];
	char console[128];
	char devlog[128];
	pid_t core_pid, dev_pid;
	int core_log_fd;
	struct ipc_chan *req; /* machine plane */
	struct ipc_chan *ctl; /* devctl-<id> */
	struct ipc_fdchan *fdch;
	uint64_t next_tag;
	uint32_t epoch;
	int ram_fd, backend_fd, state_fd;
	char core_log[1 << 17];
	size_t core_log_len;
};

static struct vm *current;

static void slurp(struct vm *v)
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

static void dump_logs(void)
{
	struct vm *v = current;
	const char *p;

	if (!v)
		return;
	slurp(v);
	p = v->core_log_len > 6000 ? v->core_log + v->core_log_len - 6000 : v->core_log;
	fprintf(stderr, "--- splitvm-core's log (tail) ---\n%s\n", p);
	tail_file("console", v->console);
	tail_file("splitvm-devproc's log", v->devlog);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int memfd(const char *name, uint64_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);

	CHECK(fd >= 0, "memfd_create: %s", strerror(errno));
	CHECK(ftruncate(fd, (off_t)size) == 0, "ftruncate: %s", strerror(errno));
	return fd;
}

/* The guest's pattern (tests/guest/scn_virtio_pmem.c): word at byte offset @off. */
static uint64_t pmem_word(uint64_t off)
{
	return (off + 1) * 0x9e3779b97f4a7c15ull ^ 0x706d656d2d706174ull;
}

/* ---- processes ---------------------------------------------------------- */

static void core_start(struct vm *v)
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
	v->core_pid = fork();
	CHECK(v->core_pid >= 0, "fork: %s", strerror(errno));
	if (v->core_pid == 0) {
		char fdnum[16];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(logp[1], STDERR_FILENO);
		fcntl(sv[1], F_SETFD, 0);
		snprintf(fdnum, sizeof(fdnum), "%d", sv[1]);
		execl(v->core_bin, v->core_bin, "--run-dir", v->dir, "--machine-chan", "machine",
		      "--fd-chan-fd", fdnum, (char *)NULL);
		_exit(127);
	}
	close(logp[1]);
	close(sv[1]);
	v->core_log_fd = logp[0];
	fcntl(v->core_log_fd, F_SETFL, O_NONBLOCK);
	CHECK(ipc_chan_connect(&v->req, IPC_ROLE_REQ, v->dir, "machine", &opts, &err) == 0,
	      "connect: %s", err.text);
	CHECK(ipc_fdchan_wrap(&v->fdch, sv[0], getuid(), &err) == 0, "wrap: %s", err.text);
	v->next_tag = 1;
}

/*
 * The device process's environment: ours, with LeakSanitizer off (its
 * exit-time check needs ptrace, which the sandbox kills).  Made before
 * fork(): this process has threads, the child may only exec.
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
	free(env[k]);
	free(env);
}

/* The sandboxed device process: its reaper's only child, or -1. */
static pid_t dev_child(pid_t reaper)
{
	char path[96];
	long child = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)reaper, (int)reaper);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &child) != 1)
		child = 0;
	fclose(f);
	return child > 0 ? (pid_t)child : -1;
}

static bool pid_alive(pid_t pid)
{
	char path[64], line[256];
	bool alive = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "State:", 6)) {
			alive = !strchr(line, 'Z') && !strchr(line, 'X');
			break;
		}
	}
	fclose(f);
	return alive;
}

/* Start splitvm-devproc with the next epoch; its devctl channel connected. */
static void dev_start(struct vm *v)
{
	static const struct ipc_chan_opts opts = {
		.planes = PROTO_PLANE_DEVCTL,
		.recv_timeout_ms = DEADLINE_MS,
		.send_timeout_ms = DEADLINE_MS,
	};
	struct ipc_err err = { .code = IPC_OK };
	pid_t parent = getpid();
	char **env = devproc_env();
	int logfd;

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
		execle(v->devproc_bin, v->devproc_bin, "--model=virtio-pmem", "--id", DEV_ID,
		       "--run-dir", v->dir, "--epoch", epoch, "--backend-fd", bfd, "--state-fd",
		       sfd, "--config", "virtio-pmem,id=" DEV_ID ",memdev=" MEMDEV,
		       "--sandbox=enforce", (char *)NULL, env);
		_exit(127);
	}
	devproc_env_free(env);
	close(logfd);
	ipc_chan_destroy(v->ctl);
	v->ctl = NULL;
	CHECK(ipc_chan_connect(&v->ctl, IPC_ROLE_REQ, v->dir, "devctl-" DEV_ID, &opts, &err) == 0,
	      "devctl connect: %s", err.text);
}

/* kill -9 the reaper; its death must take the device process along. */
static void dev_kill(struct vm *v)
{
	pid_t child = dev_child(v->dev_pid);
	int status = 0;

	CHECK(kill(v->dev_pid, SIGKILL) == 0, "kill: %s", strerror(errno));
	CHECK(waitpid(v->dev_pid, &status, 0) == v->dev_pid, "waitpid: %s", strerror(errno));
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	      "the device process ended with status 0x%x before the kill", status);
	v->dev_pid = 0;
	for (int i = 0; i < 5000 && child > 0 && pid_alive(child); i++)
		sleep_ms(1);
	CHECK(child <= 0 || !pid_alive(child), "device process %d outlived its reaper by 5 s",
	      (int)child);
}

static void vm_cleanup(struct vm *v)
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
	/* The same struct vm boots again (a VM restart). */
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

static void call_ok(struct ipc_chan *c, const ProtobufCMessage *req, struct ipc_msg **out)
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

static void region_map(struct vm *v, const char *name, int fd, uint64_t gpa, uint64_t size,
                       bool readonly)
{
	Splitvm__RegionMap m = SPLITVM__REGION_MAP__INIT;
	struct ipc_err err = { .code = IPC_OK };

	m.region = (char *)name;
	m.gpa = gpa;
	m.size = size;
	m.readonly = readonly;
	m.owner_device = (char *)"";
	m.fd_tag = v->next_tag++;
	CHECK(ipc_fdchan_send(v->fdch, m.fd_tag, &fd, 1, &err) == 0, "fd send: %s", err.text);
	call_ok(v->req, &m.base, NULL);
}

static void machine_start(struct vm *v, const char *cmdline)
{
	Splitvm__MachineStart s = SPLITVM__MACHINE_START__INIT;
	Splitvm__VmConfig vm = SPLITVM__VM_CONFIG__INIT;
	Splitvm__DeviceConfig dev = SPLITVM__DEVICE_CONFIG__INIT;
	Splitvm__BackendConfig be = SPLITVM__BACKEND_CONFIG__INIT;
	Splitvm__DeviceConfig *devs[1] = { &dev };
	Splitvm__BackendConfig *bes[1] = { &be };

	be.id = (char *)MEMDEV;
	be.type = SPLITVM__BACKEND_TYPE__BACKEND_FILE;
	be.size = PMEM_SIZE;
	be.mem_path = (char *)v->file;
	be.share = true;
	be.readonly = v->readonly;
	dev.id = (char *)DEV_ID;
	dev.model = SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_PMEM;
	dev.memdev = (char *)MEMDEV;
	dev.node = -1;
	dev.slot = -1;
	vm.name = (char *)"pmem";
	vm.ram_size = RAM_SIZE;
	vm.maxmem = RAM_SIZE + GIB;
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

/*
 * The machine up to a running guest: RAM memfd, the file opened as memsrv
 * opens it (O_RDWR, or O_RDONLY for readonly=on), MachineStart, base RAM,
 * the pmem region whole, the device process, VcpusResume.
 */
static void vm_boot(struct vm *v, const char *cmdline)
{
	Splitvm__VcpusResume r = SPLITVM__VCPUS_RESUME__INIT;

	v->ram_fd = v->backend_fd = v->state_fd = v->core_log_fd = -1;
	v->core_log_len = 0;
	v->epoch = 0;
	snprintf(v->dir, sizeof(v->dir), "/tmp/splitvm-pmem-XXXXXX");
	CHECK(mkdtemp(v->dir), "mkdtemp: %s", strerror(errno));
	snprintf(v->console, sizeof(v->console), "%s/console.txt", v->dir);
	snprintf(v->devlog, sizeof(v->devlog), "%s/devproc.log", v->dir);
	current = v;
	v->ram_fd = memfd("ram", RAM_SIZE);
	v->backend_fd = open(v->file, (v->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	CHECK(v->backend_fd >= 0, "%s: %s", v->file, strerror(errno));
	v->state_fd = memfd("state-" DEV_ID, 0);
	core_start(v);
	machine_start(v, cmdline);
	region_map(v, "ram-low", v->ram_fd, 0, RAM_SIZE, false);
	region_map(v, MEMDEV, v->backend_fd, DEVMEM_BASE, PMEM_SIZE, v->readonly);
	dev_start(v);
	call_ok(v->req, &r.base, NULL);
}

/* ---- observing the guest ------------------------------------------------ */

static char *console_text(const struct vm *v)
{
	static char buf[1 << 16];
	FILE *f = fopen(v->console, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

/* Wait for a whole console line holding @what; fails on FAIL or a dead core. */
static void wait_console(struct vm *v, const char *what)
{
	uint64_t until = now_ms() + RUN_MS;

	for (;;) {
		const char *text = console_text(v), *p;
		int status;

		CHECK(!strstr(text, "splitvm-guest: FAIL"), "the guest failed");
		p = strstr(text, what);
		if (p && strchr(p, '\n'))
			return;
		CHECK(waitpid(v->core_pid, &status, WNOHANG) == 0,
		      "the core ended (status 0x%x) before '%s'", status, what);
		CHECK(now_ms() < until, "no '%s' within %d ms", what, RUN_MS);
		slurp(v);
		sleep_ms(5);
	}
}

static int core_exit_status(struct vm *v)
{
	int status = 0;
	uint64_t until = now_ms() + DEADLINE_MS;
	pid_t r;

	while ((r = waitpid(v->core_pid, &status, WNOHANG)) == 0 && now_ms() < until) {
		slurp(v);
		sleep_ms(10);
	}
	CHECK(r == v->core_pid, "the core did not exit after the guest's PASS");
	v->core_pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The run to its PASS and the core's clean exit. */
static void vm_finish(struct vm *v)
{
	wait_console(v, "splitvm-guest: PASS");
	CHECK(core_exit_status(v) == 0, "the core's exit status");
}

/* ---- the host file ------------------------------------------------------ */

struct cstat_range {
	uint64_t off, len;
};

struct cstat {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

#ifndef SYS_cachestat
#define SYS_cachestat 451
#endif

/* Pages of @path dirty or under write-back, or -1 without cachestat(2). */
static long file_dirty(const char *path)
{
	struct cstat_range r = { 0, 0 };
	struct cstat cs;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	long n = -1;

	CHECK(fd >= 0, "%s: %s", path, strerror(errno));
	if (syscall(SYS_cachestat, fd, &r, &cs, 0) == 0)
		n = (long)(cs.nr_dirty + cs.nr_writeback);
	close(fd);
	return n;
}

/* The file holds the guest's pattern, byte for byte. */
static void file_check(const char *path)
{
	static uint64_t buf[PMEM_SIZE / 8];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	CHECK(fd >= 0, "%s: %s", path, strerror(errno));
	CHECK(pread(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf), "pread: %s", strerror(errno));
	close(fd);
	for (uint64_t i = 0; i < PMEM_SIZE / 8; i++) {
		uint64_t want = pmem_word(i * 8);

		/* Little-endian, as the guest stored it. */
		CHECK(!memcmp(&buf[i], &want, 8),
		      "file offset 0x%" PRIx64 " holds 0x%" PRIx64 ", want 0x%" PRIx64, i * 8,
		      buf[i], want);
	}
}

static void file_make(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0, "%s: %s", path, strerror(errno));
	CHECK(ftruncate(fd, PMEM_SIZE) == 0, "ftruncate: %s", strerror(errno));
	CHECK(fsync(fd) == 0, "fsync: %s", strerror(errno));
	close(fd);
}

/* ---- the tests ---------------------------------------------------------- */

static void test_flush(const char *core, const char *devproc, const char *guest, const char *file)
{
	struct vm *v = calloc(1, sizeof(*v));
	long dirty;
	char expect[96];

	CHECK(v, "calloc");
	*v = (struct vm){ .core_bin = core, .devproc_bin = devproc, .guest = guest, .file = file };
	file_make(file);

	/* Boot 1: the pattern, one FLUSH, the bad table, 64 flushes. */
	vm_boot(v, "scenario=virtio-pmem pmem_flushes=64");
	snprintf(expect, sizeof(expect), "virtio-pmem: region 0x%llx+0x%llx", DEVMEM_BASE,
	         PMEM_SIZE);
	wait_console(v, expect);
	wait_console(v, "virtio-pmem: FLUSH answered 0");
	dirty = file_dirty(file);
	if (dirty < 0)
		printf("note: no cachestat(2) on this kernel: write-back not observed\n");
	else
		CHECK(dirty == 0, "%ld pages of the file still dirty after the FLUSH", dirty);
	file_check(file);
	printf("flush: the pattern is in the host file after the FLUSH (dirty pages %ld)\n", dirty);
	wait_console(v, "virtio-pmem-bad 2 bytes of room: used 0");
	wait_console(v, "virtio-pmem: 64 flushes, all 0, 0 out of order");
	vm_finish(v);
	vm_cleanup(v);

	/* Boot 2: a new VM on the same file reads it back. */
	vm_boot(v, "scenario=virtio-pmem pmem_check=1 pmem_flushes=8");
	wait_console(v, "virtio-pmem: pattern read back over 0x1000000 bytes");
	vm_finish(v);
	vm_cleanup(v);
	file_check(file);
	printf("flush: a second VM read the pattern back\n");

	/* Boot 3: read-only. */
	v->readonly = true;
	vm_boot(v, "scenario=virtio-pmem pmem_ro=1 pmem_flushes=8");
	wait_console(v, "virtio-pmem: the read-only region kept its bytes after a store");
	vm_finish(v);
	vm_cleanup(v);
	file_check(file);
	printf("flush: read-only backend kept its bytes\n");
	free(v);
}

static void test_crash(const char *core, const char *devproc, const char *guest, const char *file)
{
	struct vm *v = calloc(1, sizeof(*v));
	unsigned kills = 0, mid = 0, resent, restarts = 0;
	char cmdline[96], done[96];
	const char *p;
	uint64_t t0;

	CHECK(v, "calloc");
	*v = (struct vm){ .core_bin = core, .devproc_bin = devproc, .guest = guest, .file = file };
	file_make(file);
	snprintf(cmdline, sizeof(cmdline), "scenario=virtio-pmem pmem_flushes=%u", CRASH_FLUSHES);
	snprintf(done, sizeof(done), "virtio-pmem: %u flushes, all 0, ", CRASH_FLUSHES);
	vm_boot(v, cmdline);
	wait_console(v, "virtio-pmem: flushing");
	t0 = now_ms();
	srand(7);
	for (unsigned k = 0; k < CRASH_KILLS; k++) {
		sleep_ms(20 + (unsigned)(rand() % 40));
		if (strstr(console_text(v), done))
			break;
		dev_kill(v);
		kills++;
		mid += !strstr(console_text(v), done);
		dev_start(v);
	}
	/*
	 * As the supervisor does: a successor that ends by itself (it once
	 * waited in vain for its DeviceAttached, see the report) is restarted.
	 */
	for (uint64_t until = now_ms() + RUN_MS; !strstr(console_text(v), done);) {
		int status;

		CHECK(!strstr(console_text(v), "splitvm-guest: FAIL"), "the guest failed");
		CHECK(now_ms() < until, "no '%s' within %d ms", done, RUN_MS);
		if (waitpid(v->dev_pid, &status, WNOHANG) == v->dev_pid) {
			printf("crash: successor epoch %u ended by itself (status 0x%x); "
			       "restarted\n",
			       v->epoch, status);
			CHECK(++restarts <= 8, "more than 8 successors ended by themselves");
			v->dev_pid = 0;
			dev_start(v);
		}
		sleep_ms(10);
	}
	wait_console(v, done);
	vm_finish(v);
	slurp(v);
	resent = 0;
	for (const char *q = v->core_log; (q = strstr(q, "re-sending held requests")); q++)
		resent++;
	p = strstr(console_text(v), done);
	printf("crash: %u kills (%u mid-flood), %u successors got held requests re-sent; "
	       "%" PRIu64 " ms; the guest: %.*s\n",
	       kills, mid, resent, now_ms() - t0, p ? (int)strcspn(p, "\n") : 0, p ? p : "");
	CHECK(p && !strncmp(p + strlen(done), "0 out of order", 14),
	      "flushes completed out of queue order across the kills");
	CHECK(mid >= 2, "only %u kills landed while the guest flushed", mid);
	CHECK(resent >= 1, "no successor was re-sent a request the dead one held");
	vm_cleanup(v);
	free(v);
}

int main(int argc, char **argv)
{
	const char *which = argc > 4 ? argv[4] : "all";
	const char *tmp = getenv("TMPDIR");
	char file[256];

	if (argc < 4) {
		fprintf(stderr, "usage: %s SPLITVM_CORE SPLITVM_DEVPROC GUEST_ELF [flush|crash]\n",
		        argv[0]);
		return 2;
	}
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("SKIP: /dev/kvm is not usable: %s\n", strerror(errno));
		return 77;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGPIPE, SIG_IGN);
	/* A file on a disk-backed filesystem where TMPDIR is one: write-back is real there. */
	snprintf(file, sizeof(file), "%s/splitvm-pmem-%d.img", tmp ? tmp : "/var/tmp",
	         (int)getpid());
	if (!strcmp(which, "all") || !strcmp(which, "flush"))
		test_flush(argv[1], argv[2], argv[3], file);
	if (!strcmp(which, "all") || !strcmp(which, "crash"))
		test_crash(argv[1], argv[2], argv[3], file);
	unlink(file);
	printf("PASS\n");
	return 0;
}
