/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every scenario of the test guest, in one table: a new group of scenarios
 * gets its own scn_*.c file and one line here.
 */
#include "guest.h"

static const struct guest_scenario *const scenarios[] = {
	&scenario_memmap,                                /* scn_boot.c: the default */
	&scenario_bootcheck,                             /* scn_boot.c */
	&scenario_unmapped,                              /* scn_misc.c */
	&scenario_exit,                                  /* scn_misc.c */
	&scenario_fault,                                 /* scn_misc.c */
	&scenario_pvh_boot,                              /* scn_misc.c */
	&scenario_idle,                                  /* scn_misc.c */
	&scenario_virtio,                                /* scn_virtio.c */
	&scenario_virtio_bad,                            /* scn_virtio.c */
	&scenario_plane,                                 /* scn_plane.c: the machine-plane test */
	&scenario_virtio_mem,  &scenario_virtio_mem_bad, /* scn_virtio_mem.c */
	&scenario_vmem_replay,                           /* scn_vmem_replay.c: test_vmem_replay */
	&scenario_dimm,                                  /* scn_dimm.c */
	&scenario_virtio_pmem,                           /* scn_virtio_pmem.c */
	&scenario_nvdimm,                                /* scn_nvdimm.c */
};

const struct guest_scenario *scenario_find(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(scenarios); i++) {
		const char *n = scenarios[i]->name;

		if (strlen(n) == len && memcmp(n, name, len) == 0)
			return scenarios[i];
	}
	return NULL;
}
