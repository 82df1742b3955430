// The JavaScript half of tests/tests/verify_cross.rs: runs the receipt
// checks of the built static/sealing.js on each case core checked, and
// its receipt reader on each text, and fails on any difference. Usage:
//   node verify.mjs IN.json [path/to/sealing.js]
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { strict as assert } from 'node:assert';

const [input, bundle] = process.argv.slice(2);
const { log } = await import(pathToFileURL(bundle ?? new URL('../../static/sealing.js', import.meta.url).pathname).href);
const v = JSON.parse(readFileSync(input, 'utf8'));

for (const c of v.cases) {
  const receipt = log.parseReceipt(c.receipt);
  assert.ok(receipt, `${c.name}: the receipt parses`);
  const heads = c.heads.map(log.parseHead);
  assert.ok(heads.every(Boolean), `${c.name}: the heads parse`);
  const found = log.checkReceipt(
    receipt,
    heads,
    c.today,
    (size) => c.inclusion[String(size)] || null,
    (a, b) => (c.consistency[`${a}-${b}`] || null)?.map((h) => log.fromHex(h, 32)) ?? null,
  );
  assert.deepEqual(found, c.expect, `${c.name}: what the script found, against what core found`);
}

for (const t of v.texts) {
  assert.equal(log.parseReceipt(t.text) !== null, t.accepted, `reading ${t.text}`);
}
console.log(`${v.cases.length} cases, ${v.texts.length} texts: the script finds what core finds`);
