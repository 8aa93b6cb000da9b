"""glassbox on Spark: attributions for tables one machine cannot hold, on the cluster a team
already has.

    from glassbox import spark as gbs
    explained = gbs.explain(df, "credit.json")                  # adds shap_values, base_value,
                                                                # prediction, model_sha256
    GlassboxExplainer(modelPath="credit.json", outputCol="shap_values")  # a pyspark.ml stage

The model file's bytes are broadcast (never a pickled Python object) and each executor process
loads them once. A sampling method's draws for a row are keyed by the seed and the row's own
values, so a row's values do not depend on how the data is partitioned: they equal the CLI's,
bit for bit, with any partitioning."""
import json
import os

import numpy as np

from ._core import Explainer, load_model, _SERIALISERS, _module_of
from ._native import InputError

# executor side: models by SHA-256, explainers by (model, method, options, background)
_models = {}
_explainers = {}


def _model_bytes(model):
    """A model as the bytes of its file (broadcast to the executors) and a name."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model), "(model bytes)"
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if os.path.isdir(path) or ":" in path.split(os.sep)[0]:
            raise InputError("glassbox.spark broadcasts a model file's bytes: %s is not a file "
                             "(a SavedModel directory or a locator); convert it to ONNX, or "
                             "give a file" % path)
        with open(path, "rb") as handle:
            return handle.read(), os.path.basename(path)
    origin = _module_of(model)
    if origin in _SERIALISERS:
        return _SERIALISERS[origin](model)
    if type(model).__name__ == "ModelProto":
        return model.SerializeToString(), "onnx.ModelProto"
    raise InputError("glassbox.spark takes a model file, its bytes, or an XGBoost, LightGBM, "
                     "scikit-learn or ONNX object, not %s" % type(model).__name__)


def _executor_explainer(model_bytes, name, sha256, method, options, background):
    """The executor's explainer, made once per process for the same work."""
    key = (sha256, method, json.dumps(options, sort_keys=True),
           None if background is None else hash(background.tobytes()))
    explainer = _explainers.get(key)
    if explainer is None:
        model = _models.get(sha256)
        if model is None:
            model = _models[sha256] = load_model(model_bytes, name=name)
        explainer = _explainers[key] = Explainer(model, background, method, **options)
    return explainer


def _list_column(matrix, index):
    """A [rows][n] matrix as a pandas column of arrays, backed by one Arrow list array: built
    without a Python object per row, and handed to Spark's Arrow batches as it is."""
    import pandas
    import pyarrow
    rows, width = matrix.shape
    flat = pyarrow.array(np.ascontiguousarray(matrix, dtype=np.float64).ravel())
    offsets = pyarrow.array(np.arange(0, (rows + 1) * width, width, dtype=np.int32))
    lists = pyarrow.ListArray.from_arrays(offsets, flat)
    return pandas.Series(pandas.arrays.ArrowExtensionArray(lists), index=index)


def _schema(df, output_col, output_names):
    from pyspark.sql.types import ArrayType, DoubleType, StringType, StructField, StructType
    one = len(output_names) == 1
    fields = list(df.schema.fields)
    value_columns = [output_col] if one else ["%s_%s" % (output_col, n) for n in output_names]
    for column in value_columns:
        fields.append(StructField(column, ArrayType(DoubleType(), False), False))
    number = DoubleType() if one else ArrayType(DoubleType(), False)
    fields += [StructField("base_value", number, False), StructField("prediction", number, False),
               StructField("model_sha256", StringType(), False)]
    return StructType(fields), value_columns


def explain(df, model, columns=None, method="auto", background=None, output_col="shap_values",
            **options):
    """The DataFrame with the attributions: output_col (an array of values per row, in the
    order of columns; one column per output, output_col_NAME, for several outputs),
    base_value, prediction (numbers, or arrays for several outputs) and model_sha256.
    columns: the input columns, in the model's feature order (default: the model's feature
    names). background: rows (numpy array or pandas DataFrame) for the methods that need them.
    options: as glassbox.Explainer takes them; threads default to 1 per task (Spark's tasks
    are the parallelism)."""
    model_bytes, name = _model_bytes(model)
    local = load_model(model_bytes, name=name)
    if columns is None:
        columns = local.feature_names
        if any(c is None for c in columns):
            raise InputError("the model names no features: give columns=")
    columns = [str(c) for c in columns]
    if len(columns) != local.n_features:
        raise InputError("%d columns for a model of %d features" % (len(columns), local.n_features))
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError("the DataFrame has no column %s" % ", ".join(missing[:10]))
    if background is not None:
        from ._data import as_rows
        background, _ = as_rows(background, local.feature_names)
    options = dict(options)
    options.setdefault("threads", 1)
    # the explainer is made here once too: bad options fail before any task runs
    Explainer(local, background, method, **options)
    # mapInPandas cannot resolve column names with dots in them (credit data's one-hot
    # columns have them): the columns go through under positional names and come back named
    names = list(df.columns)
    positional = df.toDF(*["_glassbox_%d" % i for i in range(len(names))])
    inputs = ["_glassbox_%d" % names.index(c) for c in columns]
    schema, value_columns = _schema(positional, output_col, local.output_names)
    context = df.sparkSession.sparkContext
    shipped = context.broadcast(model_bytes)
    sha256, outputs = local.sha256, local.n_outputs
    shipped_background = None if background is None else context.broadcast(background)

    def run(batches):
        explainer = _executor_explainer(shipped.value, name, sha256, method, options,
                                        None if shipped_background is None else shipped_background.value)
        for frame in batches:
            rows = np.ascontiguousarray(frame[inputs].to_numpy(dtype=np.float64, na_value=np.nan))
            explanation = explainer.explain(rows)
            values = explanation.raw_values  # [rows][outputs][features]
            for k, column in enumerate(value_columns):
                frame[column] = _list_column(values[:, k, :], frame.index)
            base = np.asarray(explanation._native.base_values)
            predictions = np.asarray(explanation._native.predictions)
            frame["base_value"] = base[:, 0] if outputs == 1 else _list_column(base, frame.index)
            frame["prediction"] = (predictions[:, 0] if outputs == 1
                                   else _list_column(predictions, frame.index))
            frame["model_sha256"] = sha256
            yield frame

    explained = positional.mapInPandas(run, schema)
    return explained.toDF(*(names + value_columns + ["base_value", "prediction", "model_sha256"]))


# ---- a pyspark.ml stage -------------------------------------------------------------------

def _transformer():
    from pyspark import keyword_only
    from pyspark.ml import Transformer
    from pyspark.ml.param import Param, Params, TypeConverters
    from pyspark.ml.param.shared import HasInputCols, HasOutputCol
    from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable

    class GlassboxExplainer(Transformer, HasInputCols, HasOutputCol, DefaultParamsReadable,
                            DefaultParamsWritable):
        """Attributions as a pipeline stage: modelPath (a model file), inputCols (default the
        model's feature names), outputCol ("shap_values"), method ("auto"), backgroundPath (a
        CSV of background rows, for the methods that need them), seed, maxEvals, and options (a
        JSON object of any other explainer option). Saved and loaded with its pipeline."""

        modelPath = Param(Params._dummy(), "modelPath", "the model file",
                          typeConverter=TypeConverters.toString)
        method = Param(Params._dummy(), "method", "the explanation method",
                       typeConverter=TypeConverters.toString)
        backgroundPath = Param(Params._dummy(), "backgroundPath", "a CSV of background rows",
                               typeConverter=TypeConverters.toString)
        seed = Param(Params._dummy(), "seed", "the sampling methods' seed",
                     typeConverter=TypeConverters.toInt)
        maxEvals = Param(Params._dummy(), "maxEvals", "sampling methods: evaluations per row",
                         typeConverter=TypeConverters.toInt)
        options = Param(Params._dummy(), "options", "other explainer options, a JSON object",
                        typeConverter=TypeConverters.toString)

        @keyword_only
        def __init__(self, modelPath=None, inputCols=None, outputCol="shap_values", method="auto",
                     backgroundPath=None, seed=None, maxEvals=None, options="{}"):
            super().__init__()
            self._setDefault(outputCol="shap_values", method="auto", options="{}")
            self._set(**self._input_kwargs)

        @keyword_only
        def setParams(self, modelPath=None, inputCols=None, outputCol="shap_values",
                      method="auto", backgroundPath=None, seed=None, maxEvals=None, options="{}"):
            return self._set(**self._input_kwargs)

        def _transform(self, dataset):
            given = json.loads(self.getOrDefault(self.options))
            for param, option in ((self.seed, "seed"), (self.maxEvals, "max_evals")):
                if self.isDefined(param):
                    given[option] = self.getOrDefault(param)
            background = None
            if self.isDefined(self.backgroundPath):
                import pandas
                background = pandas.read_csv(self.getOrDefault(self.backgroundPath))
            return explain(dataset, self.getOrDefault(self.modelPath),
                           self.getOrDefault(self.inputCols) if self.isDefined(self.inputCols) else None,
                           self.getOrDefault(self.method), background,
                           self.getOrDefault(self.outputCol), **given)

    GlassboxExplainer.__module__ = __name__
    return GlassboxExplainer


def __getattr__(name):
    # pyspark is imported only when the stage is asked for
    if name == "GlassboxExplainer":
        globals()[name] = _transformer()
        return globals()[name]
    raise AttributeError(name)
