#!/usr/bin/env bash
# The audit store in a real PostgreSQL server (Debian's, started here in a scratch directory,
# reached over its Unix socket): two `glassbox serve` instances append to one chain at once,
# under load from eight clients, one of them killed with SIGKILL halfway; then the database is
# restarted under the other. The chain must hold and every request answered 200 must be in the
# store. usage: postgres.sh GLASSBOX
set -uo pipefail
glassbox=$1
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { echo "postgres.sh: PostgreSQL's server is not installed (apt-get install postgresql)" >&2; exit 1; }
work=$(mktemp -d)
chmod 755 "$work"
data="$work/data" sockets="$work/sockets"
mkdir -p "$data" "$sockets"
as_server=()
if [ "$(id -u)" -eq 0 ]; then # PostgreSQL will not run as root
    chown postgres "$data" "$sockets"
    as_server=(runuser -u postgres --)
fi
port=$(python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
servers=()
cleanup() {
    for pid in "${servers[@]}"; do kill -9 "$pid" 2>/dev/null; done
    "${as_server[@]}" "$bin/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

"${as_server[@]}" "$bin/initdb" -D "$data" -A trust -U postgres >"$work/initdb.log" 2>&1 ||
    { cat "$work/initdb.log" >&2; exit 1; }
"${as_server[@]}" "$bin/pg_ctl" -D "$data" -l "$sockets/postgres.log" -w \
    -o "-p $port -k $sockets -c listen_addresses=''" start >/dev/null ||
    { cat "$sockets/postgres.log" >&2; exit 1; }
"$bin/createdb" -h "$sockets" -p "$port" -U postgres audit
url="postgresql:///audit?host=$sockets&port=$port&user=postgres"

python3 - "$work" "$url" <<'EOF'
import json, os, sys
work, url = sys.argv[1], sys.argv[2]
for n in (1, 2):
    json.dump({"listen": "127.0.0.1:0", "cache": {"bytes": 0},
               "models": [{"name": "credit", "path": os.path.abspath("examples/credit_model.json"),
                           "method": "tree"}],
               "audit": {"postgresql": url}, "limits": {"connections": 16}},
              open(f"{work}/service{n}.json", "w"))
EOF

ports=()
for n in 1 2; do
    "$glassbox" serve --config "$work/service$n.json" 2>"$work/serve$n.log" &
    servers+=($!)
    for _ in $(seq 100); do grep -q "listening on" "$work/serve$n.log" && break; sleep 0.05; done
    ports+=("$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/serve$n.log")")
done
[ -n "${ports[0]}" ] && [ -n "${ports[1]}" ] || { cat "$work"/serve*.log >&2; exit 1; }

# Eight clients, four on each instance, for three seconds; the first instance is killed after
# one and a half.
python3 tests/service/load.py --ports "${ports[0]},${ports[1]}" --seconds 3 \
    --out "$work/answered.txt" --kill "${servers[0]}" --kill-after 1.5 >"$work/answered_count.txt" || exit 1
echo "$(cat "$work/answered_count.txt") answered by two instances, one killed halfway"
wait "${servers[0]}" 2>/dev/null # the killed one

# The database restarted under the surviving instance: not ready, and no answer given while it
# is down (none could be audited); ready and answering again once it is back.
ask() { # ask PATH [BODY]: prints the HTTP status
    python3 - "${ports[1]}" "$@" <<'PY'
import sys, urllib.error, urllib.request
port, path = sys.argv[1], sys.argv[2]
data = sys.argv[3].encode() if len(sys.argv) > 3 else None
try:
    with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                                       method="POST" if data else "GET"), timeout=30) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
PY
}
one_row=$(python3 -c "import json; n = json.load(open('examples/credit_model.json'))['learner']['feature_names']; print(json.dumps({'instances': [[1.0] * len(n)]}))")
"${as_server[@]}" "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
[ "$(ask /readyz)" = 503 ] || { echo "FAIL: ready with the database down" >&2; exit 1; }
[ "$(ask /v1/models/credit:explain "$one_row")" = 500 ] || { echo "FAIL: answered with the database down" >&2; exit 1; }
"${as_server[@]}" "$bin/pg_ctl" -D "$data" -l "$sockets/postgres.log" -w \
    -o "-p $port -k $sockets -c listen_addresses=''" start >/dev/null
[ "$(ask /readyz)" = 200 ] || { echo "FAIL: not ready once the database is back" >&2; exit 1; }
[ "$(ask /v1/models/credit:explain "$one_row")" = 200 ] || { echo "FAIL: no answer once the database is back" >&2; exit 1; }
kill -TERM "${servers[1]}"
wait "${servers[1]}" 2>/dev/null

failures=0
"$glassbox" audit verify "$url" >"$work/verify.txt" 2>&1 || { echo "FAIL: $(cat "$work/verify.txt")" >&2; failures=1; }
grep -q "the chain holds" "$work/verify.txt" || { echo "FAIL: $(cat "$work/verify.txt")" >&2; failures=1; }
"$bin/psql" -h "$sockets" -p "$port" -U postgres -At -c "SELECT request_id FROM audit" audit >"$work/stored.txt"
missing=$(sort "$work/answered.txt" | comm -23 - <(sort "$work/stored.txt") | wc -l)
[ "$missing" -eq 0 ] || { echo "FAIL: $missing answered requests are not in the store" >&2; failures=1; }
# A changed row breaks the chain there, as in SQLite.
"$bin/psql" -h "$sockets" -p "$port" -U postgres -q -c \
    "UPDATE audit SET content = content || ' ' WHERE seq = (SELECT min(seq) + 9 FROM audit)" audit
"$glassbox" audit verify "$url" 2>"$work/broken.txt"; code=$?
[ "$code" -eq 2 ] && grep -q "breaks at row" "$work/broken.txt" || { echo "FAIL: a changed row: $(cat "$work/broken.txt")" >&2; failures=1; }
first=$(head -n 1 "$work/answered.txt")
"$glassbox" audit show "$url" --request "$first" >"$work/show.json" 2>&1
grep -q "\"request_id\":\"$first\"" "$work/show.json" || { echo "FAIL: audit show from PostgreSQL: $(head -c 300 "$work/show.json")" >&2; failures=1; }
[ "$failures" -eq 0 ] || exit 1
echo "service on PostgreSQL: all checks passed ($(cat "$work/verify.txt"))"
