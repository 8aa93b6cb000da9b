#!/usr/bin/env python3
"""Fills nodes_hitrates of a scikit-learn tree model converted by skl2onnx with the number of
training rows (weighted, as scikit-learn counts them) that reached each node.

skl2onnx writes every hit rate as 1, which leaves path-dependent TreeSHAP without the node
covers it needs; glassbox then refuses that method. With the counts filled in, glassbox's
`--method tree` gives the same values as shap's TreeExplainer on the original model.

Usage, from Python (needs scikit-learn and onnx):
    from onnx_hitrates import fill_hitrates
    onnx_model = skl2onnx.to_onnx(sklearn_model, X[:1])
    fill_hitrates(sklearn_model, onnx_model)
    onnx.save(onnx_model, "model.onnx")

Every node's feature and threshold are checked against the scikit-learn tree, so a model whose
trees were numbered differently is refused rather than given wrong covers.
"""
import numpy as np
from onnx import helper

TREE_OPS = ("TreeEnsembleClassifier", "TreeEnsembleRegressor")


def sklearn_trees(model):
    """The fitted trees in skl2onnx's tree order: forests by estimator, gradient boosting by
    stage then class."""
    estimators = np.asarray(model.estimators_, dtype=object)
    return [estimator.tree_ for estimator in estimators.ravel()]


def fill_hitrates(sklearn_model, onnx_model):
    trees = sklearn_trees(sklearn_model)
    for node in onnx_model.graph.node:
        if node.op_type not in TREE_OPS:
            continue
        attributes = {a.name: a for a in node.attribute}
        value = lambda name: helper.get_attribute_value(attributes[name])  # noqa: E731
        tree_ids, node_ids = value("nodes_treeids"), value("nodes_nodeids")
        features, thresholds = value("nodes_featureids"), value("nodes_values")
        modes = value("nodes_modes")
        rates = []
        for tree_id, node_id, feature, threshold, mode in zip(tree_ids, node_ids, features,
                                                             thresholds, modes):
            tree = trees[tree_id]
            if mode != b"LEAF":
                # skl2onnx rounds thresholds to a neighbouring float32.
                expected = tree.threshold[node_id]
                if tree.feature[node_id] != feature or \
                        abs(expected - threshold) > 1e-6 * max(1.0, abs(expected)):
                    raise ValueError(f"tree {tree_id} node {node_id} does not match the "
                                     "scikit-learn model")
            rates.append(float(tree.weighted_n_node_samples[node_id]))
        if "nodes_hitrates" in attributes:
            node.attribute.remove(attributes["nodes_hitrates"])
        node.attribute.append(helper.make_attribute("nodes_hitrates", rates))
    return onnx_model
