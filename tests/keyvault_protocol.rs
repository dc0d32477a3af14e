//! The Key Vault wire details the SDKs hide, driven with plain HTTP requests: the challenge, api-version, paths,
//! methods, headers, vault selection by Host, the control API, and the HTTPS listener itself.

use reqwest013 as reqwest;
use serde_json::{json, Value};

const SEED_CHALLENGE: &str =
    r#"Bearer authorization="https://login.microsoftonline.com/parlel-tenant-id", resource="https://vault.azure.net""#;
const AUTH: &str = "Bearer anything";

async fn start() -> (trent::Server, reqwest::Client) {
    let server = trent::Server::start(trent::Config::ephemeral())
        .await
        .expect("server starts");
    (server, reqwest::Client::new())
}

fn url(server: &trent::Server, path_and_query: &str) -> String {
    format!("{}{}", server.keyvault_endpoint(), path_and_query)
}

async fn body(resp: reqwest::Response) -> Value {
    resp.json().await.unwrap_or(Value::Null)
}

async fn put_secret(
    client: &reqwest::Client,
    server: &trent::Server,
    host: Option<&str>,
    name: &str,
    value: &str,
) -> Value {
    let mut req = client
        .put(url(server, &format!("/secrets/{name}?api-version=7.4")))
        .header("authorization", AUTH)
        .json(&json!({ "value": value }));
    if let Some(host) = host {
        req = req.header("host", host);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    body(resp).await
}

#[tokio::test]
async fn challenge_on_bare_host_is_the_seed_header_exactly_once() {
    let (server, client) = start().await;
    for (method, path) in [
        (reqwest::Method::GET, "/secrets/x?api-version=7.4"),
        (reqwest::Method::PUT, "/secrets/x?api-version=2025-07-01"),
        (reqwest::Method::GET, "/secrets"),
        (reqwest::Method::GET, "/nowhere"),
    ] {
        let resp = client.request(method, url(&server, path)).send().await.unwrap();
        assert_eq!(resp.status(), 401);
        let values: Vec<_> = resp.headers().get_all("www-authenticate").iter().collect();
        assert_eq!(values.len(), 1);
        assert_eq!(values[0].to_str().unwrap(), SEED_CHALLENGE);
        assert!(resp.headers().contains_key("x-ms-request-id"));
        let b = body(resp).await;
        assert_eq!(b["error"]["code"], "Unauthorized");
    }
    // localhost is a bare host too; an empty bearer token is no token.
    let port = server.keyvault_addr().unwrap().port();
    let resp = client
        .get(url(&server, "/secrets/x?api-version=7.4"))
        .header("host", format!("localhost:{port}"))
        .header("authorization", "Bearer ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["www-authenticate"], SEED_CHALLENGE);
    server.stop().await;
}

#[tokio::test]
async fn challenge_on_vault_host_names_a_matching_resource() {
    let (server, client) = start().await;
    let port = server.keyvault_addr().unwrap().port();
    let resp = client
        .get(url(&server, "/secrets/x?api-version=7.4"))
        .header("host", format!("myvault.localhost:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let values: Vec<_> = resp.headers().get_all("www-authenticate").iter().collect();
    assert_eq!(values.len(), 1);
    assert_eq!(
        values[0].to_str().unwrap(),
        format!(
            r#"Bearer authorization="https://login.microsoftonline.com/parlel-tenant-id", resource="https://localhost:{port}""#
        )
    );
    server.stop().await;
}

#[tokio::test]
async fn the_challenge_comes_before_the_body_is_read() {
    // A large unauthenticated PUT still gets the 401 (and the server keeps serving).
    let (server, client) = start().await;
    let resp = client
        .put(url(&server, "/secrets/x?api-version=7.4"))
        .body(vec![b'x'; 2 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = client.get(url(&server, "/_parlel/health")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn api_version_missing_malformed_and_encoded() {
    let (server, client) = start().await;
    put_secret(&client, &server, None, "v", "value").await;
    for (query, ok) in [
        ("", false),
        ("?api-version=", false),
        ("?api-version=7.9", false),
        ("?api-version=banana", false),
        ("?api-version=2024-01-01", false),
        ("?api-version=7.0", true),
        ("?api-version=7.6", true),
        ("?api-version=2025-07-01", true),
        ("?api-version=2026-04-01", true),
        ("?api%2Dversion=7.4", true),
        ("?api%2dversion=7%2E5", true),
    ] {
        let resp = client
            .get(url(&server, &format!("/secrets/v{query}")))
            .header("authorization", AUTH)
            .send()
            .await
            .unwrap();
        if ok {
            assert_eq!(resp.status(), 200, "{query}");
        } else {
            assert_eq!(resp.status(), 400, "{query}");
            let b = body(resp).await;
            assert_eq!(b["error"]["code"], "BadParameter", "{query}");
            assert!(
                b["error"]["message"].as_str().unwrap().contains("version"),
                "{query}: {b}"
            );
        }
    }
    let resp = client
        .get(url(&server, "/secrets/v?api-version=7.9"))
        .header("authorization", AUTH)
        .send()
        .await
        .unwrap();
    assert_eq!(
        body(resp).await["error"]["message"],
        "The specified version (7.9) is not recognized. Consider using the latest supported version (2025-07-01)."
    );
    server.stop().await;
}

#[tokio::test]
async fn trailing_slash_means_latest() {
    let (server, client) = start().await;
    put_secret(&client, &server, None, "t", "first").await;
    put_secret(&client, &server, None, "t", "second").await;
    let resp = client
        .get(url(&server, "/secrets/t/?api-version=7.4"))
        .header("authorization", AUTH)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(body(resp).await["value"], "second");
    // PATCH on the trailing-slash path updates the latest version.
    let resp = client
        .patch(url(&server, "/secrets/t/?api-version=7.4"))
        .header("authorization", AUTH)
        .json(&json!({"contentType": "text/x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let b = body(resp).await;
    assert_eq!(b["contentType"], "text/x");
    assert!(b.get("value").is_none());
    server.stop().await;
}

#[tokio::test]
async fn wire_shapes_errors_and_headers() {
    let (server, client) = start().await;
    let set = put_secret(&client, &server, None, "shape", "v").await;
    let id = set["id"].as_str().unwrap();
    let prefix = format!("{}/secrets/shape/", server.keyvault_endpoint());
    assert!(id.starts_with(&prefix), "{id}");
    assert_eq!(id.len(), prefix.len() + 32);
    let attrs = &set["attributes"];
    assert_eq!(attrs["enabled"], true);
    assert_eq!(attrs["recoveryLevel"], "Recoverable+Purgeable");
    assert_eq!(attrs["recoverableDays"], 90);
    assert!(attrs["created"].is_i64() && attrs["updated"].is_i64());

    let send = |method: reqwest::Method, path: &str| {
        client
            .request(method, url(&server, path))
            .header("authorization", AUTH)
            .send()
    };
    // 405 on a known path with the wrong method.
    for (method, path) in [
        (reqwest::Method::POST, "/secrets/shape?api-version=7.4"),
        (reqwest::Method::DELETE, "/secrets?api-version=7.4"),
        (reqwest::Method::GET, "/secrets/shape/backup?api-version=7.4"),
        (reqwest::Method::PUT, "/deletedsecrets/shape?api-version=7.4"),
    ] {
        let resp = send(method.clone(), path).await.unwrap();
        assert_eq!(resp.status(), 405, "{method} {path}");
        assert!(resp.headers().contains_key("x-ms-request-id"));
        assert_eq!(body(resp).await["error"]["code"], "MethodNotAllowed");
    }
    // Certificates route like the other planes: an unknown certificate is the service's 404.
    let resp = send(reqwest::Method::GET, "/certificates/c?api-version=7.4")
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(body(resp).await["error"]["code"], "CertificateNotFound");
    // 404 wording.
    let resp = send(reqwest::Method::GET, "/secrets/nope?api-version=7.4")
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(
        body(resp).await,
        json!({"error": {"code": "SecretNotFound", "message": "A secret with (name/id) nope was not found in this key vault."}})
    );
    let resp = send(
        reqwest::Method::GET,
        "/secrets/shape/0123456789abcdef0123456789abcdef?api-version=7.4",
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(
        body(resp).await["error"]["message"],
        "A secret with (name/id) shape/0123456789abcdef0123456789abcdef was not found in this key vault."
    );
    // Bad name, missing value, malformed JSON: 400 BadParameter.
    for (path, payload) in [
        ("/secrets/bad_name?api-version=7.4", r#"{"value":"x"}"#.to_string()),
        ("/secrets/ok?api-version=7.4", r#"{"contentType":"x"}"#.to_string()),
        ("/secrets/ok?api-version=7.4", "{not json".to_string()),
        (&format!("/secrets/{}?api-version=7.4", "a".repeat(128)), r#"{"value":"x"}"#.to_string()),
        ("/secrets/ok?api-version=7.4", json!({"value": "x", "tags": (0..16).map(|i| (format!("t{i}"), json!("v"))).collect::<serde_json::Map<_, _>>()}).to_string()),
    ] {
        let resp = client
            .put(url(&server, path))
            .header("authorization", AUTH)
            .header("content-type", "application/json")
            .body(payload)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{path}");
        assert_eq!(body(resp).await["error"]["code"], "BadParameter");
    }
    // Disabled: 403 with the service's words.
    let resp = client
        .patch(url(&server, "/secrets/shape/?api-version=7.4"))
        .header("authorization", AUTH)
        .json(&json!({"attributes": {"enabled": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = send(reqwest::Method::GET, "/secrets/shape?api-version=7.4")
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(
        body(resp).await,
        json!({"error": {"code": "Forbidden", "message": "Operation get is not allowed on a disabled secret.",
            "innererror": {"code": "SecretDisabled"}}})
    );
    // Deleted but recoverable: 409 with the innererror.
    let resp = send(reqwest::Method::DELETE, "/secrets/shape?api-version=7.4")
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let deleted = body(resp).await;
    assert_eq!(
        deleted["scheduledPurgeDate"].as_i64().unwrap() - deleted["deletedDate"].as_i64().unwrap(),
        90 * 86400
    );
    let resp = client
        .put(url(&server, "/secrets/shape?api-version=7.4"))
        .header("authorization", AUTH)
        .json(&json!({"value": "again"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    assert_eq!(
        body(resp).await,
        json!({"error": {"code": "Conflict", "innererror": {"code": "ObjectIsDeletedButRecoverable"},
            "message": "Secret shape is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged."}})
    );
    let resp = send(reqwest::Method::DELETE, "/deletedsecrets/shape?api-version=7.4")
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let resp = send(reqwest::Method::GET, "/deletedsecrets/shape?api-version=7.4")
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(
        body(resp).await,
        json!({"error": {"code": "SecretNotFound", "message": "Deleted Secret not found: shape"}})
    );
    // Secrets may be named like the restore and backup operations.
    put_secret(&client, &server, None, "restore", "r").await;
    put_secret(&client, &server, None, "backup", "b").await;
    let resp = send(reqwest::Method::GET, "/secrets/restore?api-version=7.4")
        .await
        .unwrap();
    assert_eq!(body(resp).await["value"], "r");
    let resp = send(reqwest::Method::GET, "/secrets/backup/?api-version=7.4")
        .await
        .unwrap();
    assert_eq!(body(resp).await["value"], "b");
    // Names are case-insensitive.
    put_secret(&client, &server, None, "MixedCase", "v").await;
    let resp = send(reqwest::Method::GET, "/secrets/mixedcase?api-version=7.4")
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Unknown paths: 404 in the envelope, never a panic.
    for path in [
        "/",
        "/secrets/a/b/c?api-version=7.4",
        "/%FF%FE?api-version=7.4",
        "/secrets/%00?api-version=7.4",
    ] {
        let resp = send(reqwest::Method::GET, path).await.unwrap();
        assert!(resp.status().is_client_error(), "{path}: {}", resp.status());
        assert!(body(resp).await["error"]["code"].is_string(), "{path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn paging_tokens_and_limits() {
    let (server, client) = start().await;
    for i in 0..5 {
        put_secret(&client, &server, None, &format!("p{i}"), "v").await;
    }
    let get = |path: String| client.get(url(&server, &path)).header("authorization", AUTH).send();
    let resp = get("/secrets?api-version=7.4&maxresults=2".into()).await.unwrap();
    let page = body(resp).await;
    assert_eq!(page["value"].as_array().unwrap().len(), 2);
    let next = page["nextLink"].as_str().unwrap().to_string();
    assert!(
        next.starts_with(&format!("{}/secrets?", server.keyvault_endpoint())),
        "{next}"
    );
    assert!(next.contains("$skiptoken="));
    let mut seen = 2;
    let mut next = Some(next);
    while let Some(link) = next {
        let page = body(client.get(link).header("authorization", AUTH).send().await.unwrap()).await;
        seen += page["value"].as_array().unwrap().len();
        next = page["nextLink"].as_str().map(str::to_string);
    }
    assert_eq!(seen, 5);
    for bad in ["0", "26", "-1", "x"] {
        let resp = get(format!("/secrets?api-version=7.4&maxresults={bad}")).await.unwrap();
        assert_eq!(resp.status(), 400, "{bad}");
    }
    let resp = get("/secrets?api-version=7.4&$skiptoken=garbage!".into())
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = get("/secrets/nothing/versions?api-version=7.4".into()).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(body(resp).await, json!({"value": [], "nextLink": null}));
    server.stop().await;
}

#[tokio::test]
async fn vaults_are_separated_by_host() {
    let (server, client) = start().await;
    let port = server.keyvault_addr().unwrap().port();
    let a = format!("alpha.localhost:{port}");
    let b = format!("beta.localhost:{port}");
    let set = put_secret(&client, &server, Some(&a), "shared-name", "in-alpha").await;
    assert!(set["id"]
        .as_str()
        .unwrap()
        .starts_with(&format!("http://{a}/secrets/shared-name/")));
    put_secret(&client, &server, Some(&b), "shared-name", "in-beta").await;
    for (host, expected) in [(&a, "in-alpha"), (&b, "in-beta")] {
        let resp = client
            .get(url(&server, "/secrets/shared-name?api-version=7.4"))
            .header("host", host.as_str())
            .header("authorization", AUTH)
            .send()
            .await
            .unwrap();
        assert_eq!(body(resp).await["value"], expected);
    }
    // The default vault (bare host) has neither.
    let resp = client
        .get(url(&server, "/secrets/shared-name?api-version=7.4"))
        .header("authorization", AUTH)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let dump = body(client.get(url(&server, "/_parlel/dump")).send().await.unwrap()).await;
    assert_eq!(dump["vaults"]["alpha"]["secrets"], json!(["shared-name"]));
    assert_eq!(dump["vaults"]["beta"]["secrets"], json!(["shared-name"]));
    server.stop().await;
}

#[tokio::test]
async fn control_health_reset_dump() {
    let (server, client) = start().await;
    put_secret(&client, &server, None, "c1", "a").await;
    put_secret(&client, &server, None, "c1", "b").await;
    put_secret(&client, &server, None, "c2", "a").await;
    let resp = client
        .delete(url(&server, "/secrets/c2?api-version=7.4"))
        .header("authorization", AUTH)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = client.get(url(&server, "/_parlel/health")).send().await.unwrap();
    assert!(resp.headers().contains_key("x-ms-request-id"));
    let health = body(resp).await;
    assert_eq!(
        health,
        json!({"status": "ok", "service": "keyvault", "secrets": 1, "versions": 2, "deleted": 1,
               "keys": 0, "keyVersions": 0, "deletedKeys": 0,
               "certificates": 0, "certificateVersions": 0, "deletedCertificates": 0,
               "storage": {"status": "ok", "durable": false}})
    );
    let dump = body(client.get(url(&server, "/_parlel/dump")).send().await.unwrap()).await;
    assert_eq!(dump["secrets"], json!(["c1"]));
    assert_eq!(dump["deleted"], json!(["c2"]));
    assert!(!dump.to_string().contains("\"a\""), "dump never shows values");
    let resp = client.post(url(&server, "/_parlel/reset")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let health = body(client.get(url(&server, "/_parlel/health")).send().await.unwrap()).await;
    assert_eq!(health["secrets"], 0);
    assert_eq!(health["deleted"], 0);
    server.stop().await;
}

fn https_client(server: &trent::Server, http2: bool) -> reqwest::Client {
    let pem = server.ca_certificate_pem().unwrap();
    let ca = reqwest::Certificate::from_pem(pem.as_bytes()).unwrap();
    let addr = server.keyvault_tls_addr().unwrap();
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([ca])
        .resolve("myvault.localhost", addr);
    if !http2 {
        builder = builder.http1_only();
    }
    builder.build().unwrap()
}

#[tokio::test]
async fn https_listener_serves_h2_and_http1_with_https_ids() {
    let ca_out = std::env::temp_dir().join(format!("trent-ca-test-{}.pem", std::process::id()));
    let config = trent::Config {
        tls_ca_out: Some(ca_out.clone()),
        ..trent::Config::ephemeral()
    };
    let server = trent::Server::start(config).await.expect("server starts");
    // The CA file holds the same PEM the server reports.
    let path = server.ca_certificate_path().unwrap().to_path_buf();
    assert_eq!(path, ca_out);
    let on_disk = std::fs::read_to_string(&path).unwrap();
    assert_eq!(Some(on_disk), server.ca_certificate_pem());
    let _ = std::fs::remove_file(&path);
    assert!(server.keyvault_tls_endpoint().starts_with("https://localhost:"));

    let port = server.keyvault_tls_addr().unwrap().port();
    for http2 in [true, false] {
        let client = https_client(&server, http2);
        let resp = client
            .get(format!("{}/_parlel/health", server.keyvault_tls_endpoint()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.version() == reqwest::Version::HTTP_2, http2);
        let resp = client
            .put(format!(
                "{}/secrets/tls-{http2}?api-version=2025-07-01",
                server.keyvault_tls_endpoint()
            ))
            .header("authorization", AUTH)
            .json(&json!({"value": "v"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let id = body(resp).await["id"].as_str().unwrap().to_string();
        assert!(
            id.starts_with(&format!("https://localhost:{port}/secrets/tls-{http2}/")),
            "{id}"
        );
        // A vault host over TLS (certificate issued for the SNI name).
        let resp = client
            .get(format!("https://myvault.localhost:{port}/secrets/x?api-version=7.4"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        assert_eq!(
            resp.headers()["www-authenticate"],
            format!(r#"Bearer authorization="https://login.microsoftonline.com/parlel-tenant-id", resource="https://localhost:{port}""#).as_str()
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_failed_handshake_does_not_affect_other_connections() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (server, _) = start().await;
    let addr = server.keyvault_tls_addr().unwrap();
    // Garbage instead of a ClientHello, a plain HTTP request on the TLS port, and a connection left idle.
    let mut garbage = tokio::net::TcpStream::connect(addr).await.unwrap();
    garbage.write_all(b"\x16\x03\x01\xff\xffthis is not tls").await.unwrap();
    let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let _idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), plain.read_to_end(&mut sink)).await;
    // An untrusting client fails its handshake ...
    let untrusting = reqwest::Client::builder()
        .tls_certs_only(Vec::<reqwest::Certificate>::new())
        .build()
        .unwrap();
    assert!(untrusting
        .get(format!("{}/_parlel/health", server.keyvault_tls_endpoint()))
        .send()
        .await
        .is_err());
    // ... and a trusting one is served meanwhile.
    let client = https_client(&server, true);
    let resp = client
        .get(format!("{}/_parlel/health", server.keyvault_tls_endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let started = std::time::Instant::now();
    // Stopping does not wait for the idle, never-handshaken connection (nor for the live h2 client).
    server.stop().await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    drop((garbage, plain, client));
}

#[tokio::test]
async fn https_with_a_given_certificate_and_key() {
    let dir = std::env::temp_dir().join(format!("trent-kv-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();

    let config = trent::Config {
        tls_cert: Some(cert_path.clone()),
        tls_key: Some(key_path.clone()),
        ..trent::Config::ephemeral()
    };
    let server = trent::Server::start(config.clone()).await.unwrap();
    assert!(server.ca_certificate_pem().is_none());
    assert!(server.ca_certificate_path().is_none());
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert.pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    let resp = client
        .get(format!("{}/_parlel/health", server.keyvault_tls_endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    server.stop().await;

    // A key that does not match the certificate: start fails with a clear error.
    let other = rcgen::KeyPair::generate().unwrap();
    std::fs::write(&key_path, other.serialize_pem()).unwrap();
    let err = trent::Server::start(config.clone())
        .await
        .err()
        .expect("mismatched key refused");
    assert!(err.to_string().contains("do not match"), "{err}");
    // A file that is no PEM at all.
    std::fs::write(&cert_path, "not a certificate").unwrap();
    let err = trent::Server::start(config)
        .await
        .err()
        .expect("bad certificate refused");
    assert!(err.to_string().contains("tls-cert"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_lose_no_version() {
    let (server, client) = start().await;
    let base = server.keyvault_endpoint();
    let mut tasks = Vec::new();
    for t in 0..8 {
        let client = client.clone();
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..40 {
                let resp = client
                    .put(format!("{base}/secrets/hot?api-version=7.4"))
                    .header("authorization", AUTH)
                    .json(&json!({ "value": format!("{t}-{i}") }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let health = body(client.get(url(&server, "/_parlel/health")).send().await.unwrap()).await;
    assert_eq!(health["secrets"], 1);
    assert_eq!(health["versions"], 320);
    server.stop().await;
}
