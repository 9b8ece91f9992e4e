//! No source file over [`MAX_LINES`] lines, unless it says why (issue 15).
//!
//! What counts: every `.rs` file under the gateway's `src/` and each workspace crate's
//! `crates/*/src/`, unit-test files (`*_tests.rs`, `tests.rs`) included; lines as `str::lines`
//! counts them, comments and blank lines included, because that is what a reader scrolls
//! through. Integration tests (`tests/`), benches and build output are not counted.
//!
//! Why ~400: the style anchors (`mini-redis`, `zero-to-production`) keep files at or under about
//! that, which is one module's worth of one concern that a reader can hold at once; past it a file
//! has usually grown a second concern that wants its own module and `//!` docs.
//!
//! A file may be longer when splitting it would only scatter what belongs together (one test
//! module of related cases, a table): it then says so in a comment among its first
//! [`MARKER_WITHIN`] lines, `// size: <why>`, and the reason must not be empty.
//!
//! Function length is clippy's part: `too_many_lines` with `too-many-lines-threshold = 60`
//! (Cargo.toml, clippy.toml).

#![expect(
    clippy::expect_used,
    reason = "an unreadable source tree fails the test by panicking"
)]

use std::fs;
use std::path::{Path, PathBuf};

/// The most lines a source file may have without a `// size:` reason.
const MAX_LINES: usize = 400;

/// How far from the top the `// size:` comment may stand (after the `//!` docs begin).
const MARKER_WITHIN: usize = 15;

const MARKER: &str = "// size:";

/// Files over the limit that are being changed on other branches while this check lands; the lead
/// splits them after merging and then deletes their entries. An entry that is no longer over the
/// limit fails the test, so the list cannot go stale.
const PENDING: &[&str] = &[];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every counted file, as a path relative to the workspace root.
fn counted_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let crates = fs::read_dir(root.join("crates")).expect("crates/ is readable");
    for krate in crates.flatten() {
        rust_files(&krate.path().join("src"), &mut files);
    }
    files.sort();
    files
        .into_iter()
        .map(|p| p.strip_prefix(root).expect("under the root").to_path_buf())
        .collect()
}

/// The reason given by a `// size:` comment near the top, if there is one with a reason.
fn size_reason(text: &str) -> Option<&str> {
    text.lines()
        .take(MARKER_WITHIN)
        .filter_map(|l| l.trim_start().strip_prefix(MARKER))
        .map(str::trim)
        .find(|reason| !reason.is_empty())
}

fn relative(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

#[test]
fn no_source_file_is_over_400_lines_without_a_reason() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = counted_files(root);
    assert!(
        files.iter().any(|f| relative(f) == "src/lib.rs"),
        "the walk found the gateway's sources"
    );
    let mut over = Vec::new();
    let mut stale = Vec::new();
    for file in &files {
        let text = fs::read_to_string(root.join(file)).expect("source is UTF-8");
        let lines = text.lines().count();
        let name = relative(file);
        let pending = PENDING.contains(&name.as_str());
        let too_long = lines > MAX_LINES && size_reason(&text).is_none();
        if too_long && !pending {
            over.push(format!("{name}: {lines} lines"));
        } else if pending && !too_long {
            stale.push(name);
        }
    }
    assert!(
        over.is_empty(),
        "files over {MAX_LINES} lines; split them along a seam, or give the reason in a \
         `{MARKER} <why>` comment within the first {MARKER_WITHIN} lines:\n{}",
        over.join("\n")
    );
    assert!(
        stale.is_empty(),
        "remove these from `PENDING`, they are within the limit now: {stale:?}"
    );
}

#[test]
fn a_size_marker_needs_a_reason_near_the_top() {
    assert_eq!(
        size_reason("//! Docs.\n// size: one table of cases\n"),
        Some("one table of cases")
    );
    assert_eq!(size_reason("//! Docs.\n// size:\n"), None);
    let late = format!("{}// size: too late\n", "\n".repeat(MARKER_WITHIN));
    assert_eq!(size_reason(&late), None);
}
