//! How a page in a room reaches the others: a WebSocket to the signaling server at the page's
//! own origin, or, when no server answers, a `BroadcastChannel` between tabs of this browser.

/// A small map by peer id.
pub mod by_peer;
/// When a seated page pings the server, and when its socket counts as quiet or dead.
pub mod heartbeat;
/// When the signaling server's socket is lost mid-call: the waits before each new try.
pub mod reconnect;
/// The WebSocket to the signaling server.
pub mod server;
/// The `BroadcastChannel` between tabs.
pub mod tabs;

use loopback_signal::{IceServer, PeerId, PeerName, Signal};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;

/// What the room tells the call, whichever way it is reached. `peer` is the id the room gave
/// another person (the server's, or the other tab's id).
#[derive(Debug)]
pub enum RoomEvent {
    /// In the room, of `size` people at most; whoever is there already follows, one
    /// [`RoomEvent::PeerJoined`] each.
    Joined { via: Via, size: usize },
    /// Someone is in the room: start a call with them, with this page's role toward them and
    /// these ICE servers.
    PeerJoined {
        peer: PeerId,
        name: PeerName,
        /// What the page calls them while they have no name: "Person 3" by the server's
        /// number, "Tab 2" by the tab's seat.
        unnamed: String,
        polite: bool,
        ice_servers: Vec<IceServer>,
    },
    /// `peer` is called `name` from now on.
    PeerNamed { peer: PeerId, name: PeerName },
    /// `peer` left.
    PeerLeft { peer: PeerId },
    /// `peer`'s way to the room was lost; their seat is kept while they come back.
    PeerAway { peer: PeerId },
    /// `peer` is back after [`RoomEvent::PeerAway`].
    PeerBack { peer: PeerId },
    /// The tab `peer`'s page went away, closed or reloading: its seat is kept for `grace_ms`,
    /// after which it is [`RoomEvent::PeerLeft`].
    PeerPageAway { peer: PeerId, grace_ms: u32 },
    /// The tab `peer` is back as a new page (it reloaded): the old call went with the old page,
    /// so a new one starts, with this page's role as before.
    PeerReturned { peer: PeerId, polite: bool },
    /// This page's way to the room was lost: it is coming back by itself, and the calls go on.
    Reconnecting,
    /// This page is back in the room after `away_ms`. Every signal in flight meanwhile was
    /// delivered, unless `complete` is false: then each call resynchronizes its negotiation.
    /// `rejoined`: the server had forgotten this page, which joined anew, and what it forgot;
    /// the people there come again as [`RoomEvent::PeerJoined`].
    Reconnected {
        away_ms: f64,
        complete: bool,
        rejoined: Option<Forgotten>,
    },
    /// New TURN credentials, for the calls to use from now on.
    IceServers(Vec<IceServer>),
    /// From `from`'s peer.
    Signal { from: PeerId, signal: Signal },
    /// The room holds as many people as it may.
    Full,
    /// Something went wrong that does not end the call (the sentence to log).
    Problem(String),
    /// The way to the room is gone (the sentence to show): the call cannot go on.
    Lost(String),
}

/// What the signaling server had forgotten when this page came back to it and joined anew.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forgotten {
    /// Everything (it restarted): the people there join again with new ids, and the calls still
    /// up are theirs to take back.
    Room,
    /// This page's seat alone (away past the grace): the room was told it left, so its calls are
    /// over at the other ends, and the people there, the same ones with the same ids, get new
    /// calls.
    Seat,
}

/// Which way the room is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Server,
    Tabs,
}

impl Via {
    pub fn describe(self) -> &'static str {
        match self {
            Via::Server => "through the signaling server",
            Via::Tabs => {
                "between tabs of this browser (BroadcastChannel; no signaling server answered)"
            }
        }
    }
}

/// Hears a link's events one task later, never inside the browser callback that produced them:
/// the call may drop the link in response, and with it that callback's listener.
pub type Events = Rc<dyn Fn(RoomEvent)>;

fn deliver(events: &Events, event: RoomEvent) {
    let events = Rc::clone(events);
    spawn_local(async move { events(event) });
}

/// The way to a room: through the server, or between tabs when no server answers.
pub enum Link {
    Server(server::ServerLink),
    Tabs(tabs::TabLink),
}

impl Link {
    /// Sends `signal` to `to`'s page.
    pub fn send(&self, to: PeerId, signal: Signal) {
        match self {
            Link::Server(link) => link.send(to, signal),
            Link::Tabs(link) => link.send(to, signal),
        }
    }

    /// A call's path is in doubt: its repair will need the signaling, so find out now whether
    /// the server's socket still works (the tabs need no asking).
    pub fn watch(&self) {
        match self {
            Link::Server(link) => link.watch(),
            Link::Tabs(_) => {}
        }
    }

    /// Tells the others this person's name.
    pub fn rename(&self, name: &PeerName) {
        match self {
            Link::Server(link) => link.rename(name),
            Link::Tabs(link) => link.rename(name),
        }
    }
}

/// The signaling server's WebSocket URL: `/signal` at the page's own origin.
pub fn server_url(location: &web_sys::Location) -> Option<String> {
    let scheme = match location.protocol().ok()?.as_str() {
        "https:" => "wss",
        _ => "ws",
    };
    Some(format!("{scheme}://{}/signal", location.host().ok()?))
}

/// A value as JSON text, through the browser's `JSON`, which keeps a JSON parser out of the wasm.
pub fn to_json<T: Serialize>(value: &T) -> Option<String> {
    let value = value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .ok()?;
    js_sys::JSON::stringify(&value).ok()?.as_string()
}

/// JSON text as a value; `None` for anything that is not exactly one.
pub fn from_json<T: DeserializeOwned>(text: &str) -> Option<T> {
    serde_wasm_bindgen::from_value(js_sys::JSON::parse(text).ok()?).ok()
}
