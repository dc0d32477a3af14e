//! The memory backend: the services' maps are the only copy of the state, so there is nothing to load or write.

use super::{Backend, Changes, Record, StorageError};

/// Keeps nothing: what `trent` without `--data-dir` uses.
#[derive(Debug, Default, Clone, Copy)]
pub struct MemoryBackend;

impl Backend for MemoryBackend {
    fn is_durable(&self) -> bool {
        false
    }

    fn load(&self, _service: &str) -> Result<Vec<Record>, StorageError> {
        Ok(Vec::new())
    }

    fn reload(&self, _service: &str) -> Result<Vec<Record>, StorageError> {
        Ok(Vec::new())
    }

    fn commit(&self, _service: &str, _changes: &Changes) -> Result<(), StorageError> {
        Ok(())
    }

    fn replace(&self, _service: &str, _records: &[Record]) -> Result<(), StorageError> {
        Ok(())
    }
}
