"""shap's and lime's explainer classes, computed by glassbox: the same call shapes, so existing
notebooks change one import."""
import numpy as np

from ._core import Explainer, load_model
from ._data import as_rows


class _ShapStyle:
    """What shap's explainers share: shap_values(X), expected_value, calling for an Explanation."""

    _method = "auto"

    def __init__(self, model, data=None, **options):
        self._options = options
        self._explainer = Explainer(model, data, self._method, **options)
        self.model = self._explainer.model

    @property
    def expected_value(self):
        return self._explainer.expected_value

    def __call__(self, X):
        return self._explainer.explain(X)

    def shap_values(self, X, **ignored):
        """The values: [rows][features] for one output, [rows][features][outputs] else."""
        return np.array(self._explainer.explain(X).values)


class TreeExplainer(_ShapStyle):
    """shap.TreeExplainer: path-dependent TreeSHAP without data, interventional with it;
    model_output="probability" explains the probability (interventional)."""

    def __init__(self, model, data=None, model_output="raw", feature_perturbation=None, **options):
        interventional = data is not None and feature_perturbation != "tree_path_dependent"
        self._method = "tree-interventional" if interventional else "tree"
        if model_output == "probability":
            options["output_space"] = "probability"
        super().__init__(model, data if interventional else None, **options)
        self._data = data if interventional else None
        self._interactions = None

    def shap_interaction_values(self, X):
        """[rows][features][features] (or [..][outputs]): path-dependent interaction values."""
        if self._interactions is None:
            self._interactions = Explainer(self.model, None, "tree", interactions=True,
                                           **self._options)
        return np.array(self._interactions.explain(X).interactions)


class KernelExplainer(_ShapStyle):
    """shap.KernelExplainer(model, data, link="identity"): model may be any callable."""

    _method = "kernel"

    def __init__(self, model, data, link="identity", **options):
        self._background = data
        super().__init__(model, data, link=link if isinstance(link, str) else "identity", **options)

    def shap_values(self, X, nsamples="auto", l1_reg=None, **ignored):
        """shap's nsamples is max_evals; l1_reg "aic", "bic", "num_features(K)" or K."""
        options = dict(self._options)
        if nsamples != "auto":
            options["max_evals"] = int(nsamples)
        if l1_reg is not None and l1_reg != "auto":
            options["l1_reg"] = l1_reg if isinstance(l1_reg, str) else "num_features(%d)" % l1_reg
        if options == self._options:
            return super().shap_values(X)
        explainer = Explainer(self.model, self._background, "kernel", **options)
        return np.array(explainer.explain(X).values)


class PermutationExplainer(_ShapStyle):
    """shap.PermutationExplainer(model, masker): the masker is the background data."""

    _method = "permutation"

    def __init__(self, model, masker, **options):
        super().__init__(model, getattr(masker, "data", masker), **options)


class ExactExplainer(_ShapStyle):
    _method = "exact"

    def __init__(self, model, masker, **options):
        super().__init__(model, getattr(masker, "data", masker), **options)


class DeepExplainer(_ShapStyle):
    """shap.DeepExplainer(model, data): DeepSHAP over the background (ONNX, Keras, SavedModel)."""

    _method = "deep"


class GradientExplainer(_ShapStyle):
    """shap.GradientExplainer(model, data): expected gradients."""

    _method = "gradient-shap"


class LimeExplanation:
    """lime's Explanation, for one row: as_list(label), as_map(), intercept, local_pred, score."""

    def __init__(self, explanation, labels):
        raw = explanation.raw_values[0]
        names = explanation.feature_names
        self.intercept = {k: float(b) for k, b in enumerate(np.asarray(explanation._native.base_values)[0])}
        local = explanation._native.local_predictions
        self.local_pred = {k: float(v) for k, v in enumerate(np.asarray(local)[0])} if local is not None else {}
        scores = explanation._native.scores
        self.score = {k: float(v) for k, v in enumerate(np.asarray(scores)[0])} if scores is not None else {}
        self.predict_proba = np.asarray(explanation._native.predictions)[0]
        self.available_labels_ = list(labels)
        self._map = {}
        for k in labels:
            chosen = [(j, float(raw[k][j])) for j in range(raw.shape[1]) if raw[k][j] != 0.0]
            self._map[k] = sorted(chosen, key=lambda pair: -abs(pair[1]))
        self._names = names
        self.glassbox_explanation = explanation

    def available_labels(self):
        return self.available_labels_

    def as_map(self):
        return dict(self._map)

    def as_list(self, label=1):
        return [(self._names[j], weight) for j, weight in self._map[label]]


class LimeTabularExplainer:
    """lime.lime_tabular.LimeTabularExplainer: explain_instance(row, predict_fn, ...)."""

    def __init__(self, training_data, mode="classification", feature_names=None,
                 categorical_features=None, kernel_width=None, discretize_continuous=True,
                 discretizer="quartile", random_state=None, **ignored):
        self.training_data = training_data
        self.mode = mode
        self.feature_names = None if feature_names is None else [str(n) for n in feature_names]
        self.categorical_features = categorical_features
        self.kernel_width = kernel_width
        self.discretizer = discretizer if discretize_continuous else "none"
        self.random_state = 0 if random_state is None else int(random_state)
        self._models = {}

    def _model(self, predict_fn):
        key = id(predict_fn)
        if key not in self._models:
            width = np.shape(self.training_data)[1]
            self._models[key] = (predict_fn, load_model(predict_fn, features=width,
                                                        feature_names=self.feature_names))
        return self._models[key][1]

    def explain_instance(self, data_row, predict_fn, labels=(1,), top_labels=None,
                         num_features=10, num_samples=5000, distance_metric="euclidean",
                         model_regressor=None):
        model = self._model(predict_fn)
        options = dict(max_evals=num_samples, num_features=num_features,
                       distance=distance_metric, discretizer=self.discretizer,
                       seed=self.random_state, kernel_width=self.kernel_width)
        explainer = Explainer(model, self.training_data, "lime",
                              categorical=self.categorical_features, **options)
        rows, _ = as_rows(np.asarray(data_row, dtype=np.float64).reshape(1, -1))
        explanation = explainer.explain(rows)
        if self.mode == "regression":
            labels = (0,)
        elif top_labels:
            order = np.argsort(-np.asarray(explanation._native.predictions)[0])
            labels = tuple(int(k) for k in order[:top_labels])
        return LimeExplanation(explanation, labels)
