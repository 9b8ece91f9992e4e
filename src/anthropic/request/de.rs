//! Serde plumbing for the request types: tagged unions and "string or blocks" content.
//!
//! Tagged unions (`{"type": …}`): when `type` is the first key, as every client we know writes it,
//! the rest of the object is read straight into the variant's type. Otherwise (`type` anywhere
//! else) the object must be buffered before the variant is known, and serde loses the field path
//! inside a buffer. So a buffered sub-object is parsed with its own path tracker, and its error
//! message carries that inner path between `NESTED` markers; [`describe`] joins the outer and inner
//! paths into one. Both ways give the same value and name the same path, and both refuse a key
//! that appears twice in one object.
//!
//! Pure: no I/O, and nothing here logs.

use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess,
    Visitor,
};
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

/// A `{"type": …}` object read up to its tag. When `type` comes first, as every client we know
/// writes it, the rest of the object is still unread and goes straight to the variant's type: no
/// buffer, and errors keep their full path. Otherwise the whole object had to be buffered first.
enum Tagged<A> {
    Streaming {
        kind: String,
        rest: A,
    },
    Buffered {
        kind: String,
        map: Map<String, Value>,
    },
}

impl<'de, A: MapAccess<'de>> Tagged<A> {
    fn kind(&self) -> &str {
        match self {
            Self::Streaming { kind, .. } | Self::Buffered { kind, .. } => kind,
        }
    }

    /// The rest of the object as `T` (which ignores the `type` field).
    fn parse<T: DeserializeOwned>(self) -> Result<T, A::Error> {
        match self {
            Self::Streaming { rest, .. } => T::deserialize(MapAccessDeserializer::new(rest)),
            Self::Buffered { map, .. } => from_object(map),
        }
    }

    /// The whole object, `type` first, for the blocks kept as JSON.
    fn into_value(self) -> Result<Value, A::Error> {
        match self {
            Self::Streaming { kind, rest } => {
                let rest = Map::<String, Value>::deserialize(MapAccessDeserializer::new(rest))?;
                let mut map = Map::with_capacity(rest.len() + 1);
                map.insert("type".to_owned(), Value::String(kind));
                map.extend(rest);
                Ok(Value::Object(map))
            }
            Self::Buffered { map, .. } => Ok(Value::Object(map)),
        }
    }

    /// Reads (and drops) the rest of the object.
    fn skip(self) -> Result<(), A::Error> {
        if let Self::Streaming { rest, .. } = self {
            de::IgnoredAny::deserialize(MapAccessDeserializer::new(rest))?;
        }
        Ok(())
    }
}

/// The rest of an object whose `type` came first, refusing a key it has already seen (`type`
/// included), as the buffered path does.
struct Unique<A> {
    inner: A,
    seen: Vec<String>,
}

fn duplicate_key<E: de::Error>(key: &str) -> E {
    E::custom(format_args!("duplicate field `{}`", truncate(key, 64)))
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Unique<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(key) = self.inner.next_key::<String>()? else {
            return Ok(None);
        };
        if self.seen.contains(&key) {
            return Err(duplicate_key(&key));
        }
        let value = seed.deserialize(IntoDeserializer::<A::Error>::into_deserializer(
            key.as_str(),
        ))?;
        self.seen.push(key);
        Ok(Some(value))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.inner.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// Reads a `{"type": …}` object up to its tag and hands it to `T`.
struct TaggedVisitor<T>(PhantomData<T>);

/// A type read from a [`Tagged`] object.
trait FromTagged: Sized {
    fn from_tagged<'de, A: MapAccess<'de>>(tagged: Tagged<A>) -> Result<Self, A::Error>;
}

impl<'de, T: FromTagged> Visitor<'de> for TaggedVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        // Either way a key may appear once: a second `type` could otherwise name another variant
        // than the one read, and Bedrock, which is sent the client's bytes, may read the last.
        let Some(first) = map.next_key::<String>()? else {
            return Err(de::Error::missing_field("type"));
        };
        if first == "type" {
            let kind = match map.next_value::<Value>()? {
                Value::String(kind) => kind,
                _ => return Err(nested_error("type", "invalid type: expected a string")),
            };
            let rest = Unique {
                inner: map,
                seen: vec![first],
            };
            return T::from_tagged(Tagged::Streaming { kind, rest });
        }
        let mut buffered = Map::new();
        buffered.insert(first, map.next_value()?);
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            if buffered.contains_key(&key) {
                return Err(duplicate_key(&key));
            }
            buffered.insert(key, value);
        }
        let kind = match buffered.get("type") {
            Some(Value::String(kind)) => kind.clone(),
            Some(_) => return Err(nested_error("type", "invalid type: expected a string")),
            None => return Err(de::Error::missing_field("type")),
        };
        T::from_tagged(Tagged::<A>::Buffered {
            kind,
            map: buffered,
        })
    }
}

fn tagged<'de, D: Deserializer<'de>, T: FromTagged>(d: D) -> Result<T, D::Error> {
    d.deserialize_map(TaggedVisitor(PhantomData))
}

impl<'de> Deserialize<'de> for ContentBlock {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        tagged(d)
    }
}

impl FromTagged for ContentBlock {
    fn from_tagged<'de, A: MapAccess<'de>>(t: Tagged<A>) -> Result<Self, A::Error> {
        Ok(match t.kind() {
            "text" => Self::Text(t.parse()?),
            "image" => Self::Image(t.parse()?),
            "document" => Self::Document(t.parse()?),
            "search_result" => Self::SearchResult(t.parse()?),
            "tool_use" => Self::ToolUse(t.parse()?),
            "tool_result" => Self::ToolResult(t.parse()?),
            "thinking" => Self::Thinking(t.parse()?),
            "redacted_thinking" => Self::RedactedThinking(t.parse()?),
            "tool_reference" => Self::ToolReference(t.parse()?),
            "server_tool_use" => Self::ServerToolUse(t.into_value()?),
            "container_upload" => Self::ContainerUpload(t.into_value()?),
            "mid_conversation_system" => Self::MidConversationSystem(t.into_value()?),
            k if SERVER_TOOL_RESULTS.contains(&k) => {
                let block_type = k.to_owned();
                Self::ServerToolResult {
                    block_type,
                    raw: t.into_value()?,
                }
            }
            k => {
                let block_type = k.to_owned();
                t.skip()?;
                Self::Unknown { block_type }
            }
        })
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        tagged(d)
    }
}

/// The fields of each source type (`type` aside).
mod source {
    use serde::Deserialize;

    use super::MessageContent;

    #[derive(Deserialize)]
    pub(super) struct B64 {
        pub(super) media_type: String,
        pub(super) data: String,
    }
    #[derive(Deserialize)]
    pub(super) struct Url {
        pub(super) url: String,
    }
    #[derive(Deserialize)]
    pub(super) struct Text {
        pub(super) media_type: Option<String>,
        pub(super) data: String,
    }
    #[derive(Deserialize)]
    pub(super) struct Content {
        pub(super) content: MessageContent,
    }
    #[derive(Deserialize)]
    pub(super) struct File {
        pub(super) file_id: String,
    }
}

impl FromTagged for Source {
    fn from_tagged<'de, A: MapAccess<'de>>(t: Tagged<A>) -> Result<Self, A::Error> {
        Ok(match t.kind() {
            "base64" => {
                let s: source::B64 = t.parse()?;
                Self::Base64 { media_type: s.media_type, data: s.data }
            }
            "url" => Self::Url { url: t.parse::<source::Url>()?.url },
            "text" => {
                let s: source::Text = t.parse()?;
                Self::Text { media_type: s.media_type, data: s.data }
            }
            "content" => Self::Content { content: t.parse::<source::Content>()?.content },
            "file" => Self::File { file_id: t.parse::<source::File>()?.file_id },
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
