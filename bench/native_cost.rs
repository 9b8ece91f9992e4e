//! Where the native path's CPU goes for one large body, step by step, in this process alone:
//! the typed parse, the rule planning, the InvokeModel body, and SigV4's payload hash.
//!
//!     cargo run --release --example native-cost -- BODY.json [ROUNDS]
//!
//! Prints the median µs of each step over ROUNDS (default 50). bench/run's 1 MB figure is the
//! whole request through the network; this splits its CPU part.

use std::io::Write;
use std::time::Instant;

use chatrix::anthropic::request::parse_messages_request;
use chatrix::models::rules::{self, View};
use chatrix::models::{Catalog, InferenceProfile};
use chatrix::native::request::{to_invoke, NativeOptions, Purpose};
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

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: native-cost BODY.json [ROUNDS]"))?;
    let rounds: usize = args.next().map_or(Ok(50), |r| r.parse())?;
    let body = std::fs::read(path)?;
    let catalog = Catalog::embedded()?;
    let (mut read, mut parse, mut plan, mut invoke, mut sha) =
        (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..rounds {
        let bytes = time(&mut read, || {
            let mut v = Vec::with_capacity(body.len());
            v.extend_from_slice(&body);
            v
        });
        let typed = time(&mut parse, || parse_messages_request(&bytes))
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let model = catalog
            .resolve(&typed.model, InferenceProfile::Global)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let changes = time(&mut plan, || {
            rules::plan(&model.rules, &View::of(&typed), &[])
        })
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        drop(typed);
        let opts = NativeOptions {
            model: &model,
            betas: &[],
            changes: &changes,
            strip_billing_header: true,
            system_turns: false,
            purpose: Purpose::Invoke,
        };
        let out =
            time(&mut invoke, || to_invoke(&bytes, &opts)).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        // SigV4 hashes the payload it signs (aws-sigv4, `CanonicalRequest::from`).
        time(&mut sha, || sha2::Sha256::digest(&out.bytes).len());
    }
    let mut out = std::io::stdout();
    let steps = [
        ("copy body", read),
        ("typed parse", parse),
        ("rule plan", plan),
        ("to_invoke", invoke),
        ("sha256 of the body", sha),
    ];
    for (name, xs) in steps {
        writeln!(out, "{name:>20}: {:>8.1} µs", median(xs))?;
    }
    Ok(())
}
