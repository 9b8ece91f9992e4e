//! The exact-count chain behind `count_tokens`: bedrock-runtime CountTokens, then bedrock-mantle's
//! Anthropic `count_tokens` for models runtime refuses; the caller answers the local estimate when
//! neither counts.
//!
//! What it learns: a counter that refuses a *model* (unsupported model or region, access denied)
//! is not asked about that model again for an hour (`AppState::count_refusals`); a refused *body*
//! is remembered per body with the counts (`AppState::token_counts`); transient failures
//! (throttling, 5xx, timeouts, network) are never remembered. Concurrent identical requests share
//! one pass through the chain. The runtime body is a parameter: `input.invokeModel` on the native
//! Claude path, `input.converse` on the Converse path. Details: `docs/token-counting.md`.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use moka::future::Cache;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::{AppState, Counter};

/// Longer than a healthy count takes; a slow one is answered by the estimate instead.
const COUNTER_TIMEOUT: Duration = Duration::from_secs(10);

/// One count to make.
pub(super) struct CountJob<'a> {
    /// The bare Bedrock id (`anthropic.claude-…`), which both counters take.
    pub base_id: &'a str,
    /// The bedrock-runtime CountTokens body (`{"input":{…}}`).
    pub runtime_body: Bytes,
    /// bedrock-mantle's Anthropic body and betas; `None` when mantle is not to be asked.
    pub mantle: Option<MantleJob>,
}

pub(super) struct MantleJob {
    pub body: Bytes,
    pub betas: Vec<String>,
}

/// The exact count, from the cache or one pass through the chain shared by every concurrent
/// identical request; `None` when no counter counted it. Counts are cached per `caller` (key
/// name), so one caller cannot time another's requests.
pub(super) async fn exact_count(state: &AppState, caller: &str, job: CountJob<'_>) -> Option<u64> {
    let key = cache_key(caller, job.base_id, &job.runtime_body, job.mantle.as_ref());
    let refusals = &state.count_refusals;
    let base = job.base_id;
    let runtime = || state.bedrock.count_tokens(base, job.runtime_body.clone());
    let mantle = job
        .mantle
        .as_ref()
        .filter(|_| state.bedrock.mantle().is_configured())
        .map(|m| {
            || {
                state
                    .bedrock
                    .mantle()
                    .count_tokens(m.body.clone(), &m.betas)
            }
        });
    let call = chain(refusals, base, runtime, mantle);
    state.token_counts.try_get_with(key, call).await.ok()?
}

/// How one counter answered.
#[derive(Debug)]
enum Asked {
    Counted(u64),
    /// The model is not counted here (now, or remembered from an earlier refusal).
    ModelRefused,
    /// This body is refused; another would not be.
    BodyRefused,
    /// Worth asking again later.
    Failed(ApiError),
}

/// Runtime first; mantle only where runtime refuses the model. `Ok(None)`: refused everywhere
/// (cached with the counts); `Err`: a transient failure (not cached).
async fn chain<R, RF, M, MF>(
    refusals: &Cache<(Counter, String), ()>,
    base: &str,
    runtime: R,
    mantle: Option<M>,
) -> Result<Option<u64>, ApiError>
where
    R: FnOnce() -> RF,
    RF: Future<Output = Result<i32, ApiError>>,
    M: FnOnce() -> MF,
    MF: Future<Output = Result<u64, ApiError>>,
{
    // Boxed: the SDK's operation future alone is ~24 KB.
    let runtime_count = Box::pin(async { runtime().await.map(|n| u64::try_from(n).unwrap_or(0)) });
    match ask(refusals, Counter::Runtime, base, runtime_count).await {
        Asked::Counted(n) => return Ok(Some(n)),
        Asked::BodyRefused => return Ok(None),
        Asked::Failed(e) => return Err(e),
        Asked::ModelRefused => {}
    }
    let Some(mantle) = mantle else {
        return Ok(None);
    };
    match ask(refusals, Counter::Mantle, base, Box::pin(mantle())).await {
        Asked::Counted(n) => Ok(Some(n)),
        Asked::BodyRefused | Asked::ModelRefused => Ok(None),
        Asked::Failed(e) => Err(e),
    }
}

/// Asks one counter, unless it refused this model within the last hour. The call is only awaited
/// (and so only made) when asked.
async fn ask(
    refusals: &Cache<(Counter, String), ()>,
    counter: Counter,
    base: &str,
    call: impl Future<Output = Result<u64, ApiError>>,
) -> Asked {
    let remembered = (counter, base.to_owned());
    if refusals.contains_key(&remembered) {
        return Asked::ModelRefused;
    }
    let answer = tokio::time::timeout(COUNTER_TIMEOUT, call)
        .await
        .unwrap_or_else(|_| Err(ApiError::Timeout("the count timed out".into())))
        // Zero means "unknown" to clients: never pass it on, never keep it.
        .and_then(|n| {
            Some(n)
                .filter(|&n| n > 0)
                .ok_or_else(|| ApiError::Upstream("the counter answered 0".into()))
        });
    let e = match answer {
        Ok(n) => return Asked::Counted(n),
        Err(e) => e,
    };
    // The kind only: a counter's message can quote the input.
    if refuses_the_model(&e) {
        tracing::info!(
            counter = ?counter,
            model = base,
            error_type = e.kind(),
            status = e.status().as_u16(),
            "this counter refuses the model; not asked again for an hour"
        );
        refusals.insert(remembered, ()).await;
        return Asked::ModelRefused;
    }
    tracing::warn!(
        counter = ?counter,
        error_type = e.kind(),
        status = e.status().as_u16(),
        "token count failed"
    );
    if is_refusal(&e) {
        Asked::BodyRefused
    } else {
        Asked::Failed(e)
    }
}

/// Failures that asking again would repeat (the model or region does not count tokens, the body
/// fails validation, the gateway's identity lacks access). Throttling, timeouts, network and
/// server errors are transient and never cached.
fn is_refusal(e: &ApiError) -> bool {
    matches!(
        e,
        ApiError::InvalidRequest(_) | ApiError::Permission(_) | ApiError::NotFound(_)
    )
}

/// Refusals about the model rather than the body: every other body would be refused too.
fn refuses_the_model(e: &ApiError) -> bool {
    match e {
        ApiError::Permission(_) | ApiError::NotFound(_) => true,
        ApiError::InvalidRequest(m) => {
            let m = m.to_ascii_lowercase();
            (m.contains("support") && m.contains("count"))
                || m.contains("model identifier is invalid")
                || (m.contains("model") && m.contains("not available"))
        }
        _ => false,
    }
}

fn cache_key(caller: &str, model_id: &str, body: &[u8], mantle: Option<&MantleJob>) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in [caller.as_bytes(), model_id.as_bytes(), body] {
        hash.update(part.len().to_le_bytes());
        hash.update(part);
    }
    if let Some(m) = mantle {
        hash.update(m.body.len().to_le_bytes());
        hash.update(&m.body);
        hash.update(m.betas.join(",").as_bytes());
    }
    hash.finalize().into()
}

#[cfg(test)]
#[path = "counting_tests.rs"]
mod tests;
