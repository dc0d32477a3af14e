"""The official azure-keyvault-keys samples in ../samples (changed only in their connection), run in this process
against trent, each in a fresh vault of its own (`https://<unique>.localhost:port`, the host pinned to 127.0.0.1
here, challenge-resource verification on), since the samples use fixed key names."""

import os
import re
import runpy
import socket
import sys
from urllib.parse import urlparse

import pytest
from azure.keyvault.keys import KeyType

from conftest import KEYVAULT_TLS_URL, key_client

SAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "samples")


@pytest.fixture()
def sample_vault(monkeypatch, unique):
    host = f"{unique('sample')}.localhost"
    real = socket.getaddrinfo

    def pinned(name, *args, **kwargs):
        return real("127.0.0.1" if name == host else name, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", pinned)
    vault_url = f"https://{host}:{urlparse(KEYVAULT_TLS_URL).port or 443}"
    monkeypatch.setenv("VAULT_URL", vault_url)
    monkeypatch.syspath_prepend(SAMPLES)
    return vault_url


def run_sample(name, capsys):
    runpy.run_path(os.path.join(SAMPLES, name), run_name="__main__")
    return capsys.readouterr().out


def test_hello_world(sample_vault, capsys):
    out = run_sample("hello_world.py", capsys)
    assert "caught an error" not in out, out
    # enums print as e.g. 'KeyType.RSA' or 'JsonWebKeyType.RSA', depending on the Python version
    assert re.search(r"RSA Key with name 'rsaKeyName' created of type '(\w+\.)?RSA'\.", out), out
    assert re.search(r"EC Key with name 'ECKeyName' created of type '(\w+\.)?EC'\.", out), out
    assert "Key with name 'rsaKeyName' was found." in out
    assert "Key with name 'ECKeyName' was updated to expire on '" in out
    assert "Deleted key 'rsaKeyName'" in out
    client = key_client(sample_vault)
    deleted = {d.name: d for d in client.list_deleted_keys()}
    assert set(deleted) == {"rsaKeyName", "ECKeyName"}, out
    ec_key = client.get_deleted_key("ECKeyName")
    assert ec_key.key_type == KeyType.ec and ec_key.properties.enabled is False
    assert ec_key.properties.expires_on is not None
    assert client.get_deleted_key("rsaKeyName").key_operations == [
        "encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"
    ]


def test_key_rotation(sample_vault, capsys):
    out = run_sample("key_rotation.py", capsys)
    assert re.search(r"Created a new key rotation policy: (\w+\.)?(Rotate|ROTATE) after P2M", out), out
    assert re.search(r"Current rotation policy: (\w+\.)?(Rotate|ROTATE) after P2M", out), out
    assert re.search(r"New policy action: (\w+\.)?(Notify|NOTIFY) P10D before expiry", out), out
    assert "Rotated the key on-demand; new version is " in out
    assert "Deleted the key" in out
    created = out.split("Created a key; new version is ")[1].split()[0]
    rotated = out.split("Rotated the key on-demand; new version is ")[1].split()[0]
    assert created != rotated
    deleted = key_client(sample_vault).get_deleted_key("rotation-sample-key")
    assert deleted.properties.version == rotated
    # the rotated version expires after the policy's P90D
    assert (deleted.properties.expires_on - deleted.properties.created_on).days == 90
    assert sys.modules.get("trent_connection") is not None
