//! The container image is built without the Bedrock emulator (issue 15): the Dockerfile's build
//! disables default features, and the crate graph of exactly what its build stage copies holds
//! neither the `bedrock-emulator` crate nor the gateway's former direct `rand` dependency.
//!
//! CI has no Docker engine, so the build stage's inputs are rebuilt here: the files its `COPY`
//! lines name are copied into a scratch directory and `cargo tree` (offline, `--locked`) resolves
//! them with the Dockerfile's flags. That also proves the context is complete enough for Cargo to
//! load the workspace (every member's manifest is needed, even one that is not compiled).

#![expect(
    clippy::expect_used,
    reason = "a test that cannot read its inputs should fail loudly"
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(name: &str) -> String {
    fs::read_to_string(Path::new(ROOT).join(name)).expect(name)
}

/// The build stage's `COPY <sources…> <dest>` lines (those without `--from`), as (sources, dest).
fn build_copies(dockerfile: &str) -> Vec<(Vec<String>, String)> {
    dockerfile
        .lines()
        .skip_while(|line| !(line.starts_with("FROM ") && line.ends_with(" AS build")))
        .skip(1)
        .take_while(|line| !line.starts_with("FROM "))
        .filter_map(|line| line.strip_prefix("COPY "))
        .filter(|args| !args.starts_with("--"))
        .map(|args| {
            let mut words: Vec<String> = args.split_whitespace().map(str::to_owned).collect();
            let dest = words.pop().expect("a destination");
            (words, dest)
        })
        .collect()
}

/// The build stage's `cargo build` command line.
fn cargo_build_line(dockerfile: &str) -> String {
    dockerfile
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .find(|line| line.contains("cargo build"))
        .expect("the Dockerfile builds with cargo")
        .to_owned()
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        fs::create_dir_all(to).expect("scratch directory");
        for entry in fs::read_dir(from).expect("readable source directory") {
            let entry = entry.expect("directory entry");
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        fs::copy(from, to).expect("copied file");
    }
}

/// A scratch directory, removed when dropped (also when an assertion fails).
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The build stage's inputs, copied as the Dockerfile copies them: into a destination ending in
/// `/` under their own names, else as the destination (a directory's contents into it).
fn build_context(dockerfile: &str) -> Scratch {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    let scratch =
        std::env::temp_dir().join(format!("chatrix-image-{}-{nanos}", std::process::id()));
    let guard = Scratch(scratch.clone());
    for (sources, dest) in build_copies(dockerfile) {
        for source in sources {
            let to = match dest.strip_suffix('/') {
                Some(dir) => scratch.join(dir).join(&source),
                None => scratch.join(&dest),
            };
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent).expect("scratch directory");
            }
            copy_tree(&Path::new(ROOT).join(&source), &to);
        }
    }
    guard
}

fn cargo_tree(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO"))
        .current_dir(dir)
        .args([
            "tree",
            "--offline",
            "--locked",
            "-p",
            "chatrix",
            "-e",
            "normal",
        ])
        .args(["--prefix", "none", "--format", "{p}"])
        .args(args)
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "cargo tree {args:?} failed:\n{stderr}"
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// Package names in `cargo tree` output (`rand v0.9.5 (…)` → `rand`).
fn names(tree: &str) -> Vec<&str> {
    tree.lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect()
}

#[test]
fn the_image_builds_only_the_gateway_binary_without_default_features() {
    let line = cargo_build_line(&read("Dockerfile"));
    assert!(line.contains("--no-default-features"), "{line}");
    assert!(line.contains("--bin chatrix"), "{line}");
    assert!(
        !line.contains("--features")
            && !line.contains("--all-features")
            && !line.split_whitespace().any(|word| word.starts_with("-F")),
        "{line}"
    );
}

#[test]
fn everything_the_build_stage_copies_is_in_the_docker_context() {
    let dockerignore = read(".dockerignore");
    let allowed: Vec<&str> = dockerignore
        .lines()
        .filter_map(|line| line.strip_prefix('!'))
        .map(|path| path.trim_end_matches('/'))
        .collect();
    let copies = build_copies(&read("Dockerfile"));
    assert!(!copies.is_empty());
    for source in copies.iter().flat_map(|(sources, _)| sources) {
        assert!(
            allowed.contains(&source.as_str()),
            "{source} is not in .dockerignore's allow-list"
        );
    }
}

#[test]
fn the_image_build_links_neither_the_emulator_nor_rand() {
    let dockerfile = read("Dockerfile");
    let context = build_context(&dockerfile);
    let image = cargo_tree(&context.0, &["--no-default-features"]);
    let direct = cargo_tree(&context.0, &["--no-default-features", "--depth", "1"]);
    let default = cargo_tree(&context.0, &[]);

    assert!(names(&image).contains(&"aws-sdk-bedrockruntime"), "{image}");
    assert!(!names(&image).contains(&"bedrock-emulator"), "{image}");
    // `rand` may still come in through other crates (uuid's fast-rng); what moved is the
    // gateway's own dependency, which only the emulator used.
    let direct = names(&direct);
    assert!(direct.contains(&"bedrock-eventstream"), "{direct:?}");
    assert!(!direct.contains(&"rand"), "{direct:?}");
    assert!(!direct.contains(&"aws-smithy-eventstream"), "{direct:?}");
    // The check can fail: the default build (demo mode) does link the emulator.
    assert!(names(&default).contains(&"bedrock-emulator"), "{default}");
}
