//! Signaling between tabs of one browser, with no server: a `BroadcastChannel` named after the
//! room, and the room rules of `loopback_signal::tabs` deciding who pairs with whom.

use super::{deliver, Events, RoomEvent, Via};
use crate::error::Error;
use gloo_events::EventListener;
use loopback_signal::tabs::{TabAction, TabMessage, TabRoom};
use loopback_signal::{RoomName, Signal};
use serde::Serialize;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::{BroadcastChannel, MessageEvent};

/// This tab in a room; leaving (on drop, or when the page goes away) tells the other tab.
pub struct TabLink {
    shared: Rc<Shared>,
    _listeners: [EventListener; 2],
}

struct Shared {
    channel: BroadcastChannel,
    room: RefCell<TabRoom>,
    events: Events,
}

impl TabLink {
    /// Enters `room`: says hello on the room's channel and waits for the other tab.
    pub fn join(room: RoomName, events: Events) -> Result<Self, Error> {
        let channel = BroadcastChannel::new(&format!("loopback-rtc room {room}"))?;
        let shared = Rc::new(Shared {
            channel,
            room: RefCell::new(TabRoom::new(random_u64()?)),
            events,
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
        // A closing tab says goodbye, so the other is not left waiting on a dead call.
        let weak = Rc::downgrade(&shared);
        let window: web_sys::EventTarget = web_sys::window().ok_or(Error::NoWebRtc)?.into();
        let on_pagehide = EventListener::new(&window, "pagehide", move |_| {
            if let Some(shared) = weak.upgrade() {
                let actions = shared.room.borrow_mut().leave();
                shared.carry_out(actions);
            }
        });
        let actions = shared.room.borrow_mut().join();
        shared.carry_out(actions);
        deliver(&shared.events, RoomEvent::Joined { via: Via::Tabs });
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
            };
            deliver(&self.events, event);
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
