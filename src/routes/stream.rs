//! The async shell around the stream fold: Bedrock events in, SSE bytes out, flushed one by one.
//!
//! A reader task owns the upstream receiver and forwards events through a channel; it stops (and
//! dropping the receiver cancels the Bedrock call) as soon as the client goes away, even while
//! Bedrock is silent. The SSE body waits on that channel with the ping interval as its timeout,
//! so a long silence — thinking, or before the first token — still sends `event: ping`.
//!
//! Errors before the first event are returned as a normal HTTP error when they arrive within one
//! ping interval (clients retry 429/529 only then); afterwards they become an `event: error`.

use std::convert::Infallible;
use std::time::Duration;

use aws_sdk_bedrockruntime::types::ConverseStreamOutput;
use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::bedrock::UpstreamEvents;
use crate::convert::stream::{SseEvent, StreamContext, StreamState};
use crate::error::ApiError;

type Upstream = mpsc::Receiver<Result<ConverseStreamOutput, ApiError>>;

/// How long usage may lag behind `messageStop` before the message is closed with the estimate.
const USAGE_GRACE: Duration = Duration::from_secs(5);

/// An upstream silent this long is stalled (a half-open connection, a wedged model): the client
/// gets a `timeout_error` instead of pings forever. Thinking streams deltas, so it is never this quiet.
const MAX_UPSTREAM_SILENCE: Duration = Duration::from_secs(300);

/// Identifies the request in the end-of-stream log line.
#[derive(Debug, Clone)]
pub(super) struct StreamLog {
    pub(super) request_id: String,
    pub(super) model: String,
    pub(super) key: Option<std::sync::Arc<str>>,
}

/// Starts relaying `upstream` as an SSE response.
///
/// # Errors
/// An upstream failure that arrives before any event and within one ping interval.
pub(super) async fn respond(
    upstream: UpstreamEvents,
    ctx: StreamContext,
    ping: Duration,
    log: StreamLog,
) -> Result<Response, ApiError> {
    let mut events = spawn_reader(upstream);
    let first = match tokio::time::timeout(ping, events.recv()).await {
        Ok(Some(Ok(event))) => Some(event),
        Ok(Some(Err(e))) => return Err(e),
        Ok(None) => {
            return Err(ApiError::Upstream(
                "Bedrock closed the stream before sending anything".into(),
            ))
        }
        Err(_) => None,
    };
    let body = sse_body(StreamState::new(ctx), first, events, ping, log);
    let mut response = Response::new(Body::from_stream(body.map(Ok::<Bytes, Infallible>)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tells nginx-style proxies not to buffer the stream.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

fn spawn_reader(mut upstream: UpstreamEvents) -> Upstream {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                () = tx.closed() => break,
                next = upstream.recv() => next,
            };
            let (item, last) = match next {
                Ok(Some(event)) => (Ok(event), false),
                Ok(None) => break,
                Err(e) => (Err(e), true),
            };
            if tx.send(item).await.is_err() || last {
                break;
            }
        }
        // `upstream` drops here: the HTTP/2 stream or connection to Bedrock closes.
    });
    rx
}

fn sse_body(
    mut state: StreamState,
    first: Option<ConverseStreamOutput>,
    mut upstream: Upstream,
    ping: Duration,
    log: StreamLog,
) -> impl futures::Stream<Item = Bytes> {
    async_stream::stream! {
        let mut guard = EndLog { log, finished: None };
        let mut last_event = tokio::time::Instant::now();
        if let Some(event) = first {
            for e in state.on_event(&event) {
                yield Bytes::from(e.to_bytes());
            }
        } else {
            for e in state.on_start() {
                yield Bytes::from(e.to_bytes());
            }
            yield Bytes::from(SseEvent::ping().to_bytes());
        }
        while !state.is_done() {
            // After `messageStop` only usage is missing: wait for it briefly, not indefinitely.
            let wait = if state.awaits_usage() { USAGE_GRACE.min(ping) } else { ping };
            let produced = match tokio::time::timeout(wait, upstream.recv()).await {
                Err(_) if state.awaits_usage() => state.finish(),
                Err(_) if last_event.elapsed() >= MAX_UPSTREAM_SILENCE => state.fail(&ApiError::Timeout(
                    format!("Bedrock sent nothing for {} s", MAX_UPSTREAM_SILENCE.as_secs()),
                )),
                Err(_) => vec![SseEvent::ping()],
                Ok(Some(Ok(event))) => {
                    last_event = tokio::time::Instant::now();
                    state.on_event(&event)
                }
                Ok(Some(Err(e))) => state.fail(&e),
                Ok(None) => state.finish(),
            };
            for e in produced {
                yield Bytes::from(e.to_bytes());
            }
        }
        guard.finished = Some(match state.failure() {
            Some(kind) => format!("error: {kind}"),
            None => "complete".to_owned(),
        });
        guard.report(&state);
    }
}

/// Logs the end of a stream once: completed, failed, or abandoned by the client (on drop).
struct EndLog {
    log: StreamLog,
    finished: Option<String>,
}

impl EndLog {
    fn report(&mut self, state: &StreamState) {
        let usage = state.final_usage();
        let outcome = self
            .finished
            .take()
            .unwrap_or_else(|| "client disconnected".to_owned());
        tracing::info!(
            request_id = self.log.request_id,
            model = self.log.model,
            key = self.log.key.as_deref(),
            stream = true,
            outcome,
            input_tokens = usage.map(|u| u.input_tokens),
            output_tokens = usage.map(|u| u.output_tokens),
            cache_read_tokens = usage.map(|u| u.cache_read_input_tokens),
            cache_write_tokens = usage.map(|u| u.cache_creation_input_tokens),
            cost_usd = usage.and_then(|u| u.cost.as_ref()).map(|c| c.total_cost),
            cost_estimated = usage.is_some_and(|u| u.cost_estimated),
            "stream ended"
        );
        self.finished = Some(String::new());
    }
}

impl Drop for EndLog {
    fn drop(&mut self) {
        if self.finished.is_none() {
            tracing::info!(
                request_id = self.log.request_id,
                model = self.log.model,
                key = self.log.key.as_deref(),
                stream = true,
                outcome = "client disconnected",
                "stream ended"
            );
        }
    }
}
