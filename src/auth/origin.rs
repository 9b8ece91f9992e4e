//! The CloudFront origin secret: with `CHATRIX_ORIGIN_SECRET` set, every request except the
//! health check must carry it in `x-chatrix-origin-secret`.
//!
//! CloudFront adds the header to each request it forwards; a client calling the Lambda function
//! URL directly does not know it and gets a 403. (CloudFront's origin access control would sign
//! requests instead, but for a function URL it needs the viewer to send the body's SHA-256 in
//! `x-amz-content-sha256`, which Claude Code and the SDKs never do, so every POST would fail.)
//! `/health` stays open: the Lambda Web Adapter's readiness probe calls it directly, not through
//! CloudFront. The header is removed before the request goes further, and compared in constant
//! time (as digests, so length does not leak either).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// The header CloudFront adds (configured in `cloudfront.tf`).
pub const ORIGIN_HEADER: &str = "x-chatrix-origin-secret";

/// The expected origin secret, kept as a digest.
pub struct OriginSecret {
    digest: [u8; 32],
}

impl OriginSecret {
    pub fn new(secret: &SecretString) -> Self {
        Self {
            digest: Sha256::digest(secret.expose_secret().as_bytes()).into(),
        }
    }

    fn matches(&self, presented: &[u8]) -> bool {
        let d: [u8; 32] = Sha256::digest(presented).into();
        bool::from(self.digest.ct_eq(&d))
    }
}

/// Middleware: refuse requests that did not come through CloudFront. Installed only when a secret
/// is set.
pub async fn require_origin(
    State(secret): State<Arc<OriginSecret>>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = request.headers_mut().remove(ORIGIN_HEADER);
    if request.uri().path() == "/health" {
        return next.run(request).await;
    }
    match presented {
        Some(v) if secret.matches(v.as_bytes()) => next.run(request).await,
        _ => ApiError::Permission(
            "this endpoint only answers requests that come through its CloudFront distribution"
                .into(),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_secret_matches() {
        let s = OriginSecret::new(&SecretString::from("origin-secret-0123456789".to_owned()));
        assert!(s.matches(b"origin-secret-0123456789"));
        for wrong in [
            &b""[..],
            b"origin-secret-012345678",
            b"origin-secret-01234567890",
        ] {
            assert!(!s.matches(wrong));
        }
    }
}
