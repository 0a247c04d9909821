// Cross-check `ctxmem tokenize --jsonl` against the npm tiktoken WASM build on
// random strings (fixed seed) built from the character kinds the split
// patterns treat differently. Prints the number of mismatches and the first few.
//
// usage: node tools/tiktoken/crosscheck.js TIKTOKEN_NPM_DIR CTXMEM_BIN [COUNT] [SEED]
//   TIKTOKEN_NPM_DIR: a folder with node_modules/tiktoken (see scripts/fetch-tokenizers)
'use strict';
const path = require('path');
const { execFileSync } = require('child_process');

const [npmDir, bin, countArg, seedArg] = process.argv.slice(2);
if (!npmDir || !bin) {
    console.error('usage: node crosscheck.js TIKTOKEN_NPM_DIR CTXMEM_BIN [COUNT] [SEED]');
    process.exit(2);
}
const { get_encoding } = require(path.resolve(npmDir, 'node_modules/tiktoken'));
let seed = Number(seedArg || 12345) >>> 0;
function rand(n) { // xorshift32
    seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
    return seed % n;
}
const pools = [
    'abcxyz', 'ABCXYZ', "'", "'s'S'T're'VE'm'LL'd", '\u017f', '0123456789', ' ', '  ', '\t',
    '\n', '\r\n', '\r', '.,;:!?-_/\\()[]{}<>"', '///', '\u00a0', '\u0085', '\u2028', '\u3000',
    '\ufeff', '\u180e', '\u0301\u0308', '\u01c5\u01c8', '\u02b0\u02b1', 'éàüÉÀÜ', 'ßſ',
    'привет ПРИВЕТ', 'مرحبا', '日本語のテキスト', '한국어', 'हिन्दी', 'ไทย', '١٢٣٤', '½²',
    '😀👍🏽👨‍👩‍👧🇫🇷', '\u200d', '\ufe0f', '\u0000', '\u0001', 'HTTPServerError', 'camelCase',
    '\u{1e5d0}\u{1e5d1}', '\u{105c0}', '\u{11bc0}\u{11bc1}',
];
function randomText() {
    const chars = [];
    const n = rand(40);
    for (let i = 0; i < n; i++) {
        const pool = Array.from(pools[rand(pools.length)]);
        const take = 1 + rand(3);
        for (let k = 0; k < take; k++)
            chars.push(pool[rand(pool.length)]);
    }
    return chars.join('');
}
const count = Number(countArg || 20000);
const texts = Array.from({ length: count }, randomText);
const input = texts.map((t) => JSON.stringify({ text: t })).join('\n') + '\n';
let bad = 0;
for (const name of ['cl100k_base', 'o200k_base']) {
    const enc = get_encoding(name);
    const out = execFileSync(bin, ['tokenize', '--jsonl', '--encoding', name],
        { input, maxBuffer: 1 << 30 }).toString().trim().split('\n');
    texts.forEach((t, i) => {
        const want = Array.from(enc.encode_ordinary(t));
        const got = JSON.parse(out[i]).ids;
        if (JSON.stringify(want) !== JSON.stringify(got) && bad++ < 10)
            console.log(`${name} mismatch: ${JSON.stringify(t)}\n  want ${want}\n  got  ${got}`);
    });
    enc.free();
}
console.log(`${count} strings x 2 encodings: ${bad} mismatches`);
process.exit(bad ? 1 : 0);
