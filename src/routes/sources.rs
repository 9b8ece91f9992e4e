//! `url` image and document sources, downloaded through [`Fetcher`] (Bedrock takes bytes only) and
//! labelled by their magic bytes. Both Claude paths use it; the fetching itself is in `fetch`.

use base64::Engine;
use futures::{StreamExt, TryStreamExt};

use crate::anthropic::request::{MessagesRequest, Source};
use crate::error::ApiError;
use crate::fetch::Fetcher;

/// Downloads `url` image and document sources (Bedrock takes bytes only), a few at a time.
pub(super) async fn inline_url_sources(
    fetcher: &Fetcher,
    request: &mut MessagesRequest,
) -> Result<(), ApiError> {
    let urls: Vec<String> = request
        .url_sources_mut()
        .into_iter()
        .filter_map(|s| match s {
            Source::Url { url } => Some(url.clone()),
            _ => None,
        })
        .collect();
    if urls.is_empty() {
        return Ok(());
    }
    let fetched = fetch_sources(fetcher, urls).await?;
    for (source, (media_type, data)) in request.url_sources_mut().into_iter().zip(fetched) {
        *source = Source::Base64 { media_type, data };
    }
    Ok(())
}

/// Each URL's bytes as `(media type, base64)`, fetched four at a time, in order.
pub(super) async fn fetch_sources(
    fetcher: &Fetcher,
    urls: Vec<String>,
) -> Result<Vec<(String, String)>, ApiError> {
    let downloads = urls.into_iter().map(|url| {
        let fetcher = fetcher.clone();
        async move { fetcher.fetch(&url).await }
    });
    let fetched: Vec<_> = futures::stream::iter(downloads)
        .buffered(4)
        .try_collect()
        .await?;
    Ok(fetched
        .into_iter()
        .map(|f| {
            let media_type = sniff_media_type(&f.media_type, &f.bytes);
            let data = base64::engine::general_purpose::STANDARD.encode(&f.bytes);
            (media_type, data)
        })
        .collect())
}

/// Servers often label images and PDFs `application/octet-stream`; the magic bytes are reliable.
fn sniff_media_type(declared: &str, bytes: &[u8]) -> String {
    let sniffed = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    };
    match sniffed {
        Some(t) if !declared.starts_with("text/") => t.to_owned(),
        _ => declared.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_are_sniffed_from_magic_bytes_when_the_label_is_generic() {
        let cases: [(&str, &[u8], &str); 6] = [
            (
                "application/octet-stream",
                b"\x89PNG\r\n\x1a\nrest",
                "image/png",
            ),
            (
                "binary/octet-stream",
                &[0xFF, 0xD8, 0xFF, 0xE0],
                "image/jpeg",
            ),
            ("application/octet-stream", b"GIF89a...", "image/gif"),
            (
                "application/octet-stream",
                b"RIFF\0\0\0\0WEBPVP8 ",
                "image/webp",
            ),
            ("application/octet-stream", b"%PDF-1.7", "application/pdf"),
            ("text/plain", b"%PDF-1.7 but really text", "text/plain"),
        ];
        for (declared, bytes, want) in cases {
            assert_eq!(sniff_media_type(declared, bytes), want, "{declared}");
        }
    }
}
