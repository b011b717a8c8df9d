/* Redeem a top-up code into the person's balance. */

import { h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { api, paths } from '../lib/api.js';
import { formatMoney } from '../lib/format.js';
import { busy, card, field, input, pageHead, toast, toastError } from '../lib/ui.js';
import { state } from '../lib/state.js';

export async function pageRedeem(ctx) {
  const code = input('redeem-code', { placeholder: t('redeem.placeholder'), autocomplete: 'off' });
  const result = h('div', { class: 'result', testid: 'redeem-result', 'aria-live': 'polite', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn primary', testid: 'redeem-submit' }, t('redeem.submit'));
  const balance = h('span', { testid: 'redeem-balance' }, state.session.user ? formatMoney(state.session.user.balance) : '—');
  const form = h(
    'form',
    {
      class: 'form',
      novalidate: true,
      onsubmit: (e) => {
        e.preventDefault();
        const c = code.value.trim();
        if (!c) return;
        busy(submit, async () => {
          try {
            const res = await api.post(paths.redeem, { code: c });
            if (state.session && state.session.user) state.session.user.balance = res.balance;
            balance.textContent = formatMoney(res.balance);
            result.textContent = t('redeem.success', { amount: formatMoney(res.amount), balance: formatMoney(res.balance) });
            result.setAttribute('data-kind', 'success');
            result.className = 'result success';
            result.hidden = false;
            code.value = '';
            toast(t('redeem.toast', { amount: formatMoney(res.amount) }));
          } catch (ex) {
            result.textContent = ex.message;
            result.setAttribute('data-kind', 'error');
            result.className = 'result error';
            result.hidden = false;
            toastError(ex);
          }
        });
      },
    },
    field(t('redeem.code'), code, t('redeem.help')),
    h('div', { class: 'form-actions left' }, submit),
    result,
  );
  ctx.el.append(
    pageHead(t('redeem.title'), t('redeem.subtitle')),
    h('div', { class: 'narrow' }, card(null, h('p', { class: 'muted' }, t('redeem.current'), ' ', balance), form)),
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
