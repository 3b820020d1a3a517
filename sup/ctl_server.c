/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ctl endpoint: one REP socket `ctl` in the run directory (planes
 * CONTROL).  Requests are taken one at a time by the supervisor's single
 * loop, so two clients that resize the same device are served in turn and
 * each sees the state the other left: serialization without locks.
 */
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "sup.h"

int sup_ctl_open(struct sup *s)
{
	struct ipc_chan_opts o = { .planes = PROTO_PLANE_CONTROL };
	struct ipc_err err;

	if (ipc_chan_bind(&s->ctl, IPC_ROLE_REP, s->run_dir, "ctl", &o, &err)) {
		log_warnx("ctl socket: %s", err.text);
		return -EIO;
	}
	return 0;
}

void sup_ctl_close(struct sup *s)
{
	ipc_chan_destroy(s->ctl);
	s->ctl = NULL;
}

static void serve_one(struct sup *s, struct ipc_msg *req)
{
	struct hmp_result res = { .code = SPLITVM__ERROR_CODE__ERR_NONE };
	struct ipc_err err;
	int r;

	if (req->type->type != SPLITVM__MSG_TYPE__MSG_CTL_REQUEST) {
		r = ipc_reply_error(s->ctl, req, SPLITVM__ERROR_CODE__ERR_PROTOCOL, "type", &err,
		                    "%s is not a ctl request", req->type->name);
	} else {
		hmp_dispatch(s, (const Splitvm__CtlRequest *)req->body, &res);
		if (res.code != SPLITVM__ERROR_CODE__ERR_NONE) {
			r = ipc_reply_error(s->ctl, req, res.code, res.field, &err, "%s", res.text);
		} else {
			Splitvm__CtlReply rep = SPLITVM__CTL_REPLY__INIT;

			rep.text = res.out_text ? res.out_text : (char *)"";
			rep.json = res.out_json ? res.out_json : (char *)"";
			rep.blob.data = res.blob;
			rep.blob.len = res.blob_len;
			r = ipc_send(s->ctl,
			             &(struct ipc_hdr){ .correlation_id = req->correlation_id },
			             &rep.base, &err);
		}
	}
	if (r)
		log_warnx("ctl: reply not delivered: %s", err.text);
	if (res.quit && !s->stopping) {
		log_info("ctl: quit");
		s->stopping = true;
		s->linger = true;
	}
	hmp_result_release(&res);
}

void sup_ctl_serve(struct sup *s)
{
	for (;;) {
		struct ipc_msg *req = NULL;
		struct ipc_err err;
		int r = ipc_serve_recv(s->ctl, 0, &req, &err);

		if (r == -IPC_ERR_TIMEOUT)
			return;
		if (r) {
			/* Malformed requests were answered and logged already. */
			if (ipc_errcode_is_malformed(err.code))
				continue;
			log_warnx("ctl: %s", err.text);
			return;
		}
		serve_one(s, req);
		ipc_msg_free(req);
		if (s->stopping)
			return;
	}
}
