/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The small fixed devices of the core: the i8042's reset line, the test
 * guest's debug-exit port and the hardware-reduced ACPI sleep registers.
 */
#include "core.h"

#include "log.h"

/*
 * i8042: only what a PC's reset path needs.  Status reads "no data, input
 * buffer empty" so Linux's keyboard reset and probe do not wait; command
 * 0xfe pulses the CPU reset line, which here ends the process with status 0
 * (splitvm does not reboot a guest in place, as QEMU's -no-reboot).
 */
static void i8042_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct machine *m = opaque;

	if (!is_write) {
		for (uint32_t i = 0; i < len; i++)
			data[i] = 0;
		return;
	}
	if (off == I8042_CMD_PORT - I8042_DATA_PORT && data[0] == 0xfe) {
		log_info("guest reset");
		machine_request_exit(m, MACHINE_EXIT_RESET, 0);
	}
}

/*
 * Debug exit: the guest writes V (byte or word) and the process exits with
 * status V.  QEMU's isa-debug-exit exits with (V << 1) | 1 instead, so that
 * a guest can never fake a clean 0; splitvm's test guest wants its own 0/1,
 * and the exit code is cut to 8 bits by the OS either way.
 */
static void debug_exit_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct machine *m = opaque;
	unsigned v;

	(void)off;
	if (!is_write) {
		for (uint32_t i = 0; i < len; i++)
			data[i] = 0xff;
		return;
	}
	v = data[0];
	if (len >= 2)
		v |= (unsigned)data[1] << 8;
	log_info("guest debug exit with status %u", v);
	machine_request_exit(m, MACHINE_EXIT_DEBUG, (int)(v & 0xff));
}

/*
 * FADT SLEEP_CONTROL_REG: Linux writes SLP_TYPx << 2 | SLP_EN (bit 5) with
 * the \_S5 value of the DSDT to power off.  Other sleep states are refused by
 * ignoring the write (the guest then sees no transition).
 */
static void acpi_sleep_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct machine *m = opaque;
	unsigned typ;

	if (!is_write) {
		for (uint32_t i = 0; i < len; i++)
			data[i] = 0;
		return;
	}
	if (off != 0)
		return; /* status register: write-1-to-clear, nothing to clear */
	if (!(data[0] & 0x20))
		return;
	typ = (data[0] >> 2) & 7;
	if (typ == ACPI_SLP_TYP_S5) {
		log_info("guest ACPI power-off (S5)");
		machine_request_exit(m, MACHINE_EXIT_POWEROFF, 0);
	} else {
		log_debug("ACPI sleep type %u ignored", typ);
	}
}

int devices_register(struct machine *m)
{
	int r;

	r = io_register_pio(I8042_DATA_PORT, 5, i8042_io, m);
	if (!r)
		r = io_register_pio(DEBUG_EXIT_PORT, 2, debug_exit_io, m);
	if (!r)
		r = io_register_pio(ACPI_SLEEP_CONTROL_PORT, 2, acpi_sleep_io, m);
	if (r)
		log_warnx("devices: a fixed port range is already claimed");
	return r;
}
