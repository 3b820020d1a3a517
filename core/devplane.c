/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The device plane (docs/protocol.md, "Device"): one PAIR socket dev-<id> per
 * virtio device in the run directory, and one event-loop thread that owns
 * every socket and every ring walk.  The loop sleeps in epoll over
 *   - the wake eventfd (a vCPU recorded a reset, DRIVER_OK or notify exit
 *     in the register file, or the plane is stopping),
 *   - each queue's ioeventfd (KVM signals it on a QueueNotify write whose
 *     value is the queue index: no exit to user space),
 *   - each device socket's receive fd.
 * A vCPU thread never waits on a device process: it only touches the
 * register file under its lock and writes the wake eventfd.
 *
 * Requests: every chain popped gets the device's next seq and stays on the
 * device's list until its response is written back.  A chain popped while no
 * process is attached, or whose send failed, waits there; an attach with a
 * higher epoch (a successor) gets every unanswered request again, in seq
 * order, with the same seq.  A reset voids the list: requests popped before
 * it are never answered into the new rings.
 */
#include "core.h"
#include "nfit.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "fd.h"
#include "ipc.h"
#include "log.h"

/* epoll data: kind in the top byte, device index, queue index. */
#define EV_WAKE               1u
#define EV_NOTIFY             2u
#define EV_CHAN               3u
#define EV_DATA(kind, dev, q) (((uint64_t)(kind) << 32) | ((uint64_t)(dev) << 16) | (q))

/* A device process has this long to take a message before we keep it. */
#define DEVPLANE_SEND_TIMEOUT_MS 200
/* The largest call (an nvdimm's DSM page) and answer devplane_call() carries. */
#define DEVPLANE_CALL_MAX 4096

/*
 * A plain device's call in flight (devplane_call()), under dp->lock.  The
 * caller (a vCPU) waits on dp->cond for done; the loop thread sends it to
 * the attached process, again to a successor, and stores the answer.
 */
struct devplane_call {
	bool pending; /* a caller waits */
	bool sent;    /* sent to the process of epoch sent_epoch */
	bool done;
	uint32_t sent_epoch;
	uint64_t seq;
	size_t in_len, out_len;
	uint8_t in[DEVPLANE_CALL_MAX];
	uint8_t out[DEVPLANE_CALL_MAX];
};

struct devplane_req {
	struct devplane_req *next;
	uint64_t seq;
	unsigned queue;
	uint32_t reset_count; /* the register file's, when popped */
	struct virtq_chain chain;
};

struct devplane_dev {
	struct devplane *dp;
	unsigned index;
	char id[64];
	/* No virtio transport (devplane_add_plain): t is unused, calls instead. */
	bool plain;
	struct devplane_call *call;
	pthread_mutex_t call_mu; /* one caller at a time (plain only) */
	struct vmmio t;
	bool t_init;
	struct ipc_chan *chan;
	int notify_fd[VMMIO_MAX_QUEUES];
	unsigned n_notify;
	int irq_fd;
	/* Loop thread only, but for attached/epoch: also under dp->lock. */
	uint32_t epoch;
	bool attached;
	/* attached, and the config the guest reads is whole (DeviceAttach.config_follows) */
	bool ready;
	uint64_t next_seq;
	struct devplane_req *reqs, **reqs_tail;
	/* Set by the machine plane's thread (RegionMap sparse): under dp->lock. */
	uint64_t region_gpa;
	uint64_t region_size;
	struct log_ratelimit rl;
};

struct devplane {
	struct machine *m;
	const struct memmap *mm;
	char rundir[256];
	struct devplane_dev *devs[VMMIO_MAX_DEVICES + CORE_MAX_NVDIMM];
	unsigned n;
	int epoll_fd;
	int wake_fd;
	pthread_t thread;
	bool started;
	volatile int stop;
	pthread_mutex_t lock; /* attached/epoch for devplane_wait_attached() */
	pthread_cond_t cond;
	devplane_slot_map_fn slot_map;
	void *slot_map_opaque;
};

static void kick(void *opaque)
{
	struct devplane_dev *d = opaque;
	uint64_t one = 1;

	if (write(d->dp->wake_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is already non-zero, the loop will wake. */
	}
}

static void irq_pulse(void *opaque)
{
	struct devplane_dev *d = opaque;
	uint64_t one = 1;

	if (d->irq_fd >= 0 && write(d->irq_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN only: an interrupt is already pending. */
	}
}

int devplane_create(struct devplane **out, struct machine *m, const struct memmap *mm,
                    const char *rundir)
{
	struct devplane *dp;
	struct ipc_err err;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_DATA(EV_WAKE, 0, 0) };
	int r;

	*out = NULL;
	if (strlen(rundir) >= sizeof(dp->rundir)) {
		log_warnx("--run-dir %s: longer than %zu bytes", rundir, sizeof(dp->rundir) - 1);
		return -ENAMETOOLONG;
	}
	if (ipc_rundir_create(rundir, &err)) {
		log_warnx("--run-dir %s: %s", rundir, err.text);
		return -EPERM;
	}
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	dp->m = m;
	dp->mm = mm;
	dp->epoll_fd = -1;
	dp->wake_fd = -1;
	snprintf(dp->rundir, sizeof(dp->rundir), "%s", rundir);
	pthread_mutex_init(&dp->lock, NULL);
	pthread_cond_init(&dp->cond, NULL);
	dp->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (dp->epoll_fd < 0) {
		r = -errno;
		log_warn("device plane: epoll_create1");
		goto fail;
	}
	dp->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dp->wake_fd < 0) {
		r = -errno;
		log_warn("device plane: eventfd");
		goto fail;
	}
	if (epoll_ctl(dp->epoll_fd, EPOLL_CTL_ADD, dp->wake_fd, &ev) < 0) {
		r = -errno;
		log_warn("device plane: epoll_ctl");
		goto fail;
	}
	*out = dp;
	return 0;
fail:
	devplane_destroy(dp);
	return r;
}

int devplane_add(struct devplane *dp, const char *id)
{
	struct ipc_chan_opts opts = {
		.planes = PROTO_PLANE_DEVICE,
		.send_timeout_ms = DEVPLANE_SEND_TIMEOUT_MS,
		.recv_timeout_ms = DEVPLANE_SEND_TIMEOUT_MS,
	};
	struct devplane_dev *d;
	struct ipc_err err;
	char name[80];
	int fd, r;
	struct epoll_event ev = { .events = EPOLLIN };

	if (dp->started) {
		log_warnx("-device %s: virtio devices exist from boot (no virtio-mmio hotplug)",
		          id);
		return -EBUSY;
	}
	if (dp->n >= VMMIO_MAX_DEVICES) {
		log_warnx("-device %s: at most %u virtio devices", id, VMMIO_MAX_DEVICES);
		return -ENOSPC;
	}
	if (strlen(id) == 0 || strlen(id) >= sizeof(d->id) - 4) {
		log_warnx("-device: id '%s' is empty or longer than %zu bytes", id,
		          sizeof(d->id) - 5);
		return -EINVAL;
	}
	for (unsigned i = 0; i < dp->n; i++) {
		if (!strcmp(dp->devs[i]->id, id)) {
			log_warnx("-device %s: duplicate id", id);
			return -EEXIST;
		}
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->dp = dp;
	d->index = dp->n;
	d->irq_fd = -1;
	for (unsigned q = 0; q < VMMIO_MAX_QUEUES; q++)
		d->notify_fd[q] = -1;
	d->next_seq = 1;
	d->reqs_tail = &d->reqs;
	d->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(1000, 5);
	snprintf(d->id, sizeof(d->id), "%s", id);
	dp->devs[dp->n++] = d; /* owned by dp from here: devplane_destroy frees it */

	r = vmmio_init(&d->t, d->index, dp->mm);
	if (r)
		return r;
	d->t_init = true;
	d->t.kick = kick;
	d->t.irq = irq_pulse;
	d->t.opaque = d;

	snprintf(name, sizeof(name), "dev-%s", id);
	if (ipc_chan_bind(&d->chan, IPC_ROLE_PAIR, dp->rundir, name, &opts, &err)) {
		log_warnx("-device %s: %s", id, err.text);
		return -EIO;
	}
	if (ipc_chan_poll_fd(d->chan, &fd, &err)) {
		log_warnx("-device %s: %s", id, err.text);
		return -EIO;
	}
	ev.data.u64 = EV_DATA(EV_CHAN, d->index, 0);
	if (epoll_ctl(dp->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = -errno;
		log_warn("-device %s: epoll_ctl", id);
		return r;
	}

	if (dp->m) {
		struct kvm_irqfd irqfd = { .gsi = d->t.gsi };

		d->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->irq_fd < 0) {
			r = -errno;
			log_warn("-device %s: eventfd", id);
			return r;
		}
		irqfd.fd = (uint32_t)d->irq_fd;
		if (ioctl(dp->m->vm_fd, KVM_IRQFD, &irqfd) < 0) {
			r = -errno;
			log_warn("-device %s: KVM_IRQFD on GSI %u", id, d->t.gsi);
			return r;
		}
		r = io_register_mmio(d->t.base, MEMMAP_VIRTIO_MMIO_SLOT, vmmio_mmio, &d->t);
		if (r) {
			log_warnx("-device %s: MMIO window 0x%" PRIx64 ": %s", id, d->t.base,
			          strerror(-r));
			return r;
		}
	}
	log_debug("virtio-mmio %u: %s at 0x%" PRIx64 " GSI %u, socket %s/%s", d->index, id,
	          d->t.base, d->t.gsi, dp->rundir, name);
	return 0;
}

int devplane_add_plain(struct devplane *dp, const char *id)
{
	struct ipc_chan_opts opts = {
		.planes = PROTO_PLANE_DEVICE,
		.send_timeout_ms = DEVPLANE_SEND_TIMEOUT_MS,
		.recv_timeout_ms = DEVPLANE_SEND_TIMEOUT_MS,
	};
	struct epoll_event ev = { .events = EPOLLIN };
	struct devplane_dev *d;
	struct ipc_err err;
	char name[80];
	int fd, r;

	if (dp->started || dp->n >= VMMIO_MAX_DEVICES + CORE_MAX_NVDIMM) {
		log_warnx("device %s: the device plane is started or full", id);
		return -EBUSY;
	}
	if (strlen(id) == 0 || strlen(id) >= sizeof(d->id) - 4) {
		log_warnx("device: id '%s' is empty or longer than %zu bytes", id,
		          sizeof(d->id) - 5);
		return -EINVAL;
	}
	for (unsigned i = 0; i < dp->n; i++) {
		if (!strcmp(dp->devs[i]->id, id)) {
			log_warnx("device %s: duplicate id", id);
			return -EEXIST;
		}
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->call = calloc(1, sizeof(*d->call));
	if (!d->call) {
		free(d);
		return -ENOMEM;
	}
	d->dp = dp;
	d->index = dp->n;
	d->plain = true;
	pthread_mutex_init(&d->call_mu, NULL);
	d->irq_fd = -1;
	for (unsigned q = 0; q < VMMIO_MAX_QUEUES; q++)
		d->notify_fd[q] = -1;
	d->next_seq = 1;
	d->reqs_tail = &d->reqs;
	d->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(1000, 5);
	snprintf(d->id, sizeof(d->id), "%s", id);
	dp->devs[dp->n++] = d; /* owned by dp from here: devplane_destroy frees it */

	snprintf(name, sizeof(name), "dev-%s", id);
	if (ipc_chan_bind(&d->chan, IPC_ROLE_PAIR, dp->rundir, name, &opts, &err) ||
	    ipc_chan_poll_fd(d->chan, &fd, &err)) {
		log_warnx("device %s: %s", id, err.text);
		return -EIO;
	}
	ev.data.u64 = EV_DATA(EV_CHAN, d->index, 0);
	if (epoll_ctl(dp->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = -errno;
		log_warn("device %s: epoll_ctl", id);
		return r;
	}
	log_debug("device %s: no transport, socket %s/%s", id, dp->rundir, name);
	return 0;
}

static void deadline_after(struct timespec *t, int ms)
{
	clock_gettime(CLOCK_REALTIME, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

int devplane_call(struct devplane *dp, const char *id, const void *in, size_t len, void *out,
                  size_t outcap, size_t *outlen, int timeout_ms)
{
	struct devplane_dev *d = NULL;
	struct timespec until;
	uint64_t one = 1;
	int r = 0;

	*outlen = 0;
	for (unsigned i = 0; dp && i < dp->n && !d; i++)
		if (dp->devs[i]->plain && !strcmp(dp->devs[i]->id, id))
			d = dp->devs[i];
	if (!d)
		return -ENOENT;
	if (len > DEVPLANE_CALL_MAX)
		return -EMSGSIZE;
	pthread_mutex_lock(&d->call_mu);
	pthread_mutex_lock(&dp->lock);
	memcpy(d->call->in, in, len);
	d->call->in_len = len;
	d->call->seq = d->next_seq++;
	d->call->pending = true;
	d->call->sent = false;
	d->call->done = false;
	pthread_mutex_unlock(&dp->lock);
	/* The loop thread sends it (it owns the socket's ordering). */
	if (write(dp->wake_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is non-zero, the loop wakes anyway */
	}
	deadline_after(&until, timeout_ms);
	pthread_mutex_lock(&dp->lock);
	while (!d->call->done && !r) {
		r = pthread_cond_timedwait(&dp->cond, &dp->lock, &until);
		if (r && r != ETIMEDOUT)
			r = 0;
	}
	if (d->call->done) {
		r = 0;
		if (d->call->out_len > outcap) {
			r = -EMSGSIZE;
		} else {
			memcpy(out, d->call->out, d->call->out_len);
			*outlen = d->call->out_len;
		}
	} else {
		r = -ETIMEDOUT;
	}
	d->call->pending = false;
	pthread_mutex_unlock(&dp->lock);
	pthread_mutex_unlock(&d->call_mu);
	return r;
}

/* KVM ioeventfds on QueueNotify, one per queue with the index as datamatch. */
static int notify_setup(struct devplane_dev *d)
{
	struct devplane *dp = d->dp;

	for (unsigned q = d->n_notify; q < d->t.n_queues; q++) {
		struct kvm_ioeventfd io = {
			.datamatch = q,
			.addr = d->t.base + VMMIO_REG_QUEUE_NOTIFY,
			.len = 4,
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};
		struct epoll_event ev = { .events = EPOLLIN,
			                  .data.u64 = EV_DATA(EV_NOTIFY, d->index, q) };
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		if (fd < 0) {
			log_warn("device %s: eventfd for queue %u", d->id, q);
			return -errno;
		}
		io.fd = fd;
		if (dp->m && ioctl(dp->m->vm_fd, KVM_IOEVENTFD, &io) < 0) {
			int r = -errno;

			log_warn("device %s: KVM_IOEVENTFD for queue %u", d->id, q);
			close_fd(&fd);
			return r;
		}
		if (epoll_ctl(dp->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			int r = -errno;

			log_warn("device %s: epoll_ctl", d->id);
			if (dp->m) {
				io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
				ioctl(dp->m->vm_fd, KVM_IOEVENTFD, &io);
			}
			close_fd(&fd);
			return r;
		}
		d->notify_fd[q] = fd;
		d->n_notify = q + 1;
	}
	return 0;
}

static void notify_teardown(struct devplane_dev *d)
{
	for (unsigned q = 0; q < d->n_notify; q++) {
		struct kvm_ioeventfd io = {
			.datamatch = q,
			.addr = d->t.base + VMMIO_REG_QUEUE_NOTIFY,
			.len = 4,
			.fd = d->notify_fd[q],
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | KVM_IOEVENTFD_FLAG_DEASSIGN,
		};

		if (d->dp->m && d->notify_fd[q] >= 0)
			ioctl(d->dp->m->vm_fd, KVM_IOEVENTFD, &io);
		close_fd(&d->notify_fd[q]);
	}
	d->n_notify = 0;
}

static void req_free(struct devplane_req *r)
{
	if (!r)
		return;
	virtq_chain_release(&r->chain);
	free(r);
}

static void reqs_drop_all(struct devplane_dev *d)
{
	while (d->reqs) {
		struct devplane_req *r = d->reqs;

		d->reqs = r->next;
		req_free(r);
	}
	d->reqs_tail = &d->reqs;
}

static void dev_free(struct devplane_dev *d)
{
	if (!d)
		return;
	notify_teardown(d);
	ipc_chan_destroy(d->chan);
	if (d->irq_fd >= 0 && d->dp->m) {
		struct kvm_irqfd irqfd = { .fd = (uint32_t)d->irq_fd,
			                   .gsi = d->t.gsi,
			                   .flags = KVM_IRQFD_FLAG_DEASSIGN };

		ioctl(d->dp->m->vm_fd, KVM_IRQFD, &irqfd);
	}
	close_fd(&d->irq_fd);
	reqs_drop_all(d);
	if (d->t_init)
		vmmio_destroy(&d->t);
	if (d->plain)
		pthread_mutex_destroy(&d->call_mu);
	free(d->call);
	free(d);
}

static int send_request(struct devplane_dev *d, const struct devplane_req *r)
{
	Splitvm__DeviceRequest msg = SPLITVM__DEVICE_REQUEST__INIT;
	struct ipc_hdr h = { .device = d->id, .epoch = d->epoch, .seq = r->seq };
	struct ipc_err err;

	msg.queue = r->queue;
	msg.data.data = r->chain.data;
	msg.data.len = r->chain.data_len;
	msg.writable_len = r->chain.wr_len;
	if (ipc_send(d->chan, &h, &msg.base, &err)) {
		/* Kept: a successor gets it when it attaches. */
		log_debug("device %s: request seq %" PRIu64 " not sent: %s", d->id, r->seq,
		          err.text);
		return -EIO;
	}
	return 0;
}

static void send_simple(struct devplane_dev *d, const ProtobufCMessage *body, const char *what)
{
	struct ipc_hdr h = { .device = d->id, .epoch = d->epoch };
	struct ipc_err err;

	if (ipc_send(d->chan, &h, body, &err))
		log_warnx("device %s: %s not delivered: %s", d->id, what, err.text);
}

/* The machine's map may change under us (RegionMap): read it locked. */
static void mm_rdlock(struct devplane *dp)
{
	if (dp->m)
		pthread_rwlock_rdlock(&dp->m->mm_lock);
}

static void mm_unlock(struct devplane *dp)
{
	if (dp->m)
		pthread_rwlock_unlock(&dp->m->mm_lock);
}

/* Pop every available chain of queue @qi; send them while attached. */
static void serve_queue(struct devplane_dev *d, unsigned qi)
{
	struct devplane_req *first_new = NULL;

	mm_rdlock(d->dp);
	pthread_mutex_lock(&d->t.lock);
	while (vmmio_queue_live_locked(&d->t, qi)) {
		struct devplane_req *r = calloc(1, sizeof(*r));
		int n;

		if (!r) {
			log_warnx("device %s: out of memory; queue %u waits", d->id, qi);
			break;
		}
		n = virtq_pop(&d->t.q[qi], d->dp->mm, &r->chain);
		if (n <= 0) {
			free(r);
			if (n < 0) {
				log_warnx_ratelimited(
				        &d->rl,
				        "device %s: queue %u: broken descriptor chain: "
				        "%s; device needs reset",
				        d->id, qi, virtq_error_str(n));
				vmmio_needs_reset_locked(&d->t);
			}
			break;
		}
		r->seq = d->next_seq++;
		r->queue = qi;
		r->reset_count = d->t.reset_count;
		*d->reqs_tail = r;
		d->reqs_tail = &r->next;
		if (!first_new)
			first_new = r;
	}
	pthread_mutex_unlock(&d->t.lock);
	mm_unlock(d->dp);
	if (!d->attached)
		return;
	for (struct devplane_req *r = first_new; r; r = r->next)
		(void)send_request(d, r);
}

static void reply_error(struct devplane_dev *d, const struct ipc_msg *msg, Splitvm__ErrorCode code,
                        const char *field, const char *text)
{
	struct ipc_err err;

	log_warnx_ratelimited(&d->rl, "device %s: refused %s: %s: %s", d->id, msg->type->name,
	                      field, text);
	if (ipc_reply_error(d->chan, msg, code, field, &err, "%s", text))
		log_debug("device %s: error reply not delivered: %s", d->id, err.text);
}

/* Send the pending call to the attached process, once per epoch. */
static void call_send(struct devplane_dev *d)
{
	static uint8_t buf[DEVPLANE_CALL_MAX]; /* the loop thread's alone */
	Splitvm__NvdimmDsm msg = SPLITVM__NVDIMM_DSM__INIT;
	struct ipc_hdr h = { .device = d->id };
	struct ipc_err err;
	size_t len;

	pthread_mutex_lock(&d->dp->lock);
	if (!d->call || !d->call->pending || d->call->done || !d->attached ||
	    (d->call->sent && d->call->sent_epoch == d->epoch)) {
		pthread_mutex_unlock(&d->dp->lock);
		return;
	}
	/* Copied: the caller may give up and start another call meanwhile. */
	len = d->call->in_len;
	memcpy(buf, d->call->in, len);
	h.seq = d->call->seq;
	h.epoch = d->epoch;
	d->call->sent = true;
	d->call->sent_epoch = d->epoch;
	pthread_mutex_unlock(&d->dp->lock);
	msg.page.data = buf;
	msg.page.len = len;
	if (ipc_send(d->chan, &h, &msg.base, &err))
		/* Kept: a successor gets it when it attaches. */
		log_debug("device %s: call seq %" PRIu64 " not sent: %s", d->id, h.seq, err.text);
}

static void handle_call_reply(struct devplane_dev *d, const struct ipc_msg *msg)
{
	const Splitvm__NvdimmDsmReply *rep = (const Splitvm__NvdimmDsmReply *)msg->body;
	bool matched = false;

	pthread_mutex_lock(&d->dp->lock);
	if (d->call && d->call->pending && !d->call->done && d->call->seq == msg->seq) {
		size_t n = rep->out.len;

		/* Longer than any answer: kept as an error for the caller to see. */
		d->call->out_len = n;
		if (n <= sizeof(d->call->out))
			memcpy(d->call->out, rep->out.data, n);
		d->call->done = true;
		matched = true;
		pthread_cond_broadcast(&d->dp->cond);
	}
	pthread_mutex_unlock(&d->dp->lock);
	if (!matched)
		log_warnx_ratelimited(&d->rl,
		                      "device %s: answer to call seq %" PRIu64
		                      " answers nothing outstanding; dropped",
		                      d->id, msg->seq);
}

/* A plain device's process: no transport to declare, only the attach. */
static void handle_attach_plain(struct devplane_dev *d, const struct ipc_msg *msg)
{
	const Splitvm__DeviceAttach *a = (const Splitvm__DeviceAttach *)msg->body;
	Splitvm__DeviceAttached out = SPLITVM__DEVICE_ATTACHED__INIT;
	struct ipc_err err;

	if (a->virtio_id || a->n_queues) {
		reply_error(d, msg, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "virtio_id",
		            "this device has no virtio transport: virtio id 0 and no queues");
		return;
	}
	pthread_mutex_lock(&d->dp->lock);
	d->epoch = msg->epoch;
	d->attached = true;
	d->ready = true;
	out.region_gpa = d->region_gpa;
	pthread_cond_broadcast(&d->dp->cond);
	pthread_mutex_unlock(&d->dp->lock);
	if (ipc_reply(d->chan, msg, &out.base, &err))
		log_warnx("device %s: DeviceAttached not delivered: %s", d->id, err.text);
	log_info("device %s: process attached, epoch %u%s", d->id, d->epoch,
	         d->call && d->call->pending ? ", re-sending the call in flight" : "");
	call_send(d);
}

static void handle_attach(struct devplane_dev *d, const struct ipc_msg *msg)
{
	const Splitvm__DeviceAttach *a = (const Splitvm__DeviceAttach *)msg->body;
	Splitvm__DeviceAttached out = SPLITVM__DEVICE_ATTACHED__INIT;
	uint16_t qmax[VMMIO_MAX_QUEUES];
	uint8_t kept[VMMIO_CONFIG_MAX];
	const uint8_t *config;
	size_t config_len;
	struct ipc_err err;
	char text[160];
	bool first;
	int r;

	if (msg->epoch <= d->epoch) {
		snprintf(text, sizeof(text), "epoch %u is not above the last attached %u",
		         msg->epoch, d->epoch);
		reply_error(d, msg, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "epoch", text);
		return;
	}
	if (d->plain) {
		handle_attach_plain(d, msg);
		return;
	}
	if (a->n_queues == 0 || a->n_queues > VMMIO_MAX_QUEUES) {
		snprintf(text, sizeof(text), "%zu queues declared, 1..%u allowed", a->n_queues,
		         VMMIO_MAX_QUEUES);
		reply_error(d, msg, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "queues", text);
		return;
	}
	for (size_t i = 0; i < a->n_queues; i++) {
		uint32_t m = a->queues[i]->max_size;

		if (m == 0 || m > VIRTQ_MAX_SIZE || (m & (m - 1))) {
			snprintf(text, sizeof(text),
			         "queues[%zu].max_size %u is not a power of two in 1..%u", i, m,
			         VIRTQ_MAX_SIZE);
			reply_error(d, msg, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT,
			            "queues.max_size", text);
			return;
		}
		qmax[i] = (uint16_t)m;
	}
	first = !d->t.declared;
	config = a->config.data;
	config_len = a->config.len;
	if (!first) {
		/*
		 * A successor declares the config it can build before it knows
		 * where its region is (addr 0); it restates the real one with
		 * DeviceConfigUpdate once attached.  Until then the guest keeps
		 * reading its predecessor's copy, never a transient addr 0.
		 */
		pthread_mutex_lock(&d->t.lock);
		config_len = d->t.config_len;
		memcpy(kept, d->t.config, config_len);
		pthread_mutex_unlock(&d->t.lock);
		config = kept;
	}
	r = vmmio_set_device(&d->t, a->virtio_id, a->features, a->required_features,
	                     (unsigned)a->n_queues, qmax, config, config_len);
	if (r) {
		reply_error(d, msg,
		            r == -EBUSY ? SPLITVM__ERROR_CODE__ERR_BUSY
		                        : SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT,
		            "virtio_id",
		            r == -EBUSY ? "a successor must declare the same device, features "
		                          "and queues as its predecessor"
		                        : "the declaration breaks a transport rule (see the "
		                          "core's log)");
		return;
	}
	if (first && notify_setup(d)) {
		reply_error(d, msg, SPLITVM__ERROR_CODE__ERR_INTERNAL, "queues",
		            "KVM_IOEVENTFD failed (see the core's log)");
		return;
	}
	pthread_mutex_lock(&d->dp->lock);
	d->epoch = msg->epoch;
	d->attached = true;
	/* A successor's config is its predecessor's, whole already (see above). */
	d->ready = !(first && a->config_follows);
	pthread_cond_broadcast(&d->dp->cond);
	pthread_mutex_unlock(&d->dp->lock);

	pthread_mutex_lock(&d->t.lock);
	out.driver_features = d->t.driver_features;
	pthread_mutex_unlock(&d->t.lock);
	pthread_mutex_lock(&d->dp->lock);
	out.region_gpa = d->region_gpa;
	pthread_mutex_unlock(&d->dp->lock);
	if (ipc_reply(d->chan, msg, &out.base, &err))
		log_warnx("device %s: DeviceAttached not delivered: %s", d->id, err.text);
	log_info("device %s: process attached, epoch %u, virtio id %u, %zu queue(s)%s", d->id,
	         d->epoch, a->virtio_id, a->n_queues, d->reqs ? ", re-sending held requests" : "");
	/* A successor: every unanswered request again, in seq order. */
	for (struct devplane_req *q = d->reqs; q; q = q->next)
		(void)send_request(d, q);
}

/*
 * Map or unmap a slot of @d's own region for its process.  0, or the error
 * code for the refusal with its rule in @text.
 */
static Splitvm__ErrorCode slot_map_apply(struct devplane_dev *d, const Splitvm__DeviceSlotMap *s,
                                         char *text, size_t len)
{
	uint64_t end, region_size;
	int r;

	pthread_mutex_lock(&d->dp->lock);
	region_size = d->region_size;
	pthread_mutex_unlock(&d->dp->lock);
	if (!region_size) {
		snprintf(text, len,
		         "the device has no sparse region registered (RegionMap sparse, "
		         "owner_device)");
		return SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT;
	}
	if ((s->offset | s->size) & 4095 || s->size == 0 ||
	    __builtin_add_overflow(s->offset, s->size, &end) || end > region_size) {
		snprintf(text, len,
		         "the range must be page aligned, non-empty and inside the "
		         "device's own region");
		return SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT;
	}
	if (!d->dp->slot_map) {
		snprintf(text, len, "this core maps no sparse regions");
		return SPLITVM__ERROR_CODE__ERR_UNSUPPORTED;
	}
	r = d->dp->slot_map(d->dp->slot_map_opaque, d->id, s->offset, s->size, s->map);
	if (!r)
		return 0;
	snprintf(text, len, "%s of [0x%" PRIx64 ", +0x%" PRIx64 ") failed: %s",
	         s->map ? "map" : "unmap", s->offset, s->size, strerror(-r));
	return r == -ENOSPC   ? SPLITVM__ERROR_CODE__ERR_NO_SPACE
	       : r == -EEXIST ? SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT
	                      : SPLITVM__ERROR_CODE__ERR_INTERNAL;
}

static void handle_slot_map(struct devplane_dev *d, const struct ipc_msg *msg)
{
	const Splitvm__DeviceSlotMap *s = (const Splitvm__DeviceSlotMap *)msg->body;
	Splitvm__OkReply ok = SPLITVM__OK_REPLY__INIT;
	Splitvm__ErrorCode code;
	struct ipc_err err;
	char text[160];

	code = slot_map_apply(d, s, text, sizeof(text));
	if (code) {
		reply_error(d, msg, code, s->map ? "map" : "offset", text);
		return;
	}
	/*
	 * Correlation id 0: the device process does not wait (its unmaps), so
	 * only a refusal is answered.  Its messages are served in order, so
	 * the slot is gone before the response that follows reaches the ring.
	 */
	if (msg->correlation_id && ipc_reply(d->chan, msg, &ok.base, &err))
		log_warnx("device %s: slot map reply not delivered: %s", d->id, err.text);
}

static void config_apply(struct devplane_dev *d, const Splitvm__DeviceConfigUpdate *u)
{
	if (vmmio_config_update(&d->t, u->config.data, u->config.len, u->notify)) {
		log_warnx_ratelimited(&d->rl, "device %s: config update of %zu bytes refused",
		                      d->id, u->config.len);
		return;
	}
	if (!d->ready) {
		pthread_mutex_lock(&d->dp->lock);
		d->ready = true;
		pthread_cond_broadcast(&d->dp->cond);
		pthread_mutex_unlock(&d->dp->lock);
	}
}

/*
 * A response's own changes, before its answer is pushed, and whether or not
 * that answer is still wanted: the process's state has changed either way.
 * A refused unmap is logged here and by the process, as for a separate one.
 */
static void response_effects(struct devplane_dev *d, const struct ipc_msg *msg,
                             const Splitvm__DeviceResponse *resp)
{
	for (size_t i = 0; i < resp->n_slots; i++) {
		Splitvm__ErrorCode code;
		char text[160];

		if (resp->slots[i]->map) {
			code = SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT;
			snprintf(text, sizeof(text),
			         "a response carries unmaps only; a map is a "
			         "DeviceSlotMap of its own");
		} else {
			code = slot_map_apply(d, resp->slots[i], text, sizeof(text));
		}
		if (code) {
			struct ipc_err err;

			log_warnx_ratelimited(&d->rl,
			                      "device %s: response seq %" PRIu64
			                      ": slots[%zu] refused: %s",
			                      d->id, msg->seq, i, text);
			/* Correlation id 0, as the process's own: it logs the refusal. */
			if (ipc_reply_error(d->chan, msg, code, "slots", &err, "%s", text))
				log_debug("device %s: error reply not delivered: %s", d->id,
				          err.text);
		}
	}
	if (resp->config)
		config_apply(d, resp->config);
}

static void handle_response(struct devplane_dev *d, const struct ipc_msg *msg)
{
	const Splitvm__DeviceResponse *resp = (const Splitvm__DeviceResponse *)msg->body;
	struct devplane_req **pp = &d->reqs, *r;
	uint32_t written = 0;
	int e;

	response_effects(d, msg, resp);
	while (*pp && (*pp)->seq != msg->seq)
		pp = &(*pp)->next;
	r = *pp;
	if (!r) {
		log_warnx_ratelimited(&d->rl,
		                      "device %s: response seq %" PRIu64
		                      " (epoch %u) answers nothing outstanding; dropped",
		                      d->id, msg->seq, msg->epoch);
		return;
	}
	*pp = r->next;
	if (d->reqs_tail == &r->next)
		d->reqs_tail = pp;

	mm_rdlock(d->dp);
	pthread_mutex_lock(&d->t.lock);
	if (r->reset_count == d->t.reset_count && vmmio_queue_live_locked(&d->t, r->queue)) {
		struct virtq *q = &d->t.q[r->queue];

		e = virtq_chain_write(d->dp->mm, r->chain.wr, r->chain.n_wr, resp->data.data,
		                      resp->data.len, &written);
		if (!e)
			e = virtq_push(q, d->dp->mm, r->chain.head, written);
		if (e) {
			log_warnx_ratelimited(&d->rl, "device %s: queue %u: %s; device needs reset",
			                      d->id, r->queue, virtq_error_str(e));
			vmmio_needs_reset_locked(&d->t);
		} else if (virtq_need_signal(q, d->dp->mm)) {
			vmmio_raise_locked(&d->t, VMMIO_INT_VRING);
		}
	}
	pthread_mutex_unlock(&d->t.lock);
	mm_unlock(d->dp);
	req_free(r);
}

/*
 * The attached process's attach once more: it sends it again while no
 * DeviceAttached comes (devproc/main.c, wait_attached), because an attach
 * sent on a connection our PAIR refused (it still held the predecessor's)
 * is lost.  Answered as the first was; nothing else changes, and held
 * requests are not re-sent again (they followed the first answer).
 */
static void handle_attach_again(struct devplane_dev *d, const struct ipc_msg *msg)
{
	Splitvm__DeviceAttached out = SPLITVM__DEVICE_ATTACHED__INIT;
	struct ipc_err err;

	if (d->t_init) { /* a plain device has no transport */
		pthread_mutex_lock(&d->t.lock);
		out.driver_features = d->t.driver_features;
		pthread_mutex_unlock(&d->t.lock);
	}
	pthread_mutex_lock(&d->dp->lock);
	out.region_gpa = d->region_gpa;
	pthread_mutex_unlock(&d->dp->lock);
	log_debug("device %s: epoch %u attached again", d->id, d->epoch);
	if (ipc_reply(d->chan, msg, &out.base, &err))
		log_warnx("device %s: DeviceAttached not delivered: %s", d->id, err.text);
}

static void handle_message(struct devplane_dev *d, const struct ipc_msg *msg)
{
	if (strcmp(msg->device, d->id)) {
		reply_error(d, msg, SPLITVM__ERROR_CODE__ERR_PROTOCOL, "device",
		            "the envelope names another device than this socket's");
		return;
	}
	if (msg->type->type == SPLITVM__MSG_TYPE__MSG_DEVICE_ATTACH) {
		if (d->attached && msg->epoch == d->epoch)
			handle_attach_again(d, msg);
		else
			handle_attach(d, msg);
		return;
	}
	if (!d->attached || msg->epoch != d->epoch) {
		/* A predecessor's late words, or a process that never attached. */
		log_warnx_ratelimited(&d->rl, "device %s: %s from epoch %u ignored (attached: %u)",
		                      d->id, msg->type->name, msg->epoch, d->epoch);
		return;
	}
	if (d->plain) {
		if (msg->type->type == SPLITVM__MSG_TYPE__MSG_NVDIMM_DSM_REPLY)
			handle_call_reply(d, msg);
		else
			log_warnx_ratelimited(&d->rl, "device %s: unexpected %s ignored", d->id,
			                      msg->type->name);
		return;
	}
	switch (msg->type->type) {
	case SPLITVM__MSG_TYPE__MSG_DEVICE_RESPONSE:
		handle_response(d, msg);
		break;
	case SPLITVM__MSG_TYPE__MSG_DEVICE_CONFIG_UPDATE:
		config_apply(d, (const Splitvm__DeviceConfigUpdate *)msg->body);
		break;
	case SPLITVM__MSG_TYPE__MSG_DEVICE_SLOT_MAP:
		handle_slot_map(d, msg);
		break;
	default:
		log_warnx_ratelimited(&d->rl, "device %s: unexpected %s ignored", d->id,
		                      msg->type->name);
		break;
	}
}

static void serve_chan(struct devplane_dev *d)
{
	/* Bounded: one wake-up never starves the other devices for long. */
	for (unsigned i = 0; i < 64; i++) {
		struct ipc_msg *msg = NULL;
		struct ipc_err err;
		int r = ipc_recv(d->chan, 0, &msg, &err);

		if (r) {
			if (err.code == IPC_ERR_TIMEOUT)
				return;
			log_warnx_ratelimited(&d->rl, "device %s: %s", d->id, err.text);
			if (!ipc_errcode_is_malformed(err.code))
				return;
			continue;
		}
		handle_message(d, msg);
		ipc_msg_free(msg);
	}
}

static void serve_pending(struct devplane_dev *d)
{
	uint32_t mask;
	unsigned ev = vmmio_take_pending(&d->t, &mask);

	if (ev & VMMIO_EV_RESET) {
		Splitvm__DeviceReset msg = SPLITVM__DEVICE_RESET__INIT;

		/* Requests of the old rings are void. */
		reqs_drop_all(d);
		if (d->attached)
			send_simple(d, &msg.base, "DeviceReset");
	}
	if (ev & VMMIO_EV_DRIVER_OK) {
		Splitvm__DeviceDriverReady msg = SPLITVM__DEVICE_DRIVER_READY__INIT;

		pthread_mutex_lock(&d->t.lock);
		msg.driver_features = d->t.driver_features;
		pthread_mutex_unlock(&d->t.lock);
		if (d->attached)
			send_simple(d, &msg.base, "DeviceDriverReady");
		/* Chains made available before DRIVER_OK wait for no kick. */
		mask |= (1u << d->t.n_queues) - 1;
	}
	for (unsigned q = 0; q < VMMIO_MAX_QUEUES; q++) {
		if (mask & (1u << q))
			serve_queue(d, q);
	}
}

static void *devplane_thread(void *arg)
{
	struct devplane *dp = arg;

	while (!dp->stop) {
		struct epoll_event evs[16];
		int n = epoll_wait(dp->epoll_fd, evs, 16, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_warn("device plane: epoll_wait");
			break;
		}
		for (int i = 0; i < n && !dp->stop; i++) {
			unsigned kind = (unsigned)(evs[i].data.u64 >> 32);
			unsigned di = (unsigned)(evs[i].data.u64 >> 16) & 0xffff;
			unsigned q = (unsigned)evs[i].data.u64 & 0xffff;
			uint64_t cnt;

			if (kind == EV_WAKE) {
				if (read(dp->wake_fd, &cnt, sizeof(cnt)) < 0) {
					/* EAGAIN: another wake took it */
				}
				for (unsigned k = 0; k < dp->n; k++) {
					if (dp->devs[k]->plain)
						call_send(dp->devs[k]);
					else
						serve_pending(dp->devs[k]);
				}
			} else if (di < dp->n && kind == EV_NOTIFY) {
				struct devplane_dev *d = dp->devs[di];

				if (read(d->notify_fd[q], &cnt, sizeof(cnt)) < 0) {
					/* EAGAIN: nothing new */
				}
				serve_queue(d, q);
			} else if (di < dp->n && kind == EV_CHAN) {
				serve_chan(dp->devs[di]);
			}
		}
	}
	return NULL;
}

int devplane_start(struct devplane *dp)
{
	int r;

	if (dp->started)
		return 0;
	r = -pthread_create(&dp->thread, NULL, devplane_thread, dp);
	if (r) {
		log_warnx("device plane: pthread_create: %s", strerror(-r));
		return r;
	}
	dp->started = true;
	return 0;
}

int devplane_wait_attached(struct devplane *dp, int timeout_ms)
{
	struct timespec until;
	int r = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&dp->lock);
	for (;;) {
		unsigned missing = 0;

		for (unsigned i = 0; i < dp->n; i++)
			missing += !dp->devs[i]->ready;
		if (!missing)
			break;
		r = pthread_cond_timedwait(&dp->cond, &dp->lock, &until);
		if (r == ETIMEDOUT) {
			for (unsigned i = 0; i < dp->n; i++) {
				if (!dp->devs[i]->attached)
					log_warnx("device %s: no device process attached to "
					          "%s/dev-%s "
					          "within %d ms",
					          dp->devs[i]->id, dp->rundir, dp->devs[i]->id,
					          timeout_ms);
				else if (!dp->devs[i]->ready)
					log_warnx("device %s: attached, but its config (which "
					          "names the region's address) did not follow "
					          "within %d ms",
					          dp->devs[i]->id, timeout_ms);
			}
			r = -ETIMEDOUT;
			break;
		}
		r = 0;
	}
	pthread_mutex_unlock(&dp->lock);
	return r;
}

unsigned devplane_count(const struct devplane *dp)
{
	return dp ? dp->n : 0;
}

struct vmmio *devplane_transport(struct devplane *dp, unsigned i)
{
	return dp && i < dp->n && !dp->devs[i]->plain ? &dp->devs[i]->t : NULL;
}

int devplane_set_region(struct devplane *dp, const char *id, uint64_t gpa, uint64_t size)
{
	for (unsigned i = 0; i < (dp ? dp->n : 0); i++) {
		if (!strcmp(dp->devs[i]->id, id)) {
			pthread_mutex_lock(&dp->lock);
			dp->devs[i]->region_gpa = gpa;
			dp->devs[i]->region_size = size;
			pthread_mutex_unlock(&dp->lock);
			return 0;
		}
	}
	return -ENOENT;
}

void devplane_set_slot_map(struct devplane *dp, devplane_slot_map_fn fn, void *opaque)
{
	dp->slot_map = fn;
	dp->slot_map_opaque = opaque;
}

void devplane_destroy(struct devplane *dp)
{
	uint64_t one = 1;

	if (!dp)
		return;
	if (dp->started) {
		dp->stop = 1;
		if (write(dp->wake_fd, &one, sizeof(one)) < 0) {
			/* the counter is non-zero: the thread wakes anyway */
		}
		pthread_join(dp->thread, NULL);
		dp->started = false;
	}
	for (unsigned i = 0; i < dp->n; i++)
		dev_free(dp->devs[i]);
	close_fd(&dp->wake_fd);
	close_fd(&dp->epoll_fd);
	pthread_cond_destroy(&dp->cond);
	pthread_mutex_destroy(&dp->lock);
	free(dp);
}

int core_virtio_start(struct machine *m, int timeout_ms)
{
	const struct core_config *cfg = m->cfg;
	uint64_t next = m->mm.devmem_base;
	int r;

	if (!cfg->n_virtio && !cfg->n_nvdimm)
		return 0;
	r = devplane_create(&m->devplane, m, &m->mm, cfg->run_dir);
	if (r)
		return r;
	/* Slots of a sparse region (RegionMap sparse) on DeviceSlotMap. */
	devplane_set_slot_map(m->devplane, machine_sparse_slot_map, m);
	for (unsigned i = 0; i < cfg->n_virtio; i++) {
		const struct core_virtio_cfg *v = &cfg->virtio[i];
		uint64_t size = 0;

		r = devplane_add(m->devplane, v->id);
		if (r)
			return r;
		for (unsigned b = 0; b < cfg->n_backends && v->memdev[0]; b++) {
			if (!strcmp(cfg->backends[b].id, v->memdev))
				size = cfg->backends[b].size;
		}
		/* Each region 1 GiB aligned in the device-memory area, in order. */
		if (size && next + size <= m->mm.devmem_base + m->mm.devmem_size) {
			r = devplane_set_region(m->devplane, v->id, next, size);
			if (r)
				return r;
			next = (next + size + GIB - 1) & ~(GIB - 1);
		}
	}
	/* NVDIMMs: a channel each for their label _DSM calls, and the port. */
	for (unsigned i = 0; i < cfg->n_nvdimm; i++) {
		r = devplane_add_plain(m->devplane, cfg->nvdimm[i].id);
		if (r)
			return r;
	}
	if (cfg->n_nvdimm) {
		r = io_register_pio(NVDIMM_ACPI_IO_BASE, NVDIMM_ACPI_IO_LEN, nfit_dsm_io, m);
		if (r) {
			log_warnx("nvdimm: the _DSM port 0x%x: %s", NVDIMM_ACPI_IO_BASE,
			          strerror(-r));
			return r;
		}
	}
	r = devplane_start(m->devplane);
	if (r || timeout_ms <= 0)
		return r;
	log_info("waiting for %u device process(es) in %s", cfg->n_virtio + cfg->n_nvdimm,
	         cfg->run_dir);
	return devplane_wait_attached(m->devplane, timeout_ms);
}
