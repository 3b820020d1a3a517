/* SPDX-License-Identifier: GPL-2.0-or-later */
/* core/cmdline.c: -m with QEMU's meaning and checks, -smp, -numa, -serial. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core.h"
#include "splitvm_proto.h"

static int setup(void **state)
{
	struct core_config *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		return -1;
	*state = cfg;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

struct mem_case {
	const char *arg;
	int want;
	uint64_t ram, maxmem;
	uint32_t slots;
};

static void test_mem_option_table(void **state)
{
	struct core_config *cfg = *state;
	/* Accepted and refused as Debian's qemu-system-x86_64 7.2 does. */
	static const struct mem_case cases[] = {
		{ "512", 0, 512 * MIB, 512 * MIB, 0 }, /* no suffix: MiB */
		{ "1G", 0, GIB, GIB, 0 },
		{ "size=2G", 0, 2 * GIB, 2 * GIB, 0 },
		{ "1G,slots=4,maxmem=8G", 0, GIB, 8 * GIB, 4 },
		{ "1000K", 0, 1000 * KIB, 1000 * KIB, 0 }, /* 8 KiB multiple already */
		{ "1001K", 0, 1008 * KIB, 1008 * KIB, 0 }, /* rounded up to 8 KiB */
		{ "0", 0, 128 * MIB, 128 * MIB, 0 },       /* QEMU: the default */
		{ "", 0, 128 * MIB, 128 * MIB, 0 },
		{ "slots=2,maxmem=2G", 0, 128 * MIB, 2 * GIB, 2 },
		{ "1G,maxmem=2G", 0, GIB, 2 * GIB, 0 }, /* virtio-mem needs no slots */
		{ "1G,slots=0,maxmem=1G", 0, GIB, GIB, 0 },
		{ "1G,maxmem=512M", -EINVAL, 0, 0, 0 },
		{ "1G,slots=2", -EINVAL, 0, 0, 0 },                 /* slots without maxmem */
		{ "1G,slots=0", -EINVAL, 0, 0, 0 },                 /* even 0 */
		{ "1G,slots=2,maxmem=1G", -EINVAL, 0, 0, 0 },       /* slots but no room */
		{ "1G,slots=257,maxmem=8G", -EINVAL, 0, 0, 0 },     /* over ACPI_MAX_RAM_SLOTS */
		{ "1G,slots=1,maxmem=2097153K", -EINVAL, 0, 0, 0 }, /* not page aligned */
		{ "1G,slots=-1,maxmem=8G", -EINVAL, 0, 0, 0 },
		{ "1G,slots=,maxmem=2G", -EINVAL, 0, 0, 0 },
		{ "size=", -EINVAL, 0, 0, 0 },
		{ "1G,size=2G", -EINVAL, 0, 0, 0 }, /* splitvm: no duplicate keys */
		{ "1Q", -EINVAL, 0, 0, 0 },
		{ "-1G", -EINVAL, 0, 0, 0 },
		{ "1G,bogus=1", -EINVAL, 0, 0, 0 },
		{ "16E", -EINVAL, 0, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r;

		memset(cfg, 0, sizeof(*cfg));
		r = core_parse_mem_opt(cfg, cases[i].arg);
		if (r != cases[i].want)
			fail_msg("-m %s: got %d, want %d", cases[i].arg, r, cases[i].want);
		if (r)
			continue;
		assert_int_equal(cfg->ram_size, cases[i].ram);
		assert_int_equal(cfg->maxmem, cases[i].maxmem);
		assert_int_equal(cfg->slots, cases[i].slots);
	}
}

struct mem_rule_case {
	uint64_t size, slots, maxmem;
	bool has_slots, has_max;
	const char *field, *text;
};

/* The rules' own words, as QEMU 7.2 prints them. */
static void test_mem_rule_texts(void **state)
{
	struct core_config *cfg = *state;
	static const struct mem_rule_case cases[] = {
		{ GIB, 2, 0, true, false, "slots", "slots specified but no max-size" },
		{ GIB, 0, 512 * MIB, false, true, "maxmem",
		  "invalid value of maxmem: maximum memory size (0x20000000) must be at least "
		  "the initial memory size (0x40000000)" },
		{ GIB, 2, GIB, true, true, "maxmem",
		  "invalid value of maxmem: memory slots were specified but maximum memory size "
		  "(0x40000000) is equal to the initial memory size (0x40000000)" },
		{ GIB, 257, 8 * GIB, true, true, "slots",
		  "unsupported amount of memory slots: 257" },
		{ GIB, 1, 2 * GIB + 1024, true, true, "maxmem",
		  "maximum memory size must be aligned to multiple of 4096 bytes" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct mem_rule_case *c = &cases[i];
		struct core_cfg_err err;

		memset(&err, 0, sizeof(err));
		assert_int_equal(core_mem_check(cfg, c->size, c->has_slots, c->slots, c->has_max,
		                                c->maxmem, "size", &err),
		                 -EINVAL);
		assert_string_equal(err.field, c->field);
		if (!strstr(err.text, c->text))
			fail_msg("case %zu: '%s' lacks '%s'", i, err.text, c->text);
	}
}

static int parse(struct core_config *cfg, const char *const *args)
{
	char *argv[32];
	int argc = 0;

	argv[argc++] = (char *)"splitvm-core";
	while (*args && argc < 31)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	return core_cmdline_parse(cfg, argc, argv);
}

static void test_full_command_line(void **state)
{
	struct core_config *cfg = *state;
	static const char *const args[] = {
		"-m",      "1G",
		"-smp",    "4",
		"-kernel", "k",
		"-initrd", "i",
		"-append", "x=1",
		"-serial", "file:/tmp/s",
		"-object", "memory-backend-ram,id=m0,size=512M",
		"-object", "memory-backend-ram,id=m1,size=512M",
		"-numa",   "node,nodeid=0,cpus=0-1,memdev=m0",
		"-numa",   "node,nodeid=1,cpus=2-3,memdev=m1",
		"-name",   "t1",
		NULL,
	};

	assert_int_equal(parse(cfg, args), 0);
	assert_int_equal(cfg->vcpus, 4);
	assert_string_equal(cfg->kernel, "k");
	assert_string_equal(cfg->cmdline, "x=1");
	assert_int_equal(cfg->serial, CORE_SERIAL_FILE);
	assert_string_equal(cfg->serial_path, "/tmp/s");
	assert_int_equal(cfg->n_numa, 2);
	assert_int_equal(cfg->numa[1].cpu_first, 2);
	assert_int_equal(cfg->numa[1].cpu_count, 2);
	assert_int_equal(cfg->numa[1].mem, 512 * MIB);
	assert_string_equal(cfg->name, "t1");
}

static void test_refused_command_lines(void **state)
{
	struct core_config *cfg = *state;
	static const char *const bad[][16] = {
		{ "-m", "1G", NULL }, /* no -kernel */
		{ "-kernel", "k", "-smp", "0", NULL },
		{ "-kernel", "k", "-smp", "65", NULL },
		{ "-kernel", "k", "-serial", "tcp:1", NULL },
		{ "-kernel", "k", "-bogus", "1", NULL },
		{ "-kernel", NULL },
		/* NUMA memory must add up to -m */
		{ "-kernel", "k", "-m", "1G", "-object", "memory-backend-ram,id=m0,size=512M",
		  "-numa", "node,memdev=m0", NULL },
		/* unknown memdev */
		{ "-kernel", "k", "-m", "512M", "-numa", "node,memdev=nope", NULL },
		/* duplicate nodeid */
		{ "-kernel", "k", "-m", "1G", "-object", "memory-backend-ram,id=a,size=512M",
		  "-object", "memory-backend-ram,id=b,size=512M", "-numa", "node,nodeid=0,memdev=a",
		  "-numa", "node,nodeid=0,memdev=b", NULL },
		/* cpus beyond -smp */
		{ "-kernel", "k", "-m", "512M", "-object", "memory-backend-ram,id=a,size=512M",
		  "-numa", "node,cpus=0-3,memdev=a", NULL },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(cfg, bad[i]) != -EINVAL)
			fail_msg("command line %zu was accepted", i);
	}
}

/* A VmConfig that MachineStart would accept: 1 GiB in two NUMA nodes. */
struct vm_fixture {
	Splitvm__VmConfig vm;
	Splitvm__BackendConfig b0, b1;
	Splitvm__BackendConfig *backends[2];
	Splitvm__NumaNode n0, n1;
	Splitvm__NumaNode *numa[2];
	uint32_t cpus0[2], cpus1[2];
};

static void vm_fixture_init(struct vm_fixture *f)
{
	memset(f, 0, sizeof(*f));
	splitvm__vm_config__init(&f->vm);
	splitvm__backend_config__init(&f->b0);
	splitvm__backend_config__init(&f->b1);
	splitvm__numa_node__init(&f->n0);
	splitvm__numa_node__init(&f->n1);
	f->vm.name = (char *)"vm1";
	f->vm.ram_size = GIB;
	f->vm.slots = 4;
	f->vm.maxmem = 8 * GIB;
	f->vm.vcpus = 4;
	f->vm.kernel = (char *)"/dev/null"; /* readable is all the check asks */
	f->vm.cmdline = (char *)"console=ttyS0";
	f->vm.serial = SPLITVM__SERIAL_TYPE__SERIAL_FILE;
	f->vm.serial_path = (char *)"/tmp/console";
	f->b0.id = (char *)"m0";
	f->b0.size = 512 * MIB;
	f->b1.id = (char *)"m1";
	f->b1.size = 512 * MIB;
	f->backends[0] = &f->b0;
	f->backends[1] = &f->b1;
	f->vm.n_backends = 2;
	f->vm.backends = f->backends;
	f->cpus0[0] = 0;
	f->cpus0[1] = 1;
	f->cpus1[0] = 2;
	f->cpus1[1] = 3;
	f->n0.node_id = 0;
	f->n0.memdev = (char *)"m0";
	f->n0.n_cpus = 2;
	f->n0.cpus = f->cpus0;
	f->n1.node_id = 1;
	f->n1.memdev = (char *)"m1";
	f->n1.n_cpus = 2;
	f->n1.cpus = f->cpus1;
	f->numa[0] = &f->n0;
	f->numa[1] = &f->n1;
	f->vm.n_numa = 2;
	f->vm.numa = f->numa;
}

static void test_vm_config_accepted(void **state)
{
	struct core_config *cfg = *state;
	struct core_cfg_err err;
	struct vm_fixture f;

	vm_fixture_init(&f);
	assert_int_equal(core_config_from_vm(cfg, &f.vm, &err), 0);
	assert_int_equal(cfg->ram_size, GIB);
	assert_int_equal(cfg->maxmem, 8 * GIB);
	assert_int_equal(cfg->slots, 4);
	assert_int_equal(cfg->vcpus, 4);
	assert_string_equal(cfg->name, "vm1");
	assert_string_equal(cfg->kernel, "/dev/null");
	assert_string_equal(cfg->cmdline, "console=ttyS0");
	assert_null(cfg->initrd);
	assert_int_equal(cfg->serial, CORE_SERIAL_FILE);
	assert_string_equal(cfg->serial_path, "/tmp/console");
	assert_int_equal(cfg->n_numa, 2);
	assert_int_equal(cfg->numa[1].cpu_first, 2);
	assert_int_equal(cfg->numa[1].cpu_count, 2);
	assert_int_equal(cfg->numa[1].mem, 512 * MIB);
	/* The strings are copies: the message may go. */
	assert_ptr_not_equal(cfg->kernel, f.vm.kernel);
	core_config_release(cfg);
	core_config_release(cfg); /* twice is harmless */
}

struct vm_bad {
	const char *what;
	void (*spoil)(struct vm_fixture *f);
	const char *field, *text;
};

static void no_ram(struct vm_fixture *f)
{
	f->vm.ram_size = 0;
}
static void slots_no_max(struct vm_fixture *f)
{
	f->vm.maxmem = 0;
}
static void max_below(struct vm_fixture *f)
{
	f->vm.maxmem = 512 * MIB;
	f->vm.slots = 0;
}
static void no_vcpus(struct vm_fixture *f)
{
	f->vm.vcpus = 0;
}
static void many_vcpus(struct vm_fixture *f)
{
	f->vm.vcpus = CORE_MAX_VCPUS + 1;
}
static void no_kernel(struct vm_fixture *f)
{
	f->vm.kernel = NULL;
}
static void bad_kernel(struct vm_fixture *f)
{
	f->vm.kernel = (char *)"/nonexistent/k";
}
static void bad_initrd(struct vm_fixture *f)
{
	f->vm.initrd = (char *)"/nonexistent/i";
}
static void no_path(struct vm_fixture *f)
{
	f->vm.serial_path = (char *)"";
}
static void odd_serial(struct vm_fixture *f)
{
	f->vm.serial = (Splitvm__SerialType)9;
}
static void gap_cpus(struct vm_fixture *f)
{
	f->cpus1[1] = 5;
}
static void bad_memdev(struct vm_fixture *f)
{
	f->n1.memdev = (char *)"nope";
}
static void numa_total(struct vm_fixture *f)
{
	f->vm.n_numa = 1;
}
static void dup_node(struct vm_fixture *f)
{
	f->n1.node_id = 0;
}

static void test_vm_config_refused(void **state)
{
	struct core_config *cfg = *state;
	static const struct vm_bad cases[] = {
		{ "no RAM", no_ram, "ram_size", "must be greater than zero" },
		{ "slots, no maxmem", slots_no_max, "slots", "slots specified but no max-size" },
		{ "maxmem below RAM", max_below, "maxmem", "must be at least the initial" },
		{ "no vCPU", no_vcpus, "vcpus", "from 1 to" },
		{ "too many vCPUs", many_vcpus, "vcpus", "from 1 to" },
		{ "no kernel", no_kernel, "kernel", "is required" },
		{ "unreadable kernel", bad_kernel, "kernel", "/nonexistent/k" },
		{ "unreadable initrd", bad_initrd, "initrd", "/nonexistent/i" },
		{ "file serial without path", no_path, "serial_path", "needs a path" },
		{ "unknown serial", odd_serial, "serial", "unknown serial type" },
		{ "cpus with a gap", gap_cpus, "numa.cpus", "contiguous" },
		{ "unknown memdev", bad_memdev, "memdev", "not a memory backend id" },
		{ "NUMA short of RAM", numa_total, "memdev", "should equal RAM size" },
		{ "duplicate node", dup_node, "nodeid", "duplicate NUMA nodeid" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct core_cfg_err err;
		struct vm_fixture f;

		vm_fixture_init(&f);
		cases[i].spoil(&f);
		memset(&err, 0, sizeof(err));
		if (core_config_from_vm(cfg, &f.vm, &err) != -EINVAL)
			fail_msg("%s: accepted", cases[i].what);
		if (strcmp(err.field, cases[i].field) || !strstr(err.text, cases[i].text))
			fail_msg("%s: field '%s' text '%s'; want '%s' '%s'", cases[i].what,
			         err.field, err.text, cases[i].field, cases[i].text);
		core_config_release(cfg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mem_option_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mem_rule_texts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_config_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_config_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_command_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_command_lines, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
