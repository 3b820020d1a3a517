/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The launch config: a libvirt domain XML subset or QEMU-style options ->
 * one Splitvm__VmConfig (proto/config.proto), checked before anything
 * starts.
 *
 *   config_parse_xml()    <domain> as libvirt reads it (units, defaults,
 *                         the x86 size alignment, the memory device aliases
 *                         and backends libvirt's qemu driver makes);
 *   config_parse_qemu()   the argv of `splitvm run -m ... -object ...`, with
 *                         QEMU 7.2's option names and rules;
 *   config_check()        every rule on the result, shared by both; both
 *                         parsers call it last, so a config they return
 *                         has passed it;
 *   config_print()        the config as stable "key: value" text
 *                         (`splitvm run --dry-run`, golden files).
 *
 * Errors: functions return 0, -EINVAL for a config that breaks a rule,
 * -ENOMEM, or -errno of a failed read.  *err then names the element or
 * option in `field` and the rule in `text`; config_error_line() writes
 * both as the one line a user sees.  The first error stops the parse and
 * nothing stays allocated.
 *
 * splitvm's own settings go in one element of its own XML namespace
 * (CONFIG_XML_NS), the way libvirt keeps its qemu:commandline extension:
 *
 *   <splitvm:settings xmlns:splitvm="https://splitvm.invalid/xmlns/domain/1.0">
 *     <splitvm:sandbox mode="enforce"/>          enforce | audit
 *     <splitvm:restart max="5" window="60" backoff-initial-ms="100"
 *                      backoff-max-ms="5000"/>   window in seconds
 *     <splitvm:rundir path="/run/splitvm/vm1"/>
 *   </splitvm:settings>
 */
#ifndef SPLITVM_SUP_CONFIG_H
#define SPLITVM_SUP_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.pb-c.h"

#define CONFIG_XML_NS "https://splitvm.invalid/xmlns/domain/1.0"

/* The largest launch config file read (a domain XML is a few KiB). */
#define CONFIG_MAX_FILE_SIZE (1024 * 1024)

/* What splitvm-core can run; refused here so that nothing starts first. */
#define CONFIG_MAX_VCPUS      64
#define CONFIG_MAX_NUMA_NODES 8
/* QEMU's ACPI_MAX_RAM_SLOTS. */
#define CONFIG_MAX_SLOTS 256
/* The THP size on x86_64: virtio-mem's smallest block (libvirt's rule). */
#define CONFIG_THP_SIZE (UINT64_C(2) << 20)
/* x86 memory devices are multiples of 2 MiB (QEMU and libvirt). */
#define CONFIG_DEVICE_ALIGN (UINT64_C(2) << 20)
/* QEMU's MIN_NAMESPACE_LABEL_SIZE for nvdimm label-size. */
#define CONFIG_MIN_LABEL_SIZE (UINT64_C(128) << 10)

/* Defaults of the restart policy (issue 6: 5 restarts in 60 s). */
#define CONFIG_RESTART_MAX            5
#define CONFIG_RESTART_WINDOW_MS      60000
#define CONFIG_RESTART_BACKOFF_MS     100
#define CONFIG_RESTART_BACKOFF_MAX_MS 5000

struct config_error {
	char field[128]; /* "devices/memory[2]/target/requested", "-m maxmem" */
	char text[384];  /* the rule, without the field */
};

enum config_flags {
	/* Refuse the elements splitvm has no use for instead of skipping them. */
	CONFIG_STRICT = 1u << 0,
	/*
	 * Skip the checks that look at the host (mem-path, kernel, initrd,
	 * serial file): for golden files whose paths exist elsewhere.
	 */
	CONFIG_NO_HOST_CHECKS = 1u << 1,
};

/* Which syntax a config came from: errors of config_check() speak it. */
enum config_syntax {
	CONFIG_SYNTAX_XML,
	CONFIG_SYNTAX_QEMU,
};

/*
 * Parse a domain XML document of @len bytes (no NUL needed).  No network,
 * no DTD: a document with a DOCTYPE is refused.  Skipped elements are named
 * in one log_warnx() line; size alignments and ignored values in
 * log_info() notices.  On success *@out is the caller's (config_free());
 * on failure it is NULL.
 */
__attribute__((warn_unused_result)) int config_parse_xml(const char *buf, size_t len,
                                                         unsigned flags, Splitvm__VmConfig **out,
                                                         struct config_error *err);

/* The same from a file of at most CONFIG_MAX_FILE_SIZE bytes. */
__attribute__((warn_unused_result)) int config_parse_xml_file(const char *path, unsigned flags,
                                                              Splitvm__VmConfig **out,
                                                              struct config_error *err);

/*
 * Parse QEMU-style options: @argv[0 .. @argc-1] are options and their
 * values ("-m", "1G,slots=4,maxmem=8G", "-object", ...), no program name.
 */
__attribute__((warn_unused_result)) int config_parse_qemu(int argc, char *const *argv,
                                                          unsigned flags, Splitvm__VmConfig **out,
                                                          struct config_error *err);

/*
 * Every rule on a finished config (see config_check.c for the list).  The
 * parsers call it; call it again on a config that arrives another way.
 */
__attribute__((warn_unused_result)) int config_check(const Splitvm__VmConfig *cfg,
                                                     enum config_syntax syntax, unsigned flags,
                                                     struct config_error *err);

/* A new VmConfig with splitvm's defaults (restart policy, enforce). */
__attribute__((warn_unused_result)) int config_new(Splitvm__VmConfig **out);
/* Frees a config from the parsers, config_new() or protobuf unpack; NULL ok. */
void config_free(Splitvm__VmConfig *cfg);

/*
 * Write @cfg as text: one "key: value" line per field in a fixed order,
 * sizes exact ("512M"), backends and devices as canonical QEMU option
 * strings.  Returns 0 or -errno of the write.
 */
__attribute__((warn_unused_result)) int config_print(const Splitvm__VmConfig *cfg, FILE *f);
/* The same into a new string, freed with free(). */
__attribute__((warn_unused_result)) int config_print_string(const Splitvm__VmConfig *cfg,
                                                            char **out);

/* "field: text" (or text alone when field is empty) into @buf. */
const char *config_error_line(const struct config_error *err, char *buf, size_t len);

#endif
