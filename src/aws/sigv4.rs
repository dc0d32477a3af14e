//! SigV4: what trent reads from the `Authorization` header. Today only the credential scope
//! (`Credential=<access key id>/<date>/<region>/<service>/aws4_request`), which selects region and account;
//! signatures are not verified. Strict mode will verify them here, in front of the services.

use axum::http::HeaderMap;

use super::{RequestContext, DEFAULT_ACCOUNT, DEFAULT_REGION};

/// The parts of a SigV4 credential scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope<'a> {
    pub access_key_id: &'a str,
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

/// Parses the credential scope out of an `Authorization: AWS4-HMAC-SHA256 Credential=…, …` header value.
pub fn credential_scope(authorization: &str) -> Option<CredentialScope<'_>> {
    let rest = authorization.trim().strip_prefix("AWS4-HMAC-SHA256")?;
    let credential = rest
        .split(',')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("Credential="))?;
    let mut parts = credential.split('/');
    let scope = CredentialScope {
        access_key_id: parts.next()?,
        date: parts.next()?,
        region: parts.next()?,
        service: parts.next()?,
    };
    (parts.next() == Some("aws4_request") && !scope.region.is_empty()).then_some(scope)
}

/// The request context a request's headers give: region and account from the credential scope, else defaults.
pub fn context(headers: &HeaderMap) -> RequestContext {
    let scope = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(credential_scope);
    match scope {
        Some(scope) => {
            let is_account = scope.access_key_id.len() == 12 && scope.access_key_id.bytes().all(|b| b.is_ascii_digit());
            RequestContext {
                region: scope.region.to_string(),
                account_id: if is_account {
                    scope.access_key_id.to_string()
                } else {
                    DEFAULT_ACCOUNT.to_string()
                },
                access_key_id: Some(scope.access_key_id.to_string()),
                // Filled in by the protocol layer, which answers with it.
                request_id: String::new(),
            }
        }
        None => RequestContext {
            region: DEFAULT_REGION.to_string(),
            account_id: DEFAULT_ACCOUNT.to_string(),
            access_key_id: None,
            request_id: String::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_scope_of_a_real_header() {
        let h = "AWS4-HMAC-SHA256 Credential=parlel/20261129/eu-west-2/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        let scope = credential_scope(h).unwrap();
        assert_eq!(scope.region, "eu-west-2");
        assert_eq!(scope.access_key_id, "parlel");
        assert_eq!(scope.service, "kms");
    }

    #[test]
    fn rejects_other_schemes_and_truncated_scopes() {
        assert!(credential_scope("Bearer x").is_none());
        assert!(credential_scope("AWS4-HMAC-SHA256 Credential=a/b/c").is_none());
        assert!(credential_scope("AWS4-HMAC-SHA256 Credential=a/20261129//kms/aws4_request").is_none());
    }

    #[test]
    fn twelve_digit_access_keys_select_the_account() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            "AWS4-HMAC-SHA256 Credential=111122223333/20261129/ap-south-1/kms/aws4_request, SignedHeaders=host, Signature=x".parse().unwrap(),
        );
        let ctx = context(&headers);
        assert_eq!(ctx.account_id, "111122223333");
        assert_eq!(ctx.region, "ap-south-1");
        assert_eq!(context(&HeaderMap::new()), RequestContext::default());
    }
}
