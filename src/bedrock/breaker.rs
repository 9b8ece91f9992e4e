//! The cooldown of one upstream: a circuit breaker, pure (the caller passes the time).
//!
//! Closed: requests go to the upstream in its turn. After a transient failure it is open for a
//! cooldown, which doubles with each failure in a row up to a maximum; while open, requests try
//! it only after every other upstream. When the cooldown ends it is half-open: the first request
//! that asks is let through as the probe, and holds the probe for one cooldown length (a probe
//! whose request was abandoned frees it then); other requests keep treating it as open. The
//! probe's success closes it; its failure opens it for the next, longer cooldown.

use std::time::Duration;

use tokio::time::Instant;

/// Base and maximum cooldown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cooldowns {
    pub(super) base: Duration,
    pub(super) max: Duration,
}

impl Cooldowns {
    /// The cooldown after `failures` failures in a row (≥ 1): base, 2×base, 4×base… up to max.
    pub(super) fn after(self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(16);
        self.base.saturating_mul(1 << doublings).min(self.max)
    }
}

/// Where an upstream stands, as seen by a request choosing its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    /// Healthy, or half-open with its probe free: try it in its turn.
    Ready,
    /// Cooling down (or probed by another request) until then: try it after the others.
    Cooling(Instant),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Breaker {
    /// Transient failures in a row.
    failures: u32,
    /// Open until then (the cooldown, or the probe's hold).
    open_until: Option<Instant>,
}

impl Breaker {
    pub(super) fn status(&self, now: Instant) -> Status {
        match self.open_until {
            Some(until) if now < until => Status::Cooling(until),
            _ => Status::Ready,
        }
    }

    /// Whether a request may try the upstream now (not as a last resort). A half-open upstream
    /// admits one probe, then holds it for a cooldown.
    pub(super) fn admit(&mut self, now: Instant, cooldowns: Cooldowns) -> bool {
        match (self.status(now), self.failures) {
            (Status::Cooling(_), _) => false,
            (Status::Ready, 0) => true,
            (Status::Ready, failures) => {
                self.open_until = Some(now + cooldowns.after(failures));
                true
            }
        }
    }

    pub(super) fn succeeded(&mut self) {
        *self = Self::default();
    }

    pub(super) fn failed(&mut self, now: Instant, cooldowns: Cooldowns) {
        self.failures = self.failures.saturating_add(1);
        self.open_until = Some(now + cooldowns.after(self.failures));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: Cooldowns = Cooldowns {
        base: Duration::from_secs(5),
        max: Duration::from_secs(60),
    };

    #[test]
    fn cooldowns_double_up_to_the_maximum() {
        let secs: Vec<u64> = (1..=6).map(|n| C.after(n).as_secs()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 60, 60]);
        assert_eq!(C.after(u32::MAX), C.max, "no overflow");
    }

    #[test]
    fn a_failure_opens_the_breaker_for_one_cooldown() {
        let t0 = Instant::now();
        let mut b = Breaker::default();
        assert!(b.admit(t0, C));
        b.failed(t0, C);
        assert_eq!(b.status(t0), Status::Cooling(t0 + C.base));
        assert!(!b.admit(t0 + Duration::from_secs(4), C));
        assert_eq!(b.status(t0 + C.base), Status::Ready);
    }

    #[test]
    fn half_open_admits_one_probe_at_a_time() {
        let t0 = Instant::now();
        let mut b = Breaker::default();
        b.failed(t0, C);
        let t1 = t0 + C.base;
        assert!(b.admit(t1, C), "the probe");
        assert!(!b.admit(t1, C), "a second request while the probe is out");
        assert_eq!(b.status(t1), Status::Cooling(t1 + C.base));
        // An abandoned probe frees the slot after one cooldown.
        assert!(b.admit(t1 + C.base, C));
    }

    #[test]
    fn a_failed_probe_doubles_the_cooldown_and_a_good_one_closes_the_breaker() {
        let t0 = Instant::now();
        let mut b = Breaker::default();
        b.failed(t0, C);
        let t1 = t0 + C.base;
        assert!(b.admit(t1, C));
        b.failed(t1, C);
        assert_eq!(b.status(t1), Status::Cooling(t1 + 2 * C.base));
        let t2 = t1 + 2 * C.base;
        assert!(b.admit(t2, C));
        b.succeeded();
        assert_eq!(b, Breaker::default());
        assert!(b.admit(t2, C) && b.admit(t2, C), "closed: every request");
    }

    #[tokio::test(start_paused = true)]
    async fn the_breaker_follows_the_runtime_clock() {
        let mut b = Breaker::default();
        b.failed(Instant::now(), C);
        assert!(matches!(b.status(Instant::now()), Status::Cooling(_)));
        tokio::time::advance(C.base).await;
        assert_eq!(b.status(Instant::now()), Status::Ready);
    }
}
