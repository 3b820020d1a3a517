#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# device_del of a pc-dimm while its removal is open, and after the guest
# refused it, under `splitvm run` with the test guest's scenario=dimm
# (issue 8: "device_del of a DIMM already being removed: a clear error,
# nothing changes"; "when the guest refuses, ACPI_DEVICE_OST reports it,
# the DIMM stays, and nothing is lost").
#   1. dimm_eject_late=1: the guest acknowledges the eject request
#      (_OST 3, 0x84) and ejects only at the next memory-hotplug event, so
#      the removal stays open as long as the test wants, with no race: a
#      second device_del fails with one line naming the DIMM and "already
#      being removed", changing nothing; a device_add (the next event) lets
#      the guest eject; DEVICE_DELETED comes once; object_del works.
#   2. dimm_refuse=1: the guest answers _OST(3, 0x82 device busy):
#      ACPI_DEVICE_OST says so, the DIMM stays (listed, its process and
#      backend kept, object_del refused), and a later device_del asks the
#      guest again, as QEMU does, rather than calling it already removed.
# usage: test_sup_dimm_unplug.sh SPLITVM SPLITVM_CTL GUEST_ELF
set -u
SUP=$1 CTL=$2 GUEST=$3
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is not usable here"
	exit 77
fi
name=
tmp=$(mktemp -d)
if [ "$(id -u)" = 0 ]; then base=/run/splitvm; else base=$XDG_RUNTIME_DIR/splitvm; fi
dir=
sup=
ctl() { "$CTL" --socket "$dir/ctl" "$@"; }
stop() { [ -n "$sup" ] && kill "$sup" 2>/dev/null; sup=; }
cleanup() { stop; rm -rf "$tmp"; }
# A test killed by meson's timeout must not leave its VM running.
trap cleanup EXIT
trap 'exit 143' TERM INT
fail() {
	echo "FAIL: $*"
	echo "--- splitvm log"; cat "$tmp/sup.log"
	echo "--- console"; cat "$tmp/console.log"
	cleanup
	exit 1
}
expect_err() { # expect_err TEXT ARGS...: fails with TEXT on one stderr line
	local want=$1; shift
	if ctl "$@" > "$tmp/out" 2> "$tmp/err"; then fail "ctl $* succeeded"; fi
	[ "$(wc -l < "$tmp/err")" = 1 ] || fail "ctl $*: not one error line: $(cat "$tmp/err")"
	grep -qF -- "$want" "$tmp/err" || fail "ctl $*: '$(cat "$tmp/err")' lacks '$want'"
}
# Generous limits: the machine may be loaded; nothing here races the guest.
wait_console() { # wait_console REGEX [COUNT]: COUNT lines match (default 1)
	for _ in $(seq 600); do
		[ "$(grep -Ec -- "$1" "$tmp/console.log")" -ge "${2:-1}" ] && return 0
		sleep 0.05
	done
	fail "the guest did not print '$1' ${2:-1} time(s)"
}
count_events() { # count_events PATTERN: events so far whose line matches
	ctl --json events | grep -c -- "$1"
}
wait_events() { # wait_events PATTERN COUNT
	for _ in $(seq 600); do
		[ "$(count_events "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	fail "not $2 event(s) matching '$1': $(ctl --json events)"
}
ndimms() { ctl info memory-devices | grep -c '^Memory device \[dimm\]'; }
start() { # start NAME GUEST-ARGS...
	name=$1
	shift
	dir=$base/$name
	: > "$tmp/console.log"
	"$SUP" run --daemonize --pidfile "$tmp/pid" -name "$name" -m 512M,slots=4,maxmem=8G \
		-smp 1 -kernel "$GUEST" -append "scenario=dimm dimm_slots=4 $*" \
		-serial "file:$tmp/console.log" > "$tmp/sup.out" 2> "$tmp/sup.log" ||
		fail "splitvm run --daemonize exited $?"
	sup=$(cat "$tmp/pid")
	kill -0 "$sup" || fail "the daemon (pid $sup) is not running"
	wait_console "dimm ready"
}
quit() {
	ctl quit || fail "quit"
	for _ in $(seq 200); do kill -0 "$sup" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$sup" 2>/dev/null && fail "splitvm still runs after quit"
	sup=
}

# ---- 1. a removal held open by the guest ----------------------------------
start "supdimmdel$$" dimm_eject_late=1
ctl object_add memory-backend-ram,id=mem1,size=256M || fail "object_add mem1"
ctl device_add pc-dimm,id=dimm1,memdev=mem1 || fail "device_add dimm1"
wait_console "dimm slot 0 present addr 0x[0-9a-f]+ size 0x10000000 node 0 hotplug"
ctl device_del dimm1 || fail "device_del dimm1"
wait_console "dimm slot 0 eject pending"
wait_events '"status":132' 1
ctl info memory-devices > "$tmp/before" || fail "info memory-devices"
ctl info processes | awk '{ print $1, $2 }' > "$tmp/procs-before"
expect_err "device 'dimm1' is already being removed" device_del dimm1
echo "device_del dimm1 again: $(cat "$tmp/err")"
# Nothing changed: no DEVICE_DELETED, the same devices, processes, memdev.
[ "$(count_events DEVICE_DELETED)" = 0 ] || fail "DEVICE_DELETED before the guest ejected"
ctl info memory-devices | cmp -s - "$tmp/before" || fail "the second device_del changed the DIMMs"
ctl info processes | awk '{ print $1, $2 }' | cmp -s - "$tmp/procs-before" ||
	fail "the second device_del changed the processes"
expect_err "object 'mem1' is in use, can not be deleted" object_del mem1
grep -q "dimm slot 0 ejected" "$tmp/console.log" && fail "the guest ejected before it was let"
# The next memory-hotplug event lets the guest eject dimm1 first.
ctl object_add memory-backend-ram,id=mem2,size=128M || fail "object_add mem2"
ctl device_add pc-dimm,id=dimm2,memdev=mem2 || fail "device_add dimm2"
wait_console "dimm slot 0 ejected"
wait_console "dimm slot 1 present addr 0x[0-9a-f]+ size 0x8000000 node 0 hotplug"
wait_events DEVICE_DELETED 1
for _ in $(seq 200); do [ "$(ndimms)" = 1 ] && break; sleep 0.05; done
[ "$(ndimms)" = 1 ] || fail "dimm1 still listed after DEVICE_DELETED"
ctl object_del mem1 || fail "object_del mem1 after the eject"
expect_err "Device 'dimm1' not found" device_del dimm1
[ "$(count_events DEVICE_DELETED)" = 1 ] || fail "not one DEVICE_DELETED: $(ctl --json events)"
ctl --json events | grep DEVICE_DELETED | grep -q '"device":"dimm1"' ||
	fail "DEVICE_DELETED does not name dimm1"
quit
echo "ok: a second device_del during the removal fails and changes nothing; one DEVICE_DELETED"

# ---- 2. a refused removal, then asked again --------------------------------
start "supdimmref$$" dimm_refuse=1
ctl object_add memory-backend-ram,id=mem1,size=256M || fail "object_add mem1"
ctl device_add pc-dimm,id=dimm1,memdev=mem1 || fail "device_add dimm1"
wait_console "dimm slot 0 present addr 0x[0-9a-f]+ size 0x10000000 node 0 hotplug"
dimm_pid=$(ctl info processes | awk '$2 == "dimm1" { print $1 }')
[ -n "$dimm_pid" ] || fail "no process for dimm1: $(ctl info processes)"
for try in 1 2; do
	ctl device_del dimm1 || fail "device_del dimm1 (#$try)"
	wait_console "dimm slot 0 refused" "$try"
	# 130 = 0x82, "device busy": the guest's answer, passed on as it came.
	wait_events '"status":130' "$try"
	ctl --json events | grep '"status":130' | tail -n 1 | grep '"source":3' | grep -q '"device":"dimm1"' ||
		fail "the refusing ACPI_DEVICE_OST does not name dimm1 and source 3: $(ctl --json events)"
	[ "$(count_events DEVICE_DELETED)" = 0 ] || fail "DEVICE_DELETED after a refusal"
	[ "$(ndimms)" = 1 ] || fail "dimm1 is gone after a refusal"
	kill -0 "$dimm_pid" 2>/dev/null || fail "dimm1's process ended after a refusal"
	expect_err "object 'mem1' is in use, can not be deleted" object_del mem1
	echo "ok: refusal #$try: ACPI_DEVICE_OST source 3 status 0x82, dimm1 kept"
done
grep -q "backend discarded" "$tmp/sup.log" && fail "a refused DIMM's backend was discarded"
quit
cleanup
echo "PASS"
