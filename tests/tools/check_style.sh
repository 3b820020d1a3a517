#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every C source and header of the tree is as .clang-format lays it out
# (STYLE.md).  Lists each file that is not, with the first lines that differ,
# and fails; SKIPs when clang-format is not installed.
#
# usage: check_style.sh SOURCE_ROOT
set -u
root=$1
if ! command -v clang-format >/dev/null 2>&1; then
	echo "SKIP: clang-format is not installed (Debian: apt-get install clang-format)"
	exit 77
fi
cd "$root" || exit 1
# The tracked files when this is a git checkout, else what lies in the tree.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	files=$(git ls-files '*.c' '*.h')
else
	files=$(find . -path './build*' -prune -o \( -name '*.c' -o -name '*.h' \) -print)
fi
bad=0 n=0
for f in $files; do
	n=$((n + 1))
	if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "not formatted: $f"
		clang-format "$f" | diff -u "$f" - | sed -n '3,12p'
		bad=$((bad + 1))
	fi
done
[ "$n" -gt 0 ] || { echo "FAIL: no C files found under $root"; exit 1; }
if [ "$bad" -ne 0 ]; then
	echo "FAIL: $bad of $n files differ from .clang-format ($(clang-format --version)); run: clang-format -i FILE"
	exit 1
fi
echo "PASS: $n files as .clang-format lays them out"
