"""The official azure-keyvault-certificates hello_world sample (../samples/certificates_hello_world.py, changed only
in its connection) run in this process against trent, in a fresh vault of its own like the keys samples in
test_keyvault_keys_samples.py, since it uses a fixed certificate name."""

from cryptography import x509

from conftest import TLS_CA, FakeCredential
from azure.keyvault.certificates import CertificateClient
from test_keyvault_keys_samples import run_sample, sample_vault  # noqa: F401 (the fixture)


def test_certificates_hello_world(sample_vault, capsys):  # noqa: F811
    out = run_sample("certificates_hello_world.py", capsys)
    assert "Certificate with name 'HelloWorldCertificate' created" in out
    assert "Certificate with name 'HelloWorldCertificate' was found'." in out
    assert "Certificate with name 'HelloWorldCertificate' was updated with tags '{'a': 'b'}'" in out
    assert "Certificate with name 'HelloWorldCertificate' was deleted." in out
    assert "run_sample done" in out
    client = CertificateClient(sample_vault, FakeCredential(), connection_verify=TLS_CA)
    deleted = client.get_deleted_certificate("HelloWorldCertificate")
    assert deleted.properties.tags == {"a": "b"}
    parsed = x509.load_der_x509_certificate(bytes(deleted.cer))
    assert parsed.subject.rfc4514_string() == "CN=*.microsoft.com"
    san = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["sdk.azure-int.net"]
    assert deleted.policy.validity_in_months == 24
    assert deleted.policy.key_size == 2048
