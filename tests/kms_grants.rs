//! AWS KMS grants (CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant) and key rotations
//! (RotateKeyOnDemand, ListKeyRotations) through the official Rust SDK.

mod common;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    GrantConstraints, GrantOperation, IncludeKeyMaterial, KeyMaterialState, KeySpec, KeyUsageType, RotationType,
};
use aws_sdk_kms::Client;
use common::{code, setup, symmetric_key};

const DAY_MS: i64 = 86_400_000;
const ALICE: &str = "arn:aws:iam::000000000000:role/alice";
const BOB: &str = "arn:aws:iam::000000000000:role/bob";
const RETIRER: &str = "arn:aws:iam::000000000000:role/retirer";

fn is_grant_id(s: &str) -> bool {
    s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit())
}

async fn grant(kms: &Client, key: &str, grantee: &str) -> (String, String) {
    let out = kms
        .create_grant()
        .key_id(key)
        .grantee_principal(grantee)
        .retiring_principal(RETIRER)
        .operations(GrantOperation::Encrypt)
        .operations(GrantOperation::Decrypt)
        .send()
        .await
        .unwrap();
    (out.grant_id.unwrap(), out.grant_token.unwrap())
}

#[tokio::test]
async fn create_grant_then_list_it_with_every_field() {
    let (_server, kms) = setup().await;
    let key = symmetric_key(&kms).await;
    let out = kms
        .create_grant()
        .key_id(&key)
        .grantee_principal(ALICE)
        .retiring_principal(RETIRER)
        .operations(GrantOperation::Decrypt)
        .operations(GrantOperation::GenerateDataKey)
        .constraints(
            GrantConstraints::builder()
                .encryption_context_equals("tenant", "a")
                .build(),
        )
        .name("orders")
        .send()
        .await
        .unwrap();
    let grant_id = out.grant_id.unwrap();
    let token = out.grant_token.unwrap();
    assert!(is_grant_id(&grant_id), "{grant_id}");
    assert!(token.len() > 100, "{token}");

    let list = kms.list_grants().key_id(&key).send().await.unwrap();
    assert!(!list.truncated);
    assert!(list.next_marker.is_none());
    let grants = list.grants.unwrap();
    assert_eq!(grants.len(), 1);
    let g = &grants[0];
    assert_eq!(g.grant_id.as_deref(), Some(grant_id.as_str()));
    assert_eq!(
        g.key_id.as_deref(),
        Some(format!("arn:aws:kms:us-east-1:000000000000:key/{key}").as_str())
    );
    assert_eq!(g.name.as_deref(), Some("orders"));
    assert_eq!(g.grantee_principal.as_deref(), Some(ALICE));
    assert_eq!(g.retiring_principal.as_deref(), Some(RETIRER));
    assert_eq!(g.issuing_account.as_deref(), Some("arn:aws:iam::000000000000:root"));
    assert!(g.creation_date.is_some());
    let mut ops: Vec<&str> = g.operations.as_ref().unwrap().iter().map(|o| o.as_str()).collect();
    ops.sort();
    assert_eq!(ops, vec!["Decrypt", "GenerateDataKey"]);
    let c = g.constraints.as_ref().unwrap();
    assert_eq!(c.encryption_context_equals.as_ref().unwrap()["tenant"], "a");
    assert!(c.encryption_context_subset.is_none());

    // Grant tokens are accepted on cryptographic operations (grants are recorded, not enforced yet).
    let enc = kms
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("hi"))
        .grant_tokens(&token)
        .send()
        .await
        .unwrap();
    assert!(enc.ciphertext_blob.is_some());
}

#[tokio::test]
async fn create_grant_is_idempotent_by_name_and_parameters() {
    let (server, kms) = setup().await;
    let key = symmetric_key(&kms).await;
    let create = |ops: Vec<GrantOperation>, name: Option<&str>| {
        let mut b = kms
            .create_grant()
            .key_id(&key)
            .grantee_principal(ALICE)
            .set_operations(Some(ops));
        if let Some(n) = name {
            b = b.name(n);
        }
        b.send()
    };
    let a = create(vec![GrantOperation::Encrypt, GrantOperation::Decrypt], Some("n"))
        .await
        .unwrap();
    // Same name and parameters (operations in another order): the same grant.
    let b = create(vec![GrantOperation::Decrypt, GrantOperation::Encrypt], Some("n"))
        .await
        .unwrap();
    assert_eq!(a.grant_id, b.grant_id);
    assert_eq!(a.grant_token, b.grant_token);
    // Same name, other parameters: a new grant.
    let c = create(vec![GrantOperation::Encrypt], Some("n")).await.unwrap();
    assert_ne!(a.grant_id, c.grant_id);
    // No name: never deduplicated.
    let d = create(vec![GrantOperation::Encrypt], None).await.unwrap();
    let e = create(vec![GrantOperation::Encrypt], None).await.unwrap();
    assert_ne!(d.grant_id, e.grant_id);
    let list = kms.list_grants().key_id(&key).send().await.unwrap();
    assert_eq!(list.grants.unwrap().len(), 4);
    let health: serde_json::Value = reqwest::get(format!("{}/_parlel/health", server.kms_endpoint()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["grants"], 4);
}

#[tokio::test]
async fn list_grants_pages_and_filters() {
    let (_server, kms) = setup().await;
    let key = symmetric_key(&kms).await;
    let other = symmetric_key(&kms).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let (id, _) = grant(&kms, &key, if i % 2 == 0 { ALICE } else { BOB }).await;
        ids.push(id);
    }
    grant(&kms, &other, ALICE).await;
    ids.sort();

    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = kms
            .list_grants()
            .key_id(&key)
            .limit(3)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        pages += 1;
        let grants = page.grants.unwrap();
        assert!(grants.len() <= 3);
        seen.extend(grants.into_iter().map(|g| g.grant_id.unwrap()));
        assert_eq!(page.truncated, page.next_marker.is_some());
        marker = page.next_marker;
        if marker.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids);

    let by_id = kms.list_grants().key_id(&key).grant_id(&ids[4]).send().await.unwrap();
    let by_id = by_id.grants.unwrap();
    assert_eq!(by_id.len(), 1);
    assert_eq!(by_id[0].grant_id.as_deref(), Some(ids[4].as_str()));
    let bob = kms
        .list_grants()
        .key_id(&key)
        .grantee_principal(BOB)
        .send()
        .await
        .unwrap();
    assert_eq!(bob.grants.unwrap().len(), 3);

    assert_eq!(
        code(kms.list_grants().key_id(&key).marker("garbage!").send().await),
        "InvalidMarkerException"
    );
    // A marker of another key's listing is not valid here.
    let first = kms.list_grants().key_id(&key).limit(1).send().await.unwrap();
    assert_eq!(
        code(
            kms.list_grants()
                .key_id(&other)
                .set_marker(first.next_marker)
                .send()
                .await
        ),
        "InvalidMarkerException"
    );
    assert_eq!(
        code(kms.list_grants().key_id(&key).grant_id("not-a-grant-id").send().await),
        "InvalidGrantIdException"
    );
    assert_eq!(
        code(
            kms.list_grants()
                .key_id("00000000-0000-0000-0000-000000000000")
                .send()
                .await
        ),
        "NotFoundException"
    );
}

#[tokio::test]
async fn list_retirable_grants_spans_keys_and_pages() {
    let (_server, kms) = setup().await;
    let k1 = symmetric_key(&kms).await;
    let k2 = symmetric_key(&kms).await;
    for key in [&k1, &k1, &k2] {
        grant(&kms, key, ALICE).await;
    }
    kms.create_grant()
        .key_id(&k2)
        .grantee_principal(ALICE)
        .retiring_principal(BOB)
        .operations(GrantOperation::Encrypt)
        .send()
        .await
        .unwrap();
    let page1 = kms
        .list_retirable_grants()
        .retiring_principal(RETIRER)
        .limit(2)
        .send()
        .await
        .unwrap();
    assert!(page1.truncated);
    let mut got = page1.grants.unwrap();
    assert_eq!(got.len(), 2);
    let page2 = kms
        .list_retirable_grants()
        .retiring_principal(RETIRER)
        .set_marker(page1.next_marker)
        .send()
        .await
        .unwrap();
    assert!(!page2.truncated);
    got.extend(page2.grants.unwrap());
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|g| g.retiring_principal.as_deref() == Some(RETIRER)));
    let bob = kms
        .list_retirable_grants()
        .retiring_principal(BOB)
        .send()
        .await
        .unwrap();
    assert_eq!(bob.grants.unwrap().len(), 1);
}

#[tokio::test]
async fn retire_grant_by_token_or_by_key_and_id() {
    let (_server, kms) = setup().await;
    let key = symmetric_key(&kms).await;
    let (id1, token1) = grant(&kms, &key, ALICE).await;
    let (id2, _) = grant(&kms, &key, BOB).await;

    kms.retire_grant().grant_token(&token1).send().await.unwrap();
    assert_eq!(
        code(kms.retire_grant().grant_token(&token1).send().await),
        "NotFoundException"
    );
    kms.retire_grant().key_id(&key).grant_id(&id2).send().await.unwrap();
    assert_eq!(
        code(kms.retire_grant().key_id(&key).grant_id(&id2).send().await),
        "NotFoundException"
    );
    let left = kms.list_grants().key_id(&key).send().await.unwrap();
    assert!(left.grants.unwrap().is_empty(), "{id1} and {id2} are retired");

    assert_eq!(
        code(kms.retire_grant().grant_token("not-a-token").send().await),
        "InvalidGrantTokenException"
    );
    assert_eq!(code(kms.retire_grant().send().await), "InvalidGrantTokenException");
    assert_eq!(
        code(kms.retire_grant().key_id(&key).grant_id("xyz").send().await),
        "InvalidGrantIdException"
    );
    let (_, token3) = grant(&kms, &key, ALICE).await;
    assert_eq!(
        code(kms.retire_grant().grant_token(&token3).dry_run(true).send().await),
        "DryRunOperationException"
    );
    kms.retire_grant().grant_token(&token3).send().await.unwrap();
}

#[tokio::test]
async fn revoke_grant_and_its_errors() {
    let (_server, kms) = setup().await;
    let key = symmetric_key(&kms).await;
    let (id, _) = grant(&kms, &key, ALICE).await;
    kms.revoke_grant().key_id(&key).grant_id(&id).send().await.unwrap();
    assert_eq!(
        code(kms.revoke_grant().key_id(&key).grant_id(&id).send().await),
        "NotFoundException"
    );
    assert_eq!(
        code(kms.revoke_grant().key_id(&key).grant_id("nope").send().await),
        "InvalidGrantIdException"
    );
    assert_eq!(
        code(
            kms.revoke_grant()
                .key_id("00000000-0000-0000-0000-000000000000")
                .grant_id(&id)
                .send()
                .await
        ),
        "NotFoundException"
    );
}

#[tokio::test]
async fn grants_follow_the_key_state_and_go_with_the_key() {
    let (server, kms) = setup().await;
    let key = symmetric_key(&kms).await;
    assert_eq!(
        code(
            kms.create_grant()
                .key_id(&key)
                .grantee_principal(ALICE)
                .operations(GrantOperation::Encrypt)
                .dry_run(true)
                .send()
                .await
        ),
        "DryRunOperationException"
    );
    kms.disable_key().key_id(&key).send().await.unwrap();
    // CreateGrant works on a disabled key.
    grant(&kms, &key, ALICE).await;
    kms.schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(
            kms.create_grant()
                .key_id(&key)
                .grantee_principal(ALICE)
                .operations(GrantOperation::Encrypt)
                .send()
                .await
        ),
        "KMSInvalidStateException"
    );
    let still = kms
        .list_retirable_grants()
        .retiring_principal(RETIRER)
        .send()
        .await
        .unwrap();
    assert_eq!(still.grants.unwrap().len(), 1);
    server.clock().advance_ms(8 * DAY_MS);
    let gone = kms
        .list_retirable_grants()
        .retiring_principal(RETIRER)
        .send()
        .await
        .unwrap();
    assert!(gone.grants.unwrap().is_empty());
    assert_eq!(code(kms.list_grants().key_id(&key).send().await), "NotFoundException");
    assert_eq!(
        code(
            kms.create_grant()
                .key_id("00000000-0000-0000-0000-000000000000")
                .grantee_principal(ALICE)
                .operations(GrantOperation::Encrypt)
                .send()
                .await
        ),
        "NotFoundException"
    );
}

#[tokio::test]
async fn create_grant_checks_operations_and_constraints_against_the_key() {
    let (_server, kms) = setup().await;
    let sym = symmetric_key(&kms).await;
    let ecc = kms
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let create = |key: &str, op: GrantOperation, constrained: bool| {
        let mut b = kms.create_grant().key_id(key).grantee_principal(ALICE).operations(op);
        if constrained {
            b = b.constraints(GrantConstraints::builder().encryption_context_subset("a", "b").build());
        }
        b.send()
    };
    assert_eq!(
        code(create(&sym, GrantOperation::Sign, false).await),
        "ValidationException"
    );
    assert_eq!(
        code(create(&ecc, GrantOperation::Encrypt, false).await),
        "ValidationException"
    );
    create(&ecc, GrantOperation::Sign, false).await.unwrap();
    create(&ecc, GrantOperation::GetPublicKey, false).await.unwrap();
    create(&sym, GrantOperation::ReEncryptFrom, true).await.unwrap();
    // No encryption context constraints for an asymmetric key's cryptographic operations …
    assert_eq!(
        code(create(&ecc, GrantOperation::Sign, true).await),
        "ValidationException"
    );
    // … but DescribeKey / RetireGrant grants may carry one (it does not apply to them).
    create(&ecc, GrantOperation::DescribeKey, true).await.unwrap();
    let mut big = GrantConstraints::builder();
    for i in 0..9 {
        big = big.encryption_context_equals(format!("k{i}"), "v");
    }
    assert_eq!(
        code(
            kms.create_grant()
                .key_id(&sym)
                .grantee_principal(ALICE)
                .operations(GrantOperation::Decrypt)
                .constraints(big.build())
                .send()
                .await
        ),
        "ValidationException"
    );
    assert_eq!(
        code(
            kms.create_grant()
                .key_id(&sym)
                .operations(GrantOperation::Decrypt)
                .send()
                .await
        ),
        "ValidationException"
    );
}

#[tokio::test]
async fn rotate_on_demand_keeps_old_ciphertexts_decryptable() {
    let (_server, kms) = setup().await;
    let key = symmetric_key(&kms).await;
    let old = kms
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("before"))
        .send()
        .await
        .unwrap();
    let out = kms.rotate_key_on_demand().key_id(&key).send().await.unwrap();
    assert_eq!(
        out.key_id.as_deref(),
        Some(format!("arn:aws:kms:us-east-1:000000000000:key/{key}").as_str())
    );
    let new = kms
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("after"))
        .send()
        .await
        .unwrap();
    assert_ne!(old.ciphertext_blob, new.ciphertext_blob);
    for (blob, text) in [(old.ciphertext_blob, "before"), (new.ciphertext_blob, "after")] {
        let dec = kms.decrypt().ciphertext_blob(blob.unwrap()).send().await.unwrap();
        assert_eq!(dec.plaintext.unwrap().as_ref(), text.as_bytes());
    }
    let rotations = kms.list_key_rotations().key_id(&key).send().await.unwrap();
    assert!(!rotations.truncated);
    let rotations = rotations.rotations.unwrap();
    assert_eq!(rotations.len(), 1);
    assert_eq!(rotations[0].rotation_type, Some(RotationType::OnDemand));
    assert!(is_grant_id(rotations[0].key_material_id.as_deref().unwrap()));
    assert!(rotations[0].rotation_date.is_some());
    assert_eq!(rotations[0].key_material_state, Some(KeyMaterialState::Current));

    // ALL_KEY_MATERIAL adds the first material: no rotation date or type, a stable KeyMaterialId.
    let list_all = || {
        kms.list_key_rotations()
            .key_id(&key)
            .include_key_material(IncludeKeyMaterial::AllKeyMaterial)
            .send()
    };
    let all = list_all().await.unwrap().rotations.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all[0].rotation_date.is_none());
    assert!(all[0].rotation_type.is_none());
    assert_eq!(all[0].key_material_state, Some(KeyMaterialState::NonCurrent));
    assert!(is_grant_id(all[0].key_material_id.as_deref().unwrap()));
    assert_eq!(all[1].key_material_id, rotations[0].key_material_id);
    let again = list_all().await.unwrap().rotations.unwrap();
    assert_eq!(again[0].key_material_id, all[0].key_material_id);
    // The default still lists rotations only.
    let only = kms.list_key_rotations().key_id(&key).send().await.unwrap();
    assert_eq!(only.rotations.unwrap().len(), 1);
}

#[tokio::test]
async fn rotate_on_demand_errors() {
    let (_server, kms) = setup().await;
    let key = symmetric_key(&kms).await;
    kms.disable_key().key_id(&key).send().await.unwrap();
    assert_eq!(
        code(kms.rotate_key_on_demand().key_id(&key).send().await),
        "DisabledException"
    );
    kms.schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(kms.rotate_key_on_demand().key_id(&key).send().await),
        "KMSInvalidStateException"
    );
    let ecc = kms
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    assert_eq!(
        code(kms.rotate_key_on_demand().key_id(&ecc).send().await),
        "UnsupportedOperationException"
    );
    assert_eq!(
        code(kms.list_key_rotations().key_id(&ecc).send().await),
        "UnsupportedOperationException"
    );
    assert_eq!(
        code(
            kms.rotate_key_on_demand()
                .key_id("00000000-0000-0000-0000-000000000000")
                .send()
                .await
        ),
        "NotFoundException"
    );
    assert_eq!(
        code(kms.rotate_key_on_demand().key_id("alias/nothing").send().await),
        "NotFoundException"
    );
}

#[tokio::test]
async fn list_key_rotations_includes_automatic_rotations_on_the_server_clock() {
    let (server, kms) = setup().await;
    let key = symmetric_key(&kms).await;
    let old = kms
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("v0"))
        .send()
        .await
        .unwrap();
    kms.enable_key_rotation()
        .key_id(&key)
        .rotation_period_in_days(90)
        .send()
        .await
        .unwrap();
    let enabled_at = server.clock().now_ms();
    kms.rotate_key_on_demand().key_id(&key).send().await.unwrap();
    server.clock().advance_ms(181 * DAY_MS);

    let mut all = Vec::new();
    let mut marker = None;
    loop {
        let page = kms
            .list_key_rotations()
            .key_id(&key)
            .limit(1)
            .set_marker(marker)
            .send()
            .await
            .unwrap();
        all.extend(page.rotations.unwrap());
        marker = page.next_marker;
        if marker.is_none() {
            break;
        }
    }
    let types: Vec<_> = all.iter().map(|r| r.rotation_type.clone().unwrap()).collect();
    assert_eq!(
        types,
        vec![RotationType::OnDemand, RotationType::Automatic, RotationType::Automatic]
    );
    assert_eq!(all[0].key_material_state, Some(KeyMaterialState::NonCurrent));
    assert_eq!(all[2].key_material_state, Some(KeyMaterialState::Current));
    let auto_secs = all[1].rotation_date.unwrap().secs();
    assert!(
        (auto_secs * 1000 - (enabled_at + 90 * DAY_MS)).abs() < 5_000,
        "{auto_secs}"
    );
    let dec = kms
        .decrypt()
        .ciphertext_blob(old.ciphertext_blob.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(dec.plaintext.unwrap().as_ref(), b"v0");
    assert_eq!(
        code(kms.list_key_rotations().key_id(&key).marker("bad").send().await),
        "InvalidMarkerException"
    );
}
