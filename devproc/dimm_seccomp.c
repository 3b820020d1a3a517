// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pc-dimm's seccomp table (STYLE.md "Seccomp and the sandbox"): beyond the
 * common list the model makes one call, the discard after an unplug:
 * fallocate(PUNCH_HOLE | KEEP_SIZE) on its own backend fd.  It has no
 * device plane and maps nothing: the core maps the DIMM.
 */
#include <errno.h>
#include <fcntl.h>

#include "devproc.h"
#include "seccomp_policy.h"

int devproc_dimm_seccomp(struct sandbox_policy *policy, int backend_fd)
{
	/* Built at run time: the fd number is an argument check. */
	const struct sandbox_rule rules[] = {
		SANDBOX_ALLOW_IF(fallocate,
		                 "pc-dimm discard after unplug: punch the backend out "
		                 "(backend fd, PUNCH_HOLE|KEEP_SIZE only)",
		                 SANDBOX_ARG_EQ(0, backend_fd),
		                 SANDBOX_ARG_EQ(1, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)),
	};

	if (backend_fd < 0)
		return -EBADF;
	return sandbox_policy_add_table(policy, rules, sizeof(rules) / sizeof(rules[0]));
}
