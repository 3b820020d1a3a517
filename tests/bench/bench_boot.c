/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_boot: run a VMM command N times and report the median wall time from
 * the fork to the guest's first serial line and to the process's exit, and
 * the VMM's resident memory at the first line without guest RAM where it can
 * tell (RssAnon + RssFile: splitvm-core's guest RAM is a memfd, counted in
 * RssShmem; QEMU's is anonymous memory, so for QEMU this includes the pages
 * the guest touched — a few hundred KiB for the test guest).
 *
 * usage: bench_boot RUNS LABEL CMD [ARGS...]
 * prints: LABEL first_ms=M exit_ms=M rss_kib=K vmrss_kib=K status=S
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct sample {
	double first_ms;
	double exit_ms;
	long rss_kib;
	long vmrss_kib;
	int status;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long status_field(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static int run_once(char **argv, struct sample *s)
{
	int out[2], devnull, wstatus;
	double t0;
	bool seen_line = false;
	pid_t pid;
	char buf[4096];

	memset(s, 0, sizeof(*s));
	s->first_ms = -1;
	s->rss_kib = -1;
	s->vmrss_kib = -1;
	if (pipe2(out, O_CLOEXEC) < 0)
		return -errno;
	t0 = now_ms();
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		devnull = open("/dev/null", O_RDWR);
		dup2(out[1], STDOUT_FILENO);
		if (devnull >= 0) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDERR_FILENO);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	for (;;) {
		ssize_t n = read(out[0], buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (!seen_line && memchr(buf, '\n', (size_t)n)) {
			long anon, file;

			s->first_ms = now_ms() - t0;
			seen_line = true;
			anon = status_field(pid, "RssAnon");
			file = status_field(pid, "RssFile");
			s->vmrss_kib = status_field(pid, "VmRSS");
			if (anon >= 0 && file >= 0)
				s->rss_kib = anon + file;
		}
	}
	close(out[0]);
	while (waitpid(pid, &wstatus, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	s->exit_ms = now_ms() - t0;
	s->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	struct sample s;
	double first[64], exits[64], rss[64], vmrss[64];
	int runs, status = 0;

	if (argc < 4 || (runs = atoi(argv[1])) < 1 || runs > 64) {
		fprintf(stderr, "usage: bench_boot RUNS(1-64) LABEL CMD [ARGS...]\n");
		return 2;
	}
	for (int i = 0; i < runs; i++) {
		if (run_once(argv + 3, &s)) {
			perror("bench_boot: run");
			return 1;
		}
		first[i] = s.first_ms;
		exits[i] = s.exit_ms;
		rss[i] = (double)s.rss_kib;
		vmrss[i] = (double)s.vmrss_kib;
		status = s.status;
	}
	printf("%s first_ms=%.1f exit_ms=%.1f rss_kib=%.0f vmrss_kib=%.0f status=%d\n", argv[2],
	       median(first, runs), median(exits, runs), median(rss, runs), median(vmrss, runs),
	       status);
	return 0;
}
