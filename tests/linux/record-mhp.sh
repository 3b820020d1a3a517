#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Record Linux's traffic on the ACPI memory-hotplug controller with QEMU's
# answers: boot Debian's kernel and the initramfs of
# tests/linux/build-initramfs.sh under Debian's QEMU in software emulation
# (-accel tcg -M q35) with DIMM slots, QEMU's trace events mhp_acpi_* (and
# the QMP traffic, which places the plug and the unplug request among them)
# written to a log, then over QMP: object_add a RAM backend + device_add a
# pc-dimm, wait until the guest's MemTotal has grown by its size, device_del
# it, wait for DEVICE_DELETED and for MemTotal to fall back, quit.  The log,
# behind a "# " header with the QEMU version and command line, is what
# tests/tools/mhp_replay reads.
#
# usage: record-mhp.sh OUT.log [LINUXDIR]
#   LINUXDIR holds vmlinuz + initramfs.cpio.gz (made by build-initramfs.sh
#   when missing; default $TMPDIR/splitvm-linux).
# env: MHP_SLOTS (4), MHP_MAXMEM (8G), MHP_DIMM_SIZE (1G),
#      MHP_SETTLE_S (600: how long to wait for each MemTotal change)
#
# The guest runs build-initramfs.sh's /init with splitvm.memwatch=1: it
# prints "memtotal_kb=N" at boot and whenever MemTotal changes.  Hotplugged
# memory is onlined movable (memhp_default_state=online_movable) so that
# Linux can offline it again and eject the DIMM.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$(realpath -m "${1:?usage: record-mhp.sh OUT.log [LINUXDIR]}")
linux=$(realpath -m "${2:-${TMPDIR:-/tmp}/splitvm-linux}")
slots=${MHP_SLOTS:-4}
maxmem=${MHP_MAXMEM:-8G}
dimm=${MHP_DIMM_SIZE:-1G}
settle=${MHP_SETTLE_S:-600}

if [ ! -f "$linux/vmlinuz" ] || [ ! -f "$linux/initramfs.cpio.gz" ]; then
	"$here/build-initramfs.sh" "$linux"
fi
command -v qemu-system-x86_64 >/dev/null || { echo "record: no qemu-system-x86_64" >&2; exit 1; }

work=$(mktemp -d)
qpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

qemu=(qemu-system-x86_64 -accel tcg -M q35 -nodefaults -nographic -no-reboot
	-m "1G,slots=$slots,maxmem=$maxmem" -smp 1
	-kernel "$linux/vmlinuz" -initrd "$linux/initramfs.cpio.gz"
	-append "console=ttyS0 quiet memhp_default_state=online_movable splitvm.memwatch=1"
	-serial file:"$work/serial.log"
	-qmp unix:"$work/qmp.sock",server=on,wait=off
	-trace 'mhp_acpi_*' -trace handle_qmp_command -trace monitor_qmp_respond
	-D "$work/trace.log" -msg timestamp=on)
"${qemu[@]}" &
qpid=$!

python3 - "$work/qmp.sock" "$work/serial.log" "$settle" "$dimm" <<'PY'
import json, re, socket, sys, time

sock_path, serial, settle, dimm = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
dimm_bytes = int(dimm[:-1]) * UNITS[dimm[-1]] if dimm[-1] in UNITS else int(dimm)

def wait_for(pred, what, limit):
    end = time.time() + limit
    while time.time() < end:
        if pred():
            return
        time.sleep(0.5)
    sys.exit("record: timed out waiting for " + what)

def console():
    try:
        with open(serial, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""

def memtotal_kb():
    m = re.findall(r"memtotal_kb=(\d+)", console())
    return int(m[-1]) if m else None

t0 = time.time()
wait_for(lambda: "SPLITVM-LINUX-READY" in console() and memtotal_kb(), "the guest", settle)
boot_kb = memtotal_kb()
print("record: guest up in %.0f s, MemTotal %d kB" % (time.time() - t0, boot_kb))

s = socket.socket(socket.AF_UNIX)
wait_for(lambda: s.connect_ex(sock_path) == 0, "QMP", 30)
buf = b""
events = []

def read_msg(timeout=None):
    """The next QMP message, or None when none came within @timeout s."""
    global buf
    while b"\n" not in buf:
        s.settimeout(timeout)
        try:
            chunk = s.recv(65536)
        except (socket.timeout, TimeoutError):
            return None
        if not chunk:
            sys.exit("record: QEMU closed QMP")
        buf += chunk
    line, buf = buf.split(b"\n", 1)
    r = json.loads(line)
    if "event" in r:
        events.append(r["event"])
    return r

def cmd(name, **args):
    s.settimeout(None)
    s.sendall((json.dumps({"execute": name, "arguments": args}) + "\n").encode())
    while True:
        r = read_msg()
        if "error" in r:
            sys.exit("record: %s: %s" % (name, r["error"]))
        if "return" in r:
            return r["return"]

read_msg()  # greeting
cmd("qmp_capabilities")
cmd("object-add", **{"qom-type": "memory-backend-ram", "id": "mem1", "size": dimm_bytes})
t0 = time.time()
cmd("device_add", driver="pc-dimm", id="dimm1", memdev="mem1")
want = boot_kb + dimm_bytes // 1024
wait_for(lambda: memtotal_kb() == want, "MemTotal %d kB after device_add" % want, settle)
print("record: MemTotal %d kB %.0f s after device_add" % (want, time.time() - t0))
# The DIMM's address and slot go into the log through monitor_qmp_respond:
# the replay plugs the same DIMM at the same place.
cmd("query-memory-devices")
time.sleep(2)  # let the guest's _OST and any follow-up scans finish

t0 = time.time()
cmd("device_del", id="dimm1")

def deleted():
    while read_msg(0.5):
        pass
    return "DEVICE_DELETED" in events

wait_for(deleted, "DEVICE_DELETED", settle)
print("record: DEVICE_DELETED %.0f s after device_del" % (time.time() - t0))
wait_for(lambda: memtotal_kb() == boot_kb, "MemTotal %d kB after the eject" % boot_kb, settle)
cmd("query-memory-devices")
cmd("object-del", id="mem1")
time.sleep(2)
cmd("quit")
PY
wait "$qpid" || true
qpid=

rm -f "$out"
mkdir -p "$(dirname "$out")"
{
	echo "# $(qemu-system-x86_64 --version | head -n 1)"
	echo "# kernel: $(cat "$linux/kernel-version" 2>/dev/null || echo unknown)"
	echo "# recorded by tests/linux/record-mhp.sh: device_add pc-dimm $dimm, device_del"
	echo "# command: ${qemu[*]}" | sed "s|$work|WORK|g; s|$linux|LINUX|g"
	cat "$work/trace.log"
} >"$out"
echo "record: $(grep -c 'mhp_acpi_' "$out") mhp_acpi_* trace lines in $out"
