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
    --labels approved,declined --features examples/credit_features.json
echo
# The first declined applicant: why, in words (one-hot columns as one reason each, sensitive
# features absent for the applicant, a what-if from the model), and as a waterfall plot. The
# letter, the plots and the report all read the explanation by groups, so a feature has one
# number throughout (its group's Shapley value).
./build/glassbox explain --model examples/credit_model.json --data out/heldout_applicants.csv \
    --groups examples/credit_groups.json --output out/explanation_grouped.json --quiet
declined=$(python3 -c "
import json, math
d = json.load(open('out/explanation.json'))
print(next(i for i, p in enumerate(d['predictions']) if 1 / (1 + math.exp(-p[0])) >= 0.5))")
./build/glassbox reasons --explanation out/explanation_grouped.json --row "$declined" \
    --features examples/credit_features.json --model examples/credit_model.json
./build/glassbox plot waterfall --explanation out/explanation_grouped.json --row "$declined" \
    --features examples/credit_features.json --output out/declined_waterfall.svg
./build/glassbox plot bar --explanation out/explanation_grouped.json \
    --features examples/credit_features.json --audience analyst --output out/importance.png
./build/glassbox report --explanation out/explanation_grouped.json \
    --features examples/credit_features.json --model examples/credit_model.json \
    --title "Credit decisions: 200 held-out applicants" --output out/report.html
echo
echo "Plots: out/declined_waterfall.svg (applicant $declined), out/importance.png (all 200)"
echo "Report: out/report.html (open it in a browser; it needs no network)"
