#!/bin/sh
# Install the Debian 12 packages splitvm needs to build, test and benchmark,
# and only those that are missing.  Run as root (or with sudo available).
# QEMU is there as the baseline the benchmarks and recordings compare with;
# the Linux kernel and busybox for the real-guest tests are downloaded, not
# installed, by tests/linux/build-initramfs.sh.
set -eu

pkgs="gcc libc6-dev binutils pkg-config meson ninja-build
libnng-dev libprotobuf-c-dev protobuf-c-compiler libfdt-dev libseccomp-dev
libcmocka-dev libxml2-dev libjson-c-dev acpica-tools valgrind clang clang-format file cpio
qemu-system-x86"

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" -eq 0 ]; then
	as_root=""
elif command -v sudo >/dev/null 2>&1; then
	as_root="sudo"
else
	echo "install-deps: missing packages:$missing; run this script as root" >&2
	exit 1
fi
echo "install-deps: installing:$missing" >&2
$as_root apt-get update -qq >&2
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends $missing >&2
