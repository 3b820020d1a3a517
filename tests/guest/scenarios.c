/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every scenario of the test guest, in one table: a new group of scenarios
 * gets its own scn_*.c file and one line here.
 */
#include "guest.h"

static const struct guest_scenario *const scenarios[] = {
	&scenario_memmap, &scenario_bootcheck, &scenario_unmapped,
	&scenario_exit,   &scenario_pvh_boot,
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
