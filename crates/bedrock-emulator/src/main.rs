//! `bedrock-emulator`: serves the Bedrock emulator until interrupted.
//!
//! Port: `--port N`, else `PORT`, else a free port. Prints the base URL (one line on stdout) once
//! listening, so scripts can read it.

use std::io::Write;

use anyhow::Context;
use bedrock_emulator::Emulator;

fn port() -> anyhow::Result<u16> {
    let mut args = std::env::args().skip(1);
    let value = match (args.next().as_deref(), args.next()) {
        (Some("--port"), Some(port)) => Some(port),
        (Some(other), _) => {
            anyhow::bail!("unexpected argument `{other}`; usage: bedrock-emulator [--port N]")
        }
        (None, _) => std::env::var("PORT").ok(),
    };
    value.map_or(Ok(0), |p| {
        p.parse().with_context(|| format!("invalid port `{p}`"))
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let url = Emulator::new()?.spawn(port()?).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{url}")?;
    out.flush()?;
    drop(out);
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}
