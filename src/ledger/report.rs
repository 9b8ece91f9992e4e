//! The usage rows as reports read them, pure: one [`Line`] per key, model and UTC day (from the
//! `usage#<day>` partitions, sort key `<key>#<model>`), summed over the dimensions a report does
//! not group by, and amounts as the Admin API writes them (cents as decimal strings). No I/O.

use std::collections::BTreeMap;

use time::{Date, Duration, Month};

use super::store::Row;

/// One key's use of one model on one day, or a sum of such lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Line {
    /// `None` once summed over keys.
    pub key: Option<String>,
    /// `None` once summed over models.
    pub model: Option<String>,
    pub requests: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub cost_nanos: i64,
}

/// Which dimensions a report keeps apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Grouping {
    pub key: bool,
    pub model: bool,
}

impl Line {
    /// A usage row (`<key>#<model>` and its numbers). Key names cannot hold `#` (the key store
    /// refuses them), so the first `#` splits.
    pub fn from_row(row: &Row) -> Self {
        let (key, model) = row.sk.split_once('#').unwrap_or((row.sk.as_str(), ""));
        let n = |a: &str| row.numbers.get(a).copied().unwrap_or(0);
        Self {
            key: Some(key.to_owned()),
            model: Some(model.to_owned()),
            requests: n("requests"),
            input_tokens: n("input_tokens"),
            output_tokens: n("output_tokens"),
            cache_read_tokens: n("cache_read_tokens"),
            cache_write_tokens: n("cache_write_tokens"),
            cost_nanos: n("cost_nanos"),
        }
    }

    fn add(&mut self, other: &Self) {
        self.requests += other.requests;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_write_tokens += other.cache_write_tokens;
        self.cost_nanos += other.cost_nanos;
    }
}

/// Sums `lines` over what `grouping` does not keep apart; sorted by key, then model.
pub fn group(lines: &[Line], grouping: Grouping) -> Vec<Line> {
    let mut sums: BTreeMap<(Option<String>, Option<String>), Line> = BTreeMap::new();
    for line in lines {
        let key = grouping.key.then(|| line.key.clone()).flatten();
        let model = grouping.model.then(|| line.model.clone()).flatten();
        sums.entry((key.clone(), model.clone()))
            .or_insert_with(|| Line {
                key,
                model,
                ..Line::default()
            })
            .add(line);
    }
    sums.into_values().collect()
}

/// Nano-dollars as US cents in a decimal string, as the Admin API's cost report writes amounts
/// (`"123.45"` is $1.2345): exact, up to 7 decimal places, never negative.
pub fn cents(nanos: i64) -> String {
    const NANOS_PER_CENT: i64 = 10_000_000;
    let n = nanos.max(0);
    let fixed = format!("{}.{:07}", n / NANOS_PER_CENT, n % NANOS_PER_CENT);
    fixed.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// `2026-03-31` for a date.
pub fn day_key(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// A `2026-03-31` day key back to its date.
pub fn parse_day(day: &str) -> Option<Date> {
    let mut parts = day.splitn(3, '-');
    let year = parts.next()?.parse().ok()?;
    let month = Month::try_from(parts.next()?.parse::<u8>().ok()?).ok()?;
    let day = parts.next()?.parse().ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

/// The days from `first` up to, not including, `end`, at most `limit` of them; and whether more
/// were left.
pub fn days(first: Date, end: Date, limit: usize) -> (Vec<Date>, bool) {
    let mut out = Vec::new();
    let mut day = first;
    while day < end {
        if out.len() == limit {
            return (out, true);
        }
        out.push(day);
        day = day.saturating_add(Duration::DAY);
    }
    (out, false)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn row(sk: &str, requests: i64, cost_nanos: i64) -> Row {
        Row {
            sk: sk.to_owned(),
            numbers: HashMap::from([
                ("requests".to_owned(), requests),
                ("output_tokens".to_owned(), 10 * requests),
                ("cost_nanos".to_owned(), cost_nanos),
            ]),
        }
    }

    #[test]
    fn rows_are_summed_over_the_dimensions_a_report_does_not_group_by() {
        let lines: Vec<Line> = [
            row("alice#claude-opus-4-8", 2, 500),
            row("alice#claude-haiku-4-5", 1, 100),
            row("bob#claude-opus-4-8", 3, 700),
        ]
        .iter()
        .map(Line::from_row)
        .collect();
        let by_key = group(
            &lines,
            Grouping {
                key: true,
                model: false,
            },
        );
        let got: Vec<(Option<&str>, i64, i64)> = by_key
            .iter()
            .map(|l| (l.key.as_deref(), l.requests, l.cost_nanos))
            .collect();
        assert_eq!(got, [(Some("alice"), 3, 600), (Some("bob"), 3, 700)]);
        let all = group(&lines, Grouping::default());
        assert_eq!(all.len(), 1);
        assert_eq!((all[0].key.as_deref(), all[0].output_tokens), (None, 60));
        let both = group(
            &lines,
            Grouping {
                key: true,
                model: true,
            },
        );
        assert_eq!(both.len(), 3);
        assert_eq!(both[0].model.as_deref(), Some("claude-haiku-4-5"));
    }

    #[test]
    fn amounts_are_exact_cents_in_decimal_strings() {
        assert_eq!(cents(1_234_500_000), "123.45");
        assert_eq!(cents(10_000_000), "1");
        assert_eq!(cents(1), "0.0000001");
        assert_eq!(cents(0), "0");
        assert_eq!(cents(-5), "0");
    }

    #[test]
    fn day_ranges_end_before_their_end_and_stop_at_the_limit() {
        let first = parse_day("2026-02-27").expect("date");
        let end = parse_day("2026-03-02").expect("date");
        let (all, more) = days(first, end, 31);
        let keys: Vec<String> = all.into_iter().map(day_key).collect();
        assert_eq!(keys, ["2026-02-27", "2026-02-28", "2026-03-01"]);
        assert!(!more);
        let (two, more) = days(first, end, 2);
        assert_eq!((two.len(), more), (2, true));
        assert_eq!(parse_day("2026-13-01"), None);
    }
}
