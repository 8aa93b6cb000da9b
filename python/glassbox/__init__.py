"""glassbox: explain model decisions, natively and exactly.

    import glassbox
    model = glassbox.load_model("credit.json")            # or an XGBClassifier, a Keras model...
    explanation = glassbox.Explainer(model).explain(X)    # X: numpy array or DataFrame
    explanation.values, explanation.base_values           # numpy arrays
    explanation.plot.waterfall(0)                          # inline in Jupyter
    explanation.reasons(audience="applicant", features="features.json")

    glassbox.TreeExplainer(model).shap_values(X)          # shap's API, glassbox's numbers
"""
from ._native import GlassboxError, InputError, version as __version__
from ._core import Explainer, Explanation, Model, Plot, load_explanation, load_model
from ._shap import (DeepExplainer, ExactExplainer, GradientExplainer, KernelExplainer,
                    LimeExplanation, LimeTabularExplainer, PermutationExplainer, TreeExplainer)

__all__ = ["GlassboxError", "InputError", "Explainer", "Explanation", "Model", "Plot",
           "load_explanation", "load_model", "TreeExplainer", "KernelExplainer",
           "PermutationExplainer", "ExactExplainer", "DeepExplainer", "GradientExplainer",
           "LimeTabularExplainer", "LimeExplanation", "__version__"]
