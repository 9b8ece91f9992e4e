use std::time::UNIX_EPOCH;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sigv4::http_request::SignableBody;
use aws_types::region::Region;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use serde_json::json;

use super::*;

const URL: &str = "https://bedrock-mantle.eu-west-1.api.aws/anthropic/v1/messages/count_tokens";

fn credentials(session_token: Option<&str>) -> Credentials {
    Credentials::new(
        "AKIDMANTLETEST",
        "mantle-test-secret",
        session_token.map(str::to_owned),
        None,
        "test",
    )
}

fn headers() -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/json".to_owned()),
        ("anthropic-version", ANTHROPIC_VERSION.to_owned()),
    ]
}

fn sign_at(body: &'static [u8], creds: &Credentials) -> http::Request<Bytes> {
    let signer = Signer {
        credentials: creds,
        region: "eu-west-1",
        // 2025-01-02T03:04:05Z
        time: UNIX_EPOCH + Duration::from_secs(1_735_787_045),
    };
    signed_request(URL, &headers(), Bytes::from_static(body), &signer).expect("signs")
}

fn header<'r>(request: &'r http::Request<Bytes>, name: &str) -> &'r str {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[test]
fn a_signed_request_names_bedrock_mantle_in_its_credential_scope() {
    let request = sign_at(
        br#"{"model":"anthropic.claude-opus-5"}"#,
        &credentials(None),
    );
    let auth = header(&request, "authorization");
    assert!(
        auth.starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIDMANTLETEST/20250102/eu-west-1/bedrock-mantle/aws4_request, "
        ),
        "{auth}"
    );
    let signed = auth
        .split("SignedHeaders=")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .expect("SignedHeaders");
    for name in ["anthropic-version", "content-type", "host", "x-amz-date"] {
        assert!(signed.split(';').any(|h| h == name), "{name} in {signed}");
    }
    assert_eq!(header(&request, "x-amz-date"), "20250102T030405Z");
    assert_eq!(header(&request, "anthropic-version"), "2023-06-01");
    assert!(!auth.contains("mantle-test-secret"));
}

#[test]
fn the_signature_is_aws_sigv4s_own_for_the_same_request() {
    let body: &[u8] = br#"{"model":"anthropic.claude-sonnet-5"}"#;
    let creds = credentials(Some("session-token"));
    let ours = sign_at(b"{\"model\":\"anthropic.claude-sonnet-5\"}", &creds);
    assert_eq!(header(&ours, "x-amz-security-token"), "session-token");

    // Signed again directly with aws-sigv4's types: the same signature, so nothing was lost
    // between signing and the request that is sent.
    let identity: Identity = creds.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-west-1")
        .name("bedrock-mantle")
        .time(UNIX_EPOCH + Duration::from_secs(1_735_787_045))
        .settings(SigningSettings::default())
        .build()
        .expect("params")
        .into();
    let list = headers();
    let signable = SignableRequest::new(
        "POST",
        URL,
        list.iter().map(|(k, v)| (*k, v.as_str())),
        SignableBody::Bytes(body),
    )
    .expect("signable");
    let (_, signature) = sign(signable, &params).expect("signed").into_parts();
    assert!(
        header(&ours, "authorization").ends_with(&format!("Signature={signature}")),
        "{}",
        header(&ours, "authorization")
    );

    let other = sign_at(b"{\"model\":\"anthropic.claude-opus-5\"}", &creds);
    assert_ne!(
        header(&other, "authorization"),
        header(&ours, "authorization")
    );
}

#[derive(Debug)]
struct MantleOverride;

impl LoadServiceConfig for MantleOverride {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        // What aws-config's chain answers for AWS_ENDPOINT_URL_BEDROCK_MANTLE=http://127.0.0.1:9.
        (key.service_id() == "Bedrock Mantle" && key.env() == "AWS_ENDPOINT_URL")
            .then(|| "http://127.0.0.1:9".to_owned())
    }
}

fn sdk(with_override: bool) -> SdkConfig {
    let mut builder = SdkConfig::builder()
        .region(Region::new("eu-west-1"))
        .credentials_provider(SharedCredentialsProvider::new(credentials(None)));
    if with_override {
        builder = builder.service_config(MantleOverride);
    }
    builder.build()
}

fn url_of(mantle: &Mantle) -> Option<&str> {
    mantle.inner.as_ref().map(|i| i.url.as_str())
}

#[test]
fn the_endpoint_is_the_regional_default_unless_overridden_the_aws_way() {
    assert_eq!(url_of(&Mantle::from_sdk(&sdk(false))), Some(URL));
    assert_eq!(
        url_of(&Mantle::from_sdk(&sdk(true))),
        Some("http://127.0.0.1:9/anthropic/v1/messages/count_tokens")
    );
    assert_eq!(
        url_of(&Mantle::for_endpoint(&sdk(false), "http://127.0.0.1:7/")),
        Some("http://127.0.0.1:7/anthropic/v1/messages/count_tokens")
    );
    let no_region = SdkConfig::builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials(None)))
        .build();
    assert!(!Mantle::from_sdk(&no_region).is_configured());
}

#[test]
fn failures_map_by_aws_error_type_then_anthropic_type_then_status() {
    let anthropic = |kind: &str| json!({"type": "error", "error": {"type": kind, "message": "m"}});
    let cases = [
        (
            403,
            Some("AccessDeniedException:http://internal.amazon.com/"),
            json!({"Message": "denied"}),
            "permission_error",
        ),
        (
            403,
            Some("InvalidSignatureException"),
            json!({"message": "bad"}),
            "api_error",
        ),
        (404, None, anthropic("not_found_error"), "not_found_error"),
        (
            400,
            None,
            anthropic("invalid_request_error"),
            "invalid_request_error",
        ),
        (429, None, anthropic("rate_limit_error"), "rate_limit_error"),
        (529, None, anthropic("overloaded_error"), "overloaded_error"),
        (401, None, anthropic("authentication_error"), "api_error"),
        (403, None, Value::Null, "permission_error"),
        (503, None, Value::Null, "overloaded_error"),
        (500, None, Value::Null, "api_error"),
    ];
    for (status, aws, body, kind) in cases {
        let e = map_failure(status, aws, &body);
        assert_eq!(e.kind(), kind, "{status} {aws:?} {body}");
    }
}

#[tokio::test]
async fn an_unconfigured_client_makes_no_call() {
    let mantle = Mantle { inner: None };
    let e = mantle
        .count_tokens(Bytes::from_static(b"{}"), &[])
        .await
        .expect_err("unconfigured");
    assert_eq!(e.kind(), "api_error");
}
