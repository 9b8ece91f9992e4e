//! Decides the reply to one call: a queued script, else the directives in the last user
//! message, else the default answer; then applies thinking, stop sequences and `maxTokens`.

use std::time::Duration;

use super::error::BedrockError;
use super::model_id::Model;
use super::output::Block;
use super::output::{apply_limits, long_text, reasoning, redacted_data, tool_use_id};
use super::script::{directives, Directive, Script, ScriptBlock, UsageOverride};
use super::wire::{ContentBlock, ConverseBody, Tool, ToolResultContent};

const DEFAULT_TEXT: &str = "Hello from the Bedrock emulator.";
const THINKING_TEXT: &str = "Let me think about how to answer this request step by step.";
/// Everything the response writers need.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) blocks: Vec<Block>,
    pub(crate) stop_reason: String,
    pub(crate) stop_sequence: Option<String>,
    pub(crate) usage: UsageOverride,
    pub(crate) error: Option<BedrockError>,
    /// `Some(n)`: in a stream, `error` arrives as an exception frame after `n` deltas.
    pub(crate) stream_error_after: Option<usize>,
    pub(crate) truncate_after: Option<usize>,
    pub(crate) corrupt_after: Option<usize>,
    pub(crate) silence: Duration,
    pub(crate) drip: Duration,
    /// Streamed text deltas carry the time they were sent instead of their words (benchmarks).
    pub(crate) stamp: bool,
}

impl Reply {
    pub(crate) fn output_tokens(&self) -> u64 {
        self.usage
            .output_tokens
            .unwrap_or_else(|| self.blocks.iter().map(Block::tokens).sum::<u64>().max(1))
    }
}

/// The request facts the reply depends on, whatever the wire shape (Converse or native).
pub(crate) struct Call<'a> {
    pub(crate) model: &'a Model,
    pub(crate) thinking: bool,
    /// The text of the last user message, tool results included (where directives live).
    pub(crate) last_user_text: String,
    /// The text of each tool result in the last user message (the default answer echoes them).
    pub(crate) tool_results: Vec<String>,
    /// Names of the tools the request defines.
    pub(crate) tool_names: Vec<String>,
    pub(crate) stop_sequences: Vec<String>,
    pub(crate) max_tokens: Option<i64>,
}

impl<'a> Call<'a> {
    /// The facts of a Converse-shaped request.
    pub(crate) fn converse(req: &ConverseBody, model: &'a Model, thinking: bool) -> Self {
        let config = req.inference_config.as_ref();
        Self {
            model,
            thinking,
            last_user_text: last_user_text(req),
            tool_results: tool_results(req),
            tool_names: tool_names(req),
            stop_sequences: config
                .and_then(|c| c.stop_sequences.clone())
                .unwrap_or_default(),
            max_tokens: config.and_then(|c| c.max_tokens),
        }
    }
}

pub(crate) fn plan(script: Option<Script>, call: &Call<'_>) -> Reply {
    let mut reply = match script {
        Some(script) => from_script(script, call),
        None => from_directives(call),
    };
    if reply.error.is_some() {
        return reply;
    }
    let has_reasoning = reply
        .blocks
        .iter()
        .any(|b| matches!(b, Block::Reasoning { .. } | Block::Redacted(_)));
    if call.thinking && !has_reasoning {
        reply
            .blocks
            .insert(0, reasoning(THINKING_TEXT.to_owned(), call.model));
    }
    let limited = apply_limits(&mut reply.blocks, &call.stop_sequences, call.max_tokens);
    if reply.stop_reason.is_empty() {
        reply.stop_reason = match &limited {
            Some((reason, _)) => (*reason).to_owned(),
            None if reply
                .blocks
                .iter()
                .any(|b| matches!(b, Block::ToolUse { .. })) =>
            {
                "tool_use".into()
            }
            None => "end_turn".into(),
        };
    }
    if let Some((_, Some(sequence))) = limited {
        reply.stop_sequence.get_or_insert(sequence);
    }
    reply
}

fn from_script(script: Script, call: &Call<'_>) -> Reply {
    let blocks = if script.content.is_empty() {
        default_blocks(&call.tool_results)
    } else {
        script
            .content
            .into_iter()
            .map(|b| match b {
                ScriptBlock::Text(t) => Block::Text(t),
                ScriptBlock::Tool(t) => Block::ToolUse {
                    id: t.id.unwrap_or_else(tool_use_id),
                    name: t.name,
                    input: t.input,
                },
                ScriptBlock::Thinking(t) => match t.signature {
                    Some(sig) => Block::Reasoning {
                        text: t.text,
                        signature: Some(sig),
                    },
                    None => reasoning(t.text, call.model),
                },
                ScriptBlock::Redacted(data) => Block::Redacted(data),
            })
            .collect()
    };
    Reply {
        blocks,
        stop_reason: script.stop_reason.unwrap_or_default(),
        stop_sequence: script.stop_sequence,
        usage: script.usage,
        error: script.error.map(|e| {
            BedrockError::named(&e.kind, e.message, e.status).with_retry_after(e.retry_after)
        }),
        stream_error_after: script.stream_error_after,
        truncate_after: script.truncate_after,
        corrupt_after: script.corrupt_after,
        silence: Duration::from_millis(script.silence_ms.unwrap_or(0)),
        drip: Duration::from_millis(script.drip_ms.unwrap_or(0)),
        stamp: false,
    }
}

fn from_directives(call: &Call<'_>) -> Reply {
    let mut reply = Reply {
        blocks: Vec::new(),
        stop_reason: String::new(),
        stop_sequence: None,
        usage: UsageOverride::default(),
        error: None,
        stream_error_after: None,
        truncate_after: None,
        corrupt_after: None,
        silence: Duration::ZERO,
        drip: Duration::ZERO,
        stamp: false,
    };
    let (mut reasoning_blocks, mut texts, mut tools) = (Vec::new(), Vec::new(), Vec::new());
    for directive in directives(&call.last_user_text) {
        match directive {
            Directive::Text(t) => texts.push(t),
            Directive::Long(n) => texts.push(long_text(n)),
            Directive::Tool { name, input } if call.tool_names.contains(&name) => {
                tools.push(Block::ToolUse {
                    id: tool_use_id(),
                    name,
                    input,
                });
            }
            Directive::Tool { name, .. } => {
                texts.push(format!("The tool {name} is not available."))
            }
            Directive::Thinking => {
                reasoning_blocks.push(reasoning(THINKING_TEXT.to_owned(), call.model))
            }
            Directive::Redacted => reasoning_blocks.push(Block::Redacted(redacted_data())),
            Directive::Error(kind) => reply.error = Some(BedrockError::named(&kind, None, None)),
            Directive::StreamError { kind, after } => {
                reply.error = Some(BedrockError::named(&kind, None, None));
                reply.stream_error_after = Some(after);
            }
            Directive::Truncate { after } => reply.truncate_after = Some(after),
            Directive::Corrupt { after } => reply.corrupt_after = Some(after),
            Directive::Silence(ms) => reply.silence = Duration::from_millis(ms),
            Directive::Drip(ms) => reply.drip = Duration::from_millis(ms),
            Directive::Stamp => reply.stamp = true,
        }
    }
    let content_given = !(reasoning_blocks.is_empty() && texts.is_empty() && tools.is_empty());
    reply.blocks = reasoning_blocks;
    if !texts.is_empty() {
        reply.blocks.push(Block::Text(texts.join(" ")));
    }
    reply.blocks.extend(tools);
    if !content_given {
        reply.blocks = default_blocks(&call.tool_results);
    }
    reply
}

/// What the directives of the last user message ask of a CountTokens call: only `error` and
/// `silence` apply (scripts are never used: they belong to the model calls a client makes next).
pub(crate) fn count_tokens_directives(last_user_text: &str) -> (Option<BedrockError>, Duration) {
    let mut outcome = (None, Duration::ZERO);
    for directive in directives(last_user_text) {
        match directive {
            Directive::Error(kind) => outcome.0 = Some(BedrockError::named(&kind, None, None)),
            Directive::Silence(ms) => outcome.1 = Duration::from_millis(ms),
            _ => {}
        }
    }
    outcome
}

pub(crate) fn last_user_text(req: &ConverseBody) -> String {
    let Some(message) = req.messages.iter().rfind(|m| m.role == "user") else {
        return String::new();
    };
    let mut text = String::new();
    for block in &message.content {
        match block {
            ContentBlock::Text(t) => text.push_str(t),
            ContentBlock::ToolResult(r) => text.push_str(&tool_result_text(&r.content)),
            _ => {}
        }
        text.push('\n');
    }
    text
}

fn tool_result_text(content: &[ToolResultContent]) -> String {
    content
        .iter()
        .filter_map(|c| match c {
            ToolResultContent::Text(t) => Some(t.clone()),
            ToolResultContent::Json(v) => Some(v.to_string()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// No directives: echo tool results, or greet.
fn default_blocks(tool_results: &[String]) -> Vec<Block> {
    if tool_results.is_empty() {
        return vec![Block::Text(DEFAULT_TEXT.to_owned())];
    }
    let joined = tool_results.join("\n");
    let shown = if joined.trim().is_empty() {
        "(empty)"
    } else {
        joined.trim()
    };
    vec![Block::Text(format!("Tool result: {shown}"))]
}

fn tool_results(req: &ConverseBody) -> Vec<String> {
    req.messages
        .iter()
        .rfind(|m| m.role == "user")
        .map(|m| {
            m.content
                .iter()
                .filter_map(|b| match b {
                    ContentBlock::ToolResult(r) => Some(tool_result_text(&r.content)),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn tool_names(req: &ConverseBody) -> Vec<String> {
    req.tool_config
        .iter()
        .flat_map(|c| &c.tools)
        .filter_map(|t| match t {
            Tool::ToolSpec(s) => Some(s.name.clone()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Catalog;
    use crate::{model_id, wire};
    use serde_json::{json, Value};

    fn reply_to(body: &Value, thinking: bool) -> Reply {
        let catalog = Catalog::embedded().expect("catalog");
        let model =
            model_id::for_inference(&catalog, "us.anthropic.claude-sonnet-4-5-20250929-v1:0")
                .expect("model");
        let req: ConverseBody = wire::parse(body).expect("parses");
        plan(None, &Call::converse(&req, &model, thinking))
    }

    fn user(text: &str) -> Value {
        json!({"messages":[{"role":"user","content":[{"text": text}]}]})
    }

    #[test]
    fn the_default_answer_greets_or_echoes_tool_results() {
        assert_eq!(
            reply_to(&user("hi"), false).blocks,
            vec![Block::Text(DEFAULT_TEXT.into())]
        );
        let body = json!({"toolConfig":{"tools":[{"toolSpec":{"name":"t","inputSchema":{"json":{}}}}]},"messages":[
            {"role":"user","content":[{"text":"go"}]},
            {"role":"assistant","content":[{"toolUse":{"toolUseId":"a","name":"t","input":{}}}]},
            {"role":"user","content":[{"toolResult":{"toolUseId":"a","content":[{"text":" 42 "}]}}]}]});
        assert_eq!(
            reply_to(&body, false).blocks,
            vec![Block::Text("Tool result: 42".into())]
        );
    }

    #[test]
    fn stop_sequences_and_max_tokens_cut_the_text() {
        let mut body = user("[[emu:text one two END three]]");
        body["inferenceConfig"] = json!({"stopSequences": ["END"], "maxTokens": 100});
        let reply = reply_to(&body, false);
        assert_eq!(reply.blocks, vec![Block::Text("one two ".into())]);
        assert_eq!(
            (reply.stop_reason.as_str(), reply.stop_sequence.as_deref()),
            ("stop_sequence", Some("END"))
        );
        let mut body = user("[[emu:long 100]]");
        body["inferenceConfig"] = json!({"maxTokens": 10});
        let reply = reply_to(&body, false);
        assert_eq!(reply.stop_reason, "max_tokens");
        assert!(reply.output_tokens() <= 10);
    }

    #[test]
    fn count_tokens_takes_only_the_error_and_silence_directives() {
        let req: ConverseBody = wire::parse(&user(
            "[[emu:text hi]] [[emu:error ThrottlingException]] [[emu:silence 40]]",
        ))
        .expect("parses");
        let (error, silence) = count_tokens_directives(&last_user_text(&req));
        assert_eq!(error.map(|e| e.status.as_u16()), Some(429));
        assert_eq!(silence, Duration::from_millis(40));
        let plain: ConverseBody = wire::parse(&user("[[emu:text hi]]")).expect("parses");
        assert!(count_tokens_directives(&last_user_text(&plain)).0.is_none());
    }

    #[test]
    fn thinking_requests_get_a_signed_reasoning_block_first() {
        let reply = reply_to(&user("hi"), true);
        assert!(
            matches!(&reply.blocks[0], Block::Reasoning { signature: Some(s), .. } if s.starts_with("emu-sig-"))
        );
        let reply = reply_to(&user("[[emu:tool Missing {}]]"), false);
        assert_eq!(
            reply.blocks,
            vec![Block::Text("The tool Missing is not available.".into())]
        );
    }
}
