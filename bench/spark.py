"""glassbox.spark against shap.TreeExplainer inside mapInPandas, on the same Spark (local[2])
and the same rows: a 300-tree depth-6 XGBoost model on German-credit-shaped data, both writing
every row's values to Spark's no-op sink. Prints both times, the ratio and rows per second per
core. (Run by bench/run.sh with GBX_BENCH_SUITES=spark; needs pyspark, pyarrow and Java.)

usage: spark.py [--rows 1000000]"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np
import pandas as pd
import xgboost as xgb

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_rows(directory, base, rows, columns):
    """Parquet files of jittered credit rows, written a chunk at a time."""
    rng = np.random.default_rng(1)
    path = os.path.join(directory, "rows")
    os.makedirs(path)
    for start in range(0, rows, 100000):
        n = min(100000, rows - start)
        chunk = base[rng.integers(0, len(base), n)].copy()
        chunk[:, :2] *= rng.uniform(0.8, 1.2, size=(n, 2))
        pd.DataFrame(chunk, columns=columns).to_parquet(os.path.join(path, "part-%05d.parquet" % start))
    return path


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1000000)
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession
    from pyspark.sql.types import ArrayType, DoubleType, StructField, StructType
    from glassbox import spark as gbs

    frame = pd.read_csv(os.path.join(ROOT, "examples", "data", "german_credit.csv"))
    y = (frame.pop("Class") == "Good").astype(int).to_numpy()
    # Spark column names without dots: shap's side reads them by name
    columns = [c.replace(".", "_") for c in frame.columns]
    base = frame.to_numpy(dtype=np.float64)
    cores = 2
    spark = (SparkSession.builder.master("local[%d]" % cores).config("spark.ui.enabled", "false")
             .config("spark.driver.memory", "4g").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    with tempfile.TemporaryDirectory(prefix="glassbox-spark-") as directory:
        booster = xgb.train({"max_depth": 6, "eta": 0.1, "objective": "binary:logistic"},
                            xgb.DMatrix(base, label=y, feature_names=columns), 300)
        model_path = os.path.join(directory, "model.json")
        booster.save_model(model_path)
        df = spark.read.parquet(write_rows(directory, base, args.rows, columns)).repartition(4 * cores).cache()
        count = df.count()

        def nothing(batches):  # Spark's own cost: the rows through mapInPandas and back (first:
            # it also starts the Python workers both runs then reuse)
            for batch in batches:
                batch["shap_values"] = gbs._list_column(np.zeros((len(batch), len(columns))), batch.index)
                yield batch

        schema = StructType(list(df.schema.fields) + [StructField("shap_values", ArrayType(DoubleType()))])
        start = time.perf_counter()
        df.mapInPandas(nothing, schema).write.format("noop").mode("overwrite").save()
        passing = time.perf_counter() - start

        start = time.perf_counter()
        gbs.explain(df, model_path).write.format("noop").mode("overwrite").save()
        ours = time.perf_counter() - start

        raw = spark.sparkContext.broadcast(bytes(booster.save_raw(raw_format="json")))

        def with_shap(batches):
            import shap
            model = xgb.Booster()
            model.load_model(bytearray(raw.value))
            explainer = shap.TreeExplainer(model)
            for batch in batches:
                batch["shap_values"] = list(explainer.shap_values(batch[columns].to_numpy()))
                yield batch

        start = time.perf_counter()
        df.mapInPandas(with_shap, schema).write.format("noop").mode("overwrite").save()
        theirs = time.perf_counter() - start

    print("%d rows, 300 trees, local[%d]: glassbox.spark %.1f s (%.0f rows/s/core), "
          "shap.TreeExplainer in mapInPandas %.1f s (%.0f rows/s/core), %.1fx; the rows through "
          "mapInPandas doing nothing: %.1f s"
          % (count, cores, ours, count / ours / cores, theirs, count / theirs / cores,
             theirs / ours, passing))
    spark.stop()


if __name__ == "__main__":
    main()
