#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# virtio-pmem benchmark with QEMU's flush time taken in the same run: Debian's
# kernel under Debian's QEMU (-accel tcg) makes N write + fsync flushes on a
# file in the same directory as bench_pmem's (tests/linux/record-virtio-pmem.sh
# with PMEM_SEQ=N), and bench_pmem reads QEMU's handling time of each from
# that trace.  Where the recording cannot be made (no QEMU, no cpio, the
# kernel package cannot be fetched), it says why and uses the committed
# recording instead.
#
# usage: bench_pmem.sh BENCH_PMEM SPLITVM_CORE SPLITVM_DEVPROC GUEST_ELF
#                      COMMITTED_LOG RECORDER LINUX_CACHE [N [REGION_MIB]]
set -u
bench=$1 core=$2 devproc=$3 guest=$4 committed=$5 recorder=$6 cache=$7
n=${8:-1000} mib=${9:-16}
# bench_pmem's file is in TMPDIR, else /var/tmp: QEMU's goes beside it, so
# that both fsyncs hit the same disk.
dir=${TMPDIR:-/var/tmp}
work=$(mktemp -d -p "$dir")
trap 'rm -rf "$work"' EXIT
log=$committed
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "note: no qemu-system-x86_64: QEMU's figures are from the committed recording"
elif TMPDIR=$dir PMEM_SEQ=$n PMEM_PAR=1x0 bash "$recorder" "$work/qemu.log" "$cache" \
	>"$work/record.out" 2>&1; then
	log=$work/qemu.log
	echo "QEMU measured in this run: $(tail -n 1 "$work/record.out")"
else
	echo "note: recording QEMU failed ($(tail -n 1 "$work/record.out")):" \
		"QEMU's figures are from the committed recording"
fi
"$bench" "$core" "$devproc" "$guest" "$log" "$n" "$mib"
