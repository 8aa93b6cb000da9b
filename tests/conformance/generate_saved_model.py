"""TensorFlow SavedModel fixtures: Keras 3 networks written by `model.export()` (what TF Serving
serves) and by `tf.saved_model.save`, each with TensorFlow's own predictions through the loaded
SavedModel's serving_default signature, and shap's TensorFlow DeepExplainer values on the Keras
model for the networks shap can explain (an MLP and a channels-last CNN with batch
normalisation, both with softmax heads). The recurrent networks' graphs loop over their steps
(While, TensorList); shap's DeepExplainer fails on Keras 3 recurrent layers (no gradient for its
Split handler), so their reference is TensorFlow's own integrated gradients (captum's
Gauss-Legendre rule, 50 steps, zero baseline, computed with GradientTape). A branch on the data
(tf.cond) must be refused by name. Rows of every CSV of values are
(row, class) pairs, row-major, each holding one value per input.
usage: generate_saved_model.py OUT_DIRECTORY (pip install tensorflow-cpu shap)"""
import json
import os
import shutil
import sys

import numpy as np
import shap
import tensorflow as tf
import keras

directory = sys.argv[1]
os.makedirs(directory, exist_ok=True)
keras.utils.set_random_seed(5)
rng = np.random.default_rng(5)


def write_rows(name, rows, columns):
    np.savetxt(os.path.join(directory, name), rows, delimiter=",", fmt="%.9g",
               header=",".join(columns) if columns else "", comments="")


def save(model, name, how):
    path = os.path.join(directory, name)
    shutil.rmtree(path, ignore_errors=True)
    if how == "export":
        model.export(path, verbose=False)
    else:
        tf.saved_model.save(model, path)
    # Served as TF Serving would: the SavedModel's own signature, not the Keras object.
    return tf.saved_model.load(path).signatures["serving_default"]


def predict(serving, x):
    outputs = serving(tf.constant(x))
    assert len(outputs) == 1
    return next(iter(outputs.values())).numpy().reshape(len(x), -1)


def integrated_gradients(model, x, steps=50):
    """captum's IntegratedGradients with its defaults: Gauss-Legendre points on [0, 1], a zero
    baseline; one row of attributions per (row, output)."""
    points, weights = np.polynomial.legendre.leggauss(steps)
    alphas, weights = (points + 1) / 2, weights / 2
    classes = model(x[:1]).shape[-1]
    out = np.zeros((len(x), classes) + x.shape[1:])
    for k in range(classes):
        for alpha, weight in zip(alphas, weights):
            scaled = tf.constant(alpha * x)
            with tf.GradientTape() as tape:
                tape.watch(scaled)
                y = model(scaled)[:, k]
            out[:, k] += weight * tape.gradient(y, scaled).numpy()
    return out * x[:, None]


def case(name, model, shape, rows, background_rows, how="export", reference="shap"):
    features = int(np.prod(shape))
    columns = ["x%d" % j for j in range(features)]
    x = rng.normal(size=(rows,) + shape).astype(np.float32)
    background = rng.normal(size=(background_rows,) + shape).astype(np.float32)
    serving = save(model, name, how)
    predictions = predict(serving, x)
    assert np.abs(predictions - model(x).numpy().reshape(rows, -1)).max() < 1e-5
    write_rows(name + ".data.csv", x.reshape(rows, -1), columns)
    write_rows(name + ".background.csv", background.reshape(background_rows, -1), columns)
    write_rows(name + ".predictions.csv", predictions, None)
    classes = predictions.shape[1]
    entry = {"name": name, "model": name, "written_by": how, "data": name + ".data.csv",
             "background": name + ".background.csv", "predictions": name + ".predictions.csv",
             "classes": int(classes)}
    if reference == "shap":
        values = np.asarray(shap.DeepExplainer(model, background).shap_values(x))  # [n, ..., K]
        values = values.reshape(rows, features, classes).transpose(0, 2, 1)       # [n, K, M]
        gap = np.abs(values.sum(axis=2) - (predictions - model(background).numpy().mean(axis=0)))
        entry.update(method="deep", shap=name + ".shap.csv", additivity_gap=float(gap.max()))
        write_rows(name + ".shap.csv", values.reshape(rows * classes, features), None)
    elif reference == "predict":
        entry.update(method="predict")
    else:
        values = integrated_gradients(model, x).reshape(rows * classes, features)
        entry.update(method="integrated-gradients", reference=name + ".ig.csv")
        write_rows(name + ".ig.csv", values, None)
    return entry


cases = []

inputs = keras.Input((6,))
h = keras.layers.Dense(10, activation="relu", name="hidden")(inputs)
h = keras.layers.Dense(8, activation="tanh", name="hidden2")(h)
outputs = keras.layers.Dense(3, activation="softmax", name="head")(h)
mlp = keras.Model(inputs, outputs)
cases.append(case("mlp", mlp, (6,), 8, 12))
# The same network through tf.saved_model.save: other function names, other variable handles.
cases.append(case("mlp_tf_saved", mlp, (6,), 8, 12, how="tf.saved_model.save"))

# Channels last on a non-square image, so a wrong layout cannot pass; batch normalisation with
# statistics of its own (Keras's defaults would make it nearly the identity).
inputs = keras.Input((10, 8, 2))
h = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
h = keras.layers.BatchNormalization(name="norm")(h)
h = keras.layers.Activation("relu")(h)
h = keras.layers.MaxPooling2D(2)(h)
h = keras.layers.Conv2D(3, (3, 2), activation="relu", name="conv2")(h)
h = keras.layers.Dropout(0.5)(h)
h = keras.layers.Flatten()(h)
outputs = keras.layers.Dense(4, activation="softmax", name="head")(h)
cnn = keras.Model(inputs, outputs)
norm = cnn.get_layer("norm")
gamma, beta, mean, variance = norm.get_weights()
norm.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.2, beta.shape),
                  rng.normal(0, 0.3, mean.shape), rng.uniform(0.5, 2.0, variance.shape)])
cases.append(case("cnn", cnn, (10, 8, 2), 5, 6))

inputs = keras.Input((5, 3))
h = keras.layers.LSTM(4, name="lstm")(inputs)
outputs = keras.layers.Dense(2, activation="softmax", name="head")(h)
cases.append(case("lstm", keras.Model(inputs, outputs), (5, 3), 4, 3, reference="ig"))

# Both directions: the backward GRU reverses its steps (ReverseV2) inside its own loop.
inputs = keras.Input((4, 3))
h = keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True), name="gru")(inputs)
h = keras.layers.GlobalAveragePooling1D()(h)
outputs = keras.layers.Dense(1, activation="sigmoid", name="head")(h)
cases.append(case("bigru", keras.Model(inputs, outputs), (4, 3), 3, 3, reference="ig"))


# Every other layer glassbox reads from .keras files, as TensorFlow's graph writes them, checked
# by TensorFlow's predictions: the dense layers and activations, 1D and 2D convolutions and
# pools (strides, dilations, same padding, depthwise), global pools, and a 3D volume.
x_dense = rng.normal(size=(200, 12)).astype(np.float32) * 3 + 1
inputs = keras.Input((12,))
norm = keras.layers.Normalization(name="norm")
norm.adapt(x_dense)
h = keras.layers.Rescaling(0.5, offset=0.25, name="rescale")(norm(inputs))
a = keras.layers.BatchNormalization(name="batch_norm")(keras.layers.Dense(16, activation="tanh")(h))
b = keras.layers.Dense(16, activation="gelu")(h)
c = keras.layers.Dense(16, activation="elu")(h)
total = keras.layers.Add()([a, b, c])
parts = [keras.layers.Dense(8, activation=act)(total)
         for act in ("selu", "softplus", "leaky_relu", "sigmoid", "hard_sigmoid", "swish",
                     "exponential", "relu6", "linear")]
joined = keras.layers.LayerNormalization()(keras.layers.Concatenate()(parts))
joined = keras.layers.ReLU(max_value=4.0)(keras.layers.Reshape((9, 8))(joined))
joined = keras.layers.Flatten()(keras.layers.Dropout(0.3)(joined))
outputs = keras.layers.Dense(3, activation="softmax")(joined)
cases.append(case("dense_layers", keras.Model(inputs, outputs), (12,), 6, 2, reference="predict"))

inputs = keras.Input((16, 3))
h = keras.layers.Conv1D(4, 3, padding="same", dilation_rate=2, activation="relu")(inputs)
h = keras.layers.AveragePooling1D(2)(h)
h = keras.layers.Conv1D(4, 3, strides=2)(h)
h = keras.layers.Concatenate()([keras.layers.GlobalMaxPooling1D()(h),
                                keras.layers.GlobalAveragePooling1D()(h)])
outputs = keras.layers.Dense(2)(h)
# A dilated convolution is SpaceToBatchND -> Conv2D -> BatchToSpaceND in TensorFlow's graph:
# integrated gradients check the rearrangements' gradients too.
cases.append(case("conv1d_layers", keras.Model(inputs, outputs), (16, 3), 4, 2, reference="ig"))

inputs = keras.Input((9, 7, 2))
h = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(inputs)
h = keras.layers.DepthwiseConv2D(2, depth_multiplier=2, padding="same")(h)
h = keras.layers.AveragePooling2D(2, padding="same")(h)
h = keras.layers.Conv2D(3, 2, dilation_rate=2, padding="same")(h)
h = keras.layers.GlobalMaxPooling2D()(h)
outputs = keras.layers.Dense(2, activation="softmax")(h)
cases.append(case("conv2d_layers", keras.Model(inputs, outputs), (9, 7, 2), 4, 2, reference="predict"))

inputs = keras.Input((4, 6, 6, 1))
h = keras.layers.Conv3D(2, 2, padding="same", activation="relu")(inputs)
h = keras.layers.MaxPooling3D(2)(h)
h = keras.layers.GlobalAveragePooling3D()(h)
outputs = keras.layers.Dense(2)(h)
cases.append(case("conv3d_layers", keras.Model(inputs, outputs), (4, 6, 6, 1), 3, 2, reference="predict"))


class Conditional(tf.Module):
    """A branch on the data (tf.cond): control flow no unrolling can remove."""

    @tf.function(input_signature=[tf.TensorSpec((None, 3), tf.float32, name="x")])
    def serve(self, x):
        return {"y": tf.cond(tf.reduce_sum(x) > 0, lambda: x * 2.0, lambda: x - 1.0)}


conditional = Conditional()
tf.saved_model.save(conditional, os.path.join(directory, "conditional"),
                    signatures={"serving_default": conditional.serve})
cases.append({"name": "conditional", "model": "conditional", "written_by": "tf.saved_model.save",
              "expect_error": "StatelessIf"})

with open(os.path.join(directory, "manifest.json"), "w") as f:
    json.dump({"generated_by": "tests/conformance/generate_saved_model.py",
               "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                            "shap": shap.__version__},
               "cases": cases}, f, indent=1)
