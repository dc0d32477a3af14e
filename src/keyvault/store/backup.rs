//! The backup blob of an object of any kind: opaque to clients (the wire carries it base64url-encoded), versioned
//! and integrity-checked, holding every version of one object.
//!
//! Layout: an 8-byte magic naming the kind (`TRENTKVB` secrets, `TRENTKVK` keys), one format-version byte (1),
//! the record as JSON, then the SHA-256 of everything before it. Any change to the bytes is rejected; nothing here
//! panics on client input.

use super::versioned::{Version, Versioned};
use crate::keyvault::protocol::ObjectKind;

fn magic(kind: ObjectKind) -> &'static [u8; 8] {
    match kind {
        ObjectKind::Secret => b"TRENTKVB",
        ObjectKind::Key => b"TRENTKVK",
        ObjectKind::Certificate => b"TRENTKVC",
    }
}
const FORMAT_VERSION: u8 = 1;
const DIGEST_LEN: usize = 32;

/// Why a blob was refused (the service answers every case with the same 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackupError {
    #[error("the backup blob is not base64url")]
    Encoding,
    #[error("the backup blob is not a trent backup of this kind of object")]
    Format,
    #[error("the backup blob has an unsupported format version")]
    Version,
    #[error("the backup blob is corrupt")]
    Integrity,
    #[error("the backup blob holds an invalid object")]
    Content,
}

/// The raw blob bytes for `record`.
pub fn encode<V: Version>(record: &Versioned<V>) -> Vec<u8> {
    // Records are plain strings/numbers/maps: serialising cannot fail; fall back to an empty object.
    let payload = serde_json::to_vec(record).unwrap_or_else(|_| b"{}".to_vec());
    let magic = magic(V::KIND);
    let mut out = Vec::with_capacity(magic.len() + 1 + payload.len() + DIGEST_LEN);
    out.extend_from_slice(magic);
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&payload);
    let digest = crate::crypto::sha256(&out);
    out.extend_from_slice(&digest);
    out
}

/// The blob as the wire carries it (base64url, no padding).
pub fn encode_wire<V: Version>(record: &Versioned<V>) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(encode(record))
}

/// Parses raw blob bytes back into a record, checking magic, format version, digest and content.
pub fn decode<V: Version>(blob: &[u8]) -> Result<Versioned<V>, BackupError> {
    let magic = magic(V::KIND);
    if blob.len() < magic.len() + 1 + DIGEST_LEN || !blob.starts_with(magic) {
        return Err(BackupError::Format);
    }
    let (body, digest) = blob.split_at(blob.len() - DIGEST_LEN);
    if crate::crypto::sha256(body)[..] != *digest {
        return Err(BackupError::Integrity);
    }
    match body.get(magic.len()) {
        Some(&FORMAT_VERSION) => {}
        _ => return Err(BackupError::Version),
    }
    let payload = body.get(magic.len() + 1..).ok_or(BackupError::Format)?;
    let record: Versioned<V> = serde_json::from_slice(payload).map_err(|_| BackupError::Content)?;
    check_content(&record)?;
    Ok(record)
}

/// Decodes the wire form (base64url; padding and the standard alphabet are tolerated).
pub fn decode_wire<V: Version>(value: &str) -> Result<Versioned<V>, BackupError> {
    decode(&wire_bytes(value)?)
}

/// Format version of sealed blobs.
const SEALED_VERSION: u8 = 2;

/// A sealed blob: magic, format version 2, a 12-byte IV, then the record as JSON encrypted with AES-256-GCM under
/// `key` (the service's backup key), the magic and version bound as additional data. Without the key nothing in it
/// can be read, key material included; any change to it fails authentication.
pub fn seal<V: Version>(key: &[u8], record: &Versioned<V>) -> Vec<u8> {
    seal_value(key, V::KIND, record)
}

/// [`seal`] for any serde value of `kind` (a certificate backup holds its key and secret too).
pub fn seal_value<T: serde::Serialize>(key: &[u8], kind: ObjectKind, value: &T) -> Vec<u8> {
    let magic = magic(kind);
    let payload = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let iv = crate::crypto::random_bytes(crate::crypto::cipher::GCM_IV_LEN);
    let mut header = magic.to_vec();
    header.push(SEALED_VERSION);
    let Ok((ciphertext, tag)) = crate::crypto::cipher::gcm_encrypt(key, &iv, &header, &payload) else {
        // Only a key of the wrong length fails, and the backup key is 32 bytes: an empty blob never restores.
        return Vec::new();
    };
    let mut out = header;
    out.extend_from_slice(&iv);
    out.extend_from_slice(&ciphertext);
    out.extend_from_slice(&tag);
    out
}

/// [`seal_value`] as the wire carries it (base64url, no padding).
pub fn seal_value_wire<T: serde::Serialize>(key: &[u8], kind: ObjectKind, value: &T) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(seal_value(key, kind, value))
}

/// Opens the wire form of a [`seal_value`] blob of `kind`.
pub fn open_value_wire<T: serde::de::DeserializeOwned>(
    key: &[u8],
    kind: ObjectKind,
    value: &str,
) -> Result<T, BackupError> {
    let payload = open_payload(key, kind, &wire_bytes(value)?)?;
    serde_json::from_slice(&payload).map_err(|_| BackupError::Content)
}

/// The sealed blob as the wire carries it (base64url, no padding).
pub fn seal_wire<V: Version>(key: &[u8], record: &Versioned<V>) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(seal(key, record))
}

/// Opens a blob made by [`seal`] with the same key, checking it as [`decode`] does.
pub fn open<V: Version>(key: &[u8], blob: &[u8]) -> Result<Versioned<V>, BackupError> {
    let payload = open_payload(key, V::KIND, blob)?;
    let record: Versioned<V> = serde_json::from_slice(&payload).map_err(|_| BackupError::Content)?;
    check_content(&record)?;
    Ok(record)
}

fn open_payload(key: &[u8], kind: ObjectKind, blob: &[u8]) -> Result<Vec<u8>, BackupError> {
    use crate::crypto::cipher::{GCM_IV_LEN, GCM_TAG_LEN};
    let magic = magic(kind);
    let header_len = magic.len() + 1;
    if blob.len() < header_len + GCM_IV_LEN + GCM_TAG_LEN || !blob.starts_with(magic) {
        return Err(BackupError::Format);
    }
    if blob[magic.len()] != SEALED_VERSION {
        return Err(BackupError::Version);
    }
    let (header, rest) = blob.split_at(header_len);
    let (iv, rest) = rest.split_at(GCM_IV_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - GCM_TAG_LEN);
    crate::crypto::cipher::gcm_decrypt(key, iv, header, ciphertext, tag).map_err(|_| BackupError::Integrity)
}

/// Opens the wire form (base64url; padding and the standard alphabet are tolerated).
pub fn open_wire<V: Version>(key: &[u8], value: &str) -> Result<Versioned<V>, BackupError> {
    open(key, &wire_bytes(value)?)
}

fn wire_bytes(value: &str) -> Result<Vec<u8>, BackupError> {
    use base64::Engine;
    let cleaned: String = value
        .trim()
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cleaned)
        .map_err(|_| BackupError::Encoding)
}

fn check_content<V: Version>(record: &Versioned<V>) -> Result<(), BackupError> {
    let valid_name = !record.name.is_empty()
        && record.name.len() <= 127
        && record.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let valid_versions = !record.versions.is_empty()
        && record
            .versions
            .iter()
            .all(|v| v.version().len() == 32 && v.version().bytes().all(|b| b.is_ascii_hexdigit()));
    if !valid_name || !valid_versions || record.check().is_err() {
        return Err(BackupError::Content);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyvault::secrets::model::{SecretRecord, VersionRecord};
    use proptest::prelude::*;

    fn record(name: String, values: Vec<(String, bool)>) -> SecretRecord {
        SecretRecord {
            name,
            versions: values
                .into_iter()
                .enumerate()
                .map(|(i, (value, enabled))| VersionRecord {
                    managed: false,
                    version: format!("{:032x}", i as u128 + 1),
                    value,
                    content_type: Some("text/plain".into()),
                    tags: None,
                    enabled,
                    nbf: None,
                    exp: Some(1_900_000_000),
                    created: 1_700_000_000 + i as i64,
                    updated: 1_700_000_000 + i as i64,
                })
                .collect(),
        }
    }

    proptest! {
        #[test]
        fn round_trip(name in "[0-9a-zA-Z-]{1,127}", values in prop::collection::vec((".{0,64}", any::<bool>()), 1..6)) {
            let r = record(name, values);
            prop_assert_eq!(decode::<VersionRecord>(&encode(&r)), Ok(r.clone()));
            prop_assert_eq!(decode_wire::<VersionRecord>(&encode_wire(&r)), Ok(r));
        }

        #[test]
        fn any_single_byte_change_is_rejected(values in prop::collection::vec((".{0,16}", any::<bool>()), 1..3),
                                              pos in any::<prop::sample::Index>(), flip in 1u8..=255) {
            let mut blob = encode(&record("s".into(), values));
            let i = pos.index(blob.len());
            blob[i] ^= flip;
            prop_assert!(decode::<VersionRecord>(&blob).is_err());
        }

        #[test]
        fn sealed_round_trip_and_tampering(values in prop::collection::vec((".{0,16}", any::<bool>()), 1..3),
                                           pos in any::<prop::sample::Index>(), flip in 1u8..=255) {
            let key = [7u8; 32];
            let r = record("s".into(), values);
            let blob = seal(&key, &r);
            prop_assert_eq!(open::<VersionRecord>(&key, &blob), Ok(r.clone()));
            prop_assert!(open::<VersionRecord>(&[8u8; 32], &blob).is_err(), "another key cannot open it");
            let mut bad = blob.clone();
            let i = pos.index(bad.len());
            bad[i] ^= flip;
            prop_assert!(open::<VersionRecord>(&key, &bad).is_err());
            prop_assert!(open::<VersionRecord>(&key, &blob[..i]).is_err());
        }

        #[test]
        fn truncation_and_garbage_are_rejected(values in prop::collection::vec((".{0,16}", any::<bool>()), 1..3),
                                               cut in any::<prop::sample::Index>(), junk in prop::collection::vec(any::<u8>(), 0..200)) {
            let blob = encode(&record("s".into(), values));
            let n = cut.index(blob.len());
            prop_assert!(decode::<VersionRecord>(&blob[..n]).is_err());
            prop_assert!(decode::<VersionRecord>(&junk).is_err());
            let _ = decode_wire::<VersionRecord>(&String::from_utf8_lossy(&junk));
        }
    }
}
