// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * splitvm-devproc --model=virtio-mem killed with SIGKILL while it serves a
 * stream of PLUG and UNPLUG requests (DESIGN.md "exactly-once across a
 * crash").  The test is the core (test_devproc_fakecore.c): it kills the
 * process at chosen points (while the core maps a slot for it, after its
 * journal commit, at a random moment after a request), starts a successor
 * with epoch + 1 and re-sends the unanswered seq, as the core does.
 *
 * Passes when every request is answered ACK (never ERROR), exactly the
 * requested blocks are plugged (the model's STATE answers, the config copy,
 * the mapped slots, and the backend's allocated bytes all agree), and no
 * slot holding an acknowledged block was ever unmapped.  Then device
 * control: requested-size through DevicePropSet raises a config change
 * with notify; bad values are refused naming the field and the rule.
 *
 * Sandboxed (the default, --sandbox=enforce): the pid the test holds is the
 * reaper, whose kill -9 must take the device process along; the device
 * process itself (the reaper's only child) shows Seccomp 2, NoNewPrivs 1,
 * no capability and namespaces unlike the test's.  SKIPs (77) where the
 * kernel gives the test no user namespace.
 *
 * usage: test_devproc_crash PATH-TO-splitvm-devproc [SANDBOX-MODE]
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipc_check.h"
#include "test_devproc_fakecore.h"

#define MiB       (UINT64_C(1) << 20)
#define REGION    (1024 * MiB)
#define BLK       (2 * MiB)
#define REQ_BYTES (64 * MiB)
#define NPLUG     12 /* 768 MiB: slots 0..5 */
#define NUNPLUG   4  /* back to 512 MiB: slots 4, 5 emptied */
#define GPA       (UINT64_C(8) << 30)

/* Where the hook kills the device process for the request in flight. */
enum kill_plan {
	KILL_AT_MAP,    /* the core has mapped the slot; the process waits for Ok */
	KILL_AT_CONFIG, /* the journal has the request; the response is not sent */
	KILL_RANDOM,    /* somewhere in the first 20 ms after the request */
	KILL_NONE,
};

struct plan {
	enum kill_plan how;
	unsigned left; /* kills still to do for this request */
};

static bool hook(struct fcore *fc, enum fc_event ev, void *opaque)
{
	struct plan *p = opaque;

	if (!p->left)
		return false;
	if ((p->how == KILL_AT_MAP && ev == FC_EV_SLOT_MAP && fc->last_map) ||
	    (p->how == KILL_AT_CONFIG && ev == FC_EV_CONFIG_UPDATE)) {
		p->left--;
		return true;
	}
	return false;
}

/* One request until it is answered, through as many kills as the plan says. */
static void request(struct fcore *fc, struct plan *p, uint64_t seq, uint16_t type, uint64_t off,
                    uint16_t nb, unsigned *seed, uint8_t resp[10])
{
	uint8_t req[24];

	fc_vmem_req(req, type, GPA + off, nb);
	fc->hook = hook;
	fc->hook_opaque = p;
	for (;;) {
		if (p->how == KILL_RANDOM && p->left) {
			p->left--;
			fc->kill_after_us = rand_r(seed) % 20000;
		}
		if (fc_request(fc, seq, req, sizeof(req), resp) == 0)
			break;
		fc_spawn(fc); /* the successor gets the same seq */
	}
	fc->hook = NULL;
	CHECK(resp[0] != FC_ERROR, "seq %" PRIu64 ": ERROR answered", seq);
}

static void plug_phase(struct fcore *fc, uint64_t *seq, unsigned *seed)
{
	uint16_t nb = REQ_BYTES / BLK;

	for (unsigned k = 0; k < NPLUG; k++) {
		/* Even requests map a new slot: KILL_AT_MAP (k % 4 == 0) has one to hit. */
		struct plan p = { (enum kill_plan)(k % 4), 1 };
		uint8_t resp[10];

		if (p.how == KILL_AT_MAP && k % 3 == 0)
			p.left = 2;
		request(fc, &p, ++*seq, FC_PLUG, k * REQ_BYTES, nb, seed, resp);
		CHECK(resp[0] == FC_ACK, "PLUG %u (seq %" PRIu64 "): answer %u", k, *seq, resp[0]);
		fc_ack_blocks(fc, k * REQ_BYTES / BLK, nb, true);
		CHECK(fc_backend_allocated(fc) >= (k + 1) * REQ_BYTES,
		      "PLUG %u acknowledged but only %" PRIu64 " bytes allocated", k,
		      fc_backend_allocated(fc));
	}
}

static void unplug_phase(struct fcore *fc, uint64_t *seq, unsigned *seed)
{
	uint16_t nb = REQ_BYTES / BLK;

	for (unsigned i = 0; i < NUNPLUG; i++) {
		unsigned k = NPLUG - 1 - i;
		struct plan p = { (enum kill_plan)((i + 1) % 4), 1 };
		uint8_t resp[10];

		fc->inflight_first = k * REQ_BYTES / BLK;
		fc->inflight_n = nb;
		request(fc, &p, ++*seq, FC_UNPLUG, k * REQ_BYTES, nb, seed, resp);
		CHECK(resp[0] == FC_ACK, "UNPLUG %u (seq %" PRIu64 "): answer %u", k, *seq,
		      resp[0]);
		fc_ack_blocks(fc, k * REQ_BYTES / BLK, nb, false);
		fc->inflight_n = 0;
	}
}

static uint16_t state_of(struct fcore *fc, uint64_t *seq, uint64_t off, uint64_t len)
{
	uint8_t req[24], resp[10];

	fc_vmem_req(req, FC_STATE, GPA + off, (uint16_t)(len / BLK));
	CHECK(fc_request(fc, ++*seq, req, sizeof(req), resp) == 0, "STATE: no answer");
	CHECK(resp[0] == FC_ACK, "STATE 0x%" PRIx64 "+0x%" PRIx64 ": answer %u", off, len, resp[0]);
	return (uint16_t)(resp[8] | resp[9] << 8);
}

/* ---- the sandbox, seen from outside ---------------------------------------- */

/* The value after "@key:" in /proc/@pid/status, or "" when there is none. */
static const char *status_field(pid_t pid, const char *key, char *buf, size_t size)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	buf[0] = '\0';
	f = fopen(path, "re");
	CHECK(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			const char *v = line + klen + 1;

			v += strspn(v, " \t");
			snprintf(buf, size, "%.*s", (int)strcspn(v, "\n"), v);
			break;
		}
	}
	fclose(f);
	return buf;
}

static void ns_link(pid_t pid, const char *ns, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
	n = readlink(path, buf, size - 1);
	CHECK(n > 0, "readlink %s: %s", path, strerror(errno));
	buf[n] = '\0';
}

static const struct status_want {
	const char *key, *value;
} status_wants[] = {
	{ "Seccomp", "2" },
	{ "NoNewPrivs", "1" },
	{ "CapEff", "0000000000000000" },
	{ "CapPrm", "0000000000000000" },
	{ "CapBnd", "0000000000000000" },
};

/* The serving device process is sandboxed as docs/security.md says. */
static void check_sandboxed(const struct fcore *fc)
{
	static const char *const nss[] = { "user", "mnt", "pid", "net", "ipc", "uts" };
	pid_t dev = fc_device_pid(fc);
	char got[128], mine[128];

	CHECK(dev > 0, "the reaper %d has no child: no device process to look at", (int)fc->pid);
	for (size_t i = 0; i < sizeof(status_wants) / sizeof(status_wants[0]); i++) {
		const struct status_want *w = &status_wants[i];

		CHECK(!strcmp(status_field(dev, w->key, got, sizeof(got)), w->value),
		      "device process %d: %s is '%s', not '%s'", (int)dev, w->key, got, w->value);
	}
	for (size_t i = 0; i < sizeof(nss) / sizeof(nss[0]); i++) {
		ns_link(dev, nss[i], got, sizeof(got));
		ns_link(getpid(), nss[i], mine, sizeof(mine));
		CHECK(strcmp(got, mine), "device process %d shares the test's %s namespace (%s)",
		      (int)dev, nss[i], got);
	}
	printf("device process %d (reaper %d): Seccomp 2, NoNewPrivs 1, no capability, "
	       "own user/mnt/pid/net/ipc/uts namespaces\n",
	       (int)dev, (int)fc->pid);
}

/* 0 when this host lets the test make a user namespace (the sandbox's first step), else errno. */
static int userns_errno(void)
{
	int status;
	pid_t pid = fork();

	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER) == 0 ? 0 : errno & 0xff);
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : EIO;
}

/* ---- device control -------------------------------------------------------- */

static struct ipc_chan *ctl_open(struct fcore *fc)
{
	struct ipc_chan_opts o = { .planes = PROTO_PLANE_DEVCTL };
	struct ipc_chan *c;
	struct ipc_err err;
	char name[80];

	snprintf(name, sizeof(name), "devctl-%s", fc->id);
	CHECK(ipc_chan_connect(&c, IPC_ROLE_REQ, fc->rundir, name, &o, &err) == 0, "%s", err.text);
	return c;
}

/* __prop_set() returns the raw result; prop_set() asserts it succeeded. */
static int __prop_set(struct ipc_chan *c, const char *name, const char *value, struct ipc_err *err)
{
	Splitvm__DevicePropSet ps = SPLITVM__DEVICE_PROP_SET__INIT;
	struct ipc_msg *reply = NULL;
	int ret;

	ps.name = (char *)(uintptr_t)name;
	ps.value = (char *)(uintptr_t)value;
	ret = ipc_call(c, NULL, &ps.base, 5000, &reply, err);
	if (ret == 0)
		CHECK(reply->type->type == SPLITVM__MSG_TYPE__MSG_OK_REPLY, "%s",
		      reply->type->name);
	ipc_msg_free(reply);
	return ret;
}

static void prop_set(struct ipc_chan *c, const char *name, const char *value)
{
	struct ipc_err err;

	CHECK(__prop_set(c, name, value, &err) == 0, "%s=%s: %s", name, value, err.text);
}

static void status(struct ipc_chan *c, Splitvm__DeviceStatus *out)
{
	Splitvm__DeviceStatusQuery q = SPLITVM__DEVICE_STATUS_QUERY__INIT;
	struct ipc_msg *reply;
	struct ipc_err err;

	CHECK(ipc_call(c, NULL, &q.base, 5000, &reply, &err) == 0, "status: %s", err.text);
	CHECK(reply->type->type == SPLITVM__MSG_TYPE__MSG_DEVICE_STATUS, "%s", reply->type->name);
	*out = *(Splitvm__DeviceStatus *)reply->body;
	out->id = out->model = NULL;
	ipc_msg_free(reply);
}

/* The config copy after a requested-size change: notify, and the new size. */
static void expect_config_change(struct fcore *fc, uint64_t requested)
{
	unsigned before = fc->config_updates;

	for (int i = 0; i < 50 && fc->config_updates == before; i++)
		fc_serve(fc, 20);
	CHECK(fc->config_updates > before, "no DeviceConfigUpdate after DevicePropSet");
	CHECK(fc->last_notify, "the config update does not raise a config-change interrupt");
	CHECK(fc_config_u64(fc, 48) == requested, "requested_size 0x%" PRIx64 " in the config",
	      fc_config_u64(fc, 48));
}

static const struct bad_prop {
	const char *name, *value;
	Splitvm__ErrorCode code;
	const char *rule;
} bad_props[] = {
	{ "requested-size", "3M", SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT,
	  "multiple of block-size" },
	{ "requested-size", "2G", SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT,
	  "cannot exceed the memory backend size" },
	{ "requested-size", "12 apples", SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT,
	  "requested-size: " },
	{ "requested-size", "-1", SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "requested-size: " },
	{ "block-size", "4M", SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "cannot be changed" },
	{ "colour", "red", SPLITVM__ERROR_CODE__ERR_NOT_FOUND, "no such property" },
};

static void bad_prop_table(struct fcore *fc, struct ipc_chan *c)
{
	for (size_t i = 0; i < sizeof(bad_props) / sizeof(bad_props[0]); i++) {
		const struct bad_prop *b = &bad_props[i];
		unsigned updates = fc->config_updates;
		struct ipc_err err;

		CHECK(__prop_set(c, b->name, b->value, &err) == -IPC_ERR_PEER,
		      "%s=%s was not refused", b->name, b->value);
		CHECK(err.peer_code == (int)b->code, "%s=%s: code %d", b->name, b->value,
		      err.peer_code);
		CHECK(!strcmp(err.field, b->name), "%s=%s: field '%s'", b->name, b->value,
		      err.field);
		CHECK(strstr(err.text, b->rule), "%s=%s: '%s' does not say '%s'", b->name, b->value,
		      err.text, b->rule);
		fc_serve(fc, 10);
		CHECK(fc->config_updates == updates, "%s=%s changed the config", b->name, b->value);
		printf("refused %s=%s: %s\n", b->name, b->value, err.text);
	}
}

/*
 * The core goes away (its PAIR closed): the device process's redial is
 * refused, it sees the hang-up and ends by itself with exit 0, never by
 * SIGSYS (the pid held is the reaper, which ends as its child does).
 */
static void core_goes_away(struct fcore *fc)
{
	struct timespec step = { 0, 10 * 1000 * 1000 };
	pid_t dev = fc_device_pid(fc);
	int status = 0;

	ipc_chan_destroy(fc->pair);
	fc->pair = NULL;
	for (int i = 0;; i++) {
		pid_t r = waitpid(fc->pid, &status, WNOHANG);

		CHECK(r >= 0, "waitpid: %s", strerror(errno));
		if (r == fc->pid)
			break;
		CHECK(i < 500, "the device process still runs 5 s after the core went away");
		nanosleep(&step, NULL);
	}
	fc->pid = -1;
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "after the core went away the device process ended with status 0x%x (signal %d)",
	      status, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	fc_wait_gone(dev);
	printf("core went away: the device process exited 0\n");
}

int main(int argc, char **argv)
{
	struct fcore fc = {
		.id = "vm0",
		.config = "virtio-mem,id=vm0,memdev=mem0,requested-size=768M,block-size=2M,"
		          "prealloc=on",
		.region_size = REGION,
		.gpa = GPA,
	};
	Splitvm__DeviceStatus st;
	struct ipc_chan *ctl;
	uint64_t seq = 0;
	unsigned seed = (unsigned)time(NULL);

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s SPLITVM-DEVPROC [SANDBOX-MODE]\n", argv[0]);
		return 2;
	}
	fc.devproc = argv[1];
	fc.sandbox = argc == 3 ? argv[2] : "enforce";
	if (strcmp(fc.sandbox, "off") && userns_errno()) {
		printf("SKIP: --sandbox=%s needs a user namespace, and this host refuses one: %s\n",
		       fc.sandbox, strerror(userns_errno()));
		return 77;
	}
	printf("seed %u, sandbox %s\n", seed, fc.sandbox);
	fc_init(&fc);
	fc_spawn(&fc);

	plug_phase(&fc, &seq, &seed);
	printf("plugged 768 MiB through %u kills, %u slot-map calls\n", fc.kills, fc.slot_calls);
	if (strcmp(fc.sandbox, "off"))
		check_sandboxed(&fc);

	ctl = ctl_open(&fc);
	prop_set(ctl, "requested-size", "512M");
	expect_config_change(&fc, 512 * MiB);
	unplug_phase(&fc, &seq, &seed);
	printf("unplugged to 512 MiB, %u kills in all\n", fc.kills);
	CHECK(fc.kills >= 10, "only %u kills", fc.kills);

	/* Exactly the acknowledged blocks, seen from every side. */
	CHECK(state_of(&fc, &seq, 0, 512 * MiB) == 0, "[0, 512M) is not all plugged");
	CHECK(state_of(&fc, &seq, 512 * MiB, 256 * MiB) == 1, "[512M, 768M) is not all unplugged");
	CHECK(state_of(&fc, &seq, 448 * MiB, 128 * MiB) == 2, "[448M, 576M) is not mixed");
	fc_serve(&fc, 20);
	CHECK(fc_config_u64(&fc, 40) == 512 * MiB, "plugged_size 0x%" PRIx64 " in the config",
	      fc_config_u64(&fc, 40));
	for (unsigned s = 0; s < REGION / FC_SLOT_SIZE; s++)
		CHECK(fc.mapped[s] == (s < 4), "slot %u is %s", s,
		      fc.mapped[s] ? "mapped" : "not mapped");
	CHECK(fc_backend_allocated(&fc) == 512 * MiB,
	      "the backend holds %" PRIu64 " bytes, not the 512 MiB plugged",
	      fc_backend_allocated(&fc));
	status(ctl, &st);
	CHECK(st.plugged_size == 512 * MiB && st.requested_size == 512 * MiB && st.addr == GPA &&
	              st.block_size == BLK,
	      "status: plugged 0x%" PRIx64 " requested 0x%" PRIx64 " addr 0x%" PRIx64,
	      st.plugged_size, st.requested_size, st.addr);

	bad_prop_table(&fc, ctl);
	prop_set(ctl, "requested-size", "1G");
	expect_config_change(&fc, 1024 * MiB);

	printf("devproc RSS %lu KiB\n", fc_rss_kib(&fc));
	printf("ok: %" PRIu64 " requests, %u kills, no ERROR, 512 MiB plugged and allocated\n", seq,
	       fc.kills);
	ipc_chan_destroy(ctl);
	core_goes_away(&fc);
	fc_fini(&fc);
	return 0;
}
