//! The WebSocket to the signaling server: join a room, pass signals, hear who comes and goes, and,
//! when the socket is lost mid-call, reconnect and take the seat back without losing a signal.
//!
//! Losing the signaling connection never ends a call: its media goes peer to peer. The link tries
//! again with backoff and jitter ([`Reconnect`]), shows the server its resume token and how many
//! signals it got, and resends the ones the server had not taken (both sides number them). When
//! the server no longer holds the seat (it restarted, or the grace ran out), the link joins the
//! room anew and, with one other person, asks for its old role, so that call's negotiation roles
//! stay as they were; it tells the call which of the two it was, since after a grace that ran out
//! the room was told this page left, and its calls are over at the other ends. On a resume, the server shows the room as it is now; the link tells the
//! call who left, came, went away or came back meanwhile.

use super::by_peer::ByPeer;
use super::heartbeat::{Health, Heartbeat};
use super::reconnect::Reconnect;
use super::{deliver, from_json, to_json, Events, Forgotten, RoomEvent, Via};
use gloo_events::EventListener;
use gloo_timers::callback::{Interval, Timeout};
use loopback_signal::{
    FromServer, IceServer, PeerId, PeerName, Problem, ReplayLog, ResumeToken, RoomName, RoomPeer,
    Signal, ToServer, CLOSE_MOVING, PROTOCOL,
};
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, WebSocket};

/// How often a seated page looks at its heartbeat (see [`super::heartbeat`]): a timer of this page's
/// own, which sends nothing unless a ping is due.
const BEAT_MS: u32 = 500;
/// A new socket that has not opened after this long is given up for the next try.
const CONNECT_MS: u32 = 4_000;

thread_local! {
    /// Set once no server answered. Pages on a static host then go straight to the tabs: Firefox
    /// delays each new WebSocket to a host that refused the last ones, longer every time.
    static UNAVAILABLE: Cell<bool> = const { Cell::new(false) };
}

/// Whether an earlier try found no signaling server at this page's origin.
pub fn known_unavailable() -> bool {
    UNAVAILABLE.with(Cell::get)
}

/// The way to the room through the server, across as many sockets as it takes; closing it (on
/// drop) takes this page out of its room, and the server tells the other page.
pub struct ServerLink {
    inner: Rc<Inner>,
}

struct Inner {
    url: String,
    room: RoomName,
    /// What the others see this person as.
    name: RefCell<PeerName>,
    /// The others in the room as this page last heard: each one's role and whether it is away.
    peers: RefCell<ByPeer<Known>>,
    events: Events,
    /// Told if the very first socket never opens: then the page tries the tabs instead.
    unavailable: Box<dyn Fn()>,
    socket: RefCell<Option<Socket>>,
    /// A seat was had once: from then on a lost socket is reconnected.
    seated_once: Cell<bool>,
    /// Why the last resume was refused: what the server forgot, for the join that follows.
    forgotten: Cell<Forgotten>,
    /// The current socket holds the seat (joined or resumed): signals go out at once.
    seated: Cell<bool>,
    ice_servers: RefCell<Vec<IceServer>>,
    token: RefCell<Option<ResumeToken>>,
    /// `signal` messages received for this seat, which a resume tells the server.
    received: Cell<u64>,
    /// The signals sent for this seat with who they are for, numbered, the last ones kept to
    /// resend after a resume.
    sent: RefCell<ReplayLog<(PeerId, Signal)>>,
    reconnect: RefCell<Reconnect>,
    retry: RefCell<Option<Timeout>>,
    /// Gives up on a socket that does not open (a reconnection during a network cut).
    connecting: RefCell<Option<Timeout>>,
    /// Beats while seated: pings the server when due, and finds a quiet socket.
    beating: RefCell<Option<Interval>>,
    /// When to ping, and what the answers say of the socket.
    heartbeat: Cell<Heartbeat>,
    /// Asks for new TURN credentials before the ones held run out.
    renewal: RefCell<Option<Timeout>>,
    /// The call was told the way to the room is lost (and not yet that it is back).
    away: Cell<bool>,
    away_since: Cell<f64>,
}

/// Someone else in the room, as this page knows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Known {
    polite: bool,
    away: bool,
}

/// One WebSocket and its listeners.
struct Socket {
    ws: WebSocket,
    opened: Rc<Cell<bool>>,
    _listeners: [EventListener; 3],
}

fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

impl ServerLink {
    /// Opens the socket and joins `room` once it is open. `unavailable` hears if it never opens
    /// (nothing at `/signal`, or the server refused this page): then try another way.
    pub fn connect(
        url: &str,
        room: RoomName,
        name: PeerName,
        events: Events,
        unavailable: impl Fn() + 'static,
    ) -> Result<Self, crate::Error> {
        let inner = Rc::new(Inner {
            url: url.to_owned(),
            room,
            name: RefCell::new(name),
            peers: RefCell::default(),
            events,
            unavailable: Box::new(unavailable),
            socket: RefCell::default(),
            seated_once: Cell::new(false),
            forgotten: Cell::new(Forgotten::Room),
            seated: Cell::new(false),
            ice_servers: RefCell::default(),
            token: RefCell::default(),
            received: Cell::new(0),
            sent: RefCell::default(),
            reconnect: RefCell::new(Reconnect::new(now())),
            retry: RefCell::default(),
            connecting: RefCell::default(),
            beating: RefCell::default(),
            heartbeat: Cell::new(Heartbeat::new(now())),
            renewal: RefCell::default(),
            away: Cell::new(false),
            away_since: Cell::new(0.0),
        });
        let socket = Inner::open(&inner)?;
        *inner.socket.borrow_mut() = Some(socket);
        Ok(Self { inner })
    }

    /// Sends `signal` to `to`'s page, now if the seat is held, else once it is back.
    pub fn send(&self, to: PeerId, signal: Signal) {
        let inner = &self.inner;
        inner.sent.borrow_mut().push((to, signal.clone()));
        if inner.seated.get() {
            inner.say(&ToServer::Signal { to, signal });
        }
    }

    /// This person is called `name` from now on; the others are told (at once if seated, else
    /// with the next join).
    pub fn rename(&self, name: &PeerName) {
        let inner = &self.inner;
        *inner.name.borrow_mut() = name.clone();
        if inner.seated.get() {
            inner.say(&ToServer::Name { name: name.clone() });
        }
    }

    /// A call's path is in doubt: ping now and every second for a while, so that a dead socket
    /// is found before the call asks for a restart through it.
    pub fn watch(&self) {
        let now = now();
        let inner = &self.inner;
        inner.update_heartbeat(|h| h.watch(now));
        // At once, not at the next beat: the call says this at each reading of its bytes, and the
        // one that calls its path stalled must find the socket quiet before it asks for a restart.
        if inner.seated.get() {
            inner.beat_at(now);
        }
    }
}

impl Drop for ServerLink {
    fn drop(&mut self) {
        self.inner.retry.take();
        self.inner.connecting.take();
        self.inner.beating.take();
        // A Close frame: the server frees the seat at once and tells the other page.
        if let Some(socket) = self.inner.socket.take() {
            let _ = socket.ws.close();
        }
    }
}

impl Inner {
    /// A new socket, listened to.
    fn open(inner: &Rc<Inner>) -> Result<Socket, crate::Error> {
        let ws = WebSocket::new(&inner.url)?;
        let opened = Rc::new(Cell::new(false));
        let weak = Rc::downgrade(inner);
        let on_open = {
            let (weak, opened) = (weak.clone(), Rc::clone(&opened));
            EventListener::new(&ws, "open", move |_| {
                opened.set(true);
                if let Some(inner) = weak.upgrade() {
                    inner.connecting.take();
                    inner.opened();
                }
            })
        };
        let on_message = {
            let weak = weak.clone();
            EventListener::new(&ws, "message", move |event| {
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                let text = event
                    .dyn_ref::<MessageEvent>()
                    .and_then(|e| e.data().as_string());
                match text.as_deref().and_then(from_json::<FromServer>) {
                    Some(message) => inner.heard(message),
                    None => deliver(
                        &inner.events,
                        RoomEvent::Problem("the signaling server sent something unreadable".into()),
                    ),
                }
            })
        };
        // "error" always comes with a "close": the close alone decides.
        let on_close = {
            let (opened, socket) = (Rc::clone(&opened), ws.clone());
            let weak = weak.clone();
            EventListener::new(&ws, "close", move |_| {
                let (opened, socket) = (opened.get(), socket.clone());
                let weak = weak.clone();
                // Not here: the socket's listeners, this one among them, go with it.
                wasm_bindgen_futures::spawn_local(async move {
                    if let Some(inner) = weak.upgrade() {
                        let current = inner.socket.borrow().as_ref().map(|s| s.ws.clone());
                        if current.as_ref() == Some(&socket) {
                            inner.closed(opened);
                        }
                    }
                });
            })
        };
        if inner.seated_once.get() {
            let weak = weak.clone();
            let timer = Timeout::new(CONNECT_MS, move || {
                if let Some(inner) = weak.upgrade() {
                    inner.abandon();
                }
            });
            *inner.connecting.borrow_mut() = Some(timer);
        }
        Ok(Socket {
            ws,
            opened,
            _listeners: [on_open, on_message, on_close],
        })
    }

    fn update_heartbeat(&self, change: impl FnOnce(&mut Heartbeat)) {
        let mut heartbeat = self.heartbeat.get();
        change(&mut heartbeat);
        self.heartbeat.set(heartbeat);
    }

    fn say(&self, message: &ToServer) {
        let socket = self.socket.borrow();
        if let (Some(socket), Some(text)) = (socket.as_ref(), to_json(message)) {
            if socket.opened.get() {
                let _ = socket.ws.send_with_str(&text);
            }
        }
    }

    /// The socket is open: take the seat back if there is one, else join.
    fn opened(&self) {
        let token = self.token.borrow().clone();
        match token {
            Some(token) => self.say(&ToServer::Resume {
                v: Some(PROTOCOL),
                room: self.room.clone(),
                token,
                received: self.received.get(),
            }),
            None => self.join(),
        }
    }

    fn join(&self) {
        // A page that had a seat and one other person asks for its old role toward them: that
        // call goes on with it. (With more, one role cannot say it: their calls start over.)
        let peers = self.peers.borrow();
        let polite = match (self.seated_once.get(), peers.values().next()) {
            (true, Some(known)) if peers.len() == 1 => Some(known.polite),
            _ => None,
        };
        drop(peers);
        self.say(&ToServer::Join {
            v: Some(PROTOCOL),
            room: self.room.clone(),
            name: self.name.borrow().clone(),
            polite,
        });
    }

    /// Leaves the current socket for a new one: it did not open in time, or it went quiet.
    fn abandon(self: &Rc<Self>) {
        self.connecting.take();
        let Some(socket) = self.socket.take() else {
            return;
        };
        let opened = socket.opened.get();
        // Its listeners go with it; the close code tells the server to keep the seat, should
        // the frame ever arrive.
        let _ = socket
            .ws
            .close_with_code_and_reason(CLOSE_MOVING, "moving to a new socket");
        drop(socket);
        self.closed(opened);
    }

    /// The call hears that the way to the room is lost, once.
    fn going_away(&self) {
        if !self.away.replace(true) {
            self.away_since.set(now());
            deliver(&self.events, RoomEvent::Reconnecting);
        }
    }

    /// Every [`BEAT_MS`] while seated: find a socket gone quiet or dead, and ping when due.
    fn beat(self: &Rc<Self>) {
        self.beat_at(now());
    }

    fn beat_at(self: &Rc<Self>, now: f64) {
        self.update_heartbeat(|h| h.beat(now));
        match self.heartbeat.get().health(now) {
            Health::Dead => return self.abandon(),
            Health::Quiet => self.going_away(),
            Health::Alive => {}
        }
        self.ping_if_due(now);
    }

    fn ping_if_due(&self, now: f64) {
        let mut heartbeat = self.heartbeat.get();
        if self.seated.get() && heartbeat.ping_due(now) {
            self.say(&ToServer::Ping);
            heartbeat.pinged(now);
            self.heartbeat.set(heartbeat);
        }
    }

    /// The socket closed; `opened` says whether it ever opened.
    fn closed(self: &Rc<Self>, opened: bool) {
        self.socket.take();
        self.connecting.take();
        self.beating.take();
        self.seated.set(false);
        if !self.seated_once.get() && !opened {
            // No server here, or it refused this page: the tabs are the other way.
            UNAVAILABLE.with(|u| u.set(true));
            return (self.unavailable)();
        }
        let mut reconnect = self.reconnect.borrow_mut();
        if opened {
            reconnect.lost(now());
            self.going_away();
        } else {
            reconnect.failed_attempt();
        }
        let wait = reconnect.next_attempt(js_sys::Math::random());
        drop(reconnect);
        let weak: Weak<Inner> = Rc::downgrade(self);
        let timer = Timeout::new(wait as u32, move || {
            let Some(inner) = weak.upgrade() else {
                return;
            };
            match Inner::open(&inner) {
                Ok(socket) => *inner.socket.borrow_mut() = Some(socket),
                // The browser refused to make a socket at all: try again later all the same.
                Err(_) => inner.closed(false),
            }
        });
        *self.retry.borrow_mut() = Some(timer);
    }

    /// The seat is held on this socket again.
    fn seated(self: &Rc<Self>, ice_servers: Vec<IceServer>, token: ResumeToken) {
        if !ice_servers.is_empty() {
            *self.ice_servers.borrow_mut() = ice_servers;
        }
        *self.token.borrow_mut() = Some(token);
        self.seated.set(true);
        let weak = Rc::downgrade(self);
        let beating = Interval::new(BEAT_MS, move || {
            if let Some(inner) = weak.upgrade() {
                inner.beat();
            }
        });
        *self.beating.borrow_mut() = Some(beating);
    }

    /// The way is back: the call hears it, with how long it was away, unless a seat message
    /// (joined, resumed) says so itself.
    /// Asks for new TURN credentials after `seconds`, on whatever socket holds the seat then.
    fn renew_after(self: &Rc<Self>, seconds: Option<u32>) {
        let Some(seconds) = seconds else {
            return;
        };
        let weak = Rc::downgrade(self);
        let ms = seconds.saturating_mul(1000);
        let timeout = Timeout::new(ms, move || {
            if let Some(inner) = weak.upgrade() {
                inner.say(&ToServer::Renew);
            }
        });
        *self.renewal.borrow_mut() = Some(timeout);
    }

    fn back(&self) -> f64 {
        self.away.set(false);
        self.reconnect.borrow_mut().connected(now());
        now() - self.away_since.get()
    }

    /// The room as the server shows it on a join or a resume, told to the call as the changes
    /// from what this page knew: who left, who came, who went away or came back.
    fn room_now(&self, peers: Vec<RoomPeer>) -> Vec<RoomEvent> {
        let mut known = self.peers.borrow_mut();
        let mut events = Vec::new();
        let present: Vec<PeerId> = peers.iter().map(|p| p.peer).collect();
        known.retain(|peer, _| {
            let stays = present.contains(&peer);
            if !stays {
                events.push(RoomEvent::PeerLeft { peer });
            }
            stays
        });
        for p in peers {
            let now = Known {
                polite: p.polite,
                away: p.away,
            };
            match known.insert(p.peer, now) {
                None => {
                    events.push(RoomEvent::PeerJoined {
                        peer: p.peer,
                        name: p.name,
                        unnamed: format!("Person {}", p.peer),
                        polite: p.polite,
                        ice_servers: self.ice_servers.borrow().clone(),
                    });
                    if p.away {
                        events.push(RoomEvent::PeerAway { peer: p.peer });
                    }
                }
                Some(before) if before.away != p.away => events.push(if p.away {
                    RoomEvent::PeerAway { peer: p.peer }
                } else {
                    RoomEvent::PeerBack { peer: p.peer }
                }),
                Some(_) => {}
            }
        }
        events
    }

    /// A server that does not speak this page's version of the messages: said plainly.
    fn version_mismatch(&self, v: u32) -> RoomEvent {
        RoomEvent::Lost(format!(
            "The signaling server speaks version {v} of the signaling messages and this page \
             version {PROTOCOL}: reload the page to get the server's own."
        ))
    }

    fn heard(self: &Rc<Self>, message: FromServer) {
        self.update_heartbeat(|h| h.heard(now()));
        let seat_message = matches!(
            message,
            FromServer::Joined { .. } | FromServer::Resumed { .. }
        );
        if self.away.get() && self.seated.get() && !seat_message {
            // A quiet socket that speaks again: nothing was lost on it.
            let away_ms = self.back();
            deliver(
                &self.events,
                RoomEvent::Reconnected {
                    away_ms,
                    complete: true,
                    rejoined: None,
                },
            );
        }
        let event = match message {
            FromServer::Joined { v, .. } | FromServer::Resumed { v, .. } if v != PROTOCOL => {
                self.version_mismatch(v)
            }
            FromServer::Joined {
                peers,
                size,
                ice_servers,
                renew_in,
                resume,
                ..
            } => {
                self.seated(ice_servers, resume);
                self.renew_after(renew_in);
                let first = if self.seated_once.replace(true) {
                    // Joined anew after the server forgot the seat: whatever was in flight is
                    // gone, and the room is as `peers` says.
                    *self.peers.borrow_mut() = ByPeer::default();
                    RoomEvent::Reconnected {
                        away_ms: self.back(),
                        complete: false,
                        rejoined: Some(self.forgotten.get()),
                    }
                } else {
                    RoomEvent::Joined {
                        via: Via::Server,
                        size: usize::from(size),
                    }
                };
                deliver(&self.events, first);
                for event in self.room_now(peers) {
                    deliver(&self.events, event);
                }
                return;
            }
            FromServer::Resumed {
                peers,
                ice_servers,
                renew_in,
                resume,
                received,
                complete,
                ..
            } => {
                self.seated(ice_servers, resume);
                self.renew_after(renew_in);
                let changes = self.room_now(peers);
                // What the server had not taken from this page, again, in order, for those
                // still there.
                let replay = self.sent.borrow().after(received);
                let peers = self.peers.borrow();
                for (to, signal) in replay.signals {
                    if peers.contains(to) {
                        self.say(&ToServer::Signal { to, signal });
                    }
                }
                drop(peers);
                let away_ms = self.back();
                deliver(
                    &self.events,
                    RoomEvent::Reconnected {
                        away_ms,
                        complete: complete && replay.complete,
                        rejoined: None,
                    },
                );
                for event in changes {
                    deliver(&self.events, event);
                }
                return;
            }
            FromServer::PeerJoined {
                peer,
                name,
                polite,
                ice_servers,
                renew_in,
            } => {
                // Credentials come with the first person to call.
                if !ice_servers.is_empty() {
                    *self.ice_servers.borrow_mut() = ice_servers;
                }
                self.renew_after(renew_in);
                let known = Known {
                    polite,
                    away: false,
                };
                self.peers.borrow_mut().insert(peer, known);
                RoomEvent::PeerJoined {
                    peer,
                    name,
                    unnamed: format!("Person {peer}"),
                    polite,
                    ice_servers: self.ice_servers.borrow().clone(),
                }
            }
            FromServer::PeerNamed { peer, name } => RoomEvent::PeerNamed { peer, name },
            FromServer::Renewed {
                ice_servers,
                renew_in,
            } => {
                *self.ice_servers.borrow_mut() = ice_servers.clone();
                self.renew_after(Some(renew_in));
                RoomEvent::IceServers(ice_servers)
            }
            FromServer::PeerLeft { peer } => {
                self.peers.borrow_mut().remove(peer);
                RoomEvent::PeerLeft { peer }
            }
            FromServer::PeerAway { peer } => {
                if let Some(known) = self.peers.borrow_mut().get_mut(peer) {
                    known.away = true;
                }
                RoomEvent::PeerAway { peer }
            }
            FromServer::PeerBack { peer } => {
                if let Some(known) = self.peers.borrow_mut().get_mut(peer) {
                    known.away = false;
                }
                RoomEvent::PeerBack { peer }
            }
            FromServer::Pong => return,
            FromServer::Signal { from, signal } => {
                self.received.set(self.received.get() + 1);
                RoomEvent::Signal { from, signal }
            }
            FromServer::Error {
                problem: Problem::RoomFull,
                ..
            } => RoomEvent::Full,
            // The old socket still counts as live (what it had queued is arriving now the
            // network is back); or the server cannot reach the store its rooms are shared
            // through, and this page has a seat there (this was a resume, or the server closes
            // next): try again on a new socket shortly. Not from inside this socket's own
            // listener, which goes with it.
            FromServer::Error { problem, message }
                if problem == Problem::SeatInUse
                    || (problem == Problem::Unavailable && self.token.borrow().is_some()) =>
            {
                let weak = Rc::downgrade(self);
                wasm_bindgen_futures::spawn_local(async move {
                    if let Some(inner) = weak.upgrade() {
                        inner.abandon();
                    }
                });
                RoomEvent::Problem(message)
            }
            FromServer::Error {
                problem: problem @ (Problem::ResumeRefused | Problem::SeatExpired),
                message,
            } => {
                // The seat is gone from the server: join anew on this socket.
                self.forgotten.set(if problem == Problem::SeatExpired {
                    Forgotten::Seat
                } else {
                    Forgotten::Room
                });
                self.token.take();
                self.received.set(0);
                *self.sent.borrow_mut() = ReplayLog::default();
                self.join();
                RoomEvent::Problem(message)
            }
            // Without a seat, the join did not happen: say so.
            FromServer::Error {
                problem: Problem::Unavailable,
                message,
            } => RoomEvent::Lost(message),
            // A server before version 2 cannot read this page's join at all.
            FromServer::Error {
                problem: Problem::BadMessage,
                ..
            } if !self.seated_once.get() => self.version_mismatch(1),
            // The server closes next, and the page comes back (to the next process, after a
            // restart): the call goes on meanwhile.
            FromServer::Error {
                problem: Problem::Idle | Problem::ShuttingDown,
                message,
            } => RoomEvent::Problem(message),
            // Not fatal to the socket, but to this call: the room is not joined.
            FromServer::Error {
                problem: Problem::TooManyJoins,
                message,
            } => RoomEvent::Lost(message),
            FromServer::Error { problem, message } if problem.is_fatal() => {
                RoomEvent::Lost(message)
            }
            FromServer::Error { message, .. } => RoomEvent::Problem(message),
        };
        deliver(&self.events, event);
    }
}
