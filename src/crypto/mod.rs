//! The only module that touches cryptographic primitives (RustCrypto crates): key material, the symmetric
//! ciphertext envelope, signatures.
