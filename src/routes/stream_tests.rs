//! [`event_stream`]: what the SSE body relies on when it waits with the ping interval.

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use futures::StreamExt;

use super::{event_stream, Source};
use crate::error::ApiError;

/// A receiver that is not cancel-safe: it takes its next item before it waits, so a receive
/// dropped during the wait loses that item (the SDK's receivers promise nothing either way).
struct Slow {
    items: VecDeque<Result<Option<u32>, ApiError>>,
    delay: Duration,
}

impl Slow {
    fn new(items: impl IntoIterator<Item = Result<Option<u32>, ApiError>>) -> Self {
        Self {
            items: items.into_iter().collect(),
            delay: Duration::from_millis(2_500),
        }
    }
}

impl Source for Slow {
    type Event = u32;
    fn recv(&mut self) -> impl Future<Output = Result<Option<u32>, ApiError>> + Send {
        let next = self.items.pop_front().unwrap_or(Ok(None));
        let delay = self.delay;
        async move {
            tokio::time::sleep(delay).await;
            next
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_ping_timeout_during_a_receive_loses_no_event() {
    let mut events = event_stream(Slow::new([Ok(Some(1)), Ok(Some(2)), Ok(None)]));
    let ping = Duration::from_secs(1);
    let mut got = Vec::new();
    let mut pings = 0;
    // Bounded: a wrapper that lost the receive in progress would ping forever.
    for _ in 0..20 {
        match tokio::time::timeout(ping, events.next()).await {
            Err(_) => pings += 1,
            Ok(Some(Ok(event))) => got.push(event),
            Ok(Some(Err(e))) => panic!("unexpected error {e:?}"),
            Ok(None) => break,
        }
    }
    assert_eq!(got, [1, 2]);
    // 2.5 s a receive, 1 s a ping: two pings before each event and before the end.
    assert_eq!(pings, 6);
}

#[tokio::test(start_paused = true)]
async fn the_stream_ends_after_the_first_error_and_stays_ended() {
    let error = || Err(ApiError::Upstream("broken".into()));
    let mut events = event_stream(Slow::new([Ok(Some(1)), error(), Ok(Some(3))]));
    // Each step bounded (virtual time): a wrapper that dropped its receive would wait forever.
    let bound = Duration::from_secs(60);
    let first = tokio::time::timeout(bound, events.next()).await;
    assert!(matches!(first, Ok(Some(Ok(1)))));
    let second = tokio::time::timeout(bound, events.next()).await;
    assert!(matches!(second, Ok(Some(Err(ApiError::Upstream(_))))));
    let end = tokio::time::timeout(bound, events.next()).await;
    assert!(matches!(end, Ok(None)));
    // Polled again after its end: still `None`, never a panic.
    let after = tokio::time::timeout(bound, events.next()).await;
    assert!(matches!(after, Ok(None)));
}
