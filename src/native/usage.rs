//! Usage as Bedrock's Anthropic path reports it, in the three places it may appear: the Message's
//! (or `message_start`'s) `usage`, `message_delta.usage` (cumulative, often only `output_tokens`),
//! and `message_stop`'s `amazon-bedrock-invocationMetrics`. Folded into one [`Usage`] without
//! counting anything twice, then priced. Pure.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::anthropic::events::DeltaUsage;
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
    pub cache_creation: Option<Split>,
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

/// Writes `usage` into a `usage` object Bedrock sent (the Message's, or the last
/// `message_delta`'s), serialized as the Converse fold writes its final usage
/// ([`DeltaUsage`]): Bedrock's keys keep their place and any other
/// field it put there (`service_tier`, `server_tool_use`, …) stays; what it lacked is appended.
/// The relay adds no 5m/1h split (`cache_creation`): Bedrock's own is kept when it sends one.
pub fn write_into(target: &mut Map<String, Value>, usage: &Usage) {
    let ours = DeltaUsage {
        cache_creation: None,
        ..DeltaUsage::of(usage)
    };
    // Numbers, strings and a plain struct: serializing cannot fail.
    if let Ok(Value::Object(fields)) = serde_json::to_value(&ours) {
        target.extend(fields);
    }
}
