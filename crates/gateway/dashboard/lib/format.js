/* Formatting and parsing: money in integer micro-units (six decimals, exact string arithmetic through BigInt),
 * local times, whole numbers and lists typed by people. Parse errors are Errors with a translated message. */

import { t } from './i18n.js';

export const MONEY_DECIMALS = 6;

/** Integer `value` scaled by 10^decimals as a decimal string: at least `minDec` decimals, trailing zeros trimmed. */
export function formatFixed(value, decimals, minDec) {
  let n;
  try {
    n = BigInt(value);
  } catch (_) {
    return String(value);
  }
  const neg = n < 0n;
  if (neg) n = -n;
  const scale = 10n ** BigInt(decimals);
  const whole = (n / scale).toString();
  let frac = (n % scale).toString().padStart(decimals, '0');
  while (frac.length > minDec && frac.endsWith('0')) frac = frac.slice(0, -1);
  return (neg ? '-' : '') + whole + (frac ? '.' + frac : '');
}

/** Money in micro-units as `$1.25`; amounts below one cent keep all six decimals (`$0.000150`). */
export function formatMoney(units) {
  if (units === null || units === undefined || units === '') return '—';
  let n;
  try {
    n = BigInt(units);
  } catch (_) {
    return String(units);
  }
  const abs = n < 0n ? -n : n;
  const minDec = abs !== 0n && abs < 10000n ? 6 : 2;
  const s = formatFixed(abs, MONEY_DECIMALS, minDec);
  return (n < 0n ? '-$' : '$') + s;
}

/** Money units as a plain dollar amount for an input field (`1.5`). */
export function moneyInputValue(units) {
  return units === null || units === undefined ? '' : formatFixed(units, MONEY_DECIMALS, 0);
}

/**
 * Parses a decimal string into an integer scaled by 10^decimals with exact string arithmetic
 * ("1.23" with 6 decimals is 1230000). Empty gives null. Throws an Error with a translated message.
 */
export function parseFixed(input, decimals, opts) {
  const o = opts || {};
  let s = String(input === null || input === undefined ? '' : input)
    .trim()
    .replace(/[\s_]/g, '');
  if (s === '') return null;
  // Thousands separators ("1,000.50") are fine; any other comma is ambiguous ("1,5") and refused below.
  if (/^[-+]?[$＄]?\d{1,3}(,\d{3})+(\.\d*)?$/.test(s)) s = s.replace(/,/g, '');
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (o.money) s = s.replace(/^[$＄]/, '');
  const m = /^(\d*)(?:\.(\d*))?$/.exec(s);
  if (!m || (m[1] === '' && !m[2])) throw new Error(t(o.money ? 'err.money' : 'err.number', { value: input }));
  let frac = m[2] || '';
  if (frac.length > decimals) {
    if (/[^0]/.test(frac.slice(decimals))) throw new Error(t('err.decimals', { value: input, n: decimals }));
    frac = frac.slice(0, decimals);
  }
  let n = BigInt(m[1] || '0') * 10n ** BigInt(decimals) + BigInt((frac + '0'.repeat(decimals)).slice(0, decimals) || '0');
  if (neg) n = -n;
  if (neg && n !== 0n && !o.allowNegative) throw new Error(t('err.negative', { value: input }));
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new Error(t('err.tooLarge', { value: input }));
  }
  return Number(n);
}

/** Dollars ("1.23", "$0.5") to integer micro-units; empty gives null. */
export function parseMoney(input, allowNegative) {
  return parseFixed(input, MONEY_DECIMALS, { money: true, allowNegative: !!allowNegative });
}

/** A whole number field; empty gives null. */
export function parseIntField(input, opts) {
  const o = opts || {};
  const s = String(input === null || input === undefined ? '' : input).trim();
  if (s === '') return null;
  if (!/^[-+]?\d+$/.test(s)) throw new Error(t('err.integer', { value: s }));
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new Error(t('err.tooLarge', { value: s }));
  if (o.min !== undefined && n < o.min) throw new Error(t('err.min', { value: s, min: o.min }));
  return n;
}

export function fmtInt(n) {
  if (n === null || n === undefined || n === '') return '—';
  const v = Number(n);
  return Number.isFinite(v) ? v.toLocaleString('en-US') : String(n);
}

const pad = (n) => String(n).padStart(2, '0');

export function toDate(v) {
  if (v === null || v === undefined || v === '') return null;
  const d = typeof v === 'number' ? new Date(v) : new Date(String(v));
  return isNaN(d.getTime()) ? null : d;
}

/** Local `YYYY-MM-DD HH:MM:SS` from an RFC 3339 string or epoch milliseconds. */
export function fmtTime(v) {
  if (v === null || v === undefined || v === '') return '—';
  const d = toDate(v);
  if (!d) return String(v);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtDate(v) {
  const d = toDate(v);
  return d ? `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` : '—';
}

export function isoString(d) {
  return d.toISOString().replace('.000Z', 'Z');
}

/**
 * A time typed by the user: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]` (local time) or a full RFC 3339 time.
 * With `endOfDay`, a bare date means the end of that day (the start of the next one). Empty gives null.
 */
export function parseTimeInput(input, endOfDay) {
  const s = String(input || '').trim();
  if (!s) return null;
  let m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(s);
  if (m) {
    const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + (endOfDay ? 1 : 0));
    if (!isNaN(d.getTime())) return isoString(d);
  }
  m = /^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(s);
  if (m) {
    const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] || 0));
    if (!isNaN(d.getTime())) return isoString(d);
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(s)) {
    const d = new Date(s);
    if (!isNaN(d.getTime())) return isoString(d);
  }
  throw new Error(t('err.time', { value: s }));
}

/** An RFC 3339 time as the text a user would type back (`YYYY-MM-DD` or `YYYY-MM-DD HH:MM`, local). */
export function timeInputValue(v) {
  const d = toDate(v);
  if (!d) return '';
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  if (d.getHours() === 0 && d.getMinutes() === 0 && d.getSeconds() === 0) return day;
  return `${day} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function localDay(offsetDays) {
  const d = new Date();
  d.setDate(d.getDate() + (offsetDays || 0));
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Items separated by commas or new lines, trimmed, empty ones and repeats dropped. */
export function parseList(text) {
  const out = [];
  for (const part of String(text || '').split(/[,\n，]/)) {
    const v = part.trim();
    if (v && !out.includes(v)) out.push(v);
  }
  return out;
}

export function parseLines(text) {
  const out = [];
  for (const part of String(text || '').split('\n')) {
    const v = part.trim();
    if (v && !out.includes(v)) out.push(v);
  }
  return out;
}

/** Only http(s) and same-origin paths may become links or image sources. */
export function safeUrl(u) {
  if (typeof u !== 'string' || !u) return null;
  if (/^https?:\/\//i.test(u)) return u;
  if (u.startsWith('/') && !u.startsWith('//')) return u;
  return null;
}

export function shorten(s, n) {
  const v = String(s === null || s === undefined ? '' : s);
  return v.length > n ? v.slice(0, n - 1) + '…' : v;
}

/** A multiplier kept in thousandths (1500 is ×1.5). */
export function formatMultiplier(perMille) {
  return '×' + formatFixed(perMille, 3, 0);
}
