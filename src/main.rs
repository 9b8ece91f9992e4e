//! The `chatrix` binary: configuration, logs, Bedrock client (or the built-in emulator), serve.

use std::io::Write;

use anyhow::Context;
use chatrix::bedrock::{Bedrock, Pool};
use chatrix::config::{BedrockMode, Config};
use chatrix::state::AppState;
use tokio::net::TcpListener;

/// mimalloc instead of glibc's malloc: a request makes a few hundred small allocations (JSON trees,
/// SDK config and headers), and bench/run measured glibc's allocator at 15 % of the CPU per request.
/// On Linux, blocks of several megabytes are mapped from the kernel instead (crates/chatrix-alloc).
#[global_allocator]
static ALLOCATOR: chatrix_alloc::Allocator = chatrix_alloc::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("usage") {
        return chatrix::cli::usage(&args[1..]).await;
    }
    let mut cfg = Config::from_env()?;
    chatrix::telemetry::init(cfg.log_format)?;
    let pool = match cfg.bedrock_mode {
        BedrockMode::Aws => Pool::from_env(&cfg.failover).await,
        BedrockMode::Emulator => {
            let url = chatrix::demo::spawn_emulator().await?;
            tracing::warn!(emulator = %url, "no AWS configuration: serving from the built-in Bedrock emulator");
            if let Some(asked) = cfg.demo_kept_local {
                tracing::warn!(
                    host = %asked,
                    "demo mode listens on 127.0.0.1 only; set CHATRIX_BEDROCK=emulator to serve the demo on HOST, or configure AWS"
                );
            }
            Pool::single(Bedrock::for_endpoint(&url).await, &cfg.failover)
        }
    };
    let demo_key = chatrix::auth::ensure_demo_key(&mut cfg)?;
    let listener = TcpListener::bind((cfg.host, cfg.port))
        .await
        .with_context(|| format!("binding {}:{}", cfg.host, cfg.port))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, mode = ?cfg.bedrock_mode, "chatrix listening");
    if let Some(key) = demo_key {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "Chatrix is serving the Bedrock emulator. Point Claude Code at it with:"
        )?;
        writeln!(
            out,
            "  export ANTHROPIC_BASE_URL=http://127.0.0.1:{}",
            addr.port()
        )?;
        writeln!(out, "  export ANTHROPIC_AUTH_TOKEN={key}")?;
    }
    let upstreams: Vec<&str> = pool.upstreams().iter().map(|u| u.label.as_str()).collect();
    tracing::info!(?upstreams, "Bedrock upstreams, in order");
    let state = AppState::with_pool(cfg, pool)?;
    chatrix::serve(listener, state, chatrix::routes::shutdown_signal()).await?;
    Ok(())
}
