// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nvdimm's seccomp table (STYLE.md "Seccomp and the sandbox"): beyond the
 * common list the model reads and writes its label area, the last
 * label-size bytes of its backend, with pread64/pwrite64 on its own
 * backend fd.  No mapping, no open/openat: the fd came at start-up and the
 * core maps the PMEM region.  A read-only backend gets no pwrite64 at all:
 * Set Namespace Label Data is refused before any syscall.
 */
#include <errno.h>

#include "devproc.h"
#include "seccomp_policy.h"

int devproc_nvdimm_seccomp(struct sandbox_policy *policy, int backend_fd, bool writable)
{
	/* Built at run time: the fd number is an argument check. */
	const struct sandbox_rule rules[] = {
		SANDBOX_ALLOW_IF(pread64,
		                 "nvdimm Get Namespace Label Data: read the label area "
		                 "(backend fd only)",
		                 SANDBOX_ARG_EQ(0, backend_fd)),
		SANDBOX_ALLOW_IF(pwrite64,
		                 "nvdimm Set Namespace Label Data: write the label area "
		                 "(backend fd only; not on a read-only backend)",
		                 SANDBOX_ARG_EQ(0, backend_fd)),
	};

	if (backend_fd < 0)
		return -EBADF;
	return sandbox_policy_add_table(policy, rules, writable ? 2 : 1);
}
