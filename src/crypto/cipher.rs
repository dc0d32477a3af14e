//! Symmetric ciphers with caller-chosen keys, named by what they are rather than by any cloud: AES-GCM (128/192/
//! 256-bit keys, 96-bit IV, 128-bit tag, additional data), AES-CBC with and without PKCS#7 padding, AES Key Wrap
//! (RFC 3394) and AES Key Wrap with Padding (RFC 5649). All from RustCrypto (`aes-gcm`, `cbc`, `aes-kw`).
//!
//! Nothing here panics on caller input: wrong key, IV or block lengths are [`CryptoError::InvalidInput`], and
//! anything that does not authenticate or unpad is [`CryptoError::InvalidCiphertext`].

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use aes_gcm::aead::generic_array::typenum::U12;
use aes_gcm::aead::{Aead, AeadCore, KeyInit, Payload};
use aes_gcm::AesGcm;

use super::CryptoError;

/// Length of an AES-GCM IV and tag, in bytes.
pub const GCM_IV_LEN: usize = 12;
pub const GCM_TAG_LEN: usize = 16;
/// AES block size.
pub const BLOCK_LEN: usize = 16;

fn bad_key(len: usize) -> CryptoError {
    CryptoError::InvalidInput(format!("an AES key is 16, 24 or 32 bytes long, not {len}"))
}

fn nonce(iv: &[u8]) -> Result<aes_gcm::Nonce<U12>, CryptoError> {
    let iv: [u8; GCM_IV_LEN] = iv
        .try_into()
        .map_err(|_| CryptoError::InvalidInput(format!("an AES-GCM IV is {GCM_IV_LEN} bytes long")))?;
    Ok(aes_gcm::Nonce::<U12>::from(iv))
}

fn gcm_seal<C: KeyInit + Aead + AeadCore<NonceSize = U12>>(
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let cipher = C::new_from_slice(key).map_err(|_| bad_key(key.len()))?;
    cipher
        .encrypt(&nonce(iv)?, Payload { msg: plaintext, aad })
        .map_err(|_| CryptoError::InvalidInput("AES-GCM encryption failed".to_string()))
}

fn gcm_open<C: KeyInit + Aead + AeadCore<NonceSize = U12>>(
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let cipher = C::new_from_slice(key).map_err(|_| bad_key(key.len()))?;
    cipher
        .decrypt(&nonce(iv)?, Payload { msg: sealed, aad })
        .map_err(|_| CryptoError::InvalidCiphertext)
}

/// AES-GCM encryption: `(ciphertext, tag)`. `iv` must be 12 bytes.
pub fn gcm_encrypt(key: &[u8], iv: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
    if iv.len() != GCM_IV_LEN {
        return Err(CryptoError::InvalidInput(format!(
            "an AES-GCM IV is {GCM_IV_LEN} bytes long, not {}",
            iv.len()
        )));
    }
    let mut sealed = match key.len() {
        16 => gcm_seal::<AesGcm<aes::Aes128, U12>>(key, iv, aad, plaintext)?,
        24 => gcm_seal::<AesGcm<aes::Aes192, U12>>(key, iv, aad, plaintext)?,
        32 => gcm_seal::<AesGcm<aes::Aes256, U12>>(key, iv, aad, plaintext)?,
        n => return Err(bad_key(n)),
    };
    let tag = sealed.split_off(sealed.len() - GCM_TAG_LEN);
    Ok((sealed, tag))
}

/// AES-GCM decryption of `ciphertext` with its 16-byte `tag`.
pub fn gcm_decrypt(key: &[u8], iv: &[u8], aad: &[u8], ciphertext: &[u8], tag: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if iv.len() != GCM_IV_LEN || tag.len() != GCM_TAG_LEN {
        return Err(CryptoError::InvalidCiphertext);
    }
    let mut sealed = Vec::with_capacity(ciphertext.len() + GCM_TAG_LEN);
    sealed.extend_from_slice(ciphertext);
    sealed.extend_from_slice(tag);
    match key.len() {
        16 => gcm_open::<AesGcm<aes::Aes128, U12>>(key, iv, aad, &sealed),
        24 => gcm_open::<AesGcm<aes::Aes192, U12>>(key, iv, aad, &sealed),
        32 => gcm_open::<AesGcm<aes::Aes256, U12>>(key, iv, aad, &sealed),
        n => Err(bad_key(n)),
    }
}

macro_rules! cbc_encrypt {
    ($aes:ty, $key:expr, $iv:expr, $data:expr, $padded:expr) => {{
        let enc = cbc::Encryptor::<$aes>::new_from_slices($key, $iv)
            .map_err(|_| CryptoError::InvalidInput("AES-CBC needs a 16-byte IV".to_string()))?;
        if $padded {
            enc.encrypt_padded_vec_mut::<aes::cipher::block_padding::Pkcs7>($data)
        } else {
            enc.encrypt_padded_vec_mut::<aes::cipher::block_padding::NoPadding>($data)
        }
    }};
}

macro_rules! cbc_decrypt {
    ($aes:ty, $key:expr, $iv:expr, $data:expr, $padded:expr) => {{
        let dec = cbc::Decryptor::<$aes>::new_from_slices($key, $iv)
            .map_err(|_| CryptoError::InvalidInput("AES-CBC needs a 16-byte IV".to_string()))?;
        if $padded {
            dec.decrypt_padded_vec_mut::<aes::cipher::block_padding::Pkcs7>($data)
        } else {
            dec.decrypt_padded_vec_mut::<aes::cipher::block_padding::NoPadding>($data)
        }
        .map_err(|_| CryptoError::InvalidCiphertext)?
    }};
}

/// AES-CBC encryption. Without padding the plaintext must be a whole number of 16-byte blocks; with `padded`,
/// PKCS#7 padding is added.
pub fn cbc_encrypt(key: &[u8], iv: &[u8], plaintext: &[u8], padded: bool) -> Result<Vec<u8>, CryptoError> {
    if iv.len() != BLOCK_LEN {
        return Err(CryptoError::InvalidInput(format!(
            "an AES-CBC IV is {BLOCK_LEN} bytes long, not {}",
            iv.len()
        )));
    }
    if !padded && !plaintext.len().is_multiple_of(BLOCK_LEN) {
        return Err(CryptoError::InvalidInput(format!(
            "AES-CBC without padding encrypts whole 16-byte blocks; the plaintext is {} bytes",
            plaintext.len()
        )));
    }
    Ok(match key.len() {
        16 => cbc_encrypt!(aes::Aes128, key, iv, plaintext, padded),
        24 => cbc_encrypt!(aes::Aes192, key, iv, plaintext, padded),
        32 => cbc_encrypt!(aes::Aes256, key, iv, plaintext, padded),
        n => return Err(bad_key(n)),
    })
}

/// AES-CBC decryption (PKCS#7 padding removed and checked with `padded`).
pub fn cbc_decrypt(key: &[u8], iv: &[u8], ciphertext: &[u8], padded: bool) -> Result<Vec<u8>, CryptoError> {
    if iv.len() != BLOCK_LEN || ciphertext.is_empty() || !ciphertext.len().is_multiple_of(BLOCK_LEN) {
        return Err(CryptoError::InvalidCiphertext);
    }
    Ok(match key.len() {
        16 => cbc_decrypt!(aes::Aes128, key, iv, ciphertext, padded),
        24 => cbc_decrypt!(aes::Aes192, key, iv, ciphertext, padded),
        32 => cbc_decrypt!(aes::Aes256, key, iv, ciphertext, padded),
        n => return Err(bad_key(n)),
    })
}

/// AES Key Wrap: RFC 3394 without padding (the key to wrap is a multiple of 8 bytes, at least 16), or RFC 5649
/// with padding (any length from 1 byte).
pub fn key_wrap(kek: &[u8], key: &[u8], padded: bool) -> Result<Vec<u8>, CryptoError> {
    if !padded && (key.len() < 16 || !key.len().is_multiple_of(8)) {
        return Err(CryptoError::InvalidInput(format!(
            "AES key wrap without padding wraps a multiple of 8 bytes (at least 16); the key is {} bytes",
            key.len()
        )));
    }
    if key.is_empty() {
        return Err(CryptoError::InvalidInput("there is no key to wrap".to_string()));
    }
    let wrapped = match kek.len() {
        16 => wrap_with::<aes::Aes128>(kek, key, padded),
        24 => wrap_with::<aes::Aes192>(kek, key, padded),
        32 => wrap_with::<aes::Aes256>(kek, key, padded),
        n => return Err(bad_key(n)),
    };
    wrapped.map_err(|e| CryptoError::InvalidInput(format!("AES key wrap failed: {e}")))
}

/// Unwraps what [`key_wrap`] made; anything that fails the integrity check is `InvalidCiphertext`.
pub fn key_unwrap(kek: &[u8], wrapped: &[u8], padded: bool) -> Result<Vec<u8>, CryptoError> {
    let unwrapped = match kek.len() {
        16 => unwrap_with::<aes::Aes128>(kek, wrapped, padded),
        24 => unwrap_with::<aes::Aes192>(kek, wrapped, padded),
        32 => unwrap_with::<aes::Aes256>(kek, wrapped, padded),
        n => return Err(bad_key(n)),
    };
    unwrapped.map_err(|_| CryptoError::InvalidCiphertext)
}

type KwResult = Result<Vec<u8>, aes_kw::Error>;

fn wrap_with<A>(kek: &[u8], key: &[u8], padded: bool) -> KwResult
where
    A: aes::cipher::BlockCipher
        + aes::cipher::BlockEncrypt
        + aes::cipher::BlockDecrypt
        + aes::cipher::KeyInit
        + aes::cipher::BlockSizeUser<BlockSize = aes::cipher::consts::U16>,
{
    let kek = aes_kw::Kek::<A>::try_from(kek)?;
    if padded {
        kek.wrap_with_padding_vec(key)
    } else {
        kek.wrap_vec(key)
    }
}

fn unwrap_with<A>(kek: &[u8], wrapped: &[u8], padded: bool) -> KwResult
where
    A: aes::cipher::BlockCipher
        + aes::cipher::BlockEncrypt
        + aes::cipher::BlockDecrypt
        + aes::cipher::KeyInit
        + aes::cipher::BlockSizeUser<BlockSize = aes::cipher::consts::U16>,
{
    let kek = aes_kw::Kek::<A>::try_from(kek)?;
    if padded {
        kek.unwrap_with_padding_vec(wrapped)
    } else {
        kek.unwrap_vec(wrapped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 3394 section 4.1 and 4.6, RFC 5649 section 6.
    #[test]
    fn key_wrap_vectors() {
        let kek = hex("000102030405060708090A0B0C0D0E0F");
        let key = hex("00112233445566778899AABBCCDDEEFF");
        let wrapped = key_wrap(&kek, &key, false).unwrap();
        assert_eq!(wrapped, hex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"));
        assert_eq!(key_unwrap(&kek, &wrapped, false).unwrap(), key);
        let kek256 = hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
        let key256 = hex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F");
        assert_eq!(
            key_wrap(&kek256, &key256, false).unwrap(),
            hex("28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21")
        );
        let kek192 = hex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");
        let padded = key_wrap(&kek192, &hex("466f7250617369"), true).unwrap();
        assert_eq!(padded, hex("afbeb0f07dfbf5419200f2ccb50bb24f"));
        assert_eq!(key_unwrap(&kek192, &padded, true).unwrap(), hex("466f7250617369"));
        let mut bad = wrapped.clone();
        bad[3] ^= 1;
        assert!(matches!(
            key_unwrap(&kek, &bad, false),
            Err(CryptoError::InvalidCiphertext)
        ));
        assert!(key_wrap(&kek, &key[..12], false).is_err());
    }

    /// NIST SP 800-38A F.2.1 (AES-128 CBC) and the GCM test case 3 of the GCM spec (AES-128).
    #[test]
    fn cbc_and_gcm_vectors() {
        let key = hex("2b7e151628aed2a6abf7158809cf4f3c");
        let iv = hex("000102030405060708090a0b0c0d0e0f");
        let pt = hex("6bc1bee22e409f96e93d7e117393172a");
        let ct = cbc_encrypt(&key, &iv, &pt, false).unwrap();
        assert_eq!(ct, hex("7649abac8119b246cee98e9b12e9197d"));
        assert_eq!(cbc_decrypt(&key, &iv, &ct, false).unwrap(), pt);
        let padded = cbc_encrypt(&key, &iv, b"hello", true).unwrap();
        assert_eq!(padded.len(), 16);
        assert_eq!(cbc_decrypt(&key, &iv, &padded, true).unwrap(), b"hello");
        assert!(cbc_encrypt(&key, &iv, b"hello", false).is_err());

        let key = hex("feffe9928665731c6d6a8f9467308308");
        let iv = hex("cafebabefacedbaddecaf888");
        let pt = hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255");
        let (ct, tag) = gcm_encrypt(&key, &iv, &[], &pt).unwrap();
        assert_eq!(ct, hex("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985"));
        assert_eq!(tag, hex("4d5c2af327cd64a62cf35abd2ba6fab4"));
        assert_eq!(gcm_decrypt(&key, &iv, &[], &ct, &tag).unwrap(), pt);
        assert!(gcm_decrypt(&key, &iv, b"aad", &ct, &tag).is_err());
        for len in [24, 32] {
            let k = vec![7u8; len];
            let (c, t) = gcm_encrypt(&k, &iv, b"a", b"data").unwrap();
            assert_eq!(gcm_decrypt(&k, &iv, b"a", &c, &t).unwrap(), b"data");
        }
    }
}
