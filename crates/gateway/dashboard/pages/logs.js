/* Request logs: a person's own, or everyone's for operators (with CSV export). Time, cost and status lead; the
 * full record opens under a row (click it, or its details button). */

import { h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { api, paths, withQuery } from '../lib/api.js';
import { fmtInt, fmtTime, formatMoney, parseIntField, parseTimeInput, shorten } from '../lib/format.js';
import { detailList, pager, table } from '../lib/table.js';
import { button, card, checked, errorBox, field, filterBar, formError, input, loading, mono, pageHead, select, statusBadge } from '../lib/ui.js';
import { adminLookups, channelLabel, userLabel } from '../lib/state.js';

const logsMemory = {
  user: { filters: {}, offset: 0 },
  admin: { filters: {}, offset: 0 },
};
const LOGS_LIMIT = 50;

export async function pageLogs(ctx, admin) {
  const base = paths.logs(admin);
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
        { class: 'btn secondary', testid: 'logs-export', href: paths.logsExport, download: 'logs.csv' },
        t('logs.export'),
      )
    : null;
  const err = formError('logs-filter-error');
  const listBox = h('div', null, loading());
  /** Remembers what the inputs hold as the filters and loads the first page. */
  const apply = () => {
    mem.filters = {};
    for (const [k, el] of Object.entries(inputs)) if (el.value.trim()) mem.filters[k] = el.value.trim();
    page.offset = 0;
    mem.offset = 0;
    load();
  };
  const reset = () => {
    for (const el of Object.values(inputs)) el.value = '';
    apply();
  };
  const filterForm = filterBar({
    prefix: 'logs',
    apply,
    before: statusList,
    fields: [
      field(t('logs.model'), inputs.model),
      field(t('logs.status'), inputs.status),
      field(t('logs.since'), inputs.since),
      field(t('logs.until'), inputs.until),
      admin ? field(t('logs.userId'), inputs.user_id) : null,
      admin ? field(t('logs.channelId'), inputs.channel_id) : null,
      field(admin ? t('logs.keyId') : t('logs.key'), inputs.key_id),
      admin ? field(t('logs.requestId'), inputs.request_id) : null,
    ],
    notes: [h('small', { class: 'help' }, t('logs.filterHelp')), err],
    buttons: [button(t('common.reset'), 'logs-reset', reset), exportLink],
  });
  ctx.el.append(
    pageHead(admin ? t('logs.adminTitle') : t('logs.title'), admin ? t('logs.adminSubtitle') : t('logs.subtitle')),
    filterForm,
    card(null, listBox),
  );

  if (admin) {
    lookups = await adminLookups();
  } else {
    try {
      keys = (await api.get(paths.keys(false))).data || [];
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

  function load() {
    return checked(err, query, loadPage);
  }

  async function loadPage(q) {
    if (exportLink) exportLink.setAttribute('href', withQuery(paths.logsExport, q));
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
      { label: t('logs.cost'), cls: 'num', cell: (r) => formatMoney(r.cost) },
      { label: t('logs.status'), cell: (r) => statusBadge(r.status) },
      {
        label: t('logs.model'),
        cell: (r) =>
          h(
            'span',
            null,
            r.model || '—',
            r.upstream_model && r.upstream_model !== r.model ? h('span', { class: 'cell-sub' }, '→ ' + r.upstream_model) : null,
          ),
      },
      {
        label: t('logs.tokens'),
        cls: 'num',
        cell: (r) =>
          h(
            'span',
            { class: 'nowrap' },
            fmtInt(r.prompt_tokens) + ' / ' + fmtInt(r.completion_tokens),
            r.cached_tokens ? h('span', { class: 'cell-sub' }, t('logs.cached', { n: fmtInt(r.cached_tokens) })) : null,
            r.cache_write_tokens ? h('span', { class: 'cell-sub' }, t('logs.cacheWrite', { n: fmtInt(r.cache_write_tokens) })) : null,
          ),
      },
      {
        label: t('logs.latency'),
        cls: 'num',
        cell: (r) =>
          h(
            'span',
            { class: 'nowrap' },
            t('common.ms', { n: fmtInt(r.latency_ms) }),
            r.ttft_ms !== null && r.ttft_ms !== undefined ? h('span', { class: 'cell-sub' }, t('logs.ttft', { n: fmtInt(r.ttft_ms) })) : null,
          ),
      },
      admin
        ? { label: t('common.user'), cell: (r) => userLabel(lookups.userMap, r.user_id) }
        : { label: t('logs.key'), cell: (r) => keyName(r) },
      {
        label: t('logs.error'),
        cls: 'wide-only',
        cell: (r) => (r.error ? h('span', { class: 'err-text clip', title: r.error }, shorten(r.error, 40)) : ''),
      },
    ];
    listBox.replaceChildren(
      table('logs-table', cols, rows, {
        rowAttrs: (r) => ({ testid: 'log-row', 'data-request-id': r.request_id, title: t('logs.clickDetails') }),
        details: detailGrid,
        rowToggles: true,
        empty: t('logs.empty'),
      }),
      pager('logs', page, (off) => {
        page.offset = off;
        mem.offset = off;
        load();
      }),
    );
  }

  function keyName(r) {
    return r.key_name || (r.key_id !== null && r.key_id !== undefined ? '#' + r.key_id : '—');
  }

  /** Every field of the record, under its API name; ids with names where they are known. */
  function detailGrid(r) {
    const named = {
      request_id: mono(r.request_id),
      user_id: admin && r.user_id !== null && r.user_id !== undefined ? userLabel(lookups.userMap, r.user_id) : undefined,
      channel_id:
        admin && r.channel_id !== null && r.channel_id !== undefined ? channelLabel(lookups.channelMap, r.channel_id) : undefined,
      cost: formatMoney(r.cost) + ' (' + r.cost + ')',
      time: fmtTime(r.time) + ' (' + r.time + ')',
      stream: r.stream === undefined || r.stream === null ? undefined : String(r.stream),
    };
    const fields = ['request_id', 'time', 'user_id', 'key_id', 'key_name', 'channel_id', 'model', 'upstream_model'];
    fields.push('prompt_tokens', 'cached_tokens', 'cache_write_tokens', 'completion_tokens', 'cost', 'status', 'stream', 'retries');
    fields.push('latency_ms', 'ttft_ms', 'client_ip', 'error');
    return detailList(
      fields.map((k) => [k, named[k] !== undefined ? named[k] : r[k] === null || r[k] === undefined ? '' : String(r[k]), k === 'error' ? 'err-text pre' : '']),
      'log-detail',
    );
  }

  await load();
}
