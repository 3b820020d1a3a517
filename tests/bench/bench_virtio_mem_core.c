// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Linux's recorded virtio-mem stream (0 -> 4 GiB -> 0 recorded in the same
 * run by tests/bench/bench_virtio_mem.sh, else the committed recording's
 * 0 -> 1 -> 4 GiB -> 512 MiB -> 0) through the real splitvm-core's
 * virtio-mmio transport and a sandboxed splitvm-devproc, driven by the test
 * guest (vmem-replay scenario), every answer checked against QEMU's.
 * Per request: the guest's TSC from its
 * QueueNotify write to its seeing the used element, halted until the
 * device's interrupt as Linux waits, so the time covers the core's
 * ioeventfd wake-up, the DeviceRequest over IPC, the model (punch-hole,
 * journal), the core's slot mapping, the used-ring update and the
 * interrupt.  The same stream again with the guest polling the used ring
 * (virtio_poll=1), for comparison: on an emulating KVM a spinning vCPU
 * slows every memslot change (tests/guest/idle.c).  Beside both
 * QEMU's own time from the same recording's trace timestamps (request line
 * to response line, under TCG).  Then: requested-size change to the guest
 * driver's settle line (+4 GiB, -4 GiB), kill -9 to the successor's first
 * devctl answer, and the device process's VmRSS.
 * The TSC rate is measured on the host (KVM runs the guest's TSC at the
 * host's rate unless TSC scaling is set, which splitvm-core does not).
 *
 * usage: bench_virtio_mem_core SPLITVM_CORE SPLITVM_DEVPROC GUEST_ELF RECORDING.log
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"
#include "vmem_replay_run.h"

#define RESTARTS 8

static void row(const char *what, struct stats a, struct stats q)
{
	printf("%-22s %5zu %10.1f %10.1f %12.1f | %10.1f %10.1f %12.1f | %6.2fx\n", what, a.n,
	       a.p50, a.p99, a.sum, q.p50, q.p99, q.sum, q.sum > 0 ? a.sum / q.sum : 0.0);
}

static void stream(char **argv, const struct vr_rec *r, double tpu, const char *guest_args,
                   const char *how)
{
	struct vm v = { .core_bin = argv[1], .devproc_bin = argv[2], .guest = argv[3] };
	double *sv = calloc(r->nreq, sizeof(double)), *qv = calloc(r->nreq, sizeof(double));
	struct replay_out out;
	size_t k = 0;

	CHECK(sv && qv, "calloc");
	v.ram_fd = v.backend_fd = v.state_fd = v.core_log_fd = -1;
	replay_recording(&v, r, guest_args, &out);
	vm_cleanup(&v);
	printf("\n%s\n%-22s %5s %10s %10s %12s | %10s %10s %12s | %7s\n", how, "per request (µs)",
	       "n", "splitvm p50", "p99", "total", "QEMU p50", "p99", "total", "ratio");
	for (int type = 0; type <= 3; type++) {
		static const char *const names[] = { "PLUG", "UNPLUG", "UNPLUG_ALL", "STATE" };
		size_t n = 0;

		k = 0;
		for (size_t i = 0; i < r->n; i++) {
			if (r->ev[i].kind != VR_REQ)
				continue;
			if (r->ev[i].type == type) {
				sv[n] = (double)out.cycles[k] / tpu;
				qv[n] = r->ev[i].qemu_us;
				n++;
			}
			k++;
		}
		if (n)
			row(names[type], stats_of(sv, n), stats_of(qv, n));
	}
	k = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (r->ev[i].kind == VR_REQ) {
			sv[k] = (double)out.cycles[k] / tpu;
			qv[k] = r->ev[i].qemu_us;
			k++;
		}
	}
	row("all requests", stats_of(sv, k), stats_of(qv, k));
	printf("(the whole replay, requested-size changes and checks included: %" PRIu64 " ms)\n",
	       out.wall_us / 1000);
	free(out.cycles);
	free(sv);
	free(qv);
}

static uint64_t rss_kib(pid_t pid)
{
	char path[64], line[256];
	uint64_t kib = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %" SCNu64, &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/*
 * RESTARTS times kill -9 the device process and time its successor's
 * first devctl answer, which comes after it has restated every slot that
 * holds plugged blocks; each successor must find @plugged bytes plugged.
 */
static void restarts(struct vm *v, uint64_t plugged, const char *what)
{
	double worst = 0, sum = 0;
	unsigned failed = 0;

	for (unsigned i = 0; i < RESTARTS; i++) {
		double t, t0 = now_us();

		dev_kill(v);
		CHECK(dev_restart(v, &failed) == plugged, "the successor's plugged size changed");
		t = now_us() - t0;
		sum += t;
		worst = t > worst ? t : worst;
	}
	printf("kill -9 to the successor's first devctl answer, %s: mean %.1f ms, worst %.1f ms "
	       "(%u runs, %u failed starts)\n",
	       what, sum / RESTARTS / 1e3, worst / 1e3, RESTARTS, failed);
}

static void resize_and_restart(char **argv)
{
	struct vm v = { .core_bin = argv[1], .devproc_bin = argv[2], .guest = argv[3] };
	double t0, up, down;

	v.ram_fd = v.backend_fd = v.state_fd = v.core_log_fd = -1;
	vm_boot(&v, "scenario=virtio-mem vmem_steps=3", "0");
	wait_console(&v, "virtio-mem: region 0x100000000+0x200000000 block 0x200000,", 1);
	t0 = now_us();
	set_requested(&v, 4 * GIB);
	expect_settle(&v, 1, 4 * GIB);
	up = now_us() - t0;
	printf("\ndevice process VmRSS with 4 GiB plugged: %" PRIu64 " KiB\n",
	       rss_kib(dev_child(v.dev_pid)));
	restarts(&v, 4 * GIB, "4 GiB plugged");
	t0 = now_us();
	set_requested(&v, 0);
	expect_settle(&v, 2, 0);
	down = now_us() - t0;
	printf("requested-size change to the guest's settle line (console polled every 5-10 ms):"
	       "\n  +4 GiB %.1f ms, -4 GiB %.1f ms\n",
	       up / 1e3, down / 1e3);
	restarts(&v, 0, "nothing plugged");
	printf("device process VmRSS after restarts, idle: %" PRIu64 " KiB\n",
	       rss_kib(dev_child(v.dev_pid)));
	set_requested(&v, 128 * MIB);
	expect_settle(&v, 3, 128 * MIB);
	vm_cleanup(&v);
}

int main(int argc, char **argv)
{
	struct vr_rec r;
	char err[512];
	double tpu;

	if (argc < 5) {
		fprintf(stderr, "usage: %s SPLITVM_CORE SPLITVM_DEVPROC GUEST_ELF RECORDING.log\n",
		        argv[0]);
		return 2;
	}
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("SKIP: /dev/kvm is not usable: %s\n", strerror(errno));
		return 77;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGPIPE, SIG_IGN);
	CHECK(vr_load(&r, argv[4], err, sizeof(err)) == 0, "%s", err);
	tpu = tsc_per_us();
	printf("%s: %zu requests; TSC %.1f MHz\n", argv[4], r.nreq, tpu);
	stream(argv, &r, tpu, "", "the guest halts for the device's interrupt, as Linux waits:");
	stream(argv, &r, tpu, "virtio_poll=1", "the guest polls the used ring (virtio_poll=1):");
	resize_and_restart(argv);
	vr_free(&r);
	return 0;
}
