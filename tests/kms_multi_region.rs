//! Multi-Region keys through the official Rust SDK: two clients in different regions against one server (the
//! SigV4 credential scope selects the region). CreateKey MultiRegion, ReplicateKey, DescribeKey on both sides,
//! cross-region decryption, rotation reaching the replicas, UpdatePrimaryRegion, the errors, and deletion.

mod common;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType, MultiRegionKeyType, Tag};
use aws_sdk_kms::Client;
use common::{client_in, client_with, code, error, server};

const DAY_MS: i64 = 86_400_000;

async fn multi_region_key(kms: &Client) -> String {
    kms.create_key()
        .multi_region(true)
        .send()
        .await
        .expect("CreateKey MultiRegion")
        .key_metadata
        .expect("KeyMetadata")
        .key_id
}

fn arn(region: &str, key_id: &str) -> String {
    format!("arn:aws:kms:{region}:000000000000:key/{key_id}")
}

async fn encrypt(kms: &Client, key_id: &str, plaintext: &[u8]) -> Blob {
    kms.encrypt()
        .key_id(key_id)
        .plaintext(Blob::new(plaintext))
        .send()
        .await
        .expect("Encrypt")
        .ciphertext_blob
        .expect("CiphertextBlob")
}

async fn decrypt(kms: &Client, blob: Blob) -> (String, Vec<u8>) {
    let out = kms.decrypt().ciphertext_blob(blob).send().await.expect("Decrypt");
    (
        out.key_id.expect("KeyId"),
        out.plaintext.expect("Plaintext").into_inner(),
    )
}

async fn state(kms: &Client, key_id: &str) -> KeyState {
    kms.describe_key()
        .key_id(key_id)
        .send()
        .await
        .expect("DescribeKey")
        .key_metadata
        .expect("KeyMetadata")
        .key_state
        .expect("KeyState")
}

#[tokio::test]
async fn a_multi_region_key_is_replicated_and_described_on_both_sides() {
    let server = server().await;
    let us = client_in(&server, "us-east-1");
    let eu = client_in(&server, "eu-west-1");
    let created = us
        .create_key()
        .multi_region(true)
        .description("primary")
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let id = created.key_id.clone();
    assert!(id.starts_with("mrk-"), "{id}");
    assert_eq!(id.len(), 36);
    assert!(id[4..]
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(created.multi_region, Some(true));
    let config = created.multi_region_configuration.unwrap();
    assert_eq!(config.multi_region_key_type, Some(MultiRegionKeyType::Primary));
    assert_eq!(
        config.primary_key.unwrap().arn.as_deref(),
        Some(arn("us-east-1", &id).as_str())
    );
    assert!(config.replica_keys.unwrap_or_default().is_empty());

    let out = us
        .replicate_key()
        .key_id(&id)
        .replica_region("eu-west-1")
        .description("replica")
        .tags(Tag::builder().tag_key("team").tag_value("eu").build().unwrap())
        .send()
        .await
        .unwrap();
    let md = out.replica_key_metadata.unwrap();
    assert_eq!(md.key_id, id);
    assert_eq!(md.arn.as_deref(), Some(arn("eu-west-1", &id).as_str()));
    assert_eq!(md.description.as_deref(), Some("replica"));
    assert_eq!(md.key_state, Some(KeyState::Creating));
    assert_eq!(md.multi_region, Some(true));
    let policy: serde_json::Value = serde_json::from_str(out.replica_policy.as_deref().unwrap()).unwrap();
    assert_eq!(
        policy["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::000000000000:root"
    );
    let tags = out.replica_tags.unwrap();
    assert_eq!((tags[0].tag_key.as_str(), tags[0].tag_value.as_str()), ("team", "eu"));

    // The replica: Enabled once ReplicateKey answered, with its own description and tags.
    let replica = eu
        .describe_key()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(replica.key_state, Some(KeyState::Enabled));
    assert!(replica.enabled);
    assert_eq!(replica.description.as_deref(), Some("replica"));
    assert_eq!(replica.key_spec, Some(KeySpec::SymmetricDefault));
    assert_eq!(replica.key_usage, Some(KeyUsageType::EncryptDecrypt));
    let config = replica.multi_region_configuration.unwrap();
    assert_eq!(config.multi_region_key_type, Some(MultiRegionKeyType::Replica));
    let primary = config.primary_key.unwrap();
    assert_eq!(primary.region.as_deref(), Some("us-east-1"));
    assert_eq!(primary.arn.as_deref(), Some(arn("us-east-1", &id).as_str()));
    let replicas = config.replica_keys.unwrap();
    assert_eq!(replicas.len(), 1);
    assert_eq!(replicas[0].region.as_deref(), Some("eu-west-1"));
    let eu_tags = eu.list_resource_tags().key_id(&id).send().await.unwrap().tags.unwrap();
    assert_eq!(eu_tags.len(), 1);
    assert!(us
        .list_resource_tags()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .tags
        .unwrap_or_default()
        .is_empty());

    // The primary lists the replica too; its description is its own.
    let primary = us
        .describe_key()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(primary.description.as_deref(), Some("primary"));
    let replicas = primary.multi_region_configuration.unwrap().replica_keys.unwrap();
    assert_eq!(replicas[0].arn.as_deref(), Some(arn("eu-west-1", &id).as_str()));

    // Both regions list the key.
    let listed = eu.list_keys().send().await.unwrap().keys.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].key_id.as_deref(), Some(id.as_str()));
}

#[tokio::test]
async fn a_ciphertext_of_one_region_decrypts_in_the_other() {
    let server = server().await;
    let us = client_in(&server, "us-east-1");
    let eu = client_in(&server, "eu-west-1");
    let id = multi_region_key(&us).await;
    us.replicate_key()
        .key_id(&id)
        .replica_region("eu-west-1")
        .send()
        .await
        .unwrap();

    let blob = encrypt(&us, &id, b"from us-east-1").await;
    let (key, plaintext) = decrypt(&eu, blob.clone()).await;
    assert_eq!(plaintext, b"from us-east-1");
    assert_eq!(key, arn("eu-west-1", &id), "Decrypt names the key that decrypted");
    // With the replica named explicitly, by id or ARN.
    for named in [id.clone(), arn("eu-west-1", &id)] {
        let out = eu
            .decrypt()
            .key_id(named)
            .ciphertext_blob(blob.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(out.plaintext.unwrap().into_inner(), b"from us-east-1");
    }
    let blob = encrypt(&eu, &id, b"from eu-west-1").await;
    let (key, plaintext) = decrypt(&us, blob.clone()).await;
    assert_eq!(plaintext, b"from eu-west-1");
    assert_eq!(key, arn("us-east-1", &id));

    // A region without a replica cannot open it; a single-Region key's blob stays in its region.
    let ap = client_in(&server, "ap-south-1");
    assert_eq!(
        code(ap.decrypt().ciphertext_blob(blob).send().await),
        "NotFoundException"
    );
    let single = common::symmetric_key(&us).await;
    let blob = encrypt(&us, &single, b"x").await;
    assert_eq!(
        code(eu.decrypt().ciphertext_blob(blob).send().await),
        "InvalidCiphertextException"
    );
    // Another key named explicitly is refused.
    let other = multi_region_key(&eu).await;
    let blob = encrypt(&us, &id, b"y").await;
    assert_eq!(
        code(eu.decrypt().key_id(other).ciphertext_blob(blob).send().await),
        "IncorrectKeyException"
    );
}

#[tokio::test]
async fn rotating_the_primary_gives_every_replica_the_new_material() {
    let server = server().await;
    let us = client_in(&server, "us-east-1");
    let eu = client_in(&server, "eu-west-1");
    let id = multi_region_key(&us).await;
    us.replicate_key()
        .key_id(&id)
        .replica_region("eu-west-1")
        .send()
        .await
        .unwrap();
    let before = encrypt(&us, &id, b"version 0").await;

    us.rotate_key_on_demand().key_id(&id).send().await.unwrap();
    let after = encrypt(&us, &id, b"version 1").await;
    assert_eq!(decrypt(&eu, after).await.1, b"version 1");
    assert_eq!(decrypt(&eu, before.clone()).await.1, b"version 0");
    // The replica encrypts under the new material too, and the primary opens it.
    let from_eu = encrypt(&eu, &id, b"eu after rotation").await;
    assert_eq!(decrypt(&us, from_eu).await.1, b"eu after rotation");
    let rotations = eu
        .list_key_rotations()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .rotations
        .unwrap();
    assert_eq!(rotations.len(), 1);
    let primary_rotations = us
        .list_key_rotations()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .rotations
        .unwrap();
    assert_eq!(rotations[0].key_material_id, primary_rotations[0].key_material_id);

    // Rotation is managed on the primary only.
    assert_eq!(
        code(eu.rotate_key_on_demand().key_id(&id).send().await),
        "UnsupportedOperationException"
    );
    assert_eq!(
        code(eu.enable_key_rotation().key_id(&id).send().await),
        "UnsupportedOperationException"
    );

    // Automatic rotation of the primary, on the server clock, reaches the replica, which reports the setting.
    us.enable_key_rotation()
        .key_id(&id)
        .rotation_period_in_days(90)
        .send()
        .await
        .unwrap();
    let status = eu.get_key_rotation_status().key_id(&id).send().await.unwrap();
    assert!(status.key_rotation_enabled);
    assert_eq!(status.rotation_period_in_days, Some(90));
    server.clock().advance_ms(91 * DAY_MS);
    // Looked up in the replica's region first.
    let blob = encrypt(&eu, &id, b"version 2").await;
    assert_eq!(decrypt(&us, blob).await.1, b"version 2");
    let rotations = eu
        .list_key_rotations()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .rotations
        .unwrap();
    assert_eq!(rotations.len(), 2);
    assert_eq!(rotations[1].rotation_type.as_ref().unwrap().as_str(), "AUTOMATIC");
    let primary_rotations = us
        .list_key_rotations()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .rotations
        .unwrap();
    assert_eq!(primary_rotations.len(), 2);
    assert_eq!(decrypt(&us, before).await.1, b"version 0");
}

#[tokio::test]
async fn asymmetric_multi_region_keys_share_their_key_pair() {
    let server = server().await;
    let us = client_in(&server, "us-east-1");
    let eu = client_in(&server, "eu-west-1");
    let id = us
        .create_key()
        .multi_region(true)
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    us.replicate_key()
        .key_id(&id)
        .replica_region("eu-west-1")
        .send()
        .await
        .unwrap();
    let us_public = us
        .get_public_key()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .public_key
        .unwrap();
    let eu_public = eu
        .get_public_key()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .public_key
        .unwrap();
    assert_eq!(us_public, eu_public);
    let algorithm = aws_sdk_kms::types::SigningAlgorithmSpec::EcdsaSha256;
    let signature = us
        .sign()
        .key_id(&id)
        .message(Blob::new(b"m".as_slice()))
        .signing_algorithm(algorithm.clone())
        .send()
        .await
        .unwrap()
        .signature
        .unwrap();
    let verified = eu
        .verify()
        .key_id(&id)
        .message(Blob::new(b"m".as_slice()))
        .signature(signature)
        .signing_algorithm(algorithm)
        .send()
        .await
        .unwrap();
    assert!(verified.signature_valid);
}

#[tokio::test]
async fn replicate_key_errors() {
    let server = server().await;
    let us = client_in(&server, "us-east-1");
    let eu = client_in(&server, "eu-west-1");
    let single = common::symmetric_key(&us).await;
    let (c, m) = error(
        us.replicate_key()
            .key_id(&single)
            .replica_region("eu-west-1")
            .send()
            .await,
    );
    assert_eq!(c, "UnsupportedOperationException");
    assert!(m.contains("is not a multi-Region key"), "{m}");

    let id = multi_region_key(&us).await;
    us.replicate_key()
        .key_id(&id)
        .replica_region("eu-west-1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(us.replicate_key().key_id(&id).replica_region("eu-west-1").send().await),
        "AlreadyExistsException"
    );
    // Only the primary can be replicated.
    assert_eq!(
        code(eu.replicate_key().key_id(&id).replica_region("ap-south-1").send().await),
        "UnsupportedOperationException"
    );
    assert_eq!(
        code(us.replicate_key().key_id(&id).replica_region("us-east-1").send().await),
        "ValidationException"
    );
    assert_eq!(
        code(
            us.replicate_key()
                .key_id(&id)
                .replica_region("Not_A_Region")
                .send()
                .await
        ),
        "ValidationException"
    );
    assert_eq!(
        code(us.replicate_key().key_id(&id).replica_region("cn-north-1").send().await),
        "ValidationException"
    );
    assert_eq!(
        code(
            us.replicate_key()
                .key_id(&id)
                .replica_region("ap-south-1")
                .policy("not json")
                .send()
                .await
        ),
        "MalformedPolicyDocumentException"
    );
    assert_eq!(
        code(
            us.replicate_key()
                .key_id(&id)
                .replica_region("ap-south-1")
                .tags(Tag::builder().tag_key("aws:x").tag_value("v").build().unwrap())
                .send()
                .await
        ),
        "TagException"
    );
    assert_eq!(
        code(
            us.replicate_key()
                .key_id("mrk-00000000000000000000000000000000")
                .replica_region("ap-south-1")
                .send()
                .await
        ),
        "NotFoundException"
    );
    // A disabled primary can be replicated; one pending deletion cannot.
    let other = multi_region_key(&us).await;
    us.disable_key().key_id(&other).send().await.unwrap();
    us.replicate_key()
        .key_id(&other)
        .replica_region("ap-south-1")
        .send()
        .await
        .unwrap();
    let lonely = multi_region_key(&us).await;
    us.schedule_key_deletion()
        .key_id(&lonely)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(
            us.replicate_key()
                .key_id(&lonely)
                .replica_region("ap-south-1")
                .send()
                .await
        ),
        "KMSInvalidStateException"
    );
    // The failed attempts created nothing.
    let ap = client_in(&server, "ap-south-1");
    let ap_keys = ap.list_keys().send().await.unwrap().keys.unwrap();
    assert_eq!(ap_keys.len(), 1);
    assert_eq!(ap_keys[0].key_id.as_deref(), Some(other.as_str()));
    // Another account cannot replicate this account's key.
    let foreign = client_with(&server, "us-east-1", "111122223333");
    assert_eq!(
        code(
            foreign
                .replicate_key()
                .key_id(arn("us-east-1", &id))
                .replica_region("ap-south-1")
                .send()
                .await
        ),
        "NotFoundException"
    );
}

#[tokio::test]
async fn update_primary_region_swaps_the_roles() {
    let server = server().await;
    let us = client_in(&server, "us-east-1");
    let eu = client_in(&server, "eu-west-1");
    let ap = client_in(&server, "ap-south-1");
    let id = multi_region_key(&us).await;
    us.replicate_key()
        .key_id(&id)
        .replica_region("eu-west-1")
        .send()
        .await
        .unwrap();
    us.replicate_key()
        .key_id(&id)
        .replica_region("ap-south-1")
        .send()
        .await
        .unwrap();

    assert_eq!(
        code(
            eu.update_primary_region()
                .key_id(&id)
                .primary_region("eu-west-1")
                .send()
                .await
        ),
        "UnsupportedOperationException",
        "KeyId must name the current primary"
    );
    assert_eq!(
        code(
            us.update_primary_region()
                .key_id(&id)
                .primary_region("us-west-2")
                .send()
                .await
        ),
        "NotFoundException"
    );
    let single = common::symmetric_key(&us).await;
    assert_eq!(
        code(
            us.update_primary_region()
                .key_id(&single)
                .primary_region("eu-west-1")
                .send()
                .await
        ),
        "UnsupportedOperationException"
    );

    us.update_primary_region()
        .key_id(arn("us-east-1", &id))
        .primary_region("eu-west-1")
        .send()
        .await
        .unwrap();
    for client in [&us, &eu, &ap] {
        let md = client
            .describe_key()
            .key_id(&id)
            .send()
            .await
            .unwrap()
            .key_metadata
            .unwrap();
        let config = md.multi_region_configuration.unwrap();
        let expected = if md.arn.as_deref() == Some(arn("eu-west-1", &id).as_str()) {
            MultiRegionKeyType::Primary
        } else {
            MultiRegionKeyType::Replica
        };
        assert_eq!(config.multi_region_key_type, Some(expected));
        assert_eq!(config.primary_key.unwrap().region.as_deref(), Some("eu-west-1"));
        let mut regions: Vec<String> = config
            .replica_keys
            .unwrap()
            .into_iter()
            .filter_map(|r| r.region)
            .collect();
        regions.sort();
        assert_eq!(regions, vec!["ap-south-1", "us-east-1"]);
    }
    // The new primary replicates and rotates; the former one cannot.
    assert_eq!(
        code(us.replicate_key().key_id(&id).replica_region("us-west-2").send().await),
        "UnsupportedOperationException"
    );
    eu.replicate_key()
        .key_id(&id)
        .replica_region("us-west-2")
        .send()
        .await
        .unwrap();
    eu.rotate_key_on_demand().key_id(&id).send().await.unwrap();
    let blob = encrypt(&eu, &id, b"new primary").await;
    for client in [&us, &ap, &client_in(&server, "us-west-2")] {
        assert_eq!(decrypt(client, blob.clone()).await.1, b"new primary");
    }
    assert_eq!(
        code(us.rotate_key_on_demand().key_id(&id).send().await),
        "UnsupportedOperationException"
    );

    // A replica pending deletion cannot become the primary.
    ap.schedule_key_deletion().key_id(&id).send().await.unwrap();
    assert_eq!(
        code(
            eu.update_primary_region()
                .key_id(&id)
                .primary_region("ap-south-1")
                .send()
                .await
        ),
        "KMSInvalidStateException"
    );
}

#[tokio::test]
async fn a_primary_waits_for_its_replicas_before_its_deletion_window_starts() {
    let server = server().await;
    let us = client_in(&server, "us-east-1");
    let eu = client_in(&server, "eu-west-1");
    let ap = client_in(&server, "ap-south-1");
    let id = multi_region_key(&us).await;
    us.replicate_key()
        .key_id(&id)
        .replica_region("eu-west-1")
        .send()
        .await
        .unwrap();
    us.replicate_key()
        .key_id(&id)
        .replica_region("ap-south-1")
        .send()
        .await
        .unwrap();

    let out = us
        .schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(out.key_state, Some(KeyState::PendingReplicaDeletion));
    assert!(out.deletion_date.is_none());
    assert_eq!(out.pending_window_in_days, Some(7));
    let md = us
        .describe_key()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(md.key_state, Some(KeyState::PendingReplicaDeletion));
    assert!(md.deletion_date.is_none());
    assert_eq!(md.pending_deletion_window_in_days, Some(7));
    assert!(!md.enabled);
    assert_eq!(
        code(
            us.encrypt()
                .key_id(&id)
                .plaintext(Blob::new(b"x".as_slice()))
                .send()
                .await
        ),
        "KMSInvalidStateException"
    );
    assert_eq!(
        code(us.enable_key().key_id(&id).send().await),
        "KMSInvalidStateException"
    );
    // The replicas keep working meanwhile.
    let blob = encrypt(&eu, &id, b"still here").await;

    // Cancelling brings the primary back (Disabled), scheduling again puts it back to waiting.
    us.cancel_key_deletion().key_id(&id).send().await.unwrap();
    assert_eq!(state(&us, &id).await, KeyState::Disabled);
    us.schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();

    // Replicas are deleted on their own windows: eu after 7 days, ap after 10.
    eu.schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    server.clock().advance_ms(3 * DAY_MS);
    let ap_out = ap
        .schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let ap_deletion = ap_out.deletion_date.unwrap();
    server.clock().advance_ms(5 * DAY_MS);
    assert_eq!(code(eu.describe_key().key_id(&id).send().await), "NotFoundException");
    let md = us
        .describe_key()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(md.key_state, Some(KeyState::PendingReplicaDeletion));
    let replicas = md.multi_region_configuration.unwrap().replica_keys.unwrap();
    assert_eq!(replicas.len(), 1, "the deleted replica is gone from the configuration");
    assert_eq!(replicas[0].region.as_deref(), Some("ap-south-1"));
    // The remaining replica is pending deletion too: it no longer decrypts.
    assert_eq!(
        code(ap.decrypt().ciphertext_blob(blob).send().await),
        "KMSInvalidStateException"
    );

    // Past the last replica's deletion date: the primary's 7-day window runs from that date.
    server.clock().advance_ms(3 * DAY_MS);
    let md = us
        .describe_key()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(md.key_state, Some(KeyState::PendingDeletion));
    let deletion = md.deletion_date.unwrap();
    let expected = ap_deletion.secs() + 7 * 86_400;
    assert!(
        (deletion.secs() - expected).abs() <= 1,
        "{} vs {expected}",
        deletion.secs()
    );
    assert!(md
        .multi_region_configuration
        .unwrap()
        .replica_keys
        .unwrap_or_default()
        .is_empty());
    server.clock().advance_ms(7 * DAY_MS);
    assert_eq!(code(us.describe_key().key_id(&id).send().await), "NotFoundException");
    assert!(us.list_keys().send().await.unwrap().keys.unwrap().is_empty());
}

#[tokio::test]
async fn a_deleted_replica_can_be_replicated_again_and_its_old_ciphertexts_still_open() {
    let server = server().await;
    let us = client_in(&server, "us-east-1");
    let eu = client_in(&server, "eu-west-1");
    let id = multi_region_key(&us).await;
    us.replicate_key()
        .key_id(&id)
        .replica_region("eu-west-1")
        .send()
        .await
        .unwrap();
    let blob = encrypt(&eu, &id, b"made by the replica").await;
    eu.schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(us.replicate_key().key_id(&id).replica_region("eu-west-1").send().await),
        "AlreadyExistsException",
        "a replica pending deletion still exists"
    );
    server.clock().advance_ms(8 * DAY_MS);
    // Looked up from the primary's region only: the replica's deletion is seen there.
    let md = us
        .describe_key()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert!(md
        .multi_region_configuration
        .unwrap()
        .replica_keys
        .unwrap_or_default()
        .is_empty());
    assert_eq!(decrypt(&us, blob.clone()).await.1, b"made by the replica");
    us.replicate_key()
        .key_id(&id)
        .replica_region("eu-west-1")
        .send()
        .await
        .unwrap();
    assert_eq!(decrypt(&eu, blob).await.1, b"made by the replica");
}

#[tokio::test]
async fn multi_region_keys_survive_a_restart_with_a_data_dir() {
    let dir = std::env::temp_dir().join(common::unique("trent-mrk-data"));
    let config = || trent::Config {
        data_dir: Some(dir.clone()),
        ..trent::Config::ephemeral()
    };
    let server = trent::Server::start(config()).await.unwrap();
    let us = client_in(&server, "us-east-1");
    let id = multi_region_key(&us).await;
    us.replicate_key()
        .key_id(&id)
        .replica_region("eu-west-1")
        .send()
        .await
        .unwrap();
    us.rotate_key_on_demand().key_id(&id).send().await.unwrap();
    let blob = encrypt(&us, &id, b"before the restart").await;
    us.schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    server.stop().await;

    let server = trent::Server::start(config()).await.unwrap();
    let us = client_in(&server, "us-east-1");
    let eu = client_in(&server, "eu-west-1");
    // The replica kept the rotated material (pushed to it when the primary encrypted) across the restart.
    assert_eq!(decrypt(&eu, blob).await.1, b"before the restart");
    let md = us
        .describe_key()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(md.key_state, Some(KeyState::PendingReplicaDeletion));
    assert_eq!(md.pending_deletion_window_in_days, Some(7));
    let config_eu = eu
        .describe_key()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .multi_region_configuration
        .unwrap();
    assert_eq!(config_eu.multi_region_key_type, Some(MultiRegionKeyType::Replica));
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
