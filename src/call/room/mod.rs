//! A call in a room: one peer here for each other person, its signals carried by the room's link
//! (the signaling server, or a `BroadcastChannel` between tabs). A room of two is the call it
//! always was; with more, every pair of pages runs its own peer connection (a full mesh).

/// Who else is in the call and how each call is doing, in plain Rust.
pub mod roster;
/// A person's tile in the grid of videos.
mod tile;

use crate::call::channel::Channels;
use crate::call::files::Files;
use crate::call::peer::{Peer, PeerConfig, PeerEvent};
use crate::call::screen::Screen;
use crate::call::Setup;
use crate::error::Error;
use crate::page::Page;
use crate::signaling::by_peer::ByPeer;
use crate::signaling::server::ServerLink;
use crate::signaling::tabs::TabLink;
use crate::signaling::{self, Events, Forgotten, Link, RoomEvent};
use gloo_timers::callback::Timeout;
use loopback_signal::{IceServer, PeerId, PeerName, RoomName, Signal};
use roster::Roster;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use tile::Tile;
use web_sys::{MediaStreamTrack, RtcPeerConnection};

/// How long the calls of a page the server forgot (it restarted) wait for their people to join
/// again before they go: as long as a seat's grace, since the other pages are coming back too.
const ORPHAN_WAIT_MS: u32 = 30_000;

/// What a room call tells the app: how it ends, and when it is repairing itself.
pub enum Report {
    /// Everyone else hung up or went away: the camera stays on, Call may be pressed again.
    PeerLeft,
    /// The call cannot go on.
    Failed(Error),
    /// The call lost its way to the others (signaling, or every call's path) and is finding it
    /// again (`true`), or has found it (`false`).
    Reconnecting(bool),
}

/// A live room call; dropping it hangs up: the peers close and the page leaves the room, which
/// tells the others.
pub struct RoomCall {
    shared: Rc<Shared>,
}

struct Shared {
    page: Rc<Page>,
    setup: Setup,
    room: RoomName,
    relay_only: bool,
    /// The call with each other person, by the id the room gave them. Dropped before the link.
    pairs: RefCell<ByPeer<Pair>>,
    /// Who they are and how each call is doing.
    roster: RefCell<Roster>,
    /// Calls whose people the server forgot along with this page (it restarted): each is taken
    /// back by its person joining again, or goes after [`ORPHAN_WAIT_MS`].
    orphans: RefCell<Vec<Pair>>,
    orphan_timer: RefCell<Option<Timeout>>,
    /// The person whose call the stats panel shows.
    chosen: Cell<Option<PeerId>>,
    link: RefCell<Option<Link>>,
    ended: Box<dyn Fn(Report)>,
    /// This page's way to the room is up.
    signaling_up: Cell<bool>,
    /// What the app was last told (see [`Report::Reconnecting`]).
    reconnecting: Cell<bool>,
    /// Someone was in the call once: when the last one goes, the call ends.
    had_someone: Cell<bool>,
    /// This person's name, for a link made later (between tabs, when no server answers).
    name: RefCell<PeerName>,
}

/// The call with one other person.
struct Pair {
    /// Theirs, shared with the peer's outbox and events: a person back under a new id (after a
    /// server restart) keeps their call.
    id: Rc<Cell<PeerId>>,
    peer: Peer,
    screen: Screen,
    channels: Rc<Channels>,
    files: Rc<Files>,
    tile: Tile,
    /// Candidates received in the current gathering, for the log.
    received: Cell<u32>,
}

impl RoomCall {
    /// Joins `room` as `name`, through the server at the page's origin if one answers, else
    /// between tabs. `ended` hears how the call ends, never before this returns.
    pub fn join(
        setup: &Setup,
        room: RoomName,
        relay_only: bool,
        name: PeerName,
        ended: impl Fn(Report) + 'static,
    ) -> Result<Self, Error> {
        let shared = Rc::new(Shared {
            page: Rc::clone(&setup.page),
            setup: setup.clone(),
            room,
            relay_only,
            pairs: RefCell::default(),
            roster: RefCell::default(),
            orphans: RefCell::default(),
            orphan_timer: RefCell::default(),
            chosen: Cell::new(None),
            link: RefCell::default(),
            ended: Box::new(ended),
            signaling_up: Cell::new(true),
            reconnecting: Cell::new(false),
            had_someone: Cell::new(false),
            name: RefCell::new(name.clone()),
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
            let room = shared.room.clone();
            ServerLink::connect(&url, room, name, Rc::clone(&events), fall_back).ok()
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

    /// The peer of the call shown in the stats panel, once someone is there.
    pub fn connection(&self) -> Option<RtcPeerConnection> {
        let pairs = self.shared.pairs.borrow();
        let chosen = self.shared.chosen.get();
        chosen
            .and_then(|id| pairs.get(id))
            .or_else(|| pairs.values().next())
            .map(|pair| pair.peer.connection().clone())
    }

    /// Every call's peer, by the other person's id.
    pub fn connections(&self) -> Vec<(PeerId, RtcPeerConnection)> {
        let pairs = self.shared.pairs.borrow();
        pairs
            .iter()
            .map(|(id, pair)| (id, pair.peer.connection().clone()))
            .collect()
    }

    /// Restarts ICE on every call.
    pub fn restart_ice(&self) {
        self.shared
            .each_peer(|peer| peer.restart_ice("asked for on the page"));
    }

    /// Sends `track` in place of the one of its kind, on every call.
    pub fn replace_track(&self, track: &MediaStreamTrack) {
        self.shared.each_peer(|peer| peer.replace_track(track));
    }

    /// Takes the page's codec choice with a new offer on each call this page made the first
    /// offer of; `false` if another page orders the codecs of every call.
    pub fn codec_changed(&self) -> bool {
        let pairs = self.shared.pairs.borrow();
        let mut any = pairs.is_empty();
        for pair in pairs.values() {
            any |= pair.peer.renegotiate_codec();
        }
        any
    }

    /// Applies the bitrate cap, or each call's share of the upload, to every call.
    pub fn cap_bitrate(&self) {
        self.shared.each_peer(Peer::cap_bitrate);
    }

    /// Whether a chat line or a ping can go out to someone.
    pub fn channel_open(&self) -> bool {
        let pairs = self.shared.pairs.borrow();
        let open = pairs.values().any(|pair| pair.channels.is_open());
        open
    }

    /// Sends a chat line to everyone whose data channel is open; shown once.
    pub fn send_text(&self, text: &str) -> Result<(), Error> {
        let pairs = self.shared.pairs.borrow();
        let mut open = pairs.values().filter(|pair| pair.channels.is_open());
        let first = open.next().ok_or(Error::ChatRefused(
            "The data channel is not open yet: wait until the call is connected.".to_owned(),
        ))?;
        first.channels.send_text(text)?;
        for pair in open {
            pair.channels.send_text_unshown(text);
        }
        Ok(())
    }

    /// Whether a file can go out to someone.
    pub fn files_open(&self) -> bool {
        let pairs = self.shared.pairs.borrow();
        let open = pairs.values().any(|pair| pair.files.is_open());
        open
    }

    /// Who a file can go to, as (id, name), in the order they joined.
    pub fn file_people(&self) -> Vec<(String, String)> {
        let pairs = self.shared.pairs.borrow();
        let roster = self.shared.roster.borrow();
        let mut people: Vec<_> = pairs
            .iter()
            .filter(|(_, pair)| pair.files.is_open())
            .map(|(id, _)| (id, roster.label(id)))
            .collect();
        people.sort_by_key(|&(id, _)| id);
        people
            .into_iter()
            .map(|(id, label)| (id.to_string(), label))
            .collect()
    }

    /// Offers `file` to the person chosen (`to`, by id, where the page offers a choice), or to
    /// the only person there.
    pub fn send_file(&self, file: &web_sys::File, to: Option<&str>) -> Result<(), Error> {
        let pairs = self.shared.pairs.borrow();
        let chosen = match to {
            None => None,
            Some(to) => Some(to.parse::<PeerId>().map_err(|_| {
                Error::FileRefused("Choose who the file goes to, under Files.".to_owned())
            })?),
        };
        let mut open = pairs
            .iter()
            .filter(|(id, pair)| pair.files.is_open() && chosen.is_none_or(|c| c == *id));
        let (_, pair) = open.next().ok_or(Error::FileRefused(match chosen {
            Some(_) => {
                "The person chosen is not in the call now: choose who the file goes to.".to_owned()
            }
            None => {
                "The file channel is not open yet: wait until the call is connected.".to_owned()
            }
        }))?;
        pair.files.send(file)
    }

    /// Pings everyone; each round trip shows with who it was to.
    pub fn ping(&self) {
        let pairs = self.shared.pairs.borrow();
        for pair in pairs.values() {
            pair.channels.ping();
        }
    }

    /// Tells the others this person's new name.
    pub fn rename(&self, name: &PeerName) {
        *self.shared.name.borrow_mut() = name.clone();
        if let Some(link) = self.shared.link.borrow().as_ref() {
            link.rename(name);
        }
    }
}

impl Drop for RoomCall {
    fn drop(&mut self) {
        self.shared.pairs.take();
        self.shared.orphans.take();
        self.shared.orphan_timer.take();
        self.shared.link.take();
        self.shared.lay_out();
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

    fn each_peer(&self, action: impl Fn(&Peer)) {
        for pair in self.pairs.borrow().values() {
            action(&pair.peer);
        }
    }

    fn with_pair(&self, id: PeerId, action: impl FnOnce(&Pair)) {
        if let Some(pair) = self.pairs.borrow().get(id) {
            action(pair);
        }
    }

    /// Tells the app when the call starts or stops repairing itself, and every tile how its call
    /// is doing.
    fn update(&self) {
        let now = self
            .roster
            .borrow()
            .call_reconnecting(self.signaling_up.get());
        if self.reconnecting.replace(now) != now {
            (self.ended)(Report::Reconnecting(now));
        }
        // Who a file can go to follows who is here and their names; told after this step, as
        // the app may be in the middle of one of its own (joining, say).
        let changed = Rc::clone(&self.setup.channel_changed);
        wasm_bindgen_futures::spawn_local(async move { changed() });
        let roster = self.roster.borrow();
        let chosen = self.chosen.get();
        let group = self.pairs.borrow().len() > 1;
        for (id, pair) in self.pairs.borrow().iter() {
            pair.tile.show(
                &roster.caption(id),
                roster.reconnecting(id),
                group && chosen == Some(id),
            );
            pair.screen.label(group.then(|| roster.label(id)));
            pair.screen.describe(
                &roster.label(id),
                roster.reconnecting(id),
                chosen == Some(id),
            );
            pair.channels.set_speaker(&roster.speaker(id));
            pair.files.set_other(&roster.speaker(id));
        }
    }

    /// The grid follows who is in the call, and each call gets its share of the upload.
    fn lay_out(&self) {
        let pairs = self.pairs.borrow();
        let primary_used = pairs.values().any(|pair| pair.tile.is_primary());
        tile::lay_out(&self.page, pairs.len(), primary_used);
        // A call of two keeps the panel it always had; from three people on, a row each.
        self.page.stats.show_people(pairs.len() > 1);
        let senders = pairs.len();
        drop(pairs);
        let sending = &self.setup.sending;
        if sending.senders() != senders {
            sending.set_senders(senders);
            self.each_peer(Peer::cap_bitrate);
            if senders > 1 {
                self.page.log.step(&match sending.cap_kbps() {
                    Some(kbps) => format!(
                        "{senders} calls share this page's upload of {} kbit/s: each sends at most {kbps} kbit/s",
                        sending.budget_kbps()
                    ),
                    None => format!("{senders} calls share this page's upload"),
                });
            }
        }
        if roster::budget_too_small(sending.budget_kbps(), senders) {
            self.page.status(&format!(
                "An upload of {} kbit/s is too little for {senders} calls: each gets {} kbit/s, \
                 and their pictures suffer. Raise the upload budget if this connection allows.",
                sending.budget_kbps(),
                roster::MIN_SHARE_KBPS
            ));
        }
    }

    fn join_between_tabs(self: &Rc<Self>) -> Result<(), Error> {
        self.page.log.step(
            "no signaling server answered at this page's origin: signaling between tabs of this browser",
        );
        self.join_tabs()
    }

    fn join_tabs(self: &Rc<Self>) -> Result<(), Error> {
        let name = self.name.borrow().clone();
        let link = TabLink::join(self.room.clone(), name, self.events())?;
        *self.link.borrow_mut() = Some(Link::Tabs(link));
        Ok(())
    }

    fn heard(self: &Rc<Self>, event: RoomEvent) {
        let log = &self.page.log;
        match event {
            RoomEvent::Joined { via, size } => {
                log.step(&format!(
                    "joined room {} {} (room for {size} people)",
                    self.room,
                    via.describe()
                ));
                self.page.status(&format!(
                    "In room {}: waiting for the other person to join…",
                    self.room
                ));
            }
            RoomEvent::PeerJoined {
                peer,
                name,
                unnamed,
                polite,
                ice_servers,
            } => {
                if self.adopt_orphan(peer, &name, polite) {
                    return;
                }
                self.roster.borrow_mut().add(peer, name, unnamed);
                self.start_pair(peer, polite, ice_servers);
            }
            RoomEvent::PeerNamed { peer, name } => {
                let label = self.roster.borrow().label(peer);
                if let Some(person) = self.roster.borrow_mut().get_mut(peer) {
                    person.name = name.clone();
                }
                log.step(&format!("{label} is now called {name}"));
                self.update();
            }
            RoomEvent::PeerAway { peer } => {
                let who = if self.pairs.borrow().len() <= 1 {
                    "the other person".to_owned()
                } else {
                    self.roster.borrow().label(peer)
                };
                log.step(&format!(
                    "{who}'s connection to the signaling server was lost: their seat is kept"
                ));
                if let Some(person) = self.roster.borrow_mut().get_mut(peer) {
                    person.away = true;
                }
                if self.pairs.borrow().len() <= 1 {
                    self.page
                        .status("The other person is reconnecting… the call goes on meanwhile.");
                }
                self.update();
            }
            RoomEvent::PeerPageAway { peer, grace_ms } => {
                log.step(&format!(
                    "{}'s page went away (closed, or reloading): its seat is kept for {}",
                    self.who_tab(peer),
                    crate::call::recovery::seconds(f64::from(grace_ms))
                ));
                if let Some(person) = self.roster.borrow_mut().get_mut(peer) {
                    person.away = true;
                }
                self.page.status(
                    "The other tab went away: if it is reloading, the call comes back when it does…",
                );
                self.update();
            }
            RoomEvent::PeerReturned { peer, polite } => {
                log.step(&format!(
                    "{} is back (it reloaded): a new call, each page in the role it had",
                    self.who_tab(peer)
                ));
                let (name, unnamed) = self
                    .roster
                    .borrow()
                    .get(peer)
                    .map(|p| (p.name.clone(), p.unnamed.clone()))
                    .unwrap_or_default();
                self.pairs.borrow_mut().remove(peer);
                self.roster.borrow_mut().add(peer, name, unnamed);
                self.start_pair(peer, polite, Vec::new());
            }
            RoomEvent::PeerBack { peer } => {
                let who = if self.pairs.borrow().len() <= 1 {
                    "the other person".to_owned()
                } else {
                    self.roster.borrow().label(peer)
                };
                log.step(&format!("{who} is back on the signaling server"));
                if let Some(person) = self.roster.borrow_mut().get_mut(peer) {
                    person.away = false;
                }
                if self.pairs.borrow().len() <= 1 {
                    self.page.status("The other person is back.");
                }
                self.update();
            }
            RoomEvent::Reconnecting => {
                log.step("the connection to the signaling server was lost: reconnecting, the call goes on");
                self.signaling_up.set(false);
                self.each_peer(|peer| peer.signaling(false));
                self.page
                    .status("Reconnecting to the signaling server… the call goes on meanwhile.");
                self.update();
            }
            RoomEvent::Reconnected {
                away_ms,
                complete,
                rejoined,
            } => {
                let away = crate::call::recovery::seconds(away_ms);
                log.step(&format!(
                    "back on the signaling server after {away}{}",
                    if rejoined == Some(Forgotten::Seat) {
                        ": it had let this page's seat go and told the room it left, so the calls start anew with whoever is there"
                    } else if rejoined.is_some() {
                        ": it had forgotten this page, which joined the room anew"
                    } else if complete {
                        ", no signal lost"
                    } else {
                        ": signals in flight may be lost, the negotiations start over"
                    }
                ));
                self.signaling_up.set(true);
                if rejoined == Some(Forgotten::Seat) {
                    self.end_all_pairs();
                } else if rejoined.is_some() {
                    self.orphan_all();
                } else {
                    self.each_peer(|peer| {
                        peer.signaling(true);
                        if !complete {
                            peer.resync(
                                "signals may have been lost while the signaling server was away",
                            );
                        }
                    });
                }
                self.page
                    .status(&format!("Back on the signaling server after {away}."));
                self.update();
            }
            RoomEvent::PeerLeft { peer } => {
                log.step(&format!(
                    "{} left the room",
                    if self.pairs.borrow().len() <= 1 {
                        "the other person".to_owned()
                    } else {
                        self.roster.borrow().label(peer)
                    }
                ));
                self.end_pair(peer);
            }
            RoomEvent::IceServers(servers) => {
                log.step("the signaling server renewed this page's TURN credentials");
                self.each_peer(|peer| peer.renew_ice_servers(servers.clone()));
            }
            RoomEvent::Signal { from, signal } => self.received(from, signal),
            RoomEvent::Full => (self.ended)(Report::Failed(Error::RoomFull)),
            RoomEvent::Problem(problem) => {
                log.step(&format!("signaling: {problem}"));
            }
            RoomEvent::Lost(why) => (self.ended)(Report::Failed(Error::SignalingLost(why))),
        }
    }

    /// The call with `peer` is over (they left, or no path to them was found): their tile goes;
    /// when nobody is left the call ends.
    fn end_pair(self: &Rc<Self>, peer: PeerId) {
        let pair = self.pairs.borrow_mut().remove(peer);
        self.roster.borrow_mut().remove(peer);
        drop(pair);
        if self.chosen.get() == Some(peer) {
            let next = self.pairs.borrow().ids().next();
            self.choose(next);
        }
        self.lay_out();
        self.update();
        if self.pairs.borrow().is_empty() && self.orphans.borrow().is_empty() {
            self.page.remote_video.set_src_object(None);
            (self.ended)(Report::PeerLeft);
        }
    }

    /// Shows `peer`'s call in the stats panel.
    fn choose(&self, peer: Option<PeerId>) {
        let before = self.chosen.replace(peer);
        if before == peer {
            return;
        }
        let pairs = self.pairs.borrow();
        if let Some(pair) = before.and_then(|id| pairs.get(id)) {
            pair.screen.show_in_panel(false);
        }
        if let Some(pair) = peer.and_then(|id| pairs.get(id)) {
            pair.screen.show_in_panel(true);
        }
        drop(pairs);
        self.update();
    }

    /// The room was told this page left: every call is over at its other end, so each goes here
    /// too (and any call kept from a server restart before). The people still there follow as
    /// newcomers, each with a new call, in this same call of the page's.
    fn end_all_pairs(self: &Rc<Self>) {
        let mut pairs = std::mem::take(&mut *self.pairs.borrow_mut());
        let orphans = self.orphans.take();
        self.orphan_timer.take();
        {
            let mut roster = self.roster.borrow_mut();
            for id in pairs.ids() {
                roster.remove(id);
            }
            for pair in &orphans {
                roster.remove(pair.id.get());
            }
        }
        self.chosen.set(None);
        // Dropped once the maps are let go of: a call's drop may look at the calls.
        pairs.drain().for_each(drop);
        drop(orphans);
        self.page.remote_video.set_src_object(None);
        self.lay_out();
        self.update();
        self.page.status(&format!(
            "In room {}: calling whoever is still here again…",
            self.room
        ));
    }

    /// The server forgot this page and everyone with it: the calls up go on while their people
    /// join again, each taken back by the next newcomer it fits.
    fn orphan_all(self: &Rc<Self>) {
        let mut pairs = std::mem::take(&mut *self.pairs.borrow_mut());
        let mut orphans = self.orphans.borrow_mut();
        for (_, pair) in pairs.drain() {
            if pair.peer.is_alive() {
                orphans.push(pair);
            }
        }
        drop(orphans);
        let weak = Rc::downgrade(self);
        let timer = Timeout::new(ORPHAN_WAIT_MS, move || {
            if let Some(shared) = weak.upgrade() {
                let gone = shared.orphans.take();
                if !gone.is_empty() {
                    shared.page.log.step(&format!(
                        "{} of the calls from before the server restart had nobody come back for them: ended",
                        gone.len()
                    ));
                }
                for pair in gone {
                    shared.roster.borrow_mut().remove(pair.id.get());
                }
                shared.lay_out();
                if shared.pairs.borrow().is_empty() {
                    (shared.ended)(Report::PeerLeft);
                }
            }
        });
        *self.orphan_timer.borrow_mut() = Some(timer);
    }

    /// A newcomer after a server restart takes back the call it had: the only one waiting, or
    /// the one with its name. Its negotiation starts over in the role the room gives now.
    fn adopt_orphan(self: &Rc<Self>, peer: PeerId, name: &PeerName, polite: bool) -> bool {
        let mut orphans = self.orphans.borrow_mut();
        let roster = self.roster.borrow();
        let named: Vec<usize> = orphans
            .iter()
            .enumerate()
            .filter(|(_, pair)| {
                !name.is_empty() && roster.get(pair.id.get()).is_some_and(|p| p.name == *name)
            })
            .map(|(at, _)| at)
            .collect();
        let at = match (named.as_slice(), orphans.len()) {
            ([at], _) => *at,
            (_, 1) => 0,
            _ => return false,
        };
        drop(roster);
        let pair = orphans.remove(at);
        drop(orphans);
        self.page
            .log
            .step("the other person is back in the room: the call goes on");
        self.roster.borrow_mut().rename_id(pair.id.get(), peer);
        pair.id.set(peer);
        pair.tile.set_peer(peer);
        pair.peer.set_polite(polite);
        pair.peer.signaling(true);
        pair.peer
            .resync("the signaling server forgot the call: starting its negotiation over");
        if self
            .chosen
            .get()
            .is_none_or(|c| !self.pairs.borrow().contains(c))
        {
            self.chosen.set(Some(peer));
        }
        self.pairs.borrow_mut().insert(peer, pair);
        self.update();
        true
    }

    /// Someone is here: make a peer for them and send the camera.
    fn start_pair(self: &Rc<Self>, peer: PeerId, polite: bool, ice_servers: Vec<IceServer>) {
        if self.relay_only && ice_servers.is_empty() {
            return (self.ended)(Report::Failed(Error::NoRelayServer));
        }
        let first = self.pairs.borrow().is_empty() && self.orphans.borrow().is_empty();
        // The call's log and chat start with its first person, not again when its calls start
        // anew (the server let this page's seat go).
        if first && !self.had_someone.get() {
            self.page.log.reset_clock();
            self.page.tools.clear_chat();
        }
        self.had_someone.set(true);
        let group = !first;
        self.page.log.step(&format!(
            "{} joined: this page's peer is the {} one{}",
            if group {
                self.roster.borrow().label(peer)
            } else {
                "the other person".to_owned()
            },
            if polite { "polite" } else { "impolite" },
            if self.relay_only {
                ", relaying through TURN only"
            } else {
                ""
            }
        ));
        if first {
            self.page
                .status("The other person is here: the peers are negotiating…");
        }
        let id = Rc::new(Cell::new(peer));
        let primary_free = !self.pairs.borrow().values().any(|p| p.tile.is_primary());
        let weak = Rc::downgrade(self);
        // A click on the person's tile or on their row of the table picks them for the panel.
        let choose = || {
            let (weak, id) = (weak.clone(), Rc::clone(&id));
            move || {
                if let Some(shared) = weak.upgrade() {
                    shared.choose(Some(id.get()));
                }
            }
        };
        let tile = match Tile::new(&self.page, peer, primary_free, choose()) {
            Ok(tile) => tile,
            Err(error) => return (self.ended)(Report::Failed(error)),
        };
        let row = match self.page.stats.person_row(choose()) {
            Ok(row) => row,
            Err(error) => return (self.ended)(Report::Failed(error)),
        };
        // The stats panel shows the first call, until its person picks another tile or leaves.
        let panel = self
            .chosen
            .get()
            .is_none_or(|chosen| !self.pairs.borrow().contains(chosen));
        let screen = Screen::on(
            Rc::clone(&self.page),
            1,
            tile.video().clone(),
            panel,
            Some(row),
        );
        let config = PeerConfig {
            name: "local",
            other: "remote",
            polite,
            ice_servers,
            relay_only: self.relay_only,
            sending: Rc::clone(&self.setup.sending),
        };
        let channels = Rc::new(Channels::new(
            Rc::clone(&self.page),
            false,
            Rc::clone(&self.setup.channel_changed),
        ));
        let outbox = {
            let (weak, id) = (weak.clone(), Rc::clone(&id));
            Box::new(move |signal: Signal| {
                if let Some(shared) = weak.upgrade() {
                    shared.send(id.get(), signal);
                }
            })
        };
        let files = Rc::new(Files::new(
            Rc::clone(&self.page),
            false,
            Rc::clone(&self.setup.channel_changed),
        ));
        let events = self.peer_events(
            Rc::clone(&id),
            Rc::downgrade(&channels),
            Rc::downgrade(&files),
        );
        match Peer::new(config, Rc::clone(&self.page), outbox, events) {
            Ok(new) => {
                screen.read_stats_of(new.connection(), new.connection());
                // The impolite end offers; the polite one sends its camera in its answer. Either
                // may renegotiate later, and a collision then is perfect negotiation's to settle.
                if polite {
                    new.send_in_answer(&self.setup.stream);
                } else {
                    new.add_stream(&self.setup.stream);
                }
                let pair = Pair {
                    id,
                    peer: new,
                    screen,
                    channels,
                    files,
                    tile,
                    received: Cell::new(0),
                };
                // The old call goes once the map is let go of: its drop may look at the calls.
                let old = self.pairs.borrow_mut().insert(peer, pair);
                drop(old);
                if panel {
                    self.chosen.set(Some(peer));
                }
                self.lay_out();
                self.update();
            }
            Err(error) => (self.ended)(Report::Failed(error)),
        }
    }

    /// What the peer of the call with `id` says. Its data channels go straight to `channels` and
    /// `files`: the end that offers makes them before the pair is in place.
    fn peer_events(
        self: &Rc<Self>,
        id: Rc<Cell<PeerId>>,
        channels: Weak<Channels>,
        files: Weak<Files>,
    ) -> impl Fn(PeerEvent) {
        let weak: Weak<Shared> = Rc::downgrade(self);
        move |event| match event {
            PeerEvent::Channel(channel, pc) if channel.label() == crate::call::files::LABEL => {
                if let Some(files) = files.upgrade() {
                    files.add("local", channel, &pc);
                }
            }
            PeerEvent::Channel(channel, _) => {
                if let Some(channels) = channels.upgrade() {
                    channels.add("local", channel, true);
                }
            }
            event => {
                if let Some(shared) = weak.upgrade() {
                    shared.peer_event(id.get(), event);
                }
            }
        }
    }

    fn peer_event(self: &Rc<Self>, id: PeerId, event: PeerEvent) {
        match event {
            PeerEvent::Failed(error) => {
                if matches!(error, Error::NoDirectPath | Error::RelayFailed) {
                    // The other page would only hear that this one left.
                    self.send(id, Signal::NoPath);
                }
                return self.pair_failed(id, error);
            }
            PeerEvent::Trouble => {
                if let Some(person) = self.roster.borrow_mut().get_mut(id) {
                    person.trouble = true;
                }
                if self.pairs.borrow().len() <= 1 {
                    self.page.status(
                        "Reconnecting: the connection to the other person was interrupted…",
                    );
                }
                return self.update();
            }
            PeerEvent::Doubt => {
                if let Some(link) = self.link.borrow().as_ref() {
                    link.watch();
                }
                return;
            }
            PeerEvent::Recovered { after_ms } => {
                if let Some(person) = self.roster.borrow_mut().get_mut(id) {
                    person.trouble = false;
                }
                if self.pairs.borrow().len() <= 1 {
                    self.page.status(&format!(
                        "Back after {}. The call is running; press HangUp to end it.",
                        crate::call::recovery::seconds(after_ms)
                    ));
                }
                return self.update();
            }
            _ => {}
        }
        let pairs = self.pairs.borrow();
        let Some(pair) = pairs.get(id) else {
            return;
        };
        match event {
            PeerEvent::IceConnection(state) => pair.screen.ice_state("local", &state),
            PeerEvent::Connection(state) => {
                pair.screen.connection_state("local", &state);
                drop(pairs);
                if let Some(person) = self.roster.borrow_mut().get_mut(id) {
                    person.state = state;
                }
                self.update();
            }
            PeerEvent::Track(track) => pair.screen.track(&track),
            PeerEvent::Stats(report) => pair.screen.stats_read(&report),
            PeerEvent::Failed(_)
            | PeerEvent::Channel(..)
            | PeerEvent::Trouble
            | PeerEvent::Doubt
            | PeerEvent::Recovered { .. } => {}
        }
    }

    /// The call with `id` cannot go on: alone with them, the whole call fails as it always did;
    /// in a group, only their tile goes and the others' calls go on.
    fn pair_failed(self: &Rc<Self>, id: PeerId, error: Error) {
        if self.pairs.borrow().len() <= 1 {
            return (self.ended)(Report::Failed(error));
        }
        let label = self.roster.borrow().label(id);
        self.page
            .log
            .step(&format!("the call with {label} ended: {error}"));
        self.page.status(&format!(
            "The call with {label} could not go on ({error}); the others go on."
        ));
        self.end_pair(id);
    }

    fn send(&self, to: PeerId, signal: Signal) {
        if let Signal::Description { sdp_type, .. } = &signal {
            self.page.log.step(&format!(
                "sent the {} to {}",
                describe(*sdp_type),
                self.whom(to)
            ));
        }
        if let Some(link) = self.link.borrow().as_ref() {
            link.send(to, signal);
        }
    }

    /// "the other tab", or in a group which one.
    fn who_tab(&self, peer: PeerId) -> String {
        if self.pairs.borrow().len() <= 1 {
            "the other tab".to_owned()
        } else {
            self.roster.borrow().label(peer)
        }
    }

    /// "the other page", or in a group who it is.
    fn whom(&self, peer: PeerId) -> String {
        if self.pairs.borrow().len() <= 1 {
            "the other page".to_owned()
        } else {
            self.roster.borrow().label(peer)
        }
    }

    fn received(self: &Rc<Self>, from: PeerId, signal: Signal) {
        let log = &self.page.log;
        let whom = self.whom(from);
        match &signal {
            Signal::Description { sdp_type, .. } => {
                log.step(&format!("received the {} from {whom}", describe(*sdp_type)));
            }
            Signal::Candidate { .. } => {
                self.with_pair(from, |pair| pair.received.set(pair.received.get() + 1));
            }
            Signal::EndOfCandidates => {
                let mut count = 0;
                self.with_pair(from, |pair| count = pair.received.replace(0));
                log.step(&format!(
                    "received {count} ICE candidates from {whom}, then end-of-candidates"
                ));
            }
            Signal::RestartIce => {
                log.step(&format!("{whom} asks for an ICE restart"));
            }
            Signal::NoPath => {
                log.step(&format!(
                    "{whom} found no path to this page and ended the call"
                ));
                let relay = self
                    .pairs
                    .borrow()
                    .get(from)
                    .is_some_and(|pair| pair.peer.relay_configured());
                let error = if relay {
                    Error::RelayFailed
                } else {
                    Error::NoDirectPath
                };
                return self.pair_failed(from, error);
            }
        }
        match self.pairs.borrow().get(from) {
            Some(pair) => pair.peer.handle().receive(signal),
            None => {
                log.step("a signal came from someone with no call up; dropped");
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
