//! Soak test: mixed KMS and Key Vault traffic at high concurrency for a bounded time, against an in-process server;
//! fails (exit 1) on any 5xx or transport error, or when the resident memory after the warm-up grows by more than
//! `--max-growth-mb` by the end. The traffic stores nothing new (reads, errors and writes that replace: tags,
//! descriptions, secret attributes), so a flat RSS is what a leak-free server shows.
//!
//! ```text
//! cargo run --release --example soak                          # 60 s at 64 connections
//! cargo run --release --example soak -- --seconds 600 --connections 128
//! ```
//!
//! Not part of the default test run (it takes a minute); see bench/README.md.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{json, Value};

#[derive(Parser, Debug)]
#[command(about = "Soak test for trent: mixed traffic, zero 5xx, flat memory")]
struct Args {
    /// Seconds of measured traffic (after the warm-up).
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Seconds of warm-up before the first memory sample.
    #[arg(long, default_value_t = 10)]
    warmup: u64,
    /// Concurrent connections, one request in flight on each.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Largest RSS growth (MB) allowed between the end of the warm-up and the end.
    #[arg(long, default_value_t = 16)]
    max_growth_mb: u64,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/us-east-1/kms/aws4_request, \
                    SignedHeaders=host, Signature=00";

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn kms(http: &reqwest::Client, url: &str, op: &str, body: &Value) -> Result<(u16, Value), BoxError> {
    let response = http
        .post(url)
        .header("x-amz-target", format!("TrentService.{op}"))
        .header("content-type", "application/x-amz-json-1.1")
        .header("authorization", AUTH)
        .body(body.to_string())
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

async fn vault(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> Result<u16, BoxError> {
    let mut request = http.request(method, url).bearer_auth("soak");
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let _ = response.bytes().await?;
    Ok(status)
}

#[derive(Default)]
struct Counts {
    requests: AtomicU64,
    server_errors: AtomicU64,
    transport_errors: AtomicU64,
}

fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let server = trent::Server::start(trent::Config::ephemeral()).await?;
        let kms_url = format!("{}/", server.kms_endpoint());
        let kv = server.keyvault_endpoint();
        let http = reqwest::Client::new();
        let (_, created) = kms(&http, &kms_url, "CreateKey", &json!({})).await?;
        let key = created["KeyMetadata"]["KeyId"].as_str().unwrap_or_default().to_string();
        let (_, sealed) = kms(
            &http,
            &kms_url,
            "Encrypt",
            &json!({"KeyId": key, "Plaintext": "aGVsbG8="}),
        )
        .await?;
        let blob = sealed["CiphertextBlob"].clone();
        let v = "api-version=2025-07-01";
        for i in 0..16 {
            vault(
                &http,
                reqwest::Method::PUT,
                format!("{kv}/secrets/s{i}?{v}"),
                Some(json!({"value": "x"})),
            )
            .await?;
        }
        vault(
            &http,
            reqwest::Method::POST,
            format!("{kv}/keys/ec/create?{v}"),
            Some(json!({"kty": "EC"})),
        )
        .await?;

        let counts = Arc::new(Counts::default());
        let started = Instant::now();
        let end = started + Duration::from_secs(args.warmup + args.seconds);
        let mut workers = Vec::new();
        for worker in 0..args.connections {
            let (http, kms_url, kv, key, blob, counts) = (
                http.clone(),
                kms_url.clone(),
                kv.clone(),
                key.clone(),
                blob.clone(),
                counts.clone(),
            );
            workers.push(tokio::spawn(async move {
                let mut n: u64 = worker as u64;
                while Instant::now() < end {
                    n = n.wrapping_add(1);
                    let status = match n % 12 {
                        0 => kms(&http, &kms_url, "Encrypt", &json!({"KeyId": key, "Plaintext": "aGk="}))
                            .await
                            .map(|r| r.0),
                        1 => kms(&http, &kms_url, "Decrypt", &json!({"CiphertextBlob": blob}))
                            .await
                            .map(|r| r.0),
                        2 => kms(
                            &http,
                            &kms_url,
                            "GenerateDataKey",
                            &json!({"KeyId": key, "KeySpec": "AES_256"}),
                        )
                        .await
                        .map(|r| r.0),
                        3 => kms(&http, &kms_url, "DescribeKey", &json!({"KeyId": key}))
                            .await
                            .map(|r| r.0),
                        4 => kms(
                            &http,
                            &kms_url,
                            "TagResource",
                            &json!({"KeyId": key, "Tags": [{"TagKey": "n", "TagValue": (n % 7).to_string()}]}),
                        )
                        .await
                        .map(|r| r.0),
                        5 => kms(&http, &kms_url, "DescribeKey", &json!({"KeyId": "alias/missing"}))
                            .await
                            .map(|r| r.0),
                        6 => kms(&http, &kms_url, "ListKeys", &json!({"Limit": 10}))
                            .await
                            .map(|r| r.0),
                        7 => {
                            vault(
                                &http,
                                reqwest::Method::GET,
                                format!("{kv}/secrets/s{}?api-version=2025-07-01", n % 16),
                                None,
                            )
                            .await
                        }
                        8 => {
                            vault(
                                &http,
                                reqwest::Method::PATCH,
                                format!("{kv}/secrets/s{}/?api-version=2025-07-01", n % 16),
                                Some(json!({"tags": {"n": (n % 5).to_string()}})),
                            )
                            .await
                        }
                        9 => {
                            vault(
                                &http,
                                reqwest::Method::GET,
                                format!("{kv}/secrets/missing?api-version=2025-07-01"),
                                None,
                            )
                            .await
                        }
                        10 => {
                            vault(
                                &http,
                                reqwest::Method::POST,
                                format!("{kv}/keys/ec//sign?api-version=2025-07-01"),
                                Some(json!({"alg": "ES256", "value": "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"})),
                            )
                            .await
                        }
                        _ => {
                            vault(
                                &http,
                                reqwest::Method::GET,
                                format!("{kv}/secrets?api-version=2025-07-01&maxresults=5"),
                                None,
                            )
                            .await
                        }
                    };
                    counts.requests.fetch_add(1, Ordering::Relaxed);
                    match status {
                        Ok(s) if s >= 500 => {
                            counts.server_errors.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(_) => {}
                        Err(_) => {
                            counts.transport_errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_secs(args.warmup)).await;
        let warm = rss_mb();
        let warm_requests = counts.requests.load(Ordering::Relaxed);
        let mut peak = warm;
        while Instant::now() < end {
            tokio::time::sleep(Duration::from_secs(5).min(end.saturating_duration_since(Instant::now()))).await;
            let now = rss_mb();
            peak = peak.max(now);
            println!(
                "t={:>4.0}s requests={} 5xx={} transport errors={} rss={now:.1} MB",
                started.elapsed().as_secs_f64(),
                counts.requests.load(Ordering::Relaxed),
                counts.server_errors.load(Ordering::Relaxed),
                counts.transport_errors.load(Ordering::Relaxed),
            );
        }
        for worker in workers {
            let _ = worker.await;
        }
        let last = rss_mb();
        let measured = counts.requests.load(Ordering::Relaxed) - warm_requests;
        let (server_errors, transport_errors) = (
            counts.server_errors.load(Ordering::Relaxed),
            counts.transport_errors.load(Ordering::Relaxed),
        );
        println!(
            "soak: {measured} requests in {} s at {} connections ({:.0}/s); 5xx: {server_errors}; transport errors: \
             {transport_errors}; RSS after warm-up {warm:.1} MB, peak {peak:.1} MB, end {last:.1} MB",
            args.seconds,
            args.connections,
            measured as f64 / args.seconds as f64
        );
        server.stop().await;
        let growth = last - warm;
        if server_errors > 0 || transport_errors > 0 || growth > args.max_growth_mb as f64 {
            return Err(format!(
                "soak failed: 5xx {server_errors}, transport errors {transport_errors}, RSS growth {growth:.1} MB \
                 (allowed {} MB)",
                args.max_growth_mb
            )
            .into());
        }
        println!("soak: ok");
        Ok(())
    })
}
