//! A seat in a room between tabs: one Web Lock per seat, taken only if free, so that a room never
//! holds more tabs than seats however many enter at once (the browser grants each lock to one
//! page of the origin at a time, and lets it go when that page does).

use super::presence::Request;
use js_sys::{Function, Promise};
use loopback_signal::RoomName;
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;

/// Who hears which seat was taken, or `None`: none was free.
type Done = Box<dyn FnOnce(Option<u8>)>;

/// A seat taken or being taken; dropping it gives it back.
pub struct Seat {
    state: Rc<State>,
}

struct State {
    room: RoomName,
    /// The seats still to try, in order.
    to_try: RefCell<Vec<u8>>,
    /// The request in flight, or the one whose lock is held.
    request: RefCell<Option<Request>>,
    /// Settles the promise that holds the lock, once it is granted.
    release: RefCell<Option<Function>>,
    done: RefCell<Option<Done>>,
}

impl Seat {
    /// Takes the first free seat of `room`'s `capacity`, trying `first` before the others (the
    /// seat a reloaded tab had); `done` hears which (one task later), or `None`: the room is full.
    /// `None` at once where the browser has no Web Locks.
    pub fn take(
        room: &RoomName,
        capacity: u8,
        first: u8,
        done: impl FnOnce(Option<u8>) + 'static,
    ) -> Option<Self> {
        let mut order: Vec<u8> = (0..capacity).filter(|&k| k != first).collect();
        if first < capacity {
            order.insert(0, first);
        }
        order.reverse();
        let state = Rc::new(State {
            room: room.clone(),
            to_try: RefCell::new(order),
            request: RefCell::default(),
            release: RefCell::default(),
            done: RefCell::new(Some(Box::new(done))),
        });
        State::try_next(&state)?;
        Some(Self { state })
    }
}

impl State {
    /// Asks for the next seat's lock if it is free; `None` without Web Locks.
    fn try_next(state: &Rc<State>) -> Option<()> {
        let Some(seat) = state.to_try.borrow_mut().pop() else {
            state.finish(None);
            return Some(());
        };
        let weak: Weak<State> = Rc::downgrade(state);
        let granted = Closure::new(move |lock: JsValue| -> JsValue {
            let Some(state) = weak.upgrade() else {
                return JsValue::UNDEFINED;
            };
            if lock.is_null() {
                // Taken by another tab: the next one, in a task of its own (this closure
                // belongs to the request being replaced).
                let weak = Rc::downgrade(&state);
                wasm_bindgen_futures::spawn_local(async move {
                    if let Some(state) = weak.upgrade() {
                        if State::try_next(&state).is_none() {
                            state.finish(None);
                        }
                    }
                });
                return JsValue::UNDEFINED;
            }
            let held = Promise::new(&mut |resolve, _| {
                *state.release.borrow_mut() = Some(resolve);
            });
            let weak = Rc::downgrade(&state);
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(state) = weak.upgrade() {
                    state.finish(Some(seat));
                }
            });
            held.into()
        });
        let name = format!("loopback-rtc room {} seat {seat}", state.room);
        let request = Request::named(&name, true, granted)?;
        *state.request.borrow_mut() = Some(request);
        Some(())
    }

    fn finish(&self, seat: Option<u8>) {
        let done = self.done.borrow_mut().take();
        if let Some(done) = done {
            done(seat);
        }
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.state.done.take();
        if let Some(release) = self.state.release.borrow_mut().take() {
            let _ = release.call0(&JsValue::UNDEFINED);
        }
        self.state.request.take();
    }
}
