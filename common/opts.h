/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU-style option strings: "memory-backend-ram,id=mem1,size=1G,prealloc=on".
 *
 * The syntax is that of QEMU 7.2's QemuOpts (util/qemu-option.c,
 * opts_do_parse / get_opt_name_value / get_opt_value), as -object, -device
 * and -m of Debian's qemu-system-x86_64 7.2.22 read their arguments:
 *  - elements are separated by ','; an element is key=value;
 *  - a key runs to the first '=' or ','; a value runs to the next single
 *    ',', and ",," inside a value is a literal comma ("path=/a,,b" is "/a,b");
 *  - @implied_key ("qom-type" for -object, "driver" for -device, "size" for
 *    -m) names the first element when it has no '=' before its first ',':
 *    "memory-backend-ram,id=m" is qom-type=memory-backend-ram, and so is
 *    "qom-type=memory-backend-ram,id=m";
 *  - one trailing ',' is ignored ("size=1G," is fine), as in QEMU; "" is an
 *    empty list; a value may be empty ("append=");
 *  - an empty key is refused ("=1G", or ",size=1G" without an implied key),
 *    as QEMU refuses the parameter '';
 *  - a bare "flag" means flag=on and "noflag" means flag=off: QEMU 7.2 still
 *    accepts these short-form booleans and warns that they are deprecated;
 *    splitvm accepts them too and logs the same warning, so that command
 *    lines written for QEMU keep working.  The
 *    "no" is stripped from any bare element that starts with it, as QEMU
 *    does; an unknown property from a short form is reported by the name
 *    the user typed ("nodes"), not by the stripped one;
 *  - booleans are QEMU's qapi_bool_parse() spellings, case-sensitive:
 *    on/yes/true/y and off/no/false/n; nothing else;
 *  - "id" is an ordinary key here (QemuOpts lifts it out); opts_id_valid()
 *    checks QEMU's identifier rule;
 *  - "help" is an ordinary short form (help=on); the caller may look for it.
 * Rules of splitvm's own, stricter than QEMU:
 *  - a key given twice is refused ("duplicate property 'size'"); QEMU keeps
 *    the last one silently;
 *  - opts_get_u64() reads decimal and 0x-hex but refuses octal-looking
 *    leading zeros ("010"), where QEMU would silently read 8.
 *
 * Errors: functions return 0, -EINVAL for input that breaks a rule (with a
 * message in @err that names the property and the rule) or -ENOMEM.  @err
 * may be NULL.  The getters mark a key as used; opts_check_unused() then
 * names the first key that no getter asked for.
 */
#ifndef SPLITVM_OPTS_H
#define SPLITVM_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct opts;

struct opts_error {
	char msg[256];
};

/*
 * Parse @str.  @implied_key may be NULL.  On success *@out is a new list
 * that owns copies of every string; free it with opts_free().
 */
__attribute__((warn_unused_result)) int opts_parse(const char *str, const char *implied_key,
                                                   struct opts **out, struct opts_error *err);
void opts_free(struct opts *o);

/* The elements in the order given; @i < opts_count(). */
size_t opts_count(const struct opts *o);
const char *opts_key(const struct opts *o, size_t i);
const char *opts_value(const struct opts *o, size_t i);

/* The value of @key (marks it used), or NULL if absent. */
const char *opts_get(struct opts *o, const char *key);

/* Absent keys give @def.  Values are written only on success. */
__attribute__((warn_unused_result)) int opts_get_bool(struct opts *o, const char *key, bool def,
                                                      bool *out, struct opts_error *err);
/* A size_parse_qemu() size in bytes by default, as QEMU's size= options. */
__attribute__((warn_unused_result)) int opts_get_size(struct opts *o, const char *key, uint64_t def,
                                                      uint64_t *out, struct opts_error *err);
/* The same with another default unit: SIZE_MIB for -m's size. */
__attribute__((warn_unused_result)) int opts_get_size_unit(struct opts *o, const char *key,
                                                           uint64_t def, uint64_t default_unit,
                                                           uint64_t *out, struct opts_error *err);
/* A plain number (decimal or 0x-hex, no suffix) of at most @max. */
__attribute__((warn_unused_result)) int opts_get_u64(struct opts *o, const char *key, uint64_t def,
                                                     uint64_t max, uint64_t *out,
                                                     struct opts_error *err);

/*
 * -EINVAL with "<what>: unknown property 'sise'" for the first key no getter
 * asked for, else 0.
 */
__attribute__((warn_unused_result)) int opts_check_unused(const struct opts *o, const char *what,
                                                          struct opts_error *err);

/* QEMU's id_wellformed(): a letter, then letters, digits, '-', '.', '_'. */
bool opts_id_valid(const char *id);

#endif
