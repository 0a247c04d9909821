#!/usr/bin/env bash
# The main job end to end: replay the bundled sample (and LoCoMo when the
# shared data is present) and check the numbers the issue asks for.
set -u
ctxmem="$1" src="$2" shared="$3"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0 cases=0

check() { # NAME PYTHON-EXPRESSION-ON-d FILE
    cases=$((cases + 1))
    if python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$3"; then
        echo "ok   $1"
    else
        echo "FAIL $1: $(cat "$3")"
        failures=$((failures + 1))
    fi
}

"$ctxmem" replay --format openai "$src/examples/conversation.json" --budget 400 --json \
    --report "$tmp/sample.html" >"$tmp/sample.json"
check "sample: no window over budget" 'd["budget_violations"] == 0 and d["windows"] > 10' "$tmp/sample.json"
cases=$((cases + 1))
if grep -q "<svg" "$tmp/sample.html" && ! grep -qE "https?://" "$tmp/sample.html"; then
    echo "ok   sample: self-contained HTML report with charts"
else
    echo "FAIL sample: report"; failures=$((failures + 1))
fi

locomo="$shared/data/locomo/locomo10.json"
scaled=$(python3 -c "import os; print(float(os.environ.get('CTXMEM_TEST_SCALE', '1')) < 1)")
if [ "$scaled" = True ]; then
    echo "skip locomo: CTXMEM_TEST_SCALE < 1 (sanitizer run)"
elif [ -f "$locomo" ]; then
    start=$(date +%s)
    "$ctxmem" replay --format locomo "$locomo" --budget 2048 --json >"$tmp/locomo.json"
    took=$(($(date +%s) - start))
    check "locomo: 1,536 questions, no violations" \
        'd["questions"] == 1536 and d["turns"] == 5882 and d["budget_violations"] == 0' "$tmp/locomo.json"
    check "locomo: evidence recall >= 0.75 (recency baseline far below)" \
        'd["evidence_recall"] >= 0.75 and d["baselines"]["recency"]["evidence_recall"] < 0.2' "$tmp/locomo.json"
    cases=$((cases + 1))
    if [ "$took" -lt 120 ]; then echo "ok   locomo: finished in ${took} s"; else
        echo "FAIL locomo: took ${took} s"; failures=$((failures + 1)); fi
else
    echo "skip locomo: $locomo is absent"
fi
echo "$((cases - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
