//! Tool names and tool-use ids that Bedrock accepts, and the map that restores the client's names.
//!
//! Bedrock requires tool names to match `^[a-zA-Z0-9_-]{1,64}$` and tool-use ids
//! `^[a-zA-Z0-9_.:-]{1,64}$`; Anthropic clients send longer or odder ones (MCP tools such as
//! `mcp__some-server__some.tool` routinely exceed 64 characters). Valid values pass unchanged, so
//! the common case costs nothing and keeps prompt caches warm. Everything here is deterministic
//! (a fixed FNV-1a hash, never a randomly seeded one) so the same request always yields the same
//! names, across processes and releases. Pure: no I/O, no logging.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

const MAX_LEN: usize = 64;
/// `_` plus 8 hex digits.
const SUFFIX_LEN: usize = 9;

/// Original ⇄ Bedrock-safe tool names for one request.
#[derive(Debug, Clone, Default)]
pub struct ToolNameMap {
    to_bedrock: HashMap<String, String>,
    to_client: HashMap<String, String>,
}

impl ToolNameMap {
    /// Builds the map for every tool name a request mentions (tool definitions, `tool_use` blocks in
    /// history, `tool_choice.name`). Valid names are kept; each invalid one has its bad characters
    /// replaced by `_`, and gets a hash suffix when that is too long or collides with another name.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut seen = HashSet::new();
        let unique: Vec<&str> = names.into_iter().filter(|n| seen.insert(*n)).collect();
        let mut taken: HashSet<String> = unique
            .iter()
            .filter(|n| is_valid_tool_name(n))
            .map(|n| (*n).to_owned())
            .collect();
        let mut map = Self::default();
        for &original in unique.iter().filter(|n| !is_valid_tool_name(n)) {
            let cleaned = clean(original, |c| {
                c.is_ascii_alphanumeric() || c == '_' || c == '-'
            });
            let mut candidate = if cleaned.is_empty() || cleaned.len() > MAX_LEN {
                with_hash(&cleaned, original)
            } else {
                cleaned.clone()
            };
            let mut attempt = 1u32;
            while taken.contains(&candidate) {
                candidate = with_hash(&cleaned, &format!("{original}#{attempt}"));
                attempt += 1;
            }
            taken.insert(candidate.clone());
            map.to_client.insert(candidate.clone(), original.to_owned());
            map.to_bedrock.insert(original.to_owned(), candidate);
        }
        map
    }

    /// The name to send to Bedrock; names the map does not know pass unchanged.
    pub fn to_bedrock<'a>(&'a self, name: &'a str) -> Cow<'a, str> {
        Cow::Borrowed(self.to_bedrock.get(name).map_or(name, String::as_str))
    }

    /// The client's original name for a name Bedrock returned; unknown names pass unchanged.
    pub fn to_client<'a>(&'a self, name: &'a str) -> Cow<'a, str> {
        Cow::Borrowed(self.to_client.get(name).map_or(name, String::as_str))
    }

    /// True when no name had to be changed.
    pub fn is_empty(&self) -> bool {
        self.to_bedrock.is_empty()
    }
}

pub fn is_valid_tool_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub fn is_valid_tool_use_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_LEN && id.chars().all(id_char)
}

/// A Bedrock-safe tool-use id. Applied to both `tool_use.id` and `tool_result.tool_use_id`, so a
/// pair stays paired. Ids need no reverse map: Bedrock mints fresh ids for new calls. An id that
/// has to change always gets a hash suffix, so it cannot collide with another id that was valid.
pub fn sanitize_tool_use_id(id: &str) -> Cow<'_, str> {
    if is_valid_tool_use_id(id) {
        Cow::Borrowed(id)
    } else {
        Cow::Owned(with_hash(&clean(id, id_char), id))
    }
}

fn id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')
}

/// Replaces every character `keep` rejects with `_`; the result is ASCII.
fn clean(s: &str, keep: impl Fn(char) -> bool) -> String {
    s.chars().map(|c| if keep(c) { c } else { '_' }).collect()
}

/// `prefix_<8 hex of FNV-1a(original)>`, at most 64 characters. `cleaned` must be ASCII.
fn with_hash(cleaned: &str, original: &str) -> String {
    let keep = cleaned.len().min(MAX_LEN - SUFFIX_LEN);
    format!("{}_{:08x}", &cleaned[..keep], fnv1a(original) as u32)
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_tool_names_pass_unchanged_and_invalid_ones_become_valid() {
        let long = format!("mcp__{}__read", "a".repeat(70));
        let cases: Vec<(&str, Option<&str>)> = vec![
            ("Bash", Some("Bash")),
            (
                "mcp__github__create_issue",
                Some("mcp__github__create_issue"),
            ),
            ("weather.lookup", Some("weather_lookup")),
            ("süß", Some("s__")),
            ("a b", Some("a_b")),
            (&long, None),
            ("", None),
        ];
        let map = ToolNameMap::new(cases.iter().map(|(n, _)| *n));
        for (original, expected) in &cases {
            let safe = map.to_bedrock(original);
            assert!(is_valid_tool_name(&safe), "{original:?} -> {safe:?}");
            if let Some(want) = expected {
                assert_eq!(safe, *want, "{original:?}");
            }
            assert_eq!(
                map.to_client(&safe),
                *original,
                "round trip of {original:?}"
            );
        }
    }

    #[test]
    fn long_names_are_truncated_with_a_stable_hash_suffix() {
        let long = format!("mcp__server__{}", "x".repeat(80));
        let a = ToolNameMap::new([long.as_str()]);
        let b = ToolNameMap::new([long.as_str(), "other"]);
        let safe = a.to_bedrock(&long).into_owned();
        assert_eq!(safe.len(), 64);
        assert_eq!(
            safe,
            b.to_bedrock(&long),
            "same name in another request maps the same way"
        );
        assert!(safe.starts_with("mcp__server__xxx"));
    }

    #[test]
    fn a_cleaned_name_that_collides_with_a_real_name_gets_a_hash() {
        let map = ToolNameMap::new(["a.b", "a_b"]);
        assert_eq!(map.to_bedrock("a_b"), "a_b");
        let other = map.to_bedrock("a.b");
        assert_ne!(other, "a_b");
        assert!(other.starts_with("a_b_") && is_valid_tool_name(&other));
        assert_eq!(map.to_client(&other), "a.b");
    }

    #[test]
    fn unknown_names_pass_unchanged_both_ways() {
        let map = ToolNameMap::new(["x.y"]);
        assert_eq!(map.to_bedrock("never_seen"), "never_seen");
        assert_eq!(map.to_client("never_seen"), "never_seen");
        assert!(ToolNameMap::new(["ok"]).is_empty());
    }

    #[test]
    fn tool_use_ids_are_sanitized_deterministically() {
        let long = "t".repeat(65);
        let cases = [
            ("toolu_01ABC", true),
            ("call:1.2-x_y", true),
            ("call/1", false),
            ("id with spaces", false),
            (long.as_str(), false),
            ("", false),
        ];
        for (id, unchanged) in cases {
            let safe = sanitize_tool_use_id(id);
            assert!(is_valid_tool_use_id(&safe), "{id:?} -> {safe:?}");
            assert_eq!(safe == id, unchanged, "{id:?}");
            assert_eq!(safe, sanitize_tool_use_id(id), "deterministic");
        }
        assert_ne!(
            sanitize_tool_use_id("a b"),
            "a_b",
            "cannot collide with a valid id"
        );
    }
}
