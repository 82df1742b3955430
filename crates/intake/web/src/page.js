// Progressive enhancement of the report form, the status lookup and the
// receipt check (verify.js): with
// this script the code is drawn and stretched here, everything typed or
// attached is sealed here, and staff replies are opened here. The forms
// keep working without it, exactly as before. Only textContent is ever
// written (the page's CSP requires Trusted Types for any HTML sink).

import * as s from './seal.js';
import { verifyReceipt } from './verify.js';
import { add, call, enhance, errorMessage, rendered, say, text } from './ui.js';

function fromTemplate(id) {
  const t = rendered.templates[id];
  return t ? t.content.cloneNode(true) : null;
}

function clean(value) {
  return s.wellFormed(value.trim());
}

// The file name as the server keeps it: no path, no control or
// direction-changing characters, at most the limit.
function fileName(name, max) {
  const base = name.split(/[\\/]/).pop().replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '') || 'file';
  return Array.from(base).slice(0, max).join('');
}

async function sealFiles(input, caseId, recipients, maxName) {
  const files = {};
  for (const file of input ? Array.from(input.files) : []) {
    const id = s.randomUuid();
    const bytes = new Uint8Array(await file.arrayBuffer());
    const meta = { file_name: fileName(file.name, maxName), declared_type: file.type || 'application/octet-stream', size: bytes.length };
    const sealed = s.sealAttachment(bytes, { caseId, item: s.item.attachment(id) }, recipients);
    bytes.fill(0);
    files[id] = {
      meta: s.toBase64(s.seal(s.encodePadded(meta), { caseId, item: s.item.attachmentMeta(id) }, recipients)),
      header: s.toBase64(sealed.header),
      body: s.toBase64(sealed.body),
    };
  }
  return files;
}

async function stretch(code) {
  const { status, data } = await call('/api/v1/sealed/params');
  if (status !== 200) throw new Error(text('failed'));
  const okm = await s.stretchCode(code, s.fromBase64(data.salt), data);
  return { okm, token: s.toBase64(s.lookupToken(okm)), legacy: data.legacy_codes };
}

// ---- the report form
function reportContent(form) {
  const v = (name) => clean(form.elements[name] ? form.elements[name].value : '');
  const optional = (name) => v(name) || null;
  return {
    accused_name: v('accused_name'),
    accused_position: v('accused_position'),
    narrative: v('narrative'),
    reporter_name: optional('reporter_name'),
    reporter_phone: optional('reporter_phone'),
  };
}

// The filing receipt as the page without script shows it: the same
// text (the server's pretty JSON has these fields in this order) and the
// same file to save.
function showFilingReceipt(view, proof) {
  const block = view.getElementById('receipt');
  if (!block || !proof) return;
  const json = JSON.stringify(proof, null, 2);
  block.querySelector('.receipt-text').textContent = json;
  const save = block.querySelector('a[download]');
  save.setAttribute('download', `receipt-${proof.leaf.day}.json`);
  save.setAttribute('href', `data:application/json;base64,${s.toBase64(new TextEncoder().encode(json))}`);
  block.hidden = false;
}

function showReceipt(code, filed) {
  const main = document.getElementById('main');
  const receipt = fromTemplate('sealed-receipt');
  if (!main || !receipt) return;
  receipt.getElementById('tracking-code').textContent = s.displayCode(code);
  const line = receipt.getElementById('receipt-deadline');
  if (line) line.textContent = line.dataset.template.replace('{date}', filed.deadline);
  showFilingReceipt(receipt, filed.receipt);
  main.replaceChildren(receipt);
  document.title = text('receiptTitle') || document.title;
  main.focus();
}

// What the server checks of the text fields in the clear form, checked
// here, as the server sees them sealed: required fields that are not only
// spaces, and a name when the reporter chose to give it.
function missing(form, content) {
  const realName = form.elements.real_name && form.elements.real_name.checked;
  return !content.accused_name || !content.narrative || (realName && !content.reporter_name);
}

// Whether the server refused what was sealed as not addressed to the
// keys it holds now: a unit's key replaced (a member left) after the page
// read them. Nothing was stored; sealed once more to keys read again, it
// goes through.
function misaddressed(res) {
  return res.status === 422 && Boolean(res.data && res.data.error)
    && res.data.error.code === 'sealed_misaddressed';
}

// The status read again after `res` was refused as misaddressed, for a
// second try (`again` is false on the first), else null.
async function refreshed(res, token, again) {
  if (again || !misaddressed(res)) return null;
  const fresh = await call('/api/v1/sealed/status', { token });
  return fresh.status === 200 ? fresh.data : null;
}

// `again`: this is the second try, after a refusal as misaddressed.
async function fileReport(form, again = false) {
  const content = reportContent(form);
  if (missing(form, content)) return say(text('missing'), true);
  say(text('working'));
  const code = s.drawCode();
  const { okm, token } = await stretch(code);
  const el = form.elements;
  let prepared;
  try {
    prepared = await call('/api/v1/sealed/prepare', { unit: el.unit.value, accused_role: el.accused_role.value, token });
  } finally {
    if (!prepared || prepared.status !== 200) okm.fill(0);
  }
  if (prepared.status !== 200) return say(errorMessage(prepared.data), true);
  const { case_id: caseId, share } = prepared.data;
  const reporter = s.reporterSecret(okm, s.fromBase64(share));
  okm.fill(0);
  const recipients = prepared.data.recipients.map(s.fromBase64).concat([s.publicKey(reporter)]);
  const report = s.seal(s.encodePadded(content), { caseId, item: s.item.report() }, recipients);
  const maxName = Number(form.dataset.fileNameChars || 200);
  const body = {
    case_id: caseId,
    token,
    reporter_public: s.toBase64(s.publicKey(reporter)),
    unit: el.unit.value,
    category: el.category.value,
    accused_role: el.accused_role.value,
    selection_stage: el.selection_stage.value,
    real_name: Boolean(el.real_name && el.real_name.checked),
    report: s.toBase64(report),
    files: await sealFiles(el.attachment, caseId, recipients, maxName),
  };
  reporter.fill(0);
  const filed = await call('/api/v1/sealed/reports', body);
  // The next prepare hands out the new keys; sealed once more under a new
  // code (the first one was never shown).
  if (!again && misaddressed(filed)) return fileReport(form, true);
  if (filed.status !== 201) return say(errorMessage(filed.data), true);
  showReceipt(code, filed.data);
}

// ---- the status lookup, and the status itself
function opened(sealed, caseId, item, secret) {
  try {
    return s.decodePadded(s.open(s.fromBase64(sealed), { caseId, item }, secret));
  } catch {
    // Sealed before this reporter's key was a recipient (a merged case).
    return null;
  }
}

function renderStatus(view, status, secret) {
  const d = status.display;
  view.getElementById('stage').textContent = d.stage;
  view.getElementById('stage').dataset.stage = status.stage;
  view.getElementById('received').textContent = d.received;
  view.getElementById('deadline').textContent = d.deadline;
  if (status.merged) view.getElementById('merged').hidden = false;
  const list = view.getElementById('messages');
  status.messages.forEach((m, i) => {
    const content = opened(m.sealed, m.case_id, s.item.message(m.id), secret);
    if (!content) return;
    const li = add(list, 'li', undefined, { class: m.from });
    add(li, 'p', `${m.from === 'staff' ? text('fromStaff') : text('fromReporter')} · ${d.message_times[i]}`, { class: 'meta' });
    add(li, 'p', content.body, { class: 'body' });
  });
  view.getElementById('no-messages').hidden = list.children.length > 0;
  const files = view.getElementById('files');
  for (const f of status.files) {
    const meta = opened(f.meta, f.case_id, s.item.attachmentMeta(f.id), secret);
    if (meta) add(files, 'li', `${meta.file_name} (${meta.size} B)`);
  }
  view.getElementById('files-section').hidden = files.children.length === 0;
  renderInclusion(view, status.inclusion);
  renderRating(view, status);
}

// The report's entry in the public log, as the page without script shows
// it: the leaf and its day, then the head that includes it and the proof,
// or a line saying the head is yet to come.
function renderInclusion(view, entry) {
  if (!entry) return;
  view.getElementById('inclusion').hidden = false;
  view.getElementById('inclusion-leaf').textContent = entry.leaf;
  view.getElementById('inclusion-day').textContent = entry.day;
  const head = entry.head;
  if (!head) {
    for (const part of view.querySelectorAll('.inclusion-proof')) part.remove();
    view.getElementById('inclusion-pending').hidden = false;
    return;
  }
  view.getElementById('inclusion-pending').remove();
  const line = view.getElementById('inclusion-head');
  line.prepend(line.dataset.template.replace('{day}', head.day).replace('{size}', String(head.size)));
  line.querySelector('code').textContent = head.root;
  view.getElementById('inclusion-index').textContent = String(head.index);
  const path = view.getElementById('inclusion-path');
  for (const h of head.path) add(add(path, 'li'), 'code', h, { class: 'hash' });
}

// The rating, as the page without script shows it: absent before the
// case is closed with feedback, a form while it may be rated (with the
// objection only while one may be sent), the rating given in words after.
function renderRating(view, status) {
  const section = view.getElementById('rating-section');
  const form = view.getElementById('rating-form');
  if (!section || !form || status.rating === undefined) return;
  section.hidden = false;
  if (status.rating) {
    const rated = view.getElementById('rated');
    rated.textContent = status.display.rated || '';
    rated.hidden = false;
    form.remove();
    return;
  }
  form.hidden = false;
  const hint = status.display.objection_hint;
  if (hint) {
    view.getElementById('objection-part').hidden = false;
    view.getElementById('objection-hint').textContent = hint;
  } else {
    view.getElementById('objection-part').remove();
  }
}

// What a view drawn after the reporter sent something says first.
const notices = { sent: 'sent', rated: 'rated-sent' };

async function showStatus(token, secret, after) {
  const { status, data } = await call('/api/v1/sealed/status', { token });
  if (status !== 200) return say(errorMessage(data), true);
  const view = fromTemplate('sealed-status');
  renderStatus(view, data, secret);
  const main = document.getElementById('main');
  const progress = document.getElementById('sealing-progress');
  main.replaceChildren(view);
  if (progress) {
    progress.hidden = true;
    main.prepend(progress);
  }
  if (after) {
    const notice = document.createElement('p');
    notice.className = 'ok';
    notice.id = notices[after];
    notice.setAttribute('role', 'status');
    notice.textContent = text(after === 'rated' ? 'ratedSent' : 'sent');
    main.querySelector('h1').after(notice);
  }
  enhance(document.getElementById('reply-form'), (form) => sendReply(form, token, secret, data));
  const rating = document.getElementById('rating-form');
  if (rating) enhance(rating, (form) => sendRating(form, token, secret, data));
}

// What the server checks of a message it seals itself (core's
// `validate_message`), checked here, as it cannot see this one: at most
// the form's limit in characters, no control characters but line breaks
// and tabs.
function fits(value, form) {
  const field = form.querySelector('textarea');
  const max = Number((field && field.getAttribute('maxlength')) || 0);
  const control = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
  if ((max && Array.from(value).length > max) || control.test(value)) {
    say(text('badText').replace('{max}', String(max)), true);
    return false;
  }
  return true;
}

// The rating in the clear (one of three words, as the page without
// script sends it); the objection sealed like a reply, under the id the
// status handed out.
async function sendRating(form, token, secret, status, again = false) {
  const choice = form.querySelector('input[name=rating]:checked');
  if (!choice) return;
  say(text('working'));
  const caseId = status.case_id;
  const body = { token, case_id: caseId, rating: choice.value };
  const objection = form.elements.objection ? clean(form.elements.objection.value) : '';
  if (!fits(objection, form)) return undefined;
  if (objection) {
    const recipients = status.recipients.map(s.fromBase64);
    const item = s.item.message(status.message_id);
    const sealed = s.seal(s.encodePadded({ body: objection }), { caseId, item }, recipients);
    body.objection = { message_id: status.message_id, body: s.toBase64(sealed) };
  }
  const res = await call('/api/v1/sealed/rating', body);
  const fresh = objection ? await refreshed(res, token, again) : null;
  if (fresh) return sendRating(form, token, secret, fresh, true);
  if (res.status !== 201) return say(errorMessage(res.data), true);
  await showStatus(token, secret, 'rated');
}

async function sendReply(form, token, secret, status, again = false) {
  const body = clean(form.elements.body.value);
  const input = form.elements.attachment;
  if (!body && !(input && input.files.length)) return say(text('emptyReply'), true);
  if (!fits(body, form)) return undefined;
  say(text('working'));
  const caseId = status.case_id;
  const recipients = status.recipients.map(s.fromBase64);
  const item = s.item.message(status.message_id);
  const sealed = s.seal(s.encodePadded({ body }), { caseId, item }, recipients);
  const files = await sealFiles(input, caseId, recipients, 200);
  const res = await call('/api/v1/sealed/messages', { token, case_id: caseId, message_id: status.message_id, body: s.toBase64(sealed), files });
  const fresh = await refreshed(res, token, again);
  if (fresh) return sendReply(form, token, secret, fresh, true);
  if (res.status !== 201) return say(errorMessage(res.data), true);
  await showStatus(token, secret, 'sent');
}

async function lookUp(form) {
  const code = s.parseCode(form.elements.code.value);
  if (!code) return say(text('badCode'), true);
  say(text('working'));
  const { okm, token, legacy } = await stretch(code);
  const { status, data } = await call('/api/v1/sealed/status', { token });
  if (status === 404 && legacy && window.confirm(text('legacy'))) {
    // A code from before browser sealing: only the server can find it,
    // and only when the reporter agrees to send it as without script.
    okm.fill(0);
    return form.submit();
  }
  if (status !== 200) {
    okm.fill(0);
    return say(errorMessage(data), true);
  }
  const secret = s.reporterSecret(okm, s.fromBase64(data.share));
  okm.fill(0);
  form.elements.code.value = '';
  await showStatus(token, secret, false);
}

export function wire() {
  if (!globalThis.crypto || !globalThis.crypto.getRandomValues || !window.fetch) return;
  const holder = document.getElementById('sealing-text');
  if (holder) Object.assign(rendered.text, holder.dataset);
  for (const t of document.querySelectorAll('template[id]')) rendered.templates[t.id] = t;
  const report = document.querySelector('form[data-sealing="report"]');
  if (report) enhance(report, fileReport);
  const lookup = document.querySelector('form[data-sealing="lookup"]');
  if (lookup) enhance(lookup, lookUp);
  const verify = document.querySelector('form[data-verify]');
  if (verify) enhance(verify, verifyReceipt);
}
