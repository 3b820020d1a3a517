// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * splitvm-devproc: one device model instance.  Its life (STYLE.md "Seccomp
 * and the sandbox"): parse the command line, create the model, attach it to
 * its inherited fds, isolate (common/sandbox.h: close every other fd, new
 * namespaces, empty root, fork into the new pid namespace; single-threaded,
 * so before the first socket), connect the device plane (PAIR dev-<id>),
 * bind device control (REP devctl-<id>), take the channels' poll fds,
 * declare the device to the core, lock (uid, no_new_privs, rlimits, the
 * model's seccomp filter on every thread), serve.  Everything that needs a
 * syscall outside the filter (socket, connect, bind, pipe2 for the poll
 * fds, mmap of the journal) happens before the lock.
 *
 * After a kill -9 the core's PAIR socket still holds what it queued for the
 * dead predecessor (DeviceRequests, answers to its slot maps).  They reach
 * this process first: the attach waits for the answer that carries its own
 * correlation id and drops stale answers and stale DeviceRequests.  The
 * core re-sends every unanswered request on attach, in seq order, including
 * those it sent to the dead process (core/devplane.c, handle_attach): had
 * we served the stale copies first, a later request could be answered
 * before an earlier one's re-send.  Other messages (reset, driver ready)
 * are held and served after the attach, in order.
 *
 * When the core goes away its end of our PAIR connection hangs up.  NNG
 * would redial; the filter refuses socket() with EACCES (a kill would read
 * as a seccomp violation), and the service loop, which watches a duplicate
 * of the connection's fd, logs "core went away" and exits 0.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "devproc.h"
#include "fd.h"
#include "ipc.h"
#include "log.h"
#include "sandbox.h"

#define ATTACH_TIMEOUT_MS 10000
/*
 * The attach again after this long with no answer, doubling up to MAX,
 * and at once when the connection it went on is seen to go; looked at
 * every POLL ms.  Short, because the loss is not always seen: a refused
 * connection can be gone before the first look, and the attach sent on it
 * is lost all the same (2 restarts in 240 here, each waiting for the
 * resend: 1 s when this was 1000).  A slow core answers each repeat with
 * DeviceAttached again, and the extra answers are dropped.
 */
#define ATTACH_RESEND_MS     100
#define ATTACH_RESEND_MAX_MS 4000
#define ATTACH_POLL_MS       5
#define SLOT_MAP_TIMEOUT_MS  5000
#define STASH_MAX            64
/* Seqs answered lately: at least every request the stash can hold. */
#define ANSWERED_MAX (2 * STASH_MAX)
/* Unmaps one request may hold for its answer; more go out on their own. */
#define HELD_UNMAP_MAX 64
/*
 * A predecessor killed with its reaper dies by PDEATHSIG a moment after the
 * reaper: its devctl listener may still hold the socket file for that long.
 */
#define BIND_RETRY_MS      2000
#define BIND_RETRY_STEP_MS 10
/* Connections to dev-<id> watched for the core's hang-up (one, normally). */
#define CORE_WATCH_MAX 4
/* Inherited and library fds are small numbers: the scan stops here. */
#define FD_SCAN_MAX 1024

struct devproc {
	const struct devproc_model_ops *ops;
	struct devproc_model *m;
	const char *id;
	uint32_t epoch;
	struct ipc_chan *dev;             /* PAIR to the core */
	struct ipc_chan *ctl;             /* REP for the supervisor */
	struct ipc_msg *stash[STASH_MAX]; /* messages that came while we waited */
	int nstash;
	bool attached; /* DeviceAttached received: the core's re-sends follow */
	/* Our own duplicates of the PAIR's connected fds: they hang up with the core. */
	int core_fds[CORE_WATCH_MAX];
	int n_core_fds;
	/*
	 * Our correlation ids: epoch in the high half, so that a predecessor's
	 * answers (still queued in the core's socket) never match ours.
	 */
	uint64_t next_corr;
	uint64_t answered[ANSWERED_MAX]; /* ring of seqs answered, for re-sends */
	unsigned n_answered;
	/*
	 * While the model restates its slots (placed()): the maps are sent
	 * back to back and their answers awaited afterwards, in order.
	 */
	bool restating;
	uint64_t restate_first; /* correlation id of the first map sent */
	uint32_t restate_n;
	/*
	 * While a guest request is served: its unmaps and its config copy,
	 * which go to the core inside the DeviceResponse (docs/protocol.md).
	 */
	bool serving;
	Splitvm__DeviceSlotMap held_unmap[HELD_UNMAP_MAX];
	size_t n_held_unmap;
	Splitvm__DeviceConfigUpdate held_config;
	uint8_t held_config_bytes[64];
	bool config_held;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: splitvm-devproc --model=MODEL --id ID --run-dir DIR --epoch N\n"
	           "         --backend-fd N [--state-fd N] --config STRING\n"
	           "         [--sandbox=enforce|audit|off] [--verbose]\n"
	           "  --model       the device model (virtio-mem, virtio-pmem, pc-dimm, nvdimm)\n"
	           "  --id          the device id; sockets dev-ID and devctl-ID in DIR\n"
	           "  --epoch       this process's incarnation: 1, then +1 per restart\n"
	           "  --backend-fd  inherited fd of the device's memory backend\n"
	           "  --state-fd    inherited fd of the device's state memfd (journal);\n"
	           "                pc-dimm, which has no device plane, takes none\n"
	           "  --config      the -device string: virtio-mem,id=vm0,memdev=mem0,\n"
	           "                requested-size=0,block-size=2M[,node=N][,prealloc=on]\n");
}

/* An inherited fd number: 3 .. INT_MAX, decimal, nothing after it. */
static int parse_fd(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 3 || v > INT_MAX)
		log_fatalx("--%s: '%s' is not an fd number of 3 or more", what, s);
	return (int)v;
}

/* ---- the host side of the model: requests to the core ----------------- */

static uint64_t devproc_corr(struct devproc *d)
{
	return (uint64_t)d->epoch << 32 | (d->next_corr++ & 0xffffffffu);
}

static bool is_answer(const struct ipc_msg *msg)
{
	return msg->type->type == SPLITVM__MSG_TYPE__MSG_OK_REPLY ||
	       msg->type->type == SPLITVM__MSG_TYPE__MSG_ERROR_REPLY;
}

/*
 * A DeviceRequest the core sent before it took our attach: addressed to a
 * dead predecessor (its epoch), or queued while nobody was attached.  The
 * core re-sends each of them after DeviceAttached, in seq order.
 */
static bool is_stale_request(const struct devproc *d, const struct ipc_msg *msg)
{
	return (msg->type->type == SPLITVM__MSG_TYPE__MSG_DEVICE_REQUEST ||
	        msg->type->type == SPLITVM__MSG_TYPE__MSG_NVDIMM_DSM) &&
	       (!d->attached || msg->epoch != d->epoch);
}

/*
 * A message that is not the answer we wait for: an answer to someone else
 * (a dead predecessor's slot map: nobody asks any more) or a stale request
 * (see the top of the file) is dropped; anything else is held for the
 * service loop, in order.
 */
static void hold_or_drop(struct devproc *d, struct ipc_msg *msg, const char *while_what)
{
	if (msg->type->type == SPLITVM__MSG_TYPE__MSG_ERROR_REPLY && !msg->correlation_id &&
	    msg->epoch == d->epoch) {
		/* Ours, for an unmap nobody waits for, alone or in a response (host_slot_map). */
		log_warnx("the core refused a slot unmap (seq %" PRIu64 "): %s", msg->seq,
		          ((Splitvm__ErrorReply *)msg->body)->text);
		ipc_msg_free(msg);
		return;
	}
	if (is_answer(msg) || is_stale_request(d, msg)) {
		log_debug("%s: dropped a stale %s (seq %" PRIu64 ", correlation 0x%" PRIx64
		          ", epoch %u)",
		          while_what, msg->type->name, msg->seq, msg->correlation_id, msg->epoch);
		ipc_msg_free(msg);
		return;
	}
	if (d->nstash == STASH_MAX) {
		/* The core re-sends an unanswered request to the next process anyway. */
		log_warnx("%s: more than %d messages held: dropped %s seq %" PRIu64, while_what,
		          STASH_MAX, msg->type->name, msg->seq);
		ipc_msg_free(msg);
		return;
	}
	d->stash[d->nstash++] = msg;
}

static int wait_reply(struct devproc *d, uint64_t corr, int timeout_ms)
{
	struct ipc_err err;
	struct ipc_msg *msg;

	for (;;) {
		int ret = ipc_recv(d->dev, timeout_ms, &msg, &err);

		if (ret < 0) {
			log_warnx("waiting for the core: %s", err.text);
			return ret == -IPC_ERR_TIMEOUT ? -ETIMEDOUT : -EIO;
		}
		if (!is_answer(msg) || msg->correlation_id != corr) {
			hold_or_drop(d, msg, "waiting for a slot map answer");
			continue;
		}
		if (msg->type->type == SPLITVM__MSG_TYPE__MSG_ERROR_REPLY) {
			Splitvm__ErrorReply *e = (Splitvm__ErrorReply *)msg->body;

			log_warnx("the core refused: %s", e->text);
			ipc_msg_free(msg);
			return -EPERM;
		}
		ipc_msg_free(msg);
		return 0;
	}
}

/*
 * A map is a round trip: the model must not ACK a plug before the core has
 * the slot in the guest's map.  An unmap is sent with correlation id 0,
 * which the core answers only with a refusal (docs/protocol.md): nothing
 * waits on it (devproc.h), and an UNPLUG's answer follows it at once
 * instead of after a round trip through the core.
 */
static int host_slot_map(void *opaque, uint64_t offset, uint64_t size, bool map)
{
	struct devproc *d = opaque;
	Splitvm__DeviceSlotMap sm = SPLITVM__DEVICE_SLOT_MAP__INIT;
	struct ipc_hdr hdr = { .device = d->id, .epoch = d->epoch };
	struct ipc_err err;

	if (map)
		hdr.correlation_id = devproc_corr(d);
	sm.offset = offset;
	sm.size = size;
	sm.map = map;
	if (!map && d->serving && d->n_held_unmap < HELD_UNMAP_MAX) {
		d->held_unmap[d->n_held_unmap++] = sm;
		return 0;
	}
	if (ipc_send(d->dev, &hdr, &sm.base, &err) < 0) {
		log_warnx("slot %s: %s", map ? "map" : "unmap", err.text);
		return -EIO;
	}
	if (map && d->restating) {
		if (!d->restate_n++)
			d->restate_first = hdr.correlation_id;
		return 0;
	}
	return map ? wait_reply(d, hdr.correlation_id, SLOT_MAP_TIMEOUT_MS) : 0;
}

/*
 * The answers to the maps a restatement sent, in the order sent (the core
 * serves a device's messages in order).  A successor with 4 GiB plugged
 * restates 32 slots: one round trip's wait instead of 32.
 */
static int wait_restated(struct devproc *d)
{
	uint64_t epoch = d->restate_first & ~UINT64_C(0xffffffff);
	uint32_t low = (uint32_t)d->restate_first;
	int ret = 0;

	for (uint32_t i = 0; i < d->restate_n && !ret; i++)
		ret = wait_reply(d, epoch | (uint32_t)(low + i), SLOT_MAP_TIMEOUT_MS);
	d->restate_n = 0;
	return ret;
}

static int host_config(void *opaque, const void *config, size_t len, bool notify)
{
	struct devproc *d = opaque;
	Splitvm__DeviceConfigUpdate cu = SPLITVM__DEVICE_CONFIG_UPDATE__INIT;
	struct ipc_hdr hdr = { .device = d->id, .epoch = d->epoch };
	struct ipc_err err;

	if (d->serving && len <= sizeof(d->held_config_bytes)) {
		/* The last copy wins; an interrupt asked for by any is raised. */
		bool notified = d->config_held && d->held_config.notify;

		d->held_config = cu;
		memcpy(d->held_config_bytes, config, len);
		d->held_config.config.data = d->held_config_bytes;
		d->held_config.config.len = len;
		d->held_config.notify = notified || notify;
		d->config_held = true;
		return 0;
	}
	cu.config.data = (uint8_t *)(uintptr_t)config;
	cu.config.len = len;
	cu.notify = notify;
	if (ipc_send(d->dev, &hdr, &cu.base, &err) < 0) {
		log_warnx("config update: %s", err.text);
		return -EIO;
	}
	return 0;
}

/* ---- start-up ------------------------------------------------------------ */

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000L + (t.tv_nsec - t0->tv_nsec) / 1000000L;
}

static bool connected_to(int fd, const char *name);

/* The inode of our live connection to the core's dev-<id>, 0 when none. */
static ino_t core_conn_ino(const struct devproc *d)
{
	char name[80];

	snprintf(name, sizeof(name), "dev-%s", d->id);
	for (int fd = 3; fd < FD_SCAN_MAX; fd++) {
		struct pollfd p = { .fd = fd };
		struct stat st;

		if (!connected_to(fd, name) || fstat(fd, &st) < 0)
			continue;
		if (poll(&p, 1, 0) < 0 || p.revents & (POLLHUP | POLLERR | POLLNVAL))
			continue;
		return st.st_ino;
	}
	return 0;
}

/*
 * DeviceAttached, or the core's ErrorReply, for the attach @at under
 * hdr->correlation_id; what comes before it is a predecessor's (see the
 * top of the file).
 *
 * A successor can dial the core before the core has noticed its
 * predecessor's death: the core's PAIR then refuses the new connection
 * (it holds one already) and what was sent on it, the attach, is lost.
 * NNG redials, but nothing would send the attach again.  So the attach
 * goes again when the connection it may have gone on is seen to go, and
 * in any case after ATTACH_RESEND_MS without an answer.  The core answers
 * a repeat of the epoch it attached with DeviceAttached again
 * (core/devplane.c); the service loop drops the extra answer.
 */
static struct ipc_msg *wait_attached(struct devproc *d, const struct ipc_hdr *hdr,
                                     const ProtobufCMessage *at)
{
	long resend_at = ATTACH_RESEND_MS, resend_ivl = ATTACH_RESEND_MS;
	struct timespec t0;
	struct ipc_err err;
	struct ipc_msg *msg;
	ino_t seen = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long now = ms_since(&t0), left = ATTACH_TIMEOUT_MS - now;
		ino_t conn = core_conn_ino(d);
		bool lost = seen && conn != seen;

		if (left <= 0)
			log_fatalx("no DeviceAttached from the core within %d ms",
			           ATTACH_TIMEOUT_MS);
		if (conn)
			seen = conn;
		else if (lost)
			seen = 0;
		if (lost || now >= resend_at) {
			log_debug("no DeviceAttached after %ld ms%s: attaching again", now,
			          lost ? " and the connection went" : "");
			if (ipc_send(d->dev, hdr, at, &err) < 0)
				log_warnx("DeviceAttach again: %s", err.text);
			if (now >= resend_at) {
				resend_ivl = resend_ivl * 2 > ATTACH_RESEND_MAX_MS
				                     ? ATTACH_RESEND_MAX_MS
				                     : resend_ivl * 2;
				resend_at = now + resend_ivl;
			}
		}
		if (left > ATTACH_POLL_MS)
			left = ATTACH_POLL_MS;
		if (ipc_recv(d->dev, (int)left, &msg, &err) < 0) {
			if (err.code == IPC_ERR_TIMEOUT)
				continue;
			if (ipc_errcode_is_malformed(err.code)) {
				log_warnx("waiting for DeviceAttached: %s", err.text);
				continue;
			}
			log_fatalx("no DeviceAttached from the core: %s", err.text);
		}
		if (msg->correlation_id != hdr->correlation_id ||
		    (msg->type->type != SPLITVM__MSG_TYPE__MSG_DEVICE_ATTACHED &&
		     msg->type->type != SPLITVM__MSG_TYPE__MSG_ERROR_REPLY)) {
			hold_or_drop(d, msg, "attaching");
			continue;
		}
		if (msg->type->type == SPLITVM__MSG_TYPE__MSG_ERROR_REPLY) {
			Splitvm__ErrorReply *e = (Splitvm__ErrorReply *)msg->body;

			log_fatalx("the core refused the attach: %s: %s", e->field, e->text);
		}
		return msg;
	}
}

static void devproc_attach_core(struct devproc *d)
{
	Splitvm__DeviceAttach at = SPLITVM__DEVICE_ATTACH__INIT;
	Splitvm__VirtQueueDecl q[4], *qp[4];
	struct ipc_hdr hdr = { .device = d->id,
		               .epoch = d->epoch,
		               .correlation_id = devproc_corr(d) };
	struct devproc_decl decl;
	struct ipc_err err;
	struct ipc_msg *msg;
	uint64_t gpa;
	int ret;

	d->ops->decl(d->m, &decl);
	at.virtio_id = decl.virtio_id;
	at.features = decl.features;
	at.required_features = decl.required_features;
	at.config.data = decl.config;
	at.config.len = decl.config_len;
	at.region_size = decl.region_size;
	at.config_follows = decl.config_follows;
	for (uint32_t i = 0; i < decl.nqueues && i < 4; i++) {
		splitvm__virt_queue_decl__init(&q[i]);
		q[i].max_size = decl.queue_size[i];
		qp[i] = &q[i];
	}
	at.n_queues = decl.nqueues;
	at.queues = qp;
	if (ipc_send(d->dev, &hdr, &at.base, &err) < 0)
		log_fatalx("DeviceAttach: %s", err.text);
	msg = wait_attached(d, &hdr, &at.base);
	/* From here on the core sends under our epoch: its re-sends come next. */
	d->attached = true;
	gpa = ((Splitvm__DeviceAttached *)msg->body)->region_gpa;
	ipc_msg_free(msg);
	d->restating = true;
	ret = d->ops->placed(d->m, gpa);
	d->restating = false;
	if (ret < 0 || wait_restated(d) < 0)
		log_fatalx("cannot restate the device's slots to the core");
	log_info("attached: region at 0x%" PRIx64 ", epoch %u%s", gpa, d->epoch,
	         d->nstash ? "; serving what the core sent before" : "");
}

/* True when @fd is a connected AF_UNIX socket whose peer is bound at .../@name. */
static bool connected_to(int fd, const char *name)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	size_t plen, nlen = strlen(name);
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	memset(&sa, 0, sizeof(sa));
	if (getpeername(fd, (struct sockaddr *)&sa, &len) < 0 || sa.sun_family != AF_UNIX ||
	    len <= offsetof(struct sockaddr_un, sun_path))
		return false;
	plen = strnlen(sa.sun_path, len - offsetof(struct sockaddr_un, sun_path));
	/* The core binds rundir/dev-<id>; its spelling of rundir may differ from ours. */
	return plen > nlen && sa.sun_path[plen - nlen - 1] == '/' &&
	       !memcmp(sa.sun_path + plen - nlen, name, nlen);
}

/*
 * Find the PAIR's connection to the core (NNG's fd, after the attach went
 * through it) and keep a duplicate of it to poll: the core's exit, or its
 * closing the socket, hangs it up.  Ours, so NNG closing its own fd can
 * neither pull it away nor let its number be reused under the poll.  Done
 * before the lock: getpeername and F_DUPFD are not on the allowlist.  A
 * connection already hung up (the core's PAIR refusing a second peer while
 * it still held the predecessor's) is skipped.
 */
static void devproc_watch_core(struct devproc *d)
{
	int found[CORE_WATCH_MAX], n = 0;
	char name[80];

	snprintf(name, sizeof(name), "dev-%s", d->id);
	/* Found first, copied after: a copy must not be found again. */
	for (int fd = 3; fd < FD_SCAN_MAX && n < CORE_WATCH_MAX; fd++) {
		struct pollfd p = { .fd = fd };

		if (!connected_to(fd, name))
			continue;
		if (poll(&p, 1, 0) < 0 || p.revents & (POLLHUP | POLLERR | POLLNVAL))
			continue;
		found[n++] = fd;
	}
	for (int i = 0; i < n; i++) {
		int fd = fcntl(found[i], F_DUPFD_CLOEXEC, 3);

		if (fd < 0) {
			log_warn("watching the core's connection (fd %d)", found[i]);
			continue;
		}
		log_debug("watching the core's connection: fd %d (a copy of %d)", fd, found[i]);
		d->core_fds[d->n_core_fds++] = fd;
	}
	if (!d->n_core_fds)
		log_warnx("found no connection to the core to watch: a core that goes "
		          "away is not noticed");
}

/*
 * Close every inherited fd but stdio and the model's (STYLE.md: the model
 * lists what it keeps).  Done before the channels exist, so no socket of
 * the messaging library can be among them.
 */
static void devproc_close_extra_fds(struct devproc *d)
{
	int keep[8], fds[256], n = 0;
	size_t nkeep = d->ops->kept_fds(d->m, keep, 8);
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;

	if (!dir)
		log_fatal("/proc/self/fd");
	while ((e = readdir(dir)) && n < 256) {
		int fd = atoi(e->d_name);
		bool kept = fd < 3 || fd == dirfd(dir) || e->d_name[0] == '.';

		for (size_t i = 0; i < nkeep && !kept; i++)
			kept = fd == keep[i];
		if (!kept)
			fds[n++] = fd;
	}
	closedir(dir);
	for (int i = 0; i < n; i++) {
		log_debug("closing inherited fd %d", fds[i]);
		close(fds[i]);
	}
}

/*
 * What every device process adds to the common list, whatever its model.
 * NNG's dialer redials the core when the PAIR connection drops (the core
 * went away): socket() fails with EACCES, so the redial fails quietly and
 * the service loop sees the hang-up and exits 0.  A kill here would be
 * reported as a seccomp violation although nothing hostile happened.
 * connect, bind and the rest stay off the list, and so kill: without a
 * socket there is nothing to call them on but the fds we already hold.
 */
static const struct sandbox_rule devproc_rules[] = {
	SANDBOX_REFUSE(socket, EACCES, "nanomsg redialing the core after it went away"),
};

/*
 * Step 1 of the sandbox (common/sandbox.h), single-threaded, before the
 * first channel: every fd but stdio and the model's closed, namespaces,
 * empty root with the run directory bound in, the fork into the new pid
 * namespace (this process goes on as its pid 1; the one the spawner knows
 * stays as the reaper), the filter built from the common list and the
 * model's table.  With --sandbox=off only the extra fds are closed.
 */
static struct sandbox *devproc_sandbox_isolate(struct devproc *d, enum sandbox_mode mode,
                                               const char *rundir)
{
	/* A violation is reported on stderr, which the supervisor reads. */
	struct sandbox_config cfg = { .mode = mode, .rundir = rundir, .report_fd = STDERR_FILENO };
	struct sandbox *sb;
	int keep[8];

	if (mode == SANDBOX_OFF) {
		devproc_close_extra_fds(d);
		return NULL;
	}
	cfg.keep_fds = keep;
	cfg.n_keep_fds = d->ops->kept_fds(d->m, keep, sizeof(keep) / sizeof(keep[0]));
	if (sandbox_create(&sb, &cfg) < 0)
		log_fatalx("cannot set up the sandbox");
	if (sandbox_policy_add_table(sandbox_policy(sb), devproc_rules,
	                             sizeof(devproc_rules) / sizeof(devproc_rules[0])) < 0)
		log_fatalx("the device process's seccomp table was refused");
	if (d->ops->seccomp && d->ops->seccomp(d->m, sandbox_policy(sb)) < 0)
		log_fatalx("the %s seccomp table was refused", d->ops->name);
	if (sandbox_isolate(sb) < 0)
		log_fatalx("cannot isolate the device process (--sandbox=%s)",
		           sandbox_mode_name(mode));
	return sb;
}

/* Step 2, once every channel is connected and its poll fd made. */
static void devproc_sandbox_lock(struct sandbox *sb, enum sandbox_mode mode)
{
	if (!sb)
		return;
	if (sandbox_lock(sb) < 0)
		log_fatalx("cannot lock the sandbox");
	log_debug("sandbox locked (%s)", sandbox_mode_name(mode));
}

/*
 * Bind devctl-<id>.  A predecessor killed through its reaper may hold the
 * socket file for a moment (PDEATHSIG is delivered, not yet acted on):
 * address in use is retried for a bounded time.
 */
static void devproc_bind_ctl(struct devproc *d, const char *rundir, const char *name,
                             const struct ipc_chan_opts *opts)
{
	struct timespec t0, step = { 0, BIND_RETRY_STEP_MS * 1000000L };
	struct ipc_err err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (ipc_chan_bind(&d->ctl, IPC_ROLE_REP, rundir, name, opts, &err) < 0) {
		if (err.sys_errno != EADDRINUSE || ms_since(&t0) >= BIND_RETRY_MS)
			log_fatalx("%s: %s", name, err.text);
		nanosleep(&step, NULL);
	}
}

/* ---- serving ---------------------------------------------------------------- */

static bool answered_before(const struct devproc *d, uint64_t seq)
{
	unsigned n = d->n_answered < ANSWERED_MAX ? d->n_answered : ANSWERED_MAX;

	for (unsigned i = 0; i < n; i++)
		if (d->answered[i] == seq)
			return true;
	return false;
}

static void serve_device(struct devproc *d, struct ipc_msg *msg)
{
	struct ipc_hdr hdr = { .device = d->id, .epoch = d->epoch, .seq = msg->seq };
	struct ipc_err err;

	switch (msg->type->type) {
	case SPLITVM__MSG_TYPE__MSG_DEVICE_REQUEST: {
		Splitvm__DeviceRequest *rq = (Splitvm__DeviceRequest *)msg->body;
		Splitvm__DeviceResponse rs = SPLITVM__DEVICE_RESPONSE__INIT;
		Splitvm__DeviceSlotMap *unmaps[HELD_UNMAP_MAX];
		uint8_t out[64];
		size_t outlen;

		/* A predecessor's, which the core re-sent on our attach: see the top. */
		if (is_stale_request(d, msg)) {
			log_debug("seq %" PRIu64 ": dropped, from epoch %u", msg->seq, msg->epoch);
			break;
		}
		/*
		 * A duplicate of a request answered lately: answered once.  The
		 * journal answers only the last request again, and a duplicate
		 * need not be the last.
		 */
		if (answered_before(d, msg->seq)) {
			log_debug("seq %" PRIu64 ": answered already", msg->seq);
			break;
		}
		d->serving = true;
		if (d->ops->request(d->m, rq->queue, msg->seq, rq->data.data, rq->data.len,
		                    rq->writable_len, out, sizeof(out), &outlen) < 0) {
			/* The journal is broken: our successor answers from the last good state. */
			log_fatalx("seq %" PRIu64 ": the state journal failed", msg->seq);
		}
		d->serving = false;
		d->answered[d->n_answered++ % ANSWERED_MAX] = msg->seq;
		rs.data.data = out;
		rs.data.len = outlen;
		for (size_t i = 0; i < d->n_held_unmap; i++)
			unmaps[i] = &d->held_unmap[i];
		rs.slots = unmaps;
		rs.n_slots = d->n_held_unmap;
		rs.config = d->config_held ? &d->held_config : NULL;
		if (ipc_send(d->dev, &hdr, &rs.base, &err) < 0)
			log_warnx("response to seq %" PRIu64 ": %s", msg->seq, err.text);
		d->n_held_unmap = 0;
		d->config_held = false;
		break;
	}
	case SPLITVM__MSG_TYPE__MSG_NVDIMM_DSM: {
		/*
		 * An nvdimm _DSM call: the page in, NvdimmDsmOut back, through
		 * the model's request handler (queue 0: it has no virtqueues).
		 * Re-sent duplicates are served again: a DSM call is idempotent.
		 */
		Splitvm__NvdimmDsm *rq = (Splitvm__NvdimmDsm *)msg->body;
		Splitvm__NvdimmDsmReply rs = SPLITVM__NVDIMM_DSM_REPLY__INIT;
		static uint8_t dsm_out[4096];
		size_t outlen = 0;

		if (is_stale_request(d, msg))
			break;
		if (d->ops->request(d->m, 0, msg->seq, rq->page.data, rq->page.len, sizeof(dsm_out),
		                    dsm_out, sizeof(dsm_out), &outlen) < 0)
			log_fatalx("seq %" PRIu64 ": the DSM call failed", msg->seq);
		rs.out.data = dsm_out;
		rs.out.len = outlen;
		if (ipc_send(d->dev, &hdr, &rs.base, &err) < 0)
			log_warnx("DSM answer to seq %" PRIu64 ": %s", msg->seq, err.text);
		break;
	}
	case SPLITVM__MSG_TYPE__MSG_DEVICE_RESET:
		if (d->ops->reset(d->m) < 0)
			log_warnx("device reset: could not unplug everything");
		break;
	case SPLITVM__MSG_TYPE__MSG_DEVICE_DRIVER_READY:
		(void)d->ops->driver_ready(
		        d->m, ((Splitvm__DeviceDriverReady *)msg->body)->driver_features);
		break;
	case SPLITVM__MSG_TYPE__MSG_DEVICE_ATTACHED:
		/* The answer to an attach sent again (wait_attached). */
		log_debug("dropped a repeated DeviceAttached");
		break;
	case SPLITVM__MSG_TYPE__MSG_ERROR_REPLY:
	case SPLITVM__MSG_TYPE__MSG_OK_REPLY:
		/* An unmap's refusal (logged), or a late answer: consumed there. */
		hold_or_drop(d, msg, "serving");
		return;
	default:
		log_warnx("unexpected %s from the core", msg->type->name);
	}
	ipc_msg_free(msg);
}

static void serve_ctl(struct devproc *d, struct ipc_msg *msg)
{
	struct ipc_err err;
	char buf[256];
	int ret = 0;

	switch (msg->type->type) {
	case SPLITVM__MSG_TYPE__MSG_DEVICE_PROP_SET: {
		Splitvm__DevicePropSet *ps = (Splitvm__DevicePropSet *)msg->body;
		Splitvm__OkReply ok = SPLITVM__OK_REPLY__INIT;

		buf[0] = 0;
		ret = d->ops->prop_set(d->m, ps->name, ps->value, buf, sizeof(buf));
		if (ret == 0)
			ret = ipc_reply(d->ctl, msg, &ok.base, &err);
		else
			ret = ipc_reply_error(d->ctl, msg,
			                      ret == -ENOENT ? SPLITVM__ERROR_CODE__ERR_NOT_FOUND
			                      : ret == -EINVAL
			                              ? SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT
			                              : SPLITVM__ERROR_CODE__ERR_INTERNAL,
			                      ps->name, &err, "%s", buf);
		break;
	}
	case SPLITVM__MSG_TYPE__MSG_DEVICE_PROP_GET: {
		Splitvm__DevicePropGet *pg = (Splitvm__DevicePropGet *)msg->body;
		Splitvm__DevicePropValue pv = SPLITVM__DEVICE_PROP_VALUE__INIT;

		if (d->ops->prop_get(d->m, pg->name, buf, sizeof(buf)) < 0) {
			ret = ipc_reply_error(d->ctl, msg, SPLITVM__ERROR_CODE__ERR_NOT_FOUND,
			                      pg->name, &err, "%s: no such property", pg->name);
			break;
		}
		pv.name = pg->name;
		pv.value = buf;
		ret = ipc_reply(d->ctl, msg, &pv.base, &err);
		break;
	}
	case SPLITVM__MSG_TYPE__MSG_DEVICE_STATUS_QUERY: {
		Splitvm__DeviceStatus ds = SPLITVM__DEVICE_STATUS__INIT;
		struct devproc_status st;

		d->ops->status(d->m, &st);
		ds.id = (char *)(uintptr_t)d->id;
		ds.model = (char *)(uintptr_t)d->ops->name;
		ds.size = st.size;
		ds.requested_size = st.requested_size;
		ds.plugged_size = st.plugged_size;
		ds.block_size = st.block_size;
		ds.addr = st.addr;
		ds.node = st.node;
		ret = ipc_reply(d->ctl, msg, &ds.base, &err);
		break;
	}
	default:
		ret = ipc_reply_error(d->ctl, msg, SPLITVM__ERROR_CODE__ERR_PROTOCOL, "type", &err,
		                      "%s is not a device-control request", msg->type->name);
	}
	if (ret < 0)
		log_warnx("device control reply: %s", err.text);
	ipc_msg_free(msg);
}

/* The channels' poll fds, made before the lock: NNG creates them with pipe2(). */
static void devproc_poll_fds(struct devproc *d, struct pollfd pfd[2])
{
	struct ipc_err err;

	pfd[0].events = pfd[1].events = POLLIN;
	pfd[0].fd = -1; /* poll() skips it: a model with no device plane */
	if ((d->dev && ipc_chan_poll_fd(d->dev, &pfd[0].fd, &err) < 0) ||
	    ipc_chan_poll_fd(d->ctl, &pfd[1].fd, &err) < 0)
		log_fatalx("poll fds: %s", err.text);
}

/*
 * The core is gone: nothing will reach us again (a redial is refused), and
 * the supervisor reads exit 0 as an orderly end.  _exit: the exit-time
 * handlers (the sanitizers', the libraries') may make calls the filter kills.
 */
static __attribute__((noreturn)) void devproc_core_gone(const char *how)
{
	log_info("core went away (%s): exiting", how);
	_exit(0);
}

/*
 * pfd[2..]: the watched connections, polled for hang-up only (events 0:
 * the data is NNG's to read).  Each one that hangs up leaves the set; the
 * core is gone when none is left.
 */
static void devproc_check_core(struct devproc *d, struct pollfd *pfd)
{
	int n = d->n_core_fds;

	for (int i = n - 1; i >= 0; i--) {
		if (!(pfd[2 + i].revents & (POLLHUP | POLLERR | POLLNVAL)))
			continue;
		log_debug("the core's connection (fd %d) hung up", d->core_fds[i]);
		close_fd(&d->core_fds[i]);
		d->core_fds[i] = d->core_fds[d->n_core_fds - 1];
		pfd[2 + i] = pfd[2 + d->n_core_fds - 1];
		d->n_core_fds--;
	}
	if (n && !d->n_core_fds)
		devproc_core_gone("its connection hung up");
}

static __attribute__((noreturn)) void devproc_run(struct devproc *d,
                                                  struct pollfd pfd[2 + CORE_WATCH_MAX])
{
	struct ipc_err err;
	struct ipc_msg *msg;

	for (int i = 0; i < d->n_core_fds; i++)
		pfd[2 + i] = (struct pollfd){ .fd = d->core_fds[i] };
	for (;;) {
		while (d->nstash) {
			msg = d->stash[0];
			memmove(d->stash, d->stash + 1, (size_t)--d->nstash * sizeof(d->stash[0]));
			serve_device(d, msg);
		}
		if (poll(pfd, (nfds_t)(2 + d->n_core_fds), -1) < 0) {
			if (errno != EINTR)
				log_warn("poll");
			continue;
		}
		if (pfd[0].revents & POLLIN) {
			if (ipc_recv(d->dev, 0, &msg, &err) == 0)
				serve_device(d, msg);
			else if (err.code == IPC_ERR_CLOSED)
				devproc_core_gone(err.text);
			else if (err.code != IPC_ERR_TIMEOUT)
				log_warnx("device plane: %s", err.text);
		}
		if (pfd[1].revents & POLLIN) {
			if (ipc_serve_recv(d->ctl, 0, &msg, &err) == 0)
				serve_ctl(d, msg);
		}
		devproc_check_core(d, pfd);
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "id", required_argument, NULL, 'i' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "epoch", required_argument, NULL, 'e' },
		{ "backend-fd", required_argument, NULL, 'b' },
		{ "state-fd", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "sandbox", required_argument, NULL, 'x' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *model = NULL, *rundir = NULL, *config = NULL, *sandbox = "enforce";
	enum sandbox_mode mode;
	struct sandbox *sb;
	struct pollfd pfd[2 + CORE_WATCH_MAX];
	char rundir_abs[PATH_MAX];
	struct devproc d = { 0 };
	struct devproc_host host = { &d, host_slot_map, host_config };
	struct devproc_res res = { .backend_fd = -1, .state_fd = -1, .host = &host };
	struct ipc_chan_opts copts = { .planes = PROTO_PLANE_DEVICE };
	struct ipc_chan_opts ctlopts = { .planes = PROTO_PLANE_DEVCTL };
	char tag[64], name[80], errbuf[256] = "";
	struct ipc_err err;
	unsigned long epoch = 0;
	int c;

	log_init("devproc");
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			model = optarg;
			break;
		case 'i':
			d.id = optarg;
			break;
		case 'r':
			rundir = optarg;
			break;
		case 'e':
			epoch = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			res.backend_fd = parse_fd(optarg, "backend-fd");
			break;
		case 's':
			res.state_fd = parse_fd(optarg, "state-fd");
			break;
		case 'c':
			config = optarg;
			break;
		case 'x':
			sandbox = optarg;
			break;
		case 'v':
			log_set_verbose(true);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	d.ops = model ? devproc_model_lookup(model) : NULL;
	if (!model || !d.id || !rundir || !config || res.backend_fd < 0 ||
	    (res.state_fd < 0 && !(d.ops && d.ops->no_device_plane)) || epoch < 1 ||
	    epoch > UINT32_MAX || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (sandbox_mode_parse(sandbox, &mode) < 0)
		log_fatalx("--sandbox: '%s' is not enforce, audit or off", sandbox);
	/* Bound into the empty root at the same path: it must be absolute. */
	if (!realpath(rundir, rundir_abs))
		log_fatal("--run-dir %s", rundir);
	rundir = rundir_abs;
	d.epoch = (uint32_t)epoch;
	d.next_corr = 1;
	for (int i = 0; i < CORE_WATCH_MAX; i++)
		d.core_fds[i] = -1;
	snprintf(tag, sizeof(tag), "devproc/%s/%s", model, d.id);
	log_init(tag);

	if (!d.ops)
		log_fatalx("--model: '%s' is not a device model", model);
	if (d.ops->create(&d.m, config, errbuf, sizeof(errbuf)) < 0)
		log_fatalx("--config: %s", errbuf);
	if (d.ops->attach(d.m, &res, errbuf, sizeof(errbuf)) < 0)
		log_fatalx("%s", errbuf);

	sb = devproc_sandbox_isolate(&d, mode, rundir);

	snprintf(name, sizeof(name), "dev-%s", d.id);
	if (!d.ops->no_device_plane &&
	    ipc_chan_connect(&d.dev, IPC_ROLE_PAIR, rundir, name, &copts, &err) < 0)
		log_fatalx("%s: %s", name, err.text);
	snprintf(name, sizeof(name), "devctl-%s", d.id);
	devproc_bind_ctl(&d, rundir, name, &ctlopts);
	devproc_poll_fds(&d, pfd);
	/* No device plane: the supervisor's SIGTERM (or PDEATHSIG) ends it. */
	if (!d.ops->no_device_plane) {
		devproc_attach_core(&d);
		devproc_watch_core(&d);
	}
	devproc_sandbox_lock(sb, mode);
	devproc_run(&d, pfd);
}
