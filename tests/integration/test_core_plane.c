/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The machine plane against the real splitvm-core: this process is the
 * supervisor.  It starts the core supervised (fork + exec, the fd channel a
 * socketpair end on argv), sends MachineStart, maps base RAM from a memfd of
 * its own, resumes the vCPUs and drives the test guest's "plane" scenario
 * through a mailbox in that RAM:
 *   - the guest runs (its progress counter moves) and PASSes at the end;
 *   - MemoryMapQuery lists RAM, the hole's MMIO ranges and the device-memory
 *     area, and the regions mapped later with their memslots;
 *   - a sealed memfd mapped into the device-memory area is read by the guest
 *     (checksum) and the guest's writes show in this process's mapping;
 *   - pause stops the progress counter, resume lets it go on;
 *   - every invalid RegionMap of a table gets its field and rule, and the
 *     core keeps serving; unmap frees the memslot for the next map;
 *   - MachinePowerdown{force=false} presses the power button and answers at
 *     once; the plane scenario ignores it and runs on;
 *   - MachinePowerdown{force} ends a running core with status 0, and one
 *     that has no machine yet too.
 * SKIPs (77) when /dev/kvm is not usable.
 *
 * usage: test_core_plane SPLITVM_CORE GUEST_ELF
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

#define MAILBOX_GPA 0x4000000ull
#define DEVMEM_SIZE ((1 * GIB - RAM_SIZE) + 2 * GIB) /* maxmem - ram + slots GiB */
#define DIMM_SIZE   (4 * MIB)
#define PLANE_MAGIC 0x21736d7674696c70ull
#define PAGE_WORDS  512

static int core_wait(struct core *c)
{
	int status = 0;

	CHECK(waitpid(c->pid, &status, 0) == c->pid, "waitpid: %s", strerror(errno));
	c->pid = 0;
	core_log(c);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- calls: core_call_raw() raw, checked calls (harness.c) ------------- */

static void call_fails(struct core *c, const ProtobufCMessage *req, int code, const char *field,
                       const char *text)
{
	struct ipc_msg *reply = NULL;
	struct ipc_err err = { .code = IPC_OK };
	int rc = core_call_raw(c, req, &reply, &err);

	CHECK(rc == -IPC_ERR_PEER, "%s: want an ErrorReply, got %d (%s)",
	      req->descriptor->short_name, rc, err.text);
	CHECK(err.peer_code == code && strcmp(err.field, field) == 0 && strstr(err.text, text),
	      "%s: got code %d field '%s' text '%s'; want %d '%s' '%s'",
	      req->descriptor->short_name, err.peer_code, err.field, err.text, code, field, text);
}

/* RegionMap with @fd (or none when -1) sent first under a fresh tag. */
static int __map(struct core *c, const char *name, int fd, uint64_t offset, uint64_t gpa,
                 uint64_t size, bool ro, struct ipc_err *err)
{
	Splitvm__RegionMap m = SPLITVM__REGION_MAP__INIT;
	struct ipc_msg *reply = NULL;
	int rc;

	m.region = (char *)name;
	m.offset = offset;
	m.gpa = gpa;
	m.size = size;
	m.readonly = ro;
	if (fd >= 0) {
		m.fd_tag = c->next_tag++;
		rc = ipc_fdchan_send(c->fdch, m.fd_tag, &fd, 1, err);
		if (rc < 0)
			return rc;
	}
	rc = core_call_raw(c, &m.base, &reply, err);
	ipc_msg_free(reply);
	return rc;
}

static void map(struct core *c, const char *name, int fd, uint64_t offset, uint64_t gpa,
                uint64_t size)
{
	struct ipc_err err = { .code = IPC_OK };

	CHECK(__map(c, name, fd, offset, gpa, size, false, &err) == 0, "map %s: %s (field '%s')",
	      name, err.text, err.field);
}

static void unmap(struct core *c, const char *name, int want_code, const char *field,
                  const char *text)
{
	Splitvm__RegionUnmap m = SPLITVM__REGION_UNMAP__INIT;

	m.region = (char *)name;
	if (want_code)
		call_fails(c, &m.base, want_code, field, text);
	else
		core_call_ok(c, &m.base);
}

static void expect_entry(const struct ipc_msg *map, const char *name, Splitvm__RegionKind kind,
                         uint64_t gpa, uint64_t size, bool slotted)
{
	const Splitvm__MemoryMapEntry *e = find_entry(map, name);

	CHECK(e, "no '%s' in the memory map", name);
	CHECK(e->kind == kind && e->gpa == gpa && e->size == size && (e->slot >= 0) == slotted,
	      "%s: kind %d gpa 0x%" PRIx64 " size 0x%" PRIx64 " slot %d", name, e->kind, e->gpa,
	      e->size, e->slot);
}

static void plane_machine_start(struct core *c, const char *kernel, const char *console)
{
	Splitvm__MachineStart s = SPLITVM__MACHINE_START__INIT;
	Splitvm__VmConfig vm = SPLITVM__VM_CONFIG__INIT;
	struct ipc_msg *reply;
	char cmdline[128];

	snprintf(cmdline, sizeof(cmdline), "scenario=plane mailbox=0x%llx devmem=0x%llx",
	         MAILBOX_GPA, DEVMEM_BASE);
	vm.name = (char *)"plane";
	vm.ram_size = RAM_SIZE;
	vm.slots = 2;
	vm.maxmem = 1 * GIB;
	vm.vcpus = 2;
	vm.kernel = (char *)kernel;
	vm.cmdline = cmdline;
	vm.serial = SPLITVM__SERIAL_TYPE__SERIAL_FILE;
	vm.serial_path = (char *)console;
	s.config = &vm;

	/* A config the command line would refuse is refused in its words. */
	vm.maxmem = 0;
	call_fails(c, &s.base, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "slots",
	           "slots specified but no max-size");
	vm.maxmem = 1 * GIB;

	reply = core_call(c, &s.base);
	CHECK(reply->type->type == SPLITVM__MSG_TYPE__MSG_MEMORY_MAP, "MachineStart answered %s",
	      reply->type->name);
	/* Base RAM is expected, not mapped yet: slot -1. */
	expect_entry(reply, "ram-low", SPLITVM__REGION_KIND__REGION_RAM, 0, RAM_SIZE, false);
	expect_entry(reply, "device-memory-area", SPLITVM__REGION_KIND__REGION_RESERVED,
	             DEVMEM_BASE, DEVMEM_SIZE, false);
	ipc_msg_free(reply);
	call_fails(c, &s.base, SPLITVM__ERROR_CODE__ERR_ALREADY_EXISTS, "config",
	           "already started");
}

/* ---- memory ---------------------------------------------------------- */

static int sealed_memfd(const char *name, uint64_t size, void **map_out)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *p;

	CHECK(fd >= 0, "memfd_create: %s", strerror(errno));
	CHECK(ftruncate(fd, (off_t)size) == 0, "ftruncate: %s", strerror(errno));
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK) == 0, "seal: %s",
	      strerror(errno));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED, "mmap: %s", strerror(errno));
	*map_out = p;
	return fd;
}

static volatile uint64_t *mailbox(void *ram)
{
	return (volatile uint64_t *)((uint8_t *)ram + MAILBOX_GPA);
}

/* The guest's progress counter, once it has moved past @than. */
static uint64_t wait_progress(volatile uint64_t *mb, uint64_t than)
{
	uint64_t end = now_ms() + DEADLINE_MS, v;

	while ((v = __atomic_load_n(&mb[0], __ATOMIC_ACQUIRE)) <= than) {
		CHECK(now_ms() < end, "the guest's progress stays at %" PRIu64, v);
		usleep(1000);
	}
	return v;
}

static void command(volatile uint64_t *mb, uint64_t cmd)
{
	uint64_t end = now_ms() + DEADLINE_MS;

	__atomic_store_n(&mb[1], cmd, __ATOMIC_RELEASE);
	while (__atomic_load_n(&mb[2], __ATOMIC_ACQUIRE) != cmd) {
		CHECK(now_ms() < end, "the guest did not complete command %" PRIu64, cmd);
		usleep(1000);
	}
}

static uint64_t page_checksum(const uint64_t *w)
{
	uint64_t sum = 0xcbf29ce484222325ull;

	for (unsigned i = 0; i < PAGE_WORDS; i++) {
		sum ^= w[i];
		sum *= 0x100000001b3ull;
	}
	return sum;
}

/* ---- the table of refused RegionMaps ---------------------------------- */

struct bad_map {
	const char *what;
	const char *region;
	bool send_fd;
	uint64_t offset, gpa, size;
	bool ro;
	int code;
	const char *field, *text;
};

#define E_INVAL SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT
#define E_EXIST SPLITVM__ERROR_CODE__ERR_ALREADY_EXISTS

/* With dimm0 mapped at DEVMEM_BASE. */
static const struct bad_map bad_maps[] = {
	{ "in the hole", "x0", true, 0, 0xc0000000ull, DIMM_SIZE, false, E_INVAL, "gpa",
	  "outside the device-memory area" },
	{ "past the device-memory area", "x1", true, 0, DEVMEM_BASE + DEVMEM_SIZE - 2 * MIB,
	  DIMM_SIZE, false, E_INVAL, "gpa", "outside the device-memory area" },
	{ "inside RAM", "x2", true, 0, 0x1000000ull, DIMM_SIZE, false, E_INVAL, "gpa",
	  "not a base-RAM range" },
	{ "misaligned gpa", "x3", true, 0, DEVMEM_BASE + 64 * MIB + 0x800, DIMM_SIZE, false,
	  E_INVAL, "gpa", "not a multiple of the page size" },
	{ "misaligned size", "x4", true, 0, DEVMEM_BASE + 64 * MIB, 0x1800, false, E_INVAL, "size",
	  "not a multiple of the page size" },
	{ "misaligned offset", "x5", true, 0x10, DEVMEM_BASE + 64 * MIB, DIMM_SIZE, false, E_INVAL,
	  "offset", "not a multiple of the page size" },
	{ "zero size", "x6", true, 0, DEVMEM_BASE + 64 * MIB, 0, false, E_INVAL, "size",
	  "must not be zero" },
	{ "fd too small", "x7", true, 0, DEVMEM_BASE + 64 * MIB, 2 * DIMM_SIZE, false, E_INVAL,
	  "size", "fewer than offset + size" },
	{ "offset past the fd", "x8", true, 2 * MIB, DEVMEM_BASE + 64 * MIB, DIMM_SIZE, false,
	  E_INVAL, "size", "fewer than offset + size" },
	{ "overlapping dimm0", "x9", true, 0, DEVMEM_BASE + 2 * MIB, DIMM_SIZE, false, E_INVAL,
	  "gpa", "overlaps region 'dimm0'" },
	{ "duplicate region id", "dimm0", true, 0, DEVMEM_BASE + 64 * MIB, DIMM_SIZE, false,
	  E_EXIST, "region", "already in the memory map" },
	{ "a fixed region's id", "ioapic", true, 0, DEVMEM_BASE + 64 * MIB, DIMM_SIZE, false,
	  E_EXIST, "region", "already in the memory map" },
	{ "base RAM again", "ram-low", true, 0, 0, RAM_SIZE, false, E_EXIST, "region",
	  "already in the memory map" },
	{ "not an id", "9lives", true, 0, DEVMEM_BASE + 64 * MIB, DIMM_SIZE, false, E_INVAL,
	  "region", "is not an id" },
	{ "no fd", "x10", false, 0, DEVMEM_BASE + 64 * MIB, DIMM_SIZE, false, E_INVAL, "fd_tag",
	  "must name the fd" },
	{ "overflowing", "x11", true, 0, 0xfffffffffffff000ull, 0x2000, false, E_INVAL, "size",
	  "overflows" },
};

static void refused_maps(struct core *c, int fd)
{
	for (size_t i = 0; i < sizeof(bad_maps) / sizeof(bad_maps[0]); i++) {
		const struct bad_map *b = &bad_maps[i];
		struct ipc_err err = { .code = IPC_OK };
		int rc = __map(c, b->region, b->send_fd ? fd : -1, b->offset, b->gpa, b->size,
		               b->ro, &err);

		CHECK(rc == -IPC_ERR_PEER, "%s: want an ErrorReply, got %d (%s)", b->what, rc,
		      err.text);
		CHECK(err.peer_code == b->code && !strcmp(err.field, b->field) &&
		              strstr(err.text, b->text),
		      "%s: got code %d field '%s' text '%s'; want %d '%s' '%s'", b->what,
		      err.peer_code, err.field, err.text, b->code, b->field, b->text);
	}
}

/* ---- the scenarios ----------------------------------------------------- */

static void full_life(const char *core_bin, const char *kernel)
{
	Splitvm__VcpusPause pause = SPLITVM__VCPUS_PAUSE__INIT;
	Splitvm__VcpusResume resume = SPLITVM__VCPUS_RESUME__INIT;
	Splitvm__MachinePowerdown soft = SPLITVM__MACHINE_POWERDOWN__INIT;
	Splitvm__DtbQuery dq = SPLITVM__DTB_QUERY__INIT;
	const Splitvm__MemoryMapEntry *e;
	const Splitvm__Dtb *dtb;
	struct ipc_msg *reply;
	char console[128], text[160];
	void *ram, *dimm;
	volatile uint64_t *mb;
	uint64_t *dw, sum, p1, p2;
	struct core c;
	int ram_fd, dimm_fd, slot, status;
	FILE *f;
	size_t n;

	core_spawn(&c, core_bin, "plane", false);
	snprintf(console, sizeof(console), "%s/console.txt", c.dir);

	/* Nothing but MachineStart (and power-down) before MachineStart. */
	call_fails(&c, &resume.base, E_INVAL, "", "send MachineStart first");
	plane_machine_start(&c, kernel, console);

	ram_fd = sealed_memfd("plane-ram", RAM_SIZE, &ram);
	mb = mailbox(ram);
	call_fails(&c, &resume.base, E_INVAL, "region",
	           "'ram-low' [0x0, 0x10000000) is not "
	           "mapped yet");
	call_fails(&c, &dq.base, E_INVAL, "", "built at the first VcpusResume");
	map(&c, "ram-low", ram_fd, 0, 0, RAM_SIZE);
	core_call_ok(&c, &resume.base);
	p1 = wait_progress(mb, 0);
	printf("guest running, progress %" PRIu64 "\n", p1);

	/* The map: RAM with its slot, the hole's MMIO ranges, the area. */
	reply = query_map(&c);
	expect_entry(reply, "ram-low", SPLITVM__REGION_KIND__REGION_RAM, 0, RAM_SIZE, true);
	expect_entry(reply, "ioapic", SPLITVM__REGION_KIND__REGION_MMIO, 0xfec00000ull, 0x1000,
	             false);
	expect_entry(reply, "lapic", SPLITVM__REGION_KIND__REGION_MMIO, 0xfee00000ull, 0x100000,
	             false);
	expect_entry(reply, "virtio-mmio", SPLITVM__REGION_KIND__REGION_MMIO, 0xd0000000ull,
	             0x200 * 32, false);
	expect_entry(reply, "device-memory-area", SPLITVM__REGION_KIND__REGION_RESERVED,
	             DEVMEM_BASE, DEVMEM_SIZE, false);
	ipc_msg_free(reply);

	/* The FDT the guest got. */
	reply = core_call(&c, &dq.base);
	dtb = (const void *)reply->body;
	CHECK(dtb->blob.len > 40 && dtb->blob.data[0] == 0xd0 && dtb->blob.data[1] == 0x0d &&
	              dtb->blob.data[2] == 0xfe && dtb->blob.data[3] == 0xed,
	      "Dtb: %zu bytes without the FDT magic", dtb->blob.len);
	ipc_msg_free(reply);

	/* A sealed memfd in the device-memory area, both ways. */
	dimm_fd = sealed_memfd("plane-dimm0", DIMM_SIZE, &dimm);
	dw = dimm;
	dw[0] = PLANE_MAGIC;
	for (unsigned i = 1; i < PAGE_WORDS; i++)
		dw[i] = i * 0x9e3779b97f4a7c15ull;
	sum = page_checksum(dw);
	map(&c, "dimm0", dimm_fd, 0, DEVMEM_BASE, DIMM_SIZE);
	reply = query_map(&c);
	expect_entry(reply, "dimm0", SPLITVM__REGION_KIND__REGION_DEVICE_MEMORY, DEVMEM_BASE,
	             DIMM_SIZE, true);
	slot = find_entry(reply, "dimm0")->slot;
	ipc_msg_free(reply);
	command(mb, 1);
	CHECK(mb[3] == sum, "guest checksum 0x%" PRIx64 ", host 0x%" PRIx64, mb[3], sum);
	for (unsigned i = 0; i < PAGE_WORDS; i++)
		CHECK(dw[PAGE_WORDS + i] == (sum ^ i), "word %u of the guest's page: 0x%" PRIx64, i,
		      dw[PAGE_WORDS + i]);
	printf("device memory: guest checksum matches, guest writes seen\n");

	/* Refusals, while the guest runs; the core serves on. */
	refused_maps(&c, dimm_fd);
	unmap(&c, "nope", SPLITVM__ERROR_CODE__ERR_NOT_FOUND, "region", "no region 'nope'");
	unmap(&c, "ram-low", SPLITVM__ERROR_CODE__ERR_IN_USE, "region", "base RAM");
	printf("%zu refused RegionMaps, 2 refused unmaps\n",
	       sizeof(bad_maps) / sizeof(bad_maps[0]));
	/* The power button: answered at once; this guest ignores it and runs on. */
	core_call_ok(&c, &soft.base);
	p1 = mb[0];
	p2 = wait_progress(mb, p1);
	CHECK(strstr(core_log(&c), "power button pressed"),
	      "no power-button line in the core's log");
	printf("power button pressed, ignored by the guest: progress %" PRIu64 " -> %" PRIu64 "\n",
	       p1, p2);

	/* Pause: the counter stands still; resume: it moves on. */
	core_call_ok(&c, &pause.base);
	p1 = mb[0];
	usleep(200000);
	p2 = mb[0];
	CHECK(p1 == p2, "progress moved while paused: %" PRIu64 " -> %" PRIu64, p1, p2);
	core_call_ok(&c, &pause.base); /* twice is fine */
	core_call_ok(&c, &resume.base);
	p2 = wait_progress(mb, p1);
	printf("paused at %" PRIu64 ", resumed to %" PRIu64 "\n", p1, p2);

	/* Unmap frees the slot: the next map gets it back. */
	unmap(&c, "dimm0", 0, NULL, NULL);
	reply = query_map(&c);
	CHECK(!find_entry(reply, "dimm0"), "dimm0 still in the map after unmap");
	ipc_msg_free(reply);
	map(&c, "dimm0", dimm_fd, 0, DEVMEM_BASE + GIB, DIMM_SIZE);
	reply = query_map(&c);
	e = find_entry(reply, "dimm0");
	CHECK(e && e->gpa == DEVMEM_BASE + GIB && e->slot == slot, "dimm0 again: slot %d, want %d",
	      e ? e->slot : -2, slot);
	ipc_msg_free(reply);

	/* The guest finishes: PASS through the debug exit, status 0. */
	command(mb, 2);
	status = core_wait(&c);
	CHECK(status == 0, "core exit status %d", status);
	f = fopen(console, "r");
	CHECK(f, "no console file %s", console);
	n = fread(c.log, 1, sizeof(c.log) - 1, f);
	c.log[n] = '\0';
	fclose(f);
	snprintf(text, sizeof(text), "magic ok, checksum 0x%" PRIx64, sum);
	CHECK(strstr(c.log, text) && strstr(c.log, "splitvm-guest: PASS"),
	      "console lacks '%s' or PASS:\n%s", text, c.log);
	c.log_len = 0;
	munmap(dimm, DIMM_SIZE);
	munmap(ram, RAM_SIZE);
	close(dimm_fd);
	close(ram_fd);
	core_cleanup(&c);
}

static void forced_powerdown(const char *core_bin, const char *kernel, bool with_machine)
{
	Splitvm__VcpusResume resume = SPLITVM__VCPUS_RESUME__INIT;
	Splitvm__MachinePowerdown force = SPLITVM__MACHINE_POWERDOWN__INIT;
	char console[128];
	void *ram = NULL;
	struct core c;
	int ram_fd = -1, status;

	core_spawn(&c, core_bin, "plane", false);
	if (with_machine) {
		snprintf(console, sizeof(console), "%s/console.txt", c.dir);
		plane_machine_start(&c, kernel, console);
		ram_fd = sealed_memfd("plane-ram", RAM_SIZE, &ram);
		map(&c, "ram-low", ram_fd, 0, 0, RAM_SIZE);
		core_call_ok(&c, &resume.base);
		wait_progress(mailbox(ram), 0);
	}
	force.force = true;
	core_call_ok(&c, &force.base);
	status = core_wait(&c);
	CHECK(status == 0, "forced power-down: exit status %d", status);
	CHECK(strstr(c.log, "power-down (force)"), "no power-down line in the log");
	if (ram) {
		munmap(ram, RAM_SIZE);
		close(ram_fd);
	}
	core_cleanup(&c);
	printf("forced power-down %s a machine: status 0\n", with_machine ? "with" : "without");
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

	full_life(argv[1], argv[2]);
	forced_powerdown(argv[1], argv[2], true);
	forced_powerdown(argv[1], argv[2], false);
	printf("PASS\n");
	return 0;
}
