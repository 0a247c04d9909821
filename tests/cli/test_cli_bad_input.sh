#!/usr/bin/env bash
# ctxmem import on bad input: every case exits 1 with a message naming the
# problem, and leaves no part of the bad conversation in the store.
set -u
ctxmem="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0 cases=0

segments() {
    "$ctxmem" stats --json "$tmp/store" | python3 -c 'import json,sys; print(json.load(sys.stdin)["segments"])'
}

# expect_fail NAME FORMAT FILE NEEDLE SEGMENTS_AFTER
expect_fail() {
    local name=$1 format=$2 file=$3 needle=$4 want=$5 out rc got
    cases=$((cases + 1))
    out=$("$ctxmem" import --format "$format" "$tmp/store" "$file" 2>&1)
    rc=$?
    got=$(segments)
    if [ "$rc" -ne 1 ] || ! grep -qF -- "$needle" <<<"$out" || [ "$got" != "$want" ]; then
        echo "FAIL $name: exit $rc, segments $got (want 1, $want), output: $out"
        failures=$((failures + 1))
    else
        echo "ok   $name: $(tail -n 1 <<<"$out")"
    fi
}

"$ctxmem" init "$tmp/store" >/dev/null || exit 1

: >"$tmp/empty.json"
expect_fail "empty file" openai "$tmp/empty.json" "empty" 0
printf '[{"role":"user","content":"hi"},{"role":"assistant","con' >"$tmp/truncated.json"
expect_fail "truncated JSON" openai "$tmp/truncated.json" "truncated.json:1:" 0
printf '[{"role":"user","content":5}]' >"$tmp/types.json"
expect_fail "wrong type" openai "$tmp/types.json" "'content'" 0
printf '[{"content":"hello"}]' >"$tmp/missing.json"
expect_fail "missing field" openai "$tmp/missing.json" "'role'" 0
printf '[{"role":"wizard","content":"hello"}]' >"$tmp/role.json"
expect_fail "unknown role" openai "$tmp/role.json" "'role'" 0
printf '[{"role":"user","content":"caf\xe9"}]' >"$tmp/utf8.json"
expect_fail "invalid UTF-8" openai "$tmp/utf8.json" "UTF-8" 0
printf '[{"role":"tool","tool_call_id":"c1","content":"42"}]' >"$tmp/unpaired.json"
expect_fail "unpaired tool result" openai "$tmp/unpaired.json" "unpaired tool result" 0
python3 - "$tmp/big.json" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    json.dump([{"role": "user", "content": "a" * (50 << 20)}], f)
PY
expect_fail "50 MB message" openai "$tmp/big.json" "max_segment_bytes" 0
# Two conversations: the first is fine, the second fails in the store; the
# first is imported whole, the second not at all.
printf '%s\n' '{"messages":[{"role":"user","content":"one"},{"role":"assistant","content":"two"}]}' \
    '{"messages":[{"role":"user","content":"three"},{"role":"tool","tool_call_id":"x","content":"4"}]}' \
    >"$tmp/two.jsonl"
expect_fail "second conversation bad" openai "$tmp/two.jsonl" "conversation 2" 2
printf '[{"sample_id":"conv-x","conversation":{"speaker_a":"A","speaker_b":"B"},"qa":[]}' \
    >"$tmp/locomo-truncated.json"
expect_fail "LoCoMo truncated" locomo "$tmp/locomo-truncated.json" "locomo" 2
printf '[{"sample_id":"conv-x","conversation":{"speaker_a":"A","speaker_b":"B","session_1":[{"speaker":"A","dia_id":"D1:1"}],"session_1_date_time":"1:56 pm on 8 May, 2023"},"qa":[]}]' \
    >"$tmp/locomo-missing.json"
expect_fail "LoCoMo missing text" locomo "$tmp/locomo-missing.json" "text" 2
: >"$tmp/locomo-empty.json"
expect_fail "LoCoMo empty file" locomo "$tmp/locomo-empty.json" "locomo" 2
expect_fail "missing file" openai "$tmp/nope.json" "nope.json" 2

printf '%s\n' '{"role":"user","content":"one"}' '{"role":"assistant","content":"two"' >"$tmp/bad.jsonl"
expect_fail "JSONL bad second line" openai "$tmp/bad.jsonl" "bad.jsonl:2:" 2

# Other subcommands on bad input: a clear message, exit status 1 or 2, nothing created.
# expect_cmd NAME WANT_STATUS NEEDLE COMMAND...
expect_cmd() {
    local name=$1 want=$2 needle=$3 out rc
    shift 3
    cases=$((cases + 1))
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" -ne "$want" ] || ! grep -qF -- "$needle" <<<"$out"; then
        echo "FAIL $name: exit $rc (want $want), output: $out"
        failures=$((failures + 1))
    else
        echo "ok   $name: $(tail -n 1 <<<"$out")"
    fi
}
expect_cmd "replay missing file" 1 "nope.json" "$ctxmem" replay --format openai "$tmp/nope.json" --budget 100
expect_cmd "replay unknown format" 2 "--format" "$ctxmem" replay --format xml "$tmp/two.jsonl" --budget 100
expect_cmd "replay without budget" 2 "--budget" "$ctxmem" replay --format openai "$tmp/two.jsonl"
expect_cmd "replay reserve over budget" 2 "--reserve" "$ctxmem" replay --format openai "$tmp/two.jsonl" --budget 10 --reserve 10
expect_cmd "replay bad share" 2 "share" "$ctxmem" replay --format openai "$tmp/two.jsonl" --budget 100 --hot-share 2
expect_cmd "replay malformed input" 1 "truncated.json:1:" "$ctxmem" replay --format openai "$tmp/truncated.json" --budget 100
expect_cmd "inspect no store" 1 "no store" "$ctxmem" inspect "$tmp/none"
cases=$((cases + 1))
if [ -e "$tmp/none" ]; then echo "FAIL inspect created a directory"; failures=$((failures + 1)); else echo "ok   inspect created nothing"; fi
expect_cmd "stats no store" 1 "no store" "$ctxmem" stats --json "$tmp/none"
expect_cmd "import of bad input into a new store" 1 "truncated.json:1:" \
    "$ctxmem" import --format openai "$tmp/new-store" "$tmp/truncated.json"
cases=$((cases + 1))
if [ -e "$tmp/new-store" ]; then echo "FAIL import created a store"; failures=$((failures + 1)); else echo "ok   import of bad input created no store"; fi
expect_cmd "assemble negative budget" 2 "--budget" "$ctxmem" assemble "$tmp/store" --budget -5

echo "$((cases - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
