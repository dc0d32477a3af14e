//! Every way a KMS operation fails, and the one place those failures become wire errors ([`AwsError`]).

use crate::aws::AwsError;

/// A failed KMS operation. Messages follow AWS's wording; the variant picks the `__type`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KmsError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Disabled(String),
    #[error("{0}")]
    InvalidState(String),
    #[error("{0}")]
    InvalidKeyUsage(String),
    #[error("{0}")]
    IncorrectKey(String),
    #[error("{0}")]
    InvalidCiphertext(String),
    #[error("{0}")]
    InvalidSignature(String),
    #[error("{0}")]
    InvalidMac(String),
    #[error("{0}")]
    ExpiredImportToken(String),
    #[error("{0}")]
    InvalidImportToken(String),
    #[error("{0}")]
    IncorrectKeyMaterial(String),
    #[error("{0}")]
    MalformedPolicyDocument(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    InvalidAliasName(String),
    #[error("{0}")]
    NotAuthorized(String),
    #[error("{0}")]
    InvalidArn(String),
    #[error("{0}")]
    InvalidMarker(String),
    #[error("{0}")]
    InvalidGrantId(String),
    #[error("{0}")]
    InvalidGrantToken(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    Tag(String),
    #[error("{0}")]
    CustomKeyStoreNotFound(String),
    #[error("{0}")]
    CustomKeyStoreInvalidState(String),
    #[error("{0}")]
    CustomKeyStoreNameInUse(String),
    #[error("{0}")]
    CustomKeyStoreHasCmks(String),
    #[error("{0}")]
    CloudHsmClusterNotFound(String),
    #[error("{0}")]
    XksProxyUriInUse(String),
    #[error("{0}")]
    XksProxyVpcEndpointServiceNotFound(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    DryRun(String),
    #[error("{0}")]
    Serialization(String),
    #[error("{0}")]
    Internal(String),
    /// Too much key generation at once: the common AWS error every service sends (not a KMS model shape).
    #[error("Rate exceeded")]
    Throttling,
}

impl KmsError {
    /// The AWS error shape name of this failure.
    pub fn code(&self) -> &'static str {
        match self {
            KmsError::NotFound(_) => "NotFoundException",
            KmsError::Disabled(_) => "DisabledException",
            KmsError::InvalidState(_) => "KMSInvalidStateException",
            KmsError::InvalidKeyUsage(_) => "InvalidKeyUsageException",
            KmsError::IncorrectKey(_) => "IncorrectKeyException",
            KmsError::InvalidCiphertext(_) => "InvalidCiphertextException",
            KmsError::InvalidSignature(_) => "KMSInvalidSignatureException",
            KmsError::InvalidMac(_) => "KMSInvalidMacException",
            KmsError::ExpiredImportToken(_) => "ExpiredImportTokenException",
            KmsError::InvalidImportToken(_) => "InvalidImportTokenException",
            KmsError::IncorrectKeyMaterial(_) => "IncorrectKeyMaterialException",
            KmsError::MalformedPolicyDocument(_) => "MalformedPolicyDocumentException",
            KmsError::Validation(_) => "ValidationException",
            KmsError::AlreadyExists(_) => "AlreadyExistsException",
            KmsError::InvalidAliasName(_) => "InvalidAliasNameException",
            KmsError::NotAuthorized(_) => "NotAuthorizedException",
            KmsError::InvalidArn(_) => "InvalidArnException",
            KmsError::InvalidMarker(_) => "InvalidMarkerException",
            KmsError::InvalidGrantId(_) => "InvalidGrantIdException",
            KmsError::InvalidGrantToken(_) => "InvalidGrantTokenException",
            KmsError::LimitExceeded(_) => "LimitExceededException",
            KmsError::Tag(_) => "TagException",
            KmsError::CustomKeyStoreNotFound(_) => "CustomKeyStoreNotFoundException",
            KmsError::CustomKeyStoreInvalidState(_) => "CustomKeyStoreInvalidStateException",
            KmsError::CustomKeyStoreNameInUse(_) => "CustomKeyStoreNameInUseException",
            KmsError::CustomKeyStoreHasCmks(_) => "CustomKeyStoreHasCMKsException",
            KmsError::CloudHsmClusterNotFound(_) => "CloudHsmClusterNotFoundException",
            KmsError::XksProxyUriInUse(_) => "XksProxyUriInUseException",
            KmsError::XksProxyVpcEndpointServiceNotFound(_) => "XksProxyVpcEndpointServiceNotFoundException",
            KmsError::Unsupported(_) => "UnsupportedOperationException",
            KmsError::DryRun(_) => "DryRunOperationException",
            KmsError::Serialization(_) => "SerializationException",
            KmsError::Internal(_) => "KMSInternalException",
            KmsError::Throttling => "ThrottlingException",
        }
    }

    /// `<what> is not supported by trent yet`.
    pub fn unsupported(what: impl std::fmt::Display) -> Self {
        KmsError::Unsupported(format!("{what} is not supported by trent yet"))
    }
}

/// The only mapping from [`KmsError`] to the wire.
impl From<KmsError> for AwsError {
    fn from(err: KmsError) -> Self {
        let code = err.code();
        AwsError::new(code, err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_an_error_shape_of_the_model() {
        let model = crate::aws::model::kms();
        for err in [
            KmsError::NotFound(String::new()),
            KmsError::Disabled(String::new()),
            KmsError::InvalidState(String::new()),
            KmsError::InvalidKeyUsage(String::new()),
            KmsError::IncorrectKey(String::new()),
            KmsError::InvalidCiphertext(String::new()),
            KmsError::InvalidSignature(String::new()),
            KmsError::InvalidMac(String::new()),
            KmsError::ExpiredImportToken(String::new()),
            KmsError::InvalidImportToken(String::new()),
            KmsError::IncorrectKeyMaterial(String::new()),
            KmsError::MalformedPolicyDocument(String::new()),
            KmsError::AlreadyExists(String::new()),
            KmsError::InvalidAliasName(String::new()),
            KmsError::InvalidArn(String::new()),
            KmsError::InvalidMarker(String::new()),
            KmsError::InvalidGrantId(String::new()),
            KmsError::InvalidGrantToken(String::new()),
            KmsError::LimitExceeded(String::new()),
            KmsError::Tag(String::new()),
            KmsError::CustomKeyStoreNotFound(String::new()),
            KmsError::CustomKeyStoreInvalidState(String::new()),
            KmsError::CustomKeyStoreNameInUse(String::new()),
            KmsError::CustomKeyStoreHasCmks(String::new()),
            KmsError::CloudHsmClusterNotFound(String::new()),
            KmsError::XksProxyUriInUse(String::new()),
            KmsError::XksProxyVpcEndpointServiceNotFound(String::new()),
            KmsError::Unsupported(String::new()),
            KmsError::DryRun(String::new()),
            KmsError::Internal(String::new()),
        ] {
            assert!(model.shapes.contains_key(err.code()), "{}", err.code());
        }
        let wire: AwsError = KmsError::Disabled("x is disabled.".into()).into();
        assert_eq!(wire.code, "DisabledException");
        assert_eq!(wire.message, "x is disabled.");
    }
}
