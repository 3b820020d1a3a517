# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by the Linux-guest tests (test_core_linux.sh, test_linux_*.sh):
# what they share about the host, the kernel + initramfs and a VM under
# `splitvm run`.  Not a test itself.

# linux_guest_prepare BUILD_INITRAMFS_SH CACHE_DIR
#   Exit 77 (SKIP) with the reason where this host cannot run a stock
#   Linux kernel.  Otherwise make sure CACHE_DIR holds vmlinuz and
#   initramfs.cpio.gz made by this very build-initramfs.sh: an initramfs
#   made by an older one (its builder.sha256 differs) lacks what newer
#   tests drive, so it is made again.
linux_guest_prepare() {
	local build=$1 cache=$2 want
	if [ -d /sys/module/kvm_pvm ] || grep -qsw kvm_pvm /proc/modules; then
		echo "SKIP: host KVM is kvm_pvm (software-assisted), which cannot run a stock Linux kernel"
		exit 77
	fi
	if ! grep -Eqw 'vmx|svm' /proc/cpuinfo; then
		echo "SKIP: no vmx/svm flag in /proc/cpuinfo: no hardware virtualization for Linux"
		exit 77
	fi
	if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		echo "SKIP: /dev/kvm is not usable"
		exit 77
	fi
	want=$(sha256sum <"$build" | cut -d' ' -f1)
	if [ ! -f "$cache/vmlinuz" ] || [ ! -f "$cache/initramfs.cpio.gz" ] ||
		[ "$(cat "$cache/builder.sha256" 2>/dev/null)" != "$want" ]; then
		if ! bash "$build" "$cache"; then
			echo "SKIP: cannot build the Debian kernel + initramfs (apt-get download failed?)"
			exit 77
		fi
	fi
}

# linux_vm_init NAME SPLITVM_CTL
#   Sets tmp (a scratch directory), dir (the VM's run directory) and sup
#   (empty until the test sets it to splitvm's pid), and defines ctl,
#   cleanup, fail, console, field and powerdown for a VM of that name.
linux_vm_init() {
	name=$1
	LINUX_CTL=$2
	tmp=$(mktemp -d)
	if [ "$(id -u)" = 0 ]; then dir=/run/splitvm/$name; else dir=$XDG_RUNTIME_DIR/splitvm/$name; fi
	sup=
	# A test killed by meson's timeout must not leave its VM running.
	trap cleanup EXIT
	trap 'exit 143' TERM INT
}
ctl() { "$LINUX_CTL" --socket "$dir/ctl" "$@"; }
cleanup() { [ -n "$sup" ] && kill "$sup" 2>/dev/null; rm -rf "$tmp"; }
fail() {
	echo "FAIL: $*"
	echo "--- splitvm log"
	cat "$tmp/sup.log"
	echo "--- console"
	tail -n 60 "$tmp/console.log"
	cleanup
	exit 1
}
console() { tr -d '\r' <"$tmp/console.log"; }
# field KEY: the value of the last "KEY=..." line the guest printed.
field() { console | sed -n "s/^$1=//p" | tail -n 1; }
# memtotal: the last "memtotal_kb=" the guest printed (splitvm.memwatch=1).
memtotal() { field memtotal_kb; }
wait_memtotal() { # wait_memtotal KIB: up to 60 s
	for _ in $(seq 600); do [ "$(memtotal)" = "$1" ] && return 0; sleep 0.1; done
	fail "MemTotal is $(memtotal) kB, want $1 kB"
}
# powerdown: press the ACPI power button (system_powerdown); the guest's
# acpid powers it off (S5) and splitvm ends by itself, logging the guest's
# shutdown: the path a distribution's acpid or logind takes.
powerdown() {
	console | grep -q '^acpid=started' || fail "the guest's acpid did not start"
	ctl system_powerdown >/dev/null || fail "system_powerdown"
	for _ in $(seq 300); do kill -0 "$sup" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$sup" 2>/dev/null && fail "the guest did not power off 30 s after system_powerdown"
	sup=
	grep -q 'the guest shut down' "$tmp/sup.log" ||
		fail "splitvm ended, but not by the guest's power-off"
}
