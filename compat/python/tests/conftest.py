"""Shared fixtures: where the running trent is, and SDK clients pointed at it.

The endpoints come from the environment (set by .ci/run) and default to trent's default ports:
  TRENT_KMS_URL            http://127.0.0.1:4730
  TRENT_KEYVAULT_TLS_URL   https://localhost:4595
  TRENT_TLS_CA             the CA PEM trent wrote (--tls-ca-out); default: trent-ca.pem in the temp dir
"""

import os
import tempfile
import time
import uuid

import boto3
import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.keyvault.keys import KeyClient
from azure.keyvault.secrets import SecretClient
from botocore.config import Config

KMS_URL = os.environ.get("TRENT_KMS_URL", "http://127.0.0.1:4730")
KEYVAULT_TLS_URL = os.environ.get("TRENT_KEYVAULT_TLS_URL", "https://localhost:4595")
TLS_CA = os.environ.get("TRENT_TLS_CA", os.path.join(tempfile.gettempdir(), "trent-ca.pem"))
ACCOUNT = "000000000000"


def kms_client(region="us-east-1", **config):
    return boto3.client(
        "kms",
        endpoint_url=KMS_URL,
        region_name=region,
        aws_access_key_id="parlel",
        aws_secret_access_key="parlel",
        config=Config(retries={"max_attempts": 1}, **config),
    )


@pytest.fixture(scope="session")
def kms():
    return kms_client()


@pytest.fixture(scope="session")
def kms_eu():
    return kms_client("eu-west-1")


@pytest.fixture(scope="session")
def kms_raw():
    """A client that skips botocore's client-side validation, so the server's own validation answers."""
    return kms_client(parameter_validation=False)


@pytest.fixture()
def key_id(kms):
    return kms.create_key(Description="compat symmetric key")["KeyMetadata"]["KeyId"]


class FakeCredential:
    """Any token works: trent accepts every non-empty bearer token."""

    def get_token(self, *scopes, **kwargs):
        return AccessToken("parlel-fake-token", int(time.time()) + 3600)

    def get_token_info(self, *scopes, options=None):
        return AccessTokenInfo("parlel-fake-token", int(time.time()) + 3600)


def secret_client(vault_url=KEYVAULT_TLS_URL, **kwargs):
    return SecretClient(vault_url, FakeCredential(), connection_verify=TLS_CA, **kwargs)


@pytest.fixture(scope="session")
def secrets():
    # A bare host's challenge names the synthetic resource https://vault.azure.net, hence no resource check
    # (the JS SDK's disableChallengeResourceVerification); the vault-host test below keeps the check on.
    return secret_client(verify_challenge_resource=False)


def key_client(vault_url=KEYVAULT_TLS_URL, **kwargs):
    return KeyClient(vault_url, FakeCredential(), connection_verify=TLS_CA, **kwargs)


@pytest.fixture(scope="session")
def keys():
    # the bare host's challenge names https://vault.azure.net, as for `secrets` above
    return key_client(verify_challenge_resource=False)


@pytest.fixture()
def unique():
    """A name no earlier run against the same server used."""
    return lambda prefix="s": f"{prefix}-{uuid.uuid4().hex[:12]}"
