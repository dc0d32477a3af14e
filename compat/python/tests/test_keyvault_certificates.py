"""Azure Key Vault certificates through azure-keyvault-certificates (sync) over HTTPS: create with the SDK's default
policy and its poller, the managed secret's PFX opened by `cryptography`, import of PFX files `cryptography` writes
(with and without a password, the form users make them in), and delete/purge."""

import base64
import hashlib

import pytest
from azure.keyvault.certificates import CertificateClient, CertificatePolicy, CertificateContentType
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
import datetime

from conftest import KEYVAULT_TLS_URL, TLS_CA, FakeCredential, secret_client


@pytest.fixture(scope="module")
def certs():
    return CertificateClient(KEYVAULT_TLS_URL, FakeCredential(), connection_verify=TLS_CA,
                             verify_challenge_resource=False)


@pytest.fixture(scope="module")
def plain_secrets():
    return secret_client(verify_challenge_resource=False)


def test_create_with_the_default_policy(certs, plain_secrets, unique):
    name = unique("cert")
    poller = certs.begin_create_certificate(name, CertificatePolicy.get_default())
    cert = poller.result()
    assert cert.cer, "the created certificate carries its DER"
    parsed = x509.load_der_x509_certificate(bytes(cert.cer))
    assert parsed.subject.rfc4514_string() == "CN=DefaultPolicy"
    parsed.public_key().verify(parsed.signature, parsed.tbs_certificate_bytes, padding.PKCS1v15(),
                               parsed.signature_hash_algorithm)
    assert cert.properties.x509_thumbprint == hashlib.sha1(bytes(cert.cer)).digest()
    assert cert.policy.issuer_name == "Self"
    assert cert.policy.validity_in_months == 12
    secret = plain_secrets.get_secret(name)
    assert secret.properties.content_type == "application/x-pkcs12"
    key, leaf, _ = pkcs12.load_key_and_certificates(base64.b64decode(secret.value), None)
    assert leaf.public_bytes(serialization.Encoding.DER) == bytes(cert.cer)
    assert key.public_key().public_numbers() == parsed.public_key().public_numbers()
    certs.begin_delete_certificate(name).wait()
    certs.purge_deleted_certificate(name)


def _self_signed(key, cn):
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))


@pytest.mark.parametrize("kind", ["rsa", "ec"])
@pytest.mark.parametrize("password", [None, b"pfx-password"])
def test_import_pfx_written_by_cryptography(certs, unique, kind, password):
    key = rsa.generate_private_key(65537, 2048) if kind == "rsa" else ec.generate_private_key(ec.SECP256R1())
    leaf = _self_signed(key, "imported.test")
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    pfx = pkcs12.serialize_key_and_certificates(b"imported", key, leaf, None, encryption)
    name = unique("imp")
    cert = certs.import_certificate(name, pfx, password=password.decode() if password else None)
    assert bytes(cert.cer) == leaf.public_bytes(serialization.Encoding.DER)
    assert cert.policy.issuer_name == "Unknown"
    assert cert.policy.content_type == CertificateContentType.pkcs12


def test_import_pem(certs, plain_secrets, unique):
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = _self_signed(key, "pem.test")
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()) + leaf.public_bytes(serialization.Encoding.PEM)
    name = unique("pem")
    policy = CertificatePolicy(issuer_name="Unknown", content_type=CertificateContentType.pem)
    cert = certs.import_certificate(name, pem, policy=policy)
    assert bytes(cert.cer) == leaf.public_bytes(serialization.Encoding.DER)
    secret = plain_secrets.get_secret(name)
    assert secret.properties.content_type == "application/x-pem-file"
    assert secret.value.startswith("-----BEGIN PRIVATE KEY-----")
