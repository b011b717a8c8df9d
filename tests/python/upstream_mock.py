"""A small OpenAI-compatible upstream written with the standard library.

The Rust `mock-upstream` binary only ever answers plain text, so tool calls and
vision go through this one instead. It records every request (path, headers and
JSON body) so a test can check what the gateway forwarded, and answers like
OpenAI does:

* a request with `tools` gets one tool call per city named in the last user
  message (Beijing/北京, Shanghai/上海), `finish_reason: "tool_calls"`; when
  streamed, the calls arrive as deltas keyed by `index` and their argument
  fragments are interleaved across calls, which is legal and makes a client
  assemble them by index;
* any other request gets the text `VISION_TEXT`;
* `stream: true` gives SSE, with a final usage chunk (empty `choices`) only if
  `stream_options.include_usage` is true, then `data: [DONE]`.

It also serves the Anthropic Messages API, `POST /v1/messages`, and checks a
request the way Anthropic does (see `anthropic_problem`): `x-api-key` (401) and
`anthropic-version` (400) headers, `model` and a positive `max_tokens`, roles
strictly alternating from `user`, no blank text, images whose bytes match their
`media_type`, every `tool_use` answered by `tool_result` blocks (first) in the
very next user turn. Errors have Anthropic's shape
`{"type":"error","error":{"type","message"}}`. The answer follows the same
rule as the OpenAI side:

* a request with `tools` (and `tool_choice` not `none`) whose last user turn
  carries no `tool_result` gets `TOOL_PREAMBLE` as a text block, then one
  `tool_use` per city as above, `stop_reason: "tool_use"`;
* a last user turn of `tool_result`s gets `TOOL_RESULT_PREFIX` + the results;
* anything else gets `CLAUDE_TEXT`;
* usage has `input_tokens`, `output_tokens`, and `cache_read_input_tokens`
  of `CLAUDE_CACHE_READ` when the request marks anything with
  `cache_control` (0 otherwise);
* `stream: true` gives the real event sequence: `message_start`, `ping`,
  per block `content_block_start` / `content_block_delta` (`text_delta`, or
  `input_json_delta` starting with an empty fragment) / `content_block_stop`,
  then `message_delta` (stop reason, cumulative `output_tokens`) and
  `message_stop`.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import string
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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
ANTHROPIC_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")

CITIES = (
    (("Beijing", "北京"), {"location": "Beijing", "unit": "celsius"}),
    (("Shanghai", "上海"), {"location": "Shanghai", "unit": "celsius"}),
)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


def _last_user_text(body: dict) -> str:
    for msg in reversed(body.get("messages") or []):
        if msg.get("role") != "user":
            continue
        content = msg.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def planned_tool_inputs(body: dict) -> list[dict]:
    """The arguments of the weather calls the mock answers for a request with tools: one per city named in the
    last user message, Beijing when none is."""
    text = _last_user_text(body)
    calls = [args for names, args in CITIES if any(n in text for n in names)]
    return calls or [CITIES[0][1]]


def planned_tool_calls(body: dict) -> list[dict]:
    """The OpenAI tool calls the mock answers for a request with tools."""
    calls = planned_tool_inputs(body)
    return [
        {
            "id": "call_" + secrets.token_hex(12),
            "type": "function",
            "function": {
                "name": "get_current_weather",
                "arguments": json.dumps(args, separators=(",", ":")),
            },
        }
        for args in calls
    ]


def _usage(prompt: int, completion: int) -> dict:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _thirds(s: str) -> list[str]:
    step = max(1, -(-len(s) // 3))
    return [s[i : i + step] for i in range(0, len(s), step)]


# --------------------------------------------------------------------------------------------- Anthropic Messages

_TOOLU_ALPHABET = string.ascii_letters + string.digits


def _toolu_id() -> str:
    return "toolu_01" + "".join(secrets.choice(_TOOLU_ALPHABET) for _ in range(22))


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _blank(text: Any) -> bool:
    return not isinstance(text, str) or not text.strip()


def _has_cache_control(value: Any) -> bool:
    if isinstance(value, dict):
        return "cache_control" in value or any(_has_cache_control(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_cache_control(v) for v in value)
    return False


def _blocks(content: Any) -> list[dict]:
    """Content as a list of blocks (a string is one text block)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _block_problem(block: Any, role: str, at: str) -> str | None:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return f"{at}: each content block must be an object with a `type`"
    kind = block["type"]
    user_only = ("image", "document", "tool_result")
    assistant_only = ("tool_use", "thinking", "redacted_thinking")
    if kind not in ("text", *user_only, *assistant_only):
        return f"{at}.type: Input tag '{kind}' found using 'type' does not match any of the expected tags"
    if (role == "user" and kind in assistant_only) or (role == "assistant" and kind in user_only):
        return f"{at}: `{kind}` blocks are not allowed in `{role}` messages"
    if kind == "text" and _blank(block.get("text")):
        return f"{at}: text content blocks must contain non-whitespace text"
    if kind == "image":
        source = block.get("source")
        if not isinstance(source, dict):
            return f"{at}.source: Field required"
        if source.get("type") == "url":
            return None if isinstance(source.get("url"), str) else f"{at}.source.url: Field required"
        if source.get("type") != "base64":
            return f"{at}.source.type: must be `base64` or `url`"
        media = source.get("media_type")
        if media not in ANTHROPIC_IMAGE_TYPES:
            return f"{at}.source.media_type: Input should be {', '.join(repr(t) for t in ANTHROPIC_IMAGE_TYPES)}"
        try:
            data = base64.b64decode(source.get("data") or "", validate=True)
        except (binascii.Error, ValueError):
            return f"{at}.source.data: invalid base64 data"
        if _sniff(data) != media:
            return f"{at}.source: Image does not match the provided media type {media}"
    if kind == "tool_use":
        if _blank(block.get("id")) or _blank(block.get("name")) or not isinstance(block.get("input"), dict):
            return f"{at}: a tool_use block needs `id`, `name` and an object `input`"
    if kind == "tool_result":
        if _blank(block.get("tool_use_id")):
            return f"{at}.tool_use_id: Field required"
        content = block.get("content")
        if content is not None and not isinstance(content, (str, list)):
            return f"{at}.content: must be a string or a list of blocks"
    return None


def _messages_problem(messages: Any) -> str | None:
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    for i, msg in enumerate(messages):
        at = f"messages.{i}"
        if not isinstance(msg, dict):
            return f"{at}: must be an object"
        role = msg.get("role")
        if role not in ("user", "assistant"):
            return f"{at}.role: Input should be 'user' or 'assistant'"
        expected = "user" if i % 2 == 0 else "assistant"
        if role != expected:
            if i == 0:
                return "messages: first message must use the \"user\" role"
            return 'messages: roles must alternate between "user" and "assistant", but found multiple ' \
                   f'"{role}" roles in a row'
        content = msg.get("content")
        if isinstance(content, str):
            if role == "user" and not content.strip():
                return f"{at}: user messages must have non-empty content"
        elif isinstance(content, list):
            if not content:
                return f"{at}: all messages must have non-empty content except for the optional final assistant message"
            for j, block in enumerate(content):
                if problem := _block_problem(block, role, f"{at}.content.{j}"):
                    return problem
        else:
            return f"{at}.content: must be a string or a list of content blocks"
        blocks = _blocks(content)
        if role == "user":
            kinds = [b.get("type") for b in blocks]
            n_results = kinds.count("tool_result")
            if n_results and kinds[:n_results] != ["tool_result"] * n_results:
                return f"{at}: `tool_result` blocks must come first in the content of a user message"
            previous = _blocks(messages[i - 1].get("content")) if i else []
            asked = {b.get("id") for b in previous if b.get("type") == "tool_use"}
            answered = {b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"}
            if asked - answered:
                return f"{at}: `tool_use` ids were found without `tool_result` blocks immediately after: " \
                       f"{', '.join(sorted(asked - answered))}. Each `tool_use` block must have a corresponding " \
                       "`tool_result` block in the next message."
            if answered - asked:
                return f"{at}.content: unexpected `tool_use_id` found in `tool_result` blocks: " \
                       f"{', '.join(sorted(answered - asked))}. Each `tool_result` block must have a " \
                       "corresponding `tool_use` block in the previous message."
    last = messages[-1]
    if last.get("role") == "assistant":
        tail = _blocks(last.get("content"))
        if tail and tail[-1].get("type") == "text" and tail[-1]["text"] != tail[-1]["text"].rstrip():
            return "final assistant content cannot end with trailing whitespace"
        if any(b.get("type") == "tool_use" for b in tail):
            return f"messages.{len(messages) - 1}: `tool_use` ids were found without `tool_result` blocks " \
                   "immediately after"
    return None


def _tools_problem(body: dict) -> str | None:
    tools = body.get("tools")
    names = set()
    if tools is not None:
        if not isinstance(tools, list):
            return "tools: Input should be a valid list"
        for i, tool in enumerate(tools):
            if not isinstance(tool, dict) or _blank(tool.get("name")):
                return f"tools.{i}.name: Field required"
            schema = tool.get("input_schema")
            if not isinstance(schema, dict) or schema.get("type") != "object":
                return f"tools.{i}.input_schema.type: Input should be 'object'"
            names.add(tool["name"])
    choice = body.get("tool_choice")
    if choice is not None:
        if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
            return "tool_choice: Input tag found using 'type' does not match any of the expected tags: " \
                   "'auto', 'any', 'tool', 'none'"
        if choice["type"] == "tool" and choice.get("name") not in names:
            return f"tool_choice.name: tool `{choice.get('name')}` is not in `tools`"
    return None


def anthropic_problem(headers: dict[str, str], body: Any, api_key: str | None) -> tuple[int, str, str] | None:
    """What Anthropic would refuse in this request, as (status, error type, message); None when it is fine."""
    got_key = headers.get("x-api-key")
    if not got_key or (api_key is not None and got_key != api_key):
        return 401, "authentication_error", "invalid x-api-key"
    if not headers.get("anthropic-version"):
        return 400, "invalid_request_error", "anthropic-version: header is required"
    if not isinstance(body, dict):
        return 400, "invalid_request_error", "The request body is not valid JSON."
    if _blank(body.get("model")):
        return 400, "invalid_request_error", "model: Field required"
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        return 400, "invalid_request_error", "max_tokens: Field required"
    if max_tokens < 1:
        return 400, "invalid_request_error", "max_tokens: Input should be greater than or equal to 1"
    system = body.get("system")
    if system is not None and not isinstance(system, str):
        if not isinstance(system, list):
            return 400, "invalid_request_error", "system: Input should be a valid string or list"
        for j, block in enumerate(system):
            if not isinstance(block, dict) or block.get("type") != "text" or _blank(block.get("text")):
                return 400, "invalid_request_error", f"system.{j}: text content blocks must contain non-whitespace text"
    temperature = body.get("temperature")
    if temperature is not None and not (isinstance(temperature, (int, float)) and 0 <= temperature <= 1):
        return 400, "invalid_request_error", "temperature: Input should be less than or equal to 1"
    if "stream" in body and not isinstance(body["stream"], bool):
        return 400, "invalid_request_error", "stream: Input should be a valid boolean"
    problem = _messages_problem(body.get("messages")) or _tools_problem(body)
    if problem:
        return 400, "invalid_request_error", problem
    return None


def _tool_result_text(block: dict) -> str:
    content = block.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return ""


def planned_message(body: dict) -> tuple[list[dict], str, tuple[int, int]]:
    """The content blocks, stop reason and (input, output) tokens the mock answers a valid Messages request with."""
    last_user = _blocks(body["messages"][-1 if body["messages"][-1]["role"] == "user" else -2]["content"])
    results = [b for b in last_user if b.get("type") == "tool_result"]
    choice = (body.get("tool_choice") or {}).get("type")
    if results:
        text = TOOL_RESULT_PREFIX + "；".join(_tool_result_text(b) for b in results)
        return [{"type": "text", "text": text}], "end_turn", CLAUDE_RESULT_USAGE
    if body.get("tools") and choice != "none":
        blocks: list[dict] = [{"type": "text", "text": TOOL_PREAMBLE}]
        blocks += [
            {"type": "tool_use", "id": _toolu_id(), "name": "get_current_weather", "input": dict(args)}
            for args in planned_tool_inputs(body)
        ]
        return blocks, "tool_use", CLAUDE_TOOL_USAGE
    return [{"type": "text", "text": CLAUDE_TEXT}], "end_turn", CLAUDE_TEXT_USAGE


def _anthropic_usage(body: dict, tokens: tuple[int, int], output: int | None = None) -> dict:
    return {
        "input_tokens": tokens[0],
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": CLAUDE_CACHE_READ if _has_cache_control(body) else 0,
        "output_tokens": tokens[1] if output is None else output,
        "service_tier": "standard",
    }


def anthropic_events(body: dict) -> list[tuple[str, dict]]:
    """The (event name, data) of a streamed answer."""
    blocks, stop_reason, tokens = planned_message(body)
    msg_id = "msg_pymock_" + secrets.token_hex(10)
    start = {
        "id": msg_id, "type": "message", "role": "assistant", "model": body["model"], "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": _anthropic_usage(body, tokens, output=1),
    }
    events: list[tuple[str, dict]] = [("message_start", {"type": "message_start", "message": start}),
                                      ("ping", {"type": "ping"})]
    for index, block in enumerate(blocks):
        if block["type"] == "text":
            opened = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": piece} for piece in _thirds(block["text"])]
        else:
            opened = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            args = json.dumps(block["input"], ensure_ascii=False, separators=(",", ":"))
            deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in ["", *_thirds(args)]]
        events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                               "content_block": opened}))
        events += [("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
                   for d in deltas]
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(("message_delta", {"type": "message_delta",
                                     "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                                     "usage": {"output_tokens": tokens[1]}}))
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def anthropic_message(body: dict) -> dict:
    blocks, stop_reason, tokens = planned_message(body)
    return {
        "id": "msg_pymock_" + secrets.token_hex(10),
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": blocks,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": _anthropic_usage(body, tokens),
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _read_body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _record(self, body: Any) -> None:
        rec = Recorded(
            method=self.command,
            path=self.path.split("?", 1)[0],
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        with self.server.lock:
            self.server.requests.append(rec)

    def _json(self, status: int, obj: Any, request_id_header: str = "x-request-id") -> None:
        data = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header(request_id_header, "req_pymock_" + secrets.token_hex(8))
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, payloads: list[str], request_id_header: str = "x-request-id") -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header(request_id_header, "req_pymock_" + secrets.token_hex(8))
        self.end_headers()
        for p in payloads:
            data = p.encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._record(None)
        if self.path.rstrip("/").endswith("/models"):
            models = ["gpt-4.1", "claude-3-5-sonnet-20240620"]
            data = [{"id": m, "object": "model", "created": 1, "owned_by": "system"} for m in models]
            self._json(200, {"object": "list", "data": data})
            return
        self._not_found()

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        raw = self._read_body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self._record(body)
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/v1/messages":
            self._anthropic(body)
            return
        if not path.endswith("/chat/completions"):
            self._not_found()
            return
        if not isinstance(body, dict):
            err = {"message": "invalid JSON body", "type": "invalid_request_error", "param": None, "code": None}
            self._json(400, {"error": err})
            return
        if body.get("stream") is True:
            self._stream(body)
        else:
            self._json(200, self._completion(body))

    def _anthropic(self, body: Any) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        problem = anthropic_problem(headers, body, self.server.anthropic_key)
        if problem:
            status, kind, message = problem
            err = {"type": "error", "error": {"type": kind, "message": message},
                   "request_id": "req_pymock_" + secrets.token_hex(8)}
            self._json(status, err, request_id_header="request-id")
        elif body.get("stream") is True:
            payloads = [
                f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
                for name, data in anthropic_events(body)
            ]
            self._sse(payloads, request_id_header="request-id")
        else:
            self._json(200, anthropic_message(body), request_id_header="request-id")

    def _not_found(self) -> None:
        err = {"message": f"Invalid URL ({self.command} {self.path})", "type": "invalid_request_error",
               "param": None, "code": None}
        self._json(404, {"error": err})

    @staticmethod
    def _head(body: dict, obj: str) -> dict:
        return {
            "id": "chatcmpl-" + secrets.token_hex(12),
            "object": obj,
            "created": int(time.time()),
            "model": body.get("model", "gpt-4.1"),
            "system_fingerprint": "fp_pymock",
        }

    def _completion(self, body: dict) -> dict:
        out = self._head(body, "chat.completion")
        if body.get("tools"):
            message = {"role": "assistant", "content": None, "tool_calls": planned_tool_calls(body),
                       "refusal": None}
            finish, usage = "tool_calls", TOOL_USAGE
        else:
            message = {"role": "assistant", "content": VISION_TEXT, "refusal": None}
            finish, usage = "stop", TEXT_USAGE
        out["choices"] = [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}]
        out["usage"] = _usage(*usage)
        return out

    def _stream(self, body: dict) -> None:
        head = self._head(body, "chat.completion.chunk")
        include_usage = (body.get("stream_options") or {}).get("include_usage") is True

        def chunk(delta: dict | None, finish: str | None = None, usage: dict | None = None) -> dict:
            c = dict(head)
            c["choices"] = [] if delta is None else [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            ]
            if include_usage:
                c["usage"] = usage
            return c

        events = [chunk({"role": "assistant", "content": None if body.get("tools") else "", "refusal": None})]
        if body.get("tools"):
            calls = planned_tool_calls(body)
            for i, call in enumerate(calls):
                events.append(chunk({"tool_calls": [{
                    "index": i, "id": call["id"], "type": "function",
                    "function": {"name": call["function"]["name"], "arguments": ""},
                }]}))
            frags = [_thirds(call["function"]["arguments"]) for call in calls]
            # Interleave the argument fragments of all calls: call 0 part 1, call 1 part 1, call 0 part 2, …
            for part in range(max(len(f) for f in frags)):
                for i, f in enumerate(frags):
                    if part < len(f):
                        events.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": f[part]}}]}))
            events.append(chunk({}, "tool_calls"))
            usage = TOOL_USAGE
        else:
            for piece in _thirds(VISION_TEXT):
                events.append(chunk({"content": piece}))
            events.append(chunk({}, "stop"))
            usage = TEXT_USAGE
        if include_usage:
            events.append(chunk(None, usage=_usage(*usage)))

        payloads = [f"data: {json.dumps(e, ensure_ascii=False)}\n\n" for e in events]
        payloads.append("data: [DONE]\n\n")
        self._sse(payloads)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, anthropic_key: str | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.anthropic_key = anthropic_key


class PyUpstream:
    """Runs the mock on a random loopback port in a background thread. `anthropic_key`, when given, is the only
    `x-api-key` that `/v1/messages` accepts (any non-empty one otherwise)."""

    def __init__(self, anthropic_key: str | None = None) -> None:
        self._server = _Server(anthropic_key)
        self._thread = threading.Thread(target=self._server.serve_forever, name="py-upstream", daemon=True)

    def start(self) -> "PyUpstream":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def requests(self) -> list[Recorded]:
        with self._server.lock:
            return list(self._server.requests)

    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests() if r.method == "POST" and r.path.rstrip("/").endswith("/chat/completions")]

    def last_chat(self) -> Recorded:
        chats = self.chat_requests()
        assert chats, "the Python upstream received no chat request"
        return chats[-1]

    def anthropic_requests(self) -> list[Recorded]:
        return [r for r in self.requests() if r.method == "POST" and r.path.rstrip("/") == "/v1/messages"]

    def last_anthropic(self) -> Recorded:
        got = self.anthropic_requests()
        assert got, "the Python upstream received no /v1/messages request"
        return got[-1]
