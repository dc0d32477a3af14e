"""Azure Key Vault certificates through azure-keyvault-certificates (sync) over HTTPS: create with the SDK's default
policy and its poller, the managed secret's PFX opened by `cryptography`, import of PFX files `cryptography` writes
(with and without a password, the form users make them in), and delete/purge."""

import base64
import hashlib

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.certificates import (
    CertificateClient,
    CertificateContact,
    CertificateContentType,
    CertificatePolicy,
)
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


# --------------------------------------------------------------------------------------------- further tests

FAST = {"_polling_interval": 0}


def _pfx_of(plain_secrets, name):
    """The managed secret of certificate `name`, opened: (key, leaf, chain)."""
    secret = plain_secrets.get_secret(name)
    assert secret.properties.content_type == "application/x-pkcs12"
    return pkcs12.load_key_and_certificates(base64.b64decode(secret.value), None)


def _ca(cn="compat test CA"):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def _der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def _verify_issued_by(leaf, ca):
    """Raises InvalidSignature unless the EC key of `ca` signed `leaf`."""
    ca.public_key().verify(leaf.signature, leaf.tbs_certificate_bytes, ec.ECDSA(leaf.signature_hash_algorithm))


def test_managed_pfx_opens_with_the_openssl_cli(certs, plain_secrets, unique, tmp_path):
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("no openssl on PATH")
    name = unique("ossl")
    cert = certs.begin_create_certificate(name, CertificatePolicy.get_default(), **FAST).result()
    pfx = tmp_path / "managed.pfx"
    pfx.write_bytes(base64.b64decode(plain_secrets.get_secret(name).value))
    out = subprocess.run(["openssl", "pkcs12", "-in", str(pfx), "-passin", "pass:", "-nokeys"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert x509.load_pem_x509_certificate(out.stdout.encode()).public_bytes(serialization.Encoding.DER) == bytes(cert.cer)
    keys = subprocess.run(["openssl", "pkcs12", "-in", str(pfx), "-passin", "pass:", "-nocerts", "-nodes"],
                          capture_output=True, text=True)
    assert keys.returncode == 0, keys.stderr
    assert "PRIVATE KEY-----" in keys.stdout


def test_import_pem_rsa_with_a_chain(certs, plain_secrets, unique):
    ca_key, ca = _ca()
    key = rsa.generate_private_key(65537, 2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pem-rsa")]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=10)).sign(ca_key, hashes.SHA256()))
    pem = (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())
           + leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM))
    name = unique("pemrsa")
    cert = certs.import_certificate(name, pem, policy=CertificatePolicy(issuer_name="Unknown",
                                                                        content_type=CertificateContentType.pem))
    assert bytes(cert.cer) == _der(leaf)
    assert cert.policy.issuer_name == "Unknown"
    assert cert.policy.key_type == "RSA" and cert.policy.key_size == 2048
    value = plain_secrets.get_secret(name).value
    assert "PRIVATE KEY-----" in value
    in_secret = x509.load_pem_x509_certificates(value[value.index("-----BEGIN CERTIFICATE-----"):].encode())
    assert [_der(c) for c in in_secret] == [_der(leaf), _der(ca)]


def test_merge_a_csr_signed_by_an_outside_ca(certs, plain_secrets, unique):
    name = unique("merge")
    certs.begin_create_certificate(name, CertificatePolicy(issuer_name="Unknown", subject="CN=merge-me"))
    operation = certs.get_certificate_operation(name)
    assert operation.status == "inProgress"
    assert operation.issuer_name == "Unknown"
    csr = x509.load_der_x509_csr(bytes(operation.csr))
    assert csr.is_signature_valid
    assert csr.subject.rfc4514_string() == "CN=merge-me"

    ca_key, ca = _ca()
    now = datetime.datetime.now(datetime.timezone.utc)

    def issue(public_key):
        return (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca.subject).public_key(public_key)
                .serial_number(x509.random_serial_number()).not_valid_before(now)
                .not_valid_after(now + datetime.timedelta(days=30)).sign(ca_key, hashes.SHA256()))

    # a certificate for some other key does not complete the pending operation
    stranger = issue(rsa.generate_private_key(65537, 2048).public_key())
    with pytest.raises(HttpResponseError) as refused:
        certs.merge_certificate(name, [_der(stranger), _der(ca)])
    assert refused.value.status_code == 400
    assert certs.get_certificate_operation(name).status == "inProgress"

    leaf = issue(csr.public_key())
    merged = certs.merge_certificate(name, [_der(leaf), _der(ca)])
    assert bytes(merged.cer) == _der(leaf)
    assert bytes(certs.get_certificate(name).cer) == _der(leaf)
    assert certs.get_certificate_operation(name).status == "completed"
    key, in_pfx, chain = _pfx_of(plain_secrets, name)
    assert _der(in_pfx) == _der(leaf)
    assert key.public_key().public_numbers() == csr.public_key().public_numbers()
    assert [_der(c) for c in chain] == [_der(ca)]


def test_issuers_and_contacts(certs, plain_secrets, unique):
    issuer_name = unique("digicert")
    created = certs.create_issuer(issuer_name, provider="DigiCert", account_id="acct-1", password="s3cret")
    assert created.name == issuer_name and created.provider == "DigiCert"
    got = certs.get_issuer(issuer_name)
    assert got.provider == "DigiCert"
    assert got.account_id == "acct-1"
    assert got.password is None, "the issuer password is never sent back"
    assert issuer_name in {p.name for p in certs.list_properties_of_issuers()}

    contacts = certs.set_contacts([CertificateContact(email="admin@example.test", name="Admin", phone="555-0100")])
    assert [(c.email, c.name, c.phone) for c in contacts] == [("admin@example.test", "Admin", "555-0100")]
    assert [(c.email, c.name) for c in certs.get_contacts()] == [("admin@example.test", "Admin")]
    deleted = certs.delete_contacts()
    assert [c.email for c in deleted] == ["admin@example.test"]
    with pytest.raises(ResourceNotFoundError):
        certs.get_contacts()

    name = unique("issued")
    cert = certs.begin_create_certificate(
        name, CertificatePolicy(issuer_name=issuer_name, subject="CN=issued.test", san_dns_names=["issued.test"]),
        **FAST).result()
    assert cert.policy.issuer_name == issuer_name
    leaf = x509.load_der_x509_certificate(bytes(cert.cer))
    assert leaf.issuer != leaf.subject
    _, in_pfx, chain = _pfx_of(plain_secrets, name)
    assert _der(in_pfx) == bytes(cert.cer)
    assert chain, "the PFX carries the issuing CA"
    _verify_issued_by(leaf, chain[-1])
    assert chain[-1].subject == leaf.issuer

    certs.delete_issuer(issuer_name)
    with pytest.raises(ResourceNotFoundError):
        certs.get_issuer(issuer_name)


def test_unknown_issuer_name_is_refused(certs, unique):
    with pytest.raises(HttpResponseError) as refused:
        certs.begin_create_certificate(unique("noissuer"),
                                       CertificatePolicy(issuer_name=unique("nobody"), subject="CN=x"))
    assert refused.value.status_code == 400


def test_lifecycle(certs, unique):
    name = unique("life")
    first = certs.begin_create_certificate(name, CertificatePolicy.get_default(), **FAST).result()
    second = certs.begin_create_certificate(name, CertificatePolicy.get_default(), **FAST).result()
    assert first.properties.version != second.properties.version
    versions = {p.version for p in certs.list_properties_of_certificate_versions(name)}
    assert versions == {first.properties.version, second.properties.version}
    assert bytes(certs.get_certificate_version(name, first.properties.version).cer) == bytes(first.cer)

    updated = certs.update_certificate_properties(name, tags={"team": "compat"})
    assert updated.properties.tags == {"team": "compat"}
    assert updated.properties.version == second.properties.version
    assert certs.get_certificate(name).properties.tags == {"team": "compat"}

    policy = certs.get_certificate_policy(name)
    assert policy.issuer_name == "Self" and policy.subject == "CN=DefaultPolicy"
    policy = CertificatePolicy(issuer_name="Self", subject="CN=updated-policy", validity_in_months=3)
    changed = certs.update_certificate_policy(name, policy)
    assert changed.subject == "CN=updated-policy" and changed.validity_in_months == 3
    assert certs.get_certificate_policy(name).subject == "CN=updated-policy"
    third = certs.begin_create_certificate(name, certs.get_certificate_policy(name), **FAST).result()
    assert x509.load_der_x509_certificate(bytes(third.cer)).subject.rfc4514_string() == "CN=updated-policy"

    deleted = certs.begin_delete_certificate(name, **FAST).result()
    assert deleted.name == name and deleted.recovery_id
    assert certs.get_deleted_certificate(name).properties.version == third.properties.version
    assert name in {d.name for d in certs.list_deleted_certificates()}
    with pytest.raises(ResourceNotFoundError):
        certs.get_certificate(name)
    recovered = certs.begin_recover_deleted_certificate(name, **FAST).result()
    assert recovered.properties.version == third.properties.version
    assert bytes(certs.get_certificate(name).cer) == bytes(third.cer)

    backup = certs.backup_certificate(name)
    assert isinstance(backup, bytes) and backup
    certs.begin_delete_certificate(name, **FAST).wait()
    certs.purge_deleted_certificate(name)
    with pytest.raises(ResourceNotFoundError):
        certs.get_deleted_certificate(name)
    restored = certs.restore_certificate_backup(backup)
    assert restored.name == name
    assert bytes(restored.cer) == bytes(third.cer)
    assert {p.version for p in certs.list_properties_of_certificate_versions(name)} == {
        first.properties.version, second.properties.version, third.properties.version}
    with pytest.raises(ResourceExistsError):
        certs.restore_certificate_backup(backup)


def _pem_secret(plain_secrets, name):
    """GET /secrets/{name}?outContentType=application/x-pem-file through the SDK pipeline."""
    from azure.core.rest import HttpRequest

    request = HttpRequest("GET", f"/secrets/{name}",
                          params={"outContentType": "application/x-pem-file", "api-version": "2025-07-01"})
    response = plain_secrets.send_request(request)
    assert response.status_code == 200, response.text()
    return response.json()


def test_tls_with_a_certificate_the_issuer_made(certs, plain_secrets, unique, tmp_path):
    import socket
    import ssl
    import threading

    issuer_name = unique("tls-issuer")
    certs.create_issuer(issuer_name, provider="DigiCert", account_id="acct", password="pw")
    name = unique("tls")
    cert = certs.begin_create_certificate(
        name, CertificatePolicy(issuer_name=issuer_name, subject="CN=localhost", san_dns_names=["localhost"]),
        **FAST).result()

    pem = _pem_secret(plain_secrets, name)
    assert pem["contentType"] == "application/x-pem-file"
    value = pem["value"]
    chain = x509.load_pem_x509_certificates(value[value.index("-----BEGIN CERTIFICATE-----"):].encode())
    assert _der(chain[0]) == bytes(cert.cer)
    assert len(chain) >= 2
    ca = chain[-1]
    _verify_issued_by(chain[0], ca)
    # the same material as the PFX
    key, _, _ = _pfx_of(plain_secrets, name)
    pem_key = serialization.load_pem_private_key(value.encode(), None)
    assert pem_key.public_key().public_numbers() == key.public_key().public_numbers()

    server_pem = tmp_path / "server.pem"
    server_pem.write_text(value)
    ca_pem = tmp_path / "ca.pem"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(str(server_pem))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    errors = []

    def serve():
        try:
            conn, _ = listener.accept()
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(tls.recv(64).upper())
        except Exception as e:  # noqa: BLE001 - reported by the client side's assertion
            errors.append(e)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client_ctx.load_verify_locations(cafile=str(ca_pem))
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with client_ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"ping")
                assert tls.recv(64) == b"PING"
                peer = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
                assert _der(peer) == bytes(cert.cer)
    finally:
        thread.join(10)
        listener.close()
    assert not errors, errors
