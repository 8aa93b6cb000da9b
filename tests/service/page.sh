#!/usr/bin/env bash
# The officer's page served by the real server, opened in headless Chromium (check_page.py).
# usage: page.sh GLASSBOX ARTIFACTS-FOLDER
set -euo pipefail
glassbox=$1
artifacts=$2
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import csv, hashlib, json, os, sys
work = sys.argv[1]
names = json.load(open("examples/credit_model.json"))["learner"]["feature_names"]
row = list(csv.DictReader(open("examples/data/german_credit.csv")))[1]  # an adverse decision
json.dump({n: float(row[n]) for n in names}, open(f"{work}/applicant.json", "w"))
json.dump({"listen": "127.0.0.1:0",
           "models": [{"name": "credit", "path": os.path.abspath("examples/credit_model.json"),
                       "method": "tree", "threshold": 0.5,
                       "features": os.path.abspath("examples/credit_features.json")}],
           "audit": {"sqlite": "audit.db"},
           "tokens": [{"sha256": hashlib.sha256(b"officer-token").hexdigest(), "name": "bob",
                       "role": "applicant"}]}, open(f"{work}/service.json", "w"))
PY
"$glassbox" serve --config "$work/service.json" 2>"$work/serve.log" &
server=$!
for _ in $(seq 100); do grep -q "listening on" "$work/serve.log" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/serve.log")
python3 tests/service/check_page.py "$port" officer-token "$work/applicant.json" "$artifacts/officer-page.png"
