//! `spawn_app()`: the gateway and its emulator, started the way `main` starts them.

use std::collections::HashMap;

use bedrock_emulator::Emulator;
use chatrix::bedrock::Bedrock;
use chatrix::config::Config;
use chatrix::state::AppState;
use serde_json::Value;
use tokio::net::TcpListener;

pub(crate) const KEY: &str = "sk-integration-test";

pub(crate) struct TestApp {
    pub(crate) url: String,
    pub(crate) http: reqwest::Client,
    pub(crate) emulator: Emulator,
    /// The emulator's base URL (the gateway may be pointed elsewhere: [`spawn_app_routed`]).
    pub(crate) emulator_url: String,
}

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Value,
}

pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Extra environment-style settings on top of the test defaults.
pub(crate) async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    spawn_app_until(extra, std::future::pending()).await.0
}

/// The app, serving until `shutdown` resolves; the handle yields what `serve` returned.
pub(crate) async fn spawn_app_until(
    extra: &[(&str, &str)],
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> (TestApp, tokio::task::JoinHandle<std::io::Result<()>>) {
    spawn(
        extra,
        None,
        Emulator::new().expect("emulator starts"),
        shutdown,
    )
    .await
}

/// The app over an emulator prepared by the caller (one that knows models the gateway's catalog
/// does not, or a scripted `ListInferenceProfiles` listing the gateway reads at start-up).
pub(crate) async fn spawn_app_on(emulator: Emulator, extra: &[(&str, &str)]) -> TestApp {
    spawn(extra, None, emulator, std::future::pending()).await.0
}

/// The app with its Bedrock client pointed at `bedrock` instead of the emulator (which still
/// runs, at `emulator_url`, for a relay in between to forward to).
pub(crate) async fn spawn_app_routed(extra: &[(&str, &str)], bedrock: &str) -> TestApp {
    let emulator = Emulator::new().expect("emulator starts");
    spawn(extra, Some(bedrock), emulator, std::future::pending())
        .await
        .0
}

async fn spawn(
    extra: &[(&str, &str)],
    bedrock: Option<&str>,
    emulator: Emulator,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> (TestApp, tokio::task::JoinHandle<std::io::Result<()>>) {
    let emulator_url = emulator.spawn(0).await.expect("emulator binds");
    let mut vars: HashMap<String, String> = HashMap::from([
        ("CHATRIX_API_KEYS".to_owned(), format!("test:{KEY}")),
        ("CHATRIX_BEDROCK".to_owned(), "aws".to_owned()),
    ]);
    // tests/run runs this suite once per Claude path; a test that is about one path pins it.
    if let Ok(api) = std::env::var("CHATRIX_CLAUDE_API") {
        vars.insert("CHATRIX_CLAUDE_API".to_owned(), api);
    }
    for (k, v) in extra {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    let cfg = Config::from_vars(&vars, false).expect("test config parses");
    let state = AppState::new(
        cfg,
        Bedrock::for_endpoint(bedrock.unwrap_or(&emulator_url)).await,
    )
    .expect("state builds");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(chatrix::serve(listener, state, shutdown));
    let app = TestApp {
        url,
        http: reqwest::Client::new(),
        emulator,
        emulator_url,
    };
    (app, server)
}

impl TestApp {
    pub(crate) async fn post_messages(&self, body: &Value) -> Reply {
        self.post("/v1/messages", body, &[("x-api-key", KEY)]).await
    }

    /// Posts `body` to `/v1/messages` with the test key and hands back the response unread, so a
    /// stream can be read as it arrives.
    pub(crate) async fn send_messages(&self, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}/v1/messages", self.url))
            .header("x-api-key", KEY)
            .json(body)
            .send()
            .await
            .expect("sent")
    }

    pub(crate) async fn post(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Reply {
        let mut req = self.http.post(format!("{}{path}", self.url)).json(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::reply(req.send().await.expect("request sent")).await
    }

    /// Posts `body` exactly as given (spacing, escapes, key order) with one `anthropic-beta` value.
    pub(crate) async fn post_raw(&self, path: &str, body: &str, betas: &str) -> Reply {
        let resp = self
            .http
            .post(format!("{}{path}", self.url))
            .header("x-api-key", KEY)
            .header("content-type", "application/json")
            .header("anthropic-beta", betas)
            .body(body.to_owned())
            .send()
            .await
            .expect("sent");
        Self::reply(resp).await
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        Self::reply(
            self.http
                .get(format!("{}{path}", self.url))
                .send()
                .await
                .expect("sent"),
        )
        .await
    }

    async fn reply(resp: reqwest::Response) -> Reply {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// The body of the last Converse call the emulator received.
    pub(crate) fn last_converse(&self) -> Value {
        self.emulator
            .requests()
            .into_iter()
            .rev()
            .find(|r| r.operation.starts_with("Converse"))
            .map(|r| r.body)
            .expect("the emulator received a Converse request")
    }
}

pub(crate) fn assert_error(reply: &Reply, status: u16, kind: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(reply.body["type"], "error", "{:?}", reply.body);
    assert_eq!(reply.body["error"]["type"], kind, "{:?}", reply.body);
    let id = reply
        .headers
        .get("request-id")
        .and_then(|v| v.to_str().ok())
        .expect("request-id header");
    assert_eq!(reply.body["request_id"], id);
}

/// Whether this run of the suite sends Claude through Converse (`CHATRIX_CLAUDE_API=converse`,
/// tests/run's second pass) rather than the default InvokeModel.
pub(crate) fn converse_path() -> bool {
    std::env::var("CHATRIX_CLAUDE_API").is_ok_and(|v| v == "converse")
}

/// Compares `doc` with the committed docs/`name`, a table a test writes from what it observed;
/// `CHATRIX_UPDATE_DOCS=1` rewrites the file instead. The docs describe the default (InvokeModel)
/// path, so the Converse pass checks its outcomes but not the tables.
pub(crate) fn check_doc(name: &str, doc: &str) {
    if converse_path() {
        return;
    }
    let path = format!("{}/docs/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("CHATRIX_UPDATE_DOCS").is_some() {
        std::fs::write(&path, doc).expect("doc written");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == doc,
        "docs/{name} is out of date; rerun with CHATRIX_UPDATE_DOCS=1. Now:\n{doc}"
    );
}
