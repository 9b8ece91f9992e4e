//! The estimator against reference counts on the fixture corpus (`tests/fixtures/tokens`).
//!
//! `reference.json` holds counts by `@anthropic-ai/tokenizer` (regenerate with `reference.mjs`).
//! Text files are compared whole; `*.request.json` files by the text part of [`estimate`], which
//! covers exactly the pieces the reference script counts. The bounds are the ones
//! `docs/token-counting.md` states.

use std::path::PathBuf;

use serde_json::Value;

use super::{estimate, text_tokens};
use crate::anthropic::request::parse_count_tokens_request;

/// Largest error allowed on any one file.
const MAX_FILE_ERROR: f64 = 0.10;
/// Largest mean absolute error allowed over the corpus.
const MAX_MEAN_ERROR: f64 = 0.05;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tokens")
}

fn read(name: &str) -> String {
    let path = corpus_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `(file, reference, estimate)` for every file in the corpus.
fn measured() -> Vec<(String, u64, u64)> {
    let reference: Value = serde_json::from_str(&read("reference.json")).expect("reference.json");
    let files = reference["files"].as_object().expect("files");
    files
        .iter()
        .map(|(name, entry)| {
            let want = entry["tokens"].as_u64().expect("tokens");
            let text = read(name);
            let got = match entry["kind"].as_str() {
                Some("request") => {
                    let req = parse_count_tokens_request(text.as_bytes()).expect("request parses");
                    estimate(&req).text
                }
                _ => text_tokens(&text),
            };
            (name.clone(), want, got)
        })
        .collect()
}

#[test]
fn the_estimator_stays_within_the_documented_error_on_the_corpus() {
    let rows = measured();
    assert!(
        rows.len() >= 10,
        "the corpus shrank to {} files",
        rows.len()
    );
    let mut total_error = 0.0;
    for (name, want, got) in &rows {
        let error = (*got as f64 - *want as f64) / *want as f64;
        eprintln!(
            "{name:28} reference {want:5} estimate {got:5} error {:+6.1}%",
            error * 100.0
        );
        assert!(
            error.abs() <= MAX_FILE_ERROR,
            "{name}: estimate {got} vs reference {want} ({:+.1}%)",
            error * 100.0
        );
        total_error += error.abs();
    }
    let mean = total_error / rows.len() as f64;
    eprintln!("mean absolute error {:.1}%", mean * 100.0);
    assert!(mean <= MAX_MEAN_ERROR, "mean error {:.1}%", mean * 100.0);
}

#[test]
fn the_corpus_covers_the_kinds_of_text_the_docs_name() {
    let names: Vec<String> = measured().into_iter().map(|(n, _, _)| n).collect();
    for needed in [
        "prose_en.txt",
        "rust.rs.txt",
        "python.py.txt",
        "data.json",
        "claude_code.request.json",
        "zh.txt",
        "ja.txt",
        "ko.txt",
        "mixed.txt",
    ] {
        assert!(names.iter().any(|n| n == needed), "{needed} missing");
    }
}
