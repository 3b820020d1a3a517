/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * host-nodes= and policy=: bind a backend's pages to host NUMA nodes with
 * mbind(2), called as a raw syscall so that memsrv needs no libnuma.
 *
 * For a memfd the policy is the file's own (shmem keeps a shared policy per
 * inode), so binding memsrv's short-lived mapping also binds the pages that
 * the core faults in later.  hugetlbfs and disk files keep no such policy:
 * there it holds for the pages prealloc=on allocates here, and the core has
 * to apply the same policy to its own mapping (BackendInfo carries it).
 */
#include "memsrv.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MPOL_F_NODE_         (1u << 0)
#define MPOL_F_ADDR_         (1u << 1)
#define MPOL_MF_STRICT_      (1u << 0)
#define MPOL_MF_MOVE_        (1u << 1)
#define MPOL_PREFERRED_MANY_ 5

#define BITS_PER_ULONG (sizeof(unsigned long) * CHAR_BIT)
/* One bit more than MAX_NODES: see the maxnode comment in memsrv_numa_bind(). */
#define MASK_LONGS ((BACKEND_CONFIG_MAX_NODES + 1 + BITS_PER_ULONG - 1) / BITS_PER_ULONG)

int memsrv_numa_check_nodes(const uint32_t *nodes, size_t n, const char *sysfs_node_dir,
                            struct memsrv_error *err)
{
	const char *dir = sysfs_node_dir ? sysfs_node_dir : "/sys/devices/system/node";
	char path[PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < n; i++) {
		if (nodes[i] >= BACKEND_CONFIG_MAX_NODES) {
			memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT,
			                 "host-nodes", "Invalid host-nodes value: %u", nodes[i]);
			return -EINVAL;
		}
		snprintf(path, sizeof(path), "%s/node%u", dir, nodes[i]);
		if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
			memsrv_error_set(
			        err, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "host-nodes",
			        "property 'host-nodes': NUMA node %u does not exist on this "
			        "host (%u node%s online)",
			        nodes[i], memsrv_numa_online_nodes(),
			        memsrv_numa_online_nodes() == 1 ? "" : "s");
			return -EINVAL;
		}
	}
	return 0;
}

int memsrv_numa_bind(void *addr, size_t len, Splitvm__HostMemPolicy policy, const uint32_t *nodes,
                     size_t n, struct memsrv_error *err)
{
	unsigned long mask[MASK_LONGS];
	unsigned long maxnode = 0;
	unsigned distinct = 0;
	int mode;

	memset(mask, 0, sizeof(mask));
	for (size_t i = 0; i < n; i++) {
		unsigned long bit = nodes[i];

		if (bit >= BACKEND_CONFIG_MAX_NODES) {
			memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT,
			                 "host-nodes", "Invalid host-nodes value: %lu", bit);
			return -EINVAL;
		}
		if (!(mask[bit / BITS_PER_ULONG] & (1ul << (bit % BITS_PER_ULONG))))
			distinct++;
		mask[bit / BITS_PER_ULONG] |= 1ul << (bit % BITS_PER_ULONG);
		if (bit + 1 > maxnode)
			maxnode = bit + 1;
	}
	if (policy == SPLITVM__HOST_MEM_POLICY__POLICY_DEFAULT && !maxnode)
		return 0;

	/* The enum's values are the kernel's MPOL_* modes, as in QEMU. */
	mode = (int)policy;
	/* Linux 5.15 honours several preferred nodes only under its own mode. */
	if (policy == SPLITVM__HOST_MEM_POLICY__POLICY_PREFERRED && distinct > 1)
		mode = MPOL_PREFERRED_MANY_;

	/*
	 * The kernel reads maxnode - 1 bits of the mask, so pass one more than
	 * the highest node + 1.  STRICT|MOVE: pages already there that break
	 * the policy are moved, or the call fails.
	 */
	if (syscall(SYS_mbind, addr, len, mode, mask, maxnode + 1,
	            MPOL_MF_STRICT_ | MPOL_MF_MOVE_) < 0) {
		int e = errno;

		if (mode == MPOL_PREFERRED_MANY_ && e == EINVAL) {
			memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_UNSUPPORTED, "policy",
			                 "property 'policy': 'preferred' with several host-nodes "
			                 "needs MPOL_PREFERRED_MANY (Linux 5.15)");
			return -e;
		}
		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INTERNAL, "host-nodes",
		                 "cannot bind memory to host NUMA nodes: %s", strerror(e));
		return -e;
	}
	return 0;
}

int memsrv_numa_page_node(void *addr, int *node)
{
	int n = -1;

	if (syscall(SYS_get_mempolicy, &n, NULL, 0ul, addr, MPOL_F_NODE_ | MPOL_F_ADDR_) < 0)
		return -errno;
	*node = n;
	return 0;
}

/* Count the nodes in a sysfs list such as "0", "0-1" or "0,2-3". */
static unsigned count_list(const char *s)
{
	unsigned total = 0;

	while (*s && *s != '\n') {
		char *end;
		unsigned long a = strtoul(s, &end, 10), b = a;

		if (end == s)
			break;
		s = end;
		if (*s == '-') {
			b = strtoul(s + 1, &end, 10);
			if (end == s + 1 || b < a)
				break;
			s = end;
		}
		total += (unsigned)(b - a + 1);
		if (*s == ',')
			s++;
	}
	return total;
}

unsigned memsrv_numa_online_nodes(void)
{
	char buf[256];
	unsigned n = 0;
	FILE *f = fopen("/sys/devices/system/node/online", "re");

	if (f) {
		if (fgets(buf, sizeof(buf), f))
			n = count_list(buf);
		fclose(f);
	}
	return n ? n : 1;
}
