/* The frame around every signed-in page: top bar (menu button on phones, who is signed in, language, sign out)
 * and the side navigation built from the route table. */

import { $, h } from './dom.js';
import { t, currentLanguage, toggleLanguage } from './i18n.js';
import { badge, button } from './ui.js';
import { state, isAdmin, hasUser } from './state.js';

export function langButton() {
  return h(
    'button',
    { type: 'button', class: 'btn ghost small lang-btn', testid: 'lang-toggle', title: t('lang.title'), onclick: toggleLanguage },
    t('lang.switch'),
  );
}

/** May the current session open route `r`? */
export function allowed(r) {
  if (!state.session) return false;
  if (r.access === 'any') return true;
  if (r.access === 'user') return hasUser();
  if (r.access === 'admin') return isAdmin();
  return false;
}

function navTestId(path) {
  return 'nav-' + path.replace(/^\//, '').replace(/\//g, '-');
}

export function closeMenu() {
  document.body.classList.remove('menu-open');
  const b = $('[data-testid="menu-toggle"]');
  if (b) b.setAttribute('aria-expanded', 'false');
}

function toggleMenu() {
  const open = !document.body.classList.contains('menu-open');
  document.body.classList.toggle('menu-open', open);
  const b = $('[data-testid="menu-toggle"]');
  if (b) b.setAttribute('aria-expanded', open ? 'true' : 'false');
}

function renderShell(routes, logout) {
  const s = state.session;
  const nav = h('nav', { class: 'nav', id: 'nav', testid: 'nav', 'aria-label': t('nav.label') });
  const sections = [
    ['main', null],
    ['user', hasUser() ? t('nav.sectionUser') : null],
    ['admin', t('nav.sectionAdmin')],
  ];
  for (const [sec, heading] of sections) {
    const items = routes.filter((r) => r.section === sec && allowed(r));
    if (!items.length) continue;
    if (heading) nav.appendChild(h('div', { class: 'nav-heading' }, heading));
    for (const r of items) {
      nav.appendChild(
        h('a', { class: 'nav-link', href: '#' + r.path, testid: navTestId(r.path), 'data-path': r.path, onclick: closeMenu }, t(r.label)),
      );
    }
  }
  const who = s.user
    ? h('span', { class: 'who', testid: 'current-user' }, s.user.name, isAdmin() ? badge(t('role.admin'), 'info') : null)
    : h('span', { class: 'who', testid: 'current-user' }, t('nav.adminToken'));
  const menuBtn = h(
    'button',
    {
      type: 'button',
      class: 'icon-btn menu-btn',
      testid: 'menu-toggle',
      'aria-label': t('nav.menu'),
      'aria-expanded': 'false',
      'aria-controls': 'nav',
      onclick: toggleMenu,
    },
    h('span', { class: 'burger', 'aria-hidden': 'true' }),
  );
  const brand = h(
    'a',
    { class: 'brand', href: '#/overview' },
    h('span', { class: 'logo', 'aria-hidden': 'true' }, 'T'),
    h('span', null, t('app.name')),
  );
  const header = h(
    'header',
    { class: 'topbar' },
    menuBtn,
    brand,
    h('div', { class: 'spacer' }),
    who,
    langButton(),
    button(t('nav.logout'), 'logout', logout, 'ghost small'),
  );
  document.getElementById('app').replaceChildren(
    header,
    h(
      'div',
      { class: 'layout' },
      nav,
      h('div', { class: 'nav-backdrop', onclick: closeMenu }),
      h('main', { class: 'main', id: 'main', tabindex: '-1' }),
    ),
  );
}

/** Draws the shell unless the one showing is already right; marks `active` in the navigation. */
export function ensureShell(routes, active, logout) {
  const s = state.session;
  const sig = [currentLanguage(), s.role, s.user ? s.user.id + ':' + s.user.name : '-'].join('|');
  if (sig !== state.shellSig || !document.getElementById('main')) {
    renderShell(routes, logout);
    state.shellSig = sig;
  }
  for (const a of document.querySelectorAll('.nav-link')) {
    const on = a.getAttribute('data-path') === active;
    a.classList.toggle('active', on);
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}
