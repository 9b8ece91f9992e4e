//! The one place that downloads `url` image and document sources (SSRF-guarded).
//!
//! Anthropic requests may reference images and documents by URL; Bedrock only takes bytes, so the
//! gateway downloads them here. Because the URL comes from the client, every fetch is guarded:
//! - only `http`/`https`;
//! - IP-literal URLs and redirect targets are checked before any connection (hyper never asks
//!   the resolver about IP literals);
//! - hostnames are resolved by [`GuardedResolver`], which refuses the whole lookup if any address
//!   is not public, so the address connected to is the address checked (no check-then-use race);
//! - no proxy (a proxy would resolve and connect for us, past the checks), no `Referer`;
//! - the body is streamed and cut off at [`FetchLimits::max_bytes`], the whole fetch is bounded by
//!   [`FetchLimits::timeout`].
//!
//! Every failure is the client's ([`ApiError::InvalidRequest`], 400), never a 5xx. This module must
//! not log or echo a URL's path or query string (they may carry tokens): messages and logs name the
//! host only. Converting the bytes into Bedrock blocks is `convert`'s job, not this module's.

mod address;

use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;
use reqwest::Url;
use tracing::debug;

use crate::error::ApiError;
use address::{is_public, is_refused_hostname};

/// Which destination addresses a fetch may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPolicy {
    /// Globally routable unicast addresses only (the production setting).
    PublicOnly,
    /// Any address; only for tests or an explicit operator opt-in.
    AllowPrivate,
}

#[derive(Debug, Clone)]
pub struct FetchLimits {
    pub max_bytes: usize,
    /// Bounds the whole fetch: connect, redirects, headers and body.
    pub timeout: Duration,
    pub max_redirects: usize,
    pub policy: AddressPolicy,
}

impl Default for FetchLimits {
    /// 5 MiB (Bedrock takes images up to 3.75 MB and documents up to 4.5 MB), 10 s, 3 redirects,
    /// public addresses only.
    fn default() -> Self {
        Self {
            max_bytes: 5 * 1024 * 1024,
            timeout: Duration::from_secs(10),
            max_redirects: 3,
            policy: AddressPolicy::PublicOnly,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Fetched {
    /// From `Content-Type`, parameters stripped, lowercased; `application/octet-stream` when absent.
    pub media_type: String,
    pub bytes: Bytes,
}

#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    limits: FetchLimits,
}

/// A destination refused by policy, carried through reqwest's error chain so that the client gets
/// our message rather than a generic connect error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(String);

/// Resolves with the system resolver and refuses any name with a non-public address.
///
/// Refusing the whole name (rather than dropping the bad addresses) also defeats a DNS answer that
/// mixes a public address with an internal one.
#[derive(Debug)]
struct GuardedResolver {
    policy: AddressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if policy == AddressPolicy::PublicOnly {
                if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
                    debug!(host, ip = %bad.ip(), "url source host resolves to a non-public address");
                    // The internal address is not echoed: it would let clients map internal DNS.
                    let err: Box<dyn StdError + Send + Sync> = Box::new(Refused(format!(
                        "host `{host}` resolves to a non-public address"
                    )));
                    return Err(err);
                }
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Checks a URL before connecting to it: the original request and every redirect target.
///
/// Hostnames are only screened by name here; their addresses are checked by [`GuardedResolver`]
/// at connect time. The returned message names the scheme, host or address, never path or query.
fn check_target(url: &Url, policy: AddressPolicy) -> Result<(), String> {
    let scheme = url.scheme();
    if scheme != "http" && scheme != "https" {
        return Err(format!(
            "scheme `{scheme}` is not supported; use http or https"
        ));
    }
    let Some(host) = url.host_str() else {
        return Err("the URL has no host".to_owned());
    };
    if policy == AddressPolicy::AllowPrivate {
        return Ok(());
    }
    // `Url` has already normalized odd IPv4 spellings (`2130706433`, `0x7f.1`) to dotted form and
    // wraps IPv6 in brackets.
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    match literal.parse::<IpAddr>() {
        Ok(ip) if !is_public(ip) => Err(format!("address {ip} is not a public address")),
        Ok(_) => Ok(()),
        Err(_) if is_refused_hostname(host) => Err(format!("host `{host}` is not allowed")),
        Err(_) => Ok(()),
    }
}

fn redirect_policy(max_redirects: usize, policy: AddressPolicy) -> redirect::Policy {
    redirect::Policy::custom(move |attempt| {
        // `previous` includes the original URL, so this allows exactly `max_redirects` hops.
        if attempt.previous().len() > max_redirects {
            return attempt.error(Refused(format!("more than {max_redirects} redirects")));
        }
        match check_target(attempt.url(), policy) {
            Ok(()) => {
                debug!(
                    host = attempt.url().host_str(),
                    "following url source redirect"
                );
                attempt.follow()
            }
            Err(why) => attempt.error(Refused(format!("redirect refused: {why}"))),
        }
    })
}

/// "could not fetch url source from host `h`: …", the one shape of every fetch error.
fn failed(host: &str, what: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(format!(
        "could not fetch url source from host `{host}`: {what}"
    ))
}

/// A client-facing reason for a reqwest failure. reqwest's own `Display` includes the full URL,
/// so it is never used in messages.
fn describe(err: &reqwest::Error, timeout: Duration) -> String {
    let mut cause: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cause {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return refused.0.clone();
        }
        cause = e.source();
    }
    if err.is_timeout() {
        format!("timed out after {timeout:?}")
    } else if err.is_connect() {
        "could not connect".to_owned()
    } else if err.is_body() || err.is_decode() {
        "reading the response body failed".to_owned()
    } else {
        "the request failed".to_owned()
    }
}

fn media_type(headers: &reqwest::header::HeaderMap) -> String {
    let essence = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if essence.is_empty() {
        "application/octet-stream".to_owned()
    } else {
        essence
    }
}

impl Fetcher {
    /// # Errors
    /// When the HTTP client cannot be built (TLS backend initialisation).
    pub fn new(limits: FetchLimits) -> anyhow::Result<Self> {
        let redirects = limits.policy;
        Self::build(limits, redirects)
    }

    /// Like [`Fetcher::new`] with a separate policy for redirect targets, so tests can serve from
    /// 127.0.0.1 and still prove that redirects are checked.
    fn build(limits: FetchLimits, redirects: AddressPolicy) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: limits.policy,
            }))
            .redirect(redirect_policy(limits.max_redirects, redirects))
            // The previous URL (query string included) must not leak to a redirect target.
            .referer(false)
            .user_agent(concat!("chatrix/", env!("CARGO_PKG_VERSION")))
            // Backstop only: `fetch` bounds the whole operation itself.
            .timeout(limits.timeout)
            .build()?;
        Ok(Self { client, limits })
    }

    /// Downloads `url` under the configured limits.
    ///
    /// # Errors
    /// [`ApiError::InvalidRequest`] naming the URL problem (scheme not http/https, refused address,
    /// too large, timeout, non-2xx status, connection failure) — these are the caller's fault from
    /// the client's view, so 400 with a clear message; never 5xx.
    pub async fn fetch(&self, url: &str) -> Result<Fetched, ApiError> {
        let url = Url::parse(url)
            .map_err(|e| ApiError::invalid(format!("url source is not a valid URL: {e}")))?;
        check_target(&url, self.limits.policy)
            .map_err(|why| ApiError::invalid(format!("url source refused: {why}")))?;
        let host = url.host_str().unwrap_or_default().to_owned();
        debug!(host, "fetching url source");
        let timeout = self.limits.timeout;
        match tokio::time::timeout(timeout, self.fetch_checked(url, &host)).await {
            Ok(result) => result,
            Err(_) => Err(failed(&host, format_args!("timed out after {timeout:?}"))),
        }
    }

    /// The fetch itself, after the pre-connect check; hostnames are still guarded by the resolver.
    async fn fetch_checked(&self, url: Url, host: &str) -> Result<Fetched, ApiError> {
        let timeout = self.limits.timeout;
        let max = self.limits.max_bytes;
        let on_error = |err: reqwest::Error| {
            let why = describe(&err, timeout);
            debug!(host, error = %err.without_url(), why, "url source fetch failed");
            failed(host, why)
        };
        let mut response = self.client.get(url).send().await.map_err(on_error)?;
        let status = response.status();
        if !status.is_success() {
            return Err(failed(
                host,
                format_args!("the server answered HTTP {status}"),
            ));
        }
        let declared = response.content_length();
        if let Some(len) = declared.filter(|&len| len > max as u64) {
            return Err(failed(
                host,
                format_args!("the body is {len} bytes, over the {max}-byte limit"),
            ));
        }
        let media_type = media_type(response.headers());
        let capacity = declared.map_or(0, |len| usize::try_from(len).unwrap_or(max).min(max));
        let mut body = BytesMut::with_capacity(capacity);
        while let Some(chunk) = response.chunk().await.map_err(on_error)? {
            if body.len() + chunk.len() > max {
                return Err(failed(
                    host,
                    format_args!("the body exceeds the {max}-byte limit"),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            media_type,
            bytes: body.freeze(),
        })
    }
}

#[cfg(test)]
mod tests;
