"""azure-keyvault-keys 4.11.3 (its default api-version, 2025-07-01) against trent's Key Vault keys plane over HTTPS
with the generated CA: KeyClient, CryptographyClient (sync and async), and trent's results checked independently
with `cryptography` from the returned JWK.

The Python CryptographyClient runs encrypt/wrap (RSA) and verify (RSA, EC) locally whenever it holds the public JWK;
`remote()` below makes a client send every operation to trent instead (the same switch the SDK's own tests flip), so
trent's /encrypt, /wrapkey and /verify endpoints are exercised too.
"""

import asyncio
import hashlib
import os
import re
import socket
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.keys import (
    JsonWebKey,
    KeyCurveName,
    KeyRotationLifetimeAction,
    KeyRotationPolicy,
    KeyRotationPolicyAction,
    KeyType,
    KeyVaultKeyIdentifier,
)
from azure.keyvault.keys.crypto import (
    CryptographyClient,
    EncryptionAlgorithm,
    KeyWrapAlgorithm,
    SignatureAlgorithm,
)
from azure.keyvault.keys.crypto._providers import NoLocalCryptography
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from conftest import KEYVAULT_TLS_URL, TLS_CA, FakeCredential, key_client

VERSION_RE = re.compile(r"^[0-9a-f]{32}$")
FAST = {"_polling_interval": 0}
RSA_OPS = ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"]
CURVES = {
    KeyCurveName.p_256: (ec.SECP256R1(), 32),
    KeyCurveName.p_384: (ec.SECP384R1(), 48),
    KeyCurveName.p_521: (ec.SECP521R1(), 66),
    KeyCurveName.p_256_k: (ec.SECP256K1(), 32),
}
HASHES = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}
OAEP = {
    "RSA1_5": padding.PKCS1v15(),
    "RSA-OAEP": padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),
    "RSA-OAEP-256": padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
}


# ------------------------------------------------------------------------------------------------- helpers


def b2i(b):
    return int.from_bytes(b, "big")


def i2b(i, length=None):
    return i.to_bytes(length or (i.bit_length() + 7) // 8, "big")


def public_key(jwk):
    """The `cryptography` public key of a JWK the service returned (RSA n/e, EC crv/x/y)."""
    if jwk.kty in (KeyType.rsa, KeyType.rsa_hsm):
        return rsa.RSAPublicNumbers(b2i(jwk.e), b2i(jwk.n)).public_key()
    curve, _ = CURVES[KeyCurveName(jwk.crv)]
    return ec.EllipticCurvePublicNumbers(b2i(jwk.x), b2i(jwk.y), curve).public_key()


def verify_locally(jwk, alg, digest, signature):
    """Raises InvalidSignature unless `signature` (as Key Vault returns it) is valid for `digest`."""
    alg = str(alg.value if hasattr(alg, "value") else alg)
    h = HASHES[alg[2:5]]
    key = public_key(jwk)
    if alg.startswith("RS"):
        key.verify(signature, digest, padding.PKCS1v15(), Prehashed(h))
    elif alg.startswith("PS"):
        # Key Vault's PSS uses a salt as long as the digest
        key.verify(signature, digest, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), Prehashed(h))
    else:  # ES*: raw r || s, each the curve's size
        half = len(signature) // 2
        der = encode_dss_signature(b2i(signature[:half]), b2i(signature[half:]))
        key.verify(der, digest, ec.ECDSA(Prehashed(h)))


def crypto_client(key_or_id):
    return CryptographyClient(key_or_id, FakeCredential(), connection_verify=TLS_CA, verify_challenge_resource=False)


def remote(client):
    """Make `client` send every operation to the service (no local provider); returns it."""
    client._local_provider = NoLocalCryptography()
    client._initialized = True
    return client


def delete_and_wait(keys, name):
    return keys.begin_delete_key(name, **FAST).result()


def digest_for(alg, data=b"hello trent"):
    return hashlib.new("sha" + str(alg.value)[2:5], data).digest()


# ------------------------------------------------------------------------------------------------- create/get


@pytest.mark.parametrize("size", [2048, 3072, 4096])
def test_create_rsa(keys, unique, size):
    name = unique("rsa")
    key = keys.create_rsa_key(name, size=size, tags={"size": str(size)})
    assert key.name == name
    assert key.key_type == KeyType.rsa
    assert VERSION_RE.match(key.properties.version)
    assert key.id == f"{KEYVAULT_TLS_URL}/keys/{name}/{key.properties.version}"
    assert key.properties.vault_url == KEYVAULT_TLS_URL
    assert len(key.key.n) == size // 8
    assert key.key.e == b"\x01\x00\x01"  # public_exponent default 65537
    assert key.key.d is None and key.key.p is None  # no private material on the wire
    assert key.key_operations == RSA_OPS
    assert key.properties.enabled is True
    assert key.properties.tags == {"size": str(size)}
    assert isinstance(key.properties.created_on, datetime)
    assert key.properties.recovery_level == "Recoverable+Purgeable"
    assert key.properties.exportable is False
    assert public_key(key.key).key_size == size

    got = keys.get_key(name)
    assert got.id == key.id and got.key.n == key.key.n
    ident = KeyVaultKeyIdentifier(got.id)
    assert (ident.name, ident.version, ident.vault_url) == (name, key.properties.version, KEYVAULT_TLS_URL)


@pytest.mark.parametrize("curve", list(CURVES))
def test_create_ec(keys, unique, curve):
    name = unique("ec")
    key = keys.create_ec_key(name, curve=curve)
    assert key.key_type == KeyType.ec
    assert key.key.crv == curve
    size = CURVES[curve][1]
    assert len(key.key.x) == size and len(key.key.y) == size
    assert key.key.d is None
    assert key.key_operations == ["sign", "verify"]
    assert public_key(key.key).curve.name == CURVES[curve][0].name  # the point is on the curve
    assert keys.get_key(name, key.properties.version).key.x == key.key.x


def test_create_rsa_public_exponent_and_generic_create(keys, unique):
    name = unique("rsa-e")
    key = keys.create_key(name, KeyType.rsa, size=2048, public_exponent=65537, key_operations=["sign", "verify"])
    assert key.key.e == b"\x01\x00\x01"
    assert key.key_operations == ["sign", "verify"]
    ec_key = keys.create_key(unique("ec-default"), KeyType.ec)
    assert ec_key.key.crv == KeyCurveName.p_256  # the default curve


def test_get_and_update(keys, unique):
    name = unique("upd")
    v1 = keys.create_rsa_key(name, tags={"a": "1"})
    v2 = keys.create_rsa_key(name)
    assert v1.properties.version != v2.properties.version
    assert keys.get_key(name).properties.version == v2.properties.version
    assert keys.get_key(name, v1.properties.version).key.n == v1.key.n
    assert keys.get_key(name, v1.properties.version).properties.tags == {"a": "1"}

    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)
    not_before = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=1)
    props = keys.update_key_properties(
        name, v1.properties.version, tags={"b": "2"}, key_operations=["sign", "verify"], expires_on=expires,
        not_before=not_before,
    )
    assert props.properties.version == v1.properties.version
    assert props.properties.tags == {"b": "2"}
    assert props.key_operations == ["sign", "verify"]
    assert props.properties.expires_on == expires
    assert props.properties.not_before == not_before
    got = keys.get_key(name, v1.properties.version)
    assert got.key_operations == ["sign", "verify"] and got.properties.tags == {"b": "2"}
    # the latest version is untouched
    assert keys.get_key(name).key_operations == RSA_OPS

    # update of the latest version with no version given
    latest = keys.update_key_properties(name, enabled=False)
    assert latest.properties.version == v2.properties.version
    assert latest.properties.enabled is False
    with pytest.raises(HttpResponseError) as e:
        remote(crypto_client(latest)).sign(SignatureAlgorithm.rs256, digest_for(SignatureAlgorithm.rs256))
    assert e.value.status_code == 403
    print("disabled key sign:", e.value.error.code, e.value.error.innererror, e.value.error.message)
    assert e.value.error.code == "Forbidden"
    # a disabled key still lists, and can be re-enabled
    assert {p.version: p.enabled for p in keys.list_properties_of_key_versions(name)}[v2.properties.version] is False
    assert keys.update_key_properties(name, v2.properties.version, enabled=True).properties.enabled is True


# ------------------------------------------------------------------------------------------------- lists


def test_list_versions_pages(keys, unique):
    name = unique("lv")
    versions = {keys.create_ec_key(name).properties.version for _ in range(5)}
    pages = list(keys.list_properties_of_key_versions(name, max_page_size=2).by_page())
    items = [p for page in pages for p in page]
    assert len(pages) == 3, [len(list(p)) for p in pages]
    assert {p.version for p in items} == versions
    assert len(items) == 5
    for p in items:
        assert p.name == name
        assert p.id == f"{KEYVAULT_TLS_URL}/keys/{name}/{p.version}"
    # an unknown name has no versions (not a 404)
    assert list(keys.list_properties_of_key_versions(unique("nokey"))) == []


def test_list_keys_pages(keys, unique):
    prefix = unique("lk")
    names = {f"{prefix}-{i}" for i in range(12)}
    for n in names:
        keys.create_ec_key(n)
    pages = list(keys.list_properties_of_keys(max_page_size=5).by_page())
    listed = [p for page in pages for p in page]
    assert len(pages) >= 3
    assert {p.name for p in listed if p.name.startswith(prefix)} == names
    assert len(listed) == len({p.name for p in listed}), "a key was listed twice"
    for p in listed:
        assert p.id == f"{KEYVAULT_TLS_URL}/keys/{p.name}"
        assert p.version is None
    assert names <= {p.name for p in keys.list_properties_of_keys()}


@pytest.fixture()
def pinned_vault(monkeypatch, unique):
    """A fresh vault of its own, `https://<unique>.localhost:port`, with the host pinned to 127.0.0.1 in this process
    (RFC 6761), challenge-resource verification on. Returns its URL."""
    host = f"{unique('vault')}.localhost"
    real = socket.getaddrinfo

    def pinned(name, *args, **kwargs):
        return real("127.0.0.1" if name == host else name, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", pinned)
    return f"https://{host}:{urlparse(KEYVAULT_TLS_URL).port or 443}"


def test_list_keys_pages_exactly_in_own_vault(pinned_vault):
    client = key_client(pinned_vault)
    names = [f"k{i}" for i in range(5)]
    for n in names:
        client.create_ec_key(n)
    pages = [list(p) for p in client.list_properties_of_keys(max_page_size=2).by_page()]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert sorted(p.name for page in pages for p in page) == names
    assert all(p.vault_url == pinned_vault for page in pages for p in page)
    # the default vault does not see them
    with pytest.raises(ResourceNotFoundError):
        key_client(verify_challenge_resource=False).get_key("k0")
    client.begin_delete_key("k0", **FAST).result()
    client.begin_delete_key("k1", **FAST).result()
    deleted = [list(p) for p in client.list_deleted_keys(max_page_size=1).by_page()]
    assert [len(p) for p in deleted] == [1, 1]
    assert sorted(d.name for page in deleted for d in page) == ["k0", "k1"]


# ------------------------------------------------------------------------------------------------- delete/recover


def test_delete_recover_purge(keys, unique):
    name = unique("del")
    keys.create_rsa_key(name)
    last = keys.create_rsa_key(name)
    deleted = delete_and_wait(keys, name)
    assert deleted.name == name
    assert deleted.id == last.id
    assert deleted.recovery_id == f"{KEYVAULT_TLS_URL}/deletedkeys/{name}"
    assert deleted.deleted_date is not None
    assert deleted.scheduled_purge_date > deleted.deleted_date
    assert deleted.key.n == last.key.n

    with pytest.raises(ResourceNotFoundError):
        keys.get_key(name)
    got = keys.get_deleted_key(name)
    assert got.name == name and got.recovery_id == deleted.recovery_id and got.id == last.id
    assert name in {d.name for d in keys.list_deleted_keys()}

    # creating a soft-deleted name conflicts
    with pytest.raises(HttpResponseError) as e:
        keys.create_rsa_key(name)
    assert e.value.status_code == 409
    assert e.value.error.code == "Conflict"
    print("create while deleted:", e.value.error.innererror, e.value.error.message)

    recovered = keys.begin_recover_deleted_key(name, **FAST).result()
    assert recovered.name == name and recovered.id == last.id
    assert keys.get_key(name).key.n == last.key.n
    assert len(list(keys.list_properties_of_key_versions(name))) == 2
    with pytest.raises(ResourceNotFoundError) as e:
        keys.get_deleted_key(name)
    assert e.value.error.code == "KeyNotFound"

    delete_and_wait(keys, name)
    keys.purge_deleted_key(name)
    with pytest.raises(ResourceNotFoundError):
        keys.get_deleted_key(name)
    assert name not in {d.name for d in keys.list_deleted_keys()}
    fresh = keys.create_ec_key(name)  # a purged name is free again
    assert keys.get_key(name).id == fresh.id
    assert len(list(keys.list_properties_of_key_versions(name))) == 1


# ------------------------------------------------------------------------------------------------- backup/restore


def test_backup_and_restore(keys, unique):
    name = unique("bak")
    first = keys.create_rsa_key(name, tags={"t": "1"})
    second = keys.create_rsa_key(name)
    blob = keys.backup_key(name)
    assert isinstance(blob, bytes) and len(blob) > 0

    with pytest.raises(ResourceExistsError) as e:
        keys.restore_key_backup(blob)  # still exists
    assert e.value.status_code == 409

    delete_and_wait(keys, name)
    with pytest.raises(HttpResponseError) as e:
        keys.restore_key_backup(blob)  # soft-deleted: the name is still taken
    assert e.value.status_code == 409
    keys.purge_deleted_key(name)
    restored = keys.restore_key_backup(blob)
    assert restored.name == name
    assert restored.id == second.id
    assert restored.key.n == second.key.n
    got_first = keys.get_key(name, first.properties.version)
    assert got_first.key.n == first.key.n and got_first.properties.tags == {"t": "1"}
    assert len(list(keys.list_properties_of_key_versions(name))) == 2
    # the restored key still decrypts what its public key encrypted
    ct = public_key(second.key).encrypt(b"after restore", OAEP["RSA-OAEP-256"])
    assert crypto_client(restored).decrypt(EncryptionAlgorithm.rsa_oaep_256, ct).plaintext == b"after restore"

    with pytest.raises(HttpResponseError) as e:
        keys.restore_key_backup(b"not a backup blob")
    assert e.value.status_code == 400
    with pytest.raises(ResourceNotFoundError):
        keys.backup_key(unique("missing"))


# ------------------------------------------------------------------------------------------------- rotation


def test_rotation_policy_and_rotate(keys, unique):
    name = unique("rot")
    key = keys.create_rsa_key(name, size=3072)

    # no policy set: the service's default, a Notify 30 days before expiry, with no id and no attributes
    default = keys.get_key_rotation_policy(name)
    assert default.id is None
    assert default.created_on is None and default.expires_in is None
    assert [(a.action, a.time_before_expiry, a.time_after_create) for a in default.lifetime_actions] == [
        (KeyRotationPolicyAction.notify, "P30D", None)
    ]

    # a Rotate-only policy gets the default Notify action added
    rotate = [KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P30D")]
    policy = keys.update_key_rotation_policy(name, KeyRotationPolicy(), lifetime_actions=rotate)
    assert policy.id == f"{KEYVAULT_TLS_URL}/keys/{name}/rotationpolicy"
    assert [(a.action, a.time_after_create, a.time_before_expiry) for a in policy.lifetime_actions] == [
        (KeyRotationPolicyAction.rotate, "P30D", None),
        (KeyRotationPolicyAction.notify, None, "P30D"),
    ]
    assert isinstance(policy.created_on, datetime) and isinstance(policy.updated_on, datetime)
    got = keys.get_key_rotation_policy(name)
    assert [(a.action, a.time_after_create, a.time_before_expiry) for a in got.lifetime_actions] == [
        (a.action, a.time_after_create, a.time_before_expiry) for a in policy.lifetime_actions
    ]

    # a policy object, with an expiry for new versions
    notify = KeyRotationPolicy(
        expires_in="P90D",
        lifetime_actions=[KeyRotationLifetimeAction(KeyRotationPolicyAction.notify, time_before_expiry="P30D")],
    )
    policy = keys.update_key_rotation_policy(name, notify)
    assert policy.expires_in == "P90D"
    assert [(a.action, a.time_before_expiry) for a in policy.lifetime_actions] == [
        (KeyRotationPolicyAction.notify, "P30D")
    ]
    assert keys.get_key_rotation_policy(name).expires_in == "P90D"

    rotated = keys.rotate_key(name)
    assert rotated.name == name
    assert rotated.properties.version != key.properties.version
    assert rotated.key_type == KeyType.rsa and len(rotated.key.n) == 3072 // 8
    assert rotated.key.n != key.key.n
    assert rotated.key_operations == key.key_operations
    assert rotated.properties.expires_on - rotated.properties.created_on == timedelta(days=90)
    assert keys.get_key(name).properties.version == rotated.properties.version
    assert len(list(keys.list_properties_of_key_versions(name))) == 2

    with pytest.raises(ResourceNotFoundError):
        keys.rotate_key(unique("missing"))
    with pytest.raises(ResourceNotFoundError):
        keys.get_key_rotation_policy(unique("missing"))


def test_get_random_bytes(keys):
    for count in (1, 16, 128):
        got = keys.get_random_bytes(count)
        assert isinstance(got, bytes) and len(got) == count
    assert keys.get_random_bytes(32) != keys.get_random_bytes(32)
    with pytest.raises(ValueError):
        keys.get_random_bytes(0)  # the SDK refuses this itself
    with pytest.raises(HttpResponseError) as e:
        keys.get_random_bytes(129)
    assert e.value.status_code == 400
    assert e.value.error.code == "BadParameter"


# ------------------------------------------------------------------------------------------------- import


def test_import_rsa_key(keys, unique):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    nums = private.private_numbers()
    pub = nums.public_numbers
    jwk = JsonWebKey(
        kty=KeyType.rsa,
        key_ops=RSA_OPS,
        n=i2b(pub.n),
        e=i2b(pub.e),
        d=i2b(nums.d),
        p=i2b(nums.p),
        q=i2b(nums.q),
        dp=i2b(nums.dmp1),
        dq=i2b(nums.dmq1),
        qi=i2b(nums.iqmp),
    )
    name = unique("imp-rsa")
    key = keys.import_key(name, jwk, tags={"imported": "yes"})
    assert key.name == name and key.key_type == KeyType.rsa
    assert b2i(key.key.n) == pub.n and b2i(key.key.e) == pub.e
    assert key.key.d is None and key.key.p is None  # private members never come back
    assert key.properties.tags == {"imported": "yes"}
    assert key.key_operations == RSA_OPS

    client = crypto_client(key)
    # trent decrypts what the local private key's public half encrypted
    ct = private.public_key().encrypt(b"imported rsa", OAEP["RSA-OAEP"])
    assert client.decrypt(EncryptionAlgorithm.rsa_oaep, ct).plaintext == b"imported rsa"
    # trent signs with the imported private key
    digest = hashlib.sha256(b"imported").digest()
    sig = client.sign(SignatureAlgorithm.rs256, digest).signature
    private.public_key().verify(sig, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    # and what trent encrypts, the local private key decrypts
    out = remote(crypto_client(key)).encrypt(EncryptionAlgorithm.rsa_oaep_256, b"to local")
    assert private.decrypt(out.ciphertext, OAEP["RSA-OAEP-256"]) == b"to local"


@pytest.mark.parametrize("curve", [KeyCurveName.p_256, KeyCurveName.p_384])
def test_import_ec_key(keys, unique, curve):
    ec_curve, size = CURVES[curve]
    private = ec.generate_private_key(ec_curve)
    nums = private.private_numbers()
    jwk = JsonWebKey(
        kty=KeyType.ec,
        crv=curve,
        key_ops=["sign", "verify"],
        x=i2b(nums.public_numbers.x, size),
        y=i2b(nums.public_numbers.y, size),
        d=i2b(nums.private_value, size),
    )
    key = keys.import_key(unique("imp-ec"), jwk)
    assert key.key_type == KeyType.ec and key.key.crv == curve
    assert b2i(key.key.x) == nums.public_numbers.x and b2i(key.key.y) == nums.public_numbers.y
    assert key.key.d is None
    alg = SignatureAlgorithm.es256 if curve == KeyCurveName.p_256 else SignatureAlgorithm.es384
    digest = digest_for(alg)
    sig = crypto_client(key).sign(alg, digest).signature
    assert len(sig) == 2 * size
    h = HASHES[str(alg.value)[2:5]]
    private.public_key().verify(
        encode_dss_signature(b2i(sig[:size]), b2i(sig[size:])), digest, ec.ECDSA(Prehashed(h))
    )


# ------------------------------------------------------------------------------------------------- crypto


@pytest.fixture(scope="module")
def rsa_key(keys):
    return keys.create_rsa_key(f"crypto-rsa-{os.urandom(6).hex()}", size=2048)


@pytest.mark.parametrize(
    "alg", [EncryptionAlgorithm.rsa1_5, EncryptionAlgorithm.rsa_oaep, EncryptionAlgorithm.rsa_oaep_256]
)
def test_encrypt_decrypt(rsa_key, alg):
    client = crypto_client(rsa_key)
    plaintext = b"trent keys plane " + alg.value.encode()

    # SDK-local encryption with the public JWK, decrypted by trent
    enc = client.encrypt(alg, plaintext)
    assert enc.algorithm == alg and enc.key_id == rsa_key.id
    assert len(enc.ciphertext) == 256
    dec = client.decrypt(alg, enc.ciphertext)
    assert dec.plaintext == plaintext
    assert dec.key_id == rsa_key.id

    # trent's own /encrypt, on the latest version (an unversioned id: `/keys/{name}//encrypt`)
    unversioned = remote(crypto_client(f"{KEYVAULT_TLS_URL}/keys/{rsa_key.name}"))
    enc2 = unversioned.encrypt(alg, plaintext)
    assert enc2.key_id == f"{KEYVAULT_TLS_URL}/keys/{rsa_key.name}"
    assert len(enc2.ciphertext) == 256
    assert client.decrypt(alg, enc2.ciphertext).plaintext == plaintext
    assert unversioned.decrypt(alg, enc2.ciphertext).plaintext == plaintext

    # `cryptography` encrypts with the public JWK, trent decrypts
    ct = public_key(rsa_key.key).encrypt(plaintext, OAEP[alg.value])
    assert client.decrypt(alg, ct).plaintext == plaintext

    # randomized padding: two encryptions differ
    assert remote(crypto_client(rsa_key)).encrypt(alg, plaintext).ciphertext != enc2.ciphertext


def test_decrypt_with_the_wrong_algorithm_fails(rsa_key):
    client = crypto_client(rsa_key)
    ct = client.encrypt(EncryptionAlgorithm.rsa_oaep_256, b"x").ciphertext
    with pytest.raises(HttpResponseError) as e:
        client.decrypt(EncryptionAlgorithm.rsa_oaep, ct)
    assert e.value.status_code == 400


@pytest.mark.parametrize(
    "alg", [KeyWrapAlgorithm.rsa1_5, KeyWrapAlgorithm.rsa_oaep, KeyWrapAlgorithm.rsa_oaep_256]
)
def test_wrap_unwrap(rsa_key, alg):
    cek = os.urandom(32)
    local = crypto_client(rsa_key)
    wrapped = local.wrap_key(alg, cek)  # local in the SDK
    assert wrapped.algorithm == alg and len(wrapped.encrypted_key) == 256
    assert local.unwrap_key(alg, wrapped.encrypted_key).key == cek

    server = remote(crypto_client(rsa_key))
    wrapped2 = server.wrap_key(alg, cek)  # trent's /wrapkey
    assert wrapped2.key_id == rsa_key.id
    assert server.unwrap_key(alg, wrapped2.encrypted_key).key == cek
    # `cryptography` wraps, trent unwraps
    ct = public_key(rsa_key.key).encrypt(cek, OAEP[alg.value])
    assert local.unwrap_key(alg, ct).key == cek


SIGN_CASES = [
    (SignatureAlgorithm.ps256, None),
    (SignatureAlgorithm.rs256, None),
    (SignatureAlgorithm.ps384, None),
    (SignatureAlgorithm.rs512, None),
    (SignatureAlgorithm.es256, KeyCurveName.p_256),
    (SignatureAlgorithm.es384, KeyCurveName.p_384),
    (SignatureAlgorithm.es512, KeyCurveName.p_521),
    (SignatureAlgorithm.es256_k, KeyCurveName.p_256_k),
]


@pytest.mark.parametrize("alg,curve", SIGN_CASES, ids=[a.value for a, _ in SIGN_CASES])
def test_sign_verify(keys, unique, rsa_key, alg, curve):
    key = rsa_key if curve is None else keys.create_ec_key(unique("sign"), curve=curve)
    digest = digest_for(alg)
    client = crypto_client(key)
    signed = client.sign(alg, digest)
    assert signed.key_id == key.id and signed.algorithm == alg
    sig = signed.signature
    if curve is None:
        assert len(sig) == 256
    else:
        assert len(sig) == 2 * CURVES[curve][1]

    # independently, from the JWK
    verify_locally(key.key, alg, digest, sig)
    with pytest.raises(InvalidSignature):
        verify_locally(key.key, alg, digest_for(alg, b"other"), sig)

    # the SDK's verify (local for these keys) and trent's /verify
    assert client.verify(alg, digest, sig).is_valid
    server = remote(crypto_client(key))
    result = server.verify(alg, digest, sig)
    assert result.is_valid is True and result.algorithm == alg
    assert server.verify(alg, digest_for(alg, b"other"), sig).is_valid is False
    tampered = bytes([sig[0] ^ 1]) + sig[1:]
    assert server.verify(alg, digest, tampered).is_valid is False


def test_rsa_pkcs1_signatures_are_deterministic(rsa_key):
    client = crypto_client(rsa_key)
    digest = digest_for(SignatureAlgorithm.rs256)
    assert client.sign(SignatureAlgorithm.rs256, digest).signature == client.sign("RS256", digest).signature
    # PSS is randomized
    assert client.sign("PS256", digest).signature != client.sign("PS256", digest).signature


# ------------------------------------------------------------------------------------------------- errors


def test_errors(keys, unique):
    missing = unique("missing")
    with pytest.raises(ResourceNotFoundError) as e:
        keys.get_key(missing)
    assert e.value.status_code == 404
    assert e.value.error.code == "KeyNotFound"
    assert e.value.error.message.startswith(f"A key with (name/id) {missing} was not found")
    with pytest.raises(ResourceNotFoundError):
        keys.begin_delete_key(missing, **FAST)
    with pytest.raises(ResourceNotFoundError):
        keys.get_deleted_key(missing)
    with pytest.raises(ResourceNotFoundError):
        keys.purge_deleted_key(missing)
    with pytest.raises(ResourceNotFoundError):
        keys.begin_recover_deleted_key(missing, **FAST)
    with pytest.raises(ResourceNotFoundError):
        remote(crypto_client(f"{KEYVAULT_TLS_URL}/keys/{missing}/{'0' * 32}")).sign("RS256", b"\0" * 32)
    with pytest.raises(HttpResponseError) as e:
        keys.create_rsa_key("not_a_valid_name!")
    assert e.value.status_code == 400
    assert e.value.error.code == "BadParameter"


def test_operation_not_in_key_ops_is_forbidden(keys, unique):
    key = keys.create_rsa_key(unique("ops"), key_operations=["encrypt", "decrypt"])
    assert key.key_operations == ["encrypt", "decrypt"]
    with pytest.raises(HttpResponseError) as e:
        crypto_client(key).sign(SignatureAlgorithm.rs256, digest_for(SignatureAlgorithm.rs256))
    assert e.value.status_code == 403
    assert e.value.error.code == "Forbidden"
    assert e.value.error.innererror.get("code") == "KeyOperationForbidden"
    assert e.value.error.message == "Operation sign is not permitted on this key."
    # unwrapKey is not allowed either, but decrypt is
    with pytest.raises(HttpResponseError) as e:
        crypto_client(key).unwrap_key(KeyWrapAlgorithm.rsa_oaep, b"\0" * 256)
    assert e.value.status_code == 403
    assert e.value.error.message == "Operation unwrapKey is not permitted on this key."
    ct = public_key(key.key).encrypt(b"ok", OAEP["RSA-OAEP"])
    assert crypto_client(key).decrypt(EncryptionAlgorithm.rsa_oaep, ct).plaintext == b"ok"


def test_create_over_deleted_name_conflicts(keys, unique):
    name = unique("conf")
    keys.create_ec_key(name)
    delete_and_wait(keys, name)
    with pytest.raises(HttpResponseError) as e:
        keys.create_ec_key(name)
    assert e.value.status_code == 409
    nums = ec.generate_private_key(ec.SECP256R1()).private_numbers()
    jwk = JsonWebKey(
        kty=KeyType.ec,
        crv=KeyCurveName.p_256,
        x=i2b(nums.public_numbers.x, 32),
        y=i2b(nums.public_numbers.y, 32),
        d=i2b(nums.private_value, 32),
    )
    with pytest.raises(HttpResponseError) as e:
        keys.import_key(name, jwk)
    assert e.value.status_code == 409


def test_algorithm_does_not_match_curve(keys, unique):
    key = keys.create_ec_key(unique("p384"), curve=KeyCurveName.p_384)
    with pytest.raises(HttpResponseError) as e:
        crypto_client(key).sign(SignatureAlgorithm.es256, digest_for(SignatureAlgorithm.es256))
    assert e.value.status_code == 400
    assert e.value.error.code == "BadParameter"
    # an RSA algorithm on an EC key, and an EC algorithm on an RSA key
    with pytest.raises(HttpResponseError) as e:
        crypto_client(key).sign(SignatureAlgorithm.rs256, digest_for(SignatureAlgorithm.rs256))
    assert e.value.status_code == 400


# ------------------------------------------------------------------------------------------------- async


class AsyncFakeCredential:
    async def get_token(self, *scopes, **kwargs):
        return AccessToken("parlel-fake-token", int(time.time()) + 3600)

    async def get_token_info(self, *scopes, options=None):
        return AccessTokenInfo("parlel-fake-token", int(time.time()) + 3600)

    async def close(self):
        pass


def test_async_clients(unique):
    from azure.keyvault.keys.aio import KeyClient as AsyncKeyClient
    from azure.keyvault.keys.crypto.aio import CryptographyClient as AsyncCryptographyClient

    name = unique("aio")

    async def main():
        opts = dict(connection_verify=TLS_CA, verify_challenge_resource=False)
        async with AsyncKeyClient(KEYVAULT_TLS_URL, AsyncFakeCredential(), **opts) as client:
            rsa_key = await client.create_rsa_key(name, size=2048)
            ec_key = await client.create_ec_key(name + "-ec", curve="P-256")
            got = await client.get_key(name)
            assert got.id == rsa_key.id
            versions = [p.version async for p in client.list_properties_of_key_versions(name)]
            assert versions == [rsa_key.properties.version]
            assert len(await client.get_random_bytes(8)) == 8

            async with AsyncCryptographyClient(rsa_key, AsyncFakeCredential(), **opts) as crypto:
                enc = await crypto.encrypt(EncryptionAlgorithm.rsa_oaep_256, b"async")
                assert (await crypto.decrypt(EncryptionAlgorithm.rsa_oaep_256, enc.ciphertext)).plaintext == b"async"
                digest = hashlib.sha256(b"async").digest()
                sig = (await crypto.sign(SignatureAlgorithm.ps256, digest)).signature
                verify_locally(rsa_key.key, "PS256", digest, sig)
            async with AsyncCryptographyClient(ec_key.id, AsyncFakeCredential(), **opts) as crypto:
                sig = (await crypto.sign(SignatureAlgorithm.es256, digest)).signature
                verify_locally(ec_key.key, "ES256", digest, sig)
                assert (await crypto.verify(SignatureAlgorithm.es256, digest, sig)).is_valid

            deleted = await client.delete_key(name, _polling_interval=0)
            assert deleted.name == name
            await client.purge_deleted_key(name)
            with pytest.raises(ResourceNotFoundError):
                await client.get_deleted_key(name)

    asyncio.run(main())
