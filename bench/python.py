"""The Python package's speed (run by bench/run.sh with GBX_BENCH_SUITES=python, in a venv
with the package installed):
  - call overhead: one row of a 100-tree depth-6 model explained from Python, against the same
    row through the C library alone (bench/single_row.c, one thread): medians and the gap;
  - 10,000 rows with the TreeExplainer-style API against shap.TreeExplainer(...).shap_values
    (one thread each: shap's is single-threaded) and against XGBoost's pred_contribs (both at
    every core), side by side on the same model and rows, with the ratios.

usage: python.py [--rows 10000] [--repeats 5]"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np
import pandas as pd
import xgboost as xgb

import glassbox

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def median_seconds(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def train(directory, X, y, trees):
    booster = xgb.train({"max_depth": 6, "eta": 0.1, "objective": "binary:logistic",
                         "nthread": os.cpu_count()}, xgb.DMatrix(X, label=y), trees)
    path = os.path.join(directory, "model-%d.json" % trees)
    booster.save_model(path)
    return booster, path


def c_single_row(directory, model_path, rows_path, repeats):
    harness = os.path.join(directory, "single_row")
    subprocess.run(["gcc", "-O2", "-I", os.path.join(ROOT, "include"),
                    os.path.join(ROOT, "bench", "single_row.c"), "-L", os.path.join(ROOT, "build"),
                    "-lglassbox", "-Wl,-rpath," + os.path.join(ROOT, "build"), "-o", harness],
                   check=True)
    return float(subprocess.run([harness, model_path, rows_path, str(repeats)], check=True,
                                capture_output=True, text=True).stdout) / 1e6


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import shap

    frame = pd.read_csv(os.path.join(ROOT, "examples", "data", "german_credit.csv"))
    y = (frame.pop("Class") == "Good").astype(int).to_numpy()
    rng = np.random.default_rng(0)
    base = frame.to_numpy(dtype=np.float64)
    # rows enough for the batch: the data's rows, jittered in the continuous columns
    X = base[rng.integers(0, len(base), args.rows)].copy()
    X[:, :2] *= rng.uniform(0.8, 1.2, size=(args.rows, 2))
    cores = os.cpu_count()
    with tempfile.TemporaryDirectory(prefix="glassbox-bench-") as directory:
        booster, path = train(directory, base, y, 100)
        rows_path = os.path.join(directory, "rows.csv")
        pd.DataFrame(X[:1000], columns=frame.columns).to_csv(rows_path, index=False)
        model = glassbox.load_model(path)

        # call overhead
        one = glassbox.Explainer(model, threads=1)
        singles = [X[i:i + 1] for i in range(1000)]
        per_call = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            for row in singles:
                one.explain(row)
            per_call.append((time.perf_counter() - start) / len(singles))
        python_row = statistics.median(per_call)
        c_row = c_single_row(directory, path, rows_path, 5000)
        print("one row, 100 trees: Python %.1f us, C %.1f us, overhead %.1f us (target < 20)"
              % (python_row * 1e6, c_row * 1e6, (python_row - c_row) * 1e6))

        # 10,000 rows
        tree1 = glassbox.TreeExplainer(model, threads=1)
        ours1 = median_seconds(lambda: tree1.shap_values(X), args.repeats)
        reference = shap.TreeExplainer(booster)
        theirs = median_seconds(lambda: reference.shap_values(X), max(1, args.repeats // 2))
        print("%d rows, 1 thread: glassbox %.3f s, shap.TreeExplainer %.3f s, %.1fx (target >= 10x)"
              % (args.rows, ours1, theirs, theirs / ours1))
        tree_all = glassbox.TreeExplainer(model, threads=cores)
        ours_all = median_seconds(lambda: tree_all.shap_values(X), args.repeats)
        booster.set_param({"nthread": cores})
        matrix = xgb.DMatrix(X)
        contribs = median_seconds(lambda: booster.predict(matrix, pred_contribs=True), args.repeats)
        print("%d rows, %d threads: glassbox %.3f s, xgboost %s pred_contribs %.3f s, %.1fx "
              "(target >= 5x)" % (args.rows, cores, ours_all, xgb.__version__, contribs,
                                  contribs / ours_all))
        values = tree_all.shap_values(X[:200])
        assert np.allclose(values, booster.predict(xgb.DMatrix(X[:200]), pred_contribs=True)[:, :-1],
                           atol=1e-4)


if __name__ == "__main__":
    main()
