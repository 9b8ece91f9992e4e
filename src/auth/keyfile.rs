//! The key-store document, shared by the Secrets Manager secret and `CHATRIX_KEYS_FILE`:
//!
//! ```json
//! {"api_keys": {"alice": "sk-…",
//!               "bob": {"key": "sk-…", "team": "platform", "budget_usd": {"day": 20, "month": 300},
//!                       "rpm": 60, "tpm": 400000, "models": ["claude-*"]}},
//!  "teams": {"platform": {"budget_usd": {"month": 2000}}},
//!  "admin_keys": {"finance": "sk-…"}}
//! ```
//!
//! Admin keys read the usage and cost reports and call no model.
//!
//! `{"api_key": "…"}` (one key, named `default`) still works. An unknown field anywhere is an error
//! that names it, with its path; errors never quote a value (a misplaced key would be logged).

use std::collections::HashMap;
use std::sync::Arc;

use indexmap::IndexMap;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;

use super::limits::{Budget, KeyLimits, Team};
use super::NamedKey;
use crate::error::redact_quoted;

/// The name given to the key of the one-key format `{"api_key": "…"}`.
pub const SINGLE_KEY_NAME: &str = "default";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    api_key: Option<String>,
    api_keys: Option<IndexMap<String, Value>>,
    #[serde(default)]
    teams: IndexMap<String, TeamSpec>,
    #[serde(default)]
    admin_keys: IndexMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamSpec {
    #[serde(default)]
    budget_usd: BudgetSpec,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct BudgetSpec {
    day: Option<f64>,
    month: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeySpec {
    key: String,
    team: Option<String>,
    #[serde(default)]
    budget_usd: BudgetSpec,
    rpm: Option<u64>,
    tpm: Option<u64>,
    models: Option<Vec<String>>,
}

/// Reads the document into keys with their limits.
///
/// # Errors
/// A description with the offending field's path that never quotes the document's values.
pub fn parse_key_document(text: &str) -> Result<Vec<NamedKey>, String> {
    let mut de = serde_json::Deserializer::from_str(text);
    let doc: Document = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let at = e.path().to_string();
        let why = redact_quoted(&e.into_inner().to_string());
        match at.as_str() {
            "." | "" => why,
            _ => format!("{at}: {why}"),
        }
    })?;
    let mut teams = HashMap::new();
    for (name, spec) in &doc.teams {
        check_name(name).map_err(|why| format!("`teams`: {why}"))?;
        let budget = budget(&spec.budget_usd).map_err(|why| format!("teams.{name}{why}"))?;
        teams.insert(name.as_str(), budget);
    }
    let mut keys = Vec::new();
    if let Some(k) = doc.api_key {
        keys.push(plain(SINGLE_KEY_NAME, &k).map_err(|why| format!("api_key{why}"))?);
    }
    for (i, (name, entry)) in doc.api_keys.iter().flatten().enumerate() {
        check_name(name).map_err(|why| format!("`api_keys` entry {}: {why}", i + 1))?;
        let key = match entry {
            Value::String(k) => plain(name, k),
            Value::Object(_) => with_limits(name, entry, &teams),
            _ => Err(": must be a key string or an object with `key`".into()),
        };
        keys.push(key.map_err(|why| format!("api_keys.{name}{why}"))?);
    }
    if keys.is_empty() {
        return Err("the document has no `api_key` or `api_keys` entry with a key".into());
    }
    for (i, (name, k)) in doc.admin_keys.iter().enumerate() {
        check_name(name).map_err(|why| format!("`admin_keys` entry {}: {why}", i + 1))?;
        let mut key = plain(name, k).map_err(|why| format!("admin_keys.{name}{why}"))?;
        key.admin = true;
        keys.push(key);
    }
    super::check_roles_distinct(&keys)?;
    Ok(keys)
}

fn plain(name: &str, key: &str) -> Result<NamedKey, String> {
    if key.trim().is_empty() {
        return Err(": must be a non-empty string".into());
    }
    Ok(NamedKey {
        name: name.to_owned(),
        key: SecretString::from(key.trim().to_owned()),
        limits: None,
        admin: false,
    })
}

fn with_limits(
    name: &str,
    entry: &Value,
    teams: &HashMap<&str, Budget>,
) -> Result<NamedKey, String> {
    let spec: KeySpec = serde_path_to_error::deserialize(entry).map_err(|e| {
        let at = e.path().to_string();
        let why = redact_quoted(&e.into_inner().to_string());
        match at.as_str() {
            "." | "" => format!(": {why}"),
            _ => format!(".{at}: {why}"),
        }
    })?;
    let team = match spec.team {
        None => None,
        Some(t) => match teams.get(t.as_str()) {
            Some(budget) => Some(Team {
                name: Arc::from(t.as_str()),
                budget: *budget,
            }),
            None => return Err(".team: names a team that `teams` does not define".into()),
        },
    };
    if spec.rpm == Some(0) || spec.tpm == Some(0) {
        return Err(".rpm/.tpm: must be at least 1 (leave it out for no limit)".into());
    }
    let limits = KeyLimits {
        team,
        budget: budget(&spec.budget_usd)?,
        rpm: spec.rpm,
        tpm: spec.tpm,
        models: spec.models,
    };
    let mut key = plain(name, &spec.key).map_err(|why| format!(".key{why}"))?;
    key.limits = Some(Arc::new(limits));
    Ok(key)
}

/// USD amounts to nano-dollars. An error starts with the field's path below its owner.
fn budget(spec: &BudgetSpec) -> Result<Budget, String> {
    let nanos = |usd: Option<f64>, field: &str| match usd {
        None => Ok(None),
        Some(v) if (0.0..9e9).contains(&v) => Ok(Some((v * 1e9).round() as i64)),
        Some(_) => Err(format!(
            ".budget_usd.{field}: must be a USD amount between 0 and 9e9"
        )),
    };
    Ok(Budget {
        day: nanos(spec.day, "day")?,
        month: nanos(spec.month, "month")?,
    })
}

/// Names go into every log line, so they must look like names: an inverted map
/// (`{"sk-…": "alice"}`) would otherwise log keys. Errors never quote the name.
fn check_name(name: &str) -> Result<(), &'static str> {
    const MAX: usize = 64;
    if name.trim().is_empty() {
        return Err("the name is empty");
    }
    if name.len() > MAX {
        return Err("the name is longer than 64 characters (is it a key?)");
    }
    if name.starts_with("sk-") {
        return Err("the name looks like a key (names map to keys: {\"alice\": \"sk-…\"})");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
    {
        return Err("names may use letters, digits and - _ . @ only");
    }
    Ok(())
}

#[cfg(test)]
#[path = "keyfile_tests.rs"]
mod tests;
