/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * splitvm-memsrv's contract: the backend layer (every guest-memory backend,
 * its fd, users and lifetime), the state memfds of device processes, and the
 * request server that puts them on the memory plane.
 *
 * Error rule, for every function here that returns int: 0 on success, a
 * negative errno on failure, and then *err (when not NULL) holds the
 * protobuf ErrorCode for the peer, the property or field at fault, and one
 * sentence for a human that names it.
 *
 * fd rule: the registry owns every backend and state fd.  Functions that hand
 * one out return it borrowed: the caller sends it (SCM_RIGHTS duplicates it)
 * and never closes it.
 */
#ifndef SPLITVM_MEMSRV_H
#define SPLITVM_MEMSRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend_config.h"
#include "splitvm_proto.h"

#define MEMSRV_WUR __attribute__((warn_unused_result))

struct memsrv_error {
	Splitvm__ErrorCode code;
	char field[64]; /* "size", "mem-path", "id"... ; "" when none */
	char text[256]; /* "memory-backend-file 'pm0': property 'mem-path': ..." */
};

void memsrv_error_set(struct memsrv_error *err, Splitvm__ErrorCode code, const char *field,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* --- prealloc.c: populate a mapping with N threads --------------------- */

/* Called from the calling thread only, with a rising percent (0..100]. */
typedef void (*memsrv_progress_fn)(void *opaque, const char *id, unsigned percent);

enum memsrv_prealloc_method {
	MEMSRV_PREALLOC_AUTO = 0, /* MADV_POPULATE_WRITE, else touch */
	MEMSRV_PREALLOC_TOUCH,    /* one byte per page: kernels before 5.14 */
};

struct memsrv_prealloc {
	void *addr;
	size_t len;
	size_t page_size; /* 4 KiB, or the huge page size */
	unsigned threads; /* 0 or 1: the calling thread alone */
	bool read_only;   /* a readonly=on file: MADV_POPULATE_READ */
	enum memsrv_prealloc_method method;
	const char *id;              /* for progress and logs */
	memsrv_progress_fn progress; /* NULL: none */
	void *opaque;
};

/*
 * Fault in every page of [addr, addr+len).  Threads beyond the online CPUs,
 * beyond one per 64 MiB, or beyond 16 (QEMU's cap) are not started.
 */
int memsrv_prealloc_run(const struct memsrv_prealloc *p, struct memsrv_error *err) MEMSRV_WUR;

/* How many threads memsrv_prealloc_run() will really use. */
unsigned memsrv_prealloc_threads(size_t len, size_t page_size, unsigned wanted);

/* --- numa.c: host-nodes and policy ------------------------------------- */

/*
 * Checks that each node exists on this host: a directory node<N> under
 * @sysfs_node_dir (NULL for /sys/devices/system/node).
 */
int memsrv_numa_check_nodes(const uint32_t *nodes, size_t n, const char *sysfs_node_dir,
                            struct memsrv_error *err) MEMSRV_WUR;

/* mbind() of [addr, addr+len) with the backend's policy (raw syscall). */
int memsrv_numa_bind(void *addr, size_t len, Splitvm__HostMemPolicy policy, const uint32_t *nodes,
                     size_t n, struct memsrv_error *err) MEMSRV_WUR;

/* The node of the page at @addr (get_mempolicy MPOL_F_NODE|MPOL_F_ADDR). */
int memsrv_numa_page_node(void *addr, int *node) MEMSRV_WUR;

/* Number of online NUMA nodes (at least 1). */
unsigned memsrv_numa_online_nodes(void);

/* --- backend.c: backends and their registry ---------------------------- */

struct memsrv_registry;
struct memsrv_backend;

struct memsrv_registry_opts {
	memsrv_progress_fn progress; /* prealloc progress, backends > 1 GiB */
	void *progress_opaque;
	const char *sysfs_node_dir; /* NULL: /sys/devices/system/node */
	enum memsrv_prealloc_method prealloc_method;
};

int memsrv_registry_create(const struct memsrv_registry_opts *opts,
                           struct memsrv_registry **out) MEMSRV_WUR;
/* Closes every backend and state fd, users or not (shutdown).  NULL ok. */
void memsrv_registry_destroy(struct memsrv_registry *reg);

/*
 * Creates the backend @cfg describes (validated again here: it may come off
 * the wire) and registers it under cfg->id.  @cfg is copied.  A duplicate id
 * is ERR_ALREADY_EXISTS.  Prealloc, host-nodes and policy are applied before
 * this returns; memfds are sealed against growing and shrinking.
 */
int memsrv_backend_create(struct memsrv_registry *reg, const Splitvm__BackendConfig *cfg,
                          struct memsrv_backend **out, struct memsrv_error *err) MEMSRV_WUR;

/* NULL when no backend has that id. */
struct memsrv_backend *memsrv_backend_find(struct memsrv_registry *reg, const char *id);

/*
 * Adds @user ("core" or a device id) to the backend's users and returns its
 * fd, borrowed.  Acquiring twice for one user is allowed: a restarted device
 * process asks again; the user is listed once.
 */
int memsrv_backend_acquire(struct memsrv_registry *reg, const char *id, const char *user, int *fd,
                           struct memsrv_error *err) MEMSRV_WUR;
int memsrv_backend_release(struct memsrv_registry *reg, const char *id, const char *user,
                           struct memsrv_error *err) MEMSRV_WUR;

/* Refused with ERR_IN_USE while a user holds it, in QEMU's words. */
int memsrv_backend_delete(struct memsrv_registry *reg, const char *id,
                          struct memsrv_error *err) MEMSRV_WUR;

/* fallocate(PUNCH_HOLE|KEEP_SIZE) of [offset, offset+length), page aligned. */
int memsrv_backend_discard(struct memsrv_registry *reg, const char *id, uint64_t offset,
                           uint64_t length, struct memsrv_error *err) MEMSRV_WUR;

/* Accessors; the backend stays the registry's. */
const char *memsrv_backend_id(const struct memsrv_backend *b);
const Splitvm__BackendConfig *memsrv_backend_config(const struct memsrv_backend *b);
int memsrv_backend_fd(const struct memsrv_backend *b);
uint64_t memsrv_backend_size(const struct memsrv_backend *b);
size_t memsrv_backend_page_size(const struct memsrv_backend *b);
bool memsrv_backend_sealed(const struct memsrv_backend *b);
size_t memsrv_backend_user_count(const struct memsrv_backend *b);
const char *memsrv_backend_user(const struct memsrv_backend *b, size_t i);
/* Bytes of the backend allocated on the host: st_blocks * 512. */
int memsrv_backend_resident(const struct memsrv_backend *b, uint64_t *bytes) MEMSRV_WUR;

size_t memsrv_registry_count(const struct memsrv_registry *reg);
/* The i-th backend in creation order, or NULL. */
struct memsrv_backend *memsrv_registry_at(struct memsrv_registry *reg, size_t i);

/*
 * Fills @info (initialised by the caller with SPLITVM__BACKEND_INFO__INIT)
 * with pointers into @b: valid until @b changes; free with
 * memsrv_backend_info_clear(), which frees only what this allocated.
 */
int memsrv_backend_info_fill(const struct memsrv_backend *b, Splitvm__BackendInfo *info) MEMSRV_WUR;
void memsrv_backend_info_clear(Splitvm__BackendInfo *info);

/* --- backend.c: per-device state memfds ---------------------------------- */

#define MEMSRV_STATE_MAX_SIZE (16u << 20)

/*
 * The state memfd of @device: created (zeroed, sealed) on the first call, the
 * same one on every later call with the same size; a different size is
 * ERR_INVALID_ARGUMENT.  The fd is borrowed.
 */
int memsrv_state_get(struct memsrv_registry *reg, const char *device, uint64_t size, int *fd,
                     bool *created, struct memsrv_error *err) MEMSRV_WUR;
int memsrv_state_delete(struct memsrv_registry *reg, const char *device,
                        struct memsrv_error *err) MEMSRV_WUR;
size_t memsrv_state_count(const struct memsrv_registry *reg);

/* --- server.c: the memory plane ---------------------------------------- */

/*
 * One request's answer, built by memsrv_dispatch() without any socket, so
 * that the rules can be tested alone: the reply message, and the fd to send
 * on the fd channel under reply.info.fd_tag before the reply goes out.
 */
struct memsrv_reply {
	const ProtobufCMessage *body; /* points into this struct; NULL on error */
	bool failed;                  /* send ErrorReply{err} instead */
	struct memsrv_error err;
	int fd;        /* borrowed; -1: nothing to send */
	bool new_user; /* the acquire added its user: undo if the fd cannot go */
	bool shutdown; /* MemsrvShutdown: reply, then leave */
	Splitvm__BackendInfo info;
	Splitvm__OkReply ok;
	Splitvm__BackendListReply list;
	Splitvm__BackendInfo *items; /* BackendList: one per backend */
	Splitvm__BackendInfo **ptrs; /* list.backends: &items[i] */
	char text[128];              /* OkReply text, hand-out log line */
};

/*
 * Act on one decoded request of the memory plane.  @next_tag is the fd_tag
 * to use if an fd goes out (never 0).  Always fills @rep, which the caller
 * clears with memsrv_reply_clear().
 */
void memsrv_dispatch(struct memsrv_registry *reg, Splitvm__MsgType type,
                     const ProtobufCMessage *req, uint64_t next_tag, struct memsrv_reply *rep);
void memsrv_reply_clear(struct memsrv_reply *rep);

struct memsrv_server_opts {
	const char *run_dir; /* created 0700 if missing, refused if unsafe */
	const char *channel; /* REP endpoint name in run_dir; NULL: "memsrv" */
	int fd_channel_fd;   /* inherited socketpair end (consumed); -1: listen
				* on "<channel>-fd" in run_dir */
	uid_t peer_uid;      /* who may connect to the fd channel */
	enum memsrv_prealloc_method prealloc_method;
};

struct memsrv_server;

/* Binds the channels.  Consumes opts->fd_channel_fd in every case. */
int memsrv_server_create(const struct memsrv_server_opts *opts, struct memsrv_server **out,
                         struct memsrv_error *err) MEMSRV_WUR;
/*
 * Serve until MemsrvShutdown (returns 0) or until *stop becomes true (a
 * signal; returns 0 too).  A peer that dies or sends garbage is logged and
 * served no more; memsrv goes on.
 */
int memsrv_server_run(struct memsrv_server *srv, volatile int *stop) MEMSRV_WUR;
/* Releases every backend and state memfd, closes the channels.  NULL ok. */
void memsrv_server_destroy(struct memsrv_server *srv);

#endif
