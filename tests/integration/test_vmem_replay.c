/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Linux's own virtio-mem requests, recorded under QEMU
 * (tests/linux/record-virtio-mem.sh), replayed through splitvm's core and a
 * sandboxed splitvm-devproc by the test guest's vmem-replay scenario: the
 * same geometry, the same requested sizes at the same points, the same
 * requests in the same order; every response, usable region size, queried
 * and final plugged size must equal QEMU's (vmem_replay_run.c).
 * SKIPs (77) when /dev/kvm is not usable.
 *
 * usage: test_vmem_replay SPLITVM_CORE SPLITVM_DEVPROC GUEST_ELF LOG|DIR...
 *        (a DIR means every *.log in it)
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "vmem_replay_run.h"

static unsigned files;

static void replay_file(char **argv, const char *path)
{
	struct vm v = { .core_bin = argv[1], .devproc_bin = argv[2], .guest = argv[3] };
	struct vr_rec r;
	char err[512];

	v.ram_fd = v.backend_fd = v.state_fd = v.core_log_fd = -1;
	CHECK(vr_load(&r, path, err, sizeof(err)) == 0, "%s", err);
	printf("%s: region 0x%" PRIx64 "+0x%" PRIx64 " block 0x%" PRIx64 ", %zu requests\n", path,
	       r.addr, r.size, r.block_size, r.nreq);
	replay_recording(&v, &r, "", NULL);
	vm_cleanup(&v);
	vr_free(&r);
	files++;
}

static void replay_dir(char **argv, const char *dir)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);

	CHECK(n >= 0, "%s: %s", dir, strerror(errno));
	for (int i = 0; i < n; i++) {
		size_t len = strlen(ents[i]->d_name);
		char path[4096];

		if (len > 4 && !strcmp(ents[i]->d_name + len - 4, ".log")) {
			snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
			replay_file(argv, path);
		}
		free(ents[i]);
	}
	free(ents);
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: %s SPLITVM_CORE SPLITVM_DEVPROC GUEST_ELF LOG|DIR...\n",
		        argv[0]);
		return 2;
	}
	test_setup();
	for (int i = 4; i < argc; i++) {
		DIR *d = opendir(argv[i]);

		if (d) {
			closedir(d);
			replay_dir(argv, argv[i]);
		} else {
			replay_file(argv, argv[i]);
		}
	}
	CHECK(files > 0, "no *.log recordings");
	printf("PASS: %u recordings\n", files);
	return 0;
}
