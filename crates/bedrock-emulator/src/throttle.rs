//! The throttling switch: this instance answers a share of its model calls with
//! `ThrottlingException` (HTTP 429, Bedrock's usual message, optionally a `retry-after`), as a
//! Region out of quota does, and recovers after a time. Several emulators stand in for Regions in
//! the failover tests and the failover load test (bench/failover_load.py).
//!
//! It owns only the decision "is this call throttled"; the answer itself is an ordinary scripted
//! error ([`Script::error`]) handed to [`super::plan`], so the four model operations (Converse,
//! ConverseStream, InvokeModel, InvokeModelWithResponseStream) fail before their first byte as a
//! scripted throttle would. It never touches CountTokens, and never consumes a queued script.
//!
//! The share is deterministic: an accumulator in millionths, so of the first `n` calls after the
//! switch is set exactly `1 + ⌊(n − 1) · fraction⌋` are throttled, the first call included
//! (0.5: calls 1, 3, 5, …; 0.25: calls 1, 5, 9, …).

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Emulator, Script, ScriptError};

const WHOLE: u64 = 1_000_000;

/// What to throttle: `POST /_emulator/throttle` takes it as JSON, `bedrock-emulator --throttle`
/// builds it from flags ([`Throttle::from_flags`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Throttle {
    /// Share of model calls to throttle, 0 to 1 (0 turns the switch off).
    pub fraction: f64,
    /// Recover (stop throttling) this many milliseconds after the switch is set; absent = never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_ms: Option<u64>,
    /// A `retry-after` header, in seconds, on each throttle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl Throttle {
    /// From the binary's flags: `--throttle 0.5`, `--throttle-for 10s` (`ms`, `s` or `m`; a bare
    /// number is seconds), `--throttle-retry-after 1`.
    ///
    /// # Errors
    /// On a fraction outside 0–1 or a value that does not parse.
    pub fn from_flags(
        fraction: &str,
        recover_after: Option<&str>,
        retry_after: Option<&str>,
    ) -> anyhow::Result<Self> {
        let fraction: f64 = fraction
            .parse()
            .with_context(|| format!("--throttle `{fraction}` is not a number"))?;
        let for_ms = recover_after.map(parse_millis).transpose()?;
        let retry_after = retry_after
            .map(|s| {
                s.parse()
                    .with_context(|| format!("--throttle-retry-after `{s}` is not whole seconds"))
            })
            .transpose()?;
        let throttle = Self {
            fraction,
            for_ms,
            retry_after,
        };
        throttle.millionths()?;
        Ok(throttle)
    }

    fn millionths(&self) -> anyhow::Result<u64> {
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.fraction),
            "the throttled fraction must be between 0 and 1, not {}",
            self.fraction
        );
        // In range, so the cast cannot truncate beyond the rounding wanted here.
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "0..=1e6"
        )]
        Ok((self.fraction * WHOLE as f64).round() as u64)
    }
}

fn parse_millis(text: &str) -> anyhow::Result<u64> {
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1e3)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60e3)
    } else {
        (text, 1e3)
    };
    let value: f64 = number
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)
        .with_context(|| format!("--throttle-for `{text}` is not a duration like 10s or 500ms"))?;
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked ≥ 0"
    )]
    Ok((value * scale).round() as u64)
}

/// The switch's state, as `GET /_emulator/throttle` reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ThrottleStatus {
    /// The share being throttled now (0 when off or recovered).
    pub fraction: f64,
    /// Milliseconds until recovery, when the switch has an end.
    pub remaining_ms: Option<u64>,
    /// Model calls throttled, and passed, since the switch was last set.
    pub throttled: u64,
    pub passed: u64,
}

#[derive(Debug, Default)]
pub(super) struct Switch(Mutex<SwitchState>);

#[derive(Debug, Default)]
struct SwitchState {
    setting: Option<Throttle>,
    millionths: u64,
    until: Option<Instant>,
    accumulator: u64,
    throttled: u64,
    passed: u64,
}

impl SwitchState {
    fn active(&self, now: Instant) -> Option<Throttle> {
        let setting = self.setting?;
        let live = self.millionths > 0 && self.until.is_none_or(|end| now < end);
        live.then_some(setting)
    }
}

impl Switch {
    fn lock(&self) -> std::sync::MutexGuard<'_, SwitchState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, throttle: Throttle) -> anyhow::Result<()> {
        let millionths = throttle.millionths()?;
        // A time past what `Instant` can hold means the switch never ends (no panic).
        let until = throttle
            .for_ms
            .and_then(|ms| Instant::now().checked_add(Duration::from_millis(ms)));
        *self.lock() = SwitchState {
            setting: Some(throttle),
            millionths,
            until,
            // Starts one share short of a whole, so the first call is throttled.
            accumulator: WHOLE - millionths,
            ..SwitchState::default()
        };
        Ok(())
    }

    /// The throttle for this call, if it is one.
    pub(super) fn next(&self) -> Option<Script> {
        let mut state = self.lock();
        let Some(setting) = state.active(Instant::now()) else {
            state.passed += 1;
            return None;
        };
        state.accumulator += state.millionths;
        if state.accumulator < WHOLE {
            state.passed += 1;
            return None;
        }
        state.accumulator -= WHOLE;
        state.throttled += 1;
        Some(Script {
            error: Some(ScriptError {
                kind: "ThrottlingException".into(),
                message: None,
                status: None,
                retry_after: setting.retry_after,
            }),
            ..Script::default()
        })
    }

    fn status(&self) -> ThrottleStatus {
        let state = self.lock();
        let now = Instant::now();
        let active = state.active(now);
        ThrottleStatus {
            fraction: active.map_or(0.0, |t| t.fraction),
            remaining_ms: active.and(state.until).map(|end| {
                u64::try_from(end.saturating_duration_since(now).as_millis()).unwrap_or(u64::MAX)
            }),
            throttled: state.throttled,
            passed: state.passed,
        }
    }
}

impl Emulator {
    /// Throttles `throttle.fraction` of the model calls from now on (see the module docs);
    /// replaces any earlier setting and restarts the counts.
    ///
    /// # Errors
    /// When the fraction is outside 0–1.
    pub fn set_throttle(&self, throttle: Throttle) -> anyhow::Result<()> {
        self.inner.throttle.set(throttle)
    }

    /// Stops throttling.
    pub fn clear_throttle(&self) {
        *self.inner.throttle.lock() = SwitchState::default();
    }

    pub fn throttle_status(&self) -> ThrottleStatus {
        self.inner.throttle.status()
    }
}

/// `POST /_emulator/throttle`: `{"fraction": 0.5, "for_ms": 10000, "retry_after": 1}`.
pub(super) async fn set(State(emulator): State<Emulator>, body: Bytes) -> Response {
    let set = serde_json::from_slice::<Throttle>(&body)
        .map_err(anyhow::Error::from)
        .and_then(|t| emulator.set_throttle(t));
    match set {
        Ok(()) => Json(emulator.throttle_status()).into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "message": format!("invalid throttle: {e}") })),
        )
            .into_response(),
    }
}

pub(super) async fn status(State(emulator): State<Emulator>) -> Json<ThrottleStatus> {
    Json(emulator.throttle_status())
}

pub(super) async fn clear(State(emulator): State<Emulator>) -> StatusCode {
    emulator.clear_throttle();
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(switch: &Switch, n: usize) -> Vec<bool> {
        (0..n).map(|_| switch.next().is_some()).collect()
    }

    fn throttle(fraction: f64) -> Throttle {
        Throttle {
            fraction,
            for_ms: None,
            retry_after: None,
        }
    }

    #[test]
    fn half_throttles_every_other_call_starting_with_the_first() -> anyhow::Result<()> {
        let switch = Switch::default();
        switch.set(throttle(0.5))?;
        assert_eq!(pattern(&switch, 6), [true, false, true, false, true, false]);
        let status = switch.status();
        assert_eq!((status.throttled, status.passed), (3, 3));
        Ok(())
    }

    #[test]
    fn any_fraction_throttles_one_more_than_the_floor_of_its_share_of_the_rest(
    ) -> anyhow::Result<()> {
        for (fraction, n) in [(0.1, 1000_u32), (0.3, 77), (1.0 / 3.0, 300), (0.999, 50)] {
            let switch = Switch::default();
            switch.set(throttle(fraction))?;
            let throttled = pattern(&switch, n as usize).iter().filter(|t| **t).count();
            let expected = 1 + (f64::from(n - 1) * fraction).floor() as usize;
            assert_eq!(throttled, expected, "fraction {fraction}, {n} calls");
        }
        Ok(())
    }

    #[test]
    fn all_and_nothing_are_exact() -> anyhow::Result<()> {
        let switch = Switch::default();
        switch.set(throttle(1.0))?;
        assert!(pattern(&switch, 5).iter().all(|t| *t));
        switch.set(throttle(0.0))?;
        assert!(pattern(&switch, 5).iter().all(|t| !*t));
        Ok(())
    }

    #[test]
    fn a_throttle_is_bedrocks_throttling_exception_with_the_retry_after_asked_for(
    ) -> anyhow::Result<()> {
        let switch = Switch::default();
        switch.set(Throttle {
            retry_after: Some(2),
            ..throttle(1.0)
        })?;
        let error = switch.next().and_then(|s| s.error);
        assert_eq!(
            error,
            Some(ScriptError {
                kind: "ThrottlingException".into(),
                message: None,
                status: None,
                retry_after: Some(2),
            })
        );
        Ok(())
    }

    #[test]
    fn the_switch_recovers_after_its_time() -> anyhow::Result<()> {
        let switch = Switch::default();
        switch.set(Throttle {
            for_ms: Some(30),
            ..throttle(1.0)
        })?;
        assert!(switch.next().is_some());
        assert!(switch.status().remaining_ms.is_some_and(|ms| ms <= 30));
        std::thread::sleep(Duration::from_millis(40));
        assert!(switch.next().is_none());
        assert_eq!(switch.status().fraction, 0.0);
        Ok(())
    }

    #[test]
    fn a_recovery_time_too_far_to_hold_means_never_and_does_not_panic() -> anyhow::Result<()> {
        let switch = Switch::default();
        switch.set(Throttle {
            for_ms: Some(u64::MAX),
            ..throttle(1.0)
        })?;
        assert!(switch.next().is_some());
        assert!(switch.next().is_some());
        Ok(())
    }

    #[test]
    fn flags_parse_durations_and_refuse_bad_values() -> anyhow::Result<()> {
        let t = Throttle::from_flags("0.5", Some("10s"), Some("1"))?;
        assert_eq!((t.for_ms, t.retry_after), (Some(10_000), Some(1)));
        assert_eq!(parse_millis("250ms")?, 250);
        assert_eq!(parse_millis("1.5m")?, 90_000);
        assert_eq!(parse_millis("3")?, 3_000);
        assert!(Throttle::from_flags("1.5", None, None).is_err());
        assert!(Throttle::from_flags("half", None, None).is_err());
        assert!(Throttle::from_flags("0.5", Some("soon"), None).is_err());
        assert!(Throttle::from_flags("0.5", None, Some("-1")).is_err());
        Ok(())
    }
}
