#!/usr/bin/env bash
# The service killed under load: eight clients explain as fast as they can while the server is
# killed with SIGKILL, twice, restarted on the same audit store each time. Afterwards the chain
# must hold and every request that was answered 200 must be in the store: an answer is given
# only once its record is durable. usage: faults.sh GLASSBOX
set -uo pipefail
glassbox=$1
work=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill -9 "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

python3 - "$work" <<'EOF'
import json, os, sys
work = sys.argv[1]
json.dump({"listen": "127.0.0.1:0", "cache": {"bytes": 0},
           "models": [{"name": "credit", "path": os.path.abspath("examples/credit_model.json"),
                       "method": "tree"}],
           "audit": {"sqlite": "audit.db"}, "limits": {"connections": 16}},
          open(f"{work}/service.json", "w"))
EOF

start() {
    : >"$work/serve.log"
    "$glassbox" serve --config "$work/service.json" 2>"$work/serve.log" &
    server=$!
    for _ in $(seq 100); do grep -q "listening on" "$work/serve.log" && break; sleep 0.05; done
    port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/serve.log")
    [ -n "$port" ] || { echo "FAIL: the server did not start: $(cat "$work/serve.log")" >&2; exit 1; }
}

failures=0
for round in 1 2; do
    start
    python3 tests/service/load.py --ports "$port" --seconds 20 --prefix "r$round" \
        --out "$work/answered.txt" --kill "$server" --kill-after 2 >"$work/count_$round.txt"
    wait "$server" 2>/dev/null
    server=
    [ "$(cat "$work/count_$round.txt")" -gt 0 ] || { echo "FAIL: round $round: nothing answered" >&2; failures=$((failures + 1)); }
done

"$glassbox" audit verify "$work/audit.db" >"$work/verify.txt" 2>&1 || {
    echo "FAIL: the chain after two kills: $(cat "$work/verify.txt")" >&2; failures=$((failures + 1)); }
python3 - "$work/audit.db" "$work/answered.txt" <<'EOF' || failures=$((failures + 1))
import sqlite3, sys
stored = {row[0] for row in sqlite3.connect(sys.argv[1]).execute("SELECT request_id FROM audit")}
answered = [line.strip() for line in open(sys.argv[2]) if line.strip()]
missing = [a for a in answered if a not in stored]
if missing:
    print(f"FAIL: {len(missing)} of {len(answered)} answered requests are not in the store: {missing[:5]}",
          file=sys.stderr)
    sys.exit(1)
print(f"{len(answered)} answered requests, all in the store of {len(stored)} records")
EOF
[ "$failures" -eq 0 ] || exit 1
echo "service faults: all checks passed ($(cat "$work/verify.txt"))"
