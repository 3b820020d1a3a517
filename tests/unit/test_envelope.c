/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The envelope: every MsgType survives a round trip, and each kind of bad
 * input (oversize, truncated, garbage, wrong version, unknown type, wrong
 * plane, bad payload) is its own error, without a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ipc.h"

#define ALL_PLANES 0x7fu

/* Pack an Envelope built by hand, for headers a sender would never make. */
static uint8_t *pack_raw_env(uint32_t version, int type, const void *payload, size_t plen,
                             size_t *len)
{
	Splitvm__Envelope env = SPLITVM__ENVELOPE__INIT;
	uint8_t *buf;

	env.version = version;
	env.type = (Splitvm__MsgType)type;
	env.correlation_id = 77;
	env.payload.data = (uint8_t *)payload;
	env.payload.len = plen;
	*len = splitvm__envelope__get_packed_size(&env);
	buf = malloc(*len + 1);
	assert_non_null(buf);
	splitvm__envelope__pack(&env, buf);
	return buf;
}

/* The packed bytes of @m, for comparing two messages. */
static uint8_t *pack_msg(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(m);
	buf = malloc(*len + 1);
	assert_non_null(buf);
	protobuf_c_message_pack(m, buf);
	return buf;
}

static void test_every_type_round_trips(void **state)
{
	size_t n;
	const struct proto_msg_type *types = proto_msg_types(&n);

	(void)state;
	assert_true(n > 30);
	for (size_t i = 0; i < n; i++) {
		const struct proto_msg_type *t = &types[i];
		ProtobufCMessage *m = malloc(t->desc->sizeof_message);
		struct ipc_hdr hdr = { .correlation_id = 1000 + i,
			               .device = "vm0",
			               .epoch = 3,
			               .seq = 0x100000000ull + i };
		struct ipc_msg *got = NULL;
		struct ipc_err err;
		uint8_t *buf, *a, *b;
		size_t len, alen, blen;

		assert_non_null(m);
		protobuf_c_message_init(t->desc, m);
		assert_int_equal(
		        ipc_envelope_encode(&hdr, m, IPC_MAX_MSG_DEFAULT, &buf, &len, &err), 0);
		assert_int_equal(
		        ipc_envelope_decode(buf, len, IPC_MAX_MSG_DEFAULT, t->planes, &got, &err),
		        0);
		assert_ptr_equal(got->type, t);
		assert_ptr_equal(got->body->descriptor, t->desc);
		assert_int_equal(got->correlation_id, 1000 + i);
		assert_string_equal(got->device, "vm0");
		assert_int_equal(got->epoch, 3);
		assert_int_equal(got->seq, 0x100000000ull + i);
		a = pack_msg(m, &alen);
		b = pack_msg(got->body, &blen);
		assert_int_equal(alen, blen);
		assert_memory_equal(a, b, alen);
		free(a);
		free(b);
		free(buf);
		ipc_msg_free(got);
		free(m);
	}
}

static void test_payload_bytes_survive(void **state)
{
	Splitvm__DeviceRequest req = SPLITVM__DEVICE_REQUEST__INIT;
	const Splitvm__DeviceRequest *r;
	uint8_t data[300];
	struct ipc_msg *got;
	uint8_t *buf;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	req.queue = 1;
	req.data.data = data;
	req.data.len = sizeof(data);
	req.writable_len = 4096;
	assert_int_equal(ipc_envelope_encode(NULL, &req.base, 4096, &buf, &len, NULL), 0);
	assert_int_equal(ipc_envelope_decode(buf, len, 4096, PROTO_PLANE_DEVICE, &got, NULL), 0);
	r = (const Splitvm__DeviceRequest *)got->body;
	assert_int_equal(r->queue, 1);
	assert_int_equal(r->writable_len, 4096);
	assert_int_equal(r->data.len, sizeof(data));
	assert_memory_equal(r->data.data, data, sizeof(data));
	/* No header given: zeros and an empty device. */
	assert_int_equal(got->correlation_id, 0);
	assert_string_equal(got->device, "");
	ipc_msg_free(got);
	free(buf);
}

/* An encode that needs more than the limit allocates nothing and says so. */
static void test_encode_refuses_oversize(void **state)
{
	Splitvm__DeviceRequest req = SPLITVM__DEVICE_REQUEST__INIT;
	uint8_t data[2000] = { 0 };
	struct ipc_err err;
	uint8_t *buf = (uint8_t *)&err;
	size_t len = 1;

	(void)state;
	req.data.data = data;
	req.data.len = sizeof(data);
	assert_int_equal(ipc_envelope_encode(NULL, &req.base, 1024, &buf, &len, &err),
	                 -IPC_ERR_TOO_BIG);
	assert_null(buf);
	assert_int_equal(len, 0);
	assert_non_null(strstr(err.text, "DEVICE_REQUEST"));
	assert_non_null(strstr(err.text, "1024"));
	/* Payload under the limit, envelope over it. */
	assert_int_equal(ipc_envelope_encode(NULL, &req.base, 2003, &buf, &len, &err),
	                 -IPC_ERR_TOO_BIG);
	assert_non_null(strstr(err.text, "envelope"));
}

static void test_encode_refuses_unregistered_message(void **state)
{
	Splitvm__VirtQueueDecl q = SPLITVM__VIRT_QUEUE_DECL__INIT;
	struct ipc_err err;
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(ipc_envelope_encode(NULL, &q.base, 4096, &buf, &len, &err),
	                 -IPC_ERR_INVALID);
	assert_non_null(strstr(err.text, "splitvm.VirtQueueDecl"));
}

/* Table-driven: each bad input and the one error it must give. */
struct bad_case {
	const char *what;
	const void *bytes;
	size_t len;
	size_t limit;
	unsigned planes;
	enum ipc_errcode want;
	const char *field;
};

static void check_bad(const struct bad_case *c)
{
	struct ipc_msg *got = (struct ipc_msg *)&got;
	struct ipc_err err;
	int ret;

	ret = ipc_envelope_decode(c->bytes, c->len, c->limit, c->planes, &got, &err);
	if (ret != -(int)c->want)
		fail_msg("%s: got %s (%s), want %s", c->what, ipc_errcode_name(-ret), err.text,
		         ipc_errcode_name(c->want));
	assert_null(got);
	assert_int_equal(err.code, c->want);
	assert_string_equal(err.field, c->field);
	assert_true(strlen(err.text) > 0);
	/* Without an err the same code comes back. */
	assert_int_equal(ipc_envelope_decode(c->bytes, c->len, c->limit, c->planes, &got, NULL),
	                 ret);
}

static void test_bad_input_each_has_its_error(void **state)
{
	Splitvm__DeviceRequest req = SPLITVM__DEVICE_REQUEST__INIT;
	static const char garbage[] = "this is not a protobuf envelope";
	static const uint8_t bad_varint[12] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		                                0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	static const uint8_t bad_payload[] = { 0xff, 0xff, 0xff };
	uint8_t data[100] = { 1, 2, 3 };
	/* Fields the schema does not have, at the top and nested. */
	static const uint8_t extra_top[] = { 0x08, 0x01, 0x48, 0x05 };    /* queue, field 9 */
	static const uint8_t extra_nested[] = { 0x1a, 0x02, 0x50, 0x01 }; /* queues[0].field 10 */
	static const uint8_t extra_oneof[] = { 0x52, 0x02, 0x78, 0x01 };  /* kind.field 15 */
	/* Field number 0 in a 3-byte key: protobuf-c takes it, then packs it as 0x00. */
	static const uint8_t field_zero[] = { 0x08, 0x18, 0x80, 0x80, 0x00, 0x05 };
	uint8_t *good, *v2, *v0, *unknown, *unspec, *badpay, *xt, *xn, *xo, *xz, *xe;
	size_t good_len, v2_len, v0_len, unknown_len, unspec_len, badpay_len, xt_len, xn_len,
	        xo_len, xz_len, xe_len;

	(void)state;
	req.data.data = data;
	req.data.len = sizeof(data);
	assert_int_equal(ipc_envelope_encode(NULL, &req.base, 4096, &good, &good_len, NULL), 0);
	v2 = pack_raw_env(2, SPLITVM__MSG_TYPE__MSG_OK_REPLY, NULL, 0, &v2_len);
	v0 = pack_raw_env(0, SPLITVM__MSG_TYPE__MSG_OK_REPLY, NULL, 0, &v0_len);
	unknown = pack_raw_env(1, 9999, NULL, 0, &unknown_len);
	unspec = pack_raw_env(1, SPLITVM__MSG_TYPE__MSG_UNSPECIFIED, NULL, 0, &unspec_len);
	badpay = pack_raw_env(1, SPLITVM__MSG_TYPE__MSG_DEVICE_REQUEST, bad_payload,
	                      sizeof(bad_payload), &badpay_len);
	xt = pack_raw_env(1, SPLITVM__MSG_TYPE__MSG_DEVICE_REQUEST, extra_top, sizeof(extra_top),
	                  &xt_len);
	xn = pack_raw_env(1, SPLITVM__MSG_TYPE__MSG_DEVICE_ATTACH, extra_nested,
	                  sizeof(extra_nested), &xn_len);
	xo = pack_raw_env(1, SPLITVM__MSG_TYPE__MSG_EVENT, extra_oneof, sizeof(extra_oneof),
	                  &xo_len);
	xz = pack_raw_env(1, SPLITVM__MSG_TYPE__MSG_DEVICE_ATTACH, field_zero, sizeof(field_zero),
	                  &xz_len);
	/* The envelope itself with a field 15 after a valid OkReply. */
	{
		uint8_t *ok = pack_raw_env(1, SPLITVM__MSG_TYPE__MSG_OK_REPLY, NULL, 0, &xe_len);

		xe = malloc(xe_len + 2);
		assert_non_null(xe);
		memcpy(xe, ok, xe_len);
		xe[xe_len++] = 0x78;
		xe[xe_len++] = 0x01;
		free(ok);
	}

	const struct bad_case cases[] = {
		{ "oversize garbage is refused before decoding", garbage, sizeof(garbage), 16,
		  ALL_PLANES, IPC_ERR_TOO_BIG, "frame" },
		{ "oversize valid envelope", good, good_len, good_len - 1, ALL_PLANES,
		  IPC_ERR_TOO_BIG, "frame" },
		{ "empty frame", good, 0, 4096, ALL_PLANES, IPC_ERR_TRUNCATED, "envelope" },
		{ "cut inside the payload", good, good_len - 10, 4096, ALL_PLANES,
		  IPC_ERR_TRUNCATED, "envelope" },
		{ "cut inside a varint", bad_varint, 5, 4096, ALL_PLANES, IPC_ERR_TRUNCATED,
		  "envelope" },
		{ "text", garbage, sizeof(garbage), 4096, ALL_PLANES, IPC_ERR_DECODE, "envelope" },
		{ "an 11-byte varint", bad_varint, sizeof(bad_varint), 4096, ALL_PLANES,
		  IPC_ERR_DECODE, "envelope" },
		{ "version 2", v2, v2_len, 4096, ALL_PLANES, IPC_ERR_VERSION, "version" },
		{ "version missing", v0, v0_len, 4096, ALL_PLANES, IPC_ERR_VERSION, "version" },
		{ "type 9999", unknown, unknown_len, 4096, ALL_PLANES, IPC_ERR_UNKNOWN_TYPE,
		  "type" },
		{ "type unspecified", unspec, unspec_len, 4096, ALL_PLANES, IPC_ERR_UNKNOWN_TYPE,
		  "type" },
		{ "device request on the control plane", good, good_len, 4096, PROTO_PLANE_CONTROL,
		  IPC_ERR_WRONG_PLANE, "type" },
		{ "payload is not a DeviceRequest", badpay, badpay_len, 4096, ALL_PLANES,
		  IPC_ERR_DECODE, "payload" },
		{ "unknown field in the envelope", xe, xe_len, 4096, ALL_PLANES, IPC_ERR_DECODE,
		  "envelope" },
		{ "unknown field in the payload", xt, xt_len, 4096, ALL_PLANES, IPC_ERR_DECODE,
		  "payload" },
		{ "unknown field in a repeated member", xn, xn_len, 4096, ALL_PLANES,
		  IPC_ERR_DECODE, "payload" },
		{ "unknown field in a oneof member", xo, xo_len, 4096, ALL_PLANES, IPC_ERR_DECODE,
		  "payload" },
		{ "field number 0 (found by fuzz_envelope)", xz, xz_len, 4096, ALL_PLANES,
		  IPC_ERR_DECODE, "payload" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_bad(&cases[i]);
	free(good);
	free(v2);
	free(v0);
	free(unknown);
	free(unspec);
	free(badpay);
	free(xt);
	free(xn);
	free(xo);
	free(xz);
	free(xe);
}

/* The error names the message that holds the unknown field. */
static void test_unknown_field_is_named(void **state)
{
	static const uint8_t nested[] = { 0x1a, 0x02, 0x50, 0x01 };
	struct ipc_msg *got;
	struct ipc_err err;
	uint8_t *buf;
	size_t len;

	(void)state;
	buf = pack_raw_env(1, SPLITVM__MSG_TYPE__MSG_DEVICE_ATTACH, nested, sizeof(nested), &len);
	assert_int_equal(ipc_envelope_decode(buf, len, 4096, PROTO_PLANE_DEVICE, &got, &err),
	                 -IPC_ERR_DECODE);
	assert_string_equal(err.text, "unknown field 10 in splitvm.VirtQueueDecl");
	free(buf);
}

/* ErrorReply and OkReply pass on every channel. */
static void test_any_plane_replies_pass_everywhere(void **state)
{
	Splitvm__ErrorReply er = SPLITVM__ERROR_REPLY__INIT;
	struct ipc_msg *got;
	uint8_t *buf;
	size_t len;

	(void)state;
	er.code = SPLITVM__ERROR_CODE__ERR_NOT_FOUND;
	er.field = (char *)"id";
	er.text = (char *)"no such device";
	assert_int_equal(ipc_envelope_encode(NULL, &er.base, 4096, &buf, &len, NULL), 0);
	for (unsigned plane = PROTO_PLANE_CONTROL; plane <= PROTO_PLANE_EVENT; plane <<= 1) {
		assert_int_equal(ipc_envelope_decode(buf, len, 4096, plane, &got, NULL), 0);
		assert_string_equal(((Splitvm__ErrorReply *)got->body)->text, "no such device");
		ipc_msg_free(got);
	}
	free(buf);
}

/* Every prefix of a good frame decodes or fails cleanly: no crash, no leak. */
static void test_every_prefix_is_safe(void **state)
{
	Splitvm__DeviceAttach att = SPLITVM__DEVICE_ATTACH__INIT;
	Splitvm__VirtQueueDecl q0 = SPLITVM__VIRT_QUEUE_DECL__INIT, *qs[1] = { &q0 };
	struct ipc_hdr hdr = { .correlation_id = 5, .device = "vm0", .epoch = 1, .seq = 9 };
	uint8_t cfg[40] = { 0 };
	struct ipc_msg *got;
	uint8_t *buf;
	size_t len;

	(void)state;
	q0.max_size = 128;
	att.virtio_id = 24;
	att.n_queues = 1;
	att.queues = qs;
	att.config.data = cfg;
	att.config.len = sizeof(cfg);
	assert_int_equal(ipc_envelope_encode(&hdr, &att.base, 4096, &buf, &len, NULL), 0);
	for (size_t cut = 0; cut < len; cut++) {
		int ret = ipc_envelope_decode(buf, cut, 4096, PROTO_PLANE_DEVICE, &got, NULL);

		if (ret == 0)
			ipc_msg_free(got);
		else
			assert_true(ret == -IPC_ERR_TRUNCATED || ret == -IPC_ERR_VERSION ||
			            ret == -IPC_ERR_UNKNOWN_TYPE || ret == -IPC_ERR_DECODE);
	}
	free(buf);
}

static void test_error_table(void **state)
{
	(void)state;
	for (int i = 0; i < IPC_ERR_COUNT_; i++) {
		assert_string_not_equal(ipc_errcode_name(i), "UNKNOWN");
		assert_true(strlen(ipc_errcode_message(i)) > 0);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(ipc_errcode_name(i), ipc_errcode_name(j));
	}
	assert_string_equal(ipc_errcode_name(IPC_ERR_COUNT_), "UNKNOWN");
	assert_string_equal(ipc_errcode_name(IPC_ERR_WRONG_PLANE), "WRONG_PLANE");
	assert_true(ipc_errcode_is_malformed(IPC_ERR_TOO_BIG));
	assert_true(ipc_errcode_is_malformed(IPC_ERR_WRONG_PLANE));
	assert_false(ipc_errcode_is_malformed(IPC_ERR_TIMEOUT));
	assert_false(ipc_errcode_is_malformed(IPC_ERR_PEER));
	assert_int_equal(ipc_errcode_to_reply(IPC_ERR_DECODE), SPLITVM__ERROR_CODE__ERR_PROTOCOL);
	assert_int_equal(ipc_errcode_to_reply(IPC_ERR_TIMEOUT), SPLITVM__ERROR_CODE__ERR_TIMEOUT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_type_round_trips),
		cmocka_unit_test(test_payload_bytes_survive),
		cmocka_unit_test(test_encode_refuses_oversize),
		cmocka_unit_test(test_encode_refuses_unregistered_message),
		cmocka_unit_test(test_bad_input_each_has_its_error),
		cmocka_unit_test(test_unknown_field_is_named),
		cmocka_unit_test(test_any_plane_replies_pass_everywhere),
		cmocka_unit_test(test_every_prefix_is_safe),
		cmocka_unit_test(test_error_table),
	};

	return cmocka_run_group_tests_name("envelope", tests, NULL, NULL);
}
