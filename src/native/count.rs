//! The `invokeModel` input of bedrock-runtime CountTokens for a Claude model: the body
//! [`to_invoke`] would send for the same request on `/v1/messages` (same rules, betas,
//! billing-header strip and system-message fold), plus the `max_tokens` Bedrock requires and
//! count requests lack, wrapped as `{"input":{"invokeModel":{"body":"<base64>"}}}` (the body is
//! a blob, base64 on the JSON wire; NATIVE.md §6).
//!
//! Pure: no I/O, no logging. `url` sources are replaced by the caller before this runs.

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Map, Value};

use super::request::{to_invoke, NativeOptions, Purpose};
use crate::error::ApiError;

/// The `max_tokens` of a count body. Output tokens are not counted, so the smallest value Bedrock
/// accepts (`max_tokens` ≥ 1) is enough; peers send a small constant too (PROTOCOL.md §10.1).
pub const COUNT_MAX_TOKENS: u64 = 1;

/// The CountTokens request body (`{"input":{"invokeModel":{"body":…}}}`) for the client's count
/// body `body`. `opts.purpose` is ignored: the body is always built for a count.
///
/// # Errors
/// As [`to_invoke`].
pub fn count_tokens_input(body: &[u8], opts: &NativeOptions<'_>) -> Result<Bytes, ApiError> {
    let opts = NativeOptions {
        purpose: Purpose::CountTokens,
        ..*opts
    };
    let native = to_invoke(body, &opts)?;
    Ok(wrap(&native.bytes))
}

/// `{"input":{"invokeModel":{"body":"<base64 of native>"}}}`, written directly: base64 needs no
/// JSON escaping, and a multi-megabyte body is not copied into a `Value` first.
fn wrap(native: &[u8]) -> Bytes {
    const HEAD: &[u8] = br#"{"input":{"invokeModel":{"body":""#;
    const TAIL: &[u8] = br#""}}}"#;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut out = Vec::with_capacity(HEAD.len() + native.len().div_ceil(3) * 4 + TAIL.len());
    out.extend_from_slice(HEAD);
    let mut encoded = String::new();
    engine.encode_string(native, &mut encoded);
    out.extend_from_slice(encoded.as_bytes());
    out.extend_from_slice(TAIL);
    Bytes::from(out)
}

/// The count's `max_tokens`: [`COUNT_MAX_TOKENS`], or one more than a manual thinking budget
/// (Bedrock refuses `max_tokens` ≤ `thinking.budget_tokens`, for a count as for a call). Reads
/// `thinking` after the catalog rules ran, so a budget they turned adaptive no longer counts.
pub(super) fn max_tokens(thinking: Option<&str>) -> u64 {
    let budget = thinking
        .and_then(|t| serde_json::from_str::<Map<String, Value>>(t).ok())
        .filter(|t| t.get("type").and_then(Value::as_str) == Some("enabled"))
        .and_then(|t| t.get("budget_tokens").and_then(Value::as_u64));
    budget.map_or(COUNT_MAX_TOKENS, |b| {
        b.saturating_add(1).max(COUNT_MAX_TOKENS)
    })
}

#[cfg(test)]
#[path = "count_tests.rs"]
mod tests;
