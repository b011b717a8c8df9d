"""The admin and self-service API checked against its own OpenAPI document (`GET /api/openapi.json`) by
schemathesis: thousands of generated requests, valid and invalid, must never get a 5xx, and every answer must have a
documented status, content type and body shape.

It runs on a gateway of its own (it creates, changes and deletes whatever it finds), with a channel on the Rust
mock upstream so that the playground can answer, an admin token for `/api/admin` and a user session (cookie plus
CSRF token) for the self-service routes. The seed is fixed so a failure reproduces.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import ExtraGateway, _tail, _toml_str

ADMIN = "tg-admin-schema-0123456789abcdefghijklmnopqrstuv"
SEED = "20261202"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


@pytest.fixture()
def fuzz_gateway(rust_upstream: str, tmp_path: Path):
    config = "\n".join(
        [
            "[[channels]]",
            'name = "mock"',
            'kind = "openai"',
            f"base_url = {_toml_str(rust_upstream)}",
            'keys = ["upstream-secret-rust"]',
            'models = ["gpt-4o"]',
            "",
            "[[prices]]",
            'model = "gpt-4o"',
            "input_per_million = 2500000",
            "output_per_million = 10000000",
        ]
    )
    gw = ExtraGateway(
        tmp_path,
        config + "\n",
        [
            "--admin-token", ADMIN,
            # Generated requests include bad credentials on purpose: do not lock the client out for them.
            "--auth-failure-limit", "1000000",
            # Generated channels point anywhere: fail fast.
            "--upstream-connect-timeout", "1",
            "--upstream-first-byte-timeout", "3",
        ],
    )
    yield gw.base_url, gw.log_path
    gw.stop()


def test_the_api_keeps_to_its_openapi_document(fuzz_gateway) -> None:
    base, log_path = fuzz_gateway
    admin = {"Authorization": f"Bearer {ADMIN}"}
    resp = httpx.post(
        base + "/api/admin/users",
        headers=admin,
        json={"name": "fuzzer", "password": "fuzzer-password", "balance": 50_000_000},
    )
    assert resp.status_code == 201, resp.text
    login = httpx.post(base + "/api/auth/login", json={"username": "fuzzer", "password": "fuzzer-password"})
    assert login.status_code == 200, login.text
    cookie = login.headers["set-cookie"].split(";")[0]
    csrf = login.json()["csrf_token"]

    schemathesis = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [
            str(schemathesis), "run", f"{base}/api/openapi.json",
            "--checks", CHECKS,
            "--max-examples", "10",
            "--seed", SEED,
            "--request-timeout", "10",
            # Bearer for /api/admin (it wins over the cookie there), the session for /api/*.
            "-H", f"Authorization: Bearer {ADMIN}",
            "-H", f"Cookie: {cookie}",
            "-H", f"X-CSRF-Token: {csrf}",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    report = result.stdout[-12000:] + result.stderr[-4000:]
    assert result.returncode == 0, f"schemathesis found problems:\n{report}\ngateway log:\n{_tail(log_path)}"
    assert "generated" in result.stdout and "passed" in result.stdout, report
