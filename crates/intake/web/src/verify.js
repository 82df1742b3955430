// /verify with script: the pasted receipt is checked here, against the
// heads this service published and the proofs it serves, so the server
// decides nothing (it still learns which leaf is asked about, as it does
// without script). A receipt of the `shangmi` suite (SM2, SM3) goes to
// the server's check as without script: this script holds no SM2.

import * as log from './log.js';
import { add, say, text } from './ui.js';

// The words of the checks, rendered by the server in the page's language.
function words() {
  const out = {};
  for (const w of document.querySelectorAll('#verify-words [data-key]')) out[w.dataset.key] = w.textContent;
  return out;
}

async function getJson(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' } });
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(text('failed'));
  return res.json();
}

// The reader's day, as the log writes days.
function today() {
  const d = new Date();
  const two = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
}

// Every head, oldest first, and each proof the checks ask for. A head
// that does not parse is a failure of the service, not of the receipt.
async function evidence(receipt) {
  const listed = await getJson('/log/heads?format=json');
  const heads = (Array.isArray(listed) ? listed : []).map(log.parseHead);
  if (heads.some((h) => h === null)) throw new Error(text('failed'));
  heads.reverse();
  heads.sort((a, b) => a.size - b.size);
  const leaf = log.leafHash(receipt);
  const inclusion = new Map();
  for (const size of leaf ? log.proofSizes(receipt, heads) : []) {
    inclusion.set(size, await getJson(`/api/v1/log/proof?leaf=${log.toHex(leaf)}&size=${size}`));
  }
  const pairs = heads.slice(1).map((b, i) => [heads[i].size, b.size]).filter(([a, b]) => a < b);
  const consistency = new Map();
  // A few at a time: a log of some years has a head for each day.
  for (let i = 0; i < pairs.length; i += 6) {
    const batch = pairs.slice(i, i + 6);
    const got = await Promise.all(batch.map(([a, b]) => getJson(`/api/v1/log/consistency?from=${a}&to=${b}`)));
    batch.forEach(([a, b], j) => {
      const path = got[j] && Array.isArray(got[j].path) ? got[j].path.map((h) => log.fromHex(h, 32)) : null;
      consistency.set(`${a}-${b}`, path && path.every(Boolean) ? path : null);
    });
  }
  return { heads, inclusion, consistency };
}

function showProblem(form, message) {
  const old = document.getElementById('verify-result');
  if (old) old.remove();
  let line = document.getElementById('errors');
  if (!line) {
    line = document.createElement('p');
    line.id = 'errors';
    line.className = 'error';
    line.setAttribute('role', 'alert');
    form.before(line);
  }
  line.textContent = message;
}

function verdictOf(checks) {
  if (checks.some((c) => c.outcome === 'failed')) return 'failed';
  return checks.some((c) => c.outcome === 'pending') ? 'pending' : 'passed';
}

function detail(w, c) {
  let out = w[`detail_${c.key}`] || '';
  for (const [k, v] of Object.entries(c.args)) out = out.split(`{${k}}`).join(v);
  return out;
}

// The result as the server draws it, marked as checked here.
function showChecks(form, checks) {
  const w = words();
  for (const id of ['errors', 'verify-result']) document.getElementById(id)?.remove();
  const section = document.createElement('section');
  section.id = 'verify-result';
  section.dataset.checked = 'browser';
  section.setAttribute('aria-labelledby', 'verdict');
  add(section, 'h2', w[verdictOf(checks)], { id: 'verdict', tabindex: '-1' });
  add(section, 'p', w.local, { class: 'notice' });
  const list = add(section, 'ul', undefined, { class: 'checks' });
  for (const c of checks) {
    const li = add(list, 'li', undefined, { class: c.outcome === 'passed' ? 'ok' : 'not-ok' });
    add(li, 'strong', `${w[`check_${c.name.replace(' ', '_')}`]}: ${w[`outcome_${c.outcome}`]}`);
    li.append(` — ${detail(w, c)}`);
  }
  form.before(section);
  section.querySelector('h2').focus();
}

export async function verifyReceipt(form) {
  const w = words();
  const receipt = log.parseReceipt(form.elements.receipt.value.trim());
  if (!receipt) return showProblem(form, w.not_a_receipt);
  if (receipt.suite !== 'modern') return form.submit();
  if (log.toHex(receipt.logKey) !== form.dataset.logKey) return showProblem(form, w.other_log);
  say(text('working'));
  const { heads, inclusion, consistency } = await evidence(receipt);
  const checks = log.checkReceipt(
    receipt,
    heads,
    today(),
    (size) => inclusion.get(size) || null,
    (a, b) => consistency.get(`${a}-${b}`) || null,
  );
  document.getElementById('sealing-progress').hidden = true;
  showChecks(form, checks);
  return undefined;
}
