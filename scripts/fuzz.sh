#!/usr/bin/env bash
# make fuzz: builds the libFuzzer targets with clang (ASan + UBSan) and runs each one for
# FUZZ_SECONDS (default 120) on a working copy of its kept corpus in build-fuzz/corpus.
# Crashes are written to build-fuzz/crashes and fail the run.
# make fuzz-merge: folds what the runs found, minimised, back into the kept corpus (tests/fuzz/corpus).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-120}
targets=${FUZZ_TARGETS:-csv xgboost lightgbm ubjson linear groups onnx keras npy image explanation http_reply command saved_model tensor_bundle service_request service_http}
"$root/scripts/bootstrap.sh" clang libclang-rt-14-dev
cmake -S "$root" -B "$root/build-fuzz" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DGBX_FUZZ=ON >/dev/null
cmake --build "$root/build-fuzz" -j "$(nproc)" --target $(printf 'fuzz_%s ' $targets) >/dev/null
mkdir -p "$root/build-fuzz/crashes"
for target in $targets; do
    kept="$root/tests/fuzz/corpus/$target" work="$root/build-fuzz/corpus/$target"
    mkdir -p "$work"
    if [ "${1:-}" = "--merge" ]; then
        "$root/build-fuzz/tests/fuzz/fuzz_$target" -merge=1 "$kept" "$work" 2>&1 | grep -E "MERGE-OUTER: [0-9]+ new files" || true
        continue
    fi
    cp -n "$kept"/* "$work"/ 2>/dev/null || true
    # The explanation target draws plots: fontconfig's process-lifetime caches are not leaks.
    export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp"
    echo "fuzz_$target: $seconds s" >&2
    "$root/build-fuzz/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
        -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$root/build-fuzz/crashes/$target-" \
        "$work" 2>&1 | grep -E "^stat::number_of_executed_units|^stat::peak_rss|ERROR|SUMMARY|Done" || true
    if ls "$root/build-fuzz/crashes/$target-"* >/dev/null 2>&1; then
        echo "fuzz_$target: crash inputs in build-fuzz/crashes" >&2
        exit 1
    fi
done
