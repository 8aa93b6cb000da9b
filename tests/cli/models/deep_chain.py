"""Rewrites an XGBoost JSON model's first tree into a chain of SPLITS splits, as a hostile or
corrupt file might hold: split 2i sends values left to leaf 2i + 1 and right to split 2i + 2,
and the chain ends in leaf 2 SPLITS.
usage: deep_chain.py MODEL.json OUT.json SPLITS"""
import json
import sys

model = json.load(open(sys.argv[1]))
splits = int(sys.argv[3])
nodes = 2 * splits + 1
left, right, parents = [-1] * nodes, [-1] * nodes, [2147483647] * nodes
for i in range(splits):
    split = 2 * i
    left[split], right[split] = split + 1, split + 2
    parents[split + 1] = parents[split + 2] = split
tree = model["learner"]["gradient_booster"]["model"]["trees"][0]
tree.update({
    "left_children": left, "right_children": right, "parents": parents,
    "split_indices": [0] * nodes, "split_conditions": [0.001 * i - 0.05 for i in range(nodes)],
    "split_type": [0] * nodes, "default_left": [0] * nodes, "base_weights": [0.1] * nodes,
    "loss_changes": [1.0] * nodes, "sum_hessian": [float(nodes - i) for i in range(nodes)],
})
tree["tree_param"]["num_nodes"] = str(nodes)
json.dump(model, open(sys.argv[2], "w"))
