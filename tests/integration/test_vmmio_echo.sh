#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The virtio-mmio transport end to end: splitvm-core with one -device, the
# test-only echo device process (vmmio_echo) on its dev-<id> socket, and the
# test guest driving the device from the FDT.
#   echo      requests answered through ioeventfd, the device plane and the
#             used ring (scenario virtio); the guest halts for the device's
#             interrupt (irqfd -> IOAPIC -> LAPIC) and must take exactly
#             one per used element; each answer carries a config copy,
#             which must be in place once the guest sees the answer
#   polled    the same with the guest polling the used ring (virtio_poll=1)
#   bad       broken descriptor chains put the device into NEEDS_RESET with a
#             config interrupt; after a reset it serves again (virtio-bad)
#   late      the device attaches with its config to follow and restates it
#             200 ms later: the core holds the vCPUs until then, so the
#             guest reads the restated config, never the placeholder
#   mapans    a slot map inside a response is refused back to the device
#             with a log line, and the answer still reaches the guest
#   replay    the device process dies holding a request; a successor with
#             epoch 2 attaches and the core re-sends it: the guest sees its
#             answer, never an error
#
# usage: test_vmmio_echo.sh SPLITVM_CORE VMMIO_ECHO GUEST_ELF
set -u
core=$1
echo_dev=$2
guest=$3
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is not usable by this user"
	exit 77
fi
dir=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# run NAME SCENARIO-ARGS: the core with device echo0, the guest's serial
# on NAME.out and the core's log on NAME.err; returns the core's status.
run() {
	local name=$1
	shift
	timeout 60 "$core" -m 256M -kernel "$guest" -serial stdio \
		-device virtio-mem,id=echo0 --run-dir "$dir/run-$name" \
		-append "$*" >"$dir/$name.out" 2>"$dir/$name.err" </dev/null
}
check() { # NAME RC
	if [ "$2" != 0 ] || ! grep -q "splitvm-guest: PASS" "$dir/$1.out"; then
		fail "$1: status $2, guest did not pass"
		sed 's/^/  out: /' "$dir/$1.out" | tail -20
		sed 's/^/  err: /' "$dir/$1.err" | tail -20
		sed 's/^/  dev: /' "$dir/$1.dev" 2>/dev/null | tail -10
		return 1
	fi
	echo "ok: $1"
}

# echo: eight requests of different sizes; each answer carries a config
# copy, which the guest must see applied once it sees the answer.
"$echo_dev" "$dir/run-echo" echo0 1 --idle-exit 30 --config-in-answer 2>"$dir/echo.dev" &
pids+=($!)
run echo scenario=virtio requests=8 virtio_id=$((0xffe0)) answer_config=1
check echo $? && grep -q "virtio: 8 requests answered, 8 interrupts" "$dir/echo.out" ||
	fail "echo: no '8 requests answered, 8 interrupts' line"

"$echo_dev" "$dir/run-polled" echo0 1 --idle-exit 30 2>"$dir/polled.dev" &
pids+=($!)
run polled scenario=virtio requests=4 virtio_poll=1
check polled $? && grep -q "virtio: 4 requests answered, polled" "$dir/polled.out" ||
	fail "polled: no '4 requests answered, polled' line"

# late: the config follows the attach; the guest checks its version.
"$echo_dev" "$dir/run-late" echo0 1 --idle-exit 30 --config-late 200 2>"$dir/late.dev" &
pids+=($!)
run late scenario=virtio requests=2 virtio_id=$((0xffe0))
check late $? && grep -q 'config "echo" version 1' "$dir/late.out" ||
	fail "late: the guest did not read the restated config"

# mapans: a map inside a response is refused, and the answer still arrives.
"$echo_dev" "$dir/run-mapans" echo0 1 --idle-exit 30 --map-in-answer 2>"$dir/mapans.dev" &
pids+=($!)
run mapans scenario=virtio requests=2
if check mapans $?; then
	[ "$(grep -c "the core refused seq .*: slots: a response carries unmaps only" \
		"$dir/mapans.dev")" = 2 ] || fail "mapans: the device did not get 2 refusals"
	grep -q "response seq 1: slots\[0\] refused: a response carries unmaps only" "$dir/mapans.err" ||
		fail "mapans: the core logged no refusal"
fi

# bad: every broken chain of the guest's table, and recovery after each.
"$echo_dev" "$dir/run-bad" echo0 1 --idle-exit 30 2>"$dir/bad.dev" &
pids+=($!)
run bad scenario=virtio-bad
if check bad $?; then
	grep -q "broken descriptor chain" "$dir/bad.err" ||
		fail "bad: the core logged no broken chain"
	[ "$(grep -c "broken descriptor chain" "$dir/bad.err")" -le 6 ] ||
		fail "bad: more log lines than broken chains"
fi

# replay: the first process dies on seq 3, its successor answers it.
(
	"$echo_dev" "$dir/run-replay" echo0 1 --die-at 3 --idle-exit 30
	echo "first process exited with $?"
	exec "$echo_dev" "$dir/run-replay" echo0 2 --idle-exit 30
) 2>"$dir/replay.dev" >>"$dir/replay.dev" &
pids+=($!)
run replay scenario=virtio requests=6
if check replay $?; then
	grep -q "dying on seq 3" "$dir/replay.dev" || fail "replay: the first process did not die"
	grep -q "epoch 2" "$dir/replay.dev" || fail "replay: no successor attached"
	grep -q "re-sending held requests" "$dir/replay.err" ||
		fail "replay: the core did not re-send the held request"
fi

[ "$fails" = 0 ] || exit 1
echo "PASS"
