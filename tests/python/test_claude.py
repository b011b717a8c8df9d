"""Claude through the gateway, from both sides.

* The `openai` SDK against `claude-3-5-sonnet-20240620`, which lives on an `anthropic` channel: the gateway converts
  the chat request to Anthropic Messages (`POST /v1/messages` on the scripted mock) and the answer back.
* The `anthropic` SDK against the gateway's own `POST /v1/messages`: to the same Anthropic channel the client's body
  is relayed natively (only `model` rewritten) and the upstream's answer or events come back untouched; to an
  OpenAI-kind channel (`gpt-4o` on the default-answer mock, `gpt-4.1` on the scripted one) it is converted both ways.

Each test queues the scripted mock's answers first (`gateway.scripted.reply`, see `scripted_mock.py`). Bills are
checked to the micro-unit from the configured prices and the mock's usage, via the admin log API.
"""

from __future__ import annotations

import base64
import copy
import json
import math
import re

import anthropic
import httpx
import openai
import pytest

from conftest import (
    ALICE_KEY,
    CACHED_PRICES,
    CLAUDE_MODEL,
    PRICES,
    UPSTREAM_KEY_CLAUDE,
    Gateway,
    assert_one_weather_call,
    streamed_tool_calls,
)
from scripted_mock import (
    BEIJING,
    CLAUDE_CACHE_READ,
    CLAUDE_RESULT_USAGE,
    CLAUDE_TEXT,
    CLAUDE_TEXT_USAGE,
    CLAUDE_TOOL_USAGE,
    SHANGHAI,
    TOOL_PREAMBLE,
    TOOL_RESULT_PREFIX,
    TOOL_USAGE,
    WEATHER_TOOL,
    Recorded,
)

MOCK_TEXT = "Hello there, how may I assist you today?"  # the Rust mock's answer
MOCK_USAGE = (9, 12)

WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["location"],
}
WEATHER_DESCRIPTION = "Get the current weather in a given location"
OPENAI_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": WEATHER_DESCRIPTION,
            "parameters": WEATHER_PARAMETERS,
        },
    }
]
ANTHROPIC_TOOLS = [
    {"name": "get_current_weather", "description": WEATHER_DESCRIPTION, "input_schema": WEATHER_PARAMETERS}
]

# 1x1 PNG, sent under a data: URL that claims JPEG: the gateway must sniff the real type from the bytes.
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
PNG_AS_JPEG_URL = f"data:image/jpeg;base64,{PNG_B64}"
# 1x1 GIF.
GIF_B64 = "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
GIF_URL = f"data:image/gif;base64,{GIF_B64}"

LONG_SYSTEM = "你是一个乐于助人的中文助手。请简洁、准确地回答用户的问题。" * 4
CACHED_SYSTEM = [{"type": "text", "text": LONG_SYSTEM, "cache_control": {"type": "ephemeral"}}]


def claude_cost(input_tokens: int, cache_read: int, output_tokens: int) -> int:
    """Anthropic counts: `input_tokens` excludes cache reads, which have their own price."""
    inp, out = PRICES[CLAUDE_MODEL]
    cached = CACHED_PRICES[CLAUDE_MODEL]
    return math.ceil((input_tokens * inp + cache_read * cached + output_tokens * out) / 1_000_000)


def openai_cost(model: str, prompt: int, completion: int) -> int:
    inp, out = PRICES[model]
    return math.ceil((prompt * inp + completion * out) / 1_000_000)


def _texts(content) -> list[str]:
    """The texts of an Anthropic `content` / `system` value (string or blocks)."""
    if isinstance(content, str):
        return [content]
    return [b["text"] for b in content if b.get("type") == "text"]


def _upstream_message_id(msg_id: str, request_id: str) -> None:
    """`msg_id` is the mock's own (`msg_01` + 22 characters), not the `msg_<request id>` a conversion mints."""
    assert re.fullmatch(r"msg_01[A-Za-z0-9]{22}", msg_id), msg_id
    assert msg_id != "msg_" + request_id.removeprefix("req_"), msg_id


def _tool_result_texts(message: dict) -> list[str]:
    """The texts of the `tool_result` blocks of an Anthropic message."""
    out = []
    for block in message["content"]:
        if block["type"] == "tool_result":
            content = block["content"]
            out.append(content if isinstance(content, str) else "".join(_texts(content)))
    return out


def _no_client_secret(rec: Recorded) -> None:
    """The upstream sees the channel's key, never the client's."""
    assert rec.headers.get("x-api-key") == UPSTREAM_KEY_CLAUDE, rec.headers
    assert rec.headers.get("anthropic-version") == "2023-06-01", rec.headers
    assert not any("sk-test" in v for v in rec.headers.values()), rec.headers


@pytest.fixture(scope="module")
def alice_key_id(gateway: Gateway) -> int:
    return gateway.key_id("alice-key")


@pytest.fixture(scope="module")
def claude(gateway: Gateway) -> anthropic.Anthropic:
    return gateway.anthropic(ALICE_KEY)


# ============================================================================ openai SDK → anthropic channel


def test_openai_plain_is_converted_and_billed(
    gateway: Gateway, client: openai.OpenAI, alice_key_id: int
) -> None:
    gateway.scripted.reply(CLAUDE_TEXT, usage=CLAUDE_TEXT_USAGE)
    raw = client.chat.completions.with_raw_response.create(
        model=CLAUDE_MODEL, messages=[{"role": "user", "content": "你好"}], max_tokens=300
    )
    request_id = raw.headers.get("x-request-id")
    assert request_id
    completion = raw.parse()
    assert completion.object == "chat.completion"
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == CLAUDE_TEXT
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == CLAUDE_TEXT_USAGE
    assert completion.usage.total_tokens == sum(CLAUDE_TEXT_USAGE)

    rec = gateway.scripted.last_anthropic()
    _no_client_secret(rec)
    assert rec.body["model"] == CLAUDE_MODEL
    assert rec.body["max_tokens"] == 300
    assert "stream" not in rec.body or rec.body["stream"] is False
    assert [(m["role"], _texts(m["content"])) for m in rec.body["messages"]] == [("user", ["你好"])]
    assert "system" not in rec.body

    row = gateway.log_row(alice_key_id, request_id)
    assert row["model"] == CLAUDE_MODEL
    input_tokens, output_tokens = CLAUDE_TEXT_USAGE
    assert (row["prompt_tokens"], row["cached_tokens"], row["completion_tokens"]) == (input_tokens, 0, output_tokens)
    assert row["cost"] == claude_cost(input_tokens, 0, output_tokens) == 354  # ceil(23 × 3 + 19 × 15)
    assert row["stream"] is False and row["status"] == 200, row


def test_openai_reasoning_effort_becomes_thinking(
    gateway: Gateway, client: openai.OpenAI, alice_key_id: int
) -> None:
    gateway.scripted.reply(CLAUDE_TEXT, usage=CLAUDE_TEXT_USAGE, reasoning="先想一想。")
    raw = client.chat.completions.with_raw_response.create(
        model=CLAUDE_MODEL, messages=[{"role": "user", "content": "你好"}], max_tokens=300,
        reasoning_effort="low", temperature=0.2,
    )
    message = raw.parse().choices[0].message
    assert message.content == CLAUDE_TEXT
    assert message.model_extra["reasoning_content"] == "先想一想。"
    rec = gateway.scripted.last_anthropic()
    assert rec.body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert rec.body["max_tokens"] == 1024 + 300
    assert "temperature" not in rec.body
    row = gateway.log_row(alice_key_id, raw.headers["x-request-id"])
    assert row["cost"] == claude_cost(CLAUDE_TEXT_USAGE[0], 0, CLAUDE_TEXT_USAGE[1])
    # Not an effort: the SDK raises its own error naming the field.
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(
            model=CLAUDE_MODEL, messages=[{"role": "user", "content": "hi"}], reasoning_effort="maximum",
        )
    assert refused.value.param == "reasoning_effort"


@pytest.mark.parametrize("include_usage", [False, True], ids=["no-usage", "usage"])
def test_openai_stream(gateway: Gateway, client: openai.OpenAI, alice_key_id: int, include_usage: bool) -> None:
    extra = {"stream_options": {"include_usage": True}} if include_usage else {}
    gateway.scripted.reply(CLAUDE_TEXT, usage=CLAUDE_TEXT_USAGE)
    raw = client.chat.completions.with_raw_response.create(
        model=CLAUDE_MODEL, messages=[{"role": "user", "content": "你好"}], stream=True, **extra
    )
    request_id = raw.headers.get("x-request-id")
    chunks = list(raw.parse())
    assert chunks and all(c.object == "chat.completion.chunk" for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == CLAUDE_TEXT
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    if include_usage:
        last = chunks[-1]
        assert last.choices == [] and last.usage is not None
        assert (last.usage.prompt_tokens, last.usage.completion_tokens) == CLAUDE_TEXT_USAGE
        assert all(c.usage is None for c in chunks[:-1])
    else:
        assert not [c for c in chunks if not c.choices], "a usage chunk reached a client that did not ask"
        assert all(c.usage is None for c in chunks)

    rec = gateway.scripted.last_anthropic()
    assert rec.body["stream"] is True
    assert "stream_options" not in rec.body, "an OpenAI-only field went to Anthropic"

    row = gateway.log_row(alice_key_id, request_id)
    assert (row["prompt_tokens"], row["completion_tokens"]) == CLAUDE_TEXT_USAGE
    assert row["cost"] == claude_cost(CLAUDE_TEXT_USAGE[0], 0, CLAUDE_TEXT_USAGE[1])
    assert row["stream"] is True and row["status"] == 200, row


def test_openai_tool_call_plain(gateway: Gateway, client: openai.OpenAI) -> None:
    gateway.scripted.reply(TOOL_PREAMBLE, tool_calls=[(WEATHER_TOOL, BEIJING)], usage=CLAUDE_TOOL_USAGE)
    completion = client.chat.completions.create(
        model=CLAUDE_MODEL,
        messages=[{"role": "user", "content": "北京今天天气怎么样"}],
        tools=OPENAI_TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_current_weather"}},
    )
    assert_one_weather_call(completion, "toolu_", BEIJING, CLAUDE_TOOL_USAGE)
    assert completion.choices[0].message.content == TOOL_PREAMBLE

    got = gateway.scripted.last_anthropic().body
    assert got["tools"] == ANTHROPIC_TOOLS
    assert got["tool_choice"] == {"type": "tool", "name": "get_current_weather"}
    assert [(m["role"], _texts(m["content"])) for m in got["messages"]] == [("user", ["北京今天天气怎么样"])]


def test_openai_tool_call_stream_and_round_trip(gateway: Gateway, client: openai.OpenAI) -> None:
    """Two calls streamed after a text block (Anthropic block indexes 1 and 2): OpenAI indexes must be 0 and 1,
    arguments assembled by index; then the results go back as `tool` messages and get a text answer."""
    question = {"role": "user", "content": "北京和上海今天天气怎么样"}
    gateway.scripted.reply(
        TOOL_PREAMBLE, tool_calls=[(WEATHER_TOOL, BEIJING), (WEATHER_TOOL, SHANGHAI)], usage=CLAUDE_TOOL_USAGE
    )
    chunks = list(
        client.chat.completions.create(
            model=CLAUDE_MODEL, messages=[question], tools=OPENAI_TOOLS, tool_choice="auto", stream=True
        )
    )
    text, calls, finishes = streamed_tool_calls(chunks)
    assert finishes == ["tool_calls"]
    assert text == TOOL_PREAMBLE
    assert sorted(calls) == [0, 1], calls
    assert all(calls[i]["id"] and calls[i]["id"].startswith("toolu_") for i in calls)
    assert [calls[i]["name"] for i in (0, 1)] == ["get_current_weather"] * 2
    assert [json.loads(calls[i]["arguments"]) for i in (0, 1)] == [BEIJING, SHANGHAI]
    assert all(c.usage is None for c in chunks)
    got = gateway.scripted.last_anthropic().body
    assert got["stream"] is True and got["tool_choice"] == {"type": "auto"}
    assert [(m["role"], _texts(m["content"])) for m in got["messages"]] == [("user", [question["content"]])]

    # Round trip: assistant turn with the calls, one `tool` message per call.
    results = {0: "北京：晴，22°C", 1: "上海：小雨，18°C"}
    messages = [
        question,
        {
            "role": "assistant",
            "content": text,
            "tool_calls": [
                {"id": calls[i]["id"], "type": "function",
                 "function": {"name": calls[i]["name"], "arguments": calls[i]["arguments"]}}
                for i in (0, 1)
            ],
        },
        *({"role": "tool", "tool_call_id": calls[i]["id"], "content": results[i]} for i in (0, 1)),
    ]
    gateway.scripted.reply(TOOL_RESULT_PREFIX + "；".join(results.values()), usage=CLAUDE_RESULT_USAGE)
    completion = client.chat.completions.create(model=CLAUDE_MODEL, messages=messages, tools=OPENAI_TOOLS)
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.content == TOOL_RESULT_PREFIX + "；".join(results.values())
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == CLAUDE_RESULT_USAGE

    sent = gateway.scripted.last_anthropic().body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert _tool_result_texts(sent[2]) == list(results.values())
    assert [(b["type"], b.get("id"), b.get("input")) for b in sent[1]["content"] if b["type"] == "tool_use"] == [
        ("tool_use", calls[0]["id"], BEIJING),
        ("tool_use", calls[1]["id"], SHANGHAI),
    ]
    assert [(b["type"], b["tool_use_id"]) for b in sent[2]["content"]] == [
        ("tool_result", calls[0]["id"]),
        ("tool_result", calls[1]["id"]),
    ]


def test_responses_api_is_served_through_chat(gateway: Gateway, client: openai.OpenAI, alice_key_id: int) -> None:
    """The Responses API on a model only an Anthropic channel serves: converted to Messages and back, billed."""
    gateway.scripted.reply(CLAUDE_TEXT, usage=CLAUDE_TEXT_USAGE)
    raw = client.responses.with_raw_response.create(model=CLAUDE_MODEL, input="你好", instructions="请简洁回答")
    response = raw.parse()
    assert response.object == "response" and response.status == "completed"
    assert response.output_text == CLAUDE_TEXT
    assert (response.usage.input_tokens, response.usage.output_tokens) == CLAUDE_TEXT_USAGE
    got = gateway.scripted.last_anthropic().body
    assert _texts(got["system"]) == ["请简洁回答"]
    assert [(m["role"], _texts(m["content"])) for m in got["messages"]] == [("user", ["你好"])]
    row = gateway.log_row(alice_key_id, raw.headers["x-request-id"])
    assert (row["model"], row["prompt_tokens"], row["completion_tokens"]) == (CLAUDE_MODEL, *CLAUDE_TEXT_USAGE)
    assert row["cost"] == claude_cost(CLAUDE_TEXT_USAGE[0], 0, CLAUDE_TEXT_USAGE[1]) == 354


def test_responses_api_stream_tools_round_trip_through_chat(gateway: Gateway, client: openai.OpenAI) -> None:
    """The SDK's stream helper assembles the converted events (text, then two function calls) into a response
    whose items go back as the next turn's input with their outputs, as an agent loop does."""
    tools = [{"type": "function", "name": "get_current_weather", "description": WEATHER_DESCRIPTION,
              "parameters": WEATHER_PARAMETERS}]
    question = {"role": "user", "content": "北京和上海今天天气怎么样"}
    gateway.scripted.reply(
        TOOL_PREAMBLE, tool_calls=[(WEATHER_TOOL, BEIJING), (WEATHER_TOOL, SHANGHAI)], usage=CLAUDE_TOOL_USAGE
    )
    with client.responses.stream(model=CLAUDE_MODEL, input=[question], tools=tools) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == TOOL_PREAMBLE == final.output_text
    calls = [item for item in final.output if item.type == "function_call"]
    assert [c.name for c in calls] == ["get_current_weather"] * 2
    assert [json.loads(c.arguments) for c in calls] == [BEIJING, SHANGHAI]
    assert all(c.call_id.startswith("toolu_") for c in calls)
    assert (final.usage.input_tokens, final.usage.output_tokens) == CLAUDE_TOOL_USAGE
    got = gateway.scripted.last_anthropic().body
    assert got["tools"] == ANTHROPIC_TOOLS
    assert [(m["role"], _texts(m["content"])) for m in got["messages"]] == [("user", [question["content"]])]

    results = ["北京：晴，22°C", "上海：小雨，18°C"]
    gateway.scripted.reply(TOOL_RESULT_PREFIX + "；".join(results), usage=CLAUDE_RESULT_USAGE)
    follow_up = client.responses.create(
        model=CLAUDE_MODEL,
        tools=tools,
        input=[
            question,
            *(item.model_dump(exclude_none=True) for item in final.output),
            *({"type": "function_call_output", "call_id": c.call_id, "output": r} for c, r in zip(calls, results)),
        ],
    )
    assert follow_up.output_text == TOOL_RESULT_PREFIX + "；".join(results)
    sent = gateway.scripted.last_anthropic().body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert _tool_result_texts(sent[2]) == results
    assert [b["id"] for b in sent[1]["content"] if b["type"] == "tool_use"] == [c.call_id for c in calls]
    assert [b["tool_use_id"] for b in sent[2]["content"]] == [c.call_id for c in calls]


def test_responses_api_refuses_stored_state_on_claude(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(model=CLAUDE_MODEL, input="x", previous_response_id="resp_123")
    assert err.value.body["param"] == "previous_response_id"


def test_openai_image_data_url_becomes_base64_block(gateway: Gateway, client: openai.OpenAI) -> None:
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "这两张图片有什么"},
                {"type": "image_url", "image_url": {"url": PNG_AS_JPEG_URL, "detail": "low"}},
                {"type": "image_url", "image_url": {"url": GIF_URL}},
            ],
        }
    ]
    gateway.scripted.reply(CLAUDE_TEXT, usage=CLAUDE_TEXT_USAGE)
    completion = client.chat.completions.create(model=CLAUDE_MODEL, messages=messages)
    assert completion.choices[0].message.content == CLAUDE_TEXT

    (user,) = gateway.scripted.last_anthropic().body["messages"]
    assert user["role"] == "user"
    assert user["content"][0] == {"type": "text", "text": "这两张图片有什么"}
    assert user["content"][1:] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/gif", "data": GIF_B64}},
    ]
    assert base64.b64decode(user["content"][1]["source"]["data"]).startswith(b"\x89PNG")


def test_openai_system_in_the_middle_goes_to_top_level(gateway: Gateway, client: openai.OpenAI) -> None:
    first, later = "你是一个乐于助人的助手。", "从现在起请用英文回答。"
    messages = [
        {"role": "system", "content": first},
        {"role": "user", "content": "第一个问题"},
        {"role": "assistant", "content": "第一个回答"},
        {"role": "system", "content": later},
        {"role": "user", "content": "第二个问题"},
    ]
    gateway.scripted.reply(CLAUDE_TEXT, usage=CLAUDE_TEXT_USAGE)
    completion = client.chat.completions.create(model=CLAUDE_MODEL, messages=messages)
    assert completion.choices[0].message.content == CLAUDE_TEXT

    body = gateway.scripted.last_anthropic().body
    system = "\n".join(_texts(body["system"]))
    assert first in system and later in system and system.index(first) < system.index(later), body["system"]
    assert [(m["role"], _texts(m["content"])) for m in body["messages"]] == [
        ("user", ["第一个问题"]),
        ("assistant", ["第一个回答"]),
        ("user", ["第二个问题"]),
    ]


def test_openai_cache_control_and_cached_billing(
    gateway: Gateway, client: openai.OpenAI, alice_key_id: int
) -> None:
    """A `cache_control` on a system part survives the conversion; the upstream's cache reads show as cached
    prompt tokens and are billed at the cached price."""
    gateway.scripted.reply(CLAUDE_TEXT, usage=CLAUDE_TEXT_USAGE, cached=CLAUDE_CACHE_READ)
    raw = client.chat.completions.with_raw_response.create(
        model=CLAUDE_MODEL,
        messages=[{"role": "system", "content": copy.deepcopy(CACHED_SYSTEM)}, {"role": "user", "content": "你好"}],
    )
    request_id = raw.headers.get("x-request-id")
    completion = raw.parse()
    assert completion.choices[0].message.content == CLAUDE_TEXT
    prompt = CLAUDE_TEXT_USAGE[0] + CLAUDE_CACHE_READ
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (prompt, CLAUDE_TEXT_USAGE[1])
    assert completion.usage.prompt_tokens_details.cached_tokens == CLAUDE_CACHE_READ

    assert gateway.scripted.last_anthropic().body["system"] == CACHED_SYSTEM

    row = gateway.log_row(alice_key_id, request_id)
    assert (row["prompt_tokens"], row["cached_tokens"], row["completion_tokens"]) == (
        prompt, CLAUDE_CACHE_READ, CLAUDE_TEXT_USAGE[1])
    cost = claude_cost(CLAUDE_TEXT_USAGE[0], CLAUDE_CACHE_READ, CLAUDE_TEXT_USAGE[1])
    assert cost == 715  # ceil(23 × 3 + 1201 × 0.3 + 19 × 15)
    assert row["cost"] == cost


# ============================================================================ anthropic SDK → anthropic channel (native)


def _native_hello(**more) -> dict:
    """A Messages request saying 你好 under the cached system prompt, with `more` fields."""
    return {
        "model": CLAUDE_MODEL,
        "max_tokens": 256,
        "system": copy.deepcopy(CACHED_SYSTEM),
        "messages": [{"role": "user", "content": "你好"}],
        **more,
    }


def test_native_plain(gateway: Gateway, claude: anthropic.Anthropic, alice_key_id: int) -> None:
    sent = _native_hello(stop_sequences=["\n\nHuman:"], metadata={"user_id": "alice-e2e"})
    gateway.scripted.reply(CLAUDE_TEXT, usage=CLAUDE_TEXT_USAGE, cached=CLAUDE_CACHE_READ)
    raw = claude.messages.with_raw_response.create(**copy.deepcopy(sent))
    request_id = raw.headers.get("x-request-id")
    assert request_id
    msg = raw.parse()
    # The upstream's own message (the converted path would mint `msg_<request id>`).
    _upstream_message_id(msg.id, request_id)
    assert msg.type == "message" and msg.role == "assistant" and msg.model == CLAUDE_MODEL
    assert [(b.type, b.text) for b in msg.content] == [("text", CLAUDE_TEXT)]
    assert msg.stop_reason == "end_turn"
    assert (msg.usage.input_tokens, msg.usage.cache_read_input_tokens, msg.usage.output_tokens) == (
        CLAUDE_TEXT_USAGE[0], CLAUDE_CACHE_READ, CLAUDE_TEXT_USAGE[1])
    assert msg.usage.cache_creation_input_tokens == 0

    rec = gateway.scripted.last_anthropic()
    _no_client_secret(rec)
    assert rec.body == sent, "the client's body was not relayed as it was"

    row = gateway.log_row(alice_key_id, request_id)
    assert row["model"] == CLAUDE_MODEL
    assert (row["prompt_tokens"], row["cached_tokens"], row["completion_tokens"]) == (
        CLAUDE_TEXT_USAGE[0] + CLAUDE_CACHE_READ, CLAUDE_CACHE_READ, CLAUDE_TEXT_USAGE[1])
    assert row["cost"] == claude_cost(CLAUDE_TEXT_USAGE[0], CLAUDE_CACHE_READ, CLAUDE_TEXT_USAGE[1]) == 715
    assert row["stream"] is False and row["status"] == 200, row


def test_native_stream(gateway: Gateway, claude: anthropic.Anthropic, alice_key_id: int) -> None:
    sent = _native_hello()
    gateway.scripted.reply(CLAUDE_TEXT, usage=CLAUDE_TEXT_USAGE, cached=CLAUDE_CACHE_READ)
    with claude.messages.stream(**copy.deepcopy(sent)) as s:
        request_id = s.response.headers.get("x-request-id")
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert request_id
    assert text == CLAUDE_TEXT
    _upstream_message_id(final.id, request_id)
    assert [(b.type, b.text) for b in final.content] == [("text", CLAUDE_TEXT)]
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.cache_read_input_tokens, final.usage.output_tokens) == (
        CLAUDE_TEXT_USAGE[0], CLAUDE_CACHE_READ, CLAUDE_TEXT_USAGE[1])

    rec = gateway.scripted.last_anthropic()
    _no_client_secret(rec)
    assert rec.body == {**sent, "stream": True}

    row = gateway.log_row(alice_key_id, request_id)
    assert (row["prompt_tokens"], row["cached_tokens"], row["completion_tokens"]) == (
        CLAUDE_TEXT_USAGE[0] + CLAUDE_CACHE_READ, CLAUDE_CACHE_READ, CLAUDE_TEXT_USAGE[1])
    assert row["cost"] == claude_cost(CLAUDE_TEXT_USAGE[0], CLAUDE_CACHE_READ, CLAUDE_TEXT_USAGE[1])
    assert row["stream"] is True and row["status"] == 200, row


def test_native_stream_events_arrive_untouched(gateway: Gateway) -> None:
    """Raw SSE: the upstream's own event sequence, `ping` and the empty first `input_json_delta` included
    (a conversion through OpenAI chunks would have neither)."""
    body = {
        "model": CLAUDE_MODEL,
        "max_tokens": 512,
        "stream": True,
        "tools": ANTHROPIC_TOOLS,
        "messages": [{"role": "user", "content": "上海今天天气怎么样？"}],
    }
    headers = {"x-api-key": ALICE_KEY, "anthropic-version": "2023-06-01"}
    gateway.scripted.reply(TOOL_PREAMBLE, tool_calls=[(WEATHER_TOOL, SHANGHAI)], usage=CLAUDE_TOOL_USAGE)
    events: list[tuple[str, dict]] = []
    with httpx.stream("POST", f"{gateway.base_url}/v1/messages", json=body, headers=headers, timeout=20.0) as resp:
        assert resp.status_code == 200, resp.read()
        assert resp.headers["content-type"].startswith("text/event-stream")
        request_id = resp.headers["x-request-id"]
        name = None
        for line in resp.iter_lines():
            if line.startswith("event:"):
                name = line[len("event:"):].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line[len("data:"):])))
                name = None
    assert all(n == d["type"] for n, d in events), events
    assert [n for n, _ in events] == [
        "message_start", "ping",
        "content_block_start", *["content_block_delta"] * 3, "content_block_stop",
        "content_block_start", *["content_block_delta"] * 4, "content_block_stop",
        "message_delta", "message_stop",
    ]
    _upstream_message_id(events[0][1]["message"]["id"], request_id)
    assert events[7][1]["content_block"]["type"] == "tool_use"
    partials = [d["delta"]["partial_json"] for _, d in events if d.get("delta", {}).get("type") == "input_json_delta"]
    assert partials[0] == "" and json.loads("".join(partials)) == SHANGHAI
    assert events[-2][1] == {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                             "usage": {"output_tokens": CLAUDE_TOOL_USAGE[1]}}
    assert gateway.scripted.last_anthropic().body == body, "the client's body was not relayed as it was"


def test_native_tool_use_round_trip(gateway: Gateway, claude: anthropic.Anthropic) -> None:
    question = {"role": "user", "content": "北京今天天气怎么样？"}
    gateway.scripted.reply(TOOL_PREAMBLE, tool_calls=[(WEATHER_TOOL, BEIJING)], usage=CLAUDE_TOOL_USAGE)
    first = claude.messages.create(
        model=CLAUDE_MODEL, max_tokens=512, tools=ANTHROPIC_TOOLS, tool_choice={"type": "auto"}, messages=[question]
    )
    assert first.stop_reason == "tool_use"
    assert [b.type for b in first.content] == ["text", "tool_use"]
    assert first.content[0].text == TOOL_PREAMBLE
    use = first.content[1]
    assert use.id.startswith("toolu_") and use.name == "get_current_weather" and use.input == BEIJING
    assert (first.usage.input_tokens, first.usage.output_tokens) == CLAUDE_TOOL_USAGE
    got = gateway.scripted.last_anthropic().body
    assert got["tools"] == ANTHROPIC_TOOLS
    assert got["messages"] == [question]

    result = "晴，22°C，东南风 2 级"
    gateway.scripted.reply(TOOL_RESULT_PREFIX + result, usage=CLAUDE_RESULT_USAGE)
    messages = [
        question,
        {"role": "assistant", "content": first.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": result}]},
    ]
    with claude.messages.stream(model=CLAUDE_MODEL, max_tokens=512, tools=ANTHROPIC_TOOLS, messages=messages) as s:
        final = s.get_final_message()
    assert final.stop_reason == "end_turn"
    assert [(b.type, b.text) for b in final.content] == [("text", TOOL_RESULT_PREFIX + result)]
    assert (final.usage.input_tokens, final.usage.output_tokens) == CLAUDE_RESULT_USAGE

    got = gateway.scripted.last_anthropic().body["messages"]
    assert [m["role"] for m in got] == ["user", "assistant", "user"]
    assert [(b["type"], b.get("id"), b.get("input")) for b in got[1]["content"]] == [
        ("text", None, None),
        ("tool_use", use.id, BEIJING),
    ]
    assert got[2]["content"] == [{"type": "tool_result", "tool_use_id": use.id, "content": result}]


def test_native_wrong_key_is_authentication_error(gateway: Gateway) -> None:
    before = len(gateway.scripted.anthropic_requests())
    bad = gateway.anthropic("sk-wrong0000000000000000000000000000000000000000000")
    with pytest.raises(anthropic.AuthenticationError) as info:
        bad.messages.create(model=CLAUDE_MODEL, max_tokens=64, messages=[{"role": "user", "content": "你好"}])
    err = info.value
    assert err.status_code == 401
    assert isinstance(err.body, dict) and err.body.get("type") == "error", err.body
    assert err.type == "authentication_error"
    assert len(gateway.scripted.anthropic_requests()) == before


def test_native_unknown_model_is_not_found(gateway: Gateway, claude: anthropic.Anthropic) -> None:
    before = len(gateway.scripted.anthropic_requests())
    with pytest.raises(anthropic.NotFoundError) as info:
        claude.messages.create(model="claude-no-such-model", max_tokens=64,
                               messages=[{"role": "user", "content": "你好"}])
    assert info.value.status_code == 404
    assert info.value.body.get("type") == "error" and info.value.type == "not_found_error", info.value.body
    assert len(gateway.scripted.anthropic_requests()) == before


def test_native_missing_max_tokens_is_invalid_request(gateway: Gateway) -> None:
    """The SDK enforces `max_tokens` itself, so this one goes raw."""
    before = len(gateway.scripted.anthropic_requests())
    resp = httpx.post(
        f"{gateway.base_url}/v1/messages",
        headers={"x-api-key": ALICE_KEY, "anthropic-version": "2023-06-01"},
        json={"model": CLAUDE_MODEL, "messages": [{"role": "user", "content": "你好"}]},
        timeout=10.0,
    )
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["type"] == "error", body
    assert body["error"]["type"] == "invalid_request_error", body
    assert "max_tokens" in body["error"]["message"], body
    assert len(gateway.scripted.anthropic_requests()) == before


def test_native_upstream_refusal_reaches_the_client(gateway: Gateway, claude: anthropic.Anthropic) -> None:
    """Relayed natively, a body Anthropic refuses (two user turns in a row) comes back as the client's own 400."""
    with pytest.raises(anthropic.BadRequestError) as info:
        claude.messages.create(
            model=CLAUDE_MODEL, max_tokens=64,
            messages=[{"role": "user", "content": "你好"}, {"role": "user", "content": "在吗"}],
        )
    assert info.value.status_code == 400
    assert info.value.type == "invalid_request_error", info.value.body
    assert "alternate" in (info.value.api_message or ""), info.value.body


# ============================================================================ anthropic SDK → OpenAI-kind channels


def test_messages_to_openai_channel_plain(gateway: Gateway, claude: anthropic.Anthropic, alice_key_id: int) -> None:
    raw = claude.messages.with_raw_response.create(
        model="gpt-4o", max_tokens=128, system="简短回答。", messages=[{"role": "user", "content": "你好"}]
    )
    request_id = raw.headers.get("x-request-id")
    msg = raw.parse()
    assert msg.type == "message" and msg.role == "assistant" and msg.model == "gpt-4o"
    assert msg.id.startswith("msg_")
    assert [(b.type, b.text) for b in msg.content] == [("text", MOCK_TEXT)]
    assert msg.stop_reason == "end_turn"
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == MOCK_USAGE

    row = gateway.log_row(alice_key_id, request_id)
    assert (row["model"], row["prompt_tokens"], row["completion_tokens"]) == ("gpt-4o", *MOCK_USAGE)
    assert row["cost"] == openai_cost("gpt-4o", *MOCK_USAGE) == 143
    assert row["stream"] is False and row["status"] == 200, row


def test_messages_to_openai_channel_stream(gateway: Gateway, claude: anthropic.Anthropic, alice_key_id: int) -> None:
    kinds = []
    with claude.messages.stream(model="gpt-4o", max_tokens=128, messages=[{"role": "user", "content": "你好"}]) as s:
        request_id = s.response.headers.get("x-request-id")
        for event in s:
            kinds.append(event.type)
        final = s.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop", kinds
    assert {"content_block_start", "content_block_delta", "content_block_stop", "message_delta"} <= set(kinds)
    assert [(b.type, b.text) for b in final.content] == [("text", MOCK_TEXT)]
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == MOCK_USAGE

    row = gateway.log_row(alice_key_id, request_id)
    assert (row["prompt_tokens"], row["completion_tokens"]) == MOCK_USAGE
    assert row["cost"] == openai_cost("gpt-4o", *MOCK_USAGE)
    assert row["stream"] is True and row["status"] == 200, row


def test_messages_to_openai_channel_tool_use_stream(gateway: Gateway, claude: anthropic.Anthropic) -> None:
    """`gpt-4.1` (OpenAI format, scripted mock, argument fragments interleaved across calls): the streamed tool calls
    come back as `tool_use` blocks."""
    gateway.scripted.reply(tool_calls=[(WEATHER_TOOL, BEIJING), (WEATHER_TOOL, SHANGHAI)], usage=TOOL_USAGE)
    with claude.messages.stream(
        model="gpt-4.1", max_tokens=256, tools=ANTHROPIC_TOOLS,
        messages=[{"role": "user", "content": "北京和上海今天天气怎么样"}],
    ) as s:
        final = s.get_final_message()
    assert final.stop_reason == "tool_use"
    uses = [b for b in final.content if b.type == "tool_use"]
    assert [(u.name, u.input) for u in uses] == [("get_current_weather", BEIJING), ("get_current_weather", SHANGHAI)]
    assert all(u.id.startswith("call_") for u in uses)
    assert (final.usage.input_tokens, final.usage.output_tokens) == TOOL_USAGE

    got = gateway.scripted.last_chat().body
    assert got["tools"] == OPENAI_TOOLS
    assert got["messages"] == [{"role": "user", "content": "北京和上海今天天气怎么样"}]
