//! The README's KMS coverage table must say exactly what works: every operation of the model has a row, and a
//! row says "✅" exactly when the operation has a handler in the dispatch table of `src/kms/mod.rs` (every other
//! operation answers UnsupportedOperationException, which tests/aws_protocol.rs and tests/kms.rs check).

use std::collections::BTreeMap;

const README: &str = include_str!("../README.md");
const DISPATCH: &str = include_str!("../src/kms/mod.rs");

/// `| `Op` | status | notes |` rows of the README's "AWS KMS coverage" section.
fn readme_rows() -> BTreeMap<String, String> {
    let section = README
        .split("## AWS KMS coverage")
        .nth(1)
        .expect("README has an AWS KMS coverage section");
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let op = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((op.to_string(), cells.get(2)?.to_string()))
        })
        .collect()
}

#[test]
fn readme_coverage_table_matches_the_dispatch_table() {
    let rows = readme_rows();
    let model = trent::aws::model::kms();
    for op in model.operations.keys() {
        let status = rows
            .get(op)
            .unwrap_or_else(|| panic!("README coverage table has no row for {op}"));
        let handled = DISPATCH.contains(&format!("\"{op}\" =>"));
        assert_eq!(
            status.starts_with('✅'),
            handled,
            "README says {status:?} for {op}, dispatch handles it: {handled}"
        );
    }
    for op in rows.keys() {
        assert!(
            model.operations.contains_key(op),
            "README lists {op}, which is not in the model"
        );
    }
}

/// The README's Key Vault coverage table: one row per operation of the route table (64), each row's method and
/// path route to that operation, and every row "✅" (all three planes are served).
#[test]
fn readme_keyvault_table_matches_the_route_table() {
    use trent::keyvault::endpoint::Endpoint;
    let section = README
        .split("## Azure Key Vault coverage")
        .nth(1)
        .expect("README has an Azure Key Vault coverage section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut seen = std::collections::BTreeSet::new();
    for line in section.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Some(op) = cells
            .get(1)
            .and_then(|c| c.strip_prefix('`'))
            .and_then(|c| c.strip_suffix('`'))
        else {
            continue;
        };
        let route = cells[3].trim_matches('`');
        let (method, path) = route.split_once(' ').expect("method and path");
        let segments: Vec<String> = path
            .split('/')
            .skip(1)
            .map(|s| match s {
                s if s.starts_with('{') && s.contains("name") => "x".to_string(),
                s if s.starts_with('{') => "0123456789abcdef0123456789abcdef".to_string(),
                s => s.to_string(),
            })
            .collect();
        let endpoint = Endpoint::parse(method, &segments).unwrap_or_else(|e| panic!("{route}: {e:?}"));
        assert_eq!(endpoint.operation_id(), op, "{route}");
        assert!(cells[4].starts_with('✅'), "{op}: {}", cells[4]);
        assert!(seen.insert(op.to_string()), "{op} twice");
    }
    assert_eq!(seen.len(), 64);
}
