//! Every setting, read once from the environment at start-up.
//!
//! Nothing else in the crate reads environment variables (the AWS SDK's own credential and endpoint
//! chain aside). A bad value stops start-up with an error that names the variable.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

use crate::auth::NamedKey;
use crate::models::InferenceProfile;
use crate::pricing::CurrencyConversion;

pub const DEFAULT_PORT: u16 = 3000;
/// Claude Code's own request cap; axum's 2 MB default breaks `/compact`.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// Where Bedrock requests go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BedrockMode {
    /// The real service through the standard AWS configuration chain.
    Aws,
    /// The built-in emulator, started in-process (local use without an AWS account).
    Emulator,
}

#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    pub bedrock_mode: BedrockMode,
    /// Accepted keys from `CHATRIX_API_KEYS`.
    pub api_keys: Vec<NamedKey>,
    pub models_file: Option<PathBuf>,
    pub inference_profile: InferenceProfile,
    pub log_format: LogFormat,
    pub strip_billing_header: bool,
    pub currency: Option<CurrencyConversion>,
    pub max_body_bytes: usize,
    pub fetch_timeout: Duration,
    pub fetch_max_bytes: usize,
    /// Upstream silence after which a stream gets an `event: ping` (CloudFront cuts idle origins).
    pub ping_interval: Duration,
}

/// CloudFront's origin read timeout is 30 s by default; a ping every 15 s at most stays well inside.
pub const MAX_PING_INTERVAL_SECS: u64 = 15;

/// Variables whose presence means "an AWS configuration exists".
const AWS_HINTS: [&str; 11] = [
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
        let aws_configured = aws_files_present || AWS_HINTS.iter().any(|k| get(k).is_some());
        let bedrock_mode = match get("CHATRIX_BEDROCK").unwrap_or("auto") {
            "aws" => BedrockMode::Aws,
            "emulator" => BedrockMode::Emulator,
            "auto" if aws_configured => BedrockMode::Aws,
            "auto" => BedrockMode::Emulator,
            other => {
                return Err(err(
                    "CHATRIX_BEDROCK",
                    format!("`{other}` is not aws, emulator or auto"),
                ))
            }
        };
        let currency = match (get("CHATRIX_CURRENCY"), get("CHATRIX_CURRENCY_RATE")) {
            (None, None) => None,
            (Some(c), Some(r)) => Some(parse_currency(c, r)?),
            (Some(_), None) => {
                return Err(err(
                    "CHATRIX_CURRENCY_RATE",
                    "required when CHATRIX_CURRENCY is set",
                ))
            }
            (None, Some(_)) => {
                return Err(err(
                    "CHATRIX_CURRENCY",
                    "required when CHATRIX_CURRENCY_RATE is set",
                ))
            }
        };
        Ok(Self {
            host: parse_or("HOST", get("HOST"), IpAddr::from([0, 0, 0, 0]))?,
            port: parse_or("PORT", get("PORT"), DEFAULT_PORT)?,
            bedrock_mode,
            api_keys: match get("CHATRIX_API_KEYS") {
                Some(list) => parse_keys(list)?,
                None => Vec::new(),
            },
            models_file: get("CHATRIX_MODELS_FILE").map(PathBuf::from),
            inference_profile: match get("CHATRIX_INFERENCE_PROFILE") {
                Some(v) => v.parse().map_err(|m| err("CHATRIX_INFERENCE_PROFILE", m))?,
                None => InferenceProfile::Global,
            },
            log_format: match get("CHATRIX_LOG_FORMAT").unwrap_or("json") {
                "json" => LogFormat::Json,
                "text" => LogFormat::Text,
                other => {
                    return Err(err(
                        "CHATRIX_LOG_FORMAT",
                        format!("`{other}` is not json or text"),
                    ))
                }
            },
            strip_billing_header: parse_bool(
                "CHATRIX_STRIP_BILLING_HEADER",
                get("CHATRIX_STRIP_BILLING_HEADER"),
                true,
            )?,
            currency,
            max_body_bytes: parse_or(
                "CHATRIX_MAX_BODY_BYTES",
                get("CHATRIX_MAX_BODY_BYTES"),
                DEFAULT_MAX_BODY_BYTES,
            )?,
            fetch_timeout: Duration::from_secs(parse_or(
                "CHATRIX_FETCH_TIMEOUT_SECS",
                get("CHATRIX_FETCH_TIMEOUT_SECS"),
                10,
            )?),
            fetch_max_bytes: parse_or(
                "CHATRIX_FETCH_MAX_BYTES",
                get("CHATRIX_FETCH_MAX_BYTES"),
                5 * 1024 * 1024,
            )?,
            ping_interval: parse_ping_interval(get("CHATRIX_PING_INTERVAL_SECS"))?,
        })
    }
}

fn err(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

fn parse_or<T: FromStr>(
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

fn parse_bool(var: &'static str, value: Option<&str>, default: bool) -> Result<bool, ConfigError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => Err(err(var, format!("`{other}` is not true or false"))),
    }
}

fn parse_ping_interval(value: Option<&str>) -> Result<Duration, ConfigError> {
    let secs: u64 = parse_or("CHATRIX_PING_INTERVAL_SECS", value, 10)?;
    if !(1..=MAX_PING_INTERVAL_SECS).contains(&secs) {
        return Err(err(
            "CHATRIX_PING_INTERVAL_SECS",
            format!("must be between 1 and {MAX_PING_INTERVAL_SECS} seconds, got {secs}"),
        ));
    }
    Ok(Duration::from_secs(secs))
}

fn parse_currency(currency: &str, rate: &str) -> Result<CurrencyConversion, ConfigError> {
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
fn parse_keys(list: &str) -> Result<Vec<NamedKey>, ConfigError> {
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
            return Err(err(
                "CHATRIX_API_KEYS",
                format!("entry {} has an empty key", i + 1),
            ));
        }
        keys.push(NamedKey {
            name,
            key: SecretString::from(key.to_owned()),
        });
    }
    if keys.is_empty() {
        return Err(err("CHATRIX_API_KEYS", "no keys in the list"));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let c = Config::from_vars(&vars(&[]), false).expect("defaults parse");
        assert_eq!(c.port, 3000);
        assert_eq!(c.host.to_string(), "0.0.0.0");
        assert_eq!(c.bedrock_mode, BedrockMode::Emulator);
        assert_eq!(c.inference_profile, InferenceProfile::Global);
        assert_eq!(c.log_format, LogFormat::Json);
        assert!(c.strip_billing_header);
        assert_eq!(c.max_body_bytes, 32 * 1024 * 1024);
        assert_eq!(c.ping_interval, Duration::from_secs(10));
        assert!(c.api_keys.is_empty());
    }

    #[test]
    fn any_aws_hint_selects_aws_mode() {
        let c = Config::from_vars(&vars(&[("AWS_REGION", "eu-west-1")]), false).expect("parses");
        assert_eq!(c.bedrock_mode, BedrockMode::Aws);
        let c = Config::from_vars(&vars(&[]), true).expect("parses");
        assert_eq!(c.bedrock_mode, BedrockMode::Aws);
        let c = Config::from_vars(
            &vars(&[("AWS_REGION", "x"), ("CHATRIX_BEDROCK", "emulator")]),
            false,
        )
        .expect("parses");
        assert_eq!(c.bedrock_mode, BedrockMode::Emulator);
    }

    #[test]
    fn keys_parse_with_and_without_names() {
        let c = Config::from_vars(
            &vars(&[("CHATRIX_API_KEYS", "alice:sk-a, sk-b ,ci:sk-c")]),
            false,
        )
        .expect("parses");
        let got: Vec<(&str, &str)> = c
            .api_keys
            .iter()
            .map(|k| (k.name.as_str(), k.key.expose_secret()))
            .collect();
        assert_eq!(
            got,
            vec![("alice", "sk-a"), ("key-2", "sk-b"), ("ci", "sk-c")]
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let cases = [
            ("PORT", "http"),
            ("HOST", "example.com"),
            ("CHATRIX_INFERENCE_PROFILE", "mars"),
            ("CHATRIX_LOG_FORMAT", "xml"),
            ("CHATRIX_API_KEYS", " , "),
            ("CHATRIX_BEDROCK", "gcp"),
            ("CHATRIX_STRIP_BILLING_HEADER", "maybe"),
            ("CHATRIX_MAX_BODY_BYTES", "-1"),
            ("CHATRIX_PING_INTERVAL_SECS", "30"),
            ("CHATRIX_PING_INTERVAL_SECS", "0"),
        ];
        for (var, value) in cases {
            let e = Config::from_vars(&vars(&[(var, value)]), false).expect_err(var);
            assert_eq!(e.var, var);
            assert!(e.to_string().starts_with(var), "{e}");
        }
    }

    #[test]
    fn currency_needs_both_variables_and_a_positive_rate() {
        let c = Config::from_vars(
            &vars(&[
                ("CHATRIX_CURRENCY", "inr"),
                ("CHATRIX_CURRENCY_RATE", "84.5"),
            ]),
            false,
        )
        .expect("parses");
        assert_eq!(
            c.currency,
            Some(CurrencyConversion {
                currency: "INR".into(),
                rate: 84.5
            })
        );
        assert!(Config::from_vars(&vars(&[("CHATRIX_CURRENCY", "INR")]), false).is_err());
        let e = Config::from_vars(
            &vars(&[("CHATRIX_CURRENCY", "INR"), ("CHATRIX_CURRENCY_RATE", "0")]),
            false,
        )
        .expect_err("zero rate");
        assert_eq!(e.var, "CHATRIX_CURRENCY_RATE");
    }
}
