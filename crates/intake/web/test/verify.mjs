// The JavaScript half of tests/tests/verify_cross.rs: runs the receipt
// checks of the built static/sealing.js on each case core checked, and
// its receipt reader on each text, and fails on any difference. Usage:
//   node verify.mjs IN.json [OUT.json [path/to/sealing.js]]
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { strict as assert } from 'node:assert';

const [input, , bundle] = process.argv.slice(2);
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

// A log key of our own signs a promise honestly, and once with R' = rB + T
// for T of order 8: a cofactored check (noble's `verify`) takes that one,
// ed25519-dalek's `verify_strict` (core) does not, and neither may the
// script. Both go back to Rust, which checks them with core.
const made = process.argv[3];
if (made) {
  const { ed25519 } = await import('../node_modules/@noble/curves/ed25519.js');
  const { sha512 } = await import('../node_modules/@noble/hashes/sha2.js');
  const P = ed25519.Point;
  const le = (b) => b.reduceRight((n, x) => (n << 8n) | BigInt(x), 0n);
  const toLe = (n) => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 255n));
  const T = P.fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a');
  assert.ok(T.isSmallOrder() && !T.is0(), 'a torsion point');
  const secret = new Uint8Array(32).fill(7);
  const { scalar: a, pointBytes: A } = ed25519.utils.getExtendedPublicKey(secret);
  const leafOf = { envelopes: new Uint8Array(32).fill(1), nonce: new Uint8Array(16).fill(2), day: '2026-01-05' };
  const unsigned = { version: 1, suite: 'modern', logKey: A, leaf: leafOf };
  const message = log.promiseBytes(log.leafHash(unsigned), leafOf.day);
  const r = 12345678901234567890n;
  const rPrime = P.BASE.multiply(r).add(T).toBytes();
  const k = le(sha512(Uint8Array.from([...rPrime, ...A, ...message]))) % P.Fn.ORDER;
  const torsion = Uint8Array.from([...rPrime, ...toLe((r + k * a) % P.Fn.ORDER)]);
  assert.ok(ed25519.verify(torsion, message, A, { zip215: false }), 'a cofactored check takes it');
  const text = (promise) =>
    JSON.stringify({
      version: 1,
      suite: 'modern',
      log_key: log.toHex(A),
      leaf: { envelopes: log.toHex(leafOf.envelopes), nonce: log.toHex(leafOf.nonce), day: leafOf.day },
      promise: log.toHex(promise),
    });
  const out = { honest: text(ed25519.sign(message, secret)), torsion: text(torsion) };
  for (const [name, key] of [['honest', 'promised'], ['torsion', 'bad_signature']]) {
    const found = log.checkReceipt(log.parseReceipt(out[name]), [], null, () => null, () => null);
    assert.equal(found[0].key, key, `${name}: ${JSON.stringify(found)}`);
  }
  writeFileSync(made, JSON.stringify(out));
}
