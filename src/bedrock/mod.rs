//! The only module that talks to Bedrock.
//!
//! Requests are built by [`crate::convert`] as JSON (so tool schemas keep their key order, which
//! prompt-cache prefixes depend on; the SDK's `Document` is a `HashMap` and would shuffle them), and
//! sent through the real `aws-sdk-bedrockruntime` client: the JSON replaces the serialized body
//! before signing (one client-level interceptor, [`OurBody`]; a per-call `customize()` would
//! rebuild the client's runtime components on every request), and everything else — endpoint
//! resolution, SigV4 or bearer auth, retries, response and event-stream parsing, error decoding —
//! is the SDK's. Every SDK failure becomes an [`ApiError`] here and nowhere else. The one call the
//! SDK has no operation for, bedrock-mantle's `count_tokens`, is in [`mantle`].
//!
//! `profiles` holds the one control-plane call (`ListInferenceProfiles`, `aws-sdk-bedrock`).

mod profiles;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_bedrockruntime::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_bedrockruntime::config::{
    ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::converse::{ConverseError, ConverseOutput};
use aws_sdk_bedrockruntime::operation::converse_stream::ConverseStreamError;
use aws_sdk_bedrockruntime::operation::count_tokens::CountTokensError;
use aws_sdk_bedrockruntime::primitives::event_stream::EventReceiver;
use aws_sdk_bedrockruntime::types::error::ConverseStreamOutputError;
use aws_sdk_bedrockruntime::types::ConverseStreamOutput;
use aws_sdk_bedrockruntime::Client;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::event_stream::RawMessage;
use bytes::Bytes;

use crate::error::ApiError;

mod breaker;
mod errors;
mod failover;
mod failure;
mod invoke;
pub mod mantle;
pub mod passthrough;
mod pool;

pub use errors::{map_sdk_error, map_service_error};
pub use failover::{Served, Target};
use failure::classify;
pub use failure::{transient_code, CallError, Transient};
pub use invoke::{Invoked, UpstreamChunks};
pub use pool::{Counters, Pool, Sticky, Upstream};

/// How long one Bedrock call may take: Lambda's ceiling (a non-streaming answer arrives whole at
/// the end). On Lambda a request gets less when its invocation ends sooner ([`crate::lambda`]).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(900);

#[derive(Clone, Debug)]
pub struct Bedrock {
    client: Client,
    /// bedrock-mantle's `count_tokens`, signed with the same configuration's credentials.
    mantle: mantle::Mantle,
    /// The control plane, built from the same AWS configuration.
    control: aws_sdk_bedrock::Client,
}

/// Settings shared by the AWS and emulator clients.
fn tune(builder: aws_config::ConfigLoader) -> aws_config::ConfigLoader {
    builder
        // Off: it would end a non-streaming answer whose body pauses for 20 s (aws-smithy-runtime
        // 1.16 installs it on InvokeModel, Converse and CountTokens, not on the streaming
        // operations); silent streams are capped by `routes::stream` instead.
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        // No SDK retries: the clients (Claude Code, the Anthropic SDKs) retry 429/5xx and connection
        // errors themselves, honouring retry-after; ours would multiply theirs and hide throttling.
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_timeout(CALL_TIMEOUT)
                .build(),
        )
}

tokio::task_local! {
    /// The JSON body of the call being sent from this task, set around `send()` by [`with_body`].
    static OUTGOING_BODY: Bytes;
}

/// Sends `call` with `body` as its HTTP body (see [`OurBody`]). The call comes boxed from where
/// it is made: the SDK's operation future is ~24 KB, and a future held by value is part of every
/// future that awaits it, so it was copied at each level up to the handler's (about 64 KB of
/// copying per small request, `bench/instructions.py`).
async fn with_body<F: std::future::Future>(body: Bytes, call: std::pin::Pin<Box<F>>) -> F::Output {
    OUTGOING_BODY.scope(body, call).await
}

/// Swaps the SDK-serialized body for ours before signing, so the signature covers our bytes. The
/// body comes from the task-local [`OUTGOING_BODY`]: the SDK runs its interceptors inside the
/// `send()` future, on the caller's task.
#[derive(Debug)]
struct OurBody;

impl Intercept for OurBody {
    fn name(&self) -> &'static str {
        "chatrix::OurBody"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = OUTGOING_BODY
            .try_with(Bytes::clone)
            .map_err(|_| "Bedrock call sent without a body (bug: not inside with_body)")?;
        let request = context.request_mut();
        let len = body.len().to_string();
        *request.body_mut() = SdkBody::from(body);
        request.headers_mut().insert("content-length", len);
        request
            .headers_mut()
            .insert("content-type", "application/json");
        Ok(())
    }
}

/// The clients for a loaded AWS configuration, with [`OurBody`] installed on the runtime one.
fn clients(sdk: &aws_config::SdkConfig, mantle: mantle::Mantle) -> Bedrock {
    let config = aws_sdk_bedrockruntime::config::Builder::from(sdk)
        .interceptor(OurBody)
        .build();
    Bedrock {
        client: Client::from_conf(config),
        control: profiles::control_client(sdk),
        mantle,
    }
}

impl Bedrock {
    /// A client from the standard AWS chain (`AWS_REGION`, credentials, profiles,
    /// `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, `AWS_ENDPOINT_URL_BEDROCK_MANTLE`, and
    /// `AWS_ENDPOINT_URL_BEDROCK` for the control plane).
    pub async fn from_env() -> Self {
        let sdk = tune(aws_config::defaults(BehaviorVersion::latest()))
            .load()
            .await;
        clients(&sdk, mantle::Mantle::from_sdk(&sdk))
    }

    /// A client for the built-in emulator: fixed endpoint (bedrock-runtime and bedrock-mantle
    /// routes alike), dummy credentials.
    pub async fn for_endpoint(endpoint: &str) -> Self {
        let sdk = tune(aws_config::defaults(BehaviorVersion::latest()))
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(
                "EMULATOR",
                "EMULATOR",
                None,
                None,
                "chatrix-emulator",
            ))
            .endpoint_url(endpoint)
            .load()
            .await;
        clients(&sdk, mantle::Mantle::for_endpoint(&sdk, endpoint))
    }

    /// Converse with a body built by [`crate::convert::request`].
    ///
    /// # Errors
    /// Any Bedrock or transport failure, mapped for the client and classified for failover.
    pub async fn converse(&self, model_id: &str, body: Bytes) -> Result<ConverseOutput, CallError> {
        let call = Box::pin(self.client.converse().model_id(model_id).send());
        with_body(body, call)
            .await
            .map_err(|e| classify(e, |e| map_sdk_error(e, converse_original_status)))
    }

    /// ConverseStream with a body built by [`crate::convert::request`]. Errors here come before any
    /// event; errors inside the stream come from [`UpstreamEvents::recv`].
    ///
    /// # Errors
    /// Any Bedrock or transport failure before the stream starts.
    pub async fn converse_stream(
        &self,
        model_id: &str,
        body: Bytes,
    ) -> Result<UpstreamEvents, CallError> {
        let call = Box::pin(self.client.converse_stream().model_id(model_id).send());
        let out = with_body(body, call)
            .await
            .map_err(|e| classify(e, |e| map_sdk_error(e, converse_stream_original_status)))?;
        Ok(UpstreamEvents { inner: out.stream })
    }

    /// The AWS Region the runtime client calls (`us-east-1`), when configured.
    pub fn region(&self) -> Option<&str> {
        self.client.config().region().map(|r| r.as_ref())
    }

    /// bedrock-mantle's client, for the Anthropic `count_tokens` that runtime CountTokens lacks.
    pub fn mantle(&self) -> &mantle::Mantle {
        &self.mantle
    }

    /// CountTokens with a `{"input":{"converse":…}}` or `{"input":{"invokeModel":…}}` body.
    ///
    /// # Errors
    /// Any Bedrock or transport failure, mapped for the client.
    pub async fn count_tokens(&self, model_id: &str, body: Bytes) -> Result<i32, ApiError> {
        let call = Box::pin(self.client.count_tokens().model_id(model_id).send());
        with_body(body, call)
            .await
            .map(|out| out.input_tokens())
            .map_err(|e| map_sdk_error(e, |_: &CountTokensError| None))
    }
}

/// The events of one ConverseStream call. Dropping it closes the connection, which cancels the
/// generation upstream.
#[derive(Debug)]
pub struct UpstreamEvents {
    inner: EventReceiver<ConverseStreamOutput, ConverseStreamOutputError>,
}

impl UpstreamEvents {
    /// The next event; `Ok(None)` at a clean end of stream. A truncated or corrupt frame is an
    /// error, never a clean end.
    ///
    /// # Errors
    /// In-stream exceptions and transport failures, mapped for the client.
    pub async fn recv(&mut self) -> Result<Option<ConverseStreamOutput>, ApiError> {
        self.inner
            .recv()
            .await
            .map_err(|e| map_stream_error(e, classify_converse_stream, map_service_error))
    }
}

/// In-stream exceptions carry no error code in their metadata, so `classify` names them by variant
/// (with the model's own status where the exception carries one), and `service` maps them as the
/// path maps HTTP errors. Anything else mid-stream (a reset, a truncated or corrupt frame) means
/// Bedrock was reached and its answer broke off.
fn map_stream_error<E>(
    err: SdkError<E, RawMessage>,
    classify: fn(&E) -> (&str, Option<i32>),
    service: fn(Option<&str>, Option<&str>, Option<i32>) -> ApiError,
) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let SdkError::ServiceError(ctx) = &err else {
        if matches!(err, SdkError::TimeoutError(_)) {
            return map_sdk_error(err, |_: &E| None);
        }
        // The kind of failure only: the error may carry the raw frame, i.e. model output.
        tracing::warn!(failure = sdk_error_kind(&err), "Bedrock stream broke off");
        return ApiError::Upstream(
            "the Bedrock stream broke off (connection reset, or a truncated or corrupt frame)"
                .into(),
        );
    };
    let e = ctx.err();
    let (code, original) = classify(e);
    service(Some(code), e.message(), original)
}

fn classify_converse_stream(e: &ConverseStreamOutputError) -> (&str, Option<i32>) {
    match e {
        ConverseStreamOutputError::ThrottlingException(_) => ("ThrottlingException", None),
        ConverseStreamOutputError::ServiceUnavailableException(_) => {
            ("ServiceUnavailableException", None)
        }
        ConverseStreamOutputError::InternalServerException(_) => ("InternalServerException", None),
        ConverseStreamOutputError::ValidationException(_) => ("ValidationException", None),
        ConverseStreamOutputError::ModelStreamErrorException(m) => {
            ("ModelStreamErrorException", m.original_status_code())
        }
        other => (other.code().unwrap_or_default(), None),
    }
}

fn sdk_error_kind<E, R>(err: &SdkError<E, R>) -> &'static str {
    match err {
        SdkError::ConstructionFailure(_) => "construction",
        SdkError::TimeoutError(_) => "timeout",
        SdkError::DispatchFailure(_) => "dispatch",
        SdkError::ResponseError(_) => "unreadable response",
        SdkError::ServiceError(_) => "service",
        _ => "other",
    }
}

fn converse_stream_original_status(e: &ConverseStreamError) -> Option<i32> {
    match e {
        ConverseStreamError::ModelErrorException(m) => m.original_status_code(),
        _ => None,
    }
}

fn converse_original_status(e: &ConverseError) -> Option<i32> {
    match e {
        ConverseError::ModelErrorException(m) => m.original_status_code(),
        _ => None,
    }
}
