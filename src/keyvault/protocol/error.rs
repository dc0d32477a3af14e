//! [`KeyVaultError`]: every way a Key Vault request can fail, for every plane. The variants name the object kind
//! (secret, key, certificate) instead of multiplying per plane; [`KeyVaultError::status_and_code`] and
//! [`KeyVaultError::body`] are the one place they meet the wire.

use serde_json::{json, Value};

/// The kind of object a plane stores: it names the error codes, the id paths and the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    Secret,
    Key,
    Certificate,
}

impl ObjectKind {
    /// The collection segment of ids: `secrets`, `keys`, `certificates`.
    pub fn collection(self) -> &'static str {
        match self {
            ObjectKind::Secret => "secrets",
            ObjectKind::Key => "keys",
            ObjectKind::Certificate => "certificates",
        }
    }

    /// The deleted collection segment of recovery ids: `deletedsecrets`, `deletedkeys`, `deletedcertificates`.
    pub fn deleted_collection(self) -> &'static str {
        match self {
            ObjectKind::Secret => "deletedsecrets",
            ObjectKind::Key => "deletedkeys",
            ObjectKind::Certificate => "deletedcertificates",
        }
    }

    /// The word in messages: `secret`, `key`, `certificate`.
    pub fn word(self) -> &'static str {
        match self {
            ObjectKind::Secret => "secret",
            ObjectKind::Key => "key",
            ObjectKind::Certificate => "certificate",
        }
    }

    /// Capitalised, as the service begins sentences with it: `Secret`, `Key`, `Certificate`.
    pub fn title(self) -> &'static str {
        match self {
            ObjectKind::Secret => "Secret",
            ObjectKind::Key => "Key",
            ObjectKind::Certificate => "Certificate",
        }
    }

    fn not_found_code(self) -> &'static str {
        match self {
            ObjectKind::Secret => "SecretNotFound",
            ObjectKind::Key => "KeyNotFound",
            ObjectKind::Certificate => "CertificateNotFound",
        }
    }
}

fn not_found_tail(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Key => {
            " If you recently deleted this key you may be able to recover it using the correct recovery command. For \
             help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
        }
        // JS recording certificates_client__create_read_update_and_delete/recording_can_delete_a_certificate_non_existing.json
        ObjectKind::Certificate => {
            " If you recently deleted this certificate you may be able to recover it using the correct recovery \
             command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
        }
        ObjectKind::Secret => "",
    }
}

/// Every error a Key Vault request can end in.
#[derive(Debug, thiserror::Error)]
pub enum KeyVaultError {
    /// 400 `BadParameter`.
    #[error("{0}")]
    BadParameter(String),
    /// 400 with another code than `BadParameter` (e.g. `KeySizeNotSupported`), as the service sends it.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 401 with a `WWW-Authenticate` challenge.
    #[error("AKV10000: Request is missing a Bearer or PoP token.")]
    Unauthorized { challenge: String },
    /// 403 `Forbidden`, optionally with an `innererror` code.
    #[error("{message}")]
    Forbidden {
        message: String,
        inner: Option<&'static str>,
    },
    /// 404 `SecretNotFound` / `KeyNotFound` / `CertificateNotFound`.
    #[error("{message}")]
    ObjectNotFound { kind: ObjectKind, message: String },
    /// 404 with a code of its own (`PendingCertificateNotFound`, `CertificateIssuerNotFound`, `ContactsNotFound`).
    #[error("{message}")]
    NotFoundCode { code: &'static str, message: String },
    /// 404 `NotFound`: a path that is no Key Vault operation.
    #[error("{0}")]
    NotFound(String),
    /// 405 `MethodNotAllowed`: a known path with a method it does not take.
    #[error("The requested resource does not support http method '{0}'.")]
    MethodNotAllowed(String),
    /// 409 `Conflict`, optionally with an `innererror` code.
    #[error("{message}")]
    Conflict {
        message: String,
        inner: Option<&'static str>,
    },
    /// 413 `RequestTooLarge`.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 429 `Throttled` (with `Retry-After`): too much key generation at once.
    #[error(
        "Request was not processed because too many requests were received: key generation is at its limit; retry."
    )]
    Throttled,
    /// 500 `InternalServerError`: trent could not do what the request asked (storage failure, broken record).
    #[error("{0}")]
    Internal(String),
    /// 501 `NotImplemented`: a Key Vault operation trent does not serve yet.
    #[error("{0}")]
    NotImplemented(String),
}

impl KeyVaultError {
    /// 404 for a name with no live object: "A secret with (name/id) x was not found in this key vault." For keys
    /// the service goes on (JS recording keys_client__create_read_update_and_delete_operations/
    /// recording_delete_nonexisting_key.json, api-version 2025-07-01); the secrets plane keeps its shorter
    /// sentence until its own recordings are checked.
    pub fn not_found(kind: ObjectKind, name: &str) -> Self {
        KeyVaultError::ObjectNotFound {
            kind,
            message: format!(
                "A {} with (name/id) {name} was not found in this key vault.{}",
                kind.word(),
                not_found_tail(kind)
            ),
        }
    }

    /// 404 for a version that the object does not have.
    pub fn version_not_found(kind: ObjectKind, name: &str, version: &str) -> Self {
        KeyVaultError::ObjectNotFound {
            kind,
            message: format!(
                "A {} with (name/id) {name}/{version} was not found in this key vault.{}",
                kind.word(),
                not_found_tail(kind)
            ),
        }
    }

    /// 404 for a name that is not in the deleted store: "Deleted Secret not found: x".
    pub fn deleted_not_found(kind: ObjectKind, name: &str) -> Self {
        KeyVaultError::ObjectNotFound {
            kind,
            message: format!("Deleted {} not found: {name}", kind.title()),
        }
    }

    /// 403 for writing a certificate's managed secret through the secrets API (the service's answer quoted in
    /// hashicorp/terraform-provider-azurerm#5659).
    pub fn managed_by_key_vault(operation: &str) -> Self {
        KeyVaultError::Forbidden {
            message: format!(
                "Operation \"{operation}\" is not allowed as this object's lifetime is managed by Key Vault."
            ),
            inner: Some("SecretManagedByKeyVault"),
        }
    }

    /// 403 for using a disabled object (innererror `SecretDisabled` / `KeyDisabled`).
    pub fn disabled(kind: ObjectKind, operation: &str) -> Self {
        KeyVaultError::Forbidden {
            message: format!("Operation {operation} is not allowed on a disabled {}.", kind.word()),
            inner: Some(match kind {
                ObjectKind::Secret => "SecretDisabled",
                ObjectKind::Key => "KeyDisabled",
                ObjectKind::Certificate => "CertificateDisabled",
            }),
        }
    }

    /// 409 for reusing the name of a soft-deleted object (innererror `ObjectIsDeletedButRecoverable`).
    pub fn deleted_but_recoverable(kind: ObjectKind, name: &str) -> Self {
        KeyVaultError::Conflict {
            message: format!(
                "{} {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this \
                 state, the {} can only be recovered or purged.",
                kind.title(),
                kind.word()
            ),
            inner: Some("ObjectIsDeletedButRecoverable"),
        }
    }

    /// 409 for restoring over a live object.
    pub fn already_exists(kind: ObjectKind, name: &str) -> Self {
        KeyVaultError::Conflict {
            message: format!("{} {name} already exists.", kind.title()),
            inner: None,
        }
    }

    /// The HTTP status code and the `error.code` of this error.
    pub fn status_and_code(&self) -> (u16, &'static str) {
        match self {
            KeyVaultError::BadParameter(_) => (400, "BadParameter"),
            KeyVaultError::BadRequest { code, .. } => (400, code),
            KeyVaultError::Unauthorized { .. } => (401, "Unauthorized"),
            KeyVaultError::Forbidden { .. } => (403, "Forbidden"),
            KeyVaultError::ObjectNotFound { kind, .. } => (404, kind.not_found_code()),
            KeyVaultError::NotFoundCode { code, .. } => (404, code),
            KeyVaultError::NotFound(_) => (404, "NotFound"),
            KeyVaultError::MethodNotAllowed(_) => (405, "MethodNotAllowed"),
            KeyVaultError::Conflict { .. } => (409, "Conflict"),
            KeyVaultError::PayloadTooLarge(_) => (413, "RequestTooLarge"),
            KeyVaultError::Throttled => (429, "Throttled"),
            KeyVaultError::Internal(_) => (500, "InternalServerError"),
            KeyVaultError::NotImplemented(_) => (501, "NotImplemented"),
        }
    }

    /// The `KeyVaultError` JSON body: `{"error": {"code", "message", "innererror"?}}`.
    pub fn body(&self) -> Value {
        let (_, code) = self.status_and_code();
        let message = self.to_string();
        match self {
            KeyVaultError::Conflict { inner: Some(inner), .. }
            | KeyVaultError::Forbidden { inner: Some(inner), .. } => {
                json!({"error": {"code": code, "message": message, "innererror": {"code": inner}}})
            }
            _ => json!({"error": {"code": code, "message": message}}),
        }
    }

    /// The `WWW-Authenticate` challenge this error carries, if any.
    pub fn challenge(&self) -> Option<&str> {
        match self {
            KeyVaultError::Unauthorized { challenge } => Some(challenge),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_name_the_kind() {
        let e = KeyVaultError::not_found(ObjectKind::Key, "k1");
        assert_eq!(e.status_and_code(), (404, "KeyNotFound"));
        assert!(e
            .to_string()
            .starts_with("A key with (name/id) k1 was not found in this key vault. If you recently deleted"));
        let e = KeyVaultError::not_found(ObjectKind::Secret, "s1");
        assert_eq!(
            e.to_string(),
            "A secret with (name/id) s1 was not found in this key vault."
        );
        let e = KeyVaultError::deleted_not_found(ObjectKind::Secret, "s");
        assert_eq!(e.to_string(), "Deleted Secret not found: s");
        assert_eq!(
            KeyVaultError::disabled(ObjectKind::Secret, "get").body()["error"]["innererror"]["code"],
            "SecretDisabled"
        );
    }
}
