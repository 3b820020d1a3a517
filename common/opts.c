/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU-style option strings (opts.h).  The list is a small array: option
 * strings have a handful of elements, and lookups by key are linear.
 */
#include "opts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "size.h"

struct opts_entry {
	char *key;
	char *value;
	bool used;
	bool short_no; /* written as a bare "nokey" (short-form boolean) */
};

struct opts {
	struct opts_entry *entries;
	size_t count;
	size_t cap;
};

static int opts_fail(struct opts_error *err, const char *fmt, ...) LOG_PRINTF(2, 3);

static int opts_fail(struct opts_error *err, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int opts_nomem(struct opts_error *err)
{
	if (err)
		snprintf(err->msg, sizeof(err->msg), "out of memory");
	return -ENOMEM;
}

/*
 * QEMU's get_opt_value(): the value at *@pp runs to the first ',' that is
 * not doubled; ",," becomes ','.  *@pp is left on that ',' or on the NUL.
 */
static char *take_value(const char **pp)
{
	const char *p = *pp, *q;
	size_t n = 0;
	char *value, *w;

	for (q = p; *q; q++, n++) {
		if (*q == ',') {
			if (q[1] != ',')
				break;
			q++;
		}
	}
	value = malloc(n + 1);
	if (!value)
		return NULL;
	for (q = p, w = value; *q; q++) {
		if (*q == ',') {
			if (q[1] != ',')
				break;
			q++;
		}
		*w++ = *q;
	}
	*w = '\0';
	*pp = q;
	return value;
}

static struct opts_entry *opts_find(const struct opts *o, const char *key)
{
	size_t i;

	for (i = 0; i < o->count; i++) {
		if (strcmp(o->entries[i].key, key) == 0)
			return &o->entries[i];
	}
	return NULL;
}

/* Takes @key and @value: stored on success, freed on failure. */
static int opts_append(struct opts *o, char *key, char *value, bool short_no)
{
	struct opts_entry *e;

	if (o->count == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 8;

		e = realloc(o->entries, cap * sizeof(*e));
		if (!e) {
			free(key);
			free(value);
			return -ENOMEM;
		}
		o->entries = e;
		o->cap = cap;
	}
	o->entries[o->count++] = (struct opts_entry){
		.key = key,
		.value = value,
		.short_no = short_no,
	};
	return 0;
}

int opts_parse(const char *str, const char *implied_key, struct opts **out, struct opts_error *err)
{
	struct opts *o;
	const char *p;
	size_t elem;
	int ret;

	if (!str || !out)
		return opts_fail(err, "internal error: opts_parse() without a string");
	o = calloc(1, sizeof(*o));
	if (!o)
		return opts_nomem(err);

	for (p = str, elem = 1; *p; elem++) {
		size_t len = strcspn(p, "=,");
		bool short_form = false, short_no = false;
		char *key, *value;

		if (p[len] != '=' && elem == 1 && implied_key) {
			/* "memory-backend-ram,..." is qom-type=memory-backend-ram. */
			key = strdup(implied_key);
			value = take_value(&p);
		} else if (p[len] != '=') {
			/* A short-form boolean: "prealloc" or "noprealloc". */
			short_form = true;
			key = strndup(p, len);
			p += len;
			if (key && strncmp(key, "no", 2) == 0) {
				memmove(key, key + 2, len - 1);
				short_no = true;
			}
			value = strdup(short_no ? "off" : "on");
		} else {
			key = strndup(p, len);
			p += len + 1;
			value = take_value(&p);
		}
		if (!key || !value) {
			free(key);
			free(value);
			ret = opts_nomem(err);
			goto fail;
		}

		if (key[0] == '\0') {
			ret = opts_fail(err, "element %zu has an empty property name", elem);
			free(key);
			free(value);
			goto fail;
		}
		if (opts_find(o, key)) {
			ret = opts_fail(err, "duplicate property '%s'", key);
			free(key);
			free(value);
			goto fail;
		}
		if (short_form)
			log_warnx("short-form boolean option '%s%s' deprecated, use %s=%s instead",
			          short_no ? "no" : "", key, key, value);
		if (opts_append(o, key, value, short_no) < 0) {
			ret = opts_nomem(err);
			goto fail;
		}
		/* One ',' ends the element; a trailing one ends the list. */
		if (*p == ',')
			p++;
	}
	*out = o;
	return 0;

fail:
	opts_free(o);
	return ret;
}

void opts_free(struct opts *o)
{
	size_t i;

	if (!o)
		return;
	for (i = 0; i < o->count; i++) {
		free(o->entries[i].key);
		free(o->entries[i].value);
	}
	free(o->entries);
	free(o);
}

size_t opts_count(const struct opts *o)
{
	return o ? o->count : 0;
}

const char *opts_key(const struct opts *o, size_t i)
{
	return o && i < o->count ? o->entries[i].key : NULL;
}

const char *opts_value(const struct opts *o, size_t i)
{
	return o && i < o->count ? o->entries[i].value : NULL;
}

const char *opts_get(struct opts *o, const char *key)
{
	struct opts_entry *e;

	if (!o || !key)
		return NULL;
	e = opts_find(o, key);
	if (!e)
		return NULL;
	e->used = true;
	return e->value;
}

int opts_get_bool(struct opts *o, const char *key, bool def, bool *out, struct opts_error *err)
{
	static const char *const yes[] = { "on", "yes", "true", "y" };
	static const char *const no[] = { "off", "no", "false", "n" };
	const char *v = opts_get(o, key);
	size_t i;

	if (!v) {
		*out = def;
		return 0;
	}
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return opts_fail(
	        err, "property '%s': '%s' is not a boolean (use on/off, yes/no, true/false, y/n)",
	        key, v);
}

int opts_get_size_unit(struct opts *o, const char *key, uint64_t def, uint64_t default_unit,
                       uint64_t *out, struct opts_error *err)
{
	const char *v = opts_get(o, key), *end = NULL;
	uint64_t val;
	int ret;

	if (!v) {
		*out = def;
		return 0;
	}
	ret = size_parse_qemu_end(v, default_unit, &val, &end);
	switch (ret) {
	case 0:
		*out = val;
		return 0;
	case SIZE_ERR_EMPTY:
		return opts_fail(err, "property '%s': empty value, expected a size", key);
	case SIZE_ERR_TRAILING:
		return opts_fail(err, "property '%s': trailing characters after '%.*s'", key,
		                 (int)(end - v), v);
	case SIZE_ERR_UNKNOWN_SUFFIX:
		return opts_fail(err,
		                 "property '%s': unknown unit suffix '%c' in '%s' "
		                 "(use B, K, M, G, T, P or E)",
		                 key, *end, v);
	default:
		return opts_fail(err, "property '%s': '%s': %s", key, v, size_strerror(ret));
	}
}

int opts_get_size(struct opts *o, const char *key, uint64_t def, uint64_t *out,
                  struct opts_error *err)
{
	return opts_get_size_unit(o, key, def, 1, out, err);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int opts_get_u64(struct opts *o, const char *key, uint64_t def, uint64_t max, uint64_t *out,
                 struct opts_error *err)
{
	const char *v = opts_get(o, key), *p;
	unsigned int base = 10;
	bool overflow = false;
	uint64_t val = 0;
	int d;

	if (!v) {
		*out = def;
		return 0;
	}
	p = v;
	if (*p == '\0')
		return opts_fail(err, "property '%s': empty value, expected a number", key);
	if (*p == '-')
		return opts_fail(err, "property '%s': '%s': negative values are not allowed", key,
		                 v);
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	} else if (p[0] == '0' && p[1] >= '0' && p[1] <= '9') {
		return opts_fail(err,
		                 "property '%s': '%s': a leading zero is octal to QEMU; "
		                 "write the number without it",
		                 key, v);
	}
	if (*p == '\0')
		goto not_a_number;
	for (; *p; p++) {
		d = hex_digit(*p);
		if (d < 0 || (unsigned int)d >= base)
			goto not_a_number;
		if (!overflow && (__builtin_mul_overflow(val, base, &val) ||
		                  __builtin_add_overflow(val, (uint64_t)d, &val)))
			overflow = true;
	}
	if (overflow || val > max)
		return opts_fail(err, "property '%s': %s is above the maximum %llu", key, v,
		                 (unsigned long long)max);
	*out = val;
	return 0;

not_a_number:
	return opts_fail(err, "property '%s': '%s' is not a number (decimal or 0x hexadecimal)",
	                 key, v);
}

int opts_check_unused(const struct opts *o, const char *what, struct opts_error *err)
{
	size_t i;

	if (!o)
		return 0;
	for (i = 0; i < o->count; i++) {
		const struct opts_entry *e = &o->entries[i];

		if (!e->used)
			return opts_fail(err, "%s: unknown property '%s%s'",
			                 what ? what : "options", e->short_no ? "no" : "", e->key);
	}
	return 0;
}

bool opts_id_valid(const char *id)
{
	const char *p;

	if (!id || !((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z')))
		return false;
	for (p = id + 1; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_'))
			return false;
	}
	return true;
}
