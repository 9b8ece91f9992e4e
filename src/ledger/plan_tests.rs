use super::*;
use crate::auth::limits::{Budget, Team};
use crate::models::Price;

const SONNET: ModelPrice = ModelPrice {
    base: Price {
        input: 3.0,
        output: 15.0,
        cache_write: Some(3.75),
        cache_read: Some(0.3),
    },
    long_context: None,
    estimated: false,
};

fn periods() -> Periods {
    // 2026-03-31T23:59:30Z
    Periods::at(time::OffsetDateTime::from_unix_timestamp(1_775_001_570).expect("valid"))
}

fn usd(n: f64) -> i64 {
    usd_to_nanos(n)
}

#[test]
fn the_reservation_caps_output_at_the_allowance_not_max_tokens() {
    // 10,000 input tokens at $3/MTok = $0.03; 4,096 output tokens at $15/MTok = $0.06144.
    assert_eq!(reservation(Some(&SONNET), 10_000, 64_000), usd(0.09144));
    // A smaller max_tokens is the cap.
    assert_eq!(reservation(Some(&SONNET), 10_000, 100), usd(0.0315));
    assert_eq!(reservation(None, 10_000, 64_000), 0);
}

#[test]
fn a_key_with_its_own_and_a_team_budget_reserves_on_each_period_counter() {
    let limits = KeyLimits {
        team: Some(Team {
            name: Arc::from("platform"),
            budget: Budget {
                day: None,
                month: Some(usd(2000.0)),
            },
        }),
        budget: Budget {
            day: Some(usd(20.0)),
            month: Some(usd(300.0)),
        },
        rpm: Some(60),
        tpm: Some(400_000),
        models: None,
    };
    let plan = plan(&Arc::from("alice"), &limits, &periods(), 1_000, 900).expect("admitted");
    let items: Vec<(&str, &str, i64)> = plan
        .budgets
        .iter()
        .map(|b| {
            (
                b.update.item.pk.as_str(),
                b.update.item.sk.as_str(),
                b.update.guards[0].1,
            )
        })
        .collect();
    assert_eq!(
        items,
        [
            ("spend#key#alice", "day#2026-03-31", usd(20.0) - 1_000),
            ("spend#key#alice", "month#2026-03", usd(300.0) - 1_000),
            ("spend#team#platform", "month#2026-03", usd(2000.0) - 1_000),
        ]
    );
    let rate = plan.rate.expect("rate counter");
    assert_eq!(rate.update.item.sk, "minute#2026-03-31T23:59");
    assert_eq!(rate.update.adds, vec![("requests", 1), ("tokens", 900)]);
    assert_eq!(
        rate.update.guards,
        vec![("requests", 59), ("tokens", 399_100)]
    );
    assert_eq!(rate.update.expires_at, 1_775_001_600 + 120);
}

#[test]
fn a_reservation_larger_than_a_budget_is_refused_with_the_limit_and_reset_named() {
    let limits = KeyLimits {
        budget: Budget {
            day: Some(usd(0.05)),
            month: None,
        },
        ..KeyLimits::default()
    };
    let refusal = plan(&Arc::from("ci"), &limits, &periods(), usd(0.09), 10)
        .expect_err("more than the whole budget");
    let err = refusal.into_error();
    assert_eq!(err.status().as_u16(), 402);
    assert_eq!(
        err.to_string(),
        "the daily budget of API key `ci` ($0.05) has $0.05 left, less than this request may \
         cost ($0.09 reserved); it resets at 2026-04-01T00:00:00Z"
    );
}

#[test]
fn a_tpm_estimate_larger_than_the_limit_waits_for_an_empty_minute() {
    let limits = KeyLimits {
        tpm: Some(1_000),
        ..KeyLimits::default()
    };
    let plan = plan(&Arc::from("ci"), &limits, &periods(), 0, 5_000).expect("planned");
    assert_eq!(plan.rate.expect("rate").update.guards, vec![("tokens", 0)]);
}

#[test]
fn usd_strings_are_plain_decimals_and_never_negative() {
    assert_eq!(usd_string(20_000_000_000), "20");
    assert_eq!(usd_string(1_500_000), "0.0015");
    assert_eq!(usd_string(1), "0.000000001");
    assert_eq!(usd_string(-5), "0");
}

#[test]
fn a_usage_row_is_keyed_by_day_then_key_and_model() {
    let spent = Spent {
        input_tokens: 10,
        output_tokens: 20,
        cache_read_tokens: 30,
        cache_write_tokens: 40,
        cost_nanos: 50,
    };
    let u = usage_update("2026-03-31", 0, "alice", "claude-opus-4-8", &spent);
    assert_eq!(u.item.pk, "usage#2026-03-31");
    assert_eq!(u.item.sk, "alice#claude-opus-4-8");
    assert_eq!(u.adds[5], ("cost_nanos", 50));
    assert_eq!(spent.rate_tokens(), 70);
}
