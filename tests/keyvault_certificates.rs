//! Azure Key Vault certificates through the official Azure SDK for Rust (`azure_security_keyvault_certificates`),
//! over HTTPS: create (self-signed, from a configured issuer, pending until a merge), import (PFX and PEM), the
//! managed key and secret, policies, issuers, contacts, delete/recover/purge and backup/restore. Certificates are
//! checked with x509-parser's signature verification and p12-keystore, independently of how trent made them.
//!
//! Wire facts asserted here come from recordings of the real service: Python
//! `test_certificates_client.pyTestCertificateClienttest_crud_operations[2025-07-01]` (Azure/azure-sdk-assets).

mod common;

use std::collections::HashMap;

use azure_core::http::RequestContent;
use azure_security_keyvault_certificates::models::{
    CertificateClientGetCertificateOptions, CertificatePolicy, Contact, Contacts, CreateCertificateParameters,
    ImportCertificateParameters, IssuerParameters, KeyProperties, KeyType, MergeCertificateParameters,
    SecretProperties, SetIssuerParameters, SubjectAlternativeNames, UpdateCertificateOperationParameter,
    UpdateCertificatePropertiesParameters, X509CertificateProperties,
};
use azure_security_keyvault_certificates::CertificateClient;
use azure_security_keyvault_keys::models::{SignParameters, SignatureAlgorithm};
use common::keyvault::{certificate_client, http_error, key_client, secret_client};
use futures::TryStreamExt;
use x509_parser::prelude::{FromDer, X509Certificate};

async fn start() -> trent::Server {
    trent::Server::start(trent::Config::ephemeral())
        .await
        .expect("server starts")
}

fn body<T>(p: T) -> RequestContent<T>
where
    T: TryInto<RequestContent<T>>,
    <T as TryInto<RequestContent<T>>>::Error: std::fmt::Debug,
{
    p.try_into().expect("serialises")
}

fn policy(issuer: &str, subject: &str) -> CertificatePolicy {
    CertificatePolicy {
        x509_certificate_properties: Some(X509CertificateProperties {
            subject: Some(subject.into()),
            subject_alternative_names: Some(SubjectAlternativeNames {
                dns_names: Some(vec!["app.contoso.test".into(), "localhost".into()]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        issuer_parameters: Some(IssuerParameters {
            name: Some(issuer.into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn create(
    client: &CertificateClient,
    name: &str,
    policy: CertificatePolicy,
) -> azure_security_keyvault_certificates::models::Certificate {
    let params = CreateCertificateParameters {
        certificate_policy: Some(policy),
        ..Default::default()
    };
    client
        .begin_create_certificate(name, body(params), None)
        .expect("begins")
        .await
        .expect("completes")
        .into_model()
        .expect("certificate")
}

/// GET `url` with a bearer token, as JSON (for members the SDK models do not show).
async fn get_json(http: &reqwest013::Client, url: &str) -> serde_json::Value {
    http.get(url)
        .bearer_auth("t")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn sha1(data: &[u8]) -> Vec<u8> {
    use sha1::Digest;
    sha1::Sha1::digest(data).to_vec()
}

fn b64url(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn unb64(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).expect("base64")
}

/// A self-signed certificate: the poller completes; id, kid and sid share the version; x5t is the SHA-1 of `cer`;
/// the certificate says what the policy asked; the default policy is filled in as recorded.
#[tokio::test]
async fn self_signed_certificates_and_their_key_and_secret() {
    let server = start().await;
    let client = certificate_client(&server);
    let cert = create(&client, "web", policy("Self", "CN=app.contoso.test, O=Contoso")).await;
    let id = cert.id.clone().unwrap();
    let version = id.rsplit('/').next().unwrap().to_string();
    assert_eq!(version.len(), 32);
    assert!(cert.kid.as_deref().unwrap().ends_with(&format!("/keys/web/{version}")));
    assert!(cert
        .sid
        .as_deref()
        .unwrap()
        .ends_with(&format!("/secrets/web/{version}")));
    let der = cert.cer.clone().unwrap();
    let (_, parsed) = X509Certificate::from_der(&der).expect("an X.509 certificate");
    // x509-parser prints the encoded order; Key Vault's `CN=…, O=…` lists the most specific first (RFC 4514).
    assert_eq!(parsed.subject().to_string(), "O=Contoso, CN=app.contoso.test");
    parsed.verify_signature(None).expect("self-signed signature verifies");
    let san = parsed.subject_alternative_name().unwrap().unwrap();
    assert_eq!(san.value.general_names.len(), 2);
    let eku = parsed.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.server_auth && eku.client_auth, "the default EKUs (recorded)");
    let ku = parsed.key_usage().unwrap().unwrap().value;
    assert!(
        ku.digital_signature() && ku.key_encipherment(),
        "the default key usages (recorded)"
    );
    let attrs = cert.attributes.clone().unwrap();
    let (nbf, exp, created) = (
        attrs.not_before.unwrap().unix_timestamp(),
        attrs.expires.unwrap().unix_timestamp(),
        attrs.created.unwrap().unix_timestamp(),
    );
    assert_eq!(created - nbf, 600, "nbf is ten minutes before creation (recorded)");
    assert_eq!(exp - created, 365 * 86_400, "12 months is 365 days (recorded)");
    let p = cert.policy.clone().unwrap();
    let keyp = p.key_properties.unwrap();
    assert_eq!(
        (keyp.exportable, keyp.key_size, keyp.reuse_key),
        (Some(true), Some(2048), Some(false))
    );
    assert_eq!(
        p.secret_properties.unwrap().content_type.as_deref(),
        Some("application/x-pkcs12")
    );
    assert_eq!(p.x509_certificate_properties.unwrap().validity_in_months, Some(12));

    // x5t through the raw REST answer: base64url SHA-1 of the DER.
    let http = common::keyvault::https_client(&server, &[]);
    let raw = get_json(
        &http,
        &format!(
            "{}/certificates/web?api-version=2025-07-01",
            server.keyvault_tls_endpoint()
        ),
    )
    .await;
    assert_eq!(raw["x5t"], b64url(&sha1(&der)));
    assert_eq!(
        raw["policy"]["lifetime_actions"][0]["action"]["action_type"],
        "AutoRenew"
    );
    assert_eq!(raw["policy"]["x509_props"]["basic_constraints"]["ca"], false);
    assert_eq!(
        raw["pending"]["id"],
        format!("{}/certificates/web/pending", server.keyvault_tls_endpoint())
    );

    // The managed secret holds the PFX with the key; the managed key signs, and the certificate verifies it.
    let secret = secret_client(&server)
        .get_secret("web", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(secret.content_type.as_deref(), Some("application/x-pkcs12"));
    let pfx = unb64(secret.value.as_deref().unwrap());
    let archive = p12_keystore::Pkcs12Archive::from_pkcs12(&pfx, "").expect("the PFX opens with an empty password");
    assert_eq!(archive.keys.len(), 1);
    assert_eq!(archive.certs[0].cert.as_der(), der.as_slice());
    let keys = key_client(&server);
    let key = keys.get_key("web", None).await.unwrap().into_model().unwrap();
    assert_eq!(key.managed, Some(true));
    let digest = {
        use sha2::Digest;
        sha2::Sha256::digest(b"signed by a certificate's key").to_vec()
    };
    let signed = keys
        .sign(
            "web",
            body(SignParameters {
                algorithm: Some(SignatureAlgorithm::Rs256),
                value: Some(digest.clone()),
            }),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    let spki = parsed.public_key().raw;
    use rsa::pkcs8::DecodePublicKey;
    let public = rsa::RsaPublicKey::from_public_key_der(spki).unwrap();
    public
        .verify(
            rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
            &digest,
            &signed.result.unwrap(),
        )
        .expect("the certificate's public key verifies the managed key's signature");

    // The secrets API may not write a certificate's secret (the service's 403, quoted in
    // hashicorp/terraform-provider-azurerm#5659).
    let (status, _, message) = http_error(
        secret_client(&server)
            .set_secret(
                "web",
                body(azure_security_keyvault_secrets::models::SetSecretParameters {
                    value: Some("overwrite".into()),
                    ..Default::default()
                }),
                None,
            )
            .await,
    );
    assert_eq!(status, 403);
    assert!(message.contains("lifetime is managed by Key Vault"), "{message}");

    // PEM out of the PFX secret, as the service converts it; a plain secret cannot be converted.
    let pem = get_json(
        &http,
        &format!(
            "{}/secrets/web?api-version=2025-07-01&outContentType=application/x-pem-file",
            server.keyvault_tls_endpoint()
        ),
    )
    .await;
    let pem_text = pem["value"].as_str().unwrap();
    assert!(pem_text.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem_text}");
    assert!(pem_text.contains("-----BEGIN CERTIFICATE-----"));
    secret_client(&server)
        .set_secret(
            "plain",
            body(azure_security_keyvault_secrets::models::SetSecretParameters {
                value: Some("v".into()),
                ..Default::default()
            }),
            None,
        )
        .await
        .unwrap();
    let refused = http
        .get(format!(
            "{}/secrets/plain?api-version=2025-07-01&outContentType=application/x-pem-file",
            server.keyvault_tls_endpoint()
        ))
        .bearer_auth("t")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let refused: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(
        refused["error"]["message"],
        "The 'Unsupported' to 'PEM' transformation is not supported. Only PFX to PEM transformation is supported."
    );
    server.stop().await;
}

/// An EC certificate in PEM: the secret is PEM with the PKCS#8 key first, the key is EC with sign/verify.
#[tokio::test]
async fn ec_certificates_in_pem() {
    let server = start().await;
    let client = certificate_client(&server);
    let mut p = policy("Self", "CN=ec.contoso.test");
    p.key_properties = Some(KeyProperties {
        key_type: Some(KeyType::Ec),
        curve: Some(azure_security_keyvault_certificates::models::CurveName::P384),
        ..Default::default()
    });
    p.secret_properties = Some(SecretProperties {
        content_type: Some("application/x-pem-file".into()),
    });
    let cert = create(&client, "ec", p).await;
    let der = cert.cer.unwrap();
    let (_, parsed) = X509Certificate::from_der(&der).unwrap();
    parsed.verify_signature(None).unwrap();
    let secret = secret_client(&server)
        .get_secret("ec", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(secret.content_type.as_deref(), Some("application/x-pem-file"));
    let value = secret.value.unwrap();
    assert!(value.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let key = key_client(&server)
        .get_key("ec", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    let ops = key.key.unwrap().key_ops.unwrap();
    assert_eq!(ops.len(), 2, "sign and verify: {ops:?}");
    server.stop().await;
}

/// Issuer `Unknown`: the operation stays in progress with its CSR; a certificate signed for that CSR by another CA
/// merges, one for another key is refused; cancel and delete of an operation.
#[tokio::test]
async fn pending_certificates_merge_cancel_and_delete() {
    let server = start().await;
    let client = certificate_client(&server);
    let params = CreateCertificateParameters {
        certificate_policy: Some(policy("Unknown", "CN=merged.contoso.test")),
        ..Default::default()
    };
    let http = common::keyvault::https_client(&server, &[]);
    let endpoint = server.keyvault_tls_endpoint();
    let created = http
        .post(format!("{endpoint}/certificates/merged/create?api-version=2025-07-01"))
        .bearer_auth("t")
        .json(&serde_json::json!({"policy": {"x509_props": {"subject": "CN=merged.contoso.test"}, "issuer": {"name": "Unknown"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 202);
    assert_eq!(created.headers()["retry-after"], "10");
    assert!(created.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with(&format!("{endpoint}/certificates/merged/pending")));
    drop(params);
    let op = client
        .get_certificate_operation("merged", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(op.status.as_deref(), Some("inProgress"));
    let csr = op.csr.unwrap();

    // Sign the CSR with a CA of the test's own (rcgen), as an external CA would.
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Test External CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let request = rcgen::CertificateSigningRequestParams::from_der(&csr.clone().into()).expect("a PKCS#10 request");
    let signed = request.signed_by(&issuer).unwrap();

    // A certificate for another key is refused.
    let stranger_key = rcgen::KeyPair::generate().unwrap();
    let stranger = rcgen::CertificateParams::new(vec!["x.test".to_string()])
        .unwrap()
        .self_signed(&stranger_key)
        .unwrap();
    let (status, _, message) = http_error(
        client
            .merge_certificate(
                "merged",
                body(MergeCertificateParameters {
                    x509_certificates: Some(vec![stranger.der().to_vec()]),
                    ..Default::default()
                }),
                None,
            )
            .await,
    );
    assert_eq!(status, 400, "{message}");

    let merged = client
        .merge_certificate(
            "merged",
            body(MergeCertificateParameters {
                x509_certificates: Some(vec![signed.der().to_vec(), ca_cert.der().to_vec()]),
                ..Default::default()
            }),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(merged.cer.as_deref(), Some(signed.der().as_ref()));
    let op = client
        .get_certificate_operation("merged", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(op.status.as_deref(), Some("completed"));
    assert!(op.target.unwrap().ends_with("/certificates/merged"));
    let pfx = secret_client(&server)
        .get_secret("merged", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    let archive = p12_keystore::Pkcs12Archive::from_pkcs12(&unb64(&pfx.value.unwrap()), "").unwrap();
    assert_eq!(archive.certs.len(), 2, "the merged chain is in the PFX");

    // Cancel, then delete, an operation in progress: the unissued certificate goes with it.
    create_pending(&http, &endpoint, "cancelled").await;
    let op = client
        .update_certificate_operation(
            "cancelled",
            body(UpdateCertificateOperationParameter {
                cancellation_requested: Some(true),
            }),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(op.cancellation_requested, Some(true));
    client.delete_certificate_operation("cancelled", None).await.unwrap();
    // Python recording test_async_request_cancellation_and_deletion[2025-07-01].
    let (status, code, message) = http_error(client.get_certificate_operation("cancelled", None).await);
    assert_eq!((status, code.as_str()), (404, "PendingCertificateNotFound"));
    assert!(
        message.contains("Pending Certificate not found: cancelled"),
        "{message}"
    );
    let (status, _, _) = http_error(client.get_certificate("cancelled", None).await);
    assert_eq!(status, 404);
    server.stop().await;
}

async fn create_pending(http: &reqwest013::Client, endpoint: &str, name: &str) {
    let response = http
        .post(format!("{endpoint}/certificates/{name}/create?api-version=2025-07-01"))
        .bearer_auth("t")
        .json(&serde_json::json!({"policy": {"x509_props": {"subject": format!("CN={name}")}, "issuer": {"name": "Unknown"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
}

/// A configured DigiCert issuer: the certificate comes from trent's local issuing CA, its chain verifies; issuers
/// never echo their password; contacts set, read and delete.
#[tokio::test]
async fn issuers_contacts_and_ca_issued_chains() {
    let server = start().await;
    let client = certificate_client(&server);
    let issuer = client
        .set_issuer(
            "digicert",
            body(SetIssuerParameters {
                provider: Some("DigiCert".into()),
                credentials: Some(azure_security_keyvault_certificates::models::IssuerCredentials {
                    account_id: Some("account".into()),
                    password: Some("secret-password".into()),
                }),
                ..Default::default()
            }),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(issuer.provider.as_deref(), Some("DigiCert"));
    let creds = issuer.credentials.unwrap();
    assert_eq!((creds.account_id.as_deref(), creds.password), (Some("account"), None));
    let listed: Vec<_> = client
        .list_issuer_properties(None)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);

    let cert = create(&client, "issued", policy("digicert", "CN=localhost")).await;
    let der = cert.cer.unwrap();
    let secret = secret_client(&server)
        .get_secret("issued", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    let archive = p12_keystore::Pkcs12Archive::from_pkcs12(&unb64(&secret.value.unwrap()), "").unwrap();
    let ca = archive
        .certs
        .iter()
        .map(|c| c.cert.as_der().to_vec())
        .find(|c| c != &der)
        .expect("the CA is in the chain");
    let (_, leaf) = X509Certificate::from_der(&der).unwrap();
    let (_, ca) = X509Certificate::from_der(&ca).unwrap();
    leaf.verify_signature(Some(ca.public_key()))
        .expect("issued by trent's CA");
    assert!(ca.is_ca());
    assert_eq!(
        ca.subject().to_string(),
        "O=trent (Azure Key Vault emulator), CN=trent Key Vault issuing CA"
    );

    let (status, _, _) = http_error(client.get_contacts(None).await);
    assert_eq!(status, 404);
    let contacts = Contacts {
        contact_list: Some(vec![Contact {
            email: Some("admin@contoso.test".into()),
            name: Some("Admin".into()),
            phone: None,
        }]),
        id: None,
    };
    client.set_contacts(body(contacts), None).await.unwrap();
    let got = client.get_contacts(None).await.unwrap().into_model().unwrap();
    assert_eq!(
        got.contact_list.unwrap()[0].email.as_deref(),
        Some("admin@contoso.test")
    );
    client.delete_contacts(None).await.unwrap();
    client.delete_issuer("digicert", None).await.unwrap();
    let (status, _, _) = http_error(client.get_issuer("digicert", None).await);
    assert_eq!(status, 404);
    let (status, _, message) = http_error(
        client
            .begin_create_certificate(
                "orphan",
                body(CreateCertificateParameters {
                    certificate_policy: Some(policy("digicert", "CN=x")),
                    ..Default::default()
                }),
                None,
            )
            .unwrap()
            .await,
    );
    assert_eq!(status, 400, "{message}");
    server.stop().await;
}

/// Import of a PFX (with and without a password) and of PEM; the policy is derived with issuer Unknown.
#[tokio::test]
async fn import_pfx_and_pem() {
    let server = start().await;
    let client = certificate_client(&server);
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["imported.test".to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "imported.test");
    let cert = params.self_signed(&key).unwrap();
    for (name, password) in [("pfx-plain", ""), ("pfx-password", "hunter2")] {
        let mut store = p12_keystore::KeyStore::new();
        let chain = p12_keystore::PrivateKeyChain::new(
            b"1".to_vec(),
            p12_keystore::PrivateKey::from_der(&key.serialize_der()).unwrap(),
            vec![p12_keystore::Certificate::from_der(cert.der()).unwrap()],
        );
        store.add_entry("c", p12_keystore::KeyStoreEntry::PrivateKeyChain(chain));
        let pfx = store.writer(password).write().unwrap();
        let imported = client
            .import_certificate(
                name,
                body(ImportCertificateParameters {
                    base64_encoded_certificate: Some(b64(&pfx)),
                    password: (!password.is_empty()).then(|| password.to_string()),
                    ..Default::default()
                }),
                None,
            )
            .await
            .unwrap()
            .into_model()
            .unwrap();
        assert_eq!(imported.cer.as_deref(), Some(cert.der().as_ref()));
        let policy = imported.policy.unwrap();
        assert_eq!(policy.issuer_parameters.unwrap().name.as_deref(), Some("Unknown"));
        assert_eq!(policy.key_properties.unwrap().key_type, Some(KeyType::Ec));
    }
    let (status, _, _) = http_error(
        client
            .import_certificate(
                "wrong-password",
                body(ImportCertificateParameters {
                    base64_encoded_certificate: Some(b64(&{
                        let mut store = p12_keystore::KeyStore::new();
                        store.add_entry(
                            "c",
                            p12_keystore::KeyStoreEntry::PrivateKeyChain(p12_keystore::PrivateKeyChain::new(
                                b"1".to_vec(),
                                p12_keystore::PrivateKey::from_der(&key.serialize_der()).unwrap(),
                                vec![p12_keystore::Certificate::from_der(cert.der()).unwrap()],
                            )),
                        );
                        store.writer("right").write().unwrap()
                    })),
                    password: Some("wrong".into()),
                    ..Default::default()
                }),
                None,
            )
            .await,
    );
    assert_eq!(status, 400);
    let pem = format!("{}{}", key.serialize_pem(), cert.pem());
    let imported = client
        .import_certificate(
            "pem",
            body(ImportCertificateParameters {
                base64_encoded_certificate: Some(pem),
                certificate_policy: Some(CertificatePolicy {
                    secret_properties: Some(SecretProperties {
                        content_type: Some("application/x-pem-file".into()),
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(imported.cer.as_deref(), Some(cert.der().as_ref()));
    let secret = secret_client(&server)
        .get_secret("pem", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(secret.content_type.as_deref(), Some("application/x-pem-file"));
    server.stop().await;
}

/// Versions, update, policy, delete/recover/purge and backup/restore of a certificate and its key and secret.
#[tokio::test]
async fn lifecycle_versions_policy_backup() {
    let server = start().await;
    let client = certificate_client(&server);
    let first = create(&client, "life", policy("Self", "CN=life")).await;
    let second = create(&client, "life", policy("Self", "CN=life")).await;
    assert_ne!(first.id, second.id);
    let versions: Vec<_> = client
        .list_certificate_properties_versions("life", None)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(versions.len(), 2);
    let old = client
        .get_certificate(
            "life",
            Some(CertificateClientGetCertificateOptions {
                certificate_version: first.id.as_ref().map(|id| id.rsplit('/').next().unwrap().to_string()),
                ..Default::default()
            }),
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(old.cer, first.cer);
    let updated = client
        .update_certificate_properties(
            "life",
            body(UpdateCertificatePropertiesParameters {
                tags: Some(HashMap::from([("env".to_string(), "test".to_string())])),
                ..Default::default()
            }),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(updated.tags.unwrap()["env"], "test");
    let mut new_policy = client
        .get_certificate_policy("life", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    new_policy.x509_certificate_properties = Some(X509CertificateProperties {
        subject: Some("CN=renamed".into()),
        validity_in_months: Some(24),
        ..Default::default()
    });
    let stored = client
        .update_certificate_policy("life", body(new_policy), None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(stored.x509_certificate_properties.unwrap().validity_in_months, Some(24));

    let backup = client
        .backup_certificate("life", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    client.delete_certificate("life", None).await.unwrap();
    let (status, code, _) = http_error(client.get_certificate("life", None).await);
    assert_eq!((status, code.as_str()), (404, "CertificateNotFound"));
    assert!(
        secret_client(&server).get_secret("life", None).await.is_err(),
        "the secret is deleted with it"
    );
    let deleted: Vec<_> = client
        .list_deleted_certificate_properties(None)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(deleted.len(), 1);
    client.recover_deleted_certificate("life", None).await.unwrap();
    assert!(
        key_client(&server).get_key("life", None).await.is_ok(),
        "the key is recovered with it"
    );
    client.delete_certificate("life", None).await.unwrap();
    client.purge_deleted_certificate("life", None).await.unwrap();
    let restored = client
        .restore_certificate(
            body(
                azure_security_keyvault_certificates::models::RestoreCertificateParameters {
                    certificate_backup: backup.value.clone(),
                },
            ),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(restored.cer, second.cer);
    assert!(secret_client(&server).get_secret("life", None).await.is_ok());
    let (status, code, _) = http_error(
        client
            .restore_certificate(
                body(
                    azure_security_keyvault_certificates::models::RestoreCertificateParameters {
                        certificate_backup: backup.value,
                    },
                ),
                None,
            )
            .await,
    );
    assert_eq!((status, code.as_str()), (409, "Conflict"));
    let listed: Vec<_> = client
        .list_certificate_properties(None)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    server.stop().await;
}

/// With `--data-dir`, certificates, their keys, secrets, policies, operations and issuers survive a restart, and
/// trent's issuing CA is the same after it (a chain issued before verifies with the CA of one issued after).
#[tokio::test]
async fn certificates_and_the_issuing_ca_persist() {
    let dir = common::TempDir::new("certificates");
    let issuer_params = || SetIssuerParameters {
        provider: Some("GlobalSign".into()),
        ..Default::default()
    };
    let before = {
        let server = common::start_on(&dir.0).await;
        let client = certificate_client(&server);
        client.set_issuer("gs", body(issuer_params()), None).await.unwrap();
        let cert = create(&client, "kept", policy("gs", "CN=kept.localhost")).await;
        create_pending(
            &common::keyvault::https_client(&server, &[]),
            &server.keyvault_tls_endpoint(),
            "waiting",
        )
        .await;
        server.stop().await;
        cert
    };
    let ca_out = dir.0.join("ca-out").join("trent-ca.pem");
    std::fs::create_dir_all(ca_out.parent().unwrap()).unwrap();
    let server = trent::Server::start(trent::Config {
        tls_ca_out: Some(ca_out.clone()),
        ..common::data_dir_config(&dir.0)
    })
    .await
    .unwrap();
    let client = certificate_client(&server);
    let after = client
        .get_certificate("kept", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(after.cer, before.cer);
    assert!(secret_client(&server).get_secret("kept", None).await.is_ok());
    assert!(key_client(&server).get_key("kept", None).await.is_ok());
    let op = client
        .get_certificate_operation("waiting", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(op.status.as_deref(), Some("inProgress"));
    assert!(client.get_issuer("gs", None).await.is_ok());
    let second = create(&client, "second", policy("gs", "CN=second.localhost")).await;
    let chain_ca = |name: &'static str| {
        let server = &server;
        async move {
            let secret = secret_client(server)
                .get_secret(name, None)
                .await
                .unwrap()
                .into_model()
                .unwrap();
            let archive = p12_keystore::Pkcs12Archive::from_pkcs12(&unb64(&secret.value.unwrap()), "").unwrap();
            archive
                .certs
                .iter()
                .map(|c| c.cert.as_der().to_vec())
                .find(|c| X509Certificate::from_der(c).map(|(_, x)| x.is_ca()).unwrap_or(false))
                .expect("a CA in the chain")
        }
    };
    let ca_before = chain_ca("kept").await;
    assert_eq!(ca_before, chain_ca("second").await, "one issuing CA across restarts");
    // The CA trent wrote beside --tls-ca-out at start is the one in the chains.
    let written = std::fs::read_to_string(ca_out.with_file_name(trent::ISSUING_CA_FILE)).unwrap();
    assert_eq!(pem::parse(&written).unwrap().contents(), ca_before.as_slice());
    let (_, ca) = X509Certificate::from_der(&ca_before).unwrap();
    let leaf = second.cer.unwrap();
    let (_, leaf) = X509Certificate::from_der(&leaf).unwrap();
    leaf.verify_signature(Some(ca.public_key())).unwrap();
    server.stop().await;
}
