# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by the *_replay_detects scripts: proof that a replay tool notices
# a difference.  A committed recording is doctored one thing at a time and
# the tool must exit 1 naming the difference.
#
# The sourcing script calls rd_setup USAGE N ARG..., where the first N ARGs
# are the tool and its arguments before the recording, and the next one is
# the recording the edits start from.  It sets
#   replay_cmd   those N ARGs, as an array
#   rec          the recording
#   work         a directory, removed at exit
#   failed       0, set to 1 by each failed check (the script ends with
#                exit $failed)
# and checks that the recording replays as it is.  The edits are piped into
# expect_fail; lastpipe runs it in this shell, not a subshell, so that its
# failed=1 reaches the exit (without it a failed check was printed and the
# script still exited 0).
rd_setup() {
	local usage=$1 n=$2
	shift 2
	if [ $# -le "$n" ]; then
		echo "$usage" >&2
		exit 1
	fi
	replay_cmd=("${@:1:n}")
	rec=${*:n+1:1}
	shopt -s lastpipe
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	failed=0
	rd_as_recorded
}

# rd_as_recorded [WHAT]: $rec itself must replay; otherwise stop at once,
# since no edit of it could prove anything.
rd_as_recorded() {
	local what=${1:-the recording itself}
	"${replay_cmd[@]}" "$rec" >"$work/out" 2>&1 ||
		{ cat "$work/out"; echo "FAIL: $what"; exit 1; }
	echo "ok: as recorded: $(tail -n 1 "$work/out")"
}

# expect_fail NAME WORDS < MUTATED: the mutated recording fails, naming WORDS.
expect_fail() {
	local name=$1 words=$2 rc
	cat >"$work/$name.log"
	if cmp -s "$rec" "$work/$name.log"; then
		echo "FAIL: $name: the edit changed nothing (has the recording changed?)"
		failed=1
		return
	fi
	"${replay_cmd[@]}" "$work/$name.log" >"$work/$name.out" 2>&1
	rc=$?
	if [ $rc -ne 1 ] || ! grep -q -- "$words" "$work/$name.out"; then
		echo "FAIL: $name: exit $rc, wanted 1 with '$words':"
		cat "$work/$name.out"
		failed=1
	else
		echo "ok: $name: $(grep -m 1 -- "$words" "$work/$name.out")"
	fi
}

# expect_sed NAME SED-SCRIPT WORDS: expect_fail on $rec edited by SED-SCRIPT.
expect_sed() {
	sed -e "$2" "$rec" | expect_fail "$1" "$3"
}
