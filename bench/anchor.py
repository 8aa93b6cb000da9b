"""One timed run of a reference library, for bench.py; also trains the benchmark models.

Runs under whichever interpreter has the library: the benchmark virtualenv (newest xgboost and
shap from PyPI) or Debian's python3 (python3-xgboost 1.7). Prints one JSON object on stdout:
the library version, the seconds of each repeat (explanation call only, data already in
memory), the peak resident memory of this process, and the number of rows explained.
"""
import argparse
import json
import resource
import sys
import time

import numpy as np


def train(args):
    import xgboost as xgb
    rng = np.random.default_rng(args.seed)
    n, m = 40000, 30
    # Correlated features with an interacting, non-linear signal, so trees grow dense.
    mixing = rng.normal(size=(m, m)) * 0.3 + np.eye(m)
    X = rng.normal(size=(n, m)) @ mixing
    signal = X[:, 0] * X[:, 1] + np.sin(X[:, 2]) + 0.5 * X[:, 3:8].sum(1) - np.abs(X[:, 8])
    y = (signal + rng.normal(size=n) > 0).astype(int)
    params = {"objective": "binary:logistic", "max_depth": args.depth, "eta": 0.1,
              "min_child_weight": 0, "reg_lambda": 0.1, "tree_method": "hist",
              "nthread": 2, "seed": args.seed}
    booster = xgb.train(params, xgb.DMatrix(X, label=y), args.trees)
    booster.save_model(args.model)
    print(json.dumps({"version": xgb.__version__}))


def explain(args, rows, background):
    if args.engine == "xgboost":
        import xgboost as xgb
        version = xgb.__version__
        booster = xgb.Booster(model_file=args.model)
        booster.set_param({"nthread": args.threads})
        matrix = xgb.DMatrix(rows)
        flag = {"contribs": "pred_contribs", "interactions": "pred_interactions"}[args.task]
        return version, lambda: booster.predict(matrix, **{flag: True})
    import shap
    import xgboost as xgb
    version = shap.__version__
    booster = xgb.Booster(model_file=args.model)
    booster.set_param({"nthread": args.threads})
    if args.task == "interventional":
        # A bare array becomes a masker that keeps only 100 background rows; ask for all of them.
        masker = shap.maskers.Independent(background, max_samples=background.shape[0])
        explainer = shap.TreeExplainer(booster, data=masker,
                                       feature_perturbation="interventional", model_output="raw")
        return version, lambda: explainer.shap_values(rows, check_additivity=False)
    explainer = shap.TreeExplainer(booster, feature_perturbation="tree_path_dependent")
    if args.task == "interactions":
        return version, lambda: explainer.shap_interaction_values(rows)
    return version, lambda: explainer.shap_values(rows, check_additivity=False)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["train", "explain"])
    parser.add_argument("--model", required=True)
    parser.add_argument("--trees", type=int)
    parser.add_argument("--depth", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", choices=["xgboost", "shap"])
    parser.add_argument("--task", choices=["contribs", "interactions", "interventional"])
    parser.add_argument("--rows")
    parser.add_argument("--limit", type=int, help="explain only the first LIMIT rows")
    parser.add_argument("--background")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--values", help="save the values of the last repeat (.npy)")
    args = parser.parse_args()
    if args.command == "train":
        return train(args)
    rows = np.load(args.rows)[: args.limit]
    background = np.load(args.background) if args.background else None
    version, call = explain(args, rows, background)
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        values = call()
        seconds.append(time.perf_counter() - start)
    if args.values:
        np.save(args.values, np.asarray(values, dtype=np.float64))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"version": version, "seconds": seconds, "peak_kb": peak_kb,
                      "rows": int(rows.shape[0])}))


if __name__ == "__main__":
    sys.exit(main())
