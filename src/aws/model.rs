//! The AWS service model (botocore's `service-2.json`, documentation stripped, in `specs/`), read once and used
//! to validate every request the way AWS's front end does: required members, types, lengths, ranges, patterns
//! and enum values, with AWS's own wording ("1 validation error detected: Value null at 'keyId' failed to
//! satisfy constraint: Member must not be null"). Member names, limits and error names therefore match AWS by
//! construction, and refreshing the model refreshes the validation.

use std::collections::HashMap;
use std::sync::OnceLock;

use base64::Engine;
use regex::Regex;
use serde_json::Value;

use super::AwsError;

/// One operation of the model.
#[derive(Debug)]
pub struct Operation {
    pub name: String,
    pub input: Option<String>,
    pub output: Option<String>,
    /// Error shape names the operation may return.
    pub errors: Vec<String>,
}

/// A member of a structure: its wire name and target shape.
#[derive(Debug)]
pub struct Member {
    pub name: String,
    pub shape: String,
}

/// The constraint-bearing part of a shape.
#[derive(Debug)]
pub enum Shape {
    Structure {
        members: Vec<Member>,
        required: Vec<String>,
    },
    String {
        min: Option<i64>,
        max: Option<i64>,
        pattern: Option<(String, Regex)>,
        values: Option<Vec<String>>,
        sensitive: bool,
    },
    Blob {
        min: Option<i64>,
        max: Option<i64>,
    },
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Boolean,
    Timestamp,
    List {
        member: String,
        min: Option<i64>,
        max: Option<i64>,
    },
    Map {
        key: String,
        value: String,
        min: Option<i64>,
        max: Option<i64>,
    },
}

/// A parsed service model.
#[derive(Debug)]
pub struct Model {
    pub target_prefix: String,
    pub operations: HashMap<String, Operation>,
    pub shapes: HashMap<String, Shape>,
}

static KMS: OnceLock<Model> = OnceLock::new();

/// The AWS KMS model (`TrentService`), parsed on first use.
pub fn kms() -> &'static Model {
    KMS.get_or_init(|| {
        Model::parse(include_str!("../../specs/kms/service-2.json")).expect("the bundled KMS model is valid")
    })
}

fn int(v: &Value, k: &str) -> Option<i64> {
    v.get(k).and_then(Value::as_i64)
}

impl Model {
    /// Parses a botocore `service-2.json` document.
    pub fn parse(text: &str) -> Result<Model, String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let target_prefix = doc["metadata"]["targetPrefix"].as_str().unwrap_or_default().to_string();
        let mut operations = HashMap::new();
        for (name, op) in doc["operations"].as_object().ok_or("no operations")? {
            let shape_of = |k: &str| op.get(k).and_then(|s| s["shape"].as_str()).map(str::to_string);
            let errors = op["errors"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e["shape"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            operations.insert(
                name.clone(),
                Operation {
                    name: name.clone(),
                    input: shape_of("input"),
                    output: shape_of("output"),
                    errors,
                },
            );
        }
        let mut shapes = HashMap::new();
        for (name, s) in doc["shapes"].as_object().ok_or("no shapes")? {
            let (min, max) = (int(s, "min"), int(s, "max"));
            let shape = match s["type"].as_str().unwrap_or_default() {
                "structure" => Shape::Structure {
                    members: s["members"]
                        .as_object()
                        .map(|m| {
                            m.iter()
                                .map(|(k, v)| Member {
                                    name: k.clone(),
                                    shape: v["shape"].as_str().unwrap_or_default().to_string(),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    required: s["required"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|r| r.as_str().map(str::to_string)).collect())
                        .unwrap_or_default(),
                },
                "string" => Shape::String {
                    min,
                    max,
                    pattern: s["pattern"].as_str().map(|p| {
                        // AWS matches the whole value (Java's `matches`), and `\w` there is ASCII-only.
                        let anchored = format!("^(?:{})$", p.replace("-_", "\\-_"));
                        let re = Regex::new(&format!("(?-u:{anchored})"))
                            .or_else(|_| Regex::new(&anchored))
                            .unwrap_or_else(|e| panic!("pattern {p} of {name}: {e}"));
                        (p.to_string(), re)
                    }),
                    values: s["enum"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|r| r.as_str().map(str::to_string)).collect()),
                    sensitive: s["sensitive"].as_bool().unwrap_or(false),
                },
                "blob" => Shape::Blob { min, max },
                "integer" | "long" => Shape::Integer { min, max },
                "boolean" => Shape::Boolean,
                "timestamp" => Shape::Timestamp,
                "list" => Shape::List {
                    member: s["member"]["shape"].as_str().unwrap_or_default().to_string(),
                    min,
                    max,
                },
                "map" => Shape::Map {
                    key: s["key"]["shape"].as_str().unwrap_or_default().to_string(),
                    value: s["value"]["shape"].as_str().unwrap_or_default().to_string(),
                    min,
                    max,
                },
                other => return Err(format!("shape {name} has unknown type {other}")),
            };
            shapes.insert(name.clone(), shape);
        }
        Ok(Model {
            target_prefix,
            operations,
            shapes,
        })
    }

    /// Checks `input` against the input shape of `operation`. Type mismatches are a SerializationException;
    /// constraint violations are collected into one ValidationException worded as AWS words it.
    pub fn validate_input(&self, operation: &str, input: &Value) -> Result<(), AwsError> {
        let Some(op) = self.operations.get(operation) else {
            return Err(AwsError::unknown_operation());
        };
        let Some(shape) = op.input.as_deref() else {
            return Ok(());
        };
        let mut errors = Vec::new();
        self.check(shape, input, "", &mut errors)?;
        if errors.is_empty() {
            return Ok(());
        }
        let n = errors.len();
        let plural = if n == 1 { "error" } else { "errors" };
        Err(AwsError::validation(format!(
            "{n} validation {plural} detected: {}",
            errors.join("; ")
        )))
    }

    fn check(&self, shape_name: &str, value: &Value, path: &str, errors: &mut Vec<String>) -> Result<(), AwsError> {
        let Some(shape) = self.shapes.get(shape_name) else {
            return Ok(());
        };
        if value.is_null() {
            return Ok(());
        }
        let at = |constraint: &str, shown: Option<String>| match shown {
            Some(v) => format!("Value '{v}' at '{path}' failed to satisfy constraint: Member must {constraint}"),
            None => {
                format!("Value at '{path}' failed to satisfy constraint: Member must {constraint}")
            }
        };
        match shape {
            Shape::Structure { members, required } => {
                let Some(obj) = value.as_object() else {
                    return Err(type_error(path, "a structure"));
                };
                for m in members {
                    let child = child_path(path, &m.name);
                    match obj.get(&m.name) {
                        None | Some(Value::Null) if required.contains(&m.name) => errors.push(format!(
                            "Value null at '{child}' failed to satisfy constraint: Member must not be null"
                        )),
                        Some(v) => self.check(&m.shape, v, &child, errors)?,
                        None => {}
                    }
                }
            }
            Shape::String {
                min,
                max,
                pattern,
                values,
                sensitive,
            } => {
                let Some(s) = value.as_str() else {
                    return Err(type_error(path, "a string"));
                };
                let len = s.chars().count() as i64;
                let shown = (!sensitive).then(|| s.to_string());
                length_errors(len, *min, *max, |c| errors.push(at(c, shown.clone())));
                if let Some((source, re)) = pattern {
                    if !re.is_match(s) {
                        errors.push(at(
                            &format!("satisfy regular expression pattern: {source}"),
                            shown.clone(),
                        ));
                    }
                }
                if let Some(values) = values {
                    if !values.iter().any(|v| v == s) {
                        errors.push(at(
                            &format!("satisfy enum value set: [{}]", values.join(", ")),
                            shown.clone(),
                        ));
                    }
                }
            }
            Shape::Blob { min, max } => {
                let Some(s) = value.as_str() else {
                    return Err(type_error(path, "a base64-encoded blob"));
                };
                let len = base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(|_| AwsError::serialization(format!("Value for '{path}' is not valid base64")))?
                    .len() as i64;
                length_errors(len, *min, *max, |c| errors.push(at(c, None)));
            }
            Shape::Integer { min, max } => {
                let Some(n) = value.as_i64() else {
                    return Err(type_error(path, "an integer"));
                };
                if let Some(min) = min.filter(|m| n < *m) {
                    errors.push(at(
                        &format!("have value greater than or equal to {min}"),
                        Some(n.to_string()),
                    ));
                }
                if let Some(max) = max.filter(|m| n > *m) {
                    errors.push(at(
                        &format!("have value less than or equal to {max}"),
                        Some(n.to_string()),
                    ));
                }
            }
            Shape::Boolean => {
                if !value.is_boolean() {
                    return Err(type_error(path, "a boolean"));
                }
            }
            Shape::Timestamp => {
                if !value.is_number() {
                    return Err(type_error(path, "a timestamp (epoch seconds)"));
                }
            }
            Shape::List { member, min, max } => {
                let Some(items) = value.as_array() else {
                    return Err(type_error(path, "a list"));
                };
                let shown = Some(java_list(items));
                length_errors(items.len() as i64, *min, *max, |c| errors.push(at(c, shown.clone())));
                for (i, item) in items.iter().enumerate() {
                    self.check(member, item, &format!("{path}.{}.member", i + 1), errors)?;
                }
            }
            Shape::Map {
                key,
                value: value_shape,
                min,
                max,
            } => {
                let Some(entries) = value.as_object() else {
                    return Err(type_error(path, "a map"));
                };
                length_errors(entries.len() as i64, *min, *max, |c| errors.push(at(c, None)));
                for (k, v) in entries {
                    self.check(key, &Value::String(k.clone()), &format!("{path}.key"), errors)?;
                    self.check(value_shape, v, &format!("{path}.{k}.value"), errors)?;
                }
            }
        }
        Ok(())
    }
}

impl Model {
    /// Checks that `output` has only members (and enum values) that the output shape of `operation` declares,
    /// recursively: the guard that keeps hand-written responses true to the model.
    pub fn check_output(&self, operation: &str, output: &Value) -> Result<(), String> {
        match self.operations.get(operation).and_then(|o| o.output.as_deref()) {
            Some(shape) => self.check_declared(shape, output, operation),
            None => Ok(()),
        }
    }

    fn check_declared(&self, shape: &str, value: &Value, path: &str) -> Result<(), String> {
        match (self.shapes.get(shape), value) {
            (Some(Shape::Structure { members, .. }), Value::Object(obj)) => {
                for (name, child) in obj {
                    let member = members
                        .iter()
                        .find(|m| &m.name == name)
                        .ok_or_else(|| format!("{path}.{name} is not a member of {shape}"))?;
                    self.check_declared(&member.shape, child, &format!("{path}.{name}"))?;
                }
                Ok(())
            }
            (Some(Shape::Structure { .. }), other) => Err(format!("{path} should be a structure, is {other}")),
            (Some(Shape::List { member, .. }), Value::Array(items)) => items
                .iter()
                .try_for_each(|item| self.check_declared(member, item, &format!("{path}[]"))),
            (
                Some(Shape::String {
                    values: Some(values), ..
                }),
                Value::String(s),
            ) if !values.contains(s) => Err(format!("{path} = {s} is not in the enum {shape}")),
            _ => Ok(()),
        }
    }
}

fn length_errors(len: i64, min: Option<i64>, max: Option<i64>, mut push: impl FnMut(&str)) {
    if let Some(min) = min.filter(|m| len < *m) {
        push(&format!("have length greater than or equal to {min}"));
    }
    if let Some(max) = max.filter(|m| len > *m) {
        push(&format!("have length less than or equal to {max}"));
    }
}

/// AWS's message for a top-level member that must be present: what the front end answers for a member the model
/// leaves optional but the operation needs (Decrypt's `CiphertextBlob`).
pub fn missing_member_message(member: &str) -> String {
    format!(
        "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
        child_path("", member)
    )
}

/// AWS names members in validation messages in lowerCamelCase, nested with dots.
fn child_path(parent: &str, member: &str) -> String {
    let mut chars = member.chars();
    let camel: String = match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    };
    if parent.is_empty() {
        camel
    } else {
        format!("{parent}.{camel}")
    }
}

fn java_list(items: &[Value]) -> String {
    let parts: Vec<String> = items
        .iter()
        .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
        .collect();
    format!("[{}]", parts.join(", "))
}

fn type_error(path: &str, expected: &str) -> AwsError {
    let at = if path.is_empty() {
        "the request body".to_string()
    } else {
        format!("'{path}'")
    };
    AwsError::serialization(format!("Expected {expected} for {at}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_bundled_model_parses_and_has_every_operation() {
        let m = kms();
        assert_eq!(m.target_prefix, "TrentService");
        assert_eq!(m.operations.len(), 56);
        assert!(m.operations.contains_key("GenerateDataKey"));
    }

    #[test]
    fn missing_required_member_is_worded_as_aws_does() {
        let err = kms().validate_input("DescribeKey", &json!({})).unwrap_err();
        assert_eq!(err.code, "ValidationException");
        assert_eq!(
            err.message,
            "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"
        );
    }

    #[test]
    fn several_violations_are_counted_and_joined() {
        let err = kms()
            .validate_input(
                "GenerateDataKey",
                &json!({"KeyId": "", "NumberOfBytes": 2000, "KeySpec": "AES_512"}),
            )
            .unwrap_err();
        assert!(
            err.message.starts_with("3 validation errors detected: "),
            "{}",
            err.message
        );
        assert!(err.message.contains("Value '2000' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024"));
        assert!(err.message.contains("Value 'AES_512' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]"));
    }

    #[test]
    fn patterns_match_the_whole_value() {
        let err = kms()
            .validate_input(
                "CreateAlias",
                &json!({"AliasName": "alias/bad name", "TargetKeyId": "k"}),
            )
            .unwrap_err();
        assert!(err
            .message
            .contains("Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"));
        assert!(kms()
            .validate_input("CreateAlias", &json!({"AliasName": "alias/good", "TargetKeyId": "k"}))
            .is_ok());
    }

    #[test]
    fn sensitive_and_blob_values_are_not_echoed() {
        let big = base64::engine::general_purpose::STANDARD.encode(vec![0u8; 4097]);
        let err = kms()
            .validate_input("Encrypt", &json!({"KeyId": "k", "Plaintext": big}))
            .unwrap_err();
        assert!(err.message.contains(
            "Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096"
        ));
    }

    #[test]
    fn outputs_with_undeclared_members_or_enum_values_are_caught() {
        let m = kms();
        assert!(m
            .check_output(
                "DescribeKey",
                &json!({"KeyMetadata": {"KeyId": "k", "KeyState": "Enabled"}})
            )
            .is_ok());
        let err = m
            .check_output("DescribeKey", &json!({"KeyMetadata": {"Bogus": 1}}))
            .unwrap_err();
        assert_eq!(err, "DescribeKey.KeyMetadata.Bogus is not a member of KeyMetadata");
        let err = m
            .check_output("DescribeKey", &json!({"KeyMetadata": {"KeyState": "Sleeping"}}))
            .unwrap_err();
        assert!(err.contains("Sleeping is not in the enum"), "{err}");
        assert!(m
            .check_output("ListKeys", &json!({"Keys": [{"KeyId": "k", "Nope": true}]}))
            .is_err());
    }

    #[test]
    fn wrong_types_are_serialization_errors() {
        let err = kms()
            .validate_input("GenerateRandom", &json!({"NumberOfBytes": "ten"}))
            .unwrap_err();
        assert_eq!(err.code, "SerializationException");
        let err = kms()
            .validate_input("Encrypt", &json!({"KeyId": "k", "Plaintext": "***"}))
            .unwrap_err();
        assert_eq!(err.code, "SerializationException");
    }
}
