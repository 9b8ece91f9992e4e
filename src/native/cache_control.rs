//! `cache_control` markers as Bedrock takes them: `scope` removed (it belongs to the Anthropic
//! API's prompt-caching-scope beta, which Bedrock does not offer), and `ttl` removed for models
//! older than 4.5, which refuse it (NATIVE.md §1.3, §1.5; the model's `cache_ttl_1h` capability).
//!
//! Markers sit on `system` blocks, on tools and on message content blocks (and inside
//! `tool_result` content). Only the blocks whose bytes hold a marker with something to remove are
//! parsed and written again; every other byte of the body is kept, so a request without such a
//! marker, which is every request Claude Code sends through a gateway, passes untouched and pays
//! one substring scan. Pure.

use std::borrow::Cow;

use indexmap::IndexMap;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// What to take out of each marker.
#[derive(Debug, Clone, Copy)]
pub struct Strip {
    /// Also remove `ttl` (the model predates it).
    pub ttl: bool,
}

impl Strip {
    fn keys(self) -> &'static [&'static str] {
        if self.ttl {
            &["scope", "ttl"]
        } else {
            &["scope"]
        }
    }

    /// Whether `raw` may hold a marker key to remove: a cheap test before any parse.
    fn may_touch(self, raw: &str) -> bool {
        let has = |word: &str| memchr::memmem::find(raw.as_bytes(), word.as_bytes()).is_some();
        has("\"cache_control\"") && self.keys().iter().any(|k| has(&format!("\"{k}\"")))
    }
}

/// The top-level fields of an InvokeModel body with their markers stripped; the names of the
/// fields that changed are added to `dropped`.
///
/// # Errors
/// As [`blocks`].
pub fn strip_fields<'a>(
    fields: &mut IndexMap<Cow<'a, str>, Cow<'a, str>>,
    strip: Strip,
    dropped: &mut Vec<String>,
) -> Result<(), ApiError> {
    for key in ["system", "tools", "messages"] {
        let Some(list) = fields.get(key) else {
            continue;
        };
        let edited = match key {
            "messages" => messages(list, strip)?,
            _ => blocks(list, strip)?,
        };
        if let Some(edited) = edited {
            fields.insert(
                key.into(),
                Cow::Owned(Box::<str>::from(edited).into_string()),
            );
            dropped.push(format!("{key}(cache_control {})", strip.keys().join("/")));
        }
    }
    Ok(())
}

/// `system` or `tools` (an array of blocks) with markers stripped; `None` when nothing changed.
///
/// # Errors
/// A block this wrote that serde_json cannot turn into a raw value again (a bug). One it cannot
/// read is left as sent.
pub fn blocks(list: &str, strip: Strip) -> Result<Option<Box<RawValue>>, ApiError> {
    if !strip.may_touch(list) || !list.trim_start().starts_with('[') {
        return Ok(None);
    }
    let Some(items) = parse::<Vec<&RawValue>>(list) else {
        return Ok(None);
    };
    let mut changed = false;
    let mut out: Vec<Cow<'_, RawValue>> = Vec::with_capacity(items.len());
    for item in items {
        match block(item, strip)? {
            Some(edited) => {
                changed = true;
                out.push(Cow::Owned(edited));
            }
            None => out.push(Cow::Borrowed(item)),
        }
    }
    changed.then(|| to_raw(&out)).transpose()
}

/// `messages` with the markers of their content blocks stripped; `None` when nothing changed.
///
/// # Errors
/// As [`blocks`].
pub fn messages(list: &str, strip: Strip) -> Result<Option<Box<RawValue>>, ApiError> {
    if !strip.may_touch(list) {
        return Ok(None);
    }
    let Some(items) = parse::<Vec<&RawValue>>(list) else {
        return Ok(None);
    };
    let mut changed = false;
    let mut out: Vec<Cow<'_, RawValue>> = Vec::with_capacity(items.len());
    for item in items {
        if !strip.may_touch(item.get()) {
            out.push(Cow::Borrowed(item));
            continue;
        }
        let Some(mut message) = parse::<IndexMap<Cow<'_, str>, Cow<'_, RawValue>>>(item.get())
        else {
            out.push(Cow::Borrowed(item));
            continue;
        };
        let edited = match message.get("content") {
            Some(content) => blocks(content.get(), strip)?,
            None => None,
        };
        match edited {
            Some(content) => {
                changed = true;
                message.insert("content".into(), Cow::Owned(content));
                out.push(Cow::Owned(to_raw(&message)?));
            }
            None => out.push(Cow::Borrowed(item)),
        }
    }
    changed.then(|| to_raw(&out)).transpose()
}

/// One block (a content block, a system block or a tool), markers stripped at any depth.
fn block(item: &RawValue, strip: Strip) -> Result<Option<Box<RawValue>>, ApiError> {
    if !strip.may_touch(item.get()) {
        return Ok(None);
    }
    let Some(mut value) = parse::<Value>(item.get()) else {
        return Ok(None);
    };
    if !strip_value(&mut value, strip) {
        return Ok(None);
    }
    to_raw(&value).map(Some)
}

fn strip_value(value: &mut Value, strip: Strip) -> bool {
    match value {
        Value::Object(map) => {
            let mut changed = match map.get_mut("cache_control") {
                Some(Value::Object(marker)) => remove_keys(marker, strip),
                _ => false,
            };
            for (key, child) in map.iter_mut() {
                if key != "cache_control" {
                    changed |= strip_value(child, strip);
                }
            }
            changed
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| strip_value(item, strip) | changed),
        _ => false,
    }
}

fn remove_keys(marker: &mut Map<String, Value>, strip: Strip) -> bool {
    strip.keys().iter().fold(false, |changed, key| {
        marker.shift_remove(*key).is_some() | changed
    })
}

/// `None` for what serde_json will not read (a lone surrogate escape, nesting past its limit):
/// the native path reads no message content itself, so such a block goes as sent and Bedrock
/// answers for it in its own words.
fn parse<'a, T: serde::Deserialize<'a>>(raw: &'a str) -> Option<T> {
    serde_json::from_str(raw).ok()
}

fn to_raw<T: serde::Serialize + ?Sized>(value: &T) -> Result<Box<RawValue>, ApiError> {
    serde_json::value::to_raw_value(value).map_err(|e| ApiError::Internal(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).expect("JSON")
    }

    const SCOPE_ONLY: Strip = Strip { ttl: false };
    const OLD_MODEL: Strip = Strip { ttl: true };

    #[test]
    fn a_marker_loses_its_scope_and_the_other_blocks_keep_their_bytes() {
        let system = raw(
            r#"[{"type":"text","text":"a\u0041"},{"type":"text","text":"b","cache_control":{"type":"ephemeral","scope":"global","ttl":"1h"}}]"#,
        );
        let out = blocks(system.get(), SCOPE_ONLY)
            .expect("ok")
            .expect("changed");
        assert_eq!(
            out.get(),
            r#"[{"type":"text","text":"a\u0041"},{"type":"text","text":"b","cache_control":{"type":"ephemeral","ttl":"1h"}}]"#
        );
    }

    #[test]
    fn an_older_model_also_loses_the_ttl() {
        let tools = raw(
            r#"[{"name":"t","input_schema":{},"cache_control":{"type":"ephemeral","ttl":"1h"}}]"#,
        );
        let out = blocks(tools.get(), OLD_MODEL)
            .expect("ok")
            .expect("changed");
        assert_eq!(
            out.get(),
            r#"[{"name":"t","input_schema":{},"cache_control":{"type":"ephemeral"}}]"#
        );
        assert!(blocks(tools.get(), SCOPE_ONLY).expect("ok").is_none());
    }

    #[test]
    fn markers_inside_tool_results_are_reached_and_untouched_messages_keep_their_bytes() {
        let list = raw(
            r#"[{"role":"user","content":"plain \"scope\" talk"},{"role":"user","content":[{"type":"tool_result","tool_use_id":"x","content":[{"type":"text","text":"r","cache_control":{"type":"ephemeral","scope":"global"}}]}]}]"#,
        );
        let out = messages_of(list.get());
        assert!(out.starts_with(r#"[{"role":"user","content":"plain \"scope\" talk"},"#));
        assert!(!out.contains(r#""scope":"global""#), "{out}");
        assert!(
            out.contains(r#""cache_control":{"type":"ephemeral"}"#),
            "{out}"
        );
    }

    #[test]
    fn a_block_serde_json_will_not_read_goes_as_sent() {
        // A lone surrogate escape: the split skips it, serde_json's `Value` refuses it. Bedrock
        // judges such content, so the marker's block is left alone rather than failing the request.
        let system = raw(
            r#"[{"type":"text","text":"\ud800","cache_control":{"type":"ephemeral","scope":"global"}}]"#,
        );
        assert!(serde_json::from_str::<Value>(system.get()).is_err());
        assert!(blocks(system.get(), SCOPE_ONLY)
            .expect("no error")
            .is_none());
        let messages = raw(&format!(
            r#"[{{"role":"user","content":{}}}]"#,
            system.get()
        ));
        assert!(super::messages(messages.get(), SCOPE_ONLY)
            .expect("no error")
            .is_none());
    }

    #[test]
    fn a_body_without_markers_to_change_is_not_rewritten() {
        let marked = raw(
            r#"[{"role":"user","content":[{"type":"text","text":"the scope of it","cache_control":{"type":"ephemeral"}}]}]"#,
        );
        assert!(messages(marked.get(), OLD_MODEL).expect("ok").is_none());
        let text_only = raw(r#"[{"role":"user","content":"\"scope\" and \"ttl\""}]"#);
        assert!(messages(text_only.get(), OLD_MODEL).expect("ok").is_none());
    }

    fn messages_of(list: &str) -> String {
        messages(list, SCOPE_ONLY)
            .expect("ok")
            .expect("changed")
            .get()
            .to_owned()
    }
}
