"""glassbox.spark on real PySpark in local mode (local[2]): the values equal the CLI's bit for
bit with 1 and 4 partitions, for TreeSHAP and for a seeded sampling method, and the pipeline
stage saves and loads with its pipeline."""
import os
import sys

import numpy as np
import pytest

pyspark = pytest.importorskip("pyspark")
pytest.importorskip("pyarrow")

import glassbox  # noqa: E402
from glassbox import spark as gbs  # noqa: E402

from test_api import CREDIT_DATA, CREDIT_MODEL, cli_explain, fixture, read_csv  # noqa: E402


@pytest.fixture(scope="module")
def session():
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master("local[2]").appName("glassbox-tests")
             .config("spark.sql.shuffle.partitions", "4")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.execution.arrow.pyspark.enabled", "true")
             .getOrCreate())
    yield spark
    spark.stop()


def frame_with_ids(session, path, partitions):
    rows = read_csv(path)
    rows.insert(0, "row_id", np.arange(len(rows)))
    return session.createDataFrame(rows).repartition(partitions)


def collected(explained, column="shap_values", with_ids=False):
    rows = sorted(explained.select("row_id", column, "base_value", "prediction",
                                   "model_sha256").collect(), key=lambda r: r.row_id)
    result = (np.array([r[column] for r in rows]), np.array([r.base_value for r in rows]),
              np.array([r.prediction for r in rows]), {r.model_sha256 for r in rows})
    return result + ([r.row_id for r in rows],) if with_ids else result


@pytest.mark.parametrize("partitions", [1, 4])
def test_tree_values_equal_the_cli(session, tmp_path, partitions):
    expected = cli_explain(tmp_path, CREDIT_MODEL, CREDIT_DATA, "tree")
    df = frame_with_ids(session, CREDIT_DATA, partitions)
    values, base, prediction, digests = collected(gbs.explain(df, CREDIT_MODEL, method="tree"))
    assert np.array_equal(values, expected.values)
    assert np.array_equal(base, expected.base_values)
    assert np.array_equal(prediction, expected.predictions)
    assert digests == {expected.provenance["model_sha256"]}


@pytest.mark.parametrize("partitions", [1, 4])
def test_sampled_values_do_not_depend_on_partitions(session, tmp_path, partitions):
    model = fixture("blackbox", "xgb_diabetes_sampled.json")
    data = fixture("blackbox", "xgb_diabetes_sampled.data.csv")
    background = fixture("blackbox", "xgb_diabetes_sampled.background.csv")
    expected = cli_explain(tmp_path, model, data, "permutation", background,
                           ["--max-evals", "200", "--seed", "9"])
    df = frame_with_ids(session, data, partitions)
    explained = gbs.explain(df, model, method="permutation", background=read_csv(background),
                            max_evals=200, seed=9)
    values, _, _, _ = collected(explained)
    assert np.array_equal(values, expected.values)


def test_the_pipeline_stage_saves_and_loads(session, tmp_path):
    from pyspark.ml import Pipeline, PipelineModel
    df = frame_with_ids(session, CREDIT_DATA, 2).filter("row_id < 100")
    stage = gbs.GlassboxExplainer(modelPath=CREDIT_MODEL, outputCol="why")
    fitted = Pipeline(stages=[stage]).fit(df)
    fitted.write().overwrite().save(str(tmp_path / "pipeline"))
    loaded = PipelineModel.load(str(tmp_path / "pipeline"))
    first, _, _, _, ids = collected(fitted.transform(df), "why", with_ids=True)
    again, _, _, _ = collected(loaded.transform(df), "why")
    assert ids == list(range(100))
    assert np.array_equal(first, again)
    local = glassbox.Explainer(CREDIT_MODEL).explain(read_csv(CREDIT_DATA).head(100)).values
    assert np.array_equal(first, local)


def test_bad_options_fail_before_any_task(session):
    df = frame_with_ids(session, CREDIT_DATA, 2)
    with pytest.raises(glassbox.InputError, match="max-evals"):
        gbs.explain(df, CREDIT_MODEL, method="permutation", background=read_csv(CREDIT_DATA).head(10),
                    max_evals=0)
    with pytest.raises(glassbox.InputError, match="no column"):
        gbs.explain(df.drop("Duration"), CREDIT_MODEL)
