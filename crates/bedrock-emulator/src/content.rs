//! Request validation of content blocks: modeled shapes (formats, ids, names), blank text,
//! base64 blobs, document names, reasoning blocks and cache points.

use std::collections::HashSet;

use base64::Engine;

use super::error::BedrockError;
use super::model_id::Model;
use super::params;
use super::validate::anthropic_index;
use super::wire::{
    CachePointBlock, ContentBlock, ConverseBody, DocumentBlock, DocumentSource, ImageBlock,
    ImageSource, ReasoningContent, SystemBlock, Tool, ToolResultContent,
};

const DOCUMENT_NAME: &str = "The document file name can only contain alphanumeric characters, whitespace characters, hyphens, parentheses, and square brackets. The name can't contain more than one consecutive whitespace character. Check that the file name conforms to these restrictions and retry your request.";
const REASONING_FORMAT: &str =
    "reasoning content format incorrect. Either 'text' or 'redactedContent' must be set";
const CACHE_AFTER_REASONING: &str = "Cache point cannot be inserted after reasoning block. Please remove the invalid cache point and try again.";
const NO_CACHING: &str = "You invoked an unsupported model or your request did not allow prompt caching. See the documentation for more information.";
const MAX_CACHE_POINTS: usize = 4;

/// Coral-style checks of the modeled members inside `messages`.
pub(crate) fn check_message_shapes(req: &ConverseBody) -> Result<(), BedrockError> {
    for (i, message) in req.messages.iter().enumerate() {
        let at = format!("messages.{}.member", i + 1);
        params::one_of(
            &message.role,
            &format!("{at}.role"),
            &["user", "assistant", "system"],
        )?;
        for (j, block) in message.content.iter().enumerate() {
            let at = format!("{at}.content.{}.member", j + 1);
            match block {
                ContentBlock::ToolUse(t) => {
                    params::tool_use_id(&t.tool_use_id, &format!("{at}.toolUse.toolUseId"))?;
                    params::tool_name(&t.name, &format!("{at}.toolUse.name"))?;
                }
                ContentBlock::ToolResult(r) => {
                    params::tool_use_id(&r.tool_use_id, &format!("{at}.toolResult.toolUseId"))?;
                    if let Some(status) = &r.status {
                        params::one_of(
                            status,
                            &format!("{at}.toolResult.status"),
                            &["success", "error"],
                        )?;
                    }
                }
                ContentBlock::Image(image) => image_shape(image, &format!("{at}.image"))?,
                ContentBlock::Document(doc) => document_shape(doc, &format!("{at}.document"))?,
                ContentBlock::CachePoint(c) => {
                    params::cache_point_shape(c, &format!("{at}.cachePoint"))?
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn image_shape(image: &ImageBlock, at: &str) -> Result<(), BedrockError> {
    params::one_of(
        &image.format,
        &format!("{at}.format"),
        &["png", "jpeg", "gif", "webp"],
    )
}

fn document_shape(doc: &DocumentBlock, at: &str) -> Result<(), BedrockError> {
    if let Some(format) = &doc.format {
        let formats = [
            "pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md",
        ];
        params::one_of(format, &format!("{at}.format"), &formats)?;
    }
    params::length(&doc.name, &format!("{at}.name"), 1, 200)
}

pub(crate) fn check_blocks(req: &ConverseBody, model: &Model) -> Result<(), BedrockError> {
    for (i, block) in req.system.iter().enumerate() {
        if matches!(block, SystemBlock::Text(t) if t.trim().is_empty()) {
            return Err(BedrockError::validation(format!(
                "The text field in the SystemContentBlock object at system.{i} is blank. Add text to the text field, and try again."
            )));
        }
    }
    let mut document_names = HashSet::new();
    for (i, message) in req.messages.iter().enumerate() {
        for (j, block) in message.content.iter().enumerate() {
            let at = format!("messages.{i}.content.{j}");
            match block {
                ContentBlock::Text(t) if t.trim().is_empty() => {
                    return Err(BedrockError::validation(format!(
                        "The text field in the ContentBlock object at {at} is blank. Add text to the text field, and try again."
                    )));
                }
                ContentBlock::Image(image) => image_bytes(image, &format!("{at}.image"))?,
                ContentBlock::Document(doc) => {
                    document(doc, &format!("{at}.document"), &mut document_names)?
                }
                ContentBlock::ToolResult(result) => {
                    if result.status.as_deref() == Some("error") && result.content.is_empty() {
                        return Err(BedrockError::validation(format!(
                            "The content field at {at}.toolResult cannot be empty when status value is error."
                        )));
                    }
                    for (k, item) in result.content.iter().enumerate() {
                        let at = format!("{at}.toolResult.content.{k}");
                        match item {
                            ToolResultContent::Image(image) => {
                                image_bytes(image, &format!("{at}.image"))?
                            }
                            ToolResultContent::Document(doc) => {
                                document_shape(doc, &format!("{at}.document"))?;
                                document(doc, &format!("{at}.document"), &mut document_names)?;
                            }
                            _ => {}
                        }
                    }
                }
                ContentBlock::ReasoningContent(reasoning) => {
                    let index = anthropic_index(&message.content, j);
                    check_reasoning(reasoning, model, &format!("messages.{i}.content.{index}"))?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn check_reasoning(
    reasoning: &ReasoningContent,
    model: &Model,
    at: &str,
) -> Result<(), BedrockError> {
    match reasoning {
        ReasoningContent::ReasoningText(r) => {
            // Adaptive thinking with `display: omitted` yields signed blocks with empty text, and
            // Bedrock takes them back (rig#1674); only a missing text is refused.
            let signed = r.signature.as_deref().is_some_and(|s| !s.is_empty());
            match r.text.as_deref() {
                None => return Err(BedrockError::validation(REASONING_FORMAT)),
                Some("") if !signed => return Err(BedrockError::validation(REASONING_FORMAT)),
                Some(_) => {}
            }
            if model.capabilities.claude && r.signature.is_none() {
                return Err(BedrockError::model(format!(
                    "{at}.thinking.signature: Field required"
                )));
            }
            Ok(())
        }
        ReasoningContent::RedactedContent(data) => {
            base64_blob(data, &format!("{at}.reasoningContent.redactedContent"))
        }
    }
}

fn image_bytes(image: &ImageBlock, at: &str) -> Result<(), BedrockError> {
    match &image.source {
        ImageSource::Bytes(data) => base64_blob(data, &format!("{at}.source.bytes")),
        ImageSource::S3Location(_) => Ok(()),
    }
}

fn base64_blob(data: &str, at: &str) -> Result<(), BedrockError> {
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .map(drop)
        .map_err(|e| {
            BedrockError::validation(format!(
                "Malformed input request: {at}: invalid base64 ({e}), please reformat your input and try again."
            ))
        })
}

fn document(doc: &DocumentBlock, at: &str, seen: &mut HashSet<String>) -> Result<(), BedrockError> {
    if let DocumentSource::Bytes(data) = &doc.source {
        base64_blob(data, &format!("{at}.source.bytes"))?;
    }
    // Underscores are outside the documented set but Bedrock accepts them (checked live by peers).
    let allowed = |c: char| c.is_ascii_alphanumeric() || " -()[]_".contains(c);
    if !doc.name.chars().all(allowed) || doc.name.contains("  ") {
        return Err(BedrockError::validation(DOCUMENT_NAME));
    }
    if !seen.insert(doc.name.clone()) {
        return Err(BedrockError::validation(format!(
            "The document name \"{}\" is used by more than one document. Each document in a request must have a unique name.",
            doc.name
        )));
    }
    Ok(())
}

pub(crate) fn check_cache_points(req: &ConverseBody, model: &Model) -> Result<(), BedrockError> {
    let mut points: Vec<&CachePointBlock> = Vec::new();
    for block in &req.system {
        if let SystemBlock::CachePoint(c) = block {
            points.push(c);
        }
    }
    for message in &req.messages {
        let mut after_reasoning = false;
        for block in &message.content {
            if let ContentBlock::CachePoint(c) = block {
                if after_reasoning {
                    return Err(BedrockError::validation(CACHE_AFTER_REASONING));
                }
                points.push(c);
            }
            after_reasoning = matches!(block, ContentBlock::ReasoningContent(_));
        }
    }
    for tool in req.tool_config.iter().flat_map(|t| &t.tools) {
        if let Tool::CachePoint(c) = tool {
            points.push(c);
        }
    }
    if points.is_empty() {
        return Ok(());
    }
    if !model.capabilities.caching {
        return Err(BedrockError::named(
            "AccessDeniedException",
            Some(NO_CACHING.into()),
            None,
        ));
    }
    if points.len() > MAX_CACHE_POINTS {
        return Err(BedrockError::model(format!(
            "A maximum of {MAX_CACHE_POINTS} blocks with cache_control may be provided. Found {}.",
            points.len()
        )));
    }
    if !model.capabilities.cache_ttl_1h && points.iter().any(|c| c.ttl.as_deref() == Some("1h")) {
        return Err(BedrockError::validation(format!(
            "The model {} doesn't support a cache TTL of 1h. Remove the ttl field or set it to 5m, and try again.",
            model.base_id
        )));
    }
    Ok(())
}
