//! The upstream pool's settings (`CHATRIX_UPSTREAMS`, `CHATRIX_PROFILE_FALLBACK`, stickiness,
//! cooldowns, the failover time budget); pure parsing, each error naming its variable.
//! What the pool does with them: `crate::bedrock::pool` and docs/failover.md.

use std::time::Duration;

use super::parse::{err, parse_secs};
use super::ConfigError;
use crate::models::InferenceProfile;

const UPSTREAMS: &str = "CHATRIX_UPSTREAMS";
const FALLBACK: &str = "CHATRIX_PROFILE_FALLBACK";

/// One entry of `CHATRIX_UPSTREAMS`: `region[=endpoint_url][@role_arn]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamSpec {
    pub region: String,
    /// Replaces the Region's Bedrock endpoints (tests, private endpoints).
    pub endpoint: Option<String>,
    /// A role to assume (STS AssumeRole) for this entry's calls.
    pub role_arn: Option<String>,
}

impl UpstreamSpec {
    /// How logs and `x-chatrix-upstream` name the entry: the region, with the role's account when
    /// a role is assumed (two accounts in one region are two upstreams).
    pub fn label(&self) -> String {
        let account = self.role_arn.as_deref().and_then(|a| a.split(':').nth(4));
        match account {
            Some(account) => format!("{}@{account}", self.region),
            None => self.region.clone(),
        }
    }
}

/// The pool's settings. An empty `upstreams` is today's single client from the standard chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverConfig {
    pub upstreams: Vec<UpstreamSpec>,
    /// Inference-profile geographies a model may also be called through, in order, after
    /// `CHATRIX_INFERENCE_PROFILE` (e.g. `us,global`); empty: that profile only.
    pub profile_fallback: Vec<InferenceProfile>,
    /// How long a session stays on the upstream that served it last, after its last request.
    pub sticky_ttl: Duration,
    /// No further upstream is tried once this much time has passed since the first attempt.
    pub budget: Duration,
    /// The first cooldown of a throttled upstream; it doubles on each failed probe, up to
    /// `cooldown_max`.
    pub cooldown: Duration,
    pub cooldown_max: Duration,
}

impl Default for FailoverConfig {
    fn default() -> Self {
        Self {
            upstreams: Vec::new(),
            profile_fallback: Vec::new(),
            sticky_ttl: Duration::from_secs(30 * 60),
            budget: Duration::from_secs(10),
            cooldown: Duration::from_secs(5),
            cooldown_max: Duration::from_secs(60),
        }
    }
}

/// Reads every pool variable through `get` (trimmed, empty = unset).
pub(super) fn parse_failover<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
) -> Result<FailoverConfig, ConfigError> {
    let d = FailoverConfig::default();
    let secs = |var: &'static str, default: Duration, range| {
        parse_secs(var, get(var), default.as_secs(), range)
    };
    let cooldown = secs("CHATRIX_COOLDOWN_SECS", d.cooldown, 1..=600)?;
    let cooldown_max = secs("CHATRIX_COOLDOWN_MAX_SECS", d.cooldown_max, 1..=3600)?;
    if cooldown_max < cooldown {
        return Err(err(
            "CHATRIX_COOLDOWN_MAX_SECS",
            "must not be less than CHATRIX_COOLDOWN_SECS",
        ));
    }
    Ok(FailoverConfig {
        upstreams: get(UPSTREAMS)
            .map(parse_upstreams)
            .transpose()?
            .unwrap_or_default(),
        profile_fallback: get(FALLBACK)
            .map(parse_profile_fallback)
            .transpose()?
            .unwrap_or_default(),
        sticky_ttl: secs("CHATRIX_STICKY_SECS", d.sticky_ttl, 0..=86_400)?,
        budget: secs("CHATRIX_FAILOVER_BUDGET_SECS", d.budget, 0..=900)?,
        cooldown,
        cooldown_max,
    })
}

/// `us-east-1,us-west-2=https://vpce.example:443@arn:aws:iam::123456789012:role/bedrock`.
pub(super) fn parse_upstreams(list: &str) -> Result<Vec<UpstreamSpec>, ConfigError> {
    let mut specs = Vec::new();
    for (i, entry) in list.split(',').map(str::trim).enumerate() {
        let n = i + 1;
        if entry.is_empty() {
            return Err(err(UPSTREAMS, format!("entry {n} is empty")));
        }
        let spec = parse_entry(entry).map_err(|m| err(UPSTREAMS, format!("entry {n}: {m}")))?;
        if specs.contains(&spec) {
            return Err(err(
                UPSTREAMS,
                format!("entry {n} (`{entry}`) is listed twice"),
            ));
        }
        specs.push(spec);
    }
    Ok(specs)
}

fn parse_entry(entry: &str) -> Result<UpstreamSpec, String> {
    // A role ARN never holds `@`; an endpoint URL with user info (`user@host`) is not supported.
    let (rest, role_arn) = match entry.rsplit_once('@') {
        Some((rest, role)) => (rest, Some(parse_role(role.trim())?)),
        None => (entry, None),
    };
    let (region, endpoint) = match rest.split_once('=') {
        Some((region, url)) => (region.trim(), Some(parse_endpoint(url.trim())?)),
        None => (rest.trim(), None),
    };
    let valid = !region.is_empty()
        && region.contains('-')
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(format!("`{region}` is not an AWS Region like us-east-1"));
    }
    Ok(UpstreamSpec {
        region: region.to_owned(),
        endpoint,
        role_arn,
    })
}

fn parse_endpoint(url: &str) -> Result<String, String> {
    let authority = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match authority {
        Some(a) if !a.is_empty() && url.parse::<http::Uri>().is_ok() => Ok(url.to_owned()),
        _ => Err(format!(
            "`{url}` is not an endpoint URL like https://host[:port]"
        )),
    }
}

fn parse_role(arn: &str) -> Result<String, String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let well_formed = parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5].starts_with("role/");
    match well_formed {
        true => Ok(arn.to_owned()),
        false => Err(format!(
            "`{arn}` is not a role ARN like arn:aws:iam::123456789012:role/name"
        )),
    }
}

/// `us,global`: profile geographies, in order; duplicates are refused.
pub(super) fn parse_profile_fallback(list: &str) -> Result<Vec<InferenceProfile>, ConfigError> {
    let mut profiles = Vec::new();
    for item in list.split(',').map(str::trim) {
        let profile: InferenceProfile = item.parse().map_err(|m| err(FALLBACK, m))?;
        if profiles.contains(&profile) {
            return Err(err(FALLBACK, format!("`{item}` is listed twice")));
        }
        profiles.push(profile);
    }
    Ok(profiles)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(region: &str, endpoint: Option<&str>, role: Option<&str>) -> UpstreamSpec {
        UpstreamSpec {
            region: region.into(),
            endpoint: endpoint.map(Into::into),
            role_arn: role.map(Into::into),
        }
    }

    #[test]
    fn upstreams_keep_their_order_and_each_part_is_optional() {
        let role = "arn:aws:iam::123456789012:role/bedrock";
        let list = format!(
            "us-east-1, us-west-2@{role},eu-west-1=http://127.0.0.1:9000,\
             ap-northeast-1=https://vpce.example.com:8443/@{role}"
        );
        let got = parse_upstreams(&list).expect("parses");
        assert_eq!(
            got,
            vec![
                spec("us-east-1", None, None),
                spec("us-west-2", None, Some(role)),
                spec("eu-west-1", Some("http://127.0.0.1:9000"), None),
                spec(
                    "ap-northeast-1",
                    Some("https://vpce.example.com:8443/"),
                    Some(role)
                ),
            ]
        );
        assert_eq!(got[1].label(), "us-west-2@123456789012");
        assert_eq!(got[2].label(), "eu-west-1");
    }

    #[test]
    fn bad_upstream_entries_are_refused_naming_the_variable_and_the_entry() {
        let cases = [
            ("us-east-1,,us-west-2", "entry 2 is empty"),
            ("US_EAST", "entry 1: `US_EAST` is not an AWS Region"),
            (
                "us-east-1=ftp://x",
                "entry 1: `ftp://x` is not an endpoint URL",
            ),
            ("us-east-1=", "is not an endpoint URL"),
            ("us-east-1@arn:aws:iam::1:role/x", "is not a role ARN"),
            (
                "us-east-1@arn:aws:iam::123456789012:user/x",
                "is not a role ARN",
            ),
            (
                "us-east-1,us-east-1",
                "entry 2 (`us-east-1`) is listed twice",
            ),
        ];
        for (value, expected) in cases {
            let e = parse_upstreams(value).expect_err(value);
            assert_eq!(e.var, "CHATRIX_UPSTREAMS");
            assert!(e.message.contains(expected), "{value}: {}", e.message);
        }
    }

    #[test]
    fn the_same_region_under_two_roles_is_two_upstreams() {
        let list = "us-east-1@arn:aws:iam::111111111111:role/a,\
                    us-east-1@arn:aws:iam::222222222222:role/a";
        let got = parse_upstreams(list).expect("parses");
        assert_ne!(got[0].label(), got[1].label());
    }

    #[test]
    fn profile_fallback_is_an_ordered_list_of_geographies() {
        let got = parse_profile_fallback("us, global").expect("parses");
        assert_eq!(got, vec![InferenceProfile::Us, InferenceProfile::Global]);
        for bad in ["us,mars", "us,us", "us,"] {
            let e = parse_profile_fallback(bad).expect_err(bad);
            assert_eq!(e.var, "CHATRIX_PROFILE_FALLBACK", "{bad}");
        }
    }

    #[test]
    fn failover_settings_default_and_check_their_ranges() {
        let none = |_: &str| None;
        assert_eq!(
            parse_failover(&none).expect("defaults"),
            FailoverConfig::default()
        );
        let bad = |k: &str| (k == "CHATRIX_COOLDOWN_MAX_SECS").then_some("2");
        let e = parse_failover(&bad).expect_err("max below base");
        assert_eq!(e.var, "CHATRIX_COOLDOWN_MAX_SECS");
        let bad = |k: &str| (k == "CHATRIX_STICKY_SECS").then_some("-1");
        assert_eq!(
            parse_failover(&bad).expect_err("negative").var,
            "CHATRIX_STICKY_SECS"
        );
    }
}
