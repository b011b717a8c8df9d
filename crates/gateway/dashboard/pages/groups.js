/* Operator: user groups (price multiplier and rate limits). */

import { h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { api, paths } from '../lib/api.js';
import { fmtInt, formatFixed, formatMultiplier, parseFixed, parseIntField } from '../lib/format.js';
import { ACTIONS, resource } from '../lib/resource.js';
import { card, field, input, muted, pageHead } from '../lib/ui.js';

function groupForm(existing) {
  const editing = !!existing;
  const g = existing || {};
  const name = input('group-name', { value: g.name || '', readOnly: editing, placeholder: 'vip' });
  const mult = input('group-multiplier', {
    value: g.multiplier !== undefined ? formatFixed(g.multiplier, 3, 0) : '1',
    inputmode: 'decimal',
  });
  const rpm = input('group-rpm', { value: g.rpm_limit || '', inputmode: 'numeric' });
  const tpm = input('group-tpm', { value: g.tpm_limit || '', inputmode: 'numeric' });
  const nodes = [
    field(t('groups.name'), name, editing ? t('groups.nameFixed') : t('groups.nameHelp')),
    field(t('groups.multiplier'), mult, t('groups.multiplierHelp')),
    h('div', { class: 'grid-2 tight' }, field(t('groups.rpm'), rpm, t('groups.limitHelp')), field(t('groups.tpm'), tpm, t('groups.limitHelp'))),
  ];
  function read() {
    const nm = name.value.trim();
    if (!nm) throw new Error(t('groups.needName'));
    const m = parseFixed(mult.value, 3, {});
    return {
      name: nm,
      multiplier: m === null ? 1000 : m,
      rpm_limit: parseIntField(rpm.value, { min: 1 }),
      tpm_limit: parseIntField(tpm.value, { min: 1 }),
    };
  }
  return { nodes, read };
}

export async function pageGroups(ctx) {
  const groups = resource({
    ctx,
    prefix: 'group',
    list: () => api.get(paths.groups),
    itemPath: (g) => paths.group(g.name),
    createPath: paths.groups,
    update: 'put',
    rowAttrs: (g) => ({ testid: 'group-row', 'data-group-name': g.name }),
    columns: () => [
      { label: t('groups.name'), cell: (g) => h('span', { class: 'strong' }, g.name) },
      {
        label: t('groups.multiplier'),
        cls: 'num',
        cell: (g) => h('span', { 'data-value': g.multiplier }, formatMultiplier(g.multiplier)),
      },
      ACTIONS,
      { label: t('groups.rpm'), cls: 'num', cell: (g) => (g.rpm_limit ? fmtInt(g.rpm_limit) : muted(t('keys.noLimit'))) },
      { label: t('groups.tpm'), cls: 'num', cell: (g) => (g.tpm_limit ? fmtInt(g.tpm_limit) : muted(t('keys.noLimit'))) },
    ],
    remove: { when: (g) => g.name !== 'default' },
    // One text for a new group and a changed one.
    form: { build: groupForm, saved: (g, body) => t('groups.saved', { name: body.name }) },
  });
  ctx.el.append(pageHead(t('groups.title'), t('groups.subtitle'), groups.createButton()), card(null, groups.el));
  await groups.load();
}
