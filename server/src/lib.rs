//! loopback-server: serves the release page and puts up to six pages in a room over a WebSocket,
//! so that browsers anywhere can call each other, every pair its own call; TURN is left to
//! coturn, with short-lived credentials from here.
//!
//! The shape is mini-redis's: a listener, one task per connection owning its socket, the rooms
//! behind one [`store::Store`] (in this process's memory, [`hub::Hub`], or shared by several
//! instances through Redis, [`shared::SharedHub`]), and a shutdown signal every task listens to.

/// How the page's files are served: how long a browser may keep each one.
pub mod assets;
/// One WebSocket, from its first message to its end.
pub mod connection;
/// Connections taken within limits, with deadlines for TLS handshakes and request heads.
pub mod door;
/// The checks on a WebSocket: `Origin`, message rate, idleness.
pub mod guard;
/// What every response tells the browser: no sniffing, no referrer, no framing, HSTS.
pub mod headers;
/// Rooms in this process's memory: their seats (kept a while for a page whose connection was
/// lost) and the pages' outboxes.
pub mod hub;
/// Relayed signals checked: SDP and candidates that parse, no candidate at a forbidden address.
pub mod inspect;
/// Rooms told apart in the log without their names; log lines a client causes, rationed.
pub mod logtag;
/// Rooms shared by several instances through Redis: any instance serves any room.
pub mod shared;
/// The rooms as a connection sees them, wherever they live.
pub mod store;
/// HTTPS: a certificate from files, or one made on the spot for a LAN.
pub mod tls;
/// TURN credentials for coturn's `use-auth-secret`.
pub mod turn;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hub::Hub;
use loopback_signal::room::{DEFAULT_SIZE, MAX_SIZE};
use loopback_signal::MAX_MESSAGE_BYTES;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use store::Store;
use tokio::sync::watch;
use tower_http::services::ServeDir;

/// The path of the WebSocket endpoint.
pub const SIGNAL_PATH: &str = "/signal";
/// Answers 200 while the process serves: for a load balancer's or an orchestrator's liveness check.
pub const HEALTH_PATH: &str = "/healthz";
/// Answers 200 while this instance takes new connections, 503 once it drains (before a shutdown):
/// a load balancer sends new pages elsewhere from then on.
pub const READY_PATH: &str = "/readyz";

/// The ICE servers "Check this machine" checks (`?check`): this server's TURN with credentials
/// of their own, valid for [`CHECK_TTL`]. Asked only by the server's own pages, with
/// [`CHECK_HEADER`]; each answer counts as a join of the client's address, so that credentials
/// come no faster from here than from rooms.
pub const CHECK_ICE_PATH: &str = "/check/ice-servers";

/// The header a check's request carries. A page of another site cannot send it without a CORS
/// preflight, which this server does not answer, nor can an `<img>` or a form: no other site can
/// spend a visitor's joins here.
pub const CHECK_HEADER: &str = "x-loopback-check";

/// How long a check's TURN credentials last: one run of the checks, not a call.
pub const CHECK_TTL: Duration = Duration::from_secs(300);

/// What a WebSocket reads into at first, allocated with it: a ping or a candidate in one read; a
/// longer message (an offer, 5 KB) grows the buffer to its size as its header announces it. Every
/// idle page holds this much, so it is not the 4 KiB it was (then 1 KiB: a seventh of an idle
/// page).
const READ_BUFFER_BYTES: usize = 256;

/// How long a shutdown waits for the connections open then to end by themselves, by default.
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// How many people a room holds unless told otherwise (`--room-size`).
pub const ROOM_SIZE: usize = DEFAULT_SIZE;

/// What one connection may do. The bursts are per call: a page in a room of `n` may have `n - 1`
/// calls, each set up at once when it comes in (see [`Limits::messages_at_once`]).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Messages at once for each call (an offer or answer, a burst of ICE candidates)…
    pub burst: u32,
    /// …then per second, on average, whatever the room.
    pub per_second: u32,
    /// A connection not heard from (not even a pong) for this long is closed.
    pub idle: Duration,
    /// How often the server pings, which also keeps proxies from closing a quiet connection.
    pub ping: Duration,
    /// How long a lost connection's seat is kept for the page to resume it.
    pub grace: Duration,
    /// How long a connection whose seat another connection claims has to show it is alive (any
    /// frame) before it is closed as dead and the seat changes hands.
    pub probe: Duration,
    /// How long one write to a page's socket may take; a page that does not read for that long
    /// cannot keep up and is closed (its seat kept away, as for a lost connection), rather than
    /// buffered for.
    pub write: Duration,
    /// Bytes a page may send at once for each call, frames of every kind counted…
    pub bytes_burst: u32,
    /// …then per second, on average.
    pub bytes_per_second: u32,
    /// Connections open at once, in all (keep it below the process's file descriptor limit)…
    pub connections: usize,
    /// …and from one client address.
    pub connections_per_address: usize,
    /// How long a client has for its TLS handshake, and for each request's head.
    pub head: Duration,
    /// How long a WebSocket may stay without a seat (not joined, or left) before it is closed.
    pub first_message: Duration,
    /// How long a shutdown waits for the connections open then to end by themselves.
    pub shutdown: Duration,
    /// Messages that may wait for one page's socket for each call, before its connection is
    /// ended as one that cannot keep up (see [`hub::OUTBOX`] and [`Limits::outbox_for`]).
    pub outbox: usize,
    /// Rooms one client address may join at once…
    pub joins_burst: u32,
    /// …then per minute: a person calls a few times an hour, someone trying room names
    /// hundreds of times.
    pub joins_per_minute: u32,
}

impl Limits {
    /// The messages a page may send at once in rooms of `room_size`: [`Limits::burst`] for each
    /// of its calls. A call's setup is a description (offer or answer), some 20 candidates and
    /// end-of-candidates, about 22 messages; 100 a call leaves room for a second gathering and
    /// pings. A newcomer to a room of six sets up five calls at once, about 110 messages, and
    /// may send 500; a flood (thousands) is closed all the same. A room of two keeps the 100 it
    /// always had, and nobody gets more than its room needs.
    pub fn messages_at_once(&self, room_size: usize) -> u32 {
        self.burst.saturating_mul(calls(room_size))
    }

    /// The bytes a page may send at once in rooms of `room_size`: [`Limits::bytes_burst`] for
    /// each call, scaled as [`Limits::messages_at_once`] is, so that the byte bucket never
    /// refuses what the message bucket lets through for a setup (five of ~8 KB descriptions and
    /// ~100 candidates are some 60 KB; the burst is 1 MiB a call).
    pub fn bytes_at_once(&self, room_size: usize) -> u32 {
        self.bytes_burst.saturating_mul(calls(room_size))
    }

    /// The messages that may wait for one page's socket in rooms of `room_size`:
    /// [`Limits::outbox`] for each call, 1280 in a room of six. It grows with the bursts so that
    /// one other page sending all it may at once (500 in a room of six) never ends a page's
    /// connection that reads as fast as it can.
    pub fn outbox_for(&self, room_size: usize) -> usize {
        let calls = usize::try_from(calls(room_size)).unwrap_or(usize::MAX);
        self.outbox.saturating_mul(calls)
    }
}

/// The calls a page has in a full room of `room_size` (brought between 2 and 8, as the rooms
/// are): one with each other seat.
fn calls(room_size: usize) -> u32 {
    u32::try_from(room_size.clamp(2, MAX_SIZE) - 1).unwrap_or(u32::MAX)
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            burst: 100,
            per_second: 20,
            idle: Duration::from_secs(60),
            ping: Duration::from_secs(20),
            grace: Duration::from_secs(30),
            probe: Duration::from_secs(3),
            write: Duration::from_secs(10),
            // Sixteen messages of the largest size at once for each call; a call's offer,
            // answer and candidates are a few kilobytes.
            bytes_burst: 16 * MAX_MESSAGE_BYTES as u32,
            bytes_per_second: 64 * 1024,
            connections: 512,
            // A browser opens six connections to a host, and one WebSocket per tab; a home or
            // an office shares one address.
            connections_per_address: 32,
            head: Duration::from_secs(10),
            first_message: Duration::from_secs(10),
            shutdown: SHUTDOWN_WAIT,
            outbox: hub::OUTBOX,
            joins_burst: 10,
            joins_per_minute: 10,
        }
    }
}

/// Everything the server is told at start.
#[derive(Clone, Debug)]
pub struct Config {
    /// The release page (`trunk build --release`'s `dist/`).
    pub dist: PathBuf,
    /// Origins besides the server's own whose pages may connect.
    pub allowed_origins: Vec<String>,
    /// The origins people reach this server at by name (`https://call.example.org`): only those
    /// names, addresses and `localhost` are answered to on the WebSocket.
    pub public_origins: Vec<String>,
    /// Addresses no relayed candidate may point at (see [`inspect`]).
    pub denied_candidates: Vec<inspect::Cidr>,
    /// Proxies (load balancers) whose `X-Forwarded-For` names the real client: their own
    /// connections are not limited per address, the clients they name are.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub limits: Limits,
    pub turn: Option<turn::Turn>,
    /// Whether pages reach this server over HTTPS (the origin check needs the scheme).
    pub tls: bool,
    /// Whether to tell browsers to come back over HTTPS only (HSTS): with a certificate they
    /// trust, never a self-signed one.
    pub hsts: bool,
    /// Whether to offer signaling at all; without it the server is a plain static host, and
    /// pages in a room fall back to signaling between tabs.
    pub signaling: bool,
    /// How many people a room holds, 2 to 8 ([`ROOM_SIZE`] by default; a figure outside is
    /// brought inside).
    pub room_size: usize,
}

/// What the routes share.
#[derive(Clone)]
pub struct AppState {
    /// The rooms: in memory, or shared through Redis.
    pub store: Arc<dyn Store>,
    /// The connections open, and those refused.
    pub door: door::Door,
    /// Rooms joined per client address.
    pub joins: Arc<guard::Joins>,
    /// WebSockets per client address of those a trusted proxy forwards.
    pub forwarded: door::Door,
    denied: Arc<[inspect::Cidr]>,
    config: Arc<Config>,
    shutdown: watch::Receiver<bool>,
    /// Set once the instance drains: [`READY_PATH`] answers 503 from then on.
    draining: Arc<AtomicBool>,
}

impl AppState {
    /// The state with `store`'s rooms, and the sender whose `true` tells every connection to
    /// close.
    pub fn new(config: Config, store: Arc<dyn Store>) -> (Self, watch::Sender<bool>) {
        let (tx, rx) = watch::channel(false);
        let state = Self {
            store,
            door: door::Door::default(),
            joins: Arc::default(),
            forwarded: door::Door::default(),
            denied: config.denied_candidates.clone().into(),
            config: Arc::new(config),
            shutdown: rx,
            draining: Arc::default(),
        };
        (state, tx)
    }
}

/// The signaling endpoint at [`SIGNAL_PATH`]; everything else is the page.
pub fn router(state: AppState) -> Router {
    // Each file's brotli or gzip copy, made at build time, to a browser that accepts it; the
    // file itself to one that does not, or where a copy is missing.
    let page = ServeDir::new(&state.config.dist)
        .append_index_html_on_directories(true)
        .precompressed_br()
        .precompressed_gzip();
    let page = Router::new()
        .fallback_service(page)
        .layer(axum::middleware::from_fn(assets::cache_policy))
        .layer(axum::middleware::from_fn(assets::vary_by_encoding));
    // The checks answer whether or not the server signals: a static host is balanced too.
    let router = Router::new()
        .route(HEALTH_PATH, get(healthz))
        .route(READY_PATH, get(readyz));
    let router = if state.config.signaling {
        router
            .route(SIGNAL_PATH, get(signal))
            .route(CHECK_ICE_PATH, get(check_ice_servers))
    } else {
        router
    };
    let hsts = state.config.hsts;
    router
        .fallback_service(page)
        .layer(axum::middleware::from_fn(move |request, next| {
            headers::add(hsts, request, next)
        }))
        .with_state(state)
}

/// The process is up and answering.
async fn healthz() -> Response {
    check_answer(StatusCode::OK, "ok")
}

/// Whether new pages should come here: not while draining or shutting down, nor while the rooms'
/// store (Redis) cannot be reached.
async fn readyz(State(state): State<AppState>) -> Response {
    if state.draining.load(Ordering::Relaxed) || *state.shutdown.borrow() {
        check_answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "draining: new pages go to another instance",
        )
    } else if !state.store.ready().await {
        check_answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "the rooms' store (Redis) cannot be reached: no one can join here until it is back",
        )
    } else {
        check_answer(StatusCode::OK, "ready")
    }
}

/// A check's answer: a word for a person reading it, never cached by anything in between.
fn check_answer(status: StatusCode, text: &'static str) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], text).into_response()
}

/// This server's ICE servers for a check, as JSON: `{"iceServers": [...], "ttl": seconds}`
/// (none without TURN); 403 without [`CHECK_HEADER`] or from a foreign origin, 429 past the joins
/// allowed to the client's address.
async fn check_ice_servers(
    State(state): State<AppState>,
    client: Option<axum::Extension<door::Client>>,
    headers: HeaderMap,
) -> Response {
    let config = &state.config;
    let no_store = [(header::CACHE_CONTROL, "no-store")];
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    // A same-origin fetch sends no Origin; one that does must be this server's own.
    let foreign = text(header::ORIGIN).is_some()
        && !guard::origin_allowed(
            text(header::ORIGIN),
            text(header::HOST),
            config.tls,
            &config.allowed_origins,
            &config.public_origins,
        );
    if text(header::HeaderName::from_static(CHECK_HEADER)).is_none() || foreign {
        return (
            StatusCode::FORBIDDEN,
            no_store,
            "Only this server's own check page may ask for its ICE servers.",
        )
            .into_response();
    }
    let peer = client.as_ref().map(|client| client.address.ip());
    let address = peer
        .filter(|peer| config.trusted_proxies.contains(peer))
        .and_then(|_| guard::forwarded_client(&headers, &config.trusted_proxies))
        .or(peer);
    if let Some(address) = address {
        let (burst, per_minute) = (config.limits.joins_burst, config.limits.joins_per_minute);
        if !state
            .store
            .may_join(address, burst, per_minute, &state.joins)
            .await
        {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                no_store,
                "Too many checks and joins from this address: wait a minute.",
            )
                .into_response();
        }
    }
    let (servers, ttl) = match &config.turn {
        Some(turn) => {
            let mut bits = [0u8; 8];
            if getrandom::fill(&mut bits).is_err() {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    no_store,
                    "No random bits for a TURN username: try again.",
                )
                    .into_response();
            }
            let id: String = bits.iter().map(|b| format!("{b:02x}")).collect();
            let short = turn::Turn {
                ttl: turn.ttl.min(CHECK_TTL),
                ..turn.clone()
            };
            let server = short.ice_server(std::time::SystemTime::now(), &format!("check-{id}"));
            (vec![server], short.ttl.as_secs())
        }
        None => (Vec::new(), 0),
    };
    let body = serde_json::json!({ "iceServers": servers, "ttl": ttl });
    (
        StatusCode::OK,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_TYPE, "application/json"),
        ],
        body.to_string(),
    )
        .into_response()
}

async fn signal(
    State(state): State<AppState>,
    client: Option<axum::Extension<door::Client>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let config = &state.config;
    if !guard::origin_allowed(
        text(header::ORIGIN),
        text(header::HOST),
        config.tls,
        &config.allowed_origins,
        &config.public_origins,
    ) {
        let from = client.as_ref().map(|client| client.address.ip());
        if let Some(refused) = logtag::limits_reached().count(from) {
            tracing::warn!(origin = ?text(header::ORIGIN), refused, "WebSocket from a foreign origin refused");
        }
        return (
            StatusCode::FORBIDDEN,
            "This signaling server serves only its own pages.",
        )
            .into_response();
    }
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    // Through a trusted proxy, the client is the one it names, and its WebSockets are counted
    // here, as the door counts direct connections.
    let peer = client.as_ref().map(|client| client.address.ip());
    let forwarded = peer
        .filter(|peer| config.trusted_proxies.contains(peer))
        .and_then(|_| guard::forwarded_client(&headers, &config.trusted_proxies));
    let proxied = match forwarded {
        Some(address) => match state.forwarded.admit(address, &config.limits) {
            Ok(admitted) => Some(admitted),
            Err(_) => {
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many connections from this address.",
                )
                    .into_response()
            }
        },
        None => None,
    };
    let context = connection::Context {
        store: Arc::clone(&state.store),
        config: Arc::clone(&state.config),
        shutdown: state.shutdown.clone(),
        client: forwarded.or(peer),
        admitted: client.map(|client| client.0.admitted),
        proxied,
        joins: Arc::clone(&state.joins),
        denied: Arc::clone(&state.denied),
    };
    // Buffers sized for signaling, not for bulk data: tungstenite's defaults (128 KiB to read
    // into, per connection, allocated up front) made an idle page cost 140 KiB. Every message
    // is written out at once (the server sends one at a time and flushes), and one that the
    // socket cannot take waits in at most two messages' worth.
    upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_write_buffer_size(2 * MAX_MESSAGE_BYTES + 1024)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| connection::run(socket, context))
}

/// A server running in this process: what `main` runs and what the tests start, over plain HTTP
/// or HTTPS. Dropping it does not stop it; [`Running::shut_down`] does.
pub struct Running {
    pub addr: std::net::SocketAddr,
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// The rooms of one process's memory, for `config`: the embedded default.
pub fn memory_store(config: &Config) -> Arc<dyn Store> {
    Arc::new(Hub::new(
        config.room_size,
        config.limits.outbox_for(config.room_size),
    ))
}

impl Running {
    /// Serves `config` on `listener` over plain HTTP, rooms in memory, until
    /// [`Running::shut_down`].
    pub fn start(listener: tokio::net::TcpListener, config: Config) -> std::io::Result<Self> {
        let store = memory_store(&config);
        Self::serve(listener, config, store, None)
    }

    /// Serves `config` on `listener` over plain HTTP with the rooms of `store` (shared through
    /// Redis, say), until [`Running::shut_down`].
    pub fn start_with(
        listener: tokio::net::TcpListener,
        config: Config,
        store: Arc<dyn Store>,
    ) -> std::io::Result<Self> {
        Self::serve(listener, config, store, None)
    }

    fn serve(
        listener: tokio::net::TcpListener,
        config: Config,
        store: Arc<dyn Store>,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let limits = config.limits;
        let (state, shutdown) = AppState::new(config, store);
        let app = router(state.clone());
        let (door, stop) = (state.door.clone(), shutdown.subscribe());
        let proxies = state.config.trusted_proxies.clone();
        let task = tokio::spawn(door::serve(listener, app, tls, door, limits, proxies, stop));
        Ok(Self {
            addr,
            state,
            shutdown,
            task,
        })
    }

    /// Serves `config` on `listener` over HTTPS with `tls` until [`Running::shut_down`]. The
    /// listener is a std one so that a caller may make it anywhere (the network lab binds it
    /// inside a network namespace).
    pub fn start_tls(
        listener: std::net::TcpListener,
        config: Config,
        tls: Arc<rustls::ServerConfig>,
    ) -> std::io::Result<Self> {
        let store = memory_store(&config);
        Self::start_tls_with(listener, config, store, tls)
    }

    /// Like [`Running::start_tls`], with the rooms of `store`.
    pub fn start_tls_with(
        listener: std::net::TcpListener,
        config: Config,
        store: Arc<dyn Store>,
        tls: Arc<rustls::ServerConfig>,
    ) -> std::io::Result<Self> {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let tls = Some(tokio_rustls::TlsAcceptor::from(tls));
        Self::serve(listener, config, store, tls)
    }

    /// Returns if the server stops by itself (its listener failed), with why.
    pub async fn stopped(&mut self) -> std::io::Result<()> {
        (&mut self.task).await.unwrap_or(Ok(()))
    }

    /// Stops taking new pages as far as a load balancer is concerned: [`READY_PATH`] answers
    /// 503 from now on. Everything else goes on as before, new connections included (one may
    /// still come before the balancer's next check).
    pub fn drain(&self) {
        self.state.draining.store(true, Ordering::Relaxed);
    }

    /// Tells every connection to close, and waits for the server and every connection to end,
    /// for [`Limits::shutdown`] at most: a client that never reads its response cannot hold it.
    pub async fn shut_down(mut self) -> std::io::Result<()> {
        self.drain();
        let _ = self.shutdown.send(true);
        // Each connection's graceful shutdown is bounded, and so is the wait for all of them.
        let wait = self.state.config.limits.shutdown;
        let served = match tokio::time::timeout(wait, &mut self.task).await {
            Ok(served) => served.unwrap_or(Ok(())),
            Err(_) => {
                tracing::warn!("connections still open after the shutdown wait: dropped");
                self.task.abort();
                Ok(())
            }
        };
        // Upgraded connections outlive the HTTP server: wait for them (each closes within its
        // closing handshake's timeout).
        let _ = tokio::time::timeout(Duration::from_secs(5), self.state.store.all_gone()).await;
        // In memory the seats die with the process; shared, they are handed back.
        self.state.store.close().await;
        served
    }
}
