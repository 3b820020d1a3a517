/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host's half of the vmem-replay scenario (vmem_replay_run.h): posts
 * the recording's operations into the guest's mailbox one at a time, each
 * only after the previous one was answered (QEMU's log is that sequence),
 * changes requested-size on the devctl channel where QEMU's qom-set was,
 * and compares.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "vmem_replay_mailbox.h"
#include "vmem_replay_run.h"

static volatile uint64_t *mailbox_map(struct vm *v, void **base)
{
	void *p = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, v->ram_fd, 0);

	CHECK(p != MAP_FAILED, "mmap of guest RAM: %s", strerror(errno));
	*base = p;
	return (volatile uint64_t *)((char *)p + VMR_MAILBOX_GPA);
}

/* Until mailbox word @w reaches @n, the guest failed, or the core ended. */
static void wait_word(struct vm *v, volatile uint64_t *mb, unsigned w, uint64_t n)
{
	uint64_t until = now_ms() + DEADLINE_MS;

	for (unsigned spin = 0;; spin++) {
		int status;

		if (__atomic_load_n(&mb[w], __ATOMIC_ACQUIRE) >= n)
			return;
		if (spin < 100000)
			continue; /* an answer takes microseconds: poll before sleeping */
		CHECK(!strstr(console_text(v), "splitvm-guest: FAIL"), "the guest failed");
		CHECK(waitpid(v->core_pid, &status, WNOHANG) == 0, "the core ended (status 0x%x)",
		      status);
		CHECK(now_ms() < until, "mailbox word %u did not reach %" PRIu64 " in %d ms", w, n,
		      DEADLINE_MS);
		slurp(v);
		sleep_ms(1);
	}
}

/* Post operation @i and wait for its answer; the operation's words. */
static volatile uint64_t *post(struct vm *v, volatile uint64_t *mb, uint64_t i, uint64_t w0,
                               uint64_t arg)
{
	volatile uint64_t *op = mb + VMR_OPS + i * VMR_OP_WORDS;

	CHECK(i < VMR_MAX_OPS, "more than %u operations", (unsigned)VMR_MAX_OPS);
	for (unsigned k = 0; k < VMR_OP_WORDS; k++)
		op[k] = 0;
	op[VMR_W_OP] = w0;
	op[VMR_W_ARG] = arg;
	__atomic_store_n(&mb[VMR_POSTED], i + 1, __ATOMIC_RELEASE);
	wait_word(v, mb, VMR_DONE, i + 1);
	return op;
}

void replay_recording(struct vm *v, const struct vr_rec *r, const char *guest_args,
                      struct replay_out *out)
{
	char cmdline[256], requested[32];
	volatile uint64_t *mb;
	int64_t want_usable = -1;
	uint64_t devaddr, nops = 0, t0;
	size_t nreq = 0, checks = 0;
	struct ipc_msg *msg;
	void *ram;

	v->vmem_size = r->size;
	v->block_size = r->block_size;
	snprintf(cmdline, sizeof(cmdline), "scenario=vmem-replay mailbox=0x%x %s", VMR_MAILBOX_GPA,
	         guest_args);
	snprintf(requested, sizeof(requested), "%" PRIu64, r->requested);
	vm_boot(v, cmdline, requested);
	mb = mailbox_map(v, &ram);
	wait_word(v, mb, VMR_READY, 1);
	devaddr = dev_status(v, &msg)->addr;
	ipc_msg_free(msg);
	if (out) {
		*out = (struct replay_out){ .cycles = calloc(r->nreq + 1, sizeof(uint64_t)) };
		CHECK(out->cycles, "calloc");
	}
	t0 = now_ms();
	for (size_t i = 0; i < r->n; i++) {
		const struct vr_ev *e = &r->ev[i];
		volatile uint64_t *op = NULL;

		if (e->usable >= 0)
			want_usable = e->usable;
		switch (e->kind) {
		case VR_SET:
			set_requested(v, e->value);
			op = post(v, mb, nops++, VMR_OP_WAIT, e->value);
			break;
		case VR_REQ: {
			/* The recording's addresses, moved to where this device sits. */
			uint64_t addr = e->type == 2 ? 0 : devaddr + (e->addr - r->addr);
			uint64_t resp, state;

			op = post(v, mb, nops++,
			          VMR_OP_REQ | (uint64_t)e->type << 8 | (uint64_t)e->nb << 16,
			          addr);
			resp = op[VMR_W_RESP] & 0xffff;
			state = op[VMR_W_RESP] >> 16 & 0xffff;
			CHECK(resp == (uint64_t)e->resp,
			      "line %u: request type %u addr 0x%" PRIx64
			      " nb %u: QEMU answered %d, "
			      "splitvm %" PRIu64,
			      e->line, e->type, e->addr, e->nb, e->resp, resp);
			CHECK(e->state < 0 || state == (uint64_t)e->state,
			      "line %u: STATE: QEMU %d, splitvm %" PRIu64, e->line, e->state,
			      state);
			checks += 1 + (e->state >= 0);
			if (out) {
				out->cycles[nreq] = op[VMR_W_CYCLES];
				if (!nreq)
					out->first_tsc = op[VMR_W_TSC];
				out->last_tsc = op[VMR_W_TSC] + op[VMR_W_CYCLES];
			}
			nreq++;
			break;
		}
		case VR_QUERY:
			CHECK(plugged(v) == e->value,
			      "line %u: plugged size: QEMU 0x%" PRIx64 ", splitvm 0x%" PRIx64,
			      e->line, e->value, plugged(v));
			checks++;
			break;
		}
		if (op && want_usable >= 0) {
			CHECK(op[VMR_W_USABLE] == (uint64_t)want_usable,
			      "line %u: usable region: QEMU 0x%" PRIx64 ", splitvm 0x%" PRIx64,
			      e->line, (uint64_t)want_usable, op[VMR_W_USABLE]);
			checks++;
		}
	}
	if (out) {
		out->wall_us = (now_ms() - t0) * 1000;
		out->nreq = nreq;
		out->checks = checks;
	}
	CHECK(plugged(v) == r->final_plugged,
	      "final plugged size: QEMU 0x%" PRIx64 ", splitvm 0x%" PRIx64, r->final_plugged,
	      plugged(v));
	checks++;
	mb[VMR_FINISH] = 1;
	wait_console(v, "splitvm-guest: PASS", 1);
	CHECK(core_exit_status(v) == 0, "the core's exit status");
	munmap(ram, RAM_SIZE);
	printf("vmem_replay: %zu requests, %zu checks, final plugged 0x%" PRIx64
	       ": all equal to QEMU's\n",
	       nreq, checks, r->final_plugged);
}
