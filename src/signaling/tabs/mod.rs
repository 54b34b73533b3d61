//! Signaling between tabs of one browser, with no server: a `BroadcastChannel` named after the
//! room, a Web Lock per seat so that no more tabs come in than the room holds, and the room rules
//! of `loopback_signal::tabs` deciding the calls (one with every other tab) and their roles.
//!
//! A tab in a call that reloads keeps its place: the page going away asks the others to keep it
//! ([`TAB_GRACE_MS`]) and leaves a ticket in the tab's `sessionStorage`, which survives the
//! reload; the new page finds it, opens the camera and calls again by itself, with the old
//! tab's id, so that the others take it back with the same negotiation roles.

/// Whether another tab's page is still there.
mod presence;
/// A seat in the room, one Web Lock each.
mod seat;

use super::by_peer::ByPeer;
use super::{deliver, Events, RoomEvent, Via};
use crate::error::Error;
use gloo_events::EventListener;
use gloo_timers::callback::Timeout;
use loopback_signal::tabs::{ReturnTicket, TabAction, TabId, TabMessage, TabRoom, TAB_GRACE_MS};
use loopback_signal::{PeerId, PeerName, RoomName, Signal};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{BroadcastChannel, MessageEvent};

/// The `sessionStorage` key of the ticket a page going away leaves for its reload.
const TICKET_KEY: &str = "loopback-rtc tab seat";

/// How many tabs a room between tabs holds: as many as the server's rooms by default.
pub const TAB_ROOM_SIZE: u8 = loopback_signal::room::DEFAULT_SIZE as u8;

/// What a page in a call between tabs leaves for the page that reloads it.
#[derive(Serialize, Deserialize)]
struct Ticket {
    room: String,
    ticket: ReturnTicket,
    /// `Date.now()` when the old page went: past the others' grace, the place is gone.
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

/// This tab in a room; leaving (on drop, or when the page goes away) tells the others.
pub struct TabLink {
    shared: Rc<Shared>,
    _listeners: [EventListener; 2],
}

struct Shared {
    channel: BroadcastChannel,
    room: RefCell<TabRoom>,
    name: RoomName,
    events: Events,
    /// The pending wake-ups (a kept place's grace), by wait.
    wakes: RefCell<Vec<(u32, Timeout)>>,
    /// This tab's presence, for the others to watch; `None` without Web Locks.
    presence: Option<presence::Presence>,
    /// This tab's seat in the room, once taken (or while being taken).
    seat: RefCell<Option<seat::Seat>>,
    /// Watches the page of each tab in a call with this one.
    watches: RefCell<ByPeer<presence::Watch>>,
    this: Weak<Shared>,
}

impl TabLink {
    /// Enters `room` as `name`: takes a seat, says hello on the room's channel, and every tab
    /// there calls this one; on a page reloaded during a call there, comes back as the tab it was.
    pub fn join(room: RoomName, name: PeerName, events: Events) -> Result<Self, Error> {
        let channel = BroadcastChannel::new(&format!("loopback-rtc room {room}"))?;
        let ticket = Ticket::for_room(&room).map(|ticket| ticket.ticket);
        Ticket::forget();
        let id = match &ticket {
            Some(ticket) => ticket.me,
            None => random_u64()?,
        };
        let shared = Rc::new_cyclic(|this: &Weak<Shared>| {
            let mut me = TabRoom::new(id, usize::from(TAB_ROOM_SIZE));
            // Out of the room yet: the name waits for the hello, and nothing is posted now.
            let _ = me.rename(name);
            // The tab takes a seat and says it is in the room only once its presence is held
            // (see `presence`).
            let weak = Weak::clone(this);
            let enter = move || {
                if let Some(shared) = weak.upgrade() {
                    shared.take_seat(ticket);
                }
            };
            Shared {
                channel,
                presence: presence::Presence::hold(me.me(), enter),
                room: RefCell::new(me),
                name: room,
                events,
                wakes: RefCell::default(),
                seat: RefCell::default(),
                watches: RefCell::default(),
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
        // A page going away says so, so the others are not left waiting on dead calls; it may be
        // a reload (a page cannot tell), so its place is kept for a while and a ticket left.
        let weak = Rc::downgrade(&shared);
        let window: web_sys::EventTarget = web_sys::window().ok_or(Error::NoWebRtc)?.into();
        let on_pagehide = EventListener::new(&window, "pagehide", move |_| {
            if let Some(shared) = weak.upgrade() {
                let (actions, ticket) = shared.room.borrow_mut().go_away();
                if let Some(ticket) = ticket {
                    Ticket {
                        room: shared.name.as_str().to_owned(),
                        ticket,
                        at: js_sys::Date::now(),
                    }
                    .write();
                }
                shared.carry_out(actions);
            }
        });
        deliver(
            &shared.events,
            RoomEvent::Joined {
                via: Via::Tabs,
                size: usize::from(TAB_ROOM_SIZE),
            },
        );
        if shared.presence.is_none() {
            // No Web Locks here: the room goes on without them, with no seats to count.
            shared.enter(0, ticket);
        }
        Ok(Self {
            shared,
            _listeners: [on_message, on_pagehide],
        })
    }

    /// To the tab `to`; dropped if it is not in a call with this one.
    pub fn send(&self, to: PeerId, signal: Signal) {
        let message = self.shared.room.borrow().send(to, signal);
        if let Ok(message) = message {
            self.shared.post(&message);
        }
    }

    /// Tells the other tabs this person's name (and says it in the hello if not in yet).
    pub fn rename(&self, name: &PeerName) {
        let actions = self.shared.room.borrow_mut().rename(name.clone());
        self.shared.carry_out(actions);
    }
}

impl Drop for TabLink {
    fn drop(&mut self) {
        let actions = self.shared.room.borrow_mut().leave();
        self.shared.carry_out(actions);
        // Given back after the goodbye: whoever takes it next comes after this tab left.
        self.shared.seat.take();
        self.shared.channel.close();
    }
}

impl Shared {
    /// Takes the first free seat (the one held before a reload first), then enters; a room with
    /// no seat free is full.
    fn take_seat(&self, ticket: Option<ReturnTicket>) {
        let this = Weak::clone(&self.this);
        let first = ticket.map_or(0, |ticket| ticket.seat);
        let taken = seat::Seat::take(&self.name, TAB_ROOM_SIZE, first, move |seat| {
            let Some(shared) = this.upgrade() else {
                return;
            };
            match seat {
                Some(seat) => shared.enter(seat, ticket),
                None => deliver(&shared.events, RoomEvent::Full),
            }
        });
        match taken {
            Some(taken) => *self.seat.borrow_mut() = Some(taken),
            // Locks for presence but none for seats cannot happen; enter uncounted if it does.
            None => self.enter(first, ticket),
        }
    }

    /// Says hello in the room at `seat`, or, on a page reloaded during a call, as that tab.
    fn enter(&self, seat: u8, ticket: Option<ReturnTicket>) {
        let actions = match ticket {
            Some(ticket) => {
                deliver(
                    &self.events,
                    RoomEvent::Problem(
                        "this tab was reloaded during a call: coming back to the others as the tab it was"
                            .to_owned(),
                    ),
                );
                self.room.borrow_mut().rejoin(seat, ticket)
            }
            None => self.room.borrow_mut().join(seat),
        };
        self.carry_out(actions);
    }

    fn post(&self, message: &TabMessage) {
        let value = message.serialize(&serde_wasm_bindgen::Serializer::json_compatible());
        if let Ok(value) = value {
            let _ = self.channel.post_message(&value);
        }
    }

    /// What an unnamed tab is called on the page: by its seat, the same on every tab.
    fn unnamed(&self, tab: TabId) -> String {
        let seat = self.room.borrow().seat_of(tab);
        seat.map_or_else(String::new, |seat| format!("Tab {}", u32::from(seat) + 1))
    }

    fn carry_out(&self, actions: Vec<TabAction>) {
        for action in actions {
            let event = match action {
                TabAction::Post(message) => {
                    self.post(&message);
                    continue;
                }
                TabAction::PeerJoined { peer, polite } => RoomEvent::PeerJoined {
                    peer,
                    name: self.room.borrow().name_of(peer),
                    unnamed: self.unnamed(peer),
                    polite,
                    ice_servers: Vec::new(),
                },
                TabAction::PeerLeft { peer } => RoomEvent::PeerLeft { peer },
                TabAction::Signal { from, signal } => RoomEvent::Signal { from, signal },
                TabAction::PeerNamed { peer, name } => RoomEvent::PeerNamed { peer, name },
                TabAction::PeerAway { peer } => RoomEvent::PeerPageAway {
                    peer,
                    grace_ms: TAB_GRACE_MS,
                },
                TabAction::PeerReturned { peer, polite } => {
                    RoomEvent::PeerReturned { peer, polite }
                }
                TabAction::WakeUp { after_ms, wait } => {
                    let this = Weak::clone(&self.this);
                    let timeout = Timeout::new(after_ms, move || {
                        if let Some(shared) = this.upgrade() {
                            shared.wakes.borrow_mut().retain(|(w, _)| *w != wait);
                            let actions = shared.room.borrow_mut().wake(wait);
                            shared.carry_out(actions);
                        }
                    });
                    self.wakes.borrow_mut().push((wait, timeout));
                    continue;
                }
            };
            deliver(&self.events, event);
        }
        self.watch_peers();
    }

    /// Watches the page of each tab in a call with this one, and only those.
    fn watch_peers(&self) {
        let peers = self.room.borrow().peers();
        let mut watches = self.watches.borrow_mut();
        watches.retain(|tab, _| peers.contains(&tab));
        for peer in peers {
            if watches.contains(peer) {
                continue;
            }
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
            if let Some(watch) = presence::Watch::new(peer, gone) {
                watches.insert(peer, watch);
            }
        }
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
