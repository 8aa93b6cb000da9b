"""DeepSHAP fixtures for Keras networks with softmax heads: shap's TensorFlow DeepExplainer
values (its softmax rule: the softmax taken apart into a shift by the maximum, Exp, Sum and
RealDiv, each with its own rule), for an MLP and a channels-last CNN with max pooling, each
saved by Keras and exported by tf2onnx, and for the MLP the same values by hand in float64
(mlp.oracle.csv), independent of shap. Rows of every CSV of values are (row, class) pairs,
row-major, each holding one value per input.
usage: generate_deep_tf.py OUT_DIRECTORY (pip install tensorflow-cpu tf2onnx shap)"""
import json
import os
import sys

import numpy as np
import onnx
import shap
import tensorflow as tf
import tf2onnx
import keras

directory = sys.argv[1]
os.makedirs(directory, exist_ok=True)
keras.utils.set_random_seed(11)
rng = np.random.default_rng(11)


def write_rows(name, rows, columns):
    path = os.path.join(directory, name)
    np.savetxt(path, rows, delimiter=",", fmt="%.9g",
               header=",".join(columns) if columns else "", comments="")


def case(name, model, shape, rows, background_rows):
    features = int(np.prod(shape))
    columns = ["x%d" % j for j in range(features)]
    x = rng.normal(size=(rows,) + shape).astype(np.float32)
    background = rng.normal(size=(background_rows,) + shape).astype(np.float32)
    model.save(os.path.join(directory, name + ".keras"))
    signature = (tf.TensorSpec((None,) + shape, tf.float32, name="x"),)
    tf2onnx.convert.from_keras(model, input_signature=signature, opset=17,
                               output_path=os.path.join(directory, name + ".onnx"))
    assert onnx.load(os.path.join(directory, name + ".onnx")).producer_name == "tf2onnx"
    write_rows(name + ".data.csv", x.reshape(rows, -1), columns)
    write_rows(name + ".background.csv", background.reshape(background_rows, -1), columns)
    values = np.asarray(shap.DeepExplainer(model, background).shap_values(x))  # [n, ..., K]
    classes = values.shape[-1]
    values = values.reshape(rows, features, classes).transpose(0, 2, 1)     # [n, K, M]
    write_rows(name + ".shap.csv", values.reshape(rows * classes, features), None)
    predictions = model(x).numpy()
    expected = model(background).numpy().mean(axis=0)
    gap = np.abs(values.sum(axis=2) - (predictions - expected)).max()
    return {"name": name, "models": [name + ".keras", name + ".onnx"], "data": name + ".data.csv",
            "background": name + ".background.csv", "shap": name + ".shap.csv",
            "classes": int(classes), "additivity_gap": float(gap)}


def rescale(f, derivative, x, r, g):
    """The rescale rule, with shap's fallback to the derivative under 1e-6."""
    delta = x - r
    safe = np.where(delta == 0, 1, delta)
    return np.where(np.abs(delta) < 1e-6, g * derivative(x), g * (f(x) - f(r)) / safe)


def softmax_rule(x, r, g):
    """shap-TF's softmax rule written out in float64: e = exp(x - max x), s = sum e, y = e / s;
    the division's two-input rule, Exp rescaled, then carried from x - max x back to x."""
    shifted_x, shifted_r = x - x.max(), r - r.max()
    e_x, e_r = np.exp(shifted_x), np.exp(shifted_r)
    s_x, s_r = e_x.sum(), e_r.sum()
    both, neither, only_e, only_s = e_x / s_x, e_r / s_r, e_x / s_r, e_r / s_x
    delta_e, delta_s = e_x - e_r, s_x - s_r
    to_e = np.where(np.abs(delta_e) < 1e-7, 0,
                    g * 0.5 * (both - only_s + only_e - neither) / np.where(delta_e == 0, 1, delta_e))
    to_s = (g * 0.5 * (both - only_e + only_s - neither) / delta_s).sum() if abs(delta_s) >= 1e-7 else 0
    to_shifted = rescale(np.exp, np.exp, shifted_x, shifted_r, to_e + to_s)
    delta, delta_shifted = x - r, shifted_x - shifted_r
    return np.where(np.abs(delta) < 1e-6, to_shifted,
                    to_shifted * delta_shifted / np.where(delta == 0, 1, delta))


def mlp_oracle(model, x, background):
    """DeepSHAP on the MLP (relu, tanh, softmax) by hand in float64: multipliers per (row,
    background row) pair, times (x - b), averaged over the background. [n, K, M]"""
    (w1, b1), (w2, b2), (w3, b3) = [[a.astype(np.float64) for a in layer.get_weights()]
                                    for layer in model.layers if layer.get_weights()]

    def forward(v):
        z1 = v @ w1 + b1
        z2 = np.maximum(z1, 0) @ w2 + b2
        return z1, z2, np.tanh(z2) @ w3 + b3

    classes = w3.shape[1]
    out = np.zeros((len(x), classes, x.shape[1]))
    for i, row in enumerate(x.astype(np.float64)):
        for reference in background.astype(np.float64):
            (z1, z2, z3), (r1, r2, r3) = forward(row), forward(reference)
            for k in range(classes):
                g = softmax_rule(z3, r3, np.eye(classes)[k]) @ w3.T
                g = rescale(np.tanh, lambda v: 1 - np.tanh(v) ** 2, z2, r2, g) @ w2.T
                g = rescale(lambda v: np.maximum(v, 0), lambda v: (v > 0) * 1.0, z1, r1, g) @ w1.T
                out[i, k] += g * (row - reference) / len(background)
    return out


cases = []
inputs = keras.Input((6,))
h = keras.layers.Dense(10, activation="relu", name="hidden")(inputs)
h = keras.layers.Dense(8, activation="tanh", name="hidden2")(h)
outputs = keras.layers.Dense(3, activation="softmax", name="head")(h)
cases.append(case("mlp", keras.Model(inputs, outputs), (6,), 8, 12))
# The independent check of the rule itself: the same values by hand, in float64.
mlp = keras.models.load_model(os.path.join(directory, "mlp.keras"))
oracle = mlp_oracle(mlp, np.loadtxt(os.path.join(directory, "mlp.data.csv"), delimiter=",", skiprows=1),
                    np.loadtxt(os.path.join(directory, "mlp.background.csv"), delimiter=",", skiprows=1))
write_rows("mlp.oracle.csv", oracle.reshape(-1, oracle.shape[2]), None)
cases[-1]["oracle"] = "mlp.oracle.csv"
shap_values = np.loadtxt(os.path.join(directory, "mlp.shap.csv"), delimiter=",")
cases[-1]["oracle_to_shap"] = float(np.abs(oracle.reshape(shap_values.shape) - shap_values).max())

inputs = keras.Input((8, 8, 2))
h = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inputs)
h = keras.layers.MaxPooling2D(2)(h)
h = keras.layers.Conv2D(3, 3, activation="relu", name="conv2")(h)
h = keras.layers.Flatten()(h)
outputs = keras.layers.Dense(4, activation="softmax", name="head")(h)
cases.append(case("cnn", keras.Model(inputs, outputs), (8, 8, 2), 5, 6))

with open(os.path.join(directory, "manifest.json"), "w") as f:
    json.dump({"generated_by": "tests/conformance/generate_deep_tf.py",
               "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                            "tf2onnx": tf2onnx.__version__, "shap": shap.__version__},
               "cases": cases}, f, indent=1)
