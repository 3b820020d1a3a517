#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The test guest under Debian's QEMU, the one loader of its PVH entry here:
# -M microvm -kernel GUEST.elf enters through the Xen PVH note (32-bit entry,
# hvm_start_info).  Also the bzImage under -M q35, whose BIOS loader takes the
# 16-bit entry that the image does not support: it must say so and exit 1.
# QEMU's isa-debug-exit turns guest status V into exit status (V << 1) | 1.
#
# usage: test_guest_qemu.sh GUEST.elf GUEST.bzImage
set -u
elf=$1
bzimage=$2
qemu=$(command -v qemu-system-x86_64) || {
	echo "SKIP: qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
	exit 77
}
accel=kvm
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "note: /dev/kvm not usable, running QEMU with -accel tcg"
	accel=tcg
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# run NAME WANT_RC QEMU-ARGS...: QEMU's output in $dir/NAME, status checked.
run() {
	local name=$1 want=$2 rc
	shift 2
	timeout 60 "$qemu" -nographic -no-reboot -nodefaults -serial stdio \
		-device isa-debug-exit,iobase=0x501,iosize=2 "$@" \
		>"$dir/$name" 2>"$dir/$name.err" </dev/null
	rc=$?
	if [ "$rc" != "$want" ]; then
		fail "$name: QEMU exit status $rc, want $want"
		sed 's/^/  out: /' "$dir/$name" | tail -20
		sed 's/^/  err: /' "$dir/$name.err" | tail -5
	fi
}
expect() { # NAME PATTERN WHAT
	grep -q -- "$2" "$dir/$1" || fail "$1: $3 (no '$2' on the serial line)"
}
m=(-M microvm -accel "$accel" -m 128M -smp 1 -kernel "$elf")

run memmap 1 "${m[@]}" -append "scenario=memmap"
[ "$(head -n1 "$dir/memmap" | tr -d '\r')" = "splitvm-guest: ready" ] ||
	fail "memmap: the first line is not 'splitvm-guest: ready'"
expect memmap "entry pvh" "PVH entry not taken"
expect memmap "e820: 0x100000 - 0x7ffffff ram" "QEMU's RAM above 1 MiB not seen"
expect memmap "splitvm-guest: PASS" "memmap did not pass"

# Every line of the guest carries the protocol prefix.
if grep -v '^splitvm-guest: ' "$dir/memmap" | tr -d '\r' | grep -q .; then
	fail "memmap: a line without the 'splitvm-guest: ' prefix"
fi

# The default scenario, and expect_ram against QEMU's map: 128 MiB less the
# 1 KiB QEMU reserves below 640 KiB and the 384 KiB hole to 1 MiB.
run default 1 "${m[@]}" -append "expect_ram=0x7f9fc00"
expect default "scenario memmap" "memmap is not the default"
expect default "splitvm-guest: PASS" "expect_ram=0x7f9fc00 did not pass"
run wrongram 3 "${m[@]}" -append "expect_ram=128M"
expect wrongram "FAIL: e820 ram total" "a wrong expect_ram passed"

run exit5 11 "${m[@]}" -append "exit=5"
expect exit5 "splitvm-guest: exit 5" "exit=5 not reported"
run bogus 3 "${m[@]}" -append "scenario=bogus"
expect bogus 'FAIL: unknown scenario "bogus"' "unknown scenario not named"
run fault 3 "${m[@]}" -append "scenario=fault"
expect fault "FAIL: exception 13 (general protection)" "#GP not reported"
run pvh 1 "${m[@]}" -append "scenario=pvh-boot"
expect pvh "splitvm-guest: PASS" "pvh-boot did not pass"
# guest_idle(): the LAPIC timer of QEMU's APIC model wakes every halt.
run idle 1 "${m[@]}" -append "scenario=idle idle_ms=200"
expect idle "idle: 200 halts, 1[5-9][0-9] timer ticks\|idle: 200 halts, 200 timer ticks" \
	"the LAPIC timer did not end the halts"
expect idle "splitvm-guest: PASS" "idle did not pass"

run realmode 3 -M q35 -accel "$accel" -m 128M -kernel "$bzimage" -append "scenario=memmap"
expect realmode "FAIL: 16-bit real-mode entry not supported" "real-mode stub silent"

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed"
	exit 1
fi
echo "all QEMU checks passed ($accel)"
