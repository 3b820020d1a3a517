#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Boot benchmark: splitvm-core against QEMU microvm booting the same test
# guest (ELF with PVH note), same memory and vCPUs, median of RUNS runs:
# wall time from the fork to the first serial line and to the exit, and the
# VMM's resident memory at the first line without guest RAM.
#
# usage: bench_boot.sh BENCH_BOOT SPLITVM_CORE GUEST_ELF [RUNS]
set -u
bench=$1
core=$2
elf=$3
runs=${4:-10}
mem=512M
smp=1
append="scenario=pvh-boot"
if [ ! -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is not usable"
	exit 77
fi

results=()
results+=("$("$bench" "$runs" splitvm-core "$core" -m "$mem" -smp "$smp" -kernel "$elf" \
	-append "$append")")

qemu=$(command -v qemu-system-x86_64)
if [ -z "$qemu" ]; then
	echo "note: qemu-system-x86_64 missing (apt-get install -y qemu-system-x86): no baseline"
else
	qargs=(-M microvm -m "$mem" -smp "$smp" -nodefaults -no-user-config -nographic
		-serial stdio -kernel "$elf" -append "$append" -no-reboot
		-device isa-debug-exit,iobase=0x501,iosize=2)
	# isa-debug-exit: QEMU exits with (0 << 1) | 1 = 1 when the guest passes.
	if "$qemu" -accel kvm "${qargs[@]}" </dev/null >/dev/null 2>&1 || [ $? = 1 ]; then
		results+=("$("$bench" "$runs" qemu-microvm-kvm "$qemu" -accel kvm "${qargs[@]}")")
	else
		echo "note: QEMU microvm cannot run on this KVM: falling back to -accel tcg"
		results+=("$("$bench" "$runs" qemu-microvm-TCG "$qemu" -accel tcg "${qargs[@]}")")
	fi
fi

printf '%s\n' "${results[@]}" | awk -v runs="$runs" '
function val(s, k,   i, n, a) {
	n = split(s, a, " ")
	for (i = 2; i <= n; i++)
		if (index(a[i], k "=") == 1)
			return substr(a[i], length(k) + 2)
	return -1
}
{ label[NR] = $1; first[NR] = val($0, "first_ms"); ex[NR] = val($0, "exit_ms")
  rss[NR] = val($0, "rss_kib"); vmrss[NR] = val($0, "vmrss_kib"); st[NR] = val($0, "status") }
END {
	printf "boot benchmark: test guest (scenario=pvh-boot), median of %d runs\n", runs
	printf "%-18s %12s %10s %14s %10s %6s\n", "vmm", "first-line", "exit", "rss-no-ram", "VmRSS", "status"
	for (i = 1; i <= NR; i++)
		printf "%-18s %9.1f ms %7.1f ms %10d KiB %6d KiB %6d\n", label[i], first[i], ex[i], rss[i], vmrss[i], st[i]
	if (NR >= 2 && first[1] > 0 && ex[1] > 0 && rss[1] > 0) {
		printf "ratios %s/%s: first-line %.2f, exit %.2f, rss %.2f\n", label[2], label[1],
			first[2] / first[1], ex[2] / ex[1], rss[2] / rss[1]
	}
	if (st[1] != 0) { print "splitvm-core run failed: status " st[1]; exit 1 }
}'
