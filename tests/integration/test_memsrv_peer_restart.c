/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memsrv outlives its peers.  With memsrv listening for the fd channel:
 * the supervisor's fd channel dies and a fresh one connects (a restarted
 * supervisor), an acquire made while nobody can receive the fd is refused
 * and leaves no user behind, a peer that pushes fds at memsrv has them
 * closed, a peer of another uid is turned away (when run as root), the
 * requester's socket is replaced; memsrv serves throughout and exits 0 on
 * SIGTERM, releasing everything.
 *
 * usage: test_memsrv_peer_restart PATH-TO-splitvm-memsrv
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd.h"
#include "log.h"
#include "test_memsrv_client.h"

#define MIB (1ull << 20)

static const struct ipc_chan_opts req_opts = {
	.planes = PROTO_PLANE_MEMORY,
	.recv_timeout_ms = MC_DEADLINE_MS,
	.send_timeout_ms = MC_DEADLINE_MS,
};

static bool user_listed(struct mc *c, const char *id, const char *user)
{
	struct ipc_msg *list = mc_list(c);
	const Splitvm__BackendInfo *info = mc_find(list, id);
	bool found = false;

	for (size_t i = 0; info && i < info->n_users; i++)
		found |= strcmp(info->users[i], user) == 0;
	ipc_msg_free(list);
	return found;
}

/* A peer running as nobody connects to the fd channel: memsrv refuses it. */
static void stranger_connects(struct mc *c)
{
	char sock[128];
	pid_t pid;
	int status;

	if (getuid() != 0) {
		printf("note: not root, the wrong-uid peer step is left out\n");
		return;
	}
	/*
	 * The 0700 run directory alone keeps strangers out; open it for a
	 * moment to reach memsrv's own check, the one behind it.
	 */
	snprintf(sock, sizeof(sock), "%s/memsrv-fd", c->dir);
	MC_CHECK(chmod(c->dir, 0711) == 0 && chmod(sock, 0666) == 0, "chmod: %s", strerror(errno));
	pid = fork();
	MC_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		struct ipc_fdchan *ch = NULL;
		struct ipc_err err;
		char byte;

		/* Plain sockets only here: no nng after fork. */
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		if (ipc_fdchan_connect(&ch, c->dir, "memsrv-fd", 0, &err) < 0)
			_exit(4);
		/* memsrv closes on us once it sees who we are. */
		_exit(read(ipc_fdchan_fd(ch), &byte, 1) == 0 ? 0 : 3);
	}
	MC_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status),
	         "stranger: status 0x%x", status);
	MC_CHECK(chmod(c->dir, 0700) == 0 && chmod(sock, 0600) == 0, "chmod: %s", strerror(errno));
	for (int i = 0; i < 100 && !strstr(mc_log(c), "uid 65534"); i++)
		usleep(20000);
	MC_CHECK(strstr(mc_log(c), "uid 65534"), "stranger not refused:\n%s", c->log);
}

int main(int argc, char **argv)
{
	Splitvm__BackendConfig cfg;
	struct ipc_err err = { 0 };
	int fd = -1, pipefd[2];
	struct mc c;

	MC_CHECK(argc == 2, "usage: %s PATH-TO-splitvm-memsrv", argv[0]);
	log_init("test/memsrv_peer_restart");
	signal(SIGPIPE, SIG_IGN);
	mc_start(&c, argv[1], false);

	cfg = mc_config(SPLITVM__BACKEND_TYPE__BACKEND_RAM, "mem0", 8 * MIB);
	ipc_msg_free(mc_create(&c, &cfg));
	close(mc_acquire(&c, "mem0", "dimm0"));

	/* The supervisor's fd channel dies. */
	ipc_fdchan_destroy(c.fdch);
	c.fdch = NULL;
	/* Until memsrv has noticed, an fd might still go into the void; after
	 * that, the acquire is refused and undone.  Either way no fd arrives. */
	for (int i = 0; i < 100 && !strstr(mc_log(&c), "fd channel: the peer is gone"); i++)
		usleep(20000);
	MC_CHECK(strstr(mc_log(&c), "fd channel: the peer is gone"), "hangup not noticed");
	MC_CHECK(__mc_acquire(&c, "mem0", "dimm1", &fd, &err) == -IPC_ERR_PEER,
	         "acquire without an fd channel: %s", err.text);
	MC_CHECK(strstr(err.text, "no fd channel"), "text: %s", err.text);
	MC_CHECK(!user_listed(&c, "mem0", "dimm1"), "a user that never got the fd is listed");
	MC_CHECK(user_listed(&c, "mem0", "dimm0"), "the earlier user was dropped");

	/* A restarted supervisor connects again. */
	mc_fdchan_reconnect(&c);
	fd = mc_acquire(&c, "mem0", "dimm1");
	MC_CHECK(fd >= 0 && user_listed(&c, "mem0", "dimm1"), "acquire after reconnect");
	close(fd);

	/* fds pushed at memsrv are closed, and it goes on. */
	MC_CHECK(pipe2(pipefd, O_CLOEXEC) == 0, "pipe");
	MC_CHECK(ipc_fdchan_send(c.fdch, 99, pipefd, 2, &err) == 0, "push: %s", err.text);
	close(pipefd[0]);
	close(pipefd[1]);
	for (int i = 0; i < 100 && !strstr(mc_log(&c), "closing them"); i++)
		usleep(20000);
	MC_CHECK(strstr(mc_log(&c), "the peer sent fds; closing them"),
	         "pushed fds not refused:\n%s", c.log);
	close(mc_acquire(&c, "mem0", "core"));

	/* Another uid is turned away; the supervisor's channel stays. */
	stranger_connects(&c);
	close(mc_acquire(&c, "mem0", "core"));

	/* The requester's socket is replaced by a new one. */
	ipc_chan_destroy(c.req);
	MC_CHECK(ipc_chan_connect(&c.req, IPC_ROLE_REQ, c.dir, "memsrv", &req_opts, &err) == 0,
	         "reconnect: %s", err.text);
	MC_CHECK(user_listed(&c, "mem0", "core"), "state lost across a requester restart");

	kill(c.pid, SIGTERM);
	MC_CHECK(mc_wait(&c) == 0, "memsrv did not exit 0 on SIGTERM:\n%s", c.log);
	MC_CHECK(strstr(c.log, "released backend mem0 (held by 3 users) at shutdown"),
	         "no release at exit:\n%s", c.log);
	mc_cleanup(&c);
	printf("memsrv's log:\n%s\nmemsrv peer restart: ok\n", c.log);
	return 0;
}
