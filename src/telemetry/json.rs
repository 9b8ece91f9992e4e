//! The JSON log line: one object per event, written with one `write` call.
//!
//! `{"level":…,"span":{…,"name":…},"target":…,"timestamp":…,"message":…,<the event's fields>}` —
//! the keys and values `json-subscriber` wrote before (docs/operations.md), with the innermost
//! span's fields (for a request: its id, key, model, upstream and session) under `span`. Keys are
//! in the order recorded (json-subscriber sorted them); 128-bit integers are strings, as there,
//! since JSON readers hold numbers as doubles.
//!
//! Why not `json-subscriber`: it builds a map of `serde_json::Value`s for every line and
//! serializes it again, and keeps a span's fields as values, which cost about 33,000 instructions
//! per request line and 11,000 more for the request span's three records: with the span's own
//! upkeep, about 52,000 of the 542,000 instructions a small native request cost
//! (`bench/instructions.py`, docs/performance.md). tracing-subscriber's own JSON format keeps span
//! fields as a JSON string that it parses again for every record and every line (60,000 more).
//! Here a span keeps each field as JSON text from the moment it is recorded, and a line is written
//! straight into one reused buffer: every string goes through serde_json's escaping, so the line
//! is valid JSON whatever a field holds.

use std::cell::RefCell;
use std::fmt;
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// A span's fields, each as JSON text, in the order first recorded; a field recorded again
/// replaces its value.
#[derive(Debug, Default)]
struct SpanFields(Vec<(&'static str, Vec<u8>)>);

impl SpanFields {
    fn set(&mut self, name: &'static str, json: &[u8]) {
        self.put(name, json.to_vec());
    }

    fn put(&mut self, name: &'static str, json: Vec<u8>) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = json,
            None => self.0.push((name, json)),
        }
    }
}

/// Writes each field's value as JSON text into `scratch` and hands it to the sink: strings and
/// `Debug`/`Display` values as JSON strings, numbers and booleans as themselves (a float JSON
/// cannot hold as `null`).
struct Values<F: FnMut(&'static str, &[u8])> {
    scratch: Vec<u8>,
    sink: F,
}

impl<F: FnMut(&'static str, &[u8])> Values<F> {
    fn new(sink: F) -> Self {
        Self {
            scratch: Vec::with_capacity(64),
            sink,
        }
    }

    fn emit(&mut self, field: &Field, write: impl FnOnce(&mut Vec<u8>)) {
        self.scratch.clear();
        write(&mut self.scratch);
        (self.sink)(field.name(), &self.scratch);
    }

    fn number(&mut self, field: &Field, value: impl fmt::Display) {
        self.emit(field, |out| {
            // Writing into a `Vec` cannot fail.
            let _ = write!(out, "{value}");
        });
    }

    fn text(&mut self, field: &Field, value: &str) {
        self.emit(field, |out| quote(out, value));
    }

    /// A `Display` value as a JSON string. One whose formatting fails is not a panic (as
    /// `format!` and serde_json's `collect_str` make it) but `"<unprintable>"`.
    fn display(&mut self, field: &Field, value: &dyn fmt::Display) {
        let mut text = String::new();
        if fmt::Write::write_fmt(&mut text, format_args!("{value}")).is_err() {
            text = "<unprintable>".to_owned();
        }
        self.text(field, &text);
    }
}

impl<F: FnMut(&'static str, &[u8])> Visit for Values<F> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        match serde_json::Number::from_f64(value) {
            Some(n) => self.number(field, n),
            None => self.number(field, "null"),
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.number(field, value);
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.number(field, value);
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.display(field, &value);
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        self.display(field, &value);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.number(field, value);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.text(field, value);
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.display(field, value);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.display(field, &format_args!("{value:?}"));
    }
}

/// `value` as a JSON string, escaped by serde_json.
fn quote(out: &mut Vec<u8>, value: &str) {
    // Writing into a `Vec` cannot fail.
    let _ = serde_json::to_writer(out, value);
}

/// A buffer grown past this by one long line is let go after it.
const KEEP_BYTES: usize = 64 * 1024;

/// The layer: JSON lines to `writer` (standard error in the gateway).
#[derive(Debug)]
pub struct JsonLines<W> {
    writer: W,
}

impl<W> JsonLines<W> {
    pub fn new(writer: W) -> Self {
        Self { writer }
    }
}

thread_local! {
    /// The line being written, reused so the line itself needs no allocation once the buffer has
    /// grown (the fields' scratch buffer, the timestamp and the message still take small ones).
    static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl<S, W> Layer<S> for JsonLines<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = SpanFields::default();
        attrs.record(&mut Values::new(|name, json| fields.set(name, json)));
        span.extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        // Formatted before the span's extensions are locked: a value whose `Debug` logs inside
        // this span would otherwise wait for that lock forever.
        let mut recorded = SpanFields::default();
        values.record(&mut Values::new(|name, json| recorded.set(name, json)));
        let mut extensions = span.extensions_mut();
        if let Some(fields) = extensions.get_mut::<SpanFields>() {
            for (name, json) in recorded.0 {
                fields.put(name, json);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let write = |buf: &mut Vec<u8>| {
            buf.clear();
            write_line(buf, event, &ctx);
            // A line that cannot be written (standard error closed) is dropped, as
            // tracing-subscriber's own writers drop it.
            let _ = self.writer.make_writer_for(event.metadata()).write_all(buf);
        };
        let reused = LINE.try_with(|line| match line.try_borrow_mut() {
            Ok(mut buf) => {
                write(&mut buf);
                if buf.capacity() > KEEP_BYTES {
                    *buf = Vec::new();
                }
                true
            }
            Err(_) => false,
        });
        // A line logged while this thread writes another (from inside a value's `Debug`: under
        // the global subscriber tracing hands it over), or from a thread-local's destructor after
        // the buffer's own is gone, gets a buffer of its own; the nested one is written first.
        if !matches!(reused, Ok(true)) {
            write(&mut Vec::new());
        }
    }
}

/// One line, newline included.
fn write_line<S>(buf: &mut Vec<u8>, event: &Event<'_>, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let meta = event.metadata();
    buf.extend_from_slice(b"{\"level\":");
    quote(buf, meta.level().as_str());
    if let Some(span) = ctx.event_span(event) {
        buf.extend_from_slice(b",\"span\":{");
        if let Some(fields) = span.extensions().get::<SpanFields>() {
            // A field called `name` gives way to the span's name, as in json-subscriber.
            for (name, json) in fields.0.iter().filter(|(n, _)| *n != "name") {
                field(buf, name, json);
                buf.push(b',');
            }
        }
        buf.extend_from_slice(b"\"name\":");
        quote(buf, span.name());
        buf.push(b'}');
    }
    buf.extend_from_slice(b",\"target\":");
    quote(buf, meta.target());
    let mut time = String::with_capacity(32);
    // A clock that cannot be formatted leaves the timestamp out rather than the line unwritten.
    if SystemTime.format_time(&mut Writer::new(&mut time)).is_ok() {
        buf.extend_from_slice(b",\"timestamp\":");
        quote(buf, &time);
    }
    event.record(&mut Values::new(|name, json| {
        buf.push(b',');
        field(buf, name, json);
    }));
    buf.extend_from_slice(b"}\n");
}

/// `"name":` and the value's JSON text.
fn field(buf: &mut Vec<u8>, name: &str, json: &[u8]) {
    quote(buf, name);
    buf.push(b':');
    buf.extend_from_slice(json);
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
