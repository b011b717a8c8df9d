"""Manual check that the mock upstream's Bedrock runtime is Bedrock as the official SDK sees it (decision 0017).

boto3 signs with its own SigV4 code and parses the event stream with its own decoder, so this checks the mock's
signature verification and its frames against AWS's client, independently of Tollgate's signer and decoder.
Not part of CI (boto3 and its dependencies are not pinned in tests/python/requirements.txt). Last passed with
boto3 / botocore 1.44.18 (2026-12-07). Run:

    python3 -m venv /tmp/bedrock-venv && /tmp/bedrock-venv/bin/pip install boto3
    target/debug/mock-upstream --accept-key 'AKIDBOTO|boto-secret-key|us-east-1' &   # prints its URL
    /tmp/bedrock-venv/bin/python scripts/bedrock_boto3_check.py http://127.0.0.1:PORT

It exits non-zero on the first thing that does not hold: a good key is accepted for `invoke_model` and
`invoke_model_with_response_stream` (the chunks decode to Anthropic events ending in `message_stop` with
`amazon-bedrock-invocationMetrics`); a wrong secret is refused with `InvalidSignatureException`, an unknown key id
with `UnrecognizedClientException`; a body with `model` is a `ValidationException`.
"""

import json
import sys

import boto3
from botocore.exceptions import ClientError

MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
BODY = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50,
        "messages": [{"role": "user", "content": "hi"}]}


def client(url, key_id, secret):
    return boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=url,
                        aws_access_key_id=key_id, aws_secret_access_key=secret)


def refused(call, error_code):
    try:
        call()
    except ClientError as e:
        got = e.response["Error"]["Code"]
        assert got == error_code, f"expected {error_code}, got {got}: {e}"
        print(f"refused as expected: {got}")
        return
    raise AssertionError(f"expected {error_code}, the call passed")


def main(url):
    good = client(url, "AKIDBOTO", "boto-secret-key")
    answer = json.loads(good.invoke_model(modelId=MODEL, body=json.dumps(BODY))["body"].read())
    assert answer["type"] == "message" and answer["content"][0]["type"] == "text", answer
    print("invoke_model:", answer["content"][0]["text"][:60])

    stream = good.invoke_model_with_response_stream(modelId=MODEL, body=json.dumps(BODY))
    events = [json.loads(e["chunk"]["bytes"]) for e in stream["body"]]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop", kinds
    assert "amazon-bedrock-invocationMetrics" in events[-1], events[-1]
    text = "".join(e["delta"].get("text", "") for e in events if e["type"] == "content_block_delta")
    print(f"invoke_model_with_response_stream: {len(events)} events, text {text[:60]!r}")

    wrong = client(url, "AKIDBOTO", "not-the-secret")
    refused(lambda: wrong.invoke_model(modelId=MODEL, body=json.dumps(BODY)), "InvalidSignatureException")
    unknown = client(url, "AKIDOTHER", "boto-secret-key")
    refused(lambda: unknown.invoke_model(modelId=MODEL, body=json.dumps(BODY)), "UnrecognizedClientException")
    with_model = dict(BODY, model=MODEL)
    refused(lambda: good.invoke_model(modelId=MODEL, body=json.dumps(with_model)), "ValidationException")
    print("ok")


if __name__ == "__main__":
    main(sys.argv[1])
