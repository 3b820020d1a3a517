/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ipc_peer DIR NAME READY_FD: the server side of the ipc integration tests,
 * a separate process as a real splitvm server would be.  It binds a REP
 * socket at DIR/NAME, writes one byte to READY_FD, and serves CtlRequests:
 *
 *   info   -> CtlReply{text "info"}
 *   fail   -> ErrorReply{NOT_FOUND, "id", "no device 'ARG'"}
 *   count  -> CtlReply{text: how many requests were served, this one included}
 *   hang   -> exit at once without answering (a peer that dies mid-request)
 *   quit   -> CtlReply{text "bye"}, then exit 0
 *
 * A malformed request is answered and logged by ipc_serve_recv() and the
 * loop goes on.  Idle for 30 s, it exits 3, so a lost peer never lingers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd.h"
#include "ipc.h"
#include "log.h"

int main(int argc, char **argv)
{
	static const struct ipc_chan_opts opts = { .planes = PROTO_PLANE_CONTROL };
	struct ipc_chan *rep;
	struct ipc_err err;
	unsigned served = 0;
	char *end;
	long ready;

	log_init("test/ipc_peer");
	if (argc != 4)
		log_fatalx("usage: ipc_peer DIR NAME READY_FD");
	errno = 0;
	ready = strtol(argv[3], &end, 10);
	if (errno || *end || ready < 3 || ready > 1023)
		log_fatalx("READY_FD '%s': want an fd number from 3 to 1023", argv[3]);
	if (ipc_chan_bind(&rep, IPC_ROLE_REP, argv[1], argv[2], &opts, &err) < 0)
		log_fatalx("%s", err.text);
	if (write((int)ready, "r", 1) != 1)
		log_fatal("write READY_FD");
	close((int)ready);

	for (;;) {
		Splitvm__CtlReply reply = SPLITVM__CTL_REPLY__INIT;
		const Splitvm__CtlRequest *cr;
		struct ipc_msg *req;
		char text[32];
		int ret;

		ret = ipc_serve_recv(rep, 30000, &req, &err);
		if (ret < 0) {
			if (ipc_errcode_is_malformed(err.code))
				continue; /* answered and logged already */
			log_warnx("giving up: %s", err.text);
			exit(3);
		}
		served++;
		cr = (const Splitvm__CtlRequest *)req->body;
		log_info("request %u: %s (id %llu)", served, cr->verb,
		         (unsigned long long)req->correlation_id);
		if (!strcmp(cr->verb, "hang"))
			_exit(0);
		if (!strcmp(cr->verb, "fail")) {
			ret = ipc_reply_error(rep, req, SPLITVM__ERROR_CODE__ERR_NOT_FOUND, "id",
			                      &err, "no device '%s'",
			                      cr->n_args ? cr->args[0] : "");
		} else {
			if (!strcmp(cr->verb, "count"))
				snprintf(text, sizeof(text), "%u", served);
			else if (!strcmp(cr->verb, "quit"))
				snprintf(text, sizeof(text), "bye");
			else
				snprintf(text, sizeof(text), "%.31s", cr->verb);
			reply.text = text;
			ret = ipc_reply(rep, req, &reply.base, &err);
		}
		if (ret < 0)
			log_warnx("reply: %s", err.text);
		if (!strcmp(cr->verb, "quit")) {
			/*
			 * NNG's nn_close() drops what is still queued for the
			 * wire (it has no linger): give the reply time to leave.
			 */
			usleep(200 * 1000);
			ipc_msg_free(req);
			break;
		}
		ipc_msg_free(req);
	}
	ipc_chan_destroy(rep);
	return 0;
}
