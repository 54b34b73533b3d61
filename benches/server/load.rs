//! The load: N WebSockets from several 127.0.0.x addresses, two pages a room (a pair of ids on
//! PeerJS), every page keeping its connection alive as its real client does, and offers, answers
//! and candidates relayed at a set rate, each one's relay time measured.
//!
//! One task per page, all on one thread (a current-thread runtime, in the target's agent
//! process, pinned to a core the servers do not use): each owns its socket, reads whatever comes
//! (tungstenite answers the server's pings while reading), sends its keepalive, and sends a
//! signal when the relay's clock tells it to. The clock hands out the messages of whole
//! exchanges (an offer and its candidates, the answer and its candidates) pair after pair, at
//! the rate asked, catching up if a tick comes late.

use crate::wire::{self, Heard, Protocol, To};
use futures_util::{SinkExt, StreamExt};
use loopback_signal::PeerId;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::{Interval, MissedTickBehavior};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{header::ORIGIN, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Pages connecting and joining at once during the ramp: enough to keep either server busy,
/// few enough to stay inside its listen backlog (511 for Node, 1024 for tokio).
const IN_FLIGHT: usize = 256;
/// How long a page has to connect and take its seat.
const ENTER_TIMEOUT: Duration = Duration::from_secs(30);
/// While its fleet is paused, a page with keepalives still sends one when its last is this old:
/// PeerJS closes a page silent for 60 s.
const PAUSED_KEEPALIVE: Duration = Duration::from_secs(20);

/// How pages keep their connections alive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keepalive {
    /// As each protocol's real client does: our page in a call whose media flows sends `ping`
    /// when it has heard nothing for 5 s (and reads the `pong`; a call in doubt pings every
    /// second for a while), PeerJS's client a `HEARTBEAT` every 5 s.
    Clients,
    /// Only what each server needs to keep a connection: answering our server's pings (every
    /// 20 s), and a PeerJS `HEARTBEAT` every 20 s (it closes a page silent for 60 s).
    Least,
}

impl Keepalive {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "clients" => Some(Keepalive::Clients),
            "least" => Some(Keepalive::Least),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Keepalive::Clients => "clients",
            Keepalive::Least => "least",
        }
    }

    fn period(self, protocol: Protocol) -> Option<Duration> {
        match (self, protocol) {
            // The page's IDLE_PING_MS (src/signaling/heartbeat.rs): the pages here are in calls
            // whose media flows, and hear nothing else while idle.
            (Keepalive::Clients, Protocol::Loopback) => Some(Duration::from_secs(5)),
            // The PeerJS client's pingInterval default.
            (Keepalive::Clients, Protocol::PeerJs) => Some(Duration::from_secs(5)),
            (Keepalive::Least, Protocol::Loopback) => None,
            (Keepalive::Least, Protocol::PeerJs) => Some(Duration::from_secs(20)),
        }
    }
}

/// Who connects where.
pub struct Plan {
    pub connections: usize,
    pub protocol: Protocol,
    pub endpoints: Vec<SocketAddr>,
    /// The addresses pages connect from, in turn: one address has only as many ports as
    /// `ip_local_port_range` (about 28,000).
    pub sources: Vec<Ipv4Addr>,
    pub keepalive: Keepalive,
    /// Names this run's rooms and ids, so that no two loads meet.
    pub run: String,
}

impl Plan {
    /// Where page `index` connects: the two pages of a pair on different instances when there
    /// are several (the shared rooms are what a target of several instances is there to test).
    fn endpoint(&self, index: usize) -> SocketAddr {
        let (pair, second) = (index / 2, index % 2);
        self.endpoints[(pair + second) % self.endpoints.len()]
    }
}

/// What the fleet tells one page to do.
enum Command {
    /// Send step `step` of an exchange to the pair's other page.
    Signal(usize),
}

/// What the pages report, shared on this thread.
#[derive(Default)]
struct Shared {
    /// Pages in their room (registered, on PeerJS) whose connection is still open.
    held: Cell<usize>,
    /// Pages done entering, in or failed.
    settled: Cell<usize>,
    /// Of each page that got in: the time from its connect to its seat.
    entered: RefCell<Vec<Duration>>,
    /// When the last page got in.
    last_in: Cell<Option<Instant>>,
    /// Per page: in, and knows its pair's other page (so signals can go to it).
    ready: RefCell<Vec<bool>>,
    /// Signals stamped at or after this were sent in the current relay phase.
    since: Cell<u64>,
    received: Cell<u64>,
    /// Relay times of this phase, in nanoseconds.
    latencies: RefCell<Vec<u64>>,
    /// Errors and unexpected messages from the server, by kind.
    problems: RefCell<BTreeMap<String, u64>>,
    /// Why pages could not get in, by kind.
    refused: RefCell<BTreeMap<String, u64>>,
    /// Why connections ended before the load let go of them, by kind.
    lost: RefCell<BTreeMap<String, u64>>,
    /// The load is letting go: ends are not losses.
    stopping: Cell<bool>,
    /// Keepalives are not sent meanwhile (another target is being measured).
    paused: Cell<bool>,
}

fn count(map: &RefCell<BTreeMap<String, u64>>, why: String) {
    *map.borrow_mut().entry(why).or_default() += 1;
}

/// The pages of one load.
pub struct Fleet {
    shared: Rc<Shared>,
    commands: Vec<mpsc::UnboundedSender<Command>>,
    tasks: Vec<JoinHandle<()>>,
    /// The next message of the relay's sequence.
    cursor: usize,
    pub ramp: Ramp,
}

/// How the pages got in.
#[derive(Clone)]
pub struct Ramp {
    pub asked: usize,
    pub entered: usize,
    /// From the first connect to the last page in.
    pub seconds: f64,
    /// Each page's connect to seat, in milliseconds, sorted.
    pub enter_ms: Vec<f64>,
    /// Why the others did not, by kind.
    pub refused: BTreeMap<String, u64>,
}

/// One relay phase.
pub struct Relay {
    pub sent: u64,
    pub received: u64,
    /// Relay times, in milliseconds, sorted.
    pub ms: Vec<f64>,
    /// The longest the relay's clock waited for its 1 ms tick, in milliseconds: this thread
    /// stalled that long (every page on it too), whatever the server did.
    pub stall_ms: f64,
}

/// Opens the plan's connections, `IN_FLIGHT` at a time, and returns once every page is in (and
/// knows its pair's other page) or has failed.
pub async fn open(plan: &Plan) -> Fleet {
    let shared = Rc::new(Shared {
        ready: RefCell::new(vec![false; plan.connections]),
        ..Shared::default()
    });
    let gate = Arc::new(Semaphore::new(IN_FLIGHT));
    let (mut commands, mut tasks) = (Vec::new(), Vec::new());
    let started = Instant::now();
    for index in 0..plan.connections {
        let permit = Arc::clone(&gate)
            .acquire_owned()
            .await
            .unwrap_or_else(|e| panic!("the ramp's gate: {e}"));
        let (tx, rx) = mpsc::unbounded_channel();
        let page = Page {
            index,
            protocol: plan.protocol,
            endpoint: plan.endpoint(index),
            source: plan.sources[index % plan.sources.len()],
            keepalive: plan.keepalive.period(plan.protocol),
            run: plan.run.clone(),
        };
        commands.push(tx);
        tasks.push(tokio::task::spawn_local(page.run(
            Rc::clone(&shared),
            rx,
            permit,
        )));
    }
    while shared.settled.get() < plan.connections {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let seconds = shared
        .last_in
        .get()
        .map_or(0.0, |last| last.duration_since(started).as_secs_f64());
    // The first page of each pair hears of the second a moment after the second got in.
    let deadline = Instant::now() + Duration::from_secs(5);
    while ready_count(&shared) < shared.held.get() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut enter_ms: Vec<f64> = shared
        .entered
        .borrow()
        .iter()
        .map(|d| d.as_secs_f64() * 1e3)
        .collect();
    enter_ms.sort_by(f64::total_cmp);
    let ramp = Ramp {
        asked: plan.connections,
        entered: enter_ms.len(),
        seconds,
        enter_ms,
        refused: shared.refused.borrow().clone(),
    };
    Fleet {
        shared,
        commands,
        tasks,
        cursor: 0,
        ramp,
    }
}

fn ready_count(shared: &Shared) -> usize {
    shared.ready.borrow().iter().filter(|r| **r).count()
}

impl Fleet {
    /// Connections open now.
    pub fn held(&self) -> usize {
        self.shared.held.get()
    }

    /// Thins out (or resumes) the pages' keepalives: paused, a page sends only what its server
    /// needs to keep it (see [`Keepalive::Least`]); ours pings its pages itself, and they
    /// answer while paused.
    pub fn pause(&self, paused: bool) {
        self.shared.paused.set(paused);
    }

    /// The errors and unexpected messages pages heard, by kind.
    pub fn problems(&self) -> BTreeMap<String, u64> {
        self.shared.problems.borrow().clone()
    }

    /// Why connections ended before the load let go of them.
    pub fn lost(&self) -> BTreeMap<String, u64> {
        self.shared.lost.borrow().clone()
    }

    /// Sends signals at `rate` a second for `duration`, exchange after exchange over the pairs
    /// whose pages are both ready; returns how many were handed to pages, and the longest
    /// wait for a tick.
    pub async fn send(&mut self, rate: u32, duration: Duration) -> (u64, Duration) {
        let pairs: Vec<usize> = {
            let ready = self.shared.ready.borrow();
            (0..ready.len() / 2)
                .filter(|pair| ready[pair * 2] && ready[pair * 2 + 1])
                .collect()
        };
        assert!(!pairs.is_empty(), "no pair of pages is ready to signal");
        self.shared.since.set(wire::stamp_now());
        self.shared.received.set(0);
        self.shared.latencies.borrow_mut().clear();
        let (start, mut sent) = (Instant::now(), 0u64);
        let (mut last, mut stall) = (start, Duration::ZERO);
        let mut clock = tokio::time::interval(Duration::from_millis(1));
        clock.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            clock.tick().await;
            stall = stall.max(last.elapsed());
            last = Instant::now();
            let elapsed = start.elapsed().min(duration);
            let due = (elapsed.as_secs_f64() * f64::from(rate)) as u64;
            while sent < due {
                let k = self.cursor;
                self.cursor += 1;
                let (pair, step) = (pairs[(k / wire::STEPS) % pairs.len()], k % wire::STEPS);
                let page = pair * 2 + usize::from(wire::from_second(step));
                if self.commands[page].send(Command::Signal(step)).is_ok() {
                    sent += 1;
                }
            }
            if elapsed >= duration {
                return (sent, stall);
            }
        }
    }

    /// Waits for the `sent` signals to arrive (5 s at most), and returns the phase's figures.
    pub async fn collect(&self, sent: u64, stall: Duration) -> Relay {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.shared.received.get() < sent && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut ms: Vec<f64> = self
            .shared
            .latencies
            .borrow()
            .iter()
            .map(|ns| *ns as f64 / 1e6)
            .collect();
        ms.sort_by(f64::total_cmp);
        Relay {
            sent,
            received: self.shared.received.get(),
            ms,
            stall_ms: stall.as_secs_f64() * 1e3,
        }
    }

    /// Lets go of every page (their sockets are dropped) and waits for their tasks to end.
    pub async fn stop(self) {
        self.shared.stopping.set(true);
        drop(self.commands);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// One page of the load.
struct Page {
    index: usize,
    protocol: Protocol,
    endpoint: SocketAddr,
    source: Ipv4Addr,
    keepalive: Option<Duration>,
    run: String,
}

type Socket = WebSocketStream<TcpStream>;

impl Page {
    /// Its id on PeerJS.
    fn id(&self, index: usize) -> String {
        format!("{}p{index}", self.run)
    }

    async fn run(
        self,
        shared: Rc<Shared>,
        mut commands: mpsc::UnboundedReceiver<Command>,
        permit: OwnedSemaphorePermit,
    ) {
        let started = Instant::now();
        let entered = tokio::time::timeout(ENTER_TIMEOUT, self.enter()).await;
        shared.settled.set(shared.settled.get() + 1);
        drop(permit);
        let (mut socket, mut peer) = match entered {
            Ok(Ok(entered)) => entered,
            Ok(Err(why)) => return count(&shared.refused, why),
            Err(_) => return count(&shared.refused, "no seat within 30 s".into()),
        };
        shared.entered.borrow_mut().push(started.elapsed());
        shared.last_in.set(Some(Instant::now()));
        shared.held.set(shared.held.get() + 1);
        let partner = self.id(self.index ^ 1);
        let set_ready = |ready: bool| shared.ready.borrow_mut()[self.index] = ready;
        set_ready(self.protocol == Protocol::PeerJs || peer.is_some());
        // Keepalives spread over their period, as pages that came at different times.
        let mut keepalive = self.keepalive.map(|period| {
            let phase = period.mul_f64((self.index % 997) as f64 / 997.0);
            let mut interval =
                tokio::time::interval_at(tokio::time::Instant::now() + phase, period);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            interval
        });
        let mut last_keepalive = Instant::now();
        let why = loop {
            tokio::select! {
                frame = socket.next() => match frame {
                    Some(Ok(Message::Text(text))) => match wire::heard(self.protocol, &text) {
                        Heard::Signal(stamp) => {
                            let now = wire::stamp_now();
                            if stamp >= shared.since.get() {
                                shared.received.set(shared.received.get() + 1);
                                shared.latencies.borrow_mut().push(now.saturating_sub(stamp));
                            }
                        }
                        Heard::PeerJoined(id) => {
                            peer = Some(id);
                            set_ready(true);
                        }
                        Heard::Seated { .. } | Heard::Other => {}
                        Heard::Problem(problem) => count(&shared.problems, problem),
                    },
                    Some(Ok(Message::Close(frame))) => {
                        let reason =
                            frame.map_or_else(String::new, |f| f.reason.as_str().to_owned());
                        break format!("closed by the server ({reason})");
                    }
                    // Pings are answered by tungstenite as it reads.
                    Some(Ok(_)) => {}
                    Some(Err(e)) => break format!("socket error: {e}"),
                    None => break "closed".to_owned(),
                },
                command = commands.recv() => {
                    let Some(Command::Signal(step)) = command else {
                        // The load let go of this page.
                        break String::new();
                    };
                    let to = match (self.protocol, peer) {
                        (Protocol::Loopback, Some(peer)) => To::Loopback(peer),
                        (Protocol::PeerJs, _) => To::PeerJs(&partner),
                        (Protocol::Loopback, None) => {
                            count(&shared.problems, "a signal before the peer came".into());
                            continue;
                        }
                    };
                    let text = wire::signal(step, wire::stamp_now(), to);
                    if let Err(e) = socket.send(Message::text(text)).await {
                        break format!("could not send: {e}");
                    }
                }
                () = tick(&mut keepalive) => {
                    // Paused, a page still sends what its server needs to keep it.
                    if shared.paused.get() && last_keepalive.elapsed() < PAUSED_KEEPALIVE {
                        continue;
                    }
                    last_keepalive = Instant::now();
                    let keepalive = Message::text(wire::keepalive(self.protocol));
                    if let Err(e) = socket.send(keepalive).await {
                        break format!("could not send: {e}");
                    }
                }
            }
        };
        shared.held.set(shared.held.get() - 1);
        set_ready(false);
        if !shared.stopping.get() && !why.is_empty() {
            count(&shared.lost, why);
        }
    }

    /// Connects from its address, opens the WebSocket as a browser would (with an `Origin`),
    /// and takes its seat: ours joins its pair's room and waits for `joined`; PeerJS registers
    /// it by its id in the URL and says `OPEN`. Returns the socket and the peer already there.
    async fn enter(&self) -> Result<(Socket, Option<PeerId>), String> {
        let io = |what: &str| {
            let what = what.to_owned();
            move |e: std::io::Error| format!("{what}: {e}")
        };
        let socket = TcpSocket::new_v4().map_err(io("socket"))?;
        socket
            .bind(SocketAddr::from((self.source, 0)))
            .map_err(io("bind"))?;
        let stream = socket.connect(self.endpoint).await.map_err(io("connect"))?;
        stream.set_nodelay(true).map_err(io("nodelay"))?;
        let url = format!(
            "ws://{}{}",
            self.endpoint,
            wire::path(self.protocol, &self.id(self.index))
        );
        let mut request = url
            .into_client_request()
            .map_err(|e| format!("request: {e}"))?;
        let origin = HeaderValue::from_str(&format!("http://{}", self.endpoint))
            .map_err(|e| format!("origin: {e}"))?;
        request.headers_mut().insert(ORIGIN, origin);
        // Buffers the size of signaling, not tungstenite's 128 KiB each: 10,000 of those would
        // cost this process more than a gigabyte.
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .write_buffer_size(0);
        let (mut socket, _) =
            tokio_tungstenite::client_async_with_config(request, stream, Some(config))
                .await
                .map_err(|e| format!("handshake: {e}"))?;
        if self.protocol == Protocol::Loopback {
            let room = format!("{}-{}", self.run, self.index / 2);
            socket
                .send(Message::text(wire::join(&room)))
                .await
                .map_err(|e| format!("join: {e}"))?;
        }
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => match wire::heard(self.protocol, &text) {
                    Heard::Seated { peer } => return Ok((socket, peer)),
                    Heard::Problem(problem) => return Err(problem),
                    _ => {}
                },
                Some(Ok(Message::Close(frame))) => {
                    let reason = frame.map_or_else(String::new, |f| f.reason.as_str().to_owned());
                    return Err(format!("closed before its seat ({reason})"));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(format!("before its seat: {e}")),
                None => return Err("closed before its seat".into()),
            }
        }
    }
}

/// The keepalive's next tick, or never without one.
async fn tick(keepalive: &mut Option<Interval>) {
    match keepalive {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}
