//! Storage: how service state survives a restart.
//!
//! Services keep every record in memory, in [`Tracked`] maps; the storage layer persists the records a request
//! changed before its response is sent.

pub mod tracked;

pub use tracked::Tracked;
