//! What the emulator remembers of the requests it served, for `GET /_emulator/requests` and the
//! tests that assert on them: operation, model id, body (and InvokeModel's exact bytes), headers
//! without credentials, and which access key signed the call. Bounded to [`RECORDED_REQUESTS`].

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{mantle, Emulator};

/// How many requests `GET /_emulator/requests` remembers (the oldest are forgotten first).
pub const RECORDED_REQUESTS: usize = 256;

/// The Bedrock operation a request called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Converse,
    ConverseStream,
    CountTokens,
    InvokeModel,
    InvokeModelWithResponseStream,
    MantleCountTokens,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Self::Converse => "Converse",
            Self::ConverseStream => "ConverseStream",
            Self::CountTokens => "CountTokens",
            Self::InvokeModel => "InvokeModel",
            Self::InvokeModelWithResponseStream => "InvokeModelWithResponseStream",
            Self::MantleCountTokens => "MantleCountTokens",
        }
    }
}

/// One request the emulator received, as tests assert on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// `Converse`, `ConverseStream`, `CountTokens`, `InvokeModel`,
    /// `InvokeModelWithResponseStream` or `MantleCountTokens`.
    pub operation: String,
    /// Percent-decoded `modelId` (mantle: the body's `model`).
    pub model_id: String,
    /// The JSON body (a string holding the raw body when it was not JSON).
    pub body: Value,
    /// Request headers, lower-case names, without `authorization` and `x-amz-security-token`.
    pub headers: BTreeMap<String, String>,
    /// InvokeModel operations: the body exactly as received (UTF-8, lossily decoded), so tests
    /// can prove a client's bytes were forwarded unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_body: Option<String>,
    /// The access key id of the SigV4 `Authorization` header (`Credential=<id>/…`), so tests can
    /// tell whose credentials signed the call (an assumed role's `ASIA…` key, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
}

impl Emulator {
    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.iter().cloned().collect()
    }

    pub(crate) fn record(
        &self,
        operation: Operation,
        model_id: &str,
        body: Value,
        headers: &HeaderMap,
    ) {
        self.push_record(operation, model_id, body, None, headers);
    }

    /// [`Self::record`] keeping the raw body too (the InvokeModel operations).
    pub(crate) fn record_raw(
        &self,
        operation: Operation,
        model_id: &str,
        body: Value,
        raw_body: String,
        headers: &HeaderMap,
    ) {
        self.push_record(operation, model_id, body, Some(raw_body), headers);
    }

    fn push_record(
        &self,
        operation: Operation,
        model_id: &str,
        body: Value,
        raw_body: Option<String>,
        headers: &HeaderMap,
    ) {
        let access_key_id = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(mantle::signing_key_id)
            .map(str::to_owned);
        let headers = headers
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "authorization" | "x-amz-security-token"))
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect();
        let mut state = self.state();
        if state.requests.len() == RECORDED_REQUESTS {
            state.requests.pop_front();
        }
        state.requests.push_back(RecordedRequest {
            operation: operation.name().to_owned(),
            model_id: model_id.to_owned(),
            body,
            headers,
            raw_body,
            access_key_id,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_most_recent_requests_are_remembered() -> anyhow::Result<()> {
        let emulator = Emulator::new()?;
        for i in 0..RECORDED_REQUESTS + 5 {
            let body = json!({ "n": i });
            emulator.record(Operation::Converse, "m", body, &HeaderMap::new());
        }
        let requests = emulator.requests();
        assert_eq!(requests.len(), RECORDED_REQUESTS);
        assert_eq!(requests[0].body, json!({ "n": 5 }));
        assert_eq!(
            requests[RECORDED_REQUESTS - 1].body,
            json!({ "n": RECORDED_REQUESTS + 4 })
        );
        Ok(())
    }
}
