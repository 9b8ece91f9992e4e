//! Where the native path's CPU goes for one large body, step by step, in this process alone:
//! the top-level split, the typed head, the outline of `messages`, the rule planning, the
//! InvokeModel body, and SigV4's payload hash; and, for comparison, the whole-body typed parse the
//! Converse path pays instead of the head and outline.
//!
//!     cargo run --release --example native-cost -- BODY.json [ROUNDS]
//!
//! Prints the median µs of each step over ROUNDS (default 50). bench/run's 1 MB figure is the
//! whole request through the network; this splits its CPU part.

use std::io::Write;
use std::time::Instant;

use chatrix::anthropic::request::{parse_messages_request, Kind, RequestBody};
use chatrix::models::rules::{self, View};
use chatrix::models::{Catalog, InferenceProfile};
use chatrix::native::request::{invoke_body, NativeOptions, Purpose};
use sha2::Digest;

// The gateway's allocator (src/main.rs): with glibc's, each 1 MB buffer is a fresh mmap whose page
// faults would swamp the steps measured here.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn time<T>(samples: &mut Vec<f64>, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    samples.push(start.elapsed().as_secs_f64() * 1e6);
    out
}

/// Each step's samples, in µs.
#[derive(Default)]
struct Steps {
    read: Vec<f64>,
    whole: Vec<f64>,
    split: Vec<f64>,
    head: Vec<f64>,
    outline: Vec<f64>,
    plan: Vec<f64>,
    invoke: Vec<f64>,
    sha: Vec<f64>,
}

fn api(e: impl std::fmt::Debug) -> anyhow::Error {
    anyhow::anyhow!("{e:?}")
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: native-cost BODY.json [ROUNDS]"))?;
    let rounds: usize = args.next().map_or(Ok(50), |r| r.parse())?;
    let body = std::fs::read(path)?;
    let catalog = Catalog::embedded()?;
    let mut t = Steps::default();
    for _ in 0..rounds {
        let bytes = time(&mut t.read, || {
            let mut v = Vec::with_capacity(body.len());
            v.extend_from_slice(&body);
            v
        });
        let split =
            time(&mut t.split, || RequestBody::split(&bytes, Kind::Messages)).map_err(api)?;
        let head = time(&mut t.head, || split.head()).map_err(api)?;
        let outline = time(&mut t.outline, || split.outline()).map_err(api)?;
        let model = catalog
            .resolve(&head.model, InferenceProfile::Global)
            .map_err(api)?;
        let view = View {
            ends_with_assistant: outline.ends_with_assistant,
            ..View::of(&head)
        };
        let changes = time(&mut t.plan, || rules::plan(&model.rules, &view, &[])).map_err(api)?;
        let opts = NativeOptions {
            model: &model,
            betas: &[],
            changes: &changes,
            strip_billing_header: true,
            system_turns: outline.system_turns,
            purpose: Purpose::Invoke,
        };
        let out = time(&mut t.invoke, || invoke_body(split.fields(), &opts)).map_err(api)?;
        // SigV4 hashes the payload it signs (aws-sigv4, `CanonicalRequest::from`).
        time(&mut t.sha, || sha2::Sha256::digest(&out.bytes).len());
        drop((out, split));
        let whole = time(&mut t.whole, || parse_messages_request(&bytes)).map_err(api)?;
        drop(whole);
    }
    let mut out = std::io::stdout();
    let steps = [
        ("copy body", t.read),
        ("split", t.split),
        ("head", t.head),
        ("outline", t.outline),
        ("rule plan", t.plan),
        ("invoke_body", t.invoke),
        ("sha256 of the body", t.sha),
        ("(Converse) whole parse", t.whole),
    ];
    for (name, xs) in steps {
        writeln!(out, "{name:>24}: {:>8.1} µs", median(xs))?;
    }
    Ok(())
}
