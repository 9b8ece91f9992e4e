//! The USD cost of one response, from the catalog [`Price`] and the billed token counts.
//!
//! Owns the arithmetic and the `x-chatrix-cost-usd` header format. It does not look prices up
//! (that is [`crate::models::Catalog`]), does not read the environment (the display currency comes
//! from `config`), and does no I/O.
//!
//! All arithmetic is in integer nano-dollars so that costs are exact decimals (377 input tokens at
//! $3/MTok is exactly `0.001131`, not `0.0011310000000000001`) and the total is exactly the sum of
//! its parts; values become `f64` only at the end.

use serde::Serialize;

use crate::models::{ModelPrice, Price};

/// Token counts as billed (input = uncached input only, as Bedrock/Anthropic report it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenCounts {
    pub input: u64,
    pub output: u64,
    pub cache_write_5m: u64,
    pub cache_write_1h: u64,
    pub cache_read: u64,
}

/// A response's cost in USD, each part rounded to the nano-dollar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cost {
    pub input_cost: f64,
    pub output_cost: f64,
    /// 5-minute and 1-hour cache writes together.
    pub cache_write_cost: f64,
    pub cache_read_cost: f64,
    pub total_cost: f64,
    /// Always `"USD"`.
    pub currency: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub converted: Option<ConvertedCost>,
}

/// The total in the operator's display currency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConvertedCost {
    pub currency: String,
    pub rate: f64,
    /// `total_cost × rate`, rounded to 6 decimals.
    pub total_cost: f64,
}

/// Optional display currency from CHATRIX_CURRENCY + CHATRIX_CURRENCY_RATE (parsed by config; you
/// just take the values).
#[derive(Debug, Clone, PartialEq)]
pub struct CurrencyConversion {
    pub currency: String,
    pub rate: f64,
}

const NANOS_PER_USD: f64 = 1e9;

/// A per-MTok price as integer micro-USD per million tokens.
///
/// Negative and NaN prices count as zero (`as` saturates); the catalog is responsible for sane
/// values, and a cost must never go negative.
fn micro_per_mtok(usd_per_mtok: f64) -> u64 {
    (usd_per_mtok * 1e6).round() as u64
}

/// `tokens × price` in nano-USD, rounded half up.
///
/// USD = tokens × micro / 1e12, so nano-USD = tokens × micro / 1e3. u64 × u64 always fits u128.
fn nanos(tokens: u64, micro_per_mtok: u64) -> u128 {
    (u128::from(tokens) * u128::from(micro_per_mtok) + 500) / 1000
}

fn usd(nanos: u128) -> f64 {
    // Both operands are exact below 2^53 nano-USD (≈ $9M per response) and IEEE division rounds
    // correctly, so the result is the f64 nearest to the decimal value.
    nanos as f64 / NANOS_PER_USD
}

/// The cost of `tokens` at `price`, with the total converted when a display currency is set.
///
/// Unpriced cache rates follow Anthropic's multipliers: a 5-minute write costs 1.25 × input and a
/// read 0.1 × input. A 1-hour write always costs 2 × input (the catalog has no separate rate).
pub fn cost(price: &Price, tokens: &TokenCounts, conversion: Option<&CurrencyConversion>) -> Cost {
    let input = micro_per_mtok(price.input);
    let output = micro_per_mtok(price.output);
    // Defaults derived in integers (rounded half up) so they are as exact as listed prices.
    let write_5m = price.cache_write.map_or_else(
        || (input.saturating_mul(5).saturating_add(2)) / 4,
        micro_per_mtok,
    );
    let write_1h = input.saturating_mul(2);
    let read = price
        .cache_read
        .map_or_else(|| input.saturating_add(5) / 10, micro_per_mtok);

    let input_n = nanos(tokens.input, input);
    let output_n = nanos(tokens.output, output);
    let write_n = nanos(tokens.cache_write_5m, write_5m) + nanos(tokens.cache_write_1h, write_1h);
    let read_n = nanos(tokens.cache_read, read);
    let total_n = input_n + output_n + write_n + read_n;

    let converted = conversion.map(|c| ConvertedCost {
        currency: c.currency.clone(),
        rate: c.rate,
        // nano-USD × rate / 1000 = micro-units of the display currency; round there.
        total_cost: (total_n as f64 * c.rate / 1e3).round() / 1e6,
    });
    Cost {
        input_cost: usd(input_n),
        output_cost: usd(output_n),
        cache_write_cost: usd(write_n),
        cache_read_cost: usd(read_n),
        total_cost: usd(total_n),
        currency: "USD",
        converted,
    }
}

/// The cost of `tokens` at a model's price: its long-context rate when the prompt (uncached input,
/// cache writes and cache reads together) is longer than that rate's threshold, else its base rate.
pub fn model_cost(
    price: &ModelPrice,
    tokens: &TokenCounts,
    conversion: Option<&CurrencyConversion>,
) -> Cost {
    let prompt = tokens
        .input
        .saturating_add(tokens.cache_write_5m)
        .saturating_add(tokens.cache_write_1h)
        .saturating_add(tokens.cache_read);
    let rate = match &price.long_context {
        Some(long) if prompt > long.above_input_tokens => &long.price,
        _ => &price.base,
    };
    cost(rate, tokens, conversion)
}

/// The value for the `x-chatrix-cost-usd` header: total in USD, fixed decimal (e.g. "0.004515"), no
/// exponent.
///
/// At most 9 decimals (the nano-dollar resolution of [`cost`]), trailing zeros dropped; a whole
/// amount has no decimal point (`"0"`, `"12"`). A non-finite total (never produced by [`cost`])
/// renders as `"0"` rather than `NaN`/`inf`, which no client could parse as an amount.
pub fn header_value(cost: &Cost) -> String {
    let total = cost.total_cost;
    if !total.is_finite() {
        return "0".to_owned();
    }
    // `{:.N}` on f64 is always positional notation, never exponent, whatever the magnitude.
    let fixed = format!("{total:.9}");
    let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
    match trimmed {
        "-0" | "" => "0".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
#[path = "pricing_tests.rs"]
mod tests;
