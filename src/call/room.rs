//! A call between two pages that share a room name: one peer here, its signals carried by the
//! room's link (the signaling server, or a `BroadcastChannel` between tabs).

use crate::call::channel::Channels;
use crate::call::peer::{Peer, PeerConfig, PeerEvent};
use crate::call::screen::Screen;
use crate::call::Setup;
use crate::error::Error;
use crate::page::Page;
use crate::signaling::server::ServerLink;
use crate::signaling::tabs::TabLink;
use crate::signaling::{self, Events, Link, RoomEvent};
use loopback_signal::{IceServer, RoomName, Signal};
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use web_sys::{MediaStreamTrack, RtcPeerConnection};

/// What a room call tells the app: how it ends, and when it is repairing itself.
pub enum Report {
    /// The other person hung up or went away: the camera stays on, Call may be pressed again.
    PeerLeft,
    /// The call cannot go on.
    Failed(Error),
    /// The call lost its way to the other person (signaling, or the media's path) and is
    /// finding it again (`true`), or has found it (`false`).
    Reconnecting(bool),
}

/// A live room call; dropping it hangs up: the peer closes and the page leaves the room, which
/// tells the other page.
pub struct RoomCall {
    shared: Rc<Shared>,
}

struct Shared {
    page: Rc<Page>,
    setup: Setup,
    room: RoomName,
    relay_only: bool,
    /// The peer and its screen, while the other person is there. Dropped before the link.
    peer: RefCell<Option<(Peer, Screen)>>,
    /// The data channel's end here, made before the peer that hands it over.
    channels: RefCell<Option<Rc<Channels>>>,
    link: RefCell<Option<Link>>,
    ended: Box<dyn Fn(Report)>,
    /// Candidates received in the current gathering, for the log.
    received: Cell<u32>,
    /// This page's way to the room is up.
    signaling_up: Cell<bool>,
    /// The other page's way to the room is lost (the server keeps its seat meanwhile).
    other_away: Cell<bool>,
    /// The peer is restoring the media's path.
    peer_trouble: Cell<bool>,
    /// What the app was last told (see [`Report::Reconnecting`]).
    reconnecting: Cell<bool>,
}

impl RoomCall {
    /// Joins `room`, through the server at the page's origin if one answers, else between tabs.
    /// `ended` hears how the call ends, never before this returns.
    pub fn join(
        setup: &Setup,
        room: RoomName,
        relay_only: bool,
        ended: impl Fn(Report) + 'static,
    ) -> Result<Self, Error> {
        let shared = Rc::new(Shared {
            page: Rc::clone(&setup.page),
            setup: setup.clone(),
            room,
            relay_only,
            peer: RefCell::default(),
            channels: RefCell::default(),
            link: RefCell::default(),
            ended: Box::new(ended),
            received: Cell::new(0),
            signaling_up: Cell::new(true),
            other_away: Cell::new(false),
            peer_trouble: Cell::new(false),
            reconnecting: Cell::new(false),
        });
        let events = shared.events();
        // A tab reloaded during a call between tabs goes straight back to them: trying the
        // server first would spend the other tab's grace (Firefox delays a refused socket).
        let returning = signaling::tabs::returning_to(&shared.room);
        let url = web_sys::window()
            .and_then(|w| signaling::server_url(&w.location()))
            .filter(|_| !signaling::server::known_unavailable() && !returning);
        let weak = Rc::downgrade(&shared);
        let link = url.and_then(|url| {
            let fall_back = move || {
                if let Some(shared) = weak.upgrade() {
                    if let Err(error) = shared.join_between_tabs() {
                        (shared.ended)(Report::Failed(error));
                    }
                }
            };
            ServerLink::connect(&url, shared.room.clone(), Rc::clone(&events), fall_back).ok()
        });
        match link {
            Some(link) => {
                shared
                    .page
                    .status(&format!("Joining room {}…", shared.room));
                *shared.link.borrow_mut() = Some(Link::Server(link));
            }
            None if returning => {
                shared
                    .page
                    .log
                    .step("back to signaling between tabs, as before the reload");
                shared.join_tabs()?;
            }
            None => shared.join_between_tabs()?,
        }
        Ok(Self { shared })
    }

    /// The peer of the call, once the other person is there.
    pub fn connection(&self) -> Option<RtcPeerConnection> {
        let peer = self.shared.peer.borrow();
        peer.as_ref().map(|(peer, _)| peer.connection().clone())
    }

    fn with_peer(&self, action: impl FnOnce(&Peer)) {
        self.shared.with_peer(action);
    }

    /// Restarts ICE on the call's peer, if there is one.
    pub fn restart_ice(&self) {
        self.with_peer(|peer| peer.restart_ice("asked for on the page"));
    }

    /// Sends `track` in place of the one of its kind.
    pub fn replace_track(&self, track: &MediaStreamTrack) {
        self.with_peer(|peer| peer.replace_track(track));
    }

    /// Takes the page's codec choice with a new offer, if this page made the first one;
    /// `false` if the other page orders the codecs.
    pub fn codec_changed(&self) -> bool {
        let peer = self.shared.peer.borrow();
        peer.as_ref()
            .is_none_or(|(peer, _)| peer.renegotiate_codec())
    }

    pub fn cap_bitrate(&self) {
        self.with_peer(Peer::cap_bitrate);
    }

    /// The data channel's end here, once the other person is there.
    pub fn channels(&self) -> Option<Rc<Channels>> {
        self.shared.channels.borrow().clone()
    }
}

impl Drop for RoomCall {
    fn drop(&mut self) {
        self.shared.peer.take();
        self.shared.channels.take();
        self.shared.link.take();
    }
}

impl Shared {
    fn events(self: &Rc<Self>) -> Events {
        let weak = Rc::downgrade(self);
        Rc::new(move |event| {
            if let Some(shared) = weak.upgrade() {
                shared.heard(event);
            }
        })
    }

    /// Acts on the call's peer, if the other person is there.
    fn with_peer(&self, action: impl FnOnce(&Peer)) {
        if let Some((peer, _)) = self.peer.borrow().as_ref() {
            action(peer);
        }
    }

    /// Tells the app when the call starts or stops repairing itself.
    fn update_reconnecting(&self) {
        let now = !self.signaling_up.get() || self.other_away.get() || self.peer_trouble.get();
        if self.reconnecting.replace(now) != now {
            (self.ended)(Report::Reconnecting(now));
        }
    }

    fn join_between_tabs(self: &Rc<Self>) -> Result<(), Error> {
        self.page.log.step(
            "no signaling server answered at this page's origin: signaling between tabs of this browser",
        );
        self.join_tabs()
    }

    fn join_tabs(self: &Rc<Self>) -> Result<(), Error> {
        let link = TabLink::join(self.room.clone(), self.events())?;
        *self.link.borrow_mut() = Some(Link::Tabs(link));
        Ok(())
    }

    fn heard(self: &Rc<Self>, event: RoomEvent) {
        let log = &self.page.log;
        match event {
            RoomEvent::Joined { via } => {
                log.step(&format!("joined room {} {}", self.room, via.describe()));
                self.page.status(&format!(
                    "In room {}: waiting for the other person to join…",
                    self.room
                ));
            }
            RoomEvent::PeerJoined {
                polite,
                ice_servers,
            } => {
                let held = self.peer.borrow();
                match held.as_ref().filter(|(peer, _)| peer.is_alive()) {
                    // The server forgot the seats (it restarted) and both pages joined again:
                    // the call's media never stopped, and its peer goes on.
                    Some((peer, _)) => {
                        log.step("the other person is back in the room: the call goes on");
                        self.other_away.set(false);
                        peer.set_polite(polite);
                        peer.resync(
                            "the signaling server forgot the call: starting its negotiation over",
                        );
                        drop(held);
                        self.update_reconnecting();
                    }
                    None => {
                        drop(held);
                        self.start_peer(polite, ice_servers);
                    }
                }
            }
            RoomEvent::PeerAway => {
                log.step("the other person's connection to the signaling server was lost: their seat is kept");
                self.other_away.set(true);
                self.page
                    .status("The other person is reconnecting… the call goes on meanwhile.");
                self.update_reconnecting();
            }
            RoomEvent::PeerPageAway { grace_ms } => {
                log.step(&format!(
                    "the other tab's page went away (closed, or reloading): its seat is kept for {}",
                    crate::call::recovery::seconds(f64::from(grace_ms))
                ));
                self.other_away.set(true);
                self.page.status(
                    "The other tab went away: if it is reloading, the call comes back when it does…",
                );
                self.update_reconnecting();
            }
            RoomEvent::PeerReturned { polite } => {
                log.step(
                    "the other tab is back (it reloaded): a new call, each page in the role it had",
                );
                self.other_away.set(false);
                self.update_reconnecting();
                self.start_peer(polite, Vec::new());
            }
            RoomEvent::PeerBack => {
                log.step("the other person is back on the signaling server");
                self.other_away.set(false);
                self.page.status("The other person is back.");
                self.update_reconnecting();
            }
            RoomEvent::Reconnecting => {
                log.step("the connection to the signaling server was lost: reconnecting, the call goes on");
                self.signaling_up.set(false);
                self.with_peer(|peer| peer.signaling(false));
                self.page
                    .status("Reconnecting to the signaling server… the call goes on meanwhile.");
                self.update_reconnecting();
            }
            RoomEvent::Reconnected {
                away_ms,
                complete,
                polite,
                peer: here,
            } => {
                let away = crate::call::recovery::seconds(away_ms);
                log.step(&format!(
                    "back on the signaling server after {away}{}",
                    if complete {
                        ", no signal lost"
                    } else {
                        ": signals in flight may be lost, the negotiation starts over"
                    }
                ));
                self.signaling_up.set(true);
                self.with_peer(|peer| {
                    peer.set_polite(polite);
                    peer.signaling(true);
                    // Without the other person here, their coming (peer-joined) does it.
                    if !complete && here {
                        peer.resync(
                            "signals may have been lost while the signaling server was away",
                        );
                    }
                });
                self.page
                    .status(&format!("Back on the signaling server after {away}."));
                self.update_reconnecting();
            }
            RoomEvent::PeerLeft => {
                log.step("the other person left the room");
                self.peer.take();
                self.channels.take();
                self.page.remote_video.set_src_object(None);
                (self.ended)(Report::PeerLeft);
            }
            RoomEvent::IceServers(servers) => {
                log.step("the signaling server renewed this page's TURN credentials");
                self.with_peer(|peer| peer.renew_ice_servers(servers));
            }
            RoomEvent::Signal(signal) => self.received(signal),
            RoomEvent::Full => (self.ended)(Report::Failed(Error::RoomFull)),
            RoomEvent::Problem(problem) => {
                log.step(&format!("signaling: {problem}"));
            }
            RoomEvent::Lost(why) => (self.ended)(Report::Failed(Error::SignalingLost(why))),
        }
    }

    /// The other person is here: make this page's peer and send the camera.
    fn start_peer(self: &Rc<Self>, polite: bool, ice_servers: Vec<IceServer>) {
        if self.relay_only && ice_servers.is_empty() {
            return (self.ended)(Report::Failed(Error::NoRelayServer));
        }
        self.peer.take();
        self.channels.take();
        self.page.log.reset_clock();
        self.page.log.step(&format!(
            "the other person joined: this page's peer is the {} one{}",
            if polite { "polite" } else { "impolite" },
            if self.relay_only {
                ", relaying through TURN only"
            } else {
                ""
            }
        ));
        self.page
            .status("The other person is here: the peers are negotiating…");
        let screen = Screen::new(Rc::clone(&self.page), 1);
        let config = PeerConfig {
            name: "local",
            other: "remote",
            polite,
            ice_servers,
            relay_only: self.relay_only,
            sending: Rc::clone(&self.setup.sending),
        };
        self.page.tools.clear_chat();
        *self.channels.borrow_mut() = Some(Rc::new(Channels::new(
            Rc::clone(&self.page),
            false,
            Rc::clone(&self.setup.channel_changed),
        )));
        let weak = Rc::downgrade(self);
        let outbox = Box::new(move |signal: Signal| {
            if let Some(shared) = weak.upgrade() {
                shared.send(signal);
            }
        });
        match Peer::new(config, Rc::clone(&self.page), outbox, self.peer_events()) {
            Ok(peer) => {
                screen.read_stats_of(peer.connection(), peer.connection());
                // The impolite end offers; the polite one sends its camera in its answer. Either
                // may renegotiate later, and a collision then is perfect negotiation's to settle.
                if polite {
                    peer.send_in_answer(&self.setup.stream);
                } else {
                    peer.add_stream(&self.setup.stream);
                }
                *self.peer.borrow_mut() = Some((peer, screen));
            }
            Err(error) => (self.ended)(Report::Failed(error)),
        }
    }

    fn peer_events(self: &Rc<Self>) -> impl Fn(PeerEvent) {
        let weak: Weak<Shared> = Rc::downgrade(self);
        move |event| {
            let Some(shared) = weak.upgrade() else {
                return;
            };
            match event {
                PeerEvent::Failed(error) => {
                    if matches!(error, Error::NoDirectPath | Error::RelayFailed) {
                        // The other page would only hear that this one left.
                        shared.send(Signal::NoPath);
                    }
                    return (shared.ended)(Report::Failed(error));
                }
                PeerEvent::Trouble => {
                    shared.peer_trouble.set(true);
                    shared.page.status(
                        "Reconnecting: the connection to the other person was interrupted…",
                    );
                    return shared.update_reconnecting();
                }
                PeerEvent::Recovered { after_ms } => {
                    shared.peer_trouble.set(false);
                    shared.page.status(&format!(
                        "Back after {}. The call is running; press HangUp to end it.",
                        crate::call::recovery::seconds(after_ms)
                    ));
                    return shared.update_reconnecting();
                }
                PeerEvent::Channel(channel) => {
                    if let Some(channels) = shared.channels.borrow().as_ref() {
                        channels.add("local", channel, true);
                    }
                    return;
                }
                _ => {}
            }
            let peer = shared.peer.borrow();
            let Some((_, screen)) = peer.as_ref() else {
                return;
            };
            match event {
                PeerEvent::IceConnection(state) => screen.ice_state("local", &state),
                PeerEvent::Connection(state) => screen.connection_state("local", &state),
                PeerEvent::Track(track) => screen.track(&track),
                PeerEvent::Failed(_)
                | PeerEvent::Channel(_)
                | PeerEvent::Trouble
                | PeerEvent::Recovered { .. } => {}
            }
        }
    }

    fn send(&self, signal: Signal) {
        if let Signal::Description { sdp_type, .. } = &signal {
            self.page.log.step(&format!(
                "sent the {} to the other page",
                describe(*sdp_type)
            ));
        }
        if let Some(link) = self.link.borrow().as_ref() {
            link.send(signal);
        }
    }

    fn received(&self, signal: Signal) {
        let log = &self.page.log;
        match &signal {
            Signal::Description { sdp_type, .. } => {
                log.step(&format!(
                    "received the {} from the other page",
                    describe(*sdp_type)
                ));
            }
            Signal::Candidate { .. } => self.received.set(self.received.get() + 1),
            Signal::EndOfCandidates => {
                log.step(&format!(
                    "received {} ICE candidates from the other page, then end-of-candidates",
                    self.received.replace(0)
                ));
            }
            Signal::RestartIce => {
                log.step("the other page asks for an ICE restart");
            }
            Signal::NoPath => {
                log.step("the other page found no path to this one and ended the call");
                let relay = self
                    .peer
                    .borrow()
                    .as_ref()
                    .is_some_and(|(peer, _)| peer.relay_configured());
                let error = if relay {
                    Error::RelayFailed
                } else {
                    Error::NoDirectPath
                };
                return (self.ended)(Report::Failed(error));
            }
        }
        match self.peer.borrow().as_ref() {
            Some((peer, _)) => peer.handle().receive(signal),
            None => {
                log.step("a signal came while no call was up; dropped");
            }
        }
    }
}

fn describe(sdp_type: loopback_signal::SdpType) -> &'static str {
    match sdp_type {
        loopback_signal::SdpType::Offer => "offer",
        loopback_signal::SdpType::Answer => "answer",
    }
}
