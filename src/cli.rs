//! `chatrix usage`: a per-key, per-day table of the ledger's usage rows, read from
//! `CHATRIX_LEDGER_TABLE` with the standard AWS configuration (`AWS_ENDPOINT_URL_DYNAMODB` too).
//! One `Query` per day, as the report endpoints read them. Prints names and numbers, never keys.
//!
//! ```text
//! chatrix usage [--days N] [--by-model]
//! ```

use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::{bail, Context};
use time::{Date, Duration, OffsetDateTime};

use crate::config::{LedgerConfig, LedgerOnError};
use crate::ledger::plan::usd_string;
use crate::ledger::report::{self, Grouping, Line};
use crate::ledger::Ledger;

/// Days shown when `--days` is not given; at most [`MAX_DAYS`].
const DEFAULT_DAYS: u16 = 7;
const MAX_DAYS: u16 = 400;

/// What `chatrix usage` was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageArgs {
    pub days: u16,
    pub by_model: bool,
}

impl UsageArgs {
    /// The arguments after `usage`.
    ///
    /// # Errors
    /// An unknown argument or a bad `--days`.
    pub fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut out = Self {
            days: DEFAULT_DAYS,
            by_model: false,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--days" => {
                    out.days = args
                        .next()
                        .and_then(|v| v.parse().ok())
                        .filter(|d| (1..=MAX_DAYS).contains(d))
                        .context("--days needs a number of days from 1 to 400")?;
                }
                "--by-model" => out.by_model = true,
                "-h" | "--help" => bail!("usage: chatrix usage [--days N] [--by-model]"),
                other => bail!(
                    "unknown argument `{other}`; usage: chatrix usage [--days N] [--by-model]"
                ),
            }
        }
        Ok(out)
    }
}

/// Runs `chatrix usage` with the arguments after `usage`, printing to stdout.
///
/// # Errors
/// Bad arguments, no table configured, or a table that cannot be read.
pub async fn usage(args: &[String]) -> anyhow::Result<()> {
    let args = UsageArgs::parse(args)?;
    let Some(table) = std::env::var("CHATRIX_LEDGER_TABLE")
        .ok()
        .filter(|t| !t.is_empty())
    else {
        bail!("CHATRIX_LEDGER_TABLE is not set: without a table, usage is counted inside each gateway process only");
    };
    let ledger = Ledger::new(&LedgerConfig {
        table: Some(table),
        on_error: LedgerOnError::Closed,
    });
    let today = OffsetDateTime::now_utc().date();
    let days: Vec<Date> = (0..args.days)
        .rev()
        .map(|back| today.saturating_sub(Duration::days(i64::from(back))))
        .collect();
    let usage = ledger
        .usage_of_days(&days)
        .await
        .map_err(|e| anyhow::anyhow!("reading the ledger table: {e}"))?;
    let mut out = std::io::stdout().lock();
    out.write_all(table_text(&usage, args.by_model).as_bytes())?;
    Ok(())
}

/// The table: one line per day and key (and model with `by_model`), then the total.
pub fn table_text(days: &[(Date, Vec<Line>)], by_model: bool) -> String {
    let grouping = Grouping {
        key: true,
        model: by_model,
    };
    let mut rows: Vec<[String; 9]> = vec![[
        "day",
        "key",
        "model",
        "requests",
        "input",
        "output",
        "cache_read",
        "cache_write",
        "cost_usd",
    ]
    .map(str::to_owned)];
    let mut all = Vec::new();
    for (day, lines) in days {
        for line in report::group(lines, grouping) {
            rows.push(row(&report::day_key(*day), &line));
        }
        all.extend(lines.iter().cloned());
    }
    for total in report::group(&all, Grouping::default()) {
        rows.push(row("total", &total));
    }
    let widths: Vec<usize> = (0..9)
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, w))| match i {
                0..=2 => format!("{cell:<w$}"),
                _ => format!("{cell:>w$}"),
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    out
}

fn row(day: &str, line: &Line) -> [String; 9] {
    [
        day.to_owned(),
        line.key.clone().unwrap_or_default(),
        line.model.clone().unwrap_or_default(),
        line.requests.to_string(),
        line.input_tokens.to_string(),
        line.output_tokens.to_string(),
        line.cache_read_tokens.to_string(),
        line.cache_write_tokens.to_string(),
        usd_string(line.cost_nanos),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(key: &str, model: &str, requests: i64, cost_nanos: i64) -> Line {
        Line {
            key: Some(key.into()),
            model: Some(model.into()),
            requests,
            output_tokens: 7 * requests,
            cost_nanos,
            ..Line::default()
        }
    }

    #[test]
    fn the_table_has_a_line_per_day_and_key_and_a_total() {
        let day = report::parse_day("2026-03-31").expect("date");
        let days = vec![(
            day,
            vec![
                line("alice", "claude-opus-4-8", 2, 1_500_000_000),
                line("alice", "claude-haiku-4-5", 1, 250_000_000),
                line("bob", "claude-opus-4-8", 1, 10),
            ],
        )];
        let text = table_text(&days, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("day ") && lines[0].ends_with("cost_usd"));
        let alice: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            alice,
            ["2026-03-31", "alice", "3", "0", "21", "0", "0", "1.75"]
        );
        assert!(lines[3].starts_with("total") && lines[3].ends_with("1.75000001"));
        assert_eq!(table_text(&days, true).lines().count(), 5);
    }

    #[test]
    fn arguments_are_days_and_by_model_and_nothing_else() {
        let args =
            |a: &[&str]| UsageArgs::parse(&a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(
            args(&["--days", "30", "--by-model"]).expect("ok"),
            UsageArgs {
                days: 30,
                by_model: true
            }
        );
        assert_eq!(args(&[]).expect("ok").days, DEFAULT_DAYS);
        assert!(args(&["--days", "0"]).is_err());
        assert!(args(&["--weeks", "2"]).is_err());
    }
}
