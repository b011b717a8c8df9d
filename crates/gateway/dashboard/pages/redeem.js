/* Redeem a top-up code into the person's balance. */

import { h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { api, paths } from '../lib/api.js';
import { formatMoney } from '../lib/format.js';
import { busy, card, field, form, input, pageHead, submitButton, toast, toastError } from '../lib/ui.js';
import { state } from '../lib/state.js';

export async function pageRedeem(ctx) {
  const code = input('redeem-code', { placeholder: t('redeem.placeholder'), autocomplete: 'off' });
  const result = h('div', { class: 'result', testid: 'redeem-result', 'aria-live': 'polite', hidden: true });
  const submit = submitButton(t('redeem.submit'), 'redeem-submit');
  const balance = h('span', { testid: 'redeem-balance' }, state.session.user ? formatMoney(state.session.user.balance) : '—');
  const show = (kind, text) => {
    result.textContent = text;
    result.setAttribute('data-kind', kind);
    result.className = 'result ' + kind;
    result.hidden = false;
  };
  async function redeem(c) {
    try {
      const res = await api.post(paths.redeem, { code: c });
      if (state.session && state.session.user) state.session.user.balance = res.balance;
      balance.textContent = formatMoney(res.balance);
      show('success', t('redeem.success', { amount: formatMoney(res.amount), balance: formatMoney(res.balance) }));
      code.value = '';
      toast(t('redeem.toast', { amount: formatMoney(res.amount) }));
    } catch (ex) {
      show('error', ex.message);
      toastError(ex);
    }
  }
  const onSubmit = () => {
    const c = code.value.trim();
    if (c) busy(submit, () => redeem(c));
  };
  const redeemForm = form(
    'form',
    onSubmit,
    field(t('redeem.code'), code, t('redeem.help')),
    h('div', { class: 'form-actions left' }, submit),
    result,
  );
  ctx.el.append(
    pageHead(t('redeem.title'), t('redeem.subtitle')),
    h('div', { class: 'narrow' }, card(null, h('p', { class: 'muted' }, t('redeem.current'), ' ', balance), redeemForm)),
  );
  if (state.session.user) {
    try {
      const me = await api.get(paths.me);
      if (!ctx.alive()) return;
      state.session.user = Object.assign({}, state.session.user, me);
      balance.textContent = formatMoney(me.balance);
    } catch (_) {
      /* keep the session's figure */
    }
  }
}
