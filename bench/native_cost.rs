//! Where the native path's CPU goes for one large body, step by step, in this process alone:
//! the top-level split (which reads the outline of `messages` on its way, so the outline step
//! is then free), the typed head, the outline of `messages`, the rule planning, the
//! InvokeModel body's parts and their assembly in the client's buffer, and SigV4's payload hash; and, for comparison, the whole-body typed parse the
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
use chatrix::native::request::{invoke_parts, NativeOptions, Purpose};
use chatrix::native::splice::ROOM;
use sha2::Digest;

// The gateway's allocator (src/main.rs): with glibc's, each 1 MB buffer is a fresh mmap whose page
// faults would swamp the steps measured here.
#[global_allocator]
static ALLOCATOR: chatrix_alloc::Allocator = chatrix_alloc::Allocator;

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
    assemble: Vec<f64>,
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
        // As `read_body` reads it: one buffer with room after the body.
        let bytes = time(&mut t.read, || {
            let mut v = bytes::BytesMut::with_capacity(body.len() + ROOM);
            v.extend_from_slice(&body);
            v.freeze()
        });
        let split = time(&mut t.split, || {
            RequestBody::split_with_outline(&bytes, Kind::Messages)
        })
        .map_err(api)?;
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
        let parts = time(&mut t.invoke, || {
            invoke_parts(split.fields(), &bytes, &opts)
        });
        let parts = parts.map_err(api)?;
        drop((split, head));
        // The route hands the client's buffer over; here a copy of it, so `bytes` stays for the
        // comparison below.
        let client = bytes::Bytes::copy_from_slice(&bytes);
        let sent = time(&mut t.assemble, || parts.body.assemble(client));
        // SigV4 hashes the payload it signs (aws-sigv4, `CanonicalRequest::from`).
        time(&mut t.sha, || sha2::Sha256::digest(&sent).len());
        drop(sent);
        let whole = time(&mut t.whole, || parse_messages_request(&bytes)).map_err(api)?;
        drop(whole);
    }
    t.print()
}

impl Steps {
    fn print(self) -> anyhow::Result<()> {
        let mut out = std::io::stdout();
        let steps = [
            ("copy body", self.read),
            ("split", self.split),
            ("head", self.head),
            ("outline", self.outline),
            ("rule plan", self.plan),
            ("invoke_parts", self.invoke),
            ("assemble", self.assemble),
            ("sha256 of the body", self.sha),
            ("(Converse) whole parse", self.whole),
        ];
        for (name, xs) in steps {
            writeln!(out, "{name:>24}: {:>8.1} µs", median(xs))?;
        }
        Ok(())
    }
}
