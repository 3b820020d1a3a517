/* SPDX-License-Identifier: GPL-2.0-or-later */
/* CHECK(): the assertion of the ipc integration tests (kept under NDEBUG). */
#ifndef SPLITVM_TEST_IPC_CHECK_H
#define SPLITVM_TEST_IPC_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

#endif
