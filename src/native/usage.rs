//! Usage as Bedrock's Anthropic path reports it, in the three places it may appear: the Message's
//! (or `message_start`'s) `usage`, `message_delta.usage` (cumulative, often only `output_tokens`),
//! and `message_stop`'s `amazon-bedrock-invocationMetrics`. Folded into one [`Usage`] without
//! counting anything twice, then priced. Pure.

use indexmap::IndexMap;
use serde::de::value::MapDeserializer;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::anthropic::events::DeltaUsage;
use crate::anthropic::request::RawKey;
use crate::anthropic::response::{CacheCreation, Usage};
use crate::models::ModelPrice;
use crate::pricing::{self, CurrencyConversion};

/// The usage fields, each optional: a later report overrides only what it carries.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Reported {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_creation_input_tokens: Option<u64>,
    pub cache_read_input_tokens: Option<u64>,
    #[serde(default, deserialize_with = "split_as_map")]
    pub cache_creation: Option<Split>,
}

/// The split read through a `Map`, as every other field is read: a key sent twice counts with its
/// last value wherever the usage came from (a derived struct would refuse it, and the usage with
/// it).
fn split_as_map<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Split>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    value
        .map(|v| Split::deserialize(&v).map_err(serde::de::Error::custom))
        .transpose()
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Split {
    pub ephemeral_5m_input_tokens: Option<u64>,
    pub ephemeral_1h_input_tokens: Option<u64>,
}

/// `amazon-bedrock-invocationMetrics`: Bedrock's billing counts.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    pub input_token_count: Option<u64>,
    pub output_token_count: Option<u64>,
    pub cache_read_input_token_count: Option<u64>,
    pub cache_write_input_token_count: Option<u64>,
}

impl Reported {
    /// `self`, with every field `later` carries taken from `later`.
    pub fn updated(self, later: &Self) -> Self {
        Self {
            input_tokens: later.input_tokens.or(self.input_tokens),
            output_tokens: later.output_tokens.or(self.output_tokens),
            cache_creation_input_tokens: later
                .cache_creation_input_tokens
                .or(self.cache_creation_input_tokens),
            cache_read_input_tokens: later
                .cache_read_input_tokens
                .or(self.cache_read_input_tokens),
            cache_creation: later.cache_creation.or(self.cache_creation),
        }
    }

    /// Fills what neither usage report carried from Bedrock's invocation metrics.
    pub fn filled_from(self, m: &Metrics) -> Self {
        Self {
            input_tokens: self.input_tokens.or(m.input_token_count),
            output_tokens: self.output_tokens.or(m.output_token_count),
            cache_creation_input_tokens: self
                .cache_creation_input_tokens
                .or(m.cache_write_input_token_count),
            cache_read_input_tokens: self
                .cache_read_input_tokens
                .or(m.cache_read_input_token_count),
            cache_creation: self.cache_creation,
        }
    }

    /// The billed usage; cache writes without a 5m/1h split count as 5-minute writes.
    pub fn to_usage(self) -> Usage {
        let write = self.cache_creation_input_tokens.unwrap_or(0);
        let one_hour = self
            .cache_creation
            .and_then(|s| s.ephemeral_1h_input_tokens)
            .unwrap_or(0)
            .min(write);
        Usage {
            input_tokens: self.input_tokens.unwrap_or(0),
            output_tokens: self.output_tokens.unwrap_or(0),
            cache_creation_input_tokens: write,
            cache_read_input_tokens: self.cache_read_input_tokens.unwrap_or(0),
            cache_creation: CacheCreation {
                ephemeral_5m_input_tokens: write - one_hour,
                ephemeral_1h_input_tokens: one_hour,
            },
            service_tier: "standard",
            ..Usage::default()
        }
    }
}

/// `usage` with its cost (and the estimate flag) added.
pub fn priced(
    mut usage: Usage,
    price: Option<&ModelPrice>,
    currency: Option<&CurrencyConversion>,
) -> Usage {
    usage.cost = price.map(|p| pricing::model_cost(p, &usage.token_counts(), currency));
    usage.cost_estimated = price.is_some_and(|p| p.estimated);
    usage
}

/// A JSON object's fields as the sender wrote them, keys borrowed unless they have escapes; a
/// key sent twice keeps its first place and its last value, as `serde_json::Map` reads it (this
/// level only: values are kept as sent).
pub type RawObject<'a> = IndexMap<RawKey<'a>, &'a RawValue>;

/// The counts a `usage` object Bedrock sent carries, read as the stream reads its `Value`; none
/// when a count does not read as one (a string, a float, `cache_creation` not an object), as
/// there.
pub fn reported_in(usage: &RawObject<'_>) -> Reported {
    let fields = usage.iter().map(|(k, v)| (k.0.as_ref(), *v));
    Reported::deserialize(MapDeserializer::<_, serde_json::Error>::new(fields)).unwrap_or_default()
}

/// What the relay writes into Bedrock's `usage`, serialized as the Converse fold writes its final
/// usage ([`DeltaUsage`]). No 5m/1h split (`cache_creation`): Bedrock's own is kept when it sends
/// one.
fn ours(usage: &Usage) -> DeltaUsage {
    DeltaUsage {
        cache_creation: None,
        ..DeltaUsage::of(usage)
    }
}

/// Writes `usage` into a `usage` object Bedrock sent (the last `message_delta`'s): Bedrock's keys
/// keep their place and any other field it put there (`service_tier`, `server_tool_use`, …)
/// stays; what it lacked is appended ([`ours`]).
pub fn write_into(target: &mut Map<String, Value>, usage: &Usage) {
    // Numbers, strings and a plain struct: serializing cannot fail.
    if let Ok(Value::Object(fields)) = serde_json::to_value(ours(usage)) {
        target.extend(fields);
    }
}

/// [`ours`] as JSON text, for [`merged`].
pub fn ours_text(usage: &Usage) -> String {
    // Numbers, strings and a plain struct: serializing cannot fail.
    serde_json::to_string(&ours(usage)).unwrap_or_else(|_| "{}".to_owned())
}

/// [`write_into`] for a `usage` held as raw fields (the Message's): the fields to write, Bedrock's
/// in its order with ours in place of its values, then ours it lacked. `ours` is
/// [`ours_text`]'s, read as a [`RawObject`].
pub fn merged<'a>(
    bedrock: &'a RawObject<'a>,
    ours: &'a RawObject<'a>,
) -> Vec<(&'a str, &'a RawValue)> {
    let mut out: Vec<(&str, &RawValue)> = Vec::with_capacity(bedrock.len() + ours.len());
    for (key, value) in bedrock {
        let key = key.0.as_ref();
        out.push((key, ours.get(key).copied().unwrap_or(value)));
    }
    for (key, value) in ours {
        if !bedrock.contains_key(key.0.as_ref()) {
            out.push((key.0.as_ref(), value));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{ModelPrice, Price};

    /// The Message's usage (raw fields, [`merged`]) and the stream's (a `Map`, [`write_into`])
    /// come out alike, byte for byte.
    #[test]
    fn the_raw_merge_writes_what_the_stream_writes() {
        let price = ModelPrice {
            base: Price {
                input: 4.0,
                output: 20.0,
                cache_write: Some(5.0),
                cache_read: Some(0.4),
            },
            long_context: None,
            estimated: true,
        };
        let sent = [
            "{}",
            r#"{"output_tokens":5}"#,
            r#"{"input_tokens":1,"output_tokens":2,"input_tokens":7}"#,
            r#"{"input_tokens":12,"cache_creation_input_tokens":3,"cache_read_input_tokens":4,"cache_creation":{"ephemeral_5m_input_tokens":3,"ephemeral_1h_input_tokens":0},"output_tokens":5,"service_tier":"standard","server_tool_use":{"web_search_requests":1}}"#,
            r#"{"output_tokens":"many","cost":1}"#,
        ];
        for text in sent {
            let bedrock: RawObject<'_> = serde_json::from_str(text).expect("object");
            for price in [None, Some(&price)] {
                let usage = priced(reported_in(&bedrock).to_usage(), price, None);
                let ours_text = ours_text(&usage);
                let ours: RawObject<'_> = serde_json::from_str(&ours_text).expect("ours");
                let fields = merged(&bedrock, &ours);
                let raw: IndexMap<&str, &RawValue> = fields.iter().copied().collect();
                assert_eq!(raw.len(), fields.len(), "each key once: {text}");
                let mut map: Map<String, Value> = serde_json::from_str(text).expect("map");
                write_into(&mut map, &usage);
                assert_eq!(
                    serde_json::to_string(&raw).expect("raw"),
                    serde_json::to_string(&map).expect("map"),
                    "{text}"
                );
            }
        }
    }
}
