//! The AWS JSON 1.1 protocol layer, seen from the wire: what the SDKs hide (target header, body parsing,
//! model-driven validation wording, error envelope, control API). SDK-level behaviour is in tests/kms*.rs.

mod common;

use serde_json::{json, Value};

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

async fn call(endpoint: &str, target: Option<&str>, body: &str) -> Reply {
    let mut request = reqwest::Client::new()
        .post(format!("{endpoint}/"))
        .header("content-type", "application/x-amz-json-1.1")
        .body(body.to_string());
    if let Some(target) = target {
        request = request.header("x-amz-target", target);
    }
    let response = request.send().await.expect("server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Reply { status, headers, body }
}

#[tokio::test]
async fn protocol_errors_use_the_aws_envelope() {
    let server = trent::Server::start(trent::Config::ephemeral()).await.unwrap();
    let kms = server.kms_endpoint();

    let r = call(&kms, Some("TrentService.NoSuchThing"), "{}").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["__type"], "UnknownOperationException");
    assert_eq!(r.headers["content-type"], "application/x-amz-json-1.1");
    assert!(r.headers.contains_key("x-amzn-requestid"));

    let r = call(&kms, None, "{}").await;
    assert_eq!(r.body["__type"], "UnknownOperationException");
    let r = call(&kms, Some("OtherService.CreateKey"), "{}").await;
    assert_eq!(r.body["__type"], "UnknownOperationException");

    let r = call(&kms, Some("TrentService.DescribeKey"), "{not json").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["__type"], "SerializationException");
    let r = call(&kms, Some("TrentService.DescribeKey"), "[1, 2]").await;
    assert_eq!(r.body["__type"], "SerializationException");
    let r = call(&kms, Some("TrentService.GenerateRandom"), r#"{"NumberOfBytes": "ten"}"#).await;
    assert_eq!(r.body["__type"], "SerializationException");

    let r = call(&kms, Some("TrentService.DescribeKey"), "{}").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["__type"], "ValidationException");
    assert_eq!(
        r.body["message"],
        "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"
    );
    let r = call(&kms, Some("TrentService.GenerateRandom"), r#"{"NumberOfBytes": 0}"#).await;
    assert_eq!(
        r.body["message"],
        "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: \
         Member must have value greater than or equal to 1"
    );
    server.stop().await;
}

#[tokio::test]
async fn every_model_operation_is_answered_never_unknown() {
    let server = trent::Server::start(trent::Config::ephemeral()).await.unwrap();
    for op in trent::aws::model::kms().operations.keys() {
        let r = call(&server.kms_endpoint(), Some(&format!("TrentService.{op}")), "{}").await;
        assert_ne!(r.body["__type"], "UnknownOperationException", "{op} is in the model");
        assert!(r.status < 500, "{op} answered {} {:?}", r.status, r.body);
        assert!(r.body.is_object(), "{op} answered a JSON object");
    }
    server.stop().await;
}

#[tokio::test]
async fn control_api_answers_health_and_reset() {
    let server = trent::Server::start(trent::Config::ephemeral()).await.unwrap();
    let client = reqwest::Client::new();
    let health: Value = client
        .get(format!("{}/_parlel/health", server.kms_endpoint()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["service"], "kms");
    let reset = client
        .post(format!("{}/_parlel/reset", server.kms_endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    let health: Value = client
        .get(format!("{}/_parlel/health", server.keyvault_endpoint()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["service"], "keyvault");
    server.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_and_the_server_lives_on() {
    let server = trent::Server::start(trent::Config::ephemeral()).await.unwrap();
    let huge = json!({ "KeyId": "x".repeat(2 << 20) }).to_string();
    let r = call(&server.kms_endpoint(), Some("TrentService.DescribeKey"), &huge).await;
    assert_eq!(r.status, 413);
    let r = call(&server.kms_endpoint(), Some("TrentService.DescribeKey"), "{}").await;
    assert_eq!(r.body["__type"], "ValidationException");
    server.stop().await;
}

#[tokio::test]
async fn start_binds_and_stop_releases_the_ports() {
    let started = std::time::Instant::now();
    let server = trent::Server::start(trent::Config::ephemeral()).await.unwrap();
    let elapsed = started.elapsed();
    let addr = server.kms_addr().unwrap();
    server.stop().await;
    // Stopped means the port is free again.
    std::net::TcpListener::bind(addr).expect("port released after stop");
    eprintln!("in-process start took {elapsed:?}");
}

/// Every answer a client can get from the KMS port is in the AWS JSON envelope: other methods, other paths and an
/// oversized body included (issue 10, "every answer in the cloud's envelope").
#[tokio::test]
async fn other_methods_paths_and_oversized_bodies_answer_in_the_envelope() {
    let server = common::server().await;
    let kms = server.kms_endpoint();
    let http = reqwest::Client::new();
    let cases = [
        (http.get(&kms), 405),
        (http.delete(format!("{kms}/")), 405),
        (http.get(format!("{kms}/nope")), 404),
        (http.post(format!("{kms}/_parlel/health")), 405),
        (
            http.post(&kms)
                .header("x-amz-target", "TrentService.ListKeys")
                .header("content-type", "application/x-amz-json-1.1")
                .body(vec![b' '; 2 << 20]),
            413,
        ),
    ];
    for (request, status) in cases {
        let resp = request.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{:?}", resp.url());
        let body: serde_json::Value = resp.json().await.expect("a JSON body");
        assert!(body["__type"].is_string(), "{body}");
        assert!(!body["message"].as_str().unwrap_or_default().is_empty(), "{body}");
    }
    server.stop().await;
}

/// The Key Vault port's control routes answer a wrong method in the Azure envelope too.
#[tokio::test]
async fn keyvault_control_routes_answer_wrong_methods_in_the_azure_envelope() {
    let server = common::server().await;
    let resp = reqwest::Client::new()
        .delete(format!("{}/_parlel/health", server.keyvault_endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    let body: serde_json::Value = resp.json().await.expect("a JSON body");
    assert_eq!(body["error"]["code"], "MethodNotAllowed");
    server.stop().await;
}

/// A credential scope whose region is no AWS region is refused before the body is read, as AWS JSON services
/// answer it (InvalidSignatureException "Credential should be scoped to a valid region.", quoted from Secrets
/// Manager in minio/kes#303), through the official SDK; nothing is created for it.
#[tokio::test]
async fn a_scope_without_a_valid_region_is_refused() {
    let server = common::server().await;
    for region in ["nowhere", "eu-east-123"] {
        let client = common::client_in(&server, region);
        let (code, message) = common::error(client.create_key().send().await);
        assert_eq!(code, "InvalidSignatureException", "{region}");
        assert_eq!(message, "Credential should be scoped to a valid region.");
    }
    // What the SDKs refuse to send themselves (not a host label), sent by hand: the malformed-ARN case.
    let resp = reqwest::Client::new()
        .post(server.kms_endpoint())
        .header("x-amz-target", "TrentService.CreateKey")
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=parlel/20261202/us-east-1:999999999999/kms/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["__type"], "InvalidSignatureException");
    let dump = common::control_get(&server.kms_endpoint(), "dump").await;
    assert!(!dump.to_string().contains("nowhere"), "{dump}");
    server.stop().await;
}

/// Reads never create state: ListKeys in 50 accounts and regions that hold nothing leaves no region behind in the
/// export (issue 10: 30 000 lookups left 30 000 entries).
#[tokio::test]
async fn reads_in_empty_regions_leave_nothing_behind() {
    let server = common::server().await;
    for i in 0..50 {
        let client = common::client_with(&server, &format!("eu-test-{}", i % 9 + 1), &format!("{:012}", 100 + i));
        client.list_keys().send().await.unwrap();
        assert_eq!(
            common::code(client.describe_key().key_id("alias/none").send().await),
            "NotFoundException"
        );
    }
    common::symmetric_key(&common::client_in(&server, "eu-west-3")).await;
    let export = common::control_get(&server.kms_endpoint(), "export").await;
    let regions: Vec<&String> = export["state"]["regions"]
        .as_object()
        .expect("regions")
        .keys()
        .collect();
    assert_eq!(regions, ["000000000000/eu-west-3"], "only the region that holds a key");
    server.stop().await;
}
