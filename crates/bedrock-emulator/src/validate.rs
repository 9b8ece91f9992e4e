//! Request validation as strict as Bedrock: the entry point and the conversation rules (roles,
//! alternation, tool-use pairing, the thinking turn). Content blocks are checked in
//! [`super::content`].
//!
//! Checks run in a fixed order and the first failure is answered, with Bedrock's wording where it
//! is known (PROTOCOL §7.6). Three voices are mimicked: Coral shape constraints
//! (`1 validation error detected: …`), Bedrock's own sentences, and Anthropic back-end errors
//! behind `The model returned the following errors: `. Inference parameters and
//! `additionalModelRequestFields` live in [`super::params`].

use super::content;
use super::error::BedrockError;
use super::model_id::Model;
use super::params;
use super::wire::{ContentBlock, ConverseBody};

const START_WITH_USER: &str = "A conversation must start with a user message. Try again with a conversation that starts with a user message.";
const ALTERNATE: &str = "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.";
const TOOL_CONFIG_REQUIRED: &str =
    "The toolConfig field must be defined when using toolUse and toolResult content blocks.";
/// What the checks learnt that the response needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Checked {
    /// `additionalModelRequestFields.thinking` is enabled or adaptive.
    pub(crate) thinking: bool,
    /// Tokens the model accepts (200K, 1M with the `context-1m` beta).
    pub(crate) context_window: u64,
}

/// Runs every check on a Converse, ConverseStream or CountTokens (converse) request.
///
/// # Errors
/// The first rule the request breaks, as Bedrock would answer it.
pub(crate) fn check(
    req: &ConverseBody,
    model: &Model,
    streaming: bool,
) -> Result<Checked, BedrockError> {
    params::check_tools_supported(req, model, streaming)?;
    params::check_shapes(req)?;
    content::check_message_shapes(req)?;
    check_conversation(req, model)?;
    content::check_blocks(req, model)?;
    content::check_cache_points(req, model)?;
    check_tool_pairing(req, model)?;
    let checked = params::check_parameters(req, model)?;
    if checked.thinking {
        check_final_assistant_turn(req)?;
    }
    Ok(checked)
}

fn check_conversation(req: &ConverseBody, model: &Model) -> Result<(), BedrockError> {
    if req.messages.is_empty() {
        return Err(BedrockError::validation(START_WITH_USER));
    }
    let mut previous: Option<&str> = None;
    for (i, message) in req.messages.iter().enumerate() {
        if message.content.is_empty() {
            return Err(BedrockError::validation(format!(
                "The content field in the Message object at messages.{i} is empty. Add a ContentBlock object to the content field and try again."
            )));
        }
        if message.role == "system" {
            if model.capabilities.claude {
                return Err(BedrockError::model(format!(
                    "messages.{i}.role: Input should be 'user' or 'assistant'"
                )));
            }
            continue;
        }
        match previous {
            None if message.role != "user" => {
                return Err(BedrockError::validation(START_WITH_USER))
            }
            Some(p) if p == message.role => return Err(BedrockError::validation(ALTERNATE)),
            _ => previous = Some(&message.role),
        }
    }
    Ok(())
}

fn check_tool_pairing(req: &ConverseBody, model: &Model) -> Result<(), BedrockError> {
    let uses = |i: usize| -> Vec<&str> {
        req.messages.get(i).map_or_else(Vec::new, |m| {
            m.content
                .iter()
                .filter_map(|b| match b {
                    ContentBlock::ToolUse(t) => Some(t.tool_use_id.as_str()),
                    _ => None,
                })
                .collect()
        })
    };
    let results = |i: usize| -> Vec<(usize, &str)> {
        req.messages.get(i).map_or_else(Vec::new, |m| {
            m.content
                .iter()
                .enumerate()
                .filter_map(|(j, b)| match b {
                    ContentBlock::ToolResult(r) => {
                        Some((anthropic_index(&m.content, j), r.tool_use_id.as_str()))
                    }
                    _ => None,
                })
                .collect()
        })
    };
    let has_tool_blocks =
        (0..req.messages.len()).any(|i| !uses(i).is_empty() || !results(i).is_empty());
    if has_tool_blocks && req.tool_config.is_none() {
        return Err(BedrockError::validation(TOOL_CONFIG_REQUIRED));
    }
    if !model.capabilities.claude {
        return Ok(());
    }
    for i in 0..req.messages.len() {
        let previous = if i == 0 { Vec::new() } else { uses(i - 1) };
        if let Some((j, id)) = results(i)
            .into_iter()
            .find(|(_, id)| !previous.contains(id))
        {
            return Err(BedrockError::model(format!(
                "messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
            )));
        }
    }
    for i in 0..req.messages.len() {
        if i + 1 < req.messages.len() {
            let answered: Vec<&str> = results(i + 1).into_iter().map(|(_, id)| id).collect();
            let missing: Vec<&str> = uses(i)
                .into_iter()
                .filter(|id| !answered.contains(id))
                .collect();
            if !missing.is_empty() {
                return Err(BedrockError::model(format!(
                    "messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
                    missing.join(", ")
                )));
            }
        }
    }
    Ok(())
}

/// With thinking on, the last assistant turn that calls tools must open with its reasoning.
fn check_final_assistant_turn(req: &ConverseBody) -> Result<(), BedrockError> {
    let Some((i, message)) = req
        .messages
        .iter()
        .enumerate()
        .rfind(|(_, m)| m.role == "assistant")
    else {
        return Ok(());
    };
    if !message
        .content
        .iter()
        .any(|b| matches!(b, ContentBlock::ToolUse(_)))
    {
        return Ok(());
    }
    let first = message
        .content
        .iter()
        .find(|b| !matches!(b, ContentBlock::CachePoint(_)));
    let found = match first {
        Some(ContentBlock::ReasoningContent(_)) | None => return Ok(()),
        Some(block) => anthropic_type(block),
    };
    Err(BedrockError::model(thinking_first(i, found)))
}

/// The back end's answer when thinking is on and the last tool-calling assistant turn
/// (message `i`) opens with a `found` block instead of its thinking.
pub(crate) fn thinking_first(i: usize, found: &str) -> String {
    format!(
        "messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{found}`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
    )
}

/// Bedrock turns `cachePoint`s into `cache_control`, so Anthropic's indices skip them.
pub(crate) fn anthropic_index(content: &[ContentBlock], j: usize) -> usize {
    content[..j]
        .iter()
        .filter(|b| !matches!(b, ContentBlock::CachePoint(_)))
        .count()
}

fn anthropic_type(block: &ContentBlock) -> &'static str {
    match block {
        ContentBlock::Text(_) | ContentBlock::CitationsContent(_) => "text",
        ContentBlock::Image(_) => "image",
        ContentBlock::Document(_) => "document",
        ContentBlock::ToolUse(_) => "tool_use",
        ContentBlock::ToolResult(_) => "tool_result",
        ContentBlock::ReasoningContent(_) => "thinking",
        ContentBlock::SearchResult(_) => "search_result",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Catalog;
    use crate::{model_id, wire};
    use serde_json::{json, Value};

    fn run(model: &str, body: &Value) -> Result<Checked, BedrockError> {
        let catalog = Catalog::embedded().expect("catalog");
        let model = model_id::for_inference(&catalog, model).expect("model");
        let req: ConverseBody = wire::parse(body).expect("parses");
        check(&req, &model, false)
    }

    const SONNET: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";

    fn message_of(err: Result<Checked, BedrockError>) -> String {
        err.expect_err("must be rejected").message
    }

    #[test]
    fn conversation_rules_use_bedrock_wording() {
        let user = json!({"role":"user","content":[{"text":"hi"}]});
        let assistant = json!({"role":"assistant","content":[{"text":"yo"}]});
        assert!(run(SONNET, &json!({"messages":[user, assistant, user]})).is_ok());
        assert_eq!(
            message_of(run(SONNET, &json!({"messages":[user, user]}))),
            ALTERNATE
        );
        assert_eq!(
            message_of(run(SONNET, &json!({"messages":[assistant]}))),
            START_WITH_USER
        );
        let blank = json!({"messages":[{"role":"user","content":[{"text":"hi"},{"text":"  "}]}]});
        assert!(message_of(run(SONNET, &blank)).contains("messages.0.content.1 is blank"));
    }

    #[test]
    fn tool_results_must_answer_the_previous_turn() {
        let tools = json!({"tools":[{"toolSpec":{"name":"get","inputSchema":{"json":{}}}}]});
        let body = json!({"toolConfig": tools, "messages":[
            {"role":"user","content":[{"text":"go"}]},
            {"role":"assistant","content":[{"toolUse":{"toolUseId":"a1","name":"get","input":{}}}]},
            {"role":"user","content":[{"toolResult":{"toolUseId":"b2","content":[{"text":"x"}]}}]}]});
        assert!(message_of(run(SONNET, &body)).contains("unexpected `tool_use_id`"));
        let mut no_config = body.clone();
        no_config
            .as_object_mut()
            .expect("object")
            .remove("toolConfig");
        assert_eq!(message_of(run(SONNET, &no_config)), TOOL_CONFIG_REQUIRED);
    }
}
