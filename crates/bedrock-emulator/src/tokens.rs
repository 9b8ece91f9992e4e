//! Deterministic token estimates and the prompt-cache memory.
//!
//! One function prices a request for Converse usage and for CountTokens, so the two agree:
//! `ceil(chars / 4)` of each element's text (tool inputs, JSON results and schemas as compact
//! JSON), plus a fixed cost per image and per binary document. Elements are visited in the order
//! the model reads them — tools, system, messages — and every `cachePoint` closes a prefix.
//!
//! Cache prefixes are hashed from the JSON exactly as sent (key order included), so a client that
//! reorders object keys between calls misses the cache, as it would against the real prompt cache.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const IMAGE_TOKENS: u64 = 1_600;
const BINARY_DOCUMENT_TOKENS: u64 = 1_500;

/// Tokens of one piece of text.
pub(crate) fn text_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

fn json_tokens(value: &Value) -> u64 {
    text_tokens(&value.to_string())
}

/// Tokens of one content, system or tool element (its JSON object as sent).
fn element_tokens(element: &Value) -> u64 {
    let Some((key, inner)) = element.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map_or(0, text_tokens);
    match key.as_str() {
        "text" => inner.as_str().map_or(0, text_tokens),
        "json" => json_tokens(inner),
        "cachePoint" => 0,
        "image" => IMAGE_TOKENS,
        "document" => {
            let source = inner.get("source").unwrap_or(&Value::Null);
            str_of(inner, "name")
                + match source.as_object().and_then(|o| o.iter().next()) {
                    Some((k, v)) if k == "text" => v.as_str().map_or(0, text_tokens),
                    Some((k, v)) if k == "content" => v
                        .as_array()
                        .map_or(0, |items| items.iter().map(element_tokens).sum()),
                    _ => BINARY_DOCUMENT_TOKENS,
                }
        }
        "toolUse" => str_of(inner, "name") + inner.get("input").map_or(0, json_tokens),
        "toolResult" => inner
            .get("content")
            .and_then(Value::as_array)
            .map_or(0, |items| items.iter().map(element_tokens).sum()),
        "reasoningContent" => inner.get("reasoningText").map_or(16, |r| str_of(r, "text")),
        "toolSpec" => {
            str_of(inner, "name")
                + str_of(inner, "description")
                + inner
                    .get("inputSchema")
                    .and_then(|s| s.get("json"))
                    .map_or(0, json_tokens)
        }
        "systemTool" => str_of(inner, "name"),
        _ => json_tokens(inner),
    }
}

/// A cache checkpoint: the prefix before it, and its TTL.
#[derive(Debug, Clone)]
pub(crate) struct Checkpoint {
    hash: u64,
    tokens: u64,
    ttl: String,
}

/// A request body seen as the model reads it.
#[derive(Debug, Clone)]
pub(crate) struct Prompt {
    pub(crate) total: u64,
    checkpoints: Vec<Checkpoint>,
}

impl Prompt {
    /// Walks a Converse-shaped body (`toolConfig`, `system`, `messages`).
    pub(crate) fn of(body: &Value, model_id: &str) -> Self {
        let mut hasher = DefaultHasher::new();
        model_id.hash(&mut hasher);
        let mut prompt = Self {
            total: 0,
            checkpoints: Vec::new(),
        };
        let list = |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
        let tools = list(body.get("toolConfig").and_then(|t| t.get("tools")));
        let system = list(body.get("system"));
        let mut elements: Vec<(String, Value)> = Vec::new();
        elements.extend(tools.into_iter().map(|t| ("tools".to_owned(), t)));
        elements.extend(system.into_iter().map(|s| ("system".to_owned(), s)));
        for (i, message) in list(body.get("messages")).into_iter().enumerate() {
            let role = message
                .get("role")
                .and_then(Value::as_str)
                .unwrap_or("user");
            let tag = format!("messages.{i}.{role}");
            elements.extend(
                list(message.get("content"))
                    .into_iter()
                    .map(|c| (tag.clone(), c)),
            );
        }
        for (section, element) in elements {
            match element.get("cachePoint") {
                Some(point) => prompt.checkpoints.push(Checkpoint {
                    hash: hasher.clone().finish(),
                    tokens: prompt.total,
                    ttl: point
                        .get("ttl")
                        .and_then(Value::as_str)
                        .unwrap_or("5m")
                        .to_owned(),
                }),
                None => {
                    (section, element.to_string()).hash(&mut hasher);
                    prompt.total += element_tokens(&element);
                }
            }
        }
        prompt.total = prompt.total.max(1);
        prompt
    }
}

impl Prompt {
    /// Walks a native (InvokeModel) Anthropic body: `tools`, `system`, `messages`. A block with
    /// `cache_control` closes a prefix that includes it; the marker itself is not hashed, so
    /// moving a breakpoint does not change what an earlier prefix was.
    pub(crate) fn of_native(body: &Value, model_id: &str) -> Self {
        let mut hasher = DefaultHasher::new();
        model_id.hash(&mut hasher);
        let mut prompt = Self {
            total: 0,
            checkpoints: Vec::new(),
        };
        let as_blocks = |v: Option<&Value>| match v {
            Some(Value::String(text)) => vec![json!({"type": "text", "text": text})],
            Some(Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        };
        let mut elements: Vec<(String, Value)> = Vec::new();
        let tools = as_blocks(body.get("tools"));
        elements.extend(tools.into_iter().map(|t| ("tools".to_owned(), t)));
        let system = as_blocks(body.get("system"));
        elements.extend(system.into_iter().map(|s| ("system".to_owned(), s)));
        let messages = body.get("messages").and_then(Value::as_array);
        for (i, message) in messages.into_iter().flatten().enumerate() {
            let role = message
                .get("role")
                .and_then(Value::as_str)
                .unwrap_or("user");
            let tag = format!("messages.{i}.{role}");
            let content = as_blocks(message.get("content"));
            elements.extend(content.into_iter().map(|c| (tag.clone(), c)));
        }
        for (section, mut element) in elements {
            let marker = element
                .as_object_mut()
                .and_then(|o| o.remove("cache_control"));
            (section, element.to_string()).hash(&mut hasher);
            prompt.total += native_tokens(&element);
            if let Some(marker) = marker {
                prompt.checkpoints.push(Checkpoint {
                    hash: hasher.clone().finish(),
                    tokens: prompt.total,
                    ttl: marker
                        .get("ttl")
                        .and_then(Value::as_str)
                        .unwrap_or("5m")
                        .to_owned(),
                });
            }
        }
        prompt.total = prompt.total.max(1);
        prompt
    }
}

/// Tokens of one native block or tool definition (`cache_control` already removed).
fn native_tokens(element: &Value) -> u64 {
    let str_of = |k: &str| {
        element
            .get(k)
            .and_then(Value::as_str)
            .map_or(0, text_tokens)
    };
    match element
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
    {
        "text" => str_of("text"),
        "image" => IMAGE_TOKENS,
        "document" => match element.pointer("/source/type").and_then(Value::as_str) {
            Some("text") => element
                .pointer("/source/data")
                .and_then(Value::as_str)
                .map_or(0, text_tokens),
            _ => BINARY_DOCUMENT_TOKENS,
        },
        "tool_use" => str_of("name") + element.get("input").map_or(0, json_tokens),
        "tool_result" => match element.get("content") {
            Some(Value::String(s)) => text_tokens(s),
            Some(Value::Array(items)) => items.iter().map(native_tokens).sum(),
            _ => 0,
        },
        "thinking" => str_of("thinking"),
        "redacted_thinking" => 16,
        // Tool definitions (custom tools carry no `type`, or `custom`).
        "" | "custom" => {
            str_of("name")
                + str_of("description")
                + element.get("input_schema").map_or(0, json_tokens)
        }
        _ => json_tokens(element),
    }
}

/// Input-side usage of one call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct InputUsage {
    pub(crate) input: u64,
    pub(crate) cache_read: u64,
    pub(crate) cache_write: u64,
    /// Written tokens per TTL, in checkpoint order.
    pub(crate) writes_by_ttl: Vec<(String, u64)>,
    pub(crate) cached: bool,
}

impl InputUsage {
    /// The `cacheDetails` member, present when the request had checkpoints.
    pub(crate) fn cache_details(&self) -> Option<Value> {
        if !self.cached {
            return None;
        }
        let details: Vec<Value> = if self.writes_by_ttl.is_empty() {
            vec![json!({"ttl": "5m", "inputTokens": 0})]
        } else {
            self.writes_by_ttl
                .iter()
                .map(|(ttl, n)| json!({"ttl": ttl, "inputTokens": n}))
                .collect()
        };
        Some(Value::Array(details))
    }
}

/// Which prefixes this emulator instance has cached, and until when.
#[derive(Debug, Default)]
pub(crate) struct CacheMemory {
    entries: HashMap<u64, Instant>,
}

impl CacheMemory {
    /// Prices a call: the longest live cached prefix is read, the rest up to the last
    /// checkpoint is written; every checkpoint's prefix is then (re)cached for its TTL.
    pub(crate) fn account(&mut self, prompt: &Prompt, now: Instant) -> InputUsage {
        self.entries.retain(|_, expires| *expires > now);
        let read = prompt
            .checkpoints
            .iter()
            .rev()
            .find(|c| self.entries.contains_key(&c.hash))
            .map_or(0, |c| c.tokens);
        let mut written = read;
        let mut writes_by_ttl: Vec<(String, u64)> = Vec::new();
        for c in &prompt.checkpoints {
            if c.tokens > written {
                let n = c.tokens - written;
                written = c.tokens;
                match writes_by_ttl.iter_mut().find(|(ttl, _)| *ttl == c.ttl) {
                    Some((_, total)) => *total += n,
                    None => writes_by_ttl.push((c.ttl.clone(), n)),
                }
            }
            let ttl = if c.ttl == "1h" { 3_600 } else { 300 };
            self.entries.insert(c.hash, now + Duration::from_secs(ttl));
        }
        let cache_write = written - read;
        InputUsage {
            input: prompt.total.saturating_sub(written).max(1),
            cache_read: read,
            cache_write,
            writes_by_ttl,
            cached: !prompt.checkpoints.is_empty(),
        }
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(system: &str, question: &str) -> Value {
        json!({
            "system": [{"text": system}, {"cachePoint": {"type": "default"}}],
            "messages": [{"role": "user", "content": [{"text": question}]}]
        })
    }

    #[test]
    fn a_repeated_prefix_is_read_from_the_cache() {
        let mut cache = CacheMemory::default();
        let system = "x".repeat(4_000);
        let first = cache.account(&Prompt::of(&body(&system, "one"), "m"), Instant::now());
        assert_eq!(
            (first.cache_read, first.cache_write, first.input),
            (0, 1_000, 1)
        );
        let second = cache.account(&Prompt::of(&body(&system, "two!"), "m"), Instant::now());
        assert_eq!((second.cache_read, second.cache_write), (1_000, 0));
        let other_model = cache.account(&Prompt::of(&body(&system, "two"), "n"), Instant::now());
        assert_eq!(other_model.cache_read, 0);
    }

    #[test]
    fn native_cache_control_closes_a_prefix_that_includes_its_block() {
        let mut cache = CacheMemory::default();
        let body = |q: &str| {
            json!({
                "system": [{"type": "text", "text": "y".repeat(4_000), "cache_control": {"type": "ephemeral"}}],
                "messages": [{"role": "user", "content": q}]
            })
        };
        let first = cache.account(&Prompt::of_native(&body("one"), "m"), Instant::now());
        assert_eq!((first.cache_read, first.cache_write), (0, 1_000));
        let second = cache.account(&Prompt::of_native(&body("two"), "m"), Instant::now());
        assert_eq!(
            (second.cache_read, second.cache_write, second.input),
            (1_000, 0, 1)
        );
    }

    #[test]
    fn entries_expire_after_their_ttl() {
        let mut cache = CacheMemory::default();
        let prompt = Prompt::of(&body("abcd", "q"), "m");
        let now = Instant::now();
        cache.account(&prompt, now);
        let later = cache.account(&prompt, now + Duration::from_secs(301));
        assert_eq!(later.cache_read, 0);
        assert_eq!(later.cache_write, 1);
    }
}
