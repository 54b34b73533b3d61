//! How a page in a room reaches the other page: a WebSocket to the signaling server at the page's
//! own origin, or, when no server answers, a `BroadcastChannel` between tabs of this browser.

/// When the signaling server's socket is lost mid-call: the waits before each new try.
pub mod reconnect;
/// The WebSocket to the signaling server.
pub mod server;
/// The `BroadcastChannel` between tabs.
pub mod tabs;

use loopback_signal::{IceServer, Signal};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;

/// What the room tells the call, whichever way it is reached.
#[derive(Debug)]
pub enum RoomEvent {
    /// In the room; nobody else is there yet.
    Joined { via: Via },
    /// The other person is in the room: start the call with this role and these ICE servers.
    PeerJoined {
        polite: bool,
        ice_servers: Vec<IceServer>,
    },
    /// The other person left.
    PeerLeft,
    /// The other person's way to the room was lost; their seat is kept while they come back.
    PeerAway,
    /// The other person is back after [`RoomEvent::PeerAway`].
    PeerBack,
    /// The other tab's page went away, closed or reloading: its seat is kept for `grace_ms`,
    /// after which it is [`RoomEvent::PeerLeft`].
    PeerPageAway { grace_ms: u32 },
    /// The other tab is back as a new page (it reloaded): the old call went with the old page,
    /// so a new one starts, with this page's role as before.
    PeerReturned { polite: bool },
    /// This page's way to the room was lost: it is coming back by itself, and the call goes on.
    Reconnecting,
    /// This page is back in the room after `away_ms`, as the `polite` or impolite end. Every
    /// signal in flight meanwhile was delivered, unless `complete` is false: then the call
    /// resynchronizes its negotiation, now if `peer` says the other person is in the room, else
    /// when they come.
    Reconnected {
        away_ms: f64,
        complete: bool,
        polite: bool,
        peer: bool,
    },
    /// New TURN credentials, for the call to use from now on.
    IceServers(Vec<IceServer>),
    /// From the other person's peer.
    Signal(Signal),
    /// Two people are in the room already.
    Full,
    /// Something went wrong that does not end the call (the sentence to log).
    Problem(String),
    /// The way to the room is gone (the sentence to show): the call cannot go on.
    Lost(String),
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
    pub fn send(&self, signal: Signal) {
        match self {
            Link::Server(link) => link.send(signal),
            Link::Tabs(link) => link.send(signal),
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
