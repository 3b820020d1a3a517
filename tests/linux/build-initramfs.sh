#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build a Linux + initramfs pair from Debian's packages, for the real-guest
# tests: the kernel of linux-image-cloud-amd64 (resolved to the versioned
# linux-image-6.1.*-cloud-amd64 package it depends on), busybox-static, and
# the virtio_mmio, virtio_mem, virtio_pmem, nd_pmem, nfit, button and evdev
# modules with their dependencies from modules.dep.  Nothing is installed on the host: the
# packages are fetched with `apt-get download` and unpacked with dpkg -x.
#
# usage: build-initramfs.sh OUTDIR
# makes: OUTDIR/vmlinuz, OUTDIR/initramfs.cpio.gz, OUTDIR/kernel-version,
#        OUTDIR/builder.sha256 (this script's hash)
#
# /init prints "SPLITVM-LINUX-READY", "memtotal_kb=N", "online_cpus=LIST",
# "modules_failed=N", then powers off (poweroff -f: ACPI S5); while it runs,
# the ACPI power button (system_powerdown) powers it off too, through
# busybox's acpid, as a distribution's acpid or systemd-logind would; with
# splitvm.memwatch=1 on the command line it stays up instead and prints
# "memtotal_kb=N" again whenever MemTotal changes.  splitvm.run=NAME runs
# one of the guest-side steps below after the modules are loaded and prints
# "run_done=NAME rc=N" (pmem-write, pmem-read: /dev/pmem0; nvdimm-label,
# nvdimm-list: namespaces on label-backed NVDIMMs through /sys/bus/nd, as
# busybox has no ndctl); splitvm.stay=1 keeps the guest up afterwards.
set -eu
out=$(realpath -m "${1:?usage: build-initramfs.sh OUTDIR}")
# button + evdev: the ACPI power button reaches busybox's acpid as a key
# press on /dev/input/event*.
mods="virtio_mmio virtio_mem virtio_pmem nd_pmem nfit button evdev"
mkdir -p "$out"
work="$out/work"
rm -rf "$work"
mkdir -p "$work/debs" "$work/kernel" "$work/busybox" "$work/root"

kpkg=$(apt-cache depends linux-image-cloud-amd64 |
	awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-cloud-amd64$/ { print $2; exit }')
if [ -z "$kpkg" ]; then
	echo "build-initramfs: cannot resolve linux-image-cloud-amd64 (apt-get update?)" >&2
	exit 1
fi
kver=${kpkg#linux-image-}
echo "build-initramfs: $kpkg + busybox-static"
(cd "$work/debs" && apt-get -q -o APT::Sandbox::User=root download "$kpkg" busybox-static >/dev/null)
dpkg -x "$work"/debs/linux-image-*.deb "$work/kernel"
dpkg -x "$work"/debs/busybox-static_*.deb "$work/busybox"
cp "$work/kernel/boot/vmlinuz-$kver" "$out/vmlinuz"
echo "$kver" >"$out/kernel-version"

# Modules in load order: every dependency before the module itself, each
# once.  The package ships no modules.dep (depmod writes it at install
# time): with depmod on the host it is generated into the unpacked tree,
# otherwise the same edges are read from each module's .modinfo depends=.
moddir="$work/kernel/lib/modules/$kver"
if command -v depmod >/dev/null; then
	depmod -b "$work/kernel" "$kver"
fi
declare -A seen=() path=()
while read -r f; do
	b=$(basename "$f")
	b=${b%%.ko*}
	path[${b//-/_}]=${f#"$moddir"/}
done < <(find "$moddir/kernel" -name '*.ko*')
module_deps() { # NAME -> names it depends on
	local p=${path[$1]}
	if [ -f "$moddir/modules.dep" ]; then
		awk -F: -v p="$p" '$1 == p { print $2; exit }' "$moddir/modules.dep" |
			tr ' ' '\n' | sed -n 's|.*/||; s|\.ko.*||p' | tr '-' '_'
		return
	fi
	case "$p" in
	*.ko) cat "$moddir/$p" ;;
	*.ko.xz) xz -dc "$moddir/$p" ;;
	*.ko.zst) zstd -qdc "$moddir/$p" ;;
	esac >"$work/mod.ko"
	objcopy -O binary --only-section=.modinfo "$work/mod.ko" "$work/modinfo"
	tr '\0' '\n' <"$work/modinfo" | sed -n 's/^depends=//p' | tr ',' '\n' | tr '-' '_'
}
add_module() { # NAME
	local m=$1 d
	[ -n "${seen[$m]:-}" ] && return 0
	seen[$m]=1
	if [ -z "${path[$m]:-}" ]; then
		if grep -q "/${m}.ko\$" "$moddir/modules.builtin"; then
			return 0 # built into the kernel
		fi
		echo "build-initramfs: module $m is not in $kver" >&2
		exit 1
	fi
	for d in $(module_deps "$m"); do
		add_module "$d"
	done
	order+=("${path[$m]}")
}
order=()
for m in $mods; do
	add_module "$m"
done

root="$work/root"
mkdir -p "$root"/{bin,dev,proc,sys,lib/modules}
# The kernel's built-in initramfs has /dev/console too; this one keeps init's
# output when it has not (mknod needs CAP_MKNOD: best effort).
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
cp "$work/busybox/bin/busybox" "$root/bin/busybox"
: >"$root/modules.order"
for p in "${order[@]}"; do
	f=$(basename "$p")
	case "$f" in
	*.ko.xz) xz -dc "$moddir/$p" >"$root/lib/modules/${f%.xz}"; f=${f%.xz} ;;
	*.ko.zst) zstd -qdc "$moddir/$p" >"$root/lib/modules/${f%.zst}"; f=${f%.zst} ;;
	*) cp "$moddir/$p" "$root/lib/modules/$f" ;;
	esac
	echo "$f" >>"$root/modules.order"
done

cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
failed=0
# MODULE.PARAM=VALUE on the command line goes to insmod, as modprobe does.
for m in $(cat /modules.order); do
	p=$(tr ' ' '\n' </proc/cmdline | grep "^${m%.ko}\\." | sed 's/^[^.]*\.//')
	insmod "/lib/modules/$m" $p || { echo "insmod $m failed"; failed=$((failed + 1)); }
done
# The power button: button.ko reports it as KEY_POWER on an input device,
# which busybox's acpid maps to the event "PWRF/00000080" and answers by
# running the file of that name under its -c directory.
mkdir -p /etc/acpi/PWRF
printf '#!/bin/sh\necho "acpid: power button"\nsync\npoweroff -f\n' >/etc/acpi/PWRF/00000080
chmod 755 /etc/acpi/PWRF/00000080
acpid -c /etc/acpi -l /dev/null && echo "acpid=started" || echo "acpid=failed"
echo "SPLITVM-LINUX-READY"
echo "memtotal_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
echo "online_cpus=$(cat /sys/devices/system/cpu/online)"
echo "modules_failed=$failed"
arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p" | tail -n 1; }
wait_path() { # wait_path PATH: up to 10 s for a device to be probed
	for _ in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.1; done
	echo "run: no $1"; return 1
}
# The pmem pattern: "splitvm-pmem TAG NNNNNNNN\n" lines, 1 MiB in all, made
# the same way by the host side (tests/integration/test_linux_pmem.sh).
pattern() { awk -v t="$(arg splitvm.tag)" 'BEGIN {
	n = 0; for (i = 0; n < 1048576; i++) { l = sprintf("splitvm-pmem %s %08d\n", t, i)
	printf "%s", substr(l, 1, 1048576 - n); n += length(l) } }'; }
pmem_write() {
	wait_path /dev/pmem0 || return 1
	# conv=fsync: fsync(2) of the block device sends a PREFLUSH, which
	# virtio_pmem turns into a FLUSH request to the device.
	pattern | dd of=/dev/pmem0 bs=4096 conv=fsync 2>/dev/null || return 1
	echo "pmem_written_sha256=$(pattern | sha256sum | cut -d' ' -f1)"
}
pmem_read() {
	wait_path /dev/pmem0 || return 1
	echo "pmem_read_sha256=$(dd if=/dev/pmem0 bs=4096 count=256 2>/dev/null |
		sha256sum | cut -d' ' -f1)"
}
# A namespace made as ndctl create-namespace does: uuid and size written to
# the region's seed namespace, which makes the kernel write the labels
# through the DIMM's label _DSMs.
nvdimm_label() {
	wait_path /sys/bus/nd/devices/nmem0 || return 1
	wait_path /sys/bus/nd/devices/region0 || return 1
	r=/sys/bus/nd/devices/region0
	echo "nvdimm_slots=$(cat /sys/bus/nd/devices/nmem0/available_slots)"
	ns=$r/$(cat $r/namespace_seed)
	if [ ! -e "$ns/uuid" ]; then
		echo "run: $ns has no uuid: the region is not label-backed"
		ls $r $ns; cat $r/nstype /sys/bus/nd/devices/nmem0/flags 2>&1
		return 1
	fi
	uuid=$(cat /proc/sys/kernel/random/uuid)
	size=$(cat $r/available_size)
	echo "$uuid" >"$ns/uuid" && echo "$size" >"$ns/size" || return 1
	echo "nvdimm_ns_created uuid=$uuid size=$(cat "$ns/size")"
}
nvdimm_list() {
	wait_path /sys/bus/nd/devices/region0 || return 1
	for ns in /sys/bus/nd/devices/namespace*; do
		[ -e "$ns/uuid" ] && [ "$(cat "$ns/size")" != 0 ] || continue
		echo "nvdimm_ns uuid=$(cat "$ns/uuid") size=$(cat "$ns/size")"
	done
	echo "nvdimm_slots=$(cat /sys/bus/nd/devices/nmem0/available_slots)"
}
run=$(arg splitvm.run)
if [ -n "$run" ]; then
	rc=1
	case "$run" in
	pmem-write) pmem_write && rc=0 ;;
	pmem-read) pmem_read && rc=0 ;;
	nvdimm-label) nvdimm_label && rc=0 ;;
	nvdimm-list) nvdimm_list && rc=0 ;;
	*) echo "run: unknown splitvm.run=$run" ;;
	esac
	echo "run_done=$run rc=$rc"
fi
# splitvm.memwatch=1 (tests/integration/test_linux_vmem.sh): stay up and
# print "memtotal_kb=N" each time MemTotal changes, until powered off.
if grep -qw 'splitvm.memwatch=1' /proc/cmdline; then
	last=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
	while :; do
		now=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
		[ "$now" != "$last" ] && echo "memtotal_kb=$now" && last=$now
		sleep 0.1
	done
fi
if [ "$(arg splitvm.stay)" = 1 ]; then
	while :; do sleep 1000; done
fi
poweroff -f
INIT
chmod 755 "$root/init"

# The host may have no cpio: busybox's own writes the newc format.
(cd "$root" && find . | sort | "$root/bin/busybox" cpio -o -H newc 2>/dev/null) |
	gzip -9 >"$out/initramfs.cpio.gz"
rm -rf "$work"
# Which builder made them: the tests make them again when this file changes.
sha256sum <"${BASH_SOURCE[0]}" | cut -d' ' -f1 >"$out/builder.sha256"
echo "build-initramfs: $out/vmlinuz ($kver), $out/initramfs.cpio.gz (${#order[@]} modules)"
