// The JavaScript half of the cross-implementation test
// (tests/tests/sealing_cross.rs): reads what Rust derived and sealed, checks
// and opens it with the built static/sealing.js, seals its own material to
// the same recipients and writes it out for Rust to open. Usage:
//   node cross.mjs IN.json OUT.json [path/to/sealing.js]
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { strict as assert } from 'node:assert';

const [input, output, bundle] = process.argv.slice(2);
const s = await import(pathToFileURL(bundle ?? new URL('../../static/sealing.js', import.meta.url).pathname).href);
const v = JSON.parse(readFileSync(input, 'utf8'));
const b = s.fromBase64;
const text = new TextDecoder();

// The code's chain: stretch, token, the pepper's MACs, the reporter key.
assert.equal(s.parseCode(v.code_display), v.code);
assert.equal(s.parseCode(v.code_display.replace(/.$/, (d) => String((Number(d) + 1) % 10))), null);
const okm = await s.stretchCode(v.code, b(v.salt), v.params);
const token = s.lookupToken(okm);
assert.equal(s.toBase64(token), v.expect.token, 'lookup token');
const pepper = b(v.pepper);
assert.equal(s.toBase64(s.pepperMac(pepper, 'sunlight/code/v2/index', token)), v.expect.index, 'index');
const share = s.pepperMac(pepper, 'sunlight/code/v2/reporter', token);
assert.equal(s.toBase64(share), v.expect.share, 'share');
const reporter = s.reporterSecret(okm, share);
assert.equal(s.toBase64(s.publicKey(reporter)), v.expect.reporter_public, 'reporter key');

// Open what Rust sealed, with the reporter key derived here.
const ctx = (item) => ({ caseId: v.case_id, item });
const opened = {};
opened.report = s.decodePadded(s.open(b(v.rust.report), ctx(s.item.report()), reporter));
opened.message = s.decodePadded(s.open(b(v.rust.message.sealed), ctx(s.item.message(v.rust.message.id)), reporter));
opened.attachments = v.rust.attachments.map((a) => {
  const meta = s.decodePadded(s.open(b(a.meta), ctx(s.item.attachmentMeta(a.id)), reporter));
  const bytes = s.openAttachment(b(a.header), b(a.body), ctx(s.item.attachment(a.id)), reporter);
  assert.equal(bytes.length, meta.size, 'attachment size');
  return { meta, sha256: s.toBase64(s.sha256Of(bytes)) };
});
assert.deepEqual(opened, v.rust.expect, 'what Rust sealed, opened in JavaScript');

// Altered or misbound material does not open.
const altered = b(v.rust.report);
altered[altered.length - 1] ^= 1;
assert.throws(() => s.open(altered, ctx(s.item.report()), reporter));
assert.throws(() => s.open(b(v.rust.report), ctx(s.item.message(v.rust.message.id)), reporter));
const a0 = v.rust.attachments.at(-1);
const cut = b(a0.body).subarray(0, 65552);
assert.throws(() => s.openAttachment(b(a0.header), cut, ctx(s.item.attachment(a0.id)), reporter), 'truncated stream');

// Seal our own to the same recipients, for Rust to open.
const recipients = v.recipients.map(b);
const out = { report: null, message: null, attachments: [] };
out.report = s.toBase64(s.seal(s.encodePadded(v.js.report), ctx(s.item.report()), recipients));
const messageId = v.js.message_id;
out.message = { id: messageId, sealed: s.toBase64(s.seal(s.encodePadded({ body: v.js.message }), ctx(s.item.message(messageId)), recipients)) };
for (const size of v.js.attachment_sizes) {
  const id = s.randomUuid();
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + 3) & 0xff;
  const meta = { file_name: `js-${size}.bin`, declared_type: 'application/octet-stream', size };
  const { header, body } = s.sealAttachment(bytes, ctx(s.item.attachment(id)), recipients);
  out.attachments.push({
    id,
    meta: s.toBase64(s.seal(s.encodePadded(meta), ctx(s.item.attachmentMeta(id)), recipients)),
    header: s.toBase64(header),
    body: s.toBase64(body),
    sha256: s.toBase64(s.sha256Of(bytes)),
  });
}
writeFileSync(output, JSON.stringify(out));
console.log(`cross.mjs: ${v.rust.attachments.length} Rust attachments opened, ${out.attachments.length} sealed`);
