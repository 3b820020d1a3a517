/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target over the receive side of every message socket:
 * ipc_envelope_decode(), which sees a peer's bytes first.  Whatever it
 * accepts must survive a round trip: encoded again and decoded, it is the
 * same message.  Seeds: tests/fuzz/corpus/envelope/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"

#define ALL_PLANES 0x7fu

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_msg *msg, *again;
	struct ipc_err err;
	struct ipc_hdr hdr;
	uint8_t *buf;
	size_t len;
	int ret;

	/* A small limit as well, so that the size check is exercised. */
	ret = ipc_envelope_decode(data, size, 64, ALL_PLANES, &msg, &err);
	if (ret == 0)
		ipc_msg_free(msg);
	else if ((int)err.code != -ret)
		abort();

	ret = ipc_envelope_decode(data, size, IPC_MAX_MSG_DEFAULT, ALL_PLANES, &msg, &err);
	if (ret < 0) {
		if ((int)err.code != -ret || !ipc_errcode_is_malformed(err.code))
			abort();
		return 0;
	}
	hdr = (struct ipc_hdr){
		.correlation_id = msg->correlation_id,
		.device = msg->device,
		.epoch = msg->epoch,
		.seq = msg->seq,
	};
	/* Re-encoding drops unknown fields, so it can only shrink. */
	if (ipc_envelope_encode(&hdr, msg->body, IPC_MAX_MSG_DEFAULT, &buf, &len, &err) < 0)
		abort();
	if (ipc_envelope_decode(buf, len, IPC_MAX_MSG_DEFAULT, ALL_PLANES, &again, &err) < 0)
		abort();
	if (again->type != msg->type || again->correlation_id != msg->correlation_id ||
	    again->epoch != msg->epoch || again->seq != msg->seq ||
	    strcmp(again->device, msg->device) != 0)
		abort();
	ipc_msg_free(again);
	free(buf);
	ipc_msg_free(msg);
	return 0;
}
