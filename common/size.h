/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Size parsing the way the two front ends of splitvm spell sizes:
 *
 *   size_parse_qemu()     QEMU 7.2's qemu_strtosz()/qemu_strtosz_MiB() rules,
 *                         for -m, size=, maxmem=, requested-size=, ...
 *   size_parse_libvirt()  libvirt's <memory unit='...'>N</memory> rules
 *                         (virXPathULongLong + virScaleInteger).
 *
 * Both return 0 or one negative code of enum size_error; size_strerror()
 * turns it into a phrase without the field name, so that the caller, who
 * owns the name, writes "memory-backend-ram 'size': <phrase>".  *out is
 * written only on success.
 */
#ifndef SPLITVM_SIZE_H
#define SPLITVM_SIZE_H

#include <stddef.h>
#include <stdint.h>

#define SIZE_KIB (UINT64_C(1) << 10)
#define SIZE_MIB (UINT64_C(1) << 20)
#define SIZE_GIB (UINT64_C(1) << 30)
#define SIZE_TIB (UINT64_C(1) << 40)

enum size_error {
	SIZE_ERR_INVALID_ARG = -1,    /* caller bug: NULL pointer, bad default unit */
	SIZE_ERR_EMPTY = -2,          /* "" or only white space */
	SIZE_ERR_NOT_A_NUMBER = -3,   /* does not start with digits */
	SIZE_ERR_NEGATIVE = -4,       /* a '-' sign */
	SIZE_ERR_HEX_FRACTION = -5,   /* "0x1.8" */
	SIZE_ERR_EXPONENT = -6,       /* "1.5e3", "1e3" */
	SIZE_ERR_FRACTION_UNIT = -7,  /* "1.5" or "1.5B": a fraction of a byte */
	SIZE_ERR_UNKNOWN_SUFFIX = -8, /* "1Q" */
	SIZE_ERR_TRAILING = -9,       /* "1G junk", "1KiB" (QEMU spelling) */
	SIZE_ERR_OVERFLOW = -10,      /* result does not fit in 64 bits */
	SIZE_ERR_FRACTION = -11,      /* libvirt: "1.5" (integers only) */
	SIZE_ERR_UNKNOWN_UNIT = -12,  /* libvirt: unit='Q' */
	SIZE_ERR_TOO_LARGE = -13,     /* libvirt: above the caller's maximum */
};

/* The phrase for a code of enum size_error; "unknown error" for others. */
const char *size_strerror(int code);

/*
 * QEMU 7.2 (util/cutils.c do_strtosz), accepted forms:
 *   [ws][+]DIGITS[.DIGITS][SUFFIX]   decimal, optional fraction
 *   [ws][+]0xHEXDIGITS[SUFFIX]       hexadecimal, no fraction
 * SUFFIX is one of B K M G T P E in either case, binary multiples (K = 1024).
 * Without a suffix the number is in @default_unit: 1 (bytes, as qemu_strtosz
 * for size=) or SIZE_MIB (as qemu_strtosz_MiB for -m); any 1024^n up to
 * 2^60 is allowed, anything else is SIZE_ERR_INVALID_ARG.
 *
 * Rules kept from QEMU 7.2:
 *  - leading white space is skipped (strtoull does it); trailing white
 *    space is trailing junk;
 *  - a '+' sign is accepted, any '-' is refused;
 *  - a fraction needs a unit larger than a byte, from the suffix or from
 *    @default_unit: "1.5" is refused for size= but is 1.5 MiB for -m;
 *    a fraction of zero needs none: "1.0", "1." and "1.0B" are 1;
 *    "1.k" is 1 KiB;
 *  - a fraction is rounded to the nearest byte, halves upwards;
 *  - exponents ("1.5e3") and hexadecimal fractions ("0x1.8") are refused;
 *  - a suffix on a hexadecimal number ("0x10k") is accepted with the same
 *    deprecation warning QEMU 7.2 prints (log_warnx); note that B and E are
 *    hex digits there, so "0x1E" is 30;
 *  - the result must be below 2^64 (16E is refused); 7.2 has no other cap
 *    on the result of a fraction.
 * One deliberate difference: QEMU converts the fraction through a double;
 * this code does it with exact decimal arithmetic.  Results differ only for
 * fractions with more significant digits than a double holds: QEMU 7.2
 * takes "1.0000000000000000000001" as 1 byte and "15.99999999999999999999E"
 * as 15E (and hits undefined behaviour on ".9999999999999999"); here the
 * first is refused (a fraction of a byte) and the second overflows.
 * Every other case of tests/unit/test_size.c was checked against Debian's
 * qemu-system-x86_64 7.2.22 (-object memory-backend-ram,size=...).
 */
__attribute__((warn_unused_result)) int size_parse_qemu(const char *s, uint64_t default_unit,
                                                        uint64_t *out);

/*
 * Same, and on SIZE_ERR_TRAILING, SIZE_ERR_UNKNOWN_SUFFIX and
 * SIZE_ERR_EXPONENT *@end points at the first character not taken, so that
 * messages can quote what was understood ("trailing characters after
 * '1G'").  @end may be NULL; it is left alone on other results.
 */
__attribute__((warn_unused_result)) int size_parse_qemu_end(const char *s, uint64_t default_unit,
                                                            uint64_t *out, const char **end);

/*
 * libvirt (virXPathULongLong + virScaleInteger, libvirt 9.0): @value is a
 * decimal integer: leading white space and '+' as strtoull takes them, no
 * '-', no fraction, no unit, no trailing characters.  @unit, case-insensitive:
 *   NULL or ""              @default_scale (1024 for <memory>)
 *   b, byte, bytes          1
 *   k, KiB / m, MiB / ...   1024^n   (k m g t p e)
 *   KB, MB, GB, TB, PB, EB  1000^n
 * The scaled value may not exceed @max (SIZE_ERR_TOO_LARGE); pass UINT64_MAX
 * for no limit but 64 bits.
 */
__attribute__((warn_unused_result)) int size_parse_libvirt(const char *value, const char *unit,
                                                           uint64_t default_scale, uint64_t max,
                                                           uint64_t *out);

/* The longest size_format() output, with its NUL: "18446744073709551615B". */
#define SIZE_FMT_LEN 24

/*
 * Write @bytes exactly, with the largest binary suffix that divides it, in a
 * form size_parse_qemu() reads back: "1G", "512M", "4097K", "123B", "0B".
 * Returns @buf (cut to @len like snprintf; SIZE_FMT_LEN always suffices).
 */
const char *size_format(uint64_t bytes, char *buf, size_t len);

#endif
