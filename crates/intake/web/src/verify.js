// /verify with script: the pasted receipt is checked here, against the
// heads this service published and the proofs it serves, so the server
// decides nothing (it still learns which leaf is asked about, as it does
// without script). The script is served only where the log is `modern`
// (SHA-256, Ed25519), so a `shangmi` receipt is named another log's.

import * as log from './log.js';
import { add, say, text } from './ui.js';

// The words of the checks, rendered by the server in the page's language.
function words() {
  const out = {};
  for (const w of document.querySelectorAll('#verify-words [data-key]')) out[w.dataset.key] = w.textContent;
  return out;
}

// A service's answer that is not what the route serves is a failure of
// the service, never a finding about the receipt.
async function getJson(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' } });
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(text('failed'));
  return res.json().catch(() => {
    throw new Error(text('failed'));
  });
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
  if (!Array.isArray(listed)) throw new Error(text('failed'));
  const heads = listed.map(log.parseHead);
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

// Takes away what an earlier check drew: a verdict must never stand
// beside another receipt.
function clear() {
  for (const id of ['errors', 'verify-result']) document.getElementById(id)?.remove();
}

function showProblem(form, message) {
  clear();
  document.getElementById('sealing-progress').hidden = true;
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
  clear();
  document.getElementById('sealing-progress').hidden = true;
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
  clear();
  const receipt = log.parseReceipt(form.elements.receipt.value.trim());
  if (!receipt) return showProblem(form, w.not_a_receipt);
  if (receipt.suite !== 'modern' || log.toHex(receipt.logKey) !== form.dataset.logKey) {
    return showProblem(form, w.other_log);
  }
  // A receipt that fails on its own (not version 1, a bad promise) needs
  // nothing from the service.
  const alone = log.checkReceipt(receipt, [], null, () => null, () => null);
  if (alone.some((c) => c.outcome === 'failed')) return showChecks(form, alone);
  say(text('working'));
  const { heads, inclusion, consistency } = await evidence(receipt);
  const checks = log.checkReceipt(
    receipt,
    heads,
    today(),
    (size) => inclusion.get(size) || null,
    (a, b) => consistency.get(`${a}-${b}`) || null,
  );
  showChecks(form, checks);
  return undefined;
}
