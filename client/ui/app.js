// mnr-client ui: the page. No framework; every text node is built with textContent (never innerHTML),
// so survey notes and server text cannot inject markup. Writes carry X-MNR-Token (cmd_ui.cc).
'use strict';

const TOKEN = document.querySelector('meta[name="mnr-token"]').content;
const SVGNS = 'http://www.w3.org/2000/svg';
let DICT = {en: {}, fr: {}};
let lang = localStorage.getItem('mnr-lang') || ((navigator.language || 'en').startsWith('fr') ? 'fr' : 'en');
let S = null;          // /api/state
let country = null;    // the field office's country shown
let lastSync = null;   // the last sync run's result, shown on the sync page

function t(key, vars) {
  let s = (DICT[lang] && DICT[lang][key]) || DICT.en[key] || key;
  if (vars) for (const k of Object.keys(vars)) s = s.split('{' + k + '}').join(String(vars[k]));
  return s;
}
function L(label) { return label ? (label[lang] || label.en || '') : ''; }

// h('tag', {attr: value, onclick: fn}, child, ...): children are nodes or strings (as text).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// A horizontal bar as inline SVG, filled to `share` (0..1); its text equivalent is beside it.
function bar(share, colour) {
  const svg = document.createElementNS(SVGNS, 'svg');
  svg.setAttribute('viewBox', '0 0 100 10');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const r = document.createElementNS(SVGNS, 'rect');
  r.setAttribute('x', '0'); r.setAttribute('y', '0'); r.setAttribute('height', '10');
  r.setAttribute('width', String(Math.max(0, Math.min(1, share)) * 100));
  r.setAttribute('fill', colour || '#0b5394');
  svg.append(r);
  return h('div', {class: 'bar'}, svg);
}

async function api(method, path, body) {
  const opts = {method, headers: {'X-MNR-Token': TOKEN}, credentials: 'same-origin'};
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  let data = null;
  try { data = await res.json(); } catch (e) { data = {error: res.status + ' ' + res.statusText}; }
  if (!res.ok) throw new Error((data && data.error) || String(res.status));
  return data;
}

function toast(msg) {
  const el = document.getElementById('toast');
  el.textContent = msg;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 5000);
}
function errorBox(e) { return h('p', {class: 'notice bad', role: 'alert'}, t('error', {message: e.message || e})); }

async function loadState() { S = await api('GET', '/api/state'); }

const PAGES = {
  field: ['questionnaire', 'practices', 'sync', 'release'],
  coordinator: ['overview', 'conflicts', 'review', 'audit'],
  auditor: ['audit', 'overview'],
  none: ['questionnaire', 'practices', 'sync'],
};

function currentPage() {
  const pages = PAGES[S.role] || PAGES.none;
  const p = location.hash.replace(/^#\/?/, '').split('?')[0];
  return pages.includes(p) ? p : pages[0];
}

function renderChrome() {
  document.documentElement.lang = lang;
  document.title = t('app_title') + ' — ' + t('page_' + currentPage());
  document.getElementById('app-title').textContent = t('app_title');
  document.getElementById('skip-link').textContent = t('skip');
  document.getElementById('lang-label').textContent = t('language');
  document.getElementById('lang-select').value = lang;
  document.getElementById('who').textContent =
    (S.credential_name || S.device_name) + ' — ' + t('role_' + S.role);
  const nav = document.getElementById('nav');
  nav.setAttribute('aria-label', t('nav_label'));
  nav.replaceChildren(...(PAGES[S.role] || PAGES.none).map(p =>
    h('a', {href: '#' + p, 'aria-current': p === currentPage() ? 'page' : null, 'data-page': p}, t('page_' + p))));
}

async function render(focusMain) {
  renderChrome();
  const main = document.getElementById('main');
  const page = currentPage();
  let content;
  try {
    content = await ({
      questionnaire: pageQuestionnaire, practices: pagePractices, sync: pageSync, release: pageRelease,
      overview: pageOverview, conflicts: pageConflicts, review: pageReview, audit: pageAudit,
    })[page]();
  } catch (e) {
    content = [h('h1', {}, t('page_' + page)), errorBox(e)];
  }
  main.replaceChildren(...[content].flat(Infinity).filter(x => x !== null && x !== undefined && x !== false));
  main.setAttribute('data-page', page);
  if (focusMain) main.focus();
}

// ---------------------------------------------------------------- field office

function ensureCountry() {
  if (!country || !S.countries.some(c => c.code === country)) country = S.countries.length ? S.countries[0].code : null;
}

function countryPicker(onchange) {
  if (S.countries.length <= 1) return null;
  return h('div', {class: 'field'}, h('label', {for: 'country-select'}, t('country')),
    h('select', {id: 'country-select', onchange: e => { country = e.target.value; onchange(); }},
      S.countries.map(c => h('option', {value: c.code, selected: c.code === country}, c.code + ' — ' + c.name))));
}

function progressBlock() {
  const answers = S.answers[country] || {};
  const rows = [];
  for (const d of S.schema.domains) {
    const caps = S.schema.capabilities.filter(c => c.domain === d.id).map(c => c.id);
    const inds = S.schema.indicators.filter(i => caps.includes(i.capability));
    if (!inds.length) continue;
    const done = inds.filter(i => answers[i.id]).length;
    rows.push(h('div', {class: 'progress-row'}, h('span', {id: 'dom-label-' + d.id}, L(d.label)), bar(done / inds.length, '#1e6b34'),
      h('span', {class: 'val', 'data-domain-progress': d.id}, t('answered_of', {n: done, total: inds.length}))));
  }
  const un = S.unanswered[country] || [];
  return h('section', {id: 'progress', 'aria-labelledby': 'progress-h'},
    h('h2', {id: 'progress-h'}, t('progress')),
    h('div', {class: 'progress'}, rows),
    un.length
      ? h('details', {id: 'unanswered'}, h('summary', {}, t('unanswered') + ' (' + un.length + ')'),
          h('ul', {}, un.map(id => {
            const ind = S.schema.indicators.find(i => i.id === id);
            return h('li', {}, h('a', {href: '#questionnaire', onclick: e => { e.preventDefault(); focusIndicator(id); }},
              ind ? L(ind.label) : id));
          })))
      : h('p', {class: 'notice ok'}, t('all_answered')));
}

function focusIndicator(id) {
  const fs = document.querySelector('fieldset[data-indicator="' + id + '"]');
  if (!fs) return;
  fs.scrollIntoView({block: 'start'});
  const first = fs.querySelector('input:checked') || fs.querySelector('input');
  if (first) first.focus();
}

function refreshProgress() {
  const old = document.getElementById('progress');
  if (old) old.replaceWith(progressBlock());
}

function reviewOf(code) { return (S.reviews && S.reviews[code]) || {state: 'draft', queries: []}; }

function queryBox(q) {
  const box = h('div', {class: 'notice', 'data-query': q.id},
    h('strong', {}, q.indicator ? t('query') : t('query_general')), ': ', q.text);
  if (q.reply !== null && q.reply !== undefined) {
    box.append(h('p', {class: 'muted'}, t('replied', {text: q.reply})));
  }
  if (q.open) {
    const id = 'reply-' + q.id;
    const ta = h('textarea', {id, rows: 2});
    const btn = h('button', {type: 'button', class: 'secondary', 'data-action': 'reply', onclick: async () => {
      btn.disabled = true;
      try {
        await api('POST', '/api/reply', {query: q.id, text: ta.value});
        toast(t('reply_saved'));
        await loadState();
        await render(false);
      } catch (e) { box.append(errorBox(e)); btn.disabled = false; }
    }}, t('reply'));
    box.append(h('div', {class: 'field'}, h('label', {for: id}, t('your_reply')), ta), btn);
  }
  return box;
}

function conflictLine(c) {
  return h('div', {class: 'notice' + (c.lost ? ' bad' : ''), 'data-conflict': c.id},
    h('strong', {}, t('conflict_here') + ' ' + c.id), ': ', c.line || (c.candidates || []).map(x => x.shown).join(' | '));
}

function indicatorFieldset(ind) {
  const a = (S.answers[country] || {})[ind.id];
  const review = reviewOf(country);
  const queries = (review.queries || []).filter(q => q.indicator === ind.id);
  const conflicts = (S.conflicts || []).filter(c => c.status === 'open' && c.field === 'answer/' + country + '/' + ind.id);
  const fs = h('fieldset', {class: 'indicator' + (a ? ' answered' : '') + (queries.some(q => q.open) ? ' has-query' : '') +
      (conflicts.length ? ' has-conflict' : ''), 'data-indicator': ind.id, id: 'ind-' + ind.id});
  const legendId = 'lg-' + ind.id;
  fs.append(h('legend', {id: legendId}, L(ind.label)));
  if (L(ind.guidance)) fs.append(h('details', {}, h('summary', {}, t('how_to_answer')), h('p', {class: 'guidance', id: 'gd-' + ind.id}, L(ind.guidance))));
  const status = h('div', {class: 'saved', 'aria-live': 'polite', 'data-status': ind.id});
  const noteId = 'note-' + ind.id;
  const note = h('textarea', {id: noteId, name: 'note-' + ind.id, rows: 2, maxlength: 16000});
  note.value = a ? a.note : '';
  const choices = h('div', {class: 'choices', role: 'radiogroup', 'aria-labelledby': legendId});
  for (const v of ['yes', 'partial', 'no', 'unknown']) {
    const id = 'ans-' + ind.id + '-' + v;
    const input = h('input', {type: 'radio', id, name: 'ans-' + ind.id, value: v, checked: a && a.answer === v,
      'aria-describedby': L(ind.guidance) ? 'gd-' + ind.id : null});
    input.addEventListener('change', () => save());
    choices.append(h('label', {for: id}, input, t(v)));
  }
  async function save() {
    const chosen = fs.querySelector('input[type=radio]:checked');
    if (!chosen) { status.textContent = t('choose_first'); status.className = 'saved error'; return; }
    status.textContent = t('saving'); status.className = 'saved';
    try {
      const r = await api('POST', '/api/answer', {country, indicator: ind.id, answer: chosen.value, note: note.value});
      S.answers[country] = S.answers[country] || {};
      S.answers[country][ind.id] = {answer: chosen.value, note: note.value};
      S.unanswered[country] = r.unanswered;
      fs.classList.add('answered');
      status.textContent = t('saved'); status.className = 'saved';
      fs.setAttribute('data-saved', String((Number(fs.getAttribute('data-saved')) || 0) + 1));
      refreshProgress();
    } catch (e) { status.textContent = t('error', {message: e.message}); status.className = 'saved error'; }
  }
  note.addEventListener('change', () => save());
  fs.append(choices, h('div', {class: 'field'}, h('label', {for: noteId}, t('note')), note), status);
  for (const q of queries) fs.append(queryBox(q));
  for (const c of conflicts) fs.append(conflictLine(c));
  fs.append(attachmentsBlock(fs, 'indicator', ind.id));
  return fs;
}

// ---- evidence files (attachments) on an indicator or a practice entry: listed, opened, removed, and
// attached by dropping a file anywhere on it or choosing one (keyboard). The bytes go as they are; the
// store sniffs their type and says what it refuses.

function sizeText(n) {
  if (n < 1024) return t('size_b', {n});
  if (n < 1048576) return t('size_kib', {n: Math.ceil(n / 1024)});
  return t('size_mib', {n: (n / 1048576).toLocaleString(lang === 'fr' ? 'fr-FR' : 'en-GB', {minimumFractionDigits: 1, maximumFractionDigits: 1})});
}

function typeLabel(mime) { return (DICT[lang] && DICT[lang]['type_' + mime]) || DICT.en['type_' + mime] || mime; }

function whereText(a) {
  if (a.where === 'refused') return t('where_refused', {reason: a.refusal});
  if (a.where === 'arriving') return t('where_arriving', {held: sizeText(a.held), size: sizeText(a.size)});
  return t('where_' + a.where);
}

function attachmentUrl(a) { return '/api/attachment?field=' + encodeURIComponent(a.field); }

function attachmentItem(a, rerender) {
  const li = h('li', {'data-attachment': a.field, 'data-where': a.where});
  const msg = h('div', {'aria-live': 'polite'});
  let open;
  if (a.where === 'server_only' || a.where === 'arriving') {
    // Fetched first, in the page, so that a failure is said here; then the link is offered.
    open = h('button', {type: 'button', class: 'secondary', 'data-action': 'fetch-attachment',
      'aria-label': t('fetch_open_of', {title: a.title}), onclick: async () => {
        open.disabled = true;
        msg.replaceChildren(h('p', {class: 'notice'}, t('fetching')));
        try {
          const r = await api('POST', '/api/attachments', {action: 'fetch', field: a.field});
          toast(t('fetched', {title: r.attachment.title}));
          await loadState();
          rerender(a.field);
        } catch (e) { msg.replaceChildren(errorBox(e)); open.disabled = false; }
      }}, t('fetch_open'));
  } else {
    open = h('a', {href: attachmentUrl(a), target: '_blank', rel: 'noopener noreferrer', 'data-action': 'open-attachment',
      'aria-label': t('open_of', {title: a.title})}, t('open'));
  }
  const rm = h('button', {type: 'button', class: 'danger', 'data-action': 'remove-attachment',
    'aria-label': t('remove_of', {title: a.title}), onclick: async () => {
      if (!confirm(t('remove_attachment_confirm', {title: a.title}))) return;
      rm.disabled = true;
      try {
        await api('POST', '/api/attachments', {action: 'remove', field: a.field});
        toast(t('attachment_removed', {title: a.title}));
        await loadState();
        rerender(null);
      } catch (e) { msg.replaceChildren(errorBox(e)); rm.disabled = false; }
    }}, t('remove'));
  li.append(h('span', {class: 'att-title'}, a.title), ' ',
    h('span', {class: 'muted'}, typeLabel(a.media_type) + ' · ' + sizeText(a.size) + ' · '),
    h('span', {class: 'att-where' + (a.where === 'refused' ? ' error' : '')}, whereText(a)),
    h('span', {class: 'att-actions'}, open, rm), msg);
  return li;
}

function attachmentsBlock(dropTarget, target, targetId) {
  const key = target + '-' + targetId;
  // In the app's language, also inside a practice card written in another.
  const box = h('div', {class: 'attachments', 'data-attachments': targetId, lang});
  const headId = 'att-h-' + key;
  const list = h('ul', {class: 'attachment-list', 'aria-labelledby': headId});
  const msg = h('div', {'aria-live': 'polite', class: 'att-msg'});
  const file = h('input', {type: 'file', id: 'att-file-' + key, 'data-action': 'choose-file'});
  const title = h('input', {type: 'text', id: 'att-title-' + key, maxlength: 200});
  let autoTitle = '';  // the title filled in from the file's name, replaced when another file is chosen
  function chosen() {
    const f = file.files && file.files[0];
    if (f && (!title.value || title.value === autoTitle)) { title.value = f.name; autoTitle = f.name; }
    msg.replaceChildren(f ? h('p', {class: 'muted'}, t('file_chosen', {name: f.name, size: sizeText(f.size)})) : '');
  }
  function fill() {
    const mine = (S.attachments || []).filter(a => a.country === country && a.target === target && a.target_id === targetId);
    list.replaceChildren(...mine.map(a => attachmentItem(a, focusField => {
      fill();
      const again = focusField && list.querySelector('li[data-attachment="' + CSS.escape(focusField) + '"] [data-action=open-attachment]');
      if (again) again.focus();
      else title.focus();
    })));
    list.hidden = !mine.length;
    none.hidden = !!mine.length;
  }
  const none = h('p', {class: 'muted'}, t('no_attachments'));
  file.addEventListener('change', chosen);
  const attach = h('button', {type: 'button', class: 'secondary', 'data-action': 'attach', onclick: async () => {
    const f = file.files && file.files[0];
    if (!f) { msg.replaceChildren(errorBox(t(target === 'practice' ? 'choose_file_first_practice' : 'choose_file_first'))); return; }
    const limit = S.attachment_limit || 20971520;
    if (f.size > limit) {
      msg.replaceChildren(errorBox(t('file_too_large', {name: f.name, size: sizeText(f.size), max: sizeText(limit)})));
      return;
    }
    attach.disabled = true;
    msg.replaceChildren(h('p', {class: 'muted'}, t('attaching')));
    try {
      const q = new URLSearchParams({country, target, id: targetId, name: f.name, title: title.value.trim()});
      const res = await fetch('/api/attach?' + q.toString(), {method: 'POST', credentials: 'same-origin',
        headers: {'X-MNR-Token': TOKEN, 'Content-Type': 'application/octet-stream'}, body: f});
      let data = null;
      try { data = await res.json(); } catch (e) { data = {error: res.status + ' ' + res.statusText}; }
      if (!res.ok) throw new Error((data && data.error) || String(res.status));
      S.attachments = (S.attachments || []).filter(a => a.field !== data.attachment.field).concat([data.attachment]);
      file.value = ''; title.value = ''; autoTitle = '';
      fill();
      msg.replaceChildren(h('p', {class: 'saved'}, t('attached', {title: data.attachment.title})));
    } catch (e) { msg.replaceChildren(errorBox(e)); }
    attach.disabled = false;
  }}, t('attach'));
  // Dropping a file anywhere on the indicator chooses it, as the file input would.
  dropTarget.addEventListener('dragover', e => {
    if (!e.dataTransfer || ![...e.dataTransfer.types].includes('Files')) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    dropTarget.classList.add('dropping');
  });
  dropTarget.addEventListener('dragleave', e => { if (!dropTarget.contains(e.relatedTarget)) dropTarget.classList.remove('dropping'); });
  dropTarget.addEventListener('drop', e => {
    dropTarget.classList.remove('dropping');
    if (!e.dataTransfer || !e.dataTransfer.files.length) return;
    e.preventDefault();
    file.files = e.dataTransfer.files;
    chosen();
    title.focus();
  });
  fill();
  box.append(h('h4', {id: headId}, t('attachments')), none, list,
    h('div', {class: 'dropzone'},
      h('p', {class: 'muted', id: 'att-help-' + key}, t(target === 'practice' ? 'drop_help_practice' : 'drop_help', {types: t('accepted_types'), max: sizeText(S.attachment_limit || 20971520)})),
      h('div', {class: 'row'},
        h('div', {class: 'field'}, h('label', {for: 'att-file-' + key}, t('file')), file),
        h('div', {class: 'field'}, h('label', {for: 'att-title-' + key}, t('file_title')), title),
        attach)),
    msg);
  file.setAttribute('aria-describedby', 'att-help-' + key);
  return box;
}

async function pageQuestionnaire() {
  ensureCountry();
  if (!country) return [h('h1', {}, t('page_questionnaire'))];
  const review = reviewOf(country);
  const submitBtn = h('button', {type: 'button', id: 'submit', 'aria-describedby': 'submit-help', onclick: async () => {
    submitBtn.disabled = true;
    try {
      await api('POST', '/api/submit', {country});
      toast(t('submitted_ok'));
      await loadState();
      await render(false);
    } catch (e) { submitBtn.after(errorBox(e)); submitBtn.disabled = false; }
  }}, t('submit'));
  const general = (review.queries || []).filter(q => !q.indicator);
  const toc = h('nav', {class: 'toc', 'aria-label': t('contents')}, h('h2', {}, t('contents')),
    h('ol', {}, S.schema.domains.map(d => h('li', {}, h('a', {href: '#questionnaire', onclick: e => {
      e.preventDefault();
      const el = document.getElementById('dom-' + d.id);
      if (el) { el.scrollIntoView(); el.focus(); }
    }}, L(d.label))))));
  const body = h('div', {});
  for (const d of S.schema.domains) {
    body.append(h('h2', {id: 'dom-' + d.id, tabindex: '-1'}, L(d.label)));
    for (const c of S.schema.capabilities.filter(c => c.domain === d.id)) {
      const inds = S.schema.indicators.filter(i => i.capability === c.id);
      if (!inds.length) continue;
      body.append(h('h3', {}, c.id + '. ' + L(c.label)));
      if (L(c.guidance)) body.append(h('p', {class: 'guidance'}, L(c.guidance)));
      for (const i of inds) body.append(indicatorFieldset(i));
    }
  }
  return [
    h('h1', {}, t('page_questionnaire') + ' — ' + country),
    countryPicker(() => render(false)),
    h('p', {}, h('span', {class: 'pill ' + review.state, 'data-review-state': review.state},
      t('review_state', {state: t('state_' + review.state)}))),
    general.map(queryBox),
    h('div', {class: 'row'}, submitBtn, h('span', {id: 'submit-help', class: 'muted'}, t('submit_help'))),
    progressBlock(),
    h('div', {class: 'layout'}, toc, body),
  ];
}

function practiceForm(entry, done) {
  const p = entry || {capability: 1, kind: 'good_practice', title: '', text: '', lang};
  const pre = entry ? 'pe-' + entry.id.slice(0, 8) + '-' : 'pa-';
  const cap = h('select', {id: pre + 'cap'}, S.schema.capabilities.map(c =>
    h('option', {value: c.id, selected: c.id === p.capability}, c.id + '. ' + L(c.label))));
  const kind = h('select', {id: pre + 'kind'}, ['good_practice', 'challenge', 'lesson_learned'].map(k =>
    h('option', {value: k, selected: k === p.kind}, t('kind_' + k))));
  const elang = h('select', {id: pre + 'lang'}, [['en', 'English'], ['fr', 'Français'], ['es', 'Español'], ['ar', 'العربية'], ['pt', 'Português']]
    .map(([v, n]) => h('option', {value: v, selected: v === p.lang, lang: v}, n)));
  const title = h('input', {type: 'text', id: pre + 'title', maxlength: 300});
  title.value = p.title;
  const text = h('textarea', {id: pre + 'text', rows: 4});
  text.value = p.text;
  const msg = h('div', {'aria-live': 'polite'});
  const form = h('form', {class: 'card', 'data-form': entry ? 'edit' : 'add', onsubmit: async e => {
    e.preventDefault();
    const body = {capability: Number(cap.value), kind: kind.value, title: title.value, text: text.value, lang: elang.value};
    try {
      if (entry) await api('POST', '/api/practice', Object.assign({action: 'edit', id: entry.id}, body));
      else await api('POST', '/api/practice', Object.assign({action: 'add', country}, body));
      toast(entry ? t('saved') : t('added'));
      await loadState();
      done();
    } catch (err) { msg.replaceChildren(errorBox(err)); }
  }},
  h('h3', {}, entry ? t('practice_edit') : t('practice_add')),
  h('div', {class: 'row'},
    h('div', {class: 'field'}, h('label', {for: pre + 'cap'}, t('capability')), cap),
    h('div', {class: 'field'}, h('label', {for: pre + 'kind'}, t('kind')), kind),
    h('div', {class: 'field'}, h('label', {for: pre + 'lang'}, t('entry_lang')), elang)),
  h('div', {class: 'field'}, h('label', {for: pre + 'title'}, t('title')), title),
  h('div', {class: 'field'}, h('label', {for: pre + 'text'}, t('text')), text),
  msg,
  h('div', {class: 'row'}, h('button', {type: 'submit'}, t('save')),
    entry ? h('button', {type: 'button', class: 'secondary', onclick: () => done()}, t('cancel')) : null));
  return form;
}

async function pagePractices() {
  ensureCountry();
  const list = h('div', {class: 'cards', id: 'practice-list'});
  const mine = (S.practices || []).filter(p => p.country === country);
  const rerender = () => render(false);
  for (const p of mine) {
    const capability = S.schema.capabilities.find(c => c.id === p.capability);
    const card = h('article', {class: 'card', 'data-practice': p.id, lang: p.lang},
      h('h3', {}, p.title),
      h('p', {class: 'muted', lang}, t('kind_' + p.kind) + ' · ' + p.capability + '. ' + (capability ? L(capability.label) : '') + ' · ' + p.lang),
      h('p', {}, p.text));
    const edit = h('button', {type: 'button', class: 'secondary', lang, onclick: () => card.replaceWith(practiceForm(p, rerender))}, t('edit'));
    const rm = h('button', {type: 'button', class: 'danger', lang, onclick: async () => {
      if (!confirm(t('remove_confirm', {title: p.title}))) return;
      try {
        await api('POST', '/api/practice', {action: 'remove', id: p.id});
        toast(t('removed'));
        await loadState();
        rerender();
      } catch (e) { card.append(errorBox(e)); }
    }}, t('remove'));
    card.append(h('div', {class: 'row'}, edit, rm), attachmentsBlock(card, 'practice', p.id));
    list.append(card);
  }
  return [h('h1', {}, t('practices_title') + ' — ' + country), countryPicker(rerender),
    mine.length ? list : h('p', {class: 'muted'}, t('no_practices')),
    h('h2', {}, t('practice_add')), practiceForm(null, rerender)];
}

function syncSentence(run) {
  const r = run.result || '';
  if (run.exit === 0) {
    if (/^up to date/.test(r)) return {cls: 'ok', text: t('sync_uptodate')};
    const pushed = (r.match(/pushed (\d+)/) || [0, 0])[1];
    const pulled = (r.match(/pulled (\d+)/) || [0, 0])[1];
    const rel = r.match(/received dataset release (\S+)/);
    return {cls: 'ok', text: t('sync_ok', {pushed, pulled}) + (rel ? ' ' + t('sync_release', {label: rel[1]}) : '')};
  }
  const reason = r.replace(/^(failed|refused): /, '');
  if (run.exit === 3) return {cls: 'bad', text: t('sync_down')};
  if (run.exit === 4) return {cls: 'bad', text: t('sync_refused', {reason})};
  return {cls: 'bad', text: t('sync_failed', {reason})};
}

function fmtTime(secs) {
  if (!secs) return t('never');
  return new Date(secs * 1000).toLocaleString(lang === 'fr' ? 'fr-FR' : 'en-GB');
}

async function pageSync() {
  const result = h('div', {id: 'sync-result', 'aria-live': 'polite'});
  if (lastSync) showSync(result, lastSync);
  const btn = h('button', {type: 'button', id: 'sync-now', onclick: async () => {
    btn.disabled = true;
    result.replaceChildren(h('p', {class: 'notice'}, t('syncing')));
    try {
      await api('POST', '/api/sync', {});
      let run;
      for (;;) {
        await new Promise(r => setTimeout(r, 400));
        run = await api('GET', '/api/sync');
        if (!run.running) break;
      }
      lastSync = run;
      await loadState();
      await render(false);
    } catch (e) { result.replaceChildren(errorBox(e)); btn.disabled = false; }
  }}, t('sync_now'));
  const st = S.sync;
  const open = (S.conflicts || []).filter(c => c.status === 'open');
  const bundlePath = h('input', {type: 'text', id: 'bundle-path', size: 40,
    value: S.store.replace(/[^/]*$/, '') + (S.device_name || 'mnr').replace(/[^A-Za-z0-9_-]+/g, '-') + '-' +
      new Date().toISOString().slice(0, 10) + '.mnrb'});
  const bundleMsg = h('div', {id: 'bundle-result', 'aria-live': 'polite'});
  const bundleBtn = h('button', {type: 'button', id: 'bundle-write', onclick: async () => {
    bundleBtn.disabled = true;
    try {
      const r = await api('POST', '/api/bundle', {path: bundlePath.value});
      bundleMsg.replaceChildren(h('p', {class: 'notice ok'}, r.message));
    } catch (e) { bundleMsg.replaceChildren(errorBox(e)); }
    bundleBtn.disabled = false;
  }}, t('bundle_write'));
  return [
    h('h1', {}, t('sync_title')),
    S.role === 'none' ? h('p', {class: 'notice bad'}, t('offline_role')) : null,
    h('p', {}, t('unsynced', {n: st.unsynced + st.outbox_unacked})),
    h('p', {class: 'muted'}, st.last_sync_at ? t('last_sync', {when: fmtTime(st.last_sync_at), result: st.last_sync_result}) : t('never_synced')),
    btn, result,
    h('h2', {}, t('open_conflicts')),
    open.length ? open.map(conflictLine) : h('p', {class: 'muted'}, t('no_conflicts')),
    h('h2', {}, t('bundle_title')),
    h('div', {class: 'row'}, h('div', {class: 'field'}, h('label', {for: 'bundle-path'}, t('bundle_path')), bundlePath), bundleBtn),
    h('p', {class: 'muted'}, t('bundle_help')),
    bundleMsg,
    h('h2', {}, t('receipts_title')),
    await receiptsSummary(),
  ];
}

// The server's signed receipts this store holds, each checked by mnr-client against the CA of the
// store's credential: the office's proof that the server logged what it sent.
async function receiptsSummary() {
  const r = await api('GET', '/api/receipts');
  const box = h('div', {id: 'receipts', 'data-receipts': r.count, 'data-receipts-verified': r.verified});
  if (!r.count) {
    box.append(h('p', {class: 'muted'}, t('receipts_none')));
    return box;
  }
  box.append(h('p', {class: 'notice' + (r.verified === r.count ? ' ok' : ' bad')},
    r.verified === r.count ? t('receipts_ok', {n: r.count}) : t('receipts_bad', {bad: r.count - r.verified, n: r.count})));
  for (const f of r.failed) box.append(h('p', {class: 'error'}, t('receipt_failed', {seq: f.outbox_seq, why: f.error})));
  box.append(h('p', {class: 'muted'}, t('receipts_newest', {size: r.newest.tree_size, when: fmtTime(r.newest.signed_at)})));
  return box;
}

function showSync(box, run) {
  const s = syncSentence(run);
  box.replaceChildren(h('p', {class: 'notice ' + s.cls, 'data-sync-exit': run.exit}, s.text));
  if (run.lost) box.append(h('p', {class: 'notice bad'}, t('lost_edits', {n: run.lost})));
  if (run.news && run.news.length) box.append(h('ul', {}, run.news.map(n => h('li', {}, n))));
}

function shareOf(row) {
  if (!row) return null;
  const yes = Number(row.n_yes), n = Number(row.n_responding);
  return n ? {yes, n, share: yes / n} : null;
}

async function pageRelease() {
  ensureCountry();
  const R = S.release;
  if (!R) return [h('h1', {}, t('release_title')), h('p', {class: 'muted'}, t('no_release'))];
  const group = (R.income_groups && R.income_groups[country]) || ((S.countries.find(c => c.code === country) || {}).income_group) || '';
  const find = (ind, g) => R.rows.find(r => r.indicator === ind && r.group === g);
  const out = [h('h1', {}, t('release_title')), h('p', {class: 'muted'}, t('release_label', {label: R.label})), countryPicker(() => render(false))];
  for (const ind of S.schema.indicators) {
    const all = shareOf(find(ind.id, 'all'));
    if (!all) continue;
    const mine = (S.answers[country] || {})[ind.id];
    const lines = [];
    const line = (label, s) => h('div', {class: 'line'}, h('span', {}, label), bar(s.share),
      h('span', {class: 'val'}, t('share_yes', {yes: s.yes, n: s.n})));
    const g = group ? shareOf(find(ind.id, group)) : null;
    if (g) lines.push(line(t('group', {group}), g));
    lines.push(line(t('all_countries'), all));
    out.push(h('section', {class: 'chart', 'data-chart': ind.id},
      h('h2', {}, L(ind.label)),
      h('p', {}, h('strong', {}, t('your_answer') + ': '), mine ? t(mine.answer) : '—'),
      lines));
  }
  return out;
}

// ---------------------------------------------------------------- coordinator

async function pageOverview() {
  const data = await api('GET', '/api/overview');
  const countries = data.countries || [];
  const stateSel = h('select', {id: 'f-state'}, [h('option', {value: ''}, t('any')),
    ...['draft', 'submitted', 'returned', 'approved'].map(s => h('option', {value: s}, t('state_' + s)))]);
  const text = h('input', {type: 'search', id: 'f-text'});
  const open = h('input', {type: 'checkbox', id: 'f-open'});
  const tbody = h('tbody', {});
  function fill() {
    const q = text.value.trim().toLowerCase();
    tbody.replaceChildren(...countries.filter(c =>
      (!stateSel.value || c.review.state === stateSel.value) &&
      (!q || (c.country + ' ' + c.name).toLowerCase().includes(q)) &&
      (!open.checked || c.open_conflicts > 0 || c.open_queries > 0)).map(c => {
      const last = Math.max(0, ...(c.devices || []).map(d => d.last_sync_at || 0));
      return h('tr', {'data-country': c.country},
        h('th', {scope: 'row'}, c.country + ' — ' + c.name),
        h('td', {}, t('answered_of', {n: c.answered, total: c.indicators}), bar(c.indicators ? c.answered / c.indicators : 0, '#1e6b34')),
        h('td', {}, h('span', {class: 'pill ' + c.review.state, 'data-review-state': c.review.state}, t('state_' + c.review.state))),
        h('td', {}, last ? fmtTime(last) : t('never')),
        h('td', {}, String(c.open_conflicts)),
        h('td', {}, String(c.open_queries)));
    }));
  }
  for (const el of [stateSel, text, open]) el.addEventListener('input', fill);
  fill();
  return [h('h1', {}, t('overview_title')),
    h('div', {class: 'filters', role: 'search'},
      h('div', {class: 'field'}, h('label', {for: 'f-state'}, t('filter_state')), stateSel),
      h('div', {class: 'field'}, h('label', {for: 'f-text'}, t('filter_text')), text),
      h('div', {class: 'field'}, h('label', {for: 'f-open'}, open, ' ', t('filter_conflicts')))),
    h('div', {class: 'table-wrap'}, h('table', {},
      h('thead', {}, h('tr', {}, ['col_country', 'col_answers', 'col_state', 'col_last_sync', 'col_conflicts', 'col_queries'].map(k => h('th', {scope: 'col'}, t(k))))),
      tbody))];
}

function fieldLabel(field) {
  const parts = field.split('/');
  if (parts[0] === 'answer' && S.schema) {
    const ind = S.schema.indicators.find(i => i.id === parts[2]);
    if (ind) return parts[1] + ' — ' + L(ind.label);
  }
  return field;
}

async function pageConflicts() {
  const list = await api('GET', '/api/conflicts');
  const out = [h('h1', {}, t('conflicts_title'))];
  if (!list.length) out.push(h('p', {class: 'muted'}, t('no_conflicts')));
  for (const c of list) {
    const name = 'pick-' + c.id;
    const cands = h('div', {class: 'candidates'});
    (c.candidates || []).forEach((cand, i) => {
      const id = name + '-' + (i + 1);
      const current = cand.version === c.winner_version;
      cands.append(h('div', {class: 'candidate' + (current ? ' current' : ''), 'data-candidate': i + 1},
        h('h3', {}, t('candidate_n', {n: i + 1}) + (current ? ' (' + t('current_value') + ')' : '')),
        h('p', {}, cand.shown || t('no_value')),
        h('p', {class: 'muted'}, t('by', {who: cand.author_name || cand.author || ''})),
        h('label', {for: id}, h('input', {type: 'radio', name, id, value: i + 1}), ' ', t('pick'))));
    });
    const isAnswer = c.field.startsWith('answer/');
    const valueSel = isAnswer
      ? h('select', {id: 'nv-' + c.id}, [h('option', {value: ''}, '—'), ...['yes', 'partial', 'no', 'unknown'].map(v => h('option', {value: v}, t(v)))])
      : h('input', {type: 'text', id: 'nv-' + c.id});
    const note = h('input', {type: 'text', id: 'nn-' + c.id});
    const reason = h('input', {type: 'text', id: 'rs-' + c.id, required: true});
    const msg = h('div', {'aria-live': 'polite'});
    const form = h('form', {class: 'card', 'data-conflict': c.id, onsubmit: async e => {
      e.preventDefault();
      const picked = form.querySelector('input[name="' + name + '"]:checked');
      const body = {id: c.id, reason: reason.value};
      if (picked) body.pick = Number(picked.value);
      else if (valueSel.value) { body.value = valueSel.value; if (note.value) body.note = note.value; }
      try {
        await api('POST', '/api/resolve', body);
        toast(t('resolved', {id: c.id}));
        await render(false);
      } catch (err) { msg.replaceChildren(errorBox(err)); }
    }},
    h('h2', {}, t('conflict_n', {id: c.id, field: fieldLabel(c.field)})),
    cands,
    h('div', {class: 'row'},
      h('div', {class: 'field'}, h('label', {for: 'nv-' + c.id}, t('new_value')), valueSel),
      isAnswer ? h('div', {class: 'field'}, h('label', {for: 'nn-' + c.id}, t('new_note')), note) : null),
    h('div', {class: 'field'}, h('label', {for: 'rs-' + c.id}, t('reason')), reason),
    msg,
    h('button', {type: 'submit'}, t('resolve')));
    out.push(form);
  }
  return out;
}

async function pageReview() {
  const data = await api('GET', '/api/overview');
  const countries = data.countries || [];
  const sel = h('select', {id: 'rv-country'}, countries.map(c =>
    h('option', {value: c.country}, c.country + ' — ' + c.name + ' (' + t('state_' + c.review.state) + ')')));
  const comment = h('textarea', {id: 'rv-comment', rows: 3});
  // Each indicator queried may carry a text of its own; left empty, its query says the comment above.
  const inds = h('div', {class: 'queries', id: 'rv-indicators', role: 'group', 'aria-labelledby': 'rv-ind-h'},
    S.schema.indicators.map(i => {
      const text = h('input', {type: 'text', id: 'rv-q-' + i.id, 'data-indicator': i.id, hidden: true,
        'aria-label': t('query_for', {indicator: L(i.label)}), placeholder: t('query_same_as_comment')});
      const box = h('input', {type: 'checkbox', id: 'rv-i-' + i.id, value: i.id});
      box.addEventListener('change', () => { text.hidden = !box.checked; if (box.checked) text.focus(); });
      return h('div', {class: 'query-choice'}, h('label', {for: 'rv-i-' + i.id}, box, L(i.label)), text);
    }));
  const msg = h('div', {'aria-live': 'polite', id: 'rv-result'});
  const queries = h('div', {});
  function showQueries() {
    const c = countries.find(x => x.country === sel.value);
    queries.replaceChildren(...(c ? c.queries : []).map(q => h('div', {class: 'notice' + (q.open ? '' : ' ok'), 'data-query': q.id},
      h('strong', {}, (q.indicator ? fieldLabel('answer/' + c.country + '/' + q.indicator) : t('query_general')) + ': '), q.text,
      q.reply !== null ? h('p', {}, t('replied', {text: q.reply})) : null)));
  }
  sel.addEventListener('change', showQueries);
  showQueries();
  async function act(action) {
    const body = {action, country: sel.value, comment: comment.value};
    if (action === 'return') {
      body.indicators = [...inds.querySelectorAll('input[type=checkbox]:checked')].map(i => i.value);
      body.comments = {};
      for (const id of body.indicators) {
        const own = inds.querySelector('#rv-q-' + id).value.trim();
        if (own) body.comments[id] = own;
      }
    }
    try {
      await api('POST', '/api/review', body);
      toast(t(action === 'approve' ? 'approved_ok' : 'returned_ok', {country: sel.value}));
      await render(false);
    } catch (e) { msg.replaceChildren(errorBox(e)); }
  }
  return [h('h1', {}, t('review_title')),
    h('div', {class: 'field'}, h('label', {for: 'rv-country'}, t('country')), sel),
    queries,
    h('div', {class: 'field'}, h('label', {for: 'rv-comment'}, t('comment')), comment),
    h('details', {}, h('summary', {id: 'rv-ind-h'}, t('indicators_queried')), inds),
    msg,
    h('div', {class: 'row'},
      h('button', {type: 'button', id: 'rv-approve', onclick: () => act('approve')}, t('approve')),
      h('button', {type: 'button', id: 'rv-return', class: 'secondary', onclick: () => act('return')}, t('return')))];
}

// ---------------------------------------------------------------- auditor

async function pageAudit() {
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const inputs = {};
  const filters = h('form', {class: 'filters', role: 'search', onsubmit: e => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, el] of Object.entries(inputs)) if (el.value) q.set(k, el.value);
    location.hash = '#audit?' + q.toString();
  }});
  for (const [k, label] of [['country', 'country'], ['indicator', 'indicator'], ['device', 'device']]) {
    inputs[k] = h('input', {type: 'text', id: 'au-' + k, size: 14, value: params.get(k) || ''});
    filters.append(h('div', {class: 'field'}, h('label', {for: 'au-' + k}, t(label)), inputs[k]));
  }
  filters.append(h('button', {type: 'submit'}, t('apply_filters')));
  const data = await api('GET', '/api/audit?' + params.toString());
  // Each entry's proof is checked by mnr-client against this store's own CA, on request.
  const proofCell = r => {
    const cell = h('td', {});
    const btn = h('button', {type: 'button', class: 'secondary', 'data-action': 'proof', 'aria-label': t('check_proof_of', {n: r.index}), onclick: async () => {
      btn.disabled = true;
      try {
        const p = await api('GET', '/api/audit/proof?index=' + r.index);
        cell.setAttribute('data-proof', p.proved ? 'ok' : 'failed');
        cell.replaceChildren(p.proved
          ? h('span', {class: 'ok'}, t('proof_ok', {n: p.tree_size, when: fmtTime(p.head_signed_at)}))
          : h('span', {class: 'error'}, t('proof_failed', {why: p.error})));
      } catch (e) { cell.replaceChildren(errorBox(e)); }
    }}, t('check_proof'));
    cell.append(btn);
    return cell;
  };
  const rows = data.records.map(r => h('tr', {'data-index': r.index},
    h('td', {}, '#' + r.index + ' ' + fmtTime(r.recorded_at)),
    h('td', {}, (r.name || r.credential || '') + (r.device_name ? ' / ' + r.device_name : '')),
    h('td', {}, r.field ? fieldLabel(r.field) : (r.action || r.kind || '')),
    h('td', {}, r.change || r.summary || ''),
    proofCell(r)));
  return [h('h1', {}, t('audit_title')), filters,
    data.truncated ? h('p', {class: 'notice'}, t('truncated')) : null,
    rows.length ? h('div', {class: 'table-wrap'}, h('table', {},
      h('thead', {}, h('tr', {}, ['col_when', 'col_who', 'col_field', 'col_change', 'col_proof'].map(k => h('th', {scope: 'col'}, t(k))))),
      h('tbody', {}, rows))) : h('p', {class: 'muted'}, t('no_records'))];
}

// ---------------------------------------------------------------- start

async function start() {
  DICT = await (await fetch('/i18n.json', {credentials: 'same-origin'})).json();
  const sel = document.getElementById('lang-select');
  sel.addEventListener('change', () => {
    lang = sel.value;
    localStorage.setItem('mnr-lang', lang);
    render(false);
  });
  window.addEventListener('hashchange', () => render(true));
  // A file dropped beside an indicator is not opened in place of the app.
  window.addEventListener('dragover', e => e.preventDefault());
  window.addEventListener('drop', e => e.preventDefault());
  try {
    await loadState();
  } catch (e) {
    document.getElementById('main').replaceChildren(errorBox(e));
    return;
  }
  await render(false);
  document.body.setAttribute('data-ready', '1');
}

start();
