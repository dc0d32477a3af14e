"""azure-keyvault-secrets (its default api-version) against trent's Key Vault over HTTPS with the generated CA."""

import re
import socket
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.secrets import KeyVaultSecretIdentifier

from conftest import KEYVAULT_TLS_URL, secret_client

VERSION_RE = re.compile(r"^[0-9a-f]{32}$")
FAST = {"_polling_interval": 0}


def delete_and_wait(secrets, name):
    return secrets.begin_delete_secret(name, **FAST).result()


def test_set_and_get(secrets, unique):
    name = unique("set")
    s = secrets.set_secret(name, "s3cr3t", content_type="text/plain", tags={"env": "test"})
    assert s.name == name and s.value == "s3cr3t"
    assert VERSION_RE.match(s.properties.version)
    assert s.id == f"{KEYVAULT_TLS_URL}/secrets/{name}/{s.properties.version}"
    assert s.properties.content_type == "text/plain"
    assert s.properties.tags == {"env": "test"}
    assert s.properties.enabled is True
    assert isinstance(s.properties.created_on, datetime)
    assert s.properties.vault_url == KEYVAULT_TLS_URL
    assert s.properties.recovery_level == "Recoverable+Purgeable"

    got = secrets.get_secret(name)
    assert got.value == "s3cr3t"
    assert got.properties.version == s.properties.version
    ident = KeyVaultSecretIdentifier(got.id)
    assert (ident.name, ident.version, ident.vault_url) == (name, s.properties.version, KEYVAULT_TLS_URL)


def test_versions(secrets, unique):
    name = unique("ver")
    v1 = secrets.set_secret(name, "one")
    v2 = secrets.set_secret(name, "two")
    assert v1.properties.version != v2.properties.version
    assert secrets.get_secret(name).value == "two"
    assert secrets.get_secret(name, v1.properties.version).value == "one"
    assert secrets.get_secret(name, v2.properties.version).value == "two"
    versions = {p.version for p in secrets.list_properties_of_secret_versions(name)}
    assert versions == {v1.properties.version, v2.properties.version}
    with pytest.raises(ResourceNotFoundError):
        secrets.get_secret(name, "0" * 32)


def test_update_properties_and_disabled_secret_is_forbidden(secrets, unique):
    name = unique("upd")
    s = secrets.set_secret(name, "v")
    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)
    props = secrets.update_secret_properties(
        name, s.properties.version, content_type="application/json", tags={"k": "v"}, expires_on=expires
    )
    assert props.content_type == "application/json"
    assert props.tags == {"k": "v"}
    assert props.expires_on == expires
    assert props.version == s.properties.version
    got = secrets.get_secret(name)
    assert got.properties.content_type == "application/json" and got.value == "v"

    secrets.update_secret_properties(name, s.properties.version, enabled=False)
    with pytest.raises(HttpResponseError) as e:
        secrets.get_secret(name)
    assert e.value.status_code == 403
    # a disabled secret still lists, without its value
    listed = [p for p in secrets.list_properties_of_secret_versions(name)]
    assert listed and listed[0].enabled is False


def test_list_pages_over_30_secrets(secrets, unique):
    prefix = unique("page")
    names = {f"{prefix}-{i:02d}" for i in range(30)}
    for n in names:
        secrets.set_secret(n, "x")
    pages = list(secrets.list_properties_of_secrets(max_page_size=10).by_page())
    listed = [p for page in pages for p in page]
    mine = {p.name for p in listed if p.name.startswith(prefix)}
    assert mine == names
    assert len(pages) >= 3
    assert len([p.name for p in listed]) == len({p.name for p in listed}), "a secret was listed twice"
    for p in listed:
        assert p.id == f"{KEYVAULT_TLS_URL}/secrets/{p.name}"
        assert p.version is None
    # default page size
    assert names <= {p.name for p in secrets.list_properties_of_secrets()}


def test_delete_recover_purge(secrets, unique):
    name = unique("del")
    secrets.set_secret(name, "v1")
    secrets.set_secret(name, "v2")
    deleted = delete_and_wait(secrets, name)
    assert deleted.name == name
    assert deleted.recovery_id == f"{KEYVAULT_TLS_URL}/deletedsecrets/{name}"
    assert deleted.deleted_date is not None
    assert deleted.scheduled_purge_date - deleted.deleted_date >= timedelta(days=89)

    with pytest.raises(ResourceNotFoundError):
        secrets.get_secret(name)
    got = secrets.get_deleted_secret(name)
    assert got.name == name and got.recovery_id == deleted.recovery_id
    assert name in {d.name for d in secrets.list_deleted_secrets()}

    # setting a soft-deleted name conflicts
    with pytest.raises(HttpResponseError) as e:
        secrets.set_secret(name, "again")
    assert e.value.status_code == 409

    recovered = secrets.begin_recover_deleted_secret(name, **FAST).result()
    assert recovered.name == name
    assert secrets.get_secret(name).value == "v2"
    assert len(list(secrets.list_properties_of_secret_versions(name))) == 2
    with pytest.raises(ResourceNotFoundError):
        secrets.get_deleted_secret(name)

    delete_and_wait(secrets, name)
    secrets.purge_deleted_secret(name)
    with pytest.raises(ResourceNotFoundError):
        secrets.get_deleted_secret(name)
    assert name not in {d.name for d in secrets.list_deleted_secrets()}
    secrets.set_secret(name, "fresh")  # a purged name is free again
    assert secrets.get_secret(name).value == "fresh"


def test_backup_and_restore(secrets, unique):
    name = unique("bak")
    first = secrets.set_secret(name, "a", content_type="text/plain")
    secrets.set_secret(name, "b")
    blob = secrets.backup_secret(name)
    assert isinstance(blob, bytes) and len(blob) > 0

    with pytest.raises(HttpResponseError) as e:
        secrets.restore_secret_backup(blob)  # still exists
    assert e.value.status_code == 409
    assert isinstance(e.value, ResourceExistsError)

    delete_and_wait(secrets, name)
    secrets.purge_deleted_secret(name)
    restored = secrets.restore_secret_backup(blob)
    assert restored.name == name
    assert secrets.get_secret(name).value == "b"
    assert secrets.get_secret(name, first.properties.version).value == "a"
    assert len(list(secrets.list_properties_of_secret_versions(name))) == 2


def test_errors(secrets, unique):
    missing = unique("missing")
    with pytest.raises(ResourceNotFoundError) as e:
        secrets.get_secret(missing)
    assert e.value.status_code == 404
    assert e.value.error.code == "SecretNotFound"
    assert missing in e.value.error.message
    with pytest.raises(ResourceNotFoundError):
        secrets.backup_secret(missing)
    with pytest.raises(ResourceNotFoundError):
        secrets.begin_delete_secret(missing, **FAST)
    with pytest.raises(ResourceNotFoundError):
        secrets.purge_deleted_secret(missing)
    with pytest.raises(HttpResponseError) as e:
        secrets.set_secret("not_a_valid_name!", "v")
    assert e.value.status_code == 400
    assert e.value.error.code == "BadParameter"
    with pytest.raises(HttpResponseError) as e:
        secrets.restore_secret_backup(b"not a backup blob")
    assert e.value.status_code == 400


def test_vault_host_with_challenge_verification(unique):
    host = "myvault.localhost"
    port = urlparse(KEYVAULT_TLS_URL).port or 443
    try:
        socket.getaddrinfo(host, port)
    except socket.gaierror:
        pytest.skip(f"{host} does not resolve on this machine (no *.localhost resolver)")
    vault_url = f"https://{host}:{port}"
    client = secret_client(vault_url)  # challenge resource verification stays on
    name = unique("vh")
    s = client.set_secret(name, "in myvault")
    assert s.id.startswith(f"{vault_url}/secrets/{name}/")
    assert client.get_secret(name).value == "in myvault"
    # another vault does not see it
    with pytest.raises(ResourceNotFoundError):
        secret_client(verify_challenge_resource=False).get_secret(name)


def test_vault_host_pinned_to_loopback(unique, monkeypatch):
    """The same vault-host flow with `myvault2.localhost` pinned to 127.0.0.1 in this process (RFC 6761: *.localhost
    is loopback), so SNI, the per-vault store and challenge-resource verification are exercised on every machine."""
    host = "myvault2.localhost"
    real = socket.getaddrinfo

    def pinned(name, *args, **kwargs):
        return real("127.0.0.1" if name == host else name, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", pinned)
    port = urlparse(KEYVAULT_TLS_URL).port or 443
    vault_url = f"https://{host}:{port}"
    client = secret_client(vault_url)  # challenge resource verification stays on
    name = unique("vh2")
    s = client.set_secret(name, "in myvault2")
    assert s.id == f"{vault_url}/secrets/{name}/{s.properties.version}"
    assert s.properties.vault_url == vault_url
    assert client.get_secret(name).value == "in myvault2"
    assert name in {p.name for p in client.list_properties_of_secrets()}
    with pytest.raises(ResourceNotFoundError):
        secret_client(verify_challenge_resource=False).get_secret(name)
