#!/usr/bin/env bash
# Sensitive attributes, by audience, in every sink's output: reasons (text, JSON, CSV), every
# tabular plot (SVG text), the report (HTML) and the summary, for an explanation per column and
# one by groups (a sensitive column inside a group not marked sensitive must not unmask it).
# The applicant's outputs name no sensitive feature or column and hold no total; the analyst's
# say "Protected attributes" and name none of them; the auditor's name them, marked.
# usage: audiences.sh path/to/glassbox
set -uo pipefail
glassbox=${1:?usage: audiences.sh path/to/glassbox}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
model=examples/credit_model.json data=examples/data/german_credit.csv
features=examples/credit_features.json
# A copy of the groups with the sensitive group renamed and marked not sensitive: its columns
# still are.
python3 - "$work/features.json" "$work/groups.json" <<'PY'
import json, sys
metadata = json.load(open("examples/credit_features.json"))
metadata["features"]["Applicant details"] = {"display": "Applicant details", "sensitive": False}
json.dump(metadata, open(sys.argv[1], "w"))
groups = json.load(open("examples/credit_groups.json"))["groups"]
groups["Applicant details"] = groups.pop("Personal") + ["Age"]
json.dump({"groups": groups}, open(sys.argv[2], "w"))
PY
"$glassbox" explain --model "$model" --data "$data" --output "$work/columns.json" --quiet || exit 1
"$glassbox" explain --model "$model" --data "$data" --groups "$work/groups.json" \
    --output "$work/groups.json.e" --quiet || exit 1
mv "$work/groups.json.e" "$work/grouped.json"
# What no applicant or analyst output may hold: the sensitive features' and columns' names and
# display names (whole words).
forbidden='\bAge\b|ForeignWorker|Foreign worker|Personal|Sex and marital|Male, |Female, |Applicant details'
# What no applicant output may hold either: a trace that sensitive features were there.
hints='Protected attributes|protected attribute|\(sensitive\)|Not used as reasons'
for explanation in columns grouped; do
    for audience in applicant analyst auditor; do
        out="$work/$explanation-$audience"
        mkdir -p "$out"
        common=(--explanation "$work/$explanation.json" --features "$work/features.json" --audience "$audience")
        "$glassbox" reasons "${common[@]}" --output "$out/reasons.txt" || fail "$out: reasons"
        "$glassbox" reasons "${common[@]}" --model "$model" --output "$out/reasons.json" || fail "$out: reasons json"
        "$glassbox" reasons "${common[@]}" --output "$out/reasons.csv" || fail "$out: reasons csv"
        for kind in waterfall force bar beeswarm heatmap decision; do
            "$glassbox" plot "$kind" "${common[@]}" --row 1 --output "$out/$kind.svg" || fail "$out: plot $kind"
        done
        "$glassbox" plot force "${common[@]}" --rows 0:20 --output "$out/force-rows.svg" || fail "$out: force rows"
        "$glassbox" report "${common[@]}" --rows 0:10 --output "$out/report.html" || fail "$out: report"
        "$glassbox" summary "${common[@]}" --rows 10 --top 20 > "$out/summary.txt" || fail "$out: summary"
        for file in "$out"/*; do
            case $audience in
            applicant)
                grep -qP "$forbidden|$hints" "$file" &&
                    fail "$file: the applicant is shown a sensitive feature: $(grep -oP "$forbidden|$hints" "$file" | sort -u | head -3 | tr '\n' ' ')" ;;
            analyst)
                grep -qP "$forbidden" "$file" &&
                    fail "$file: the analyst is shown a sensitive feature: $(grep -oP "$forbidden" "$file" | sort -u | head -3 | tr '\n' ' ')" ;;
            esac
        done
        case $audience in
        analyst)
            for file in bar.svg summary.txt reasons.txt; do
                grep -q "Protected attributes" "$out/$file" || fail "$out/$file: no Protected attributes entry"
            done ;;
        auditor)
            # Age is a feature of its own per column; by groups it is inside Applicant details.
            shown='\bAge\b'
            [ "$explanation" = grouped ] && shown='Applicant details'
            for file in bar.svg waterfall.svg report.html summary.txt reasons.txt; do
                grep -qP "$shown" "$out/$file" || fail "$out/$file: the auditor is not shown $shown"
            done
            grep -q "(sensitive)" "$out/bar.svg" || fail "$out/bar.svg: the auditor's sensitive features are not marked" ;;
        esac
    done
done
if [ "$failures" -gt 0 ]; then
    echo "$failures audience check(s) failed"
    exit 1
fi
echo "audiences: every sink, two explanations, three audiences"
