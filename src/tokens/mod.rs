//! Local input-token estimates for a parsed request.
//!
//! Used where no exact count exists: `count_tokens` for models neither Bedrock CountTokens nor
//! bedrock-mantle counts (or when both calls fail), scaled per tokenizer generation
//! ([`Generation`]), and the `message_start` usage of a stream, which goes out before
//! Bedrock reports usage. Pure and synchronous: no I/O, no logging, nothing read but the request.
//!
//! An estimate is the sum of
//! - text: every text the model reads, priced by [`text_tokens`] (system and message text, tool
//!   names, descriptions and input schemas, `tool_use` names and inputs as compact JSON, tool
//!   results, search results, text documents, the thinking of the last assistant turn);
//! - media: images by their pixel size ([`image_tokens`]), PDFs by page, other documents as one page;
//!   `url` sources, which are not downloaded for an estimate, by fallback constants;
//! - framing: the role and block markup around them, and the tool-use system prompt Anthropic adds
//!   when tools are defined.
//!
//! Base64 payloads are never priced as text. Blocks the converter drops (server tool blocks,
//! unknown types) cost nothing, as they never reach the model. Method, constants and measured
//! error: `docs/token-counting.md`.

mod generation;
mod media;
mod text;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod tests;

use serde_json::{json, Value};

use crate::anthropic::request::{
    ContentBlock, MessageContent, MessagesRequest, Role, Source, TextBlock, Tool, ToolChoiceKind,
};

pub use generation::{Generation, NEW_TOKENIZER_TEXT_FACTOR};
pub use media::image_tokens;
pub use text::text_tokens;

/// Start of the conversation and the assistant prompt at its end.
const REQUEST_FRAMING: u64 = 4;
/// Role markup of one message, and of the system prompt.
const MESSAGE_FRAMING: u64 = 4;
/// Markup around one tool definition.
const TOOL_FRAMING: u64 = 8;
/// Markup of one `tool_use` block.
const TOOL_USE_FRAMING: u64 = 8;
/// Markup of one `tool_result` block.
const TOOL_RESULT_FRAMING: u64 = 6;
/// Markup of one image or document block.
const MEDIA_FRAMING: u64 = 4;
/// Anthropic's documented tool-use system prompt for Claude 4 models: added once when tools are
/// defined, 346 tokens with `tool_choice` `auto` or `none`, 313 with `any` or `tool`.
const TOOL_PROMPT_AUTO: u64 = 346;
const TOOL_PROMPT_FORCED: u64 = 313;
/// Stands in for a `url` source's block while Bedrock counts the rest of the request.
pub const URL_STAND_IN: &str = "(attachment)";

/// An estimate, by what it was made from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Estimate {
    pub text: u64,
    pub media: u64,
    pub framing: u64,
}

impl Estimate {
    /// The whole estimate; never 0, because clients read 0 as "unknown".
    pub fn total(&self) -> u64 {
        self.text
            .saturating_add(self.media)
            .saturating_add(self.framing)
            .max(1)
    }
}

/// Estimates the input tokens of `req` as the model would read it.
pub fn estimate(req: &MessagesRequest) -> Estimate {
    let mut e = Estimate {
        framing: REQUEST_FRAMING,
        ..Estimate::default()
    };
    if let Some(system) = &req.system {
        e.framing += MESSAGE_FRAMING;
        e.content(system, false);
    }
    let tools = req.tools.as_deref().unwrap_or_default();
    if !tools.is_empty() {
        let forced = req
            .tool_choice
            .as_ref()
            .is_some_and(|c| matches!(c.kind, ToolChoiceKind::Any | ToolChoiceKind::Tool));
        e.framing += if forced {
            TOOL_PROMPT_FORCED
        } else {
            TOOL_PROMPT_AUTO
        };
        tools.iter().for_each(|t| e.tool(t));
    }
    // Thinking from earlier turns is stripped before the model reads the prompt.
    let last_assistant = req.messages.iter().rposition(|m| m.role == Role::Assistant);
    for (i, message) in req.messages.iter().enumerate() {
        e.framing += MESSAGE_FRAMING;
        e.content(&message.content, Some(i) == last_assistant);
    }
    e
}

impl Estimate {
    fn text(&mut self, s: &str) {
        self.text += text_tokens(s);
    }

    fn json(&mut self, value: &Value) {
        self.text(&value.to_string());
    }

    fn tool(&mut self, tool: &Tool) {
        self.framing += TOOL_FRAMING;
        self.text(tool.name.as_deref().unwrap_or_default());
        self.text(tool.description.as_deref().unwrap_or_default());
        if let Some(schema) = &tool.input_schema {
            self.json(schema);
        }
    }

    fn content(&mut self, content: &MessageContent, keeps_thinking: bool) {
        match content {
            MessageContent::Text(s) => self.text(s),
            MessageContent::Blocks(blocks) => {
                for block in blocks {
                    self.block(block, keeps_thinking);
                }
            }
        }
    }

    fn block(&mut self, block: &ContentBlock, keeps_thinking: bool) {
        match block {
            ContentBlock::Text(t) => self.text(&t.text),
            ContentBlock::Image(img) => {
                self.framing += MEDIA_FRAMING;
                self.media += match &img.source {
                    Source::Base64 { data, .. } => media::base64_image_tokens(data),
                    _ => media::IMAGE_FALLBACK,
                };
            }
            ContentBlock::Document(d) => {
                self.framing += MEDIA_FRAMING;
                self.text(d.title.as_deref().unwrap_or_default());
                self.text(d.context.as_deref().unwrap_or_default());
                self.document(&d.source);
            }
            ContentBlock::SearchResult(s) => {
                self.framing += MEDIA_FRAMING;
                self.text(&s.source);
                self.text(&s.title);
                s.content.iter().for_each(|t| self.text(&t.text));
            }
            ContentBlock::ToolUse(t) => {
                self.framing += TOOL_USE_FRAMING;
                self.text(&t.name);
                self.json(&t.input);
            }
            ContentBlock::ToolResult(r) => {
                self.framing += TOOL_RESULT_FRAMING;
                if let Some(content) = &r.content {
                    self.content(content, false);
                }
            }
            ContentBlock::Thinking(t) if keeps_thinking => self.text(&t.thinking),
            ContentBlock::ToolReference(r) => self.text(&r.tool_name),
            ContentBlock::Thinking(_)
            | ContentBlock::RedactedThinking(_)
            | ContentBlock::ServerToolUse(_)
            | ContentBlock::ServerToolResult { .. }
            | ContentBlock::ContainerUpload(_)
            | ContentBlock::MidConversationSystem(_)
            | ContentBlock::Unknown { .. } => {}
        }
    }

    fn document(&mut self, source: &Source) {
        match source {
            Source::Base64 { media_type, data } => {
                self.media += media::base64_document_tokens(media_type, data);
            }
            Source::Text { data, .. } => self.text(data),
            Source::Content { content } => self.content(content, false),
            Source::Url { .. } | Source::File { .. } => self.media += media::BINARY_DOCUMENT,
        }
    }
}

/// Replaces every `url` image or document block (also inside tool results and content documents)
/// with a short text stand-in, so the rest of the request can be counted exactly without
/// downloading anything. Returns the estimate for the replaced blocks.
pub fn stand_in_url_sources(req: &mut MessagesRequest) -> u64 {
    req.messages
        .iter_mut()
        .map(|m| match &mut m.content {
            MessageContent::Blocks(blocks) => stand_in(blocks),
            MessageContent::Text(_) => 0,
        })
        .sum()
}

fn stand_in(blocks: &mut [ContentBlock]) -> u64 {
    let mut replaced = 0;
    for block in blocks {
        let tokens = match block {
            ContentBlock::Image(img) if matches!(img.source, Source::Url { .. }) => {
                MEDIA_FRAMING + media::IMAGE_FALLBACK
            }
            ContentBlock::Document(d) if matches!(d.source, Source::Url { .. }) => {
                MEDIA_FRAMING + media::BINARY_DOCUMENT
            }
            ContentBlock::ToolResult(r) => {
                if let Some(MessageContent::Blocks(inner)) = &mut r.content {
                    replaced += stand_in(inner);
                }
                continue;
            }
            ContentBlock::Document(d) => {
                if let Source::Content {
                    content: MessageContent::Blocks(inner),
                } = &mut d.source
                {
                    replaced += stand_in(inner);
                }
                continue;
            }
            _ => continue,
        };
        replaced += tokens;
        *block = ContentBlock::Text(TextBlock {
            text: URL_STAND_IN.to_owned(),
            cache_control: block.cache_control().cloned(),
            citations: None,
        });
    }
    replaced
}

/// [`stand_in_url_sources`] for a body kept as JSON (the bodies the exact counters are sent): the
/// same blocks in `messages` get the same stand-in, so every counter counts the same text.
pub fn stand_in_url_values(messages: &mut Value) {
    if let Value::Array(messages) = messages {
        for message in messages {
            if let Some(Value::Array(blocks)) = message.get_mut("content") {
                stand_in_values(blocks);
            }
        }
    }
}

/// Replaces `url` images and documents, also inside tool results and content documents.
fn stand_in_values(blocks: &mut [Value]) {
    for block in blocks {
        let kind = block
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let url_source = block.pointer("/source/type").and_then(Value::as_str) == Some("url");
        match kind {
            "image" | "document" if url_source => {
                let mut text = json!({"type": "text", "text": URL_STAND_IN});
                if let Some(cache_control) = block.get("cache_control") {
                    text["cache_control"] = cache_control.clone();
                }
                *block = text;
            }
            "tool_result" => {
                if let Some(Value::Array(inner)) = block.get_mut("content") {
                    stand_in_values(inner);
                }
            }
            "document" => {
                if let Some(Value::Array(inner)) = block.pointer_mut("/source/content") {
                    stand_in_values(inner);
                }
            }
            _ => {}
        }
    }
}
