#!/usr/bin/env bash
# make bench: glassbox against the newest XGBoost and shap from PyPI (in a virtualenv) and
# Debian's XGBoost 1.7 (python3-xgboost), on the same models and rows. Arguments go to
# bench.py (e.g. --models dense-100x6 --threads 1 --stream-rows 0 for a quick look).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/bootstrap.sh" python3-xgboost python3-venv
venv=${GBX_BENCH_VENV:-$root/build/bench-venv}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import xgboost, shap" 2>/dev/null; then
    echo "bench: installing xgboost and shap into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade xgboost shap numpy
fi
exec "$venv/bin/python" "$root/bench/bench.py" --python "$venv/bin/python" "$@"
