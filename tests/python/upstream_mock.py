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
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

VISION_TEXT = "这张图片展示了一个宁静而神秘的水上场景。"
TEXT_USAGE = (25, 18)
TOOL_USAGE = (77, 21)

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


def planned_tool_calls(body: dict) -> list[dict]:
    """The (name, arguments) the mock answers for a request with tools."""
    text = _last_user_text(body)
    calls = [args for names, args in CITIES if any(n in text for n in names)]
    if not calls:
        calls = [CITIES[0][1]]
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

    def _json(self, status: int, obj: Any) -> None:
        data = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("x-request-id", "req_pymock_" + secrets.token_hex(8))
        self.end_headers()
        self.wfile.write(data)

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
        if not self.path.split("?", 1)[0].rstrip("/").endswith("/chat/completions"):
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

        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        payloads = [f"data: {json.dumps(e, ensure_ascii=False)}\n\n" for e in events]
        payloads.append("data: [DONE]\n\n")
        for p in payloads:
            data = p.encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.requests: list[Recorded] = []


class PyUpstream:
    """Runs the mock on a random loopback port in a background thread."""

    def __init__(self) -> None:
        self._server = _Server()
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
