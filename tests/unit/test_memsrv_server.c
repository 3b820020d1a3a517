/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memsrv_dispatch(): each memory-plane request's answer, without sockets:
 * the reply message, the fd and tag that go with it, and the error
 * (code, field, text) of each refusal.  Every reply body is packed, as the
 * server would, to prove it is a well-formed message.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "log.h"
#include "memsrv.h"

#define MIB (1ull << 20)

static int setup(void **state)
{
	struct memsrv_registry *reg = NULL;

	if (memsrv_registry_create(NULL, &reg) < 0)
		return -1;
	*state = reg;
	return 0;
}

static int teardown(void **state)
{
	memsrv_registry_destroy(*state);
	return 0;
}

/* Dispatch, then pack the body the way ipc/ would send it. */
static void dispatch(struct memsrv_registry *reg, Splitvm__MsgType type,
                     const ProtobufCMessage *req, uint64_t tag, struct memsrv_reply *rep)
{
	memsrv_dispatch(reg, type, req, tag, rep);
	if (rep->failed) {
		assert_null(rep->body);
		assert_int_equal(rep->fd, -1);
		assert_true(rep->err.code != SPLITVM__ERROR_CODE__ERR_NONE);
		return;
	}
	assert_non_null(rep->body);
	size_t len = protobuf_c_message_get_packed_size(rep->body);
	uint8_t *buf = malloc(len + 1);

	assert_non_null(buf);
	assert_int_equal(protobuf_c_message_pack(rep->body, buf), len);
	free(buf);
}

static void create(struct memsrv_registry *reg, const char *id, uint64_t size)
{
	Splitvm__BackendCreate m = SPLITVM__BACKEND_CREATE__INIT;
	Splitvm__BackendConfig cfg;
	struct memsrv_reply rep;

	backend_config_init(&cfg, SPLITVM__BACKEND_TYPE__BACKEND_RAM);
	cfg.id = (char *)id;
	cfg.size = size;
	m.config = &cfg;
	dispatch(reg, SPLITVM__MSG_TYPE__MSG_BACKEND_CREATE, &m.base, 1, &rep);
	assert_false(rep.failed);
	assert_ptr_equal(rep.body, &rep.info.base);
	assert_string_equal(rep.info.id, id);
	assert_int_equal(rep.info.size, size);
	assert_int_equal(rep.info.fd_tag, 0);
	assert_int_equal(rep.fd, -1);
	assert_true(rep.info.sealed);
	memsrv_reply_clear(&rep);
}

static void test_create(void **state)
{
	Splitvm__BackendCreate empty = SPLITVM__BACKEND_CREATE__INIT;
	struct memsrv_reply rep;

	create(*state, "mem0", 4 * MIB);
	dispatch(*state, SPLITVM__MSG_TYPE__MSG_BACKEND_CREATE, &empty.base, 1, &rep);
	assert_true(rep.failed);
	assert_int_equal(rep.err.code, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT);
	assert_string_equal(rep.err.field, "config");
	memsrv_reply_clear(&rep);
}

static void test_acquire_names_tag_and_fd(void **state)
{
	Splitvm__BackendAcquire m = SPLITVM__BACKEND_ACQUIRE__INIT;
	struct memsrv_reply rep;

	create(*state, "mem1", 2 * MIB);
	m.id = (char *)"mem1";
	m.user = (char *)"dimm1";
	dispatch(*state, SPLITVM__MSG_TYPE__MSG_BACKEND_ACQUIRE, &m.base, 42, &rep);
	assert_false(rep.failed);
	assert_int_equal(rep.info.fd_tag, 42);
	assert_true(rep.fd >= 0);
	assert_int_equal(fcntl(rep.fd, F_GET_SEALS) & F_SEAL_SHRINK, F_SEAL_SHRINK);
	assert_true(rep.new_user);
	assert_int_equal(rep.info.n_users, 1);
	assert_string_equal(rep.text, "handed backend mem1 (2M) to dimm1");
	memsrv_reply_clear(&rep);

	/* Asked again (a restarted device): same holder, not a new one. */
	dispatch(*state, SPLITVM__MSG_TYPE__MSG_BACKEND_ACQUIRE, &m.base, 43, &rep);
	assert_false(rep.new_user);
	assert_int_equal(rep.info.fd_tag, 43);
	assert_int_equal(rep.info.n_users, 1);
	memsrv_reply_clear(&rep);

	m.id = (char *)"nothing";
	dispatch(*state, SPLITVM__MSG_TYPE__MSG_BACKEND_ACQUIRE, &m.base, 44, &rep);
	assert_true(rep.failed);
	assert_int_equal(rep.err.code, SPLITVM__ERROR_CODE__ERR_NOT_FOUND);
	assert_string_equal(rep.err.text, "object 'nothing' not found");
	memsrv_reply_clear(&rep);
}

static void test_release_delete_discard(void **state)
{
	Splitvm__BackendAcquire acq = SPLITVM__BACKEND_ACQUIRE__INIT;
	Splitvm__BackendRelease rel = SPLITVM__BACKEND_RELEASE__INIT;
	Splitvm__BackendDelete del = SPLITVM__BACKEND_DELETE__INIT;
	Splitvm__BackendDiscard dis = SPLITVM__BACKEND_DISCARD__INIT;
	struct memsrv_reply rep;

	create(*state, "mem2", 8 * MIB);
	acq.id = rel.id = del.id = dis.id = (char *)"mem2";
	acq.user = rel.user = (char *)"core";
	dispatch(*state, SPLITVM__MSG_TYPE__MSG_BACKEND_ACQUIRE, &acq.base, 1, &rep);
	memsrv_reply_clear(&rep);

	dispatch(*state, SPLITVM__MSG_TYPE__MSG_BACKEND_DELETE, &del.base, 2, &rep);
	assert_true(rep.failed);
	assert_int_equal(rep.err.code, SPLITVM__ERROR_CODE__ERR_IN_USE);
	assert_string_equal(rep.err.text,
	                    "object 'mem2' is in use, can not be deleted (used by core)");
	memsrv_reply_clear(&rep);

	dis.offset = 0;
	dis.length = 2 * MIB;
	dispatch(*state, SPLITVM__MSG_TYPE__MSG_BACKEND_DISCARD, &dis.base, 2, &rep);
	assert_false(rep.failed);
	assert_ptr_equal(rep.body, &rep.ok.base);
	assert_string_equal(rep.ok.text, "discarded a range of mem2");
	memsrv_reply_clear(&rep);
	dis.offset = 1;
	dispatch(*state, SPLITVM__MSG_TYPE__MSG_BACKEND_DISCARD, &dis.base, 2, &rep);
	assert_true(rep.failed);
	assert_string_equal(rep.err.field, "offset");
	memsrv_reply_clear(&rep);

	dispatch(*state, SPLITVM__MSG_TYPE__MSG_BACKEND_RELEASE, &rel.base, 2, &rep);
	assert_false(rep.failed);
	assert_string_equal(rep.ok.text, "released mem2");
	memsrv_reply_clear(&rep);
	dispatch(*state, SPLITVM__MSG_TYPE__MSG_BACKEND_RELEASE, &rel.base, 2, &rep);
	assert_true(rep.failed);
	assert_string_equal(rep.err.field, "user");
	memsrv_reply_clear(&rep);

	dispatch(*state, SPLITVM__MSG_TYPE__MSG_BACKEND_DELETE, &del.base, 2, &rep);
	assert_false(rep.failed);
	assert_string_equal(rep.ok.text, "deleted mem2");
	memsrv_reply_clear(&rep);
}

static void test_list(void **state)
{
	Splitvm__BackendList m = SPLITVM__BACKEND_LIST__INIT;
	Splitvm__BackendAcquire acq = SPLITVM__BACKEND_ACQUIRE__INIT;
	struct memsrv_reply rep;

	dispatch(*state, SPLITVM__MSG_TYPE__MSG_BACKEND_LIST, &m.base, 1, &rep);
	assert_false(rep.failed);
	assert_int_equal(rep.list.n_backends, 0);
	memsrv_reply_clear(&rep);

	create(*state, "a", MIB);
	create(*state, "b", 2 * MIB);
	acq.id = (char *)"b";
	acq.user = (char *)"vm0";
	dispatch(*state, SPLITVM__MSG_TYPE__MSG_BACKEND_ACQUIRE, &acq.base, 1, &rep);
	memsrv_reply_clear(&rep);

	dispatch(*state, SPLITVM__MSG_TYPE__MSG_BACKEND_LIST, &m.base, 1, &rep);
	assert_int_equal(rep.list.n_backends, 2);
	assert_string_equal(rep.list.backends[0]->id, "a");
	assert_int_equal(rep.list.backends[0]->n_users, 0);
	assert_string_equal(rep.list.backends[1]->id, "b");
	assert_int_equal(rep.list.backends[1]->size, 2 * MIB);
	assert_int_equal(rep.list.backends[1]->n_users, 1);
	assert_string_equal(rep.list.backends[1]->users[0], "vm0");
	assert_int_equal(rep.list.backends[1]->fd_tag, 0);
	memsrv_reply_clear(&rep);
}

static void test_state(void **state)
{
	Splitvm__StateCreate sc = SPLITVM__STATE_CREATE__INIT;
	Splitvm__StateDelete sd = SPLITVM__STATE_DELETE__INIT;
	struct memsrv_reply rep;
	int first;

	sc.device = sd.device = (char *)"vm0";
	sc.size = 4096;
	dispatch(*state, SPLITVM__MSG_TYPE__MSG_STATE_CREATE, &sc.base, 7, &rep);
	assert_false(rep.failed);
	assert_string_equal(rep.info.id, "vm0");
	assert_int_equal(rep.info.fd_tag, 7);
	assert_true(rep.info.sealed);
	assert_true(rep.fd >= 0);
	first = rep.fd;
	assert_string_equal(rep.text, "handed new state memfd of vm0 (4096 bytes)");
	memsrv_reply_clear(&rep);

	dispatch(*state, SPLITVM__MSG_TYPE__MSG_STATE_CREATE, &sc.base, 8, &rep);
	assert_int_equal(rep.fd, first);
	assert_string_equal(rep.text, "handed existing state memfd of vm0 (4096 bytes)");
	memsrv_reply_clear(&rep);

	sc.size = 0;
	dispatch(*state, SPLITVM__MSG_TYPE__MSG_STATE_CREATE, &sc.base, 9, &rep);
	assert_true(rep.failed);
	assert_string_equal(rep.err.field, "size");
	memsrv_reply_clear(&rep);

	dispatch(*state, SPLITVM__MSG_TYPE__MSG_STATE_DELETE, &sd.base, 9, &rep);
	assert_false(rep.failed);
	memsrv_reply_clear(&rep);
	dispatch(*state, SPLITVM__MSG_TYPE__MSG_STATE_DELETE, &sd.base, 9, &rep);
	assert_true(rep.failed);
	assert_int_equal(rep.err.code, SPLITVM__ERROR_CODE__ERR_NOT_FOUND);
	memsrv_reply_clear(&rep);
}

static void test_shutdown_and_foreign_types(void **state)
{
	Splitvm__MemsrvShutdown bye = SPLITVM__MEMSRV_SHUTDOWN__INIT;
	Splitvm__OkReply ok = SPLITVM__OK_REPLY__INIT;
	struct memsrv_reply rep;

	dispatch(*state, SPLITVM__MSG_TYPE__MSG_MEMSRV_SHUTDOWN, &bye.base, 1, &rep);
	assert_false(rep.failed);
	assert_true(rep.shutdown);
	memsrv_reply_clear(&rep);

	/* Allowed on every plane by ipc/, but not a request memsrv serves. */
	dispatch(*state, SPLITVM__MSG_TYPE__MSG_OK_REPLY, &ok.base, 1, &rep);
	assert_true(rep.failed);
	assert_int_equal(rep.err.code, SPLITVM__ERROR_CODE__ERR_PROTOCOL);
	assert_string_equal(rep.err.text, "OK_REPLY is not a request of the memory plane");
	assert_false(rep.shutdown);
	memsrv_reply_clear(&rep);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_create),
		T(test_acquire_names_tag_and_fd),
		T(test_release_delete_discard),
		T(test_list),
		T(test_state),
		T(test_shutdown_and_foreign_types),
	};

	log_init("test/memsrv_server");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
