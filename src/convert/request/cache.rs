//! Prompt-cache breakpoints: a `cache_control` on a block becomes a Converse
//! `{"cachePoint":{"type":"default"}}` right after that block, in the same array (tools, system or
//! a message's content).
//!
//! Converted blocks carry their marker in an [`Item`] until the whole request is built, because the
//! limit of four breakpoints applies to the request as a whole and the ones to keep are the last
//! ones. Only decides placement; whether a model supports caching is decided by the caller.
//!
//! Pure: no I/O, and nothing here logs.

use serde_json::{json, Value};

/// Anthropic and Bedrock both allow at most four breakpoints per request.
pub(super) const MAX_CACHE_POINTS: usize = 4;

/// Ordered so that merging two markers keeps the longer TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Ttl {
    Default,
    OneHour,
}

/// A converted block and the cache point that follows it, if any.
#[derive(Debug, Clone)]
pub(super) struct Item {
    pub(super) block: Value,
    pub(super) cache: Option<Ttl>,
}

impl Item {
    pub(super) fn new(block: Value) -> Self {
        Self { block, cache: None }
    }

    pub(super) fn text(&self) -> Option<&str> {
        self.block.get("text").and_then(Value::as_str)
    }
}

/// Appends a converted block. When the block produced nothing (dropped), its marker moves to the
/// previous item so the breakpoint survives, one block earlier.
pub(super) fn push(items: &mut Vec<Item>, block: Option<Value>, cache: Option<Ttl>) {
    match (block, items.last_mut()) {
        (Some(block), _) => items.push(Item { block, cache }),
        (None, Some(last)) => last.cache = last.cache.max(cache),
        (None, None) => {}
    }
}

/// Clears all but the last [`MAX_CACHE_POINTS`] markers, given in request order (tools, system,
/// messages). The later breakpoints cover the longer prefixes, which save the most. Returns how
/// many were cleared.
pub(super) fn clamp<'a>(markers: impl Iterator<Item = &'a mut Option<Ttl>>) -> usize {
    let mut set: Vec<&mut Option<Ttl>> = markers.filter(|m| m.is_some()).collect();
    let excess = set.len().saturating_sub(MAX_CACHE_POINTS);
    for marker in set.iter_mut().take(excess) {
        **marker = None;
    }
    excess
}

/// The Converse array: each block, followed by its cache point.
pub(super) fn emit(items: Vec<Item>, one_hour_supported: bool) -> Vec<Value> {
    let mut out = Vec::with_capacity(items.len() + 1);
    for item in items {
        out.push(item.block);
        match item.cache {
            Some(Ttl::OneHour) if one_hour_supported => {
                out.push(json!({"cachePoint": {"type": "default", "ttl": "1h"}}));
            }
            Some(_) => out.push(json!({"cachePoint": {"type": "default"}})),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::{body, convert};

    fn count_cache_points(body: &serde_json::Value) -> usize {
        let text = body.to_string();
        text.matches("\"cachePoint\"").count()
    }

    fn cc() -> serde_json::Value {
        json!({"type": "ephemeral"})
    }

    #[test]
    fn cache_control_becomes_a_cache_point_right_after_its_block() {
        let cases = [
            (
                json!({"system": [{"type": "text", "text": "sys", "cache_control": cc()}],
                       "messages": [{"role": "user", "content": "hi"}]}),
                "/system",
                json!([{"text": "sys"}, {"cachePoint": {"type": "default"}}]),
            ),
            (
                json!({"messages": [{"role": "user", "content": [
                    {"type": "text", "text": "a", "cache_control": cc()}, {"type": "text", "text": "b"}]}]}),
                "/messages/0/content",
                json!([{"text": "a"}, {"cachePoint": {"type": "default"}}, {"text": "b"}]),
            ),
            (
                json!({"tools": [{"name": "t", "input_schema": {"type": "object"}, "cache_control": cc()}],
                       "messages": [{"role": "user", "content": "hi"}]}),
                "/toolConfig/tools/1",
                json!({"cachePoint": {"type": "default"}}),
            ),
            (
                json!({"cache_control": cc(), "messages": [{"role": "user", "content": "hi"}]}),
                "/messages/0/content",
                json!([{"text": "hi"}, {"cachePoint": {"type": "default"}}]),
            ),
        ];
        for (request, pointer, want) in cases {
            let out = body("claude-sonnet-4-5", request.clone());
            assert_eq!(out.pointer(pointer), Some(&want), "{request}");
        }
    }

    #[test]
    fn one_hour_ttl_is_kept_only_where_the_model_supports_it() {
        let request = json!({"system": [{"type": "text", "text": "s",
            "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
            "messages": [{"role": "user", "content": "hi"}]});
        let cases = [
            (
                "claude-sonnet-4-5",
                json!({"type": "default", "ttl": "1h"}),
                false,
            ),
            (
                "claude-3-5-haiku-20241022",
                json!({"type": "default"}),
                true,
            ),
        ];
        for (model, want, noted) in cases {
            let out = convert(model, request.clone()).expect("converts");
            assert_eq!(
                out.body.pointer("/system/1/cachePoint"),
                Some(&want),
                "{model}"
            );
            assert_eq!(
                out.dropped.contains(&"cache_control.ttl".to_owned()),
                noted,
                "{model}"
            );
        }
    }

    #[test]
    fn at_most_four_cache_points_survive_and_they_are_the_last_ones() {
        let blocks: Vec<_> = (0..6)
            .map(|i| json!({"type": "text", "text": format!("b{i}"), "cache_control": cc()}))
            .collect();
        let out = convert(
            "claude-sonnet-4-5",
            json!({"tools": [{"name": "t", "input_schema": {"type": "object"}, "cache_control": cc()}],
                   "system": [{"type": "text", "text": "s", "cache_control": cc()}],
                   "messages": [{"role": "user", "content": blocks}]}),
        )
        .expect("converts");
        assert_eq!(count_cache_points(&out.body), 4);
        assert_eq!(
            out.body.pointer("/toolConfig/tools/1"),
            None,
            "earliest dropped first"
        );
        assert_eq!(out.body["system"].as_array().map(Vec::len), Some(1));
        let content = &out.body["messages"][0]["content"];
        assert_eq!(content[1], json!({"text": "b1"}), "b0 and b1 lost theirs");
        assert_eq!(content[3]["cachePoint"]["type"], "default");
        assert!(out
            .dropped
            .iter()
            .any(|d| d.starts_with("cache_control(over")));
    }

    #[test]
    fn models_without_caching_get_no_cache_points() {
        let out = convert(
            "qwen3-32b",
            json!({"system": [{"type": "text", "text": "s", "cache_control": cc()}],
                   "messages": [{"role": "user", "content": [{"type": "text", "text": "x", "cache_control": cc()}]}]}),
        )
        .expect("converts");
        assert_eq!(count_cache_points(&out.body), 0);
        assert!(out.dropped.contains(&"cache_control".to_owned()));
    }

    #[test]
    fn a_dropped_block_hands_its_cache_point_to_the_block_before_it() {
        let out = body(
            "claude-sonnet-4-5",
            json!({"messages": [{"role": "user", "content": [
                {"type": "text", "text": "kept"},
                {"type": "text", "text": "   ", "cache_control": cc()}]}]}),
        );
        assert_eq!(
            out["messages"][0]["content"],
            json!([{"text": "kept"}, {"cachePoint": {"type": "default"}}])
        );
    }
}
