//! The emulator's own HTTP surface: queued scripts (in-process and over `/_emulator`), the
//! request log, and raw requests that bypass the SDK (authorization, unknown members).

use aws_sdk_bedrockruntime::types::StopReason;
use bedrock_emulator::{Script, ScriptBlock, ScriptTool, UsageOverride};
use serde_json::{json, Value};

use crate::helpers::{
    converse_text, error_type, output_blocks, spawn, text_of, DEFAULT_TEXT, SONNET_45,
};

#[tokio::test]
async fn scripts_take_precedence_over_directives_and_can_be_queued_over_http() {
    let t = spawn().await;
    t.emulator.push_script(Script {
        content: vec![
            ScriptBlock::Text("Scripted.".into()),
            ScriptBlock::Tool(ScriptTool {
                name: "Bash".into(),
                input: json!({"command": "ls"}),
                id: Some("tooluse_fixed".into()),
            }),
        ],
        usage: UsageOverride {
            input_tokens: Some(7),
            ..UsageOverride::default()
        },
        ..Script::default()
    });
    let out = converse_text(&t, "[[emu:text ignored]]").await;
    let blocks = output_blocks(&out);
    assert_eq!(blocks[0].as_text().expect("text"), "Scripted.");
    assert_eq!(
        blocks[1].as_tool_use().expect("tool").tool_use_id(),
        "tooluse_fixed"
    );
    assert_eq!(out.stop_reason(), &StopReason::ToolUse);
    assert_eq!(out.usage().expect("usage").input_tokens(), 7);

    let http = reqwest::Client::new();
    let script = json!({"content": [{"text": "From HTTP."}], "times": 2});
    let queued: Value = http
        .post(format!("{}/_emulator/scripts", t.url))
        .json(&script)
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(queued["queued"], 1);
    assert_eq!(text_of(&converse_text(&t, "a").await), "From HTTP.");
    assert_eq!(text_of(&converse_text(&t, "b").await), "From HTTP.");
    assert_eq!(text_of(&converse_text(&t, "c").await), DEFAULT_TEXT);

    let recorded: Value = http
        .get(format!("{}/_emulator/requests", t.url))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(recorded.as_array().map(Vec::len), Some(4));
    let status = http
        .delete(format!("{}/_emulator/requests", t.url))
        .send()
        .await
        .expect("delete")
        .status();
    assert!(status.is_success());
    assert!(t.emulator.requests().is_empty());
}

#[tokio::test]
async fn raw_requests_need_authorization_and_known_members_only() {
    let t = spawn().await;
    let http = reqwest::Client::new();
    let url = format!("{}/model/{}/converse", t.url, SONNET_45.replace(':', "%3A"));
    let body = json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]});
    let response = http.post(&url).json(&body).send().await.expect("post");
    assert_eq!(response.status().as_u16(), 403);
    let kind = error_type(&response);
    assert!(kind.starts_with("AccessDeniedException:"), "{kind}");
    assert!(response.headers().contains_key("x-amzn-requestid"));
    assert_eq!(
        response.json::<Value>().await.expect("json")["Message"],
        "Authorization header is missing"
    );

    let authorized = |body: &Value| http.post(&url).bearer_auth("token").json(body).send();
    let mut extra = body.clone();
    extra["topK"] = json!(5);
    let response = authorized(&extra).await.expect("post");
    assert_eq!(response.status().as_u16(), 400);
    assert!(error_type(&response)
        .starts_with("ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"));
    let message = response.json::<Value>().await.expect("json")["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("topK"), "{message}");

    let ok = authorized(&body).await.expect("post");
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(
        t.emulator.requests()[2].model_id,
        SONNET_45,
        "the model id is percent-decoded"
    );
}
