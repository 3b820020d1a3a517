/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Launch configs that must be refused, in both syntaxes: each with the
 * exact "field: rule" line the user sees, and nothing left allocated (the
 * suite also runs under valgrind and ASan).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "log.h"

/* A domain with room for devices: 4 GiB in all, 8 GiB max, 2 slots. */
#define DOM(devices) DOM_EXTRA("", devices)
#define DOM_EXTRA(extra, devices)                                                                  \
	"<domain type='kvm'><name>t</name>"                                                        \
	"<maxMemory slots='2' unit='GiB'>8</maxMemory><memory unit='GiB'>4</memory>"               \
	"<vcpu>2</vcpu><os><type>hvm</type></os>" extra "<devices>" devices "</devices></domain>"
/* The same with one NUMA cell of 1 GiB. */
#define NUMA_DOM(devices)                                                                          \
	"<domain type='kvm'><name>t</name>"                                                        \
	"<maxMemory slots='2' unit='GiB'>8</maxMemory><vcpu>2</vcpu>"                              \
	"<cpu><numa><cell id='0' cpus='0-1' memory='1' unit='GiB'/></numa></cpu>"                  \
	"<os><type>hvm</type></os><devices>" devices "</devices></domain>"
#define VMEM(size, block, req)                                                                     \
	"<memory model='virtio-mem'><target><size unit='MiB'>" size "</size>"                      \
	"<block unit='KiB'>" block "</block><requested unit='MiB'>" req "</requested>"             \
	"</target></memory>"
#define DIMM(size) "<memory model='dimm'><target><size unit='MiB'>" size "</size></target></memory>"

struct xml_case {
	const char *name;
	unsigned flags;
	const char *xml;
	const char *expect;
};

static const struct xml_case xml_cases[] = {
	{ "requested not a multiple of block", CONFIG_NO_HOST_CHECKS,
	  DOM(VMEM("1024", "2048", "3")),
	  "devices/memory[alias=virtiomem0]/target/requested: requested size 3M must be an "
	  "integer multiple of block size 2M" },
	{ "requested over size", CONFIG_NO_HOST_CHECKS, DOM(VMEM("1024", "2048", "2048")),
	  "devices/memory[alias=virtiomem0]/target/requested: requested size 2G must be smaller "
	  "than or equal to size 1G" },
	{ "block below THP", CONFIG_NO_HOST_CHECKS, DOM(VMEM("1024", "1024", "0")),
	  "devices/memory[alias=virtiomem0]/target/block: block size 1M is below the THP size: "
	  "it must be at least 2M" },
	{ "block not a power of two", CONFIG_NO_HOST_CHECKS, DOM(VMEM("1020", "6144", "0")),
	  "devices/memory[alias=virtiomem0]/target/block: block size 6M must be a power of two" },
	{ "more DIMMs than slots", CONFIG_NO_HOST_CHECKS, DOM(DIMM("512") DIMM("512") DIMM("512")),
	  "maxMemory slots: 3 DIMM and NVDIMM devices need more than the 2 slots" },
	{ "total over maxMemory", CONFIG_NO_HOST_CHECKS, DOM(VMEM("6144", "2048", "0")),
	  "memory: Total size of memory devices exceeds the total memory size" },
	{ "devices over maxMemory", CONFIG_NO_HOST_CHECKS, NUMA_DOM(VMEM("8192", "2048", "0")),
	  "maxMemory: memory devices total 8G, over the 7G between boot memory and maximum "
	  "memory" },
	{ "node that does not exist", CONFIG_NO_HOST_CHECKS,
	  NUMA_DOM("<memory model='dimm'><target><size unit='MiB'>512</size><node>1</node>"
	           "</target></memory>"),
	  "devices/memory[alias=dimm0]/target/node: node 1 does not exist: the guest has only 1 "
	  "NUMA nodes" },
	{ "node without NUMA", CONFIG_NO_HOST_CHECKS,
	  DOM("<memory model='dimm'><target><size unit='MiB'>512</size><node>0</node>"
	      "</target></memory>"),
	  "devices/memory[1]/target/node: can't add memory backend as guest has no NUMA nodes "
	  "configured" },
	{ "DIMM without node under NUMA", CONFIG_NO_HOST_CHECKS, NUMA_DOM(DIMM("512")),
	  "devices/memory[1]/target/node: target NUMA node needs to be specified for memory "
	  "device" },
	{ "unknown model", CONFIG_NO_HOST_CHECKS, DOM("<memory model='balloon'/>"),
	  "devices/memory[1]: unknown memory model 'balloon' (dimm, virtio-mem, virtio-pmem, "
	  "nvdimm)" },
	{ "unknown element in target", CONFIG_NO_HOST_CHECKS,
	  DOM("<memory model='dimm'><target><size>1</size><speed>9</speed></target></memory>"),
	  "devices/memory[1]/target/speed: unknown element in a memory device's <target> (size, "
	  "node, block, requested, current, label, readonly)" },
	{ "unknown element in os", CONFIG_NO_HOST_CHECKS,
	  "<domain><name>t</name><memory>1048576</memory><os><type>hvm</type>"
	  "<loader>/x</loader></os></domain>",
	  "os/loader: unknown element in <os> (type, kernel, initrd, cmdline, boot)" },
	{ "unknown element in numa", CONFIG_NO_HOST_CHECKS,
	  "<domain><name>t</name><cpu><numa><cell id='0' memory='1048576'/><interconnects/>"
	  "</numa></cpu></domain>",
	  "cpu/numa: unknown element <interconnects> (splitvm knows <cell>)" },
	{ "unknown attribute of a NUMA cell", CONFIG_NO_HOST_CHECKS,
	  "<domain><name>t</name><cpu><numa><cell id='0' memory='1048576' memAccess='shared'/>"
	  "</numa></cpu></domain>",
	  "cpu/numa/cell[1]: unknown attribute 'memAccess' of <cell>" },
	{ "unknown attribute of maxMemory", CONFIG_NO_HOST_CHECKS,
	  "<domain><name>t</name><maxMemory slots='2' hotplug='yes'>8388608</maxMemory></domain>",
	  "maxMemory: unknown attribute 'hotplug' of <maxMemory>" },
	{ "size that overflows", CONFIG_NO_HOST_CHECKS,
	  DOM("<memory model='dimm'><target><size unit='EiB'>16</size></target></memory>"),
	  "devices/memory[1]/target/size: invalid size '16' (unit 'EiB'): value too large" },
	{ "unknown unit", CONFIG_NO_HOST_CHECKS,
	  "<domain><name>t</name><memory unit='QiB'>1</memory></domain>",
	  "memory: unknown unit 'QiB'" },
	{ "two devices with one alias", CONFIG_NO_HOST_CHECKS,
	  DOM("<memory model='dimm'><target><size unit='MiB'>512</size></target>"
	      "<alias name='ua-m'/></memory>"
	      "<memory model='virtio-mem'><target><size unit='MiB'>512</size>"
	      "<block unit='MiB'>2</block></target><alias name='ua-m'/></memory>"),
	  "devices/memory[alias=ua-m]: two memory devices have the alias 'ua-m'" },
	{ "nvdimm without a path", CONFIG_NO_HOST_CHECKS,
	  DOM("<memory model='nvdimm'><target><size unit='MiB'>512</size></target></memory>"),
	  "devices/memory[1]/source/path: path is required for model 'nvdimm'" },
	{ "pmem path that cannot be opened", 0,
	  DOM("<memory model='nvdimm'><source><path>/nonexistent-splitvm/pmem0</path></source>"
	      "<target><size unit='MiB'>512</size></target></memory>"),
	  "devices/memory[alias=nvdimm0]/source/path: cannot create '/nonexistent-splitvm/pmem0' "
	  "in '/nonexistent-splitvm': No such file or directory" },
	{ "virtio-pmem not shared", CONFIG_NO_HOST_CHECKS,
	  DOM("<memory model='virtio-pmem'><source><path>/tmp/p</path></source>"
	      "<target><size unit='MiB'>512</size></target></memory>"),
	  "devices/memory[1]: shared access mode required for virtio-pmem device" },
	{ "nvdimm label too small", CONFIG_NO_HOST_CHECKS,
	  DOM("<memory model='nvdimm'><source><path>/tmp/n</path></source><target>"
	      "<size unit='MiB'>512</size><label><size unit='KiB'>64</size></label></target>"
	      "</memory>"),
	  "devices/memory[alias=nvdimm0]/target/label/size: label size 64K is below the minimum of "
	  "128K" },
	{ "slot beyond slots", CONFIG_NO_HOST_CHECKS,
	  DOM("<memory model='dimm'><target><size unit='MiB'>512</size></target>"
	      "<address type='dimm' slot='5'/></memory>"),
	  "devices/memory[alias=dimm5]/address: memory device slot '5' exceeds slots count '2'" },
	{ "slot used twice", CONFIG_NO_HOST_CHECKS,
	  DOM("<memory model='dimm'><target><size unit='MiB'>512</size></target>"
	      "<address type='dimm' slot='1'/><alias name='ua-a'/></memory>"
	      "<memory model='dimm'><target><size unit='MiB'>512</size></target>"
	      "<address type='dimm' slot='1'/></memory>"),
	  "devices/memory[alias=dimm1]/address: memory device slot '1' is already being used by "
	  "'ua-a'" },
	{ "block on a dimm", CONFIG_NO_HOST_CHECKS,
	  DOM("<memory model='dimm'><target><size unit='MiB'>512</size><block unit='MiB'>2</block>"
	      "</target></memory>"),
	  "devices/memory[1]/target: block and requested are for virtio-mem, not 'dimm'" },
	{ "memory device without maxMemory", CONFIG_NO_HOST_CHECKS,
	  "<domain><name>t</name><memory unit='GiB'>2</memory><devices>" DIMM(
	          "512") "</devices></domain>",
	  "maxMemory: cannot use/hotplug a memory device when domain 'maxMemory' is not defined" },
	{ "NUMA cell ids with a gap", CONFIG_NO_HOST_CHECKS,
	  "<domain><name>t</name><cpu><numa><cell id='1' memory='1048576'/></numa></cpu>"
	  "</domain>",
	  "cpu/numa: Exactly one 'cell' element per guest NUMA cell allowed, non-contiguous ranges "
	  "or ranges not starting from 0 are not allowed" },
	{ "no vCPU", CONFIG_NO_HOST_CHECKS,
	  "<domain><name>t</name><memory>1048576</memory><vcpu>0</vcpu></domain>",
	  "vcpu: 0 vCPUs: splitvm runs 1 to 64" },
	{ "a name that is a path", CONFIG_NO_HOST_CHECKS,
	  "<domain><name>../etc</name><memory>1048576</memory></domain>",
	  "name: '../etc' is not a valid VM name (1 to 64 letters, digits, '-', '_', '.', '+', "
	  "':', "
	  "not starting with '.' or '-'): it names the run directory" },
	{ "serial on TCP", CONFIG_NO_HOST_CHECKS,
	  "<domain><name>t</name><memory>1048576</memory><devices><serial type='tcp'/>"
	  "</devices></domain>",
	  "devices/serial: type 'tcp' is not supported (file, pty, stdio, null)" },
	{ "unknown splitvm setting", CONFIG_NO_HOST_CHECKS,
	  "<domain xmlns:s='" CONFIG_XML_NS "'><name>t</name><memory>1048576</memory>"
	  "<s:settings><s:jail/></s:settings></domain>",
	  "splitvm:settings/jail: unknown element in splitvm's settings (sandbox, restart, "
	  "rundir)" },
	{ "skipped element under strict", CONFIG_NO_HOST_CHECKS | CONFIG_STRICT,
	  "<domain><name>t</name><memory>1048576</memory><clock offset='utc'/></domain>",
	  "clock: splitvm has no use for this element (refused in strict mode)" },
	{ "a DOCTYPE", CONFIG_NO_HOST_CHECKS,
	  "<?xml version='1.0'?><!DOCTYPE d [<!ENTITY a 'aaaa'>]><domain><name>&a;</name></domain>",
	  "XML: a DOCTYPE or entity declaration is refused" },
	{ "not well-formed", CONFIG_NO_HOST_CHECKS, "<domain><name>t</name></domian>",
	  "XML: line 1: Opening and ending tag mismatch: domain line 1 and domian" },
	{ "not a domain", CONFIG_NO_HOST_CHECKS, "<network/>",
	  "network: the root element must be <domain>" },
};

struct qemu_case {
	const char *name;
	unsigned flags;
	const char *args; /* split at spaces */
	const char *expect;
};

#define M   "-m 1G,slots=2,maxmem=8G "
#define OBJ "-object memory-backend-ram,id=mem0,size=1G "

static const struct qemu_case qemu_cases[] = {
	{ "requested not a multiple of block", CONFIG_NO_HOST_CHECKS,
	  M OBJ "-device virtio-mem-pci,id=vm0,memdev=mem0,requested-size=3M",
	  "-device vm0,requested-size: requested size 3M must be an integer multiple of block "
	  "size 2M" },
	{ "requested over size", CONFIG_NO_HOST_CHECKS,
	  M OBJ "-device virtio-mem,id=vm0,memdev=mem0,requested-size=2G",
	  "-device vm0,requested-size: requested size 2G must be smaller than or equal to size "
	  "1G" },
	{ "block below THP", CONFIG_NO_HOST_CHECKS,
	  M OBJ "-device virtio-mem,id=vm0,memdev=mem0,block-size=1M",
	  "-device vm0,block-size: block size 1M is below the THP size: it must be at least 2M" },
	{ "memdev missing", CONFIG_NO_HOST_CHECKS, M "-device pc-dimm,id=d0",
	  "-device d0,memdev: Property 'memdev' not set" },
	{ "memdev used twice", CONFIG_NO_HOST_CHECKS,
	  M OBJ "-device pc-dimm,id=d0,memdev=mem0 -device pc-dimm,id=d1,memdev=mem0",
	  "-device d1,memdev: can't use already busy memdev: mem0" },
	{ "memdev not found", CONFIG_NO_HOST_CHECKS, M "-device pc-dimm,id=d0,memdev=nope",
	  "-device d0,memdev: Device 'nope' not found: memdev names no memory backend" },
	{ "not a memory device", CONFIG_NO_HOST_CHECKS, M "-device e1000,id=n0",
	  "-device: driver 'e1000' is not a memory device splitvm models (pc-dimm, nvdimm, "
	  "virtio-mem-pci, virtio-pmem-pci)" },
	{ "device without id", CONFIG_NO_HOST_CHECKS, M OBJ "-device pc-dimm,memdev=mem0",
	  "-device pc-dimm: Parameter 'id' is missing: splitvm names each device process by it" },
	{ "unknown device property", CONFIG_NO_HOST_CHECKS,
	  M OBJ "-device pc-dimm,id=d0,memdev=mem0,speed=9",
	  "-device d0: Property 'pc-dimm.speed' not found" },
	{ "slots without maxmem", CONFIG_NO_HOST_CHECKS, "-m 1G,slots=2",
	  "-m: invalid -m option value: missing 'maxmem' option" },
	{ "maxmem below size", CONFIG_NO_HOST_CHECKS, "-m 2G,maxmem=1G",
	  "-m maxmem: invalid value of maxmem: maximum memory size (0x40000000) must be at least "
	  "the initial memory size (0x80000000)" },
	{ "more DIMMs than slots", CONFIG_NO_HOST_CHECKS,
	  "-m 1G,slots=1,maxmem=8G -object memory-backend-ram,id=a,size=1G "
	  "-object memory-backend-ram,id=b,size=1G -device pc-dimm,id=d0,memdev=a "
	  "-device pc-dimm,id=d1,memdev=b",
	  "-m slots: 2 DIMM and NVDIMM devices need more than the 1 slots" },
	{ "total over maxmem", CONFIG_NO_HOST_CHECKS,
	  "-m 1G,maxmem=2G -object memory-backend-ram,id=mem0,size=2G "
	  "-device virtio-mem,id=vm0,memdev=mem0",
	  "-m maxmem: memory devices total 2G, over the 1G between boot memory and maximum "
	  "memory" },
	{ "node that does not exist", CONFIG_NO_HOST_CHECKS,
	  M OBJ "-device pc-dimm,id=d0,memdev=mem0,node=3",
	  "-device d0,node: node 3 does not exist: the guest has no NUMA nodes configured" },
	{ "nvdimm not enabled", CONFIG_NO_HOST_CHECKS,
	  M "-object memory-backend-file,id=mem0,size=1G,mem-path=/tmp/n "
	    "-device nvdimm,id=nv0,memdev=mem0",
	  "-device nv0: nvdimm is not enabled: add 'nvdimm=on' to '-M'" },
	{ "nvdimm on RAM", CONFIG_NO_HOST_CHECKS,
	  "-M pc,nvdimm=on " M OBJ "-device nvdimm,id=nv0,memdev=mem0",
	  "-device nv0,memdev: nvdimm needs a memory-backend-file: a host file holds its content" },
	{ "DIMM size not 2 MiB aligned", CONFIG_NO_HOST_CHECKS,
	  M "-object memory-backend-ram,id=mem0,size=1M -device pc-dimm,id=d0,memdev=mem0",
	  "-device d0,memdev: backend memory size must be multiple of 0x200000 (size 1M)" },
	{ "size that overflows", CONFIG_NO_HOST_CHECKS,
	  M "-object memory-backend-ram,id=mem0,size=16E",
	  "-object: memory-backend-ram 'mem0': property 'size': '16E': value does not fit in 64 "
	  "bits (the largest is 16E minus 1 byte)" },
	{ "smp topology mismatch", CONFIG_NO_HOST_CHECKS, "-smp 3,sockets=2,cores=2",
	  "-smp: Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (2) * "
	  "dies (1) * cores (2) * threads (1) != maxcpus (3)" },
	{ "numa memdev on some nodes", CONFIG_NO_HOST_CHECKS,
	  "-m 2G " OBJ "-numa node,memdev=mem0 -numa node",
	  "-numa: memdev option must be specified for either all or no nodes" },
	{ "numa mem=", CONFIG_NO_HOST_CHECKS, "-numa node,mem=1G",
	  "-numa: Parameter -numa node,mem is not supported by this machine type. Use -numa "
	  "node,memdev instead" },
	{ "unknown option", CONFIG_NO_HOST_CHECKS, "-hda disk.img",
	  "-hda: option not supported by splitvm (-name, -m, -smp, -numa, -object, -device, "
	  "-machine, -kernel, -initrd, -append, -serial, -accel kvm, -enable-kvm)" },
	{ "missing argument", CONFIG_NO_HOST_CHECKS, "-m", "-m: requires an argument" },
	{ "read-only pmem file missing", 0,
	  M "-object memory-backend-file,id=mem0,size=1G,mem-path=/nonexistent-splitvm/p,"
	    "readonly=on,share=on -device virtio-pmem,id=p0,memdev=mem0",
	  "-object mem0,mem-path: cannot open '/nonexistent-splitvm/p': No such file or "
	  "directory" },
	{ "kernel that cannot be opened", 0, "-kernel /nonexistent-splitvm/bzImage",
	  "-kernel: cannot open '/nonexistent-splitvm/bzImage': No such file or directory" },
};

static void test_xml_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(xml_cases) / sizeof(xml_cases[0]); i++) {
		const struct xml_case *c = &xml_cases[i];
		struct config_error err = { { 0 }, { 0 } };
		Splitvm__VmConfig *cfg = (Splitvm__VmConfig *)&err; /* must become NULL */
		char line[600];
		int rc = config_parse_xml(c->xml, strlen(c->xml), c->flags, &cfg, &err);

		config_error_line(&err, line, sizeof(line));
		if (rc != -EINVAL || strcmp(line, c->expect))
			printf("xml case '%s': rc %d\n  got:  %s\n  want: %s\n", c->name, rc, line,
			       c->expect);
		assert_int_equal(rc, -EINVAL);
		assert_null(cfg);
		assert_string_equal(line, c->expect);
	}
}

static void test_qemu_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(qemu_cases) / sizeof(qemu_cases[0]); i++) {
		const struct qemu_case *c = &qemu_cases[i];
		struct config_error err = { { 0 }, { 0 } };
		Splitvm__VmConfig *cfg = (Splitvm__VmConfig *)&err;
		char *copy = strdup(c->args), *argv[64], *save = NULL, line[600];
		int argc = 0, rc;

		assert_non_null(copy);
		for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
			argv[argc++] = t;
		rc = config_parse_qemu(argc, argv, c->flags, &cfg, &err);
		config_error_line(&err, line, sizeof(line));
		if (rc != -EINVAL || strcmp(line, c->expect))
			printf("qemu case '%s': rc %d\n  got:  %s\n  want: %s\n", c->name, rc, line,
			       c->expect);
		free(copy);
		assert_int_equal(rc, -EINVAL);
		assert_null(cfg);
		assert_string_equal(line, c->expect);
	}
}

/* The table is the spec's "at least 30": keep it honest. */
static void test_table_size(void **state)
{
	(void)state;
	assert_true(sizeof(xml_cases) / sizeof(xml_cases[0]) +
	                    sizeof(qemu_cases) / sizeof(qemu_cases[0]) >=
	            30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_size),
		cmocka_unit_test(test_xml_invalid),
		cmocka_unit_test(test_qemu_invalid),
	};

	log_init("test/config");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
