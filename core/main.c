/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * splitvm-core: the CPU/KVM process.  Parse, acquire (/dev/kvm, RAM,
 * devices), load the guest, run the vCPUs until the guest ends the machine,
 * then exit with the guest's status:
 *   debug-exit port   the value written (test guest)
 *   ACPI S5, reset    0
 *   KVM failure       1
 *   SIGINT/TERM/HUP   128 + the signal, after a clean vCPU stop
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd.h"
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

int main(int argc, char **argv)
{
	static struct machine m;
	struct core_config cfg;
	struct acpi_blob acpi = { .n = 0 };
	char tag[80];
	int r, status = 1;

	log_init("core");
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
	return status;
}
