#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The NVDIMM parts of the core's ACPI tables through ACPICA's tools: the
# table set of a machine with two NVDIMMs (slots 0 and 2 of 4, the second
# unarmed), as tests/unit/test_nvdimm_nfit.c builds it with --dump, must
# disassemble with `iasl -d` without a warning, show QEMU's NFIT entries,
# and load into acpiexec with NVxx._ADR = the NFIT handle.  Needs no KVM.
#
# usage: test_nvdimm_acpi.sh TEST_NVDIMM_NFIT
set -u
dump=$1
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

"$dump" --dump "$dir" || { echo "FAIL: $dump --dump"; exit 1; }
for t in nfit dsdt; do
	if ! (cd "$dir" && iasl -d "$t.dat" >"$t.iasl.log" 2>&1); then
		fail "iasl -d $t.dat"
		cat "$dir/$t.iasl.log"
		continue
	fi
	if grep -Eiq "error|warning|invalid|incorrect checksum" "$dir/$t.dsl" "$dir/$t.iasl.log"; then
		fail "iasl -d $t.dat reports a problem"
		grep -Ei "error|warning|invalid|checksum" "$dir/$t.dsl" "$dir/$t.iasl.log"
	fi
done
nfit=$dir/nfit.dsl
[ "$(grep -c 'Subtable Type : 0000 \[System Physical Address Range\]' "$nfit")" = 2 ] ||
	fail "NFIT: not 2 SPA ranges"
[ "$(grep -c 'Subtable Type : 0004 \[NVDIMM Control Region\]' "$nfit")" = 2 ] ||
	fail "NFIT: not 2 control regions"
grep -q "Region Type GUID : 66F0D379-B4F3-4074-AC43-0D3318B78CDB" "$nfit" ||
	fail "NFIT: no persistent-memory SPA range"
grep -q "Device Handle : 00000003" "$nfit" || fail "NFIT: no handle 3 (slot 2)"
grep -q "Device not armed : 1" "$nfit" || fail "NFIT: the unarmed NVDIMM is armed"
grep -q "Vendor Id : 8086" "$nfit" || fail "NFIT: no QEMU vendor id"
grep -Eq "Code : 0301" "$nfit" || fail "NFIT: format interface code is not 0x301"
grep -q 'Name (_HID, "ACPI0012"' "$dir/dsdt.dsl" || fail "DSDT: no NVDIMM root device"

log=$dir/acpiexec.log
(cd "$dir" && acpiexec -b 'evaluate \_SB.NVDR.NV02._ADR; evaluate \_SB.NVDR.MEMA' \
	dsdt.dat facp.dat apic.dat nfit.dat) >"$log" 2>&1 || fail "acpiexec exited with $?"
grep -Eiq "AE_[A-Z]|error|exception" "$log" && {
	fail "acpiexec reports an error"
	grep -Ei "AE_[A-Z]|error|exception" "$log"
}
grep -q "\[Integer\] = 0000000000000003" "$log" || fail "NV02._ADR is not handle 3"
grep -q "\[Integer\] = 00000000000FF000" "$log" || fail "MEMA is not the DSM page 0xff000"
[ "$fails" = 0 ] && echo "ok: nvdimm acpi"
exit $((fails > 0))
