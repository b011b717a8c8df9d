"""The mock's Vertex AI, checked against Google's and Anthropic's official clients, so the Rust tests of `vertex`
channels run against a mock that is right: `google-auth` signs the service-account assertion (RS256) that the mock's
token endpoint verifies, and `AnthropicVertex` calls `rawPredict` / `streamRawPredict` with the token it got. The
test account's key is the one the Rust tests use (`crates/mock-upstream/src/vertex/test-key.pem`).
"""

from __future__ import annotations

import httpx
import pytest
from anthropic import AnthropicVertex
from google.auth.exceptions import RefreshError
from google.oauth2 import service_account

from conftest import REPO_ROOT, Gateway

MODEL = "claude-3-5-sonnet@20240620"
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]


def account(token_uri: str, email: str = "tollgate-test@mock-project.iam.gserviceaccount.com") -> dict:
    key = (REPO_ROOT / "crates/mock-upstream/src/vertex/test-key.pem").read_text()
    return {"type": "service_account", "project_id": "mock-project", "private_key_id": "0123456789abcdef",
            "private_key": key, "client_email": email, "client_id": "1", "token_uri": token_uri}


def client(base: str, info: dict) -> AnthropicVertex:
    creds = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
    return AnthropicVertex(region="europe-west4", project_id="mock-project", credentials=creds,
                           base_url=f"{base}/v1", max_retries=0)


def test_official_clients_get_a_token_and_an_answer(gateway: Gateway) -> None:
    """google-auth's assertion is accepted, and AnthropicVertex's plain and streamed calls are answered."""
    base = gateway.scripted.base_url
    vertex = client(base, account(f"{base}/token"))
    message = vertex.messages.create(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "hi"}])
    assert message.content[0].text and message.usage.output_tokens > 0
    with vertex.messages.stream(model=MODEL, max_tokens=64,
                                messages=[{"role": "user", "content": "hi"}]) as stream:
        assert "".join(stream.text_stream) == message.content[0].text
    calls = [r for r in gateway.scripted.requests() if "/publishers/" in r.path]
    assert [c.path.rsplit(":", 1)[1] for c in calls[-2:]] == ["rawPredict", "streamRawPredict"]
    assert all(c.headers.get("authorization", "").startswith("Bearer ya29.") for c in calls[-2:])


def test_an_assertion_for_another_account_is_refused(gateway: Gateway) -> None:
    """The token endpoint checks the assertion's issuer against the key that signed it."""
    base = gateway.scripted.base_url
    forged = client(base, account(f"{base}/token", email="someone-else@mock-project.iam.gserviceaccount.com"))
    with pytest.raises(RefreshError):
        forged.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "hi"}])


def test_a_call_without_an_issued_token_is_unauthenticated(gateway: Gateway) -> None:
    """The publisher routes take only tokens the token endpoint issued."""
    url = (f"{gateway.scripted.base_url}/v1/projects/mock-project/locations/europe-west4/publishers/anthropic/"
           f"models/{MODEL}:rawPredict")
    resp = httpx.post(url, headers={"Authorization": "Bearer ya29.made-up"}, json={})
    assert resp.status_code == 401
    assert resp.json()["error"]["status"] == "UNAUTHENTICATED"
