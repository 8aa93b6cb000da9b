#!/usr/bin/env bash
# Command-line behaviour: help on every command, exit codes (0 ok, 2 bad input or usage),
# messages that name the place of an error, nothing partial left behind, thread-independence.
set -uo pipefail
usage="usage: run.sh path/to/glassbox path/to/line_model path/to/http_model"
glassbox=${1:?$usage}
line_model=${2:?$usage}
http_model=${3:?$usage}
fixtures=tests/conformance/fixtures
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server"; rm -rf "$work"' EXIT
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect CODE FRAGMENT -- command...: exit code and a fragment of stderr
expect() {
    local code=$1 fragment=$2
    shift 3
    "$@" >"$work/stdout" 2>"$work/stderr"
    local got=$?
    [ "$got" -eq "$code" ] || fail "$* exited $got, expected $code: $(cat "$work/stderr")"
    if [ -n "$fragment" ] && ! grep -qF -- "$fragment" "$work/stderr"; then
        fail "$*: stderr lacks \"$fragment\": $(cat "$work/stderr")"
    fi
}

expect 0 "" -- "$glassbox" --help
for command in predict explain summary plot reasons report; do
    expect 0 "" -- "$glassbox" "$command" --help
    grep -q "usage: glassbox $command" "$work/stdout" || fail "$command --help prints no usage"
done
expect 2 "unknown command" -- "$glassbox" frobnicate
expect 2 "unknown or incomplete option" -- "$glassbox" explain --model
expect 2 "unknown method" -- "$glassbox" explain --model m --data d --method magic
expect 2 "--model and --data are required" -- "$glassbox" predict --data x.csv
expect 2 "needs --background" -- "$glassbox" explain --model m --data d --method tree-interventional

model=$fixtures/xgb_credit_binary.json
data=$fixtures/xgb_credit_binary.data.csv

# Predictions: header plus one line per row.
expect 0 "" -- "$glassbox" predict --model "$model" --data "$data" --output "$work/p.csv"
[ "$(wc -l < "$work/p.csv")" -eq "$(wc -l < "$data")" ] || fail "predict: wrong number of lines"

# A non-finite base_score (beyond float range, or nan) is refused, not made every prediction null.
for score in '[1e400]' '[nan]' '[-1e39]'; do
    sed "s/\"base_score\":\"\[1.5213348E2\]\"/\"base_score\":\"$score\"/" \
        "$fixtures/xgb_diabetes.json" > "$work/bad_base.json"
    grep -qF "$score" "$work/bad_base.json" || fail "base_score $score: fixture not rewritten"
    expect 2 "base_score" -- "$glassbox" predict --model "$work/bad_base.json" \
        --data "$fixtures/xgb_diabetes.data.csv"
    grep -q "is not a finite number" "$work/stderr" || fail "base_score $score: $(cat "$work/stderr")"
done
# A tree that is a chain of 30,000 splits is refused at load (it overflowed the stack in
# TreeSHAP's path walk); one of 4,000 is explained by every tree method.
python3 tests/cli/models/deep_chain.py "$fixtures/xgb_diabetes.json" "$work/deep.json" 30000
expect 2 "tree 0: more than 4096 splits deep" -- "$glassbox" explain --model "$work/deep.json" \
    --data "$fixtures/xgb_diabetes.data.csv" --output "$work/deep_out.json"
python3 tests/cli/models/deep_chain.py "$fixtures/xgb_diabetes.json" "$work/deep.json" 4000
expect 0 "" -- "$glassbox" explain --model "$work/deep.json" --data "$fixtures/xgb_diabetes.data.csv" \
    --interactions --output "$work/deep_out.json" --quiet
expect 0 "" -- "$glassbox" explain --model "$work/deep.json" --data "$fixtures/xgb_diabetes.data.csv" \
    --method tree-interventional --background "$fixtures/xgb_diabetes.data.csv" \
    --output "$work/deep_out.json" --quiet
# A lying num_class (1e8 classes in a model of 45 trees) is refused before memory is spent on it.
python3 -c "
import json, sys
d = json.load(open(sys.argv[1])); d['learner']['learner_model_param']['num_class'] = '100000000'
json.dump(d, open(sys.argv[2], 'w'))" "$fixtures/xgb_iris_softprob.json" "$work/lying.json"
expect 2 "num_class is 100000000, but the model holds 45 trees" -- timeout 20 "$glassbox" predict \
    --model "$work/lying.json" --data "$fixtures/xgb_iris_softprob.data.csv"
# A .keras whose config.json inflates far beyond any real config (a zip bomb) is refused unread.
python3 -c "
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('config.json', ' ' * (80 << 20))
    z.writestr('model.weights.h5', b'')" "$work/bomb.keras"
expect 2 "config.json inflates to 83886080 bytes, more than 64 MB" -- "$glassbox" predict \
    --model "$work/bomb.keras" --data "$data"
# Counts no machine could hold are bad input (exit 2), not "out of memory" (exit 1).
expect 2 "--chunk-rows needs a number from 1 to 1000000" -- "$glassbox" explain --model "$model" \
    --data "$data" --chunk-rows 999999999999
expect 2 "--max-evals needs a number from 1 to 100000000" -- "$glassbox" explain --model "$model" \
    --data "$data" --method kernel --background "$data" --max-evals 99999999999999
# An ONNX input of 1e11 values per row (tests/cli/models/make_hostile.py) is bad input too.
expect 2 "holds more than 268435456 values per row" -- "$glassbox" predict \
    --model tests/cli/models/huge_input.onnx --data "$data"
# Thread counts beyond what any machine runs are refused, not handed to libgomp to crash on.
expect 2 "--threads needs a number from 1 to 1024" -- "$glassbox" explain --model "$model" \
    --data "$data" --threads 100000
expect 2 "--threads needs a number from 1 to 1024" -- "$glassbox" predict --model "$model" \
    --data "$data" --threads 99999999999
# Outputs are written safely: a planted link at OUT.partial is never followed, a failure leaves
# the previous file as it was and no temporary behind, and a full device is an error.
echo "precious" > "$work/victim"
echo "previous" > "$work/safe.csv"
ln -s "$work/victim" "$work/safe.csv.partial"
ln -s "$work/victim" "$work/safe.json.partial"
expect 0 "" -- "$glassbox" predict --model "$model" --data "$data" --output "$work/safe.csv"
expect 0 "" -- "$glassbox" explain --model "$model" --data "$data" --output "$work/safe.json" --quiet
[ "$(cat "$work/victim")" = precious ] || fail "a planted link at OUT.partial was followed"
rm "$work/safe.csv.partial" "$work/safe.json.partial"
grep -q "^prediction" "$work/safe.csv" || fail "predict --output: no predictions written"
echo "previous" > "$work/safe.csv"
{ head -1 "$data"; tail -n +2 "$data"; sed -n 2p "$data" | sed 's/^[^,]*,/oops,/'; } > "$work/late_error.csv"
expect 2 "expected a number" -- "$glassbox" predict --model "$model" --data "$work/late_error.csv" \
    --output "$work/safe.csv"
[ "$(cat "$work/safe.csv")" = previous ] || fail "predict: a failed run destroyed the previous file"
ls "$work"/safe.csv.partial-* >/dev/null 2>&1 && fail "predict: a failed run left a temporary file"
expect 2 "write error" -- "$glassbox" predict --model "$model" --data "$data" --output /dev/full
"$glassbox" predict --model "$model" --data "$data" > /dev/full 2> "$work/stderr"
[ $? -eq 2 ] && grep -q "standard output: write error" "$work/stderr" || fail "predict to a full stdout: $(cat "$work/stderr")"
for command in "summary --explanation $work/safe.json" "reasons --explanation $work/safe.json"; do
    # shellcheck disable=SC2086
    "$glassbox" $command > /dev/full 2> "$work/stderr"
    [ $? -eq 2 ] && grep -q "write error" "$work/stderr" || fail "$command to a full stdout: $(cat "$work/stderr")"
done
# Malformed explanation files are refused by every command that reads one, summary included
# (it crashed on these with its own reader).
base_file='{"format": "glassbox.explanation/1", "rows": 1, "feature_names": ["a", "b"], "output_names": ["y"], "values": [[[1, 2]]], "base_values": [[0]], "predictions": [[3]]'
for broken in \
    ', "groups": {"a": null, "b": ["b"]}, "data_columns": ["a", "b"]}' \
    ', "data_columns": null, "groups": {"a": ["a"], "b": ["b"]}}' \
    ', "groups": {"a": "a", "b": ["b"]}, "data_columns": ["a", "b"]}' \
    '}' ; do
    echo "$base_file$broken" > "$work/malformed.json"
    [ "$broken" = '}' ] && sed -i 's/"values": \[\[\[1, 2\]\]\]/"values": 7/' "$work/malformed.json"
    for command in "summary" "plot bar --output $work/m.svg" "reasons" "report --output $work/m.html"; do
        # shellcheck disable=SC2086
        expect 2 "malformed.json" -- "$glassbox" $command --explanation "$work/malformed.json"
    done
done
echo "$base_file}" | sed 's/"predictions": \[\[3\]\]/"predictions": "three"/' > "$work/malformed.json"
expect 2 "\"predictions\" must hold 1 rows" -- "$glassbox" summary --explanation "$work/malformed.json"
# The library's notes (a column the model does not use) reach stderr, unless --quiet.
expect 0 "ignoring 1 column the model does not use: Class" -- "$glassbox" explain --model \
    examples/credit_model.json --data examples/data/german_credit.csv --output "$work/notes.json"
expect 0 "" -- "$glassbox" explain --model examples/credit_model.json \
    --data examples/data/german_credit.csv --output "$work/notes.json" --quiet
[ -s "$work/stderr" ] && fail "explain --quiet: stderr is not empty: $(cat "$work/stderr")"
expect 0 "" -- "$glassbox" predict --model examples/credit_model.json \
    --data examples/data/german_credit.csv --output "$work/notes.csv" --quiet
[ -s "$work/stderr" ] && fail "predict --quiet: stderr is not empty: $(cat "$work/stderr")"
# JSON and CSV explanations; the summary reads the JSON back.
expect 0 "" -- "$glassbox" explain --model "$model" --data "$data" --output "$work/e.json"
grep -q '"format": "glassbox.explanation/1"' "$work/e.json" || fail "explain: no format tag"
grep -q '"interaction_values"' "$work/e.json" && fail "explain: interactions without --interactions"
expect 0 "" -- "$glassbox" summary --explanation "$work/e.json" --rows 2
grep -q "^row 1:" "$work/stdout" || fail "summary: no second row"
expect 0 "" -- "$glassbox" explain --model "$model" --data "$data" --output "$work/e.csv"
[ "$(wc -l < "$work/e.csv")" -eq "$(wc -l < "$data")" ] || fail "explain csv: wrong number of lines"
head -1 "$work/e.csv" | grep -q ',base_value,prediction$' || fail "explain csv: header"
expect 0 "" -- "$glassbox" explain --model "$model" --data "$data" --interactions --no-data \
    --output "$work/i.json"
grep -q '"interaction_values"' "$work/i.json" || fail "explain: --interactions wrote none"
grep -q '"data"' "$work/i.json" && fail "explain: --no-data still wrote data"

# --format picks CSV on standard output; a device is written in place, not replaced.
expect 0 "" -- "$glassbox" explain --model "$model" --data "$data" --format csv --quiet
cmp -s "$work/stdout" "$work/e.csv" || fail "explain --format csv on stdout differs from e.csv"
mkfifo "$work/pipe"
cat "$work/pipe" > "$work/from_pipe.csv" &
expect 0 "" -- "$glassbox" explain --model "$model" --data "$data" --format csv --output "$work/pipe"
wait
[ -p "$work/pipe" ] || fail "explain replaced the FIFO it wrote to"
cmp -s "$work/from_pipe.csv" "$work/e.csv" || fail "explain into a FIFO differs from e.csv"
expect 2 "--format is json or csv" -- "$glassbox" explain --model "$model" --data "$data" --format xml

# Method exact sees the model only through its predictions; on a 4-feature model it must equal
# interventional TreeSHAP against the same background. More than 24 features are refused.
iris=$fixtures/xgb_iris_softprob
expect 0 "" -- "$glassbox" explain --model "$iris.json" --data "$iris.data.csv" --method exact \
    --background "$iris.data.csv" --output "$work/exact.csv"
expect 0 "" -- "$glassbox" explain --model "$iris.json" --data "$iris.data.csv" \
    --method tree-interventional --background "$iris.data.csv" --output "$work/tree_iv.csv"
[ "$(wc -l < "$work/exact.csv")" -eq "$(wc -l < "$work/tree_iv.csv")" ] || fail "exact: wrong number of lines"
paste -d, "$work/exact.csv" "$work/tree_iv.csv" | awk -F, 'NR > 1 { n = NF / 2
    for (i = 2; i <= n; i++) { d = $i - $(i + n); if (d < 0) d = -d; if (d > 1e-9) bad = 1 } }
    END { exit bad }' || fail "exact differs from tree-interventional on the iris model"
expect 2 "at most 24 features; this model has 61" -- "$glassbox" explain --model "$model" \
    --data "$data" --method exact --background "$data"
expect 2 "method exact needs --background" -- "$glassbox" explain --model "$model" --data "$data" --method exact

# A plugin model (examples/plugins/linear.c, built beside glassbox): exact SHAP values of a
# linear model are w_i (x_i - mean of the background's x_i).
plugin="plugin:$(dirname "$glassbox")/linear.so"
printf 'a,b,c\n1,2,3\n0.5,-1,4\n2,2,2\n' > "$work/p_rows.csv"
printf 'a,b,c\n0,0,0\n1,1,1\n2,0,1\n' > "$work/p_background.csv"
expect 0 "" -- "$glassbox" explain --model "$plugin:0.5,-1,2;0.1" --data "$work/p_rows.csv" \
    --background "$work/p_background.csv" --format csv --quiet
awk -F, 'NR > 1 { split("1 2 3 0.5 -1 4 2 2 2", x, " "); r = NR - 2
    want[1] = 0.5 * (x[3 * r + 1] - 1); want[2] = -1 * (x[3 * r + 2] - 1 / 3)
    want[3] = 2 * (x[3 * r + 3] - 2 / 3)
    for (i = 1; i <= 3; i++) { d = $i - want[i]; if (d < 0) d = -d; if (d > 1e-12) bad = 1 }
    d = $4 - 1.6; if (d < 0) d = -d; if (d > 1e-12) bad = 1 } END { exit bad }' "$work/stdout" \
    || fail "plugin: exact values differ from the linear closed form: $(cat "$work/stdout")"
cp "$work/stdout" "$work/p_plugin_exact.csv"
expect 0 "" -- "$glassbox" predict --model "$plugin:0.5,-1,2;0.1;logit" --data "$work/p_rows.csv"
[ "$(sed -n 2p "$work/stdout" | cut -c1-8)" = "0.990048" ] || fail "plugin: logit prediction"
expect 2 "expected a number at \"x\"" -- "$glassbox" predict --model "$plugin:0.5,x" \
    --data "$work/p_rows.csv"
expect 2 "cannot load" -- "$glassbox" predict --model "plugin:$work/missing.so" --data "$work/p_rows.csv"
expect 2 "no gbx_plugin_entry" -- "$glassbox" predict --model "plugin:$(dirname "$glassbox")/libglassbox.so" \
    --data "$work/p_rows.csv"
printf 'a,b,c\n1,,3\n' > "$work/p_missing.csv"
expect 1 "predict failed: row 0: feature 1 is missing" -- "$glassbox" predict \
    --model "$plugin:0.5,-1,2;0.1" --data "$work/p_missing.csv"

# Permutation sampling on the additive plugin model: every order gives the exact values; the
# JSON file carries the seed and the standard errors.
expect 0 "" -- "$glassbox" explain --model "$plugin:0.5,-1,2;0.1" --data "$work/p_rows.csv" \
    --background "$work/p_background.csv" --method permutation --seed 7 --max-evals 60 \
    --format csv --quiet
paste -d, "$work/stdout" "$work/p_plugin_exact.csv" | awk -F, 'NR > 1 { n = NF / 2
    for (i = 1; i <= n; i++) { d = $i - $(i + n); if (d < 0) d = -d; if (d > 1e-12) bad = 1 } }
    END { exit bad }' || fail "permutation differs from exact on an additive model"
expect 0 "" -- "$glassbox" explain --model "$plugin:0.5,-1,2;0.1" --data "$work/p_rows.csv" \
    --background "$work/p_background.csv" --method permutation --seed 7 --output "$work/perm.json"
grep -q '"seed": 7,' "$work/perm.json" || fail "permutation: seed not recorded"
grep -q '"standard_errors"' "$work/perm.json" || fail "permutation: no standard errors"
grep -q '"permutation_pairs": 83' "$work/perm.json" || fail "permutation: pairs not recorded"
expect 2 "method permutation needs --background" -- "$glassbox" explain --model "$model" \
    --data "$data" --method permutation
expect 2 "--seed needs a non-negative integer" -- "$glassbox" explain --model "$model" \
    --data "$data" --method permutation --background "$data" --seed -1

# Linear models (glassbox_linear JSON): method linear (the default for them) equals exact.
printf '{"glassbox_linear": 1, "feature_names": ["c", "a", "b"], "coefficients": [[2, 0.5, -1], [1, 1, 1]],
  "intercepts": [0.1, -0.2], "link": "softmax"}\n' > "$work/linear.json"
expect 0 "" -- "$glassbox" explain --model "$work/linear.json" --data "$work/p_rows.csv" \
    --background "$work/p_background.csv" --format csv --quiet
cp "$work/stdout" "$work/linear.csv"
expect 0 "" -- "$glassbox" explain --model "$work/linear.json" --data "$work/p_rows.csv" \
    --background "$work/p_background.csv" --method exact --format csv --quiet
paste -d, "$work/stdout" "$work/linear.csv" | awk -F, 'NR > 1 { n = NF / 2
    for (i = 2; i <= n; i++) { d = $i - $(i + n); if (d < 0) d = -d; if (d > 1e-12) bad = 1 } }
    END { exit bad }' || fail "linear differs from exact on a linear model"
head -1 "$work/linear.csv" | grep -q '^output,c,a,b,base_value,prediction$' || fail "linear: header"
printf '{"glassbox_linear": 1, "coefficients": [1, 2], "link": "logit", "intercepts": [0, 1]}' \
    > "$work/bad_linear.json"
expect 2 "intercepts has 2 numbers, expected 1" -- "$glassbox" predict --model "$work/bad_linear.json" \
    --data "$work/p_rows.csv"
printf '{"glassbox_linear": 1, "coefficients": [[1, 2], [3, 4]], "link": "logit"}' > "$work/bad_linear.json"
expect 2 "link \"logit\" (identity; logit with one output" -- "$glassbox" predict \
    --model "$work/bad_linear.json" --data "$work/p_rows.csv"
expect 2 "method linear needs a linear model" -- "$glassbox" explain --model "$iris.json" \
    --data "$iris.data.csv" --method linear --background "$iris.data.csv"

# --background-sample draws the stated number of rows, and says when a background is large.
seq 1 300 | awk 'BEGIN { print "a,b,c" } { print $1 "," $1 * 2 "," $1 % 7 }' > "$work/bg300.csv"
expect 0 "300 background rows cost 300 model calls" -- "$glassbox" explain \
    --model "$plugin:0.5,-1,2;0.1" --data "$work/p_rows.csv" --background "$work/bg300.csv" \
    --output "$work/bg_all.json"
expect 0 "" -- "$glassbox" explain --model "$plugin:0.5,-1,2;0.1" --data "$work/p_rows.csv" \
    --background "$work/bg300.csv" --background-sample 50 --seed 3 --output "$work/bg50.json"
grep -q '"background_rows": 50,' "$work/bg50.json" || fail "--background-sample: not 50 rows"
grep -q 'model calls' "$work/stderr" && fail "--background-sample 50: still warns"

# KernelSHAP's feature selection: recorded in the file, features left out get 0, bad values
# refused.
expect 0 "" -- "$glassbox" explain --model "$model" --data "$data" --background "$data" \
    --background-sample 20 --method kernel --l1-reg "num_features(3)" --max-evals 300 \
    --output "$work/l1.json"
grep -q '"l1_reg": "num_features(3)"' "$work/l1.json" || fail "--l1-reg not recorded"
expect 0 "" -- "$glassbox" explain --model "$model" --data "$data" --background "$data" \
    --background-sample 20 --method kernel --l1-reg "num_features(3)" --max-evals 300 \
    --format csv --quiet
awk -F, 'NR > 1 { n = 0; for (i = 1; i < NF - 1; i++) n += $i != 0; if (n > 3) bad = 1 }
    END { exit bad }' "$work/stdout" || fail "--l1-reg num_features(3): more than 3 features"
expect 0 "" -- "$glassbox" explain --model "$model" --data "$data" --background "$data" \
    --background-sample 20 --method kernel --tolerance 0.01 --output "$work/tol.json"
grep -q '"tolerance": 0.01' "$work/tol.json" || fail "--tolerance not recorded"
expect 2 "--tolerance needs a positive number" -- "$glassbox" explain --model "$model" \
    --data "$data" --background "$data" --method kernel --tolerance -1
expect 0 "" -- "$glassbox" explain --model "$model" --data "$data" --background "$data" \
    --background-sample 20 --method kernel --sample-background 3 --max-evals 600 \
    --output "$work/sampled.json"
grep -q '"sample_background": "3"' "$work/sampled.json" || fail "kernel --sample-background not recorded"
for bad in 0 -2 3x two; do
    expect 2 "--sample-background is all, one or a count of rows" -- "$glassbox" explain \
        --model "$model" --data "$data" --background "$data" --method kernel --sample-background "$bad"
done
expect 2 "permutation samples one background row per pair of orders, not 3" -- "$glassbox" \
    explain --model "$model" --data "$data" --background "$data" --method permutation \
    --sample-background 3
expect 2 "sampling the background is for methods permutation and kernel" -- "$glassbox" \
    explain --model "$model" --data "$data" --background "$data" --method exact \
    --sample-background one
for bad in "num_features(0)" "num_features(3" "num_features(3))" lasso; do
    expect 2 "--l1-reg is off, num_features(K), aic or bic" -- "$glassbox" explain --model "$model" \
        --data "$data" --background "$data" --method kernel --l1-reg "$bad"
done

# A weighted k-means summary of the background (shap.kmeans): interventional TreeSHAP and
# exact enumeration take every centre at its weight and agree; a stratified sample keeps each
# stratum's share; the summary is recorded and misuse is refused.
for method in tree-interventional exact; do
    expect 0 "" -- "$glassbox" explain --model "$iris.json" --data "$iris.data.csv" \
        --background "$iris.data.csv" --background-kmeans 6 --seed 2 --method $method \
        --output "$work/km_$method.json"
    grep -q '"background_rows": 6, "background_weighted": true' "$work/km_$method.json" ||
        fail "--background-kmeans with $method: not a weighted background of 6"
done
"$glassbox" explain --model "$iris.json" --data "$iris.data.csv" --background "$iris.data.csv" \
    --background-kmeans 6 --seed 2 --method tree-interventional --format csv --quiet > "$work/km_t.csv"
"$glassbox" explain --model "$iris.json" --data "$iris.data.csv" --background "$iris.data.csv" \
    --background-kmeans 6 --seed 2 --method exact --format csv --quiet > "$work/km_e.csv"
paste -d, "$work/km_t.csv" "$work/km_e.csv" | awk -F, 'NR > 1 { n = NF / 2
    for (i = 2; i <= n; i++) { d = $i - $(i + n); if (d < 0) d = -d; if (d > 1e-9) bad = 1 } }
    END { exit bad }' || fail "--background-kmeans: tree-interventional and exact differ"
expect 0 "" -- "$glassbox" explain --model "$model" --data "$data" --background "$data" \
    --background-sample 8 --background-stratify ForeignWorker --method tree-interventional \
    --output "$work/strat.json"
grep -q '"background_rows": 8, "background_weighted": true' "$work/strat.json" ||
    fail "--background-stratify: not a weighted background of 8"
expect 2 "--background-stratify needs --background-sample K or --background-kmeans K" -- \
    "$glassbox" explain --model "$model" --data "$data" --background "$data" --background-stratify Age
expect 2 "has no column \"Nope\" the model uses" -- "$glassbox" explain --model "$model" \
    --data "$data" --background "$data" --background-sample 5 --background-stratify Nope
expect 2 "cannot represent the" -- "$glassbox" explain --model "$model" --data "$data" \
    --background "$data" --background-sample 3 --background-stratify Age
expect 2 "pick one" -- "$glassbox" explain --model "$model" --data "$data" --background "$data" \
    --background-sample 3 --background-kmeans 3
expect 2 "not from a weighted summary" -- "$glassbox" explain --model "$model" --data "$data" \
    --background "$data" --background-kmeans 5 --method lime

# KernelSHAP's logit link on a plugin that outputs probabilities: values, base and prediction
# in log-odds, adding up; the link is refused elsewhere and must be identity or logit.
expect 0 "" -- "$glassbox" explain --model "$plugin:0.5,-1,2;0.1;logit" --data "$work/p_rows.csv" \
    --background "$work/p_background.csv" --method kernel --link logit --format csv --quiet
awk -F, 'NR > 1 { s = $1 + $2 + $3 + $4 - $5; if (s < 0) s = -s; if (s > 1e-9) bad = 1
    p = 1 / (1 + exp(-(0.5 * 1 - 2 + 2 * 3 + 0.1))); if (NR == 2 && ($5 - log(p / (1 - p)))^2 > 1e-18) bad = 1 }
    END { exit bad }' "$work/stdout" || fail "kernel --link logit: $(cat "$work/stdout")"
expect 2 "--link is identity or logit" -- "$glassbox" explain --model "$model" --data "$data" \
    --method kernel --background "$data" --link probit
expect 2 "link logit is for method kernel" -- "$glassbox" explain --model "$plugin:0.5,-1,2;0.1;logit" \
    --data "$work/p_rows.csv" --background "$work/p_background.csv" --method exact --link logit

# The example MLP plugin (examples/plugins/mlp.c): a 2-2-1 network written by hand,
# y = logistic(1.5 relu(a - b + 0.5) - relu(2a + b) + 0.25), against awk's arithmetic.
printf 'glassbox_mlp 1 2\n2 2 relu\n1 2\n-1 1\n0.5 0\n2 1 logistic\n1.5\n-1\n0.25\n' > "$work/mlp.txt"
printf 'a,b\n1,2\n-1,0.5\n3,-2\n' > "$work/mlp_rows.csv"
# and 600 more rows, so the plugin's blocks of 256 are crossed
awk 'BEGIN { for (i = 0; i < 600; i++) printf "%.3f,%.3f\n", (i % 37) / 9 - 2, (i % 23) / 5 - 2 }' \
    >> "$work/mlp_rows.csv"
expect 0 "" -- "$glassbox" predict --model "plugin:$(dirname "$glassbox")/mlp.so:$work/mlp.txt" \
    --data "$work/mlp_rows.csv"
paste -d, "$work/mlp_rows.csv" "$work/stdout" | awk -F, 'NR > 1 {
    h1 = $1 - $2 + 0.5; if (h1 < 0) h1 = 0; h2 = 2 * $1 + $2; if (h2 < 0) h2 = 0
    y = 1 / (1 + exp(-(1.5 * h1 - h2 + 0.25))); d = y - $3; if (d < 0) d = -d; if (d > 1e-12) bad = 1 }
    END { exit bad }' || fail "mlp plugin: $(cat "$work/stdout")"
printf 'glassbox_mlp 1 1\n2 1 softsign\n1 1 0\n' > "$work/bad_mlp.txt"
expect 2 "layer 1: unknown activation \"softsign\"" -- "$glassbox" predict \
    --model "plugin:$(dirname "$glassbox")/mlp.so:$work/bad_mlp.txt" --data "$work/mlp_rows.csv"

# A child process behind cmd: (tests/cli/line_model.c, the same linear model): same values as
# the plugin; a child that exits, hangs or answers garbage gives an error, never a hang.
expect 0 "" -- "$glassbox" explain --model "cmd:$line_model ok" --data "$work/p_rows.csv" \
    --background "$work/p_background.csv" --format csv --quiet --threads 2
"$glassbox" explain --model "$plugin:0.5,-1,2;0.1" --data "$work/p_rows.csv" \
    --background "$work/p_background.csv" --format csv --quiet > "$work/p_plugin.csv"
paste -d, "$work/stdout" "$work/p_plugin.csv" | awk -F, 'NR > 1 { n = NF / 2
    for (i = 1; i <= n; i++) { d = $i - $(i + n); if (d < 0) d = -d; if (d > 1e-12) bad = 1 } }
    END { exit bad }' || fail "cmd: values differ from the plugin's"
# The settings glassbox restarts itself with for OpenBLAS are not passed on to the child.
expect 0 "" -- "$glassbox" predict --model "cmd:env > $work/child_env; exec $line_model ok" \
    --data "$work/p_rows.csv"
! grep -E "^(OPENBLAS_|GLASSBOX_BLAS)" "$work/child_env" || fail "the cmd: child inherits OpenBLAS settings"
OPENBLAS_CORETYPE=Haswell expect 0 "" -- "$glassbox" predict \
    --model "cmd:env > $work/child_env; exec $line_model ok" --data "$work/p_rows.csv"
grep -qx "OPENBLAS_CORETYPE=Haswell" "$work/child_env" || fail "a user's OPENBLAS_CORETYPE is dropped"
expect 2 "exited with status 3" -- "$glassbox" predict --model "cmd:$line_model die" \
    --data "$work/p_rows.csv"
expect 2 "no answer within 1 s (0 of 3 rows answered" -- timeout 20 "$glassbox" predict \
    --model "cmd:$line_model hang" --model-timeout 1 --data "$work/p_rows.csv"
# The model stops with its shell: a shell that must wait (";" keeps it from exec'ing) is not
# the only process stopped after a timeout, its model is too.
expect 2 "no answer within 1 s" -- timeout 20 "$glassbox" predict \
    --model "cmd:$line_model hang; echo never" --model-timeout 1 --data "$work/p_rows.csv"
sleep 0.2
pgrep -f "^$line_model hang" >/dev/null && { fail "a timed-out cmd: model was left running"; pkill -f "^$line_model hang"; }
expect 2 "no answer within 1 s (1 of 3 rows answered" -- timeout 20 "$glassbox" predict \
    --model "cmd:$line_model short" --model-timeout 1 --data "$work/p_rows.csv"
# An empty answer line at 2 threads: the message names the row and what was wrong, whichever
# thread's batch reports it (it said only "failed earlier").
expect 2 "is \"\", expected 1 finite number" -- timeout 60 "$glassbox" explain \
    --model "cmd:$line_model blank" --data "$work/p_rows.csv" --background "$work/p_background.csv" \
    --method permutation --max-evals 400 --threads 2 --quiet
# A line that never ends is cut off at what the rows can need, not buffered without bound.
expect 2 "answered more than" -- timeout 60 "$glassbox" predict --model "cmd:$line_model endless" \
    --data "$work/p_rows.csv"
# A child answering two lines for one row (from row 51 on) is caught, never read as the next
# batch's answers: exit 2 naming the row, at any thread count.
python3 -c "
import random
random.seed(3)
print('a,b,c')
for i in range(300): print(','.join('%.3f' % random.uniform(-1, 1) for _ in range(3)))" > "$work/p_many.csv"
for threads in 1 2; do
    expect 2 "answered more lines than rows" \
        -- timeout 60 "$glassbox" explain --model "cmd:$line_model extra" --data "$work/p_many.csv" \
        --background "$work/p_background.csv" --method exact --threads "$threads" --quiet
done
expect 2 "answer for row 1 is \"hello world\", expected 1 finite number" -- "$glassbox" predict \
    --model "cmd:$line_model garbage" --data "$work/p_rows.csv"
expect 2 "answer for row 1 is \"nan\", expected 1 finite number" -- "$glassbox" predict \
    --model "cmd:$line_model nan" --data "$work/p_rows.csv"
expect 1 "predict gave inf for row 1" -- "$glassbox" predict --model "$plugin:1e308,1e308,0;0" \
    --data "$work/p_rows.csv"
expect 2 "after 0 of 2 header lines" -- "$glassbox" predict --model "cmd:true" --data "$work/p_rows.csv"
expect 2 "--model-timeout needs a number of seconds" -- "$glassbox" predict --model "cmd:true" \
    --model-timeout soon --data "$work/p_rows.csv"

# Feature groups: a and c explained as one feature "ac", b alone. The model is linear, so the
# group's value is the sum of its columns' values, for every method; errors name the column.
printf '{"groups": {"ac": ["a", "c"]}}' > "$work/groups.json"
for method in exact kernel permutation linear; do
    model_spec="$plugin:0.5,-1,2;0.1"
    [ "$method" = linear ] && model_spec="$work/linear3.json"
    printf '{"glassbox_linear": 1, "feature_names": ["a", "b", "c"], "coefficients": [0.5, -1, 2], "intercepts": 0.1}' \
        > "$work/linear3.json"
    expect 0 "" -- "$glassbox" explain --model "$model_spec" --data "$work/p_rows.csv" \
        --background "$work/p_background.csv" --method $method --groups "$work/groups.json" \
        --max-evals 4000 --format csv --quiet
    paste -d, "$work/stdout" "$work/p_plugin.csv" | awk -F, -v method=$method '
        NR == 1 && $1 != "ac" || NR == 1 && $2 != "b" || NR == 1 && $3 != "base_value" { bad = 1 }
        NR > 1 { d = $1 - ($5 + $7); if (d < 0) d = -d; if (d > 1e-9) bad = 1
                 d = $2 - $6; if (d < 0) d = -d; if (d > 1e-9) bad = 1 }
        END { exit bad }' || fail "--groups with $method: $(head -3 "$work/stdout")"
done
expect 0 "" -- "$glassbox" explain --model "$plugin:0.5,-1,2;0.1" --data "$work/p_rows.csv" \
    --background "$work/p_background.csv" --groups "$work/groups.json" --output "$work/g.json"
grep -q '"groups": {"ac": \["a", "c"\], "b": \["b"\]}' "$work/g.json" || fail "--groups: no groups in the JSON"
grep -q '"feature_names": \["ac", "b"\]' "$work/g.json" || fail "--groups: feature names"
expect 0 "" -- "$glassbox" summary --explanation "$work/g.json" --rows 1
grep -q "^    ac " "$work/stdout" || fail "summary of grouped explanation: $(cat "$work/stdout")"
printf '{"groups": {"ac": ["a", "z"]}}' > "$work/bad_groups.json"
expect 2 "group \"ac\" names column \"z\", which the model does not have" -- "$glassbox" explain \
    --model "$plugin:0.5,-1,2;0.1" --data "$work/p_rows.csv" --background "$work/p_background.csv" \
    --groups "$work/bad_groups.json"
printf '{"groups": {"ac": ["a", "c"], "cb": ["c", "b"]}}' > "$work/bad_groups.json"
expect 2 "column \"c\" is in groups \"ac\" and \"cb\"" -- "$glassbox" explain \
    --model "$plugin:0.5,-1,2;0.1" --data "$work/p_rows.csv" --background "$work/p_background.csv" \
    --groups "$work/bad_groups.json"
printf '{"groups": {"ac": ["a", "c"]' > "$work/bad_groups.json"
expect 2 "not valid JSON (the text ends early" -- "$glassbox" explain \
    --model "$plugin:0.5,-1,2;0.1" --data "$work/p_rows.csv" --background "$work/p_background.csv" \
    --groups "$work/bad_groups.json"
# The credit model's one-hot columns as 11 groups (examples/credit_groups.json): 20 features
# explained, adding up to the prediction.
expect 0 "" -- "$glassbox" explain --model "$model" --data "$data" \
    --groups examples/credit_groups.json --format csv --quiet
awk -F, 'NR == 1 && (NF != 22 || $10 != "CheckingAccountStatus") { bad = 1 }
    NR > 1 { s = 0; for (i = 1; i <= 20; i++) s += $i; d = s + $21 - $22; if (d < 0) d = -d; if (d > 1e-9) bad = 1 }
    END { exit bad }' "$work/stdout" || fail "--groups on the credit model: $(head -2 "$work/stdout")"
# LIME with the groups: one-hot dummies drawn together from training rows, 20 features, each
# local model adding up to its local prediction.
expect 0 "" -- "$glassbox" explain --model "$model" --data "$data" --background "$data" \
    --method lime --groups examples/credit_groups.json --output "$work/lime_groups.json"
features_seen=$(awk '/"feature_names"/ { n = gsub(/", "/, "&"); print n + 1; exit }' "$work/lime_groups.json")
[ "$features_seen" = 20 ] || fail "lime with groups: $features_seen features, expected 20"
expect 2 "cannot be asked together with feature groups" -- "$glassbox" explain --model "$model" \
    --data "$data" --interactions --groups examples/credit_groups.json

# LIME without a discretizer or feature selection on a linear model: the local fit is the
# model itself, so the contributions are w (x - mean of the training data), exact's values, up
# to the ridge's slight shrinkage; the same seed gives the same bytes at any thread count.
expect 0 "" -- "$glassbox" explain --model "$plugin:0.5,-1,2;0.1" --data "$work/p_rows.csv" \
    --background "$work/bg300.csv" --method lime --discretizer none --feature-selection none \
    --format csv --quiet --threads 1 --seed 4
cp "$work/stdout" "$work/lime1.csv"
"$glassbox" explain --model "$plugin:0.5,-1,2;0.1" --data "$work/p_rows.csv" --background "$work/bg300.csv" \
    --method exact --format csv --quiet > "$work/exact300.csv"
paste -d, "$work/lime1.csv" "$work/exact300.csv" | awk -F, 'NR > 1 { for (i = 1; i <= 3; i++) {
    d = $i - $(i + 5); if (d < 0) d = -d; e = $(i + 5); if (e < 0) e = -e
    if (d > 0.01 + 0.01 * e) bad = 1 } } END { exit bad }' ||
    fail "lime on a linear model: $(cat "$work/lime1.csv")"
expect 0 "" -- "$glassbox" explain --model "$plugin:0.5,-1,2;0.1" --data "$work/p_rows.csv" \
    --background "$work/bg300.csv" --method lime --discretizer none --feature-selection none \
    --format csv --quiet --threads 2 --seed 4
cmp -s "$work/stdout" "$work/lime1.csv" || fail "lime: output depends on --threads"
expect 0 "" -- "$glassbox" explain --model "$model" --data "$data" --background "$data" \
    --method lime --categorical Telephone,ForeignWorker --discretizer decile --distance cosine \
    --num-features 4 --kernel-width 2 --output "$work/lime.json"
grep -q '"discretizer": "decile", "feature_selection": "auto", "num_features": 4, "kernel_width": 2, "distance": "cosine"' \
    "$work/lime.json" || fail "lime: parameters not recorded"
grep -q '"local_predictions": \[' "$work/lime.json" && grep -q '"r2": \[' "$work/lime.json" ||
    fail "lime: no local predictions or R^2"
expect 2 "--categorical names column \"Nope\", which the model does not have" -- "$glassbox" explain \
    --model "$model" --data "$data" --background "$data" --method lime --categorical Age,Nope
expect 2 "--discretizer is quartile, decile or none" -- "$glassbox" explain --model "$model" \
    --data "$data" --background "$data" --method lime --discretizer entropy
expect 2 "method lime needs --background" -- "$glassbox" explain --model "$model" --data "$data" \
    --method lime

# A served model (tests/cli/http_model.c, the same linear model again) over TF Serving REST and
# the Open Inference Protocol: same values as the plugin, connections kept alive, a dropped
# connection retried, and a slow, dropping, failing or garbled server named in a clear error.
"$http_model" > "$work/port" &
server=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
base="http://127.0.0.1:$(cat "$work/port")"
for url in "$base/v1/models/credit:predict" "$base/v2/models/credit/infer" "$base/v2/models/flaky"; do
    expect 0 "" -- "$glassbox" explain --model "$url" --data "$work/p_rows.csv" \
        --background "$work/p_background.csv" --format csv --quiet --threads 2
    paste -d, "$work/stdout" "$work/p_plugin.csv" | awk -F, 'NR == 1 && $0 != "a,b,c,base_value,prediction,a,b,c,base_value,prediction" { bad = 1 }
        NR > 1 { n = NF / 2; for (i = 1; i <= n; i++) { d = $i - $(i + n); if (d < 0) d = -d; if (d > 1e-12) bad = 1 } }
        END { exit bad }' || fail "$url: values differ from the plugin's: $(head -2 "$work/stdout")"
done
grep -q '"type": "open-inference"' <("$glassbox" explain --model "$base/v2/models/credit/infer" \
    --data "$work/p_rows.csv" --background "$work/p_background.csv" --quiet) ||
    fail "http: explanation does not name the protocol"
# The server's count of connections so far, asked over bash's /dev/tcp.
connections_seen() {
    exec 3<>"/dev/tcp/127.0.0.1/$(cat "$work/port")"
    printf 'GET /stats HTTP/1.0\r\n\r\n' >&3
    sed -n 's/.*"connections":\([0-9]*\).*/\1/p' <&3
    exec 3<&-
}
connections_before=$(connections_seen)
expect 0 "" -- "$glassbox" explain --model "$base/v1/models/credit:predict" --data "$work/p_rows.csv" \
    --background "$work/bg300.csv" --method permutation --quiet --threads 1 --output "$work/h.json"
connections=$(( $(connections_seen) - connections_before - 1 ))
[ "$connections" -le 5 ] || fail "http: $connections connections for one run (no keep-alive?)"
# The served model's URL and version are recorded; a URL pinning a version the server does not
# serve there is refused (the server says it serves version 7).
grep -q "\"source\": \"$base/v1/models/credit:predict\", \"version\": \"7\"" "$work/h.json" ||
    fail "http: the served model's URL and version are not in the provenance"
for url in "$base/v1/models/credit/versions/7:predict" "$base/v2/models/credit/versions/7/infer"; do
    expect 0 "" -- "$glassbox" explain --model "$url" --data "$work/p_rows.csv" \
        --background "$work/p_background.csv" --method exact --quiet --output "$work/pinned.json"
    grep -q '"version": "7"' "$work/pinned.json" || fail "$url: the pinned version is not recorded"
done
expect 2 "the URL pins version 3, but the server serves version 7 there" -- "$glassbox" predict \
    --model "$base/v1/models/credit/versions/3:predict" --data "$work/p_rows.csv"
expect 2 "the URL pins version 3, which the server does not list" -- "$glassbox" predict \
    --model "$base/v2/models/credit/versions/3/infer" --data "$work/p_rows.csv"
expect 2 "Timeout was reached for rows 1-3 (--model-timeout sets the limit)" -- timeout 20 \
    "$glassbox" predict --model "$base/v1/models/slow:predict" --model-timeout 1 --data "$work/p_rows.csv"
expect 2 "Server returned nothing (no headers, no data) for rows 1-3 after retries" -- \
    "$glassbox" predict --model "$base/v2/models/drop/infer" --data "$work/p_rows.csv"
expect 2 "reply to rows 1-3 is not a JSON object with \"predictions\"" -- \
    "$glassbox" predict --model "$base/v1/models/malformed:predict" --data "$work/p_rows.csv"
expect 2 "reply to rows 1-3 is not a JSON object with \"outputs\"" -- \
    "$glassbox" predict --model "$base/v2/models/malformed/infer" --data "$work/p_rows.csv"
# A reply far longer than its rows can need (64 MB for 3 rows) is cut off, not buffered whole.
expect 2 "the reply to rows 1-3 is longer than" -- \
    "$glassbox" predict --model "$base/v1/models/huge:predict" --data "$work/p_rows.csv"
expect 2 "answered HTTP 500 for rows 1-3: model crashed: out of GPU memory" -- \
    "$glassbox" predict --model "$base/v2/models/broken/infer" --data "$work/p_rows.csv"
expect 2 "answered HTTP 400 for rows 1-3: input x: expected shape [-1,4]" -- \
    "$glassbox" predict --model "$base/v1/models/refuses:predict" --data "$work/p_rows.csv"
expect 2 "tensor name or datatype \"y\"\" is missing, too long or needs escaping" -- \
    "$glassbox" predict --model "$base/v2/models/quoted/infer" --data "$work/p_rows.csv"
expect 2 "expected .../v1/models/NAME:predict (TF Serving) or .../v2/models/NAME/infer" -- \
    "$glassbox" predict --model "$base/v3/models/credit" --data "$work/p_rows.csv"
expect 2 "answered HTTP 404: Servable not found for request: Latest(missing)" -- \
    "$glassbox" predict --model "$base/v1/models/missing:predict" --data "$work/p_rows.csv"

# Bit-identical at any thread count.
"$glassbox" explain --model "$model" --data "$data" --threads 1 --output "$work/t1.json" 2>/dev/null
"$glassbox" explain --model "$model" --data "$data" --threads 2 --output "$work/t2.json" 2>/dev/null
cmp -s "$work/t1.json" "$work/t2.json" || fail "explain: output depends on --threads"
# Networks too: blocks of rows run on several threads at once, each making BLAS calls (an
# OpenBLAS that is not safe to call from several threads shows here).
{ head -n 1 "$fixtures/onnx/fashion_images.pixels.csv"; for _ in 1 2 3 4; do tail -n +2 "$fixtures/onnx/fashion_images.pixels.csv"; done; } \
    > "$work/images24.csv"
for t in 1 2; do
    "$glassbox" explain --model "$fixtures/onnx/torch_fashion_cnn.onnx" --data "$work/images24.csv" \
        --method integrated-gradients --class predicted --threads $t --quiet \
        --output "$work/ig_t$t.json" 2>/dev/null
done
cmp -s "$work/ig_t1.json" "$work/ig_t2.json" || fail "integrated gradients: output depends on --threads"

# Bad input: exit 2, the place named, nothing partial left under the output path.
cp "$data" "$work/bad.csv"
echo "1,2,3" >> "$work/bad.csv"
lines=$(wc -l < "$work/bad.csv")
expect 2 "bad.csv:$lines:4: row has 3 fields" -- "$glassbox" explain --model "$model" \
    --data "$work/bad.csv" --output "$work/never.json"
[ -e "$work/never.json" ] && fail "a failed explain left its output file"
ls "$work" | grep -q partial && fail "a failed explain left a partial file"
expect 2 "cannot open" -- "$glassbox" predict --model "$work/missing.json" --data "$data"
expect 2 "is missing" -- "$glassbox" predict --model "$model" --data "$fixtures/xgb_diabetes.data.csv"
head -c 3000 "$model" > "$work/truncated.json"
expect 2 "truncated.json:" -- "$glassbox" predict --model "$work/truncated.json" --data "$data"
head -c 2000 "$fixtures/xgb_credit_binary_ubj.ubj" > "$work/truncated.ubj"
expect 2 "UBJSON truncated" -- "$glassbox" predict --model "$work/truncated.ubj" --data "$data"
head -n 40 "$fixtures/lgb_credit_binary.txt" > "$work/truncated.txt"
expect 2 "truncated" -- "$glassbox" predict --model "$work/truncated.txt" --data "$data"
printf 'hello' > "$work/garbage.bin"
expect 2 "not a model file" -- "$glassbox" predict --model "$work/garbage.bin" --data "$data"
: > "$work/empty.csv"
expect 2 "empty" -- "$glassbox" explain --model "$model" --data "$work/empty.csv"
expect 2 "linear trees" -- "$glassbox" predict --model "$fixtures/lgb_linear_tree.txt" --data "$data"

# Networks: ONNX and Keras files, gradient methods and their refusals.
onnx="$fixtures/onnx"
expect 0 "" -- "$glassbox" predict --model "$onnx/keras_credit.keras" --data "$onnx/keras_credit.data.csv" \
    --output "$work/keras.csv"
[ "$(wc -l < "$work/keras.csv")" = 101 ] || fail "keras predict: $(wc -l < "$work/keras.csv") lines"
expect 0 "" -- "$glassbox" explain --model "$onnx/torch_credit_mlp.onnx" --data "$onnx/torch_credit_mlp.data.csv" \
    --method integrated-gradients --steps 20 --integration riemann_middle --output "$work/ig.json" --quiet
grep -q '"method": "integrated-gradients"' "$work/ig.json" || fail "integrated gradients: method not recorded"
grep -q '"convergence_delta"' "$work/ig.json" || fail "integrated gradients: no convergence_delta"
grep -q '"integration": "riemann_middle"' "$work/ig.json" || fail "integrated gradients: rule not recorded"
expect 0 "" -- "$glassbox" explain --model "$onnx/torch_credit_mlp.onnx" --data "$onnx/torch_credit_mlp.data.csv" \
    --method integrated-gradients --baseline mean --background "$onnx/torch_credit_mlp.background.csv" \
    --output "$work/ig_mean.json" --quiet
expect 2 "--baseline mean" -- "$glassbox" explain --model "$onnx/torch_credit_mlp.onnx" \
    --data "$onnx/torch_credit_mlp.data.csv" --method integrated-gradients --baseline mean
expect 2 "holds 100 rows" -- "$glassbox" explain --model "$onnx/torch_credit_mlp.onnx" \
    --data "$onnx/torch_credit_mlp.data.csv" --method integrated-gradients \
    --baseline "$onnx/torch_credit_mlp.background.csv"
expect 0 "" -- "$glassbox" explain --model "$onnx/keras_credit.h5" --data "$onnx/keras_credit.data.csv" \
    --method gradient-shap --background "$onnx/torch_credit_mlp.background.csv" --nsamples 20 \
    --output "$work/gs.json" --quiet
expect 0 "" -- "$glassbox" explain --model "$onnx/keras_credit.keras" --data "$onnx/keras_credit.data.csv" \
    --method deep --background "$onnx/torch_credit_mlp.background.csv" --output "$work/deep.json" --quiet
# shap's users pass 2000 samples: a tabular network takes them; an image model asked for more
# than a row's memory budget is told so.
expect 0 "" -- "$glassbox" explain --model "$onnx/keras_credit.h5" --data "$onnx/keras_credit.data.csv" \
    --method gradient-shap --background "$onnx/torch_credit_mlp.background.csv" --nsamples 2000 \
    --output "$work/gs2000.json" --quiet
grep -q '"samples": 2000' "$work/gs2000.json" || fail "gradient-shap --nsamples 2000 not recorded"
expect 2 "ask fewer (--nsamples, --steps) or one output" -- "$glassbox" explain \
    --model "$onnx/torch_fashion_cnn.onnx" --data "$onnx/torch_fashion_cnn.data.csv" \
    --method smoothgrad --nsamples 50000
grep -q '"method": "deep"' "$work/deep.json" || fail "deep: method not recorded"
# The softmax rule follows the model's origin unless forced, and is recorded either way.
grep -q '"softmax_rule": "tensorflow"' "$work/deep.json" || fail "deep: Keras rule not recorded"
expect 0 "" -- "$glassbox" explain --model "$onnx/torch_credit_mlp.onnx" \
    --data "$onnx/torch_credit_mlp.data.csv" --method deep \
    --background "$onnx/torch_credit_mlp.background.csv" --output "$work/deep_torch.json" --quiet
grep -q '"softmax_rule": "pytorch"' "$work/deep_torch.json" || fail "deep: PyTorch rule not recorded"
expect 0 "" -- "$glassbox" explain --model "$onnx/keras_credit.keras" --data "$onnx/keras_credit.data.csv" \
    --method deep --softmax-rule pytorch --background "$onnx/torch_credit_mlp.background.csv" \
    --output "$work/deep_forced.json" --quiet
grep -q '"softmax_rule": "pytorch"' "$work/deep_forced.json" || fail "deep: forced rule not recorded"
expect 2 "--softmax-rule is auto, tensorflow or pytorch" -- "$glassbox" explain \
    --model "$onnx/keras_credit.keras" --data "$onnx/keras_credit.data.csv" --method deep \
    --softmax-rule caffe --background "$onnx/torch_credit_mlp.background.csv"
expect 2 "--softmax-rule is for method deep" -- "$glassbox" explain \
    --model "$onnx/keras_credit.keras" --data "$onnx/keras_credit.data.csv" --method gradient-shap \
    --softmax-rule tensorflow --background "$onnx/torch_credit_mlp.background.csv"
# TensorFlow SavedModels: the directory or its saved_model.pb; its version covers every file;
# a damaged shard, a missing file and a layer name that is no tensor are told apart.
saved="$fixtures/saved_model"
expect 0 "" -- "$glassbox" explain --model "$saved/cnn" --data "$saved/cnn.data.csv" --method deep \
    --background "$saved/cnn.background.csv" --output "$work/saved_deep.json" --quiet
grep -q '"type": "savedmodel"' "$work/saved_deep.json" || fail "SavedModel: type not recorded"
grep -q '"softmax_rule": "tensorflow"' "$work/saved_deep.json" || fail "SavedModel: TF softmax rule not chosen"
expect 0 "" -- "$glassbox" predict --model "$saved/lstm/saved_model.pb" --data "$saved/lstm.data.csv" \
    --output "$work/saved_lstm.csv"
[ "$(wc -l < "$work/saved_lstm.csv")" = 5 ] || fail "SavedModel LSTM predict: $(wc -l < "$work/saved_lstm.csv") lines"
cp -r "$saved/mlp" "$work/damaged_mlp"
python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[40]^=1; open(p,'wb').write(b)" \
    "$work/damaged_mlp/variables/variables.data-00000-of-00001"
expect 2 "fails its checksum" -- "$glassbox" predict --model "$work/damaged_mlp" --data "$saved/mlp.data.csv"
rm "$work/damaged_mlp/saved_model.pb"
expect 2 "saved_model.pb" -- "$glassbox" predict --model "$work/damaged_mlp" --data "$saved/mlp.data.csv"
expect 2 "StatelessIf" -- "$glassbox" predict --model "$saved/conditional" --data "$saved/mlp.data.csv"
expect 2 "tensors whose names contain it: functional_1_1/conv_1/convolution:0" -- "$glassbox" explain \
    --model "$saved/cnn" --data "$saved/cnn.data.csv" --method grad-cam --layer conv
# A network that ends in a sigmoid outputs probabilities: labelled so, and summary decides.
grep -q '"output": "probability"}' "$work/deep.json" || fail "deep: a sigmoid network's output not labelled a probability"
expect 0 "" -- "$glassbox" summary --explanation "$work/deep.json" --rows 3 --labels good,bad
grep -q "^row 0: \(good\|bad\) (probability" "$work/stdout" || fail "summary of a sigmoid network: no decision: $(head -1 "$work/stdout")"
grep -q '"background_weighted": false' "$work/deep.json" || fail "deep: background weighting not recorded"
# A k-means background is a weighted summary, and deep says so as kernel does.
expect 0 "" -- "$glassbox" explain --model "$onnx/keras_credit.keras" --data "$onnx/keras_credit.data.csv" \
    --method deep --background "$onnx/torch_credit_mlp.background.csv" --background-kmeans 10 \
    --output "$work/deep_kmeans.json" --quiet
grep -q '"background_weighted": true' "$work/deep_kmeans.json" || fail "deep: a k-means background not recorded as weighted"
expect 2 "(LogSoftmax) lies between the input and the explained output and has no DeepLIFT rule" -- \
    "$glassbox" explain --model "$onnx/torch_transformer.onnx" --data "$onnx/torch_transformer.data.csv" \
    --method deep --background "$onnx/torch_transformer.background.csv"
expect 0 "" -- "$glassbox" explain --model "$onnx/torch_fashion_cnn.onnx" --data "$onnx/torch_fashion_cnn.data.csv" \
    --method deep --class predicted --background "$onnx/torch_fashion_cnn.background.csv" \
    --output "$work/cnn_deep.json" --quiet
grep -q '"output_names": \["predicted"\]' "$work/cnn_deep.json" || fail "--class predicted: output_names"
grep -q '"explained_output"' "$work/cnn_deep.json" || fail "--class predicted: no explained_output"
expect 0 "" -- "$glassbox" explain --model "$onnx/torch_fashion_cnn.onnx" --data "$onnx/torch_fashion_cnn.data.csv" \
    --method saliency --output-name class_3 --output "$work/cnn_saliency.csv" --quiet
head -1 "$work/cnn_saliency.csv" | grep -q '^output,' && fail "one chosen output: CSV still has an output column"
expect 0 "" -- "$glassbox" explain --model "$onnx/torch_fashion_cnn.onnx" --data "$onnx/torch_fashion_cnn.data.csv" \
    --method grad-cam --layer /7/Relu_output_0 --class predicted --output "$work/cam.json" --quiet
grep -q '"layer": "/7/Relu_output_0"' "$work/cam.json" || fail "grad-cam: layer not recorded"
expect 2 "there is no \"conv9\"" -- "$glassbox" explain --model "$onnx/torch_fashion_cnn.onnx" \
    --data "$onnx/torch_fashion_cnn.data.csv" --method grad-cam --layer conv9
expect 2 "--class 12 is not an output" -- "$glassbox" explain --model "$onnx/torch_fashion_cnn.onnx" \
    --data "$onnx/torch_fashion_cnn.data.csv" --method saliency --class 12
expect 2 "choosing one output is for the gradient methods" -- "$glassbox" explain --model "$model" \
    --data "$data" --class 0
# On a network too, a model-agnostic method explains every output: the message says which
# methods choose one, not that the model is no network.
expect 2 "method lime explains every output of any model, a network's too" -- "$glassbox" explain \
    --model "$onnx/torch_credit_mlp.onnx" --data "$onnx/torch_credit_mlp.data.csv" --method lime \
    --background "$onnx/torch_credit_mlp.background.csv" --class predicted
expect 2 "need a network" -- "$glassbox" explain --model "$model" --data "$data" --method saliency
expect 2 "node \"/Not\" (Not)" -- "$glassbox" explain --model "$onnx/torch_shape_ops.onnx" \
    --data "$onnx/torch_shape_ops.data.csv" --method saliency
expect 2 "node \"/Hardmax\" uses operator Hardmax" -- "$glassbox" predict \
    --model "$fixtures/onnx_ops/unsupported.onnx" \
    --data "$fixtures/onnx_ops/data.csv"
expect 2 "split sizes that do not add up to 6" -- "$glassbox" predict \
    --model "$fixtures/onnx_ops/split_overrun.onnx" --data "$fixtures/onnx_ops/data.csv"
# A gradient through a masked division by zero is NaN: refused, and no file written.
expect 2 "the attribution of feature 1 is nan" -- "$glassbox" explain \
    --model "$fixtures/onnx_ops/non_finite.onnx" --data "$fixtures/onnx_ops/data.csv" \
    --method saliency --output "$work/non_finite.csv"
[ ! -e "$work/non_finite.csv" ] || fail "a NaN explanation was written"
# Plots from an explanation file.
expect 0 "" -- "$glassbox" plot waterfall --explanation "$work/e.json" --row 1 --output "$work/w.svg"
grep -q 'class="bar raises"' "$work/w.svg" || fail "waterfall: no bars"
expect 0 "" -- "$glassbox" plot bar --explanation "$work/e.json" --max-display 5 --output "$work/b.png"
expect 2 "which plot?" -- "$glassbox" plot --explanation "$work/e.json" --output "$work/w.svg"
expect 2 "unknown plot kind \"pie\"" -- "$glassbox" plot pie --explanation "$work/e.json" --output "$work/w.svg"
expect 2 "there is no row 99999" -- "$glassbox" plot waterfall --explanation "$work/e.json" --row 99999 \
    --output "$work/w.svg"
expect 2 "--explanation and --output are required" -- "$glassbox" plot bar --output "$work/w.svg"
expect 2 "not a glassbox explanation file" -- "$glassbox" plot bar --explanation "$data" --output "$work/w.svg"
# Reasons, in words, with one-hot groups, masked sensitive features and a what-if.
expect 0 "" -- "$glassbox" reasons --explanation "$work/e.json" --row 0 --features examples/credit_features.json \
    --groups examples/credit_groups.json --audience auditor --output "$work/reasons.txt"
grep -q "Principal reasons\|No factor" "$work/reasons.txt" || fail "reasons: no text"
grep -q "Not used as reasons (sensitive): Age" "$work/reasons.txt" || fail "reasons: sensitive features not masked"
expect 0 "" -- "$glassbox" reasons --explanation "$work/e.json" --features examples/credit_features.json \
    --model "$model" --data "$data" --format csv --output "$work/reasons.csv"
head -1 "$work/reasons.csv" | grep -q "^row,rank,feature,display,contribution,value,reason,what_if$" \
    || fail "reasons: CSV header"
grep -q "points lower" "$work/reasons.csv" || fail "reasons: no what-if"
head -3 "$data" > "$work/two_rows.csv"
expect 2 "a what-if needs the rows that were explained" -- "$glassbox" reasons --explanation "$work/e.json" \
    --model "$model" --data "$work/two_rows.csv"
expect 2 "--adverse is higher or lower" -- "$glassbox" reasons --explanation "$work/e.json" --adverse up
# A decision threshold: every row decided, reasons for adverse decisions only (as a letter is).
expect 0 "" -- "$glassbox" reasons --explanation "$work/e.json" --threshold 0.5 --output "$work/decided.json"
python3 - "$work/decided.json" <<'PY' || fail "reasons --threshold: decisions or reasons wrong"
import json, math, sys
rows = json.load(open(sys.argv[1]))["rows"]
assert all(r["decision"] == ("adverse" if 1 / (1 + math.exp(-r["prediction"])) >= 0.5 else "favourable") for r in rows)
assert all(not r["reasons"] for r in rows if r["decision"] == "favourable")
assert any(r["reasons"] for r in rows if r["decision"] == "adverse")
PY
expect 0 "" -- "$glassbox" report --explanation "$work/e.json" --threshold 0.5 --rows 0:3 --output "$work/decided.html"
grep -q "Decision: <b>" "$work/decided.html" || fail "report --threshold: no decisions"
expect 2 "--threshold needs a number" -- "$glassbox" reasons --explanation "$work/e.json" --threshold half
# The model alone gives what-ifs at the rows the explanation holds; the extension picks the
# format (.json is JSON, not text).
expect 0 "" -- "$glassbox" reasons --explanation "$work/e.json" --features examples/credit_features.json \
    --model "$model" --output "$work/reasons_model.json"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert any('what_if' in x for r in d['rows'] for x in r['reasons'])" \
    "$work/reasons_model.json" || fail "reasons --model --output F.json: not JSON with what-ifs"
expect 0 "" -- "$glassbox" explain --model "$model" --data "$data" --no-data --output "$work/nodata.json" --quiet
expect 2 "give --data" -- "$glassbox" reasons --explanation "$work/nodata.json" --model "$model"
expect 0 "" -- "$glassbox" reasons --explanation "$work/nodata.json" --model "$model" --data "$data" \
    --features examples/credit_features.json --format csv --output "$work/nodata_reasons.csv"
grep -q "points lower" "$work/nodata_reasons.csv" || fail "reasons: the rows given by --data: no what-if"
expect 0 "" -- "$glassbox" explain --model "$model" --data "$data" --groups examples/credit_groups.json \
    --output "$work/grouped.json" --quiet
expect 0 "" -- "$glassbox" reasons --explanation "$work/grouped.json" --row 0 --features examples/credit_features.json \
    --model "$model" --data "$data" --audience auditor --output "$work/grouped_reasons.txt"
grep -q "Not used as reasons (sensitive): Age" "$work/grouped_reasons.txt" || fail "reasons on a grouped explanation"
expect 2 "--audience is applicant, analyst or auditor" -- "$glassbox" reasons \
    --explanation "$work/grouped.json" --audience public
expect 2 "already explained by groups" -- "$glassbox" reasons --explanation "$work/grouped.json" \
    --groups examples/credit_groups.json
expect 0 "" -- "$glassbox" report --explanation "$work/grouped.json" --features examples/credit_features.json \
    --rows 0:2 --output "$work/grouped.html"
expect 2 "one number conversion" -- "$glassbox" reasons --explanation "$work/e.json" \
    --features tests/cli/bad_features.json
# The HTML report: one file, the rows and sections asked for, clear errors.
expect 0 "" -- "$glassbox" report --explanation "$work/e.json" --features examples/credit_features.json \
    --groups examples/credit_groups.json --rows 2:4 --output "$work/report.html"
[ "$(grep -c '<article class="row-section"' "$work/report.html")" -eq 2 ] || fail "report: expected 2 sections"
expect 0 "" -- "$glassbox" plot histogram --explanation "$work/e.json" --feature Age --row 2 --output "$work/h.pdf"
expect 2 "a histogram needs --feature" -- "$glassbox" plot histogram --explanation "$work/e.json" --output "$work/h.svg"
expect 2 "--rows needs A:B" -- "$glassbox" report --explanation "$work/e.json" --rows 5:2 --output "$work/r.html"
expect 2 "no details for rows 99999" -- "$glassbox" report --explanation "$work/e.json" --rows 99999 \
    --output "$work/r.html"
expect 2 "--explanation and --output are required" -- "$glassbox" report --explanation "$work/e.json"
ls "$work"/r.html* >/dev/null 2>&1 && fail "report: a failed report left a file"
# The data alone (the form the report was first asked for) and the model alone are accepted.
expect 0 "" -- "$glassbox" report --explanation "$work/e.json" --data "$data" --rows 0:2 --output "$work/r.html"
expect 0 "" -- "$glassbox" report --explanation "$work/nodata.json" --data "$data" --rows 0:2 \
    --features examples/credit_features.json --output "$work/r2.html"
grep -q 'class="evidence">(Loan duration = ' "$work/r2.html" || fail "report --data: the rows' values not shown"
expect 0 "" -- "$glassbox" report --explanation "$work/e.json" --model "$model" --rows 0:2 \
    --features examples/credit_features.json --output "$work/r3.html"
grep -q 'class="what-if"' "$work/r3.html" || fail "report --model: no what-if"
# Text: token attributions at the embedding of the PyTorch text model, as HTML.
expect 0 "" -- "$glassbox" explain --model "$onnx/torch_text.onnx" --data "$onnx/torch_text.data.csv" \
    --method integrated-gradients --steps 8 --layer /embedding/Gather_output_0 --output "$work/text.json" --quiet
expect 0 "" -- "$glassbox" plot text --explanation "$work/text.json" --rows 0:4 --class 1 --output "$work/text.html"
[ "$(grep -o '<span class="token"' "$work/text.html" | wc -l)" -eq 64 ] || fail "text plot: expected 4 rows of 16 tokens"
# A stock transformer encoder as torch's dynamo exporter writes it: token attributions at its
# embedding, drawn with a BERT-style vocabulary whose [PAD] is left out (row 1 has 7 tokens).
transformer="$fixtures/transformer"
expect 0 "" -- "$glassbox" explain --model "$transformer/encoder_dynamo.onnx" --data "$transformer/data.csv" \
    --method integrated-gradients --layer embedding --baseline "$transformer/baseline.csv" \
    --output "$work/encoder.json" --quiet
expect 0 "" -- "$glassbox" plot text --explanation "$work/encoder.json" --rows 1:2 \
    --vocabulary "$transformer/vocabulary.txt" --output "$work/encoder.html"
[ "$(grep -o '<span class="token"' "$work/encoder.html" | wc -l)" -eq 7 ] || fail "text plot: [PAD] tokens shown"
grep -q '>word' "$work/encoder.html" || fail "text plot: the vocabulary's words not shown"
# Images: a folder of PNG/JPEG files is one row per file, in name order.
expect 0 "" -- "$glassbox" predict --model "$onnx/torch_fashion_cnn.onnx" --data "$onnx/images" \
    --output "$work/images.csv"
[ "$(wc -l < "$work/images.csv")" -eq 7 ] || fail "images: expected 6 rows of predictions"
expect 0 "" -- "$glassbox" explain --model "$onnx/torch_fashion_cnn.onnx" --data "$onnx/images/fashion_0.png" \
    --method integrated-gradients --steps 8 --class predicted --pixel-mean 0.5 --pixel-std 0.25 \
    --output "$work/image_ig.json" --quiet
expect 0 "" -- "$glassbox" plot image --explanation "$work/image_ig.json" --output "$work/image.png"
expect 0 "" -- "$glassbox" plot image --explanation "$work/image_ig.json" --output "$work/image.svg"
grep -q "sum of the map" "$work/image.svg" || fail "image plot of integrated gradients: no sum of the map"
# The input's layout is recorded from the network (PyTorch: channels first; Keras: last), and
# the image plot follows it rather than guessing from the shape: [4, 7, 28] channels last is
# 4 x 7 pixels of 28 channels, though its first side looks like channels.
grep -q '"input_layout": \["channels_first"\]' "$work/image_ig.json" || fail "PyTorch image: layout not recorded"
expect 0 "" -- "$glassbox" explain --model "$fixtures/keras_gradcam/wide.keras" \
    --data "$fixtures/keras_gradcam/wide.data.csv" --method grad-cam --layer conv_a --class predicted \
    --output "$work/keras_cam.json" --quiet
grep -q '"input_layout": \["channels_last"\]' "$work/keras_cam.json" || fail "Keras image: layout not recorded"
python3 -c "import json, sys; e = json.load(open(sys.argv[1])); e['input_shape'] = [4, 7, 28]
e['input_layout'] = ['channels_last']; json.dump(e, open(sys.argv[2], 'w'))" \
    "$work/image_ig.json" "$work/image_last.json"
expect 0 "" -- "$glassbox" plot image --explanation "$work/image_last.json" --output "$work/image_last.svg"
[ "$(grep -c '<rect class="attribution"' "$work/image_last.svg")" -eq 28 ] || fail "image plot: channels-last layout not followed"
# Saliency and Grad-CAM maps do not add up to the prediction: no sum is set beside it.
expect 0 "" -- "$glassbox" explain --model "$onnx/torch_fashion_cnn.onnx" --data "$onnx/images/fashion_0.png" \
    --method saliency --class predicted --output "$work/image_saliency.json" --quiet
expect 0 "" -- "$glassbox" plot image --explanation "$work/image_saliency.json" --output "$work/saliency.svg"
grep -q "sum of the map" "$work/saliency.svg" && fail "image plot of saliency: a sum set beside the prediction"
grep -q "does not add up to it" "$work/saliency.svg" || fail "image plot of saliency: not said to be non-additive"
[ "$(grep -c '<rect class="attribution"' "$work/image.svg")" -eq 784 ] || fail "image plot: expected 784 attribution pixels"
expect 2 "--pixel-std needs one number or three" -- "$glassbox" predict \
    --model "$onnx/torch_fashion_cnn.onnx" --data "$onnx/images" --pixel-std 1,0
expect 2 "images need a network whose input is" -- "$glassbox" predict \
    --model "$onnx/torch_credit_mlp.onnx" --data "$onnx/images"
expect 2 "images are read for networks" -- "$glassbox" predict --model "$model" --data "$onnx/images"
# A text model: attributions at the embedding, one per token, named after the input's columns.
expect 0 "" -- "$glassbox" explain --model "$onnx/keras_text.keras" --data "$onnx/keras_text_keras.data.csv" \
    --method integrated-gradients --layer embedding --class 1 --output "$work/text.json" --quiet
grep -q '"layer": "embedding"' "$work/text.json" || fail "--layer not recorded"
grep -q '"feature_names": \["token0"' "$work/text.json" || fail "--layer embedding: not one value per token"
expect 0 "" -- "$glassbox" explain --model "$onnx/keras_text.keras" --data "$onnx/keras_text_keras.data.csv" \
    --method integrated-gradients --layer lstm --steps 10 --output "$work/text_lstm.json" --quiet
grep -q '"lstm\[191\]"' "$work/text_lstm.json" || fail "--layer lstm: elements not named"
grep -q '"data_columns": \["token0"' "$work/text_lstm.json" || fail "--layer lstm: no data_columns"
expect 2 "--layer embedding" -- "$glassbox" explain --model "$onnx/keras_text.keras" \
    --data "$onnx/keras_text_keras.data.csv" --method integrated-gradients
expect 2 "lies between \"embedding\" and the explained output and has no DeepLIFT rule" -- "$glassbox" explain --model "$onnx/keras_text.keras" \
    --data "$onnx/keras_text_keras.data.csv" --method deep --layer embedding \
    --background "$onnx/keras_text_keras.background.csv"
expect 2 "--layer is for the gradient methods" -- "$glassbox" explain --model "$model" \
    --data "$data" --layer embedding
expect 2 "--integration is gausslegendre" -- "$glassbox" explain --model "$onnx/torch_credit_mlp.onnx" \
    --data "$onnx/torch_credit_mlp.data.csv" --method integrated-gradients --integration simpson

if [ "$failures" -gt 0 ]; then
    echo "$failures CLI check(s) failed"
    exit 1
fi
echo "all CLI checks passed"
