//! Cost arithmetic: known values, long-context rates, rounding, the header format, and properties.

use super::*;
use proptest::prelude::*;

fn price(input: f64, output: f64, cache_write: Option<f64>, cache_read: Option<f64>) -> Price {
    Price {
        input,
        output,
        cache_write,
        cache_read,
    }
}

fn tokens(input: u64, output: u64, w5: u64, w1h: u64, read: u64) -> TokenCounts {
    TokenCounts {
        input,
        output,
        cache_write_5m: w5,
        cache_write_1h: w1h,
        cache_read: read,
    }
}

const SONNET: Price = Price {
    input: 3.0,
    output: 15.0,
    cache_write: Some(3.75),
    cache_read: Some(0.3),
};

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one table of hand-worked costs, read side by side"
)]
fn known_values() {
    // (case, price, tokens, [input, output, cache_write, cache_read, total]), all by hand.
    let cases: Vec<(&str, Price, TokenCounts, [f64; 5])> = vec![
        (
            "377 in @ $3",
            SONNET,
            tokens(377, 0, 0, 0, 0),
            [0.001131, 0.0, 0.0, 0.0, 0.001131],
        ),
        (
            "377 in + 52 out",
            SONNET,
            tokens(377, 52, 0, 0, 0),
            [0.001131, 0.00078, 0.0, 0.0, 0.001911],
        ),
        (
            "header example",
            SONNET,
            tokens(1000, 101, 0, 0, 0),
            [0.003, 0.001515, 0.0, 0.0, 0.004515],
        ),
        (
            // 2000 × 3.75 + 1000 × 6 (2 × $3) = 0.0075 + 0.006; 10000 × 0.3 = 0.003
            "listed cache prices",
            SONNET,
            tokens(0, 0, 2000, 1000, 10_000),
            [0.0, 0.0, 0.0135, 0.003, 0.0165],
        ),
        (
            // $0.8 input: 5m write $1.00, 1h write $1.60, read $0.08 per MTok
            "default cache multipliers",
            price(0.8, 4.0, None, None),
            tokens(10, 20, 1000, 500, 1000),
            [0.000008, 0.00008, 0.0018, 0.00008, 0.001968],
        ),
        (
            "one MTok each",
            price(15.0, 75.0, None, None),
            tokens(1_000_000, 1_000_000, 0, 0, 0),
            [15.0, 75.0, 0.0, 0.0, 90.0],
        ),
        (
            "sub-micro result",
            price(0.075, 0.3, None, None),
            tokens(7, 0, 0, 0, 0),
            [0.000000525, 0.0, 0.0, 0.0, 0.000000525],
        ),
        // 600 × 1 micro / 1000 = 0.6 nano, rounded half up to 1 nano; 400 tokens round to 0.
        (
            "nano rounding",
            price(0.000001, 0.000001, None, None),
            tokens(600, 400, 0, 0, 0),
            [1e-9, 0.0, 0.0, 0.0, 1e-9],
        ),
        (
            "negative price is zero",
            price(-3.0, f64::NAN, None, None),
            tokens(5, 5, 5, 5, 5),
            [0.0; 5],
        ),
    ];
    for (name, p, t, want) in cases {
        let c = cost(&p, &t, None);
        let got = [
            c.input_cost,
            c.output_cost,
            c.cache_write_cost,
            c.cache_read_cost,
            c.total_cost,
        ];
        assert_eq!(got, want, "{name}");
        assert_eq!(c.currency, "USD");
        assert_eq!(c.converted, None);
    }
}

#[test]
fn long_context_rate_applies_to_the_whole_request_above_its_threshold() {
    use crate::models::LongContextPrice;
    let haiku = ModelPrice {
        base: price(0.1, 0.5, Some(0.125), Some(0.01)),
        long_context: Some(LongContextPrice {
            above_input_tokens: 100_000,
            price: price(0.5, 2.5, Some(0.625), Some(0.05)),
        }),
        estimated: false,
    };
    // 100,000 prompt tokens, half of them cache reads: still the base rate.
    let at = model_cost(&haiku, &tokens(50_000, 1_000, 0, 0, 50_000), None);
    assert_eq!(at.total_cost, 0.006);
    // One more token, and every part is billed at the long-context rate.
    let above = model_cost(&haiku, &tokens(50_001, 1_000, 0, 0, 50_000), None);
    assert_eq!(
        (above.input_cost, above.cache_read_cost, above.output_cost),
        (0.0250005, 0.0025, 0.0025)
    );
    assert_eq!(above.total_cost, 0.0300005);
    // Cache writes count towards the threshold too.
    let writes = model_cost(&haiku, &tokens(1, 0, 100_000, 0, 0), None);
    assert_eq!(writes.cache_write_cost, 0.0625);
    let flat = ModelPrice {
        long_context: None,
        ..haiku
    };
    assert_eq!(
        model_cost(&flat, &tokens(50_001, 1_000, 0, 0, 50_000), None).total_cost,
        0.0060001
    );
}

#[test]
fn zero_tokens_cost_nothing() {
    let c = cost(&SONNET, &TokenCounts::default(), None);
    assert_eq!(
        [
            c.input_cost,
            c.output_cost,
            c.cache_write_cost,
            c.cache_read_cost,
            c.total_cost
        ],
        [0.0; 5]
    );
    assert_eq!(header_value(&c), "0");
}

#[test]
fn converted_total_is_rounded_to_six_decimals() {
    let eur = CurrencyConversion {
        currency: "EUR".into(),
        rate: 0.92,
    };
    let c = cost(&SONNET, &tokens(1000, 101, 0, 0, 0), Some(&eur));
    // 0.004515 × 0.92 = 0.0041538
    assert_eq!(
        c.converted,
        Some(ConvertedCost {
            currency: "EUR".into(),
            rate: 0.92,
            total_cost: 0.004154
        })
    );
    let inr = CurrencyConversion {
        currency: "INR".into(),
        rate: 84.5,
    };
    let c = cost(&SONNET, &tokens(377, 0, 0, 0, 0), Some(&inr));
    // 0.001131 × 84.5 = 0.0955695
    assert_eq!(c.converted.map(|c| c.total_cost), Some(0.09557));
}

#[test]
fn serializes_without_converted_when_unset() {
    let c = cost(&SONNET, &tokens(377, 0, 0, 0, 0), None);
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["total_cost"], 0.001131);
    assert_eq!(json["currency"], "USD");
    assert!(json.get("converted").is_none());
    let eur = CurrencyConversion {
        currency: "EUR".into(),
        rate: 0.5,
    };
    let json = serde_json::to_value(cost(&SONNET, &tokens(377, 0, 0, 0, 0), Some(&eur))).unwrap();
    assert_eq!(json["converted"]["currency"], "EUR");
    assert_eq!(json["converted"]["total_cost"], 0.000566);
}

#[test]
fn header_value_is_positional_decimal() {
    let with_total = |total_cost: f64| Cost {
        input_cost: 0.0,
        output_cost: 0.0,
        cache_write_cost: 0.0,
        cache_read_cost: 0.0,
        total_cost,
        currency: "USD",
        converted: None,
    };
    let cases = [
        (0.004515, "0.004515"),
        (0.001131, "0.001131"),
        (1e-9, "0.000000001"),
        (3e-7, "0.0000003"),
        (1e-12, "0"),
        (0.0, "0"),
        (12.0, "12"),
        (90.5, "90.5"),
        (1e21, "1000000000000000000000"),
        (f64::NAN, "0"),
        (f64::INFINITY, "0"),
    ];
    for (total, want) in cases {
        let v = header_value(&with_total(total));
        assert_eq!(v, want, "{total:e}");
        assert!(!v.contains(['e', 'E']), "{v}");
        assert!(http::HeaderValue::from_str(&v).is_ok(), "{v}");
    }
    let c = cost(&SONNET, &tokens(1000, 101, 0, 0, 0), None);
    assert_eq!(header_value(&c), "0.004515");
}

fn nano(x: f64) -> u128 {
    (x * 1e9).round() as u128
}

fn arb_price() -> impl Strategy<Value = Price> {
    (
        0.0..100.0f64,
        0.0..100.0f64,
        proptest::option::of(0.0..100.0f64),
        proptest::option::of(0.0..100.0f64),
    )
        .prop_map(|(input, output, cache_write, cache_read)| Price {
            input,
            output,
            cache_write,
            cache_read,
        })
}

fn arb_tokens() -> impl Strategy<Value = [u64; 5]> {
    proptest::array::uniform5(0..1_000_000_000u64)
}

fn counts(t: [u64; 5]) -> TokenCounts {
    tokens(t[0], t[1], t[2], t[3], t[4])
}

proptest! {
    #[test]
    fn monotonic_in_every_token_count(
        p in arb_price(),
        t in arb_tokens(),
        which in 0usize..5,
        extra in 0..1_000_000u64,
    ) {
        let before = cost(&p, &counts(t), None);
        let mut more = t;
        more[which] += extra;
        let after = cost(&p, &counts(more), None);
        prop_assert!(after.total_cost >= before.total_cost);
        prop_assert!(after.input_cost >= before.input_cost);
        prop_assert!(after.output_cost >= before.output_cost);
        prop_assert!(after.cache_write_cost >= before.cache_write_cost);
        prop_assert!(after.cache_read_cost >= before.cache_read_cost);
    }

    #[test]
    fn total_is_the_sum_of_the_parts(p in arb_price(), t in arb_tokens()) {
        let c = cost(&p, &counts(t), None);
        // Exact in nano-dollars (all values here stay far below 2^53 nanos).
        prop_assert_eq!(
            nano(c.total_cost),
            nano(c.input_cost) + nano(c.output_cost) + nano(c.cache_write_cost) + nano(c.cache_read_cost)
        );
        prop_assert!(!header_value(&c).contains('e'));
    }
}
