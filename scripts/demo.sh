#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The main job: build splitvm, boot the bundled launch config
# (docs/examples/default.xml: boot RAM, a DIMM, a virtio-mem device, a
# virtio-pmem device) under the supervisor, show `info memory-devices` and
# `info processes`, resize the virtio-mem device from 128 MiB to 512 MiB,
# wait until the guest reports it, restart the device's process, show both
# again, and power the VM off with the ACPI power button (system_powerdown).
#
# stdout carries only splitvm-ctl's output; everything the script does and
# decides (which guest, and why) is said on stderr.  Run as root from a
# fresh clone: what it needs (the pmem image, the console file, the launch
# config with the guest filled in) is made in a temporary directory and
# removed at the end.
#
# usage: scripts/demo.sh [BUILD_DIR]     (default: build)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${1:-build}

say() { echo "demo: $*" >&2; }
die() { say "$*"; exit 1; }

"$top/scripts/install-deps.sh"
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" >&2
fi
ninja -C "$build" >&2

sup=$build/sup/splitvm
ctl_bin=$build/ctl/splitvm-ctl
guest=$build/tests/guest/splitvm-guest.elf

[ -r /dev/kvm ] && [ -w /dev/kvm ] || die "no usable /dev/kvm on this host: cannot boot a guest"

name=demo$$
work=$(mktemp -d /var/tmp/splitvm-demo.XXXXXX)
console=$work/console.log
pidfile=$work/splitvm.pid
running=
cleanup() {
	if [ -n "$running" ] && [ -s "$pidfile" ]; then
		"$ctl_bin" --vm "$name" quit >/dev/null 2>&1 || kill "$(cat "$pidfile")" 2>/dev/null || true
		sleep 1
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
ctl() { "$ctl_bin" --vm "$name" "$@"; }
show() { # show TITLE VERB...: a ctl command and its output, on stdout
	echo "(splitvm-ctl) $*"
	ctl "$@"
	echo
}

# Which guest: Linux needs a KVM with hardware virtualization.  kvm_pvm
# (software-assisted, the machines this project is built on) runs simple
# 64-bit guests but a stock Linux kernel dies there with an emulation
# failure (docs/testing.md).
why=
if [ -d /sys/module/kvm_pvm ] || grep -qsw kvm_pvm /proc/modules; then
	why="the host's KVM is kvm_pvm (software-assisted), which cannot run a stock Linux kernel"
elif ! grep -Eqw 'vmx|svm' /proc/cpuinfo; then
	why="the CPU shows no vmx/svm flag: no hardware virtualization for Linux"
fi

# The devices' sizes: resize from 128 MiB to 512 MiB.
from=134217728
to=536870912

if [ -n "$why" ]; then
	say "booting the test guest ($guest) with its virtio-mem driver scenario:"
	say "  $why"
	say "  (scenario=virtio-mem vmem_steps=0 plugs what the device requests and follows"
	say "  every resize, printing 'virtio-mem plugged 0x... of requested 0x...')"
	kernel=$guest
	initrd=
	cmdline="scenario=virtio-mem vmem_steps=0"
	# settled BYTES: the guest reported BYTES plugged.
	settled() {
		grep -qx "splitvm-guest: virtio-mem plugged $(printf 0x%x "$1") of requested $(printf 0x%x "$1")" \
			"$console"
	}
	guest_says() { grep -F 'virtio-mem' "$console" | tail -1; }
else
	say "booting Debian's Linux kernel and busybox initramfs: the host has hardware"
	say "  virtualization ($(grep -Eow 'vmx|svm' /proc/cpuinfo | head -1)), so Linux's own virtio-mem driver is the guest"
	lin=$work/linux
	tests/linux/build-initramfs.sh "$lin" >&2 || die "tests/linux/build-initramfs.sh failed (apt-get update?)"
	# An /init that stays up and reports MemTotal whenever it changes,
	# appended as a second cpio archive (the kernel unpacks both; the
	# later /init wins).
	mkdir -p "$lin/overlay"
	cat > "$lin/overlay/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
for m in $(cat /modules.order); do insmod "/lib/modules/$m" || echo "insmod $m failed"; done
echo "SPLITVM-LINUX-READY"
last=
while :; do
	m=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
	[ "$m" = "$last" ] || echo "memtotal_kb=$m"
	last=$m
	sleep 0.2
done
INIT
	chmod 755 "$lin/overlay/init"
	(cd "$lin/overlay" && echo init | cpio -o -H newc 2>/dev/null | gzip) > "$lin/overlay.cpio.gz"
	cat "$lin/initramfs.cpio.gz" "$lin/overlay.cpio.gz" > "$lin/initrd"
	kernel=$lin/vmlinuz
	initrd=$lin/initrd
	cmdline="console=ttyS0 panic=-1 memhp_default_state=online_movable"
	# Linux onlines the plugged memory: MemTotal grows by the difference.
	settled() {
		first=$(grep -o '^memtotal_kb=[0-9]*' "$console" | head -1 | cut -d= -f2)
		now=$(grep -o '^memtotal_kb=[0-9]*' "$console" | tail -1 | cut -d= -f2)
		[ -n "$first" ] && [ $(( (now - first) * 1024 )) -ge $(( $1 - from )) ]
	}
	guest_says() { grep '^memtotal_kb=' "$console" | tail -1; }
fi

# The launch config: the bundled one with this run's guest and files.
truncate -s 64M "$work/pmem.img"
initrd_xml=
[ -z "$initrd" ] || initrd_xml="<initrd>$initrd</initrd>"
sed -e "s|@GUEST@|$kernel|" \
	-e "s|<name>vm1</name>|<name>$name</name>|" \
	-e "s|<cmdline>.*</cmdline>|$initrd_xml<cmdline>$cmdline</cmdline>|" \
	-e "s|/var/tmp/splitvm-vm1-console.log|$console|" \
	-e "s|/var/tmp/splitvm-vm1-pmem.img|$work/pmem.img|" \
	docs/examples/default.xml > "$work/vm.xml"

say "starting: $sup run --daemonize --pidfile $pidfile $work/vm.xml"
"$sup" run --daemonize --pidfile "$pidfile" "$work/vm.xml" || die "splitvm did not start the VM"
running=1

wait_settled() { # wait_settled BYTES SECONDS
	i=0
	while ! settled "$1"; do
		i=$((i + 1))
		[ "$i" -le $(($2 * 10)) ] || die "the guest did not report $1 bytes plugged in $2 s"
		sleep 0.1
	done
}

wait_settled "$from" 60
say "the guest runs and holds the requested 128 MiB: $(guest_says)"
show info memory-devices
show info processes

say "resizing vm0 to 512 MiB"
show qom-set vm0 requested-size 512M
wait_settled "$to" 60
say "the guest reports: $(guest_says)"
# The supervisor announces the size once it stays put for two samples.
i=0
until ctl events | grep -q "MEMORY_DEVICE_SIZE_CHANGE.*\"size\":$to"; do
	i=$((i + 1))
	[ "$i" -le 50 ] || die "no MEMORY_DEVICE_SIZE_CHANGE event for $to bytes"
	sleep 0.1
done

say "restarting vm0's device process (its state memfd keeps the plugged blocks)"
old=$(ctl info processes | awk '$2 == "vm0" { print $1 }')
show restart vm0
i=0
while new=$(ctl info processes | awk '$2 == "vm0" { print $1 }') &&
	{ [ "$new" = "$old" ] || [ "$new" = - ]; }; do
	i=$((i + 1))
	[ "$i" -le 100 ] || die "vm0 has no new process"
	sleep 0.1
done
say "vm0's process: $old -> $new"
show info memory-devices
show info processes
show events

# system_powerdown presses the ACPI power button and returns; the VM stops
# when the guest powers off: the test guest's driver at once, Linux through
# the initramfs's acpid (a few seconds).
say "powering the VM off: the ACPI power button"
show system_powerdown
i=0
# The pid file goes when splitvm exits: read it once per look.
while pid=$(cat "$pidfile" 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -le 300 ] || die "splitvm still runs 30 s after system_powerdown"
	sleep 0.1
done
running=
say "done"
