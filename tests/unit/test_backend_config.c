/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU memory backend properties -> BackendConfig: every accepted form with
 * its canonical string (and the round trip back), every refused form with
 * the property and the text it must name.
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

#include "backend_config.h"
#include "log.h"
#include "opts.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

struct accept {
	const char *in;
	const char *canonical;
};

static const struct accept accepts[] = {
	{ "memory-backend-ram,id=mem0,size=1G", "memory-backend-ram,id=mem0,size=1G" },
	{ "memory-backend-ram,size=1G,id=mem0,prealloc=on,prealloc-threads=4",
	  "memory-backend-ram,id=mem0,size=1G,prealloc=on,prealloc-threads=4" },
	{ "qom-type=memory-backend-memfd,id=m1,size=2G,hugetlb=on,hugetlbsize=2M,seal=off",
	  "memory-backend-memfd,id=m1,size=2G,hugetlb=on,hugetlbsize=2M,seal=off" },
	{ "memory-backend-memfd,id=m2,size=1M,share=off",
	  "memory-backend-memfd,id=m2,size=1M,share=off" },
	{ "memory-backend-memfd,id=m3,size=1M,share=on,seal=on",
	  "memory-backend-memfd,id=m3,size=1M" },
	{ "memory-backend-file,id=pm0,size=4G,mem-path=/dev/dax0.0,share=on,pmem=on,align=2M",
	  "memory-backend-file,id=pm0,size=4G,mem-path=/dev/dax0.0,share=on,pmem=on,align=2M" },
	{ "memory-backend-file,id=f1,size=1M,mem-path=/tmp/a,,b",
	  "memory-backend-file,id=f1,size=1M,mem-path=/tmp/a,,b" },
	{ "memory-backend-file,id=f2,size=1M,mem-path=/img,readonly=on,discard-data=on",
	  "memory-backend-file,id=f2,size=1M,mem-path=/img,readonly=on,discard-data=on" },
	{ "memory-backend-ram,id=n0,size=1G,host-nodes=0-1,policy=bind",
	  "memory-backend-ram,id=n0,size=1G,host-nodes=0-1,policy=bind" },
	{ "memory-backend-ram,id=n1,size=1G,host-nodes=0,host-nodes=2-3,policy=interleave",
	  "memory-backend-ram,id=n1,size=1G,host-nodes=0,host-nodes=2-3,policy=interleave" },
	{ "memory-backend-ram,id=n2,size=1G,host-nodes.0=1,host-nodes.1=0,policy=preferred",
	  "memory-backend-ram,id=n2,size=1G,host-nodes=0-1,policy=preferred" },
	{ "memory-backend-ram,id=n3,size=1G,policy=default", "memory-backend-ram,id=n3,size=1G" },
	{ "memory-backend-ram,id=o0,size=1G,merge=off,dump=off,reserve=off",
	  "memory-backend-ram,id=o0,size=1G,merge=off,dump=off,reserve=off" },
	{ "memory-backend-ram,id=o1,size=1.5G,prealloc=yes,share=y",
	  "memory-backend-ram,id=o1,size=1536M,share=on,prealloc=on" },
	{ "memory-backend-ram,id=o2,size=4097K,prealloc-threads=1",
	  "memory-backend-ram,id=o2,size=4097K" },
	{ "memory-backend-ram,id=a.b_c-d,size=0x100000", "memory-backend-ram,id=a.b_c-d,size=1M" },
};

static void test_accepted_forms(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(accepts) / sizeof(accepts[0]); i++) {
		struct backend_config_error err = { .field = "" };
		Splitvm__BackendConfig *cfg = NULL, *again = NULL;
		char buf[512], buf2[512];

		if (backend_config_parse(accepts[i].in, &cfg, &err) < 0)
			fail_msg("'%s' refused: %s (%s)", accepts[i].in, err.text, err.field);
		assert_int_equal(backend_config_format(cfg, buf, sizeof(buf)), 0);
		if (strcmp(buf, accepts[i].canonical))
			fail_msg("'%s' became '%s', want '%s'", accepts[i].in, buf,
			         accepts[i].canonical);
		/* The canonical string reads back as the same config. */
		assert_int_equal(backend_config_parse(buf, &again, &err), 0);
		assert_int_equal(backend_config_format(again, buf2, sizeof(buf2)), 0);
		assert_string_equal(buf, buf2);
		assert_int_equal(again->size, cfg->size);
		assert_int_equal(again->n_host_nodes, cfg->n_host_nodes);
		backend_config_free(again);
		backend_config_free(cfg);
	}
}

static void test_parsed_values(void **state)
{
	struct backend_config_error err = { .field = "" };
	Splitvm__BackendConfig *cfg = NULL;

	(void)state;
	assert_int_equal(backend_config_parse("memory-backend-file,id=pm,size=2G,"
	                                      "mem-path=/tmp/x,,y,align=1G,pmem=on",
	                                      &cfg, &err),
	                 0);
	assert_int_equal(cfg->type, SPLITVM__BACKEND_TYPE__BACKEND_FILE);
	assert_string_equal(cfg->id, "pm");
	assert_int_equal(cfg->size, 2 * GIB);
	assert_string_equal(cfg->mem_path, "/tmp/x,y");
	assert_int_equal(cfg->align, GIB);
	assert_true(cfg->pmem);
	/* QEMU's defaults. */
	assert_true(cfg->merge);
	assert_true(cfg->dump);
	assert_true(cfg->reserve);
	assert_false(cfg->share);
	assert_false(cfg->prealloc);
	assert_int_equal(cfg->policy, SPLITVM__HOST_MEM_POLICY__POLICY_DEFAULT);
	backend_config_free(cfg);

	assert_int_equal(backend_config_parse("memory-backend-memfd,id=m,size=64M,"
	                                      "host-nodes=3,host-nodes=1,host-nodes=5-6,"
	                                      "policy=bind",
	                                      &cfg, &err),
	                 0);
	assert_true(cfg->share);
	assert_true(cfg->seal);
	assert_int_equal(cfg->n_host_nodes, 4);
	assert_int_equal(cfg->host_nodes[0], 3);
	assert_int_equal(cfg->host_nodes[1], 1);
	assert_int_equal(cfg->host_nodes[2], 5);
	assert_int_equal(cfg->host_nodes[3], 6);
	assert_int_equal(cfg->policy, SPLITVM__HOST_MEM_POLICY__POLICY_BIND);
	backend_config_free(cfg);
}

struct refuse {
	const char *in;
	const char *field;
	const char *text;
};

static const struct refuse refuses[] = {
	{ "", "qom-type", "Parameter 'qom-type' is missing" },
	{ "iothread,id=io0", "qom-type", "invalid object type: iothread" },
	{ "memory-backend-ram,size=1G", "id", "memory-backend-ram: Parameter 'id' is missing" },
	{ "memory-backend-ram,id=1x,size=1G", "id", "Parameter 'id' expects an identifier" },
	{ "memory-backend-ram,id=m", "size", "memory-backend-ram 'm': property 'size' is missing" },
	{ "memory-backend-ram,id=m,size=0", "size",
	  "property 'size' of memory-backend-ram doesn't take value '0'" },
	{ "memory-backend-ram,id=m,size=1Q", "size", "property 'size': unknown unit suffix 'Q'" },
	{ "memory-backend-ram,id=m,size=-1", "size", "property 'size'" },
	{ "memory-backend-ram,id=m,size=1G junk", "size",
	  "property 'size': trailing characters after '1G'" },
	{ "memory-backend-ram,id=m,size=16E", "size", "property 'size'" },
	{ "memory-backend-ram,id=m,size=1G,sise=2", "sise",
	  "memory-backend-ram 'm': Property 'memory-backend-ram.sise' not found" },
	{ "memory-backend-ram,id=m,size=1G,hugetlb=on", "hugetlb",
	  "Property 'memory-backend-ram.hugetlb' not found" },
	{ "memory-backend-memfd,id=m,size=1G,mem-path=/tmp", "mem-path",
	  "Property 'memory-backend-memfd.mem-path' not found" },
	{ "memory-backend-file,id=m,size=1G,mem-path=/tmp,seal=on", "seal",
	  "Property 'memory-backend-file.seal' not found" },
	{ "memory-backend-ram,id=m,size=1G,x-use-canonical-path-for-ramblock-id=on",
	  "x-use-canonical-path-for-ramblock-id", "not found" },
	{ "memory-backend-ram,id=m,size=1G,prealloc=maybe", "prealloc",
	  "property 'prealloc': 'maybe' is not a boolean" },
	{ "memory-backend-ram,id=m,size=1G,prealloc-threads=0", "prealloc-threads",
	  "property 'prealloc-threads' of memory-backend-ram doesn't take value '0'" },
	{ "memory-backend-ram,id=m,size=1G,prealloc-threads=two", "prealloc-threads",
	  "is not a number" },
	{ "memory-backend-ram,id=m,size=1G,prealloc-threads=4294967296", "prealloc-threads",
	  "above the maximum" },
	{ "memory-backend-ram,id=m,size=1G,policy=local", "policy",
	  "Parameter 'policy' does not accept value 'local'" },
	{ "memory-backend-ram,id=m,size=1G,host-nodes=0", "host-nodes",
	  "host-nodes must be empty for policy default" },
	{ "memory-backend-ram,id=m,size=1G,policy=bind", "policy",
	  "host-nodes must be set for policy bind" },
	{ "memory-backend-ram,id=m,size=1G,host-nodes=128,policy=bind", "host-nodes",
	  "Invalid host-nodes value: 128" },
	{ "memory-backend-ram,id=m,size=1G,host-nodes=0-200,policy=bind", "host-nodes",
	  "Invalid host-nodes value: 200" },
	{ "memory-backend-ram,id=m,size=1G,host-nodes=3-1,policy=bind", "host-nodes",
	  "range '3-1' runs backwards" },
	{ "memory-backend-ram,id=m,size=1G,host-nodes=a,policy=bind", "host-nodes",
	  "'a' is not a node or a range of nodes" },
	{ "memory-backend-ram,id=m,size=1G,host-nodes=1-,policy=bind", "host-nodes",
	  "'1-' is not a node" },
	{ "memory-backend-ram,id=m,size=1G,host-nodes=-1,policy=bind", "host-nodes",
	  "'-1' is not a node" },
	{ "memory-backend-ram,id=m,size=1G,host-nodes.x=1,policy=bind", "host-nodes.x",
	  "Property 'memory-backend-ram.host-nodes.x' not found" },
	{ "memory-backend-ram,id=m,size=1G,prealloc=on,reserve=off", "prealloc",
	  "'prealloc=on' and 'reserve=off' are incompatible" },
	{ "memory-backend-memfd,id=m,size=1G,hugetlbsize=2M", "hugetlbsize",
	  "property 'hugetlbsize' needs hugetlb=on" },
	{ "memory-backend-memfd,id=m,size=1G,hugetlb=on,hugetlbsize=3M", "hugetlbsize",
	  "Hugepage size must be a power of 2" },
	{ "memory-backend-memfd,id=m,size=1G,hugetlb=on,hugetlbsize=0", "hugetlbsize",
	  "doesn't take value '0'" },
	{ "memory-backend-file,id=m,size=1G", "mem-path", "mem-path property not set" },
	{ "memory-backend-file,id=m,size=1G,mem-path=", "mem-path", "mem-path property not set" },
	{ "memory-backend-file,id=m,size=1G,mem-path=/x,align=3K", "align",
	  "alignment 0xc00 must be a power of two" },
	{ "memory-backend-ram,id=m,size=1G,size=2G", "", "duplicate property 'size'" },
	{ "memory-backend-ram,id=m,size=1G,=x", "", "empty property name" },
};

static void test_refused_forms(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(refuses) / sizeof(refuses[0]); i++) {
		struct backend_config_error err = { .field = "" };
		Splitvm__BackendConfig *cfg = NULL;
		int rc = backend_config_parse(refuses[i].in, &cfg, &err);

		if (rc != -EINVAL || cfg)
			fail_msg("'%s' accepted (rc %d)", refuses[i].in, rc);
		if (strcmp(err.field, refuses[i].field) || !strstr(err.text, refuses[i].text))
			fail_msg("'%s': got field '%s' text '%s'; want '%s' and '%s'",
			         refuses[i].in, err.field, err.text, refuses[i].field,
			         refuses[i].text);
	}
}

/* from_opts with the type given apart, as -object's caller may do. */
static void test_from_opts_with_type(void **state)
{
	struct backend_config_error err = { .field = "" };
	struct opts_error oerr = { { 0 } };
	Splitvm__BackendConfig *cfg = NULL;
	struct opts *o = NULL;

	(void)state;
	assert_int_equal(opts_parse("id=ram0,size=512M", NULL, &o, &oerr), 0);
	assert_int_equal(backend_config_from_opts(o, "memory-backend-ram", &cfg, &err), 0);
	assert_int_equal(cfg->size, 512 * MIB);
	backend_config_free(cfg);
	opts_free(o);
}

static void test_validate_hand_built(void **state)
{
	struct backend_config_error err = { .field = "" };
	Splitvm__BackendConfig c;
	uint32_t nodes[] = { 1 };

	(void)state;
	backend_config_init(&c, SPLITVM__BACKEND_TYPE__BACKEND_MEMFD);
	c.id = (char *)"ok0";
	c.size = GIB;
	assert_int_equal(backend_config_validate(&c, &err), 0);

	c.host_nodes = nodes;
	c.n_host_nodes = 1;
	c.policy = (Splitvm__HostMemPolicy)9;
	assert_int_equal(backend_config_validate(&c, &err), -EINVAL);
	assert_string_equal(err.field, "policy");

	backend_config_init(&c, SPLITVM__BACKEND_TYPE__BACKEND_RAM);
	c.id = (char *)"ok1";
	c.size = GIB;
	c.readonly = true;
	assert_int_equal(backend_config_validate(&c, &err), -EINVAL);
	assert_string_equal(err.field, "readonly");
	c.readonly = false;
	c.seal = true;
	assert_int_equal(backend_config_validate(&c, &err), -EINVAL);
	assert_string_equal(err.field, "seal");
	c.seal = false;
	c.align = 4096;
	assert_int_equal(backend_config_validate(&c, &err), -EINVAL);
	assert_string_equal(err.field, "align");
}

static void test_id_rule(void **state)
{
	char longest[BACKEND_CONFIG_ID_MAX + 2];

	(void)state;
	assert_true(backend_config_id_wellformed("a"));
	assert_true(backend_config_id_wellformed("Mem-0.b_c"));
	assert_false(backend_config_id_wellformed(""));
	assert_false(backend_config_id_wellformed(NULL));
	assert_false(backend_config_id_wellformed("0mem"));
	assert_false(backend_config_id_wellformed("_mem"));
	assert_false(backend_config_id_wellformed("mem 0"));
	assert_false(backend_config_id_wellformed("mem/0"));
	memset(longest, 'a', sizeof(longest));
	longest[BACKEND_CONFIG_ID_MAX] = '\0';
	assert_true(backend_config_id_wellformed(longest));
	longest[BACKEND_CONFIG_ID_MAX] = 'a';
	longest[BACKEND_CONFIG_ID_MAX + 1] = '\0';
	assert_false(backend_config_id_wellformed(longest));
}

static void test_format_and_copy(void **state)
{
	struct backend_config_error err = { .field = "" };
	Splitvm__BackendConfig *cfg = NULL, *copy = NULL;
	char small[16], buf[256];

	(void)state;
	assert_int_equal(backend_config_parse("memory-backend-file,id=f,size=1G,mem-path=/a,,b,"
	                                      "host-nodes=0,policy=bind",
	                                      &cfg, &err),
	                 0);
	assert_int_equal(backend_config_format(cfg, small, sizeof(small)), -ENOSPC);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(backend_config_format(cfg, buf, 0), -ENOSPC);

	assert_int_equal(backend_config_copy(cfg, &copy), 0);
	backend_config_free(cfg);
	assert_int_equal(backend_config_format(copy, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "memory-backend-file,id=f,size=1G,mem-path=/a,,b,"
	                         "host-nodes=0,policy=bind");
	backend_config_free(copy);
	backend_config_free(NULL);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(backend_config_type_name(SPLITVM__BACKEND_TYPE__BACKEND_RAM),
	                    "memory-backend-ram");
	assert_string_equal(backend_config_type_name(SPLITVM__BACKEND_TYPE__BACKEND_UNSPECIFIED),
	                    "unknown");
	assert_string_equal(backend_config_type_name((Splitvm__BackendType)42), "unknown");
	assert_string_equal(backend_config_policy_name(SPLITVM__HOST_MEM_POLICY__POLICY_INTERLEAVE),
	                    "interleave");
	assert_string_equal(backend_config_policy_name((Splitvm__HostMemPolicy)-1), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted_forms),
		cmocka_unit_test(test_parsed_values),
		cmocka_unit_test(test_refused_forms),
		cmocka_unit_test(test_from_opts_with_type),
		cmocka_unit_test(test_validate_hand_built),
		cmocka_unit_test(test_id_rule),
		cmocka_unit_test(test_format_and_copy),
		cmocka_unit_test(test_names),
	};

	log_init("test/backend_config");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
