"""The wire itself, below the SDKs: control API, Key Vault's challenge, error envelope and timestamp format."""

import json
import ssl
import urllib.error
import urllib.request
import uuid

from conftest import KEYVAULT_TLS_URL, KMS_URL, TLS_CA

API = "api-version=2025-07-01"
SEED_CHALLENGE = ('Bearer authorization="https://login.microsoftonline.com/parlel-tenant-id", '
                  'resource="https://vault.azure.net"')
TLS = ssl.create_default_context(cafile=TLS_CA)


def call(method, url, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10, context=TLS if url.startswith("https") else None) as resp:
            raw = resp.read()
            return resp.status, resp.headers, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, e.headers, json.loads(raw) if raw else None


BEARER = {"Authorization": "Bearer anything"}


def test_health_on_both_services():
    status, _, body = call("GET", f"{KMS_URL}/_parlel/health")
    assert status == 200 and body["status"] == "ok" and body["service"] == "kms"
    status, _, body = call("GET", f"{KEYVAULT_TLS_URL}/_parlel/health")
    assert status == 200 and body["status"] == "ok" and body["service"] == "keyvault"
    for field in ("secrets", "versions", "deleted"):
        assert isinstance(body[field], int)


def test_keyvault_challenge_without_a_token():
    status, headers, _ = call("GET", f"{KEYVAULT_TLS_URL}/secrets/anything?{API}")
    assert status == 401
    assert headers.get("WWW-Authenticate") == SEED_CHALLENGE


def test_keyvault_wire_format():
    name = f"wire-{uuid.uuid4().hex[:10]}"
    status, _, body = call("PUT", f"{KEYVAULT_TLS_URL}/secrets/{name}?{API}", {"value": "v", "contentType": "c"},
                           BEARER)
    assert status == 200, body
    assert body["value"] == "v" and body["contentType"] == "c"
    attrs = body["attributes"]
    assert isinstance(attrs["created"], int) and isinstance(attrs["updated"], int)  # epoch seconds
    assert attrs["recoveryLevel"] == "Recoverable+Purgeable"

    status, _, body = call("GET", f"{KEYVAULT_TLS_URL}/secrets/{name}-missing?{API}", headers=BEARER)
    assert status == 404
    assert body["error"]["code"] == "SecretNotFound"
    assert body["error"]["message"] == f"A secret with (name/id) {name}-missing was not found in this key vault."

    status, _, body = call("PUT", f"{KEYVAULT_TLS_URL}/secrets/{name}?{API}", {"contentType": "no value"}, BEARER)
    assert status == 400 and body["error"]["code"] == "BadParameter"


def test_keyvault_method_not_allowed():
    status, _, body = call("PUT", f"{KEYVAULT_TLS_URL}/deletedsecrets/x?{API}", {"value": "v"}, BEARER)
    assert status == 405
    assert body["error"]["code"] == "MethodNotAllowed"


def test_kms_error_envelope():
    req = urllib.request.Request(
        f"{KMS_URL}/", method="POST", data=json.dumps({"KeyId": str(uuid.uuid4())}).encode(),
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.DescribeKey"})
    try:
        urllib.request.urlopen(req, timeout=10)
        raise AssertionError("DescribeKey of an unknown key succeeded")
    except urllib.error.HTTPError as e:
        assert e.code == 400
        body = json.loads(e.read())
        assert body["__type"].rsplit("#", 1)[-1] == "NotFoundException"
        assert "message" in body
