/* The channel create / edit form (pages/channels.js), with the model list fetched from the upstream. */

import { h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { api, paths } from '../lib/api.js';
import { parseIntField, parseList, parseLines } from '../lib/format.js';
import { busy, button, checkField, checkGroup, checkbox, field, input, select, showFormError, textarea, toast, toastError } from '../lib/ui.js';

const CHANNEL_KINDS = ['openai', 'azure', 'anthropic', 'gemini', 'vertex', 'bedrock', 'midjourney'];
const BASE_URL_HINTS = {
  openai: 'https://api.openai.com',
  azure: 'https://YOUR-RESOURCE.openai.azure.com',
  anthropic: 'https://api.anthropic.com',
  gemini: 'https://generativelanguage.googleapis.com',
  midjourney: 'http://midjourney-proxy:8080',
  vertex: '',
  // Empty: the endpoint of the key's region, bedrock-runtime.REGION.amazonaws.com.
  bedrock: '',
};

/** Kinds whose base URL may stay empty (the cloud's endpoint follows from the region). */
const CLOUD_KINDS = ['vertex', 'bedrock'];

/** The keys typed in: one a line, except a service-account JSON, which is one key whatever its lines. */
function parseKeys(text) {
  const s = String(text || '').trim();
  return s.startsWith('{') ? [s] : parseLines(s);
}

export function parseMapping(text) {
  const s = String(text || '').trim();
  if (!s) return {};
  if (s.startsWith('{')) {
    let obj;
    try {
      obj = JSON.parse(s);
    } catch (_) {
      throw new Error(t('channels.mappingInvalid'));
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new Error(t('channels.mappingInvalid'));
    return obj;
  }
  const out = {};
  for (const line of s.split('\n')) {
    const l = line.trim();
    if (!l) continue;
    const m = /^(.+?)\s*(?:=>|->|=|:)\s*(.+)$/.exec(l);
    if (!m) throw new Error(t('channels.mappingLine', { line: l }));
    out[m[1].trim()] = m[2].trim();
  }
  return out;
}

export function parseHeaders(text) {
  const out = {};
  for (const line of String(text || '').split('\n')) {
    const l = line.trim();
    if (!l) continue;
    const i = l.indexOf(':');
    if (i <= 0) throw new Error(t('channels.headerLine', { line: l }));
    out[l.slice(0, i).trim()] = l.slice(i + 1).trim();
  }
  return out;
}

/** The form's fields for `existing` (null: a new channel) and read(), the request body they make. */
export function channelForm(existing, { err }) {
  const editing = !!existing;
  const c = existing || {};
  const kind = select(
    'channel-kind',
    CHANNEL_KINDS.map((k) => [k, t('kind.' + k)]),
    c.kind || 'openai',
  );
  const name = input('channel-name', { value: c.name || '', placeholder: t('channels.namePlaceholder') });
  const baseUrl = input('channel-base-url', {
    value: c.base_url || '',
    type: 'url',
    placeholder: BASE_URL_HINTS[c.kind || 'openai'],
  });
  const apiVersion = input('channel-api-version', { value: c.api_version || '', placeholder: '2024-10-21' });
  const region = input('channel-region', { value: c.region || '', placeholder: 'us-central1' });
  const keys = textarea('channel-keys', { rows: 3, placeholder: editing ? t('channels.keysKeepPlaceholder') : 'sk-...' });
  const models = textarea('channel-models', {
    rows: 3,
    value: (c.models || []).join('\n'),
    placeholder: 'gpt-4o\ngpt-4o-mini',
  });
  const fetchBtn = button(t('channels.fetchModels'), 'channel-fetch-models', () => fetchModels(), 'secondary small');
  const mapping = textarea('channel-mapping', {
    rows: 2,
    value: Object.entries(c.model_mapping || {})
      .map(([a, b]) => `${a}=${b}`)
      .join('\n'),
    placeholder: 'gpt-4o=gpt-4o-2024-08-06',
  });
  const groups = input('channel-groups', { value: (c.groups || ['default']).join(', '), placeholder: 'default, vip' });
  const priority = input('channel-priority', {
    type: 'number',
    value: String(c.priority === undefined ? 0 : c.priority),
    step: '1',
  });
  const weight = input('channel-weight', {
    type: 'number',
    value: String(c.weight === undefined ? 1 : c.weight),
    min: '0',
    step: '1',
  });
  const enabled = checkbox('channel-enabled', editing ? c.enabled : true);
  const modeBoxes = ['fast', 'relax', 'turbo'].map((m) => [
    m,
    checkbox('channel-mode-' + m, !c.modes || c.modes.includes(m)),
  ]);
  const headers = textarea('channel-headers', {
    rows: 2,
    value: Object.entries(c.headers || {})
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n'),
    placeholder: 'X-Org: example',
  });
  const forwardImages = checkbox('channel-forward-images', !!c.forward_image_urls);

  const azureBox = h('div', null, field(t('channels.apiVersion'), apiVersion, t('channels.apiVersionHelp')));
  const vertexBox = h('div', null, field(t('channels.region'), region, t('channels.regionHelp')));
  const mjBox = checkGroup(t('channels.modes'), modeBoxes, t('channels.modesHelp'));
  const anthropicBox = h(
    'div',
    null,
    checkField(t('channels.forwardImages'), forwardImages, t('channels.forwardImagesHelp')),
  );
  const syncKind = () => {
    const k = kind.value;
    azureBox.hidden = k !== 'azure';
    vertexBox.hidden = k !== 'vertex';
    mjBox.hidden = k !== 'midjourney';
    anthropicBox.hidden = k !== 'anthropic';
    baseUrl.placeholder = k === 'bedrock' ? t('channels.bedrockBaseUrlHint') : BASE_URL_HINTS[k] || '';
    if (!editing) keys.placeholder = k === 'bedrock' ? 'ACCESS_KEY_ID|SECRET_ACCESS_KEY|us-east-1' : 'sk-...';
  };
  kind.addEventListener('change', syncKind);
  syncKind();

  async function fetchModels() {
    err.hidden = true;
    const key = parseKeys(keys.value)[0];
    let body;
    if (!key && editing) {
      // The stored keys are write-only: the server fetches with the channel's own first key.
      body = { channel_id: c.id };
    } else {
      if (!baseUrl.value.trim()) return showFormError(err, new Error(t('channels.needBaseUrl')));
      if (!key) return showFormError(err, new Error(t('channels.needKeyForFetch')));
      body = { kind: kind.value, base_url: baseUrl.value.trim(), key };
      if (kind.value === 'azure' && apiVersion.value.trim()) body.api_version = apiVersion.value.trim();
    }
    await busy(fetchBtn, async () => {
      try {
        const res = await api.post(paths.fetchModels, body);
        const list = (res.data || []).map((m) => (typeof m === 'string' ? m : m && m.id)).filter(Boolean);
        models.value = list.join('\n');
        toast(t('channels.fetched', { n: list.length }));
      } catch (e) {
        showFormError(err, e);
        toastError(e);
      }
    });
  }

  const nodes = [
    h('div', { class: 'grid-2 tight' }, field(t('channels.name'), name), field(t('channels.kind'), kind)),
    field(t('channels.baseUrl'), baseUrl, t('channels.baseUrlHelp')),
    azureBox,
    vertexBox,
    field(
      t('channels.keys'),
      keys,
      editing ? t('channels.keysEditHelp', { keys: (c.keys || []).join(', ') || '—' }) : t('channels.keysHelp'),
    ),
    h('div', { class: 'field-with-action' }, field(t('channels.models'), models, t('channels.modelsHelp')), fetchBtn),
    field(t('channels.mapping'), mapping, t('channels.mappingHelp')),
    h(
      'div',
      { class: 'grid-3 tight' },
      field(t('channels.groups'), groups, t('channels.groupsHelp')),
      field(t('channels.priority'), priority, t('channels.priorityHelp')),
      field(t('channels.weight'), weight, t('channels.weightHelp')),
    ),
    mjBox,
    anthropicBox,
    h('details', { class: 'more' }, h('summary', null, t('channels.advanced')), field(t('channels.headers'), headers, t('channels.headersHelp'))),
    checkField(t('channels.enabledLabel'), enabled),
  ];

  function read() {
    const k = kind.value;
    const nm = name.value.trim();
    if (!nm) throw new Error(t('channels.needName'));
    if (!baseUrl.value.trim() && !CLOUD_KINDS.includes(k)) throw new Error(t('channels.needBaseUrl'));
    const keyList = parseKeys(keys.value);
    if (!editing && !keyList.length) throw new Error(t('channels.needKeys'));
    const groupList = parseList(groups.value);
    const body = {
      name: nm,
      kind: k,
      base_url: baseUrl.value.trim(),
      models: parseList(models.value),
      model_mapping: parseMapping(mapping.value),
      groups: groupList.length ? groupList : ['default'],
      priority: parseIntField(priority.value) || 0,
      weight: parseIntField(weight.value, { min: 0 }),
      enabled: enabled.checked,
      headers: parseHeaders(headers.value),
    };
    if (body.weight === null) body.weight = 1;
    if (keyList.length) body.keys = keyList;
    if (k === 'azure') body.api_version = apiVersion.value.trim() || null;
    else if (editing && c.api_version) body.api_version = null;
    if (k === 'vertex') body.region = region.value.trim() || null;
    else if (editing && c.region) body.region = null;
    if (k === 'midjourney') {
      const ms = modeBoxes.filter(([, b]) => b.checked).map(([m]) => m);
      body.modes = ms.length ? ms : null;
    } else if (editing && c.modes) body.modes = null;
    if (k === 'anthropic') body.forward_image_urls = forwardImages.checked;
    return body;
  }

  return { nodes, read };
}
