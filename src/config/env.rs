//! [`Config`] from environment variables: which variable sets what, its default and its range, and
//! the order they are checked in (the first bad one is the error).
//!
//! Single-variable parsers live in `parse`, the upstream pool in `upstreams`; this module only
//! assembles them. It reads nothing but the map it is given ([`Config::from_env`] aside, which
//! collects the process environment and looks for `~/.aws`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use super::parse::{
    err, parse_bedrock_mode, parse_bool, parse_cors_origins, parse_currency, parse_in_range,
    parse_keys, parse_ledger, parse_or, parse_origin_secret, parse_secs, read_keys_file, AwsSeen,
    KeyRole,
};
use super::{
    upstreams, BedrockMode, ClaudeApi, Config, ConfigError, KeyStoreConfig, LogFormat,
    DEFAULT_MAX_BODY_BYTES, DEFAULT_PORT, MAX_PING_INTERVAL_SECS, MIN_OUTPUT_CAP,
};
use crate::auth::NamedKey;
use crate::demo::EmulatorBuild;
use crate::models::{InferenceProfile, UnknownModels};
use crate::pricing::CurrencyConversion;

/// Variables whose presence means "an AWS configuration exists".
const AWS_HINTS: [&str; 13] = [
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_BEARER_TOKEN_BEDROCK",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
    "AWS_ENDPOINT_URL",
    // Keys in Secrets Manager mean a real AWS deployment (an instance role may be the only
    // other hint, and it is invisible here): never serve the emulator with real keys.
    "CHATRIX_API_KEY_SECRET_ID",
    // A pool of Regions is a real deployment too.
    "CHATRIX_UPSTREAMS",
];

impl Config {
    /// Reads the process environment.
    ///
    /// # Errors
    /// The first variable with a bad value.
    pub fn from_env() -> Result<Self, ConfigError> {
        let vars: HashMap<String, String> = std::env::vars().collect();
        let home_has_aws = std::env::var_os("HOME")
            .map(PathBuf::from)
            .is_some_and(|h| h.join(".aws/config").exists() || h.join(".aws/credentials").exists());
        Self::from_vars(&vars, home_has_aws)
    }

    /// Parses a given set of variables (tests use this directly).
    ///
    /// # Errors
    /// The first variable with a bad value.
    pub fn from_vars(
        vars: &HashMap<String, String>,
        aws_files_present: bool,
    ) -> Result<Self, ConfigError> {
        let get = |k: &str| vars.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let secs = |var: &'static str, default: u64, range: RangeInclusive<u64>| {
            parse_secs(var, get(var), default, range)
        };
        // Checked in this order, so the same variable is named when several are bad.
        let bedrock_mode = bedrock_mode(&get, aws_files_present)?;
        let currency = parse_currency_pair(&get)?;
        let (host, demo_kept_local) = listen_host(&get, bedrock_mode)?;
        Ok(Self {
            host,
            demo_kept_local,
            port: or(&get, "PORT", DEFAULT_PORT)?,
            bedrock_mode,
            api_keys: parse_api_keys(&get)?,
            ledger: parse_ledger(&get)?,
            models_file: get("CHATRIX_MODELS_FILE").map(PathBuf::from),
            inference_profile: named(&get, "CHATRIX_INFERENCE_PROFILE", InferenceProfile::Global)?,
            unknown_models: named(&get, "CHATRIX_UNKNOWN_MODELS", UnknownModels::Derive)?,
            discovery_interval: secs("CHATRIX_DISCOVERY_INTERVAL_SECS", 3600, 0..=86_400)?,
            log_format: parse_log_format(get("CHATRIX_LOG_FORMAT").unwrap_or("json"))?,
            claude_api: named(&get, "CHATRIX_CLAUDE_API", ClaudeApi::Invoke)?,
            strip_billing_header: parse_bool(
                "CHATRIX_STRIP_BILLING_HEADER",
                get("CHATRIX_STRIP_BILLING_HEADER"),
                true,
            )?,
            currency,
            max_body_bytes: or(&get, "CHATRIX_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)?,
            max_output_tokens: parse_output_cap(get("CHATRIX_MAX_OUTPUT_TOKENS"))?,
            fetch_timeout: Duration::from_secs(or(&get, "CHATRIX_FETCH_TIMEOUT_SECS", 10)?),
            fetch_max_bytes: or(&get, "CHATRIX_FETCH_MAX_BYTES", 5 * 1024 * 1024)?,
            ping_interval: secs("CHATRIX_PING_INTERVAL_SECS", 10, 1..=MAX_PING_INTERVAL_SECS)?,
            key_store: parse_key_store(&get)?,
            cors_origins: parse_cors_origins(get("CHATRIX_CORS_ORIGINS"))?,
            header_timeout: secs("CHATRIX_HEADER_TIMEOUT_SECS", 30, 1..=3600)?,
            origin_secret: parse_origin_secret(get("CHATRIX_ORIGIN_SECRET"))?,
            failover: upstreams::parse_failover(&get)?,
            max_connections: parse_in_range(
                "CHATRIX_MAX_CONNECTIONS",
                get("CHATRIX_MAX_CONNECTIONS"),
                4096,
                1..=1_000_000,
                "",
            )?,
            shutdown_grace: secs("CHATRIX_SHUTDOWN_GRACE_SECS", 60, 0..=900)?,
            body_timeout: secs("CHATRIX_BODY_TIMEOUT_SECS", 120, 1..=3600)?,
        })
    }
}

/// `CHATRIX_BEDROCK`, with `auto` deciding by whether any AWS configuration is visible.
fn bedrock_mode<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
    aws_files_present: bool,
) -> Result<BedrockMode, ConfigError> {
    let aws_configured = aws_files_present || AWS_HINTS.iter().any(|k| get(k).is_some());
    let aws = if aws_configured {
        AwsSeen::Yes
    } else {
        AwsSeen::No
    };
    parse_bedrock_mode(
        get("CHATRIX_BEDROCK").unwrap_or("auto"),
        aws,
        EmulatorBuild::THIS,
    )
}

/// The address to listen on, and the one `HOST` asked for when demo mode kept it local instead.
fn listen_host<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
    bedrock_mode: BedrockMode,
) -> Result<(IpAddr, Option<IpAddr>), ConfigError> {
    let asked_host = parse_or("HOST", get("HOST"), IpAddr::from([0, 0, 0, 0]))?;
    // A host with credentials but none of the hints (an EC2 instance role, say) lands in
    // demo mode; its canned answers must not be served to the network unless asked for.
    let auto_demo =
        bedrock_mode == BedrockMode::Emulator && get("CHATRIX_BEDROCK").unwrap_or("auto") == "auto";
    let demo_kept_local = (auto_demo && !asked_host.is_loopback()).then_some(asked_host);
    let host = match demo_kept_local {
        Some(_) => IpAddr::from([127, 0, 0, 1]),
        None => asked_host,
    };
    Ok((host, demo_kept_local))
}

/// `CHATRIX_CURRENCY` and `CHATRIX_CURRENCY_RATE`, which come as a pair or not at all.
fn parse_currency_pair<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
) -> Result<Option<CurrencyConversion>, ConfigError> {
    match (get("CHATRIX_CURRENCY"), get("CHATRIX_CURRENCY_RATE")) {
        (None, None) => Ok(None),
        (Some(c), Some(r)) => Ok(Some(parse_currency(c, r)?)),
        (Some(_), None) => Err(err(
            "CHATRIX_CURRENCY_RATE",
            "required when CHATRIX_CURRENCY is set",
        )),
        (None, Some(_)) => Err(err(
            "CHATRIX_CURRENCY",
            "required when CHATRIX_CURRENCY_RATE is set",
        )),
    }
}

/// `CHATRIX_API_KEYS`, then `CHATRIX_ADMIN_KEYS`, then the keys of `CHATRIX_KEYS_FILE`; no key
/// may be both an API and an admin key.
fn parse_api_keys<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
) -> Result<Vec<NamedKey>, ConfigError> {
    let mut keys = match get("CHATRIX_API_KEYS") {
        Some(list) => parse_keys("CHATRIX_API_KEYS", list, KeyRole::Api)?,
        None => Vec::new(),
    };
    if let Some(list) = get("CHATRIX_ADMIN_KEYS") {
        keys.extend(parse_keys("CHATRIX_ADMIN_KEYS", list, KeyRole::Admin)?);
    }
    keys.extend(read_keys_file(get("CHATRIX_KEYS_FILE"))?);
    crate::auth::check_roles_distinct(&keys).map_err(|m| err("CHATRIX_ADMIN_KEYS", m))?;
    Ok(keys)
}

/// `var`, parsed, or the default when it is unset.
fn or<'a, T: FromStr>(
    get: &impl Fn(&str) -> Option<&'a str>,
    var: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    parse_or(var, get(var), default)
}

/// `var`, parsed by a type that words its own error (`FromStr<Err = String>`), or the default.
fn named<'a, T: FromStr<Err = String>>(
    get: &impl Fn(&str) -> Option<&'a str>,
    var: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    get(var).map_or(Ok(default), |v| v.parse().map_err(|m| err(var, m)))
}

fn parse_log_format(value: &str) -> Result<LogFormat, ConfigError> {
    match value {
        "json" => Ok(LogFormat::Json),
        "text" => Ok(LogFormat::Text),
        other => Err(err(
            "CHATRIX_LOG_FORMAT",
            format!("`{other}` is not json or text"),
        )),
    }
}

/// `CHATRIX_MAX_OUTPUT_TOKENS`: unset leaves the cap to the model.
fn parse_output_cap(value: Option<&str>) -> Result<Option<u32>, ConfigError> {
    value
        .map(|v| {
            let range = MIN_OUTPUT_CAP..=u32::MAX;
            parse_in_range("CHATRIX_MAX_OUTPUT_TOKENS", Some(v), 0, range, " tokens")
        })
        .transpose()
}

fn parse_key_store<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
) -> Result<KeyStoreConfig, ConfigError> {
    let defaults = KeyStoreConfig::default();
    let capacity: u64 = parse_or(
        "CHATRIX_KEY_CACHE_CAPACITY",
        get("CHATRIX_KEY_CACHE_CAPACITY"),
        defaults.capacity,
    )?;
    if capacity == 0 {
        return Err(err("CHATRIX_KEY_CACHE_CAPACITY", "must be at least 1"));
    }
    Ok(KeyStoreConfig {
        secret_id: get("CHATRIX_API_KEY_SECRET_ID").map(str::to_owned),
        ttl: parse_secs(
            "CHATRIX_KEY_CACHE_TTL_SECS",
            get("CHATRIX_KEY_CACHE_TTL_SECS"),
            defaults.ttl.as_secs(),
            1..=86_400,
        )?,
        negative_ttl: parse_secs(
            "CHATRIX_KEY_NEGATIVE_TTL_SECS",
            get("CHATRIX_KEY_NEGATIVE_TTL_SECS"),
            defaults.negative_ttl.as_secs(),
            1..=3_600,
        )?,
        capacity,
    })
}
