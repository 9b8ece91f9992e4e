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

/// What `log` writes.
fn written(log: impl FnOnce()) -> String {
    let sink = Sink::default();
    let subscriber = tracing_subscriber::registry().with(JsonLines::new(sink.clone()));
    tracing::subscriber::with_default(subscriber, log);
    let bytes = sink
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    String::from_utf8(bytes).expect("UTF-8")
}

/// The lines `log` writes, each parsed (a line that is not JSON fails the test).
fn lines(log: impl FnOnce()) -> Vec<Value> {
    let text = written(log);
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
    assert_eq!(
        &crate::test_support::keys(line)[..5],
        ["level", "span", "target", "timestamp", "message"]
    );
    assert_eq!(line["big"], (1_u128 << 70).to_string());
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

impl std::fmt::Display for Chatty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

#[test]
fn a_line_logged_while_another_is_written_leaves_that_one_whole() {
    // Under a scoped subscriber (as here) tracing drops the inner line; under the global one it
    // hands it over (the test below). The outer is one valid line either way.
    let logged = lines(|| tracing::info!(value = ?Chatty, "outer"));
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0]["message"], "outer");
    assert_eq!(logged[0]["value"], "chatty");
}

#[test]
fn wide_integers_are_strings_and_floats_json_cannot_hold_are_null() {
    let logged = lines(|| {
        tracing::info!(
            small = i128::from(-5_i8),
            wide = i128::MIN,
            huge = u128::MAX,
            up = f64::INFINITY,
            down = f64::NEG_INFINITY,
            "wide"
        );
    });
    let line = &logged[0];
    assert_eq!(line["small"], "-5");
    assert_eq!(line["wide"], i128::MIN.to_string());
    assert_eq!(line["huge"], u128::MAX.to_string());
    assert_eq!(line["up"], Value::Null);
    assert_eq!(line["down"], Value::Null);
}

/// A value whose formatting fails.
struct Broken;

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("half")?;
        Err(std::fmt::Error)
    }
}

#[test]
fn a_value_that_fails_to_format_leaves_a_valid_line() {
    let logged = lines(|| tracing::info!(value = %Broken, after = 1_u64, "broken"));
    assert_eq!(logged[0]["value"], "<unprintable>");
    assert_eq!(logged[0]["after"], 1);
}

#[test]
fn a_line_written_while_the_thread_writes_another_gets_its_own_buffer() {
    // Under the global subscriber, a line logged from inside a value's `Debug` reaches the layer
    // while this thread's buffer is in use: holding the buffer here stands for that.
    let logged = lines(|| {
        super::LINE.with(|line| {
            let _held = line.borrow_mut();
            tracing::info!(n = 1_u64, "while held");
        });
        tracing::info!(n = 2_u64, "after");
    });
    let messages: Vec<&Value> = logged.iter().map(|l| &l["message"]).collect();
    assert_eq!(messages, [&json!("while held"), &json!("after")]);
}

#[test]
fn a_span_records_its_own_fields_and_a_field_called_name_gives_way() {
    let logged = lines(|| {
        let span = tracing::info_span!("request", name = "shadow", model = tracing::field::Empty);
        span.record("model", tracing::field::display(&Chatty));
        span.in_scope(|| tracing::info!("inside"));
        tracing::info!(parent: None, "rootless");
    });
    // Parsing keeps the last of two equal keys, so the text is checked for the first.
    let text = written(|| {
        let span = tracing::info_span!("request", name = "shadow");
        span.in_scope(|| tracing::info!("inside"));
    });
    assert_eq!(text.matches("\"name\":").count(), 1, "{text}");
    let inside = logged
        .iter()
        .find(|l| l["message"] == "inside")
        .expect("logged");
    assert_eq!(
        inside["span"],
        json!({"model": "chatty", "name": "request"})
    );
    let rootless = logged
        .iter()
        .find(|l| l["message"] == "rootless")
        .expect("logged");
    assert_eq!(
        rootless.get("span"),
        None,
        "an explicit `parent: None` has no span"
    );
}

#[test]
fn a_value_that_logs_while_recorded_inside_its_span_does_not_hang() {
    // `Span::record` is not guarded against nested dispatch: formatting the value logs a line
    // inside the span, which reads the span's fields while the record is being made.
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let logged = lines(|| {
            let span = tracing::info_span!("request", model = tracing::field::Empty);
            span.in_scope(|| span.record("model", tracing::field::display(&Chatty)));
            span.in_scope(|| tracing::info!("after"));
        });
        let _ = done.send(logged);
    });
    let logged = finished
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("recording a field that logs finished");
    let messages: Vec<&Value> = logged.iter().map(|l| &l["message"]).collect();
    assert_eq!(messages, [&json!("from inside Debug"), &json!("after")]);
    assert_eq!(logged[1]["span"]["model"], "chatty");
}

#[test]
fn a_buffer_grown_by_one_long_line_is_let_go() {
    let long = "x".repeat(2 * super::KEEP_BYTES);
    let logged = lines(|| {
        tracing::info!(long = long.as_str(), "long");
        let capacity = super::LINE.with(|line| line.borrow().capacity());
        assert!(capacity <= super::KEEP_BYTES, "{capacity}");
        tracing::info!("short");
    });
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[0]["long"].as_str().map(str::len), Some(long.len()));
}
