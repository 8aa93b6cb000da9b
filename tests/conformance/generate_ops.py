"""Operator fixtures for what transformer exports use (Mod, Range, Trilu, CumSum, Size, Split,
IsNaN, IsInf, Einsum, ScatterND): small ONNX graphs written with onnx.helper, each fed rows of float inputs x [n, 6],
with onnxruntime's outputs as the reference and numpy's as a second. Shape arithmetic (Shape,
Gather, Range, Mod, Size) runs on int64 beside the data, as the exports do.
usage: generate_ops.py OUT_DIRECTORY (pip install onnx onnxruntime numpy)"""
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

directory = sys.argv[1]
os.makedirs(directory, exist_ok=True)
rng = np.random.default_rng(5)
FEATURES = 6
x = rng.normal(size=(7, FEATURES)).astype(np.float32)
x[0, 2] = 0.0  # a zero divided by zero: NaN for IsNaN


def constant(name, value):
    return numpy_helper.from_array(np.asarray(value), name)


def model(name, nodes, initializers, outputs, expected):
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, FEATURES])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, outputs])], initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="glassbox-fixtures")
    onnx.checker.check_model(proto)
    path = os.path.join(directory, name + ".onnx")
    onnx.save(proto, path)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    reference = session.run(None, {"x": x})[0]
    gap = float(np.abs(reference - expected).max())
    assert gap < 1e-5, (name, gap)
    np.savetxt(os.path.join(directory, name + ".outputs.csv"), reference, delimiter=",", fmt="%.9g")
    return {"name": name, "model": name + ".onnx", "outputs": name + ".outputs.csv",
            "numpy_gap": gap, "differentiable": name not in ("non_finite", "cumsum_positions")}


# The feature axis's length, from the data's shape: Shape -> Gather, as exports compute it.
length = [helper.make_node("Shape", ["x"], ["shape"]),
          helper.make_node("Gather", ["shape", "one"], ["length"], axis=0)]
one = constant("one", np.int64(1))

np.seterr(divide="ignore", invalid="ignore")  # the non_finite case divides by zero on purpose
weights = rng.normal(size=(FEATURES, 2)).astype(np.float32)
cases = [
    # Running sums along the features, forward and (exclusive) in reverse.
    model("cumsum", [helper.make_node("CumSum", ["x", "axis"], ["y"])],
          [constant("axis", np.int64(1))], FEATURES, np.cumsum(x, axis=1)),
    model("cumsum_reverse", [helper.make_node("CumSum", ["x", "axis"], ["y"], exclusive=1, reverse=1)],
          [constant("axis", np.int64(-1))], FEATURES,
          np.flip(np.cumsum(np.flip(x, 1), axis=1), 1) - x),
    # Position ids counted over a mask in int64 (x > 0 stands for the attention mask), as
    # RoBERTa-style exports compute them, added to the data (its comparison has no gradient).
    model("cumsum_positions", [
        helper.make_node("Greater", ["x", "zero_float"], ["positive"]),
        helper.make_node("Cast", ["positive"], ["mask"], to=TensorProto.INT64),
        helper.make_node("CumSum", ["mask", "axis"], ["counted"]),
        helper.make_node("Mul", ["counted", "mask"], ["positions"]),
        helper.make_node("Cast", ["positions"], ["positions_float"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["x", "positions_float"], ["y"])],
          [constant("zero_float", np.float32(0)), constant("axis", np.int64(1))], FEATURES,
          x + np.cumsum(x > 0, axis=1) * (x > 0)),
    # A causal mask: each row as a 2 x 3 matrix, kept on and below the first upper diagonal.
    model("trilu", [helper.make_node("Reshape", ["x", "matrix"], ["m"]),
                    helper.make_node("Trilu", ["m", "k"], ["t"], upper=0),
                    helper.make_node("Reshape", ["t", "flat"], ["y"])],
          [constant("matrix", np.array([-1, 2, 3], np.int64)), constant("k", np.int64(1)),
           constant("flat", np.array([-1, FEATURES], np.int64))], FEATURES,
          np.tril(x.reshape(-1, 2, 3), 1).reshape(-1, FEATURES)),
    model("triu", [helper.make_node("Reshape", ["x", "matrix"], ["m"]),
                   helper.make_node("Trilu", ["m"], ["t"]),
                   helper.make_node("Reshape", ["t", "flat"], ["y"])],
          [constant("matrix", np.array([-1, 3, 2], np.int64)),
           constant("flat", np.array([-1, FEATURES], np.int64))], FEATURES,
          np.triu(x.reshape(-1, 3, 2)).reshape(-1, FEATURES)),
    # Positions 0..5 (Range over the length), wrapped by an int Mod of Python's sign rule after
    # a shift below zero, added to the data; and a float fmod of the data.
    model("range_mod", length + [
        helper.make_node("Range", ["zero", "length", "one"], ["positions"]),
        helper.make_node("Sub", ["positions", "three"], ["shifted"]),
        helper.make_node("Mod", ["shifted", "four"], ["wrapped"]),
        helper.make_node("Cast", ["wrapped"], ["wrapped_float"], to=TensorProto.FLOAT),
        helper.make_node("Mod", ["x", "divisor"], ["remainder"], fmod=1),
        helper.make_node("Add", ["remainder", "wrapped_float"], ["y"])],
          [constant("zero", np.int64(0)), one, constant("three", np.int64(3)),
           constant("four", np.int64(4)), constant("divisor", np.float32(0.7))], FEATURES,
          np.fmod(x, np.float32(0.7)) + np.mod(np.arange(FEATURES) - 3, 4)),
    model("range_float", [helper.make_node("Range", ["start", "limit", "delta"], ["steps"]),
                          helper.make_node("Add", ["x", "steps"], ["y"])],
          [constant("start", np.float32(0.5)), constant("limit", np.float32(-2.5)),
           constant("delta", np.float32(-0.5))], FEATURES,
          x + np.arange(0.5, -2.5, -0.5, dtype=np.float32)),
    # The data scaled by a row's element count (Size), as an attention's 1 / sqrt(d) is computed.
    model("size", [helper.make_node("Gather", ["x", "first"], ["row"], axis=0),
                   helper.make_node("Size", ["row"], ["count"]),
                   helper.make_node("Cast", ["count"], ["count_float"], to=TensorProto.FLOAT),
                   helper.make_node("Sqrt", ["count_float"], ["root"]),
                   helper.make_node("Div", ["x", "root"], ["y"])],
          [constant("first", np.int64(0))], FEATURES, x / np.sqrt(np.float32(FEATURES))),
    # Split by sizes (as a fused query/key/value projection is split), one part scaled, then
    # joined again; and into equal parts, joined in another order.
    model("split", [helper.make_node("Split", ["x", "sizes"], ["a", "b"], axis=1),
                    helper.make_node("Mul", ["a", "three_float"], ["scaled"]),
                    helper.make_node("Concat", ["b", "scaled"], ["y"], axis=1)],
          [constant("sizes", np.array([2, 4], np.int64)), constant("three_float", np.float32(3))],
          FEATURES, np.concatenate([x[:, 2:], 3 * x[:, :2]], axis=1)),
    model("split_equal", [helper.make_node("Split", ["x"], ["a", "b", "c"], axis=-1),
                          helper.make_node("Concat", ["c", "a", "b"], ["y"], axis=1)],
          [], FEATURES, np.concatenate([x[:, 4:], x[:, :2], x[:, 2:4]], axis=1)),
    # Einsum: a product with weights, written out and with the output implied (letters used
    # once, alphabetically); attention scores of each row with itself (both sides the data);
    # a diagonal; an ellipsis for the leading dimensions.
    model("einsum_matmul", [helper.make_node("Einsum", ["x", "weights"], ["y"], equation="bi,ij->bj")],
          [constant("weights", weights)], 2, x @ weights),
    model("einsum_implicit", [helper.make_node("Einsum", ["x", "weights"], ["y"], equation="bj,jk")],
          [constant("weights", weights)], 2, x @ weights),
    model("einsum_attention", [
        helper.make_node("Reshape", ["x", "heads"], ["m"]),
        helper.make_node("Einsum", ["m", "m"], ["scores"], equation="bqd,bkd->bqk"),
        helper.make_node("Reshape", ["scores", "flat_scores"], ["y"])],
          [constant("heads", np.array([-1, 2, 3], np.int64)),
           constant("flat_scores", np.array([-1, 4], np.int64))], 4,
          np.einsum("bqd,bkd->bqk", x.reshape(-1, 2, 3), x.reshape(-1, 2, 3)).reshape(-1, 4)),
    model("einsum_diagonal", [
        helper.make_node("Slice", ["x", "zero", "four", "one"], ["square"]),
        helper.make_node("Reshape", ["square", "matrix"], ["m"]),
        helper.make_node("Einsum", ["m"], ["y"], equation="bii->bi")],
          [constant("zero", np.array([0], np.int64)), constant("four", np.array([4], np.int64)),
           constant("one", np.array([1], np.int64)), constant("matrix", np.array([-1, 2, 2], np.int64))],
          2, np.einsum("bii->bi", x[:, :4].reshape(-1, 2, 2))),
    model("einsum_ellipsis", [helper.make_node("Einsum", ["x", "weights"], ["y"], equation="...j,jk->...k")],
          [constant("weights", weights)], 2, x @ weights),
    # ScatterND as an index assignment exports: features 1 and 4 replaced by twice features 0
    # and 3 (on the transposed data, so the indices name features, not rows).
    model("scatter_nd", [
        helper.make_node("Transpose", ["x"], ["columns"], perm=[1, 0]),
        helper.make_node("Gather", ["columns", "sources"], ["picked"], axis=0),
        helper.make_node("Mul", ["picked", "two"], ["updates"]),
        helper.make_node("ScatterND", ["columns", "targets", "updates"], ["scattered"]),
        helper.make_node("Transpose", ["scattered"], ["y"], perm=[1, 0])],
          [constant("sources", np.array([0, 3], np.int64)), constant("two", np.float32(2)),
           constant("targets", np.array([[1], [4]], np.int64))], FEATURES,
          np.stack([x[:, 0], 2 * x[:, 0], x[:, 2], x[:, 3], 2 * x[:, 3], x[:, 5]], axis=1)),
    # Division by a vector holding zeros: the infinities and NaNs replaced by -1 and 9 (its
    # gradient is NaN where the division's is, as torch's autograd gives: not checked).
    model("non_finite", [
        helper.make_node("Div", ["x", "divisor"], ["ratio"]),
        helper.make_node("IsInf", ["ratio"], ["infinite"], detect_negative=1, detect_positive=1),
        helper.make_node("Where", ["infinite", "minus_one", "ratio"], ["finite"]),
        helper.make_node("IsNaN", ["finite"], ["missing"]),
        helper.make_node("Where", ["missing", "nine", "finite"], ["y"])],
          [constant("divisor", np.array([1, 0, 0, 2, 0, -1], np.float32)),
           constant("minus_one", np.float32(-1)), constant("nine", np.float32(9))], FEATURES,
          np.nan_to_num(np.where(np.isinf(x / np.array([1, 0, 0, 2, 0, -1], np.float32)), -1,
                                 x / np.array([1, 0, 0, 2, 0, -1], np.float32)), nan=9)),
]

# A range of 10^12 values must be refused before anything is allocated.
huge = helper.make_graph(
    [helper.make_node("Range", ["start", "limit", "delta"], ["steps"]),
     helper.make_node("ReduceSum", ["steps"], ["total"], keepdims=1),
     helper.make_node("Add", ["x", "total"], ["y"])], "range_huge",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, FEATURES])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, FEATURES])],
    [constant("start", np.float32(0)), constant("limit", np.float32(1e12)),
     constant("delta", np.float32(1))])
onnx.save(helper.make_model(huge, opset_imports=[helper.make_opsetid("", 17)]),
          os.path.join(directory, "range_huge.onnx"))
cases.append({"name": "range_huge", "model": "range_huge.onnx",
              "expect_error": "a range of 999999995904 values (at most"})

# Split sizes that overrun the axis: an error naming them, whenever it is found.
overrun = helper.make_graph(
    [helper.make_node("Split", ["x", "sizes"], ["a", "b"], axis=1),
     helper.make_node("Concat", ["a", "b"], ["y"], axis=1)], "split_overrun",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, FEATURES])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, FEATURES])],
    [constant("sizes", np.array([2, 5], np.int64))])
onnx.save(helper.make_model(overrun, opset_imports=[helper.make_opsetid("", 17)]),
          os.path.join(directory, "split_overrun.onnx"))

# An operator glassbox lacks (Hardmax): loading must name it and its node.
lacking = helper.make_graph(
    [helper.make_node("Hardmax", ["x"], ["y"], name="/Hardmax")],
    "unsupported", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, FEATURES])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, FEATURES])])
onnx.save(helper.make_model(lacking, opset_imports=[helper.make_opsetid("", 17)]),
          os.path.join(directory, "unsupported.onnx"))
cases.append({"name": "unsupported", "model": "unsupported.onnx",
              "expect_error": 'node "/Hardmax" uses operator Hardmax'})

np.savetxt(os.path.join(directory, "data.csv"), x, delimiter=",", fmt="%.9g",
           header=",".join("x%d" % j for j in range(FEATURES)), comments="")
with open(os.path.join(directory, "manifest.json"), "w") as f:
    json.dump({"generated_by": "tests/conformance/generate_ops.py", "data": "data.csv",
               "versions": {"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__},
               "cases": cases}, f, indent=1)
