/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared by the launch-config files of sup/: building a VmConfig on the
 * heap so that protobuf-c's free_unpacked() frees it (every string and
 * array malloc'd, strings never left NULL), and the error helper.
 */
#ifndef SPLITVM_SUP_CONFIG_PRIV_H
#define SPLITVM_SUP_CONFIG_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Fill *err and return -EINVAL. */
int cfg_fail(struct config_error *err, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Replace the string in *@slot with a copy of @s; -ENOMEM. */
__attribute__((warn_unused_result)) int cfg_set_str(char **slot, const char *s);

/* A new device of @model: node and slot -1 ("not given"). */
__attribute__((warn_unused_result)) int cfg_device_new(Splitvm__DeviceModel model,
                                                       Splitvm__DeviceConfig **out);
void cfg_device_free(Splitvm__DeviceConfig *dev);

/* Append to @cfg, which then owns the object (also on failure: it is freed). */
__attribute__((warn_unused_result)) int cfg_add_backend(Splitvm__VmConfig *cfg,
                                                        Splitvm__BackendConfig *b);
__attribute__((warn_unused_result)) int cfg_add_device(Splitvm__VmConfig *cfg,
                                                       Splitvm__DeviceConfig *dev);
/* A new NUMA node appended to @cfg; *out points into it. */
__attribute__((warn_unused_result)) int cfg_add_numa(Splitvm__VmConfig *cfg,
                                                     Splitvm__NumaNode **out);
/* Add vCPU @cpu to @node's list. */
__attribute__((warn_unused_result)) int cfg_numa_add_cpu(Splitvm__NumaNode *node, uint32_t cpu);

const Splitvm__BackendConfig *cfg_find_backend(const Splitvm__VmConfig *cfg, const char *id);

/* "pc-dimm", "virtio-mem", "virtio-pmem", "nvdimm"; "unknown" otherwise. */
const char *cfg_model_qemu_name(Splitvm__DeviceModel model);
/* libvirt's model names: "dimm", "virtio-mem", "virtio-pmem", "nvdimm". */
const char *cfg_model_xml_name(Splitvm__DeviceModel model);

/*
 * A libvirt/QEMU CPU or node list: "0-3", "0,2-3", and for libvirt "^2"
 * exclusions when @allow_exclude.  Bits below @limit only; *@bits has
 * @limit bits.  -EINVAL for anything else (no message: the caller names it).
 */
__attribute__((warn_unused_result)) int cfg_parse_list(const char *s, bool allow_exclude,
                                                       uint32_t limit, uint64_t *bits);

#endif
