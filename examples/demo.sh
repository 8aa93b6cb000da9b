#!/usr/bin/env bash
# The main job: explain the bundled XGBoost credit model (trained on the first 800 applicants of
# the German credit data by tests/conformance/generate.py) for the 200 held-out applicants.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p out
data=examples/data/german_credit.csv
{ head -n 1 "$data"; tail -n 200 "$data"; } > out/heldout_applicants.csv
./build/glassbox explain --model examples/credit_model.json --data out/heldout_applicants.csv \
    --output out/explanation.json --quiet
echo "Explained 200 held-out applicants: out/explanation.json"
echo "The model predicts the probability of bad credit (default); 50% or more is declined."
echo
./build/glassbox summary --explanation out/explanation.json --rows 5 --top 4 \
    --labels approved,declined
