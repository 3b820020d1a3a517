/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU's memory backend properties <-> Splitvm__BackendConfig.
 *
 * `-object memory-backend-ram,id=mem0,size=1G` and `object_add` become one
 * BackendConfig, validated as QEMU 7.2 validates the same properties
 * (backends/hostmem*.c), so that the supervisor and the core refuse a bad
 * backend before memsrv is asked.  Nothing here touches the host: whether a
 * NUMA node or a huge page size exists, or a file can be grown, is memsrv's
 * to find out.
 *
 * Defaults are QEMU's, filled in explicitly because proto3 booleans have no
 * presence: merge=on, dump=on, reserve=on for every type; share=on and
 * seal=on for memory-backend-memfd, share=off elsewhere.  Use
 * backend_config_init() before filling a config by hand.
 *
 * Where splitvm is stricter than QEMU, the header of each rule says so:
 * hugetlbsize without hugetlb=on is refused (QEMU ignores it), and a property
 * of another backend type is refused on a config that arrives already parsed.
 *
 * Errors: 0 or -EINVAL (-ENOMEM, -ENOSPC where said); *err names the
 * property in `field` and says the rule in `text`.
 */
#ifndef SPLITVM_BACKEND_CONFIG_H
#define SPLITVM_BACKEND_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.pb-c.h"

struct opts;

struct backend_config_error {
	char field[64]; /* the QEMU property name: "size", "mem-path", "qom-type" */
	char text[256]; /* "memory-backend-ram 'mem0': property 'size' ..." */
};

/* QEMU's MAX_NODES: host-nodes values are below it. */
#define BACKEND_CONFIG_MAX_NODES 128
/* Longest id splitvm accepts (QEMU has no limit; memfd names and logs do). */
#define BACKEND_CONFIG_ID_MAX 63

/* Reset @cfg to a fresh backend of @type with QEMU's defaults; strings empty. */
void backend_config_init(Splitvm__BackendConfig *cfg, Splitvm__BackendType type);

/*
 * Parse a QEMU option string, first key implied "qom-type":
 * "memory-backend-file,id=pm0,size=1G,mem-path=/dev/dax0.0,share=on".
 * host-nodes takes QEMU's list forms: "host-nodes=0-1" (a range) and the key
 * repeated ("host-nodes=0,host-nodes=2").  On success *out is the caller's,
 * freed with backend_config_free().
 */
int backend_config_parse(const char *str, Splitvm__BackendConfig **out,
                         struct backend_config_error *err) __attribute__((warn_unused_result));

/* The same from options already parsed (qom-type among them, or @type_name). */
int backend_config_from_opts(struct opts *o, const char *type_name, Splitvm__BackendConfig **out,
                             struct backend_config_error *err) __attribute__((warn_unused_result));

/* Every rule that does not need the host; for configs from XML or the wire. */
int backend_config_validate(const Splitvm__BackendConfig *cfg, struct backend_config_error *err)
        __attribute__((warn_unused_result));

/*
 * The canonical option string of @cfg (type, id, size, then each property
 * that differs from its type's default, in a fixed order; ',' in mem-path
 * doubled).  -ENOSPC when @len is too small; buf is then cut but terminated.
 */
int backend_config_format(const Splitvm__BackendConfig *cfg, char *buf, size_t len)
        __attribute__((warn_unused_result));

/* A deep copy, freed with backend_config_free(). */
int backend_config_copy(const Splitvm__BackendConfig *src, Splitvm__BackendConfig **out)
        __attribute__((warn_unused_result));

/* Frees a config from parse/from_opts/copy or protobuf unpack.  NULL ok. */
void backend_config_free(Splitvm__BackendConfig *cfg);

/* "memory-backend-ram"...; "unknown" for anything else, never NULL. */
const char *backend_config_type_name(Splitvm__BackendType type);
/* "default", "preferred", "bind", "interleave"; "unknown" otherwise. */
const char *backend_config_policy_name(Splitvm__HostMemPolicy policy);

/*
 * QEMU's id_wellformed(): a letter, then letters, digits, '-', '.', '_';
 * splitvm also caps the length at BACKEND_CONFIG_ID_MAX.  Device ids obey the
 * same rule.
 */
bool backend_config_id_wellformed(const char *id);

#endif
