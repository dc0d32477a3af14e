//! [`Endpoint`]: the one route table of the Key Vault REST API. Every operation of the 2025-07-01 data plane is a
//! variant, parsed from (method, path) in [`Endpoint::parse`]; the variant names its plane, its wire
//! `operationId` and whether its body is read. A test ties the table to every operationId of the bundled spec
//! (`../shared/specs/azure-keyvault/operations-2025-07-01.json`).
//!
//! Reserved path words (`versions`, `backup`, `create`, …) route to their operation whatever the method, so a
//! wrong method is a 405, never a lookup of an object version called `backup`. `POST /secrets/restore` and
//! `POST /keys/restore` are restores; any other method on those paths addresses an object named `restore`. An
//! empty version segment (`/keys/k//sign`, `/secrets/s/`) means the latest version.

/// The three planes of a vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plane {
    Secrets,
    Keys,
    Certificates,
}

/// The cryptographic operations on one key version (`POST /keys/{name}/{version}/{op}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOperation {
    Encrypt,
    Decrypt,
    WrapKey,
    UnwrapKey,
    Sign,
    Verify,
    Release,
}

/// Every Key Vault operation, with the path parameters it takes. `version: None` is the latest version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    // secrets
    GetSecrets,
    SetSecret {
        name: String,
    },
    GetSecret {
        name: String,
        version: Option<String>,
    },
    UpdateSecret {
        name: String,
        version: Option<String>,
    },
    DeleteSecret {
        name: String,
    },
    GetSecretVersions {
        name: String,
    },
    BackupSecret {
        name: String,
    },
    RestoreSecret,
    GetDeletedSecrets,
    GetDeletedSecret {
        name: String,
    },
    PurgeDeletedSecret {
        name: String,
    },
    RecoverDeletedSecret {
        name: String,
    },
    // keys
    GetKeys,
    CreateKey {
        name: String,
    },
    ImportKey {
        name: String,
    },
    GetKey {
        name: String,
        version: Option<String>,
    },
    UpdateKey {
        name: String,
        version: Option<String>,
    },
    DeleteKey {
        name: String,
    },
    GetKeyVersions {
        name: String,
    },
    BackupKey {
        name: String,
    },
    RestoreKey,
    RotateKey {
        name: String,
    },
    GetKeyRotationPolicy {
        name: String,
    },
    UpdateKeyRotationPolicy {
        name: String,
    },
    KeyOperation {
        name: String,
        version: Option<String>,
        op: KeyOperation,
    },
    GetKeyAttestation {
        name: String,
        version: Option<String>,
    },
    GetRandomBytes,
    GetDeletedKeys,
    GetDeletedKey {
        name: String,
    },
    PurgeDeletedKey {
        name: String,
    },
    RecoverDeletedKey {
        name: String,
    },
    // certificates
    GetCertificates,
    GetCertificateContacts,
    SetCertificateContacts,
    DeleteCertificateContacts,
    GetCertificateIssuers,
    RestoreCertificate,
    GetDeletedCertificates,
    GetCertificate {
        name: String,
        version: Option<String>,
    },
    UpdateCertificate {
        name: String,
        version: Option<String>,
    },
    DeleteCertificate {
        name: String,
    },
    GetCertificateIssuer {
        name: String,
    },
    SetCertificateIssuer {
        name: String,
    },
    UpdateCertificateIssuer {
        name: String,
    },
    DeleteCertificateIssuer {
        name: String,
    },
    CreateCertificate {
        name: String,
    },
    ImportCertificate {
        name: String,
    },
    BackupCertificate {
        name: String,
    },
    GetCertificateVersions {
        name: String,
    },
    GetCertificatePolicy {
        name: String,
    },
    UpdateCertificatePolicy {
        name: String,
    },
    GetCertificateOperation {
        name: String,
    },
    UpdateCertificateOperation {
        name: String,
    },
    DeleteCertificateOperation {
        name: String,
    },
    MergeCertificate {
        name: String,
    },
    GetDeletedCertificate {
        name: String,
    },
    PurgeDeletedCertificate {
        name: String,
    },
    RecoverDeletedCertificate {
        name: String,
    },
}

/// Why a path did not route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// No Key Vault operation has this path.
    NotFound,
    /// The path is an operation's, the method is not.
    MethodNotAllowed,
}

type Route = Result<Endpoint, RouteError>;

fn is(segment: &str, word: &str) -> bool {
    segment.eq_ignore_ascii_case(word)
}

fn version_of(segment: &str) -> Option<String> {
    (!segment.is_empty()).then(|| segment.to_string())
}

/// `method` picks one of `options` (`(method, endpoint)`); a method not listed is a 405.
fn pick(method: &str, options: Vec<(&str, Endpoint)>) -> Route {
    options
        .into_iter()
        .find(|(m, _)| *m == method)
        .map(|(_, e)| e)
        .ok_or(RouteError::MethodNotAllowed)
}

impl Endpoint {
    /// The operation a request names: `method` is the HTTP method (upper case), `segments` the percent-decoded path
    /// segments after the leading `/`, trailing empty segments removed.
    pub fn parse(method: &str, segments: &[String]) -> Route {
        let Some((first, rest)) = segments.split_first() else {
            return Err(RouteError::NotFound);
        };
        match first.to_ascii_lowercase().as_str() {
            "secrets" => secrets(method, rest),
            "deletedsecrets" => deleted_secrets(method, rest),
            "keys" => keys(method, rest),
            "deletedkeys" => deleted_keys(method, rest),
            "rng" if rest.is_empty() => pick(method, vec![("POST", Endpoint::GetRandomBytes)]),
            "certificates" => certificates(method, rest),
            "deletedcertificates" => deleted_certificates(method, rest),
            _ => Err(RouteError::NotFound),
        }
    }

    /// The plane the operation belongs to.
    pub fn plane(&self) -> Plane {
        use Endpoint::*;
        match self {
            GetSecrets
            | SetSecret { .. }
            | GetSecret { .. }
            | UpdateSecret { .. }
            | DeleteSecret { .. }
            | GetSecretVersions { .. }
            | BackupSecret { .. }
            | RestoreSecret
            | GetDeletedSecrets
            | GetDeletedSecret { .. }
            | PurgeDeletedSecret { .. }
            | RecoverDeletedSecret { .. } => Plane::Secrets,
            GetCertificates
            | GetCertificateContacts
            | SetCertificateContacts
            | DeleteCertificateContacts
            | GetCertificateIssuers
            | RestoreCertificate
            | GetDeletedCertificates
            | GetCertificate { .. }
            | UpdateCertificate { .. }
            | DeleteCertificate { .. }
            | GetCertificateIssuer { .. }
            | SetCertificateIssuer { .. }
            | UpdateCertificateIssuer { .. }
            | DeleteCertificateIssuer { .. }
            | CreateCertificate { .. }
            | ImportCertificate { .. }
            | BackupCertificate { .. }
            | GetCertificateVersions { .. }
            | GetCertificatePolicy { .. }
            | UpdateCertificatePolicy { .. }
            | GetCertificateOperation { .. }
            | UpdateCertificateOperation { .. }
            | DeleteCertificateOperation { .. }
            | MergeCertificate { .. }
            | GetDeletedCertificate { .. }
            | PurgeDeletedCertificate { .. }
            | RecoverDeletedCertificate { .. } => Plane::Certificates,
            _ => Plane::Keys,
        }
    }

    /// The REST spec's `operationId`.
    pub fn operation_id(&self) -> &'static str {
        use Endpoint::*;
        match self {
            GetSecrets => "GetSecrets",
            SetSecret { .. } => "SetSecret",
            GetSecret { .. } => "GetSecret",
            UpdateSecret { .. } => "UpdateSecret",
            DeleteSecret { .. } => "DeleteSecret",
            GetSecretVersions { .. } => "GetSecretVersions",
            BackupSecret { .. } => "BackupSecret",
            RestoreSecret => "RestoreSecret",
            GetDeletedSecrets => "GetDeletedSecrets",
            GetDeletedSecret { .. } => "GetDeletedSecret",
            PurgeDeletedSecret { .. } => "PurgeDeletedSecret",
            RecoverDeletedSecret { .. } => "RecoverDeletedSecret",
            GetKeys => "GetKeys",
            CreateKey { .. } => "CreateKey",
            ImportKey { .. } => "ImportKey",
            GetKey { .. } => "GetKey",
            UpdateKey { .. } => "UpdateKey",
            DeleteKey { .. } => "DeleteKey",
            GetKeyVersions { .. } => "GetKeyVersions",
            BackupKey { .. } => "BackupKey",
            RestoreKey => "RestoreKey",
            RotateKey { .. } => "RotateKey",
            GetKeyRotationPolicy { .. } => "GetKeyRotationPolicy",
            UpdateKeyRotationPolicy { .. } => "UpdateKeyRotationPolicy",
            KeyOperation { op, .. } => match op {
                self::KeyOperation::Encrypt => "encrypt",
                self::KeyOperation::Decrypt => "decrypt",
                self::KeyOperation::WrapKey => "wrapKey",
                self::KeyOperation::UnwrapKey => "unwrapKey",
                self::KeyOperation::Sign => "sign",
                self::KeyOperation::Verify => "verify",
                self::KeyOperation::Release => "release",
            },
            GetKeyAttestation { .. } => "GetKeyAttestation",
            GetRandomBytes => "GetRandomBytes",
            GetDeletedKeys => "GetDeletedKeys",
            GetDeletedKey { .. } => "GetDeletedKey",
            PurgeDeletedKey { .. } => "PurgeDeletedKey",
            RecoverDeletedKey { .. } => "RecoverDeletedKey",
            GetCertificates => "GetCertificates",
            GetCertificateContacts => "GetCertificateContacts",
            SetCertificateContacts => "SetCertificateContacts",
            DeleteCertificateContacts => "DeleteCertificateContacts",
            GetCertificateIssuers => "GetCertificateIssuers",
            RestoreCertificate => "RestoreCertificate",
            GetDeletedCertificates => "GetDeletedCertificates",
            GetCertificate { .. } => "GetCertificate",
            UpdateCertificate { .. } => "UpdateCertificate",
            DeleteCertificate { .. } => "DeleteCertificate",
            GetCertificateIssuer { .. } => "GetCertificateIssuer",
            SetCertificateIssuer { .. } => "SetCertificateIssuer",
            UpdateCertificateIssuer { .. } => "UpdateCertificateIssuer",
            DeleteCertificateIssuer { .. } => "DeleteCertificateIssuer",
            CreateCertificate { .. } => "CreateCertificate",
            ImportCertificate { .. } => "ImportCertificate",
            BackupCertificate { .. } => "BackupCertificate",
            GetCertificateVersions { .. } => "GetCertificateVersions",
            GetCertificatePolicy { .. } => "GetCertificatePolicy",
            UpdateCertificatePolicy { .. } => "UpdateCertificatePolicy",
            GetCertificateOperation { .. } => "GetCertificateOperation",
            UpdateCertificateOperation { .. } => "UpdateCertificateOperation",
            DeleteCertificateOperation { .. } => "DeleteCertificateOperation",
            MergeCertificate { .. } => "MergeCertificate",
            GetDeletedCertificate { .. } => "GetDeletedCertificate",
            PurgeDeletedCertificate { .. } => "PurgeDeletedCertificate",
            RecoverDeletedCertificate { .. } => "RecoverDeletedCertificate",
        }
    }

    /// Whether the operation takes a request body (the others are answered without reading it).
    pub fn reads_body(&self) -> bool {
        use Endpoint::*;
        matches!(
            self,
            SetSecret { .. }
                | UpdateSecret { .. }
                | RestoreSecret
                | CreateKey { .. }
                | ImportKey { .. }
                | UpdateKey { .. }
                | RestoreKey
                | UpdateKeyRotationPolicy { .. }
                | KeyOperation { .. }
                | GetRandomBytes
                | SetCertificateContacts
                | RestoreCertificate
                | UpdateCertificate { .. }
                | SetCertificateIssuer { .. }
                | UpdateCertificateIssuer { .. }
                | CreateCertificate { .. }
                | ImportCertificate { .. }
                | UpdateCertificatePolicy { .. }
                | UpdateCertificateOperation { .. }
                | MergeCertificate { .. }
        )
    }
}

fn secrets(method: &str, rest: &[String]) -> Route {
    use Endpoint::*;
    let n = |s: &String| s.clone();
    match rest {
        [] => pick(method, vec![("GET", GetSecrets)]),
        [r] if is(r, "restore") && method == "POST" => Ok(RestoreSecret),
        [name] => pick(
            method,
            vec![
                ("PUT", SetSecret { name: n(name) }),
                (
                    "GET",
                    GetSecret {
                        name: n(name),
                        version: None,
                    },
                ),
                (
                    "PATCH",
                    UpdateSecret {
                        name: n(name),
                        version: None,
                    },
                ),
                ("DELETE", DeleteSecret { name: n(name) }),
            ],
        ),
        [name, w] if is(w, "versions") => pick(method, vec![("GET", GetSecretVersions { name: n(name) })]),
        [name, w] if is(w, "backup") => pick(method, vec![("POST", BackupSecret { name: n(name) })]),
        [name, version] => pick(
            method,
            vec![
                (
                    "GET",
                    GetSecret {
                        name: n(name),
                        version: version_of(version),
                    },
                ),
                (
                    "PATCH",
                    UpdateSecret {
                        name: n(name),
                        version: version_of(version),
                    },
                ),
            ],
        ),
        _ => Err(RouteError::NotFound),
    }
}

fn deleted_secrets(method: &str, rest: &[String]) -> Route {
    use Endpoint::*;
    match rest {
        [] => pick(method, vec![("GET", GetDeletedSecrets)]),
        [name] => pick(
            method,
            vec![
                ("GET", GetDeletedSecret { name: name.clone() }),
                ("DELETE", PurgeDeletedSecret { name: name.clone() }),
            ],
        ),
        [name, w] if is(w, "recover") => pick(method, vec![("POST", RecoverDeletedSecret { name: name.clone() })]),
        _ => Err(RouteError::NotFound),
    }
}

fn key_operation(word: &str) -> Option<KeyOperation> {
    Some(match word.to_ascii_lowercase().as_str() {
        "encrypt" => KeyOperation::Encrypt,
        "decrypt" => KeyOperation::Decrypt,
        "wrapkey" => KeyOperation::WrapKey,
        "unwrapkey" => KeyOperation::UnwrapKey,
        "sign" => KeyOperation::Sign,
        "verify" => KeyOperation::Verify,
        "release" => KeyOperation::Release,
        _ => return None,
    })
}

fn keys(method: &str, rest: &[String]) -> Route {
    use Endpoint::*;
    let n = |s: &String| s.clone();
    match rest {
        [] => pick(method, vec![("GET", GetKeys)]),
        [r] if is(r, "restore") && method == "POST" => Ok(RestoreKey),
        [name] => pick(
            method,
            vec![
                ("PUT", ImportKey { name: n(name) }),
                (
                    "GET",
                    GetKey {
                        name: n(name),
                        version: None,
                    },
                ),
                (
                    "PATCH",
                    UpdateKey {
                        name: n(name),
                        version: None,
                    },
                ),
                ("DELETE", DeleteKey { name: n(name) }),
            ],
        ),
        [name, w] if is(w, "create") => pick(method, vec![("POST", CreateKey { name: n(name) })]),
        [name, w] if is(w, "rotate") => pick(method, vec![("POST", RotateKey { name: n(name) })]),
        [name, w] if is(w, "backup") => pick(method, vec![("POST", BackupKey { name: n(name) })]),
        [name, w] if is(w, "versions") => pick(method, vec![("GET", GetKeyVersions { name: n(name) })]),
        [name, w] if is(w, "rotationpolicy") => pick(
            method,
            vec![
                ("GET", GetKeyRotationPolicy { name: n(name) }),
                ("PUT", UpdateKeyRotationPolicy { name: n(name) }),
            ],
        ),
        [name, version] => pick(
            method,
            vec![
                (
                    "GET",
                    GetKey {
                        name: n(name),
                        version: version_of(version),
                    },
                ),
                (
                    "PATCH",
                    UpdateKey {
                        name: n(name),
                        version: version_of(version),
                    },
                ),
            ],
        ),
        [name, version, w] if is(w, "attestation") => pick(
            method,
            vec![(
                "GET",
                GetKeyAttestation {
                    name: n(name),
                    version: version_of(version),
                },
            )],
        ),
        [name, version, w] => match key_operation(w) {
            Some(op) => pick(
                method,
                vec![(
                    "POST",
                    KeyOperation {
                        name: n(name),
                        version: version_of(version),
                        op,
                    },
                )],
            ),
            None => Err(RouteError::NotFound),
        },
        _ => Err(RouteError::NotFound),
    }
}

fn deleted_keys(method: &str, rest: &[String]) -> Route {
    use Endpoint::*;
    match rest {
        [] => pick(method, vec![("GET", GetDeletedKeys)]),
        [name] => pick(
            method,
            vec![
                ("GET", GetDeletedKey { name: name.clone() }),
                ("DELETE", PurgeDeletedKey { name: name.clone() }),
            ],
        ),
        [name, w] if is(w, "recover") => pick(method, vec![("POST", RecoverDeletedKey { name: name.clone() })]),
        _ => Err(RouteError::NotFound),
    }
}

fn certificates(method: &str, rest: &[String]) -> Route {
    use Endpoint::*;
    let n = |s: &String| s.clone();
    match rest {
        [] => pick(method, vec![("GET", GetCertificates)]),
        [w] if is(w, "contacts") => pick(
            method,
            vec![
                ("GET", GetCertificateContacts),
                ("PUT", SetCertificateContacts),
                ("DELETE", DeleteCertificateContacts),
            ],
        ),
        [w] if is(w, "issuers") => pick(method, vec![("GET", GetCertificateIssuers)]),
        [w] if is(w, "restore") && method == "POST" => Ok(RestoreCertificate),
        [name] => pick(
            method,
            vec![
                (
                    "GET",
                    GetCertificate {
                        name: n(name),
                        version: None,
                    },
                ),
                (
                    "PATCH",
                    UpdateCertificate {
                        name: n(name),
                        version: None,
                    },
                ),
                ("DELETE", DeleteCertificate { name: n(name) }),
            ],
        ),
        [w, name] if is(w, "issuers") => pick(
            method,
            vec![
                ("GET", GetCertificateIssuer { name: n(name) }),
                ("PUT", SetCertificateIssuer { name: n(name) }),
                ("PATCH", UpdateCertificateIssuer { name: n(name) }),
                ("DELETE", DeleteCertificateIssuer { name: n(name) }),
            ],
        ),
        [name, w] if is(w, "create") => pick(method, vec![("POST", CreateCertificate { name: n(name) })]),
        [name, w] if is(w, "import") => pick(method, vec![("POST", ImportCertificate { name: n(name) })]),
        [name, w] if is(w, "backup") => pick(method, vec![("POST", BackupCertificate { name: n(name) })]),
        [name, w] if is(w, "versions") => pick(method, vec![("GET", GetCertificateVersions { name: n(name) })]),
        [name, w] if is(w, "policy") => pick(
            method,
            vec![
                ("GET", GetCertificatePolicy { name: n(name) }),
                ("PATCH", UpdateCertificatePolicy { name: n(name) }),
            ],
        ),
        [name, w] if is(w, "pending") => pick(
            method,
            vec![
                ("GET", GetCertificateOperation { name: n(name) }),
                ("PATCH", UpdateCertificateOperation { name: n(name) }),
                ("DELETE", DeleteCertificateOperation { name: n(name) }),
            ],
        ),
        [name, p, m] if is(p, "pending") && is(m, "merge") => {
            pick(method, vec![("POST", MergeCertificate { name: n(name) })])
        }
        [name, version] => pick(
            method,
            vec![
                (
                    "GET",
                    GetCertificate {
                        name: n(name),
                        version: version_of(version),
                    },
                ),
                (
                    "PATCH",
                    UpdateCertificate {
                        name: n(name),
                        version: version_of(version),
                    },
                ),
            ],
        ),
        _ => Err(RouteError::NotFound),
    }
}

fn deleted_certificates(method: &str, rest: &[String]) -> Route {
    use Endpoint::*;
    match rest {
        [] => pick(method, vec![("GET", GetDeletedCertificates)]),
        [name] => pick(
            method,
            vec![
                ("GET", GetDeletedCertificate { name: name.clone() }),
                ("DELETE", PurgeDeletedCertificate { name: name.clone() }),
            ],
        ),
        [name, w] if is(w, "recover") => pick(method, vec![("POST", RecoverDeletedCertificate { name: name.clone() })]),
        _ => Err(RouteError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(path: &str) -> Vec<String> {
        let mut s: Vec<String> = path.split('/').skip(1).map(str::to_string).collect();
        while s.last().is_some_and(|x| x.is_empty()) {
            s.pop();
        }
        s
    }

    /// Every operation of the bundled 2025-07-01 spec routes to the endpoint of its operationId and plane, with a
    /// version, and (where the path has a version) with an empty version too.
    #[test]
    fn every_spec_operation_routes() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/specs/azure-keyvault/operations-2025-07-01.json"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            // The spec sits beside the project (../shared); CI always has it. Say so loudly elsewhere.
            eprintln!("SKIPPED: {path} is not present");
            return;
        };
        let spec: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for (plane_name, plane) in [
            ("secrets", Plane::Secrets),
            ("keys", Plane::Keys),
            ("certificates", Plane::Certificates),
        ] {
            for op in spec[plane_name].as_array().unwrap() {
                let method = op["method"].as_str().unwrap();
                let template = op["path"].as_str().unwrap();
                let id = op["operationId"].as_str().unwrap();
                let concrete = template
                    .split('/')
                    .map(|s| match s {
                        s if s.starts_with('{') && s.contains("name") => "my-object".to_string(),
                        s if s.starts_with('{') => "0123456789abcdef0123456789abcdef".to_string(),
                        s => s.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("/");
                let endpoint = Endpoint::parse(method, &segments(&concrete))
                    .unwrap_or_else(|e| panic!("{method} {concrete} ({id}) does not route: {e:?}"));
                assert_eq!(endpoint.operation_id(), id, "{method} {concrete}");
                assert_eq!(endpoint.plane(), plane, "{id}");
                if template.contains("-version}") {
                    let empty = concrete.replace("0123456789abcdef0123456789abcdef", "");
                    let latest = Endpoint::parse(method, &segments(&empty))
                        .unwrap_or_else(|e| panic!("{method} {empty} ({id}) does not route: {e:?}"));
                    assert_eq!(latest.operation_id(), id, "{method} {empty}");
                }
                assert!(seen.insert(id.to_string()), "{id} twice in the spec");
            }
        }
        assert_eq!(seen.len(), 64, "the 2025-07-01 data plane has 64 operations");
    }

    #[test]
    fn reserved_words_and_methods() {
        let p = |m: &str, path: &str| Endpoint::parse(m, &segments(path));
        assert_eq!(
            p("GET", "/secrets/backup"),
            Ok(Endpoint::GetSecret {
                name: "backup".into(),
                version: None
            })
        );
        assert_eq!(p("GET", "/secrets/s/backup"), Err(RouteError::MethodNotAllowed));
        assert_eq!(
            p("PUT", "/keys/restore"),
            Ok(Endpoint::ImportKey { name: "restore".into() })
        );
        assert_eq!(p("POST", "/keys/restore"), Ok(Endpoint::RestoreKey));
        assert_eq!(
            p("POST", "/keys/k//sign"),
            Ok(Endpoint::KeyOperation {
                name: "k".into(),
                version: None,
                op: KeyOperation::Sign
            })
        );
        assert_eq!(p("GET", "/keys/k/v/sign"), Err(RouteError::MethodNotAllowed));
        assert_eq!(p("POST", "/keys/k/v/frobnicate"), Err(RouteError::NotFound));
        assert_eq!(p("GET", "/nothing"), Err(RouteError::NotFound));
        assert_eq!(
            p("GET", "/keys/k/"),
            Ok(Endpoint::GetKey {
                name: "k".into(),
                version: None
            })
        );
    }
}
