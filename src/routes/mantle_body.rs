//! The Anthropic body and betas bedrock-mantle's `count_tokens` is asked with: the client's own
//! body, made to count what a real request would send. Pure.
//!
//! - `model` becomes the bare Bedrock id (`anthropic.claude-…`): mantle takes no profile ids.
//! - Fields that only steer generation (`max_tokens`, sampling, `stream`, …) are dropped: the
//!   Anthropic count endpoint rejects them, and they cost no input tokens.
//! - `url` image and document sources become the same text stand-in as on the runtime path (their
//!   estimate is added by the caller), so nothing is downloaded for a count.
//! - Claude Code's billing-header system block is dropped when the real request would drop it.
//! - Betas are the client's, less those the catalog does not allow for the model (as for a real
//!   request: an unknown beta would fail the whole count).

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::anthropic::request::beta_values;
use crate::models::ResolvedModel;
use crate::tokens::stand_in_url_values;

/// Members of a Messages request that carry no input tokens.
const GENERATION_ONLY: [&str; 9] = [
    "max_tokens",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "stream",
    "metadata",
    "service_tier",
    "container",
];
/// Claude Code's per-build system block (stripped on the real request by default).
const BILLING_PREFIX: &str = "x-anthropic-billing-header:";

/// How the body is prepared.
pub(super) struct MantleBodyOptions<'a> {
    /// The bare Bedrock id the body names.
    pub base_id: &'a str,
    /// `CHATRIX_STRIP_BILLING_HEADER`.
    pub strip_billing_header: bool,
}

/// The count body, or `None` when `raw` is not a JSON object (it parsed once already, so only
/// a bug gets here).
pub(super) fn mantle_body(raw: &[u8], opts: &MantleBodyOptions<'_>) -> Option<Bytes> {
    let mut body: Map<String, Value> = serde_json::from_slice(raw).ok()?;
    body.insert("model".into(), Value::String(opts.base_id.to_owned()));
    for key in GENERATION_ONLY {
        body.remove(key);
    }
    if let Some(messages) = body.get_mut("messages") {
        stand_in_url_values(messages);
    }
    if opts.strip_billing_header {
        if let Some(Value::Array(system)) = body.get_mut("system") {
            system.retain(|block| {
                !block
                    .get("text")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.trim_start().starts_with(BILLING_PREFIX))
            });
        }
    }
    serde_json::to_vec(&body).ok().map(Bytes::from)
}

/// The client's `anthropic-beta` values (headers may repeat and hold comma lists) that the
/// catalog allows for the model, each once.
pub(super) fn mantle_betas(headers: &[String], model: &ResolvedModel<'_>) -> Vec<String> {
    beta_values(headers.iter().map(String::as_str))
        .into_iter()
        .filter(|b| model.allows_beta(b))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{Catalog, InferenceProfile};
    use crate::tokens::URL_STAND_IN;
    use serde_json::json;

    fn prepared(body: &Value) -> Value {
        let opts = MantleBodyOptions {
            base_id: "anthropic.claude-opus-5",
            strip_billing_header: true,
        };
        let bytes = mantle_body(body.to_string().as_bytes(), &opts).expect("object");
        serde_json::from_slice(&bytes).expect("json")
    }

    #[test]
    fn the_body_names_the_bare_id_and_keeps_only_what_is_read() {
        let body = prepared(&json!({
            "model": "claude-opus-5", "max_tokens": 100, "temperature": 0.5, "stream": true,
            "system": [{"type": "text", "text": "x-anthropic-billing-header: cc_version=1;"},
                       {"type": "text", "text": "You help with boats."}],
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"name": "t", "input_schema": {"type": "object"}}],
            "thinking": {"type": "adaptive"}
        }));
        assert_eq!(body["model"], "anthropic.claude-opus-5");
        for gone in ["max_tokens", "temperature", "stream"] {
            assert!(body.get(gone).is_none(), "{gone}");
        }
        assert_eq!(body["system"].as_array().map(Vec::len), Some(1));
        assert_eq!(body["system"][0]["text"], "You help with boats.");
        assert_eq!(body["tools"][0]["name"], "t");
        assert_eq!(body["thinking"]["type"], "adaptive");
    }

    #[test]
    fn url_sources_are_stood_in_everywhere_the_runtime_path_does() {
        let url_image = json!({"type": "image", "source": {"type": "url", "url": "https://x.invalid/a.png"},
                               "cache_control": {"type": "ephemeral"}});
        let body = prepared(&json!({"messages": [{"role": "user", "content": [
            url_image,
            {"type": "tool_result", "tool_use_id": "t1", "content": [url_image]},
            {"type": "document", "source": {"type": "content", "content": [url_image]}},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA=="}}
        ]}]}));
        let text = body.to_string();
        assert!(!text.contains("x.invalid"), "{text}");
        let blocks = &body["messages"][0]["content"];
        assert_eq!(blocks[0]["text"], URL_STAND_IN);
        assert_eq!(blocks[0]["cache_control"]["type"], "ephemeral");
        assert_eq!(blocks[1]["content"][0]["text"], URL_STAND_IN);
        assert_eq!(blocks[2]["source"]["content"][0]["text"], URL_STAND_IN);
        assert_eq!(blocks[3]["source"]["type"], "base64");
    }

    #[test]
    fn betas_are_the_clients_that_the_model_allows() {
        let catalog = Catalog::embedded().expect("catalog");
        let model = catalog
            .resolve("claude-sonnet-4-5", InferenceProfile::Global)
            .expect("resolves");
        let allowed = model
            .spec
            .and_then(|s| s.betas.first().cloned())
            .expect("the catalog lists a beta for Sonnet 4.5");
        let headers = vec![
            format!("claude-code-20250219, {allowed}"),
            allowed.clone(),
            "not-a-beta".to_owned(),
        ];
        assert_eq!(mantle_betas(&headers, &model), vec![allowed]);
    }
}
