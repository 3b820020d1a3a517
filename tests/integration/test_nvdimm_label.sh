#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# An NVDIMM end to end under `splitvm run`, with the test guest's
# scenario=nvdimm (tests/guest/scn_nvdimm.c) driving the NFIT and QEMU's
# label _DSM interface, and the host checking the backend file:
#   1  -M pc,nvdimm=on -device nvdimm,label-size=128K on a 256 MiB file:
#      the guest writes the whole label area and a PMEM pattern; the host
#      finds the labels at size - label-size + offset, byte for byte, and
#      the PMEM words at their offsets;
#   2  a second boot reads both back (they survived the VM's restart);
#   3  the same check with another seed fails: the check can fail;
#   4  readonly=on on the backend with unarmed=on: the NFIT says NOT_ARMED,
#      every Set Label Data gets status 1, the file does not change; a
#      read-only backend without unarmed=on is refused with QEMU's text;
#   5  the libvirt XML form (<readonly/> is unarmed=on, as libvirt makes
#      it; the backend stays writable): the labels are found;
#   6  --daemonize, the guest in a loop of label calls: info memory-devices
#      and query-memory-devices against QEMU 7.2's own (tests/data/hmp/,
#      record-nvdimm.sh), info processes; the nvdimm's process is stopped
#      and killed -9 with a call in flight: the core re-sends it to the
#      successor and the guest's rounds go on without an error; the power
#      button ends the VM.
# usage: test_nvdimm_label.sh SPLITVM SPLITVM_CTL GUEST_ELF HMP_TXT QMP_JSON
set -u
SUP=$1 CTL=$2 GUEST=$3 HMP=$4 QMP=$5
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is not usable here"
	exit 77
fi
tmp=$(mktemp -d)
img=$tmp/nv.img
SIZE=$((256 << 20)) LABEL=$((128 << 10))
PMEM=$((SIZE - LABEL))
SEED=$(($$ % 100000 + 3))
sup= name= dir=
cleanup() {
	[ -n "$sup" ] && kill "$sup" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	echo "--- splitvm log"; cat "$tmp/sup.log"
	echo "--- console"; cat "$tmp/console.log"
	exit 1
}
ctl() { "$CTL" --socket "$dir/ctl" "$@"; }
run_dir() {
	if [ "$(id -u)" = 0 ]; then dir=/run/splitvm/$1; else dir=$XDG_RUNTIME_DIR/splitvm/$1; fi
}
# boot TAG RO UNARMED CMDLINE...: splitvm run in the foreground until the
# guest exits; its exit status in $rc.
boot() {
	local tag=$1 ro=$2 un=$3
	shift 3
	name="nvl$$$tag"
	: > "$tmp/console.log"
	timeout 120 "$SUP" run -name "$name" -M pc,nvdimm=on -m 512M,slots=4,maxmem=8G -smp 1 \
		-object "memory-backend-file,id=memnv0,size=256M,mem-path=$img,share=on$ro" \
		-device "nvdimm,id=nv0,memdev=memnv0,label-size=128K$un" \
		-kernel "$GUEST" -serial "file:$tmp/console.log" \
		-append "scenario=nvdimm nvdimm_size=$PMEM nvdimm_label_size=$LABEL $*" \
		> "$tmp/sup.out" 2> "$tmp/sup.log"
	rc=$?
}
passed() { [ "$rc" = 0 ] && grep -qx 'splitvm-guest: PASS' "$tmp/console.log"; }
# The label area in the file against the guest's label_word(SEED, i).
labels_in_file() {
	od -An -v -tu4 -w4 -j "$PMEM" -N "$LABEL" "$img" |
		awk -v seed="$1" '{ want = ((NR - 1) * 2654435761 + seed) % 4294967296
		                   if ($1 != want) bad++ }
		                 END { exit !(NR == 32768 && bad == 0) }'
}
# The PMEM words at k MiB against the guest's pmem_word(SEED, k).
pmem_in_file() {
	local k got
	for k in 0 1 17 63; do
		got=$(od -An -tu8 -j $((k << 20)) -N 8 "$img" | tr -d ' ')
		[ "$got" = $((k * 1000003 + $1 * 65536 + 0x1234)) ] || return 1
	done
}

truncate -s 256M "$img"

# 1: labels and PMEM written by the guest are in the file.
boot 1 "" "" "nvdimm_seed=$SEED"
passed || fail "boot 1 (write): exit $rc"
grep -qx "splitvm-guest: nvdimm: handle 1 SPA 0x[0-9a-f]* *+0x$(printf %x $PMEM) flags 0x0, DSM page 0xff000" \
	"$tmp/console.log" || fail "boot 1: the guest's NFIT line"
grep -qx 'splitvm-guest: nvdimm: refusals as QEMU'"'"'s' "$tmp/console.log" || fail "boot 1: refusals"
labels_in_file "$SEED" || fail "the labels the guest wrote are not at size - label-size in the file"
pmem_in_file "$SEED" || fail "the PMEM words the guest wrote are not in the file"
# The PMEM region ends where the label area starts: nothing of it in the labels.
[ "$(od -An -tu8 -j $((PMEM - 8)) -N 8 "$img" | tr -d ' ')" = 0 ] ||
	fail "the word before the label area was written"

# 2: a restart finds both.
boot 2 "" "" "nvdimm_seed=$SEED nvdimm_labels=check nvdimm_pmem=check"
passed || fail "boot 2 (check after restart): exit $rc"
grep -qx 'splitvm-guest: nvdimm: labels found and read back, [0-9]* calls' "$tmp/console.log" ||
	fail "boot 2: labels not found"

# 3: the guest's check fails on other data.
boot 3 "" "" "nvdimm_seed=$((SEED + 1)) nvdimm_labels=check nvdimm_pmem=none"
[ "$rc" != 0 ] || fail "boot 3: a check against another seed passed"
grep -q 'splitvm-guest: FAIL: nvdimm: label word at 0x0 reads' "$tmp/console.log" ||
	fail "boot 3: not the label check that failed"

# 4: a read-only backend: NOT_ARMED, writes refused with status 1, file unchanged.
sum=$(tail -c "$LABEL" "$img" | md5sum)
chmod a-w "$img"
boot 4 ",readonly=on" ",unarmed=on" "nvdimm_seed=$SEED nvdimm_readonly=1 nvdimm_unarmed=1 nvdimm_pmem=check"
chmod u+w "$img"
passed || fail "boot 4 (read-only): exit $rc"
grep -q 'splitvm-guest: nvdimm: handle 1 SPA .* flags 0x8,' "$tmp/console.log" ||
	fail "boot 4: the NFIT does not say NOT_ARMED"
[ "$(tail -c "$LABEL" "$img" | md5sum)" = "$sum" ] || fail "boot 4: the read-only labels changed"
pmem_in_file "$SEED" || fail "boot 4: the read-only PMEM changed"
boot 4b ",readonly=on" "" "nvdimm_seed=$SEED"
[ "$rc" != 0 ] || fail "a read-only backend without unarmed=on was accepted"
grep -q "'unarmed' property must be 'on' since memdev memnv0 is read-only" "$tmp/sup.log" ||
	fail "read-only without unarmed: $(cat "$tmp/sup.log")"

# 5: libvirt's XML.
name="nvx$$"
cat > "$tmp/vm.xml" <<EOF
<domain type='kvm'>
  <name>$name</name>
  <maxMemory slots='4' unit='GiB'>8</maxMemory>
  <memory unit='MiB'>768</memory>
  <currentMemory unit='MiB'>768</currentMemory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>$GUEST</kernel>
    <cmdline>scenario=nvdimm nvdimm_seed=$SEED nvdimm_unarmed=1 nvdimm_labels=check nvdimm_pmem=check nvdimm_size=$PMEM nvdimm_label_size=$LABEL</cmdline>
  </os>
  <cpu>
    <numa>
      <cell id='0' cpus='0' memory='512' unit='MiB'/>
    </numa>
  </cpu>
  <devices>
    <console type='file'>
      <source path='$tmp/console.log'/>
    </console>
    <memory model='nvdimm' access='shared'>
      <source>
        <path>$img</path>
      </source>
      <target>
        <size unit='MiB'>256</size>
        <node>0</node>
        <label>
          <size unit='KiB'>128</size>
        </label>
        <readonly/>
      </target>
      <alias name='nv0'/>
    </memory>
  </devices>
</domain>
EOF
: > "$tmp/console.log"
timeout 120 "$SUP" run "$tmp/vm.xml" > "$tmp/sup.out" 2> "$tmp/sup.log"
rc=$?
passed || fail "boot 5 (XML): exit $rc"

# 6: a running VM: the monitor, and kill -9 with a label call in flight.
name="nvd$$"
run_dir "$name"
: > "$tmp/console.log"
"$SUP" run --daemonize --pidfile "$tmp/pid" -name "$name" -M pc,nvdimm=on \
	-m 512M,slots=4,maxmem=8G -smp 1 \
	-object "memory-backend-file,id=memnv0,size=256M,mem-path=$img,share=on" \
	-device nvdimm,id=nv0,memdev=memnv0,label-size=128K -kernel "$GUEST" \
	-append "scenario=nvdimm nvdimm_seed=$SEED nvdimm_labels=check nvdimm_pmem=check nvdimm_loop=1" \
	-serial "file:$tmp/console.log" > "$tmp/sup.out" 2> "$tmp/sup.log" ||
	fail "splitvm run --daemonize exited $?"
sup=$(cat "$tmp/pid")
rounds() { grep -o '^splitvm-guest: nvdimm round [0-9]* ok$' "$tmp/console.log" | tail -1 | grep -o '[0-9][0-9]*'; }
# A label call is a few context switches between the vCPU, the core's device
# plane and the model: fast, unless a loaded host makes each switch wait.
wait_rounds() { # wait_rounds N: the guest reported round N or later
	for _ in $(seq 2400); do
		grep -q 'splitvm-guest: FAIL' "$tmp/console.log" && fail "the guest failed"
		[ "$(rounds || echo 0)" -ge "$1" ] && return 0
		sleep 0.05
	done
	fail "the guest did not reach round $1 (at $(rounds))"
}
wait_rounds 20

ctl info memory-devices > "$tmp/info" || fail "info memory-devices"
sed -E 's/^(  addr: )0x[0-9a-f]+$/\1ADDR/' "$HMP" > "$tmp/qemu.norm"
sed -E 's/^(  addr: )0x[0-9a-f]+$/\1ADDR/' "$tmp/info" > "$tmp/info.norm"
diff -u "$tmp/qemu.norm" "$tmp/info.norm" > "$tmp/d" ||
	fail "info memory-devices differs from QEMU's: $(cat "$tmp/d")"
if command -v jq > /dev/null; then
	ctl query-memory-devices > "$tmp/qmp" || fail "query-memory-devices"
	norm='map(.data.addr |= type) | sort_by(.data.id)'
	jq -S "$norm" "$QMP" > "$tmp/qmp.qemu" || fail "jq on QEMU's recording"
	jq -S "$norm" "$tmp/qmp" > "$tmp/qmp.ours" || fail "query-memory-devices is no JSON: $(cat "$tmp/qmp")"
	diff -u "$tmp/qmp.qemu" "$tmp/qmp.ours" > "$tmp/d" ||
		fail "query-memory-devices differs from QEMU's: $(cat "$tmp/d")"
else
	echo "note: jq not installed, query-memory-devices not compared"
fi
pid=$(ctl info processes | awk '$2 == "nv0" { print $1 }')
ctl info processes | grep -q " nv0 *nvdimm" || fail "info processes: $(ctl info processes)"
kill -0 "$pid" 2>/dev/null || fail "nv0's process ($pid) is not running"
# The pid shown is the sandbox's reaper; the model runs as its only child,
# confined (docs/security.md) and holding the backend file, no guest RAM.
child=$(awk '{ print $1 }' "/proc/$pid/task/$pid/children")
[ -n "$child" ] || fail "nv0's reaper $pid has no child"
for want in "Seccomp:	2" "NoNewPrivs:	1" "CapEff:	0000000000000000"; do
	grep -qx "$want" "/proc/$child/status" ||
		fail "nv0's process $child: not '$want': $(grep -E '^(Seccomp|NoNewPrivs|CapEff):' "/proc/$child/status")"
done
for ns in mnt net pid user; do
	[ "$(readlink "/proc/$child/ns/$ns")" != "$(readlink "/proc/self/ns/$ns")" ] ||
		fail "nv0's process shares the test's $ns namespace"
done
ls -l "/proc/$child/fd" > "$tmp/fds"
grep -q " -> $img\$" "$tmp/fds" || fail "nv0's process does not hold the backend: $(cat "$tmp/fds")"
grep -q "memfd:.*ram\|-> /dev/shm" "$tmp/fds" && fail "nv0's process holds guest RAM: $(cat "$tmp/fds")"

# Stopped, the process takes the next call and never answers; killed, its
# successor gets the call from the core.  The vCPU waits up to 10 s.
kill -STOP "$child"
sleep 1
kill -KILL "$child"
new=
for _ in $(seq 200); do
	new=$(ctl info processes | awk '$2 == "nv0" { print $1 }')
	[ -n "$new" ] && [ "$new" != "$pid" ] && break
	sleep 0.05
done
[ -n "$new" ] && [ "$new" != "$pid" ] || fail "no successor for nv0 after kill -9"
before=$(rounds)
wait_rounds $((before + 40))
grep -q 'device nv0: process attached, epoch 2, re-sending the call in flight' "$tmp/sup.log" ||
	fail "the core did not re-send the call in flight to the successor"
grep -q 'did not answer a _DSM call' "$tmp/sup.log" && fail "a _DSM call timed out"
grep -q 'seccomp violation' "$tmp/sup.log" && fail "a seccomp violation: $(grep 'seccomp violation' "$tmp/sup.log")"
[ "$(grep -c 'device nv0: process .* died' "$tmp/sup.log")" = 1 ] ||
	fail "nv0's process died other than by the test's kill: $(grep 'device nv0: process' "$tmp/sup.log")"

ctl system_powerdown || fail "system_powerdown"
for _ in $(seq 200); do kill -0 "$sup" 2>/dev/null || break; sleep 0.05; done
kill -0 "$sup" 2>/dev/null && fail "splitvm still runs after system_powerdown"
sup=
grep -qx 'splitvm-guest: power button: powering off (S5)' "$tmp/console.log" ||
	fail "the guest did not power off through the power button"
echo "PASS: nvdimm labels and PMEM in the file, across restarts, read-only, XML, monitor, kill -9"
