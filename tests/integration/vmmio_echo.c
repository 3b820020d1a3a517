/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A test-only device process for the core's device plane: the "echo"
 * device, virtio id VMMIO_ECHO_ID (made up, outside the assigned ids), one
 * queue of 64.  It answers every DeviceRequest with 8 bytes: the le32 sum
 * of the request's bytes and their le32 count (what the test guest's
 * "virtio" scenario checks).
 *
 *   vmmio_echo RUNDIR ID EPOCH [--die-at SEQ] [--idle-exit SECONDS]
 *              [--config-late MS] [--config-in-answer] [--map-in-answer]
 *
 * --die-at SEQ exits with status 9 on receiving request SEQ without
 * answering it: the crash that the core's replay must cover, by re-sending
 * SEQ to a successor started with EPOCH + 1.
 *
 * --config-late MS attaches with config version 0 and config_follows, and
 * restates the config (version 1) with DeviceConfigUpdate MS milliseconds
 * after DeviceAttached, as virtio-mem and virtio-pmem do once they know
 * their region's address: the guest must never read version 0.
 *
 * --config-in-answer sends a config copy inside each DeviceResponse, its
 * version 1 + the number of answers so far (without an interrupt), as a
 * virtio-mem process does with plugged_size: the core must apply it before
 * the used element reaches the guest.
 *
 * --map-in-answer puts a slot map in each DeviceResponse, which the core
 * refuses (a map is a round trip of its own) while it still delivers the
 * answer; the refusal comes back as an ErrorReply and is printed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"

#define VMMIO_ECHO_ID 0xffe0

static int attach(struct ipc_chan *chan, const char *id, uint32_t epoch, long config_late_ms)
{
	Splitvm__DeviceAttach a = SPLITVM__DEVICE_ATTACH__INIT;
	Splitvm__VirtQueueDecl q = SPLITVM__VIRT_QUEUE_DECL__INIT;
	Splitvm__VirtQueueDecl *qs[1] = { &q };
	struct ipc_hdr h = { .correlation_id = 1, .device = id, .epoch = epoch };
	uint8_t config[8] = { 'e', 'c', 'h', 'o', 1, 0, 0, 0 };
	struct ipc_msg *reply = NULL;
	struct ipc_err err;

	q.max_size = 64;
	a.virtio_id = VMMIO_ECHO_ID;
	a.features = 1; /* a device feature bit, to see it offered */
	a.n_queues = 1;
	a.queues = qs;
	a.config.data = (uint8_t *)config;
	a.config.len = sizeof(config);
	if (config_late_ms >= 0) {
		config[4] = 0;
		a.config_follows = true;
	}
	if (ipc_send(chan, &h, &a.base, &err)) {
		fprintf(stderr, "vmmio_echo: DeviceAttach: %s\n", err.text);
		return -1;
	}
	if (ipc_recv(chan, 10000, &reply, &err)) {
		fprintf(stderr, "vmmio_echo: DeviceAttached: %s\n", err.text);
		return -1;
	}
	if (reply->type->type != SPLITVM__MSG_TYPE__MSG_DEVICE_ATTACHED) {
		fprintf(stderr, "vmmio_echo: attach answered with %s\n", reply->type->name);
		ipc_msg_free(reply);
		return -1;
	}
	ipc_msg_free(reply);
	fprintf(stderr, "vmmio_echo: %s attached, epoch %u\n", id, epoch);
	if (config_late_ms >= 0) {
		Splitvm__DeviceConfigUpdate u = SPLITVM__DEVICE_CONFIG_UPDATE__INIT;
		struct timespec ts = { config_late_ms / 1000, (config_late_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
		config[4] = 1;
		u.config.data = config;
		u.config.len = sizeof(config);
		if (ipc_send(chan, &h, &u.base, &err)) {
			fprintf(stderr, "vmmio_echo: DeviceConfigUpdate: %s\n", err.text);
			return -1;
		}
		fprintf(stderr, "vmmio_echo: config restated after %ld ms\n", config_late_ms);
	}
	return 0;
}

/* --config-in-answer: the config copy (version 1 + answers) rides on each answer. */
static int answer(struct ipc_chan *chan, const struct ipc_msg *msg, bool config_in_answer,
                  bool map_in_answer)
{
	static uint32_t answered;
	const Splitvm__DeviceRequest *req = (const Splitvm__DeviceRequest *)msg->body;
	Splitvm__DeviceResponse resp = SPLITVM__DEVICE_RESPONSE__INIT;
	Splitvm__DeviceConfigUpdate u = SPLITVM__DEVICE_CONFIG_UPDATE__INIT;
	Splitvm__DeviceSlotMap map = SPLITVM__DEVICE_SLOT_MAP__INIT;
	Splitvm__DeviceSlotMap *slots[1] = { &map };
	uint8_t config[8] = { 'e', 'c', 'h', 'o' };
	uint32_t ver = 2 + answered;
	uint8_t out[8];
	uint32_t sum = 0, n = (uint32_t)req->data.len;
	struct ipc_err err;

	for (size_t i = 0; i < req->data.len; i++)
		sum += req->data.data[i];
	memcpy(out, &sum, 4);
	memcpy(out + 4, &n, 4);
	resp.data.data = out;
	resp.data.len = sizeof(out);
	if (config_in_answer) {
		memcpy(config + 4, &ver, 4);
		u.config.data = config;
		u.config.len = sizeof(config);
		resp.config = &u;
	}
	if (map_in_answer) {
		map.size = 4096;
		map.map = true;
		resp.slots = slots;
		resp.n_slots = 1;
	}
	answered++;
	if (ipc_reply(chan, msg, &resp.base, &err)) {
		fprintf(stderr, "vmmio_echo: response to seq %llu: %s\n",
		        (unsigned long long)msg->seq, err.text);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ipc_chan_opts opts = { .planes = PROTO_PLANE_DEVICE, .send_timeout_ms = 10000 };
	struct ipc_chan *chan = NULL;
	struct ipc_err err;
	char name[96];
	unsigned long long die_at = 0;
	long idle_exit = 60, idle = 0, config_late_ms = -1;
	bool config_in_answer = false, map_in_answer = false;
	uint32_t epoch;
	int status = 1;

	if (argc < 4) {
		fprintf(stderr, "usage: vmmio_echo RUNDIR ID EPOCH [--die-at SEQ] "
		                "[--idle-exit SECONDS] [--config-late MS] [--config-in-answer] "
		                "[--map-in-answer]\n");
		return 2;
	}
	epoch = (uint32_t)strtoul(argv[3], NULL, 10);
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--config-in-answer")) {
			config_in_answer = true;
			continue;
		}
		if (!strcmp(argv[i], "--map-in-answer")) {
			map_in_answer = true;
			continue;
		}
		if (i + 1 == argc)
			break;
		if (!strcmp(argv[i], "--die-at"))
			die_at = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--idle-exit"))
			idle_exit = strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--config-late"))
			config_late_ms = strtol(argv[i + 1], NULL, 10);
		i++;
	}
	snprintf(name, sizeof(name), "dev-%s", argv[2]);
	if (ipc_chan_connect(&chan, IPC_ROLE_PAIR, argv[1], name, &opts, &err)) {
		fprintf(stderr, "vmmio_echo: connect %s/%s: %s\n", argv[1], name, err.text);
		return 1;
	}
	if (attach(chan, argv[2], epoch, config_late_ms))
		goto out;
	/* Serve until the core has been quiet for idle_exit seconds. */
	while (idle < idle_exit) {
		struct ipc_msg *msg = NULL;

		if (ipc_recv(chan, 1000, &msg, &err)) {
			if (err.code == IPC_ERR_TIMEOUT) {
				idle++;
				continue;
			}
			fprintf(stderr, "vmmio_echo: %s\n", err.text);
			continue;
		}
		idle = 0;
		switch (msg->type->type) {
		case SPLITVM__MSG_TYPE__MSG_DEVICE_REQUEST:
			if (die_at && msg->seq == die_at) {
				fprintf(stderr, "vmmio_echo: dying on seq %llu as asked\n", die_at);
				_exit(9);
			}
			(void)answer(chan, msg, config_in_answer, map_in_answer);
			break;
		case SPLITVM__MSG_TYPE__MSG_DEVICE_RESET:
			fprintf(stderr, "vmmio_echo: device reset\n");
			break;
		case SPLITVM__MSG_TYPE__MSG_DEVICE_DRIVER_READY:
			fprintf(stderr, "vmmio_echo: driver ready, features 0x%llx\n",
			        (unsigned long long)((const Splitvm__DeviceDriverReady *)msg->body)
			                ->driver_features);
			break;
		case SPLITVM__MSG_TYPE__MSG_ERROR_REPLY: {
			const Splitvm__ErrorReply *e = (const Splitvm__ErrorReply *)msg->body;

			fprintf(stderr, "vmmio_echo: the core refused seq %llu: %s: %s\n",
			        (unsigned long long)msg->seq, e->field, e->text);
			break;
		}
		default:
			fprintf(stderr, "vmmio_echo: unexpected %s\n", msg->type->name);
			break;
		}
		ipc_msg_free(msg);
	}
	status = 0;
out:
	ipc_chan_destroy(chan);
	return status;
}
