//! The Converse / ConverseStream / CountTokens request bodies, as strict serde types.
//!
//! Every struct denies unknown members and every Smithy union is an externally tagged enum, so an
//! object with zero or two union keys, or a key the service model does not have, fails to parse
//! (Bedrock answers such bodies with a 400). Free-form `Document` members stay `serde_json::Value`.
//! Enum-like strings (`role`, `format`, `status`, …) stay `String` so [`super::validate`] can answer
//! with Bedrock's constraint wording instead of a serde message.

#![expect(
    dead_code,
    reason = "members exist so the strict parser accepts what Bedrock accepts; not all are read"
)]

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::error::BedrockError;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ConverseBody {
    #[serde(default)]
    pub(crate) messages: Vec<Message>,
    #[serde(default)]
    pub(crate) system: Vec<SystemBlock>,
    pub(crate) inference_config: Option<InferenceConfig>,
    pub(crate) tool_config: Option<ToolConfig>,
    pub(crate) guardrail_config: Option<GuardrailConfig>,
    pub(crate) additional_model_request_fields: Option<Value>,
    pub(crate) prompt_variables: Option<BTreeMap<String, PromptVariable>>,
    #[serde(default)]
    pub(crate) additional_model_response_field_paths: Vec<String>,
    pub(crate) request_metadata: Option<BTreeMap<String, String>>,
    pub(crate) performance_config: Option<PerformanceConfig>,
    pub(crate) service_tier: Option<ServiceTier>,
    pub(crate) output_config: Option<OutputConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Message {
    pub(crate) role: String,
    pub(crate) content: Vec<ContentBlock>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ContentBlock {
    Text(String),
    Image(ImageBlock),
    Document(DocumentBlock),
    Video(Value),
    Audio(Value),
    ToolUse(ToolUseBlock),
    ToolResult(ToolResultBlock),
    GuardContent(Value),
    CachePoint(CachePointBlock),
    ReasoningContent(ReasoningContent),
    CitationsContent(Value),
    SearchResult(Value),
    ToolAddition(Value),
    ToolRemoval(Value),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum SystemBlock {
    Text(String),
    GuardContent(Value),
    CachePoint(CachePointBlock),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImageBlock {
    pub(crate) format: String,
    pub(crate) source: ImageSource,
    pub(crate) error: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ImageSource {
    Bytes(String),
    S3Location(S3Location),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct S3Location {
    pub(crate) uri: String,
    pub(crate) bucket_owner: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DocumentBlock {
    pub(crate) format: Option<String>,
    pub(crate) name: String,
    pub(crate) source: DocumentSource,
    pub(crate) context: Option<String>,
    pub(crate) citations: Option<CitationsConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum DocumentSource {
    Bytes(String),
    S3Location(S3Location),
    Text(String),
    Content(Vec<DocumentContentBlock>),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum DocumentContentBlock {
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CitationsConfig {
    pub(crate) enabled: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ToolUseBlock {
    pub(crate) tool_use_id: String,
    pub(crate) name: String,
    pub(crate) input: Value,
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ToolResultBlock {
    pub(crate) tool_use_id: String,
    pub(crate) content: Vec<ToolResultContent>,
    pub(crate) status: Option<String>,
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ToolResultContent {
    Json(Value),
    Text(String),
    Image(ImageBlock),
    Document(DocumentBlock),
    Video(Value),
    SearchResult(Value),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CachePointBlock {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) ttl: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ReasoningContent {
    ReasoningText(ReasoningText),
    RedactedContent(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReasoningText {
    /// Optional here so a missing text gets Bedrock's own message, not a serde one.
    pub(crate) text: Option<String>,
    pub(crate) signature: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct InferenceConfig {
    pub(crate) max_tokens: Option<i64>,
    pub(crate) temperature: Option<f64>,
    pub(crate) top_p: Option<f64>,
    pub(crate) stop_sequences: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ToolConfig {
    pub(crate) tools: Vec<Tool>,
    pub(crate) tool_choice: Option<ToolChoice>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Tool {
    ToolSpec(ToolSpec),
    #[serde(rename = "systemTool")]
    System(NamedTool),
    CachePoint(CachePointBlock),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ToolSpec {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) input_schema: ToolInputSchema,
    pub(crate) strict: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ToolInputSchema {
    Json(Value),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NamedTool {
    pub(crate) name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ToolChoice {
    Auto(Empty),
    Any(Empty),
    Tool(NamedTool),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Empty {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct GuardrailConfig {
    pub(crate) guardrail_identifier: String,
    pub(crate) guardrail_version: String,
    pub(crate) trace: Option<String>,
    pub(crate) stream_processing_mode: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum PromptVariable {
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PerformanceConfig {
    pub(crate) latency: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServiceTier {
    #[serde(rename = "type")]
    pub(crate) kind: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct OutputConfig {
    pub(crate) text_format: Option<Value>,
    pub(crate) effort: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CountTokensRequest {
    pub(crate) input: CountTokensInput,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum CountTokensInput {
    Converse(ConverseTokensRequest),
    InvokeModel(InvokeModelTokensRequest),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ConverseTokensRequest {
    #[serde(default)]
    pub(crate) messages: Vec<Message>,
    #[serde(default)]
    pub(crate) system: Vec<SystemBlock>,
    pub(crate) tool_config: Option<ToolConfig>,
    pub(crate) additional_model_request_fields: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InvokeModelTokensRequest {
    pub(crate) body: String,
}

impl From<ConverseTokensRequest> for ConverseBody {
    fn from(r: ConverseTokensRequest) -> Self {
        Self {
            messages: r.messages,
            system: r.system,
            tool_config: r.tool_config,
            additional_model_request_fields: r.additional_model_request_fields,
            ..Self::default()
        }
    }
}

/// Parses a body, answering like Bedrock does for a body that does not fit the service model.
///
/// # Errors
/// A `ValidationException` naming the offending path.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(body: &Value) -> Result<T, BedrockError> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        BedrockError::validation(format!(
            "Malformed input request: {path}: {}, please reformat your input and try again.",
            e.inner()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unions_need_exactly_one_known_key() {
        let ok: Result<ConverseBody, _> =
            parse(&json!({"messages":[{"role":"user","content":[{"text":"hi"}]}]}));
        assert!(ok.is_ok());
        for bad in [
            json!({"messages":[{"role":"user","content":[{"text":"hi","image":{}}]}]}),
            json!({"messages":[{"role":"user","content":[{}]}]}),
            json!({"messages":[{"role":"user","content":[{"picture":"x"}]}]}),
            json!({"messages":[], "topK": 3}),
            json!({"messages":[], "toolConfig":{"tools":[], "toolChoice":{"auto":{"x":1}}}}),
        ] {
            let err = parse::<ConverseBody>(&bad).expect_err("must fail");
            assert!(
                err.message.starts_with("Malformed input request"),
                "{}",
                err.message
            );
        }
    }
}
