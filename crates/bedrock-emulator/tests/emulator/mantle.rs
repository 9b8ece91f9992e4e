//! bedrock-mantle's `count_tokens` route: the AWS front end's SigV4 checks, then the Anthropic
//! API's own (version header, bare ids of the models mantle serves), and a count that agrees
//! with runtime CountTokens for the same Anthropic body.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{CountTokensInput, InvokeModelTokensRequest};
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use serde_json::{json, Value};

use crate::helpers::spawn;

const COUNT_TOKENS_PATH: &str = "/anthropic/v1/messages/count_tokens";
const ANTHROPIC_VERSION: &str = "2023-06-01";

/// A `POST` SigV4-signed for bedrock-mantle, as an AWS SDK would sign it (signed here with
/// `aws-sigv4` directly: the emulator's tests share no code with the gateway they stand in for).
fn signed_request(url: &str, headers: &[(&str, String)], body: Bytes) -> http::Request<Bytes> {
    let credentials = Credentials::new("AKIDEMU", "emu-secret", None, None, "test");
    let identity = credentials.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("bedrock-mantle")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .expect("signing parameters")
        .into();
    let unsigned = headers.iter().map(|(k, v)| (*k, v.as_str()));
    let signable = SignableRequest::new("POST", url, unsigned, SignableBody::Bytes(&body))
        .expect("signable request");
    let (instructions, _signature) = sign(signable, &params).expect("signs").into_parts();
    let mut builder = http::Request::post(url);
    for (k, v) in headers {
        builder = builder.header(*k, v.as_str());
    }
    let mut request = builder.body(body).expect("request");
    instructions.apply_to_request_http1x(&mut request);
    request
}

struct Answer {
    status: u16,
    error_type: Option<String>,
    body: Value,
}

fn anthropic_body(model: &str) -> Value {
    json!({
        "model": model,
        "system": "You keep the lighthouse log.",
        "messages": [{"role": "user", "content": "Log the fog at dawn and the ferry at nine."}]
    })
}

/// POSTs `body` with `headers`, SigV4-signed with a scope for `service` when one is given.
async fn post(url: &str, body: &Value, service: Option<&str>, headers: &[(&str, &str)]) -> Answer {
    let url = format!("{url}{COUNT_TOKENS_PATH}");
    let raw = Bytes::from(body.to_string());
    let mut list: Vec<(&str, String)> = vec![("content-type", "application/json".to_owned())];
    list.extend(headers.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let request = match service {
        Some(service) => {
            let mut signed = signed_request(&url, &list, raw);
            if service != "bedrock-mantle" {
                // The same request signed for another service: only the scope differs.
                let auth = signed.headers()["authorization"].to_str().expect("ascii");
                let swapped = auth.replace("/bedrock-mantle/", &format!("/{service}/"));
                signed
                    .headers_mut()
                    .insert("authorization", swapped.parse().expect("header"));
            }
            reqwest::Request::try_from(signed).expect("request")
        }
        None => {
            let mut builder = reqwest::Client::new().post(&url).body(raw);
            for (k, v) in &list {
                builder = builder.header(*k, v.as_str());
            }
            builder.build().expect("request")
        }
    };
    let response = reqwest::Client::new().execute(request).await.expect("sent");
    let status = response.status().as_u16();
    let error_type = response
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(':').next().unwrap_or(v).to_owned());
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        error_type,
        body,
    }
}

const VERSION: (&str, &str) = ("anthropic-version", ANTHROPIC_VERSION);

#[tokio::test]
async fn the_front_end_wants_a_sigv4_scope_for_bedrock_mantle() {
    let t = spawn().await;
    let body = anthropic_body("anthropic.claude-opus-5");
    let unsigned = post(&t.url, &body, None, &[VERSION]).await;
    assert_eq!(unsigned.status, 403);
    assert_eq!(
        unsigned.error_type.as_deref(),
        Some("AccessDeniedException")
    );
    let runtime_scope = post(&t.url, &body, Some("bedrock"), &[VERSION]).await;
    assert_eq!(runtime_scope.status, 403);
    assert_eq!(
        runtime_scope.error_type.as_deref(),
        Some("InvalidSignatureException")
    );
    let ok = post(&t.url, &body, Some("bedrock-mantle"), &[VERSION]).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.body["input_tokens"].as_u64().is_some_and(|n| n > 0));
    let recorded = t.emulator.requests().pop().expect("recorded");
    assert_eq!(recorded.operation, "MantleCountTokens");
    assert_eq!(recorded.model_id, "anthropic.claude-opus-5");
    assert!(!recorded.headers.contains_key("authorization"));
}

#[tokio::test]
async fn the_anthropic_api_wants_a_version_and_a_bare_id_it_serves() {
    let t = spawn().await;
    let signed = Some("bedrock-mantle");
    let versionless = post(
        &t.url,
        &anthropic_body("anthropic.claude-opus-5"),
        signed,
        &[],
    )
    .await;
    assert_eq!(versionless.status, 400);
    assert_eq!(versionless.body["error"]["type"], "invalid_request_error");
    for model in [
        "global.anthropic.claude-opus-5",
        "us.anthropic.claude-sonnet-5",
        "anthropic.claude-sonnet-4-6",
        "anthropic.claude-imaginary",
    ] {
        let a = post(&t.url, &anthropic_body(model), signed, &[VERSION]).await;
        assert_eq!(a.status, 404, "{model}: {}", a.body);
        assert_eq!(a.body["type"], "error");
        assert_eq!(a.body["error"]["type"], "not_found_error", "{model}");
    }
    let throttled = anthropic_body("anthropic.claude-sonnet-5");
    let mut throttled = throttled;
    throttled["messages"][0]["content"] = json!("[[emu:error ThrottlingException]] fog?");
    let a = post(&t.url, &throttled, signed, &[VERSION]).await;
    assert_eq!(a.status, 429);
    assert_eq!(a.body["error"]["type"], "rate_limit_error");
}

#[tokio::test]
async fn mantle_and_runtime_invoke_model_counts_agree_on_the_same_body() {
    let t = spawn().await;
    let mantle = post(
        &t.url,
        &anthropic_body("anthropic.claude-opus-5"),
        Some("bedrock-mantle"),
        &[VERSION],
    )
    .await;
    let mantle_count = mantle.body["input_tokens"].as_u64().expect("count");

    let mut native = anthropic_body("unused");
    let object = native.as_object_mut().expect("object");
    object.remove("model");
    object.insert("anthropic_version".into(), json!("bedrock-2023-05-31"));
    object.insert("max_tokens".into(), json!(1));
    let input = CountTokensInput::InvokeModel(
        InvokeModelTokensRequest::builder()
            .body(Blob::new(native.to_string()))
            .build()
            .expect("input"),
    );
    let runtime = t
        .client
        .count_tokens()
        .model_id("anthropic.claude-sonnet-4-20250514-v1:0")
        .input(input)
        .send()
        .await
        .expect("counted");
    assert_eq!(
        u64::try_from(runtime.input_tokens()).ok(),
        Some(mantle_count)
    );
}
