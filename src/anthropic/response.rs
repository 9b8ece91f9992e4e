//! The Anthropic `Message` object a non-streaming `/v1/messages` call returns (and a stream's
//! `message_start` carries), and its `usage`.

use serde::Serialize;
use serde_json::Value;

use crate::pricing::Cost;

/// `U` is the usage it carries: [`Usage`] in an answer, the start placeholder
/// ([`super::events::StartUsage`]) in a stream's `message_start`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessagesResponse<U = Usage> {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub role: &'static str,
    pub model: String,
    pub content: Vec<ResponseBlock>,
    pub stop_reason: Option<&'static str>,
    pub stop_sequence: Option<String>,
    pub usage: U,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseBlock {
    Text {
        text: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        citations: Option<Vec<Value>>,
    },
    Thinking {
        thinking: String,
        signature: String,
    },
    RedactedThinking {
        data: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CacheCreation {
    pub ephemeral_5m_input_tokens: u64,
    pub ephemeral_1h_input_tokens: u64,
}

/// Token usage as Anthropic reports it: `input_tokens` excludes cached tokens, so the three input
/// figures add up to the prompt size without counting anything twice.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub cache_creation: CacheCreation,
    pub service_tier: &'static str,
    /// Chatrix's addition: the USD cost of this response (absent when the price is unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    /// Chatrix's addition: `true` when `cost` is priced from another model (one the catalog has
    /// never seen is priced as its family's newest model); absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cost_estimated: bool,
}

impl Usage {
    pub fn token_counts(&self) -> crate::pricing::TokenCounts {
        crate::pricing::TokenCounts {
            input: self.input_tokens,
            output: self.output_tokens,
            cache_write_5m: self.cache_creation.ephemeral_5m_input_tokens,
            cache_write_1h: self.cache_creation.ephemeral_1h_input_tokens,
            cache_read: self.cache_read_input_tokens,
        }
    }
}

/// A fresh message id in the form Anthropic's Bedrock integration uses.
pub fn new_message_id() -> String {
    format!("msg_bdrk_{}", uuid::Uuid::new_v4().simple())
}
