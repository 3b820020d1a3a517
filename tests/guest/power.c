/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ACPI power button, the way a Linux guest meets it on a hardware-
 * reduced machine, without an AML interpreter:
 *
 *   tables     RSDP -> XSDT (or RSDT) -> FADT: its SLEEP_CONTROL_REG and
 *              SLEEP_STATUS_REG, and the DSDT.  In the DSDT, the SLP_TYP of
 *              \_S5 (Name(\_S5, Package(){ typ, ... })) and the GED's event
 *              register, OperationRegion(EREG, SystemMemory, base, len) as
 *              QEMU names it.
 *   button     the GED's _EVT reads ESEL (the read takes the events); the
 *              power-down bit (0x2, QEMU's ACPI_GED_PWR_DOWN_EVT) is
 *              Notify(\_SB.PWRB, 0x80), KEY_POWER for userspace, which
 *              asks the kernel to power off:
 *   power-off  acpi_hw_extended_sleep(): WAK_STS (0x80) to the status
 *              register, then SLP_TYP << 2 | SLP_EN (0x20) to the control
 *              register.  The machine ends there.
 *
 * The guest polls ESEL instead of taking GSI 9; its callers halt between
 * polls (guest_idle()).  power_button=ignore on the command line makes it a guest
 * whose userspace does nothing with the key: it says so and runs on.
 */
#include "guest.h"

#define FADT_DSDT         40
#define FADT_X_DSDT       140
#define FADT_SLEEP_CTL    244
#define FADT_SLEEP_STS    256
#define FADT_MIN_SLEEP    268 /* ACPI 5.0: both sleep registers */
#define ACPI_HDR_LEN      36
#define GAS_SYSTEM_MEMORY 0
#define GAS_SYSTEM_IO     1

#define SLP_TYP_SHIFT 2
#define SLP_TYP_MASK  0x1cu
#define SLP_EN        0x20u
#define WAK_STS       0x80u

/* Halts (about 1 ms each) to wait for the machine to stop after S5. */
#define POWER_OFF_WAIT 10000u

/* A Generic Address Structure of the FADT. */
struct gas {
	uint8_t space;
	uint8_t bits;
	uint64_t addr;
};

static struct {
	bool ready;
	bool ignore;
	uint8_t slp_typ;
	struct gas ctl, sts;
	volatile uint32_t *esel;
} pw;

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* A whole table at @addr with signature @sig (NULL: any), checksum right. */
static const uint8_t *table_at(uint64_t addr, const char *sig, uint32_t *len)
{
	const uint8_t *h = guest_ptr(addr, ACPI_HDR_LEN), *t;
	uint8_t sum = 0;

	if (!h || (sig && memcmp(h, sig, 4)))
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

static const uint8_t *find_fadt(uint64_t rsdp_addr, uint32_t *len)
{
	const uint8_t *rsdp = guest_ptr(rsdp_addr, 36), *root;
	bool x;
	uint32_t rlen, esz;

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

		if (h && !memcmp(h, "FACP", 4))
			return table_at(a, "FACP", len);
	}
	return NULL;
}

static struct gas gas_at(const uint8_t *p)
{
	return (struct gas){ .space = p[0], .bits = p[1], .addr = rd64(p + 4) };
}

/* An AML integer at @p (ZeroOp, OneOp, Byte/Word/DWord/QWordPrefix). */
static int aml_int(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	unsigned n;

	if (p >= end)
		return -GERR_INVAL;
	switch (p[0]) {
	case 0x00:
	case 0x01:
		*v = p[0];
		return 0;
	case 0x0a:
		n = 1;
		break;
	case 0x0b:
		n = 2;
		break;
	case 0x0c:
		n = 4;
		break;
	case 0x0e:
		n = 8;
		break;
	default:
		return -GERR_INVAL;
	}
	if (p + 1 + n > end)
		return -GERR_INVAL;
	*v = 0;
	for (unsigned i = 0; i < n; i++)
		*v |= (uint64_t)p[1 + i] << (8 * i);
	return 0;
}

/* The first @n-byte @pat in [p, end), or NULL. */
static const uint8_t *search(const uint8_t *p, const uint8_t *end, const void *pat, size_t n)
{
	for (; p + n <= end; p++)
		if (!memcmp(p, pat, n))
			return p;
	return NULL;
}

/* Name(\_S5, Package(N) { SLP_TYPa, ... }): SLP_TYPa. */
static int find_s5(const uint8_t *dsdt, uint32_t len, uint8_t *typ)
{
	const uint8_t *end = dsdt + len, *p = dsdt + ACPI_HDR_LEN;
	uint64_t v;

	while ((p = search(p, end, "_S5_", 4))) {
		const uint8_t *q = p + 4;

		/* NameOp, maybe the root prefix, the name, then PackageOp. */
		if (p - dsdt >= ACPI_HDR_LEN + 1 &&
		    (p[-1] == 0x08 || (p[-1] == '\\' && p[-2] == 0x08)) && q < end &&
		    q[0] == 0x12) {
			q++;
			if (q >= end)
				break;
			q += 1 + (q[0] >> 6); /* PkgLength: its lead byte says how long */
			q++;                  /* NumElements */
			if (aml_int(q, end, &v) || v > 7)
				return -GERR_INVAL;
			*typ = (uint8_t)v;
			return 0;
		}
		p += 4;
	}
	return -GERR_NOENT;
}

/* OperationRegion(EREG, SystemMemory, base, len): the GED's selector. */
static int find_ged(const uint8_t *dsdt, uint32_t len, uint64_t *base)
{
	static const uint8_t op[] = { 0x5b, 0x80, 'E', 'R', 'E', 'G', GAS_SYSTEM_MEMORY };
	const uint8_t *end = dsdt + len, *p = search(dsdt + ACPI_HDR_LEN, end, op, sizeof(op));

	if (!p)
		return -GERR_NOENT;
	return aml_int(p + sizeof(op), end, base);
}

static void gas_write(const struct gas *g, uint8_t v)
{
	if (!g->addr)
		return;
	if (g->space == GAS_SYSTEM_IO)
		outb((uint16_t)g->addr, v);
	else
		*(volatile uint8_t *)guest_ptr(g->addr, 1) = v;
}

int power_init(const struct guest_boot *b)
{
	const uint8_t *fadt, *dsdt;
	uint32_t flen, dlen;
	uint64_t dsdt_addr, ged;
	size_t n;
	const char *v = cmdline_get(b, "power_button", &n);

	if (v && n == 6 && !memcmp(v, "ignore", 6))
		pw.ignore = true;
	else if (v && !(n == 3 && !memcmp(v, "act", 3)))
		return fail("power_button= takes act or ignore");
	if (!b->rsdp_addr) {
		say("power button: no ACPI tables, not watched");
		return 0;
	}
	fadt = find_fadt(b->rsdp_addr, &flen);
	if (!fadt)
		return fail("power button: no valid FADT from the RSDP at 0x%lx", b->rsdp_addr);
	if (flen < FADT_MIN_SLEEP)
		return fail("power button: FADT of %u bytes has no sleep registers", flen);
	pw.ctl = gas_at(fadt + FADT_SLEEP_CTL);
	pw.sts = gas_at(fadt + FADT_SLEEP_STS);
	if (!pw.ctl.addr || (pw.ctl.space != GAS_SYSTEM_IO && pw.ctl.space != GAS_SYSTEM_MEMORY) ||
	    pw.ctl.bits != 8)
		return fail("power button: SLEEP_CONTROL_REG space %u width %u at 0x%lx is not an "
		            "8-bit register",
		            pw.ctl.space, pw.ctl.bits, pw.ctl.addr);
	dsdt_addr = rd64(fadt + FADT_X_DSDT);
	if (!dsdt_addr)
		dsdt_addr = rd32(fadt + FADT_DSDT);
	dsdt = table_at(dsdt_addr, "DSDT", &dlen);
	if (!dsdt)
		return fail("power button: no valid DSDT at 0x%lx", dsdt_addr);
	if (find_s5(dsdt, dlen, &pw.slp_typ))
		return fail("power button: the DSDT has no readable \\_S5");
	if (find_ged(dsdt, dlen, &ged) || ged >= (1ull << 32))
		return fail("power button: the DSDT has no GED register region EREG");
	pw.esel = guest_ptr(ged, 4);
	if (!pw.esel)
		return fail("power button: cannot map the GED at 0x%lx", ged);
	pw.ready = true;
	say("power button: GED at 0x%lx, S5 is SLP_TYP %u%s", ged, pw.slp_typ,
	    pw.ignore ? ", presses ignored" : "");
	return 0;
}

__attribute__((noreturn)) static void power_off(void)
{
	say("power button: powering off (S5)");
	gas_write(&pw.sts, WAK_STS);
	gas_write(&pw.ctl, (uint8_t)(((pw.slp_typ << SLP_TYP_SHIFT) & SLP_TYP_MASK) | SLP_EN));
	/* The machine stops on the write; a core that ignored it is a failure. */
	for (unsigned int i = 0; i < POWER_OFF_WAIT; i++)
		guest_idle();
	fail("power button: still running after the write to the sleep control register");
	guest_exit(1);
}

uint32_t power_poll(void)
{
	uint32_t ev;

	if (!pw.ready)
		return 0;
	ev = *pw.esel;
	if (ev == 0xffffffffu)
		return 0; /* an empty bus, not a GED */
	if (ev & GED_PWR_DOWN_EVT) {
		say("power button pressed");
		if (!pw.ignore)
			power_off();
		say("power button ignored (power_button=ignore)");
	}
	return ev & ~GED_PWR_DOWN_EVT;
}
