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

# ONNX: networks from PyTorch and Keras, scikit-learn models through skl2onnx, with
# onnxruntime's outputs as the reference.
onnx_venv=${GBX_FIXTURE_VENV_ONNX:-/tmp/glassbox-fixtures-venv-onnx}
python3 -m venv "$onnx_venv"
"$onnx_venv/bin/pip" install -q torch onnx onnxscript onnxruntime scikit-learn skl2onnx shap captum \
    pandas tensorflow-cpu tf2onnx
mkdir -p "$here/fixtures/onnx"
for stage in torch sklearn keras manifest; do
    "$onnx_venv/bin/python" "$here/generate_onnx.py" --stage "$stage" "$here/fixtures/onnx"
done
# Grad-CAM on channels-last Keras CNNs, against TF's GradientTape.
"$onnx_venv/bin/python" "$here/generate_gradcam.py" "$here/fixtures/keras_gradcam"
# DeepSHAP on Keras softmax heads, against shap's TensorFlow DeepExplainer, and on a PyTorch
# CNN's, against shap's PyTorch one.
"$onnx_venv/bin/python" "$here/generate_deep_tf.py" "$here/fixtures/keras_deep"
"$onnx_venv/bin/python" "$here/generate_deep_torch.py" "$here/fixtures/torch_deep"
# Operators transformer exports use, in small graphs, against onnxruntime.
"$onnx_venv/bin/python" "$here/generate_ops.py" "$here/fixtures/onnx_ops"
# SavedModel directories Keras 3 writes, with TensorFlow's predictions and shap-TF's values.
"$onnx_venv/bin/python" "$here/generate_saved_model.py" "$here/fixtures/saved_model"
# A stock transformer encoder through both of torch's exporters, with captum's token attributions.
"$onnx_venv/bin/python" "$here/generate_transformer.py" "$here/fixtures/transformer"
# A Keras MultiHeadAttention encoder as model.export() and tf2onnx write it, with TensorFlow's
# integrated gradients at its token embedding.
"$onnx_venv/bin/python" "$here/generate_keras_transformer.py" "$here/fixtures/keras_transformer"
