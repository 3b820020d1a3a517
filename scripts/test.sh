#!/bin/sh
# Build splitvm and run its whole test suite: the unit and integration
# suites, the unit suite again under valgrind, everything again in an
# ASan+UBSan build, and each fuzz target briefly.  Prints one closing line
# "N passed, N failed, N skipped" and exits non-zero when anything failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

"$top/scripts/install-deps.sh" || exit 1

summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
status=0

# run_meson LABEL BUILD_DIR [meson test args...]: run, then tally its log.
run_meson() {
	label=$1 dir=$2
	shift 2
	echo "=== $label" >&2
	meson test -C "$dir" --print-errorlogs --num-processes 2 "$@" >&2 || status=1
	# A --setup=NAME run logs to testlog-NAME.json: tally the newest log.
	log=$(ls -t "$dir"/meson-logs/testlog*.json | head -n 1)
	python3 - "$log" "$label" >>"$summary" <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif r == "SKIP":
        skipped += 1
    else:
        failed += 1
print(passed, failed, skipped, sys.argv[2])
PY
}

setup() {
	dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >&2 || exit 1
	fi
	ninja -C "$dir" >&2 || exit 1
}

setup build
run_meson "unit, integration and style" build --suite unit --suite integration --suite style
run_meson "unit under valgrind" build --suite unit --setup=valgrind

setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
	-Dc_args=-fno-sanitize-recover=all
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	LSAN_OPTIONS=suppressions=$top/tests/lsan.supp:print_suppressions=0 \
	run_meson "unit and integration, ASan+UBSan" build-asan --suite unit --suite integration

if command -v clang >/dev/null 2>&1; then
	CC=clang setup build-fuzz -Dfuzz=true -Db_lundef=false -Dtests=disabled
	run_meson "fuzz targets" build-fuzz --suite fuzz
else
	echo "SKIP: fuzz targets: clang is not installed" >&2
fi

echo "--- per run: passed failed skipped" >&2
cat "$summary" >&2
awk '{p += $1; f += $2; s += $3} END {printf "%d passed, %d failed, %d skipped\n", p, f, s}' "$summary"
exit $status
