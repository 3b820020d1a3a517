#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Record what QEMU's own monitor prints for `info memory-devices` with the
# devices of splitvm's bundled launch config (docs/examples/default.xml):
# 1 GiB of boot RAM with 4 slots and 8 GiB maxmem, a 256 MiB pc-dimm, a
# 1 GiB virtio-mem device with 2 MiB blocks and 128 MiB requested, and a
# 64 MiB virtio-pmem device.  The guest never runs (-S): the sizes are the
# ones before any driver plugs.  tests/integration/test_sup_run.sh compares
# splitvm's text with it, field for field.
#
# usage: record.sh [OUT]     (default: info-memory-devices.txt beside it)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/info-memory-devices.txt}
qemu=${QEMU:-qemu-system-x86_64}
pmem=$(mktemp /var/tmp/splitvm-hmp-pmem.XXXXXX)
trap 'rm -f "$pmem"' EXIT
truncate -s 64M "$pmem"

printf 'info memory-devices\nquit\n' |
	"$qemu" -accel tcg -M pc -S -display none -nodefaults -monitor stdio \
		-m 1G,slots=4,maxmem=8G \
		-object memory-backend-ram,id=memdimm0,size=256M \
		-device pc-dimm,id=dimm0,memdev=memdimm0 \
		-object memory-backend-ram,id=memvm0,size=1G \
		-device virtio-mem-pci,id=vm0,memdev=memvm0,block-size=2M,requested-size=128M \
		-object memory-backend-file,id=mempmem0,size=64M,mem-path="$pmem",share=on \
		-device virtio-pmem-pci,id=pmem0,memdev=mempmem0 |
	tr -d '\r' | sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g' |
	sed -n '/^Memory device \[/,/^(qemu)/p' | grep -v '^(qemu)' | awk '{ print }' > "$out"
echo "record.sh: $("$qemu" --version | head -1) -> $out" >&2
