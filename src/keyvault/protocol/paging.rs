//! Query strings, `maxresults`, `$skiptoken` and `nextLink`, and the page of a name-ordered map: the listing
//! machinery every plane shares. A page is found in O(log n + page): the token names the key to continue after.

use std::collections::BTreeMap;
use std::ops::Bound;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

use super::error::{KeyVaultError, ObjectKind};
use super::ids::Target;
use super::truncate;

/// A request's query parameters, names and values percent-decoded (so `api%2Dversion` is `api-version`).
#[derive(Debug, Clone, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let Some(raw) = raw else { return Query::default() };
        Query(
            form_urlencoded::parse(raw.as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Which listing a `$skiptoken` continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// The live objects, by name.
    Objects,
    /// The versions of one object, by position.
    Versions,
    /// The deleted objects, by name.
    Deleted,
    /// The certificate issuers of a vault, by name.
    Issuers,
}

/// The paging arguments of a list request: `maxresults` (1..25, default 25) and the `$skiptoken`, if any.
#[derive(Debug, Clone, Default)]
pub struct ListArgs {
    pub max: usize,
    pub skiptoken: Option<String>,
    /// The api-version the request named, repeated in `nextLink`.
    pub api_version: String,
}

impl ListArgs {
    /// Reads and checks `maxresults` and `$skiptoken`.
    pub fn of(query: &Query, api_version: &str) -> Result<ListArgs, KeyVaultError> {
        let max = match query.get("maxresults") {
            None | Some("") => 25,
            Some(raw) => match raw.trim().parse::<i64>() {
                Ok(n) if (1..=25).contains(&n) => n as usize,
                _ => {
                    return Err(KeyVaultError::BadParameter(format!(
                        "Invalid MaxResults value {}. MaxResults must be between 1 and 25.",
                        truncate(raw, 32)
                    )))
                }
            },
        };
        let skiptoken = query.get("$skiptoken").filter(|t| !t.is_empty()).map(str::to_string);
        Ok(ListArgs {
            max,
            skiptoken,
            api_version: api_version.to_string(),
        })
    }

    /// The decoded token for this listing, if the request carried one.
    pub fn token(&self, kind: ObjectKind, listing: Listing) -> Result<Option<SkipToken>, KeyVaultError> {
        self.skiptoken
            .as_deref()
            .map(|t| SkipToken::decode(t, kind, listing))
            .transpose()
    }
}

/// The opaque continuation in `$skiptoken`: the object kind and listing, the key the next page starts after (for
/// name-ordered listings) and an offset (for version listings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkipToken {
    pub kind: ObjectKind,
    pub listing: Listing,
    pub offset: usize,
    pub key: String,
}

fn tag(kind: ObjectKind, listing: Listing) -> String {
    let k = match kind {
        ObjectKind::Secret => 's',
        ObjectKind::Key => 'k',
        ObjectKind::Certificate => 'c',
    };
    let l = match listing {
        Listing::Objects => 'o',
        Listing::Versions => 'v',
        Listing::Deleted => 'd',
        Listing::Issuers => 'i',
    };
    format!("{k}{l}")
}

impl SkipToken {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "2.{}.{}.{}",
            tag(self.kind, self.listing),
            self.offset,
            self.key
        ))
    }

    /// Decodes a token made by [`SkipToken::encode`] for this listing; anything else is a 400.
    pub fn decode(token: &str, kind: ObjectKind, listing: Listing) -> Result<SkipToken, KeyVaultError> {
        let invalid = || KeyVaultError::BadParameter("The specified $skiptoken is invalid.".to_string());
        let bytes = URL_SAFE_NO_PAD
            .decode(token.trim_end_matches('='))
            .map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let mut parts = text.splitn(4, '.');
        let (Some("2"), Some(t), Some(offset), Some(key)) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        if t != tag(kind, listing) {
            return Err(invalid());
        }
        let offset = offset.parse::<usize>().map_err(|_| invalid())?;
        Ok(SkipToken {
            kind,
            listing,
            offset,
            key: key.to_string(),
        })
    }
}

/// `SecretListResult`, `KeyListResult`, … : one page and the link to the next.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResult<T> {
    pub value: Vec<T>,
    pub next_link: Option<String>,
}

/// The `nextLink` of a listing: `{base}{path}?api-version=…&$skiptoken=…&maxresults=…`.
pub fn next_link(target: &Target, path: &str, args: &ListArgs, token: &SkipToken) -> String {
    let api_version: String = args
        .api_version
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .collect();
    format!(
        "{}{path}?api-version={api_version}&$skiptoken={}&maxresults={}",
        target.base_url,
        token.encode(),
        args.max
    )
}

/// One page of a name-ordered map (`Listing::Objects` or `Listing::Deleted` of `kind`): up to `max` entries that
/// `f` maps, after the token's key, with the `nextLink` for `path` when more remain.
pub fn page_by_name<V, T>(
    map: &BTreeMap<String, V>,
    target: &Target,
    path: &str,
    args: &ListArgs,
    (kind, listing): (ObjectKind, Listing),
    mut f: impl FnMut(&V) -> Option<T>,
) -> Result<ListResult<T>, KeyVaultError> {
    let after = args.token(kind, listing)?.map(|t| t.key);
    let lower = match after {
        Some(a) => Bound::Excluded(a),
        None => Bound::Unbounded,
    };
    let mut value = Vec::with_capacity(args.max);
    let mut last = None;
    let mut iter = map.range((lower, Bound::Unbounded));
    for (k, v) in iter.by_ref() {
        if let Some(t) = f(v) {
            value.push(t);
            last = Some(k.clone());
            if value.len() == args.max {
                break;
            }
        }
    }
    let more = value.len() == args.max && iter.next().is_some();
    let next_link = match (more, last) {
        (true, Some(key)) => {
            let token = SkipToken {
                kind,
                listing,
                offset: 0,
                key,
            };
            Some(next_link(target, path, args, &token))
        }
        _ => None,
    };
    Ok(ListResult { value, next_link })
}

/// One page of the versions of the object stored under `key` (oldest first), by position.
pub fn page_by_position<V, T>(
    items: &[V],
    target: &Target,
    path: &str,
    args: &ListArgs,
    (kind, key): (ObjectKind, &str),
    f: impl FnMut(&V) -> T,
) -> Result<ListResult<T>, KeyVaultError> {
    let start = match args.token(kind, Listing::Versions)? {
        Some(token) if token.key != key => {
            return Err(KeyVaultError::BadParameter(
                "The specified $skiptoken is invalid.".to_string(),
            ))
        }
        Some(token) => token.offset,
        None => 0,
    };
    let rest = items.get(start..).unwrap_or(&[]);
    let value: Vec<T> = rest.iter().take(args.max).map(f).collect();
    let next_link = (rest.len() > args.max).then(|| {
        let token = SkipToken {
            kind,
            listing: Listing::Versions,
            offset: start + args.max,
            key: key.to_string(),
        };
        next_link(target, path, args, &token)
    });
    Ok(ListResult { value, next_link })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decodes_names() {
        let q = Query::parse(Some("api%2Dversion=7%2E4&maxresults=3&x"));
        assert_eq!(q.get("api-version"), Some("7.4"));
        assert_eq!(q.get("maxresults"), Some("3"));
        assert_eq!(q.get("x"), Some(""));
        assert_eq!(Query::parse(Some("q=a+b%2Bc")).get("q"), Some("a b+c"));
    }

    fn kind() -> impl proptest::strategy::Strategy<Value = (ObjectKind, Listing)> {
        use proptest::strategy::Just;
        let kinds = proptest::prop_oneof![
            Just(ObjectKind::Secret),
            Just(ObjectKind::Key),
            Just(ObjectKind::Certificate)
        ];
        let listings = proptest::prop_oneof![Just(Listing::Objects), Just(Listing::Versions), Just(Listing::Deleted)];
        (kinds, listings)
    }

    proptest::proptest! {
        #[test]
        fn skiptoken_round_trips((kind, listing) in kind(), offset in 0usize..1_000_000, key in "[0-9a-z-]{0,127}") {
            let token = SkipToken { kind, listing, offset, key };
            let encoded = token.encode();
            proptest::prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            proptest::prop_assert_eq!(SkipToken::decode(&encoded, kind, listing).ok(), Some(token.clone()));
            for other in [Listing::Objects, Listing::Versions, Listing::Deleted] {
                if other != listing {
                    proptest::prop_assert!(SkipToken::decode(&encoded, kind, other).is_err());
                }
            }
            for other in [ObjectKind::Secret, ObjectKind::Key, ObjectKind::Certificate] {
                if other != kind {
                    proptest::prop_assert!(SkipToken::decode(&encoded, other, listing).is_err());
                }
            }
        }

        #[test]
        fn skiptoken_decode_never_panics(raw in ".{0,200}", (kind, listing) in kind()) {
            let _ = SkipToken::decode(&raw, kind, listing);
            let _ = Query::parse(Some(&raw));
        }
    }
}
