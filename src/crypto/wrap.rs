//! Key-material wrapping for imports (KMS `GetParametersForImport` / `ImportKeyMaterial`): RSA wrapping keys,
//! unwrapping with RSA-OAEP or RSA-OAEP + AES Key Wrap with Padding (RFC 5649), and the process-local sealing
//! that import tokens are made with.
//!
//! - [`WrappingKey`]: an RSA private key handed out once per request ([`WrappingKey::generate`], with keys
//!   generated ahead in the background since RSA-4096 takes seconds), its SubjectPublicKeyInfo DER, its PKCS#8
//!   DER (so a sealed token can carry it) and [`WrappingKey::unwrap`].
//! - [`seal`] / [`open`]: AES-256-GCM under a key that lives only as long as the process, with a caller-chosen
//!   4-byte magic in front and bound as associated data. What goes inside (the token's fields) is the service's
//!   business.
//!
//! Everything comes from RustCrypto (`rsa`, `aes-kw`, `aes-gcm`, `sha1`/`sha2`). Unwrapping failures are
//! deliberately uninformative (`None`), like any decryption.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, RsaPrivateKey};
use zeroize::Zeroizing;

use super::{random_bytes, CryptoError};

/// The wrapping algorithms trent unwraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    OaepSha1,
    OaepSha256,
    /// RSA-OAEP (SHA-1) of an ephemeral AES key, then AES Key Wrap with Padding (RFC 5649) of the material.
    AesKwSha1,
    /// As [`Algorithm::AesKwSha1`] with SHA-256 for OAEP and MGF1.
    AesKwSha256,
}

impl Algorithm {
    pub fn is_hybrid(self) -> bool {
        matches!(self, Algorithm::AesKwSha1 | Algorithm::AesKwSha256)
    }

    fn oaep(self) -> Oaep {
        match self {
            Algorithm::OaepSha1 | Algorithm::AesKwSha1 => Oaep::new::<sha1::Sha1>(),
            Algorithm::OaepSha256 | Algorithm::AesKwSha256 => Oaep::new::<sha2::Sha256>(),
        }
    }

    /// A one-byte code for serialized forms (import tokens).
    pub fn code(self) -> u8 {
        match self {
            Algorithm::OaepSha1 => 1,
            Algorithm::OaepSha256 => 2,
            Algorithm::AesKwSha1 => 3,
            Algorithm::AesKwSha256 => 4,
        }
    }

    pub fn from_code(code: u8) -> Option<Algorithm> {
        [
            Algorithm::OaepSha1,
            Algorithm::OaepSha256,
            Algorithm::AesKwSha1,
            Algorithm::AesKwSha256,
        ]
        .into_iter()
        .find(|a| a.code() == code)
    }
}

/// An RSA wrapping private key.
pub struct WrappingKey(RsaPrivateKey);

impl WrappingKey {
    /// A fresh RSA wrapping key of `bits` (blocking): one generated ahead if there is one, and another is started
    /// in the background for the next request. Each key is handed out once.
    pub fn generate(bits: usize) -> Result<WrappingKey, CryptoError> {
        pooled(bits).map(WrappingKey)
    }

    /// The public key as SubjectPublicKeyInfo DER (what GetParametersForImport returns).
    pub fn public_key_der(&self) -> Result<Vec<u8>, CryptoError> {
        self.0
            .to_public_key()
            .to_public_key_der()
            .map(|der| der.as_bytes().to_vec())
            .map_err(|e| CryptoError::InvalidKey(format!("SubjectPublicKeyInfo encoding failed: {e}")))
    }

    /// The private key as PKCS#8 DER.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.0
            .to_pkcs8_der()
            .map(|der| Zeroizing::new(der.as_bytes().to_vec()))
            .map_err(|e| CryptoError::InvalidKey(format!("PKCS#8 encoding failed: {e}")))
    }

    pub fn from_pkcs8_der(der: &[u8]) -> Result<WrappingKey, CryptoError> {
        RsaPrivateKey::from_pkcs8_der(der)
            .map(WrappingKey)
            .map_err(|e| CryptoError::InvalidKey(format!("not a PKCS#8 RSA private key: {e}")))
    }

    /// The modulus size in bytes.
    pub fn size(&self) -> usize {
        self.0.size()
    }

    /// Unwraps `blob` (EncryptedKeyMaterial); None if it does not unwrap with this key and `algorithm`.
    pub fn unwrap(&self, algorithm: Algorithm, blob: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let private = &self.0;
        if !algorithm.is_hybrid() {
            return private.decrypt(algorithm.oaep(), blob).ok().map(Zeroizing::new);
        }
        // The RSA-OAEP-wrapped AES key (one modulus-sized block) comes first, the wrapped material after it.
        let (rsa_part, wrapped) = blob.split_at_checked(private.size())?;
        if wrapped.is_empty() {
            return None;
        }
        let aes_key = Zeroizing::new(private.decrypt(algorithm.oaep(), rsa_part).ok()?);
        let plain = match aes_key.len() {
            16 => aes_kw::KekAes128::try_from(aes_key.as_slice())
                .ok()?
                .unwrap_with_padding_vec(wrapped),
            24 => aes_kw::KekAes192::try_from(aes_key.as_slice())
                .ok()?
                .unwrap_with_padding_vec(wrapped),
            32 => aes_kw::KekAes256::try_from(aes_key.as_slice())
                .ok()?
                .unwrap_with_padding_vec(wrapped),
            _ => return None,
        };
        plain.ok().map(Zeroizing::new)
    }
}

/// Wrapping keys generated ahead of use, per modulus size (generation of RSA-4096 takes seconds).
struct Pool {
    ready: HashMap<usize, Vec<RsaPrivateKey>>,
    refilling: HashMap<usize, bool>,
}

fn pool() -> &'static Mutex<Pool> {
    static POOL: OnceLock<Mutex<Pool>> = OnceLock::new();
    POOL.get_or_init(|| {
        Mutex::new(Pool {
            ready: HashMap::new(),
            refilling: HashMap::new(),
        })
    })
}

fn generate(bits: usize) -> Result<RsaPrivateKey, CryptoError> {
    RsaPrivateKey::new(&mut rand::rngs::OsRng, bits)
        .map_err(|e| CryptoError::InvalidKey(format!("cannot generate an RSA-{bits} key: {e}")))
}

fn pooled(bits: usize) -> Result<RsaPrivateKey, CryptoError> {
    let (ready, start_refill) = {
        let mut pool = pool().lock().unwrap_or_else(|p| p.into_inner());
        let ready = pool.ready.get_mut(&bits).and_then(Vec::pop);
        let refilling = pool.refilling.entry(bits).or_insert(false);
        let start = !*refilling;
        *refilling = true;
        (ready, start)
    };
    if start_refill {
        let spawned = std::thread::Builder::new()
            .name("trent-wrapping-keys".into())
            .spawn(move || {
                let key = generate(bits).ok();
                let mut pool = pool().lock().unwrap_or_else(|p| p.into_inner());
                if let Some(key) = key {
                    pool.ready.entry(bits).or_default().push(key);
                }
                pool.refilling.insert(bits, false);
            });
        if spawned.is_err() {
            let mut pool = pool().lock().unwrap_or_else(|p| p.into_inner());
            pool.refilling.insert(bits, false);
        }
    }
    match ready {
        Some(key) => Ok(key),
        None => generate(bits),
    }
}

const NONCE_LEN: usize = 12;

/// The per-process key that [`seal`] uses.
fn process_cipher() -> &'static Aes256Gcm {
    static CIPHER: OnceLock<Aes256Gcm> = OnceLock::new();
    CIPHER.get_or_init(|| {
        let key = Zeroizing::new(random_bytes(32));
        Aes256Gcm::new_from_slice(&key).unwrap_or_else(|_| Aes256Gcm::new(&Default::default()))
    })
}

/// `magic | nonce (12) | AES-256-GCM(payload)` under the per-process key, `magic` bound as associated data.
/// Only this process can [`open`] it.
pub fn seal(magic: &[u8; 4], payload: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&random_bytes(NONCE_LEN));
    let sealed = process_cipher()
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: payload,
                aad: magic,
            },
        )
        .map_err(|_| CryptoError::InvalidInput("AES-GCM sealing failed".into()))?;
    let mut out = Vec::with_capacity(magic.len() + NONCE_LEN + sealed.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// The payload of a blob [`seal`]ed by this process with the same `magic`; None for anything else.
pub fn open(magic: &[u8; 4], blob: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let rest = blob.strip_prefix(&magic[..])?;
    let (nonce, sealed) = rest.split_first_chunk::<NONCE_LEN>()?;
    process_cipher()
        .decrypt(
            &Nonce::from(*nonce),
            Payload {
                msg: sealed,
                aad: magic,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

/// Wraps `material` for the SubjectPublicKeyInfo DER `public_key_der` as a client would, with the rsa and aes-kw
/// crates' public APIs (the service's unit tests import through it).
#[cfg(test)]
pub(crate) fn client_wrap(public_key_der: &[u8], algorithm: Algorithm, material: &[u8]) -> Vec<u8> {
    use pkcs8::DecodePublicKey;
    let public = rsa::RsaPublicKey::from_public_key_der(public_key_der).unwrap();
    let mut rng = rand::rngs::OsRng;
    if !algorithm.is_hybrid() {
        return public.encrypt(&mut rng, algorithm.oaep(), material).unwrap();
    }
    let aes_key: [u8; 32] = random_bytes(32).try_into().unwrap();
    let mut out = public.encrypt(&mut rng, algorithm.oaep(), &aes_key).unwrap();
    out.extend(
        aes_kw::KekAes256::from(aes_key)
            .wrap_with_padding_vec(material)
            .unwrap(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{openssl_available, TempDir};
    use super::*;

    fn rsa_2048() -> WrappingKey {
        WrappingKey(RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap())
    }

    const ALL: [Algorithm; 4] = [
        Algorithm::OaepSha1,
        Algorithm::OaepSha256,
        Algorithm::AesKwSha1,
        Algorithm::AesKwSha256,
    ];

    #[test]
    fn every_algorithm_unwraps_what_a_client_wrapped_and_nothing_else() {
        let private = rsa_2048();
        let public = private.public_key_der().unwrap();
        let material = random_bytes(32);
        for alg in ALL {
            let blob = client_wrap(&public, alg, &material);
            assert_eq!(private.unwrap(alg, &blob).unwrap().as_slice(), material, "{alg:?}");
            // The other hash, a flipped byte, a truncated blob: all refused.
            let other = match alg {
                Algorithm::OaepSha1 => Algorithm::OaepSha256,
                Algorithm::OaepSha256 => Algorithm::OaepSha1,
                Algorithm::AesKwSha1 => Algorithm::AesKwSha256,
                Algorithm::AesKwSha256 => Algorithm::AesKwSha1,
            };
            assert!(private.unwrap(other, &blob).is_none(), "{alg:?} as {other:?}");
            let mut flipped = blob.clone();
            let last = flipped.len() - 1;
            flipped[last] ^= 1;
            assert!(private.unwrap(alg, &flipped).is_none(), "{alg:?} flipped");
            assert!(
                private.unwrap(alg, &blob[..blob.len() - 8]).is_none(),
                "{alg:?} truncated"
            );
            assert!(rsa_2048().unwrap(alg, &blob).is_none(), "{alg:?} other key");
        }
        // Hybrid wrapping carries material far larger than one RSA block (an RSA private key).
        let big = random_bytes(2400);
        let blob = client_wrap(&public, Algorithm::AesKwSha256, &big);
        assert_eq!(private.unwrap(Algorithm::AesKwSha256, &blob).unwrap().as_slice(), big);
        // RSA part only, no wrapped material.
        assert!(private.unwrap(Algorithm::AesKwSha256, &blob[..256]).is_none());
    }

    #[test]
    fn material_wrapped_by_openssl_with_our_public_key_unwraps() {
        if !openssl_available("material_wrapped_by_openssl_with_our_public_key_unwraps") {
            return;
        }
        let run = |args: &[&str]| {
            let out = std::process::Command::new("openssl").args(args).output().unwrap();
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        };
        let dir = TempDir::new();
        let key = WrappingKey::generate(2048).unwrap();
        let public = dir.write("public.der", &key.public_key_der().unwrap());
        let public = public.to_str().unwrap();
        let material = random_bytes(32);
        let input = dir.write("material.bin", &material);
        let input = input.to_str().unwrap();
        for (alg, digest) in [(Algorithm::OaepSha1, "sha1"), (Algorithm::OaepSha256, "sha256")] {
            let oaep = format!("rsa_oaep_md:{digest}");
            let mgf = format!("rsa_mgf1_md:{digest}");
            let blob = run(&[
                "pkeyutl",
                "-encrypt",
                "-pubin",
                "-keyform",
                "DER",
                "-inkey",
                public,
                "-in",
                input,
                "-pkeyopt",
                "rsa_padding_mode:oaep",
                "-pkeyopt",
                &oaep,
                "-pkeyopt",
                &mgf,
            ]);
            assert_eq!(key.unwrap(alg, &blob).unwrap().as_slice(), material, "{alg:?}");
        }
        // RSA_AES_KEY_WRAP_SHA_256: OAEP of an AES-256 key, then `enc -id-aes256-wrap-pad` of the material.
        let aes_key = random_bytes(32);
        let aes_path = dir.write("aes.bin", &aes_key);
        let hex: String = aes_key.iter().map(|b| format!("{b:02x}")).collect();
        let mut blob = run(&[
            "pkeyutl",
            "-encrypt",
            "-pubin",
            "-keyform",
            "DER",
            "-inkey",
            public,
            "-in",
            aes_path.to_str().unwrap(),
            "-pkeyopt",
            "rsa_padding_mode:oaep",
            "-pkeyopt",
            "rsa_oaep_md:sha256",
            "-pkeyopt",
            "rsa_mgf1_md:sha256",
        ]);
        blob.extend(run(&[
            "enc",
            "-id-aes256-wrap-pad",
            "-K",
            &hex,
            "-iv",
            "A65959A6",
            "-in",
            input,
        ]));
        assert_eq!(key.unwrap(Algorithm::AesKwSha256, &blob).unwrap().as_slice(), material);
    }

    #[test]
    fn a_wrapping_key_round_trips_through_pkcs8_and_is_handed_out_once() {
        let a = WrappingKey::generate(2048).unwrap();
        let b = WrappingKey::generate(2048).unwrap();
        assert_ne!(a.public_key_der().unwrap(), b.public_key_der().unwrap());
        assert_eq!(a.size(), 256);
        let back = WrappingKey::from_pkcs8_der(&a.to_pkcs8_der().unwrap()).unwrap();
        assert_eq!(back.public_key_der().unwrap(), a.public_key_der().unwrap());
        assert!(WrappingKey::from_pkcs8_der(b"not a key").is_err());
        for alg in ALL {
            assert_eq!(Algorithm::from_code(alg.code()), Some(alg));
        }
        assert_eq!(Algorithm::from_code(0), None);
    }

    #[test]
    fn sealed_payloads_open_only_unchanged_and_with_their_magic() {
        let payload = b"some token payload".to_vec();
        let blob = seal(b"TST\x01", &payload).unwrap();
        assert!(!blob.windows(payload.len()).any(|w| w == payload.as_slice()));
        assert_eq!(open(b"TST\x01", &blob).unwrap().as_slice(), payload);
        assert!(open(b"TST\x02", &blob).is_none());
        for i in [0, 5, 20, blob.len() - 1] {
            let mut bad = blob.clone();
            bad[i] ^= 0x40;
            assert!(open(b"TST\x01", &bad).is_none(), "byte {i}");
        }
        assert!(open(b"TST\x01", b"").is_none());
        assert!(open(b"TST\x01", &blob[..10]).is_none());
        // A fresh nonce each time.
        assert_ne!(seal(b"TST\x01", &payload).unwrap(), blob);
    }
}
