#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# virtio-mem benchmarks with QEMU's per-request times taken in the same run:
# Debian's kernel under Debian's QEMU (-accel tcg) goes 0 -> 4 GiB -> 0 on an
# 8 GiB virtio-mem device with 2 MiB blocks (tests/linux/record-virtio-mem.sh
# with VMEM_STEPS="4G 0": 32 PLUGs and 32 UNPLUGs of 128 MiB), and the
# benchmark replays that stream through splitvm and reads QEMU's handling
# time of each request from the same trace (-msg timestamp=on).  Where the
# recording cannot be made (no qemu-system-x86_64, no cpio, the kernel
# package cannot be fetched, QEMU or the guest fails), it says why and uses
# the committed recording instead, whose stream is 0 -> 1G -> 4G -> 512M -> 0.
#
# usage: bench_virtio_mem.sh BENCH RECORDER LINUX_CACHE COMMITTED_LOG -- ARGS...
#   runs BENCH ARGS..., with every ARG that is exactly @LOG@ replaced by the
#   recording's path (each benchmark takes it in its own position).
#   LINUX_CACHE: the recorder's kernel + initramfs directory (made there by
#   tests/linux/build-initramfs.sh when missing).
# env: BENCH_VMEM_RECORD=0 skips the recording (the committed one is used).
set -u
if [ $# -lt 5 ] || [ "$5" != "--" ]; then
	echo "usage: $0 BENCH RECORDER LINUX_CACHE COMMITTED_LOG -- ARGS..." >&2
	exit 2
fi
bench=$1 recorder=$2 cache=$3 committed=$4
shift 5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log=$committed
why=
if [ "${BENCH_VMEM_RECORD:-1}" = 0 ]; then
	why="BENCH_VMEM_RECORD=0"
elif ! command -v qemu-system-x86_64 >/dev/null; then
	why="no qemu-system-x86_64"
elif ! command -v cpio >/dev/null; then
	why="no cpio"
elif VMEM_SIZE=8G VMEM_BLOCK=2M VMEM_STEPS="4G 0" \
	bash "$recorder" "$work/qemu.log" "$cache" >"$work/record.out" 2>&1; then
	log=$work/qemu.log
	echo "QEMU measured in this run: $(qemu-system-x86_64 --version | head -n 1)" \
		"-accel tcg, Linux $(cat "$cache/kernel-version"), requested-size" \
		"0 -> 4G -> 0: $(grep -c ':virtio_mem_[a-z_]*_request ' "$log") requests"
else
	why="recording QEMU failed: $(tail -n 1 "$work/record.out")"
fi
if [ -n "$why" ]; then
	echo "note: $why: QEMU's figures are from the committed recording $committed"
fi
args=()
for a in "$@"; do
	if [ "$a" = "@LOG@" ]; then
		args+=("$log")
	else
		args+=("$a")
	fi
done
# Not exec: the trap removes the recording once the benchmark is done.
"$bench" "${args[@]}"
