/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Size parsing (size.h).  Character classes are spelled out instead of
 * <ctype.h> so that the result never depends on the locale.
 */
#include "size.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

#include "log.h"

static const char *const size_messages[] = {
	[-SIZE_ERR_INVALID_ARG] = "invalid argument (internal error)",
	[-SIZE_ERR_EMPTY] = "empty value",
	[-SIZE_ERR_NOT_A_NUMBER] = "not a number",
	[-SIZE_ERR_NEGATIVE] = "negative values are not allowed",
	[-SIZE_ERR_HEX_FRACTION] = "a hexadecimal number cannot have a fraction",
	[-SIZE_ERR_EXPONENT] = "exponents are not allowed",
	[-SIZE_ERR_FRACTION_UNIT] =
	        "a fraction needs a unit larger than a byte (K, M, G, T, P or E)",
	[-SIZE_ERR_UNKNOWN_SUFFIX] = "unknown unit suffix (use B, K, M, G, T, P or E)",
	[-SIZE_ERR_TRAILING] = "trailing characters after the number",
	[-SIZE_ERR_OVERFLOW] = "value does not fit in 64 bits (the largest is 16E minus 1 byte)",
	[-SIZE_ERR_FRACTION] = "fractions are not allowed (the value is an integer)",
	[-SIZE_ERR_UNKNOWN_UNIT] = "unknown unit (use b, bytes, k, KiB, KB, M, MiB, MB, G, GiB, "
	                           "GB, T, TiB, TB, P, PiB, PB, E, EiB or EB)",
	[-SIZE_ERR_TOO_LARGE] = "value too large",
};

const char *size_strerror(int code)
{
	unsigned int idx;

	if (code == 0)
		return "success";
	if (code > 0)
		return "unknown error";
	/* Negate in unsigned arithmetic: -INT_MIN would overflow. */
	idx = 0u - (unsigned int)code;
	if (idx >= sizeof(size_messages) / sizeof(size_messages[0]) || !size_messages[idx])
		return "unknown error";
	return size_messages[idx];
}

/* strtoull's white space in the C locale. */
static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char to_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* The value of a digit in bases up to 16, or -1. */
static int digit_value(char c)
{
	if (is_digit(c))
		return c - '0';
	c = to_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Take every digit of @base at *@pp, as strtoull does: on overflow all the
 * digits are still consumed, and the result is SIZE_ERR_OVERFLOW.
 */
static int parse_digits(const char **pp, unsigned int base, uint64_t *val)
{
	const char *p = *pp;
	bool overflow = false;
	uint64_t v = 0;
	int d;

	while ((d = digit_value(*p)) >= 0 && (unsigned int)d < base) {
		if (!overflow && (__builtin_mul_overflow(v, base, &v) ||
		                  __builtin_add_overflow(v, (uint64_t)d, &v)))
			overflow = true;
		p++;
	}
	*pp = p;
	*val = v;
	return overflow ? SIZE_ERR_OVERFLOW : 0;
}

/* QEMU's suffix_mul() with unit 1024, as a shift; -1 for no suffix. */
static int qemu_suffix_shift(char c)
{
	switch (to_lower(c)) {
	case 'b':
		return 0;
	case 'k':
		return 10;
	case 'm':
		return 20;
	case 'g':
		return 30;
	case 't':
		return 40;
	case 'p':
		return 50;
	case 'e':
		return 60;
	default:
		return -1;
	}
}

/* 1, 1024, 1024^2, ... 1024^6: the units a suffix can name. */
static bool qemu_unit_valid(uint64_t unit)
{
	int shift;

	for (shift = 0; shift <= 60; shift += 10) {
		if (unit == UINT64_C(1) << shift)
			return true;
	}
	return false;
}

/* What strtod would take as an exponent after the 'e': [+-]DIGIT. */
static bool exponent_follows(const char *p)
{
	if (*p == '+' || *p == '-')
		p++;
	return is_digit(*p);
}

/*
 * round(0.DIGITS * mul), halves upwards, exactly: multiply the decimal
 * fraction by @mul from its last digit to its first, as on paper.  The carry
 * out of the first digit is the integer part; the digit left in the first
 * place decides the rounding.  carry < mul <= 2^60 keeps t below 2^64.
 */
static uint64_t fraction_times(const char *digits, size_t n, uint64_t mul)
{
	uint64_t carry = 0, first = 0;
	size_t i;

	for (i = n; i-- > 0;) {
		uint64_t t = (uint64_t)(digits[i] - '0') * mul + carry;

		carry = t / 10;
		first = t % 10;
	}
	return carry + (first >= 5);
}

static bool all_zero(const char *digits, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (digits[i] != '0')
			return false;
	}
	return true;
}

int size_parse_qemu_end(const char *s, uint64_t default_unit, uint64_t *out, const char **end)
{
	const char *p, *q, *frac = NULL;
	size_t nfrac = 0;
	uint64_t val, mul, result;
	bool hex = false;
	int shift, ret;

	if (!s || !out || !qemu_unit_valid(default_unit))
		return SIZE_ERR_INVALID_ARG;

	p = s;
	while (is_space(*p))
		p++;
	if (*p == '\0')
		return SIZE_ERR_EMPTY;
	/* strtoull takes one sign; QEMU then refuses any '-' it consumed. */
	if (*p == '-')
		return is_digit(p[1]) ? SIZE_ERR_NEGATIVE : SIZE_ERR_NOT_A_NUMBER;
	if (*p == '+')
		p++;
	if (!is_digit(*p))
		return SIZE_ERR_NOT_A_NUMBER;

	/* Decimal first, as QEMU: only a zero followed by 'x' is hex. */
	q = p;
	ret = parse_digits(&q, 10, &val);
	if (ret < 0)
		return ret;
	if (val == 0 && (*q == 'x' || *q == 'X')) {
		hex = true;
		q = p;
		/* strtoull(,,16) takes the 0x prefix only before a hex digit. */
		if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && digit_value(p[2]) >= 0)
			q = p + 2;
		ret = parse_digits(&q, 16, &val);
		if (ret < 0)
			return ret;
		if (*q == '.')
			return SIZE_ERR_HEX_FRACTION;
	} else if (*q == '.') {
		/* "1.k" is fine: a '.' with no digits after it is skipped. */
		frac = ++q;
		while (is_digit(*q))
			q++;
		nfrac = (size_t)(q - frac);
		if (nfrac > 0 && (*q == 'e' || *q == 'E') && exponent_follows(q + 1)) {
			if (end)
				*end = q;
			return SIZE_ERR_EXPONENT;
		}
	}

	shift = qemu_suffix_shift(*q);
	if (shift >= 0) {
		/* "1e3": QEMU reads 1 EiB and then trailing "3"; name the real mistake. */
		if (to_lower(*q) == 'e' && exponent_follows(q + 1)) {
			if (end)
				*end = q;
			return SIZE_ERR_EXPONENT;
		}
		mul = UINT64_C(1) << shift;
		q++;
	} else {
		mul = default_unit;
	}

	if (*q != '\0') {
		if (end)
			*end = q;
		if (shift < 0 && is_alpha(*q) && q[1] == '\0')
			return SIZE_ERR_UNKNOWN_SUFFIX;
		return SIZE_ERR_TRAILING;
	}

	if (mul == 1) {
		/* "1.0" and "1.0B" are whole bytes; "1.5B" is not. */
		if (!all_zero(frac, nfrac))
			return SIZE_ERR_FRACTION_UNIT;
		result = val;
	} else {
		if (__builtin_mul_overflow(val, mul, &result))
			return SIZE_ERR_OVERFLOW;
		if (nfrac > 0 &&
		    __builtin_add_overflow(result, fraction_times(frac, nfrac, mul), &result))
			return SIZE_ERR_OVERFLOW;
	}

	if (hex && shift >= 0)
		log_warnx("using a multiplier suffix on hex numbers is deprecated: %s", s);
	*out = result;
	return 0;
}

int size_parse_qemu(const char *s, uint64_t default_unit, uint64_t *out)
{
	return size_parse_qemu_end(s, default_unit, out, NULL);
}

static bool ascii_caseeq(const char *a, const char *b)
{
	while (*a && to_lower(*a) == to_lower(*b)) {
		a++;
		b++;
	}
	return *a == '\0' && *b == '\0';
}

/* virScaleInteger's reading of the unit attribute. */
static int libvirt_scale(const char *unit, uint64_t default_scale, uint64_t *scale)
{
	uint64_t base, s = 1;
	int power;

	if (!unit || !*unit) {
		if (!default_scale)
			return SIZE_ERR_INVALID_ARG;
		*scale = default_scale;
		return 0;
	}
	if (ascii_caseeq(unit, "b") || ascii_caseeq(unit, "byte") || ascii_caseeq(unit, "bytes")) {
		*scale = 1;
		return 0;
	}
	if (unit[1] == '\0' || ascii_caseeq(unit + 1, "ib"))
		base = 1024;
	else if (to_lower(unit[1]) == 'b' && unit[2] == '\0')
		base = 1000;
	else
		return SIZE_ERR_UNKNOWN_UNIT;

	switch (to_lower(unit[0])) {
	case 'k':
		power = 1;
		break;
	case 'm':
		power = 2;
		break;
	case 'g':
		power = 3;
		break;
	case 't':
		power = 4;
		break;
	case 'p':
		power = 5;
		break;
	case 'e':
		power = 6;
		break;
	default:
		return SIZE_ERR_UNKNOWN_UNIT;
	}
	/* 1024^6 = 2^60 and 1000^6 = 10^18 both fit. */
	while (power-- > 0)
		s *= base;
	*scale = s;
	return 0;
}

int size_parse_libvirt(const char *value, const char *unit, uint64_t default_scale, uint64_t max,
                       uint64_t *out)
{
	const char *p;
	uint64_t val, scale;
	int ret;

	if (!out)
		return SIZE_ERR_INVALID_ARG;
	if (!value)
		return SIZE_ERR_EMPTY;

	p = value;
	while (is_space(*p))
		p++;
	if (*p == '\0')
		return SIZE_ERR_EMPTY;
	/* virStrToLong_ullp refuses a '-' where strtoull would wrap around. */
	if (*p == '-')
		return is_digit(p[1]) ? SIZE_ERR_NEGATIVE : SIZE_ERR_NOT_A_NUMBER;
	if (*p == '+')
		p++;
	if (!is_digit(*p))
		return SIZE_ERR_NOT_A_NUMBER;
	ret = parse_digits(&p, 10, &val);
	if (ret < 0)
		return ret;
	if (*p != '\0')
		return *p == '.' && is_digit(p[1]) ? SIZE_ERR_FRACTION : SIZE_ERR_TRAILING;

	ret = libvirt_scale(unit, default_scale, &scale);
	if (ret < 0)
		return ret;
	if (val != 0 && val > max / scale)
		return SIZE_ERR_TOO_LARGE;
	*out = val * scale;
	return 0;
}

const char *size_format(uint64_t bytes, char *buf, size_t len)
{
	static const char suffixes[] = "BKMGTPE";
	unsigned int i = 0;

	if (bytes != 0) {
		while (i < 6 && (bytes & 1023) == 0) {
			bytes >>= 10;
			i++;
		}
	}
	if (len > 0)
		snprintf(buf, len, "%" PRIu64 "%c", bytes, suffixes[i]);
	return buf;
}
