//! InvokeModel, InvokeModelWithResponseStream and CountTokens for the pass-through routes
//! (`routes::bedrock_passthrough`): the client's body as it came (swapped in before signing, as on
//! every path), the Bedrock request headers it sent that the SDK models (service tier, latency,
//! guardrail, trace), and failures kept in Bedrock's own terms ([`Fault`]: status, exception name,
//! message), because the client is an AWS SDK and reads them as such.

use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::primitives::event_stream::EventReceiver;
use aws_sdk_bedrockruntime::types::error::ResponseStreamError;
use aws_sdk_bedrockruntime::types::{
    PerformanceConfigLatency, ResponseStream, ServiceTierType, Trace,
};
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::Blob;
use bytes::Bytes;

use super::invoke::classify_invoke_stream;
use super::{map_sdk_error, map_stream_error, with_body, Bedrock};
use crate::native::errors::from_bedrock;
use crate::passthrough::Fault;

/// The Bedrock request headers a pass-through client may send, by value.
#[derive(Debug, Clone, Default)]
pub struct PassHeaders {
    /// `Accept` (InvokeModel) or `X-Amzn-Bedrock-Accept` (the stream).
    pub accept: Option<String>,
    pub service_tier: Option<String>,
    pub latency: Option<String>,
    pub guardrail_identifier: Option<String>,
    pub guardrail_version: Option<String>,
    pub trace: Option<String>,
}

/// What Bedrock echoes in response headers.
#[derive(Debug, Clone, Default)]
pub struct Echo {
    pub content_type: String,
    pub service_tier: Option<String>,
    pub latency: Option<String>,
}

/// An InvokeModel answer: Bedrock's body bytes, untouched.
#[derive(Debug)]
pub struct PassAnswer {
    pub body: Vec<u8>,
    pub echo: Echo,
}

/// An InvokeModelWithResponseStream answer whose chunks are still arriving.
#[derive(Debug)]
pub struct PassStream {
    pub chunks: PassChunks,
    pub echo: Echo,
}

/// The response headers to echo, from either invoke output (they share no trait).
macro_rules! echo_of {
    ($out:expr) => {
        Echo {
            content_type: $out.content_type().to_owned(),
            service_tier: $out.service_tier().map(|t| t.as_str().to_owned()),
            latency: $out
                .performance_config_latency()
                .map(|l| l.as_str().to_owned()),
        }
    };
}

/// Sets the modelled request headers on either invoke builder (they share no trait).
macro_rules! with_headers {
    ($builder:expr, $h:expr) => {{
        let h: &PassHeaders = $h;
        let mut b = $builder;
        if let Some(v) = &h.service_tier {
            b = b.service_tier(ServiceTierType::from(v.as_str()));
        }
        if let Some(v) = &h.latency {
            b = b.performance_config_latency(PerformanceConfigLatency::from(v.as_str()));
        }
        if let Some(v) = &h.guardrail_identifier {
            b = b.guardrail_identifier(v);
        }
        if let Some(v) = &h.guardrail_version {
            b = b.guardrail_version(v);
        }
        if let Some(v) = &h.trace {
            b = b.trace(Trace::from(v.as_str()));
        }
        b.accept(h.accept.as_deref().unwrap_or("application/json"))
    }};
}

impl Bedrock {
    /// InvokeModel with the client's body.
    ///
    /// # Errors
    /// Bedrock's exception as it sent it; transport failures named as Bedrock would name them.
    pub async fn pass_invoke(
        &self,
        model_id: &str,
        body: Bytes,
        headers: &PassHeaders,
    ) -> Result<PassAnswer, Fault> {
        let builder = self
            .client
            .invoke_model()
            .model_id(model_id)
            .content_type("application/json")
            .body(Blob::new(Vec::new()));
        let call = Box::pin(with_headers!(builder, headers).send());
        let out = with_body(body, call).await.map_err(fault)?;
        let echo = echo_of!(out);
        Ok(PassAnswer {
            body: out.body.into_inner(),
            echo,
        })
    }

    /// InvokeModelWithResponseStream with the client's body. Exceptions inside the stream come
    /// from [`PassChunks::recv`].
    ///
    /// # Errors
    /// As [`Bedrock::pass_invoke`], before any chunk.
    pub async fn pass_invoke_stream(
        &self,
        model_id: &str,
        body: Bytes,
        headers: &PassHeaders,
    ) -> Result<PassStream, Fault> {
        let builder = self
            .client
            .invoke_model_with_response_stream()
            .model_id(model_id)
            .content_type("application/json")
            .body(Blob::new(Vec::new()));
        let call = Box::pin(with_headers!(builder, headers).send());
        let out = with_body(body, call).await.map_err(fault)?;
        let echo = echo_of!(out);
        Ok(PassStream {
            chunks: PassChunks { inner: out.body },
            echo,
        })
    }

    /// CountTokens with the client's body (`{"input":{"invokeModel":{"body":…}}}` or
    /// `{"input":{"converse":…}}`).
    ///
    /// # Errors
    /// As [`Bedrock::pass_invoke`].
    pub async fn pass_count_tokens(&self, model_id: &str, body: Bytes) -> Result<i32, Fault> {
        let call = Box::pin(self.client.count_tokens().model_id(model_id).send());
        with_body(body, call)
            .await
            .map(|out| out.input_tokens())
            .map_err(fault)
    }
}

/// The chunks of one pass-through stream. Dropping it closes the connection to Bedrock, which
/// cancels the generation.
#[derive(Debug)]
pub struct PassChunks {
    inner: EventReceiver<ResponseStream, ResponseStreamError>,
}

impl PassChunks {
    /// The next chunk's bytes (one event of the model, as JSON); `Ok(None)` at a clean end.
    /// Event types this SDK does not know are skipped.
    ///
    /// # Errors
    /// An exception frame, by its name; a broken or corrupt stream as `InternalServerException`.
    pub async fn recv(&mut self) -> Result<Option<Bytes>, Fault> {
        loop {
            match self.inner.recv().await {
                Ok(None) => return Ok(None),
                Ok(Some(ResponseStream::Chunk(part))) => {
                    let bytes = part.bytes.map(Blob::into_inner).unwrap_or_default();
                    return Ok(Some(Bytes::from(bytes)));
                }
                Ok(Some(_)) => tracing::debug!("skipped an unknown InvokeModel stream event"),
                Err(SdkError::ServiceError(ctx)) => return Err(stream_fault(ctx.err())),
                Err(other) => {
                    let mapped = map_stream_error(other, classify_invoke_stream, from_bedrock);
                    return Err(Fault::from_api_error(&mapped));
                }
            }
        }
    }
}

fn stream_fault(e: &ResponseStreamError) -> Fault {
    let (code, original_status) = classify_invoke_stream(e);
    let mut fault = Fault::named(code, e.message().unwrap_or_default());
    fault.original_status_code = original_status;
    if let ResponseStreamError::ModelStreamErrorException(m) = e {
        fault.original_message = m.original_message().map(str::to_owned);
    }
    fault
}

/// An operation's failure: a service error with Bedrock's own status, name and message; anything
/// else (timeout, unreachable endpoint, unreadable answer) as the Anthropic path maps it, renamed.
fn fault<E>(err: SdkError<E, HttpResponse>) -> Fault
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let SdkError::ServiceError(ctx) = &err {
        let e = ctx.err();
        let mut fault = Fault::named(
            e.code().unwrap_or("InternalServerException"),
            e.message().unwrap_or_default(),
        );
        fault.status = ctx.raw().status().as_u16();
        return fault;
    }
    Fault::from_api_error(&map_sdk_error(err, |_: &E| None))
}
