"""The second `mock-upstream` process, the one the tests script, driven through its control endpoints.

The session's `rust-mock` channel always gets the binary's default answer. The channels `scripted-openai` (OpenAI
format), `scripted-claude` (Anthropic Messages, `x-api-key` checked) and `scripted-gemini` (Gemini
`generateContent`, `x-goog-api-key` checked) point at a second `mock-upstream` process started with `--accept-key`
for their three upstream keys; a test queues the answer of each request it is about to make with
`ScriptedUpstream.reply` (`POST /__mock/script`) and the mock plays it in the wire format of the route the gateway
called: an OpenAI `chat.completion` or SSE chunks (with a usage-only chunk when `stream_options.include_usage`
asks), a Gemini `GenerateContentResponse` or its `alt=sse` events (`usage` as `promptTokenCount` /
`candidatesTokenCount`, the full usage on the last event only), or an Anthropic `message` or its named event
sequence (`message_start`, `ping`, per block `content_block_start` / `content_block_delta` (`text_delta`;
`input_json_delta` starting with an empty fragment) / `content_block_stop`, `message_delta`, `message_stop`). The
mock checks every Anthropic request the way Anthropic does (headers, required fields, role alternation, content
blocks, images, tool use/result pairing) and refuses a broken one with Anthropic's own error, without consuming the
script; Gemini requests are checked against Gemini's rules the same way and refused in Google's error shape.

`ScriptedUpstream.requests` (`GET /__mock/requests`) is what the mock received: method, path, headers and JSON body,
so a test can check what the gateway forwarded.

The answers below are the ones the tests script, shared between test files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

# OpenAI side: (prompt_tokens, completion_tokens).
VISION_TEXT = "这张图片展示了一个宁静而神秘的水上场景。"
TEXT_USAGE = (25, 18)
TOOL_USAGE = (77, 21)

# Anthropic side: (input_tokens, output_tokens); cache reads come on top of input_tokens.
CLAUDE_TEXT = "你好！我是 Claude，很高兴为你效劳。"
CLAUDE_TEXT_USAGE = (23, 19)
CLAUDE_TOOL_USAGE = (412, 57)
CLAUDE_RESULT_USAGE = (468, 26)
CLAUDE_CACHE_READ = 1201
TOOL_PREAMBLE = "我来查一下天气。"
TOOL_RESULT_PREFIX = "根据工具结果："

WEATHER_TOOL = "get_current_weather"
BEIJING = {"location": "Beijing", "unit": "celsius"}
SHANGHAI = {"location": "Shanghai", "unit": "celsius"}


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any


class ScriptedUpstream:
    """The control client of a running `mock-upstream` at `base_url` (no `/v1`)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def _control(self, method: str, what: str, body: Any = None) -> httpx.Response:
        resp = httpx.request(method, f"{self.base_url}/__mock/{what}", json=body, timeout=10.0)
        assert resp.status_code in (200, 204), f"{method} /__mock/{what}: {resp.status_code} {resp.text[:300]}"
        return resp

    def reply(
        self,
        text: str | None = None,
        *,
        tool_calls: Sequence[tuple[str, dict]] = (),
        usage: tuple[int, int],
        cached: int = 0,
        reasoning: str | None = None,
    ) -> None:
        """Queues the answer to the next chat request: `text` (a text block before the `tool_use` blocks on the
        Anthropic side; OpenAI content is null when there are calls), one tool call per (name, arguments), `usage`
        as (input tokens without cache reads, output tokens) plus `cached` cache-read tokens. Streamed, the text
        comes in three deltas, and OpenAI tool-call argument fragments are interleaved across calls (legal, and a
        client must assemble them by `index`). `reasoning` comes first as a thinking block (Anthropic) or
        `reasoning_content` (OpenAI)."""
        args = [[name, json.dumps(a, separators=(",", ":"))] for name, a in tool_calls]
        self._control("POST", "script", {
            "kind": "reply",
            "text": text,
            "tool_calls": args,
            "usage": [usage[0] + cached, usage[1], cached],
            "interleave_tool_args": True,
            "reasoning": reasoning,
        })

    def clear_script(self) -> None:
        self._control("DELETE", "script")

    def requests(self) -> list[Recorded]:
        return [
            Recorded(
                method=r["method"],
                path=r["path"],
                query=r["query"],
                headers={name: value for name, value in r["headers"]},
                body=r["body"],
            )
            for r in self._control("GET", "requests").json()
        ]

    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests() if r.method == "POST" and r.path.rstrip("/").endswith("/chat/completions")]

    def last_chat(self) -> Recorded:
        chats = self.chat_requests()
        assert chats, "the scripted upstream received no chat request"
        return chats[-1]

    def anthropic_requests(self) -> list[Recorded]:
        return [r for r in self.requests() if r.method == "POST" and r.path.rstrip("/") == "/v1/messages"]

    def last_anthropic(self) -> Recorded:
        got = self.anthropic_requests()
        assert got, "the scripted upstream received no /v1/messages request"
        return got[-1]
