// The official OpenAI Node SDK and the Vercel AI SDK (OpenAI-compatible provider) against Tollgate, changing only
// the base URL and the key. Run by tests/python/test_node_clients.py with TOLLGATE_URL and TOLLGATE_KEY set; every
// check is an assertion, and the script prints one JSON line of what it saw for the Python side to compare.
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { streamText, generateText } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';

const baseURL = `${process.env.TOLLGATE_URL}/v1`;
const apiKey = process.env.TOLLGATE_KEY;
const chatModel = process.env.CHAT_MODEL ?? 'gpt-4o';
const embeddingModel = process.env.EMBEDDING_MODEL ?? 'text-embedding-3-small';
const seen = {};

// --- openai (official Node SDK) ---------------------------------------------------------------------------------
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 20_000 });

const plain = await client.chat.completions
  .create({ model: chatModel, messages: [{ role: 'user', content: '你好' }] })
  .withResponse();
assert.ok(plain.response.headers.get('x-request-id')?.startsWith('req_'));
seen.openai_plain = plain.data.choices[0].message.content;
assert.ok(plain.data.usage.prompt_tokens > 0);

const stream = await client.chat.completions.create({
  model: chatModel,
  messages: [{ role: 'user', content: 'hi' }],
  stream: true,
  stream_options: { include_usage: true },
});
let streamed = '';
let streamUsage = null;
for await (const chunk of stream) {
  streamed += chunk.choices[0]?.delta?.content ?? '';
  if (chunk.usage) streamUsage = chunk.usage;
}
seen.openai_stream = streamed;
assert.ok(streamUsage && streamUsage.completion_tokens > 0, 'usage chunk when asked');

const embedding = await client.embeddings.create({ model: embeddingModel, input: ['one two three'] });
assert.equal(embedding.data.length, 1);
assert.ok(embedding.data[0].embedding.length > 0);
seen.openai_embedding_tokens = embedding.usage.prompt_tokens;

const models = await client.models.list();
seen.openai_models = models.data.map((m) => m.id).sort();

await assert.rejects(
  client.chat.completions.create({ model: 'gpt-5-nope', messages: [{ role: 'user', content: 'x' }] }),
  (err) => err instanceof OpenAI.NotFoundError && err.code === 'model_not_found',
);
await assert.rejects(
  new OpenAI({ baseURL, apiKey: 'sk-wrong', maxRetries: 0 }).models.list(),
  (err) => err instanceof OpenAI.AuthenticationError,
);

// --- Vercel AI SDK, OpenAI-compatible provider ------------------------------------------------------------------
const tollgate = createOpenAICompatible({ name: 'tollgate', baseURL, apiKey, includeUsage: true });

const result = streamText({ model: tollgate(chatModel), prompt: 'Say hello' });
let aiText = '';
for await (const part of result.textStream) aiText += part;
seen.ai_stream = aiText;
const aiUsage = await result.usage;
assert.ok(aiUsage.outputTokens > 0, `usage reaches streamText: ${JSON.stringify(aiUsage)}`);
assert.equal(await result.finishReason, 'stop');

const generated = await generateText({ model: tollgate(chatModel), prompt: 'Say hello' });
seen.ai_generate = generated.text;

console.log(JSON.stringify(seen));
