#!/usr/bin/env bash
# The Python package's tests: a virtual environment of its own (in the build directory), the
# package installed into it as a user would (pip install ./python), numpy, pandas, pytest and
# the reference libraries and PySpark (on Debian's Java, which make test installs) from PyPI;
# then pytest. Skipped (77), saying why, only when PyPI cannot be reached.
#   usage: tests/python/run.sh GLASSBOX_CLI BUILD_DIR
set -euo pipefail
cli=$(realpath "$1")
build=$(realpath "$2")
root=$(cd "$(dirname "$0")/../.." && pwd)
environment="$build/python-env"

if ! python3 -c "import urllib.request; urllib.request.urlopen('https://pypi.org/simple/pip/', timeout=20)" 2>/dev/null; then
    echo "SKIPPED: PyPI cannot be reached, so the package's dependencies cannot be installed" >&2
    exit 77
fi
[ -x "$environment/bin/python" ] || python3 -m venv "$environment"
pip="$environment/bin/pip"
"$pip" install -q --disable-pip-version-check numpy pandas pytest scikit-learn xgboost lightgbm shap matplotlib pyspark pyarrow
# The build directory is kept, so a second run rebuilds only what changed.
"$pip" install -q --disable-pip-version-check --force-reinstall --no-deps \
    --config-settings=build-dir="$build/python-build" "$root/python"
cd "$root"
# PySpark's executors run this environment's Python.
PYSPARK_PYTHON="$environment/bin/python" GLASSBOX_CLI="$cli" "$environment/bin/python" -m pytest -q \
    -p no:cacheprovider tests/python "${@:3}"
