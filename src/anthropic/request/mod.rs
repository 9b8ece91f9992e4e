//! Anthropic Messages request bodies (`POST /v1/messages`, `/v1/messages/count_tokens`): wire types
//! and the parser.
//!
//! Serde only. Known fields are typed; free JSON (`input`, `input_schema`, output schemas) stays a
//! `serde_json::Value`, whose key order is preserved (`preserve_order`), because tool schemas and
//! tool inputs end up in the cached prompt prefix. Unknown top-level fields and unknown block types
//! are kept by name instead of failing the parse, so a new API feature degrades to "dropped" rather
//! than a 400; [`crate::convert::request`] decides every field's fate. Parse errors name the JSON
//! path of the offending field (`messages.0.content.1.source.data: …`). No I/O, no logging.
//!
//! Layout: `blocks` holds the content-block and `source` types, `de` their hand-written
//! deserializers and the error paths.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::ApiError;

mod blocks;
mod body;
mod de;
mod outline;

pub use blocks::{
    CitationsConfig, ContentBlock, DocumentBlock, ImageBlock, RedactedThinkingBlock,
    SearchResultBlock, Source, TextBlock, ThinkingBlock, ToolReferenceBlock, ToolResultBlock,
    ToolUseBlock,
};
pub use body::{Kind, RawField, RawFields, RawKey, RequestBody};
pub use outline::Outline;

/// A `/v1/messages` body (also used for count-tokens, where `max_tokens` may be absent).
#[derive(Debug, Clone, Deserialize)]
pub struct MessagesRequest {
    pub model: String,
    pub messages: Vec<Message>,
    pub max_tokens: Option<u32>,
    pub system: Option<MessageContent>,
    pub stop_sequences: Option<Vec<String>>,
    pub stream: Option<bool>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<u32>,
    pub metadata: Option<Metadata>,
    pub tools: Option<Vec<Tool>>,
    pub tool_choice: Option<ToolChoice>,
    pub thinking: Option<ThinkingConfig>,
    pub service_tier: Option<String>,
    pub output_config: Option<OutputConfig>,
    /// Top-level (automatic) caching: one breakpoint after the last cacheable block.
    pub cache_control: Option<CacheControl>,
    /// Every other top-level field (`context_management`, `container`, `mcp_servers`, …), by name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: MessageContent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    /// Mid-conversation system message (Claude Code, beta `mid-conversation-system-*`).
    System,
}

/// A string (shorthand for one text block) or an array of blocks.
#[derive(Debug, Clone)]
pub enum MessageContent {
    Text(String),
    Blocks(Vec<ContentBlock>),
}

impl MessageContent {
    /// Blank text or no blocks is no content (an empty trailing assistant turn is no prefill; the
    /// converter drops it).
    pub fn has_content(&self) -> bool {
        match self {
            Self::Text(t) => !t.trim().is_empty(),
            Self::Blocks(b) => !b.is_empty(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct CacheControl {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `"5m"` (default) or `"1h"`.
    pub ttl: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Tool {
    /// Absent or `"custom"` for client tools; anything else is an Anthropic server tool.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub input_schema: Option<Value>,
    pub cache_control: Option<CacheControl>,
    /// `strict`, `defer_loading`, `input_examples`, … (never forwarded), by name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ToolChoice {
    #[serde(rename = "type")]
    pub kind: ToolChoiceKind,
    pub name: Option<String>,
    pub disable_parallel_tool_use: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolChoiceKind {
    Auto,
    Any,
    Tool,
    None,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ThinkingConfig {
    #[serde(rename = "type")]
    pub kind: ThinkingKind,
    pub budget_tokens: Option<u32>,
    /// `"summarized"` or `"omitted"`.
    pub display: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThinkingKind {
    Enabled,
    Disabled,
    Adaptive,
    /// Sonnet 5.5's lowest setting: thinking only between tool calls.
    #[serde(rename = "between_tools")]
    BetweenTools,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct OutputConfig {
    pub effort: Option<String>,
    pub format: Option<OutputFormat>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OutputFormat {
    #[serde(rename = "type")]
    pub kind: String,
    pub schema: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    pub user_id: Option<String>,
}

/// Parses a `/v1/messages` body.
///
/// # Errors
/// [`ApiError::InvalidRequest`] for malformed JSON, or naming the path of the first field that
/// does not fit (`messages.0.content.1.source.data: invalid type: integer `5`, expected a string`),
/// or when `max_tokens` is missing.
pub fn parse_messages_request(body: &[u8]) -> Result<MessagesRequest, ApiError> {
    let req = parse_count_tokens_request(body)?;
    if req.max_tokens.is_none() {
        return Err(ApiError::invalid("max_tokens: field required"));
    }
    Ok(req)
}

/// Parses a `/v1/messages/count_tokens` body: as [`parse_messages_request`], `max_tokens` optional.
///
/// # Errors
/// As [`parse_messages_request`], except for a missing `max_tokens`.
pub fn parse_count_tokens_request(body: &[u8]) -> Result<MessagesRequest, ApiError> {
    let not_json =
        |e: &serde_json::Error| ApiError::invalid(format!("request body is not valid JSON: {e}"));
    // Straight into the typed request, without a `Value` tree of the whole body first (a large
    // body would be parsed twice). Only on failure is the body checked for being JSON at all, so
    // broken JSON is reported as such rather than as the first field that did not fit.
    let json_error = || serde_json::from_slice::<serde::de::IgnoredAny>(body).err();
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(json_error().map_or_else(
            || ApiError::invalid("request body must be a JSON object"),
            |e| not_json(&e),
        ));
    }
    // The common case parses without tracking paths; only a body that fails is parsed again with
    // `serde_path_to_error`, for a message that names the field.
    if let Ok(request) = serde_json::from_slice(body) {
        return Ok(request);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let request = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        json_error().map_or_else(|| ApiError::invalid(de::describe(&e)), |j| not_json(&j))
    })?;
    de.end().map_err(|e| not_json(&e))?;
    Ok(request)
}

impl MessagesRequest {
    /// Whether the last turn is the assistant's and not empty: a prefill.
    pub fn ends_with_prefill(&self) -> bool {
        self.messages
            .last()
            .is_some_and(|m| m.role == Role::Assistant && m.content.has_content())
    }

    /// Whether any message has `role: "system"` (Claude Code's mid-conversation system messages).
    pub fn has_system_turns(&self) -> bool {
        self.messages.iter().any(|m| m.role == Role::System)
    }

    /// Every `url` image/document source, for the fetcher to replace in place with
    /// [`Source::Base64`]. Includes sources nested in `tool_result` content and in `content`
    /// documents.
    pub fn url_sources_mut(&mut self) -> Vec<&mut Source> {
        let mut out = Vec::new();
        for message in &mut self.messages {
            if let MessageContent::Blocks(blocks) = &mut message.content {
                blocks::collect_url_sources(blocks, &mut out);
            }
        }
        out
    }
}

/// The betas in `anthropic-beta` values (a header may repeat, and each value may be a comma list):
/// trimmed, empties dropped, first occurrence kept, in order.
pub fn beta_values<'a>(raw: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for beta in raw.into_iter().flat_map(|v| v.split(',')).map(str::trim) {
        if !beta.is_empty() && !out.contains(&beta) {
            out.push(beta);
        }
    }
    out
}

/// Cuts client-chosen names (block types, field names) before they reach messages and logs.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests;
