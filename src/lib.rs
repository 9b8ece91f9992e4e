//! Chatrix: the Anthropic Messages API, served by AWS Bedrock.
//!
//! # Layout
//! - [`config`]: every setting, read once from the environment at start-up.
//! - [`telemetry`]: structured logs (JSON for CloudWatch, or text).
//! - [`state`]: [`state::AppState`], what every handler shares (Bedrock client, catalog, keys).
//! - [`routes`]: the route table and the tower layer stack; handlers stay thin.
//! - [`server`]: the HTTP/1.1 connection loop (header and idle timeouts, graceful shutdown).
//! - [`auth`]: API-key extraction and the key-store seam.
//! - [`anthropic`]: Anthropic wire types (requests, responses, errors), serde only;
//!   [`anthropic::events`] is the typed stream-event model (and its SSE framing) both stream
//!   folds build their events from.
//! - [`convert`]: pure functions between Anthropic and Bedrock Converse shapes; no I/O, no logging of
//!   content.
//! - [`native`]: Claude's native path, pure: the InvokeModel body (the client's bytes with named
//!   changes), the chunk relay fold, usage merging, Bedrock's errors in their own words.
//! - [`lambda`]: the Lambda invocation's deadline (from the Web Adapter's context header) and the
//!   time a request may use of it; pure.
//! - [`fetch`]: the one place that downloads `url` image and document sources (SSRF-guarded).
//! - [`bedrock`]: the only module that talks to Bedrock (`aws-sdk-bedrockruntime`, and
//!   [`bedrock::mantle`] for bedrock-mantle's `count_tokens`, signed with `aws-sigv4`); its
//!   [`bedrock::Pool`] holds one client per `CHATRIX_UPSTREAMS` entry and fails over between them.
//! - [`app_profiles`]: the foundation model behind an application inference profile ARN
//!   (`GetInferenceProfile`, cached), so such ARNs are routed and priced by their model.
//! - [`discovery`]: which inference profiles the account can call (`ListInferenceProfiles`, refreshed
//!   in the background, never on the request path).
//! - [`models`]: the model catalog (ids, capabilities, per-model rules, betas, prices) and the
//!   launch-day naming rule; [`pricing`] turns usage into USD.
//! - [`tokens`]: local input-token estimates (count-tokens fallback, stream start); pure.
//! - [`aws`]: the AWS SDK configuration of the gateway's own stores (keys, ledger).
//! - [`ledger`]: spend control: budgets, rate limits and usage rows, in DynamoDB or in-process;
//!   [`cli`]: the `chatrix usage` subcommand that prints them.
//! - [`error`]: [`error::ApiError`], the one error type every client-visible failure goes through.
//! - [`passthrough`]: Bedrock pass-through mode, pure (`/model/{id}/invoke…` and
//!   `/inference-profiles` for clients that speak Bedrock's own protocol, e.g. Claude Code with
//!   `CLAUDE_CODE_USE_BEDROCK=1`); the `bedrock-eventstream` crate (crates/) encodes the frames
//!   it and the emulator send.
//! - [`demo`]: demo mode's upstream, the `bedrock-emulator` crate (crates/, a wire-level Bedrock
//!   emulator for local use and tests) started in-process; the only module that links it, and
//!   only with the default-on `emulator` feature (the container image builds without it).
//!
//! # Request flow (`POST /v1/messages`)
//! 1. `routes` assigns a `request-id` and opens the request's tracing span (key, model, upstream
//!    path and Claude Code session are recorded into it as they become known); one log line at
//!    the end.
//! 2. `auth` checks `x-api-key` / `Authorization: Bearer` before the body is read.
//! 3. The `routes::extract::Incoming` extractor reads the body under its limit into one buffer;
//!    `routes::messages` splits it once ([`anthropic::request::RequestBody`]) and reads the typed
//!    head ([`anthropic::request::MessagesRequest`] without message content; errors name the
//!    field), resolves the model in [`models::Catalog`] (the [`discovery`] snapshot picks the
//!    profile), reads `messages` as far as the model's path needs (typed for Converse, an
//!    [`anthropic::request::Outline`] for the native path), and plans the model's
//!    [`models::rules`]. `routes::spend` then checks the key's model list and has the [`ledger`]
//!    reserve the request's estimate (402 / 429 before Bedrock).
//! 4. Claude, by default (`CHATRIX_CLAUDE_API=invoke`): `routes::native` builds the InvokeModel
//!    body from the split ([`native::request::invoke_parts`], written into the client's own buffer
//!    by [`native::splice`]), [`bedrock::Bedrock::invoke`] / `invoke_stream` send it, and
//!    [`native::response`] or [`native::stream`] relay Bedrock's Anthropic answer with its cost.
//! 5. Other models (and Claude with `converse`), in `routes::converse`: [`fetch`] inlines `url`
//!    sources, [`convert::request::to_converse`] builds the Converse JSON,
//!    [`bedrock::Bedrock::converse`] sends it, and [`convert::response`] / [`convert::stream`] map
//!    the answer back.
//! 6. Either way [`pricing`] adds `usage.cost` and `x-chatrix-cost-usd`; streams go through one
//!    shell (`routes::stream`: pings, cancellation, the end-of-stream log line), which settles the
//!    ledger before the final event; JSON answers are settled in `routes::spend::finish`.

pub mod anthropic;
pub mod app_profiles;
pub mod auth;
pub mod aws;
pub mod bedrock;
pub mod cli;
pub mod config;
pub mod convert;
pub mod demo;
pub mod discovery;
pub mod error;
pub mod fetch;
pub mod lambda;
pub mod ledger;
pub mod models;
pub mod native;
pub mod passthrough;
pub mod pricing;
pub mod routes;
pub mod server;
pub mod state;
pub mod telemetry;
#[cfg(test)]
mod test_support;
pub mod tokens;

pub use routes::{router, serve};
