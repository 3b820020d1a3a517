/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small reader of flattened device trees (DTSpec v17), for the test guest
 * and built on the host too for its unit test.  It has no dependencies
 * beyond <stdint.h>/<stddef.h>/<stdbool.h>, and names everything gfdt_ so
 * that it never clashes with libfdt, which the unit test uses to build
 * blobs.  Every offset and length in the blob is checked before use: a
 * malformed blob yields a GFDT_ERR_* code, never an access outside it.
 */
#ifndef SPLITVM_GUEST_GFDT_H
#define SPLITVM_GUEST_GFDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GFDT_MAGIC     0xd00dfeedu
#define GFDT_MAX_DEPTH 16

enum gfdt_err {
	GFDT_OK = 0,
	GFDT_ERR_TRUNCATED = -1, /* header or a block runs past the blob */
	GFDT_ERR_MAGIC = -2,     /* no 0xd00dfeed */
	GFDT_ERR_VERSION = -3,   /* not readable as version 17 */
	GFDT_ERR_STRUCT = -4,    /* bad token, name or property in the struct block */
	GFDT_ERR_DEPTH = -5,     /* nodes nested deeper than GFDT_MAX_DEPTH */
	GFDT_ERR_CELLS = -6,     /* #address-cells/#size-cells outside 1..2 (0 for size) */
	GFDT_ERR_RANGE = -7,     /* reg index past the property */
};

const char *gfdt_strerror(int err);

/* Checks the header against @size; 0 or a GFDT_ERR_* code. */
int gfdt_check_header(const void *blob, size_t size);

/*
 * What gfdt_nodes() reports of one node, once all its properties are seen.
 * Property values point into the blob; their lengths are in bytes.
 */
struct gfdt_node {
	const char *name;    /* "memory@0"; "" for the root */
	int depth;           /* 0 for the root */
	uint32_t addr_cells; /* the parent's #address-cells (default 2) */
	uint32_t size_cells; /* the parent's #size-cells (default 1) */
	const uint8_t *reg;
	uint32_t reg_len;
	const char *compatible; /* a list of NUL-terminated strings */
	uint32_t compatible_len;
	const char *device_type;
	uint32_t device_type_len;
	const uint8_t *interrupts;
	uint32_t interrupts_len;
};

/*
 * Calls @fn for every node, children before their parent (a node is
 * reported at its end).  A non-zero return of @fn stops the walk and is
 * returned.  0 when the whole tree was walked.
 */
int gfdt_nodes(const void *blob, size_t size, int (*fn)(void *ctx, const struct gfdt_node *node),
               void *ctx);

/* The first cell of the node's interrupts (one GSI on x86); UINT32_MAX when it has none. */
uint32_t gfdt_interrupt(const struct gfdt_node *node);
/* Number of (address, size) pairs in the node's reg. */
uint32_t gfdt_reg_count(const struct gfdt_node *node);
/* The @i-th pair of reg; GFDT_ERR_RANGE or GFDT_ERR_CELLS on failure. */
int gfdt_reg(const struct gfdt_node *node, uint32_t i, uint64_t *addr, uint64_t *size);

/* "memory" or "memory@..." at depth 1, or device_type "memory". */
bool gfdt_node_is_memory(const struct gfdt_node *node);
/* @compat is one of the strings of the node's compatible list. */
bool gfdt_node_is_compatible(const struct gfdt_node *node, const char *compat);

/*
 * The value of /chosen/bootargs: *args points into the blob, *len excludes
 * the NUL.  1 when found, 0 when absent, or a GFDT_ERR_* code.
 */
int gfdt_bootargs(const void *blob, size_t size, const char **args, uint32_t *len);

#endif
