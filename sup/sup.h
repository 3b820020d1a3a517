/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * splitvm, the supervisor: the contract between its files.
 *
 *   main.c        the process's life: config, run dir, start the tree,
 *                 serve, tear down;
 *   proc.c        fork + exec of children, exit reasons, restart policy,
 *                 what /proc says about a child;
 *   events.c      the PUB socket `events` and the event history;
 *   ctl_server.c  the REP socket `ctl`: receive, dispatch, answer;
 *   hmp.c         the verbs (QEMU monitor names) and their output.
 *
 * Functions return 0 or -errno unless they say otherwise.  The supervisor is
 * one thread: ctl requests, child exits and restarts are handled in turn by
 * one poll loop, which is what serializes concurrent ctl clients.
 */
#ifndef SPLITVM_SUP_H
#define SPLITVM_SUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "ipc.h"

#define SUP_WUR __attribute__((warn_unused_result))

/* Deadlines of the supervisor's own requests. */
#define SUP_CALL_MS        10000 /* memsrv and core requests at start-up */
#define SUP_DEVCTL_MS      3000  /* a device process's property request */
#define SUP_STATUS_POLL_MS 200   /* how often plugged sizes are sampled */
#define SUP_HISTORY        256   /* events kept for `events` */
#define SUP_RESTART_HIST   64    /* restart times kept per device */
#define SUP_MAX_DEVS       64    /* device processes whose stderr is polled */

enum sup_dev_state {
	SUP_DEV_PASSIVE,    /* no device process (DIMM, nvdimm, virtio-pmem) */
	SUP_DEV_RUNNING,    /* its device process runs */
	SUP_DEV_RESTARTING, /* dead; a successor is due at restart_at_ms */
	SUP_DEV_FAILED,     /* restarted too often: left down */
	SUP_DEV_NO_PLANE,   /* the core serves no device plane for it */
};

struct sup_proc {
	const char *model; /* "memsrv", "core", "virtio-mem" */
	pid_t pid;         /* 0: not running */
	unsigned restarts; /* successors started so far */
	uint64_t started_ms;
};

struct sup_dev {
	const Splitvm__DeviceConfig *cfg; /* points into sup.cfg */
	const Splitvm__BackendConfig *be; /* its memdev */
	uint64_t gpa, size;
	int slot; /* DIMM/nvdimm slot; -1 otherwise */
	enum sup_dev_state state;
	struct sup_proc proc;
	uint32_t epoch;           /* of the running or last process */
	int backend_fd, state_fd; /* kept for successors */
	/*
	 * The read end of the process's stderr (a pipe): its lines go on to
	 * ours, and a seccomp violation line names the syscall for the exit.
	 */
	int stderr_fd;
	char err_line[512];
	size_t err_len;
	int violation;           /* the syscall of the last violation line; -1: none */
	char exit_syscall[40];   /* reported_exit.syscall_name points here */
	struct ipc_chan *devctl; /* REQ devctl-<id> */
	uint64_t restart_at_ms;
	uint64_t restart_hist[SUP_RESTART_HIST];
	unsigned n_hist;
	bool kill_requested; /* `restart ID`: not counted as a crash */
	bool unplugging;     /* device_del asked; no DEVICE_DELETED nor refusal yet */
	/* The last status the device process gave (virtio-mem). */
	uint64_t requested_size, plugged_size, block_size;
	bool status_known;
	uint64_t reported_size;             /* the last MEMORY_DEVICE_SIZE_CHANGE */
	unsigned stable_polls;              /* status polls with plugged_size unchanged */
	Splitvm__ProcessExit reported_exit; /* why the last process ended */
};

struct sup {
	Splitvm__VmConfig *cfg;
	unsigned config_flags;
	char run_dir[PATH_MAX];
	bool run_dir_made;
	char memsrv_bin[PATH_MAX], core_bin[PATH_MAX], devproc_bin[PATH_MAX];
	bool verbose;

	struct sup_proc memsrv, core;
	struct ipc_chan *memsrv_req, *core_req, *ctl, *events;
	struct ipc_chan *core_events;   /* SUB core-events: DIMM unplug, _OST */
	struct ipc_chan *memsrv_events; /* SUB memsrv-events: prealloc progress */
	struct ipc_fdchan *memsrv_fd, *core_fd;
	uint64_t next_core_tag;
	uint64_t devmem_base, devmem_size;

	struct sup_dev *devs;
	size_t n_devs;

	int sigfd;
	int watch_fd, watch_wd; /* inotify on run_dir during start-up (wait.c) */
	bool stopping;
	bool linger; /* a ctl reply (quit) may still be queued at teardown */
	int exit_status;

	/* Published events, oldest first, as packed Event messages. */
	struct {
		uint8_t *buf;
		size_t len;
	} history[SUP_HISTORY];
	unsigned hist_start, hist_n;
};

/* ---- exit.c: what a child's end means (no state, unit-tested) ---------- */

/* ---- proc.c -------------------------------------------------------------- */

uint64_t sup_now_ms(void);
/*
 * fork + exec @argv[0].  The child gets an empty signal mask, dies with its
 * parent (PR_SET_PDEATHSIG), and keeps exactly @keep (their CLOEXEC cleared
 * just before exec) beside stdin/stdout/stderr.
 */
int sup_spawn(pid_t *pid, char *const *argv, const int *keep, unsigned nkeep) SUP_WUR;
/* sup_spawn() with the child's stderr on @err_fd (-1: ours). */
int sup_spawn_err(pid_t *pid, char *const *argv, const int *keep, unsigned nkeep,
                  int err_fd) SUP_WUR;
/*
 * A wait status as a ProcessExit.  A seccomp death is SIGSYS; @violation is
 * the syscall the process's sandbox reported on its stderr (-1: unknown).
 */
void sup_exit_reason(int status, pid_t pid, int violation, char *name, size_t name_len,
                     Splitvm__ProcessExit *out);
/*
 * Take @len bytes of a device process's stderr: complete lines are written
 * to our stderr behind "[ID] ", a violation line is remembered in
 * d->violation.  A line longer than the buffer is passed on in pieces.
 */
void sup_dev_stderr_feed(struct sup_dev *d, const char *buf, size_t len);
/* Read what the device's stderr pipe holds now (never blocks); EOF closes it. */
void sup_dev_stderr_drain(struct sup_dev *d);
/* "exit code 3", "signal 9 (Killed)", "seccomp violation (SIGSYS)". */
const char *sup_exit_text(const Splitvm__ProcessExit *e, char *buf, size_t len);
/* Start (or start again) device @d's process; epoch + 1.  Logs failures. */
int sup_dev_spawn(struct sup *s, struct sup_dev *d) SUP_WUR;
/*
 * A device process died with @status: publish the exit, and either plan
 * its successor (backoff) or mark the device failed (cap reached).
 */
void sup_dev_exited(struct sup *s, struct sup_dev *d, int status);
/* Start the successors that are due; the ms until the next one (-1: none). */
int sup_restart_due(struct sup *s);
/*
 * One `info processes` line per process into @out (malloc'ed); with
 * @json a JSON array instead.
 */
int sup_proc_table(struct sup *s, bool json, char **out) SUP_WUR;

/* ---- wait.c: event-driven waits on children ----------------------------- */

/*
 * The run directory's watch (inotify) for the start-up: opened once the
 * directory exists, stopped once every child has bound its sockets (so
 * that closing it later is cheap), closed at teardown.
 */
int sup_watch_open(struct sup *s) SUP_WUR;
void sup_watch_stop(struct sup *s);
void sup_watch_close(struct sup *s);
/*
 * Wait until every one of @names (@n of them) exists in the run directory,
 * woken by the watch, no sleeping.  -ECHILD when @pid (> 0) ends first (it
 * is not reaped), -ETIMEDOUT after @timeout_ms, -EBADF with no watch.
 */
int sup_wait_files(struct sup *s, const char *const *names, unsigned n, pid_t pid,
                   int timeout_ms) SUP_WUR;
/* Wait until child @pid has ended, without reaping it; -ETIMEDOUT after @timeout_ms. */
int sup_wait_exit(pid_t pid, int timeout_ms) SUP_WUR;

/* BackendAcquire{@id, @user} on memsrv: the backend's fd, or -errno (logged). */
int sup_acquire(struct sup *s, const char *id, const char *user) SUP_WUR;

/* ---- events.c ------------------------------------------------------------ */

int sup_events_open(struct sup *s) SUP_WUR;
void sup_events_close(struct sup *s);
/* Stamp, publish and keep @ev (its kind set by the caller).  Never fails. */
void sup_event_publish(struct sup *s, Splitvm__Event *ev);
void sup_event_size_change(struct sup *s, const struct sup_dev *d, uint64_t size);
void sup_event_process_exited(struct sup *s, const char *who, bool device,
                              const Splitvm__ProcessExit *e);
void sup_event_restarted(struct sup *s, const struct sup_dev *d, pid_t old_pid,
                         const Splitvm__ProcessExit *e);
void sup_event_guest_shutdown(struct sup *s, const char *reason);
/*
 * memsrv's PUB socket `memsrv-events`: its prealloc progress goes on to
 * ours as PREALLOC_PROGRESS, in the order memsrv sent it.
 */
int sup_memsrv_events_open(struct sup *s) SUP_WUR;
/* Forward every event waiting on memsrv-events (never blocks). */
void sup_memsrv_events_forward(struct sup *s);
/*
 * ipc_call() on memsrv that forwards memsrv's events while it waits: a
 * BackendCreate with prealloc=on of many GiB takes tens of seconds, and
 * `events --follow` shows its progress as it goes.  @deadline_ms is the
 * longest memsrv may stay silent: each progress report starts it again
 * (ipc_call_watch), so a big prealloc finishes while a stuck memsrv still
 * times out.  Same results as ipc_call() (IPC_ERR_PEER for an ErrorReply,
 * IPC_ERR_TIMEOUT).
 */
int sup_memsrv_call(struct sup *s, const ProtobufCMessage *req, int deadline_ms,
                    struct ipc_msg **reply, struct ipc_err *err) SUP_WUR;
/* The history as length-prefixed packed Events (CtlReply.blob). */
int sup_events_history(struct sup *s, uint8_t **buf, size_t *len) SUP_WUR;

/* ---- ctl_server.c / hmp.c ------------------------------------------------ */

int sup_ctl_open(struct sup *s) SUP_WUR;
void sup_ctl_close(struct sup *s);
/* Serve every request waiting on `ctl` (never blocks). */
void sup_ctl_serve(struct sup *s);

/* What a verb answers: a reply or an error (code != ERR_NONE). */
struct hmp_result {
	Splitvm__ErrorCode code;
	char field[64];
	char text[512];
	char *out_text; /* malloc'ed; NULL: none */
	char *out_json; /* malloc'ed; NULL: none */
	uint8_t *blob;  /* malloc'ed */
	size_t blob_len;
	bool quit; /* shut the VM down once answered */
};

void hmp_dispatch(struct sup *s, const Splitvm__CtlRequest *req, struct hmp_result *res);
void hmp_result_release(struct hmp_result *res);
/* Sample every running virtio-mem device's status; publish size changes. */
void hmp_poll_status(struct sup *s);
struct sup_dev *sup_dev_find(struct sup *s, const char *id);
/*
 * Take every event waiting on core-events (never blocks): DEVICE_DELETED
 * releases the DIMM's backend and drops the device; both it and
 * ACPI_DEVICE_OST are published on `events`.
 */
void hmp_core_events(struct sup *s);
/* Connect (once) device control of @d; NULL when it has no process. */
struct ipc_chan *sup_devctl(struct sup *s, struct sup_dev *d);

#endif
