//! Converse output → Anthropic `Message`, and the pieces the stream fold shares with it
//! (stop reasons, usage, citations, `Document` → JSON).
//!
//! Pure functions over the SDK's output types: no I/O, no logging of content.

use aws_sdk_bedrockruntime::operation::converse::ConverseOutput;
use aws_sdk_bedrockruntime::types::{
    CacheTtl, Citation, CitationLocation, CitationSourceContent, CitationsContentBlock,
    ContentBlock, ConverseOutput as Output, ReasoningContentBlock, StopReason, TokenUsage,
};
use aws_smithy_types::{Document, Number};
use base64::Engine;
use serde_json::{json, Map, Value};

use crate::anthropic::response::{
    new_message_id, CacheCreation, MessagesResponse, ResponseBlock, Usage,
};
use crate::convert::tools::ToolNameMap;

/// What the response converter needs to know about the request.
#[derive(Debug, Clone, Copy)]
pub struct ResponseContext<'a> {
    /// The model string the client sent; echoed back.
    pub client_model: &'a str,
    pub tool_names: &'a ToolNameMap,
    /// Stop sequences the client configured.
    pub stop_sequences: &'a [String],
}

/// Converts a Converse response. Cost is added by the caller, which knows the price.
pub fn from_converse(out: &ConverseOutput, ctx: &ResponseContext<'_>) -> MessagesResponse {
    let blocks = match &out.output {
        Some(Output::Message(m)) => m.content.as_slice(),
        _ => &[],
    };
    let content = blocks
        .iter()
        .filter_map(|b| convert_block(b, ctx.tool_names))
        .collect();
    let stop_reason = convert_stop_reason(&out.stop_reason);
    let stop_sequence = (stop_reason == "stop_sequence")
        .then(|| {
            stop_sequence(
                out.additional_model_response_fields.as_ref(),
                ctx.stop_sequences,
            )
        })
        .flatten();
    MessagesResponse {
        id: new_message_id(),
        kind: "message",
        role: "assistant",
        model: ctx.client_model.to_owned(),
        content,
        stop_reason: Some(stop_reason),
        stop_sequence,
        usage: out
            .usage
            .as_ref()
            .map(convert_usage)
            .unwrap_or_else(empty_usage),
    }
}

fn convert_block(block: &ContentBlock, names: &ToolNameMap) -> Option<ResponseBlock> {
    Some(match block {
        ContentBlock::Text(text) => ResponseBlock::Text {
            text: text.clone(),
            citations: None,
        },
        ContentBlock::ToolUse(t) => ResponseBlock::ToolUse {
            id: t.tool_use_id.clone(),
            name: names.to_client(&t.name).into_owned(),
            input: document_to_json(&t.input),
        },
        ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(r)) => {
            ResponseBlock::Thinking {
                thinking: r.text.clone(),
                signature: r.signature.clone().unwrap_or_default(),
            }
        }
        ContentBlock::ReasoningContent(ReasoningContentBlock::RedactedContent(blob)) => {
            ResponseBlock::RedactedThinking {
                data: base64::engine::general_purpose::STANDARD.encode(blob.as_ref()),
            }
        }
        ContentBlock::CitationsContent(c) => convert_citations_block(c),
        _ => return None,
    })
}

fn convert_citations_block(block: &CitationsContentBlock) -> ResponseBlock {
    let text = block
        .content
        .iter()
        .flatten()
        .filter_map(|c| c.as_text().ok().map(String::as_str))
        .collect::<String>();
    let citations = block
        .citations
        .iter()
        .flatten()
        .map(convert_citation)
        .collect();
    ResponseBlock::Text {
        text,
        citations: Some(citations),
    }
}

/// One Bedrock citation → one Anthropic citation object (by meaning; see PROTOCOL §8.5).
pub fn convert_citation(c: &Citation) -> Value {
    let cited_text: String = c
        .source_content
        .iter()
        .flatten()
        .map(|s| match s {
            CitationSourceContent::Text(t) => t.as_str(),
            _ => "",
        })
        .collect();
    let title = c.title.clone();
    let n = |v: Option<i32>| v.unwrap_or(0);
    match &c.location {
        Some(CitationLocation::DocumentPage(p)) => json!({
            "type": "page_location", "cited_text": cited_text, "document_index": n(p.document_index),
            "document_title": title, "start_page_number": n(p.start), "end_page_number": n(p.end)}),
        Some(CitationLocation::DocumentChunk(p)) => json!({
            "type": "content_block_location", "cited_text": cited_text, "document_index": n(p.document_index),
            "document_title": title, "start_block_index": n(p.start), "end_block_index": n(p.end)}),
        Some(CitationLocation::SearchResultLocation(p)) => json!({
            "type": "search_result_location", "cited_text": cited_text,
            "search_result_index": n(p.search_result_index), "source": c.source.clone().unwrap_or_default(),
            "title": title, "start_block_index": n(p.start), "end_block_index": n(p.end)}),
        Some(CitationLocation::Web(w)) => json!({
            "type": "web_search_result_location", "cited_text": cited_text,
            "url": w.url.clone().unwrap_or_default(), "title": title, "encrypted_index": ""}),
        Some(CitationLocation::DocumentChar(p)) => json!({
            "type": "char_location", "cited_text": cited_text, "document_index": n(p.document_index),
            "document_title": title, "start_char_index": n(p.start), "end_char_index": n(p.end)}),
        _ => json!({"type": "char_location", "cited_text": cited_text, "document_index": 0,
            "document_title": title, "start_char_index": 0, "end_char_index": 0}),
    }
}

/// Bedrock stop reason → Anthropic `stop_reason` (PROTOCOL §8.2).
pub fn convert_stop_reason(reason: &StopReason) -> &'static str {
    match reason {
        StopReason::EndTurn => "end_turn",
        StopReason::ToolUse => "tool_use",
        StopReason::MaxTokens => "max_tokens",
        StopReason::StopSequence => "stop_sequence",
        StopReason::ModelContextWindowExceeded => "model_context_window_exceeded",
        StopReason::GuardrailIntervened | StopReason::ContentFiltered => "refusal",
        // No Anthropic equivalent; the turn did end.
        StopReason::MalformedModelOutput | StopReason::MalformedToolUse => "end_turn",
        _ => "end_turn",
    }
}

/// The matched stop sequence: Bedrock's `/stop_sequence` (Converse) or `/delta/stop_sequence`
/// (streams) field, or else the only one configured.
pub fn stop_sequence(fields: Option<&Document>, configured: &[String]) -> Option<String> {
    let field = |doc: Option<&Document>| match doc {
        Some(Document::Object(map)) => match map.get("stop_sequence") {
            Some(Document::String(s)) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    };
    let delta = match fields {
        Some(Document::Object(map)) => map.get("delta"),
        _ => None,
    };
    let reported = field(fields).or_else(|| field(delta));
    reported.or_else(|| match configured {
        [only] => Some(only.clone()),
        _ => None,
    })
}

fn to_u64(v: i32) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Bedrock usage → Anthropic usage (Bedrock's `inputTokens` already excludes cached tokens).
pub fn convert_usage(u: &TokenUsage) -> Usage {
    let write = to_u64(u.cache_write_input_tokens.unwrap_or(0));
    let one_hour: u64 = u
        .cache_details
        .iter()
        .flatten()
        .filter(|d| d.ttl == CacheTtl::OneHour)
        .map(|d| to_u64(d.input_tokens))
        .sum();
    let one_hour = one_hour.min(write);
    Usage {
        input_tokens: to_u64(u.input_tokens),
        output_tokens: to_u64(u.output_tokens),
        cache_creation_input_tokens: write,
        cache_read_input_tokens: to_u64(u.cache_read_input_tokens.unwrap_or(0)),
        cache_creation: CacheCreation {
            ephemeral_5m_input_tokens: write - one_hour,
            ephemeral_1h_input_tokens: one_hour,
        },
        service_tier: "standard",
        ..Usage::default()
    }
}

pub fn empty_usage() -> Usage {
    Usage {
        service_tier: "standard",
        ..Usage::default()
    }
}

/// `Document` → JSON. Object key order is whatever the SDK's map yields; numbers keep their kind.
pub fn document_to_json(doc: &Document) -> Value {
    match doc {
        Document::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k.clone(), document_to_json(v));
            }
            Value::Object(out)
        }
        Document::Array(items) => Value::Array(items.iter().map(document_to_json).collect()),
        Document::Number(Number::PosInt(n)) => json!(n),
        Document::Number(Number::NegInt(n)) => json!(n),
        Document::Number(Number::Float(f)) => json!(f),
        Document::String(s) => Value::String(s.clone()),
        Document::Bool(b) => Value::Bool(*b),
        Document::Null => Value::Null,
    }
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
