/* The list / form / toggle / remove machinery every managed resource shares (keys, channels, users, groups,
 * prices, codes). A page describes its resource; this module loads it, draws the table with one actions column,
 * and runs the edit dialog, the enable/disable switch and the confirmed delete.
 *
 * Description:
 *   ctx            the page context (ctx.alive() is false once the person has left the page)
 *   prefix         testid prefix: `${prefix}-edit`, `${prefix}-delete`, `${prefix}-form`, `${prefix}-create-submit`…;
 *                  its plural `${prefix}s` is the i18n namespace of the resource's texts (see below)
 *   named(row)     the texts' {placeholders} (default {name: row.name})
 *   rowAttrs(row), details(row), sort(rows), footer()
 *   list(page)     async → {data, total}; page is {offset, limit, total}
 *   paged          rows per page (no pager without it); alwaysPager shows it even on one page
 *   columns()      the columns; the entry ACTIONS marks where the actions column goes
 *   itemPath(row)  the row's API path (PATCH or PUT, DELETE); createPath: where new rows are POSTed
 *   update         'patch' (default) or 'put'
 *   extraActions(row)  nodes before Edit
 *   toggle         true or {testid(row)} (default `${prefix}-toggle`): PATCH {enabled: !row.enabled}
 *   remove         true or {when(row)}
 *   form           {wide, build(row, {err, preset}) → {nodes, read() → body}, saved(row, body, res) → toast text
 *                   (default below), after(row, body, res)}
 *
 * The table is `${prefix}s-table`, its pager `${prefix}s`. The texts follow one naming rule, `${prefix}s.` + empty
 * (no rows), enable / disable, enabledToast / disabledToast, confirmDelete, deleted, create (the page's button),
 * createTitle / editTitle, createSubmit, created / saved.
 */

import { h } from './dom.js';
import { t } from './i18n.js';
import { api } from './api.js';
import { table, pager } from './table.js';
import {
  busy,
  button,
  checkedSubmit,
  confirmDialog,
  errorBox,
  form,
  formError,
  loading,
  openModal,
  submitButton,
  toast,
  toastError,
} from './ui.js';

export const ACTIONS = Object.freeze({ actions: true });

export function resource(desc) {
  const ctx = desc.ctx;
  const p = desc.prefix;
  const plural = p + 's';
  const text = (key, row) => t(plural + '.' + key, row && (desc.named ? desc.named(row) : { name: row.name }));
  const page = { offset: 0, limit: desc.paged || 0, total: 0 };
  const box = h('div', null, loading());

  async function load() {
    try {
      const res = await desc.list(page);
      if (!ctx.alive()) return;
      page.total = Number(res && res.total) || 0;
      render((res && res.data) || []);
    } catch (e) {
      if (!ctx.alive()) return;
      box.replaceChildren(errorBox(e.message));
    }
  }

  function actionsCell(row) {
    const tg = desc.toggle;
    const rm = desc.remove;
    return h(
      'div',
      { class: 'row-actions' },
      desc.extraActions ? desc.extraActions(row) : null,
      desc.form ? button(t('common.edit'), p + '-edit', () => openForm(row), 'ghost small') : null,
      tg ? toggleButton(row, tg.testid ? tg.testid(row) : p + '-toggle') : null,
      rm && (!rm.when || rm.when(row)) ? button(t('common.delete'), p + '-delete', () => remove(row), 'ghost small danger-text') : null,
    );
  }

  function toggleButton(row, testid) {
    const label = text(row.enabled ? 'disable' : 'enable');
    return button(label, testid, (e) => toggle(row, e.currentTarget), 'ghost small', { 'data-enabled': String(!!row.enabled) });
  }

  function render(rows) {
    const cols = desc
      .columns()
      .map((c) => (c === ACTIONS ? { label: t('common.actions'), cls: 'actions', cell: actionsCell } : c));
    const children = [
      table(plural + '-table', cols, desc.sort ? desc.sort(rows) : rows, {
        rowAttrs: desc.rowAttrs,
        empty: text('empty'),
        details: desc.details,
      }),
    ];
    if (desc.footer) children.push(desc.footer());
    if (page.limit && (desc.alwaysPager || page.total > page.limit)) {
      children.push(
        pager(plural, page, (off) => {
          page.offset = off;
          load();
        }),
      );
    }
    box.replaceChildren(...children);
  }

  async function toggle(row, btn) {
    await busy(btn, async () => {
      try {
        await api.patch(desc.itemPath(row), { enabled: !row.enabled });
        toast(text(row.enabled ? 'disabledToast' : 'enabledToast', row));
        await load();
      } catch (e) {
        toastError(e);
      }
    });
  }

  async function remove(row) {
    if (!(await confirmDialog(text('confirmDelete', row), { ok: t('common.delete') }))) return;
    try {
      await api.del(desc.itemPath(row));
      toast(text('deleted', row));
      await load();
    } catch (e) {
      toastError(e);
    }
  }

  function save(row, body) {
    if (!row) return api.post(desc.createPath, body);
    return desc.update === 'put' ? api.put(desc.itemPath(row), body) : api.patch(desc.itemPath(row), body);
  }

  function openForm(row, preset) {
    const f = desc.form;
    const err = formError(p + '-form-error');
    const submit = submitButton(row ? t('common.save') : text('createSubmit'), row ? p + '-save-submit' : p + '-create-submit');
    const built = f.build(row, { err, preset });
    const send = async (body) => {
      const res = await save(row, body);
      close();
      toast(f.saved ? f.saved(row, body, res) : text(row ? 'saved' : 'created', body));
      if (f.after) f.after(row, body, res);
      await load();
    };
    const actions = h('div', { class: 'form-actions' }, button(t('common.cancel'), p + '-form-cancel', () => close()), submit);
    const el = form('form', checkedSubmit(err, submit, built.read, send), built.nodes, err, actions);
    const close = openModal(row ? text('editTitle', row) : text('createTitle'), el, { testid: p + '-form', wide: f.wide });
  }

  /** The page head's "New …" button. */
  function createButton() {
    return button(text('create'), p + '-create-open', () => openForm(null), 'primary');
  }

  return { el: box, load, openForm, createButton, page };
}
