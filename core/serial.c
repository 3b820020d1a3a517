/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A 16550A UART at COM1 (0x3f8, IRQ 4): enough of the register file for
 * Linux's early console and 8250 driver (including its probe: scratch
 * register, IER read-back, FIFO detection and the loopback test) and for the
 * test guest's polled output.  Transmission is instant, so LSR always shows
 * THR empty and a THRE interrupt is pending whenever the driver asks for one.
 *
 * The guest's console goes to stdout (the only thing the core prints there),
 * a file, or a pty; input from stdin or the pty feeds a 16-byte FIFO.
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "fd.h"
#include "log.h"

#define UART_RBR 0
#define UART_IER 1
#define UART_IIR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI    0x01
#define IER_THRI   0x02
#define IIR_NO_INT 0x01
#define IIR_THRI   0x02
#define IIR_RDI    0x04
#define IIR_FIFO   0xc0
#define LCR_DLAB   0x80
#define MCR_LOOP   0x10
#define LSR_DR     0x01
#define LSR_THRE   0x20
#define LSR_TEMT   0x40
#define MSR_CTS    0x10
#define MSR_DSR    0x20
#define MSR_RI     0x40
#define MSR_DCD    0x80

#define RX_FIFO_SIZE 16

struct serial {
	struct machine *m;
	pthread_mutex_t lock;
	int out_fd;
	int in_fd;
	bool own_out; /* out_fd is ours to close (file, pty) */
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thr_ipending;
	bool irq_level;
	uint8_t rx[RX_FIFO_SIZE];
	unsigned rx_head, rx_count;
};

static uint8_t serial_iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & 1) ? IIR_FIFO : 0;

	if ((s->ier & IER_RDI) && s->rx_count)
		return IIR_RDI | fifo;
	if ((s->ier & IER_THRI) && s->thr_ipending)
		return IIR_THRI | fifo;
	return IIR_NO_INT | fifo;
}

static void serial_update_irq(struct serial *s)
{
	bool level = !(serial_iir(s) & IIR_NO_INT);

	if (level == s->irq_level)
		return;
	s->irq_level = level;
	if (machine_irq_line(s->m, SERIAL_COM1_IRQ, level))
		log_debug("serial: KVM_IRQ_LINE %d failed", level);
}

static void rx_push(struct serial *s, uint8_t c)
{
	if (s->rx_count == RX_FIFO_SIZE)
		return; /* overrun: drop, as the hardware would */
	s->rx[(s->rx_head + s->rx_count) % RX_FIFO_SIZE] = c;
	s->rx_count++;
}

static void serial_out_byte(struct serial *s, uint8_t c)
{
	if (s->mcr & MCR_LOOP) {
		rx_push(s, c);
		return;
	}
	if (s->out_fd < 0)
		return;
	/* A pty nobody reads fills up: drop output rather than stall the vCPU. */
	while (write(s->out_fd, &c, 1) < 0 && errno == EINTR) {
	}
}

static void serial_write(struct serial *s, unsigned reg, uint8_t v)
{
	switch (reg) {
	case UART_RBR:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			break;
		}
		serial_out_byte(s, v);
		s->thr_ipending = true;
		break;
	case UART_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		/* Enabling THRI with THR empty raises the interrupt at once. */
		if (!(s->ier & IER_THRI) && (v & IER_THRI))
			s->thr_ipending = true;
		s->ier = v & 0x0f;
		break;
	case UART_IIR:
		s->fcr = v & 0xc9; /* bit 1/2 reset the FIFOs */
		if (v & 0x02)
			s->rx_count = 0;
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default:
		break; /* LSR, MSR: read-only */
	}
}

static uint8_t serial_read(struct serial *s, unsigned reg)
{
	uint8_t v = 0;

	switch (reg) {
	case UART_RBR:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		if (s->rx_count) {
			v = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % RX_FIFO_SIZE;
			s->rx_count--;
		}
		return v;
	case UART_IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case UART_IIR:
		v = serial_iir(s);
		/* Reading IIR that shows THRE acknowledges it. */
		if ((v & 0x0f) == IIR_THRI)
			s->thr_ipending = false;
		return v;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0);
	case UART_MSR:
		if (s->mcr & MCR_LOOP) {
			/* Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
			return (uint8_t)(((s->mcr & 0x01) ? MSR_DSR : 0) |
			                 ((s->mcr & 0x02) ? MSR_CTS : 0) |
			                 ((s->mcr & 0x04) ? MSR_RI : 0) |
			                 ((s->mcr & 0x08) ? MSR_DCD : 0));
		}
		return MSR_DCD | MSR_DSR | MSR_CTS;
	case UART_SCR:
		return s->scr;
	default:
		return 0xff;
	}
}

static void serial_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 0; i < len && off + i < 8; i++) {
		if (is_write)
			serial_write(s, (unsigned)(off + i), data[i]);
		else
			data[i] = serial_read(s, (unsigned)(off + i));
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

int serial_input_fd(const struct serial *s)
{
	return s->in_fd;
}

void serial_input_ready(struct serial *s)
{
	uint8_t buf[RX_FIFO_SIZE];
	ssize_t n;
	size_t room;

	pthread_mutex_lock(&s->lock);
	room = RX_FIFO_SIZE - s->rx_count;
	if (room == 0) {
		pthread_mutex_unlock(&s->lock);
		/* The guest has not drained the FIFO yet: let it run. */
		usleep(1000);
		return;
	}
	n = read(s->in_fd, buf, room);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		/* End of input: stop polling it (a closed stdin would spin). */
		if (s->in_fd != STDIN_FILENO && s->in_fd != s->out_fd)
			close_fd(&s->in_fd);
		s->in_fd = -1;
	}
	for (ssize_t i = 0; i < n; i++)
		rx_push(s, buf[i]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static int open_pty(struct serial *s)
{
	struct termios tio;
	int fd, r;

	fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || grantpt(fd) || unlockpt(fd)) {
		r = -errno;
		log_warn("-serial pty: posix_openpt");
		if (fd >= 0)
			close(fd);
		return r;
	}
	if (tcgetattr(fd, &tio) == 0) {
		cfmakeraw(&tio);
		tcsetattr(fd, TCSANOW, &tio);
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	log_info("serial: char device redirected to %s", ptsname(fd));
	s->out_fd = fd;
	s->in_fd = fd;
	s->own_out = true;
	return 0;
}

struct serial *serial_create(struct machine *m, enum core_serial_mode mode, const char *path)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->m = m;
	s->out_fd = -1;
	s->in_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	switch (mode) {
	case CORE_SERIAL_STDIO:
		s->out_fd = STDOUT_FILENO;
		/* Input only from a terminal or a pipe someone writes to. */
		if (isatty(STDIN_FILENO))
			s->in_fd = STDIN_FILENO;
		break;
	case CORE_SERIAL_FILE:
		s->out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (s->out_fd < 0) {
			log_warn("-serial file:%s", path);
			goto fail;
		}
		s->own_out = true;
		break;
	case CORE_SERIAL_PTY:
		if (open_pty(s))
			goto fail;
		break;
	case CORE_SERIAL_NONE:
		break;
	}
	if (io_register_pio(SERIAL_COM1_BASE, 8, serial_io, s)) {
		log_warnx("serial: port 0x%x already claimed", SERIAL_COM1_BASE);
		goto fail;
	}
	return s;
fail:
	serial_destroy(s);
	return NULL;
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	if (s->own_out) {
		if (s->in_fd == s->out_fd)
			s->in_fd = -1;
		close_fd(&s->out_fd);
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}
