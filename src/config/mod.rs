//! Every setting, read once from the environment at start-up.
//!
//! Nothing else in the crate reads environment variables (the AWS SDK's own credential and endpoint
//! chain aside). A bad value stops start-up with an error that names the variable.
//!
//! Layout: this file holds the settings' types; `env` assembles them from the variables,
//! `parse` parses single variables, `upstreams` the upstream pool.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::auth::NamedKey;
use crate::models::{InferenceProfile, UnknownModels};
use crate::pricing::CurrencyConversion;

mod env;
mod parse;
mod upstreams;
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

#[cfg(test)]
mod tests;
