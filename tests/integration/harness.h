/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virtio-mem integration tests' supervisor (harness.c): the test
 * process starts the real splitvm-core and splitvm-devproc and plays the
 * supervisor's part on the machine plane and the devctl channel.  Every
 * function fails the test through CHECK() (prints, dumps the logs, exits 1).
 */
#ifndef SPLITVM_TESTS_HARNESS_H
#define SPLITVM_TESTS_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include "devproc_pid.h"
#include "ipc.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

#define RAM_SIZE    (256 * MIB)
#define VMEM_SIZE   (8 * GIB) /* the default device size */
#define DEVMEM_BASE (4 * GIB) /* RAM ends below the hole: device memory at 4 GiB */
#define DEV_ID      "vmem0"
#define MEMDEV      "mem0"
#define DEADLINE_MS 20000
#define SETTLE_MS   60000

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
	/* virtio-pmem's backing file and whether it is mapped read-only. */
	const char *file;
	bool readonly;
	/* The device's geometry; 0 before vm_boot() means the defaults below. */
	uint64_t vmem_size, block_size, devmem_base;
	char core_log[1 << 17];
	size_t core_log_len;
};

/*
 * The core alone, for the tests that drive the machine plane themselves
 * (test_core_plane.c, test_dimm_hotplug.c): no device process.
 */
struct core {
	pid_t pid;
	int log_fd;
	char dir[64];
	char console[128];
	struct ipc_chan *req;
	struct ipc_chan *events; /* core-events, when core_spawn() was asked for it */
	struct ipc_fdchan *fdch;
	uint64_t next_tag;
	char log[1 << 17];
	size_t log_len;
};

/* dev_restart()'s answer when the core ended while the successor started. */
#define CORE_ENDED UINT64_MAX

/* The core's, the console's and the device process's log tails to stderr. */
void dump_logs(void);
/* Appends what the core wrote to its stderr since to v->core_log. */
void slurp(struct vm *v);
/* Exits 77 (SKIP) without a usable /dev/kvm; stdout unbuffered, SIGPIPE ignored. */
void test_setup(void);
uint64_t now_ms(void);
void sleep_ms(unsigned ms);
int memfd(const char *name, uint64_t size);

/* dump_logs() shows @v's logs from now on (vm_boot() does this itself). */
void vm_watch(struct vm *v);

void core_start(struct vm *v);
/*
 * splitvm-devproc --model=@model --id=@id --config=@config, sandboxed, with
 * the next epoch and v's backend and state fds; its devctl channel connected.
 */
void dev_spawn(struct vm *v, const char *model, const char *id, const char *config);
/* The virtio-mem device process with @requested as its requested-size=. */
void dev_start(struct vm *v, const char *requested);
/* kill -9 the device process's reaper and wait for both to be gone. */
void dev_kill(struct vm *v);
/* The successor's plugged_size once it serves, or CORE_ENDED; see harness.c. */
uint64_t dev_restart(struct vm *v, unsigned *failed);
void vm_cleanup(struct vm *v);

void call_ok(struct ipc_chan *c, const ProtobufCMessage *req, struct ipc_msg **out);
/* RegionMap of @fd: sparse and owned by device @owner unless NULL. */
void region_map(struct vm *v, const char *name, int fd, uint64_t gpa, uint64_t size,
                const char *owner);
/* The same, read-only when @readonly. */
void region_map_opts(struct vm *v, const char *name, int fd, uint64_t gpa, uint64_t size,
                     const char *owner, bool readonly);
void machine_start(struct vm *v, const char *cmdline);
/* VcpusPause (every vCPU out of KVM_RUN when it answers) and VcpusResume. */
void vcpus_pause(struct vm *v);
void vcpus_resume(struct vm *v);
/* MachineStart, base RAM, the sparse device region, the device process, resume. */
void vm_boot(struct vm *v, const char *cmdline, const char *requested);

/*
 * splitvm-core --verbose in a new run dir /tmp/splitvm-@tag-XXXXXX, its
 * machine plane connected (and core-events when @events); dump_logs()
 * shows its log, and its console when it has one, from now on.
 */
void core_spawn(struct core *c, const char *bin, const char *tag, bool events);
/* Kill the core if it still runs, close its channels, remove its run dir. */
void core_cleanup(struct core *c);
/* What the core wrote to its stderr so far. */
const char *core_log(struct core *c);
/* The console file's text (a static buffer, up to 64 KiB). */
char *read_console(struct core *c);
/* Machine-plane calls: core_call_raw() as is, core_call() checked. */
int core_call_raw(struct core *c, const ProtobufCMessage *req, struct ipc_msg **reply,
                  struct ipc_err *err);
struct ipc_msg *core_call(struct core *c, const ProtobufCMessage *req);
void core_call_ok(struct core *c, const ProtobufCMessage *req);
struct ipc_msg *query_map(struct core *c);
const Splitvm__MemoryMapEntry *find_entry(const struct ipc_msg *map, const char *name);

/* The console file's text (a static buffer, up to 64 KiB). */
char *console_text(const struct vm *v);
unsigned count(const char *text, const char *what);
void wait_console(struct vm *v, const char *what, unsigned n);
Splitvm__DeviceStatus *dev_status(struct vm *v, struct ipc_msg **msg);
uint64_t plugged(struct vm *v);
bool core_ended(struct vm *v);
void set_requested(struct vm *v, uint64_t size);
/* The backend's allocated bytes (st_blocks). */
uint64_t allocated(const struct vm *v);
/* The @nth settle line says @size plugged of @size requested. */
void expect_settle(struct vm *v, unsigned nth, uint64_t size);
int core_exit_status(struct vm *v);

#endif
