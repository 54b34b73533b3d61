//! The door: connections taken within limits (in all, and per client address), TLS handshakes
//! and request heads given a deadline, and HTTP/1.1 served on each, upgrades (the WebSocket)
//! included. Everything a client can hold open costs it a slot it cannot multiply.

use crate::Limits;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// How often a refusal is logged for one address (the counters count every one).
const LOG_EVERY: Duration = Duration::from_secs(60);

/// The connections open, per client address, and the refusals.
#[derive(Clone, Default)]
pub struct Door {
    inner: Arc<Mutex<Counts>>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
    refused: u64,
    /// When a refusal was last logged, per address.
    logged: HashMap<IpAddr, Instant>,
}

/// Why a connection was not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Full {
    /// The server holds `--max-connections` already.
    Total,
    /// This address holds `--max-connections-per-address` already.
    Address,
}

/// One connection taken: it counts until its last clone goes (an upgraded WebSocket keeps one
/// for as long as it lives).
#[derive(Clone)]
pub struct Admitted {
    _slot: Arc<Slot>,
}

struct Slot {
    door: Door,
    address: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.door.lock();
        counts.total -= 1;
        if let Some(n) = counts.by_address.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                counts.by_address.remove(&self.address);
            }
        }
    }
}

/// The client a request came from: its address, and its connection's slot.
#[derive(Clone)]
pub struct Client {
    pub address: SocketAddr,
    pub admitted: Admitted,
}

impl Door {
    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a connection from `address`, or says why not (and logs it, once a minute per
    /// address).
    pub fn admit(&self, address: IpAddr, limits: &Limits) -> Result<Admitted, Full> {
        self.admit_as(address, limits, true)
    }

    /// Like [`Door::admit`]; a trusted proxy's address (`per_address` false) counts in all only.
    fn admit_as(
        &self,
        address: IpAddr,
        limits: &Limits,
        per_address: bool,
    ) -> Result<Admitted, Full> {
        let mut counts = self.lock();
        let here = counts.by_address.get(&address).copied().unwrap_or(0);
        let full = if counts.total >= limits.connections {
            Some(Full::Total)
        } else if per_address && here >= limits.connections_per_address {
            Some(Full::Address)
        } else {
            None
        };
        if let Some(full) = full {
            counts.refused += 1;
            let now = Instant::now();
            let due = counts
                .logged
                .get(&address)
                .is_none_or(|at| now.duration_since(*at) >= LOG_EVERY);
            if due {
                if counts.logged.len() > 10_000 {
                    counts.logged.clear();
                }
                counts.logged.insert(address, now);
                tracing::warn!(%address, ?full, refused = counts.refused, "connection refused");
            }
            return Err(full);
        }
        counts.total += 1;
        *counts.by_address.entry(address).or_default() += 1;
        drop(counts);
        Ok(Admitted {
            _slot: Arc::new(Slot {
                door: self.clone(),
                address,
            }),
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.lock().total
    }

    /// Connections refused so far.
    pub fn refused(&self) -> u64 {
        self.lock().refused
    }
}

/// Takes connections on `listener` until `shutdown`, each served by `app`, over TLS if `tls`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    door: Door,
    limits: Limits,
    proxies: Vec<IpAddr>,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            // A connection's task is done once its WebSocket is handed over: reaped at once,
            // not at the next accept, or an idle server keeps every page's finished task.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let (stream, client) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, say: wait a moment rather than spin.
                tracing::warn!("could not accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let proxy = proxies.contains(&client.ip());
        let Ok(admitted) = door.admit_as(client.ip(), &limits, !proxy) else {
            // Closed at once: the cheapest answer there is.
            continue;
        };
        let client = Client {
            address: client,
            admitted,
        };
        let (app, tls, shutdown) = (app.clone(), tls.clone(), shutdown.clone());
        connections.spawn(connection(stream, client, app, tls, limits, shutdown));
    }
    // No new connections; those open finish by themselves (the shutdown bounds the wait).
    while connections.join_next().await.is_some() {}
    Ok(())
}

async fn connection(
    stream: TcpStream,
    client: Client,
    app: Router,
    tls: Option<TlsAcceptor>,
    limits: Limits,
    shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    match tls {
        None => http(stream, client, app, limits, shutdown).await,
        Some(tls) => {
            if let Ok(Ok(stream)) = tokio::time::timeout(limits.head, tls.accept(stream)).await {
                http(stream, client, app, limits, shutdown).await;
            }
        }
    }
}

/// HTTP/1.1 on one connection (HTTP/2 is not offered: a signaling server has no use for it),
/// each request's head within the head limit.
async fn http<S>(
    stream: S,
    client: Client,
    app: Router,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(client.clone());
        app.clone().oneshot(request)
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.head);
    let served = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(served);
    let stopping = async move {
        // The guard `wait_for` returns must not be held across the awaits below.
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    tokio::select! {
        _ = served.as_mut() => {}
        () = stopping => {
            served.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(limits.shutdown, served).await;
        }
    }
}
