//! `bedrock-emulator`: serves the Bedrock emulator until interrupted.
//!
//! Port: `--port N`, else `PORT`, else a free port. Prints the base URL (one line on stdout) once
//! listening, so scripts can read it. `--throttle F` throttles that share of the model calls from
//! start-up (`--throttle-for 10s` to recover after a time, `--throttle-retry-after S` to send a
//! `retry-after`); `POST /_emulator/throttle` changes it later (docs/emulator.md).

use std::collections::HashMap;
use std::io::Write;

use anyhow::Context;
use bedrock_emulator::{Emulator, Throttle};

const USAGE: &str = "usage: bedrock-emulator [--port N] [--throttle FRACTION \
                     [--throttle-for DURATION] [--throttle-retry-after SECONDS]]";
const FLAGS: [&str; 4] = [
    "--port",
    "--throttle",
    "--throttle-for",
    "--throttle-retry-after",
];

fn flags() -> anyhow::Result<HashMap<&'static str, String>> {
    let mut out = HashMap::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let Some(flag) = FLAGS.into_iter().find(|f| *f == arg) else {
            anyhow::bail!("unexpected argument `{arg}`; {USAGE}");
        };
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value; {USAGE}"))?;
        out.insert(flag, value);
    }
    Ok(out)
}

fn port(flags: &HashMap<&str, String>) -> anyhow::Result<u16> {
    let value = flags
        .get("--port")
        .cloned()
        .or_else(|| std::env::var("PORT").ok());
    value.map_or(Ok(0), |p| {
        p.parse().with_context(|| format!("invalid port `{p}`"))
    })
}

fn throttle(flags: &HashMap<&str, String>) -> anyhow::Result<Option<Throttle>> {
    let recover = flags.get("--throttle-for").map(String::as_str);
    let retry_after = flags.get("--throttle-retry-after").map(String::as_str);
    match flags.get("--throttle") {
        Some(fraction) => Throttle::from_flags(fraction, recover, retry_after).map(Some),
        None if recover.is_some() || retry_after.is_some() => {
            anyhow::bail!("--throttle-for and --throttle-retry-after need --throttle; {USAGE}")
        }
        None => Ok(None),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let flags = flags()?;
    let emulator = Emulator::new()?;
    if let Some(throttle) = throttle(&flags)? {
        emulator.set_throttle(throttle)?;
    }
    let url = emulator.spawn(port(&flags)?).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{url}")?;
    out.flush()?;
    drop(out);
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}
