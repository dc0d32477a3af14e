//! Imported key material: GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial (Origin=EXTERNAL).

use serde::{Deserialize, Serialize};

/// What trent keeps about an EXTERNAL key's imported material.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportInfo {}
