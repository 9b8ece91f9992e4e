//! The InvokeModel answer relayed: Bedrock's Anthropic Message bytes with `model` set to the name
//! the client sent and `usage` carrying `cost` (and `cost_estimated`); content is never parsed,
//! and every value is written back as Bedrock's bytes but those two and the counts in `usage`
//! (keys are written decoded, and a key sent twice once, with its last value). Pure.

use serde::Serialize;
use serde_json::value::RawValue;

use super::stream::NativeContext;
use super::usage::{self, RawObject};
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
/// [`ApiError::Upstream`] when Bedrock's body, or its `usage`, is not a JSON object.
pub fn relay_message(body: &[u8], ctx: &NativeContext) -> Result<RelayedMessage, ApiError> {
    let unreadable = || ApiError::Upstream("Bedrock sent a Message that is not JSON".into());
    let fields: RawObject<'_> = serde_json::from_slice(body).map_err(|_| unreadable())?;
    let bedrock_usage: RawObject<'_> = match fields.get("usage") {
        Some(v) => serde_json::from_str(v.get()).map_err(|_| unreadable())?,
        None => RawObject::new(),
    };
    let usage = usage::priced(
        usage::reported_in(&bedrock_usage).to_usage(),
        ctx.price.as_ref(),
        ctx.currency.as_ref(),
    );
    let ours_text = usage::ours_text(&usage);
    let ours: RawObject<'_> =
        serde_json::from_str(&ours_text).map_err(|e| ApiError::Internal(e.into()))?;
    let usage_fields = usage::merged(&bedrock_usage, &ours);
    // Bedrock's fields in Bedrock's order, two of them written anew; appended if Bedrock left
    // them out.
    let mut out: Vec<(&str, Field<'_>)> = Vec::with_capacity(fields.len() + 2);
    let (mut model, mut usage_field) = (
        Some(ctx.client_model.as_str()),
        Some(Entries(&usage_fields)),
    );
    for (key, raw) in &fields {
        let field = match key.0.as_ref() {
            "model" => model.take().map_or(Field::Raw(raw), Field::Text),
            "usage" => usage_field.take().map_or(Field::Raw(raw), Field::Object),
            _ => Field::Raw(raw),
        };
        out.push((key.0.as_ref(), field));
    }
    out.extend(model.map(|m| ("model", Field::Text(m))));
    out.extend(usage_field.map(|u| ("usage", Field::Object(u))));
    let bytes = serde_json::to_vec(&Entries(&out)).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(RelayedMessage { bytes, usage })
}

/// One field of the relayed Message.
#[derive(Serialize)]
#[serde(untagged)]
enum Field<'a> {
    Raw(&'a RawValue),
    Text(&'a str),
    Object(Entries<'a, &'a RawValue>),
}

/// Fields in order, as one JSON object (serialized straight into the answer's bytes).
#[derive(Clone, Copy)]
struct Entries<'a, V>(&'a [(&'a str, V)]);

impl<V: Serialize> Serialize for Entries<'_, V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::models::{ModelPrice, Price};

    #[test]
    fn the_message_keeps_its_bytes_and_gains_the_clients_model_and_cost() {
        let content = r#"[{"type":"text","text":"caf\u00e9"},{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"z":1,"a":2}}]"#;
        let body = format!(
            r#"{{"id":"msg_bdrk_1","type":"message","role":"assistant","model":"claude-opus-5-5","content":{content},"stop_reason":"tool_use","stop_sequence":null,"usage":{{"input_tokens":100,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":10}}}}"#
        );
        // An estimated price, without cache rates.
        let ctx = opus(None, true);
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

    /// Opus at $4 / $20 a million tokens, with cache write / read rates when given.
    fn opus(cache: Option<(f64, f64)>, estimated: bool) -> NativeContext {
        NativeContext {
            client_model: "opus".into(),
            input_estimate: 1,
            price: Some(ModelPrice {
                base: Price {
                    input: 4.0,
                    output: 20.0,
                    cache_write: cache.map(|(write, _)| write),
                    cache_read: cache.map(|(_, read)| read),
                },
                long_context: None,
                estimated,
            }),
            currency: None,
        }
    }

    fn unpriced() -> NativeContext {
        NativeContext {
            client_model: "sonnet".into(),
            input_estimate: 1,
            price: None,
            currency: None,
        }
    }

    #[test]
    fn bedrocks_field_order_is_kept_and_a_missing_model_or_usage_is_appended() {
        let body = br#"{"id":"msg_1","z_extra":{"b":1,"a":2},"model":"anthropic.claude","stop_sequence":null}"#;
        let out = relay_message(body, &unpriced()).expect("relays");
        let text = String::from_utf8(out.bytes).expect("utf8");
        assert!(
            text.starts_with(
                r#"{"id":"msg_1","z_extra":{"b":1,"a":2},"model":"sonnet","stop_sequence":null,"usage":{"#
            ),
            "{text}"
        );
        let without_model =
            relay_message(br#"{"usage":{"output_tokens":3}}"#, &unpriced()).expect("relays");
        let v: Value = serde_json::from_slice(&without_model.bytes).expect("json");
        assert_eq!(v["model"], "sonnet");
        assert_eq!(v["usage"]["output_tokens"], 3);
        assert_eq!(without_model.usage.output_tokens, 3);
    }

    /// Every count Bedrock reports, and keys the gateway does not know.
    const FULL_USAGE: &str = r#"{"input_tokens":12,"cache_creation_input_tokens":3,"cache_read_input_tokens":4,"cache_creation":{"ephemeral_5m_input_tokens":3,"ephemeral_1h_input_tokens":0},"output_tokens":5,"service_tier":"standard","server_tool_use":{"web_search_requests":1}}"#;

    #[test]
    fn bedrocks_usage_keeps_its_keys_in_place_and_gains_the_counts_it_lacked() {
        let full = FULL_USAGE;
        let zeros = r#""cache_creation_input_tokens":0,"cache_read_input_tokens":0"#;
        for (usage, expected) in [
            // Every count present, keys the gateway does not know kept where Bedrock put them.
            (full.to_owned(), full.to_owned()),
            // Only what a short answer may carry: the rest appended, in the stream's order.
            (
                r#"{"output_tokens":5}"#.to_owned(),
                format!(r#"{{"output_tokens":5,"input_tokens":0,{zeros}}}"#),
            ),
            // A key twice: the last value, in the first one's place.
            (
                r#"{"input_tokens":1,"output_tokens":2,"input_tokens":7}"#.to_owned(),
                format!(r#"{{"input_tokens":7,"output_tokens":2,{zeros}}}"#),
            ),
            (
                "{}".to_owned(),
                format!(r#"{{"input_tokens":0,"output_tokens":0,{zeros}}}"#),
            ),
        ] {
            let body = format!(r#"{{"id":"msg_1","model":"anthropic.x","usage":{usage},"z":[1]}}"#);
            let out = relay_message(body.as_bytes(), &unpriced()).expect("relays");
            assert_eq!(
                String::from_utf8(out.bytes).expect("utf8"),
                format!(r#"{{"id":"msg_1","model":"sonnet","usage":{expected},"z":[1]}}"#)
            );
        }
    }

    #[test]
    fn a_priced_usage_gains_its_cost_after_bedrocks_keys() {
        let full = FULL_USAGE;
        // A catalog price: no estimate flag.
        let ctx = opus(Some((5.0, 0.4)), false);
        let body = format!(r#"{{"usage":{full}}}"#);
        let out = relay_message(body.as_bytes(), &ctx).expect("relays");
        let v: Value = serde_json::from_slice(&out.bytes).expect("json");
        assert_eq!(
            crate::test_support::keys(&v["usage"]),
            [
                "input_tokens",
                "cache_creation_input_tokens",
                "cache_read_input_tokens",
                "cache_creation",
                "output_tokens",
                "service_tier",
                "server_tool_use",
                "cost"
            ]
        );
        let total = v["usage"]["cost"]["total_cost"].as_f64().expect("number");
        // 12 × $4 + 5 × $20 + 3 × $5 + 4 × $0.40, per million tokens.
        assert!((total - 164.6e-6).abs() < 1e-12, "{total}");
    }

    #[test]
    fn usage_fields_the_gateway_does_not_write_go_as_bedrock_wrote_them() {
        let usage = r#"{"input_tokens":10,"output_tokens":5,"cache_creation_input_tokens":4,"cache_creation":{"ephemeral_1h_input_tokens":1,"ephemeral_1h_input_tokens":2},"x":1e3,"y":"st\u0061ndard","z":[ 1 , 2 ],"big":12345678901234567890123}"#;
        let body = format!(r#"{{"model":"m","usage":{usage}}}"#);
        let out = relay_message(body.as_bytes(), &unpriced()).expect("relays");
        let text = String::from_utf8(out.bytes).expect("utf8");
        for kept in [
            r#""cache_creation":{"ephemeral_1h_input_tokens":1,"ephemeral_1h_input_tokens":2}"#,
            r#""x":1e3"#,
            r#""y":"st\u0061ndard""#,
            r#""z":[ 1 , 2 ]"#,
            r#""big":12345678901234567890123"#,
        ] {
            assert!(text.contains(kept), "{kept} in {text}");
        }
        // The counts are read as a `Map` reads them: a key sent twice counts with its last value.
        let counts = (out.usage.input_tokens, out.usage.output_tokens);
        assert_eq!(counts, (10, 5));
        assert_eq!(out.usage.cache_creation_input_tokens, 4);
        assert_eq!(out.usage.cache_creation.ephemeral_1h_input_tokens, 2);
    }

    #[test]
    fn a_usage_that_is_not_an_object_is_bedrock_sending_nonsense() {
        for body in [
            &br#"{"usage":5}"#[..],
            br#"[1]"#,
            br#"{"usage":{"output_tokens":1}"#,
        ] {
            let err = relay_message(body, &unpriced()).expect_err("refused");
            assert!(matches!(err, ApiError::Upstream(_)), "{err:?}");
        }
    }
}
