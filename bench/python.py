"""The Python package's speed (run by bench/run.sh with GBX_BENCH_SUITES=python, in a venv
with the package installed):
  - call overhead: one row explained from Python, against the same row through the C library
    alone (bench/single_row.c, one thread), per-call medians and the gap;
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


def train(directory, X, y, trees, depth=6):
    booster = xgb.train({"max_depth": depth, "eta": 0.1, "objective": "binary:logistic",
                         "nthread": os.cpu_count()}, xgb.DMatrix(X, label=y), trees)
    path = os.path.join(directory, "model-%d-%d.json" % (trees, depth))
    booster.save_model(path)
    return booster, path


def python_single_row(model, rows):
    """Median seconds of explaining one row from Python, one thread."""
    explainer = glassbox.Explainer(model, threads=1)
    times = []
    for i in range(len(rows)):
        row = rows[i:i + 1]
        start = time.perf_counter()
        explainer.explain(row)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def c_single_row(directory, model_path, rows_path, repeats):
    harness = os.path.join(directory, "single_row")
    if not os.path.exists(harness):
        subprocess.run(["gcc", "-O2", "-I", os.path.join(ROOT, "include"),
                        os.path.join(ROOT, "bench", "single_row.c"), "-L",
                        os.path.join(ROOT, "build"), "-lglassbox",
                        "-Wl,-rpath," + os.path.join(ROOT, "build"), "-o", harness], check=True)
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

        # Call overhead: what a Python call adds to the C library's own time for one row.
        # Measured on a one-split model of the same 61 features, where the computation is
        # tiny, so that the machine's noise in the computation does not swamp the gap; C and
        # Python alternate, five rounds, medians. The 100-tree model's times are shown too.
        _, tiny_path = train(directory, base, y, 1, depth=1)
        rows_c = {}, {}
        gaps = []
        for _ in range(args.repeats):
            for label, model_path in (("tiny", tiny_path), ("100 trees", path)):
                c_row = c_single_row(directory, model_path, rows_path, 3000)
                python_row = python_single_row(glassbox.load_model(model_path), X[:1000])
                rows_c[0].setdefault(label, []).append(c_row)
                rows_c[1].setdefault(label, []).append(python_row)
                if label == "tiny":
                    gaps.append(python_row - c_row)
        for label in ("tiny", "100 trees"):
            print("one row, %s: Python %.1f us, C %.1f us" % (
                label, statistics.median(rows_c[1][label]) * 1e6,
                statistics.median(rows_c[0][label]) * 1e6))
        print("call overhead: %.1f us (median of %d rounds; target < 20)"
              % (statistics.median(gaps) * 1e6, len(gaps)))

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
