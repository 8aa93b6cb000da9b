"""Generates the conformance fixtures: models trained by the real libraries and their own
reference outputs (predict, pred_contribs, pred_interactions) and shap's TreeExplainer values.

Run through generate.sh, which makes the virtualenvs. Stages:
  main      models of the newest XGBoost and LightGBM, shap references, the demo model
  old       a model saved by XGBoost 1.7 (run in a virtualenv with xgboost==1.7.6)
  manifest  joins the per-fixture *.meta.json files into manifest.json

Every reference file is a CSV with a header row, numbers written with 17 significant digits.
Layouts (n rows explained, K outputs, M features):
  predict, margin           n rows x K columns
  contribs                  n*K rows (row-major: row, then output) x M+1 columns, bias last
  interactions              n*K*(M+1) rows x M+1 columns: the (M+1)x(M+1) matrix per row/output
  shap_*                    n*K rows x M columns; expected values in the meta file
"""
import argparse
import json
import os
import sys

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CREDIT = os.path.join(REPO, "examples", "data", "german_credit.csv")
# The first 800 applicants train the credit models; the last 200 are held out for the demo.
CREDIT_TRAIN_ROWS = 800


def write_csv(path, header, rows):
    with open(path, "w") as f:
        f.write(",".join(quote(h) for h in header) + "\n")
        for row in np.asarray(rows, dtype=np.float64).reshape(len(rows), -1):
            f.write(",".join("" if np.isnan(v) else repr(float(v)) for v in row) + "\n")


def quote(text):
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text


def load_credit():
    import pandas as pd
    frame = pd.read_csv(CREDIT)
    y = (frame.pop("Class") == "Bad").astype(int).to_numpy()  # 1 = bad credit (adverse)
    return frame, y


class Fixture:
    def __init__(self, directory, name, model_file, features, outputs):
        self.directory, self.name = directory, name
        self.meta = {"name": name, "model": model_file, "features": len(features),
                     "outputs": outputs, "references": {}}
        self.feature_names = list(features)

    def path(self, suffix):
        return os.path.join(self.directory, f"{self.name}.{suffix}")

    def data(self, X, key="data"):
        file = f"{self.name}.{key}.csv"
        write_csv(os.path.join(self.directory, file), self.feature_names, X)
        self.meta[key] = file

    def reference(self, key, header, values, **extra):
        file = f"{self.name}.{key}.csv"
        write_csv(os.path.join(self.directory, file), header, values)
        self.meta["references"][key] = dict(file=file, **extra)

    def expect_error(self, text):
        self.meta["expect_error"] = text

    def save(self):
        with open(self.path("meta.json"), "w") as f:
            json.dump(self.meta, f, indent=1)


def output_names(k):
    return ["output"] if k == 1 else [f"class_{i}" for i in range(k)]


# ---- XGBoost ------------------------------------------------------------------------------

def xgb_references(fx, booster, X, outputs, interactions_rows=0, ubj=False):
    import xgboost as xgb
    names = fx.feature_names
    types = booster.feature_types
    dm = xgb.DMatrix(X, feature_names=names, feature_types=types,
                     enable_categorical=bool(types and "c" in types))
    objective = json.loads(booster.save_config())["learner"]["objective"]["name"]
    fx.reference("predict", ["class"] if objective == "multi:softmax" else output_names(outputs),
                 np.asarray(booster.predict(dm)).reshape(len(X), -1))
    fx.reference("margin", output_names(outputs),
                 np.asarray(booster.predict(dm, output_margin=True)).reshape(len(X), -1))
    contribs = np.asarray(booster.predict(dm, pred_contribs=True)).reshape(len(X) * outputs, -1)
    fx.reference("contribs", names + ["bias"], contribs)
    if interactions_rows:
        small = xgb.DMatrix(X[:interactions_rows], feature_names=names, feature_types=types,
                            enable_categorical=bool(types and "c" in types))
        inter = np.asarray(booster.predict(small, pred_interactions=True))
        fx.reference("interactions", names + ["bias"], inter.reshape(-1, len(names) + 1),
                     rows=interactions_rows)


def shap_references(fx, model, X, background, outputs, probability=False, interventional=True):
    import shap
    explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    fx.reference("shap_tree", fx.feature_names, shap_layout(explainer.shap_values(X), len(X), outputs),
                 expected=np.atleast_1d(explainer.expected_value).tolist())
    if not interventional:
        return
    fx.data(background, "background")
    explainer = shap.TreeExplainer(model, data=background, feature_perturbation="interventional",
                                   model_output="raw")
    fx.reference("shap_interventional", fx.feature_names,
                 shap_layout(explainer.shap_values(X, check_additivity=False), len(X), outputs),
                 expected=np.atleast_1d(explainer.expected_value).tolist())
    if probability:
        explainer = shap.TreeExplainer(model, data=background, feature_perturbation="interventional",
                                       model_output="probability")
        fx.reference("shap_probability", fx.feature_names,
                     shap_layout(explainer.shap_values(X, check_additivity=False), len(X), outputs),
                     expected=np.atleast_1d(explainer.expected_value).tolist())


def shap_layout(values, n, outputs):
    """shap returns (n, M) or (n, M, K) or a list of K (n, M); ours is (n*K, M)."""
    if isinstance(values, list):
        values = np.stack(values, axis=-1)
    values = np.asarray(values)
    if values.ndim == 2:
        values = values[:, :, None]
    return np.transpose(values, (0, 2, 1)).reshape(n * outputs, -1)


def save_xgb(booster, fx, ubj=False):
    booster.save_model(fx.path("ubj" if ubj else "json"))


def train_xgb(params, X, y, rounds, names=None, types=None, groups=None):
    import xgboost as xgb
    dm = xgb.DMatrix(X, label=y, feature_names=names, feature_types=types,
                     enable_categorical=bool(types and "c" in types))
    if groups is not None:
        dm.set_group(groups)
    return xgb.train(dict(params, seed=0, nthread=1), dm, rounds)


def stage_main(directory):
    import xgboost as xgb
    import lightgbm as lgb
    from sklearn.datasets import load_diabetes, load_iris
    rng = np.random.default_rng(20261123)

    frame, y = load_credit()
    names = list(frame.columns)
    X = frame.to_numpy(dtype=np.float64)
    X_train, y_train, X_held = X[:CREDIT_TRAIN_ROWS], y[:CREDIT_TRAIN_ROWS], X[CREDIT_TRAIN_ROWS:]
    explain_rows, background = X_held[:40], X_train[rng.choice(len(X_train), 100, replace=False)]

    # Credit model: the demo's model and the main path-dependent/interventional fixture.
    credit = train_xgb({"objective": "binary:logistic", "max_depth": 4, "eta": 0.1,
                        "subsample": 0.8}, X_train, y_train, 60, names)
    credit.save_model(os.path.join(REPO, "examples", "credit_model.json"))
    for ubj in (False, True):
        fx = Fixture(directory, "xgb_credit_binary" + ("_ubj" if ubj else ""),
                     "xgb_credit_binary" + ("_ubj.ubj" if ubj else ".json"), names, 1)
        save_xgb(credit, fx, ubj)
        fx.data(explain_rows)
        xgb_references(fx, credit, explain_rows, 1, interactions_rows=0 if ubj else 4)
        if not ubj:
            shap_references(fx, credit, explain_rows, background, 1, probability=True)
        fx.save()

    # DART on the same data.
    dart = train_xgb({"booster": "dart", "objective": "binary:logistic", "max_depth": 3,
                      "rate_drop": 0.2, "eta": 0.2}, X_train, y_train, 25, names)
    fx = Fixture(directory, "xgb_dart", "xgb_dart.json", names, 1)
    save_xgb(dart, fx)
    fx.data(explain_rows[:20])
    xgb_references(fx, dart, explain_rows[:20], 1)
    fx.save()

    # Multiclass on iris (names with spaces and parentheses).
    iris = load_iris()
    iris_names = list(iris.feature_names)
    for objective in ("multi:softprob", "multi:softmax"):
        model = train_xgb({"objective": objective, "num_class": 3, "max_depth": 3, "eta": 0.3},
                          iris.data, iris.target, 15, iris_names)
        name = "xgb_iris_" + objective.split(":")[1]
        fx = Fixture(directory, name, name + ".json", iris_names, 3)
        save_xgb(model, fx)
        rows = iris.data[::5]
        fx.data(rows)
        xgb_references(fx, model, rows, 3, interactions_rows=3 if objective == "multi:softprob" else 0)
        if objective == "multi:softprob":
            shap_references(fx, model, rows, iris.data[::3], 3)
        fx.save()

    # Regression on diabetes, deeper trees.
    diabetes = load_diabetes()
    model = train_xgb({"objective": "reg:squarederror", "max_depth": 6, "eta": 0.1},
                      diabetes.data, diabetes.target, 40, list(diabetes.feature_names))
    fx = Fixture(directory, "xgb_diabetes", "xgb_diabetes.json", diabetes.feature_names, 1)
    save_xgb(model, fx)
    fx.data(diabetes.data[:30])
    xgb_references(fx, model, diabetes.data[:30], 1, interactions_rows=3)
    shap_references(fx, model, diabetes.data[:30], diabetes.data[100:160], 1)
    fx.save()

    # Synthetic data with missing values and a categorical feature.
    n = 600
    syn = rng.normal(size=(n, 5))
    syn[:, 2] = rng.integers(0, 8, n)
    y_syn = ((syn[:, 0] + (syn[:, 2] % 3 == 1) - 0.5 * syn[:, 3] + rng.normal(0, 0.5, n)) > 0.3).astype(int)
    syn[rng.random((n, 5)) < 0.15] = np.nan
    syn_names = ["income", "debt_ratio", "region", "tenure", "utilisation"]
    syn_types = ["q", "q", "c", "q", "q"]
    model = train_xgb({"objective": "binary:logistic", "max_depth": 4, "eta": 0.3,
                       "max_cat_to_onehot": 1, "tree_method": "hist"},
                      syn, y_syn, 20, syn_names, syn_types)
    fx = Fixture(directory, "xgb_missing_categorical", "xgb_missing_categorical.json", syn_names, 1)
    save_xgb(model, fx)
    rows = np.vstack([syn[:25], [[np.nan, 0.1, 9, np.nan, 1.0], [0.5, np.nan, -1, 0.0, np.nan]]])
    fx.data(rows)
    xgb_references(fx, model, rows, 1, interactions_rows=3)
    fx.save()

    # No feature names: columns are matched by position. Plus the other objectives.
    small = rng.normal(size=(400, 6))
    signal = small[:, 0] - small[:, 1] * small[:, 2] + 0.5 * small[:, 3]
    objectives = {
        "binary:logitraw": (signal > 0).astype(int),
        "reg:logistic": 1 / (1 + np.exp(-signal)),
        "reg:pseudohubererror": signal,
        "count:poisson": rng.poisson(np.exp(0.3 * signal)),
        "reg:gamma": np.exp(0.3 * signal) + 0.1,
        "reg:tweedie": rng.poisson(np.exp(0.3 * signal)) * 1.5,
        "rank:pairwise": rng.integers(0, 4, 400),
    }
    for objective, target in objectives.items():
        name = "xgb_" + objective.replace(":", "_")
        groups = [50] * 8 if objective.startswith("rank") else None
        model = train_xgb({"objective": objective, "max_depth": 3, "eta": 0.3}, small, target, 12,
                          groups=groups)
        fx = Fixture(directory, name, name + ".json", [f"f{i}" for i in range(6)], 1)
        save_xgb(model, fx)
        fx.data(small[:15])
        xgb_references(fx, model, small[:15], 1)
        fx.save()

    # Two targets in one model: glassbox explains one target per model and must say so.
    model = train_xgb({"objective": "reg:squarederror", "max_depth": 2, "tree_method": "hist"},
                      small, np.column_stack([signal, -signal]), 3)
    fx = Fixture(directory, "xgb_two_targets", "xgb_two_targets.json", [f"f{i}" for i in range(6)], 2)
    save_xgb(model, fx)
    fx.expect_error("targets are not supported")
    fx.save()

    # ---- LightGBM ----
    def train_lgb(params, X, y, rounds, names=None, categorical="auto"):
        data = lgb.Dataset(X, label=y, feature_name=names or "auto", categorical_feature=categorical,
                           free_raw_data=False)
        return lgb.train(dict(params, seed=0, verbose=-1, num_threads=1, deterministic=True), data,
                         rounds)

    def lgb_references(fx, booster, X, outputs):
        fx.reference("predict", output_names(outputs), np.asarray(booster.predict(X)).reshape(len(X), -1))
        fx.reference("margin", output_names(outputs),
                     np.asarray(booster.predict(X, raw_score=True)).reshape(len(X), -1))
        contrib = np.asarray(booster.predict(X, pred_contrib=True)).reshape(len(X) * outputs, -1)
        fx.reference("contribs", fx.feature_names + ["bias"], contrib)

    lgb_names = [n.replace(" ", "_") for n in names]
    model = train_lgb({"objective": "binary", "num_leaves": 15, "learning_rate": 0.1,
                       "min_data_in_leaf": 10}, X_train, y_train, 40, lgb_names)
    fx = Fixture(directory, "lgb_credit_binary", "lgb_credit_binary.txt", lgb_names, 1)
    model.save_model(fx.path("txt"))
    fx.data(explain_rows)
    lgb_references(fx, model, explain_rows, 1)
    shap_references(fx, model, explain_rows, background, 1)
    fx.save()

    iris_lgb_names = [n.replace(" ", "_").replace("(", "").replace(")", "") for n in iris_names]
    model = train_lgb({"objective": "multiclass", "num_class": 3, "num_leaves": 7,
                       "min_data_in_leaf": 5}, iris.data, iris.target, 10, iris_lgb_names)
    fx = Fixture(directory, "lgb_iris_multiclass", "lgb_iris_multiclass.txt", iris_lgb_names, 3)
    model.save_model(fx.path("txt"))
    fx.data(iris.data[::5])
    lgb_references(fx, model, iris.data[::5], 3)
    # shap's interventional explainer folds LightGBM's classes into one output; no reference.
    shap_references(fx, model, iris.data[::5], iris.data[::3], 3, interventional=False)
    fx.save()

    # Missing values: NaN as missing (default), zero as missing, and a feature without
    # missing values in training (missing type None) that meets NaN at prediction time.
    missing = rng.normal(size=(800, 4))
    target = missing[:, 0] + np.where(np.isnan(missing[:, 1]), 1.0, missing[:, 1]) + missing[:, 3]
    missing[rng.random(800) < 0.2, 1] = np.nan
    missing[rng.random(800) < 0.2, 0] = 0.0
    rows = np.vstack([missing[:20], [[np.nan, np.nan, np.nan, np.nan], [0, 0, 0, 0],
                                     [1e-36, -1e-36, 0.5, np.nan]]])
    for variant, extra in (("nan", {}), ("zero", {"zero_as_missing": True})):
        model = train_lgb(dict({"objective": "regression", "num_leaves": 8, "min_data_in_leaf": 5}, **extra),
                          missing, target, 15, ["a", "b", "c", "d"])
        name = "lgb_missing_" + variant
        fx = Fixture(directory, name, name + ".txt", ["a", "b", "c", "d"], 1)
        model.save_model(fx.path("txt"))
        fx.data(rows)
        lgb_references(fx, model, rows, 1)
        fx.save()

    cats = rng.integers(0, 12, 800).astype(float)
    cat_data = np.column_stack([cats, rng.normal(size=800)])
    cat_target = np.isin(cats, [1, 4, 7, 10]).astype(float) * 2 + cat_data[:, 1]
    model = train_lgb({"objective": "regression", "num_leaves": 8, "min_data_in_leaf": 5,
                       "cat_smooth": 1, "min_data_per_group": 5}, cat_data, cat_target, 10,
                      ["segment", "score"], categorical=[0])
    fx = Fixture(directory, "lgb_categorical", "lgb_categorical.txt", ["segment", "score"], 1)
    model.save_model(fx.path("txt"))
    rows = np.vstack([cat_data[:20], [[np.nan, 0.0], [-3, 0.0], [40, 1.0], [2.7, 0.5]]])
    fx.data(rows)
    lgb_references(fx, model, rows, 1)
    fx.save()

    model = train_lgb({"objective": "binary", "boosting": "rf", "num_leaves": 12, "bagging_freq": 1,
                       "bagging_fraction": 0.7, "feature_fraction": 0.8}, X_train, y_train, 20, lgb_names)
    fx = Fixture(directory, "lgb_random_forest", "lgb_random_forest.txt", lgb_names, 1)
    model.save_model(fx.path("txt"))
    fx.data(explain_rows[:20])
    lgb_references(fx, model, explain_rows[:20], 1)
    # LightGBM's predict() averages the trees of a random forest, but raw_score and pred_contrib
    # return the sums; glassbox's margin is the average, consistent with predict().
    fx.meta["library_raw_scale"] = 1.0 / model.num_trees()
    fx.save()

    counts = rng.poisson(np.exp(0.3 * signal))
    model = train_lgb({"objective": "poisson", "num_leaves": 6, "min_data_in_leaf": 5}, small, counts, 15)
    fx = Fixture(directory, "lgb_poisson", "lgb_poisson.txt", [f"Column_{i}" for i in range(6)], 1)
    model.save_model(fx.path("txt"))
    fx.data(small[:15])
    lgb_references(fx, model, small[:15], 1)
    fx.save()

    model = train_lgb({"objective": "regression", "linear_tree": True, "num_leaves": 4}, small, signal, 3)
    fx = Fixture(directory, "lgb_linear_tree", "lgb_linear_tree.txt", [f"Column_{i}" for i in range(6)], 1)
    model.save_model(fx.path("txt"))
    fx.expect_error("linear trees")
    fx.save()


def stage_old(directory):
    import xgboost as xgb
    assert xgb.__version__.startswith("1."), xgb.__version__
    frame, y = load_credit()
    names = list(frame.columns)
    X = frame.to_numpy(dtype=np.float64)
    model = train_xgb({"objective": "binary:logistic", "max_depth": 3, "eta": 0.2},
                      X[:CREDIT_TRAIN_ROWS], y[:CREDIT_TRAIN_ROWS], 20, names)
    fx = Fixture(directory, "xgb_old_1x", "xgb_old_1x.json", names, 1)
    model.save_model(fx.path("json"))
    rows = X[CREDIT_TRAIN_ROWS:CREDIT_TRAIN_ROWS + 20]
    fx.data(rows)
    xgb_references(fx, model, rows, 1, interactions_rows=2)
    fx.meta["library_version"] = xgb.__version__
    fx.save()


def stage_manifest(directory):
    fixtures = []
    for file in sorted(os.listdir(directory)):
        if file.endswith(".meta.json"):
            with open(os.path.join(directory, file)) as f:
                fixtures.append(json.load(f))
    versions = {}
    try:
        import lightgbm, shap, xgboost
        versions = {"xgboost": xgboost.__version__, "lightgbm": lightgbm.__version__,
                    "shap": shap.__version__}
    except ImportError:
        pass
    with open(os.path.join(directory, "manifest.json"), "w") as f:
        json.dump({"generated_by": "tests/conformance/generate.py", "versions": versions,
                   "fixtures": fixtures}, f, indent=1)
    for file in os.listdir(directory):
        if file.endswith(".meta.json"):
            os.remove(os.path.join(directory, file))


def stage_blackbox(directory):
    """Fixtures for the model-agnostic methods, in fixtures/blackbox with their own manifest:
    shap's ExactExplainer on an XGBoost model seen only through its margin, and
    shap's LinearExplainer on a scikit-learn logistic regression, whose coefficients are
    written in glassbox_linear form."""
    import shap
    import sklearn.datasets
    import xgboost as xgb
    from sklearn.linear_model import LogisticRegression
    directory = os.path.join(directory, "blackbox")
    os.makedirs(directory, exist_ok=True)
    fixtures = []
    data = sklearn.datasets.load_diabetes()
    X, y, names = data.data, data.target, list(data.feature_names)
    booster = xgb.train({"objective": "reg:squarederror", "max_depth": 3, "eta": 0.3, "seed": 0},
                        xgb.DMatrix(X, y, feature_names=names), 30)
    fx = Fixture(directory, "xgb_diabetes_exact", "xgb_diabetes_exact.json", names, 1)
    booster.save_model(fx.path("json"))
    rows, background = X[:10], X[100:120]

    def margin(batch):
        return booster.predict(xgb.DMatrix(batch, feature_names=names), output_margin=True)
    masker = shap.maskers.Independent(background, max_samples=len(background))
    exact = shap.explainers.ExactExplainer(margin, masker)(rows)
    fx.data(rows)
    fx.data(background, "background")
    fx.reference("shap_exact", names, exact.values, expected=[float(exact.base_values[0])])
    # KernelExplainer's feature selection with every coalition enumerated (its default budget
    # covers all 1022), so the coalitions, and hence the selection, are deterministic.
    kernel = shap.KernelExplainer(margin, background)
    for l1 in ("num_features(4)", "aic", "bic"):
        key = "shap_kernel_l1_" + l1.replace("num_features(", "num").replace(")", "")
        fx.reference(key, names, kernel.shap_values(rows, l1_reg=l1, silent=True), l1_reg=l1)
    fixtures.append(fx.meta)
    frame, target = load_credit()
    columns = ["Duration", "Amount", "InstallmentRatePercentage", "Age", "NumberExistingCredits"]
    Xc = frame[columns].to_numpy(dtype=np.float64)
    model = LogisticRegression(max_iter=1000).fit(Xc[:CREDIT_TRAIN_ROWS], target[:CREDIT_TRAIN_ROWS])
    fx = Fixture(directory, "sklearn_credit_logistic", "sklearn_credit_logistic.json", columns, 1)
    with open(fx.path("json"), "w") as out:
        json.dump({"glassbox_linear": 1, "feature_names": columns,
                   "coefficients": model.coef_[0].tolist(),
                   "intercepts": float(model.intercept_[0]), "link": "logit"}, out, indent=1)
    rows, background = Xc[CREDIT_TRAIN_ROWS:CREDIT_TRAIN_ROWS + 20], Xc[:100]
    linear = shap.LinearExplainer(model, shap.maskers.Independent(background, max_samples=100))
    fx.data(rows)
    fx.data(background, "background")
    fx.reference("shap_linear", columns, linear.shap_values(rows),
                 expected=[float(np.atleast_1d(linear.expected_value)[0])])
    fixtures.append(fx.meta)
    fixtures.append(sampling_references(directory))
    fixtures.append(lime_references(directory, frame, target))
    import lime
    import sklearn
    from importlib.metadata import version
    with open(os.path.join(directory, "manifest.json"), "w") as f:
        json.dump({"generated_by": "tests/conformance/generate.py --stage blackbox",
                   "versions": {"shap": shap.__version__, "xgboost": xgb.__version__,
                                "scikit-learn": sklearn.__version__, "lime": version("lime")},
                   "fixtures": fixtures}, f, indent=1)


def sampling_references(directory):
    """shap's PermutationExplainer and KernelExplainer on a budget well below the 2^10
    coalitions of the diabetes model, with fixed seeds: estimates the sampling methods must
    agree with within their standard errors."""
    import shap
    import sklearn.datasets
    import xgboost as xgb
    data = sklearn.datasets.load_diabetes()
    X, y, names = data.data, data.target, list(data.feature_names)
    booster = xgb.train({"objective": "reg:squarederror", "max_depth": 4, "eta": 0.3, "seed": 1},
                        xgb.DMatrix(X, y, feature_names=names), 40)
    fx = Fixture(directory, "xgb_diabetes_sampled", "xgb_diabetes_sampled.json", names, 1)
    booster.save_model(fx.path("json"))
    rows, background = X[200:220], X[300:350]

    def margin(batch):
        return booster.predict(xgb.DMatrix(batch, feature_names=names), output_margin=True)
    masker = shap.maskers.Independent(background, max_samples=len(background))
    exact = shap.explainers.ExactExplainer(margin, masker)(rows)
    np.random.seed(0)
    permutation = shap.explainers.PermutationExplainer(margin, masker, seed=0)(
        rows, max_evals=600)
    kernel = shap.KernelExplainer(margin, background).shap_values(rows, nsamples=300)
    fx.data(rows)
    fx.data(background, "background")
    base = [float(exact.base_values[0])]
    fx.reference("shap_exact", names, exact.values, expected=base)
    fx.reference("shap_permutation", names, permutation.values, expected=base, max_evals=600)
    fx.reference("shap_kernel", names, kernel, expected=base, max_evals=300)
    return fx.meta


def lime_references(directory, frame, target):
    """lime's LimeTabularExplainer (all its defaults: quartile discretizer, 5000 samples,
    auto feature selection of 10 features, Ridge) on an XGBoost credit classifier, explaining
    predict_proba's class 1 for 50 held-out applicants, with the 800 training rows as its
    training data. The weights are written per feature (0 where lime left a feature out);
    intercept, local prediction and score go to a second file."""
    import lime.lime_tabular
    import xgboost as xgb
    names = list(frame.columns)
    X = frame.to_numpy(dtype=np.float64)
    train, rows = X[:CREDIT_TRAIN_ROWS], X[CREDIT_TRAIN_ROWS:CREDIT_TRAIN_ROWS + 50]
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 4, "eta": 0.2, "seed": 2},
                        xgb.DMatrix(train, target[:CREDIT_TRAIN_ROWS], feature_names=names), 60)
    fx = Fixture(directory, "xgb_credit_lime", "xgb_credit_lime.json", names, 1)
    booster.save_model(fx.path("json"))

    def proba(batch):
        p = booster.predict(xgb.DMatrix(batch, feature_names=names))
        return np.column_stack([1 - p, p])
    explainer = lime.lime_tabular.LimeTabularExplainer(train, feature_names=names, random_state=0)
    weights = np.zeros((len(rows), len(names)))
    fit = np.zeros((len(rows), 3))
    for r, row in enumerate(rows):
        explanation = explainer.explain_instance(row, proba, num_features=10)
        for feature, weight in explanation.as_map()[1]:
            weights[r, feature] = weight
        fit[r] = [explanation.intercept[1], explanation.local_pred[0], explanation.score]
    fx.data(rows)
    fx.data(train, "background")
    fx.reference("lime", names, weights)
    fx.reference("lime_fit", ["intercept", "local_prediction", "score"], fit)
    return fx.meta


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stage", choices=["main", "old", "manifest", "blackbox"], required=True)
    parser.add_argument("directory")
    args = parser.parse_args()
    os.makedirs(args.directory, exist_ok=True)
    {"main": stage_main, "old": stage_old, "manifest": stage_manifest,
     "blackbox": stage_blackbox}[args.stage](args.directory)


if __name__ == "__main__":
    sys.exit(main())
