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

/*
 * Wait for @pid to be gone; false if it still runs after 30 s.  Generous on
 * purpose: SIGKILL waits for an fsync in flight, which a loaded disk can hold
 * for seconds; what is checked is that it goes, not how fast.
 */
static inline bool dev_wait_gone(pid_t pid)
{
	struct timespec step = { 0, 1000000L }, now, until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += 30;
	while (pid > 0 && dev_pid_alive(pid)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > until.tv_sec ||
		    (now.tv_sec == until.tv_sec && now.tv_nsec >= until.tv_nsec))
			return false;
		nanosleep(&step, NULL);
	}
	return true;
}

#endif
