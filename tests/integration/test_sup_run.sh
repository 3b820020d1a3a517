#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# splitvm end to end with the test guest: run from the bundled XML, ctl
# verbs and their errors, a kill -9 of the device process, `restart`,
# concurrent resizes, a refused config leaving nothing behind, clean quit.
# usage: test_sup_run.sh SPLITVM SPLITVM_CTL GUEST_ELF EXAMPLE_XML
set -u
SUP=$1 CTL=$2 GUEST=$3 XML=$4
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is not usable here"
	exit 77
fi
name="suptest$$"
tmp=$(mktemp -d)
pmem=/var/tmp/splitvm-vm1-pmem.img
[ -e "$pmem" ] || truncate -s 64M "$pmem"
sed -e "s|@GUEST@|$GUEST|" -e "s|<name>vm1</name>|<name>$name</name>|" \
	-e "s|/var/tmp/splitvm-vm1-console.log|$tmp/console.log|" "$XML" > "$tmp/vm.xml"
if [ "$(id -u)" = 0 ]; then dir=/run/splitvm/$name; else dir=$XDG_RUNTIME_DIR/splitvm/$name; fi
ctl() { "$CTL" --socket "$dir/ctl" "$@"; }
fail() { echo "FAIL: $*"; echo "--- splitvm log"; cat "$tmp/sup.log"; kill "$sup" 2>/dev/null; wait; rm -rf "$tmp"; exit 1; }
expect_err() { # expect_err TEXT ARGS...: fails with TEXT on one stderr line
	local want=$1; shift
	if ctl "$@" > "$tmp/out" 2> "$tmp/err"; then fail "ctl $* succeeded"; fi
	[ "$(wc -l < "$tmp/err")" = 1 ] || fail "ctl $*: not one error line: $(cat "$tmp/err")"
	grep -qF -- "$want" "$tmp/err" || fail "ctl $*: '$(cat "$tmp/err")' lacks '$want'"
}

"$SUP" run "$tmp/vm.xml" > "$tmp/sup.log" 2>&1 &
sup=$!
for _ in $(seq 100); do [ -S "$dir/ctl" ] && break; sleep 0.1; done
[ -S "$dir/ctl" ] || fail "no ctl socket"

ctl info memory-devices > "$tmp/info" || fail "info memory-devices"
grep -q '^Memory device \[dimm\]: "dimm0"$' "$tmp/info" || fail "no dimm0"
grep -q '^Memory device \[virtio-mem\]: "vm0"$' "$tmp/info" || fail "no vm0"
grep -q '^  requested-size: 134217728$' "$tmp/info" || fail "requested-size at start"
grep -q '^  block-size: 2097152$' "$tmp/info" || fail "block-size"
ctl query-memory-devices | grep -q '"type": "virtio-mem"' || fail "query-memory-devices"
ctl info processes | grep -q ' vm0 *virtio-mem' || fail "info processes"

ctl qom-set vm0 requested-size 256M || fail "qom-set"
[ "$(ctl qom-get vm0 requested-size)" = 268435456 ] || fail "qom-get after qom-set"
ctl update-memory-device --alias vm0 --requested-size 512M || fail "update-memory-device"
[ "$(ctl qom-get vm0 requested-size)" = 536870912 ] || fail "after update-memory-device"

expect_err "unknown verb 'frobnicate'" frobnicate
expect_err "no memory device 'nope'" qom-set nope requested-size 1G
expect_err "'12Q' is not a size" qom-set vm0 requested-size 12Q
expect_err "is not a multiple of the block size" qom-set vm0 requested-size 3M
expect_err "is larger than the device's memdev" qom-set vm0 requested-size 2G
expect_err "only virtio-mem devices have requested-size" qom-set dimm0 requested-size 0
expect_err "Property 'virtio-mem.bogus' not found" qom-get vm0 bogus
expect_err "issue 8" device_add pc-dimm,id=d1,memdev=m1

# kill -9 of the device process: restarted, state (requested size) kept.
pid=$(ctl --json info processes | grep -o '"id": *"vm0"[^}]*' | grep -o '"pid": *[0-9]*' | grep -o '[0-9]*$')
[ -n "$pid" ] || pid=$(ctl info processes | awk '$2 == "vm0" { print $1 }')
kill -9 "$pid" || fail "kill $pid"
for _ in $(seq 50); do ctl events | grep -q DEVICE_PROCESS_RESTARTED && break; sleep 0.1; done
ctl events > "$tmp/ev"
grep -q 'DEVICE_PROCESS_EXITED .*"kind":"signal","code":9' "$tmp/ev" || fail "no EXITED event: $(cat "$tmp/ev")"
grep -q 'DEVICE_PROCESS_RESTARTED' "$tmp/ev" || fail "no RESTARTED event"
[ "$(grep -n EXITED "$tmp/ev" | cut -d: -f1)" -lt "$(grep -n RESTARTED "$tmp/ev" | cut -d: -f1)" ] || fail "events out of order"
sleep 0.5
[ "$(ctl qom-get vm0 requested-size)" = 536870912 ] || fail "requested size lost across the restart"

# restart on request: not counted as a crash, same state.
ctl restart vm0 || fail "restart vm0"
for _ in $(seq 50); do [ "$(ctl events | grep -c DEVICE_PROCESS_RESTARTED)" = 2 ] && break; sleep 0.1; done
[ "$(ctl events | grep -c DEVICE_PROCESS_RESTARTED)" = 2 ] || fail "restart vm0: no second RESTARTED"
sleep 0.5
[ "$(ctl qom-get vm0 requested-size)" = 536870912 ] || fail "requested size lost across restart vm0"

# Two clients resizing at once: each answer is whole, the last one sticks.
for _ in $(seq 10); do
	ctl qom-set vm0 requested-size 64M & a=$!
	ctl qom-set vm0 requested-size 128M & b=$!
	wait "$a" || fail "concurrent qom-set 64M"
	wait "$b" || fail "concurrent qom-set 128M"
done
v=$(ctl qom-get vm0 requested-size)
[ "$v" = 67108864 ] || [ "$v" = 134217728 ] || fail "concurrent resizes left $v"

# A refused config starts nothing and leaves no run directory.
sed -e "s|<name>$name</name>|<name>${name}bad</name>|" -e "s|<requested unit='MiB'>128|<requested unit='MiB'>3|" "$tmp/vm.xml" > "$tmp/bad.xml"
if "$SUP" run "$tmp/bad.xml" 2> "$tmp/bad.err"; then fail "a bad config ran"; fi
grep -q 'block' "$tmp/bad.err" || fail "bad config error: $(cat "$tmp/bad.err")"
[ ! -e "/run/splitvm/${name}bad" ] || fail "a refused config left its run dir"

ctl quit || fail "quit"
wait "$sup"
rc=$?
[ "$rc" = 0 ] || fail "splitvm exited $rc"
[ ! -e "$dir" ] || fail "run dir left behind"
rm -rf "$tmp"
echo "PASS"
