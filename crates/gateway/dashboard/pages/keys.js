/* API keys: a person's own keys, or every user's for operators (filterable by user). Money, status and actions
 * come first; models, limits and expiry open in the row's details. */

import { h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { api, paths } from '../lib/api.js';
import {
  fmtDate,
  fmtInt,
  fmtTime,
  formatMoney,
  moneyInputValue,
  parseIntField,
  parseList,
  parseLines,
  parseMoney,
  parseTimeInput,
  timeInputValue,
  toDate,
} from '../lib/format.js';
import { ACTIONS, resource } from '../lib/resource.js';
import { detailList } from '../lib/table.js';
import { badge, button, card, checkField, checkbox, copyText, field, input, mono, muted, pageHead, select, textarea } from '../lib/ui.js';
import { adminLookups, userLabel } from '../lib/state.js';

function keyStatus(k) {
  if (!k.enabled) return badge(t('keys.disabled'), 'muted', { testid: 'key-status', 'data-status': 'disabled' });
  const exp = toDate(k.expires_at);
  if (exp && exp.getTime() <= Date.now()) return badge(t('keys.expired'), 'warn', { testid: 'key-status', 'data-status': 'expired' });
  return badge(t('keys.enabled'), 'ok', { testid: 'key-status', 'data-status': 'enabled' });
}

function limitsText(k) {
  const parts = [];
  if (k.rpm_limit) parts.push(t('keys.rpmShort', { n: fmtInt(k.rpm_limit) }));
  if (k.tpm_limit) parts.push(t('keys.tpmShort', { n: fmtInt(k.tpm_limit) }));
  if (k.ip_allowlist && k.ip_allowlist.length) parts.push(t('keys.ipsShort', { n: k.ip_allowlist.length }));
  return parts.length ? parts.join(' · ') : muted(t('keys.noLimits'));
}

function details(k) {
  return detailList([
    [t('keys.colKey'), mono(k.prefix + '…')],
    [t('keys.colModels'), k.models && k.models.length ? k.models.join(', ') : muted(t('keys.allModels'))],
    [t('keys.colLimits'), limitsText(k)],
    k.ip_allowlist && k.ip_allowlist.length ? [t('keys.ips'), k.ip_allowlist.join(', ')] : null,
    [
      t('keys.colExpires'),
      k.expires_at ? h('span', { title: fmtTime(k.expires_at) }, timeInputValue(k.expires_at)) : muted(t('keys.never')),
    ],
    [t('common.created'), fmtTime(k.created_at)],
    [t('common.id'), '#' + k.id],
  ]);
}

export async function pageKeys(ctx, admin) {
  let userFilter = ctx.query.get('user_id') || '';
  let lookups = null;
  let modelHints = null;
  const secretBox = h('div', { testid: 'key-secret-area' });

  const keys = resource({
    ctx,
    prefix: 'key',
    paged: admin ? 100 : 0,
    list: (page) =>
      admin
        ? api.get(paths.keys(true), { user_id: userFilter, limit: page.limit, offset: page.offset })
        : api.get(paths.keys(false)),
    itemPath: (k) => paths.key(admin, k.id),
    createPath: paths.keys(admin),
    rowAttrs: (k) => ({ testid: 'key-row', 'data-key-id': k.id, class: k.enabled ? '' : 'dim' }),
    details,
    columns: () => [
      {
        label: t('keys.colName'),
        cell: (k) =>
          h(
            'span',
            null,
            h('span', { class: 'strong', testid: 'key-name-cell' }, k.name),
            h('span', { class: 'cell-sub' }, t('keys.createdOn', { date: fmtDate(k.created_at) })),
          ),
      },
      admin ? { label: t('common.user'), cell: (k) => userLabel(lookups.userMap, k.user_id) } : null,
      {
        label: t('keys.colSpent'),
        cls: 'num',
        cell: (k) =>
          h(
            'span',
            null,
            formatMoney(k.spent),
            k.spend_cap !== null && k.spend_cap !== undefined ? muted(' / ' + formatMoney(k.spend_cap)) : null,
            k.remaining !== null && k.remaining !== undefined
              ? h('span', { class: 'cell-sub' }, t('keys.remaining', { amount: formatMoney(k.remaining) }))
              : null,
          ),
      },
      { label: t('common.status'), cell: keyStatus },
      ACTIONS,
      { label: t('keys.colKey'), cls: 'wide-only', cell: (k) => mono(k.prefix + '…') },
    ],
    toggle: { testid: (k) => (k.enabled ? 'key-disable' : 'key-enable') },
    remove: true,
    form: {
      build: keyForm,
      after: (k, body, res) => {
        if (!k) showSecret(res);
      },
    },
  });

  ctx.el.append(
    pageHead(
      admin ? t('keys.adminTitle') : t('keys.title'),
      admin ? t('keys.adminSubtitle') : t('keys.subtitle'),
      keys.createButton(),
    ),
    secretBox,
  );
  if (admin) {
    lookups = await adminLookups();
    if (!ctx.alive()) return;
    const sel = select(
      'keys-filter-user',
      [['', t('keys.allUsers')]].concat(lookups.users.map((u) => [String(u.id), `${u.name} (#${u.id})`])),
      userFilter,
      {
        onchange: () => {
          userFilter = sel.value;
          keys.page.offset = 0;
          keys.load();
        },
      },
    );
    ctx.el.appendChild(h('div', { class: 'filters' }, field(t('keys.filterUser'), sel)));
  }
  ctx.el.appendChild(card(null, keys.el));

  async function loadModelHints() {
    if (modelHints) return modelHints;
    try {
      if (admin) {
        const set = new Set();
        for (const c of lookups.channels) for (const m of c.models || []) set.add(m);
        modelHints = Array.from(set).sort();
      } else {
        const res = await api.get(paths.playgroundModels);
        modelHints = (res.data || []).map((m) => m.id).sort();
      }
    } catch (_) {
      modelHints = [];
    }
    return modelHints;
  }

  function keyForm(existing) {
    const editing = !!existing;
    const e = existing || {};
    const userSel =
      admin && !editing
        ? select(
            'key-user',
            lookups.users.map((u) => [String(u.id), `${u.name} (#${u.id})`]),
            userFilter || (lookups.users[0] ? String(lookups.users[0].id) : ''),
          )
        : null;
    const name = input('key-name', { value: e.name || '', placeholder: t('keys.namePlaceholder'), maxlength: 100 });
    const models = input('key-models', { value: (e.models || []).join(', '), placeholder: t('keys.modelsPlaceholder') });
    const cap = input('key-spend-cap', { value: moneyInputValue(e.spend_cap), inputmode: 'decimal', placeholder: '10.00' });
    const expires = input('key-expires', { value: timeInputValue(e.expires_at), placeholder: 'YYYY-MM-DD' });
    const rpm = input('key-rpm', { value: e.rpm_limit || '', inputmode: 'numeric', placeholder: '60' });
    const tpm = input('key-tpm', { value: e.tpm_limit || '', inputmode: 'numeric', placeholder: '100000' });
    const ips = textarea('key-ips', { value: (e.ip_allowlist || []).join('\n'), placeholder: '203.0.113.7\n10.0.0.0/8', rows: 2 });
    const enabled = checkbox('key-enabled', editing ? e.enabled : true);
    const hints = h('div', { class: 'chips', testid: 'key-model-hints' });

    loadModelHints().then((list) => {
      if (!list.length) return;
      hints.append(
        h('span', { class: 'muted small' }, t('keys.available')),
        list.slice(0, 40).map((m) =>
          h(
            'button',
            {
              type: 'button',
              class: 'chip',
              testid: 'key-model-hint',
              onclick: () => {
                const cur = parseList(models.value);
                if (!cur.includes(m)) cur.push(m);
                models.value = cur.join(', ');
              },
            },
            m,
          ),
        ),
      );
    });

    const nodes = [
      userSel ? field(t('common.user'), userSel) : null,
      field(t('keys.name'), name, t('keys.nameHelp')),
      field(t('keys.models'), models, t('keys.modelsHelp')),
      hints,
      h(
        'div',
        { class: 'grid-2 tight' },
        field(t('keys.spendCap'), cap, t('keys.spendCapHelp')),
        field(t('keys.expires'), expires, t('keys.expiresHelp')),
        field(t('keys.rpm'), rpm, t('keys.rpmHelp')),
        field(t('keys.tpm'), tpm, t('keys.tpmHelp')),
      ),
      field(t('keys.ips'), ips, t('keys.ipsHelp')),
      editing ? checkField(t('keys.enabledLabel'), enabled) : null,
    ];
    function read() {
      const nm = name.value.trim();
      if (!nm) throw new Error(t('keys.needName'));
      const list = parseList(models.value);
      const body = {
        name: nm,
        models: list.length ? list : null,
        spend_cap: parseMoney(cap.value),
        expires_at: parseTimeInput(expires.value),
        rpm_limit: parseIntField(rpm.value, { min: 1 }),
        tpm_limit: parseIntField(tpm.value, { min: 1 }),
        ip_allowlist: parseLines(ips.value),
      };
      if (editing) body.enabled = enabled.checked;
      if (userSel) {
        if (!userSel.value) throw new Error(t('keys.needUser'));
        body.user_id = Number(userSel.value);
      }
      return body;
    }
    return { nodes, read };
  }

  function showSecret(res) {
    secretBox.replaceChildren(
      h(
        'div',
        { class: 'secret-box', testid: 'key-secret-box', role: 'alert' },
        h('div', { class: 'secret-title' }, t('keys.secretTitle', { name: res.name || '' })),
        h('p', { class: 'help' }, t('keys.secretHelp')),
        h(
          'div',
          { class: 'copy-row' },
          h('code', { class: 'mono secret', testid: 'key-secret' }, res.key),
          button(t('common.copy'), 'key-copy', () => copyText(res.key), 'primary small'),
        ),
        button(t('keys.secretDone'), 'key-secret-close', () => secretBox.replaceChildren(), 'ghost small'),
      ),
    );
  }

  await keys.load();
}
