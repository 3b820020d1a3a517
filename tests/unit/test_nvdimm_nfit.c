// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The core's NVDIMM ACPI parts (core/nfit.c) without KVM: the NFIT's bytes
 * (lengths, checksum, QEMU's indexes and handles, NOT_ARMED for unarmed),
 * the slot rule of nfit_config_from_vm(), the DSDT's NVDR/NVxx devices, and
 * the whole table set of a machine with two NVDIMMs from acpi_build().
 *
 * With --dump DIR it only writes that table set to DIR/<sig>.dat, for
 * tests/integration/test_nvdimm_acpi.sh to feed to iasl -d and acpiexec.
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

#include "nfit.h"
#include "splitvm_proto.h"

#define GIB_ (UINT64_C(1) << 30)

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static void test_nfit_bytes(void **state)
{
	static const uint8_t pm_guid[16] = { 0x79, 0xd3, 0xf0, 0x66, 0xf3, 0xb4, 0x74, 0x40,
		                             0xac, 0x43, 0x0d, 0x33, 0x18, 0xb7, 0x8c, 0xdb };
	const struct nfit_region r[2] = {
		{ .slot = 0, .node = 0, .gpa = 5 * GIB_, .size = 0x3fe0000, .unarmed = false },
		{ .slot = 3, .node = 1, .gpa = 6 * GIB_, .size = 0x8000000, .unarmed = true },
	};
	struct aml a;
	const uint8_t *p;

	(void)state;
	aml_init(&a);
	nfit_table(&a, r, 2);
	assert_int_equal(a.err, 0);
	assert_int_equal(a.len,
	                 NFIT_HEADER_LEN + 2 * (NFIT_SPA_LEN + NFIT_MEMDEV_LEN + NFIT_DCR_LEN));
	assert_memory_equal(a.buf, "NFIT", 4);
	assert_int_equal(le32(a.buf + 4), a.len);
	assert_int_equal(a.buf[8], 1);
	assert_int_equal(sum(a.buf, a.len), 0);
	for (unsigned i = 0; i < 2; i++) {
		uint32_t slot = r[i].slot;

		p = a.buf + NFIT_HEADER_LEN + i * (NFIT_SPA_LEN + NFIT_MEMDEV_LEN + NFIT_DCR_LEN);
		/* SPA range */
		assert_int_equal(le16(p), 0);
		assert_int_equal(le16(p + 2), NFIT_SPA_LEN);
		assert_int_equal(le16(p + 4), (slot + 1) << 1);
		assert_int_equal(le16(p + 6), 3);
		assert_int_equal(le32(p + 12), r[i].node);
		assert_memory_equal(p + 16, pm_guid, 16);
		assert_int_equal(le64(p + 32), r[i].gpa);
		assert_int_equal(le64(p + 40), r[i].size);
		assert_int_equal(le64(p + 48), 0x8008);
		/* memory device to SPA map */
		p += NFIT_SPA_LEN;
		assert_int_equal(le16(p), 1);
		assert_int_equal(le16(p + 2), NFIT_MEMDEV_LEN);
		assert_int_equal(le32(p + 4), slot + 1); /* handle = _ADR of NVxx */
		assert_int_equal(le16(p + 12), (slot + 1) << 1);
		assert_int_equal(le16(p + 14), ((slot + 1) << 1) + 1);
		assert_int_equal(le64(p + 16), r[i].size);
		assert_int_equal(le64(p + 24), 0);
		assert_int_equal(le64(p + 32), 0);
		assert_int_equal(le16(p + 42), 1);
		assert_int_equal(le16(p + 44), r[i].unarmed ? NFIT_ACPI_MEM_NOT_ARMED : 0);
		/* control region */
		p += NFIT_MEMDEV_LEN;
		assert_int_equal(le16(p), 4);
		assert_int_equal(le16(p + 2), NFIT_DCR_LEN);
		assert_int_equal(le16(p + 4), ((slot + 1) << 1) + 1);
		assert_int_equal(le16(p + 6), 0x8086);
		assert_int_equal(le16(p + 8), 1);
		assert_int_equal(le16(p + 10), 1);
		assert_int_equal(le32(p + 24), 0x123456 + slot);
		assert_int_equal(le16(p + 28), 0x301);
	}
	aml_free(&a);
}

/* A VmConfig of DIMMs and NVDIMMs: model and slot per device. */
static int slots_of(const int (*devs)[2], size_t n, uint32_t nslots, struct core_config *cfg,
                    struct core_cfg_err *err)
{
	Splitvm__DeviceConfig dc[8], *dp[8];
	Splitvm__VmConfig vm = SPLITVM__VM_CONFIG__INIT;
	char ids[8][8];

	for (size_t i = 0; i < n; i++) {
		splitvm__device_config__init(&dc[i]);
		snprintf(ids[i], sizeof(ids[i]), "d%zu", i);
		dc[i].id = ids[i];
		dc[i].memdev = ids[i];
		dc[i].model = devs[i][0] ? SPLITVM__DEVICE_MODEL__MODEL_NVDIMM
		                         : SPLITVM__DEVICE_MODEL__MODEL_DIMM;
		dc[i].slot = devs[i][1];
		dc[i].node = -1;
		dp[i] = &dc[i];
	}
	vm.devices = dp;
	vm.n_devices = n;
	memset(cfg, 0, sizeof(*cfg));
	cfg->slots = nslots;
	return nfit_config_from_vm(cfg, &vm, err);
}

static void test_slot_rule(void **state)
{
	/* {nvdimm?, slot}: DIMM slot 0 named, NVDIMM auto, NVDIMM slot 2, NVDIMM auto */
	static const int devs[][2] = { { 0, 0 }, { 1, -1 }, { 1, 2 }, { 1, -1 }, { 0, -1 } };
	static const int clash[][2] = { { 1, 1 }, { 1, 1 } };
	static const int full[][2] = { { 1, -1 }, { 1, -1 } };
	struct core_config cfg;
	struct core_cfg_err err = { .field = "", .text = "" };

	(void)state;
	assert_int_equal(slots_of(devs, 5, 4, &cfg, &err), 0);
	assert_int_equal(cfg.n_nvdimm, 3);
	assert_int_equal(cfg.nvdimm[0].slot, 1); /* 0 is the DIMM's */
	assert_int_equal(cfg.nvdimm[1].slot, 2);
	assert_int_equal(cfg.nvdimm[2].slot, 3); /* 2 is named later, but named */
	assert_string_equal(cfg.nvdimm[0].memdev, "d1");
	assert_int_equal(slots_of(clash, 2, 4, &cfg, &err), -EINVAL);
	assert_non_null(strstr(err.text, "slot 1 is taken"));
	assert_int_equal(slots_of(full, 2, 1, &cfg, &err), -EINVAL);
	assert_non_null(strstr(err.text, "no free DIMM slot"));
}

/* A machine of two NVDIMMs (slots 0 and 2 of 4), no KVM, no guest RAM. */
static void machine_two(struct machine *m, struct core_config *cfg)
{
	struct memmap_region reg;

	memset(cfg, 0, sizeof(*cfg));
	cfg->ram_size = GIB_;
	cfg->maxmem = 8 * GIB_;
	cfg->slots = 4;
	cfg->vcpus = 1;
	cfg->n_nvdimm = 2;
	snprintf(cfg->nvdimm[0].id, sizeof(cfg->nvdimm[0].id), "nv0");
	snprintf(cfg->nvdimm[0].memdev, sizeof(cfg->nvdimm[0].memdev), "pm0");
	cfg->nvdimm[1] = cfg->nvdimm[0];
	snprintf(cfg->nvdimm[1].id, sizeof(cfg->nvdimm[1].id), "nv1");
	snprintf(cfg->nvdimm[1].memdev, sizeof(cfg->nvdimm[1].memdev), "pm1");
	cfg->nvdimm[1].slot = 2;
	cfg->nvdimm[1].unarmed = true;
	memset(m, 0, sizeof(*m));
	m->cfg = cfg;
	assert_int_equal(memmap_init(&m->mm, cfg->ram_size, cfg->maxmem, cfg->slots), 0);
	memset(&reg, 0, sizeof(reg));
	snprintf(reg.name, sizeof(reg.name), "pm0");
	reg.kind = MEMMAP_DEVICE_MEMORY;
	reg.gpa = m->mm.devmem_base;
	reg.size = 0x3fe0000; /* 64 MiB less a 128 KiB label */
	reg.slot = -1;
	assert_int_equal(memmap_add(&m->mm, &reg), 0);
	snprintf(reg.name, sizeof(reg.name), "pm1");
	reg.gpa = m->mm.devmem_base + GIB_;
	assert_int_equal(memmap_add(&m->mm, &reg), 0);
}

static const uint8_t *find(const uint8_t *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (!memcmp(hay + i, needle, k))
			return hay + i;
	return NULL;
}

static void test_acpi_build(void **state)
{
	struct core_config cfg;
	struct acpi_blob b;
	struct machine *m = calloc(1, sizeof(*m));
	const uint8_t *nfit = NULL, *dsdt = NULL, *xsdt = NULL, *mema;
	size_t nfit_len = 0, dsdt_len = 0, xsdt_len = 0;

	(void)state;
	assert_non_null(m);
	machine_two(m, &cfg);
	assert_int_equal(acpi_build(m, &b), 0);
	for (unsigned i = 0; i < b.n; i++) {
		if (!strcmp(b.names[i], "NFIT"))
			nfit = b.tables[i], nfit_len = b.sizes[i];
		if (!strcmp(b.names[i], "DSDT"))
			dsdt = b.tables[i], dsdt_len = b.sizes[i];
		if (!strcmp(b.names[i], "XSDT"))
			xsdt = b.tables[i], xsdt_len = b.sizes[i];
	}
	assert_non_null(nfit);
	assert_non_null(dsdt);
	assert_int_equal(sum(nfit, nfit_len), 0);
	assert_int_equal(sum(dsdt, dsdt_len), 0);
	assert_non_null(xsdt);
	/* The XSDT points at the NFIT too: FACP, APIC, NFIT. */
	assert_int_equal(xsdt_len, 36 + 3 * 8);
	/* The second NVDIMM: slot 2, handle 3, its region, NOT_ARMED. */
	assert_int_equal(le32(nfit + NFIT_HEADER_LEN + 184 + NFIT_SPA_LEN + 4), 3);
	assert_int_equal(le64(nfit + NFIT_HEADER_LEN + 184 + 32), m->mm.devmem_base + GIB_);
	assert_int_equal(le16(nfit + NFIT_HEADER_LEN + 184 + NFIT_SPA_LEN + 44),
	                 NFIT_ACPI_MEM_NOT_ARMED);
	/* DSDT: the root device, every slot's NVxx, MEMA = the DSM page. */
	assert_non_null(find(dsdt, dsdt_len, "ACPI0012"));
	assert_non_null(find(dsdt, dsdt_len, "NCAL"));
	assert_non_null(find(dsdt, dsdt_len, "NV00"));
	assert_non_null(find(dsdt, dsdt_len, "NV03"));
	assert_null(find(dsdt, dsdt_len, "NV04"));
	mema = find(dsdt, dsdt_len, "MEMA\x0c");
	assert_non_null(mema);
	assert_int_equal(le32(mema + 5), NFIT_DSM_PAGE_GPA);
	acpi_blob_free(&b);
	free(m);
}

static void test_unmapped_memdev(void **state)
{
	struct core_config cfg;
	struct acpi_blob b;
	struct machine *m = calloc(1, sizeof(*m));

	(void)state;
	assert_non_null(m);
	machine_two(m, &cfg);
	snprintf(cfg.nvdimm[1].memdev, sizeof(cfg.nvdimm[1].memdev), "nowhere");
	assert_int_equal(acpi_build(m, &b), -EINVAL);
	assert_int_equal(b.n, 0);
	free(m);
}

static void test_no_nvdimm_no_nfit(void **state)
{
	struct core_config cfg;
	struct acpi_blob b;
	struct machine *m = calloc(1, sizeof(*m));

	(void)state;
	assert_non_null(m);
	machine_two(m, &cfg);
	cfg.n_nvdimm = 0;
	assert_int_equal(acpi_build(m, &b), 0);
	for (unsigned i = 0; i < b.n; i++) {
		assert_string_not_equal(b.names[i], "NFIT");
		if (!strcmp(b.names[i], "DSDT"))
			assert_null(find(b.tables[i], b.sizes[i], "ACPI0012"));
	}
	acpi_blob_free(&b);
	free(m);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nfit_bytes),        cmocka_unit_test(test_slot_rule),
		cmocka_unit_test(test_acpi_build),        cmocka_unit_test(test_unmapped_memdev),
		cmocka_unit_test(test_no_nvdimm_no_nfit),
	};

	if (argc == 3 && !strcmp(argv[1], "--dump")) {
		struct core_config cfg;
		struct acpi_blob b;
		struct machine *m = calloc(1, sizeof(*m));
		int r;

		if (!m)
			return 1;
		machine_two(m, &cfg);
		r = acpi_build(m, &b);
		if (!r)
			r = acpi_dump(&b, argv[2]);
		acpi_blob_free(&b);
		free(m);
		return r ? 1 : 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
