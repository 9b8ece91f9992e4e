//! How a model's validation errors are worded (NATIVE §1.4, §5.2): ARN-versioned models (≤ 4.6)
//! have their body checked against Bedrock's JSON schema first (`Malformed input request: #…`);
//! every Claude error past that is the back end's, behind `The model returned the following
//! errors: ` — plain text before 4.7, a whole Anthropic error envelope from 4.7 on.

use serde_json::{json, Value};

use crate::error::BedrockError;
use crate::model_id::Model;
use crate::rules::{self, Rules};

/// How this model's errors are worded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Voice {
    /// Bedrock checks the body against its JSON schema first (ARN-versioned ids).
    pub(crate) schema: bool,
    /// Back-end errors are a whole Anthropic envelope (4.7 and later).
    pub(crate) envelope: bool,
}

impl Voice {
    pub(crate) fn of(model: &Model, rules: &Rules) -> Self {
        Self {
            schema: rules::schema_checked(&model.base_id),
            envelope: rules.envelope,
        }
    }

    /// An `invalid_request_error` from the Anthropic back end.
    pub(crate) fn model(self, message: impl Into<String>) -> BedrockError {
        let message = message.into();
        if self.envelope {
            let envelope = json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}});
            BedrockError::model(envelope)
        } else {
            BedrockError::model(message)
        }
    }

    /// Bedrock's schema layer (everit wording, violations run together).
    pub(crate) fn malformed(violations: &[String]) -> BedrockError {
        BedrockError::validation(format!(
            "Malformed input request: {}, please reformat your input and try again.",
            violations.concat()
        ))
    }

    /// A member of the wrong JSON type: `#/max_tokens: expected type: Integer, found: String`
    /// from the schema, `max_tokens: Input should be a valid integer` from the back end.
    pub(crate) fn wrong_type(self, path: &str, expected: Kind, found: &Value) -> BedrockError {
        if self.schema {
            let pointer = path.replace('.', "/");
            return Self::malformed(&[format!(
                "#/{pointer}: expected type: {}, found: {}",
                expected.schema_name(),
                kind_name(found)
            )]);
        }
        self.model(format!(
            "{path}: Input should be a valid {}",
            expected.pydantic_name()
        ))
    }

    /// A required member is missing.
    pub(crate) fn required(self, key: &str) -> BedrockError {
        if self.schema {
            return Self::malformed(&[format!("#: required key [{key}] not found")]);
        }
        self.model(format!("{key}: Field required"))
    }
}

/// JSON types the checks ask for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Integer,
    Number,
    String,
    Array,
    Object,
}

impl Kind {
    fn schema_name(self) -> &'static str {
        match self {
            Self::Integer => "Integer",
            Self::Number => "Number",
            Self::String => "String",
            Self::Array => "JSONArray",
            Self::Object => "JSONObject",
        }
    }

    fn pydantic_name(self) -> &'static str {
        match self {
            Self::Integer => "integer",
            Self::Number => "number",
            Self::String => "string",
            Self::Array => "list",
            Self::Object => "dictionary",
        }
    }

    fn matches(self, value: &Value) -> bool {
        match self {
            Self::Integer => value.is_i64() || value.is_u64(),
            Self::Number => value.is_number(),
            Self::String => value.is_string(),
            Self::Array => value.is_array(),
            Self::Object => value.is_object(),
        }
    }
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_f64() => "BigDecimal",
        Value::Number(_) => "Integer",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    }
}

/// `value` has JSON type `kind`, or the voice's type error for `path`.
pub(crate) fn expect(
    voice: Voice,
    path: &str,
    kind: Kind,
    value: &Value,
) -> Result<(), BedrockError> {
    if kind.matches(value) {
        Ok(())
    } else {
        Err(voice.wrong_type(path, kind, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_and_back_end_voices_word_the_same_fault_differently() {
        let schema = Voice {
            schema: true,
            envelope: false,
        };
        let plain = Voice {
            schema: false,
            envelope: false,
        };
        let envelope = Voice {
            schema: false,
            envelope: true,
        };
        assert_eq!(
            schema.wrong_type("max_tokens", Kind::Integer, &json!("9")).message,
            "Malformed input request: #/max_tokens: expected type: Integer, found: String, please reformat your input and try again."
        );
        assert_eq!(
            plain.required("messages").message,
            "The model returned the following errors: messages: Field required"
        );
        let wrapped = envelope.model("invalid beta flag").message;
        let inner = wrapped
            .strip_prefix("The model returned the following errors: ")
            .expect("prefix");
        let inner: Value = serde_json::from_str(inner).expect("an envelope");
        assert_eq!(inner["error"]["type"], "invalid_request_error");
        assert_eq!(inner["error"]["message"], "invalid beta flag");
    }
}
