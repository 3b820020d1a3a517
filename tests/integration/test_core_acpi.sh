#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The core's ACPI tables through ACPICA's own tools: `iasl -d` disassembles
# every table without errors, and acpiexec loads them and evaluates the
# DSDT's methods to the resources the core's devices use, and the GED's
# _EVT to the power button's Notify.  Needs no KVM:
# --dump-acpi without -kernel builds the tables from the configuration.
#
# usage: test_core_acpi.sh SPLITVM_CORE
set -u
core=$1
for tool in iasl acpiexec; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP: $tool not installed (apt-get install acpica-tools)"
		exit 77
	fi
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# Sum of the bytes of file $1 (first $2 bytes) modulo 256.
bytesum() {
	od -An -v -tu1 -N "$2" "$1" | tr -s ' ' '\n' | awk '{s += $1} END {print s % 256}'
}

check_set() {
	local name=$1
	shift
	local out="$dir/$name"
	mkdir -p "$out"
	if ! "$core" "$@" --dump-acpi "$out"; then
		fail "$name: splitvm-core --dump-acpi failed"
		return
	fi
	for f in "$out"/*.dat; do
		local t
		t=$(basename "$f" .dat)
		if [ "$t" = rsdp ]; then
			# iasl 20200925 reads no standalone RSDP (not even its own
			# `iasl -T RSDP` output): check its two checksums here.
			[ "$(bytesum "$f" 20)" = 0 ] || fail "$name: RSDP checksum"
			[ "$(bytesum "$f" 36)" = 0 ] || fail "$name: RSDP extended checksum"
			continue
		fi
		if ! (cd "$out" && iasl -d "$t.dat" >"$t.iasl.log" 2>&1); then
			fail "$name: iasl -d $t.dat"
			cat "$out/$t.iasl.log"
			continue
		fi
		if grep -Eiq "error|warning|invalid|incorrect checksum" "$out/$t.dsl" \
			"$out/$t.iasl.log"; then
			fail "$name: iasl -d $t.dat reports a problem"
			grep -Ei "error|warning|invalid|checksum" "$out/$t.dsl" "$out/$t.iasl.log"
		fi
	done
	for t in facp apic dsdt xsdt; do
		[ -f "$out/$t.dsl" ] || fail "$name: no $t table"
	done
	grep -q "Hardware Reduced (V5) : 1" "$out/facp.dsl" ||
		fail "$name: FADT is not hardware-reduced"
	grep -q "Sleep Control Register" "$out/facp.dsl" ||
		fail "$name: FADT has no sleep control register"
	local cpus
	cpus=$(grep -c "Subtable Type : 00 \[Processor Local APIC\]" "$out/apic.dsl")
	[ "$cpus" = "$expect_cpus" ] || fail "$name: MADT has $cpus LAPICs, want $expect_cpus"
	grep -q "Subtable Type : 02 \[Interrupt Source Override\]" "$out/apic.dsl" ||
		fail "$name: MADT has no interrupt source override"

	# acpiexec: load every table, evaluate the COM1 methods and \_S5.
	local log="$out/acpiexec.log"
	(cd "$out" && acpiexec -b 'evaluate \_SB.COM1._STA; evaluate \_SB.COM1._CRS; evaluate \_S5' \
		dsdt.dat facp.dat apic.dat $(ls srat.dat 2>/dev/null)) >"$log" 2>&1 ||
		fail "$name: acpiexec exited with $?"
	grep -Eiq "AE_[A-Z]|error|exception" "$log" && {
		fail "$name: acpiexec reports an error"
		grep -Ei "AE_[A-Z]|error|exception" "$log"
	}
	grep -q "\[Integer\] = 000000000000000F" "$log" || fail "$name: COM1._STA is not 0x0F"
	grep -q "47 01 F8 03 F8 03 01 08 22 10 00 79 00" "$log" ||
		fail "$name: COM1._CRS is not IO 0x3F8/8 + IRQ 4"
	grep -q "\[Integer\] = 0000000000000005" "$log" || fail "$name: \\_S5 is not type 5"
	echo "ok: $name"
}

expect_cpus=2
check_set plain -m 512M -smp 2
expect_cpus=4
check_set numa -m 2G,slots=4,maxmem=8G -smp 4 \
	-object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=1G \
	-numa node,nodeid=0,cpus=0-1,memdev=m0 -numa node,nodeid=1,cpus=2-3,memdev=m1
if [ -f "$dir/numa/srat.dsl" ]; then
	n=$(grep -c "Subtable Type : 01 \[Memory Affinity\]" "$dir/numa/srat.dsl")
	# 2 GiB of RAM all lies below the 3 GiB hole: one range per node, plus
	# the hot-pluggable device-memory area.
	[ "$n" = 3 ] || fail "numa: SRAT has $n memory affinity entries, want 3"
	grep -q "Hot Pluggable : 1" "$dir/numa/srat.dsl" ||
		fail "numa: SRAT has no hot-pluggable range"
else
	fail "numa: no SRAT with -numa"
fi
[ -f "$dir/plain/srat.dat" ] && fail "plain: SRAT without -numa"

# DIMM slots: QEMU's memory-hotplug devices and the GED, up to the most
# slots QEMU allows.  iasl -d must take the DSDT of 256 MPxx devices.
expect_cpus=1
check_set slots256 -m 1G,slots=256,maxmem=512G
[ -f "$dir/slots256/dsdt.dsl" ] &&
	{ grep -q "Device (MPFF)" "$dir/slots256/dsdt.dsl" || fail "slots256: no MPFF device"; }

# acpiexec simulates the SystemMemory region as plain memory, so a small
# SSDT stores a present 1 GiB DIMM at 4 GiB on node 1 into the controller's
# fields; MP00's methods must then report it.  Slot 0, because selecting a
# slot writes MSEL over MRBL (offset 0) in that simulated memory.
check_set dimm -m 1G,slots=2,maxmem=8G
cat >"$dir/dimm/ssdt.asl" <<'ASL'
DefinitionBlock ("", "SSDT", 2, "SPLTVM", "DIMMTEST", 1)
{
    External (\_SB.MHPC.MRBH, FieldUnitObj)
    External (\_SB.MHPC.MRLL, FieldUnitObj)
    External (\_SB.MHPC.MRLH, FieldUnitObj)
    External (\_SB.MHPC.MPX, FieldUnitObj)
    External (\_SB.MHPC.MES, FieldUnitObj)
    Method (\SETS, 0, NotSerialized)
    {
        \_SB.MHPC.MRBH = 1
        \_SB.MHPC.MRLL = 0x40000000
        \_SB.MHPC.MRLH = 0
        \_SB.MHPC.MPX = 1
        \_SB.MHPC.MES = 1
    }
}
ASL
if (cd "$dir/dimm" && iasl -p ssdt ssdt.asl >ssdt.log 2>&1); then
	log="$dir/dimm/dimm-exec.log"
	(cd "$dir/dimm" && acpiexec -b 'evaluate \_SB.MHPC._STA; evaluate \_SB.MHPC.MP00._STA; evaluate \SETS; evaluate \_SB.MHPC.MP00._STA; evaluate \_SB.MHPC.MP00._CRS; evaluate \_SB.MHPC.MP00._PXM; evaluate \_SB.GED._CRS; evaluate \_SB.MHPC.MSCN' \
		dsdt.dat facp.dat apic.dat ssdt.aml) >"$log" 2>&1 ||
		fail "dimm: acpiexec exited with $?"
	grep -Eiq "AE_[A-Z]|error|exception" "$log" && {
		fail "dimm: acpiexec reports an error"
		grep -Ei "AE_[A-Z]|error|exception" "$log"
	}
	sta=$(grep -A2 "Evaluating .*MP00._STA" "$log" | grep -o "\[Integer\] = [0-9A-F]*" |
		awk '{print $3}' | tr '\n' ' ')
	[ "$sta" = "0000000000000000 000000000000000F " ] ||
		fail "dimm: MP00._STA before/after the DIMM is '$sta', want 0 then 0xF"
	grep -A3 "Evaluating .*MHPC._STA" "$log" | grep -q "\[Integer\] = 000000000000000B" ||
		fail "dimm: MHPC._STA is not 0x0B"
	# QWordMemory: min 0x100000000, max 0x13FFFFFFF, length 0x40000000.
	grep -q "0000: 8A 2B 00 00 0C 03 00 00 00 00 00 00 00 00 00 00" "$log" &&
		grep -q "0010: 00 00 01 00 00 00 FF FF FF 3F 01 00 00 00 00 00" "$log" &&
		grep -q "0020: 00 00 00 00 00 00 00 00 00 40 00 00 00 00 79 00" "$log" ||
		fail "dimm: MP00._CRS is not QWordMemory [0x100000000, 0x13FFFFFFF]"
	grep -A3 "Evaluating .*MP00._PXM" "$log" | grep -q "\[Integer\] = 0000000000000001" ||
		fail "dimm: MP00._PXM is not 1"
	grep -q "89 06 00 03 01 09 00 00 00 79 00" "$log" ||
		fail "dimm: GED._CRS is not Interrupt(edge, active-high) GSI 9"
	grep -A3 "Evaluating .*MHPC.MSCN" "$log" | grep -q "\[Integer\] = 0000000000000001" ||
		fail "dimm: MHPC.MSCN does not return One"
	echo "ok: dimm methods"
else
	fail "dimm: iasl cannot compile the test SSDT"
	cat "$dir/dimm/ssdt.log"
fi

# The power button: every machine has the GED and \_SB.PWRB (PNP0C0C);
# the GED's _EVT reads ESEL and, for the power-down bit (0x2, QEMU's
# ACPI_GED_PWR_DOWN_EVT), does Notify(\_SB.PWRB, 0x80), what Linux's ACPI
# button driver turns into KEY_POWER.  acpiexec's SystemMemory is plain
# memory, so an SSDT stores the selector the core would return; each
# evaluation runs in a fresh acpiexec.
cat >"$dir/ged.asl" <<'ASL'
DefinitionBlock ("", "SSDT", 2, "SPLTVM", "GEDTEST", 1)
{
    External (\_SB.GED.ESEL, FieldUnitObj)
    Method (\SETE, 1, NotSerialized)
    {
        \_SB.GED.ESEL = Arg0
    }
}
ASL
# With slots: every slot's insert flag reads set (one byte of plain
# memory), so a scan that runs notifies MP00 and MP01 (Device Check).
cat >"$dir/gedm.asl" <<'ASL'
DefinitionBlock ("", "SSDT", 2, "SPLTVM", "GEDMTEST", 1)
{
    External (\_SB.MHPC.MINS, FieldUnitObj)
    Method (\SETI, 0, NotSerialized)
    {
        \_SB.MHPC.MINS = 1
    }
}
ASL
# ged_check SET ESEL PWRB SCANS: _EVT with the selector at ESEL notifies
# \_SB.PWRB PWRB times (0x80) and the DIMM slots SCANS times (MSCN's
# Device Check), nothing else, with no error.
ged_check() {
	local log="$dir/$1/ged-$2.log" n cmd="evaluate \SETE $2" tables=../ged.aml
	if [ "$1" = dimm ]; then
		cmd="$cmd; evaluate \SETI"
		tables="$tables ../gedm.aml"
	fi
	# shellcheck disable=SC2086 # $tables is a list
	(cd "$dir/$1" && acpiexec -b "$cmd; evaluate \_SB.GED._EVT 9" dsdt.dat facp.dat \
		apic.dat $tables) >"$log" 2>&1 || fail "ged $1 $2: acpiexec exited with $?"
	grep -Eiq "AE_[A-Z]|error|exception" "$log" && {
		fail "ged $1 $2: acpiexec reports an error"
		grep -Ei "AE_[A-Z]|error|exception" "$log"
	}
	grep -q "Evaluating .*GED._EVT" "$log" || fail "ged $1 $2: _EVT was not evaluated"
	n=$(grep -c "Received a Device Notify on \[PWRB\] .* Value 0x80" "$log")
	[ "$n" = "$3" ] || fail "ged $1 ESEL=$2: $n Notify(PWRB, 0x80), want $3"
	n=$(grep -c "Received a System Notify on \[MP0[01]\] .* Value 0x01" "$log")
	[ "$n" = "$4" ] || fail "ged $1 ESEL=$2: $n slot notifies, want $4"
	n=$(grep "Received a .*Notify" "$log" | grep -Evc "\[(PWRB|MP0[01])\]")
	[ "$n" = 0 ] || fail "ged $1 ESEL=$2: unexpected notifies: $(grep Notify "$log")"
}
if (cd "$dir" && iasl -p ged ged.asl >ged.log 2>&1 && iasl -p gedm gedm.asl >>ged.log 2>&1); then
	for set in plain dimm; do
		[ -f "$dir/$set/dsdt.dsl" ] || continue
		grep -A3 "Device (PWRB)" "$dir/$set/dsdt.dsl" | grep -q 'EisaId ("PNP0C0C")' ||
			fail "$set: no PNP0C0C power button \_SB.PWRB"
		grep -q 'Notify (\\_SB.PWRB, 0x80)' "$dir/$set/dsdt.dsl" ||
			fail "$set: GED._EVT has no Notify (\_SB.PWRB, 0x80)"
		ged_check "$set" 2 1 0
		ged_check "$set" 0 0 0
	done
	# Bits the machine does not use are ignored.
	ged_check plain 0xFFFFFFFD 0 0
	# Without slots the GED knows only the power button; with them both.
	grep -q "MSCN" "$dir/plain/dsdt.dsl" && fail "plain: the GED calls MSCN without slots"
	grep -q "MHPC" "$dir/plain/dsdt.dsl" && fail "plain: memory hotplug devices without slots"
	grep -q '\\_SB.MHPC.MSCN ()' "$dir/dimm/dsdt.dsl" ||
		fail "dimm: GED._EVT does not call \_SB.MHPC.MSCN"
	ged_check dimm 1 0 2
	ged_check dimm 3 1 2
	echo "ok: GED power button"
else
	fail "ged: iasl cannot compile the test SSDT"
	cat "$dir/ged.log"
fi

# virtio-mmio transports as ACPI devices (Linux's virtio_mmio binds to
# LNRO0005 through ACPI on x86): one VRnn per device, window n of 0x200
# bytes from 0xd0000000 and GSI 16 + n, edge-triggered active-high.  Like
# QEMU's microvm they have no _STA: ACPI's default, present and
# functioning (0x0F), which Linux takes from the device's absent method.
# The devices need a run directory for their channels, nothing listens.
mkdir -p "$dir/virtio-run"
check_set virtio -m 1G,slots=2,maxmem=8G \
	-object memory-backend-ram,id=mem0,size=1G -device virtio-mem,id=vm0,memdev=mem0 \
	-object memory-backend-ram,id=mem1,size=1G -device virtio-mem,id=vm1,memdev=mem1 \
	--run-dir "$dir/virtio-run"
if [ -f "$dir/virtio/dsdt.dsl" ]; then
	n=$(grep -c 'Name (_HID, "LNRO0005")' "$dir/virtio/dsdt.dsl")
	[ "$n" = 2 ] || fail "virtio: $n LNRO0005 devices in the DSDT, want 2"
	sed -n '/Device (VR00)/,/^        }/p' "$dir/virtio/dsdt.dsl" | grep -q "_STA" &&
		fail "virtio: VR00 has a _STA; the default (present) is meant"
	log="$dir/virtio/virtio-exec.log"
	(cd "$dir/virtio" && acpiexec -b 'evaluate \_SB.VR00._HID; evaluate \_SB.VR00._UID; evaluate \_SB.VR00._CRS; evaluate \_SB.VR01._HID; evaluate \_SB.VR01._UID; evaluate \_SB.VR01._CRS' \
		dsdt.dat facp.dat apic.dat) >"$log" 2>&1 ||
		fail "virtio: acpiexec exited with $?"
	grep -Eiq "AE_[A-Z]|error|exception" "$log" && {
		fail "virtio: acpiexec reports an error"
		grep -Ei "AE_[A-Z]|error|exception" "$log"
	}
	hids=$(grep -A2 "Evaluating .*VR0[01]._HID" "$log" | grep -c '\[String\] Length 08 = "LNRO0005"')
	[ "$hids" = 2 ] || fail "virtio: $hids of 2 _HIDs evaluate to LNRO0005"
	uids=$(grep -A2 "Evaluating .*VR0[01]._UID" "$log" | grep -o "\[Integer\] = [0-9A-F]*" |
		awk '{print $3}' | tr '\n' ' ')
	[ "$uids" = "0000000000000000 0000000000000001 " ] ||
		fail "virtio: _UIDs are '$uids', want 0 and 1"
	# Memory32Fixed(RW, base, 0x200) then Interrupt(consumer, edge, high, GSI).
	grep -A4 "Evaluating .*VR00._CRS" "$log" |
		grep -q "0000: 86 09 00 01 00 00 00 D0 00 02 00 00 89 06 00 03" &&
		grep -A4 "Evaluating .*VR00._CRS" "$log" | grep -q "0010: 01 10 00 00 00 79 00" ||
		fail "virtio: VR00._CRS is not Memory32Fixed 0xD0000000/0x200 + GSI 16"
	grep -A4 "Evaluating .*VR01._CRS" "$log" |
		grep -q "0000: 86 09 00 01 00 02 00 D0 00 02 00 00 89 06 00 03" &&
		grep -A4 "Evaluating .*VR01._CRS" "$log" | grep -q "0010: 01 11 00 00 00 79 00" ||
		fail "virtio: VR01._CRS is not Memory32Fixed 0xD0000200/0x200 + GSI 17"
	echo "ok: virtio-mmio devices"
fi

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "PASS"
