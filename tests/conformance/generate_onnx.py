"""Generates the ONNX fixtures: networks exported by PyTorch (and Keras through tf2onnx) and
ONNX-ML models converted from scikit-learn by skl2onnx, with onnxruntime's outputs as the
reference. Run through generate.sh; writes into fixtures/onnx/ and its manifest.json.

Stages:
  torch    PyTorch networks: the credit MLP, a transformer encoder block, an op zoo
  sklearn  scikit-learn linear and tree models through skl2onnx, with shap's values
  manifest joins the per-fixture *.meta.json files into manifest.json

Reference layouts (CSV with a header row, 17 significant digits):
  data      n rows x M inputs (the input tensor flattened per row)
  outputs   n rows x K: onnxruntime's values for the explained output
"""
import argparse
import glob
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from generate import CREDIT_TRAIN_ROWS, load_credit, write_csv  # noqa: E402

SEED = 7


def run_onnxruntime(path, X, output=None):
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    kind = np.int64 if session.get_inputs()[0].type == "tensor(int64)" else np.float32
    outputs = session.run([output] if output else None, {name: X.astype(kind)})
    return np.asarray(outputs[0], dtype=np.float64).reshape(len(X), -1)


class Fixture:
    def __init__(self, directory, name, model_file, columns):
        self.directory, self.name = directory, name
        self.columns = list(columns)
        self.meta = {"name": name, "model": model_file, "references": {}}

    def path(self, suffix):
        return os.path.join(self.directory, f"{self.name}.{suffix}")

    def data(self, X):
        write_csv(self.path("data.csv"), self.columns, X.reshape(len(X), -1))
        self.meta["data"] = f"{self.name}.data.csv"
        self.meta["features"] = int(np.prod(X.shape[1:]))

    def reference(self, key, values, header=None, **extra):
        values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
        header = header or [f"v{j}" for j in range(values.shape[1])]
        write_csv(self.path(f"{key}.csv"), header, values)
        self.meta["references"][key] = dict(file=f"{self.name}.{key}.csv", **extra)

    def save(self):
        with open(self.path("meta.json"), "w") as f:
            json.dump(self.meta, f, indent=1)


def credit_arrays():
    frame, y = load_credit()
    X = frame.to_numpy(dtype=np.float32)
    return frame.columns, X, y


def standardise(X_train):
    mean, scale = X_train.mean(axis=0), X_train.std(axis=0)
    scale[scale == 0] = 1
    return mean.astype(np.float32), scale.astype(np.float32)


# ---- PyTorch -------------------------------------------------------------------------------

def captum_references(fixture, model, rows, background, outputs):
    """captum's attributions of every output (rows of [n][K] x M) for the gradient methods."""
    import torch
    from captum.attr import GradientShap, InputXGradient, IntegratedGradients, Saliency
    model.eval()
    inputs = torch.tensor(rows, dtype=torch.float32)
    base = torch.tensor(background, dtype=torch.float32)
    write_csv(fixture.path("background.csv"), fixture.columns, background.reshape(len(background), -1))
    fixture.meta["background"] = f"{fixture.name}.background.csv"

    def forward(x):
        y = model(x.reshape((-1,) + rows.shape[1:]))
        return y.reshape(len(x), -1)

    flat = inputs.reshape(len(rows), -1)

    def each_output(attribute):
        values, deltas = [], []
        for k in range(outputs):
            result = attribute(k)
            attribution, delta = result if isinstance(result, tuple) else (result, None)
            values.append(attribution.detach().reshape(len(rows), -1).double().numpy())
            if delta is not None:
                deltas.append(delta.detach().double().numpy())
        values = np.stack(values, axis=1).reshape(len(rows) * outputs, -1)
        return values, (np.stack(deltas, axis=1) if deltas else None)

    integrated = IntegratedGradients(forward)
    for key, method, baseline in (("captum_ig", "gausslegendre", None),
                                  ("captum_ig_trapezoid_mean", "riemann_trapezoid", "mean")):
        reference = flat.mean(0, keepdim=True) * 0 if baseline is None else \
            base.reshape(len(background), -1).mean(0, keepdim=True)
        values, deltas = each_output(lambda k: integrated.attribute(
            flat, baselines=reference.expand_as(flat), target=k, n_steps=50, method=method,
            return_convergence_delta=True))
        fixture.reference(key, values, method=method, steps=50,
                          baseline="zeros" if baseline is None else "mean")
        fixture.reference(key + "_delta", deltas.reshape(len(rows), -1))
    values, _ = each_output(lambda k: Saliency(forward).attribute(flat, target=k, abs=True))
    fixture.reference("captum_saliency", values)
    values, _ = each_output(lambda k: InputXGradient(forward).attribute(flat, target=k))
    fixture.reference("captum_input_x_gradient", values)
    # Expected gradients: captum with many draws is the reference a sample is checked against.
    torch.manual_seed(SEED)
    flat_base = base.reshape(len(background), -1)
    values, _ = each_output(lambda k: GradientShap(forward).attribute(
        flat, baselines=flat_base, target=k, n_samples=4000, stdevs=0.0))
    fixture.reference("captum_gradient_shap", values, samples=4000)


def export_torch(module, example, path, opset):
    import torch
    module.eval()
    torch.onnx.export(module, example, path, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=opset,
                      dynamo=False)


def deep_references(fixture, model, rows, background, outputs=1, additive=True):
    """DeepSHAP by captum's DeepLiftShap and shap's DeepExplainer, every output (rows of
    [n][K] x M). additive=False: the network's rules do not add up (Softmax, taken element by
    element), so shap's additivity check is off, and captum is left out: its Softmax rule
    subtracts the mean multiplier of the whole batch, so a row's values depend on the rows
    explained beside it."""
    import shap
    import torch
    from captum.attr import DeepLiftShap
    model.eval()
    inputs = torch.tensor(rows, dtype=torch.float32)
    base = torch.tensor(background, dtype=torch.float32)
    values = [DeepLiftShap(model).attribute(inputs, baselines=base, target=k).detach()
              .reshape(len(rows), -1).double().numpy() for k in range(outputs)]
    values = np.stack(values, 1)
    # captum's attributions must add up to f(x) - E[f(background)] to be a reference at all;
    # on the Fashion-MNIST CNN (max pooling) they miss by 30-50%, while shap's add up.
    with torch.no_grad():
        gap = values.sum(2) - (model(inputs).reshape(len(rows), -1).double().numpy() -
                               model(base).reshape(len(base), -1).double().numpy().mean(0))
    if not additive:
        fixture.meta["captum_deeplift_shap_additivity_gap"] = float(np.abs(gap).max())
    elif np.abs(gap).max() < 1e-3:
        fixture.reference("captum_deeplift_shap", values.reshape(len(rows) * outputs, -1),
                          additivity_gap=float(np.abs(gap).max()))
    else:
        fixture.meta["captum_deeplift_shap_additivity_gap"] = float(np.abs(gap).max())
    explainer = shap.DeepExplainer(model, base)
    values = np.asarray(explainer.shap_values(inputs, check_additivity=additive))
    values = values.reshape(len(rows), -1, outputs).transpose(0, 2, 1)  # [n, M, K] -> [n, K, M]
    fixture.reference("shap_deep", values.reshape(len(rows) * outputs, -1),
                      expected=[float(e) for e in np.ravel(explainer.expected_value)])


def train_credit_mlp():
    """The credit network: standardisation folded in, Dense(64, relu) -> Dropout(0.3) ->
    Dense(32, relu) -> Dense(1, sigmoid), trained on the first 800 applicants. Returns the
    module (in eval mode), the columns and all rows. Shared with bench/networks.py."""
    import torch
    from torch import nn
    torch.manual_seed(SEED)
    columns, X, y = credit_arrays()
    mean, scale = standardise(X[:CREDIT_TRAIN_ROWS])

    class Credit(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.tensor(mean))
            self.register_buffer("scale", torch.tensor(scale))
            self.body = nn.Sequential(nn.Linear(X.shape[1], 64), nn.ReLU(), nn.Dropout(0.3),
                                      nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 1), nn.Sigmoid())

        def forward(self, x):
            return self.body((x - self.mean) / self.scale)

    model = Credit()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    inputs = torch.tensor(X[:CREDIT_TRAIN_ROWS])
    targets = torch.tensor(y[:CREDIT_TRAIN_ROWS], dtype=torch.float32).unsqueeze(1)
    for _ in range(300):
        optimiser.zero_grad()
        loss = nn.functional.binary_cross_entropy(model(inputs), targets)
        loss.backward()
        optimiser.step()
    model.eval()
    return model, columns, X


def torch_credit_mlp(directory):
    """The credit network as an ONNX fixture, with captum's and shap's attributions."""
    import torch
    model, columns, X = train_credit_mlp()
    inputs = torch.tensor(X[:CREDIT_TRAIN_ROWS])
    path = os.path.join(directory, "torch_credit_mlp.onnx")
    export_torch(model, inputs[:1], path, 17)
    fixture = Fixture(directory, "torch_credit_mlp", "torch_credit_mlp.onnx", columns)
    rows = X[CREDIT_TRAIN_ROWS:CREDIT_TRAIN_ROWS + 100]
    fixture.data(rows)
    fixture.reference("outputs", run_onnxruntime(path, rows))
    fixture.meta["outputs"] = 1
    captum_references(fixture, model, rows[:20], X[:100], 1)
    deep_references(fixture, model, rows[:20], X[:100])
    fixture.save()


def torch_transformer(directory):
    """A transformer encoder block over a sequence of 6 tokens of width 8: LayerNorm, attention
    with Softmax, a Gelu feed-forward layer, mean pooling and a 3-class head."""
    import torch
    from torch import nn
    torch.manual_seed(SEED)
    tokens, width = 6, 8

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.query, self.key, self.value = (nn.Linear(width, width) for _ in range(3))
            self.feed = nn.Sequential(nn.Linear(width, 16), nn.GELU(), nn.Linear(16, width))
            self.head = nn.Linear(width, 3)

        def forward(self, x):
            h = self.norm1(x)
            q, k, v = self.query(h), self.key(h), self.value(h)
            attention = torch.softmax(q @ k.transpose(1, 2) / width ** 0.5, dim=-1)
            x = x + attention @ v
            x = x + self.feed(self.norm2(x))
            return torch.log_softmax(self.head(x.mean(dim=1)), dim=-1)

    model = Block()
    rng = np.random.default_rng(SEED)
    X = rng.normal(size=(50, tokens, width)).astype(np.float32)
    path = os.path.join(directory, "torch_transformer.onnx")
    export_torch(model, torch.tensor(X[:1]), path, 17)
    columns = [f"t{t}_{c}" for t in range(tokens) for c in range(width)]
    fixture = Fixture(directory, "torch_transformer", "torch_transformer.onnx", columns)
    fixture.data(X)
    fixture.reference("outputs", run_onnxruntime(path, X))
    fixture.meta["outputs"] = 3
    captum_references(fixture, model, X[:10], X[10:40], 3)
    fixture.save()


def torch_op_zoo(directory):
    """One network touching the elementwise, shape and reduction operators exporters emit, so
    each is checked against onnxruntime at least once."""
    import torch
    from torch import nn
    torch.manual_seed(SEED)

    class Zoo(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(12, 12)
            self.norm = nn.BatchNorm1d(12)
            self.b = nn.Linear(12, 4)

        def forward(self, x):
            h = self.norm(self.a(x))
            parts = [nn.functional.elu(h), nn.functional.selu(h), nn.functional.leaky_relu(h, 0.2),
                     torch.tanh(h), nn.functional.softplus(h), torch.exp(-h.abs()),
                     torch.sqrt(h * h + 1), torch.log(h.abs() + 1), torch.erf(h), h.pow(2) / 10,
                     torch.clamp(h, -0.5, 0.5), torch.where(h > 0, h, -h), torch.maximum(h, -h),
                     torch.minimum(h, h * 0.5), nn.functional.hardsigmoid(h)]
            stacked = torch.stack(parts, dim=1)                    # [B, 15, 12]
            pooled = stacked.mean(dim=1) + stacked.sum(dim=1, keepdim=True).squeeze(1) / 15
            flipped = pooled.reshape(-1, 3, 4).transpose(1, 2).flatten(1)
            sliced = torch.cat([flipped[:, 6:], flipped[:, :6]], dim=1)
            return torch.softmax(self.b(sliced - h[:, ::2].repeat(1, 2)), dim=1)

    model = Zoo()
    model.eval()
    with torch.no_grad():  # give batch norm non-trivial statistics
        model.norm.running_mean.uniform_(-1, 1)
        model.norm.running_var.uniform_(0.5, 2)
    rng = np.random.default_rng(SEED)
    X = rng.normal(size=(40, 12)).astype(np.float32)
    path = os.path.join(directory, "torch_op_zoo.onnx")
    export_torch(model, torch.tensor(X[:1]), path, 13)
    fixture = Fixture(directory, "torch_op_zoo", "torch_op_zoo.onnx", [f"x{j}" for j in range(12)])
    fixture.data(X)
    fixture.reference("outputs", run_onnxruntime(path, X))
    fixture.meta["outputs"] = 4
    fixture.save()


def torch_shape_ops(directory):
    """Opset 20: the dynamic shape arithmetic of exported reshapes (Shape, Gather, Concat),
    indexing, rounding and the Gelu operator itself."""
    import torch
    from torch import nn
    torch.manual_seed(SEED)

    class Shapes(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(12, 12)
            self.gelu = nn.GELU(approximate="tanh")
            self.register_buffer("order", torch.tensor([3, 1, 0, 2]))

        def forward(self, x):
            h = self.gelu(self.a(x)) + nn.functional.gelu(x)
            grid = h.view(x.shape[0], 3, -1)                      # Shape -> Gather -> Reshape
            picked = grid.index_select(2, self.order)             # Gather on data
            rounded = torch.floor(picked * 4) / 4 + torch.ceil(picked) / 8
            positive = (picked > 0).float() + (picked == 0).float() + (~(picked < 0)).float()
            return (rounded * positive + 1 / (picked.abs() + 1)).reshape(x.shape[0], -1)

    model = Shapes()
    rng = np.random.default_rng(SEED + 1)
    X = rng.normal(size=(30, 12)).astype(np.float32)
    path = os.path.join(directory, "torch_shape_ops.onnx")
    export_torch(model, torch.tensor(X[:1]), path, 20)
    fixture = Fixture(directory, "torch_shape_ops", "torch_shape_ops.onnx", [f"x{j}" for j in range(12)])
    fixture.data(X)
    fixture.reference("outputs", run_onnxruntime(path, X))
    fixture.meta["outputs"] = 12
    fixture.save()


FASHION = "/usr/share/datasets/fashion-mnist"  # Debian package dataset-fashion-mnist


def fashion_mnist(split):
    import gzip
    prefix = "train" if split == "train" else "t10k"
    with gzip.open(os.path.join(FASHION, f"{prefix}-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(os.path.join(FASHION, f"{prefix}-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return images.astype(np.float32) / 255.0, labels.astype(np.int64)


def train_fashion_cnn():
    """A CNN trained on Fashion-MNIST (Conv, ReLU, MaxPool, grouped Conv, global average
    pooling, a linear head; 10 logits). Returns the module in eval mode and the training images
    it saw. Shared with bench/networks.py."""
    import torch
    from torch import nn
    torch.manual_seed(SEED)
    images, labels = fashion_mnist("train")
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, groups=4), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
    x, y = torch.tensor(images[:12000]), torch.tensor(labels[:12000])
    for epoch in range(2):
        for start in range(0, len(x), 128):
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(model(x[start:start + 128]), y[start:start + 128])
            loss.backward()
            optimiser.step()
    model.eval()
    return model, x


def torch_fashion_cnn(directory):
    """The Fashion-MNIST CNN as an ONNX fixture, with captum's and shap's attributions."""
    import torch
    model, x = train_fashion_cnn()
    path = os.path.join(directory, "torch_fashion_cnn.onnx")
    export_torch(model, x[:1], path, 17)
    test_images, test_labels = fashion_mnist("test")
    rows = test_images[:100]
    fixture = Fixture(directory, "torch_fashion_cnn", "torch_fashion_cnn.onnx",
                      [f"p{r}_{c}" for r in range(28) for c in range(28)])
    fixture.data(rows)
    np.save(fixture.path("data.npy"), rows[:10])  # the same images as an array [10, 1, 28, 28]
    fixture.meta["data_npy"] = "torch_fashion_cnn.data.npy"
    fixture.reference("outputs", run_onnxruntime(path, rows))
    fixture.meta["outputs"] = 10
    fixture.meta["accuracy"] = float((model(torch.tensor(test_images[:2000])).argmax(1).numpy()
                                      == test_labels[:2000]).mean())
    # Background images with a little noise: exact zeros everywhere in their borders would make
    # max-pooling ties at the mean baseline, where any two implementations may pick differently.
    noise = np.random.default_rng(SEED).uniform(0, 0.02, size=(20, 1, 28, 28)).astype(np.float32)
    captum_references(fixture, model, rows[:2], test_images[100:120] + noise, 10)
    deep_references(fixture, model, rows[:2], test_images[100:120] + noise, 10)
    # Grad-CAM at the last convolution's ReLU (ONNX tensor /7/Relu_output_0), upsampled to
    # 28 x 28 the way captum does it (nearest).
    from captum.attr import LayerAttribution, LayerGradCam
    inputs = torch.tensor(rows[:2])
    cams = [LayerAttribution.interpolate(LayerGradCam(model, model[7]).attribute(inputs, target=k),
                                         (28, 28)).detach().reshape(2, -1).double().numpy()
            for k in range(10)]
    fixture.reference("captum_grad_cam", np.stack(cams, 1).reshape(20, -1),
                      layer="/7/Relu_output_0")
    fixture.save()


def image_files(directory):
    """The first Fashion-MNIST test images as files, in images/: grey PNGs, a grey JPEG, and
    colour ones (RGB PNG and JPEG, tinted) that a grey network sees through PIL's
    convert("L"). The reference is PIL's reading of each file, in name order, scaled to
    [0, 1] as torchvision's ToTensor does, and onnxruntime's outputs of the Fashion-MNIST CNN
    on them."""
    from PIL import Image
    folder = os.path.join(directory, "images")
    os.makedirs(folder, exist_ok=True)
    test_images, _ = fashion_mnist("test")
    pixels = np.rint(test_images[:5, 0] * 255).astype(np.uint8)
    for i in range(3):
        Image.fromarray(pixels[i], "L").save(os.path.join(folder, f"fashion_{i}.png"))
    Image.fromarray(pixels[3], "L").save(os.path.join(folder, "fashion_3.jpg"), quality=90)
    tint = np.stack([pixels[4], (pixels[4] * 0.6).astype(np.uint8), 255 - pixels[4]], axis=-1)
    Image.fromarray(tint, "RGB").save(os.path.join(folder, "fashion_4_colour.png"))
    Image.fromarray(tint, "RGB").save(os.path.join(folder, "fashion_5_colour.jpg"), quality=85)
    names = sorted(n for n in os.listdir(folder) if n.endswith((".png", ".jpg")))
    rows = np.stack([np.asarray(Image.open(os.path.join(folder, n)).convert("L"), np.float32)
                     / 255.0 for n in names])[:, None]
    fixture = Fixture(directory, "fashion_images", "torch_fashion_cnn.onnx",
                      [f"p{r}_{c}" for r in range(28) for c in range(28)])
    fixture.meta["images"] = "images"
    fixture.meta["files"] = names
    fixture.reference("pixels", rows.reshape(len(rows), -1))
    fixture.reference("predictions", run_onnxruntime(os.path.join(directory,
                                                                  "torch_fashion_cnn.onnx"), rows))
    fixture.save()


def torch_conv_zoo(directory):
    """The window operators' options: 1-D convolution with padding, stride and dilation,
    transposed convolution, pooling with ceil mode and padding counted or not, batch norm."""
    import torch
    from torch import nn
    torch.manual_seed(SEED)

    class Zoo(nn.Module):
        def __init__(self):
            super().__init__()
            self.one = nn.Conv1d(2, 4, 3, stride=2, padding=2, dilation=2)
            self.pool1 = nn.AvgPool1d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
            self.up = nn.ConvTranspose2d(1, 3, 3, stride=2, padding=1, output_padding=1)
            self.norm = nn.BatchNorm2d(3)
            self.max = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
            self.average = nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=True)
            self.head = nn.Linear(4 * 3 + 3 * 6 * 6, 5)

        def forward(self, x):
            a = self.pool1(torch.tanh(self.one(x[:, :16].reshape(-1, 2, 8))))     # [B, 4, 3]
            b = x[:, 16:].reshape(-1, 1, 4, 4)
            b = self.average(self.max(torch.relu(self.norm(self.up(b)))))          # [B, 3, 6, 6]
            return self.head(torch.cat([a.flatten(1), b.flatten(1)], dim=1))

    model = Zoo()
    model.eval()
    with torch.no_grad():
        model.norm.running_mean.uniform_(-0.5, 0.5)
        model.norm.running_var.uniform_(0.5, 2)
    rng = np.random.default_rng(SEED)
    X = rng.normal(size=(30, 32)).astype(np.float32)
    path = os.path.join(directory, "torch_conv_zoo.onnx")
    export_torch(model, torch.tensor(X[:1]), path, 17)
    fixture = Fixture(directory, "torch_conv_zoo", "torch_conv_zoo.onnx", [f"x{j}" for j in range(32)])
    fixture.data(X)
    fixture.reference("outputs", run_onnxruntime(path, X))
    fixture.meta["outputs"] = 5
    fixture.save()


def torch_lstm(directory, cell="LSTM"):
    """A recurrent sequence classifier (a bidirectional LSTM, or a one-way GRU, over 12 steps
    of 4 features, 2 classes) trained on a synthetic task, with captum's attributions."""
    import torch
    from torch import nn
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    X = rng.normal(size=(600, 12, 4)).astype(np.float32)
    y = (X[:, :6, 0].sum(1) - X[:, 6:, 1].sum(1) > 0).astype(np.int64)

    class Sequence(nn.Module):
        def __init__(self):
            super().__init__()
            bidirectional = cell == "LSTM"
            self.lstm = getattr(nn, cell)(4, 8, batch_first=True, bidirectional=bidirectional)
            self.head = nn.Linear(16 if bidirectional else 8, 2)

        def forward(self, x):
            states, _ = self.lstm(x)
            return self.head(states[:, -1])

    model = Sequence()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    inputs, targets = torch.tensor(X[:500]), torch.tensor(y[:500])
    for _ in range(60):
        optimiser.zero_grad()
        nn.functional.cross_entropy(model(inputs), targets).backward()
        optimiser.step()
    model.eval()
    name = "torch_" + cell.lower()
    path = os.path.join(directory, name + ".onnx")
    export_torch(model, inputs[:1], path, 17)
    rows = X[500:540]
    fixture = Fixture(directory, name, name + ".onnx",
                      [f"t{t}_{f}" for t in range(12) for f in range(4)])
    fixture.data(rows)
    fixture.reference("outputs", run_onnxruntime(path, rows))
    fixture.meta["outputs"] = 2
    captum_references(fixture, model, rows[:5], X[540:560], 2)
    fixture.save()


def torch_softmax_mlp(directory):
    """A 3-class MLP ending in nn.Softmax (10 -> 16 ReLU -> 3 -> Softmax), for DeepSHAP's
    elementwise Softmax rule against captum's DeepLiftShap and shap's DeepExplainer."""
    import torch
    from torch import nn
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    X = rng.normal(size=(600, 10)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] - X[:, 3] > 1)
    model = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 3), nn.Softmax(dim=1))
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    inputs, targets = torch.tensor(X[:500]), torch.tensor(y[:500])
    for _ in range(200):
        optimiser.zero_grad()
        nn.functional.nll_loss(torch.log(model(inputs) + 1e-9), targets).backward()
        optimiser.step()
    model.eval()
    path = os.path.join(directory, "torch_softmax_mlp.onnx")
    export_torch(model, inputs[:1], path, 17)
    rows = X[500:520]
    fixture = Fixture(directory, "torch_softmax_mlp", "torch_softmax_mlp.onnx",
                      [f"x{j}" for j in range(10)])
    fixture.data(rows)
    fixture.reference("outputs", run_onnxruntime(path, rows))
    fixture.meta["outputs"] = 3
    write_csv(fixture.path("background.csv"), fixture.columns, X[520:550])
    fixture.meta["background"] = "torch_softmax_mlp.background.csv"
    deep_references(fixture, model, rows, X[520:550], outputs=3, additive=False)
    fixture.save()


def text_task(rng, rows, length=16, vocabulary=30):
    """Token ids 1..vocabulary-1 (0 pads); the class says whether low ids (below 10) are more
    frequent in the first half than in the second."""
    X = rng.integers(1, vocabulary, size=(rows, length))
    low = X < 10
    y = (low[:, :length // 2].sum(1) > low[:, length // 2:].sum(1)).astype(np.int64)
    return X, y


def torch_text(directory):
    """A text classifier over 16 token ids: Embedding(30, 8) -> Conv1d(8, 12, 3) -> ReLU ->
    mean over positions -> Linear(12, 2), exported with an int64 input, with captum's
    LayerIntegratedGradients and LayerDeepLiftShap at the embedding, summed per token."""
    import torch
    from captum.attr import LayerDeepLiftShap, LayerIntegratedGradients
    from torch import nn
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    X, y = text_task(rng, 700)

    class Text(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(30, 8)
            self.conv = nn.Conv1d(8, 12, 3, padding=1)
            self.relu = nn.ReLU()  # a module: captum's DeepLift rules hook modules only
            self.head = nn.Linear(12, 2)

        def forward(self, tokens):
            h = self.embedding(tokens).transpose(1, 2)
            return self.head(self.relu(self.conv(h)).mean(dim=2))

    model = Text()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    inputs, targets = torch.tensor(X[:600]), torch.tensor(y[:600])
    for _ in range(150):
        optimiser.zero_grad()
        nn.functional.cross_entropy(model(inputs), targets).backward()
        optimiser.step()
    model.eval()
    path = os.path.join(directory, "torch_text.onnx")
    export_torch(model, inputs[:1], path, 17)
    # The embedding's output tensor in the exported graph, for --layer.
    import onnx
    graph = onnx.load(path).graph
    layer = next(n.output[0] for n in graph.node if n.op_type == "Gather")
    rows, background = X[600:620], X[620:640]
    fixture = Fixture(directory, "torch_text", "torch_text.onnx", [f"token{t}" for t in range(16)])
    fixture.data(rows)
    fixture.reference("outputs", run_onnxruntime(path, rows))
    fixture.meta["outputs"] = 2
    fixture.meta["layer"] = layer
    write_csv(fixture.path("background.csv"), fixture.columns, background)
    fixture.meta["background"] = "torch_text.background.csv"
    tokens, base = torch.tensor(rows), torch.tensor(background)
    values, deltas = [], []
    for k in range(2):
        attribution, delta = LayerIntegratedGradients(model, model.embedding).attribute(
            tokens, baselines=torch.zeros_like(tokens), target=k, n_steps=50,
            method="gausslegendre", return_convergence_delta=True)
        values.append(attribution.detach().sum(-1).double().numpy())
        deltas.append(delta.detach().double().numpy())
    fixture.reference("captum_layer_ig", np.stack(values, 1).reshape(len(rows) * 2, -1),
                      method="gausslegendre", steps=50, baseline="zeros")
    fixture.reference("captum_layer_ig_delta", np.stack(deltas, 1))
    # DeepLiftShap asks for gradients of its inputs, which integer ids cannot carry: the same
    # model fed the ids as floats (the gradients captum uses are the embedding's).

    class FloatIds(nn.Module):
        def __init__(self, text):
            super().__init__()
            self.text = text

        def forward(self, ids):
            return self.text(ids.long())

    wrapped = FloatIds(model)
    values = np.stack([LayerDeepLiftShap(wrapped, model.embedding).attribute(
        tokens.float(), baselines=base.float(), target=k).detach().sum(-1).double().numpy()
        for k in range(2)], 1)
    with torch.no_grad():
        gap = values.sum(2) - (model(tokens).double().numpy() - model(base).double().numpy().mean(0))
    assert np.abs(gap).max() < 1e-4, np.abs(gap).max()  # a reference must add up
    fixture.reference("captum_layer_deeplift_shap", values.reshape(len(rows) * 2, -1))
    fixture.save()


# ---- Keras ---------------------------------------------------------------------------------

def keras_credit(directory):
    """The Keras credit network: Rescaling (standardising with the training rows' mean and
    deviation) -> Dense(64, relu) -> Dropout(0.3) -> Dense(32, relu) -> Dense(1, sigmoid), saved
    as .keras, .h5 and ONNX. (A Normalization layer would export its statistics as extra graph
    inputs.)"""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf
    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    columns, X, y = credit_arrays()
    train = X[:CREDIT_TRAIN_ROWS]
    mean, scale = standardise(train)
    inputs = keras.Input(shape=(X.shape[1],), name="applicant")
    h = keras.layers.Rescaling(scale=(1 / scale).tolist(), offset=(-mean / scale).tolist(),
                               name="standardise")(inputs)
    h = keras.layers.Dense(64, activation="relu", name="dense_64")(h)
    h = keras.layers.Dropout(0.3, name="dropout")(h)
    h = keras.layers.Dense(32, activation="relu", name="dense_32")(h)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="default_probability")(h)
    model = keras.Model(inputs, outputs, name="credit")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    model.fit(train, y[:CREDIT_TRAIN_ROWS].astype(np.float32), epochs=60, batch_size=64, verbose=0)
    model.save(os.path.join(directory, "keras_credit.keras"))
    model.save(os.path.join(directory, "keras_credit.h5"))
    path = os.path.join(directory, "keras_credit.onnx")
    model.export(path, format="onnx", verbose=False)
    rows = X[CREDIT_TRAIN_ROWS:CREDIT_TRAIN_ROWS + 100]
    expected = model.predict(rows, verbose=0).astype(np.float64)
    for name in ("keras_credit", "keras_credit_keras", "keras_credit_h5"):
        model_file = {"keras_credit": "keras_credit.onnx", "keras_credit_keras": "keras_credit.keras",
                      "keras_credit_h5": "keras_credit.h5"}[name]
        fixture = Fixture(directory, name, model_file, columns)
        fixture.data(rows)
        # The ONNX file against onnxruntime; the Keras files against Keras itself.
        fixture.reference("outputs", run_onnxruntime(path, rows) if name == "keras_credit" else expected)
        fixture.meta["outputs"] = 1
        fixture.save()


def keras_layers(directory):
    """A functional Keras model touching every dense-network layer glassbox reads: Normalization,
    BatchNormalization (trained statistics), LayerNormalization, Add, Concatenate, Activation
    and the activations, saved as .keras and .h5 and checked against Keras's own predict."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)
    X = rng.normal(size=(200, 12)).astype(np.float32) * 3 + 1
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 1).astype(int) + (X[:, 3] > 2)
    inputs = keras.Input(shape=(12,), name="x")
    norm = keras.layers.Normalization(name="norm")
    norm.adapt(X)
    h = norm(inputs)
    a = keras.layers.Dense(16, activation="tanh", name="a")(h)
    a = keras.layers.BatchNormalization(name="batch_norm")(a)
    b = keras.layers.Dense(16, activation="gelu", name="b")(h)
    c = keras.layers.Dense(16, activation="elu", name="c")(h)
    total = keras.layers.Add(name="sum")([a, b, c])
    d = keras.layers.Dense(8, activation="selu", name="d")(total)
    e = keras.layers.Dense(8, activation="softplus", name="e")(total)
    f = keras.layers.Dense(8, activation="leaky_relu", name="f")(total)
    g = keras.layers.Dense(8, use_bias=False, activation="sigmoid", name="g")(total)
    joined = keras.layers.Concatenate(name="join")([d, e, f, g])
    joined = keras.layers.LayerNormalization(name="layer_norm")(joined)
    joined = keras.layers.Activation("swish", name="swish")(joined)
    joined = keras.layers.Dropout(0.2, name="drop")(joined)
    outputs = keras.layers.Dense(3, activation="softmax", name="classes")(joined)
    model = keras.Model(inputs, outputs, name="layers")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(X, y, epochs=20, verbose=0)
    rows = X[:50]
    expected = model.predict(rows, verbose=0).astype(np.float64)
    for suffix in ("keras", "h5"):
        model.save(os.path.join(directory, f"keras_layers.{suffix}"))
        fixture = Fixture(directory, f"keras_layers_{suffix}", f"keras_layers.{suffix}",
                          [f"x{j}" for j in range(12)])
        fixture.data(rows)
        fixture.reference("outputs", expected)
        fixture.meta["outputs"] = 3
        fixture.save()


def keras_text(directory):
    """A Keras text classifier: Embedding -> LSTM (every step) -> Bidirectional GRU and a GRU
    without reset_after -> Concatenate -> Dense(2, softmax), trained on the token task, saved
    as .keras and .h5 and checked against Keras's own predict."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    keras.utils.set_random_seed(SEED)
    X, y = text_task(np.random.default_rng(SEED + 1), 700)
    inputs = keras.Input(shape=(16,), name="tokens")
    h = keras.layers.Embedding(30, 8, name="embedding")(inputs)
    h = keras.layers.LSTM(12, return_sequences=True, name="lstm")(h)
    a = keras.layers.Bidirectional(keras.layers.GRU(6), name="both_ways")(h)
    b = keras.layers.GRU(5, reset_after=False, name="gru_classic")(h)
    joined = keras.layers.Concatenate(name="join")([a, b])
    outputs = keras.layers.Dense(2, activation="softmax", name="classes")(joined)
    model = keras.Model(inputs, outputs, name="text")
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    model.fit(X[:600].astype(np.float32), y[:600], epochs=15, batch_size=32, verbose=0)
    rows = X[600:620].astype(np.float32)
    expected = model.predict(rows, verbose=0).astype(np.float64)
    for suffix in ("keras", "h5"):
        model.save(os.path.join(directory, f"keras_text.{suffix}"))
        fixture = Fixture(directory, f"keras_text_{suffix}", f"keras_text.{suffix}",
                          [f"token{t}" for t in range(16)])
        fixture.data(rows)
        fixture.reference("outputs", expected)
        fixture.meta["outputs"] = 2
        fixture.meta["layer"] = "embedding"
        write_csv(fixture.path("background.csv"), fixture.columns, X[620:640].astype(np.float32))
        fixture.meta["background"] = f"keras_text_{suffix}.background.csv"
        fixture.save()


def keras_cnn(directory):
    """A channels-last Keras CNN on Fashion-MNIST images (Conv2D same and valid, strided and
    dilated, max and average pooling, Conv1D over rows, global pools), saved as .keras and .h5
    and checked against Keras's own predict."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    keras.utils.set_random_seed(SEED)
    images, labels = fashion_mnist("train")
    x = images[:3000].transpose(0, 2, 3, 1)  # channels last: [n, 28, 28, 1]
    inputs = keras.Input(shape=(28, 28, 1), name="image")
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_a")(inputs)
    h = keras.layers.MaxPooling2D(2, name="max_a")(h)
    h = keras.layers.Conv2D(12, 3, strides=2, padding="valid", activation="relu", name="conv_b")(h)
    h = keras.layers.AveragePooling2D(2, strides=1, padding="same", name="average_b")(h)
    h = keras.layers.Conv2D(16, 3, dilation_rate=2, padding="same", name="conv_c")(h)
    a = keras.layers.GlobalAveragePooling2D(name="global_average")(h)
    b = keras.layers.GlobalMaxPooling2D(name="global_max")(h)
    rows = keras.layers.Reshape((28, 28), name="rows")(inputs)
    c = keras.layers.Conv1D(4, 5, strides=2, activation="tanh", name="conv_rows")(rows)
    c = keras.layers.MaxPooling1D(3, name="max_rows")(c)
    c = keras.layers.GlobalAveragePooling1D(name="global_rows")(c)
    joined = keras.layers.Concatenate(name="join")([a, b, c])
    outputs = keras.layers.Dense(10, activation="softmax", name="classes")(joined)
    model = keras.Model(inputs, outputs, name="cnn")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, labels[:3000], epochs=2, batch_size=64, verbose=0)
    test, _ = fashion_mnist("test")
    rows = test[:20].transpose(0, 2, 3, 1)
    expected = model.predict(rows, verbose=0).astype(np.float64)
    for suffix in ("keras", "h5"):
        model.save(os.path.join(directory, f"keras_cnn.{suffix}"))
        fixture = Fixture(directory, f"keras_cnn_{suffix}", f"keras_cnn.{suffix}",
                          [f"p{r}_{c}" for r in range(28) for c in range(28)])
        fixture.data(rows)
        fixture.reference("outputs", expected)
        fixture.meta["outputs"] = 10
        fixture.save()


# ---- scikit-learn through skl2onnx --------------------------------------------------------

def tree_ensemble_opset5(onnx_model):
    """Rewrites skl2onnx's TreeEnsembleRegressor node as ai.onnx.ml opset 5's TreeEnsemble
    (nodes and leaves listed apart, children flagged as leaves, thresholds, modes and hit rates
    as tensors, one target per leaf, no base_values: those go into the first tree's leaves),
    with onnx's helpers, as skl2onnx 1.20 does not write that operator yet; onnxruntime runs
    the result and is the reference."""
    from onnx import helper, numpy_helper
    graph = onnx_model.graph
    old = next(n for n in graph.node if n.op_type == "TreeEnsembleRegressor")
    a = {x.name: helper.get_attribute_value(x) for x in old.attribute}
    keys = list(zip(a["nodes_treeids"], a["nodes_nodeids"]))
    modes = [m.decode() for m in a["nodes_modes"]]
    branches = [j for j, m in enumerate(modes) if m != "LEAF"]
    leaves = [j for j, m in enumerate(modes) if m == "LEAF"]
    where = {keys[j]: i for i, j in enumerate(branches)}
    where.update({keys[j]: i for i, j in enumerate(leaves)})
    weight, target = {}, {}
    for t, n, k, w in zip(a["target_treeids"], a["target_nodeids"], a["target_ids"],
                          a["target_weights"]):
        weight[(t, n)] = weight.get((t, n), 0.0) + w
        target[(t, n)] = k
    base = list(a.get("base_values", [])) or [0.0]
    first_tree = keys[0][0]
    codes = {"BRANCH_LEQ": 0, "BRANCH_LT": 1, "BRANCH_GTE": 2, "BRANCH_GT": 3}

    def child(j, side):
        key = (keys[j][0], a[f"nodes_{side}nodeids"][j])
        return where[key], int(modes[keys.index(key)] == "LEAF")

    true = [child(j, "true") for j in branches]
    false = [child(j, "false") for j in branches]
    tensor = numpy_helper.from_array
    new = helper.make_node(
        "TreeEnsemble", list(old.input), list(old.output), domain="ai.onnx.ml",
        name="tree_ensemble",
        aggregate_function=0 if a.get("aggregate_function", b"SUM") == b"AVERAGE" else 1,
        post_transform=0, n_targets=a["n_targets"],
        tree_roots=[where[k] for k in keys if k[1] == 0],
        nodes_featureids=[a["nodes_featureids"][j] for j in branches],
        nodes_splits=tensor(np.array([a["nodes_values"][j] for j in branches], np.float32)),
        nodes_modes=tensor(np.array([codes[modes[j]] for j in branches], np.uint8)),
        nodes_hitrates=tensor(np.array([a["nodes_hitrates"][j] for j in branches], np.float32)),
        nodes_missing_value_tracks_true=[a["nodes_missing_value_tracks_true"][j] for j in branches],
        nodes_truenodeids=[c[0] for c in true], nodes_trueleafs=[c[1] for c in true],
        nodes_falsenodeids=[c[0] for c in false], nodes_falseleafs=[c[1] for c in false],
        leaf_targetids=[target[keys[j]] for j in leaves],
        leaf_weights=tensor(np.array([weight[keys[j]] + (base[0] if keys[j][0] == first_tree
                                                        else 0.0) for j in leaves], np.float32)))
    nodes = [new if n is old else n for n in graph.node]
    del graph.node[:]
    graph.node.extend(nodes)
    for opset in onnx_model.opset_import:
        if opset.domain == "ai.onnx.ml":
            opset.version = 5


def accept_boolean_attributes():
    """skl2onnx 1.20 hands onnx numpy booleans for HistGradientBoosting's
    nodes_missing_value_tracks_true, which the protobuf behind onnx 1.23 refuses ("Expected an
    int, got a boolean"); onnx's make_attribute is wrapped to pass them as the 0/1 integers
    the attribute holds. Must run before skl2onnx is imported."""
    import onnx.helper
    if getattr(onnx.helper.make_attribute, "accepts_booleans", False):
        return
    original = onnx.helper.make_attribute

    def make_attribute(key, value, *args, **kwargs):
        if isinstance(value, np.ndarray) and value.dtype == bool:
            value = value.astype(np.int64)
        elif isinstance(value, (list, tuple)) and any(isinstance(v, (bool, np.bool_)) for v in value):
            value = [int(v) for v in value]
        return original(key, value, *args, **kwargs)

    make_attribute.accepts_booleans = True
    onnx.helper.make_attribute = make_attribute


def skl_fixture(directory, name, model, X_fit, y_fit, columns, rows, background, kinds,
                hitrates=True, opset5=False):
    """Converts model (fitted here) and writes glassbox's view of its outputs and shap's values.
    kinds: which shap references to write ("linear", "tree", "interventional"). opset5: as the
    TreeEnsemble operator (regressors)."""
    import onnx
    import shap
    from skl2onnx import to_onnx
    sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
    from onnx_hitrates import fill_hitrates
    model.fit(X_fit, y_fit)
    options = {id(model): {"zipmap": False}} if hasattr(model, "predict_proba") else None
    onnx_model = to_onnx(model, X_fit[:1].astype(np.float32), options=options,
                         target_opset={"": 17, "ai.onnx.ml": 3})
    if hitrates and hasattr(model, "estimators_"):
        fill_hitrates(model, onnx_model)
    if opset5:
        tree_ensemble_opset5(onnx_model)
    path = os.path.join(directory, f"{name}.onnx")
    onnx.save(onnx_model, path)
    fixture = Fixture(directory, name, f"{name}.onnx", columns)
    fixture.data(rows)
    write_csv(fixture.path("background.csv"), fixture.columns, background)
    fixture.meta["background"] = f"{name}.background.csv"

    # glassbox's outputs: a binary classifier is its positive class alone.
    classifier = hasattr(model, "predict_proba")
    if classifier:
        probabilities = run_onnxruntime(path, rows, "probabilities")
        outputs = probabilities[:, 1:] if probabilities.shape[1] == 2 else probabilities
    else:
        outputs = run_onnxruntime(path, rows)
    K = outputs.shape[1]
    fixture.meta["outputs"] = K
    fixture.reference("outputs", outputs)
    if hasattr(model, "decision_function"):
        fixture.reference("margin", np.asarray(model.decision_function(rows)).reshape(len(rows), -1))

    def shap_reference(key, explainer):
        values = np.asarray(explainer.shap_values(rows))
        expected = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
        if values.ndim == 3 and values.shape[2] == 2 and K == 1:  # binary: the positive class
            values, expected = values[:, :, 1], expected[1:]
        if values.ndim == 3:  # [n, M, K] -> rows of [n][K] x M
            values = values.transpose(0, 2, 1)
        fixture.reference(key, values.reshape(len(rows) * K, -1), list(columns),
                          expected=[float(e) for e in expected])

    if "linear" in kinds:
        shap_reference("shap_linear", shap.LinearExplainer(model, background))
    if "tree" in kinds:
        shap_reference("shap_tree", shap.TreeExplainer(model))
    if "brute" in kinds:
        # Interventional Shapley values by enumerating every coalition against scikit-learn's
        # own predict, for the first rows: the independent oracle where shap's interventional
        # TreeExplainer disagrees with it (by 0.3% on the diabetes forest).
        import itertools
        import math
        M, count = rows.shape[1], 5
        values = np.zeros((count, M))
        for r in range(count):
            worth = {}
            for mask in range(1 << M):
                mixed = background.copy()
                members = [j for j in range(M) if mask >> j & 1]
                mixed[:, members] = rows[r, members]
                worth[mask] = model.predict(mixed).mean()
            for j in range(M):
                for mask in range(1 << M):
                    if mask >> j & 1:
                        continue
                    size = bin(mask).count("1")
                    weight = math.factorial(size) * math.factorial(M - size - 1) / math.factorial(M)
                    values[r, j] += weight * (worth[mask | 1 << j] - worth[mask])
        fixture.reference("exact_interventional", values, list(columns), rows=count,
                          expected=[float(model.predict(background).mean())])
    if "interventional" in kinds:
        shap_reference("shap_interventional", shap.TreeExplainer(
            model, background, feature_perturbation="interventional", model_output="raw"))
    fixture.save()
    return fixture


def sklearn_more_trees(directory):
    """ExtraTrees, and HistGradientBoosting with missing values in the explained rows and the
    background (its trees send them one way or the other; skl2onnx records which in
    nodes_missing_value_tracks_true). HistGradientBoosting's node counts are not filled in, so
    path-dependent TreeSHAP refuses it."""
    accept_boolean_attributes()
    from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier
    columns, X, y = credit_arrays()
    X = X.astype(np.float64)
    train, y_train = X[:CREDIT_TRAIN_ROWS], y[:CREDIT_TRAIN_ROWS]
    rows, background = X[CREDIT_TRAIN_ROWS:CREDIT_TRAIN_ROWS + 50], train[:100]
    skl_fixture(directory, "skl_credit_extra_trees",
                ExtraTreesClassifier(n_estimators=10, max_depth=6, random_state=SEED), train,
                y_train, list(columns), rows, background, kinds=["tree", "interventional"])
    rng = np.random.default_rng(SEED)
    holed = [m.copy() for m in (train, rows, background)]
    for m in holed:  # a tenth of the first five columns missing
        m[:, :5][rng.uniform(size=m[:, :5].shape) < 0.1] = np.nan
    fixture = skl_fixture(directory, "skl_credit_hist_boosting",
                          HistGradientBoostingClassifier(max_iter=20, random_state=SEED), holed[0],
                          y_train, list(columns), holed[1], holed[2], kinds=["interventional"])
    fixture.meta["tree_error"] = "nodes_hitrates"
    fixture.save()


def sklearn_tree_ensemble5(directory):
    """Tree models through opset 5's TreeEnsemble operator (AVERAGE, and SUM with the base
    value in the leaves). Its leaves carry no hit rates, so path-dependent TreeSHAP refuses;
    interventional TreeSHAP is held to every coalition enumerated against scikit-learn's own
    predict (shap's interventional explainer misses it by up to 0.3% on these data)."""
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
    diabetes = load_diabetes()
    for name, model in (("skl_diabetes_forest_te5",
                         RandomForestRegressor(n_estimators=10, max_depth=5, random_state=SEED)),
                        ("skl_diabetes_boosting_te5",
                         GradientBoostingRegressor(n_estimators=20, max_depth=3,
                                                   random_state=SEED))):
        te5 = skl_fixture(directory, name, model, diabetes.data, diabetes.target,
                          diabetes.feature_names, diabetes.data[:40], diabetes.data[40:140],
                          kinds=["brute"], opset5=True)
        te5.meta["tree_error"] = "none for leaves"
        te5.save()


def sklearn_models(directory):
    accept_boolean_attributes()
    from sklearn.datasets import load_diabetes, load_iris
    from sklearn.ensemble import (GradientBoostingClassifier, RandomForestClassifier,
                                  RandomForestRegressor)
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    columns, X, y = credit_arrays()
    X = X.astype(np.float64)
    train, y_train = X[:CREDIT_TRAIN_ROWS], y[:CREDIT_TRAIN_ROWS]
    rows, background = X[CREDIT_TRAIN_ROWS:CREDIT_TRAIN_ROWS + 50], train[:100]
    iris = load_iris()
    diabetes = load_diabetes()
    iris_names = [n.replace(" (cm)", "").replace(" ", "_") for n in iris.feature_names]
    credit = dict(columns=columns, rows=rows, background=background)

    skl_fixture(directory, "skl_credit_logistic", LogisticRegression(max_iter=5000), train,
                y_train, kinds=["linear"], **credit)
    skl_fixture(directory, "skl_iris_logistic", LogisticRegression(max_iter=1000), iris.data,
                iris.target, iris_names, iris.data[::3], iris.data[1::3], kinds=["linear"])
    skl_fixture(directory, "skl_diabetes_linear", LinearRegression(), diabetes.data,
                diabetes.target, diabetes.feature_names, diabetes.data[:40], diabetes.data[40:140],
                kinds=["linear"])
    skl_fixture(directory, "skl_credit_forest",
                RandomForestClassifier(n_estimators=20, max_depth=6, random_state=SEED), train,
                y_train, kinds=["tree", "interventional"], **credit)
    skl_fixture(directory, "skl_credit_boosting",
                GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=SEED), train,
                y_train, kinds=["tree", "interventional"], **credit)
    skl_fixture(directory, "skl_iris_boosting",
                GradientBoostingClassifier(n_estimators=10, max_depth=2, random_state=SEED),
                iris.data, iris.target, iris_names, iris.data[::3], iris.data[1::3],
                kinds=[])  # shap's TreeExplainer takes binary gradient boosting only
    skl_fixture(directory, "skl_diabetes_forest",
                RandomForestRegressor(n_estimators=10, max_depth=5, random_state=SEED),
                diabetes.data, diabetes.target, diabetes.feature_names, diabetes.data[:40],
                diabetes.data[40:140], kinds=["tree", "brute"])
    sklearn_tree_ensemble5(directory)
    sklearn_more_trees(directory)
    # skl2onnx's own hit rates (all 1): path-dependent TreeSHAP must refuse, interventional works.
    plain = skl_fixture(directory, "skl_credit_forest_plain",
                        RandomForestClassifier(n_estimators=5, max_depth=4, random_state=SEED),
                        train, y_train, kinds=["interventional"], hitrates=False, **credit)
    plain.meta["tree_error"] = "nodes_hitrates"
    plain.save()
    # A pipeline with preprocessing before the model is refused by name.
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    pipeline.fit(train, y_train)
    import onnx
    from skl2onnx import to_onnx
    onnx.save(to_onnx(pipeline, train[:1].astype(np.float32)),
              os.path.join(directory, "skl_pipeline_scaler.onnx"))
    fixture = Fixture(directory, "skl_pipeline_scaler", "skl_pipeline_scaler.onnx", [])
    fixture.meta["expect_error"] = "(ai.onnx.ml.Scaler) comes before the model"
    fixture.save()


# ---- manifest ------------------------------------------------------------------------------

def manifest(directory):
    import onnxruntime
    fixtures = []
    for path in sorted(glob.glob(os.path.join(directory, "*.meta.json"))):
        with open(path) as f:
            fixtures.append(json.load(f))
    versions = {"onnxruntime": onnxruntime.__version__}
    for package in ("torch", "sklearn", "skl2onnx", "shap", "tensorflow", "tf2onnx"):
        try:
            versions[package] = __import__(package).__version__
        except ImportError:
            pass
    with open(os.path.join(directory, "manifest.json"), "w") as f:
        json.dump({"generated_by": "tests/conformance/generate_onnx.py", "versions": versions,
                   "fixtures": fixtures}, f, indent=1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stage", required=True, choices=["torch", "sklearn", "keras", "manifest"])
    parser.add_argument("--only", help="run this one fixture function (e.g. torch_text)")
    parser.add_argument("directory")
    args = parser.parse_args()
    os.makedirs(args.directory, exist_ok=True)
    if args.only:
        globals()[args.only](args.directory)
    elif args.stage == "torch":
        torch_credit_mlp(args.directory)
        torch_transformer(args.directory)
        torch_op_zoo(args.directory)
        torch_shape_ops(args.directory)
        torch_conv_zoo(args.directory)
        torch_lstm(args.directory)
        torch_lstm(args.directory, "GRU")
        torch_fashion_cnn(args.directory)
        image_files(args.directory)
        torch_text(args.directory)
        torch_softmax_mlp(args.directory)
    elif args.stage == "keras":
        keras_credit(args.directory)
        keras_layers(args.directory)
        keras_cnn(args.directory)
        keras_text(args.directory)
    elif args.stage == "sklearn":
        sklearn_models(args.directory)
    elif args.stage == "manifest":
        manifest(args.directory)


if __name__ == "__main__":
    main()
