"""DeepSHAP fixtures for a PyTorch CNN with a softmax head (Conv2d, ReLU, MaxPool2d, Conv2d,
Flatten, Linear, Softmax on a non-square one-channel image), exported to ONNX by torch's
TorchScript exporter, with shap's PyTorch DeepExplainer values: the rule glassbox applies to
networks from PyTorch (Softmax rescaled element by element, as shap-PyTorch and captum do),
beside the TensorFlow rule the Keras fixtures check. Rows of the values CSV are (row, class)
pairs, row-major, each holding one value per input.
usage: generate_deep_torch.py OUT_DIRECTORY (pip install torch onnx shap)"""
import json
import os
import sys

import numpy as np
import onnx
import shap
import torch
from torch import nn

directory = sys.argv[1]
os.makedirs(directory, exist_ok=True)
torch.manual_seed(4)
rng = np.random.default_rng(4)
SHAPE = (1, 10, 8)


def write_rows(name, rows, columns):
    np.savetxt(os.path.join(directory, name), rows, delimiter=",", fmt="%.9g",
               header=",".join(columns) if columns else "", comments="")


model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(4, 3, 2), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 3, 3),
                      nn.Softmax(dim=1)).eval()
rows, background_rows = 5, 6
x = torch.tensor(rng.normal(size=(rows,) + SHAPE), dtype=torch.float32)
background = torch.tensor(rng.normal(size=(background_rows,) + SHAPE), dtype=torch.float32)
path = os.path.join(directory, "cnn.onnx")
torch.onnx.export(model, (x,), path, dynamo=False, opset_version=17, input_names=["x"],
                  output_names=["probabilities"],
                  dynamic_axes={"x": {0: "batch"}, "probabilities": {0: "batch"}})
onnx.checker.check_model(onnx.load(path))
features = int(np.prod(SHAPE))
columns = ["x%d" % j for j in range(features)]
write_rows("cnn.data.csv", x.numpy().reshape(rows, -1), columns)
write_rows("cnn.background.csv", background.numpy().reshape(background_rows, -1), columns)
values = np.asarray(shap.DeepExplainer(model, background).shap_values(x))  # [n, 1, H, W, K]
classes = values.shape[-1]
values = values.reshape(rows, features, classes).transpose(0, 2, 1)       # [n, K, M]
write_rows("cnn.shap.csv", values.reshape(rows * classes, features), None)
with torch.no_grad():
    gap = np.abs(values.sum(axis=2) - (model(x) - model(background).mean(dim=0)).numpy()).max()
with open(os.path.join(directory, "manifest.json"), "w") as f:
    json.dump({"generated_by": "tests/conformance/generate_deep_torch.py",
               "versions": {"torch": torch.__version__, "shap": shap.__version__},
               "cases": [{"name": "cnn", "models": ["cnn.onnx"], "data": "cnn.data.csv",
                          "background": "cnn.background.csv", "shap": "cnn.shap.csv",
                          "classes": int(classes), "additivity_gap": float(gap)}]},
              f, indent=1)
