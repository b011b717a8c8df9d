/* Operator: upstream channels. Health, the test button and the actions come right after the name; models, groups,
 * keys and the mapping open in the row's details. The create / edit form is in channel-form.js. */

import { h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { api, paths } from '../lib/api.js';
import { fmtInt, shorten } from '../lib/format.js';
import { ACTIONS, resource } from '../lib/resource.js';
import { detailList } from '../lib/table.js';
import { badge, busy, button, card, mono, muted, pageHead } from '../lib/ui.js';
import { channelForm } from './channel-form.js';

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

function keysSummary(c) {
  const st = c.key_status || [];
  const bad = st.filter((k) => !k.healthy).length;
  const lines = st.map(
    (k) => `${k.key}: ${k.healthy ? t('health.healthy') : t('health.unhealthy')}${k.disabled_reason ? ' — ' + k.disabled_reason : ''}`,
  );
  return h(
    'span',
    { title: lines.join('\n') },
    t('channels.keyCount', { n: (c.keys || []).length }),
    bad ? h('span', { class: 'cell-sub err-text' }, t('channels.badKeys', { n: bad })) : null,
    lines.length ? h('span', { class: 'cell-sub mono pre' }, lines.join('\n')) : null,
  );
}

function details(c) {
  const mapping = Object.entries(c.model_mapping || {}).map(([a, b]) => `${a} → ${b}`);
  return detailList([
    [t('common.id'), '#' + c.id],
    [t('channels.kind'), t('kind.' + c.kind)],
    [t('channels.baseUrl'), mono(c.base_url)],
    [t('channels.models'), (c.models || []).length ? (c.models || []).join(', ') : muted(t('channels.noModels'))],
    mapping.length ? [t('channels.mapping'), mapping.join(', ')] : null,
    [t('channels.groups'), (c.groups || []).join(', ')],
    [t('channels.priorityWeight'), `${c.priority} / ${c.weight}`],
    [t('channels.keys'), keysSummary(c)],
    c.api_version ? [t('channels.apiVersion'), c.api_version] : null,
    c.region ? [t('channels.region'), c.region] : null,
    c.modes ? [t('channels.modes'), c.modes.join(', ')] : null,
    c.last_error ? [t('channels.health'), c.last_error, 'err-text pre'] : null,
  ]);
}

export async function pageChannels(ctx) {
  const channels = resource({
    ctx,
    prefix: 'channel',
    list: () => api.get(paths.channels),
    sort: (list) => list.slice().sort((a, b) => (b.priority || 0) - (a.priority || 0) || a.id - b.id),
    itemPath: (c) => paths.channel(c.id),
    createPath: paths.channels,
    rowAttrs: (c) => ({ testid: 'channel-row', 'data-channel-id': c.id, 'data-channel-name': c.name, class: c.enabled ? '' : 'dim' }),
    details,
    columns: () => [
      {
        label: t('channels.name'),
        cls: 'name-col',
        cell: (c) =>
          h(
            'div',
            null,
            h('div', { class: 'name-line' }, h('span', { class: 'strong' }, c.name), ' ', badge(c.kind, 'info')),
            ' ',
            h('div', { class: 'cell-sub url', title: c.base_url }, c.base_url),
          ),
      },
      {
        label: t('channels.health'),
        cell: (c) =>
          h(
            'span',
            null,
            channelHealth(c),
            c.last_error ? h('span', { class: 'cell-sub err-line', title: c.last_error }, shorten(c.last_error, 60)) : null,
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
      ACTIONS,
      { label: t('channels.priorityWeight'), cls: 'num', cell: (c) => `${c.priority} / ${c.weight}` },
      {
        label: t('channels.models'),
        cls: 'wide-only',
        cell: (c) => {
          const ms = c.models || [];
          if (!ms.length) return muted(t('channels.noModels'));
          return h('span', { class: 'clip', title: ms.join(', ') }, shorten(ms.join(', '), 40), ms.length > 2 ? muted(` (${ms.length})`) : null);
        },
      },
    ],
    toggle: true,
    remove: true,
    form: { wide: true, build: channelForm },
  });

  ctx.el.append(pageHead(t('channels.title'), t('channels.subtitle'), channels.createButton()), card(null, channels.el));

  async function runTest(c, btn, out) {
    out.textContent = t('channels.testing');
    out.className = 'test-result';
    out.removeAttribute('data-ok');
    await busy(btn, async () => {
      try {
        const r = await api.post(paths.channelTest(c.id));
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

  await channels.load();
}
