//! `POST /v1/messages` through Converse / ConverseStream: every non-Claude model, and Claude with
//! `CHATRIX_CLAUDE_API=converse`. Thin: the conversions are pure ([`crate::convert`]), the calls
//! are [`crate::bedrock`]'s, and the stream shell is [`super::stream`]'s.

use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::deadline::Deadline;
use super::messages::{with_cost, RequestLog};
use super::stream::{StreamLog, Timing};
use super::upstream::{with_upstream, UpstreamPlan};
use crate::anthropic::request::MessagesRequest;
use crate::convert::request::{to_converse, ConverseRequest, ConvertOptions};
use crate::convert::response::{from_converse, ResponseContext};
use crate::convert::stream::{StreamContext, StreamState};
use crate::convert::tools::ToolNameMap;
use crate::error::ApiError;
use crate::models::ResolvedModel;
use crate::native::usage::priced;
use crate::state::AppState;
use crate::tokens;

/// Where a Converse request goes, and by when.
pub(super) struct Route<'a> {
    pub(super) state: &'a AppState,
    pub(super) model: &'a ResolvedModel<'a>,
    pub(super) deadline: Deadline,
    pub(super) plan: &'a UpstreamPlan,
}

/// The Converse path: every non-Claude model, and Claude with `CHATRIX_CLAUDE_API=converse`.
pub(super) async fn converse_message(
    route: Route<'_>,
    mut request: MessagesRequest,
    betas: &[String],
    log: StreamLog,
) -> Result<Response, ApiError> {
    let Route {
        state,
        model,
        deadline,
        plan,
    } = route;
    super::sources::inline_url_sources(&state.fetcher, &mut request).await?;
    let converse = to_converse(&request, &convert_options(state, model, betas))?;
    if !converse.dropped.is_empty() {
        tracing::debug!(dropped = ?converse.dropped, "fields not forwarded to Bedrock");
    }
    let stream = request.stream == Some(true);
    // Sized from the parsed request (images by their headers, never by their base64), which is
    // dropped next: it and the JSON tree hold every base64 payload; only the bytes go on.
    let input_estimate = stream.then(|| tokens::estimate(&request).total());
    drop(request);
    let ConverseRequest {
        body,
        tool_names,
        stop_sequences,
        ..
    } = converse;
    let body = serde_json::to_vec(&body).map_err(|e| ApiError::Internal(e.into()))?;
    let call = Call {
        state,
        model,
        tool_names,
        stop_sequences,
        body: body.into(),
        deadline,
        plan,
    };
    match input_estimate {
        Some(input_estimate) => stream_message(call, log, input_estimate).await,
        None => json_message(call).await,
    }
}

/// One converted request on its way to Bedrock.
struct Call<'a> {
    state: &'a AppState,
    model: &'a ResolvedModel<'a>,
    tool_names: ToolNameMap,
    stop_sequences: Vec<String>,
    body: Bytes,
    deadline: Deadline,
    plan: &'a UpstreamPlan,
}

async fn json_message(call: Call<'_>) -> Result<Response, ApiError> {
    let target = call.plan.target();
    let pool = &call.state.pool;
    let body = &call.body;
    let served = call
        .deadline
        .within(pool.call(&target, |client, id| client.converse(id, body.clone())))
        .await?;
    let output = served.value;
    let ctx = ResponseContext {
        client_model: &call.model.client_model,
        tool_names: &call.tool_names,
        stop_sequences: &call.stop_sequences,
    };
    let mut message = from_converse(&output, &ctx);
    // Priced by the one function every path prices with (streams and the native path too).
    message.usage = priced(
        std::mem::take(&mut message.usage),
        call.model.price.as_ref(),
        call.state.cfg.currency.as_ref(),
    );
    let response = with_upstream(Json(&message).into_response(), &served.upstream);
    Ok(with_cost(response, call.model, &message.usage))
}

/// `input_estimate` goes in `message_start` (never 0: Claude Code ignores a zero input count);
/// the exact count follows in `message_delta`.
async fn stream_message(
    call: Call<'_>,
    log: StreamLog,
    input_estimate: u64,
) -> Result<Response, ApiError> {
    let ctx = StreamContext {
        client_model: call.model.client_model.clone(),
        input_estimate,
        tool_names: call.tool_names,
        stop_sequences: call.stop_sequences,
        price: call.model.price,
        currency: call.state.cfg.currency.clone(),
    };
    let target = call.plan.target();
    let pool = &call.state.pool;
    let body = &call.body;
    let served = call
        .deadline
        .within(pool.call(&target, |client, id| {
            client.converse_stream(id, body.clone())
        }))
        .await?;
    let timing = Timing {
        ping: call.state.cfg.ping_interval,
        deadline: call.deadline,
    };
    let relay = StreamState::new(ctx);
    let response = super::stream::respond(served.value, relay, timing, log).await?;
    let mut response = with_upstream(response, &served.upstream);
    response.extensions_mut().insert(RequestLog {
        model: Some(call.model.client_model.clone()),
        stream: true,
        ..RequestLog::default()
    });
    Ok(response)
}

/// Conversion settings shared by `/v1/messages` and `/v1/messages/count_tokens`.
pub(super) fn convert_options<'a>(
    state: &AppState,
    model: &'a ResolvedModel<'a>,
    betas: &'a [String],
) -> ConvertOptions<'a> {
    ConvertOptions {
        model,
        betas,
        strip_billing_header: state.cfg.strip_billing_header,
    }
}
