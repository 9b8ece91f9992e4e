//! The emulator's own knowledge of each Claude generation: which `thinking` types, sampling
//! parameters, forced `tool_choice` and assistant prefill it accepts, its output cap, whether
//! runtime CountTokens serves it, and how its back end words errors.
//!
//! This table is deliberately independent of the gateway's catalog and rule code, so the emulator
//! catches the gateway's mistakes instead of mirroring them. Sources: shared/NATIVE.md §1.5, §5.2,
//! §6 and §7.3 (Anthropic's per-model pages and AWS's parameter guide, cited there); rows marked
//! `[I]` in docs/emulator.md are inferences. A model the table does not know gets the rules of the
//! newest known model of its family at or below its version (a launch-day `claude-opus-6` behaves
//! like Opus 5.5); ids that name no known family (application inference profiles) get permissive
//! rules.

/// A Claude model family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Opus,
    Sonnet,
    Haiku,
    Fable,
}

/// Which `thinking.type`s the model takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Thinking {
    /// No extended thinking (`thinking: Extra inputs are not permitted`).
    None,
    /// `enabled` (with `budget_tokens`) and `disabled`.
    Budget,
    /// `enabled`, `adaptive` and `disabled` (4.6).
    BudgetOrAdaptive,
    /// `adaptive` and `disabled`; `enabled` is refused.
    Adaptive,
    /// Always on: only `adaptive`.
    AlwaysOn,
    /// `adaptive` or `between_tools`; `enabled` and `disabled` are refused (Sonnet 5.5).
    BetweenTools,
}

/// Which sampling parameters the model takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sampling {
    Free,
    /// `temperature` or `top_p`, not both.
    TemperatureXorTopP,
    /// `temperature` only at its default 1; `top_p` and `top_k` not at all.
    Deprecated,
}

/// What one generation accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rules {
    pub(crate) thinking: Thinking,
    pub(crate) sampling: Sampling,
    /// `tool_choice` `any` / `tool` accepted.
    pub(crate) forced_tool_choice: bool,
    /// A conversation may end with an assistant turn.
    pub(crate) prefill: bool,
    /// `role: "system"` messages inside `messages` (mid-conversation system messages) are
    /// accepted on InvokeModel: Opus 4.8, Fable 5 and the 5.5 models; not Sonnet 5 or older models
    /// (NATIVE.md §7.3, from Anthropic's Bedrock legacy page and the 5.5 "what's new" pages).
    pub(crate) system_messages: bool,
    /// Runtime CountTokens serves it.
    pub(crate) count_tokens: bool,
    pub(crate) max_output: u64,
    /// `cache_control.ttl` accepted (4.5 and later; NATIVE.md §1.5).
    pub(crate) cache_ttl: bool,
    /// Back-end errors are a whole Anthropic envelope after Bedrock's prefix (4.7 and later).
    pub(crate) envelope: bool,
}

const fn rules(thinking: Thinking, sampling: Sampling, max_output: u64) -> Rules {
    let old = matches!(
        thinking,
        Thinking::None | Thinking::Budget | Thinking::BudgetOrAdaptive
    );
    Rules {
        thinking,
        sampling,
        forced_tool_choice: true,
        prefill: true,
        system_messages: false,
        count_tokens: old,
        max_output,
        cache_ttl: true,
        envelope: !old,
    }
}

const fn no_cache_ttl(r: Rules) -> Rules {
    Rules {
        cache_ttl: false,
        ..r
    }
}

const fn no_prefill(r: Rules) -> Rules {
    Rules {
        prefill: false,
        ..r
    }
}

const fn system_messages(r: Rules) -> Rules {
    Rules {
        system_messages: true,
        ..r
    }
}

const fn no_forced_tools(r: Rules) -> Rules {
    Rules {
        forced_tool_choice: false,
        ..r
    }
}

use Family::{Fable, Haiku, Opus, Sonnet};
use Sampling::{Deprecated, Free, TemperatureXorTopP};
use Thinking::{Adaptive, AlwaysOn, BetweenTools, Budget, BudgetOrAdaptive};

/// (family, major, minor, rules), oldest first within a family.
const TABLE: &[(Family, u32, u32, Rules)] = &[
    (
        Haiku,
        3,
        0,
        no_cache_ttl(rules(Thinking::None, Free, 4_096)),
    ),
    (
        Haiku,
        3,
        5,
        no_cache_ttl(rules(Thinking::None, Free, 8_192)),
    ),
    (Haiku, 4, 5, rules(Budget, TemperatureXorTopP, 64_000)),
    // Anthropic's Haiku 5.5 migration guide: no budget thinking, no sampling, no prefill.
    (
        Haiku,
        5,
        5,
        system_messages(no_prefill(rules(Adaptive, Deprecated, 128_000))),
    ),
    (
        Sonnet,
        3,
        5,
        no_cache_ttl(rules(Thinking::None, Free, 8_192)),
    ),
    (Sonnet, 3, 7, no_cache_ttl(rules(Budget, Free, 64_000))),
    (Sonnet, 4, 0, no_cache_ttl(rules(Budget, Free, 64_000))),
    (Sonnet, 4, 5, rules(Budget, TemperatureXorTopP, 64_000)),
    (
        Sonnet,
        4,
        6,
        no_prefill(rules(BudgetOrAdaptive, TemperatureXorTopP, 64_000)),
    ),
    (
        Sonnet,
        5,
        0,
        no_prefill(rules(Adaptive, Deprecated, 128_000)),
    ),
    (
        Sonnet,
        5,
        5,
        system_messages(no_forced_tools(rules(BetweenTools, Deprecated, 128_000))),
    ),
    (Opus, 4, 0, no_cache_ttl(rules(Budget, Free, 32_000))),
    (Opus, 4, 1, no_cache_ttl(rules(Budget, Free, 32_000))),
    (Opus, 4, 5, rules(Budget, TemperatureXorTopP, 64_000)),
    (
        Opus,
        4,
        6,
        rules(BudgetOrAdaptive, TemperatureXorTopP, 128_000),
    ),
    (Opus, 4, 7, rules(Adaptive, Deprecated, 128_000)),
    (
        Opus,
        4,
        8,
        system_messages(rules(Adaptive, Deprecated, 128_000)),
    ),
    (Opus, 5, 0, rules(Adaptive, Deprecated, 128_000)),
    (
        Opus,
        5,
        5,
        system_messages(no_forced_tools(rules(AlwaysOn, Deprecated, 128_000))),
    ),
    (
        Fable,
        5,
        0,
        system_messages(rules(AlwaysOn, Deprecated, 128_000)),
    ),
    (
        Fable,
        5,
        1,
        no_forced_tools(rules(AlwaysOn, Deprecated, 128_000)),
    ),
    (
        Fable,
        5,
        2,
        no_forced_tools(rules(AlwaysOn, Deprecated, 128_000)),
    ),
];

/// Permissive rules for a Claude model whose generation the id does not reveal.
const UNKNOWN: Rules = Rules {
    thinking: BudgetOrAdaptive,
    sampling: Free,
    forced_tool_choice: true,
    prefill: true,
    system_messages: false,
    count_tokens: false,
    max_output: 128_000,
    cache_ttl: true,
    envelope: false,
};

/// Family and version of a Bedrock Claude id: `anthropic.claude-opus-4-1-20250805-v1:0`,
/// `anthropic.claude-3-5-haiku-…`, `anthropic.claude-sonnet-5-5`.
pub(crate) fn generation(base_id: &str) -> Option<(Family, u32, u32)> {
    let rest = base_id.strip_prefix("anthropic.claude-")?;
    let mut family = None;
    let mut version = Vec::new();
    for part in rest.split('-') {
        match part {
            "opus" => family = Some(Opus),
            "sonnet" => family = Some(Sonnet),
            "haiku" => family = Some(Haiku),
            "fable" => family = Some(Fable),
            // Version parts are short numbers; a date (8 digits) or `v1:0` ends the version.
            p if p.len() <= 2 && p.chars().all(|c| c.is_ascii_digit()) && version.len() < 2 => {
                version.push(p.parse().ok()?);
            }
            _ if family.is_some() && !version.is_empty() => break,
            _ => {}
        }
    }
    let major = *version.first()?;
    Some((family?, major, version.get(1).copied().unwrap_or(0)))
}

/// The rules for a bare Bedrock id (or an application-profile ARN).
pub(crate) fn for_model(base_id: &str) -> Rules {
    let Some((family, major, minor)) = generation(base_id) else {
        return UNKNOWN;
    };
    let same_family = || TABLE.iter().filter(|(f, ..)| *f == family);
    same_family()
        .rfind(|(_, ma, mi, _)| (*ma, *mi) <= (major, minor))
        .or_else(|| same_family().next())
        .map_or(UNKNOWN, |(.., r)| *r)
}

/// Ids that carry an ARN version suffix (`-v1:0`, `-v1`): the generations up to 4.6, whose
/// requests Bedrock still checks against its own JSON schema before the model sees them.
pub(crate) fn schema_checked(base_id: &str) -> bool {
    let last = base_id.rsplit('-').next().unwrap_or_default();
    let version = last.split(':').next().unwrap_or_default();
    version
        .strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// The Anthropic-style name a response's `model` carries: `claude-opus-5-5`,
/// `claude-sonnet-4-5-20250929` (no `anthropic.` prefix, no ARN version).
pub(crate) fn anthropic_name(base_id: &str) -> String {
    let Some(name) = base_id.strip_prefix("anthropic.") else {
        return "claude".to_owned();
    };
    if schema_checked(name) {
        if let Some((head, _)) = name.rsplit_once('-') {
            return head.to_owned();
        }
    }
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_reveal_family_and_version() {
        assert_eq!(
            generation("anthropic.claude-3-5-haiku-20241022-v1:0"),
            Some((Haiku, 3, 5))
        );
        assert_eq!(
            generation("anthropic.claude-sonnet-4-20250514-v1:0"),
            Some((Sonnet, 4, 0))
        );
        assert_eq!(
            generation("anthropic.claude-opus-4-6-v1"),
            Some((Opus, 4, 6))
        );
        assert_eq!(
            generation("anthropic.claude-fable-5-2"),
            Some((Fable, 5, 2))
        );
        assert_eq!(generation("anthropic.claude-opus-6"), Some((Opus, 6, 0)));
        assert_eq!(generation("qwen.qwen3-32b-v1:0"), None);
    }

    #[test]
    fn unknown_versions_take_the_newest_known_rules_of_their_family() {
        assert_eq!(
            for_model("anthropic.claude-opus-6"),
            for_model("anthropic.claude-opus-5-5")
        );
        assert_eq!(
            for_model("anthropic.claude-sonnet-5-1"),
            for_model("anthropic.claude-sonnet-5")
        );
        assert!(!for_model("anthropic.claude-fable-5-9").forced_tool_choice);
    }

    #[test]
    fn count_tokens_serves_claude_up_to_4_6_only() {
        for id in [
            "anthropic.claude-3-5-haiku-20241022-v1:0",
            "anthropic.claude-opus-4-1-20250805-v1:0",
            "anthropic.claude-sonnet-4-6",
            "anthropic.claude-opus-4-6-v1",
        ] {
            assert!(for_model(id).count_tokens, "{id}");
        }
        for id in [
            "anthropic.claude-opus-4-7",
            "anthropic.claude-sonnet-5",
            "anthropic.claude-fable-5",
            "anthropic.claude-haiku-5-5",
        ] {
            assert!(!for_model(id).count_tokens, "{id}");
        }
    }

    #[test]
    fn arn_versioned_ids_and_anthropic_names() {
        assert!(schema_checked("anthropic.claude-opus-4-6-v1"));
        assert!(schema_checked("anthropic.claude-sonnet-4-5-20250929-v1:0"));
        assert!(!schema_checked("anthropic.claude-sonnet-4-6"));
        assert!(!schema_checked("anthropic.claude-opus-5-5"));
        assert_eq!(
            anthropic_name("anthropic.claude-sonnet-4-5-20250929-v1:0"),
            "claude-sonnet-4-5-20250929"
        );
        assert_eq!(
            anthropic_name("anthropic.claude-opus-4-6-v1"),
            "claude-opus-4-6"
        );
        assert_eq!(
            anthropic_name("anthropic.claude-opus-5-5"),
            "claude-opus-5-5"
        );
    }
}
