/* Tollgate dashboard: plain ES modules, no build step, no dependencies. This file boots the app and routes
 * `#/path` hashes to the pages (pages/*.js); lib/ holds what the pages share (api.js is the only place that knows
 * the REST paths). */

import { h } from './lib/dom.js';
import { t, loadLanguage, onLanguageChange } from './lib/i18n.js';
import { api, paths } from './lib/api.js';
import { formatMoney, parseMoney, parseFixed, parseTimeInput } from './lib/format.js';
import { closeAllModals, errorBox, loading, toast } from './lib/ui.js';
import { state, go, startSession, endSession } from './lib/state.js';
import { allowed, closeMenu, ensureShell } from './lib/shell.js';
import { renderAuth } from './pages/auth.js';
import { pageOverview } from './pages/overview.js';
import { pageKeys } from './pages/keys.js';
import { pagePlayground, resetPlayground } from './pages/playground.js';
import { pageLogs } from './pages/logs.js';
import { pageUsage } from './pages/usage.js';
import { pageRedeem } from './pages/redeem.js';
import { pageChannels } from './pages/channels.js';
import { pageUsers } from './pages/users.js';
import { pageGroups } from './pages/groups.js';
import { pagePrices } from './pages/prices.js';
import { pageCodes } from './pages/codes.js';
import { pageMj } from './pages/mj.js';

const ROUTES = [
  { path: '/overview', access: 'any', label: 'nav.overview', section: 'main', render: (c) => pageOverview(c) },
  { path: '/keys', access: 'user', label: 'nav.keys', section: 'user', render: (c) => pageKeys(c, false) },
  { path: '/playground', access: 'user', label: 'nav.playground', section: 'user', render: (c) => pagePlayground(c) },
  { path: '/logs', access: 'user', label: 'nav.logs', section: 'user', render: (c) => pageLogs(c, false) },
  { path: '/usage', access: 'user', label: 'nav.usage', section: 'user', render: (c) => pageUsage(c, false) },
  { path: '/redeem', access: 'user', label: 'nav.redeem', section: 'user', render: (c) => pageRedeem(c) },
  { path: '/admin/channels', access: 'admin', label: 'nav.channels', section: 'admin', render: (c) => pageChannels(c) },
  { path: '/admin/users', access: 'admin', label: 'nav.users', section: 'admin', render: (c) => pageUsers(c) },
  { path: '/admin/keys', access: 'admin', label: 'nav.adminKeys', section: 'admin', render: (c) => pageKeys(c, true) },
  { path: '/admin/groups', access: 'admin', label: 'nav.groups', section: 'admin', render: (c) => pageGroups(c) },
  { path: '/admin/prices', access: 'admin', label: 'nav.prices', section: 'admin', render: (c) => pagePrices(c) },
  { path: '/admin/codes', access: 'admin', label: 'nav.codes', section: 'admin', render: (c) => pageCodes(c) },
  { path: '/admin/logs', access: 'admin', label: 'nav.adminLogs', section: 'admin', render: (c) => pageLogs(c, true) },
  { path: '/admin/usage', access: 'admin', label: 'nav.adminUsage', section: 'admin', render: (c) => pageUsage(c, true) },
  { path: '/admin/mj', access: 'admin', label: 'nav.mj', section: 'admin', render: (c) => pageMj(c) },
];

function currentPath() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const i = raw.indexOf('?');
  return { raw, path: i < 0 ? raw : raw.slice(0, i), query: new URLSearchParams(i < 0 ? '' : raw.slice(i + 1)) };
}

async function router() {
  closeAllModals();
  closeMenu();
  const { raw, path, query } = currentPath();
  if (path === '/login' || path === '/register') {
    if (state.session) return go('/overview');
    return renderAuth(path === '/register' ? 'register' : 'user');
  }
  if (!state.session) {
    if (path !== '/' && path !== '') state.afterLogin = raw;
    return go('/login');
  }
  const r = ROUTES.find((x) => x.path === path);
  if (!r || !allowed(r)) return go('/overview');
  ensureShell(ROUTES, r.path, logout);
  document.title = t(r.label) + ' · ' + t('app.name');
  const main = document.getElementById('main');
  main.replaceChildren();
  main.scrollTop = 0;
  const token = ++state.viewToken;
  const ctx = { el: main, query, alive: () => token === state.viewToken };
  try {
    await r.render(ctx);
  } catch (e) {
    if (ctx.alive()) main.appendChild(errorBox(e && e.message ? e.message : String(e)));
  }
}

function onUnauthorized() {
  if (!state.session) return;
  endSession();
  state.afterLogin = currentPath().raw;
  toast(t('err.sessionExpired'), 'error');
  go('/login');
}

async function logout() {
  try {
    await api.post(paths.logout, undefined, { noAuthRedirect: true });
  } catch (_) {
    /* the session is dropped on this side either way */
  }
  endSession();
  resetPlayground();
  go('/login');
}

async function boot() {
  api.onUnauthorized = onUnauthorized;
  await loadLanguage();
  const root = document.getElementById('app');
  root.replaceChildren(h('div', { class: 'boot' }, loading()));
  try {
    const res = await api.get(paths.session, undefined, { noAuthRedirect: true });
    if (res && res.role) startSession(res);
  } catch (_) {
    state.session = null;
  }
  onLanguageChange(() => {
    state.shellSig = null;
    router();
  });
  window.addEventListener('hashchange', router);
  await router();
}

// Exposed for tests and debugging; the app itself does not read it.
window.Tollgate = { formatMoney, parseMoney, parseFixed, parseTimeInput, t };

boot();
