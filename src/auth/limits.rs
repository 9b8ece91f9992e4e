//! What a key may spend and use: budgets, rates and models, as read from the key store.
//!
//! Owns the types and the model-glob match; it does not count anything ([`crate::ledger`] does)
//! and does no I/O.

use std::sync::Arc;

/// A spend cap per period, in integer nano-dollars (the unit [`crate::pricing`] computes in).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Budget {
    pub day: Option<i64>,
    pub month: Option<i64>,
}

impl Budget {
    pub fn is_empty(&self) -> bool {
        self.day.is_none() && self.month.is_none()
    }
}

/// A team's shared budget, carried by each of its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub name: Arc<str>,
    pub budget: Budget,
}

/// The limits of one key (the object form of an `api_keys` entry).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyLimits {
    pub team: Option<Team>,
    pub budget: Budget,
    /// Requests per UTC minute.
    pub rpm: Option<u64>,
    /// Input and output tokens per UTC minute.
    pub tpm: Option<u64>,
    /// Model-name globs (`*` matches any run of characters); `None` allows every model.
    pub models: Option<Vec<String>>,
}

impl KeyLimits {
    /// Whether anything must be counted for this key before Bedrock is called.
    pub fn counts_anything(&self) -> bool {
        !self.budget.is_empty()
            || self.rpm.is_some()
            || self.tpm.is_some()
            || self.team.as_ref().is_some_and(|t| !t.budget.is_empty())
    }

    /// Whether a budget (the key's or its team's) applies.
    pub fn has_budget(&self) -> bool {
        !self.budget.is_empty() || self.team.as_ref().is_some_and(|t| !t.budget.is_empty())
    }

    /// Whether any of `names` (the name the client sent, the catalog's id) is allowed.
    pub fn allows_model<'a>(&self, mut names: impl Iterator<Item = &'a str>) -> bool {
        match &self.models {
            None => true,
            Some(globs) => names.any(|n| globs.iter().any(|g| glob_match(g, n))),
        }
    }
}

/// `*` matches any run of characters (also none); everything else matches itself.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_globs_match_whole_names_with_stars_anywhere() {
        let cases = [
            ("claude-*", "claude-sonnet-4-5", true),
            ("claude-*", "deepseek.r1", false),
            ("claude-sonnet-4-5", "claude-sonnet-4-5", true),
            ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929", false),
            ("*haiku*", "claude-haiku-4-5", true),
            ("claude-*-4-5", "claude-opus-4-5", true),
            ("claude-*-4-5", "claude-opus-4-6", false),
            ("a*b*b", "abb", true),
            ("a*bb*b", "abb", false),
            ("*", "", true),
            ("", "x", false),
        ];
        for (glob, name, want) in cases {
            assert_eq!(glob_match(glob, name), want, "{glob} vs {name}");
        }
    }

    #[test]
    fn a_key_with_a_models_list_allows_only_matching_names() {
        let limits = KeyLimits {
            models: Some(vec!["claude-*".into()]),
            ..KeyLimits::default()
        };
        assert!(limits.allows_model(["claude-opus-4-8"].into_iter()));
        assert!(!limits.allows_model(["qwen.qwen3-32b"].into_iter()));
        assert!(KeyLimits::default().allows_model(["anything"].into_iter()));
        assert!(!limits.counts_anything());
    }
}
