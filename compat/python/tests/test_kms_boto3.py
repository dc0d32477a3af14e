"""boto3 against trent's AWS KMS: every supported operation, its error codes, and independent signature checks."""

import base64
import json
import re
import urllib.error
import urllib.request
import uuid

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from conftest import ACCOUNT, KMS_URL, kms_client

ARN_RE = re.compile(r"^arn:aws:kms:us-east-1:000000000000:key/[0-9a-f-]{36}$")


def code_of(excinfo):
    return excinfo.value.response["Error"]["Code"]


def message_of(excinfo):
    return excinfo.value.response["Error"]["Message"]


# --------------------------------------------------------------------------------------------------- keys


def test_create_and_describe_key(kms):
    meta = kms.create_key(Description="hello", Tags=[{"TagKey": "team", "TagValue": "compat"}])["KeyMetadata"]
    assert ARN_RE.match(meta["Arn"]), meta["Arn"]
    assert meta["Arn"].endswith(meta["KeyId"])
    assert meta["AWSAccountId"] == ACCOUNT
    assert meta["Description"] == "hello"
    assert meta["Enabled"] is True
    assert meta["KeyState"] == "Enabled"
    assert meta["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert meta["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert meta["Origin"] == "AWS_KMS"
    assert meta["KeyManager"] == "CUSTOMER"
    assert meta["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]

    for ref in (meta["KeyId"], meta["Arn"]):
        described = kms.describe_key(KeyId=ref)["KeyMetadata"]
        assert described["KeyId"] == meta["KeyId"]
        assert described["Arn"] == meta["Arn"]
        assert described["CreationDate"] == meta["CreationDate"]
    tags = kms.list_resource_tags(KeyId=meta["KeyId"])["Tags"]
    assert {"TagKey": "team", "TagValue": "compat"} in tags


def test_describe_unknown_key_is_not_found(kms):
    with pytest.raises(ClientError) as e:
        kms.describe_key(KeyId=str(uuid.uuid4()))
    assert code_of(e) == "NotFoundException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_list_keys_pages_with_limit_and_marker(kms):
    created = {kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(3)}
    seen, marker, pages = [], None, 0
    while True:
        kwargs = {"Limit": 2}
        if marker:
            kwargs["Marker"] = marker
        page = kms.list_keys(**kwargs)
        pages += 1
        assert len(page["Keys"]) <= 2
        for k in page["Keys"]:
            assert k["KeyArn"].endswith(k["KeyId"])
        seen += [k["KeyId"] for k in page["Keys"]]
        if not page["Truncated"]:
            assert "NextMarker" not in page
            break
        marker = page["NextMarker"]
        assert pages < 10_000
    assert created <= set(seen)
    assert len(seen) == len(set(seen)), "a key was listed twice"
    assert pages >= 2
    # botocore's paginator follows the same markers
    via_paginator = [k["KeyId"] for p in kms.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 2})
                     for k in p["Keys"]]
    assert created <= set(via_paginator)


def test_list_keys_rejects_a_bad_marker(kms):
    with pytest.raises(ClientError) as e:
        kms.list_keys(Marker="not-a-marker-trent-gave")
    assert code_of(e) == "InvalidMarkerException"


def test_disable_and_enable(kms, key_id):
    kms.disable_key(KeyId=key_id)
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "Disabled" and meta["Enabled"] is False
    with pytest.raises(ClientError) as e:
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    assert code_of(e) == "DisabledException"
    kms.enable_key(KeyId=key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    kms.encrypt(KeyId=key_id, Plaintext=b"x")


def test_schedule_and_cancel_key_deletion(kms, key_id):
    out = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert out["KeyState"] == "PendingDeletion"
    assert out["PendingWindowInDays"] == 7
    assert out["KeyId"].endswith(key_id)
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion"
    assert "DeletionDate" in meta
    for call in (lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x"), lambda: kms.enable_key(KeyId=key_id)):
        with pytest.raises(ClientError) as e:
            call()
        assert code_of(e) == "KMSInvalidStateException"
    with pytest.raises(ClientError) as e:
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert code_of(e) == "KMSInvalidStateException"

    cancelled = kms.cancel_key_deletion(KeyId=key_id)
    assert cancelled["KeyId"].endswith(key_id)
    # as in AWS, a key whose deletion was cancelled comes back disabled
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    kms.enable_key(KeyId=key_id)
    kms.encrypt(KeyId=key_id, Plaintext=b"x")


def test_schedule_key_deletion_window_is_validated(kms, key_id):
    with pytest.raises(ClientError) as e:
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=3)
    assert code_of(e) == "ValidationException"


def test_update_key_description(kms, key_id):
    kms.update_key_description(KeyId=key_id, Description="new words")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "new words"


# ------------------------------------------------------------------------------------------------ crypto


def test_encrypt_decrypt_round_trip(kms, key_id):
    enc = kms.encrypt(KeyId=key_id, Plaintext=b"secret")
    assert enc["CiphertextBlob"] != b"secret"
    assert enc["KeyId"].endswith(key_id) and enc["KeyId"].startswith("arn:aws:kms:")
    assert enc["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    # without KeyId: the blob names its key
    dec = kms.decrypt(CiphertextBlob=enc["CiphertextBlob"])
    assert dec["Plaintext"] == b"secret"
    assert dec["KeyId"] == enc["KeyId"]
    assert dec["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    # with KeyId (key id and ARN)
    assert kms.decrypt(CiphertextBlob=enc["CiphertextBlob"], KeyId=key_id)["Plaintext"] == b"secret"
    assert kms.decrypt(CiphertextBlob=enc["CiphertextBlob"], KeyId=enc["KeyId"])["Plaintext"] == b"secret"
    # two encryptions of the same plaintext differ (random IV)
    assert kms.encrypt(KeyId=key_id, Plaintext=b"secret")["CiphertextBlob"] != enc["CiphertextBlob"]


def test_decrypt_with_the_wrong_key_is_incorrect_key(kms, key_id):
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"secret")["CiphertextBlob"]
    with pytest.raises(ClientError) as e:
        kms.decrypt(CiphertextBlob=blob, KeyId=other)
    assert code_of(e) == "IncorrectKeyException"


def test_tampered_ciphertext_is_invalid(kms, key_id):
    blob = bytearray(kms.encrypt(KeyId=key_id, Plaintext=b"secret")["CiphertextBlob"])
    blob[-1] ^= 0x01
    with pytest.raises(ClientError) as e:
        kms.decrypt(CiphertextBlob=bytes(blob))
    assert code_of(e) == "InvalidCiphertextException"
    with pytest.raises(ClientError) as e:
        kms.decrypt(CiphertextBlob=b"definitely not a kms ciphertext blob")
    assert code_of(e) == "InvalidCiphertextException"


def test_encryption_context_must_match(kms, key_id):
    ctx = {"purpose": "compat", "tenant": "t1"}
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"ctx", EncryptionContext=ctx)["CiphertextBlob"]
    # order of pairs does not matter
    reordered = dict(reversed(list(ctx.items())))
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=reordered)["Plaintext"] == b"ctx"
    for wrong in ({"purpose": "compat", "tenant": "t2"}, {"purpose": "compat"}, None):
        kwargs = {"CiphertextBlob": blob}
        if wrong is not None:
            kwargs["EncryptionContext"] = wrong
        with pytest.raises(ClientError) as e:
            kms.decrypt(**kwargs)
        assert code_of(e) == "InvalidCiphertextException", wrong


def test_encrypt_with_a_signing_key_is_invalid_key_usage(kms):
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as e:
        kms.encrypt(KeyId=key, Plaintext=b"x")
    assert code_of(e) == "InvalidKeyUsageException"


@pytest.mark.parametrize("spec,size", [("AES_256", 32), ("AES_128", 16)])
def test_generate_data_key_key_spec(kms, key_id, spec, size):
    out = kms.generate_data_key(KeyId=key_id, KeySpec=spec)
    assert len(out["Plaintext"]) == size
    assert out["KeyId"].endswith(key_id)
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"] == out["Plaintext"]


def test_generate_data_key_number_of_bytes_and_context(kms, key_id):
    out = kms.generate_data_key(KeyId=key_id, NumberOfBytes=64, EncryptionContext={"a": "b"})
    assert len(out["Plaintext"]) == 64
    dec = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"a": "b"})
    assert dec["Plaintext"] == out["Plaintext"]


def test_generate_data_key_needs_exactly_one_size(kms, key_id):
    for kwargs in ({}, {"KeySpec": "AES_256", "NumberOfBytes": 32}):
        with pytest.raises(ClientError) as e:
            kms.generate_data_key(KeyId=key_id, **kwargs)
        assert code_of(e) == "ValidationException", kwargs


def test_generate_data_key_without_plaintext(kms, key_id):
    out = kms.generate_data_key_without_plaintext(KeyId=key_id, KeySpec="AES_256")
    assert "Plaintext" not in out
    assert out["KeyId"].endswith(key_id)
    assert len(kms.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"]) == 32


def test_re_encrypt(kms, key_id):
    dest = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"move me", EncryptionContext={"k": "v"})["CiphertextBlob"]
    out = kms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext={"k": "v"},
        DestinationKeyId=dest["KeyId"],
        DestinationEncryptionContext={"k2": "v2"},
    )
    assert out["SourceKeyId"].endswith(key_id)
    assert out["KeyId"] == dest["Arn"]
    dec = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"k2": "v2"})
    assert dec["Plaintext"] == b"move me"
    assert dec["KeyId"] == dest["Arn"]
    with pytest.raises(ClientError) as e:
        kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dest["KeyId"])  # source context missing
    assert code_of(e) == "InvalidCiphertextException"


def test_generate_random(kms):
    a = kms.generate_random(NumberOfBytes=32)["Plaintext"]
    b = kms.generate_random(NumberOfBytes=32)["Plaintext"]
    assert len(a) == 32 and len(b) == 32 and a != b
    with pytest.raises(ClientError) as e:
        kms.generate_random(NumberOfBytes=2048)
    assert code_of(e) == "ValidationException"


# --------------------------------------------------------------------------------------- asymmetric keys

SIGNING_CASES = [
    ("RSA_2048", "RSASSA_PSS_SHA_256"),
    ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256"),
    ("RSA_2048", "RSASSA_PSS_SHA_512"),
    ("ECC_NIST_P256", "ECDSA_SHA_256"),
    ("ECC_NIST_P384", "ECDSA_SHA_384"),
    ("ECC_NIST_P521", "ECDSA_SHA_512"),
    ("ECC_SECG_P256K1", "ECDSA_SHA_256"),
]
HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
_signing_keys = {}


def signing_key(kms, spec):
    """One key per spec for the session (RSA generation is slow)."""
    if spec not in _signing_keys:
        meta = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        _signing_keys[spec] = meta
    return _signing_keys[spec]


def verify_locally(public_key, algorithm, message, signature, prehashed=False):
    digest = HASHES[algorithm.rsplit("_", 1)[1]]()
    algo = utils.Prehashed(digest) if prehashed else digest
    if algorithm.startswith("ECDSA"):
        public_key.verify(signature, message, ec.ECDSA(algo))
    elif algorithm.startswith("RSASSA_PSS"):
        # KMS uses a salt as long as the digest
        pad = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
        public_key.verify(signature, message, pad, algo)
    else:
        public_key.verify(signature, message, padding.PKCS1v15(), algo)


@pytest.mark.parametrize("spec,algorithm", SIGNING_CASES)
def test_sign_verify_checked_independently(kms, spec, algorithm):
    meta = signing_key(kms, spec)
    assert meta["KeySpec"] == spec and meta["KeyUsage"] == "SIGN_VERIFY"
    assert algorithm in meta["SigningAlgorithms"]
    pub = kms.get_public_key(KeyId=meta["KeyId"])
    assert pub["KeySpec"] == spec
    assert algorithm in pub["SigningAlgorithms"]
    public_key = serialization.load_der_public_key(pub["PublicKey"])
    if spec.startswith("RSA"):
        assert isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size == 2048
    else:
        assert isinstance(public_key, ec.EllipticCurvePublicKey)

    message = b"message signed by trent " + uuid.uuid4().bytes
    sig = kms.sign(KeyId=meta["KeyId"], Message=message, MessageType="RAW", SigningAlgorithm=algorithm)
    assert sig["SigningAlgorithm"] == algorithm
    assert sig["KeyId"] == meta["Arn"]
    verify_locally(public_key, algorithm, message, sig["Signature"])
    with pytest.raises(InvalidSignature):
        verify_locally(public_key, algorithm, message + b"!", sig["Signature"])

    ok = kms.verify(KeyId=meta["KeyId"], Message=message, Signature=sig["Signature"], SigningAlgorithm=algorithm)
    assert ok["SignatureValid"] is True
    with pytest.raises(ClientError) as e:
        kms.verify(KeyId=meta["KeyId"], Message=message + b"!", Signature=sig["Signature"],
                   SigningAlgorithm=algorithm)
    assert code_of(e) == "KMSInvalidSignatureException"

    # MessageType=DIGEST signs the digest as given
    digest_alg = HASHES[algorithm.rsplit("_", 1)[1]]()
    h = hashes.Hash(digest_alg)
    h.update(message)
    digest = h.finalize()
    dsig = kms.sign(KeyId=meta["KeyId"], Message=digest, MessageType="DIGEST", SigningAlgorithm=algorithm)
    verify_locally(public_key, algorithm, digest, dsig["Signature"], prehashed=True)
    verify_locally(public_key, algorithm, message, dsig["Signature"])


def test_sign_with_an_algorithm_the_key_lacks(kms):
    meta = signing_key(kms, "ECC_NIST_P256")
    with pytest.raises(ClientError) as e:
        kms.sign(KeyId=meta["KeyId"], Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")
    assert code_of(e) == "InvalidKeyUsageException"


def test_sign_with_a_symmetric_key_is_invalid_key_usage(kms, key_id):
    with pytest.raises(ClientError) as e:
        kms.sign(KeyId=key_id, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    assert code_of(e) == "InvalidKeyUsageException"


def test_rsa_encryption_key_decrypts_what_the_public_key_encrypted(kms):
    meta = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    assert "RSAES_OAEP_SHA_256" in meta["EncryptionAlgorithms"]
    public_key = serialization.load_der_public_key(kms.get_public_key(KeyId=meta["KeyId"])["PublicKey"])
    ct = public_key.encrypt(
        b"for rsa", padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    out = kms.decrypt(CiphertextBlob=ct, KeyId=meta["KeyId"], EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert out["Plaintext"] == b"for rsa"
    enc = kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"both ways", EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    out = kms.decrypt(CiphertextBlob=enc["CiphertextBlob"], KeyId=meta["KeyId"], EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    assert out["Plaintext"] == b"both ways"


# ------------------------------------------------------------------------------------------------ aliases


def test_aliases(kms, key_id, unique):
    alias = "alias/" + unique("compat")
    alias_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:{alias}"
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)

    listed = kms.list_aliases(KeyId=key_id)["Aliases"]
    entry = next(a for a in listed if a["AliasName"] == alias)
    assert entry["AliasArn"] == alias_arn
    assert entry["TargetKeyId"] == key_id
    everything = [a["AliasName"] for p in kms.get_paginator("list_aliases").paginate() for a in p["Aliases"]]
    assert alias in everything

    # alias name and alias ARN work wherever a KeyId goes
    for ref in (alias, alias_arn):
        assert kms.describe_key(KeyId=ref)["KeyMetadata"]["KeyId"] == key_id
        blob = kms.encrypt(KeyId=ref, Plaintext=b"via alias")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob, KeyId=ref)["Plaintext"] == b"via alias"

    with pytest.raises(ClientError) as e:
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    assert code_of(e) == "AlreadyExistsException"

    other = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.update_alias(AliasName=alias, TargetKeyId=other)
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == other

    kms.delete_alias(AliasName=alias)
    with pytest.raises(ClientError) as e:
        kms.describe_key(KeyId=alias)
    assert code_of(e) == "NotFoundException"
    with pytest.raises(ClientError) as e:
        kms.delete_alias(AliasName=alias)
    assert code_of(e) == "NotFoundException"


def test_alias_name_needs_the_prefix(kms, key_id, unique):
    with pytest.raises(ClientError) as e:
        kms.create_alias(AliasName=unique("no-prefix"), TargetKeyId=key_id)
    assert code_of(e) == "ValidationException"


def test_alias_to_unknown_key_is_not_found(kms, unique):
    with pytest.raises(ClientError) as e:
        kms.create_alias(AliasName="alias/" + unique(), TargetKeyId=str(uuid.uuid4()))
    assert code_of(e) == "NotFoundException"


# ----------------------------------------------------------------------------------------- rotation, tags


def test_key_rotation(kms, key_id):
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False
    kms.enable_key_rotation(KeyId=key_id)
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    kms.disable_key_rotation(KeyId=key_id)
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False


def test_rotation_of_an_asymmetric_key_is_unsupported(kms):
    meta = signing_key(kms, "ECC_NIST_P256")
    with pytest.raises(ClientError) as e:
        kms.enable_key_rotation(KeyId=meta["KeyId"])
    assert code_of(e) == "UnsupportedOperationException"


def test_tags(kms, key_id):
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "a", "TagValue": "1"}, {"TagKey": "b", "TagValue": "2"}])
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "a", "TagValue": "3"}])  # overwrites
    tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key_id)["Tags"]}
    assert tags == {"a": "3", "b": "2"}
    kms.untag_resource(KeyId=key_id, TagKeys=["a"])
    tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key_id)["Tags"]}
    assert tags == {"b": "2"}
    with pytest.raises(ClientError) as e:
        kms.tag_resource(KeyId=str(uuid.uuid4()), Tags=[{"TagKey": "a", "TagValue": "1"}])
    assert code_of(e) == "NotFoundException"


# ------------------------------------------------------------------------------------- regions, protocol


def test_regions_are_isolated(kms, kms_eu, key_id):
    with pytest.raises(ClientError) as e:
        kms_eu.describe_key(KeyId=key_id)
    assert code_of(e) == "NotFoundException"
    eu = kms_eu.create_key()["KeyMetadata"]
    assert eu["Arn"].startswith(f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/")
    with pytest.raises(ClientError) as e:
        kms.describe_key(KeyId=eu["KeyId"])
    assert code_of(e) == "NotFoundException"
    assert eu["KeyId"] not in [k["KeyId"] for p in kms.get_paginator("list_keys").paginate() for k in p["Keys"]]


def test_missing_key_id_is_a_validation_exception(kms_raw):
    with pytest.raises(ClientError) as e:
        kms_raw.encrypt(Plaintext=b"x")
    assert code_of(e) == "ValidationException"
    msg = message_of(e)
    assert "keyId" in msg and "must not be null" in msg, msg


def test_out_of_range_values_are_validation_exceptions(kms_raw, key_id):
    with pytest.raises(ClientError) as e:
        kms_raw.generate_random(NumberOfBytes=0)
    assert code_of(e) == "ValidationException"
    assert "numberOfBytes" in message_of(e)
    with pytest.raises(ClientError) as e:
        kms_raw.create_key(KeySpec="NOT_A_SPEC")
    assert code_of(e) == "ValidationException"
    assert "keySpec" in message_of(e)


def raw_call(target, body, region="us-east-1"):
    """A SigV4-signed AWS JSON 1.1 request, bypassing botocore's operation model."""
    req = AWSRequest(
        method="POST",
        url=KMS_URL + "/",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
    )
    SigV4Auth(Credentials("parlel", "parlel"), "kms", region).add_auth(req)
    prepared = req.prepare()
    http = urllib.request.Request(prepared.url, data=prepared.body, headers=dict(prepared.headers), method="POST")
    try:
        with urllib.request.urlopen(http, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def error_type(body):
    return body.get("__type", "").rsplit("#", 1)[-1]


def test_unknown_operation(kms):
    status, body = raw_call("TrentService.NoSuchThing", {})
    assert status == 400
    assert error_type(body) == "UnknownOperationException"


def test_raw_missing_key_id(kms):
    status, body = raw_call("TrentService.DescribeKey", {})
    assert status == 400
    assert error_type(body) == "ValidationException"
    assert "keyId" in (body.get("message") or body.get("Message") or "")


def test_raw_request_works_end_to_end(kms):
    status, body = raw_call("TrentService.CreateKey", {"Description": "raw"})
    assert status == 200, body
    assert body["KeyMetadata"]["Description"] == "raw"
    status, body = raw_call("TrentService.GenerateRandom", {"NumberOfBytes": 16})
    assert status == 200
    assert len(base64.b64decode(body["Plaintext"])) == 16


def test_a_cloudhsm_key_store_needs_a_cluster_that_cannot_exist_here(kms):
    with pytest.raises(ClientError) as e:
        kms.create_custom_key_store(CustomKeyStoreName="compat", CloudHsmClusterId="cluster-234567abcde",
                                    TrustAnchorCertificate="cert", KeyStorePassword="password")
    assert code_of(e) == "CloudHsmClusterNotFoundException"
    assert "cluster-234567abcde" in message_of(e)


def test_a_fresh_client_per_region_works(unique):
    client = kms_client("ap-southeast-2")
    meta = client.create_key()["KeyMetadata"]
    assert ":ap-southeast-2:" in meta["Arn"]
    blob = client.encrypt(KeyId=meta["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    assert client.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
