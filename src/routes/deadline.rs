//! A request's share of its Lambda invocation ([`crate::lambda`]), applied: Bedrock calls give up
//! before it, and the stream shell (`super::stream`) closes a stream at it. Without the Lambda Web
//! Adapter's header there is no deadline and nothing changes.
//!
//! Reaching it is an `overloaded_error` (529): the SDKs retry a 529, and Claude Code answers one
//! inside a stream by sending the request again at once (CLIENTS.md §3.4), each time in a new
//! invocation with the whole timeout ahead of it.

use std::future::Future;
use std::time::{Duration, SystemTime};

use axum::http::HeaderMap;
use tokio::time::Instant;

use crate::bedrock::CALL_TIMEOUT;
use crate::error::ApiError;
use crate::lambda;

/// When the request must have finished with Bedrock; `None` off Lambda.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Deadline(Option<Instant>);

impl Deadline {
    /// From `x-amzn-lambda-context`, when it carries a real deadline.
    pub(super) fn from_headers(headers: &HeaderMap) -> Self {
        let deadline = headers
            .get(lambda::CONTEXT_HEADER)
            .and_then(|v| lambda::parse_deadline(v.as_bytes()));
        Self(deadline.map(|d| Instant::now() + lambda::budget(d, SystemTime::now(), CALL_TIMEOUT)))
    }

    pub(super) fn passed(self) -> bool {
        self.0.is_some_and(|at| Instant::now() >= at)
    }

    /// `wait`, shortened so that it ends no later than the deadline.
    pub(super) fn cap(self, wait: Duration) -> Duration {
        match self.0 {
            Some(at) => wait.min(at.saturating_duration_since(Instant::now())),
            None => wait,
        }
    }

    /// Runs a Bedrock call, given up (and so cancelled) at the deadline. A call is never started
    /// once the deadline has passed. Boxed at once: the SDK's futures are large.
    ///
    /// # Errors
    /// The call's own, or [`reached`].
    pub(super) fn within<'a, T: 'a>(
        self,
        call: impl Future<Output = Result<T, ApiError>> + Send + 'a,
    ) -> impl Future<Output = Result<T, ApiError>> + Send + 'a {
        let call = Box::pin(call);
        async move {
            let Some(at) = self.0 else {
                return call.await;
            };
            if Instant::now() >= at {
                return Err(reached());
            }
            tokio::time::timeout_at(at, call)
                .await
                .unwrap_or_else(|_| Err(reached()))
        }
    }
}

/// What the client is told when the invocation's time ran out.
pub(super) fn reached() -> ApiError {
    ApiError::Overloaded(REACHED.into())
}

const REACHED: &str = "the gateway's Lambda invocation is about to end; send the request again";

/// Whether `error` is [`reached`]: the call was abandoned, not refused, so Bedrock may bill it.
pub(super) fn is_reached(error: &ApiError) -> bool {
    matches!(error, ApiError::Overloaded(m) if m == REACHED)
}
