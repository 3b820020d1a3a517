#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Record Linux's traffic on the ACPI memory-hotplug controller with QEMU's
# answers: boot Debian's kernel and the initramfs of
# tests/linux/build-initramfs.sh under Debian's QEMU in software emulation
# (-accel tcg -M q35) with DIMM slots, QEMU's trace events mhp_acpi_* (and
# the QMP traffic, which places the plug and the unplug request among them)
# written to a log, then over QMP: object_add a RAM backend + device_add a
# pc-dimm, wait until the guest's MemTotal has grown by its size, device_del
# it, wait for DEVICE_DELETED and for MemTotal to fall back, quit.  With
# several DIMMs (MHP_DIMMS) each is plugged in turn, then each is removed
# in reverse order; with MHP_NODES the 1 GiB of boot RAM is split over that
# many NUMA nodes and DIMM i goes to node i % MHP_NODES.  The log,
# behind a "# " header with the QEMU version and command line, is what
# tests/tools/mhp_replay reads.
#
# usage: record-mhp.sh OUT.log [LINUXDIR]
#   LINUXDIR holds vmlinuz + initramfs.cpio.gz (made by build-initramfs.sh
#   when missing; default $TMPDIR/splitvm-linux).
# env: MHP_SLOTS (4), MHP_MAXMEM (8G), MHP_DIMMS ("1G": the DIMMs' sizes),
#      MHP_NODES (0: no -numa), MHP_SETTLE_S (600: how long to wait for
#      each MemTotal change), MHP_MEM (1G: the boot RAM), MHP_COLD (""):
#      the sizes of DIMMs cold-plugged on QEMU's command line (memdev coldN,
#      device cdimmN, N from 1, on node (N-1) % MHP_NODES), MHP_EXPECT
#      (eject: every device_del ends in DEVICE_DELETED; refuse: see below)
#
# The guest runs build-initramfs.sh's /init with splitvm.memwatch=1: it
# prints "memtotal_kb=N" at boot and whenever MemTotal changes.  Hotplugged
# memory is onlined movable (memhp_default_state=online_movable) so that
# Linux can offline it again and eject the DIMM.
#
# MHP_EXPECT=refuse records Linux refusing an eject: the DIMMs' memory is
# onlined into ZONE_NORMAL (memhp_default_state=online_kernel), where the
# kernel's own allocations land and cannot be migrated away, so offlining
# fails.  After the hotplugs, every DIMM (hotplugged ones in reverse order,
# then the cold-plugged ones) gets a device_del, twice (QEMU lets a refused
# removal be asked for again); each time the script waits for the guest's
# ACPI_DEVICE_OST for it with source 3 (eject request) and a failure
# status, then checks that no DEVICE_DELETED came, that the DIMM is still in
# query-memory-devices and that MemTotal did not fall.  Then it quits.
set -eu
# shellcheck source=record-lib.sh
. "$(dirname "$0")/record-lib.sh"
rec_args record-mhp.sh "$@"
slots=${MHP_SLOTS:-4}
maxmem=${MHP_MAXMEM:-8G}
dimms=${MHP_DIMMS-1G}
nodes=${MHP_NODES:-0}
settle=${MHP_SETTLE_S:-600}
mem=${MHP_MEM:-1G}
cold=${MHP_COLD:-}
expect=${MHP_EXPECT:-eject}
case "$expect" in
eject) online=online_movable ;;
refuse) online=online_kernel ;;
*) echo "record: MHP_EXPECT must be eject or refuse, not '$expect'" >&2; exit 1 ;;
esac

rec_prepare

mem_mb=$(python3 -c 'import sys; s = sys.argv[1]; u = {"G": 1024, "M": 1}
print(int(s[:-1]) * u[s[-1]] if s[-1] in u else int(s) >> 20)' "$mem")
numa=()
for ((n = 0; n < nodes; n++)); do
	numa+=(-object "memory-backend-ram,id=ram$n,size=$((mem_mb / nodes))M"
		-numa "node,nodeid=$n,memdev=ram$n")
done
colddev=()
n=0
for size in $cold; do
	n=$((n + 1))
	node=
	[ "$nodes" -gt 0 ] && node=",node=$(((n - 1) % nodes))"
	colddev+=(-object "memory-backend-ram,id=cold$n,size=$size"
		-device "pc-dimm,id=cdimm$n,memdev=cold$n$node")
done
rec_qemu_argv "$linux/initramfs.cpio.gz" "memhp_default_state=$online splitvm.memwatch=1" \
	"$work/serial.log" "$work/qmp.sock" "$work/trace.log" \
	-M q35 -- -m "$mem,slots=$slots,maxmem=$maxmem" -smp 1 "${numa[@]}" "${colddev[@]}" -- \
	'mhp_acpi_*'
rec_qemu_start

# shellcheck disable=SC2086
rec_python "$work/qmp.sock" "$work/serial.log" "$settle" "$nodes" "$expect" "$n" $dimms <<'PY'
sock_path, serial, settle = sys.argv[1], sys.argv[2], float(sys.argv[3])
nodes, expect, n_cold = int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
sizes = [size_bytes(d) for d in sys.argv[7:]]

def memtotal_kb():
    m = re.findall(r"memtotal_kb=(\d+)", serial_text(serial))
    return int(m[-1]) if m else None

t0 = time.time()
wait_for(lambda: "SPLITVM-LINUX-READY" in serial_text(serial) and memtotal_kb(), "the guest",
         settle)
boot_kb = memtotal_kb()
print("record: guest up in %.0f s, MemTotal %d kB" % (time.time() - t0, boot_kb))

qmp_connect(sock_path)
t_kb = boot_kb
for i, size in enumerate(sizes, 1):
    cmd("object-add", **{"qom-type": "memory-backend-ram", "id": "mem%d" % i, "size": size})
    t0 = time.time()
    args = {"driver": "pc-dimm", "id": "dimm%d" % i, "memdev": "mem%d" % i}
    if nodes:
        args["node"] = (i - 1) % nodes
    cmd("device_add", **args)
    t_kb += size // 1024
    wait_for(lambda: memtotal_kb() == t_kb, "MemTotal %d kB after device_add" % t_kb, settle)
    print("record: MemTotal %d kB %.0f s after device_add dimm%d" % (t_kb, time.time() - t0, i))
    # The DIMM's address and slot go into the log through
    # monitor_qmp_respond: the replay plugs the same DIMM at the same place.
    cmd("query-memory-devices")
    time.sleep(2)  # let the guest's _OST and any follow-up scans finish

def deleted(dev):
    while read_msg(0.5):
        pass
    return ("DEVICE_DELETED", dev) in events

def refused(dev, first):
    """Whether the guest answered @dev's eject request with a failure."""
    while read_msg(0.5):
        pass
    if ("DEVICE_DELETED", dev) in events:
        sys.exit("record: the guest ejected %s: Linux did not refuse" % dev)
    # 0x84 is "ejection in progress", not an answer.
    return any(o.get("device") == dev and o["source"] == 3 and o["status"] not in (0, 0x84)
               for o in osts[first:])

if expect == "refuse":
    devs = ["dimm%d" % i for i in range(len(sizes), 0, -1)]
    devs += ["cdimm%d" % i for i in range(1, n_cold + 1)]
    for dev in [d for d in devs for _ in (1, 2)]:
        t0 = time.time()
        first = len(osts)
        cmd("device_del", id=dev)
        wait_for(lambda: refused(dev, first), "a refusing _OST for %s" % dev, settle)
        o = [o for o in osts[first:] if o.get("device") == dev][-1]
        print("record: %s refused %.0f s after device_del: _OST source %d status 0x%x" %
              (dev, time.time() - t0, o["source"], o["status"]))
        time.sleep(5)  # anything late (an eject, MemTotal falling) shows by now
        refused(dev, first)  # reads what came meanwhile; exits on DEVICE_DELETED
        if memtotal_kb() != t_kb:
            sys.exit("record: MemTotal %d kB after %s's refusal, not %d" %
                     (memtotal_kb(), dev, t_kb))
        if not any(d["data"]["id"] == dev for d in cmd("query-memory-devices")):
            sys.exit("record: %s is gone from query-memory-devices" % dev)
    cmd("quit")
    sys.exit(0)

for i in range(len(sizes), 0, -1):
    t0 = time.time()
    cmd("device_del", id="dimm%d" % i)
    wait_for(lambda: deleted("dimm%d" % i), "DEVICE_DELETED of dimm%d" % i, settle)
    print("record: DEVICE_DELETED %.0f s after device_del dimm%d" % (time.time() - t0, i))
    t_kb -= sizes[i - 1] // 1024
    wait_for(lambda: memtotal_kb() == t_kb, "MemTotal %d kB after the eject" % t_kb, settle)
    cmd("query-memory-devices")
    time.sleep(2)
for i in range(1, len(sizes) + 1):
    cmd("object-del", id="mem%d" % i)
time.sleep(2)
cmd("quit")
PY
rec_qemu_wait

rm -f "$out"
mkdir -p "$(dirname "$out")"
{
	rec_header_qemu
	echo "# kernel: $(cat "$linux/kernel-version" 2>/dev/null || echo unknown)"
	echo "# recorded by tests/linux/record-mhp.sh: device_add pc-dimm $dimms, device_del; nodes $nodes${cold:+; cold-plugged $cold}$([ "$expect" = eject ] || echo "; expect $expect")"
	rec_command_line ""
	cat "$work/trace.log"
} >"$out"
echo "record: $(grep -c 'mhp_acpi_' "$out") mhp_acpi_* trace lines in $out"
