//! Writing an InvokeModel body's top level, whole or around one field kept where the client put
//! it.
//!
//! The bulk of a Claude Code body is one field (`messages`), which the native path sends exactly
//! as the client wrote it. [`Spliced`] holds the bytes before and after that field and the
//! field's place in the client's body; [`Spliced::assemble`] moves the field within the client's
//! own buffer and writes the rest around it. So a large body is never held twice (the RSS target
//! of docs/performance.md), and the megabytes of it are not copied into fresh memory. When the
//! buffer is shared, the parts are joined into a new one instead; the bytes are the same either
//! way, and the same as [`whole`] writes.
//!
//! The top level is written as serde_json writes a map of raw values: `{`, `"key":value` joined
//! by `,`, `}`, keys escaped by serde_json, values byte for byte. Pure.

use std::borrow::Cow;
use std::ops::Range;

use bytes::Bytes;

use super::request::Fields;
use crate::error::ApiError;

/// Bytes a request body's buffer leaves free after the body (`routes::body::read_body`): an
/// InvokeModel body is the client's with `anthropic_version` and `anthropic_beta` added before its
/// bulk (Claude Code sends `messages` second), about 100 to 600 bytes more, so with this room
/// [`Spliced::assemble`] writes it in place.
pub const ROOM: usize = 4096;

/// [`super::request::invoke_parts`]'s answer.
#[derive(Debug)]
pub struct NativeParts {
    pub body: Payload,
    pub dropped: Vec<String>,
    pub betas: Vec<String>,
}

/// A body written whole, or in parts around a field of the client's.
#[derive(Debug)]
pub enum Payload {
    Whole(Vec<u8>),
    Spliced(Spliced),
}

impl Payload {
    /// The bytes to send; `client` is the buffer a spliced body is written into.
    pub fn assemble(self, client: Bytes) -> Bytes {
        match self {
            Self::Whole(bytes) => Bytes::from(bytes),
            Self::Spliced(spliced) => spliced.assemble(client),
        }
    }
}

/// An InvokeModel body in three parts: see the module documentation.
#[derive(Debug)]
pub struct Spliced {
    head: Vec<u8>,
    /// The kept field's value, as a range of the client's body.
    kept: Range<usize>,
    tail: Vec<u8>,
}

/// The whole body in one new buffer.
///
/// # Errors
/// A key serde_json cannot write (it always can; kept for its signature).
pub(super) fn whole(fields: &Fields<'_>) -> Result<Vec<u8>, ApiError> {
    let size: usize = fields.iter().map(|(k, v)| k.len() + v.len() + 4).sum();
    // Sized up front: a growing Vec would double its way there, holding up to twice a large body.
    let mut out = Vec::with_capacity(size + 2);
    write(&mut out, fields.iter())?;
    out.push(b'}');
    Ok(out)
}

/// The body as parts around its largest field still borrowed from `client` (the client's body,
/// which the fields were split from); `None` when every field was written anew.
///
/// # Errors
/// As [`whole`].
pub(super) fn around_largest(
    fields: &Fields<'_>,
    client: &[u8],
) -> Result<Option<Spliced>, ApiError> {
    let span = client.as_ptr_range();
    let borrowed = fields.iter().enumerate().filter_map(|(i, (_, v))| match v {
        Cow::Borrowed(raw) if span.contains(&raw.as_ptr()) => Some((i, *raw)),
        _ => None,
    });
    let Some((at, raw)) = borrowed.max_by_key(|(_, raw)| raw.len()) else {
        return Ok(None);
    };
    let start = raw.as_ptr() as usize - client.as_ptr() as usize;
    let kept = start..start + raw.len();
    let mut head = Vec::new();
    write(&mut head, fields.iter().take(at))?;
    if let Some((key, _)) = fields.get_index(at) {
        name(&mut head, at > 0, key)?;
    }
    let mut tail = Vec::new();
    for (key, value) in fields.iter().skip(at + 1) {
        entry(&mut tail, true, key, value)?;
    }
    tail.push(b'}');
    Ok(Some(Spliced { head, kept, tail }))
}

impl Spliced {
    /// The body, written into `client`'s own buffer when nothing else holds it.
    pub fn assemble(self, client: Bytes) -> Bytes {
        let Self { head, kept, tail } = self;
        let end = head.len() + kept.len();
        match client.try_into_mut() {
            Ok(mut buf) => {
                if buf.len() < end {
                    // Within the capacity `read_body` leaves for this, else one reallocation.
                    buf.resize(end, 0);
                }
                buf.copy_within(kept, head.len());
                buf[..head.len()].copy_from_slice(&head);
                buf.truncate(end);
                buf.extend_from_slice(&tail);
                buf.freeze()
            }
            Err(shared) => {
                let mut out = Vec::with_capacity(end + tail.len());
                out.extend_from_slice(&head);
                out.extend_from_slice(&shared[kept]);
                out.extend_from_slice(&tail);
                Bytes::from(out)
            }
        }
    }
}

/// `{` and the entries, without the closing brace.
fn write<'f, 'a: 'f>(
    out: &mut Vec<u8>,
    fields: impl Iterator<Item = (&'f Cow<'a, str>, &'f Cow<'a, str>)>,
) -> Result<(), ApiError> {
    out.push(b'{');
    for (i, (key, value)) in fields.enumerate() {
        entry(out, i > 0, key, value)?;
    }
    Ok(())
}

/// `"key":value`, after a comma unless it is the first.
fn entry(out: &mut Vec<u8>, comma: bool, key: &str, value: &str) -> Result<(), ApiError> {
    name(out, comma, key)?;
    out.extend_from_slice(value.as_bytes());
    Ok(())
}

/// `"key":`, after a comma unless it is the first.
fn name(out: &mut Vec<u8>, comma: bool, key: &str) -> Result<(), ApiError> {
    if comma {
        out.push(b',');
    }
    serde_json::to_writer(&mut *out, key).map_err(|e| ApiError::Internal(e.into()))?;
    out.push(b':');
    Ok(())
}

#[cfg(test)]
#[path = "splice_tests.rs"]
mod tests;
