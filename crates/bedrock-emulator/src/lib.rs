//! A wire-level AWS Bedrock Runtime emulator, for local use (Chatrix's demo mode) and tests.
//! A crate of its own, so the gateway links it only when asked (its `emulator` feature); the
//! `bedrock-emulator` binary (`src/main.rs`) serves it on a port.
//!
//! It speaks the real protocol (rest-json bodies, `x-amzn-errortype` errors, event-stream frames),
//! so the real `aws-sdk-bedrockruntime` client works against it: point `endpoint_url` (or
//! `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`) at [`Emulator::spawn`]'s URL. It never calls AWS.
//!
//! # Surface
//! - `POST /model/{modelId}/converse`, `/converse-stream`, `/count-tokens` (`modelId`
//!   percent-decoded). An `Authorization` header must be present (its value is not checked).
//!   Every response carries `x-amzn-requestid`.
//! - `POST /model/{modelId}/invoke`, `/invoke-with-response-stream`: the native Anthropic path
//!   for Claude ([`native`]; routes, validation order, per-model rules ([`rules`]) and metrics are
//!   documented in docs/emulator.md). Recorded with the exact body text (`raw_body`).
//!   CountTokens also takes `input.invokeModel.body` and validates it the same way.
//! - bedrock-mantle's `POST /anthropic/v1/messages/count_tokens` (recorded as
//!   `MantleCountTokens`; see `mantle.rs`), so one emulator URL serves both endpoints.
//! - The control plane's `GET /inference-profiles` (`ListInferenceProfiles`, for
//!   `AWS_ENDPOINT_URL_BEDROCK`), scriptable through `/_emulator/inference-profiles`: see
//!   `profiles`.
//! - Control routes, without authentication: `POST /_emulator/scripts` (a [`Script`] or an array
//!   of them, queued), `GET /_emulator/requests` (the [`RecordedRequest`]s), `DELETE
//!   /_emulator/requests` (forgets requests, queued scripts and the prompt cache), `GET
//!   /_emulator/stats` (`{"open_streams": n}`, stream bodies still being written), and
//!   `GET`/`POST`/`DELETE /_emulator/throttle` (throttle a share of the model calls: [`Throttle`]).
//!   Only the last [`RECORDED_REQUESTS`] requests are kept, so a long-running emulator (the
//!   gateway's demo mode, a benchmark) stays small.
//!
//! The models are the [`Catalog`]'s (the gateway's data file, `src/models.json`, read with the
//! emulator's own types; see `models`): models with inference profiles are
//! served only through `<geo>.<id>` / `inference-profile/` ARNs; `application-inference-profile`
//! ARNs are an unspecified Claude model; CountTokens wants a bare id of a model [`rules`] says it
//! serves (Claude up to 4.6).
//! Validation is as strict as Bedrock's (see `validate`, `content` and `params`); bodies are parsed with
//! unknown members denied (`wire`).
//!
//! # What the model answers
//! 1. The oldest queued [`Script`], if any (consumed after the request passed validation).
//! 2. Otherwise directives in the text of the last user message (text blocks and the text inside
//!    `toolResult`s):
//!    - `[[emu:text <words>]]` answers exactly that text;
//!    - `[[emu:tool <Name> <json>]]` calls tool `<Name>` with that input (`stopReason` `tool_use`)
//!      if `toolConfig` defines it, else says the tool is not available;
//!    - `[[emu:thinking]]` adds a reasoning block (text + a verifiable `emu-sig-…` signature), and
//!      `[[emu:redacted]]` a `redactedContent` block;
//!    - `[[emu:error <ExceptionName>]]` fails with that exception before any output;
//!    - `[[emu:stream-error <exceptionType> after=<N>]]` sends an exception frame after N content
//!      deltas (Converse / InvokeModel: same as `error`);
//!    - `[[emu:truncate after=<N>]]` cuts the stream mid-frame after N deltas;
//!    - `[[emu:corrupt after=<N>]]` sends a frame whose message checksum fails after N deltas,
//!      then ends the stream;
//!    - `[[emu:silence <ms>]]` waits before the first event, `[[emu:drip <ms>]]` between events;
//!    - `[[emu:long <n>]]` answers n words (for `maxTokens` tests);
//!    - `[[emu:stamp]]` replaces each streamed text delta with its send time, `@<16-digit µs
//!      since the Unix epoch> ` (for benchmarks: a client on the same machine sees each delta's
//!      delivery delay free of timer jitter).
//!
//!    Several directives combine: reasoning blocks, then one text block, then the tool calls.
//!    CountTokens (converse input) honours `error` and `silence` only, and never takes a script.
//! 3. Otherwise the default: `Tool result: <the tool results' text>` when the last user message
//!    carries tool results, else `Hello from the Bedrock emulator.`
//!
//! Then, whatever the source: a reasoning block is prepended when the request enables thinking
//! (and the reply has none); the text is cut before the first of `inferenceConfig.stopSequences`
//! (`stopReason` `stop_sequence`, reported in `additionalModelResponseFields.stop_sequence` when
//! `/stop_sequence` was requested) or at `maxTokens` (`max_tokens`).
//!
//! # Script JSON
//! ```json
//! {"content": [{"text": "I'll look."},
//!              {"tool": {"name": "Bash", "input": {"command": "ls"}, "id": "tooluse_optional"}},
//!              {"thinking": {"text": "…", "signature": "optional"}},
//!              {"redacted": "<base64>"}],
//!  "stop_reason": "end_turn", "stop_sequence": null,
//!  "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 0, "cache_write_input_tokens": 0},
//!  "error": {"type": "ThrottlingException", "message": "optional", "status": 429, "retry_after": 3},
//!  "stream_error_after": 2, "truncate_after": 3, "corrupt_after": 3, "silence_ms": 100, "drip_ms": 10, "times": 1}
//! ```
//! Every member is optional. Empty `content` means the default answer. `error` fails the call
//! before any output unless `stream_error_after` is set (then, in a stream, it arrives as an
//! exception frame after that many deltas); its `retry_after` adds that `retry-after` header (seconds)
//! to the HTTP error. `times` (default 1) is how many calls the script answers.
//!
//! # Usage
//! Input tokens are estimated deterministically (`tokens`; CountTokens uses the same function).
//! Each `cachePoint` marks a prefix: a prefix this instance has seen (within its TTL) is reported
//! as `cacheReadInputTokens`, the rest up to the last checkpoint as `cacheWriteInputTokens` (with
//! `cacheDetails`), and `inputTokens` is the uncached remainder. There is no minimum cacheable
//! length.

mod app_profiles;
mod content;
mod control;
mod converse_rules;
mod error;
mod frame;
mod handlers;
mod mantle;
mod model_id;
mod models;
mod native;
mod output;
mod params;
mod plan;
mod profiles;
mod record;
mod respond;
mod rules;
mod script;
mod stream;
mod throttle;
mod tokens;
mod validate;
mod wire;

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use anyhow::Context;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::Router;

pub use app_profiles::{application_profile_arn, ApplicationProfile};
pub use models::Catalog;
pub use profiles::{catalog_profiles, ListedProfile, ProfilesPatch};
pub(crate) use record::Operation;
pub use record::{RecordedRequest, RECORDED_REQUESTS};
pub use script::{Script, ScriptBlock, ScriptError, ScriptThinking, ScriptTool, UsageOverride};
pub use throttle::{Throttle, ThrottleStatus};

/// Bedrock's request limit is 20 MB; leave room so oversized bodies reach validation.
const BODY_LIMIT: usize = 32 * 1024 * 1024;

/// The emulator: catalog, script queue, recorded requests and prompt-cache memory.
/// Cheap to clone; clones share state.
#[derive(Debug, Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    catalog: Catalog,
    state: Mutex<EmulatorState>,
    /// Stream bodies (ConverseStream, InvokeModelWithResponseStream) still being written; lets
    /// tests see a cancelled upstream call end.
    open_streams: Arc<AtomicUsize>,
    /// Changes to the `ListInferenceProfiles` listing.
    profiles: profiles::Listing,
    /// Scripted application inference profiles (`GetInferenceProfile`).
    app_profiles: app_profiles::Registry,
    /// Throttles a share of the model calls ([`throttle`]).
    throttle: throttle::Switch,
}

#[derive(Debug, Default)]
struct EmulatorState {
    /// Scripts with the number of calls each still answers.
    scripts: VecDeque<(Script, u32)>,
    requests: VecDeque<RecordedRequest>,
    cache: tokens::CacheMemory,
}

impl Emulator {
    /// An emulator serving the embedded model catalog.
    ///
    /// # Errors
    /// Only if the embedded catalog is malformed.
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self::with_catalog(Catalog::embedded()?))
    }

    /// An emulator serving the models of `catalog`.
    pub fn with_catalog(catalog: Catalog) -> Self {
        Self {
            inner: Arc::new(Inner {
                catalog,
                state: Mutex::new(EmulatorState::default()),
                open_streams: Arc::new(AtomicUsize::new(0)),
                profiles: profiles::Listing::default(),
                app_profiles: app_profiles::Registry::default(),
                throttle: throttle::Switch::default(),
            }),
        }
    }

    /// The model a runtime `modelId` names: a scripted application profile's foundation model,
    /// or what [`model_id::for_inference`] makes of the id.
    pub(crate) fn model_for(&self, id: &str) -> Result<model_id::Model, error::BedrockError> {
        match self.application_model(id) {
            Some(base) => Ok(model_id::for_application(self.catalog(), id, &base)),
            None => model_id::for_inference(self.catalog(), id),
        }
    }

    /// The Bedrock routes and the `/_emulator` control routes.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/model/{model_id}/converse", post(handlers::converse))
            .route(
                "/model/{model_id}/converse-stream",
                post(handlers::converse_stream),
            )
            .route(
                "/model/{model_id}/count-tokens",
                post(handlers::count_tokens),
            )
            .route("/model/{model_id}/invoke", post(native::invoke))
            .route(
                "/model/{model_id}/invoke-with-response-stream",
                post(native::invoke_stream),
            )
            .route(
                "/anthropic/v1/messages/count_tokens",
                post(mantle::count_tokens),
            )
            .route("/_emulator/scripts", post(control::push_scripts))
            .route(
                "/_emulator/requests",
                get(control::list_requests).delete(control::clear_requests),
            )
            .route("/_emulator/stats", get(control::stats))
            .route(
                "/_emulator/throttle",
                get(throttle::status)
                    .post(throttle::set)
                    .delete(throttle::clear),
            )
            .route("/inference-profiles", get(profiles::list))
            .route("/inference-profiles/{*id}", get(app_profiles::get))
            .route(
                "/_emulator/application-profiles",
                post(app_profiles::add).delete(app_profiles::clear),
            )
            .route(
                "/_emulator/inference-profiles",
                post(profiles::patch).delete(profiles::reset),
            )
            .fallback(control::unknown_operation)
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .layer(axum::middleware::map_response(control::add_request_id))
            .with_state(self.clone())
    }

    /// Binds `127.0.0.1:port` (0 = a free port), serves in a background task and returns the
    /// base URL, e.g. `http://127.0.0.1:41234`. Sockets get `TCP_NODELAY`, as Bedrock's do:
    /// without it an event stream's small frames wait on Nagle's algorithm and delayed ACKs.
    ///
    /// # Errors
    /// When the port cannot be bound.
    pub async fn spawn(&self, port: u16) -> anyhow::Result<String> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .with_context(|| format!("binding the Bedrock emulator to 127.0.0.1:{port}"))?;
        let addr = listener
            .local_addr()
            .context("reading the emulator's address")?;
        let app = self.router();
        tokio::spawn(async move {
            let listener = listener.tap_io(|tcp| {
                if let Err(e) = tcp.set_nodelay(true) {
                    tracing::debug!(error = %e, "could not set TCP_NODELAY");
                }
            });
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "Bedrock emulator stopped");
            }
        });
        Ok(format!("http://{addr}"))
    }

    /// Stream responses still in flight (a closed connection ends one).
    pub fn open_streams(&self) -> usize {
        self.inner.open_streams.load(Ordering::SeqCst)
    }

    /// Counts one open stream until the returned guard is dropped with the response body.
    pub(crate) fn stream_guard(&self) -> stream::OpenStream {
        stream::OpenStream::new(self.inner.open_streams.clone())
    }

    /// Queues a scripted response; scripts are used in order, before any directive.
    pub fn push_script(&self, script: Script) {
        let times = script.times.unwrap_or(1).max(1);
        self.state().scripts.push_back((script, times));
    }

    /// Forgets recorded requests, queued scripts and cached prompt prefixes.
    pub fn clear(&self) {
        let mut state = self.state();
        state.requests.clear();
        state.scripts.clear();
        state.cache.clear();
    }

    fn state(&self) -> MutexGuard<'_, EmulatorState> {
        // A panic while holding the lock cannot leave this plain data inconsistent.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// The switch's throttle if this call is one (the queue is left as it is), else the oldest
    /// queued script.
    pub(crate) fn next_script(&self) -> Option<Script> {
        if let Some(throttled) = self.inner.throttle.next() {
            return Some(throttled);
        }
        let mut state = self.state();
        let (script, left) = state.scripts.front_mut()?;
        *left -= 1;
        let script = script.clone();
        if *left == 0 {
            state.scripts.pop_front();
        }
        Some(script)
    }

    pub(crate) fn account(&self, prompt: &tokens::Prompt) -> tokens::InputUsage {
        self.state().cache.account(prompt, Instant::now())
    }
}
