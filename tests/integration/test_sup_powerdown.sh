#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# system_powerdown is QEMU's: the ACPI power button (the GED's power-down
# event, Notify(\_SB.PWRB, 0x80)), answered at once; the VM stops when the
# guest powers off.  `splitvm run` in the foreground with the bundled XML
# and the test guest's virtio-mem driver, which watches the button:
#   acts    while the guest waits, the core takes little CPU (the guest
#           halts); system_powerdown -> the guest writes S5 to the FADT's
#           sleep control register -> GUEST_SHUTDOWN (reason guest-shutdown),
#           the last event: the device processes that exit when the core
#           goes are neither restarted nor reported -> splitvm exits 0 and
#           leaves no run directory;
#   ignore  power_button=ignore: the guest reports the press and runs on
#           (a resize still works), twice; `quit` then stops it, exit 0.
# usage: test_sup_powerdown.sh SPLITVM SPLITVM_CTL GUEST_ELF EXAMPLE_XML
set -u
SUP=$1 CTL=$2 GUEST=$3 XML=$4
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is not usable here"
	exit 77
fi
tmp=$(mktemp -d)
sup=
cleanup() { [ -n "$sup" ] && kill "$sup" 2>/dev/null; [ -n "${fol:-}" ] && kill "$fol" 2>/dev/null; rm -rf "$tmp"; }
fail() {
	echo "FAIL: $*"
	echo "--- splitvm log"; cat "$tmp/sup.log"
	echo "--- console"; cat "$tmp/console.log"
	cleanup
	exit 1
}
trap cleanup EXIT

# start NAME CMDLINE: splitvm run in the foreground (a child of this shell,
# so that `wait` gets its exit status), once the guest's driver settled.
start() {
	name="pwr$$$1"
	truncate -s 64M "$tmp/pmem.img"
	: > "$tmp/console.log"
	sed -e "s|@GUEST@|$GUEST|" -e "s|<name>vm1</name>|<name>$name</name>|" \
		-e "s|<cmdline>.*</cmdline>|<cmdline>$2</cmdline>|" \
		-e "s|/var/tmp/splitvm-vm1-console.log|$tmp/console.log|" \
		-e "s|/var/tmp/splitvm-vm1-pmem.img|$tmp/pmem.img|" "$XML" > "$tmp/vm.xml"
	if [ "$(id -u)" = 0 ]; then dir=/run/splitvm/$name; else dir=$XDG_RUNTIME_DIR/splitvm/$name; fi
	"$SUP" run "$tmp/vm.xml" > "$tmp/sup.out" 2> "$tmp/sup.log" & sup=$!
	wait_console "virtio-mem plugged 0x8000000 of requested 0x8000000"
	grep -q "splitvm-guest: power button: GED at 0xfea00000, S5 is SLP_TYP 5" "$tmp/console.log" ||
		fail "$1: the guest did not find the GED and \\_S5 in the ACPI tables"
}
ctl() { "$CTL" --socket "$dir/ctl" "$@"; }
wait_console() { # wait_console LINE: the guest printed splitvm-guest: LINE
	for _ in $(seq 300); do
		grep -qxF "splitvm-guest: $1" "$tmp/console.log" && return 0
		kill -0 "$sup" 2>/dev/null || break
		sleep 0.05
	done
	fail "the guest did not print '$1'"
}
# wait_exit SECONDS: splitvm ends within SECONDS; its status in $status.
wait_exit() {
	for _ in $(seq $(($1 * 20))); do kill -0 "$sup" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$sup" 2>/dev/null && fail "splitvm still runs $1 s later"
	wait "$sup"
	status=$?
	sup=
}

# The guest acts on the button.
start acts "scenario=virtio-mem vmem_steps=0"
ctl events --follow > "$tmp/follow" 2>&1 & fol=$!
sleep 0.3
# The guest waits for the button halted (guest_idle()), not spinning: its
# vCPU thread takes a whole CPU when it spins, a few per cent when it halts.
# A loaded host gives a spinning core less, never an idle one more.
core=$(ctl info processes | awk '$2 == "core" { print $1 }')
[ -n "$core" ] && [ -r "/proc/$core/stat" ] || fail "no core pid in info processes"
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$core/stat"; }
t0=$(cpu_ticks)
sleep 3
t1=$(cpu_ticks)
pct=$(( (t1 - t0) * 100 / $(getconf CLK_TCK) / 3 ))
echo "core CPU while the guest idles: $pct%"
[ "$pct" -lt 35 ] || fail "splitvm-core took $pct% of a CPU while the guest idled"
ctl system_powerdown > "$tmp/out" 2>&1 || fail "system_powerdown: $(cat "$tmp/out")"
[ ! -s "$tmp/out" ] || fail "system_powerdown printed '$(cat "$tmp/out")' (QEMU's prints nothing)"
wait_console "power button pressed"
wait_console "power button: powering off (S5)"
wait_exit 10
[ "$status" = 0 ] || fail "splitvm exited $status after the guest's power-off"
grep -q "power button pressed (ACPI GED)" "$tmp/sup.log" || fail "no power-button line in the core's log"
grep -q "guest ACPI power-off (S5)" "$tmp/sup.log" || fail "the core saw no S5"
grep -q "the guest shut down (splitvm-core exit code 0)" "$tmp/sup.log" ||
	fail "splitvm does not say the guest shut down"
for _ in $(seq 40); do kill -0 "$fol" 2>/dev/null || break; sleep 0.05; done
grep -q 'GUEST_SHUTDOWN.*guest-shutdown: splitvm-core exit code 0' "$tmp/follow" ||
	fail "events --follow: no GUEST_SHUTDOWN with reason guest-shutdown: $(cat "$tmp/follow")"
grep -q 'FAIL' "$tmp/console.log" && fail "the guest failed"
[ ! -e "$dir" ] || fail "run dir $dir left behind"
# The device processes exit 0 when the core goes: part of the shutdown, not
# crashes (no restart, no exit event), and GUEST_SHUTDOWN is the last event.
grep -E "restarting in|died \(" "$tmp/sup.log" &&
	fail "a device process's end after the power-off was taken for a crash"
grep -E "DEVICE_PROCESS_(EXITED|RESTARTED)" "$tmp/follow" &&
	fail "events --follow: a device process event after the power-off: $(cat "$tmp/follow")"
tail -n 1 "$tmp/follow" | grep -q GUEST_SHUTDOWN ||
	fail "events --follow: GUEST_SHUTDOWN is not the last event: $(cat "$tmp/follow")"
fol=
echo "ok: system_powerdown -> S5 -> GUEST_SHUTDOWN -> exit 0, no device process restarted"

# The guest ignores the button: the VM runs on until `quit`.
start ignore "scenario=virtio-mem vmem_steps=0 power_button=ignore"
grep -q "S5 is SLP_TYP 5, presses ignored" "$tmp/console.log" || fail "ignore: not announced"
for i in 1 2; do
	ctl system_powerdown || fail "ignore: system_powerdown $i"
	for _ in $(seq 200); do
		[ "$(grep -c 'power button ignored' "$tmp/console.log")" -ge "$i" ] && break
		sleep 0.05
	done
	[ "$(grep -c 'power button ignored' "$tmp/console.log")" -ge "$i" ] ||
		fail "ignore: press $i not reported by the guest"
done
sleep 1
kill -0 "$sup" 2>/dev/null || fail "ignore: splitvm stopped although the guest ignored the button"
ctl qom-set vm0 requested-size 256M || fail "ignore: qom-set after the presses"
wait_console "virtio-mem plugged 0x10000000 of requested 0x10000000"
ctl events | grep -q GUEST_SHUTDOWN && fail "ignore: a GUEST_SHUTDOWN event while the VM runs"
grep -q "powering off" "$tmp/console.log" && fail "ignore: the guest powered off"
ctl quit || fail "ignore: quit"
wait_exit 10
[ "$status" = 0 ] || fail "ignore: splitvm exited $status after quit"
grep -q "guest ACPI power-off" "$tmp/sup.log" && fail "ignore: the core saw an S5"
[ ! -e "$dir" ] || fail "ignore: run dir $dir left behind"
echo "ok: ignored presses, the VM runs on, quit stops it"
echo "PASS"
