/* The session and the navigation state the pages share, and the admin lookups (names next to ids). */

import { h } from './dom.js';
import { api, paths } from './api.js';
import { muted } from './ui.js';

export const state = {
  session: null, // {role, user, csrf_token}
  options: null, // {registration}
  afterLogin: null,
  shellSig: null, // what the drawn shell shows (language, role, user): redrawn when it changes
  viewToken: 0, // bumped on every page change: async work of a page that was left is dropped
};

export function isAdmin() {
  return !!(state.session && state.session.role === 'admin');
}

export function hasUser() {
  return !!(state.session && state.session.user);
}

export function startSession(res) {
  state.session = { role: res.role, user: res.user || null, csrf_token: res.csrf_token };
  api.csrf = res.csrf_token || null;
  state.shellSig = null;
}

export function endSession() {
  state.session = null;
  api.csrf = null;
  state.shellSig = null;
}

/** Shows `path` (a hash route); the hashchange listener of main.js draws it, also when it is already showing. */
export function go(path) {
  if (location.hash !== '#' + path) location.hash = '#' + path;
  else window.dispatchEvent(new HashChangeEvent('hashchange'));
}

/** Users and channels by id, for showing names next to ids. Failures leave the maps empty. */
export async function adminLookups() {
  const [users, channels] = await Promise.all([
    api.get(paths.users, { limit: 1000 }).catch(() => ({ data: [] })),
    api.get(paths.channels).catch(() => ({ data: [] })),
  ]);
  const userMap = new Map((users.data || []).map((u) => [u.id, u]));
  const channelMap = new Map((channels.data || []).map((c) => [c.id, c]));
  return { users: users.data || [], channels: channels.data || [], userMap, channelMap };
}

export function userLabel(map, id) {
  if (id === null || id === undefined) return '—';
  const u = map && map.get(id);
  return u ? h('span', null, u.name, ' ', muted('#' + id)) : '#' + id;
}

export function channelLabel(map, id) {
  if (id === null || id === undefined) return '—';
  const c = map && map.get(id);
  return c ? h('span', null, c.name, ' ', muted('#' + id)) : '#' + id;
}
