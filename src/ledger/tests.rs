use super::*;
use crate::auth::limits::{Budget, KeyLimits};
use crate::models::Price;

const PRICE: ModelPrice = ModelPrice {
    base: Price {
        input: 1.0,
        output: 5.0,
        cache_write: None,
        cache_read: None,
    },
    long_context: None,
    estimated: false,
};

fn memory() -> Ledger {
    Ledger::new(&LedgerConfig::default())
}

fn key(limits: KeyLimits) -> AuthedKey {
    AuthedKey {
        name: Arc::from("alice"),
        limits: Some(Arc::new(limits)),
        admin: false,
    }
}

fn ask(key: &AuthedKey, input_estimate: u64) -> Ask<'_> {
    Ask {
        key,
        model: "claude-test",
        price: Some(&PRICE),
        input_estimate,
        max_tokens: 1_000,
    }
}

fn spent(cost_nanos: i64) -> Spent {
    Spent {
        input_tokens: 100,
        output_tokens: 10,
        cost_nanos,
        ..Spent::default()
    }
}

fn daily(usd: f64) -> KeyLimits {
    KeyLimits {
        budget: Budget {
            day: Some(plan::usd_to_nanos(usd)),
            month: None,
        },
        ..KeyLimits::default()
    }
}

#[tokio::test]
async fn a_key_without_limits_and_without_a_table_is_not_counted() {
    let ledger = memory();
    let plain = AuthedKey {
        name: Arc::from("bob"),
        limits: None,
        admin: false,
    };
    assert!(ledger.admit(ask(&plain, 10)).await.expect("ok").is_none());
}

#[tokio::test]
async fn spend_is_reconciled_to_the_real_cost_and_an_exhausted_budget_answers_402() {
    let ledger = memory();
    // Each reservation: 1,000 input at $1/MTok + 1,000 output at $5/MTok = $0.006.
    let alice = key(daily(0.02));
    for _ in 0..4 {
        let admitted = ledger.admit(ask(&alice, 1_000)).await.expect("admitted");
        let admitted = admitted.expect("counted");
        assert!(admitted.quota.budget_left.is_some());
        // Each answer really cost $0.004, less than reserved.
        ledger.settle(admitted, spent(4_000_000)).await;
    }
    // $0.016 spent; $0.004 left is less than the $0.006 reservation.
    let err = ledger.admit(ask(&alice, 1_000)).await.expect_err("refused");
    assert_eq!(err.status().as_u16(), 402);
    assert!(err.to_string().contains("has $0.004 left"), "{err}");
    let rows = ledger
        .usage_of_day(&Periods::at(OffsetDateTime::now_utc()).day)
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].sk, "alice#claude-test");
    assert_eq!(rows[0].numbers["requests"], 4);
    assert_eq!(rows[0].numbers["cost_nanos"], 16_000_000);
}

#[tokio::test]
async fn requests_over_the_rpm_are_refused_with_retry_after_and_headers_count_down() {
    let ledger = memory();
    let alice = key(KeyLimits {
        rpm: Some(2),
        tpm: Some(1_000_000),
        ..KeyLimits::default()
    });
    let first = ledger
        .admit(ask(&alice, 10))
        .await
        .expect("1")
        .expect("counted");
    let requests = first.quota.requests.clone().expect("requests window");
    assert_eq!((requests.limit, requests.remaining), (2, 1));
    let headers = first.quota.headers();
    assert!(headers.contains(&("anthropic-ratelimit-requests-remaining", "1".into())));
    assert!(headers.contains(&("anthropic-ratelimit-tokens-remaining", "999990".into())));
    ledger.admit(ask(&alice, 10)).await.expect("2");
    let err = ledger.admit(ask(&alice, 10)).await.expect_err("3rd");
    match err {
        ApiError::RateLimited {
            message,
            retry_after: Some(secs),
        } => {
            assert!((1..=60).contains(&secs));
            assert!(message.contains("2 requests per minute"), "{message}");
        }
        other => panic!("expected a rate limit, got {other:?}"),
    }
}

#[tokio::test]
async fn a_refused_budget_gives_back_what_the_other_counters_took() {
    let ledger = memory();
    let mut limits = daily(1.0);
    limits.budget.month = Some(plan::usd_to_nanos(0.01));
    limits.rpm = Some(100);
    let alice = key(limits);
    let a = ledger
        .admit(ask(&alice, 1_000))
        .await
        .expect("ok")
        .expect("counted");
    ledger.settle(a, spent(6_000_000)).await;
    ledger
        .admit(ask(&alice, 1_000))
        .await
        .expect_err("month is short");
    // The day counter holds only the settled cost: the refused reservation was given back.
    let day = Periods::at(OffsetDateTime::now_utc()).key(periods::Period::Day);
    let rows = ledger.store.query("spend#key#alice").await.expect("rows");
    let day_row = rows.iter().find(|r| r.sk == day).expect("day row");
    assert_eq!(day_row.numbers["nanos"], 6_000_000);
    let rate = ledger.store.query("rate#key#alice").await.expect("rate");
    assert_eq!(rate[0].numbers["requests"], 1);
}

#[tokio::test]
async fn concurrent_requests_never_spend_past_the_budget_plus_the_overshoot_bound() {
    let ledger = Arc::new(memory());
    let budget = plan::usd_to_nanos(0.1);
    let alice = Arc::new(key(daily(0.1)));
    // Each reserves $0.006 and really costs $0.009: $0.003 over its reservation.
    let tasks = (0..64).map(|_| {
        let (ledger, alice) = (ledger.clone(), alice.clone());
        tokio::spawn(async move {
            let admitted = ledger.admit(ask(&alice, 1_000)).await.ok()??;
            tokio::task::yield_now().await;
            ledger.settle(admitted, spent(9_000_000)).await;
            Some(9_000_000i64)
        })
    });
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("joined").unwrap_or(0);
    }
    assert!(total > 0);
    assert!(total <= budget + 64 * 3_000_000, "{total}");
    let rows = ledger.store.query("spend#key#alice").await.expect("rows");
    assert_eq!(
        rows[0].numbers["nanos"], total,
        "the ledger holds what was spent"
    );
}
