#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 8's Linux guest test: Debian's kernel and the initramfs of
# tests/linux/build-initramfs.sh (splitvm.memwatch=1: /init prints
# "memtotal_kb=N" whenever MemTotal changes) under `splitvm run` with
# -m 1G,slots=4,maxmem=8G and one cold-plugged 512 MiB DIMM, memory hot-added
# online movable.  MemTotal at boot counts the DIMM; object_add
# memory-backend-ram 1G + device_add pc-dimm (splitvm-ctl): MemTotal grows by
# 1 GiB; device_del: the guest ejects, DEVICE_DELETED arrives and MemTotal
# falls back (online_movable memory can always be offlined); object_del of
# the freed backend succeeds.
# Hosts whose KVM cannot run a stock kernel (kvm_pvm, or no vmx/svm flag)
# SKIP with the reason, as test_linux_vmem.sh does.
#
# usage: test_linux_dimm.sh SPLITVM SPLITVM_CTL BUILD_INITRAMFS_SH CACHE_DIR
set -u
SUP=$1 CTL=$2 build=$3 cache=$4
. "$(dirname "$0")/linux_guest.sh"
linux_guest_prepare "$build" "$cache"
linux_vm_init "linuxdimm$$" "$CTL"
wait_event() { # wait_event NAME ID
	for _ in $(seq 600); do
		ctl --json events | grep "$1" | grep -q "\"$2\"" && return 0
		sleep 0.1
	done
	fail "no $1 event for $2: $(ctl --json events)"
}

"$SUP" run --daemonize --pidfile "$tmp/pid" -name "$name" -m 1G,slots=4,maxmem=8G -smp 2 \
	-object memory-backend-ram,id=mem0,size=512M -device pc-dimm,id=dimm0,memdev=mem0 \
	-kernel "$cache/vmlinuz" -initrd "$cache/initramfs.cpio.gz" \
	-append "console=ttyS0 panic=-1 memhp_default_state=online_movable splitvm.memwatch=1" \
	-serial "file:$tmp/console.log" > "$tmp/sup.out" 2> "$tmp/sup.log" ||
	fail "splitvm run exited $?"
sup=$(cat "$tmp/pid")
for _ in $(seq 600); do grep -q '^modules_failed=' "$tmp/console.log" 2>/dev/null && break; sleep 0.1; done
grep -q '^modules_failed=0' "$tmp/console.log" || fail "the guest did not load its modules"
grep -q '^SPLITVM-LINUX-READY' "$tmp/console.log" || fail "no ready marker"
base=$(memtotal)
[ -n "$base" ] || fail "no memtotal_kb line"
# MemTotal is below the RAM the guest was given (the kernel's own image and
# reservations are not counted), but the cold-plugged DIMM's 512 MiB is:
# without it MemTotal could not pass 1 GiB.
[ "$base" -gt $((1024 * 1024)) ] ||
	fail "MemTotal at boot is $base kB: the 512 MiB DIMM is not counted (1 GiB RAM + DIMM)"
echo "MemTotal at boot: $base kB (1 GiB RAM + 512 MiB DIMM)"

ctl object_add memory-backend-ram,id=mem1,size=1G || fail "object_add mem1"
ctl device_add pc-dimm,id=dimm1,memdev=mem1 || fail "device_add dimm1"
wait_memtotal $((base + 1024 * 1024))
echo "device_add 1 GiB: MemTotal $(memtotal) kB (+1048576 kB)"

ctl device_del dimm1 || fail "device_del dimm1"
wait_event DEVICE_DELETED dimm1
wait_memtotal "$base"
echo "device_del: DEVICE_DELETED, MemTotal $(memtotal) kB"
ctl object_del mem1 || fail "object_del mem1 after the unplug"

# The ACPI power button ends the VM through the guest (its acpid).
powerdown
echo "system_powerdown: the guest powered off"
cleanup
echo "PASS"
