/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A sandboxed splitvm-devproc is two processes: the pid its spawner holds is
 * the sandbox's reaper, and the device process is the reaper's only child
 * (common/sandbox.h).  The tests that spawn one find and wait for the child
 * with these.
 */
#ifndef SPLITVM_TEST_DEVPROC_PID_H
#define SPLITVM_TEST_DEVPROC_PID_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

/* The device process: the reaper's only child, or -1. */
static inline pid_t dev_child(pid_t reaper)
{
	char path[96];
	long child = 0;
	FILE *f;

	if (reaper <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)reaper, (int)reaper);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &child) != 1)
		child = 0;
	fclose(f);
	return child > 0 ? (pid_t)child : -1;
}

/* Alive: not gone and not a zombie (a zombie has closed its sockets). */
static inline bool dev_pid_alive(pid_t pid)
{
	char path[64], line[256];
	bool alive = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "State:", 6)) {
			alive = !strchr(line, 'Z') && !strchr(line, 'X');
			break;
		}
	}
	fclose(f);
	return alive;
}

/* Wait up to 5 s for @pid to be gone; false if it still runs. */
static inline bool dev_wait_gone(pid_t pid)
{
	struct timespec step = { 0, 1000000L };

	for (int i = 0; i < 5000 && pid > 0 && dev_pid_alive(pid); i++)
		nanosleep(&step, NULL);
	return pid <= 0 || !dev_pid_alive(pid);
}

#endif
