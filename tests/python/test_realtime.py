"""The Realtime API through the gateway with the official `openai` SDK (`client.realtime.connect`, GA events): a text
conversation item and `response.create`, the `response.output_text.delta`s and `response.done`, and the bill —
one row per response at the model's prices plus the session's own row (cost 0) — in the admin logs API."""

from __future__ import annotations

import time

import openai
import pytest

from conftest import POLL_S, PRICES, Gateway

MODEL = "gpt-realtime"
# The Rust mock's default answer and usage.
DEFAULT_TEXT = "Hello there, how may I assist you today?"
PROMPT_TOKENS, COMPLETION_TOKENS = 9, 12


def _rows(gateway: Gateway, key_id: int, want: int) -> list[dict]:
    deadline = time.monotonic() + POLL_S
    while True:
        with gateway.admin() as admin:
            resp = admin.get("/logs", params={"key_id": key_id, "limit": 100})
        assert resp.status_code == 200, resp.text[:300]
        rows = [r for r in resp.json()["data"] if r.get("model") == MODEL]
        if len(rows) >= want or time.monotonic() >= deadline:
            return rows
        time.sleep(0.1)


def test_a_text_conversation_through_the_sdk_is_relayed_and_billed(gateway: Gateway, client: openai.OpenAI) -> None:
    key_id = gateway.key_id("alice-key")
    text, done = "", None
    with client.realtime.connect(model=MODEL) as conn:
        conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        conn.conversation.item.create(
            item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Say hello"}]}
        )
        conn.response.create()
        for event in conn:
            if event.type == "error":
                pytest.fail(f"error event: {event}")
            if event.type == "response.output_text.delta":
                text += event.delta
            if event.type == "response.done":
                done = event
                break
    assert text == DEFAULT_TEXT
    assert done is not None and done.response.usage is not None
    assert (done.response.usage.input_tokens, done.response.usage.output_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)

    inp, out = PRICES[MODEL]
    cost = -(-(PROMPT_TOKENS * inp + COMPLETION_TOKENS * out) // 1_000_000)
    rows = _rows(gateway, key_id, 2)
    responses = [r for r in rows if r["request_id"].endswith(".1")]
    sessions = [r for r in rows if "realtime session" in (r.get("error") or "")]
    assert len(responses) == 1, rows
    assert len(sessions) == 1, rows
    (row,) = responses
    assert (row["prompt_tokens"], row["completion_tokens"], row["cost"], row["status"]) == (
        PROMPT_TOKENS,
        COMPLETION_TOKENS,
        cost,
        200,
    )
    (session,) = sessions
    assert session["request_id"] + ".1" == row["request_id"]
    assert (session["cost"], session["status"], session["completion_tokens"]) == (0, 200, COMPLETION_TOKENS)


def test_a_bad_key_is_refused_before_the_upgrade(gateway: Gateway) -> None:
    bad = gateway.client("sk-not-a-key")
    with pytest.raises(Exception) as refused:
        with bad.realtime.connect(model=MODEL) as conn:
            conn.recv()
    assert "401" in str(refused.value), refused.value
