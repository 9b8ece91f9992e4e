//! The runtime route's path: `/model/{modelId}/{operation}`. The model id may hold `/` (an ARN,
//! sent with `%2F` by the AWS SDKs and raw by some clients) and `:` (raw or `%3A`), so the route
//! captures the whole decoded rest and this splits it at the last `/`. Pure.

/// A Bedrock runtime operation served in pass-through mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `POST /model/{id}/invoke` (InvokeModel).
    Invoke,
    /// `POST /model/{id}/invoke-with-response-stream` (InvokeModelWithResponseStream).
    InvokeStream,
    /// `POST /model/{id}/count-tokens` (CountTokens).
    CountTokens,
}

impl Operation {
    /// The operation's name in AWS's API, for logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Invoke => "InvokeModel",
            Self::InvokeStream => "InvokeModelWithResponseStream",
            Self::CountTokens => "CountTokens",
        }
    }
}

/// `(model id, operation)` of the decoded text after `/model/`; `None` for an operation this
/// gateway does not serve or an empty model id.
pub fn split(rest: &str) -> Option<(&str, Operation)> {
    let (model, op) = rest.rsplit_once('/')?;
    let op = match op {
        "invoke" => Operation::Invoke,
        "invoke-with-response-stream" => Operation::InvokeStream,
        "count-tokens" => Operation::CountTokens,
        _ => return None,
    };
    let model = model.trim();
    (!model.is_empty()).then_some((model, op))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operation_is_the_last_segment_and_the_model_may_hold_slashes() {
        let arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";
        for (rest, want) in [
            (
                "us.anthropic.claude-opus-5-5/invoke".to_owned(),
                Some(("us.anthropic.claude-opus-5-5", Operation::Invoke)),
            ),
            (
                "anthropic.claude-opus-4-5-20251101-v1:0/invoke-with-response-stream".to_owned(),
                Some((
                    "anthropic.claude-opus-4-5-20251101-v1:0",
                    Operation::InvokeStream,
                )),
            ),
            (
                format!("{arn}/count-tokens"),
                Some((arn, Operation::CountTokens)),
            ),
            ("x/converse".to_owned(), None),
            ("/invoke".to_owned(), None),
            ("invoke".to_owned(), None),
        ] {
            assert_eq!(split(&rest), want, "{rest}");
        }
    }
}
