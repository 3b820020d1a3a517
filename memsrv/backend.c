/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The backends: one fd each, created here and nowhere else (DESIGN.md,
 * "Guest memory and who maps what").
 *
 * memory-backend-ram and memory-backend-memfd are memfds (MFD_HUGETLB with
 * the page size in the flags for hugetlb=on); memory-backend-file opens its
 * mem-path as QEMU does: a directory gets an unlinked file of its own, an
 * existing file is used (and grown if it is smaller and writable), a missing
 * file in an existing directory is created.  memsrv maps a backend only to
 * bind its pages (host-nodes/policy) and to preallocate them, and unmaps it
 * again: the guest's data is none of its business.
 *
 * merge, dump, reserve and share are properties of a mapping: memsrv keeps
 * them in the config that goes out with the fd, and the mapping process
 * applies them.
 */
#include "memsrv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "fd.h"
#include "log.h"
#include "size.h"

#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif
#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif

#define GIB (1ull << 30)

struct memsrv_backend {
	struct memsrv_backend *next;
	Splitvm__BackendConfig *cfg; /* our copy */
	int fd;
	uint64_t size;
	size_t page_size;
	bool sealed;
	bool hugetlb;
	char **users;
	size_t n_users;
};

struct memsrv_state {
	struct memsrv_state *next;
	char *device;
	uint64_t size;
	int fd;
};

struct memsrv_registry {
	struct memsrv_registry_opts opts;
	struct memsrv_backend *backends; /* creation order */
	size_t n_backends;
	struct memsrv_state *states;
	size_t n_states;
};

void memsrv_error_set(struct memsrv_error *err, Splitvm__ErrorCode code, const char *field,
                      const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->code = code;
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
}

/* "1G", "2M", "4097K": for messages. */
static const char *human(uint64_t bytes, char *buf, size_t len)
{
	return size_format(bytes, buf, len);
}

/* --- registry ----------------------------------------------------------- */

int memsrv_registry_create(const struct memsrv_registry_opts *opts, struct memsrv_registry **out)
{
	struct memsrv_registry *reg = calloc(1, sizeof(*reg));

	if (!reg)
		return -ENOMEM;
	if (opts)
		reg->opts = *opts;
	*out = reg;
	return 0;
}

static void backend_free(struct memsrv_backend *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_users; i++)
		free(b->users[i]);
	free(b->users);
	close_fd(&b->fd);
	backend_config_free(b->cfg);
	free(b);
}

static void state_free(struct memsrv_state *s)
{
	if (!s)
		return;
	close_fd(&s->fd);
	free(s->device);
	free(s);
}

void memsrv_registry_destroy(struct memsrv_registry *reg)
{
	if (!reg)
		return;
	while (reg->backends) {
		struct memsrv_backend *b = reg->backends;

		reg->backends = b->next;
		if (b->n_users)
			log_info("released backend %s (held by %zu user%s) at shutdown", b->cfg->id,
			         b->n_users, b->n_users == 1 ? "" : "s");
		backend_free(b);
	}
	while (reg->states) {
		struct memsrv_state *s = reg->states;

		reg->states = s->next;
		state_free(s);
	}
	free(reg);
}

size_t memsrv_registry_count(const struct memsrv_registry *reg)
{
	return reg->n_backends;
}

struct memsrv_backend *memsrv_registry_at(struct memsrv_registry *reg, size_t i)
{
	struct memsrv_backend *b = reg->backends;

	while (b && i--)
		b = b->next;
	return b;
}

struct memsrv_backend *memsrv_backend_find(struct memsrv_registry *reg, const char *id)
{
	for (struct memsrv_backend *b = reg->backends; b; b = b->next)
		if (strcmp(b->cfg->id, id) == 0)
			return b;
	return NULL;
}

static struct memsrv_backend *find_or_error(struct memsrv_registry *reg, const char *id,
                                            struct memsrv_error *err)
{
	struct memsrv_backend *b = id ? memsrv_backend_find(reg, id) : NULL;

	if (!b)
		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_NOT_FOUND, "id",
		                 "object '%s' not found", id ? id : "");
	return b;
}

/* --- host facts --------------------------------------------------------- */

/* The default huge page size (Hugepagesize in /proc/meminfo), 0 if none. */
static uint64_t default_hugepage_size(void)
{
	char line[128];
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb << 10;
}

/* The pool of @page_size pages: -1 when the host has no such pool. */
static long hugepages_free(uint64_t page_size)
{
	char path[128];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB",
	         page_size >> 10);
	if (access(path, F_OK) < 0)
		return -1;
	strcat(path, "/free_hugepages");
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &n) != 1)
		n = 0;
	fclose(f);
	return n;
}

static int log2_exact(uint64_t v)
{
	return v && !(v & (v - 1)) ? __builtin_ctzll(v) : -1;
}

/* --- creating each type ------------------------------------------------- */

static const char *type_name(const struct memsrv_backend *b)
{
	return backend_config_type_name(b->cfg->type);
}

static int create_memfd(struct memsrv_backend *b, struct memsrv_error *err)
{
	const Splitvm__BackendConfig *cfg = b->cfg;
	unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	char name[8 + BACKEND_CONFIG_ID_MAX + 1];
	char h1[32], h2[32];

	b->page_size = (size_t)sysconf(_SC_PAGESIZE);
	if (cfg->hugetlb) {
		uint64_t hps = cfg->hugetlbsize ? cfg->hugetlbsize : default_hugepage_size();
		int shift = log2_exact(hps);

		if (shift < 0 || hugepages_free(hps) < 0) {
			memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_UNSUPPORTED,
			                 cfg->hugetlbsize ? "hugetlbsize" : "hugetlb",
			                 "%s '%s': this host has no %s huge pages", type_name(b),
			                 cfg->id, hps ? human(hps, h1, sizeof(h1)) : "");
			return -EOPNOTSUPP;
		}
		flags |= MFD_HUGETLB;
		/* Only a size other than the default needs naming. */
		if (cfg->hugetlbsize)
			flags |= (unsigned)shift << MFD_HUGE_SHIFT;
		b->page_size = (size_t)hps;
		b->hugetlb = true;
	}
	if (b->size % b->page_size) {
		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "size",
		                 "%s '%s': property 'size': %" PRIu64
		                 " is not a multiple of the page size %s",
		                 type_name(b), cfg->id, b->size,
		                 human(b->page_size, h1, sizeof(h1)));
		return -EINVAL;
	}
	if (!b->hugetlb && cfg->reserve) {
		struct sysinfo si;

		/* More than RAM and swap together can never be backed. */
		if (sysinfo(&si) == 0) {
			uint64_t host = ((uint64_t)si.totalram + si.totalswap) * si.mem_unit;

			if (b->size > host) {
				memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_NO_SPACE, "size",
				                 "%s '%s': property 'size': %s is more than this "
				                 "host's memory and swap (%s)",
				                 type_name(b), cfg->id,
				                 human(b->size, h1, sizeof(h1)),
				                 human(host, h2, sizeof(h2)));
				return -ENOMEM;
			}
		}
	}

	snprintf(name, sizeof(name), "splitvm:%s", cfg->id);
	b->fd = memfd_create(name, flags);
	if (b->fd < 0) {
		int e = errno;

		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INTERNAL, "",
		                 "%s '%s': memfd_create failed: %s", type_name(b), cfg->id,
		                 strerror(e));
		return -e;
	}
	if (ftruncate(b->fd, (off_t)b->size) < 0) {
		int e = errno;

		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_NO_SPACE, "size",
		                 "%s '%s': property 'size': cannot size the memfd to %s: %s",
		                 type_name(b), cfg->id, human(b->size, h1, sizeof(h1)),
		                 strerror(e));
		return -e;
	}
	return 0;
}

/*
 * A directory: a file of our own inside it that nobody else can open and
 * that goes away with its last fd.  O_TMPFILE where the file system has it,
 * else mkstemp and unlink, as QEMU does.
 */
static int open_in_directory(struct memsrv_backend *b, struct memsrv_error *err)
{
	const char *dir = b->cfg->mem_path;
	char path[PATH_MAX];
	int fd, e;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		goto fail;
	if (snprintf(path, sizeof(path), "%s/splitvm_back_mem.%s.XXXXXX", dir, b->cfg->id) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		goto fail;
	if (unlink(path) < 0)
		log_warn("%s: cannot unlink %s", b->cfg->id, path);
	return fd;
fail:
	e = errno;
	memsrv_error_set(err,
	                 e == EACCES || e == EPERM ? SPLITVM__ERROR_CODE__ERR_PERMISSION
	                                           : SPLITVM__ERROR_CODE__ERR_INTERNAL,
	                 "mem-path", "%s '%s': can't create a backing file in directory %s: %s",
	                 type_name(b), b->cfg->id, dir, strerror(e));
	return -e;
}

static int open_mem_path(struct memsrv_backend *b, bool *is_dir, struct memsrv_error *err)
{
	const Splitvm__BackendConfig *cfg = b->cfg;
	int fd, e;

	*is_dir = false;
	for (;;) {
		fd = open(cfg->mem_path, (cfg->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno == EISDIR && !cfg->readonly) {
			*is_dir = true;
			return open_in_directory(b, err);
		}
		if (errno == ENOENT && !cfg->readonly) {
			/* A new file in an existing directory: create it (QEMU does). */
			fd = open(cfg->mem_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			if (fd >= 0)
				return fd;
			if (errno == EEXIST)
				continue; /* created under us: open what is there */
		}
		break;
	}
	e = errno;
	memsrv_error_set(
	        err,
	        e == EACCES || e == EPERM || e == EROFS ? SPLITVM__ERROR_CODE__ERR_PERMISSION
	                                                : SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT,
	        "mem-path", "%s '%s': property 'mem-path': can't open backing store %s: %s",
	        type_name(b), cfg->id, cfg->mem_path, strerror(e));
	return -e;
}

static int create_file(struct memsrv_backend *b, struct memsrv_error *err)
{
	const Splitvm__BackendConfig *cfg = b->cfg;
	char h1[32], h2[32];
	struct statfs sfs;
	struct stat st;
	bool is_dir;
	int rc;

	rc = open_mem_path(b, &is_dir, err);
	if (rc < 0)
		return rc;
	b->fd = rc;
	if (fstat(b->fd, &st) < 0 || fstatfs(b->fd, &sfs) < 0) {
		rc = -errno;
		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INTERNAL, "mem-path",
		                 "%s '%s': cannot stat %s: %s", type_name(b), cfg->id,
		                 cfg->mem_path, strerror(-rc));
		return rc;
	}
	/* open(O_RDONLY) takes a directory; readonly=on has no file to make. */
	if (S_ISDIR(st.st_mode)) {
		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "readonly",
		                 "%s '%s': property 'readonly': readonly=on needs an existing "
		                 "file, and mem-path %s is a directory",
		                 type_name(b), cfg->id, cfg->mem_path);
		return -EINVAL;
	}
	b->page_size = (size_t)sysconf(_SC_PAGESIZE);
	if ((unsigned long)sfs.f_type == HUGETLBFS_MAGIC) {
		b->page_size = (size_t)sfs.f_bsize;
		b->hugetlb = true;
	}
	if (b->size % b->page_size) {
		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "size",
		                 "%s '%s': property 'size': %" PRIu64
		                 " is not a multiple of the page size %s of %s",
		                 type_name(b), cfg->id, b->size,
		                 human(b->page_size, h1, sizeof(h1)), cfg->mem_path);
		return -EINVAL;
	}
	if (cfg->align && cfg->align % b->page_size) {
		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "align",
		                 "%s '%s': alignment 0x%" PRIx64
		                 " must be multiples of page size 0x%zx",
		                 type_name(b), cfg->id, cfg->align, b->page_size);
		return -EINVAL;
	}
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		return 0; /* a DAX or block device: its size is its own */
	if (!S_ISREG(st.st_mode)) {
		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "mem-path",
		                 "%s '%s': property 'mem-path': %s is not a file, a directory "
		                 "or a device",
		                 type_name(b), cfg->id, cfg->mem_path);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size >= b->size)
		return 0;
	if (cfg->readonly) {
		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "readonly",
		                 "%s '%s': property 'readonly': %s is %s, smaller than size %s, "
		                 "and readonly=on cannot grow it",
		                 type_name(b), cfg->id, cfg->mem_path,
		                 human((uint64_t)st.st_size, h1, sizeof(h1)),
		                 human(b->size, h2, sizeof(h2)));
		return -EINVAL;
	}
	if (ftruncate(b->fd, (off_t)b->size) < 0) {
		rc = -errno;
		memsrv_error_set(err,
		                 rc == -EFBIG || rc == -ENOSPC
		                         ? SPLITVM__ERROR_CODE__ERR_NO_SPACE
		                         : SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT,
		                 "mem-path",
		                 "%s '%s': property 'mem-path': cannot grow %s from %s to %s: %s",
		                 type_name(b), cfg->id, is_dir ? "the backing file" : cfg->mem_path,
		                 human((uint64_t)st.st_size, h1, sizeof(h1)),
		                 human(b->size, h2, sizeof(h2)), strerror(-rc));
		return rc;
	}
	return 0;
}

/* Bind and preallocate through a mapping of our own, dropped at the end. */
static int bind_and_prealloc(struct memsrv_registry *reg, struct memsrv_backend *b,
                             struct memsrv_error *err)
{
	const Splitvm__BackendConfig *cfg = b->cfg;
	bool bind = cfg->policy != SPLITVM__HOST_MEM_POLICY__POLICY_DEFAULT || cfg->n_host_nodes;
	int prot = PROT_READ | (cfg->readonly ? 0 : PROT_WRITE);
	char h1[32];
	void *addr;
	int rc = 0;

	/*
	 * Huge pages are mapped even without either: a shared hugetlb mapping
	 * reserves its pages for the file, so a host without enough of them
	 * says so now, not with a SIGBUS in the guest.
	 */
	if (!bind && !cfg->prealloc && !(b->hugetlb && cfg->reserve))
		return 0;
	addr = mmap(NULL, b->size, prot, MAP_SHARED, b->fd, 0);
	if (addr == MAP_FAILED) {
		rc = -errno;
		if (b->hugetlb && rc == -ENOMEM) {
			long free_pages = hugepages_free(b->page_size);

			memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_NO_SPACE, "size",
			                 "%s '%s': property 'size': the host cannot give %s of %s "
			                 "huge pages (%ld free)",
			                 type_name(b), cfg->id, human(b->size, h1, sizeof(h1)),
			                 human(b->page_size, (char[32]){ 0 }, 32),
			                 free_pages < 0 ? 0 : free_pages);
		} else {
			memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INTERNAL, "",
			                 "%s '%s': cannot map it: %s", type_name(b), cfg->id,
			                 strerror(-rc));
		}
		return rc;
	}
	if (bind) {
		rc = memsrv_numa_bind(addr, b->size, cfg->policy, cfg->host_nodes,
		                      cfg->n_host_nodes, err);
		if (rc < 0)
			goto out;
	}
	if (cfg->prealloc) {
		struct memsrv_prealloc p = {
			.addr = addr,
			.len = b->size,
			.page_size = b->page_size,
			.threads = cfg->prealloc_threads ? cfg->prealloc_threads : 1,
			.read_only = cfg->readonly,
			.method = reg->opts.prealloc_method,
			.id = cfg->id,
			/* Progress is worth an event only when it takes a while. */
			.progress = b->size > GIB ? reg->opts.progress : NULL,
			.opaque = reg->opts.progress_opaque,
		};

		rc = memsrv_prealloc_run(&p, err);
	}
out:
	munmap(addr, b->size);
	return rc;
}

static int seal(struct memsrv_backend *b, struct memsrv_error *err)
{
	if (b->cfg->type == SPLITVM__BACKEND_TYPE__BACKEND_FILE)
		return 0; /* a host file cannot be sealed */
	if (fcntl(b->fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		int e = errno;

		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INTERNAL, "seal",
		                 "%s '%s': cannot seal the memfd: %s", type_name(b), b->cfg->id,
		                 strerror(e));
		return -e;
	}
	b->sealed = true;
	return 0;
}

int memsrv_backend_create(struct memsrv_registry *reg, const Splitvm__BackendConfig *cfg,
                          struct memsrv_backend **out, struct memsrv_error *err)
{
	struct backend_config_error cerr = { 0 };
	struct memsrv_backend *b, **tail;
	char desc[512], h1[32];
	int rc;

	rc = backend_config_validate(cfg, &cerr);
	if (rc < 0) {
		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, cerr.field, "%s",
		                 cerr.text);
		return rc;
	}
	if (memsrv_backend_find(reg, cfg->id)) {
		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_ALREADY_EXISTS, "id",
		                 "%s: duplicate id '%s': a backend with this id exists",
		                 backend_config_type_name(cfg->type), cfg->id);
		return -EEXIST;
	}
	rc = memsrv_numa_check_nodes(cfg->host_nodes, cfg->n_host_nodes, reg->opts.sysfs_node_dir,
	                             err);
	if (rc < 0)
		return rc;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->fd = -1;
	b->size = cfg->size;
	rc = backend_config_copy(cfg, &b->cfg);
	if (rc < 0)
		goto fail;

	if (cfg->type == SPLITVM__BACKEND_TYPE__BACKEND_FILE)
		rc = create_file(b, err);
	else
		rc = create_memfd(b, err);
	if (rc < 0)
		goto fail;
	rc = bind_and_prealloc(reg, b, err);
	if (rc < 0)
		goto fail;
	rc = seal(b, err);
	if (rc < 0)
		goto fail;

	for (tail = &reg->backends; *tail; tail = &(*tail)->next)
		;
	*tail = b;
	reg->n_backends++;
	if (backend_config_format(b->cfg, desc, sizeof(desc)) < 0)
		log_debug("backend %s: description cut short", b->cfg->id);
	log_info("created backend %s (%s%s): %s", b->cfg->id, human(b->size, h1, sizeof(h1)),
	         b->sealed ? ", sealed" : "", desc);
	if (out)
		*out = b;
	return 0;
fail:
	backend_free(b);
	return rc;
}

/* --- users, delete, discard -------------------------------------------- */

static bool user_valid(const char *user)
{
	return user && (strcmp(user, "core") == 0 || backend_config_id_wellformed(user));
}

static ssize_t user_index(const struct memsrv_backend *b, const char *user)
{
	for (size_t i = 0; i < b->n_users; i++)
		if (strcmp(b->users[i], user) == 0)
			return (ssize_t)i;
	return -1;
}

int memsrv_backend_acquire(struct memsrv_registry *reg, const char *id, const char *user, int *fd,
                           struct memsrv_error *err)
{
	struct memsrv_backend *b = find_or_error(reg, id, err);
	char **users, *copy;

	if (!b)
		return -ENOENT;
	if (!user_valid(user)) {
		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "user",
		                 "Parameter 'user' expects an identifier or \"core\"");
		return -EINVAL;
	}
	if (user_index(b, user) < 0) {
		copy = strdup(user);
		users = copy ? realloc(b->users, (b->n_users + 1) * sizeof(*users)) : NULL;
		if (!users) {
			free(copy);
			memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INTERNAL, "",
			                 "out of memory");
			return -ENOMEM;
		}
		users[b->n_users++] = copy;
		b->users = users;
	}
	*fd = b->fd;
	return 0;
}

int memsrv_backend_release(struct memsrv_registry *reg, const char *id, const char *user,
                           struct memsrv_error *err)
{
	struct memsrv_backend *b = find_or_error(reg, id, err);
	ssize_t i;

	if (!b)
		return -ENOENT;
	i = user ? user_index(b, user) : -1;
	if (i < 0) {
		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_NOT_FOUND, "user",
		                 "backend '%s' is not held by '%s'", id, user ? user : "");
		return -ENOENT;
	}
	free(b->users[i]);
	memmove(&b->users[i], &b->users[i + 1], (b->n_users - (size_t)i - 1) * sizeof(char *));
	b->n_users--;
	log_info("%s released backend %s", user, id);
	return 0;
}

int memsrv_backend_delete(struct memsrv_registry *reg, const char *id, struct memsrv_error *err)
{
	struct memsrv_backend *b = find_or_error(reg, id, err), **pp;
	const Splitvm__BackendConfig *cfg;

	if (!b)
		return -ENOENT;
	cfg = b->cfg;
	if (b->n_users) {
		char who[160] = "";
		size_t used = 0;

		for (size_t i = 0; i < b->n_users && used < sizeof(who); i++) {
			int n = snprintf(who + used, sizeof(who) - used, "%s%s", i ? ", " : "",
			                 b->users[i]);

			used += n > 0 ? (size_t)n : 0;
		}
		/* QEMU's words, then who holds it. */
		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_IN_USE, "id",
		                 "object '%s' is in use, can not be deleted (used by %s)", id, who);
		return -EBUSY;
	}
	/* discard-data=on: the file's contents are not worth keeping. */
	if (cfg->type == SPLITVM__BACKEND_TYPE__BACKEND_FILE && cfg->discard_data &&
	    !cfg->readonly &&
	    fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)b->size) < 0)
		log_warn("backend %s: discard-data: cannot punch %s", id, cfg->mem_path);

	for (pp = &reg->backends; *pp != b; pp = &(*pp)->next)
		;
	*pp = b->next;
	reg->n_backends--;
	log_info("deleted backend %s", id);
	backend_free(b);
	return 0;
}

int memsrv_backend_discard(struct memsrv_registry *reg, const char *id, uint64_t offset,
                           uint64_t length, struct memsrv_error *err)
{
	struct memsrv_backend *b = find_or_error(reg, id, err);
	uint64_t end;
	char h1[32];

	if (!b)
		return -ENOENT;
	if (!length || offset % b->page_size || length % b->page_size) {
		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT,
		                 !length || length % b->page_size ? "length" : "offset",
		                 "discard of '%s': offset 0x%" PRIx64 " and length 0x%" PRIx64
		                 " must be non-empty multiples of the page size %s",
		                 id, offset, length, human(b->page_size, h1, sizeof(h1)));
		return -EINVAL;
	}
	if (__builtin_add_overflow(offset, length, &end) || end > b->size) {
		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "length",
		                 "discard of '%s': range 0x%" PRIx64 "+0x%" PRIx64
		                 " runs past its size 0x%" PRIx64,
		                 id, offset, length, b->size);
		return -ERANGE;
	}
	if (b->cfg->readonly) {
		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_PERMISSION, "readonly",
		                 "discard of '%s': the backend is readonly=on", id);
		return -EPERM;
	}
	if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset,
	              (off_t)length) < 0) {
		int e = errno;

		memsrv_error_set(err,
		                 e == EOPNOTSUPP ? SPLITVM__ERROR_CODE__ERR_UNSUPPORTED
		                                 : SPLITVM__ERROR_CODE__ERR_INTERNAL,
		                 "", "discard of '%s': cannot punch a hole: %s", id, strerror(e));
		return -e;
	}
	log_debug("discarded 0x%" PRIx64 "+0x%" PRIx64 " of %s", offset, length, id);
	return 0;
}

/* --- accessors ---------------------------------------------------------- */

const char *memsrv_backend_id(const struct memsrv_backend *b)
{
	return b->cfg->id;
}

const Splitvm__BackendConfig *memsrv_backend_config(const struct memsrv_backend *b)
{
	return b->cfg;
}

int memsrv_backend_fd(const struct memsrv_backend *b)
{
	return b->fd;
}

uint64_t memsrv_backend_size(const struct memsrv_backend *b)
{
	return b->size;
}

size_t memsrv_backend_page_size(const struct memsrv_backend *b)
{
	return b->page_size;
}

bool memsrv_backend_sealed(const struct memsrv_backend *b)
{
	return b->sealed;
}

size_t memsrv_backend_user_count(const struct memsrv_backend *b)
{
	return b->n_users;
}

const char *memsrv_backend_user(const struct memsrv_backend *b, size_t i)
{
	return i < b->n_users ? b->users[i] : NULL;
}

int memsrv_backend_resident(const struct memsrv_backend *b, uint64_t *bytes)
{
	struct stat st;

	if (fstat(b->fd, &st) < 0)
		return -errno;
	*bytes = (uint64_t)st.st_blocks * 512;
	return 0;
}

int memsrv_backend_info_fill(const struct memsrv_backend *b, Splitvm__BackendInfo *info)
{
	uint64_t resident = 0;

	if (memsrv_backend_resident(b, &resident) < 0)
		resident = 0;
	info->id = b->cfg->id;
	info->type = b->cfg->type;
	info->size = b->size;
	info->resident = resident;
	info->sealed = b->sealed;
	info->config = b->cfg;
	info->n_users = 0;
	info->users = NULL;
	if (b->n_users) {
		info->users = calloc(b->n_users, sizeof(char *));
		if (!info->users)
			return -ENOMEM;
		for (size_t i = 0; i < b->n_users; i++)
			info->users[i] = b->users[i];
		info->n_users = b->n_users;
	}
	return 0;
}

void memsrv_backend_info_clear(Splitvm__BackendInfo *info)
{
	free(info->users);
	info->users = NULL;
	info->n_users = 0;
}

/* --- state memfds ------------------------------------------------------- */

size_t memsrv_state_count(const struct memsrv_registry *reg)
{
	return reg->n_states;
}

int memsrv_state_get(struct memsrv_registry *reg, const char *device, uint64_t size, int *fd,
                     bool *created, struct memsrv_error *err)
{
	char name[16 + BACKEND_CONFIG_ID_MAX + 1];
	struct memsrv_state *s;
	int e;

	if (!device || !backend_config_id_wellformed(device)) {
		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "device",
		                 "Parameter 'device' expects an identifier");
		return -EINVAL;
	}
	if (!size || size > MEMSRV_STATE_MAX_SIZE) {
		memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "size",
		                 "state of '%s': size %" PRIu64 " must be 1 to %u bytes", device,
		                 size, MEMSRV_STATE_MAX_SIZE);
		return -EINVAL;
	}
	for (s = reg->states; s; s = s->next) {
		if (strcmp(s->device, device))
			continue;
		if (s->size != size) {
			memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "size",
			                 "state of '%s' is %" PRIu64 " bytes, not %" PRIu64, device,
			                 s->size, size);
			return -EINVAL;
		}
		*fd = s->fd;
		if (created)
			*created = false;
		return 0;
	}

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = -1;
	s->size = size;
	s->device = strdup(device);
	if (!s->device) {
		e = ENOMEM;
		goto fail;
	}
	snprintf(name, sizeof(name), "splitvm-state:%s", device);
	s->fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (s->fd < 0 || ftruncate(s->fd, (off_t)size) < 0 ||
	    fcntl(s->fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		e = errno;
		goto fail;
	}
	s->next = reg->states;
	reg->states = s;
	reg->n_states++;
	log_info("created state memfd of %s (%" PRIu64 " bytes)", device, size);
	*fd = s->fd;
	if (created)
		*created = true;
	return 0;
fail:
	memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_INTERNAL, "",
	                 "state of '%s': cannot create its memfd: %s", device, strerror(e));
	state_free(s);
	return -e;
}

int memsrv_state_delete(struct memsrv_registry *reg, const char *device, struct memsrv_error *err)
{
	for (struct memsrv_state **pp = &reg->states; *pp; pp = &(*pp)->next) {
		struct memsrv_state *s = *pp;

		if (strcmp(s->device, device ? device : ""))
			continue;
		*pp = s->next;
		reg->n_states--;
		log_info("deleted state memfd of %s", device);
		state_free(s);
		return 0;
	}
	memsrv_error_set(err, SPLITVM__ERROR_CODE__ERR_NOT_FOUND, "device",
	                 "no state memfd for device '%s'", device ? device : "");
	return -ENOENT;
}
