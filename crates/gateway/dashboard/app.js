/* Tollgate dashboard: a single-page app in plain JavaScript (ES2020), no build step, no dependencies.
 *
 * Sections:
 *   1. DOM helpers           small element builders; text always goes through textContent
 *   2. i18n helpers          t(), language choice and toggle (strings live in i18n.js)
 *   3. Formatting / parsing  money in integer micro-units, times, lists
 *   4. API client            fetch wrapper: cookie session, CSRF header, OpenAI-shaped errors
 *   5. UI components         toast, modal, confirm dialog, tables, pager, form fields
 *   6. Shell and router      top bar, navigation, hash routes and access rules
 *   7. Pages                 one render function per page
 *   8. Boot
 */
(function () {
  'use strict';

  // =====================================================================================================
  // 1. DOM helpers
  // =====================================================================================================

  const SVG_NS = 'http://www.w3.org/2000/svg';
  const PROPS = new Set(['checked', 'disabled', 'selected', 'readOnly', 'hidden', 'multiple', 'required']);

  /** Appends children: nodes as they are, strings and numbers as text, arrays flattened, null/false skipped. */
  function append(el, children) {
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      if (Array.isArray(c)) append(el, c);
      else if (c instanceof Node) el.appendChild(c);
      else el.appendChild(document.createTextNode(String(c)));
    }
    return el;
  }

  function setAttrs(el, attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined) continue;
      if (k === 'class') el.setAttribute('class', v);
      else if (k === 'testid') el.setAttribute('data-testid', v);
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'value') el.value = v;
      else if (PROPS.has(k)) el[k] = !!v;
      else if (v === false) continue;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }

  /** h('button', {class, testid, onclick, ...}, ...children). Attributes are set after the children (select values). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    append(el, children);
    if (attrs) setAttrs(el, attrs);
    return el;
  }

  /** Same as h() for SVG elements. */
  function svg(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    append(el, children);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      el.setAttribute(k === 'testid' ? 'data-testid' : k, String(v));
    }
    return el;
  }

  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  // =====================================================================================================
  // 2. i18n helpers
  // =====================================================================================================

  const LANG_KEY = 'tollgate.lang';
  const DICTS = window.I18N || { en: {}, zh: {} };
  let lang = pickLanguage();

  function pickLanguage() {
    let stored = null;
    try {
      stored = localStorage.getItem(LANG_KEY);
    } catch (_) {
      /* storage may be unavailable */
    }
    if (stored === 'en' || stored === 'zh') return stored;
    const nav = (navigator.languages && navigator.languages[0]) || navigator.language || 'en';
    return /^zh/i.test(nav) ? 'zh' : 'en';
  }

  /** The string for `key` in the current language, `{name}` placeholders filled from `params`. */
  function t(key, params) {
    const dict = DICTS[lang] || {};
    let s = dict[key];
    if (s === undefined) s = (DICTS.en || {})[key];
    if (s === undefined) s = key;
    if (params) s = s.replace(/\{(\w+)\}/g, (m, p) => (params[p] !== undefined ? String(params[p]) : m));
    return s;
  }

  function setLanguage(next) {
    lang = next;
    try {
      localStorage.setItem(LANG_KEY, next);
    } catch (_) {
      /* ignore */
    }
    document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
    shellSig = null;
    router();
  }

  function langButton() {
    return h(
      'button',
      {
        type: 'button',
        class: 'btn ghost small lang-btn',
        testid: 'lang-toggle',
        title: t('lang.title'),
        onclick: () => setLanguage(lang === 'zh' ? 'en' : 'zh'),
      },
      t('lang.switch'),
    );
  }

  // =====================================================================================================
  // 3. Formatting and parsing
  // =====================================================================================================

  const MONEY_DECIMALS = 6;

  /** Integer `value` scaled by 10^decimals as a decimal string: at least `minDec` decimals, trailing zeros trimmed. */
  function formatFixed(value, decimals, minDec) {
    let n;
    try {
      n = BigInt(value);
    } catch (_) {
      return String(value);
    }
    const neg = n < 0n;
    if (neg) n = -n;
    const scale = 10n ** BigInt(decimals);
    const whole = (n / scale).toString();
    let frac = (n % scale).toString().padStart(decimals, '0');
    while (frac.length > minDec && frac.endsWith('0')) frac = frac.slice(0, -1);
    return (neg ? '-' : '') + whole + (frac ? '.' + frac : '');
  }

  /** Money in micro-units as `$1.25`; amounts below one cent keep all six decimals (`$0.000150`). */
  function formatMoney(units) {
    if (units === null || units === undefined || units === '') return '—';
    let n;
    try {
      n = BigInt(units);
    } catch (_) {
      return String(units);
    }
    const abs = n < 0n ? -n : n;
    const minDec = abs !== 0n && abs < 10000n ? 6 : 2;
    const s = formatFixed(abs, MONEY_DECIMALS, minDec);
    return (n < 0n ? '-$' : '$') + s;
  }

  /** Money units as a plain dollar amount for an input field (`1.5`). */
  function moneyInputValue(units) {
    return units === null || units === undefined ? '' : formatFixed(units, MONEY_DECIMALS, 0);
  }

  /**
   * Parses a decimal string into an integer scaled by 10^decimals with exact string arithmetic
   * ("1.23" with 6 decimals is 1230000). Empty gives null. Throws an Error with a translated message.
   */
  function parseFixed(input, decimals, opts) {
    const o = opts || {};
    let s = String(input === null || input === undefined ? '' : input)
      .trim()
      .replace(/[\s_]/g, '');
    if (s === '') return null;
    // Thousands separators ("1,000.50") are fine; any other comma is ambiguous ("1,5") and refused below.
    if (/^[-+]?[$＄]?\d{1,3}(,\d{3})+(\.\d*)?$/.test(s)) s = s.replace(/,/g, '');
    let neg = false;
    if (s[0] === '-' || s[0] === '+') {
      neg = s[0] === '-';
      s = s.slice(1);
    }
    if (o.money) s = s.replace(/^[$＄]/, '');
    const m = /^(\d*)(?:\.(\d*))?$/.exec(s);
    if (!m || (m[1] === '' && !m[2])) throw new Error(t(o.money ? 'err.money' : 'err.number', { value: input }));
    let frac = m[2] || '';
    if (frac.length > decimals) {
      if (/[^0]/.test(frac.slice(decimals))) throw new Error(t('err.decimals', { value: input, n: decimals }));
      frac = frac.slice(0, decimals);
    }
    let n = BigInt(m[1] || '0') * 10n ** BigInt(decimals) + BigInt((frac + '0'.repeat(decimals)).slice(0, decimals) || '0');
    if (neg) n = -n;
    if (neg && n !== 0n && !o.allowNegative) throw new Error(t('err.negative', { value: input }));
    if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < -BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new Error(t('err.tooLarge', { value: input }));
    }
    return Number(n);
  }

  /** Dollars ("1.23", "$0.5") to integer micro-units; empty gives null. */
  function parseMoney(input, allowNegative) {
    return parseFixed(input, MONEY_DECIMALS, { money: true, allowNegative: !!allowNegative });
  }

  /** A whole number field; empty gives null. */
  function parseIntField(input, opts) {
    const o = opts || {};
    const s = String(input === null || input === undefined ? '' : input).trim();
    if (s === '') return null;
    if (!/^[-+]?\d+$/.test(s)) throw new Error(t('err.integer', { value: s }));
    const n = Number(s);
    if (!Number.isSafeInteger(n)) throw new Error(t('err.tooLarge', { value: s }));
    if (o.min !== undefined && n < o.min) throw new Error(t('err.min', { value: s, min: o.min }));
    return n;
  }

  function fmtInt(n) {
    if (n === null || n === undefined || n === '') return '—';
    const v = Number(n);
    return Number.isFinite(v) ? v.toLocaleString('en-US') : String(n);
  }

  const pad = (n) => String(n).padStart(2, '0');

  function toDate(v) {
    if (v === null || v === undefined || v === '') return null;
    const d = typeof v === 'number' ? new Date(v) : new Date(String(v));
    return isNaN(d.getTime()) ? null : d;
  }

  /** Local `YYYY-MM-DD HH:MM:SS` from an RFC 3339 string or epoch milliseconds. */
  function fmtTime(v) {
    if (v === null || v === undefined || v === '') return '—';
    const d = toDate(v);
    if (!d) return String(v);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function fmtDate(v) {
    const d = toDate(v);
    return d ? `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` : '—';
  }

  function isoString(d) {
    return d.toISOString().replace('.000Z', 'Z');
  }

  /**
   * A time typed by the user: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]` (local time) or a full RFC 3339 time.
   * With `endOfDay`, a bare date means the end of that day (the start of the next one). Empty gives null.
   */
  function parseTimeInput(input, endOfDay) {
    const s = String(input || '').trim();
    if (!s) return null;
    let m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(s);
    if (m) {
      const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + (endOfDay ? 1 : 0));
      if (!isNaN(d.getTime())) return isoString(d);
    }
    m = /^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(s);
    if (m) {
      const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] || 0));
      if (!isNaN(d.getTime())) return isoString(d);
    }
    if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(s)) {
      const d = new Date(s);
      if (!isNaN(d.getTime())) return isoString(d);
    }
    throw new Error(t('err.time', { value: s }));
  }

  /** An RFC 3339 time as the text a user would type back (`YYYY-MM-DD` or `YYYY-MM-DD HH:MM`, local). */
  function timeInputValue(v) {
    const d = toDate(v);
    if (!d) return '';
    const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    if (d.getHours() === 0 && d.getMinutes() === 0 && d.getSeconds() === 0) return day;
    return `${day} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function localDay(offsetDays) {
    const d = new Date();
    d.setDate(d.getDate() + (offsetDays || 0));
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }

  /** Items separated by commas or new lines, trimmed, empty ones and repeats dropped. */
  function parseList(text) {
    const out = [];
    for (const part of String(text || '').split(/[,\n，]/)) {
      const v = part.trim();
      if (v && !out.includes(v)) out.push(v);
    }
    return out;
  }

  function parseLines(text) {
    const out = [];
    for (const part of String(text || '').split('\n')) {
      const v = part.trim();
      if (v && !out.includes(v)) out.push(v);
    }
    return out;
  }

  /** Only http(s) and same-origin paths may become links or image sources. */
  function safeUrl(u) {
    if (typeof u !== 'string' || !u) return null;
    if (/^https?:\/\//i.test(u)) return u;
    if (u.startsWith('/') && !u.startsWith('//')) return u;
    return null;
  }

  function shorten(s, n) {
    const v = String(s === null || s === undefined ? '' : s);
    return v.length > n ? v.slice(0, n - 1) + '…' : v;
  }

  // =====================================================================================================
  // 4. API client
  // =====================================================================================================

  class ApiError extends Error {
    constructor(status, message, detail) {
      super(message);
      this.status = status;
      this.detail = detail || null;
    }
  }

  function errorMessageFrom(status, text) {
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (_) {
      /* not JSON */
    }
    if (data && data.error) {
      if (typeof data.error === 'string') return { message: data.error, detail: null };
      if (data.error.message) return { message: String(data.error.message), detail: data.error };
    }
    if (data && typeof data.message === 'string') return { message: data.message, detail: null };
    return { message: t('err.http', { status }), detail: null };
  }

  const api = {
    csrf: null,

    async request(method, path, opts) {
      const o = opts || {};
      let url = path;
      if (o.query) {
        const q = new URLSearchParams();
        for (const [k, v] of Object.entries(o.query)) {
          if (v !== null && v !== undefined && v !== '') q.append(k, String(v));
        }
        const qs = q.toString();
        if (qs) url += (url.includes('?') ? '&' : '?') + qs;
      }
      const headers = { Accept: 'application/json' };
      if (method !== 'GET') {
        headers['Content-Type'] = 'application/json';
        if (this.csrf) headers['X-CSRF-Token'] = this.csrf;
      }
      let res;
      try {
        res = await fetch(url, {
          method,
          headers,
          credentials: 'same-origin',
          body: o.body === undefined ? undefined : JSON.stringify(o.body),
        });
      } catch (_) {
        throw new ApiError(0, t('err.network'));
      }
      if (res.status === 204) return null;
      const text = await res.text();
      if (!res.ok) {
        const { message, detail } = errorMessageFrom(res.status, text);
        if (res.status === 401 && !o.noAuthRedirect) onUnauthorized();
        throw new ApiError(res.status, message, detail);
      }
      if (!text) return null;
      try {
        return JSON.parse(text);
      } catch (_) {
        return text;
      }
    },
    get(path, query, opts) {
      return this.request('GET', path, Object.assign({ query }, opts));
    },
    post(path, body, opts) {
      return this.request('POST', path, Object.assign({ body: body === undefined ? {} : body }, opts));
    },
    put(path, body) {
      return this.request('PUT', path, { body });
    },
    patch(path, body) {
      return this.request('PATCH', path, { body });
    },
    del(path) {
      return this.request('DELETE', path, {});
    },
  };

  // =====================================================================================================
  // 5. UI components
  // =====================================================================================================

  let toastTimer = null;

  function toast(message, kind) {
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

  function toastError(e) {
    toast(e && e.message ? e.message : String(e), 'error');
  }

  async function copyText(text) {
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
  function openModal(title, body, opts) {
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

  function closeAllModals() {
    for (const m of $$('.modal-overlay')) m.remove();
  }

  /** An in-page confirmation; resolves true on `confirm-ok`. */
  function confirmDialog(message, opts) {
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

  function button(label, testid, onclick, kind, attrs) {
    return h(
      'button',
      Object.assign({ type: 'button', class: 'btn ' + (kind || 'secondary'), testid, onclick }, attrs || {}),
      label,
    );
  }

  /** Disables `btn` while `fn` runs; errors become a toast unless `fn` handles them. */
  async function busy(btn, fn) {
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

  function input(testid, attrs) {
    return h('input', Object.assign({ class: 'input', testid, type: 'text', autocomplete: 'off' }, attrs || {}));
  }

  function textarea(testid, attrs) {
    return h('textarea', Object.assign({ class: 'input', testid, rows: 3, spellcheck: 'false' }, attrs || {}));
  }

  /** options: [[value, label], ...] */
  function select(testid, options, value, attrs) {
    return h(
      'select',
      Object.assign({ class: 'input', testid, value: value === undefined ? undefined : value }, attrs || {}),
      options.map(([v, l]) => h('option', { value: v }, l)),
    );
  }

  function field(label, control, help, cls) {
    return h(
      'label',
      { class: 'field' + (cls ? ' ' + cls : '') },
      h('span', { class: 'field-label' }, label),
      control,
      help ? h('small', { class: 'help' }, help) : null,
    );
  }

  function checkField(label, control, help) {
    return h(
      'label',
      { class: 'field check' },
      h('span', { class: 'check-row' }, control, h('span', null, label)),
      help ? h('small', { class: 'help' }, help) : null,
    );
  }

  function checkbox(testid, checked) {
    return h('input', { type: 'checkbox', testid, checked: !!checked });
  }

  function formError(testid) {
    return h('div', { class: 'form-error', testid: testid || 'form-error', role: 'alert', hidden: true });
  }

  function showFormError(el, e) {
    el.textContent = e && e.message ? e.message : String(e);
    el.hidden = false;
  }

  function badge(text, kind, attrs) {
    return h('span', Object.assign({ class: 'badge ' + (kind || '') }, attrs || {}), text);
  }

  function loading() {
    return h('div', { class: 'loading', testid: 'loading' }, h('span', { class: 'spinner' }), t('common.loading'));
  }

  function errorBox(message) {
    return h('div', { class: 'error-box', testid: 'page-error', role: 'alert' }, message);
  }

  function card(title, ...children) {
    return h('section', { class: 'card' }, title ? h('h2', { class: 'card-title' }, title) : null, children);
  }

  function pageHead(title, subtitle, ...actions) {
    return h(
      'div',
      { class: 'page-head' },
      h('div', null, h('h1', null, title), subtitle ? h('p', { class: 'subtitle' }, subtitle) : null),
      actions.length ? h('div', { class: 'page-actions' }, actions) : null,
    );
  }

  function stat(label, value, testid, raw, sub) {
    return h(
      'div',
      { class: 'stat' },
      h('div', { class: 'stat-label' }, label),
      h('div', { class: 'stat-value', testid, 'data-value': raw === undefined ? undefined : raw }, value),
      sub ? h('div', { class: 'stat-sub' }, sub) : null,
    );
  }

  /**
   * A table inside a horizontally scrolling wrapper.
   * columns: [{label, cell: row => node|string, cls}]; opts.rowAttrs(row) gives the <tr> attributes.
   */
  function table(testid, columns, rows, opts) {
    const o = opts || {};
    const tbody = h('tbody');
    if (!rows.length) {
      tbody.appendChild(
        h('tr', { class: 'empty-row' }, h('td', { colspan: columns.length, class: 'empty' }, o.empty || t('common.empty'))),
      );
    }
    for (const r of rows) {
      const tr = h(
        'tr',
        o.rowAttrs ? o.rowAttrs(r) : null,
        columns.map((c) => h('td', { class: c.cls, 'data-label': c.label }, c.cell(r))),
      );
      if (o.onRow) o.onRow(tr, r);
      tbody.appendChild(tr);
    }
    return h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'table', testid },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            columns.map((c) => h('th', { class: c.cls }, c.label)),
          ),
        ),
        tbody,
      ),
    );
  }

  function pager(prefix, page, go) {
    const { total, limit, offset } = page;
    const from = total ? offset + 1 : 0;
    const to = Math.min(offset + limit, total);
    return h(
      'div',
      { class: 'pager' },
      h('span', { class: 'pager-info', testid: prefix + '-page-info' }, t('common.range', { from, to, total })),
      button(t('common.prev'), prefix + '-prev', () => go(Math.max(0, offset - limit)), 'secondary small', {
        disabled: offset <= 0,
      }),
      button(t('common.next'), prefix + '-next', () => go(offset + limit), 'secondary small', {
        disabled: offset + limit >= total,
      }),
    );
  }

  function mono(text, title) {
    return h('code', { class: 'mono', title: title || undefined }, text);
  }

  function muted(text) {
    return h('span', { class: 'muted' }, text);
  }

  function yesNo(v) {
    return v ? t('common.yes') : t('common.no');
  }

  function statusBadge(code) {
    const n = Number(code);
    const kind = n >= 200 && n < 300 ? 'ok' : n >= 400 && n < 500 ? 'warn' : 'err';
    return badge(String(code), kind, { 'data-status': code });
  }

  // =====================================================================================================
  // 6. Shell and router
  // =====================================================================================================

  const state = {
    session: null, // {role, user, csrf_token}
    options: null, // {registration}
    afterLogin: null,
  };

  const ROUTES = [
    { path: '/overview', access: 'any', label: 'nav.overview', section: 'main', render: (c) => pageOverview(c) },
    { path: '/keys', access: 'user', label: 'nav.keys', section: 'user', render: (c) => pageKeys(c, false) },
    { path: '/playground', access: 'user', label: 'nav.playground', section: 'user', render: (c) => pagePlayground(c) },
    { path: '/logs', access: 'user', label: 'nav.logs', section: 'user', render: (c) => pageLogs(c, false) },
    { path: '/usage', access: 'user', label: 'nav.usage', section: 'user', render: (c) => pageUsage(c, false) },
    { path: '/redeem', access: 'user', label: 'nav.redeem', section: 'user', render: (c) => pageRedeem(c) },
    { path: '/admin/channels', access: 'admin', label: 'nav.channels', section: 'admin', render: (c) => pageChannels(c) },
    { path: '/admin/users', access: 'admin', label: 'nav.users', section: 'admin', render: (c) => pageUsers(c) },
    { path: '/admin/keys', access: 'admin', label: 'nav.adminKeys', section: 'admin', render: (c) => pageKeys(c, true) },
    { path: '/admin/groups', access: 'admin', label: 'nav.groups', section: 'admin', render: (c) => pageGroups(c) },
    { path: '/admin/prices', access: 'admin', label: 'nav.prices', section: 'admin', render: (c) => pagePrices(c) },
    { path: '/admin/codes', access: 'admin', label: 'nav.codes', section: 'admin', render: (c) => pageCodes(c) },
    { path: '/admin/logs', access: 'admin', label: 'nav.adminLogs', section: 'admin', render: (c) => pageLogs(c, true) },
    { path: '/admin/usage', access: 'admin', label: 'nav.adminUsage', section: 'admin', render: (c) => pageUsage(c, true) },
    { path: '/admin/mj', access: 'admin', label: 'nav.mj', section: 'admin', render: (c) => pageMj(c) },
  ];

  let shellSig = null;
  let viewToken = 0;

  function isAdmin() {
    return !!(state.session && state.session.role === 'admin');
  }

  function hasUser() {
    return !!(state.session && state.session.user);
  }

  function allowed(r) {
    if (!state.session) return false;
    if (r.access === 'any') return true;
    if (r.access === 'user') return hasUser();
    if (r.access === 'admin') return isAdmin();
    return false;
  }

  function navTestId(path) {
    return 'nav-' + path.replace(/^\//, '').replace(/\//g, '-');
  }

  function go(path) {
    if (location.hash !== '#' + path) location.hash = '#' + path;
    else router();
  }

  function closeMenu() {
    document.body.classList.remove('menu-open');
    const b = $('[data-testid="menu-toggle"]');
    if (b) b.setAttribute('aria-expanded', 'false');
  }

  function toggleMenu() {
    const open = !document.body.classList.contains('menu-open');
    document.body.classList.toggle('menu-open', open);
    const b = $('[data-testid="menu-toggle"]');
    if (b) b.setAttribute('aria-expanded', open ? 'true' : 'false');
  }

  function renderShell() {
    const s = state.session;
    const root = document.getElementById('app');
    const nav = h('nav', { class: 'nav', id: 'nav', testid: 'nav', 'aria-label': t('nav.label') });
    const sections = [
      ['main', null],
      ['user', hasUser() ? t('nav.sectionUser') : null],
      ['admin', t('nav.sectionAdmin')],
    ];
    for (const [sec, heading] of sections) {
      const items = ROUTES.filter((r) => r.section === sec && allowed(r));
      if (!items.length) continue;
      if (heading) nav.appendChild(h('div', { class: 'nav-heading' }, heading));
      for (const r of items) {
        nav.appendChild(
          h(
            'a',
            { class: 'nav-link', href: '#' + r.path, testid: navTestId(r.path), 'data-path': r.path, onclick: closeMenu },
            t(r.label),
          ),
        );
      }
    }
    const who = s.user
      ? h('span', { class: 'who', testid: 'current-user' }, s.user.name, isAdmin() ? badge(t('role.admin'), 'info') : null)
      : h('span', { class: 'who', testid: 'current-user' }, t('nav.adminToken'));
    const header = h(
      'header',
      { class: 'topbar' },
      h(
        'button',
        {
          type: 'button',
          class: 'icon-btn menu-btn',
          testid: 'menu-toggle',
          'aria-label': t('nav.menu'),
          'aria-expanded': 'false',
          'aria-controls': 'nav',
          onclick: toggleMenu,
        },
        h('span', { class: 'burger', 'aria-hidden': 'true' }),
      ),
      h(
        'a',
        { class: 'brand', href: '#/overview' },
        h('span', { class: 'logo', 'aria-hidden': 'true' }, 'T'),
        h('span', null, t('app.name')),
      ),
      h('div', { class: 'spacer' }),
      who,
      langButton(),
      button(t('nav.logout'), 'logout', logout, 'ghost small'),
    );
    root.replaceChildren(
      header,
      h(
        'div',
        { class: 'layout' },
        nav,
        h('div', { class: 'nav-backdrop', onclick: closeMenu }),
        h('main', { class: 'main', id: 'main', tabindex: '-1' }),
      ),
    );
  }

  function ensureShell() {
    const s = state.session;
    const sig = [lang, s.role, s.user ? s.user.id + ':' + s.user.name : '-'].join('|');
    if (sig !== shellSig || !document.getElementById('main')) {
      renderShell();
      shellSig = sig;
    }
  }

  function currentPath() {
    const raw = location.hash.replace(/^#/, '') || '/';
    const i = raw.indexOf('?');
    return { raw, path: i < 0 ? raw : raw.slice(0, i), query: new URLSearchParams(i < 0 ? '' : raw.slice(i + 1)) };
  }

  async function router() {
    closeAllModals();
    closeMenu();
    const { raw, path, query } = currentPath();
    if (path === '/login' || path === '/register') {
      if (state.session) return go('/overview');
      return renderAuth(path === '/register' ? 'register' : 'user');
    }
    if (!state.session) {
      if (path !== '/' && path !== '') state.afterLogin = raw;
      return go('/login');
    }
    const r = ROUTES.find((x) => x.path === path);
    if (!r || !allowed(r)) return go('/overview');
    ensureShell();
    for (const a of $$('.nav-link')) {
      const active = a.getAttribute('data-path') === r.path;
      a.classList.toggle('active', active);
      if (active) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    document.title = t(r.label) + ' · ' + t('app.name');
    const main = document.getElementById('main');
    main.replaceChildren();
    main.scrollTop = 0;
    const token = ++viewToken;
    const ctx = { el: main, query, alive: () => token === viewToken };
    try {
      await r.render(ctx);
    } catch (e) {
      if (ctx.alive()) main.appendChild(errorBox(e && e.message ? e.message : String(e)));
    }
  }

  function onUnauthorized() {
    if (!state.session) return;
    state.session = null;
    api.csrf = null;
    shellSig = null;
    const { raw } = currentPath();
    state.afterLogin = raw;
    toast(t('err.sessionExpired'), 'error');
    go('/login');
  }

  function startSession(res) {
    state.session = { role: res.role, user: res.user || null, csrf_token: res.csrf_token };
    api.csrf = res.csrf_token || null;
    shellSig = null;
  }

  async function logout() {
    try {
      await api.post('/api/auth/logout', undefined, { noAuthRedirect: true });
    } catch (_) {
      /* the session is dropped on this side either way */
    }
    state.session = null;
    api.csrf = null;
    shellSig = null;
    resetPlayground();
    go('/login');
  }

  // =====================================================================================================
  // 7. Pages
  // =====================================================================================================

  // ---------- Login and registration ----------

  async function renderAuth(initialMode) {
    viewToken++;
    const token = viewToken;
    const root = document.getElementById('app');
    shellSig = null;
    document.title = t('login.title') + ' · ' + t('app.name');
    let mode = initialMode; // 'user' | 'admin' | 'register'
    const box = h('div', { class: 'auth-card card' });
    const page = h(
      'div',
      { class: 'auth-page' },
      h('div', { class: 'auth-top' }, langButton()),
      h(
        'div',
        { class: 'auth-center' },
        h(
          'div',
          { class: 'auth-brand' },
          h('span', { class: 'logo big', 'aria-hidden': 'true' }, 'T'),
          h('span', null, t('app.name')),
        ),
        h('p', { class: 'auth-tagline' }, t('login.tagline')),
        box,
      ),
    );
    root.replaceChildren(page);

    if (!state.options) {
      try {
        state.options = await api.get('/api/auth/options', undefined, { noAuthRedirect: true });
      } catch (_) {
        state.options = { registration: false };
      }
    }
    if (token !== viewToken) return;

    function done(res) {
      startSession(res);
      const target = state.afterLogin && !/^\/(login|register)/.test(state.afterLogin) ? state.afterLogin : '/overview';
      state.afterLogin = null;
      go(target);
    }

    function draw() {
      const err = h('div', { class: 'form-error', testid: 'login-error', role: 'alert', hidden: true });
      const fail = (e) => {
        err.textContent = e && e.message ? e.message : String(e);
        err.hidden = false;
      };
      let form;
      if (mode === 'admin') {
        const tokenInput = input('login-admin-token', {
          type: 'password',
          autocomplete: 'current-password',
          placeholder: t('login.adminTokenPlaceholder'),
        });
        const submit = h(
          'button',
          { type: 'submit', class: 'btn primary block', testid: 'login-admin-submit' },
          t('login.adminSubmit'),
        );
        form = h(
          'form',
          {
            class: 'form',
            novalidate: true,
            onsubmit: (e) => {
              e.preventDefault();
              const v = tokenInput.value.trim();
              if (!v) return fail(new Error(t('login.needToken')));
              busy(submit, async () => {
                try {
                  done(await api.post('/api/auth/login', { admin_token: v }, { noAuthRedirect: true }));
                } catch (ex) {
                  fail(ex);
                }
              });
            },
          },
          h('h1', { class: 'auth-title' }, t('login.adminTitle')),
          field(t('login.adminToken'), tokenInput, t('login.adminTokenHelp')),
          err,
          submit,
          h(
            'div',
            { class: 'auth-links' },
            h(
              'button',
              { type: 'button', class: 'link', testid: 'login-mode-user', onclick: () => switchMode('user') },
              t('login.backToUser'),
            ),
          ),
        );
      } else {
        const register = mode === 'register';
        const user = input('login-username', { autocomplete: 'username', placeholder: t('login.usernamePlaceholder') });
        const pass = input('login-password', { type: 'password', autocomplete: register ? 'new-password' : 'current-password' });
        const submit = h(
          'button',
          { type: 'submit', class: 'btn primary block', testid: register ? 'register-submit' : 'login-submit' },
          register ? t('login.registerSubmit') : t('login.submit'),
        );
        const closed = register && state.options && state.options.registration === false;
        form = h(
          'form',
          {
            class: 'form',
            novalidate: true,
            onsubmit: (e) => {
              e.preventDefault();
              const username = user.value.trim();
              const password = pass.value;
              if (!username || !password) return fail(new Error(t('login.needBoth')));
              busy(submit, async () => {
                try {
                  done(
                    await api.post(
                      register ? '/api/auth/register' : '/api/auth/login',
                      { username, password },
                      { noAuthRedirect: true },
                    ),
                  );
                } catch (ex) {
                  fail(ex);
                }
              });
            },
          },
          h('h1', { class: 'auth-title' }, register ? t('login.registerTitle') : t('login.title')),
          closed ? h('div', { class: 'notice' }, t('login.registrationClosed')) : null,
          field(t('login.username'), user),
          field(t('login.password'), pass, register ? t('login.passwordHelp') : null),
          err,
          submit,
          h(
            'div',
            { class: 'auth-links' },
            register
              ? h('a', { class: 'link', href: '#/login', testid: 'login-link' }, t('login.haveAccount'))
              : state.options && state.options.registration
                ? h('a', { class: 'link', href: '#/register', testid: 'register-link' }, t('login.registerLink'))
                : null,
            register
              ? null
              : h(
                  'button',
                  { type: 'button', class: 'link', testid: 'login-mode-admin', onclick: () => switchMode('admin') },
                  t('login.useAdminToken'),
                ),
          ),
        );
      }
      box.replaceChildren(form);
      const first = $('input', form);
      if (first) first.focus();
    }

    function switchMode(m) {
      mode = m;
      draw();
    }

    draw();
  }

  // ---------- Overview ----------

  async function pageOverview(ctx) {
    const s = state.session;
    ctx.el.appendChild(
      pageHead(t('overview.title'), s.user ? t('overview.hello', { name: s.user.name }) : t('overview.adminHello')),
    );
    if (s.user) await overviewUser(ctx);
    if (isAdmin() && ctx.alive()) await overviewAdmin(ctx);
  }

  async function overviewUser(ctx) {
    const s = state.session;
    const stats = h('div', { class: 'stats' });
    ctx.el.appendChild(stats);
    let me = s.user;
    try {
      me = await api.get('/api/me');
      if (!ctx.alive()) return;
      s.user = Object.assign({}, s.user, me);
    } catch (e) {
      if (!ctx.alive()) return;
      toastError(e);
    }
    stats.append(
      stat(t('overview.balance'), formatMoney(me.balance), 'balance', me.balance, t('overview.balanceSub')),
      stat(t('overview.spent'), formatMoney(me.spent), 'spent', me.spent, t('overview.spentSub')),
      stat(t('overview.group'), me.group || 'default', 'group'),
    );
    const weekReq = stat(t('overview.weekRequests'), '…', 'week-requests');
    const weekCost = stat(t('overview.weekCost'), '…', 'week-cost');
    stats.append(weekReq, weekCost);

    const base = location.origin + '/v1';
    ctx.el.appendChild(
      h(
        'div',
        { class: 'grid-2' },
        card(
          t('overview.baseUrl'),
          h('p', { class: 'help' }, t('overview.baseUrlHelp')),
          h(
            'div',
            { class: 'copy-row' },
            mono(base),
            button(t('common.copy'), 'base-url-copy', () => copyText(base), 'secondary small'),
          ),
          h('pre', { class: 'snippet', testid: 'curl-example' }, t('overview.curl', { base })),
        ),
        card(
          t('overview.quick'),
          h(
            'div',
            { class: 'quick' },
            h('a', { class: 'btn primary', href: '#/keys', testid: 'quick-keys' }, t('overview.quickKey')),
            h('a', { class: 'btn secondary', href: '#/playground', testid: 'quick-playground' }, t('overview.quickPlayground')),
            h('a', { class: 'btn secondary', href: '#/redeem', testid: 'quick-redeem' }, t('overview.quickRedeem')),
          ),
        ),
      ),
    );

    try {
      const res = await api.get('/api/usage', { group_by: 'day', since: parseTimeInput(localDay(-6)) });
      if (!ctx.alive()) return;
      let req = 0;
      let cost = 0;
      for (const b of res.data || []) {
        req += Number(b.requests) || 0;
        cost += Number(b.cost) || 0;
      }
      $('.stat-value', weekReq).textContent = fmtInt(req);
      $('.stat-value', weekCost).textContent = formatMoney(cost);
    } catch (_) {
      if (!ctx.alive()) return;
      $('.stat-value', weekReq).textContent = '—';
      $('.stat-value', weekCost).textContent = '—';
    }
  }

  async function overviewAdmin(ctx) {
    const wrap = h('div', null, h('h2', { class: 'section-title' }, t('overview.adminSection')), loading());
    ctx.el.appendChild(wrap);
    const today = parseTimeInput(localDay(0));
    const [channels, users, usage] = await Promise.all([
      api.get('/api/admin/channels').catch((e) => e),
      api.get('/api/admin/users', { limit: 1 }).catch((e) => e),
      api.get('/api/admin/usage', { since: today }).catch((e) => e),
    ]);
    if (!ctx.alive()) return;
    const stats = h('div', { class: 'stats' });
    const list = channels instanceof Error ? [] : channels.data || [];
    const bad = list.filter((c) => c.enabled && c.health !== 'healthy');
    let reqToday = 0;
    let costToday = 0;
    if (!(usage instanceof Error)) {
      for (const b of usage.data || []) {
        reqToday += Number(b.requests) || 0;
        costToday += Number(b.cost) || 0;
      }
    }
    stats.append(
      stat(
        t('overview.channels'),
        channels instanceof Error ? '—' : fmtInt(list.length),
        'admin-channels-count',
        list.length,
        t('overview.channelsSub', { n: list.filter((c) => c.enabled).length }),
      ),
      stat(t('overview.unhealthy'), channels instanceof Error ? '—' : fmtInt(bad.length), 'admin-unhealthy-count', bad.length),
      stat(
        t('overview.users'),
        users instanceof Error ? '—' : fmtInt(users.total),
        'admin-users-count',
        users instanceof Error ? undefined : users.total,
      ),
      stat(t('overview.todayRequests'), usage instanceof Error ? '—' : fmtInt(reqToday), 'admin-today-requests', reqToday),
      stat(t('overview.todayCost'), usage instanceof Error ? '—' : formatMoney(costToday), 'admin-today-cost', costToday),
    );
    const children = [h('h2', { class: 'section-title' }, t('overview.adminSection')), stats];
    if (bad.length) {
      children.push(
        card(
          t('overview.unhealthyList'),
          h(
            'ul',
            { class: 'plain-list' },
            bad.map((c) =>
              h(
                'li',
                null,
                h('strong', null, c.name),
                ' ',
                muted('#' + c.id),
                c.last_error ? h('div', { class: 'muted small' }, shorten(c.last_error, 200)) : null,
              ),
            ),
          ),
          h('a', { class: 'link', href: '#/admin/channels' }, t('overview.toChannels')),
        ),
      );
    }
    if (!list.length && !(channels instanceof Error)) {
      children.push(
        h(
          'div',
          { class: 'notice' },
          t('overview.noChannels'),
          ' ',
          h('a', { class: 'link', href: '#/admin/channels' }, t('overview.toChannels')),
        ),
      );
    }
    wrap.replaceChildren(...children);
  }

  // ---------- Shared lookups for admin pages ----------

  /** Users and channels by id, for showing names next to ids. Failures leave the maps empty. */
  async function adminLookups() {
    const [users, channels] = await Promise.all([
      api.get('/api/admin/users', { limit: 1000 }).catch(() => ({ data: [] })),
      api.get('/api/admin/channels').catch(() => ({ data: [] })),
    ]);
    const userMap = new Map((users.data || []).map((u) => [u.id, u]));
    const channelMap = new Map((channels.data || []).map((c) => [c.id, c]));
    return { users: users.data || [], channels: channels.data || [], userMap, channelMap };
  }

  function userLabel(map, id) {
    if (id === null || id === undefined) return '—';
    const u = map && map.get(id);
    return u ? h('span', null, u.name, ' ', muted('#' + id)) : '#' + id;
  }

  function channelLabel(map, id) {
    if (id === null || id === undefined) return '—';
    const c = map && map.get(id);
    return c ? h('span', null, c.name, ' ', muted('#' + id)) : '#' + id;
  }

  // ---------- API keys (own keys, or every user's for admins) ----------

  async function pageKeys(ctx, admin) {
    const base = admin ? '/api/admin/keys' : '/api/keys';
    const page = { offset: 0, limit: 100, total: 0 };
    let userFilter = ctx.query.get('user_id') || '';
    let lookups = null;
    let modelHints = null;

    const secretBox = h('div', { testid: 'key-secret-area' });
    const listBox = h('div', null, loading());
    ctx.el.append(
      pageHead(
        admin ? t('keys.adminTitle') : t('keys.title'),
        admin ? t('keys.adminSubtitle') : t('keys.subtitle'),
        button(t('keys.create'), 'key-create-open', () => openForm(null), 'primary'),
      ),
      secretBox,
    );
    if (admin) {
      lookups = await adminLookups();
      if (!ctx.alive()) return;
      const sel = select(
        'keys-filter-user',
        [['', t('keys.allUsers')]].concat(lookups.users.map((u) => [String(u.id), `${u.name} (#${u.id})`])),
        userFilter,
        {
          onchange: () => {
            userFilter = sel.value;
            page.offset = 0;
            load();
          },
        },
      );
      ctx.el.appendChild(h('div', { class: 'filters' }, field(t('keys.filterUser'), sel)));
    }
    ctx.el.appendChild(card(null, listBox));

    async function load() {
      try {
        const res = admin
          ? await api.get(base, { user_id: userFilter, limit: page.limit, offset: page.offset })
          : await api.get(base);
        if (!ctx.alive()) return;
        page.total = Number(res.total) || 0;
        render(res.data || []);
      } catch (e) {
        if (!ctx.alive()) return;
        listBox.replaceChildren(errorBox(e.message));
      }
    }

    function keyStatus(k) {
      if (!k.enabled) return badge(t('keys.disabled'), 'muted', { testid: 'key-status', 'data-status': 'disabled' });
      const exp = toDate(k.expires_at);
      if (exp && exp.getTime() <= Date.now())
        return badge(t('keys.expired'), 'warn', { testid: 'key-status', 'data-status': 'expired' });
      return badge(t('keys.enabled'), 'ok', { testid: 'key-status', 'data-status': 'enabled' });
    }

    function render(keys) {
      const cols = [
        {
          label: t('keys.colName'),
          cell: (k) =>
            h(
              'span',
              null,
              h('span', { class: 'strong', testid: 'key-name-cell' }, k.name),
              h('div', { class: 'muted small nowrap' }, t('keys.createdOn', { date: fmtDate(k.created_at) })),
            ),
        },
      ];
      if (admin) cols.push({ label: t('common.user'), cell: (k) => userLabel(lookups.userMap, k.user_id) });
      cols.push(
        { label: t('keys.colKey'), cell: (k) => mono(k.prefix + '…') },
        { label: t('common.status'), cell: keyStatus },
        {
          label: t('keys.colModels'),
          cell: (k) =>
            k.models && k.models.length ? h('span', { class: 'wrap-cell' }, k.models.join(', ')) : muted(t('keys.allModels')),
        },
        {
          label: t('keys.colSpent'),
          cls: 'num',
          cell: (k) =>
            h(
              'span',
              null,
              formatMoney(k.spent),
              k.spend_cap !== null && k.spend_cap !== undefined ? muted(' / ' + formatMoney(k.spend_cap)) : null,
              k.remaining !== null && k.remaining !== undefined
                ? h('div', { class: 'muted small' }, t('keys.remaining', { amount: formatMoney(k.remaining) }))
                : null,
            ),
        },
        {
          label: t('keys.colLimits'),
          cell: (k) => {
            const parts = [];
            if (k.rpm_limit) parts.push(t('keys.rpmShort', { n: fmtInt(k.rpm_limit) }));
            if (k.tpm_limit) parts.push(t('keys.tpmShort', { n: fmtInt(k.tpm_limit) }));
            if (k.ip_allowlist && k.ip_allowlist.length) parts.push(t('keys.ipsShort', { n: k.ip_allowlist.length }));
            return parts.length ? parts.join(' · ') : muted(t('keys.noLimits'));
          },
        },
        {
          label: t('keys.colExpires'),
          cell: (k) =>
            k.expires_at
              ? h('span', { class: 'nowrap', title: fmtTime(k.expires_at) }, timeInputValue(k.expires_at))
              : muted(t('keys.never')),
        },
        {
          label: t('common.actions'),
          cls: 'actions',
          cell: (k) =>
            h(
              'div',
              { class: 'row-actions' },
              button(t('common.edit'), 'key-edit', () => openForm(k), 'ghost small'),
              k.enabled
                ? button(t('keys.disable'), 'key-disable', (e) => setEnabled(k, false, e.currentTarget), 'ghost small')
                : button(t('keys.enable'), 'key-enable', (e) => setEnabled(k, true, e.currentTarget), 'ghost small'),
              button(t('common.delete'), 'key-delete', () => remove(k), 'ghost small danger-text'),
            ),
        },
      );
      const children = [
        table('keys-table', cols, keys, {
          rowAttrs: (k) => ({ testid: 'key-row', 'data-key-id': k.id, class: k.enabled ? '' : 'dim' }),
          empty: t('keys.empty'),
        }),
      ];
      if (admin && page.total > page.limit) {
        children.push(
          pager('keys', page, (off) => {
            page.offset = off;
            load();
          }),
        );
      }
      listBox.replaceChildren(...children);
    }

    async function setEnabled(k, enabled, btn) {
      await busy(btn, async () => {
        try {
          await api.patch(`${base}/${k.id}`, { enabled });
          toast(enabled ? t('keys.enabledToast', { name: k.name }) : t('keys.disabledToast', { name: k.name }));
          await load();
        } catch (e) {
          toastError(e);
        }
      });
    }

    async function remove(k) {
      if (!(await confirmDialog(t('keys.confirmDelete', { name: k.name }), { ok: t('common.delete') }))) return;
      try {
        await api.del(`${base}/${k.id}`);
        toast(t('keys.deleted', { name: k.name }));
        await load();
      } catch (e) {
        toastError(e);
      }
    }

    async function loadModelHints() {
      if (modelHints) return modelHints;
      try {
        if (admin) {
          const set = new Set();
          for (const c of lookups.channels) for (const m of c.models || []) set.add(m);
          modelHints = Array.from(set).sort();
        } else {
          const res = await api.get('/api/playground/models');
          modelHints = (res.data || []).map((m) => m.id).sort();
        }
      } catch (_) {
        modelHints = [];
      }
      return modelHints;
    }

    function openForm(existing) {
      const editing = !!existing;
      const e = existing || {};
      const userSel =
        admin && !editing
          ? select(
              'key-user',
              lookups.users.map((u) => [String(u.id), `${u.name} (#${u.id})`]),
              userFilter || (lookups.users[0] ? String(lookups.users[0].id) : ''),
            )
          : null;
      const name = input('key-name', { value: e.name || '', placeholder: t('keys.namePlaceholder'), maxlength: 100 });
      const models = input('key-models', { value: (e.models || []).join(', '), placeholder: t('keys.modelsPlaceholder') });
      const cap = input('key-spend-cap', { value: moneyInputValue(e.spend_cap), inputmode: 'decimal', placeholder: '10.00' });
      const expires = input('key-expires', { value: timeInputValue(e.expires_at), placeholder: 'YYYY-MM-DD' });
      const rpm = input('key-rpm', { value: e.rpm_limit || '', inputmode: 'numeric', placeholder: '60' });
      const tpm = input('key-tpm', { value: e.tpm_limit || '', inputmode: 'numeric', placeholder: '100000' });
      const ips = textarea('key-ips', {
        value: (e.ip_allowlist || []).join('\n'),
        placeholder: '203.0.113.7\n10.0.0.0/8',
        rows: 2,
      });
      const enabled = checkbox('key-enabled', editing ? e.enabled : true);
      const hints = h('div', { class: 'chips', testid: 'key-model-hints' });
      const err = formError('key-form-error');
      const submit = h(
        'button',
        { type: 'submit', class: 'btn primary', testid: editing ? 'key-save-submit' : 'key-create-submit' },
        editing ? t('common.save') : t('keys.createSubmit'),
      );

      loadModelHints().then((list) => {
        if (!list.length) return;
        hints.append(
          h('span', { class: 'muted small' }, t('keys.available')),
          list.slice(0, 40).map((m) =>
            h(
              'button',
              {
                type: 'button',
                class: 'chip',
                testid: 'key-model-hint',
                onclick: () => {
                  const cur = parseList(models.value);
                  if (!cur.includes(m)) cur.push(m);
                  models.value = cur.join(', ');
                },
              },
              m,
            ),
          ),
        );
      });

      const form = h(
        'form',
        {
          class: 'form',
          novalidate: true,
          onsubmit: (ev) => {
            ev.preventDefault();
            err.hidden = true;
            let body;
            try {
              const nm = name.value.trim();
              if (!nm) throw new Error(t('keys.needName'));
              const list = parseList(models.value);
              body = {
                name: nm,
                models: list.length ? list : null,
                spend_cap: parseMoney(cap.value),
                expires_at: parseTimeInput(expires.value),
                rpm_limit: parseIntField(rpm.value, { min: 1 }),
                tpm_limit: parseIntField(tpm.value, { min: 1 }),
                ip_allowlist: parseLines(ips.value),
              };
              if (editing) body.enabled = enabled.checked;
              if (userSel) {
                if (!userSel.value) throw new Error(t('keys.needUser'));
                body.user_id = Number(userSel.value);
              }
            } catch (ex) {
              return showFormError(err, ex);
            }
            busy(submit, async () => {
              try {
                if (editing) {
                  await api.patch(`${base}/${e.id}`, body);
                  close();
                  toast(t('keys.saved', { name: body.name }));
                } else {
                  const res = await api.post(base, body);
                  close();
                  showSecret(res);
                  toast(t('keys.created', { name: body.name }));
                }
                await load();
              } catch (ex) {
                showFormError(err, ex);
                toastError(ex);
              }
            });
          },
        },
        userSel ? field(t('common.user'), userSel) : null,
        field(t('keys.name'), name, t('keys.nameHelp')),
        field(t('keys.models'), models, t('keys.modelsHelp')),
        hints,
        h(
          'div',
          { class: 'grid-2 tight' },
          field(t('keys.spendCap'), cap, t('keys.spendCapHelp')),
          field(t('keys.expires'), expires, t('keys.expiresHelp')),
          field(t('keys.rpm'), rpm, t('keys.rpmHelp')),
          field(t('keys.tpm'), tpm, t('keys.tpmHelp')),
        ),
        field(t('keys.ips'), ips, t('keys.ipsHelp')),
        editing ? checkField(t('keys.enabledLabel'), enabled) : null,
        err,
        h(
          'div',
          { class: 'form-actions' },
          button(t('common.cancel'), 'key-form-cancel', () => close()),
          submit,
        ),
      );
      const close = openModal(editing ? t('keys.editTitle', { name: e.name }) : t('keys.createTitle'), form, {
        testid: 'key-form',
      });
    }

    function showSecret(res) {
      secretBox.replaceChildren(
        h(
          'div',
          { class: 'secret-box', testid: 'key-secret-box', role: 'alert' },
          h('div', { class: 'secret-title' }, t('keys.secretTitle', { name: res.name || '' })),
          h('p', { class: 'help' }, t('keys.secretHelp')),
          h(
            'div',
            { class: 'copy-row' },
            h('code', { class: 'mono secret', testid: 'key-secret' }, res.key),
            button(t('common.copy'), 'key-copy', () => copyText(res.key), 'primary small'),
          ),
          button(t('keys.secretDone'), 'key-secret-close', () => secretBox.replaceChildren(), 'ghost small'),
        ),
      );
    }

    await load();
  }

  // ---------- Request logs (own, or everyone's for admins) ----------

  const logsMemory = {
    user: { filters: {}, offset: 0 },
    admin: { filters: {}, offset: 0 },
  };
  const LOGS_LIMIT = 50;

  async function pageLogs(ctx, admin) {
    const base = admin ? '/api/admin/logs' : '/api/logs';
    const mem = admin ? logsMemory.admin : logsMemory.user;
    // Deep links such as #/admin/logs?user_id=3 replace the remembered filters.
    if ([...ctx.query.keys()].length) {
      mem.filters = Object.fromEntries(ctx.query.entries());
      mem.offset = 0;
    }
    const f = mem.filters;
    const page = { offset: mem.offset, limit: LOGS_LIMIT, total: 0 };
    let lookups = null;
    let keys = [];

    const inputs = {
      model: input('logs-filter-model', { value: f.model || '', placeholder: 'gpt-4o' }),
      status: input('logs-filter-status', {
        value: f.status || '',
        inputmode: 'numeric',
        placeholder: '200',
        list: 'status-codes',
      }),
      since: input('logs-filter-since', { value: f.since || '', placeholder: 'YYYY-MM-DD' }),
      until: input('logs-filter-until', { value: f.until || '', placeholder: 'YYYY-MM-DD' }),
    };
    if (admin) {
      inputs.user_id = input('logs-filter-user', { value: f.user_id || '', inputmode: 'numeric', placeholder: '1' });
      inputs.channel_id = input('logs-filter-channel', { value: f.channel_id || '', inputmode: 'numeric', placeholder: '1' });
      inputs.key_id = input('logs-filter-key', { value: f.key_id || '', inputmode: 'numeric', placeholder: '1' });
      inputs.request_id = input('logs-filter-request', {
        value: f.request_id || '',
        placeholder: t('logs.requestIdPlaceholder'),
      });
    } else {
      inputs.key_id = select('logs-filter-key', [['', t('logs.allKeys')]], f.key_id || '');
    }
    const statusList = h(
      'datalist',
      { id: 'status-codes' },
      ['200', '400', '401', '403', '404', '429', '500', '502', '503', '504'].map((c) => h('option', { value: c })),
    );
    const exportLink = admin
      ? h(
          'a',
          { class: 'btn secondary', testid: 'logs-export', href: '/api/admin/logs/export', download: 'logs.csv' },
          t('logs.export'),
        )
      : null;
    const err = formError('logs-filter-error');
    const listBox = h('div', null, loading());
    const applyBtn = h('button', { type: 'submit', class: 'btn primary', testid: 'logs-apply' }, t('common.apply'));

    const filterForm = h(
      'form',
      {
        class: 'filters card',
        novalidate: true,
        onsubmit: (e) => {
          e.preventDefault();
          mem.filters = {};
          for (const [k, el] of Object.entries(inputs)) if (el.value.trim()) mem.filters[k] = el.value.trim();
          page.offset = 0;
          mem.offset = 0;
          load();
        },
      },
      statusList,
      h(
        'div',
        { class: 'filter-grid' },
        field(t('logs.model'), inputs.model),
        field(t('logs.status'), inputs.status),
        field(t('logs.since'), inputs.since),
        field(t('logs.until'), inputs.until),
        admin ? field(t('logs.userId'), inputs.user_id) : null,
        admin ? field(t('logs.channelId'), inputs.channel_id) : null,
        field(admin ? t('logs.keyId') : t('logs.key'), inputs.key_id),
        admin ? field(t('logs.requestId'), inputs.request_id) : null,
      ),
      h('small', { class: 'help' }, t('logs.filterHelp')),
      err,
      h(
        'div',
        { class: 'form-actions left' },
        applyBtn,
        button(t('common.reset'), 'logs-reset', () => {
          for (const el of Object.values(inputs)) el.value = '';
          mem.filters = {};
          page.offset = 0;
          mem.offset = 0;
          load();
        }),
        exportLink,
      ),
    );
    ctx.el.append(
      pageHead(admin ? t('logs.adminTitle') : t('logs.title'), admin ? t('logs.adminSubtitle') : t('logs.subtitle')),
      filterForm,
      card(null, listBox),
    );

    if (admin) {
      lookups = await adminLookups();
    } else {
      try {
        keys = (await api.get('/api/keys')).data || [];
      } catch (_) {
        keys = [];
      }
      if (!ctx.alive()) return;
      for (const k of keys) inputs.key_id.appendChild(h('option', { value: String(k.id) }, `${k.name} (${k.prefix}…)`));
      inputs.key_id.value = f.key_id || '';
    }
    if (!ctx.alive()) return;

    function query() {
      const m = mem.filters;
      const q = {
        model: m.model,
        key_id: m.key_id,
        status: m.status !== undefined ? parseIntField(m.status) : undefined,
        since: parseTimeInput(m.since),
        until: parseTimeInput(m.until, true),
      };
      if (admin) {
        q.user_id = m.user_id !== undefined ? parseIntField(m.user_id) : undefined;
        q.channel_id = m.channel_id !== undefined ? parseIntField(m.channel_id) : undefined;
        q.key_id = m.key_id !== undefined ? parseIntField(m.key_id) : undefined;
        q.request_id = m.request_id;
      }
      return q;
    }

    async function load() {
      err.hidden = true;
      let q;
      try {
        q = query();
      } catch (e) {
        return showFormError(err, e);
      }
      if (exportLink) {
        const p = new URLSearchParams();
        for (const [k, v] of Object.entries(q)) if (v !== null && v !== undefined && v !== '') p.append(k, String(v));
        const qs = p.toString();
        exportLink.setAttribute('href', '/api/admin/logs/export' + (qs ? '?' + qs : ''));
      }
      try {
        const res = await api.get(base, Object.assign({}, q, { limit: page.limit, offset: page.offset }));
        if (!ctx.alive()) return;
        page.total = Number(res.total) || 0;
        render(res.data || []);
      } catch (e) {
        if (!ctx.alive()) return;
        listBox.replaceChildren(errorBox(e.message));
      }
    }

    function render(rows) {
      const cols = [
        { label: t('logs.time'), cell: (r) => h('span', { class: 'nowrap' }, fmtTime(r.time)) },
        { label: t('logs.requestId'), cell: (r) => mono(shorten(r.request_id, 14), r.request_id) },
      ];
      if (admin) {
        cols.push({ label: t('common.user'), cell: (r) => userLabel(lookups.userMap, r.user_id) });
        cols.push({ label: t('logs.channel'), cell: (r) => channelLabel(lookups.channelMap, r.channel_id) });
      }
      cols.push(
        { label: t('logs.key'), cell: (r) => r.key_name || (r.key_id !== null && r.key_id !== undefined ? '#' + r.key_id : '—') },
        {
          label: t('logs.model'),
          cell: (r) =>
            h(
              'span',
              null,
              r.model || '—',
              r.upstream_model && r.upstream_model !== r.model
                ? h('div', { class: 'muted small' }, '→ ' + r.upstream_model)
                : null,
            ),
        },
        {
          label: t('logs.tokensIn'),
          cls: 'num',
          cell: (r) =>
            h(
              'span',
              null,
              fmtInt(r.prompt_tokens),
              r.cached_tokens ? h('div', { class: 'muted small' }, t('logs.cached', { n: fmtInt(r.cached_tokens) })) : null,
            ),
        },
        { label: t('logs.tokensOut'), cls: 'num', cell: (r) => fmtInt(r.completion_tokens) },
        { label: t('logs.cost'), cls: 'num', cell: (r) => formatMoney(r.cost) },
        { label: t('logs.status'), cell: (r) => statusBadge(r.status) },
        {
          label: t('logs.latency'),
          cls: 'num',
          cell: (r) =>
            h(
              'span',
              { class: 'nowrap' },
              t('common.ms', { n: fmtInt(r.latency_ms) }),
              r.ttft_ms !== null && r.ttft_ms !== undefined
                ? h('div', { class: 'muted small' }, t('logs.ttft', { n: fmtInt(r.ttft_ms) }))
                : null,
            ),
        },
        { label: t('logs.stream'), cell: (r) => yesNo(r.stream) },
        { label: t('logs.retries'), cls: 'num', cell: (r) => String(r.retries === undefined ? 0 : r.retries) },
        { label: t('logs.ip'), cell: (r) => r.client_ip || '—' },
        {
          label: t('logs.error'),
          cell: (r) => (r.error ? h('span', { class: 'err-text', title: r.error }, shorten(r.error, 60)) : ''),
        },
      );
      const tableEl = table('logs-table', cols, rows, {
        rowAttrs: (r) => ({
          testid: 'log-row',
          'data-request-id': r.request_id,
          class: 'clickable',
          title: t('logs.clickDetails'),
        }),
        onRow: (tr, r) =>
          tr.addEventListener('click', () => {
            const next = tr.nextElementSibling;
            if (next && next.classList.contains('detail-row')) {
              next.remove();
              return;
            }
            tr.after(h('tr', { class: 'detail-row' }, h('td', { colspan: cols.length }, detailGrid(r))));
          }),
        empty: t('logs.empty'),
      });
      listBox.replaceChildren(
        tableEl,
        pager('logs', page, (off) => {
          page.offset = off;
          mem.offset = off;
          load();
        }),
      );
    }

    function detailGrid(r) {
      const fields = [
        'request_id',
        'time',
        'user_id',
        'key_id',
        'key_name',
        'channel_id',
        'model',
        'upstream_model',
        'prompt_tokens',
        'cached_tokens',
        'completion_tokens',
        'cost',
        'status',
        'stream',
        'retries',
        'latency_ms',
        'ttft_ms',
        'client_ip',
        'error',
      ];
      return h(
        'dl',
        { class: 'detail-grid', testid: 'log-detail' },
        fields.map((k) => {
          let v = r[k];
          if (k === 'cost') v = formatMoney(v) + ' (' + v + ')';
          else if (k === 'time') v = fmtTime(v) + ' (' + v + ')';
          else if (v === null || v === undefined || v === '') v = '—';
          return [h('dt', null, k), h('dd', { class: k === 'error' ? 'err-text pre' : '' }, String(v))];
        }),
      );
    }

    await load();
  }

  // ---------- Usage ----------

  const usageMemory = {
    user: { since: '', until: '', metric: 'requests' },
    admin: { since: '', until: '', metric: 'requests', dims: ['day', 'model'] },
  };

  /** SVG bar chart: one <rect data-testid="usage-bar" data-value=N> per bucket. */
  function barChart(buckets, metric) {
    const W = 640;
    const H = 240;
    const padL = 64;
    const padR = 10;
    const padT = 14;
    const padB = 34;
    const fmt = (v) => (metric === 'cost' ? formatMoney(Math.round(v)) : fmtInt(Math.round(v * 10) / 10));
    const chart = svg('svg', {
      viewBox: `0 0 ${W} ${H}`,
      class: 'chart',
      testid: 'usage-chart',
      role: 'img',
      'aria-label': t('usage.chartLabel', { metric: t('usage.metric.' + metric) }),
      'data-metric': metric,
      preserveAspectRatio: 'xMidYMid meet',
    });
    const plotH = H - padT - padB;
    const plotW = W - padL - padR;
    const values = buckets.map((b) => b.value);
    const max = Math.max(0, ...values) || 1;
    for (const frac of [0, 0.5, 1]) {
      const y = padT + plotH - frac * plotH;
      chart.appendChild(svg('line', { x1: padL, x2: W - padR, y1: y, y2: y, class: 'grid' }));
      chart.appendChild(svg('text', { x: padL - 6, y: y + 4, class: 'axis', 'text-anchor': 'end' }, fmt(max * frac)));
    }
    if (!buckets.length) {
      chart.appendChild(
        svg(
          'text',
          { x: padL + plotW / 2, y: padT + plotH / 2, class: 'axis empty', 'text-anchor': 'middle' },
          t('usage.noData'),
        ),
      );
      return chart;
    }
    const slot = plotW / buckets.length;
    const bw = Math.max(1, Math.min(44, slot * 0.7));
    const every = Math.max(1, Math.ceil(buckets.length / 8));
    buckets.forEach((b, i) => {
      const hgt = b.value > 0 ? Math.max(1, (b.value / max) * plotH) : 0;
      const x = padL + i * slot + (slot - bw) / 2;
      const y = padT + plotH - hgt;
      chart.appendChild(
        svg(
          'rect',
          {
            x: x.toFixed(2),
            y: y.toFixed(2),
            width: bw.toFixed(2),
            height: hgt.toFixed(2),
            rx: Math.min(3, bw / 3).toFixed(2),
            class: 'bar',
            testid: 'usage-bar',
            'data-value': b.value,
            'data-day': b.label,
          },
          svg('title', null, `${b.label}: ${fmt(b.value)}`),
        ),
      );
      if (i % every === 0) {
        chart.appendChild(
          svg(
            'text',
            { x: (x + bw / 2).toFixed(2), y: H - padB + 16, class: 'axis', 'text-anchor': 'middle' },
            b.label.length === 10 ? b.label.slice(5) : b.label,
          ),
        );
      }
    });
    return chart;
  }

  async function pageUsage(ctx, admin) {
    const base = admin ? '/api/admin/usage' : '/api/usage';
    const mem = admin ? usageMemory.admin : usageMemory.user;
    let lookups = null;
    let dayRows = [];

    const since = input('usage-since', { value: mem.since, placeholder: 'YYYY-MM-DD' });
    const until = input('usage-until', { value: mem.until, placeholder: 'YYYY-MM-DD' });
    const metric = select(
      'usage-metric',
      [
        ['requests', t('usage.metric.requests')],
        ['cost', t('usage.metric.cost')],
        ['tokens', t('usage.metric.tokens')],
      ],
      mem.metric,
      {
        onchange: () => {
          mem.metric = metric.value;
          drawChart();
        },
      },
    );
    const dimBoxes = {};
    if (admin) {
      for (const d of ['day', 'model', 'user', 'channel']) dimBoxes[d] = checkbox('usage-group-' + d, mem.dims.includes(d));
    }
    const err = formError('usage-filter-error');
    const totals = h('div', { class: 'stats' });
    const chartBox = h('div', { class: 'chart-box' }, loading());
    const tableBox = h('div', null, loading());

    const range = (days) => {
      since.value = days === null ? '' : localDay(-(days - 1));
      until.value = '';
      apply();
    };
    const form = h(
      'form',
      {
        class: 'filters card',
        novalidate: true,
        onsubmit: (e) => {
          e.preventDefault();
          apply();
        },
      },
      h(
        'div',
        { class: 'filter-grid' },
        field(t('usage.since'), since),
        field(t('usage.until'), until),
        admin
          ? h(
              'fieldset',
              { class: 'field dims' },
              h('legend', { class: 'field-label' }, t('usage.groupBy')),
              h(
                'div',
                { class: 'check-inline' },
                Object.entries(dimBoxes).map(([d, box]) =>
                  h('label', { class: 'check-row' }, box, h('span', null, t('usage.dim.' + d))),
                ),
              ),
            )
          : null,
      ),
      h('small', { class: 'help' }, t('usage.rangeHelp')),
      err,
      h(
        'div',
        { class: 'form-actions left' },
        h('button', { type: 'submit', class: 'btn primary', testid: 'usage-apply' }, t('common.apply')),
        button(t('usage.last7'), 'usage-range-7', () => range(7), 'secondary small'),
        button(t('usage.last30'), 'usage-range-30', () => range(30), 'secondary small'),
        button(t('usage.allTime'), 'usage-range-all', () => range(null), 'secondary small'),
      ),
    );
    ctx.el.append(
      pageHead(admin ? t('usage.adminTitle') : t('usage.title'), admin ? t('usage.adminSubtitle') : t('usage.subtitle')),
      form,
      totals,
      card(
        null,
        h(
          'div',
          { class: 'card-head' },
          h('h2', { class: 'card-title' }, t('usage.perDay')),
          field(t('usage.show'), metric, null, 'inline'),
        ),
        chartBox,
      ),
      card(t('usage.details'), tableBox),
    );

    if (admin) {
      lookups = await adminLookups();
      if (!ctx.alive()) return;
    }

    function apply() {
      mem.since = since.value.trim();
      mem.until = until.value.trim();
      if (admin) mem.dims = Object.keys(dimBoxes).filter((d) => dimBoxes[d].checked);
      load();
    }

    function metricValue(b) {
      if (mem.metric === 'cost') return Number(b.cost) || 0;
      if (mem.metric === 'tokens') return (Number(b.prompt_tokens) || 0) + (Number(b.completion_tokens) || 0);
      return Number(b.requests) || 0;
    }

    function drawChart() {
      const buckets = dayRows.map((d) => ({ label: d.day, value: metricValue(d) }));
      chartBox.replaceChildren(barChart(buckets, mem.metric));
    }

    /** Sums buckets by day, oldest first. */
    function byDay(rows) {
      const m = new Map();
      for (const r of rows) {
        const day = r.day || '—';
        const cur = m.get(day) || { day, requests: 0, prompt_tokens: 0, completion_tokens: 0, cost: 0 };
        cur.requests += Number(r.requests) || 0;
        cur.prompt_tokens += Number(r.prompt_tokens) || 0;
        cur.completion_tokens += Number(r.completion_tokens) || 0;
        cur.cost += Number(r.cost) || 0;
        m.set(day, cur);
      }
      return Array.from(m.values()).sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
    }

    async function load() {
      err.hidden = true;
      let q;
      try {
        q = { since: parseTimeInput(mem.since), until: parseTimeInput(mem.until, true) };
      } catch (e) {
        return showFormError(err, e);
      }
      try {
        let tableRows;
        let dims;
        if (admin) {
          dims = mem.dims.slice();
          const [days, detail] = await Promise.all([
            api.get(base, Object.assign({ group_by: 'day' }, q)),
            api.get(base, Object.assign({ group_by: dims.join(',') }, q)),
          ]);
          if (!ctx.alive()) return;
          dayRows = byDay(days.data || []);
          tableRows = detail.data || [];
        } else {
          dims = ['day', 'model'];
          const res = await api.get(base, Object.assign({ group_by: 'day,model' }, q));
          if (!ctx.alive()) return;
          tableRows = res.data || [];
          dayRows = byDay(tableRows);
        }
        renderTotals();
        drawChart();
        renderTable(tableRows, dims);
      } catch (e) {
        if (!ctx.alive()) return;
        totals.replaceChildren();
        chartBox.replaceChildren(errorBox(e.message));
        tableBox.replaceChildren();
      }
    }

    function renderTotals() {
      let req = 0;
      let cost = 0;
      let tokens = 0;
      for (const d of dayRows) {
        req += d.requests;
        cost += d.cost;
        tokens += d.prompt_tokens + d.completion_tokens;
      }
      totals.replaceChildren(
        stat(t('usage.totalRequests'), fmtInt(req), 'usage-total-requests', req),
        stat(t('usage.totalCost'), formatMoney(cost), 'usage-total-cost', cost),
        stat(t('usage.totalTokens'), fmtInt(tokens), 'usage-total-tokens', tokens),
      );
    }

    function renderTable(rows, dims) {
      const sorted = rows.slice().sort((a, b) => {
        if ((a.day || '') !== (b.day || '')) return (a.day || '') < (b.day || '') ? 1 : -1;
        return (Number(b.cost) || 0) - (Number(a.cost) || 0);
      });
      const cols = [];
      if (dims.includes('day'))
        cols.push({ label: t('usage.dim.day'), cell: (r) => h('span', { class: 'nowrap' }, r.day || '—') });
      if (dims.includes('model')) cols.push({ label: t('usage.dim.model'), cell: (r) => r.model || '—' });
      if (dims.includes('user'))
        cols.push({ label: t('usage.dim.user'), cell: (r) => userLabel(lookups && lookups.userMap, r.user_id) });
      if (dims.includes('channel'))
        cols.push({ label: t('usage.dim.channel'), cell: (r) => channelLabel(lookups && lookups.channelMap, r.channel_id) });
      cols.push(
        { label: t('usage.requests'), cls: 'num', cell: (r) => fmtInt(r.requests) },
        { label: t('usage.promptTokens'), cls: 'num', cell: (r) => fmtInt(r.prompt_tokens) },
        { label: t('usage.completionTokens'), cls: 'num', cell: (r) => fmtInt(r.completion_tokens) },
        { label: t('usage.cost'), cls: 'num', cell: (r) => formatMoney(r.cost) },
      );
      tableBox.replaceChildren(
        table('usage-table', cols, sorted, { rowAttrs: () => ({ testid: 'usage-row' }), empty: t('usage.noData') }),
      );
    }

    await load();
  }

  // ---------- Playground ----------

  // Kept across page changes: the conversation survives navigation. `redraw` belongs to the newest playground view.
  const pg = { messages: [], model: '', system: '', streaming: false, controller: null, redraw: null };

  function resetPlayground() {
    if (pg.controller) pg.controller.abort();
    pg.messages = [];
    pg.model = '';
    pg.system = '';
  }

  /** Reads an SSE body, calling onData(json) for every `data:` event until `[DONE]` or the end. */
  async function readSse(body, onData) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    let data = [];
    const dispatch = () => {
      if (!data.length) return false;
      const payload = data.join('\n');
      data = [];
      if (payload.trim() === '[DONE]') return true;
      let obj;
      try {
        obj = JSON.parse(payload);
      } catch (_) {
        return false;
      }
      onData(obj);
      return false;
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        let line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (line === '') {
          if (dispatch()) {
            reader.cancel().catch(() => {});
            return;
          }
        } else if (line.startsWith('data:')) {
          data.push(line.slice(5).replace(/^ /, ''));
        }
      }
    }
    buf += decoder.decode();
    if (buf.startsWith('data:'))
      data.push(
        buf
          .slice(5)
          .replace(/^ /, '')
          .replace(/\r?\n?$/, ''),
      );
    dispatch();
  }

  async function pagePlayground(ctx) {
    const modelSel = select('pg-model', [], '', {
      onchange: () => {
        pg.model = modelSel.value;
      },
    });
    const system = textarea('pg-system', {
      value: pg.system,
      rows: 2,
      placeholder: t('pg.systemPlaceholder'),
      oninput: () => (pg.system = system.value),
    });
    const messagesEl = h('div', { class: 'chat', testid: 'pg-messages', 'aria-live': 'polite' });
    const promptEl = textarea('pg-input', { rows: 3, placeholder: t('pg.inputPlaceholder') });
    const errEl = h('div', { class: 'form-error', testid: 'pg-error', role: 'alert', hidden: true });
    const sendBtn = h('button', { type: 'submit', class: 'btn primary', testid: 'pg-send' }, t('pg.send'));
    const stopBtn = button(t('pg.stop'), 'pg-stop', () => pg.controller && pg.controller.abort(), 'secondary', { hidden: true });
    const clearBtn = button(
      t('pg.clear'),
      'pg-clear',
      () => {
        if (pg.streaming) return;
        pg.messages = [];
        errEl.hidden = true;
        drawMessages();
      },
      'ghost',
    );

    promptEl.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        send();
      }
    });

    const form = h(
      'form',
      {
        class: 'chat-form',
        novalidate: true,
        onsubmit: (e) => {
          e.preventDefault();
          send();
        },
      },
      promptEl,
      h('div', { class: 'form-actions' }, h('small', { class: 'help grow' }, t('pg.enterHelp')), clearBtn, stopBtn, sendBtn),
    );
    ctx.el.append(
      pageHead(t('pg.title'), t('pg.subtitle')),
      h(
        'div',
        { class: 'card playground' },
        h('div', { class: 'grid-2 tight' }, field(t('pg.model'), modelSel), field(t('pg.system'), system, t('pg.systemHelp'))),
        messagesEl,
        errEl,
        form,
      ),
    );

    function bubble(role, text) {
      return h(
        'div',
        { class: 'msg ' + role, 'data-role': role },
        h('div', { class: 'msg-role' }, role === 'user' ? t('pg.you') : t('pg.assistant')),
        h('div', { class: 'msg-text' }, text),
      );
    }

    /** Only the newest assistant message carries data-testid="pg-output". */
    function markOutput() {
      const all = $$('.msg.assistant .msg-text', messagesEl);
      for (const el of all) el.removeAttribute('data-testid');
      if (all.length) all[all.length - 1].setAttribute('data-testid', 'pg-output');
    }

    function drawMessages() {
      messagesEl.replaceChildren();
      if (!pg.messages.length) messagesEl.appendChild(h('div', { class: 'chat-empty muted' }, t('pg.empty')));
      for (const m of pg.messages) messagesEl.appendChild(bubble(m.role, m.content));
      markOutput();
      messagesEl.scrollTop = messagesEl.scrollHeight;
    }

    function setStreaming(on) {
      pg.streaming = on;
      sendBtn.disabled = on;
      stopBtn.hidden = !on;
      clearBtn.disabled = on;
      modelSel.disabled = on;
    }

    function showErr(msg) {
      errEl.textContent = msg;
      errEl.hidden = false;
    }

    async function send() {
      if (pg.streaming) return;
      const text = promptEl.value.trim();
      if (!text) return;
      const model = modelSel.value;
      if (!model) return showErr(t('pg.noModel'));
      errEl.hidden = true;
      pg.model = model;
      pg.messages.push({ role: 'user', content: text });
      promptEl.value = '';
      drawMessages();
      const reply = bubble('assistant', '');
      reply.classList.add('streaming');
      const replyText = $('.msg-text', reply);
      messagesEl.appendChild(reply);
      markOutput();

      const messages = (pg.system.trim() ? [{ role: 'system', content: pg.system.trim() }] : []).concat(pg.messages);
      const controller = new AbortController();
      pg.controller = controller;
      setStreaming(true);
      let acc = '';
      let failed = null;
      try {
        const res = await fetch('/api/playground/chat/completions', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream', 'X-CSRF-Token': api.csrf || '' },
          body: JSON.stringify({ model, messages, stream: true }),
          signal: controller.signal,
        });
        if (!res.ok) {
          const { message } = errorMessageFrom(res.status, await res.text());
          if (res.status === 401) onUnauthorized();
          throw new Error(message);
        }
        const type = res.headers.get('content-type') || '';
        const onText = (d) => {
          acc += d;
          replyText.textContent = acc;
          messagesEl.scrollTop = messagesEl.scrollHeight;
        };
        if (type.includes('application/json')) {
          const data = await res.json();
          const c = data && data.choices && data.choices[0];
          onText((c && c.message && c.message.content) || '');
        } else {
          await readSse(res.body, (chunk) => {
            if (chunk.error) throw new Error(chunk.error.message || t('pg.streamError'));
            const c = chunk.choices && chunk.choices[0];
            const d = c && c.delta && c.delta.content;
            if (typeof d === 'string' && d) onText(d);
          });
        }
      } catch (e) {
        failed = e;
      } finally {
        pg.controller = null;
        setStreaming(false);
        reply.classList.remove('streaming');
      }
      const aborted = failed && failed.name === 'AbortError';
      if (failed && !aborted) showErr(failed.message || String(failed));
      if (acc) {
        pg.messages.push({ role: 'assistant', content: acc });
      } else if (failed) {
        // Nothing came back: take the question out of the history and give it back to the user to retry.
        pg.messages.pop();
        if (!promptEl.value) promptEl.value = text;
        drawMessages();
      }
      // The user may have left and come back while this answer streamed: refresh the view now showing.
      if (!document.contains(messagesEl) && pg.redraw) pg.redraw();
    }

    pg.redraw = () => {
      if (!document.contains(messagesEl)) return;
      drawMessages();
      setStreaming(pg.streaming);
    };

    drawMessages();
    setStreaming(pg.streaming);
    try {
      const res = await api.get('/api/playground/models');
      if (!ctx.alive()) return;
      const ids = (res.data || [])
        .map((m) => m.id)
        .filter(Boolean)
        .sort();
      modelSel.replaceChildren(...ids.map((id) => h('option', { value: id }, id)));
      if (!ids.length) {
        modelSel.appendChild(h('option', { value: '' }, t('pg.noModels')));
        showErr(t('pg.noModelsHelp'));
      }
      if (pg.model && ids.includes(pg.model)) modelSel.value = pg.model;
      pg.model = modelSel.value;
    } catch (e) {
      if (!ctx.alive()) return;
      showErr(e.message);
    }
  }

  // ---------- Redeem ----------

  async function pageRedeem(ctx) {
    const code = input('redeem-code', { placeholder: t('redeem.placeholder'), autocomplete: 'off' });
    const result = h('div', { class: 'result', testid: 'redeem-result', 'aria-live': 'polite', hidden: true });
    const submit = h('button', { type: 'submit', class: 'btn primary', testid: 'redeem-submit' }, t('redeem.submit'));
    const balance = h('span', { testid: 'redeem-balance' }, state.session.user ? formatMoney(state.session.user.balance) : '—');
    const form = h(
      'form',
      {
        class: 'form',
        novalidate: true,
        onsubmit: (e) => {
          e.preventDefault();
          const c = code.value.trim();
          if (!c) return;
          busy(submit, async () => {
            try {
              const res = await api.post('/api/redeem', { code: c });
              if (state.session && state.session.user) state.session.user.balance = res.balance;
              balance.textContent = formatMoney(res.balance);
              result.textContent = t('redeem.success', { amount: formatMoney(res.amount), balance: formatMoney(res.balance) });
              result.setAttribute('data-kind', 'success');
              result.className = 'result success';
              result.hidden = false;
              code.value = '';
              toast(t('redeem.toast', { amount: formatMoney(res.amount) }));
            } catch (ex) {
              result.textContent = ex.message;
              result.setAttribute('data-kind', 'error');
              result.className = 'result error';
              result.hidden = false;
              toastError(ex);
            }
          });
        },
      },
      field(t('redeem.code'), code, t('redeem.help')),
      h('div', { class: 'form-actions left' }, submit),
      result,
    );
    ctx.el.append(
      pageHead(t('redeem.title'), t('redeem.subtitle')),
      h('div', { class: 'narrow' }, card(null, h('p', { class: 'muted' }, t('redeem.current'), ' ', balance), form)),
    );
    if (state.session.user) {
      try {
        const me = await api.get('/api/me');
        if (!ctx.alive()) return;
        state.session.user = Object.assign({}, state.session.user, me);
        balance.textContent = formatMoney(me.balance);
      } catch (_) {
        /* keep the session's figure */
      }
    }
  }

  // ---------- Admin: channels ----------

  const CHANNEL_KINDS = ['openai', 'azure', 'anthropic', 'gemini', 'midjourney'];
  const BASE_URL_HINTS = {
    openai: 'https://api.openai.com',
    azure: 'https://YOUR-RESOURCE.openai.azure.com',
    anthropic: 'https://api.anthropic.com',
    gemini: 'https://generativelanguage.googleapis.com',
    midjourney: 'http://midjourney-proxy:8080',
  };

  function parseMapping(text) {
    const s = String(text || '').trim();
    if (!s) return {};
    if (s.startsWith('{')) {
      let obj;
      try {
        obj = JSON.parse(s);
      } catch (_) {
        throw new Error(t('channels.mappingInvalid'));
      }
      if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new Error(t('channels.mappingInvalid'));
      return obj;
    }
    const out = {};
    for (const line of s.split('\n')) {
      const l = line.trim();
      if (!l) continue;
      const m = /^(.+?)\s*(?:=>|->|=|:)\s*(.+)$/.exec(l);
      if (!m) throw new Error(t('channels.mappingLine', { line: l }));
      out[m[1].trim()] = m[2].trim();
    }
    return out;
  }

  function parseHeaders(text) {
    const out = {};
    for (const line of String(text || '').split('\n')) {
      const l = line.trim();
      if (!l) continue;
      const i = l.indexOf(':');
      if (i <= 0) throw new Error(t('channels.headerLine', { line: l }));
      out[l.slice(0, i).trim()] = l.slice(i + 1).trim();
    }
    return out;
  }

  function channelHealth(c) {
    let key;
    let kind;
    if (!c.enabled) {
      key = 'disabled';
      kind = 'muted';
    } else if (c.health === 'healthy') {
      key = 'healthy';
      kind = 'ok';
    } else {
      key = 'unhealthy';
      kind = 'err';
    }
    return badge(t('health.' + key), kind, {
      testid: 'channel-health',
      'data-health': c.health,
      'data-enabled': String(!!c.enabled),
      title: c.last_error || undefined,
    });
  }

  async function pageChannels(ctx) {
    const listBox = h('div', null, loading());
    ctx.el.append(
      pageHead(
        t('channels.title'),
        t('channels.subtitle'),
        button(t('channels.create'), 'channel-create-open', () => openForm(null), 'primary'),
      ),
      card(null, listBox),
    );

    async function load() {
      try {
        const res = await api.get('/api/admin/channels');
        if (!ctx.alive()) return;
        render(res.data || []);
      } catch (e) {
        if (!ctx.alive()) return;
        listBox.replaceChildren(errorBox(e.message));
      }
    }

    function render(channels) {
      const sorted = channels.slice().sort((a, b) => (b.priority || 0) - (a.priority || 0) || a.id - b.id);
      const cols = [
        { label: t('common.id'), cls: 'num', cell: (c) => '#' + c.id },
        {
          label: t('channels.name'),
          cell: (c) =>
            h(
              'span',
              null,
              h('span', { class: 'strong' }, c.name),
              h('div', { class: 'muted small wrap-cell narrow-cell' }, c.base_url),
            ),
        },
        { label: t('channels.kind'), cell: (c) => badge(c.kind, 'info') },
        {
          label: t('channels.models'),
          cell: (c) => {
            const ms = c.models || [];
            if (!ms.length) return muted(t('channels.noModels'));
            return h(
              'span',
              { class: 'wrap-cell narrow-cell', title: ms.join(', ') },
              shorten(ms.join(', '), 80),
              ms.length > 3 ? muted(` (${ms.length})`) : null,
            );
          },
        },
        { label: t('channels.groups'), cell: (c) => (c.groups || []).join(', ') },
        { label: t('channels.priorityWeight'), cls: 'num', cell: (c) => `${c.priority} / ${c.weight}` },
        {
          label: t('channels.keys'),
          cell: (c) => {
            const st = c.key_status || [];
            const bad = st.filter((k) => !k.healthy).length;
            const title = st
              .map(
                (k) =>
                  `${k.key}: ${k.healthy ? t('health.healthy') : t('health.unhealthy')}${k.disabled_reason ? ' — ' + k.disabled_reason : ''}`,
              )
              .join('\n');
            return h(
              'span',
              { title },
              t('channels.keyCount', { n: (c.keys || []).length }),
              bad ? h('div', { class: 'err-text small' }, t('channels.badKeys', { n: bad })) : null,
            );
          },
        },
        {
          label: t('channels.health'),
          cell: (c) =>
            h(
              'span',
              null,
              channelHealth(c),
              c.last_error ? h('div', { class: 'muted small err-line', title: c.last_error }, shorten(c.last_error, 60)) : null,
            ),
        },
        {
          label: t('channels.test'),
          cell: (c) => {
            const out = h('span', { class: 'test-result', testid: 'channel-test-result', 'aria-live': 'polite' });
            const btn = button(t('channels.test'), 'channel-test', () => runTest(c, btn, out), 'secondary small');
            return h('div', { class: 'test-cell' }, btn, out);
          },
        },
        {
          label: t('common.actions'),
          cls: 'actions',
          cell: (c) =>
            h(
              'div',
              { class: 'row-actions' },
              button(t('common.edit'), 'channel-edit', () => openForm(c), 'ghost small'),
              button(
                c.enabled ? t('channels.disable') : t('channels.enable'),
                'channel-toggle',
                (e) => toggle(c, e.currentTarget),
                'ghost small',
                { 'data-enabled': String(!!c.enabled) },
              ),
              button(t('common.delete'), 'channel-delete', () => remove(c), 'ghost small danger-text'),
            ),
        },
      ];
      listBox.replaceChildren(
        table('channels-table', cols, sorted, {
          rowAttrs: (c) => ({
            testid: 'channel-row',
            'data-channel-id': c.id,
            'data-channel-name': c.name,
            class: c.enabled ? '' : 'dim',
          }),
          empty: t('channels.empty'),
        }),
      );
    }

    async function runTest(c, btn, out) {
      out.textContent = t('channels.testing');
      out.className = 'test-result';
      out.removeAttribute('data-ok');
      await busy(btn, async () => {
        try {
          const r = await api.post(`/api/admin/channels/${c.id}/test`);
          if (r && r.ok) {
            out.textContent = t('channels.testOk', { ms: fmtInt(r.latency_ms), model: r.model || '' });
            out.className = 'test-result ok';
          } else {
            out.textContent = t('channels.testFail', { error: (r && r.error) || t('common.unknownError') });
            out.className = 'test-result err';
          }
          out.setAttribute('data-ok', String(!!(r && r.ok)));
          out.setAttribute('data-latency', r ? r.latency_ms : '');
        } catch (e) {
          out.textContent = t('channels.testFail', { error: e.message });
          out.className = 'test-result err';
          out.setAttribute('data-ok', 'false');
        }
      });
    }

    async function toggle(c, btn) {
      await busy(btn, async () => {
        try {
          await api.patch(`/api/admin/channels/${c.id}`, { enabled: !c.enabled });
          toast(c.enabled ? t('channels.disabledToast', { name: c.name }) : t('channels.enabledToast', { name: c.name }));
          await load();
        } catch (e) {
          toastError(e);
        }
      });
    }

    async function remove(c) {
      if (!(await confirmDialog(t('channels.confirmDelete', { name: c.name }), { ok: t('common.delete') }))) return;
      try {
        await api.del(`/api/admin/channels/${c.id}`);
        toast(t('channels.deleted', { name: c.name }));
        await load();
      } catch (e) {
        toastError(e);
      }
    }

    function openForm(existing) {
      const editing = !!existing;
      const c = existing || {};
      const kind = select(
        'channel-kind',
        CHANNEL_KINDS.map((k) => [k, t('kind.' + k)]),
        c.kind || 'openai',
      );
      const name = input('channel-name', { value: c.name || '', placeholder: t('channels.namePlaceholder') });
      const baseUrl = input('channel-base-url', {
        value: c.base_url || '',
        type: 'url',
        placeholder: BASE_URL_HINTS[c.kind || 'openai'],
      });
      const apiVersion = input('channel-api-version', { value: c.api_version || '', placeholder: '2024-10-21' });
      const keys = textarea('channel-keys', { rows: 3, placeholder: editing ? t('channels.keysKeepPlaceholder') : 'sk-...' });
      const models = textarea('channel-models', {
        rows: 3,
        value: (c.models || []).join('\n'),
        placeholder: 'gpt-4o\ngpt-4o-mini',
      });
      const fetchBtn = button(t('channels.fetchModels'), 'channel-fetch-models', () => fetchModels(), 'secondary small');
      const mapping = textarea('channel-mapping', {
        rows: 2,
        value: Object.entries(c.model_mapping || {})
          .map(([a, b]) => `${a}=${b}`)
          .join('\n'),
        placeholder: 'gpt-4o=gpt-4o-2024-08-06',
      });
      const groups = input('channel-groups', { value: (c.groups || ['default']).join(', '), placeholder: 'default, vip' });
      const priority = input('channel-priority', {
        type: 'number',
        value: String(c.priority === undefined ? 0 : c.priority),
        step: '1',
      });
      const weight = input('channel-weight', {
        type: 'number',
        value: String(c.weight === undefined ? 1 : c.weight),
        min: '0',
        step: '1',
      });
      const enabled = checkbox('channel-enabled', editing ? c.enabled : true);
      const modeBoxes = ['fast', 'relax', 'turbo'].map((m) => [
        m,
        checkbox('channel-mode-' + m, !c.modes || c.modes.includes(m)),
      ]);
      const headers = textarea('channel-headers', {
        rows: 2,
        value: Object.entries(c.headers || {})
          .map(([k, v]) => `${k}: ${v}`)
          .join('\n'),
        placeholder: 'X-Org: example',
      });
      const forwardImages = checkbox('channel-forward-images', !!c.forward_image_urls);
      const err = formError('channel-form-error');
      const submit = h(
        'button',
        { type: 'submit', class: 'btn primary', testid: editing ? 'channel-save-submit' : 'channel-create-submit' },
        editing ? t('common.save') : t('channels.createSubmit'),
      );

      const azureBox = h('div', null, field(t('channels.apiVersion'), apiVersion, t('channels.apiVersionHelp')));
      const mjBox = h(
        'fieldset',
        { class: 'field' },
        h('legend', { class: 'field-label' }, t('channels.modes')),
        h(
          'div',
          { class: 'check-inline' },
          modeBoxes.map(([m, box]) => h('label', { class: 'check-row' }, box, h('span', null, m))),
        ),
        h('small', { class: 'help' }, t('channels.modesHelp')),
      );
      const anthropicBox = h(
        'div',
        null,
        checkField(t('channels.forwardImages'), forwardImages, t('channels.forwardImagesHelp')),
      );
      const syncKind = () => {
        const k = kind.value;
        azureBox.hidden = k !== 'azure';
        mjBox.hidden = k !== 'midjourney';
        anthropicBox.hidden = k !== 'anthropic';
        baseUrl.placeholder = BASE_URL_HINTS[k] || '';
      };
      kind.addEventListener('change', syncKind);
      syncKind();

      async function fetchModels() {
        err.hidden = true;
        const key = parseLines(keys.value)[0];
        let body;
        if (!key && editing) {
          // The stored keys are write-only: the server fetches with the channel's own first key.
          body = { channel_id: c.id };
        } else {
          if (!baseUrl.value.trim()) return showFormError(err, new Error(t('channels.needBaseUrl')));
          if (!key) return showFormError(err, new Error(t('channels.needKeyForFetch')));
          body = { kind: kind.value, base_url: baseUrl.value.trim(), key };
          if (kind.value === 'azure' && apiVersion.value.trim()) body.api_version = apiVersion.value.trim();
        }
        await busy(fetchBtn, async () => {
          try {
            const res = await api.post('/api/admin/channels/fetch-models', body);
            const list = (res.data || []).map((m) => (typeof m === 'string' ? m : m && m.id)).filter(Boolean);
            models.value = list.join('\n');
            toast(t('channels.fetched', { n: list.length }));
          } catch (e) {
            showFormError(err, e);
            toastError(e);
          }
        });
      }

      const form = h(
        'form',
        {
          class: 'form',
          novalidate: true,
          onsubmit: (ev) => {
            ev.preventDefault();
            err.hidden = true;
            let body;
            try {
              const k = kind.value;
              const nm = name.value.trim();
              if (!nm) throw new Error(t('channels.needName'));
              if (!baseUrl.value.trim()) throw new Error(t('channels.needBaseUrl'));
              const keyList = parseLines(keys.value);
              if (!editing && !keyList.length) throw new Error(t('channels.needKeys'));
              const groupList = parseList(groups.value);
              body = {
                name: nm,
                kind: k,
                base_url: baseUrl.value.trim(),
                models: parseList(models.value),
                model_mapping: parseMapping(mapping.value),
                groups: groupList.length ? groupList : ['default'],
                priority: parseIntField(priority.value) || 0,
                weight: parseIntField(weight.value, { min: 0 }),
                enabled: enabled.checked,
                headers: parseHeaders(headers.value),
              };
              if (body.weight === null) body.weight = 1;
              if (keyList.length) body.keys = keyList;
              if (k === 'azure') body.api_version = apiVersion.value.trim() || null;
              else if (editing && c.api_version) body.api_version = null;
              if (k === 'midjourney') {
                const ms = modeBoxes.filter(([, b]) => b.checked).map(([m]) => m);
                body.modes = ms.length ? ms : null;
              } else if (editing && c.modes) body.modes = null;
              if (k === 'anthropic') body.forward_image_urls = forwardImages.checked;
            } catch (ex) {
              return showFormError(err, ex);
            }
            busy(submit, async () => {
              try {
                if (editing) await api.patch(`/api/admin/channels/${c.id}`, body);
                else await api.post('/api/admin/channels', body);
                close();
                toast(editing ? t('channels.saved', { name: body.name }) : t('channels.created', { name: body.name }));
                await load();
              } catch (ex) {
                showFormError(err, ex);
                toastError(ex);
              }
            });
          },
        },
        h('div', { class: 'grid-2 tight' }, field(t('channels.name'), name), field(t('channels.kind'), kind)),
        field(t('channels.baseUrl'), baseUrl, t('channels.baseUrlHelp')),
        azureBox,
        field(
          t('channels.keys'),
          keys,
          editing ? t('channels.keysEditHelp', { keys: (c.keys || []).join(', ') || '—' }) : t('channels.keysHelp'),
        ),
        h('div', { class: 'field-with-action' }, field(t('channels.models'), models, t('channels.modelsHelp')), fetchBtn),
        field(t('channels.mapping'), mapping, t('channels.mappingHelp')),
        h(
          'div',
          { class: 'grid-3 tight' },
          field(t('channels.groups'), groups, t('channels.groupsHelp')),
          field(t('channels.priority'), priority, t('channels.priorityHelp')),
          field(t('channels.weight'), weight, t('channels.weightHelp')),
        ),
        mjBox,
        anthropicBox,
        h(
          'details',
          { class: 'more' },
          h('summary', null, t('channels.advanced')),
          field(t('channels.headers'), headers, t('channels.headersHelp')),
        ),
        checkField(t('channels.enabledLabel'), enabled),
        err,
        h(
          'div',
          { class: 'form-actions' },
          button(t('common.cancel'), 'channel-form-cancel', () => close()),
          submit,
        ),
      );
      const close = openModal(editing ? t('channels.editTitle', { name: c.name }) : t('channels.createTitle'), form, {
        testid: 'channel-form',
        wide: true,
      });
    }

    await load();
  }

  // ---------- Admin: users ----------

  async function pageUsers(ctx) {
    const page = { offset: 0, limit: 100, total: 0 };
    let groups = [];
    const listBox = h('div', null, loading());
    ctx.el.append(
      pageHead(
        t('users.title'),
        t('users.subtitle'),
        button(t('users.create'), 'user-create-open', () => openForm(null), 'primary'),
      ),
      card(null, listBox),
    );
    try {
      groups = ((await api.get('/api/admin/groups')).data || []).map((g) => g.name);
    } catch (_) {
      groups = [];
    }
    if (!ctx.alive()) return;
    if (!groups.includes('default')) groups.unshift('default');

    async function load() {
      try {
        const res = await api.get('/api/admin/users', { limit: page.limit, offset: page.offset });
        if (!ctx.alive()) return;
        page.total = Number(res.total) || 0;
        render(res.data || []);
      } catch (e) {
        if (!ctx.alive()) return;
        listBox.replaceChildren(errorBox(e.message));
      }
    }

    function render(users) {
      const cols = [
        { label: t('common.id'), cls: 'num', cell: (u) => '#' + u.id },
        { label: t('users.name'), cell: (u) => h('span', { class: 'strong' }, u.name) },
        {
          label: t('users.role'),
          cell: (u) =>
            badge(t('role.' + (u.role === 'admin' ? 'admin' : 'user')), u.role === 'admin' ? 'info' : '', {
              'data-role': u.role || 'user',
            }),
        },
        { label: t('users.group'), cell: (u) => u.group },
        {
          label: t('users.balance'),
          cls: 'num',
          cell: (u) => h('span', { testid: 'user-balance', 'data-value': u.balance }, formatMoney(u.balance)),
        },
        { label: t('users.spent'), cls: 'num', cell: (u) => formatMoney(u.spent) },
        {
          label: t('common.status'),
          cell: (u) => (u.enabled ? badge(t('common.enabled'), 'ok') : badge(t('common.disabled'), 'muted')),
        },
        {
          label: t('users.topup'),
          cell: (u) => {
            const amount = input('user-topup-amount', {
              class: 'input small-input',
              inputmode: 'decimal',
              placeholder: '10.00',
              'aria-label': t('users.topupAmount'),
            });
            const btn = button(t('users.topupSubmit'), 'user-topup-submit', () => topup(u, amount, btn), 'secondary small');
            amount.addEventListener('keydown', (e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                btn.click();
              }
            });
            return h('div', { class: 'inline-form' }, amount, btn);
          },
        },
        {
          label: t('common.actions'),
          cls: 'actions',
          cell: (u) =>
            h(
              'div',
              { class: 'row-actions' },
              h('a', { class: 'btn ghost small', href: '#/admin/keys?user_id=' + u.id, testid: 'user-keys' }, t('users.keys')),
              button(t('common.edit'), 'user-edit', () => openForm(u), 'ghost small'),
              button(
                u.enabled ? t('users.disable') : t('users.enable'),
                'user-toggle',
                (e) => toggle(u, e.currentTarget),
                'ghost small',
                { 'data-enabled': String(!!u.enabled) },
              ),
              button(t('common.delete'), 'user-delete', () => remove(u), 'ghost small danger-text'),
            ),
        },
      ];
      const children = [
        table('users-table', cols, users, {
          rowAttrs: (u) => ({
            testid: 'user-row',
            'data-user-id': u.id,
            'data-user-name': u.name,
            class: u.enabled ? '' : 'dim',
          }),
          empty: t('users.empty'),
        }),
        h('small', { class: 'help' }, t('users.topupHelp')),
      ];
      if (page.total > page.limit) {
        children.push(
          pager('users', page, (off) => {
            page.offset = off;
            load();
          }),
        );
      }
      listBox.replaceChildren(...children);
    }

    async function topup(u, amountEl, btn) {
      let amount;
      try {
        amount = parseMoney(amountEl.value, true);
        if (!amount) throw new Error(t('users.topupNeedAmount'));
      } catch (e) {
        return toastError(e);
      }
      await busy(btn, async () => {
        try {
          const res = await api.post(`/api/admin/users/${u.id}/topup`, { amount });
          toast(t('users.toppedUp', { name: u.name, balance: formatMoney(res.balance) }));
          await load();
        } catch (e) {
          toastError(e);
        }
      });
    }

    async function toggle(u, btn) {
      await busy(btn, async () => {
        try {
          await api.patch(`/api/admin/users/${u.id}`, { enabled: !u.enabled });
          toast(u.enabled ? t('users.disabledToast', { name: u.name }) : t('users.enabledToast', { name: u.name }));
          await load();
        } catch (e) {
          toastError(e);
        }
      });
    }

    async function remove(u) {
      if (!(await confirmDialog(t('users.confirmDelete', { name: u.name }), { ok: t('common.delete') }))) return;
      try {
        await api.del(`/api/admin/users/${u.id}`);
        toast(t('users.deleted', { name: u.name }));
        await load();
      } catch (e) {
        toastError(e);
      }
    }

    function openForm(existing) {
      const editing = !!existing;
      const u = existing || {};
      const name = input('user-name', { value: u.name || '', autocomplete: 'off' });
      const password = input('user-password', { type: 'password', autocomplete: 'new-password' });
      const groupOpts = groups.slice();
      if (u.group && !groupOpts.includes(u.group)) groupOpts.push(u.group);
      const group = select(
        'user-group',
        groupOpts.map((g) => [g, g]),
        u.group || 'default',
      );
      const role = select(
        'user-role',
        [
          ['user', t('role.user')],
          ['admin', t('role.admin')],
        ],
        u.role === 'admin' ? 'admin' : 'user',
      );
      const balance = input('user-start-balance', { inputmode: 'decimal', placeholder: '0.00' });
      const enabled = checkbox('user-enabled', editing ? u.enabled : true);
      const err = formError('user-form-error');
      const submit = h(
        'button',
        { type: 'submit', class: 'btn primary', testid: editing ? 'user-save-submit' : 'user-create-submit' },
        editing ? t('common.save') : t('users.createSubmit'),
      );
      const form = h(
        'form',
        {
          class: 'form',
          novalidate: true,
          onsubmit: (ev) => {
            ev.preventDefault();
            err.hidden = true;
            let body;
            try {
              const nm = name.value.trim();
              if (!nm) throw new Error(t('users.needName'));
              body = { name: nm, group: group.value, role: role.value };
              if (password.value) body.password = password.value;
              if (editing) body.enabled = enabled.checked;
              else {
                const b = parseMoney(balance.value);
                if (b !== null) body.balance = b;
              }
            } catch (ex) {
              return showFormError(err, ex);
            }
            busy(submit, async () => {
              try {
                if (editing) await api.patch(`/api/admin/users/${u.id}`, body);
                else await api.post('/api/admin/users', body);
                close();
                toast(editing ? t('users.saved', { name: body.name }) : t('users.created', { name: body.name }));
                await load();
              } catch (ex) {
                showFormError(err, ex);
                toastError(ex);
              }
            });
          },
        },
        field(t('users.name'), name),
        field(t('users.password'), password, editing ? t('users.passwordEditHelp') : t('users.passwordHelp')),
        h(
          'div',
          { class: 'grid-2 tight' },
          field(t('users.group'), group, t('users.groupHelp')),
          field(t('users.role'), role, t('users.roleHelp')),
        ),
        editing
          ? checkField(t('users.enabledLabel'), enabled)
          : field(t('users.startBalance'), balance, t('users.startBalanceHelp')),
        err,
        h(
          'div',
          { class: 'form-actions' },
          button(t('common.cancel'), 'user-form-cancel', () => close()),
          submit,
        ),
      );
      const close = openModal(editing ? t('users.editTitle', { name: u.name }) : t('users.createTitle'), form, {
        testid: 'user-form',
      });
    }

    await load();
  }

  // ---------- Admin: groups ----------

  function formatMultiplier(perMille) {
    return '×' + formatFixed(perMille, 3, 0);
  }

  async function pageGroups(ctx) {
    const listBox = h('div', null, loading());
    ctx.el.append(
      pageHead(
        t('groups.title'),
        t('groups.subtitle'),
        button(t('groups.create'), 'group-create-open', () => openForm(null), 'primary'),
      ),
      card(null, listBox),
    );

    async function load() {
      try {
        const res = await api.get('/api/admin/groups');
        if (!ctx.alive()) return;
        render(res.data || []);
      } catch (e) {
        if (!ctx.alive()) return;
        listBox.replaceChildren(errorBox(e.message));
      }
    }

    function render(groups) {
      const cols = [
        { label: t('groups.name'), cell: (g) => h('span', { class: 'strong' }, g.name) },
        {
          label: t('groups.multiplier'),
          cls: 'num',
          cell: (g) => h('span', { 'data-value': g.multiplier }, formatMultiplier(g.multiplier)),
        },
        { label: t('groups.rpm'), cls: 'num', cell: (g) => (g.rpm_limit ? fmtInt(g.rpm_limit) : muted(t('keys.noLimit'))) },
        { label: t('groups.tpm'), cls: 'num', cell: (g) => (g.tpm_limit ? fmtInt(g.tpm_limit) : muted(t('keys.noLimit'))) },
        {
          label: t('common.actions'),
          cls: 'actions',
          cell: (g) =>
            h(
              'div',
              { class: 'row-actions' },
              button(t('common.edit'), 'group-edit', () => openForm(g), 'ghost small'),
              g.name === 'default'
                ? null
                : button(t('common.delete'), 'group-delete', () => remove(g), 'ghost small danger-text'),
            ),
        },
      ];
      listBox.replaceChildren(
        table('groups-table', cols, groups, {
          rowAttrs: (g) => ({ testid: 'group-row', 'data-group-name': g.name }),
          empty: t('groups.empty'),
        }),
      );
    }

    async function remove(g) {
      if (!(await confirmDialog(t('groups.confirmDelete', { name: g.name }), { ok: t('common.delete') }))) return;
      try {
        await api.del(`/api/admin/groups/${encodeURIComponent(g.name)}`);
        toast(t('groups.deleted', { name: g.name }));
        await load();
      } catch (e) {
        toastError(e);
      }
    }

    function openForm(existing) {
      const editing = !!existing;
      const g = existing || {};
      const name = input('group-name', { value: g.name || '', readOnly: editing, placeholder: 'vip' });
      const mult = input('group-multiplier', {
        value: g.multiplier !== undefined ? formatFixed(g.multiplier, 3, 0) : '1',
        inputmode: 'decimal',
      });
      const rpm = input('group-rpm', { value: g.rpm_limit || '', inputmode: 'numeric' });
      const tpm = input('group-tpm', { value: g.tpm_limit || '', inputmode: 'numeric' });
      const err = formError('group-form-error');
      const submit = h(
        'button',
        { type: 'submit', class: 'btn primary', testid: editing ? 'group-save-submit' : 'group-create-submit' },
        editing ? t('common.save') : t('groups.createSubmit'),
      );
      const form = h(
        'form',
        {
          class: 'form',
          novalidate: true,
          onsubmit: (ev) => {
            ev.preventDefault();
            err.hidden = true;
            let body;
            try {
              const nm = name.value.trim();
              if (!nm) throw new Error(t('groups.needName'));
              const m = parseFixed(mult.value, 3, {});
              body = {
                name: nm,
                multiplier: m === null ? 1000 : m,
                rpm_limit: parseIntField(rpm.value, { min: 1 }),
                tpm_limit: parseIntField(tpm.value, { min: 1 }),
              };
            } catch (ex) {
              return showFormError(err, ex);
            }
            busy(submit, async () => {
              try {
                if (editing) await api.put(`/api/admin/groups/${encodeURIComponent(g.name)}`, body);
                else await api.post('/api/admin/groups', body);
                close();
                toast(t('groups.saved', { name: body.name }));
                await load();
              } catch (ex) {
                showFormError(err, ex);
                toastError(ex);
              }
            });
          },
        },
        field(t('groups.name'), name, editing ? t('groups.nameFixed') : t('groups.nameHelp')),
        field(t('groups.multiplier'), mult, t('groups.multiplierHelp')),
        h(
          'div',
          { class: 'grid-2 tight' },
          field(t('groups.rpm'), rpm, t('groups.limitHelp')),
          field(t('groups.tpm'), tpm, t('groups.limitHelp')),
        ),
        err,
        h(
          'div',
          { class: 'form-actions' },
          button(t('common.cancel'), 'group-form-cancel', () => close()),
          submit,
        ),
      );
      const close = openModal(editing ? t('groups.editTitle', { name: g.name }) : t('groups.createTitle'), form, {
        testid: 'group-form',
      });
    }

    await load();
  }

  // ---------- Admin: prices ----------

  function pricePath(model) {
    return '/api/admin/prices/' + model.split('/').map(encodeURIComponent).join('/');
  }

  async function pagePrices(ctx) {
    const listBox = h('div', null, loading());
    const missingBox = h('div');
    ctx.el.append(
      pageHead(
        t('prices.title'),
        t('prices.subtitle'),
        button(t('prices.create'), 'price-create-open', () => openForm(null), 'primary'),
      ),
      missingBox,
      card(null, listBox),
    );

    async function load() {
      try {
        const [res, channels] = await Promise.all([
          api.get('/api/admin/prices'),
          api.get('/api/admin/channels').catch(() => ({ data: [] })),
        ]);
        if (!ctx.alive()) return;
        render(res.data || [], channels.data || []);
      } catch (e) {
        if (!ctx.alive()) return;
        listBox.replaceChildren(errorBox(e.message));
      }
    }

    function render(prices, channels) {
      const priced = new Set(prices.map((p) => p.model));
      const served = new Set();
      for (const c of channels) for (const m of c.models || []) served.add(m);
      const missing = Array.from(served)
        .filter((m) => !priced.has(m))
        .sort();
      if (missing.length) {
        missingBox.replaceChildren(
          h(
            'div',
            { class: 'notice', testid: 'prices-missing' },
            h('div', null, priced.has('*') ? t('prices.missingDefault') : t('prices.missing')),
            h(
              'div',
              { class: 'chips' },
              missing.map((m) =>
                h(
                  'button',
                  { type: 'button', class: 'chip', testid: 'price-missing-model', onclick: () => openForm(null, m) },
                  m,
                ),
              ),
            ),
          ),
        );
      } else missingBox.replaceChildren();
      const sorted = prices.slice().sort((a, b) => (a.model === '*' ? -1 : b.model === '*' ? 1 : a.model.localeCompare(b.model)));
      const money = (v) => (v === null || v === undefined ? muted('—') : formatMoney(v));
      const cols = [
        {
          label: t('prices.model'),
          cell: (p) =>
            p.model === '*'
              ? h('span', null, mono('*'), ' ', muted(t('prices.defaultPrice')))
              : h('span', { class: 'strong' }, p.model),
        },
        { label: t('prices.input'), cls: 'num', cell: (p) => money(p.input_per_million) },
        { label: t('prices.cached'), cls: 'num', cell: (p) => money(p.cached_input_per_million) },
        { label: t('prices.output'), cls: 'num', cell: (p) => money(p.output_per_million) },
        { label: t('prices.perRequest'), cls: 'num', cell: (p) => money(p.per_request) },
        {
          label: t('common.actions'),
          cls: 'actions',
          cell: (p) =>
            h(
              'div',
              { class: 'row-actions' },
              button(t('common.edit'), 'price-edit', () => openForm(p), 'ghost small'),
              button(t('common.delete'), 'price-delete', () => remove(p), 'ghost small danger-text'),
            ),
        },
      ];
      listBox.replaceChildren(
        table('prices-table', cols, sorted, {
          rowAttrs: (p) => ({ testid: 'price-row', 'data-model': p.model }),
          empty: t('prices.empty'),
        }),
      );
    }

    async function remove(p) {
      if (!(await confirmDialog(t('prices.confirmDelete', { model: p.model }), { ok: t('common.delete') }))) return;
      try {
        await api.del(pricePath(p.model));
        toast(t('prices.deleted', { model: p.model }));
        await load();
      } catch (e) {
        toastError(e);
      }
    }

    function openForm(existing, presetModel) {
      const editing = !!existing;
      const p = existing || {};
      const model = input('price-model', { value: p.model || presetModel || '', readOnly: editing, placeholder: 'gpt-4o' });
      const inp = input('price-input', {
        value: moneyInputValue(p.input_per_million),
        inputmode: 'decimal',
        placeholder: '2.50',
      });
      const cached = input('price-cached', {
        value: moneyInputValue(p.cached_input_per_million),
        inputmode: 'decimal',
        placeholder: '1.25',
      });
      const out = input('price-output', {
        value: moneyInputValue(p.output_per_million),
        inputmode: 'decimal',
        placeholder: '10.00',
      });
      const perReq = input('price-per-request', {
        value: moneyInputValue(p.per_request),
        inputmode: 'decimal',
        placeholder: '0.04',
      });
      const err = formError('price-form-error');
      const submit = h(
        'button',
        { type: 'submit', class: 'btn primary', testid: editing ? 'price-save-submit' : 'price-create-submit' },
        editing ? t('common.save') : t('prices.createSubmit'),
      );
      const form = h(
        'form',
        {
          class: 'form',
          novalidate: true,
          onsubmit: (ev) => {
            ev.preventDefault();
            err.hidden = true;
            let body;
            try {
              const m = model.value.trim();
              if (!m) throw new Error(t('prices.needModel'));
              body = {
                model: m,
                input_per_million: parseMoney(inp.value),
                cached_input_per_million: parseMoney(cached.value),
                output_per_million: parseMoney(out.value),
                per_request: parseMoney(perReq.value),
              };
              if (
                [body.input_per_million, body.cached_input_per_million, body.output_per_million, body.per_request].every(
                  (v) => v === null,
                )
              ) {
                throw new Error(t('prices.needOne'));
              }
            } catch (ex) {
              return showFormError(err, ex);
            }
            busy(submit, async () => {
              try {
                if (editing) await api.put(pricePath(p.model), body);
                else await api.post('/api/admin/prices', body);
                close();
                toast(t('prices.saved', { model: body.model }));
                await load();
              } catch (ex) {
                showFormError(err, ex);
                toastError(ex);
              }
            });
          },
        },
        field(t('prices.model'), model, t('prices.modelHelp')),
        h(
          'div',
          { class: 'grid-2 tight' },
          field(t('prices.input'), inp, t('prices.perMillionHelp')),
          field(t('prices.cached'), cached, t('prices.cachedHelp')),
          field(t('prices.output'), out, t('prices.perMillionHelp')),
          field(t('prices.perRequest'), perReq, t('prices.perRequestHelp')),
        ),
        h('small', { class: 'help' }, t('prices.emptyHelp')),
        err,
        h(
          'div',
          { class: 'form-actions' },
          button(t('common.cancel'), 'price-form-cancel', () => close()),
          submit,
        ),
      );
      const close = openModal(editing ? t('prices.editTitle', { model: p.model }) : t('prices.createTitle'), form, {
        testid: 'price-form',
      });
    }

    await load();
  }

  // ---------- Admin: redemption codes ----------

  async function pageCodes(ctx) {
    const page = { offset: 0, limit: 50, total: 0 };
    let status = '';
    let lookups = null;
    const amount = input('codes-amount', { inputmode: 'decimal', placeholder: '10.00' });
    const count = input('codes-count', { type: 'number', value: '1', min: '1', max: '1000', step: '1' });
    const err = formError('codes-form-error');
    const created = h('div');
    const submit = h('button', { type: 'submit', class: 'btn primary', testid: 'codes-create-submit' }, t('codes.createSubmit'));
    const listBox = h('div', null, loading());
    const statusSel = select(
      'codes-filter-status',
      [
        ['', t('codes.all')],
        ['unused', t('codes.unused')],
        ['used', t('codes.used')],
      ],
      '',
      {
        onchange: () => {
          status = statusSel.value;
          page.offset = 0;
          syncExport();
          load();
        },
      },
    );
    // Without a status the server exports the unused codes (the ones worth handing out).
    const exportLink = h('a', {
      class: 'btn secondary small',
      testid: 'codes-export',
      href: '/api/admin/codes/export',
      download: 'codes.csv',
    });
    function syncExport() {
      exportLink.setAttribute('href', '/api/admin/codes/export' + (status ? '?status=' + encodeURIComponent(status) : ''));
      exportLink.textContent = status ? t('codes.export') : t('codes.exportUnused');
    }
    syncExport();
    const form = h(
      'form',
      {
        class: 'form',
        novalidate: true,
        onsubmit: (ev) => {
          ev.preventDefault();
          err.hidden = true;
          let body;
          try {
            const a = parseMoney(amount.value);
            if (!a || a <= 0) throw new Error(t('codes.needAmount'));
            const n = parseIntField(count.value, { min: 1 });
            body = { amount: a, count: n === null ? 1 : n };
          } catch (ex) {
            return showFormError(err, ex);
          }
          busy(submit, async () => {
            try {
              const res = await api.post('/api/admin/codes', body);
              const codes = (res.data || []).map((c) => c.code);
              const text = codes.join('\n');
              created.replaceChildren(
                h(
                  'div',
                  { class: 'secret-box' },
                  h(
                    'div',
                    { class: 'secret-title' },
                    t('codes.createdTitle', { n: codes.length, amount: formatMoney(body.amount) }),
                  ),
                  h('pre', { class: 'mono codes-list', testid: 'codes-created' }, text),
                  h(
                    'div',
                    { class: 'form-actions left' },
                    button(t('common.copy'), 'codes-copy', () => copyText(text), 'primary small'),
                    button(t('common.close'), 'codes-created-close', () => created.replaceChildren(), 'ghost small'),
                  ),
                ),
              );
              toast(t('codes.createdToast', { n: codes.length }));
              await load();
            } catch (ex) {
              showFormError(err, ex);
              toastError(ex);
            }
          });
        },
      },
      h(
        'div',
        { class: 'grid-2 tight' },
        field(t('codes.amount'), amount, t('codes.amountHelp')),
        field(t('codes.count'), count, t('codes.countHelp')),
      ),
      err,
      h('div', { class: 'form-actions left' }, submit),
    );
    ctx.el.append(
      pageHead(t('codes.title'), t('codes.subtitle')),
      card(t('codes.generate'), form, created),
      card(
        null,
        h(
          'div',
          { class: 'card-head' },
          h('h2', { class: 'card-title' }, t('codes.list')),
          h('div', { class: 'inline-form' }, statusSel, exportLink),
        ),
        listBox,
      ),
    );
    lookups = await adminLookups();
    if (!ctx.alive()) return;

    async function load() {
      try {
        const res = await api.get('/api/admin/codes', { status, limit: page.limit, offset: page.offset });
        if (!ctx.alive()) return;
        page.total = Number(res.total) || 0;
        render(res.data || []);
      } catch (e) {
        if (!ctx.alive()) return;
        listBox.replaceChildren(errorBox(e.message));
      }
    }

    function render(codes) {
      const cols = [
        {
          label: t('codes.code'),
          cell: (c) =>
            h(
              'span',
              { class: 'copy-row' },
              mono(c.code),
              button(t('common.copy'), 'code-copy', () => copyText(c.code), 'ghost small'),
            ),
        },
        { label: t('codes.amount'), cls: 'num', cell: (c) => formatMoney(c.amount) },
        {
          label: t('common.status'),
          cell: (c) =>
            c.redeemed_at || c.redeemed_by
              ? badge(t('codes.used'), 'muted', { 'data-status': 'used' })
              : badge(t('codes.unused'), 'ok', { 'data-status': 'unused' }),
        },
        { label: t('common.created'), cell: (c) => fmtTime(c.created_at) },
        {
          label: t('codes.redeemedBy'),
          cell: (c) => (c.redeemed_by === null || c.redeemed_by === undefined ? '—' : userLabel(lookups.userMap, c.redeemed_by)),
        },
        { label: t('codes.redeemedAt'), cell: (c) => fmtTime(c.redeemed_at) },
        {
          label: t('common.actions'),
          cls: 'actions',
          cell: (c) => button(t('common.delete'), 'code-delete', () => remove(c), 'ghost small danger-text'),
        },
      ];
      listBox.replaceChildren(
        table('codes-table', cols, codes, {
          rowAttrs: (c) => ({ testid: 'code-row', 'data-code-id': c.id, 'data-code': c.code }),
          empty: t('codes.empty'),
        }),
        pager('codes', page, (off) => {
          page.offset = off;
          load();
        }),
      );
    }

    async function remove(c) {
      if (!(await confirmDialog(t('codes.confirmDelete', { code: c.code }), { ok: t('common.delete') }))) return;
      try {
        await api.del(`/api/admin/codes/${c.id}`);
        toast(t('codes.deleted'));
        await load();
      } catch (e) {
        toastError(e);
      }
    }

    await load();
  }

  // ---------- Admin: Midjourney tasks ----------

  const MJ_STATUSES = ['NOT_START', 'SUBMITTED', 'MODAL', 'IN_PROGRESS', 'SUCCESS', 'FAILURE', 'CANCEL'];

  async function pageMj(ctx) {
    const page = { offset: 0, limit: 50, total: 0 };
    const filters = { status: '', user_id: '' };
    const statusSel = select(
      'mj-filter-status',
      [['', t('mj.allStatuses')]].concat(MJ_STATUSES.map((s) => [s, t('mj.status.' + s)])),
      '',
    );
    const userIn = input('mj-filter-user', { inputmode: 'numeric', placeholder: '1' });
    const err = formError('mj-filter-error');
    const listBox = h('div', null, loading());
    const form = h(
      'form',
      {
        class: 'filters card',
        novalidate: true,
        onsubmit: (e) => {
          e.preventDefault();
          err.hidden = true;
          try {
            parseIntField(userIn.value);
          } catch (ex) {
            return showFormError(err, ex);
          }
          filters.status = statusSel.value;
          filters.user_id = userIn.value.trim();
          page.offset = 0;
          load();
        },
      },
      h('div', { class: 'filter-grid' }, field(t('mj.statusLabel'), statusSel), field(t('logs.userId'), userIn)),
      err,
      h(
        'div',
        { class: 'form-actions left' },
        h('button', { type: 'submit', class: 'btn primary', testid: 'mj-apply' }, t('common.apply')),
        button(t('common.refresh'), 'mj-refresh', () => load()),
      ),
    );
    ctx.el.append(pageHead(t('mj.title'), t('mj.subtitle')), form, card(null, listBox));
    const lookups = await adminLookups();
    if (!ctx.alive()) return;

    // Set when the server turns the `status` query parameter down: the page is then filtered here instead.
    let localStatus = false;

    async function load() {
      try {
        const q = { user_id: filters.user_id, limit: page.limit, offset: page.offset };
        if (!localStatus) q.status = filters.status;
        let res;
        try {
          res = await api.get('/api/admin/mj/tasks', q);
        } catch (e) {
          if (!(e.status === 400 && filters.status && e.detail && e.detail.param === 'status')) throw e;
          localStatus = true;
          delete q.status;
          res = await api.get('/api/admin/mj/tasks', q);
        }
        if (!ctx.alive()) return;
        page.total = Number(res.total) || 0;
        let rows = res.data || [];
        if (localStatus && filters.status) rows = rows.filter((m) => m.status === filters.status);
        render(rows);
      } catch (e) {
        if (!ctx.alive()) return;
        listBox.replaceChildren(errorBox(e.message));
      }
    }

    function statusKind(s) {
      if (s === 'SUCCESS') return 'ok';
      if (s === 'FAILURE' || s === 'CANCEL') return 'err';
      if (s === 'IN_PROGRESS' || s === 'SUBMITTED' || s === 'MODAL') return 'info';
      return 'muted';
    }

    function render(tasks) {
      const cols = [
        {
          label: t('mj.image'),
          cell: (m) => {
            const url = safeUrl(m.image_url);
            if (!url) return muted('—');
            return h(
              'a',
              { href: url, target: '_blank', rel: 'noopener noreferrer', class: 'thumb-link' },
              h('img', { src: url, alt: t('mj.imageAlt'), class: 'thumb', loading: 'lazy', testid: 'mj-image' }),
            );
          },
        },
        {
          label: t('common.id'),
          cell: (m) =>
            h(
              'span',
              null,
              '#' + m.id,
              m.upstream_id ? h('div', { class: 'muted small' }, mono(shorten(m.upstream_id, 20), m.upstream_id)) : null,
            ),
        },
        { label: t('common.user'), cell: (m) => userLabel(lookups.userMap, m.user_id) },
        { label: t('logs.channel'), cell: (m) => channelLabel(lookups.channelMap, m.channel_id) },
        {
          label: t('mj.action'),
          cell: (m) => h('span', null, m.action || '—', m.mode ? h('div', { class: 'muted small' }, m.mode) : null),
        },
        {
          label: t('mj.prompt'),
          cell: (m) => (m.prompt ? h('span', { class: 'wrap-cell', title: m.prompt }, shorten(m.prompt, 80)) : '—'),
        },
        {
          label: t('common.status'),
          cell: (m) =>
            h(
              'span',
              null,
              badge(MJ_STATUSES.includes(m.status) ? t('mj.status.' + m.status) : String(m.status || '—'), statusKind(m.status), {
                'data-status': m.status,
              }),
              m.progress ? h('div', { class: 'muted small' }, m.progress) : null,
              m.fail_reason ? h('div', { class: 'err-text small', title: m.fail_reason }, shorten(m.fail_reason, 60)) : null,
            ),
        },
        { label: t('logs.cost'), cls: 'num', cell: (m) => formatMoney(m.cost) },
        { label: t('mj.submitted'), cell: (m) => fmtTime(m.submit_time) },
        { label: t('mj.finished'), cell: (m) => fmtTime(m.finish_time) },
      ];
      listBox.replaceChildren(
        table('mj-table', cols, tasks, { rowAttrs: (m) => ({ testid: 'mj-row', 'data-task-id': m.id }), empty: t('mj.empty') }),
        pager('mj', page, (off) => {
          page.offset = off;
          load();
        }),
      );
    }

    await load();
  }

  // =====================================================================================================
  // 8. Boot
  // =====================================================================================================

  async function boot() {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    const root = document.getElementById('app');
    root.replaceChildren(h('div', { class: 'boot' }, loading()));
    try {
      const res = await api.get('/api/auth/session', undefined, { noAuthRedirect: true });
      if (res && res.role) startSession(res);
    } catch (_) {
      state.session = null;
    }
    window.addEventListener('hashchange', router);
    await router();
  }

  // Exposed for tests and debugging; the app itself does not read it.
  window.Tollgate = { formatMoney, parseMoney, parseFixed, parseTimeInput, t };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
