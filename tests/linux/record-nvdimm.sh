#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Record Linux's nvdimm label _DSM calls with QEMU's answers: boot Debian's
# kernel and the initramfs of tests/linux/build-initramfs.sh under Debian's
# QEMU in software emulation (-accel tcg -M pc,nvdimm=on) with an nvdimm
# (label-size=) on a memory-backend-file (share=on), QEMU's trace events
# acpi_nvdimm_* written to a log with timestamps, twice on the same file:
#   boot 1: the nfit driver reads the label area at probe (all zeroes: no
#           index, so the region is label-less); Debian's ndctl then writes
#           the label index (ndctl init-labels, region disabled around it)
#           and creates a namespace (ndctl create-namespace), which makes the
#           kernel write the namespace label and both index blocks: Set
#           Namespace Label Data, _DSM function 6;
#   boot 2: the driver reads back what boot 1 wrote, finds the namespace
#           (its uuid must be boot 1's), and ndctl read-labels reads the
#           whole label area once more.
# The log, one "# " header with the QEMU version, then per boot a "# boot N"
# line with the command line, "# guest: " lines with what the guest printed,
# and that boot's trace, is what tests/tools/nvdimm_replay reads.
#
# build-initramfs.sh's own splitvm.run=nvdimm-label cannot make the labels:
# a blank label area has no index, Linux then treats the region as
# label-less (namespace_io: no uuid to write), and only userspace writes
# the first index (ndctl init-labels, through the nmem ioctl).  So, as
# record-virtio-pmem.sh does, a second cpio archive is appended to the
# initramfs with its own /init and ndctl with the libraries it loads (the
# ndctl package of the host's release, fetched with apt-get download; the
# rest from the host, which is the same Debian release).
#
# usage: record-nvdimm.sh OUT.log [LINUXDIR]
#   LINUXDIR holds vmlinuz + initramfs.cpio.gz (made by build-initramfs.sh
#   when missing; default $TMPDIR/splitvm-linux); its initramfs must have
#   nfit.ko.
# env: NV_SIZE (256M: the backend file), NV_LABEL (128K: label-size=),
#      NV_MACHINE (pc), NV_WAIT_S (600: how long each boot may take)
#
# The trace events (QEMU 7.2's hw/acpi/trace-events, nvdimm.c):
#   acpi_nvdimm_dsm_mem_addr   the AML wrote the DSM page's address (a call)
#   acpi_nvdimm_dsm_info       its revision, handle and function
#   acpi_nvdimm_invalid_revision   answered "not supported" (revision != 1)
#   acpi_nvdimm_label_info     function 4's answer: label size, max transfer
#   acpi_nvdimm_read_label     function 5's offset and length
#   acpi_nvdimm_write_label    function 6's offset and length
#   acpi_nvdimm_label_overflow / _oversize / _xfer_exceed: the read or
#                              write just traced was refused (invalid input)
#   acpi_nvdimm_read_fit       the root device's FIT reads (the core's part)
# and handle_qmp_command/monitor_qmp_respond for query-memory-devices (the
# nvdimm's addr, slot and PMEM size) and qom-get label-size, asked before
# each boot's guest starts (-S), and query-memory-devices again at the end.
set -eu
# shellcheck source=record-lib.sh
. "$(dirname "$0")/record-lib.sh"
rec_args record-nvdimm.sh "$@"
size=${NV_SIZE:-256M}
label=${NV_LABEL:-128K}
machine=${NV_MACHINE:-pc}
wait_s=${NV_WAIT_S:-600}

rec_prepare cpio
if ! gzip -dc "$linux/initramfs.cpio.gz" | cpio -i --to-stdout modules.order 2>/dev/null |
	grep -q '^nfit\.ko$'; then
	echo "record: $linux/initramfs.cpio.gz has no nfit.ko: rebuild it with build-initramfs.sh" >&2
	exit 1
fi

# ndctl and what it loads: the package and its direct dependencies
# unpacked, the libraries the host's ldd resolves copied to the same paths.
mkdir -p "$work/deb" "$work/nd" "$work/overlay/bin"
deps=$(apt-cache depends ndctl | awk '$1 == "Depends:" && $2 !~ /^</ { print $2 }')
# shellcheck disable=SC2086
(cd "$work/deb" && apt-get -q -o APT::Sandbox::User=root download ndctl $deps >/dev/null)
for d in "$work"/deb/*.deb; do
	dpkg -x "$d" "$work/nd"
done
cp "$work/nd/usr/bin/ndctl" "$work/overlay/bin/ndctl"
LD_LIBRARY_PATH="$work/nd/usr/lib/x86_64-linux-gnu:$work/nd/lib/x86_64-linux-gnu" \
	ldd "$work/nd/usr/bin/ndctl" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }' |
	while read -r lib; do
		dest=${lib#"$work/nd"}
		mkdir -p "$work/overlay$(dirname "$dest")"
		cp -L "$lib" "$work/overlay$dest"
	done
rm -rf "$work/deb" "$work/nd"

{
	rec_init_prelude
	cat <<'INIT'
mkdir -p /tmp
step=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^splitvm.nvrec=//p')
fail() { echo "nvrec_fail $*"; echo "run_done=$step rc=1"; while :; do sleep 1000; done; }
for p in /dev/nmem0 /sys/bus/nd/devices/region0; do
	for _ in $(seq 100); do [ -e $p ] && break; sleep 0.1; done
	[ -e $p ] || fail "no $p"
done
echo "nvdimm_region_type=$(cat /sys/bus/nd/devices/region0/nstype)"
case "$step" in
label)
	ndctl disable-region region0 >/dev/null || fail "disable-region"
	ndctl init-labels nmem0 || fail "init-labels"
	ndctl enable-region region0 >/dev/null || fail "enable-region"
	echo "nvdimm_region_type=$(cat /sys/bus/nd/devices/region0/nstype)"
	ndctl create-namespace -r region0 -m raw >/tmp/ns.json || fail "create-namespace"
	;;
list)
	ndctl read-labels -j nmem0 >/tmp/labels.json || fail "read-labels"
	echo "nvdimm_read_labels json_bytes=$(wc -c </tmp/labels.json) uuid_fields=$(grep -c '"uuid"' /tmp/labels.json)"
	;;
*) fail "unknown splitvm.nvrec=$step" ;;
esac
for ns in /sys/bus/nd/devices/namespace0.*; do
	[ -e "$ns/uuid" ] && [ "$(cat "$ns/size")" != 0 ] || continue
	echo "nvdimm_ns uuid=$(cat "$ns/uuid") size=$(cat "$ns/size")"
done
echo "run_done=$step rc=0"
while :; do sleep 1000; done
INIT
} >"$work/overlay/init"
rec_overlay_pack

truncate -s "$size" "$work/nvdimm.img"
{
	rec_header_qemu
	echo "# kernel: $(cat "$linux/kernel-version"), $(ls -1 "$work"/overlay/bin/ndctl >/dev/null &&
		apt-cache policy ndctl | awk '/Candidate:/ { print "ndctl " $2 }')"
	echo "# recorded by tests/linux/record-nvdimm.sh: nvdimm $size label-size $label;" \
		"boot 1 ndctl init-labels + create-namespace, boot 2 read-labels, same file"
} >"$work/out.log"

# boot N STEP: one boot with splitvm.nvrec=STEP, its trace appended to out.log.
boot() {
	local n=$1 step=$2 qemu
	rec_qemu_argv "$work/initramfs.cpio.gz" "splitvm.nvrec=$step" \
		"$work/serial$n.log" "$work/qmp$n.sock" "$work/trace$n.log" \
		-M "$machine,nvdimm=on" -- -m 512M,slots=2,maxmem=4G -smp 1 \
		-object memory-backend-file,id=nv0,share=on,mem-path="$work/nvdimm.img",size="$size" \
		-device nvdimm,id=nvdimm0,memdev=nv0,label-size="$label" -- 'acpi_nvdimm_*' -- -S
	rec_qemu_start
	rec_python "$work/qmp$n.sock" "$work/serial$n.log" "$wait_s" "$step" <<'PY'
sock_path, serial, wait_s, step = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]

qmp_connect(sock_path)
# The geometry goes into the log through monitor_qmp_respond before the
# guest's first call (the machine waits with -S): the replay reads it.
cmd("query-memory-devices")
cmd("qom-get", path="/machine/peripheral/nvdimm0", property="label-size")
t0 = time.time()
cmd("cont")
done = "run_done=" + step
wait_for(lambda: done in serial_text(serial), "the guest's " + done, wait_s)
# The markers, without the console's escape sequences before them.
lines = [m.group(0).strip() for m in
         (re.search(r"(nvdimm_|nvrec_|run_done=).*", l) for l in serial_text(serial).splitlines())
         if m]
print("record: boot %s after %.1f s: %s" % (step, time.time() - t0, "; ".join(lines)))
if done + " rc=0" not in serial_text(serial):
    sys.exit("record: the guest failed:\n" + serial_text(serial))
with open(serial + ".result", "w") as r:
    r.write("\n".join(lines) + "\n")
time.sleep(1)
cmd("query-memory-devices")
cmd("quit")
PY
	rec_qemu_wait
	{
		rec_command_line "boot $n: "
		sed 's/^/# guest: /' "$work/serial$n.log.result"
		cat "$work/trace$n.log"
	} >>"$work/out.log"
}

boot 1 label
boot 2 list
created=$(sed -n 's/.*nvdimm_ns uuid=\([^ ]*\).*/\1/p' "$work/serial1.log.result")
if [ -z "$created" ] || ! grep -q "nvdimm_ns uuid=$created" "$work/serial2.log.result"; then
	echo "record: boot 2 did not find boot 1's namespace ${created:-(none)}" >&2
	exit 1
fi
# QEMU's file afterwards: where the index signature is (QEMU puts the label
# area at the end of the backend) and the label area's non-zero 32-byte
# rows, which the replay uses as the bytes Linux wrote (the trace has
# offsets and lengths only) and compares the device process's file with.
python3 - "$work/nvdimm.img" "$label" >>"$work/out.log" <<'PY'
import os, sys

path, label = sys.argv[1], sys.argv[2]
units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
label_size = int(label[:-1]) * units[label[-1]] if label[-1] in units else int(label)
size = os.path.getsize(path)
with open(path, "rb") as f:
    data = f.read()
sig = data.find(b"NAMESPACE_INDEX\0")
area = data[size - label_size:]
rows = [(o, area[o:o + 32]) for o in range(0, label_size, 32) if any(area[o:o + 32])]
print("# file: %d bytes, NAMESPACE_INDEX at 0x%x, label area 0x%x bytes at 0x%x, %d non-zero rows"
      % (size, sig, label_size, size - label_size, len(rows)))
for o, row in rows:
    print("# label 0x%05x %s" % (o, row.hex()))
PY
mkdir -p "$(dirname "$out")"
mv "$work/out.log" "$out"
echo "record: $(grep -c acpi_nvdimm_dsm_info "$out") DSM calls" \
	"($(grep -c acpi_nvdimm_read_label "$out") label reads," \
	"$(grep -c acpi_nvdimm_write_label "$out") writes), $(grep -c . "$out") lines in $out"
