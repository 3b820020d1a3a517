/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * DIMM hotplug against the real splitvm-core: this process is the
 * supervisor (as in test_core_plane.c) and the test guest's "dimm" scenario
 * drives the ACPI memory-hotplug controller as QEMU's AML would.
 *   boot 1 (-m 256M,slots=4,maxmem=8G):
 *     - a DIMM plugged before the first VcpusResume is present at boot: the
 *       guest finds it enabled, and its pattern shows in the host's memfd;
 *     - a 1 GiB DIMM plugged while the guest runs: the guest reads its range
 *       from the controller, writes its pattern, answers _OST(1, 0), which
 *       arrives on core-events as ACPI_DEVICE_OST; the pattern is in the
 *       host's memfd;
 *     - the table of refused DimmPlugs and DimmUnplugRequests, each with its
 *       code, field and rule, the memory map unchanged after each;
 *     - DimmUnplugRequest twice while the vCPUs are paused: the second is
 *       BUSY; after resume the guest ejects, DEVICE_DELETED arrives on
 *       core-events and the region is gone from the memory map;
 *   boot 2 (dimm_refuse=1): the guest answers the eject request with
 *     _OST(3, 0x82); ACPI_DEVICE_OST carries that status, the DIMM stays
 *     mapped and its data intact, and a later request is refused again.
 * SKIPs (77) when /dev/kvm is not usable.
 *
 * usage: test_dimm_hotplug SPLITVM_CORE GUEST_ELF
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define N_SLOTS     4
#define MAXMEM      (8 * GIB)
#define DEVMEM_SIZE (MAXMEM - RAM_SIZE + N_SLOTS * GIB)
#define COLD_SIZE   (128 * MIB)
#define HOT_SIZE    (1 * GIB)
#define SMALL_SIZE  (2 * MIB)
#define DIMM_MAGIC  0x6d6d69642d6d7673ull /* tests/guest/scn_dimm.c */
#define DIMM_STRIDE (2 * MIB)

#define OST_DEVICE_CHECK  1u
#define OST_EJECT_REQUEST 3u
#define OST_DEVICE_BUSY   0x82u

#define E_INVAL SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT
#define E_EXIST SPLITVM__ERROR_CODE__ERR_ALREADY_EXISTS
#define E_NOSPC SPLITVM__ERROR_CODE__ERR_NO_SPACE
#define E_INUSE SPLITVM__ERROR_CODE__ERR_IN_USE
#define E_NOENT SPLITVM__ERROR_CODE__ERR_NOT_FOUND
#define E_BUSY  SPLITVM__ERROR_CODE__ERR_BUSY

/* A DIMM's backend as memsrv would hand it over: a sealed memfd. */
struct backend {
	int fd;
	void *map;
	uint64_t size;
};

static void core_stop(struct core *c)
{
	Splitvm__MachinePowerdown force = SPLITVM__MACHINE_POWERDOWN__INIT;
	struct ipc_msg *reply = NULL;
	struct ipc_err err = { .code = IPC_OK };
	int status = 0;

	force.force = true;
	CHECK(ipc_call(c->req, NULL, &force.base, DEADLINE_MS, &reply, &err) == 0,
	      "forced power-down: %s", err.text);
	ipc_msg_free(reply);
	CHECK(waitpid(c->pid, &status, 0) == c->pid, "waitpid: %s", strerror(errno));
	c->pid = 0;
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "core exit status 0x%x", status);
	CHECK(!strstr(read_console(c), "FAIL"), "the guest failed");
	core_cleanup(c);
}

/* ---- calls: core_call_raw() raw, checked calls (harness.c) ------------- */

static void expect_refusal(int rc, const struct ipc_err *err, const char *what, int code,
                           const char *field, const char *text)
{
	CHECK(rc == -IPC_ERR_PEER, "%s: want an ErrorReply, got %d (%s)", what, rc, err->text);
	CHECK(err->peer_code == code && !strcmp(err->field, field) && strstr(err->text, text),
	      "%s: got code %d field '%s' text '%s'; want %d '%s' '%s'", what, err->peer_code,
	      err->field, err->text, code, field, text);
}

static void backend_new(struct backend *b, const char *name, uint64_t size)
{
	b->fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(b->fd >= 0, "memfd_create: %s", strerror(errno));
	CHECK(ftruncate(b->fd, (off_t)size) == 0, "ftruncate: %s", strerror(errno));
	CHECK(fcntl(b->fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK) == 0, "seal: %s",
	      strerror(errno));
	b->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
	CHECK(b->map != MAP_FAILED, "mmap: %s", strerror(errno));
	b->size = size;
}

static void backend_free(struct backend *b)
{
	munmap(b->map, b->size);
	close(b->fd);
}

/* DimmPlug of @b (its fd sent first under a fresh tag); the reply's text. */
static int __dimm_plug(struct core *c, const char *id, const char *memdev, int slot, uint64_t addr,
                       const struct backend *b, uint64_t size, char *text, size_t text_len,
                       struct ipc_err *err)
{
	Splitvm__DimmPlug req = SPLITVM__DIMM_PLUG__INIT;
	Splitvm__DeviceConfig dev = SPLITVM__DEVICE_CONFIG__INIT;
	struct ipc_msg *reply = NULL;
	int fd = b->fd, rc;

	dev.id = (char *)id;
	dev.model = SPLITVM__DEVICE_MODEL__MODEL_DIMM;
	dev.memdev = (char *)memdev;
	dev.node = -1;
	dev.slot = slot;
	dev.addr = addr;
	req.device = &dev;
	req.size = size;
	req.fd_tag = c->next_tag++;
	rc = ipc_fdchan_send(c->fdch, req.fd_tag, &fd, 1, err);
	if (rc < 0)
		return rc;
	rc = core_call_raw(c, &req.base, &reply, err);
	if (rc == 0 && text) {
		const Splitvm__OkReply *ok = (const void *)reply->body;

		CHECK(reply->type->type == SPLITVM__MSG_TYPE__MSG_OK_REPLY, "DimmPlug answered %s",
		      reply->type->name);
		snprintf(text, text_len, "%s", ok->text);
	}
	ipc_msg_free(reply);
	return rc;
}

/* Plug, expect success; returns the address the core chose. */
static uint64_t dimm_plug(struct core *c, const char *id, const char *memdev,
                          const struct backend *b, unsigned want_slot)
{
	struct ipc_err err = { .code = IPC_OK };
	char text[256], want[96];
	const char *a;
	uint64_t addr;

	CHECK(__dimm_plug(c, id, memdev, -1, 0, b, b->size, text, sizeof(text), &err) == 0,
	      "DimmPlug %s: %s (field '%s')", id, err.text, err.field);
	snprintf(want, sizeof(want), "dimm %s slot %u addr 0x", id, want_slot);
	CHECK(!strncmp(text, want, strlen(want)), "DimmPlug %s: '%s', want '%s...'", id, text,
	      want);
	a = text + strlen(want) - 2;
	addr = strtoull(a, NULL, 16);
	CHECK(addr >= DEVMEM_BASE && addr + b->size <= DEVMEM_BASE + DEVMEM_SIZE,
	      "DimmPlug %s: addr 0x%" PRIx64 " outside the area", id, addr);
	return addr;
}

static int __dimm_unplug(struct core *c, const char *id, struct ipc_err *err)
{
	Splitvm__DimmUnplugRequest req = SPLITVM__DIMM_UNPLUG_REQUEST__INIT;
	struct ipc_msg *reply = NULL;
	int rc;

	req.device = (char *)id;
	rc = core_call_raw(c, &req.base, &reply, err);
	ipc_msg_free(reply);
	return rc;
}

static void dimm_unplug(struct core *c, const char *id)
{
	struct ipc_err err = { .code = IPC_OK };

	CHECK(__dimm_unplug(c, id, &err) == 0, "DimmUnplugRequest %s: %s", id, err.text);
}

/* The memory map in one line: "name@gpa+size/slot ..." to compare. */
static void map_line(struct core *c, char *out, size_t len)
{
	struct ipc_msg *reply = query_map(c);
	const Splitvm__MemoryMap *mm = (const void *)reply->body;
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < mm->n_entries && used < len; i++) {
		const Splitvm__MemoryMapEntry *e = mm->entries[i];
		int n = snprintf(out + used, len - used, "%s@%" PRIx64 "+%" PRIx64 "/%d ", e->name,
		                 e->gpa, e->size, e->slot);

		CHECK(n > 0 && (size_t)n < len - used, "memory map too long for the buffer");
		used += (size_t)n;
	}
	ipc_msg_free(reply);
}

static void expect_mapped(struct core *c, const char *memdev, uint64_t gpa, uint64_t size,
                          bool mapped)
{
	struct ipc_msg *reply = query_map(c);
	const Splitvm__MemoryMapEntry *e = find_entry(reply, memdev);

	if (mapped)
		CHECK(e && e->kind == SPLITVM__REGION_KIND__REGION_DEVICE_MEMORY && e->gpa == gpa &&
		              e->size == size && e->slot >= 0,
		      "%s: want mapped at 0x%" PRIx64 "+0x%" PRIx64 " with a memslot", memdev, gpa,
		      size);
	else
		CHECK(!e, "%s still in the memory map", memdev);
	ipc_msg_free(reply);
}

/* ---- the guest's side ---------------------------------------------------- */

static void dimm_wait_console(struct core *c, const char *text)
{
	uint64_t end = now_ms() + DEADLINE_MS;

	while (!strstr(read_console(c), text)) {
		CHECK(!strstr(read_console(c), "FAIL"), "the guest failed waiting for '%s'", text);
		CHECK(now_ms() < end, "no '%s' on the console", text);
		usleep(2000);
	}
}

/* The guest's pattern over @b, mapped at @gpa (tests/guest/scn_dimm.c). */
static void expect_pattern(const struct backend *b, uint64_t gpa, const char *what)
{
	uint64_t step = b->size < DIMM_STRIDE ? b->size : DIMM_STRIDE;

	for (uint64_t o = 0; o < b->size; o += step) {
		uint64_t w = *(volatile uint64_t *)((uint8_t *)b->map + o);

		CHECK(w == (DIMM_MAGIC ^ (gpa + o)),
		      "%s: word at offset 0x%" PRIx64 " is 0x%" PRIx64, what, o, w);
	}
}

/*
 * Wait for an event about @id on core-events: DEVICE_DELETED when @source
 * is 0, else ACPI_DEVICE_OST with @source and @status.  Others are skipped.
 */
static void wait_event(struct core *c, const char *id, uint32_t source, uint32_t status)
{
	uint64_t end = now_ms() + DEADLINE_MS;

	for (;;) {
		struct ipc_err err = { .code = IPC_OK };
		struct ipc_msg *msg = NULL;
		const Splitvm__Event *ev;
		bool hit = false;
		int64_t left = (int64_t)(end - now_ms());

		CHECK(left > 0, "no %s event for %s (source %u status 0x%x)",
		      source ? "ACPI_DEVICE_OST" : "DEVICE_DELETED", id, source, status);
		if (ipc_recv(c->events, (int)left, &msg, &err) < 0)
			continue;
		CHECK(msg->type->type == SPLITVM__MSG_TYPE__MSG_EVENT, "core-events sent %s",
		      msg->type->name);
		ev = (const void *)msg->body;
		if (!source && ev->kind_case == SPLITVM__EVENT__KIND_DEVICE_DELETED) {
			char path[96];

			snprintf(path, sizeof(path), "/machine/peripheral/%s", id);
			hit = !strcmp(ev->device, id) &&
			      !strcmp(ev->device_deleted->qom_path, path);
		} else if (source && ev->kind_case == SPLITVM__EVENT__KIND_ACPI_DEVICE_OST) {
			const Splitvm__AcpiDeviceOst *o = ev->acpi_device_ost;

			hit = !strcmp(o->device, id) && o->source == source && o->status == status;
		}
		ipc_msg_free(msg);
		if (hit)
			return;
	}
}

/* ---- a machine --------------------------------------------------------- */

static void dimm_machine_start(struct core *c, const char *kernel, const char *extra,
                               struct backend *ram)
{
	Splitvm__MachineStart s = SPLITVM__MACHINE_START__INIT;
	Splitvm__VmConfig vm = SPLITVM__VM_CONFIG__INIT;
	Splitvm__RegionMap m = SPLITVM__REGION_MAP__INIT;
	struct ipc_err err = { .code = IPC_OK };
	struct ipc_msg *reply;
	char cmdline[128];
	int fd;

	snprintf(cmdline, sizeof(cmdline), "scenario=dimm dimm_slots=%d %s", N_SLOTS, extra);
	vm.name = (char *)"dimm";
	vm.ram_size = RAM_SIZE;
	vm.slots = N_SLOTS;
	vm.maxmem = MAXMEM;
	vm.vcpus = 1;
	vm.kernel = (char *)kernel;
	vm.cmdline = cmdline;
	vm.serial = SPLITVM__SERIAL_TYPE__SERIAL_FILE;
	vm.serial_path = c->console;
	s.config = &vm;
	reply = core_call(c, &s.base);
	CHECK(reply->type->type == SPLITVM__MSG_TYPE__MSG_MEMORY_MAP, "MachineStart answered %s",
	      reply->type->name);
	ipc_msg_free(reply);

	backend_new(ram, "dimm-ram", RAM_SIZE);
	m.region = (char *)"ram-low";
	m.size = RAM_SIZE;
	m.fd_tag = c->next_tag++;
	fd = ram->fd;
	CHECK(ipc_fdchan_send(c->fdch, m.fd_tag, &fd, 1, &err) == 0, "send: %s", err.text);
	core_call_ok(c, &m.base);
}

static void resume(struct core *c)
{
	Splitvm__VcpusResume r = SPLITVM__VCPUS_RESUME__INIT;

	core_call_ok(c, &r.base);
}

static void pause_vcpus(struct core *c)
{
	Splitvm__VcpusPause p = SPLITVM__VCPUS_PAUSE__INIT;

	core_call_ok(c, &p.base);
}

/* ---- the table of refused requests ----------------------------------- */

struct bad_plug {
	const char *what;
	const char *id, *memdev;
	int slot;
	uint64_t addr; /* DEVMEM_BASE-relative unless ABS */
	bool abs;
	bool big; /* the 16 GiB backend, else the small one */
	uint64_t size;
	int code;
	const char *field, *text;
};

/* With dimm0 (COLD_SIZE) at DEVMEM_BASE in slot 0 and dimm1 in slot 1. */
static const struct bad_plug bad_plugs[] = {
	{ "duplicate id", "dimm1", "memx", -1, 0, false, false, SMALL_SIZE, E_EXIST, "device.id",
	  "plugged already" },
	{ "memdev in use", "dimmx", "mem1", -1, 0, false, false, SMALL_SIZE, E_INUSE,
	  "device.memdev", "mapped already" },
	{ "slot taken", "dimmx", "memx", 1, 0, false, false, SMALL_SIZE, E_INUSE, "device.slot",
	  "slot 1 of 4 is taken" },
	{ "slot out of range", "dimmx", "memx", N_SLOTS, 0, false, false, SMALL_SIZE, E_INVAL,
	  "device.slot", "not below the machine's 4 slots" },
	{ "size over the area", "dimmx", "memx", -1, 0, false, true, 16 * GIB, E_NOSPC, "size",
	  "no free range" },
	{ "addr misaligned", "dimmx", "memx", -1, COLD_SIZE + 0x800, false, false, SMALL_SIZE,
	  E_INVAL, "device.addr", "not aligned to 0x1000" },
	{ "addr overlapping dimm0", "dimmx", "memx", -1, MIB, false, false, SMALL_SIZE, E_INVAL,
	  "device.addr", "overlaps another device's memory" },
	{ "addr below the area", "dimmx", "memx", -1, 0x80000000ull, true, false, SMALL_SIZE,
	  E_INVAL, "device.addr", "outside the device-memory area" },
	{ "addr past the area", "dimmx", "memx", -1, DEVMEM_SIZE - MIB, false, false, SMALL_SIZE,
	  E_INVAL, "device.addr", "outside the device-memory area" },
	{ "size not a page multiple", "dimmx", "memx", -1, 0, false, false, SMALL_SIZE - 0x800,
	  E_INVAL, "size", "not a non-zero multiple" },
	{ "size over the backend", "dimmx", "memx", -1, 0, false, false, 2 * SMALL_SIZE, E_INVAL,
	  "size", "fewer than" },
	{ "not an id", "9x", "memx", -1, 0, false, false, SMALL_SIZE, E_INVAL, "device.id",
	  "needs an id" },
};

static void refused_plugs(struct core *c)
{
	struct backend small, big;
	char before[4096], after[4096];

	backend_new(&small, "dimm-small", SMALL_SIZE);
	backend_new(&big, "dimm-big", 16 * GIB); /* sparse: nothing is touched */
	map_line(c, before, sizeof(before));
	for (size_t i = 0; i < sizeof(bad_plugs) / sizeof(bad_plugs[0]); i++) {
		const struct bad_plug *b = &bad_plugs[i];
		struct ipc_err err = { .code = IPC_OK };
		uint64_t addr = b->addr && !b->abs ? DEVMEM_BASE + b->addr : b->addr;
		int rc = __dimm_plug(c, b->id, b->memdev, b->slot, addr, b->big ? &big : &small,
		                     b->size, NULL, 0, &err);

		expect_refusal(rc, &err, b->what, b->code, b->field, b->text);
		map_line(c, after, sizeof(after));
		CHECK(!strcmp(before, after), "%s: the memory map changed:\n%s\n%s", b->what,
		      before, after);
	}
	backend_free(&big);
	backend_free(&small);
	printf("%zu refused DimmPlugs, the memory map unchanged\n",
	       sizeof(bad_plugs) / sizeof(bad_plugs[0]));
}

/* ---- the scenarios ----------------------------------------------------- */

static void plug_unplug(const char *core_bin, const char *kernel)
{
	struct backend ram, cold, hot, s2, s3, s4;
	struct ipc_err err = { .code = IPC_OK };
	char line[192], before[4096], after[4096];
	uint64_t hot_addr, a2, a3;
	struct core c;
	int rc;

	core_spawn(&c, core_bin, "dimm", true);
	dimm_machine_start(&c, kernel, "", &ram);

	/* Cold plug: before the first VcpusResume, present at boot. */
	backend_new(&cold, "dimm-cold", COLD_SIZE);
	CHECK(dimm_plug(&c, "dimm0", "mem0", &cold, 0) == DEVMEM_BASE,
	      "the first DIMM goes to the area's start");
	expect_mapped(&c, "mem0", DEVMEM_BASE, COLD_SIZE, true);
	resume(&c);
	snprintf(line, sizeof(line), "dimm slot 0 present addr 0x%llx size 0x%llx node 0 boot",
	         DEVMEM_BASE, COLD_SIZE);
	dimm_wait_console(&c, line);
	dimm_wait_console(&c, "dimm ready, 4 slots");
	expect_pattern(&cold, DEVMEM_BASE, "cold dimm0");
	printf("cold-plugged dimm0 present at boot, pattern seen by the host\n");

	/* Hot plug 1 GiB: the guest scans, fills, acknowledges. */
	backend_new(&hot, "dimm-hot", HOT_SIZE);
	hot_addr = dimm_plug(&c, "dimm1", "mem1", &hot, 1);
	wait_event(&c, "dimm1", OST_DEVICE_CHECK, 0);
	snprintf(line, sizeof(line),
	         "dimm slot 1 present addr 0x%" PRIx64 " size 0x%llx node 0 "
	         "hotplug",
	         hot_addr, HOT_SIZE);
	dimm_wait_console(&c, line);
	expect_pattern(&hot, hot_addr, "hot dimm1");
	expect_mapped(&c, "mem1", hot_addr, HOT_SIZE, true);
	printf("hot-plugged dimm1 (1 GiB at 0x%" PRIx64 "): _OST(1, 0), pattern seen\n", hot_addr);

	refused_plugs(&c);

	/* Fill every slot; one more is refused with the slot error. */
	backend_new(&s2, "dimm-s2", SMALL_SIZE);
	backend_new(&s3, "dimm-s3", SMALL_SIZE);
	backend_new(&s4, "dimm-s4", SMALL_SIZE);
	a2 = dimm_plug(&c, "dimm2", "mem2", &s2, 2);
	wait_event(&c, "dimm2", OST_DEVICE_CHECK, 0);
	a3 = dimm_plug(&c, "dimm3", "mem3", &s3, 3);
	wait_event(&c, "dimm3", OST_DEVICE_CHECK, 0);
	expect_pattern(&s2, a2, "dimm2");
	expect_pattern(&s3, a3, "dimm3");
	map_line(&c, before, sizeof(before));
	rc = __dimm_plug(&c, "dimm4", "mem4", -1, 0, &s4, SMALL_SIZE, NULL, 0, &err);
	expect_refusal(rc, &err, "no free slot", E_NOSPC, "device.slot",
	               "every one of the 4 DIMM slots is taken");
	map_line(&c, after, sizeof(after));
	CHECK(!strcmp(before, after), "no free slot: the memory map changed");
	printf("4 slots full, a fifth DimmPlug refused\n");

	/* A DIMM's region goes only through the controller. */
	{
		Splitvm__RegionUnmap um = SPLITVM__REGION_UNMAP__INIT;
		struct ipc_msg *reply = NULL;

		um.region = (char *)"mem1";
		rc = core_call_raw(&c, &um.base, &reply, &err);
		ipc_msg_free(reply);
		expect_refusal(rc, &err, "RegionUnmap of a DIMM", E_INUSE, "region",
		               "'mem1' is the memory of dimm dimm1");
		expect_mapped(&c, "mem1", hot_addr, HOT_SIZE, true);
	}

	/* Unplug refusals: unknown id; twice while the guest cannot answer. */
	rc = __dimm_unplug(&c, "nope", &err);
	expect_refusal(rc, &err, "unplug unknown", E_NOENT, "device", "no dimm 'nope'");
	pause_vcpus(&c);
	dimm_unplug(&c, "dimm1");
	rc = __dimm_unplug(&c, "dimm1", &err);
	expect_refusal(rc, &err, "unplug twice", E_BUSY, "device", "being removed already");
	expect_mapped(&c, "mem1", hot_addr, HOT_SIZE, true);
	resume(&c);

	/* The guest ejects: DEVICE_DELETED, the region gone, the slot free. */
	wait_event(&c, "dimm1", 0, 0);
	dimm_wait_console(&c, "dimm slot 1 ejected");
	expect_mapped(&c, "mem1", 0, 0, false);
	expect_mapped(&c, "mem0", DEVMEM_BASE, COLD_SIZE, true);
	rc = __dimm_unplug(&c, "dimm1", &err);
	expect_refusal(rc, &err, "unplug after eject", E_NOENT, "device", "no dimm 'dimm1'");
	printf("dimm1 ejected: DEVICE_DELETED, region unmapped\n");

	/* The freed slot takes a new DIMM. */
	dimm_plug(&c, "dimm4", "mem4", &s4, 1);
	wait_event(&c, "dimm4", OST_DEVICE_CHECK, 0);
	printf("slot 1 reused by dimm4\n");

	core_stop(&c);
	backend_free(&s4);
	backend_free(&s3);
	backend_free(&s2);
	backend_free(&hot);
	backend_free(&cold);
	backend_free(&ram);
}

static void refused_eject(const char *core_bin, const char *kernel)
{
	struct backend ram, hot;
	uint64_t addr;
	struct core c;

	core_spawn(&c, core_bin, "dimm", true);
	dimm_machine_start(&c, kernel, "dimm_refuse=1", &ram);
	resume(&c);
	dimm_wait_console(&c, "dimm ready, 4 slots, refusing ejects");

	backend_new(&hot, "dimm-hot", 32 * MIB);
	addr = dimm_plug(&c, "dimm1", "mem1", &hot, 0);
	wait_event(&c, "dimm1", OST_DEVICE_CHECK, 0);
	expect_pattern(&hot, addr, "dimm1");
	for (int round = 0; round < 2; round++) {
		dimm_unplug(&c, "dimm1");
		wait_event(&c, "dimm1", OST_EJECT_REQUEST, OST_DEVICE_BUSY);
		expect_mapped(&c, "mem1", addr, 32 * MIB, true);
		expect_pattern(&hot, addr, "dimm1 after a refused eject");
	}
	CHECK(strstr(core_log(&c), "status 0x82"), "no warning of the refused eject in the log");
	printf("refused eject: ACPI_DEVICE_OST status 0x82 twice, dimm1 mapped, data intact\n");
	core_stop(&c);
	backend_free(&hot);
	backend_free(&ram);
}

int main(int argc, char **argv)
{
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: %s SPLITVM_CORE GUEST_ELF\n", argv[0]);
		return 1;
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("SKIP: /dev/kvm: %s\n", strerror(errno));
		return 77;
	}
	close(fd);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	plug_unplug(argv[1], argv[2]);
	refused_eject(argv[1], argv[2]);
	printf("PASS\n");
	return 0;
}
