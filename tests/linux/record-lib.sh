# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by the record-*.sh recorders: what every recording of Linux under
# QEMU (-accel tcg) does the same way.  Each recorder keeps its own
# options, guest and QMP script; this file gives them
#   rec_args NAME "$@"   out (OUT.log, absolute) and linux (LINUXDIR)
#   rec_prepare [TOOL..] the kernel dir (build-initramfs.sh when missing),
#                        qemu and the TOOLs checked, work (a directory) and
#                        the cleanup trap that kills QEMU and removes work
#   rec_virtio_pci_modules  virtio_pci from the kernel package into the
#                        overlay's extra.order (the shared initramfs lacks it)
#   rec_init_prelude     the head of an overlay /init: busybox, mounts, modules
#   rec_overlay_pack     $work/overlay packed and appended to the initramfs:
#                        $work/initramfs.cpio.gz
#   rec_qemu_argv ...    the QEMU command line, into the array qemu
#   rec_qemu_start, rec_qemu_wait   QEMU in the background (qpid), and its end
#   rec_python ARG.. <<'PY'  a QMP script, with the helpers of rec_qmp_py
#   rec_header_qemu, rec_command_line PREFIX   the log header's lines

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# rec_args NAME OUT.log [LINUXDIR]
rec_args() {
	local name=$1
	shift
	out=$(realpath -m "${1:?usage: $name OUT.log [LINUXDIR]}")
	linux=$(realpath -m "${2:-${TMPDIR:-/tmp}/splitvm-linux}")
}

rec_cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null
	rm -rf "$work"
}

# rec_prepare [TOOL...]: what every recording needs before the guest is made.
rec_prepare() {
	local t
	if [ ! -f "$linux/vmlinuz" ] || [ ! -f "$linux/initramfs.cpio.gz" ]; then
		"$here/build-initramfs.sh" "$linux"
	fi
	for t in qemu-system-x86_64 "$@"; do
		command -v "$t" >/dev/null || { echo "record: no $t" >&2; exit 1; }
	done
	work=$(mktemp -d)
	qpid=
	trap rec_cleanup EXIT
}

# virtio-*-pci needs virtio_pci, which the shared initramfs leaves out: take
# it (and the helper modules it needs) from the same kernel package into the
# overlay, unless the kernel has it built in.
rec_virtio_pci_modules() {
	local kver m f
	kver=$(cat "$linux/kernel-version")
	mkdir -p "$work/overlay/lib/modules/extra" "$work/deb" "$work/k"
	(cd "$work/deb" && apt-get -q -o APT::Sandbox::User=root download "linux-image-$kver" >/dev/null)
	dpkg -x "$work"/deb/linux-image-*.deb "$work/k"
	: >"$work/overlay/extra.order"
	for m in virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci; do
		f=$(find "$work/k/lib/modules/$kver" -name "$m.ko*" | head -n 1)
		if [ -z "$f" ]; then
			continue # built in
		fi
		case "$f" in
		*.xz) xz -dc "$f" ;;
		*.zst) zstd -qdc "$f" ;;
		*) cat "$f" ;;
		esac >"$work/overlay/lib/modules/extra/$m.ko"
		echo "$m.ko" >>"$work/overlay/extra.order"
	done
	rm -rf "$work/deb" "$work/k"
}

# The head of an overlay /init (a second cpio archive appended to the
# initramfs replaces the first one's /init): busybox, /proc, /sys, /dev and
# the shared initramfs's modules, then those of extra.order if there is one.
rec_init_prelude() {
	cat <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
for m in $(cat /modules.order); do
	insmod "/lib/modules/$m" || echo "insmod $m failed"
done
for m in $(cat /extra.order 2>/dev/null); do
	insmod "/lib/modules/extra/$m" || echo "insmod $m failed"
done
INIT
}

# $work/overlay (with its init) appended to the kernel dir's initramfs.
rec_overlay_pack() {
	chmod 755 "$work/overlay/init"
	(cd "$work/overlay" && find . | cpio -o -H newc 2>/dev/null) | gzip >"$work/overlay.cpio.gz"
	cat "$linux/initramfs.cpio.gz" "$work/overlay.cpio.gz" >"$work/initramfs.cpio.gz"
}

# rec_qemu_argv INITRD APPEND SERIAL QMP LOG MACHINE.. -- HW.. -- EVENT.. [-- TAIL..]
# The array qemu: QEMU under TCG with MACHINE's options, HW (memory, CPUs,
# backends, devices), the kernel dir's kernel with INITRD and "console=ttyS0
# quiet APPEND", the console into SERIAL, QMP on the socket QMP, and the
# trace EVENTs with the QMP traffic (handle_qmp_command,
# monitor_qmp_respond) into LOG with timestamps; then TAIL.  The order is
# the one the committed logs' "command:" lines show.
rec_qemu_argv() {
	local initrd=$1 append=$2 serial=$3 qmp=$4 log=$5
	local machine=() hw=() events=()
	shift 5
	while [ "$1" != -- ]; do machine+=("$1"); shift; done
	shift
	while [ "$1" != -- ]; do hw+=("$1"); shift; done
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do events+=(-trace "$1"); shift; done
	[ $# -eq 0 ] || shift
	qemu=(qemu-system-x86_64 -accel tcg "${machine[@]}" -nodefaults -nographic -no-reboot
		"${hw[@]}"
		-kernel "$linux/vmlinuz" -initrd "$initrd" -append "console=ttyS0 quiet $append"
		-serial file:"$serial"
		-qmp unix:"$qmp",server=on,wait=off
		"${events[@]}" -trace handle_qmp_command -trace monitor_qmp_respond
		-D "$log" -msg timestamp=on "$@")
}

rec_qemu_start() {
	"${qemu[@]}" &
	qpid=$!
}

rec_qemu_wait() {
	wait "$qpid" || true
	qpid=
}

# The Python every QMP script starts with: wait_for(), serial_text(),
# size_bytes(), and a QMP client that keeps the events it reads in events
# (name, device) and the ACPI_DEVICE_OST infos in osts.
rec_qmp_py() {
	cat <<'PY'
import json, re, socket, sys, time

UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}

def size_bytes(s):
    return int(s[:-1]) * UNITS[s[-1]] if s[-1] in UNITS else int(s)

def wait_for(pred, what, limit):
    end = time.time() + limit
    while time.time() < end:
        if pred():
            return
        time.sleep(0.2)
    sys.exit("record: timed out waiting for " + what)

def serial_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""

qmp_sock = socket.socket(socket.AF_UNIX)
qmp_buf = b""
events = []
osts = []  # the "info" of each ACPI_DEVICE_OST

def read_msg(timeout=None):
    """The next QMP message, or None when none came within @timeout s."""
    global qmp_buf
    while b"\n" not in qmp_buf:
        qmp_sock.settimeout(timeout)
        try:
            chunk = qmp_sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return None
        if not chunk:
            sys.exit("record: QEMU closed QMP")
        qmp_buf += chunk
    line, qmp_buf = qmp_buf.split(b"\n", 1)
    r = json.loads(line)
    if "event" in r:
        events.append((r["event"], r.get("data", {}).get("device")))
        if r["event"] == "ACPI_DEVICE_OST":
            osts.append(r["data"]["info"])
    return r

def cmd(name, **args):
    qmp_sock.settimeout(None)
    qmp_sock.sendall((json.dumps({"execute": name, "arguments": args}) + "\n").encode())
    while True:
        r = read_msg()
        if "error" in r:
            sys.exit("record: %s: %s" % (name, r["error"]))
        if "return" in r:
            return r["return"]

def qmp_connect(path):
    """Connected, greeted and out of capabilities negotiation."""
    wait_for(lambda: qmp_sock.connect_ex(path) == 0, "QMP", 30)
    read_msg()  # greeting
    cmd("qmp_capabilities")
PY
}

# rec_python ARG... <<'PY' ... PY: the script on stdin after rec_qmp_py.
rec_python() {
	{ rec_qmp_py; cat; } | python3 - "$@"
}

# The header's QEMU version line.
rec_header_qemu() {
	echo "# $(qemu-system-x86_64 --version | head -n 1)"
}

# rec_command_line PREFIX: "# PREFIXcommand: " and the qemu array, with the
# work and kernel directories as WORK and LINUX.
rec_command_line() {
	echo "# ${1}command: ${qemu[*]}" | sed "s|$work|WORK|g; s|$linux|LINUX|g"
}
