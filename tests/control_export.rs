//! `GET /_parlel/export` and `POST /_parlel/import`: a service's whole state moves to a second server (keys
//! still decrypt and verify what the first server produced, secrets keep every version and their deleted
//! state), a round trip reproduces the document exactly, and a bad document is a 400 that changes nothing.

mod common;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{GrantOperation, KeySpec, KeyUsageType, SigningAlgorithmSpec};
use common::{client_in, server, symmetric_key};
use serde_json::{json, Value};

async fn export(endpoint: &str) -> Value {
    let res = reqwest::get(format!("{endpoint}/_parlel/export")).await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn import_raw(endpoint: &str, body: Vec<u8>) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{endpoint}/_parlel/import"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn import(endpoint: &str, document: &Value) -> (u16, Value) {
    import_raw(endpoint, serde_json::to_vec(document).unwrap()).await
}

async fn reset(endpoint: &str) {
    let res = reqwest::Client::new()
        .post(format!("{endpoint}/_parlel/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// Asserts a 400 BadRequest whose message contains every one of `needles`.
fn assert_bad(result: (u16, Value), needles: &[&str]) {
    let (status, body) = result;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "BadRequest", "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    for needle in needles {
        assert!(message.contains(needle), "{message:?} should mention {needle:?}");
    }
}

#[tokio::test]
async fn kms_state_moves_to_a_second_server() {
    let first = server().await;
    let kms = client_in(&first, "us-east-1");

    // A symmetric key with a ciphertext under its first version, then rotated, with alias, tags and a grant.
    let sym = symmetric_key(&kms).await;
    let old_ct = kms
        .encrypt()
        .key_id(&sym)
        .plaintext(Blob::new(b"before rotation".to_vec()))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    kms.rotate_key_on_demand().key_id(&sym).send().await.unwrap();
    kms.create_alias()
        .alias_name("alias/exported")
        .target_key_id(&sym)
        .send()
        .await
        .unwrap();
    let new_ct = kms
        .encrypt()
        .key_id("alias/exported")
        .plaintext(Blob::new(b"after rotation".to_vec()))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    kms.tag_resource()
        .key_id(&sym)
        .tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key("team")
                .tag_value("crypto")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let grant = kms
        .create_grant()
        .key_id(&sym)
        .grantee_principal("arn:aws:iam::000000000000:role/alice")
        .operations(GrantOperation::Decrypt)
        .send()
        .await
        .unwrap()
        .grant_id
        .unwrap();

    // An RSA signing key and a signature.
    let rsa = kms
        .create_key()
        .key_spec(KeySpec::Rsa2048)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let message = b"signed before the export".to_vec();
    let signature = kms
        .sign()
        .key_id(&rsa)
        .message(Blob::new(message.clone()))
        .signing_algorithm(SigningAlgorithmSpec::RsassaPssSha256)
        .send()
        .await
        .unwrap()
        .signature
        .unwrap();

    // Another region of the same account travels too.
    let west = client_in(&first, "eu-west-1");
    let west_key = symmetric_key(&west).await;

    let document = export(&first.kms_endpoint()).await;
    assert_eq!(document["format"], "trent-state");
    assert_eq!(document["version"], 1);
    assert_eq!(document["service"], "kms");
    let regions = document["state"]["regions"].as_object().unwrap();
    assert!(regions.contains_key("000000000000/us-east-1"), "{regions:?}");
    assert!(regions.contains_key("000000000000/eu-west-1"), "{regions:?}");
    let materials = &document["state"]["regions"]["000000000000/us-east-1"]["keys"][&sym]["materials"];
    assert_eq!(
        materials.as_array().map(Vec::len),
        Some(2),
        "both material versions are exported"
    );

    // Round trip on the same server: export → reset → import → export is the same document.
    reset(&first.kms_endpoint()).await;
    assert_eq!(export(&first.kms_endpoint()).await["state"]["regions"], json!({}));
    assert_eq!(import(&first.kms_endpoint(), &document).await.0, 200);
    assert_eq!(export(&first.kms_endpoint()).await, document);

    // A second server takes the document and serves the keys.
    let second = server().await;
    let (status, body) = import(&second.kms_endpoint(), &document).await;
    assert_eq!(status, 200, "{body}");
    let kms2 = client_in(&second, "us-east-1");
    for (ct, plain) in [(old_ct, &b"before rotation"[..]), (new_ct, &b"after rotation"[..])] {
        let out = kms2.decrypt().ciphertext_blob(ct).send().await.unwrap();
        assert_eq!(out.plaintext.unwrap().into_inner(), plain);
        assert_eq!(out.key_id.as_deref().map(|a| a.ends_with(&sym)), Some(true));
    }
    let verified = kms2
        .verify()
        .key_id(&rsa)
        .message(Blob::new(message))
        .signature(signature)
        .signing_algorithm(SigningAlgorithmSpec::RsassaPssSha256)
        .send()
        .await
        .unwrap();
    assert!(verified.signature_valid);
    let aliases = kms2.list_aliases().key_id(&sym).send().await.unwrap().aliases.unwrap();
    assert_eq!(aliases.len(), 1);
    assert_eq!(aliases[0].alias_name.as_deref(), Some("alias/exported"));
    let tags = kms2
        .list_resource_tags()
        .key_id(&sym)
        .send()
        .await
        .unwrap()
        .tags
        .unwrap();
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].tag_key, "team");
    let grants = kms2.list_grants().key_id(&sym).send().await.unwrap().grants.unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].grant_id.as_deref(), Some(grant.as_str()));
    let rotations = kms2
        .list_key_rotations()
        .key_id(&sym)
        .send()
        .await
        .unwrap()
        .rotations
        .unwrap();
    assert_eq!(rotations.len(), 1);
    let west2 = client_in(&second, "eu-west-1");
    west2.describe_key().key_id(&west_key).send().await.unwrap();
    assert_eq!(export(&second.kms_endpoint()).await, document);

    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn kms_import_keeps_a_pending_deletion_and_its_expiry() {
    let first = server().await;
    let kms = client_in(&first, "us-east-1");
    let key = symmetric_key(&kms).await;
    kms.schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let document = export(&first.kms_endpoint()).await;
    let deletions = &document["state"]["regions"]["000000000000/us-east-1"]["deletions"];
    assert_eq!(deletions.as_array().map(Vec::len), Some(1), "{deletions}");

    let second = server().await;
    assert_eq!(import(&second.kms_endpoint(), &document).await.0, 200);
    let kms2 = client_in(&second, "us-east-1");
    let md = kms2
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(md.key_state, Some(aws_sdk_kms::types::KeyState::PendingDeletion));
    // The rebuilt deletion index removes the key once its date passes.
    second.clock().advance_ms(8 * 86_400_000);
    assert_eq!(
        common::code(kms2.describe_key().key_id(&key).send().await),
        "NotFoundException"
    );
    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn bad_kms_imports_answer_400_and_change_nothing() {
    let first = server().await;
    let kms = client_in(&first, "us-east-1");
    let key = symmetric_key(&kms).await;
    let endpoint = first.kms_endpoint();
    let before = export(&endpoint).await;

    assert_bad(import_raw(&endpoint, b"not json".to_vec()).await, &["not JSON"]);
    assert_bad(import(&endpoint, &json!([1, 2])).await, &["object"]);

    let mut wrong = before.clone();
    wrong["service"] = json!("keyvault");
    assert_bad(import(&endpoint, &wrong).await, &["\"keyvault\"", "\"kms\""]);

    let mut wrong = before.clone();
    wrong["version"] = json!(2);
    assert_bad(import(&endpoint, &wrong).await, &["2", "expected 1"]);

    let mut wrong = before.clone();
    wrong["format"] = json!("something-else");
    assert_bad(import(&endpoint, &wrong).await, &["something-else", "trent-state"]);

    let mut wrong = before.clone();
    wrong["state"] = json!({ "regions": 5 });
    assert_bad(import(&endpoint, &wrong).await, &["malformed"]);

    let mut wrong = before.clone();
    wrong["state"]["regions"]["000000000000/us-east-1"]["keys"][&key]["materials"] = json!([]);
    assert_bad(import(&endpoint, &wrong).await, &["no key material"]);

    let mut wrong = before.clone();
    wrong["state"]["regions"]["000000000000/us-east-1"]["keys"][&key]["materials"][0]["bytes"] = json!("AAAA");
    assert_bad(import(&endpoint, &wrong).await, &["invalid"]);

    let mut wrong = before.clone();
    wrong["state"]["regions"]["000000000000/us-east-1"]["aliases"]["alias/dangling"] = json!({
        "name": "alias/dangling",
        "target_key_id": "11111111-2222-3333-4444-555555555555",
        "creation_ms": 0,
        "last_updated_ms": 0,
    });
    assert_bad(import(&endpoint, &wrong).await, &["alias/dangling", "does not exist"]);

    let mut wrong = before.clone();
    wrong.as_object_mut().unwrap().remove("state");
    assert_bad(import(&endpoint, &wrong).await, &["\"state\" is missing"]);

    // Nothing changed: the key still works and the state is as before.
    kms.encrypt()
        .key_id(&key)
        .plaintext(Blob::new(b"still here".to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(export(&endpoint).await, before);
    first.stop().await;
}

// ------------------------------------------------------------------------------------------------------------
// Key Vault

const AUTH: &str = "Bearer anything";

async fn kv(
    client: &reqwest::Client,
    method: reqwest::Method,
    server: &trent::Server,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut req = client
        .request(
            method,
            format!("{}{path}{sep}api-version=7.4", server.keyvault_endpoint()),
        )
        .header("authorization", AUTH);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn keyvault_state_moves_to_a_second_server() {
    use reqwest::Method;
    let client = reqwest::Client::new();
    let first = server().await;
    let (s, v1) = kv(
        &client,
        Method::PUT,
        &first,
        "/secrets/db-pass",
        Some(json!({"value": "one"})),
    )
    .await;
    assert_eq!(s, 200, "{v1}");
    let (s, v2) = kv(
        &client,
        Method::PUT,
        &first,
        "/secrets/db-pass",
        Some(json!({"value": "two", "contentType": "text/plain", "tags": {"env": "ci"}})),
    )
    .await;
    assert_eq!(s, 200, "{v2}");
    let (s, _) = kv(
        &client,
        Method::PUT,
        &first,
        "/secrets/Gone",
        Some(json!({"value": "bye"})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = kv(&client, Method::DELETE, &first, "/secrets/Gone", None).await;
    assert_eq!(s, 200);

    let endpoint = first.keyvault_endpoint();
    let document = export(&endpoint).await;
    assert_eq!(document["format"], "trent-state");
    assert_eq!(document["version"], 1);
    assert_eq!(document["service"], "keyvault");

    // Round trip on the same server.
    reset(&endpoint).await;
    assert_eq!(import(&endpoint, &document).await.0, 200);
    assert_eq!(export(&endpoint).await, document);

    let second = server().await;
    let (status, body) = import(&second.keyvault_endpoint(), &document).await;
    assert_eq!(status, 200, "{body}");
    let version_of = |bundle: &Value| -> String {
        let id = bundle["id"].as_str().unwrap_or_default();
        id.rsplit('/').next().unwrap_or_default().to_string()
    };
    let (s, got) = kv(
        &client,
        Method::GET,
        &second,
        &format!("/secrets/db-pass/{}", version_of(&v1)),
        None,
    )
    .await;
    assert_eq!((s, got["value"].clone()), (200, json!("one")));
    let (s, got) = kv(&client, Method::GET, &second, "/secrets/db-pass", None).await;
    assert_eq!(s, 200);
    assert_eq!(got["value"], "two");
    assert_eq!(got["contentType"], "text/plain");
    assert_eq!(got["tags"]["env"], "ci");
    assert_eq!(version_of(&got), version_of(&v2));
    let (s, got) = kv(&client, Method::GET, &second, "/secrets/db-pass/versions", None).await;
    assert_eq!(s, 200);
    assert_eq!(got["value"].as_array().map(Vec::len), Some(2), "{got}");
    let (s, deleted) = kv(&client, Method::GET, &second, "/deletedsecrets/gone", None).await;
    assert_eq!(s, 200, "{deleted}");
    assert!(
        deleted["recoveryId"].as_str().unwrap_or_default().contains("Gone"),
        "{deleted}"
    );
    let (s, _) = kv(&client, Method::GET, &second, "/secrets/Gone", None).await;
    assert_eq!(s, 404);
    let (s, _) = kv(&client, Method::POST, &second, "/deletedsecrets/Gone/recover", None).await;
    assert_eq!(s, 200);
    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn bad_keyvault_imports_answer_400_and_change_nothing() {
    use reqwest::Method;
    let client = reqwest::Client::new();
    let first = server().await;
    let (s, _) = kv(
        &client,
        Method::PUT,
        &first,
        "/secrets/keep",
        Some(json!({"value": "v"})),
    )
    .await;
    assert_eq!(s, 200);
    let endpoint = first.keyvault_endpoint();
    let before = export(&endpoint).await;

    assert_bad(import_raw(&endpoint, b"{".to_vec()).await, &["not JSON"]);
    let mut wrong = before.clone();
    wrong["service"] = json!("kms");
    assert_bad(import(&endpoint, &wrong).await, &["\"kms\"", "\"keyvault\""]);
    let mut wrong = before.clone();
    wrong["version"] = json!("1");
    assert_bad(import(&endpoint, &wrong).await, &["\"1\"", "expected 1"]);
    let mut wrong = before.clone();
    wrong["state"] = json!({ "vaults": { "x": { "secrets": [] } } });
    assert_bad(import(&endpoint, &wrong).await, &["malformed"]);
    let vault = before["state"]["vaults"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let mut wrong = before.clone();
    wrong["state"]["vaults"][&vault]["secrets"]["keep"]["versions"] = json!([]);
    assert_bad(import(&endpoint, &wrong).await, &["no versions"]);
    let mut wrong = before.clone();
    wrong["state"]["vaults"][&vault]["secrets"]["KEEP"] = before["state"]["vaults"][&vault]["secrets"]["keep"].clone();
    assert_bad(import(&endpoint, &wrong).await, &["KEEP"]);

    let (s, got) = kv(&client, Method::GET, &first, "/secrets/keep", None).await;
    assert_eq!((s, got["value"].clone()), (200, json!("v")));
    assert_eq!(export(&endpoint).await, before);
    first.stop().await;
}

#[tokio::test]
async fn import_accepts_bodies_above_the_kms_request_limit() {
    // The KMS API takes at most 1 MiB per request; an import of a larger document is still read.
    let first = server().await;
    let mut document = export(&first.kms_endpoint()).await;
    document["padding"] = json!("x".repeat(3 << 20));
    let (status, body) = import(&first.kms_endpoint(), &document).await;
    assert_eq!(status, 200, "{body}");
    first.stop().await;
}
