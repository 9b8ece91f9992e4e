//! Structured logs: JSON lines for CloudWatch by default, human-readable text on request.
//!
//! What gets logged is decided at the call sites, under one rule: never API keys, prompts or
//! completions. Requests are logged once, by the request-log middleware in [`crate::routes`], which
//! also opens the request's span: every line logged while a request is served (streams included)
//! carries its `request_id`, key name, model, upstream path and Claude Code session id under
//! `span` in JSON.
//!
//! JSON lines are written by [`json::JsonLines`], in the shape `json-subscriber` wrote them
//! before (the innermost span's fields under `span`, the event's flattened); a record from a crate
//! that logs through the `log` facade has `target` `log` and its origin in `log.target`.
//! `json-subscriber` cost about 52,000 of the 542,000 instructions of a small native request, for
//! one request line and the span's records; [`json`] says why and what it does instead.

mod json;

pub use json::JsonLines;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogFormat;

/// The filter used when `RUST_LOG` is not set.
pub const DEFAULT_FILTER: &str = "info,aws_config=warn,aws_smithy_runtime=warn,hyper=warn";

/// Installs the global subscriber. `RUST_LOG` (if set) overrides [`DEFAULT_FILTER`].
///
/// # Errors
/// When `RUST_LOG` does not parse or a subscriber is already installed.
pub fn init(format: LogFormat) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => {
            EnvFilter::try_new(v).map_err(|e| anyhow::anyhow!("RUST_LOG: {e}"))?
        }
        _ => EnvFilter::new(DEFAULT_FILTER),
    };
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        // Each line carries the request span's fields (request_id, key, model, upstream,
        // session) while a request is served.
        LogFormat::Json => registry.with(JsonLines::new(std::io::stderr)).try_init()?,
        LogFormat::Text => registry
            .with(fmt::layer().with_writer(std::io::stderr))
            .try_init()?,
    }
    Ok(())
}
