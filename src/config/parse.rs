//! Parsers for single variables; each error names its variable.

use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

use super::{BedrockMode, ConfigError};
use crate::auth::NamedKey;
use crate::demo::{EmulatorBuild, NOT_LINKED};
use crate::pricing::CurrencyConversion;

pub(super) fn err(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

/// Whether any AWS configuration is visible (a hint variable, or `~/.aws` files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AwsSeen {
    Yes,
    No,
}

/// `CHATRIX_BEDROCK`. `auto` is AWS when an AWS configuration is seen, else the demo; in a build
/// without the emulator it can only be AWS (which then needs keys, so nothing runs open), and
/// `emulator` is refused by name rather than failing later.
pub(super) fn parse_bedrock_mode(
    value: &str,
    aws: AwsSeen,
    build: EmulatorBuild,
) -> Result<BedrockMode, ConfigError> {
    let var = "CHATRIX_BEDROCK";
    match (value, aws, build) {
        ("aws", _, _) | ("auto", AwsSeen::Yes, _) | ("auto", _, EmulatorBuild::Absent) => {
            Ok(BedrockMode::Aws)
        }
        ("emulator", _, EmulatorBuild::Absent) => {
            Err(err(var, format!("`emulator`: {NOT_LINKED}")))
        }
        ("emulator" | "auto", _, EmulatorBuild::Linked) => Ok(BedrockMode::Emulator),
        (other, _, _) => Err(err(var, format!("`{other}` is not aws, emulator or auto"))),
    }
}

pub(super) fn parse_or<T: FromStr>(
    var: &'static str,
    value: Option<&str>,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    value.map_or(Ok(default), |v| {
        v.parse().map_err(|e| err(var, format!("`{v}`: {e}")))
    })
}

pub(super) fn parse_bool(
    var: &'static str,
    value: Option<&str>,
    default: bool,
) -> Result<bool, ConfigError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => Err(err(var, format!("`{other}` is not true or false"))),
    }
}

pub(super) fn parse_currency(
    currency: &str,
    rate: &str,
) -> Result<CurrencyConversion, ConfigError> {
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(err(
            "CHATRIX_CURRENCY",
            format!("`{currency}` is not a 3-letter currency code"),
        ));
    }
    let rate: f64 = rate
        .parse()
        .map_err(|e| err("CHATRIX_CURRENCY_RATE", format!("`{rate}`: {e}")))?;
    if !rate.is_finite() || rate <= 0.0 {
        return Err(err("CHATRIX_CURRENCY_RATE", "must be a positive number"));
    }
    Ok(CurrencyConversion {
        currency: currency.to_ascii_uppercase(),
        rate,
    })
}

/// `key1,key2` or `alice:key1,ci:key2`; unnamed keys are called `key-1`, `key-2`…
/// `key1,key2` or `alice:key1,ci:key2` (`CHATRIX_API_KEYS`, and `CHATRIX_ADMIN_KEYS` with `admin`).
pub(super) fn parse_keys(
    var: &'static str,
    list: &str,
    role: KeyRole,
) -> Result<Vec<NamedKey>, ConfigError> {
    let mut keys = Vec::new();
    for (i, item) in list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
    {
        let (name, key) = match item.split_once(':') {
            Some((n, k)) if !n.trim().is_empty() => (n.trim().to_owned(), k.trim()),
            _ => (format!("key-{}", i + 1), item),
        };
        if key.is_empty() {
            return Err(err(var, format!("entry {} has an empty key", i + 1)));
        }
        keys.push(NamedKey {
            name,
            key: SecretString::from(key.to_owned()),
            limits: None,
            admin: role == KeyRole::Admin,
        });
    }
    if keys.is_empty() {
        return Err(err(var, "no keys in the list"));
    }
    Ok(keys)
}

/// What a key list's keys may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyRole {
    Api,
    Admin,
}

/// A whole number of seconds within `range`.
pub(super) fn parse_secs(
    var: &'static str,
    value: Option<&str>,
    default: u64,
    range: RangeInclusive<u64>,
) -> Result<Duration, ConfigError> {
    parse_in_range(var, value, default, range, " seconds").map(Duration::from_secs)
}

/// A number within `range`; `unit` (e.g. `" seconds"`) only words the error.
pub(super) fn parse_in_range<T>(
    var: &'static str,
    value: Option<&str>,
    default: T,
    range: RangeInclusive<T>,
    unit: &str,
) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd + std::fmt::Display,
    T::Err: std::fmt::Display,
{
    let n = parse_or(var, value, default)?;
    if !range.contains(&n) {
        return Err(err(
            var,
            format!(
                "must be between {} and {}{unit}, got {n}",
                range.start(),
                range.end()
            ),
        ));
    }
    Ok(n)
}

/// `CHATRIX_CORS_ORIGINS`: unset (no CORS), `*`, or a comma list of `scheme://host[:port]`.
pub(super) fn parse_cors_origins(value: Option<&str>) -> Result<super::CorsOrigins, ConfigError> {
    const VAR: &str = "CHATRIX_CORS_ORIGINS";
    let Some(list) = value else {
        return Ok(super::CorsOrigins::None);
    };
    if list == "*" {
        return Ok(super::CorsOrigins::Any);
    }
    let mut origins = Vec::new();
    for origin in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let authority = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        let well_formed = authority.is_some_and(|a| {
            !a.contains(['/', '?', '#', '@'])
                && a.parse::<http::uri::Authority>().is_ok()
                && http::HeaderValue::from_str(origin).is_ok()
        });
        if !well_formed {
            return Err(err(
                VAR,
                format!("`{origin}` is not an origin like https://app.example.com"),
            ));
        }
        origins.push(origin.to_owned());
    }
    if origins.is_empty() {
        return Err(err(VAR, "no origins in the list"));
    }
    Ok(super::CorsOrigins::List(origins))
}

/// `CHATRIX_ORIGIN_SECRET`: long enough that guessing it is hopeless.
pub(super) fn parse_origin_secret(
    value: Option<&str>,
) -> Result<Option<SecretString>, ConfigError> {
    const MIN: usize = 16;
    match value {
        None => Ok(None),
        Some(v) if v.len() < MIN => Err(err(
            "CHATRIX_ORIGIN_SECRET",
            format!("must be at least {MIN} characters"),
        )),
        Some(v) => Ok(Some(SecretString::from(v.to_owned()))),
    }
}

/// `CHATRIX_KEYS_FILE`: the key-store JSON ([`crate::auth::keyfile`]) read once at start-up.
pub(super) fn read_keys_file(path: Option<&str>) -> Result<Vec<NamedKey>, ConfigError> {
    const VAR: &str = "CHATRIX_KEYS_FILE";
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| err(VAR, format!("cannot read {path}: {e}")))?;
    crate::auth::keyfile::parse_key_document(&text).map_err(|why| err(VAR, why))
}

/// `CHATRIX_LEDGER_TABLE` and `CHATRIX_LEDGER_ON_ERROR`.
pub(super) fn parse_ledger<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
) -> Result<super::LedgerConfig, ConfigError> {
    use super::LedgerOnError;
    let on_error = match get("CHATRIX_LEDGER_ON_ERROR").unwrap_or("open") {
        "open" => LedgerOnError::Open,
        "closed" => LedgerOnError::Closed,
        other => {
            return Err(err(
                "CHATRIX_LEDGER_ON_ERROR",
                format!("`{other}` is not open or closed"),
            ))
        }
    };
    Ok(super::LedgerConfig {
        table: get("CHATRIX_LEDGER_TABLE").map(str::to_owned),
        on_error,
    })
}
