/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Golden files of the launch config: every tests/data/config/ *.xml and
 * *.args input (and libvirt/ *.xml) is parsed and printed, and the text,
 * with the log lines the parse wrote, must equal the committed .golden file
 * beside it.  A config that must be refused has its error line there.
 *
 * Regenerate with SPLITVM_REGEN_GOLDEN=1 (then review the diff by eye):
 *   SPLITVM_REGEN_GOLDEN=1 build/tests/unit/test_config_golden
 * Host checks are off: the inputs name paths (/tmp/nvdimm) of other hosts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "log.h"

#ifndef SPLITVM_CONFIG_DATA
#error "SPLITVM_CONFIG_DATA must name tests/data/config"
#endif

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = n + 8192 + 1);

			assert_non_null(nb);
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n - 1, f);

		n += r;
		if (!r)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/*
 * A .args file: shell-like words, '\' line continuations, '#' comment lines,
 * single quotes.  Returns argc; argv and its strings are in *@store.
 */
static int split_args(char *text, char **argv, int max)
{
	int argc = 0;
	char *p = text, *w;

	while (*p) {
		if (*p == '#' && (p == text || p[-1] == '\n')) {
			while (*p && *p != '\n')
				p++;
			continue;
		}
		if (*p == ' ' || *p == '\t' || *p == '\n' || (*p == '\\' && p[1] == '\n')) {
			p += *p == '\\' ? 2 : 1;
			continue;
		}
		assert_true(argc < max);
		w = p;
		argv[argc++] = w;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
			if (*p == '\'') {
				p++;
				while (*p && *p != '\'')
					*w++ = *p++;
				if (*p)
					p++;
			} else {
				*w++ = *p++;
			}
		}
		if (*p)
			p++;
		*w = '\0';
	}
	return argc;
}

/* The log lines without "tag[pid]: ", so that the text is stable. */
static void append_log(FILE *out, const char *log)
{
	for (const char *line = log; *line;) {
		const char *end = strchr(line, '\n');
		const char *msg = strstr(line, "]: ");
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (msg && (!end || msg < end))
			len -= (size_t)(msg + 3 - line), line = msg + 3;
		fprintf(out, "log: %.*s\n", (int)len, line);
		line += len;
		if (*line == '\n')
			line++;
	}
}

/* Parse @path and return the text its golden file must hold. */
static char *render(const char *path)
{
	char tmpl[] = "/tmp/test_config_golden.XXXXXX";
	int logfd = mkstemp(tmpl);
	Splitvm__VmConfig *cfg = NULL;
	struct config_error err = { { 0 }, { 0 } };
	char *out = NULL, *log, line[600];
	size_t outlen = 0;
	FILE *f;
	int rc;

	assert_true(logfd >= 0);
	unlink(tmpl);
	log_set_fd(logfd);
	if (strstr(path, ".args")) {
		char *text = slurp(path, NULL), *argv[256];
		int argc;

		assert_non_null(text);
		argc = split_args(text, argv, 256);
		rc = config_parse_qemu(argc, argv, CONFIG_NO_HOST_CHECKS, &cfg, &err);
		free(text);
	} else {
		rc = config_parse_xml_file(path, CONFIG_NO_HOST_CHECKS, &cfg, &err);
	}
	log_set_fd(-1);
	f = open_memstream(&out, &outlen);
	assert_non_null(f);
	lseek(logfd, 0, SEEK_SET);
	{
		char buf[8192];
		ssize_t n = read(logfd, buf, sizeof(buf) - 1);

		buf[n > 0 ? n : 0] = '\0';
		log = buf;
		append_log(f, log);
	}
	close(logfd);
	if (rc) {
		assert_int_equal(rc, -EINVAL);
		assert_null(cfg);
		fprintf(f, "error: %s\n", config_error_line(&err, line, sizeof(line)));
	} else {
		assert_int_equal(config_print(cfg, f), 0);
		config_free(cfg);
	}
	fclose(f);
	return out;
}

static int check_one(const char *path)
{
	char golden[1024];
	char *want, *got = render(path);
	const char *dot = strrchr(path, '.');
	int bad = 0;

	snprintf(golden, sizeof(golden), "%.*s.golden", (int)(dot - path), path);
	if (getenv("SPLITVM_REGEN_GOLDEN")) {
		FILE *f = fopen(golden, "we");

		assert_non_null(f);
		fputs(got, f);
		fclose(f);
		printf("regenerated %s\n", golden);
		free(got);
		return 0;
	}
	want = slurp(golden, NULL);
	if (!want) {
		printf("%s: no golden file %s (SPLITVM_REGEN_GOLDEN=1 makes it)\n", path, golden);
		bad = 1;
	} else if (strcmp(want, got)) {
		printf("%s: output differs from %s:\n--- got\n%s--- want\n%s", path, golden, got,
		       want);
		bad = 1;
	}
	free(want);
	free(got);
	return bad;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static unsigned run_dir(const char *dir, unsigned *count)
{
	struct dirent **names;
	unsigned bad = 0;
	int n = scandir(dir, &names, NULL, by_name);

	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		size_t len = strlen(name);
		char path[1024];

		if ((len > 4 && !strcmp(name + len - 4, ".xml")) ||
		    (len > 5 && !strcmp(name + len - 5, ".args"))) {
			snprintf(path, sizeof(path), "%s/%s", dir, name);
			bad += (unsigned)check_one(path);
			(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return bad;
}

static void test_golden_files(void **state)
{
	unsigned count = 0, bad = 0;

	(void)state;
	bad += run_dir(SPLITVM_CONFIG_DATA, &count);
	bad += run_dir(SPLITVM_CONFIG_DATA "/libvirt", &count);
	printf("%u inputs, %u differ\n", count, bad);
	/* libvirt's 12 memory-hotplug files, the seeds and splitvm's own. */
	assert_true(count >= 24);
	assert_int_equal(bad, 0);
}

/* The same machine in both syntaxes prints the same config. */
static void test_xml_equals_qemu(void **state)
{
	char *a, *b;

	(void)state;
	a = render(SPLITVM_CONFIG_DATA "/equiv-machine.xml");
	b = render(SPLITVM_CONFIG_DATA "/equiv-machine.args");
	assert_string_equal(a, b);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_files),
		cmocka_unit_test(test_xml_equals_qemu),
	};

	log_init("test/config");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
