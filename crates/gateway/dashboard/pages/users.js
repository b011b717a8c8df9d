/* Operator: users. Balance, spending, status and actions first, with an inline top-up; role and group are in the
 * row's details. */

import { h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { api, paths } from '../lib/api.js';
import { fmtTime, formatMoney, parseMoney } from '../lib/format.js';
import { ACTIONS, resource } from '../lib/resource.js';
import { detailList } from '../lib/table.js';
import { badge, busy, button, card, checkField, checkbox, field, input, muted, pageHead, select, toast, toastError } from '../lib/ui.js';

function roleBadge(u) {
  return badge(t('role.' + (u.role === 'admin' ? 'admin' : 'user')), u.role === 'admin' ? 'info' : '', { 'data-role': u.role || 'user' });
}

export async function pageUsers(ctx) {
  let groups = [];
  const users = resource({
    ctx,
    prefix: 'user',
    paged: 100,
    list: (page) => api.get(paths.users, { limit: page.limit, offset: page.offset }),
    itemPath: (u) => paths.user(u.id),
    createPath: paths.users,
    rowAttrs: (u) => ({ testid: 'user-row', 'data-user-id': u.id, 'data-user-name': u.name, class: u.enabled ? '' : 'dim' }),
    details: (u) =>
      detailList([
        [t('common.id'), '#' + u.id],
        [t('users.role'), roleBadge(u)],
        [t('users.group'), u.group],
        u.created_at ? [t('common.created'), fmtTime(u.created_at)] : null,
      ]),
    footer: () => h('small', { class: 'help' }, t('users.topupHelp')),
    columns: () => [
      {
        label: t('users.name'),
        cell: (u) =>
          h(
            'div',
            null,
            h('div', { class: 'name-line' }, h('span', { class: 'strong' }, u.name), ' ', muted('#' + u.id)),
            ' ',
            h('div', { class: 'cell-sub' }, u.role === 'admin' ? roleBadge(u) : null, ' ', u.group),
          ),
      },
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
      ACTIONS,
      { label: t('users.topup'), cell: topupCell },
    ],
    extraActions: (u) =>
      h('a', { class: 'btn ghost small', href: '#/admin/keys?user_id=' + u.id, testid: 'user-keys' }, t('users.keys')),
    toggle: true,
    remove: true,
    form: { build: userForm },
  });

  ctx.el.append(pageHead(t('users.title'), t('users.subtitle'), users.createButton()), card(null, users.el));
  try {
    groups = ((await api.get(paths.groups)).data || []).map((g) => g.name);
  } catch (_) {
    groups = [];
  }
  if (!ctx.alive()) return;
  if (!groups.includes('default')) groups.unshift('default');

  function topupCell(u) {
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
        const res = await api.post(paths.userTopup(u.id), { amount });
        toast(t('users.toppedUp', { name: u.name, balance: formatMoney(res.balance) }));
        await users.load();
      } catch (e) {
        toastError(e);
      }
    });
  }

  function userForm(existing) {
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
    const nodes = [
      field(t('users.name'), name),
      field(t('users.password'), password, editing ? t('users.passwordEditHelp') : t('users.passwordHelp')),
      h('div', { class: 'grid-2 tight' }, field(t('users.group'), group, t('users.groupHelp')), field(t('users.role'), role, t('users.roleHelp'))),
      editing ? checkField(t('users.enabledLabel'), enabled) : field(t('users.startBalance'), balance, t('users.startBalanceHelp')),
    ];
    function read() {
      const nm = name.value.trim();
      if (!nm) throw new Error(t('users.needName'));
      const body = { name: nm, group: group.value, role: role.value };
      if (password.value) body.password = password.value;
      if (editing) body.enabled = enabled.checked;
      else {
        const b = parseMoney(balance.value);
        if (b !== null) body.balance = b;
      }
      return body;
    }
    return { nodes, read };
  }

  await users.load();
}
