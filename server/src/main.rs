//! The `loopback-server` command: parse the flags, set up logging, TLS and TURN, serve until
//! Ctrl-C.

use clap::Parser;

/// mimalloc rather than the C library's allocator: a server holding thousands of idle pages
/// keeps less memory resident once the bursts of handshakes are over.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use loopback_server::shared::SharedHub;
use loopback_server::tls::{self, Certificate};
use loopback_server::turn::Turn;
use loopback_server::{Config, Limits, Running, ROOM_SIZE, SIGNAL_PATH};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Serves the loopback-rtc page and its signaling WebSocket, so that browsers can call each other
/// through a room, up to six of them by default.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address and port to listen on; 0.0.0.0:8443 for every interface.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The release page to serve (`trunk build --release` makes it).
    #[arg(long, default_value = "dist")]
    dist: PathBuf,
    /// HTTPS with this certificate chain (PEM); cameras need HTTPS beyond localhost.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// HTTPS with a certificate made now, for testing on a LAN: each browser must accept it once.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    self_signed: bool,
    /// Names and addresses the self-signed certificate is for, besides localhost and the
    /// listening address (repeatable).
    #[arg(long = "tls-name", requires = "self_signed")]
    tls_names: Vec<String>,
    /// A TURN server for the pages, e.g. turn:turn.example.org:3478 (repeatable).
    #[arg(long = "turn-url", requires = "turn_secret")]
    turn_urls: Vec<String>,
    /// The secret shared with coturn (its static-auth-secret); pages get credentials derived
    /// from it, never the secret.
    #[arg(
        long,
        requires = "turn_urls",
        env = "LOOPBACK_TURN_SECRET",
        hide_env_values = true
    )]
    turn_secret: Option<String>,
    /// How long the TURN credentials handed out stay valid, in seconds.
    #[arg(long, default_value_t = 12 * 3600)]
    turn_ttl: u64,
    /// Another origin whose pages may use the signaling (the development server's, say);
    /// repeatable.
    #[arg(long = "allow-origin")]
    allowed_origins: Vec<String>,
    /// An origin people reach this server at by name, e.g. https://call.example.org
    /// (repeatable; a TLS-terminating proxy's too). The signaling answers only to these names,
    /// `--tls-name`s, addresses and localhost: a page on any other name that points here (DNS
    /// rebinding) is refused.
    #[arg(long = "public-origin")]
    public_origins: Vec<String>,
    /// An address range no relayed ICE candidate may point at, e.g. 10.0.0.0/8 for a private
    /// network behind this server (repeatable); such candidates are dropped. Link-local
    /// addresses and cloud metadata addresses are always denied unless
    /// `--allow-link-local-candidates`.
    #[arg(long = "deny-candidate")]
    deny_candidates: Vec<loopback_server::inspect::Cidr>,
    /// A proxy or load balancer in front of this server (its address, repeatable): its
    /// `X-Forwarded-For` names the client, whose connections and joins are then limited as a
    /// direct client's are, and its own connections are limited in all only.
    #[arg(long = "trusted-proxy")]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Relay candidates at link-local and metadata addresses too.
    #[arg(long)]
    allow_link_local_candidates: bool,
    /// Seconds a connection may stay silent before it is closed.
    #[arg(long, default_value_t = 60)]
    idle_timeout: u64,
    /// Seconds between SIGTERM (or Ctrl-C) and the shutdown during which /readyz answers 503, so
    /// that a load balancer checking it stops sending new pages here first; 0 to stop at once.
    #[arg(long, default_value_t = 0)]
    drain: u64,
    /// Seconds a page's seat is kept after its connection is lost (not closed), for the page to
    /// resume it on a new connection; the call's media flows on meanwhile.
    #[arg(long, default_value_t = 30)]
    resume_grace: u64,
    /// Seconds one write to a page's socket may take: a page that does not read for that long
    /// cannot keep up and is closed (its seat kept for it to resume), not buffered for.
    #[arg(long, default_value_t = 10)]
    write_timeout: u64,
    /// Frames a page may send at once for each call it may have (`--room-size` - 1: an offer
    /// and a burst of candidates each), then `--messages-per-second`; past that it is told it is
    /// too fast and closed. 100 a call: 500 at once in a room of six.
    #[arg(long, default_value_t = Limits::default().burst)]
    messages_burst: u32,
    /// Frames a page may send per second, on average, after `--messages-burst`.
    #[arg(long, default_value_t = Limits::default().per_second)]
    messages_per_second: u32,
    /// Seconds a WebSocket may stay without a seat (before its join, after its leave) before it
    /// is closed.
    #[arg(long, default_value_t = 10)]
    seat_timeout: u64,
    /// Seconds between the server's pings to each page (which also keep proxies from closing a
    /// quiet connection).
    #[arg(long, default_value_t = 20)]
    ping_interval: u64,
    /// Seconds a connection whose seat another connection claims has to show it is alive
    /// before the seat moves.
    #[arg(long, default_value_t = 3)]
    probe_timeout: u64,
    /// Messages that may wait for one page's socket for each call it may have (as
    /// `--messages-burst`); past that its connection is ended as one that cannot keep up (its
    /// page resumes and is replayed what it missed).
    #[arg(long, default_value_t = Limits::default().outbox)]
    outbox: usize,
    /// Seconds a shutdown waits for open connections to end by themselves.
    #[arg(long, default_value_t = 5)]
    shutdown_wait: u64,
    /// Bytes a page may send at once (frames of every kind) for each call it may have, as
    /// `--messages-burst`, then `--bytes-per-second`; past that it is told it is too fast and
    /// closed.
    #[arg(long, default_value_t = Limits::default().bytes_burst)]
    bytes_burst: u32,
    /// Bytes a page may send per second, on average, after `--bytes-burst`.
    #[arg(long, default_value_t = Limits::default().bytes_per_second)]
    bytes_per_second: u32,
    /// Connections open at once, in all; keep it below the process's file descriptor limit
    /// (`ulimit -n`).
    #[arg(long, default_value_t = Limits::default().connections)]
    max_connections: usize,
    /// Connections open at once from one client address.
    #[arg(long, default_value_t = Limits::default().connections_per_address)]
    max_connections_per_address: usize,
    /// Seconds a client has for its TLS handshake and for each request's head.
    #[arg(long, default_value_t = 10)]
    head_timeout: u64,
    /// Rooms one client address may join per minute, after a burst of as many: enough for
    /// people calling, too few to find a room by trying names.
    #[arg(long, default_value_t = Limits::default().joins_per_minute)]
    joins_per_minute: u32,
    /// Serve the page only, like a static host: pages in a room then signal between tabs of one
    /// browser.
    #[arg(long)]
    no_signaling: bool,
    /// How many people a room holds, 2 to 8: every page sends its camera to each of the others,
    /// so past six a home uplink struggles.
    #[arg(long, default_value_t = ROOM_SIZE as u8, value_parser = clap::value_parser!(u8).range(2..=8))]
    room_size: u8,
    /// Share the rooms with other instances through the Redis at this URL
    /// (`redis://host:6379/`), so that any instance serves any room; without it the rooms live
    /// in this process's memory.
    #[arg(long, env = "LOOPBACK_REDIS_URL")]
    redis: Option<String>,
    /// This instance's name among those sharing a Redis (a random one if not given): unique,
    /// and new at every start, so that a restarted instance never takes a dead one's seats.
    #[arg(long, env = "LOOPBACK_INSTANCE", requires = "redis")]
    instance: Option<String>,
    /// Milliseconds a seat in Redis outlives its instance: an instance renews its seats three
    /// times in that span, and those of an instance that died free themselves within it.
    #[arg(long, default_value_t = 15_000, requires = "redis", value_parser = clap::value_parser!(u64).range(300..=600_000))]
    seat_ttl_ms: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    // Lines go to stderr from a thread of their own: a slow terminal or log pipe never holds up
    // a connection, and past 128,000 lines waiting, new ones are dropped rather than waited for.
    let (writer, _flushed_at_exit) = tracing_appender::non_blocking(std::io::stderr());
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "loopback_server=info".into()),
        )
        .init();
    no_huge_pages();
    let args = Args::parse();
    match serve(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Turns transparent huge pages off for this process, as Redis does for the same reason.
/// mimalloc asks for them on its segments, and the first touch of each then has the kernel
/// zero 2 MiB at once: relaying 2,000 signals a second to 10,000 pages, that stalled every
/// page for 7 ms three times a second (`perf`: `clear_page_erms` under
/// `do_huge_pmd_anonymous_page`), and a relay's p99 went from 0.6 ms to 4–7 ms. A page's
/// few KiB never needed a huge page.
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_THP_DISABLE only sets a flag on this process's memory map.
        if unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) } != 0 {
            tracing::debug!(
                "could not turn off transparent huge pages: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

async fn serve(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    if !args.dist.join("index.html").is_file() {
        // Beside `trunk serve`, which serves the page itself, that is expected.
        tracing::warn!(
            "{} has no index.html (yet): build the page (trunk build --release) or pass --dist; \
             until then only signaling is served",
            args.dist.display()
        );
    }
    let certificate = match (&args.tls_cert, &args.tls_key, args.self_signed) {
        (Some(cert), Some(key), _) => Some(Certificate::Files {
            cert: cert.clone(),
            key: key.clone(),
        }),
        (_, _, true) => {
            let mut names = vec!["localhost".to_owned()];
            if !args.listen.ip().is_unspecified() {
                names.push(args.listen.ip().to_string());
            }
            names.extend(args.tls_names.iter().cloned());
            Some(Certificate::SelfSigned { names })
        }
        _ => None,
    };
    let turn = args.turn_secret.clone().map(|secret| Turn {
        urls: args.turn_urls.clone(),
        secret,
        ttl: Duration::from_secs(args.turn_ttl),
    });
    let config = Config {
        dist: args.dist.clone(),
        allowed_origins: args.allowed_origins.clone(),
        trusted_proxies: args.trusted_proxies.clone(),
        denied_candidates: if args.allow_link_local_candidates {
            Vec::new()
        } else {
            loopback_server::inspect::default_denied()
        }
        .into_iter()
        .chain(args.deny_candidates.iter().copied())
        .collect(),
        public_origins: args
            .public_origins
            .iter()
            .cloned()
            .chain(args.tls_names.iter().map(|name| format!("https://{name}")))
            .collect(),
        limits: Limits {
            idle: Duration::from_secs(args.idle_timeout),
            grace: Duration::from_secs(args.resume_grace),
            write: Duration::from_secs(args.write_timeout),
            burst: args.messages_burst,
            per_second: args.messages_per_second,
            first_message: Duration::from_secs(args.seat_timeout),
            ping: Duration::from_secs(args.ping_interval.max(1)),
            probe: Duration::from_secs(args.probe_timeout),
            outbox: args.outbox,
            shutdown: Duration::from_secs(args.shutdown_wait),
            bytes_burst: args.bytes_burst,
            bytes_per_second: args.bytes_per_second,
            connections: args.max_connections,
            connections_per_address: args.max_connections_per_address,
            head: Duration::from_secs(args.head_timeout),
            joins_burst: args.joins_per_minute,
            joins_per_minute: args.joins_per_minute,
        },
        turn,
        tls: certificate.is_some(),
        hsts: matches!(certificate, Some(Certificate::Files { .. })),
        signaling: !args.no_signaling,
        room_size: usize::from(args.room_size),
    };
    let scheme = if config.tls { "https" } else { "http" };
    match &config.turn {
        Some(turn) => {
            tracing::info!(urls = ?turn.urls, "pages get TURN credentials valid for {} s", turn.ttl.as_secs())
        }
        None => tracing::info!(
            "no TURN server: calls need a direct path (pass --turn-url and --turn-secret)"
        ),
    }

    tracing::info!("rooms hold up to {} people", config.room_size);
    let signaling = if config.signaling {
        format!("and signaling on {SIGNAL_PATH}")
    } else {
        "without signaling (--no-signaling)".to_owned()
    };
    let store = match &args.redis {
        None => loopback_server::memory_store(&config),
        Some(url) => {
            let instance = match &args.instance {
                Some(name) => name.clone(),
                None => random_instance()?,
            };
            let ttl = Duration::from_millis(args.seat_ttl_ms);
            let outbox = config.limits.outbox_for(config.room_size);
            let hub =
                SharedHub::start(url, instance.clone(), config.room_size, ttl, outbox).await?;
            tracing::info!(instance, "rooms shared through Redis");
            hub
        }
    };
    let mut running = match certificate {
        None => {
            let listener = tokio::net::TcpListener::bind(args.listen).await?;
            Running::start_with(listener, config, store)?
        }
        Some(certificate) => {
            let tls = tls::config(&certificate)?;
            if let Certificate::SelfSigned { names } = &certificate {
                tracing::warn!(
                    "made a self-signed certificate for {}: browsers will warn about it. Open \
                     {scheme}://<this machine's address>:{}/ in each browser and accept the risk \
                     (Chrome: Advanced → Proceed; Firefox: Advanced → Accept the Risk and \
                     Continue); the page then has camera access. Use --tls-cert and --tls-key \
                     for a real certificate.",
                    names.join(", "),
                    args.listen.port()
                );
            }
            Running::start_tls_with(
                std::net::TcpListener::bind(args.listen)?,
                config,
                store,
                tls,
            )?
        }
    };
    tracing::info!(
        "serving the page on {scheme}://{} {signaling}",
        running.addr
    );
    tokio::select! {
        stopped = running.stopped() => return Ok(stopped?),
        () = shutdown_signal() => {}
    }
    // Out of the balancer first, then the pages are told: each reconnects, and a page sent to
    // this instance meanwhile is not lost.
    let drain = Duration::from_secs(args.drain);
    if !drain.is_zero() {
        running.drain();
        tracing::info!(
            "draining: /readyz answers 503 for {} s before the shutdown",
            drain.as_secs()
        );
        tokio::select! {
            stopped = running.stopped() => return Ok(stopped?),
            () = tokio::time::sleep(drain) => {}
        }
    }
    tracing::info!("shutting down");
    running.shut_down().await?;
    Ok(())
}

/// A name for this instance, new at every start: 64 random bits.
fn random_instance() -> Result<String, getrandom::Error> {
    let mut bits = [0u8; 8];
    getrandom::fill(&mut bits)?;
    Ok(bits.iter().map(|b| format!("{b:02x}")).collect())
}

/// Ctrl-C, or SIGTERM where there is one.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_hold_two_to_eight_people_six_unless_told() {
        let parse = |extra: &[&str]| {
            let args = ["loopback-server"].iter().chain(extra).copied();
            Args::try_parse_from(args)
        };
        assert_eq!(parse(&[]).unwrap().room_size, 6);
        for size in [2, 3, 8] {
            let text = size.to_string();
            assert_eq!(parse(&["--room-size", &text]).unwrap().room_size, size);
        }
        for bad in ["0", "1", "9", "255", "-1", "six", ""] {
            assert!(parse(&["--room-size", bad]).is_err(), "{bad:?} taken");
        }
    }
}
