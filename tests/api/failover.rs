//! The upstream pool (docs/failover.md): two or three emulators stand in for Regions through
//! `CHATRIX_UPSTREAMS`' `region=endpoint_url` form; each is scripted on its own.

use std::collections::HashMap;
use std::time::Duration;

use bedrock_emulator::{Emulator, Script, ScriptError};
use chatrix::bedrock::Pool;
use chatrix::config::Config;
use chatrix::state::AppState;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::helpers::{assert_error, Reply, TestApp, KEY};

const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

/// The gateway over `n` emulators (in [`REGIONS`] order), with `extra` settings.
async fn spawn_pool(n: usize, extra: &[(&str, &str)]) -> (TestApp, Vec<Emulator>) {
    let mut emulators = Vec::new();
    let mut entries = Vec::new();
    for region in &REGIONS[..n] {
        let emulator = Emulator::new().expect("emulator starts");
        let url = emulator.spawn(0).await.expect("emulator binds");
        entries.push(format!("{region}={url}"));
        emulators.push(emulator);
    }
    spawn_on(&entries.join(","), extra, emulators).await
}

async fn spawn_on(
    upstreams: &str,
    extra: &[(&str, &str)],
    emulators: Vec<Emulator>,
) -> (TestApp, Vec<Emulator>) {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("CHATRIX_API_KEYS".to_owned(), format!("test:{KEY}")),
        ("CHATRIX_BEDROCK".to_owned(), "aws".to_owned()),
        ("CHATRIX_UPSTREAMS".to_owned(), upstreams.to_owned()),
        ("CHATRIX_DISCOVERY_INTERVAL_SECS".to_owned(), "0".to_owned()),
    ]);
    if let Ok(api) = std::env::var("CHATRIX_CLAUDE_API") {
        vars.insert("CHATRIX_CLAUDE_API".to_owned(), api);
    }
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let cfg = Config::from_vars(&vars, false).expect("test config parses");
    let pool = Pool::connect(&cfg.failover, &Pool::emulator_base().await).await;
    let state = AppState::with_pool(cfg, pool).expect("state builds");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(chatrix::serve(listener, state, std::future::pending()));
    let app = TestApp {
        url,
        http: reqwest::Client::new(),
        emulator: emulators.last().cloned().expect("one emulator"),
        emulator_url: String::new(),
    };
    (app, emulators)
}

fn failing(kind: &str, times: u32, retry_after: Option<u64>, message: Option<&str>) -> Script {
    Script {
        error: Some(ScriptError {
            kind: kind.into(),
            message: message.map(Into::into),
            status: None,
            retry_after,
        }),
        times: Some(times),
        ..Script::default()
    }
}

fn body(stream: bool) -> Value {
    json!({
        "model": "claude-sonnet-4-6", "max_tokens": 256, "stream": stream,
        "messages": [{"role": "user", "content": "hello"}]
    })
}

async fn ask(app: &TestApp, session: &str) -> Reply {
    let headers = [("x-api-key", KEY), ("x-claude-code-session-id", session)];
    app.post("/v1/messages", &body(false), &headers).await
}

fn upstream(reply: &Reply) -> &str {
    reply
        .headers
        .get("x-chatrix-upstream")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn calls(emulator: &Emulator) -> usize {
    emulator.requests().len()
}

#[tokio::test]
async fn a_throttled_primary_is_served_by_the_secondary_with_no_client_visible_error() {
    let (app, emus) = spawn_pool(2, &[]).await;
    emus[0].push_script(failing("ThrottlingException", 1, None, None));
    let reply = ask(&app, "s1").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["type"], "message");
    assert_eq!(upstream(&reply), "us-west-2/global");
    assert_eq!((calls(&emus[0]), calls(&emus[1])), (1, 1));
}

#[tokio::test]
async fn a_throttled_primary_is_served_by_the_secondary_when_streaming_too() {
    let (app, emus) = spawn_pool(2, &[]).await;
    emus[0].push_script(failing("ServiceUnavailableException", 1, None, None));
    let resp = app.send_messages(&body(true)).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["x-chatrix-upstream"], "us-west-2/global");
    let text = resp.text().await.expect("stream body");
    assert!(text.contains("event: message_stop"), "{text}");
    assert!(!text.contains("event: error"), "{text}");
    assert_eq!((calls(&emus[0]), calls(&emus[1])), (1, 1));
}

#[tokio::test]
async fn a_validation_error_is_not_retried_on_another_upstream() {
    let (app, emus) = spawn_pool(2, &[]).await;
    emus[0].push_script(failing("ValidationException", 1, None, Some("bad field")));
    let reply = ask(&app, "s1").await;
    assert_error(&reply, 400, "invalid_request_error");
    assert_eq!(calls(&emus[1]), 0, "the secondary was never asked");
}

#[tokio::test]
async fn a_stream_that_failed_after_its_first_delta_is_not_retried() {
    let (app, emus) = spawn_pool(2, &[]).await;
    let mut script = failing("throttlingException", 1, None, None);
    script.stream_error_after = Some(1);
    script.content = vec![bedrock_emulator::ScriptBlock::Text("one two three".into())];
    emus[0].push_script(script);
    let resp = app.send_messages(&body(true)).await;
    let text = resp.text().await.expect("stream body");
    assert!(text.contains("content_block_delta"), "{text}");
    assert!(text.contains("event: error"), "{text}");
    assert_eq!(calls(&emus[1]), 0, "nothing sent to the client is repeated");
}

#[tokio::test]
async fn when_every_upstream_throttles_the_client_gets_the_smallest_retry_after() {
    let (app, emus) = spawn_pool(3, &[]).await;
    emus[0].push_script(failing(
        "ThrottlingException",
        1,
        Some(7),
        Some("east busy"),
    ));
    emus[1].push_script(failing(
        "ThrottlingException",
        1,
        Some(3),
        Some("west busy"),
    ));
    emus[2].push_script(failing("ThrottlingException", 1, Some(5), Some("eu busy")));
    let reply = ask(&app, "s1").await;
    assert_error(&reply, 429, "rate_limit_error");
    assert_eq!(reply.headers["retry-after"], "3");
    assert_eq!(
        reply.body["error"]["message"], "west busy",
        "Bedrock's words"
    );
    assert_eq!(emus.iter().map(calls).sum::<usize>(), 3);
}

#[tokio::test]
async fn an_upstream_that_cannot_be_reached_is_failed_over() {
    let second = Emulator::new().expect("emulator starts");
    let url = second.spawn(0).await.expect("binds");
    // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    let upstreams = format!("us-east-1=http://127.0.0.1:9,us-west-2={url}");
    let (app, emus) = spawn_on(&upstreams, &[], vec![second]).await;
    let reply = ask(&app, "s1").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(upstream(&reply), "us-west-2/global");
    assert_eq!(calls(&emus[0]), 1);
}

#[tokio::test]
async fn no_upstream_is_tried_after_the_time_budget() {
    let (app, emus) = spawn_pool(2, &[("CHATRIX_FAILOVER_BUDGET_SECS", "0")]).await;
    emus[0].push_script(failing("ThrottlingException", 1, None, None));
    let reply = ask(&app, "s1").await;
    assert_error(&reply, 429, "rate_limit_error");
    assert_eq!(calls(&emus[1]), 0);
}

#[tokio::test]
async fn a_cooling_upstream_is_skipped_by_other_sessions() {
    let (app, emus) = spawn_pool(2, &[]).await;
    emus[0].push_script(failing("ThrottlingException", 1, None, None));
    assert_eq!(ask(&app, "first").await.status, 200);
    let reply = ask(&app, "second").await;
    assert_eq!(upstream(&reply), "us-west-2/global");
    assert_eq!(
        calls(&emus[0]),
        1,
        "the primary was not asked again while cooling"
    );
}

#[tokio::test]
async fn a_session_stays_on_the_secondary_until_its_stickiness_expires() {
    let settings = [
        ("CHATRIX_COOLDOWN_SECS", "1"),
        ("CHATRIX_COOLDOWN_MAX_SECS", "1"),
        ("CHATRIX_STICKY_SECS", "2"),
    ];
    let (app, emus) = spawn_pool(2, &settings).await;
    emus[0].push_script(failing("ThrottlingException", 1, None, None));
    assert_eq!(upstream(&ask(&app, "moved").await), "us-west-2/global");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // The primary has recovered: a new session goes there, the moved one stays for its cache.
    assert_eq!(upstream(&ask(&app, "new").await), "us-east-1/global");
    assert_eq!(upstream(&ask(&app, "moved").await), "us-west-2/global");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(upstream(&ask(&app, "moved").await), "us-east-1/global");
}

#[tokio::test]
async fn a_throttled_profile_falls_back_to_the_next_listed_geography() {
    let app = crate::helpers::spawn_app_with(&[("CHATRIX_PROFILE_FALLBACK", "us")]).await;
    let quiet = ask(&app, "s1").await;
    assert_eq!(
        upstream(&quiet),
        "us-east-1/global",
        "one client, today's profile"
    );
    app.emulator
        .push_script(failing("ThrottlingException", 1, None, None));
    let reply = ask(&app, "s2").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(upstream(&reply), "us-east-1/us");
}
