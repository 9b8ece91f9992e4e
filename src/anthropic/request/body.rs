//! A request body read once: its top level split into raw fields (the client's bytes, borrowed,
//! never copied), the typed request read from those fields, and `messages` read only as far as
//! the route needs.
//!
//! - Converse rebuilds the whole request, so it reads `messages` typed ([`RequestBody::messages`]).
//! - The native path sends the client's bytes on, so it reads only each turn's `role` and where
//!   its `content` is ([`RequestBody::outline`]): no text is copied, and Bedrock judges the
//!   content itself, in its own words (Claude Code's gateway guidance). The split reads that
//!   outline as it passes over `messages`, so a 1 MB Claude Code body costs one scan that copies
//!   nothing, where a typed parse copied every string in it (docs/performance.md).
//!
//! Errors read exactly as the whole-body parse ([`super::parse_count_tokens_request`]) words
//! them: when a step here fails, that parse runs for its message. A key that appears twice at the
//! top level is refused. Pure: no I/O, no logging.

use std::borrow::{Borrow, Cow};
use std::fmt;

use indexmap::IndexMap;
use serde::de::value::{MapAccessDeserializer, MapDeserializer};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::outline::{array_after, messages_text, outline_of, Outline, Turn, TurnsSeed};
use super::{parse_count_tokens_request, parse_messages_request, Message, MessagesRequest};
use crate::error::ApiError;

/// A body's top-level fields in the client's order, each the client's exact bytes.
pub type RawFields<'a> = IndexMap<Cow<'a, str>, RawField<'a>>;

/// One top-level value, the client's JSON text as the split read it.
#[derive(Debug, Clone, Copy)]
pub struct RawField<'a>(Read<'a>);

#[derive(Debug, Clone, Copy)]
enum Read<'a> {
    /// Read by serde_json as a raw value.
    Value(&'a RawValue),
    /// `messages`, read turn by turn for the outline: its text, found by that same scan
    /// ([`messages_text`]). serde_json cannot hand out a raw value for text it did not read as
    /// one without reading it again.
    Messages(&'a str),
}

impl<'a> RawField<'a> {
    /// The value's JSON text, as the client wrote it.
    pub fn get(self) -> &'a str {
        match self.0 {
            Read::Value(v) => v.get(),
            Read::Messages(text) => text,
        }
    }
}

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
    /// Read by the split itself when it could ([`RequestBody::outline`] reads it otherwise).
    outline: Option<Outline>,
}

impl<'a> RequestBody<'a> {
    /// Splits `bytes` at the top level and reads the outline of `messages` in the same scan, for
    /// a route that may send the body natively. When that scan cannot read the body (not UTF-8,
    /// an escaped `messages` key, `messages` not an array of objects, a turn without one `role`
    /// and one `content`, or a body any split refuses), it is split again by [`Self::split`],
    /// which words the refusal.
    ///
    /// # Errors
    /// As [`Self::split`].
    pub fn split_with_outline(bytes: &'a [u8], kind: Kind) -> Result<Self, ApiError> {
        match Self::outlined(bytes, kind) {
            Some(body) => Ok(body),
            None => Self::split(bytes, kind),
        }
    }

    /// Splits `bytes` at the top level: one scan, nothing copied; `messages` is one raw value,
    /// its outline left for [`Self::outline`].
    ///
    /// # Errors
    /// A body that is not one JSON object with distinct keys, worded as the whole-body parse
    /// words it.
    pub fn split(bytes: &'a [u8], kind: Kind) -> Result<Self, ApiError> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let (fields, _) = de
            .deserialize_map(FieldsVisitor { text: None })
            .and_then(|fields| de.end().map(|()| fields))
            .map_err(|e| explained(bytes, kind, ApiError::invalid(e.to_string())))?;
        Ok(Self {
            bytes,
            kind,
            fields,
            outline: None,
        })
    }

    /// The split with the outline read on the way; `None` when anything is amiss. Read as text,
    /// so each raw value is not checked for UTF-8 again.
    fn outlined(bytes: &'a [u8], kind: Kind) -> Option<Self> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut de = serde_json::Deserializer::from_str(text);
        let (fields, turns) = de
            .deserialize_map(FieldsVisitor { text: Some(text) })
            .ok()?;
        de.end().ok()?;
        let outline = match (turns, fields.get("messages")) {
            // A last turn whose content does not read: `outline` words the refusal.
            (Some(turns), Some(messages)) => outline_of(&turns, messages.get()).ok(),
            (None, Some(_)) => None,
            (_, None) => Some(Outline::default()),
        };
        Some(Self {
            bytes,
            kind,
            fields,
            outline,
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
            // Only `messages` is ever held as text, and its content is not read here.
            let value = match v.0 {
                Read::Value(v) if k != "messages" => v,
                _ => none,
            };
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
        if let Some(outline) = self.outline {
            return Ok(outline);
        }
        let Some(raw) = self.fields.get("messages") else {
            return Ok(Outline::default());
        };
        let explain = |e: serde_json::Error| self.explained(ApiError::invalid(e.to_string()));
        let turns: Vec<Turn<'_>> = serde_json::from_str(raw.get()).map_err(explain)?;
        outline_of(&turns, raw.get()).map_err(explain)
    }

    fn explained(&self, fallback: ApiError) -> ApiError {
        explained(self.bytes, self.kind, fallback)
    }
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

/// The top level as raw fields, refusing a key that appears twice. Given the body's `text`, it
/// reads an array `messages` turn by turn as well ([`TurnsSeed`]) and returns its turns.
struct FieldsVisitor<'de> {
    text: Option<&'de str>,
}

impl<'de> Visitor<'de> for FieldsVisitor<'de> {
    type Value = (RawFields<'de>, Option<Vec<Turn<'de>>>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = RawFields::with_capacity(map.size_hint().unwrap_or(16));
        let mut turns = None;
        while let Some(RawKey(key)) = map.next_key()? {
            let array = match (self.text, &key) {
                (Some(text), Cow::Borrowed(k)) if *k == "messages" && turns.is_none() => {
                    array_after(text, k).map(|at| (text, at))
                }
                _ => None,
            };
            let value = match array {
                Some((text, at)) => {
                    let (read, last) = map.next_value_seed(TurnsSeed)?;
                    turns = Some(read);
                    let messages = messages_text(text, at, last)
                        .ok_or_else(|| de::Error::custom("`messages` text not found"))?;
                    RawField(Read::Messages(messages))
                }
                None => RawField(Read::Value(map.next_value()?)),
            };
            if fields.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            fields.insert(key, value);
        }
        Ok((fields, turns))
    }
}

/// A JSON key, borrowed from the text unless it has escapes: a one-field wrapper because
/// `Cow<str>`'s own `Deserialize` always copies, and `#[serde(borrow)]` needs a field to borrow
/// into. A borrowed key also says where in the text it is ([`array_after`]).
#[derive(Debug, PartialEq, Eq, Hash, Deserialize)]
pub struct RawKey<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl Borrow<str> for RawKey<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
#[path = "body_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "body_scan_tests.rs"]
mod scan_tests;
