// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-pmem: what a FLUSH costs the guest, beside what the same work
 * costs the host directly and what it costs QEMU.
 *
 *   host      on the backing file itself, before the VM: N rounds of a
 *             4 KiB memcpy into its MAP_SHARED mapping + fdatasync (what
 *             the guest's write and the device process's flush amount to),
 *             and of a 4 KiB pwrite + fdatasync; then two passes of 1 MiB
 *             memcpys over the whole mapping (a fresh one: the first pass
 *             takes the page faults, the second is warm).
 *   splitvm   the real splitvm-core and a sandboxed splitvm-devproc on the
 *             same file, the test guest's bench mode (pmem_bench=N): per
 *             round a 4 KiB write into the region and one FLUSH, both timed
 *             with the guest's TSC (notify to used element: the core's
 *             exit, the DeviceRequest over IPC, fdatasync in the device
 *             process, the answer, the used ring); then the same two
 *             passes of copies over the region from the guest.
 *   QEMU      from a trace log of tests/linux/record-virtio-pmem.sh (with
 *             -msg timestamp=on): per flush, virtio_pmem_flush_request to
 *             virtio_pmem_response (the kick handler's pop, fsync in the
 *             thread pool, the push and notify), under TCG with Linux.
 *
 * The TSC rate is measured on the host (KVM runs the guest's TSC at the
 * host's rate unless TSC scaling is set, which splitvm-core does not); the
 * guest's TSC over the run is compared with the host's as a check.
 * Targets (docs/performance.md): flush p50 within 1.2x of the host's write
 * + fdatasync; region throughput within 1.1x of the host's memcpy.
 *
 * usage: bench_pmem SPLITVM_CORE SPLITVM_DEVPROC GUEST_ELF QEMU_LOG [N [REGION_MIB]]
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_pmem_results.h"
#include "bench_stats.h"
#include "harness.h"

#undef DEV_ID
#undef MEMDEV
#define DEV_ID      "pmem0"
#define MEMDEV      "pmemfile0"
#define RESULTS_GPA 0x8000000 /* 128 MiB: inside the harness's 256 MiB of RAM */
#define RUN_MS      300000

static uint64_t pmem_size = 16 * MIB; /* the region: argv[6] MiB */

/* ---- the host's own figures --------------------------------------------- */

struct host_figs {
	struct stats map_sync, pwrite_sync;
	double cold_mbs, warm_mbs;
};

static void file_make(const char *path)
{
	static uint8_t zero[1 << 20];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0, "%s: %s", path, strerror(errno));
	/* Written, not sparse: every block allocated and cached, for both sides alike. */
	for (uint64_t off = 0; off < pmem_size; off += sizeof(zero))
		CHECK(pwrite(fd, zero, sizeof(zero), (off_t)off) == (ssize_t)sizeof(zero),
		      "pwrite: %s", strerror(errno));
	CHECK(fsync(fd) == 0, "fsync: %s", strerror(errno));
	close(fd);
}

static void host_measure(const char *path, size_t n, struct host_figs *h)
{
	static uint8_t src[PMB_CHUNK] __attribute__((aligned(4096)));
	double *t = calloc(n, sizeof(double));
	int fd = open(path, O_RDWR | O_CLOEXEC);
	uint64_t pages = pmem_size / 4096;
	uint8_t *map;
	double t0;

	CHECK(t && fd >= 0, "%s: %s", path, strerror(errno));
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 1);
	map = mmap(NULL, pmem_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(map != MAP_FAILED, "mmap: %s", strerror(errno));
	for (size_t i = 0; i < n; i++) {
		src[0] = (uint8_t)i;
		t0 = now_us();
		memcpy(map + i % pages * 4096, src, 4096);
		CHECK(fdatasync(fd) == 0, "fdatasync: %s", strerror(errno));
		t[i] = now_us() - t0;
	}
	h->map_sync = stats_of(t, n);
	for (size_t i = 0; i < n; i++) {
		src[0] = (uint8_t)i;
		t0 = now_us();
		CHECK(pwrite(fd, src, 4096, (off_t)(i % pages * 4096)) == 4096, "pwrite: %s",
		      strerror(errno));
		CHECK(fdatasync(fd) == 0, "fdatasync: %s", strerror(errno));
		t[i] = now_us() - t0;
	}
	h->pwrite_sync = stats_of(t, n);
	munmap(map, pmem_size);
	/* A fresh mapping: the first pass takes the faults, as the guest's does. */
	map = mmap(NULL, pmem_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(map != MAP_FAILED, "mmap: %s", strerror(errno));
	for (int p = 0; p < 2; p++) {
		t0 = now_us();
		for (uint64_t off = 0; off < pmem_size; off += PMB_CHUNK)
			memcpy(map + off, src, PMB_CHUNK);
		*(p ? &h->warm_mbs : &h->cold_mbs) = (double)pmem_size / (now_us() - t0);
	}
	munmap(map, pmem_size);
	CHECK(fdatasync(fd) == 0, "fdatasync: %s", strerror(errno));
	close(fd);
	free(t);
}

/* ---- QEMU's, from its trace ------------------------------------------------ */

/* "PID@SEC.USEC:event": the time in µs and the event, or false without a stamp. */
static bool trace_line(const char *line, double *us, const char **event)
{
	const char *at = strchr(line, '@'), *colon;

	if (!at || at == line)
		return false;
	colon = strchr(at, ':');
	if (!colon)
		return false;
	*us = strtod(at + 1, NULL) * 1e6;
	*event = colon + 1;
	return true;
}

static struct stats qemu_flushes(const char *path, double **buf)
{
	FILE *f = fopen(path, "re");
	size_t n = 0, cap = 0;
	double t_req = -1;
	char line[1024];

	CHECK(f, "%s: %s", path, strerror(errno));
	*buf = NULL;
	while (fgets(line, sizeof(line), f)) {
		const char *e;
		double us;

		if (!trace_line(line, &us, &e))
			continue;
		if (!strncmp(e, "virtio_pmem_flush_request", 25)) {
			t_req = us;
		} else if (!strncmp(e, "virtio_pmem_response", 20) && t_req >= 0) {
			if (n == cap) {
				cap = cap ? 2 * cap : 256;
				*buf = realloc(*buf, cap * sizeof(double));
				CHECK(*buf, "realloc");
			}
			(*buf)[n++] = us - t_req;
			t_req = -1;
		}
	}
	fclose(f);
	CHECK(n, "%s: no timestamped virtio_pmem flushes (-msg timestamp=on?)", path);
	return stats_of(*buf, n);
}

/* ---- the guest's, through splitvm ------------------------------------------ */

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
	be.size = pmem_size;
	be.mem_path = (char *)v->file;
	be.share = true;
	dev.id = (char *)DEV_ID;
	dev.model = SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_PMEM;
	dev.memdev = (char *)MEMDEV;
	dev.node = -1;
	dev.slot = -1;
	vm.name = (char *)"bench-pmem";
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

struct guest_figs {
	double *write_cyc, *flush_cyc, *both_cyc;
	size_t n;
	uint64_t cold, warm, bytes, tsc0, tsc1, ram_write;
	double host_tsc0, host_tsc1; /* the host's TSC when it saw the run start and end */
};

static void guest_measure(struct vm *v, size_t n, struct guest_figs *g)
{
	Splitvm__VcpusResume r = SPLITVM__VCPUS_RESUME__INIT;
	char cmdline[160], done[80];
	volatile uint64_t *res;
	uint64_t until;
	void *ram;

	v->ram_fd = v->backend_fd = v->state_fd = v->core_log_fd = -1;
	snprintf(v->dir, sizeof(v->dir), "/tmp/splitvm-bpmem-XXXXXX");
	CHECK(mkdtemp(v->dir), "mkdtemp: %s", strerror(errno));
	snprintf(v->console, sizeof(v->console), "%s/console.txt", v->dir);
	snprintf(v->devlog, sizeof(v->devlog), "%s/devproc.log", v->dir);
	vm_watch(v);
	v->ram_fd = memfd("ram", RAM_SIZE);
	v->backend_fd = open(v->file, O_RDWR | O_CLOEXEC);
	CHECK(v->backend_fd >= 0, "%s: %s", v->file, strerror(errno));
	v->state_fd = memfd("state-" DEV_ID, 0);
	snprintf(cmdline, sizeof(cmdline), "scenario=virtio-pmem pmem_bench=%zu pmem_results=0x%x",
	         n, RESULTS_GPA);
	core_start(v);
	pmem_machine_start(v, cmdline);
	region_map_opts(v, "ram-low", v->ram_fd, 0, RAM_SIZE, NULL, false);
	region_map_opts(v, MEMDEV, v->backend_fd, DEVMEM_BASE, pmem_size, NULL, false);
	dev_spawn(v, "virtio-pmem", DEV_ID, "virtio-pmem,id=" DEV_ID ",memdev=" MEMDEV);
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, v->ram_fd, 0);
	CHECK(ram != MAP_FAILED, "mmap of guest RAM: %s", strerror(errno));
	res = (volatile uint64_t *)((char *)ram + RESULTS_GPA);
	call_ok(v->req, &r.base, NULL);

	/* Host TSC stamps when the guest's first and last figures appear. */
	until = now_ms() + RUN_MS;
	/* Polled every ms, not spun: on 2 cores a spinning host steals the guest's time. */
	while (!__atomic_load_n(&res[PMB_TSC0], __ATOMIC_ACQUIRE)) {
		CHECK(now_ms() < until, "the guest did not start its rounds");
		CHECK(!strstr(console_text(v), "splitvm-guest: FAIL"), "the guest failed");
		slurp(v);
		sleep_ms(1);
	}
	g->host_tsc0 = (double)rdtsc();
	while (__atomic_load_n(&res[PMB_DONE], __ATOMIC_ACQUIRE) != PMB_MAGIC) {
		CHECK(now_ms() < until, "the guest did not finish its rounds");
		CHECK(!strstr(console_text(v), "splitvm-guest: FAIL"), "the guest failed");
		slurp(v);
		sleep_ms(1);
	}
	g->host_tsc1 = (double)rdtsc();
	snprintf(done, sizeof(done), "virtio-pmem-bench: %zu flushes done", n);
	wait_console(v, done, 1);
	wait_console(v, "splitvm-guest: PASS", 1);
	CHECK(core_exit_status(v) == 0, "the core's exit status");

	CHECK(res[PMB_N] == n && res[PMB_BYTES] == pmem_size, "results for %" PRIu64 " rounds",
	      (uint64_t)res[PMB_N]);
	g->n = n;
	g->write_cyc = calloc(n, sizeof(double));
	g->flush_cyc = calloc(n, sizeof(double));
	g->both_cyc = calloc(n, sizeof(double));
	CHECK(g->write_cyc && g->flush_cyc && g->both_cyc, "calloc");
	for (size_t i = 0; i < n; i++) {
		g->write_cyc[i] = (double)res[PMB_ROUND + 2 * i];
		g->flush_cyc[i] = (double)res[PMB_ROUND + 2 * i + 1];
		g->both_cyc[i] = g->write_cyc[i] + g->flush_cyc[i];
	}
	g->cold = res[PMB_PASS_COLD];
	g->warm = res[PMB_PASS_WARM];
	g->bytes = res[PMB_BYTES];
	g->tsc0 = res[PMB_TSC0];
	g->tsc1 = res[PMB_TSC1];
	g->ram_write = res[PMB_RAM_WRITE];
	munmap(ram, RAM_SIZE);
	vm_cleanup(v);
}

static void scale(struct stats *s, double div)
{
	s->p50 /= div;
	s->p99 /= div;
	s->mean /= div;
}

static void row(const char *what, const struct stats *s)
{
	printf("  %-44s %9.1f %9.1f %9.1f\n", what, s->p50, s->p99, s->mean);
}

int main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");
	struct vm *v = calloc(1, sizeof(*v));
	struct host_figs h;
	struct guest_figs g = { 0 };
	struct stats gw, gf, gb, q;
	double tpu, *qbuf, gcold, gwarm, tsc_ratio;
	char file[256];
	size_t n = 1000;

	if (argc < 5) {
		fprintf(stderr,
		        "usage: %s SPLITVM_CORE SPLITVM_DEVPROC GUEST_ELF QEMU_LOG [N "
		        "[REGION_MIB]]\n",
		        argv[0]);
		return 2;
	}
	if (argc > 5)
		n = strtoul(argv[5], NULL, 10);
	if (argc > 6)
		pmem_size = strtoull(argv[6], NULL, 10) * MIB;
	CHECK(pmem_size >= MIB && pmem_size <= GIB, "REGION_MIB: 1 to 1024");
	CHECK(n > 0 && n <= 100000, "N: 1 to 100000 rounds");
	test_setup();
	CHECK(v, "calloc");
	/* A disk-backed filesystem where TMPDIR is one: the flushes are real there. */
	snprintf(file, sizeof(file), "%s/splitvm-bench-pmem-%d.img", tmp ? tmp : "/var/tmp",
	         (int)getpid());
	*v = (struct vm){
		.core_bin = argv[1], .devproc_bin = argv[2], .guest = argv[3], .file = file
	};

	file_make(file);
	host_measure(file, n, &h);
	guest_measure(v, n, &g);
	unlink(file);
	q = qemu_flushes(argv[4], &qbuf);
	tpu = tsc_per_us();

	gw = stats_of(g.write_cyc, n);
	gf = stats_of(g.flush_cyc, n);
	gb = stats_of(g.both_cyc, n);
	scale(&gw, tpu);
	scale(&gf, tpu);
	scale(&gb, tpu);
	gcold = (double)g.bytes / ((double)g.cold / tpu);
	gwarm = (double)g.bytes / ((double)g.warm / tpu);
	tsc_ratio = (double)(g.tsc1 - g.tsc0) / (g.host_tsc1 - g.host_tsc0);

	printf("virtio-pmem flush, %zu rounds of a 4 KiB write + FLUSH; file %s (%" PRIu64
	       " MiB)\n",
	       n, file, (uint64_t)(pmem_size / MIB));
	printf("TSC %.1f MHz; guest TSC ticks / host TSC ticks over the run: %.3f\n", tpu,
	       tsc_ratio);
	printf("  %-44s %9s %9s %9s\n", "latency (µs)", "p50", "p99", "mean");
	row("host: memcpy 4 KiB into the mapping+fdatasync", &h.map_sync);
	row("host: pwrite 4 KiB + fdatasync", &h.pwrite_sync);
	row("guest: 4 KiB write into the region", &gw);
	printf("  %-44s %9.1f (least of 16)\n", "guest: 4 KiB write into RAM, for scale",
	       (double)g.ram_write / tpu);
	row("guest: FLUSH (notify to used)", &gf);
	row("guest: 4 KiB write + FLUSH", &gb);
	row("QEMU 7.2 TCG: flush_request to response", &q);
	printf("  (QEMU: %zu flushes of Linux from %s)\n", q.n, argv[4]);
	printf("  %-44s %9s %9s\n", "region write throughput (MB/s)", "cold", "warm");
	printf("  %-44s %9.0f %9.0f\n", "host: 1 MiB memcpys over the file mapping", h.cold_mbs,
	       h.warm_mbs);
	printf("  %-44s %9.0f %9.0f\n", "guest: 1 MiB rep movsq over the region", gcold, gwarm);
	printf("ratios (target):\n");
	printf("  guest write+FLUSH p50 / host memcpy+fdatasync p50: %.2fx (<= 1.2x)\n",
	       gb.p50 / h.map_sync.p50);
	printf("  guest FLUSH p50 / host memcpy+fdatasync p50:       %.2fx\n",
	       gf.p50 / h.map_sync.p50);
	printf("  guest FLUSH p50 / QEMU flush p50:                  %.2fx\n", gf.p50 / q.p50);
	printf("  host memcpy / guest throughput, warm:              %.2fx (<= 1.1x)\n",
	       h.warm_mbs / gwarm);
	printf("  host memcpy / guest throughput, cold:              %.2fx\n", h.cold_mbs / gcold);
	free(g.write_cyc);
	free(g.flush_cyc);
	free(g.both_cyc);
	free(qbuf);
	free(v);
	return 0;
}
