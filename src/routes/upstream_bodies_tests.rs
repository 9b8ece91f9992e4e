//! The upstream bodies the gateway builds from every recorded Claude Code request
//! (`tests/fixtures/claude-code/<version>/*.json`, the requests `tests/api/claude_code_replay.rs`
//! replays), pinned byte for byte: a refactor of either upstream path must not change what Bedrock
//! receives, which prompt caching and thinking-block signatures depend on.
//!
//! Pure: the same steps as the handlers (parse, resolve the model in the embedded catalog, plan
//! and apply its rules, build the body) with the settings the gateway runs with by default, and no
//! network. For `/v1/messages` the InvokeModel body and the Converse body; for
//! `/v1/messages/count_tokens` CountTokens' `invokeModel` and `converse` inputs and the
//! bedrock-mantle body. The snapshot holds one SHA-256 per body, so it stays small.
//!
//! When a change to a body is intended: `INSTA_UPDATE=always cargo test --lib upstream_bodies`
//! rewrites the snapshot (or `cargo insta review`). To see what changed, set
//! `CHATRIX_DUMP_UPSTREAM_BODIES=<dir>` before and after and diff the two directories.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::mantle_body::{mantle_body, MantleBodyOptions};
use super::messages::{apply_model_rules, read_whole};
use crate::anthropic::request::{Kind, RequestBody};
use crate::config::Config;
use crate::convert::request::{to_converse, to_count_tokens, ConvertOptions};
use crate::models::Catalog;
use crate::native::count::count_tokens_input;
use crate::native::request::{to_invoke, NativeOptions, Purpose};

/// The releases the replay test pins.
const VERSIONS: [&str; 2] = ["2.1.197", "2.1.332"];

fn fixtures(version: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/claude-code")
        .join(version);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// One recorded request: its route (without the query) and its body as the replay sends it.
struct Recorded {
    route: String,
    body: Vec<u8>,
    betas: Vec<String>,
}

fn recorded(path: &Path) -> Option<Recorded> {
    let text = std::fs::read_to_string(path).expect("fixture reads");
    let fixture: Value = serde_json::from_str(&text).expect("fixture is JSON");
    if fixture["method"] != "POST" || fixture["body"].is_null() {
        return None;
    }
    let route = fixture["path"].as_str()?.split('?').next()?.to_owned();
    let betas = fixture["headers"]["anthropic-beta"]
        .as_str()
        .map(|b| vec![b.to_owned()])
        .unwrap_or_default();
    Some(Recorded {
        route,
        body: serde_json::to_vec(&fixture["body"]).expect("body serializes"),
        betas,
    })
}

/// The upstream bodies built from `rec`, named by what receives them.
fn upstream_bodies(
    rec: &Recorded,
    cfg: &Config,
    catalog: &Catalog,
) -> Vec<(&'static str, Vec<u8>)> {
    let count = rec.route == "/v1/messages/count_tokens";
    let mut request = match count {
        true => RequestBody::split(&rec.body, Kind::CountTokens).and_then(|b| read_whole(&b)),
        false => RequestBody::split(&rec.body, Kind::Messages).and_then(|b| read_whole(&b)),
    }
    .expect("the recorded request parses");
    let model = catalog
        .resolve(&request.model, cfg.inference_profile)
        .expect("the recorded model resolves");
    let cap = (!count).then_some(cfg.max_output_tokens).flatten();
    let changes =
        apply_model_rules(&model, &mut request, &rec.betas, cap).expect("the rules accept it");
    let native = NativeOptions {
        model: &model,
        betas: &rec.betas,
        changes: &changes,
        strip_billing_header: cfg.strip_billing_header,
        system_turns: request.has_system_turns(),
        purpose: Purpose::Invoke,
    };
    let convert = ConvertOptions {
        model: &model,
        betas: &rec.betas,
        strip_billing_header: cfg.strip_billing_header,
    };
    if !count {
        let invoke = to_invoke(&rec.body, &native).expect("InvokeModel body");
        let converse = to_converse(&request, &convert).expect("Converse body");
        let converse = serde_json::to_vec(&converse.body).expect("serializes");
        return vec![("invoke", invoke.bytes), ("converse", converse)];
    }
    let invoke = count_tokens_input(&rec.body, &native).expect("CountTokens invokeModel input");
    let converse = to_count_tokens(&request, &convert).expect("CountTokens converse input");
    let converse = serde_json::to_vec(&converse).expect("serializes");
    let base_id = model.base_model_id.as_deref().expect("a bare Bedrock id");
    let mantle_opts = MantleBodyOptions {
        base_id,
        strip_billing_header: cfg.strip_billing_header,
    };
    let mantle = mantle_body(&rec.body, &mantle_opts).expect("mantle body");
    vec![
        ("count-invoke", invoke.to_vec()),
        ("count-converse", converse),
        ("count-mantle", mantle.to_vec()),
    ]
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn recorded_claude_code_requests_reach_bedrock_as_byte_identical_bodies() {
    let cfg = Config::from_vars(&HashMap::new(), false).expect("default settings");
    let catalog = Catalog::embedded().expect("embedded catalog");
    let dump = std::env::var_os("CHATRIX_DUMP_UPSTREAM_BODIES").map(PathBuf::from);
    let mut lines = Vec::new();
    for version in VERSIONS {
        for path in fixtures(version) {
            let Some(rec) = recorded(&path) else { continue };
            let file = path.file_name().unwrap_or_default().to_string_lossy();
            let name = format!("{version}/{file}");
            for (kind, body) in upstream_bodies(&rec, &cfg, &catalog) {
                if let Some(dir) = &dump {
                    let out = dir.join(version).join(format!("{file}.{kind}"));
                    std::fs::create_dir_all(out.parent().expect("parent")).expect("mkdir");
                    std::fs::write(&out, &body).expect("dump written");
                }
                lines.push(format!("{name} {kind} {}", sha256(&body)));
            }
        }
    }
    assert!(lines.len() >= 100, "only {} bodies built", lines.len());
    insta::assert_snapshot!(lines.join("\n"));
}
