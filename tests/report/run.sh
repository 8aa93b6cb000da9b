#!/usr/bin/env bash
# The HTML report opened in headless Chromium (check_report.py): the credit demo's 200 held-out
# applicants with metadata, groups and what-ifs, and 10,000 rows (the German credit data ten
# times) to show that a large report still loads, searches, sorts and pages. Screenshots are
# kept in the build folder's test-artifacts/.
set -euo pipefail
usage="usage: run.sh path/to/glassbox artifacts-folder"
glassbox=${1:?$usage}
artifacts=${2:?$usage}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"
data=examples/data/german_credit.csv

{ head -n 1 "$data"; tail -n 200 "$data"; } > "$work/heldout.csv"
"$glassbox" explain --model examples/credit_model.json --data "$work/heldout.csv" \
    --output "$work/explanation.json" --quiet 2>/dev/null
"$glassbox" report --explanation "$work/explanation.json" --features examples/credit_features.json \
    --groups examples/credit_groups.json --model examples/credit_model.json \
    --data "$work/heldout.csv" --output "$work/report.html" 2>/dev/null
python3 tests/report/check_report.py "$work/report.html" "$artifacts/report.png" \
    "the checking account is overdrawn"

{ head -n 1 "$data"; for _ in $(seq 10); do tail -n +2 "$data"; done; } > "$work/large.csv"
"$glassbox" explain --model examples/credit_model.json --data "$work/large.csv" \
    --output "$work/large.json" --quiet 2>/dev/null
"$glassbox" report --explanation "$work/large.json" --features examples/credit_features.json \
    --groups examples/credit_groups.json --output "$work/large.html"
python3 tests/report/check_report.py "$work/large.html" "$artifacts/report-10000-rows.png" \
    "the checking account is overdrawn"
