// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nvdimm_replay: Linux's recorded nvdimm label _DSM calls, replayed against
 * a real, sandboxed splitvm-devproc --model=nvdimm through the device plane,
 * with this program as the core; every answer must equal QEMU's.
 *
 * usage: nvdimm_replay SPLITVM-DEVPROC LOG|DIR...   (a DIR: every *.log in it)
 *
 * The log is what tests/linux/record-nvdimm.sh writes: QEMU's own trace
 * (-trace 'acpi_nvdimm_*' -trace handle_qmp_command -trace
 * monitor_qmp_respond -D LOG, with or without -msg timestamp=on) of one or
 * more boots on the same backend file, each behind a "# boot N" line, and
 * "# file:" / "# label" lines with QEMU's file afterwards.  Read whole
 * first, then replayed:
 *   - each boot is one device process on the same backend file (the one
 *     before it killed, as a stopped VM's is): what a boot wrote, the next
 *     one reads back;
 *   - the query-memory-devices reply's nvdimm entry (slot, PMEM size) and
 *     the qom-get label-size reply give the device: a backend of PMEM size
 *     + label size (QEMU's label area is the backend's last label-size
 *     bytes), config label-size=; its DeviceAttach must declare QEMU's PMEM
 *     size as the region; a later reply's size must equal the process's
 *     DeviceStatus (addr, slot and node are the core's and the
 *     supervisor's, not the device process's);
 *   - acpi_nvdimm_dsm_info (revision, handle, function) is one call; those
 *     on the root handles (0, QEMU's 0x10000: the FIT) are the core's and
 *     are skipped; the DIMM's (slot + 1, QEMU's nvdimm_slot_to_handle) are
 *     sent as the 4 KiB page Linux's call leaves (le32 handle, revision,
 *     function, then arg3: le32 offset, le32 length and, for a write, the
 *     data) in an NvdimmDsm, and the NvdimmDsmReply must be QEMU's answer,
 *     which the events after dsm_info say (hw/acpi/nvdimm.c):
 *       acpi_nvdimm_invalid_revision: {len 8, status 1 (not supported)};
 *       function 0: {len 8, 0x71} with a label area, {8, 0} without;
 *       function 4 with acpi_nvdimm_label_info: {len 16, status 0, label
 *         size, max transfer} as traced; without: {8, 1};
 *       function 5/6 (acpi_nvdimm_read_label/write_label offset, length)
 *         followed by acpi_nvdimm_label_overflow/_oversize/_xfer_exceed:
 *         {8, 3 (invalid input)}; else a read is {8 + length, 0, the
 *         bytes}, a write {8, 0};
 *       any other function: {8, 1}.
 *   - the bytes: QEMU's trace has offsets and lengths, no data.  A write
 *     carries QEMU's final bytes ("# label" rows: the label area's non-zero
 *     32-byte rows after the last boot) where no later write covers them,
 *     a pattern of its own elsewhere; every read must return what the
 *     writes before it put there (zeroes where none did), also across the
 *     device process restarts.  At the end the backend's last label-size
 *     bytes, read here from the file, must equal QEMU's file's;
 *   - each process's label-reads, label-writes and dsm-calls counts must
 *     equal the calls QEMU served for that boot.
 * Exit 0 when everything matched, 1 at the first difference (printed with
 * the recording's file and line).  Needs no /dev/kvm: there is no guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "replay_common.h"
#include "replay_devproc.h"

#define NR_ID           "nvdimm0"
#define NR_MEMDEV       "nv0"
#define NR_PAGE         4096u
#define NR_ARG3         12u /* after le32 handle, revision, function */
#define NR_ROOT_HANDLE  0u
#define NR_QEMU_ROOT    0x10000u /* QEMU's reserved root handle: Read FIT */
#define NR_ROW          32u
#define NR_MAX_XFER     (NR_PAGE - NR_ARG3 - 8u) /* what a write's page holds */
#define NR_WAIT_MS      20000
#define NR_LABEL_FUNCS  0x71u /* function 0's answer: bits 0, 4, 5, 6 */
#define NR_ST_OK        0u
#define NR_ST_UNSUPPORT 1u
#define NR_ST_INVALID   3u

enum nr_kind { NR_BOOT, NR_GEOMETRY, NR_LABEL_SIZE, NR_CALL };

struct nr_event {
	enum nr_kind kind;
	unsigned line;
	unsigned boot; /* NR_BOOT: its number */
	uint64_t size; /* NR_GEOMETRY: PMEM size; NR_LABEL_SIZE: label size */
	int64_t slot;  /* NR_GEOMETRY */
	uint32_t revision, handle, function;
	bool bad_revision; /* acpi_nvdimm_invalid_revision */
	bool info;         /* acpi_nvdimm_label_info */
	uint32_t info_size, info_xfer;
	bool rw; /* acpi_nvdimm_read_label / write_label */
	uint32_t offset, length;
	const char *refused; /* the refusal's trace event, or NULL */
	uint8_t *data;       /* a served write's bytes (pass 2) */
};

struct replay {
	const char *file;
	unsigned line;
	struct nr_event *ev;
	size_t nev, cap;
	/* From the "# file:" and "# label" lines. */
	bool have_file;
	uint64_t file_size, file_index_at, file_label_size, file_label_at;
	uint8_t (*rows)[NR_ROW + 4]; /* 4 bytes offset, 32 bytes */
	size_t nrows;
	/* The run. */
	struct vm v;
	struct ipc_chan *pair;
	char path[4200]; /* the backend file */
	bool attached, file_made;
	bool have_geometry, have_label_size;
	uint64_t pmem_size, label_size;
	int64_t slot;
	uint8_t *shadow; /* the label area as QEMU's would be */
	uint8_t *final;  /* QEMU's label area after the last boot */
	uint64_t seq;
	unsigned boots, calls, skipped, reads, writes, refused, queries, checks;
	uint64_t p_calls, p_reads, p_writes, p_refused; /* this process's, as QEMU served them */
};

/* A difference, reported with the recording's file and @line. */
#define fail_at(r, line, ...) replay_fail("nvdimm_replay", (r)->file, line, __VA_ARGS__)

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* ---- pass 1: the recording, read ------------------------------------------ */

static struct nr_event *add_event(struct replay *r, enum nr_kind kind)
{
	if (r->nev == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 256;
		struct nr_event *grown = realloc(r->ev, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		r->ev = grown;
		r->cap = cap;
	}
	r->ev[r->nev] = (struct nr_event){ .kind = kind, .line = r->line };
	return &r->ev[r->nev++];
}

/* The call the event on this line belongs to: the last one, in this boot. */
static struct nr_event *last_call(struct replay *r, const char *what)
{
	struct nr_event *e = r->nev ? &r->ev[r->nev - 1] : NULL;

	if (!e || e->kind != NR_CALL) {
		fail_at(r, r->line, "%s without an acpi_nvdimm_dsm_info before it", what);
		return NULL;
	}
	return e;
}

static int parse_header(struct replay *r, const char *s)
{
	uint64_t v;

	if (!strncmp(s, "# boot ", 7)) {
		struct nr_event *e = add_event(r, NR_BOOT);

		if (!e || !replay_num_after(s, "# boot ", &v))
			return fail_at(r, r->line, "a '# boot' line without its number");
		e->boot = (unsigned)v;
		return 0;
	}
	if (!strncmp(s, "# file: ", 8)) {
		if (!replay_num_after(s, "# file: ", &r->file_size) ||
		    !replay_num_after(s, "NAMESPACE_INDEX at ", &r->file_index_at) ||
		    !replay_num_after(s, "label area ", &r->file_label_size) ||
		    !replay_num_after(s, " bytes at ", &r->file_label_at))
			return fail_at(r, r->line,
			               "a '# file:' line not as record-nvdimm.sh writes it");
		r->have_file = true;
		return 0;
	}
	if (!strncmp(s, "# label 0x", 10)) {
		const char *hex = strchr(s + 10, ' ');
		uint8_t(*grown)[NR_ROW + 4];

		if (!replay_num_after(s, "# label ", &v) || v > UINT32_MAX || v % NR_ROW || !hex)
			return fail_at(r, r->line, "a '# label' row without an aligned offset");
		grown = realloc(r->rows, (r->nrows + 1) * sizeof(*grown));
		if (!grown)
			return fail_at(r, r->line, "out of memory");
		r->rows = grown;
		put32(r->rows[r->nrows], (uint32_t)v);
		hex++;
		for (unsigned i = 0; i < NR_ROW; i++) {
			int hi = hexval(hex[2 * i]), lo = hi < 0 ? -1 : hexval(hex[2 * i + 1]);

			if (lo < 0)
				return fail_at(r, r->line, "a '# label' row of fewer than %u bytes",
				               NR_ROW);
			r->rows[r->nrows][4 + i] = (uint8_t)(hi << 4 | lo);
		}
		r->nrows++;
	}
	return 0;
}

static int parse_line(struct replay *r, const char *s, bool *want_label_size)
{
	const char *ev = replay_event_of(s);
	struct nr_event *e;

	if (s[0] == '#')
		return parse_header(r, s);
	if (replay_is_event(ev, "handle_qmp_command")) {
		if (strstr(ev, "\"qom-get\"") && strstr(ev, "\"label-size\""))
			*want_label_size = true;
		return 0;
	}
	if (replay_is_event(ev, "monitor_qmp_respond")) {
		const char *p = strstr(ev, "\"type\": \"nvdimm\"");
		uint64_t v;

		if (p) {
			if (strstr(p + 1, "\"type\": \"nvdimm\""))
				return fail_at(r, r->line, "more than one nvdimm: not replayed");
			e = add_event(r, NR_GEOMETRY);
			if (!e || !replay_num_after(p, "\"size\": ", &e->size) ||
			    !replay_num_after(p, "\"slot\": ", &v))
				return fail_at(r, r->line, "an nvdimm entry without size and slot");
			e->slot = (int64_t)v;
		} else if (*want_label_size && replay_num_after(ev, "\"return\": ", &v)) {
			*want_label_size = false;
			e = add_event(r, NR_LABEL_SIZE);
			if (!e)
				return fail_at(r, r->line, "out of memory");
			e->size = v;
		}
		return 0;
	}
	if (replay_is_event(ev, "acpi_nvdimm_dsm_info")) {
		e = add_event(r, NR_CALL);
		if (!e || !replay_u32_after(ev, "Revision ", &e->revision) ||
		    !replay_u32_after(ev, "Handle ", &e->handle) ||
		    !replay_u32_after(ev, "Function ", &e->function))
			return fail_at(r, r->line, "dsm_info without Revision, Handle, Function");
		return 0;
	}
	if (replay_is_event(ev, "acpi_nvdimm_invalid_revision")) {
		e = last_call(r, "invalid_revision");
		if (!e)
			return -1;
		e->bad_revision = true;
		return 0;
	}
	if (replay_is_event(ev, "acpi_nvdimm_label_info")) {
		e = last_call(r, "label_info");
		if (!e)
			return -1;
		if (!replay_u32_after(ev, "label_size ", &e->info_size) ||
		    !replay_u32_after(ev, "max_xfer ", &e->info_xfer))
			return fail_at(r, r->line, "label_info without label_size, max_xfer");
		e->info = true;
		return 0;
	}
	if (replay_is_event(ev, "acpi_nvdimm_read_label") ||
	    replay_is_event(ev, "acpi_nvdimm_write_label")) {
		uint32_t fn = replay_is_event(ev, "acpi_nvdimm_read_label") ? 5 : 6;

		e = last_call(r, "a label transfer");
		if (!e)
			return -1;
		if (e->function != fn)
			return fail_at(r, r->line, "a function %u transfer traced for function %u",
			               fn, e->function);
		if (!replay_u32_after(ev, "offset ", &e->offset) ||
		    !replay_u32_after(ev, "length ", &e->length))
			return fail_at(r, r->line, "a label transfer without offset, length");
		e->rw = true;
		return 0;
	}
	if (replay_is_event(ev, "acpi_nvdimm_label_overflow") ||
	    replay_is_event(ev, "acpi_nvdimm_label_oversize") ||
	    replay_is_event(ev, "acpi_nvdimm_label_xfer_exceed")) {
		e = last_call(r, "a label refusal");
		if (!e)
			return -1;
		if (!e->rw)
			return fail_at(r, r->line, "a label refusal without its transfer");
		e->refused = strstr(ev, "overflow")   ? "overflow"
		             : strstr(ev, "oversize") ? "oversize"
		                                      : "xfer_exceed";
		return 0;
	}
	return 0;
}

/* ---- pass 2: the bytes each write carries --------------------------------- */

static bool is_dimm_call(const struct replay *r, const struct nr_event *e)
{
	return e->kind == NR_CALL && r->have_geometry && e->handle == (uint64_t)r->slot + 1;
}

static bool served_write(const struct replay *r, const struct nr_event *e)
{
	return is_dimm_call(r, e) && !e->bad_revision && e->function == 6 && e->rw && !e->refused &&
	       e->revision == 1;
}

static int prepare(struct replay *r)
{
	uint32_t *last;
	size_t nwrites = 0;

	/* The geometry and label size of the first boot: every boot has the same file. */
	for (size_t i = 0; i < r->nev; i++) {
		if (r->ev[i].kind == NR_GEOMETRY && !r->have_geometry) {
			r->pmem_size = r->ev[i].size;
			r->slot = r->ev[i].slot;
			r->have_geometry = true;
		} else if (r->ev[i].kind == NR_LABEL_SIZE && !r->have_label_size) {
			r->label_size = r->ev[i].size;
			r->have_label_size = true;
		}
	}
	if (!r->have_geometry || !r->have_label_size)
		return fail_at(r, r->line,
		               "no nvdimm in a query-memory-devices reply or no qom-get label-size "
		               "reply: not a recording of record-nvdimm.sh");
	if (!r->label_size || r->label_size > (1u << 30))
		return fail_at(r, r->line, "label-size %" PRIu64 ": not replayed", r->label_size);
	r->shadow = calloc(1, r->label_size);
	r->final = calloc(1, r->label_size);
	last = calloc(r->label_size, sizeof(*last));
	if (!r->shadow || !r->final || !last) {
		free(last);
		return fail_at(r, r->line, "out of memory");
	}
	for (size_t i = 0; i < r->nrows; i++) {
		uint32_t off = le32(r->rows[i]);

		if (off + NR_ROW > r->label_size) {
			free(last);
			return fail_at(r, r->line, "a '# label' row at 0x%x, past the label area",
			               off);
		}
		memcpy(r->final + off, r->rows[i] + 4, NR_ROW);
	}
	/* Which write wrote each byte last (1-based; 0: none). */
	for (size_t i = 0; i < r->nev; i++) {
		const struct nr_event *e = &r->ev[i];

		if (!served_write(r, e))
			continue;
		if ((uint64_t)e->offset + e->length > r->label_size || e->length > NR_MAX_XFER) {
			free(last);
			return fail_at(r, e->line,
			               "QEMU served a 0x%x-byte write at 0x%x of a 0x%" PRIx64
			               "-byte label area: no refusal traced",
			               e->length, e->offset, r->label_size);
		}
		nwrites++;
		for (uint64_t b = e->offset; b < (uint64_t)e->offset + e->length; b++)
			last[b] = (uint32_t)nwrites;
	}
	nwrites = 0;
	for (size_t i = 0; i < r->nev; i++) {
		struct nr_event *e = &r->ev[i];

		if (!served_write(r, e))
			continue;
		nwrites++;
		e->data = malloc(e->length ? e->length : 1);
		if (!e->data) {
			free(last);
			return fail_at(r, e->line, "out of memory");
		}
		for (uint32_t k = 0; k < e->length; k++) {
			uint64_t b = (uint64_t)e->offset + k;

			/* A byte overwritten later: one QEMU's file cannot show, made up. */
			e->data[k] = last[b] == nwrites
			                     ? r->final[b]
			                     : (uint8_t)(0x5a ^ (nwrites * 37) ^ (b * 13));
		}
	}
	free(last);
	return 0;
}

/* ---- the device plane, as a core ------------------------------------------ */

static int attach(struct replay *r, const char *devproc, unsigned line)
{
	Splitvm__DeviceAttached ad = SPLITVM__DEVICE_ATTACHED__INIT;
	Splitvm__DeviceAttach *at;
	struct ipc_msg *msg;
	struct ipc_err err;
	char config[160], why[256];
	int fd;

	/* The same file for every boot: made (zeroes, as QEMU's was) once. */
	if (!r->file_made)
		snprintf(r->path, sizeof(r->path), "%s/splitvm-nvrep-%d.img",
		         getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp", (int)getpid());
	fd = open(r->path, O_RDWR | O_CREAT | O_CLOEXEC | (r->file_made ? 0 : O_TRUNC), 0600);
	if (fd < 0 || (!r->file_made && ftruncate(fd, (off_t)(r->pmem_size + r->label_size)) < 0))
		return fail_at(r, line, "%s: %s", r->path, strerror(errno));
	r->file_made = true;
	snprintf(config, sizeof(config),
	         "nvdimm,id=" NR_ID ",memdev=" NR_MEMDEV ",label-size=%" PRIu64, r->label_size);
	if (replay_dev_start(&r->v, &r->pair, devproc, "splitvm-nvrep", "nvdimm", NR_ID, config, fd,
	                     NR_WAIT_MS, &msg, why, sizeof(why)) < 0)
		return fail_at(r, line, "%s", why);
	at = (Splitvm__DeviceAttach *)msg->body;
	if (at->virtio_id || at->n_queues || at->region_size != r->pmem_size ||
	    at->config_follows) {
		fail_at(r, line,
		        "DeviceAttach: virtio id %u, %zu queues, region 0x%" PRIx64
		        ", config_follows %d; want 0, 0, QEMU's PMEM size 0x%" PRIx64 ", 0",
		        at->virtio_id, at->n_queues, at->region_size, at->config_follows,
		        r->pmem_size);
		ipc_msg_free(msg);
		return -1;
	}
	r->checks++;
	ad.region_gpa = 0; /* the core's business: the model keeps none */
	if (ipc_reply(r->pair, msg, &ad.base, &err) < 0) {
		ipc_msg_free(msg);
		return fail_at(r, line, "DeviceAttached: %s", err.text);
	}
	ipc_msg_free(msg);
	r->attached = true;
	r->p_calls = r->p_reads = r->p_writes = r->p_refused = 0;
	return 0;
}

/* The process's own counts against the calls QEMU served since it started. */
static int counts_check(struct replay *r, unsigned line)
{
	uint64_t calls = replay_dev_prop_u64(&r->v, "dsm-calls"),
	         reads = replay_dev_prop_u64(&r->v, "label-reads"),
	         writes = replay_dev_prop_u64(&r->v, "label-writes"),
	         refused = replay_dev_prop_u64(&r->v, "label-refused");

	if (calls != r->p_calls || reads != r->p_reads || writes != r->p_writes ||
	    refused != r->p_refused)
		return fail_at(r, line,
		               "boot %u: QEMU served %" PRIu64 " calls, %" PRIu64 " reads, %" PRIu64
		               " writes, refused %" PRIu64 "; the device process counted %" PRIu64
		               ", %" PRIu64 ", %" PRIu64 ", %" PRIu64,
		               r->boots, r->p_calls, r->p_reads, r->p_writes, r->p_refused, calls,
		               reads, writes, refused);
	r->checks++;
	return 0;
}

/* The VM stops: the device process dies (kill -9: a pwrite is in the file already). */
static void detach(struct replay *r)
{
	if (r->v.dev_pid > 0)
		dev_kill(&r->v);
	ipc_chan_destroy(r->pair);
	r->pair = NULL;
	if (r->v.dir[0])
		vm_cleanup(&r->v);
	r->v.dir[0] = '\0';
	r->attached = false;
}

static int geometry_check(struct replay *r, const struct nr_event *e)
{
	Splitvm__DeviceStatus *st;
	struct ipc_msg *msg;
	uint64_t size;

	if (e->size != r->pmem_size || e->slot != r->slot)
		return fail_at(r, e->line,
		               "query-memory-devices: QEMU size 0x%" PRIx64 " slot %" PRId64
		               ", the first boot's 0x%" PRIx64 " %" PRId64 ": one file, one layout",
		               e->size, e->slot, r->pmem_size, r->slot);
	if (!r->attached)
		return 0;
	st = dev_status(&r->v, &msg);
	size = st->size;
	ipc_msg_free(msg);
	if (size != e->size)
		return fail_at(r, e->line,
		               "query-memory-devices: QEMU size 0x%" PRIx64 ", splitvm 0x%" PRIx64,
		               e->size, size);
	r->queries++;
	r->checks++;
	return 0;
}

/* QEMU's answer to @e, as its trace says, into @want (NvdimmDsmOut); its length. */
static size_t qemu_answer(struct replay *r, const struct nr_event *e, uint8_t *want)
{
	uint32_t status = NR_ST_UNSUPPORT;

	if (e->bad_revision)
		goto status_only;
	switch (e->function) {
	case 0:
		put32(want, 8);
		put32(want + 4, r->label_size ? NR_LABEL_FUNCS : 0);
		return 8;
	case 4:
		if (!e->info)
			break;
		put32(want, 16);
		put32(want + 4, NR_ST_OK);
		put32(want + 8, e->info_size);
		put32(want + 12, e->info_xfer);
		return 16;
	case 5:
		if (e->refused) {
			status = NR_ST_INVALID;
			break;
		}
		put32(want, 8 + e->length);
		put32(want + 4, NR_ST_OK);
		memcpy(want + 8, r->shadow + e->offset, e->length);
		return 8 + (size_t)e->length;
	case 6:
		status = e->refused ? NR_ST_INVALID : NR_ST_OK;
		break;
	default:
		break;
	}
status_only:
	put32(want, 8);
	put32(want + 4, status);
	return 8;
}

static int call(struct replay *r, const struct nr_event *e)
{
	Splitvm__NvdimmDsm rq = SPLITVM__NVDIMM_DSM__INIT;
	struct ipc_hdr hdr = { .device = NR_ID, .epoch = r->v.epoch };
	static uint8_t page[NR_PAGE], want[NR_PAGE];
	Splitvm__NvdimmDsmReply *rs;
	const uint8_t *got;
	struct ipc_msg *msg;
	struct ipc_err err;
	size_t want_len, got_len;
	int ret = 0;

	/* The trace against itself: what QEMU's code can have done. */
	if (e->bad_revision != (e->revision != 1))
		return fail_at(r, e->line, "revision %u %s acpi_nvdimm_invalid_revision",
		               e->revision, e->bad_revision ? "with" : "without");
	if (!e->bad_revision && (e->function == 5 || e->function == 6) && r->label_size && !e->rw)
		return fail_at(r, e->line, "function %u without its read_label/write_label trace",
		               e->function);
	if (e->rw && !e->refused &&
	    ((uint64_t)e->offset + e->length > r->label_size || e->length > NR_MAX_XFER))
		return fail_at(r, e->line,
		               "QEMU served 0x%x bytes at 0x%x of a 0x%" PRIx64
		               "-byte label area: no refusal traced",
		               e->length, e->offset, r->label_size);

	memset(page, 0, sizeof(page));
	put32(page, e->handle);
	put32(page + 4, e->revision);
	put32(page + 8, e->function);
	if (e->rw) {
		put32(page + NR_ARG3, e->offset);
		put32(page + NR_ARG3 + 4, e->length);
		if (e->data)
			memcpy(page + NR_ARG3 + 8, e->data, e->length);
	}
	want_len = qemu_answer(r, e, want);

	hdr.seq = ++r->seq;
	rq.page.data = page;
	rq.page.len = sizeof(page);
	if (ipc_send(r->pair, &hdr, &rq.base, &err) < 0)
		return fail_at(r, e->line, "NvdimmDsm: %s", err.text);
	if (ipc_recv(r->pair, NR_WAIT_MS, &msg, &err) < 0)
		return fail_at(r, e->line, "no answer from splitvm-devproc in %d ms: %s",
		               NR_WAIT_MS, err.text);
	if (msg->type->type != SPLITVM__MSG_TYPE__MSG_NVDIMM_DSM_REPLY || msg->seq != hdr.seq) {
		ret = fail_at(r, e->line, "%s seq %" PRIu64 " where the answer to seq %" PRIu64,
		              msg->type->name, msg->seq, hdr.seq);
		goto out;
	}
	rs = (Splitvm__NvdimmDsmReply *)msg->body;
	got = rs->out.data;
	got_len = rs->out.len;
	if (got_len < 8 || le32(got) != got_len) {
		ret = fail_at(r, e->line,
		              "call %u (function %u): an answer of %zu bytes whose length field "
		              "says %u",
		              r->calls + 1, e->function, got_len, got_len >= 4 ? le32(got) : 0);
		goto out;
	}
	if (got_len != want_len || le32(got + 4) != le32(want + 4)) {
		ret = fail_at(r, e->line,
		              "call %u (revision %u, function %u): QEMU answered length %zu, "
		              "status/value 0x%x; splitvm length %zu, status/value 0x%x",
		              r->calls + 1, e->revision, e->function, want_len, le32(want + 4),
		              got_len, le32(got + 4));
		goto out;
	}
	if (memcmp(got, want, want_len)) {
		size_t i = 8;

		while (i < want_len && got[i] == want[i])
			i++;
		if (e->function == 4)
			ret = fail_at(r, e->line,
			              "Get Label Size: QEMU label size 0x%x max xfer 0x%x; splitvm "
			              "0x%x 0x%x",
			              le32(want + 8), le32(want + 12), le32(got + 8),
			              le32(got + 12));
		else
			ret = fail_at(
			        r, e->line,
			        "Get Label Data at 0x%x: byte 0x%zx of the label area is 0x%02x, "
			        "splitvm's 0x%02x",
			        e->offset, e->offset + (i - 8), want[i], got[i]);
		goto out;
	}
	r->calls++;
	r->p_calls++;
	r->checks++;
	if (!e->bad_revision && e->rw && e->refused) {
		r->refused++;
		r->p_refused++;
	}
	if (!e->bad_revision && e->rw && !e->refused) {
		if (e->function == 5) {
			r->reads++;
			r->p_reads++;
		} else {
			memcpy(r->shadow + e->offset, e->data, e->length);
			r->writes++;
			r->p_writes++;
		}
	}
out:
	ipc_msg_free(msg);
	return ret;
}

/* The backend's label area (its last label-size bytes) against QEMU's file. */
static int file_check(struct replay *r)
{
	uint8_t *got = malloc(r->label_size);
	int fd = open(r->path, O_RDONLY | O_CLOEXEC), ret = 0;
	ssize_t n = -1;

	if (got && fd >= 0)
		n = pread(fd, got, r->label_size, (off_t)r->pmem_size);
	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)r->label_size) {
		free(got);
		return fail_at(r, r->line, "%s: cannot read the label area back", r->path);
	}
	if (r->have_file &&
	    (r->file_size != r->pmem_size + r->label_size || r->file_label_size != r->label_size ||
	     r->file_label_at != r->pmem_size || r->file_index_at != r->pmem_size)) {
		ret = fail_at(r, r->line,
		              "QEMU's file: 0x%" PRIx64 " bytes, index at 0x%" PRIx64
		              ", label area "
		              "0x%" PRIx64 " at 0x%" PRIx64 "; the replay's 0x%" PRIx64
		              " bytes, label area 0x%" PRIx64 " at 0x%" PRIx64,
		              r->file_size, r->file_index_at, r->file_label_size, r->file_label_at,
		              r->pmem_size + r->label_size, r->label_size, r->pmem_size);
	}
	for (uint64_t i = 0; !ret && i < r->label_size; i++) {
		if (got[i] != r->shadow[i])
			ret = fail_at(r, r->line,
			              "the file's label area at 0x%" PRIx64 ": 0x%02x, the writes "
			              "put 0x%02x there",
			              i, got[i], r->shadow[i]);
		else if (got[i] != r->final[i])
			ret = fail_at(r, r->line,
			              "the file's label area at 0x%" PRIx64 ": 0x%02x, QEMU's file "
			              "has 0x%02x",
			              i, got[i], r->final[i]);
	}
	if (!ret)
		r->checks++;
	free(got);
	return ret;
}

static int run(struct replay *r, const char *devproc)
{
	for (size_t i = 0; i < r->nev; i++) {
		const struct nr_event *e = &r->ev[i];
		int ret = 0;

		switch (e->kind) {
		case NR_BOOT:
			if (r->attached && (counts_check(r, e->line) < 0))
				return -1;
			if (r->attached)
				detach(r);
			r->boots++;
			break;
		case NR_GEOMETRY:
			ret = geometry_check(r, e);
			break;
		case NR_LABEL_SIZE:
			if (e->size != r->label_size)
				return fail_at(r, e->line,
				               "label-size %" PRIu64 ", the first boot's %" PRIu64,
				               e->size, r->label_size);
			if (!r->attached)
				ret = attach(r, devproc, e->line);
			break;
		case NR_CALL:
			if (!is_dimm_call(r, e)) {
				r->skipped++; /* the root's or an empty slot's: the core answers */
				break;
			}
			if (!r->attached)
				return fail_at(r, e->line,
				               "a call before the qom-get label-size reply");
			ret = call(r, e);
			break;
		}
		if (ret < 0)
			return ret;
	}
	if (!r->calls)
		return fail_at(r, r->line, "no _DSM calls to the nvdimm in the recording");
	if (r->attached && counts_check(r, r->line) < 0)
		return -1;
	return file_check(r);
}

static void replay_free(struct replay *r)
{
	for (size_t i = 0; i < r->nev; i++)
		free(r->ev[i].data);
	free(r->ev);
	free(r->rows);
	free(r->shadow);
	free(r->final);
	free(r);
}

static int replay_file(const char *devproc, const char *path)
{
	struct replay *r = calloc(1, sizeof(*r));
	bool want_label_size = false;
	char line[8192];
	int ret = 0;
	FILE *f;

	CHECK(r, "calloc");
	r->file = path;
	r->v.backend_fd = r->v.state_fd = r->v.ram_fd = r->v.core_log_fd = -1;
	f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "nvdimm_replay: %s: %s\n", path, strerror(errno));
		free(r);
		return -1;
	}
	while (!ret && fgets(line, sizeof(line), f)) {
		r->line++;
		ret = parse_line(r, line, &want_label_size);
	}
	fclose(f);
	if (!ret)
		ret = prepare(r);
	if (!ret) {
		printf("nvdimm_replay: %s: slot %" PRId64 ", PMEM 0x%" PRIx64
		       ", label area 0x%" PRIx64 "\n",
		       path, r->slot, r->pmem_size, r->label_size);
		ret = run(r, devproc);
	}
	if (!ret)
		printf("nvdimm_replay: %s: %u boots, %u calls (%u reads, %u writes, %u refused), "
		       "%u root calls skipped, %u queries, %u checks: all equal to QEMU's\n",
		       path, r->boots, r->calls, r->reads, r->writes, r->refused, r->skipped,
		       r->queries, r->checks);
	if (ret)
		replay_dev_abort("nvdimm_replay", &r->v, r->file_made ? r->path : NULL);
	detach(r);
	unlink(r->path);
	replay_free(r);
	return ret;
}

/* replay_paths()'s callback: one recording, @ctx the splitvm-devproc binary. */
static int replay_one(void *ctx, const char *path)
{
	return replay_file(ctx, path);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: nvdimm_replay SPLITVM-DEVPROC LOG|DIR...\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGPIPE, SIG_IGN);
	return replay_paths("nvdimm_replay", argv + 2, argc - 2, replay_one, argv[1]) ? 1 : 0;
}
