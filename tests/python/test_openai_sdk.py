"""The gateway as the official `openai` Python SDK sees it.

Text answers come from a `mock-upstream` giving its default answer (model `gpt-4o`); tool calls and vision go to
the second, scripted and recording `mock-upstream` (model `gpt-4.1`, an OpenAI-format channel, so content parts must
arrive unchanged; see `scripted_mock.py`). `claude-3-5-sonnet-20240620` is on an Anthropic channel: see
test_claude.py.
"""

from __future__ import annotations

import copy
import json
import math
import time

import openai
import pytest

from conftest import (
    BOB_KEY,
    EMBEDDING_MODEL,
    IMAGE_MODEL,
    INITIAL_BALANCE,
    PER_REQUEST_PRICES,
    PRICED_MODELS,
    PRICES,
    UNPRICED_MODEL,
    UPSTREAM_KEY_SCRIPTED,
    Gateway,
    assert_one_weather_call,
    streamed_tool_calls,
)
from scripted_mock import BEIJING, SHANGHAI, TEXT_USAGE, TOOL_USAGE, VISION_TEXT, WEATHER_TOOL

MOCK_TEXT = "Hello there, how may I assist you today?"
MOCK_USAGE = (9, 12)
POLL_S = 5.0

WEATHER_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": "Get the current weather in a given location",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["location"],
            },
        },
    }
]
TOOL_CHOICE = {"type": "function", "function": {"name": "get_current_weather"}}

# 1x1 transparent PNG.
PNG_DATA_URL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
HTTPS_IMAGE_URL = "https://p.upyun.com/demo/webp/webp/animated-gif-0.webp"


def expected_cost(model: str, prompt: int, completion: int) -> int:
    inp, out = PRICES[model]
    return math.ceil((prompt * inp + completion * out) / 1_000_000)


# --------------------------------------------------------------------------------------------- plain chat


def test_plain_chat(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "你好"}]
    )
    assert raw.status_code == 200
    request_id = raw.headers.get("x-request-id")
    assert request_id, f"no x-request-id header in {dict(raw.headers)}"
    completion = raw.parse()
    assert completion.object == "chat.completion"
    assert completion.model == "gpt-4o"
    assert len(completion.choices) == 1
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == MOCK_TEXT
    assert choice.finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == MOCK_USAGE
    assert completion.usage.total_tokens == sum(MOCK_USAGE)


# --------------------------------------------------------------------------------------------- streaming


def test_stream_without_usage(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "你好"}], stream=True
        )
    )
    assert chunks, "no chunks"
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == MOCK_TEXT
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    # The gateway asks the upstream for usage to bill exactly, but the client did not ask: no usage may show.
    assert not [c for c in chunks if not c.choices], "a chunk with empty choices reached a client that did not ask"
    assert all(c.usage is None for c in chunks), [c.usage for c in chunks]


def test_stream_with_usage(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "你好"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert len(chunks) >= 2
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == MOCK_TEXT
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == MOCK_USAGE
    assert all(c.usage is None for c in chunks[:-1])


# --------------------------------------------------------------------------------------------- tool calls


def test_tool_call_plain(gateway: Gateway, client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "北京今天天气怎么样"}]
    gateway.scripted.reply(tool_calls=[(WEATHER_TOOL, BEIJING)], usage=TOOL_USAGE)
    completion = client.chat.completions.create(
        model="gpt-4.1", messages=messages, tools=WEATHER_TOOLS, tool_choice=TOOL_CHOICE
    )
    assert_one_weather_call(completion, "call_", BEIJING, TOOL_USAGE)

    got = gateway.scripted.last_chat().body
    assert got["tools"] == WEATHER_TOOLS
    assert got["tool_choice"] == TOOL_CHOICE
    assert got["messages"] == messages
    assert got["model"] == "gpt-4.1"


def test_tool_call_stream(gateway: Gateway, client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "北京和上海今天天气怎么样"}]
    gateway.scripted.reply(tool_calls=[(WEATHER_TOOL, BEIJING), (WEATHER_TOOL, SHANGHAI)], usage=TOOL_USAGE)
    chunks = list(
        client.chat.completions.create(
            model="gpt-4.1", messages=messages, tools=WEATHER_TOOLS, tool_choice="auto", stream=True
        )
    )
    _, calls, finishes = streamed_tool_calls(chunks)
    assert finishes == ["tool_calls"]
    assert sorted(calls) == [0, 1]
    assert all(calls[i]["id"] and calls[i]["id"].startswith("call_") for i in calls)
    assert [calls[i]["name"] for i in (0, 1)] == ["get_current_weather"] * 2
    assert [json.loads(calls[i]["arguments"]) for i in (0, 1)] == [BEIJING, SHANGHAI]
    assert all(c.usage is None for c in chunks), "usage shown to a client that did not ask for it"

    got = gateway.scripted.last_chat().body
    assert got["stream"] is True
    assert got["tools"] == WEATHER_TOOLS
    assert got["tool_choice"] == "auto"
    assert got["messages"] == messages


# --------------------------------------------------------------------------------------------- vision


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_vision_passes_through(gateway: Gateway, client: openai.OpenAI, stream: bool) -> None:
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "这张图片有什么"},
                {"type": "image_url", "image_url": {"url": HTTPS_IMAGE_URL, "detail": "auto"}},
                {"type": "image_url", "image_url": {"url": PNG_DATA_URL, "detail": "low"}},
            ],
        }
    ]
    sent = copy.deepcopy(messages)
    model = "gpt-4.1"
    gateway.scripted.reply(VISION_TEXT, usage=TEXT_USAGE)
    if stream:
        chunks = list(
            client.chat.completions.create(
                model=model, messages=messages, stream=True, stream_options={"include_usage": True}
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert chunks[-1].choices == [] and chunks[-1].usage is not None
        assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == TEXT_USAGE
    else:
        completion = client.chat.completions.create(model=model, messages=messages)
        text = completion.choices[0].message.content
        assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == TEXT_USAGE
    assert text == VISION_TEXT

    rec = gateway.scripted.last_chat()
    assert rec.body["model"] == model
    assert rec.body["messages"] == sent, "image content parts were changed on the way upstream"
    # The upstream sees the channel's key, never the client's.
    assert rec.headers.get("authorization") == f"Bearer {UPSTREAM_KEY_SCRIPTED}"
    assert not any("sk-test" in v for v in rec.headers.values())


# --------------------------------------------------------------------------------------------- errors and models


def test_wrong_key_is_authentication_error(gateway: Gateway) -> None:
    bad = gateway.client("sk-wrong0000000000000000000000000000000000000000000")
    with pytest.raises(openai.AuthenticationError) as info:
        bad.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "你好"}])
    err = info.value
    assert err.status_code == 401
    assert isinstance(err.body, dict) and err.body.get("code"), f"error body without code: {err.body!r}"
    assert err.code == err.body["code"]
    assert err.response.headers.get("x-request-id")


def test_unknown_model_is_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "你好"}])
    assert info.value.status_code == 404
    assert isinstance(info.value.body, dict) and info.value.body.get("code")


def test_unpriced_model_is_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.chat.completions.create(model=UNPRICED_MODEL, messages=[{"role": "user", "content": "你好"}])
    assert info.value.status_code == 403
    assert isinstance(info.value.body, dict) and info.value.body.get("code")


def test_models_list_is_configured_and_priced(client: openai.OpenAI) -> None:
    models = list(client.models.list())
    ids = [m.id for m in models]
    assert sorted(ids) == PRICED_MODELS, f"{UNPRICED_MODEL} is configured but unpriced; got {ids}"
    assert all(m.object == "model" for m in models)
    assert client.models.retrieve("gpt-4o").id == "gpt-4o"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve(UNPRICED_MODEL)


def test_embeddings_are_relayed_and_billed_by_input_tokens(gateway: Gateway) -> None:
    client = gateway.client(BOB_KEY)
    raw = client.embeddings.with_raw_response.create(model=EMBEDDING_MODEL, input=["hello there world", "good bye"])
    resp = raw.parse()
    assert [d.index for d in resp.data] == [0, 1]
    assert all(len(d.embedding) == 8 and all(isinstance(x, float) for x in d.embedding) for d in resp.data)
    assert resp.usage.prompt_tokens == 5  # the mock counts words
    row = gateway.log_row(gateway.key_id("bob-key"), raw.headers["x-request-id"])
    inp, _ = PRICES[EMBEDDING_MODEL]
    assert (row["prompt_tokens"], row["completion_tokens"]) == (5, 0)
    assert row["cost"] == math.ceil(5 * inp / 1_000_000)
    with pytest.raises(openai.BadRequestError) as err:
        client.embeddings.create(model=EMBEDDING_MODEL, input=[])
    assert err.value.body["param"] == "input"


def test_moderations_default_model_and_billing(gateway: Gateway) -> None:
    client = gateway.client(BOB_KEY)
    raw = client.moderations.with_raw_response.create(input=["hello there world", "good bye"])
    moderation = raw.parse()
    assert moderation.model.startswith("omni-moderation")
    assert len(moderation.results) == 2
    assert all(isinstance(r.flagged, bool) for r in moderation.results)
    row = gateway.log_row(gateway.key_id("bob-key"), raw.headers["x-request-id"])
    assert row["model"] == "omni-moderation-latest"
    assert row["prompt_tokens"] > 0
    inp, _ = PRICES["omni-moderation-latest"]
    assert row["cost"] == max(1, math.ceil(row["prompt_tokens"] * inp / 1_000_000))


def test_images_are_billed_per_image(gateway: Gateway) -> None:
    client = gateway.client(BOB_KEY)
    raw = client.images.with_raw_response.generate(model=IMAGE_MODEL, prompt="a lighthouse", n=2, size="1024x1024")
    images = raw.parse()
    assert len(images.data) == 2 and all(d.url for d in images.data)
    row = gateway.log_row(gateway.key_id("bob-key"), raw.headers["x-request-id"])
    assert row["cost"] == 2 * PER_REQUEST_PRICES[IMAGE_MODEL]
    raw = client.images.with_raw_response.generate(
        model=IMAGE_MODEL, prompt="a lighthouse", size="1024x1024", quality="hd", response_format="b64_json"
    )
    assert raw.parse().data[0].b64_json
    row = gateway.log_row(gateway.key_id("bob-key"), raw.headers["x-request-id"])
    assert row["cost"] == PER_REQUEST_PRICES[f"{IMAGE_MODEL}:1024x1024:hd"]


def test_responses_api(gateway: Gateway) -> None:
    client = gateway.client(BOB_KEY)
    raw = client.responses.with_raw_response.create(model="gpt-4o", input="tell me something", instructions="brief")
    response = raw.parse()
    assert response.output_text == "Hello there, how may I assist you today?"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (3, 8)
    row = gateway.log_row(gateway.key_id("bob-key"), raw.headers["x-request-id"])
    inp, out = PRICES["gpt-4o"]
    assert (row["prompt_tokens"], row["completion_tokens"]) == (3, 8)
    assert row["cost"] == math.ceil((3 * inp + 8 * out) / 1_000_000)


def test_responses_api_stream(gateway: Gateway) -> None:
    client = gateway.client(BOB_KEY)
    events = list(client.responses.create(model="gpt-4o", input="tell me something", stream=True))
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "Hello there, how may I assist you today?"
    assert events[-1].response.usage.output_tokens == 8
    # The helper that accumulates the stream works too.
    with client.responses.stream(model="gpt-4o", input="tell me something") as stream:
        final = stream.get_final_response()
    assert final.output_text == text


def test_image_edits_and_variations_are_billed_per_image(gateway: Gateway) -> None:
    client = gateway.client(BOB_KEY)
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    raw = client.images.with_raw_response.edit(
        model=IMAGE_MODEL, image=("in.png", png, "image/png"), mask=("mask.png", png, "image/png"),
        prompt="add a red hat", n=2,
    )
    assert len(raw.parse().data) == 2
    row = gateway.log_row(gateway.key_id("bob-key"), raw.headers["x-request-id"])
    assert row["cost"] == 2 * PER_REQUEST_PRICES[IMAGE_MODEL]
    raw = client.images.with_raw_response.create_variation(
        model=IMAGE_MODEL, image=("in.png", png, "image/png"), response_format="b64_json"
    )
    assert raw.parse().data[0].b64_json
    row = gateway.log_row(gateway.key_id("bob-key"), raw.headers["x-request-id"])
    assert row["cost"] == PER_REQUEST_PRICES[IMAGE_MODEL]
    # Not an image: refused by Tollgate, the SDK raises its own error with the field named.
    with pytest.raises(openai.BadRequestError) as refused:
        client.images.edit(model=IMAGE_MODEL, image=("in.png", b"%PDF-1.7", "image/png"), prompt="x")
    assert refused.value.param == "image"


def test_audio_speech_and_transcription(gateway: Gateway) -> None:
    client = gateway.client(BOB_KEY)
    raw = client.audio.speech.with_raw_response.create(model="tts-1", voice="alloy", input="hello world")
    assert raw.headers["content-type"] == "audio/mpeg"
    assert raw.content.startswith(b"ID3")
    row = gateway.log_row(gateway.key_id("bob-key"), raw.headers["x-request-id"])
    assert row["cost"] == math.ceil(len("hello world") * PRICES["tts-1"][0] / 1_000_000)

    raw = client.audio.transcriptions.with_raw_response.create(
        model="whisper-1", file=("speech.mp3", b"\x55" * 1500, "audio/mpeg")
    )
    assert raw.parse().text == "Hello, world."
    row = gateway.log_row(gateway.key_id("bob-key"), raw.headers["x-request-id"])
    assert row["cost"] == 15 * PRICES["whisper-1"][0] // 1_000_000  # the mock reports 15 s
    text = client.audio.translations.create(
        model="whisper-1", file=("speech.mp3", b"\x55" * 300, "audio/mpeg"), response_format="text"
    )
    assert "translated" in text


# --------------------------------------------------------------------------------------------- billing


def _poll(what: str, fetch, done, timeout: float = POLL_S):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fetch()
        if done(last):
            return last
        if time.monotonic() >= deadline:
            pytest.fail(f"{what} not seen within {timeout:.0f}s; last seen: {last!r}")
        time.sleep(0.1)


def _bob(gateway: Gateway) -> tuple[dict, int]:
    """Bob's key record and his user id, via the admin API."""
    with gateway.admin() as admin:
        resp = admin.get("/keys")
        assert resp.status_code == 200, f"GET /api/admin/keys: {resp.status_code} {resp.text[:300]}"
        keys = [k for k in resp.json()["data"] if k.get("name") == "bob-key"]
        assert len(keys) == 1, f"bob-key not listed: {resp.json()}"
        key = keys[0]
        user_id = key.get("user_id")
        if user_id is None:
            users = admin.get("/users")
            assert users.status_code == 200, f"GET /api/admin/users: {users.status_code} {users.text[:300]}"
            user_id = next(u["id"] for u in users.json()["data"] if u.get("name") == "bob")
        return key, user_id


def _user(gateway: Gateway, user_id) -> dict:
    with gateway.admin() as admin:
        resp = admin.get(f"/users/{user_id}")
        assert resp.status_code == 200, f"GET /api/admin/users/{user_id}: {resp.status_code} {resp.text[:300]}"
        return resp.json()


def _log_row(gateway: Gateway, key_id, request_id: str) -> dict:
    def fetch():
        with gateway.admin() as admin:
            resp = admin.get("/logs", params={"key_id": key_id, "limit": 100})
            assert resp.status_code == 200, f"GET /api/admin/logs: {resp.status_code} {resp.text[:300]}"
            return [r for r in resp.json()["data"] if r.get("request_id") == request_id]

    return _poll(f"log row for {request_id}", fetch, lambda rows: len(rows) == 1)[0]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_billing(gateway: Gateway, stream: bool) -> None:
    """One request by bob: one log row with the exact cost; bob's and his key's `spent` up by exactly that, and
    his balance (which already has reservations taken out) back to the initial one less what was spent."""
    key, user_id = _bob(gateway)
    spent_before = _user(gateway, user_id)["spent"]
    cost = expected_cost("gpt-4o", *MOCK_USAGE)
    assert cost == 143  # ceil(9 × 2.5 + 12 × 10) micro-units

    bob = gateway.client(BOB_KEY)
    raw = bob.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "你好"}], stream=stream
    )
    request_id = raw.headers.get("x-request-id")
    assert request_id
    body = raw.parse()
    if stream:
        # Drain it: the bill is settled when the stream ends.
        assert "".join(c.choices[0].delta.content or "" for c in body if c.choices) == MOCK_TEXT

    row = _log_row(gateway, key["id"], request_id)
    assert row["model"] == "gpt-4o"
    assert (row["prompt_tokens"], row["completion_tokens"]) == MOCK_USAGE
    assert row["cost"] == cost
    assert row["stream"] is stream
    assert row["status"] == 200, row
    assert row.get("key_id", key["id"]) == key["id"]

    user = _poll(
        "bob's spent going up by the cost",
        lambda: _user(gateway, user_id),
        lambda u: u["spent"] >= spent_before + cost,
    )
    assert user["spent"] == spent_before + cost
    # Bob pays only in these tests, so once settled, nothing is still reserved.
    assert user["balance"] == INITIAL_BALANCE - user["spent"], user
    key_after = _poll(
        "bob-key's spent going up by the cost",
        lambda: _bob(gateway)[0],
        lambda k: k["spent"] >= key["spent"] + cost,
    )
    assert key_after["spent"] == key["spent"] + cost, (key, key_after)
