/* Operator: model prices (per million tokens, per request), and the served models that have none yet. */

import { h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { api, paths } from '../lib/api.js';
import { formatMoney, moneyInputValue, parseMoney } from '../lib/format.js';
import { ACTIONS, resource } from '../lib/resource.js';
import { card, field, input, mono, muted, pageHead } from '../lib/ui.js';

function priceForm(existing, { preset }) {
  const editing = !!existing;
  const p = existing || {};
  const money = (testid, v, placeholder) => input(testid, { value: moneyInputValue(v), inputmode: 'decimal', placeholder });
  const model = input('price-model', { value: p.model || preset || '', readOnly: editing, placeholder: 'gpt-4o' });
  const inp = money('price-input', p.input_per_million, '2.50');
  const cached = money('price-cached', p.cached_input_per_million, '1.25');
  const write = money('price-cache-write', p.cache_write_per_million, '3.75');
  const write1h = money('price-cache-write-1h', p.cache_write_1h_per_million, '6.00');
  const audioIn = money('price-audio-input', p.audio_input_per_million, '32.00');
  const audioOut = money('price-audio-output', p.audio_output_per_million, '64.00');
  const out = money('price-output', p.output_per_million, '10.00');
  const perReq = money('price-per-request', p.per_request, '0.04');
  const nodes = [
    field(t('prices.model'), model, t('prices.modelHelp')),
    h(
      'div',
      { class: 'grid-2 tight' },
      field(t('prices.input'), inp, t('prices.perMillionHelp')),
      field(t('prices.cached'), cached, t('prices.cachedHelp')),
      field(t('prices.cacheWrite'), write, t('prices.cacheWriteHelp')),
      field(t('prices.cacheWrite1h'), write1h, t('prices.cacheWrite1hHelp')),
      field(t('prices.output'), out, t('prices.perMillionHelp')),
      field(t('prices.audioInput'), audioIn, t('prices.audioHelp')),
      field(t('prices.audioOutput'), audioOut, t('prices.audioHelp')),
      field(t('prices.perRequest'), perReq, t('prices.perRequestHelp')),
    ),
    h('small', { class: 'help' }, t('prices.emptyHelp')),
  ];
  function read() {
    const m = model.value.trim();
    if (!m) throw new Error(t('prices.needModel'));
    const body = {
      model: m,
      input_per_million: parseMoney(inp.value),
      cached_input_per_million: parseMoney(cached.value),
      cache_write_per_million: parseMoney(write.value),
      cache_write_1h_per_million: parseMoney(write1h.value),
      output_per_million: parseMoney(out.value),
      audio_input_per_million: parseMoney(audioIn.value),
      audio_output_per_million: parseMoney(audioOut.value),
      per_request: parseMoney(perReq.value),
    };
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
    strings: 'prices',
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
