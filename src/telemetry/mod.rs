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

/// The filter for `spec` (`RUST_LOG`'s syntax, read by [`EnvFilter`] so that it means and refuses
/// what it always has): as [`Targets`] when it is levels per target only, as the default is;
/// [`EnvFilter`] itself only for span and field directives (`[request]=debug`). Both decide a
/// call site once, but `EnvFilter` also takes a lock shared by every thread on each span created,
/// entered, left, recorded and closed: on every poll of a request's future.
///
/// # Errors
/// When `spec` does not parse.
pub fn filter(spec: &str) -> anyhow::Result<(Option<Targets>, Option<EnvFilter>)> {
    let env = EnvFilter::try_new(spec).map_err(|e| anyhow::anyhow!("RUST_LOG: {e}"))?;
    // EnvFilter writes its directives back out in their plain form (`info,hyper=warn`); a span
    // directive keeps its brackets, which Targets would take for part of a target's name.
    let plain = env.to_string();
    if plain.is_empty() {
        // No directive at all (`RUST_LOG=","`): nothing is logged, as EnvFilter has it. Targets
        // would read the empty string as "errors".
        return Ok((Some(Targets::new()), None));
    }
    if !plain.contains('[') {
        if let Ok(targets) = plain.parse::<Targets>() {
            return Ok((Some(targets), None));
        }
    }
    Ok((None, Some(env)))
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::{filter, EnvFilter, DEFAULT_FILTER};

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

        // Read as EnvFilter reads them: a trailing comma adds nothing, a target without a level
        // (or with an empty one) is traced, and nothing else is enabled without a bare level.
        let (targets, _) = filter("info,").expect("parses");
        let targets = targets.expect("levels per target");
        assert!(targets.would_enable("chatrix::routes", &Level::INFO));
        for spec in ["chatrix", "chatrix="] {
            let (targets, _) = filter(spec).expect("parses");
            let targets = targets.expect("levels per target");
            assert!(
                targets.would_enable("chatrix::auth", &Level::TRACE),
                "{spec}"
            );
            assert!(!targets.would_enable("moka", &Level::ERROR), "{spec}");
        }

        let (targets, _) = filter(",").expect("parses");
        let targets = targets.expect("no directive");
        assert!(!targets.would_enable("chatrix", &Level::ERROR));

        let (targets, env) = filter("info,[request]=debug").expect("parses");
        assert!(
            targets.is_none() && env.is_some(),
            "span directives need EnvFilter"
        );

        // What EnvFilter refuses still stops start-up, and only that.
        for spec in [
            "chatrix=loud",
            "=debug",
            "*=debug",
            "info, hyper=warn",
            "debug",
            "OFF",
        ] {
            assert_eq!(
                filter(spec).is_ok(),
                EnvFilter::try_new(spec).is_ok(),
                "{spec}"
            );
        }
        assert!(filter("chatrix=loud").is_err());
    }
}
