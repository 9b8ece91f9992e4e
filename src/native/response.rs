//! The InvokeModel answer relayed: Bedrock's Anthropic Message bytes with `model` set to the name
//! the client sent and `usage` carrying `cost` (and `cost_estimated`); content is never parsed.
//! Pure.

use std::borrow::Cow;

use indexmap::IndexMap;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::stream::NativeContext;
use super::usage::{self, Reported};
use crate::anthropic::response::Usage;
use crate::error::ApiError;

/// The client's body and the usage it reports (for the request log and the cost header).
#[derive(Debug)]
pub struct RelayedMessage {
    pub bytes: Vec<u8>,
    pub usage: Usage,
}

/// Relays a non-streaming answer.
///
/// # Errors
/// [`ApiError::Upstream`] when Bedrock's body is not a JSON object.
pub fn relay_message(body: &[u8], ctx: &NativeContext) -> Result<RelayedMessage, ApiError> {
    let unreadable = |_| ApiError::Upstream("Bedrock sent a Message that is not JSON".into());
    let mut fields: IndexMap<Cow<'_, str>, Cow<'_, RawValue>> =
        serde_json::from_slice::<IndexMap<Cow<'_, str>, &RawValue>>(body)
            .map_err(unreadable)?
            .into_iter()
            .map(|(k, v)| (k, Cow::Borrowed(v)))
            .collect();
    let mut reported_usage: Map<String, Value> = match fields.get("usage") {
        Some(v) => serde_json::from_str(v.get()).map_err(unreadable)?,
        None => Map::new(),
    };
    let reported: Reported =
        serde_json::from_value(Value::Object(reported_usage.clone())).unwrap_or_default();
    let usage = usage::priced(
        reported.to_usage(),
        ctx.price.as_ref(),
        ctx.currency.as_ref(),
    );
    usage::write_into(&mut reported_usage, &usage);
    let owned = |v: &Value| {
        serde_json::value::to_raw_value(v)
            .map(Cow::Owned)
            .map_err(|e| ApiError::Internal(e.into()))
    };
    fields.insert(
        "model".into(),
        owned(&Value::String(ctx.client_model.clone()))?,
    );
    fields.insert("usage".into(), owned(&Value::Object(reported_usage))?);
    let bytes = serde_json::to_vec(&fields).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(RelayedMessage { bytes, usage })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::models::{ModelPrice, Price};

    #[test]
    fn the_message_keeps_its_bytes_and_gains_the_clients_model_and_cost() {
        let content = r#"[{"type":"text","text":"caf\u00e9"},{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"z":1,"a":2}}]"#;
        let body = format!(
            r#"{{"id":"msg_bdrk_1","type":"message","role":"assistant","model":"claude-opus-5-5","content":{content},"stop_reason":"tool_use","stop_sequence":null,"usage":{{"input_tokens":100,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":10}}}}"#
        );
        let ctx = NativeContext {
            client_model: "opus".into(),
            input_estimate: 1,
            price: Some(ModelPrice {
                base: Price {
                    input: 4.0,
                    output: 20.0,
                    cache_write: None,
                    cache_read: None,
                },
                long_context: None,
                estimated: true,
            }),
            currency: None,
        };
        let out = relay_message(body.as_bytes(), &ctx).expect("relays");
        let text = String::from_utf8(out.bytes).expect("utf8");
        assert!(text.contains(content), "{text}");
        let v: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["model"], "opus");
        assert_eq!(v["usage"]["cost"]["total_cost"], json!(0.0006));
        assert_eq!(v["usage"]["cost_estimated"], true);
        assert_eq!(out.usage.output_tokens, 10);
        assert!(relay_message(b"not json", &ctx).is_err());
    }
}
