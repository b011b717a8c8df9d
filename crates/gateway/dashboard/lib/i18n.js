/* Strings: t(key, params) in the chosen language, English as the fallback. English is loaded with the page; other
 * languages are imported the first time they are chosen. The choice is kept in localStorage, else it follows the
 * browser's language. */

import en from '../i18n/en.js';

const LANG_KEY = 'tollgate.lang';
const LOADERS = {
  en: async () => en,
  zh: async () => (await import('../i18n/zh.js')).default,
};
const dicts = { en };
const listeners = [];
let lang = pickLanguage();

function pickLanguage() {
  let stored = null;
  try {
    stored = localStorage.getItem(LANG_KEY);
  } catch (_) {
    /* storage may be unavailable */
  }
  if (stored && LOADERS[stored]) return stored;
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || 'en';
  return /^zh/i.test(nav) ? 'zh' : 'en';
}

export function currentLanguage() {
  return lang;
}

/** The string for `key` in the current language, `{name}` placeholders filled from `params`. */
export function t(key, params) {
  let s = (dicts[lang] || {})[key];
  if (s === undefined) s = en[key];
  if (s === undefined) s = key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, p) => (params[p] !== undefined ? String(params[p]) : m));
  return s;
}

/** Loads the strings of the current language (before the first render). */
export async function loadLanguage() {
  await ensure(lang);
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
}

async function ensure(code) {
  if (dicts[code]) return;
  try {
    dicts[code] = await LOADERS[code]();
  } catch (_) {
    dicts[code] = {}; // English fills in
  }
}

/** Switches the language, remembers it and tells the listeners (the router redraws the page). */
export async function setLanguage(next) {
  if (!LOADERS[next]) return;
  await ensure(next);
  lang = next;
  try {
    localStorage.setItem(LANG_KEY, next);
  } catch (_) {
    /* ignore */
  }
  document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
  for (const fn of listeners) fn();
}

export function toggleLanguage() {
  return setLanguage(lang === 'zh' ? 'en' : 'zh');
}

export function onLanguageChange(fn) {
  listeners.push(fn);
}
