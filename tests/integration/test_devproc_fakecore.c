// SPDX-License-Identifier: GPL-2.0-or-later
/* The fake core of the device-process tests; see test_devproc_fakecore.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#include "ipc_check.h"
#include "test_devproc_fakecore.h"
#include "devproc_pid.h"

#define ATTACH_WAIT_MS   10000
#define RESPONSE_WAIT_MS 10000

void fc_init(struct fcore *fc)
{
	struct ipc_chan_opts o = { .planes = PROTO_PLANE_DEVICE };
	struct ipc_err err;
	char name[80];

	snprintf(fc->rundir, sizeof(fc->rundir), "/tmp/splitvm-devproc-XXXXXX");
	CHECK(mkdtemp(fc->rundir), "mkdtemp: %s", strerror(errno));
	snprintf(name, sizeof(name), "dev-%s", fc->id);
	CHECK(ipc_chan_bind(&fc->pair, IPC_ROLE_PAIR, fc->rundir, name, &o, &err) == 0, "%s",
	      err.text);

	/* What memsrv would hand over: a sealed backend, an unsealed state memfd. */
	fc->backend_fd = memfd_create("vmem-backend", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(fc->backend_fd >= 0, "memfd_create: %s", strerror(errno));
	CHECK(ftruncate(fc->backend_fd, (off_t)fc->region_size) == 0, "ftruncate: %s",
	      strerror(errno));
	CHECK(fcntl(fc->backend_fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) == 0,
	      "seal: %s", strerror(errno));
	fc->state_fd = memfd_create("vmem-state", MFD_CLOEXEC);
	CHECK(fc->state_fd >= 0, "memfd_create: %s", strerror(errno));
	CHECK(ftruncate(fc->state_fd, 1 << 16) == 0, "ftruncate: %s", strerror(errno));

	CHECK(fc->region_size / FC_SLOT_SIZE <= FC_MAX_SLOTS, "region too large for the test");
	fc->pid = -1;
	fc->kill_after_us = -1;
	fc->drain_ms = 20;
}

void fc_fini(struct fcore *fc)
{
	char path[128];

	if (fc->pid > 0)
		fc_kill(fc);
	ipc_chan_destroy(fc->pair);
	fc->pair = NULL;
	close(fc->backend_fd);
	close(fc->state_fd);
	free(fc->acked);
	fc->acked = NULL;
	snprintf(path, sizeof(path), "%s/dev-%s", fc->rundir, fc->id);
	unlink(path);
	snprintf(path, sizeof(path), "%s/devctl-%s", fc->rundir, fc->id);
	unlink(path);
	rmdir(fc->rundir);
}

/*
 * The device process's environment: ours, with LeakSanitizer off (its
 * exit-time check needs ptrace and a new thread, which the sandbox kills).
 * Built before fork(): the child may only exec.
 */
static char **devproc_env(void)
{
	static const char opt[] = "detect_leaks=0";
	const char *asan = getenv("ASAN_OPTIONS");
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	CHECK(env, "calloc");
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "ASAN_OPTIONS=", 13))
			env[k++] = environ[i];
	CHECK(asprintf(&env[k], "ASAN_OPTIONS=%s%s%s", asan ? asan : "", asan ? ":" : "", opt) > 0,
	      "asprintf");
	return env;
}

static void devproc_env_free(char **env)
{
	size_t k = 0;

	while (env[k + 1])
		k++;
	free(env[k]); /* the ASAN_OPTIONS entry, always last */
	free(env);
}

static void spawn_exec(const struct fcore *fc, unsigned epoch, char **env)
{
	/* --opt=value in writable buffers: execv() takes char *const[]. */
	char model[] = "--model=virtio-mem", id[80], rd[96], ep[32], bfd[32], sfd[32], sb[32];
	char cfg[512];
	char *argv[] = {
		(char *)(uintptr_t)fc->devproc, model, id, rd, ep, bfd, sfd, cfg, sb, NULL
	};

	/* Only async-signal-safe work between fork and exec. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (fcntl(fc->backend_fd, F_SETFD, 0) < 0 || fcntl(fc->state_fd, F_SETFD, 0) < 0)
		_exit(126);
	snprintf(id, sizeof(id), "--id=%s", fc->id);
	snprintf(rd, sizeof(rd), "--run-dir=%s", fc->rundir);
	snprintf(ep, sizeof(ep), "--epoch=%u", epoch);
	snprintf(bfd, sizeof(bfd), "--backend-fd=%d", fc->backend_fd);
	snprintf(sfd, sizeof(sfd), "--state-fd=%d", fc->state_fd);
	snprintf(cfg, sizeof(cfg), "--config=%s", fc->config);
	snprintf(sb, sizeof(sb), "--sandbox=%s", fc->sandbox ? fc->sandbox : "off");
	execve(fc->devproc, argv, env);
	_exit(127);
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

uint64_t fc_config_u64(const struct fcore *fc, size_t off)
{
	return le64(fc->config_copy + off);
}

/* The slot map checks of a core, plus the exactly-once rule. */
static void apply_slot_map(struct fcore *fc, const Splitvm__DeviceSlotMap *sm, uint32_t epoch)
{
	uint64_t s = sm->offset / FC_SLOT_SIZE, len;

	CHECK(sm->offset % FC_SLOT_SIZE == 0 && sm->offset < fc->region_size,
	      "epoch %u: slot map at 0x%" PRIx64 " is not a slot of the region", epoch, sm->offset);
	len = fc->region_size - sm->offset < FC_SLOT_SIZE ? fc->region_size - sm->offset
	                                                  : FC_SLOT_SIZE;
	CHECK(sm->size == len, "epoch %u: slot %" PRIu64 " mapped with size 0x%" PRIx64, epoch, s,
	      sm->size);
	if (!sm->map && fc->acked) {
		uint64_t per = FC_SLOT_SIZE / fc->block_size;

		for (uint64_t b = s * per; b < (s + 1) * per && b < fc->nblocks; b++) {
			bool inflight =
			        b >= fc->inflight_first && b < fc->inflight_first + fc->inflight_n;

			CHECK(!fc->acked[b] || inflight,
			      "epoch %u: slot %" PRIu64 " unmapped, but block %" PRIu64
			      " in it was answered plugged: a block changed state twice",
			      epoch, s, b);
		}
	}
	fc->mapped[s] = sm->map;
	fc->slot_calls++;
	fc->last_map_offset = sm->offset;
	fc->last_map = sm->map;
}

static void apply_config(struct fcore *fc, const Splitvm__DeviceConfigUpdate *cu)
{
	CHECK(cu->config.len == FC_CONFIG_LEN, "config update of %zu bytes", cu->config.len);
	memcpy(fc->config_copy, cu->config.data, FC_CONFIG_LEN);
	fc->config_updates++;
	fc->last_notify = cu->notify;
}

/* A response's unmaps and config copy, which a core applies before the answer. */
static void apply_response_effects(struct fcore *fc, const Splitvm__DeviceResponse *rs,
                                   uint32_t epoch)
{
	for (size_t i = 0; i < rs->n_slots; i++) {
		CHECK(!rs->slots[i]->map, "epoch %u: a response carries a map", epoch);
		apply_slot_map(fc, rs->slots[i], epoch);
	}
	if (rs->config)
		apply_config(fc, rs->config);
}

pid_t fc_device_pid(const struct fcore *fc)
{
	return dev_child(fc->pid);
}

void fc_wait_gone(pid_t pid)
{
	CHECK(dev_wait_gone(pid), "pid %d still runs 30 s after its reaper was killed", (int)pid);
}

void fc_kill(struct fcore *fc)
{
	struct ipc_msg *msg;
	struct ipc_err err;
	pid_t child = fc_device_pid(fc);
	int status;

	CHECK(fc->pid > 0, "no device process to kill");
	CHECK(kill(fc->pid, SIGKILL) == 0, "kill: %s", strerror(errno));
	CHECK(waitpid(fc->pid, &status, 0) == fc->pid, "waitpid: %s", strerror(errno));
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	      "the device process had ended by itself (status 0x%x)", status);
	fc->pid = -1;
	/* Sandboxed: the reaper's death takes the real process (PDEATHSIG). */
	fc_wait_gone(child);
	fc->kills++;
	/*
	 * A real core acted on what the process sent before it died; the
	 * answers to it go nowhere.  Responses are dropped: the request is
	 * re-sent to the successor, which must answer it from its journal.
	 */
	while (ipc_recv(fc->pair, fc->drain_ms, &msg, &err) == 0) {
		if (msg->type->type == SPLITVM__MSG_TYPE__MSG_DEVICE_SLOT_MAP)
			apply_slot_map(fc, (Splitvm__DeviceSlotMap *)msg->body, msg->epoch);
		else if (msg->type->type == SPLITVM__MSG_TYPE__MSG_DEVICE_CONFIG_UPDATE)
			apply_config(fc, (Splitvm__DeviceConfigUpdate *)msg->body);
		else if (msg->type->type == SPLITVM__MSG_TYPE__MSG_DEVICE_RESPONSE)
			apply_response_effects(fc, (Splitvm__DeviceResponse *)msg->body,
			                       msg->epoch);
		ipc_msg_free(msg);
	}
}

void fc_spawn(struct fcore *fc)
{
	Splitvm__DeviceAttached ad = SPLITVM__DEVICE_ATTACHED__INIT;
	Splitvm__DeviceAttach *at;
	struct ipc_msg *msg;
	struct ipc_err err;
	char **env = devproc_env();

	CHECK(fc->pid < 0, "a device process is running");
	fc->epoch++;
	fc->pid = fork();
	CHECK(fc->pid >= 0, "fork: %s", strerror(errno));
	if (fc->pid == 0)
		spawn_exec(fc, fc->epoch, env);
	devproc_env_free(env);

	CHECK(ipc_recv(fc->pair, ATTACH_WAIT_MS, &msg, &err) == 0, "no DeviceAttach: %s", err.text);
	CHECK(msg->type->type == SPLITVM__MSG_TYPE__MSG_DEVICE_ATTACH, "got %s, not an attach",
	      msg->type->name);
	CHECK(msg->epoch == fc->epoch && !strcmp(msg->device, fc->id),
	      "attach from %s epoch %u, expected %s epoch %u", msg->device, msg->epoch, fc->id,
	      fc->epoch);
	at = (Splitvm__DeviceAttach *)msg->body;
	CHECK(at->virtio_id == 24, "virtio_id %u", at->virtio_id);
	CHECK(at->features & 2 && at->required_features & 2,
	      "UNPLUGGED_INACCESSIBLE must be offered and required");
	CHECK(at->n_queues == 1 && at->queues[0]->max_size > 0, "one request queue expected");
	CHECK(at->config.len == FC_CONFIG_LEN, "config of %zu bytes", at->config.len);
	CHECK(at->region_size == fc->region_size, "region_size 0x%" PRIx64, at->region_size);
	memcpy(fc->config_copy, at->config.data, FC_CONFIG_LEN);
	fc->block_size = fc_config_u64(fc, 0);
	CHECK(fc->block_size && fc->region_size % fc->block_size == 0, "block size 0x%" PRIx64,
	      fc->block_size);
	if (!fc->acked) {
		fc->nblocks = fc->region_size / fc->block_size;
		fc->acked = calloc(fc->nblocks, 1);
		CHECK(fc->acked, "calloc");
	}

	/* As the core: the answer carries the attach's correlation id and epoch. */
	ad.region_gpa = fc->gpa;
	CHECK(ipc_reply(fc->pair, msg, &ad.base, &err) == 0, "DeviceAttached: %s", err.text);
	ipc_msg_free(msg);
}

/*
 * One message from the device plane.  Returns 1 with *resp filled for the
 * response to @seq, 0 for anything else, -ECHILD when the hook killed the
 * process, -ETIMEDOUT when nothing came within @ms.
 */
static int fc_pump(struct fcore *fc, int ms, uint64_t seq, uint8_t *resp)
{
	struct ipc_msg *msg;
	struct ipc_err err;
	int ret = 0;

	if (ipc_recv(fc->pair, ms, &msg, &err) < 0) {
		CHECK(err.code == IPC_ERR_TIMEOUT, "device plane: %s", err.text);
		return -ETIMEDOUT;
	}
	switch (msg->type->type) {
	case SPLITVM__MSG_TYPE__MSG_DEVICE_SLOT_MAP: {
		Splitvm__OkReply ok = SPLITVM__OK_REPLY__INIT;

		apply_slot_map(fc, (Splitvm__DeviceSlotMap *)msg->body, msg->epoch);
		if (msg->epoch != fc->epoch)
			break; /* from a dead predecessor: nobody waits for the answer */
		if (fc->hook && fc->hook(fc, FC_EV_SLOT_MAP, fc->hook_opaque)) {
			fc_kill(fc);
			ret = -ECHILD;
			break;
		}
		CHECK(ipc_reply(fc->pair, msg, &ok.base, &err) == 0, "OkReply: %s", err.text);
		break;
	}
	case SPLITVM__MSG_TYPE__MSG_DEVICE_CONFIG_UPDATE:
		apply_config(fc, (Splitvm__DeviceConfigUpdate *)msg->body);
		if (msg->epoch == fc->epoch && fc->hook &&
		    fc->hook(fc, FC_EV_CONFIG_UPDATE, fc->hook_opaque)) {
			fc_kill(fc);
			ret = -ECHILD;
		}
		break;
	case SPLITVM__MSG_TYPE__MSG_DEVICE_RESPONSE: {
		Splitvm__DeviceResponse *rs = (Splitvm__DeviceResponse *)msg->body;

		apply_response_effects(fc, rs, msg->epoch);
		/*
		 * A config copy comes with the answer: the journal has the request.
		 * A kill here loses the answer, as a core whose device process died
		 * before answering; the successor answers the re-sent request.
		 */
		if (rs->config && msg->epoch == fc->epoch && fc->hook &&
		    fc->hook(fc, FC_EV_CONFIG_UPDATE, fc->hook_opaque)) {
			fc_kill(fc);
			ret = -ECHILD;
			break;
		}
		if (msg->epoch != fc->epoch || msg->seq != seq || !resp)
			break; /* not outstanding: a core drops it */
		CHECK(rs->data.len == 10, "seq %" PRIu64 ": response of %zu bytes", seq,
		      rs->data.len);
		memcpy(resp, rs->data.data, 10);
		ret = 1;
		break;
	}
	default:
		CHECK(0, "unexpected %s on the device plane", msg->type->name);
	}
	ipc_msg_free(msg);
	return ret;
}

static long elapsed_us(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000000L + (t.tv_nsec - t0->tv_nsec) / 1000;
}

int fc_request(struct fcore *fc, uint64_t seq, const uint8_t *req, size_t len, uint8_t resp[10])
{
	Splitvm__DeviceRequest rq = SPLITVM__DEVICE_REQUEST__INIT;
	struct ipc_hdr hdr = { .device = fc->id, .epoch = fc->epoch, .seq = seq };
	struct timespec t0;
	struct ipc_err err;
	int ret;

	rq.queue = 0;
	rq.data.data = (uint8_t *)(uintptr_t)req;
	rq.data.len = len;
	rq.writable_len = 10;
	CHECK(ipc_send(fc->pair, &hdr, &rq.base, &err) == 0, "DeviceRequest: %s", err.text);
	if (fc->kill_after_us >= 0) {
		struct timespec d = { 0, fc->kill_after_us * 1000 };

		fc->kill_after_us = -1;
		nanosleep(&d, NULL);
		fc_kill(fc);
		return -ECHILD;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long left = RESPONSE_WAIT_MS - elapsed_us(&t0) / 1000;

		CHECK(left > 0, "seq %" PRIu64 ": no response within %d ms", seq, RESPONSE_WAIT_MS);
		ret = fc_pump(fc, (int)left, seq, resp);
		if (ret == 1)
			return 0;
		if (ret == -ECHILD)
			return ret;
	}
}

void fc_serve(struct fcore *fc, int ms)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long left = ms; left > 0; left = ms - elapsed_us(&t0) / 1000)
		(void)fc_pump(fc, (int)left, 0, NULL);
}

void fc_vmem_req(uint8_t out[24], uint16_t type, uint64_t addr, uint16_t nb_blocks)
{
	memset(out, 0, 24);
	out[0] = (uint8_t)type;
	out[1] = (uint8_t)(type >> 8);
	for (int i = 0; i < 8; i++)
		out[8 + i] = (uint8_t)(addr >> (8 * i));
	out[16] = (uint8_t)nb_blocks;
	out[17] = (uint8_t)(nb_blocks >> 8);
}

uint64_t fc_backend_allocated(const struct fcore *fc)
{
	struct stat st;

	CHECK(fstat(fc->backend_fd, &st) == 0, "fstat: %s", strerror(errno));
	return (uint64_t)st.st_blocks * 512;
}

unsigned long fc_rss_kib(const struct fcore *fc)
{
	char path[64], line[256];
	unsigned long kib = 0;
	FILE *f;

	pid_t pid = fc_device_pid(fc);

	/* Sandboxed: the reaper's only child is the device process. */
	snprintf(path, sizeof(path), "/proc/%d/status", (int)(pid > 0 ? pid : fc->pid));
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lu kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

void fc_ack_blocks(struct fcore *fc, uint64_t first, uint64_t n, bool plugged)
{
	CHECK(first + n <= fc->nblocks, "blocks out of range");
	memset(fc->acked + first, plugged, n);
}
