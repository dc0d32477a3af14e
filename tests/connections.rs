//! Exhausted resources (issue 10): a client that never finishes its headers is cut off after the header timeout,
//! and connections past the cap are closed at once, while other clients keep being answered.

mod common;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn start(header_timeout: Duration, max_connections: usize) -> trent::Server {
    trent::Server::start(trent::Config {
        header_read_timeout: header_timeout,
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
