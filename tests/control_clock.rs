//! The test clock control endpoint, `GET|POST /_parlel/clock`, on both service ports: moving it moves "now" for
//! every service (deletion windows expire without waiting), and a bad body is a 400 with a JSON error.

mod common;

use common::{code, setup, symmetric_key};
use serde_json::{json, Value};

async fn post(endpoint: &str, body: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{endpoint}/_parlel/clock"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

async fn get(endpoint: &str) -> Value {
    let res = reqwest::get(format!("{endpoint}/_parlel/clock")).await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    res.json().await.unwrap()
}

fn system_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn advancing_past_the_deletion_window_deletes_the_key() {
    let (server, kms) = setup().await;
    let key = symmetric_key(&kms).await;
    kms.schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let (status, body) = post(&server.kms_endpoint(), r#"{"advanceDays": 31}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["offsetSeconds"], 31 * 86_400);
    assert!((body["now"].as_i64().unwrap() - system_secs() - 31 * 86_400).abs() <= 2);
    assert_eq!(code(kms.describe_key().key_id(&key).send().await), "NotFoundException");
}

#[tokio::test]
async fn both_ports_share_one_clock_and_every_form_works() {
    let (server, _kms) = setup().await;
    let kms_ep = server.kms_endpoint();
    let kv_ep = server.keyvault_endpoint();
    let start = get(&kms_ep).await;
    assert_eq!(start["offsetSeconds"], 0);
    assert!((start["now"].as_i64().unwrap() - system_secs()).abs() <= 2);

    let (status, body) = post(&kv_ep, r#"{"advanceSeconds": 3600}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["offsetSeconds"], 3600);
    assert_eq!(get(&kms_ep).await["offsetSeconds"], 3600);

    let (status, body) = post(&kms_ep, r#"{"set": 2000000000}"#).await;
    assert_eq!(status, 200, "{body}");
    assert!((body["now"].as_i64().unwrap() - 2_000_000_000).abs() <= 1);
    assert!((get(&kv_ep).await["now"].as_i64().unwrap() - 2_000_000_000).abs() <= 2);
    assert_eq!(server.clock().now_secs() / 10, 2_000_000_000 / 10);

    let (status, body) = post(&kv_ep, r#"{"reset": true}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["offsetSeconds"], 0);
    assert_eq!(get(&kms_ep).await["offsetSeconds"], 0);
}

#[tokio::test]
async fn bad_bodies_are_refused_with_a_json_error() {
    let (server, _kms) = setup().await;
    for ep in [server.kms_endpoint(), server.keyvault_endpoint()] {
        for bad in [
            "not json",
            "{}",
            "[1]",
            r#"{"advanceDays": "three"}"#,
            r#"{"advanceDays": 1.5}"#,
            r#"{"reset": false}"#,
            r#"{"advanceDays": 1, "reset": true}"#,
            r#"{"rewind": 5}"#,
        ] {
            let (status, body) = post(&ep, bad).await;
            assert_eq!(status, 400, "{bad}: {body}");
            assert_eq!(body["error"]["code"], "BadRequest", "{bad}");
            assert!(
                body["error"]["message"].as_str().unwrap().contains("advance")
                    || bad.contains("three")
                    || bad.contains("1.5")
                    || bad.contains("false"),
                "{bad}: {body}"
            );
        }
        // Nothing moved.
        assert_eq!(get(&ep).await["offsetSeconds"], json!(0));
    }
}
