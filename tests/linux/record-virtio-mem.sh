#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Record Linux's virtio-mem request stream with QEMU's answers: boot
# Debian's kernel and the initramfs of tests/linux/build-initramfs.sh under
# Debian's QEMU in software emulation (-accel tcg) with a virtio-mem-pci
# device, QEMU's trace events virtio_mem_* written to a log with
# timestamps, and resize 0 -> 1G -> 4G -> 512M -> 0 over QMP.  The log is
# what tests/tools/vmem_replay reads.
#
# usage: record-virtio-mem.sh OUT.log [LINUXDIR]
#   LINUXDIR holds vmlinuz + initramfs.cpio.gz (made by build-initramfs.sh
#   when missing; default $TMPDIR/splitvm-linux).
# env: VMEM_SIZE (8G), VMEM_BLOCK (2M), VMEM_STEPS ("1G 4G 512M 0"),
#      VMEM_SETTLE_S (120: how long to wait for plugged == requested)
#
# The guest's /init (appended to the initramfs as a second cpio archive,
# which replaces the first one's /init) loads the modules, prints
# SPLITVM-VMEM-READY and then waits; hotplugged memory is onlined movable
# (memhp_default_state=online_movable) so that Linux can unplug it again.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$(realpath -m "${1:?usage: record-virtio-mem.sh OUT.log [LINUXDIR]}")
linux=$(realpath -m "${2:-${TMPDIR:-/tmp}/splitvm-linux}")
size=${VMEM_SIZE:-8G}
block=${VMEM_BLOCK:-2M}
steps=${VMEM_STEPS:-1G 4G 512M 0}
settle=${VMEM_SETTLE_S:-120}

if [ ! -f "$linux/vmlinuz" ] || [ ! -f "$linux/initramfs.cpio.gz" ]; then
	"$here/build-initramfs.sh" "$linux"
fi
command -v qemu-system-x86_64 >/dev/null || { echo "record: no qemu-system-x86_64" >&2; exit 1; }
command -v cpio >/dev/null || { echo "record: no cpio" >&2; exit 1; }

work=$(mktemp -d)
qpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# virtio-mem-pci needs virtio_pci, which the shared initramfs leaves out:
# take it (and the two helper modules it needs) from the same kernel
# package into the overlay, unless the kernel has it built in.
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

cat >"$work/overlay/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
for m in $(cat /modules.order); do
	insmod "/lib/modules/$m" || echo "insmod $m failed"
done
for m in $(cat /extra.order); do
	insmod "/lib/modules/extra/$m" || echo "insmod $m failed"
done
echo "SPLITVM-VMEM-READY"
while :; do sleep 1000; done
INIT
chmod 755 "$work/overlay/init"
(cd "$work/overlay" && find . | cpio -o -H newc 2>/dev/null) | gzip >"$work/overlay.cpio.gz"
cat "$linux/initramfs.cpio.gz" "$work/overlay.cpio.gz" >"$work/initramfs.cpio.gz"

rm -f "$out"
mkdir -p "$(dirname "$out")"
qemu-system-x86_64 -accel tcg -nodefaults -nographic -no-reboot \
	-m 1G,slots=1,maxmem=$((1 + ${size%G}))G -smp 1 \
	-object memory-backend-ram,id=mem0,size="$size" \
	-device virtio-mem-pci,id=vm0,memdev=mem0,requested-size=0,block-size="$block" \
	-kernel "$linux/vmlinuz" -initrd "$work/initramfs.cpio.gz" \
	-append "console=ttyS0 quiet memhp_default_state=online_movable" \
	-serial file:"$work/serial.log" \
	-qmp unix:"$work/qmp.sock",server=on,wait=off \
	-trace 'virtio_mem_*' -trace handle_qmp_command -trace monitor_qmp_respond \
	-D "$out" -msg timestamp=on &
qpid=$!

python3 - "$work/qmp.sock" "$work/serial.log" "$settle" $steps <<'PY'
import json, socket, sys, time

sock_path, serial, settle = sys.argv[1], sys.argv[2], float(sys.argv[3])
steps = sys.argv[4:]
UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}

def size(s):
    return int(s[:-1]) * UNITS[s[-1]] if s[-1] in UNITS else int(s)

def wait_for(pred, what, limit):
    end = time.time() + limit
    while time.time() < end:
        if pred():
            return
        time.sleep(0.2)
    sys.exit("record: timed out waiting for " + what)

def serial_has(word):
    try:
        with open(serial, errors="replace") as f:
            return word in f.read()
    except FileNotFoundError:
        return False

wait_for(lambda: serial_has("SPLITVM-VMEM-READY"), "the guest", 120)
s = socket.socket(socket.AF_UNIX)
wait_for(lambda: s.connect_ex(sock_path) == 0, "QMP", 30)
f = s.makefile("rw")

def cmd(name, **args):
    f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            if "error" in r:
                sys.exit("record: %s: %s" % (name, r["error"]))
            return r["return"]

json.loads(f.readline())  # greeting
cmd("qmp_capabilities")
# The device's geometry (memaddr, max-size, block-size) goes into the log
# through monitor_qmp_respond before the first resize: the replay reads it.
cmd("query-memory-devices")

def plugged():
    for d in cmd("query-memory-devices"):
        if d["data"].get("id") == "vm0":
            return d["data"]["size"]
    sys.exit("record: no vm0 in query-memory-devices")

for step in steps:
    want = size(step)
    cmd("qom-set", path="vm0", property="requested-size", value=want)
    t0 = time.time()
    wait_for(lambda: plugged() == want, "plugged == %s" % step, settle)
    print("record: requested-size %s settled in %.1f s" % (step, time.time() - t0))
    time.sleep(1)  # let Linux finish its follow-up requests
cmd("query-memory-devices")
cmd("quit")
PY
wait "$qpid" || true
qpid=
echo "record: $(grep -c . "$out") trace lines in $out"
