//! What a block's `source` becomes on the Converse wire: media types mapped to Converse formats,
//! base64 blobs validated (never decoded and re-encoded), document names Bedrock accepts, and the
//! 400 for a source Bedrock cannot take (un-fetched `url`, Files API `file`).
//!
//! Pure: no I/O, and nothing here logs.

use std::borrow::Cow;
use std::collections::HashSet;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

use crate::anthropic::request::Source;
use crate::error::ApiError;

/// Bedrock's document `name` is limited to 200 characters; leave room for a ` (N)` suffix.
const MAX_DOCUMENT_NAME: usize = 190;

pub(super) fn image_format(media_type: &str) -> Option<&'static str> {
    match media_type.trim().to_ascii_lowercase().as_str() {
        "image/jpeg" | "image/jpg" => Some("jpeg"),
        "image/png" => Some("png"),
        "image/gif" => Some("gif"),
        "image/webp" => Some("webp"),
        _ => None,
    }
}

pub(super) fn document_format(media_type: &str) -> Option<&'static str> {
    Some(match media_type.trim().to_ascii_lowercase().as_str() {
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "text/markdown" => "md",
        "text/html" => "html",
        "text/csv" => "csv",
        "application/msword" => "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        _ => return None,
    })
}

pub(super) fn source_error(source: &Source, path: &str, what: &str) -> ApiError {
    ApiError::invalid(match source {
        Source::Url { .. } => {
            format!("{path}: this `url` source was not downloaded by the gateway; send the data as `base64`")
        }
        Source::File { .. } => {
            format!("{path}: `file` sources (Files API) are not available through Bedrock; send the data as `base64`")
        }
        Source::Base64 { .. } | Source::Text { .. } | Source::Content { .. } => {
            format!("{path}: {what} needs a `base64` or `url` source")
        }
    })
}

const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The blob as Bedrock should get it: the client's string unchanged, except that missing `=`
/// padding is added (Bedrock's decoder expects it; the decoded bytes are the same).
pub(super) fn base64_blob<'d>(data: &'d str, path: &str) -> Result<Cow<'d, str>, ApiError> {
    validate_base64(data, path)?;
    Ok(match data.len() % 4 {
        0 => Cow::Borrowed(data),
        n => Cow::Owned(format!("{data}{}", "=".repeat(4 - n))),
    })
}

/// Decodes in fixed-size chunks (multiples of 4 characters) so multi-megabyte images are checked
/// without allocating a copy.
pub(super) fn validate_base64(data: &str, path: &str) -> Result<(), ApiError> {
    const CHUNK: usize = 16 * 1024;
    if data.is_empty() {
        return Err(ApiError::invalid(format!("{path}: must not be empty")));
    }
    let mut buf = [0u8; CHUNK / 4 * 3];
    for chunk in data.as_bytes().chunks(CHUNK) {
        BASE64
            .decode_slice(chunk, &mut buf)
            .map_err(|_| ApiError::invalid(format!("{path}: invalid base64 data")))?;
    }
    Ok(())
}

/// Document names unique within one request.
#[derive(Default)]
pub(super) struct DocumentNames {
    count: usize,
    used: HashSet<String>,
}

impl DocumentNames {
    pub(super) fn next(&mut self, title: Option<&str>) -> String {
        self.count += 1;
        let base = title
            .map(normalize_document_name)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("document-{}", self.count));
        let mut name = base.clone();
        let mut n = 2;
        while !self.used.insert(name.clone()) {
            name = format!("{base} ({n})");
            n += 1;
        }
        name
    }
}

/// Bedrock allows only ASCII alphanumerics, single spaces, hyphens, parentheses and square brackets
/// in document names; everything else becomes a space, and runs of spaces collapse to one.
pub(super) fn normalize_document_name(title: &str) -> String {
    let mut out = String::with_capacity(title.len().min(MAX_DOCUMENT_NAME));
    for c in title.chars() {
        let keep = c.is_ascii_alphanumeric() || matches!(c, '-' | '(' | ')' | '[' | ']');
        if keep {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
        if out.len() >= MAX_DOCUMENT_NAME {
            break;
        }
    }
    out.trim_end().to_owned()
}
