//! The WebSocket to the signaling server: join a room, pass signals, hear who comes and goes.

use super::{deliver, from_json, to_json, Events, RoomEvent, Via};
use gloo_events::EventListener;
use loopback_signal::{FromServer, IceServer, Problem, RoomName, Signal, ToServer};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, WebSocket};

thread_local! {
    /// Set once no server answered. Pages on a static host then go straight to the tabs: Firefox
    /// delays each new WebSocket to a host that refused the last ones, longer every time.
    static UNAVAILABLE: Cell<bool> = const { Cell::new(false) };
}

/// Whether an earlier try found no signaling server at this page's origin.
pub fn known_unavailable() -> bool {
    UNAVAILABLE.with(Cell::get)
}

/// A WebSocket to the server; closing it (on drop) takes this page out of its room, and the
/// server tells the other page.
pub struct ServerLink {
    socket: WebSocket,
    _listeners: [EventListener; 4],
}

struct State {
    opened: Cell<bool>,
    polite: Cell<bool>,
    ice_servers: RefCell<Vec<IceServer>>,
}

impl ServerLink {
    /// Opens the socket and joins `room` once it is open. `unavailable` hears if it never opens
    /// (nothing at `/signal`, or the server refused this page): then try another way.
    pub fn connect(
        url: &str,
        room: RoomName,
        events: Events,
        unavailable: impl Fn() + 'static,
    ) -> Result<Self, crate::Error> {
        let socket = WebSocket::new(url)?;
        let state = Rc::new(State {
            opened: Cell::new(false),
            polite: Cell::new(false),
            ice_servers: RefCell::default(),
        });
        let on_open = {
            let (socket, state) = (socket.clone(), Rc::clone(&state));
            EventListener::new(&socket.clone(), "open", move |_| {
                state.opened.set(true);
                if let Some(join) = to_json(&ToServer::Join { room: room.clone() }) {
                    let _ = socket.send_with_str(&join);
                }
            })
        };
        let on_message = {
            let (events, state) = (Rc::clone(&events), Rc::clone(&state));
            EventListener::new(&socket, "message", move |event| {
                let text = event
                    .dyn_ref::<MessageEvent>()
                    .and_then(|e| e.data().as_string());
                match text.as_deref().and_then(from_json::<FromServer>) {
                    Some(message) => heard(&state, &events, message),
                    None => deliver(
                        &events,
                        RoomEvent::Problem("the signaling server sent something unreadable".into()),
                    ),
                }
            })
        };
        let unavailable = Rc::new(unavailable);
        let ended = |name| {
            let (events, state, unavailable) = (
                Rc::clone(&events),
                Rc::clone(&state),
                Rc::clone(&unavailable),
            );
            EventListener::new(&socket, name, move |_| {
                if state.opened.replace(false) {
                    deliver(
                        &events,
                        RoomEvent::Lost("The connection to the signaling server was lost.".into()),
                    );
                } else if name == "close" {
                    // "error" comes first, then "close": fall back once.
                    UNAVAILABLE.with(|u| u.set(true));
                    unavailable();
                }
            })
        };
        let listeners = [on_open, on_message, ended("error"), ended("close")];
        Ok(Self {
            socket,
            _listeners: listeners,
        })
    }

    pub fn send(&self, signal: Signal) {
        if let Some(text) = to_json(&ToServer::Signal { signal }) {
            let _ = self.socket.send_with_str(&text);
        }
    }
}

impl Drop for ServerLink {
    fn drop(&mut self) {
        let _ = self.socket.close();
    }
}

fn heard(state: &State, events: &Events, message: FromServer) {
    let event = match message {
        FromServer::Joined {
            polite,
            ice_servers,
        } => {
            state.polite.set(polite);
            *state.ice_servers.borrow_mut() = ice_servers;
            RoomEvent::Joined { via: Via::Server }
        }
        FromServer::PeerJoined => RoomEvent::PeerJoined {
            polite: state.polite.get(),
            ice_servers: state.ice_servers.borrow().clone(),
        },
        FromServer::PeerLeft => RoomEvent::PeerLeft,
        FromServer::Signal { signal } => RoomEvent::Signal(signal),
        FromServer::Error {
            problem: Problem::RoomFull,
            ..
        } => RoomEvent::Full,
        FromServer::Error { problem, message } if problem.is_fatal() => RoomEvent::Lost(message),
        FromServer::Error { message, .. } => RoomEvent::Problem(message),
    };
    deliver(events, event);
}
