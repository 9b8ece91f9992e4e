//! Period keys and reset times, pure: the UTC day (`2026-03-31`), month (`2026-03`) and minute
//! (`2026-03-31T23:59`) a moment falls in, and when each ends.
//!
//! Counters are items keyed by their period, so a new period is a new item: nothing is ever reset,
//! and no two processes can race over a reset.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// The periods of one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Periods {
    pub day: String,
    pub month: String,
    pub minute: String,
    /// Unix seconds at which each period ends (its next one starts).
    pub day_ends: i64,
    pub month_ends: i64,
    pub minute_ends: i64,
    /// The moment itself, in Unix seconds.
    pub now: i64,
}

/// Which budget period a counter belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Month,
}

impl Period {
    pub fn adjective(self) -> &'static str {
        match self {
            Self::Day => "daily",
            Self::Month => "monthly",
        }
    }
}

impl Periods {
    pub fn at(now: OffsetDateTime) -> Self {
        let now = now.to_offset(time::UtcOffset::UTC);
        let date = now.date();
        let (y, m, d) = (date.year(), u8::from(date.month()), date.day());
        let next_day = date.next_day().unwrap_or(date);
        let first_next_month = match date.month() {
            Month::December => Date::from_calendar_date(y + 1, Month::January, 1),
            other => Date::from_calendar_date(y, other.next(), 1),
        }
        .unwrap_or(next_day);
        let midnight = |d: Date| PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_utc();
        let minute_start = now.unix_timestamp() - i64::from(now.second());
        Self {
            day: format!("{y:04}-{m:02}-{d:02}"),
            month: format!("{y:04}-{m:02}"),
            minute: format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}", now.hour(), now.minute()),
            day_ends: midnight(next_day).unix_timestamp(),
            month_ends: midnight(first_next_month).unix_timestamp(),
            minute_ends: minute_start + 60,
            now: now.unix_timestamp(),
        }
    }

    pub fn key(&self, period: Period) -> String {
        match period {
            Period::Day => format!("day#{}", self.day),
            Period::Month => format!("month#{}", self.month),
        }
    }

    pub fn ends(&self, period: Period) -> i64 {
        match period {
            Period::Day => self.day_ends,
            Period::Month => self.month_ends,
        }
    }

    /// Whole seconds until the minute ends, at least 1 (a `retry-after` of 0 means "now").
    pub fn retry_after(&self) -> u64 {
        u64::try_from((self.minute_ends - self.now).max(1)).unwrap_or(1)
    }
}

/// RFC 3339 in UTC with whole seconds (`2026-04-01T00:00:00Z`), as Anthropic's reset headers.
pub fn rfc3339(unix: i64) -> String {
    match OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => "1970-01-01T00:00:00Z".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix: i64) -> Periods {
        Periods::at(OffsetDateTime::from_unix_timestamp(unix).expect("valid"))
    }

    #[test]
    fn the_last_second_of_a_year_belongs_to_its_day_month_and_minute() {
        // 2025-12-31T23:59:59Z
        let p = at(1_767_225_599);
        assert_eq!(p.day, "2025-12-31");
        assert_eq!(p.month, "2025-12");
        assert_eq!(p.minute, "2025-12-31T23:59");
        assert_eq!(rfc3339(p.day_ends), "2026-01-01T00:00:00Z");
        assert_eq!(rfc3339(p.month_ends), "2026-01-01T00:00:00Z");
        assert_eq!(rfc3339(p.minute_ends), "2026-01-01T00:00:00Z");
        assert_eq!(p.retry_after(), 1);
        let next = at(1_767_225_600);
        assert_eq!(
            (next.day.as_str(), next.month.as_str()),
            ("2026-01-01", "2026-01")
        );
        assert_eq!(next.retry_after(), 60);
    }

    #[test]
    fn months_end_on_their_own_last_day_leap_years_included() {
        // 2028-02-29T12:30:15Z
        let p = at(1_835_440_215);
        assert_eq!(p.day, "2028-02-29");
        assert_eq!(rfc3339(p.month_ends), "2028-03-01T00:00:00Z");
        assert_eq!(rfc3339(p.day_ends), "2028-03-01T00:00:00Z");
        assert_eq!(p.retry_after(), 45);
        assert_eq!(p.key(Period::Day), "day#2028-02-29");
        assert_eq!(p.key(Period::Month), "month#2028-02");
    }
}
