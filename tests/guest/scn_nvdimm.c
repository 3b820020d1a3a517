/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scenario=nvdimm: the guest's half of tests/integration/test_nvdimm_label.sh.
 * It meets the NVDIMM as Linux's nfit driver does, without an AML
 * interpreter:
 *
 *   tables   RSDP -> XSDT (or RSDT) -> NFIT: the SPA range (persistent-
 *            memory GUID, page aligned, outside RAM), its memory-device map
 *            (handle slot + 1, NOT_ARMED exactly when nvdimm_unarmed=1) and
 *            the control region the map names (0x8086, code 0x301).  In the
 *            DSDT: Name(MEMA, DWord) (the DSM page) and NVxx's _ADR.
 *   _DSM     as QEMU's NCAL does it: handle, revision 1, function and arg3
 *            into the page, the page's address to port 0x0a18 (one 32-bit
 *            write, the exit), then RLEN and ODAT out of the page.
 *            Function 0 (0x71: label functions 4-6), Get Label Size
 *            (size, max transfer 4076), the label area written in chunks of
 *            the max transfer and read back; an out-of-range read and an
 *            over-long transfer get status 3, an unknown function status 1;
 *            with nvdimm_readonly=1 every Set Label Data gets status 1.
 *
 * Command line (all optional but the first):
 *   nvdimm_slot=N         the NVDIMM's slot (default 0)
 *   nvdimm_size=BYTES     the PMEM region's size the SPA range must have
 *   nvdimm_label_size=B   the label size Get Label Size must say
 *   nvdimm_unarmed=1      the map's flags must say NOT_ARMED
 *   nvdimm_readonly=1     label writes must be refused (status 1)
 *   nvdimm_seed=N         the patterns' seed (default 1)
 *   nvdimm_labels=write   write the label pattern, read it back (default)
 *                =check   the label area must hold it (a later boot)
 *   nvdimm_pmem=write     write the PMEM pattern, read it back (default)
 *              =check     the region must hold it
 *              =none      leave the region alone
 *   nvdimm_loop=1         after PASS's checks, label write/read rounds
 *                         until the power button (GED) powers off:
 *                         "nvdimm round N ok" every 20 rounds; a round
 *                         that fails (a lost call, status 5) is a FAIL.
 *
 * The patterns, which the host checks in the backend file:
 *   label: the 32-bit word i of the label area is label_word(seed, i);
 *   PMEM:  the 64-bit word at region offset k MiB (k < 64 and inside the
 *          region) is pmem_word(seed, k).
 */
#include "guest.h"

#define ACPI_HDR_LEN 36
#define FADT_DSDT    40
#define FADT_X_DSDT  140

#define NFIT_T_SPA    0
#define NFIT_T_MEMDEV 1
#define NFIT_T_DCR    4
#define NOT_ARMED     (1u << 3)

#define DSM_PORT     0x0a18
#define DSM_PAGE     4096u
#define DSM_ARG3     12u
#define DSM_MAX_XFER 4076u
#define ST_SUCCESS   0u
#define ST_UNSUPP    1u
#define ST_INVALID   3u

#define PMEM_STRIDE (1ul << 20)
#define PMEM_WORDS  64u
#define LOOP_CHUNK  256u

static const uint8_t pm_guid[16] = { 0x79, 0xd3, 0xf0, 0x66, 0xf3, 0xb4, 0x74, 0x40,
	                             0xac, 0x43, 0x0d, 0x33, 0x18, 0xb7, 0x8c, 0xdb };

static struct {
	uint32_t slot, handle;
	uint64_t seed;
	bool unarmed, readonly;
	uint64_t spa_base, spa_len;
	uint16_t md_flags;
	volatile uint8_t *page;
	uint64_t page_gpa;
	uint32_t label_size, max_xfer;
	uint64_t calls;
} nv;

static volatile uint32_t *pw; /* nv.page as words (the _DSM interface below) */

static inline void outl(uint16_t port, uint32_t v)
{
	/* "memory": the page's contents are the call, written before the exit. */
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static uint16_t rd16(const volatile uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const volatile uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const volatile uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* Both formulas are the host's too (test_nvdimm_label.sh, in awk and bash). */
static uint32_t label_word(uint64_t seed, uint32_t i)
{
	return (uint32_t)(i * 2654435761u + (uint32_t)seed);
}

static uint64_t pmem_word(uint64_t seed, uint64_t k)
{
	return k * 1000003ull + seed * 65536ull + 0x1234ull;
}

/* ---- ACPI tables ---------------------------------------------------------- */

/* A whole table at @addr with signature @sig, checksum right, or NULL. */
static const uint8_t *table_at(uint64_t addr, const char *sig, uint32_t *len)
{
	const uint8_t *h = guest_ptr(addr, ACPI_HDR_LEN), *t;
	uint8_t sum = 0;

	if (!h || memcmp(h, sig, 4))
		return NULL;
	*len = rd32(h + 4);
	if (*len < ACPI_HDR_LEN || *len > (16u << 20))
		return NULL;
	t = guest_ptr(addr, *len);
	if (!t)
		return NULL;
	for (uint32_t i = 0; i < *len; i++)
		sum = (uint8_t)(sum + t[i]);
	return sum ? NULL : t;
}

/* The table @sig that the RSDP's XSDT (else RSDT) lists, or NULL. */
static const uint8_t *find_table(uint64_t rsdp_addr, const char *sig, uint32_t *len)
{
	const uint8_t *rsdp = guest_ptr(rsdp_addr, 36), *root;
	uint32_t rlen, esz;
	bool x;

	if (!rsdp || memcmp(rsdp, "RSD PTR ", 8))
		return NULL;
	x = rsdp[15] >= 2 && rd64(rsdp + 24);
	root = x ? table_at(rd64(rsdp + 24), "XSDT", &rlen)
	         : table_at(rd32(rsdp + 16), "RSDT", &rlen);
	if (!root)
		return NULL;
	esz = x ? 8 : 4;
	for (uint32_t off = ACPI_HDR_LEN; off + esz <= rlen; off += esz) {
		uint64_t a = x ? rd64(root + off) : rd32(root + off);
		const uint8_t *h = guest_ptr(a, ACPI_HDR_LEN);

		if (h && !memcmp(h, sig, 4))
			return table_at(a, sig, len);
	}
	return NULL;
}

static const uint8_t *search(const uint8_t *p, const uint8_t *end, const void *pat, size_t n)
{
	for (; p + n <= end; p++)
		if (!memcmp(p, pat, n))
			return p;
	return NULL;
}

/* An AML integer at @p: ZeroOp, OneOp, Byte/Word/DWord/QWordPrefix. */
static int aml_int(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	unsigned n;

	if (p >= end)
		return -GERR_INVAL;
	if (p[0] == 0x00 || p[0] == 0x01) {
		*v = p[0];
		return 0;
	}
	n = p[0] == 0x0a ? 1 : p[0] == 0x0b ? 2 : p[0] == 0x0c ? 4 : p[0] == 0x0e ? 8 : 0;
	if (!n || p + 1 + n > end)
		return -GERR_INVAL;
	*v = 0;
	for (unsigned i = 0; i < n; i++)
		*v |= (uint64_t)p[1 + i] << (8 * i);
	return 0;
}

/* The NFIT's three structures for our handle, checked. */
static int check_nfit(const struct guest_boot *b)
{
	const uint8_t *t, *end, *p, *spa = NULL, *md = NULL, *dcr = NULL;
	uint32_t len;
	uint16_t spa_index = 0, dcr_index = 0;

	t = find_table(b->rsdp_addr, "NFIT", &len);
	if (!t)
		return fail("nvdimm: no valid NFIT listed from the RSDP at 0x%lx", b->rsdp_addr);
	end = t + len;
	/* Two passes: the map names the SPA range and control region by index. */
	for (p = t + 40; p + 4 <= end; p += rd16(p + 2)) {
		uint16_t type = rd16(p), slen = rd16(p + 2);

		if (slen < 4 || p + slen > end)
			return fail("nvdimm: NFIT structure at +%ld has length %u", (long)(p - t),
			            slen);
		if (type == NFIT_T_MEMDEV && slen >= 48 && rd32(p + 4) == nv.handle) {
			if (md)
				return fail("nvdimm: two maps for handle %u", nv.handle);
			md = p;
			spa_index = rd16(p + 12);
			dcr_index = rd16(p + 14);
		}
	}
	if (!md)
		return fail("nvdimm: the NFIT maps no device of handle %u (slot %u)", nv.handle,
		            nv.slot);
	for (p = t + 40; p + 4 <= end; p += rd16(p + 2)) {
		uint16_t type = rd16(p), slen = rd16(p + 2);

		if (type == NFIT_T_SPA && slen >= 56 && rd16(p + 4) == spa_index)
			spa = p;
		if (type == NFIT_T_DCR && slen >= 80 && rd16(p + 4) == dcr_index)
			dcr = p;
	}
	if (!spa || !dcr)
		return fail("nvdimm: handle %u's map names SPA %u / DCR %u, %s is missing",
		            nv.handle, spa_index, dcr_index, spa ? "the DCR" : "the SPA range");
	if (memcmp(spa + 16, pm_guid, 16))
		return fail("nvdimm: SPA range %u is not persistent memory", spa_index);
	nv.spa_base = rd64(spa + 32);
	nv.spa_len = rd64(spa + 40);
	if (!nv.spa_len || nv.spa_base % 4096 || nv.spa_len % 4096)
		return fail("nvdimm: SPA range 0x%lx+0x%lx is empty or not page aligned",
		            nv.spa_base, nv.spa_len);
	for (unsigned i = 0; i < b->e820_n; i++) {
		const struct e820_entry *e = &b->e820[i];

		if (e->type == E820_RAM && nv.spa_base < e->addr + e->size &&
		    e->addr < nv.spa_base + nv.spa_len)
			return fail("nvdimm: SPA range 0x%lx+0x%lx overlaps RAM 0x%lx+0x%lx",
			            nv.spa_base, nv.spa_len, e->addr, e->size);
	}
	if (rd64(md + 16) != nv.spa_len)
		return fail("nvdimm: the map's region length 0x%lx is not the SPA range's 0x%lx",
		            rd64(md + 16), nv.spa_len);
	nv.md_flags = rd16(md + 44);
	if (!!(nv.md_flags & NOT_ARMED) != nv.unarmed)
		return fail("nvdimm: map flags 0x%x, want NOT_ARMED %s", nv.md_flags,
		            nv.unarmed ? "set" : "clear");
	if (rd16(dcr + 6) != 0x8086 || rd16(dcr + 28) != 0x301)
		return fail("nvdimm: control region vendor 0x%x code 0x%x, want 0x8086 0x301",
		            rd16(dcr + 6), rd16(dcr + 28));
	return 0;
}

/* Name(MEMA, DWord) and NVxx's _ADR in the DSDT. */
static int check_dsdt(const struct guest_boot *b)
{
	static const uint8_t mema[] = { 0x08, 'M', 'E', 'M', 'A', 0x0c };
	const uint8_t *fadt, *dsdt, *end, *p;
	uint32_t flen, dlen;
	uint64_t addr, adr;
	char dev[4] = { 'N', 'V', 0, 0 };
	static const char hex[] = "0123456789ABCDEF";

	fadt = find_table(b->rsdp_addr, "FACP", &flen);
	if (!fadt || flen < FADT_X_DSDT + 8)
		return fail("nvdimm: no valid FADT");
	addr = rd64(fadt + FADT_X_DSDT);
	if (!addr)
		addr = rd32(fadt + FADT_DSDT);
	dsdt = table_at(addr, "DSDT", &dlen);
	if (!dsdt)
		return fail("nvdimm: no valid DSDT at 0x%lx", addr);
	end = dsdt + dlen;
	p = search(dsdt + ACPI_HDR_LEN, end, mema, sizeof(mema));
	if (!p || p + sizeof(mema) + 4 > end)
		return fail("nvdimm: the DSDT has no Name(MEMA, DWord)");
	nv.page_gpa = rd32(p + sizeof(mema));
	if (!nv.page_gpa || nv.page_gpa % 4096 || e820_in_ram(b, nv.page_gpa, DSM_PAGE))
		return fail("nvdimm: MEMA 0x%lx is not a reserved page", nv.page_gpa);
	nv.page = guest_ptr(nv.page_gpa, DSM_PAGE);
	pw = (volatile uint32_t *)nv.page;
	if (!nv.page)
		return fail("nvdimm: cannot map the DSM page 0x%lx", nv.page_gpa);
	/* Device (NVxx) { Name (_ADR, handle) ...: the name, then _ADR soon after. */
	dev[2] = hex[(nv.slot >> 4) & 0xf];
	dev[3] = hex[nv.slot & 0xf];
	p = search(dsdt + ACPI_HDR_LEN, end, dev, 4);
	if (!p)
		return fail("nvdimm: the DSDT has no device %.4s", dev);
	p = search(p, p + 16 < end ? p + 16 : end, "_ADR", 4);
	if (!p || aml_int(p + 4, end, &adr) || adr != nv.handle)
		return fail("nvdimm: %.4s has no _ADR of handle %u", dev, nv.handle);
	return 0;
}

/* ---- the _DSM interface --------------------------------------------------- */

/*
 * The page as 32-bit words, as NCAL's fields see it: in, HDLE REVS FUNC and
 * arg3 from word 3 (for the label functions: offset, length, data); out,
 * RLEN then the payload (status, data).  The test guest's instructions are
 * emulated one by one on kvm_pvm: words, never bytes, and no copies.
 */
#define PW_ARG3 3u
#define PW_DATA 5u /* Set Label Data's bytes */
#define PW_OUT  2u /* Get Label Data's bytes, after RLEN and the status */

/*
 * One call as NCAL makes it, with arg3 already in the page: the payload's
 * length (RLEN - 4) into *olen, at most @cap.  0, or 1 after a FAIL line.
 */
static int dsm(uint32_t handle, uint32_t function, uint32_t cap, uint32_t *olen)
{
	uint32_t rlen;

	pw[0] = handle;
	pw[1] = 1;
	pw[2] = function;
	outl(DSM_PORT, (uint32_t)nv.page_gpa);
	nv.calls++;
	rlen = pw[0];
	if (rlen < 8 || rlen > DSM_PAGE || rlen - 4 > cap)
		return fail("nvdimm: call %lu (handle %u function %u): RLEN %u", nv.calls, handle,
		            function, rlen);
	*olen = rlen - 4;
	return 0;
}

/* A call with arg3 (@a0, @a1) whose status must be @want. */
static int dsm_status(uint32_t function, uint32_t a0, uint32_t a1, uint32_t want, const char *what)
{
	uint32_t n;

	pw[PW_ARG3] = a0;
	pw[PW_ARG3 + 1] = a1;
	if (dsm(nv.handle, function, 16, &n))
		return 1;
	if (pw[1] != want)
		return fail("nvdimm: %s: status %u, want %u", what, pw[1], want);
	return 0;
}

/* Set Label Data of label_word(@seed, i) over [off, off + len). */
static int set_label(uint64_t seed, uint32_t off, uint32_t len)
{
	uint32_t n;

	pw[PW_ARG3] = off;
	pw[PW_ARG3 + 1] = len;
	for (uint32_t i = 0; i < len / 4; i++)
		pw[PW_DATA + i] = label_word(seed, off / 4 + i);
	if (dsm(nv.handle, 6, 16, &n))
		return 1;
	if (pw[1] != (nv.readonly ? ST_UNSUPP : ST_SUCCESS))
		return fail("nvdimm: Set Label Data 0x%x+0x%x: status %u%s", off, len, pw[1],
		            nv.readonly ? " (read-only: want 1)" : "");
	return 0;
}

/* Get Label Data of [off, off + len): it must be label_word(@seed, i). */
static int check_label(uint64_t seed, uint32_t off, uint32_t len, const char *when)
{
	uint32_t n;

	pw[PW_ARG3] = off;
	pw[PW_ARG3 + 1] = len;
	if (dsm(nv.handle, 5, DSM_PAGE, &n))
		return 1;
	if (pw[1] != ST_SUCCESS || n != 4 + len)
		return fail("nvdimm: Get Label Data 0x%x+0x%x: status %u, %u bytes", off, len,
		            pw[1], n);
	for (uint32_t i = 0; i < len / 4; i++) {
		uint32_t got = pw[PW_OUT + i], want = label_word(seed, off / 4 + i);

		if (got != want)
			return fail("nvdimm: label word at 0x%x reads 0x%x, want 0x%x (%s)",
			            off + 4 * i, got, want, when);
	}
	return 0;
}

/* The whole label area, in chunks of the max transfer. */
static int labels_check(uint64_t seed, const char *when)
{
	for (uint32_t off = 0; off < nv.label_size; off += nv.max_xfer) {
		uint32_t len =
		        nv.label_size - off < nv.max_xfer ? nv.label_size - off : nv.max_xfer;

		if (check_label(seed, off, len, when))
			return 1;
	}
	return 0;
}

static int labels_write(uint64_t seed)
{
	for (uint32_t off = 0; off < nv.label_size; off += nv.max_xfer) {
		uint32_t len =
		        nv.label_size - off < nv.max_xfer ? nv.label_size - off : nv.max_xfer;

		if (set_label(seed, off, len))
			return 1;
	}
	return 0;
}

static int check_interface(uint64_t want_label)
{
	uint32_t n;

	/* Function 0: the label functions 4, 5 and 6 (QEMU's 0x71). */
	if (dsm(nv.handle, 0, 16, &n))
		return 1;
	if (n != 4 || pw[1] != 0x71)
		return fail("nvdimm: function 0 answers 0x%x (%u bytes), want 0x71", pw[1], n);
	if (dsm(nv.handle, 4, 16, &n))
		return 1;
	if (n != 12 || pw[1] != ST_SUCCESS)
		return fail("nvdimm: Get Label Size: status %u, %u bytes", pw[1], n);
	nv.label_size = pw[2];
	nv.max_xfer = pw[3];
	if (nv.max_xfer != DSM_MAX_XFER || nv.label_size < 128u * 1024 || nv.label_size % 4 ||
	    (want_label && nv.label_size != want_label))
		return fail("nvdimm: label size 0x%x, max transfer %u (want 0x%lx, %u)",
		            nv.label_size, nv.max_xfer, want_label, DSM_MAX_XFER);
	say("nvdimm: label size 0x%x, max transfer %u", nv.label_size, nv.max_xfer);

	/* QEMU's refusals: past the end, longer than the max transfer, wrapping. */
	if (dsm_status(5, nv.label_size - 4, 8, ST_INVALID, "Get Label Data past the end") ||
	    dsm_status(5, 0, nv.max_xfer + 4, ST_INVALID, "Get Label Data over the max transfer") ||
	    dsm_status(5, 0xfffffffcu, 8, ST_INVALID, "Get Label Data with a wrapping offset") ||
	    dsm_status(6, nv.label_size, 4, ST_INVALID, "Set Label Data past the end") ||
	    dsm_status(7, 0, 0, ST_UNSUPP, "function 7"))
		return 1;
	/* The root device: function 0 only. */
	if (dsm(0, 0, 16, &n))
		return 1;
	if (n != 4 || pw[1] != 0)
		return fail("nvdimm: the root's function 0 answers 0x%x", pw[1]);
	say("nvdimm: refusals as QEMU's");
	return 0;
}

/* ---- the PMEM region ------------------------------------------------------- */

static int pmem_pattern(bool write)
{
	volatile uint64_t *w;
	unsigned k;

	if (!guest_ptr(nv.spa_base, nv.spa_len))
		return fail("nvdimm: cannot map the region 0x%lx+0x%lx (%u physical address bits)",
		            nv.spa_base, nv.spa_len, mmu_phys_bits());
	for (k = 0; write && k < PMEM_WORDS && k * PMEM_STRIDE + 8 <= nv.spa_len; k++) {
		w = (volatile uint64_t *)(uintptr_t)(nv.spa_base + k * PMEM_STRIDE);
		*w = pmem_word(nv.seed, k);
	}
	for (k = 0; k < PMEM_WORDS && k * PMEM_STRIDE + 8 <= nv.spa_len; k++) {
		w = (volatile uint64_t *)(uintptr_t)(nv.spa_base + k * PMEM_STRIDE);
		if (*w != pmem_word(nv.seed, k))
			return fail("nvdimm: PMEM word at +0x%lx reads 0x%lx, want 0x%lx",
			            k * PMEM_STRIDE, *w, pmem_word(nv.seed, k));
	}
	say("nvdimm: PMEM pattern %s, %u words", write ? "written" : "found", k);
	return 0;
}

/* Rounds of a write and a read-back, each with data of its own. */
static int loop_rounds(void)
{
	uint32_t chunks = nv.label_size / LOOP_CHUNK;

	for (uint64_t r = 1;; r++) {
		uint32_t off = (uint32_t)(r % chunks) * LOOP_CHUNK;

		if (set_label(nv.seed + r, off, LOOP_CHUNK) ||
		    check_label(nv.seed + r, off, LOOP_CHUNK, "this round"))
			return 1;
		if (r % 20 == 0)
			say("nvdimm round %lu ok", r);
		(void)power_poll(); /* powers off on the button: no return */
	}
}

static int want_mode(const struct guest_boot *b, const char *key, const char *const *modes,
                     unsigned n, unsigned *out)
{
	size_t len;
	const char *v = cmdline_get(b, key, &len);

	*out = 0;
	if (!v)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		if (strlen(modes[i]) == len && !memcmp(v, modes[i], len)) {
			*out = i;
			return 0;
		}
	}
	return fail("%s= takes %s, %s%s%s", key, modes[0], modes[1], n > 2 ? " or " : "",
	            n > 2 ? modes[2] : "");
}

static int flag(const struct guest_boot *b, const char *key, bool *out)
{
	uint64_t v = 0;
	int err = cmdline_u64(b, key, &v);

	if ((err && err != -GERR_NOENT) || v > 1)
		return fail("%s= takes 0 or 1", key);
	*out = v;
	return 0;
}

static int nvdimm_run(const struct guest_boot *b)
{
	static const char *const label_modes[] = { "write", "check" };
	static const char *const pmem_modes[] = { "write", "check", "none" };
	uint64_t slot = 0, want_size = 0, want_label = 0;
	unsigned labels, pmem;
	bool loop = false;
	int err;

	err = cmdline_u64(b, "nvdimm_slot", &slot);
	if ((err && err != -GERR_NOENT) || slot > 255)
		return fail("nvdimm_slot= takes 0 to 255");
	nv.slot = (uint32_t)slot;
	nv.handle = nv.slot + 1;
	err = cmdline_u64(b, "nvdimm_size", &want_size);
	if (err && err != -GERR_NOENT)
		return fail("nvdimm_size= takes a size");
	err = cmdline_u64(b, "nvdimm_label_size", &want_label);
	if ((err && err != -GERR_NOENT) || want_label > 0xffffffffull)
		return fail("nvdimm_label_size= takes a size below 4 GiB");
	nv.seed = 1;
	err = cmdline_u64(b, "nvdimm_seed", &nv.seed);
	if ((err && err != -GERR_NOENT) || nv.seed >= (1ull << 31))
		return fail("nvdimm_seed= takes a number below 2^31");
	if (flag(b, "nvdimm_unarmed", &nv.unarmed) || flag(b, "nvdimm_readonly", &nv.readonly) ||
	    flag(b, "nvdimm_loop", &loop) ||
	    want_mode(b, "nvdimm_labels", label_modes, 2, &labels) ||
	    want_mode(b, "nvdimm_pmem", pmem_modes, 3, &pmem))
		return 1;
	if (!b->rsdp_addr)
		return fail("nvdimm: no RSDP: the loader gave no ACPI tables");

	if (check_nfit(b) || check_dsdt(b))
		return 1;
	if (want_size && nv.spa_len != want_size)
		return fail("nvdimm: SPA range of 0x%lx bytes, want 0x%lx", nv.spa_len, want_size);
	say("nvdimm: handle %u SPA 0x%lx+0x%lx flags 0x%x, DSM page 0x%lx", nv.handle, nv.spa_base,
	    nv.spa_len, nv.md_flags, nv.page_gpa);

	if (check_interface(want_label))
		return 1;
	if (labels == 0 && labels_write(nv.seed))
		return 1;
	/* Read-only: nothing was written, the area holds what an earlier boot wrote. */
	if (labels_check(nv.seed, labels == 0 && !nv.readonly ? "written now" : "earlier boot"))
		return 1;
	say("nvdimm: labels %s and read back, %lu calls",
	    labels == 0 && !nv.readonly ? "written" : "found", nv.calls);
	if (pmem != 2 && pmem_pattern(pmem == 0))
		return 1;
	if (loop) {
		if (power_init(b))
			return 1;
		say("nvdimm: label rounds until the power button");
		return loop_rounds();
	}
	return 0;
}

const struct guest_scenario scenario_nvdimm = {
	.name = "nvdimm",
	.run = nvdimm_run,
};
