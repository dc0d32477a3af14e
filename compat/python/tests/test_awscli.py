"""The AWS CLI (from the venv) against trent's KMS: create-key, encrypt, decrypt."""

import base64
import json
import os
import shutil
import subprocess

import pytest

from conftest import KMS_URL

AWS = shutil.which("aws")
pytestmark = [pytest.mark.awscli, pytest.mark.skipif(AWS is None, reason="the AWS CLI is not installed")]


def aws(*args):
    env = dict(os.environ, AWS_ACCESS_KEY_ID="parlel", AWS_SECRET_ACCESS_KEY="parlel", AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_PAGER="")
    out = subprocess.run([AWS, "--endpoint-url", KMS_URL, "--output", "json", "kms", *args], env=env,
                         capture_output=True, text=True, timeout=60)
    return out


def test_cli_round_trip(tmp_path):
    created = aws("create-key", "--description", "from the cli")
    assert created.returncode == 0, created.stderr
    key_id = json.loads(created.stdout)["KeyMetadata"]["KeyId"]
    plain = tmp_path / "plain"
    plain.write_bytes(b"cli secret")
    enc = aws("encrypt", "--key-id", key_id, "--plaintext", f"fileb://{plain}")
    assert enc.returncode == 0, enc.stderr
    blob = tmp_path / "blob"
    blob.write_bytes(base64.b64decode(json.loads(enc.stdout)["CiphertextBlob"]))
    dec = aws("decrypt", "--ciphertext-blob", f"fileb://{blob}")
    assert dec.returncode == 0, dec.stderr
    assert base64.b64decode(json.loads(dec.stdout)["Plaintext"]) == b"cli secret"


def test_cli_error_exit_code():
    out = aws("describe-key", "--key-id", "00000000-0000-0000-0000-000000000000")
    assert out.returncode != 0
    assert "NotFoundException" in out.stderr
