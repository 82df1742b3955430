// The checks of a filing receipt, byte for byte those of
// crates/core/src/log (docs/crypto.md, "Transparency log"), for the
// `modern` suite (SHA-256, Ed25519): the /verify page runs them in the
// reader's browser, so that the server only serves heads and proofs and
// decides nothing. tests/tests/verify_cross.rs holds them to the Rust
// checks, outcome for outcome and word for word.
// Nothing here talks to the network or the page; verify.js does.

import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { concat } from './seal.js';

const enc = new TextEncoder();
const LEAF_LABEL = enc.encode('sunlight/log-leaf/v1');
const HEAD_LABEL = enc.encode('sunlight/log-head/v1');
const PROMISE_LABEL = enc.encode('sunlight/log-promise/v1');

// ---- text forms: lower-case hex, `YYYY-MM-DD` days
export function fromHex(text, length) {
  if (typeof text !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(text)) return null;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return length === undefined || out.length === length ? out : null;
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// A calendar day as the log writes it, or null.
export function parseDay(text) {
  const m = typeof text === 'string' && /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return null;
  const d = new Date(0);
  // setUTCFullYear, not Date.UTC: that one reads years 0–99 as 1900–1999.
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const iso = d.toISOString();
  return iso.length === 24 && iso.slice(0, 10) === text ? text : null;
}

function addDays(day, n) {
  const d = new Date(0);
  d.setUTCFullYear(Number(day.slice(0, 4)), Number(day.slice(5, 7)) - 1, Number(day.slice(8, 10)));
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

// ---- the receipt, as strict as the server's reader: every field, no other
function exactly(value, keys) {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.keys(value).length === keys.length &&
    keys.every((k) => Object.prototype.hasOwnProperty.call(value, k))
  );
}

// What JSON.parse forgives and core's reader does not: a key twice in
// one object (JSON.parse keeps the last) and a number written with a
// fraction or an exponent (`1.0`, `1e0`: the version is an integer). For
// text JSON.parse took: strings are skipped whole, each object's keys
// collected.
function loose(text) {
  const objects = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const keys = objects[objects.length - 1];
      if (keys && text.slice(j + 1).trimStart().startsWith(':')) {
        const key = JSON.parse(text.slice(i, j + 1));
        if (keys.has(key)) return true;
        keys.add(key);
      }
      i = j;
    } else if (c === '{') objects.push(new Set());
    else if (c === '[') objects.push(null);
    else if (c === '}' || c === ']') objects.pop();
    else if (/[.eE]/.test(c)) return true;
  }
  return false;
}

// The receipt from its JSON text, or null for anything that is not one.
export function parseReceipt(text) {
  let v;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (loose(text)) return null;
  if (!exactly(v, ['version', 'suite', 'log_key', 'leaf', 'promise'])) return null;
  if (!exactly(v.leaf, ['envelopes', 'nonce', 'day'])) return null;
  const r = {
    version: v.version,
    suite: v.suite,
    logKey: fromHex(v.log_key),
    leaf: { envelopes: fromHex(v.leaf.envelopes, 32), nonce: fromHex(v.leaf.nonce), day: parseDay(v.leaf.day) },
    promise: fromHex(v.promise),
  };
  const u8 = Number.isInteger(r.version) && r.version >= 0 && r.version <= 255;
  const known = r.suite === 'modern' || r.suite === 'shangmi';
  const parts = [r.logKey, r.promise, r.leaf.envelopes, r.leaf.nonce, r.leaf.day];
  return u8 && known && parts.every((p) => p !== null) ? r : null;
}

// A published head from `/log/heads?format=json`, or null.
export function parseHead(v) {
  if (!exactly(v, ['size', 'root', 'day', 'signature'])) return null;
  const head = { size: v.size, root: fromHex(v.root, 32), day: parseDay(v.day), signature: fromHex(v.signature) };
  const sized = Number.isSafeInteger(head.size) && head.size >= 0;
  return sized && head.root && head.day && head.signature ? head : null;
}

// ---- hashes and signed bytes (RFC 9162 §2.1 with SHA-256)
const leafOf = (data) => sha256(concat(Uint8Array.of(0), data));
const node = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

function sizeBytes(n) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

// The leaf's hash in the tree, or null for a nonce that is not 16 bytes.
export function leafHash(receipt) {
  const { envelopes, nonce, day } = receipt.leaf;
  if (nonce.length !== 16) return null;
  return leafOf(concat(LEAF_LABEL, envelopes, nonce, enc.encode(day)));
}

export const promiseBytes = (leaf, day) => concat(PROMISE_LABEL, leaf, enc.encode(day));
export const headBytes = (h) => concat(HEAD_LABEL, sizeBytes(h.size), h.root, enc.encode(h.day));

function littleEndian(bytes) {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

// Ed25519 exactly as ed25519-dalek's `verify_strict`, which core uses:
// canonical encodings (noble with `zip215: false`), neither the key nor R
// of small order, and the cofactorless equation R = [s]B − [k]A. noble's
// own check is cofactored: alone it would take a signature whose R has a
// torsion part, which core refuses, and the page and the CLI would
// disagree on a promise a dishonest log made.
function verifies(key, message, signature) {
  try {
    if (key.length !== 32 || signature.length !== 64) return false;
    if (!ed25519.verify(signature, message, key, { zip215: false })) return false;
    const { Point } = ed25519;
    const rBytes = signature.subarray(0, 32);
    const [R, A] = [Point.fromBytes(rBytes), Point.fromBytes(key)];
    if (R.isSmallOrder() || A.isSmallOrder()) return false;
    const k = littleEndian(sha512(concat(rBytes, key, message))) % Point.Fn.ORDER;
    const s = littleEndian(signature.subarray(32));
    return equal(Point.BASE.multiplyUnsafe(s).subtract(A.multiplyUnsafe(k)).toBytes(), rBytes);
  } catch {
    return false;
  }
}

function equal(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// Tree sizes are far below 2^53, but beyond the 32 bits of `>>`.
const half = (n) => Math.floor(n / 2);
const odd = (n) => n % 2 === 1;

function isPowerOfTwo(n) {
  let k = n;
  while (k > 1 && !odd(k)) k = half(k);
  return k === 1;
}

// RFC 9162 §2.1.3.2.
export function verifyInclusion(index, size, leaf, proof, root) {
  if (!(index < size)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = node(p, r);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = node(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equal(r, root);
}

// RFC 9162 §2.1.4.2.
export function verifyConsistency(old, size, oldRoot, root, proof) {
  if (old > size) return false;
  if (old === size) return proof.length === 0 && equal(oldRoot, root);
  if (old === 0) return proof.length === 0;
  const path = isPowerOfTwo(old) ? [oldRoot, ...proof] : proof;
  if (path.length === 0) return false;
  let fn = old - 1;
  let sn = size - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = node(c, fr);
      sr = node(c, sr);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = node(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return equal(fr, oldRoot) && equal(sr, root) && sn === 0;
}

// ---- the checks: each { name, outcome, key, args } as core's `Check`
const check = (name, outcome, key, args = {}) => ({ name, outcome, key, args });

// The head that must include the leaf (the first signed on a later day)
// and the newest of the promise's own day; heads sorted by size.
export const dueHead = (receipt, heads) => heads.find((h) => h.day > receipt.leaf.day);
export const sameDayHead = (receipt, heads) => [...heads].reverse().find((h) => h.day === receipt.leaf.day);

// The sizes whose inclusion proofs the checks ask for.
export function proofSizes(receipt, heads) {
  return [sameDayHead(receipt, heads), dueHead(receipt, heads)].filter(Boolean).map((h) => h.size);
}

// `consistency(from, to)` gives the served proof (hashes) or null.
export function checkHeads(key, heads, consistency) {
  const out = [];
  const unsigned = heads.find((h) => !verifies(key, headBytes(h), h.signature));
  out.push(
    unsigned
      ? check('heads signed', 'failed', 'head_unsigned', { size: String(unsigned.size), day: unsigned.day })
      : check('heads signed', 'passed', 'heads_signed', { count: String(heads.length) }),
  );
  for (let i = 1; i < heads.length; i++) {
    const [a, b] = [heads[i - 1], heads[i]];
    const pair = { size: String(b.size), day: b.day, before_size: String(a.size), before_day: a.day };
    if (b.size < a.size) {
      out.push(check('consistency', 'failed', 'shrank', pair));
      return out;
    }
    if (!verifyConsistency(a.size, b.size, a.root, b.root, consistency(a.size, b.size) || [])) {
      out.push(check('consistency', 'failed', 'forked', pair));
      return out;
    }
  }
  out.push(check('consistency', 'passed', 'consistent'));
  return out;
}

// `inclusion(size)` gives the served proof ({ index, size, path: hex[] })
// of this receipt's leaf in the head of that size, or null.
function inclusionCheck(receipt, leaf, heads, inclusion) {
  const includes = (head) => {
    const p = inclusion(head.size);
    const path = p && Array.isArray(p.path) ? p.path.map((h) => fromHex(h, 32)) : [null];
    const sound = p && p.size === head.size && Number.isSafeInteger(p.index) && p.index >= 0 && path.every(Boolean);
    return sound && verifyInclusion(p.index, p.size, leaf, path, head.root) ? p : null;
  };
  const day = receipt.leaf.day;
  const same = sameDayHead(receipt, heads);
  const due = dueHead(receipt, heads);
  let found = same && includes(same) ? [same, includes(same)] : null;
  if (!found && due && includes(due)) found = [due, includes(due)];
  if (found) {
    const [head, p] = found;
    return check('inclusion', 'passed', 'included', { index: String(p.index), size: String(head.size), day: head.day });
  }
  if (due) return check('inclusion', 'failed', 'broken', { day, size: String(due.size), head_day: due.day });
  return check('inclusion', 'pending', 'pending', { day });
}

// A receipt against the heads a deployment published (sorted by size),
// on `today` (the reader's day, or null). Core's `check_receipt`.
export function checkReceipt(receipt, heads, today, inclusion, consistency) {
  const leaf = receipt.version === 1 && receipt.suite === 'modern' ? leafHash(receipt) : null;
  if (!leaf) return [check('receipt', 'failed', 'not_v1')];
  const day = receipt.leaf.day;
  if (!verifies(receipt.logKey, promiseBytes(leaf, day), receipt.promise)) {
    return [check('signature', 'failed', 'bad_signature')];
  }
  const out = [check('signature', 'passed', 'promised', { day })];
  if (heads.length === 0 && !today) return out;
  out.push(...checkHeads(receipt.logKey, heads, consistency));
  let found = inclusionCheck(receipt, leaf, heads, inclusion);
  if (today && day > addDays(today, 1)) {
    out.push(check('inclusion', 'failed', 'future', { day }));
    return out;
  }
  if (found.outcome === 'pending' && today && today > addDays(day, 2)) {
    found = check('inclusion', 'failed', 'stale', { day });
  }
  out.push(found);
  return out;
}
