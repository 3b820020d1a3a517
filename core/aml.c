/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A tiny AML byte-code builder (ACPI 6.x, chapter 20), enough for the DSDT
 * of the core and, later, the virtio-mmio, memory-hotplug and GED devices.
 *
 * Objects with a PkgLength (Scope, Device, Method, Buffer, Package) are
 * written body first: *_begin() returns a mark, the caller appends the body,
 * and aml_block_end() inserts the PkgLength, now that the body's size is
 * known.  Errors are sticky (a->err), so a table is built with no check per
 * call and checked once at the end.
 */
#include "core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define AML_ZERO_OP           0x00
#define AML_ONE_OP            0x01
#define AML_NAME_OP           0x08
#define AML_BYTE_PREFIX       0x0a
#define AML_WORD_PREFIX       0x0b
#define AML_DWORD_PREFIX      0x0c
#define AML_STRING_PREFIX     0x0d
#define AML_QWORD_PREFIX      0x0e
#define AML_SCOPE_OP          0x10
#define AML_BUFFER_OP         0x11
#define AML_PACKAGE_OP        0x12
#define AML_METHOD_OP         0x14
#define AML_DUAL_NAME_PREFIX  0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_OP_PREFIX     0x5b
#define AML_DEVICE_OP         0x82 /* after the ext prefix */
#define AML_ROOT_CHAR         0x5c
#define AML_PARENT_CHAR       0x5e
#define AML_RETURN_OP         0xa4

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	aml_init(a);
}

static bool aml_reserve(struct aml *a, size_t more)
{
	size_t cap;
	uint8_t *p;

	if (a->err)
		return false;
	if (a->len + more <= a->cap)
		return true;
	cap = a->cap ? a->cap : 256;
	while (cap < a->len + more)
		cap *= 2;
	p = realloc(a->buf, cap);
	if (!p) {
		a->err = -ENOMEM;
		return false;
	}
	a->buf = p;
	a->cap = cap;
	return true;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (!aml_reserve(a, n))
		return;
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_insert(struct aml *a, size_t pos, const uint8_t *p, size_t n)
{
	if (pos > a->len || !aml_reserve(a, n))
		return;
	memmove(a->buf + pos + n, a->buf + pos, a->len - pos);
	memcpy(a->buf + pos, p, n);
	a->len += n;
}

size_t aml_pkg_begin(struct aml *a)
{
	return a->len;
}

/* PkgLength counts its own bytes: 1 byte up to 63, else 2-4 bytes. */
void aml_pkg_end(struct aml *a, size_t mark)
{
	size_t body = a->len - mark, total;
	uint8_t enc[4];
	size_t n;

	if (a->err)
		return;
	if (body + 1 <= 0x3f) {
		enc[0] = (uint8_t)(body + 1);
		n = 1;
	} else {
		for (n = 2; n <= 4; n++) {
			total = body + n;
			if (total < (1u << (4 + 8 * (n - 1))))
				break;
		}
		if (n > 4) {
			a->err = -E2BIG;
			return;
		}
		total = body + n;
		enc[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
		for (size_t i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	aml_insert(a, mark, enc, n);
}

static void name_seg(struct aml *a, const char *s, size_t len)
{
	char seg[4] = { '_', '_', '_', '_' };

	if (len == 0 || len > 4) {
		a->err = -EINVAL;
		return;
	}
	memcpy(seg, s, len);
	aml_bytes(a, seg, 4);
}

void aml_name(struct aml *a, const char *path)
{
	const char *p = path, *dot;
	unsigned segs = 0;

	while (*p == '\\' || *p == '^') {
		aml_byte(a, *p == '\\' ? AML_ROOT_CHAR : AML_PARENT_CHAR);
		p++;
	}
	if (!*p) {
		aml_byte(a, 0); /* NullName */
		return;
	}
	segs = 1;
	for (const char *q = p; *q; q++)
		segs += *q == '.';
	if (segs == 2) {
		aml_byte(a, AML_DUAL_NAME_PREFIX);
	} else if (segs > 2) {
		aml_byte(a, AML_MULTI_NAME_PREFIX);
		aml_byte(a, (uint8_t)segs);
	}
	while (*p) {
		dot = strchr(p, '.');
		if (!dot)
			dot = p + strlen(p);
		name_seg(a, p, (size_t)(dot - p));
		p = *dot ? dot + 1 : dot;
	}
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO_OP);
	} else if (v == 1) {
		aml_byte(a, AML_ONE_OP);
	} else if (v <= 0xff) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_byte(a, (uint8_t)v);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD_PREFIX);
		aml_byte(a, (uint8_t)v);
		aml_byte(a, (uint8_t)(v >> 8));
	} else if (v <= 0xffffffff) {
		aml_byte(a, AML_DWORD_PREFIX);
		for (int i = 0; i < 4; i++)
			aml_byte(a, (uint8_t)(v >> (8 * i)));
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		for (int i = 0; i < 8; i++)
			aml_byte(a, (uint8_t)(v >> (8 * i)));
	}
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

static unsigned hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	if (c >= 'A' && c <= 'F')
		return (unsigned)(c - 'A' + 10);
	if (c >= 'a' && c <= 'f')
		return (unsigned)(c - 'a' + 10);
	return 16;
}

/*
 * EISA id: three letters in 5 bits each (A = 1) and four hex digits, stored
 * byte-swapped as ACPI's EisaId() macro does.
 */
void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = 0;

	if (strlen(id) != 7) {
		a->err = -EINVAL;
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			a->err = -EINVAL;
			return;
		}
		v |= (uint32_t)(id[i] - 0x40) << (26 - 5 * i);
	}
	for (int i = 3; i < 7; i++) {
		unsigned h = hexval(id[i]);

		if (h > 15) {
			a->err = -EINVAL;
			return;
		}
		v |= (uint32_t)h << (4 * (6 - i));
	}
	aml_integer(a, __builtin_bswap32(v));
}

size_t aml_scope_begin(struct aml *a, const char *path)
{
	size_t mark;

	aml_byte(a, AML_SCOPE_OP);
	mark = aml_pkg_begin(a);
	aml_name(a, path);
	return mark;
}

size_t aml_device_begin(struct aml *a, const char *path)
{
	size_t mark;

	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	mark = aml_pkg_begin(a);
	aml_name(a, path);
	return mark;
}

size_t aml_method_begin(struct aml *a, const char *name, unsigned nargs, bool serialized)
{
	size_t mark;

	aml_byte(a, AML_METHOD_OP);
	mark = aml_pkg_begin(a);
	aml_name(a, name);
	aml_byte(a, (uint8_t)((nargs & 7) | (serialized ? 0x08 : 0)));
	return mark;
}

void aml_block_end(struct aml *a, size_t mark)
{
	aml_pkg_end(a, mark);
}

void aml_name_decl(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME_OP);
	aml_name(a, name);
}

void aml_return(struct aml *a)
{
	aml_byte(a, AML_RETURN_OP);
}

size_t aml_package_begin(struct aml *a, unsigned n)
{
	size_t mark;

	aml_byte(a, AML_PACKAGE_OP);
	mark = aml_pkg_begin(a);
	aml_byte(a, (uint8_t)n);
	return mark;
}

size_t aml_rt_begin(struct aml *a)
{
	aml_byte(a, AML_BUFFER_OP);
	return aml_pkg_begin(a);
}

/* End tag with checksum 0 ("no checksum"), then the BufferSize up front. */
void aml_rt_end(struct aml *a, size_t mark)
{
	struct aml size;
	size_t data;

	aml_byte(a, 0x79);
	aml_byte(a, 0x00);
	if (a->err)
		return;
	data = a->len - mark;
	aml_init(&size);
	aml_integer(&size, data);
	if (size.err)
		a->err = size.err;
	else
		aml_insert(a, mark, size.buf, size.len);
	aml_free(&size);
	aml_pkg_end(a, mark);
}

void aml_rt_io(struct aml *a, uint16_t base, uint8_t len)
{
	/* Decode16, min == max, alignment 1. */
	uint8_t d[8] = { 0x47,          0x01,
		         (uint8_t)base, (uint8_t)(base >> 8),
		         (uint8_t)base, (uint8_t)(base >> 8),
		         0x01,          len };

	aml_bytes(a, d, sizeof(d));
}

void aml_rt_irq_noflags(struct aml *a, unsigned irq)
{
	uint16_t mask = (uint16_t)(1u << (irq & 15));
	uint8_t d[3] = { 0x22, (uint8_t)mask, (uint8_t)(mask >> 8) };

	aml_bytes(a, d, sizeof(d));
}

void aml_rt_mem32_fixed(struct aml *a, uint32_t base, uint32_t len, bool rw)
{
	uint8_t d[12] = { 0x86, 0x09, 0x00, rw ? 0x01 : 0x00 };

	for (int i = 0; i < 4; i++) {
		d[4 + i] = (uint8_t)(base >> (8 * i));
		d[8 + i] = (uint8_t)(len >> (8 * i));
	}
	aml_bytes(a, d, sizeof(d));
}

void aml_rt_interrupt(struct aml *a, uint32_t gsi, bool level, bool active_low, bool shared)
{
	uint8_t d[9] = { 0x89, 0x06, 0x00 };

	/* Consumer; bit 1: edge; bit 2: active-low; bit 3: shared. */
	d[3] = (uint8_t)(0x01 | (level ? 0 : 0x02) | (active_low ? 0x04 : 0) | (shared ? 0x08 : 0));
	d[4] = 1;
	for (int i = 0; i < 4; i++)
		d[5 + i] = (uint8_t)(gsi >> (8 * i));
	aml_bytes(a, d, sizeof(d));
}

/* ---- terms for methods: the opcodes the hotplug AML needs --------------- */

#define AML_LOCAL0_OP             0x60
#define AML_ARG0_OP               0x68
#define AML_STORE_OP              0x70
#define AML_ADD_OP                0x72
#define AML_SUBTRACT_OP           0x74
#define AML_AND_OP                0x7b
#define AML_NOTIFY_OP             0x86
#define AML_CREATE_DWORD_FIELD_OP 0x8a
#define AML_LEQUAL_OP             0x93
#define AML_LLESS_OP              0x95
#define AML_TO_INTEGER_OP         0x99
#define AML_IF_OP                 0xa0
#define AML_ELSE_OP               0xa1
#define AML_WHILE_OP              0xa2
#define AML_MUTEX_OP              0x01 /* after the ext prefix */
#define AML_ACQUIRE_OP            0x23
#define AML_RELEASE_OP            0x27
#define AML_OPREGION_OP           0x80
#define AML_FIELD_OP              0x81

void aml_op(struct aml *a, uint8_t op)
{
	aml_byte(a, op);
}

void aml_local(struct aml *a, unsigned n)
{
	aml_byte(a, (uint8_t)(AML_LOCAL0_OP + (n & 7)));
}

void aml_arg(struct aml *a, unsigned n)
{
	aml_byte(a, (uint8_t)(AML_ARG0_OP + (n % 7)));
}

void aml_store(struct aml *a)
{
	aml_byte(a, AML_STORE_OP);
}

void aml_add(struct aml *a)
{
	aml_byte(a, AML_ADD_OP);
}

void aml_subtract(struct aml *a)
{
	aml_byte(a, AML_SUBTRACT_OP);
}

void aml_and(struct aml *a)
{
	aml_byte(a, AML_AND_OP);
}

void aml_lequal(struct aml *a)
{
	aml_byte(a, AML_LEQUAL_OP);
}

void aml_lless(struct aml *a)
{
	aml_byte(a, AML_LLESS_OP);
}

void aml_to_integer(struct aml *a)
{
	aml_byte(a, AML_TO_INTEGER_OP);
}

void aml_notify(struct aml *a)
{
	aml_byte(a, AML_NOTIFY_OP);
}

void aml_null_target(struct aml *a)
{
	aml_byte(a, 0x00); /* NullName: no target */
}

size_t aml_if_begin(struct aml *a)
{
	aml_byte(a, AML_IF_OP);
	return aml_pkg_begin(a);
}

size_t aml_else_begin(struct aml *a)
{
	aml_byte(a, AML_ELSE_OP);
	return aml_pkg_begin(a);
}

size_t aml_while_begin(struct aml *a)
{
	aml_byte(a, AML_WHILE_OP);
	return aml_pkg_begin(a);
}

void aml_mutex(struct aml *a, const char *name, uint8_t sync_level)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_MUTEX_OP);
	aml_name(a, name);
	aml_byte(a, sync_level & 0x0f);
}

void aml_acquire(struct aml *a, const char *mutex, uint16_t timeout)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_ACQUIRE_OP);
	aml_name(a, mutex);
	aml_byte(a, (uint8_t)timeout);
	aml_byte(a, (uint8_t)(timeout >> 8));
}

void aml_release(struct aml *a, const char *mutex)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_RELEASE_OP);
	aml_name(a, mutex);
}

void aml_operation_region(struct aml *a, const char *name, uint8_t space, uint64_t offset,
                          uint64_t len)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_OPREGION_OP);
	aml_name(a, name);
	aml_byte(a, space);
	aml_integer(a, offset);
	aml_integer(a, len);
}

size_t aml_field_begin(struct aml *a, const char *region, uint8_t flags)
{
	size_t mark;

	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_FIELD_OP);
	mark = aml_pkg_begin(a);
	aml_name(a, region);
	aml_byte(a, flags);
	return mark;
}

/*
 * A field element's bit count is a PkgLength-style encoding of the value
 * itself (it does not count its own bytes, unlike a package's).
 */
static void field_len(struct aml *a, uint32_t bits)
{
	if (bits <= 0x3f) {
		aml_byte(a, (uint8_t)bits);
	} else if (bits <= 0xfff) {
		aml_byte(a, (uint8_t)(0x40 | (bits & 0x0f)));
		aml_byte(a, (uint8_t)(bits >> 4));
	} else if (bits <= 0xfffff) {
		aml_byte(a, (uint8_t)(0x80 | (bits & 0x0f)));
		aml_byte(a, (uint8_t)(bits >> 4));
		aml_byte(a, (uint8_t)(bits >> 12));
	} else {
		a->err = -E2BIG;
	}
}

void aml_named_field(struct aml *a, const char *name, uint32_t bits)
{
	name_seg(a, name, strlen(name));
	field_len(a, bits);
}

void aml_reserved_field(struct aml *a, uint32_t bits)
{
	aml_byte(a, 0x00);
	field_len(a, bits);
}

void aml_create_dword_field(struct aml *a, const char *buf, unsigned index, const char *name)
{
	aml_byte(a, AML_CREATE_DWORD_FIELD_OP);
	aml_name(a, buf);
	aml_integer(a, index);
	aml_name(a, name);
}

/*
 * QWordMemory / DWordMemory (ACPI 6.x, 6.4.3.5): memory range, producer
 * flags 0 (positive decode), MinFixed and MaxFixed, cacheable read-write,
 * as QEMU's memory hotplug _CRS template declares them.
 */
void aml_rt_qword_memory(struct aml *a, uint64_t min, uint64_t max, uint64_t len)
{
	uint8_t d[46] = { 0x8a, 43, 0, 0x00, 0x0c, 0x03 };
	uint64_t v[5] = { 0, min, max, 0, len };

	for (int f = 0; f < 5; f++)
		for (int i = 0; i < 8; i++)
			d[6 + 8 * f + i] = (uint8_t)(v[f] >> (8 * i));
	aml_bytes(a, d, sizeof(d));
}

void aml_rt_dword_memory(struct aml *a, uint32_t min, uint32_t max, uint32_t len)
{
	uint8_t d[26] = { 0x87, 23, 0, 0x00, 0x0c, 0x03 };
	uint32_t v[5] = { 0, min, max, 0, len };

	for (int f = 0; f < 5; f++)
		for (int i = 0; i < 4; i++)
			d[6 + 4 * f + i] = (uint8_t)(v[f] >> (8 * i));
	aml_bytes(a, d, sizeof(d));
}
