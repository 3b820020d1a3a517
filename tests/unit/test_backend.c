/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memsrv's backend layer: every backend type created and its fd used by a
 * second process, seals, file backends as QEMU treats mem-path, invalid
 * cases with their messages, NUMA binding, users and delete, discard,
 * prealloc and state memfds.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "memsrv.h"
#include "test_memsrv_util.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

struct fixture {
	struct memsrv_registry *reg;
	char dir[64];
	unsigned progress_calls;
	unsigned last_percent;
	bool progress_rising;
};

static void on_progress(void *opaque, const char *id, unsigned percent)
{
	struct fixture *f = opaque;

	(void)id;
	if (percent <= f->last_percent || percent > 100)
		f->progress_rising = false;
	f->last_percent = percent;
	f->progress_calls++;
}

static int make_registry(struct fixture *f, enum memsrv_prealloc_method method)
{
	struct memsrv_registry_opts o = {
		.progress = on_progress,
		.progress_opaque = f,
		.prealloc_method = method,
	};

	memsrv_registry_destroy(f->reg);
	f->reg = NULL;
	return memsrv_registry_create(&o, &f->reg);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->progress_rising = true;
	snprintf(f->dir, sizeof(f->dir), "/tmp/splitvm-test-backend-XXXXXX");
	if (!mkdtemp(f->dir) || make_registry(f, MEMSRV_PREALLOC_AUTO) < 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	memsrv_registry_destroy(f->reg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static Splitvm__BackendConfig cfg_of(Splitvm__BackendType type, const char *id, uint64_t size)
{
	Splitvm__BackendConfig c;

	backend_config_init(&c, type);
	c.id = (char *)id;
	c.size = size;
	return c;
}

static struct memsrv_backend *create_ok(struct fixture *f, const Splitvm__BackendConfig *c)
{
	struct memsrv_error err = { 0 };
	struct memsrv_backend *b = NULL;
	int rc = memsrv_backend_create(f->reg, c, &b, &err);

	if (rc < 0)
		print_error("create %s: %s (%s)\n", c->id, err.text, err.field);
	assert_int_equal(rc, 0);
	assert_non_null(b);
	return b;
}

static uint64_t resident(const struct memsrv_backend *b)
{
	uint64_t bytes = UINT64_MAX;

	assert_int_equal(memsrv_backend_resident(b, &bytes), 0);
	return bytes;
}

/* --- a second process ---------------------------------------------------- */

struct child_args {
	uint64_t size;
	bool sealed;
	bool readonly;
};

/*
 * The child: reads what the parent wrote, writes its answer, and (for a
 * sealed memfd) finds that it can neither grow nor shrink the file.
 */
static int child_use_backend(int fd, void *arg)
{
	const struct child_args *a = arg;
	char *p;
	int seals;

	p = mmap(NULL, a->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 10;
	if (strcmp(p, "written by memsrv's test") != 0 || strcmp(p + a->size / 2, "middle") != 0)
		return 11;
	strcpy(p + 4096, "written by the child");
	if (a->sealed) {
		seals = fcntl(fd, F_GET_SEALS);
		if (seals < 0 || (seals & (F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)) !=
		                         (F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL))
			return 12;
		if (ftruncate(fd, (off_t)a->size * 2) == 0 || errno != EPERM)
			return 13;
		if (ftruncate(fd, 4096) == 0 || errno != EPERM)
			return 14;
		/* Nor can it lift the seals. */
		if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) == 0 || errno != EPERM)
			return 15;
	}
	munmap(p, a->size);
	close(fd);
	return 0;
}

static void check_shared_with_child(struct fixture *f, const Splitvm__BackendConfig *c, bool sealed)
{
	struct child_args a = { .size = c->size, .sealed = sealed };
	struct memsrv_error err = { 0 };
	int fd = -1;
	char *p;

	create_ok(f, c);
	assert_int_equal(memsrv_backend_acquire(f->reg, c->id, "dimm0", &fd, &err), 0);
	assert_true(fd >= 0);
	assert_int_equal(memsrv_backend_sealed(memsrv_backend_find(f->reg, c->id)), sealed);

	p = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	strcpy(p, "written by memsrv's test");
	strcpy(p + c->size / 2, "middle");
	assert_int_equal(test_run_child_with_fd(fd, child_use_backend, &a), 0);
	assert_string_equal(p + 4096, "written by the child");
	munmap(p, c->size);
}

static void test_ram_shared_with_second_process(void **state)
{
	Splitvm__BackendConfig c = cfg_of(SPLITVM__BACKEND_TYPE__BACKEND_RAM, "mem0", 16 * MIB);

	check_shared_with_child(*state, &c, true);
}

static void test_memfd_shared_with_second_process(void **state)
{
	Splitvm__BackendConfig c = cfg_of(SPLITVM__BACKEND_TYPE__BACKEND_MEMFD, "mem1", 8 * MIB);

	check_shared_with_child(*state, &c, true);
}

/* seal=off is accepted as QEMU spells it, and the memfd is sealed anyway. */
static void test_memfd_seal_off_still_sealed(void **state)
{
	Splitvm__BackendConfig c = cfg_of(SPLITVM__BACKEND_TYPE__BACKEND_MEMFD, "mem2", 4 * MIB);

	c.seal = false;
	check_shared_with_child(*state, &c, true);
}

static void test_file_shared_with_second_process(void **state)
{
	struct fixture *f = *state;
	Splitvm__BackendConfig c = cfg_of(SPLITVM__BACKEND_TYPE__BACKEND_FILE, "pm0", 4 * MIB);
	char path[128];

	snprintf(path, sizeof(path), "%s/pm0.img", f->dir);
	c.mem_path = path;
	c.share = true;
	check_shared_with_child(f, &c, false);
}

static void test_file_directory_shared_and_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	Splitvm__BackendConfig c = cfg_of(SPLITVM__BACKEND_TYPE__BACKEND_FILE, "pm1", 4 * MIB);
	struct memsrv_error err = { 0 };

	c.mem_path = f->dir;
	c.share = true;
	assert_int_equal(test_count_dir(f->dir), 0);
	check_shared_with_child(f, &c, false);
	/* Unlinked from the start: nothing to see while it lives... */
	assert_int_equal(test_count_dir(f->dir), 0);
	assert_int_equal(memsrv_backend_release(f->reg, "pm1", "dimm0", &err), 0);
	assert_int_equal(memsrv_backend_delete(f->reg, "pm1", &err), 0);
	/* ...nor after. */
	assert_int_equal(test_count_dir(f->dir), 0);
	assert_false(test_have_fd_named("pm1"));
}

/* --- file backends ------------------------------------------------------ */

static void test_file_msync_reaches_file(void **state)
{
	struct fixture *f = *state;
	Splitvm__BackendConfig c = cfg_of(SPLITVM__BACKEND_TYPE__BACKEND_FILE, "pm2", 2 * MIB);
	struct memsrv_error err = { 0 };
	char path[128], buf[32] = { 0 };
	struct stat st;
	int fd = -1, other;
	char *p;

	snprintf(path, sizeof(path), "%s/pmem.img", f->dir);
	c.mem_path = path;
	c.share = true;
	c.pmem = true;
	create_ok(f, &c);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 2 * MIB);
	assert_int_equal(memsrv_backend_acquire(f->reg, "pm2", "nv0", &fd, &err), 0);

	p = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	strcpy(p + MIB + 123, "persistent bytes");
	assert_int_equal(msync(p, c.size, MS_SYNC), 0);
	munmap(p, c.size);

	other = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(other >= 0);
	assert_int_equal(pread(other, buf, 16, (off_t)(MIB + 123)), 16);
	close(other);
	assert_string_equal(buf, "persistent bytes");
}

static void write_file(const char *path, const char *content, off_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

static void test_file_existing_smaller_is_grown(void **state)
{
	struct fixture *f = *state;
	Splitvm__BackendConfig c = cfg_of(SPLITVM__BACKEND_TYPE__BACKEND_FILE, "pm3", 4 * MIB);
	char path[128], buf[8] = { 0 };
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/small.img", f->dir);
	write_file(path, "keep", 4096);
	c.mem_path = path;
	create_ok(f, &c);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 4 * MIB);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_int_equal(pread(fd, buf, 4, 0), 4);
	close(fd);
	assert_string_equal(buf, "keep");
}

static void test_file_existing_larger_is_used(void **state)
{
	struct fixture *f = *state;
	Splitvm__BackendConfig c = cfg_of(SPLITVM__BACKEND_TYPE__BACKEND_FILE, "pm4", 1 * MIB);
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/large.img", f->dir);
	write_file(path, "x", 2 * MIB);
	c.mem_path = path;
	c.readonly = true;
	create_ok(f, &c);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 2 * MIB);
}

struct bad_file {
	const char *name;
	const char *path;  /* under the fixture dir; NULL: the dir itself */
	const char *setup; /* "short": a 4 KiB file, "fifo", "none" */
	bool readonly;
	uint64_t size;
	uint64_t align;
	const char *field;
	const char *text;
};

static const struct bad_file bad_files[] = {
	{ "missing directory", "no/such/dir/f.img", "none", false, MIB, 0, "mem-path",
	  "can't open backing store" },
	{ "missing file, readonly", "absent.img", "none", true, MIB, 0, "mem-path",
	  "No such file or directory" },
	{ "short file, readonly", "short.img", "short", true, MIB, 0, "readonly",
	  "is 4K, smaller than size 1M, and readonly=on cannot grow it" },
	{ "directory, readonly", NULL, "none", true, MIB, 0, "readonly",
	  "readonly=on needs an existing file" },
	{ "a fifo", "fifo", "fifo", false, MIB, 0, "mem-path",
	  "is not a file, a directory or a device" },
	{ "size not page aligned", "odd.img", "none", false, 6000, 0, "size",
	  "6000 is not a multiple of the page size 4K" },
	{ "align below page size", "align.img", "none", false, MIB, 2048, "align",
	  "alignment 0x800 must be multiples of page size 0x1000" },
	{ "align not a power of two", "align.img", "none", false, MIB, 3 * 4096, "align",
	  "alignment 0x3000 must be a power of two" },
};

static void test_file_invalid_cases(void **state)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		const struct bad_file *t = &bad_files[i];
		Splitvm__BackendConfig c =
		        cfg_of(SPLITVM__BACKEND_TYPE__BACKEND_FILE, "bad", t->size);
		struct memsrv_error err = { 0 };
		char path[160];

		if (t->path)
			snprintf(path, sizeof(path), "%s/%s", f->dir, t->path);
		else
			snprintf(path, sizeof(path), "%s", f->dir);
		if (strcmp(t->setup, "short") == 0)
			write_file(path, "s", 4096);
		if (strcmp(t->setup, "fifo") == 0)
			assert_int_equal(mkfifo(path, 0600), 0);
		c.mem_path = path;
		c.readonly = t->readonly;
		c.align = t->align;
		assert_true(memsrv_backend_create(f->reg, &c, NULL, &err) < 0);
		if (strcmp(err.field, t->field) || !strstr(err.text, t->text))
			fail_msg("%s: got field '%s' text '%s'; want '%s' and '%s'", t->name,
			         err.field, err.text, t->field, t->text);
		assert_null(memsrv_backend_find(f->reg, "bad"));
	}
	assert_int_equal(memsrv_registry_count(f->reg), 0);
	assert_false(test_have_fd_named("f.img"));
}

/* A file that cannot reach its size (here: over RLIMIT_FSIZE) is refused. */
static void test_file_cannot_grow(void **state)
{
	struct fixture *f = *state;
	Splitvm__BackendConfig c = cfg_of(SPLITVM__BACKEND_TYPE__BACKEND_FILE, "pm5", 4 * MIB);
	struct rlimit old, small = { .rlim_cur = 64 << 10, .rlim_max = RLIM_INFINITY };
	struct memsrv_error err = { 0 };
	char path[128];
	int rc;

	snprintf(path, sizeof(path), "%s/capped.img", f->dir);
	c.mem_path = path;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_max = old.rlim_max;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	rc = memsrv_backend_create(f->reg, &c, NULL, &err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(rc, -EFBIG);
	assert_int_equal(err.code, SPLITVM__ERROR_CODE__ERR_NO_SPACE);
	assert_string_equal(err.field, "mem-path");
	assert_non_null(strstr(err.text, "cannot grow"));
	assert_non_null(strstr(err.text, "from 0B to 4M: File too large"));
}

static void test_file_readonly_refuses_discard(void **state)
{
	struct fixture *f = *state;
	Splitvm__BackendConfig c = cfg_of(SPLITVM__BACKEND_TYPE__BACKEND_FILE, "ro0", MIB);
	struct memsrv_error err = { 0 };
	char path[128];

	snprintf(path, sizeof(path), "%s/ro.img", f->dir);
	write_file(path, "read me", MIB);
	c.mem_path = path;
	c.readonly = true;
	c.prealloc = true; /* populated for reading */
	create_ok(f, &c);
	assert_int_equal(memsrv_backend_discard(f->reg, "ro0", 0, 4096, &err), -EPERM);
	assert_string_equal(err.field, "readonly");
}

static void test_file_discard_data_on_delete(void **state)
{
	struct fixture *f = *state;
	Splitvm__BackendConfig c = cfg_of(SPLITVM__BACKEND_TYPE__BACKEND_FILE, "dd0", MIB);
	struct memsrv_error err = { 0 };
	char path[128], buf[8] = "x";
	int fd;

	snprintf(path, sizeof(path), "%s/dd.img", f->dir);
	write_file(path, "gone", MIB);
	c.mem_path = path;
	c.discard_data = true;
	create_ok(f, &c);
	assert_int_equal(memsrv_backend_delete(f->reg, "dd0", &err), 0);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_int_equal(pread(fd, buf, 4, 0), 4);
	close(fd);
	assert_memory_equal(buf, "\0\0\0\0", 4);
}

/* --- invalid configs ---------------------------------------------------- */

struct bad_cfg {
	const char *name;
	void (*mutate)(Splitvm__BackendConfig *c);
	Splitvm__BackendType type;
	int code;
	const char *field;
	const char *text;
};

static void m_size0(Splitvm__BackendConfig *c)
{
	c->size = 0;
}
static void m_no_id(Splitvm__BackendConfig *c)
{
	c->id = (char *)"";
}
static void m_bad_id(Splitvm__BackendConfig *c)
{
	c->id = (char *)"1mem";
}
static void m_bind_no_nodes(Splitvm__BackendConfig *c)
{
	c->policy = SPLITVM__HOST_MEM_POLICY__POLICY_BIND;
}
static uint32_t node0[] = { 0 };
static uint32_t node63[] = { 63 };
static uint32_t node200[] = { 200 };
static void m_nodes_default(Splitvm__BackendConfig *c)
{
	c->host_nodes = node0;
	c->n_host_nodes = 1;
}
static void m_node_missing(Splitvm__BackendConfig *c)
{
	c->host_nodes = node63;
	c->n_host_nodes = 1;
	c->policy = SPLITVM__HOST_MEM_POLICY__POLICY_BIND;
}
static void m_node_too_big(Splitvm__BackendConfig *c)
{
	c->host_nodes = node200;
	c->n_host_nodes = 1;
	c->policy = SPLITVM__HOST_MEM_POLICY__POLICY_INTERLEAVE;
}
static void m_prealloc_noreserve(Splitvm__BackendConfig *c)
{
	c->prealloc = true;
	c->reserve = false;
}
static void m_hugetlb_on_ram(Splitvm__BackendConfig *c)
{
	c->hugetlb = true;
}
static void m_hugetlbsize_alone(Splitvm__BackendConfig *c)
{
	c->hugetlbsize = 2 * MIB;
}
static void m_hugetlbsize_odd(Splitvm__BackendConfig *c)
{
	c->hugetlb = true;
	c->hugetlbsize = 3 * MIB;
}
static void m_mem_path_on_ram(Splitvm__BackendConfig *c)
{
	c->mem_path = (char *)"/tmp";
}
static void m_too_big(Splitvm__BackendConfig *c)
{
	c->size = 1ull << 50;
}
static void m_unaligned(Splitvm__BackendConfig *c)
{
	c->size = MIB + 512;
}
static void m_no_mem_path(Splitvm__BackendConfig *c)
{
	(void)c;
}
static void m_bad_type(Splitvm__BackendConfig *c)
{
	c->type = (Splitvm__BackendType)7;
}

#define INVAL SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT
#define RAM   SPLITVM__BACKEND_TYPE__BACKEND_RAM
#define MEMFD SPLITVM__BACKEND_TYPE__BACKEND_MEMFD
#define FILE_ SPLITVM__BACKEND_TYPE__BACKEND_FILE

static const struct bad_cfg bad_cfgs[] = {
	{ "size 0", m_size0, RAM, INVAL, "size",
	  "property 'size' of memory-backend-ram doesn't take value '0'" },
	{ "no id", m_no_id, RAM, INVAL, "id", "Parameter 'id' is missing" },
	{ "bad id", m_bad_id, MEMFD, INVAL, "id", "Parameter 'id' expects an identifier" },
	{ "bind without nodes", m_bind_no_nodes, RAM, INVAL, "policy",
	  "host-nodes must be set for policy bind" },
	{ "nodes with default", m_nodes_default, RAM, INVAL, "host-nodes",
	  "host-nodes must be empty for policy default" },
	{ "node not on host", m_node_missing, RAM, INVAL, "host-nodes",
	  "NUMA node 63 does not exist on this host" },
	{ "node over MAX_NODES", m_node_too_big, RAM, INVAL, "host-nodes",
	  "Invalid host-nodes value: 200" },
	{ "prealloc, reserve=off", m_prealloc_noreserve, MEMFD, INVAL, "prealloc",
	  "'prealloc=on' and 'reserve=off' are incompatible" },
	{ "hugetlb on ram", m_hugetlb_on_ram, RAM, INVAL, "hugetlb",
	  "Property 'memory-backend-ram.hugetlb' not found" },
	{ "hugetlbsize alone", m_hugetlbsize_alone, MEMFD, INVAL, "hugetlbsize",
	  "property 'hugetlbsize' needs hugetlb=on" },
	{ "hugetlbsize 3M", m_hugetlbsize_odd, MEMFD, INVAL, "hugetlbsize",
	  "Hugepage size must be a power of 2" },
	{ "mem-path on ram", m_mem_path_on_ram, RAM, INVAL, "mem-path",
	  "Property 'memory-backend-ram.mem-path' not found" },
	{ "more than the host has", m_too_big, RAM, SPLITVM__ERROR_CODE__ERR_NO_SPACE, "size",
	  "property 'size': 1P is more than this host's memory and swap" },
	{ "size not page aligned", m_unaligned, MEMFD, INVAL, "size",
	  "is not a multiple of the page size 4K" },
	{ "file without mem-path", m_no_mem_path, FILE_, INVAL, "mem-path",
	  "mem-path property not set" },
	{ "not a backend type", m_bad_type, RAM, INVAL, "qom-type", "invalid object type" },
};

static void test_invalid_configs(void **state)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(bad_cfgs) / sizeof(bad_cfgs[0]); i++) {
		const struct bad_cfg *t = &bad_cfgs[i];
		Splitvm__BackendConfig c = cfg_of(t->type, "bad", 4 * MIB);
		struct memsrv_error err = { 0 };

		t->mutate(&c);
		assert_true(memsrv_backend_create(f->reg, &c, NULL, &err) < 0);
		if ((int)err.code != t->code || strcmp(err.field, t->field) ||
		    !strstr(err.text, t->text))
			fail_msg("%s: got code %d field '%s' text '%s'", t->name, err.code,
			         err.field, err.text);
	}
	assert_int_equal(memsrv_registry_count(f->reg), 0);
}

/* reserve=off: what the host cannot back now is still allowed, sparse. */
static void test_sparse_beyond_host_with_reserve_off(void **state)
{
	struct fixture *f = *state;
	Splitvm__BackendConfig c = cfg_of(RAM, "huge", 1ull << 50);
	struct memsrv_error err = { 0 };

	c.reserve = false;
	create_ok(f, &c);
	assert_int_equal(resident(memsrv_backend_find(f->reg, "huge")), 0);
	assert_int_equal(memsrv_backend_delete(f->reg, "huge", &err), 0);
}

static void test_duplicate_id(void **state)
{
	struct fixture *f = *state;
	Splitvm__BackendConfig c = cfg_of(RAM, "mem0", MIB);
	Splitvm__BackendConfig d = cfg_of(MEMFD, "mem0", 2 * MIB);
	struct memsrv_error err = { 0 };

	create_ok(f, &c);
	assert_int_equal(memsrv_backend_create(f->reg, &d, NULL, &err), -EEXIST);
	assert_int_equal(err.code, SPLITVM__ERROR_CODE__ERR_ALREADY_EXISTS);
	assert_string_equal(err.field, "id");
	assert_non_null(strstr(err.text, "duplicate id 'mem0'"));
	assert_int_equal(memsrv_backend_size(memsrv_backend_find(f->reg, "mem0")), MIB);
}

/* The registry keeps its own copy of the config. */
static void test_config_copied(void **state)
{
	struct fixture *f = *state;
	char id[8] = "mem9";
	Splitvm__BackendConfig c = cfg_of(RAM, id, MIB);

	create_ok(f, &c);
	id[3] = '8';
	assert_non_null(memsrv_backend_find(f->reg, "mem9"));
	assert_string_equal(memsrv_backend_config(memsrv_backend_find(f->reg, "mem9"))->id, "mem9");
}

/* --- NUMA ---------------------------------------------------------------- */

#define MPOL_BIND_   2
#define MPOL_F_ADDR_ 2

static void test_numa_bind_node0_applied(void **state)
{
	struct fixture *f = *state;
	Splitvm__BackendConfig c = cfg_of(RAM, "numa0", 8 * MIB);
	struct memsrv_error err = { 0 };
	unsigned long mask[4] = { 0 };
	int fd = -1, mode = -1, node = -1;
	char *p;

	c.host_nodes = node0;
	c.n_host_nodes = 1;
	c.policy = SPLITVM__HOST_MEM_POLICY__POLICY_BIND;
	c.prealloc = true;
	create_ok(f, &c);
	assert_int_equal(memsrv_backend_acquire(f->reg, "numa0", "core", &fd, &err), 0);

	/* The policy went with the memfd, not with memsrv's mapping. */
	p = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	assert_int_equal(
	        syscall(SYS_get_mempolicy, &mode, mask, sizeof(mask) * 8, p + MIB, MPOL_F_ADDR_),
	        0);
	assert_int_equal(mode, MPOL_BIND_);
	assert_int_equal(mask[0], 1);
	assert_int_equal(memsrv_numa_page_node(p + 4 * MIB, &node), 0);
	assert_int_equal(node, 0);
	munmap(p, c.size);
}

static void test_numa_check_nodes_sysfs(void **state)
{
	struct fixture *f = *state;
	struct memsrv_error err = { 0 };
	uint32_t nodes[] = { 0, 1 };
	char path[128];

	/* A fake sysfs with nodes 0 and 1, then without 1. */
	snprintf(path, sizeof(path), "%s/node0", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/node1", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(memsrv_numa_check_nodes(nodes, 2, f->dir, &err), 0);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(memsrv_numa_check_nodes(nodes, 2, f->dir, &err), -EINVAL);
	assert_string_equal(err.field, "host-nodes");
	assert_non_null(strstr(err.text, "NUMA node 1 does not exist"));
}

/* --- users and delete --------------------------------------------------- */

static void test_delete_in_use_refused_then_freed(void **state)
{
	struct fixture *f = *state;
	Splitvm__BackendConfig c = cfg_of(RAM, "mem1", 32 * MIB);
	struct memsrv_error err = { 0 };
	struct memsrv_backend *b;
	int fd = -1, fd2 = -1;

	c.prealloc = true;
	b = create_ok(f, &c);
	assert_int_equal(resident(b), 32 * MIB);
	assert_int_equal(memsrv_backend_acquire(f->reg, "mem1", "dimm1", &fd, &err), 0);

	assert_int_equal(memsrv_backend_delete(f->reg, "mem1", &err), -EBUSY);
	assert_int_equal(err.code, SPLITVM__ERROR_CODE__ERR_IN_USE);
	assert_string_equal(err.text,
	                    "object 'mem1' is in use, can not be deleted (used by dimm1)");

	/* A second user, and the first one asking again (a restart). */
	assert_int_equal(memsrv_backend_acquire(f->reg, "mem1", "core", &fd2, &err), 0);
	assert_int_equal(fd2, fd);
	assert_int_equal(memsrv_backend_acquire(f->reg, "mem1", "dimm1", &fd2, &err), 0);
	assert_int_equal(memsrv_backend_user_count(b), 2);
	assert_int_equal(memsrv_backend_delete(f->reg, "mem1", &err), -EBUSY);
	assert_string_equal(err.text,
	                    "object 'mem1' is in use, can not be deleted (used by dimm1, core)");

	assert_int_equal(memsrv_backend_release(f->reg, "mem1", "dimm1", &err), 0);
	assert_int_equal(memsrv_backend_release(f->reg, "mem1", "dimm1", &err), -ENOENT);
	assert_int_equal(err.code, SPLITVM__ERROR_CODE__ERR_NOT_FOUND);
	assert_int_equal(memsrv_backend_delete(f->reg, "mem1", &err), -EBUSY);
	assert_int_equal(memsrv_backend_release(f->reg, "mem1", "core", &err), 0);

	assert_true(test_have_fd_named("memfd:splitvm:mem1"));
	assert_int_equal(memsrv_backend_delete(f->reg, "mem1", &err), 0);
	/* memsrv's fd, the last reference, is gone: the memory with it. */
	assert_false(test_have_fd_named("memfd:splitvm:mem1"));
	assert_null(memsrv_backend_find(f->reg, "mem1"));
	assert_int_equal(memsrv_backend_delete(f->reg, "mem1", &err), -ENOENT);
	assert_string_equal(err.text, "object 'mem1' not found");
}

static void test_acquire_checks_user(void **state)
{
	struct fixture *f = *state;
	Splitvm__BackendConfig c = cfg_of(RAM, "mem3", MIB);
	struct memsrv_error err = { 0 };
	int fd = -1;

	create_ok(f, &c);
	assert_int_equal(memsrv_backend_acquire(f->reg, "mem3", "bad user", &fd, &err), -EINVAL);
	assert_string_equal(err.field, "user");
	assert_int_equal(memsrv_backend_acquire(f->reg, "nope", "core", &fd, &err), -ENOENT);
	assert_int_equal(err.code, SPLITVM__ERROR_CODE__ERR_NOT_FOUND);
	assert_int_equal(fd, -1);
}

static void test_info_fill(void **state)
{
	struct fixture *f = *state;
	Splitvm__BackendConfig c = cfg_of(MEMFD, "mem4", 4 * MIB);
	Splitvm__BackendInfo info = SPLITVM__BACKEND_INFO__INIT;
	struct memsrv_error err = { 0 };
	int fd;

	c.prealloc = true;
	create_ok(f, &c);
	assert_int_equal(memsrv_backend_acquire(f->reg, "mem4", "vm0", &fd, &err), 0);
	assert_int_equal(memsrv_backend_acquire(f->reg, "mem4", "core", &fd, &err), 0);
	assert_int_equal(memsrv_backend_info_fill(memsrv_backend_find(f->reg, "mem4"), &info), 0);
	assert_string_equal(info.id, "mem4");
	assert_int_equal(info.type, MEMFD);
	assert_int_equal(info.size, 4 * MIB);
	assert_int_equal(info.resident, 4 * MIB);
	assert_true(info.sealed);
	assert_int_equal(info.n_users, 2);
	assert_string_equal(info.users[0], "vm0");
	assert_string_equal(info.users[1], "core");
	assert_true(info.config->share);
	memsrv_backend_info_clear(&info);
	assert_null(info.users);
}

/* --- discard ------------------------------------------------------------- */

static void test_discard_releases_memory(void **state)
{
	struct fixture *f = *state;
	Splitvm__BackendConfig c = cfg_of(RAM, "vmem0", 16 * MIB);
	struct memsrv_error err = { 0 };
	struct memsrv_backend *b;
	int fd = -1;
	char *p;

	c.prealloc = true;
	b = create_ok(f, &c);
	assert_int_equal(memsrv_backend_acquire(f->reg, "vmem0", "vm0", &fd, &err), 0);
	p = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	memset(p + 4 * MIB, 0xa5, 4 * MIB);
	assert_int_equal(resident(b), 16 * MIB);

	assert_int_equal(memsrv_backend_discard(f->reg, "vmem0", 4 * MIB, 4 * MIB, &err), 0);
	assert_int_equal(resident(b), 12 * MIB);
	/* A mapper sees zeroes where the hole is, and the file kept its size. */
	assert_int_equal(p[4 * MIB], 0);
	assert_int_equal(p[8 * MIB - 1], 0);
	munmap(p, c.size);
	assert_int_equal(lseek(fd, 0, SEEK_END), (off_t)(16 * MIB));
}

struct bad_discard {
	uint64_t offset, length;
	int rc;
	const char *field;
};

static void test_discard_range_checks(void **state)
{
	struct fixture *f = *state;
	Splitvm__BackendConfig c = cfg_of(RAM, "vmem1", 16 * MIB);
	static const struct bad_discard cases[] = {
		{ 0, 0, -EINVAL, "length" },
		{ 100, 4096, -EINVAL, "offset" },
		{ 4096, 100, -EINVAL, "length" },
		{ 12 * MIB, 8 * MIB, -ERANGE, "length" },
		{ 16 * MIB, 4096, -ERANGE, "length" },
		{ UINT64_MAX - 4095, 8192, -ERANGE, "length" },
	};
	struct memsrv_error err = { 0 };

	create_ok(f, &c);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(memsrv_backend_discard(f->reg, "vmem1", cases[i].offset,
		                                        cases[i].length, &err),
		                 cases[i].rc);
		assert_string_equal(err.field, cases[i].field);
		assert_int_equal(err.code, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT);
	}
	assert_int_equal(memsrv_backend_discard(f->reg, "novmem", 0, 4096, &err), -ENOENT);
}

/* --- prealloc ------------------------------------------------------------ */

static void test_prealloc_populates(void **state)
{
	struct fixture *f = *state;
	Splitvm__BackendConfig c = cfg_of(RAM, "pre0", 8 * MIB);
	Splitvm__BackendConfig d = cfg_of(RAM, "lazy0", 8 * MIB);

	c.prealloc = true;
	c.prealloc_threads = 2;
	assert_int_equal(resident(create_ok(f, &c)), 8 * MIB);
	assert_int_equal(resident(create_ok(f, &d)), 0);
	/* Under 1 GiB: no progress events. */
	assert_int_equal(f->progress_calls, 0);
}

static void test_prealloc_touch_fallback(void **state)
{
	struct fixture *f = *state;
	Splitvm__BackendConfig c = cfg_of(MEMFD, "pre1", 8 * MIB);

	assert_int_equal(make_registry(f, MEMSRV_PREALLOC_TOUCH), 0);
	c.prealloc = true;
	c.prealloc_threads = 4;
	assert_int_equal(resident(create_ok(f, &c)), 8 * MIB);
}

static void test_prealloc_thread_count(void **state)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned two = cpus >= 2 ? 2 : 1;

	(void)state;
	assert_int_equal(memsrv_prealloc_threads(4 * GIB, 4096, 0), 1);
	assert_int_equal(memsrv_prealloc_threads(4 * GIB, 4096, 2), two);
	assert_int_equal(memsrv_prealloc_threads(4 * GIB, 4096, 64), cpus > 16 ? 16 : cpus);
	/* Small backends and gigantic pages: no more threads than work. */
	assert_int_equal(memsrv_prealloc_threads(64 * MIB, 4096, 8), 1);
	assert_int_equal(memsrv_prealloc_threads(GIB, GIB, 8), 1);
}

static void test_prealloc_progress_rises_to_100(void **state)
{
	struct fixture *f = *state;
	struct memsrv_error err = { 0 };
	int fd = memfd_create("test-progress", MFD_CLOEXEC);
	struct memsrv_prealloc p = {
		.len = 256 * MIB,
		.page_size = 4096,
		.threads = 1,
		.id = "progress",
		.progress = on_progress,
		.opaque = f,
	};
	struct stat st;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)p.len), 0);
	p.addr = mmap(NULL, p.len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p.addr != MAP_FAILED);
	assert_int_equal(memsrv_prealloc_run(&p, &err), 0);
	/* Four 64 MiB chunks: 25, 50, 75, 100. */
	assert_int_equal(f->progress_calls, 4);
	assert_int_equal(f->last_percent, 100);
	assert_true(f->progress_rising);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal((uint64_t)st.st_blocks * 512, p.len);
	munmap(p.addr, p.len);

	/* Unaligned input is refused, not half done. */
	p.addr = (char *)p.addr + 1;
	assert_int_equal(memsrv_prealloc_run(&p, &err), -EINVAL);
	close(fd);
}

/* Backends above 1 GiB report progress while they preallocate. */
static void test_prealloc_progress_above_1g(void **state)
{
	struct fixture *f = *state;
	Splitvm__BackendConfig c = cfg_of(RAM, "big0", GIB + 64 * MIB);
	struct memsrv_error err = { 0 };

	c.prealloc = true;
	c.prealloc_threads = 2;
	create_ok(f, &c);
	assert_true(f->progress_calls >= 2);
	assert_int_equal(f->last_percent, 100);
	assert_true(f->progress_rising);
	assert_int_equal(memsrv_backend_delete(f->reg, "big0", &err), 0);
}

/* --- state memfds -------------------------------------------------------- */

static void test_state_memfd(void **state)
{
	struct fixture *f = *state;
	struct memsrv_error err = { 0 };
	int fd = -1, again = -1;
	bool created = false;
	char *p;

	assert_int_equal(memsrv_state_get(f->reg, "vm0", 4096, &fd, &created, &err), 0);
	assert_true(created);
	assert_int_equal(fcntl(fd, F_GET_SEALS) & (F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL),
	                 F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	strcpy(p, "journal");
	munmap(p, 4096);

	/* A restarted device process gets the same memfd, state intact. */
	assert_int_equal(memsrv_state_get(f->reg, "vm0", 4096, &again, &created, &err), 0);
	assert_false(created);
	assert_int_equal(again, fd);
	assert_int_equal(memsrv_state_get(f->reg, "vm0", 8192, &again, NULL, &err), -EINVAL);
	assert_string_equal(err.field, "size");
	assert_int_equal(memsrv_state_get(f->reg, "vm1", 0, &again, NULL, &err), -EINVAL);
	assert_int_equal(
	        memsrv_state_get(f->reg, "vm1", MEMSRV_STATE_MAX_SIZE + 1, &again, NULL, &err),
	        -EINVAL);
	assert_int_equal(memsrv_state_get(f->reg, "-vm", 4096, &again, NULL, &err), -EINVAL);
	assert_string_equal(err.field, "device");
	assert_int_equal(memsrv_state_count(f->reg), 1);

	assert_int_equal(memsrv_state_delete(f->reg, "vm0", &err), 0);
	assert_int_equal(memsrv_state_delete(f->reg, "vm0", &err), -ENOENT);
	assert_int_equal(err.code, SPLITVM__ERROR_CODE__ERR_NOT_FOUND);
	assert_false(test_have_fd_named("splitvm-state:vm0"));
	assert_int_equal(memsrv_state_count(f->reg), 0);
}

/* Shutdown releases everything, held or not (checked by valgrind). */
static void test_destroy_with_users(void **state)
{
	struct fixture *f = *state;
	Splitvm__BackendConfig c = cfg_of(RAM, "mem5", MIB);
	struct memsrv_error err = { 0 };
	int fd;

	create_ok(f, &c);
	assert_int_equal(memsrv_backend_acquire(f->reg, "mem5", "core", &fd, &err), 0);
	assert_int_equal(memsrv_state_get(f->reg, "dimm0", 64, &fd, NULL, &err), 0);
	memsrv_registry_destroy(f->reg);
	f->reg = NULL;
	assert_false(test_have_fd_named("splitvm:mem5"));
	assert_false(test_have_fd_named("splitvm-state:dimm0"));
	memsrv_registry_destroy(NULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_ram_shared_with_second_process),
		T(test_memfd_shared_with_second_process),
		T(test_memfd_seal_off_still_sealed),
		T(test_file_shared_with_second_process),
		T(test_file_directory_shared_and_leaves_nothing),
		T(test_file_msync_reaches_file),
		T(test_file_existing_smaller_is_grown),
		T(test_file_existing_larger_is_used),
		T(test_file_invalid_cases),
		T(test_file_cannot_grow),
		T(test_file_readonly_refuses_discard),
		T(test_file_discard_data_on_delete),
		T(test_invalid_configs),
		T(test_sparse_beyond_host_with_reserve_off),
		T(test_duplicate_id),
		T(test_config_copied),
		T(test_numa_bind_node0_applied),
		T(test_numa_check_nodes_sysfs),
		T(test_delete_in_use_refused_then_freed),
		T(test_acquire_checks_user),
		T(test_info_fill),
		T(test_discard_releases_memory),
		T(test_discard_range_checks),
		T(test_prealloc_populates),
		T(test_prealloc_touch_fallback),
		T(test_prealloc_thread_count),
		T(test_prealloc_progress_rises_to_100),
		T(test_prealloc_progress_above_1g),
		T(test_state_memfd),
		T(test_destroy_with_users),
	};

	log_init("test/backend");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
