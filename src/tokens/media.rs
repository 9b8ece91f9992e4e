//! Images and documents: tokens from what their bytes say (image header, PDF page objects), never
//! from the length of the base64 text.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

use super::text::text_tokens;

/// Anthropic's vision rule: an image costs about `width × height / 750` tokens, after it has been
/// scaled down (aspect kept) to at most 1568 px on the long edge and about 1.15 megapixels.
const PIXELS_PER_TOKEN: f64 = 750.0;
const MAX_LONG_EDGE: f64 = 1568.0;
const MAX_PIXELS: f64 = 1_150_000.0;
/// An image whose size is unknown (unreadable header, `url` source): the most a scaled image costs.
pub(super) const IMAGE_FALLBACK: u64 = 1_600;
/// One PDF page. Anthropic documents 1,500–3,000 tokens per page (its text plus a page image);
/// this is the low end, as Bedrock's Converse document path may send the text only.
pub(super) const PDF_PAGE: u64 = 1_500;
/// A PDF whose page objects sit in compressed object streams: one page per this many bytes.
const PDF_BYTES_PER_PAGE: usize = 50 * 1024;
/// A binary office document (`doc`, `docx`, `xls`, `xlsx`) or one of unknown size: one page.
pub(super) const BINARY_DOCUMENT: u64 = PDF_PAGE;
/// Base64 characters decoded to find an image header (JPEG headers can follow an EXIF block).
const HEADER_PREFIX: usize = 64 * 1024;

/// Accepts unpadded and padded data, as the request converter does.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Tokens of an image of `width × height` pixels.
pub fn image_tokens(width: u64, height: u64) -> u64 {
    if width == 0 || height == 0 {
        return IMAGE_FALLBACK;
    }
    let (mut w, mut h) = (width as f64, height as f64);
    let edge = MAX_LONG_EDGE / w.max(h);
    if edge < 1.0 {
        w *= edge;
        h *= edge;
    }
    let area = MAX_PIXELS / (w * h);
    if area < 1.0 {
        let side = area.sqrt();
        w *= side;
        h *= side;
    }
    ((w * h / PIXELS_PER_TOKEN).ceil() as u64).clamp(1, IMAGE_FALLBACK)
}

/// Tokens of a base64 image, sized from its PNG, JPEG, GIF or WebP header.
pub(super) fn base64_image_tokens(data: &str) -> u64 {
    image_size(data).map_or(IMAGE_FALLBACK, |(w, h)| image_tokens(w, h))
}

/// Width and height from the image header: a prefix is decoded first, the whole image only when
/// the header lies beyond it.
fn image_size(data: &str) -> Option<(u64, u64)> {
    let data = data.trim();
    let prefix_len = HEADER_PREFIX.min(data.len()) / 4 * 4;
    let from = |bytes: &[u8]| {
        imagesize::blob_size(bytes)
            .ok()
            .map(|s| (s.width as u64, s.height as u64))
    };
    let prefix = data.get(..prefix_len).and_then(|p| BASE64.decode(p).ok());
    if let Some(size) = prefix.as_deref().and_then(from) {
        return Some(size);
    }
    if prefix_len == data.len() {
        return None;
    }
    BASE64.decode(data).ok().as_deref().and_then(from)
}

/// Tokens of a base64 document of `media_type`: PDFs by page, text formats by their text.
pub(super) fn base64_document_tokens(media_type: &str, data: &str) -> u64 {
    let media_type = media_type.trim().to_ascii_lowercase();
    let Ok(bytes) = BASE64.decode(data.trim()) else {
        return BINARY_DOCUMENT;
    };
    if media_type == "application/pdf" {
        return pdf_pages(&bytes).saturating_mul(PDF_PAGE);
    }
    if media_type.starts_with("text/") {
        return text_tokens(&String::from_utf8_lossy(&bytes)).max(1);
    }
    BINARY_DOCUMENT
}

/// Page objects (`/Type /Page`, not `/Pages`) in the PDF's uncompressed part; when they are all
/// inside compressed object streams, a guess from the file size.
fn pdf_pages(pdf: &[u8]) -> u64 {
    let mut pages = 0u64;
    let mut rest = pdf;
    while let Some(at) = find(rest, b"/Type") {
        rest = &rest[at + 5..];
        let after = rest.trim_ascii_start();
        if let Some(tail) = after.strip_prefix(b"/Page") {
            if !tail.first().is_some_and(u8::is_ascii_alphanumeric) {
                pages += 1;
            }
        }
    }
    if pages > 0 {
        return pages;
    }
    pdf.len().div_ceil(PDF_BYTES_PER_PAGE).max(1) as u64
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG header (signature and IHDR) for a `width × height` image; the size is all it carries.
    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
        png.extend_from_slice(&width.to_be_bytes());
        png.extend_from_slice(&height.to_be_bytes());
        png.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        png
    }

    #[test]
    fn image_tokens_follow_the_area_rule_after_scaling() {
        let cases: [(u64, u64, u64); 6] = [
            (200, 200, 54),
            (1000, 1000, 1334),
            // Long edge over 1568 px: scaled to 1568 × 784 first, then to 1.15 MP.
            (4000, 2000, 1534),
            (1568, 400, 837),
            (1, 1, 1),
            (0, 100, IMAGE_FALLBACK),
        ];
        for (w, h, want) in cases {
            assert_eq!(image_tokens(w, h), want, "{w}x{h}");
        }
    }

    #[test]
    fn base64_images_are_sized_from_their_headers() {
        let small = BASE64.encode(png_header(300, 150));
        assert_eq!(base64_image_tokens(&small), 60);
        let big = BASE64.encode(png_header(3000, 3000));
        assert_eq!(base64_image_tokens(&big), 1534);
        let gif = BASE64.encode(b"GIF89a\x40\x01\xf0\x00\x00\x00\x00");
        assert_eq!(base64_image_tokens(&gif), image_tokens(320, 240));
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00];
        jpeg.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x01, 0xE0, 0x02, 0x80, 0x01]);
        jpeg.extend_from_slice(&[0x01, 0x11, 0x00]);
        assert_eq!(
            base64_image_tokens(&BASE64.encode(&jpeg)),
            image_tokens(640, 480)
        );
    }

    #[test]
    fn unreadable_images_get_the_fallback() {
        assert_eq!(base64_image_tokens("not base64!"), IMAGE_FALLBACK);
        let noise = BASE64.encode([7u8; 90]);
        assert_eq!(base64_image_tokens(&noise), IMAGE_FALLBACK);
    }

    #[test]
    fn a_jpeg_header_past_the_prefix_is_still_found() {
        let mut jpeg = vec![0xFF, 0xD8];
        // An APP1 segment of 60,000 bytes pushes the frame header beyond the decoded prefix.
        for _ in 0..2 {
            jpeg.extend_from_slice(&[0xFF, 0xE1, 0xEA, 0x60]);
            jpeg.extend(std::iter::repeat_n(0u8, 0xEA60 - 2));
        }
        jpeg.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x64, 0x00, 0xC8, 0x01]);
        jpeg.extend_from_slice(&[0x01, 0x11, 0x00]);
        let data = BASE64.encode(&jpeg);
        assert!(data.len() > HEADER_PREFIX);
        assert_eq!(base64_image_tokens(&data), image_tokens(200, 100));
    }

    #[test]
    fn pdfs_are_counted_by_page_objects() {
        let pdf = b"%PDF-1.7\n1 0 obj <</Type /Pages /Kids [2 0 R 3 0 R] /Count 2>> endobj\n\
                    2 0 obj <</Type /Page /Parent 1 0 R>> endobj\n3 0 obj <</Type/Page>> endobj\n";
        let data = BASE64.encode(pdf);
        assert_eq!(
            base64_document_tokens("application/pdf", &data),
            2 * PDF_PAGE
        );
        let opaque = BASE64.encode(vec![b'x'; 120 * 1024]);
        assert_eq!(
            base64_document_tokens("application/pdf", &opaque),
            3 * PDF_PAGE
        );
    }

    #[test]
    fn text_documents_are_counted_as_text_and_binary_ones_as_a_page() {
        let csv = BASE64.encode("name,qty\nbolts,40\nnuts,12\n");
        let n = base64_document_tokens("text/csv", &csv);
        assert!((5..30).contains(&n), "{n}");
        let docx = BASE64.encode([0x50, 0x4B, 3, 4, 0, 0]);
        assert_eq!(
            base64_document_tokens("application/msword", &docx),
            BINARY_DOCUMENT
        );
    }
}
