// Sealing in the reporter's browser: byte for byte the formats of
// crates/core/src/crypto (docs/crypto.md is the specification; the
// cross-implementation test, tests/tests/browser_sealing.rs, holds both to it).
// Nothing here talks to the network or the page; page.js does.

import { argon2idAsync } from '@noble/hashes/argon2.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';

export const VERSION = 1;
export const SLOT_LEN = 8 + 32 + 32 + 16;
export const CHUNK_SIZE = 64 * 1024;
export const PAD_TO = 1024;
const STREAM_NONCE = 7;
const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export function randomBytes(n) {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return out;
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equal(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

// ---- base64 (standard alphabet, padded), as the JSON routes carry bytes.
export function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

export function fromBase64(text) {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

// ---- ids
export function uuidBytes(text) {
  const hex = text.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error('not a UUID');
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function uuidText(bytes) {
  const h = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/// A random (version 4) UUID: an attachment's id carries no time.
export function randomUuid() {
  const b = randomBytes(16);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return uuidText(b);
}

// The `item` an envelope is bound to (crates/core/src/report.rs `item`).
export const item = {
  report: () => enc.encode('report'),
  message: (id) => concat(enc.encode('message/'), uuidBytes(id)),
  attachmentMeta: (id) => concat(enc.encode('attachment-meta/'), uuidBytes(id)),
  attachment: (id) => concat(enc.encode('attachment/'), uuidBytes(id)),
};

// ---- tracking codes: 19 random digits and a Damm check digit
const DAMM = [
  [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
  [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
  [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
  [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
  [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
  [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
  [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
  [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
  [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
  [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

export function damm(digits) {
  return digits.reduce((interim, d) => DAMM[interim][d], 0);
}

/// A new code as its 20 ASCII digits. Bytes of 250 and above are dropped so
/// that `% 10` is uniform, as the server does.
export function drawCode() {
  const digits = [];
  while (digits.length < 19) {
    for (const b of randomBytes(32)) {
      if (b < 250 && digits.length < 19) digits.push(b % 10);
    }
  }
  digits.push(damm(digits));
  return digits.join('');
}

/// The 20 digits of a typed code, or null when it is not one (wrong length,
/// other characters, or a check digit that does not match).
export function parseCode(raw) {
  const digits = [];
  for (const c of raw) {
    if (' -\u3000\t'.includes(c)) continue;
    const fw = c.charCodeAt(0) - 0xff10;
    if (c >= '0' && c <= '9') digits.push(c.charCodeAt(0) - 48);
    else if (fw >= 0 && fw <= 9) digits.push(fw);
    else return null;
  }
  if (digits.length !== 20 || damm(digits) !== 0) return null;
  return digits.join('');
}

/// `4821-0937-5561-2084-7735`
export function displayCode(ascii) {
  return ascii.match(/.{4}/g).join('-');
}

// ---- the code's stretch (scheme 2, crates/core/src/crypto/stretch.rs)
export async function stretchCode(ascii, salt, params) {
  return argon2idAsync(enc.encode(ascii), salt, {
    t: params.t,
    m: params.m_kib,
    p: params.p,
    dkLen: 64,
    version: 0x13,
  });
}

export function lookupToken(okm) {
  return hkdf(sha256, okm, undefined, enc.encode('sunlight/code/v2/lookup'), 32);
}

export function reporterSecret(okm, share) {
  return hkdf(sha256, okm, share, enc.encode('sunlight/code/v2/reporter-x25519'), 32);
}

/// What only the server can compute (it holds the pepper); here so the
/// cross-implementation test can check the whole chain.
export function pepperMac(pepper, label, token) {
  return hmac(sha256, pepper, concat(enc.encode(label), token));
}

export function publicKey(secret) {
  return x25519.getPublicKey(secret);
}

// ---- envelopes (crates/core/src/crypto/envelope.rs)
function contextAad(label, caseId, itemBytes) {
  return concat(enc.encode(label), Uint8Array.of(VERSION), uuidBytes(caseId), itemBytes);
}

function keyId(pub) {
  return sha256(pub).subarray(0, 8);
}

function slotKek(shared, ephemeralPublic, recipient) {
  return hkdf(sha256, shared, concat(ephemeralPublic, recipient), enc.encode('sunlight/seal/v1/kek'), 32);
}

const ZERO_NONCE = new Uint8Array(12);

function writeHeader(recipients, ctx) {
  if (recipients.length === 0 || recipients.length > 16) throw new Error('recipients');
  const dataKey = randomBytes(32);
  const aad = contextAad('sunlight/slot', ctx.caseId, ctx.item);
  const parts = [Uint8Array.of(VERSION, recipients.length)];
  for (const recipient of recipients) {
    const ephemeral = randomBytes(32);
    const ephemeralPublic = x25519.getPublicKey(ephemeral);
    const shared = x25519.getSharedSecret(ephemeral, recipient);
    const kek = slotKek(shared, ephemeralPublic, recipient);
    const wrapped = chacha20poly1305(kek, ZERO_NONCE, aad).encrypt(dataKey);
    parts.push(keyId(recipient), ephemeralPublic, wrapped);
  }
  return { header: concat(...parts), dataKey };
}

function readHeader(envelope, ctx, secret) {
  if (envelope.length < 2) throw new Error('malformed envelope');
  if (envelope[0] !== VERSION) throw new Error(`unknown envelope version ${envelope[0]}`);
  const count = envelope[1];
  const headerLen = 2 + count * SLOT_LEN;
  if (count === 0 || count > 16 || envelope.length < headerLen) throw new Error('malformed envelope');
  const pub = x25519.getPublicKey(secret);
  const mine = keyId(pub);
  const aad = contextAad('sunlight/slot', ctx.caseId, ctx.item);
  for (let at = 2; at < headerLen; at += SLOT_LEN) {
    if (!equal(envelope.subarray(at, at + 8), mine)) continue;
    const ephemeralPublic = envelope.subarray(at + 8, at + 40);
    const kek = slotKek(x25519.getSharedSecret(secret, ephemeralPublic), ephemeralPublic, pub);
    try {
      const dataKey = chacha20poly1305(kek, ZERO_NONCE, aad).decrypt(envelope.subarray(at + 40, at + SLOT_LEN));
      return { dataKey, header: envelope.subarray(0, headerLen), rest: envelope.subarray(headerLen) };
    } catch {
      // Another slot may share the 8-byte id prefix; keep looking.
    }
  }
  throw new Error('cannot open: wrong key or altered data');
}

function bodyAad(label, ctx, header) {
  return concat(contextAad(label, ctx.caseId, ctx.item), sha256(header));
}

/// ctx = { caseId: 'uuid text', item: Uint8Array }
export function seal(payload, ctx, recipients) {
  const { header, dataKey } = writeHeader(recipients, ctx);
  const nonce = randomBytes(12);
  const body = chacha20poly1305(dataKey, nonce, bodyAad('sunlight/seal', ctx, header)).encrypt(payload);
  return concat(header, nonce, body);
}

export function open(envelope, ctx, secret) {
  const { dataKey, header, rest } = readHeader(envelope, ctx, secret);
  if (rest.length < 12 + 16) throw new Error('malformed envelope');
  return chacha20poly1305(dataKey, rest.subarray(0, 12), bodyAad('sunlight/seal', ctx, header)).decrypt(rest.subarray(12));
}

/// Text as the server's JSON reader takes it: a lone surrogate (which
/// JSON.stringify writes as an escape serde refuses) becomes U+FFFD.
export function wellFormed(text) {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

// ---- JSON payloads, padded with spaces to a multiple of 1024 bytes
export function encodePadded(value) {
  const json = enc.encode(JSON.stringify(value));
  const padded = Math.max(1, Math.ceil(json.length / PAD_TO)) * PAD_TO;
  const out = new Uint8Array(padded).fill(0x20);
  out.set(json);
  return out;
}

export function decodePadded(bytes) {
  return JSON.parse(dec.decode(bytes));
}

// ---- attachments: the STREAM construction of `aead-stream` (BE32)
function streamNonce(prefix, counter, last) {
  const nonce = new Uint8Array(12);
  nonce.set(prefix);
  new DataView(nonce.buffer).setUint32(STREAM_NONCE, counter, false);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/// Seals a whole file (a Uint8Array): the stream header and the sealed
/// chunks, concatenated as the server stores them. A file that fills its
/// last chunk exactly ends with an extra empty chunk, as on the server.
export function sealAttachment(bytes, ctx, recipients) {
  const { header, dataKey } = writeHeader(recipients, ctx);
  const aad = bodyAad('sunlight/stream', ctx, header);
  const prefix = randomBytes(STREAM_NONCE);
  const chunks = [];
  let counter = 0;
  let at = 0;
  while (bytes.length - at >= CHUNK_SIZE) {
    const nonce = streamNonce(prefix, counter++, false);
    chunks.push(chacha20poly1305(dataKey, nonce, aad).encrypt(bytes.subarray(at, at + CHUNK_SIZE)));
    at += CHUNK_SIZE;
  }
  chunks.push(chacha20poly1305(dataKey, streamNonce(prefix, counter, true), aad).encrypt(bytes.subarray(at)));
  return { header: concat(header, prefix), body: concat(...chunks) };
}

export function openAttachment(streamHeader, body, ctx, secret) {
  const { dataKey, header, rest } = readHeader(streamHeader, ctx, secret);
  if (rest.length !== STREAM_NONCE) throw new Error('malformed stream header');
  const aad = bodyAad('sunlight/stream', ctx, header);
  const sealedChunk = CHUNK_SIZE + 16;
  const parts = [];
  let counter = 0;
  let at = 0;
  for (;;) {
    const left = body.length - at;
    const last = left <= sealedChunk;
    const take = last ? left : sealedChunk;
    if (take < 16) throw new Error('truncated attachment');
    parts.push(chacha20poly1305(dataKey, streamNonce(rest, counter++, last), aad).decrypt(body.subarray(at, at + take)));
    at += take;
    if (last) return concat(...parts);
  }
}

export function sha256Of(bytes) {
  return sha256(bytes);
}
