"""The explanation service under load (wrk), against what a bank's team would otherwise write: a
FastAPI service (uvicorn) calling shap.TreeExplainer on the same model, side by side in one run.

Single-row TreeSHAP explanations of a 300-tree depth-6 XGBoost model on the German credit data
(61 features). glassbox serve audits every answer durably (SQLite, synchronous=FULL) before it
is sent; the FastAPI service audits nothing. Each is driven by wrk at several connection counts
(throughput at saturation, p50 and p99 latency, errors), glassbox once with its cache off
(every answer computed) and once warm (the same row asked again: every answer from the cache).

usage: serve.py [--seconds 10] [--connections 16,64] (run by bench/run.sh with GBX_BENCH_SUITES=serve)"""
import argparse
import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import xgboost as xgb

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FASTAPI_APP = '''
import json, os
import numpy as np, shap, xgboost as xgb
from fastapi import FastAPI, Request
booster = xgb.Booster(); booster.load_model(os.environ["MODEL"])
names = booster.feature_names
explainer = shap.TreeExplainer(booster)
app = FastAPI()

@app.post("/explain")
async def explain(request: Request):
    body = await request.json()
    rows = np.array([[row[n] for n in names] for row in body["instances"]], dtype=float)
    values = explainer.shap_values(rows)
    return {"predictions": booster.predict(xgb.DMatrix(rows, feature_names=names)).tolist(),
            "explanations": [{"base_value": float(explainer.expected_value),
                              "values": dict(zip(names, map(float, v)))} for v in values]}
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


def wrk(url, body_path, connections, seconds):
    script = os.path.join(os.path.dirname(body_path), "post.lua")
    with open(script, "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                f'local f = io.open("{body_path}")\nwrk.body = f:read("*a")\nf:close()\n')
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s",
                          script, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def latency(percentile):
        m = re.search(rf"\s{percentile}%\s+([\d.]+)(us|ms|s)", out)
        return float(m.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[m.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = (int(errors.group(1)) if errors else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
    return rate, latency(50), latency(99), failed


def train(work):
    rows = list(csv.DictReader(open(os.path.join(ROOT, "examples/data/german_credit.csv"))))
    names = [n for n in rows[0] if n != "Class"]
    X = np.array([[float(r[n]) for n in names] for r in rows])
    y = np.array([r["Class"] == "Bad" for r in rows], dtype=float)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 6, "eta": 0.05},
                        xgb.DMatrix(X, y, feature_names=names), 300)
    path = os.path.join(work, "model.json")
    booster.save_model(path)
    body = os.path.join(work, "body.json")
    with open(body, "w") as f:
        json.dump({"instances": [{n: float(v) for n, v in zip(names, X[7])}]}, f)
    return path, body


def glassbox_run(glassbox, model, body, work, cache, connections, seconds):
    port = free_port()
    config = os.path.join(work, f"service-{cache}.json")
    audit = os.path.join(work, f"audit-{cache}.db")
    with open(config, "w") as f:
        json.dump({"listen": f"127.0.0.1:{port}", "cache": {"bytes": (64 << 20) if cache else 0},
                   "models": [{"name": "credit", "path": model, "method": "tree"}],
                   "audit": {"sqlite": audit}}, f)
    server = subprocess.Popen([glassbox, "serve", "--config", config], stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        return [wrk(f"http://127.0.0.1:{port}/v1/models/credit:explain", body, c, seconds)
                for c in connections]
    finally:
        server.terminate()
        server.wait(timeout=60)
        verified = subprocess.run([glassbox, "audit", "verify", audit], capture_output=True, text=True)
        print("   ", verified.stdout.strip() or verified.stderr.strip())


def fastapi_run(model, body, work, connections, seconds):
    port = free_port()
    app = os.path.join(work, "app.py")
    with open(app, "w") as f:
        f.write(FASTAPI_APP)
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "app:app", "--port", str(port),
                               "--workers", "2", "--log-level", "warning"], cwd=work,
                              env=dict(os.environ, MODEL=model))
    try:
        wait_port(port)
        return [wrk(f"http://127.0.0.1:{port}/explain", body, c, seconds) for c in connections]
    finally:
        server.terminate()
        server.wait(timeout=60)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", default="16,64")
    parser.add_argument("--glassbox", default=os.path.join(ROOT, "build", "glassbox"))
    args = parser.parse_args()
    connections = [int(c) for c in args.connections.split(",")]
    if not shutil.which("wrk"):
        sys.exit("serve.py needs wrk (apt-get install wrk)")
    work = tempfile.mkdtemp()
    try:
        model, body = train(work)
        print(f"single-row TreeSHAP, 300 trees of depth 6, {os.cpu_count()} cores, "
              f"wrk -t2 -d{args.seconds}s")
        runs = [("glassbox serve (audited, cache off)",
                 glassbox_run(args.glassbox, model, body, work, False, connections, args.seconds)),
                ("glassbox serve (audited, cache warm)",
                 glassbox_run(args.glassbox, model, body, work, True, connections, args.seconds)),
                ("FastAPI + shap.TreeExplainer (not audited)",
                 fastapi_run(model, body, work, connections, args.seconds))]
        print(f"{'service':45} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
        for name, results in runs:
            for c, (rate, p50, p99, failed) in zip(connections, results):
                print(f"{name:45} {c:5d} {rate:9.0f} {p50:8.2f} {p99:8.2f} {failed:7d}")
        for i, c in enumerate(connections):
            print(f"ratio at {c} connections: glassbox (cache off) / FastAPI = "
                  f"{runs[0][1][i][0] / runs[2][1][i][0]:.1f}x requests/s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
