/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Flattened device tree reader: see gfdt.h.  One walker over the struct
 * block checks every token against the block's bounds and the nesting;
 * the node collector and the /chosen lookup are built on it.
 */
#include "gfdt.h"

#define FDT_BEGIN_NODE 1
#define FDT_END_NODE   2
#define FDT_PROP       3
#define FDT_NOP        4
#define FDT_END        9

#define HDR_MAGIC        0
#define HDR_TOTALSIZE    4
#define HDR_OFF_STRUCT   8
#define HDR_OFF_STRINGS  12
#define HDR_VERSION      20
#define HDR_LAST_COMP    24
#define HDR_SIZE_STRINGS 32
#define HDR_SIZE_STRUCT  36
#define HDR_LEN          40

#define FDT_VERSION 17

struct walk_ops {
	int (*begin)(void *ctx, int depth, const char *name);
	int (*prop)(void *ctx, int depth, const char *pname, const uint8_t *val, uint32_t len);
	int (*end)(void *ctx, int depth);
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t bounded_len(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

static bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static uint64_t align4(uint64_t v)
{
	return (v + 3) & ~(uint64_t)3;
}

const char *gfdt_strerror(int err)
{
	switch (err) {
	case GFDT_OK:
		return "ok";
	case GFDT_ERR_TRUNCATED:
		return "blob truncated";
	case GFDT_ERR_MAGIC:
		return "bad magic";
	case GFDT_ERR_VERSION:
		return "unsupported version";
	case GFDT_ERR_STRUCT:
		return "malformed structure block";
	case GFDT_ERR_DEPTH:
		return "nodes nested too deep";
	case GFDT_ERR_CELLS:
		return "unsupported #address-cells or #size-cells";
	case GFDT_ERR_RANGE:
		return "reg index out of range";
	default:
		return "unknown error";
	}
}

int gfdt_check_header(const void *blob, size_t size)
{
	const uint8_t *h = blob;
	uint64_t total, off_struct, off_strings;

	if (size < HDR_LEN)
		return GFDT_ERR_TRUNCATED;
	if (be32(h + HDR_MAGIC) != GFDT_MAGIC)
		return GFDT_ERR_MAGIC;
	total = be32(h + HDR_TOTALSIZE);
	if (total > size || total < HDR_LEN)
		return GFDT_ERR_TRUNCATED;
	/* size_dt_struct exists from version 17 on; 17 reads anything newer. */
	if (be32(h + HDR_VERSION) < FDT_VERSION || be32(h + HDR_LAST_COMP) > FDT_VERSION)
		return GFDT_ERR_VERSION;
	off_struct = be32(h + HDR_OFF_STRUCT);
	off_strings = be32(h + HDR_OFF_STRINGS);
	if (off_struct % 4)
		return GFDT_ERR_STRUCT;
	if (off_struct + be32(h + HDR_SIZE_STRUCT) > total ||
	    off_strings + be32(h + HDR_SIZE_STRINGS) > total)
		return GFDT_ERR_TRUNCATED;
	return GFDT_OK;
}

static int walk(const void *blob, size_t size, const struct walk_ops *ops, void *ctx)
{
	const uint8_t *h = blob;
	const uint8_t *s;
	const char *strs;
	uint64_t slen, strs_len, off = 0;
	int depth = 0, err;
	bool root_done = false;

	err = gfdt_check_header(blob, size);
	if (err)
		return err;
	s = h + be32(h + HDR_OFF_STRUCT);
	slen = be32(h + HDR_SIZE_STRUCT);
	strs = (const char *)h + be32(h + HDR_OFF_STRINGS);
	strs_len = be32(h + HDR_SIZE_STRINGS);

	for (;;) {
		uint32_t tok;

		if (off + 4 > slen)
			return GFDT_ERR_STRUCT;
		tok = be32(s + off);
		off += 4;
		switch (tok) {
		case FDT_BEGIN_NODE: {
			const char *name = (const char *)s + off;
			size_t n = bounded_len(name, slen - off);

			if (n == slen - off || root_done || (depth == 0 && n != 0))
				return GFDT_ERR_STRUCT;
			if (depth == GFDT_MAX_DEPTH)
				return GFDT_ERR_DEPTH;
			if (ops->begin) {
				err = ops->begin(ctx, depth, name);
				if (err)
					return err;
			}
			depth++;
			off = align4(off + n + 1);
			break;
		}
		case FDT_END_NODE:
			if (depth == 0)
				return GFDT_ERR_STRUCT;
			depth--;
			if (depth == 0)
				root_done = true;
			if (ops->end) {
				err = ops->end(ctx, depth);
				if (err)
					return err;
			}
			break;
		case FDT_PROP: {
			uint32_t len, nameoff;
			const char *pname;

			if (depth == 0 || off + 8 > slen)
				return GFDT_ERR_STRUCT;
			len = be32(s + off);
			nameoff = be32(s + off + 4);
			off += 8;
			if (len > slen - off || nameoff >= strs_len)
				return GFDT_ERR_STRUCT;
			pname = strs + nameoff;
			if (bounded_len(pname, strs_len - nameoff) == strs_len - nameoff)
				return GFDT_ERR_STRUCT;
			if (ops->prop) {
				err = ops->prop(ctx, depth - 1, pname, s + off, len);
				if (err)
					return err;
			}
			off = align4(off + len);
			break;
		}
		case FDT_NOP:
			break;
		case FDT_END:
			if (depth != 0 || !root_done)
				return GFDT_ERR_STRUCT;
			return GFDT_OK;
		default:
			return GFDT_ERR_STRUCT;
		}
	}
}

struct nodes_ctx {
	struct gfdt_node node[GFDT_MAX_DEPTH];
	/* #address-cells and #size-cells each open node gives its children */
	uint32_t child_acells[GFDT_MAX_DEPTH];
	uint32_t child_scells[GFDT_MAX_DEPTH];
	int (*fn)(void *ctx, const struct gfdt_node *node);
	void *ctx;
};

static int nodes_begin(void *ctx, int depth, const char *name)
{
	struct nodes_ctx *c = ctx;
	struct gfdt_node *n = &c->node[depth];

	*n = (struct gfdt_node){ .name = name, .depth = depth, .addr_cells = 2, .size_cells = 1 };
	if (depth > 0) {
		n->addr_cells = c->child_acells[depth - 1];
		n->size_cells = c->child_scells[depth - 1];
	}
	c->child_acells[depth] = 2;
	c->child_scells[depth] = 1;
	return 0;
}

static int nodes_prop(void *ctx, int depth, const char *pname, const uint8_t *val, uint32_t len)
{
	struct nodes_ctx *c = ctx;
	struct gfdt_node *n = &c->node[depth];

	/* Most properties start with none of these: skip the comparisons. */
	if (pname[0] != 'r' && pname[0] != 'c' && pname[0] != 'd' && pname[0] != 'i' &&
	    pname[0] != '#')
		return 0;
	if (str_eq(pname, "reg")) {
		n->reg = val;
		n->reg_len = len;
	} else if (str_eq(pname, "compatible")) {
		n->compatible = (const char *)val;
		n->compatible_len = len;
	} else if (str_eq(pname, "device_type")) {
		n->device_type = (const char *)val;
		n->device_type_len = len;
	} else if (str_eq(pname, "interrupts")) {
		n->interrupts = val;
		n->interrupts_len = len;
	} else if (str_eq(pname, "#address-cells")) {
		if (len != 4)
			return GFDT_ERR_CELLS;
		c->child_acells[depth] = be32(val);
	} else if (str_eq(pname, "#size-cells")) {
		if (len != 4)
			return GFDT_ERR_CELLS;
		c->child_scells[depth] = be32(val);
	}
	return 0;
}

static int nodes_end(void *ctx, int depth)
{
	struct nodes_ctx *c = ctx;

	return c->fn(c->ctx, &c->node[depth]);
}

int gfdt_nodes(const void *blob, size_t size, int (*fn)(void *ctx, const struct gfdt_node *node),
               void *ctx)
{
	static const struct walk_ops ops = {
		.begin = nodes_begin,
		.prop = nodes_prop,
		.end = nodes_end,
	};
	struct nodes_ctx c = { .fn = fn, .ctx = ctx };

	return walk(blob, size, &ops, &c);
}

uint32_t gfdt_interrupt(const struct gfdt_node *node)
{
	return node->interrupts && node->interrupts_len >= 4 ? be32(node->interrupts) : UINT32_MAX;
}

uint32_t gfdt_reg_count(const struct gfdt_node *node)
{
	uint32_t stride = (node->addr_cells + node->size_cells) * 4;

	if (node->addr_cells < 1 || node->addr_cells > 2 || node->size_cells > 2)
		return 0;
	return node->reg_len / stride;
}

static uint64_t read_cells(const uint8_t *p, uint32_t cells)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < cells; i++)
		v = v << 32 | be32(p + 4 * i);
	return v;
}

int gfdt_reg(const struct gfdt_node *node, uint32_t i, uint64_t *addr, uint64_t *size)
{
	uint32_t stride = (node->addr_cells + node->size_cells) * 4;
	const uint8_t *p;

	if (node->addr_cells < 1 || node->addr_cells > 2 || node->size_cells > 2)
		return GFDT_ERR_CELLS;
	if (i >= node->reg_len / stride)
		return GFDT_ERR_RANGE;
	p = node->reg + (size_t)i * stride;
	*addr = read_cells(p, node->addr_cells);
	*size = read_cells(p + 4 * node->addr_cells, node->size_cells);
	return GFDT_OK;
}

bool gfdt_node_is_memory(const struct gfdt_node *node)
{
	const char *n = node->name;

	if (node->device_type && node->device_type_len == 7 &&
	    bounded_len(node->device_type, 7) == 6 && str_eq(node->device_type, "memory"))
		return true;
	if (node->depth != 1)
		return false;
	for (const char *m = "memory"; *m; m++, n++) {
		if (*n != *m)
			return false;
	}
	return *n == '\0' || *n == '@';
}

bool gfdt_node_is_compatible(const struct gfdt_node *node, const char *compat)
{
	uint32_t off = 0;

	while (off < node->compatible_len) {
		const char *s = node->compatible + off;
		size_t n = bounded_len(s, node->compatible_len - off);

		/* An unterminated last string is not a match for anything. */
		if (n == node->compatible_len - off)
			return false;
		if (str_eq(s, compat))
			return true;
		off += (uint32_t)n + 1;
	}
	return false;
}

struct chosen_ctx {
	bool in_chosen;
	const char *args;
	uint32_t len;
};

static int chosen_begin(void *ctx, int depth, const char *name)
{
	struct chosen_ctx *c = ctx;

	c->in_chosen = depth == 1 && str_eq(name, "chosen");
	return 0;
}

static int chosen_prop(void *ctx, int depth, const char *pname, const uint8_t *val, uint32_t len)
{
	struct chosen_ctx *c = ctx;

	if (!c->in_chosen || depth != 1 || !str_eq(pname, "bootargs"))
		return 0;
	if (len == 0 || val[len - 1] != '\0')
		return GFDT_ERR_STRUCT;
	c->args = (const char *)val;
	c->len = (uint32_t)bounded_len(c->args, len);
	return 1;
}

static int chosen_end(void *ctx, int depth)
{
	struct chosen_ctx *c = ctx;

	(void)depth;
	c->in_chosen = false;
	return 0;
}

int gfdt_bootargs(const void *blob, size_t size, const char **args, uint32_t *len)
{
	static const struct walk_ops ops = {
		.begin = chosen_begin,
		.prop = chosen_prop,
		.end = chosen_end,
	};
	struct chosen_ctx c = { 0 };
	int err = walk(blob, size, &ops, &c);

	if (err < 0)
		return err;
	if (err == 0)
		return 0;
	*args = c.args;
	*len = c.len;
	return 1;
}
