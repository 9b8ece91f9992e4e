//! The content blocks of a request's messages, and the `source` of an image or document.
//!
//! Serde only (the tagged-enum parsing lives in `de`, which names the path of a bad field). Each
//! block type of the Messages API has a variant; anything newer is kept by type name, so the
//! converter can drop it by name instead of failing the parse.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{CacheControl, MessageContent};

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
    /// Must be downloaded by the gateway (see [`super::MessagesRequest::url_sources_mut`]) before conversion.
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

/// Appends every `url` source in `blocks`, including those nested in `tool_result` content and in
/// `content` documents.
pub(super) fn collect_url_sources<'a>(
    blocks: &'a mut [ContentBlock],
    out: &mut Vec<&'a mut Source>,
) {
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
