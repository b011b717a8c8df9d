/* Operator: Midjourney tasks relayed to Midjourney channels (image, status, cost; the rest in the details). */

import { h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { api, paths } from '../lib/api.js';
import { fmtTime, formatMoney, parseIntField, safeUrl, shorten } from '../lib/format.js';
import { detailList, pager, table } from '../lib/table.js';
import { badge, button, card, checked, errorBox, field, filterBar, formError, input, loading, mono, muted, pageHead, select } from '../lib/ui.js';
import { adminLookups, channelLabel, userLabel } from '../lib/state.js';

const MJ_STATUSES = ['NOT_START', 'SUBMITTED', 'MODAL', 'IN_PROGRESS', 'SUCCESS', 'FAILURE', 'CANCEL'];

export async function pageMj(ctx) {
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
  const apply = () =>
    checked(
      err,
      () => parseIntField(userIn.value),
      () => {
        filters.status = statusSel.value;
        filters.user_id = userIn.value.trim();
        page.offset = 0;
        load();
      },
    );
  const form = filterBar({
    prefix: 'mj',
    apply,
    fields: [field(t('mj.statusLabel'), statusSel), field(t('logs.userId'), userIn)],
    notes: err,
    buttons: button(t('common.refresh'), 'mj-refresh', () => load()),
  });
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
        res = await api.get(paths.mjTasks, q);
      } catch (e) {
        if (!(e.status === 400 && filters.status && e.detail && e.detail.param === 'status')) throw e;
        localStatus = true;
        delete q.status;
        res = await api.get(paths.mjTasks, q);
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

  function image(m) {
    const url = safeUrl(m.image_url);
    if (!url) return muted('—');
    return h(
      'a',
      { href: url, target: '_blank', rel: 'noopener noreferrer', class: 'thumb-link' },
      h('img', { src: url, alt: t('mj.imageAlt'), class: 'thumb', loading: 'lazy', testid: 'mj-image' }),
    );
  }

  function details(m) {
    return detailList([
      [t('common.id'), h('span', null, '#' + m.id, m.upstream_id ? [' ', mono(m.upstream_id)] : null)],
      [t('logs.channel'), channelLabel(lookups.channelMap, m.channel_id)],
      [t('mj.action'), [m.action || '—', m.mode ? ' · ' + m.mode : '']],
      [t('mj.prompt'), m.prompt || '', 'pre'],
      m.progress ? [t('common.status'), m.progress] : null,
      m.fail_reason ? [t('logs.error'), m.fail_reason, 'err-text pre'] : null,
      [t('mj.submitted'), fmtTime(m.submit_time)],
      [t('mj.finished'), fmtTime(m.finish_time)],
    ]);
  }

  function render(tasks) {
    const cols = [
      { label: t('mj.image'), cell: image },
      {
        label: t('common.id'),
        cell: (m) => h('span', null, '#' + m.id, h('span', { class: 'cell-sub' }, m.action || '—', m.mode ? ' · ' + m.mode : '')),
      },
      { label: t('logs.cost'), cls: 'num', cell: (m) => formatMoney(m.cost) },
      {
        label: t('common.status'),
        cell: (m) =>
          h(
            'span',
            null,
            badge(MJ_STATUSES.includes(m.status) ? t('mj.status.' + m.status) : String(m.status || '—'), statusKind(m.status), {
              'data-status': m.status,
            }),
            m.progress ? h('span', { class: 'cell-sub' }, m.progress) : null,
            m.fail_reason ? h('span', { class: 'cell-sub err-text', title: m.fail_reason }, shorten(m.fail_reason, 60)) : null,
          ),
      },
      { label: t('common.user'), cell: (m) => userLabel(lookups.userMap, m.user_id) },
      {
        label: t('mj.prompt'),
        cell: (m) => (m.prompt ? h('span', { class: 'clip', title: m.prompt }, shorten(m.prompt, 80)) : '—'),
      },
      { label: t('mj.submitted'), cls: 'wide-only', cell: (m) => fmtTime(m.submit_time) },
    ];
    listBox.replaceChildren(
      table('mj-table', cols, tasks, {
        rowAttrs: (m) => ({ testid: 'mj-row', 'data-task-id': m.id }),
        details,
        empty: t('mj.empty'),
      }),
      pager('mj', page, (off) => {
        page.offset = off;
        load();
      }),
    );
  }

  await load();
}
