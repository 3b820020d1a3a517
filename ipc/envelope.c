/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The envelope: packing a typed message for the wire and the receive-side
 * checks on untrusted bytes.  The receive order (size, envelope, version,
 * type, plane, payload) is the contract of docs/protocol.md.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "envelope_internal.h"

/* ---- sending -------------------------------------------------------- */

void ipc_env_builder_fini(struct ipc_env_builder *b)
{
	if (b->payload != b->small)
		free(b->payload);
	b->payload = NULL;
}

int ipc_env_builder_init(struct ipc_env_builder *b, const struct ipc_hdr *hdr,
                         const ProtobufCMessage *body, size_t limit, struct ipc_err *err)
{
	static const struct ipc_hdr none;
	const struct proto_msg_type *t;
	size_t psize;

	memset(b, 0, sizeof(*b));
	if (!hdr)
		hdr = &none;
	if (!body)
		return ipc_err_set(err, IPC_ERR_INVALID, "no message to send");
	t = proto_msg_type_by_desc(body->descriptor);
	if (!t)
		return ipc_err_set(err, IPC_ERR_INVALID, "message %s is not in the MsgType table",
		                   body->descriptor->name);
	psize = protobuf_c_message_get_packed_size(body);
	/* Refuse before allocating: the envelope is never smaller than its payload. */
	if (psize > limit)
		return ipc_err_set(err, IPC_ERR_TOO_BIG,
		                   "%s payload is %zu bytes, over the limit of %zu bytes", t->name,
		                   psize, limit);
	if (psize <= sizeof(b->small)) {
		b->payload = b->small;
	} else {
		b->payload = malloc(psize);
		if (!b->payload)
			return ipc_err_sys(err, ENOMEM, "%s payload of %zu bytes", t->name, psize);
	}
	protobuf_c_message_pack(body, b->payload);

	splitvm__envelope__init(&b->env);
	b->env.version = SPLITVM_PROTOCOL_VERSION;
	b->env.type = t->type;
	b->env.correlation_id = hdr->correlation_id;
	/* protobuf-c wants a string, never NULL; "" is omitted on the wire. */
	b->env.device = (char *)(hdr->device ? hdr->device : "");
	b->env.epoch = hdr->epoch;
	b->env.seq = hdr->seq;
	b->env.payload.len = psize;
	b->env.payload.data = b->payload;
	b->type = t;
	b->size = splitvm__envelope__get_packed_size(&b->env);
	if (b->size > limit) {
		ipc_env_builder_fini(b);
		return ipc_err_set(err, IPC_ERR_TOO_BIG,
		                   "%s envelope is %zu bytes, over the limit of %zu bytes", t->name,
		                   b->size, limit);
	}
	return 0;
}

void ipc_env_builder_write(const struct ipc_env_builder *b, uint8_t *out)
{
	splitvm__envelope__pack(&b->env, out);
}

int ipc_envelope_encode(const struct ipc_hdr *hdr, const ProtobufCMessage *body, size_t limit,
                        uint8_t **buf, size_t *len, struct ipc_err *err)
{
	struct ipc_env_builder b;
	int ret;

	*buf = NULL;
	*len = 0;
	ret = ipc_env_builder_init(&b, hdr, body, limit, err);
	if (ret < 0)
		return ret;
	/* malloc(0) may return NULL: an envelope is never empty anyway. */
	*buf = malloc(b.size ? b.size : 1);
	if (!*buf) {
		ipc_env_builder_fini(&b);
		return ipc_err_sys(err, ENOMEM, "envelope of %zu bytes", b.size);
	}
	ipc_env_builder_write(&b, *buf);
	*len = b.size;
	ipc_env_builder_fini(&b);
	return 0;
}

/* ---- receiving ------------------------------------------------------ */

enum wire_verdict {
	WIRE_OK,        /* well-formed protobuf framing */
	WIRE_TRUNCATED, /* a field runs past the end */
	WIRE_GARBAGE,   /* not protobuf at all */
};

/* One varint at *p; advances *p.  Sets *v. */
static enum wire_verdict wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t val = 0;

	for (unsigned i = 0; i < 10; i++) {
		if (*p == end)
			return WIRE_TRUNCATED;
		uint8_t byte = *(*p)++;

		val |= (uint64_t)(byte & 0x7f) << (7 * i);
		if (!(byte & 0x80)) {
			*v = val;
			return WIRE_OK;
		}
	}
	return WIRE_GARBAGE; /* more than 10 bytes: no varint is that long */
}

/*
 * Why protobuf-c refused @buf: walk the top-level fields.  Only called after
 * a failed unpack, so it costs nothing on the good path.
 */
static enum wire_verdict wire_scan(const uint8_t *p, size_t len)
{
	const uint8_t *end = p + len;
	enum wire_verdict v;
	uint64_t key, n;

	while (p < end) {
		v = wire_varint(&p, end, &key);
		if (v != WIRE_OK)
			return v;
		if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff)
			return WIRE_GARBAGE;
		switch (key & 7) {
		case 0:
			v = wire_varint(&p, end, &n);
			if (v != WIRE_OK)
				return v;
			break;
		case 1:
			if ((size_t)(end - p) < 8)
				return WIRE_TRUNCATED;
			p += 8;
			break;
		case 2:
			v = wire_varint(&p, end, &n);
			if (v != WIRE_OK)
				return v;
			if (n > (uint64_t)(end - p))
				return WIRE_TRUNCATED;
			p += n;
			break;
		case 5:
			if ((size_t)(end - p) < 4)
				return WIRE_TRUNCATED;
			p += 4;
			break;
		default: /* groups (3, 4) are not proto3; 6 and 7 do not exist */
			return WIRE_GARBAGE;
		}
	}
	return WIRE_OK;
}

static int decode_err(struct ipc_err *err, enum ipc_errcode code, const char *field,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int decode_err(struct ipc_err *err, enum ipc_errcode code, const char *field,
                      const char *fmt, ...)
{
	va_list ap;

	if (err) {
		memset(err, 0, sizeof(*err));
		err->code = code;
		snprintf(err->field, sizeof(err->field), "%s", field);
		va_start(ap, fmt);
		vsnprintf(err->text, sizeof(err->text), fmt, ap);
		va_end(ap);
	}
	return -(int)code;
}

/*
 * The first unknown field in @m or a message inside it, or NULL.  Peers are
 * built from the same schema (the envelope's version says which), so an
 * unknown field is a malformed message, as an unknown flag bit would be.
 * Refusing them also keeps "accepted" equal to "can be sent on": protobuf-c
 * keeps unknown fields and packs them again, and some (a field number 0 in a
 * non-minimal key) it accepts but then writes out in a form it refuses.
 */
static const ProtobufCMessage *first_unknown(const ProtobufCMessage *m, uint32_t *field)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	if (m->n_unknown_fields) {
		*field = m->unknown_fields[0].tag;
		return m;
	}
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;
		const ProtobufCMessage *const *subs;
		const ProtobufCMessage *bad;
		size_t n = 1;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		/* A oneof member is there only while the case names it. */
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)(base + f->quantifier_offset);
			subs = *(const ProtobufCMessage *const *const *)(base + f->offset);
		} else {
			subs = (const ProtobufCMessage *const *)(base + f->offset);
		}
		for (size_t k = 0; k < n; k++) {
			if (subs[k] && (bad = first_unknown(subs[k], field)))
				return bad;
		}
	}
	return NULL;
}

void ipc_msg_free(struct ipc_msg *msg)
{
	if (!msg)
		return;
	if (msg->body)
		protobuf_c_message_free_unpacked(msg->body, NULL);
	if (msg->env_)
		splitvm__envelope__free_unpacked(msg->env_, NULL);
	free(msg);
}

int ipc_envelope_decode_id(const void *buf, size_t len, size_t limit, unsigned planes,
                           struct ipc_msg **out, uint64_t *corr_id, struct ipc_err *err)
{
	const struct proto_msg_type *t;
	Splitvm__Envelope *env;
	ProtobufCMessage *body;
	struct ipc_msg *msg;
	int ret;

	*out = NULL;
	if (corr_id)
		*corr_id = 0;
	/* 1. size, before a single byte is looked at */
	if (len > limit)
		return decode_err(err, IPC_ERR_TOO_BIG, "frame",
		                  "frame of %zu bytes is over the limit of %zu bytes", len, limit);
	if (len == 0)
		return decode_err(err, IPC_ERR_TRUNCATED, "envelope", "empty frame");

	/* 2. the envelope */
	env = splitvm__envelope__unpack(NULL, len, buf);
	if (!env) {
		if (wire_scan(buf, len) == WIRE_TRUNCATED)
			return decode_err(err, IPC_ERR_TRUNCATED, "envelope",
			                  "envelope of %zu bytes ends inside a field", len);
		return decode_err(err, IPC_ERR_DECODE, "envelope",
		                  "frame of %zu bytes is not a protobuf envelope", len);
	}
	if (corr_id)
		*corr_id = env->correlation_id;
	if (env->base.n_unknown_fields) {
		ret = decode_err(err, IPC_ERR_DECODE, "envelope",
		                 "unknown field %u in the envelope",
		                 env->base.unknown_fields[0].tag);
		goto fail_env;
	}

	/* 3. version */
	if (env->version != SPLITVM_PROTOCOL_VERSION) {
		ret = decode_err(err, IPC_ERR_VERSION, "version",
		                 "envelope version %u, expected %u", env->version,
		                 (unsigned)SPLITVM_PROTOCOL_VERSION);
		goto fail_env;
	}

	/* 4. type */
	t = proto_msg_type_lookup(env->type);
	if (!t) {
		ret = decode_err(err, IPC_ERR_UNKNOWN_TYPE, "type",
		                 "message type %d is not a schema v1 type", (int)env->type);
		goto fail_env;
	}

	/* 5. plane */
	if (!(t->planes & PROTO_PLANE_ANY) && !(t->planes & planes)) {
		ret = decode_err(err, IPC_ERR_WRONG_PLANE, "type",
		                 "%s is not allowed on this channel (planes 0x%x, channel 0x%x)",
		                 t->name, t->planes, planes);
		goto fail_env;
	}

	/* 6. payload */
	body = protobuf_c_message_unpack(t->desc, NULL, env->payload.len, env->payload.data);
	if (!body) {
		ret = decode_err(err, IPC_ERR_DECODE, "payload",
		                 "payload of %zu bytes does not decode as %s", env->payload.len,
		                 t->name);
		goto fail_env;
	}

	{
		uint32_t field;
		const ProtobufCMessage *bad = first_unknown(body, &field);

		if (bad) {
			ret = decode_err(err, IPC_ERR_DECODE, "payload", "unknown field %u in %s",
			                 field, bad->descriptor->name);
			protobuf_c_message_free_unpacked(body, NULL);
			goto fail_env;
		}
	}

	msg = calloc(1, sizeof(*msg));
	if (!msg) {
		protobuf_c_message_free_unpacked(body, NULL);
		ret = ipc_err_sys(err, ENOMEM, "received %s", t->name);
		goto fail_env;
	}
	msg->type = t;
	msg->correlation_id = env->correlation_id;
	msg->device = env->device ? env->device : "";
	msg->epoch = env->epoch;
	msg->seq = env->seq;
	msg->body = body;
	msg->env_ = env;
	*out = msg;
	return 0;

fail_env:
	splitvm__envelope__free_unpacked(env, NULL);
	return ret;
}

int ipc_envelope_decode(const void *buf, size_t len, size_t limit, unsigned planes,
                        struct ipc_msg **out, struct ipc_err *err)
{
	return ipc_envelope_decode_id(buf, len, limit, planes, out, NULL, err);
}
