/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The supervisor's side of the memory plane, for the memsrv integration tests. */
#include "test_memsrv_client.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd.h"

static const struct ipc_chan_opts req_opts = {
	.planes = PROTO_PLANE_MEMORY,
	.recv_timeout_ms = MC_DEADLINE_MS,
	.send_timeout_ms = MC_DEADLINE_MS,
};

void mc_start(struct mc *c, const char *bin, bool socketpair_mode)
{
	int sv[2] = { -1, -1 }, logp[2];
	struct ipc_err err;
	pid_t parent = getpid();

	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "/tmp/splitvm-memsrv-XXXXXX");
	MC_CHECK(mkdtemp(c->dir), "mkdtemp: %s", strerror(errno));
	MC_CHECK(pipe2(logp, O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
	if (socketpair_mode)
		MC_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0,
		         "socketpair: %s", strerror(errno));

	c->pid = fork();
	MC_CHECK(c->pid >= 0, "fork: %s", strerror(errno));
	if (c->pid == 0) {
		char fdnum[16];
		const char *argv[10] = { bin, "--run-dir", c->dir, "--verbose" };
		int argc = 4;

		/* memsrv must not outlive a failed test. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(logp[1], STDERR_FILENO);
		if (socketpair_mode) {
			/* Only the fd meant for the child loses CLOEXEC, just before exec. */
			fcntl(sv[1], F_SETFD, 0);
			snprintf(fdnum, sizeof(fdnum), "%d", sv[1]);
			argv[argc++] = "--fd-channel-fd";
			argv[argc++] = fdnum;
		}
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(logp[1]);
	c->log_fd = logp[0];
	fcntl(c->log_fd, F_SETFL, O_NONBLOCK);

	MC_CHECK(ipc_chan_connect(&c->req, IPC_ROLE_REQ, c->dir, "memsrv", &req_opts, &err) == 0,
	         "connect: %s", err.text);
	if (socketpair_mode) {
		close(sv[1]);
		MC_CHECK(ipc_fdchan_wrap(&c->fdch, sv[0], getuid(), &err) == 0, "wrap: %s",
		         err.text);
	} else {
		mc_fdchan_reconnect(c);
	}
}

void mc_fdchan_reconnect(struct mc *c)
{
	struct ipc_err err = { 0 };

	ipc_fdchan_destroy(c->fdch);
	c->fdch = NULL;
	/* memsrv listens once it is up: wait for it, within the deadline. */
	for (int i = 0; i < MC_DEADLINE_MS / 10; i++) {
		if (ipc_fdchan_connect(&c->fdch, c->dir, "memsrv-fd", getuid(), &err) == 0)
			return;
		usleep(10000);
	}
	MC_CHECK(0, "fd channel connect: %s", err.text);
}

const char *mc_log(struct mc *c)
{
	ssize_t n;

	while (c->log_len < sizeof(c->log) - 1 &&
	       (n = read(c->log_fd, c->log + c->log_len, sizeof(c->log) - 1 - c->log_len)) > 0)
		c->log_len += (size_t)n;
	c->log[c->log_len] = '\0';
	return c->log;
}

int mc_wait(struct mc *c)
{
	int status = 0;

	MC_CHECK(waitpid(c->pid, &status, 0) == c->pid, "waitpid: %s", strerror(errno));
	c->pid = 0;
	mc_log(c);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void mc_cleanup(struct mc *c)
{
	char cmd[128];

	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	ipc_chan_destroy(c->req);
	ipc_fdchan_destroy(c->fdch);
	close_fd(&c->log_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", c->dir);
}

int __mc_call(struct mc *c, const ProtobufCMessage *req, struct ipc_msg **reply,
              struct ipc_err *err)
{
	return ipc_call(c->req, NULL, req, MC_DEADLINE_MS, reply, err);
}

struct ipc_msg *mc_call(struct mc *c, const ProtobufCMessage *req)
{
	struct ipc_msg *reply = NULL;
	struct ipc_err err = { 0 };

	MC_CHECK(__mc_call(c, req, &reply, &err) == 0, "%s: %s (field '%s')",
	         req->descriptor->short_name, err.text, err.field);
	return reply;
}

void mc_call_fails(struct mc *c, const ProtobufCMessage *req, int code, const char *field,
                   const char *text)
{
	struct ipc_msg *reply = NULL;
	struct ipc_err err = { 0 };
	int rc = __mc_call(c, req, &reply, &err);

	MC_CHECK(rc == -IPC_ERR_PEER, "%s: want an ErrorReply, got %d (%s)",
	         req->descriptor->short_name, rc, err.text);
	MC_CHECK(err.peer_code == code && strcmp(err.field, field) == 0 && strstr(err.text, text),
	         "%s: got code %d field '%s' text '%s'; want %d '%s' '%s'",
	         req->descriptor->short_name, err.peer_code, err.field, err.text, code, field,
	         text);
}

Splitvm__BackendConfig mc_config(Splitvm__BackendType type, const char *id, uint64_t size)
{
	Splitvm__BackendConfig cfg;

	backend_config_init(&cfg, type);
	cfg.id = (char *)id;
	cfg.size = size;
	return cfg;
}

struct ipc_msg *mc_create(struct mc *c, const Splitvm__BackendConfig *cfg)
{
	Splitvm__BackendCreate m = SPLITVM__BACKEND_CREATE__INIT;
	struct ipc_msg *reply;

	m.config = (Splitvm__BackendConfig *)cfg;
	reply = mc_call(c, &m.base);
	MC_CHECK(reply->type->type == SPLITVM__MSG_TYPE__MSG_BACKEND_INFO, "reply %s",
	         reply->type->name);
	return reply;
}

/* Take the fd that goes with @reply (a BackendInfo naming its tag). */
static int take_reply_fd(struct mc *c, const struct ipc_msg *reply, struct ipc_err *err)
{
	const Splitvm__BackendInfo *info = (const void *)reply->body;
	struct ipc_fdset *set = NULL;
	int fd, rc;

	if (!info->fd_tag)
		return -IPC_ERR_TAG;
	rc = ipc_fdchan_recv(c->fdch, info->fd_tag, MC_DEADLINE_MS, &set, err);
	if (rc < 0)
		return rc;
	fd = set->nfds == 1 ? ipc_fdset_take(set, 0) : -1;
	ipc_fdset_release(set);
	return fd >= 0 ? fd : -IPC_ERR_BAD_PACKET;
}

int __mc_acquire(struct mc *c, const char *id, const char *user, int *fd, struct ipc_err *err)
{
	Splitvm__BackendAcquire m = SPLITVM__BACKEND_ACQUIRE__INIT;
	struct ipc_msg *reply = NULL;
	int rc;

	m.id = (char *)id;
	m.user = (char *)user;
	rc = __mc_call(c, &m.base, &reply, err);
	if (rc < 0)
		return rc;
	rc = take_reply_fd(c, reply, err);
	ipc_msg_free(reply);
	if (rc < 0)
		return rc;
	*fd = rc;
	return 0;
}

int mc_acquire(struct mc *c, const char *id, const char *user)
{
	struct ipc_err err = { 0 };
	int fd = -1;

	MC_CHECK(__mc_acquire(c, id, user, &fd, &err) == 0, "acquire %s for %s: %s", id, user,
	         err.text);
	return fd;
}

void mc_release(struct mc *c, const char *id, const char *user)
{
	Splitvm__BackendRelease m = SPLITVM__BACKEND_RELEASE__INIT;

	m.id = (char *)id;
	m.user = (char *)user;
	ipc_msg_free(mc_call(c, &m.base));
}

void mc_delete(struct mc *c, const char *id)
{
	Splitvm__BackendDelete m = SPLITVM__BACKEND_DELETE__INIT;

	m.id = (char *)id;
	ipc_msg_free(mc_call(c, &m.base));
}

int mc_state(struct mc *c, const char *device, uint64_t size)
{
	Splitvm__StateCreate m = SPLITVM__STATE_CREATE__INIT;
	struct ipc_err err = { 0 };
	struct ipc_msg *reply;
	int fd;

	m.device = (char *)device;
	m.size = size;
	reply = mc_call(c, &m.base);
	fd = take_reply_fd(c, reply, &err);
	ipc_msg_free(reply);
	MC_CHECK(fd >= 0, "state fd of %s: %s", device, err.text);
	return fd;
}

struct ipc_msg *mc_list(struct mc *c)
{
	Splitvm__BackendList m = SPLITVM__BACKEND_LIST__INIT;
	struct ipc_msg *reply = mc_call(c, &m.base);

	MC_CHECK(reply->type->type == SPLITVM__MSG_TYPE__MSG_BACKEND_LIST_REPLY, "reply %s",
	         reply->type->name);
	return reply;
}

const Splitvm__BackendInfo *mc_find(const struct ipc_msg *list, const char *id)
{
	const Splitvm__BackendListReply *l = (const void *)list->body;

	for (size_t i = 0; i < l->n_backends; i++)
		if (strcmp(l->backends[i]->id, id) == 0)
			return l->backends[i];
	return NULL;
}
