#!/usr/bin/env bash
# make bench: glassbox against the newest XGBoost, shap and lime from PyPI (in a virtualenv)
# and Debian's XGBoost 1.7 (python3-xgboost), on the same models and rows. Two suites:
# bench.py (TreeSHAP: path-dependent, interactions, interventional) and blackbox.py (kernel,
# permutation and LIME on a tree model and on an MLP behind a plugin), and networks.py (deep vs
# shap and captum on a credit network, integrated gradients vs captum on a CNN; needs torch,
# captum and Debian's dataset-fashion-mnist), and serve.py (glassbox serve under wrk against a
# FastAPI service calling shap; needs Debian's wrk, fastapi and uvicorn), and python.py (the
# Python package: call overhead, TreeExplainer-style batches against shap and pred_contribs),
# and spark.py (glassbox.spark against shap inside mapInPandas on local[2]; needs pyspark,
# pyarrow and Debian's Java; a million rows take about 20 minutes, so it runs only when asked).
# GBX_BENCH_SUITES picks them (default "trees,blackbox,networks,serve,python"); arguments go to bench.py (e.g. --models dense-100x6 --threads 1
# --stream-rows 0 for a quick look).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
suites=${GBX_BENCH_SUITES:-trees,blackbox,networks,serve,python}
"$root/scripts/bootstrap.sh" python3-xgboost python3-venv dataset-fashion-mnist wrk
venv=${GBX_BENCH_VENV:-$root/build/bench-venv}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import xgboost, shap, lime, sklearn" 2>/dev/null; then
    echo "bench: installing xgboost, shap, lime and scikit-learn into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade xgboost shap lime scikit-learn numpy pandas
fi
case ",$suites," in *,networks,*)
    if ! "$venv/bin/python" -c "import torch, captum, onnx" 2>/dev/null; then
        echo "bench: installing torch, captum and onnx into $venv" >&2
        "$venv/bin/pip" install -q torch captum onnx pandas
    fi ;;
esac
case ",$suites," in *,serve,*)
    if ! "$venv/bin/python" -c "import fastapi, uvicorn" 2>/dev/null; then
        echo "bench: installing fastapi and uvicorn into $venv" >&2
        "$venv/bin/pip" install -q fastapi uvicorn
    fi ;;
esac
case ",$suites," in *,spark,*)
    "$root/scripts/bootstrap.sh" openjdk-17-jre-headless
    "$venv/bin/python" -c "import pyspark, pyarrow" 2>/dev/null || "$venv/bin/pip" install -q pyspark pyarrow ;;
esac
case ",$suites," in *,python,*|*,spark,*)
    "$venv/bin/pip" install -q --force-reinstall --no-deps --config-settings=build-dir="$root/build/python-build" "$root/python" ;;
esac
case ",$suites," in *,trees,*) "$venv/bin/python" "$root/bench/bench.py" --python "$venv/bin/python" "$@" ;; esac
case ",$suites," in *,blackbox,*) "$venv/bin/python" "$root/bench/blackbox.py" ;; esac
case ",$suites," in *,networks,*) "$venv/bin/python" "$root/bench/networks.py" ;; esac
case ",$suites," in *,serve,*) "$venv/bin/python" "$root/bench/serve.py" ;; esac
case ",$suites," in *,python,*) "$venv/bin/python" "$root/bench/python.py" ;; esac
case ",$suites," in *,spark,*) PYSPARK_PYTHON="$venv/bin/python" "$venv/bin/python" "$root/bench/spark.py" ;; esac
