use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

const BASE: &str = "anthropic.claude-opus-5";

fn refusals() -> Cache<(Counter, String), ()> {
    Cache::builder().max_capacity(100).build()
}

/// A counter that answers `answer` and counts how often it was called.
struct Fake {
    calls: AtomicUsize,
}

impl Fake {
    fn new() -> Self {
        Self {
            calls: AtomicUsize::new(0),
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// A counter whose call counts only when awaited: creating a future makes no request.
    fn runtime<'f>(
        &'f self,
        answer: impl Fn() -> Result<i32, ApiError>,
    ) -> impl FnOnce() -> BoxFuture<'f, Result<i32, ApiError>> {
        let result = answer();
        move || {
            Box::pin(async move {
                self.calls.fetch_add(1, Ordering::SeqCst);
                result
            })
        }
    }

    fn mantle<'f>(
        &'f self,
        answer: impl Fn() -> Result<u64, ApiError>,
    ) -> Option<impl FnOnce() -> BoxFuture<'f, Result<u64, ApiError>>> {
        let result = answer();
        Some(move || -> BoxFuture<'f, Result<u64, ApiError>> {
            Box::pin(async move {
                self.calls.fetch_add(1, Ordering::SeqCst);
                result
            })
        })
    }
}

fn unsupported() -> ApiError {
    ApiError::invalid("The provided model doesn't support counting tokens.")
}

fn throttled() -> ApiError {
    ApiError::RateLimited {
        message: "slow down".into(),
        retry_after: Some(1),
    }
}

#[tokio::test]
async fn a_runtime_count_is_answered_without_asking_mantle() {
    let (runtime, mantle) = (Fake::new(), Fake::new());
    let got = chain(
        &refusals(),
        BASE,
        runtime.runtime(|| Ok(42)),
        mantle.mantle(|| Ok(7)),
    )
    .await;
    assert_eq!(got.ok(), Some(Some(42)));
    assert_eq!((runtime.calls(), mantle.calls()), (1, 0));
}

#[tokio::test]
async fn a_model_runtime_refuses_is_counted_by_mantle_and_runtime_is_not_asked_again() {
    let cache = refusals();
    let (runtime, mantle) = (Fake::new(), Fake::new());
    let got = chain(
        &cache,
        BASE,
        runtime.runtime(|| Err(unsupported())),
        mantle.mantle(|| Ok(1_234)),
    )
    .await;
    assert_eq!(got.ok(), Some(Some(1_234)));
    assert!(cache.contains_key(&(Counter::Runtime, BASE.to_owned())));
    assert!(!cache.contains_key(&(Counter::Mantle, BASE.to_owned())));

    let again = chain(
        &cache,
        BASE,
        runtime.runtime(|| Ok(1)),
        mantle.mantle(|| Ok(1_300)),
    )
    .await;
    assert_eq!(again.ok(), Some(Some(1_300)));
    assert_eq!((runtime.calls(), mantle.calls()), (1, 2));
}

#[tokio::test]
async fn a_model_refused_by_both_is_remembered_for_both() {
    let cache = refusals();
    let (runtime, mantle) = (Fake::new(), Fake::new());
    let not_found = || Err(ApiError::NotFound("model: anthropic.claude-opus-5".into()));
    for _ in 0..3 {
        let got = chain(
            &cache,
            BASE,
            runtime.runtime(|| Err(ApiError::Permission("denied".into()))),
            mantle.mantle(not_found),
        )
        .await;
        assert_eq!(got.ok(), Some(None));
    }
    assert_eq!((runtime.calls(), mantle.calls()), (1, 1));
    // Another model is still asked.
    let other = chain(
        &cache,
        "anthropic.claude-sonnet-5",
        runtime.runtime(|| Ok(5)),
        mantle.mantle(|| Ok(6)),
    )
    .await;
    assert_eq!(other.ok(), Some(Some(5)));
}

#[tokio::test]
async fn transient_failures_are_not_remembered() {
    let cache = refusals();
    let (runtime, mantle) = (Fake::new(), Fake::new());
    let got = chain(
        &cache,
        BASE,
        runtime.runtime(|| Err(throttled())),
        mantle.mantle(|| Ok(9)),
    )
    .await;
    assert_eq!(got.err().map(|e| e.kind()), Some("rate_limit_error"));
    assert_eq!(mantle.calls(), 0, "a throttled runtime is not a refusal");

    let got = chain(
        &cache,
        BASE,
        runtime.runtime(|| Err(unsupported())),
        mantle.mantle(|| Err(ApiError::Overloaded("busy".into()))),
    )
    .await;
    assert_eq!(got.err().map(|e| e.kind()), Some("overloaded_error"));
    assert!(!cache.contains_key(&(Counter::Mantle, BASE.to_owned())));
}

#[tokio::test]
async fn a_refused_body_is_not_a_refused_model() {
    let cache = refusals();
    let (runtime, mantle) = (Fake::new(), Fake::new());
    let got = chain(
        &cache,
        BASE,
        runtime.runtime(|| Err(ApiError::invalid("messages.0.content: too long"))),
        mantle.mantle(|| Ok(9)),
    )
    .await;
    assert_eq!(got.ok(), Some(None));
    assert_eq!(mantle.calls(), 0);
    assert!(!cache.contains_key(&(Counter::Runtime, BASE.to_owned())));
}

#[tokio::test]
async fn zero_is_never_an_answer() {
    let (runtime, mantle) = (Fake::new(), Fake::new());
    let got = chain(
        &refusals(),
        BASE,
        runtime.runtime(|| Ok(0)),
        mantle.mantle(|| Ok(9)),
    )
    .await;
    assert_eq!(got.err().map(|e| e.kind()), Some("api_error"));
}

#[test]
fn the_cache_key_separates_callers_models_bodies_and_mantle_inputs() {
    let body = br#"{"input":{}}"#;
    let key = cache_key("alice", "anthropic.a", body, None);
    assert_eq!(key, cache_key("alice", "anthropic.a", body, None));
    assert_ne!(key, cache_key("bob", "anthropic.a", body, None));
    assert_ne!(key, cache_key("alice", "anthropic.b", body, None));
    assert_ne!(
        key,
        cache_key("alice", "anthropic.a", br#"{"input":{"x":1}}"#, None)
    );
    let job = |betas: &[&str]| MantleJob {
        body: Bytes::from_static(b"{}"),
        betas: betas.iter().map(|b| (*b).to_owned()).collect(),
    };
    let with = cache_key("alice", "anthropic.a", body, Some(&job(&[])));
    assert_ne!(key, with);
    assert_ne!(
        with,
        cache_key("alice", "anthropic.a", body, Some(&job(&["b1"])))
    );
    // Lengths keep "ab" + "c" apart from "a" + "bc".
    assert_ne!(
        cache_key("k", "ab", b"c", None),
        cache_key("k", "a", b"bc", None)
    );
    assert_ne!(
        cache_key("ka", "b", b"c", None),
        cache_key("k", "ab", b"c", None)
    );
}

#[test]
fn only_repeatable_failures_count_as_refusals() {
    assert!(is_refusal(&unsupported()));
    assert!(is_refusal(&ApiError::Permission("denied".into())));
    assert!(refuses_the_model(&unsupported()));
    assert!(refuses_the_model(&ApiError::invalid(
        "The provided model identifier is invalid."
    )));
    assert!(!refuses_the_model(&ApiError::invalid(
        "messages.0.content: too long"
    )));
    let transient = [
        throttled(),
        ApiError::Overloaded("busy".into()),
        ApiError::Timeout("late".into()),
        ApiError::Unavailable("unreachable".into()),
        ApiError::Upstream("odd".into()),
    ];
    for e in transient {
        assert!(!is_refusal(&e), "{e:?}");
        assert!(!refuses_the_model(&e), "{e:?}");
    }
}
