#!/usr/bin/env bash
# make bench: glassbox against the newest XGBoost, shap and lime from PyPI (in a virtualenv)
# and Debian's XGBoost 1.7 (python3-xgboost), on the same models and rows. Two suites:
# bench.py (TreeSHAP: path-dependent, interactions, interventional) and blackbox.py (kernel,
# permutation and LIME on a tree model and on an MLP behind a plugin). GBX_BENCH_SUITES picks
# them (default "trees,blackbox"); arguments go to bench.py (e.g. --models dense-100x6
# --threads 1 --stream-rows 0 for a quick look).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/bootstrap.sh" python3-xgboost python3-venv
venv=${GBX_BENCH_VENV:-$root/build/bench-venv}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import xgboost, shap, lime, sklearn" 2>/dev/null; then
    echo "bench: installing xgboost, shap, lime and scikit-learn into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade xgboost shap lime scikit-learn numpy
fi
suites=${GBX_BENCH_SUITES:-trees,blackbox}
case ",$suites," in *,trees,*) "$venv/bin/python" "$root/bench/bench.py" --python "$venv/bin/python" "$@" ;; esac
case ",$suites," in *,blackbox,*) "$venv/bin/python" "$root/bench/blackbox.py" ;; esac
