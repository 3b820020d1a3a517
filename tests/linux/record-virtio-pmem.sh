#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Record Linux's virtio-pmem request stream with QEMU's answers: boot
# Debian's kernel and the initramfs of tests/linux/build-initramfs.sh under
# Debian's QEMU in software emulation (-accel tcg) with a virtio-pmem-pci
# device on a memory-backend-file (share=on), QEMU's trace events written to
# a log with timestamps, while the guest makes its driver send FLUSH: 4 KiB
# O_DIRECT writes to /dev/pmem0 each followed by fsync (one FLUSH each),
# then the same from 4 writers at once (flushes that overlap in QEMU's
# thread pool), then sync.  The log is what tests/tools/pmem_replay reads.
#
# usage: record-virtio-pmem.sh OUT.log [LINUXDIR]
#   LINUXDIR holds vmlinuz + initramfs.cpio.gz (made by build-initramfs.sh
#   when missing; default $TMPDIR/splitvm-linux).
# env: PMEM_SIZE (64M), PMEM_SEQ (24: sequential write+fsync rounds),
#      PMEM_PAR (4 writers x 6 rounds: "4x6"), PMEM_WAIT_S (600: how long
#      the guest may take under TCG)
#
# The trace events (QEMU 7.2's hw/virtio/trace-events):
#   virtio_pmem_flush_request  the request queue was kicked (one per pop)
#   virtqueue_pop              vq, elem, in_num, out_num of the request
#   virtio_pmem_flush_done     fsync's return, from the worker thread
#   virtqueue_fill             vq, elem, used length of the answer
#   virtio_pmem_response       the answer was pushed and the guest notified
# and handle_qmp_command/monitor_qmp_respond for query-memory-devices,
# whose virtio-pmem entry (memaddr, size) is the device's geometry.
#
# The guest's /init (a second cpio archive appended to the initramfs,
# replacing the first one's /init) loads the modules, prints
# SPLITVM-PMEM-READY, writes and flushes, prints SPLITVM-PMEM-DONE flushes=N
# (N: the kernel's count is not visible, N is what it asked for) and waits.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$(realpath -m "${1:?usage: record-virtio-pmem.sh OUT.log [LINUXDIR]}")
linux=$(realpath -m "${2:-${TMPDIR:-/tmp}/splitvm-linux}")
size=${PMEM_SIZE:-64M}
seq_rounds=${PMEM_SEQ:-24}
par=${PMEM_PAR:-4x6}
wait_s=${PMEM_WAIT_S:-600}

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

# virtio-pmem-pci needs virtio_pci, which the shared initramfs leaves out:
# take it (and the helper modules it needs) from the same kernel package
# into the overlay, unless the kernel has it built in.  virtio_pmem and
# nd_pmem are in the shared initramfs already.
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
for i in $(seq 100); do
	[ -b /dev/pmem0 ] && break
	sleep 0.1
done
[ -b /dev/pmem0 ] || { echo "SPLITVM-PMEM-FAIL no /dev/pmem0"; while :; do sleep 1000; done; }
set -- $(sed 's/.*splitvm.pmem=\([0-9]*\),\([0-9]*\)x\([0-9]*\).*/\1 \2 \3/' /proc/cmdline)
seqn=$1 writers=$2 rounds=$3
echo "SPLITVM-PMEM-READY seq=$seqn par=${writers}x$rounds"
n=0
# One FLUSH each: fsync(2) of the block device sends a PREFLUSH bio, which
# nd_pmem turns into virtio_pmem_flush() (the region has a volatile cache).
for i in $(seq 0 $((seqn - 1))); do
	dd if=/dev/urandom of=/dev/pmem0 bs=4096 count=1 seek=$i oflag=direct conv=fsync 2>/dev/null
	n=$((n + 1))
done
# Several writers at once: their flushes overlap in the driver's queue.
for w in $(seq 1 $writers); do
	(
		for r in $(seq 1 $rounds); do
			dd if=/dev/urandom of=/dev/pmem0 bs=4096 count=1 \
				seek=$((1000 + w * 100 + r)) oflag=direct conv=fsync 2>/dev/null
		done
	) &
done
wait
n=$((n + writers * rounds))
sync
echo "SPLITVM-PMEM-DONE flushes=$n"
while :; do sleep 1000; done
INIT
chmod 755 "$work/overlay/init"
(cd "$work/overlay" && find . | cpio -o -H newc 2>/dev/null) | gzip >"$work/overlay.cpio.gz"
cat "$linux/initramfs.cpio.gz" "$work/overlay.cpio.gz" >"$work/initramfs.cpio.gz"

truncate -s "$size" "$work/pmem.img"
rm -f "$out"
mkdir -p "$(dirname "$out")"
qemu-system-x86_64 -accel tcg -nodefaults -nographic -no-reboot \
	-m 512M,slots=2,maxmem=4G -smp 2 \
	-object memory-backend-file,id=pmem0,share=on,mem-path="$work/pmem.img",size="$size" \
	-device virtio-pmem-pci,id=vpmem0,memdev=pmem0 \
	-kernel "$linux/vmlinuz" -initrd "$work/initramfs.cpio.gz" \
	-append "console=ttyS0 quiet splitvm.pmem=$seq_rounds,$par" \
	-serial file:"$work/serial.log" \
	-qmp unix:"$work/qmp.sock",server=on,wait=off \
	-trace 'virtio_pmem_*' -trace virtqueue_pop -trace virtqueue_fill \
	-trace handle_qmp_command -trace monitor_qmp_respond \
	-D "$out" -msg timestamp=on &
qpid=$!

python3 - "$work/qmp.sock" "$work/serial.log" "$wait_s" <<'PY'
import json, socket, sys, time

sock_path, serial, wait_s = sys.argv[1], sys.argv[2], float(sys.argv[3])

def wait_for(pred, what, limit):
    end = time.time() + limit
    while time.time() < end:
        if pred():
            return
        time.sleep(0.2)
    sys.exit("record: timed out waiting for " + what)

def serial_text():
    try:
        with open(serial, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""

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
# The geometry (memaddr, size) goes into the log through monitor_qmp_respond
# before the guest's first request: the replay reads it from there.
cmd("query-memory-devices")
t0 = time.time()
wait_for(lambda: "SPLITVM-PMEM-READY" in serial_text() or "SPLITVM-PMEM-FAIL" in serial_text(),
         "the guest", wait_s)
if "SPLITVM-PMEM-FAIL" in serial_text():
    sys.exit("record: the guest: " + serial_text())
wait_for(lambda: "SPLITVM-PMEM-DONE" in serial_text(), "the guest's flushes", wait_s)
done = [l for l in serial_text().splitlines() if "SPLITVM-PMEM-DONE" in l][0]
print("record: guest %s after %.1f s" % (done.strip(), time.time() - t0))
time.sleep(1)
cmd("query-memory-devices")
cmd("quit")
PY
wait "$qpid" || true
qpid=
echo "record: $(grep -c virtio_pmem_response "$out") flushes, $(grep -c . "$out") trace lines in $out"
