//! A request body read once: its top level split into raw fields (the client's bytes, borrowed,
//! never copied), the typed request read from those fields, and `messages` read only as far as
//! the route needs.
//!
//! - Converse rebuilds the whole request, so it reads `messages` typed ([`RequestBody::messages`]).
//! - The native path sends the client's bytes on, so it reads only each turn's `role` and where
//!   its `content` is ([`RequestBody::outline`]): no text is copied, and Bedrock judges the
//!   content itself, in its own words (Claude Code's gateway guidance). A 1 MB Claude Code body
//!   then costs two scans that copy nothing, where a typed parse copied every string in it
//!   (docs/performance.md).
//!
//! Errors read exactly as the whole-body parse ([`super::parse_count_tokens_request`]) words
//! them: when a step here fails, that parse runs for its message. A key that appears twice at the
//! top level is refused. Pure: no I/O, no logging.

use std::borrow::Cow;
use std::fmt;

use indexmap::IndexMap;
use serde::de::value::{MapAccessDeserializer, MapDeserializer};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{parse_count_tokens_request, parse_messages_request, Message, MessageContent};
use super::{MessagesRequest, Role};
use crate::error::ApiError;

/// A body's top-level fields in the client's order, each the client's exact bytes.
pub type RawFields<'a> = IndexMap<Cow<'a, str>, &'a RawValue>;

/// Which route the body is for: `/v1/messages` requires `max_tokens`, a count does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Messages,
    CountTokens,
}

/// One request body, split at its top level.
#[derive(Debug)]
pub struct RequestBody<'a> {
    bytes: &'a [u8],
    kind: Kind,
    fields: RawFields<'a>,
}

/// What the native path needs to know about `messages` without reading their content.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outline {
    /// A turn has `role: "system"` (Claude Code's mid-conversation system messages).
    pub system_turns: bool,
    /// The last turn is the assistant's and not empty: a prefill.
    pub ends_with_assistant: bool,
    /// An image or document may have a `url` source (in a turn, in `tool_result` content or in a
    /// `content` document), which the gateway downloads: Bedrock takes bytes only. Read from the
    /// blocks only where the word `"url"` occurs.
    pub may_have_url_sources: bool,
}

/// One turn as the outline reads it: the role, and the content left as the client's bytes.
#[derive(Deserialize)]
struct Turn<'a> {
    role: Role,
    #[serde(borrow)]
    content: &'a RawValue,
}

impl<'a> RequestBody<'a> {
    /// Splits `bytes` at the top level: one scan, nothing copied.
    ///
    /// # Errors
    /// A body that is not one JSON object with distinct keys, worded as the whole-body parse
    /// words it.
    pub fn split(bytes: &'a [u8], kind: Kind) -> Result<Self, ApiError> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let fields = de
            .deserialize_map(FieldsVisitor)
            .and_then(|fields| de.end().map(|()| fields))
            .map_err(|e| explained(bytes, kind, ApiError::invalid(e.to_string())))?;
        Ok(Self {
            bytes,
            kind,
            fields,
        })
    }

    /// The client's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The top-level fields, in the client's order.
    pub fn fields(&self) -> &RawFields<'a> {
        &self.fields
    }

    /// The typed request with every field read except the content of `messages`, which is left
    /// empty: [`Self::messages`] reads it when a route needs it.
    ///
    /// # Errors
    /// The first field that does not fit, named as the whole-body parse names it.
    pub fn head(&self) -> Result<MessagesRequest, ApiError> {
        let none: &RawValue = serde_json::from_str("[]").map_err(internal)?;
        let entries = self.fields.iter().map(|(k, v)| {
            let value = if k == "messages" { none } else { *v };
            (k.as_ref(), value)
        });
        let mut map = MapDeserializer::<_, serde_json::Error>::new(entries);
        let request = MessagesRequest::deserialize(MapAccessDeserializer::new(&mut map))
            .and_then(|r| map.end().map(|()| r))
            .map_err(|e| self.explained(ApiError::invalid(e.to_string())))?;
        if self.kind == Kind::Messages && request.max_tokens.is_none() {
            return Err(ApiError::invalid("max_tokens: field required"));
        }
        Ok(request)
    }

    /// `messages`, typed (the Converse path and counts rebuild the request from them).
    ///
    /// # Errors
    /// As [`Self::head`].
    pub fn messages(&self) -> Result<Vec<Message>, ApiError> {
        let Some(raw) = self.fields.get("messages") else {
            return Ok(Vec::new());
        };
        serde_json::from_str(raw.get())
            .map_err(|e| self.explained(ApiError::invalid(e.to_string())))
    }

    /// The outline of `messages`: each turn's role and where its content is, nothing copied.
    ///
    /// # Errors
    /// A turn without a known `role` or without `content`, named as the whole-body parse names it.
    pub fn outline(&self) -> Result<Outline, ApiError> {
        let Some(raw) = self.fields.get("messages") else {
            return Ok(Outline::default());
        };
        let explain = |e: serde_json::Error| self.explained(ApiError::invalid(e.to_string()));
        let turns: Vec<Turn<'_>> = serde_json::from_str(raw.get()).map_err(explain)?;
        let ends_with_assistant = match turns.last() {
            Some(last) if last.role == Role::Assistant => {
                let content: MessageContent =
                    serde_json::from_str(last.content.get()).map_err(explain)?;
                content.has_content()
            }
            _ => false,
        };
        Ok(Outline {
            system_turns: turns.iter().any(|t| t.role == Role::System),
            ends_with_assistant,
            // The word first (one fast search); the blocks are read only where it occurs, since
            // a WebFetch call's `"url"` input is common and is no source.
            may_have_url_sources: memchr::memmem::find(raw.get().as_bytes(), b"\"url\"").is_some()
                && turns.iter().any(|t| has_url_source(t.content, URL_DEPTH)),
        })
    }

    fn explained(&self, fallback: ApiError) -> ApiError {
        explained(self.bytes, self.kind, fallback)
    }
}

/// How deep `url` sources are looked for: a turn's blocks, a `tool_result`'s content, a
/// `content` document's blocks (the places `MessagesRequest::url_sources_mut` visits).
const URL_DEPTH: u8 = 4;

/// A content block as far as its sources go.
#[derive(Deserialize)]
struct SourceBlock<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    source: Option<&'a RawValue>,
    #[serde(borrow)]
    content: Option<&'a RawValue>,
}

/// A source's type, and the blocks of a `content` source.
#[derive(Deserialize)]
struct SourceKind<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    content: Option<&'a RawValue>,
}

/// Whether `content` (a string or blocks) has a `url` source, read without copying. Content that
/// does not read as blocks has none the gateway could fetch; Bedrock judges it.
fn has_url_source(content: &RawValue, depth: u8) -> bool {
    let Some(depth) = depth.checked_sub(1) else {
        return false;
    };
    let Ok(blocks) = serde_json::from_str::<Vec<SourceBlock<'_>>>(content.get()) else {
        return false;
    };
    blocks.iter().any(|b| match b.kind.as_ref() {
        "image" | "document" => b.source.is_some_and(|s| {
            serde_json::from_str::<SourceKind<'_>>(s.get()).is_ok_and(|s| match s.kind.as_deref() {
                Some("url") => true,
                Some("content") => s.content.is_some_and(|c| has_url_source(c, depth)),
                _ => false,
            })
        }),
        "tool_result" => b.content.is_some_and(|c| has_url_source(c, depth)),
        _ => false,
    })
}

/// The whole-body parse's message for a body a step here refused; `fallback` when that parse
/// accepts it (a key twice at the top level, which only the split refuses).
fn explained(bytes: &[u8], kind: Kind, fallback: ApiError) -> ApiError {
    let whole = match kind {
        Kind::Messages => parse_messages_request(bytes),
        Kind::CountTokens => parse_count_tokens_request(bytes),
    };
    whole.err().unwrap_or(fallback)
}

fn internal(e: serde_json::Error) -> ApiError {
    ApiError::Internal(e.into())
}

/// The top level as raw fields, refusing a key that appears twice.
struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = RawFields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = RawFields::with_capacity(map.size_hint().unwrap_or(16));
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let value: &'de RawValue = map.next_value()?;
            if fields.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            fields.insert(key, value);
        }
        Ok(fields)
    }
}

#[cfg(test)]
#[path = "body_tests.rs"]
mod tests;
