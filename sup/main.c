/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * splitvm: the supervisor.  Its life:
 *   parse the launch config (domain XML or QEMU-style options) and refuse
 *   a bad one before anything exists -> make the run directory -> start
 *   splitvm-memsrv and create every backend -> start splitvm-core
 *   supervised, MachineStart, map base RAM and the device regions -> one
 *   splitvm-devproc per virtio-mem device with its backend fd and state
 *   memfd -> VcpusResume -> serve ctl, publish events, restart device
 *   processes that die -> tear everything down and remove the run dir.
 *
 * The core or memsrv dying ends the VM (their state is the guest's); a
 * device process dying does not: it is restarted with the same fds and
 * state memfd (DESIGN.md "Exactly-once").  Children die with the
 * supervisor (PR_SET_PDEATHSIG).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "backend_config.h"
#include "fd.h"
#include "log.h"
#include "sup.h"

#define GIB (UINT64_C(1) << 30)
/*
 * How long a device process's orderly exit (the core went away) waits for
 * the core's own: the core's KVM teardown comes after it closes the
 * device channels (4-24 ms here), and vm_stop() gives it as long.
 */
#define SUP_CORE_GONE_MS 3000

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: splitvm run [OPTIONS] FILE.xml\n"
	        "       splitvm run [OPTIONS] -name NAME -m SIZE[,slots=N,maxmem=SIZE] -smp N\n"
	        "                   [-numa ...] [-object ...] [-device ...] -kernel FILE\n"
	        "                   [-initrd FILE] [-append CMDLINE] [-serial stdio|file:PATH|pty|"
	        "none]\n"
	        "options:\n"
	        "  --dry-run          check the config, print it, start nothing\n"
	        "  --strict           refuse XML elements splitvm has no use for\n"
	        "  --daemonize        run in the background (with --pidfile)\n"
	        "  --pidfile FILE     write the supervisor's pid to FILE\n"
	        "  --verbose          debug log lines, also from the children\n"
	        "  --memsrv PATH, --core PATH, --devproc PATH\n"
	        "                     the executables (default: beside splitvm, or the build "
	        "tree's)\n"
	        "The run directory is /run/splitvm/NAME as root, $XDG_RUNTIME_DIR/splitvm/NAME "
	        "otherwise;\nsplitvm-ctl --vm NAME talks to it.\n");
}

/* @name beside our own executable, else in the build tree (../dir/name). */
static int find_bin(char *out, size_t len, const char *opt, const char *dir, const char *name)
{
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (opt) {
		snprintf(out, len, "%s", opt);
		return access(out, X_OK) ? -errno : 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -errno;
	self[n] = 0;
	slash = strrchr(self, '/');
	if (!slash)
		return -ENOENT;
	*slash = 0;
	n = snprintf(out, len, "%s/%s", self, name);
	if (n > 0 && (size_t)n < len && !access(out, X_OK))
		return 0;
	n = snprintf(out, len, "%s/../%s/%s", self, dir, name);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return access(out, X_OK) ? -ENOENT : 0;
}

static int run_dir_path(struct sup *s)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (s->cfg->run_dir && s->cfg->run_dir[0])
		snprintf(s->run_dir, sizeof(s->run_dir), "%s", s->cfg->run_dir);
	else if (geteuid() == 0)
		snprintf(s->run_dir, sizeof(s->run_dir), "/run/splitvm/%s", s->cfg->name);
	else if (xdg && xdg[0])
		snprintf(s->run_dir, sizeof(s->run_dir), "%s/splitvm/%s", xdg, s->cfg->name);
	else {
		log_warnx("XDG_RUNTIME_DIR is not set: where the run directory goes is unknown "
		          "(set it, or <splitvm:rundir path=.../>)");
		return -EINVAL;
	}
	return 0;
}

/* Unlink what we made in the run directory, then the directory. */
static void run_dir_remove(struct sup *s)
{
	DIR *d;
	struct dirent *e;

	if (!s->run_dir_made)
		return;
	d = opendir(s->run_dir);
	if (d) {
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				(void)unlinkat(dirfd(d), e->d_name, 0);
		closedir(d);
	}
	if (rmdir(s->run_dir))
		log_warn("rmdir %s", s->run_dir);
	s->run_dir_made = false;
}

static int run_dir_make(struct sup *s)
{
	char ctl[PATH_MAX + 8];
	struct ipc_err err;

	snprintf(ctl, sizeof(ctl), "%s/ctl", s->run_dir);
	if (!access(ctl, F_OK)) {
		log_warnx("%s exists: a VM named '%s' runs already (or a crashed splitvm left it; "
		          "remove the directory)",
		          s->run_dir, s->cfg->name);
		return -EEXIST;
	}
	if (ipc_rundir_create(s->run_dir, &err)) {
		log_warnx("run directory: %s", err.text);
		return -EIO;
	}
	s->run_dir_made = true;
	return 0;
}

/* ---- children -------------------------------------------------------------- */

/* A socketpair for a child's fd channel; *child is the end it inherits. */
static int fd_socketpair(int *ours, int *child)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_warn("socketpair");
		return -errno;
	}
	*ours = sv[0];
	*child = sv[1];
	return 0;
}

/*
 * Start one of the VM's services (memsrv, the core): fork+exec BIN with the
 * run dir, its channel's name after CHAN_FLAG and the child's end of a fresh
 * fd-channel socketpair after FD_FLAG; our end becomes *fdch.
 */
static int start_service(struct sup *s, struct sup_proc *p, const char *model, char *bin,
                         const char *chan_flag, const char *chan, const char *fd_flag,
                         struct ipc_fdchan **fdch)
{
	int ours = -1, child = -1, r;
	struct ipc_err err;
	char fdnum[16];
	char *argv[] = { bin,          (char *)"--run-dir",
		         s->run_dir,   (char *)chan_flag,
		         (char *)chan, (char *)fd_flag,
		         fdnum,        s->verbose ? (char *)"--verbose" : NULL,
		         NULL };

	r = fd_socketpair(&ours, &child);
	if (r)
		return r;
	snprintf(fdnum, sizeof(fdnum), "%d", child);
	r = sup_spawn(&p->pid, argv, &child, 1);
	close_fd(&child);
	if (r) {
		close_fd(&ours);
		return r;
	}
	p->model = model;
	p->started_ms = sup_now_ms();
	if (ipc_fdchan_wrap(fdch, take_fd(&ours), getuid(), &err)) {
		log_warnx("%s: %s", model, err.text);
		return -EIO;
	}
	return 0;
}

/*
 * Wait (inotify, no polling) until @p has bound @names in the run directory:
 * a connection made before then waits out NNG's reconnect back-off.
 */
static int service_wait(struct sup *s, struct sup_proc *p, const char *const *names, unsigned n)
{
	int r = sup_wait_files(s, names, n, p->pid, SUP_CALL_MS);

	if (r == -ECHILD)
		log_warnx("splitvm-%s ended before it bound its sockets", p->model);
	else if (r)
		log_warnx("splitvm-%s: its sockets in %s: %s", p->model, s->run_dir, strerror(-r));
	return r;
}

static int spawn_memsrv(struct sup *s)
{
	return start_service(s, &s->memsrv, "memsrv", s->memsrv_bin, "--channel", "memsrv",
	                     "--fd-channel-fd", &s->memsrv_fd);
}

static int connect_memsrv(struct sup *s)
{
	static const char *const names[] = { "memsrv", "memsrv-events" };
	struct ipc_chan_opts o = { .planes = PROTO_PLANE_MEMORY };
	struct ipc_err err;

	if (service_wait(s, &s->memsrv, names, 2))
		return -EIO;
	/* Subscribed before the first request: prealloc progress of boot RAM. */
	if (sup_memsrv_events_open(s))
		return -EIO;
	if (ipc_chan_connect(&s->memsrv_req, IPC_ROLE_REQ, s->run_dir, "memsrv", &o, &err)) {
		log_warnx("memsrv: %s", err.text);
		return -EIO;
	}
	return 0;
}

static int spawn_core(struct sup *s)
{
	return start_service(s, &s->core, "core", s->core_bin, "--machine-chan", "machine",
	                     "--fd-chan-fd", &s->core_fd);
}

static int connect_core(struct sup *s)
{
	static const char *const names[] = { "machine", "core-events" };
	struct ipc_chan_opts o = { .planes = PROTO_PLANE_MACHINE };
	struct ipc_chan_opts ev = { .planes = PROTO_PLANE_EVENT };
	struct ipc_err err;

	/* core-events carries DEVICE_DELETED and ACPI_DEVICE_OST of DIMMs. */
	if (service_wait(s, &s->core, names, 2))
		return -EIO;
	if (ipc_chan_connect(&s->core_req, IPC_ROLE_REQ, s->run_dir, "machine", &o, &err) ||
	    ipc_chan_connect(&s->core_events, IPC_ROLE_SUB, s->run_dir, "core-events", &ev, &err)) {
		log_warnx("core: %s", err.text);
		return -EIO;
	}
	return 0;
}

/* One request whose reply must be of @want (0: any); logs failures. */
static int call(struct sup *s, struct ipc_chan *c, const char *what, const ProtobufCMessage *req,
                uint32_t want, struct ipc_msg **out)
{
	struct ipc_err err;
	struct ipc_msg *rep = NULL;

	(void)s;
	if (ipc_call(c, NULL, req, SUP_CALL_MS, &rep, &err)) {
		if (err.code == IPC_ERR_PEER)
			log_warnx("%s: %s%s%s", what, err.field, err.field[0] ? ": " : "",
			          err.text);
		else
			log_warnx("%s: %s", what, err.text);
		return -EIO;
	}
	if (want && rep->type->type != want) {
		log_warnx("%s: unexpected reply %s", what, rep->type->name);
		ipc_msg_free(rep);
		return -EPROTO;
	}
	if (out)
		*out = rep;
	else
		ipc_msg_free(rep);
	return 0;
}

/* The fd of a BackendInfo reply, off memsrv's fd channel. */
static int reply_fd(struct sup *s, struct ipc_msg *rep, const char *what)
{
	const Splitvm__BackendInfo *info = (const Splitvm__BackendInfo *)rep->body;
	struct ipc_fdset *set = NULL;
	struct ipc_err err;
	int fd;

	if (!info->fd_tag) {
		log_warnx("%s: memsrv sent no fd", what);
		return -EPROTO;
	}
	if (ipc_fdchan_recv(s->memsrv_fd, info->fd_tag, SUP_CALL_MS, &set, &err)) {
		log_warnx("%s: %s", what, err.text);
		return -EIO;
	}
	fd = set->nfds == 1 ? ipc_fdset_take(set, 0) : -1;
	ipc_fdset_release(set);
	if (fd < 0)
		log_warnx("%s: expected one fd", what);
	return fd >= 0 ? fd : -EPROTO;
}

/* BackendAcquire{@id, @user}: the backend's fd. */
int sup_acquire(struct sup *s, const char *id, const char *user)
{
	Splitvm__BackendAcquire a = SPLITVM__BACKEND_ACQUIRE__INIT;
	struct ipc_msg *rep = NULL;
	char what[160];
	int fd;

	snprintf(what, sizeof(what), "backend %s for %s", id, user);
	a.id = (char *)id;
	a.user = (char *)user;
	if (call(s, s->memsrv_req, what, &a.base, SPLITVM__MSG_TYPE__MSG_BACKEND_INFO, &rep))
		return -EIO;
	fd = reply_fd(s, rep, what);
	ipc_msg_free(rep);
	return fd;
}

/* RegionMap of @fd (not consumed) on the core; @ro: read-only for the guest. */
static int region_map(struct sup *s, const char *region, int fd, uint64_t offset, uint64_t gpa,
                      uint64_t size, bool sparse, bool ro, const char *owner)
{
	Splitvm__RegionMap m = SPLITVM__REGION_MAP__INIT;
	struct ipc_err err;
	char what[128];

	m.fd_tag = ++s->next_core_tag;
	if (ipc_fdchan_send(s->core_fd, m.fd_tag, &fd, 1, &err)) {
		log_warnx("region %s: %s", region, err.text);
		return -EIO;
	}
	m.region = (char *)region;
	m.offset = offset;
	m.gpa = gpa;
	m.size = size;
	m.sparse = sparse;
	m.readonly = ro;
	m.owner_device = (char *)(owner ? owner : "");
	snprintf(what, sizeof(what), "RegionMap %s", region);
	return call(s, s->core_req, what, &m.base, 0, NULL);
}

static int create_backends(struct sup *s)
{
	for (size_t i = 0; i < s->cfg->n_backends; i++) {
		Splitvm__BackendCreate c = SPLITVM__BACKEND_CREATE__INIT;
		struct ipc_msg *rep = NULL;
		struct ipc_err err;

		/* Prealloc progress goes on to `events` while memsrv works. */
		c.config = s->cfg->backends[i];
		if (sup_memsrv_call(s, &c.base, SUP_CALL_MS, &rep, &err)) {
			log_warnx("backend %s: %s%s%s", c.config->id, err.field,
			          err.field[0] ? ": " : "", err.text);
			return -EIO;
		}
		ipc_msg_free(rep);
	}
	return 0;
}

/*
 * A machine with no NUMA cells names no base-RAM backend (the launch config
 * keeps what the user wrote): it gets one memfd for all its boot RAM, as
 * QEMU's implicit "pc.ram".
 */
static int add_implicit_base_ram(struct sup *s)
{
	Splitvm__BackendConfig *b, **v;

	for (size_t i = 0; i < s->cfg->n_backends; i++)
		if (s->cfg->backends[i]->base_ram)
			return 0;
	v = realloc(s->cfg->backends, (s->cfg->n_backends + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->cfg->backends = v;
	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	backend_config_init(b, SPLITVM__BACKEND_TYPE__BACKEND_RAM);
	b->id = strdup("ram");
	if (!b->id) {
		free(b);
		return -ENOMEM;
	}
	b->size = s->cfg->ram_size;
	b->base_ram = true;
	v[s->cfg->n_backends++] = b;
	return 0;
}

static const Splitvm__BackendConfig *base_ram(const struct sup *s)
{
	for (size_t i = 0; i < s->cfg->n_backends; i++)
		if (s->cfg->backends[i]->base_ram)
			return s->cfg->backends[i];
	return NULL;
}

/* MachineStart, then map every base-RAM range the core asks for. */
static int machine_start(struct sup *s)
{
	Splitvm__MachineStart ms = SPLITVM__MACHINE_START__INIT;
	const Splitvm__BackendConfig *ram = base_ram(s);
	const Splitvm__MemoryMap *map;
	struct ipc_msg *rep = NULL;
	uint64_t offset = 0;
	int fd = -1, r = 0;

	if (!ram) {
		log_warnx("the config has no base-RAM backend");
		return -EINVAL;
	}
	/* The core binds the device plane (dev-ID) in the run directory. */
	if (!s->cfg->run_dir || strcmp(s->cfg->run_dir, s->run_dir)) {
		char *dir = strdup(s->run_dir);

		if (!dir)
			return -ENOMEM;
		if (s->cfg->run_dir && s->cfg->run_dir != protobuf_c_empty_string)
			free(s->cfg->run_dir);
		s->cfg->run_dir = dir;
	}
	ms.config = s->cfg;
	if (call(s, s->core_req, "MachineStart", &ms.base, SPLITVM__MSG_TYPE__MSG_MEMORY_MAP, &rep))
		return -EIO;
	map = (const Splitvm__MemoryMap *)rep->body;
	fd = sup_acquire(s, ram->id, "core");
	if (fd < 0) {
		ipc_msg_free(rep);
		return fd;
	}
	for (size_t i = 0; i < map->n_entries && !r; i++) {
		const Splitvm__MemoryMapEntry *e = map->entries[i];

		if (!strcmp(e->name, "device-memory-area")) {
			s->devmem_base = e->gpa;
			s->devmem_size = e->size;
		}
		if (e->kind != SPLITVM__REGION_KIND__REGION_RAM || e->slot >= 0)
			continue;
		r = region_map(s, e->name, fd, offset, e->gpa, e->size, false, false, NULL);
		offset += e->size;
	}
	close_fd(&fd);
	ipc_msg_free(rep);
	return r;
}

static const Splitvm__BackendConfig *find_backend(const struct sup *s, const char *id)
{
	for (size_t i = 0; i < s->cfg->n_backends; i++)
		if (!strcmp(s->cfg->backends[i]->id, id))
			return s->cfg->backends[i];
	return NULL;
}

/*
 * An NVDIMM's slot, by the core's rule (core/nfit.c nfit_config_from_vm()):
 * slot= when given, else the lowest slot that no DIMM or NVDIMM of the
 * config names and no earlier NVDIMM took.  The core holds these slots, so
 * a DIMM never gets one.
 */
static int nvdimm_slot(const struct sup *s, size_t idx)
{
	const Splitvm__VmConfig *cfg = s->cfg;

	if (cfg->devices[idx]->slot >= 0)
		return cfg->devices[idx]->slot;
	for (uint32_t slot = 0; slot < cfg->slots; slot++) {
		bool taken = false;

		for (size_t i = 0; i < cfg->n_devices && !taken; i++) {
			const Splitvm__DeviceConfig *d = cfg->devices[i];
			bool nvd = d->model == SPLITVM__DEVICE_MODEL__MODEL_NVDIMM;

			if ((nvd || d->model == SPLITVM__DEVICE_MODEL__MODEL_DIMM) &&
			    d->slot >= 0 && (uint32_t)d->slot == slot)
				taken = true;
			else if (nvd && i < idx && d->slot < 0 && nvdimm_slot(s, i) == (int)slot)
				taken = true;
		}
		if (!taken)
			return (int)slot;
	}
	return -1;
}

/*
 * Device placement.  The core places every virtio-pmem region itself
 * (core_virtio_start(): in config order from the start of the
 * device-memory area, each next one at the 1 GiB boundary after the last)
 * and tells the device process at attach, so those addresses are taken
 * first, the same way; every other region then goes at the next 1 GiB
 * boundary after them.
 */
static int place_devices(struct sup *s)
{
	uint64_t next = s->devmem_base, end = s->devmem_base + s->devmem_size;
	int slot = 0;

	s->devs = calloc(s->cfg->n_devices ? s->cfg->n_devices : 1, sizeof(*s->devs));
	if (!s->devs)
		return -ENOMEM;
	s->n_devs = s->cfg->n_devices;
	/* Every fd field -1 first: teardown closes them whatever fails below. */
	for (size_t i = 0; i < s->n_devs; i++) {
		struct sup_dev *d = &s->devs[i];

		d->cfg = s->cfg->devices[i];
		d->backend_fd = d->state_fd = d->stderr_fd = -1;
		d->violation = -1;
		d->slot = -1;
		splitvm__process_exit__init(&d->reported_exit);
	}
	for (size_t i = 0; i < s->n_devs; i++) {
		struct sup_dev *d = &s->devs[i];

		d->be = find_backend(s, d->cfg->memdev);
		if (!d->be) {
			log_warnx("device %s: no backend '%s'", d->cfg->id, d->cfg->memdev);
			return -EINVAL;
		}
		d->size = d->be->size;
		d->proc.model = d->cfg->model == SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_PMEM
		                        ? "virtio-pmem"
		                        : "virtio-mem";
		if (d->cfg->model != SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_PMEM)
			continue;
		if (next + d->size > end) {
			log_warnx("device %s: [0x%" PRIx64 ", +0x%" PRIx64 ") does not fit the "
			          "device-memory area (maxmem, slots)",
			          d->cfg->id, next, d->size);
			return -ENOSPC;
		}
		if (d->cfg->addr && d->cfg->addr != next)
			log_warnx("device %s: memaddr=0x%" PRIx64 " is not honoured: splitvm-core "
			          "places virtio-pmem regions itself, at 0x%" PRIx64,
			          d->cfg->id, d->cfg->addr, next);
		d->gpa = next;
		next = (next + d->size + GIB - 1) & ~(GIB - 1);
	}
	for (size_t i = 0; i < s->n_devs; i++) {
		struct sup_dev *d = &s->devs[i];

		if (d->cfg->model == SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_PMEM)
			continue;
		next = (next + GIB - 1) & ~(GIB - 1);
		d->gpa = d->cfg->addr ? d->cfg->addr : next;
		if (d->gpa + d->size > end) {
			log_warnx("device %s: [0x%" PRIx64 ", +0x%" PRIx64 ") does not fit the "
			          "device-memory area (maxmem, slots)",
			          d->cfg->id, d->gpa, d->size);
			return -ENOSPC;
		}
		next = d->gpa + d->size;
		if (d->cfg->model == SPLITVM__DEVICE_MODEL__MODEL_DIMM ||
		    d->cfg->model == SPLITVM__DEVICE_MODEL__MODEL_NVDIMM)
			d->slot = d->cfg->slot >= 0 ? d->cfg->slot : slot++;
		if (d->cfg->model == SPLITVM__DEVICE_MODEL__MODEL_NVDIMM)
			d->slot = nvdimm_slot(s, i);
	}
	return 0;
}

/*
 * What every device with a process and a mapped region gets: the core maps
 * the first @map_size bytes of the backend at d->gpa (@sparse: reserved
 * only, the device's process maps slots), the process gets its own backend
 * fd and a state memfd of @state_size bytes, then it is spawned.
 */
static int map_and_spawn(struct sup *s, struct sup_dev *d, uint64_t map_size, bool sparse,
                         uint64_t state_size)
{
	Splitvm__StateCreate sc = SPLITVM__STATE_CREATE__INIT;
	struct ipc_msg *rep = NULL;
	int fd;

	fd = sup_acquire(s, d->be->id, "core");
	if (fd < 0)
		return fd;
	if (region_map(s, d->be->id, fd, 0, d->gpa, map_size, sparse, !sparse && d->be->readonly,
	               sparse ? d->cfg->id : NULL)) {
		close_fd(&fd);
		return -EIO;
	}
	close_fd(&fd);
	d->backend_fd = sup_acquire(s, d->be->id, d->cfg->id);
	if (d->backend_fd < 0)
		return d->backend_fd;
	sc.device = d->cfg->id;
	sc.size = state_size;
	if (call(s, s->memsrv_req, "StateCreate", &sc.base, SPLITVM__MSG_TYPE__MSG_BACKEND_INFO,
	         &rep))
		return -EIO;
	d->state_fd = reply_fd(s, rep, "state memfd");
	ipc_msg_free(rep);
	if (d->state_fd < 0)
		return d->state_fd;
	return sup_dev_spawn(s, d);
}

/*
 * An nvdimm as QEMU's nvdimm_prepare_memory_region() lays it out: the
 * label area is the backend's last label-size bytes, the guest-visible
 * PMEM region the rest, aligned down to the backend's alignment; the core
 * maps only that.  Its process holds the backend fd for the label area.
 */
static int start_nvdimm(struct sup *s, struct sup_dev *d)
{
	uint64_t align = d->be->align ? d->be->align : 4096, size = d->be->size;
	uint64_t label = d->cfg->label_size, pmem;

	pmem = label < size ? (size - label) / align * align : 0;
	if (!pmem) {
		log_warnx("device %s: the size of memdev %s (0x%" PRIx64 ") is too small to "
		          "contain nvdimm label (0x%" PRIx64 ") and aligned PMEM (0x%" PRIx64 ")",
		          d->cfg->id, d->be->id, size, label, align);
		return -EINVAL;
	}
	d->size = pmem;
	d->proc.model = "nvdimm";
	/* The CLI wants a state memfd; the model keeps no journal (idempotent calls). */
	return map_and_spawn(s, d, pmem, false, 4096);
}

static bool dev_plane_exists(struct sup *s, const struct sup_dev *d)
{
	char path[PATH_MAX + 96];

	snprintf(path, sizeof(path), "%s/dev-%s", s->run_dir, d->cfg->id);
	return access(path, F_OK) == 0;
}

/* A virtio-mem device: its sparse region, fds, state memfd, process. */
static int start_vmem(struct sup *s, struct sup_dev *d)
{
	uint64_t block = d->cfg->block_size ? d->cfg->block_size : CONFIG_THP_SIZE;

	/* The journal: two copies of the bitmap and the sizes, rounded up. */
	return map_and_spawn(s, d, d->size, true,
	                     ((65536 + 2 * (d->size / block / 8)) + 4095) & ~UINT64_C(4095));
}

/*
 * A virtio-pmem device: the whole file mapped plainly (read-only when the
 * backend is), its fd to the device process for FLUSH, and a state memfd
 * (the CLI asks for one; the model keeps no journal: a flush is idempotent).
 */
static int start_pmem(struct sup *s, struct sup_dev *d)
{
	return map_and_spawn(s, d, d->size, false, 4096);
}

/*
 * DimmPlug of a pc-dimm: the core checks it, places it (addr= or the first
 * free aligned range), maps it and fills its slot; before the first
 * VcpusResume that is a cold plug the guest sees at boot.  The reply says
 * "dimm ID slot N addr 0x.. size 0x.. node N": where it went.
 */
static int dimm_plug(struct sup *s, struct sup_dev *d)
{
	Splitvm__DimmPlug p = SPLITVM__DIMM_PLUG__INIT;
	struct ipc_msg *rep = NULL;
	struct ipc_err err;
	const char *text;
	char what[128];
	int fd, slot;
	uint64_t addr;

	/* In the DIMM's name: DEVICE_DELETED releases it as device_add's are. */
	fd = sup_acquire(s, d->be->id, d->cfg->id);
	if (fd < 0)
		return fd;
	p.fd_tag = ++s->next_core_tag;
	if (ipc_fdchan_send(s->core_fd, p.fd_tag, &fd, 1, &err)) {
		log_warnx("DimmPlug %s: %s", d->cfg->id, err.text);
		close_fd(&fd);
		return -EIO;
	}
	/* The DIMM's process keeps it, for the discard after an unplug. */
	d->backend_fd = take_fd(&fd);
	p.device = (Splitvm__DeviceConfig *)d->cfg;
	p.size = d->size;
	snprintf(what, sizeof(what), "DimmPlug %s", d->cfg->id);
	if (call(s, s->core_req, what, &p.base, SPLITVM__MSG_TYPE__MSG_OK_REPLY, &rep))
		return -EIO;
	text = ((const Splitvm__OkReply *)rep->body)->text;
	if (text && (text = strstr(text, " slot ")) &&
	    sscanf(text, " slot %d addr %" SCNx64, &slot, &addr) == 2) {
		d->slot = slot;
		d->gpa = addr;
	} else {
		log_warnx("%s: the core's reply '%s' says no slot and address", what,
		          ((const Splitvm__OkReply *)rep->body)->text);
	}
	ipc_msg_free(rep);
	return 0;
}

static int start_devices(struct sup *s, bool after_resume)
{
	for (size_t i = 0; i < s->n_devs; i++) {
		struct sup_dev *d = &s->devs[i];
		int fd, r;

		switch (d->cfg->model) {
		case SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_PMEM:
			/* The core binds dev-ID at MachineStart and waits for it at boot. */
			if (after_resume)
				continue;
			r = start_pmem(s, d);
			if (r)
				return r;
			break;
		case SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_MEM:
			if (d->state == SUP_DEV_RUNNING)
				continue;
			if (!dev_plane_exists(s, d)) {
				d->state = SUP_DEV_NO_PLANE;
				if (after_resume)
					log_warnx(
					        "device %s: splitvm-core binds no dev-%s socket in "
					        "supervised mode: the device is not started",
					        d->cfg->id, d->cfg->id);
				continue;
			}
			r = start_vmem(s, d);
			if (r)
				return r;
			break;
		case SPLITVM__DEVICE_MODEL__MODEL_DIMM:
			continue; /* below, once the others' ranges are taken */
		case SPLITVM__DEVICE_MODEL__MODEL_NVDIMM:
			/* Like virtio-pmem: the core binds dev-ID at MachineStart. */
			if (after_resume)
				continue;
			r = start_nvdimm(s, d);
			if (r)
				return r;
			break;
		default:
			if (after_resume)
				continue;
			/* Memory the guest has from boot: the whole region, mapped once. */
			d->state = SUP_DEV_PASSIVE;
			fd = sup_acquire(s, d->be->id, "core");
			if (fd < 0)
				return fd;
			r = region_map(s, d->be->id, fd, 0, d->gpa, d->size, false, d->be->readonly,
			               NULL);
			close_fd(&fd);
			if (r)
				return r;
		}
	}
	/*
	 * The core places a DIMM in the first free range, and virtio-pmem
	 * regions where it decided at MachineStart: DIMMs go last.
	 */
	for (size_t i = 0; i < s->n_devs && !after_resume; i++) {
		struct sup_dev *d = &s->devs[i];
		int r;

		if (d->cfg->model != SPLITVM__DEVICE_MODEL__MODEL_DIMM)
			continue;
		d->state = SUP_DEV_PASSIVE;
		d->proc.model = "pc-dimm";
		r = dimm_plug(s, d);
		if (r)
			return r;
		r = sup_dev_spawn(s, d);
		if (r)
			return r;
	}
	return 0;
}

/*
 * Wait (inotify) up to 500 ms for the dev-ID sockets of the devices whose
 * plane was missing before VcpusResume; one still missing then is left
 * unstarted, with a warning, by start_devices().
 */
static int wait_dev_planes(struct sup *s)
{
	const char **names;
	char(*buf)[96];
	unsigned n = 0;
	int r;

	names = calloc(s->n_devs ? s->n_devs : 1, sizeof(*names));
	buf = calloc(s->n_devs ? s->n_devs : 1, sizeof(*buf));
	if (!names || !buf) {
		free(names);
		free(buf);
		return -ENOMEM;
	}
	for (size_t k = 0; k < s->n_devs; k++) {
		if (s->devs[k].state != SUP_DEV_NO_PLANE)
			continue;
		snprintf(buf[n], sizeof(buf[n]), "dev-%s", s->devs[k].cfg->id);
		names[n] = buf[n];
		n++;
	}
	r = n ? sup_wait_files(s, names, n, s->core.pid, 500) : 0;
	free(names);
	free(buf);
	/* Missing planes are start_devices()'s to report; a dead core is reap()'s. */
	return r == -ETIMEDOUT || r == -ECHILD ? 0 : r;
}

static int vm_start(struct sup *s)
{
	Splitvm__VcpusResume vr = SPLITVM__VCPUS_RESUME__INIT;
	int r;

	/*
	 * memsrv and the core start side by side (the core needs nothing of
	 * memsrv's before MachineStart), before our own messaging library
	 * starts its threads: their exec and set-up overlap ours.
	 */
	r = add_implicit_base_ram(s);
	if (!r)
		r = sup_watch_open(s);
	if (!r)
		r = spawn_memsrv(s);
	if (!r)
		r = spawn_core(s);
	if (!r)
		r = sup_events_open(s);
	if (!r)
		r = connect_memsrv(s);
	if (!r)
		r = create_backends(s);
	if (!r)
		r = connect_core(s);
	if (!r)
		r = machine_start(s);
	if (!r)
		r = place_devices(s);
	if (!r)
		r = start_devices(s, false);
	if (!r)
		r = call(s, s->core_req, "VcpusResume", &vr.base, 0, NULL);
	if (r)
		return r;
	/* A core that makes the device plane at boot binds dev-ID only now. */
	r = wait_dev_planes(s);
	sup_watch_stop(s);
	return r ? r : start_devices(s, true);
}

/* ---- running ------------------------------------------------------------- */

static void core_or_memsrv_died(struct sup *s, struct sup_proc *p, int status)
{
	Splitvm__ProcessExit e;
	char why[128];

	sup_exit_reason(status, p->pid, -1, NULL, 0, &e);
	sup_exit_text(&e, why, sizeof(why));
	p->pid = 0;
	if (p == &s->core) {
		ipc_chan_destroy(s->core_req);
		s->core_req = NULL;
	}
	if (s->stopping)
		return;
	if (p == &s->core && e.kind == SPLITVM__EXIT_KIND__EXIT_CODE) {
		/*
		 * The guest ended the machine (S5 after system_powerdown, a
		 * reset, the test guest's debug exit): its status is ours, and
		 * the reason starts with QEMU's SHUTDOWN cause.
		 */
		char reason[sizeof(why) + 32];

		snprintf(reason, sizeof(reason), "guest-shutdown: splitvm-core %s", why);
		log_info("the guest shut down (splitvm-core %s): stopping the VM", why);
		sup_event_guest_shutdown(s, reason);
		s->exit_status = e.code;
	} else {
		log_warnx("splitvm-%s died (%s): shutting the VM down", p->model, why);
		sup_event_process_exited(s, p->model, false, &e);
		s->exit_status = 1;
	}
	s->stopping = true;
}

/*
 * Device @d's process ended with @status.  Exit 0 is how it says that its
 * connection to the core hung up (devproc_core_gone()): the core is ending.
 * The core closes its device channels before its KVM teardown, so that
 * exit is usually reaped before the core's; read as a crash, it would be
 * restarted, reported as DEVICE_PROCESS_EXITED ahead of GUEST_SHUTDOWN, and
 * its successor would find no core.  So the core's end is waited for (a
 * pidfd) and reaped first; the device's then belongs to the VM's shutdown.
 * A core still running after SUP_CORE_GONE_MS leaves it an unexpected exit.
 */
static void reap_core_first(struct sup *s, const struct sup_dev *d, int status)
{
	int core_status;

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || s->core.pid <= 0 || s->stopping)
		return;
	if (sup_wait_exit(s->core.pid, SUP_CORE_GONE_MS)) {
		log_warnx("device %s: process %d exited 0 (the core went away), but splitvm-core "
		          "(pid %d) runs on after %d ms",
		          d->cfg->id, (int)d->proc.pid, (int)s->core.pid, SUP_CORE_GONE_MS);
		return;
	}
	while (waitpid(s->core.pid, &core_status, 0) < 0) {
		if (errno != EINTR) {
			log_warn("waitpid for splitvm-core (pid %d)", (int)s->core.pid);
			return;
		}
	}
	core_or_memsrv_died(s, &s->core, core_status);
	log_debug("device %s: process %d ended after the core", d->cfg->id, (int)d->proc.pid);
}

static void reap(struct sup *s)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid <= 0)
			return;
		if (pid == s->core.pid) {
			core_or_memsrv_died(s, &s->core, status);
			continue;
		}
		if (pid == s->memsrv.pid) {
			core_or_memsrv_died(s, &s->memsrv, status);
			continue;
		}
		for (size_t i = 0; i < s->n_devs; i++) {
			if (s->devs[i].proc.pid != pid)
				continue;
			reap_core_first(s, &s->devs[i], status);
			sup_dev_exited(s, &s->devs[i], status);
		}
	}
}

static void handle_signals(struct sup *s)
{
	struct signalfd_siginfo si;

	while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			reap(s);
		} else if (!s->stopping) {
			log_info("%s: stopping the VM", strsignal((int)si.ssi_signo));
			s->stopping = true;
		}
	}
}

static void serve(struct sup *s)
{
	uint64_t next_poll = sup_now_ms() + SUP_STATUS_POLL_MS;
	struct ipc_err err;
	int ctl_fd = -1, ev_fd = -1, mev_fd = -1;

	if (ipc_chan_poll_fd(s->ctl, &ctl_fd, &err))
		log_warnx("ctl: %s", err.text);
	if (s->core_events && ipc_chan_poll_fd(s->core_events, &ev_fd, &err))
		log_warnx("core-events: %s", err.text);
	if (s->memsrv_events && ipc_chan_poll_fd(s->memsrv_events, &mev_fd, &err))
		log_warnx("memsrv-events: %s", err.text);
	while (!s->stopping) {
		struct pollfd p[4 + SUP_MAX_DEVS] = { { .fd = s->sigfd, .events = POLLIN },
			                              { .fd = ctl_fd, .events = POLLIN },
			                              { .fd = ev_fd, .events = POLLIN },
			                              { .fd = mev_fd, .events = POLLIN } };
		int due = sup_restart_due(s), timeout;
		uint64_t now = sup_now_ms();
		nfds_t n = 4;

		/* Device processes' stderr: forwarded, violations remembered. */
		for (size_t i = 0; i < s->n_devs && n < 4 + SUP_MAX_DEVS; i++)
			if (s->devs[i].stderr_fd >= 0)
				p[n++] = (struct pollfd){ .fd = s->devs[i].stderr_fd,
					                  .events = POLLIN };
		timeout = next_poll > now ? (int)(next_poll - now) : 0;
		if (due >= 0 && due < timeout)
			timeout = due;
		if (poll(p, n, timeout) < 0 && errno != EINTR) {
			log_warn("poll");
			s->exit_status = 1;
			return;
		}
		for (size_t i = 0; i < s->n_devs; i++)
			sup_dev_stderr_drain(&s->devs[i]);
		if (p[0].revents & POLLIN)
			handle_signals(s);
		if (!s->stopping && (p[2].revents & POLLIN))
			hmp_core_events(s);
		if (!s->stopping && (p[3].revents & POLLIN))
			sup_memsrv_events_forward(s);
		if (!s->stopping && (p[1].revents & POLLIN))
			sup_ctl_serve(s);
		if (!s->stopping && sup_now_ms() >= next_poll) {
			hmp_poll_status(s);
			next_poll = sup_now_ms() + SUP_STATUS_POLL_MS;
		}
	}
}

/* ---- teardown ------------------------------------------------------------ */

/* Wait up to @ms for @pid (a pidfd, no polling); SIGKILL it after that. */
static void wait_or_kill(struct sup_proc *p, int ms)
{
	int status;

	if (p->pid <= 0)
		return;
	if (sup_wait_exit(p->pid, ms) == -ETIMEDOUT) {
		log_warnx("splitvm-%s (pid %d) did not stop: killing it", p->model, (int)p->pid);
		kill(p->pid, SIGKILL);
	}
	while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
		;
	p->pid = 0;
}

static void vm_stop(struct sup *s)
{
	struct ipc_err err;

	s->stopping = true;
	/* A `quit` reply may still be in the socket's queue: let it go out. */
	if (s->ctl && s->linger)
		usleep(200000);
	sup_ctl_close(s);
	if (s->core.pid > 0 && s->core_req) {
		Splitvm__MachinePowerdown pd = SPLITVM__MACHINE_POWERDOWN__INIT;
		struct ipc_msg *rep = NULL;

		pd.force = true;
		if (ipc_call(s->core_req, NULL, &pd.base, 2000, &rep, &err))
			kill(s->core.pid, SIGTERM);
		ipc_msg_free(rep);
	}
	wait_or_kill(&s->core, 3000);
	ipc_chan_destroy(s->core_events);
	s->core_events = NULL;
	for (size_t i = 0; i < s->n_devs; i++)
		if (s->devs[i].proc.pid > 0)
			kill(s->devs[i].proc.pid, SIGTERM);
	for (size_t i = 0; i < s->n_devs; i++)
		wait_or_kill(&s->devs[i].proc, 1000);
	if (s->memsrv.pid > 0 && s->memsrv_req) {
		Splitvm__MemsrvShutdown sd = SPLITVM__MEMSRV_SHUTDOWN__INIT;
		struct ipc_msg *rep = NULL;

		if (ipc_call(s->memsrv_req, NULL, &sd.base, 2000, &rep, &err))
			kill(s->memsrv.pid, SIGTERM);
		ipc_msg_free(rep);
	}
	wait_or_kill(&s->memsrv, 3000);

	for (size_t i = 0; i < s->n_devs; i++) {
		ipc_chan_destroy(s->devs[i].devctl);
		sup_dev_stderr_drain(&s->devs[i]);
		close_fd(&s->devs[i].stderr_fd);
		close_fd(&s->devs[i].backend_fd);
		close_fd(&s->devs[i].state_fd);
	}
	free(s->devs);
	s->devs = NULL;
	ipc_chan_destroy(s->core_req);
	ipc_chan_destroy(s->memsrv_req);
	ipc_fdchan_destroy(s->core_fd);
	ipc_fdchan_destroy(s->memsrv_fd);
	s->core_req = s->memsrv_req = NULL;
	s->core_fd = s->memsrv_fd = NULL;
	sup_events_close(s);
	sup_watch_close(s);
	run_dir_remove(s);
}

/* ---- start-up ------------------------------------------------------------ */

/*
 * --daemonize: the caller's process waits until the VM runs (its ctl socket
 * is there) or failed to start, and exits 0 or 1 accordingly, as QEMU's
 * -daemonize does; the daemon reports on *ready_fd (ready_say()).  stdin
 * and stdout become /dev/null so that `$(splitvm run --daemonize ...)`
 * returns; stderr keeps the log lines.
 */
static int daemonize(const char *pidfile, int *ready_fd)
{
	int pfd[2], null;
	char c = 1;
	pid_t p;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	p = fork();
	if (p < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (p > 0) {
		close(pfd[1]);
		/* EOF without a byte: the daemon died before it could say. */
		while (read(pfd[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(c == 0 ? 0 : 1);
	}
	close(pfd[0]);
	if (setsid() < 0)
		return -errno;
	p = fork();
	if (p < 0)
		return -errno;
	if (p > 0)
		_exit(0);
	*ready_fd = pfd[1];
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	if (pidfile) {
		FILE *f = fopen(pidfile, "we");

		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f)) {
			log_warn("--pidfile %s", pidfile);
			return -EIO;
		}
	}
	return 0;
}

/* Tell the waiting caller of --daemonize how the start went (once). */
static void ready_say(int *ready_fd, bool ok)
{
	char c = ok ? 0 : 1;

	if (*ready_fd < 0)
		return;
	if (write(*ready_fd, &c, 1) != 1)
		log_warn("--daemonize: telling the caller");
	close_fd(ready_fd);
}

static int block_signals(struct sup *s)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	s->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return s->sigfd < 0 ? -errno : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "strict", no_argument, NULL, 's' },
		{ "daemonize", no_argument, NULL, 'D' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "memsrv", required_argument, NULL, 'M' },
		{ "core", required_argument, NULL, 'C' },
		{ "devproc", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct sup s = { .sigfd = -1, .watch_fd = -1, .watch_wd = -1 };
	const char *pidfile = NULL, *bins[3] = { NULL, NULL, NULL };
	bool dry_run = false, daemon = false;
	struct config_error cerr = { .field = "", .text = "" };
	char line[600], tag[96];
	int i, r, ready_fd = -1;

	log_init("splitvm");
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "run")) {
		log_warnx("unknown command '%s' (splitvm run ...; --help)", argv[1]);
		return 2;
	}
	/* splitvm's own options (--x) first; then FILE.xml or QEMU's (-x). */
	for (i = 2; i < argc && !strncmp(argv[i], "--", 2);) {
		const struct option *o = NULL;
		const char *name = argv[i] + 2;

		for (const struct option *k = longopts; k->name; k++)
			if (!strcmp(name, k->name))
				o = k;
		if (!o) {
			log_warnx("unknown option '%s' (--help)", argv[i]);
			return 2;
		}
		if (o->has_arg && i + 1 >= argc) {
			log_warnx("%s needs a value", argv[i]);
			return 2;
		}
		switch (o->val) {
		case 'n':
			dry_run = true;
			break;
		case 's':
			s.config_flags |= CONFIG_STRICT;
			break;
		case 'D':
			daemon = true;
			break;
		case 'p':
			pidfile = argv[i + 1];
			break;
		case 'v':
			s.verbose = true;
			log_set_verbose(true);
			break;
		case 'M':
			bins[0] = argv[i + 1];
			break;
		case 'C':
			bins[1] = argv[i + 1];
			break;
		case 'P':
			bins[2] = argv[i + 1];
			break;
		case 'h':
			usage(stdout);
			return 0;
		}
		i += o->has_arg ? 2 : 1;
	}
	if (i >= argc) {
		log_warnx("no launch config: give FILE.xml or QEMU-style options (--help)");
		return 2;
	}
	if (argv[i][0] == '-')
		r = config_parse_qemu(argc - i, argv + i, s.config_flags, &s.cfg, &cerr);
	else if (i + 1 == argc)
		r = config_parse_xml_file(argv[i], s.config_flags, &s.cfg, &cerr);
	else {
		log_warnx("unexpected '%s' after %s", argv[i + 1], argv[i]);
		return 2;
	}
	if (r) {
		log_warnx("%s", config_error_line(&cerr, line, sizeof(line)));
		return 1;
	}
	if (dry_run) {
		r = config_print(s.cfg, stdout);
		config_free(s.cfg);
		return r ? 1 : 0;
	}
	snprintf(tag, sizeof(tag), "splitvm/%s", s.cfg->name);
	log_init(tag);
	if (find_bin(s.memsrv_bin, sizeof(s.memsrv_bin), bins[0], "memsrv", "splitvm-memsrv") ||
	    find_bin(s.core_bin, sizeof(s.core_bin), bins[1], "core", "splitvm-core") ||
	    find_bin(s.devproc_bin, sizeof(s.devproc_bin), bins[2], "devproc", "splitvm-devproc")) {
		log_warnx(
		        "splitvm-memsrv, splitvm-core or splitvm-devproc not found beside splitvm "
		        "(--memsrv, --core, --devproc name them)");
		config_free(s.cfg);
		return 1;
	}
	if (run_dir_path(&s)) {
		config_free(s.cfg);
		return 1;
	}
	if (daemon && daemonize(pidfile, &ready_fd)) {
		ready_say(&ready_fd, false);
		config_free(s.cfg);
		return 1;
	}
	if (!daemon && pidfile) {
		FILE *f = fopen(pidfile, "we");

		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f))
			log_warn("--pidfile %s", pidfile);
	}
	r = block_signals(&s);
	if (!r)
		r = run_dir_make(&s);
	if (r) {
		ready_say(&ready_fd, false);
		if (pidfile)
			unlink(pidfile);
		config_free(s.cfg);
		return 1;
	}
	r = vm_start(&s);
	if (!r)
		r = sup_ctl_open(&s);
	if (r) {
		/* Children that died on the way are reaped, and said so, first. */
		reap(&s);
		log_warnx("the VM did not start: nothing is left running");
		s.exit_status = 1;
		vm_stop(&s);
		ready_say(&ready_fd, false);
	} else {
		log_info("VM %s runs; ctl: splitvm-ctl --socket %s/ctl", s.cfg->name, s.run_dir);
		ready_say(&ready_fd, true);
		serve(&s);
		vm_stop(&s);
	}
	close_fd(&s.sigfd);
	if (pidfile)
		unlink(pidfile);
	config_free(s.cfg);
	return s.exit_status;
}
