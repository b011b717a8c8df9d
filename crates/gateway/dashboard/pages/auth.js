/* Sign-in, with a password or the admin token, and registration when the server allows it. */

import { $, h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { api, paths } from '../lib/api.js';
import { checkedSubmit, field, form, formError, input, submitButton } from '../lib/ui.js';
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

  /** One sign-in form: `read()` → [path, body] (or throws what to show); the answer starts the session. */
  function authForm({ title, submit, read, fields, links }) {
    const err = formError('login-error');
    const send = async ([path, body]) => done(await api.post(path, body, { noAuthRedirect: true }));
    const onSubmit = checkedSubmit(err, submit, read, send, true);
    return form('form', onSubmit, h('h1', { class: 'auth-title' }, title), fields, err, submit, h('div', { class: 'auth-links' }, links));
  }

  function adminForm() {
    const tokenInput = input('login-admin-token', {
      type: 'password',
      autocomplete: 'current-password',
      placeholder: t('login.adminTokenPlaceholder'),
    });
    const read = () => {
      const v = tokenInput.value.trim();
      if (!v) throw new Error(t('login.needToken'));
      return [paths.login, { admin_token: v }];
    };
    return authForm({
      title: t('login.adminTitle'),
      submit: submitButton(t('login.adminSubmit'), 'login-admin-submit', 'block'),
      read,
      fields: field(t('login.adminToken'), tokenInput, t('login.adminTokenHelp')),
      links: modeLink('login-mode-user', 'user', t('login.backToUser')),
    });
  }

  function passwordForm(register) {
    const user = input('login-username', { autocomplete: 'username', placeholder: t('login.usernamePlaceholder') });
    const pass = input('login-password', { type: 'password', autocomplete: register ? 'new-password' : 'current-password' });
    const closed = register && state.options && state.options.registration === false;
    const read = () => {
      const username = user.value.trim();
      const password = pass.value;
      if (!username || !password) throw new Error(t('login.needBoth'));
      return [register ? paths.register : paths.login, { username, password }];
    };
    const links = register
      ? h('a', { class: 'link', href: '#/login', testid: 'login-link' }, t('login.haveAccount'))
      : [
          state.options && state.options.registration
            ? h('a', { class: 'link', href: '#/register', testid: 'register-link' }, t('login.registerLink'))
            : null,
          modeLink('login-mode-admin', 'admin', t('login.useAdminToken')),
        ];
    return authForm({
      title: register ? t('login.registerTitle') : t('login.title'),
      submit: submitButton(register ? t('login.registerSubmit') : t('login.submit'), register ? 'register-submit' : 'login-submit', 'block'),
      read,
      fields: [
        closed ? h('div', { class: 'notice' }, t('login.registrationClosed')) : null,
        field(t('login.username'), user),
        field(t('login.password'), pass, register ? t('login.passwordHelp') : null),
      ],
      links,
    });
  }

  function modeLink(testid, m, label) {
    return h('button', { type: 'button', class: 'link', testid, onclick: () => switchMode(m) }, label);
  }

  function draw() {
    const el = mode === 'admin' ? adminForm() : passwordForm(mode === 'register');
    box.replaceChildren(el);
    const first = $('input', el);
    if (first) first.focus();
  }

  function switchMode(m) {
    mode = m;
    draw();
  }

  draw();
}
