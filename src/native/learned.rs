//! What Bedrock refused for a model, learned from its 400s: betas and optional top-level fields.
//!
//! The catalog's per-model allow-lists ([`super::request`]) are right for the models it knows. A
//! launch-day model borrows its family's lists, and Bedrock sometimes narrows a list per region or
//! per week (NATIVE.md §2.1, §2.6). When Bedrock answers `invalid beta flag`, `extraneous key [k]
//! is not permitted` or `k: Extra inputs are not permitted`, the gateway removes what was refused,
//! sends the request once more, and keeps removing it for that model for a while
//! ([`crate::state::Shared::learned`]), so one rejected beta costs one retry, not every request.
//!
//! What is remembered is shared by every caller of the model, so it is kept to what Bedrock's
//! refusal can only mean ([`Knowledge`]):
//! - `invalid beta flag` names no beta. Betas Bedrock has accepted for the model before (recorded
//!   on every success) are not suspects; the others are removed and remembered. When every beta
//!   sent was accepted before, all are removed for this request only.
//! - A refused field is remembered only if it is an Anthropic API field ([`ANTHROPIC_FIELDS`]);
//!   another name, which any caller can invent, is removed for this request only.
//! - At most [`MAX_REMEMBERED`] removals per model.
//!
//! The fields that carry what the client asked for ([`NEVER_DROPPED`]) are refused to the client
//! as Bedrock worded it, because Claude Code recovers from those itself (NATIVE.md §5.3). A beta
//! goes with its paired body field ([`super::request::BETA_FIELDS`]). Pure: no I/O, no logging.

use std::borrow::Cow;

use indexmap::IndexMap;
use serde_json::value::RawValue;

use super::request::BETA_FIELDS;
use crate::error::ApiError;

/// Top-level fields never dropped on a refusal: the conversation, its limits, and the features
/// the client chose (Claude Code retries without thinking or a system message on its own when
/// Bedrock names them, which it can only do if it sees the refusal).
pub const NEVER_DROPPED: [&str; 12] = [
    "anthropic_version",
    "max_tokens",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "output_config",
];

/// Top-level fields of the Anthropic Messages API: a refusal of one of these is about the model,
/// so it is remembered; any other name is the caller's own.
pub const ANTHROPIC_FIELDS: [&str; 14] = [
    "metadata",
    "context_management",
    "service_tier",
    "container",
    "mcp_servers",
    "inference_geo",
    "speed",
    "output_format",
    "fallbacks",
    "diagnostics",
    "safeguards",
    "betas",
    "cache_control",
    "top_logprobs",
];

/// Removals remembered per model at most.
pub const MAX_REMEMBERED: usize = 32;

/// What Bedrock is known to refuse and to accept for one model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Knowledge {
    /// Removed from every request to the model.
    pub refused: Vec<Removal>,
    /// Betas Bedrock answered without refusing: never suspects of an unnamed refusal.
    pub accepted: Vec<String>,
}

impl Knowledge {
    /// Whether `beta` is among the refused removals.
    pub fn refuses_beta(&self, beta: &str) -> bool {
        self.refused
            .iter()
            .any(|r| r.strip_prefix(BETA) == Some(beta))
    }

    /// After a success with `betas`: the knowledge with them accepted, if that is new.
    pub fn after_success(&self, betas: &[String]) -> Option<Self> {
        let new: Vec<&String> = betas
            .iter()
            .filter(|b| !self.accepted.contains(b))
            .collect();
        if new.is_empty() || self.accepted.len() >= MAX_REMEMBERED {
            return None;
        }
        let mut next = self.clone();
        next.accepted.extend(new.into_iter().cloned());
        Some(next)
    }

    /// After a refusal answered by `removals`: the knowledge with those worth remembering, if any
    /// are new.
    pub fn after_refusal(&self, removals: &[Removal]) -> Option<Self> {
        let worth = |r: &&Removal| match r.strip_prefix(BETA) {
            Some(beta) => !self.accepted.iter().any(|a| a == beta),
            None => ANTHROPIC_FIELDS.contains(&r.as_str()),
        };
        let new: Vec<&Removal> = removals
            .iter()
            .filter(worth)
            .filter(|r| !self.refused.contains(r))
            .collect();
        if new.is_empty() || self.refused.len() >= MAX_REMEMBERED {
            return None;
        }
        let mut next = self.clone();
        next.refused.extend(new.into_iter().cloned());
        Some(next)
    }
}

/// What a 400 says Bedrock refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// `invalid beta flag`: one of the body's betas, unnamed.
    Betas,
    /// Top-level fields named by the refusal.
    Fields(Vec<String>),
}

/// One learned removal: a beta (`beta:<name>`) or a top-level field (`<name>`).
pub type Removal = String;

const BETA: &str = "beta:";

/// Reads a ValidationException's message (Bedrock's prefix already removed or not).
pub fn refused(message: &str) -> Option<Refused> {
    if message.contains("invalid beta flag") {
        return Some(Refused::Betas);
    }
    let mut fields: Vec<String> = Vec::new();
    for part in message.split("extraneous key [").skip(1) {
        if let Some((key, rest)) = part.split_once(']') {
            if rest.starts_with(" is not permitted") {
                fields.push(key.to_owned());
            }
        }
    }
    let rest = message.rsplit("errors: ").next().unwrap_or(message);
    if let Some(key) = rest.strip_suffix(": Extra inputs are not permitted") {
        // A nested path (`tools.3.custom.defer_loading`) is the content's business, not ours.
        if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            fields.push(key.to_owned());
        }
    }
    (!fields.is_empty()).then_some(Refused::Fields(fields))
}

/// The removals that answer `refused` for the body that was sent: empty when the body holds
/// nothing the gateway may take out (the refusal then goes to the client as it is). For an
/// unnamed beta refusal, the betas not `accepted` before; all of them if every one was.
///
/// # Errors
/// The body is not a JSON object (it is ours, so that is a bug).
pub fn removals(
    body: &[u8],
    refused: &Refused,
    accepted: &[String],
) -> Result<Vec<Removal>, ApiError> {
    let fields = top_level(body)?;
    Ok(match refused {
        Refused::Betas => {
            let sent = betas(&fields)?;
            let suspects: Vec<&String> = sent.iter().filter(|b| !accepted.contains(b)).collect();
            let chosen = match suspects.is_empty() {
                true => sent.iter().collect(),
                false => suspects,
            };
            chosen.into_iter().map(|b| format!("{BETA}{b}")).collect()
        }
        Refused::Fields(names) => names
            .iter()
            .filter(|n| fields.contains_key(n.as_str()) && !NEVER_DROPPED.contains(&n.as_str()))
            .cloned()
            .collect(),
    })
}

/// The body without `removals` (and without a field whose paired beta went): `None` when none of
/// them is in it. The other fields keep their bytes and order.
///
/// # Errors
/// The body is not a JSON object.
pub fn strip(body: &[u8], removals: &[Removal]) -> Result<Option<Vec<u8>>, ApiError> {
    let mut fields = top_level(body)?;
    let mut changed = false;
    for name in removals.iter().filter(|r| !r.starts_with(BETA)) {
        changed |= fields.shift_remove(name.as_str()).is_some();
    }
    let sent = betas(&fields)?;
    let kept: Vec<&str> = sent
        .iter()
        .map(String::as_str)
        .filter(|b| !removals.iter().any(|r| r.strip_prefix(BETA) == Some(b)))
        .collect();
    if kept.len() != sent.len() {
        changed = true;
        if kept.is_empty() {
            fields.shift_remove("anthropic_beta");
        } else {
            let list = serde_json::value::to_raw_value(&kept).map_err(internal)?;
            fields.insert("anthropic_beta".into(), Cow::Owned(list));
        }
        for (field, needs) in BETA_FIELDS {
            if !kept.iter().any(|b| needs.contains(b)) {
                fields.shift_remove(field);
            }
        }
    }
    if !changed {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(body.len());
    serde_json::to_writer(&mut out, &fields).map_err(internal)?;
    Ok(Some(out))
}

type Fields<'a> = IndexMap<Cow<'a, str>, Cow<'a, RawValue>>;

fn top_level(body: &[u8]) -> Result<Fields<'_>, ApiError> {
    let borrowed: IndexMap<Cow<'_, str>, &RawValue> =
        serde_json::from_slice(body).map_err(internal)?;
    Ok(borrowed
        .into_iter()
        .map(|(k, v)| (k, Cow::Borrowed(v)))
        .collect())
}

fn betas(fields: &Fields<'_>) -> Result<Vec<String>, ApiError> {
    match fields.get("anthropic_beta") {
        Some(v) => serde_json::from_str(v.get()).map_err(internal),
        None => Ok(Vec::new()),
    }
}

fn internal(e: serde_json::Error) -> ApiError {
    ApiError::Internal(e.into())
}

#[cfg(test)]
#[path = "learned_tests.rs"]
mod tests;
