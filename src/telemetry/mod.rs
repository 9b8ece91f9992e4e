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

use tracing_subscriber::filter::Targets;
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
    let spec = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => v,
        _ => DEFAULT_FILTER.to_owned(),
    };
    let (targets, env) = filter(&spec)?;
    let registry = tracing_subscriber::registry().with(targets).with(env);
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

/// The filter for `spec` (`RUST_LOG`'s syntax): a level per target ([`Targets`]) when that is all
/// it says, as the default does; [`EnvFilter`] only for its span and field directives
/// (`[request]=debug`). Both decide a call site once, but `EnvFilter` also takes a shared lock on
/// every span entered, left and recorded, on every poll of a request's future.
///
/// # Errors
/// When `spec` does not parse as either.
pub fn filter(spec: &str) -> anyhow::Result<(Option<Targets>, Option<EnvFilter>)> {
    // Targets would take `[request]` for a target's name: a span directive goes to EnvFilter.
    if !spec.contains('[') {
        // Target names and levels hold no spaces, so spaces around them carry no meaning.
        let compact: String = spec.chars().filter(|c| !c.is_whitespace()).collect();
        if let Ok(targets) = compact.parse::<Targets>() {
            return Ok((Some(targets), None));
        }
    }
    let env = EnvFilter::try_new(spec).map_err(|e| anyhow::anyhow!("RUST_LOG: {e}"))?;
    Ok((None, Some(env)))
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::{filter, DEFAULT_FILTER};

    #[test]
    fn levels_per_target_need_no_env_filter_and_span_directives_do() {
        let (targets, env) = filter(DEFAULT_FILTER).expect("parses");
        let targets = targets.expect("the default is levels per target");
        assert!(env.is_none());
        assert!(targets.would_enable("chatrix::routes", &Level::INFO));
        assert!(!targets.would_enable("chatrix::routes", &Level::DEBUG));
        assert!(!targets.would_enable("aws_smithy_runtime::client", &Level::INFO));
        assert!(targets.would_enable("aws_smithy_runtime::client", &Level::WARN));
        assert!(!targets.would_enable("hyper::proto::h1", &Level::INFO));

        let (targets, env) = filter("warn,chatrix=debug").expect("parses");
        let targets = targets.expect("levels per target");
        assert!(env.is_none());
        assert!(targets.would_enable("chatrix::auth", &Level::DEBUG));
        assert!(!targets.would_enable("moka", &Level::INFO));

        let (targets, _) = filter(" warn , chatrix::routes = info ").expect("parses");
        let targets = targets.expect("levels per target, spaces and all");
        assert!(targets.would_enable("chatrix::routes", &Level::INFO));
        assert!(!targets.would_enable("chatrix::auth", &Level::INFO));

        let (targets, env) = filter("info,[request]=debug").expect("parses");
        assert!(
            targets.is_none() && env.is_some(),
            "span directives need EnvFilter"
        );

        assert!(filter("chatrix=loud").is_err());
    }
}
