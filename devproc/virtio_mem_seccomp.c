// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-mem's seccomp table (STYLE.md "Seccomp and the sandbox"): what the
 * model does beyond the common list of common/seccomp_policy.c.
 *
 * Measured with strace -f on splitvm-devproc --model=virtio-mem after
 * sandbox_lock() while it served PLUG, UNPLUG, UNPLUG_ALL, STATE, a device
 * reset and DevicePropSet/DeviceStatus (docs/security.md): the only call
 * the model adds is fallocate on its backend fd.
 *   - UNPLUG, UNPLUG_ALL and a device reset punch the blocks out
 *     (PUNCH_HOLE | KEEP_SIZE), so host memory falls;
 *   - PLUG with prealloc=on populates them (KEEP_SIZE alone).
 * The journal (journal.c) is a shared mapping of the state memfd made at
 * attach, before the sandbox: its commits are plain stores, no syscall.
 * The slot maps and config copies go to the core through the channels
 * (the common list's nanomsg calls).
 */
#include <errno.h>
#include <fcntl.h>

#include "devproc.h"
#include "seccomp_policy.h"

int devproc_virtio_mem_seccomp(struct sandbox_policy *policy, int backend_fd)
{
	/* Built at run time: the fd number is an argument check. */
	const struct sandbox_rule rules[] = {
		SANDBOX_ALLOW_IF(
		        fallocate,
		        "virtio-mem UNPLUG/UNPLUG_ALL/reset: punch unplugged blocks out of "
		        "the backend (backend fd, PUNCH_HOLE|KEEP_SIZE only)",
		        SANDBOX_ARG_EQ(0, backend_fd),
		        SANDBOX_ARG_EQ(1, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)),
		SANDBOX_ALLOW_IF(fallocate,
		                 "virtio-mem PLUG with prealloc=on: populate the blocks (backend "
		                 "fd, KEEP_SIZE only)",
		                 SANDBOX_ARG_EQ(0, backend_fd),
		                 SANDBOX_ARG_EQ(1, FALLOC_FL_KEEP_SIZE)),
	};

	if (backend_fd < 0)
		return -EBADF;
	return sandbox_policy_add_table(policy, rules, sizeof(rules) / sizeof(rules[0]));
}
