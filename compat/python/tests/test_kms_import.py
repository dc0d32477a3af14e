"""Imported key material through boto3: material generated and wrapped with `cryptography` (RSA-OAEP, and
RSA-OAEP + AES key wrap with padding for the RSA_AES_KEY_WRAP algorithms), then checked independently: HMACs
recomputed locally, public keys compared, signatures verified with `cryptography`."""

import base64
import datetime
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import urllib.request

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from conftest import KMS_URL


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def wrap(public_key_der, algorithm, material):
    public = serialization.load_der_public_key(public_key_der)
    sha = hashes.SHA1() if algorithm.endswith("SHA_1") else hashes.SHA256()
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=sha), algorithm=sha, label=None)
    if algorithm.startswith("RSAES_OAEP"):
        return public.encrypt(material, oaep)
    aes_key = os.urandom(32)
    return public.encrypt(aes_key, oaep) + aes_key_wrap_with_padding(aes_key, material)


def external_key(kms, spec="SYMMETRIC_DEFAULT", usage="ENCRYPT_DECRYPT"):
    meta = kms.create_key(Origin="EXTERNAL", KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
    assert meta["KeyState"] == "PendingImport"
    assert meta["Origin"] == "EXTERNAL"
    return meta["KeyId"]


def import_material(kms, key, material, algorithm="RSAES_OAEP_SHA_256", wrapping_spec="RSA_2048", **extra):
    params = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm=algorithm, WrappingKeySpec=wrapping_spec)
    if "ValidTo" not in extra:
        extra.setdefault("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    return kms.import_key_material(
        KeyId=key,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrap(params["PublicKey"], algorithm, material),
        **extra,
    )


def advance_clock(seconds):
    request = urllib.request.Request(
        f"{KMS_URL}/_parlel/clock",
        data=json.dumps({"advanceSeconds": seconds}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def server_now():
    with urllib.request.urlopen(f"{KMS_URL}/_parlel/clock") as response:
        return json.load(response)["now"]


@pytest.mark.parametrize(
    "algorithm",
    ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"],
)
def test_hmac_key_imported_with_each_wrapping_algorithm_macs_like_hmac(kms, algorithm):
    key = external_key(kms, "HMAC_384", "GENERATE_VERIFY_MAC")
    material = os.urandom(64)
    import_material(kms, key, material, algorithm)
    mac = kms.generate_mac(KeyId=key, MacAlgorithm="HMAC_SHA_384", Message=b"compat")["Mac"]
    assert mac == hmac.new(material, b"compat", hashlib.sha384).digest()


def test_symmetric_import_round_trip_delete_and_reimport(kms):
    key = external_key(kms)
    with pytest.raises(ClientError) as e:
        kms.encrypt(KeyId=key, Plaintext=b"x")
    assert error_code(e) == "KMSInvalidStateException"
    material = os.urandom(32)
    material_id = import_material(kms, key, material, wrapping_spec="RSA_4096")["KeyMaterialId"]
    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert meta["KeyState"] == "Enabled"
    assert meta["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    assert meta["CurrentKeyMaterialId"] == material_id
    blob = kms.encrypt(KeyId=key, Plaintext=b"compat")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"compat"

    deleted = kms.delete_imported_key_material(KeyId=key)
    assert deleted["KeyMaterialId"] == material_id
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"
    with pytest.raises(ClientError) as e:
        kms.decrypt(CiphertextBlob=blob)
    assert error_code(e) == "KMSInvalidStateException"
    with pytest.raises(ClientError) as e:
        import_material(kms, key, os.urandom(32))
    assert error_code(e) == "IncorrectKeyMaterialException"
    import_material(kms, key, material, "RSA_AES_KEY_WRAP_SHA_256")
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"compat"


def test_imported_ecc_key_signs_with_our_key(kms):
    private = ec.generate_private_key(ec.SECP384R1())
    pkcs8 = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key = external_key(kms, "ECC_NIST_P384", "SIGN_VERIFY")
    import_material(kms, key, pkcs8, "RSA_AES_KEY_WRAP_SHA_1", "RSA_3072")
    spki = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert kms.get_public_key(KeyId=key)["PublicKey"] == spki
    signature = kms.sign(KeyId=key, Message=b"compat", SigningAlgorithm="ECDSA_SHA_384")["Signature"]
    private.public_key().verify(signature, b"compat", ec.ECDSA(hashes.SHA384()))


def test_material_expires_on_the_server_clock(kms):
    key = external_key(kms)
    material = os.urandom(32)
    valid_to = datetime.datetime.fromtimestamp(server_now() + 3600, tz=datetime.timezone.utc)
    import_material(kms, key, material, ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=valid_to)
    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert meta["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert abs(meta["ValidTo"].timestamp() - valid_to.timestamp()) < 1
    blob = kms.encrypt(KeyId=key, Plaintext=b"soon gone")["CiphertextBlob"]
    advance_clock(7200)
    try:
        assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"
        with pytest.raises(ClientError) as e:
            kms.decrypt(CiphertextBlob=blob)
        assert error_code(e) == "KMSInvalidStateException"
        import_material(kms, key, material)
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"soon gone"
    finally:
        advance_clock(-7200)


def test_import_errors(kms):
    key = external_key(kms)
    other = external_key(kms)
    params = kms.get_parameters_for_import(
        KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
    )
    other_params = kms.get_parameters_for_import(
        KeyId=other, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
    )
    material = os.urandom(32)

    def attempt(token, wrapped, **extra):
        extra.setdefault("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
        with pytest.raises(ClientError) as e:
            kms.import_key_material(KeyId=key, ImportToken=token, EncryptedKeyMaterial=wrapped, **extra)
        return error_code(e)

    good = wrap(params["PublicKey"], "RSAES_OAEP_SHA_256", material)
    assert attempt(other_params["ImportToken"], good) == "InvalidImportTokenException"
    assert attempt(params["ImportToken"], wrap(other_params["PublicKey"], "RSAES_OAEP_SHA_256", material)) == (
        "InvalidCiphertextException"
    )
    assert attempt(params["ImportToken"], good, ExpirationModel="KEY_MATERIAL_EXPIRES") == "ValidationException"
    for spec, algorithm in [("RSA_2048", "RSAES_PKCS1_V1_5"), ("SM2", "RSAES_OAEP_SHA_256")]:
        with pytest.raises(ClientError) as e:
            kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm=algorithm, WrappingKeySpec=spec)
        assert error_code(e) == "ValidationException"
    native = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as e:
        kms.delete_imported_key_material(KeyId=native)
    assert error_code(e) == "UnsupportedOperationException"


@pytest.mark.awscli
@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_aws_cli_import_flow(kms, tmp_path):
    """The developer guide's flow with the AWS CLI: get-parameters-for-import, wrap, import-key-material fileb://."""
    env = dict(os.environ, AWS_ACCESS_KEY_ID="parlel", AWS_SECRET_ACCESS_KEY="parlel", AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_PAGER="")

    def aws(*args):
        out = subprocess.run([shutil.which("aws"), "--endpoint-url", KMS_URL, "--output", "json", "kms", *args],
                             env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout) if out.stdout.strip() else {}

    key = aws("create-key", "--origin", "EXTERNAL")["KeyMetadata"]["KeyId"]
    params = aws("get-parameters-for-import", "--key-id", key, "--wrapping-algorithm", "RSA_AES_KEY_WRAP_SHA_256",
                 "--wrapping-key-spec", "RSA_3072")
    material = os.urandom(32)
    wrapped = tmp_path / "EncryptedKeyMaterial.bin"
    wrapped.write_bytes(wrap(base64.b64decode(params["PublicKey"]), "RSA_AES_KEY_WRAP_SHA_256", material))
    token = tmp_path / "ImportToken.bin"
    token.write_bytes(base64.b64decode(params["ImportToken"]))
    imported = aws("import-key-material", "--key-id", key, "--encrypted-key-material", f"fileb://{wrapped}",
                   "--import-token", f"fileb://{token}", "--expiration-model", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert len(imported["KeyMaterialId"]) == 64
    blob = kms.encrypt(KeyId=key, Plaintext=b"cli import")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"cli import"
    assert aws("delete-imported-key-material", "--key-id", key)["KeyMaterialId"] == imported["KeyMaterialId"]
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"
