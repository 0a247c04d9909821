// Convert an encoder of the npm `tiktoken` package (encoders/NAME.json, whose
// `bpe_ranks` field holds lines "! OFFSET B64 B64 ...", the i-th item having
// rank OFFSET + i) to the standard .tiktoken layout: "B64 RANK\n" per token,
// sorted by rank.
//
// usage: node tools/tiktoken/npm_to_tiktoken.js ENCODER.json OUT.tiktoken
'use strict';
const fs = require('fs');

function convert(bpeRanks) {
    const lines = [];
    for (const row of bpeRanks.split('\n')) {
        if (row.trim() === '')
            continue;
        const items = row.split(' ');
        if (items[0] !== '!' || !/^\d+$/.test(items[1]))
            throw new Error(`unexpected bpe_ranks row starting '${row.slice(0, 20)}'`);
        const offset = Number(items[1]);
        for (let i = 2; i < items.length; i++)
            lines.push([offset + i - 2, items[i]]);
    }
    lines.sort((a, b) => a[0] - b[0]);
    return lines.map(([rank, b64]) => `${b64} ${rank}\n`).join('');
}

function main() {
    const [input, output] = process.argv.slice(2);
    if (!input || !output) {
        console.error('usage: node npm_to_tiktoken.js ENCODER.json OUT.tiktoken');
        process.exit(2);
    }
    const encoder = JSON.parse(fs.readFileSync(input, 'utf8'));
    if (typeof encoder.bpe_ranks !== 'string')
        throw new Error(`${input}: no bpe_ranks field`);
    const tmp = `${output}.tmp${process.pid}`;
    fs.writeFileSync(tmp, convert(encoder.bpe_ranks));
    fs.renameSync(tmp, output);
}

main();
