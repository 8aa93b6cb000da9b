"""glassbox's network explainers against shap and captum on the same PyTorch networks, rows and
backgrounds, in one run (the third `make bench` suite).

  - deep: the credit network (61 inputs, Dense 64 relu, Dropout, Dense 32 relu, Dense 1
    sigmoid, trained here on the German credit data), 1,000 rows against a 100-row background:
    `glassbox explain --method deep` on its ONNX export vs shap.DeepExplainer and
    captum.attr.DeepLiftShap on the torch module.
  - integrated gradients: the fixture's CNN, trained here on Fashion-MNIST (Debian's dataset-fashion-mnist),
    100 test images, 50 Gauss-Legendre steps from a zero baseline, each image's predicted class:
    `glassbox explain --method integrated-gradients --class predicted` vs
    captum.attr.IntegratedGradients.

glassbox is timed end to end (the command: load, parse, explain, write) at 1 and 2 threads;
torch runs with 2 threads. Times are medians of the repeats, per explained row; the ratio is
reference / glassbox at 2 threads. The largest difference from each reference is printed too.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "conformance"))


def write_csv(path, matrix, names=None):
    names = names or ["x%d" % i for i in range(matrix.shape[1])]
    np.savetxt(path, matrix, delimiter=",", header=",".join(names), comments="", fmt="%.9g")


def glassbox_values(path, K=1):
    import json
    with open(path) as f:
        document = json.load(f)
    return np.asarray(document["values"], dtype=np.float64)


def time_glassbox(arguments, threads, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(arguments + ["--threads", str(threads), "--quiet"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_reference(run, repeats):
    """Median over the repeats; a reference slower than 30 s a run is timed once."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
        if times[-1] > 30:
            break
    return statistics.median(times), result


def export(model, example, path):
    import torch
    model.eval()
    torch.onnx.export(model, example, path, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=17,
                      dynamo=False)


def report(name, rows, glassbox_1, glassbox_2, references):
    print(f"\n{name}: {rows} rows")
    print(f"  glassbox   1 thread  {1000 * glassbox_1 / rows:9.3f} ms/row   "
          f"({rows / glassbox_1:9.0f} rows/s)")
    print(f"  glassbox   2 threads {1000 * glassbox_2 / rows:9.3f} ms/row   "
          f"({rows / glassbox_2:9.0f} rows/s)")
    for label, seconds, difference in references:
        print(f"  {label:10s} 2 threads {1000 * seconds / rows:9.3f} ms/row   ratio "
              f"{seconds / glassbox_2:6.1f}x   largest difference {difference:.2e}")


def deep_credit(work, glassbox, repeats):
    import shap
    import torch
    from captum.attr import DeepLiftShap
    from generate_onnx import train_credit_mlp
    model, columns, X = train_credit_mlp()  # the fixture's network, trained the same way
    frame_columns = list(columns)
    onnx_path = os.path.join(work, "credit.onnx")
    export(model, torch.tensor(X[:1]), onnx_path)
    rows, background = X, X[:100]
    write_csv(os.path.join(work, "credit_rows.csv"), rows, frame_columns)
    write_csv(os.path.join(work, "credit_background.csv"), background, frame_columns)
    output = os.path.join(work, "credit_deep.json")
    arguments = [glassbox, "explain", "--model", onnx_path, "--data",
                 os.path.join(work, "credit_rows.csv"), "--method", "deep", "--background",
                 os.path.join(work, "credit_background.csv"), "--output", output, "--no-data"]
    one = time_glassbox(arguments, 1, repeats)
    two = time_glassbox(arguments, 2, repeats)
    ours = glassbox_values(output).reshape(len(rows), -1)
    rows_t, background_t = torch.tensor(rows), torch.tensor(background)
    seconds_captum, captum = time_reference(
        lambda: DeepLiftShap(model).attribute(rows_t, baselines=background_t, target=0)
        .detach().numpy(), repeats)
    explainer = shap.DeepExplainer(model, background_t)
    seconds_shap, values = time_reference(
        lambda: np.asarray(explainer.shap_values(rows_t, check_additivity=False)), 1)
    report("deep, credit network, 100 background rows", len(rows), one, two, [
        ("shap", seconds_shap, np.abs(values.reshape(len(rows), -1) - ours).max()),
        ("captum", seconds_captum, np.abs(captum.reshape(len(rows), -1) - ours).max())])


def integrated_gradients_cnn(work, glassbox, repeats):
    import torch
    from captum.attr import IntegratedGradients
    from generate_onnx import fashion_mnist, train_fashion_cnn
    model, x = train_fashion_cnn()  # the fixture's network, trained the same way
    onnx_path = os.path.join(work, "cnn.onnx")
    export(model, x[:1], onnx_path)
    test_images, _ = fashion_mnist("test")
    rows = test_images[:100]
    write_csv(os.path.join(work, "cnn_rows.csv"), rows.reshape(len(rows), -1))
    output = os.path.join(work, "cnn_ig.json")
    arguments = [glassbox, "explain", "--model", onnx_path, "--data",
                 os.path.join(work, "cnn_rows.csv"), "--method", "integrated-gradients",
                 "--steps", "50", "--class", "predicted", "--output", output, "--no-data"]
    one = time_glassbox(arguments, 1, repeats)
    two = time_glassbox(arguments, 2, repeats)
    ours = glassbox_values(output).reshape(len(rows), -1)
    inputs = torch.tensor(rows)
    with torch.no_grad():
        predicted = model(inputs).argmax(1)
    seconds_captum, captum = time_reference(
        lambda: IntegratedGradients(model).attribute(inputs, target=predicted, n_steps=50)
        .detach().numpy(), repeats)
    report("integrated gradients, Fashion-MNIST CNN, 50 steps", len(rows), one, two, [
        ("captum", seconds_captum, np.abs(captum.reshape(len(rows), -1) - ours).max())])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--glassbox", default=os.path.join(ROOT, "build", "glassbox"))
    parser.add_argument("--repeats", type=int, default=5,
                        help="runs per timing, of which the median is kept (the machine is noisy)")
    parser.add_argument("--suites", default="deep,ig",
                        help="comma-separated: deep (the credit network), ig (the CNN)")
    args = parser.parse_args()
    suites = args.suites.split(",")
    import torch
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as work:
        if "deep" in suites:
            deep_credit(work, args.glassbox, args.repeats)
        if "ig" in suites:
            integrated_gradients_cnn(work, args.glassbox, args.repeats)


if __name__ == "__main__":
    main()
