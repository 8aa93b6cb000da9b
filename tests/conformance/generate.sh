#!/usr/bin/env bash
# Regenerates the conformance fixtures with the real libraries, in throwaway virtualenvs.
# The generated files are committed, so `make test` needs none of these packages.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${GBX_FIXTURE_VENV:-/tmp/glassbox-fixtures-venv}
old=${GBX_FIXTURE_VENV_OLD:-/tmp/glassbox-fixtures-venv-xgb1}
python3 -m venv "$venv"
"$venv/bin/pip" install -q xgboost lightgbm shap scikit-learn pandas lime
python3 -m venv "$old"
"$old/bin/pip" install -q "xgboost==1.7.6" "numpy<2" pandas
rm -rf "$here"/fixtures/*
"$venv/bin/python" "$here/generate.py" --stage main "$here/fixtures"
"$old/bin/python" "$here/generate.py" --stage old "$here/fixtures"
"$venv/bin/python" "$here/generate.py" --stage manifest "$here/fixtures"
"$venv/bin/python" "$here/generate.py" --stage blackbox "$here/fixtures"
