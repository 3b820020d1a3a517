/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Polled 8250/16550 on COM1 and the debug-exit port.  Every port access is
 * a VM exit (about 11 us to user space on kvm_pvm), so output is gathered
 * into lines and each line goes out in FIFO-sized pieces with one rep outsb
 * (a single exit for the piece): after THRE says the transmit FIFO is
 * empty, 16 bytes (1 without a FIFO) may be written without looking.
 */
#include "guest.h"

#define UART_THR 0 /* transmit holding register */
#define UART_IER 1 /* interrupt enable */
#define UART_IIR 2 /* interrupt identification (read) */
#define UART_FCR 2 /* FIFO control (write) */
#define UART_LCR 3 /* line control */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status */

#define UART_LSR_THRE    0x20
#define UART_FCR_ENABLE  0x01
#define UART_FCR_CLEAR   0x06
#define UART_IIR_FIFO    0xc0
#define UART_LCR_8N1     0x03
#define UART_MCR_DTR_RTS 0x03

/* Bounded wait for THRE: a dead UART must not hang the guest forever. */
#define UART_THRE_POLLS 100000

/* Longest piece of output held back before it is written. */
#define LINE_MAX 128

static unsigned int tx_room;
static unsigned int tx_fifo = 1;
static char line[LINE_MAX];
static size_t line_len;

void con_init(void)
{
	/*
	 * Only what the "ready" line needs comes first: each port access is
	 * an exit to the VMM (measured 50-80 us here, load included).
	 * Clearing the transmit FIFO makes room for a whole FIFO without a
	 * look at LSR.  This assumes a UART as a VMM resets it, DLAB clear.
	 */
	outb(PORT_COM1 + UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR);
	if ((inb(PORT_COM1 + UART_IIR) & UART_IIR_FIFO) == UART_IIR_FIFO) {
		tx_fifo = 16;
		tx_room = 16;
	}
}

void con_init_rest(void)
{
	/*
	 * No interrupts, 8N1.  No divisor: the UARTs the guest meets are
	 * emulated and ignore the baud rate.
	 */
	outb(PORT_COM1 + UART_IER, 0);
	outb(PORT_COM1 + UART_LCR, UART_LCR_8N1);
	outb(PORT_COM1 + UART_MCR, UART_MCR_DTR_RTS);
}

static void uart_write(const char *s, size_t len)
{
	while (len) {
		size_t n;

		if (tx_room == 0) {
			for (unsigned int i = 0; i < UART_THRE_POLLS; i++) {
				if (inb(PORT_COM1 + UART_LSR) & UART_LSR_THRE)
					break;
			}
			tx_room = tx_fifo;
		}
		n = len < tx_room ? len : tx_room;
		tx_room -= (unsigned int)n;
		len -= n;
		__asm__ volatile("rep outsb"
		                 : "+S"(s), "+c"(n)
		                 : "d"(PORT_COM1 + UART_THR)
		                 : "memory");
	}
}

void con_ready(void)
{
	static const char ready[] = "splitvm-guest: ready\n";

	uart_write(ready, sizeof(ready) - 1);
}

static void con_flush(void)
{
	uart_write(line, line_len);
	line_len = 0;
}

static void con_putc(char c)
{
	line[line_len++] = c;
	if (c == '\n' || line_len == sizeof(line))
		con_flush();
}

void con_write(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		con_putc(s[i]);
}

static void put_str(const char *s, int width, bool left)
{
	size_t len = s ? strlen(s) : 6;

	if (!s)
		s = "(null)";
	for (int i = (int)len; !left && i < width; i++)
		con_putc(' ');
	con_write(s, len);
	for (int i = (int)len; left && i < width; i++)
		con_putc(' ');
}

static void put_num(uint64_t v, unsigned int base, bool neg, int width, char pad, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	int n = 0;

	/* Shifts for hex: a division is many cycles, emulated or not. */
	if (base == 16) {
		do {
			buf[n++] = digits[v & 0xf];
			v >>= 4;
		} while (v);
	} else {
		do {
			buf[n++] = digits[v % base];
			v /= base;
		} while (v);
	}
	if (neg && pad == '0')
		con_putc('-');
	for (int i = n + (neg ? 1 : 0); i < width; i++)
		con_putc(pad);
	if (neg && pad != '0')
		con_putc('-');
	while (n > 0)
		con_putc(buf[--n]);
}

/*
 * printf for the conversions the guest uses: %d %i %u %x %X %p %s %c %%,
 * with '-', '0', a width and the length modifiers l, ll and z.
 */
void gvprintf(const char *fmt, va_list ap)
{
	for (const char *p = fmt; *p; p++) {
		bool left = false, is_long = false;
		char pad = ' ';
		int width = 0;

		if (*p != '%') {
			con_putc(*p);
			continue;
		}
		p++;
		for (; *p == '-' || *p == '0'; p++) {
			if (*p == '-')
				left = true;
			else
				pad = '0';
		}
		for (; *p >= '0' && *p <= '9'; p++)
			width = width * 10 + (*p - '0');
		while (*p == 'l' || *p == 'z') {
			is_long = true;
			p++;
		}
		switch (*p) {
		case 'd':
		case 'i': {
			int64_t v = is_long ? va_arg(ap, int64_t) : va_arg(ap, int);
			uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

			put_num(mag, 10, v < 0, width, pad, false);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			uint64_t v = is_long ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int);

			put_num(v, *p == 'u' ? 10 : 16, false, width, pad, *p == 'X');
			break;
		}
		case 'p':
			con_write("0x", 2);
			put_num((uint64_t)(uintptr_t)va_arg(ap, void *), 16, false, width, pad,
			        false);
			break;
		case 's':
			put_str(va_arg(ap, const char *), width, left);
			break;
		case 'c':
			con_putc((char)va_arg(ap, int));
			break;
		case '%':
			con_putc('%');
			break;
		case '\0':
			return;
		default:
			con_putc('%');
			con_putc(*p);
			break;
		}
	}
}

void gprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gvprintf(fmt, ap);
	va_end(ap);
	con_flush();
}

void say(const char *fmt, ...)
{
	va_list ap;

	con_write("splitvm-guest: ", 15);
	va_start(ap, fmt);
	gvprintf(fmt, ap);
	va_end(ap);
	con_putc('\n');
}

int fail(const char *fmt, ...)
{
	va_list ap;

	con_write("splitvm-guest: FAIL: ", 21);
	va_start(ap, fmt);
	gvprintf(fmt, ap);
	va_end(ap);
	con_putc('\n');
	return 1;
}

void guest_exit(uint8_t status)
{
	con_flush();
	outb(PORT_DEBUG_EXIT, status);
	/*
	 * Still here: no debug-exit device.  Ask the i8042 for a reset (QEMU
	 * with -no-reboot then stops), and halt for good if that fails too.
	 */
	outb(0x64, 0xfe);
	for (;;)
		__asm__ volatile("cli; hlt");
}
