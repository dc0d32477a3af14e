//! Exhausted resources (issue 10): a client that never finishes its headers is cut off after the header timeout, a
//! body that stalls after the body timeout, connections past the cap are closed at once, imports run one at a
//! time, and other clients keep being answered throughout.

mod common;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn start(header_timeout: Duration, max_connections: usize) -> trent::Server {
    trent::Server::start(trent::Config {
        header_read_timeout: header_timeout,
        body_read_timeout: header_timeout,
        max_connections,
        ..trent::Config::ephemeral()
    })
    .await
    .expect("server starts")
}

/// Reads until the peer closes (Ok(bytes)) or `wait` passes (Err).
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> Result<Vec<u8>, ()> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(wait, stream.read_to_end(&mut out)).await;
    match read {
        Ok(_) => Ok(out),
        Err(_) => Err(()),
    }
}

#[tokio::test]
async fn a_slowloris_is_cut_off_and_others_are_answered() {
    let server = start(Duration::from_millis(500), 64).await;
    let addr = server.kms_addr().unwrap();
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Tar")
        .await
        .unwrap();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    // Meanwhile a real client is served.
    let health = reqwest::get(format!("{}/_parlel/health", server.kms_endpoint()))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(
        closed_within(&mut slow, Duration::from_secs(10)).await.is_ok(),
        "the half-sent request is cut off"
    );
    assert!(
        closed_within(&mut silent, Duration::from_secs(10)).await.is_ok(),
        "the silent connection is closed"
    );
    // An idle keep-alive connection is closed after the timeout too, once its request was answered.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /_parlel/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let answer = closed_within(&mut idle, Duration::from_secs(10))
        .await
        .expect("closed after the answer");
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    server.stop().await;
}

#[tokio::test]
async fn connections_past_the_cap_are_closed_and_service_resumes() {
    let server = start(Duration::from_secs(30), 4).await;
    let addr = server.keyvault_addr().unwrap();
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = TcpStream::connect(addr).await.unwrap();
    let _ = extra
        .write_all(b"GET /_parlel/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await;
    let answer = closed_within(&mut extra, Duration::from_secs(10))
        .await
        .expect("closed at once");
    assert!(answer.is_empty(), "no answer past the cap");
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let health = reqwest::get(format!("{}/_parlel/health", server.keyvault_endpoint()))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    server.stop().await;
}

/// A body that stops arriving halfway fails in the port's own envelope once the body timeout passes, on both ports.
#[tokio::test]
async fn a_stalled_body_is_refused_after_the_body_timeout() {
    let server = start(Duration::from_millis(500), 64).await;
    let kms = "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: TrentService.ListKeys\r\n\
               Content-Type: application/x-amz-json-1.1\r\nContent-Length: 100\r\n\r\n{\"Limit\":";
    let vault = "PUT /secrets/s?api-version=2025-07-01 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer x\r\n\
                 Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"value\":";
    for (addr, head, code) in [
        (server.kms_addr().unwrap(), kms, "SerializationException"),
        (server.keyvault_addr().unwrap(), vault, "BadParameter"),
    ] {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        let started = std::time::Instant::now();
        let answer = closed_within(&mut stream, Duration::from_secs(10))
            .await
            .expect("the stalled request is answered and closed");
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 400"), "{text}");
        assert!(text.contains(code), "{text}");
        assert!(
            started.elapsed() >= Duration::from_millis(400),
            "refused before the timeout"
        );
    }
    server.stop().await;
}

/// Only one import runs per service at a time (the second is refused before its body is read), and a document
/// over the limit is refused in the control API's JSON envelope.
#[tokio::test]
async fn imports_run_one_at_a_time_and_oversized_ones_are_refused_in_json() {
    let server = start(Duration::from_secs(30), 64).await;
    let addr = server.kms_addr().unwrap();
    // The first import sends its headers and half its body, then waits.
    let mut first = TcpStream::connect(addr).await.unwrap();
    first
        .write_all(
            b"POST /_parlel/import HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
              Content-Length: 1000\r\n\r\n{\"format\":",
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let http = reqwest::Client::new();
    let url = format!("{}/_parlel/import", server.kms_endpoint());
    let second = http.post(&url).json(&serde_json::json!({})).send().await.unwrap();
    assert_eq!(second.status(), 429);
    assert_eq!(second.headers()["retry-after"], "1");
    let body: serde_json::Value = second.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("another import is running"),
        "{body}"
    );
    drop(first);
    // Once the first is gone, imports run again; an oversized one answers 413 in JSON.
    let mut oversized = None;
    for _ in 0..50 {
        let response = http
            .post(&url)
            .header("content-type", "application/json")
            .body(vec![b' '; (64 << 20) + 1])
            .send()
            .await
            .unwrap();
        if response.status() != 429 {
            oversized = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let oversized = oversized.expect("the first import ended");
    assert_eq!(oversized.status(), 413);
    let body: serde_json::Value = oversized.json().await.unwrap();
    assert_eq!(body["error"]["code"], "RequestEntityTooLarge", "{body}");
    server.stop().await;
}

/// Starts the binary under `sh -c 'ulimit …; exec trent'`, waits until it answers, then stops it; returns its
/// soft descriptor limit while it ran and what it logged.
async fn binary_under_ulimit(ulimit: &str) -> (u64, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let scratch = common::TempDir::new("ulimit");
    std::fs::create_dir_all(&scratch.0).unwrap();
    let script = format!(
        "{ulimit} && exec \"$0\" --kms-port {port} --keyvault-port 0 --keyvault-tls-port 0 --log warn \
         --tls-ca-out \"$1\""
    );
    let child = std::process::Command::new("sh")
        .args(["-c", &script, env!("CARGO_BIN_EXE_trent")])
        .arg(scratch.0.join("ca.pem"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("http://127.0.0.1:{port}/_parlel/health"))
        .await
        .is_err()
    {
        assert!(std::time::Instant::now() < deadline, "the binary did not come up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap_or_default();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let _ = std::process::Command::new("kill").arg(child.id().to_string()).status();
    let output = child.wait_with_output().unwrap();
    (soft, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// The soft descriptor limit is raised to the hard one at start, and a connection cap that does not fit under
/// the hard limit is lowered with a warning (so a flood meets the cap, not "too many open files").
#[tokio::test]
async fn the_connection_cap_fits_under_the_descriptor_limit() {
    if !std::path::Path::new("/proc/self/limits").exists() {
        eprintln!("SKIPPED: no /proc/<pid>/limits here");
        return;
    }
    let (soft, log) = binary_under_ulimit("ulimit -Sn 256 && ulimit -Hn 2048").await;
    assert_eq!(soft, 2048, "the soft limit was raised to the hard one: {log}");
    assert!(!log.contains("lowered"), "{log}");
    let (soft, log) = binary_under_ulimit("ulimit -n 300").await;
    assert_eq!(soft, 300);
    assert!(
        log.contains("--max-connections lowered to fit under the descriptor limit"),
        "{log}"
    );
    assert!(log.contains("max_connections=236"), "{log}");
}
