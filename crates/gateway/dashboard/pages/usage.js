/* Usage: totals, a bar chart per day and a detail table; operators group by day, model, user and channel. */

import { h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { api, paths } from '../lib/api.js';
import { fmtInt, formatMoney, localDay, parseTimeInput } from '../lib/format.js';
import { barChart } from '../lib/chart.js';
import { table } from '../lib/table.js';
import { button, card, checkGroup, checkbox, checked, errorBox, field, filterBar, formError, input, loading, pageHead, select, stat } from '../lib/ui.js';
import { adminLookups, channelLabel, userLabel } from '../lib/state.js';

const usageMemory = {
  user: { since: '', until: '', metric: 'requests' },
  admin: { since: '', until: '', metric: 'requests', dims: ['day', 'model'] },
};

export async function pageUsage(ctx, admin) {
  const base = admin ? paths.usage(true) : paths.usage(false);
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
  const dimChoices = Object.entries(dimBoxes).map(([d, box]) => [t('usage.dim.' + d), box]);
  const dims = checkGroup(t('usage.groupBy'), dimChoices, null, 'dims');
  const form = filterBar({
    prefix: 'usage',
    apply,
    fields: [field(t('usage.since'), since), field(t('usage.until'), until), admin ? dims : null],
    notes: [h('small', { class: 'help' }, t('usage.rangeHelp')), err],
    buttons: [
      button(t('usage.last7'), 'usage-range-7', () => range(7), 'secondary small'),
      button(t('usage.last30'), 'usage-range-30', () => range(30), 'secondary small'),
      button(t('usage.allTime'), 'usage-range-all', () => range(null), 'secondary small'),
    ],
  });
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

  function load() {
    return checked(err, () => ({ since: parseTimeInput(mem.since), until: parseTimeInput(mem.until, true) }), loadRange);
  }

  async function loadRange(q) {
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
      { label: t('usage.cost'), cls: 'num', cell: (r) => formatMoney(r.cost) },
      { label: t('usage.requests'), cls: 'num', cell: (r) => fmtInt(r.requests) },
      { label: t('usage.promptTokens'), cls: 'num', cell: (r) => fmtInt(r.prompt_tokens) },
      { label: t('usage.completionTokens'), cls: 'num', cell: (r) => fmtInt(r.completion_tokens) },
    );
    tableBox.replaceChildren(
      table('usage-table', cols, sorted, { rowAttrs: () => ({ testid: 'usage-row' }), empty: t('usage.noData') }),
    );
  }

  await load();
}

