//! The HTTP/1.1 server loop: connection-level limits that axum's `serve` does not expose.
//!
//! - `TCP_NODELAY` on every connection: small SSE writes leave at once instead of waiting for the
//!   previous segment's ACK (Nagle).
//! - A request head must arrive within `CHATRIX_HEADER_TIMEOUT_SECS`. The same timer runs while a
//!   keep-alive connection waits for its next request, so idle connections close too; slow-header
//!   clients (slowloris) cannot hold connections forever. Bodies have their own idle timeout
//!   (`CHATRIX_BODY_TIMEOUT_SECS`, a route layer), and responses none: a long generation or a
//!   stream may run for Lambda's 15 minutes.
//! - HTTP/1.1 only: every client of an Anthropic endpoint speaks it, and so do the Lambda Web
//!   Adapter and CloudFront's origin side; cleartext HTTP/2 would only add surface.
//! - At most `CHATRIX_MAX_CONNECTIONS` open connections; more clients wait in the backlog.
//! - Graceful shutdown: stop accepting, let in-flight requests (streams included) finish, for at
//!   most `CHATRIX_SHUTDOWN_GRACE_SECS` (`docker stop` and ECS kill after their own timeout).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Connection limits for [`serve_router`].
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    /// Open connections at most; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// How long shutdown waits for open connections before abandoning them.
    pub shutdown_grace: Duration,
}

/// Serves `app` until `shutdown` resolves, then waits (up to the grace period) for open
/// connections to finish.
///
/// # Errors
/// Never at present (accept errors are logged and retried); kept fallible for the caller.
pub async fn serve_router(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A slot first, then a connection: at the cap, new clients wait in the kernel's backlog
        // instead of each holding a task and buffers.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let service = TowerToHyperService::new(app.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(tcp), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                // Timeouts, resets and malformed requests from clients: not ours to report loudly.
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        let open = limits.max_connections - permits.available_permits();
        tracing::warn!(
            open,
            grace_secs = limits.shutdown_grace.as_secs(),
            "shutdown grace period over; abandoning open connections"
        );
    }
    Ok(())
}
