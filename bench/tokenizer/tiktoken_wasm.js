// Reference side of the tokenizer benchmark: the npm `tiktoken` WASM build's
// encode_ordinary on the corpus bench_tokenizer wrote, with the same chunking
// (4096 bytes cut back to a character boundary, or one buffer). Chunks are
// decoded to JS strings before timing. Prints RESULT lines like bench_tokenizer.
//
// usage: node tiktoken_wasm.js TIKTOKEN_NPM_DIR CORPUS [RUNS]
'use strict';
const fs = require('fs');
const path = require('path');

const [npmDir, corpusPath, runsArg] = process.argv.slice(2);
const { get_encoding } = require(path.resolve(npmDir, 'node_modules/tiktoken'));
const runs = Number(runsArg || 5);
const bytes = fs.readFileSync(corpusPath);

function chunks(chunked) {
    if (!chunked)
        return [bytes.toString('utf8')];
    const out = [];
    for (let pos = 0; pos < bytes.length;) {
        let end = Math.min(pos + 4096, bytes.length);
        while (end < bytes.length && end > pos && (bytes[end] & 0xc0) === 0x80)
            end--;
        out.push(bytes.subarray(pos, end).toString('utf8'));
        pos = end;
    }
    return out;
}

function pass(enc, parts) {
    let tokens = 0;
    for (const p of parts)
        tokens += enc.encode_ordinary(p).length;
    return tokens;
}

for (const name of ['cl100k_base', 'o200k_base']) {
    const t0 = process.hrtime.bigint();
    const enc = get_encoding(name);
    const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
    console.log(`RESULT ${JSON.stringify({ impl: 'tiktoken-wasm', encoding: name, op: 'load',
        ms: +loadMs.toFixed(1) })}`);
    for (const chunked of [true, false]) {
        const parts = chunks(chunked);
        const tokens = pass(enc, parts); // warm-up
        const times = [];
        for (let r = 0; r < runs; r++) {
            const s = process.hrtime.bigint();
            pass(enc, parts);
            times.push(Number(process.hrtime.bigint() - s) / 1e9);
        }
        times.sort((a, b) => a - b);
        const t = times[Math.floor(runs / 2)];
        console.log(`RESULT ${JSON.stringify({ impl: 'tiktoken-wasm', encoding: name,
            op: 'encode', chunking: chunked ? '4KB' : 'buffer',
            mb_per_s: +(bytes.length / 1e6 / t).toFixed(2),
            tokens_per_s: Math.round(tokens / t), tokens })}`);
    }
    enc.free();
}
