"""A Keras transformer encoder as TensorFlow users ship it: token embedding and learned
positions, keras.layers.MultiHeadAttention with a padding mask, residual LayerNormalization, a
GELU (tanh form) feed-forward block, masked mean pooling and a linear head, written as a SavedModel by
model.export() and converted by tf2onnx (opset 17). References: TensorFlow's own predictions
through the SavedModel's serving signature (onnxruntime's for the ONNX file), and integrated
gradients at the token embedding computed by TensorFlow with captum's rule (50 Gauss-Legendre
points) from a baseline of token 1 at every position, the padding mask kept from the row, summed
over the embedding: one value per token and class.
usage: generate_keras_transformer.py OUT_DIRECTORY (pip install tensorflow-cpu tf2onnx onnxruntime)"""
import json
import os
import shutil
import sys

import numpy as np
import onnx
import onnxruntime
import tensorflow as tf
import tf2onnx
import keras
from tensorflow.core.protobuf import saved_model_pb2

directory = sys.argv[1]
os.makedirs(directory, exist_ok=True)
keras.utils.set_random_seed(9)
rng = np.random.default_rng(9)
VOCABULARY, LENGTH, WIDTH, CLASSES = 30, 8, 16, 3


class Encoder(keras.Model):
    """The embedding, then `body`: what integrated gradients differentiate at the embedding."""

    def __init__(self):
        super().__init__()
        self.tokens = keras.layers.Embedding(VOCABULARY, WIDTH, name="tokens")
        self.attention = keras.layers.MultiHeadAttention(num_heads=2, key_dim=8, name="attention")
        self.first_norm = keras.layers.LayerNormalization(name="first_norm")
        # GELU's tanh form: tf2onnx has no Erfc, which the exact form uses in TensorFlow.
        self.expand = keras.layers.Dense(
            32, activation=lambda x: keras.activations.gelu(x, approximate=True), name="expand")
        self.contract = keras.layers.Dense(WIDTH, name="contract")
        self.second_norm = keras.layers.LayerNormalization(name="second_norm")
        self.head = keras.layers.Dense(CLASSES, name="head")

    def build(self, shape):
        self.positions = self.add_weight((LENGTH, WIDTH), initializer="random_normal",
                                         name="positions")
        super().build(shape)

    def body(self, embedded, ids):
        keep = keras.ops.cast(keras.ops.not_equal(ids, 0), "float32")            # [n, L]
        x = embedded + self.positions
        mask = keras.ops.cast(keep[:, None, :] * keep[:, :, None], "bool")      # [n, L, L]
        x = self.first_norm(x + self.attention(x, x, attention_mask=mask))
        x = self.second_norm(x + self.contract(self.expand(x)))
        pooled = keras.ops.sum(x * keep[:, :, None], axis=1) / keras.ops.maximum(
            keras.ops.sum(keep, axis=1, keepdims=True), 1.0)
        return self.head(pooled)

    def call(self, ids):
        return self.body(self.tokens(ids), ids)


model = Encoder()
rows = 5
ids = rng.integers(2, VOCABULARY, size=(rows, LENGTH)).astype(np.int32)
for r, length in enumerate([8, 5, 8, 3, 6]):
    ids[r, length:] = 0
logits = model(ids).numpy()


def integrated_gradients(steps=50):
    points, weights = np.polynomial.legendre.leggauss(steps)
    alphas, weights = (points + 1) / 2, weights / 2
    embedded = model.tokens(ids)
    reference = model.tokens(np.ones_like(ids))
    out = np.zeros((rows, CLASSES, LENGTH))
    for k in range(CLASSES):
        total = np.zeros(embedded.shape)
        for alpha, weight in zip(alphas, weights):
            point = tf.constant(reference + alpha * (embedded - reference))
            with tf.GradientTape() as tape:
                tape.watch(point)
                y = model.body(point, ids)[:, k]
            total += weight * tape.gradient(y, point).numpy()
        out[:, k] = (total * (embedded - reference).numpy()).sum(axis=2)
    return out


def embedding_tensor(names, scope):
    found = [name for name in names if name.startswith(scope + "_") or "/%s" % scope in name]
    assert len(found) == 1, (scope, names)
    return found[0]


cases = []
path = os.path.join(directory, "encoder.savedmodel")
shutil.rmtree(path, ignore_errors=True)
model.export(path, verbose=False,
             input_signature=[tf.TensorSpec((None, LENGTH), tf.int32, name="ids")])
serving = tf.saved_model.load(path).signatures["serving_default"]
predictions = next(iter(serving(tf.constant(ids)).values())).numpy()
assert np.abs(predictions - logits).max() < 1e-5
np.savetxt(os.path.join(directory, "encoder.savedmodel.outputs.csv"), predictions, delimiter=",",
           fmt="%.9g")
saved = saved_model_pb2.SavedModel()
with open(os.path.join(path, "saved_model.pb"), "rb") as f:
    saved.ParseFromString(f.read())
gathers = sorted({node.name + ":0" for function in saved.meta_graphs[0].graph_def.library.function
                  for node in function.node_def if node.op in ("GatherV2", "ResourceGather")})
operators = sorted({node.op for function in saved.meta_graphs[0].graph_def.library.function
                    for node in function.node_def})
cases.append({"name": "encoder_savedmodel", "model": "encoder.savedmodel",
              "outputs": "encoder.savedmodel.outputs.csv",
              "layer": embedding_tensor(gathers, "tokens"), "operators": operators})

path = os.path.join(directory, "encoder.onnx")
signature = (tf.TensorSpec((None, LENGTH), tf.int32, name="ids"),)
tf2onnx.convert.from_function(tf.function(model.call), input_signature=signature, opset=17,
                              output_path=path)
proto = onnx.load(path)
session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
outputs = session.run(None, {session.get_inputs()[0].name: ids})[0]
assert np.abs(outputs - logits).max() < 1e-4
np.savetxt(os.path.join(directory, "encoder.onnx.outputs.csv"), outputs, delimiter=",", fmt="%.9g")
weights = {i.name for i in proto.graph.initializer}
gathers = [node.output[0] for node in proto.graph.node
           if node.op_type == "Gather" and node.input[0] in weights]
cases.append({"name": "encoder_tf2onnx", "model": "encoder.onnx", "outputs": "encoder.onnx.outputs.csv",
              "layer": embedding_tensor(gathers, "tokens"),
              "operators": sorted({node.op_type for node in proto.graph.node})})

values = integrated_gradients()
np.savetxt(os.path.join(directory, "integrated_gradients.csv"),
           values.reshape(rows * CLASSES, LENGTH), delimiter=",", fmt="%.9g")
columns = ["token_%d" % j for j in range(LENGTH)]
np.savetxt(os.path.join(directory, "data.csv"), ids, delimiter=",", fmt="%d",
           header=",".join(columns), comments="")
np.savetxt(os.path.join(directory, "baseline.csv"), np.ones((1, LENGTH)), delimiter=",", fmt="%d",
           header=",".join(columns), comments="")
with open(os.path.join(directory, "manifest.json"), "w") as f:
    json.dump({"generated_by": "tests/conformance/generate_keras_transformer.py",
               "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                            "tf2onnx": tf2onnx.__version__, "onnxruntime": onnxruntime.__version__},
               "data": "data.csv", "baseline": "baseline.csv", "classes": CLASSES,
               "reference": "integrated_gradients.csv", "cases": cases}, f, indent=1)
