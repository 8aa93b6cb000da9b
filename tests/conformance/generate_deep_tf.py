"""DeepSHAP fixtures for Keras networks with softmax heads: shap's TensorFlow DeepExplainer
values (its softmax rule: the softmax taken apart into a shift by the maximum, Exp, Sum and
RealDiv, each with its own rule), for an MLP and a channels-last CNN with max pooling, each
saved by Keras and exported by tf2onnx. Rows of every CSV of values are (row, class) pairs,
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


cases = []
inputs = keras.Input((6,))
h = keras.layers.Dense(10, activation="relu", name="hidden")(inputs)
h = keras.layers.Dense(8, activation="tanh", name="hidden2")(h)
outputs = keras.layers.Dense(3, activation="softmax", name="head")(h)
cases.append(case("mlp", keras.Model(inputs, outputs), (6,), 8, 12))

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
