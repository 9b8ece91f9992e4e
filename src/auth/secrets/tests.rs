use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::time::Instant;

use super::*;

/// A secret whose value (or failure) the test sets, counting fetches.
#[derive(Clone)]
struct FakeSource {
    value: Arc<Mutex<Result<String, String>>>,
    fetches: Arc<AtomicUsize>,
    delay: Arc<Mutex<Duration>>,
}

impl Default for FakeSource {
    fn default() -> Self {
        Self {
            value: Arc::new(Mutex::new(Err("no value yet".to_owned()))),
            fetches: Arc::default(),
            delay: Arc::default(),
        }
    }
}

impl FakeSource {
    fn with(value: &str) -> Self {
        let s = Self::default();
        s.set(value);
        s
    }
    fn set(&self, value: &str) {
        *self.value.lock().expect("lock") = Ok(value.to_owned());
    }
    fn fail(&self) {
        *self.value.lock().expect("lock") = Err("connection refused".to_owned());
    }
    fn slow(&self, by: Duration) {
        *self.delay.lock().expect("lock") = by;
    }
    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl SecretSource for FakeSource {
    async fn fetch(&self) -> Result<SecretString, SourceError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let delay = *self.delay.lock().expect("lock");
        tokio::time::sleep(delay).await;
        let v = self.value.lock().expect("lock").clone();
        v.map(SecretString::from).map_err(SourceError)
    }
    fn describe(&self) -> &str {
        "test-secret"
    }
}

fn settings(ttl_ms: u64, negative_ms: u64) -> KeyStoreConfig {
    KeyStoreConfig {
        secret_id: Some("test-secret".into()),
        ttl: Duration::from_millis(ttl_ms),
        negative_ttl: Duration::from_millis(negative_ms),
        capacity: 100,
    }
}

async fn check(store: &SecretKeys<FakeSource>, key: &str) -> Result<Option<String>, ApiError> {
    store
        .validate(&SecretString::from(key.to_owned()))
        .await
        .map(|n| n.map(|n| n.name.to_string()))
}

const NAMED: &str = r#"{"api_keys": {"alice": "sk-alice", "ci": "sk-ci"}}"#;

#[test]
fn both_secret_formats_parse_and_errors_never_quote_the_secret() {
    let one = parse_secret(r#"{"api_key": " sk-only "}"#).expect("one key");
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].name, SINGLE_KEY_NAME);
    assert_eq!(one[0].key.expose_secret(), "sk-only");
    let named = parse_secret(NAMED).expect("named");
    let names: Vec<&str> = named.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["alice", "ci"]);
    let both = parse_secret(r#"{"api_key": "sk-1", "api_keys": {"bob": "sk-2"}}"#).expect("both");
    assert_eq!(both.len(), 2);
    for bad in [
        "sk-secret-not-json",
        r#"["sk-secret-in-array"]"#,
        r#"{"apikey": "sk-secret-misnamed"}"#,
        r#"{"api_key": ""}"#,
        r#"{"api_keys": {"alice": 42}}"#,
        r#"{"api_keys": ["sk-secret-list"]}"#,
        r#"{"api_keys": {"": "sk-secret-nameless"}}"#,
        r#"{"api_keys": {}}"#,
    ] {
        let e = parse_secret(bad).expect_err(bad);
        assert!(!e.contains("sk-secret"), "{e}");
    }
}

#[tokio::test(start_paused = true)]
async fn nothing_is_fetched_until_the_first_request_and_one_fetch_serves_a_burst() {
    let source = FakeSource::with(NAMED);
    source.slow(Duration::from_millis(50));
    let store = Arc::new(SecretKeys::new(source.clone(), settings(60_000, 60_000)));
    assert_eq!(source.fetches(), 0, "no fetch at construction");
    let burst = (0..50).map(|i| {
        let store = store.clone();
        async move { check(&store, if i % 2 == 0 { "sk-alice" } else { "sk-ci" }).await }
    });
    let names = futures::future::join_all(burst).await;
    assert_eq!(
        source.fetches(),
        1,
        "concurrent first requests share one load"
    );
    for (i, n) in names.into_iter().enumerate() {
        let want = if i % 2 == 0 { "alice" } else { "ci" };
        assert_eq!(n.expect("valid").as_deref(), Some(want));
    }
}

#[tokio::test(start_paused = true)]
async fn unknown_keys_are_rejected_and_cached_briefly() {
    let source = FakeSource::with(NAMED);
    let store = SecretKeys::new(source.clone(), settings(60_000, 60_000));
    assert_eq!(
        check(&store, "sk-alice").await.expect("ok").as_deref(),
        Some("alice")
    );
    for _ in 0..20 {
        assert_eq!(check(&store, "sk-random").await.expect("answers"), None);
    }
    assert_eq!(source.fetches(), 1, "misses on a fresh set do not reload");
    let remembered = store
        .verdicts
        .get(&digest(&SecretString::from("sk-random".to_owned())))
        .await
        .expect("the rejection is cached");
    assert!(remembered.name.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_key_added_to_the_secret_works_after_the_negative_ttl_without_waiting_for_the_ttl() {
    let source = FakeSource::with(NAMED);
    let store = SecretKeys::new(source.clone(), settings(60_000, 100));
    assert_eq!(check(&store, "sk-new").await.expect("answers"), None);
    source.set(r#"{"api_keys": {"alice": "sk-alice", "new": "sk-new"}}"#);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        check(&store, "sk-new").await.expect("ok").as_deref(),
        Some("new")
    );
    assert_eq!(source.fetches(), 2);
}

#[tokio::test(start_paused = true)]
async fn rotation_is_picked_up_within_the_ttl() {
    let source = FakeSource::with(r#"{"api_key": "sk-old"}"#);
    let store = SecretKeys::new(source.clone(), settings(200, 50));
    assert_eq!(
        check(&store, "sk-old").await.expect("ok").as_deref(),
        Some("default")
    );
    source.set(r#"{"api_key": "sk-new"}"#);
    // Within the TTL the old key is still trusted from the cache.
    assert!(check(&store, "sk-old").await.expect("ok").is_some());
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(check(&store, "sk-old").await.expect("answers"), None);
    assert_eq!(
        check(&store, "sk-new").await.expect("ok").as_deref(),
        Some("default")
    );
}

#[tokio::test(start_paused = true)]
async fn an_outage_keeps_the_last_good_set_and_retries_at_most_once_per_negative_ttl() {
    let source = FakeSource::with(NAMED);
    let store = SecretKeys::new(source.clone(), settings(50, 200));
    assert!(check(&store, "sk-ci").await.expect("ok").is_some());
    source.fail();
    tokio::time::sleep(Duration::from_millis(80)).await;
    for _ in 0..10 {
        assert_eq!(
            check(&store, "sk-ci").await.expect("served").as_deref(),
            Some("ci")
        );
        assert_eq!(check(&store, "sk-wrong").await.expect("answers"), None);
    }
    assert_eq!(source.fetches(), 2, "one failed reload, then a pause");
    source.set(r#"{"api_key": "sk-after"}"#);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        check(&store, "sk-after").await.expect("ok").as_deref(),
        Some("default")
    );
    assert_eq!(check(&store, "sk-ci").await.expect("answers"), None);
}

#[tokio::test(start_paused = true)]
async fn with_no_good_set_ever_loaded_the_answer_is_unavailable_never_unauthenticated() {
    let source = FakeSource::default();
    source.fail();
    let store = SecretKeys::new(source.clone(), settings(60_000, 100));
    for _ in 0..5 {
        let e = check(&store, "sk-any").await.expect_err("no key set");
        assert!(matches!(e, ApiError::KeyStoreUnavailable { .. }), "{e:?}");
    }
    assert_eq!(
        source.fetches(),
        1,
        "failures are not retried on every request"
    );
    source.set(NAMED);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        check(&store, "sk-ci").await.expect("ok").as_deref(),
        Some("ci")
    );
}

#[tokio::test(start_paused = true)]
async fn a_malformed_secret_counts_as_a_failed_load() {
    let source = FakeSource::with("not json at all");
    let store = SecretKeys::new(source.clone(), settings(60_000, 60_000));
    let e = check(&store, "sk-any").await.expect_err("unusable secret");
    assert!(matches!(e, ApiError::KeyStoreUnavailable { .. }), "{e:?}");
}

#[tokio::test(start_paused = true)]
async fn the_verdict_cache_stays_within_its_capacity() {
    let source = FakeSource::with(NAMED);
    let store = SecretKeys::new(
        source,
        KeyStoreConfig {
            capacity: 16,
            ..settings(60_000, 60_000)
        },
    );
    for i in 0..2_000 {
        assert_eq!(
            check(&store, &format!("sk-random-{i}"))
                .await
                .expect("answers"),
            None
        );
    }
    store.verdicts.run_pending_tasks().await;
    assert!(
        store.verdicts.entry_count() <= 16,
        "{}",
        store.verdicts.entry_count()
    );
}

#[tokio::test(start_paused = true)]
async fn with_a_good_set_in_hand_nobody_waits_for_a_slow_reload() {
    let source = FakeSource::with(NAMED);
    let store = Arc::new(SecretKeys::new(source.clone(), settings(1_000, 500)));
    assert!(check(&store, "sk-ci").await.expect("ok").is_some());
    source.slow(Duration::from_secs(5));
    source.fail();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    // One request starts the (slow, failing) reload...
    let reloading = tokio::spawn({
        let store = store.clone();
        async move { check(&store, "sk-alice").await }
    });
    tokio::task::yield_now().await;
    // ...and others are answered from the last good set meanwhile, without waiting for it.
    let started = Instant::now();
    assert_eq!(
        check(&store, "sk-ci").await.expect("served").as_deref(),
        Some("ci")
    );
    assert_eq!(started.elapsed(), Duration::ZERO, "waited for the reload");
    assert!(!reloading.is_finished());
    let late = reloading.await.expect("joined").expect("last good set");
    assert_eq!(late.as_deref(), Some("alice"));
}

#[tokio::test(start_paused = true)]
async fn a_cold_outage_tells_clients_when_to_retry() {
    let source = FakeSource::default();
    source.fail();
    let store = SecretKeys::new(source, settings(60_000, 7_000));
    match check(&store, "sk-any").await {
        Err(ApiError::KeyStoreUnavailable { retry_after, .. }) => {
            assert!((7..=8).contains(&retry_after), "{retry_after}");
        }
        other => panic!("expected a 503 with retry-after, got {other:?}"),
    }
}

#[test]
fn names_that_look_like_keys_are_refused_without_being_quoted() {
    for bad in [
        r#"{"api_keys": {"sk-ant-inverted-map-0123": "alice"}}"#,
        r#"{"api_keys": {"has space": "sk-1"}}"#,
        r#"{"api_keys": {"line\nbreak": "sk-1"}}"#,
    ] {
        let e = parse_secret(bad).expect_err(bad);
        assert!(!e.contains("inverted") && !e.contains("space"), "{e}");
    }
    let long = format!(r#"{{"api_keys": {{"{}": "sk-1"}}}}"#, "n".repeat(65));
    assert!(parse_secret(&long).is_err());
    assert!(parse_secret(r#"{"api_keys": {"ci-bot_2@team.x": "sk-1"}}"#).is_ok());
}
