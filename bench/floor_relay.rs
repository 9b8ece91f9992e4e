//! The benchmark's floor: a bare HTTP/1.1 relay with no translation, no signing, no parsing.
//!
//! Every request is forwarded as is (method, path, headers, body streamed) to the upstream through
//! one pooled hyper client, and the response streamed back. Whatever Chatrix costs above this is
//! the price of being a gateway rather than a socket. `TCP_NODELAY` on both sides, as Chatrix does.
//!
//! Usage: `floor-relay <listen-port> <upstream-base-url>`; prints its URL once listening.

use std::io::Write;
use std::net::Ipv4Addr;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

type Body = http_body_util::combinators::BoxBody<bytes::Bytes, hyper::Error>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(port), Some(upstream)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: floor-relay <listen-port> <upstream-base-url>");
    };
    let upstream: Uri = upstream.parse()?;
    let authority = upstream
        .authority()
        .ok_or_else(|| anyhow::anyhow!("upstream needs host:port"))?
        .clone();
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<_, Incoming> = Client::builder(TokioExecutor::new()).build(connector);
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port.parse()?)).await?;
    writeln!(std::io::stdout(), "http://{}", listener.local_addr()?)?;
    loop {
        let (tcp, _) = listener.accept().await?;
        tcp.set_nodelay(true)?;
        let (client, authority) = (client.clone(), authority.clone());
        tokio::spawn(async move {
            let service = service_fn(move |mut req: Request<Incoming>| {
                let (client, authority) = (client.clone(), authority.clone());
                async move {
                    let path = req.uri().path_and_query().cloned();
                    let mut parts = Uri::builder().scheme("http").authority(authority);
                    if let Some(path) = path {
                        parts = parts.path_and_query(path);
                    }
                    *req.uri_mut() = parts.build()?;
                    let response = client.request(req).await?;
                    anyhow::Ok(response.map(|b| -> Body { b.boxed() }))
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}
