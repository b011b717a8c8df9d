/* Operator: model prices (per million tokens, per request), and the served models that have none yet. */

import { h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { api, paths } from '../lib/api.js';
import { formatMoney, moneyInputValue, parseMoney } from '../lib/format.js';
import { ACTIONS, resource } from '../lib/resource.js';
import { card, field, input, mono, muted, pageHead } from '../lib/ui.js';

/* The money fields of a price, in the form's and the body's order: body key, input test id, placeholder, label, help. */
const MONEY_FIELDS = [
  ['input_per_million', 'price-input', '2.50', 'prices.input', 'prices.perMillionHelp'],
  ['cached_input_per_million', 'price-cached', '1.25', 'prices.cached', 'prices.cachedHelp'],
  ['cache_write_per_million', 'price-cache-write', '3.75', 'prices.cacheWrite', 'prices.cacheWriteHelp'],
  ['cache_write_1h_per_million', 'price-cache-write-1h', '6.00', 'prices.cacheWrite1h', 'prices.cacheWrite1hHelp'],
  ['output_per_million', 'price-output', '10.00', 'prices.output', 'prices.perMillionHelp'],
  ['audio_input_per_million', 'price-audio-input', '32.00', 'prices.audioInput', 'prices.audioHelp'],
  ['audio_output_per_million', 'price-audio-output', '64.00', 'prices.audioOutput', 'prices.audioHelp'],
  ['per_request', 'price-per-request', '0.04', 'prices.perRequest', 'prices.perRequestHelp'],
];

function priceForm(existing, { preset }) {
  const editing = !!existing;
  const p = existing || {};
  const model = input('price-model', { value: p.model || preset || '', readOnly: editing, placeholder: 'gpt-4o' });
  const inputs = MONEY_FIELDS.map(([key, testid, placeholder]) =>
    input(testid, { value: moneyInputValue(p[key]), inputmode: 'decimal', placeholder }),
  );
  const nodes = [
    field(t('prices.model'), model, t('prices.modelHelp')),
    h(
      'div',
      { class: 'grid-2 tight' },
      MONEY_FIELDS.map(([, , , label, help], i) => field(t(label), inputs[i], t(help))),
    ),
    h('small', { class: 'help' }, t('prices.emptyHelp')),
  ];
  function read() {
    const m = model.value.trim();
    if (!m) throw new Error(t('prices.needModel'));
    const body = { model: m };
    MONEY_FIELDS.forEach(([key], i) => {
      body[key] = parseMoney(inputs[i].value);
    });
    const values = [body.input_per_million, body.cached_input_per_million, body.output_per_million, body.per_request];
    if (values.every((v) => v === null)) throw new Error(t('prices.needOne'));
    return body;
  }
  return { nodes, read };
}

export async function pagePrices(ctx) {
  const missingBox = h('div');
  const money = (v) => (v === null || v === undefined ? muted('—') : formatMoney(v));
  const prices = resource({
    ctx,
    prefix: 'price',
    named: (p) => ({ model: p.model }),
    list: async () => {
      const [res, channels] = await Promise.all([api.get(paths.prices), api.get(paths.channels).catch(() => ({ data: [] }))]);
      if (ctx.alive()) showMissing(res.data || [], channels.data || []);
      return res;
    },
    sort: (list) => list.slice().sort((a, b) => (a.model === '*' ? -1 : b.model === '*' ? 1 : a.model.localeCompare(b.model))),
    itemPath: (p) => paths.price(p.model),
    createPath: paths.prices,
    update: 'put',
    rowAttrs: (p) => ({ testid: 'price-row', 'data-model': p.model }),
    columns: () => [
      {
        label: t('prices.model'),
        cell: (p) =>
          p.model === '*' ? h('span', null, mono('*'), ' ', muted(t('prices.defaultPrice'))) : h('span', { class: 'strong' }, p.model),
      },
      { label: t('prices.input'), cls: 'num', cell: (p) => money(p.input_per_million) },
      { label: t('prices.output'), cls: 'num', cell: (p) => money(p.output_per_million) },
      { label: t('prices.cached'), cls: 'num', cell: (p) => money(p.cached_input_per_million) },
      { label: t('prices.perRequest'), cls: 'num', cell: (p) => money(p.per_request) },
      ACTIONS,
    ],
    remove: true,
    // One text for a new price and a changed one.
    form: { build: priceForm, saved: (p, body) => t('prices.saved', { model: body.model }) },
  });

  function showMissing(list, channels) {
    const priced = new Set(list.map((p) => p.model));
    const served = new Set();
    for (const c of channels) for (const m of c.models || []) served.add(m);
    const missing = Array.from(served)
      .filter((m) => !priced.has(m))
      .sort();
    if (!missing.length) return missingBox.replaceChildren();
    missingBox.replaceChildren(
      h(
        'div',
        { class: 'notice', testid: 'prices-missing' },
        h('div', null, priced.has('*') ? t('prices.missingDefault') : t('prices.missing')),
        h(
          'div',
          { class: 'chips' },
          missing.map((m) =>
            h('button', { type: 'button', class: 'chip', testid: 'price-missing-model', onclick: () => prices.openForm(null, m) }, m),
          ),
        ),
      ),
    );
  }

  ctx.el.append(
    pageHead(t('prices.title'), t('prices.subtitle'), prices.createButton()),
    missingBox,
    card(null, prices.el),
  );
  await prices.load();
}
