"""Keras Grad-CAM fixtures: channels-last CNNs (square and not, one and three channels), their
Grad-CAM maps by TF's GradientTape at several layers, for the row's predicted class, upsampled
to the input by nearest neighbour (captum's LayerGradCam + interpolate, which glassbox follows:
source index = floor(target * layer size / input size)), each pixel's map value repeated over
the input's channels. Each network is checked three times: as saved by Keras, as exported by
tf2onnx (channels first inside, with Transposes, or a Reshape for one channel, at the edges),
and as the SavedModel Keras's model.export() writes (channels last, as TensorFlow runs it).
usage: generate_gradcam.py OUT_DIRECTORY (pip install tensorflow-cpu tf2onnx)"""
import json
import os
import shutil
import sys

import numpy as np
import onnx
import tensorflow as tf
import tf2onnx
import keras

directory = sys.argv[1]
os.makedirs(directory, exist_ok=True)
keras.utils.set_random_seed(7)
rng = np.random.default_rng(7)


def grad_cam(model, layer, x):
    inner = keras.Model(model.inputs, [model.get_layer(layer).output, model.outputs[0]])
    x = tf.constant(x)
    predicted = np.argmax(model(x).numpy(), axis=1)
    with tf.GradientTape() as tape:
        activations, outputs = inner(x)
        score = tf.reduce_sum(tf.gather(outputs, predicted, axis=1, batch_dims=1))
    gradients = tape.gradient(score, activations).numpy()
    activations = activations.numpy()
    weights = gradients.mean(axis=(1, 2))                       # [n, C]
    cam = np.einsum("nhwc,nc->nhw", activations, weights)       # [n, h, w]
    n, H, W, channels = x.shape
    h, w = cam.shape[1:]
    rows = (np.arange(H) * h) // H
    columns = (np.arange(W) * w) // W
    upsampled = cam[:, rows][:, :, columns]                     # [n, H, W]
    return np.repeat(upsampled[..., None], channels, axis=3).reshape(n, -1), predicted


def case(name, model, shape, layers):
    x = rng.normal(size=(6,) + shape).astype(np.float32)
    model.save(os.path.join(directory, name + ".keras"))
    np.savetxt(os.path.join(directory, name + ".data.csv"), x.reshape(len(x), -1), delimiter=",",
               header=",".join("x%d" % i for i in range(int(np.prod(shape)))), comments="",
               fmt="%.9g")
    references = {}
    for layer in layers:
        maps, predicted = grad_cam(model, layer, x)
        file = "%s.%s.csv" % (name, layer)
        np.savetxt(os.path.join(directory, file), maps, delimiter=",", fmt="%.9g")
        references[layer] = file
    return {"name": name, "data": name + ".data.csv", "input_shape": list(shape),
            "predicted": predicted.tolist(), "references": references,
            "models": [{"file": name + ".keras", "layers": {layer: layer for layer in layers}},
                       export_onnx(name, model, shape, layers),
                       export_saved_model(name, model, layers)]}


def layer_names(activations, layers):
    """Each layer's tensor among the activations' names: the one in the layer's scope."""
    names = {}
    for layer in layers:
        found = [value for value in activations if "/%s_" % layer in value or "/%s/" % layer in value]
        assert len(found) == 1, (layer, activations)
        names[layer] = found[0]
    return names


def export_saved_model(name, model, layers):
    """model.export(), and each layer's name there: its activation's TensorFlow tensor name."""
    from tensorflow.core.protobuf import saved_model_pb2
    path = os.path.join(directory, name + ".savedmodel")
    shutil.rmtree(path, ignore_errors=True)
    model.export(path, verbose=False)
    saved = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        saved.ParseFromString(f.read())
    activations = sorted({node.name + ":0" for function in saved.meta_graphs[0].graph_def.library.function
                          for node in function.node_def if node.op == "Relu"})
    return {"file": name + ".savedmodel", "layers": layer_names(activations, layers)}


def export_onnx(name, model, shape, layers):
    """The tf2onnx export, and each layer's name there: the output of its activation."""
    path = os.path.join(directory, name + ".onnx")
    signature = (tf.TensorSpec((None,) + shape, tf.float32, name="x"),)
    tf2onnx.convert.from_keras(model, input_signature=signature, opset=17, output_path=path)
    activations = [node.output[0] for node in onnx.load(path).graph.node if node.op_type == "Relu"]
    return {"file": name + ".onnx", "layers": layer_names(activations, layers)}


cases = []
# Square, one channel: the shape that drew vertical stripes.
inputs = keras.Input((16, 16, 1))
h = keras.layers.Conv2D(4, 3, activation="relu", name="conv1")(inputs)
h = keras.layers.Conv2D(6, 3, strides=2, activation="relu", name="conv2")(h)
h = keras.layers.Flatten()(h)
outputs = keras.layers.Dense(3, activation="softmax", name="head")(h)
cases.append(case("square", keras.Model(inputs, outputs), (16, 16, 1), ["conv1", "conv2"]))
# Not square, three channels, pooling between the layers, logits out.
inputs = keras.Input((12, 20, 3))
h = keras.layers.Conv2D(5, 3, padding="same", activation="relu", name="conv_a")(inputs)
h = keras.layers.MaxPooling2D(2)(h)
h = keras.layers.Conv2D(4, 3, activation="relu", name="conv_b")(h)
h = keras.layers.GlobalAveragePooling2D()(h)
outputs = keras.layers.Dense(4, name="logits")(h)
cases.append(case("wide", keras.Model(inputs, outputs), (12, 20, 3), ["conv_a", "conv_b"]))
with open(os.path.join(directory, "manifest.json"), "w") as f:
    json.dump({"generated_by": "tests/conformance/generate_gradcam.py",
               "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                            "tf2onnx": tf2onnx.__version__},
               "cases": cases}, f, indent=1)
