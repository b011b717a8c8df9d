"""The gateway as Google's official `google-genai` Python SDK sees it: `genai.Client` pointed at Tollgate by
`http_options.base_url`, with a Tollgate key as its API key (sent as `x-goog-api-key`), on both of the SDK's API
versions (`v1`, its default, and `v1beta`).

* To `gemini-2.0-flash`, on the `gemini`-kind channel `scripted-gemini`, the SDK's body is relayed natively
  (`POST /v1beta/models/gemini-2.0-flash:generateContent` on the scripted mock, untouched, the channel's key in
  `x-goog-api-key`) and the mock's Gemini answer comes back untouched.
* To `gpt-4o` (the default-answer mock) and `gpt-4.1` (the scripted mock), both OpenAI channels, the body is
  converted to a chat request and the answer back to a `GenerateContentResponse`: text, thoughts, function calls
  (with the OpenAI call id as the part's `id`), usage and finish reason.
* `countTokens` is answered by the gateway alone; errors come in Google's shape, so the SDK raises its own
  `google.genai.errors.ClientError` with Google's `code` and `status`.

Each test queues the scripted mock's answers first (`gateway.scripted.reply`, see `scripted_mock.py`; the mock's
Gemini route reports `usage` as `promptTokenCount` / `candidatesTokenCount`). Bills are checked to the micro-unit from
the configured prices and the upstream's usage, via the admin log API.
"""

from __future__ import annotations

import base64
import json
import math

import httpx
import pytest
from google import genai
from google.genai import errors, types

from conftest import (
    ALICE_KEY,
    GEMINI_MODEL,
    PRICED_MODELS,
    PRICES,
    UNPRICED_MODEL,
    UPSTREAM_KEY_GEMINI,
    UPSTREAM_KEY_SCRIPTED,
    Gateway,
)
from scripted_mock import BEIJING, SHANGHAI, TEXT_USAGE, TOOL_USAGE, VISION_TEXT, WEATHER_TOOL, Recorded

MOCK_TEXT = "Hello there, how may I assist you today?"  # the default-answer mock's
MOCK_USAGE = (9, 12)
GEMINI_TEXT = "你好！我是 Gemini，很高兴为你效劳。"
GEMINI_USAGE = (1234, 567)  # (promptTokenCount, candidatesTokenCount)
WEATHER_ANSWER = "北京今天晴，23 摄氏度。"
SUNNY = {"weather": "sunny", "temperature": 23}
RAINY = {"weather": "rain", "temperature": 18}

# 1x1 PNG.
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
PNG = base64.b64decode(PNG_B64)

NO_AFC = types.AutomaticFunctionCallingConfig(disable=True)


def get_current_weather(location: str, unit: str = "celsius") -> dict:
    """Get the current weather in a given location."""
    return SUNNY


# The SDK turns the Python function above into this JSON schema (sent as `parametersJsonSchema`).
PY_FUNCTION_PARAMETERS = {
    "type": "object",
    "properties": {"location": {"type": "string"}, "unit": {"type": "string", "default": "celsius"}},
    "required": ["location"],
}
# The same declaration written as Gemini's OpenAPI-style `Schema` (upper-case types)…
SCHEMA_DECLARATION = types.FunctionDeclaration(
    name=WEATHER_TOOL,
    description="Get the current weather in a given location",
    parameters=types.Schema(
        type="OBJECT",
        properties={
            "location": types.Schema(type="STRING", description="The city, e.g. Beijing"),
            "unit": types.Schema(type="STRING", enum=["celsius", "fahrenheit"]),
        },
        required=["location"],
    ),
)
# …and as the OpenAI tool it must become upstream.
SCHEMA_AS_OPENAI_TOOL = {
    "type": "function",
    "function": {
        "name": WEATHER_TOOL,
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city, e.g. Beijing"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}


class Sdk:
    """A `genai.Client` on the gateway, whose HTTP requests (method, URL, JSON body) are recorded in `sent`."""

    def __init__(self, gateway: Gateway, api_version: str | None = "v1beta", api_key: str = ALICE_KEY) -> None:
        self.sent: list[tuple[str, httpx.URL, object]] = []

        def record(request: httpx.Request) -> None:
            body = json.loads(request.content) if request.content else None
            self.sent.append((request.method, request.url, body))

        self.http = httpx.Client(timeout=20.0, event_hooks={"request": [record]})
        options = {"base_url": gateway.base_url, "httpx_client": self.http}
        if api_version is not None:
            options["api_version"] = api_version
        # No retry options: the SDK then never retries, so a failing first attempt cannot hide or double-bill.
        self.client = genai.Client(api_key=api_key, http_options=types.HttpOptions(**options))

    @property
    def models(self):
        return self.client.models

    def last_sent(self) -> tuple[str, httpx.URL, object]:
        assert self.sent, "the SDK sent nothing"
        return self.sent[-1]


@pytest.fixture()
def sdk(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> Sdk:
    # The SDK reads its API version from the environment when none is given.
    monkeypatch.delenv("GOOGLE_GENAI_API_VERSION", raising=False)
    return Sdk(gateway)


@pytest.fixture(scope="module")
def alice_key_id(gateway: Gateway) -> int:
    return gateway.key_id("alice-key")


def cost(model: str, prompt: int, completion: int) -> int:
    inp, out = PRICES[model]
    return math.ceil((prompt * inp + completion * out) / 1_000_000)


def request_id(response) -> str:
    """The gateway's `x-request-id` of an SDK response (or streamed chunk)."""
    rid = response.sdk_http_response.headers.get("x-request-id")
    assert rid and rid.startswith("req_"), response.sdk_http_response.headers
    return rid


def assert_billed(gateway: Gateway, key_id: int, rid: str, model: str, usage: tuple[int, int], stream: bool) -> dict:
    """One log row for `rid`: `model`, the upstream's (prompt, completion) tokens and their exact cost."""
    row = gateway.log_row(key_id, rid)
    assert row["model"] == model, row
    assert (row["prompt_tokens"], row["completion_tokens"]) == usage, row
    assert row["cost"] == cost(model, *usage), row
    assert row["stream"] is stream and row["status"] == 200, row
    return row


def gemini_requests(gateway: Gateway) -> list[Recorded]:
    return [r for r in gateway.scripted.requests() if r.method == "POST" and "/models/" in r.path]


def last_gemini(gateway: Gateway) -> Recorded:
    got = gemini_requests(gateway)
    assert got, "the scripted upstream received no Gemini request"
    return got[-1]


def assert_native_upstream(rec: Recorded, sent_body: object, method: str) -> None:
    """The Gemini channel got the SDK's own body at the channel's Gemini path, with the channel's key only."""
    assert rec.path == f"/v1beta/models/{GEMINI_MODEL}:{method}", rec.path
    assert rec.body == sent_body, "the body was changed on the way to the gemini channel"
    assert rec.headers.get("x-goog-api-key") == UPSTREAM_KEY_GEMINI, rec.headers
    assert "key=" not in rec.query, rec.query
    assert not any("sk-test" in v for v in rec.headers.values()), rec.headers


def parts_of(response) -> list[types.Part]:
    assert response.candidates and len(response.candidates) == 1, response
    content = response.candidates[0].content
    assert content.role == "model"
    return content.parts or []


# ============================================================================ plain generate_content


@pytest.mark.parametrize("api_version", ["v1beta", None], ids=["v1beta", "default-v1"])
def test_generate_native_to_gemini_channel(
    gateway: Gateway, alice_key_id: int, monkeypatch: pytest.MonkeyPatch, api_version: str | None
) -> None:
    """On either API version, a gemini channel gets the SDK's body untouched at `/v1beta/…:generateContent` with
    its own key, the SDK parses the mock's answer as the mock sent it, and the bill is the upstream's usage."""
    monkeypatch.delenv("GOOGLE_GENAI_API_VERSION", raising=False)
    sdk = Sdk(gateway, api_version)
    gateway.scripted.reply(GEMINI_TEXT, usage=GEMINI_USAGE)
    response = sdk.models.generate_content(
        model=GEMINI_MODEL,
        contents="你好",
        config=types.GenerateContentConfig(system_instruction="简洁回答。", temperature=0.3, max_output_tokens=1000),
    )
    method, url, body = sdk.last_sent()
    assert (method, url.path) == ("POST", f"/{api_version or 'v1'}/models/{GEMINI_MODEL}:generateContent")

    assert response.text == GEMINI_TEXT
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    assert response.model_version == GEMINI_MODEL
    assert len(response.response_id) == 22  # the mock's own id: the answer was not re-encoded
    usage = response.usage_metadata
    assert (usage.prompt_token_count, usage.candidates_token_count) == GEMINI_USAGE
    assert usage.total_token_count == sum(GEMINI_USAGE)

    rec = last_gemini(gateway)
    assert_native_upstream(rec, body, "generateContent")
    assert rec.body["systemInstruction"] == {"parts": [{"text": "简洁回答。"}], "role": "user"}
    assert rec.body["generationConfig"] == {"temperature": 0.3, "maxOutputTokens": 1000}

    row = assert_billed(gateway, alice_key_id, request_id(response), GEMINI_MODEL, GEMINI_USAGE, stream=False)
    assert row["cost"] == 351  # ceil(1234 × 0.1 + 567 × 0.4)


@pytest.mark.parametrize("api_version", ["v1beta", None], ids=["v1beta", "default-v1"])
def test_generate_converted_to_openai_channel(
    gateway: Gateway, alice_key_id: int, monkeypatch: pytest.MonkeyPatch, api_version: str | None
) -> None:
    """`gpt-4o` (an OpenAI channel on the default-answer mock): the answer is converted to Gemini's shape (text,
    STOP, usage, the client's model name, the request id as response id) and billed at gpt-4o's prices."""
    monkeypatch.delenv("GOOGLE_GENAI_API_VERSION", raising=False)
    sdk = Sdk(gateway, api_version)
    response = sdk.models.generate_content(model="gpt-4o", contents="你好")
    _, url, _ = sdk.last_sent()
    assert url.path == f"/{api_version or 'v1'}/models/gpt-4o:generateContent"

    rid = request_id(response)
    assert response.text == MOCK_TEXT
    assert [p.text for p in parts_of(response)] == [MOCK_TEXT]
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    assert response.model_version == "gpt-4o"
    assert response.response_id == rid.removeprefix("req_")
    usage = response.usage_metadata
    assert (usage.prompt_token_count, usage.candidates_token_count, usage.total_token_count) == (9, 12, 21)
    assert usage.thoughts_token_count is None

    row = assert_billed(gateway, alice_key_id, rid, "gpt-4o", MOCK_USAGE, stream=False)
    assert row["cost"] == 143  # ceil(9 × 2.5 + 12 × 10)


def test_generate_converted_request_and_thoughts(gateway: Gateway, sdk: Sdk, alice_key_id: int) -> None:
    """On `gpt-4.1` (scripted OpenAI channel) the system instruction, turns and generation config reach the
    upstream as a chat request with the channel's key, and `reasoning_content` comes back as a `thought` part that
    `response.text` leaves out."""
    gateway.scripted.reply(VISION_TEXT, usage=TEXT_USAGE, reasoning="先想一想。")
    response = sdk.models.generate_content(
        model="gpt-4.1",
        contents=[
            types.Content(role="user", parts=[types.Part(text="你好")]),
            types.Content(role="model", parts=[types.Part(text="你好！")]),
            types.Content(role="user", parts=[types.Part(text="介绍一下这张图")]),
        ],
        config=types.GenerateContentConfig(
            system_instruction="简洁回答。", temperature=0.2, top_p=0.9, max_output_tokens=200, stop_sequences=["END"]
        ),
    )
    parts = parts_of(response)
    assert [(p.text, bool(p.thought)) for p in parts] == [("先想一想。", True), (VISION_TEXT, False)]
    assert response.text == VISION_TEXT

    rec = gateway.scripted.last_chat()
    assert rec.headers.get("authorization") == f"Bearer {UPSTREAM_KEY_SCRIPTED}"
    assert not any("sk-test" in v for v in rec.headers.values())
    body = rec.body
    assert body["model"] == "gpt-4.1"
    assert body["stream"] is False
    assert body["messages"] == [
        {"role": "system", "content": "简洁回答。"},
        {"role": "user", "content": "你好"},
        {"role": "assistant", "content": "你好！"},
        {"role": "user", "content": "介绍一下这张图"},
    ]
    assert (body["temperature"], body["top_p"], body["max_tokens"], body["stop"]) == (0.2, 0.9, 200, ["END"])
    row = assert_billed(gateway, alice_key_id, request_id(response), "gpt-4.1", TEXT_USAGE, stream=False)
    assert row["cost"] == 194  # ceil(25 × 2 + 18 × 8)


def test_native_thinking_keeps_the_clients_output_limit(gateway: Gateway, sdk: Sdk, alice_key_id: int) -> None:
    """A native body's `maxOutputTokens` already counts its thinking (`thinkingBudget`), and the budget fits in it:
    the gemini channel must get the client's limit, not a larger one the client never agreed to pay for."""
    gateway.scripted.reply(GEMINI_TEXT, usage=GEMINI_USAGE)
    response = sdk.models.generate_content(
        model=GEMINI_MODEL,
        contents="你好",
        config=types.GenerateContentConfig(
            max_output_tokens=800, thinking_config=types.ThinkingConfig(thinking_budget=100)
        ),
    )
    assert response.text == GEMINI_TEXT
    sent_config = sdk.last_sent()[2]["generationConfig"]
    assert sent_config == {"maxOutputTokens": 800, "thinkingConfig": {"thinking_budget": 100}}, sent_config
    got_config = last_gemini(gateway).body["generationConfig"]
    assert got_config["maxOutputTokens"] == 800, (
        f"the client limited the answer (thinking included) to 800 tokens, but the gemini channel was "
        f"asked for {got_config['maxOutputTokens']} (the limit plus the whole budget of the effort the thinking "
        f"budget maps to); upstream generationConfig: {json.dumps(got_config)}"
    )
    assert got_config == sent_config
    assert_billed(gateway, alice_key_id, request_id(response), GEMINI_MODEL, GEMINI_USAGE, stream=False)


# ============================================================================ generate_content_stream


def test_stream_native_to_gemini_channel(gateway: Gateway, sdk: Sdk, alice_key_id: int) -> None:
    """`generate_content_stream` to the gemini channel: `:streamGenerateContent?alt=sse` upstream with the body
    untouched, the mock's events relayed (text in pieces, only the prompt count until the last event, which has the
    full usage and STOP), billed from that last usage."""
    gateway.scripted.reply(GEMINI_TEXT, usage=GEMINI_USAGE)
    chunks = list(sdk.models.generate_content_stream(model=GEMINI_MODEL, contents="你好"))
    _, url, body = sdk.last_sent()
    assert url.path == f"/v1beta/models/{GEMINI_MODEL}:streamGenerateContent"
    assert url.params.get("alt") == "sse"

    assert len(chunks) == 3, chunks
    assert "".join(c.text or "" for c in chunks) == GEMINI_TEXT
    last = chunks[-1]
    assert last.candidates[0].finish_reason == types.FinishReason.STOP
    assert all(c.candidates[0].finish_reason is None for c in chunks[:-1])
    assert (last.usage_metadata.prompt_token_count, last.usage_metadata.candidates_token_count) == GEMINI_USAGE
    assert all(c.usage_metadata.candidates_token_count is None for c in chunks[:-1])
    assert len({c.response_id for c in chunks}) == 1

    rec = last_gemini(gateway)
    assert_native_upstream(rec, body, "streamGenerateContent")
    assert rec.query == "alt=sse"
    assert_billed(gateway, alice_key_id, request_id(last), GEMINI_MODEL, GEMINI_USAGE, stream=True)


def test_stream_converted_to_openai_channel(gateway: Gateway, sdk: Sdk, alice_key_id: int) -> None:
    """`generate_content_stream` to `gpt-4.1`: an OpenAI stream upstream (usage asked for, to bill it), Gemini SSE
    events back whose texts join to the answer, with the finish reason and usage on the last event only."""
    gateway.scripted.reply(VISION_TEXT, usage=TEXT_USAGE)
    chunks = list(sdk.models.generate_content_stream(model="gpt-4.1", contents="你好"))
    assert len(chunks) >= 2
    assert "".join(c.text or "" for c in chunks) == VISION_TEXT
    last = chunks[-1]
    assert last.candidates[0].finish_reason == types.FinishReason.STOP
    assert (last.usage_metadata.prompt_token_count, last.usage_metadata.candidates_token_count) == TEXT_USAGE
    assert last.usage_metadata.total_token_count == sum(TEXT_USAGE)
    assert all(c.usage_metadata is None for c in chunks[:-1]), [c.usage_metadata for c in chunks]
    assert all(c.candidates[0].finish_reason is None for c in chunks[:-1])
    assert {c.model_version for c in chunks} == {"gpt-4.1"}

    body = gateway.scripted.last_chat().body
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"] == [{"role": "user", "content": "你好"}]
    assert_billed(gateway, alice_key_id, request_id(last), "gpt-4.1", TEXT_USAGE, stream=True)


# ============================================================================ function calling


def test_function_call_round_trip_converted(gateway: Gateway, sdk: Sdk, alice_key_id: int) -> None:
    """With automatic function calling off, a Python-function tool (sent by the SDK as `parametersJsonSchema`)
    reaches `gpt-4.1` as an OpenAI JSON-schema tool; the upstream's tool call comes back in
    `response.function_calls` with its id and args; the SDK's `from_function_response` turn then reaches the upstream
    as the assistant `tool_calls` message plus a `tool` message answering that very call id. Both turns billed."""
    question = types.Content(role="user", parts=[types.Part(text="北京今天天气怎么样")])
    config = types.GenerateContentConfig(tools=[get_current_weather], automatic_function_calling=NO_AFC)
    gateway.scripted.reply(tool_calls=[(WEATHER_TOOL, BEIJING)], usage=TOOL_USAGE)
    first = sdk.models.generate_content(model="gpt-4.1", contents=[question], config=config)

    declaration = sdk.last_sent()[2]["tools"][0]["functionDeclarations"][0]
    assert declaration["parameters_json_schema"] == PY_FUNCTION_PARAMETERS, declaration
    calls = first.function_calls
    assert calls is not None and len(calls) == 1, first
    call = calls[0]
    assert call.name == WEATHER_TOOL
    assert call.args == BEIJING
    assert call.id and call.id.startswith("call_"), call
    assert first.text is None
    assert first.candidates[0].finish_reason == types.FinishReason.STOP
    sent = gateway.scripted.last_chat().body
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": WEATHER_TOOL,
                "description": "Get the current weather in a given location.",
                "parameters": PY_FUNCTION_PARAMETERS,
            },
        }
    ]
    assert sent["messages"] == [{"role": "user", "content": "北京今天天气怎么样"}]
    assert_billed(gateway, alice_key_id, request_id(first), "gpt-4.1", TOOL_USAGE, stream=False)

    # The caller runs the function and sends its result back.
    result = get_current_weather(**call.args)
    answer = types.Content(role="user", parts=[types.Part.from_function_response(name=call.name, response=result)])
    gateway.scripted.reply(WEATHER_ANSWER, usage=TEXT_USAGE)
    final = sdk.models.generate_content(
        model="gpt-4.1", contents=[question, first.candidates[0].content, answer], config=config
    )
    assert final.text == WEATHER_ANSWER
    assert final.function_calls is None

    messages = gateway.scripted.last_chat().body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"], messages
    assistant, tool = messages[1], messages[2]
    assert assistant["content"] is None
    assert len(assistant["tool_calls"]) == 1
    upstream_call = assistant["tool_calls"][0]
    assert upstream_call["id"] == call.id
    assert upstream_call["type"] == "function"
    assert upstream_call["function"]["name"] == WEATHER_TOOL
    assert json.loads(upstream_call["function"]["arguments"]) == BEIJING
    assert tool["tool_call_id"] == call.id
    assert json.loads(tool["content"]) == SUNNY
    assert_billed(gateway, alice_key_id, request_id(final), "gpt-4.1", TEXT_USAGE, stream=False)


def test_schema_declaration_and_answers_by_id(gateway: Gateway, sdk: Sdk) -> None:
    """A `types.Schema` declaration (upper-case OpenAPI types) reaches the OpenAI channel as JSON Schema with
    lower-case types; two calls of the same function come back with distinct ids, and function responses carrying
    those ids, given in the other order, answer the right calls."""
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[SCHEMA_DECLARATION])],
        automatic_function_calling=NO_AFC,
        tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY")),
    )
    question = types.Content(role="user", parts=[types.Part(text="北京和上海今天天气怎么样")])
    gateway.scripted.reply(tool_calls=[(WEATHER_TOOL, BEIJING), (WEATHER_TOOL, SHANGHAI)], usage=TOOL_USAGE)
    first = sdk.models.generate_content(model="gpt-4.1", contents=[question], config=config)

    declaration = sdk.last_sent()[2]["tools"][0]["functionDeclarations"][0]
    assert declaration["parameters"]["type"] == "OBJECT", declaration
    sent = gateway.scripted.last_chat().body
    assert sent["tools"] == [SCHEMA_AS_OPENAI_TOOL]
    assert sent["tool_choice"] == "required"
    calls = first.function_calls
    assert [(c.name, c.args) for c in calls] == [(WEATHER_TOOL, BEIJING), (WEATHER_TOOL, SHANGHAI)]
    beijing, shanghai = calls
    assert beijing.id != shanghai.id and all(c.id.startswith("call_") for c in calls)

    answers = types.Content(
        role="user",
        parts=[
            types.Part(function_response=types.FunctionResponse(id=shanghai.id, name=WEATHER_TOOL, response=RAINY)),
            types.Part(function_response=types.FunctionResponse(id=beijing.id, name=WEATHER_TOOL, response=SUNNY)),
        ],
    )
    gateway.scripted.reply(WEATHER_ANSWER, usage=TEXT_USAGE)
    final = sdk.models.generate_content(
        model="gpt-4.1", contents=[question, first.candidates[0].content, answers], config=config
    )
    assert final.text == WEATHER_ANSWER
    messages = gateway.scripted.last_chat().body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool"], messages
    assert [c["id"] for c in messages[1]["tool_calls"]] == [beijing.id, shanghai.id]
    assert [(m["tool_call_id"], json.loads(m["content"])) for m in messages[2:]] == [
        (shanghai.id, RAINY),
        (beijing.id, SUNNY),
    ]


def test_function_calls_streamed_converted(gateway: Gateway, sdk: Sdk, alice_key_id: int) -> None:
    """Streamed, the OpenAI argument fragments (interleaved across two calls) are assembled: the closing event
    carries both whole `functionCall` parts with their ids, the finish reason and the usage."""
    config = types.GenerateContentConfig(tools=[get_current_weather], automatic_function_calling=NO_AFC)
    gateway.scripted.reply(tool_calls=[(WEATHER_TOOL, BEIJING), (WEATHER_TOOL, SHANGHAI)], usage=TOOL_USAGE)
    chunks = list(sdk.models.generate_content_stream(model="gpt-4.1", contents="北京和上海今天天气怎么样", config=config))
    with_calls = [c for c in chunks if c.function_calls]
    assert with_calls == [chunks[-1]], chunks
    last = chunks[-1]
    assert [(c.name, c.args) for c in last.function_calls] == [(WEATHER_TOOL, BEIJING), (WEATHER_TOOL, SHANGHAI)]
    assert all(c.id and c.id.startswith("call_") for c in last.function_calls)
    assert last.candidates[0].finish_reason == types.FinishReason.STOP
    assert (last.usage_metadata.prompt_token_count, last.usage_metadata.candidates_token_count) == TOOL_USAGE
    assert gateway.scripted.last_chat().body["stream"] is True
    assert_billed(gateway, alice_key_id, request_id(last), "gpt-4.1", TOOL_USAGE, stream=True)


def test_function_call_round_trip_native(gateway: Gateway, sdk: Sdk, alice_key_id: int) -> None:
    """On the gemini channel the tool declaration and the function call / response turns go upstream exactly as the
    SDK wrote them (the mock refuses a request whose call and response turns do not pair up, as Gemini does), and
    the mock's `functionCall` part reaches `response.function_calls`. Both turns billed at gemini-2.0-flash's
    prices."""
    config = types.GenerateContentConfig(tools=[get_current_weather], automatic_function_calling=NO_AFC)
    question = types.Content(role="user", parts=[types.Part(text="北京今天天气怎么样")])
    gateway.scripted.reply(tool_calls=[(WEATHER_TOOL, BEIJING)], usage=GEMINI_USAGE)
    first = sdk.models.generate_content(model=GEMINI_MODEL, contents=[question], config=config)
    assert_native_upstream(last_gemini(gateway), sdk.last_sent()[2], "generateContent")
    assert [(c.name, c.args) for c in first.function_calls] == [(WEATHER_TOOL, BEIJING)]
    assert_billed(gateway, alice_key_id, request_id(first), GEMINI_MODEL, GEMINI_USAGE, stream=False)

    call = first.function_calls[0]
    result = get_current_weather(**call.args)
    answer = types.Content(role="user", parts=[types.Part.from_function_response(name=call.name, response=result)])
    gateway.scripted.reply(WEATHER_ANSWER, usage=TEXT_USAGE)
    final = sdk.models.generate_content(
        model=GEMINI_MODEL, contents=[question, first.candidates[0].content, answer], config=config
    )
    assert final.text == WEATHER_ANSWER
    rec = last_gemini(gateway)
    assert_native_upstream(rec, sdk.last_sent()[2], "generateContent")
    assert [c["role"] for c in rec.body["contents"]] == ["user", "model", "user"]
    assert rec.body["contents"][1]["parts"] == [{"functionCall": {"name": WEATHER_TOOL, "args": BEIJING}}]
    assert rec.body["contents"][2]["parts"] == [{"functionResponse": {"name": WEATHER_TOOL, "response": SUNNY}}]
    row = assert_billed(gateway, alice_key_id, request_id(final), GEMINI_MODEL, TEXT_USAGE, stream=False)
    assert row["cost"] == 10  # ceil(25 × 0.1 + 18 × 0.4)


# ============================================================================ images


def test_image_input_converted_to_data_url(gateway: Gateway, sdk: Sdk, alice_key_id: int) -> None:
    """`Part.from_bytes(PNG)` (Gemini `inlineData`) reaches the OpenAI channel as an `image_url` part holding the
    same bytes in a `data:image/png;base64,` URL, beside the text, in the order given."""
    gateway.scripted.reply(VISION_TEXT, usage=TEXT_USAGE)
    response = sdk.models.generate_content(
        model="gpt-4.1", contents=[types.Part.from_bytes(data=PNG, mime_type="image/png"), "这张图片有什么"]
    )
    assert response.text == VISION_TEXT
    messages = gateway.scripted.last_chat().body["messages"]
    assert messages == [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
                {"type": "text", "text": "这张图片有什么"},
            ],
        }
    ]
    assert_billed(gateway, alice_key_id, request_id(response), "gpt-4.1", TEXT_USAGE, stream=False)


def test_image_input_native(gateway: Gateway, sdk: Sdk) -> None:
    """To the gemini channel the image stays Gemini `inlineData`, bytes untouched."""
    gateway.scripted.reply(GEMINI_TEXT, usage=GEMINI_USAGE)
    response = sdk.models.generate_content(
        model=GEMINI_MODEL, contents=[types.Part.from_bytes(data=PNG, mime_type="image/png"), "这张图片有什么"]
    )
    assert response.text == GEMINI_TEXT
    rec = last_gemini(gateway)
    assert_native_upstream(rec, sdk.last_sent()[2], "generateContent")
    blob = rec.body["contents"][0]["parts"][0]["inlineData"]
    assert base64.b64decode(blob["data"]) == PNG
    assert (blob.get("mimeType") or blob.get("mime_type")) == "image/png"


# ============================================================================ count_tokens


def _alice_request_ids(gateway: Gateway, key_id: int) -> set[str]:
    with gateway.admin() as admin:
        resp = admin.get("/logs", params={"key_id": key_id, "limit": 100})
    assert resp.status_code == 200, resp.text[:300]
    return {r["request_id"] for r in resp.json()["data"]}


def test_count_tokens_is_local_and_free(gateway: Gateway, sdk: Sdk, alice_key_id: int) -> None:
    """`count_tokens` is answered by the gateway's tokenizer (an exact count: 3 for the reply, 3 per message, the
    tokens of "user\\nhello world\\n"; an image adds 85), for a gemini channel's model as for an OpenAI one: no
    upstream request, no log row."""
    upstream_before = len(gateway.scripted.requests())
    rows_before = _alice_request_ids(gateway, alice_key_id)

    text = sdk.models.count_tokens(model="gpt-4.1", contents="hello world")
    assert text.total_tokens == 11
    with_image = sdk.models.count_tokens(
        model="gpt-4.1", contents=["hello world", types.Part.from_bytes(data=PNG, mime_type="image/png")]
    )
    assert with_image.total_tokens == text.total_tokens + 85
    native = sdk.models.count_tokens(model=GEMINI_MODEL, contents="hello world")
    assert native.total_tokens > 0
    _, url, _ = sdk.last_sent()
    assert url.path == f"/v1beta/models/{GEMINI_MODEL}:countTokens"
    assert len(gateway.scripted.requests()) == upstream_before, "countTokens reached an upstream"

    # A billed request after them: once its row is written, any row the counts made would be there too.
    gateway.scripted.reply(VISION_TEXT, usage=TEXT_USAGE)
    response = sdk.models.generate_content(model="gpt-4.1", contents="hello world")
    rid = request_id(response)
    gateway.log_row(alice_key_id, rid)
    assert _alice_request_ids(gateway, alice_key_id) - rows_before == {rid}

    # Still a key's request: a model the key cannot use is refused the same way.
    with pytest.raises(errors.ClientError) as refused:
        sdk.models.count_tokens(model="no-such-model", contents="hello world")
    assert (refused.value.code, refused.value.status) == (404, "NOT_FOUND")


# ============================================================================ errors


@pytest.mark.parametrize("model", [GEMINI_MODEL, "gpt-4o"], ids=["gemini-channel", "openai-channel"])
def test_bad_key_is_unauthenticated(gateway: Gateway, monkeypatch: pytest.MonkeyPatch, model: str) -> None:
    """A key Tollgate does not know: the SDK raises its `ClientError` 401 UNAUTHENTICATED, nothing goes upstream."""
    monkeypatch.delenv("GOOGLE_GENAI_API_VERSION", raising=False)
    bad = Sdk(gateway, api_key="sk-wrong0000000000000000000000000000000000000000000")
    before = len(gateway.scripted.requests())
    with pytest.raises(errors.ClientError) as info:
        bad.models.generate_content(model=model, contents="你好")
    err = info.value
    assert (err.code, err.status) == (401, "UNAUTHENTICATED")
    assert err.details["error"]["code"] == 401 and err.message
    assert len(gateway.scripted.requests()) == before


def test_unknown_and_unpriced_models(sdk: Sdk) -> None:
    """A model no channel serves is 404 NOT_FOUND, one configured but unpriced is 403 PERMISSION_DENIED — plain,
    streamed and for `models.get`."""
    with pytest.raises(errors.ClientError) as info:
        sdk.models.generate_content(model="no-such-model", contents="你好")
    assert (info.value.code, info.value.status) == (404, "NOT_FOUND")
    assert "no-such-model" in info.value.message
    with pytest.raises(errors.ClientError) as info:
        list(sdk.models.generate_content_stream(model="no-such-model", contents="你好"))
    assert (info.value.code, info.value.status) == (404, "NOT_FOUND")
    with pytest.raises(errors.ClientError) as info:
        sdk.models.generate_content(model=UNPRICED_MODEL, contents="你好")
    assert (info.value.code, info.value.status) == (403, "PERMISSION_DENIED")
    with pytest.raises(errors.ClientError) as info:
        sdk.models.get(model=UNPRICED_MODEL)
    assert (info.value.code, info.value.status) == (404, "NOT_FOUND")


@pytest.mark.parametrize("model", [GEMINI_MODEL, "gpt-4.1"], ids=["gemini-channel", "openai-channel"])
def test_builtin_tool_is_invalid_argument(gateway: Gateway, sdk: Sdk, alice_key_id: int, model: str) -> None:
    """Google Search (billed by Google per call, which Tollgate cannot price) is refused on every channel with 400
    INVALID_ARGUMENT naming the tool, before any upstream request: its log row is the refusal, costing nothing."""
    upstream_before = len(gateway.scripted.requests())
    config = types.GenerateContentConfig(tools=[types.Tool(google_search=types.GoogleSearch())])
    with pytest.raises(errors.ClientError) as info:
        sdk.models.generate_content(model=model, contents="今天有什么新闻", config=config)
    err = info.value
    assert (err.code, err.status) == (400, "INVALID_ARGUMENT")
    assert "googleSearch" in err.message
    assert len(gateway.scripted.requests()) == upstream_before
    row = gateway.log_row(alice_key_id, err.response.headers["x-request-id"])
    assert (row["status"], row["cost"], row["prompt_tokens"], row["completion_tokens"]) == (400, 0, 0, 0), row
    assert row["channel_id"] is None and "googleSearch" in row["error"], row


def test_unserved_gemini_method_is_unimplemented(sdk: Sdk) -> None:
    """A Gemini API method the gateway does not serve (`embed_content` → `:batchEmbedContents`) is 501
    UNIMPLEMENTED, with a message that names the Gemini API, not another one."""
    with pytest.raises(errors.APIError) as info:
        sdk.models.embed_content(model="text-embedding-3-small", contents="hello world")
    err = info.value
    assert (err.code, err.status) == (501, "UNIMPLEMENTED")
    _, url, _ = sdk.last_sent()
    assert url.path == "/v1beta/models/text-embedding-3-small:batchEmbedContents"
    assert "OpenAI API" not in err.message, (
        f"the 501 for a Gemini route says it is part of the OpenAI API: {err.message!r}"
    )


# ============================================================================ models


def test_models_list_and_get(sdk: Sdk) -> None:
    """`models.list()` pages through `GET /v1beta/models` and gets every priced model as `models/<id>`, the unpriced
    one left out; `models.get` finds one by its id."""
    listed = list(sdk.models.list())
    assert sorted(m.name for m in listed) == [f"models/{m}" for m in PRICED_MODELS]
    assert f"models/{UNPRICED_MODEL}" not in {m.name for m in listed}
    _, url, _ = sdk.last_sent()
    assert url.path == "/v1beta/models"
    model = sdk.models.get(model=GEMINI_MODEL)
    assert model.name == f"models/{GEMINI_MODEL}"
    assert "generateContent" in (model.supported_actions or []), model
