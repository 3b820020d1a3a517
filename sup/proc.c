/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The process tree: fork + exec of every child (STYLE.md: a fresh address
 * space, fds by number on argv), what their exits mean, and the restart
 * policy of device processes (config.proto RestartPolicy: at most
 * max_restarts within window_ms, with a doubling backoff, then failed).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fd.h"
#include "log.h"
#include "sup.h"

uint64_t sup_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int sup_spawn(pid_t *pid, char *const *argv, const int *keep, unsigned nkeep)
{
	return sup_spawn_err(pid, argv, keep, nkeep, -1);
}

int sup_spawn_err(pid_t *pid, char *const *argv, const int *keep, unsigned nkeep, int err_fd)
{
	pid_t parent = getpid();
	sigset_t none;
	pid_t p;

	sigemptyset(&none);
	p = fork();
	if (p < 0) {
		log_warn("fork for %s", argv[0]);
		return -errno;
	}
	if (p == 0) {
		/*
		 * Only async-signal-safe calls until exec: the parent has
		 * nanomsg threads.  The mask of signalfd() would be inherited.
		 */
		sigprocmask(SIG_SETMASK, &none, NULL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		/* dup2 leaves the new fd 2 without CLOEXEC. */
		if (err_fd >= 0 && dup2(err_fd, STDERR_FILENO) < 0)
			_exit(127);
		for (unsigned i = 0; i < nkeep; i++)
			if (fcntl(keep[i], F_SETFD, 0) < 0)
				_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	*pid = p;
	return 0;
}

/* The -device string for the device process (QEMU's names). */
static void dev_config_string(const struct sup_dev *d, char *buf, size_t len)
{
	const Splitvm__DeviceConfig *c = d->cfg;
	int n;

	if (c->model == SPLITVM__DEVICE_MODEL__MODEL_DIMM) {
		/* The core placed and serves it: the process only holds the backend. */
		snprintf(buf, len, "pc-dimm,id=%s,memdev=%s", c->id, c->memdev);
		return;
	}
	if (c->model == SPLITVM__DEVICE_MODEL__MODEL_NVDIMM) {
		/* size: the backend's, whose last label-size bytes are the labels. */
		snprintf(buf, len,
		         "nvdimm,id=%s,memdev=%s,label-size=%" PRIu64 ",unarmed=%s,size=%" PRIu64,
		         c->id, c->memdev, c->label_size, c->unarmed ? "on" : "off",
		         d->be ? d->be->size : 0);
		return;
	}
	if (c->model == SPLITVM__DEVICE_MODEL__MODEL_VIRTIO_PMEM) {
		/* The core chose the address: the process checks what it is told. */
		snprintf(buf, len, "virtio-pmem,id=%s,memdev=%s,memaddr=%" PRIu64, c->id, c->memdev,
		         d->gpa);
		return;
	}
	n = snprintf(buf, len,
	             "virtio-mem,id=%s,memdev=%s,requested-size=%" PRIu64 ",block-size=%" PRIu64,
	             c->id, c->memdev, d->status_known ? d->requested_size : c->requested_size,
	             c->block_size ? c->block_size : CONFIG_THP_SIZE);
	if (n > 0 && (size_t)n < len && c->node >= 0)
		snprintf(buf + n, len - (size_t)n, ",node=%d", c->node);
}

int sup_dev_spawn(struct sup *s, struct sup_dev *d)
{
	char epoch[16], bfd[16], sfd[16], cfgs[256], sandbox[32], model[32];
	int keep[2] = { d->backend_fd, d->state_fd };
	char *argv[20];
	int argc = 0, r, pipe_fds[2];

	snprintf(epoch, sizeof(epoch), "%u", d->epoch + 1);
	snprintf(bfd, sizeof(bfd), "%d", d->backend_fd);
	snprintf(sfd, sizeof(sfd), "%d", d->state_fd);
	snprintf(sandbox, sizeof(sandbox), "--sandbox=%s",
	         s->cfg->sandbox == SPLITVM__SANDBOX_MODE__SANDBOX_AUDIT ? "audit" : "enforce");
	dev_config_string(d, cfgs, sizeof(cfgs));
	argv[argc++] = s->devproc_bin;
	snprintf(model, sizeof(model), "--model=%s", d->proc.model);
	argv[argc++] = model;
	argv[argc++] = (char *)"--id";
	argv[argc++] = d->cfg->id;
	argv[argc++] = (char *)"--run-dir";
	argv[argc++] = s->run_dir;
	argv[argc++] = (char *)"--epoch";
	argv[argc++] = epoch;
	argv[argc++] = (char *)"--backend-fd";
	argv[argc++] = bfd;
	/* A pc-dimm process keeps no state: it has no --state-fd. */
	if (d->state_fd >= 0) {
		argv[argc++] = (char *)"--state-fd";
		argv[argc++] = sfd;
	}
	argv[argc++] = (char *)"--config";
	argv[argc++] = cfgs;
	argv[argc++] = sandbox;
	if (s->verbose)
		argv[argc++] = (char *)"--verbose";
	argv[argc] = NULL;

	/* Its stderr through us: see sup_dev_stderr_feed(). */
	sup_dev_stderr_drain(d);
	close_fd(&d->stderr_fd);
	if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
		log_warn("device %s: stderr pipe", d->cfg->id);
		return -errno;
	}
	r = sup_spawn_err(&d->proc.pid, argv, keep, d->state_fd >= 0 ? 2 : 1, pipe_fds[1]);
	close(pipe_fds[1]);
	if (r) {
		close(pipe_fds[0]);
		return r;
	}
	if (fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK) < 0)
		log_warn("device %s: O_NONBLOCK on its stderr pipe", d->cfg->id);
	d->stderr_fd = pipe_fds[0];
	d->err_len = 0;
	d->violation = -1;
	d->epoch++;
	d->proc.started_ms = sup_now_ms();
	d->state = SUP_DEV_RUNNING;
	/* A new process binds a new devctl socket: connect afresh. */
	ipc_chan_destroy(d->devctl);
	d->devctl = NULL;
	log_info("device %s: process %d started, epoch %u", d->cfg->id, (int)d->proc.pid, d->epoch);
	return 0;
}

/* Restarts within the policy's window, the newest at the end. */
static unsigned recent_restarts(const Splitvm__RestartPolicy *p, struct sup_dev *d, uint64_t now)
{
	unsigned n = 0;

	for (unsigned i = 0; i < d->n_hist; i++)
		if (now - d->restart_hist[i] < p->window_ms)
			d->restart_hist[n++] = d->restart_hist[i];
	d->n_hist = n;
	return n;
}

void sup_dev_exited(struct sup *s, struct sup_dev *d, int status)
{
	const Splitvm__RestartPolicy *p = s->cfg->restart;
	Splitvm__ProcessExit e;
	uint64_t now = sup_now_ms(), backoff;
	unsigned n;
	char why[128];

	/* What it wrote before it died, the violation line among it. */
	sup_dev_stderr_drain(d);
	sup_exit_reason(status, d->proc.pid, d->violation, d->exit_syscall, sizeof(d->exit_syscall),
	                &e);
	sup_exit_text(&e, why, sizeof(why));
	d->proc.pid = 0;
	ipc_chan_destroy(d->devctl);
	d->devctl = NULL;
	if (s->stopping)
		return;
	sup_event_process_exited(s, d->cfg->id, true, &e);
	/* Kept for the RESTARTED event, whichever way the successor comes. */
	d->reported_exit = e;
	if (d->kill_requested) {
		/* `restart ID`: the user asked; no backoff, not counted. */
		d->kill_requested = false;
		d->state = SUP_DEV_RESTARTING;
		d->restart_at_ms = now;
		log_info("device %s: process %d ended (%s) for a requested restart", d->cfg->id,
		         (int)e.pid, why);
		return;
	}
	n = recent_restarts(p, d, now);
	if (n >= p->max_restarts) {
		d->state = SUP_DEV_FAILED;
		log_warnx("device %s: process %d died (%s); %u restarts within %u ms is the "
		          "cap: the device is marked failed, the guest keeps running",
		          d->cfg->id, (int)e.pid, why, n, p->window_ms);
		return;
	}
	backoff = p->backoff_initial_ms;
	for (unsigned i = 0; i < n && backoff < p->backoff_max_ms; i++)
		backoff *= 2;
	if (backoff > p->backoff_max_ms)
		backoff = p->backoff_max_ms;
	d->state = SUP_DEV_RESTARTING;
	d->restart_at_ms = now + backoff;
	log_warnx("device %s: process %d died (%s); restarting in %" PRIu64 " ms (%u of %u "
	          "within %u ms)",
	          d->cfg->id, (int)e.pid, why, backoff, n + 1, p->max_restarts, p->window_ms);
	if (d->n_hist < SUP_RESTART_HIST)
		d->restart_hist[d->n_hist++] = now;
	d->proc.started_ms = 0;
}

int sup_restart_due(struct sup *s)
{
	uint64_t now = sup_now_ms();
	int next = -1;

	for (size_t i = 0; i < s->n_devs; i++) {
		struct sup_dev *d = &s->devs[i];
		Splitvm__ProcessExit e = d->reported_exit;
		pid_t old = e.pid;

		if (d->state != SUP_DEV_RESTARTING)
			continue;
		if (d->restart_at_ms > now) {
			uint64_t wait = d->restart_at_ms - now;

			if (next < 0 || wait < (uint64_t)next)
				next = (int)wait;
			continue;
		}
		if (sup_dev_spawn(s, d)) {
			d->state = SUP_DEV_FAILED;
			log_warnx("device %s: cannot start a successor: marked failed", d->cfg->id);
			continue;
		}
		d->proc.restarts++;
		sup_event_restarted(s, d, old, &e);
	}
	return next;
}

/* ---- /proc --------------------------------------------------------------- */

static void status_field(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	FILE *f;

	snprintf(out, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *v;

		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		v = line + klen + 1;
		v += strspn(v, " \t");
		v[strcspn(v, "\n")] = 0;
		snprintf(out, len, "%s", v);
		break;
	}
	fclose(f);
}

/* The namespaces @pid does not share with us: "user,mnt,pid" or "-". */
static void namespaces(pid_t pid, char *out, size_t len)
{
	static const char *const ns[] = { "user", "mnt", "pid", "net", "ipc", "uts" };
	size_t n = 0;

	out[0] = 0;
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		char a[64], b[64];
		struct stat sa, sb;

		snprintf(a, sizeof(a), "/proc/%d/ns/%s", (int)pid, ns[i]);
		snprintf(b, sizeof(b), "/proc/self/ns/%s", ns[i]);
		if (stat(a, &sa) || stat(b, &sb) || sa.st_ino == sb.st_ino)
			continue;
		n += (size_t)snprintf(out + n, len - n, "%s%s", n ? "," : "", ns[i]);
		if (n >= len)
			break;
	}
	if (!out[0])
		snprintf(out, len, "-");
}

static const char *seccomp_mode(const char *v)
{
	if (!strcmp(v, "0"))
		return "disabled";
	if (!strcmp(v, "1"))
		return "strict";
	if (!strcmp(v, "2"))
		return "filter";
	return "?";
}

struct proc_row {
	const char *id, *model, *state;
	pid_t pid;
	unsigned restarts;
};

int sup_proc_table(struct sup *s, bool json, char **out)
{
	struct proc_row rows[2 + 64];
	size_t n = 0;
	json_object *arr = json ? json_object_new_array() : NULL;
	char *text = NULL;
	size_t tlen = 0;
	FILE *f = NULL;

	if (json && !arr)
		return -ENOMEM;
	rows[n++] = (struct proc_row){ "memsrv", "memsrv", "running", s->memsrv.pid, 0 };
	rows[n++] = (struct proc_row){ "core", "core", "running", s->core.pid, 0 };
	for (size_t i = 0; i < s->n_devs && n < sizeof(rows) / sizeof(rows[0]); i++) {
		static const char *const st[] = { "passive", "running", "restarting", "failed",
			                          "no-device-plane" };
		const struct sup_dev *d = &s->devs[i];

		if (d->state == SUP_DEV_PASSIVE)
			continue;
		rows[n++] = (struct proc_row){ d->cfg->id, d->proc.model, st[d->state], d->proc.pid,
			                       d->proc.restarts };
	}
	if (!json) {
		f = open_memstream(&text, &tlen);
		if (!f)
			return -errno;
		fprintf(f, "%-8s %-10s %-10s %-6s %-9s %-26s %-8s %s\n", "PID", "ID", "MODEL",
		        "UID", "SECCOMP", "NAMESPACES", "RESTARTS", "RSS");
	}
	for (size_t i = 0; i < n; i++) {
		char uid[64] = "-", sc[16] = "?", ns[64] = "-", rss[32] = "-";

		if (rows[i].pid > 0) {
			status_field(rows[i].pid, "Uid", uid, sizeof(uid));
			uid[strcspn(uid, " \t")] = 0;
			status_field(rows[i].pid, "Seccomp", sc, sizeof(sc));
			status_field(rows[i].pid, "VmRSS", rss, sizeof(rss));
			namespaces(rows[i].pid, ns, sizeof(ns));
		}
		if (json) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "id", json_object_new_string(rows[i].id));
			json_object_object_add(o, "model", json_object_new_string(rows[i].model));
			json_object_object_add(o, "state", json_object_new_string(rows[i].state));
			json_object_object_add(o, "pid", json_object_new_int(rows[i].pid));
			json_object_object_add(o, "uid", json_object_new_string(uid));
			json_object_object_add(o, "seccomp",
			                       json_object_new_string(seccomp_mode(sc)));
			json_object_object_add(o, "namespaces", json_object_new_string(ns));
			json_object_object_add(o, "restarts",
			                       json_object_new_int((int)rows[i].restarts));
			json_object_object_add(o, "rss", json_object_new_string(rss));
			json_object_array_add(arr, o);
		} else {
			char pid[16];

			snprintf(pid, sizeof(pid), "%d", (int)rows[i].pid);
			fprintf(f, "%-8s %-10s %-10s %-6s %-9s %-26s %-8u %s%s%s\n",
			        rows[i].pid > 0 ? pid : "-", rows[i].id, rows[i].model, uid,
			        rows[i].pid > 0 ? seccomp_mode(sc) : "-", ns, rows[i].restarts, rss,
			        strcmp(rows[i].state, "running") ? " " : "",
			        strcmp(rows[i].state, "running") ? rows[i].state : "");
		}
	}
	if (json) {
		*out = strdup(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
		json_object_put(arr);
		return *out ? 0 : -ENOMEM;
	}
	if (fclose(f))
		return -errno;
	*out = text;
	return 0;
}
