"""Session fixtures: two `mock-upstream` processes and one `tollgate serve` process in front of them.

Binaries come from `TOLLGATE_BIN` / `MOCK_UPSTREAM_BIN`, by default `target/debug/tollgate` and
`target/debug/mock-upstream` under the repository root (build them with `cargo build --workspace --bins`).

Routing in the generated config:
* channel `rust-mock` (a `mock-upstream` that always gives its default answer): `gpt-4o` (priced), `o3-mini`
  (deliberately unpriced) and the models of the other endpoints (embeddings, images, audio, moderations);
* channel `scripted-openai` (a second `mock-upstream`, which the tests script and which records what it got, see
  `scripted_mock.py`): `gpt-4.1`, priced;
* channel `scripted-claude`, of kind `anthropic`, on the same second mock's `/v1/messages`:
  `claude-3-5-sonnet-20240620`, priced with a separate price for cached input tokens;
* channel `scripted-gemini`, of kind `gemini`, on the same second mock's
  `/v1beta/models/{model}:generateContent` (key in `x-goog-api-key`): `gemini-2.0-flash`, priced.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scripted_mock import ScriptedUpstream  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "tg-admin-e2e-0123456789abcdefghijklmnopqrstuv"
UPSTREAM_KEY_RUST = "upstream-secret-rust"
UPSTREAM_KEY_SCRIPTED = "upstream-secret-scripted"
UPSTREAM_KEY_CLAUDE = "upstream-secret-claude"
UPSTREAM_KEY_GEMINI = "upstream-secret-gemini"
ALICE_KEY = "sk-test0000000000000000000000000000000000000000000001"
BOB_KEY = "sk-test0000000000000000000000000000000000000000000002"
INITIAL_BALANCE = 10_000_000
HEALTH_TIMEOUT_S = 20.0
SHUTDOWN_TIMEOUT_S = 20.0

# model -> (input_per_million, output_per_million), micro-units.
PRICES = {
    "gpt-4o": (2_500_000, 10_000_000),
    "gpt-4.1": (2_000_000, 8_000_000),
    "claude-3-5-sonnet-20240620": (3_000_000, 15_000_000),
    "gemini-2.0-flash": (100_000, 400_000),
    "text-embedding-3-small": (20_000, 0),
    "omni-moderation-latest": (10_000, 0),
    # Per character (speech) and per second of audio (transcription), as "input per million".
    "tts-1": (15_000_000, 0),
    "whisper-1": (100_000_000, 0),
    # The Realtime API (WebSocket), text only: no audio price.
    "gpt-realtime": (4_000_000, 16_000_000),
}
# model -> cached_input_per_million, micro-units (models not listed: cached input costs the input price).
CACHED_PRICES = {
    "claude-3-5-sonnet-20240620": 300_000,
}
CLAUDE_MODEL = "claude-3-5-sonnet-20240620"
GEMINI_MODEL = "gemini-2.0-flash"
UNPRICED_MODEL = "o3-mini"
EMBEDDING_MODEL = "text-embedding-3-small"
IMAGE_MODEL = "dall-e-3"
# model -> price per request (per image), micro-units.
PER_REQUEST_PRICES = {
    IMAGE_MODEL: 40_000,
    f"{IMAGE_MODEL}:1024x1024:hd": 80_000,
}
# Every model a key may list: the token-priced ones and the image model.
PRICED_MODELS = sorted([*PRICES, IMAGE_MODEL])
POLL_S = 5.0


def _binary(env: str, name: str) -> Path:
    path = Path(os.environ.get(env) or REPO_ROOT / "target" / "debug" / name)
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not os.access(path, os.X_OK):
        pytest.exit(
            f"{name} binary not found at {path}: run `cargo build --workspace --bins` or set {env}",
            returncode=2,
        )
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as e:
        return f"(cannot read {path}: {e})"


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(_toml_str(i) for i in items) + "]"


def write_config(path: Path, rust_url: str, scripted_url: str) -> None:
    parts = [
        "shutdown_grace = 5",
        "",
        "[[channels]]",
        'name = "rust-mock"',
        'kind = "openai"',
        f"base_url = {_toml_str(rust_url)}",
        f"keys = {_toml_list([UPSTREAM_KEY_RUST])}",
        f"models = {_toml_list(['gpt-4o', UNPRICED_MODEL, EMBEDDING_MODEL, IMAGE_MODEL, 'tts-1', 'whisper-1', 'omni-moderation-latest', 'gpt-realtime'])}",
        "",
        "[[channels]]",
        'name = "scripted-openai"',
        'kind = "openai"',
        f"base_url = {_toml_str(scripted_url)}",
        f"keys = {_toml_list([UPSTREAM_KEY_SCRIPTED])}",
        f"models = {_toml_list(['gpt-4.1'])}",
        "",
        "[[channels]]",
        'name = "scripted-claude"',
        'kind = "anthropic"',
        f"base_url = {_toml_str(scripted_url)}",
        f"keys = {_toml_list([UPSTREAM_KEY_CLAUDE])}",
        f"models = {_toml_list([CLAUDE_MODEL])}",
        "",
        "[[channels]]",
        'name = "scripted-gemini"',
        'kind = "gemini"',
        f"base_url = {_toml_str(scripted_url)}",
        f"keys = {_toml_list([UPSTREAM_KEY_GEMINI])}",
        f"models = {_toml_list([GEMINI_MODEL])}",
    ]
    for user, key in (("alice", ALICE_KEY), ("bob", BOB_KEY)):
        parts += [
            "",
            "[[users]]",
            f"name = {_toml_str(user)}",
            f"balance = {INITIAL_BALANCE}",
            "",
            "[[keys]]",
            f"name = {_toml_str(user + '-key')}",
            f"user = {_toml_str(user)}",
            f"key = {_toml_str(key)}",
        ]
    for model, (inp, out) in PRICES.items():
        parts += [
            "",
            "[[prices]]",
            f"model = {_toml_str(model)}",
            f"input_per_million = {inp}",
            f"output_per_million = {out}",
        ]
        if model in CACHED_PRICES:
            parts.append(f"cached_input_per_million = {CACHED_PRICES[model]}")
    for model, each in PER_REQUEST_PRICES.items():
        parts += ["", "[[prices]]", f"model = {_toml_str(model)}", f"per_request = {each}"]
    path.write_text("\n".join(parts) + "\n")


@dataclass
class Gateway:
    port: int
    proc: subprocess.Popen
    log_path: Path
    rust_url: str
    scripted: ScriptedUpstream
    admin_token: str = ADMIN_TOKEN
    extra: dict = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, api_key: str = ALICE_KEY) -> openai.OpenAI:
        # No SDK retries: a retry would hide a failing first attempt and double-bill.
        return openai.OpenAI(base_url=f"{self.base_url}/v1", api_key=api_key, max_retries=0, timeout=20.0)

    def anthropic(self, api_key: str = ALICE_KEY) -> anthropic.Anthropic:
        # The SDK appends /v1/messages itself. An explicit api_key keeps ANTHROPIC_* variables out of the way.
        return anthropic.Anthropic(base_url=self.base_url, api_key=api_key, max_retries=0, timeout=20.0)

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.base_url}/api/admin",
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=10.0,
        )

    def log_tail(self) -> str:
        return _tail(self.log_path)

    def key_id(self, name: str) -> int:
        """The id of the declared key `name` (e.g. `alice-key`), via the admin API."""
        with self.admin() as admin:
            resp = admin.get("/keys")
            assert resp.status_code == 200, f"GET /api/admin/keys: {resp.status_code} {resp.text[:300]}"
            ids = [k["id"] for k in resp.json()["data"] if k.get("name") == name]
            assert len(ids) == 1, f"{name} not listed once: {resp.json()}"
            return ids[0]

    def log_row(self, key_id: int, request_id: str, timeout: float = POLL_S) -> dict:
        """The request log row of `request_id`, from `GET /api/admin/logs?key_id=…` (rows are written after the
        answer, so this polls)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.admin() as admin:
                resp = admin.get("/logs", params={"key_id": key_id, "limit": 100})
            assert resp.status_code == 200, f"GET /api/admin/logs: {resp.status_code} {resp.text[:300]}"
            rows = [r for r in resp.json()["data"] if r.get("request_id") == request_id]
            if len(rows) == 1:
                return rows[0]
            if time.monotonic() >= deadline:
                pytest.fail(f"log row for {request_id} not seen within {timeout:.0f}s; rows: {rows!r}")
            time.sleep(0.1)


class ExtraGateway:
    """A `tollgate serve` of a test's own (its own database and settings), stopped with SIGTERM by `stop()`."""

    def __init__(self, work: Path, config_text: str, args: list[str]) -> None:
        config = work / "tollgate.toml"
        config.write_text(config_text)
        self.port = _free_port()
        self.log_path = work / "tollgate.log"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("TOLLGATE_") and k not in ("DATABASE_URL", "REDIS_URL")
        }
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    str(_binary("TOLLGATE_BIN", "tollgate")), "serve",
                    "--config", str(config),
                    "--listen", f"127.0.0.1:{self.port}",
                    "--database-url", f"sqlite://{work / 'tollgate.db'}",
                    *args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        if not _wait_healthy(self.proc, self.port, time.monotonic() + HEALTH_TIMEOUT_S):
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"tollgate did not start; log:\n{_tail(self.log_path)}")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=SHUTDOWN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"tollgate did not exit after SIGTERM; log:\n{_tail(self.log_path)}")


def _mock_upstream(*args: str):
    """Runs `mock-upstream --listen 127.0.0.1:0 ARGS…` and yields its base URL (no /v1)."""
    binary = _binary("MOCK_UPSTREAM_BIN", "mock-upstream")
    proc = subprocess.Popen(
        [str(binary), "--listen", "127.0.0.1:0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 10.0)
        line = proc.stdout.readline().strip() if ready else ""
        prefix = "listening on "
        if not line.startswith(prefix):
            pytest.exit(f"mock-upstream did not announce its address (first line: {line!r})", returncode=2)
        yield line[len(prefix) :].rstrip("/")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def rust_upstream() -> str:
    """A `mock-upstream` that always gives its default answer; yields its base URL (no /v1)."""
    yield from _mock_upstream()


@pytest.fixture(scope="session")
def scripted_upstream() -> ScriptedUpstream:
    """A second `mock-upstream`, taking only the three scripted channels' keys, which the tests script."""
    keys = (UPSTREAM_KEY_SCRIPTED, UPSTREAM_KEY_CLAUDE, UPSTREAM_KEY_GEMINI)
    for url in _mock_upstream(*(arg for key in keys for arg in ("--accept-key", key))):
        yield ScriptedUpstream(url)


@pytest.fixture(autouse=True)
def _fresh_script(request: pytest.FixtureRequest) -> None:
    """An answer a failed test queued but never used must not answer the next test's request."""
    if "scripted_upstream" in request.fixturenames:
        request.getfixturevalue("scripted_upstream").clear_script()


def _wait_healthy(proc: subprocess.Popen, port: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


@pytest.fixture(scope="session")
def gateway(
    rust_upstream: str, scripted_upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Gateway:
    """`tollgate serve` on a free port with a fresh SQLite database; SIGTERM at the end must exit 0."""
    binary = _binary("TOLLGATE_BIN", "tollgate")
    work = tmp_path_factory.mktemp("tollgate")
    config = work / "tollgate.toml"
    write_config(config, rust_upstream, scripted_upstream.base_url)
    db = work / "tollgate.db"
    # Settings from the caller's environment must not leak into the run.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TOLLGATE_") and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env.setdefault("RUST_LOG", "info")

    proc = None
    for attempt in range(3):
        port = _free_port()
        log_path = work / f"tollgate-{attempt}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [
                    str(binary), "serve",
                    "--config", str(config),
                    "--listen", f"127.0.0.1:{port}",
                    "--database-url", f"sqlite://{db}",
                    "--admin-token", ADMIN_TOKEN,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        if _wait_healthy(proc, port, time.monotonic() + HEALTH_TIMEOUT_S):
            break
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            pytest.exit(
                f"tollgate did not answer /healthz 200 within {HEALTH_TIMEOUT_S:.0f}s; log:\n{_tail(log_path)}",
                returncode=3,
            )
        log_text = _tail(log_path)
        if "in use" not in log_text.lower() or attempt == 2:
            pytest.exit(f"tollgate exited with {proc.returncode} before serving; log:\n{log_text}", returncode=3)
        # Someone took the port between the probe and the bind: try another.

    gw = Gateway(port=port, proc=proc, log_path=log_path, rust_url=rust_upstream, scripted=scripted_upstream)
    yield gw

    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=SHUTDOWN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"tollgate did not exit within {SHUTDOWN_TIMEOUT_S:.0f}s of SIGTERM; log:\n{gw.log_tail()}")
    assert code == 0, f"tollgate exited with {code} after SIGTERM; log:\n{gw.log_tail()}"


@pytest.fixture(scope="session")
def client(gateway: Gateway) -> openai.OpenAI:
    return gateway.client(ALICE_KEY)


def streamed_tool_calls(chunks: list) -> tuple[str, dict[int, dict], list[str]]:
    """Reassembles a streamed chat answer: its text, its tool calls by index ({"id", "name", "arguments"}, pieces
    joined) and the finish reasons given."""
    calls: dict[int, dict] = {}
    finishes, text = [], ""
    for c in chunks:
        if not c.choices:
            continue
        delta = c.choices[0].delta
        text += delta.content or ""
        for tc in delta.tool_calls or []:
            slot = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
            if tc.id:
                slot["id"] = tc.id
            if tc.function and tc.function.name:
                slot["name"] += tc.function.name
            if tc.function and tc.function.arguments:
                slot["arguments"] += tc.function.arguments
        if c.choices[0].finish_reason:
            finishes.append(c.choices[0].finish_reason)
    return text, calls, finishes


def assert_one_weather_call(completion, id_prefix: str, arguments: dict, usage: tuple[int, int]) -> None:
    """A plain answer that is one get_current_weather call with `arguments`, its id starting `id_prefix`, and the
    upstream's usage."""
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls is not None and len(calls) == 1
    assert calls[0].type == "function"
    assert calls[0].id.startswith(id_prefix)
    assert calls[0].function.name == "get_current_weather"
    assert json.loads(calls[0].function.arguments) == arguments
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == usage
