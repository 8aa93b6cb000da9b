#!/usr/bin/env bash
# write -> read -> write is byte-identical: an explanation of every method, as glassbox explain
# writes it in JSON and CSV, read with gbx_explanation_read and written again.
# usage: roundtrip.sh GLASSBOX ROUNDTRIP
set -euo pipefail
glassbox=$1 roundtrip=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
f=tests/conformance/fixtures b=tests/conformance/fixtures/blackbox o=tests/conformance/fixtures/onnx
while IFS='|' read -r name arguments; do
    [ -z "$name" ] && continue
    for format in json csv; do
        # interaction values are written to JSON only
        [ "$name" = interactions ] && [ "$format" = csv ] && continue
        # shellcheck disable=SC2086
        "$glassbox" explain $arguments --output "$work/$name.$format" --quiet
    done
done <<LIST
tree|--model $f/xgb_credit_binary.json --data $f/xgb_credit_binary.data.csv
interactions|--model $f/xgb_credit_binary.json --data $f/xgb_credit_binary.data.csv --interactions
interventional|--model $f/lgb_credit_binary.txt --data $f/lgb_credit_binary.data.csv --method tree-interventional --background $f/lgb_credit_binary.background.csv --output-space probability
multiclass|--model $f/xgb_iris_softprob.json --data $f/xgb_iris_softprob.data.csv
exact|--model $b/xgb_diabetes_exact.json --data $b/xgb_diabetes_exact.data.csv --method exact --background $b/xgb_diabetes_exact.background.csv
permutation|--model $b/xgb_diabetes_sampled.json --data $b/xgb_diabetes_sampled.data.csv --method permutation --background $b/xgb_diabetes_sampled.background.csv --seed 3
kernel|--model $b/xgb_diabetes_sampled.json --data $b/xgb_diabetes_sampled.data.csv --method kernel --background $b/xgb_diabetes_sampled.background.csv --seed 3 --l1-reg aic --tolerance 0.01
lime|--model $b/xgb_credit_lime.json --data $b/xgb_credit_lime.data.csv --method lime --background $b/xgb_credit_lime.background.csv
linear|--model $b/sklearn_credit_logistic.json --data $b/sklearn_credit_logistic.data.csv --method linear --background $b/sklearn_credit_logistic.background.csv
groups|--model examples/credit_model.json --data examples/data/german_credit.csv --groups examples/credit_groups.json
saliency|--model $o/torch_fashion_cnn.onnx --data $o/torch_fashion_cnn.data.csv --method saliency --output-name class_3
input-x-gradient|--model $o/torch_credit_mlp.onnx --data $o/torch_credit_mlp.data.csv --method input-x-gradient
smoothgrad|--model $o/torch_credit_mlp.onnx --data $o/torch_credit_mlp.data.csv --method smoothgrad
integrated-gradients|--model $o/keras_credit.keras --data $o/keras_credit.data.csv --method integrated-gradients
gradient-shap|--model $o/keras_credit.h5 --data $o/keras_credit.data.csv --method gradient-shap --background $o/torch_credit_mlp.background.csv --nsamples 20
deep|--model $o/torch_fashion_cnn.onnx --data $o/torch_fashion_cnn.data.csv --method deep --class predicted --background $o/torch_fashion_cnn.background.csv
grad-cam|--model $o/torch_fashion_cnn.onnx --data $o/torch_fashion_cnn.data.csv --method grad-cam --layer /7/Relu_output_0 --class predicted
layer|--model $o/keras_text.keras --data $o/keras_text_keras.data.csv --method integrated-gradients --layer embedding --class 1
LIST
"$roundtrip" "$work"/*.json "$work"/*.csv
