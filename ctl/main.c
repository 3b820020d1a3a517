/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * splitvm-ctl: QEMU-monitor verbs for a running splitvm.  It talks only to
 * the supervisor (REQ `ctl`, SUB `events` in the VM's run directory); the
 * supervisor parses and validates every argument.  Exit 0 on success, 1
 * with one line on stderr on error, 2 for a usage error.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"

#define CTL_DEADLINE_MS 15000

struct verb_help {
	const char *verb, *args, *help;
};

static const struct verb_help verbs[] = {
	{ "info", "memory-devices|processes",
	  "memory-devices: QEMU's HMP text (--json: QMP's); processes: pid, model, uid, seccomp, "
	  "namespaces, restarts, RSS" },
	{ "query-memory-devices", "", "the memory devices as QMP's JSON" },
	{ "qom-set", "ID requested-size SIZE", "resize a virtio-mem device" },
	{ "qom-get", "ID PROPERTY",
	  "size, requested-size, block-size, memaddr, addr, slot, node, "
	  "memdev" },
	{ "update-memory-device", "--alias ID --requested-size SIZE", "virsh's name for qom-set" },
	{ "restart", "ID", "restart a device's process (its state is kept)" },
	{ "events", "[--follow]",
	  "events so far (MEMORY_DEVICE_SIZE_CHANGE, DEVICE_PROCESS_EXITED, "
	  "DEVICE_PROCESS_RESTARTED, GUEST_SHUTDOWN, ...); --follow waits "
	  "for more" },
	{ "dump-dtb", "FILE", "write the guest's flattened device tree to FILE (dtc -I dtb)" },
	{ "system_powerdown", "",
	  "press the ACPI power button and return; the VM stops when the guest "
	  "powers off (GUEST_SHUTDOWN), `quit` stops it at once" },
	{ "stop", "", "pause the guest's vCPUs (device processes keep serving)" },
	{ "cont", "", "resume the vCPUs after `stop`" },
	{ "quit", "", "stop the VM and every process" },
	{ "object_add", "memory-backend-TYPE,id=ID,size=SIZE[,...]",
	  "create a memory backend (QEMU's properties)" },
	{ "object_del", "ID", "delete a backend no device uses" },
	{ "device_add", "pc-dimm,id=ID,memdev=ID[,addr=A,slot=N,node=N]",
	  "hot-plug a DIMM through the ACPI memory-hotplug controller" },
	{ "device_del", "ID", "ask the guest to eject a DIMM (DEVICE_DELETED when it has)" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: splitvm-ctl [--vm NAME | --socket PATH] [--json] VERB [ARGS...]\n"
	           "       splitvm-ctl help [VERB]\n\nverbs:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-22s %s\n", verbs[i].verb, verbs[i].args);
}

static int help(const char *verb)
{
	if (!verb) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verbs[i].verb, verb)) {
			printf("%s %s\n  %s\n", verbs[i].verb, verbs[i].args, verbs[i].help);
			return 0;
		}
	fprintf(stderr, "splitvm-ctl: unknown verb '%s'\n", verb);
	return 2;
}

/* The run directory of @vm, as splitvm chooses it. */
static int vm_dir(const char *vm, char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (geteuid() == 0)
		n = snprintf(buf, len, "/run/splitvm/%s", vm);
	else if (xdg && xdg[0])
		n = snprintf(buf, len, "%s/splitvm/%s", xdg, vm);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* ---- events -------------------------------------------------------------- */

static const char *ekind(const Splitvm__ProcessExit *e)
{
	switch (e->kind) {
	case SPLITVM__EXIT_KIND__EXIT_CODE:
		return "exit";
	case SPLITVM__EXIT_KIND__EXIT_SECCOMP:
		return "seccomp";
	default:
		return "signal";
	}
}

static json_object *exit_json(const Splitvm__ProcessExit *e)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "pid", json_object_new_int(e->pid));
	json_object_object_add(o, "kind", json_object_new_string(ekind(e)));
	json_object_object_add(o, "code", json_object_new_int(e->code));
	if (e->kind == SPLITVM__EXIT_KIND__EXIT_SECCOMP)
		json_object_object_add(o, "syscall", json_object_new_int(e->syscall));
	return o;
}

/* ACPI_DEVICE_OST's data as QMP's: {"info": ACPIOSTInfo}. */
static json_object *ost_info_json(const Splitvm__Event *ev)
{
	const Splitvm__AcpiDeviceOst *ost = ev->acpi_device_ost;
	json_object *info = json_object_new_object();
	char slot[16];

	snprintf(slot, sizeof(slot), "%u", ost->slot);
	json_object_object_add(info, "device",
	                       json_object_new_string(ev->device ? ev->device : ""));
	json_object_object_add(info, "slot", json_object_new_string(slot));
	json_object_object_add(info, "slot-type", json_object_new_string("DIMM"));
	json_object_object_add(info, "source", json_object_new_int((int)ost->source));
	json_object_object_add(info, "status", json_object_new_int((int)ost->status));
	return info;
}

/*
 * One event as QMP's {"timestamp", "event", "data"}.  The events QEMU has
 * carry QEMU's data (DEVICE_DELETED's "device" and "path",
 * ACPI_DEVICE_OST's "info", MEMORY_DEVICE_SIZE_CHANGE's "id", "size",
 * "qom-path"); splitvm's own name their device "id".
 */
static json_object *event_json(const Splitvm__Event *ev)
{
	json_object *o = json_object_new_object(), *ts = json_object_new_object();
	json_object *data = json_object_new_object();
	const char *name = "UNKNOWN";
	bool qemu_shaped = ev->kind_case == SPLITVM__EVENT__KIND_DEVICE_DELETED ||
	                   ev->kind_case == SPLITVM__EVENT__KIND_ACPI_DEVICE_OST;

	json_object_object_add(ts, "seconds",
	                       json_object_new_int64((int64_t)(ev->timestamp_ns / 1000000000u)));
	json_object_object_add(
	        ts, "microseconds",
	        json_object_new_int64((int64_t)(ev->timestamp_ns % 1000000000u / 1000u)));
	if (ev->device && ev->device[0] && !qemu_shaped)
		json_object_object_add(data, "id", json_object_new_string(ev->device));
	switch (ev->kind_case) {
	case SPLITVM__EVENT__KIND_MEMORY_DEVICE_SIZE_CHANGE:
		name = "MEMORY_DEVICE_SIZE_CHANGE";
		json_object_object_add(
		        data, "size",
		        json_object_new_int64((int64_t)ev->memory_device_size_change->size));
		json_object_object_add(
		        data, "qom-path",
		        json_object_new_string(ev->memory_device_size_change->qom_path));
		break;
	case SPLITVM__EVENT__KIND_DEVICE_DELETED:
		name = "DEVICE_DELETED";
		json_object_object_add(data, "device",
		                       json_object_new_string(ev->device ? ev->device : ""));
		json_object_object_add(data, "path",
		                       json_object_new_string(ev->device_deleted->qom_path));
		break;
	case SPLITVM__EVENT__KIND_DEVICE_PROCESS_EXITED:
		name = "DEVICE_PROCESS_EXITED";
		json_object_object_add(data, "reason", exit_json(ev->device_process_exited));
		break;
	case SPLITVM__EVENT__KIND_DEVICE_PROCESS_RESTARTED: {
		const Splitvm__ProcessRestarted *r = ev->device_process_restarted;

		name = "DEVICE_PROCESS_RESTARTED";
		json_object_object_add(data, "old-pid", json_object_new_int(r->old_pid));
		json_object_object_add(data, "new-pid", json_object_new_int(r->new_pid));
		json_object_object_add(data, "restarts", json_object_new_int((int)r->restarts));
		if (r->reason)
			json_object_object_add(data, "reason", exit_json(r->reason));
		break;
	}
	case SPLITVM__EVENT__KIND_ACPI_DEVICE_OST:
		name = "ACPI_DEVICE_OST";
		if (ev->acpi_device_ost)
			json_object_object_add(data, "info", ost_info_json(ev));
		break;
	case SPLITVM__EVENT__KIND_GUEST_SHUTDOWN:
		name = "GUEST_SHUTDOWN";
		json_object_object_add(data, "reason",
		                       json_object_new_string(ev->guest_shutdown->reason));
		break;
	case SPLITVM__EVENT__KIND_PREALLOC_PROGRESS:
		name = "PREALLOC_PROGRESS";
		json_object_object_add(data, "backend",
		                       json_object_new_string(ev->prealloc_progress->backend));
		json_object_object_add(data, "percent",
		                       json_object_new_int((int)ev->prealloc_progress->percent));
		break;
	case SPLITVM__EVENT__KIND_PROCESS_EXITED:
		name = "PROCESS_EXITED";
		json_object_object_add(data, "reason", exit_json(ev->process_exited));
		break;
	default:
		break;
	}
	json_object_object_add(o, "timestamp", ts);
	json_object_object_add(o, "event", json_object_new_string(name));
	json_object_object_add(o, "data", data);
	return o;
}

/* Text: "SECONDS.MICROS EVENT {data}"; --json: one QMP object per line. */
static void print_event(const Splitvm__Event *ev, bool json)
{
	json_object *o = event_json(ev), *name, *ts, *data, *sec, *usec;

	if (json) {
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	} else {
		json_object_object_get_ex(o, "event", &name);
		json_object_object_get_ex(o, "timestamp", &ts);
		json_object_object_get_ex(o, "data", &data);
		json_object_object_get_ex(ts, "seconds", &sec);
		json_object_object_get_ex(ts, "microseconds", &usec);
		printf("%" PRId64 ".%06" PRId64 " %s %s\n", json_object_get_int64(sec),
		       json_object_get_int64(usec), json_object_get_string(name),
		       json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN));
	}
	fflush(stdout);
	json_object_put(o);
}

/* The history blob: little-endian u32 length, packed Event, repeated. */
static int print_history(const uint8_t *b, size_t len, bool json, uint64_t *last_ts)
{
	size_t off = 0;

	while (off + 4 <= len) {
		uint32_t n = (uint32_t)b[off] | (uint32_t)b[off + 1] << 8 |
		             (uint32_t)b[off + 2] << 16 | (uint32_t)b[off + 3] << 24;
		Splitvm__Event *ev;

		off += 4;
		if (n > len - off)
			return -EPROTO;
		ev = splitvm__event__unpack(NULL, n, b + off);
		if (!ev)
			return -EPROTO;
		print_event(ev, json);
		*last_ts = ev->timestamp_ns;
		splitvm__event__free_unpacked(ev, NULL);
		off += n;
	}
	return off == len ? 0 : -EPROTO;
}

/*
 * Print events as they come until the VM is gone: a SUB socket does not
 * see its publisher leave, so the ctl socket's path (removed with the run
 * directory when the VM stops) is checked between events.
 */
static int follow(struct ipc_chan *sub, bool json, uint64_t last_ts, const char *ctl_path)
{
	for (;;) {
		struct ipc_msg *m = NULL;
		struct ipc_err err;
		int r = ipc_recv(sub, 250, &m, &err);

		if (r == -IPC_ERR_TIMEOUT) {
			if (access(ctl_path, F_OK))
				return 0;
			continue;
		}
		if (r) {
			fprintf(stderr, "splitvm-ctl: events: %s\n", err.text);
			return 1;
		}
		if (m->type->type == SPLITVM__MSG_TYPE__MSG_EVENT) {
			const Splitvm__Event *ev = (const Splitvm__Event *)m->body;

			/* Events already in the history are not shown twice. */
			if (ev->timestamp_ns > last_ts)
				print_event(ev, json);
		}
		ipc_msg_free(m);
	}
}

/* ---- main ------------------------------------------------------------------ */

/* ipc_call_watch()'s handler: memsrv's prealloc progress, passed on by sup. */
static int is_progress(void *opaque, const struct ipc_msg *m)
{
	const Splitvm__Event *ev = (const Splitvm__Event *)m->body;

	(void)opaque;
	return m->type->type == SPLITVM__MSG_TYPE__MSG_EVENT &&
	       ev->kind_case == SPLITVM__EVENT__KIND_PREALLOC_PROGRESS;
}

static int write_file(const char *path, const uint8_t *b, size_t len)
{
	FILE *f = fopen(path, "we");

	if (!f || fwrite(b, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "splitvm-ctl: %s: %s\n", path, strerror(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *vm = NULL, *sock = NULL;
	char dir[4096], name[256], path[4400];
	struct ipc_chan_opts ro = { .planes = PROTO_PLANE_CONTROL,
		                    .send_timeout_ms = CTL_DEADLINE_MS,
		                    .recv_timeout_ms = CTL_DEADLINE_MS };
	struct ipc_chan_opts so = { .planes = PROTO_PLANE_EVENT };
	Splitvm__CtlRequest req = SPLITVM__CTL_REQUEST__INIT;
	struct ipc_chan *chan = NULL, *sub = NULL;
	struct ipc_msg *rep = NULL;
	const Splitvm__CtlReply *cr;
	struct ipc_err err;
	bool json = false, follow_ev = false, watch_progress;
	uint64_t last_ts = 0;
	const char *dtb_path = NULL;
	char *args[64];
	int i, rc = 1;

	log_init("splitvm-ctl");
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if ((!strcmp(argv[i], "--vm") || !strcmp(argv[i], "--socket")) &&
		           i + 1 < argc) {
			if (argv[i][2] == 'v')
				vm = argv[++i];
			else
				sock = argv[++i];
		} else {
			fprintf(stderr, "splitvm-ctl: unknown option '%s' (--help)\n", argv[i]);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[i], "help"))
		return help(i + 1 < argc ? argv[i + 1] : NULL);
	if (i + 1 < argc && !strcmp(argv[i + 1], "--help"))
		return help(argv[i]);
	if (!vm == !sock) {
		fprintf(stderr, "splitvm-ctl: give --vm NAME or --socket PATH\n");
		return 2;
	}
	if (sock) {
		const char *slash = strrchr(sock, '/');

		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - sock) : 1,
		         slash ? sock : ".");
		snprintf(name, sizeof(name), "%s", slash ? slash + 1 : sock);
	} else {
		if (vm_dir(vm, dir, sizeof(dir))) {
			fprintf(stderr, "splitvm-ctl: XDG_RUNTIME_DIR is not set: use --socket\n");
			return 2;
		}
		snprintf(name, sizeof(name), "ctl");
	}
	req.verb = argv[i++];
	req.json = json;
	for (; i < argc && req.n_args < sizeof(args) / sizeof(args[0]); i++) {
		if (!strcmp(req.verb, "events") && !strcmp(argv[i], "--follow")) {
			follow_ev = true;
			continue;
		}
		args[req.n_args++] = argv[i];
	}
	req.args = args;
	req.follow = follow_ev;
	if (!strcmp(req.verb, "dump-dtb")) {
		if (req.n_args != 1) {
			fprintf(stderr, "splitvm-ctl: usage: dump-dtb FILE\n");
			return 2;
		}
		dtb_path = args[0];
		req.n_args = 0;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (access(path, F_OK)) {
		fprintf(stderr, "splitvm-ctl: %s: no such VM socket (%s)\n", path, strerror(errno));
		return 1;
	}
	if (ipc_chan_connect(&chan, IPC_ROLE_REQ, dir, name, &ro, &err)) {
		fprintf(stderr, "splitvm-ctl: %s\n", err.text);
		return 1;
	}
	/*
	 * Subscribe before asking for the history, so that nothing falls
	 * between; and for object_add, whose prealloc of many GiB outlasts
	 * CTL_DEADLINE_MS: each PREALLOC_PROGRESS on `events` keeps us waiting.
	 */
	watch_progress = !strcmp(req.verb, "object_add");
	if ((follow_ev || watch_progress) &&
	    ipc_chan_connect(&sub, IPC_ROLE_SUB, dir, "events", &so, &err)) {
		fprintf(stderr, "splitvm-ctl: events: %s\n", err.text);
		goto out;
	}
	if (ipc_call_watch(chan, NULL, &req.base, CTL_DEADLINE_MS, watch_progress ? sub : NULL,
	                   is_progress, NULL, &rep, &err)) {
		/* Unanswered, chan is left to our exit (ipc_chan_destroy). */
		fprintf(stderr, "splitvm-ctl: %s: %s\n", req.verb, err.text);
		goto out;
	}
	if (rep->type->type != SPLITVM__MSG_TYPE__MSG_CTL_REPLY) {
		fprintf(stderr, "splitvm-ctl: unexpected reply %s\n", rep->type->name);
		goto out;
	}
	cr = (const Splitvm__CtlReply *)rep->body;
	rc = 0;
	if (!strcmp(req.verb, "events")) {
		if (print_history(cr->blob.data, cr->blob.len, json, &last_ts)) {
			fprintf(stderr, "splitvm-ctl: events: malformed history\n");
			rc = 1;
		} else if (follow_ev) {
			rc = follow(sub, json, last_ts, path);
		}
	} else if (dtb_path) {
		rc = write_file(dtb_path, cr->blob.data, cr->blob.len);
	} else if (cr->json && cr->json[0] && (json || !cr->text || !cr->text[0])) {
		printf("%s\n", cr->json);
	} else if (json) {
		printf("{}\n");
	} else if (cr->text) {
		fputs(cr->text, stdout);
	}
out:
	ipc_msg_free(rep);
	ipc_chan_destroy(sub);
	ipc_chan_destroy(chan);
	return rc;
}
