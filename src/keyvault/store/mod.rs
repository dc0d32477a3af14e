//! The object store every plane shares: versioned, soft-deletable objects ([`versioned`]) and the opaque backup
//! blob ([`backup`]). A plane brings only its version type.

pub mod backup;
pub mod versioned;

pub use versioned::{
    key_of, AttributeUpdate, AttributesMut, Deleted, ObjectStore, Version, Versioned, RECOVERABLE_DAYS, RECOVERY_LEVEL,
};
