/* Operator: redemption codes. Generate a batch (shown once to copy), list, filter, export and delete them. */

import { h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { api, paths, withQuery } from '../lib/api.js';
import { fmtTime, formatMoney, parseIntField, parseMoney } from '../lib/format.js';
import { ACTIONS, resource } from '../lib/resource.js';
import { detailList } from '../lib/table.js';
import { badge, button, card, checkedSubmit, copyText, field, form, formError, input, mono, pageHead, select, submitButton, toast } from '../lib/ui.js';
import { adminLookups, userLabel } from '../lib/state.js';

export async function pageCodes(ctx) {
  let status = '';
  let lookups = null;
  const codes = resource({
    ctx,
    prefix: 'code',
    named: (c) => ({ code: c.code }),
    paged: 50,
    alwaysPager: true,
    list: (page) => api.get(paths.codes, { status, limit: page.limit, offset: page.offset }),
    itemPath: (c) => paths.code(c.id),
    rowAttrs: (c) => ({ testid: 'code-row', 'data-code-id': c.id, 'data-code': c.code }),
    details: (c) =>
      detailList([
        [t('common.id'), '#' + c.id],
        [t('common.created'), fmtTime(c.created_at)],
        [t('codes.redeemedBy'), c.redeemed_by === null || c.redeemed_by === undefined ? '' : userLabel(lookups.userMap, c.redeemed_by)],
        [t('codes.redeemedAt'), c.redeemed_at ? fmtTime(c.redeemed_at) : ''],
      ]),
    columns: () => [
      {
        label: t('codes.code'),
        cell: (c) =>
          h('span', { class: 'copy-row' }, mono(c.code), button(t('common.copy'), 'code-copy', () => copyText(c.code), 'ghost small')),
      },
      { label: t('codes.amount'), cls: 'num', cell: (c) => formatMoney(c.amount) },
      {
        label: t('common.status'),
        cell: (c) =>
          c.redeemed_at || c.redeemed_by
            ? badge(t('codes.used'), 'muted', { 'data-status': 'used' })
            : badge(t('codes.unused'), 'ok', { 'data-status': 'unused' }),
      },
      ACTIONS,
      {
        label: t('codes.redeemedBy'),
        cls: 'wide-only',
        cell: (c) => (c.redeemed_by === null || c.redeemed_by === undefined ? '—' : userLabel(lookups.userMap, c.redeemed_by)),
      },
    ],
    remove: true,
  });
  const amount = input('codes-amount', { inputmode: 'decimal', placeholder: '10.00' });
  const count = input('codes-count', { type: 'number', value: '1', min: '1', max: '1000', step: '1' });
  const err = formError('codes-form-error');
  const created = h('div');
  const submit = submitButton(t('codes.createSubmit'), 'codes-create-submit');
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
        codes.page.offset = 0;
        syncExport();
        codes.load();
      },
    },
  );
  // Without a status the server exports the unused codes (the ones worth handing out).
  const exportLink = h('a', {
    class: 'btn secondary small',
    testid: 'codes-export',
    href: paths.codesExport,
    download: 'codes.csv',
  });
  function syncExport() {
    exportLink.setAttribute('href', withQuery(paths.codesExport, { status }));
    exportLink.textContent = status ? t('codes.export') : t('codes.exportUnused');
  }
  syncExport();
  const read = () => {
    const a = parseMoney(amount.value);
    if (!a || a <= 0) throw new Error(t('codes.needAmount'));
    const n = parseIntField(count.value, { min: 1 });
    return { amount: a, count: n === null ? 1 : n };
  };
  const send = async (body) => {
    const res = await api.post(paths.codes, body);
    showCreated((res.data || []).map((c) => c.code), body.amount);
    await codes.load();
  };
  /** The batch just generated, shown once to copy. */
  function showCreated(list, each) {
    const text = list.join('\n');
    created.replaceChildren(
      h(
        'div',
        { class: 'secret-box' },
        h('div', { class: 'secret-title' }, t('codes.createdTitle', { n: list.length, amount: formatMoney(each) })),
        h('pre', { class: 'mono codes-list', testid: 'codes-created' }, text),
        h(
          'div',
          { class: 'form-actions left' },
          button(t('common.copy'), 'codes-copy', () => copyText(text), 'primary small'),
          button(t('common.close'), 'codes-created-close', () => created.replaceChildren(), 'ghost small'),
        ),
      ),
    );
    toast(t('codes.createdToast', { n: list.length }));
  }
  const generate = form(
    'form',
    checkedSubmit(err, submit, read, send),
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
    card(t('codes.generate'), generate, created),
    card(
      null,
      h(
        'div',
        { class: 'card-head' },
        h('h2', { class: 'card-title' }, t('codes.list')),
        h('div', { class: 'inline-form' }, statusSel, exportLink),
      ),
      codes.el,
    ),
  );
  lookups = await adminLookups();
  if (!ctx.alive()) return;
  await codes.load();
}

