use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{json, Value};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

use super::JsonLines;

/// Collects what the layer writes.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl io::Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Sink {
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

/// The lines `log` writes, each parsed (a line that is not JSON fails the test).
fn lines(log: impl FnOnce()) -> Vec<Value> {
    let sink = Sink::default();
    let subscriber = tracing_subscriber::registry().with(JsonLines::new(sink.clone()));
    tracing::subscriber::with_default(subscriber, log);
    let bytes = sink
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let text = String::from_utf8(bytes).expect("UTF-8");
    assert!(
        text.ends_with('\n'),
        "every line ends with a newline: {text:?}"
    );
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// A line without its timestamp (checked apart).
fn timeless(mut line: Value) -> Value {
    let stamp = line
        .as_object_mut()
        .and_then(|o| o.remove("timestamp"))
        .expect("a timestamp");
    let stamp = stamp.as_str().expect("a string");
    assert!(
        stamp.len() >= 20 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
        "RFC 3339, UTC: {stamp}"
    );
    line
}

#[test]
fn a_line_carries_level_span_target_message_and_fields_as_json() {
    let logged = lines(|| {
        let span = tracing::info_span!(
            "request",
            request_id = "req_1",
            method = %"POST",
            key = tracing::field::Empty,
            model = tracing::field::Empty,
        );
        let _in = span.enter();
        span.record("key", "team-a");
        span.record("model", "claude-x");
        span.record("model", "claude-y");
        tracing::info!(
            status = 200_u16,
            latency_ms = 12_u64,
            delta = -3_i64,
            big = 1_u128 << 70,
            cost_usd = 0.25_f64,
            ratio = f64::NAN,
            stream = false,
            key = Some("team-a"),
            absent = None::<&str>,
            text = "quote \" backslash \\ newline \n tab \t bell \u{7} é 😀",
            debug = ?vec!["a", "b"],
            shown = %"display",
            error = &io::Error::other("broken pipe") as &(dyn std::error::Error + 'static),
            "request"
        );
    });
    assert_eq!(logged.len(), 1);
    let line = &logged[0];
    let keys: Vec<&str> = line
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        &keys[..5],
        ["level", "span", "target", "timestamp", "message"]
    );
    // Past `u64`, serde_json reads the number back as a float.
    assert_eq!(line["big"].as_f64(), Some(2_f64.powi(70)));
    let mut line = timeless(line.clone());
    line.as_object_mut().map(|o| o.remove("big"));
    assert_eq!(
        line,
        json!({
            "level": "INFO",
            "span": {"request_id": "req_1", "method": "POST", "key": "team-a",
                     "model": "claude-y", "name": "request"},
            "target": module_path!(),
            "message": "request",
            "status": 200, "latency_ms": 12, "delta": -3,
            "cost_usd": 0.25, "ratio": null, "stream": false, "key": "team-a",
            "text": "quote \" backslash \\ newline \n tab \t bell \u{7} é 😀",
            "debug": "[\"a\", \"b\"]", "shown": "display", "error": "broken pipe",
        })
    );
}

#[test]
fn the_innermost_span_or_the_explicit_parent_is_the_one_shown_and_none_outside() {
    let logged = lines(|| {
        tracing::warn!("outside");
        let outer = tracing::info_span!("request", request_id = "req_2");
        let _in = outer.enter();
        let inner = tracing::info_span!("upstream", attempt = 1_u64);
        inner.in_scope(|| tracing::error!("inside"));
        tracing::info!(parent: &inner, "parented");
    });
    let spans: Vec<Option<&Value>> = logged.iter().map(|l| l.get("span")).collect();
    assert_eq!(spans[0], None);
    assert_eq!(logged[0]["level"], "WARN");
    let inner = json!({"attempt": 1, "name": "upstream"});
    assert_eq!(spans[1], Some(&inner));
    assert_eq!(spans[2], Some(&inner));
    assert_eq!(logged[1]["level"], "ERROR");
}

/// A value whose `Debug` logs.
struct Chatty;

impl std::fmt::Debug for Chatty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        tracing::info!("from inside Debug");
        f.write_str("chatty")
    }
}

#[test]
fn a_line_logged_while_another_is_written_leaves_that_one_whole() {
    // tracing does not hand the subscriber an event while it is handling one on the same
    // thread, so the inner line is dropped; the outer is still one valid line.
    let logged = lines(|| tracing::info!(value = ?Chatty, "outer"));
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0]["message"], "outer");
    assert_eq!(logged[0]["value"], "chatty");
}
