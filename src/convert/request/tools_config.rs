//! `tools` and `tool_choice` → Converse `toolConfig`, and the tool-name map for the request.
//!
//! Only custom tools reach Bedrock: server tools (`web_search_*`, `bash_*`, `mcp_toolset`, …) have
//! no Converse equivalent and are dropped by name, as are Anthropic-only tool fields (`strict`,
//! `defer_loading`, …) that Bedrock rejects as "Extra inputs are not permitted". Converse has no
//! `tool_choice: none`, so `none` is emulated by withholding the tools. Bedrock refuses `toolUse` /
//! `toolResult` history without a `toolConfig`, so when no tools are offered a stub spec is
//! declared for each tool the history mentions.
//!
//! Pure: no I/O, and nothing here logs.

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use super::cache::Item;
use super::{object, Ctx};
use crate::anthropic::request::{
    truncate, ContentBlock, MessageContent, MessagesRequest, Tool, ToolChoiceKind,
};
use crate::convert::tools::ToolNameMap;
use crate::error::ApiError;

const STUB_DESCRIPTION: &str = "(tool no longer offered)";
/// Declared when history holds tool results but names no tool (truncated history).
const STUB_FALLBACK_NAME: &str = "unavailable_tool";

/// The tool section of the request: the tool list (with cache markers) and the `toolChoice`.
pub(super) struct ToolPlan {
    pub(super) items: Vec<Item>,
    pub(super) choice: Option<Value>,
}

/// Validates tools and tool choice, registers every tool name in `ctx.names`, and builds the list.
pub(super) fn plan(req: &MessagesRequest, ctx: &mut Ctx<'_>) -> Result<ToolPlan, ApiError> {
    let custom = custom_tools(req, ctx)?;
    let history = History::of(req);
    if !ctx.caps.tools && (!custom.is_empty() || history.has_tool_blocks) {
        return Err(ApiError::invalid(format!(
            "tools: model `{}` does not support tool use; remove `tools` and tool blocks",
            ctx.model_name
        )));
    }
    let choice_name = req.tool_choice.as_ref().and_then(|c| c.name.as_deref());
    ctx.names = ToolNameMap::new(
        custom
            .iter()
            .map(|(_, name, _)| *name)
            .chain(history.names.iter().copied())
            .chain(choice_name),
    );
    let choice = tool_choice(req, &custom, ctx)?;
    let withhold = matches!(choice, Choice::Withhold);
    if withhold && !custom.is_empty() {
        ctx.drop_note("tools(tool_choice none)");
    }
    let mut items = Vec::new();
    if !withhold {
        for (_, name, tool) in &custom {
            let cache = ctx.cache_marker(tool.cache_control.as_ref());
            items.push(Item {
                block: tool_spec(name, tool, ctx),
                cache,
            });
        }
    }
    if items.is_empty() && history.has_tool_blocks {
        items = stubs(&history.names, &ctx.names);
        return Ok(ToolPlan {
            items,
            choice: None,
        });
    }
    let choice = match choice {
        Choice::Send(value) if !items.is_empty() => Some(value),
        Choice::Send(_) | Choice::Default | Choice::Withhold => None,
    };
    Ok(ToolPlan { items, choice })
}

/// Custom tools with their index and name; server tools and extra fields are noted as dropped.
fn custom_tools<'r>(
    req: &'r MessagesRequest,
    ctx: &mut Ctx<'_>,
) -> Result<Vec<(usize, &'r str, &'r Tool)>, ApiError> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (i, tool) in req.tools.iter().flatten().enumerate() {
        match tool.kind.as_deref() {
            None | Some("custom") => {}
            Some(server) => {
                ctx.drop_note(format!("tool:{}", truncate(server, 64)));
                continue;
            }
        }
        let name = tool
            .name
            .as_deref()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ApiError::invalid(format!("tools.{i}.name: field required")))?;
        match &tool.input_schema {
            Some(Value::Object(_)) => {}
            Some(_) => {
                return Err(ApiError::invalid(format!(
                    "tools.{i}.input_schema: must be a JSON object"
                )))
            }
            None => {
                return Err(ApiError::invalid(format!(
                    "tools.{i}.input_schema: field required"
                )))
            }
        }
        if !seen.insert(name) {
            return Err(ApiError::invalid(format!(
                "tools.{i}.name: tool names must be unique; `{}` appears twice",
                truncate(name, 128)
            )));
        }
        for key in tool.extra.keys() {
            ctx.drop_note(format!("tools.{}", truncate(key, 64)));
        }
        out.push((i, name, tool));
    }
    Ok(out)
}

fn tool_spec(name: &str, tool: &Tool, ctx: &Ctx<'_>) -> Value {
    let mut spec = Map::new();
    spec.insert("name".into(), json!(ctx.names.to_bedrock(name)));
    if let Some(description) = tool.description.as_deref().filter(|d| !d.trim().is_empty()) {
        spec.insert("description".into(), json!(description));
    }
    let schema = tool
        .input_schema
        .clone()
        .unwrap_or_else(|| json!({"type": "object"}));
    spec.insert("inputSchema".into(), object([("json", schema)]));
    object([("toolSpec", Value::Object(spec))])
}

fn stubs(names: &[&str], map: &ToolNameMap) -> Vec<Item> {
    let mut names: Vec<&str> = names.to_vec();
    if names.is_empty() {
        names.push(STUB_FALLBACK_NAME);
    }
    names
        .into_iter()
        .map(|name| {
            Item::new(json!({"toolSpec": {
                "name": map.to_bedrock(name),
                "description": STUB_DESCRIPTION,
                "inputSchema": {"json": {"type": "object"}},
            }}))
        })
        .collect()
}

enum Choice {
    /// No `tool_choice`, or one Converse expresses by default.
    Default,
    Send(Value),
    /// `none`: offer no tools.
    Withhold,
}

fn tool_choice(
    req: &MessagesRequest,
    custom: &[(usize, &str, &Tool)],
    ctx: &mut Ctx<'_>,
) -> Result<Choice, ApiError> {
    let Some(choice) = &req.tool_choice else {
        return Ok(Choice::Default);
    };
    if choice.kind == ToolChoiceKind::None {
        return Ok(Choice::Withhold);
    }
    if req.tools.as_ref().is_none_or(Vec::is_empty) {
        return Err(ApiError::invalid(
            "tool_choice: tool_choice may only be specified while providing tools",
        ));
    }
    if choice.disable_parallel_tool_use == Some(true) {
        ctx.drop_note("tool_choice.disable_parallel_tool_use");
    }
    let forced = |what: &str| {
        ApiError::invalid(format!(
            "tool_choice: `{what}` needs a custom tool; server tools are not available through Bedrock"
        ))
    };
    Ok(match choice.kind {
        ToolChoiceKind::Auto => Choice::Send(json!({"auto": {}})),
        ToolChoiceKind::Any if custom.is_empty() => return Err(forced("any")),
        ToolChoiceKind::Any => Choice::Send(json!({"any": {}})),
        ToolChoiceKind::Tool => {
            let name = choice
                .name
                .as_deref()
                .ok_or_else(|| ApiError::invalid("tool_choice.name: field required"))?;
            if !custom.iter().any(|(_, n, _)| *n == name) {
                return Err(ApiError::invalid(format!(
                    "tool_choice.name: `{}` is not one of the custom tools in `tools`",
                    truncate(name, 128)
                )));
            }
            Choice::Send(json!({"tool": {"name": ctx.names.to_bedrock(name)}}))
        }
        ToolChoiceKind::None => Choice::Withhold,
    })
}

/// Tool blocks already in the conversation.
struct History<'r> {
    has_tool_blocks: bool,
    /// `tool_use` names, each once, in order of appearance.
    names: Vec<&'r str>,
}

impl<'r> History<'r> {
    fn of(req: &'r MessagesRequest) -> Self {
        let mut history = Self {
            has_tool_blocks: false,
            names: Vec::new(),
        };
        let blocks = req.messages.iter().filter_map(|m| match &m.content {
            MessageContent::Blocks(blocks) => Some(blocks),
            MessageContent::Text(_) => None,
        });
        for block in blocks.flatten() {
            match block {
                ContentBlock::ToolUse(t) => {
                    history.has_tool_blocks = true;
                    if !history.names.contains(&t.name.as_str()) {
                        history.names.push(&t.name);
                    }
                }
                ContentBlock::ToolResult(_) => history.has_tool_blocks = true,
                _ => {}
            }
        }
        history
    }
}

#[cfg(test)]
#[path = "tools_config_tests.rs"]
mod tests;
