#!/bin/sh
# The main job: install what is missing, build, and run the default VM.
# Everything the script does is said on stderr; the guest's console is the
# only thing on stdout.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

say() { echo "demo: $*" >&2; }

"$top/scripts/install-deps.sh"
if [ ! -f build/build.ninja ]; then
	meson setup build >&2
fi
ninja -C build >&2

core=build/core/splitvm-core
guest=build/tests/guest/splitvm-guest.elf

if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	say "no usable /dev/kvm on this host: cannot boot a guest"
	exit 1
fi

# The supervisor and its launch config are not there yet (issue 6): until
# they are, the main job boots the test guest on splitvm-core alone, with the
# memory layout of the bundled launch config (1 GiB of RAM, 4 DIMM slots,
# 8 GiB maxmem), and has it print the memory map it was given.
say "booting the test guest on splitvm-core: -m 1G,slots=4,maxmem=8G -smp 2"
say "the guest prints the e820 table and the device tree's memory nodes it received"
set +e
"$core" -name demo -m 1G,slots=4,maxmem=8G -smp 2 -kernel "$guest" -append "scenario=memmap"
rc=$?
set -e
if [ "$rc" -eq 0 ]; then
	say "the guest checked its memory map and exited with status 0"
else
	say "the guest failed (exit status $rc)"
fi
exit "$rc"
