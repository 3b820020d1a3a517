/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * splitvm-core's internal contract: the machine (KVM VM, vCPUs, guest memory
 * map), the boot loaders, the devices of the core and the ACPI/FDT builders.
 *
 * Error rule for every function here that returns int: 0 on success or a
 * negative errno; the function has logged why (naming the option, field or
 * capability) unless its comment says otherwise.
 */
#ifndef SPLITVM_CORE_H
#define SPLITVM_CORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WUR __attribute__((warn_unused_result))

#define KIB (1ull << 10)
#define MIB (1ull << 20)
#define GIB (1ull << 30)

/* ---- configuration (core/cmdline.c) ------------------------------------ */

#define CORE_MAX_VCPUS    64
#define CORE_MAX_NUMA     8
#define CORE_MAX_BACKENDS 16
/* QEMU's ACPI_MAX_RAM_SLOTS: the most DIMM slots -m slots= accepts. */
#define CORE_MAX_RAM_SLOTS 256

enum core_serial_mode {
	CORE_SERIAL_STDIO,
	CORE_SERIAL_FILE,
	CORE_SERIAL_PTY,
	CORE_SERIAL_NONE,
};

struct core_backend_cfg {
	char id[64];
	uint64_t size;
};

struct core_numa_cfg {
	uint32_t node_id;
	uint32_t cpu_first; /* cpus=A-B; cpu_count 0 when no cpus= */
	uint32_t cpu_count;
	char memdev[64];
	uint64_t mem; /* the memdev's size, filled in by cmdline validation */
};

/* Copies of the strings of a MachineStart config (kernel, ...). */
#define CORE_CONFIG_STRINGS 5 /* kernel, initrd, cmdline, serial_path, run_dir */

/* A virtio device of the machine: the core serves its transport. */
#define CORE_MAX_VIRTIO 8 /* IOAPIC pins 16..23, one per device */

struct core_virtio_cfg {
	char id[64];
	char model[16];  /* "virtio-mem", "virtio-pmem" */
	char memdev[64]; /* backend id, "" when none */
};

/*
 * An NVDIMM of the machine (VmConfig.devices, model nvdimm): its NFIT
 * entries, its NVxx device and its label _DSM (core/nfit.c).
 */
#define CORE_MAX_NVDIMM 16

struct core_nvdimm_cfg {
	char id[64];
	char memdev[64]; /* the RegionMap that maps its PMEM region */
	uint32_t slot;   /* as nfit_config_from_vm() assigns it */
	uint32_t node;
	uint64_t label_size;
	bool unarmed;
};

struct core_config {
	char name[64];
	uint64_t ram_size;
	uint64_t maxmem; /* == ram_size when maxmem= is not given */
	uint32_t slots;
	uint32_t vcpus;
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	enum core_serial_mode serial;
	const char *serial_path;
	struct core_backend_cfg backends[CORE_MAX_BACKENDS];
	unsigned n_backends;
	struct core_numa_cfg numa[CORE_MAX_NUMA];
	unsigned n_numa;
	const char *dump_acpi_dir;
	const char *dump_dtb_path;
	bool verbose;
	/* virtio-mmio devices, in window order (-device / VmConfig.devices). */
	struct core_virtio_cfg virtio[CORE_MAX_VIRTIO];
	unsigned n_virtio;
	/* NVDIMMs, in config order (VmConfig.devices). */
	struct core_nvdimm_cfg nvdimm[CORE_MAX_NVDIMM];
	unsigned n_nvdimm;
	const char *run_dir;                /* where dev-<id> sockets are bound */
	char *strings[CORE_CONFIG_STRINGS]; /* owned; see core_config_from_vm() */
};

/* Why a configuration was refused: the option or field, and the rule. */
struct core_cfg_err {
	char field[64];
	char text[256];
};

/* Fill @err (may be NULL) and return -EINVAL. */
int core_cfg_fail(struct core_cfg_err *err, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/*
 * QEMU's rules for -m SIZE,slots=N,maxmem=SIZE (has_*: the property was
 * given); on success sets cfg->ram_size (rounded up to 8 KiB; 0 is the
 * default 128 MiB), maxmem and slots.  @size_field names the size in @err.
 * The standalone -m and MachineStart share it.
 */
int core_mem_check(struct core_config *cfg, uint64_t size, bool has_slots, uint64_t slots,
                   bool has_max, uint64_t maxmem, const char *size_field,
                   struct core_cfg_err *err) WUR;

struct Splitvm__VmConfig;

/*
 * MachineStart's VmConfig into @cfg, with the checks of the command line
 * (memory, vCPUs, kernel and initrd readable, serial, NUMA).  Strings are
 * copied into cfg->strings: free them with core_config_release().
 * -EINVAL with @err filled, or -ENOMEM.
 */
int core_config_from_vm(struct core_config *cfg, const struct Splitvm__VmConfig *vm,
                        struct core_cfg_err *err) WUR;
void core_config_release(struct core_config *cfg);

/*
 * Parse splitvm-core's QEMU-style command line into @cfg and check it as
 * QEMU does.  Returns 0, 1 when --help was printed, or -EINVAL.
 */
int core_cmdline_parse(struct core_config *cfg, int argc, char **argv) WUR;

/* "-m" value: SIZE[,slots=N,maxmem=SIZE] with QEMU's checks. */
int core_parse_mem_opt(struct core_config *cfg, const char *arg) WUR;

/* ---- memory map (core/memmap.c) ---------------------------------------- */

/*
 * x86_64 layout, pc-machine style (see docs/architecture.md):
 *   [0, low_end)            RAM, low_end = min(ram, 3 GiB)
 *   [3 GiB, 4 GiB)          32-bit hole: virtio-mmio, GED, memory hotplug,
 *                           IOAPIC, LAPIC, KVM's TSS/identity pages
 *   [4 GiB, 4 GiB + rest)   the rest of RAM
 *   [devmem_base, +size)    device memory, 1 GiB aligned after RAM
 */
#define MEMMAP_LOW_RAM_MAX   (3 * GIB)
#define MEMMAP_HIGH_RAM_BASE (4 * GIB)

#define MEMMAP_VIRTIO_MMIO_BASE  0xd0000000ull
#define MEMMAP_VIRTIO_MMIO_SLOT  0x200ull
#define MEMMAP_VIRTIO_MMIO_COUNT 32u
#define MEMMAP_GED_BASE          0xfea00000ull
#define MEMMAP_GED_SIZE          0x100ull
#define MEMMAP_MHP_BASE          0xfea01000ull /* ACPI memory hotplug controller */
#define MEMMAP_MHP_SIZE          0x18ull       /* QEMU's ACPI_MEMORY_HOTPLUG_IO_LEN */
#define MEMMAP_IOAPIC_BASE       0xfec00000ull
#define MEMMAP_IOAPIC_SIZE       0x1000ull
#define MEMMAP_LAPIC_BASE        0xfee00000ull
#define MEMMAP_LAPIC_SIZE        0x100000ull
/* KVM's real-mode TSS (3 pages) and identity page table; QEMU's addresses. */
#define MEMMAP_KVM_IDENTITY_BASE 0xfeffc000ull
#define MEMMAP_KVM_TSS_BASE      0xfeffd000ull
#define MEMMAP_KVM_PRIVATE_SIZE  0x4000ull

enum memmap_kind {
	MEMMAP_RAM,
	MEMMAP_DEVICE_MEMORY,
	MEMMAP_MMIO,
	MEMMAP_RESERVED,
};

/*
 * Names a RegionMap may give (backend ids); map entries are longer so that
 * a sparse region's slots can be named "<region>+0x<offset>".
 */
#define MEMMAP_REGION_NAME_MAX 48

struct memmap_region {
	char name[MEMMAP_REGION_NAME_MAX + 24];
	enum memmap_kind kind;
	uint64_t gpa;
	uint64_t size;
	void *host; /* mapped regions only, else NULL */
	int slot;   /* KVM memslot, -1 for none */
	bool readonly;
	/* host is an mmap of its own (a RegionMap's fd), munmap'ed on removal. */
	bool host_owned;
	/*
	 * A reservation with no host memory of its own (RegionMap sparse): its
	 * mapped slots are entries of their own nested inside it.
	 */
	bool sparse;
};

/*
 * An 8 GiB virtio-mem device alone has 64 slots of 128 MiB, each its own
 * entry: room for several such devices beside the fixed map.
 */
#define MEMMAP_MAX_REGIONS 1024

struct memmap {
	struct memmap_region r[MEMMAP_MAX_REGIONS];
	unsigned n;
	uint64_t ram_size;
	uint64_t low_ram_end;  /* end of RAM below the hole */
	uint64_t high_ram_end; /* end of RAM above 4 GiB, or 4 GiB when none */
	uint64_t devmem_base;
	uint64_t devmem_size;
};

/*
 * Lay out the fixed map of @cfg (RAM ranges, hole contents, device-memory
 * area) with no host mappings yet.  -ERANGE when the layout overflows.
 */
int memmap_init(struct memmap *mm, uint64_t ram_size, uint64_t maxmem, uint32_t slots) WUR;

/*
 * Add a region; -EEXIST when it overlaps one (a non-sparse region may lie
 * wholly inside a sparse one), -ENOSPC when the table is full.
 */
int memmap_add(struct memmap *mm, const struct memmap_region *reg) WUR;

/* Remove the region named @name; -ENOENT when none. */
int memmap_remove(struct memmap *mm, const char *name) WUR;

/* The region holding @gpa, or NULL. */
const struct memmap_region *memmap_find(const struct memmap *mm, uint64_t gpa);

/*
 * The one checked translation: host address of [gpa, gpa+len) when the whole
 * range lies in a single host-mapped region, else NULL (no logging).
 */
void *memmap_gpa_to_host(const struct memmap *mm, uint64_t gpa, uint64_t len);

/* Host-mapped RAM regions (what e820 and /memory@ nodes describe), in order. */
unsigned memmap_ram_ranges(const struct memmap *mm, uint64_t (*ranges)[2], unsigned max);

/*
 * Guest-physical ranges of the RAM bytes [off, off+len) of the RAM memfd
 * (RAM fills low RAM first, then RAM above 4 GiB): at most 2 ranges.
 */
unsigned memmap_ram_slice(const struct memmap *mm, uint64_t off, uint64_t len,
                          uint64_t (*ranges)[2]);

const char *memmap_kind_name(enum memmap_kind kind);

/* ---- the machine (core/kvm.c) ------------------------------------------ */

struct machine;

struct vcpu {
	struct machine *m;
	unsigned index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
};

enum machine_exit_reason {
	MACHINE_RUNNING = 0,
	MACHINE_EXIT_DEBUG,    /* debug-exit port */
	MACHINE_EXIT_RESET,    /* i8042 / ACPI reset */
	MACHINE_EXIT_POWEROFF, /* ACPI S5 */
	MACHINE_EXIT_ERROR,    /* KVM failure, triple fault */
};

struct serial;

/*
 * Most KVM memslots splitvm uses (KVM offers 509 or 32764): as many as the
 * map has entries, so that the map, not KVM, is the limit on new hosts.
 */
#define CORE_MAX_MEMSLOTS MEMMAP_MAX_REGIONS

/*
 * A sparse device region (RegionMap sparse): the core keeps its fd and maps
 * slots of it on the owner device's DeviceSlotMap.  Under mm_lock.
 */
struct machine_sparse {
	char region[MEMMAP_REGION_NAME_MAX];
	char owner[64]; /* the only device that may map slots of it */
	uint64_t gpa;
	uint64_t size;
	uint64_t offset; /* of the region's first byte in fd */
	int fd;
};

struct machine {
	const struct core_config *cfg;
	int kvm_fd;
	int vm_fd;
	size_t run_size;
	int ram_fd; /* guest RAM memfd (standalone); -1 when supervised */
	void *ram;  /* MAP_SHARED mapping of ram_fd, ram_size bytes */
	/*
	 * The map is changed by one thread only: main in standalone mode, the
	 * machine plane's thread when supervised, under mm_lock for writing.
	 * The device plane's thread reads it (ring walks) under mm_lock for
	 * reading.  vCPU threads never look at it.
	 */
	struct memmap mm;
	pthread_rwlock_t mm_lock;
	bool slot_used[CORE_MAX_MEMSLOTS];
	unsigned max_slots; /* KVM_CAP_NR_MEMSLOTS, at most CORE_MAX_MEMSLOTS */
	struct machine_sparse sparse[CORE_MAX_VIRTIO];
	unsigned n_sparse;
	struct vcpu vcpus[CORE_MAX_VCPUS];
	unsigned n_vcpus;
	struct kvm_cpuid2 *cpuid;
	struct serial *serial;
	/* Boot state, filled in by the loader. */
	uint64_t entry;
	uint64_t boot_params_gpa;
	/* Stop: the first vCPU to decide sets reason/status and writes exit_fd. */
	pthread_mutex_t lock;
	enum machine_exit_reason exit_reason;
	int exit_status;
	int exit_fd; /* eventfd */
	volatile int stopping;
	/*
	 * Pause: under lock, pause_req asks every started vCPU to park out of
	 * KVM_RUN; each parked one counts itself in n_parked.  pause_cond is
	 * broadcast on every change of pause_req, n_parked or stopping.
	 */
	pthread_cond_t pause_cond;
	bool pause_req;
	unsigned n_parked;
	unsigned n_started; /* vCPU threads running */
	/* The virtio-mmio devices (core/devplane.c), or NULL. */
	struct devplane *devplane;
	/*
	 * The ACPI memory-hotplug controller and GED (core/acpi_hotplug.c),
	 * owned by the machine plane, or by main standalone (no slots there:
	 * the GED alone, whose button nobody presses); NULL with --dump-acpi.
	 */
	struct acpi_hotplug *mhp;
	/* The FDT blob handed to the guest (dump-dtb). */
	void *dtb;
	size_t dtb_size;
};

/* Open /dev/kvm, check capabilities, create the VM, irqchip and PIT. */
int machine_create(struct machine *m, const struct core_config *cfg) WUR;

/* Create the guest RAM memfd, map it and register the RAM memslots. */
int machine_ram_setup(struct machine *m) WUR;

/*
 * Map @size bytes at @host into the guest at @gpa under a new memslot and
 * add it to the map as @name.  The mapping stays the caller's.
 */
int machine_map_region(struct machine *m, const char *name, enum memmap_kind kind, uint64_t gpa,
                       uint64_t size, void *host, bool readonly) WUR;

/*
 * Give @reg (an entry of m->mm whose host is set) a free memslot and
 * register it with KVM; -ENOSPC when every slot is taken.
 */
int machine_slot_attach(struct machine *m, struct memmap_region *reg) WUR;
/* Delete @reg's memslot from KVM and free the slot id; no-op without one. */
void machine_slot_detach(struct machine *m, struct memmap_region *reg);

/*
 * Remove region @name: its memslot, its map entry and, when host_owned,
 * its host mapping; for a sparse region every mapped slot and its fd too.
 * -ENOENT when there is none.
 */
int machine_unmap_region(struct machine *m, const char *name) WUR;

/*
 * Register a sparse region of device @owner (under mm_lock for writing):
 * reserve [gpa, gpa+size) in the map with no host memory and no memslot,
 * and keep *fd (taken on success) for the slots.  -EEXIST when the range
 * overlaps or the device has one already, -ENOSPC when the table is full.
 */
int machine_sparse_add(struct machine *m, const char *region, const char *owner, uint64_t gpa,
                       uint64_t size, uint64_t offset, int *fd) WUR;

/*
 * devplane_slot_map_fn (opaque = the machine): map or unmap
 * [offset, offset+size) of device @id's sparse region as a map entry with a
 * memslot of its own.  Mapping what is mapped, or unmapping what is not, is
 * a no-op (a successor restates every slot).  Takes mm_lock for writing.
 * -ENOENT without a sparse region, -EINVAL outside it, -EEXIST when the
 * range straddles a slot mapped with other bounds, -ENOSPC without a
 * memslot or map entry.
 */
int machine_sparse_slot_map(void *opaque, const char *id, uint64_t offset, uint64_t size,
                            bool map) WUR;

/* Create the vCPUs with CPUID and the boot register state. */
int machine_vcpus_create(struct machine *m) WUR;

/*
 * Block SIGINT, SIGTERM and SIGHUP in the calling thread, so that every
 * thread it creates afterwards leaves them to machine_wait()'s signalfd.
 */
void machine_block_stop_signals(void);

/* Start the vCPU threads, once; -ESHUTDOWN when the machine is stopping. */
int machine_vcpus_start(struct machine *m) WUR;

/*
 * Wait until the machine stops (serving serial input and SIGINT/SIGTERM/
 * SIGHUP meanwhile), then stop and join the vCPU threads, whoever started
 * them.
 */
int machine_wait(struct machine *m) WUR;

/* machine_vcpus_start() then machine_wait(): the standalone life. */
int machine_run(struct machine *m) WUR;

/*
 * Park every started vCPU outside KVM_RUN and return once all are parked
 * (-ETIMEDOUT after @timeout_ms, and the pause is undone; -ESHUTDOWN when
 * the machine stops meanwhile).  vCPUs started while paused park at once.
 */
int machine_vcpus_pause(struct machine *m, int timeout_ms) WUR;
/* Let parked vCPUs continue.  Never fails; a no-op when not paused. */
void machine_vcpus_resume(struct machine *m);

/* Called from any thread: end the machine with @reason and @status. */
void machine_request_exit(struct machine *m, enum machine_exit_reason reason, int status);

void machine_destroy(struct machine *m);

/* Set the level of ISA IRQ line @irq (PIC and IOAPIC pin). */
int machine_irq_line(struct machine *m, unsigned irq, bool level) WUR;

/* ---- port and MMIO dispatch (core/io.c) -------------------------------- */

typedef void (*io_handler_fn)(void *opaque, uint64_t addr, uint8_t *data, uint32_t len,
                              bool is_write);

/* Register a handler for ports [base, base+len); -ENOSPC/-EEXIST. */
int io_register_pio(uint16_t base, uint16_t len, io_handler_fn fn, void *opaque) WUR;
/* Register a handler for guest-physical [base, base+len). */
int io_register_mmio(uint64_t base, uint64_t len, io_handler_fn fn, void *opaque) WUR;
void io_reset(void);

/* Serve a vCPU's KVM_EXIT_IO / KVM_EXIT_MMIO.  Never fails. */
void io_handle_pio(uint16_t port, uint8_t *data, uint32_t size, bool is_write);
void io_handle_mmio(uint64_t gpa, uint8_t *data, uint32_t len, bool is_write);

/* ---- devices (core/serial.c, core/devices.c) --------------------------- */

#define SERIAL_COM1_BASE 0x3f8
#define SERIAL_COM1_IRQ  4
#define DEBUG_EXIT_PORT  0x501
#define I8042_DATA_PORT  0x60
#define I8042_CMD_PORT   0x64
/* FADT sleep control/status registers (hardware-reduced ACPI), SystemIO. */
#define ACPI_SLEEP_CONTROL_PORT 0x600
#define ACPI_SLEEP_STATUS_PORT  0x601
#define ACPI_SLP_TYP_S5         5

/* Open the console backend of @cfg and register the UART; NULL on error. */
struct serial *serial_create(struct machine *m, enum core_serial_mode mode, const char *path);
/* The fd the main loop polls for guest input, or -1. */
int serial_input_fd(const struct serial *s);
/* Feed input from the backend into the receive FIFO. */
void serial_input_ready(struct serial *s);
void serial_destroy(struct serial *s);

/* i8042 reset, debug exit, ACPI sleep control. */
int devices_register(struct machine *m) WUR;

/* ---- virtqueues: the split-ring walker (core/virtq.c) ------------------ */

/*
 * Errors of the walker, returned negated.  Every one is a guest breaking
 * the ring protocol: the device goes NEEDS_RESET (virtio_mmio.c).
 */
enum virtq_error {
	VIRTQ_OK = 0,
	VIRTQ_ERR_RING,      /* rings outside guest RAM, misaligned, bad size */
	VIRTQ_ERR_AVAIL_IDX, /* avail->idx more than the queue size ahead */
	VIRTQ_ERR_HEAD,      /* head index >= queue size */
	VIRTQ_ERR_NEXT,      /* next index >= table size */
	VIRTQ_ERR_LOOP,      /* chain longer than its table */
	VIRTQ_ERR_ADDR,      /* buffer outside guest RAM */
	VIRTQ_ERR_DIRECTION, /* readable after writable */
	VIRTQ_ERR_ZERO_LEN,  /* zero-length buffer (QEMU refuses them too) */
	VIRTQ_ERR_TOO_BIG,   /* readable bytes > VIRTQ_MAX_REQUEST, or writable > 4 GiB */
	VIRTQ_ERR_INDIRECT,  /* indirect descriptor misused or not negotiated */
	VIRTQ_ERR_NOMEM,
	VIRTQ_ERR_COUNT_
};

/* Never NULL; takes the error negated or not. */
const char *virtq_error_str(int err);

#define VIRTQ_MAX_SIZE    32768u        /* the spec's largest queue */
#define VIRTQ_MAX_REQUEST (256u * 1024) /* readable bytes forwarded per chain */

#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32

struct virtq {
	uint16_t num;   /* QueueNum: power of two, <= VIRTQ_MAX_SIZE */
	bool indirect;  /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
	uint64_t desc;  /* guest-physical ring addresses */
	uint64_t avail;
	uint64_t used;
	uint16_t last_avail; /* next avail entry to pop */
	uint16_t used_idx;   /* our copy of used->idx */
	uint16_t signalled_used;
	bool signalled_valid;
};

struct virtq_seg {
	uint64_t gpa;
	uint32_t len;
};

/* One popped chain; release with virtq_chain_release(). */
struct virtq_chain {
	uint16_t head;
	uint8_t *data; /* copy of the driver-readable bytes, in order */
	size_t data_len;
	struct virtq_seg *wr; /* the device-writable buffers, in order */
	unsigned n_wr, cap_wr;
	uint32_t wr_len; /* their total length */
};

/* Rings inside guest RAM, aligned, num a power of two: 0 or -VIRTQ_ERR_RING. */
int virtq_check(const struct virtq *q, const struct memmap *mm) WUR;
/* The same without the map (vCPU threads): size and alignment only. */
int virtq_check_layout(const struct virtq *q) WUR;
/*
 * Pop the next available chain into @c: 1 when one was popped, 0 when the
 * ring is empty, or a negated enum virtq_error (nothing popped, @c empty).
 */
int virtq_pop(struct virtq *q, const struct memmap *mm, struct virtq_chain *c) WUR;
void virtq_chain_release(struct virtq_chain *c);
/*
 * Scatter @len bytes (cut to the buffers' room) into @wr; *written is what
 * fit.  0 or -VIRTQ_ERR_ADDR when a buffer is no longer in guest RAM.
 */
int virtq_chain_write(const struct memmap *mm, const struct virtq_seg *wr, unsigned n_wr,
                      const void *data, size_t len, uint32_t *written) WUR;
/* Push used element (head, len) and publish used->idx: 0 or -VIRTQ_ERR_RING. */
int virtq_push(struct virtq *q, const struct memmap *mm, uint16_t head, uint32_t len) WUR;
/* After pushes: does the driver want an interrupt (flags / EVENT_IDX)? */
bool virtq_need_signal(struct virtq *q, const struct memmap *mm);
void virtq_reset(struct virtq *q);

/* ---- the virtio-mmio transport (core/virtio_mmio.c) -------------------- */

/*
 * One register file per device (virtio 1.2, 4.2.2, version 2 only).  vCPU
 * threads call vmmio_mmio(); it never blocks on a device process: what the
 * device plane must act on (reset, DRIVER_OK, a queue notify that came as an
 * MMIO exit) is recorded in @pending and announced through @kick, and the
 * event loop takes it with vmmio_take_pending().  @lock guards every field
 * below it; the event loop holds it while it pops and pushes.
 */
#define VMMIO_MAX_QUEUES 8
#define VMMIO_CONFIG_MAX (MEMMAP_VIRTIO_MMIO_SLOT - 0x100)
/* IOAPIC pins 16..23, edge-triggered active-high as Linux's virtio_mmio
 * and QEMU's microvm use them: at most 8 devices. */
#define VMMIO_GSI_BASE    16u
#define VMMIO_MAX_DEVICES CORE_MAX_VIRTIO
#define VMMIO_VENDOR_ID   0x4d565053u /* "SPVM" */

#define VMMIO_REG_QUEUE_NOTIFY 0x050

#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER      2u
#define VIRTIO_STATUS_DRIVER_OK   4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 0x40u
#define VIRTIO_STATUS_FAILED      0x80u

#define VMMIO_INT_VRING  1u
#define VMMIO_INT_CONFIG 2u

/* vmmio.pending bits */
#define VMMIO_EV_RESET     1u /* Status 0 written: DeviceReset */
#define VMMIO_EV_DRIVER_OK 2u /* DRIVER_OK set: DeviceDriverReady */
#define VMMIO_EV_NOTIFY    4u /* queues in notify_mask need a look */

struct vmmio {
	unsigned index;
	uint64_t base; /* guest-physical window */
	uint32_t gsi;
	const struct memmap *mm;
	void (*kick)(void *opaque); /* pending grew; must not block */
	void (*irq)(void *opaque);  /* pulse the interrupt line; must not block */
	void *opaque;

	pthread_mutex_t lock;
	/* What the device process declared (vmmio_set_device). */
	bool declared;
	uint32_t device_id;
	uint64_t device_features; /* with the transport's bits added */
	uint64_t required_features;
	unsigned n_queues;
	uint16_t queue_max[VMMIO_MAX_QUEUES];
	uint8_t config[VMMIO_CONFIG_MAX];
	uint32_t config_len;
	/* Guest-visible registers. */
	uint32_t dev_features_sel;
	uint32_t drv_features_sel;
	uint64_t driver_features;
	uint32_t queue_sel;
	uint32_t status;
	uint32_t isr;
	uint32_t config_generation;
	struct virtq q[VMMIO_MAX_QUEUES];
	bool q_ready[VMMIO_MAX_QUEUES];
	/* Bumped on every reset: requests popped before it are void. */
	uint32_t reset_count;
	unsigned pending;
	uint32_t notify_mask;
};

/* Window @index of the core's virtio-mmio area, on GSI VMMIO_GSI_BASE+index. */
int vmmio_init(struct vmmio *d, unsigned index, const struct memmap *mm) WUR;
void vmmio_destroy(struct vmmio *d);

/*
 * The device process's declaration (DeviceAttach).  The first one fixes the
 * device; a successor's must match it in id, features and queues (-EBUSY
 * otherwise), and its config bytes replace the copy as a config update.
 * -EINVAL names the bad field in the log.  Takes the lock.
 */
int vmmio_set_device(struct vmmio *d, uint32_t device_id, uint64_t features, uint64_t required,
                     unsigned n_queues, const uint16_t *queue_max, const void *config,
                     size_t config_len) WUR;

/* io_handler_fn for the device's window (opaque = struct vmmio *). */
void vmmio_mmio(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);

/* DeviceConfigUpdate: new config bytes, ConfigGeneration+1, maybe interrupt. */
int vmmio_config_update(struct vmmio *d, const void *config, size_t len, bool notify) WUR;

/* Under the lock: set InterruptStatus bits and pulse the line. */
void vmmio_raise_locked(struct vmmio *d, uint32_t bits);
/* Under the lock: DEVICE_NEEDS_RESET, config interrupt once DRIVER_OK. */
void vmmio_needs_reset_locked(struct vmmio *d);
/* Under the lock: may queue @qi be served (ready, DRIVER_OK, no NEEDS_RESET)? */
bool vmmio_queue_live_locked(const struct vmmio *d, unsigned qi);
/* Take and clear pending events; *notify gets the queue mask.  Takes the lock. */
unsigned vmmio_take_pending(struct vmmio *d, uint32_t *notify);

/* ---- the device plane (core/devplane.c) -------------------------------- */

/*
 * One PAIR socket dev-<id> per virtio device in the run directory and one
 * event-loop thread for all of them (docs/protocol.md, "Device").
 */
struct devplane;

/* Map (@map) or unmap [offset, +size) of device @id's sparse region. */
typedef int (*devplane_slot_map_fn)(void *opaque, const char *id, uint64_t offset, uint64_t size,
                                    bool map);

/* @m may be NULL (no KVM: no irqfd, ioeventfd or MMIO window; tests). */
int devplane_create(struct devplane **out, struct machine *m, const struct memmap *mm,
                    const char *rundir) WUR;
/*
 * Window index = order of the calls: base MEMMAP_VIRTIO_MMIO_BASE + i*0x200,
 * GSI VMMIO_GSI_BASE + i.  Binds dev-<id>, registers the MMIO window and the
 * irqfd.  Before devplane_start() only.
 */
int devplane_add(struct devplane *dp, const char *id) WUR;
/* Start the event-loop thread. */
int devplane_start(struct devplane *dp) WUR;
/* Wait until every device has a process attached; -ETIMEDOUT (logged). */
int devplane_wait_attached(struct devplane *dp, int timeout_ms) WUR;
unsigned devplane_count(const struct devplane *dp);
/* The register file of device @i (ACPI/FDT read base, gsi, device_id). */
struct vmmio *devplane_transport(struct devplane *dp, unsigned i);
/* The device's region (DeviceAttached.region_gpa, DeviceSlotMap bounds). */
int devplane_set_region(struct devplane *dp, const char *id, uint64_t gpa, uint64_t size) WUR;
void devplane_set_slot_map(struct devplane *dp, devplane_slot_map_fn fn, void *opaque);
/*
 * A device with a device plane and no virtio transport (an nvdimm): dev-<id>
 * and attach/epoch handling only; its process declares virtio id 0 and no
 * queues.  Add after every virtio device.  Before devplane_start() only.
 */
int devplane_add_plain(struct devplane *dp, const char *id) WUR;
/*
 * From any thread but the plane's: send @in (NvdimmDsm) to plain device
 * @id's process and wait for its answer (NvdimmDsmReply) into @out.  While
 * no process is attached the call waits for one, and a successor gets it
 * again; one call per device at a time.  -ETIMEDOUT after @timeout_ms,
 * -ENOENT no such device, -EMSGSIZE an answer longer than @outcap.
 */
int devplane_call(struct devplane *dp, const char *id, const void *in, size_t len, void *out,
                  size_t outcap, size_t *outlen, int timeout_ms) WUR;
/* Stop the thread, close the sockets and fds.  NULL is a no-op. */
void devplane_destroy(struct devplane *dp);
/*
 * The machine's virtio devices from m->cfg (virtio[], run_dir): create
 * m->devplane, add every device, start the loop and wait up to
 * @timeout_ms (0: no wait) for each device process to attach.  No devices:
 * no plane.  machine_destroy() destroys the plane.
 */
int core_virtio_start(struct machine *m, int timeout_ms) WUR;

/* ---- boot (core/boot_x86_64.c) ----------------------------------------- */

/* Boot-time guest-physical layout of the low 1 MiB. */
#define BOOT_GDT_GPA        0x500ull
#define BOOT_STACK_TOP      0x6ff0ull
#define BOOT_PARAMS_GPA     0x7000ull
#define BOOT_PML4_GPA       0x9000ull
#define BOOT_PDPT_GPA       0xa000ull
#define BOOT_PD_GPA         0xb000ull /* 4 pages: 4 GiB with 2 MiB pages */
#define BOOT_CMDLINE_GPA    0x20000ull
#define BOOT_CMDLINE_MAX    0x10000ull
#define BOOT_SETUP_DATA_GPA 0x30000ull
#define BOOT_SETUP_DATA_MAX 0x60000ull /* up to 0x90000 */
#define BOOT_ACPI_GPA       0xe0000ull /* RSDP first, then the tables */
#define BOOT_ACPI_MAX       0x20000ull
#define BOOT_KERNEL_GPA     0x100000ull

/*
 * Load -kernel (ELF64 or bzImage) and -initrd, write boot_params, e820,
 * command line, FDT (setup_data) and page tables.  Sets m->entry.
 */
int boot_load(struct machine *m) WUR;

/* Register state of the boot vCPU: long mode, paging, RSI = boot_params. */
int boot_setup_vcpu(struct machine *m, struct vcpu *v) WUR;

/* Every vCPU's LAPIC: LINT0 ExtINT, LINT1 NMI, as a PC BIOS leaves them. */
int boot_setup_lapic(struct vcpu *v) WUR;

/* ---- FDT (core/fdt.c) -------------------------------------------------- */

/* Build the machine's FDT into a malloc'd blob (m->dtb, m->dtb_size). */
int fdt_build(struct machine *m, uint64_t initrd_gpa, uint64_t initrd_size) WUR;

/* ---- ACPI (core/acpi.c, core/aml.c) ------------------------------------ */

struct aml {
	uint8_t *buf;
	size_t len;
	size_t cap;
	int err; /* sticky: -ENOMEM after a failed append */
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t b);
/* Begin a PkgLength-prefixed body; returns the mark for aml_pkg_end(). */
size_t aml_pkg_begin(struct aml *a);
void aml_pkg_end(struct aml *a, size_t mark);
/* "\\_SB_.COM1", "_HID", "^FOO": a NameString. */
void aml_name(struct aml *a, const char *path);
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* EisaId("PNP0501") as an integer. */
void aml_eisaid(struct aml *a, const char *id);
/* Scope(path) / Device(path) { ... }: call aml_block_end(mark) after. */
size_t aml_scope_begin(struct aml *a, const char *path);
size_t aml_device_begin(struct aml *a, const char *path);
size_t aml_method_begin(struct aml *a, const char *name, unsigned nargs, bool serialized);
void aml_block_end(struct aml *a, size_t mark);
/* Name(name, ...): follow with one data object. */
void aml_name_decl(struct aml *a, const char *name);
void aml_return(struct aml *a);
/* Buffer holding a resource template; aml_rt_end() adds the end tag. */
size_t aml_rt_begin(struct aml *a);
void aml_rt_end(struct aml *a, size_t mark);
void aml_rt_io(struct aml *a, uint16_t base, uint8_t len);
void aml_rt_irq_noflags(struct aml *a, unsigned irq);
void aml_rt_mem32_fixed(struct aml *a, uint32_t base, uint32_t len, bool rw);
void aml_rt_interrupt(struct aml *a, uint32_t gsi, bool level, bool active_low, bool shared);
/* Package(n) { ... }: the caller appends n elements. */
size_t aml_package_begin(struct aml *a, unsigned n);

/*
 * Method terms, written in AML's prefix order: an operator, then its
 * operands (names, integers, Local/Arg), then its target.  E.g. Store(Zero,
 * Local0) is aml_store(); aml_integer(0); aml_local(0).  A method call is
 * its name followed by its arguments.
 */
void aml_op(struct aml *a, uint8_t op);
void aml_local(struct aml *a, unsigned n);
void aml_arg(struct aml *a, unsigned n);
void aml_store(struct aml *a);
void aml_add(struct aml *a);
void aml_subtract(struct aml *a);
void aml_and(struct aml *a);
void aml_lequal(struct aml *a);
void aml_lless(struct aml *a);
void aml_to_integer(struct aml *a);
void aml_notify(struct aml *a);
void aml_null_target(struct aml *a);
/* If (predicate) { ... } / Else { ... } / While: aml_block_end(mark) after. */
size_t aml_if_begin(struct aml *a);
size_t aml_else_begin(struct aml *a);
size_t aml_while_begin(struct aml *a);
void aml_mutex(struct aml *a, const char *name, uint8_t sync_level);
void aml_acquire(struct aml *a, const char *mutex, uint16_t timeout);
void aml_release(struct aml *a, const char *mutex);
#define AML_SYSTEM_MEMORY 0x00
#define AML_SYSTEM_IO     0x01
void aml_operation_region(struct aml *a, const char *name, uint8_t space, uint64_t offset,
                          uint64_t len);
/* Field flags: access type | lock rule | update rule. */
#define AML_FIELD_BYTE_ACC       0x01
#define AML_FIELD_DWORD_ACC      0x03
#define AML_FIELD_PRESERVE       0x00
#define AML_FIELD_WRITE_AS_ZEROS 0x40
size_t aml_field_begin(struct aml *a, const char *region, uint8_t flags);
void aml_named_field(struct aml *a, const char *name, uint32_t bits);
void aml_reserved_field(struct aml *a, uint32_t bits);
void aml_create_dword_field(struct aml *a, const char *buf, unsigned index, const char *name);
void aml_rt_qword_memory(struct aml *a, uint64_t min, uint64_t max, uint64_t len);
void aml_rt_dword_memory(struct aml *a, uint32_t min, uint32_t max, uint32_t len);

/* ACPI table set built into guest memory at BOOT_ACPI_GPA. */
struct acpi_blob {
	uint8_t *tables[8]; /* heap copies of each table for --dump-acpi */
	size_t sizes[8];
	char names[8][5];
	unsigned n;
};

/* Build RSDP, XSDT, FADT, MADT, DSDT (and SRAT with NUMA) into the guest. */
int acpi_build(struct machine *m, struct acpi_blob *out) WUR;
/* Write each table to DIR/<SIG>.dat (RSDP.dat too). */
int acpi_dump(const struct acpi_blob *b, const char *dir) WUR;
void acpi_blob_free(struct acpi_blob *b);
/* Append a virtio-mmio transport as DSDT device "LNRO0005" (inside \_SB). */
void acpi_dsdt_virtio_mmio(struct aml *a, unsigned index, uint64_t base, uint32_t size,
                           uint32_t gsi);
uint8_t acpi_checksum(const void *p, size_t n);

/* ---- ACPI memory hotplug and GED (core/acpi_hotplug.c) ----------------- */

/*
 * QEMU's ACPI memory-hotplug controller (hw/acpi/memory_hotplug.c) at
 * MEMMAP_MHP_BASE, 0x18 bytes, little-endian, 1-4 byte accesses:
 *   read  0x00 address low    0x04 address high   0x08 size low
 *         0x0c size high      0x10 proximity      0x14 flags
 *   write 0x00 slot selector  0x04 _OST event     0x08 _OST status
 *         0x14 flags: INSERT clears the insert event, else REMOVE clears
 *              the remove event, else EJECT ejects the slot
 * and the Generic Event Device (hw/acpi/generic_event_device.c) at
 * MEMMAP_GED_BASE: a 32-bit event selector at 0 that a read returns and
 * clears.  An event sets its selector bit and pulses GSI MHP_GED_GSI,
 * edge-triggered active-high as QEMU's GED _CRS declares it.  Every machine
 * has the GED (the power button, ACPI_GED_PWR_DOWN_EVT); only one with DIMM
 * slots has the controller and ACPI_GED_MEM_HOTPLUG_EVT.
 */
#define MHP_GED_GSI              9u /* ISA IRQ 9, free: COM1 is 4, virtio 16..23 */
#define ACPI_GED_MEM_HOTPLUG_EVT 0x1u
#define ACPI_GED_PWR_DOWN_EVT    0x2u /* QEMU's bit: _EVT notifies \_SB.PWRB */
#define MHP_FLAG_ENABLED         0x1u
#define MHP_FLAG_INSERT          0x2u
#define MHP_FLAG_REMOVE          0x4u
#define MHP_FLAG_EJECT           0x8u
#define MHP_REG_ADDR_LO          0x00
#define MHP_REG_ADDR_HI          0x04
#define MHP_REG_SIZE_LO          0x08
#define MHP_REG_SIZE_HI          0x0c
#define MHP_REG_PXM              0x10
#define MHP_REG_FLAGS            0x14
#define MHP_REG_SELECTOR         0x00 /* write */
#define MHP_REG_OST_EVENT        0x04 /* write */
#define MHP_REG_OST_STATUS       0x08 /* write */
#define MHP_ID_MAX               64

struct mhp_slot {
	bool used;    /* a DIMM holds the slot until the core unmaps it */
	bool enabled; /* what the guest sees: present */
	bool inserting;
	bool removing;
	bool ejected; /* the guest ejected it; the unmap is pending */
	bool hotplugged;
	char id[MHP_ID_MAX];
	char memdev[MEMMAP_REGION_NAME_MAX];
	uint64_t addr;
	uint64_t size;
	uint32_t node;
	uint32_t ost_event;
	uint32_t ost_status;
};

enum mhp_event_kind {
	MHP_EV_EJECTED, /* the guest wrote EJECT: unmap, then mhp_release() */
	MHP_EV_OST,     /* the guest wrote an _OST status */
};

struct mhp_event {
	enum mhp_event_kind kind;
	unsigned slot;
	char id[MHP_ID_MAX];
	char memdev[MEMMAP_REGION_NAME_MAX];
	uint32_t ost_event;
	uint32_t ost_status;
};

#define MHP_MAX_EVENTS 64

/*
 * vCPU threads call the MMIO handlers; the machine plane's thread plugs,
 * asks for unplugs and takes the events.  @lock guards everything below it.
 * The callbacks are called without the lock and must not block.
 */
struct acpi_hotplug {
	void (*irq)(void *opaque);    /* pulse the GED's interrupt */
	void (*notify)(void *opaque); /* an event was queued */
	void *opaque;
	pthread_mutex_t lock;
	unsigned n_slots;
	uint32_t selector;
	uint32_t ged_sel;
	struct mhp_event ev[MHP_MAX_EVENTS];
	unsigned ev_head, ev_n, ev_lost;
	struct mhp_slot slot[CORE_MAX_RAM_SLOTS];
};

/* A controller of @n_slots slots (0..CORE_MAX_RAM_SLOTS); -EINVAL, -ENOMEM. */
int mhp_create(struct acpi_hotplug **out, unsigned n_slots) WUR;
void mhp_destroy(struct acpi_hotplug *h);

/*
 * Put DIMM @id into @slot (-1: the first free one): enabled; with
 * @hotplugged also the insert event and a GED interrupt.  *slot_out gets the
 * slot.  -ENOSPC no free slot, -EINVAL slot out of range, -EBUSY the slot
 * is taken, -EEXIST @id is plugged already.  No log: the caller says why.
 */
int mhp_plug(struct acpi_hotplug *h, int slot, const char *id, const char *memdev, uint64_t addr,
             uint64_t size, uint32_t node, bool hotplugged, unsigned *slot_out) WUR;
/*
 * Ask the guest to eject DIMM @id: the remove event and a GED interrupt.
 * -ENOENT no such DIMM, -EBUSY already being removed or ejected.
 */
int mhp_unplug_request(struct acpi_hotplug *h, const char *id, unsigned *slot_out) WUR;
/* Free @slot once its memory is unmapped (after MHP_EV_EJECTED). */
void mhp_release(struct acpi_hotplug *h, unsigned slot);
/* Copy of the slot holding @id; -ENOENT. */
int mhp_lookup(struct acpi_hotplug *h, const char *id, struct mhp_slot *out) WUR;
/* Take up to @max queued events, oldest first. */
unsigned mhp_take_events(struct acpi_hotplug *h, struct mhp_event *out, unsigned max);

/* io_handler_fn of the controller and of the GED (opaque = the controller). */
void mhp_mmio(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
void ged_mmio(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
/*
 * Register the GED's window, and with slots the controller's; -EEXIST or
 * -ENOSPC from io_register_mmio().
 */
int mhp_register(struct acpi_hotplug *h) WUR;
/*
 * Press the ACPI power button: the power-down event and a GED interrupt.
 * What happens next is the guest's to decide (QEMU's system_powerdown).
 */
void ged_power_button(struct acpi_hotplug *h);

/*
 * DSDT parts, inside Scope(\_SB): \_SB.MHPD (the register block) and
 * \_SB.MHPC with a memory device MPxx per slot (_HID PNP0C80, _UID "0xNN",
 * _CRS, _STA, _PXM, _OST, _EJ0), exactly the methods QEMU builds; and
 * \_SB.GED (_HID ACPI0013) whose _EVT, for each bit of @events, calls
 * \_SB.MHPC.MSCN (memory hotplug) or does Notify(\_SB.PWRB, 0x80) (power
 * down; \_SB.PWRB, a PNP0C0C power button, comes with that bit).
 */
void acpi_dsdt_memory_hotplug(struct aml *a, unsigned n_slots, uint64_t base);
void acpi_dsdt_ged(struct aml *a, uint32_t gsi, uint64_t base, uint32_t events);

/*
 * Where a DIMM of @size goes in the device-memory area of @mm: @want != 0 is
 * checked (-EINVAL misaligned to @align or size not a multiple of it,
 * -ERANGE outside the area, -EEXIST overlapping a device-memory region),
 * else the lowest @align-aligned free range (-ENOSPC none), as QEMU's
 * memory_device_get_free_addr() does.
 */
int memmap_devmem_place(const struct memmap *mm, uint64_t size, uint64_t align, uint64_t want,
                        uint64_t *addr) WUR;

/* ---- the machine plane (core/machine_plane.c) -------------------------- */

/*
 * Supervised mode: splitvm drives the core over a REP channel in the run
 * directory and hands it fds on an inherited fd channel; the order of a
 * start is at the top of machine_plane.c and in docs/protocol.md.
 */
struct machine_plane;

/*
 * Bind rundir/@chan_name (REP, planes MACHINE) and wrap @fdchan_fd, which
 * is consumed always.  @m is filled in by MachineStart.
 */
int machine_plane_create(struct machine_plane **out, struct machine *m, const char *run_dir,
                         const char *chan_name, int fdchan_fd) WUR;
/* Serve from a thread of the plane's own. */
int machine_plane_start(struct machine_plane *p) WUR;

/* Polls readable when the plane has news for main: see _outcome(). */
int machine_plane_ready_fd(const struct machine_plane *p);
enum machine_plane_outcome {
	MACHINE_PLANE_WAITING, /* nothing yet */
	MACHINE_PLANE_MACHINE, /* MachineStart created the machine: machine_wait() it */
	MACHINE_PLANE_EXIT,    /* powered down before any machine existed: exit 0 */
};
/* Consume the news; an enum machine_plane_outcome. */
int machine_plane_outcome(struct machine_plane *p);
/* Did MachineStart create the machine (so that it needs machine_destroy)? */
bool machine_plane_has_machine(const struct machine_plane *p);

/* End and join the plane's thread; then nothing touches the machine. */
void machine_plane_stop(struct machine_plane *p);
/* Stop, close the channels, free.  NULL is a no-op. */
void machine_plane_destroy(struct machine_plane *p);

#endif
