/* UI pieces shared by the pages: toast, dialogs, buttons, form fields, badges, cards, stat tiles. */

import { $, $$, h } from './dom.js';
import { t } from './i18n.js';

let toastTimer = null;

export function toast(message, kind) {
  const k = kind || 'success';
  let el = document.getElementById('toast');
  if (!el) {
    el = h('div', { id: 'toast', class: 'toast', testid: 'toast', role: 'status', 'aria-live': 'polite' });
    el.addEventListener('click', () => {
      el.hidden = true;
    });
    document.body.appendChild(el);
  }
  el.textContent = message;
  el.setAttribute('data-kind', k);
  el.className = 'toast ' + k;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(
    () => {
      el.hidden = true;
    },
    k === 'error' ? 8000 : 4000,
  );
}

export function toastError(e) {
  toast(e && e.message ? e.message : String(e), 'error');
}

export async function copyText(text) {
  let ok = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      ok = true;
    }
  } catch (_) {
    ok = false;
  }
  if (!ok) {
    const ta = h('textarea', { class: 'offscreen', readonly: true });
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    try {
      ok = document.execCommand('copy');
    } catch (_) {
      ok = false;
    }
    ta.remove();
  }
  toast(ok ? t('common.copied') : t('common.copyFailed'), ok ? 'success' : 'error');
}

/** Opens a dialog; returns its close function. `onClose` runs however it is closed. */
export function openModal(title, body, opts) {
  const o = opts || {};
  const prevFocus = document.activeElement;
  const overlay = h('div', { class: 'modal-overlay' });
  let closed = false;
  const onKey = (e) => {
    if (e.key === 'Escape' && overlay === $$('.modal-overlay').pop()) close();
  };
  function close() {
    if (closed) return;
    closed = true;
    overlay.remove();
    document.removeEventListener('keydown', onKey);
    if (o.onClose) o.onClose();
    if (prevFocus && prevFocus.focus && document.contains(prevFocus)) prevFocus.focus();
  }
  const dialog = h(
    'div',
    { class: 'modal' + (o.wide ? ' wide' : ''), role: 'dialog', 'aria-modal': 'true', 'aria-label': title, testid: o.testid },
    h(
      'div',
      { class: 'modal-head' },
      h('h2', null, title),
      h(
        'button',
        { type: 'button', class: 'icon-btn', testid: 'modal-close', 'aria-label': t('common.close'), onclick: close },
        '×',
      ),
    ),
    h('div', { class: 'modal-body' }, body),
  );
  overlay.appendChild(dialog);
  document.body.appendChild(overlay);
  document.addEventListener('keydown', onKey);
  const first = $('input:not([type=hidden]):not([disabled]), textarea, select, button.primary', dialog);
  if (first) setTimeout(() => first.focus(), 0);
  return close;
}

export function closeAllModals() {
  for (const m of $$('.modal-overlay')) m.remove();
}

/** An in-page confirmation; resolves true on `confirm-ok`. */
export function confirmDialog(message, opts) {
  const o = opts || {};
  return new Promise((resolve) => {
    let answered = false;
    const finish = (v) => {
      if (answered) return;
      answered = true;
      close();
      resolve(v);
    };
    const body = h(
      'div',
      { class: 'confirm' },
      h('p', { class: 'confirm-text', testid: 'confirm-message' }, message),
      h(
        'div',
        { class: 'form-actions' },
        button(t('common.cancel'), 'confirm-cancel', () => finish(false)),
        button(o.ok || t('common.confirm'), 'confirm-ok', () => finish(true), o.danger === false ? 'primary' : 'danger'),
      ),
    );
    const close = openModal(o.title || t('common.confirmTitle'), body, {
      testid: 'confirm-dialog',
      onClose: () => finish(false),
    });
    setTimeout(() => {
      const ok = $('[data-testid="confirm-ok"]');
      if (ok) ok.focus();
    }, 0);
  });
}

export function button(label, testid, onclick, kind, attrs) {
  return h(
    'button',
    Object.assign({ type: 'button', class: 'btn ' + (kind || 'secondary'), testid, onclick }, attrs || {}),
    label,
  );
}

/** The primary submit button of a form (`kind` adds classes, e.g. 'block'). */
export function submitButton(label, testid, kind) {
  return h('button', { type: 'submit', class: 'btn primary' + (kind ? ' ' + kind : ''), testid }, label);
}

/** A form that validates itself (`novalidate`): submitting it (Enter, its submit button) calls `onSubmit` and
 * never navigates. */
export function form(cls, onSubmit, ...children) {
  const onsubmit = (e) => {
    e.preventDefault();
    onSubmit(e);
  };
  return h('form', { class: cls, novalidate: true, onsubmit }, ...children);
}

/**
 * The filter card above a list: `fields` in a grid, then `notes` (help, an error box), then Apply (`${prefix}-apply`)
 * and the other `buttons`. Apply and Enter call `apply`; `before` comes first (a datalist the fields use).
 */
export function filterBar({ prefix, apply, fields, notes, buttons, before }) {
  const applyBtn = submitButton(t('common.apply'), prefix + '-apply');
  const actions = h('div', { class: 'form-actions left' }, applyBtn, buttons);
  return form('filters card', apply, before, h('div', { class: 'filter-grid' }, fields), notes, actions);
}

/** Hides `err`, then hands what `read()` returns to `use`; when `read()` throws, its message shows in `err` instead. */
export function checked(err, read, use) {
  err.hidden = true;
  let value;
  try {
    value = read();
  } catch (ex) {
    return showFormError(err, ex);
  }
  return use(value);
}

/**
 * The submit handler of a form with an error box: the body is read as checked() does, then `send(body)` runs with
 * `submit` busy; a failure shows in `err` and, unless `quiet`, as a toast too.
 */
export function checkedSubmit(err, submit, read, send, quiet) {
  const run = (body) =>
    busy(submit, async () => {
      try {
        await send(body);
      } catch (ex) {
        showFormError(err, ex);
        if (!quiet) toastError(ex);
      }
    });
  return () => checked(err, read, run);
}

/** Disables `btn` while `fn` runs; errors become a toast unless `fn` handles them. */
export async function busy(btn, fn) {
  if (btn) {
    btn.disabled = true;
    btn.classList.add('busy');
  }
  try {
    return await fn();
  } finally {
    if (btn) {
      btn.disabled = false;
      btn.classList.remove('busy');
    }
  }
}

export function input(testid, attrs) {
  return h('input', Object.assign({ class: 'input', testid, type: 'text', autocomplete: 'off' }, attrs || {}));
}

export function textarea(testid, attrs) {
  return h('textarea', Object.assign({ class: 'input', testid, rows: 3, spellcheck: 'false' }, attrs || {}));
}

/** options: [[value, label], ...] */
export function select(testid, options, value, attrs) {
  return h(
    'select',
    Object.assign({ class: 'input', testid, value: value === undefined ? undefined : value }, attrs || {}),
    options.map(([v, l]) => h('option', { value: v }, l)),
  );
}

export function field(label, control, help, cls) {
  return h(
    'label',
    { class: 'field' + (cls ? ' ' + cls : '') },
    h('span', { class: 'field-label' }, label),
    control,
    help ? h('small', { class: 'help' }, help) : null,
  );
}

export function checkField(label, control, help) {
  return h(
    'label',
    { class: 'field check' },
    h('span', { class: 'check-row' }, control, h('span', null, label)),
    help ? h('small', { class: 'help' }, help) : null,
  );
}

/** Checkboxes side by side under one legend: `boxes` is [[label, checkbox], ...]. */
export function checkGroup(legend, boxes, help, cls) {
  return h(
    'fieldset',
    { class: 'field' + (cls ? ' ' + cls : '') },
    h('legend', { class: 'field-label' }, legend),
    h('div', { class: 'check-inline' }, boxes.map(([label, box]) => h('label', { class: 'check-row' }, box, h('span', null, label)))),
    help ? h('small', { class: 'help' }, help) : null,
  );
}

export function checkbox(testid, checked) {
  return h('input', { type: 'checkbox', testid, checked: !!checked });
}

export function formError(testid) {
  return h('div', { class: 'form-error', testid: testid || 'form-error', role: 'alert', hidden: true });
}

export function showFormError(el, e) {
  el.textContent = e && e.message ? e.message : String(e);
  el.hidden = false;
}

export function badge(text, kind, attrs) {
  return h('span', Object.assign({ class: 'badge ' + (kind || '') }, attrs || {}), text);
}

export function loading() {
  return h('div', { class: 'loading', testid: 'loading' }, h('span', { class: 'spinner' }), t('common.loading'));
}

export function errorBox(message) {
  return h('div', { class: 'error-box', testid: 'page-error', role: 'alert' }, message);
}

export function card(title, ...children) {
  return h('section', { class: 'card' }, title ? h('h2', { class: 'card-title' }, title) : null, children);
}

export function pageHead(title, subtitle, ...actions) {
  return h(
    'div',
    { class: 'page-head' },
    h('div', null, h('h1', null, title), subtitle ? h('p', { class: 'subtitle' }, subtitle) : null),
    actions.length ? h('div', { class: 'page-actions' }, actions) : null,
  );
}

export function stat(label, value, testid, raw, sub) {
  return h(
    'div',
    { class: 'stat' },
    h('div', { class: 'stat-label' }, label),
    h('div', { class: 'stat-value', testid, 'data-value': raw === undefined ? undefined : raw }, value),
    sub ? h('div', { class: 'stat-sub' }, sub) : null,
  );
}

export function mono(text, title) {
  return h('code', { class: 'mono', title: title || undefined }, text);
}

export function muted(text) {
  return h('span', { class: 'muted' }, text);
}

export function yesNo(v) {
  return v ? t('common.yes') : t('common.no');
}

export function statusBadge(code) {
  const n = Number(code);
  const kind = n >= 200 && n < 300 ? 'ok' : n >= 400 && n < 500 ? 'warn' : 'err';
  return badge(String(code), kind, { 'data-status': code });
}
