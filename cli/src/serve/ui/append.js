// The append form: a JSON object checked as it is typed, tags and durability, sent to
// POST /v0/pools/{pool}/append. Shown only when the server allows writes.

import { postJson } from './api.js';

const $ = (id) => document.getElementById(id);

/** The object typed in the editor, or the reason it is not one. */
function parse(text) {
  let v;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { error: 'Not valid JSON: ' + e.message };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { error: 'The data must be a JSON object ({…}).' };
  return { value: v };
}

/** Wires the form for `pool`. */
export function setupAppend(pool) {
  const form = $('append-form');
  const data = $('append-data');
  const check = $('append-check');
  const submit = $('append-submit');
  const result = $('append-result');

  const validate = () => {
    const p = parse(data.value);
    check.textContent = p.error || 'Valid JSON object.';
    check.className = p.error ? 'hint bad' : 'hint good';
    data.setAttribute('aria-invalid', String(!!p.error));
    submit.disabled = !!p.error;
    return p;
  };
  data.addEventListener('input', validate);
  data.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const p = validate();
    if (p.error) return;
    const tags = $('append-tags').value.split(',').map((t) => t.trim()).filter(Boolean);
    const body = { data: p.value, tags, durability: $('append-durability').value };
    submit.disabled = true;
    result.className = '';
    result.textContent = 'Appending…';
    try {
      const r = await postJson('/v0/pools/' + encodeURIComponent(pool) + '/append', body);
      result.textContent = `Appended #${r.message.seq}.`;
      result.className = 'good';
    } catch (err) {
      result.textContent = 'Not appended: ' + err.message + (err.hint ? ' — ' + err.hint : '');
      result.className = 'bad';
    } finally {
      submit.disabled = false;
    }
  });
  validate();
}
