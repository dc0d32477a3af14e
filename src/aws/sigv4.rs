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

/// Whether `region` has the form of an AWS region (`us-east-1`, `us-gov-west-1`, `cn-north-1`, `eu-central-2`):
/// letters, dash-separated words, a number. Anything else in a credential scope is refused as AWS refuses it,
/// with `InvalidSignatureException` "Credential should be scoped to a valid region." (as AWS JSON services answer,
/// e.g. minio/kes#303 quoting Secrets Manager); it would otherwise make malformed ARNs.
pub fn valid_region(region: &str) -> bool {
    let mut words = region.split('-');
    let Some(first) = words.next() else { return false };
    let rest: Vec<&str> = words.collect();
    let Some((number, middle)) = rest.split_last() else {
        return false;
    };
    region.len() <= 32
        && first.len() >= 2
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && !middle.is_empty()
        && middle
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
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
    fn regions() {
        for ok in [
            "us-east-1",
            "us-gov-west-1",
            "cn-north-1",
            "eu-central-2",
            "ap-southeast-5",
            "us-isob-east-1",
        ] {
            assert!(valid_region(ok), "{ok}");
        }
        for bad in [
            "",
            "us",
            "us-east",
            "us-east-1:999999999999",
            "US-EAST-1",
            "us--1",
            "us-east-123",
            "a-b-1",
            "us-east-x",
        ] {
            assert!(!valid_region(bad), "{bad}");
        }
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
