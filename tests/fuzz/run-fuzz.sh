#!/bin/sh
# run-fuzz.sh TARGET SEED_DIR WORK_DIR SECONDS
# Fuzz TARGET for SECONDS, starting from the committed SEED_DIR.  New inputs
# go to WORK_DIR (never into the committed corpus); a crash fails the test
# and leaves its input in WORK_DIR for reproduction.
set -eu
target=$1 seeds=$2 work=$3 secs=$4
mkdir -p "$work/corpus"
exec "$target" -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$work/" "$work/corpus" "$seeds"
