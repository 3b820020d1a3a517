#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 7's Linux guest test: Debian's kernel and the initramfs of
# tests/linux/build-initramfs.sh under `splitvm run`.
#  virtio-pmem on a host file (share=on): /dev/pmem0 appears; the guest
#    writes a 1 MiB pattern with dd conv=fsync (splitvm.run=pmem-write); the
#    host file holds the pattern while the VM still runs; a second VM on the
#    same file reads it back (splitvm.run=pmem-read).
#  nvdimm (-M pc,nvdimm=on, label-size=128K): busybox has no ndctl (and
#    Debian's is dynamically linked against six libraries), so ndctl's part
#    is done here: the host writes the two empty namespace index blocks
#    into the label area as `ndctl init-labels` would (Linux only uses
#    labels once a valid index exists); the guest makes a namespace the way
#    `ndctl create-namespace` does, through /sys/bus/nd (uuid, then size:
#    the kernel writes the label through the label _DSMs;
#    splitvm.run=nvdimm-label); the uuid is then in the file's label area;
#    a second VM on the same file lists the namespace with the same uuid
#    and size, read from the labels (splitvm.run=nvdimm-list).
# Hosts whose KVM cannot run a stock kernel (kvm_pvm, or no vmx/svm flag)
# SKIP with the reason, as test_linux_vmem.sh does.
#
# usage: test_linux_pmem.sh SPLITVM SPLITVM_CTL BUILD_INITRAMFS_SH CACHE_DIR
set -u
SUP=$1 CTL=$2 build=$3 cache=$4
. "$(dirname "$0")/linux_guest.sh"
linux_guest_prepare "$build" "$cache"
linux_vm_init "linuxpmem$$" "$CTL"
tag="t$$"

# boot RUN DEVICE_ARGS...: start a VM whose /init runs splitvm.run=RUN and
# stays up; wait for "run_done=RUN rc=0".
boot() {
	local run=$1
	shift
	: > "$tmp/console.log"
	"$SUP" run --daemonize --pidfile "$tmp/pid" -name "$name" -smp 2 "$@" \
		-kernel "$cache/vmlinuz" -initrd "$cache/initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1 splitvm.run=$run splitvm.tag=$tag splitvm.stay=1" \
		-serial "file:$tmp/console.log" > "$tmp/sup.out" 2> "$tmp/sup.log" ||
		fail "splitvm run exited $?"
	sup=$(cat "$tmp/pid")
	for _ in $(seq 600); do console | grep -q "^run_done=$run " && break; sleep 0.1; done
	console | grep -q '^modules_failed=0' || fail "the guest did not load its modules"
	[ "$(field run_done)" = "$run rc=0" ] || fail "guest step $run: $(field run_done)"
}
quit() {
	ctl quit > /dev/null 2>&1 || true
	for _ in $(seq 100); do kill -0 "$sup" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$sup" 2>/dev/null && fail "splitvm did not quit"
	sup=
}

# The pattern the guest writes (its /init makes the same): 1 MiB of
# "splitvm-pmem TAG NNNNNNNN" lines.
want=$(awk -v t="$tag" 'BEGIN {
	n = 0; for (i = 0; n < 1048576; i++) { l = sprintf("splitvm-pmem %s %08d\n", t, i)
	printf "%s", substr(l, 1, 1048576 - n); n += length(l) } }' | sha256sum | cut -d' ' -f1)

# virtio-pmem
img=$tmp/pmem.img
truncate -s 64M "$img"
# shellcheck disable=SC2054 # the commas are in the options' values
pmem=(-m 512M,maxmem=2G
	-object "memory-backend-file,id=mempm0,size=64M,mem-path=$img,share=on"
	-device virtio-pmem,id=pmem0,memdev=mempm0)
boot pmem-write "${pmem[@]}"
[ "$(field pmem_written_sha256)" = "$want" ] ||
	fail "the guest wrote $(field pmem_written_sha256), want $want"
# The guest's fsync returned: the data is in the host file now, not only
# once the VM ends.
got=$(head -c 1048576 "$img" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "host file holds $got after the guest's flush, want $want"
echo "virtio-pmem: the guest's flushed pattern is in the host file"
quit
boot pmem-read "${pmem[@]}"
[ "$(field pmem_read_sha256)" = "$want" ] ||
	fail "after the restart the guest read $(field pmem_read_sha256), want $want"
quit
echo "virtio-pmem: the pattern survives a VM restart"

# nvdimm with a label area
nv=$tmp/nvdimm.img
truncate -s 256M "$nv"
# The label area is the file's last label-size bytes (QEMU's layout).  Two
# index blocks of namespace label format v1.2 (256-byte labels) with every
# slot free, sequence numbers 3 and 2, each checksummed with Fletcher-64
# over 32-bit words, as Linux's nd_label_validate() wants them.
python3 - "$nv" 131072 <<'PY' || fail "cannot write the label index blocks"
import struct, sys
path, area = sys.argv[1], int(sys.argv[2])
label, align = 256, 256
nslot = (area - 2 * align) // label
isize = (72 + (nslot + 7) // 8 + align - 1) // align * align
def index_block(i, seq):
    b = bytearray(isize)
    struct.pack_into("<16s3sBIQQQQIHHQ", b, 0, b"NAMESPACE_INDEX\0", bytes(3), 1, seq,
                     i * isize, isize, (1 - i) * isize, 2 * isize, nslot, 1, 2, 0)
    for s in range(nslot):
        b[72 + s // 8] |= 1 << (s % 8)
    lo = hi = 0
    for (w,) in struct.iter_unpack("<I", b):
        lo = (lo + w) & 0xffffffff
        hi = (hi + lo) & 0xffffffff
    struct.pack_into("<Q", b, 64, hi << 32 | lo)
    return bytes(b)
with open(path, "r+b") as f:
    f.seek(-area, 2)
    f.write(index_block(0, 3) + index_block(1, 2))
PY
# shellcheck disable=SC2054 # the commas are in the options' values
nvdimm=(-M pc,nvdimm=on -m 512M,slots=4,maxmem=4G
	-object "memory-backend-file,id=memnv0,size=256M,mem-path=$nv,share=on"
	-device nvdimm,id=nv0,memdev=memnv0,label-size=128K)
boot nvdimm-label "${nvdimm[@]}"
created=$(console | sed -n 's/^nvdimm_ns_created //p' | tail -n 1)
[ -n "$created" ] || fail "no namespace created"
slots=$(field nvdimm_slots)
uuid=${created#uuid=}
uuid=${uuid%% *}
python3 - "$nv" 131072 "$uuid" <<'PY' || fail "uuid $uuid is not in the label area of the file"
import sys
path, area, uuid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "rb") as f:
    f.seek(-area, 2)
    sys.exit(0 if bytes.fromhex(uuid.replace("-", "")) in f.read() else 1)
PY
quit
boot nvdimm-list "${nvdimm[@]}"
listed=$(console | sed -n 's/^nvdimm_ns //p')
[ "$listed" = "$created" ] || fail "after the restart the labels give '$listed', want '$created'"
echo "nvdimm: labels written by the guest ($created, $slots free slots before) read back"
quit
cleanup
echo "PASS"
