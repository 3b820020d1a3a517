#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# DIMM hotplug under `splitvm run` (QEMU-style options) with the test
# guest's scenario=dimm: object_add, device_add pc-dimm (the guest sees
# the insert), info memory-devices, object_del refused while in use,
# device_del (the guest ejects; DEVICE_DELETED; the DIMM's own process
# discards the backend and stops), object_del then works,
# and device_add's refusals (missing memdev, busy memdev, duplicate id, no
# free slot, size over maxmem) with their texts, each changing nothing; a
# slot freed by an unplug is reused.
# usage: test_sup_dimm.sh SPLITVM SPLITVM_CTL GUEST_ELF
set -u
SUP=$1 CTL=$2 GUEST=$3
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is not usable here"
	exit 77
fi
name="supdimm$$"
tmp=$(mktemp -d)
if [ "$(id -u)" = 0 ]; then dir=/run/splitvm/$name; else dir=$XDG_RUNTIME_DIR/splitvm/$name; fi
sup=
ctl() { "$CTL" --socket "$dir/ctl" "$@"; }
cleanup() { [ -n "$sup" ] && kill "$sup" 2>/dev/null; rm -rf "$tmp"; }
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
wait_console() { # wait_console REGEX
	for _ in $(seq 200); do grep -Eq -- "$1" "$tmp/console.log" && return 0; sleep 0.05; done
	fail "the guest did not print '$1'"
}
wait_event() { # wait_event KIND
	for _ in $(seq 200); do ctl --json events | grep -q "$1" && return 0; sleep 0.05; done
	fail "no $1 event: $(ctl --json events)"
}
ndimms() { ctl info memory-devices | grep -c '^Memory device \[dimm\]'; }

"$SUP" run --daemonize --pidfile "$tmp/pid" -name "$name" -m 512M,slots=4,maxmem=8G -smp 1 \
	-object memory-backend-ram,id=mem0,size=256M -device pc-dimm,id=dimm0,memdev=mem0 \
	-kernel "$GUEST" -append "scenario=dimm dimm_slots=4" -serial "file:$tmp/console.log" \
	> "$tmp/sup.out" 2> "$tmp/sup.log" || fail "splitvm run --daemonize exited $?"
sup=$(cat "$tmp/pid")
kill -0 "$sup" || fail "the daemon (pid $sup) is not running"
# dimm0 is cold-plugged: the guest finds it at boot, with a process of its own.
wait_console "dimm slot 0 present addr 0x[0-9a-f]+ size 0x10000000 node 0 boot"
[ "$(ndimms)" = 1 ] || fail "not one DIMM before any device_add"
ctl info memory-devices | grep -qx '  hotplugged: false' || fail "dimm0 not hotplugged: false"
ctl info processes | grep -q ' dimm0 *pc-dimm' || fail "no pc-dimm process for dimm0"

# Plug: the guest finds slot 1 filled by a hotplug.
ctl object_add memory-backend-ram,id=mem1,size=1G || fail "object_add mem1"
expect_err "attempt to add duplicate property 'mem1'" object_add memory-backend-ram,id=mem1,size=1G
expect_err "property 'size'" object_add memory-backend-ram,id=memx
expect_err "'memdev' property is not set" device_add pc-dimm,id=dimmx
expect_err "can't find value 'nope'" device_add pc-dimm,id=dimmx,memdev=nope
ctl device_add pc-dimm,id=dimm1,memdev=mem1 || fail "device_add dimm1"
wait_console "dimm slot 1 present addr 0x[0-9a-f]+ size 0x40000000 node 0 hotplug"
ctl info memory-devices | sed -n '/"dimm1"/,$p' > "$tmp/info" || fail "info memory-devices"
[ -s "$tmp/info" ] || fail "no dimm1: $(ctl info memory-devices)"
grep -qx '  slot: 1' "$tmp/info" || fail "dimm1 not in slot 1"
grep -qx '  size: 1073741824' "$tmp/info" || fail "dimm1 size"
grep -qx '  memdev: /objects/mem1' "$tmp/info" || fail "dimm1 memdev"
grep -qx '  hotplugged: true' "$tmp/info" || fail "dimm1 not hotplugged: true"
wait_event ACPI_DEVICE_OST
# dimm1's process holds the backend for the discard after its unplug.
ctl info processes | grep -q ' dimm1 *pc-dimm' || fail "no pc-dimm process: $(ctl info processes)"
dimm_pid=$(ctl info processes | awk '$2 == "dimm1" { print $1 }')
kill -0 "$dimm_pid" || fail "dimm1's process $dimm_pid is not running"

# Refusals that change nothing.
expect_err "object 'mem1' is in use, can not be deleted" object_del mem1
expect_err "Duplicate device ID 'dimm1'" device_add pc-dimm,id=dimm1,memdev=mem1
expect_err "can't use already busy memdev: mem1" device_add pc-dimm,id=dimm2,memdev=mem1
ctl object_add memory-backend-ram,id=big,size=7G || fail "object_add big"
expect_err "not enough space" device_add pc-dimm,id=dimmbig,memdev=big
ctl object_del big || fail "object_del big"
# Refused by the core: the backend is released again (object_del works).
ctl object_add memory-backend-ram,id=mbad,size=128M || fail "object_add mbad"
expect_err "splitvm-core: dimm dbad: [0x1000, +0x8000000) is outside the device-memory area" \
	device_add pc-dimm,id=dbad,memdev=mbad,addr=0x1000
expect_err "invalid slot number 7, valid range is [0-3]" device_add pc-dimm,id=dbad,memdev=mbad,slot=7
expect_err "cannot be hot-plugged" device_add virtio-mem-pci,id=dbad,memdev=mbad
ctl object_del mbad || fail "object_del mbad after refused device_adds"
[ "$(ndimms)" = 2 ] || fail "a refused device_add changed the devices"

# Unplug: the guest ejects, DEVICE_DELETED, the backend is free again.
ctl device_del dimm1 || fail "device_del dimm1"
wait_console "dimm slot 1 ejected"
wait_event DEVICE_DELETED
ctl --json events | grep DEVICE_DELETED | grep -q dimm1 || fail "DEVICE_DELETED does not name dimm1"
[ "$(ndimms)" = 1 ] || fail "dimm1 still listed after DEVICE_DELETED"
grep -q 'dimm1.*backend discarded (1073741824 bytes)' "$tmp/sup.log" || fail "dimm1's backend was not discarded"
for _ in $(seq 100); do kill -0 "$dimm_pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$dimm_pid" 2>/dev/null && fail "dimm1's process still runs after DEVICE_DELETED"
ctl info processes | grep -q ' dimm1 ' && fail "info processes still lists dimm1"
expect_err "Device 'dimm1' not found" device_del dimm1
ctl object_del mem1 || fail "object_del mem1 after the unplug"
expect_err "object 'mem1' not found" object_del mem1

# The cold-plugged DIMM unplugs the same way, and frees its backend.
ctl device_del dimm0 || fail "device_del dimm0"
wait_console "dimm slot 0 ejected"
for _ in $(seq 200); do [ "$(ndimms)" = 0 ] && break; sleep 0.05; done
[ "$(ndimms)" = 0 ] || fail "dimm0 still listed after its eject"
grep -q 'dimm0.*backend discarded (268435456 bytes)' "$tmp/sup.log" || fail "dimm0's backend was not discarded"
ctl object_del mem0 || fail "object_del mem0 after dimm0's unplug"

# Fill every slot; the fifth is refused.
for i in 1 2 3 4; do
	ctl object_add memory-backend-ram,id=m$i,size=128M || fail "object_add m$i"
	ctl device_add pc-dimm,id=d$i,memdev=m$i || fail "device_add d$i"
done
ctl object_add memory-backend-ram,id=m5,size=128M || fail "object_add m5"
expect_err "no free slots available" device_add pc-dimm,id=d5,memdev=m5
[ "$(ndimms)" = 4 ] || fail "not 4 DIMMs after filling the slots"
# Unplugging one frees its slot for the next device_add.
ctl device_del d2 || fail "device_del d2"
wait_console "dimm slot 1 ejected"
for _ in $(seq 200); do [ "$(ndimms)" = 3 ] && break; sleep 0.05; done
[ "$(ndimms)" = 3 ] || fail "d2 still listed after its eject"
ctl device_add pc-dimm,id=d5,memdev=m5 || fail "device_add d5 into the freed slot"
ctl info memory-devices | grep -A2 '"d5"' | grep -qx '  slot: 1' || fail "d5 not in slot 1"

ctl quit || fail "quit"
for _ in $(seq 100); do kill -0 "$sup" 2>/dev/null || break; sleep 0.05; done
kill -0 "$sup" 2>/dev/null && fail "splitvm still runs after quit"
sup=
rm -rf "$tmp"
echo "PASS"
