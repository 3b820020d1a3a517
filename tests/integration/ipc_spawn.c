/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd.h"
#include "ipc_spawn.h"

pid_t ipc_peer_spawn(const char *peer_path, const char *dir, const char *name)
{
	struct pollfd pfd = { .events = POLLIN };
	int ready[2];
	char c;
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC) < 0) {
		perror("pipe2");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		close_fd(&ready[0]);
		close_fd(&ready[1]);
		return -1;
	}
	if (pid == 0) {
		char fdarg[16];

		/* Only the write end crosses exec, by the number on argv. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fcntl(ready[1], F_SETFD, 0) < 0)
			_exit(126);
		snprintf(fdarg, sizeof(fdarg), "%d", ready[1]);
		execl(peer_path, peer_path, dir, name, fdarg, (char *)NULL);
		_exit(127);
	}
	close_fd(&ready[1]);
	pfd.fd = ready[0];
	if (poll(&pfd, 1, 10000) != 1 || read(ready[0], &c, 1) != 1) {
		fprintf(stderr, "ipc_peer %s did not come up\n", peer_path);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close_fd(&ready[0]);
		return -1;
	}
	close_fd(&ready[0]);
	return pid;
}

bool ipc_peer_reap(pid_t pid, int want_status)
{
	int status;

	if (waitpid(pid, &status, 0) != pid) {
		perror("waitpid");
		return false;
	}
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "ipc_peer %d was killed by signal %d (%s)\n", (int)pid,
		        WTERMSIG(status), strsignal(WTERMSIG(status)));
		return false;
	}
	if (WEXITSTATUS(status) != want_status) {
		fprintf(stderr, "ipc_peer %d exited %d, expected %d\n", (int)pid,
		        WEXITSTATUS(status), want_status);
		return false;
	}
	return true;
}

void ipc_rundir_make(char *buf, size_t size)
{
	snprintf(buf, size, "/tmp/splitvm-it-XXXXXX");
	if (!mkdtemp(buf)) {
		perror("mkdtemp");
		exit(1);
	}
}

void ipc_rundir_remove(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}
