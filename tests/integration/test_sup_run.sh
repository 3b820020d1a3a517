#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# splitvm end to end with the test guest's virtio-mem driver (the bundled
# XML, scenario=virtio-mem vmem_steps=0): --daemonize/--pidfile, ctl verbs
# and their errors, resizes the guest follows (its console), events in
# order and --follow, dump-dtb, kill -9 and `restart` of the device process
# in the middle of a resize, concurrent resizes, a refused config leaving
# nothing behind, system_powerdown (the guest acts on the power button).
# info memory-devices is compared with QEMU 7.2's own text for the same
# devices (tests/data/hmp/, recorded by record.sh there).
# usage: test_sup_run.sh SPLITVM SPLITVM_CTL GUEST_ELF EXAMPLE_XML HMP_TXT
set -u
SUP=$1 CTL=$2 GUEST=$3 XML=$4 HMP=$5
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is not usable here"
	exit 77
fi
name="suptest$$"
tmp=$(mktemp -d)
pmem=$tmp/pmem.img
truncate -s 64M "$pmem"
sed -e "s|@GUEST@|$GUEST|" -e "s|<name>vm1</name>|<name>$name</name>|" \
	-e "s|/var/tmp/splitvm-vm1-console.log|$tmp/console.log|" \
	-e "s|/var/tmp/splitvm-vm1-pmem.img|$pmem|" "$XML" > "$tmp/vm.xml"
if [ "$(id -u)" = 0 ]; then dir=/run/splitvm/$name; else dir=$XDG_RUNTIME_DIR/splitvm/$name; fi
sup=
ctl() { "$CTL" --socket "$dir/ctl" "$@"; }
cleanup() { [ -n "$sup" ] && kill "$sup" 2>/dev/null; [ -n "${fol:-}" ] && kill "$fol" 2>/dev/null; rm -rf "$tmp"; }
# A test killed by meson's timeout must not leave its VM running.
trap cleanup EXIT
trap 'exit 143' TERM INT
fail() { echo "FAIL: $*"; echo "--- splitvm log"; cat "$tmp/sup.log"; echo "--- console"; cat "$tmp/console.log"; cleanup; exit 1; }
expect_err() { # expect_err TEXT ARGS...: fails with TEXT on one stderr line
	local want=$1; shift
	if ctl "$@" > "$tmp/out" 2> "$tmp/err"; then fail "ctl $* succeeded"; fi
	[ "$(wc -l < "$tmp/err")" = 1 ] || fail "ctl $*: not one error line: $(cat "$tmp/err")"
	grep -qF -- "$want" "$tmp/err" || fail "ctl $*: '$(cat "$tmp/err")' lacks '$want'"
}
# settled HEX: the guest printed that it holds HEX plugged of HEX requested.
settled() { grep -qx "splitvm-guest: virtio-mem plugged $1 of requested $1" "$tmp/console.log"; }
wait_settled() {
	for _ in $(seq 200); do settled "$1" && return 0; sleep 0.05; done
	fail "the guest did not report $1 plugged"
}
# The sizes of the MEMORY_DEVICE_SIZE_CHANGE events so far, one a line.
sizes() { ctl --json events | grep MEMORY_DEVICE_SIZE_CHANGE | grep -o '"size":[0-9]*' | cut -d: -f2; }
wait_size_event() { # wait_size_event BYTES: the last size event says BYTES
	for _ in $(seq 100); do [ "$(sizes | tail -1)" = "$1" ] && return 0; sleep 0.05; done
	fail "no MEMORY_DEVICE_SIZE_CHANGE to $1 (have: $(sizes | tr '\n' ' '))"
}
vm0_pid() { ctl info processes | awk '$2 == "vm0" { print $1 }'; }

# --daemonize returns once the VM runs, with the pid in --pidfile.
"$SUP" run --daemonize --pidfile "$tmp/pid" "$tmp/vm.xml" > "$tmp/sup.out" 2> "$tmp/sup.log" ||
	fail "splitvm run --daemonize exited $?"
[ -s "$tmp/pid" ] || fail "no --pidfile"
sup=$(cat "$tmp/pid")
kill -0 "$sup" || fail "the daemon (pid $sup) is not running"
[ -S "$dir/ctl" ] || fail "no ctl socket once --daemonize returned"
[ ! -s "$tmp/sup.out" ] || fail "splitvm wrote on stdout: $(cat "$tmp/sup.out")"

# The guest's driver plugs the boot-time requested size (128 MiB) itself.
wait_settled 0x8000000
wait_size_event 134217728
ctl info memory-devices > "$tmp/info" || fail "info memory-devices"
grep -q '^Memory device \[dimm\]: "dimm0"$' "$tmp/info" || fail "no dimm0"
grep -q '^Memory device \[virtio-mem\]: "vm0"$' "$tmp/info" || fail "no vm0"
grep -q '^  requested-size: 134217728$' "$tmp/info" || fail "requested-size at start"
grep -q '^  block-size: 2097152$' "$tmp/info" || fail "block-size"
ctl query-memory-devices | grep -q '"type": "virtio-mem"' || fail "query-memory-devices"
ctl info processes | grep -q ' vm0 *virtio-mem' || fail "info processes"
ctl info processes | grep -q ' pmem0 *virtio-pmem' || fail "info processes: no pmem0"

# Field for field against QEMU: each device splitvm shows has QEMU's
# fields in QEMU's order and format.  Addresses depend on the machine's
# layout and only have to be hex; a virtio-mem device's size is what its
# driver plugged (QEMU's guest never ran); the rest must agree.
hmp_norm() {
	awk '/^Memory device \[/ { dev = $0 } { print dev "|" $0 }' "$1" |
		sed -E -e 's/^(.*\|  (addr|memaddr): )0x[0-9a-f]+$/\1ADDR/' \
			-e 's/^(Memory device \[virtio-mem\].*\|  size: )[0-9]+$/\1PLUGGED/'
}
hmp_norm "$tmp/info" > "$tmp/info.norm"
hmp_norm "$HMP" > "$tmp/qemu.norm"
for dev in '[dimm]: "dimm0"' '[virtio-mem]: "vm0"' '[virtio-pmem]: "pmem0"'; do
	grep -F "Memory device $dev|" "$tmp/info.norm" > "$tmp/a"
	grep -F "Memory device $dev|" "$tmp/qemu.norm" > "$tmp/b"
	[ -s "$tmp/b" ] || fail "QEMU's recording lacks $dev"
	[ -s "$tmp/a" ] || fail "info memory-devices lacks $dev"
	diff -u "$tmp/b" "$tmp/a" > "$tmp/d" || fail "info memory-devices differs from QEMU's for $dev: $(cat "$tmp/d")"
done
grep -Ec '^  (addr|memaddr): 0x[0-9a-f]+$' "$tmp/info" > /dev/null || fail "no hex addresses"

ctl dump-dtb "$tmp/dtb" || fail "dump-dtb"
[ "$(od -An -tx1 -N4 "$tmp/dtb" | tr -d ' ')" = d00dfeed ] || fail "dump-dtb: no FDT magic"
grep -qa 'virtio,mmio' "$tmp/dtb" || fail "dump-dtb: no virtio,mmio node"

# events --follow prints what happens after it started.
ctl events --follow > "$tmp/follow" 2>&1 & fol=$!
sleep 0.3

# Resizes the guest follows, each announced once it settled, in order.
ctl qom-set vm0 requested-size 256M || fail "qom-set"
[ "$(ctl qom-get vm0 requested-size)" = 268435456 ] || fail "qom-get after qom-set"
wait_settled 0x10000000
wait_size_event 268435456
[ "$(ctl qom-get vm0 size)" = 268435456 ] || fail "qom-get size after the guest settled"
ctl update-memory-device --alias vm0 --requested-size 512M || fail "update-memory-device"
[ "$(ctl qom-get vm0 requested-size)" = 536870912 ] || fail "after update-memory-device"
wait_settled 0x20000000
wait_size_event 536870912
[ "$(sizes | tr '\n' ' ')" = "134217728 268435456 536870912 " ] ||
	fail "size events out of order: $(sizes | tr '\n' ' ')"
ctl info memory-devices | grep -qx '  size: 536870912' || fail "info memory-devices size after the resize"
for _ in $(seq 40); do grep -q 'MEMORY_DEVICE_SIZE_CHANGE.*536870912' "$tmp/follow" && break; sleep 0.05; done
grep -q 'MEMORY_DEVICE_SIZE_CHANGE.*268435456' "$tmp/follow" || fail "events --follow: $(cat "$tmp/follow")"
grep -q 'MEMORY_DEVICE_SIZE_CHANGE.*536870912' "$tmp/follow" || fail "events --follow missed the 512M event"
[ "$(grep -c 134217728 "$tmp/follow")" = 1 ] || fail "events --follow showed an old event twice"

expect_err "unknown verb 'frobnicate'" frobnicate
expect_err "no memory device 'nope'" qom-set nope requested-size 1G
expect_err "'12Q' is not a size" qom-set vm0 requested-size 12Q
expect_err "is not a multiple of the block size" qom-set vm0 requested-size 3M
expect_err "is larger than the device's memdev" qom-set vm0 requested-size 2G
expect_err "only virtio-mem devices have requested-size" qom-set dimm0 requested-size 0
expect_err "Property 'virtio-mem.bogus' not found" qom-get vm0 bogus
expect_err "Property 'pc-dimm.memdev' can't find value 'm1'" device_add pc-dimm,id=d1,memdev=m1

# kill -9 of the device process in the middle of a resize to 1 GiB: the
# successor serves the held request, the guest ends at the requested size.
pid=$(vm0_pid)
[ -n "$pid" ] || fail "no vm0 process"
ctl qom-set vm0 requested-size 1G || fail "qom-set 1G"
kill -9 "$pid" || fail "kill $pid"
for _ in $(seq 50); do ctl events | grep -q DEVICE_PROCESS_RESTARTED && break; sleep 0.1; done
ctl events > "$tmp/ev"
grep -q 'DEVICE_PROCESS_EXITED .*"kind":"signal","code":9' "$tmp/ev" || fail "no EXITED event: $(cat "$tmp/ev")"
grep -q 'DEVICE_PROCESS_RESTARTED' "$tmp/ev" || fail "no RESTARTED event"
[ "$(grep -n EXITED "$tmp/ev" | head -1 | cut -d: -f1)" -lt "$(grep -n RESTARTED "$tmp/ev" | head -1 | cut -d: -f1)" ] || fail "events out of order"
wait_settled 0x40000000
wait_size_event 1073741824
[ "$(ctl qom-get vm0 requested-size)" = 1073741824 ] || fail "requested size lost across the restart"
[ "$(vm0_pid)" != "$pid" ] || fail "vm0 has its old pid"

# `restart vm0` in the middle of a shrink: not counted as a crash, the
# guest ends at the requested size.
ctl qom-set vm0 requested-size 64M || fail "qom-set 64M"
nr=$(ctl events | grep -c DEVICE_PROCESS_RESTARTED)
ctl restart vm0 || fail "restart vm0"
for _ in $(seq 50); do [ "$(ctl events | grep -c DEVICE_PROCESS_RESTARTED)" -gt "$nr" ] && break; sleep 0.1; done
[ "$(ctl events | grep -c DEVICE_PROCESS_RESTARTED)" -gt "$nr" ] || fail "restart vm0: no new RESTARTED"
wait_settled 0x4000000
wait_size_event 67108864
[ "$(ctl qom-get vm0 requested-size)" = 67108864 ] || fail "requested size lost across restart vm0"
ctl info processes | awk -v n="$(ctl events | grep -c DEVICE_PROCESS_RESTARTED)" '$2 == "vm0" { exit $7 == n ? 0 : 1 }' ||
	fail "restarts column: $(ctl info processes)"

# Two clients resizing at once: each answer is whole, the last one sticks.
for _ in $(seq 10); do
	ctl qom-set vm0 requested-size 64M & a=$!
	ctl qom-set vm0 requested-size 128M & b=$!
	wait "$a" || fail "concurrent qom-set 64M"
	wait "$b" || fail "concurrent qom-set 128M"
done
v=$(ctl qom-get vm0 requested-size)
[ "$v" = 67108864 ] || [ "$v" = 134217728 ] || fail "concurrent resizes left $v"
wait_settled "$(printf 0x%x "$v")"

# A refused config starts nothing and leaves no run directory.
sed -e "s|<name>$name</name>|<name>${name}bad</name>|" -e "s|<requested unit='MiB'>128|<requested unit='MiB'>3|" "$tmp/vm.xml" > "$tmp/bad.xml"
if "$SUP" run "$tmp/bad.xml" 2> "$tmp/bad.err"; then fail "a bad config ran"; fi
grep -q 'block' "$tmp/bad.err" || fail "bad config error: $(cat "$tmp/bad.err")"
[ ! -e "/run/splitvm/${name}bad" ] || fail "a refused config left its run dir"
# --daemonize of a VM that cannot start says so in its exit status.
if "$SUP" run --daemonize "$tmp/vm.xml" 2> "$tmp/dup.err"; then fail "a second VM of one name started"; fi
grep -q 'runs already' "$tmp/dup.err" || fail "second VM: $(cat "$tmp/dup.err")"

# system_powerdown: the ACPI power button; the guest's driver powers off
# through S5 (test_sup_powerdown.sh has the details and a guest that ignores it).
ctl system_powerdown || fail "system_powerdown"
for _ in $(seq 200); do kill -0 "$sup" 2>/dev/null || break; sleep 0.05; done
kill -0 "$sup" 2>/dev/null && fail "splitvm still runs after system_powerdown"
grep -qx 'splitvm-guest: power button: powering off (S5)' "$tmp/console.log" ||
	fail "the guest did not power off through the power button"
sleep 0.2
grep -q 'GUEST_SHUTDOWN.*guest-shutdown' "$tmp/follow" ||
	fail "events --follow: no GUEST_SHUTDOWN (guest-shutdown): $(cat "$tmp/follow")"
for _ in $(seq 40); do kill -0 "$fol" 2>/dev/null || break; sleep 0.05; done
kill -0 "$fol" 2>/dev/null && fail "events --follow still runs after the VM stopped"
wait "$fol" || fail "events --follow exited $?"
fol=
[ ! -e "$dir" ] || fail "run dir left behind"
[ ! -e "$tmp/pid" ] || fail "pid file left behind"
sup=
rm -rf "$tmp"
echo "PASS"
