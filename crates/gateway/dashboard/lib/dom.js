/* Small element builders. Text always goes through textContent (never innerHTML), so data cannot become markup. */

const SVG_NS = 'http://www.w3.org/2000/svg';
const PROPS = new Set(['checked', 'disabled', 'selected', 'readOnly', 'hidden', 'multiple', 'required']);

/** Appends children: nodes as they are, strings and numbers as text, arrays flattened, null/false skipped. */
export function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'testid') el.setAttribute('data-testid', v);
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (PROPS.has(k)) el[k] = !!v;
    else if (v === false) continue;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

/** h('button', {class, testid, onclick, ...}, ...children). Attributes are set after the children (select values). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  append(el, children);
  if (attrs) setAttrs(el, attrs);
  return el;
}

/** Same as h() for SVG elements. */
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  append(el, children);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    el.setAttribute(k === 'testid' ? 'data-testid' : k, String(v));
  }
  return el;
}

export const $ = (sel, root) => (root || document).querySelector(sel);
export const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
