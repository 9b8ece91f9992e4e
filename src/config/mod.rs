//! Every setting, read once from the environment at start-up.
//!
//! Nothing else in the crate reads environment variables (the AWS SDK's own credential and endpoint
//! chain aside). A bad value stops start-up with an error that names the variable.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::auth::NamedKey;
use crate::demo::EmulatorBuild;
use crate::models::{InferenceProfile, UnknownModels};
use crate::pricing::CurrencyConversion;

mod parse;
mod upstreams;
use parse::{
    err, parse_bedrock_mode, parse_bool, parse_cors_origins, parse_currency, parse_in_range,
    parse_keys, parse_ledger, parse_or, parse_origin_secret, parse_secs, read_keys_file, AwsSeen,
    KeyRole,
};
pub use upstreams::{FailoverConfig, UpstreamSpec};

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
    /// The built-in emulator, started in-process (local use without an AWS account); only in a
    /// build with the `emulator` feature.
    Emulator,
}

/// Which Bedrock API serves Claude models; other models always use Converse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaudeApi {
    /// InvokeModel / InvokeModelWithResponseStream: the Anthropic body, nearly as sent.
    Invoke,
    /// Converse / ConverseStream: translated, as for every other model.
    Converse,
}

impl std::str::FromStr for ClaudeApi {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "invoke" => Ok(Self::Invoke),
            "converse" => Ok(Self::Converse),
            other => Err(format!("`{other}` is not one of invoke, converse")),
        }
    }
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
    /// The address `HOST` asked for, when `auto` fell back to the emulator and the listener was
    /// kept on loopback instead (`CHATRIX_BEDROCK=emulator` serves the demo on any address).
    pub demo_kept_local: Option<IpAddr>,
    /// Accepted keys from `CHATRIX_API_KEYS`, then those of `CHATRIX_KEYS_FILE` (with limits).
    pub api_keys: Vec<NamedKey>,
    /// Where budgets and rates are counted (`CHATRIX_LEDGER_TABLE`, `CHATRIX_LEDGER_ON_ERROR`).
    pub ledger: LedgerConfig,
    pub models_file: Option<PathBuf>,
    pub inference_profile: InferenceProfile,
    /// `claude-*` names the catalog lacks: served by the naming rule, or refused.
    pub unknown_models: UnknownModels,
    /// How often the account's inference profiles are listed again; zero turns discovery off.
    pub discovery_interval: Duration,
    pub log_format: LogFormat,
    pub strip_billing_header: bool,
    /// Which Bedrock API serves Claude models (`CHATRIX_CLAUDE_API`).
    pub claude_api: ClaudeApi,
    pub currency: Option<CurrencyConversion>,
    pub max_body_bytes: usize,
    /// `CHATRIX_MAX_OUTPUT_TOKENS`: the most `max_tokens` a request may ask for (lowered, not
    /// refused); `None` leaves it to the model.
    pub max_output_tokens: Option<u32>,
    pub fetch_timeout: Duration,
    pub fetch_max_bytes: usize,
    /// Upstream silence after which a stream gets an `event: ping` (CloudFront cuts idle origins).
    pub ping_interval: Duration,
    /// Secrets Manager as the key store, and how validation results are cached.
    pub key_store: KeyStoreConfig,
    /// Browser origins allowed to call the API.
    pub cors_origins: CorsOrigins,
    /// How long a client may take to send a request head; also closes idle keep-alive connections.
    pub header_timeout: Duration,
    /// How long a client may take to send a request body.
    pub body_timeout: Duration,
    /// Open connections at most.
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
    /// The value CloudFront puts in `x-chatrix-origin-secret`; when set, requests without it
    /// (other than `/health`) are refused.
    pub origin_secret: Option<SecretString>,
    /// The upstream pool: `CHATRIX_UPSTREAMS` and how failover uses it (docs/failover.md).
    pub failover: FailoverConfig,
}

/// `CHATRIX_API_KEY_SECRET_ID` and the validation cache around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStoreConfig {
    /// Secret name or ARN; `None` keeps only `CHATRIX_API_KEYS`.
    pub secret_id: Option<String>,
    /// How long a loaded key set, and a key found in it, stay trusted.
    pub ttl: Duration,
    /// How long an unknown key stays rejected without another look (and the least time between
    /// two reloads prompted by unknown keys).
    pub negative_ttl: Duration,
    /// Most validation results kept, so random keys cannot grow memory.
    pub capacity: u64,
}

impl Default for KeyStoreConfig {
    fn default() -> Self {
        Self {
            secret_id: None,
            ttl: Duration::from_secs(300),
            negative_ttl: Duration::from_secs(10),
            capacity: 10_000,
        }
    }
}

/// The spend ledger's table and what happens when it cannot be reached.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LedgerConfig {
    /// DynamoDB table name; `None` counts in this process only.
    pub table: Option<String>,
    pub on_error: LedgerOnError,
}

/// `CHATRIX_LEDGER_ON_ERROR`: what a request of a key with limits gets when the ledger fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LedgerOnError {
    /// Served; an ERROR line counts the cost that went unrecorded.
    #[default]
    Open,
    /// Refused with a 503.
    Closed,
}

/// Which browser origins may call the API (`CHATRIX_CORS_ORIGINS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// No CORS headers: browsers refuse cross-origin calls.
    None,
    /// `*`: any origin (keys still required).
    Any,
    List(Vec<String>),
}

/// The lowest output cap: a thinking budget is at least 1,024 tokens and must stay below
/// `max_tokens`, with room left for an answer.
pub const MIN_OUTPUT_CAP: u32 = 2048;

/// CloudFront's origin read timeout is 30 s by default; a ping every 15 s at most stays well inside.
pub const MAX_PING_INTERVAL_SECS: u64 = 15;

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
        let aws_configured = aws_files_present || AWS_HINTS.iter().any(|k| get(k).is_some());
        let aws = if aws_configured {
            AwsSeen::Yes
        } else {
            AwsSeen::No
        };
        let bedrock_mode = parse_bedrock_mode(
            get("CHATRIX_BEDROCK").unwrap_or("auto"),
            aws,
            EmulatorBuild::THIS,
        )?;
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
        let asked_host = parse_or("HOST", get("HOST"), IpAddr::from([0, 0, 0, 0]))?;
        // A host with credentials but none of the hints (an EC2 instance role, say) lands in
        // demo mode; its canned answers must not be served to the network unless asked for.
        let auto_demo = bedrock_mode == BedrockMode::Emulator
            && get("CHATRIX_BEDROCK").unwrap_or("auto") == "auto";
        let demo_kept_local = (auto_demo && !asked_host.is_loopback()).then_some(asked_host);
        Ok(Self {
            host: match demo_kept_local {
                Some(_) => IpAddr::from([127, 0, 0, 1]),
                None => asked_host,
            },
            demo_kept_local,
            port: parse_or("PORT", get("PORT"), DEFAULT_PORT)?,
            bedrock_mode,
            api_keys: {
                let mut keys = match get("CHATRIX_API_KEYS") {
                    Some(list) => parse_keys("CHATRIX_API_KEYS", list, KeyRole::Api)?,
                    None => Vec::new(),
                };
                if let Some(list) = get("CHATRIX_ADMIN_KEYS") {
                    keys.extend(parse_keys("CHATRIX_ADMIN_KEYS", list, KeyRole::Admin)?);
                }
                keys.extend(read_keys_file(get("CHATRIX_KEYS_FILE"))?);
                crate::auth::check_roles_distinct(&keys)
                    .map_err(|m| err("CHATRIX_ADMIN_KEYS", m))?;
                keys
            },
            ledger: parse_ledger(&get)?,
            models_file: get("CHATRIX_MODELS_FILE").map(PathBuf::from),
            inference_profile: match get("CHATRIX_INFERENCE_PROFILE") {
                Some(v) => v.parse().map_err(|m| err("CHATRIX_INFERENCE_PROFILE", m))?,
                None => InferenceProfile::Global,
            },
            unknown_models: match get("CHATRIX_UNKNOWN_MODELS") {
                Some(v) => v.parse().map_err(|m| err("CHATRIX_UNKNOWN_MODELS", m))?,
                None => UnknownModels::Derive,
            },
            discovery_interval: parse_secs(
                "CHATRIX_DISCOVERY_INTERVAL_SECS",
                get("CHATRIX_DISCOVERY_INTERVAL_SECS"),
                3600,
                0..=86_400,
            )?,
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
            claude_api: match get("CHATRIX_CLAUDE_API") {
                Some(v) => v.parse().map_err(|m| err("CHATRIX_CLAUDE_API", m))?,
                None => ClaudeApi::Invoke,
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
            max_output_tokens: get("CHATRIX_MAX_OUTPUT_TOKENS")
                .map(|v| {
                    let range = MIN_OUTPUT_CAP..=u32::MAX;
                    parse_in_range("CHATRIX_MAX_OUTPUT_TOKENS", Some(v), 0, range, " tokens")
                })
                .transpose()?,
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
            ping_interval: parse_secs(
                "CHATRIX_PING_INTERVAL_SECS",
                get("CHATRIX_PING_INTERVAL_SECS"),
                10,
                1..=MAX_PING_INTERVAL_SECS,
            )?,
            key_store: parse_key_store(&get)?,
            cors_origins: parse_cors_origins(get("CHATRIX_CORS_ORIGINS"))?,
            header_timeout: parse_secs(
                "CHATRIX_HEADER_TIMEOUT_SECS",
                get("CHATRIX_HEADER_TIMEOUT_SECS"),
                30,
                1..=3600,
            )?,
            origin_secret: parse_origin_secret(get("CHATRIX_ORIGIN_SECRET"))?,
            failover: upstreams::parse_failover(&get)?,
            max_connections: parse_in_range(
                "CHATRIX_MAX_CONNECTIONS",
                get("CHATRIX_MAX_CONNECTIONS"),
                4096,
                1..=1_000_000,
                "",
            )?,
            shutdown_grace: parse_secs(
                "CHATRIX_SHUTDOWN_GRACE_SECS",
                get("CHATRIX_SHUTDOWN_GRACE_SECS"),
                60,
                0..=900,
            )?,
            body_timeout: parse_secs(
                "CHATRIX_BODY_TIMEOUT_SECS",
                get("CHATRIX_BODY_TIMEOUT_SECS"),
                120,
                1..=3600,
            )?,
        })
    }
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

#[cfg(test)]
mod tests;
