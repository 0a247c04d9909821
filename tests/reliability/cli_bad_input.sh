#!/usr/bin/env bash
# Bad input through the CLI: each case asserts the exit status (1: the library
# refused, 2: usage error) and, where a store exists, that it is unchanged.
# Usage: cli_bad_input.sh PATH/TO/ctxmem
set -uo pipefail
cli=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 cases=0

expect() { # expect STATUS DESCRIPTION -- ARGS... [< stdin via $input]
    local want=$1 what=$2 got
    shift 3
    if [ -n "${input:-}" ]; then
        "$cli" "$@" <"$input" >"$tmp/out" 2>"$tmp/err"
    else
        "$cli" "$@" >"$tmp/out" 2>"$tmp/err"
    fi
    got=$?
    cases=$((cases + 1))
    if [ "$got" != "$want" ]; then
        echo "FAIL: $what: exit $got, want $want; stderr: $(head -c 300 "$tmp/err")"
        fails=$((fails + 1))
    elif [ "$want" != 0 ] && [ ! -s "$tmp/err" ]; then
        echo "FAIL: $what: exit $got but no message on stderr"
        fails=$((fails + 1))
    fi
}

"$cli" init "$tmp/store" >/dev/null || { echo "cannot create a store"; exit 1; }
before=$(cksum <"$tmp/store/data.mdb")
printf 'bad \xc3\x28 utf8' >"$tmp/bad.txt"
printf '{"text": "ok"}\n{"text": \n' >"$tmp/bad.jsonl"
printf '{"text": "a\\u0000b"}\n' >"$tmp/nul.jsonl"
touch "$tmp/plain-file"
mkdir "$tmp/ranks"
printf 'IQ== 0\nIg== 1\n' >"$tmp/ranks/cl100k_base.tiktoken"

expect 2 "no command" --
expect 2 "unknown command" -- frobnicate
expect 2 "init without a directory" -- init
expect 2 "init with two directories" -- init "$tmp/a" "$tmp/b"
expect 2 "init with an unknown option" -- init --frob "$tmp/x"
expect 1 "init with an unknown tokenizer" -- init --tokenizer gpt-17 "$tmp/x"
expect 1 "init of a store with another tokenizer" -- init --tokenizer cl100k_base "$tmp/store"
expect 1 "init on a regular file" -- init "$tmp/plain-file"
expect 1 "init with a truncated rank file" -- \
    init --tokenizer cl100k_base --tokenizer-dir "$tmp/ranks" "$tmp/y"
expect 1 "tokenize invalid UTF-8" -- tokenize "$tmp/bad.txt"
expect 1 "tokenize --ids invalid UTF-8" -- tokenize --ids "$tmp/bad.txt"
expect 1 "tokenize a missing file" -- tokenize "$tmp/missing.txt"
expect 1 "tokenize an unknown encoding" -- tokenize --encoding p50k_edit "$tmp/nul.jsonl"
expect 2 "tokenize --ids with --jsonl" -- tokenize --ids --jsonl "$tmp/nul.jsonl"
expect 2 "tokenize two files" -- tokenize "$tmp/bad.txt" "$tmp/nul.jsonl"
expect 1 "tokenize --jsonl with a malformed line" -- tokenize --jsonl "$tmp/bad.jsonl"
expect 0 "tokenize --jsonl with an embedded NUL" -- tokenize --jsonl "$tmp/nul.jsonl"

"$cli" add "$tmp/store" "a first message" >/dev/null || { echo "cannot add"; exit 1; }
before=$(cksum <"$tmp/store/data.mdb")
printf '{"messages": [{"role": "user", "content": "hi"},' >"$tmp/truncated.json"
printf '[{"role": "wizard", "content": "hi"}]' >"$tmp/badrole.json"
printf '[{"sample_id": "x", "conversation": {"session_1": [{"speaker": 1}]}}]' >"$tmp/locomo.json"
input=$tmp/bad.txt expect 1 "add invalid UTF-8 text" -- add "$tmp/store"
expect 1 "add to a scope with a slash" -- add --user ../etc "$tmp/store" "hello"
expect 1 "add with a control character in the session" -- \
    add --session "$(printf 's\001')" "$tmp/store" "hello"
expect 2 "add with an unknown role" -- add --role wizard "$tmp/store" "hello"
expect 1 "add a malformed message file" -- add --file "$tmp/truncated.json" "$tmp/store"
expect 1 "add a message file with an unknown role" -- add --file "$tmp/badrole.json" "$tmp/store"
expect 1 "import a truncated OpenAI file" -- \
    import --format openai "$tmp/store" "$tmp/truncated.json"
expect 1 "import a malformed LoCoMo file" -- import --format locomo "$tmp/store" "$tmp/locomo.json"
expect 1 "import a missing file" -- import --format locomo "$tmp/store" "$tmp/none.json"
expect 2 "import in an unknown format" -- import --format csv "$tmp/store" "$tmp/locomo.json"
expect 2 "assemble without a budget" -- assemble "$tmp/store"
expect 1 "assemble with reserve eating the budget" -- \
    assemble --budget 100 --reserve 100 "$tmp/store"
expect 1 "search with invalid UTF-8" -- search --query "$(printf '\xff')" "$tmp/store"

after=$(cksum <"$tmp/store/data.mdb")
cases=$((cases + 1))
if [ "$before" != "$after" ]; then
    echo "FAIL: the store changed under failed commands"
    fails=$((fails + 1))
fi
[ -e "$tmp/x/data.mdb" ] && [ -n "$("$cli" init "$tmp/x" 2>/dev/null | grep -v o200k)" ] &&
    { echo "FAIL: a failed init left a store with its tokenizer"; fails=$((fails + 1)); }
echo "cli_bad_input: $cases cases, $fails failed"
[ "$fails" = 0 ]
