//! What Lambda tells the gateway about the invocation serving a request, and how much of it a
//! request may use. Pure: the header value and the clocks are arguments.
//!
//! Behind the Lambda Web Adapter every request carries `x-amzn-lambda-context`, the invocation's
//! context as JSON; its `deadline` is the moment Lambda stops the function, in Unix epoch
//! milliseconds (the adapter serialises `lambda_runtime::Context`, whose `deadline` comes from the
//! runtime API's `Lambda-Runtime-Deadline-Ms`; see docs/operations.md, "Lambda deadline"). The
//! gateway ends its work a [`margin`] before it, so a stream closes with an `event: error` and its
//! log line instead of being cut mid-event when Lambda freezes the process.
//!
//! Must not: read the clock, or trust a deadline that cannot be one (see [`parse_deadline`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

/// The header the Lambda Web Adapter puts the invocation context in (it replaces any value the
/// caller sent).
pub const CONTEXT_HEADER: &str = "x-amzn-lambda-context";

/// The most of the remaining time kept back: enough to send the `error` event, write the log line
/// and let the adapter flush the response, with room for a slow scheduler.
pub const MAX_MARGIN: Duration = Duration::from_secs(5);

/// 2020-01-01 in epoch ms. Anything earlier is not an epoch time: a local runtime API
/// (cargo-lambda 1.9) sends `Lambda-Runtime-Deadline-Ms: 600000`, a duration.
const PLAUSIBLE_EPOCH_MS: u64 = 1_577_836_800_000;

#[derive(Deserialize)]
struct Context {
    deadline: Option<u64>,
}

/// The invocation deadline in an `x-amzn-lambda-context` value, when it carries a real one.
pub fn parse_deadline(value: &[u8]) -> Option<SystemTime> {
    let ms = serde_json::from_slice::<Context>(value).ok()?.deadline?;
    (ms >= PLAUSIBLE_EPOCH_MS).then(|| UNIX_EPOCH + Duration::from_millis(ms))
}

/// The time kept back from `remaining`: a fifth of it, at most [`MAX_MARGIN`] (5 s of a 15-minute
/// function; 2 s of a 10-second one).
pub fn margin(remaining: Duration) -> Duration {
    (remaining / 5).min(MAX_MARGIN)
}

/// How long, from `now`, a request may wait on Bedrock: the `ceiling` (the gateway's own Bedrock
/// timeout), or the time left before `deadline` less the [`margin`], whichever is shorter. Zero
/// when the deadline is already too close.
pub fn budget(deadline: SystemTime, now: SystemTime, ceiling: Duration) -> Duration {
    let remaining = deadline.duration_since(now).unwrap_or(Duration::ZERO);
    remaining.saturating_sub(margin(remaining)).min(ceiling)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: u64 = 1_800_000_000_000;

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn the_deadline_is_read_from_the_adapters_context_json() {
        let header = format!(
            r#"{{"request_id":"r-1","deadline":{},"invoked_function_arn":"arn","xray_trace_id":null,"client_context":null,"identity":null,"env_config":{{"function_name":"f","memory":512,"version":"$LATEST","log_stream":"","log_group":""}}}}"#,
            NOW_MS + 900_000
        );
        assert_eq!(
            parse_deadline(header.as_bytes()),
            Some(at(NOW_MS + 900_000))
        );
    }

    #[test]
    fn a_context_without_a_usable_deadline_gives_none() {
        for value in [
            "",
            "not json",
            "{}",
            r#"{"deadline":null}"#,
            r#"{"deadline":"1800000000000"}"#,
            r#"{"deadline":-1}"#,
            // cargo-lambda's local runtime API: a duration, not an epoch time.
            r#"{"deadline":600000}"#,
        ] {
            assert_eq!(parse_deadline(value.as_bytes()), None, "{value}");
        }
    }

    #[test]
    fn the_margin_is_a_fifth_of_the_time_left_and_at_most_five_seconds() {
        assert_eq!(margin(Duration::from_secs(900)), MAX_MARGIN);
        assert_eq!(margin(Duration::from_secs(25)), MAX_MARGIN);
        assert_eq!(margin(Duration::from_secs(10)), Duration::from_secs(2));
        assert_eq!(margin(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn the_budget_is_the_time_left_less_the_margin_under_the_ceiling() {
        let ceiling = Duration::from_secs(900);
        let now = at(NOW_MS);
        let in_secs = |s: u64| at(NOW_MS + s * 1000);
        assert_eq!(budget(in_secs(900), now, ceiling), Duration::from_secs(895));
        assert_eq!(budget(in_secs(10), now, ceiling), Duration::from_secs(8));
        assert_eq!(budget(in_secs(3600), now, ceiling), ceiling);
        assert_eq!(budget(at(NOW_MS - 1), now, ceiling), Duration::ZERO);
        assert_eq!(budget(now, now, ceiling), Duration::ZERO);
    }
}
