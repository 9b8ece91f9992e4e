//! bedrock-mantle's Anthropic `count_tokens`: `POST {endpoint}/anthropic/v1/messages/count_tokens`,
//! the one bedrock-mantle call the gateway makes. It counts Claude models that bedrock-runtime
//! CountTokens refuses (AWS's count-tokens guide sends cross-Region-only Claude models here).
//!
//! The Rust SDK has no operation for it, so the request is signed here with `aws-sigv4` (service
//! `bedrock-mantle`) with the region and credentials provider of the same `SdkConfig` the Bedrock
//! client is built from, and sent with `reqwest`. The endpoint is the AWS-standard per-service
//! override `AWS_ENDPOINT_URL_BEDROCK_MANTLE` (or a `services` section of the AWS config file, or
//! `AWS_ENDPOINT_URL`), looked up through aws-config's own service-config chain, else
//! `https://bedrock-mantle.{region}.api.aws`.
//!
//! Must not: read credential environment variables itself, log or return key material, log
//! request or response bodies (they hold prompts).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_types::service_config::ServiceConfigKey;
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::error::ApiError;

/// The SigV4 signing name (and IAM prefix) of the endpoint.
pub const SERVICE: &str = "bedrock-mantle";
/// The Anthropic API path of the count, under the endpoint.
pub const COUNT_TOKENS_PATH: &str = "/anthropic/v1/messages/count_tokens";
/// The Messages API version bedrock-mantle requires in `anthropic-version`.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
/// Credentials this close to expiry are fetched again before signing.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);
/// Longer than a healthy count takes; the route answers an estimate after its own deadline.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A bedrock-mantle client; cheap to clone. Unconfigured (no region or credentials provider in
/// the AWS configuration) it makes no call and [`Mantle::is_configured`] says so.
#[derive(Clone, Debug)]
pub struct Mantle {
    inner: Option<Arc<Inner>>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    url: String,
    region: String,
    provider: SharedCredentialsProvider,
    /// The last credentials, reused until near their expiry: the provider chain may go to IMDS or
    /// the container endpoint, and the SDK's own identity cache is not reachable from here.
    cached: Mutex<Option<Credentials>>,
}

impl Mantle {
    /// From the loaded AWS configuration: its region, credentials provider and the
    /// `bedrock-mantle` endpoint override, if any.
    pub fn from_sdk(sdk: &SdkConfig) -> Self {
        let region = sdk.region().map(ToString::to_string);
        let endpoint = region.as_deref().map(|region| {
            configured_endpoint(sdk)
                .unwrap_or_else(|| format!("https://bedrock-mantle.{region}.api.aws"))
        });
        Self::new(sdk, endpoint)
    }

    /// At a fixed endpoint (the emulator), with the configuration's region and credentials.
    pub fn for_endpoint(sdk: &SdkConfig, endpoint: &str) -> Self {
        Self::new(sdk, Some(endpoint.to_owned()))
    }

    fn new(sdk: &SdkConfig, endpoint: Option<String>) -> Self {
        let parts = (
            endpoint,
            sdk.region().map(ToString::to_string),
            sdk.credentials_provider(),
        );
        let (Some(endpoint), Some(region), Some(provider)) = parts else {
            return Self { inner: None };
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(TIMEOUT)
            .build();
        let Ok(http) = http else {
            return Self { inner: None };
        };
        let url = format!("{}{COUNT_TOKENS_PATH}", endpoint.trim_end_matches('/'));
        Self {
            inner: Some(Arc::new(Inner {
                http,
                url,
                region,
                provider,
                cached: Mutex::new(None),
            })),
        }
    }

    /// Whether calls can be made at all (a region and a credentials provider are configured).
    pub fn is_configured(&self) -> bool {
        self.inner.is_some()
    }

    /// Counts an Anthropic count-tokens `body` (whose `model` is a bare `anthropic.claude-…` id),
    /// sent with `anthropic-beta: betas` when there are any.
    ///
    /// # Errors
    /// Refusals and transport failures, mapped like Bedrock's (see [`map_failure`]).
    pub async fn count_tokens(&self, body: Bytes, betas: &[String]) -> Result<u64, ApiError> {
        let inner = self
            .inner
            .as_ref()
            .ok_or_else(|| ApiError::Unavailable("bedrock-mantle is not configured".into()))?;
        let credentials = inner.credentials().await?;
        let mut headers = vec![
            ("content-type", "application/json".to_owned()),
            ("anthropic-version", ANTHROPIC_VERSION.to_owned()),
        ];
        if !betas.is_empty() {
            headers.push(("anthropic-beta", betas.join(",")));
        }
        let request = signed_request(
            &inner.url,
            &headers,
            body,
            &Signer {
                credentials: &credentials,
                region: &inner.region,
                time: SystemTime::now(),
            },
        )?;
        let request = reqwest::Request::try_from(request)
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("bedrock-mantle request")))?;
        let response = inner
            .http
            .execute(request)
            .await
            .map_err(|e| transport_failure(&e))?;
        let status = response.status().as_u16();
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response.bytes().await.map_err(|e| transport_failure(&e))?;
        let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            return json["input_tokens"].as_u64().ok_or_else(|| {
                ApiError::Upstream("bedrock-mantle answered without input_tokens".into())
            });
        }
        Err(map_failure(status, error_type.as_deref(), &json))
    }
}

impl Inner {
    async fn credentials(&self) -> Result<Credentials, ApiError> {
        let mut cached = self.cached.lock().await;
        let fresh = |c: &Credentials| {
            c.expiry().is_none_or(|at| {
                at.duration_since(SystemTime::now())
                    .is_ok_and(|left| left > REFRESH_BEFORE_EXPIRY)
            })
        };
        if let Some(c) = cached.as_ref().filter(|c| fresh(c)) {
            return Ok(c.clone());
        }
        // The provider's error may name files or endpoints; only its absence is reported.
        let c = self.provider.provide_credentials().await.map_err(|_| {
            ApiError::Upstream("no AWS credentials to sign the bedrock-mantle call".into())
        })?;
        *cached = Some(c.clone());
        Ok(c)
    }
}

/// `AWS_ENDPOINT_URL_BEDROCK_MANTLE` (or the config file's `services` entry for `bedrock-mantle`,
/// or the global `AWS_ENDPOINT_URL`), through the same chain the SDK clients use for theirs.
fn configured_endpoint(sdk: &SdkConfig) -> Option<String> {
    let key = ServiceConfigKey::builder()
        .service_id("Bedrock Mantle")
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .ok()?;
    sdk.service_config()
        .and_then(|config| config.load_config(key))
        .or_else(|| sdk.endpoint_url().map(str::to_owned))
}

/// What a request is signed with.
pub struct Signer<'a> {
    pub credentials: &'a Credentials,
    pub region: &'a str,
    pub time: SystemTime,
}

/// A `POST` to `url` with `headers` and `body`, SigV4-signed for [`SERVICE`].
///
/// # Errors
/// A URL or header that cannot be signed (a bug, never the caller's input).
pub fn signed_request(
    url: &str,
    headers: &[(&str, String)],
    body: Bytes,
    signer: &Signer<'_>,
) -> Result<http::Request<Bytes>, ApiError> {
    let identity: Identity = signer.credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(signer.region)
        .name(SERVICE)
        .time(signer.time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("bedrock-mantle signing parameters")))?
        .into();
    let unsigned = headers.iter().map(|(k, v)| (*k, v.as_str()));
    let signable = SignableRequest::new("POST", url, unsigned, SignableBody::Bytes(&body))
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("bedrock-mantle request to sign")))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("signing the bedrock-mantle request")))?
        .into_parts();
    let mut builder = http::Request::post(url);
    for (k, v) in headers {
        builder = builder.header(*k, v.as_str());
    }
    let mut request = builder
        .body(body)
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("bedrock-mantle request")))?;
    instructions.apply_to_request_http1x(&mut request);
    Ok(request)
}

/// Maps a failed answer. AWS's front end (authentication, IAM) names the failure in
/// `x-amzn-errortype` and is mapped like Bedrock's; the Anthropic API behind it answers
/// Anthropic error JSON, whose type is kept; anything else goes by status.
pub fn map_failure(status: u16, aws_error_type: Option<&str>, body: &Value) -> ApiError {
    let message = body
        .pointer("/error/message")
        .or_else(|| body.get("message"))
        .or_else(|| body.get("Message"))
        .and_then(Value::as_str)
        .unwrap_or("bedrock-mantle returned an error")
        .to_owned();
    if let Some(code) = aws_error_type {
        let code = code.split(':').next().unwrap_or(code);
        return super::map_service_error(Some(code), Some(&message), None);
    }
    let kind = body.pointer("/error/type").and_then(Value::as_str);
    match (kind, status) {
        (Some("invalid_request_error" | "request_too_large"), _) | (None, 400 | 413) => {
            ApiError::InvalidRequest(message)
        }
        (Some("permission_error"), _) | (None, 403) => ApiError::Permission(message),
        (Some("not_found_error"), _) | (None, 404) => ApiError::NotFound(message),
        (Some("rate_limit_error"), _) | (None, 429) => ApiError::RateLimited {
            message,
            retry_after: Some(1),
        },
        (Some("overloaded_error"), _) | (None, 503 | 529) => ApiError::Overloaded(message),
        (Some("timeout_error"), _) | (None, 504) => ApiError::Timeout(message),
        (Some("authentication_error"), _) | (None, 401) => ApiError::Upstream(format!(
            "bedrock-mantle rejected the gateway's AWS credentials: {message}"
        )),
        _ => ApiError::Upstream(message),
    }
}

fn transport_failure(e: &reqwest::Error) -> ApiError {
    if e.is_timeout() {
        ApiError::Timeout("bedrock-mantle did not answer in time".into())
    } else if e.is_connect() {
        ApiError::Unavailable("could not reach bedrock-mantle".into())
    } else {
        ApiError::Upstream("the bedrock-mantle answer could not be read".into())
    }
}

#[cfg(test)]
#[path = "mantle_tests.rs"]
mod tests;
