//! The host and control-API guard (src/http/guard.rs): DNS-rebinding hosts are refused on every route of both
//! clouds in their own envelopes, cross-origin and form posts to `/_parlel/*` are refused and change nothing, and
//! `--control-token` / `--allow-host` work.

mod common;

use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;

async fn send(method: reqwest::Method, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> (u16, Value) {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    let mut req = reqwest::Client::new().request(method, url).headers(map);
    if let Some(body) = body {
        req = req.body(body.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test]
async fn rebinding_hosts_are_refused_everywhere_in_each_envelope() {
    let server = common::server().await;
    let kms = server.kms_endpoint();
    let kv = server.keyvault_endpoint();
    for host in ["evil.example", "localhost.evil.example:4730", "10.1.2.3"] {
        let (status, body) = send(
            reqwest::Method::GET,
            &format!("{kms}/_parlel/export"),
            &[("host", host)],
            None,
        )
        .await;
        assert_eq!(status, 403, "{host}: {body}");
        assert_eq!(body["__type"], "AccessDeniedException");
        let (status, body) = send(
            reqwest::Method::POST,
            &kms,
            &[
                ("host", host),
                ("x-amz-target", "TrentService.ListKeys"),
                ("content-type", "application/x-amz-json-1.1"),
            ],
            Some("{}"),
        )
        .await;
        assert_eq!(
            (status, body["__type"].as_str()),
            (403, Some("AccessDeniedException")),
            "{host}"
        );
        let (status, body) = send(
            reqwest::Method::GET,
            &format!("{kv}/secrets?api-version=7.4"),
            &[("host", host), ("authorization", "Bearer t")],
            None,
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("Forbidden")),
            "{host}"
        );
    }
    for host in [
        "localhost",
        "127.0.0.1:1",
        "myvault.localhost",
        "host.docker.internal:4594",
        "[::1]",
    ] {
        let (status, body) = send(
            reqwest::Method::GET,
            &format!("{kv}/_parlel/health"),
            &[("host", host)],
            None,
        )
        .await;
        assert_eq!(status, 200, "{host}: {body}");
    }
    server.stop().await;
}

#[tokio::test]
async fn cross_origin_and_form_posts_to_the_control_api_change_nothing() {
    let server = common::server().await;
    let kv = server.keyvault_endpoint();
    let clock = format!("{kv}/_parlel/clock");
    let body = Some(r#"{"advanceDays": 3}"#);
    for headers in [
        vec![("origin", "https://evil.example"), ("content-type", "application/json")],
        vec![("origin", "null"), ("content-type", "application/json")],
        vec![("sec-fetch-site", "cross-site"), ("content-type", "application/json")],
        vec![("content-type", "text/plain")],
        vec![("content-type", "application/x-www-form-urlencoded")],
    ] {
        let (status, answer) = send(reqwest::Method::POST, &clock, &headers, body).await;
        assert!(status == 403 || status == 415, "{headers:?}: {status} {answer}");
        assert!(answer["error"]["code"].is_string(), "{answer}");
    }
    let (_, now) = send(reqwest::Method::GET, &clock, &[], None).await;
    assert_eq!(now["offsetSeconds"], 0, "nothing moved the clock");
    // A page of trent's own origin, curl, and the SDK helpers still work.
    for headers in [
        vec![
            ("origin", "http://localhost:4594"),
            ("content-type", "application/json"),
        ],
        vec![
            ("sec-fetch-site", "same-origin"),
            ("content-type", "application/json; charset=utf-8"),
        ],
        vec![("content-type", "application/json")],
    ] {
        let (status, answer) = send(
            reqwest::Method::POST,
            &clock,
            &headers,
            Some(r#"{"advanceSeconds": 1}"#),
        )
        .await;
        assert_eq!(status, 200, "{headers:?}: {answer}");
    }
    let (status, _) = send(reqwest::Method::POST, &format!("{kv}/_parlel/reset"), &[], None).await;
    assert_eq!(
        status, 200,
        "a POST without a body or content type (curl -X POST) is fine"
    );
    server.stop().await;
}

#[tokio::test]
async fn control_token_and_allowed_hosts() {
    let server = trent::Server::start(trent::Config {
        control_token: Some("s3cret".into()),
        allowed_hosts: vec!["trent".into(), "*.vault.test".into()],
        ..trent::Config::ephemeral()
    })
    .await
    .unwrap();
    let kms = server.kms_endpoint();
    let (status, body) = send(reqwest::Method::GET, &format!("{kms}/_parlel/export"), &[], None).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (401, Some("UnrecognizedClientException"))
    );
    let (status, _) = send(
        reqwest::Method::GET,
        &format!("{kms}/_parlel/export"),
        &[("authorization", "Bearer wrong")],
        None,
    )
    .await;
    assert_eq!(status, 401);
    let (status, body) = send(
        reqwest::Method::GET,
        &format!("{kms}/_parlel/health"),
        &[("authorization", "Bearer s3cret"), ("host", "trent:4730")],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = send(
        reqwest::Method::GET,
        &format!("{}/_parlel/health", server.keyvault_endpoint()),
        &[("authorization", "Bearer s3cret"), ("host", "myvault.vault.test")],
        None,
    )
    .await;
    assert_eq!(status, 200);
    server.stop().await;
}
