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
# shellcheck source=record-lib.sh
. "$(dirname "$0")/record-lib.sh"
rec_args record-virtio-mem.sh "$@"
size=${VMEM_SIZE:-8G}
block=${VMEM_BLOCK:-2M}
steps=${VMEM_STEPS:-1G 4G 512M 0}
settle=${VMEM_SETTLE_S:-120}

rec_prepare cpio

rec_virtio_pci_modules

{
	rec_init_prelude
	cat <<'INIT'
echo "SPLITVM-VMEM-READY"
while :; do sleep 1000; done
INIT
} >"$work/overlay/init"
rec_overlay_pack

rm -f "$out"
mkdir -p "$(dirname "$out")"
rec_qemu_argv "$work/initramfs.cpio.gz" "memhp_default_state=online_movable" \
	"$work/serial.log" "$work/qmp.sock" "$out" -- \
	-m 1G,slots=1,maxmem=$((1 + ${size%G}))G -smp 1 \
	-object memory-backend-ram,id=mem0,size="$size" \
	-device virtio-mem-pci,id=vm0,memdev=mem0,requested-size=0,block-size="$block" -- \
	'virtio_mem_*'
rec_qemu_start

# shellcheck disable=SC2086
rec_python "$work/qmp.sock" "$work/serial.log" "$settle" $steps <<'PY'
sock_path, serial, settle = sys.argv[1], sys.argv[2], float(sys.argv[3])
steps = sys.argv[4:]
wait_for(lambda: "SPLITVM-VMEM-READY" in serial_text(serial), "the guest", 120)
qmp_connect(sock_path)
# The device's geometry (memaddr, max-size, block-size) goes into the log
# through monitor_qmp_respond before the first resize: the replay reads it.
cmd("query-memory-devices")

def plugged():
    for d in cmd("query-memory-devices"):
        if d["data"].get("id") == "vm0":
            return d["data"]["size"]
    sys.exit("record: no vm0 in query-memory-devices")

for step in steps:
    want = size_bytes(step)
    cmd("qom-set", path="vm0", property="requested-size", value=want)
    t0 = time.time()
    wait_for(lambda: plugged() == want, "plugged == %s" % step, settle)
    print("record: requested-size %s settled in %.1f s" % (step, time.time() - t0))
    time.sleep(1)  # let Linux finish its follow-up requests
cmd("query-memory-devices")
cmd("quit")
PY
rec_qemu_wait
echo "record: $(grep -c . "$out") trace lines in $out"
