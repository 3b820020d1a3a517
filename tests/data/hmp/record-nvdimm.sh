#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Record what QEMU prints for an NVDIMM in `info memory-devices` (HMP) and
# `query-memory-devices` (QMP): 1 GiB of boot RAM with 4 slots and 8 GiB
# maxmem, -M pc,nvdimm=on, one nvdimm on a 256 MiB memory-backend-file with
# a 128 KiB label (QEMU shows size - label-size).  The guest never runs (-S).
# tests/integration/test_nvdimm_label.sh compares splitvm's answers with
# these, field for field (addresses only have to be numbers).
#
# usage: record-nvdimm.sh [DIR]     (default: beside this script)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here}
qemu=${QEMU:-qemu-system-x86_64}
img=$(mktemp /var/tmp/splitvm-hmp-nvdimm.XXXXXX)
trap 'rm -f "$img"' EXIT
truncate -s 256M "$img"
set -- -accel tcg -M pc,nvdimm=on -S -display none -nodefaults -m 1G,slots=4,maxmem=8G \
	-object memory-backend-file,id=memnv0,size=256M,mem-path="$img",share=on \
	-device nvdimm,id=nv0,memdev=memnv0,label-size=128K

printf 'info memory-devices\nquit\n' | "$qemu" "$@" -monitor stdio |
	tr -d '\r' | sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g' |
	sed -n '/^Memory device \[/,/^(qemu)/p' | grep -v '^(qemu)' | awk '{ print }' \
	> "$dir/info-memory-devices-nvdimm.txt"
# QMP: the answer to the second command, the array alone, one line.
printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-memory-devices"}' \
	'{"execute":"quit"}' | "$qemu" "$@" -qmp stdio |
	tr -d '\r' | grep '^{"return": \[' | sed -e 's/^{"return": //' -e 's/}$//' \
	> "$dir/query-memory-devices-nvdimm.json"
echo "record-nvdimm.sh: $("$qemu" --version | head -1) -> $dir" >&2
