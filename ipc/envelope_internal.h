/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Building an envelope in two steps, so that a sender can size its buffer
 * (nn_allocmsg) before packing into it without a copy.
 */
#ifndef SPLITVM_IPC_ENVELOPE_INTERNAL_H
#define SPLITVM_IPC_ENVELOPE_INTERNAL_H

#include "ipc.h"

struct ipc_env_builder {
	Splitvm__Envelope env;
	const struct proto_msg_type *type;
	size_t size;      /* packed envelope, <= the limit */
	uint8_t *payload; /* small[] or malloc'ed */
	uint8_t small[512];
};

/* Pack @body's payload and size the envelope; TOO_BIG over @limit. */
int ipc_env_builder_init(struct ipc_env_builder *b, const struct ipc_hdr *hdr,
                         const ProtobufCMessage *body, size_t limit, struct ipc_err *err) IPC_WUR;
/* Write the b->size bytes of the envelope to @out. */
void ipc_env_builder_write(const struct ipc_env_builder *b, uint8_t *out);
void ipc_env_builder_fini(struct ipc_env_builder *b);

#endif
