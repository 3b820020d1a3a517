/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NVDIMMs as QEMU's pc machine presents them (hw/acpi/nvdimm.c, ACPI 6.x
 * 5.2.25 and 9.20; Intel's NVDIMM DSM Interface revision 1):
 *
 *   - the NFIT: per NVDIMM a System Physical Address Range structure (the
 *     PM region GUID, proximity domain, range, WB|NV), a Memory Device to
 *     SPA Range Map (handle slot + 1, NOT_ARMED when unarmed=on) and an
 *     NVDIMM Control Region (Intel 0x8086/1, format interface code 0x301,
 *     serial 0x123456 + slot): QEMU's bytes, so Linux's nfit driver sees
 *     the same machine;
 *   - in the DSDT, \_SB.NVDR (_HID ACPI0012) with QEMU's common method NCAL
 *     and an NVxx device per DIMM slot whose _DSM calls it;
 *   - the _DSM data path: NCAL writes handle, revision, function and arg3
 *     into the DSM page (MEMA) and the page's address to port 0x0a18.  The
 *     core copies the page out of guest memory (the guest may change it
 *     meanwhile), answers the root device's calls and unknown handles
 *     itself, as QEMU does, and sends an NVDIMM's call to its device
 *     process as opaque bytes: only that process parses the label
 *     functions.  The answer, checked for its length, is written over the
 *     page, where NCAL reads RLEN and ODAT.
 *
 * QEMU's firmware allocates the DSM page; splitvm has no firmware, so the
 * page is a fixed one in the e820-reserved ACPI area (NFIT_DSM_PAGE_GPA).
 * QEMU's Read FIT (_FIT, handle 0x10000) is not built: the NFIT is static
 * (no NVDIMM hotplug), and without _FIT the guest reads the NFIT table.
 */
#include "le.h"
#include "nfit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "splitvm_proto.h"

/* DSM statuses the core answers itself (the device process has its own). */
#define DSM_STATUS_UNSUPPORTED 1u
#define DSM_STATUS_NOMEMDEV    2u
#define DSM_STATUS_HW_ERROR    4u
#define DSM_STATUS_RETRY       5u /* the nvdimm's process did not answer in time */

/* ---- config ---------------------------------------------------------------- */

static bool slot_named(const Splitvm__VmConfig *vm, uint32_t slot)
{
	for (size_t i = 0; i < vm->n_devices; i++) {
		const Splitvm__DeviceConfig *d = vm->devices[i];

		if ((d->model == SPLITVM__DEVICE_MODEL__MODEL_DIMM ||
		     d->model == SPLITVM__DEVICE_MODEL__MODEL_NVDIMM) &&
		    d->slot >= 0 && (uint32_t)d->slot == slot)
			return true;
	}
	return false;
}

int nfit_config_from_vm(struct core_config *cfg, const Splitvm__VmConfig *vm,
                        struct core_cfg_err *err)
{
	cfg->n_nvdimm = 0;
	for (size_t i = 0; i < vm->n_devices; i++) {
		const Splitvm__DeviceConfig *d = vm->devices[i];
		struct core_nvdimm_cfg *n;
		uint32_t slot;

		if (d->model != SPLITVM__DEVICE_MODEL__MODEL_NVDIMM)
			continue;
		if (cfg->n_nvdimm >= CORE_MAX_NVDIMM)
			return core_cfg_fail(err, "devices", "more than %u NVDIMMs",
			                     CORE_MAX_NVDIMM);
		if (!d->id || !d->id[0] || strlen(d->id) >= sizeof(n->id) || !d->memdev ||
		    !d->memdev[0] || strlen(d->memdev) >= MEMMAP_REGION_NAME_MAX)
			return core_cfg_fail(err, "devices.id",
			                     "an NVDIMM needs an id and a memdev of at most %d "
			                     "bytes",
			                     MEMMAP_REGION_NAME_MAX - 1);
		if (d->slot >= 0) {
			slot = (uint32_t)d->slot;
		} else {
			/* The lowest slot nobody names and no earlier NVDIMM took. */
			for (slot = 0; slot < cfg->slots; slot++) {
				bool taken = slot_named(vm, slot);

				for (unsigned k = 0; k < cfg->n_nvdimm && !taken; k++)
					taken = cfg->nvdimm[k].slot == slot;
				if (!taken)
					break;
			}
		}
		if (slot >= cfg->slots)
			return core_cfg_fail(err, "devices.slot",
			                     "nvdimm %s: no free DIMM slot (slots=%u)", d->id,
			                     cfg->slots);
		for (unsigned k = 0; k < cfg->n_nvdimm; k++) {
			if (cfg->nvdimm[k].slot == slot)
				return core_cfg_fail(err, "devices.slot",
				                     "nvdimm %s: slot %u is taken by %s", d->id,
				                     slot, cfg->nvdimm[k].id);
		}
		n = &cfg->nvdimm[cfg->n_nvdimm++];
		memset(n, 0, sizeof(*n));
		snprintf(n->id, sizeof(n->id), "%s", d->id);
		snprintf(n->memdev, sizeof(n->memdev), "%s", d->memdev);
		n->slot = slot;
		n->node = d->node >= 0 ? (uint32_t)d->node : 0;
		n->label_size = d->label_size;
		n->unarmed = d->unarmed;
	}
	return 0;
}

int nfit_reserve_slots(const struct core_config *cfg, struct acpi_hotplug *h)
{
	int r = 0;

	if (!cfg->n_nvdimm)
		return 0;
	if (!h) {
		log_warnx("nvdimm: the machine has no DIMM slots to hold them");
		return -EINVAL;
	}
	pthread_mutex_lock(&h->lock);
	for (unsigned i = 0; i < cfg->n_nvdimm && !r; i++) {
		struct mhp_slot *s;

		if (cfg->nvdimm[i].slot >= h->n_slots || h->slot[cfg->nvdimm[i].slot].used) {
			log_warnx("nvdimm %s: slot %u is out of range or taken", cfg->nvdimm[i].id,
			          cfg->nvdimm[i].slot);
			r = -EBUSY;
			break;
		}
		/* Held, never enabled: the controller's _STA shows nothing there. */
		s = &h->slot[cfg->nvdimm[i].slot];
		memset(s, 0, sizeof(*s));
		s->used = true;
	}
	pthread_mutex_unlock(&h->lock);
	return r;
}

/* ---- the NFIT --------------------------------------------------------------- */

/* A GUID's text into its 16 bytes, the first three fields little-endian. */
static void guid_bytes(const char *s, uint8_t out[16])
{
	static const int order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	uint8_t raw[16];
	unsigned n = 0;

	for (const char *p = s; *p && n < 32; p++) {
		unsigned v;

		if (*p == '-')
			continue;
		v = (unsigned)(*p >= 'a' ? *p - 'a' + 10 : *p >= 'A' ? *p - 'A' + 10 : *p - '0');
		if (n % 2 == 0)
			raw[n / 2] = (uint8_t)(v << 4);
		else
			raw[n / 2] |= (uint8_t)v;
		n++;
	}
	for (int i = 0; i < 16; i++)
		out[i] = raw[order[i]];
}

/* ACPI 6.0 5.2.25.1: byte-addressable persistent memory. */
#define NFIT_SPA_PM_GUID "66F0D379-B4F3-4074-AC43-0D3318B78CDB"

void nfit_table(struct aml *a, const struct nfit_region *r, unsigned n)
{
	uint8_t h[NFIT_HEADER_LEN];

	memset(h, 0, sizeof(h));
	memcpy(h, "NFIT", 4);
	h[8] = 1; /* revision */
	memcpy(h + 10, "SPLTVM", 6);
	memcpy(h + 16, "SPLITVM ", 8);
	put_le32(h + 24, 1);
	memcpy(h + 28, "SPVM", 4);
	put_le32(h + 32, 1);
	aml_bytes(a, h, sizeof(h));
	for (unsigned i = 0; i < n; i++) {
		uint8_t spa[NFIT_SPA_LEN], md[NFIT_MEMDEV_LEN], dcr[NFIT_DCR_LEN];
		uint32_t slot = r[i].slot;

		memset(spa, 0, sizeof(spa));
		put_le16(spa + 0, 0);
		put_le16(spa + 2, NFIT_SPA_LEN);
		put_le16(spa + 4, nfit_spa_index(slot));
		/* control region for hot add only; proximity domain valid */
		put_le16(spa + 6, 1 | 2);
		put_le32(spa + 12, r[i].node);
		guid_bytes(NFIT_SPA_PM_GUID, spa + 16);
		put_le64(spa + 32, r[i].gpa);
		put_le64(spa + 40, r[i].size);
		put_le64(spa + 48, 0x8ull | 0x8000ull); /* EFI_MEMORY_WB | EFI_MEMORY_NV */
		aml_bytes(a, spa, sizeof(spa));

		memset(md, 0, sizeof(md));
		put_le16(md + 0, 1);
		put_le16(md + 2, NFIT_MEMDEV_LEN);
		put_le32(md + 4, nfit_handle(slot));
		put_le16(md + 12, nfit_spa_index(slot));
		put_le16(md + 14, nfit_dcr_index(slot));
		put_le64(md + 16, r[i].size); /* region length; offset and DPA 0 */
		put_le16(md + 42, 1);         /* interleave ways */
		put_le16(md + 44, r[i].unarmed ? NFIT_ACPI_MEM_NOT_ARMED : 0);
		aml_bytes(a, md, sizeof(md));

		memset(dcr, 0, sizeof(dcr));
		put_le16(dcr + 0, 4);
		put_le16(dcr + 2, NFIT_DCR_LEN);
		put_le16(dcr + 4, nfit_dcr_index(slot));
		put_le16(dcr + 6, 0x8086); /* QEMU's: Intel, device 1, revision 1 */
		put_le16(dcr + 8, 1);
		put_le16(dcr + 10, 1);
		put_le32(dcr + 24, 0x123456 + slot); /* serial number */
		put_le16(dcr + 28, 0x301);           /* byte addressable, no energy backed */
		aml_bytes(a, dcr, sizeof(dcr));
	}
	if (a->err || a->len < NFIT_HEADER_LEN)
		return;
	put_le32(a->buf + 4, (uint32_t)a->len);
	a->buf[9] = 0;
	a->buf[9] = acpi_checksum(a->buf, a->len);
}

int nfit_build(const struct machine *m, struct aml *a)
{
	struct nfit_region r[CORE_MAX_NVDIMM];
	const struct core_config *cfg = m->cfg;

	if (!cfg->n_nvdimm)
		return 0;
	for (unsigned i = 0; i < cfg->n_nvdimm; i++) {
		const struct memmap_region *reg = NULL;

		for (unsigned k = 0; k < m->mm.n && !reg; k++)
			if (!strcmp(m->mm.r[k].name, cfg->nvdimm[i].memdev))
				reg = &m->mm.r[k];
		if (!reg) {
			log_warnx("nvdimm %s: memdev %s is not mapped: RegionMap it before the "
			          "first VcpusResume",
			          cfg->nvdimm[i].id, cfg->nvdimm[i].memdev);
			return -EINVAL;
		}
		r[i] = (struct nfit_region){ .slot = cfg->nvdimm[i].slot,
			                     .node = cfg->nvdimm[i].node,
			                     .gpa = reg->gpa,
			                     .size = reg->size,
			                     .unarmed = cfg->nvdimm[i].unarmed };
	}
	nfit_table(a, r, cfg->n_nvdimm);
	return a->err;
}

/* ---- the DSDT part ------------------------------------------------------------ */

/* Buffer (n) { bytes } */
static void aml_buffer(struct aml *a, const uint8_t *bytes, unsigned n)
{
	size_t mark;

	aml_byte(a, 0x11); /* BufferOp */
	mark = aml_pkg_begin(a);
	aml_integer(a, n);
	if (n)
		aml_bytes(a, bytes, n);
	aml_pkg_end(a, mark);
}

static void aml_touuid(struct aml *a, const char *guid)
{
	uint8_t b[16];

	guid_bytes(guid, b);
	aml_buffer(a, b, sizeof(b));
}

#define AML_LAND_OP        0x90
#define AML_LOR_OP         0x91
#define AML_LNOT_OP        0x92
#define AML_OBJECT_TYPE_OP 0x8e
#define AML_SIZEOF_OP      0x87
#define AML_INDEX_OP       0x88
#define AML_DEREFOF_OP     0x83
#define AML_MID_OP         0x9e

/* ACPI 6.0 9.20.1 and Intel's DSM interface: the root's and a DIMM's UUIDs. */
#define NVDIMM_ROOT_UUID   "2F10E7A4-9E91-11E4-89D3-123B93F75CBA"
#define NVDIMM_DEVICE_UUID "4309AC30-0D11-11E4-9191-0800200C9A66"

/*
 * QEMU's NCAL(uuid, revision, function, arg3, handle), without its branch
 * for the QEMU-internal Read FIT handle:
 *
 *   Local6 = MEMA; OperationRegions NPIO (the port) and NRAM (the page);
 *   Local0 = the UUID the handle expects (root or DIMM);
 *   If (Local6 == 0 || Arg0 != Local0) { return function 0 ? {0} : {1} }
 *   HDLE = Arg4; REVS = Arg1; FUNC = Arg2;
 *   If (ObjectType(Arg3) == Package && SizeOf(Arg3) == 1) { FARG = Arg3[0] }
 *   NTFI = Local6                      (the exit: the core fills the page)
 *   Local1 = RLEN - 4; Local5 = ODAT; Return (Mid (Local5, 0, Local1))
 */
static void ncal_method(struct aml *a)
{
	static const uint8_t zero = 0, unsupported = DSM_STATUS_UNSUPPORTED;
	size_t meth, fld, ifm, elm, inner;

	meth = aml_method_begin(a, "NCAL", 5, true);
	aml_store(a);
	aml_name(a, "MEMA");
	aml_local(a, 6);
	aml_operation_region(a, "NPIO", AML_SYSTEM_IO, NVDIMM_ACPI_IO_BASE, NVDIMM_ACPI_IO_LEN);
	/* OperationRegion (NRAM, SystemMemory, Local6, 0x1000): a run-time offset */
	aml_byte(a, 0x5b);
	aml_byte(a, 0x80);
	aml_name(a, "NRAM");
	aml_byte(a, AML_SYSTEM_MEMORY);
	aml_local(a, 6);
	aml_integer(a, NFIT_DSM_PAGE_LEN);

	fld = aml_field_begin(a, "NPIO", AML_FIELD_DWORD_ACC | AML_FIELD_PRESERVE);
	aml_named_field(a, "NTFI", NVDIMM_ACPI_IO_LEN * 8);
	aml_block_end(a, fld);
	fld = aml_field_begin(a, "NRAM", AML_FIELD_DWORD_ACC | AML_FIELD_PRESERVE);
	aml_named_field(a, "HDLE", 32);
	aml_named_field(a, "REVS", 32);
	aml_named_field(a, "FUNC", 32);
	aml_named_field(a, "FARG", (NFIT_DSM_PAGE_LEN - 12) * 8);
	aml_block_end(a, fld);
	fld = aml_field_begin(a, "NRAM", AML_FIELD_DWORD_ACC | AML_FIELD_PRESERVE);
	aml_named_field(a, "RLEN", 32);
	aml_named_field(a, "ODAT", (NFIT_DSM_PAGE_LEN - 4) * 8);
	aml_block_end(a, fld);

	/* If (Arg4 == 0) { Local0 = root UUID } Else { Local0 = DIMM UUID } */
	ifm = aml_if_begin(a);
	aml_lequal(a);
	aml_arg(a, 4);
	aml_integer(a, NFIT_ROOT_HANDLE);
	aml_store(a);
	aml_touuid(a, NVDIMM_ROOT_UUID);
	aml_local(a, 0);
	aml_block_end(a, ifm);
	elm = aml_else_begin(a);
	aml_store(a);
	aml_touuid(a, NVDIMM_DEVICE_UUID);
	aml_local(a, 0);
	aml_block_end(a, elm);

	/* If (LOr (LEqual (Local6, 0), LNot (LEqual (Arg0, Local0)))) */
	ifm = aml_if_begin(a);
	aml_op(a, AML_LOR_OP);
	aml_lequal(a);
	aml_local(a, 6);
	aml_integer(a, 0);
	aml_op(a, AML_LNOT_OP);
	aml_lequal(a);
	aml_arg(a, 0);
	aml_local(a, 0);
	inner = aml_if_begin(a);
	aml_lequal(a);
	aml_arg(a, 2);
	aml_integer(a, 0);
	aml_return(a);
	aml_buffer(a, &zero, 1); /* function 0: no function supported */
	aml_block_end(a, inner);
	aml_return(a);
	aml_buffer(a, &unsupported, 1);
	aml_block_end(a, ifm);

	aml_store(a);
	aml_arg(a, 4);
	aml_name(a, "HDLE");
	aml_store(a);
	aml_arg(a, 1);
	aml_name(a, "REVS");
	aml_store(a);
	aml_arg(a, 2);
	aml_name(a, "FUNC");

	/* If (LAnd (LEqual (ObjectType (Arg3), 4), LEqual (SizeOf (Arg3), 1))) */
	ifm = aml_if_begin(a);
	aml_op(a, AML_LAND_OP);
	aml_lequal(a);
	aml_op(a, AML_OBJECT_TYPE_OP);
	aml_arg(a, 3);
	aml_integer(a, 4); /* Package */
	aml_lequal(a);
	aml_op(a, AML_SIZEOF_OP);
	aml_arg(a, 3);
	aml_integer(a, 1);
	aml_store(a); /* Local2 = Index (Arg3, 0) */
	aml_op(a, AML_INDEX_OP);
	aml_arg(a, 3);
	aml_integer(a, 0);
	aml_null_target(a);
	aml_local(a, 2);
	aml_store(a); /* Local3 = DerefOf (Local2) */
	aml_op(a, AML_DEREFOF_OP);
	aml_local(a, 2);
	aml_local(a, 3);
	aml_store(a); /* FARG = Local3 */
	aml_local(a, 3);
	aml_name(a, "FARG");
	aml_block_end(a, ifm);

	/* The exit: the core answers into the page before this store returns. */
	aml_store(a);
	aml_local(a, 6);
	aml_name(a, "NTFI");

	aml_subtract(a); /* Local1 = RLEN - 4 (RLEN counts itself) */
	aml_name(a, "RLEN");
	aml_integer(a, 4);
	aml_local(a, 1);
	/*
	 * QEMU cuts the answer out of ODAT with CreateField; a field unit as
	 * CreateField's source makes iasl -d warn, so: Local5 = ODAT (a
	 * Buffer), Local7 = Mid (Local5, 0, Local1).
	 */
	aml_store(a);
	aml_name(a, "ODAT");
	aml_local(a, 5);
	aml_op(a, AML_MID_OP);
	aml_local(a, 5);
	aml_integer(a, 0);
	aml_local(a, 1);
	aml_local(a, 7);
	aml_return(a);
	aml_local(a, 7);
	aml_block_end(a, meth);
}

/* Method (_DSM, 4) { Return (NCAL (Arg0, Arg1, Arg2, Arg3, handle)) } */
static void dsm_method(struct aml *a, uint32_t handle)
{
	size_t meth = aml_method_begin(a, "_DSM", 4, false);

	aml_return(a);
	aml_name(a, "NCAL");
	for (unsigned i = 0; i < 4; i++)
		aml_arg(a, i);
	aml_integer(a, handle);
	aml_block_end(a, meth);
}

void nfit_dsdt(struct aml *a, unsigned n_slots, uint64_t page_gpa)
{
	size_t root;

	root = aml_device_begin(a, "NVDR");
	aml_name_decl(a, "_HID");
	aml_string(a, "ACPI0012");
	/* The DSM page; QEMU patches it in at boot, here it is fixed. */
	aml_name_decl(a, "MEMA");
	aml_byte(a, 0x0c); /* DWordPrefix always: the test guest finds it by its bytes */
	for (int i = 0; i < 4; i++)
		aml_byte(a, (uint8_t)(page_gpa >> (8 * i)));
	ncal_method(a);
	dsm_method(a, NFIT_ROOT_HANDLE);
	for (unsigned slot = 0; slot < n_slots; slot++) {
		char name[5];
		size_t dev;

		snprintf(name, sizeof(name), "NV%02X", slot & 0xff);
		dev = aml_device_begin(a, name);
		aml_name_decl(a, "_ADR");
		aml_integer(a, nfit_handle(slot));
		dsm_method(a, nfit_handle(slot));
		aml_block_end(a, dev);
	}
	aml_block_end(a, root);
}

/* ---- the _DSM port ------------------------------------------------------------ */

static struct log_ratelimit dsm_rl = LOG_RATELIMIT_INIT(5000, 10);

/* QEMU's NvdimmDsmFuncNoPayloadOut / NvdimmDsmFunc0Out: {8, value}. */
static size_t answer8(uint8_t *out, uint32_t value)
{
	put_le32(out, 8);
	put_le32(out + 4, value);
	return 8;
}

static const struct core_nvdimm_cfg *by_handle(const struct core_config *cfg, uint32_t handle)
{
	for (unsigned i = 0; i < cfg->n_nvdimm; i++)
		if (nfit_handle(cfg->nvdimm[i].slot) == handle)
			return &cfg->nvdimm[i];
	return NULL;
}

/* Copy between the guest page and @buf through the checked translation. */
static bool page_copy(struct machine *m, uint64_t gpa, void *buf, size_t len, bool to_guest)
{
	void *host;

	pthread_rwlock_rdlock(&m->mm_lock);
	host = memmap_gpa_to_host(&m->mm, gpa, len);
	if (host) {
		if (to_guest)
			memcpy(host, buf, len);
		else
			memcpy(buf, host, len);
	}
	pthread_rwlock_unlock(&m->mm_lock);
	return host != NULL;
}

void nfit_dsm_io(void *opaque, uint64_t addr, uint8_t *data, uint32_t len, bool is_write)
{
	struct machine *m = opaque;
	uint8_t *page, *out;
	uint64_t gpa;
	uint32_t handle, revision, function;
	const struct core_nvdimm_cfg *nv;
	size_t outlen = 0;
	int r;

	(void)addr;
	if (!is_write) {
		memset(data, 0, len); /* QEMU: "we never read _DSM IO Port" */
		return;
	}
	if (len != NVDIMM_ACPI_IO_LEN) {
		log_warnx_ratelimited(&dsm_rl,
		                      "nvdimm: %u-byte write to the _DSM port ignored "
		                      "(4 bytes only)",
		                      len);
		return;
	}
	gpa = get_le32(data);
	page = malloc(2 * NFIT_DSM_PAGE_LEN);
	if (!page) {
		log_warnx_ratelimited(&dsm_rl, "nvdimm: out of memory for a _DSM call");
		return;
	}
	out = page + NFIT_DSM_PAGE_LEN;
	/* Copied first: the guest may change the page while we work. */
	if (!page_copy(m, gpa, page, NFIT_DSM_PAGE_LEN, false)) {
		log_warnx_ratelimited(
		        &dsm_rl, "nvdimm: _DSM page 0x%" PRIx64 " is not guest RAM: ignored", gpa);
		free(page);
		return;
	}
	handle = get_le32(page);
	revision = get_le32(page + 4);
	function = get_le32(page + 8);
	nv = by_handle(m->cfg, handle);
	if (nv && m->devplane) {
		r = devplane_call(m->devplane, nv->id, page, NFIT_DSM_PAGE_LEN, out,
		                  NFIT_DSM_PAGE_LEN, &outlen, NFIT_DSM_TIMEOUT_MS);
		if (r == -ETIMEDOUT) {
			log_warnx_ratelimited(&dsm_rl,
			                      "nvdimm %s: its process did not answer a _DSM call "
			                      "within %d ms: 'retry suggested'",
			                      nv->id, NFIT_DSM_TIMEOUT_MS);
			outlen = answer8(out, DSM_STATUS_RETRY);
		} else if (r || outlen < 8 || get_le32(out) != outlen) {
			/* Never more than the page, never a length NCAL would misread. */
			log_warnx_ratelimited(&dsm_rl,
			                      "nvdimm %s: bad _DSM answer (%s, %zu bytes): 'HW "
			                      "error'",
			                      nv->id, r ? strerror(-r) : "length", outlen);
			outlen = answer8(out, DSM_STATUS_HW_ERROR);
		}
	} else if (revision != 1) {
		outlen = answer8(out, DSM_STATUS_UNSUPPORTED);
	} else if (handle == NFIT_ROOT_HANDLE || handle == NFIT_QEMU_ROOT_HANDLE || !nv) {
		/* The root supports function 0 alone; an empty slot the same, then NOMEMDEV. */
		if (function == 0)
			outlen = answer8(out, 0);
		else
			outlen = answer8(out, handle == NFIT_ROOT_HANDLE ||
			                                      handle == NFIT_QEMU_ROOT_HANDLE
			                              ? DSM_STATUS_UNSUPPORTED
			                              : DSM_STATUS_NOMEMDEV);
	} else {
		outlen = answer8(out, DSM_STATUS_HW_ERROR); /* an NVDIMM with no plane */
	}
	if (!page_copy(m, gpa, out, outlen, true))
		log_warnx_ratelimited(&dsm_rl, "nvdimm: _DSM page 0x%" PRIx64 " went away", gpa);
	free(page);
}
