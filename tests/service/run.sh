#!/usr/bin/env bash
# The explanation service, as a client meets it: the real server on a free loopback port,
# real HTTP (Python's urllib), every route, role and error it has; then its audit store, checked
# whole, and broken on purpose. usage: run.sh GLASSBOX
set -uo pipefail
glassbox=$1
work=$(mktemp -d)
failures=0
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

python3 - "$work" <<'EOF'
import csv, hashlib, json, os, sys
work = sys.argv[1]
model = json.load(open("examples/credit_model.json"))
names = model["learner"]["feature_names"]
rows = list(csv.DictReader(open("examples/data/german_credit.csv")))
instances = [{n: float(rows[i][n]) for n in names} for i in range(3)]
json.dump({"instances": instances, "id": "loan-42"}, open(f"{work}/explain.json", "w"))
digest = lambda token: hashlib.sha256(token.encode()).hexdigest()
# A black box slower than its deadline: 1.5 s a batch (the cmd: line protocol).
open(f"{work}/slow.py", "w").write(
    "import sys, time\nprint('a,b,c'); print('y'); sys.stdout.flush()\n"
    "for line in sys.stdin:\n"
    "    if line == '\\n': time.sleep(1.5); sys.stdout.flush(); continue\n"
    "    a, b, c = map(float, line.split(',')); print(0.5 * a - b + 2 * c)\n")
open(f"{work}/slow_background.csv", "w").write("a,b,c\n0,0,0\n1,1,1\n")
with open(f"{work}/sampled_background.csv", "w") as f:
    f.write(",".join(names) + "\n")
    for row in rows[10:30]:
        f.write(",".join(row[n] for n in names) + "\n")
json.dump({"listen": "127.0.0.1:0",
           "keep_versions": 2,
           "models": [{"name": "credit", "path": "credit_model.json",
                       "method": "tree", "features": "credit_features.json", "threshold": 0.5},
                      {"name": "slow", "path": f"cmd:python3 {work}/slow.py", "method": "exact",
                       "background": "slow_background.csv", "deadline_seconds": 1},
                      {"name": "sampled", "path": os.path.abspath("examples/credit_model.json"),
                       "method": "kernel", "background": "sampled_background.csv",
                       "options": {"max_evals": 400, "seed": 1}, "overrides": ["seed"]}],
           "audit": {"sqlite": "audit.db"},
           "tokens": [{"sha256": digest("token-applicant"), "name": "ann", "role": "applicant"},
                      {"sha256": digest("token-analyst"), "name": "alice", "role": "analyst"},
                      {"sha256": digest("token-auditor"), "name": "eve", "role": "auditor"}]},
          open(f"{work}/service.json", "w"))
EOF
# Relative paths in the config (the features, the audit store) are read from its directory.
cp examples/credit_features.json examples/credit_model.json "$work/"

"$glassbox" serve --help | grep -q "usage: glassbox serve" || fail "serve --help"
"$glassbox" serve --config "$work/missing.json" 2>/dev/null; [ $? -eq 2 ] || fail "a missing config is not exit 2"

"$glassbox" serve --config "$work/service.json" 2>"$work/serve.log" &
server=$!
for _ in $(seq 50); do grep -q "listening on" "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/serve.log")
[ -n "$port" ] || { cat "$work/serve.log" >&2; fail "the server did not start"; exit 1; }

python3 - "$port" "$work" <<'EOF' || failures=$((failures + 1))
import json, sys, urllib.error, urllib.request
port, work = sys.argv[1], sys.argv[2]
base = f"http://127.0.0.1:{port}"
failed = 0

def ask(method, path, token=None, body=None):
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(base + path, data=data, method=method)
    if token: request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())

def ask_raw(method, path, token, body):
    request = urllib.request.Request(base + path, data=body.encode(), method=method)
    request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request, timeout=30) as reply:
        return reply.read()

def check(what, got, status, condition=lambda a: True):
    global failed
    code, answer = got
    if code != status or not condition(answer):
        print(f"FAIL: {what}: {code} {json.dumps(answer)[:300]}", file=sys.stderr)
        failed += 1
    return answer

explain = open(f"{work}/explain.json").read()
check("healthz", ask("GET", "/healthz"), 200, lambda a: a["status"] == "ok")
check("readyz", ask("GET", "/readyz"), 200)
check("models without a token", ask("GET", "/v1/models"), 401)
check("models with an unknown token", ask("GET", "/v1/models", "nobody"), 401)
models = check("models", ask("GET", "/v1/models", "token-analyst"), 200,
               lambda a: a["models"][0]["name"] == "credit" and len(a["models"][0]["features"]) == 61
                         and a["models"][1]["name"] == "slow")
version = models["models"][0]["version"]
check("one model", ask("GET", "/v1/models/credit", "token-analyst"), 200, lambda a: a["version"] == version)
check("an unknown model", ask("GET", "/v1/models/nope", "token-analyst"), 404)
check("an unknown route", ask("GET", "/v2/elsewhere", "token-analyst"), 404)
check("a wrong method", ask("GET", "/v1/models/credit:explain", "token-analyst"), 405)

# Predictions, then explanations: the same model version, the request's own id.
predicted = check("predict", ask("POST", "/v1/models/credit:predict", "token-analyst", explain), 200,
                  lambda a: a["id"] == "loan-42" and len(a["predictions"]) == 3 and a["model_version"] == version)
analyst = check("explain (analyst)", ask("POST", "/v1/models/credit:explain", "token-analyst", explain), 200,
                lambda a: a["predictions"] == predicted["predictions"] and len(a["explanations"]) == 3)
row = analyst["explanations"][0]
# Values add up to the prediction's margin; the analyst sees sensitive features folded.
if "Age" in row["values"] or "Protected attributes" not in row["values"]:
    print("FAIL: analyst: sensitive features not folded", file=sys.stderr); failed += 1
applicant = check("explain (applicant)", ask("POST", "/v1/models/credit:explain", "token-applicant", explain), 200)
text = json.dumps(applicant)
for sensitive in ("Age", "ForeignWorker", "Protected attributes", "Personal", "Sex"):
    if sensitive in text:
        print(f"FAIL: applicant answer shows {sensitive}", file=sys.stderr); failed += 1
if not any(e.get("decision") == "adverse" and e["reasons"] for e in applicant["explanations"]):
    print("FAIL: no adverse decision with reasons", file=sys.stderr); failed += 1
auditor = check("explain (auditor)", ask("POST", "/v1/models/credit:explain", "token-auditor", explain), 200,
                lambda a: "Age" in a["explanations"][0]["values"])
fresh = check("a fresh id", ask("POST", "/v1/models/credit:predict", "token-analyst",
                                json.dumps({"instances": [[0] * 61]})), 200,
              lambda a: len(a["id"]) == 32)

# The Open Inference Protocol: metadata, and predictions from a flat tensor.
check("v2 metadata", ask("GET", "/v2/models/credit", "token-analyst"), 200,
      lambda a: a["versions"] == [version] and a["inputs"][0]["shape"] == [-1, 61])
flat = [value for row in json.loads(explain)["instances"] for value in row.values()]
check("v2 infer", ask("POST", "/v2/models/credit/infer", "token-analyst",
                      json.dumps({"inputs": [{"name": "input", "shape": [3, 61], "datatype": "FP64",
                                              "data": flat}]})), 200,
      lambda a: a["outputs"][0]["shape"] == [3, 1] and
                a["outputs"][0]["data"] == [p[0] for p in predicted["predictions"]])
check("v2 infer, a short tensor", ask("POST", "/v2/models/credit/infer", "token-analyst",
                                      json.dumps({"inputs": [{"shape": [3, 61], "data": [1, 2]}]})), 400,
      lambda a: "does not fill its shape" in a["error"])

# Bad requests: named, 400; a pin elsewhere: 409 naming the version loaded.
bad = [('{"instances": [{"Duration": "long"}]}', "not a number"),
       ('{"instances": [[1, 2]]}', "holds 2 values"),
       ('{"instances": []}', "one row or more"),
       ('{"instances": [{"Unknown": 1}]}', "is not a feature"),
       ('{"instances": [{"Duration": NaN}]}', "not a finite number"),
       ('{"instances": [{"Duration": 1}]}', "is missing"),
       ('{"instances": ', "not one JSON value"),
       ('[1, 2]', "must be a JSON object"),
       ('{"instances": [[0]], "id": 7}', "\"id\" must be a string")]
for body, words in bad:
    check(f"bad request {body}", ask("POST", "/v1/models/credit:predict", "token-analyst", body), 400,
          lambda a: words in a["error"])
pinned = json.loads(explain); pinned["model_version"] = "0" * 64
check("a pinned version not loaded", ask("POST", "/v1/models/credit:explain", "token-analyst",
                                         json.dumps(pinned)), 409,
      lambda a: a["loaded_versions"] == [version])
pinned["model_version"] = version
check("the loaded version pinned", ask("POST", "/v1/models/credit:explain", "token-analyst", json.dumps(pinned)), 200)
# The cache: the same rows asked again (by name or in order alike) give the same bytes.
computed = ask_raw("POST", "/v1/models/credit:explain", "token-analyst", explain)
in_order = json.loads(explain)
in_order["instances"] = [list(row.values()) for row in in_order["instances"]]
cached = ask_raw("POST", "/v1/models/credit:explain", "token-analyst", json.dumps(in_order))
if computed != cached or json.loads(computed) != analyst:
    print("FAIL: a cached answer differs from the computed one", file=sys.stderr); failed += 1
check("a body over the limit", ask("POST", "/v1/models/credit:predict", "token-analyst", "[" + " " * (2 << 20) + "]"), 413)
# Past its deadline a request is a 504 at once; asked "async", it is a 202 with where its
# answer will be, fetched by its caller (or an auditor) once done, by no one else.
import time
slow = json.dumps({"instances": [{"a": 1, "b": 2, "c": 3}], "id": "slow-sync"})
check("past the deadline", ask("POST", "/v1/models/slow:explain", "token-analyst", slow), 504,
      lambda a: "deadline of 1 s" in a["error"])
check("a prediction past the deadline", ask("POST", "/v1/models/slow:predict", "token-analyst", slow), 504,
      lambda a: "deadline of 1 s" in a["error"])
slow = json.dumps({"instances": [{"a": 1, "b": 2, "c": 3}], "id": "slow-async", "async": True})
check("async", ask("POST", "/v1/models/slow:explain", "token-analyst", slow), 202,
      lambda a: a["status"] == "running" and a["result"] == "/v1/explanations/slow-async")
check("async, again under its id", ask("POST", "/v1/models/slow:explain", "token-analyst", slow), 409)
check("async, running", ask("GET", "/v1/explanations/slow-async", "token-analyst"), 202)
check("async, another caller", ask("GET", "/v1/explanations/slow-async", "token-applicant"), 403)
check("async, unknown", ask("GET", "/v1/explanations/nothing", "token-analyst"), 404)
for _ in range(120):
    code, answer = ask("GET", "/v1/explanations/slow-async", "token-analyst")
    if code != 202: break
    time.sleep(0.5)
check("async, done", (code, answer), 200,
      lambda a: a["id"] == "slow-async" and abs(sum(a["explanations"][0]["values"].values()) +
                a["explanations"][0]["base_value"] - a["predictions"][0][0]) < 1e-9)
check("async, an auditor", ask("GET", "/v1/explanations/slow-async", "token-auditor"), 200)

# Reloading: a changed file is a new version, served by default; the one before stays loaded
# for requests that pin it; with keep_versions 2 a third pushes the first out. Only an
# auditor reloads.
def rewrite_model(indent):
    document = json.load(open(f"{work}/credit_model.json"))
    json.dump(document, open(f"{work}/credit_model.json", "w"), indent=indent)
check("reload as an analyst", ask("POST", "/v1/admin/reload", "token-analyst", "{}"), 403)
rewrite_model(1)
check("reload", ask("POST", "/v1/admin/reload", "token-auditor", "{}"), 200, lambda a: a["new_versions"] == 1)
second = check("the new version", ask("GET", "/v1/models/credit", "token-analyst"), 200,
               lambda a: a["version"] != version and a["versions"] == [a["version"], version])["version"]
old_pin = json.loads(explain); old_pin["model_version"] = version; old_pin["id"] = "old-pin"
check("the old version pinned", ask("POST", "/v1/models/credit:predict", "token-analyst",
                                    json.dumps(old_pin)), 200,
      lambda a: a["model_version"] == version and a["predictions"] == predicted["predictions"])
check("the new version by default", ask("POST", "/v1/models/credit:predict", "token-analyst",
                                        explain), 200, lambda a: a["model_version"] == second)
check("reload, unchanged", ask("POST", "/v1/admin/reload", "token-auditor", "{}"), 200,
      lambda a: a["new_versions"] == 0)
rewrite_model(2)
check("reload again", ask("POST", "/v1/admin/reload", "token-auditor", "{}"), 200)
check("the first version, pushed out", ask("POST", "/v1/models/credit:predict", "token-analyst",
                                           json.dumps(old_pin)), 409,
      lambda a: len(a["loaded_versions"]) == 2 and version not in a["loaded_versions"])

# An explanation by the version now loaded, for the replay below; the audit for auditors.
replay_me = json.loads(explain); replay_me["id"] = "replay-me"
check("explain, to replay", ask("POST", "/v1/models/credit:explain", "token-applicant",
                                json.dumps(replay_me)), 200)
check("audit query as an analyst", ask("GET", "/v1/audit", "token-analyst"), 403)
check("audit query, a bad limit", ask("GET", "/v1/audit?limit=0", "token-auditor"), 400)
check("audit query", ask("GET", "/v1/audit?model=slow&limit=5", "token-auditor"), 200,
      lambda a: [r["request_id"] for r in a["records"]] == ["slow-async"])
check("audit query by time", ask("GET", "/v1/audit?from=2000-01-01T00:00:00Z&to=2001-01-01", "token-auditor"),
      200, lambda a: a["records"] == [])

# Explainer options: the model's own, and those its "overrides" let a request change; an
# answer under a request's options is replayed with them.
one = json.loads(explain); one["instances"] = one["instances"][:1]
one["id"] = "sampled-default"
default = check("sampled, the model's options", ask("POST", "/v1/models/sampled:explain", "token-analyst",
                                                   json.dumps(one)), 200)
one["id"] = "sampled-seed"; one["options"] = {"seed": 2}
reseeded = check("sampled, another seed", ask("POST", "/v1/models/sampled:explain", "token-analyst",
                                              json.dumps(one)), 200)
if reseeded["explanations"] == default["explanations"]:
    print("FAIL: another seed gave the same values", file=sys.stderr); failed += 1
one["options"] = {"max_evals": 10}
check("an option not allowed", ask("POST", "/v1/models/sampled:explain", "token-analyst", json.dumps(one)), 400,
      lambda a: "may not be set per request" in a["error"])
one["options"] = {"bogus": 1}
check("an unknown option", ask("POST", "/v1/models/sampled:explain", "token-analyst", json.dumps(one)), 400,
      lambda a: "unknown option" in a["error"])

# /metrics: Prometheus text, counting what was just asked.
with urllib.request.urlopen(base + "/metrics", timeout=30) as reply:
    metrics = reply.read().decode()
for line in ('glassbox_requests_total{route="explain",model="credit",code="200"} 7',
             'glassbox_cache_lookups_total{result="hit"} 3',
             'glassbox_cache_lookups_total{result="miss"} 7',
             'glassbox_requests_total{route="predict",model="credit",code="400"} 9',
             'glassbox_requests_total{route="reload",model="",code="403"} 1',
             'glassbox_requests_total{route="explain",model="credit",code="409"} 1',
             'glassbox_requests_total{route="models",model="",code="401"} 2',
             'glassbox_audit_write_seconds_count 15', 'glassbox_audit_failures_total 0',
             'glassbox_request_seconds_bucket{route="explain",model="credit",le="+Inf"} 8'):
    if line not in metrics:
        print(f"FAIL: /metrics lacks {line}", file=sys.stderr); failed += 1
sys.exit(1 if failed else 0)
EOF

# SIGHUP reloads as the route does (nothing changed since the last one).
kill -HUP "$server"
for _ in $(seq 50); do grep -q "reloaded" "$work/serve.log" && break; sleep 0.1; done
grep -q "reloaded: 0 new versions" "$work/serve.log" || fail "SIGHUP: $(cat "$work/serve.log")"

# SIGTERM: finishes and exits 0.
kill -TERM "$server"
wait "$server"; code=$?
server=
[ "$code" -eq 0 ] || fail "SIGTERM: the server exited $code"

# The audit: every answered prediction and explanation, chained; one request shown whole; a
# changed row breaks the chain there.
"$glassbox" audit verify "$work/audit.db" >"$work/verify.txt" || fail "audit verify: $(cat "$work/verify.txt")"
grep -q "15 rows, the chain holds" "$work/verify.txt" || fail "audit verify: $(cat "$work/verify.txt")"
"$glassbox" audit show "$work/audit.db" --request loan-42 >"$work/show.json" || fail "audit show"
python3 - "$work/show.json" <<'EOF' || fail "audit show: the records of loan-42"
import json, sys
records = json.load(open(sys.argv[1]))
routes = sorted(r["route"] for r in records)
# 2 predicts (the first version, the second), 3 roles' explanations, the pinned one, 2 cache checks
assert len(records) == 8, len(records)
assert routes.count("/v1/models/credit:predict") == 2, routes
assert len({r["version"] for r in records}) == 2
assert {r["caller"] for r in records} == {"alice", "ann", "eve"}
assert all("token" not in json.dumps(r) for r in records)    # no secret in the store
EOF
"$glassbox" audit show "$work/audit.db" --request nobody 2>/dev/null; [ $? -eq 2 ] || fail "audit show of an unknown request"
# Replay: recomputed from the model file the config names, for the caller's role, identical to
# what was answered; a request answered by a version whose file has changed since is refused.
"$glassbox" audit replay "$work/audit.db" --request replay-me --config "$work/service.json" \
    >"$work/replay.txt" || fail "audit replay: $(cat "$work/replay.txt")"
grep -q "1 of 1 explanations recomputed bit-identical" "$work/replay.txt" || fail "audit replay: $(cat "$work/replay.txt")"
"$glassbox" audit replay "$work/audit.db" --request loan-42 --config "$work/service.json" \
    2>"$work/replay.err"; code=$?
[ "$code" -eq 2 ] && grep -q "keep that file to replay it" "$work/replay.err" || fail "replay of an old version: $(cat "$work/replay.err")"
"$glassbox" audit replay "$work/audit.db" --request sampled-seed --config "$work/service.json" \
    >"$work/replay.txt" || fail "audit replay with a request's options: $(cat "$work/replay.txt")"
grep -q "1 of 1 explanations recomputed bit-identical" "$work/replay.txt" || fail "audit replay with options: $(cat "$work/replay.txt")"
python3 -c "import sqlite3, sys; db = sqlite3.connect(sys.argv[1])
db.execute(\"UPDATE audit SET content = replace(content, 'alice', 'mallory') WHERE seq = 2\"); db.commit()" "$work/audit.db"
"$glassbox" audit verify "$work/audit.db" 2>"$work/verify.err"; code=$?
[ "$code" -eq 2 ] && grep -q "breaks at row 2" "$work/verify.err" || fail "a changed row: $(cat "$work/verify.err")"

[ "$failures" -eq 0 ] || { echo "$failures service check(s) failed" >&2; exit 1; }
echo "service: all checks passed"
