//! What one Converse or InvokeModel call costs in CPU, with nothing else in the process: Chatrix's
//! own [`Bedrock`] client (the real `aws-sdk-bedrockruntime`, configured as the gateway configures it)
//! against a bare pooled hyper client posting the same bytes. The difference is the SDK's
//! per-call machinery (orchestrator, interceptors, endpoint rules, SigV4), which no server-side
//! change can remove; bench/run's CPU-per-request ratio should be read against it.
//!
//! Usage: `sdk-cost <upstream-base-url> <model-id> <body.json> [concurrency] [seconds] [operation]`,
//! operation `converse` (the default; a Converse body) or `invoke` (InvokeModel, the native path's
//! call; an Anthropic body as Chatrix sends it). Prints one `SDK_COST {json}` line per client.
//!
//! With `SDK_COST_CALLS=N` in the environment it makes exactly N SDK calls, no warm-up and no
//! hyper client, and reports no CPU: for counting instructions under callgrind, where two runs of
//! different N cancel the start-up (bench/instructions.py).
//!
//! With `SDK_COST_IDLE_MS=G` as well it makes one uncounted call, then N pairs of calls one at a
//! time, each pair after G ms of idleness, the second call at once after the first (concurrency
//! and seconds are unused), and prints one `SDK_IDLE {json}` line with every pair's wall times:
//! what a call costs when the process has sat idle (caches cold) against the same call warm
//! (bench/focus.py --idle).

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chatrix::bedrock::Bedrock;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

// As in the gateway (src/main.rs), so the allocator is not what differs.
#[global_allocator]
static GLOBAL: chatrix_alloc::Allocator = chatrix_alloc::Allocator;

/// CPU seconds this process has used so far (user + system), from /proc.
fn cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow::anyhow!("odd /proc/self/stat"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime), counted from after the command name.
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    Ok(ticks / 100.0)
}

/// Runs `call` from `concurrency` tasks for `seconds`; returns (calls, CPU µs per call).
async fn measure<F, Fut>(concurrency: usize, seconds: u64, call: F) -> anyhow::Result<(u64, f64)>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let call = Arc::new(call);
    let done = Arc::new(AtomicU64::new(0));
    let warm_until = Instant::now() + Duration::from_secs(1);
    let end = warm_until + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (call, done) = (call.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < end {
                call().await?;
                if Instant::now() > warm_until {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
            anyhow::Ok(())
        }));
    }
    tokio::time::sleep_until(warm_until.into()).await;
    let (cpu0, n0) = (cpu_seconds()?, done.load(Ordering::Relaxed));
    tokio::time::sleep_until(end.into()).await;
    let (cpu1, n1) = (cpu_seconds()?, done.load(Ordering::Relaxed));
    for t in tasks {
        t.await??;
    }
    let calls = n1 - n0;
    Ok((calls, (cpu1 - cpu0) * 1e6 / calls.max(1) as f64))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [upstream, model, body_file, rest @ ..] = args.as_slice() else {
        anyhow::bail!(
            "usage: sdk-cost <upstream> <model-id> <body.json> [concurrency] [seconds] [converse|invoke]"
        );
    };
    let concurrency = rest.first().map_or(Ok(16), |c| c.parse())?;
    let seconds = rest.get(1).map_or(Ok(5), |s| s.parse())?;
    let invoke = match rest.get(2).map_or("converse", String::as_str) {
        "converse" => false,
        "invoke" => true,
        other => anyhow::bail!("unknown operation `{other}`: converse or invoke"),
    };
    let body = Bytes::from(std::fs::read(body_file)?);
    let mut out = std::io::stdout();

    let bedrock = Arc::new(Bedrock::for_endpoint(upstream).await);
    if let Some(calls) = std::env::var_os("SDK_COST_CALLS") {
        let calls: u64 = calls.to_string_lossy().parse()?;
        if let Some(idle) = std::env::var_os("SDK_COST_IDLE_MS") {
            let idle = Duration::from_millis(idle.to_string_lossy().parse()?);
            return after_idle(&bedrock, model, &body, invoke, calls, idle).await;
        }
        return counted(&bedrock, model, &body, invoke, concurrency, calls).await;
    }
    let (m, b) = (model.clone(), body.clone());
    let (calls, cpu) = measure(concurrency, seconds, move || {
        let (bedrock, m, b) = (bedrock.clone(), m.clone(), b.clone());
        async move { call(&bedrock, &m, b, invoke).await }
    })
    .await?;
    report(&mut out, "sdk", calls, cpu)?;

    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let uri: hyper::Uri = format!(
        "{}/model/{}/{}",
        upstream.trim_end_matches('/'),
        model.replace(':', "%3A"),
        if invoke { "invoke" } else { "converse" }
    )
    .parse()?;
    let (calls, cpu) = measure(concurrency, seconds, move || {
        let request = hyper::Request::post(uri.clone())
            .header("content-type", "application/json")
            .header("authorization", FAKE_SIGV4)
            .body(Full::new(body.clone()));
        let client = client.clone();
        async move {
            let response = client.request(request?).await?;
            anyhow::ensure!(response.status().is_success(), "{}", response.status());
            response.into_body().collect().await?;
            Ok(())
        }
    })
    .await?;
    report(&mut out, "hyper", calls, cpu)?;
    Ok(())
}

/// One call through Chatrix's SDK client: InvokeModel or Converse.
async fn call(bedrock: &Bedrock, model: &str, body: Bytes, invoke: bool) -> anyhow::Result<()> {
    if invoke {
        bedrock.invoke(model, body).await.map(drop)
    } else {
        bedrock.converse(model, body).await.map(drop)
    }
    .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Exactly `calls` SDK calls from `concurrency` tasks (`SDK_COST_CALLS`).
async fn counted(
    bedrock: &Arc<Bedrock>,
    model: &str,
    body: &Bytes,
    invoke: bool,
    concurrency: usize,
    calls: u64,
) -> anyhow::Result<()> {
    let left = Arc::new(AtomicU64::new(calls));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (bedrock, model, body, left) = (
            bedrock.clone(),
            model.to_owned(),
            body.clone(),
            left.clone(),
        );
        tasks.push(tokio::spawn(async move {
            // Take one call at a time until none are left (fetch_sub would wrap below zero).
            while left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
            {
                call(&bedrock, &model, body.clone(), invoke).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    writeln!(
        std::io::stdout(),
        r#"SDK_COST {{"client":"sdk","calls":{calls}}}"#
    )?;
    Ok(())
}

/// `calls` pairs of calls, each pair after `idle` (`SDK_COST_IDLE_MS`): wall ms of the first
/// call of each pair (cold) and of the second (warm).
async fn after_idle(
    bedrock: &Bedrock,
    model: &str,
    body: &Bytes,
    invoke: bool,
    calls: u64,
    idle: Duration,
) -> anyhow::Result<()> {
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    // One call first, so that the connection and the client's first-use set-up are not counted.
    call(bedrock, model, body.clone(), invoke).await?;
    for _ in 0..calls {
        tokio::time::sleep(idle).await;
        for times in [&mut cold, &mut warm] {
            let started = Instant::now();
            call(bedrock, model, body.clone(), invoke).await?;
            times.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    writeln!(
        std::io::stdout(),
        r#"SDK_IDLE {{"cold_ms":{cold:?},"warm_ms":{warm:?}}}"#
    )?;
    Ok(())
}

/// One `SDK_COST {json}` line, which bench/bench.py reads.
fn report(out: &mut impl Write, client: &str, calls: u64, cpu: f64) -> std::io::Result<()> {
    writeln!(
        out,
        r#"SDK_COST {{"client":"{client}","calls":{calls},"cpu_us_per_call":{cpu:.1}}}"#
    )
}

/// The emulator checks that a SigV4 header is present, not that it verifies.
const FAKE_SIGV4: &str = "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/bedrock/aws4_request, \
SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000";
