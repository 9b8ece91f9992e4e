//! Content blocks → Converse content blocks (and `system` text blocks).
//!
//! One function per Anthropic block type. Blocks Bedrock has no equivalent for (server-tool blocks,
//! `container_upload`, unknown types) are dropped by name; inputs that cannot be dropped without
//! changing what the model sees (bad base64, unsupported media types, un-fetched URLs) are 400s
//! naming the field. Blobs stay base64 strings, as on the Converse JSON wire, and are only
//! validated, never decoded and re-encoded (`sources` owns the blob, format and name rules).
//!
//! Pure: no I/O, and nothing here logs.

use serde_json::{json, Map, Value};

use super::cache::{self, Item, Ttl};
use super::sources::{base64_blob, document_format, image_format, source_error, validate_base64};
use super::{object, Ctx};
use crate::anthropic::request::{
    truncate, ContentBlock, DocumentBlock, MessageContent, RedactedThinkingBlock,
    SearchResultBlock, Source, ThinkingBlock, ToolResultBlock, ToolUseBlock,
};
use crate::convert::tools::sanitize_tool_use_id;
use crate::error::ApiError;

/// Claude Code's first system block; it changes with every build and would bust the prompt cache.
const BILLING_PREFIX: &str = "x-anthropic-billing-header:";

pub(super) fn system_items(
    system: Option<&MessageContent>,
    strip_billing_header: bool,
    ctx: &mut Ctx<'_>,
) -> Result<Vec<Item>, ApiError> {
    let mut items = Vec::new();
    match system {
        None => {}
        Some(MessageContent::Text(s)) => items.extend(text(s, ctx).map(Item::new)),
        Some(MessageContent::Blocks(blocks)) => {
            for (i, block) in blocks.iter().enumerate() {
                let ContentBlock::Text(t) = block else {
                    return Err(ApiError::invalid(format!(
                        "system.{i}: only `text` blocks are allowed in `system`, got `{}`",
                        truncate(block.type_name(), 64)
                    )));
                };
                let cache = ctx.cache_marker(t.cache_control.as_ref());
                let converted =
                    if strip_billing_header && t.text.trim_start().starts_with(BILLING_PREFIX) {
                        ctx.drop_note("system.billing_header");
                        None
                    } else {
                        text(&t.text, ctx)
                    };
                cache::push(&mut items, converted, cache);
            }
        }
    }
    Ok(items)
}

/// A message's content as Converse blocks; `path` is `messages.N.content`.
pub(super) fn content_items(
    content: &MessageContent,
    path: &str,
    ctx: &mut Ctx<'_>,
) -> Result<Vec<Item>, ApiError> {
    match content {
        MessageContent::Text(s) => Ok(text(s, ctx).map(Item::new).into_iter().collect()),
        MessageContent::Blocks(blocks) => {
            let mut items = Vec::with_capacity(blocks.len());
            for (i, b) in blocks.iter().enumerate() {
                let cache = ctx.cache_marker(b.cache_control());
                let (converted, nested) = block(b, &format!("{path}.{i}"), ctx)?;
                cache::push(&mut items, converted, cache.max(nested));
            }
            Ok(items)
        }
    }
}

/// One top-level block, plus the strongest cache marker found inside it (a `cachePoint` cannot sit
/// inside a `toolResult`, so nested breakpoints move to after the enclosing block).
fn block(
    b: &ContentBlock,
    path: &str,
    ctx: &mut Ctx<'_>,
) -> Result<(Option<Value>, Option<Ttl>), ApiError> {
    Ok(match b {
        ContentBlock::Text(t) => {
            if t.citations.is_some() {
                ctx.drop_note("text.citations");
            }
            (text(&t.text, ctx), None)
        }
        ContentBlock::Image(img) => (Some(image(&img.source, &format!("{path}.source"))?), None),
        ContentBlock::Document(d) => (Some(document(d, path, ctx)?), None),
        ContentBlock::SearchResult(s) => (Some(search_result(s, ctx)), None),
        ContentBlock::ToolUse(t) => (Some(tool_use(t, path, ctx)?), None),
        ContentBlock::ToolResult(t) => {
            let (result, nested) = tool_result(t, path, ctx)?;
            (Some(result), nested)
        }
        ContentBlock::Thinking(t) => (thinking(t, ctx), None),
        ContentBlock::RedactedThinking(r) => (redacted_thinking(r, path, ctx)?, None),
        ContentBlock::ToolReference(r) => (Some(tool_reference(&r.tool_name, ctx)), None),
        ContentBlock::ServerToolUse(_)
        | ContentBlock::ServerToolResult { .. }
        | ContentBlock::ContainerUpload(_)
        | ContentBlock::MidConversationSystem(_)
        | ContentBlock::Unknown { .. } => {
            ctx.drop_note(format!("block:{}", truncate(b.type_name(), 64)));
            (None, None)
        }
    })
}

/// Bedrock rejects blank text anywhere, so blank blocks are dropped rather than sent.
fn text(s: &str, ctx: &mut Ctx<'_>) -> Option<Value> {
    if s.trim().is_empty() {
        ctx.drop_note("text(blank)");
        None
    } else {
        Some(json!({"text": s}))
    }
}

fn image(source: &Source, path: &str) -> Result<Value, ApiError> {
    let Source::Base64 { media_type, data } = source else {
        return Err(source_error(source, path, "an image"));
    };
    let format = image_format(media_type).ok_or_else(|| {
        ApiError::invalid(format!(
            "{path}.media_type: unsupported image type `{}`; use image/jpeg, image/png, image/gif or image/webp",
            truncate(media_type, 64)
        ))
    })?;
    let bytes = base64_blob(data, &format!("{path}.data"))?;
    Ok(json!({"image": {"format": format, "source": {"bytes": bytes}}}))
}

fn document(d: &DocumentBlock, path: &str, ctx: &mut Ctx<'_>) -> Result<Value, ApiError> {
    let source_path = format!("{path}.source");
    let (format, source) = match &d.source {
        Source::Base64 { media_type, data } => {
            let format = document_format(media_type).ok_or_else(|| {
                ApiError::invalid(format!(
                    "{source_path}.media_type: unsupported document type `{}`",
                    truncate(media_type, 64)
                ))
            })?;
            let bytes = base64_blob(data, &format!("{source_path}.data"))?;
            (Some(format), json!({"bytes": bytes}))
        }
        Source::Text { media_type, data } => {
            let format = media_type
                .as_deref()
                .and_then(document_format)
                .unwrap_or("txt");
            (Some(format), json!({"text": data}))
        }
        Source::Content { content } => (
            None,
            object([("content", Value::Array(document_content(content, ctx)))]),
        ),
        Source::Url { .. } | Source::File { .. } => {
            return Err(source_error(&d.source, &source_path, "a document"))
        }
    };
    let mut doc = Map::new();
    if let Some(format) = format {
        doc.insert("format".into(), json!(format));
    }
    doc.insert("name".into(), json!(ctx.documents.next(d.title.as_deref())));
    doc.insert("source".into(), source);
    if let Some(context) = d.context.as_deref().filter(|c| !c.trim().is_empty()) {
        doc.insert("context".into(), json!(context));
    }
    if let Some(enabled) = d.citations.as_ref().and_then(|c| c.enabled) {
        doc.insert("citations".into(), json!({"enabled": enabled}));
    }
    Ok(object([("document", Value::Object(doc))]))
}

/// A `content` document: Converse takes text blocks only, so images in it are dropped.
fn document_content(content: &MessageContent, ctx: &mut Ctx<'_>) -> Vec<Value> {
    let mut out: Vec<Value> = match content {
        MessageContent::Text(s) => text(s, ctx).into_iter().collect(),
        MessageContent::Blocks(blocks) => blocks
            .iter()
            .filter_map(|b| match b {
                ContentBlock::Text(t) => text(&t.text, ctx),
                other => {
                    ctx.drop_note(format!(
                        "document.content:{}",
                        truncate(other.type_name(), 64)
                    ));
                    None
                }
            })
            .collect(),
    };
    if out.is_empty() {
        out.push(json!({"text": "."}));
    }
    out
}

fn search_result(s: &SearchResultBlock, ctx: &mut Ctx<'_>) -> Value {
    let mut content: Vec<Value> = s
        .content
        .iter()
        .filter_map(|t| text(&t.text, ctx))
        .collect();
    if content.is_empty() {
        content.push(json!({"text": "."}));
    }
    let mut out = Map::new();
    out.insert("source".into(), json!(s.source));
    out.insert("title".into(), json!(s.title));
    out.insert("content".into(), Value::Array(content));
    if let Some(enabled) = s.citations.as_ref().and_then(|c| c.enabled) {
        out.insert("citations".into(), json!({"enabled": enabled}));
    }
    object([("searchResult", Value::Object(out))])
}

/// A call's id names its result, so two calls with one id leave a result that fits both: refused,
/// as Anthropic does.
fn tool_use(t: &ToolUseBlock, path: &str, ctx: &mut Ctx<'_>) -> Result<Value, ApiError> {
    if !ctx.tool_use_ids.insert(t.id.clone()) {
        return Err(ApiError::invalid(format!(
            "{path}.id: tool_use ids must be unique; `{}` is used twice",
            truncate(&t.id, 128)
        )));
    }
    Ok(json!({"toolUse": {
        "toolUseId": sanitize_tool_use_id(&t.id),
        "name": ctx.names.to_bedrock(&t.name),
        "input": t.input,
    }}))
}

fn tool_result(
    t: &ToolResultBlock,
    path: &str,
    ctx: &mut Ctx<'_>,
) -> Result<(Value, Option<Ttl>), ApiError> {
    let mut content = Vec::new();
    let mut nested = None;
    match &t.content {
        None => {}
        Some(MessageContent::Text(s)) => content.extend(text(s, ctx)),
        Some(MessageContent::Blocks(blocks)) => {
            for (i, b) in blocks.iter().enumerate() {
                let p = format!("{path}.content.{i}");
                nested = nested.max(ctx.cache_marker(b.cache_control()));
                let converted = match b {
                    ContentBlock::Text(x) => text(&x.text, ctx),
                    ContentBlock::Image(x) => Some(image(&x.source, &format!("{p}.source"))?),
                    ContentBlock::Document(d) => Some(document(d, &p, ctx)?),
                    ContentBlock::SearchResult(s) => Some(search_result(s, ctx)),
                    ContentBlock::ToolReference(r) => Some(tool_reference(&r.tool_name, ctx)),
                    other => {
                        ctx.drop_note(format!(
                            "tool_result.content:{}",
                            truncate(other.type_name(), 64)
                        ));
                        None
                    }
                };
                content.extend(converted);
            }
        }
    }
    let is_error = t.is_error == Some(true);
    if content.is_empty() {
        // Bedrock refuses an error result without content, and blank text everywhere.
        content.push(json!({"text": if is_error { "error" } else { "(empty)" }}));
    }
    let mut result = Map::new();
    result.insert(
        "toolUseId".into(),
        json!(sanitize_tool_use_id(&t.tool_use_id)),
    );
    result.insert("content".into(), Value::Array(content));
    if ctx.caps.claude {
        result.insert(
            "status".into(),
            json!(if is_error { "error" } else { "success" }),
        );
    } else if is_error {
        // Several non-Anthropic Bedrock models reject `toolResult.status` outright.
        ctx.drop_note("tool_result.is_error");
    }
    Ok((object([("toolResult", Value::Object(result))]), nested))
}

/// Tool search results name tools to load; every tool is already loaded on Bedrock, so the model
/// only needs to know the name.
fn tool_reference(name: &str, ctx: &Ctx<'_>) -> Value {
    json!({"text": format!("Tool `{}` is now available.", ctx.names.to_bedrock(name))})
}

/// Signatures are model-bound and verified upstream, so unsigned blocks are dropped, never given a
/// made-up signature. A signed block with empty text (`display: "omitted"`) is kept with an
/// explicit `"text": ""`: dropping it breaks the next tool-use turn ("Expected thinking … but found
/// tool_use"), and the failure PITFALLS #7 reports ("Either 'text' or 'redactedContent' must be
/// set") comes from clients that omit the empty `text` key, not from sending it empty.
fn thinking(t: &ThinkingBlock, ctx: &mut Ctx<'_>) -> Option<Value> {
    if !ctx.keeps_thinking() {
        ctx.drop_note("block:thinking");
        return None;
    }
    match t.signature.as_deref() {
        Some(signature) if !signature.is_empty() => Some(json!({"reasoningContent": {
            "reasoningText": {"text": t.thinking, "signature": signature}
        }})),
        _ => {
            ctx.drop_note("block:thinking(unsigned)");
            None
        }
    }
}

fn redacted_thinking(
    r: &RedactedThinkingBlock,
    path: &str,
    ctx: &mut Ctx<'_>,
) -> Result<Option<Value>, ApiError> {
    if !ctx.keeps_thinking() {
        ctx.drop_note("block:redacted_thinking");
        return Ok(None);
    }
    // Validated only: the string goes out exactly as it came in.
    validate_base64(&r.data, &format!("{path}.data"))?;
    Ok(Some(
        json!({"reasoningContent": {"redactedContent": r.data}}),
    ))
}

#[cfg(test)]
#[path = "blocks_tests.rs"]
mod tests;
