//! The InvokeModel body for a Claude model: the client's JSON with a few named changes, everything
//! else byte for byte.
//!
//! The top level is split into raw values (the client's JSON text, never re-serialized); only the
//! fields a rule changes are rebuilt. Message content is never parsed here, so a
//! multi-megabyte Claude Code request costs one scan, and tool schemas and history keep the exact
//! bytes (and key order) that prompt-cache prefixes and thinking-block binding depend on.
//!
//! Rules, each a small function below and a row in `docs/api.md`:
//! - `model` and `stream` removed (the URL and the operation say them; Bedrock refuses both);
//! - `anthropic_version: "bedrock-2023-05-31"` first (the only value Bedrock accepts);
//! - `anthropic_beta` from the `anthropic-beta` header, split, trimmed, de-duplicated and filtered
//!   through the model's Bedrock allow-list (catalog data);
//! - the catalog's per-model rules ([`crate::models::rules`]) on `thinking`, sampling and
//!   `tool_choice`;
//! - top-level fields Bedrock has no place for ([`DROPPED_FIELDS`]) removed, and `output_config`
//!   for models older than 4.6;
//! - `cache_control` markers without `scope`, and without `ttl` before 4.5
//!   ([`super::cache_control`]);
//! - Claude Code's `x-anthropic-billing-header:` block removed from `system` when configured;
//! - `role: "system"` turns folded into user turns for models that refuse them
//!   ([`super::system_turns`]);
//! - for a CountTokens body only, a `max_tokens` ([`super::count`]).
//!
//! Pure: no I/O, no logging. `url` sources are inlined by the caller before this runs.

use std::borrow::Cow;

use indexmap::IndexMap;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use super::cache_control::Strip;
pub use super::sources::url_sources_mut;
pub use super::splice::{NativeParts, Payload};
use crate::anthropic::request::{beta_values, truncate, Kind, RawFields, RequestBody};
use crate::error::ApiError;
use crate::models::rules::{self, Change, SystemMessages};
use crate::models::ResolvedModel;

/// The `anthropic_version` Bedrock's Claude models accept.
pub const BEDROCK_VERSION: &str = "bedrock-2023-05-31";

/// Top-level fields of the Anthropic API with no equivalent on Bedrock's Claude path: Bedrock
/// answers `extraneous key [...] is not permitted` (older models) or `Extra inputs are not
/// permitted` (4.7+) to each (NATIVE.md §1.3–§1.4). `model` and `stream` are removed by their own
/// rule.
pub const DROPPED_FIELDS: [&str; 8] = [
    "service_tier",
    "container",
    "inference_geo",
    "mcp_servers",
    "speed",
    "output_format",
    "fallbacks",
    "diagnostics",
];

/// Betas Bedrock knows by another name (NATIVE.md §2.4–§2.5: LiteLLM's Bedrock Invoke map and
/// xiehust/anthropic_api_converter agree): renamed before the allow-list is applied.
pub const BETA_RENAMES: [(&str, &str); 1] = [(
    "advanced-tool-use-2025-11-20",
    "tool-search-tool-2025-10-19",
)];

/// Body fields that only work with one of these betas (Claude Code's gateway guidance: a beta and
/// its field travel together). When none of them survives the model's allow-list the field is
/// dropped too, rather than sent to a model that answers `Extra inputs are not permitted`.
pub const BETA_FIELDS: [(&str, &[&str]); 1] = [(
    "context_management",
    &["context-management-2025-06-27", "compact-2026-01-12"],
)];

/// Claude Code's per-build attribution block (`system[0]`).
const BILLING_PREFIX: &str = "x-anthropic-billing-header:";

/// The top level: each value's JSON text, the client's borrowed and the rebuilt ones owned (written
/// by serde_json, or joined from the client's raw values).
pub(super) type Fields<'a> = IndexMap<Cow<'a, str>, Cow<'a, str>>;

/// Settings for one body.
#[derive(Debug, Clone, Copy)]
pub struct NativeOptions<'a> {
    pub model: &'a ResolvedModel<'a>,
    /// Raw `anthropic-beta` header values (each may be a comma list).
    pub betas: &'a [String],
    pub changes: &'a [Change],
    pub strip_billing_header: bool,
    /// Whether any message has `role: "system"`, as the caller's parse of the body found: when
    /// none has, `messages` (the bulk of a large body) is not scanned again to look.
    pub system_turns: bool,
    pub purpose: Purpose,
}

/// What a body is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// InvokeModel or its streaming twin: the client's `max_tokens` goes as sent.
    Invoke,
    /// The `invokeModel` input of CountTokens: Bedrock requires a `max_tokens` that count
    /// requests do not carry, so the count's own is set ([`super::count::max_tokens`]).
    CountTokens,
}

/// The body bytes and the names of what was dropped (for debug logs; never content).
#[derive(Debug)]
pub struct NativeBody {
    pub bytes: Vec<u8>,
    pub dropped: Vec<String>,
    /// The `anthropic_beta` list written into the body.
    pub betas: Vec<String>,
}

/// Builds the InvokeModel body from the client's body bytes ([`invoke_body`] after the split).
///
/// # Errors
/// [`ApiError::InvalidRequest`] when the body is not a JSON object with distinct keys (worded as
/// the typed parse words it), or as [`invoke_body`].
pub fn to_invoke(body: &[u8], opts: &NativeOptions<'_>) -> Result<NativeBody, ApiError> {
    invoke_body(RequestBody::split(body, Kind::CountTokens)?.fields(), opts)
}

/// Builds the InvokeModel body from a body's top-level fields (split once by the route, see
/// [`RequestBody`]); only the fields a rule changes are written anew.
///
/// # Errors
/// [`ApiError::InvalidRequest`] when a field a rule reads does not have its type.
pub fn invoke_body(
    client: &RawFields<'_>,
    opts: &NativeOptions<'_>,
) -> Result<NativeBody, ApiError> {
    let (fields, dropped, betas) = build(client, opts)?;
    Ok(NativeBody {
        bytes: super::splice::whole(&fields)?,
        dropped,
        betas,
    })
}

/// [`invoke_body`] in parts around its largest field kept as the client sent it, for the route
/// to write into the client's own buffer ([`Payload::assemble`]). `client` is the body the fields
/// were split from.
///
/// # Errors
/// As [`invoke_body`].
pub fn invoke_parts(
    fields: &RawFields<'_>,
    client: &[u8],
    opts: &NativeOptions<'_>,
) -> Result<NativeParts, ApiError> {
    let (out, dropped, betas) = build(fields, opts)?;
    let body = match super::splice::around_largest(&out, client)? {
        Some(spliced) => Payload::Spliced(spliced),
        None => Payload::Whole(super::splice::whole(&out)?),
    };
    Ok(NativeParts {
        body,
        dropped,
        betas,
    })
}

/// The rules applied to the fields: the top level to write, in order, what was dropped, and the
/// betas sent.
fn build<'a>(
    client: &RawFields<'a>,
    opts: &NativeOptions<'_>,
) -> Result<(Fields<'a>, Vec<String>, Vec<String>), ApiError> {
    let mut fields: Fields<'a> = client
        .iter()
        .map(|(k, v)| (k.clone(), Cow::Borrowed(v.get())))
        .collect();
    let mut dropped = Vec::new();
    for key in ["model", "stream"] {
        fields.shift_remove(key);
    }
    for key in DROPPED_FIELDS {
        if fields.shift_remove(key).is_some() {
            dropped.push(key.to_owned());
        }
    }
    if !opts.model.capabilities.adaptive_thinking && fields.shift_remove("output_config").is_some()
    {
        dropped.push("output_config".to_owned());
    }
    apply_changes(&mut fields, opts.changes)?;
    let markers = Strip {
        ttl: !opts.model.capabilities.cache_ttl_1h,
    };
    super::cache_control::strip_fields(&mut fields, markers, &mut dropped)?;
    if opts.purpose == Purpose::CountTokens {
        let max_tokens = super::count::max_tokens(fields.get("thinking").map(AsRef::as_ref));
        fields.insert("max_tokens".into(), raw(&json!(max_tokens))?);
    }
    if opts.system_turns
        && opts.model.rules.system_messages == SystemMessages::Fold
        && super::system_turns::fold(&mut fields)?
    {
        dropped.push("messages(system role folded into user turns)".to_owned());
    }
    if opts.strip_billing_header {
        strip_billing_header(&mut fields)?;
    }
    let betas = allowed_betas(&mut fields, opts, &mut dropped)?;
    for (field, needs) in BETA_FIELDS {
        let paired = betas.iter().any(|b| needs.contains(&b.as_str()));
        if !paired && fields.shift_remove(field).is_some() {
            dropped.push(format!("{field}(its beta is not allowed for this model)"));
        }
    }
    let mut out: Fields<'_> = IndexMap::with_capacity(fields.len() + 2);
    out.insert("anthropic_version".into(), raw(&json!(BEDROCK_VERSION))?);
    if !betas.is_empty() {
        out.insert("anthropic_beta".into(), raw(&json!(&betas))?);
    }
    fields.shift_remove("anthropic_version");
    out.extend(fields);
    Ok((out, dropped, betas))
}

pub(super) fn raw(value: &Value) -> Result<Cow<'static, str>, ApiError> {
    serde_json::to_string(value)
        .map(Cow::Owned)
        .map_err(|e| ApiError::Internal(e.into()))
}

pub(super) fn parse<T: serde::de::DeserializeOwned>(
    field: &str,
    value: &str,
) -> Result<T, ApiError> {
    serde_json::from_str(value).map_err(|e| ApiError::invalid(format!("{field}: {e}")))
}

/// The client's betas (header values and any body `anthropic_beta`), split, trimmed and
/// de-duplicated, that the model's Bedrock allow-list holds; the rest are named in `dropped`.
fn allowed_betas(
    fields: &mut Fields<'_>,
    opts: &NativeOptions<'_>,
    dropped: &mut Vec<String>,
) -> Result<Vec<String>, ApiError> {
    let in_body: Vec<String> = match fields.shift_remove("anthropic_beta") {
        Some(v) => parse("anthropic_beta", &v)?,
        None => Vec::new(),
    };
    let mut kept: Vec<String> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    let all = opts.betas.iter().chain(&in_body).map(String::as_str);
    for beta in beta_values(all).into_iter().map(renamed) {
        // A renamed beta may equal one the client also sent under Bedrock's name.
        if seen.contains(&beta) {
            continue;
        }
        seen.push(beta);
        if opts.model.allows_beta(beta) {
            kept.push(beta.to_owned());
        } else {
            dropped.push(format!("beta:{}", truncate(beta, 64)));
        }
    }
    Ok(kept)
}

fn renamed(beta: &str) -> &str {
    BETA_RENAMES
        .iter()
        .find(|(from, _)| *from == beta)
        .map_or(beta, |(_, to)| to)
}

/// Rewrites the fields the catalog rules change (see [`crate::models::rules::apply`] for the
/// typed twin used on the Converse path).
fn apply_changes(fields: &mut Fields<'_>, changes: &[Change]) -> Result<(), ApiError> {
    for change in changes {
        match change {
            Change::ThinkingToAdaptive { effort } => to_adaptive(fields, effort)?,
            Change::DisabledToAdaptive => to_adaptive(fields, "low")?,
            Change::ThinkingToBetweenTools => {
                fields.insert("thinking".into(), raw(&json!({"type": "between_tools"}))?);
            }
            Change::DropSampling(name) => {
                fields.shift_remove(*name);
            }
            Change::ToolChoiceToAuto => {
                let old: Map<String, Value> = match fields.get("tool_choice") {
                    Some(v) => parse("tool_choice", v)?,
                    None => Map::new(),
                };
                let mut choice = json!({"type": "auto"});
                if let Some(p) = old.get("disable_parallel_tool_use") {
                    choice["disable_parallel_tool_use"] = p.clone();
                }
                fields.insert("tool_choice".into(), raw(&choice)?);
            }
            Change::DropDisplayUpdates => {
                if let Some(v) = fields.get("thinking") {
                    let mut thinking: Map<String, Value> = parse("thinking", v)?;
                    thinking.shift_remove("display");
                    fields.insert("thinking".into(), raw(&Value::Object(thinking))?);
                }
            }
            Change::CapMaxTokens(cap) => cap_max_tokens(fields, *cap)?,
        }
    }
    Ok(())
}

/// Only `max_tokens`, and a `thinking.budget_tokens` that would no longer fit under it, are
/// rewritten; every other byte stays the client's.
fn cap_max_tokens(fields: &mut Fields<'_>, cap: u32) -> Result<(), ApiError> {
    fields.insert("max_tokens".into(), raw(&json!(cap))?);
    let Some(v) = fields.get("thinking") else {
        return Ok(());
    };
    let mut thinking: Map<String, Value> = parse("thinking", v)?;
    let budget = thinking.get("budget_tokens").and_then(Value::as_u64);
    if let Some(budget) = budget.and_then(|b| u32::try_from(b).ok()) {
        let fitted = rules::capped_budget(budget, cap);
        if fitted != budget {
            thinking.insert("budget_tokens".into(), json!(fitted));
            fields.insert("thinking".into(), raw(&Value::Object(thinking))?);
        }
    }
    Ok(())
}

/// `thinking: adaptive` (keeping a `display`), and `output_config.effort` unless the client set one.
fn to_adaptive(fields: &mut Fields<'_>, effort: &str) -> Result<(), ApiError> {
    let mut thinking = json!({"type": "adaptive"});
    if let Some(d) = thinking_display(fields)? {
        thinking["display"] = d;
    }
    fields.insert("thinking".into(), raw(&thinking)?);
    let mut config: Map<String, Value> = match fields.get("output_config") {
        Some(v) => parse("output_config", v)?,
        None => Map::new(),
    };
    config.entry("effort").or_insert_with(|| json!(effort));
    fields.insert("output_config".into(), raw(&Value::Object(config))?);
    Ok(())
}

fn thinking_display(fields: &Fields<'_>) -> Result<Option<Value>, ApiError> {
    let Some(v) = fields.get("thinking") else {
        return Ok(None);
    };
    let thinking: Map<String, Value> = parse("thinking", v)?;
    Ok(thinking.get("display").cloned())
}

/// Removes a leading `x-anthropic-billing-header:` text block from an array `system`; the other
/// blocks keep their bytes. The same rule on every turn keeps the prefix stable from the first.
fn strip_billing_header(fields: &mut Fields<'_>) -> Result<(), ApiError> {
    let Some(system) = fields.get("system") else {
        return Ok(());
    };
    if !system.trim_start().starts_with('[') {
        return Ok(());
    }
    let system_text = system.to_string();
    let blocks: Vec<&RawValue> = serde_json::from_str(&system_text)
        .map_err(|e| ApiError::invalid(format!("system: {e}")))?;
    let is_billing = |b: &RawValue| {
        serde_json::from_str::<Map<String, Value>>(b.get()).is_ok_and(|m| {
            m.get("type").and_then(Value::as_str) == Some("text")
                && m.get("text")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.trim_start().starts_with(BILLING_PREFIX))
        })
    };
    if !blocks.first().is_some_and(|b| is_billing(b)) {
        return Ok(());
    }
    let rest = &blocks[1..];
    if rest.is_empty() {
        fields.shift_remove("system");
    } else {
        fields.insert("system".into(), raw_array(rest));
    }
    Ok(())
}

fn raw_array(items: &[&RawValue]) -> Cow<'static, str> {
    let joined: Vec<&str> = items.iter().map(|i| i.get()).collect();
    Cow::Owned(format!("[{}]", joined.join(",")))
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
