"""Models, explainers and explanations over the C library (glassbox._native)."""
import json
import os
import tempfile

import numpy as np

from . import _native
from ._data import as_rows
from ._native import GlassboxError, InputError


# ---- models ---------------------------------------------------------------------------------

class Model:
    """A model glassbox explains: a file, a served model, a live object or a Python callable."""

    def __init__(self, native):
        self._native = native
        self._feature_names = native.feature_names  # asked for on every call: kept

    type = property(lambda self: self._native.type)
    objective = property(lambda self: self._native.objective)
    sha256 = property(lambda self: self._native.sha256, doc="the model file's SHA-256")
    n_features = property(lambda self: self._native.features)
    n_outputs = property(lambda self: self._native.outputs)
    feature_names = property(lambda self: list(self._feature_names))
    output_names = property(lambda self: self._native.output_names)
    link = property(lambda self: self._native.link)
    is_tree = property(lambda self: self._native.is_tree)

    def predict(self, X, raw=False):
        """Predictions, [rows] for one output or [rows][outputs]; raw: margins."""
        rows, names = as_rows(X, self._feature_names)
        out = np.asarray(self._native.predict(rows, raw, names))
        return out[:, 0] if out.shape[1] == 1 else out

    def __repr__(self):
        return "<glassbox.Model %s, %d features, %d outputs, sha256 %s>" % (
            self.type, self.n_features, self.n_outputs, self.sha256[:12])


def _module_of(obj):
    return type(obj).__module__.split(".")[0]


def _xgboost_bytes(obj):
    booster = obj.get_booster() if hasattr(obj, "get_booster") else obj
    return bytes(booster.save_raw(raw_format="json")), "xgboost.Booster"


def _lightgbm_bytes(obj):
    booster = obj.booster_ if hasattr(obj, "booster_") else obj
    return booster.model_to_string().encode(), "lightgbm.Booster"


def _keras_model(obj, timeout):
    with tempfile.TemporaryDirectory(prefix="glassbox-") as directory:
        path = os.path.join(directory, "model.keras")
        obj.save(path)
        return _native.load_model(path, timeout)


def _sklearn_bytes(obj):
    try:
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType
    except ImportError as missing:
        raise InputError("a scikit-learn model is loaded through ONNX: pip install skl2onnx "
                         "(or save it to ONNX yourself)") from missing
    width = int(getattr(obj, "n_features_in_"))
    proto = convert_sklearn(obj, initial_types=[("input", FloatTensorType([None, width]))])
    return proto.SerializeToString(), "sklearn." + type(obj).__name__


def _callable_model(fn, features, outputs, feature_names, output_names, name, probe):
    if features is None:
        if feature_names is None:
            raise InputError("a callable model needs features= (its input width) or "
                             "feature_names=")
        features = len(feature_names)

    def call(view):
        rows = np.asarray(view)
        out = np.asarray(fn(rows), dtype=np.float64)
        return np.ascontiguousarray(out.reshape(rows.shape[0], -1))

    if outputs is None:  # asked of the function itself, at a row of the data or of zeros
        row = np.zeros((1, features)) if probe is None else probe
        try:
            outputs = call(row).shape[1]
        except Exception as error:
            raise GlassboxError("the function failed when asked for its outputs (give "
                                "outputs= to load_model): %s: %s"
                                % (type(error).__name__, error)) from error
    return _native.model_from_function(
        call, int(features), int(outputs),
        None if feature_names is None else [str(n) for n in feature_names],
        None if output_names is None else [str(n) for n in output_names],
        name or getattr(fn, "__qualname__", "function"))


_SERIALISERS = {"xgboost": _xgboost_bytes, "lightgbm": _lightgbm_bytes, "sklearn": _sklearn_bytes}


def load_model(model, *, timeout=None, features=None, outputs=None, feature_names=None,
               output_names=None, name=None, probe=None):
    """A glassbox Model from a path (every format glassbox reads, a SavedModel directory, an
    http(s):// served model, cmd: and plugin: locators), a model file's bytes, a live object
    (xgboost Booster/XGBClassifier/XGBRegressor, lightgbm Booster/LGBMClassifier/LGBMRegressor,
    an ONNX ModelProto, a Keras model, a scikit-learn tree ensemble through skl2onnx) or any
    Python callable (a black box called with float64 batches; give features= or
    feature_names=, and outputs= or a row to learn them from, probe=)."""
    seconds = float(timeout or 0)
    if isinstance(model, Model):
        return model
    if isinstance(model, (str, os.PathLike)):
        return Model(_native.load_model(os.fspath(model), seconds))
    if isinstance(model, (bytes, bytearray, memoryview)):
        return Model(_native.load_model_bytes(bytes(model), name or "(model bytes)"))
    origin = _module_of(model)
    if origin in _SERIALISERS:
        data, described = _SERIALISERS[origin](model)
        return Model(_native.load_model_bytes(data, name or described))
    if type(model).__name__ == "ModelProto" and hasattr(model, "SerializeToString"):
        return Model(_native.load_model_bytes(model.SerializeToString(), name or "onnx.ModelProto"))
    if origin in ("keras", "tensorflow", "tf_keras") and hasattr(model, "save"):
        return Model(_keras_model(model, seconds))
    if callable(model):
        return Model(_callable_model(model, features, outputs, feature_names, output_names, name,
                                     probe))
    raise InputError("cannot load a model from %s" % type(model).__name__)


# ---- explanations ---------------------------------------------------------------------------

def _metadata_path(features, stack):
    """Feature metadata as the library reads it: a path as it is, a dict written to a file."""
    if features is None or isinstance(features, (str, os.PathLike)):
        return None if features is None else os.fspath(features)
    handle = tempfile.NamedTemporaryFile("w", suffix=".json", prefix="glassbox-", delete=False)
    with handle:
        json.dump(features if "features" in features else {"features": features}, handle)
    stack.append(handle.name)
    return handle.name


def _with_metadata(features, call):
    made = []
    try:
        return call(_metadata_path(features, made))
    finally:
        for path in made:
            os.unlink(path)


class Plot:
    """A plot drawn by glassbox, in memory; shown inline in Jupyter."""

    def __init__(self, explanation, kind, options):
        self._explanation, self._kind, self._options = explanation, kind, options

    def render(self, format="svg"):
        """The plot's bytes: svg, png or pdf (html for text plots)."""
        return _with_metadata(self._options.get("features"), lambda path: self._explanation._native.render(
            self._kind, format, **dict(self._options, features=path)))

    @property
    def svg(self):
        return self.render("svg").decode()

    def _repr_svg_(self):
        return self.svg if self._kind != "text" else None

    def _repr_html_(self):
        return self.render("html").decode() if self._kind == "text" else None

    def save(self, path):
        """Writes the plot, its format told by the extension (.svg, .png, .pdf, .html)."""
        path = os.fspath(path)
        data = self.render(os.path.splitext(path)[1].lstrip(".").lower() or "svg")
        directory = os.path.dirname(os.path.abspath(path))
        handle = tempfile.NamedTemporaryFile("wb", dir=directory, prefix=".glassbox-", delete=False)
        try:
            with handle:
                handle.write(data)
            os.replace(handle.name, path)
        except BaseException:
            os.unlink(handle.name)
            raise


class _Plots:
    """explanation.plot.waterfall(row), .force(row), .bar(), ... (shap's plot kinds)."""

    def __init__(self, explanation):
        self._explanation = explanation

    def _plot(self, kind, **options):
        return Plot(self._explanation, kind, {k: v for k, v in options.items() if v is not None})

    def waterfall(self, row=0, **options): return self._plot("waterfall", row=row, **options)
    def force(self, row=0, **options): return self._plot("force", row=row, **options)
    def decision(self, row=0, **options): return self._plot("decision", row=row, **options)
    def bar(self, **options): return self._plot("bar", **options)
    def beeswarm(self, **options): return self._plot("beeswarm", **options)
    def heatmap(self, **options): return self._plot("heatmap", **options)
    def image(self, row=0, **options): return self._plot("image", row=row, **options)
    def text(self, row=0, **options): return self._plot("text", row=row, **options)

    def dependence(self, feature, **options):
        return self._plot("dependence", feature=feature, **options)

    def histogram(self, feature, row=0, **options):
        return self._plot("histogram", feature=feature, row=row, **options)


def _by_output(array, outputs):
    """The library's [n][K][...] as shap's shape: [n][...] for one output, [n][...][K] else."""
    if array is None:
        return None
    array = np.asarray(array)
    if outputs == 1:
        return array[:, 0]
    return np.moveaxis(array, 1, -1)


class Explanation:
    """Attributions of rows: values ([rows][features], or [rows][features][outputs]), base
    values, predictions, the rows themselves, names and provenance. Arrays view the
    explanation's own memory (read-only)."""

    def __init__(self, native):
        self._native = native
        self._outputs = native.outputs

    values = property(lambda self: _by_output(self._native.values, self._outputs))
    base_values = property(lambda self: _by_output(self._native.base_values, self._outputs))
    predictions = property(lambda self: _by_output(self._native.predictions, self._outputs))
    standard_errors = property(lambda self: _by_output(self._native.standard_errors, self._outputs))
    interactions = property(lambda self: _by_output(self._native.interactions, self._outputs))
    local_predictions = property(lambda self: _by_output(self._native.local_predictions, self._outputs))
    scores = property(lambda self: _by_output(self._native.scores, self._outputs))
    convergence_deltas = property(lambda self: _by_output(self._native.convergence_deltas, self._outputs))
    feature_names = property(lambda self: self._native.feature_names)
    output_names = property(lambda self: self._native.output_names)
    column_names = property(lambda self: self._native.column_names)
    provenance = property(lambda self: self._native.provenance)

    @property
    def data(self):
        data = self._native.data
        return None if data is None else np.asarray(data)

    @property
    def raw_values(self):
        """The values in the library's layout, [rows][outputs][features]."""
        return np.asarray(self._native.values)

    def __len__(self):
        return self._native.rows

    @property
    def plot(self):
        return _Plots(self)

    def save(self, path, format=None, include_data=True):
        """Writes the explanation file (JSON or CSV, by format or the extension)."""
        self._native.save(os.fspath(path), format, include_data)

    def reasons(self, audience="applicant", features=None, model=None, **options):
        """The principal reasons, a dict per row: prediction, decision, reasons (feature,
        display, contribution, value, sentence, what-if), the sensitive features as the
        audience may see them. features: the feature metadata (a path or a dict)."""
        native_model = load_model(model)._native if model is not None else None
        return _with_metadata(features, lambda path: self._native.reasons(
            audience=audience, features=path, model=native_model, **options))

    def report(self, path, features=None, model=None, audience="analyst", **options):
        """Writes the self-contained HTML report."""
        native_model = load_model(model)._native if model is not None else None
        _with_metadata(features, lambda metadata: self._native.report(
            os.fspath(path), features=metadata, model=native_model, audience=audience, **options))

    def for_audience(self, audience, features=None):
        """What the audience may see (sensitive features absent, folded or marked)."""
        return Explanation(_with_metadata(features, lambda path: self._native.for_audience(
            audience, path)))

    def to_shap(self):
        """A shap.Explanation of the same numbers (every shap plot then works)."""
        import shap
        data = self.data
        if data is not None and data.shape[1] != np.asarray(self._native.values).shape[2]:
            data = None  # columns grouped into fewer features
        return shap.Explanation(values=np.array(self.values), base_values=np.array(self.base_values),
                                data=None if data is None else np.array(data),
                                feature_names=list(self.feature_names),
                                output_names=list(self.output_names) if self._outputs > 1 else None)

    def __repr__(self):
        p = self.provenance
        return "<glassbox.Explanation %d rows, %d features, %d outputs, %s>" % (
            len(self), len(self.feature_names), self._outputs, p["method"])


def load_explanation(path):
    """Reads an explanation file (JSON or CSV) glassbox wrote."""
    return Explanation(_native.read_explanation(os.fspath(path)))


# ---- explainers -----------------------------------------------------------------------------

def _option_text(value):
    return ("true" if value else "false") if isinstance(value, (bool, np.bool_)) else str(value)


def _column_index(column, names):
    if isinstance(column, (int, np.integer)):
        return int(column)
    if names and column in names:
        return names.index(column)
    raise InputError("no feature %r" % (column,))


def _groups(groups, names, width):
    """{"name": [columns]} as (group of each feature, group names); ungrouped columns are
    groups of their own."""
    if groups is None:
        return None
    of = [None] * width
    titles = []
    for title, columns in groups.items():
        for column in columns:
            of[_column_index(column, names)] = len(titles)
        titles.append(str(title))
    for j in range(width):
        if of[j] is None:
            of[j] = len(titles)
            titles.append(names[j] if names and names[j] else "f%d" % j)
    return of, titles


def _categorical(categorical, names, width):
    if categorical is None:
        return None
    flags = [False] * width
    mask = np.asarray(categorical)
    if mask.dtype == bool and mask.shape == (width,):
        return [bool(b) for b in mask]
    for column in categorical:
        flags[_column_index(column, names)] = True
    return flags


class Explainer:
    """Explainer(model, background=None, method="auto", **options): explains rows of a model
    with any glassbox method. Options are the CLI's (max_evals, seed, output_space, link,
    l1_reg, steps, samples, softmax_rule, ...), plus groups ({"name": [columns]}),
    categorical (columns), layer (grad-cam) and output ("all", "predicted", an index or a
    name: which output a network method explains)."""

    def __init__(self, model, background=None, method="auto", *, groups=None, categorical=None,
                 layer=None, output=None, feature_names=None, **options):
        width = probe = None
        if background is not None and callable(model) and not isinstance(model, Model):
            probe, names = as_rows(background, feature_names)
            width, probe = probe.shape[1], probe[:1]
            feature_names = feature_names or names
        self.model = load_model(model, features=width, feature_names=feature_names, probe=probe)
        names = self.model.feature_names
        given = {"method": method}
        given.update(options)
        given = {k: _option_text(v) for k, v in given.items() if v is not None}
        rows, row_names = (None, None) if background is None else as_rows(background, names)
        self._native = _native.Explainer(
            self.model._native, given, rows, row_names,
            _groups(groups, names, self.model.n_features),
            _categorical(categorical, names, self.model.n_features), layer,
            None if output is None else str(output))

    method = property(lambda self: self._native.method)

    @property
    def expected_value(self):
        """E[f(X)]: a number for one output, an array for several."""
        base = np.asarray(self._native.base_values)
        return float(base[0]) if base.shape[0] == 1 else base

    def explain(self, X):
        """An Explanation of every row of X (a numpy array or a DataFrame)."""
        rows, names = as_rows(X, self.model._feature_names)
        return Explanation(self._native.explain(rows, names))

    __call__ = explain
