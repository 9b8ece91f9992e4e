//! Shared by the unit tests: the property tests' case count, which `CHATRIX_FUZZ_CASES` raises for
//! the long runs in tests/fuzz (the suite itself runs each property a few hundred times).

use proptest::test_runner::Config;

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
