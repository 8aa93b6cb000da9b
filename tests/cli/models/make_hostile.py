"""Writes the hostile ONNX models the CLI tests load (pip install onnx): each is a valid file
whose declared shapes no machine could hold, so loading must refuse it as bad input."""
import os
import sys

import onnx
from onnx import TensorProto, helper

directory = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
# An input of 1e11 values per row, through an Identity: a row no tensor could hold.
graph = helper.make_graph(
    [helper.make_node("Identity", ["x"], ["y"])], "huge_input",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 100000000000])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 100000000000])])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.save(model, os.path.join(directory, "huge_input.onnx"))
