/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * splitvm-core: the CPU/KVM process.  Parse, acquire (/dev/kvm, RAM,
 * devices), load the guest, run the vCPUs until the guest ends the machine,
 * then exit with the guest's status:
 *   debug-exit port   the value written (test guest)
 *   ACPI S5, reset    0
 *   KVM failure       1
 *   SIGINT/TERM/HUP   128 + the signal, after a clean vCPU stop
 *
 * Supervised (started by splitvm):
 *   splitvm-core --run-dir DIR --machine-chan NAME --fd-chan-fd N [--verbose]
 * serves the machine plane (core/machine_plane.c) on DIR/NAME and takes
 * fds on the inherited socket N; it makes no RAM of its own and boots when
 * the supervisor has mapped base RAM and resumes the vCPUs.  A forced
 * MachinePowerdown ends it with status 0; otherwise the statuses above.
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "fd.h"
#include "ipc.h"
#include "log.h"

static int dump_dtb(const struct machine *m, const char *path)
{
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		log_warn("--dump-dtb %s", path);
		return r;
	}
	if (write(fd, m->dtb, m->dtb_size) != (ssize_t)m->dtb_size) {
		r = errno ? -errno : -EIO;
		log_warn("--dump-dtb: write %s", path);
	}
	close_fd(&fd);
	return r;
}

/*
 * --dump-acpi without -kernel: build the tables from the configuration
 * alone, with no VM, so the ACPI tests run on hosts without /dev/kvm.
 */
static int dump_acpi_only(const struct core_config *cfg)
{
	struct machine m;
	struct acpi_blob blob;
	int r;

	memset(&m, 0, sizeof(m));
	m.cfg = cfg;
	r = memmap_init(&m.mm, cfg->ram_size, cfg->maxmem, cfg->slots);
	if (r) {
		log_warnx("-m: the memory map does not fit: %s", strerror(-r));
		return r;
	}
	r = acpi_build(&m, &blob);
	if (r)
		return r;
	r = acpi_dump(&blob, cfg->dump_acpi_dir);
	acpi_blob_free(&blob);
	return r;
}

static void log_memmap(const struct memmap *mm)
{
	for (unsigned i = 0; i < mm->n; i++) {
		const struct memmap_region *r = &mm->r[i];

		log_debug("memmap %-20s %-13s 0x%012llx-0x%012llx slot %d", r->name,
		          memmap_kind_name(r->kind), (unsigned long long)r->gpa,
		          (unsigned long long)(r->gpa + r->size - 1), r->slot);
	}
}

struct sup_args {
	const char *run_dir;
	const char *chan;
	int fd_chan_fd;
	bool verbose;
};

static bool is_supervised(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		/* Not --run-dir: standalone -device takes it too. */
		if (!strncmp(argv[i], "--machine-chan", 14) ||
		    !strncmp(argv[i], "--fd-chan-fd", 12))
			return true;
	}
	return false;
}

/* STYLE.md: children get their fds on argv, parsed with bounds. */
static int parse_supervised(int argc, char **argv, struct sup_args *a)
{
	static const struct option longopts[] = {
		{ "run-dir", required_argument, NULL, 'd' },
		{ "machine-chan", required_argument, NULL, 'c' },
		{ "fd-chan-fd", required_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	char *end;
	int c;

	*a = (struct sup_args){ .fd_chan_fd = -1 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			a->run_dir = optarg;
			break;
		case 'c':
			a->chan = optarg;
			break;
		case 'f':
			errno = 0;
			v = strtol(optarg, &end, 10);
			/* 0-2 are stdio, never the channel. */
			if (errno || end == optarg || *end || v < 3 || v > INT_MAX) {
				log_warnx("--fd-chan-fd: '%s' is not an fd number from 3 to %d",
				          optarg, INT_MAX);
				return -EINVAL;
			}
			a->fd_chan_fd = (int)v;
			break;
		case 'v':
			a->verbose = true;
			break;
		default:
			log_warnx("supervised mode: unknown or incomplete option '%s' (--run-dir, "
			          "--machine-chan, --fd-chan-fd, --verbose)",
			          argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		log_warnx("supervised mode: unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (!a->run_dir || !a->chan || a->fd_chan_fd < 0) {
		log_warnx("supervised mode needs --run-dir DIR, --machine-chan NAME and "
		          "--fd-chan-fd N");
		return -EINVAL;
	}
	/* The inherited end must be open; from now on it is ours and CLOEXEC. */
	if (fcntl(a->fd_chan_fd, F_SETFD, FD_CLOEXEC) < 0) {
		log_warn("--fd-chan-fd %d", a->fd_chan_fd);
		return -EBADF;
	}
	return 0;
}

static int run_supervised(const struct sup_args *a)
{
	static struct machine m;
	struct machine_plane *p = NULL;
	sigset_t set;
	int sig_fd, status = 1;

	log_set_verbose(a->verbose);
	/* Every thread made from here on leaves these to a signalfd. */
	machine_block_stop_signals();
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0) {
		log_warn("signalfd");
		return 1;
	}
	if (machine_plane_create(&p, &m, a->run_dir, a->chan, a->fd_chan_fd) ||
	    machine_plane_start(p))
		goto out;
	log_info("serving the machine plane on %s/%s", a->run_dir, a->chan);

	/* Until MachineStart has made a machine, only the plane has news. */
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = machine_plane_ready_fd(p), .events = POLLIN },
			{ .fd = sig_fd, .events = POLLIN },
		};
		int o;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			goto out;
		}
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				log_info("stopping on signal %u before the machine started",
				         si.ssi_signo);
				status = 128 + (int)si.ssi_signo;
				goto out;
			}
		}
		if (!(pfd[0].revents & POLLIN))
			continue;
		o = machine_plane_outcome(p);
		if (o == MACHINE_PLANE_EXIT) {
			status = 0;
			goto out;
		}
		if (o == MACHINE_PLANE_MACHINE)
			break;
	}
	/* machine_wait() takes the signals from here on, with its own signalfd. */
	close_fd(&sig_fd);
	if (machine_wait(&m))
		goto out;
	status = m.exit_reason == MACHINE_RUNNING ? 1 : m.exit_status;
out:
	/* The plane's thread ends before the machine it serves goes. */
	machine_plane_stop(p);
	if (machine_plane_has_machine(p)) {
		serial_destroy(m.serial);
		m.serial = NULL;
		machine_destroy(&m);
		io_reset();
	}
	machine_plane_destroy(p);
	close_fd(&sig_fd);
	/* Every socket is closed: let the messaging library free what it still queues. */
	ipc_shutdown();
	log_info("exiting with status %d", status);
	return status;
}

int main(int argc, char **argv)
{
	static struct machine m;
	struct core_config cfg;
	struct acpi_blob acpi = { .n = 0 };
	char tag[80];
	int r, status = 1;

	log_init("core");
	if (is_supervised(argc, argv)) {
		struct sup_args a;

		if (parse_supervised(argc, argv, &a))
			return 1;
		return run_supervised(&a);
	}
	r = core_cmdline_parse(&cfg, argc, argv);
	if (r)
		return r > 0 ? 0 : 1;
	snprintf(tag, sizeof(tag), "core/%s", cfg.name);
	log_init(tag);
	log_set_verbose(cfg.verbose);

	if (!cfg.kernel)
		return dump_acpi_only(&cfg) ? 1 : 0;

	if (machine_create(&m, &cfg))
		goto out;
	if (machine_ram_setup(&m))
		goto out;
	m.serial = serial_create(&m, cfg.serial, cfg.serial_path);
	if (!m.serial)
		goto out;
	if (devices_register(&m))
		goto out;
	/*
	 * The GED the DSDT declares, so that a guest reading its selector gets
	 * 0 rather than an empty bus; nobody presses the button standalone.
	 */
	r = mhp_create(&m.mhp, 0);
	if (!r)
		r = mhp_register(m.mhp);
	if (r) {
		log_warnx("GED: %s", strerror(-r));
		goto out;
	}
	/* Before the FDT and ACPI tables, which describe the devices. */
	if (core_virtio_start(&m, 10000))
		goto out;
	if (boot_load(&m))
		goto out;
	if (acpi_build(&m, &acpi))
		goto out;
	if (cfg.dump_acpi_dir && acpi_dump(&acpi, cfg.dump_acpi_dir))
		goto out;
	if (cfg.dump_dtb_path && dump_dtb(&m, cfg.dump_dtb_path))
		goto out;
	if (machine_vcpus_create(&m))
		goto out;
	log_memmap(&m.mm);
	log_debug("starting %u vCPU(s), %llu MiB RAM, entry 0x%llx", m.n_vcpus,
	          (unsigned long long)(cfg.ram_size >> 20), (unsigned long long)m.entry);

	if (machine_run(&m))
		goto out;
	/* The guest's status, 1 on a KVM failure, 128 + N on signal N. */
	status = m.exit_reason == MACHINE_RUNNING ? 1 : m.exit_status;
out:
	acpi_blob_free(&acpi);
	devplane_destroy(m.devplane);
	m.devplane = NULL;
	serial_destroy(m.serial);
	m.serial = NULL;
	machine_destroy(&m);
	io_reset();
	/* After io_reset(): no vCPU can reach the GED's handler any more. */
	mhp_destroy(m.mhp);
	m.mhp = NULL;
	ipc_shutdown();
	return status;
}
