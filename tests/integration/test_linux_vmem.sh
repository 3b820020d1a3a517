#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 5's Linux guest test: Debian's kernel and the initramfs of
# tests/linux/build-initramfs.sh (splitvm.memwatch=1: /init prints
# "memtotal_kb=N" whenever MemTotal changes) under `splitvm run` with an
# 8 GiB virtio-mem device at requested-size 0, memory hot-added online
# movable.  requested-size 1 GiB then 4 GiB (splitvm-ctl qom-set): MemTotal
# grows by exactly that; then 512 MiB and 0: it falls back by as much
# (online_movable memory can always be offlined).
# Hosts whose KVM cannot run a stock kernel (kvm_pvm, or no vmx/svm flag)
# SKIP with the reason, as test_core_linux.sh does.
#
# usage: test_linux_vmem.sh SPLITVM SPLITVM_CTL BUILD_INITRAMFS_SH CACHE_DIR
set -u
SUP=$1 CTL=$2 build=$3 cache=$4
. "$(dirname "$0")/linux_guest.sh"
linux_guest_prepare "$build" "$cache"
linux_vm_init "linuxvmem$$" "$CTL"

"$SUP" run --daemonize --pidfile "$tmp/pid" -name "$name" -m 1G,slots=1,maxmem=9G -smp 2 \
	-object memory-backend-memfd,id=mem0,size=8G \
	-device virtio-mem,id=vm0,memdev=mem0,requested-size=0 \
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
echo "MemTotal at start: $base kB"

for mib in 1024 4096 512 0; do
	ctl qom-set vm0 requested-size "${mib}M" || fail "qom-set ${mib}M"
	wait_memtotal $((base + mib * 1024))
	echo "requested ${mib} MiB: MemTotal $(memtotal) kB (+$((mib * 1024)) kB)"
done
# The ACPI power button ends the VM through the guest (its acpid).
powerdown
echo "system_powerdown: the guest powered off"
cleanup
echo "PASS"
