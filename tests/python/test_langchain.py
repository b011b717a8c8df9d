"""LangChain's `ChatOpenAI` pointed at Tollgate by its base URL and a key: a tool call and its result round trip,
plain and streamed answers, and the bill in the log — what an agent framework does against a gateway."""

from __future__ import annotations

import json

from langchain_core.messages import HumanMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

from conftest import ALICE_KEY, Gateway
from scripted_mock import BEIJING, TEXT_USAGE, TOOL_USAGE, VISION_TEXT, WEATHER_TOOL


@tool
def get_current_weather(location: str, unit: str = "celsius") -> str:
    """Get the current weather in a given location."""
    return f"Sunny, 23 degrees {unit} in {location}"


def _llm(gateway: Gateway, **kw) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=f"{gateway.base_url}/v1", api_key=ALICE_KEY, model="gpt-4.1", max_retries=0, timeout=20, **kw
    )


def test_chat_openai_calls_a_tool_and_reads_its_result(gateway: Gateway) -> None:
    llm = _llm(gateway)
    question = HumanMessage("北京今天天气怎么样")
    gateway.scripted.reply(tool_calls=[(WEATHER_TOOL, BEIJING)], usage=TOOL_USAGE)
    ai = llm.bind_tools([get_current_weather]).invoke([question])
    assert len(ai.tool_calls) == 1, ai
    call = ai.tool_calls[0]
    assert call["name"] == "get_current_weather"
    assert call["args"] == {"location": "Beijing", "unit": "celsius"}
    sent = gateway.scripted.last_chat().body
    assert sent["tools"][0]["function"]["name"] == "get_current_weather"
    assert sent["messages"] == [{"role": "user", "content": "北京今天天气怎么样"}]

    # The tool runs locally; its result goes back through the gateway in the next turn.
    result = get_current_weather.invoke(call)
    gateway.scripted.reply(VISION_TEXT, usage=TEXT_USAGE)
    final = llm.invoke([question, ai, result])
    assert final.content == VISION_TEXT
    sent = gateway.scripted.last_chat().body
    tool_turn = sent["messages"][-1]
    assert tool_turn["role"] == "tool"
    assert tool_turn["tool_call_id"] == call["id"]
    assert "Sunny" in tool_turn["content"]
    assert json.loads(sent["messages"][1]["tool_calls"][0]["function"]["arguments"]) == call["args"]
    # Token usage comes through for LangChain's callbacks.
    assert final.usage_metadata and final.usage_metadata["input_tokens"] > 0


def test_chat_openai_streams(gateway: Gateway) -> None:
    llm = _llm(gateway, stream_usage=True)
    gateway.scripted.reply(VISION_TEXT, usage=TEXT_USAGE)
    chunks = list(llm.stream("hello"))
    text = "".join(c.content for c in chunks if isinstance(c.content, str))
    assert text == VISION_TEXT
    usage = [c.usage_metadata for c in chunks if c.usage_metadata]
    assert usage and usage[-1]["output_tokens"] > 0
