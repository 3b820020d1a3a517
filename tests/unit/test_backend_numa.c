/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * host-nodes/policy applied across NUMA nodes: a backend bound to the last
 * node has its pages there (get_mempolicy MPOL_F_NODE|MPOL_F_ADDR), and an
 * interleaved one spreads over both.  Needs a host with more than one node
 * with memory; SKIPs (exit 77) elsewhere.  The rules themselves are checked
 * on every host by test_backend and test_backend_config.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "memsrv.h"
#include "test_memsrv_util.h"

#define MIB (1ull << 20)

/* Two nodes with memory: the first and the last listed in has_memory. */
static uint32_t node_a, node_b;

static bool find_two_nodes(void)
{
	char buf[256] = "";
	FILE *f = fopen("/sys/devices/system/node/has_memory", "re");
	unsigned long lo, hi;
	char *p = buf, *end;
	bool first = true;

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	while (*p >= '0' && *p <= '9') {
		lo = strtoul(p, &end, 10);
		hi = lo;
		if (*end == '-')
			hi = strtoul(end + 1, &end, 10);
		if (first)
			node_a = (uint32_t)lo;
		first = false;
		node_b = (uint32_t)hi;
		p = end + (*end == ',');
	}
	return !first && node_a != node_b;
}

static struct memsrv_registry *reg;

static char *create_and_map(const char *id, Splitvm__HostMemPolicy policy, uint32_t *nodes,
                            size_t n, uint64_t size)
{
	struct memsrv_error err = { 0 };
	Splitvm__BackendConfig c;
	int fd = -1;
	char *p;

	backend_config_init(&c, SPLITVM__BACKEND_TYPE__BACKEND_RAM);
	c.id = (char *)id;
	c.size = size;
	c.policy = policy;
	c.host_nodes = nodes;
	c.n_host_nodes = n;
	c.prealloc = true;
	if (memsrv_backend_create(reg, &c, NULL, &err) < 0)
		fail_msg("create %s: %s", id, err.text);
	assert_int_equal(memsrv_backend_acquire(reg, id, "core", &fd, &err), 0);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	return p;
}

static void test_bind_to_last_node(void **state)
{
	uint32_t nodes[] = { node_b };
	char *p =
	        create_and_map("bound", SPLITVM__HOST_MEM_POLICY__POLICY_BIND, nodes, 1, 16 * MIB);
	int node = -1;

	(void)state;
	for (uint64_t off = 0; off < 16 * MIB; off += MIB) {
		assert_int_equal(memsrv_numa_page_node(p + off, &node), 0);
		assert_int_equal(node, (int)node_b);
	}
	munmap(p, 16 * MIB);
}

static void test_interleave_spreads(void **state)
{
	uint32_t nodes[] = { node_a, node_b };
	char *p = create_and_map("spread", SPLITVM__HOST_MEM_POLICY__POLICY_INTERLEAVE, nodes, 2,
	                         16 * MIB);
	unsigned on_a = 0, on_b = 0;
	int node = -1;

	(void)state;
	for (uint64_t off = 0; off < 16 * MIB; off += 4096) {
		assert_int_equal(memsrv_numa_page_node(p + off, &node), 0);
		on_a += node == (int)node_a;
		on_b += node == (int)node_b;
	}
	assert_true(on_a > 0 && on_b > 0);
	assert_int_equal(on_a + on_b, 16 * MIB / 4096);
	munmap(p, 16 * MIB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind_to_last_node),
		cmocka_unit_test(test_interleave_spreads),
	};
	int rc;

	if (!find_two_nodes()) {
		printf("SKIP: one NUMA node with memory on this host (%u online); "
		       "host-nodes/policy rules are tested by test_backend\n",
		       memsrv_numa_online_nodes());
		return 77;
	}
	log_init("test/backend_numa");
	if (memsrv_registry_create(NULL, &reg) < 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	memsrv_registry_destroy(reg);
	return rc;
}
