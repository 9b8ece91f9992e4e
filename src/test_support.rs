//! Shared by the unit tests: the property tests' case count, which `CHATRIX_FUZZ_CASES` raises for
//! the long runs in tests/fuzz (the suite itself runs each property a few hundred times), and a
//! JSON object's keys in order.

use proptest::test_runner::Config;
use serde_json::Value;

/// The keys of `value`, a JSON object, in its order.
pub(crate) fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect()
}

pub(crate) fn fuzz_config(default: u32) -> Config {
    let cases = std::env::var("CHATRIX_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    Config {
        cases,
        ..Config::default()
    }
}
