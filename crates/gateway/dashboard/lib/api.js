/* The REST API: every `/api` path of the dashboard is spelled here and nowhere else, and every call goes through
 * request() (cookie session, CSRF header on writes, OpenAI-shaped errors turned into ApiError). */

import { t } from './i18n.js';

const API = '/api';
const ADMIN = API + '/admin';
const seg = (v) => encodeURIComponent(String(v));

export const paths = {
  session: API + '/auth/session',
  authOptions: API + '/auth/options',
  login: API + '/auth/login',
  logout: API + '/auth/logout',
  register: API + '/auth/register',
  me: API + '/me',
  redeem: API + '/redeem',
  playgroundModels: API + '/playground/models',
  playgroundChat: API + '/playground/chat/completions',
  /** Own keys, logs and usage, or everyone's (`admin`). */
  keys: (admin) => (admin ? ADMIN : API) + '/keys',
  key: (admin, id) => (admin ? ADMIN : API) + '/keys/' + seg(id),
  logs: (admin) => (admin ? ADMIN : API) + '/logs',
  usage: (admin) => (admin ? ADMIN : API) + '/usage',
  logsExport: ADMIN + '/logs/export',
  channels: ADMIN + '/channels',
  channel: (id) => ADMIN + '/channels/' + seg(id),
  channelTest: (id) => ADMIN + '/channels/' + seg(id) + '/test',
  fetchModels: ADMIN + '/channels/fetch-models',
  users: ADMIN + '/users',
  user: (id) => ADMIN + '/users/' + seg(id),
  userTopup: (id) => ADMIN + '/users/' + seg(id) + '/topup',
  groups: ADMIN + '/groups',
  group: (name) => ADMIN + '/groups/' + seg(name),
  prices: ADMIN + '/prices',
  // Model names may hold slashes (`openai/gpt-4o`): each part is encoded, the slashes stay.
  price: (model) => ADMIN + '/prices/' + String(model).split('/').map(seg).join('/'),
  codes: ADMIN + '/codes',
  code: (id) => ADMIN + '/codes/' + seg(id),
  codesExport: ADMIN + '/codes/export',
  mjTasks: ADMIN + '/mj/tasks',
};

/** `path?query` from an object; null, undefined and empty values are left out. */
export function withQuery(path, query) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== null && v !== undefined && v !== '') q.append(k, String(v));
  }
  const qs = q.toString();
  return qs ? path + (path.includes('?') ? '&' : '?') + qs : path;
}

export class ApiError extends Error {
  constructor(status, message, detail) {
    super(message);
    this.status = status;
    this.detail = detail || null;
  }
}

export function errorMessageFrom(status, text) {
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (_) {
    /* not JSON */
  }
  if (data && data.error) {
    if (typeof data.error === 'string') return { message: data.error, detail: null };
    if (data.error.message) return { message: String(data.error.message), detail: data.error };
  }
  if (data && typeof data.message === 'string') return { message: data.message, detail: null };
  return { message: t('err.http', { status }), detail: null };
}

export const api = {
  csrf: null,
  /** Called on a 401 (the session ended); main.js sends the person back to the sign-in page. */
  onUnauthorized: () => {},

  async request(method, path, opts) {
    const o = opts || {};
    const headers = { Accept: 'application/json' };
    if (method !== 'GET') {
      headers['Content-Type'] = 'application/json';
      if (this.csrf) headers['X-CSRF-Token'] = this.csrf;
    }
    let res;
    try {
      res = await fetch(withQuery(path, o.query), {
        method,
        headers,
        credentials: 'same-origin',
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
      });
    } catch (_) {
      throw new ApiError(0, t('err.network'));
    }
    if (res.status === 204) return null;
    const text = await res.text();
    if (!res.ok) {
      const { message, detail } = errorMessageFrom(res.status, text);
      if (res.status === 401 && !o.noAuthRedirect) this.onUnauthorized();
      throw new ApiError(res.status, message, detail);
    }
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch (_) {
      return text;
    }
  },
  get(path, query, opts) {
    return this.request('GET', path, Object.assign({ query }, opts));
  },
  post(path, body, opts) {
    return this.request('POST', path, Object.assign({ body: body === undefined ? {} : body }, opts));
  },
  put(path, body) {
    return this.request('PUT', path, { body });
  },
  patch(path, body) {
    return this.request('PATCH', path, { body });
  },
  del(path) {
    return this.request('DELETE', path, {});
  },

  /** A streamed POST (the playground): the raw Response once it is OK, else an ApiError. */
  async stream(path, body, signal) {
    const res = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream', 'X-CSRF-Token': this.csrf || '' },
      body: JSON.stringify(body),
      signal,
    });
    if (!res.ok) {
      const { message, detail } = errorMessageFrom(res.status, await res.text());
      if (res.status === 401) this.onUnauthorized();
      throw new ApiError(res.status, message, detail);
    }
    return res;
  },
};
