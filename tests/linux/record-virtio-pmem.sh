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
# shellcheck source=record-lib.sh
. "$(dirname "$0")/record-lib.sh"
rec_args record-virtio-pmem.sh "$@"
size=${PMEM_SIZE:-64M}
seq_rounds=${PMEM_SEQ:-24}
par=${PMEM_PAR:-4x6}
wait_s=${PMEM_WAIT_S:-600}

rec_prepare cpio

# virtio_pmem and nd_pmem are in the shared initramfs already.
rec_virtio_pci_modules

{
	rec_init_prelude
	cat <<'INIT'
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
} >"$work/overlay/init"
rec_overlay_pack

truncate -s "$size" "$work/pmem.img"
rm -f "$out"
mkdir -p "$(dirname "$out")"
rec_qemu_argv "$work/initramfs.cpio.gz" "splitvm.pmem=$seq_rounds,$par" \
	"$work/serial.log" "$work/qmp.sock" "$out" -- \
	-m 512M,slots=2,maxmem=4G -smp 2 \
	-object memory-backend-file,id=pmem0,share=on,mem-path="$work/pmem.img",size="$size" \
	-device virtio-pmem-pci,id=vpmem0,memdev=pmem0 -- \
	'virtio_pmem_*' virtqueue_pop virtqueue_fill
rec_qemu_start

rec_python "$work/qmp.sock" "$work/serial.log" "$wait_s" <<'PY'
sock_path, serial, wait_s = sys.argv[1], sys.argv[2], float(sys.argv[3])

qmp_connect(sock_path)
# The geometry (memaddr, size) goes into the log through monitor_qmp_respond
# before the guest's first request: the replay reads it from there.
cmd("query-memory-devices")
t0 = time.time()
wait_for(lambda: "SPLITVM-PMEM-READY" in serial_text(serial) or
         "SPLITVM-PMEM-FAIL" in serial_text(serial), "the guest", wait_s)
if "SPLITVM-PMEM-FAIL" in serial_text(serial):
    sys.exit("record: the guest: " + serial_text(serial))
wait_for(lambda: "SPLITVM-PMEM-DONE" in serial_text(serial), "the guest's flushes", wait_s)
done = [l for l in serial_text(serial).splitlines() if "SPLITVM-PMEM-DONE" in l][0]
print("record: guest %s after %.1f s" % (done.strip(), time.time() - t0))
time.sleep(1)
cmd("query-memory-devices")
cmd("quit")
PY
rec_qemu_wait
echo "record: $(grep -c virtio_pmem_response "$out") flushes, $(grep -c . "$out") trace lines in $out"
