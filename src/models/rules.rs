//! Per-model request rules: what a model refuses that older models accept, and what Chatrix sends
//! instead. The rules are catalog data (`rules` in `src/models.json`); this module turns them into
//! a list of named [`Change`]s for one request, and applies those changes to the typed request.
//! Each upstream path applies the same plan (Converse here; the native path to its own body).
//!
//! Sources for every rule are in `docs/models.md` (NATIVE.md §7.3). Pure: no I/O, no logging; the
//! caller logs the change names (never content).

use serde::Deserialize;

use crate::anthropic::request::{MessagesRequest, OutputConfig, ThinkingKind, ToolChoiceKind};
use crate::error::ApiError;

/// The beta that `thinking.display: "updates"` needs.
pub const DISPLAY_UPDATES_BETA: &str = "thinking-display-updates-2026-08-18";

/// What a model accepts. Every field defaults to "accepts", so older catalog entries need none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    pub thinking_enabled: EnabledThinking,
    pub thinking_disabled: DisabledThinking,
    pub sampling: Sampling,
    pub forced_tool_choice: ForcedToolChoice,
    pub prefill: Prefill,
    pub system_messages: SystemMessages,
}

/// `role: "system"` messages inside `messages` (Claude Code's mid-conversation system messages),
/// on the native path; Converse has no such role, so there they are always folded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemMessages {
    /// Bedrock refuses the role (Sonnet 5 and older models): each becomes user text in place,
    /// merged with its neighbouring user turn, the same way on every turn.
    #[default]
    Fold,
    /// Accepted as sent (Opus 4.8, Fable 5, the 5.5 models).
    Accept,
}

/// `thinking: {"type": "enabled", "budget_tokens": N}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnabledThinking {
    #[default]
    Accept,
    /// Refused (Opus 4.7+, Sonnet 5+, Opus 5+, Fable): adaptive, the budget as an effort hint.
    ToAdaptive,
}

/// `thinking: {"type": "disabled"}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisabledThinking {
    #[default]
    Accept,
    /// Thinking is always on (Opus 5.5, Fable): adaptive at `low` effort, the least it can do.
    ToAdaptiveLow,
    /// Sonnet 5.5: `{"type": "between_tools"}` is its lowest setting.
    ToBetweenTools,
}

/// `temperature`, `top_p`, `top_k`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    #[default]
    Accept,
    /// Non-default values are refused (Opus 4.7+, the 5.x models): all three are dropped.
    DefaultOnly,
}

/// `tool_choice: {"type": "any" | "tool"}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForcedToolChoice {
    #[default]
    Accept,
    /// Refused (Opus/Sonnet 5.5, Fable 5.1/5.2): sent as `auto`, named in `x-chatrix-changes`.
    ToAuto,
}

/// A conversation that ends with an assistant turn (prefill).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prefill {
    #[default]
    Accept,
    /// Refused (Sonnet 4.6, Sonnet 5): a 400 before Bedrock is called, as the model would answer.
    Reject,
}

/// One change a rule makes to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `enabled` → `adaptive`; `effort` goes to `output_config.effort` unless the client set one.
    ThinkingToAdaptive { effort: &'static str },
    /// `disabled` on an always-on model → `adaptive` at `low` effort (unless the client set one).
    DisabledToAdaptive,
    /// `disabled` → `between_tools`.
    ThinkingToBetweenTools,
    /// `temperature`, `top_p` or `top_k` removed.
    DropSampling(&'static str),
    /// `any` / `tool` → `auto` (`disable_parallel_tool_use` kept).
    ToolChoiceToAuto,
    /// `thinking.display: "updates"` without its beta (or on a model that does not allow it).
    DropDisplayUpdates,
    /// `max_tokens` lowered to the operator's cap (`CHATRIX_MAX_OUTPUT_TOKENS`), and a thinking
    /// budget that no longer fits below it lowered to one less.
    CapMaxTokens(u32),
}

impl Change {
    /// The change's name, for the `x-chatrix-changes` header and debug logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ThinkingToAdaptive { .. } => "thinking.enabled->adaptive",
            Self::DisabledToAdaptive => "thinking.disabled->adaptive",
            Self::ThinkingToBetweenTools => "thinking.disabled->between_tools",
            Self::DropSampling("temperature") => "temperature-dropped",
            Self::DropSampling("top_p") => "top_p-dropped",
            Self::DropSampling(_) => "top_k-dropped",
            Self::ToolChoiceToAuto => "tool_choice->auto",
            Self::DropDisplayUpdates => "thinking.display-dropped",
            Self::CapMaxTokens(_) => "max_tokens-capped",
        }
    }

    /// Whether the client should be told (the answer may differ from what it asked for);
    /// dropped sampling parameters and the display mode change nothing a client relies on.
    pub fn is_visible(&self) -> bool {
        matches!(
            self,
            Self::ThinkingToAdaptive { .. }
                | Self::DisabledToAdaptive
                | Self::ThinkingToBetweenTools
                | Self::ToolChoiceToAuto
                | Self::CapMaxTokens(_)
        )
    }
}

/// The fields the rules read, whichever shape the request is held in.
#[derive(Debug, Clone, Copy, Default)]
pub struct View<'a> {
    pub thinking: Option<ThinkingKind>,
    pub budget_tokens: Option<u32>,
    pub display: Option<&'a str>,
    pub temperature: bool,
    pub top_p: bool,
    pub top_k: bool,
    pub tool_choice: Option<ToolChoiceKind>,
    pub ends_with_assistant: bool,
}

impl<'a> View<'a> {
    pub fn of(req: &'a MessagesRequest) -> Self {
        Self {
            thinking: req.thinking.as_ref().map(|t| t.kind),
            budget_tokens: req.thinking.as_ref().and_then(|t| t.budget_tokens),
            display: req.thinking.as_ref().and_then(|t| t.display.as_deref()),
            temperature: req.temperature.is_some(),
            top_p: req.top_p.is_some(),
            top_k: req.top_k.is_some(),
            tool_choice: req.tool_choice.as_ref().map(|c| c.kind),
            ends_with_assistant: req.ends_with_prefill(),
        }
    }
}

/// The changes `rules` make to a request; `betas` are the ones that reach Bedrock (the client's,
/// filtered through the model's allow-list).
///
/// # Errors
/// [`ApiError::InvalidRequest`] for a prefill the model refuses.
pub fn plan(rules: &Rules, view: &View<'_>, betas: &[String]) -> Result<Vec<Change>, ApiError> {
    if rules.prefill == Prefill::Reject && view.ends_with_assistant {
        return Err(ApiError::invalid(
            "This model does not support assistant message prefill. The conversation must end with a user message.",
        ));
    }
    let mut changes = Vec::new();
    match (
        view.thinking,
        rules.thinking_enabled,
        rules.thinking_disabled,
    ) {
        (Some(ThinkingKind::Enabled), EnabledThinking::ToAdaptive, _) => {
            changes.push(Change::ThinkingToAdaptive {
                effort: effort_for_budget(view.budget_tokens),
            });
        }
        (Some(ThinkingKind::Disabled), _, DisabledThinking::ToAdaptiveLow) => {
            changes.push(Change::DisabledToAdaptive);
        }
        (Some(ThinkingKind::Disabled), _, DisabledThinking::ToBetweenTools) => {
            changes.push(Change::ThinkingToBetweenTools);
        }
        _ => {}
    }
    if rules.sampling == Sampling::DefaultOnly {
        for (present, name) in [
            (view.temperature, "temperature"),
            (view.top_p, "top_p"),
            (view.top_k, "top_k"),
        ] {
            if present {
                changes.push(Change::DropSampling(name));
            }
        }
    }
    if rules.forced_tool_choice == ForcedToolChoice::ToAuto
        && matches!(
            view.tool_choice,
            Some(ToolChoiceKind::Any | ToolChoiceKind::Tool)
        )
    {
        changes.push(Change::ToolChoiceToAuto);
    }
    let keeps_thinking = !changes.contains(&Change::ThinkingToBetweenTools);
    if keeps_thinking
        && view.display == Some("updates")
        && !betas.iter().any(|b| b == DISPLAY_UPDATES_BETA)
    {
        changes.push(Change::DropDisplayUpdates);
    }
    Ok(changes)
}

/// The operator's output cap, when the request asks for more.
pub fn cap_output(max_tokens: Option<u32>, cap: Option<u32>) -> Option<Change> {
    match (max_tokens, cap) {
        (Some(asked), Some(cap)) if asked > cap => Some(Change::CapMaxTokens(cap)),
        _ => None,
    }
}

/// A thinking budget under a capped `max_tokens`: Anthropic requires it to stay below.
pub fn capped_budget(budget: u32, cap: u32) -> u32 {
    budget.min(cap.saturating_sub(1))
}

/// The effort hint for a thinking budget, on models that take effort instead of budgets:
/// under 4,096 tokens `low`, under 16,384 `medium`, otherwise `high` (Claude Code's usual 31,999
/// is `high`, the 5.x default). `xhigh` and `max` are never chosen for a client that did not ask.
pub fn effort_for_budget(budget: Option<u32>) -> &'static str {
    match budget {
        Some(b) if b < 4_096 => "low",
        Some(b) if b < 16_384 => "medium",
        _ => "high",
    }
}

/// Applies `changes` to the typed request (the Converse path and count-tokens).
pub fn apply(req: &mut MessagesRequest, changes: &[Change]) {
    for change in changes {
        match change {
            Change::ThinkingToAdaptive { effort } => to_adaptive(req, effort),
            Change::DisabledToAdaptive => to_adaptive(req, "low"),
            Change::ThinkingToBetweenTools => {
                if let Some(t) = &mut req.thinking {
                    t.kind = ThinkingKind::BetweenTools;
                    t.budget_tokens = None;
                    t.display = None;
                }
            }
            Change::DropSampling("temperature") => req.temperature = None,
            Change::DropSampling("top_p") => req.top_p = None,
            Change::DropSampling(_) => req.top_k = None,
            Change::ToolChoiceToAuto => {
                if let Some(c) = &mut req.tool_choice {
                    c.kind = ToolChoiceKind::Auto;
                    c.name = None;
                }
            }
            Change::DropDisplayUpdates => {
                if let Some(t) = &mut req.thinking {
                    t.display = None;
                }
            }
            Change::CapMaxTokens(cap) => {
                req.max_tokens = Some(*cap);
                if let Some(budget) = req.thinking.as_mut().and_then(|t| t.budget_tokens.as_mut()) {
                    *budget = capped_budget(*budget, *cap);
                }
            }
        }
    }
}

fn to_adaptive(req: &mut MessagesRequest, effort: &str) {
    if let Some(t) = &mut req.thinking {
        t.kind = ThinkingKind::Adaptive;
        t.budget_tokens = None;
    }
    let config = req.output_config.get_or_insert_with(OutputConfig::default);
    if config.effort.is_none() {
        config.effort = Some(effort.to_owned());
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
