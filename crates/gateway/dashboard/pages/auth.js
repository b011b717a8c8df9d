/* Sign-in, with a password or the admin token, and registration when the server allows it. */

import { $, h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { api, paths } from '../lib/api.js';
import { busy, field, input } from '../lib/ui.js';
import { state, go, startSession } from '../lib/state.js';
import { langButton } from '../lib/shell.js';

export async function renderAuth(initialMode) {
  state.viewToken++;
  const token = state.viewToken;
  const root = document.getElementById('app');
  state.shellSig = null;
  document.title = t('login.title') + ' · ' + t('app.name');
  let mode = initialMode; // 'user' | 'admin' | 'register'
  const box = h('div', { class: 'auth-card card' });
  const page = h(
    'div',
    { class: 'auth-page' },
    h('div', { class: 'auth-top' }, langButton()),
    h(
      'div',
      { class: 'auth-center' },
      h(
        'div',
        { class: 'auth-brand' },
        h('span', { class: 'logo big', 'aria-hidden': 'true' }, 'T'),
        h('span', null, t('app.name')),
      ),
      h('p', { class: 'auth-tagline' }, t('login.tagline')),
      box,
    ),
  );
  root.replaceChildren(page);

  if (!state.options) {
    try {
      state.options = await api.get(paths.authOptions, undefined, { noAuthRedirect: true });
    } catch (_) {
      state.options = { registration: false };
    }
  }
  if (token !== state.viewToken) return;

  function done(res) {
    startSession(res);
    const target = state.afterLogin && !/^\/(login|register)/.test(state.afterLogin) ? state.afterLogin : '/overview';
    state.afterLogin = null;
    go(target);
  }

  function draw() {
    const err = h('div', { class: 'form-error', testid: 'login-error', role: 'alert', hidden: true });
    const fail = (e) => {
      err.textContent = e && e.message ? e.message : String(e);
      err.hidden = false;
    };
    let form;
    if (mode === 'admin') {
      const tokenInput = input('login-admin-token', {
        type: 'password',
        autocomplete: 'current-password',
        placeholder: t('login.adminTokenPlaceholder'),
      });
      const submit = h(
        'button',
        { type: 'submit', class: 'btn primary block', testid: 'login-admin-submit' },
        t('login.adminSubmit'),
      );
      form = h(
        'form',
        {
          class: 'form',
          novalidate: true,
          onsubmit: (e) => {
            e.preventDefault();
            const v = tokenInput.value.trim();
            if (!v) return fail(new Error(t('login.needToken')));
            busy(submit, async () => {
              try {
                done(await api.post(paths.login, { admin_token: v }, { noAuthRedirect: true }));
              } catch (ex) {
                fail(ex);
              }
            });
          },
        },
        h('h1', { class: 'auth-title' }, t('login.adminTitle')),
        field(t('login.adminToken'), tokenInput, t('login.adminTokenHelp')),
        err,
        submit,
        h(
          'div',
          { class: 'auth-links' },
          h(
            'button',
            { type: 'button', class: 'link', testid: 'login-mode-user', onclick: () => switchMode('user') },
            t('login.backToUser'),
          ),
        ),
      );
    } else {
      const register = mode === 'register';
      const user = input('login-username', { autocomplete: 'username', placeholder: t('login.usernamePlaceholder') });
      const pass = input('login-password', { type: 'password', autocomplete: register ? 'new-password' : 'current-password' });
      const submit = h(
        'button',
        { type: 'submit', class: 'btn primary block', testid: register ? 'register-submit' : 'login-submit' },
        register ? t('login.registerSubmit') : t('login.submit'),
      );
      const closed = register && state.options && state.options.registration === false;
      form = h(
        'form',
        {
          class: 'form',
          novalidate: true,
          onsubmit: (e) => {
            e.preventDefault();
            const username = user.value.trim();
            const password = pass.value;
            if (!username || !password) return fail(new Error(t('login.needBoth')));
            busy(submit, async () => {
              try {
                done(
                  await api.post(
                    register ? paths.register : paths.login,
                    { username, password },
                    { noAuthRedirect: true },
                  ),
                );
              } catch (ex) {
                fail(ex);
              }
            });
          },
        },
        h('h1', { class: 'auth-title' }, register ? t('login.registerTitle') : t('login.title')),
        closed ? h('div', { class: 'notice' }, t('login.registrationClosed')) : null,
        field(t('login.username'), user),
        field(t('login.password'), pass, register ? t('login.passwordHelp') : null),
        err,
        submit,
        h(
          'div',
          { class: 'auth-links' },
          register
            ? h('a', { class: 'link', href: '#/login', testid: 'login-link' }, t('login.haveAccount'))
            : state.options && state.options.registration
              ? h('a', { class: 'link', href: '#/register', testid: 'register-link' }, t('login.registerLink'))
              : null,
          register
            ? null
            : h(
                'button',
                { type: 'button', class: 'link', testid: 'login-mode-admin', onclick: () => switchMode('admin') },
                t('login.useAdminToken'),
              ),
        ),
      );
    }
    box.replaceChildren(form);
    const first = $('input', form);
    if (first) first.focus();
  }

  function switchMode(m) {
    mode = m;
    draw();
  }

  draw();
}
