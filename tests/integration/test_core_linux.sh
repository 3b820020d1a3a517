#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Debian's cloud kernel on splitvm-core: 1 GiB, 2 vCPUs, ACPI on, the
# initramfs of tests/linux/build-initramfs.sh.  Checks the ready marker,
# MemTotal within the kernel's reservation of 1 GiB, both CPUs online, no
# ACPI error in the log, and status 0 after the ACPI power-off.
#
# Hosts whose KVM cannot run a stock kernel (kvm_pvm: software-assisted, no
# vmx/svm flag) SKIP with the reason: there Linux dies of an emulation
# failure in any VMM, QEMU included.
#
# usage: test_core_linux.sh SPLITVM_CORE BUILD_INITRAMFS_SH CACHE_DIR
set -u
core=$1
builder=$2
cache=$3
. "$(dirname "$0")/linux_guest.sh"
linux_guest_prepare "$builder" "$cache"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
timeout 180 "$core" -m 1G -smp 2 -kernel "$cache/vmlinuz" -initrd "$cache/initramfs.cpio.gz" \
	-append "console=ttyS0 earlyprintk=serial,ttyS0 panic=-1 memhp_default_state=online_movable" \
	>"$log" 2>&1 </dev/null
rc=$?
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}
[ "$rc" = 0 ] || fail "exit status $rc, want 0 (ACPI power-off)"
grep -q "SPLITVM-LINUX-READY" "$log" || fail "no ready marker from /init"
kb=$(sed -n 's/^memtotal_kb=\([0-9]*\).*/\1/p' "$log" | head -1)
# MemTotal is RAM less what the kernel keeps (its image, memmap, reserved
# low memory): within 1 GiB, and not less than 1 GiB - 128 MiB.
if [ -z "$kb" ] || [ "$kb" -gt 1048576 ] || [ "$kb" -lt $((1048576 - 131072)) ]; then
	fail "MemTotal ${kb:-?} kB is not within the kernel's reservation of 1 GiB"
fi
grep -q "^online_cpus=0-1" "$log" || fail "CPUs online: $(grep online_cpus= "$log")"
grep -q "^modules_failed=0" "$log" || fail "some modules failed to load"
if grep -E "ACPI (BIOS )?Error|ACPI Exception" "$log"; then
	fail "ACPI errors in the kernel log"
fi
if [ "$fails" -ne 0 ]; then
	tail -40 "$log"
	exit 1
fi
echo "PASS: Linux $(cat "$cache/kernel-version" 2>/dev/null) booted, MemTotal $kb kB, 2 CPUs"
