//! Azure Key Vault keys through the official Azure SDK for Rust (`azure_security_keyvault_keys`), over HTTPS:
//! every keys operation, success and errors, with trent's outputs checked by independent implementations
//! (RustCrypto's `rsa`, `p256`, `k256`, `aes-gcm`, `aes-kw`) from the JWK the service returns.
//!
//! Wire facts asserted here come from recordings of the real service (Azure/azure-sdk-assets); each names its
//! recording.

mod common;

use azure_core::http::RequestContent;
use azure_security_keyvault_keys::models::{
    CreateKeyParameters, CurveName, EncryptionAlgorithm, GetRandomBytesParameters, ImportKeyParameters, JsonWebKey,
    Key, KeyAttributes, KeyClientEncryptOptions, KeyClientGetKeyOptions, KeyClientListKeyPropertiesOptions,
    KeyClientListKeyPropertiesVersionsOptions, KeyClientReleaseOptions, KeyClientSignOptions,
    KeyClientUpdateKeyPropertiesOptions, KeyClientWrapKeyOptions, KeyOperation, KeyOperationParameters,
    KeyReleasePolicy, KeyRotationPolicy, KeyRotationPolicyAction, KeyRotationPolicyAttributes, KeyType, LifetimeAction,
    LifetimeActionTrigger, LifetimeActionType, ReleaseParameters, RestoreKeyParameters, SignParameters,
    SignatureAlgorithm, UpdateKeyPropertiesParameters, VerifyParameters,
};
use azure_security_keyvault_keys::{KeyClient, ResourceExt};
use common::keyvault::{hsm_client, http_error, key_client};
use futures::TryStreamExt;
use sha2::{Digest, Sha256, Sha384, Sha512};

async fn start() -> trent::Server {
    trent::Server::start(trent::Config::ephemeral())
        .await
        .expect("server starts")
}

fn params(kty: KeyType) -> CreateKeyParameters {
    CreateKeyParameters {
        kty: Some(kty),
        ..Default::default()
    }
}

fn body<T>(p: T) -> RequestContent<T>
where
    T: TryInto<RequestContent<T>>,
    T::Error: std::fmt::Debug,
{
    p.try_into().expect("request body")
}

async fn create(client: &KeyClient, name: &str, p: CreateKeyParameters) -> Key {
    client
        .create_key(name, body(p), None)
        .await
        .expect("CreateKey")
        .into_model()
        .expect("KeyBundle")
}

fn version_of(key: &Key) -> String {
    key.resource_id().expect("kid").version.expect("kid has a version")
}

fn jwk(key: &Key) -> &JsonWebKey {
    key.key.as_ref().expect("key")
}

async fn sign(client: &KeyClient, name: &str, alg: SignatureAlgorithm, digest: &[u8]) -> Vec<u8> {
    let p = SignParameters {
        algorithm: Some(alg),
        value: Some(digest.to_vec()),
    };
    client
        .sign(name, body(p), None)
        .await
        .expect("sign")
        .into_model()
        .unwrap()
        .result
        .expect("signature")
}

async fn verify(client: &KeyClient, name: &str, alg: SignatureAlgorithm, digest: &[u8], signature: &[u8]) -> bool {
    let p = VerifyParameters {
        algorithm: Some(alg),
        digest: Some(digest.to_vec()),
        signature: Some(signature.to_vec()),
    };
    client
        .verify(name, "", body(p), None)
        .await
        .expect("verify")
        .into_model()
        .unwrap()
        .value
        .expect("value")
}

fn rsa_public(key: &Key) -> rsa::RsaPublicKey {
    let jwk = jwk(key);
    rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(jwk.n.as_ref().unwrap()),
        rsa::BigUint::from_bytes_be(jwk.e.as_ref().unwrap()),
    )
    .expect("RSA public key from the JWK")
}

fn sec1_point(key: &Key) -> Vec<u8> {
    let jwk = jwk(key);
    let mut point = vec![4u8];
    point.extend_from_slice(jwk.x.as_ref().unwrap());
    point.extend_from_slice(jwk.y.as_ref().unwrap());
    point
}

/// Created keys look as the service's do: default key_ops in its order, curve default P-256, RSA key_size
/// (JS recordings keys_client__create_read_update_and_delete_operations/recording_can_create_a_disabled_key.json
/// and keyrotation/recording_get_a_key_rotation_policy.json, api-version 7.6/2025-07-01).
#[tokio::test]
async fn created_keys_have_the_services_shape() {
    let server = start().await;
    let client = key_client(&server);

    let rsa = create(&client, "shape-rsa", params(KeyType::Rsa)).await;
    let k = jwk(&rsa);
    assert_eq!(k.kty, Some(KeyType::Rsa));
    let ops: Vec<&str> = k.key_ops.as_ref().unwrap().iter().map(String::as_str).collect();
    assert_eq!(ops, ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"]);
    assert_eq!(k.e.as_deref(), Some(&[1u8, 0, 1][..]));
    assert_eq!(k.n.as_ref().unwrap().len(), 256);
    assert!(k.d.is_none() && k.p.is_none(), "no private parts");
    let attrs = rsa.attributes.as_ref().unwrap();
    assert_eq!(attrs.key_size, Some(2048));
    assert_eq!(attrs.enabled, Some(true));
    assert_eq!(attrs.exportable, Some(false));
    assert_eq!(attrs.hsm_platform.as_deref(), Some("0"));
    assert_eq!(version_of(&rsa).len(), 32);

    let ec = create(&client, "shape-ec", params(KeyType::Ec)).await;
    let k = jwk(&ec);
    assert_eq!(k.crv, Some(CurveName::P256));
    assert_eq!(
        k.key_ops.as_deref(),
        Some(&["sign".to_string(), "verify".to_string()][..])
    );
    assert_eq!((k.x.as_ref().unwrap().len(), k.y.as_ref().unwrap().len()), (32, 32));
    assert_eq!(
        ec.attributes.as_ref().unwrap().key_size,
        None,
        "EC keys carry no key_size"
    );

    for (crv, len) in [(CurveName::P384, 48), (CurveName::P521, 66), (CurveName::P256K, 32)] {
        let name = format!("shape-{}", len);
        let key = create(
            &client,
            &name,
            CreateKeyParameters {
                kty: Some(KeyType::EcHsm),
                curve: Some(crv.clone()),
                ..Default::default()
            },
        )
        .await;
        assert_eq!(jwk(&key).crv, Some(crv));
        assert_eq!(jwk(&key).kty, Some(KeyType::EcHsm));
        assert_eq!(jwk(&key).x.as_ref().unwrap().len(), len);
        assert_eq!(key.attributes.unwrap().hsm_platform.as_deref(), Some("2"));
    }
    for bits in [3072, 4096] {
        let key = create(
            &client,
            &format!("shape-rsa-{bits}"),
            CreateKeyParameters {
                kty: Some(KeyType::RsaHsm),
                key_size: Some(bits),
                key_ops: Some(vec![KeyOperation::Verify, KeyOperation::Sign]),
                ..Default::default()
            },
        )
        .await;
        assert_eq!(key.attributes.as_ref().unwrap().key_size, Some(bits));
        assert_eq!(jwk(&key).n.as_ref().unwrap().len(), bits as usize / 8);
        let ops = jwk(&key).key_ops.clone().unwrap();
        assert_eq!(
            ops,
            ["verify", "sign"],
            "requested key_ops come back verbatim, in the order sent"
        );
    }

    // The service's errors for what a vault cannot make.
    let (status, code, _) = http_error(
        client
            .create_key(
                "bad-size",
                body(CreateKeyParameters {
                    kty: Some(KeyType::Rsa),
                    key_size: Some(1024),
                    ..Default::default()
                }),
                None,
            )
            .await,
    );
    assert_eq!((status, code.as_str()), (400, "BadParameter"));
    let (status, _, _) = http_error(client.create_key("sym", body(params(KeyType::Oct)), None).await);
    assert_eq!(status, 400, "oct keys are a Managed HSM feature");
    server.stop().await;
}

/// Get (latest and by version, the SDK's `/keys/{name}/` form), update, list with paging, versions.
#[tokio::test]
async fn get_update_list_and_versions() {
    let server = start().await;
    let client = key_client(&server);
    let first = create(&client, "Listed-0", params(KeyType::Ec)).await;
    let second = client.rotate_key("listed-0", None).await.unwrap().into_model().unwrap();
    assert_ne!(version_of(&first), version_of(&second));
    assert!(
        jwk(&second).kid.as_ref().unwrap().contains("/keys/Listed-0/"),
        "the first spelling of the name is kept"
    );
    for i in 1..5 {
        create(&client, &format!("listed-{i}"), params(KeyType::Ec)).await;
    }

    let latest = client.get_key("listed-0", None).await.unwrap().into_model().unwrap();
    assert_eq!(version_of(&latest), version_of(&second));
    let old = client
        .get_key(
            "listed-0",
            Some(KeyClientGetKeyOptions {
                key_version: Some(version_of(&first)),
                ..Default::default()
            }),
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(jwk(&old).x, jwk(&first).x);

    let updated = client
        .update_key_properties(
            "listed-0",
            body(UpdateKeyPropertiesParameters {
                tags: Some([("env".to_string(), "test".to_string())].into()),
                key_ops: Some(vec![KeyOperation::Verify]),
                ..Default::default()
            }),
            Some(KeyClientUpdateKeyPropertiesOptions {
                key_version: Some(version_of(&first)),
                ..Default::default()
            }),
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(version_of(&updated), version_of(&first));
    assert_eq!(updated.tags.as_ref().unwrap()["env"], "test");
    assert_eq!(jwk(&updated).key_ops.clone().unwrap(), ["verify"]);

    let mut names = Vec::new();
    let mut pager = client
        .list_key_properties(Some(KeyClientListKeyPropertiesOptions {
            maxresults: Some(2),
            ..Default::default()
        }))
        .unwrap();
    while let Some(item) = pager.try_next().await.unwrap() {
        let kid = item.kid.clone().unwrap();
        assert!(kid.rsplit('/').next().unwrap().starts_with("listed-") || kid.ends_with("Listed-0"));
        assert_eq!(
            kid.matches('/').count(),
            4,
            "list items have a kid without version: {kid}"
        );
        names.push(kid);
    }
    assert_eq!(names.len(), 5, "{names:?}");

    let mut versions = Vec::new();
    let mut pager = client
        .list_key_properties_versions(
            "listed-0",
            Some(KeyClientListKeyPropertiesVersionsOptions {
                maxresults: Some(1),
                ..Default::default()
            }),
        )
        .unwrap();
    while let Some(item) = pager.try_next().await.unwrap() {
        versions.push(item.kid.unwrap());
    }
    assert_eq!(versions.len(), 2);
    assert!(versions[0].ends_with(&version_of(&first)));

    // A version listing of an unknown name is empty (NET recording GetPropertiesOfKeyVersionsNonExisting.json).
    let mut pager = client.list_key_properties_versions("nothing-here", None).unwrap();
    assert!(pager.try_next().await.unwrap().is_none());

    let (status, code, _) = http_error(client.get_key("missing", None).await);
    assert_eq!((status, code.as_str()), (404, "KeyNotFound"));
    server.stop().await;
}

/// Delete, the deleted views, recover, purge, and the name conflict while deleted.
#[tokio::test]
async fn delete_recover_purge() {
    let server = start().await;
    let client = key_client(&server);
    let key = create(&client, "binned", params(KeyType::Rsa)).await;
    let deleted = client.delete_key("binned", None).await.unwrap().into_model().unwrap();
    assert!(deleted.recovery_id.as_ref().unwrap().ends_with("/deletedkeys/binned"));
    let (deleted_at, purge_at) = (deleted.deleted_date.unwrap(), deleted.scheduled_purge_date.unwrap());
    assert_eq!((purge_at - deleted_at).whole_days(), 90);
    assert_eq!(jwk(&key).kid, deleted.key.as_ref().unwrap().kid);

    let (status, code, _) = http_error(client.get_key("binned", None).await);
    assert_eq!((status, code.as_str()), (404, "KeyNotFound"));
    let (status, _, _) = http_error(client.create_key("binned", body(params(KeyType::Rsa)), None).await);
    assert_eq!(status, 409, "a deleted name cannot be reused");

    let mut pager = client.list_deleted_key_properties(None).unwrap();
    let item = pager.try_next().await.unwrap().expect("one deleted key");
    assert!(item.recovery_id.unwrap().ends_with("/deletedkeys/binned"));

    client.get_deleted_key("binned", None).await.unwrap();
    let recovered = client
        .recover_deleted_key("binned", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(version_of(&recovered), version_of(&key));
    let digest = Sha256::digest(b"after recovery");
    let signature = sign(&client, "binned", SignatureAlgorithm::Ps256, &digest).await;
    assert!(verify(&client, "binned", SignatureAlgorithm::Ps256, &digest, &signature).await);

    client.delete_key("binned", None).await.unwrap();
    client.purge_deleted_key("binned", None).await.unwrap();
    let (status, code, _) = http_error(client.get_deleted_key("binned", None).await);
    assert_eq!((status, code.as_str()), (404, "KeyNotFound"));
    let (status, _, _) = http_error(client.recover_deleted_key("binned", None).await);
    assert_eq!(status, 404);
    create(&client, "binned", params(KeyType::Ec)).await;
    server.stop().await;
}

/// Backup and restore: the blob holds no key material in the clear, a purged key comes back with its version,
/// and a malformed blob gets the service's code (JS recording
/// recording_fails_to_restore_a_key_with_a_malformed_backup.json).
#[tokio::test]
async fn backup_and_restore() {
    let server = start().await;
    let client = key_client(&server);
    let key = create(&client, "saved", params(KeyType::Rsa)).await;
    let blob = client
        .backup_key("saved", None)
        .await
        .unwrap()
        .into_model()
        .unwrap()
        .value
        .unwrap();
    let n = jwk(&key).n.clone().unwrap();
    assert!(!blob.windows(16).any(|w| w == &n[..16]), "the blob is sealed");
    assert!(
        !String::from_utf8_lossy(&blob).contains("saved"),
        "not even the name is readable"
    );

    let (status, _, _) = http_error(
        client
            .restore_key(
                body(RestoreKeyParameters {
                    key_backup: Some(blob.clone()),
                }),
                None,
            )
            .await,
    );
    assert_eq!(status, 409, "the key still exists");
    client.delete_key("saved", None).await.unwrap();
    client.purge_deleted_key("saved", None).await.unwrap();
    let restored = client
        .restore_key(
            body(RestoreKeyParameters {
                key_backup: Some(blob.clone()),
            }),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(jwk(&restored).kid, jwk(&key).kid);
    assert_eq!(jwk(&restored).n, jwk(&key).n);

    let mut tampered = blob;
    let mid = tampered.len() / 2;
    tampered[mid] ^= 1;
    let (status, code, _) = http_error(
        client
            .restore_key(
                body(RestoreKeyParameters {
                    key_backup: Some(tampered),
                }),
                None,
            )
            .await,
    );
    assert_eq!((status, code.as_str()), (400, "Malformed backup blob"));
    server.stop().await;
}

/// RSA encryption both ways with the independent `rsa` crate, through `/keys/{name}//op` (no version) and with
/// a version; wrap/unwrap.
#[tokio::test]
async fn rsa_encrypt_decrypt_wrap_unwrap() {
    use rsa::{Oaep, Pkcs1v15Encrypt};
    let server = start().await;
    let client = key_client(&server);
    let key = create(&client, "envelope", params(KeyType::Rsa)).await;
    let version = version_of(&key);
    let public = rsa_public(&key);
    let plaintext = b"a data key of 32 bytes, exactly!".to_vec();
    for alg in [
        EncryptionAlgorithm::RsaOaep256,
        EncryptionAlgorithm::RsaOaep,
        EncryptionAlgorithm::Rsa1_5,
    ] {
        let p = KeyOperationParameters {
            algorithm: Some(alg.clone()),
            value: Some(plaintext.clone()),
            ..Default::default()
        };
        let encrypted = client
            .encrypt("envelope", body(p), None)
            .await
            .unwrap()
            .into_model()
            .unwrap();
        assert!(
            encrypted.kid.as_ref().unwrap().ends_with(&version),
            "the result names the version"
        );
        let ciphertext = encrypted.result.unwrap();
        assert_eq!(ciphertext.len(), 256);
        let p = KeyOperationParameters {
            algorithm: Some(alg.clone()),
            value: Some(ciphertext),
            ..Default::default()
        };
        let decrypted = client
            .decrypt("envelope", &version, body(p), None)
            .await
            .unwrap()
            .into_model()
            .unwrap();
        assert_eq!(decrypted.result.unwrap(), plaintext);

        // What a client encrypts with the public JWK, trent decrypts.
        let mut rng = rand::thread_rng();
        let local = match alg {
            EncryptionAlgorithm::RsaOaep256 => public.encrypt(&mut rng, Oaep::new::<Sha256>(), &plaintext),
            EncryptionAlgorithm::RsaOaep => public.encrypt(&mut rng, Oaep::new::<sha1::Sha1>(), &plaintext),
            _ => public.encrypt(&mut rng, Pkcs1v15Encrypt, &plaintext),
        }
        .unwrap();
        let p = KeyOperationParameters {
            algorithm: Some(alg.clone()),
            value: Some(local),
            ..Default::default()
        };
        let decrypted = client
            .decrypt("envelope", "", body(p), None)
            .await
            .unwrap()
            .into_model()
            .unwrap();
        assert_eq!(decrypted.result.unwrap(), plaintext, "{alg:?}");
    }

    let p = KeyOperationParameters {
        algorithm: Some(EncryptionAlgorithm::RsaOaep256),
        value: Some(plaintext.clone()),
        ..Default::default()
    };
    let wrapped = client
        .wrap_key(
            "envelope",
            body(p),
            Some(KeyClientWrapKeyOptions {
                key_version: Some(version.clone()),
                ..Default::default()
            }),
        )
        .await
        .unwrap()
        .into_model()
        .unwrap()
        .result
        .unwrap();
    let p = KeyOperationParameters {
        algorithm: Some(EncryptionAlgorithm::RsaOaep256),
        value: Some(wrapped),
        ..Default::default()
    };
    let unwrapped = client
        .unwrap_key("envelope", "", body(p), None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(unwrapped.result.unwrap(), plaintext);

    // A ciphertext that is not one modulus long, and AES algorithms on an RSA key, are 400s.
    let p = KeyOperationParameters {
        algorithm: Some(EncryptionAlgorithm::RsaOaep256),
        value: Some(vec![1, 2, 3]),
        ..Default::default()
    };
    assert_eq!(http_error(client.decrypt("envelope", "", body(p), None).await).0, 400);
    let p = KeyOperationParameters {
        algorithm: Some(EncryptionAlgorithm::A256Gcm),
        value: Some(plaintext),
        ..Default::default()
    };
    assert_eq!(http_error(client.encrypt("envelope", body(p), None).await).0, 400);
    let _ = KeyClientEncryptOptions::default();
    server.stop().await;
}

/// Signatures for every RSA and ECDSA algorithm, verified by trent and by RustCrypto from the returned JWK
/// (ECDSA as JOSE's fixed-size r‖s); a wrong digest length and a curve mismatch are 400s.
#[tokio::test]
async fn signatures_verify_independently() {
    use rsa::{Pkcs1v15Sign, Pss};
    use signature::hazmat::PrehashVerifier;
    let server = start().await;
    let client = key_client(&server);
    let rsa_key = create(&client, "signer-rsa", params(KeyType::Rsa)).await;
    let public = rsa_public(&rsa_key);
    let message = b"trent signs; RustCrypto checks";
    let digests = [
        Sha256::digest(message).to_vec(),
        Sha384::digest(message).to_vec(),
        Sha512::digest(message).to_vec(),
    ];
    let rsa_algs = [
        (SignatureAlgorithm::Rs256, 0),
        (SignatureAlgorithm::Rs384, 1),
        (SignatureAlgorithm::Rs512, 2),
        (SignatureAlgorithm::Ps256, 0),
        (SignatureAlgorithm::Ps384, 1),
        (SignatureAlgorithm::Ps512, 2),
    ];
    for (alg, d) in rsa_algs {
        let digest = &digests[d];
        let sig = sign(&client, "signer-rsa", alg.clone(), digest).await;
        assert!(verify(&client, "signer-rsa", alg.clone(), digest, &sig).await);
        let scheme_ok = match (&alg, d) {
            (SignatureAlgorithm::Rs256, _) => public.verify(Pkcs1v15Sign::new::<Sha256>(), digest, &sig),
            (SignatureAlgorithm::Rs384, _) => public.verify(Pkcs1v15Sign::new::<Sha384>(), digest, &sig),
            (SignatureAlgorithm::Rs512, _) => public.verify(Pkcs1v15Sign::new::<Sha512>(), digest, &sig),
            (SignatureAlgorithm::Ps256, _) => public.verify(Pss::new::<Sha256>(), digest, &sig),
            (SignatureAlgorithm::Ps384, _) => public.verify(Pss::new::<Sha384>(), digest, &sig),
            _ => public.verify(Pss::new::<Sha512>(), digest, &sig),
        };
        assert!(scheme_ok.is_ok(), "{alg:?} verifies with the rsa crate");
        let mut bad = sig.clone();
        bad[10] ^= 1;
        assert!(!verify(&client, "signer-rsa", alg, digest, &bad).await);
    }

    // RSNULL signs the value as given: with SHA-256's DigestInfo prefix in front it is an RS256 signature.
    let mut digest_info = vec![
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
        0x20,
    ];
    digest_info.extend_from_slice(&digests[0]);
    let raw = sign(&client, "signer-rsa", SignatureAlgorithm::Rsnull, &digest_info).await;
    assert!(public.verify(Pkcs1v15Sign::new::<Sha256>(), &digests[0], &raw).is_ok());
    assert!(verify(&client, "signer-rsa", SignatureAlgorithm::Rsnull, &digest_info, &raw).await);

    let p256 = create(&client, "signer-p256", params(KeyType::Ec)).await;
    let sig = sign(&client, "signer-p256", SignatureAlgorithm::Es256, &digests[0]).await;
    assert_eq!(sig.len(), 64, "r‖s");
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1_point(&p256)).unwrap();
    let parsed = p256::ecdsa::Signature::from_slice(&sig).unwrap();
    assert!(vk.verify_prehash(&digests[0], &parsed).is_ok());
    assert!(verify(&client, "signer-p256", SignatureAlgorithm::Es256, &digests[0], &sig).await);

    let k = create(
        &client,
        "signer-k256",
        CreateKeyParameters {
            kty: Some(KeyType::Ec),
            curve: Some(CurveName::P256K),
            ..Default::default()
        },
    )
    .await;
    let sig = sign(&client, "signer-k256", SignatureAlgorithm::Es256K, &digests[0]).await;
    let vk = k256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1_point(&k)).unwrap();
    let parsed = k256::ecdsa::Signature::from_slice(&sig).unwrap();
    assert!(vk
        .verify_prehash(&digests[0], &parsed.normalize_s().unwrap_or(parsed))
        .is_ok());

    for (crv, alg, d, len) in [
        (CurveName::P384, SignatureAlgorithm::Es384, 1, 96),
        (CurveName::P521, SignatureAlgorithm::Es512, 2, 132),
    ] {
        let name = format!("signer-{len}");
        create(
            &client,
            &name,
            CreateKeyParameters {
                kty: Some(KeyType::Ec),
                curve: Some(crv),
                ..Default::default()
            },
        )
        .await;
        let sig = sign(&client, &name, alg.clone(), &digests[d]).await;
        assert_eq!(sig.len(), len);
        assert!(verify(&client, &name, alg, &digests[d], &sig).await);
    }

    // A digest of the wrong length, an algorithm of another curve, an RSA algorithm on an EC key.
    let p = SignParameters {
        algorithm: Some(SignatureAlgorithm::Es256),
        value: Some(digests[1].clone()),
    };
    assert_eq!(http_error(client.sign("signer-p256", body(p), None).await).0, 400);
    let p = SignParameters {
        algorithm: Some(SignatureAlgorithm::Es384),
        value: Some(digests[1].clone()),
    };
    assert_eq!(http_error(client.sign("signer-p256", body(p), None).await).0, 400);
    let p = SignParameters {
        algorithm: Some(SignatureAlgorithm::Rs256),
        value: Some(digests[0].clone()),
    };
    assert_eq!(http_error(client.sign("signer-p256", body(p), None).await).0, 400);
    server.stop().await;
}

/// key_ops, disabled and expired keys are enforced with 403s.
#[tokio::test]
async fn key_operations_and_attributes_are_enforced() {
    let server = start().await;
    let client = key_client(&server);
    create(
        &client,
        "verify-only",
        CreateKeyParameters {
            kty: Some(KeyType::Ec),
            key_ops: Some(vec![KeyOperation::Verify]),
            ..Default::default()
        },
    )
    .await;
    let digest = Sha256::digest(b"x").to_vec();
    let p = SignParameters {
        algorithm: Some(SignatureAlgorithm::Es256),
        value: Some(digest.clone()),
    };
    let (status, code, _) = http_error(client.sign("verify-only", body(p), None).await);
    assert_eq!((status, code.as_str()), (403, "Forbidden"));

    create(&client, "switched-off", params(KeyType::Ec)).await;
    client
        .update_key_properties(
            "switched-off",
            body(UpdateKeyPropertiesParameters {
                key_attributes: Some(KeyAttributes {
                    enabled: Some(false),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            None,
        )
        .await
        .unwrap();
    let p = SignParameters {
        algorithm: Some(SignatureAlgorithm::Es256),
        value: Some(digest.clone()),
    };
    assert_eq!(http_error(client.sign("switched-off", body(p), None).await).0, 403);
    // A disabled key is still readable.
    client.get_key("switched-off", None).await.unwrap();

    let soon = azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1);
    create(
        &client,
        "short-lived",
        CreateKeyParameters {
            kty: Some(KeyType::Ec),
            key_attributes: Some(KeyAttributes {
                expires: Some(soon),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await;
    sign(&client, "short-lived", SignatureAlgorithm::Es256, &digest).await;
    server.clock().advance_ms(2 * 3_600_000);
    let p = SignParameters {
        algorithm: Some(SignatureAlgorithm::Es256),
        value: Some(digest),
    };
    assert_eq!(http_error(client.sign("short-lived", body(p), None).await).0, 403);
    server.stop().await;
}

/// Rotation: RotateKey, the default policy, the Notify action the service adds, expiry from expiryTime, and the
/// policy executed when the clock passes its trigger (JS recordings keyrotation/*.json).
#[tokio::test]
async fn rotation_policies_run_on_the_clock() {
    let server = start().await;
    let client = key_client(&server);
    create(&client, "rotating", params(KeyType::Rsa)).await;

    let default = client
        .get_key_rotation_policy("rotating", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(default.id, None);
    let actions = default.lifetime_actions.unwrap();
    assert_eq!(actions.len(), 1);
    assert_eq!(
        actions[0].trigger.as_ref().unwrap().time_before_expiry.as_deref(),
        Some("P30D")
    );
    assert_eq!(
        actions[0].action.as_ref().unwrap().type_prop,
        Some(KeyRotationPolicyAction::Notify)
    );

    let policy = KeyRotationPolicy {
        lifetime_actions: Some(vec![LifetimeAction {
            trigger: Some(LifetimeActionTrigger {
                time_after_create: Some("P30D".into()),
                time_before_expiry: None,
            }),
            action: Some(LifetimeActionType {
                type_prop: Some(KeyRotationPolicyAction::Rotate),
            }),
        }]),
        attributes: Some(KeyRotationPolicyAttributes {
            expiry_time: Some("P90D".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let stored = client
        .update_key_rotation_policy("rotating", body(policy), None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert!(stored.id.unwrap().ends_with("/keys/rotating/rotationpolicy"));
    let actions = stored.lifetime_actions.unwrap();
    assert_eq!(actions.len(), 2, "the default Notify action is added");
    assert_eq!(stored.attributes.unwrap().expiry_time.as_deref(), Some("P90D"));

    let rotated = client.rotate_key("rotating", None).await.unwrap().into_model().unwrap();
    let attrs = rotated.attributes.clone().unwrap();
    assert_eq!((attrs.expires.unwrap() - attrs.created.unwrap()).whole_days(), 90);
    assert_eq!(jwk(&rotated).key_ops.as_ref().unwrap().len(), 6);

    // 31 days on, the policy has rotated the key once more.
    server.clock().advance_ms(31 * 86_400_000);
    let latest = client.get_key("rotating", None).await.unwrap().into_model().unwrap();
    assert_ne!(version_of(&latest), version_of(&rotated));
    let mut pager = client.list_key_properties_versions("rotating", None).unwrap();
    let mut count = 0;
    while pager.try_next().await.unwrap().is_some() {
        count += 1;
    }
    assert_eq!(count, 3);

    let too_short = KeyRotationPolicy {
        attributes: Some(KeyRotationPolicyAttributes {
            expiry_time: Some("P10D".into()),
            ..Default::default()
        }),
        lifetime_actions: Some(Vec::new()),
        ..Default::default()
    };
    let (status, code, _) = http_error(
        client
            .update_key_rotation_policy("rotating", body(too_short), None)
            .await,
    );
    assert_eq!((status, code.as_str()), (400, "BadParameter"));
    let (status, _, _) = http_error(client.get_key_rotation_policy("missing", None).await);
    assert_eq!(status, 404);
    server.stop().await;
}

/// Import of JWKs made elsewhere: trent's signatures verify with the importer's own key, and parts that do not
/// fit are refused.
#[tokio::test]
async fn imported_keys_work_and_bad_parts_are_refused() {
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};
    use rsa::Pkcs1v15Sign;
    let server = start().await;
    let client = key_client(&server);
    let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let mut n = vec![0u8];
    n.extend_from_slice(&private.n().to_bytes_be());
    let key = JsonWebKey {
        kty: Some(KeyType::Rsa),
        n: Some(n),
        e: Some(private.e().to_bytes_be()),
        d: Some(private.d().to_bytes_be()),
        p: Some(private.primes()[0].to_bytes_be()),
        q: Some(private.primes()[1].to_bytes_be()),
        key_ops: Some(vec!["sign".into(), "verify".into()]),
        ..Default::default()
    };
    let imported = client
        .import_key(
            "brought-in",
            body(ImportKeyParameters {
                key: Some(key.clone()),
                ..Default::default()
            }),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    // n comes back without the leading zero byte (PY recording test_key_crud_operations[2025-07-01_vault].json).
    assert_eq!(jwk(&imported).n.as_deref(), Some(&private.n().to_bytes_be()[..]));
    assert!(jwk(&imported).d.is_none());
    let digest = Sha256::digest(b"imported").to_vec();
    let sig = sign(&client, "brought-in", SignatureAlgorithm::Rs256, &digest).await;
    assert!(private
        .to_public_key()
        .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &sig)
        .is_ok());

    let mut broken = key;
    if let Some(d) = broken.d.as_mut() {
        d[5] ^= 0xff;
    }
    let (status, code, _) = http_error(
        client
            .import_key(
                "broken",
                body(ImportKeyParameters {
                    key: Some(broken),
                    ..Default::default()
                }),
                None,
            )
            .await,
    );
    assert_eq!((status, code.as_str()), (400, "BadParameter"));

    let secret = p256::SecretKey::random(&mut rand::thread_rng());
    let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&secret.public_key(), false);
    let ec = JsonWebKey {
        kty: Some(KeyType::Ec),
        crv: Some(CurveName::P256),
        x: Some(point.x().unwrap().to_vec()),
        y: Some(point.y().unwrap().to_vec()),
        d: Some(secret.to_bytes().to_vec()),
        ..Default::default()
    };
    let imported = client
        .import_key(
            "brought-in-ec",
            body(ImportKeyParameters {
                key: Some(ec),
                hsm: Some(true),
                ..Default::default()
            }),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(jwk(&imported).kty, Some(KeyType::EcHsm));
    assert_eq!(jwk(&imported).key_ops.as_ref().unwrap(), &["sign", "verify"]);
    server.stop().await;
}

/// GetRandomBytes: 1..128 bytes.
#[tokio::test]
async fn random_bytes() {
    let server = start().await;
    let client = key_client(&server);
    let a = client
        .get_random_bytes(body(GetRandomBytesParameters { count: Some(16) }), None)
        .await
        .unwrap()
        .into_model()
        .unwrap()
        .value
        .unwrap();
    assert_eq!(a.len(), 16);
    for bad in [0, 129] {
        let result = client
            .get_random_bytes(body(GetRandomBytesParameters { count: Some(bad) }), None)
            .await;
        assert_eq!(http_error(result).0, 400, "{bad}");
    }
    server.stop().await;
}

/// Managed HSM: oct keys with AES-GCM, AES-CBC(PAD) and AES key wrap, cross-checked with RustCrypto's AES; on a
/// Managed HSM, attestation is refused naming what trent cannot make.
#[tokio::test]
async fn managed_hsm_symmetric_keys() {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    let server = start().await;
    let hsm = hsm_client(&server, "myhsm");
    let key = create(
        &hsm,
        "aes",
        CreateKeyParameters {
            kty: Some(KeyType::OctHsm),
            key_size: Some(256),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(jwk(&key).kty, Some(KeyType::OctHsm));
    assert!(jwk(&key).k.is_none(), "symmetric material never leaves");
    assert!(jwk(&key)
        .kid
        .as_ref()
        .unwrap()
        .starts_with("https://myhsm.managedhsm.localhost:"));

    let plaintext = b"sixteen byte msg and then some more".to_vec();
    let p = KeyOperationParameters {
        algorithm: Some(EncryptionAlgorithm::A256Gcm),
        value: Some(plaintext.clone()),
        additional_authenticated_data: Some(b"context".to_vec()),
        ..Default::default()
    };
    let sealed = hsm.encrypt("aes", body(p), None).await.unwrap().into_model().unwrap();
    let (iv, tag, ciphertext) = (
        sealed.iv.clone().unwrap(),
        sealed.authentication_tag.clone().unwrap(),
        sealed.result.clone().unwrap(),
    );
    assert_eq!((iv.len(), tag.len(), ciphertext.len()), (12, 16, plaintext.len()));
    let p = KeyOperationParameters {
        algorithm: Some(EncryptionAlgorithm::A256Gcm),
        value: Some(ciphertext.clone()),
        iv: Some(iv.clone()),
        authentication_tag: Some(tag.clone()),
        additional_authenticated_data: Some(b"context".to_vec()),
    };
    let opened = hsm
        .decrypt("aes", "", body(p), None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(opened.result.unwrap(), plaintext);
    let p = KeyOperationParameters {
        algorithm: Some(EncryptionAlgorithm::A256Gcm),
        value: Some(ciphertext),
        iv: Some(iv),
        authentication_tag: Some(tag),
        additional_authenticated_data: Some(b"other".to_vec()),
    };
    assert_eq!(http_error(hsm.decrypt("aes", "", body(p), None).await).0, 400);

    // Wrap a 256-bit key with A256KW; a 128-bit key with CBCPAD, cross-checked by wrapping locally isn't possible
    // (the key never leaves), so round trips and the RFC 3394 length rule are what is checked.
    let data_key = vec![9u8; 32];
    let p = KeyOperationParameters {
        algorithm: Some(EncryptionAlgorithm::A256Kw),
        value: Some(data_key.clone()),
        ..Default::default()
    };
    let wrapped = hsm
        .wrap_key("aes", body(p), None)
        .await
        .unwrap()
        .into_model()
        .unwrap()
        .result
        .unwrap();
    assert_eq!(wrapped.len(), 40);
    let p = KeyOperationParameters {
        algorithm: Some(EncryptionAlgorithm::A256Kw),
        value: Some(wrapped),
        ..Default::default()
    };
    assert_eq!(
        hsm.unwrap_key("aes", "", body(p), None)
            .await
            .unwrap()
            .into_model()
            .unwrap()
            .result
            .unwrap(),
        data_key
    );
    let p = KeyOperationParameters {
        algorithm: Some(EncryptionAlgorithm::A128Kw),
        value: Some(data_key.clone()),
        ..Default::default()
    };
    assert_eq!(
        http_error(hsm.wrap_key("aes", body(p), None).await).0,
        400,
        "A128KW needs a 128-bit key"
    );

    // An imported AES key: what trent encrypts, RustCrypto decrypts with the same key.
    let raw = [5u8; 16];
    hsm.import_key(
        "aes-imported",
        body(ImportKeyParameters {
            key: Some(JsonWebKey {
                kty: Some(KeyType::OctHsm),
                k: Some(raw.to_vec()),
                key_ops: Some(vec!["encrypt".into(), "decrypt".into()]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        None,
    )
    .await
    .unwrap();
    let p = KeyOperationParameters {
        algorithm: Some(EncryptionAlgorithm::A128Gcm),
        value: Some(plaintext.clone()),
        ..Default::default()
    };
    let sealed = hsm
        .encrypt("aes-imported", body(p), None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    let cipher = aes_gcm::Aes128Gcm::new_from_slice(&raw).unwrap();
    let mut joined = sealed.result.unwrap();
    joined.extend_from_slice(&sealed.authentication_tag.unwrap());
    let iv: [u8; 12] = sealed.iv.unwrap().try_into().unwrap();
    let opened = cipher
        .decrypt(&aes_gcm::Nonce::from(iv), Payload { msg: &joined, aad: b"" })
        .unwrap();
    assert_eq!(opened, plaintext);
    let iv = vec![3u8; 16];
    let p = KeyOperationParameters {
        algorithm: Some(EncryptionAlgorithm::A128Cbcpad),
        value: Some(b"short".to_vec()),
        iv: Some(iv.clone()),
        ..Default::default()
    };
    let cbc = hsm
        .encrypt("aes-imported", body(p), None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    let p = KeyOperationParameters {
        algorithm: Some(EncryptionAlgorithm::A128Cbcpad),
        value: cbc.result,
        iv: Some(iv),
        ..Default::default()
    };
    let back = hsm
        .decrypt("aes-imported", "", body(p), None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(back.result.unwrap(), b"short");

    let (status, _, _) = http_error(hsm.get_key_attestation("aes", None).await);
    assert_eq!(status, 501);
    let vault = key_client(&server);
    create(&vault, "plain", params(KeyType::Ec)).await;
    let (status, code, _) = http_error(vault.get_key_attestation("plain", None).await);
    assert_eq!((status, code.as_str()), (400, "BadParameter"));
    server.stop().await;
}

/// Secure key release: the policy is evaluated against the target token's issuer and claims; the released key
/// arrives wrapped for the token's runtime key, in a JWS whose x5c certificate verifies it.
#[tokio::test]
async fn secure_key_release() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;
    use rsa::traits::PublicKeyParts;
    use signature::Verifier;
    let server = start().await;
    let client = key_client(&server);
    let policy = br#"{"version":"1.0.0","anyOf":[{"authority":"https://attest.example","allOf":[{"claim":"x-ms-attestation-type","equals":"sevsnpvm"}]}]}"#;
    let key = create(
        &client,
        "releasable",
        CreateKeyParameters {
            kty: Some(KeyType::EcHsm),
            key_attributes: Some(KeyAttributes {
                exportable: Some(true),
                ..Default::default()
            }),
            release_policy: Some(KeyReleasePolicy {
                encoded_policy: Some(policy.to_vec()),
                immutable: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await;
    let stored = key.release_policy.clone().unwrap();
    assert_eq!(stored.encoded_policy.as_deref(), Some(&policy[..]));
    assert_eq!(stored.content_type.as_deref(), Some("application/json; charset=utf-8"));

    let runtime = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let token = |claims: serde_json::Value| {
        format!(
            "{}.{}.sig",
            B64.encode(br#"{"alg":"RS256"}"#),
            B64.encode(claims.to_string())
        )
    };
    let runtime_keys = serde_json::json!({"keys": [{"kid": "TpmEphemeralEncryptionKey", "kty": "RSA",
        "n": B64.encode(runtime.n().to_bytes_be()), "e": B64.encode(runtime.e().to_bytes_be())}]});
    let good = token(
        serde_json::json!({"iss": "https://attest.example", "x-ms-attestation-type": "sevsnpvm",
        "x-ms-runtime": runtime_keys}),
    );
    let release = |target: String| {
        let p = ReleaseParameters {
            target_attestation_token: Some(target),
            ..Default::default()
        };
        client.release("releasable", body(p), Some(KeyClientReleaseOptions::default()))
    };
    let jws = release(good).await.unwrap().into_model().unwrap().value.unwrap();
    let parts: Vec<&str> = jws.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: serde_json::Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
    let payload: serde_json::Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    // The signature verifies with the key of the certificate in x5c (a P-256 SubjectPublicKeyInfo).
    let cert = base64::engine::general_purpose::STANDARD
        .decode(header["x5c"][0].as_str().unwrap())
        .unwrap();
    let spki_prefix = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
        0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    let at = cert.windows(spki_prefix.len()).position(|w| w == spki_prefix).unwrap() + spki_prefix.len();
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&cert[at..at + 65]).unwrap();
    let sig = p256::ecdsa::Signature::from_slice(&B64.decode(parts[2]).unwrap()).unwrap();
    assert!(vk.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig).is_ok());

    // key_hsm: RSA-OAEP(SHA-1) of a transfer key, then AES-KWP of the PKCS#8 private key, whose public point is
    // the key's.
    let released = &payload["response"]["key"]["key"];
    assert_eq!(released["kid"], serde_json::json!(jwk(&key).kid));
    let key_hsm: serde_json::Value =
        serde_json::from_slice(&B64.decode(released["key_hsm"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(key_hsm["header"]["enc"], "CKM_RSA_AES_KEY_WRAP");
    let blob = B64.decode(key_hsm["ciphertext"].as_str().unwrap()).unwrap();
    let (head, tail) = blob.split_at(256);
    let transfer = runtime.decrypt(rsa::Oaep::new::<sha1::Sha1>(), head).unwrap();
    let kek = aes_kw::KekAes256::try_from(&transfer[..]).unwrap();
    let pkcs8 = kek.unwrap_with_padding_vec(tail).unwrap();
    let secret = <p256::SecretKey as pkcs8::DecodePrivateKey>::from_pkcs8_der(&pkcs8).unwrap();
    let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&secret.public_key(), false);
    assert_eq!(point.as_bytes(), &sec1_point(&key)[..]);

    // Another issuer, a claim that does not match, an expired token: 403.
    for claims in [
        serde_json::json!({"iss": "https://other.example", "x-ms-attestation-type": "sevsnpvm", "x-ms-runtime": runtime_keys}),
        serde_json::json!({"iss": "https://attest.example", "x-ms-attestation-type": "tdx", "x-ms-runtime": runtime_keys}),
        serde_json::json!({"iss": "https://attest.example", "x-ms-attestation-type": "sevsnpvm", "exp": 1_000_000, "x-ms-runtime": runtime_keys}),
    ] {
        assert_eq!(http_error(release(token(claims)).await).0, 403);
    }
    // A key without a release policy cannot be released.
    create(&client, "kept", params(KeyType::Ec)).await;
    let p = ReleaseParameters {
        target_attestation_token: Some("a.b.c".into()),
        ..Default::default()
    };
    assert_eq!(http_error(client.release("kept", body(p), None).await).0, 403);
    // The immutable policy cannot change.
    let (status, _, _) = http_error(
        client
            .update_key_properties(
                "releasable",
                body(UpdateKeyPropertiesParameters {
                    release_policy: Some(KeyReleasePolicy {
                        encoded_policy: Some(policy.to_vec()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                None,
            )
            .await,
    );
    assert_eq!(status, 400);
    let _ = KeyClientSignOptions::default();
    server.stop().await;
}

/// Exact wire forms the SDKs hide: the recorded KeyNotFound sentence (JS recording
/// recording_delete_nonexisting_key.json), the default rotation policy body byte for byte (JS recording
/// keyrotation/recording_get_a_key_rotation_policy.json, Content-Length 106), the verify result without `kid`
/// (JS recording cryptography/recording_sign_and_verify.json), the 403 of an operation not in key_ops, and the
/// member order of a DeletedKeyBundle (PY recording test_key_crud_operations[2025-07-01_vault].json).
#[tokio::test]
async fn wire_forms() {
    let server = start().await;
    let base = server.keyvault_endpoint();
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, json: Option<serde_json::Value>| {
        let mut req = http
            .request(method, format!("{base}{path}?api-version=2025-07-01"))
            .bearer_auth("t");
        if let Some(json) = json {
            req = req.json(&json);
        }
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.text().await.unwrap())
        }
    };
    let (status, text) = call(reqwest::Method::GET, "/keys/nope/", None).await;
    assert_eq!(status, 404);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["error"]["code"], "KeyNotFound");
    assert_eq!(
        v["error"]["message"],
        "A key with (name/id) nope was not found in this key vault. If you recently deleted this key you may be \
         able to recover it using the correct recovery command. For help resolving this issue, please see \
         https://go.microsoft.com/fwlink/?linkid=2125182"
    );

    let (status, _) = call(
        reqwest::Method::POST,
        "/keys/w/create",
        Some(serde_json::json!({"kty": "EC", "key_ops": ["verify"]})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, text) = call(reqwest::Method::GET, "/keys/w/rotationpolicy", None).await;
    assert_eq!(
        text,
        r#"{"lifetimeActions":[{"trigger":{"timeBeforeExpiry":"P30D"},"action":{"type":"Notify"}}],"attributes":null}"#
    );
    assert_eq!(text.len(), 106);

    let digest = "LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564";
    let (status, text) = call(
        reqwest::Method::POST,
        "/keys/w//sign",
        Some(serde_json::json!({"alg": "ES256", "value": digest})),
    )
    .await;
    assert_eq!(status, 403);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["error"]["code"], "Forbidden");
    assert_eq!(v["error"]["message"], "Operation sign is not permitted on this key.");
    assert_eq!(v["error"]["innererror"]["code"], "KeyOperationForbidden");

    let sig = B64_64_ZEROS;
    let (status, text) = call(
        reqwest::Method::POST,
        "/keys/w//verify",
        Some(serde_json::json!({"alg": "ES256", "digest": digest, "value": sig})),
    )
    .await;
    assert_eq!((status, text.as_str()), (200, r#"{"value":false}"#));

    let (_, text) = call(reqwest::Method::DELETE, "/keys/w", None).await;
    let order: Vec<&str> = [
        "recoveryId",
        "deletedDate",
        "scheduledPurgeDate",
        "\"key\"",
        "attributes",
    ]
    .into_iter()
    .collect();
    let positions: Vec<usize> = order.iter().map(|m| text.find(m).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    let (status, _) = call(
        reqwest::Method::POST,
        "/keys/w/create",
        Some(serde_json::json!({"kty": "EC"})),
    )
    .await;
    assert_eq!(status, 409);
    let (status, text) = call(reqwest::Method::DELETE, "/deletedkeys/w", None).await;
    assert_eq!((status, text.as_str()), (204, ""));
    server.stop().await;
}

/// 64 zero bytes, base64url: an ES256 signature that verifies for nothing.
const B64_64_ZEROS: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// Keys, their versions, rotation policies, deleted keys and the backup key survive a restart on a data
/// directory, and travel in `/_parlel/export` to another server, where an earlier backup restores.
#[tokio::test]
async fn keys_persist_and_export() {
    let dir = std::env::temp_dir().join(common::unique("trent-kv-keys"));
    let config = trent::Config {
        data_dir: Some(dir.clone()),
        ..trent::Config::ephemeral()
    };
    let server = trent::Server::start(config.clone()).await.unwrap();
    let client = key_client(&server);
    let key = create(&client, "durable", params(KeyType::Rsa)).await;
    client.rotate_key("durable", None).await.unwrap();
    let policy = KeyRotationPolicy {
        lifetime_actions: Some(Vec::new()),
        attributes: Some(KeyRotationPolicyAttributes {
            expiry_time: Some("P60D".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    client
        .update_key_rotation_policy("durable", body(policy), None)
        .await
        .unwrap();
    create(&client, "gone", params(KeyType::Ec)).await;
    client.delete_key("gone", None).await.unwrap();
    let saved = create(&client, "saved", params(KeyType::Ec)).await;
    let blob = client
        .backup_key("saved", None)
        .await
        .unwrap()
        .into_model()
        .unwrap()
        .value
        .unwrap();
    client.delete_key("saved", None).await.unwrap();
    client.purge_deleted_key("saved", None).await.unwrap();
    server.stop().await;

    let server = trent::Server::start(config).await.unwrap();
    let client = key_client(&server);
    let old = client
        .get_key(
            "durable",
            Some(KeyClientGetKeyOptions {
                key_version: Some(version_of(&key)),
                ..Default::default()
            }),
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(jwk(&old).n, jwk(&key).n);
    let digest = Sha256::digest(b"after restart");
    let sig = sign(&client, "durable", SignatureAlgorithm::Rs256, &digest).await;
    assert!(verify(&client, "durable", SignatureAlgorithm::Rs256, &digest, &sig).await);
    let policy = client
        .get_key_rotation_policy("durable", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(policy.attributes.unwrap().expiry_time.as_deref(), Some("P60D"));
    client.get_deleted_key("gone", None).await.unwrap();
    let restored = client
        .restore_key(
            body(RestoreKeyParameters {
                key_backup: Some(blob.clone()),
            }),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(jwk(&restored).x, jwk(&saved).x, "the backup key survived the restart");
    client.delete_key("saved", None).await.unwrap();
    client.purge_deleted_key("saved", None).await.unwrap();

    let export = common::control_get(&server.keyvault_endpoint(), "export").await;
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);

    let other = start().await;
    let resp = reqwest::Client::new()
        .post(format!("{}/_parlel/import", other.keyvault_endpoint()))
        .json(&export)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let client = key_client(&other);
    let sig = sign(&client, "durable", SignatureAlgorithm::Rs256, &digest).await;
    assert!(verify(&client, "durable", SignatureAlgorithm::Rs256, &digest, &sig).await);
    client
        .restore_key(body(RestoreKeyParameters { key_backup: Some(blob) }), None)
        .await
        .expect("a backup restores where the exported backup key went");
    other.stop().await;
}

/// `--init` with `keyvault.keys`: a key with given material (its signatures verify with the file's key), a
/// generated one, an oct-HSM key in a Managed HSM; applying the file again adds nothing, and bad entries are
/// refused naming the entry.
#[tokio::test]
async fn keys_from_an_init_file() {
    use pkcs8::EncodePrivateKey;
    use rsa::Pkcs1v15Sign;
    let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let pem = private.to_pkcs8_pem(pkcs8::LineEnding::LF).unwrap();
    let indented: String = pem.lines().map(|l| format!("        {l}\n")).collect();
    let text = format!(
        "keyvault:\n  keys:\n    - name: seeded-rsa\n      kty: RSA\n      keyOps: [sign, verify]\n      tags: {{team: pay}}\n      material: |\n{indented}    - name: seeded-ec\n      kty: EC-HSM\n      curve: P-384\n    - name: seeded-aes\n      vault: vaulthsm.managedhsm.localhost\n      kty: oct-HSM\n      material: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
    );
    let path = std::env::temp_dir().join(common::unique("trent-kv-init.yaml"));
    std::fs::write(&path, &text).unwrap();
    let server = trent::Server::start(trent::Config {
        init: Some(path.clone()),
        ..trent::Config::ephemeral()
    })
    .await
    .unwrap();
    let client = key_client(&server);
    let digest = Sha256::digest(b"seeded").to_vec();
    let sig = sign(&client, "seeded-rsa", SignatureAlgorithm::Rs256, &digest).await;
    assert!(private
        .to_public_key()
        .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &sig)
        .is_ok());
    let seeded = client.get_key("seeded-rsa", None).await.unwrap().into_model().unwrap();
    assert_eq!(seeded.tags.unwrap()["team"], "pay");
    let ec = client.get_key("seeded-ec", None).await.unwrap().into_model().unwrap();
    assert_eq!(jwk(&ec).crv, Some(CurveName::P384));
    let hsm = hsm_client(&server, "vaulthsm");
    let p = KeyOperationParameters {
        algorithm: Some(EncryptionAlgorithm::A256Gcm),
        value: Some(b"x".to_vec()),
        ..Default::default()
    };
    hsm.encrypt("seeded-aes", body(p), None).await.unwrap();

    let again = server.apply_init(&path).await.unwrap();
    assert_eq!((again.vault_keys_created, again.vault_keys_present), (0, 3));
    let latest = client.get_key("seeded-ec", None).await.unwrap().into_model().unwrap();
    assert_eq!(
        version_of(&latest),
        version_of(&ec),
        "a generated key is generated once"
    );
    server.stop().await;

    for (bad, needle) in [
        ("keyvault:\n  keys:\n    - name: x\n      kty: oct\n", "kty"),
        ("keyvault:\n  keys:\n    - name: x\n      kty: oct-HSM\n", "Managed HSM"),
        (
            "keyvault:\n  keys:\n    - name: x\n      kty: RSA\n      keySize: 1024\n",
            "keySize",
        ),
        (
            "keyvault:\n  keys:\n    - name: x\n      kty: EC\n      keyOps: [fly]\n",
            "keyOps",
        ),
        (
            "keyvault:\n  keys:\n    - name: x\n      kty: EC\n      material: AAAA\n",
            "material",
        ),
        (
            "keyvault:\n  keys:\n    - {name: x, kty: EC}\n    - {name: X, kty: EC}\n",
            "twice",
        ),
    ] {
        let err = trent::init::InitFile::parse(bad, trent::init::Format::Yaml)
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{bad}: {err}");
    }
    let _ = std::fs::remove_file(&path);
}

/// Reads never create state: requests to 200 unknown vault hosts leave no vault behind, a vault that held a key
/// goes once the key is purged, and a vault holding something stays (issue 10's "reads never create state").
#[tokio::test]
async fn reads_leave_no_vaults_behind() {
    let server = start().await;
    let base = server.keyvault_endpoint();
    let http = reqwest::Client::new();
    let vaults = || async {
        let export = common::control_get(&base, "export").await;
        export["state"]["vaults"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    let call = |method: reqwest::Method, host: String, path: &str| {
        http.request(method, format!("{base}{path}?api-version=2025-07-01"))
            .header("host", host)
            .bearer_auth("t")
            .header("content-type", "application/json")
            .body(r#"{"kty": "EC"}"#)
            .send()
    };
    for i in 0..200 {
        let resp = call(reqwest::Method::GET, format!("v{i}.localhost"), "/keys/k")
            .await
            .unwrap();
        assert_eq!(resp.status(), 404);
    }
    assert!(vaults().await.is_empty(), "{:?}", vaults().await);
    call(reqwest::Method::POST, "kept.localhost".into(), "/keys/k/create")
        .await
        .unwrap();
    call(reqwest::Method::POST, "brief.localhost".into(), "/keys/k/create")
        .await
        .unwrap();
    call(reqwest::Method::DELETE, "brief.localhost".into(), "/keys/k")
        .await
        .unwrap();
    let resp = call(reqwest::Method::DELETE, "brief.localhost".into(), "/deletedkeys/k")
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    call(reqwest::Method::GET, "brief.localhost".into(), "/keys")
        .await
        .unwrap();
    assert_eq!(vaults().await, ["kept"]);
    server.stop().await;
}
