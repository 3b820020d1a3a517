/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest's life: say "ready" (the boot benchmark times that line), read
 * what the loader handed over, take over the page tables, run the scenario
 * named by scenario= on the command line, report PASS or FAIL and exit
 * through the debug-exit port with the status.
 */
#include "guest.h"

__attribute__((noreturn)) void guest_main(uint32_t entry, uint64_t info);

static const char *entry_name(uint32_t entry)
{
	switch (entry) {
	case GUEST_ENTRY_LINUX64:
		return "linux64";
	case GUEST_ENTRY_LINUX32:
		return "linux32";
	case GUEST_ENTRY_PVH:
		return "pvh";
	default:
		return "unknown";
	}
}

static const struct guest_scenario *pick_scenario(const struct guest_boot *b)
{
	const struct guest_scenario *s;
	char name[64];
	size_t len;
	const char *v = cmdline_get(b, "scenario", &len);

	if (!v) {
		/* "exit=N" alone is enough to ask for the exit scenario. */
		if (cmdline_get(b, "exit", &len))
			return &scenario_exit;
		return &scenario_memmap;
	}
	s = scenario_find(v, len);
	if (!s) {
		if (len >= sizeof(name))
			len = sizeof(name) - 1;
		memcpy(name, v, len);
		name[len] = '\0';
		fail("unknown scenario \"%s\"", name);
	}
	return s;
}

void guest_main(uint32_t entry, uint64_t info)
{
	/* On the stack, not in .bss: head.S clears .bss before "ready". */
	struct guest_boot boot;
	const struct guest_scenario *s;
	int err;

	con_init();
	con_ready();
	con_init_rest();
	memset(&boot, 0, sizeof(boot));
	idt_init();

	err = boot_parse_early(&boot, entry, info);
	if (err) {
		fail("%s entry: boot info at 0x%lx unreadable (error %d)", entry_name(entry), info,
		     err);
		guest_exit(1);
	}
	err = mmu_init(&boot);
	if (err) {
		fail("page tables: error %d", err);
		guest_exit(1);
	}
	err = boot_parse_late(&boot);
	if (err) {
		fail("setup_data chain from boot_params 0x%lx: error %d after %u nodes", info, err,
		     boot.setup_data_n);
		guest_exit(1);
	}
	say("entry %s, boot info at 0x%lx", entry_name(entry), info);

	s = pick_scenario(&boot);
	if (!s)
		guest_exit(1);
	say("scenario %s", s->name);
	if (s->run(&boot) != 0)
		guest_exit(1);
	say("PASS");
	guest_exit(0);
}
