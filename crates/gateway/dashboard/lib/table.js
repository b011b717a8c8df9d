/* Tables that fit their card. Cells wrap instead of widening the page; what does not need a column goes into an
 * expandable detail row; on a phone every row becomes a stacked card whose cells carry their column's label
 * (`data-label`, shown by css/tables.css). */

import { h } from './dom.js';
import { t } from './i18n.js';
import { button } from './ui.js';

/**
 * columns: [{label, cell: row => node|string, cls}] (falsy entries are skipped).
 * opts: rowAttrs(row) for the <tr>; empty text; details(row) → node opened under the row by its `row-expand`
 * button (and by a click anywhere on the row with `rowToggles`).
 */
export function table(testid, columns, rows, opts) {
  const o = opts || {};
  const cols = columns.filter(Boolean);
  const span = cols.length + (o.details ? 1 : 0);
  const tbody = h('tbody');
  if (!rows.length) {
    tbody.appendChild(h('tr', { class: 'empty-row' }, h('td', { colspan: span, class: 'empty' }, o.empty || t('common.empty'))));
  }
  for (const r of rows) {
    const tr = h(
      'tr',
      o.rowAttrs ? o.rowAttrs(r) : null,
      cols.map((c) => h('td', { class: c.cls, 'data-label': c.label }, h('div', { class: 'cell' }, c.cell(r)))),
    );
    if (o.details) addExpander(tr, r, o, span);
    tbody.appendChild(tr);
  }
  const head = cols.map((c) => h('th', { class: c.cls, scope: 'col' }, c.label));
  if (o.details) head.unshift(h('th', { class: 'expand-cell', scope: 'col' }, h('span', { class: 'sr-only' }, t('common.details'))));
  return h(
    'div',
    { class: 'table-wrap' },
    h('table', { class: 'table' + (o.details ? ' has-details' : ''), testid }, h('thead', null, h('tr', null, head)), tbody),
  );
}

function addExpander(tr, row, o, span) {
  const btn = h(
    'button',
    { type: 'button', class: 'expand-btn', testid: 'row-expand', 'aria-expanded': 'false', title: t('common.details') },
    h('span', { class: 'chev', 'aria-hidden': 'true' }),
    h('span', { class: 'expand-text' }, t('common.details')),
  );
  const toggle = () => {
    const next = tr.nextElementSibling;
    const open = !!(next && next.classList.contains('detail-row'));
    if (open) next.remove();
    else tr.after(h('tr', { class: 'detail-row' }, h('td', { colspan: span }, o.details(row))));
    btn.setAttribute('aria-expanded', String(!open));
    tr.classList.toggle('open', !open);
  };
  btn.addEventListener('click', (e) => {
    e.stopPropagation();
    toggle();
  });
  tr.insertBefore(h('td', { class: 'expand-cell' }, btn), tr.firstChild);
  if (o.rowToggles) {
    tr.classList.add('clickable');
    tr.addEventListener('click', (e) => {
      if (e.target.closest('button, a, input, select, textarea, label')) return;
      toggle();
    });
  }
}

/** A detail list: [[label, value], ...]; empty values show as a dash. */
export function detailList(pairs, testid) {
  return h(
    'dl',
    { class: 'detail-grid', testid },
    pairs
      .filter(Boolean)
      .map(([k, v, cls]) => [
        h('dt', null, k),
        h('dd', { class: cls || '' }, v === null || v === undefined || v === '' ? '—' : v),
      ]),
  );
}

export function pager(prefix, page, go) {
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
