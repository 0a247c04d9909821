#!/usr/bin/env bash
# Compare ctxmem's tokenizer with the npm `tiktoken` WASM build on the same
# corpus and chunkings; prints a Markdown table with the ratios.
#
# usage: bench/tokenizer/compare.sh BUILD_DIR [RUNS]
#   BUILD_DIR holds bench/tokenizer/bench_tokenizer and the rank tables in
#   share/ctxmem/tokenizers (scripts/fetch-tokenizers). The npm package is
#   installed into BUILD_DIR/_deps/tiktoken-npm when missing. Single-threaded;
#   takes about a minute. After the table, one "RESULT {json}" line per row
#   (read by bench/run).
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [RUNS]" >&2; exit 2; }
build=$(cd "$1" && pwd)
runs=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
npm_dir=$build/_deps/tiktoken-npm
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

if [ ! -f "$npm_dir/node_modules/tiktoken/package.json" ]; then
    mkdir -p "$npm_dir"
    npm install --prefix "$npm_dir" --no-save --no-audit --no-fund tiktoken@1.0.22 >&2
fi
export CTXMEM_TOKENIZER_DIR=${CTXMEM_TOKENIZER_DIR:-$build/share/ctxmem/tokenizers}

"$build/bench/tokenizer/bench_tokenizer" --corpus "$out/corpus.txt" --runs "$runs" \
    | tee "$out/ctxmem.txt" | grep -v '^RESULT' >&2
node "$here/tiktoken_wasm.js" "$npm_dir" "$out/corpus.txt" "$runs" > "$out/wasm.txt"

node - "$out/ctxmem.txt" "$out/wasm.txt" <<'JS'
const fs = require('fs');
const rows = process.argv.slice(2).flatMap((f) => fs.readFileSync(f, 'utf8').split('\n'))
    .filter((l) => l.startsWith('RESULT ')).map((l) => JSON.parse(l.slice(7)));
const find = (impl, enc, op, ch) => rows.find((r) => r.impl === impl && r.encoding === enc &&
    r.op === op && (ch === undefined || r.chunking === ch));
console.log('\n| encoding | chunking | ctxmem count MB/s | ctxmem encode MB/s | tiktoken-wasm ' +
    'MB/s | ratio (count) | ratio (encode) | ctxmem tokens/s | tokens equal |');
console.log('|---|---|---|---|---|---|---|---|---|');
const results = [];
for (const enc of ['cl100k_base', 'o200k_base']) {
    for (const ch of ['4KB', 'buffer']) {
        const c = find('ctxmem', enc, 'count', ch), e = find('ctxmem', enc, 'encode', ch);
        const w = find('tiktoken-wasm', enc, 'encode', ch);
        console.log(`| ${enc} | ${ch} | ${c.mb_per_s.toFixed(1)} | ${e.mb_per_s.toFixed(1)} | ` +
            `${w.mb_per_s.toFixed(1)} | ${(c.mb_per_s / w.mb_per_s).toFixed(1)}x | ` +
            `${(e.mb_per_s / w.mb_per_s).toFixed(1)}x | ${c.tokens_per_s} | ` +
            `${c.tokens === w.tokens ? 'yes' : `NO (${c.tokens} vs ${w.tokens})`} |`);
        results.push({bench: 'tokenizer', encoding: enc, chunking: ch,
            ctxmem_count_mb_s: c.mb_per_s, ctxmem_encode_mb_s: e.mb_per_s,
            wasm_mb_s: w.mb_per_s, ratio_count: c.mb_per_s / w.mb_per_s,
            ratio_encode: e.mb_per_s / w.mb_per_s, ctxmem_tokens_per_s: c.tokens_per_s,
            tokens_equal: c.tokens === w.tokens});
    }
}
for (const enc of ['o200k_base', 'cl100k_base']) {
    const l = find('ctxmem', enc, 'load'), w = find('tiktoken-wasm', enc, 'load');
    console.log(`\n${enc} load: ctxmem ${l.ms} ms, RSS +${l.rss_mib} MiB; ` +
        `tiktoken-wasm get_encoding ${w.ms} ms`);
    results.push({bench: 'tokenizer_load', encoding: enc, ctxmem_ms: l.ms,
        ctxmem_rss_mib: l.rss_mib, wasm_ms: w.ms});
}
// Machine-readable lines for bench/run.
console.log('');
for (const r of results) console.log('RESULT ' + JSON.stringify(r));
JS
