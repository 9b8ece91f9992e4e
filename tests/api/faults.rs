//! The fault matrix: every upstream failure a gateway meets, provoked through the emulator (or a
//! relay in front of it that resets connections), driven through the real server and its real
//! `aws-sdk-bedrockruntime` client, streaming and not. For each: what the client sees (status,
//! error type, `retry-after`, or the `event: error` after a 200), that it arrives in bounded time,
//! and that no Bedrock stream is left open afterwards. The outcomes are written to
//! docs/faults.md; the test fails when that file no longer matches
//! (`CHATRIX_UPDATE_DOCS=1 cargo test --test api faults` rewrites it).
//!
//! All scenarios run at once, each against its own gateway and emulator, so the two-minute
//! silences cost two minutes of wall time in all.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{check_doc, spawn_app_routed, spawn_app_with, TestApp, KEY};
use crate::streaming::{read_events, request};

/// Where the gateway's Bedrock calls go.
#[derive(Clone, Copy)]
enum Upstream {
    Emulator,
    /// A relay that passes the request on and resets both connections after this many bytes of
    /// the response (0: before any).
    ResetAfter(usize),
    /// A port nothing listens on.
    Unreachable,
}

struct Fault {
    name: &'static str,
    prompt: &'static str,
    upstream: Upstream,
    /// Longest the client may wait for the whole answer.
    limit: Duration,
    /// Only a stream can show it (a JSON answer is all or nothing upstream).
    stream_only: bool,
}

fn fault(name: &'static str, prompt: &'static str) -> Fault {
    Fault {
        name,
        prompt,
        upstream: Upstream::Emulator,
        limit: Duration::from_secs(10),
        stream_only: false,
    }
}

fn stream_fault(name: &'static str, prompt: &'static str) -> Fault {
    Fault {
        stream_only: true,
        ..fault(name, prompt)
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "the fault catalogue: one entry per upstream failure, in one list"
)]
fn faults() -> Vec<Fault> {
    vec![
        fault("Throttling", "[[emu:error ThrottlingException]]"),
        fault(
            "Service quota exceeded",
            "[[emu:error ServiceQuotaExceededException]]",
        ),
        fault(
            "Internal server error (500)",
            "[[emu:error InternalServerException]]",
        ),
        fault(
            "Service unavailable (503)",
            "[[emu:error ServiceUnavailableException]]",
        ),
        fault("Model not ready", "[[emu:error ModelNotReadyException]]"),
        fault("Model timeout", "[[emu:error ModelTimeoutException]]"),
        fault("Model error", "[[emu:error ModelErrorException]]"),
        fault(
            "Access denied (model not enabled)",
            "[[emu:error AccessDeniedException]]",
        ),
        fault(
            "Bad AWS credentials",
            "[[emu:error UnrecognizedClientException]]",
        ),
        fault("Bad signature", "[[emu:error InvalidSignatureException]]"),
        stream_fault(
            "Mid-stream throttling",
            "[[emu:long 40]] [[emu:stream-error throttlingException after=3]]",
        ),
        stream_fault(
            "Mid-stream internal error",
            "[[emu:long 40]] [[emu:stream-error internalServerException after=3]]",
        ),
        stream_fault(
            "Mid-stream service unavailable",
            "[[emu:long 40]] [[emu:stream-error serviceUnavailableException after=3]]",
        ),
        stream_fault(
            "Mid-stream model stream error",
            "[[emu:long 40]] [[emu:stream-error modelStreamErrorException after=3]]",
        ),
        stream_fault(
            "Truncated frame",
            "[[emu:long 40]] [[emu:truncate after=3]]",
        ),
        stream_fault(
            "Corrupt frame (checksum fails)",
            "[[emu:long 40]] [[emu:corrupt after=3]]",
        ),
        Fault {
            limit: Duration::from_secs(150),
            ..fault(
                "120 s of silence before the first token",
                "[[emu:silence 120000]] hi",
            )
        },
        Fault {
            limit: Duration::from_secs(30),
            ..stream_fault(
                "Slow drip (one event per 0.5 s)",
                "[[emu:long 12]] [[emu:drip 500]]",
            )
        },
        Fault {
            upstream: Upstream::ResetAfter(0),
            ..fault("Connection reset before the response", "[[emu:long 40]]")
        },
        Fault {
            upstream: Upstream::ResetAfter(1200),
            ..fault(
                "Connection reset during the response",
                "[[emu:long 400]] [[emu:drip 5]]",
            )
        },
        Fault {
            upstream: Upstream::Unreachable,
            ..fault("Bedrock unreachable (connection refused)", "hi")
        },
    ]
}

#[derive(Default)]
struct Outcome {
    status: u16,
    /// `error.type` and `error.message` of the error body or the `event: error`; empty on success.
    kind: String,
    message: String,
    retry_after: Option<String>,
    /// For streams: the last event's name (`message_stop` or `error`), deltas before it, pings.
    last_event: String,
    deltas: usize,
    pings: usize,
    took: Duration,
    /// Bedrock streams still open one second after the client had its answer.
    left_open: usize,
}

async fn relay(listener: TcpListener, upstream: String, cut: usize) {
    while let Ok((mut client, _)) = listener.accept().await {
        let upstream = upstream.clone();
        tokio::spawn(async move {
            let Ok(mut server) = TcpStream::connect(&upstream).await else {
                return;
            };
            let (mut from_client, mut to_client) = client.split();
            let (mut from_server, mut to_server) = server.split();
            let forward = async {
                let mut buf = [0u8; 16 * 1024];
                while let Ok(n) = from_client.read(&mut buf).await {
                    if n == 0 || to_server.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            };
            let back = async {
                let mut sent = 0;
                let mut buf = [0u8; 16 * 1024];
                while sent < cut {
                    let Ok(n) = from_server.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    let n = n.min(cut - sent);
                    if to_client.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                    sent += n;
                }
                // Let the gateway read what got through: a reset discards unread data.
                if cut > 0 {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            };
            tokio::select! {
                () = forward => {}
                () = back => {}
            }
            // SO_LINGER 0: closing sends a TCP reset instead of an orderly FIN.
            let _ = client.set_zero_linger();
            let _ = server.set_zero_linger();
        });
    }
}

async fn app_for(upstream: Upstream) -> TestApp {
    let settings = [("CHATRIX_PING_INTERVAL_SECS", "10")];
    match upstream {
        Upstream::Emulator => spawn_app_with(&settings).await,
        Upstream::Unreachable => {
            // Bound, then closed again: nothing listens there.
            let addr = TcpListener::bind("127.0.0.1:0")
                .await
                .expect("binds")
                .local_addr()
                .expect("addr");
            spawn_app_routed(&settings, &format!("http://{addr}")).await
        }
        Upstream::ResetAfter(cut) => {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
            let url = format!("http://{}", listener.local_addr().expect("addr"));
            let app = spawn_app_routed(&settings, &url).await;
            let emulator = app.emulator_url.trim_start_matches("http://").to_owned();
            tokio::spawn(relay(listener, emulator, cut));
            app
        }
    }
}

/// `error.type` and `error.message` of an error body or `error` event (empty strings otherwise).
fn error_of(payload: &serde_json::Value) -> (String, String) {
    let field = |name: &str| {
        payload["error"][name]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    (field("type"), field("message"))
}

async fn run(f: &Fault, streaming: bool) -> Outcome {
    let app = app_for(f.upstream).await;
    let started = Instant::now();
    let mut body = request(f.prompt);
    body["stream"] = json!(streaming);
    let mut out = tokio::time::timeout(f.limit, async {
        let r = app
            .http
            .post(format!("{}/v1/messages", app.url))
            .header("x-api-key", KEY)
            .json(&body)
            .send()
            .await
            .expect("an answer");
        let status = r.status().as_u16();
        if status == 200 && streaming {
            let events = read_events(r, started).await;
            let count = |name: &str| events.iter().filter(|e| e.name == name).count();
            let last = events.last();
            let (kind, message) = last.map(|e| error_of(&e.data)).unwrap_or_default();
            Outcome {
                status,
                kind,
                message,
                last_event: last.map(|e| e.name.clone()).unwrap_or_default(),
                deltas: count("content_block_delta"),
                pings: count("ping"),
                ..Outcome::default()
            }
        } else {
            let retry_after = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let (kind, message) = error_of(&r.json().await.expect("a JSON body"));
            Outcome {
                status,
                kind,
                message,
                retry_after,
                ..Outcome::default()
            }
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "{} (stream: {streaming}): no answer within {:?}",
            f.name, f.limit
        )
    });
    out.took = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    out.left_open = app.emulator.open_streams();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_upstream_fault_has_a_clear_bounded_outcome_and_docs_list_them() {
    let faults = faults();
    let runs = faults
        .iter()
        .flat_map(|f| [(f, false), (f, true)])
        .filter(|(f, streaming)| *streaming || !f.stream_only)
        .map(|(f, streaming)| async move { (f, streaming, run(f, streaming).await) });
    let results = futures::future::join_all(runs).await;
    let mut doc = String::from(HEADER);
    let mut problems = Vec::new();
    for (f, streaming, o) in &results {
        let mode = if *streaming { "stream" } else { "JSON" };
        if o.left_open > 0 {
            problems.push(format!(
                "{} ({mode}): {} Bedrock streams left open",
                f.name, o.left_open
            ));
        }
        if (o.status != 200 || o.last_event == "error") && o.kind.is_empty()
            || o.status == 200 && *streaming && o.last_event.is_empty()
        {
            problems.push(format!("{} ({mode}): no clear outcome", f.name));
        }
        let outcome = match (o.status, o.last_event.as_str()) {
            (200, "message_stop") if o.pings > 0 => {
                "200, pings while waiting, then the answer".to_owned()
            }
            (200, "message_stop") | (200, "") => "200, the answer".to_owned(),
            (200, "error") => format!("200, {} deltas, then `event: error`", o.deltas),
            (200, other) => format!("200, stream ended with `{other}`"),
            (status, _) => status.to_string(),
        };
        let kind = if o.kind.is_empty() {
            "—".to_owned()
        } else {
            format!("`{}`", o.kind)
        };
        let retry = o.retry_after.as_deref().unwrap_or("—");
        let _ = writeln!(
            doc,
            "| {} | {mode} | {outcome} | {kind} | {retry} | {} | {} |",
            f.name,
            secs(o.took),
            excerpt(&o.message)
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    check_doc("faults.md", &doc);
}

fn excerpt(message: &str) -> String {
    let mut out: String = message.chars().take(70).collect();
    if message.chars().count() > 70 {
        out.push('…');
    }
    out.replace('|', "\\|")
}

/// Rounded up to a bucket wide enough that the table is stable on a slow, busy machine.
fn secs(took: Duration) -> &'static str {
    match took.as_millis() {
        0..=2_999 => "< 3 s",
        3_000..=29_999 => "< 30 s",
        30_000..=119_999 => "< 2 min",
        _ => "≈ 2 min",
    }
}

const HEADER: &str = "# Upstream faults and what clients see

<!-- Written by tests/api/faults.rs; do not edit by hand
     (`CHATRIX_UPDATE_DOCS=1 cargo test --test api faults` rewrites it). -->

Each fault is provoked by the test suite through the Bedrock emulator (exceptions, stream
errors, truncated frames, silence, slow drips), a relay in front of it that resets the TCP
connections, or a port nothing listens on, and sent through the running gateway and its real
`aws-sdk-bedrockruntime` client, once as a JSON request and once streaming. Every row is
checked: an answer within its time bound, Anthropic error JSON (or an `event: error` once the
200 has gone out) for failures, and no Bedrock stream left open a second after the client has
its answer. Failures before the first byte of a stream are HTTP errors the SDKs retry; after
it, an `error` event, never a silent end an SDK would take for a complete answer. Faults of the
API key store (Secrets Manager down with a warm or cold cache, a missing or malformed secret)
are in [faults-key-store.md](faults-key-store.md).

| Fault | Request | Client sees | Error type | `retry-after` | Time | Message |
|---|---|---|---|---|---|---|
";
