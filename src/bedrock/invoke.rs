//! InvokeModel and InvokeModelWithResponseStream: Claude's native Anthropic path.
//!
//! The body is ours (built by [`crate::native::request`]) and replaces the SDK's before signing,
//! as for Converse ([`super::OurBody`]); the SDK still sends `Content-Type: application/json`
//! because it is set here (its default for this operation is `application/octet-stream`, which
//! Bedrock refuses), and `Accept` / `X-Amzn-Bedrock-Accept` ask for JSON. Errors keep Bedrock's
//! wording ([`crate::native::errors`]).

use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::invoke_model::InvokeModelError;
use aws_sdk_bedrockruntime::operation::invoke_model_with_response_stream::InvokeModelWithResponseStreamError;
use aws_sdk_bedrockruntime::operation::RequestId;
use aws_sdk_bedrockruntime::primitives::event_stream::EventReceiver;
use aws_sdk_bedrockruntime::types::error::ResponseStreamError;
use aws_sdk_bedrockruntime::types::ResponseStream;
use aws_smithy_types::Blob;
use bytes::Bytes;

use super::{classify, map_sdk_error, map_stream_error, with_body, Bedrock, CallError};
use crate::error::ApiError;
use crate::native::errors::from_bedrock;

const JSON: &str = "application/json";

impl Bedrock {
    /// InvokeModel with an Anthropic body; the answer is Bedrock's Message JSON, as bytes.
    ///
    /// # Errors
    /// Any Bedrock or transport failure, Bedrock's wording kept.
    pub async fn invoke(&self, model_id: &str, body: Bytes) -> Result<Invoked, CallError> {
        let call = Box::pin(
            self.client
                .invoke_model()
                .model_id(model_id)
                .content_type(JSON)
                .accept(JSON)
                .body(Blob::new(Vec::new()))
                .send(),
        );
        with_body(body, call)
            .await
            .map(|out| Invoked {
                request_id: out.request_id().map(str::to_owned),
                body: out.body.into_inner(),
            })
            .map_err(|e| classify(e, |e| map_invoke_error(e, invoke_original_status)))
    }

    /// InvokeModelWithResponseStream. Errors here come before any chunk; errors inside the stream
    /// come from [`UpstreamChunks::recv`].
    ///
    /// # Errors
    /// Any Bedrock or transport failure before the stream starts.
    pub async fn invoke_stream(
        &self,
        model_id: &str,
        body: Bytes,
    ) -> Result<UpstreamChunks, CallError> {
        let call = Box::pin(
            self.client
                .invoke_model_with_response_stream()
                .model_id(model_id)
                .content_type(JSON)
                .accept(JSON)
                .body(Blob::new(Vec::new()))
                .send(),
        );
        let out = with_body(body, call)
            .await
            .map_err(|e| classify(e, |e| map_invoke_error(e, stream_original_status)))?;
        Ok(UpstreamChunks {
            request_id: out.request_id().map(str::to_owned),
            inner: out.body,
        })
    }
}

/// InvokeModel's answer: Bedrock's Message JSON and its request id.
#[derive(Debug)]
pub struct Invoked {
    pub body: Vec<u8>,
    /// `x-amzn-requestid`: what AWS support asks for.
    pub request_id: Option<String>,
}

/// The chunks of one InvokeModelWithResponseStream call, each one Anthropic event as JSON.
/// Dropping it closes the connection, which cancels the generation upstream.
#[derive(Debug)]
pub struct UpstreamChunks {
    /// `x-amzn-requestid` of the call.
    pub request_id: Option<String>,
    inner: EventReceiver<ResponseStream, ResponseStreamError>,
}

impl UpstreamChunks {
    /// The next chunk's bytes; `Ok(None)` at a clean end. Event types this SDK does not know are
    /// skipped (Bedrock may add some); a truncated or corrupt frame is an error.
    ///
    /// # Errors
    /// In-stream exceptions and transport failures, mapped for the client.
    pub async fn recv(&mut self) -> Result<Option<Bytes>, ApiError> {
        loop {
            let next = self.inner.recv().await;
            match next.map_err(|e| map_stream_error(e, classify_invoke_stream, from_bedrock))? {
                None => return Ok(None),
                Some(ResponseStream::Chunk(part)) => {
                    let bytes = part.bytes.map(Blob::into_inner).unwrap_or_default();
                    return Ok(Some(Bytes::from(bytes)));
                }
                Some(_) => tracing::debug!("skipped an unknown InvokeModel stream event"),
            }
        }
    }
}

fn map_invoke_error<E, R>(err: SdkError<E, R>, original: impl Fn(&E) -> Option<i32>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            from_bedrock(e.code(), e.message(), original(e))
        }
        _ => map_sdk_error(err, |_: &E| None),
    }
}

fn invoke_original_status(e: &InvokeModelError) -> Option<i32> {
    match e {
        InvokeModelError::ModelErrorException(m) => m.original_status_code(),
        _ => None,
    }
}

fn stream_original_status(e: &InvokeModelWithResponseStreamError) -> Option<i32> {
    match e {
        InvokeModelWithResponseStreamError::ModelErrorException(m) => m.original_status_code(),
        InvokeModelWithResponseStreamError::ModelStreamErrorException(m) => {
            m.original_status_code()
        }
        _ => None,
    }
}

pub(super) fn classify_invoke_stream(e: &ResponseStreamError) -> (&str, Option<i32>) {
    match e {
        ResponseStreamError::ThrottlingException(_) => ("ThrottlingException", None),
        ResponseStreamError::ServiceUnavailableException(_) => {
            ("ServiceUnavailableException", None)
        }
        ResponseStreamError::InternalServerException(_) => ("InternalServerException", None),
        ResponseStreamError::ValidationException(_) => ("ValidationException", None),
        ResponseStreamError::ModelTimeoutException(_) => ("ModelTimeoutException", None),
        ResponseStreamError::ModelStreamErrorException(m) => {
            ("ModelStreamErrorException", m.original_status_code())
        }
        other => (other.code().unwrap_or_default(), None),
    }
}
