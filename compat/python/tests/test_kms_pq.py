"""boto3 against trent's newest KMS key specs: ML-DSA, Ed25519 and ML-KEM (Encapsulate/Decapsulate).

Every signature is verified, and every encapsulation made, by `cryptography` (its bundled OpenSSL) holding only
the public key from GetPublicKey; ML-DSA's external mu is computed with hashlib's SHAKE256.
"""

import hashlib

import pytest
from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, mlkem


def code_of(excinfo):
    return excinfo.value.response["Error"]["Code"]


def create(kms, spec, usage):
    return kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]


@pytest.mark.parametrize(
    "spec,key_type,signature_size",
    [
        ("ML_DSA_44", mldsa.MLDSA44PublicKey, 2420),
        ("ML_DSA_65", mldsa.MLDSA65PublicKey, 3309),
        ("ML_DSA_87", mldsa.MLDSA87PublicKey, 4627),
    ],
)
def test_ml_dsa_signatures_verify_with_cryptography(kms, spec, key_type, signature_size):
    meta = create(kms, spec, "SIGN_VERIFY")
    assert meta["SigningAlgorithms"] == ["ML_DSA_SHAKE_256"]
    pub = kms.get_public_key(KeyId=meta["KeyId"])
    assert pub["KeySpec"] == spec and pub["KeyUsage"] == "SIGN_VERIFY"
    public_key = serialization.load_der_public_key(pub["PublicKey"])
    assert isinstance(public_key, key_type)

    message = b"boto3 asks trent for a post-quantum signature"
    raw = kms.sign(KeyId=meta["KeyId"], Message=message, SigningAlgorithm="ML_DSA_SHAKE_256")["Signature"]
    assert len(raw) == signature_size
    public_key.verify(raw, message)
    with pytest.raises(InvalidSignature):
        public_key.verify(raw, message + b"!")

    # EXTERNAL_MU: mu = SHAKE256(SHAKE256(pk, 64) || 0x00 || 0x00 || M, 64), FIPS 204 section 6.2.
    tr = hashlib.shake_256(public_key.public_bytes_raw()).digest(64)
    mu = hashlib.shake_256(tr + b"\x00\x00" + message).digest(64)
    by_mu = kms.sign(
        KeyId=meta["KeyId"], Message=mu, MessageType="EXTERNAL_MU", SigningAlgorithm="ML_DSA_SHAKE_256"
    )["Signature"]
    public_key.verify(by_mu, message)
    public_key.verify_mu(by_mu, mu)

    verified = kms.verify(
        KeyId=meta["KeyId"], Message=message, Signature=by_mu, SigningAlgorithm="ML_DSA_SHAKE_256"
    )
    assert verified["SignatureValid"] is True
    with pytest.raises(ClientError) as excinfo:
        kms.verify(KeyId=meta["KeyId"], Message=b"tampered", Signature=raw, SigningAlgorithm="ML_DSA_SHAKE_256")
    assert code_of(excinfo) == "KMSInvalidSignatureException"


def test_ml_dsa_refuses_digest_and_short_mu(kms):
    key_id = create(kms, "ML_DSA_44", "SIGN_VERIFY")["KeyId"]
    for message_type, message, expected in [
        ("DIGEST", b"\x01" * 64, "Message type DIGEST is incompatible with key spec ML_DSA_44."),
        ("EXTERNAL_MU", b"\x01" * 32, "External Mu is invalid length for algorithm ML_DSA_SHAKE_256."),
    ]:
        with pytest.raises(ClientError) as excinfo:
            kms.sign(KeyId=key_id, Message=message, MessageType=message_type, SigningAlgorithm="ML_DSA_SHAKE_256")
        assert code_of(excinfo) == "ValidationException", message_type
        assert excinfo.value.response["Error"]["Message"] == expected


def test_ed25519_signatures_verify_with_cryptography(kms):
    meta = create(kms, "ECC_NIST_EDWARDS25519", "SIGN_VERIFY")
    assert meta["SigningAlgorithms"] == ["ED25519_SHA_512", "ED25519_PH_SHA_512"]
    public_key = serialization.load_der_public_key(kms.get_public_key(KeyId=meta["KeyId"])["PublicKey"])
    assert isinstance(public_key, ed25519.Ed25519PublicKey)

    message = b"boto3 asks trent for an Ed25519 signature"
    signature = kms.sign(KeyId=meta["KeyId"], Message=message, SigningAlgorithm="ED25519_SHA_512")["Signature"]
    public_key.verify(signature, message)
    with pytest.raises(InvalidSignature):
        public_key.verify(signature, message[:-1])

    # Ed25519ph takes a SHA-512 digest (and only that); RAW is refused, as is DIGEST for pure Ed25519.
    digest = hashlib.sha512(message).digest()
    ph = kms.sign(KeyId=meta["KeyId"], Message=digest, MessageType="DIGEST", SigningAlgorithm="ED25519_PH_SHA_512")
    assert len(ph["Signature"]) == 64
    ok = kms.verify(
        KeyId=meta["KeyId"],
        Message=digest,
        MessageType="DIGEST",
        Signature=ph["Signature"],
        SigningAlgorithm="ED25519_PH_SHA_512",
    )
    assert ok["SignatureValid"] is True
    for algorithm, message_type in [("ED25519_PH_SHA_512", "RAW"), ("ED25519_SHA_512", "DIGEST")]:
        with pytest.raises(ClientError) as excinfo:
            kms.sign(KeyId=meta["KeyId"], Message=digest, MessageType=message_type, SigningAlgorithm=algorithm)
        assert code_of(excinfo) == "ValidationException", algorithm


@pytest.mark.parametrize(
    "spec,key_type,ciphertext_size",
    [("ML_KEM_768", mlkem.MLKEM768PublicKey, 1088), ("ML_KEM_1024", mlkem.MLKEM1024PublicKey, 1568)],
)
def test_ml_kem_decapsulates_what_cryptography_encapsulates(kms, spec, key_type, ciphertext_size):
    meta = create(kms, spec, "ENCAPSULATE_DECAPSULATE")
    assert meta["EncapsulationAlgorithms"] == ["ML_KEM"]
    pub = kms.get_public_key(KeyId=meta["KeyId"])
    assert pub["EncapsulationAlgorithms"] == ["ML_KEM"]
    public_key = serialization.load_der_public_key(pub["PublicKey"])
    assert isinstance(public_key, key_type)

    secret, ciphertext = public_key.encapsulate()
    assert len(ciphertext) == ciphertext_size
    out = kms.decapsulate(KeyId=meta["KeyId"], SharedSecretCiphertextBlob=ciphertext, EncapsulationAlgorithm="ML_KEM")
    assert out["SharedSecret"] == secret
    assert out["EncapsulationAlgorithm"] == "ML_KEM"

    enc = kms.encapsulate(KeyId=meta["KeyId"], EncapsulationAlgorithm="ML_KEM")
    assert len(enc["SharedSecret"]) == 32 and len(enc["SharedSecretCiphertextBlob"]) == ciphertext_size
    again = kms.decapsulate(
        KeyId=meta["KeyId"], SharedSecretCiphertextBlob=enc["SharedSecretCiphertextBlob"], EncapsulationAlgorithm="ML_KEM"
    )
    assert again["SharedSecret"] == enc["SharedSecret"]


def test_ml_kem_errors(kms):
    kem = create(kms, "ML_KEM_512", "ENCAPSULATE_DECAPSULATE")["KeyId"]
    signer = create(kms, "ML_DSA_44", "SIGN_VERIFY")["KeyId"]
    with pytest.raises(ClientError) as excinfo:
        kms.encapsulate(KeyId=signer, EncapsulationAlgorithm="ML_KEM")
    assert code_of(excinfo) == "InvalidKeyUsageException"
    with pytest.raises(ClientError) as excinfo:
        kms.decapsulate(KeyId=kem, SharedSecretCiphertextBlob=b"\x00" * 767, EncapsulationAlgorithm="ML_KEM")
    assert code_of(excinfo) == "InvalidCiphertextException"
    with pytest.raises(ClientError) as excinfo:
        kms.create_key(KeySpec="ML_KEM_512", KeyUsage="SIGN_VERIFY")
    assert code_of(excinfo) == "ValidationException"
