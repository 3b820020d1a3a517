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
if [ -d /sys/module/kvm_pvm ] || grep -qsw kvm_pvm /proc/modules; then
	echo "SKIP: host KVM is kvm_pvm (software-assisted), which cannot run a stock Linux kernel"
	exit 77
fi
if ! grep -Eqw 'vmx|svm' /proc/cpuinfo; then
	echo "SKIP: no vmx/svm flag in /proc/cpuinfo: no hardware virtualization for Linux"
	exit 77
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is not usable"
	exit 77
fi
if [ ! -f "$cache/vmlinuz" ] || [ ! -f "$cache/initramfs.cpio.gz" ] ||
	! zcat "$cache/initramfs.cpio.gz" | grep -aq splitvm.memwatch; then
	if ! bash "$build" "$cache"; then
		echo "SKIP: cannot build the Debian kernel + initramfs (apt-get download failed?)"
		exit 77
	fi
fi
name="linuxvmem$$"
tmp=$(mktemp -d)
if [ "$(id -u)" = 0 ]; then dir=/run/splitvm/$name; else dir=$XDG_RUNTIME_DIR/splitvm/$name; fi
sup=
ctl() { "$CTL" --socket "$dir/ctl" "$@"; }
cleanup() { [ -n "$sup" ] && kill "$sup" 2>/dev/null; rm -rf "$tmp"; }
fail() {
	echo "FAIL: $*"; echo "--- splitvm log"; cat "$tmp/sup.log"
	echo "--- console"; tail -n 60 "$tmp/console.log"; cleanup; exit 1
}
# memtotal: the last "memtotal_kb=" the guest printed.
memtotal() { tr -d '\r' < "$tmp/console.log" | sed -n 's/^memtotal_kb=//p' | tail -1; }
wait_memtotal() { # wait_memtotal KIB
	for _ in $(seq 600); do [ "$(memtotal)" = "$1" ] && return 0; sleep 0.1; done
	fail "MemTotal is $(memtotal) kB, want $1 kB"
}

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
ctl quit > /dev/null 2>&1 || true
for _ in $(seq 100); do kill -0 "$sup" 2>/dev/null || break; sleep 0.1; done
kill -0 "$sup" 2>/dev/null && fail "splitvm did not quit"
sup=
cleanup
echo "PASS"
