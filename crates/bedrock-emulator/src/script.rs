//! What the emulated model answers: queued [`Script`]s and `[[emu:…]]` directives.
//!
//! Both are documented in the [module docs](super). This file only parses them; turning them into
//! a reply is [`super::plan`]'s job.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A scripted response, queued with [`super::Emulator::push_script`] or `POST /_emulator/scripts`.
///
/// Every field is optional; `{}` answers the default reply once. An empty `content` means "the
/// default answer" (so a script can add only timing, usage or an error).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// Output blocks, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content: Vec<ScriptBlock>,
    /// Bedrock `stopReason` to report (default: derived from the content and limits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    /// Reported as `additionalModelResponseFields.stop_sequence` when the client asks for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequence: Option<String>,
    /// Replaces computed usage numbers.
    #[serde(default, skip_serializing_if = "UsageOverride::is_empty")]
    pub usage: UsageOverride,
    /// Fail the call with this exception (before any output, unless `stream_error_after` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ScriptError>,
    /// ConverseStream only: send `error` as an exception frame after this many content deltas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_error_after: Option<usize>,
    /// ConverseStream only: after this many content deltas, send half a frame and drop the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncate_after: Option<usize>,
    /// ConverseStream only: after this many content deltas, send a frame whose checksum fails and
    /// end the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrupt_after: Option<usize>,
    /// Wait this long before the first byte of the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silence_ms: Option<u64>,
    /// ConverseStream only: wait this long between events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drip_ms: Option<u64>,
    /// How many calls this script answers before it leaves the queue (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
}

impl Script {
    /// Answers with one text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            content: vec![ScriptBlock::Text(text.into())],
            ..Self::default()
        }
    }

    /// Answers with one tool call (`stopReason` `tool_use`).
    pub fn tool(name: impl Into<String>, input: Value) -> Self {
        Self {
            content: vec![ScriptBlock::Tool(ScriptTool {
                name: name.into(),
                input,
                id: None,
            })],
            ..Self::default()
        }
    }

    /// Fails with the named exception (`ThrottlingException`, …) and its usual status and message.
    pub fn error(kind: impl Into<String>) -> Self {
        Self {
            error: Some(ScriptError {
                kind: kind.into(),
                message: None,
                status: None,
                retry_after: None,
            }),
            ..Self::default()
        }
    }
}

/// One scripted output block: `{"text": …}`, `{"tool": {…}}`, `{"thinking": {…}}`, `{"redacted": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptBlock {
    Text(String),
    Tool(ScriptTool),
    Thinking(ScriptThinking),
    /// `redactedContent`, base64.
    Redacted(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptTool {
    pub name: String,
    #[serde(default = "empty_object")]
    pub input: Value,
    /// Default: `tooluse_<22 random characters>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptThinking {
    pub text: String,
    /// Default: a fresh `emu-sig-…` signature (Claude models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptError {
    /// Exception name, `ThrottlingException` or `throttlingException`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// HTTP status (default: the exception's usual one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// A `retry-after` header, in seconds, on the HTTP error (for the gateway's failover tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// Usage numbers to report instead of the estimates. Bedrock's camelCase names are accepted too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageOverride {
    #[serde(
        default,
        alias = "inputTokens",
        skip_serializing_if = "Option::is_none"
    )]
    pub input_tokens: Option<u64>,
    #[serde(
        default,
        alias = "outputTokens",
        skip_serializing_if = "Option::is_none"
    )]
    pub output_tokens: Option<u64>,
    #[serde(
        default,
        alias = "cacheReadInputTokens",
        skip_serializing_if = "Option::is_none"
    )]
    pub cache_read_input_tokens: Option<u64>,
    #[serde(
        default,
        alias = "cacheWriteInputTokens",
        skip_serializing_if = "Option::is_none"
    )]
    pub cache_write_input_tokens: Option<u64>,
}

impl UsageOverride {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// One `[[emu:…]]` directive.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Directive {
    Text(String),
    Tool { name: String, input: Value },
    Thinking,
    Redacted,
    Error(String),
    StreamError { kind: String, after: usize },
    Truncate { after: usize },
    Corrupt { after: usize },
    Silence(u64),
    Drip(u64),
    Long(usize),
    Stamp,
}

const OPEN: &str = "[[emu:";
const CLOSE: &str = "]]";

/// Every well-formed directive in `text`, in order; malformed ones are ignored.
pub(crate) fn directives(text: &str) -> Vec<Directive> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        rest = &rest[start + OPEN.len()..];
        if let Some((directive, used)) = directive(rest) {
            found.push(directive);
            rest = &rest[used..];
        }
    }
    found
}

/// Parses what follows `[[emu:`; returns the directive and the bytes it used.
fn directive(s: &str) -> Option<(Directive, usize)> {
    let verb_end = s.find(|c: char| c.is_whitespace() || c == ']')?;
    let verb = &s[..verb_end];
    if verb == "tool" {
        return tool_directive(s, verb_end);
    }
    let close = s.find(CLOSE)?;
    let args = s.get(verb_end..close)?.trim();
    let used = close + CLOSE.len();
    let after = || {
        args.split_whitespace()
            .find_map(|a| a.strip_prefix("after="))
            .map_or(Some(0), |n| n.parse().ok())
    };
    let directive = match verb {
        "text" if !args.is_empty() => Directive::Text(args.to_owned()),
        "thinking" => Directive::Thinking,
        "stamp" => Directive::Stamp,
        "redacted" => Directive::Redacted,
        "error" if !args.is_empty() => Directive::Error(args.to_owned()),
        "stream-error" => Directive::StreamError {
            kind: args.split_whitespace().next()?.to_owned(),
            after: after()?,
        },
        "truncate" => Directive::Truncate { after: after()? },
        "corrupt" => Directive::Corrupt { after: after()? },
        "silence" => Directive::Silence(args.parse().ok()?),
        "drip" => Directive::Drip(args.parse().ok()?),
        "long" => Directive::Long(args.parse().ok()?),
        _ => return None,
    };
    Some((directive, used))
}

/// `tool <Name> <json>]]`; the JSON may itself contain `]]`, so it is parsed, not searched.
fn tool_directive(s: &str, verb_end: usize) -> Option<(Directive, usize)> {
    let after_verb = &s[verb_end..];
    let name_start = verb_end + (after_verb.len() - after_verb.trim_start().len());
    let name_len = s[name_start..].find(|c: char| c.is_whitespace() || c == ']')?;
    let name = s[name_start..name_start + name_len].to_owned();
    let mut pos = name_start + name_len;
    pos += s[pos..].len() - s[pos..].trim_start().len();
    let input = if s[pos..].starts_with(CLOSE) {
        empty_object()
    } else {
        let mut values = serde_json::Deserializer::from_str(&s[pos..]).into_iter::<Value>();
        let value = values.next()?.ok()?;
        pos += values.byte_offset();
        pos += s[pos..].len() - s[pos..].trim_start().len();
        value
    };
    if name.is_empty() || !s[pos..].starts_with(CLOSE) {
        return None;
    }
    Some((Directive::Tool { name, input }, pos + CLOSE.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn directives_are_found_anywhere_in_text() {
        let text =
            "please [[emu:text Hi there]] and [[emu:tool Bash {\"command\": \"ls [[x]]\"}]] \
                    [[emu:thinking]][[emu:stream-error throttlingException after=3]] [[emu:bogus]] \
                    [[emu:truncate after=2]] [[emu:corrupt after=4]] [[emu:silence 50]] [[emu:drip 5]] [[emu:long 10]] \
                    [[emu:error ThrottlingException]] [[emu:redacted]] [[emu:tool Read]] [[emu:stamp]]";
        assert_eq!(
            directives(text),
            vec![
                Directive::Text("Hi there".into()),
                Directive::Tool {
                    name: "Bash".into(),
                    input: json!({"command": "ls [[x]]"})
                },
                Directive::Thinking,
                Directive::StreamError {
                    kind: "throttlingException".into(),
                    after: 3
                },
                Directive::Truncate { after: 2 },
                Directive::Corrupt { after: 4 },
                Directive::Silence(50),
                Directive::Drip(5),
                Directive::Long(10),
                Directive::Error("ThrottlingException".into()),
                Directive::Redacted,
                Directive::Tool {
                    name: "Read".into(),
                    input: json!({})
                },
                Directive::Stamp,
            ]
        );
    }

    #[test]
    fn malformed_directives_are_ignored() {
        assert!(
            directives("[[emu:tool Bash {not json}]] [[emu:silence soon]] [[emu:text").is_empty()
        );
    }

    #[test]
    fn scripts_parse_from_their_json_form() {
        let s: Script = serde_json::from_value(json!({
            "content": [{"text": "a"}, {"tool": {"name": "Bash", "input": {"command": "ls"}}},
                        {"thinking": {"text": "hmm"}}, {"redacted": "AAAA"}],
            "stop_reason": "end_turn", "usage": {"inputTokens": 5},
            "error": {"type": "ThrottlingException"}, "stream_error_after": 2, "times": 3
        }))
        .expect("parses");
        assert_eq!(s.content.len(), 4);
        assert_eq!(s.usage.input_tokens, Some(5));
        assert!(serde_json::from_value::<Script>(json!({"contents": []})).is_err());
    }
}
