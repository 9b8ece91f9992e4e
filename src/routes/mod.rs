//! The route table and the layer stack, on one screen.
//!
//! Layers, outermost first:
//! 1. [`request_log`]: assigns the `request-id`, puts it in every error body, logs one line per
//!    request (never keys, prompts or completions).
//! 2. `auth::origin::require_origin`: with `CHATRIX_ORIGIN_SECRET` set, only requests that came
//!    through CloudFront (and `/health`) pass.
//! 3. CORS (only for `CHATRIX_CORS_ORIGINS`), then the request-body idle timeout.
//! 4. `auth::require_key` (route layer on the API routes only): runs before any body is read.
//!
//! Health and `HEAD /` need no key: load balancers and Claude Code's start-up probe call them;
//! nor do the Bedrock pass-through `GET /inference-profiles` routes, which Claude Code's Bedrock
//! control-plane client calls without any credential (a key that is sent is still checked).

mod bedrock_passthrough;
mod body;
mod converse;
mod count_tokens;
mod counting;
mod deadline;
mod extract;
#[cfg(test)]
mod future_sizes_tests;
mod inference_profiles;
mod mantle_body;
mod messages;
mod models;
mod native;
mod passthrough_spend;
mod reports;
mod sources;
mod spend;
mod stream;
mod upstream;
#[cfg(test)]
mod upstream_bodies_tests;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tracing::Instrument;

use crate::auth::{self, AuthedKey, Keys};
use crate::config::CorsOrigins;
use crate::error::{ApiError, ErrorReport};
use crate::server::{serve_router, ConnectionLimits};
use crate::state::AppState;

pub use messages::RequestLog;

/// The whole application; `main` and the tests build it the same way.
pub fn router(state: AppState) -> Router {
    let origin_secret = state
        .cfg
        .origin_secret
        .as_ref()
        .map(|s| Arc::new(auth::origin::OriginSecret::new(s)));
    let api = Router::new()
        .route("/v1/messages", post(messages::create_message))
        .route(
            "/v1/messages/count_tokens",
            post(count_tokens::count_tokens),
        )
        .route("/v1/models", get(models::list_models))
        .route("/v1/models/{model_id}", get(models::get_model))
        // Admin API-shaped reports from the spend ledger; admin keys only (docs/budgets.md).
        .route(
            "/v1/organizations/usage_report/messages",
            get(reports::usage_messages),
        )
        .route("/v1/organizations/cost_report", get(reports::cost))
        // Bedrock pass-through mode (docs/api.md): Bedrock's runtime routes, same keys.
        .route("/model/{*rest}", post(bedrock_passthrough::runtime))
        .route_layer(middleware::from_fn_with_state(
            state.keys.clone(),
            auth::require_key::<Keys>,
        ));
    Router::new()
        .route("/health", get(health))
        .route("/", get(root).head(root))
        // Claude Code's Bedrock control-plane client sends no credential: these need no key.
        .route(
            "/inference-profiles",
            get(inference_profiles::list_profiles),
        )
        .route(
            "/inference-profiles/{*id}",
            get(inference_profiles::get_profile),
        )
        .merge(api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // One stack, outermost first, added as one layer: each `Router::layer` boxes the routes
        // once more, and every request clones each box (an allocation per layer per request).
        .layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn(request_log))
                .option_layer(demo_marker(&state.cfg))
                // No layer at all without a secret (local and container use): one less hop.
                .option_layer(origin_secret.map(|secret| {
                    middleware::from_fn_with_state(secret, auth::origin::require_origin)
                }))
                .option_layer(cors(&state.cfg.cors_origins))
                .layer(RequestBodyTimeoutLayer::new(state.cfg.body_timeout)),
        )
        .with_state(state)
}

/// `x-chatrix-upstream: emulator` on every response of the demo, so that canned answers can
/// never pass for Bedrock's.
fn demo_marker(cfg: &crate::config::Config) -> Option<SetResponseHeaderLayer<HeaderValue>> {
    (cfg.bedrock_mode == crate::config::BedrockMode::Emulator).then(|| {
        SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-chatrix-upstream"),
            HeaderValue::from_static("emulator"),
        )
    })
}

/// CORS for browser apps, only for the origins configured (none by default). Keys travel in
/// headers, never cookies, so credentials stay off; preflights are answered before authentication.
fn cors(origins: &CorsOrigins) -> Option<CorsLayer> {
    let allow = match origins {
        // No layer at all: tower-http's would still answer every OPTIONS and add `Vary`.
        CorsOrigins::None => return None,
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => {
            AllowOrigin::list(list.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
        }
    };
    let layer = CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST, Method::HEAD, Method::OPTIONS])
        // The SDKs add `x-stainless-*` and `anthropic-*` headers that change between releases.
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([
            HeaderName::from_static("request-id"),
            HeaderName::from_static("retry-after"),
            HeaderName::from_static("x-chatrix-cost-usd"),
        ])
        .max_age(Duration::from_secs(3600));
    Some(layer)
}

/// Serves until `shutdown` resolves, then drains in-flight requests.
///
/// # Errors
/// When the listener fails.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = ConnectionLimits {
        header_timeout: state.cfg.header_timeout,
        max_connections: state.cfg.max_connections,
        shutdown_grace: state.cfg.shutdown_grace,
    };
    serve_router(listener, router(state), limits, shutdown).await
}

/// Resolves on ctrl-c or SIGTERM (what Lambda and `docker stop` send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received; draining");
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn root() -> StatusCode {
    StatusCode::OK
}

async fn not_found(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("{method} is not supported on {}", uri.path()))
}

fn new_request_id() -> String {
    format!("req_{}", uuid::Uuid::new_v4().simple())
}

/// The request's id, for handlers that log on their own (streams end after the response head).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Request headers (names and values) the gateway reads, in bytes: real clients send a few KB;
/// CloudFront in front of the Lambda passes at most 20 KB. hyper itself refuses what overflows its
/// ~400 KB read buffer (a bare 431) before any of this runs.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

fn oversized_headers(headers: &axum::http::HeaderMap) -> Option<ApiError> {
    let total: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    (total > MAX_HEADER_BYTES).then(|| {
        ApiError::HeadersTooLarge(format!(
            "request headers are {total} bytes; the limit is {MAX_HEADER_BYTES}"
        ))
    })
}

/// Request id, error envelope completion and the one log line per request.
async fn request_log(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = new_request_id();
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let span = request_span(&request_id, &method, &path, request.headers());
    let mut response = match oversized_headers(request.headers()) {
        Some(refusal) => refusal.into_response(),
        None => next.run(request).instrument(span.clone()).await,
    };
    // The request's own line carries the span's fields (key, model, upstream, session) too.
    let _in_request = span.enter();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("request-id", v);
    }
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let status = response.status().as_u16();
    let key = response
        .extensions()
        .get::<AuthedKey>()
        .map(|k| k.name.clone());
    let log = response
        .extensions()
        .get::<RequestLog>()
        .cloned()
        .unwrap_or_default();
    if let Some(report) = response.extensions().get::<ErrorReport>().cloned() {
        response = with_request_id(response, &report, &request_id);
        let fields = (report.error.kind, report.detail.as_str());
        if report.server_fault {
            tracing::error!(request_id, %method, path, status, latency_ms, model = log.model, key = key.as_deref(), error_type = fields.0, error = fields.1, "request failed");
        } else {
            tracing::info!(request_id, %method, path, status, latency_ms, model = log.model, key = key.as_deref(), error_type = fields.0, error = fields.1, "request rejected");
        }
        return response;
    }
    tracing::info!(
        request_id, %method, path, status, latency_ms,
        model = log.model, key = key.as_deref(), stream = log.stream,
        input_tokens = log.input_tokens, output_tokens = log.output_tokens,
        cache_read_tokens = log.cache_read_tokens, cache_write_tokens = log.cache_write_tokens,
        cost_usd = log.cost_usd, cost_estimated = log.cost_estimated, "request"
    );
    response
}

/// The span every log line of one request carries: its id, method and path, Claude Code's session
/// id when sent, and, once known, the key name ([`auth::require_key`]), the model and the upstream
/// path (`invoke`, `converse`, `passthrough`), recorded when the model is resolved
/// (`messages::resolve_model`, through [`record_route`]).
fn request_span(
    request_id: &str,
    method: &Method,
    path: &str,
    headers: &axum::http::HeaderMap,
) -> tracing::Span {
    let session = headers
        .get("x-claude-code-session-id")
        .and_then(|v| v.to_str().ok())
        .map(|s| crate::anthropic::request::truncate(s, 128));
    tracing::info_span!(
        "request",
        request_id,
        %method,
        path,
        session,
        key = tracing::field::Empty,
        model = tracing::field::Empty,
        upstream = tracing::field::Empty,
    )
}

/// Names the upstream path, and the model when it differs from the one recorded, on the request's
/// span.
fn record_route(model: Option<&str>, upstream: &'static str) {
    let span = tracing::Span::current();
    if let Some(model) = model {
        span.record("model", model);
    }
    span.record("upstream", upstream);
}

/// Re-renders an error body with the `request_id` field Anthropic's envelope carries.
fn with_request_id(response: Response, report: &ErrorReport, request_id: &str) -> Response {
    let (mut parts, _) = response.into_parts();
    let body = crate::error::envelope(&report.error, Some(request_id));
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let mut fresh = (parts.status, Json(body)).into_response();
    for (name, value) in &parts.headers {
        fresh.headers_mut().insert(name, value.clone());
    }
    *fresh.extensions_mut() = parts.extensions;
    fresh
}
