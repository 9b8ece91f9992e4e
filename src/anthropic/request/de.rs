//! Serde plumbing for the request types: tagged unions and "string or blocks" content.
//!
//! Tagged unions (`{"type": …}`, with `type` anywhere in the object) must be buffered before the
//! variant is known, and serde loses the field path inside a buffer. So a buffered sub-object is
//! parsed with its own path tracker, and its error message carries that inner path between
//! `NESTED` markers; [`describe`] joins the outer and inner paths into one.
//!
//! Pure: no I/O, and nothing here logs.

use serde::de::{self, DeserializeOwned, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{truncate, ContentBlock, MessageContent, Source};

const SERVER_TOOL_RESULTS: [&str; 6] = [
    "web_search_tool_result",
    "web_fetch_tool_result",
    "code_execution_tool_result",
    "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result",
    "tool_search_tool_result",
];

const NESTED: char = '\u{1}';

pub(super) fn describe(err: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let message = err.inner().to_string();
    let (inner_path, text) = split_nested(&message);
    let path = join_path(&path_string(err.path()), inner_path);
    if path.is_empty() {
        text.to_owned()
    } else {
        format!("{path}: {text}")
    }
}

fn path_string(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let parts: Vec<String> = path
        .iter()
        .map(|segment| match segment {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } | Segment::Enum { variant: key } => key.clone(),
            Segment::Unknown => "?".to_owned(),
        })
        .collect();
    parts.join(".")
}

fn join_path(outer: &str, inner: &str) -> String {
    match (outer.is_empty(), inner.is_empty()) {
        (_, true) => outer.to_owned(),
        (true, false) => inner.to_owned(),
        (false, false) => format!("{outer}.{inner}"),
    }
}

fn split_nested(message: &str) -> (&str, &str) {
    message
        .strip_prefix(NESTED)
        .and_then(|rest| rest.split_once(NESTED))
        .unwrap_or(("", message))
}

fn nested_error<E: de::Error>(path: &str, text: &str) -> E {
    E::custom(format!("{NESTED}{path}{NESTED}{text}"))
}

/// Parses a buffered object, keeping the path of any error inside it.
fn from_object<T: DeserializeOwned, E: de::Error>(map: Map<String, Value>) -> Result<T, E> {
    serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
        let message = e.inner().to_string();
        let (inner_path, text) = split_nested(&message);
        nested_error(&join_path(&path_string(e.path()), inner_path), text)
    })
}

/// Buffers a `{"type": …}` object and returns it with its type string.
fn tagged<'de, D: Deserializer<'de>>(d: D) -> Result<(String, Map<String, Value>), D::Error> {
    let map = Map::<String, Value>::deserialize(d)?;
    match map.get("type") {
        Some(Value::String(kind)) => Ok((kind.clone(), map)),
        Some(_) => Err(nested_error("type", "invalid type: expected a string")),
        None => Err(de::Error::missing_field("type")),
    }
}

impl<'de> Deserialize<'de> for ContentBlock {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (kind, map) = tagged(d)?;
        Ok(match kind.as_str() {
            "text" => Self::Text(from_object(map)?),
            "image" => Self::Image(from_object(map)?),
            "document" => Self::Document(from_object(map)?),
            "search_result" => Self::SearchResult(from_object(map)?),
            "tool_use" => Self::ToolUse(from_object(map)?),
            "tool_result" => Self::ToolResult(from_object(map)?),
            "thinking" => Self::Thinking(from_object(map)?),
            "redacted_thinking" => Self::RedactedThinking(from_object(map)?),
            "tool_reference" => Self::ToolReference(from_object(map)?),
            "server_tool_use" => Self::ServerToolUse(Value::Object(map)),
            "container_upload" => Self::ContainerUpload(Value::Object(map)),
            "mid_conversation_system" => Self::MidConversationSystem(Value::Object(map)),
            k if SERVER_TOOL_RESULTS.contains(&k) => Self::ServerToolResult {
                block_type: kind,
                raw: Value::Object(map),
            },
            _ => Self::Unknown { block_type: kind },
        })
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct B64 {
            media_type: String,
            data: String,
        }
        #[derive(Deserialize)]
        struct Url {
            url: String,
        }
        #[derive(Deserialize)]
        struct Text {
            media_type: Option<String>,
            data: String,
        }
        #[derive(Deserialize)]
        struct Content {
            content: MessageContent,
        }
        #[derive(Deserialize)]
        struct File {
            file_id: String,
        }
        let (kind, map) = tagged(d)?;
        Ok(match kind.as_str() {
            "base64" => {
                let s: B64 = from_object(map)?;
                Self::Base64 { media_type: s.media_type, data: s.data }
            }
            "url" => Self::Url { url: from_object::<Url, _>(map)?.url },
            "text" => {
                let s: Text = from_object(map)?;
                Self::Text { media_type: s.media_type, data: s.data }
            }
            "content" => Self::Content { content: from_object::<Content, _>(map)?.content },
            "file" => Self::File { file_id: from_object::<File, _>(map)?.file_id },
            other => {
                return Err(nested_error(
                    "type",
                    &format!("unknown source type `{}`, expected one of `base64`, `url`, `text`, `content`, `file`", truncate(other, 64)),
                ))
            }
        })
    }
}

impl<'de> Deserialize<'de> for MessageContent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ContentVisitor;
        impl<'de> Visitor<'de> for ContentVisitor {
            type Value = MessageContent;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or an array of content blocks")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(MessageContent::Text(s.to_owned()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(MessageContent::Text(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut blocks = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(256));
                while let Some(block) = seq.next_element()? {
                    blocks.push(block);
                }
                Ok(MessageContent::Blocks(blocks))
            }
        }
        d.deserialize_any(ContentVisitor)
    }
}
