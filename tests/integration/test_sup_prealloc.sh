#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Prealloc progress under `splitvm run`: memsrv publishes it on
# memsrv-events, the supervisor forwards it to `events` as
# PREALLOC_PROGRESS {"backend", "percent"}.  Boot RAM of 1040 MiB with
# prealloc=on (memsrv reports backends over 1 GiB): its events are in the
# history, percent rising to 100.  Then object_add of another 1040 MiB
# with prealloc=on while `events --follow` runs: the follower sees its
# progress in order, ending at 100, before object_add returns; object_del
# gives the memory back.  About 2 GiB at the peak, for a few seconds.
# Then `stop` and `cont` on the same VM.
# usage: test_sup_prealloc.sh SPLITVM SPLITVM_CTL GUEST_ELF
set -u
SUP=$1 CTL=$2 GUEST=$3
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is not usable here"
	exit 77
fi
name="suppre$$"
tmp=$(mktemp -d)
if [ "$(id -u)" = 0 ]; then dir=/run/splitvm/$name; else dir=$XDG_RUNTIME_DIR/splitvm/$name; fi
sup= fol=
ctl() { "$CTL" --socket "$dir/ctl" "$@"; }
cleanup() {
	[ -n "$fol" ] && kill "$fol" 2>/dev/null
	[ -n "$sup" ] && kill "$sup" 2>/dev/null
	rm -rf "$tmp"
}
# A test killed by meson's timeout must not leave its VM running.
trap cleanup EXIT
trap 'exit 143' TERM INT
fail() { echo "FAIL: $*"; echo "--- splitvm log"; cat "$tmp/sup.log"; cleanup; exit 1; }
# percents BACKEND < JSON-LINES: the PREALLOC_PROGRESS percents of BACKEND, one a line.
percents() {
	grep '"event": *"PREALLOC_PROGRESS"' | grep "\"backend\": *\"$1\"" |
		grep -o '"percent": *[0-9]*' | grep -o '[0-9]*$'
}
# rising FILE: at least 3 numbers, each above the last, the last 100.
rising() {
	awk 'NR > 1 && $1 <= last { bad = 1 } { last = $1; n++ }
	     END { exit !(n >= 3 && !bad && last == 100) }' "$1"
}

"$SUP" run --daemonize --pidfile "$tmp/pid" -name "$name" -m 1040M,slots=2,maxmem=4G -smp 1 \
	-object memory-backend-ram,id=ram0,size=1040M,prealloc=on -numa node,memdev=ram0 \
	-kernel "$GUEST" -append "scenario=dimm dimm_slots=2" -serial "file:$tmp/console.log" \
	> "$tmp/sup.out" 2> "$tmp/sup.log" || fail "splitvm run --daemonize exited $?"
sup=$(cat "$tmp/pid")

# Boot RAM: preallocated before the VM ran; its progress is in the history.
ctl --json events > "$tmp/boot.json" || fail "events"
percents ram0 < "$tmp/boot.json" > "$tmp/boot.pct"
rising "$tmp/boot.pct" ||
	fail "boot RAM progress not rising to 100: $(tr '\n' ' ' < "$tmp/boot.pct")"
ctl events | grep -q '^[0-9]*\.[0-9]* PREALLOC_PROGRESS {"backend":"ram0","percent":100}$' ||
	fail "the text form: $(ctl events | grep PREALLOC | tail -1)"

# At run time, live: the follower has every step once object_add returns.
ctl --json events --follow > "$tmp/follow.json" 2> "$tmp/follow.err" &
fol=$!
# The follower is subscribed once it has printed the history.
for _ in $(seq 100); do [ -s "$tmp/follow.json" ] && break; sleep 0.05; done
[ -s "$tmp/follow.json" ] || fail "events --follow printed no history"
ctl object_add memory-backend-ram,id=big,size=1040M,prealloc=on 2> "$tmp/err" ||
	fail "object_add big: $(cat "$tmp/err")"
for _ in $(seq 100); do
	percents big < "$tmp/follow.json" | grep -qx 100 && break
	sleep 0.05
done
percents big < "$tmp/follow.json" > "$tmp/live.pct"
rising "$tmp/live.pct" ||
	fail "--follow: object_add's progress not rising to 100: $(tr '\n' ' ' < "$tmp/live.pct")"
# ... and the history holds the same steps, after the boot RAM's.
ctl --json events > "$tmp/all.json" || fail "events"
percents big < "$tmp/all.json" | cmp -s - "$tmp/live.pct" ||
	fail "history and --follow disagree: $(percents big < "$tmp/all.json" | tr '\n' ' ')"
grep -n PREALLOC_PROGRESS "$tmp/all.json" | tail -1 | grep -q '"big"' ||
	fail "the last progress event is not big's"
kill "$fol" 2>/dev/null
wait "$fol" 2>/dev/null
fol=

# A backend of 1 GiB or less is quick: no progress for it.
ctl object_add memory-backend-ram,id=small,size=64M,prealloc=on || fail "object_add small"
ctl --json events | percents small | grep -q . && fail "progress events for a 64 MiB backend"
ctl object_del small || fail "object_del small"
ctl object_del big || fail "object_del big"

# stop and cont (QEMU's): a stopped guest's vCPU thread takes no CPU
# time, though the test guest's driver polls a register when it runs.
core_ticks() {
	local pid
	pid=$(ctl info processes | awk '$2 == "core" { print $1 }')
	awk '{ print $14 + $15 }' "/proc/$pid/stat"
}
ctl stop || fail "stop"
ctl stop || fail "stop when stopped"
t0=$(core_ticks)
sleep 0.5
t1=$(core_ticks)
[ $((t1 - t0)) -le 5 ] || fail "the core took $((t1 - t0)) ticks in 0.5 s while stopped"
ctl cont || fail "cont"
expect_one_line() { ctl "$@" > /dev/null 2> "$tmp/err" && fail "ctl $* succeeded"; [ "$(wc -l < "$tmp/err")" = 1 ] || fail "ctl $*: $(cat "$tmp/err")"; }
expect_one_line stop now
t2=$(core_ticks)
sleep 1
[ $(($(core_ticks) - t2)) -gt 2 ] || fail "the guest's vCPU does not run after cont"

ctl quit > /dev/null || fail "quit"
for _ in $(seq 100); do kill -0 "$sup" 2>/dev/null || break; sleep 0.05; done
kill -0 "$sup" 2>/dev/null && fail "splitvm still runs after quit"
sup=
[ ! -e "$dir" ] || fail "$dir left behind"
rm -rf "$tmp"
echo "PASS: prealloc progress at boot and from object_add, in order, to 100%; stop, cont"
