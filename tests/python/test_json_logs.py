"""Structured logs: with `--log-format json` every line on stderr is one JSON object, a request's lines carry its
`request_id` (the `x-request-id` the client got), and no upstream secret is ever written."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from conftest import ExtraGateway

KEY = "sk-json0000000000000000000000000000000000000000000001"
UPSTREAM_SECRET = "upstream-secret-never-logged-7f3a"


def test_json_lines_carry_the_request_id_and_no_secret(tmp_path: Path) -> None:
    # An upstream that refuses connections: the failed attempt is logged as a warning inside the request.
    config = f"""
[[channels]]
name = "dead"
kind = "openai"
base_url = "http://127.0.0.1:9"
keys = ["{UPSTREAM_SECRET}"]
models = ["gpt-4o"]

[[users]]
name = "json"
balance = 10000000

[[keys]]
name = "json-key"
user = "json"
key = "{KEY}"

[[prices]]
model = "gpt-4o"
input_per_million = 1000000
output_per_million = 1000000
"""
    gw = ExtraGateway(tmp_path, config, ["--log-format", "json", "--admin-token", "tg-admin-json-logs-test-token"])
    try:
        resp = httpx.post(
            gw.base_url + "/v1/chat/completions",
            headers={"Authorization": f"Bearer {KEY}"},
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
            timeout=30,
        )
        assert resp.status_code == 502, resp.text
        request_id = resp.headers["x-request-id"]
    finally:
        assert gw.stop() == 0

    lines = [line for line in gw.log_path.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line parses
    assert all("level" in r and "timestamp" in r for r in records)
    mine = [r for r in records if (r.get("span") or {}).get("request_id") == request_id]
    assert mine, f"no line carries {request_id}: {lines}"
    assert any(r["level"] == "WARN" for r in mine)
    text = gw.log_path.read_text()
    assert UPSTREAM_SECRET not in text
    assert KEY not in text
