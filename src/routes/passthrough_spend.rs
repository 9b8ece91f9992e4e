//! Spend control for the Bedrock pass-through routes (`/model/{model}/invoke…`): the same model
//! list, admission and settlement as `POST /v1/messages` (`routes::spend`), answered in Bedrock's
//! error form (403 `AccessDeniedException`, 402 `ServiceQuotaExceededException`, 429
//! `ThrottlingException` with `retry-after`).
//!
//! The pass-through never parses the body it relays, so admission estimates the input from the
//! body's length (four bytes a token, at most the model's context window) and reads `max_tokens`
//! in one skim of the body; settlement uses the usage Bedrock reports, so the estimate only sizes
//! the reservation. Streams settle before the chunk carrying Bedrock's invocation metrics (the
//! last one) is sent; a stream the client leaves is billed by the bill's drop with what Bedrock
//! reported or, failing that, what was relayed.

use std::sync::Arc;

use axum::http::HeaderValue;
use axum::response::Response;
use serde::Deserialize;

use super::bedrock_passthrough::fault_response;
use super::spend::{self, Bill, Demand};
use crate::auth::AuthedKey;
use crate::error::ApiError;
use crate::ledger::plan::OUTPUT_ALLOWANCE;
use crate::models::{ModelPrice, ResolvedModel};
use crate::passthrough::meter::Meter;
use crate::passthrough::Fault;
use crate::state::AppState;

/// Bytes of request body per estimated input token (JSON framing included).
const BYTES_PER_TOKEN: u64 = 4;
/// The cap on a length-based estimate when the catalog does not know the context window.
const DEFAULT_CONTEXT: u64 = 200_000;

/// Admits an invocation, or answers the refusal as Bedrock would.
pub(super) async fn admit(
    state: &AppState,
    key: Option<&AuthedKey>,
    model: &ResolvedModel<'_>,
    body: &[u8],
) -> Result<Option<Arc<Bill>>, Response> {
    spend::admit_for(state, key, model, || demand(body, model))
        .await
        .map_err(|e| refusal(&e, model))
}

/// A count-tokens call is free and not counted, but refused as an invocation would be for a
/// model outside the key's list or an admin key: the refusal, if any.
pub(super) fn count_refusal(
    key: Option<&AuthedKey>,
    model: &ResolvedModel<'_>,
) -> Option<Response> {
    spend::check_access(key, model)
        .err()
        .map(|e| refusal(&e, model))
}

/// The estimate from the body's length and its top-level `max_tokens` (the allowance when absent
/// or unreadable: another vendor's body names it otherwise).
fn demand(body: &[u8], model: &ResolvedModel<'_>) -> Demand {
    // Other fields are skipped without being built (serde's `IgnoredAny`).
    #[derive(Deserialize)]
    struct Head {
        max_tokens: Option<u64>,
    }
    let context = model
        .spec
        .and_then(|s| s.context_window)
        .map_or(DEFAULT_CONTEXT, u64::from);
    let input_tokens = (body.len() as u64 / BYTES_PER_TOKEN).clamp(1, context);
    let max_tokens = serde_json::from_slice::<Head>(body)
        .ok()
        .and_then(|h| h.max_tokens)
        .unwrap_or(OUTPUT_ALLOWANCE);
    Demand {
        input_tokens,
        max_tokens,
    }
}

/// The gateway's refusal in Bedrock's form; a rate refusal says when to retry.
fn refusal(error: &ApiError, model: &ResolvedModel<'_>) -> Response {
    let mut response = fault_response(&Fault::from_api_error(error), Some(model));
    if let ApiError::RateLimited {
        retry_after: Some(secs),
        ..
    } = error
    {
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from(*secs));
    }
    response
}

/// Settles a JSON answer (its usage is in the response's log line) or gives back the reservation
/// of a refused call, and adds the rate-limit and budget headers.
pub(super) async fn finish(bill: Option<Arc<Bill>>, response: Response) -> Response {
    match spend::finish(bill, Ok(response)).await {
        Ok(r) => r,
        Err(e) => fault_response(&Fault::from_api_error(&e), None),
    }
}

/// A pass-through stream's bill: fed each chunk's usage, settled before the last chunk leaves.
pub(super) struct StreamBill {
    bill: Option<Arc<Bill>>,
    price: Option<ModelPrice>,
}

impl StreamBill {
    pub(super) fn new(bill: Option<Arc<Bill>>, price: Option<ModelPrice>) -> Self {
        Self { bill, price }
    }

    /// Records what the meter has seen after `chunk` was read, before it is relayed.
    pub(super) fn on_chunk(&self, chunk: &[u8], meter: &Meter) {
        // A text or thinking delta's framing without its text.
        const FRAMING: u64 = 70;
        let Some(bill) = &self.bill else { return };
        let relayed = if chunk.starts_with(br#"{"type":"content_block_delta""#) {
            (chunk.len() as u64).saturating_sub(FRAMING).max(1)
        } else {
            0
        };
        bill.note(meter.counts(), relayed);
    }

    /// Settles with the meter's usage (or, when nothing reported any, what was relayed). Once:
    /// later calls do nothing.
    pub(super) async fn settle(&self, meter: &Meter) {
        let Some(bill) = &self.bill else { return };
        let spent = match meter.usage(self.price.as_ref(), None) {
            Some(usage) => spend::spent_from_usage(&usage),
            None => bill.tally(),
        };
        bill.settle(spent).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bodys_demand_is_its_length_in_tokens_and_its_max_tokens() {
        let catalog = crate::models::Catalog::embedded().expect("catalog");
        let model = catalog
            .resolve("claude-sonnet-4-5", crate::models::InferenceProfile::Global)
            .expect("resolved");
        let body = br#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":50,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"t","input_schema":{"properties":{"max_tokens":{"type":"integer"}}}}]}"#;
        let d = demand(body, &model);
        assert_eq!(d.max_tokens, 50);
        assert_eq!(d.input_tokens, body.len() as u64 / 4);
        let other = demand(br#"{"prompt":"hi","max_gen_len":9}"#, &model);
        assert_eq!(other.max_tokens, OUTPUT_ALLOWANCE);
        assert_eq!(demand(b"", &model).input_tokens, 1);
    }
}
