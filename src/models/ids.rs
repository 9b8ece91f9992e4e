//! Bedrock model ids: inference-profile geographies, profile ids and ARNs. Pure string work.

use std::fmt;
use std::str::FromStr;

/// Geography prefixes Bedrock uses for cross-Region inference profiles.
pub const PROFILE_PREFIXES: [&str; 7] = ["global", "us", "eu", "apac", "jp", "au", "us-gov"];

/// Which inference profile a catalog id is sent to (`CHATRIX_INFERENCE_PROFILE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InferenceProfile {
    Global,
    Us,
    Eu,
    Apac,
    Jp,
    Au,
    /// Bare model ids (provisioned throughput, or models served in-region).
    None,
}

impl InferenceProfile {
    pub fn prefix(self) -> Option<&'static str> {
        match self {
            Self::Global => Some("global"),
            Self::Us => Some("us"),
            Self::Eu => Some("eu"),
            Self::Apac => Some("apac"),
            Self::Jp => Some("jp"),
            Self::Au => Some("au"),
            Self::None => None,
        }
    }
}

impl FromStr for InferenceProfile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "global" => Ok(Self::Global),
            "us" => Ok(Self::Us),
            "eu" => Ok(Self::Eu),
            "apac" => Ok(Self::Apac),
            "jp" => Ok(Self::Jp),
            "au" => Ok(Self::Au),
            "none" => Ok(Self::None),
            other => Err(format!(
                "`{other}` is not one of global, us, eu, apac, jp, au, none"
            )),
        }
    }
}

impl fmt::Display for InferenceProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix().unwrap_or("none"))
    }
}

/// `provider.model…`, `<geo>.provider.model…` or an ARN.
pub fn looks_like_bedrock_id(name: &str) -> bool {
    if name.starts_with("arn:") {
        return true;
    }
    let mut parts = name.splitn(2, '.');
    let (Some(head), Some(rest)) = (parts.next(), parts.next()) else {
        return false;
    };
    !head.is_empty()
        && !rest.is_empty()
        && head
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(c))
}

/// The geography of a profile id's leading part (`…/eu.` or `eu.` → `eu`).
pub(super) fn profile_prefix_of(head: &str) -> Option<&str> {
    let head = head.rsplit('/').next()?.strip_suffix('.')?;
    PROFILE_PREFIXES.contains(&head).then_some(head)
}

fn profile_prefix(id: &str) -> Option<&str> {
    let (head, _) = id.split_once('.')?;
    PROFILE_PREFIXES.contains(&head).then_some(head)
}

/// The foundation-model id inside a profile id or ARN (`us.anthropic.x` → `anthropic.x`).
pub fn base_model_id(id: &str) -> Option<String> {
    let tail = match id.strip_prefix("arn:") {
        Some(_) => {
            // arn:partition:service:region:account:resource — the resource may itself hold `:`.
            let resource = id.splitn(6, ':').nth(5)?;
            let (kind, rest) = resource.split_once('/')?;
            if kind == "application-inference-profile" {
                return None;
            }
            rest
        }
        None => id,
    };
    let bare = match profile_prefix(tail) {
        Some(p) => &tail[p.len() + 1..],
        None => tail,
    };
    bare.contains('.').then(|| bare.to_owned())
}
