/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The test guest's FDT reader (tests/guest/gfdt.c), built for the host and
 * fed blobs that libfdt writes, as splitvm-core does, and blobs broken on
 * purpose: every malformed blob must give an error code, never a read
 * outside the blob (each blob lives in a buffer of exactly its size, so
 * valgrind and ASan see any overread).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <libfdt.h>

#include "gfdt.h"

#define BUF_SIZE 4096

struct blob {
	uint8_t *data;
	size_t len;
};

/* A copy of the finished tree in a buffer of exactly its size. */
static struct blob finish(void *fdt)
{
	struct blob b;

	assert_int_equal(fdt_finish(fdt), 0);
	b.len = fdt_totalsize(fdt);
	b.data = malloc(b.len);
	assert_non_null(b.data);
	memcpy(b.data, fdt, b.len);
	return b;
}

static void reg64(void *fdt, uint64_t addr, uint64_t size)
{
	fdt64_t cells[2] = { cpu_to_fdt64(addr), cpu_to_fdt64(size) };

	assert_int_equal(fdt_property(fdt, "reg", cells, sizeof(cells)), 0);
}

/*
 * / { #address-cells = 2; #size-cells = 2;
 *     chosen { bootargs = "scenario=memmap"; };
 *     memory@0 { device_type = "memory"; reg = <0 0xa0000000>; };
 *     memory@100000000 { reg = <4G 1G>, <8G 2G>; };
 *     soc { #address-cells = 1; #size-cells = 1;
 *           virtio_mmio@d0000000 { compatible = "x,y", "virtio,mmio";
 *                                  reg = <0xd0000000 0x200>; interrupts = <5>; }; }; }
 */
static struct blob machine_tree(void)
{
	static uint8_t buf[BUF_SIZE];
	static const char compat[] = "x,y\0virtio,mmio";
	fdt32_t mmio[2] = { cpu_to_fdt32(0xd0000000u), cpu_to_fdt32(0x200) };
	fdt64_t two[4] = { cpu_to_fdt64(4ull << 30), cpu_to_fdt64(1ull << 30),
		           cpu_to_fdt64(8ull << 30), cpu_to_fdt64(2ull << 30) };

	assert_int_equal(fdt_create(buf, sizeof(buf)), 0);
	assert_int_equal(fdt_finish_reservemap(buf), 0);
	assert_int_equal(fdt_begin_node(buf, ""), 0);
	assert_int_equal(fdt_property_cell(buf, "#address-cells", 2), 0);
	assert_int_equal(fdt_property_cell(buf, "#size-cells", 2), 0);
	assert_int_equal(fdt_begin_node(buf, "chosen"), 0);
	assert_int_equal(fdt_property_string(buf, "bootargs", "scenario=memmap"), 0);
	assert_int_equal(fdt_end_node(buf), 0);
	assert_int_equal(fdt_begin_node(buf, "memory@0"), 0);
	assert_int_equal(fdt_property_string(buf, "device_type", "memory"), 0);
	reg64(buf, 0, 0xa0000000u);
	assert_int_equal(fdt_end_node(buf), 0);
	assert_int_equal(fdt_begin_node(buf, "memory@100000000"), 0);
	assert_int_equal(fdt_property(buf, "reg", two, sizeof(two)), 0);
	assert_int_equal(fdt_end_node(buf), 0);
	assert_int_equal(fdt_begin_node(buf, "soc"), 0);
	assert_int_equal(fdt_property_cell(buf, "#address-cells", 1), 0);
	assert_int_equal(fdt_property_cell(buf, "#size-cells", 1), 0);
	assert_int_equal(fdt_begin_node(buf, "virtio_mmio@d0000000"), 0);
	assert_int_equal(fdt_property(buf, "compatible", compat, sizeof(compat)), 0);
	assert_int_equal(fdt_property(buf, "reg", mmio, sizeof(mmio)), 0);
	assert_int_equal(fdt_property_cell(buf, "interrupts", 5), 0);
	assert_int_equal(fdt_end_node(buf), 0);
	assert_int_equal(fdt_end_node(buf), 0);
	assert_int_equal(fdt_end_node(buf), 0);
	return finish(buf);
}

static int setup(void **state)
{
	struct blob *b = malloc(sizeof(*b));

	if (!b)
		return -1;
	*b = machine_tree();
	*state = b;
	return 0;
}

static int teardown(void **state)
{
	struct blob *b = *state;

	free(b->data);
	free(b);
	return 0;
}

struct seen {
	uint64_t mem_addr[8], mem_size[8];
	unsigned int mem_n;
	uint64_t mmio_addr, mmio_size;
	uint32_t mmio_irq;
	unsigned int mmio_n;
	unsigned int nodes;
	int root_depth_seen;
};

static int collect(void *ctx, const struct gfdt_node *n)
{
	struct seen *s = ctx;
	uint64_t a, sz;

	s->nodes++;
	if (n->depth == 0)
		s->root_depth_seen = 1;
	if (gfdt_node_is_memory(n)) {
		for (uint32_t i = 0; i < gfdt_reg_count(n); i++) {
			assert_int_equal(gfdt_reg(n, i, &a, &sz), 0);
			assert_true(s->mem_n < 8);
			s->mem_addr[s->mem_n] = a;
			s->mem_size[s->mem_n] = sz;
			s->mem_n++;
		}
		assert_int_equal(gfdt_reg(n, gfdt_reg_count(n), &a, &sz), GFDT_ERR_RANGE);
	}
	if (gfdt_node_is_compatible(n, "virtio,mmio")) {
		assert_int_equal(n->addr_cells, 1);
		assert_int_equal(n->size_cells, 1);
		assert_int_equal(gfdt_reg(n, 0, &s->mmio_addr, &s->mmio_size), 0);
		assert_int_equal(n->interrupts_len, 4);
		s->mmio_irq = gfdt_interrupt(n);
		s->mmio_n++;
	} else {
		/* No interrupts property: none. */
		assert_int_equal(gfdt_interrupt(n), UINT32_MAX);
	}
	return 0;
}

static void test_memory_nodes_with_root_cells(void **state)
{
	struct blob *b = *state;
	struct seen s = { .mem_n = 0 };

	assert_int_equal(gfdt_nodes(b->data, b->len, collect, &s), 0);
	assert_int_equal(s.mem_n, 3);
	assert_int_equal(s.mem_addr[0], 0);
	assert_int_equal(s.mem_size[0], 0xa0000000u);
	assert_int_equal(s.mem_addr[1], 4ull << 30);
	assert_int_equal(s.mem_size[1], 1ull << 30);
	assert_int_equal(s.mem_addr[2], 8ull << 30);
	assert_int_equal(s.mem_size[2], 2ull << 30);
	/* root, chosen, two memory nodes, soc, virtio_mmio */
	assert_int_equal(s.nodes, 6);
	assert_int_equal(s.root_depth_seen, 1);
}

static void test_nested_bus_uses_parent_cells(void **state)
{
	struct blob *b = *state;
	struct seen s = { .mem_n = 0 };

	assert_int_equal(gfdt_nodes(b->data, b->len, collect, &s), 0);
	assert_int_equal(s.mmio_n, 1);
	assert_int_equal(s.mmio_addr, 0xd0000000u);
	assert_int_equal(s.mmio_size, 0x200);
	assert_int_equal(s.mmio_irq, 5);
}

static void test_bootargs_found(void **state)
{
	struct blob *b = *state;
	const char *args = NULL;
	uint32_t len = 0;

	assert_int_equal(gfdt_bootargs(b->data, b->len, &args, &len), 1);
	assert_int_equal(len, strlen("scenario=memmap"));
	assert_memory_equal(args, "scenario=memmap", len);
}

static void test_bootargs_absent(void **state)
{
	static uint8_t buf[BUF_SIZE];
	const char *args = NULL;
	uint32_t len = 0;
	struct blob b;

	(void)state;
	assert_int_equal(fdt_create(buf, sizeof(buf)), 0);
	assert_int_equal(fdt_finish_reservemap(buf), 0);
	assert_int_equal(fdt_begin_node(buf, ""), 0);
	assert_int_equal(fdt_begin_node(buf, "chosen"), 0);
	assert_int_equal(fdt_property_string(buf, "stdout-path", "/uart"), 0);
	assert_int_equal(fdt_end_node(buf), 0);
	assert_int_equal(fdt_end_node(buf), 0);
	b = finish(buf);
	assert_int_equal(gfdt_bootargs(b.data, b.len, &args, &len), 0);
	assert_null(args);
	free(b.data);
}

static int stop_at_first(void *ctx, const struct gfdt_node *n)
{
	(void)n;
	(*(int *)ctx)++;
	return 42;
}

static void test_callback_stops_walk(void **state)
{
	struct blob *b = *state;
	int calls = 0;

	assert_int_equal(gfdt_nodes(b->data, b->len, stop_at_first, &calls), 42);
	assert_int_equal(calls, 1);
}

static int count_nodes(void *ctx, const struct gfdt_node *n)
{
	(void)n;
	(*(int *)ctx)++;
	return 0;
}

static uint32_t be32_at(const struct blob *b, size_t off)
{
	return fdt32_to_cpu(*(const fdt32_t *)(const void *)(b->data + off));
}

static void put_be32(struct blob *b, size_t off, uint32_t v)
{
	fdt32_t x = cpu_to_fdt32(v);

	memcpy(b->data + off, &x, sizeof(x));
}

/* Header and struct-block damage, each with the error it must give. */
static void test_malformed_blobs(void **state)
{
	struct blob *good = *state;
	size_t s_off = be32_at(good, 8);
	struct {
		const char *what;
		size_t off;
		uint32_t value;
		int want;
	} cases[] = {
		{ "bad magic", 0, 0xd00dfeee, GFDT_ERR_MAGIC },
		{ "totalsize past the buffer", 4, (uint32_t)good->len + 1, GFDT_ERR_TRUNCATED },
		{ "totalsize below the header", 4, 8, GFDT_ERR_TRUNCATED },
		{ "struct block past totalsize", 36, (uint32_t)good->len, GFDT_ERR_TRUNCATED },
		{ "strings block past totalsize", 32, (uint32_t)good->len, GFDT_ERR_TRUNCATED },
		{ "unaligned struct block", 8, (uint32_t)s_off + 1, GFDT_ERR_STRUCT },
		{ "version 16", 20, 16, GFDT_ERR_VERSION },
		{ "last compatible version 18", 24, 18, GFDT_ERR_VERSION },
		{ "unknown first token", s_off, 7, GFDT_ERR_STRUCT },
		{ "END_NODE before any node", s_off, 2, GFDT_ERR_STRUCT },
		{ "END at once", s_off, 9, GFDT_ERR_STRUCT },
		{ "root with a name", s_off + 4, 0x61000000, GFDT_ERR_STRUCT },
		/* root: BEGIN, name pad; then PROP len nameoff (#address-cells) */
		{ "property longer than the block", s_off + 12, 0x7fffffff, GFDT_ERR_STRUCT },
		{ "property name outside strings", s_off + 16, 0x7fffffff, GFDT_ERR_STRUCT },
		{ "#address-cells of 8 bytes", s_off + 12, 8, GFDT_ERR_CELLS },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct blob b = { malloc(good->len), good->len };
		int nodes = 0;

		assert_non_null(b.data);
		memcpy(b.data, good->data, b.len);
		put_be32(&b, cases[i].off, cases[i].value);
		if (gfdt_nodes(b.data, b.len, count_nodes, &nodes) != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].what,
			         gfdt_nodes(b.data, b.len, count_nodes, &nodes), cases[i].want);
		free(b.data);
	}
}

static void test_truncated_and_short_buffers(void **state)
{
	struct blob *good = *state;

	/* A buffer shorter than totalsize says so; the walker reads nothing past it. */
	for (size_t len = 0; len < good->len; len++) {
		uint8_t *copy = malloc(len ? len : 1);
		int nodes = 0;

		assert_non_null(copy);
		memcpy(copy, good->data, len);
		assert_int_equal(gfdt_nodes(copy, len, count_nodes, &nodes), GFDT_ERR_TRUNCATED);
		free(copy);
	}
}

static void test_too_deep(void **state)
{
	static uint8_t buf[BUF_SIZE];
	char name[8];
	struct blob b;
	int nodes = 0;

	(void)state;
	assert_int_equal(fdt_create(buf, sizeof(buf)), 0);
	assert_int_equal(fdt_finish_reservemap(buf), 0);
	assert_int_equal(fdt_begin_node(buf, ""), 0);
	for (int i = 1; i <= GFDT_MAX_DEPTH; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		assert_int_equal(fdt_begin_node(buf, name), 0);
	}
	for (int i = 0; i <= GFDT_MAX_DEPTH; i++)
		assert_int_equal(fdt_end_node(buf), 0);
	b = finish(buf);
	assert_int_equal(gfdt_nodes(b.data, b.len, count_nodes, &nodes), GFDT_ERR_DEPTH);
	free(b.data);
}

/*
 * Every single-byte change of a valid blob, at every offset: the walker
 * returns (0 or an error), and reads only inside the blob.
 */
static void test_every_byte_flipped(void **state)
{
	struct blob *good = *state;
	static const uint8_t values[] = { 0x00, 0xff, 0x01, 0x80 };

	for (size_t off = 0; off < good->len; off++) {
		for (size_t v = 0; v < sizeof(values); v++) {
			uint8_t *copy = malloc(good->len);
			int nodes = 0, err;
			const char *args;
			uint32_t len;

			assert_non_null(copy);
			memcpy(copy, good->data, good->len);
			copy[off] = values[v];
			err = gfdt_nodes(copy, good->len, count_nodes, &nodes);
			assert_true(err <= 0 && err >= GFDT_ERR_RANGE);
			err = gfdt_bootargs(copy, good->len, &args, &len);
			assert_true(err <= 1 && err >= GFDT_ERR_RANGE);
			if (err == 1)
				assert_true(args >= (const char *)copy &&
				            args + len < (const char *)copy + good->len);
			free(copy);
		}
	}
}

static void test_strerror_names_every_code(void **state)
{
	(void)state;
	for (int e = GFDT_OK; e >= GFDT_ERR_RANGE; e--)
		assert_string_not_equal(gfdt_strerror(e), "unknown error");
	assert_string_equal(gfdt_strerror(-100), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_memory_nodes_with_root_cells, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_bus_uses_parent_cells, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bootargs_found, setup, teardown),
		cmocka_unit_test(test_bootargs_absent),
		cmocka_unit_test_setup_teardown(test_callback_stops_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_blobs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_and_short_buffers, setup, teardown),
		cmocka_unit_test(test_too_deep),
		cmocka_unit_test_setup_teardown(test_every_byte_flipped, setup, teardown),
		cmocka_unit_test(test_strerror_names_every_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
