// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The replay tools' shared plumbing (replay_common.h): one copy of what
 * each of them had grown on its own.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay_common.h"

static bool is_log(const char *name)
{
	size_t len = strlen(name);

	return len > 4 && !strcmp(name + len - 4, ".log");
}

static int replay_dir(const char *tool, const char *dir, int (*one)(void *ctx, const char *path),
                      void *ctx)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort), ret = 0, files = 0;

	if (n < 0) {
		fprintf(stderr, "%s: %s: %s\n", tool, dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];

		if (is_log(ents[i]->d_name)) {
			snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
			if (one(ctx, path) < 0)
				ret = -1;
			files++;
		}
		free(ents[i]);
	}
	free(ents);
	if (!files) {
		fprintf(stderr, "%s: %s: no *.log recordings\n", tool, dir);
		return -1;
	}
	return ret;
}

int replay_paths(const char *tool, char **paths, int n, int (*one)(void *ctx, const char *path),
                 void *ctx)
{
	int ret = 0;

	for (int i = 0; i < n; i++) {
		DIR *d = opendir(paths[i]);

		if (d) {
			closedir(d);
			if (replay_dir(tool, paths[i], one, ctx) < 0)
				ret = -1;
		} else if (one(ctx, paths[i]) < 0) {
			ret = -1;
		}
	}
	return ret;
}

int replay_fail(const char *tool, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s:%u: ", tool, file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

bool replay_num_after(const char *s, const char *key, uint64_t *out)
{
	const char *p = strstr(s, key);
	char *end;

	if (!p)
		return false;
	p += strlen(key);
	errno = 0;
	*out = strtoull(p, &end, 0);
	return end != p && !errno;
}

bool replay_u32_after(const char *s, const char *key, uint32_t *out)
{
	uint64_t v;

	if (!replay_num_after(s, key, &v) || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

const char *replay_event_of(const char *line)
{
	const char *p = line;

	while (*p >= '0' && *p <= '9')
		p++;
	if (p == line || *p != '@')
		return line;
	p++;
	while ((*p >= '0' && *p <= '9') || *p == '.')
		p++;
	return *p == ':' ? p + 1 : line;
}

bool replay_is_event(const char *ev, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(ev, name, n) && (ev[n] == ' ' || ev[n] == '\n' || ev[n] == '\0');
}
