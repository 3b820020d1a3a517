/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU memory backend properties -> Splitvm__BackendConfig, and back.
 * The rules and most messages follow QEMU 7.2's backends/hostmem.c,
 * hostmem-memfd.c and hostmem-file.c; see backend_config.h.
 */
#include "backend_config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"
#include "size.h"

static const char *const type_names[] = {
	[SPLITVM__BACKEND_TYPE__BACKEND_RAM] = "memory-backend-ram",
	[SPLITVM__BACKEND_TYPE__BACKEND_MEMFD] = "memory-backend-memfd",
	[SPLITVM__BACKEND_TYPE__BACKEND_FILE] = "memory-backend-file",
};

/* QEMU's HostMemPolicy names, in the enum's (and the kernel's) order. */
static const char *const policy_names[] = {
	[SPLITVM__HOST_MEM_POLICY__POLICY_DEFAULT] = "default",
	[SPLITVM__HOST_MEM_POLICY__POLICY_PREFERRED] = "preferred",
	[SPLITVM__HOST_MEM_POLICY__POLICY_BIND] = "bind",
	[SPLITVM__HOST_MEM_POLICY__POLICY_INTERLEAVE] = "interleave",
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

const char *backend_config_type_name(Splitvm__BackendType type)
{
	if ((unsigned)type < N_ELEMS(type_names) && type_names[type])
		return type_names[type];
	return "unknown";
}

const char *backend_config_policy_name(Splitvm__HostMemPolicy policy)
{
	if ((unsigned)policy < N_ELEMS(policy_names))
		return policy_names[policy];
	return "unknown";
}

bool backend_config_id_wellformed(const char *id)
{
	size_t len;

	if (!id || !((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z')))
		return false;
	len = strlen(id);
	if (len > BACKEND_CONFIG_ID_MAX)
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_'))
			return false;
	}
	return true;
}

static int fail(struct backend_config_error *err, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int fail(struct backend_config_error *err, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		snprintf(err->field, sizeof(err->field), "%s", field);
		va_start(ap, fmt);
		vsnprintf(err->text, sizeof(err->text), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

void backend_config_init(Splitvm__BackendConfig *cfg, Splitvm__BackendType type)
{
	splitvm__backend_config__init(cfg);
	cfg->type = type;
	cfg->merge = true;
	cfg->dump = true;
	cfg->reserve = true;
	if (type == SPLITVM__BACKEND_TYPE__BACKEND_MEMFD) {
		/* hostmem-memfd.c's instance_init: a shared, sealed file. */
		cfg->share = true;
		cfg->seal = true;
	}
}

/* The name under which a config's type goes in messages; never NULL. */
static const char *what(const Splitvm__BackendConfig *cfg)
{
	return backend_config_type_name(cfg->type);
}

static const char *id_of(const Splitvm__BackendConfig *cfg)
{
	return cfg->id ? cfg->id : "";
}

static bool power_of_2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int backend_config_validate(const Splitvm__BackendConfig *cfg, struct backend_config_error *err)
{
	bool is_memfd = cfg->type == SPLITVM__BACKEND_TYPE__BACKEND_MEMFD;
	bool is_file = cfg->type == SPLITVM__BACKEND_TYPE__BACKEND_FILE;
	const char *t = what(cfg);

	if (cfg->type != SPLITVM__BACKEND_TYPE__BACKEND_RAM && !is_memfd && !is_file)
		return fail(err, "qom-type", "invalid object type: %d is not a memory backend",
		            (int)cfg->type);
	if (!cfg->id || !cfg->id[0])
		return fail(err, "id", "%s: Parameter 'id' is missing", t);
	if (!backend_config_id_wellformed(cfg->id))
		return fail(err, "id",
		            "%s: Parameter 'id' expects an identifier (a letter, then letters, "
		            "digits, '-', '.', '_'; at most %d characters)",
		            t, BACKEND_CONFIG_ID_MAX);
	if (!cfg->size)
		return fail(err, "size", "property 'size' of %s doesn't take value '0'", t);

	for (size_t i = 0; i < cfg->n_host_nodes; i++)
		if (cfg->host_nodes[i] >= BACKEND_CONFIG_MAX_NODES)
			return fail(err, "host-nodes", "%s '%s': Invalid host-nodes value: %u", t,
			            id_of(cfg), cfg->host_nodes[i]);
	if ((unsigned)cfg->policy >= N_ELEMS(policy_names))
		return fail(err, "policy", "%s '%s': property 'policy': %d is not a policy", t,
		            id_of(cfg), (int)cfg->policy);
	if (cfg->n_host_nodes && cfg->policy == SPLITVM__HOST_MEM_POLICY__POLICY_DEFAULT)
		return fail(err, "host-nodes",
		            "%s '%s': host-nodes must be empty for policy default, or you should "
		            "explicitly specify a policy other than default",
		            t, id_of(cfg));
	if (!cfg->n_host_nodes && cfg->policy != SPLITVM__HOST_MEM_POLICY__POLICY_DEFAULT)
		return fail(err, "policy", "%s '%s': host-nodes must be set for policy %s", t,
		            id_of(cfg), backend_config_policy_name(cfg->policy));
	if (cfg->prealloc && !cfg->reserve)
		return fail(err, "prealloc",
		            "%s '%s': 'prealloc=on' and 'reserve=off' are incompatible", t,
		            id_of(cfg));

	/* A property of another type is a config built wrongly: say which. */
	if (!is_memfd) {
		if (cfg->hugetlb)
			return fail(err, "hugetlb", "%s '%s': Property '%s.hugetlb' not found", t,
			            id_of(cfg), t);
		if (cfg->hugetlbsize)
			return fail(err, "hugetlbsize",
			            "%s '%s': Property '%s.hugetlbsize' not found", t, id_of(cfg),
			            t);
		if (cfg->seal)
			return fail(err, "seal", "%s '%s': Property '%s.seal' not found", t,
			            id_of(cfg), t);
	}
	if (!is_file) {
		static const struct {
			const char *name;
			size_t off;
		} file_only[] = {
			{ "readonly", offsetof(Splitvm__BackendConfig, readonly) },
			{ "pmem", offsetof(Splitvm__BackendConfig, pmem) },
			{ "discard-data", offsetof(Splitvm__BackendConfig, discard_data) },
		};

		if (cfg->mem_path && cfg->mem_path[0])
			return fail(err, "mem-path", "%s '%s': Property '%s.mem-path' not found", t,
			            id_of(cfg), t);
		if (cfg->align)
			return fail(err, "align", "%s '%s': Property '%s.align' not found", t,
			            id_of(cfg), t);
		for (size_t i = 0; i < N_ELEMS(file_only); i++)
			if (*(const protobuf_c_boolean *)((const char *)cfg + file_only[i].off))
				return fail(err, file_only[i].name,
				            "%s '%s': Property '%s.%s' not found", t, id_of(cfg), t,
				            file_only[i].name);
	}

	if (is_memfd && cfg->hugetlbsize) {
		if (!cfg->hugetlb)
			return fail(err, "hugetlbsize",
			            "%s '%s': property 'hugetlbsize' needs hugetlb=on", t,
			            id_of(cfg));
		if (!power_of_2(cfg->hugetlbsize))
			return fail(err, "hugetlbsize",
			            "%s '%s': property 'hugetlbsize': Hugepage size must be a "
			            "power of 2",
			            t, id_of(cfg));
	}
	if (is_file) {
		if (!cfg->mem_path || !cfg->mem_path[0])
			return fail(err, "mem-path", "%s '%s': mem-path property not set", t,
			            id_of(cfg));
		if (cfg->align && !power_of_2(cfg->align))
			return fail(err, "align",
			            "%s '%s': alignment 0x%" PRIx64 " must be a power of two", t,
			            id_of(cfg), cfg->align);
	}
	return 0;
}

int backend_config_copy(const Splitvm__BackendConfig *src, Splitvm__BackendConfig **out)
{
	size_t len = splitvm__backend_config__get_packed_size(src);
	uint8_t *buf = malloc(len ? len : 1);
	Splitvm__BackendConfig *copy;

	if (!buf)
		return -ENOMEM;
	splitvm__backend_config__pack(src, buf);
	copy = splitvm__backend_config__unpack(NULL, len, buf);
	free(buf);
	if (!copy)
		return -ENOMEM;
	*out = copy;
	return 0;
}

void backend_config_free(Splitvm__BackendConfig *cfg)
{
	if (cfg)
		splitvm__backend_config__free_unpacked(cfg, NULL);
}

/* --- formatting --------------------------------------------------------- */

struct out {
	char *buf;
	size_t len;
	size_t used;
	bool cut;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->cut)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->used) {
		o->cut = true;
		o->used = o->len - 1;
		return;
	}
	o->used += (size_t)n;
}

/* A value with each ',' doubled, as QemuOpts reads it back. */
static void put_escaped(struct out *o, const char *s)
{
	for (; *s; s++) {
		if (*s == ',')
			put(o, ",,");
		else
			put(o, "%c", *s);
	}
}

static void put_bool(struct out *o, const char *name, bool value, bool def)
{
	if (value != def)
		put(o, ",%s=%s", name, value ? "on" : "off");
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* host-nodes as QEMU reads it: ranges, the key repeated between them. */
static void put_nodes(struct out *o, const Splitvm__BackendConfig *cfg)
{
	uint32_t nodes[BACKEND_CONFIG_MAX_NODES];
	size_t n = 0;

	for (size_t i = 0; i < cfg->n_host_nodes && n < N_ELEMS(nodes); i++)
		nodes[n++] = cfg->host_nodes[i];
	qsort(nodes, n, sizeof(nodes[0]), cmp_u32);
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && nodes[j + 1] <= nodes[j] + 1)
			j++;
		if (nodes[j] == nodes[i])
			put(o, ",host-nodes=%u", nodes[i]);
		else
			put(o, ",host-nodes=%u-%u", nodes[i], nodes[j]);
		i = j + 1;
	}
}

int backend_config_format(const Splitvm__BackendConfig *cfg, char *buf, size_t len)
{
	Splitvm__BackendConfig def;
	struct out o = { .buf = buf, .len = len };
	char sz[SIZE_FMT_LEN];

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	backend_config_init(&def, cfg->type);
	put(&o, "%s,id=", what(cfg));
	put_escaped(&o, id_of(cfg));
	put(&o, ",size=%s", size_format(cfg->size, sz, sizeof(sz)));
	if (cfg->type == SPLITVM__BACKEND_TYPE__BACKEND_FILE && cfg->mem_path) {
		put(&o, ",mem-path=");
		put_escaped(&o, cfg->mem_path);
	}
	put_bool(&o, "share", cfg->share, def.share);
	put_bool(&o, "hugetlb", cfg->hugetlb, def.hugetlb);
	if (cfg->hugetlbsize)
		put(&o, ",hugetlbsize=%s", size_format(cfg->hugetlbsize, sz, sizeof(sz)));
	put_bool(&o, "seal", cfg->seal, def.seal);
	put_bool(&o, "readonly", cfg->readonly, def.readonly);
	put_bool(&o, "pmem", cfg->pmem, def.pmem);
	if (cfg->align)
		put(&o, ",align=%s", size_format(cfg->align, sz, sizeof(sz)));
	put_bool(&o, "discard-data", cfg->discard_data, def.discard_data);
	put_bool(&o, "prealloc", cfg->prealloc, def.prealloc);
	if (cfg->prealloc_threads > 1)
		put(&o, ",prealloc-threads=%u", cfg->prealloc_threads);
	put_nodes(&o, cfg);
	if (cfg->policy != SPLITVM__HOST_MEM_POLICY__POLICY_DEFAULT)
		put(&o, ",policy=%s", backend_config_policy_name(cfg->policy));
	put_bool(&o, "merge", cfg->merge, def.merge);
	put_bool(&o, "dump", cfg->dump, def.dump);
	put_bool(&o, "reserve", cfg->reserve, def.reserve);
	return o.cut ? -ENOSPC : 0;
}

/* --- parsing ------------------------------------------------------------ */

enum prop_kind { P_BOOL, P_SIZE, P_U32, P_STR, P_NODES, P_POLICY };

#define T_RAM   (1u << SPLITVM__BACKEND_TYPE__BACKEND_RAM)
#define T_MEMFD (1u << SPLITVM__BACKEND_TYPE__BACKEND_MEMFD)
#define T_FILE  (1u << SPLITVM__BACKEND_TYPE__BACKEND_FILE)
#define T_ALL   (T_RAM | T_MEMFD | T_FILE)

/* Every property of QEMU 7.2's three backends that splitvm takes. */
static const struct prop {
	const char *name;
	enum prop_kind kind;
	unsigned types;
	size_t off;
} props[] = {
	{ "size", P_SIZE, T_ALL, offsetof(Splitvm__BackendConfig, size) },
	{ "prealloc", P_BOOL, T_ALL, offsetof(Splitvm__BackendConfig, prealloc) },
	{ "prealloc-threads", P_U32, T_ALL, offsetof(Splitvm__BackendConfig, prealloc_threads) },
	{ "host-nodes", P_NODES, T_ALL, 0 },
	{ "policy", P_POLICY, T_ALL, offsetof(Splitvm__BackendConfig, policy) },
	{ "merge", P_BOOL, T_ALL, offsetof(Splitvm__BackendConfig, merge) },
	{ "dump", P_BOOL, T_ALL, offsetof(Splitvm__BackendConfig, dump) },
	{ "reserve", P_BOOL, T_ALL, offsetof(Splitvm__BackendConfig, reserve) },
	{ "share", P_BOOL, T_ALL, offsetof(Splitvm__BackendConfig, share) },
	{ "hugetlb", P_BOOL, T_MEMFD, offsetof(Splitvm__BackendConfig, hugetlb) },
	{ "hugetlbsize", P_SIZE, T_MEMFD, offsetof(Splitvm__BackendConfig, hugetlbsize) },
	{ "seal", P_BOOL, T_MEMFD, offsetof(Splitvm__BackendConfig, seal) },
	{ "mem-path", P_STR, T_FILE, offsetof(Splitvm__BackendConfig, mem_path) },
	{ "readonly", P_BOOL, T_FILE, offsetof(Splitvm__BackendConfig, readonly) },
	{ "pmem", P_BOOL, T_FILE, offsetof(Splitvm__BackendConfig, pmem) },
	{ "align", P_SIZE, T_FILE, offsetof(Splitvm__BackendConfig, align) },
	{ "discard-data", P_BOOL, T_FILE, offsetof(Splitvm__BackendConfig, discard_data) },
};

static int type_from_name(const char *name, Splitvm__BackendType *type)
{
	for (size_t i = 0; i < N_ELEMS(type_names); i++) {
		if (type_names[i] && name && strcmp(name, type_names[i]) == 0) {
			*type = (Splitvm__BackendType)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* "host-nodes", or the keyval list form "host-nodes.<N>" of QEMU 7.2. */
static bool is_nodes_key(const char *key)
{
	const char *p = key + strlen("host-nodes");

	if (strncmp(key, "host-nodes", strlen("host-nodes")))
		return false;
	if (!*p)
		return true;
	if (*p++ != '.' || !*p)
		return false;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

static const struct prop *find_prop(const char *key)
{
	if (is_nodes_key(key))
		return &props[3];
	for (size_t i = 0; i < N_ELEMS(props); i++)
		if (strcmp(props[i].name, key) == 0)
			return &props[i];
	return NULL;
}

/* One host-nodes value: "N" or "N-M", each below MAX_NODES. */
static int add_nodes(Splitvm__BackendConfig *cfg, const char *key, const char *v,
                     struct backend_config_error *err)
{
	const char *t = what(cfg), *id = id_of(cfg);
	unsigned long lo, hi;
	uint32_t *nodes;
	char *end;

	if (*v < '0' || *v > '9')
		goto bad;
	lo = strtoul(v, &end, 10);
	hi = lo;
	if (*end == '-') {
		const char *h = end + 1;

		if (*h < '0' || *h > '9')
			goto bad;
		hi = strtoul(h, &end, 10);
	}
	if (*end)
		goto bad;
	if (lo >= BACKEND_CONFIG_MAX_NODES || hi >= BACKEND_CONFIG_MAX_NODES)
		return fail(err, "host-nodes", "%s '%s': Invalid host-nodes value: %lu", t, id,
		            hi >= BACKEND_CONFIG_MAX_NODES ? hi : lo);
	if (hi < lo)
		return fail(err, "host-nodes", "%s '%s': property '%s': range '%s' runs backwards",
		            t, id, key, v);
	nodes = realloc(cfg->host_nodes, (cfg->n_host_nodes + (hi - lo + 1)) * sizeof(*nodes));
	if (!nodes)
		return -ENOMEM;
	cfg->host_nodes = nodes;
	for (unsigned long n = lo; n <= hi; n++)
		cfg->host_nodes[cfg->n_host_nodes++] = (uint32_t)n;
	return 0;
bad:
	return fail(err, "host-nodes",
	            "%s '%s': property '%s': '%s' is not a node or a range of nodes (0, 0-3)", t,
	            id, key, v);
}

/* Read one property into @cfg; the key is known and of this type. */
static int read_prop(struct opts *o, const struct prop *p, const char *key,
                     Splitvm__BackendConfig *cfg, struct backend_config_error *err)
{
	const char *t = what(cfg), *id = id_of(cfg);
	char *field = (char *)cfg + p->off;
	struct opts_error oerr = { { 0 } };
	uint64_t u = 0;
	bool b = false;
	int rc = 0;

	switch (p->kind) {
	case P_BOOL:
		rc = opts_get_bool(o, key, false, &b, &oerr);
		if (rc == 0)
			*(protobuf_c_boolean *)field = b;
		break;
	case P_SIZE:
		rc = opts_get_size(o, key, 0, &u, &oerr);
		if (rc == 0 && !u)
			return fail(err, key, "property '%s' of %s doesn't take value '0'", key, t);
		if (rc == 0)
			*(uint64_t *)field = u;
		break;
	case P_U32:
		rc = opts_get_u64(o, key, 0, UINT32_MAX, &u, &oerr);
		if (rc == 0 && !u)
			return fail(err, key, "property '%s' of %s doesn't take value '0'", key, t);
		if (rc == 0)
			*(uint32_t *)field = (uint32_t)u;
		break;
	case P_STR: {
		const char *v = opts_get(o, key);
		char *copy = strdup(v);

		if (!copy)
			return -ENOMEM;
		*(char **)field = copy;
		break;
	}
	case P_NODES:
		return add_nodes(cfg, key, opts_get(o, key), err);
	case P_POLICY: {
		const char *v = opts_get(o, key);

		for (size_t i = 0; i < N_ELEMS(policy_names); i++) {
			if (strcmp(v, policy_names[i]) == 0) {
				*(Splitvm__HostMemPolicy *)field = (Splitvm__HostMemPolicy)i;
				return 0;
			}
		}
		return fail(err, "policy",
		            "%s '%s': Parameter 'policy' does not accept value '%s' (default, "
		            "preferred, bind, interleave)",
		            t, id, v);
	}
	}
	if (rc == -EINVAL)
		return fail(err, key, "%s '%s': %s", t, id, oerr.msg);
	return rc;
}

int backend_config_from_opts(struct opts *o, const char *type_name, Splitvm__BackendConfig **out,
                             struct backend_config_error *err)
{
	Splitvm__BackendConfig *cfg;
	Splitvm__BackendType type;
	struct opts_error oerr = { { 0 } };
	const char *id;
	int rc;

	if (!type_name)
		type_name = opts_get(o, "qom-type");
	if (!type_name)
		return fail(err, "qom-type", "Parameter 'qom-type' is missing");
	if (type_from_name(type_name, &type) < 0)
		return fail(err, "qom-type",
		            "invalid object type: %s (memory-backend-ram, memory-backend-memfd "
		            "or memory-backend-file)",
		            type_name);

	cfg = malloc(sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	backend_config_init(cfg, type);
	id = opts_get(o, "id");
	if (id) {
		cfg->id = strdup(id);
		if (!cfg->id) {
			rc = -ENOMEM;
			goto fail;
		}
	}

	for (size_t i = 0; i < opts_count(o); i++) {
		const char *key = opts_key(o, i);
		const struct prop *p;

		if (strcmp(key, "qom-type") == 0 || strcmp(key, "id") == 0)
			continue;
		p = find_prop(key);
		if (!p || !(p->types & (1u << type))) {
			rc = fail(err, key, "%s '%s': Property '%s.%s' not found", what(cfg),
			          id_of(cfg), what(cfg), key);
			goto fail;
		}
		rc = read_prop(o, p, key, cfg, err);
		if (rc < 0)
			goto fail;
	}
	/* Every key was asked for above; this catches a table that forgot one. */
	rc = opts_check_unused(o, what(cfg), &oerr);
	if (rc < 0) {
		rc = fail(err, "", "%s", oerr.msg);
		goto fail;
	}
	if (!cfg->id[0]) {
		rc = fail(err, "id", "%s: Parameter 'id' is missing", what(cfg));
		goto fail;
	}
	if (!cfg->size) {
		rc = fail(err, "size",
		          "%s '%s': property 'size' is missing (can't create backend "
		          "with size 0)",
		          what(cfg), id_of(cfg));
		goto fail;
	}
	rc = backend_config_validate(cfg, err);
	if (rc < 0)
		goto fail;
	*out = cfg;
	return 0;
fail:
	backend_config_free(cfg);
	return rc;
}

/*
 * QemuOpts refuses a key given twice, but QEMU reads a repeated host-nodes
 * as a list: give each repeat its own keyval index ("host-nodes.1=") before
 * parsing.  Elements are split as QemuOpts splits them: at a ',' that is not
 * doubled.  Nothing else in the string changes.
 */
static char *number_repeated_nodes(const char *str)
{
	static const char key[] = "host-nodes=";
	size_t count = 0, len = strlen(str), k = 0;
	char *out, *w;
	const char *p;

	for (p = str; p; p = strchr(p, ',')) {
		p += (*p == ',');
		if (strncmp(p, key, sizeof(key) - 1) == 0)
			count++;
	}
	/* Room for ".N" on each: never more than 20 digits. */
	out = malloc(len + count * 21 + 1);
	if (!out || count < 2)
		return out ? strcpy(out, str) : NULL;
	w = out;
	p = str;
	for (bool start = true; *p;) {
		if (start && strncmp(p, key, sizeof(key) - 1) == 0) {
			w += sprintf(w, "host-nodes.%zu=", k++);
			p += sizeof(key) - 1;
		}
		start = false;
		if (p[0] == ',' && p[1] == ',') {
			*w++ = *p++;
			*w++ = *p++;
			continue;
		}
		if (*p == ',')
			start = true;
		*w++ = *p++;
	}
	*w = '\0';
	return out;
}

int backend_config_parse(const char *str, Splitvm__BackendConfig **out,
                         struct backend_config_error *err)
{
	struct opts_error oerr = { { 0 } };
	struct opts *o = NULL;
	char *numbered;
	int rc;

	numbered = number_repeated_nodes(str);
	if (!numbered)
		return -ENOMEM;
	rc = opts_parse(numbered, "qom-type", &o, &oerr);
	free(numbered);
	if (rc == -EINVAL)
		return fail(err, "", "%s", oerr.msg);
	if (rc < 0)
		return rc;
	rc = backend_config_from_opts(o, NULL, out, err);
	opts_free(o);
	return rc;
}
