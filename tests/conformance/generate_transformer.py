"""Transformer exports as torch writes them: a small BERT-style classifier (token and learned
position embeddings, a stock nn.TransformerEncoder of two nn.TransformerEncoderLayer with a
padding mask, masked mean pooling, LayerNorm, a linear head) exported to ONNX by both of torch's
exporters (TorchScript, opset 17, and dynamo), with onnxruntime's outputs, and captum's
LayerIntegratedGradients at the token embedding (its defaults: 50 Gauss-Legendre steps) from a
baseline of token 1 at every position, summed over the embedding: one value per token and
class. Padding (token 0) ends some rows.
usage: generate_transformer.py OUT_DIRECTORY (pip install torch onnx onnxscript onnxruntime captum)"""
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime
import torch
from captum.attr import LayerIntegratedGradients
from torch import nn

directory = sys.argv[1]
os.makedirs(directory, exist_ok=True)
torch.manual_seed(3)
rng = np.random.default_rng(3)
VOCABULARY, LENGTH, WIDTH, CLASSES = 40, 10, 16, 3


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.tokens = nn.Embedding(VOCABULARY, WIDTH, padding_idx=0)
        self.positions = nn.Embedding(LENGTH, WIDTH)
        layer = nn.TransformerEncoderLayer(WIDTH, 2, dim_feedforward=32, dropout=0.0,
                                           activation="gelu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(WIDTH)
        self.head = nn.Linear(WIDTH, CLASSES)

    def forward(self, ids):
        positions = torch.arange(ids.shape[1], device=ids.device)
        padding = ids == 0
        hidden = self.encoder(self.tokens(ids) + self.positions(positions),
                              src_key_padding_mask=padding)
        keep = (~padding).unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)
        return self.head(self.norm(pooled))


model = Classifier().eval()
rows = 6
ids = rng.integers(2, VOCABULARY, size=(rows, LENGTH))
for r, length in enumerate([10, 7, 10, 4, 9, 6]):
    ids[r, length:] = 0
ids = torch.tensor(ids, dtype=torch.int64)
baseline = torch.ones_like(ids)


def export(name, dynamo):
    path = os.path.join(directory, name + ".onnx")
    if dynamo:
        batch = torch.export.Dim("batch", min=1)
        torch.onnx.export(model, (ids,), path, dynamo=True, input_names=["ids"],
                          output_names=["logits"], dynamic_shapes={"ids": {0: batch}})
    else:
        torch.onnx.export(model, (ids,), path, dynamo=False, opset_version=17,
                          input_names=["ids"], output_names=["logits"],
                          dynamic_axes={"ids": {0: "batch"}, "logits": {0: "batch"}})
    proto = onnx.load(path)
    onnx.save(proto, path)  # external data, if any, folded back into one file
    weights = {i.name for i in proto.graph.initializer}
    embedding = [node.output[0] for node in proto.graph.node
                 if node.op_type == "Gather" and node.input[0] in weights
                 and "token" in node.input[0]]
    assert len(embedding) == 1, embedding
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    outputs = session.run(None, {session.get_inputs()[0].name: ids.numpy()})[0]
    with torch.no_grad():
        gap = float(np.abs(outputs - model(ids).numpy()).max())
    assert gap < 1e-4, (name, gap)
    np.savetxt(os.path.join(directory, name + ".outputs.csv"), outputs, delimiter=",", fmt="%.9g")
    ops = sorted({node.op_type for node in proto.graph.node})
    return {"name": name, "model": name + ".onnx", "exporter": "dynamo" if dynamo else "torchscript",
            "outputs": name + ".outputs.csv", "layer": embedding[0], "torch_gap": gap,
            "operators": ops}


cases = [export("encoder_torchscript", False), export("encoder_dynamo", True)]

attributions = LayerIntegratedGradients(model, model.tokens)
values = np.stack([attributions.attribute(ids, baselines=baseline, target=k).sum(dim=2)
                   .detach().numpy() for k in range(CLASSES)], axis=1)       # [n, K, tokens]
np.savetxt(os.path.join(directory, "captum_lig.csv"), values.reshape(rows * CLASSES, LENGTH),
           delimiter=",", fmt="%.9g")
columns = ["token_%d" % j for j in range(LENGTH)]
np.savetxt(os.path.join(directory, "data.csv"), ids.numpy(), delimiter=",", fmt="%d",
           header=",".join(columns), comments="")
np.savetxt(os.path.join(directory, "baseline.csv"), baseline[:1].numpy(), delimiter=",", fmt="%d",
           header=",".join(columns), comments="")
with open(os.path.join(directory, "vocabulary.txt"), "w") as f:
    f.write("\n".join(["[PAD]", "[UNK]"] + ["word%d" % i for i in range(2, VOCABULARY)]) + "\n")
with open(os.path.join(directory, "manifest.json"), "w") as f:
    json.dump({"generated_by": "tests/conformance/generate_transformer.py",
               "versions": {"torch": torch.__version__, "onnx": onnx.__version__,
                            "onnxruntime": onnxruntime.__version__},
               "data": "data.csv", "baseline": "baseline.csv", "classes": CLASSES,
               "reference": "captum_lig.csv", "vocabulary": "vocabulary.txt", "cases": cases},
              f, indent=1)
