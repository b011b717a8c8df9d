/* Playground: a streamed chat with the person's models, through their session (no key needed). The conversation
 * survives page changes. */

import { $, $$, h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { api, paths } from '../lib/api.js';
import { button, field, form, formError, pageHead, select, submitButton, textarea } from '../lib/ui.js';


// Kept across page changes: the conversation survives navigation. `redraw` belongs to the newest playground view.
const pg = { messages: [], model: '', system: '', streaming: false, controller: null, redraw: null };

export function resetPlayground() {
  if (pg.controller) pg.controller.abort();
  pg.messages = [];
  pg.model = '';
  pg.system = '';
}

/** Reads an SSE body, calling onData(json) for every `data:` event until `[DONE]` or the end. */
async function readSse(body, onData) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let data = [];
  const dispatch = () => {
    if (!data.length) return false;
    const payload = data.join('\n');
    data = [];
    if (payload.trim() === '[DONE]') return true;
    let obj;
    try {
      obj = JSON.parse(payload);
    } catch (_) {
      return false;
    }
    onData(obj);
    return false;
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      let line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (dispatch()) {
          reader.cancel().catch(() => {});
          return;
        }
      } else if (line.startsWith('data:')) {
        data.push(line.slice(5).replace(/^ /, ''));
      }
    }
  }
  buf += decoder.decode();
  if (buf.startsWith('data:'))
    data.push(
      buf
        .slice(5)
        .replace(/^ /, '')
        .replace(/\r?\n?$/, ''),
    );
  dispatch();
}

export async function pagePlayground(ctx) {
  const modelSel = select('pg-model', [], '', {
    onchange: () => {
      pg.model = modelSel.value;
    },
  });
  const system = textarea('pg-system', {
    value: pg.system,
    rows: 2,
    placeholder: t('pg.systemPlaceholder'),
    oninput: () => (pg.system = system.value),
  });
  const messagesEl = h('div', { class: 'chat', testid: 'pg-messages', 'aria-live': 'polite' });
  const promptEl = textarea('pg-input', { rows: 3, placeholder: t('pg.inputPlaceholder') });
  const errEl = formError('pg-error');
  const sendBtn = submitButton(t('pg.send'), 'pg-send');
  const stopBtn = button(t('pg.stop'), 'pg-stop', () => pg.controller && pg.controller.abort(), 'secondary', { hidden: true });
  const clearBtn = button(
    t('pg.clear'),
    'pg-clear',
    () => {
      if (pg.streaming) return;
      pg.messages = [];
      errEl.hidden = true;
      drawMessages();
    },
    'ghost',
  );

  promptEl.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  });

  const chatForm = form(
    'chat-form',
    () => send(),
    promptEl,
    h('div', { class: 'form-actions' }, h('small', { class: 'help grow' }, t('pg.enterHelp')), clearBtn, stopBtn, sendBtn),
  );
  ctx.el.append(
    pageHead(t('pg.title'), t('pg.subtitle')),
    h(
      'div',
      { class: 'card playground' },
      h('div', { class: 'grid-2 tight' }, field(t('pg.model'), modelSel), field(t('pg.system'), system, t('pg.systemHelp'))),
      messagesEl,
      errEl,
      chatForm,
    ),
  );

  function bubble(role, text) {
    return h(
      'div',
      { class: 'msg ' + role, 'data-role': role },
      h('div', { class: 'msg-role' }, role === 'user' ? t('pg.you') : t('pg.assistant')),
      h('div', { class: 'msg-text' }, text),
    );
  }

  /** Only the newest assistant message carries data-testid="pg-output". */
  function markOutput() {
    const all = $$('.msg.assistant .msg-text', messagesEl);
    for (const el of all) el.removeAttribute('data-testid');
    if (all.length) all[all.length - 1].setAttribute('data-testid', 'pg-output');
  }

  function drawMessages() {
    messagesEl.replaceChildren();
    if (!pg.messages.length) messagesEl.appendChild(h('div', { class: 'chat-empty muted' }, t('pg.empty')));
    for (const m of pg.messages) messagesEl.appendChild(bubble(m.role, m.content));
    markOutput();
    messagesEl.scrollTop = messagesEl.scrollHeight;
  }

  function setStreaming(on) {
    pg.streaming = on;
    sendBtn.disabled = on;
    stopBtn.hidden = !on;
    clearBtn.disabled = on;
    modelSel.disabled = on;
  }

  function showErr(msg) {
    errEl.textContent = msg;
    errEl.hidden = false;
  }

  async function send() {
    if (pg.streaming) return;
    const text = promptEl.value.trim();
    if (!text) return;
    const model = modelSel.value;
    if (!model) return showErr(t('pg.noModel'));
    errEl.hidden = true;
    pg.model = model;
    pg.messages.push({ role: 'user', content: text });
    promptEl.value = '';
    drawMessages();
    const reply = bubble('assistant', '');
    reply.classList.add('streaming');
    const replyText = $('.msg-text', reply);
    messagesEl.appendChild(reply);
    markOutput();

    const messages = (pg.system.trim() ? [{ role: 'system', content: pg.system.trim() }] : []).concat(pg.messages);
    const controller = new AbortController();
    pg.controller = controller;
    setStreaming(true);
    let acc = '';
    let failed = null;
    try {
      const res = await api.stream(paths.playgroundChat, { model, messages, stream: true }, controller.signal);
      const type = res.headers.get('content-type') || '';
      const onText = (d) => {
        acc += d;
        replyText.textContent = acc;
        messagesEl.scrollTop = messagesEl.scrollHeight;
      };
      if (type.includes('application/json')) {
        const data = await res.json();
        const c = data && data.choices && data.choices[0];
        onText((c && c.message && c.message.content) || '');
      } else {
        await readSse(res.body, (chunk) => {
          if (chunk.error) throw new Error(chunk.error.message || t('pg.streamError'));
          const c = chunk.choices && chunk.choices[0];
          const d = c && c.delta && c.delta.content;
          if (typeof d === 'string' && d) onText(d);
        });
      }
    } catch (e) {
      failed = e;
    } finally {
      pg.controller = null;
      setStreaming(false);
      reply.classList.remove('streaming');
    }
    const aborted = failed && failed.name === 'AbortError';
    if (failed && !aborted) showErr(failed.message || String(failed));
    if (acc) {
      pg.messages.push({ role: 'assistant', content: acc });
    } else if (failed) {
      // Nothing came back: take the question out of the history and give it back to the user to retry.
      pg.messages.pop();
      if (!promptEl.value) promptEl.value = text;
      drawMessages();
    }
    // The user may have left and come back while this answer streamed: refresh the view now showing.
    if (!document.contains(messagesEl) && pg.redraw) pg.redraw();
  }

  pg.redraw = () => {
    if (!document.contains(messagesEl)) return;
    drawMessages();
    setStreaming(pg.streaming);
  };

  drawMessages();
  setStreaming(pg.streaming);
  try {
    const res = await api.get(paths.playgroundModels);
    if (!ctx.alive()) return;
    const ids = (res.data || [])
      .map((m) => m.id)
      .filter(Boolean)
      .sort();
    modelSel.replaceChildren(...ids.map((id) => h('option', { value: id }, id)));
    if (!ids.length) {
      modelSel.appendChild(h('option', { value: '' }, t('pg.noModels')));
      showErr(t('pg.noModelsHelp'));
    }
    if (pg.model && ids.includes(pg.model)) modelSel.value = pg.model;
    pg.model = modelSel.value;
  } catch (e) {
    if (!ctx.alive()) return;
    showErr(e.message);
  }
}
