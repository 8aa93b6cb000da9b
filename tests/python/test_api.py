"""The Python package against the CLI (bit for bit, on the committed fixtures), against the
reference libraries' objects passed directly, and under bad input and threads."""
import json
import os
import subprocess
import sys
import threading

import numpy as np
import pandas as pd
import pytest

import glassbox

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "conformance", "fixtures")
CREDIT_MODEL = os.path.join(ROOT, "examples", "credit_model.json")
CREDIT_DATA = os.path.join(ROOT, "examples", "data", "german_credit.csv")
CREDIT_FEATURES = os.path.join(ROOT, "examples", "credit_features.json")


def read_csv(path):
    """The CSV with its numbers parsed by Python's float(), correctly rounded as the CLI's
    strtod: the rows are the CLI's to the bit (pandas' own parser may differ in the last)."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)

    def numbers(column):
        try:
            return column.map(lambda text: float(text) if text not in ("", "NA", "NaN") else np.nan)
        except ValueError:
            return column

    return raw.apply(numbers)


def fixture(*parts):
    return os.path.join(FIXTURES, *parts)


def cli_explain(tmp_path, model, data, method, background=None, options=()):
    out = tmp_path / ("cli-%s.json" % method)
    command = [os.environ["GLASSBOX_CLI"], "explain", "--model", model, "--data", data,
               "--method", method, "--output", str(out), "--quiet"]
    if background:
        command += ["--background", background]
    subprocess.run(command + list(options), check=True)
    return glassbox.load_explanation(out)


# (name, model, data, background, method, CLI flags, Python options)
CASES = [
    ("xgb tree", fixture("xgb_credit_binary.json"), fixture("xgb_credit_binary.data.csv"), None,
     "tree", [], {}),
    ("xgb tree multiclass", fixture("xgb_iris_softprob.json"), fixture("xgb_iris_softprob.data.csv"),
     None, "tree", [], {}),
    ("lgb tree", fixture("lgb_credit_binary.txt"), fixture("lgb_credit_binary.data.csv"), None,
     "tree", [], {}),
    ("lgb interventional", fixture("lgb_credit_binary.txt"), fixture("lgb_credit_binary.data.csv"),
     fixture("lgb_credit_binary.background.csv"), "tree-interventional", [], {}),
    ("exact", fixture("blackbox", "xgb_diabetes_exact.json"),
     fixture("blackbox", "xgb_diabetes_exact.data.csv"),
     fixture("blackbox", "xgb_diabetes_exact.background.csv"), "exact", [], {}),
    ("kernel aic", fixture("blackbox", "xgb_diabetes_exact.json"),
     fixture("blackbox", "xgb_diabetes_exact.data.csv"),
     fixture("blackbox", "xgb_diabetes_exact.background.csv"), "kernel",
     ["--l1-reg", "aic", "--seed", "7"], {"l1_reg": "aic", "seed": 7}),
    ("permutation", fixture("blackbox", "xgb_diabetes_sampled.json"),
     fixture("blackbox", "xgb_diabetes_sampled.data.csv"),
     fixture("blackbox", "xgb_diabetes_sampled.background.csv"), "permutation",
     ["--max-evals", "600", "--seed", "3"], {"max_evals": 600, "seed": 3}),
    ("lime", fixture("blackbox", "xgb_credit_lime.json"), fixture("blackbox", "xgb_credit_lime.data.csv"),
     fixture("blackbox", "xgb_credit_lime.background.csv"), "lime",
     ["--max-evals", "2000", "--seed", "11", "--num-features", "5"],
     {"max_evals": 2000, "seed": 11, "num_features": 5}),
    ("linear", fixture("blackbox", "sklearn_credit_logistic.json"),
     fixture("blackbox", "sklearn_credit_logistic.data.csv"),
     fixture("blackbox", "sklearn_credit_logistic.background.csv"), "linear", [], {}),
    ("keras integrated gradients", fixture("onnx", "keras_credit.keras"),
     fixture("onnx", "keras_credit_keras.data.csv"), None, "integrated-gradients",
     ["--steps", "32"], {"steps": 32}),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_values_equal_the_cli_bit_for_bit(tmp_path, case):
    name, model, data, background, method, flags, options = case
    expected = cli_explain(tmp_path, model, data, method, background, flags)
    rows = read_csv(data)
    explainer = glassbox.Explainer(model, None if background is None else read_csv(background),
                                   method, **options)
    got = explainer.explain(rows)
    assert got.raw_values.shape == expected.raw_values.shape
    assert np.array_equal(got.raw_values, expected.raw_values), name
    assert np.array_equal(np.asarray(got.base_values), np.asarray(expected.base_values))
    assert np.array_equal(np.asarray(got.predictions), np.asarray(expected.predictions))
    assert got.feature_names == expected.feature_names
    assert got.provenance["model_sha256"] == expected.provenance["model_sha256"]
    assert got.provenance["parameters"] == expected.provenance["parameters"]


def credit():
    model = glassbox.load_model(CREDIT_MODEL)
    frame = read_csv(CREDIT_DATA)
    return model, frame


def test_inputs_in_every_layout_give_the_same_values():
    model, frame = credit()
    explainer = glassbox.Explainer(model)
    reference = explainer.explain(frame.head(50)).values
    X = frame[model.feature_names].to_numpy(dtype=np.float64)[:50]
    shuffled = frame.head(50)[list(reversed(frame.columns))]
    for layout in (X, np.asfortranarray(X), X.astype(np.float32).astype(np.float64), shuffled):
        assert np.array_equal(explainer.explain(layout).values, reference)
    # float32 rows are explained as float32 values (XGBoost's own split rule is on float32)
    as_float32 = explainer.explain(X.astype(np.float32)).values
    assert np.array_equal(as_float32, explainer.explain(X.astype(np.float32).astype(np.float64)).values)
    missing = X.copy()
    missing[0, 0] = np.nan
    assert np.isfinite(explainer.explain(missing).values).all()


def test_results_view_the_explanations_memory():
    model, frame = credit()
    explanation = glassbox.Explainer(model).explain(frame.head(5))
    values = explanation.values
    assert not values.flags.writeable
    assert np.shares_memory(values, explanation.raw_values)
    with pytest.raises(ValueError):
        values[0, 0] = 1.0
    del explanation  # the arrays keep the explanation alive
    assert np.isfinite(values).all()


def test_errors_become_python_exceptions():
    model, frame = credit()
    with pytest.raises(glassbox.GlassboxError, match="nothing-here.json"):
        glassbox.load_model("/nothing-here.json")
    with pytest.raises(glassbox.InputError):
        glassbox.load_model(b'{"learner": {')
    with pytest.raises(ValueError, match="max-evals"):
        glassbox.Explainer(model, method="kernel", background=frame.head(5), max_evals=0)
    with pytest.raises(ValueError, match="unknown explainer option"):
        glassbox.Explainer(model, speed="fast")
    with pytest.raises(glassbox.InputError, match="Duration"):
        glassbox.Explainer(model).explain(frame.drop(columns=["Duration"]))
    with pytest.raises(glassbox.InputError):
        glassbox.Explainer(model).explain(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="audience"):
        glassbox.Explainer(model).explain(frame.head(1)).reasons(audience="everyone")


def test_threads_explain_at_once():
    model, frame = credit()
    explainer = glassbox.Explainer(model, threads=1)
    rows = [frame.iloc[i * 40:(i + 1) * 40] for i in range(8)]
    expected = [explainer.explain(r).values for r in rows]
    results = [None] * 8

    def work(i):
        for _ in range(5):
            results[i] = explainer.explain(rows[i]).values

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected):
        assert np.array_equal(got, want)


def test_a_python_callable_is_a_black_box():
    weights = np.array([2.0, -1.0, 0.25])
    background = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 4.0]])
    row = np.array([[3.0, 1.0, -2.0]])
    values = glassbox.KernelExplainer(lambda X: X @ weights + 0.5, background).shap_values(row)
    assert np.allclose(values, weights * (row - background.mean(axis=0)), atol=1e-10)
    exact = glassbox.Explainer(lambda X: X @ weights, background, "exact").explain(row)
    assert np.allclose(exact.values, weights * (row - background.mean(axis=0)), atol=1e-12)

    def broken(X):
        raise RuntimeError("the scoring service is down")

    with pytest.raises(glassbox.GlassboxError, match="scoring service is down"):
        glassbox.Explainer(broken, background, "exact")
    flaky = glassbox.load_model(broken, features=3, outputs=1)
    with pytest.raises(glassbox.GlassboxError, match="RuntimeError: the scoring service is down"):
        glassbox.Explainer(flaky, background, "exact").explain(row)


def test_shap_style_tree_explainer():
    model, frame = credit()
    tree = glassbox.TreeExplainer(CREDIT_MODEL)
    values = tree.shap_values(frame.head(20))
    assert values.shape == (20, 61)
    margins = model.predict(frame.head(20), raw=True)
    assert np.allclose(values.sum(axis=1) + tree.expected_value, margins, atol=1e-9)
    interactions = tree.shap_interaction_values(frame.head(3))
    assert interactions.shape == (3, 61, 61)
    assert np.allclose(interactions.sum(axis=2), values[:3], atol=1e-9)


def test_files_plots_reasons_and_report(tmp_path):
    model, frame = credit()
    explanation = glassbox.Explainer(model).explain(frame.head(10))
    explanation.save(tmp_path / "e.json")
    again = glassbox.load_explanation(tmp_path / "e.json")
    assert np.array_equal(again.values, explanation.values)
    svg = explanation.plot.waterfall(0).svg
    assert svg.startswith("<?xml") or svg.startswith("<svg")
    assert explanation.plot.bar()._repr_svg_().count("<svg") >= 1
    explanation.plot.beeswarm().save(tmp_path / "b.png")
    assert (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"
    reasons = explanation.reasons(audience="applicant", features=CREDIT_FEATURES, top=3)
    assert len(reasons) == 10 and all(len(r["reasons"]) <= 3 for r in reasons)
    metadata = json.load(open(CREDIT_FEATURES))
    sensitive = [n for n, f in metadata["features"].items() if f.get("sensitive")]
    for row in reasons:
        assert row["sensitive"] == []
        assert not any(r["feature"] in sensitive for r in row["reasons"])
    explanation.report(tmp_path / "r.html", features=CREDIT_FEATURES, model=model)
    assert "<html" in (tmp_path / "r.html").read_text()


def test_lime_tabular_explainer_signature():
    model, frame = credit()
    X = frame[model.feature_names].to_numpy(dtype=np.float64)

    def probabilities(rows):
        p = model.predict(rows)
        return np.column_stack([1 - p, p])

    lime = glassbox.LimeTabularExplainer(X[:200], feature_names=model.feature_names, random_state=5)
    explained = lime.explain_instance(X[0], probabilities, num_features=5, num_samples=2000)
    listed = explained.as_list(label=1)
    assert 0 < len(listed) <= 5
    assert all(name in model.feature_names for name, _ in listed)
    again = lime.explain_instance(X[0], probabilities, num_features=5, num_samples=2000)
    assert again.as_list(label=1) == listed  # seeded: the same every time


def test_live_xgboost_objects():
    xgboost = pytest.importorskip("xgboost")
    pytest.importorskip("sklearn")  # XGBClassifier is XGBoost's scikit-learn interface
    model, frame = credit()
    X = frame[model.feature_names].to_numpy(dtype=np.float64)[:300]
    y = (frame["Class"].to_numpy()[:300] == "Good").astype(int)
    classifier = xgboost.XGBClassifier(n_estimators=20, max_depth=3).fit(X, y)
    values = glassbox.TreeExplainer(classifier).shap_values(X[:50])
    contribs = classifier.get_booster().predict(xgboost.DMatrix(X[:50]), pred_contribs=True)
    assert np.allclose(values, contribs[:, :-1], atol=1e-5)


def test_live_lightgbm_objects():
    lightgbm = pytest.importorskip("lightgbm")
    pytest.importorskip("sklearn")  # LGBMRegressor is LightGBM's scikit-learn interface
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5))
    y = X[:, 0] + 0.5 * X[:, 1] ** 2 + rng.normal(scale=0.1, size=400)
    regressor = lightgbm.LGBMRegressor(n_estimators=30, verbose=-1).fit(X, y)
    values = glassbox.TreeExplainer(regressor).shap_values(X[:40])
    contribs = regressor.predict(X[:40], pred_contrib=True)
    assert np.allclose(values, contribs[:, :-1], atol=1e-9)


def test_live_keras_models():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(2)
    X = rng.normal(size=(64, 6)).astype(np.float32)
    network = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="tanh"),
                                keras.layers.Dense(1)])
    model = glassbox.load_model(network)
    assert model.type == "keras"
    assert np.allclose(model.predict(X), network.predict(X, verbose=0)[:, 0], atol=1e-5)
    explanation = glassbox.Explainer(network, np.zeros((1, 6)), "integrated-gradients",
                                     steps=64).explain(X[:4])
    assert np.allclose(explanation.values.sum(axis=1) + explanation.base_values,
                       network.predict(X[:4], verbose=0)[:, 0], atol=1e-4)


def test_live_sklearn_tree_ensembles():
    pytest.importorskip("skl2onnx")
    ensemble = pytest.importorskip("sklearn.ensemble")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 4))
    y = X[:, 0] - 2 * X[:, 1] * (X[:, 2] > 0)
    forest = ensemble.RandomForestRegressor(n_estimators=10, max_depth=4, random_state=0).fit(X, y)
    explainer = glassbox.Explainer(forest, X[:50], "tree-interventional")
    explanation = explainer.explain(X[:20])
    # ONNX keeps thresholds in float32: equal to scikit-learn's where no row sits on one
    assert np.allclose(explanation.predictions, forest.predict(X[:20]), atol=1e-5)
    assert np.allclose(explanation.values.sum(axis=1) + explanation.base_values,
                       explanation.predictions, atol=1e-9)


def test_to_shap_feeds_shaps_plots():
    shap = pytest.importorskip("shap")
    import matplotlib
    matplotlib.use("Agg")
    model, frame = credit()
    explanation = glassbox.Explainer(model).explain(frame.head(5)).to_shap()
    assert isinstance(explanation, shap.Explanation)
    shap.plots.waterfall(explanation[0], show=False)


def test_the_example_runs():
    subprocess.run([sys.executable, os.path.join(ROOT, "examples", "python_notebook.py")],
                   check=True, cwd=ROOT)
