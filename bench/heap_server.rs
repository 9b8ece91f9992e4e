//! The gateway as `src/main.rs` serves it against AWS (or an emulator's URL), but on the system
//! allocator instead of mimalloc, so that `heaptrack` (which hooks malloc) sees every allocation:
//! where a request's memory peaks, and which copies of the body it holds at once.
//!
//! Usage: the gateway's environment (`PORT`, `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, …), then
//! `heaptrack target/debug/examples/heap-server`; send the request; stop it; `heaptrack_print
//! --print-peaks …`. docs/performance.md ("Profiling") says what it found.

use chatrix::bedrock::Bedrock;
use chatrix::config::Config;
use chatrix::state::AppState;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cfg = Config::from_env()?;
    chatrix::telemetry::init(cfg.log_format)?;
    let bedrock = Bedrock::from_env().await;
    let listener = TcpListener::bind((cfg.host, cfg.port)).await?;
    let state = AppState::new(cfg, bedrock)?;
    chatrix::serve(listener, state, chatrix::routes::shutdown_signal()).await?;
    Ok(())
}
