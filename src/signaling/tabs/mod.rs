//! Signaling between tabs of one browser, with no server: a `BroadcastChannel` named after the
//! room, and the room rules of `loopback_signal::tabs` deciding who pairs with whom.
//!
//! A tab in a call that reloads keeps its seat: the page going away asks the other tab to keep
//! it ([`TAB_GRACE_MS`]) and leaves a ticket in the tab's `sessionStorage`, which survives the
//! reload; the new page finds it, opens the camera and calls again by itself, with the old
//! tab's id, so that the other tab takes it back with the same negotiation role.

/// Whether the other tab's page is still there.
mod presence;

use super::{deliver, Events, RoomEvent, Via};
use crate::error::Error;
use gloo_events::EventListener;
use gloo_timers::callback::Timeout;
use loopback_signal::tabs::{TabAction, TabId, TabMessage, TabRoom, TAB_GRACE_MS};
use loopback_signal::{RoomName, Signal};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{BroadcastChannel, MessageEvent};

/// The `sessionStorage` key of the ticket a page going away leaves for its reload.
const TICKET_KEY: &str = "loopback-rtc tab seat";

/// What a page in a call between tabs leaves for the page that reloads it.
#[derive(Serialize, Deserialize)]
struct Ticket {
    room: String,
    me: TabId,
    peer: TabId,
    /// `Date.now()` when the old page went: past the other tab's grace, the seat is gone.
    at: f64,
}

impl Ticket {
    fn read() -> Option<Ticket> {
        let storage = session_storage()?;
        let text = storage.get_item(TICKET_KEY).ok()??;
        super::from_json(&text)
    }

    /// The ticket this tab holds for `room`, if it is still worth asking with.
    fn for_room(room: &RoomName) -> Option<Ticket> {
        Self::read().filter(|ticket| {
            ticket.room == room.as_str()
                && js_sys::Date::now() - ticket.at < f64::from(TAB_GRACE_MS)
        })
    }

    fn write(&self) {
        if let (Some(storage), Some(text)) = (session_storage(), super::to_json(self)) {
            let _ = storage.set_item(TICKET_KEY, &text);
        }
    }

    fn forget() {
        if let Some(storage) = session_storage() {
            let _ = storage.remove_item(TICKET_KEY);
        }
    }
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// Whether this page is a reload of a tab that was in a call in `room` a moment ago, and may
/// take its seat back: then the app calls again by itself.
pub fn returning_to(room: &RoomName) -> bool {
    Ticket::for_room(room).is_some()
}

/// Drops the ticket of a reloaded tab that will not call again (its person hung up, or the
/// camera failed): a later Call is a newcomer's.
pub fn forget_return() {
    Ticket::forget();
}

/// This tab in a room; leaving (on drop, or when the page goes away) tells the other tab.
pub struct TabLink {
    shared: Rc<Shared>,
    _listeners: [EventListener; 2],
}

struct Shared {
    channel: BroadcastChannel,
    room: RefCell<TabRoom>,
    name: RoomName,
    events: Events,
    /// The room's one pending wake-up (a kept seat's grace, a return's wait).
    wake: RefCell<Option<Timeout>>,
    /// This tab's presence, for its peer to watch; `None` without Web Locks.
    presence: Option<presence::Presence>,
    /// Watches the page of the tab in a call with this one.
    watch: RefCell<Option<(TabId, presence::Watch)>>,
    this: Weak<Shared>,
}

impl TabLink {
    /// Enters `room`: says hello on the room's channel and waits for the other tab, or, on a
    /// page reloaded during a call there, asks that tab for the seat back.
    pub fn join(room: RoomName, events: Events) -> Result<Self, Error> {
        let channel = BroadcastChannel::new(&format!("loopback-rtc room {room}"))?;
        let ticket = Ticket::for_room(&room);
        Ticket::forget();
        let id = match &ticket {
            Some(ticket) => ticket.me,
            None => random_u64()?,
        };
        let shared = Rc::new_cyclic(|this: &Weak<Shared>| {
            let me = TabRoom::new(id);
            // The tab says it is in the room only once its presence is held (see `presence`).
            let weak = Weak::clone(this);
            let peer = ticket.as_ref().map(|ticket| ticket.peer);
            let enter = move || {
                if let Some(shared) = weak.upgrade() {
                    shared.enter(peer);
                }
            };
            Shared {
                channel,
                presence: presence::Presence::hold(me.me(), enter),
                room: RefCell::new(me),
                name: room,
                events,
                wake: RefCell::default(),
                watch: RefCell::default(),
                this: Weak::clone(this),
            }
        });
        let weak = Rc::downgrade(&shared);
        let on_message = EventListener::new(&shared.channel, "message", move |event| {
            let (Some(shared), Some(event)) = (weak.upgrade(), event.dyn_ref::<MessageEvent>())
            else {
                return;
            };
            // Anything another page posts on this channel that is not a room message is ignored.
            if let Ok(message) = serde_wasm_bindgen::from_value::<TabMessage>(event.data()) {
                let actions = shared.room.borrow_mut().receive(message);
                shared.carry_out(actions);
            }
        });
        // A page going away says so, so the other is not left waiting on a dead call; it may be
        // a reload (a page cannot tell), so the seat is kept for a while and a ticket left.
        let weak = Rc::downgrade(&shared);
        let window: web_sys::EventTarget = web_sys::window().ok_or(Error::NoWebRtc)?.into();
        let on_pagehide = EventListener::new(&window, "pagehide", move |_| {
            if let Some(shared) = weak.upgrade() {
                let (actions, peer) = shared.room.borrow_mut().go_away();
                if let Some(peer) = peer {
                    Ticket {
                        room: shared.name.as_str().to_owned(),
                        me: shared.room.borrow().me(),
                        peer,
                        at: js_sys::Date::now(),
                    }
                    .write();
                }
                shared.carry_out(actions);
            }
        });
        deliver(&shared.events, RoomEvent::Joined { via: Via::Tabs });
        if shared.presence.is_none() {
            // No Web Locks here: the room goes on without them.
            shared.enter(ticket.map(|ticket| ticket.peer));
        }
        Ok(Self {
            shared,
            _listeners: [on_message, on_pagehide],
        })
    }

    /// To the other tab; dropped while there is none (nobody to call yet).
    pub fn send(&self, signal: Signal) {
        let message = self.shared.room.borrow().send(signal);
        if let Ok(message) = message {
            self.shared.post(&message);
        }
    }
}

impl Drop for TabLink {
    fn drop(&mut self) {
        let actions = self.shared.room.borrow_mut().leave();
        self.shared.carry_out(actions);
        self.shared.channel.close();
    }
}

impl Shared {
    /// Says hello in the room, or, on a page reloaded during a call with `back_to`, asks that
    /// tab for the seat back.
    fn enter(&self, back_to: Option<TabId>) {
        let actions = match back_to {
            Some(peer) => {
                deliver(
                    &self.events,
                    RoomEvent::Problem(
                        "this tab was reloaded during a call: asking the other tab for its seat back"
                            .to_owned(),
                    ),
                );
                self.room.borrow_mut().rejoin(peer)
            }
            None => self.room.borrow_mut().join(),
        };
        self.carry_out(actions);
    }

    fn post(&self, message: &TabMessage) {
        let value = message.serialize(&serde_wasm_bindgen::Serializer::json_compatible());
        if let Ok(value) = value {
            let _ = self.channel.post_message(&value);
        }
    }

    fn carry_out(&self, actions: Vec<TabAction>) {
        for action in actions {
            let event = match action {
                TabAction::Post(message) => {
                    self.post(&message);
                    continue;
                }
                TabAction::PeerJoined { polite } => RoomEvent::PeerJoined {
                    polite,
                    ice_servers: Vec::new(),
                },
                TabAction::PeerLeft => RoomEvent::PeerLeft,
                TabAction::Signal(signal) => RoomEvent::Signal(signal),
                TabAction::RoomFull => RoomEvent::Full,
                TabAction::PeerAway => RoomEvent::PeerPageAway {
                    grace_ms: TAB_GRACE_MS,
                },
                TabAction::PeerReturned { polite } => RoomEvent::PeerReturned { polite },
                TabAction::WakeUp { after_ms, wait } => {
                    let this = Weak::clone(&self.this);
                    let timeout = Timeout::new(after_ms, move || {
                        if let Some(shared) = this.upgrade() {
                            let actions = shared.room.borrow_mut().wake(wait);
                            shared.carry_out(actions);
                        }
                    });
                    // One wait at a time: a new one makes the last one stale anyway.
                    *self.wake.borrow_mut() = Some(timeout);
                    continue;
                }
            };
            deliver(&self.events, event);
        }
        self.watch_peer();
    }

    /// Watches the page of the tab in a call with this one, and only that one.
    fn watch_peer(&self) {
        let peer = self.room.borrow().in_call_with();
        let mut watch = self.watch.borrow_mut();
        if watch.as_ref().map(|(tab, _)| *tab) == peer {
            return;
        }
        *watch = peer.and_then(|peer| {
            let this = Weak::clone(&self.this);
            let gone = move || {
                // One task later: the callback's own closure goes with the watch.
                spawn_local(async move {
                    if let Some(shared) = this.upgrade() {
                        let actions = shared.room.borrow_mut().gone(peer);
                        shared.carry_out(actions);
                    }
                });
            };
            presence::Watch::new(peer, gone).map(|watch| (peer, watch))
        });
    }
}

/// Random bits for this tab's id.
fn random_u64() -> Result<u64, Error> {
    let mut random = [0u8; 8];
    web_sys::window()
        .ok_or(Error::NoWebRtc)?
        .crypto()?
        .get_random_values_with_u8_array(&mut random)?;
    Ok(u64::from_le_bytes(random))
}
