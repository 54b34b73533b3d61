//! One page's WebSocket: its messages read, checked and acted on, the room's messages written to
//! it, and its end, however it comes, deciding what becomes of its seat.
//!
//! One task owns the socket and selects over five things: a frame from the page, a message (or a
//! liveness probe) for the page, the ping timer (which also finds an idle page), a probe's
//! deadline, and the server's shutdown. How the connection ends matters: on purpose (`leave`, a
//! Close frame, or closed for misbehaving) the seat goes; lost (no Close frame, idleness) the seat
//! waits, away, for the page to resume it on a new connection.

use crate::guard::{Idle, RateLimit};
use crate::inspect::{self, Verdict};
use crate::logtag;
use crate::store::{
    ConnId, End, Ending, OutboxReceiver, Outgoing, Refusal, SeatId, Store, GRACE_RAN_OUT, IN_USE,
};
use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket};
use loopback_signal::{
    FromServer, IceServer, Problem, ResumeToken, RoomName, ToServer, CLOSE_MOVING, PROTOCOL,
};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{oneshot, watch};

/// How long a closing connection waits for the page's Close.
const CLOSING_HANDSHAKE: Duration = Duration::from_secs(2);
/// A page's heartbeat and its answer as they are written: every page sends one every few seconds
/// (every second while a call is in doubt), so they are recognized and answered without parsing
/// either (a test keeps them the messages' own).
const PING: &str = r#"{"type":"ping"}"#;
const PONG: &str = r#"{"type":"pong"}"#;
/// How much of a bad message an error reply quotes: enough to recognize it, not an echo.
const QUOTED_BYTES: usize = 64;
/// How much longer than the probe a resuming page waits for the old connection's answer before
/// taking it as dead (its task may be stuck writing to a socket nobody reads).
const PROBE_SLACK: Duration = Duration::from_secs(1);

/// What a connection needs from the server.
pub struct Context {
    pub store: Arc<dyn Store>,
    /// The server's configuration, shared: its limits and TURN, among others.
    pub config: Arc<crate::Config>,
    pub shutdown: watch::Receiver<bool>,
    /// The connection's slot at the door, held while the WebSocket lives.
    pub admitted: Option<crate::door::Admitted>,
    /// Its slot among the clients a trusted proxy forwards, held likewise.
    pub proxied: Option<crate::door::Admitted>,
    /// The client's address, as the door saw it, or as a trusted proxy named it.
    pub client: Option<std::net::IpAddr>,
    /// Rooms joined per client address.
    pub joins: Arc<crate::guard::Joins>,
    /// Addresses no relayed candidate may point at.
    pub denied: Arc<[crate::inspect::Cidr]>,
}

/// Runs one connection to its end. Not an `async fn`: the future it returns holds the
/// connection once, where an `async fn`'s would also keep room for its arguments for as long as
/// it runs (700 bytes a page, every page, idle or not).
pub fn run(
    socket: WebSocket,
    context: Context,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let (id, outbox, overflowed) = context.store.connect();
    tracing::debug!(conn = id, "connected");
    let mut connection = Connection {
        socket,
        id,
        seat: None,
        context,
        probes: Vec::new(),
        overflowed,
        ended: false,
        renewed: None,
        has_ice: false,
    };
    async move {
        let (end, reason) = connection.serve(outbox).await;
        connection.end(end, reason);
    }
}

/// A fresh resume token: 128 bits from the operating system.
fn fresh_token() -> Result<ResumeToken, getrandom::Error> {
    let mut bits = [0u8; 16];
    getrandom::fill(&mut bits)?;
    Ok(ResumeToken::from_bytes(bits))
}

/// How a message's handling left the connection: going on, or ending, how and why.
type Flow = ControlFlow<(End, &'static str)>;

/// [`Flow`] after a write: going on if it was written.
fn written(ok: bool) -> Flow {
    if ok {
        Flow::Continue(())
    } else {
        Flow::Break((End::Lost, "could not write"))
    }
}

struct Connection {
    socket: WebSocket,
    id: ConnId,
    /// The seat this connection holds, and its room (for the log).
    seat: Option<(SeatId, RoomName)>,
    context: Context,
    /// Resuming pages waiting to hear whether this one is alive: each probe's answer, its
    /// deadline, and whether this connection was heard from since it began.
    probes: Vec<(oneshot::Sender<bool>, tokio::time::Instant, bool)>,
    /// Notified when the hub found this connection's outbox full: it ends at once, even from
    /// the middle of a write.
    overflowed: Ending,
    /// The hub was told this connection ended.
    ended: bool,
    /// When this connection last gave new TURN credentials.
    renewed: Option<Instant>,
    /// This page has its TURN credentials for its seat (with `joined` or `resumed` if someone
    /// was there, else with the first `peer-joined`): later newcomers bring none.
    has_ice: bool,
}

impl Drop for Connection {
    /// A task that ends without saying how (it panicked, or was cancelled) still gives its
    /// seat back: as lost, so that its page may resume it.
    fn drop(&mut self) {
        if !self.ended {
            self.end(End::Lost, "the connection's task ended unexpectedly");
        }
    }
}

impl Connection {
    /// Tells the hub this connection ended, `end` deciding what becomes of its seat.
    fn end(&mut self, end: End, reason: &'static str) {
        self.ended = true;
        let (id, store) = (self.id, Arc::clone(&self.context.store));
        let room = self.seat.as_ref().map(|(_, room)| logtag::room(room));
        tracing::debug!(conn = id, ?room, reason, ?end, "disconnected");
        let seat = self.seat.as_ref().map(|(seat, _)| *seat);
        if seat.is_some() && end == End::Lost {
            tracing::info!(conn = id, ?room, reason, "connection lost: seat kept away");
        }
        store.disconnect(id, seat, end, self.context.config.limits.grace);
    }

    /// Serves until the connection ends; returns how, and why for the log.
    async fn serve(&mut self, mut outbox: OutboxReceiver) -> (End, &'static str) {
        let limits = self.context.config.limits;
        // A newcomer sets up a call with everyone in the room at once: the bursts grow with it.
        let room_size = self.context.store.room_size();
        let (burst, bytes_burst) = (
            limits.messages_at_once(room_size),
            limits.bytes_at_once(room_size),
        );
        let mut rate = RateLimit::new(burst, limits.per_second, Instant::now());
        let mut bytes = RateLimit::new(bytes_burst, limits.bytes_per_second, Instant::now());
        let mut idle = Idle::new(limits.idle, Instant::now());
        let mut shutdown = self.context.shutdown.clone();
        // A socket without a seat (not joined yet, or left) has this long to take one.
        let mut seatless_until = Some(tokio::time::Instant::now() + limits.first_message);
        // The first ping at once, then one every `limits.ping`.
        let mut next_ping = tokio::time::Instant::now();
        // One timer for whichever comes first, the ping, a probe's deadline or the seatless
        // limit: every page holds it, and two sleeps and an interval were a fifth of an idle
        // page's memory.
        let timer = tokio::time::sleep_until(next_ping);
        tokio::pin!(timer);
        loop {
            let probe_deadline = self.probes.first().map(|(_, deadline, _)| *deadline);
            seatless_until = match (&self.seat, seatless_until) {
                (Some(_), _) => None,
                (None, Some(until)) => Some(until),
                (None, None) => Some(tokio::time::Instant::now() + limits.first_message),
            };
            let next = [probe_deadline, seatless_until]
                .into_iter()
                .flatten()
                .fold(next_ping, std::cmp::min);
            if timer.is_elapsed() || timer.deadline() != next {
                timer.as_mut().reset(next);
            }
            tokio::select! {
                frame = self.socket.recv() => {
                    let message = match frame {
                        None => return (End::Lost, "closed without a close frame"),
                        Some(Err(e)) => {
                            // Oversized messages end here too: say so, if the socket still can.
                            let too_large = e.to_string().contains("too long")
                                || e.to_string().contains("too big");
                            if too_large {
                                if let Some(times) = logtag::limits_reached().count(self.context.client) {
                                    tracing::warn!(client = ?self.context.client, times, "a message too large: closed");
                                }
                                Box::pin(self.close(Problem::TooLarge, close_code::SIZE)).await;
                                return (End::Deliberate, "message too large");
                            }
                            return (End::Lost, "socket error");
                        }
                        Some(Ok(message)) => message,
                    };
                    idle.heard(Instant::now());
                    // Heard from, whatever it said; but the answer waits for the deadline: a page
                    // whose network is back flushes what it had queued on its old socket, then
                    // the Close that says it moved, and that must not count as a live owner.
                    // (A connection that ends meanwhile drops the probes: the seat moves.)
                    for (_, _, heard) in &mut self.probes {
                        *heard = true;
                    }
                    // Every frame counts, whatever its kind (pings make the socket write
                    // pongs); only a Close is free, as it ends the connection anyway.
                    if !matches!(message, Message::Close(_)) {
                        let now = Instant::now();
                        let size = frame_size(&message);
                        if !rate.take(now) || !bytes.take_many(size, now) {
                            if let Some(times) = logtag::limits_reached().count(self.context.client) {
                                tracing::warn!(client = ?self.context.client, times, "a page sent too fast: closed");
                            }
                            Box::pin(self.close(Problem::TooFast, close_code::POLICY)).await;
                            return (End::Deliberate, "too many messages");
                        }
                    }
                    match message {
                        Message::Text(text) if text.as_str() == PING => {
                            let pong = Message::Text(Utf8Bytes::from_static(PONG));
                            if !Box::pin(self.send(pong)).await {
                                return (End::Lost, "could not write");
                            }
                        }
                        Message::Text(text) => {
                            if let ControlFlow::Break(end) = Box::pin(self.handle(&text)).await {
                                return end;
                            }
                        }
                        Message::Binary(_) => {
                            if !Box::pin(self.say(FromServer::error(Problem::BadMessage, Some("binary frames are not messages")))).await {
                                return (End::Lost, "could not write");
                            }
                        }
                        Message::Close(Some(frame)) if frame.code == CLOSE_MOVING => {
                            return (End::Lost, "left for a new socket")
                        }
                        Message::Close(_) => return (End::Deliberate, "closed by the page"),
                        // Pongs answer our pings; pings are answered by the socket itself.
                        Message::Ping(_) | Message::Pong(_) => {}
                    }
                }
                outgoing = outbox.recv() => match outgoing {
                    // The hub let go of the outbox: this page did not keep up with it.
                    None => return (End::Lost, "could not keep up"),
                    // About a seat this connection has left since: not its room any more.
                    Some(Outgoing::Message { seat, .. })
                        if self.seat.as_ref().map(|(held, _)| *held) != Some(seat) => {}
                    Some(Outgoing::Message { message, .. }) => {
                        if !Box::pin(self.say(*message)).await {
                            return (End::Lost, "could not write");
                        }
                    }
                    Some(Outgoing::Probe(probe)) => {
                        let deadline = tokio::time::Instant::now() + limits.probe;
                        self.probes.push((probe, deadline, false));
                        if !Box::pin(self.send(Message::Ping(Default::default()))).await {
                            return (End::Lost, "could not write");
                        }
                    }
                },
                () = &mut timer => {
                    let now = tokio::time::Instant::now();
                    if seatless_until.is_some_and(|until| until <= now) {
                        Box::pin(self.close(Problem::Idle, close_code::POLICY)).await;
                        return (End::Deliberate, "no seat taken in time");
                    }
                    if probe_deadline.is_some_and(|deadline| deadline <= now) {
                        let (due, waiting): (Vec<_>, Vec<_>) = self
                            .probes
                            .drain(..)
                            .partition(|(_, deadline, _)| *deadline <= now);
                        self.probes = waiting;
                        let alive = due.iter().any(|(_, _, heard)| *heard);
                        for (probe, _, _) in due {
                            let _ = probe.send(alive);
                        }
                        if !alive {
                            // Silent since the probe: the page is gone (its network changed,
                            // say) and resumes elsewhere. Drop the socket without a closing
                            // handshake nobody would answer.
                            return (End::Lost, "silent when probed: dead");
                        }
                    }
                    if next_ping <= now {
                        next_ping = now + limits.ping;
                        if idle.expired(Instant::now()) {
                            Box::pin(self.close(Problem::Idle, close_code::AWAY)).await;
                            return (End::Lost, "idle");
                        }
                        if !Box::pin(self.send(Message::Ping(Default::default()))).await {
                            return (End::Lost, "could not write");
                        }
                    }
                }
                () = self.overflowed.notified() => return (End::Lost, "could not keep up"),
                _ = shutdown.changed() => {
                    Box::pin(self.close(Problem::ShuttingDown, close_code::AWAY)).await;
                    return (End::Shutdown, "server shutting down");
                }
            }
        }
    }

    /// Acts on one text message: the connection goes on, or ends as the flow says.
    async fn handle(&mut self, text: &str) -> Flow {
        let message = match serde_json::from_str::<ToServer>(text) {
            Ok(message) => message,
            Err(e) => {
                let detail = quote(&e.to_string(), QUOTED_BYTES);
                return written(
                    self.say(FromServer::error(Problem::BadMessage, Some(&detail)))
                        .await,
                );
            }
        };
        // Before anything else: a page of another version would misread every answer.
        if let ToServer::Join { v, .. } | ToServer::Resume { v, .. } = &message {
            if *v != Some(PROTOCOL) {
                return self.refuse_version(*v).await;
            }
        }
        let store = Arc::clone(&self.context.store);
        // Counted before anything else: a refused join costs the guesser a token too.
        let join_refused = matches!(message, ToServer::Join { .. })
            && self.seat.is_none()
            && !self.may_join().await;
        let reply = match (message, &self.seat) {
            (ToServer::Join { .. } | ToServer::Resume { .. }, Some(_)) => {
                Some(FromServer::error(Problem::AlreadyInRoom, None))
            }
            (ToServer::Join { .. }, None) if join_refused => {
                if let Some(refused) = logtag::limits_reached().count(self.context.client) {
                    tracing::warn!(client = ?self.context.client, refused, "too many joins from one address");
                }
                Some(FromServer::error(Problem::TooManyJoins, None))
            }
            (
                ToServer::Join {
                    room, name, polite, ..
                },
                None,
            ) => {
                let Some(token) = self.fresh_token() else {
                    return Flow::Break((End::Deliberate, "no random bits"));
                };
                match store
                    .join(&room, self.id, name, polite, token.clone())
                    .await
                {
                    Ok(seated) => {
                        // Never the name, nor the room's: the room's tag and the seat's id.
                        tracing::info!(conn = self.id, room = %logtag::room(&room), peer = seated.peer, others = seated.peers.len(), "joined");
                        self.seat = Some((seated.seat, room));
                        // TURN credentials once there is someone to call: here, or with the
                        // first `peer-joined`.
                        self.has_ice = !seated.peers.is_empty();
                        let (ice_servers, renew_in) = self.ice_if(self.has_ice);
                        let joined = FromServer::Joined {
                            v: PROTOCOL,
                            peer: seated.peer,
                            peers: seated.peers,
                            size: u8::try_from(store.room_size()).unwrap_or(u8::MAX),
                            ice_servers,
                            renew_in,
                            resume: token,
                            grace: self.grace(),
                        };
                        return written(self.say(joined).await);
                    }
                    Err(problem) => {
                        tracing::info!(conn = self.id, room = %logtag::room(&room), ?problem, "join refused");
                        Some(FromServer::error(problem, None))
                    }
                }
            }
            (
                ToServer::Resume {
                    room,
                    token,
                    received,
                    ..
                },
                None,
            ) => {
                return self.resume(room, token, received).await;
            }
            (ToServer::Ping, _) => Some(FromServer::Pong),
            (ToServer::Renew, Some(_)) => self.renew().await,
            (
                ToServer::Signal { .. } | ToServer::Name { .. } | ToServer::Leave | ToServer::Renew,
                None,
            ) => Some(FromServer::error(Problem::NotInRoom, None)),
            (ToServer::Signal { to, signal }, Some((seat, _))) => {
                match inspect::inspect(signal, &self.context.denied) {
                    Verdict::Relay(signal) => store
                        .relay(*seat, self.id, to, signal)
                        .await
                        .err()
                        .map(|problem| FromServer::error(problem, None)),
                    // Taken all the same: the page counts what it sent, and resends after a
                    // resume what the server did not take.
                    Verdict::Drop => {
                        store.discard(*seat, self.id).await;
                        static DROPPED: logtag::Sparse = logtag::Sparse::new();
                        if let Some(dropped) = DROPPED.count() {
                            tracing::info!(dropped, "candidates at forbidden addresses dropped");
                        }
                        None
                    }
                    Verdict::Refuse(why) => {
                        store.discard(*seat, self.id).await;
                        Some(FromServer::error(Problem::BadMessage, Some(why)))
                    }
                }
            }
            (ToServer::Name { name }, Some((seat, _))) => store
                .rename(*seat, self.id, name)
                .await
                .err()
                .map(|problem| FromServer::error(problem, None)),
            (ToServer::Leave, Some((seat, room))) => {
                tracing::info!(conn = self.id, room = %logtag::room(room), "left");
                store.leave(*seat, self.id).await;
                self.seat = None;
                None
            }
        };
        match reply {
            // The rooms' store (Redis) is out of reach mid-call: what this page sent was not
            // taken, so end this connection as lost. The page comes back, resumes once the store
            // is back, and resends what the server did not take.
            Some(FromServer::Error {
                problem: Problem::Unavailable,
                ..
            }) if self.seat.is_some() => {
                self.close(Problem::Unavailable, close_code::AWAY).await;
                Flow::Break((End::Lost, "the rooms' store cannot be reached"))
            }
            Some(reply) => written(self.say(reply).await),
            None => Flow::Continue(()),
        }
    }

    /// Tells a page that speaks version `v` of the messages (`None`: version 1, which had no
    /// `v`) that this server speaks another, and closes: nothing else it says would be read as
    /// it means it.
    async fn refuse_version(&mut self, v: Option<u32>) -> Flow {
        let spoken = match v {
            None => "1 (no v)".to_owned(),
            Some(v) => v.to_string(),
        };
        let detail = format!("this page speaks version {spoken}, the server version {PROTOCOL}");
        // Every page left open from before an upgrade says so once: counted, not a line each.
        static OTHER_VERSION: logtag::Sparse = logtag::Sparse::new();
        if let Some(pages) = OTHER_VERSION.count() {
            tracing::info!(pages, version = %spoken, "pages of another protocol version closed");
        }
        let error = FromServer::error(Problem::Version, Some(&detail));
        self.close_saying(error, Problem::Version, close_code::POLICY)
            .await;
        Flow::Break((End::Deliberate, "another protocol version"))
    }

    /// Takes back the seat `token` names, probing its old connection first if that still counts
    /// as live. Waits for the probe's answer here, in this connection's own task: the hub is not
    /// locked meanwhile, and this page has nothing else to do until it has its seat.
    async fn resume(&mut self, room: RoomName, token: ResumeToken, received: u64) -> Flow {
        let Some(fresh) = self.fresh_token() else {
            return Flow::Break((End::Deliberate, "no random bits"));
        };
        let store = Arc::clone(&self.context.store);
        let mut dead = None;
        let refusal = loop {
            match store
                .resume(&room, &token, received, self.id, fresh.clone(), dead)
                .await
            {
                Ok(resumption) => {
                    tracing::info!(
                        conn = self.id,
                        room = %logtag::room(&room),
                        peer = resumption.seated.peer,
                        received,
                        complete = resumption.complete,
                        "resumed"
                    );
                    let seated = resumption.seated;
                    self.seat = Some((seated.seat, room));
                    // Fresh credentials on a new connection, if there is someone to call.
                    self.has_ice = !seated.peers.is_empty();
                    let (ice_servers, renew_in) = self.ice_if(self.has_ice);
                    let resumed = FromServer::Resumed {
                        v: PROTOCOL,
                        peer: seated.peer,
                        peers: seated.peers,
                        ice_servers,
                        renew_in,
                        resume: fresh,
                        grace: self.grace(),
                        received: resumption.received,
                        complete: resumption.complete,
                    };
                    return written(self.say_all(resumed, resumption.missed).await);
                }
                Err(Refusal::Refused(why)) => break why,
                // Probed once already, and another connection holds it now.
                Err(Refusal::Probe { .. }) if dead.is_some() => break IN_USE,
                Err(Refusal::Unavailable) => {
                    return written(
                        self.say(FromServer::error(Problem::Unavailable, None))
                            .await,
                    );
                }
                Err(Refusal::Probe { holder, answer }) => {
                    let wait = self.context.config.limits.probe + PROBE_SLACK;
                    let alive = matches!(tokio::time::timeout(wait, answer).await, Ok(Ok(true)));
                    if alive {
                        break IN_USE;
                    }
                    // Silent, or gone meanwhile: ask again, with that holder known dead.
                    dead = Some(holder);
                }
            }
        };
        tracing::info!(conn = self.id, room = %logtag::room(&room), why = refusal, "resume refused");
        let problem = match refusal {
            // A seat in use is not gone: its page may try again once that connection ends.
            IN_USE => Problem::SeatInUse,
            // The room was told this page left: its calls are over, while a restarted server's
            // room may still have them up at the other ends.
            GRACE_RAN_OUT => Problem::SeatExpired,
            _ => Problem::ResumeRefused,
        };
        written(self.say(FromServer::error(problem, Some(refusal))).await)
    }

    fn fresh_token(&self) -> Option<ResumeToken> {
        match fresh_token() {
            Ok(token) => Some(token),
            Err(e) => {
                // Without randomness no seat can be given safely: end this connection.
                tracing::error!(conn = self.id, "no random bits for a resume token: {e}");
                None
            }
        }
    }

    /// The ICE servers for this page now: TURN credentials of its own, valid from now on.
    fn ice_servers(&self) -> Vec<IceServer> {
        let Some(turn) = &self.context.config.turn else {
            return Vec::new();
        };
        let mut bits = [0u8; 8];
        if let Err(e) = getrandom::fill(&mut bits) {
            tracing::error!(conn = self.id, "no random bits for a TURN username: {e}");
            return Vec::new();
        }
        let id: String = bits.iter().map(|b| format!("{b:02x}")).collect();
        vec![turn.ice_server(SystemTime::now(), &id)]
    }

    /// TURN credentials and when to renew them if `now`, else none (nobody to call yet).
    fn ice_if(&self, now: bool) -> (Vec<IceServer>, Option<u32>) {
        if now {
            (self.ice_servers(), self.renew_in())
        } else {
            (Vec::new(), None)
        }
    }

    /// Whether this client's address may join one more room now (and counts it): in this
    /// process, or across every instance sharing the rooms. Owns what it needs: the socket this
    /// connection holds is no one else's to look at while the store is asked.
    fn may_join(&self) -> impl std::future::Future<Output = bool> + Send + 'static {
        let client = self.context.client;
        let (burst, per_minute) = (
            self.context.config.limits.joins_burst,
            self.context.config.limits.joins_per_minute,
        );
        let store = Arc::clone(&self.context.store);
        let joins = Arc::clone(&self.context.joins);
        async move {
            match client {
                Some(client) => store.may_join(client, burst, per_minute, &joins).await,
                None => true,
            }
        }
    }

    /// New TURN credentials, no sooner than halfway to the next renewal: a page cannot mint
    /// them faster than it needs them.
    async fn renew(&mut self) -> Option<FromServer> {
        let (Some(renew_in), Some((seat, _))) = (self.renew_in(), &self.seat) else {
            return Some(FromServer::error(
                Problem::NoPeer,
                Some("no TURN server here"),
            ));
        };
        if !self.context.store.has_peer(*seat).await {
            return Some(FromServer::error(Problem::NoPeer, None));
        }
        let now = Instant::now();
        let soonest = Duration::from_secs(u64::from(renew_in) / 2);
        if self
            .renewed
            .is_some_and(|at| now.duration_since(at) < soonest)
        {
            return Some(FromServer::error(
                Problem::BadMessage,
                Some("new TURN credentials were given a moment ago"),
            ));
        }
        self.renewed = Some(now);
        Some(FromServer::Renewed {
            ice_servers: self.ice_servers(),
            renew_in,
        })
    }

    /// When a page should ask for new TURN credentials: halfway through their life, so that a
    /// lost connection or two on the way still leaves time.
    fn renew_in(&self) -> Option<u32> {
        let ttl = self.context.config.turn.as_ref()?.ttl.as_secs();
        Some(u32::try_from(ttl / 2).unwrap_or(u32::MAX).max(1))
    }

    /// The grace in whole seconds, rounded up, as pages are told.
    fn grace(&self) -> u32 {
        let grace = self.context.config.limits.grace;
        let seconds = grace.as_secs() + u64::from(grace.subsec_nanos() > 0);
        u32::try_from(seconds).unwrap_or(u32::MAX)
    }

    /// Writes `first`, then each of `then`; `false` if the socket is gone.
    async fn say_all(&mut self, first: FromServer, then: Vec<FromServer>) -> bool {
        if !self.say(first).await {
            return false;
        }
        for message in then {
            if !self.say(message).await {
                return false;
            }
        }
        true
    }

    /// Writes one frame, within the write limit; `false` if the socket is gone or the page
    /// did not take it in time (it is not reading: the connection ends).
    async fn send(&mut self, frame: Message) -> bool {
        let limit = self.context.config.limits.write;
        tokio::select! {
            sent = tokio::time::timeout(limit, self.socket.send(frame)) => matches!(sent, Ok(Ok(()))),
            () = self.overflowed.notified() => false,
        }
    }

    /// Writes one message; `false` if the socket is gone. A page hears of TURN only once
    /// there is someone to call, never alone: a page that has none gets its credentials with
    /// the first `peer-joined`.
    async fn say(&mut self, message: FromServer) -> bool {
        let message = match message {
            FromServer::PeerJoined {
                peer, name, polite, ..
            } if !self.has_ice => {
                self.has_ice = true;
                let (ice_servers, renew_in) = self.ice_if(true);
                FromServer::PeerJoined {
                    peer,
                    name,
                    polite,
                    ice_servers,
                    renew_in,
                }
            }
            message => message,
        };
        match serde_json::to_string(&message) {
            Ok(text) => self.send(Message::Text(Utf8Bytes::from(text))).await,
            Err(e) => {
                tracing::error!("a server message did not serialize: {e}");
                true
            }
        }
    }

    /// Says why, then closes with `code`.
    async fn close(&mut self, problem: Problem, code: u16) {
        self.close_saying(FromServer::error(problem, None), problem, code)
            .await;
    }

    /// Says `error` (about `problem`, with a detail), then closes with `code`.
    async fn close_saying(&mut self, error: FromServer, problem: Problem, code: u16) {
        let _ = self.say(error).await;
        // A close frame's reason holds at most 123 bytes.
        let mut reason = problem.to_string();
        while reason.len() > 123 {
            reason.pop();
        }
        let reason = Utf8Bytes::from(reason);
        if !self
            .send(Message::Close(Some(CloseFrame { code, reason })))
            .await
        {
            return;
        }
        // The closing handshake: wait a moment for the page's Close before dropping the socket.
        // Dropping it at once may reset the connection, and a reset discards what the page had
        // not read yet, this message and its reason included.
        let _ = tokio::time::timeout(CLOSING_HANDSHAKE, async {
            while let Some(Ok(message)) = self.socket.recv().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

/// A frame's payload size, for the byte limit.
fn frame_size(frame: &Message) -> usize {
    match frame {
        Message::Text(text) => text.len(),
        Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => data.len(),
        Message::Close(_) => 0,
    }
}

/// At most `max` bytes of `text`, cut on a character boundary, with an ellipsis if cut.
fn quote(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::{quote, PING, PONG};
    use loopback_signal::{FromServer, ToServer};

    #[test]
    fn the_heartbeat_answered_without_parsing_is_the_messages_own() {
        assert_eq!(serde_json::to_string(&ToServer::Ping).unwrap(), PING);
        assert_eq!(serde_json::to_string(&FromServer::Pong).unwrap(), PONG);
    }

    #[test]
    fn quotes_are_cut_on_a_character_boundary() {
        assert_eq!(quote("short", 64), "short");
        assert_eq!(quote("abcdef", 3), "abc…");
        assert_eq!(quote("aé", 2), "a…", "é is two bytes");
    }
}
