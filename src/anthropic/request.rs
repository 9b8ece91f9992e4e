//! Anthropic Messages request bodies (`POST /v1/messages`, `/v1/messages/count_tokens`): wire types
//! and the parser.
//!
//! Serde only. Known fields are typed; free JSON (`input`, `input_schema`, output schemas) stays a
//! `serde_json::Value`, whose key order is preserved (`preserve_order`), because tool schemas and
//! tool inputs end up in the cached prompt prefix. Unknown top-level fields and unknown block types
//! are kept by name instead of failing the parse, so a new API feature degrades to "dropped" rather
//! than a 400; [`crate::convert::request`] decides every field's fate. Parse errors name the JSON
//! path of the offending field (`messages.0.content.1.source.data: …`). No I/O, no logging.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::ApiError;

mod de;

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

#[derive(Debug, Clone, Deserialize)]
pub struct CacheControl {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `"5m"` (default) or `"1h"`.
    pub ttl: Option<String>,
}

/// One request content block. Each variant is a block type of the Messages API; `Unknown` keeps the
/// type name of anything newer so the converter can drop it by name.
#[derive(Debug, Clone)]
pub enum ContentBlock {
    Text(TextBlock),
    Image(ImageBlock),
    Document(DocumentBlock),
    SearchResult(SearchResultBlock),
    ToolUse(ToolUseBlock),
    ToolResult(ToolResultBlock),
    Thinking(ThinkingBlock),
    RedactedThinking(RedactedThinkingBlock),
    ToolReference(ToolReferenceBlock),
    /// `server_tool_use` (web search, code execution, tool search …), kept raw.
    ServerToolUse(Value),
    /// `web_search_tool_result`, `code_execution_tool_result`, …; `block_type` is the `type` string.
    ServerToolResult {
        block_type: String,
        raw: Value,
    },
    ContainerUpload(Value),
    /// `mid_conversation_system` blocks (beta), kept raw.
    MidConversationSystem(Value),
    Unknown {
        block_type: String,
    },
}

impl ContentBlock {
    /// The block's `type` string as the client sent it.
    pub fn type_name(&self) -> &str {
        match self {
            Self::Text(_) => "text",
            Self::Image(_) => "image",
            Self::Document(_) => "document",
            Self::SearchResult(_) => "search_result",
            Self::ToolUse(_) => "tool_use",
            Self::ToolResult(_) => "tool_result",
            Self::Thinking(_) => "thinking",
            Self::RedactedThinking(_) => "redacted_thinking",
            Self::ToolReference(_) => "tool_reference",
            Self::ServerToolUse(_) => "server_tool_use",
            Self::ServerToolResult { block_type, .. } | Self::Unknown { block_type } => block_type,
            Self::ContainerUpload(_) => "container_upload",
            Self::MidConversationSystem(_) => "mid_conversation_system",
        }
    }

    pub fn cache_control(&self) -> Option<&CacheControl> {
        match self {
            Self::Text(b) => b.cache_control.as_ref(),
            Self::Image(b) => b.cache_control.as_ref(),
            Self::Document(b) => b.cache_control.as_ref(),
            Self::SearchResult(b) => b.cache_control.as_ref(),
            Self::ToolUse(b) => b.cache_control.as_ref(),
            Self::ToolResult(b) => b.cache_control.as_ref(),
            Self::ToolReference(b) => b.cache_control.as_ref(),
            Self::Thinking(_)
            | Self::RedactedThinking(_)
            | Self::ServerToolUse(_)
            | Self::ServerToolResult { .. }
            | Self::ContainerUpload(_)
            | Self::MidConversationSystem(_)
            | Self::Unknown { .. } => None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct TextBlock {
    pub text: String,
    pub cache_control: Option<CacheControl>,
    /// Client-supplied citations on a text block; not representable in Converse input.
    pub citations: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ImageBlock {
    pub source: Source,
    pub cache_control: Option<CacheControl>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DocumentBlock {
    pub source: Source,
    pub title: Option<String>,
    pub context: Option<String>,
    pub citations: Option<CitationsConfig>,
    pub cache_control: Option<CacheControl>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CitationsConfig {
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SearchResultBlock {
    pub source: String,
    pub title: String,
    pub content: Vec<TextBlock>,
    pub citations: Option<CitationsConfig>,
    pub cache_control: Option<CacheControl>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ToolUseBlock {
    pub id: String,
    pub name: String,
    #[serde(default = "empty_object")]
    pub input: Value,
    pub cache_control: Option<CacheControl>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ToolResultBlock {
    pub tool_use_id: String,
    pub content: Option<MessageContent>,
    pub is_error: Option<bool>,
    pub cache_control: Option<CacheControl>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ThinkingBlock {
    #[serde(default)]
    pub thinking: String,
    /// Opaque and model-bound; kept exactly as received.
    pub signature: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RedactedThinkingBlock {
    /// Opaque base64; kept exactly as received.
    pub data: String,
}

/// Tool search: names a deferred tool whose definition the API should load.
#[derive(Debug, Clone, Deserialize)]
pub struct ToolReferenceBlock {
    pub tool_name: String,
    pub cache_control: Option<CacheControl>,
}

/// Where an image's or document's bytes come from.
#[derive(Debug, Clone)]
pub enum Source {
    Base64 {
        media_type: String,
        data: String,
    },
    /// Must be downloaded by the gateway (see [`MessagesRequest::url_sources_mut`]) before conversion.
    Url {
        url: String,
    },
    /// Plain-text document.
    Text {
        media_type: Option<String>,
        data: String,
    },
    /// Document made of content blocks (or one string).
    Content {
        content: MessageContent,
    },
    /// Files API reference.
    File {
        file_id: String,
    },
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
                collect_url_sources(blocks, &mut out);
            }
        }
        out
    }
}

fn collect_url_sources<'a>(blocks: &'a mut [ContentBlock], out: &mut Vec<&'a mut Source>) {
    for block in blocks {
        let source = match block {
            ContentBlock::Image(b) => &mut b.source,
            ContentBlock::Document(b) => &mut b.source,
            ContentBlock::ToolResult(ToolResultBlock {
                content: Some(MessageContent::Blocks(inner)),
                ..
            }) => {
                collect_url_sources(inner, out);
                continue;
            }
            _ => continue,
        };
        if matches!(source, Source::Url { .. }) {
            out.push(source);
        } else if let Source::Content {
            content: MessageContent::Blocks(inner),
        } = source
        {
            collect_url_sources(inner, out);
        }
    }
}

fn empty_object() -> Value {
    Value::Object(Map::new())
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
