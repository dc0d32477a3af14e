//! AWS KMS through the official Rust SDK: key lifecycle, symmetric cryptography, aliases, tags, rotation,
//! paging, region isolation and the honest refusal of operations trent does not implement yet.

mod common;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, KeyState, KeyUsageType, Tag};
use common::{client_in, code, error, setup, symmetric_key, unique};

const DAY_MS: i64 = 86_400_000;

#[tokio::test]
async fn create_key_returns_aws_key_metadata() {
    let (_server, kms) = setup().await;
    let out = kms
        .create_key()
        .description("orders")
        .tags(Tag::builder().tag_key("team").tag_value("payments").build().unwrap())
        .send()
        .await
        .unwrap();
    let md = out.key_metadata.unwrap();
    assert_eq!(md.aws_account_id.as_deref(), Some("000000000000"));
    assert_eq!(md.key_id.len(), 36);
    assert_eq!(
        md.arn.as_deref(),
        Some(format!("arn:aws:kms:us-east-1:000000000000:key/{}", md.key_id).as_str())
    );
    assert!(md.creation_date.is_some());
    assert!(md.enabled);
    assert_eq!(md.description.as_deref(), Some("orders"));
    assert_eq!(md.key_usage, Some(KeyUsageType::EncryptDecrypt));
    assert_eq!(md.key_state, Some(KeyState::Enabled));
    assert_eq!(md.origin.unwrap().as_str(), "AWS_KMS");
    assert_eq!(md.key_manager.unwrap().as_str(), "CUSTOMER");
    assert_eq!(md.key_spec.unwrap().as_str(), "SYMMETRIC_DEFAULT");
    #[allow(deprecated)]
    let cmk_spec = md.customer_master_key_spec.unwrap();
    assert_eq!(cmk_spec.as_str(), "SYMMETRIC_DEFAULT");
    assert_eq!(
        md.encryption_algorithms
            .unwrap()
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
        vec!["SYMMETRIC_DEFAULT"]
    );
    assert!(md.signing_algorithms.is_none());
    assert_eq!(md.multi_region, Some(false));
    assert!(md.deletion_date.is_none());

    let tags = kms.list_resource_tags().key_id(&md.key_id).send().await.unwrap();
    let tags = tags.tags.unwrap();
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].tag_key, "team");
    assert_eq!(tags[0].tag_value, "payments");
}

#[tokio::test]
async fn describe_key_accepts_every_identifier_and_reports_missing_keys() {
    let (_server, kms) = setup().await;
    let id = symmetric_key(&kms).await;
    let arn = format!("arn:aws:kms:us-east-1:000000000000:key/{id}");
    let alias = unique("alias/describe");
    kms.create_alias()
        .alias_name(&alias)
        .target_key_id(&id)
        .send()
        .await
        .unwrap();
    let alias_arn = format!("arn:aws:kms:us-east-1:000000000000:{alias}");
    for identifier in [&id, &arn, &alias, &alias_arn] {
        let md = kms
            .describe_key()
            .key_id(identifier)
            .send()
            .await
            .unwrap()
            .key_metadata
            .unwrap();
        assert_eq!(md.key_id, id, "{identifier}");
    }

    let missing = "11111111-2222-3333-4444-555555555555";
    let (c, m) = error(kms.describe_key().key_id(missing).send().await);
    assert_eq!(c, "NotFoundException");
    assert_eq!(
        m,
        format!("Key 'arn:aws:kms:us-east-1:000000000000:key/{missing}' does not exist")
    );
    let (c, m) = error(kms.describe_key().key_id("alias/nope").send().await);
    assert_eq!(c, "NotFoundException");
    assert_eq!(m, "Alias arn:aws:kms:us-east-1:000000000000:alias/nope is not found.");
    assert_eq!(
        code(kms.describe_key().key_id("not-a-key").send().await),
        "NotFoundException"
    );
    // Missing KeyId: AWS's model validation.
    let (c, m) = error(kms.describe_key().send().await);
    assert_eq!(c, "ValidationException");
    assert!(m.contains("'keyId'"), "{m}");
}

#[tokio::test]
async fn encrypt_decrypt_round_trip_with_and_without_key_id() {
    let (_server, kms) = setup().await;
    let id = symmetric_key(&kms).await;
    let alias = unique("alias/enc");
    kms.create_alias()
        .alias_name(&alias)
        .target_key_id(&id)
        .send()
        .await
        .unwrap();
    let arn = format!("arn:aws:kms:us-east-1:000000000000:key/{id}");

    let enc = kms
        .encrypt()
        .key_id(&alias)
        .plaintext(Blob::new("attack at dawn"))
        .send()
        .await
        .unwrap();
    assert_eq!(enc.key_id.as_deref(), Some(arn.as_str()));
    assert_eq!(enc.encryption_algorithm.unwrap().as_str(), "SYMMETRIC_DEFAULT");
    let blob = enc.ciphertext_blob.unwrap();
    assert_ne!(blob.as_ref(), b"attack at dawn");

    let dec = kms.decrypt().ciphertext_blob(blob.clone()).send().await.unwrap();
    assert_eq!(dec.plaintext.unwrap().as_ref(), b"attack at dawn");
    assert_eq!(dec.key_id.as_deref(), Some(arn.as_str()));
    for key_id in [&id, &arn, &alias] {
        let dec = kms
            .decrypt()
            .ciphertext_blob(blob.clone())
            .key_id(key_id)
            .send()
            .await
            .unwrap();
        assert_eq!(dec.plaintext.unwrap().as_ref(), b"attack at dawn");
    }

    // The wrong key → IncorrectKeyException.
    let other = symmetric_key(&kms).await;
    let (c, _) = error(kms.decrypt().ciphertext_blob(blob.clone()).key_id(&other).send().await);
    assert_eq!(c, "IncorrectKeyException");

    // Any tampering → InvalidCiphertextException.
    let mut bytes = blob.clone().into_inner();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert_eq!(
        code(kms.decrypt().ciphertext_blob(Blob::new(bytes)).send().await),
        "InvalidCiphertextException"
    );
    assert_eq!(
        code(
            kms.decrypt()
                .ciphertext_blob(Blob::new(b"not a kms blob".to_vec()))
                .send()
                .await
        ),
        "InvalidCiphertextException"
    );
}

#[tokio::test]
async fn encryption_context_is_bound() {
    let (_server, kms) = setup().await;
    let id = symmetric_key(&kms).await;
    let enc = kms
        .encrypt()
        .key_id(&id)
        .plaintext(Blob::new("s3cr3t"))
        .encryption_context("purpose", "test")
        .encryption_context("tenant", "a")
        .send()
        .await
        .unwrap();
    let blob = enc.ciphertext_blob.unwrap();
    let ok = kms
        .decrypt()
        .ciphertext_blob(blob.clone())
        .encryption_context("tenant", "a")
        .encryption_context("purpose", "test")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.plaintext.unwrap().as_ref(), b"s3cr3t");
    assert_eq!(
        code(kms.decrypt().ciphertext_blob(blob.clone()).send().await),
        "InvalidCiphertextException"
    );
    assert_eq!(
        code(
            kms.decrypt()
                .ciphertext_blob(blob)
                .encryption_context("tenant", "b")
                .encryption_context("purpose", "test")
                .send()
                .await
        ),
        "InvalidCiphertextException"
    );
}

#[tokio::test]
async fn generate_data_key_variants() {
    let (_server, kms) = setup().await;
    let id = symmetric_key(&kms).await;
    for (spec, len) in [(DataKeySpec::Aes256, 32), (DataKeySpec::Aes128, 16)] {
        let out = kms.generate_data_key().key_id(&id).key_spec(spec).send().await.unwrap();
        let plaintext = out.plaintext.unwrap();
        assert_eq!(plaintext.as_ref().len(), len);
        let dec = kms
            .decrypt()
            .ciphertext_blob(out.ciphertext_blob.unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(dec.plaintext.unwrap().as_ref(), plaintext.as_ref());
    }
    let out = kms
        .generate_data_key()
        .key_id(&id)
        .number_of_bytes(64)
        .send()
        .await
        .unwrap();
    assert_eq!(out.plaintext.unwrap().as_ref().len(), 64);

    let (c, m) = error(kms.generate_data_key().key_id(&id).send().await);
    assert_eq!(c, "ValidationException");
    assert_eq!(m, "Please specify either number of bytes or key spec.");
    let (c, m) = error(
        kms.generate_data_key()
            .key_id(&id)
            .number_of_bytes(32)
            .key_spec(DataKeySpec::Aes256)
            .send()
            .await,
    );
    assert_eq!(c, "ValidationException");
    assert_eq!(m, "Please specify either number of bytes or key spec.");

    let out = kms
        .generate_data_key_without_plaintext()
        .key_id(&id)
        .key_spec(DataKeySpec::Aes256)
        .encryption_context("k", "v")
        .send()
        .await
        .unwrap();
    let dec = kms
        .decrypt()
        .ciphertext_blob(out.ciphertext_blob.unwrap())
        .encryption_context("k", "v")
        .send()
        .await
        .unwrap();
    assert_eq!(dec.plaintext.unwrap().as_ref().len(), 32);
}

#[tokio::test]
async fn re_encrypt_moves_a_ciphertext_to_another_key() {
    let (_server, kms) = setup().await;
    let a = symmetric_key(&kms).await;
    let b = symmetric_key(&kms).await;
    let blob = kms
        .encrypt()
        .key_id(&a)
        .plaintext(Blob::new("payload"))
        .encryption_context("ctx", "1")
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    let out = kms
        .re_encrypt()
        .ciphertext_blob(blob.clone())
        .source_encryption_context("ctx", "1")
        .destination_key_id(&b)
        .destination_encryption_context("ctx", "2")
        .send()
        .await
        .unwrap();
    assert!(out.source_key_id.unwrap().ends_with(&a));
    assert!(out.key_id.unwrap().ends_with(&b));
    let dec = kms
        .decrypt()
        .ciphertext_blob(out.ciphertext_blob.unwrap())
        .encryption_context("ctx", "2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        dec.key_id.unwrap(),
        format!("arn:aws:kms:us-east-1:000000000000:key/{b}")
    );
    assert_eq!(dec.plaintext.unwrap().as_ref(), b"payload");
    // Wrong source context → InvalidCiphertextException; wrong source key → IncorrectKeyException.
    assert_eq!(
        code(
            kms.re_encrypt()
                .ciphertext_blob(blob.clone())
                .destination_key_id(&b)
                .send()
                .await
        ),
        "InvalidCiphertextException"
    );
    assert_eq!(
        code(
            kms.re_encrypt()
                .ciphertext_blob(blob)
                .source_key_id(&b)
                .source_encryption_context("ctx", "1")
                .destination_key_id(&b)
                .send()
                .await
        ),
        "IncorrectKeyException"
    );
}

#[tokio::test]
async fn generate_random_returns_the_requested_bytes() {
    let (_server, kms) = setup().await;
    let a = kms
        .generate_random()
        .number_of_bytes(100)
        .send()
        .await
        .unwrap()
        .plaintext
        .unwrap();
    let b = kms
        .generate_random()
        .number_of_bytes(100)
        .send()
        .await
        .unwrap()
        .plaintext
        .unwrap();
    assert_eq!(a.as_ref().len(), 100);
    assert_ne!(a.as_ref(), b.as_ref());
    assert_eq!(
        code(kms.generate_random().number_of_bytes(1025).send().await),
        "ValidationException"
    );
    assert_eq!(
        code(kms.generate_random().number_of_bytes(0).send().await),
        "ValidationException"
    );
}

#[tokio::test]
async fn disabled_keys_refuse_cryptography() {
    let (_server, kms) = setup().await;
    let id = symmetric_key(&kms).await;
    let blob = kms
        .encrypt()
        .key_id(&id)
        .plaintext(Blob::new("x"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    kms.disable_key().key_id(&id).send().await.unwrap();
    let md = kms
        .describe_key()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(md.key_state, Some(KeyState::Disabled));
    assert!(!md.enabled);
    let (c, m) = error(kms.encrypt().key_id(&id).plaintext(Blob::new("x")).send().await);
    assert_eq!(c, "DisabledException");
    assert_eq!(m, format!("arn:aws:kms:us-east-1:000000000000:key/{id} is disabled."));
    assert_eq!(
        code(kms.decrypt().ciphertext_blob(blob.clone()).send().await),
        "DisabledException"
    );
    assert_eq!(
        code(kms.generate_data_key().key_id(&id).number_of_bytes(8).send().await),
        "DisabledException"
    );
    // Disabling twice is fine, as in AWS.
    kms.disable_key().key_id(&id).send().await.unwrap();
    kms.enable_key().key_id(&id).send().await.unwrap();
    assert!(kms.decrypt().ciphertext_blob(blob).send().await.is_ok());
    // Key management operations take key ids and ARNs only.
    let alias = unique("alias/mgmt");
    kms.create_alias()
        .alias_name(&alias)
        .target_key_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(code(kms.disable_key().key_id(&alias).send().await), "NotFoundException");
    assert_eq!(
        code(
            kms.enable_key()
                .key_id("11111111-2222-3333-4444-555555555555")
                .send()
                .await
        ),
        "NotFoundException"
    );
}

#[tokio::test]
async fn update_key_description() {
    let (_server, kms) = setup().await;
    let id = symmetric_key(&kms).await;
    kms.update_key_description()
        .key_id(&id)
        .description("new words")
        .send()
        .await
        .unwrap();
    let md = kms
        .describe_key()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(md.description.as_deref(), Some("new words"));
}

#[tokio::test]
async fn deletion_is_scheduled_cancelled_and_happens_on_the_server_clock() {
    let (server, kms) = setup().await;
    let id = symmetric_key(&kms).await;
    let arn = format!("arn:aws:kms:us-east-1:000000000000:key/{id}");

    for days in [6, 31] {
        let (c, m) = error(
            kms.schedule_key_deletion()
                .key_id(&id)
                .pending_window_in_days(days)
                .send()
                .await,
        );
        assert_eq!(c, "ValidationException");
        assert_eq!(
            m,
            format!("PendingWindowInDays should be between 7 and 30, but it is {days}")
        );
    }
    let out = kms.schedule_key_deletion().key_id(&id).send().await.unwrap();
    assert_eq!(out.key_id.as_deref(), Some(arn.as_str()));
    assert_eq!(out.key_state, Some(KeyState::PendingDeletion));
    assert_eq!(out.pending_window_in_days, Some(30));
    let deletion = out.deletion_date.unwrap().to_millis().unwrap();
    let expected = server.clock().now_ms() + 30 * DAY_MS;
    assert!((deletion - expected).abs() < 60_000, "{deletion} vs {expected}");

    let md = kms
        .describe_key()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(md.key_state, Some(KeyState::PendingDeletion));
    assert_eq!(md.pending_deletion_window_in_days, Some(30));
    assert!(md.deletion_date.is_some());
    let (c, m) = error(kms.encrypt().key_id(&id).plaintext(Blob::new("x")).send().await);
    assert_eq!(c, "KMSInvalidStateException");
    assert_eq!(m, format!("{arn} is pending deletion."));
    assert_eq!(
        code(kms.enable_key().key_id(&id).send().await),
        "KMSInvalidStateException"
    );
    assert_eq!(
        code(kms.schedule_key_deletion().key_id(&id).send().await),
        "KMSInvalidStateException"
    );

    let out = kms.cancel_key_deletion().key_id(&id).send().await.unwrap();
    assert_eq!(out.key_id.as_deref(), Some(arn.as_str()));
    let md = kms
        .describe_key()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(md.key_state, Some(KeyState::Disabled));
    assert!(md.deletion_date.is_none());
    assert_eq!(
        code(kms.cancel_key_deletion().key_id(&id).send().await),
        "KMSInvalidStateException"
    );

    // Scheduled again for 7 days; after 8 days on the server clock the key (and its alias) are gone.
    let alias = unique("alias/doomed");
    kms.create_alias()
        .alias_name(&alias)
        .target_key_id(&id)
        .send()
        .await
        .unwrap();
    kms.schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    server.clock().advance_ms(6 * DAY_MS);
    assert!(kms.describe_key().key_id(&id).send().await.is_ok());
    server.clock().advance_ms(2 * DAY_MS);
    let (c, m) = error(kms.describe_key().key_id(&id).send().await);
    assert_eq!(c, "NotFoundException");
    assert_eq!(m, format!("Key '{arn}' does not exist"));
    let keys = kms.list_keys().send().await.unwrap().keys.unwrap();
    assert!(keys.iter().all(|k| k.key_id.as_deref() != Some(id.as_str())));
    let aliases = kms.list_aliases().send().await.unwrap().aliases.unwrap();
    assert!(aliases.iter().all(|a| a.alias_name.as_deref() != Some(alias.as_str())));
}

#[tokio::test]
async fn aliases_follow_aws_rules() {
    let (_server, kms) = setup().await;
    let a = symmetric_key(&kms).await;
    let b = symmetric_key(&kms).await;
    let name = unique("alias/app");
    kms.create_alias()
        .alias_name(&name)
        .target_key_id(&a)
        .send()
        .await
        .unwrap();

    let (c, m) = error(kms.create_alias().alias_name(&name).target_key_id(&b).send().await);
    assert_eq!(c, "AlreadyExistsException");
    assert_eq!(
        m,
        format!("An alias with the name arn:aws:kms:us-east-1:000000000000:{name} already exists")
    );
    assert_eq!(
        code(
            kms.create_alias()
                .alias_name("alias/aws/mine")
                .target_key_id(&a)
                .send()
                .await
        ),
        "NotAuthorizedException"
    );
    assert_eq!(
        code(kms.create_alias().alias_name("noprefix").target_key_id(&a).send().await),
        "ValidationException"
    );
    assert_eq!(
        code(
            kms.create_alias()
                .alias_name("alias/bad name")
                .target_key_id(&a)
                .send()
                .await
        ),
        "ValidationException"
    );
    assert_eq!(
        code(
            kms.create_alias()
                .alias_name(unique("alias/x"))
                .target_key_id(&name)
                .send()
                .await
        ),
        "ValidationException"
    );
    assert_eq!(
        code(
            kms.create_alias()
                .alias_name(unique("alias/x"))
                .target_key_id("11111111-2222-3333-4444-555555555555")
                .send()
                .await
        ),
        "NotFoundException"
    );

    // UpdateAlias repoints; ListAliases filters by key.
    kms.update_alias()
        .alias_name(&name)
        .target_key_id(&b)
        .send()
        .await
        .unwrap();
    let of_b = kms.list_aliases().key_id(&b).send().await.unwrap();
    let entries = of_b.aliases.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].alias_name.as_deref(), Some(name.as_str()));
    assert_eq!(entries[0].target_key_id.as_deref(), Some(b.as_str()));
    assert_eq!(
        entries[0].alias_arn.as_deref(),
        Some(format!("arn:aws:kms:us-east-1:000000000000:{name}").as_str())
    );
    assert!(entries[0].creation_date.is_some() && entries[0].last_updated_date.is_some());
    assert!(kms
        .list_aliases()
        .key_id(&a)
        .send()
        .await
        .unwrap()
        .aliases
        .unwrap()
        .is_empty());
    assert_eq!(
        code(
            kms.update_alias()
                .alias_name(unique("alias/none"))
                .target_key_id(&b)
                .send()
                .await
        ),
        "NotFoundException"
    );

    kms.delete_alias().alias_name(&name).send().await.unwrap();
    let (c, m) = error(kms.delete_alias().alias_name(&name).send().await);
    assert_eq!(c, "NotFoundException");
    assert_eq!(
        m,
        format!("Alias arn:aws:kms:us-east-1:000000000000:{name} is not found.")
    );
    assert_eq!(code(kms.describe_key().key_id(&name).send().await), "NotFoundException");
}

#[tokio::test]
async fn tags_are_added_removed_and_listed() {
    let (_server, kms) = setup().await;
    let id = symmetric_key(&kms).await;
    let tag = |k: &str, v: &str| Tag::builder().tag_key(k).tag_value(v).build().unwrap();
    kms.tag_resource()
        .key_id(&id)
        .tags(tag("a", "1"))
        .tags(tag("b", "2"))
        .send()
        .await
        .unwrap();
    kms.tag_resource().key_id(&id).tags(tag("a", "3")).send().await.unwrap();
    let tags = kms.list_resource_tags().key_id(&id).send().await.unwrap();
    assert!(!tags.truncated);
    let pairs: Vec<(String, String)> = tags
        .tags
        .unwrap()
        .into_iter()
        .map(|t| (t.tag_key, t.tag_value))
        .collect();
    assert_eq!(pairs, vec![("a".into(), "3".into()), ("b".into(), "2".into())]);

    kms.untag_resource()
        .key_id(&id)
        .tag_keys("a")
        .tag_keys("zz")
        .send()
        .await
        .unwrap();
    let tags = kms.list_resource_tags().key_id(&id).send().await.unwrap().tags.unwrap();
    assert_eq!(tags.len(), 1);

    let (c, m) = error(kms.tag_resource().key_id(&id).tags(tag("aws:owner", "x")).send().await);
    assert_eq!(c, "TagException");
    assert_eq!(m, "Tags beginning with aws: are reserved");
    assert_eq!(
        code(kms.create_key().tags(tag("AWS:x", "y")).send().await),
        "TagException"
    );
    assert_eq!(
        code(kms.tag_resource().key_id("alias/x").tags(tag("a", "b")).send().await),
        "NotFoundException"
    );
}

#[tokio::test]
async fn lists_page_with_markers() {
    let (server, _) = setup().await;
    // A region of its own, so the count is exact.
    let kms = client_in(&server, "ap-southeast-2");
    let mut ids = Vec::new();
    for _ in 0..7 {
        ids.push(symmetric_key(&kms).await);
    }
    ids.sort();
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    let mut pages = 0;
    loop {
        let out = kms
            .list_keys()
            .limit(3)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        pages += 1;
        let keys = out.keys.unwrap();
        assert!(keys.len() <= 3);
        for k in &keys {
            assert_eq!(
                k.key_arn.as_deref(),
                Some(
                    format!(
                        "arn:aws:kms:ap-southeast-2:000000000000:key/{}",
                        k.key_id.as_deref().unwrap()
                    )
                    .as_str()
                )
            );
        }
        seen.extend(keys.into_iter().map(|k| k.key_id.unwrap()));
        if out.truncated {
            marker = out.next_marker;
            assert!(marker.is_some());
        } else {
            assert!(out.next_marker.is_none());
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids);
    assert_eq!(
        code(kms.list_keys().marker("garbage").send().await),
        "InvalidMarkerException"
    );

    // Aliases and tags page the same way.
    for i in 0..5 {
        kms.create_alias()
            .alias_name(format!("alias/page-{i}"))
            .target_key_id(&ids[0])
            .send()
            .await
            .unwrap();
    }
    let first = kms.list_aliases().limit(2).send().await.unwrap();
    assert!(first.truncated);
    let mut names: Vec<String> = first
        .aliases
        .unwrap()
        .into_iter()
        .map(|a| a.alias_name.unwrap())
        .collect();
    let mut marker = first.next_marker;
    while let Some(m) = marker {
        let out = kms.list_aliases().limit(2).marker(m).send().await.unwrap();
        names.extend(out.aliases.unwrap().into_iter().map(|a| a.alias_name.unwrap()));
        marker = out.next_marker;
    }
    assert_eq!(names, (0..5).map(|i| format!("alias/page-{i}")).collect::<Vec<_>>());
    let by_key = kms.list_aliases().key_id(&ids[0]).limit(4).send().await.unwrap();
    assert_eq!(by_key.aliases.unwrap().len(), 4);
    assert!(by_key.truncated);

    for i in 0..3 {
        kms.tag_resource()
            .key_id(&ids[1])
            .tags(Tag::builder().tag_key(format!("t{i}")).tag_value("v").build().unwrap())
            .send()
            .await
            .unwrap();
    }
    let page = kms.list_resource_tags().key_id(&ids[1]).limit(2).send().await.unwrap();
    assert!(page.truncated);
    let rest = kms
        .list_resource_tags()
        .key_id(&ids[1])
        .marker(page.next_marker.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.tags.unwrap().len(), 1);
    assert!(!rest.truncated);
}

#[tokio::test]
async fn regions_and_accounts_are_isolated() {
    let (server, east) = setup().await;
    let west = client_in(&server, "eu-west-1");
    let id = symmetric_key(&east).await;
    let blob = east
        .encrypt()
        .key_id(&id)
        .plaintext(Blob::new("x"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    assert_eq!(code(west.describe_key().key_id(&id).send().await), "NotFoundException");
    assert_eq!(
        code(
            west.describe_key()
                .key_id(format!("arn:aws:kms:us-east-1:000000000000:key/{id}"))
                .send()
                .await
        ),
        "NotFoundException"
    );
    assert!(west.list_keys().send().await.unwrap().keys.unwrap().is_empty());
    assert_eq!(
        code(west.decrypt().ciphertext_blob(blob).send().await),
        "InvalidCiphertextException"
    );

    let name = unique("alias/same");
    east.create_alias()
        .alias_name(&name)
        .target_key_id(&id)
        .send()
        .await
        .unwrap();
    let west_key = symmetric_key(&west).await;
    west.create_alias()
        .alias_name(&name)
        .target_key_id(&west_key)
        .send()
        .await
        .unwrap();
    let md = west
        .describe_key()
        .key_id(&name)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(md.key_id, west_key);
    assert_eq!(
        md.arn.unwrap(),
        format!("arn:aws:kms:eu-west-1:000000000000:key/{west_key}")
    );

    // Another account (a 12-digit access key id) in the same region sees nothing of the default account.
    let other = common::client_with(&server, "us-east-1", "111122223333");
    assert_eq!(code(other.describe_key().key_id(&id).send().await), "NotFoundException");
    let theirs = symmetric_key(&other).await;
    let md = other
        .describe_key()
        .key_id(&theirs)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(md.aws_account_id.as_deref(), Some("111122223333"));
    // A key ARN reaches across accounts for DescribeKey and cryptography, never for key management.
    let their_arn = format!("arn:aws:kms:us-east-1:111122223333:key/{theirs}");
    let md = east
        .describe_key()
        .key_id(&their_arn)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(md.key_id, theirs);
    let blob = east
        .encrypt()
        .key_id(&their_arn)
        .plaintext(Blob::new("shared"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    let dec = other.decrypt().ciphertext_blob(blob).send().await.unwrap();
    assert_eq!(dec.plaintext.unwrap().as_ref(), b"shared");
    assert_eq!(
        code(east.disable_key().key_id(&their_arn).send().await),
        "NotFoundException"
    );
    assert_eq!(
        code(
            east.create_alias()
                .alias_name(unique("alias/x"))
                .target_key_id(&their_arn)
                .send()
                .await
        ),
        "NotFoundException"
    );
}

#[tokio::test]
async fn rotation_keeps_old_ciphertexts_decryptable() {
    let (server, kms) = setup().await;
    let id = symmetric_key(&kms).await;
    let status = kms.get_key_rotation_status().key_id(&id).send().await.unwrap();
    assert!(!status.key_rotation_enabled);

    kms.enable_key_rotation()
        .key_id(&id)
        .rotation_period_in_days(90)
        .send()
        .await
        .unwrap();
    let status = kms.get_key_rotation_status().key_id(&id).send().await.unwrap();
    assert!(status.key_rotation_enabled);
    assert_eq!(status.rotation_period_in_days, Some(90));
    let next = status.next_rotation_date.unwrap().to_millis().unwrap();
    assert!((next - (server.clock().now_ms() + 90 * DAY_MS)).abs() < 60_000);

    let old = kms
        .encrypt()
        .key_id(&id)
        .plaintext(Blob::new("v1"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    server.clock().advance_ms(91 * DAY_MS);
    let new = kms
        .encrypt()
        .key_id(&id)
        .plaintext(Blob::new("v2"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    assert_eq!(
        kms.decrypt()
            .ciphertext_blob(old)
            .send()
            .await
            .unwrap()
            .plaintext
            .unwrap()
            .as_ref(),
        b"v1"
    );
    assert_eq!(
        kms.decrypt()
            .ciphertext_blob(new)
            .send()
            .await
            .unwrap()
            .plaintext
            .unwrap()
            .as_ref(),
        b"v2"
    );

    // The dump shows the second material version (and never the material itself).
    let dump: serde_json::Value = reqwest::get(format!("{}/_parlel/dump", server.kms_endpoint()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = &dump["regions"]["000000000000/us-east-1"]["keys"];
    let key = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["KeyId"] == id.as_str())
        .unwrap();
    assert_eq!(key["MaterialVersions"], 2);
    assert!(!dump.to_string().contains("bytes"));

    kms.disable_key_rotation().key_id(&id).send().await.unwrap();
    assert!(
        !kms.get_key_rotation_status()
            .key_id(&id)
            .send()
            .await
            .unwrap()
            .key_rotation_enabled
    );
    assert_eq!(
        code(
            kms.enable_key_rotation()
                .key_id(&id)
                .rotation_period_in_days(10)
                .send()
                .await
        ),
        "ValidationException"
    );
    kms.disable_key().key_id(&id).send().await.unwrap();
    assert_eq!(
        code(kms.enable_key_rotation().key_id(&id).send().await),
        "DisabledException"
    );
}

/// (GetParametersForImport used to be the example of an operation not built yet; imported key material is in
/// tests/kms_import.rs now.) A key KMS generated has no material to import: UnsupportedOperationException.
#[tokio::test]
async fn get_parameters_for_import_refuses_a_key_kms_generated() {
    let (_server, kms) = setup().await;
    let id = symmetric_key(&kms).await;
    let (c, m) = error(
        kms.get_parameters_for_import()
            .key_id(&id)
            .wrapping_algorithm(aws_sdk_kms::types::AlgorithmSpec::RsaesOaepSha256)
            .wrapping_key_spec(aws_sdk_kms::types::WrappingKeySpec::Rsa2048)
            .send()
            .await,
    );
    assert_eq!(c, "UnsupportedOperationException");
    assert!(
        m.ends_with(" origin is AWS_KMS which is not valid for this operation."),
        "{m}"
    );
}

#[tokio::test]
async fn control_api_counts_and_resets() {
    let (server, kms) = setup().await;
    let id = symmetric_key(&kms).await;
    kms.create_alias()
        .alias_name("alias/health")
        .target_key_id(&id)
        .send()
        .await
        .unwrap();
    let health: serde_json::Value = reqwest::get(format!("{}/_parlel/health", server.kms_endpoint()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["service"], "kms");
    assert_eq!(health["keys"], 1);
    assert_eq!(health["aliases"], 1);
    reqwest::Client::new()
        .post(format!("{}/_parlel/reset", server.kms_endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(code(kms.describe_key().key_id(&id).send().await), "NotFoundException");
}
