/* Overview: the person's balance, spending and base URL; for operators also the gateway's state today. */

import { $, h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { api, paths } from '../lib/api.js';
import { fmtInt, formatMoney, localDay, parseTimeInput, shorten } from '../lib/format.js';
import { button, card, copyText, loading, mono, muted, pageHead, stat, toastError } from '../lib/ui.js';
import { state, isAdmin } from '../lib/state.js';

export async function pageOverview(ctx) {
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
    me = await api.get(paths.me);
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
    const res = await api.get(paths.usage(false), { group_by: 'day', since: parseTimeInput(localDay(-6)) });
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
    api.get(paths.channels).catch((e) => e),
    api.get(paths.users, { limit: 1 }).catch((e) => e),
    api.get(paths.usage(true), { since: today }).catch((e) => e),
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

