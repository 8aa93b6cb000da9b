"""Writes the seed corpus for the fuzz targets: small models made by the real libraries (a few
shallow trees, so mutations reach every part of the format quickly) and small CSV files.
Run with a Python that has xgboost, lightgbm and numpy; the seeds are committed.
libFuzzer adds the inputs it finds interesting to the same folders (make fuzz-merge)."""
import os
import sys

import lightgbm as lgb
import numpy as np
import xgboost as xgb

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
rng = np.random.default_rng(0)
X = rng.normal(size=(300, 4))
X[rng.random(X.shape) < 0.1] = np.nan
cat = rng.integers(0, 5, size=300)
y = (np.nan_to_num(X[:, 0]) + (cat == 2) > 0).astype(int)
ym = cat % 3


def save_xgb(name, params, data, label, rounds=3):
    booster = xgb.train(dict(params, max_depth=2), xgb.DMatrix(data, label, enable_categorical=True),
                        rounds)
    booster.save_model(os.path.join(here, "xgboost", name + ".json"))
    booster.save_model(os.path.join(here, "xgboost", name + ".ubj"))
    with open(os.path.join(here, "xgboost", name + ".ubj"), "rb") as model:
        with open(os.path.join(here, "ubjson", name + ".ubj"), "wb") as out:
            out.write(model.read())


def main():
    for folder in ("xgboost", "lightgbm", "ubjson", "csv"):
        os.makedirs(os.path.join(here, folder), exist_ok=True)
    save_xgb("binary", {"objective": "binary:logistic"}, X, y)
    save_xgb("softprob", {"objective": "multi:softprob", "num_class": 3}, X, ym, 2)
    save_xgb("dart", {"objective": "reg:squarederror", "booster": "dart", "rate_drop": 0.5}, X, y)
    import pandas as pd
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame["k"] = pd.Categorical(cat)
    save_xgb("categorical", {"objective": "binary:logistic", "tree_method": "hist"}, frame, y)
    params = {"objective": "binary", "num_leaves": 4, "min_data_in_leaf": 5, "verbose": -1}
    lgb.train(params, lgb.Dataset(X, y), 3).save_model(os.path.join(here, "lightgbm", "binary.txt"))
    lgb.train(dict(params, objective="multiclass", num_class=3), lgb.Dataset(X, ym), 2).save_model(
        os.path.join(here, "lightgbm", "multiclass.txt"))
    lgb.train(params, lgb.Dataset(frame, y, categorical_feature=["k"]), 3).save_model(
        os.path.join(here, "lightgbm", "categorical.txt"))
    lgb.train(dict(params, zero_as_missing=True), lgb.Dataset(np.nan_to_num(X), y), 2).save_model(
        os.path.join(here, "lightgbm", "zero_missing.txt"))
    csv = {
        "plain.csv": "age,income,duration,x\n1,2,3,4\n5.5,-6e3,NA,\n",
        "quoted.csv": '\ufeff"age","in,come"\r\n"1","2"\r\n"",nan\r\n',
        "named.csv": "x,duration,extra,income,age\n1,2,3,4,5\nnull,NaN,\"7\",8,9\n",
        "ragged.csv": "a,b,c\n1,2\n3,4,5,6\n",
        "text.csv": "a,b\n1,hello\n",
    }
    for name, text in csv.items():
        # The first byte picks the fuzz target's mode: even = by position, odd = by name.
        with open(os.path.join(here, "csv", name), "wb") as out:
            out.write(bytes([3 if name == "named.csv" else 2]) + text.encode())
    # ONNX seeds are the small network fixtures (tests/conformance/generate_onnx.py) and the
    # operator fixtures (tests/conformance/generate_ops.py).
    fixtures = os.path.join(os.path.dirname(here), "..", "conformance", "fixtures", "onnx")
    os.makedirs(os.path.join(here, "onnx"), exist_ok=True)
    for name in ("torch_op_zoo", "torch_shape_ops", "torch_transformer", "torch_lstm",
                 "torch_gru", "torch_conv_zoo", "../onnx_ops/range_mod", "../onnx_ops/trilu",
                 "../onnx_ops/non_finite", "../onnx_ops/split", "../onnx_ops/unsupported"):
        with open(os.path.join(fixtures, name + ".onnx"), "rb") as model:
            with open(os.path.join(here, "onnx", os.path.basename(name) + ".onnx"), "wb") as out:
                out.write(model.read())
    # .npy seeds: one small array of each supported type.
    os.makedirs(os.path.join(here, "npy"), exist_ok=True)
    np.save(os.path.join(here, "npy", "f4.npy"), np.arange(12, dtype=np.float32).reshape(3, 2, 2))
    np.save(os.path.join(here, "npy", "u1.npy"), np.arange(6, dtype=np.uint8).reshape(2, 3))
    np.save(os.path.join(here, "npy", "f8.npy"), np.array([1.5, -2.0]))
    np.save(os.path.join(here, "npy", "i8.npy"), np.arange(4, dtype=np.int64).reshape(4, 1))
    # Image seeds: the fixture images, grey and colour, PNG and JPEG.
    os.makedirs(os.path.join(here, "image"), exist_ok=True)
    for name in ("fashion_0.png", "fashion_3.jpg", "fashion_4_colour.png", "fashion_5_colour.jpg"):
        with open(os.path.join(fixtures, "images", name), "rb") as image:
            with open(os.path.join(here, "image", name), "wb") as out:
                out.write(image.read())
    # Keras seeds: a small Sequential model (run with a Python that has keras).
    try:
        import keras
    except ImportError:
        return
    os.makedirs(os.path.join(here, "keras"), exist_ok=True)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="tanh"),
                              keras.layers.BatchNormalization(), keras.layers.LayerNormalization(),
                              keras.layers.Dense(2, activation="softmax")])
    model.save(os.path.join(here, "keras", "seq.keras"))
    model.save(os.path.join(here, "keras", "seq.h5"))


if __name__ == "__main__":
    sys.exit(main())
