//! One end of a call: an `RTCPeerConnection` that negotiates by itself with perfect negotiation,
//! over whatever carries its signals (another peer in the page, another tab, a server).
//!
//! A [`Peer`] owns its connection and every listener on it; dropping it closes the connection.
//! Pending work holds the peer weakly and races every browser promise against the peer's
//! closing: Chromium never settles the promises of a closed `RTCPeerConnection`, and a step that
//! awaited one alone would wait, and leak, forever.

use crate::call::negotiation::{Incoming, Negotiation};
use crate::call::recovery::{self, Action, Connection, Recovery};
use crate::call::sending::{self, Sending};
use crate::error::{Error, JsResultExt};
use crate::js;
use crate::page::Page;
use gloo_events::EventListener;
use gloo_timers::callback::Interval;
use js_sys::{Array, Function, Promise, Reflect};
use loopback_signal::{IceServer, SdpType, Signal};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{
    MediaStream, MediaStreamTrack, RtcConfiguration, RtcDataChannel, RtcDataChannelEvent,
    RtcIceCandidateInit, RtcIceTransportPolicy, RtcPeerConnection, RtcPeerConnectionIceEvent,
    RtcSdpType, RtcSessionDescriptionInit, RtcSignalingState, RtcTrackEvent,
};

#[wasm_bindgen]
extern "C" {
    /// The `RTCPeerConnection` methods perfect negotiation uses and web-sys lacks.
    #[wasm_bindgen(extends = RtcPeerConnection)]
    type Negotiating;
    /// `setLocalDescription()` without arguments: the browser makes the offer or the answer that
    /// fits the state it is in when the call runs, so it is never stale.
    #[wasm_bindgen(method, js_name = setLocalDescription)]
    fn set_local_description_implicit(this: &Negotiating) -> Promise;
    #[wasm_bindgen(method, catch, js_name = restartIce)]
    fn restart_ice(this: &Negotiating) -> Result<(), JsValue>;
}

/// How often the recovery policy is asked what to do; the received bytes are read every other
/// time, once a second.
const TICK_MS: u32 = 500;

/// Who a peer is and how it connects.
#[derive(Clone, Debug)]
pub struct PeerConfig {
    /// This peer in the step log ("local" → "local peer set …").
    pub name: &'static str,
    /// The peer at the other end, in the step log.
    pub other: &'static str,
    /// Its role in perfect negotiation.
    pub polite: bool,
    /// STUN and TURN servers.
    pub ice_servers: Vec<IceServer>,
    /// Relay through TURN only (`iceTransportPolicy: "relay"`), to check a TURN setup.
    pub relay_only: bool,
    /// The codec and bitrate cap the page chose.
    pub sending: Rc<Sending>,
}

impl PeerConfig {
    /// A peer with no STUN or TURN server: enough on one machine, as in the page's own call.
    pub fn local(
        name: &'static str,
        other: &'static str,
        polite: bool,
        sending: Rc<Sending>,
    ) -> Self {
        Self {
            name,
            other,
            polite,
            ice_servers: Vec::new(),
            relay_only: false,
            sending,
        }
    }
}

/// What a peer tells the call it belongs to.
pub enum PeerEvent {
    /// `iceConnectionState` changed to this.
    IceConnection(String),
    /// `connectionState` changed to this.
    Connection(String),
    /// A remote track arrived.
    Track(RtcTrackEvent),
    /// One of the call's data channels (chat, file) and its connection: made by the peer that
    /// sends first, announced by the other.
    Channel(RtcDataChannel, RtcPeerConnection),
    /// A negotiation step failed, or no path could be found or restored: the call cannot go on.
    Failed(Error),
    /// The path to the other end is lost; the peer is restoring it (ICE restarts).
    Trouble,
    /// The path is back after `after_ms`.
    Recovered { after_ms: f64 },
    /// The path may be going (see [`Recovery::in_doubt`]), said at every reading while it may:
    /// whoever holds the signaling makes sure it still works before a repair needs it.
    Doubt,
    /// A `getStats()` report, read once a second for the recovery: whoever shows figures of
    /// every call (a group call's table of people) takes them from here instead of reading again.
    Stats(JsValue),
}

/// Where a peer's outgoing signals go.
pub type Outbox = Box<dyn Fn(Signal)>;

/// A live peer; see the module docs.
pub struct Peer {
    shared: Rc<Shared>,
    _listeners: Vec<EventListener>,
    /// Drives the recovery policy: its clock, and the bytes received.
    _ticker: Interval,
    /// Resolves `closed` on drop, which every pending step races against.
    close: Option<Function>,
}

/// A weak handle that delivers incoming signals to a peer, for as long as it lives.
#[derive(Clone)]
pub struct PeerHandle(Weak<Shared>);

struct Shared {
    pc: RtcPeerConnection,
    config: PeerConfig,
    page: Rc<Page>,
    outbox: Outbox,
    events: Box<dyn Fn(PeerEvent)>,
    negotiation: Cell<Negotiation>,
    /// Incoming signals, handled one at a time in the order they came.
    inbox: RefCell<VecDeque<Signal>>,
    draining: Cell<bool>,
    /// Candidates that came before the description they belong to.
    early: RefCell<Vec<Signal>>,
    /// Candidates sent in the current gathering.
    sent: Cell<u32>,
    closed: Promise,
    /// When to restart ICE and when to give up (see [`recovery`]).
    recovery: RefCell<Recovery>,
    /// A stats reading for the recovery is in flight.
    reading: Cell<bool>,
    ticks: Cell<u32>,
    /// The call was told of the trouble under way.
    trouble_told: Cell<bool>,
    /// A stream to send in the answer to the first offer (see [`Peer::send_in_answer`]).
    in_answer: RefCell<Option<MediaStream>>,
    /// Whether the page's codec choice has been applied to the transceivers.
    preferring: Cell<bool>,
    /// An offer of its own waits for the exchange under way to end (see `renegotiate_codec`).
    offer_when_stable: Cell<bool>,
    /// Whether this peer made the call's first offer (`None` until the first answer).
    offered_first: Cell<Option<bool>>,
}

/// Why handling a signal stopped early.
enum Stop {
    /// The peer was dropped: nobody wants the result.
    Gone,
    Failed(Error),
}

/// Whether this browser has `RTCPeerConnection` at all.
pub fn webrtc_supported() -> bool {
    js::get(&js_sys::global(), "RTCPeerConnection").is_function()
}

impl Peer {
    /// Makes the connection and listens to it. Nothing is negotiated until a track is added
    /// (`negotiationneeded`) or a description arrives.
    pub fn new(
        config: PeerConfig,
        page: Rc<Page>,
        outbox: Outbox,
        events: impl Fn(PeerEvent) + 'static,
    ) -> Result<Self, Error> {
        if !webrtc_supported() {
            return Err(Error::NoWebRtc);
        }
        let pc = RtcPeerConnection::new_with_configuration(&rtc_configuration(&config))
            .step("Create the peer connection")?;
        let mut close = None;
        let closed = Promise::new(&mut |resolve, _| close = Some(resolve));
        let recovery = Recovery::new(
            now(),
            recovery::Options {
                initiator: !config.polite,
                relay_configured: relay_configured(&config),
            },
        );
        let shared = Rc::new(Shared {
            pc,
            negotiation: Cell::new(Negotiation::new(config.polite)),
            config,
            page,
            outbox,
            events: Box::new(events),
            inbox: RefCell::default(),
            draining: Cell::new(false),
            early: RefCell::default(),
            sent: Cell::new(0),
            closed,
            recovery: RefCell::new(recovery),
            reading: Cell::new(false),
            ticks: Cell::new(0),
            trouble_told: Cell::new(false),
            in_answer: RefCell::default(),
            preferring: Cell::new(false),
            offered_first: Cell::new(None),
            offer_when_stable: Cell::new(false),
        });
        let listeners = vec![
            shared.listen("negotiationneeded", |s, _| {
                spawn_local(make_offer(Rc::downgrade(s)));
            }),
            shared.listen("icecandidate", |s, event| {
                let candidate = event
                    .dyn_ref::<RtcPeerConnectionIceEvent>()
                    .and_then(|e| e.candidate());
                s.send_candidate(candidate);
            }),
            shared.listen("iceconnectionstatechange", |s, _| {
                let state = s.state("iceConnectionState");
                s.step(&format!("{} peer ICE connection: {state}", s.config.name));
                if state == "connected" || state == "completed" {
                    s.recovery.borrow_mut().ice_connected(now());
                }
                (s.events)(PeerEvent::IceConnection(state));
            }),
            shared.listen("connectionstatechange", |s, _| s.connection_changed()),
            shared.listen("signalingstatechange", |s, _| {
                let stable = s.pc.signaling_state() == RtcSignalingState::Stable;
                // An exchange completed (not a rollback): ICE has both ends' descriptions.
                if stable && s.pc.current_remote_description().is_some() {
                    s.recovery.borrow_mut().negotiated(now());
                }
                if s.negotiation.get().may_offer(stable) && s.offer_when_stable.replace(false) {
                    s.step(&format!(
                        "{} peer renegotiates: the video codec changed",
                        s.config.name
                    ));
                    spawn_local(make_offer(Rc::downgrade(s)));
                }
            }),
            shared.listen("track", |s, event| {
                if let Ok(event) = event.clone().dyn_into::<RtcTrackEvent>() {
                    (s.events)(PeerEvent::Track(event));
                }
            }),
            shared.listen("datachannel", |s, event| {
                if let Some(event) = event.dyn_ref::<RtcDataChannelEvent>() {
                    s.step(&format!(
                        "{} peer: the {} peer's data channel “{}” arrived",
                        s.config.name,
                        s.config.other,
                        event.channel().label()
                    ));
                    (s.events)(PeerEvent::Channel(event.channel(), s.pc.clone()));
                }
            }),
        ];
        let weak = Rc::downgrade(&shared);
        let ticker = Interval::new(TICK_MS, move || {
            if let Some(shared) = weak.upgrade() {
                shared.tick();
            }
        });
        Ok(Self {
            shared,
            _listeners: listeners,
            _ticker: ticker,
            close,
        })
    }

    pub fn connection(&self) -> &RtcPeerConnection {
        &self.shared.pc
    }

    /// Where the other end's signals for this peer go.
    pub fn handle(&self) -> PeerHandle {
        PeerHandle(Rc::downgrade(&self.shared))
    }

    /// Sends every track of `stream` and opens the call's data channels, one for chat and one
    /// for files (so that a file's chunks never hold a chat line back); negotiation follows by
    /// itself.
    pub fn add_stream(&self, stream: &MediaStream) {
        let shared = &self.shared;
        for label in ["chat", crate::call::files::LABEL] {
            let channel = shared.pc.create_data_channel(label);
            shared.step(&format!(
                "{} peer created the data channel “{label}”",
                shared.config.name
            ));
            (shared.events)(PeerEvent::Channel(channel, shared.pc.clone()));
        }
        add_tracks(&shared.pc, stream);
    }

    /// Sends `track` in place of the track of its kind, with `replaceTrack`: the call goes on with
    /// no renegotiation.
    pub fn replace_track(&self, track: &MediaStreamTrack) {
        let shared = &self.shared;
        for sender in shared.pc.get_senders() {
            let sender: web_sys::RtcRtpSender = sender.unchecked_into();
            if sender.track().is_some_and(|t| t.kind() == track.kind()) {
                let replacing = sender.replace_track(Some(track));
                let peer = Rc::downgrade(shared);
                let kind = track.kind();
                spawn_local(async move {
                    let Ok((shared, result)) = settle(&peer, replacing).await else {
                        return;
                    };
                    let name = shared.config.name;
                    match result.step("Replace the track") {
                        Ok(_) => shared.step(&format!(
                            "{name} peer now sends the new {kind} track (replaceTrack: no renegotiation)"
                        )),
                        Err(e) => shared.step(&format!("{name} peer: {e}")),
                    };
                });
            }
        }
    }

    /// Applies the page's codec choice with a new offer; `false` if this peer leaves the codecs
    /// to the other end (see [`Shared::prefer_codec`]).
    pub fn renegotiate_codec(&self) -> bool {
        let shared = &self.shared;
        let name = shared.config.name;
        if shared.offered_first.get() == Some(false) {
            shared.step(&format!(
                "{name} peer answered the call's first offer: the codec order is the {} peer's",
                shared.config.other
            ));
            return false;
        }
        let stable = shared.pc.signaling_state() == RtcSignalingState::Stable;
        if shared.negotiation.get().may_offer(stable) {
            shared.step(&format!(
                "{name} peer renegotiates: the video codec changed"
            ));
            spawn_local(make_offer(Rc::downgrade(shared)));
        } else {
            shared.step(&format!(
                "{name} peer renegotiates for the video codec once the exchange under way is done"
            ));
            shared.offer_when_stable.set(true);
        }
        true
    }

    /// Applies the page's bitrate cap to the senders now.
    pub fn cap_bitrate(&self) {
        self.shared.cap_bitrate();
    }

    /// Sends every track of `stream` in the answer to the first offer that comes, instead of
    /// offering it now. When both ends of a new call offer at once, perfect negotiation sorts it
    /// out, but the polite end's rollback costs a round trip, and in Chromium 156 it sometimes
    /// leaves the answer gathering no candidates at all; a call starts cleaner with one offer.
    pub fn send_in_answer(&self, stream: &MediaStream) {
        // Not `stream.clone()`: that is JavaScript's, and would send copies of the tracks.
        *self.shared.in_answer.borrow_mut() = Some(Clone::clone(stream));
    }

    /// Gathers new candidates and renegotiates, keeping the media flowing meanwhile.
    pub fn restart_ice(&self, why: &str) {
        self.shared.restart_ice(why);
    }

    /// Uses `servers` from now on (TURN credentials renewed before the old ones run out), and
    /// restarts ICE onto them: a relay allocated with the old ones could not be refreshed past
    /// their expiry.
    pub fn renew_ice_servers(&self, servers: Vec<IceServer>) {
        let shared = &self.shared;
        let config = PeerConfig {
            ice_servers: servers,
            ..shared.config.clone()
        };
        let configuration = rtc_configuration(&config);
        if let Err(e) = shared
            .pc
            .set_configuration_with_configuration(&configuration)
        {
            let e = Error::in_step("Use the renewed TURN credentials", e.into());
            shared.step(&format!("{} peer: {e}", shared.config.name));
            return;
        }
        shared.step(&format!(
            "{} peer uses the renewed TURN credentials",
            shared.config.name
        ));
        shared.restart_ice("the TURN credentials were renewed");
    }

    /// Whether a TURN server is among the peer's ICE servers.
    pub fn relay_configured(&self) -> bool {
        relay_configured(&self.shared.config)
    }

    /// Whether the way to the other end (signaling) is up: ICE restarts wait for it.
    pub fn signaling(&self, up: bool) {
        self.shared.recovery.borrow_mut().signaling(up, now());
        // Acted on in a task of its own: the call may end in response, and the caller is in
        // the middle of using it.
        let peer = Rc::downgrade(&self.shared);
        spawn_local(async move {
            if let Some(shared) = peer.upgrade() {
                shared.tick();
            }
        });
    }

    /// Takes the role the room now gives this peer.
    pub fn set_polite(&self, polite: bool) {
        let shared = &self.shared;
        shared.negotiate(|n| n.set_polite(polite));
        shared.recovery.borrow_mut().set_initiator(!polite);
    }

    /// Whether the call got as far as a remote description and is not closed or failed: a call
    /// worth keeping when the other page comes back.
    pub fn is_alive(&self) -> bool {
        let state = self.shared.state("connectionState");
        self.shared.pc.remote_description().is_some() && state != "closed" && state != "failed"
    }

    /// Signals may have been lost on the way (the signaling server forgot them): the end that
    /// made the first offer starts the negotiation over, sending its offer again if one is
    /// waiting for its answer (an answer that comes twice is ignored), else with an ICE restart.
    pub fn resync(&self, why: &str) {
        let shared = &self.shared;
        if shared.offered_first.get() == Some(false) {
            return;
        }
        if shared.pc.signaling_state() == RtcSignalingState::HaveLocalOffer {
            shared.step(&format!(
                "{} peer sends its offer again: {why}",
                shared.config.name
            ));
            return shared.send_description();
        }
        shared.restart_ice(why);
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // close() fires no state-change events, and the listeners go right after this.
        self.shared.pc.close();
        if let Some(close) = &self.close {
            let _ = close.call0(&JsValue::NULL);
        }
    }
}

impl PeerHandle {
    /// Hands the peer a signal from the other end; signals are handled one at a time, in order.
    pub fn receive(&self, signal: Signal) {
        let Some(shared) = self.0.upgrade() else {
            return;
        };
        shared.inbox.borrow_mut().push_back(signal);
        if !shared.draining.replace(true) {
            spawn_local(drain(self.0.clone()));
        }
    }
}

fn add_tracks(pc: &RtcPeerConnection, stream: &MediaStream) {
    for track in stream.get_tracks() {
        if let Ok(track) = track.dyn_into::<MediaStreamTrack>() {
            pc.add_track_0(&track, stream);
        }
    }
}

fn rtc_configuration(config: &PeerConfig) -> RtcConfiguration {
    let rtc = RtcConfiguration::new();
    if !config.ice_servers.is_empty() {
        let servers = Array::new();
        for server in &config.ice_servers {
            let entry = web_sys::RtcIceServer::new();
            let urls: Array = server.urls.iter().map(|u| JsValue::from_str(u)).collect();
            entry.set_urls(&urls);
            if let Some(username) = &server.username {
                entry.set_username(username);
            }
            if let Some(credential) = &server.credential {
                entry.set_credential(credential);
            }
            servers.push(&entry);
        }
        rtc.set_ice_servers(&servers);
    }
    if config.relay_only {
        rtc.set_ice_transport_policy(RtcIceTransportPolicy::Relay);
    }
    rtc
}

/// Awaits `promise` or the peer's closing, whichever comes first; `Gone` if the peer is.
async fn settle(
    peer: &Weak<Shared>,
    promise: Promise,
) -> Result<(Rc<Shared>, Result<JsValue, JsValue>), Stop> {
    let closed = peer.upgrade().ok_or(Stop::Gone)?.closed.clone();
    let result = JsFuture::from(Promise::race(&Array::of2(&promise, &closed))).await;
    let shared = peer.upgrade().ok_or(Stop::Gone)?;
    Ok((shared, result))
}

/// `negotiationneeded`: make an offer and send it.
async fn make_offer(peer: Weak<Shared>) {
    let Some(shared) = peer.upgrade() else {
        return;
    };
    shared.negotiate(Negotiation::offer_started);
    if let Err(e) = shared.prefer_codec(true) {
        shared.step(&format!("{} peer: {e}", shared.config.name));
    }
    let offering = shared.negotiating().set_local_description_implicit();
    drop(shared);
    let Ok((shared, result)) = settle(&peer, offering).await else {
        return;
    };
    shared.negotiate(Negotiation::offer_finished);
    match result.step("Create and set the offer") {
        Ok(_) => shared.send_description(),
        Err(e) => (shared.events)(PeerEvent::Failed(e)),
    }
}

/// Handles the inbox's signals until it is empty.
async fn drain(peer: Weak<Shared>) {
    loop {
        let Some(shared) = peer.upgrade() else {
            return;
        };
        let Some(signal) = shared.inbox.borrow_mut().pop_front() else {
            shared.draining.set(false);
            return;
        };
        drop(shared);
        match handle(&peer, signal).await {
            Ok(()) => {}
            Err(Stop::Gone) => return,
            Err(Stop::Failed(e)) => {
                if let Some(shared) = peer.upgrade() {
                    shared.draining.set(false);
                    shared.inbox.borrow_mut().clear();
                    (shared.events)(PeerEvent::Failed(e));
                }
                return;
            }
        }
    }
}

async fn handle(peer: &Weak<Shared>, signal: Signal) -> Result<(), Stop> {
    let shared = peer.upgrade().ok_or(Stop::Gone)?;
    let (sdp_type, sdp) = match signal {
        Signal::Description { sdp_type, sdp } => (sdp_type, sdp),
        Signal::RestartIce => {
            shared.restart_ice(&format!("the {} peer asked for it", shared.config.other));
            return Ok(());
        }
        candidate => {
            if shared.pc.remote_description().is_none() {
                shared.step(&format!(
                    "{} peer queued an ICE candidate that came before its description",
                    shared.config.name
                ));
                shared.early.borrow_mut().push(candidate);
            } else {
                shared.add_candidate(candidate);
            }
            return Ok(());
        }
    };
    let offer = sdp_type == SdpType::Offer;
    let kind = if offer { "offer" } else { "answer" };
    if offer {
        let current = shared.pc.remote_description().map(|d| d.sdp());
        let before = current.as_deref().and_then(Negotiation::ice_ufrag);
        if before.is_some() && before != Negotiation::ice_ufrag(&sdp) {
            shared.recovery.borrow_mut().remote_restart(now());
        }
    }
    let name = shared.config.name;
    let stable = shared.pc.signaling_state() == RtcSignalingState::Stable;
    if !offer && stable {
        // The answer to an offer that was sent twice (see `Peer::resync`), or one that lost a
        // race with a rollback: nothing waits for it.
        shared.step(&format!(
            "{name} peer ignored an answer that came with no offer waiting for it"
        ));
        return Ok(());
    }
    let mut negotiation = shared.negotiation.get();
    let decision = negotiation.description(offer, stable);
    shared.negotiation.set(negotiation);
    if decision == Incoming::Ignore {
        shared.step(&format!(
            "{name} peer ignored the {} peer's colliding offer: it is the impolite peer, its own offer stands",
            shared.config.other
        ));
        return Ok(());
    }
    let init = RtcSessionDescriptionInit::new(if offer {
        RtcSdpType::Offer
    } else {
        RtcSdpType::Answer
    });
    init.set_sdp(&sdp);
    let applying = shared.pc.set_remote_description(&init);
    drop(shared);
    let (shared, result) = settle(peer, applying).await?;
    shared.negotiate(Negotiation::description_applied);
    result
        .step(if offer {
            "Set the offer as remote description"
        } else {
            "Set the answer as remote description"
        })
        .map_err(Stop::Failed)?;
    shared.step(&format!(
        "{name} peer set the {kind} as its remote description"
    ));
    let early = shared.early.take();
    for candidate in early {
        shared.add_candidate(candidate);
    }
    if !offer {
        // The first answer settles who offered first.
        if shared.offered_first.get().is_none() {
            shared.offered_first.set(Some(true));
        }
        shared.cap_bitrate();
        return Ok(());
    }
    // The tracks join the transceivers the offer made, and go out with the answer.
    if let Some(stream) = shared.in_answer.take() {
        add_tracks(&shared.pc, &stream);
    }
    if let Err(e) = shared.prefer_codec(false) {
        shared.step(&format!("{name} peer: {e}"));
    }
    let answering = shared.negotiating().set_local_description_implicit();
    drop(shared);
    let (shared, result) = settle(peer, answering).await?;
    result
        .step("Create and set the answer")
        .map_err(Stop::Failed)?;
    if shared.offered_first.get().is_none() {
        shared.offered_first.set(Some(false));
    }
    shared.send_description();
    shared.cap_bitrate();
    Ok(())
}

impl Shared {
    /// A listener whose callback sees the peer only while it is alive.
    fn listen(
        self: &Rc<Self>,
        event: &'static str,
        callback: impl Fn(&Rc<Shared>, &web_sys::Event) + 'static,
    ) -> EventListener {
        let peer = Rc::downgrade(self);
        EventListener::new(&self.pc, event, move |e| {
            if let Some(shared) = peer.upgrade() {
                callback(&shared, e);
            }
        })
    }

    fn negotiating(&self) -> &Negotiating {
        self.pc.unchecked_ref()
    }

    fn negotiate(&self, change: impl FnOnce(&mut Negotiation)) {
        let mut negotiation = self.negotiation.get();
        change(&mut negotiation);
        self.negotiation.set(negotiation);
    }

    fn step(&self, text: &str) -> f64 {
        self.page.log.step(text)
    }

    /// A string-valued state attribute, read without web-sys' enums (whose names are not public).
    fn state(&self, attribute: &str) -> String {
        js::string(&self.pc, attribute)
    }

    /// Sends the local description just set: an offer, or the answer to the other's offer.
    fn send_description(&self) {
        let Some(description) = self.pc.local_description() else {
            return;
        };
        let (sdp_type, kind) = match description.type_() {
            RtcSdpType::Offer => (SdpType::Offer, "offer"),
            RtcSdpType::Answer => (SdpType::Answer, "answer"),
            _ => return,
        };
        self.step(&format!(
            "{} peer created the {kind} and set it as its local description",
            self.config.name
        ));
        (self.outbox)(Signal::Description {
            sdp_type,
            sdp: description.sdp(),
        });
    }

    fn send_candidate(&self, candidate: Option<web_sys::RtcIceCandidate>) {
        let Some(candidate) = candidate else {
            self.step(&format!(
                "{} peer handed {} ICE candidates to the {} peer, then end-of-candidates",
                self.config.name,
                self.sent.replace(0),
                self.config.other
            ));
            (self.outbox)(Signal::EndOfCandidates);
            return;
        };
        self.sent.set(self.sent.get() + 1);
        let username_fragment = js::get(&candidate, "usernameFragment").as_string();
        (self.outbox)(Signal::Candidate {
            candidate: candidate.candidate(),
            sdp_mid: candidate.sdp_mid(),
            sdp_m_line_index: candidate.sdp_m_line_index(),
            username_fragment,
        });
    }

    /// Adds one candidate of the other end (or its end-of-candidates). A failure is logged, not
    /// fatal: one bad candidate does not stop the others, and one that belongs to an ignored
    /// offer is expected to fail.
    fn add_candidate(self: &Rc<Self>, signal: Signal) {
        let init = match signal {
            Signal::Candidate {
                candidate,
                sdp_mid,
                sdp_m_line_index,
                username_fragment,
            } => {
                let init = RtcIceCandidateInit::new(&candidate);
                init.set_sdp_mid(sdp_mid.as_deref());
                init.set_sdp_m_line_index(sdp_m_line_index);
                if let Some(fragment) = username_fragment {
                    let _ = Reflect::set(&init, &"usernameFragment".into(), &fragment.into());
                }
                Some(init)
            }
            Signal::EndOfCandidates => {
                self.recovery.borrow_mut().candidates_in(now());
                None
            }
            Signal::Description { .. } | Signal::NoPath | Signal::RestartIce => return,
        };
        let adding = self
            .pc
            .add_ice_candidate_with_opt_rtc_ice_candidate_init(init.as_ref());
        let peer = Rc::downgrade(self);
        spawn_local(async move {
            let Ok((shared, Err(e))) = settle(&peer, adding).await else {
                return;
            };
            if shared.negotiation.get().candidate_failure_matters() {
                let e = Error::in_step("Add ICE candidate", e.into());
                shared.step(&format!("{} peer: {e}", shared.config.name));
            }
        });
    }

    fn connection_changed(self: &Rc<Self>) {
        let state = self.state("connectionState");
        self.step(&format!("{} peer connection: {state}", self.config.name));
        if let Some(connection) = Connection::parse(&state) {
            self.recovery.borrow_mut().connection(connection, now());
        }
        let doubt = self.recovery.borrow().in_doubt();
        (self.events)(PeerEvent::Connection(state));
        if doubt {
            (self.events)(PeerEvent::Doubt);
        }
        self.tick();
    }

    /// Asks the recovery policy what to do now, and does it; reads the bytes received once a
    /// second for it (a connection that says `connected` but receives nothing has lost its path
    /// too, as after a change of network).
    fn tick(self: &Rc<Self>) {
        let ticks = self.ticks.get().wrapping_add(1);
        self.ticks.set(ticks);
        if ticks % 2 == 0 && !self.reading.replace(true) {
            let peer = Rc::downgrade(self);
            let reading = self.pc.get_stats();
            spawn_local(async move {
                let Ok((shared, result)) = settle(&peer, reading).await else {
                    return;
                };
                shared.reading.set(false);
                if let Ok(report) = result {
                    let mut recovery = shared.recovery.borrow_mut();
                    recovery.bytes_received(bytes_received(&report), now());
                    let doubt = recovery.in_doubt();
                    drop(recovery);
                    if doubt {
                        (shared.events)(PeerEvent::Doubt);
                    }
                    (shared.events)(PeerEvent::Stats(report));
                }
            });
        }
        let action = self.recovery.borrow_mut().tick(now());
        let name = self.config.name;
        match action {
            Action::None => {}
            Action::RestartIce { attempt } => {
                self.restart_ice(&format!(
                    "the path to the {} peer is lost (try {attempt} of {})",
                    self.config.other,
                    recovery::MAX_RESTARTS
                ));
            }
            Action::Recovered { after_ms } => {
                self.step(&format!(
                    "{name} peer: the path is back after {}",
                    recovery::seconds(after_ms)
                ));
                (self.events)(PeerEvent::Recovered { after_ms });
            }
            Action::GiveUp(give_up) => {
                let error = match give_up {
                    recovery::GiveUp::NoPath {
                        relay_configured: false,
                    } => Error::NoDirectPath,
                    recovery::GiveUp::NoPath {
                        relay_configured: true,
                    } => Error::RelayFailed,
                    recovery::GiveUp::Lost => Error::ConnectionLost,
                };
                self.step(&format!("{name} peer gives up: {error}"));
                (self.events)(PeerEvent::Failed(error));
            }
        }
        // The call shows the trouble from its start, whichever end restarts first.
        let reconnecting = self.recovery.borrow().is_reconnecting();
        if !reconnecting {
            self.trouble_told.set(false);
        } else if !self.trouble_told.replace(true) {
            (self.events)(PeerEvent::Trouble);
        }
    }

    /// Puts the page's codec first on the video transceivers, for the next description.
    ///
    /// Only the peer that made the call's first offer orders the codecs; the other end answers
    /// in that order. Firefox 153 numbers the payload types of every later offer from its own
    /// table once `setCodecPreferences` has touched a transceiver, so a peer that answered the
    /// first offer (and took the other end's numbers) would later offer numbers that mean other
    /// codecs, which Chromium rejects ("Failed to parse codecs correctly") and the call ends.
    fn prefer_codec(&self, offering: bool) -> Result<(), Error> {
        if !Negotiation::orders_codecs(self.offered_first.get(), offering) {
            return Ok(());
        }
        let codec = self.config.sending.codec();
        // Left alone until the page chooses: the browser's own defaults are what every other
        // browser has been tested against.
        if codec.is_none() && !self.preferring.get() {
            return Ok(());
        }
        self.preferring.set(true);
        sending::prefer(&self.pc, codec.as_ref())
            .map_err(|e| Error::in_step("Set the codec preferences", e.into()))
    }

    fn cap_bitrate(self: &Rc<Self>) {
        let kbps = self.config.sending.cap_kbps();
        let settings = match sending::cap_bitrate(&self.pc, kbps) {
            Ok(settings) => settings,
            Err(e) => {
                let e = Error::in_step("Set the bitrate cap", e.into());
                self.step(&format!("{} peer: {e}", self.config.name));
                return;
            }
        };
        for setting in settings {
            let peer = Rc::downgrade(self);
            spawn_local(async move {
                if let Ok((shared, Err(e))) = settle(&peer, setting).await {
                    let e = Error::in_step("Set the bitrate cap", e.into());
                    shared.step(&format!("{} peer: {e}", shared.config.name));
                }
            });
        }
    }

    fn restart_ice(&self, why: &str) {
        if self.offered_first.get() == Some(false) {
            // The end that made the first offer restarts (see `Signal::RestartIce`).
            self.step(&format!(
                "{} peer asks the {} peer to restart ICE: {why}",
                self.config.name, self.config.other
            ));
            return (self.outbox)(Signal::RestartIce);
        }
        self.step(&format!("{} peer restarts ICE: {why}", self.config.name));
        if let Err(e) = self.negotiating().restart_ice() {
            let e = Error::in_step("Restart ICE", e.into());
            self.step(&format!("{} peer: {e}", self.config.name));
        }
    }
}

fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// The bytes received on the connection: its transport's count (Chromium's), or the sum over its
/// incoming streams, whichever is larger (Firefox 153 lists a transport whose count stays 0).
fn bytes_received(report: &JsValue) -> f64 {
    let mut transport = 0.0;
    let mut streams = 0.0;
    let entries = js_sys::try_iter(report)
        .ok()
        .flatten()
        .into_iter()
        .flatten();
    for entry in entries.filter_map(Result::ok) {
        let entry = Array::from(&entry).get(1);
        let bytes = js::get(&entry, "bytesReceived").as_f64().unwrap_or(0.0);
        match js::string(&entry, "type").as_str() {
            "transport" => transport += bytes,
            "inbound-rtp" => streams += bytes,
            _ => {}
        }
    }
    f64::max(transport, streams)
}

fn relay_configured(config: &PeerConfig) -> bool {
    config.ice_servers.iter().any(|server| {
        server
            .urls
            .iter()
            .any(|url| url.starts_with("turn:") || url.starts_with("turns:"))
    })
}
