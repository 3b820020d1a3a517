#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# splitvm-core boots the test guest, as an ELF64 and as a bzImage, and the
# guest reports what it was handed: the memory map (against -m), the Linux
# boot protocol fields and initrd, a touch of unmapped space that must be
# survived, the exit status, and the serial backends.
#
# usage: test_core_boot.sh SPLITVM_CORE GUEST_ELF GUEST_BZIMAGE
set -u
core=$1
elf=$2
bzimage=$3
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is not usable by this user"
	exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# __boot NAME WANT_RC CORE-ARGS...: run, keep stdout/stderr in $dir/NAME.*,
# return the status.  boot(): the same, and fail unless the status is WANT_RC.
__boot() {
	local name=$1
	shift
	"$core" "$@" >"$dir/$name.out" 2>"$dir/$name.err" </dev/null
}
boot() {
	local name=$1 want=$2 rc
	shift 2
	__boot "$name" "$@"
	rc=$?
	if [ "$rc" != "$want" ]; then
		fail "$name: exit status $rc, want $want"
		sed 's/^/  out: /' "$dir/$name.out" | tail -20
		sed 's/^/  err: /' "$dir/$name.err" | tail -20
		return 1
	fi
	return 0
}
expect_out() { # NAME PATTERN WHAT
	grep -q -- "$2" "$dir/$1.out" || fail "$1: $3 (no '$2' on the serial console)"
}
expect_err() {
	grep -q -- "$2" "$dir/$1.err" || fail "$1: $3 (no '$2' in the log)"
}

# e820 RAM below 4 GiB is RAM less [EBDA, 1 MiB); above 4 GiB all of it.
for kind in elf bzImage; do
	img=$elf
	[ "$kind" = bzImage ] && img=$bzimage
	# 512 MiB: all below the hole.
	want=$(printf '0x%x' $((512 * 1024 * 1024 - 0x60400)))
	if boot "memmap-512M-$kind" 0 -m 512M -smp 2 -kernel "$img" \
		-append "scenario=memmap expect_ram=$want"; then
		expect_out "memmap-512M-$kind" "splitvm-guest: PASS" "guest did not pass"
		expect_out "memmap-512M-$kind" "fdt memory total: 0x20000000" "FDT total is not -m"
		expect_out "memmap-512M-$kind" "fdt memory: 0x0 size 0x20000000" \
			"FDT memory node is not [0, 512M)"
	fi
	# 3.5 GiB: 3 GiB below the hole, 512 MiB above 4 GiB; device memory after.
	want=$(printf '0x%x' $((3584 * 1024 * 1024 - 0x60400)))
	if boot "memmap-3584M-$kind" 0 -m 3584M,slots=2,maxmem=8G -smp 1 -kernel "$img" \
		-append "scenario=memmap expect_ram=$want"; then
		expect_out "memmap-3584M-$kind" "splitvm-guest: PASS" "guest did not pass"
		expect_out "memmap-3584M-$kind" "fdt memory: 0x100000000 size 0x20000000" \
			"no RAM above 4 GiB in the FDT"
		expect_out "memmap-3584M-$kind" "fdt memory total: 0xe0000000" "FDT total is not -m"
	fi
done

# bootcheck with an initrd of an odd size, both forms.
head -c 123457 /dev/urandom >"$dir/initrd.img"
for kind in elf bzImage; do
	img=$elf
	[ "$kind" = bzImage ] && img=$bzimage
	if boot "bootcheck-$kind" 0 -m 256M -kernel "$img" -initrd "$dir/initrd.img" \
		-append "scenario=bootcheck initrd_size=123457"; then
		expect_out "bootcheck-$kind" "splitvm-guest: PASS" "guest did not pass"
		expect_out "bootcheck-$kind" "type_of_loader 0xff" "type_of_loader is not 0xff"
		expect_out "bootcheck-$kind" "initrd: 0x" "no initrd seen"
		expect_out "bootcheck-$kind" "acpi rsdp at 0xe0000" "no RSDP address"
	fi
done

# Unmapped guest-physical space: in the 32-bit hole, and in the device-memory
# area (reserved, nothing plugged).  Reads all-ones, writes dropped, a
# rate-limited log line, and the guest carries on.
if boot unmapped-hole 0 -m 256M -kernel "$elf" \
	-append "scenario=unmapped unmapped=0xc0000000 repeat=1000"; then
	expect_out unmapped-hole "splitvm-guest: PASS" "guest did not survive"
	expect_err unmapped-hole "unmapped guest-physical 0xc0000000" "no log line"
	n=$(grep -c "unmapped guest-physical" "$dir/unmapped-hole.err")
	[ "$n" -le 20 ] || fail "unmapped-hole: $n log lines for 2000 accesses: not rate-limited"
fi
if boot unmapped-devmem 0 -m 256M,slots=1,maxmem=1G -kernel "$bzimage" \
	-append "scenario=unmapped unmapped=0x100000000"; then
	expect_out unmapped-devmem "splitvm-guest: PASS" "guest did not survive"
	expect_err unmapped-devmem "unmapped guest-physical 0x100000000" "no log line"
fi

# The debug-exit port: the guest's value is the process's status.
boot exit-3 3 -m 64M -kernel "$elf" -append "scenario=exit exit=3"

# Serial backends: file:PATH gets the console and stdout stays empty; none.
if boot serial-file 0 -m 64M -kernel "$elf" -serial "file:$dir/console.txt" \
	-append "scenario=memmap"; then
	grep -q "splitvm-guest: PASS" "$dir/console.txt" || fail "serial-file: no console in file"
	[ -s "$dir/serial-file.out" ] && fail "serial-file: stdout is not empty"
fi
if boot serial-none 0 -m 64M -kernel "$elf" -serial none -append "scenario=memmap"; then
	[ -s "$dir/serial-none.out" ] && fail "serial-none: stdout is not empty"
fi

# Refusals name the rule and start nothing.
__boot bad-maxmem -m 1G,maxmem=512M -kernel "$elf" && fail "bad-maxmem: accepted"
expect_err bad-maxmem "must be at least the initial memory size" "unclear -m error"
__boot bad-kernel -m 64M -kernel "$dir/initrd.img" && fail "bad-kernel: accepted"
expect_err bad-kernel "neither an ELF64 nor a bzImage" "unclear -kernel error"

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "PASS"
