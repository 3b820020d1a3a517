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

#include "harness.h"

/* harness.h's DEV_ID and MEMDEV name its virtio-mem device; this test's is virtio-pmem. */
#undef DEV_ID
#undef MEMDEV
#define PMEM_SIZE     (16 * MIB)
#define DEV_ID        "pmem0"
#define MEMDEV        "pmemfile0"
#define RUN_MS        120000
#define CRASH_KILLS   8
#define CRASH_FLUSHES 3000

/* The guest's pattern (tests/guest/scn_virtio_pmem.c): word at byte offset @off. */
static uint64_t pmem_word(uint64_t off)
{
	return (off + 1) * 0x9e3779b97f4a7c15ull ^ 0x706d656d2d706174ull;
}

/* ---- processes ---------------------------------------------------------- */

/* Start splitvm-devproc with the next epoch; its devctl channel connected. */
static void pmem_dev_start(struct vm *v)
{
	dev_spawn(v, "virtio-pmem", DEV_ID, "virtio-pmem,id=" DEV_ID ",memdev=" MEMDEV);
}

/* ---- the machine plane -------------------------------------------------- */

static void pmem_machine_start(struct vm *v, const char *cmdline)
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
static void pmem_vm_boot(struct vm *v, const char *cmdline)
{
	Splitvm__VcpusResume r = SPLITVM__VCPUS_RESUME__INIT;

	v->ram_fd = v->backend_fd = v->state_fd = v->core_log_fd = -1;
	v->core_log_len = 0;
	v->epoch = 0;
	snprintf(v->dir, sizeof(v->dir), "/tmp/splitvm-pmem-XXXXXX");
	CHECK(mkdtemp(v->dir), "mkdtemp: %s", strerror(errno));
	snprintf(v->console, sizeof(v->console), "%s/console.txt", v->dir);
	snprintf(v->devlog, sizeof(v->devlog), "%s/devproc.log", v->dir);
	vm_watch(v);
	v->ram_fd = memfd("ram", RAM_SIZE);
	v->backend_fd = open(v->file, (v->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	CHECK(v->backend_fd >= 0, "%s: %s", v->file, strerror(errno));
	v->state_fd = memfd("state-" DEV_ID, 0);
	core_start(v);
	pmem_machine_start(v, cmdline);
	region_map_opts(v, "ram-low", v->ram_fd, 0, RAM_SIZE, NULL, false);
	region_map_opts(v, MEMDEV, v->backend_fd, DEVMEM_BASE, PMEM_SIZE, NULL, v->readonly);
	pmem_dev_start(v);
	call_ok(v->req, &r.base, NULL);
}

/* ---- observing the guest ------------------------------------------------ */

/* Wait for a whole console line holding @what; fails on FAIL or a dead core. */
static void wait_line(struct vm *v, const char *what)
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

/* The run to its PASS and the core's clean exit. */
static void vm_finish(struct vm *v)
{
	wait_line(v, "splitvm-guest: PASS");
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
	pmem_vm_boot(v, "scenario=virtio-pmem pmem_flushes=64");
	snprintf(expect, sizeof(expect), "virtio-pmem: region 0x%llx+0x%llx", DEVMEM_BASE,
	         PMEM_SIZE);
	wait_line(v, expect);
	wait_line(v, "virtio-pmem: FLUSH answered 0");
	dirty = file_dirty(file);
	if (dirty < 0)
		printf("note: no cachestat(2) on this kernel: write-back not observed\n");
	else
		CHECK(dirty == 0, "%ld pages of the file still dirty after the FLUSH", dirty);
	file_check(file);
	printf("flush: the pattern is in the host file after the FLUSH (dirty pages %ld)\n", dirty);
	wait_line(v, "virtio-pmem-bad 2 bytes of room: used 0");
	wait_line(v, "virtio-pmem: 64 flushes, all 0, 0 out of order");
	vm_finish(v);
	vm_cleanup(v);

	/* Boot 2: a new VM on the same file reads it back. */
	pmem_vm_boot(v, "scenario=virtio-pmem pmem_check=1 pmem_flushes=8");
	wait_line(v, "virtio-pmem: pattern read back over 0x1000000 bytes");
	vm_finish(v);
	vm_cleanup(v);
	file_check(file);
	printf("flush: a second VM read the pattern back\n");

	/* Boot 3: read-only. */
	v->readonly = true;
	pmem_vm_boot(v, "scenario=virtio-pmem pmem_ro=1 pmem_flushes=8");
	wait_line(v, "virtio-pmem: the read-only region kept its bytes after a store");
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
	pmem_vm_boot(v, cmdline);
	wait_line(v, "virtio-pmem: flushing");
	t0 = now_ms();
	srand(7);
	for (unsigned k = 0; k < CRASH_KILLS; k++) {
		sleep_ms(20 + (unsigned)(rand() % 40));
		if (strstr(console_text(v), done))
			break;
		dev_kill(v);
		kills++;
		mid += !strstr(console_text(v), done);
		pmem_dev_start(v);
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
			pmem_dev_start(v);
		}
		sleep_ms(10);
	}
	wait_line(v, done);
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
	test_setup();
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
