//! The async shell around a stream fold ([`Relay`]: the Converse fold, or the native chunk relay):
//! Bedrock events in, SSE bytes out, flushed one by one.
//!
//! The SSE body owns the upstream receiver, wrapped as a stream ([`event_stream`]) that keeps
//! the receive in progress: the body waits on it with the ping interval as its timeout, so a long
//! silence — thinking, or before the first token — still sends `event: ping`, and a timeout loses
//! nothing. When the client goes away, hyper drops the body, and with it the receiver: the
//! Bedrock call is cancelled, even while Bedrock is silent. No task or channel of ours sits
//! between the SDK's receiver and the client (the SDK's HTTP connection still runs in hyper's
//! own task), so events mostly stay on one worker thread on their way out.
//!
//! Errors before the first event are returned as a normal HTTP error when they arrive within one
//! ping interval (clients retry 429/529 only then); afterwards they become an `event: error`.
//!
//! On Lambda every wait also ends at the request's [`Deadline`]: the stream then closes with an
//! `overloaded_error` event and its log line (outcome `deadline`) before Lambda stops the process.

use std::convert::Infallible;
use std::time::Duration;

use std::future::Future;

use aws_sdk_bedrockruntime::types::ConverseStreamOutput;
use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use tracing::Instrument;

use crate::anthropic::events::StreamEvent;
use crate::anthropic::response::Usage;
use crate::bedrock::{UpstreamChunks, UpstreamEvents};
use crate::convert::stream::StreamState;
use crate::error::ApiError;
use crate::native::stream::NativeStream;

use super::deadline::{self, Deadline};

/// A Bedrock event stream.
pub(super) trait Source: Send + 'static {
    type Event: Send + 'static;
    fn recv(&mut self) -> impl Future<Output = Result<Option<Self::Event>, ApiError>> + Send;
}

impl Source for UpstreamEvents {
    type Event = ConverseStreamOutput;
    fn recv(&mut self) -> impl Future<Output = Result<Option<Self::Event>, ApiError>> + Send {
        UpstreamEvents::recv(self)
    }
}

impl Source for UpstreamChunks {
    type Event = Bytes;
    fn recv(&mut self) -> impl Future<Output = Result<Option<Self::Event>, ApiError>> + Send {
        UpstreamChunks::recv(self)
    }
}

/// A pure fold from upstream events to SSE bytes (no clock, no I/O).
pub(super) trait Relay: Send + 'static {
    type Event;
    /// What to send when no event arrived within the first ping interval.
    fn start(&mut self) -> Vec<Bytes>;
    fn on_event(&mut self, event: &Self::Event) -> Vec<Bytes>;
    fn fail(&mut self, error: &ApiError) -> Vec<Bytes>;
    fn finish(&mut self) -> Vec<Bytes>;
    fn is_done(&self) -> bool;
    /// The message is over but its usage has not arrived yet.
    fn awaits_usage(&self) -> bool;
    fn failure(&self) -> Option<&'static str>;
    fn final_usage(&self) -> Option<&Usage>;
    /// Usage Bedrock has reported before the end (spend control bills abandoned streams by it).
    fn reported(&self) -> Option<crate::pricing::TokenCounts> {
        None
    }
}

fn sse(events: Vec<StreamEvent>) -> Vec<Bytes> {
    events.into_iter().map(|e| e.to_sse()).collect()
}

impl Relay for StreamState {
    type Event = ConverseStreamOutput;
    fn start(&mut self) -> Vec<Bytes> {
        sse(self.on_start())
    }
    fn on_event(&mut self, event: &ConverseStreamOutput) -> Vec<Bytes> {
        sse(StreamState::on_event(self, event))
    }
    fn fail(&mut self, error: &ApiError) -> Vec<Bytes> {
        sse(StreamState::fail(self, error))
    }
    fn finish(&mut self) -> Vec<Bytes> {
        sse(StreamState::finish(self))
    }
    fn is_done(&self) -> bool {
        StreamState::is_done(self)
    }
    fn awaits_usage(&self) -> bool {
        StreamState::awaits_usage(self)
    }
    fn failure(&self) -> Option<&'static str> {
        StreamState::failure(self)
    }
    fn final_usage(&self) -> Option<&Usage> {
        StreamState::final_usage(self)
    }
}

impl Relay for NativeStream {
    type Event = Bytes;
    fn start(&mut self) -> Vec<Bytes> {
        NativeStream::start(self)
    }
    fn on_event(&mut self, chunk: &Bytes) -> Vec<Bytes> {
        self.on_chunk(chunk)
    }
    fn fail(&mut self, error: &ApiError) -> Vec<Bytes> {
        NativeStream::fail(self, error)
    }
    fn finish(&mut self) -> Vec<Bytes> {
        NativeStream::finish(self)
    }
    fn is_done(&self) -> bool {
        NativeStream::is_done(self)
    }
    fn awaits_usage(&self) -> bool {
        NativeStream::awaits_usage(self)
    }
    fn failure(&self) -> Option<&'static str> {
        NativeStream::failure(self)
    }
    fn final_usage(&self) -> Option<&Usage> {
        NativeStream::final_usage(self)
    }
    fn reported(&self) -> Option<crate::pricing::TokenCounts> {
        NativeStream::reported_counts(self)
    }
}

/// Upstream events; ends after the first error.
type Upstream<E> = BoxStream<'static, Result<E, ApiError>>;

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
    /// Spend control's bill, settled before the final event leaves (`routes::spend`).
    pub(super) bill: Option<std::sync::Arc<super::spend::Bill>>,
    /// The request's span: the body is polled after the handler returned, outside it.
    pub(super) span: tracing::Span,
}

/// How a stream is paced: the ping interval, and the deadline it must end by.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timing {
    pub(super) ping: Duration,
    pub(super) deadline: Deadline,
}

/// Starts relaying `upstream` as an SSE response.
///
/// # Errors
/// An upstream failure that arrives before any event and within one ping interval, and a
/// deadline reached before any event.
pub(super) async fn respond<S, R>(
    upstream: S,
    relay: R,
    timing: Timing,
    log: StreamLog,
) -> Result<Response, ApiError>
where
    S: Source,
    R: Relay<Event = S::Event>,
{
    let mut events = event_stream(upstream);
    let wait = timing.deadline.cap(timing.ping);
    let first = match tokio::time::timeout(wait, events.next()).await {
        Ok(Some(Ok(event))) => Some(event),
        Ok(Some(Err(e))) => return Err(e),
        Ok(None) => {
            return Err(ApiError::Upstream(
                "Bedrock closed the stream before sending anything".into(),
            ))
        }
        Err(_) if timing.deadline.passed() => return Err(deadline::reached()),
        Err(_) => None,
    };
    let body = sse_body(relay, first, events, timing, log);
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

/// `upstream` as a stream. The receive in progress lives inside the stream, so dropping a
/// `next()` at a ping timeout loses nothing; each receive runs in the request's span, as the
/// handler's own work does. Ends at Bedrock's end or after its first error.
fn event_stream<S: Source>(upstream: S) -> Upstream<S::Event> {
    let span = tracing::Span::current();
    futures::stream::unfold(Some(upstream), move |state| {
        let span = span.clone();
        async move {
            let mut upstream = state?;
            match upstream.recv().instrument(span).await {
                Ok(Some(event)) => Some((Ok(event), Some(upstream))),
                Ok(None) => None,
                // `upstream` drops here: the HTTP/2 stream or connection to Bedrock closes.
                Err(e) => Some((Err(e), None)),
            }
        }
    })
    // Ended for good: a poll after the end gets `None`, not `Unfold`'s panic.
    .fuse()
    .boxed()
}

fn sse_body<R: Relay>(
    mut state: R,
    first: Option<R::Event>,
    mut upstream: Upstream<R::Event>,
    timing: Timing,
    log: StreamLog,
) -> impl futures::Stream<Item = Bytes>
where
    R::Event: Send + 'static,
{
    async_stream::stream! {
        let mut guard = EndLog { log, finished: None };
        let mut last_event = tokio::time::Instant::now();
        if let Some(event) = first {
            let produced = state.on_event(&event);
            super::spend::after_batch(guard.log.bill.as_ref(), &state, &produced).await;
            for e in produced {
                yield e;
            }
        } else {
            for e in state.start() {
                yield e;
            }
            yield StreamEvent::Ping.to_sse();
        }
        let (ping, deadline) = (timing.ping, timing.deadline);
        let mut cut = false;
        while !state.is_done() {
            // After `messageStop` only usage is missing: wait for it briefly, not indefinitely.
            let wait = if state.awaits_usage() { USAGE_GRACE.min(ping) } else { ping };
            let produced = match tokio::time::timeout(deadline.cap(wait), upstream.next()).await {
                Err(_) if state.awaits_usage() => state.finish(),
                Err(_) if deadline.passed() => {
                    cut = true;
                    state.fail(&deadline::reached())
                }
                Err(_) if last_event.elapsed() >= MAX_UPSTREAM_SILENCE => state.fail(&ApiError::Timeout(
                    format!("Bedrock sent nothing for {} s", MAX_UPSTREAM_SILENCE.as_secs()),
                )),
                Err(_) => vec![StreamEvent::Ping.to_sse()],
                Ok(Some(Ok(event))) => {
                    last_event = tokio::time::Instant::now();
                    state.on_event(&event)
                }
                Ok(Some(Err(e))) => state.fail(&e),
                Ok(None) => state.finish(),
            };
            // Spend is written before the final event leaves: Lambda may freeze after it.
            super::spend::after_batch(guard.log.bill.as_ref(), &state, &produced).await;
            for e in produced {
                yield e;
            }
        }
        guard.finished = Some(match state.failure() {
            _ if cut => "deadline".to_owned(),
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
    fn line(&self) -> StreamEnd<'_> {
        StreamEnd {
            request_id: &self.log.request_id,
            model: &self.log.model,
            key: self.log.key.as_deref(),
            span: &self.log.span,
            passthrough: false,
        }
    }

    fn report<R: Relay>(&mut self, state: &R) {
        let outcome = self
            .finished
            .take()
            .unwrap_or_else(|| "client disconnected".to_owned());
        // After a failure (or the deadline) the counts are what was known when it ended.
        let partial = state.failure().is_some();
        self.line().log(&outcome, state.final_usage(), partial);
        self.finished = Some(String::new());
    }
}

impl Drop for EndLog {
    fn drop(&mut self) {
        if self.finished.is_none() {
            self.line().log("client disconnected", None, false);
        }
    }
}

/// Who one `stream ended` line is about: the SSE relay's and the Bedrock pass-through's.
pub(super) struct StreamEnd<'a> {
    pub(super) request_id: &'a str,
    pub(super) model: &'a str,
    pub(super) key: Option<&'a str>,
    /// The request's span: the line is written after the handler returned, outside it.
    pub(super) span: &'a tracing::Span,
    pub(super) passthrough: bool,
}

impl StreamEnd<'_> {
    /// The line, in the request's span; `usage` is `None` when the client left before any.
    pub(super) fn log(&self, outcome: &str, usage: Option<&Usage>, partial: bool) {
        let _in_request = self.span.clone().entered();
        let line = super::messages::RequestLog::of_usage(usage);
        tracing::info!(
            request_id = self.request_id,
            model = self.model,
            key = self.key,
            stream = true,
            passthrough = self.passthrough,
            outcome,
            input_tokens = line.input_tokens,
            output_tokens = line.output_tokens,
            cache_read_tokens = line.cache_read_tokens,
            cache_write_tokens = line.cache_write_tokens,
            cost_usd = line.cost_usd,
            cost_estimated = line.cost_estimated,
            usage_partial = partial,
            "stream ended"
        );
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
