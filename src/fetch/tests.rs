//! Fetcher tests against a local axum server on 127.0.0.1:0; nothing touches the internet.
//! (The address classifier's table lives next to it in `address.rs`.)

use std::convert::Infallible;
use std::time::Instant;

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::response::Redirect;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use super::*;

const SLOW: Duration = Duration::from_secs(30);

fn router() -> Router {
    Router::new()
        .route(
            "/image",
            get(|| async {
                (
                    [(CONTENT_TYPE, "Image/PNG; charset=binary")],
                    &b"\x89PNG\r\n\x1a\n"[..],
                )
            }),
        )
        .route("/untyped", get(|| async { Body::from("raw") }))
        .route("/big", get(|| async { vec![0u8; 2048] }))
        .route(
            "/big-chunked",
            get(|| async {
                // A stream has no size hint, so the response goes out chunked without Content-Length.
                let chunks = (0..4).map(|_| Ok::<_, Infallible>(Bytes::from(vec![0u8; 512])));
                Body::from_stream(futures::stream::iter(chunks))
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(SLOW).await;
                "late"
            }),
        )
        .route(
            "/slow-body",
            get(|| async {
                Body::from_stream(async_stream::stream! {
                    yield Ok::<_, Infallible>(Bytes::from_static(b"first"));
                    tokio::time::sleep(SLOW).await;
                    yield Ok(Bytes::from_static(b"second"));
                })
            }),
        )
        .route("/to-image", get(|| async { Redirect::temporary("/image") }))
        .route("/loop", get(|| async { Redirect::temporary("/loop") }))
}

async fn serve() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router()).await });
    addr
}

fn limits(policy: AddressPolicy) -> FetchLimits {
    FetchLimits {
        max_bytes: 1024,
        timeout: Duration::from_secs(5),
        max_redirects: 3,
        policy,
    }
}

fn local() -> Fetcher {
    Fetcher::new(limits(AddressPolicy::AllowPrivate)).unwrap()
}

/// The message of an error, after checking it is a 400 `invalid_request_error`.
fn message(err: &ApiError) -> String {
    assert_eq!(err.status().as_u16(), 400, "{err:?}");
    assert_eq!(err.kind(), "invalid_request_error");
    err.to_string()
}

/// The message of a fetch that must fail.
async fn refusal(fetcher: &Fetcher, url: &str) -> String {
    message(&fetcher.fetch(url).await.unwrap_err())
}

#[test]
fn defaults_fit_bedrock_limits() {
    let d = FetchLimits::default();
    assert_eq!(d.max_bytes, 5 * 1024 * 1024);
    assert_eq!(d.timeout, Duration::from_secs(10));
    assert_eq!(d.max_redirects, 3);
    assert_eq!(d.policy, AddressPolicy::PublicOnly);
}

#[tokio::test]
async fn public_only_refuses_local_targets_before_connecting() {
    // A live server, so a missing check would show up as a successful fetch.
    let addr = serve().await;
    let port = addr.port();
    let fetcher = Fetcher::new(limits(AddressPolicy::PublicOnly)).unwrap();
    let cases = [
        (
            format!("http://127.0.0.1:{port}/image"),
            "address 127.0.0.1",
        ),
        (
            format!("http://2130706433:{port}/image"),
            "address 127.0.0.1",
        ),
        (
            format!("http://[::ffff:127.0.0.1]:{port}/image"),
            "not a public address",
        ),
        (
            format!("http://localhost:{port}/image"),
            "host `localhost` is not allowed",
        ),
        ("http://[::1]/".to_owned(), "address ::1"),
        (
            "http://169.254.169.254/latest/meta-data".to_owned(),
            "address 169.254.169.254",
        ),
        ("http://localhost/".to_owned(), "host `localhost`"),
        (
            "http://metadata.google.internal/computeMetadata/v1/".to_owned(),
            "is not allowed",
        ),
        ("http://0.0.0.0/".to_owned(), "address 0.0.0.0"),
        ("ftp://x/".to_owned(), "scheme `ftp` is not supported"),
        (
            "file:///etc/passwd".to_owned(),
            "scheme `file` is not supported",
        ),
    ];
    for (url, want) in cases {
        let msg = refusal(&fetcher, &url).await;
        assert!(msg.contains(want), "{url}: {msg}");
        assert!(msg.starts_with("url source refused"), "{url}: {msg}");
    }
    let msg = refusal(&fetcher, "not a url").await;
    assert!(msg.contains("not a valid URL"), "{msg}");
}

#[tokio::test]
async fn resolver_refuses_names_with_private_addresses() {
    let name = |s: &str| s.parse::<Name>().unwrap();
    let guarded = GuardedResolver {
        policy: AddressPolicy::PublicOnly,
    };
    let err = guarded.resolve(name("localhost")).await.err().unwrap();
    assert!(err.to_string().contains("non-public address"), "{err}");
    let open = GuardedResolver {
        policy: AddressPolicy::AllowPrivate,
    };
    assert!(open
        .resolve(name("localhost"))
        .await
        .unwrap()
        .any(|a| a.ip().is_loopback()));

    // End to end, past the hostname screen: the resolver is installed and its refusal reaches
    // the client as a clear 400.
    let addr = serve().await;
    let fetcher = Fetcher::new(limits(AddressPolicy::PublicOnly)).unwrap();
    let url = Url::parse(&format!(
        "http://localhost:{}/image?token=secret",
        addr.port()
    ))
    .unwrap();
    let msg = message(&fetcher.fetch_checked(url, "localhost").await.unwrap_err());
    assert!(msg.contains("resolves to a non-public address"), "{msg}");
    assert!(!msg.contains("secret") && !msg.contains("/image"), "{msg}");
}

#[test]
fn redirect_targets_are_checked() {
    let public = AddressPolicy::PublicOnly;
    for target in [
        "http://127.0.0.1/admin",
        "http://127.1/",
        "http://0x7f000001/",
        "http://[::1]:8080/",
        "http://[::ffff:10.0.0.1]/",
        "http://169.254.169.254/latest/meta-data",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://[fe80::1]/",
        "http://api.localhost/",
        "gopher://example.com/",
        "file:///etc/passwd",
    ] {
        let url = Url::parse(target).unwrap();
        assert!(check_target(&url, public).is_err(), "{target}");
    }
    for target in [
        "https://example.com/a.png?sig=1",
        "http://8.8.8.8/",
        "https://[2606:4700::1]/",
    ] {
        let url = Url::parse(target).unwrap();
        assert_eq!(check_target(&url, public), Ok(()), "{target}");
    }
    let private = Url::parse("http://127.0.0.1/").unwrap();
    assert_eq!(check_target(&private, AddressPolicy::AllowPrivate), Ok(()));
    let ftp = Url::parse("ftp://127.0.0.1/").unwrap();
    assert!(check_target(&ftp, AddressPolicy::AllowPrivate).is_err());
}

#[tokio::test]
async fn fetches_and_parses_the_media_type() {
    let addr = serve().await;
    let got = local()
        .fetch(&format!("http://{addr}/image"))
        .await
        .unwrap();
    assert_eq!(got.media_type, "image/png");
    assert_eq!(&got.bytes[..], b"\x89PNG\r\n\x1a\n");
    let got = local()
        .fetch(&format!("http://{addr}/untyped"))
        .await
        .unwrap();
    assert_eq!(got.media_type, "application/octet-stream");
    assert_eq!(&got.bytes[..], b"raw");
}

#[tokio::test]
async fn oversize_bodies_are_refused() {
    let addr = serve().await;
    let msg = refusal(&local(), &format!("http://{addr}/big")).await;
    assert!(
        msg.contains("the body is 2048 bytes, over the 1024-byte limit"),
        "{msg}"
    );
    // No Content-Length: the streamed body is cut off once it passes the limit.
    let msg = refusal(&local(), &format!("http://{addr}/big-chunked")).await;
    assert!(
        msg.contains("the body exceeds the 1024-byte limit"),
        "{msg}"
    );
    // The limit is inclusive.
    let exact = Fetcher::new(FetchLimits {
        max_bytes: 2048,
        ..limits(AddressPolicy::AllowPrivate)
    });
    let got = exact
        .unwrap()
        .fetch(&format!("http://{addr}/big-chunked"))
        .await
        .unwrap();
    assert_eq!(got.bytes.len(), 2048);
}

#[tokio::test]
async fn slow_servers_hit_the_timeout() {
    let addr = serve().await;
    let quick = Duration::from_millis(300);
    let fetcher = Fetcher::new(FetchLimits {
        timeout: quick,
        ..limits(AddressPolicy::AllowPrivate)
    })
    .unwrap();
    for path in ["slow", "slow-body"] {
        let started = Instant::now();
        let msg = refusal(&fetcher, &format!("http://{addr}/{path}")).await;
        assert!(msg.contains("timed out after 300ms"), "{path}: {msg}");
        assert!(started.elapsed() < Duration::from_secs(5), "{path}");
    }
}

#[tokio::test]
async fn non_success_status_is_a_clear_400() {
    let addr = serve().await;
    let msg = refusal(&local(), &format!("http://{addr}/missing?key=secret")).await;
    assert_eq!(
        msg,
        "could not fetch url source from host `127.0.0.1`: the server answered HTTP 404 Not Found"
    );
}

#[tokio::test]
async fn connection_failures_are_a_clear_400() {
    // Bind then drop, so the port is (almost certainly) closed.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let msg = refusal(&local(), &format!("http://127.0.0.1:{port}/")).await;
    assert!(msg.ends_with("could not connect"), "{msg}");
}

#[tokio::test]
async fn redirects_are_followed_and_rechecked() {
    let addr = serve().await;
    // Allowed everywhere: the redirect is followed.
    let got = local()
        .fetch(&format!("http://{addr}/to-image"))
        .await
        .unwrap();
    assert_eq!(got.media_type, "image/png");

    // Same server and same redirect, but redirect targets under PublicOnly: the hop to
    // 127.0.0.1 is refused, so the refusal can only come from the redirect policy.
    let guarded = Fetcher::build(
        limits(AddressPolicy::AllowPrivate),
        AddressPolicy::PublicOnly,
    )
    .unwrap();
    let msg = refusal(&guarded, &format!("http://{addr}/to-image")).await;
    assert!(
        msg.contains("redirect refused: address 127.0.0.1 is not a public address"),
        "{msg}"
    );

    let msg = refusal(&local(), &format!("http://{addr}/loop")).await;
    assert!(msg.ends_with("more than 3 redirects"), "{msg}");
    let none = Fetcher::new(FetchLimits {
        max_redirects: 0,
        ..limits(AddressPolicy::AllowPrivate)
    })
    .unwrap();
    let msg = refusal(&none, &format!("http://{addr}/to-image")).await;
    assert!(msg.ends_with("more than 0 redirects"), "{msg}");
}
