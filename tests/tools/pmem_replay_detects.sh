#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# pmem_replay must fail on a recording that differs from what splitvm's
# virtio-pmem device process answers: take a committed recording, change
# one thing at a time (QEMU's fsync result, a used length, the geometry a
# later query shows, a request's shape, a lost answer) and demand exit
# status 1 with the difference named.
#
# usage: pmem_replay_detects.sh PMEM_REPLAY SPLITVM-DEVPROC RECORDING.log
set -u
# shellcheck source=replay_detects_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/replay_detects_lib.sh"
rd_setup "usage: pmem_replay_detects.sh PMEM_REPLAY SPLITVM-DEVPROC RECORDING.log" 2 "$@"

# QEMU's third fsync failed: it answered EIO (1) where the device says 0.
awk '/fsync return=0/ && ++n == 3 { sub(/return=0/, "return=-1") } 1' "$rec" |
	expect_fail eio 'request 3: QEMU answered used length 4, ret 1; splitvm used length 4, ret 0'
# QEMU wrote no answer bytes for the fifth request.
awk '/virtqueue_fill/ && ++n == 5 { sub(/ len 4 /, " len 0 ") } 1' "$rec" |
	expect_fail len 'request 5: QEMU answered used length 0'
# The region moved before the second query: the device's status disagrees.
awk '/"virtio-pmem"/ && ++n == 2 { sub(/"memaddr": [0-9]+/, "\"memaddr\": 8589934592") } 1' "$rec" |
	expect_fail query 'query-memory-devices: QEMU memaddr 0x200000000'
# A chain Linux never builds (two readable buffers).
awk '/virtqueue_pop/ && ++n == 1 { sub(/out_num 1/, "out_num 2") } 1' "$rec" |
	expect_fail shape "not Linux's virtio_pmem_flush()"
# QEMU's last answer lost: a request it never answered.
tac "$rec" | awk '/virtqueue_fill/ && !n++ { next } 1' | tac |
	expect_fail lost '1 request QEMU never answered'
# An fsync missing from the trace: QEMU answered before flushing.
awk '/virtio_pmem_flush_done/ && ++n == 2 { next } 1' "$rec" |
	expect_fail fsync 'request 2 before its fsync'
exit $failed
