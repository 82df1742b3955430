// What every enhanced page shares: the JSON calls to intake, the words
// the server rendered for the script, the progress line, and forms that
// the script takes over (and gives back, on failure, as a message).

const jsonHeaders = { 'Content-Type': 'application/json' };

export function lang() {
  return document.documentElement.lang === 'en' ? 'en' : 'zh-CN';
}

function api(path) {
  return `${path}${path.includes('?') ? '&' : '?'}lang=${lang()}`;
}

export async function call(path, body) {
  const res = await fetch(api(path), body === undefined ? {} : { method: 'POST', headers: jsonHeaders, body: JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  return { status: res.status, data };
}

// What the server rendered for the script: messages in the page's language
// and the templates of the receipt and the status. Taken once, when the
// page loads, as the views replace the part of the page that holds them.
export const rendered = { text: {}, templates: {} };

export function text(key) {
  return rendered.text[key] || '';
}

export function say(message, isError) {
  const line = document.getElementById('sealing-progress');
  if (!line) return;
  line.hidden = false;
  line.className = isError ? 'errors' : 'notice';
  line.textContent = message;
}

export function add(parent, tag, content, attrs) {
  const node = document.createElement(tag);
  if (content !== undefined) node.textContent = content;
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  parent.append(node);
  return node;
}

export function errorMessage(data) {
  const e = data && data.error;
  if (!e) return text('failed');
  const fields = Array.isArray(e.fields) ? e.fields.map((f) => f.message).join(' ') : '';
  return fields ? `${e.message} ${fields}` : e.message;
}

export function enhance(form, handler) {
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const button = form.querySelector('button[type=submit]');
    if (button) button.disabled = true;
    handler(form)
      .catch((e) => say((e && e.message) || text('failed'), true))
      .finally(() => {
        if (button) button.disabled = false;
      });
  });
}

