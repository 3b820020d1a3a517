/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-mem end to end: this process plays the supervisor.  It starts the
 * real splitvm-core supervised with a virtio-mem device in MachineStart's
 * VmConfig, maps base RAM from a memfd, registers the device's 8 GiB sealed
 * backend memfd as a sparse region owned by the device (RegionMap{sparse,
 * owner_device}), starts the real splitvm-devproc --model=virtio-mem with
 * the backend and a state memfd, and boots the test guest's virtio-mem
 * driver scenario.
 *
 *   resize  requested-size 0 -> 1 GiB -> 4 GiB -> 512 MiB -> 0 through the
 *           device process's devctl channel; after each step the guest
 *           settles (its line), DeviceStatus's plugged_size follows, and
 *           the backend's allocated bytes (st_blocks) fall after each
 *           shrink.  Then the crash step: 0 -> 4 GiB while the device
 *           process is killed with SIGKILL again and again and restarted
 *           with epoch + 1, the guest running only while it is down (the
 *           vCPUs are paused otherwise), so that every kill lands mid-plug
 *           whatever the timing; the guest ends with exactly 4 GiB plugged,
 *           never sees ERROR (it would FAIL), and DeviceStatus and the
 *           guest's STATE check agree with the guest's view.
 *   bad     the guest's virtio-mem-bad table; touching unplugged memory
 *           allocates nothing on the host.
 * The device process runs --sandbox=enforce: the pid this test holds is its
 * reaper, whose kill -9 takes the device process along (PDEATHSIG); the
 * test waits until that one is gone too before it starts a successor.  A
 * successor that exits at start is a failure (it once read the answers the
 * core had queued for its dead predecessor).
 * SKIPs (77) when /dev/kvm is not usable.
 *
 * usage: test_vmem_resize SPLITVM_CORE SPLITVM_DEVPROC GUEST_ELF [resize|bad]
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

#define CRASH_KILLS 8
/* The guest's driver plugs at most one memory block per request. */
#define MEMBLOCK (128 * MIB)
/* How long the guest runs while its device process is down, each round. */
#define CRASH_WINDOW_MS 20

/* ---- the tests ---------------------------------------------------------- */

static void test_resize(const char *core, const char *devproc, const char *guest)
{
	static const uint64_t steps[] = { 1 * GIB, 4 * GIB, 512 * MIB, 0 };
	struct vm v = { .core_bin = core, .devproc_bin = devproc, .guest = guest };
	uint64_t before = 0, t0, mid_kills = 0, last = 0;
	unsigned nth = 0, kills = 0, held, failed_starts = 0;

	v.ram_fd = v.backend_fd = v.state_fd = v.core_log_fd = -1;
	vm_boot(&v, "scenario=virtio-mem vmem_steps=5", "0");
	/* The serial port writes byte by byte: wait for the whole geometry, not its start. */
	wait_console(&v, "virtio-mem: region 0x100000000+0x200000000 block 0x200000,", 1);
	CHECK(plugged(&v) == 0, "plugged before any request");

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		uint64_t alloc;

		t0 = now_ms();
		set_requested(&v, steps[i]);
		expect_settle(&v, ++nth, steps[i]);
		CHECK(plugged(&v) == steps[i], "DeviceStatus plugged_size differs after step %zu",
		      i);
		alloc = allocated(&v);
		printf("step %zu: requested 0x%" PRIx64 " settled in %" PRIu64
		       " ms, backend allocated %" PRIu64 " KiB\n",
		       i, steps[i], now_ms() - t0, alloc >> 10);
		CHECK(alloc <= steps[i], "backend holds %" PRIu64 " bytes, more than plugged",
		      alloc);
		if (i && steps[i] < steps[i - 1])
			CHECK(alloc < before, "allocation did not fall on the shrink to 0x%" PRIx64,
			      steps[i]);
		before = alloc;
	}

	/*
	 * Crash: the device process dies again and again while the guest plugs
	 * 4 GiB, on a schedule that does not depend on how fast either side
	 * runs.  The guest only moves while its device process is down: the
	 * vCPUs are paused while a device process is up.  The driver waits for
	 * each answer, so in each window it sends at most one request (128 MiB,
	 * one memory block), which the core holds and replays to the successor.
	 * After k rounds at most k such requests exist, so every kill lands with
	 * at most CRASH_KILLS * 128 MiB of the 4 GiB plugged: mid-plug by
	 * construction.  How far the guest gets in a window (the sleep) only
	 * changes how many held requests get replayed, never the outcome.
	 */
	t0 = now_ms();
	vcpus_pause(&v);
	set_requested(&v, 4 * GIB);
	for (unsigned k = 0; k < CRASH_KILLS; k++) {
		uint64_t p;

		dev_kill(&v);
		kills++;
		vcpus_resume(&v);
		sleep_ms(CRASH_WINDOW_MS);
		vcpus_pause(&v);
		p = dev_restart(&v, &failed_starts);
		CHECK(p != CORE_ENDED, "the core ended with the guest mid-plug");
		CHECK(p >= last && p <= (k + 1) * MEMBLOCK,
		      "after %u rounds 0x%" PRIx64 " plugged (0x%" PRIx64
		      " before); at most one request per round may take effect",
		      k + 1, p, last);
		mid_kills += p < 4 * GIB;
		last = p;
		printf("kill %u: successor epoch %u found 0x%" PRIx64 " plugged\n", k + 1, v.epoch,
		       p);
	}
	slurp(&v);
	held = count(v.core_log, "re-sending held requests");
	vcpus_resume(&v);
	expect_settle(&v, ++nth, 4 * GIB);
	printf("crash step: %" PRIu64 " of %u kills landed mid-plug, %u successors got held "
	       "requests, %u exited at start; settled in %" PRIu64 " ms\n",
	       mid_kills, kills, held, failed_starts, now_ms() - t0);
	CHECK(failed_starts == 0, "%u successors exited at start", failed_starts);
	{
		Splitvm__DeviceStatusQuery q = SPLITVM__DEVICE_STATUS_QUERY__INIT;
		struct ipc_err err = { .code = IPC_OK };
		struct ipc_msg *reply = NULL;

		/*
		 * The guest passes and the core ends right after this line; the
		 * device process dies then (its redial is forbidden).  Asked in
		 * time it must say 4 GiB; too late, the guest's STATE check
		 * below is the proof.
		 */
		if (ipc_call(v.ctl, NULL, &q.base, 2000, &reply, &err) == 0) {
			CHECK(((Splitvm__DeviceStatus *)reply->body)->plugged_size == 4 * GIB,
			      "DeviceStatus plugged_size after the crashes");
			ipc_msg_free(reply);
		} else {
			CHECK(core_ended(&v), "DeviceStatus after the crashes: %s", err.text);
		}
	}
	wait_console(&v, "splitvm-guest: PASS", 1);
	/* usable_region_size: 4 GiB + QEMU's 256 MiB extent. */
	CHECK(count(console_text(&v), "STATE agrees with the guest over 34 memory blocks"),
	      "no STATE check over the whole region");
	CHECK(core_exit_status(&v) == 0, "the core's exit status");
	CHECK(!strstr(console_text(&v), "answered 3"), "the guest saw ERROR");
	printf("resize: ok\n");
	vm_cleanup(&v);
}

static void test_bad(const char *core, const char *devproc, const char *guest)
{
	struct vm v = { .core_bin = core, .devproc_bin = devproc, .guest = guest };
	uint64_t alloc;

	v.ram_fd = v.backend_fd = v.state_fd = v.core_log_fd = -1;
	vm_boot(&v, "scenario=virtio-mem-bad", "256M");
	wait_console(&v, "splitvm-guest: PASS", 1);
	CHECK(core_exit_status(&v) == 0, "the core's exit status");
	alloc = allocated(&v);
	printf("bad: backend allocated %" PRIu64 " KiB with 128 MiB plugged\n", alloc >> 10);
	/* 256 MiB of unplugged memory was written and read: none of it may be there. */
	CHECK(alloc <= 128 * MIB, "the backend holds %" PRIu64 " bytes", alloc);
	slurp(&v);
	CHECK(strstr(v.core_log, "reads all-ones"), "the core logged no unmapped access");
	printf("bad: ok\n");
	vm_cleanup(&v);
}

int main(int argc, char **argv)
{
	const char *which = argc > 4 ? argv[4] : "all";

	if (argc < 4) {
		fprintf(stderr, "usage: %s SPLITVM_CORE SPLITVM_DEVPROC GUEST_ELF [resize|bad]\n",
		        argv[0]);
		return 2;
	}
	test_setup();
	if (!strcmp(which, "all") || !strcmp(which, "bad"))
		test_bad(argv[1], argv[2], argv[3]);
	if (!strcmp(which, "all") || !strcmp(which, "resize"))
		test_resize(argv[1], argv[2], argv[3]);
	printf("PASS\n");
	return 0;
}
