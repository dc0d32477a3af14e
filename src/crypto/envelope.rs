//! The ciphertext blob KMS `Encrypt` returns for symmetric keys, and that `Decrypt` reads back.
//!
//! Like AWS's own blob it is opaque to clients but self-describing for the service: `Decrypt` may be called
//! without a `KeyId`, so the blob names the key and the key-material version that sealed it ([`peek`]).
//!
//! Layout (version 1, all integers big-endian):
//!
//! ```text
//! "TRN" 0x01 | key-id length: u16 | key id (UTF-8) | material version: u32 | IV: 12 bytes | AES-256-GCM ciphertext || 16-byte tag
//! ```
//!
//! The header (everything before the ciphertext, IV included) is authenticated: the GCM associated data is
//! `header || encode(context)`, where the encryption context is encoded canonically and unambiguously
//! (pair count, then each key and value length-prefixed, in sorted key order). Hence changing any header byte,
//! any ciphertext byte, truncating the blob, or presenting a different encryption context all fail the tag
//! check and yield the same uninformative [`CryptoError::InvalidCiphertext`].
//!
//! Each seal draws a fresh random 96-bit IV. With random IVs the usual bound is 2^32 messages per key, far
//! beyond what an emulator serves.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

use super::{CryptoError, KeyMaterial, KeySpec};

/// Magic + format version at the start of every blob.
const MAGIC: [u8; 4] = *b"TRN\x01";
const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// What a blob's header says about the key that sealed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeHeader {
    /// The key id the blob was sealed under (whatever string the caller passed to [`seal`]).
    pub key_id: String,
    /// The key-material version (for rotated keys) that sealed the blob.
    pub material_version: u32,
}

/// A parsed blob: header fields, the authenticated header bytes, IV and ciphertext-with-tag.
struct Parsed<'a> {
    header: EnvelopeHeader,
    header_bytes: &'a [u8],
    iv: [u8; IV_LEN],
    sealed: &'a [u8],
}

fn parse(blob: &[u8]) -> Result<Parsed<'_>, CryptoError> {
    let rest = blob.strip_prefix(&MAGIC[..]).ok_or(CryptoError::InvalidCiphertext)?;
    let (len, rest) = rest.split_first_chunk::<2>().ok_or(CryptoError::InvalidCiphertext)?;
    let id_len = u16::from_be_bytes(*len) as usize;
    if id_len == 0 || rest.len() < id_len {
        return Err(CryptoError::InvalidCiphertext);
    }
    let (id, rest) = rest.split_at(id_len);
    let key_id = std::str::from_utf8(id)
        .map_err(|_| CryptoError::InvalidCiphertext)?
        .to_string();
    let (version, rest) = rest.split_first_chunk::<4>().ok_or(CryptoError::InvalidCiphertext)?;
    let material_version = u32::from_be_bytes(*version);
    let (iv, sealed) = rest
        .split_first_chunk::<IV_LEN>()
        .ok_or(CryptoError::InvalidCiphertext)?;
    if sealed.len() < TAG_LEN {
        return Err(CryptoError::InvalidCiphertext);
    }
    let header_len = blob.len() - sealed.len();
    Ok(Parsed {
        header: EnvelopeHeader {
            key_id,
            material_version,
        },
        header_bytes: &blob[..header_len],
        iv: *iv,
        sealed,
    })
}

/// The canonical encoding of an encryption context: `u32 count`, then per pair (in sorted key order)
/// `u32 len || key || u32 len || value`.
fn encode_context(context: &BTreeMap<String, String>, out: &mut Vec<u8>) {
    // Lengths are bounded by the request size limit far below u32::MAX; saturate rather than wrap regardless.
    let len32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes();
    out.extend_from_slice(&len32(context.len()));
    for (k, v) in context {
        out.extend_from_slice(&len32(k.len()));
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&len32(v.len()));
        out.extend_from_slice(v.as_bytes());
    }
}

fn cipher(material: &KeyMaterial) -> Result<Aes256Gcm, CryptoError> {
    if material.spec() != KeySpec::SymmetricDefault {
        return Err(CryptoError::Unsupported(format!(
            "the symmetric envelope needs SYMMETRIC_DEFAULT key material, not {}",
            material.spec()
        )));
    }
    Aes256Gcm::new_from_slice(material.bytes())
        .map_err(|_| CryptoError::InvalidKey("SYMMETRIC_DEFAULT key material must be 32 bytes".into()))
}

fn aad(header_bytes: &[u8], context: &BTreeMap<String, String>) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header_bytes.len() + 64);
    aad.extend_from_slice(header_bytes);
    encode_context(context, &mut aad);
    aad
}

/// Encrypts `plaintext` under `material` (AES-256-GCM, fresh IV) into a blob naming `key_id` and
/// `material_version`, bound to `context`. `key_id` must be 1..=65535 bytes.
pub fn seal(
    material: &KeyMaterial,
    key_id: &str,
    material_version: u32,
    plaintext: &[u8],
    context: &BTreeMap<String, String>,
) -> Result<Vec<u8>, CryptoError> {
    let cipher = cipher(material)?;
    let id_len = u16::try_from(key_id.len())
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| CryptoError::Unsupported("the key id in a ciphertext must be 1 to 65535 bytes".into()))?;
    let mut iv = [0u8; IV_LEN];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut iv);
    let mut blob = Vec::with_capacity(MAGIC.len() + 2 + key_id.len() + 4 + IV_LEN + plaintext.len() + TAG_LEN);
    blob.extend_from_slice(&MAGIC);
    blob.extend_from_slice(&id_len.to_be_bytes());
    blob.extend_from_slice(key_id.as_bytes());
    blob.extend_from_slice(&material_version.to_be_bytes());
    blob.extend_from_slice(&iv);
    let aad = aad(&blob, context);
    let sealed = cipher
        .encrypt(
            &Nonce::from(iv),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| CryptoError::Unsupported("AES-GCM encryption failed (plaintext too large)".into()))?;
    blob.extend_from_slice(&sealed);
    Ok(blob)
}

/// Reads only the header of a blob (to find the key that can open it). Anything that is not a well-formed
/// trent blob → [`CryptoError::InvalidCiphertext`]. The header is not authenticated until [`open`] succeeds.
pub fn peek(blob: &[u8]) -> Result<EnvelopeHeader, CryptoError> {
    parse(blob).map(|p| p.header)
}

/// Decrypts a blob made by [`seal`] with the same material and the same encryption context. Any mismatch or
/// corruption → [`CryptoError::InvalidCiphertext`].
pub fn open(material: &KeyMaterial, blob: &[u8], context: &BTreeMap<String, String>) -> Result<Vec<u8>, CryptoError> {
    let parsed = parse(blob)?;
    let cipher = cipher(material).map_err(|_| CryptoError::InvalidCiphertext)?;
    let aad = aad(parsed.header_bytes, context);
    cipher
        .decrypt(
            &Nonce::from(parsed.iv),
            Payload {
                msg: parsed.sealed,
                aad: &aad,
            },
        )
        .map_err(|_| CryptoError::InvalidCiphertext)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::{btree_map, vec};
    use proptest::prelude::*;

    fn key() -> KeyMaterial {
        KeyMaterial::generate(KeySpec::SymmetricDefault).unwrap()
    }

    fn ctx(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn round_trip_and_header() {
        let k = key();
        let c = ctx(&[("purpose", "test")]);
        let blob = seal(&k, "1234abcd-12ab-34cd-56ef-1234567890ab", 3, b"hello", &c).unwrap();
        assert_eq!(open(&k, &blob, &c).unwrap(), b"hello");
        let h = peek(&blob).unwrap();
        assert_eq!(h.key_id, "1234abcd-12ab-34cd-56ef-1234567890ab");
        assert_eq!(h.material_version, 3);
    }

    #[test]
    fn same_plaintext_seals_differently() {
        let k = key();
        let a = seal(&k, "k", 0, b"same", &BTreeMap::new()).unwrap();
        let b = seal(&k, "k", 0, b"same", &BTreeMap::new()).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn wrong_key_or_key_type_is_invalid_ciphertext() {
        let blob = seal(&key(), "k", 1, b"x", &BTreeMap::new()).unwrap();
        assert!(matches!(
            open(&key(), &blob, &BTreeMap::new()),
            Err(CryptoError::InvalidCiphertext)
        ));
        let hmac = KeyMaterial::generate(KeySpec::Hmac256).unwrap();
        assert!(matches!(
            open(&hmac, &blob, &BTreeMap::new()),
            Err(CryptoError::InvalidCiphertext)
        ));
        assert!(matches!(
            seal(&hmac, "k", 1, b"x", &BTreeMap::new()),
            Err(CryptoError::Unsupported(_))
        ));
        assert!(seal(&key(), "", 1, b"x", &BTreeMap::new()).is_err());
    }

    #[test]
    fn context_encoding_is_unambiguous() {
        // {"a": "bc"} and {"ab": "c"} and {"a": "b", "": "c"} must all encode differently.
        let enc = |c: &BTreeMap<String, String>| {
            let mut v = Vec::new();
            encode_context(c, &mut v);
            v
        };
        let a = enc(&ctx(&[("a", "bc")]));
        let b = enc(&ctx(&[("ab", "c")]));
        let c = enc(&ctx(&[("a", "b"), ("", "c")]));
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(b, c);
        let k = key();
        let blob = seal(&k, "k", 1, b"x", &ctx(&[("a", "bc")])).unwrap();
        assert!(open(&k, &blob, &ctx(&[("ab", "c")])).is_err());
        assert!(open(&k, &blob, &BTreeMap::new()).is_err());
    }

    #[test]
    fn garbage_does_not_peek() {
        for blob in [
            &b""[..],
            b"TRN",
            b"TRN\x01",
            b"TRN\x02\x00\x01k",
            b"AQICAHh...garbage",
            &[0u8; 64],
        ] {
            assert!(matches!(peek(blob), Err(CryptoError::InvalidCiphertext)));
        }
        // a header with no room for IV + tag
        let mut short = MAGIC.to_vec();
        short.extend_from_slice(&[0, 1, b'k', 0, 0, 0, 1]);
        short.extend_from_slice(&[0; IV_LEN + TAG_LEN - 1]);
        assert!(peek(&short).is_err());
    }

    fn arb_context() -> impl Strategy<Value = BTreeMap<String, String>> {
        btree_map("\\PC{0,12}", "\\PC{0,12}", 0..5)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn prop_round_trip(plaintext in vec(any::<u8>(), 1..4096), context in arb_context(),
                           key_id in "[a-zA-Z0-9:/_-]{1,80}", version in any::<u32>()) {
            let k = key();
            let blob = seal(&k, &key_id, version, &plaintext, &context).unwrap();
            prop_assert_eq!(open(&k, &blob, &context).unwrap(), plaintext);
            let h = peek(&blob).unwrap();
            prop_assert_eq!(h.key_id, key_id);
            prop_assert_eq!(h.material_version, version);
        }

        #[test]
        fn prop_any_single_byte_mutation_is_rejected(plaintext in vec(any::<u8>(), 1..256),
                                                    context in arb_context(),
                                                    pos in any::<prop::sample::Index>(),
                                                    delta in 1u8..=255) {
            let k = key();
            let mut blob = seal(&k, "alias-free-key-id", 7, &plaintext, &context).unwrap();
            let i = pos.index(blob.len());
            blob[i] ^= delta;
            prop_assert!(matches!(open(&k, &blob, &context), Err(CryptoError::InvalidCiphertext)));
        }

        #[test]
        fn prop_every_byte_mutation_and_truncation_is_rejected(plaintext in vec(any::<u8>(), 1..48),
                                                              context in arb_context()) {
            let k = key();
            let blob = seal(&k, "key-1", 2, &plaintext, &context).unwrap();
            for i in 0..blob.len() {
                let mut m = blob.clone();
                m[i] ^= 0x01;
                prop_assert!(open(&k, &m, &context).is_err(), "flip at {}", i);
                let mut m = blob.clone();
                m[i] = m[i].wrapping_add(0x80);
                prop_assert!(open(&k, &m, &context).is_err(), "add at {}", i);
            }
            for len in 0..blob.len() {
                prop_assert!(matches!(open(&k, &blob[..len], &context), Err(CryptoError::InvalidCiphertext)));
            }
            let mut longer = blob.clone();
            longer.push(0);
            prop_assert!(open(&k, &longer, &context).is_err());
        }

        #[test]
        fn prop_different_context_is_rejected(plaintext in vec(any::<u8>(), 1..256),
                                              a in arb_context(), b in arb_context()) {
            prop_assume!(a != b);
            let k = key();
            let blob = seal(&k, "key", 1, &plaintext, &a).unwrap();
            prop_assert!(matches!(open(&k, &blob, &b), Err(CryptoError::InvalidCiphertext)));
        }

        #[test]
        fn prop_peek_never_panics(bytes in vec(any::<u8>(), 0..128)) {
            let _ = peek(&bytes);
            let _ = open(&key(), &bytes, &BTreeMap::new());
        }
    }
}
