#!/usr/bin/env bash
# Faults in the writers: a full disk and a read-only directory (a small tmpfs, mounted here),
# for every command that writes a file. After each, the previous output is intact, no
# temporary is left behind, and the exit code is 2 with a message. Skipped (77) where tmpfs
# cannot be mounted (no privilege).
# usage: faults.sh path/to/glassbox
set -uo pipefail
glassbox=${1:?usage: faults.sh path/to/glassbox}
work=$(mktemp -d)
disk="$work/disk"
mkdir -p "$disk"
if ! mount -t tmpfs -o size=256k tmpfs "$disk" 2>/dev/null; then
    echo "faults: cannot mount a tmpfs here; skipped"
    rm -rf "$work"
    exit 77
fi
trap 'umount "$disk"; rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
model=examples/credit_model.json data=examples/data/german_credit.csv
"$glassbox" explain --model "$model" --data "$data" --output "$work/e.json" --quiet || exit 1
# The outputs each command writes, all larger than what the disk has left.
commands=(
    "explain --model $model --data $data --quiet --output"
    "predict --model $model --data $data --output"
    "plot beeswarm --explanation $work/e.json --output"
    "report --explanation $work/e.json --output"
    "reasons --explanation $work/e.json --output"
)
outputs=(e.json p.csv b.svg r.html reasons.txt)
check() { # check STATE: run every command into the disk, expect failures that lose nothing
    local state=$1
    for i in "${!commands[@]}"; do
        local out="$disk/${outputs[$i]}"
        # shellcheck disable=SC2086
        "$glassbox" ${commands[$i]} "$out" 2> "$work/stderr"
        local code=$?
        [ "$code" -eq 2 ] || fail "$state: ${commands[$i]%% *} exited $code, expected 2: $(cat "$work/stderr")"
        grep -qE "write error|cannot write|No space|Read-only" "$work/stderr" ||
            fail "$state: ${commands[$i]%% *}: no message saying why: $(cat "$work/stderr")"
        [ "$(cat "$out")" = "previous ${outputs[$i]}" ] || fail "$state: ${commands[$i]%% *}: the previous file was lost"
    done
    ls "$disk" | grep -q partial && fail "$state: a temporary file was left: $(ls "$disk")"
}
for name in "${outputs[@]}"; do echo "previous $name" > "$disk/$name"; done
# Full: fill what is left with one file.
dd if=/dev/zero of="$disk/filler" bs=1k count=1024 2>/dev/null
check "full disk"
rm -f "$disk/filler"
mount -o remount,ro "$disk"
check "read-only directory"
if [ "$failures" -gt 0 ]; then
    echo "$failures fault check(s) failed"
    exit 1
fi
echo "faults: ${#commands[@]} commands on a full disk and a read-only directory lose nothing"
