//! The hostile-input corpus: malformed, oversized and malicious requests, each of which must get a
//! clear Anthropic 4xx (error JSON, `request-id`), never a 5xx, a panic or a hang. The outcome of
//! every case is written to docs/bad-input.md; the test fails when that file no longer matches
//! (`CHATRIX_UPDATE_DOCS=1 cargo test --test api bad_input` rewrites it).

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{check_doc, converse_path, spawn_app_with, KEY};

struct Case {
    name: String,
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    want: Want,
}

/// What a case must get.
#[derive(Clone, Copy, Debug)]
enum Want {
    /// This status with Anthropic error JSON of this type and a `request-id`.
    Refused(u16, &'static str),
    /// This status from hyper's HTTP parser, which answers before the application sees anything.
    RefusedByHttpLayer(u16),
    /// A 200: the gateway repairs or drops this on purpose, for the reason given.
    Accepted(&'static str),
}

/// `converse` on the Converse path, where the gateway rebuilds the request and repairs what
/// Bedrock would refuse; `invoke` on the native path, where the body goes as sent and Bedrock
/// answers as Anthropic's API does.
fn per_path(converse: Want, invoke: Want) -> Want {
    if converse_path() {
        converse
    } else {
        invoke
    }
}

const INVOKE_REFUSES: Want = Want::Refused(400, "invalid_request_error");

fn authed() -> Vec<(String, String)> {
    vec![
        ("x-api-key".into(), KEY.into()),
        ("anthropic-version".into(), "2023-06-01".into()),
        ("content-type".into(), "application/json".into()),
    ]
}

/// A `/v1/messages` request with raw bytes as its body.
fn raw(name: &str, body: impl Into<Vec<u8>>, want: impl Into<Want>) -> Case {
    Case {
        name: name.into(),
        method: "POST",
        path: "/v1/messages".into(),
        headers: authed(),
        body: body.into(),
        want: want.into(),
    }
}

/// A `/v1/messages` request: a valid one with `change` applied to it.
fn bad(name: &str, change: impl FnOnce(&mut Value), want: impl Into<Want>) -> Case {
    let mut body = json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "Hello"}],
    });
    change(&mut body);
    raw(name, body.to_string(), want)
}

/// A request whose only content block is `block`.
fn block(name: &str, block: Value, want: impl Into<Want>) -> Case {
    bad(
        name,
        |b| b["messages"][0]["content"] = Value::Array(vec![block]),
        want,
    )
}

fn image_url(name: &str, url: &str) -> Case {
    block(
        name,
        json!({"type": "image", "source": {"type": "url", "url": url}}),
        INVALID,
    )
}

const INVALID: Want = Want::Refused(400, "invalid_request_error");

impl From<(u16, &'static str)> for Want {
    fn from((status, kind): (u16, &'static str)) -> Self {
        Self::Refused(status, kind)
    }
}

fn tool(name: &str) -> Value {
    json!({"name": name, "input_schema": {"type": "object"}})
}

fn turns(messages: Value) -> impl FnOnce(&mut Value) {
    move |b| b["messages"] = messages
}

#[allow(clippy::too_many_lines, reason = "the corpus is one list")]
fn corpus() -> Vec<Case> {
    let nested = |depth: usize| "[".repeat(depth) + &"]".repeat(depth);
    let tool_use = |id: &str| json!({"type": "tool_use", "id": id, "name": "get", "input": {}});
    let mut cases = vec![
        // Not JSON, or not the JSON we take.
        raw("empty body", "", INVALID),
        raw("truncated JSON", r#"{"model": "claude-sonnet-4-5", "max_"#, INVALID),
        raw("trailing data after the object", r#"{"model":"m","max_tokens":1,"messages":[]} x"#, INVALID),
        raw("top-level array", "[]", INVALID),
        raw("top-level string", r#""hello""#, INVALID),
        raw("top-level null", "null", INVALID),
        raw("NaN literal", r#"{"model":"claude-sonnet-4-5","max_tokens":NaN,"messages":[]}"#, INVALID),
        raw("byte-order mark before the JSON", "\u{feff}{}", INVALID),
        raw(
            "invalid UTF-8 inside a string",
            [&br#"{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":""#[..], &[0xff, 0xfe, 0xc3], br#""}]}"#].concat(),
            INVALID,
        ),
        raw(
            "lone UTF-16 surrogate escape",
            r#"{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"\ud800"}]}"#,
            INVALID,
        ),
        raw(
            "10,000 nested arrays in a tool schema (free-form JSON)",
            format!(r#"{{"model":"claude-sonnet-4-5","max_tokens":5,"tools":[{{"name":"t","input_schema":{{"type":"object","x":{}}}}}],"messages":[{{"role":"user","content":"x"}}]}}"#, nested(10_000)),
            INVALID,
        ),
        raw(
            "duplicate field",
            r#"{"model":"claude-sonnet-4-5","model":"claude-opus-4-1","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#,
            INVALID,
        ),
        raw(
            "number with 400-digit exponent",
            r#"{"model":"claude-sonnet-4-5","max_tokens":1e400,"messages":[{"role":"user","content":"x"}]}"#,
            INVALID,
        ),
        raw(
            "integer above u64",
            r#"{"model":"claude-sonnet-4-5","max_tokens":18446744073709551616,"messages":[{"role":"user","content":"x"}]}"#,
            INVALID,
        ),
        // Wrong types and values.
        bad("model is a number", |b| b["model"] = json!(123), INVALID),
        bad("model missing", |b| drop(b.as_object_mut().map(|o| o.remove("model"))), INVALID),
        bad("unknown model", |b| b["model"] = json!("gpt-4o"), (404, "not_found_error")),
        bad("model name with path characters", |b| b["model"] = json!("../../etc/passwd"), (404, "not_found_error")),
        bad("max_tokens missing", |b| drop(b.as_object_mut().map(|o| o.remove("max_tokens"))), INVALID),
        bad("max_tokens is a string", |b| b["max_tokens"] = json!("1024"), INVALID),
        bad("max_tokens negative", |b| b["max_tokens"] = json!(-1), INVALID),
        bad("max_tokens zero", |b| b["max_tokens"] = json!(0), INVALID),
        bad("max_tokens fractional", |b| b["max_tokens"] = json!(10.5), INVALID),
        bad("messages is an object", |b| b["messages"] = json!({}), INVALID),
        bad("messages empty", turns(json!([])), INVALID),
        bad("messages missing", |b| drop(b.as_object_mut().map(|o| o.remove("messages"))), INVALID),
        bad("role is not user or assistant", turns(json!([{"role": "robot", "content": "x"}])), INVALID),
        bad("content is a number", turns(json!([{"role": "user", "content": 42}])), INVALID),
        bad("content block list empty", turns(json!([{"role": "user", "content": []}])), per_path(Want::Accepted("Converse: an empty turn gets a \".\" placeholder, which Bedrock's Converse would refuse"), INVOKE_REFUSES)),
        bad("temperature is a string", |b| b["temperature"] = json!("hot"), INVALID),
        bad("temperature above 1", |b| b["temperature"] = json!(5), INVALID),
        bad("top_p negative", |b| b["top_p"] = json!(-0.5), INVALID),
        bad("top_k negative", |b| b["top_k"] = json!(-3), INVALID),
        bad("stop_sequences is a string", |b| b["stop_sequences"] = json!("STOP"), INVALID),
        bad("stream is a string", |b| b["stream"] = json!("yes"), INVALID),
        bad("system is a number", |b| b["system"] = json!(7), INVALID),
        bad("system block of an unknown type", |b| b["system"] = json!([{"type": "video", "text": "x"}]), INVALID),
        // Content blocks.
        block("unknown block type", json!({"type": "hologram", "text": "x"}), per_path(Want::Accepted("Converse: dropped by name, as newer clients send block types Converse has no equivalent for"), INVOKE_REFUSES)),
        block("text block without text", json!({"type": "text"}), INVALID),
        block("image: base64 that is not", json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "not base64!!"}}), INVALID),
        block("image: empty data", json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": ""}}), INVALID),
        block("image: unsupported media type", json!({"type": "image", "source": {"type": "base64", "media_type": "image/tiff", "data": "AAAA"}}), INVALID),
        block("image: unknown source type", json!({"type": "image", "source": {"type": "ftp", "url": "ftp://x"}}), INVALID),
        block("document: base64 that is not", json!({"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "%%%"}}), INVALID),
        image_url("URL source: data: URL", "data:image/png;base64,AAAA"),
        image_url("URL source: file: URL", "file:///etc/passwd"),
        image_url("URL source: not a URL", "not a url"),
        image_url("URL source: loopback", "http://127.0.0.1:9/x.png"),
        image_url("URL source: localhost name", "http://localhost/x.png"),
        image_url("URL source: IPv6 loopback", "http://[::1]/x.png"),
        image_url("URL source: cloud metadata address", "http://169.254.169.254/latest/meta-data/"),
        image_url("URL source: private 10/8", "https://10.0.0.1/x.png"),
        image_url("URL source: private 192.168/16", "https://192.168.1.1/x.png"),
        image_url("URL source: IPv4-mapped IPv6 loopback", "http://[::ffff:127.0.0.1]/x.png"),
        image_url("URL source: decimal-encoded loopback", "http://2130706433/x.png"),
        // Tools.
        bad(
            "tool_use ids clash",
            turns(json!([
                {"role": "user", "content": "x"},
                {"role": "assistant", "content": [tool_use("toolu_1"), tool_use("toolu_1")]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a"}]},
            ])),
            INVALID,
        ),
        bad(
            "tool_result for an unknown tool_use id",
            turns(json!([
                {"role": "user", "content": "x"},
                {"role": "assistant", "content": [tool_use("toolu_1")]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": "a"}]},
            ])),
            INVALID,
        ),
        bad("tool name with spaces", |b| b["tools"] = json!([tool("get weather!")]), per_path(Want::Accepted("Converse: renamed for Bedrock and restored in the answer (MCP tool names often break Converse's pattern)"), INVOKE_REFUSES)),
        bad("two tools with one name", |b| b["tools"] = json!([tool("get"), tool("get")]), INVALID),
        bad("tool without input_schema", |b| b["tools"] = json!([{"name": "get"}]), INVALID),
        bad(
            "tool_choice names a tool that is not there",
            |b| {
                b["tools"] = json!([tool("get")]);
                b["tool_choice"] = json!({"type": "tool", "name": "put"});
            },
            INVALID,
        ),
        bad(
            "tool schema nested 500 deep",
            |b| {
                let mut schema = json!({"type": "object"});
                for _ in 0..500 {
                    schema = json!({"type": "object", "properties": {"a": schema}});
                }
                b["tools"] = json!([{"name": "deep", "input_schema": schema}]);
            },
            INVALID,
        ),
        // Thinking.
        bad("thinking budget below 1,024", |b| b["thinking"] = json!({"type": "enabled", "budget_tokens": 100}), INVALID),
        bad("thinking budget not below max_tokens", |b| b["thinking"] = json!({"type": "enabled", "budget_tokens": 4096}), INVALID),
        bad("thinking of an unknown type", |b| b["thinking"] = json!({"type": "maximal"}), INVALID),
    ];
    // Keys, sizes, routes.
    let mut no_key = raw("no API key", "{}", (401, "authentication_error"));
    no_key.headers.retain(|(k, _)| k != "x-api-key");
    let mut wrong_key = raw("wrong API key", "{}", (401, "authentication_error"));
    wrong_key.headers[0].1 = "sk-not-a-key".into();
    let mut big_header = raw("100 KB of headers", "{}", (431, "request_too_large"));
    big_header
        .headers
        .push(("x-padding".into(), "a".repeat(100 * 1024)));
    let mut huge_header = raw("1 MB header", "{}", Want::RefusedByHttpLayer(431));
    huge_header
        .headers
        .push(("x-padding".into(), "a".repeat(1024 * 1024)));
    let oversize = raw(
        "body over the 32 MB limit",
        vec![b' '; 33 * 1024 * 1024],
        (413, "request_too_large"),
    );
    let mut wrong_method = raw("GET on /v1/messages", "", (404, "not_found_error"));
    wrong_method.method = "GET";
    let mut unknown_route = raw("unknown route", "{}", (404, "not_found_error"));
    unknown_route.path = "/v1/completions".into();
    let mut count_broken = raw("count_tokens: broken JSON", "{", INVALID);
    count_broken.path = "/v1/messages/count_tokens".into();
    let mut model_path = raw(
        "model lookup with an encoded path",
        "",
        (404, "not_found_error"),
    );
    model_path.method = "GET";
    model_path.path = "/v1/models/..%2F..%2Fsecrets".into();
    cases.extend([
        no_key,
        wrong_key,
        big_header,
        huge_header,
        oversize,
        wrong_method,
        unknown_route,
        count_broken,
        model_path,
    ]);
    cases
}

struct Outcome {
    status: u16,
    kind: String,
    message: String,
    reached_bedrock: bool,
}

#[tokio::test]
#[expect(
    clippy::too_many_lines,
    reason = "sends the whole corpus and writes docs/bad-input.md from the outcomes in one pass"
)]
async fn every_hostile_request_gets_a_clear_4xx_and_docs_list_them() {
    let cases = corpus();
    assert!(cases.len() >= 50, "the corpus has {} cases", cases.len());
    let app = spawn_app_with(&[]).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let mut doc = String::from(HEADER);
    let (mut failures, mut accepted) = (Vec::new(), Vec::new());
    for case in &cases {
        app.emulator.clear();
        let method = reqwest::Method::from_bytes(case.method.as_bytes()).expect("method");
        let mut req = http.request(method, format!("{}{}", app.url, case.path));
        for (k, v) in &case.headers {
            req = req.header(k, v);
        }
        if !case.body.is_empty() || case.method == "POST" {
            req = req.body(case.body.clone());
        }
        let resp = req
            .send()
            .await
            .expect("an answer, not a dropped connection");
        let status = resp.status().as_u16();
        let request_id = resp.headers().get("request-id").cloned();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let out = Outcome {
            status,
            kind: body["error"]["type"]
                .as_str()
                .unwrap_or("(no error JSON)")
                .into(),
            message: body["error"]["message"].as_str().unwrap_or_default().into(),
            reached_bedrock: !app.emulator.requests().is_empty(),
        };
        let id_ok = request_id.is_some_and(|id| body["request_id"] == id.to_str().unwrap_or("?"));
        let ok = match case.want {
            Want::Refused(401, kind) => {
                out.status == 401 && out.kind == kind && id_ok && !out.reached_bedrock
            }
            Want::Refused(status, kind) => {
                out.status == status && out.kind == kind && body["type"] == "error" && id_ok
            }
            Want::RefusedByHttpLayer(status) => out.status == status,
            Want::Accepted(_) => out.status == 200,
        };
        if !ok {
            failures.push(format!(
                "{}: got {} {} (request-id ok: {id_ok}) {:?}, want {:?}",
                case.name, out.status, out.kind, out.message, case.want
            ));
        }
        match case.want {
            Want::Accepted(why) => {
                accepted.push(format!("| {} | {} | {why} |", case.name, out.status))
            }
            _ => row(&mut doc, case, &out),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    doc.push_str(ACCEPTED);
    for line in accepted {
        doc.push_str(&line);
        doc.push('\n');
    }
    check_doc("bad-input.md", &doc);
}

const HEADER: &str = "# Hostile and malformed requests

<!-- Written by tests/api/bad_input.rs; do not edit by hand
     (`CHATRIX_UPDATE_DOCS=1 cargo test --test api bad_input` rewrites it). -->

Every request below is sent to the running gateway by the test suite; each must get an Anthropic
error JSON with a 4xx status and a `request-id`, never a 5xx, a panic or a hang. \"Bedrock\" says
whether the request reached the (emulated) Bedrock API and was refused by its validation; the
rest the gateway refuses itself, before any Bedrock call (and unauthenticated requests before
their body is read).

| Request | Status | Error type | Bedrock | Message (start) |
|---|---|---|---|---|
";

const ACCEPTED: &str = "
Hyper, the HTTP layer, refuses a request whose head overflows its ~400 KB buffer itself, with a
bare `431` and no body, before the gateway sees it; up to that size the gateway answers 431 with
Anthropic error JSON above 64 KB of headers.

These look wrong but are served on purpose (each also sent by the test, which checks the 200):

| Request | Status | Why |
|---|---|---|
";

fn row(doc: &mut String, case: &Case, out: &Outcome) {
    let mut message: String = out.message.chars().take(90).collect();
    if out.message.chars().count() > 90 {
        message.push('…');
    }
    let message = message.replace('|', "\\|").replace('\n', " ");
    let bedrock = if out.reached_bedrock { "called" } else { "—" };
    let _ = writeln!(
        doc,
        "| {} | {} | `{}` | {bedrock} | {message} |",
        case.name, out.status, out.kind
    );
}
