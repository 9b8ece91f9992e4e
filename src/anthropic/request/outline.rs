//! What the native path reads of `messages` ([`Outline`]): each turn's role and where its content
//! is, nothing copied. [`TurnsSeed`] reads it while the split passes over `messages`, and
//! [`messages_text`] then finds the array's text from where that scan stopped, so a large body is
//! scanned once; [`outline_of`] reads the outline from the turns either way. Pure.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::body::RawKey;
use super::{MessageContent, Role};

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
pub(super) struct Turn<'a> {
    role: Role,
    #[serde(borrow)]
    content: &'a RawValue,
}

/// The outline of `messages` (text `raw`) from its turns.
pub(super) fn outline_of(turns: &[Turn<'_>], raw: &str) -> Result<Outline, serde_json::Error> {
    let ends_with_assistant = match turns.last() {
        Some(last) if last.role == Role::Assistant => {
            serde_json::from_str::<MessageContent>(last.content.get())?.has_content()
        }
        _ => false,
    };
    Ok(Outline {
        system_turns: turns.iter().any(|t| t.role == Role::System),
        ends_with_assistant,
        // The word first (one fast search); the blocks are read only where it occurs, since
        // a WebFetch call's `"url"` input is common and is no source.
        may_have_url_sources: memchr::memmem::find(raw.as_bytes(), b"\"url\"").is_some()
            && turns.iter().any(|t| has_url_source(t.content, URL_DEPTH)),
    })
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

/// JSON's whitespace (RFC 8259 §2).
const WHITESPACE: [char; 4] = [' ', '\t', '\n', '\r'];

/// Where the value after `key` starts in `text` (`key` borrowed from it, so written without
/// escapes and followed by its closing quote), when that value is an array.
pub(super) fn array_after(text: &str, key: &str) -> Option<usize> {
    let key_end = (key.as_ptr() as usize).checked_sub(text.as_ptr() as usize)? + key.len();
    let rest = text.get(key_end..)?.strip_prefix('"')?;
    let rest = rest.trim_start_matches(WHITESPACE).strip_prefix(':')?;
    let value = rest.trim_start_matches(WHITESPACE);
    value.starts_with('[').then(|| text.len() - value.len())
}

/// The text of the `messages` array that starts at `at`, given the last value read inside it.
/// After that value come only the closing of its turn and of the array (every turn read has a
/// `role` and a `content`, so no turn is empty and nothing else can follow): whitespace, `}` and
/// the `]` the text ends at.
pub(super) fn messages_text<'t>(
    text: &'t str,
    at: usize,
    last: Option<&RawValue>,
) -> Option<&'t str> {
    let from = match last {
        Some(v) => (v.get().as_ptr() as usize).checked_sub(text.as_ptr() as usize)? + v.get().len(),
        None => at + 1,
    };
    let rest = text.get(from..)?;
    let close = rest.find(|c: char| !WHITESPACE.contains(&c) && c != '}')?;
    match rest[close..].starts_with(']') {
        true => text.get(at..=from + close),
        false => None,
    }
}

/// An array of turns, each read for its role and the place of its content
/// ([`TurnVisitor`]); also the last value read in the array, where its text nearly ends.
pub(super) struct TurnsSeed;

impl<'de> DeserializeSeed<'de> for TurnsSeed {
    type Value = (Vec<Turn<'de>>, Option<&'de RawValue>);

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for TurnsSeed {
    type Value = (Vec<Turn<'de>>, Option<&'de RawValue>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of turns")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut turns = Vec::with_capacity(seq.size_hint().unwrap_or(64));
        let mut last = None;
        while let Some((turn, end)) = seq.next_element_seed(TurnVisitor)? {
            turns.push(turn);
            last = Some(end);
        }
        Ok((turns, last))
    }
}

/// One turn: each value read raw, `role` then parsed; a turn without `role` or `content`, or
/// with either twice, is refused (the plain split and outline then word the refusal). Also the
/// turn's last value.
struct TurnVisitor;

impl<'de> DeserializeSeed<'de> for TurnVisitor {
    type Value = (Turn<'de>, &'de RawValue);

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TurnVisitor {
    type Value = (Turn<'de>, &'de RawValue);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a turn")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut role, mut content, mut last) = (None, None, None);
        while let Some(RawKey(key)) = map.next_key()? {
            let value: &'de RawValue = map.next_value()?;
            let slot = match key.as_ref() {
                "role" => Some(&mut role),
                "content" => Some(&mut content),
                _ => None,
            };
            if slot.is_some_and(|slot| slot.replace(value).is_some()) {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            last = Some(value);
        }
        let (Some(role), Some(content), Some(last)) = (role, content, last) else {
            return Err(de::Error::custom("a turn without role or content"));
        };
        let role = serde_json::from_str(role.get()).map_err(de::Error::custom)?;
        Ok((Turn { role, content }, last))
    }
}
