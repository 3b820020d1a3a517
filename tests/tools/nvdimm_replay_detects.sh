#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# nvdimm_replay must fail on a recording that differs from what splitvm's
# nvdimm device process answers: take a committed recording, change one
# thing at a time (a label size or transfer limit QEMU reported, a refusal
# QEMU traced, a function QEMU did not serve, the PMEM size, a byte in
# QEMU's file that no write put there) and demand exit status 1 with the
# difference named.
#
# usage: nvdimm_replay_detects.sh NVDIMM_REPLAY SPLITVM-DEVPROC RECORDING.log
set -u
# shellcheck source=replay_detects_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/replay_detects_lib.sh"
rd_setup "usage: nvdimm_replay_detects.sh NVDIMM_REPLAY SPLITVM-DEVPROC RECORDING.log" 2 "$@"

# QEMU's first Get Label Size said 256 KiB.
awk '/acpi_nvdimm_label_info/ && ++n == 1 { sub(/label_size 0x20000/, "label_size 0x40000") } 1' \
	"$rec" | expect_fail size 'Get Label Size: QEMU label size 0x40000 max xfer 0xfec; splitvm 0x20000'
# QEMU's second one offered a larger transfer.
awk '/acpi_nvdimm_label_info/ && ++n == 2 { sub(/max_xfer 0xfec/, "max_xfer 0xff0") } 1' "$rec" |
	expect_fail xfer 'QEMU label size 0x20000 max xfer 0xff0; splitvm 0x20000 0xfec'
# QEMU refused the first label read (invalid input) where splitvm serves it.
awk '{ print } /acpi_nvdimm_read_label/ && ++n == 1 {
	print "0@0.0:acpi_nvdimm_label_oversize position 0x20001 is beyond label data (len = 131072)" }' \
	"$rec" | expect_fail refused 'status/value 0x3; splitvm length 3980, status/value 0x0'
# QEMU answered the first Get Label Size "not supported" (no label_info).
awk '/acpi_nvdimm_label_info/ && ++n == 1 { next } 1' "$rec" |
	expect_fail nolabel 'QEMU answered length 8, status/value 0x1; splitvm length 16'
# QEMU's PMEM region 4 KiB smaller: its file's label area would not be at the
# end of a backend of PMEM + label size, where splitvm's is.
sed 's/"size": 268304384/"size": 268300288/' "$rec" |
	expect_fail pmem "QEMU's file: 0x10000000 bytes, index at 0xffe0000"
# QEMU's file has a byte where no write of Linux's went.
awk '{ print } /^# label / && !n++ {
	print "# label 0x10000 00000000000000000000000000000000000000000000000000000000000000ff" }' \
	"$rec" | expect_fail file 'label area at 0x1001f: 0x00, QEMU.s file has 0xff'
exit $failed
