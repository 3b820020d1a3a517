// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-pmem's seccomp table (STYLE.md "Seccomp and the sandbox"): what
 * the model does beyond the common list of common/seccomp_policy.c.
 *
 * One call: fdatasync of its backend fd, the FLUSH request.  The model
 * holds no mapping of the region and opens nothing (no open/openat, as the
 * issue demands: the backing file's fd came at start-up); a read-only
 * backend answers FLUSH without any syscall.  The config copy goes to the
 * core through the channels (the common list's nanomsg calls).
 */
#include <errno.h>

#include "devproc.h"
#include "seccomp_policy.h"

int devproc_virtio_pmem_seccomp(struct sandbox_policy *policy, int backend_fd)
{
	/* Built at run time: the fd number is an argument check. */
	const struct sandbox_rule rules[] = {
		SANDBOX_ALLOW_IF(fdatasync,
		                 "virtio-pmem FLUSH: the guest's stores to stable storage "
		                 "(backend fd only)",
		                 SANDBOX_ARG_EQ(0, backend_fd)),
	};

	if (backend_fd < 0)
		return -EBADF;
	return sandbox_policy_add_table(policy, rules, sizeof(rules) / sizeof(rules[0]));
}
