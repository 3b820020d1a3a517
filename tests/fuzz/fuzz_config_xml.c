/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the launch config's XML reader (sup/config_xml.c):
 * a domain XML is user input that reaches libxml2 and every rule of
 * config_check().  Each input is parsed twice (normal and strict); a config
 * that parses is printed, so the printer sees every shape the parser makes.
 * Host checks are off: the fuzzer must not probe the file system.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* Skipped-element warnings and notices would flood the output. */
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	(void)argc;
	(void)argv;
	if (fd >= 0)
		log_set_fd(fd);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned flags[] = { CONFIG_NO_HOST_CHECKS,
		                          CONFIG_NO_HOST_CHECKS | CONFIG_STRICT };

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		struct config_error err;
		Splitvm__VmConfig *cfg = NULL;
		char *text = NULL;

		if (config_parse_xml((const char *)data, size, flags[i], &cfg, &err) == 0) {
			/* What was accepted must pass its own check again. */
			if (config_check(cfg, CONFIG_SYNTAX_XML, CONFIG_NO_HOST_CHECKS, &err))
				abort();
			if (config_print_string(cfg, &text) == 0)
				free(text);
			config_free(cfg);
		} else if (cfg) {
			abort();
		}
	}
	return 0;
}
