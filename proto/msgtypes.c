/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The MsgType -> message table.  Keep it in the order of envelope.proto; a
 * unit test checks that every enum value has exactly one row.
 */
#include "splitvm_proto.h"

/* One row a type, however long: the table reads down the enum. */
/* clang-format off */
static const struct proto_msg_type msg_types[] = {
	{ SPLITVM__MSG_TYPE__MSG_ERROR_REPLY, "ERROR_REPLY", &splitvm__error_reply__descriptor, PROTO_PLANE_ANY },
	{ SPLITVM__MSG_TYPE__MSG_OK_REPLY, "OK_REPLY", &splitvm__ok_reply__descriptor, PROTO_PLANE_ANY },
	{ SPLITVM__MSG_TYPE__MSG_CTL_REQUEST, "CTL_REQUEST", &splitvm__ctl_request__descriptor, PROTO_PLANE_CONTROL },
	{ SPLITVM__MSG_TYPE__MSG_CTL_REPLY, "CTL_REPLY", &splitvm__ctl_reply__descriptor, PROTO_PLANE_CONTROL },
	{ SPLITVM__MSG_TYPE__MSG_BACKEND_CREATE, "BACKEND_CREATE", &splitvm__backend_create__descriptor, PROTO_PLANE_MEMORY },
	{ SPLITVM__MSG_TYPE__MSG_BACKEND_INFO, "BACKEND_INFO", &splitvm__backend_info__descriptor, PROTO_PLANE_MEMORY },
	{ SPLITVM__MSG_TYPE__MSG_BACKEND_DELETE, "BACKEND_DELETE", &splitvm__backend_delete__descriptor, PROTO_PLANE_MEMORY },
	{ SPLITVM__MSG_TYPE__MSG_BACKEND_ACQUIRE, "BACKEND_ACQUIRE", &splitvm__backend_acquire__descriptor, PROTO_PLANE_MEMORY },
	{ SPLITVM__MSG_TYPE__MSG_BACKEND_RELEASE, "BACKEND_RELEASE", &splitvm__backend_release__descriptor, PROTO_PLANE_MEMORY },
	{ SPLITVM__MSG_TYPE__MSG_BACKEND_DISCARD, "BACKEND_DISCARD", &splitvm__backend_discard__descriptor, PROTO_PLANE_MEMORY },
	{ SPLITVM__MSG_TYPE__MSG_BACKEND_LIST, "BACKEND_LIST", &splitvm__backend_list__descriptor, PROTO_PLANE_MEMORY },
	{ SPLITVM__MSG_TYPE__MSG_BACKEND_LIST_REPLY, "BACKEND_LIST_REPLY", &splitvm__backend_list_reply__descriptor, PROTO_PLANE_MEMORY },
	{ SPLITVM__MSG_TYPE__MSG_STATE_CREATE, "STATE_CREATE", &splitvm__state_create__descriptor, PROTO_PLANE_MEMORY },
	{ SPLITVM__MSG_TYPE__MSG_STATE_DELETE, "STATE_DELETE", &splitvm__state_delete__descriptor, PROTO_PLANE_MEMORY },
	{ SPLITVM__MSG_TYPE__MSG_MEMSRV_SHUTDOWN, "MEMSRV_SHUTDOWN", &splitvm__memsrv_shutdown__descriptor, PROTO_PLANE_MEMORY },
	{ SPLITVM__MSG_TYPE__MSG_MACHINE_START, "MACHINE_START", &splitvm__machine_start__descriptor, PROTO_PLANE_MACHINE },
	{ SPLITVM__MSG_TYPE__MSG_REGION_MAP, "REGION_MAP", &splitvm__region_map__descriptor, PROTO_PLANE_MACHINE },
	{ SPLITVM__MSG_TYPE__MSG_REGION_UNMAP, "REGION_UNMAP", &splitvm__region_unmap__descriptor, PROTO_PLANE_MACHINE },
	{ SPLITVM__MSG_TYPE__MSG_VCPUS_PAUSE, "VCPUS_PAUSE", &splitvm__vcpus_pause__descriptor, PROTO_PLANE_MACHINE },
	{ SPLITVM__MSG_TYPE__MSG_VCPUS_RESUME, "VCPUS_RESUME", &splitvm__vcpus_resume__descriptor, PROTO_PLANE_MACHINE },
	{ SPLITVM__MSG_TYPE__MSG_MACHINE_POWERDOWN, "MACHINE_POWERDOWN", &splitvm__machine_powerdown__descriptor, PROTO_PLANE_MACHINE },
	{ SPLITVM__MSG_TYPE__MSG_MEMORY_MAP_QUERY, "MEMORY_MAP_QUERY", &splitvm__memory_map_query__descriptor, PROTO_PLANE_MACHINE },
	{ SPLITVM__MSG_TYPE__MSG_MEMORY_MAP, "MEMORY_MAP", &splitvm__memory_map__descriptor, PROTO_PLANE_MACHINE },
	{ SPLITVM__MSG_TYPE__MSG_DIMM_PLUG, "DIMM_PLUG", &splitvm__dimm_plug__descriptor, PROTO_PLANE_MACHINE },
	{ SPLITVM__MSG_TYPE__MSG_DIMM_UNPLUG_REQUEST, "DIMM_UNPLUG_REQUEST", &splitvm__dimm_unplug_request__descriptor, PROTO_PLANE_MACHINE },
	{ SPLITVM__MSG_TYPE__MSG_DTB_QUERY, "DTB_QUERY", &splitvm__dtb_query__descriptor, PROTO_PLANE_MACHINE },
	{ SPLITVM__MSG_TYPE__MSG_DTB, "DTB", &splitvm__dtb__descriptor, PROTO_PLANE_MACHINE },
	{ SPLITVM__MSG_TYPE__MSG_DEVICE_ATTACH, "DEVICE_ATTACH", &splitvm__device_attach__descriptor, PROTO_PLANE_DEVICE },
	{ SPLITVM__MSG_TYPE__MSG_DEVICE_ATTACHED, "DEVICE_ATTACHED", &splitvm__device_attached__descriptor, PROTO_PLANE_DEVICE },
	{ SPLITVM__MSG_TYPE__MSG_DEVICE_REQUEST, "DEVICE_REQUEST", &splitvm__device_request__descriptor, PROTO_PLANE_DEVICE },
	{ SPLITVM__MSG_TYPE__MSG_DEVICE_RESPONSE, "DEVICE_RESPONSE", &splitvm__device_response__descriptor, PROTO_PLANE_DEVICE },
	{ SPLITVM__MSG_TYPE__MSG_DEVICE_CONFIG_UPDATE, "DEVICE_CONFIG_UPDATE", &splitvm__device_config_update__descriptor, PROTO_PLANE_DEVICE },
	{ SPLITVM__MSG_TYPE__MSG_DEVICE_SLOT_MAP, "DEVICE_SLOT_MAP", &splitvm__device_slot_map__descriptor, PROTO_PLANE_DEVICE },
	{ SPLITVM__MSG_TYPE__MSG_DEVICE_RESET, "DEVICE_RESET", &splitvm__device_reset__descriptor, PROTO_PLANE_DEVICE },
	{ SPLITVM__MSG_TYPE__MSG_DEVICE_DRIVER_READY, "DEVICE_DRIVER_READY", &splitvm__device_driver_ready__descriptor, PROTO_PLANE_DEVICE },
	{ SPLITVM__MSG_TYPE__MSG_NVDIMM_DSM, "NVDIMM_DSM", &splitvm__nvdimm_dsm__descriptor, PROTO_PLANE_DEVICE },
	{ SPLITVM__MSG_TYPE__MSG_NVDIMM_DSM_REPLY, "NVDIMM_DSM_REPLY", &splitvm__nvdimm_dsm_reply__descriptor, PROTO_PLANE_DEVICE },
	{ SPLITVM__MSG_TYPE__MSG_DEVICE_PROP_SET, "DEVICE_PROP_SET", &splitvm__device_prop_set__descriptor, PROTO_PLANE_DEVCTL },
	{ SPLITVM__MSG_TYPE__MSG_DEVICE_PROP_GET, "DEVICE_PROP_GET", &splitvm__device_prop_get__descriptor, PROTO_PLANE_DEVCTL },
	{ SPLITVM__MSG_TYPE__MSG_DEVICE_PROP_VALUE, "DEVICE_PROP_VALUE", &splitvm__device_prop_value__descriptor, PROTO_PLANE_DEVCTL },
	{ SPLITVM__MSG_TYPE__MSG_DEVICE_STATUS_QUERY, "DEVICE_STATUS_QUERY", &splitvm__device_status_query__descriptor, PROTO_PLANE_DEVCTL },
	{ SPLITVM__MSG_TYPE__MSG_DEVICE_STATUS, "DEVICE_STATUS", &splitvm__device_status__descriptor, PROTO_PLANE_DEVCTL },
	{ SPLITVM__MSG_TYPE__MSG_EVENT, "EVENT", &splitvm__event__descriptor, PROTO_PLANE_EVENT },
};
/* clang-format on */

#define N_MSG_TYPES (sizeof(msg_types) / sizeof(msg_types[0]))

const struct proto_msg_type *proto_msg_type_lookup(Splitvm__MsgType type)
{
	for (size_t i = 0; i < N_MSG_TYPES; i++)
		if (msg_types[i].type == type)
			return &msg_types[i];
	return NULL;
}

const struct proto_msg_type *proto_msg_type_by_desc(const ProtobufCMessageDescriptor *desc)
{
	for (size_t i = 0; i < N_MSG_TYPES; i++)
		if (msg_types[i].desc == desc)
			return &msg_types[i];
	return NULL;
}

const struct proto_msg_type *proto_msg_types(size_t *n)
{
	*n = N_MSG_TYPES;
	return msg_types;
}

const char *proto_msg_type_name(Splitvm__MsgType type)
{
	const struct proto_msg_type *t = proto_msg_type_lookup(type);

	return t ? t->name : "UNKNOWN";
}
