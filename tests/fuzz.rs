//! The bounded fuzz run every CI does, on stable Rust: each target of `trent::fuzzing` gets its seed inputs and
//! then seeded random mutations of them (bit flips, byte changes, insertions of JSON tokens, deletions,
//! duplications, splices of two seeds, truncations) for `TRENT_FUZZ_SECONDS` seconds (default 2). An input that
//! panics fails the test and is written to `target/fuzz-failures/`. The coverage-guided run is `cargo +nightly fuzz
//! run <target>` in `fuzz/` (see its README).
//!
//! `TRENT_FUZZ_SEED` picks the mutation sequence (default: the day, printed, so a failure can be replayed).

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const TOKENS: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"null",
    b"true",
    b"-1",
    b"0",
    b"1e309",
    b"18446744073709551616",
    b"\\u0000",
    b"\\ud800",
    b"\"\"",
    b"{}",
    b"[]",
    b"\n--\n",
    b"%00",
    b"/",
    b"..",
    b"?",
    b"&",
    b"=",
    b"$skiptoken=",
    b"api-version=2025-07-01",
    b"alias/",
    b"arn:aws:kms:us-east-1:000000000000:key/",
    b"\xff\xfe",
    b"\t",
];

fn mutate(rng: &mut StdRng, input: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.gen_range(1..=4) {
        let at = if out.is_empty() { 0 } else { rng.gen_range(0..out.len()) };
        match rng.gen_range(0..8) {
            0 if !out.is_empty() => out[at] ^= 1 << rng.gen_range(0..8),
            1 if !out.is_empty() => out[at] = rng.gen(),
            2 => {
                let token = TOKENS[rng.gen_range(0..TOKENS.len())];
                out.splice(at..at, token.iter().copied());
            }
            3 if !out.is_empty() => {
                let end = (at + rng.gen_range(1..=16)).min(out.len());
                out.drain(at..end);
            }
            4 if !out.is_empty() => {
                let end = (at + rng.gen_range(1..=64)).min(out.len());
                let copy = out[at..end].to_vec();
                let to = rng.gen_range(0..=out.len());
                out.splice(to..to, copy);
            }
            5 => {
                let other = &seeds[rng.gen_range(0..seeds.len())];
                let from = rng.gen_range(0..=other.len());
                out.truncate(at);
                out.extend_from_slice(&other[from..]);
            }
            6 => out.truncate(at),
            _ => {
                let digits = rng.gen_range(1..=20).to_string();
                out.splice(at..at, digits.into_bytes());
            }
        }
    }
    out.truncate(64 << 10);
    out
}

fn run(name: &str) {
    let target = trent::fuzzing::TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .expect("a target");
    let seconds: u64 = std::env::var("TRENT_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let seed: u64 = std::env::var("TRENT_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() / 86_400)
                .unwrap_or(0)
        });
    let seeds = trent::fuzzing::seeds(name);
    assert!(!seeds.is_empty());
    let mut rng = StdRng::seed_from_u64(
        seed ^ name
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b.into())),
    );
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut runs = 0u64;
    let mut inputs: Vec<Vec<u8>> = seeds.clone();
    loop {
        let input = if runs < seeds.len() as u64 {
            seeds[runs as usize].clone()
        } else {
            let base = &inputs[rng.gen_range(0..inputs.len())];
            mutate(&mut rng, base, &seeds)
        };
        if std::panic::catch_unwind(|| target(&input)).is_err() {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
            let _ = std::fs::create_dir_all(&dir);
            let file = dir.join(format!("{name}-{seed}-{runs}"));
            let _ = std::fs::write(&file, &input);
            panic!(
                "fuzz target {name} panicked on input #{runs} (TRENT_FUZZ_SEED={seed}), saved to {}: {:?}",
                file.display(),
                String::from_utf8_lossy(&input[..input.len().min(2048)])
            );
        }
        // Mutations of mutations go deeper; keep a bounded pool.
        if inputs.len() < 256 {
            inputs.push(input);
        } else {
            let slot = rng.gen_range(seeds.len()..inputs.len());
            inputs[slot] = input;
        }
        runs += 1;
        if Instant::now() >= deadline && runs >= seeds.len() as u64 {
            break;
        }
    }
    eprintln!("fuzz {name}: {runs} inputs in {seconds} s, TRENT_FUZZ_SEED={seed}");
}

#[test]
fn aws_json() {
    run("aws_json");
}

#[test]
fn keyvault_rest() {
    run("keyvault_rest");
}

#[test]
fn ciphertext_envelope() {
    run("ciphertext_envelope");
}

#[test]
fn backup_blob() {
    run("backup_blob");
}

#[test]
fn skiptoken() {
    run("skiptoken");
}

#[test]
fn init_file() {
    run("init_file");
}

#[test]
fn storage_records() {
    run("storage_records");
}

#[test]
fn every_target_has_a_test_here() {
    let source = include_str!("fuzz.rs");
    for (name, _) in trent::fuzzing::TARGETS {
        assert!(
            source.contains(&format!("run(\"{name}\")")),
            "{name} has no bounded run"
        );
    }
}
