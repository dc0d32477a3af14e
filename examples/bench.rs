//! Load benchmark: requests/s and p50/p99 latency of KMS Encrypt, Decrypt, GenerateDataKey, Key Vault getSecret and
//! keys-plane sign/verify
//! (plain HTTP), next to the HTTP stack's own ceiling measured the same way (`GET /_parlel/health` on each port).
//!
//! ```text
//! cargo run --release --example bench                       # in-process server on ephemeral loopback ports
//! cargo run --release --example bench -- --duration 10 --connections 64
//! cargo run --release --example bench -- --kms-url http://127.0.0.1:4730 --keyvault-url http://127.0.0.1:4594
//! ```
//!
//! Loopback only; every scenario runs for a bounded time (`--duration` seconds after `--warmup`), then stops.
//! Not part of CI. See bench/README.md for how to read the numbers.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine as _;
use clap::Parser;
use serde_json::{json, Value};

#[derive(Parser, Debug, Clone)]
#[command(about = "Load benchmark for trent (loopback only, bounded duration)")]
struct Args {
    /// Seconds each scenario is measured.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Seconds of unmeasured load before each scenario.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Concurrent connections (one request in flight on each).
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Worker threads of the load generator's runtime.
    #[arg(long, default_value_t = 2)]
    client_threads: usize,
    /// Worker threads of the in-process server's runtime (ignored with --kms-url/--keyvault-url).
    #[arg(long, default_value_t = 2)]
    server_threads: usize,
    /// Bench an already running KMS instead of an in-process server (must be a loopback URL).
    #[arg(long, requires = "keyvault_url")]
    kms_url: Option<String>,
    /// Bench an already running Key Vault (plain HTTP, loopback URL).
    #[arg(long, requires = "kms_url")]
    keyvault_url: Option<String>,
    /// Only run scenarios whose name contains this.
    #[arg(long)]
    only: Option<String>,
}

const KV_API: &str = "api-version=2025-07-01";
const SIGV4: &str = "AWS4-HMAC-SHA256 Credential=parlel/20260101/us-east-1/kms/aws4_request, \
                     SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=00";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One request a scenario repeats.
#[derive(Clone)]
enum Req {
    Get {
        url: String,
        bearer: bool,
    },
    Kms {
        url: String,
        target: &'static str,
        body: bytes::Bytes,
    },
    /// A Key Vault POST with a JSON body and a bearer token.
    Post {
        url: String,
        body: bytes::Bytes,
    },
}

impl Req {
    async fn send(&self, http: &reqwest::Client) -> Result<(), String> {
        let resp = match self {
            Req::Get { url, bearer } => {
                let mut rb = http.get(url);
                if *bearer {
                    rb = rb.bearer_auth("parlel-bench-token");
                }
                rb.send().await
            }
            Req::Post { url, body } => {
                http.post(url)
                    .bearer_auth("parlel-bench-token")
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
            }
            Req::Kms { url, target, body } => {
                http.post(url)
                    .header("content-type", "application/x-amz-json-1.1")
                    .header("x-amz-target", format!("TrentService.{target}"))
                    .header("x-amz-date", "20260101T000000Z")
                    .header("authorization", SIGV4)
                    .body(body.clone())
                    .send()
                    .await
            }
        };
        let resp = resp.map_err(|e| e.to_string())?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)))
        }
    }
}

struct Outcome {
    name: String,
    requests: usize,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
    latencies_us: Vec<u64>,
}

impl Outcome {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * (self.latencies_us.len() - 1) as f64).round() as usize;
        let i = rank.min(self.latencies_us.len() - 1);
        self.latencies_us.get(i).copied().unwrap_or_default() as f64 / 1000.0
    }
}

async fn run_scenario(name: &str, req: Req, args: &Args) -> Outcome {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .no_proxy()
        .build()
        .unwrap_or_else(|_| reqwest::Client::new());
    // warm-up: open the connections and warm caches, unmeasured
    let warm_until = Instant::now() + Duration::from_secs_f64(args.warmup);
    let mut warm = Vec::new();
    for _ in 0..args.connections {
        let (http, req) = (http.clone(), req.clone());
        warm.push(tokio::spawn(async move {
            while Instant::now() < warm_until {
                let _ = req.send(&http).await;
            }
        }));
    }
    for w in warm {
        let _ = w.await;
    }

    let start = Instant::now();
    let until = start + Duration::from_secs_f64(args.duration);
    let mut workers = Vec::new();
    for _ in 0..args.connections {
        let (http, req) = (http.clone(), req.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(4096);
            let mut errors = 0usize;
            let mut first_error = None;
            loop {
                let t0 = Instant::now();
                if t0 >= until {
                    break;
                }
                match req.send(&http).await {
                    Ok(()) => lat.push(t0.elapsed().as_micros() as u64),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
            (lat, errors, first_error)
        }));
    }
    let mut outcome = Outcome {
        name: name.to_string(),
        requests: 0,
        errors: 0,
        first_error: None,
        elapsed: Duration::ZERO,
        latencies_us: Vec::new(),
    };
    for w in workers {
        if let Ok((lat, errors, first_error)) = w.await {
            outcome.latencies_us.extend(lat);
            outcome.errors += errors;
            if outcome.first_error.is_none() {
                outcome.first_error = first_error;
            }
        }
    }
    outcome.elapsed = start.elapsed();
    outcome.requests = outcome.latencies_us.len();
    outcome.latencies_us.sort_unstable();
    outcome
}

async fn kms_call(http: &reqwest::Client, url: &str, target: &str, body: Value) -> Result<Value, BoxError> {
    let resp = http
        .post(url)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("TrentService.{target}"))
        .header("authorization", SIGV4)
        .body(body.to_string())
        .send()
        .await?;
    let status = resp.status();
    let value: Value = resp.json().await?;
    if !status.is_success() {
        return Err(format!("{target}: HTTP {status}: {value}").into());
    }
    Ok(value)
}

/// Creates the key, ciphertext and secret the scenarios use; returns the scenarios.
async fn scenarios(kms: &str, kv: &str) -> Result<Vec<(&'static str, Req)>, BoxError> {
    let http = reqwest::Client::builder().no_proxy().build()?;
    let key = kms_call(&http, kms, "CreateKey", json!({"Description": "bench"})).await?;
    let key_id = key
        .pointer("/KeyMetadata/KeyId")
        .and_then(Value::as_str)
        .ok_or("CreateKey: no KeyId")?
        .to_string();
    let plaintext = B64.encode([7u8; 64]);
    let enc = kms_call(&http, kms, "Encrypt", json!({"KeyId": key_id, "Plaintext": plaintext})).await?;
    let blob = enc
        .get("CiphertextBlob")
        .and_then(Value::as_str)
        .ok_or("Encrypt: no CiphertextBlob")?
        .to_string();

    let secret_url = format!("{kv}/secrets/bench-secret?{KV_API}");
    let resp = http
        .put(&secret_url)
        .bearer_auth("parlel-bench-token")
        .json(&json!({"value": "bench value"}))
        .send()
        .await?;
    if !resp.status().is_success() {
        return Err(format!("setSecret: HTTP {}", resp.status()).into());
    }

    // Keys plane: an EC P-256 and an RSA-2048 key, and a signature of each to verify.
    let digest = B64URL.encode([9u8; 32]);
    let mut keys_plane = Vec::new();
    for (name, create, alg) in [
        ("bench-ec", json!({"kty": "EC", "crv": "P-256"}), "ES256"),
        ("bench-rsa", json!({"kty": "RSA", "key_size": 2048}), "RS256"),
    ] {
        let resp = http
            .post(format!("{kv}/keys/{name}/create?{KV_API}"))
            .bearer_auth("parlel-bench-token")
            .json(&create)
            .send()
            .await?;
        if !resp.status().is_success() {
            return Err(format!("createKey: HTTP {}", resp.status()).into());
        }
        let sign_url = format!("{kv}/keys/{name}//sign?{KV_API}");
        let signed: Value = http
            .post(&sign_url)
            .bearer_auth("parlel-bench-token")
            .json(&json!({"alg": alg, "value": digest}))
            .send()
            .await?
            .json()
            .await?;
        let signature = signed
            .get("value")
            .and_then(Value::as_str)
            .ok_or("sign: no value")?
            .to_string();
        let sign_body = json!({"alg": alg, "value": digest}).to_string();
        let verify_body = json!({"alg": alg, "digest": digest, "value": signature}).to_string();
        keys_plane.push((
            sign_url,
            sign_body,
            format!("{kv}/keys/{name}//verify?{KV_API}"),
            verify_body,
        ));
    }
    let post = |url: &str, body: &str| Req::Post {
        url: url.to_string(),
        body: bytes::Bytes::from(body.to_string()),
    };

    let kms_req = |target: &'static str, body: Value| Req::Kms {
        url: kms.to_string(),
        target,
        body: bytes::Bytes::from(body.to_string()),
    };
    Ok(vec![
        (
            "ceiling: KMS GET /_parlel/health",
            Req::Get {
                url: format!("{kms}/_parlel/health"),
                bearer: false,
            },
        ),
        (
            "KMS Encrypt (64 B)",
            kms_req("Encrypt", json!({"KeyId": key_id, "Plaintext": plaintext})),
        ),
        ("KMS Decrypt", kms_req("Decrypt", json!({"CiphertextBlob": blob}))),
        (
            "KMS GenerateDataKey AES_256",
            kms_req("GenerateDataKey", json!({"KeyId": key_id, "KeySpec": "AES_256"})),
        ),
        (
            "ceiling: Key Vault GET /_parlel/health",
            Req::Get {
                url: format!("{kv}/_parlel/health"),
                bearer: false,
            },
        ),
        (
            "Key Vault getSecret",
            Req::Get {
                url: secret_url,
                bearer: true,
            },
        ),
        ("Key Vault sign ES256 (P-256)", post(&keys_plane[0].0, &keys_plane[0].1)),
        (
            "Key Vault verify ES256 (P-256)",
            post(&keys_plane[0].2, &keys_plane[0].3),
        ),
        (
            "Key Vault sign RS256 (RSA 2048)",
            post(&keys_plane[1].0, &keys_plane[1].1),
        ),
        (
            "Key Vault verify RS256 (RSA 2048)",
            post(&keys_plane[1].2, &keys_plane[1].3),
        ),
    ])
}

fn is_loopback(url: &str) -> bool {
    let rest = url.strip_prefix("http://").unwrap_or("");
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    if args.duration <= 0.0 || args.duration > 600.0 || args.warmup < 0.0 || args.warmup > 60.0 {
        return Err("--duration must be in (0, 600] and --warmup in [0, 60] seconds".into());
    }
    if args.connections == 0 || args.connections > 1024 {
        return Err("--connections must be 1..=1024".into());
    }

    // The server gets its own runtime (its own threads), as it would in its own process.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.server_threads.max(1))
        .thread_name("trent-server")
        .enable_all()
        .build()?;
    let (server, kms, kv) = match (&args.kms_url, &args.keyvault_url) {
        (Some(kms), Some(kv)) => {
            if !is_loopback(kms) || !is_loopback(kv) {
                return Err("the benchmark only targets loopback addresses (http://127.0.0.1:…)".into());
            }
            (
                None,
                kms.trim_end_matches('/').to_string(),
                kv.trim_end_matches('/').to_string(),
            )
        }
        _ => {
            let mut config = trent::Config::ephemeral();
            config.tls_ca_out = Some(std::env::temp_dir().join(format!("trent-bench-ca-{}.pem", std::process::id())));
            let server = server_rt.block_on(trent::Server::start(config))?;
            let kms = server.kms_endpoint();
            let kv = server.keyvault_endpoint();
            (Some(server), kms, kv)
        }
    };

    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .thread_name("bench-client")
        .enable_all()
        .build()?;
    let outcomes = client_rt.block_on(async {
        let list = scenarios(&kms, &kv).await?;
        println!(
            "trent bench: {} connections, {:.1}s per scenario (+{:.1}s warm-up), KMS {kms}, Key Vault {kv}{}",
            args.connections,
            args.duration,
            args.warmup,
            if server.is_some() { " (in-process)" } else { "" }
        );
        let mut outcomes = Vec::new();
        for (name, req) in list {
            if let Some(only) = &args.only {
                if !name.to_lowercase().contains(&only.to_lowercase()) {
                    continue;
                }
            }
            let o = run_scenario(name, req, &args).await;
            eprintln!("  done: {name}");
            outcomes.push(o);
        }
        Ok::<_, BoxError>(outcomes)
    })?;

    let kms_ceiling = outcomes
        .iter()
        .find(|o| o.name.starts_with("ceiling: KMS"))
        .map(Outcome::rps);
    let kv_ceiling = outcomes
        .iter()
        .find(|o| o.name.starts_with("ceiling: Key Vault"))
        .map(Outcome::rps);
    println!();
    println!(
        "{:<40} {:>10} {:>11} {:>9} {:>9} {:>10} {:>7}",
        "scenario", "requests", "req/s", "p50 ms", "p99 ms", "% ceiling", "errors"
    );
    for o in &outcomes {
        let ceiling = if o.name.starts_with("KMS") {
            kms_ceiling
        } else if o.name.starts_with("Key Vault") {
            kv_ceiling
        } else {
            None
        };
        let pct = ceiling
            .filter(|c| *c > 0.0)
            .map(|c| format!("{:.0}%", 100.0 * o.rps() / c))
            .unwrap_or_else(|| "-".into());
        println!(
            "{:<40} {:>10} {:>11.0} {:>9.3} {:>9.3} {:>10} {:>7}",
            o.name,
            o.requests,
            o.rps(),
            o.percentile(50.0),
            o.percentile(99.0),
            pct,
            o.errors
        );
    }
    for o in &outcomes {
        if let Some(e) = &o.first_error {
            println!("first error in {}: {e}", o.name);
        }
    }
    if let Some(server) = server {
        server_rt.block_on(server.stop());
    }
    if outcomes.iter().any(|o| o.errors > 0 || o.requests == 0) {
        return Err("some requests failed".into());
    }
    Ok(())
}
