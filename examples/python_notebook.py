"""glassbox from Python, as a notebook would use it (run from the repository's root after
`pip install ./python`): load the bundled credit model, explain applicants with shap's API and
glassbox's own, draw a waterfall, say the reasons an applicant may read, write the report."""
import os
import tempfile

import numpy as np
import pandas as pd

import glassbox

model = glassbox.load_model("examples/credit_model.json")
applicants = pd.read_csv("examples/data/german_credit.csv").head(100)

# shap's call shapes, glassbox's numbers
tree = glassbox.TreeExplainer(model)
values = tree.shap_values(applicants)
print("expected value %.4f, values %s" % (tree.expected_value, values.shape))

# the whole explanation: values, base values, predictions, names, provenance
explanation = glassbox.Explainer(model).explain(applicants)
additivity = np.abs(explanation.values.sum(axis=1) + explanation.base_values
                    - model.predict(applicants, raw=True)).max()
print("largest additivity error %.2e" % additivity)
print("model %s, method %s" % (explanation.provenance["model_sha256"][:12],
                               explanation.provenance["method"]))

# what the first applicant is told: the principal reasons, sensitive attributes absent
for reason in explanation.reasons(audience="applicant", features="examples/credit_features.json",
                                  row=0)[0]["reasons"]:
    print(" -", reason["sentence"])

with tempfile.TemporaryDirectory() as directory:
    explanation.plot.waterfall(0, features="examples/credit_features.json").save(
        os.path.join(directory, "waterfall.svg"))
    explanation.report(os.path.join(directory, "report.html"),
                       features="examples/credit_features.json", model=model)
    explanation.save(os.path.join(directory, "explanation.json"))
    print("written:", ", ".join(sorted(os.listdir(directory))))
