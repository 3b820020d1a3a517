/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ctl verbs, with QEMU's monitor names and output.  `info
 * memory-devices` is QEMU's HMP text field for field (monitor/hmp-cmds.c,
 * hmp_info_memory_devices: dimm/nvdimm, virtio-pmem and virtio-mem
 * entries); `query-memory-devices` is QMP's shape ({"type", "data"} with
 * QMP's member names), written with json-c.  The supervisor validates every
 * argument here, once, for every client (docs/protocol.md, "Control").
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_config.h"
#include "config_priv.h"
#include "fd.h"
#include "log.h"
#include "opts.h"
#include "size.h"
#include "sup.h"

static void fail(struct hmp_result *res, Splitvm__ErrorCode code, const char *field,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void fail(struct hmp_result *res, Splitvm__ErrorCode code, const char *field,
                 const char *fmt, ...)
{
	va_list ap;

	res->code = code;
	snprintf(res->field, sizeof(res->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(res->text, sizeof(res->text), fmt, ap);
	va_end(ap);
}

void hmp_result_release(struct hmp_result *res)
{
	free(res->out_text);
	free(res->out_json);
	free(res->blob);
	res->out_text = res->out_json = NULL;
	res->blob = NULL;
}

/* An ipc failure of a downstream call as the ctl error. */
static void fail_ipc(struct hmp_result *res, const char *what, const struct ipc_err *err)
{
	if (err->code == IPC_ERR_PEER)
		fail(res, (Splitvm__ErrorCode)err->peer_code, err->field, "%s: %s", what,
		     err->text);
	else if (err->code == IPC_ERR_TIMEOUT)
		fail(res, SPLITVM__ERROR_CODE__ERR_TIMEOUT, "", "%s: no answer in time", what);
	else
		fail(res, SPLITVM__ERROR_CODE__ERR_INTERNAL, "", "%s: %s", what, err->text);
}

struct sup_dev *sup_dev_find(struct sup *s, const char *id)
{
	static const char prefix[] = "/machine/peripheral/";

	if (!strncmp(id, prefix, sizeof(prefix) - 1))
		id += sizeof(prefix) - 1;
	for (size_t i = 0; i < s->n_devs; i++)
		if (!strcmp(s->devs[i].cfg->id, id))
			return &s->devs[i];
	return NULL;
}

struct ipc_chan *sup_devctl(struct sup *s, struct sup_dev *d)
{
	struct ipc_chan_opts o = {
		.planes = PROTO_PLANE_DEVCTL,
		.send_timeout_ms = SUP_DEVCTL_MS,
		.recv_timeout_ms = SUP_DEVCTL_MS,
	};
	char name[96];
	struct ipc_err err;

	if (d->state != SUP_DEV_RUNNING)
		return NULL;
	if (d->devctl)
		return d->devctl;
	snprintf(name, sizeof(name), "devctl-%s", d->cfg->id);
	if (ipc_chan_connect(&d->devctl, IPC_ROLE_REQ, s->run_dir, name, &o, &err)) {
		log_warnx("device %s: %s", d->cfg->id, err.text);
		return NULL;
	}
	return d->devctl;
}

/* DeviceStatusQuery into d's cached status. */
static int dev_status(struct sup *s, struct sup_dev *d, int deadline_ms, struct ipc_err *err)
{
	Splitvm__DeviceStatusQuery q = SPLITVM__DEVICE_STATUS_QUERY__INIT;
	struct ipc_chan *c = sup_devctl(s, d);
	struct ipc_msg *rep = NULL;
	const Splitvm__DeviceStatus *st;
	int r;

	if (!c) {
		err->code = IPC_ERR_CLOSED;
		snprintf(err->text, sizeof(err->text), "device %s has no running process",
		         d->cfg->id);
		return -IPC_ERR_CLOSED;
	}
	r = ipc_call(c, &(struct ipc_hdr){ .device = d->cfg->id, .epoch = d->epoch }, &q.base,
	             deadline_ms, &rep, err);
	if (r)
		return r;
	if (rep->type->type != SPLITVM__MSG_TYPE__MSG_DEVICE_STATUS) {
		ipc_msg_free(rep);
		err->code = IPC_ERR_DECODE;
		snprintf(err->text, sizeof(err->text), "device %s: not a DeviceStatus reply",
		         d->cfg->id);
		return -IPC_ERR_DECODE;
	}
	st = (const Splitvm__DeviceStatus *)rep->body;
	d->requested_size = st->requested_size;
	d->plugged_size = st->plugged_size;
	d->block_size = st->block_size;
	d->status_known = true;
	ipc_msg_free(rep);
	return 0;
}

/* Status polls (SUP_STATUS_POLL_MS apart) a stalled plugged size must last to be reported. */
#define SUP_SIZE_SETTLE_POLLS 5

void hmp_poll_status(struct sup *s)
{
	for (size_t i = 0; i < s->n_devs; i++) {
		struct sup_dev *d = &s->devs[i];
		struct ipc_err err;
		uint64_t before = d->plugged_size;

		/* Only virtio-mem's size moves; a pmem region is there whole. */
		if (d->cfg->model != SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_MEM ||
		    d->state != SUP_DEV_RUNNING || sup_now_ms() - d->proc.started_ms < 300)
			continue;
		if (dev_status(s, d, 500, &err))
			continue;
		d->stable_polls = d->plugged_size == before ? d->stable_polls + 1 : 0;
		/*
		 * Settled, and not yet told: the driver reached the requested
		 * size, or it stopped short of it for a whole second (a guest
		 * that cannot or will not plug more).  A slow guest pauses
		 * between requests on the way; two equal samples are not
		 * enough to call that settled.
		 */
		if (d->plugged_size != d->reported_size &&
		    (d->plugged_size == d->requested_size ||
		     d->stable_polls >= SUP_SIZE_SETTLE_POLLS)) {
			d->reported_size = d->plugged_size;
			sup_event_size_change(s, d, d->plugged_size);
		}
	}
}

/* ---- info memory-devices / query-memory-devices --------------------------- */

static const char *kind_name(Splitvm__DeviceModel m)
{
	switch (m) {
	case SPLITVM__DEVICE_MODEL__MODEL_DIMM:
		return "dimm";
	case SPLITVM__DEVICE_MODEL__MODEL_NVDIMM:
		return "nvdimm";
	case SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_PMEM:
		return "virtio-pmem";
	case SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_MEM:
		return "virtio-mem";
	default:
		return "unknown";
	}
}

/* What `info memory-devices` shows of a virtio-mem device. */
static void vmem_sizes(struct sup *s, struct sup_dev *d, uint64_t *req, uint64_t *size,
                       uint64_t *block)
{
	struct ipc_err err;

	if (d->state == SUP_DEV_RUNNING)
		(void)dev_status(s, d, SUP_DEVCTL_MS, &err);
	*req = d->status_known ? d->requested_size : d->cfg->requested_size;
	*size = d->status_known ? d->plugged_size : 0;
	*block = d->cfg->block_size ? d->cfg->block_size : CONFIG_THP_SIZE;
}

static void info_memory_devices(struct sup *s, bool json, struct hmp_result *res)
{
	json_object *arr = json_object_new_array();
	size_t len = 0;
	FILE *f = open_memstream(&res->out_text, &len);

	if (!arr || !f) {
		json_object_put(arr);
		if (f)
			fclose(f);
		fail(res, SPLITVM__ERROR_CODE__ERR_INTERNAL, "", "out of memory");
		return;
	}
	for (size_t i = 0; i < s->n_devs; i++) {
		struct sup_dev *d = &s->devs[i];
		const Splitvm__DeviceConfig *c = d->cfg;
		json_object *o = json_object_new_object(), *data = json_object_new_object();
		int64_t node = c->node >= 0 ? c->node : 0;
		char memdev[96];

		snprintf(memdev, sizeof(memdev), "/objects/%s", c->memdev);
		fprintf(f, "Memory device [%s]: \"%s\"\n", kind_name(c->model), c->id);
		json_object_object_add(o, "type", json_object_new_string(kind_name(c->model)));
		json_object_object_add(data, "id", json_object_new_string(c->id));
		switch (c->model) {
		case SPLITVM__DEVICE_MODEL__MODEL_DIMM:
		case SPLITVM__DEVICE_MODEL__MODEL_NVDIMM:
			fprintf(f, "  addr: 0x%" PRIx64 "\n", d->gpa);
			fprintf(f, "  slot: %d\n", d->slot);
			fprintf(f, "  node: %" PRId64 "\n", node);
			fprintf(f, "  size: %" PRIu64 "\n", d->size);
			fprintf(f, "  memdev: %s\n", memdev);
			fprintf(f, "  hotplugged: %s\n", c->hotplugged ? "true" : "false");
			fprintf(f, "  hotpluggable: true\n");
			json_object_object_add(data, "addr",
			                       json_object_new_int64((int64_t)d->gpa));
			json_object_object_add(data, "slot", json_object_new_int64(d->slot));
			json_object_object_add(data, "node", json_object_new_int64(node));
			json_object_object_add(data, "size",
			                       json_object_new_int64((int64_t)d->size));
			json_object_object_add(data, "memdev", json_object_new_string(memdev));
			json_object_object_add(data, "hotplugged",
			                       json_object_new_boolean(c->hotplugged));
			json_object_object_add(data, "hotpluggable", json_object_new_boolean(1));
			break;
		case SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_PMEM:
			fprintf(f, "  memaddr: 0x%" PRIx64 "\n", d->gpa);
			fprintf(f, "  size: %" PRIu64 "\n", d->size);
			fprintf(f, "  memdev: %s\n", memdev);
			json_object_object_add(data, "memaddr",
			                       json_object_new_int64((int64_t)d->gpa));
			json_object_object_add(data, "size",
			                       json_object_new_int64((int64_t)d->size));
			json_object_object_add(data, "memdev", json_object_new_string(memdev));
			break;
		default: {
			uint64_t req, size, block;

			vmem_sizes(s, d, &req, &size, &block);
			fprintf(f, "  memaddr: 0x%" PRIx64 "\n", d->gpa);
			fprintf(f, "  node: %" PRId64 "\n", node);
			fprintf(f, "  requested-size: %" PRIu64 "\n", req);
			fprintf(f, "  size: %" PRIu64 "\n", size);
			fprintf(f, "  max-size: %" PRIu64 "\n", d->size);
			fprintf(f, "  block-size: %" PRIu64 "\n", block);
			fprintf(f, "  memdev: %s\n", memdev);
			json_object_object_add(data, "memaddr",
			                       json_object_new_int64((int64_t)d->gpa));
			json_object_object_add(data, "node", json_object_new_int64(node));
			json_object_object_add(data, "requested-size",
			                       json_object_new_int64((int64_t)req));
			json_object_object_add(data, "size", json_object_new_int64((int64_t)size));
			json_object_object_add(data, "max-size",
			                       json_object_new_int64((int64_t)d->size));
			json_object_object_add(data, "block-size",
			                       json_object_new_int64((int64_t)block));
			json_object_object_add(data, "memdev", json_object_new_string(memdev));
		}
		}
		json_object_object_add(o, "data", data);
		json_object_array_add(arr, o);
	}
	fclose(f);
	if (json) {
		res->out_json = strdup(json_object_to_json_string_ext(
		        arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
		if (!res->out_json)
			fail(res, SPLITVM__ERROR_CODE__ERR_INTERNAL, "", "out of memory");
	}
	json_object_put(arr);
}

/* ---- qom-set / qom-get / update-memory-device ----------------------------- */

static struct sup_dev *need_dev(struct sup *s, const char *id, struct hmp_result *res)
{
	struct sup_dev *d = sup_dev_find(s, id);

	if (!d)
		fail(res, SPLITVM__ERROR_CODE__ERR_NOT_FOUND, "id",
		     "no memory device '%s' (info memory-devices lists them)", id);
	return d;
}

static void set_requested(struct sup *s, const char *id, const char *value, struct hmp_result *res)
{
	Splitvm__DevicePropSet ps = SPLITVM__DEVICE_PROP_SET__INIT;
	struct sup_dev *d = need_dev(s, id, res);
	struct ipc_msg *rep = NULL;
	struct ipc_chan *c;
	struct ipc_err err;
	uint64_t size, block;
	char num[32];
	int r;

	if (!d)
		return;
	if (d->cfg->model != SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_MEM) {
		fail(res, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "requested-size",
		     "device '%s' is a %s: only virtio-mem devices have requested-size", id,
		     kind_name(d->cfg->model));
		return;
	}
	r = size_parse_qemu(value, 1, &size);
	if (r) {
		fail(res, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "requested-size",
		     "'%s' is not a size: %s", value, size_strerror(r));
		return;
	}
	block = d->cfg->block_size ? d->cfg->block_size : CONFIG_THP_SIZE;
	if (size % block) {
		fail(res, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "requested-size",
		     "%" PRIu64 " is not a multiple of the block size %" PRIu64, size, block);
		return;
	}
	if (size > d->size) {
		fail(res, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "requested-size",
		     "%" PRIu64 " is larger than the device's memdev (%" PRIu64 ")", size, d->size);
		return;
	}
	switch (d->state) {
	case SUP_DEV_RUNNING:
		break;
	case SUP_DEV_RESTARTING:
		fail(res, SPLITVM__ERROR_CODE__ERR_BUSY, "id",
		     "device '%s': its process is restarting; retry", id);
		return;
	case SUP_DEV_FAILED:
		fail(res, SPLITVM__ERROR_CODE__ERR_UNSUPPORTED, "id",
		     "device '%s' failed (restarted too often); `restart %s` starts it again", id,
		     id);
		return;
	default:
		fail(res, SPLITVM__ERROR_CODE__ERR_UNSUPPORTED, "id",
		     "device '%s' has no device process: splitvm-core serves no device plane "
		     "for it in supervised mode",
		     id);
		return;
	}
	c = sup_devctl(s, d);
	if (!c) {
		fail(res, SPLITVM__ERROR_CODE__ERR_INTERNAL, "id",
		     "device '%s': cannot reach its process", id);
		return;
	}
	snprintf(num, sizeof(num), "%" PRIu64, size);
	ps.name = (char *)"requested-size";
	ps.value = num;
	if (ipc_call(c, &(struct ipc_hdr){ .device = d->cfg->id, .epoch = d->epoch }, &ps.base,
	             SUP_DEVCTL_MS, &rep, &err)) {
		fail_ipc(res, id, &err);
		return;
	}
	ipc_msg_free(rep);
	d->requested_size = size;
	log_info("device %s: requested-size %" PRIu64, id, size);
}

static int64_t prop_value(struct sup *s, struct sup_dev *d, const char *prop, bool *found,
                          char *str, size_t len)
{
	const Splitvm__DeviceConfig *c = d->cfg;
	bool vmem = c->model == SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_MEM;
	bool dimm = c->model == SPLITVM__DEVICE_MODEL__MODEL_DIMM ||
	            c->model == SPLITVM__DEVICE_MODEL__MODEL_NVDIMM;
	uint64_t req = 0, size = d->size, block = 0;

	*found = true;
	str[0] = 0;
	if (vmem)
		vmem_sizes(s, d, &req, &size, &block);
	if (!strcmp(prop, "memdev")) {
		snprintf(str, len, "/objects/%s", c->memdev);
		return 0;
	}
	if (!strcmp(prop, "size"))
		return (int64_t)size;
	if (!strcmp(prop, "node"))
		return c->node >= 0 ? c->node : 0;
	if (vmem && !strcmp(prop, "requested-size"))
		return (int64_t)req;
	if (vmem && !strcmp(prop, "block-size"))
		return (int64_t)block;
	if (vmem && !strcmp(prop, "max-size"))
		return (int64_t)d->size;
	if (!dimm && !strcmp(prop, "memaddr"))
		return (int64_t)d->gpa;
	if (dimm && !strcmp(prop, "addr"))
		return (int64_t)d->gpa;
	if (dimm && !strcmp(prop, "slot"))
		return d->slot;
	*found = false;
	return 0;
}

static void qom_get(struct sup *s, const char *id, const char *prop, struct hmp_result *res)
{
	struct sup_dev *d = need_dev(s, id, res);
	char str[128], out[160];
	bool found;
	int64_t v;

	if (!d)
		return;
	v = prop_value(s, d, prop, &found, str, sizeof(str));
	if (!found) {
		fail(res, SPLITVM__ERROR_CODE__ERR_NOT_FOUND, "property",
		     "Property '%s.%s' not found", kind_name(d->cfg->model), prop);
		return;
	}
	if (str[0]) {
		snprintf(out, sizeof(out), "%s\n", str);
		json_object *js = json_object_new_string(str);

		res->out_json = js ? strdup(json_object_to_json_string(js)) : NULL;
		json_object_put(js);
	} else {
		snprintf(out, sizeof(out), "%" PRId64 "\n", v);
		if (asprintf(&res->out_json, "%" PRId64, v) < 0)
			res->out_json = NULL;
	}
	res->out_text = strdup(out);
}

/* ---- the rest ------------------------------------------------------------ */

static void restart_dev(struct sup *s, const char *id, struct hmp_result *res)
{
	struct sup_dev *d;

	if (!strcmp(id, "core") || !strcmp(id, "memsrv")) {
		fail(res, SPLITVM__ERROR_CODE__ERR_UNSUPPORTED, "id",
		     "%s cannot be restarted under a running guest; only device processes can", id);
		return;
	}
	d = need_dev(s, id, res);
	if (!d)
		return;
	switch (d->state) {
	case SUP_DEV_RUNNING:
		d->kill_requested = true;
		kill(d->proc.pid, SIGKILL);
		break;
	case SUP_DEV_FAILED:
		/* A fresh start clears the crash history. */
		d->n_hist = 0;
		d->state = SUP_DEV_RESTARTING;
		d->restart_at_ms = 0;
		d->reported_exit.pid = 0;
		break;
	case SUP_DEV_RESTARTING:
		d->restart_at_ms = 0;
		break;
	default:
		fail(res, SPLITVM__ERROR_CODE__ERR_UNSUPPORTED, "id",
		     "device '%s' (%s) has no device process to restart", id,
		     kind_name(d->cfg->model));
		return;
	}
	res->out_text = strdup("");
}

static void machine_call(struct sup *s, const ProtobufCMessage *req, const char *what,
                         struct hmp_result *res, struct ipc_msg **out)
{
	struct ipc_err err;

	if (!s->core_req) {
		fail(res, SPLITVM__ERROR_CODE__ERR_UNSUPPORTED, "", "%s: the core is not running",
		     what);
		return;
	}
	if (ipc_call(s->core_req, NULL, req, SUP_CALL_MS, out, &err))
		fail_ipc(res, what, &err);
}

static void dump_dtb(struct sup *s, struct hmp_result *res)
{
	Splitvm__DtbQuery q = SPLITVM__DTB_QUERY__INIT;
	struct ipc_msg *rep = NULL;
	const Splitvm__Dtb *dtb;

	machine_call(s, &q.base, "dump-dtb", res, &rep);
	if (!rep)
		return;
	dtb = (const Splitvm__Dtb *)rep->body;
	if (rep->type->type != SPLITVM__MSG_TYPE__MSG_DTB || !dtb->blob.len) {
		fail(res, SPLITVM__ERROR_CODE__ERR_INTERNAL, "", "dump-dtb: the core sent no tree");
	} else {
		res->blob = malloc(dtb->blob.len);
		if (res->blob) {
			memcpy(res->blob, dtb->blob.data, dtb->blob.len);
			res->blob_len = dtb->blob.len;
		}
	}
	ipc_msg_free(rep);
}

/*
 * QEMU's system_powerdown: press the ACPI power button and answer at once.
 * The VM stops when the guest powers off (GUEST_SHUTDOWN, splitvm exits
 * with the core's status 0), or runs on if the guest ignores the button;
 * `quit` is the forced stop.
 */
static void system_powerdown(struct sup *s, struct hmp_result *res)
{
	Splitvm__MachinePowerdown p = SPLITVM__MACHINE_POWERDOWN__INIT;
	struct ipc_msg *rep = NULL;

	machine_call(s, &p.base, "system_powerdown", res, &rep);
	ipc_msg_free(rep);
	if (res->code != SPLITVM__ERROR_CODE__ERR_NONE)
		return;
	log_info("ctl: system_powerdown: the ACPI power button was pressed");
	/* A guest that acts at once stops us: let this reply leave first. */
	s->linger = true;
}

/*
 * QEMU's `stop` and `cont`: the vCPUs leave KVM_RUN and wait, or go on.
 * Device processes keep serving (a request in flight is answered), so a
 * stopped guest finds its devices where it left them.
 */
static void vcpus_run(struct sup *s, bool run, struct hmp_result *res)
{
	Splitvm__VcpusPause p = SPLITVM__VCPUS_PAUSE__INIT;
	Splitvm__VcpusResume r = SPLITVM__VCPUS_RESUME__INIT;
	struct ipc_msg *rep = NULL;

	machine_call(s, run ? &r.base : &p.base, run ? "cont" : "stop", res, &rep);
	ipc_msg_free(rep);
}

/* ---- object_add / object_del / device_add / device_del (pc-dimm) -------- */

static Splitvm__BackendConfig *backend_find(struct sup *s, const char *id, size_t *idx)
{
	for (size_t i = 0; i < s->cfg->n_backends; i++)
		if (!strcmp(s->cfg->backends[i]->id, id)) {
			if (idx)
				*idx = i;
			return s->cfg->backends[i];
		}
	return NULL;
}

static struct sup_dev *backend_user(struct sup *s, const char *id)
{
	for (size_t i = 0; i < s->n_devs; i++)
		if (!strcmp(s->devs[i].cfg->memdev, id))
			return &s->devs[i];
	return NULL;
}

static void memsrv_call(struct sup *s, const ProtobufCMessage *req, const char *what,
                        struct hmp_result *res)
{
	struct ipc_msg *rep = NULL;
	struct ipc_err err;

	/* object_add with prealloc=on: its progress goes out as it comes. */
	if (sup_memsrv_call(s, req, SUP_CALL_MS, &rep, &err))
		fail_ipc(res, what, &err);
	ipc_msg_free(rep);
}

static void object_add(struct sup *s, const char *str, struct hmp_result *res)
{
	Splitvm__BackendCreate c = SPLITVM__BACKEND_CREATE__INIT;
	struct backend_config_error e;
	Splitvm__BackendConfig *b = NULL;
	char id[BACKEND_CONFIG_ID_MAX + 1];

	if (backend_config_parse(str, &b, &e)) {
		fail(res, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, e.field, "%s", e.text);
		return;
	}
	if (backend_find(s, b->id, NULL)) {
		/* QEMU's object_property_try_add() wording. */
		fail(res, SPLITVM__ERROR_CODE__ERR_ALREADY_EXISTS, "id",
		     "attempt to add duplicate property '%s' to object (type 'container')", b->id);
		backend_config_free(b);
		return;
	}
	c.config = b;
	memsrv_call(s, &c.base, "splitvm-memsrv", res);
	if (res->code != SPLITVM__ERROR_CODE__ERR_NONE) {
		backend_config_free(b);
		return;
	}
	snprintf(id, sizeof(id), "%s", b->id);
	if (cfg_add_backend(s->cfg, b)) { /* frees b */
		/* Not kept here: take it back from memsrv too, nothing changes. */
		Splitvm__BackendDelete d = SPLITVM__BACKEND_DELETE__INIT;
		struct ipc_msg *rep = NULL;
		struct ipc_err err;

		fail(res, SPLITVM__ERROR_CODE__ERR_INTERNAL, "", "object_add: out of memory");
		d.id = id;
		if (ipc_call(s->memsrv_req, NULL, &d.base, SUP_CALL_MS, &rep, &err))
			log_warnx("BackendDelete %s: %s", id, err.text);
		ipc_msg_free(rep);
		return;
	}
	log_info("object %s added", id);
	res->out_text = strdup("");
}

static void object_del(struct sup *s, const char *id, struct hmp_result *res)
{
	Splitvm__BackendDelete d = SPLITVM__BACKEND_DELETE__INIT;
	Splitvm__BackendConfig *b;
	size_t idx = 0;

	b = backend_find(s, id, &idx);
	if (!b) {
		fail(res, SPLITVM__ERROR_CODE__ERR_NOT_FOUND, "id", "object '%s' not found", id);
		return;
	}
	if (b->base_ram || backend_user(s, id)) {
		/* QEMU's user_creatable_del() wording. */
		fail(res, SPLITVM__ERROR_CODE__ERR_IN_USE, "id",
		     "object '%s' is in use, can not be deleted", id);
		return;
	}
	d.id = (char *)id;
	memsrv_call(s, &d.base, "splitvm-memsrv", res);
	if (res->code != SPLITVM__ERROR_CODE__ERR_NONE)
		return;
	memmove(&s->cfg->backends[idx], &s->cfg->backends[idx + 1],
	        (s->cfg->n_backends - idx - 1) * sizeof(*s->cfg->backends));
	s->cfg->n_backends--;
	backend_config_free(b);
	log_info("object %s deleted", id);
	res->out_text = strdup("");
}

static void release(struct sup *s, const char *memdev, const char *user)
{
	Splitvm__BackendRelease r = SPLITVM__BACKEND_RELEASE__INIT;
	struct ipc_msg *rep = NULL;
	struct ipc_err err;

	r.id = (char *)memdev;
	r.user = (char *)user;
	if (ipc_call(s->memsrv_req, NULL, &r.base, SUP_CALL_MS, &rep, &err))
		log_warnx("BackendRelease %s for %s: %s", memdev, user, err.text);
	ipc_msg_free(rep);
}

/* The checks QEMU makes before plugging a pc-dimm; false: @res says why. */
static bool dimm_addable(struct sup *s, const Splitvm__DeviceConfig *dc, uint64_t size,
                         struct hmp_result *res)
{
	uint64_t used = 0, space = s->cfg->maxmem - s->cfg->ram_size;
	unsigned taken = 0;

	for (size_t i = 0; i < s->n_devs; i++) {
		const struct sup_dev *d = &s->devs[i];

		used += d->size;
		if (d->cfg->model != SPLITVM__DEVICE_MODEL__MODEL_DIMM &&
		    d->cfg->model != SPLITVM__DEVICE_MODEL__MODEL_NVDIMM)
			continue;
		taken++;
		if (dc->slot >= 0 && d->slot == dc->slot) {
			fail(res, SPLITVM__ERROR_CODE__ERR_IN_USE, "slot", "slot %d is busy",
			     dc->slot);
			return false;
		}
	}
	if (dc->slot >= 0 && (uint32_t)dc->slot >= s->cfg->slots) {
		fail(res, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "slot",
		     "invalid slot number %d, valid range is [0-%u]", dc->slot,
		     s->cfg->slots ? s->cfg->slots - 1 : 0);
		return false;
	}
	if (taken >= s->cfg->slots) {
		fail(res, SPLITVM__ERROR_CODE__ERR_NO_SPACE, "slot",
		     "no free slots available (slots=%u)", s->cfg->slots);
		return false;
	}
	if (used + size > space) {
		fail(res, SPLITVM__ERROR_CODE__ERR_NO_SPACE, "size",
		     "not enough space, currently 0x%" PRIx64 " in use of total space for memory "
		     "devices 0x%" PRIx64,
		     used, space);
		return false;
	}
	if (dc->node >= 0 && s->cfg->n_numa && (size_t)dc->node >= s->cfg->n_numa) {
		fail(res, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "node",
		     "'DIMM property node has value %d' which exceeds the number of numa nodes: "
		     "%zu",
		     dc->node, s->cfg->n_numa);
		return false;
	}
	return true;
}

/* pc-dimm,id=,memdev=[,addr=,slot=,node=] into a new DeviceConfig. */
static Splitvm__DeviceConfig *dimm_parse(struct sup *s, const char *str, struct hmp_result *res)
{
	Splitvm__DeviceConfig *dc = NULL;
	struct opts *o = NULL;
	struct opts_error e;
	const char *drv, *id, *memdev;
	uint64_t addr, slot, node;

	if (opts_parse(str, "driver", &o, &e)) {
		fail(res, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "args", "%s", e.msg);
		return NULL;
	}
	drv = opts_get(o, "driver");
	id = opts_get(o, "id");
	memdev = opts_get(o, "memdev");
	if (!drv || strcmp(drv, "pc-dimm")) {
		fail(res, SPLITVM__ERROR_CODE__ERR_UNSUPPORTED, "driver",
		     "device_add: driver '%s' cannot be hot-plugged (pc-dimm can; virtio-mem "
		     "devices resize with qom-set)",
		     drv ? drv : "");
		goto out;
	}
	if (!id || !opts_id_valid(id)) {
		fail(res, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "id",
		     "pc-dimm needs a well-formed id= (a letter, then letters, digits, '-', '.', "
		     "'_')");
		goto out;
	}
	if (sup_dev_find(s, id)) {
		fail(res, SPLITVM__ERROR_CODE__ERR_ALREADY_EXISTS, "id", "Duplicate device ID '%s'",
		     id);
		goto out;
	}
	if (!memdev) {
		fail(res, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "memdev",
		     "'memdev' property is not set");
		goto out;
	}
	if (!backend_find(s, memdev, NULL)) {
		fail(res, SPLITVM__ERROR_CODE__ERR_NOT_FOUND, "memdev",
		     "Property 'pc-dimm.memdev' can't find value '%s'", memdev);
		goto out;
	}
	if (backend_user(s, memdev) || backend_find(s, memdev, NULL)->base_ram) {
		fail(res, SPLITVM__ERROR_CODE__ERR_IN_USE, "memdev",
		     "can't use already busy memdev: %s", memdev);
		goto out;
	}
	if (opts_get_u64(o, "addr", 0, UINT64_MAX, &addr, &e) ||
	    opts_get_u64(o, "slot", UINT64_MAX, INT32_MAX, &slot, &e) ||
	    opts_get_u64(o, "node", UINT64_MAX, INT32_MAX, &node, &e) ||
	    opts_check_unused(o, "pc-dimm", &e)) {
		fail(res, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "args", "%s", e.msg);
		goto out;
	}
	if (cfg_device_new(SPLITVM__DEVICE_MODEL__MODEL_DIMM, &dc)) {
		fail(res, SPLITVM__ERROR_CODE__ERR_INTERNAL, "", "out of memory");
		goto out;
	}
	dc->id = strdup(id);
	dc->memdev = strdup(memdev);
	if (!dc->id || !dc->memdev) {
		fail(res, SPLITVM__ERROR_CODE__ERR_INTERNAL, "", "out of memory");
		cfg_device_free(dc);
		dc = NULL;
		goto out;
	}
	dc->addr = addr;
	dc->slot = slot == UINT64_MAX ? -1 : (int32_t)slot;
	dc->node = node == UINT64_MAX ? -1 : (int32_t)node;
	dc->hotplugged = true;
out:
	opts_free(o);
	return dc;
}

static void device_add(struct sup *s, const char *str, struct hmp_result *res)
{
	Splitvm__DimmPlug p = SPLITVM__DIMM_PLUG__INIT;
	Splitvm__DeviceConfig *dc = dimm_parse(s, str, res);
	const Splitvm__BackendConfig *be;
	struct sup_dev *devs, *d;
	struct ipc_msg *rep = NULL;
	struct ipc_err err;
	const char *text;
	int fd, slot;
	uint64_t addr;

	if (!dc)
		return;
	be = backend_find(s, dc->memdev, NULL);
	if (!dimm_addable(s, dc, be->size, res))
		goto fail_dc;
	/* Room first: once the core has the DIMM, keeping it cannot fail. */
	devs = realloc(s->devs, (s->n_devs + 1) * sizeof(*devs));
	if (!devs)
		goto fail_oom;
	s->devs = devs;
	if (cfg_add_device(s->cfg, dc)) /* frees dc on failure */
		goto fail_oom_freed;
	s->cfg->n_devices--; /* kept only once plugged */
	fd = sup_acquire(s, be->id, dc->id);
	if (fd < 0) {
		fail(res, SPLITVM__ERROR_CODE__ERR_INTERNAL, "memdev",
		     "device_add: memsrv gave no fd for '%s'", be->id);
		goto fail_dc;
	}
	p.fd_tag = ++s->next_core_tag;
	if (ipc_fdchan_send(s->core_fd, p.fd_tag, &fd, 1, &err)) {
		close_fd(&fd);
		fail(res, SPLITVM__ERROR_CODE__ERR_INTERNAL, "", "device_add: %s", err.text);
		goto fail_release;
	}
	p.device = dc;
	p.size = be->size;
	machine_call(s, &p.base, "splitvm-core", res, &rep);
	if (!rep || res->code != SPLITVM__ERROR_CODE__ERR_NONE) {
		close_fd(&fd);
		goto fail_release;
	}
	d = &s->devs[s->n_devs];
	memset(d, 0, sizeof(*d));
	d->cfg = dc;
	d->be = be;
	d->size = be->size;
	d->slot = -1;
	d->state_fd = d->stderr_fd = -1;
	/* The same fd as the core's: the device process discards through it. */
	d->backend_fd = take_fd(&fd);
	d->violation = -1;
	d->state = SUP_DEV_PASSIVE;
	d->proc.model = "pc-dimm";
	splitvm__process_exit__init(&d->reported_exit);
	text = ((const Splitvm__OkReply *)rep->body)->text;
	if (rep->type->type == SPLITVM__MSG_TYPE__MSG_OK_REPLY && text &&
	    (text = strstr(text, " slot ")) &&
	    sscanf(text, " slot %d addr %" SCNx64, &slot, &addr) == 2) {
		d->slot = slot;
		d->gpa = addr;
	}
	ipc_msg_free(rep);
	s->cfg->n_devices++;
	s->n_devs++;
	/*
	 * The DIMM is the guest's already; a process that does not start
	 * only means no discard after the unplug (restarted as any device).
	 */
	if (sup_dev_spawn(s, d))
		log_warnx("device %s: its pc-dimm process did not start", dc->id);
	log_info("device %s: pc-dimm plugged, slot %d addr 0x%" PRIx64, dc->id, d->slot, d->gpa);
	res->out_text = strdup("");
	return;

fail_release:
	ipc_msg_free(rep);
	release(s, be->id, dc->id);
	goto fail_dc;
fail_oom:
	fail(res, SPLITVM__ERROR_CODE__ERR_INTERNAL, "", "out of memory");
fail_dc:
	cfg_device_free(dc);
	return;
fail_oom_freed:
	fail(res, SPLITVM__ERROR_CODE__ERR_INTERNAL, "", "out of memory");
}

static void device_del(struct sup *s, const char *id, struct hmp_result *res)
{
	Splitvm__DimmUnplugRequest u = SPLITVM__DIMM_UNPLUG_REQUEST__INIT;
	struct sup_dev *d = sup_dev_find(s, id);
	struct ipc_msg *rep = NULL;

	if (!d) {
		fail(res, SPLITVM__ERROR_CODE__ERR_NOT_FOUND, "id", "Device '%s' not found", id);
		return;
	}
	if (d->cfg->model != SPLITVM__DEVICE_MODEL__MODEL_DIMM) {
		fail(res, SPLITVM__ERROR_CODE__ERR_UNSUPPORTED, "id",
		     "device '%s' is a %s: only pc-dimm devices are unplugged (virtio-mem: "
		     "qom-set requested-size 0)",
		     id, kind_name(d->cfg->model));
		return;
	}
	if (d->unplugging) {
		fail(res, SPLITVM__ERROR_CODE__ERR_BUSY, "id",
		     "device '%s' is already being removed", id);
		return;
	}
	u.device = d->cfg->id;
	machine_call(s, &u.base, "splitvm-core", res, &rep);
	ipc_msg_free(rep);
	if (res->code != SPLITVM__ERROR_CODE__ERR_NONE)
		return;
	/* QEMU answers at once; DEVICE_DELETED comes when the guest ejected it. */
	d->unplugging = true;
	res->out_text = strdup("");
}

/*
 * The DIMM's process punches the backend out (its memory goes back to the
 * host while the object lives on, until object_del), then stops.
 */
static void dimm_discard(struct sup *s, struct sup_dev *d)
{
	Splitvm__DevicePropSet ps = SPLITVM__DEVICE_PROP_SET__INIT;
	struct ipc_chan *c = sup_devctl(s, d);
	struct ipc_msg *rep = NULL;
	struct ipc_err err;

	if (c) {
		ps.name = (char *)"discard";
		ps.value = (char *)"on";
		if (ipc_call(c, &(struct ipc_hdr){ .device = d->cfg->id, .epoch = d->epoch },
		             &ps.base, SUP_DEVCTL_MS, &rep, &err))
			log_warnx("device %s: discard: %s", d->cfg->id, err.text);
		ipc_msg_free(rep);
	}
	/* What it logged came before its answer: pass it on before the pipe closes. */
	sup_dev_stderr_drain(d);
	/* Its exit is reaped and ignored: the device is gone from the table. */
	if (d->proc.pid > 0)
		kill(d->proc.pid, SIGTERM);
	d->proc.pid = 0;
}

/* The guest ejected DIMM @d and the core unmapped it: forget it. */
static void dimm_deleted(struct sup *s, struct sup_dev *d)
{
	size_t i = (size_t)(d - s->devs);
	Splitvm__DeviceConfig *dc = (Splitvm__DeviceConfig *)d->cfg;

	dimm_discard(s, d);
	release(s, d->be->id, d->cfg->id);
	for (size_t k = 0; k < s->cfg->n_devices; k++)
		if (s->cfg->devices[k] == dc) {
			memmove(&s->cfg->devices[k], &s->cfg->devices[k + 1],
			        (s->cfg->n_devices - k - 1) * sizeof(*s->cfg->devices));
			s->cfg->n_devices--;
			break;
		}
	ipc_chan_destroy(d->devctl);
	close_fd(&d->stderr_fd);
	close_fd(&d->backend_fd);
	close_fd(&d->state_fd);
	memmove(&s->devs[i], &s->devs[i + 1], (s->n_devs - i - 1) * sizeof(*s->devs));
	s->n_devs--;
	log_info("device %s deleted", dc->id);
	cfg_device_free(dc);
}

/*
 * The guest's _OST answering an eject request (3) or the eject (0x103)
 * with a failure: 1, 2 or 0x80..0x83 (ACPI 6.5, 6.3.5); 0x84 is "ejection
 * in progress".  The removal is over; the DIMM stays.
 */
static bool eject_refused(const Splitvm__AcpiDeviceOst *o)
{
	if (o->source != 3 && o->source != 0x103)
		return false;
	return o->status == 1 || o->status == 2 || (o->status >= 0x80 && o->status <= 0x83);
}

void hmp_core_events(struct sup *s)
{
	struct ipc_msg *m = NULL;
	struct ipc_err err;

	while (s->core_events && !ipc_recv(s->core_events, 0, &m, &err)) {
		Splitvm__Event *ev = (Splitvm__Event *)m->body;

		if (m->type->type != SPLITVM__MSG_TYPE__MSG_EVENT) {
			ipc_msg_free(m);
			continue;
		}
		if (ev->kind_case == SPLITVM__EVENT__KIND_DEVICE_DELETED) {
			struct sup_dev *d = sup_dev_find(s, ev->device);

			if (d && d->cfg->model == SPLITVM__DEVICE_MODEL__MODEL_DIMM)
				dimm_deleted(s, d);
			sup_event_publish(s, ev);
		} else if (ev->kind_case == SPLITVM__EVENT__KIND_ACPI_DEVICE_OST) {
			struct sup_dev *d = sup_dev_find(s, ev->device);

			/* As QEMU: after a refusal device_del may ask the guest again. */
			if (d && d->unplugging && ev->acpi_device_ost &&
			    eject_refused(ev->acpi_device_ost)) {
				d->unplugging = false;
				log_info("device %s: the guest refused the eject (_OST status "
				         "0x%x); it stays",
				         d->cfg->id, ev->acpi_device_ost->status);
			}
			sup_event_publish(s, ev);
		}
		ipc_msg_free(m);
	}
}

static const char *arg(const Splitvm__CtlRequest *req, size_t i)
{
	return i < req->n_args ? req->args[i] : NULL;
}

/* --name VALUE or --name=VALUE among args[from..]; NULL if absent. */
static const char *opt(const Splitvm__CtlRequest *req, size_t from, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = from; i < req->n_args; i++) {
		const char *a = req->args[i];

		if (!strncmp(a, name, n) && a[n] == '=')
			return a + n + 1;
		if (!strcmp(a, name))
			return arg(req, i + 1);
	}
	return NULL;
}

static bool nargs(const Splitvm__CtlRequest *req, size_t n, const char *usage,
                  struct hmp_result *res)
{
	if (req->n_args == n)
		return true;
	fail(res, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "args", "usage: %s %s", req->verb,
	     usage);
	return false;
}

void hmp_dispatch(struct sup *s, const Splitvm__CtlRequest *req, struct hmp_result *res)
{
	const char *v = req->verb ? req->verb : "";

	if (!strcmp(v, "info")) {
		const char *what = arg(req, 0);

		if (!nargs(req, 1, "memory-devices|processes", res))
			return;
		if (!strcmp(what, "memory-devices")) {
			info_memory_devices(s, req->json, res);
		} else if (!strcmp(what, "processes")) {
			int r = sup_proc_table(s, req->json,
			                       req->json ? &res->out_json : &res->out_text);
			if (r)
				fail(res, SPLITVM__ERROR_CODE__ERR_INTERNAL, "",
				     "info processes: %s", strerror(-r));
		} else {
			fail(res, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "args",
			     "unknown info command '%s' (memory-devices, processes)", what);
		}
	} else if (!strcmp(v, "query-memory-devices")) {
		if (nargs(req, 0, "", res)) {
			info_memory_devices(s, true, res);
			/* QMP's answer only: the HMP text is `info memory-devices`. */
			free(res->out_text);
			res->out_text = NULL;
		}
	} else if (!strcmp(v, "qom-set")) {
		if (!nargs(req, 3, "ID requested-size SIZE", res))
			return;
		if (strcmp(arg(req, 1), "requested-size"))
			fail(res, SPLITVM__ERROR_CODE__ERR_UNSUPPORTED, "property",
			     "property '%s' cannot be set at run time (requested-size can)",
			     arg(req, 1));
		else
			set_requested(s, arg(req, 0), arg(req, 2), res);
	} else if (!strcmp(v, "qom-get")) {
		if (nargs(req, 2, "ID PROPERTY", res))
			qom_get(s, arg(req, 0), arg(req, 1), res);
	} else if (!strcmp(v, "update-memory-device")) {
		const char *alias = opt(req, 0, "--alias"), *size = opt(req, 0, "--requested-size");

		if (!alias || !size)
			fail(res, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "args",
			     "usage: update-memory-device --alias ID --requested-size SIZE");
		else
			set_requested(s, alias, size, res);
	} else if (!strcmp(v, "restart")) {
		if (nargs(req, 1, "ID", res))
			restart_dev(s, arg(req, 0), res);
	} else if (!strcmp(v, "info-processes")) {
		fail(res, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "verb",
		     "say 'info processes'");
	} else if (!strcmp(v, "events")) {
		if (sup_events_history(s, &res->blob, &res->blob_len))
			fail(res, SPLITVM__ERROR_CODE__ERR_INTERNAL, "", "out of memory");
	} else if (!strcmp(v, "dump-dtb")) {
		if (nargs(req, 0, "", res))
			dump_dtb(s, res);
	} else if (!strcmp(v, "system_powerdown")) {
		if (nargs(req, 0, "", res))
			system_powerdown(s, res);
	} else if (!strcmp(v, "stop") || !strcmp(v, "cont")) {
		if (nargs(req, 0, "", res))
			vcpus_run(s, !strcmp(v, "cont"), res);
	} else if (!strcmp(v, "quit")) {
		res->quit = true;
	} else if (!strcmp(v, "object_add")) {
		if (nargs(req, 1, "memory-backend-TYPE,id=ID,size=SIZE[,...]", res))
			object_add(s, arg(req, 0), res);
	} else if (!strcmp(v, "object_del")) {
		if (nargs(req, 1, "ID", res))
			object_del(s, arg(req, 0), res);
	} else if (!strcmp(v, "device_add")) {
		if (nargs(req, 1, "pc-dimm,id=ID,memdev=MEMDEV[,addr=,slot=,node=]", res))
			device_add(s, arg(req, 0), res);
	} else if (!strcmp(v, "device_del")) {
		if (nargs(req, 1, "ID", res))
			device_del(s, arg(req, 0), res);
	} else {
		fail(res, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "verb",
		     "unknown verb '%s' (splitvm-ctl help lists the verbs)", v);
	}
}
