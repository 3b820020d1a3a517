/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The few library functions the guest and the compiler need.  The memory
 * functions use string instructions: a C loop could be turned back into a
 * call to itself by the compiler's loop-pattern pass.  They move 8 bytes a
 * step where they can: on kvm_pvm every step of a rep prefix is emulated
 * (about 0.7 us each).
 */
#include "guest.h"

void *memset(void *s, int c, size_t n)
{
	uint64_t pattern = (uint8_t)c * 0x0101010101010101ull;
	size_t words = n / 8, bytes = n % 8;
	void *d = s;

	__asm__ volatile("rep stosq" : "+D"(d), "+c"(words) : "a"(pattern) : "memory");
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(bytes) : "a"(pattern) : "memory");
	return s;
}

void *memcpy(void *restrict d, const void *restrict s, size_t n)
{
	size_t words = n / 8, bytes = n % 8;
	void *dd = d;

	__asm__ volatile("rep movsq" : "+D"(dd), "+S"(s), "+c"(words) : : "memory");
	__asm__ volatile("rep movsb" : "+D"(dd), "+S"(s), "+c"(bytes) : : "memory");
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	if (dp <= sp || dp >= sp + n)
		return memcpy(d, s, n);
	/* Overlap with the destination above: copy backwards. */
	dp += n - 1;
	sp += n - 1;
	__asm__ volatile("std\n\trep movsb\n\tcld" : "+D"(dp), "+S"(sp), "+c"(n) : : "memory");
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *pa = a, *pb = b;

	for (size_t i = 0; i < n; i++) {
		if (pa[i] != pb[i])
			return pa[i] < pb[i] ? -1 : 1;
	}
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

static int digit_value(char c, unsigned int base)
{
	unsigned int v;

	if (c >= '0' && c <= '9')
		v = (unsigned int)(c - '0');
	else if (c >= 'a' && c <= 'f')
		v = (unsigned int)(c - 'a' + 10);
	else if (c >= 'A' && c <= 'F')
		v = (unsigned int)(c - 'A' + 10);
	else
		return -1;
	return v < base ? (int)v : -1;
}

int parse_u64(const char *s, size_t len, uint64_t *out)
{
	unsigned int base = 10, shift = 0;
	uint64_t v = 0;
	size_t i = 0;

	if (len > 0) {
		switch (s[len - 1]) {
		case 'K':
		case 'k':
			shift = 10;
			break;
		case 'M':
		case 'm':
			shift = 20;
			break;
		case 'G':
		case 'g':
			shift = 30;
			break;
		case 'T':
		case 't':
			shift = 40;
			break;
		default:
			break;
		}
		if (shift)
			len--;
	}
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		return -GERR_INVAL;
	for (; i < len; i++) {
		int d = digit_value(s[i], base);

		if (d < 0)
			return -GERR_INVAL;
		if (__builtin_mul_overflow(v, base, &v) ||
		    __builtin_add_overflow(v, (uint64_t)d, &v))
			return -GERR_RANGE;
	}
	if (shift && (v >> (64 - shift)) != 0)
		return -GERR_RANGE;
	*out = v << shift;
	return 0;
}
