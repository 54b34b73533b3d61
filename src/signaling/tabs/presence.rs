//! Whether another tab's page is still there, from the browser's Web Locks: each tab holds a lock
//! named after its id for its page's lifetime, and its peer asks for that lock, which the browser
//! grants only once that page is gone, closed or crashed, whatever it managed to say first.
//!
//! A page going away posts its goodbye on the room's channel, but a closing Firefox tab's last
//! message may never be delivered; its lock is released all the same.

use crate::js::present;
use js_sys::{Function, Object, Promise, Reflect};
use loopback_signal::TabId;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::AbortController;

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks`, in secure contexts.
    type LockManager;

    #[wasm_bindgen(method, catch)]
    fn request(
        this: &LockManager,
        name: &str,
        options: &Object,
        callback: &Function,
    ) -> Result<Promise, JsValue>;
}

/// What runs when a lock is granted (or, asked for only if available, is not: then with `null`).
pub(super) type Granted = Closure<dyn FnMut(JsValue) -> JsValue>;

/// A request for one lock, withdrawn (or the lock let go) when dropped.
pub(super) struct Request {
    abort: AbortController,
    _granted: Granted,
}

impl Request {
    /// Asks for the lock of `tab`; `granted` runs once the browser grants it, and the lock is
    /// held until what it returns settles. `None` where the browser has no Web Locks.
    fn new(tab: TabId, granted: Granted) -> Option<Self> {
        Self::named(&format!("loopback-rtc tab {tab}"), false, granted)
    }

    /// Asks for the lock `name`; with `if_available`, `granted` runs at once, with `null` if
    /// another page holds it.
    pub(super) fn named(name: &str, if_available: bool, granted: Granted) -> Option<Self> {
        let navigator = web_sys::window()?.navigator();
        let locks: LockManager = present(&navigator, "locks")?.unchecked_into();
        let abort = AbortController::new().ok()?;
        let options = Object::new();
        if if_available {
            // `ifAvailable` and `signal` may not go together: such a request settles at once.
            Reflect::set(&options, &"ifAvailable".into(), &JsValue::TRUE).ok()?;
        } else {
            Reflect::set(&options, &"signal".into(), &abort.signal()).ok()?;
        }
        let promise = locks
            .request(name, &options, granted.as_ref().unchecked_ref())
            .ok()?;
        // A withdrawn request rejects, which nobody needs to hear. `Function.prototype` is a
        // function that does nothing, and unlike a closure it outlives this value.
        let nothing = Reflect::get(&js_sys::global(), &"Function".into())
            .and_then(|f| Reflect::get(&f, &"prototype".into()))
            .ok()?;
        let catch: Function = Reflect::get(&promise, &"catch".into())
            .ok()?
            .dyn_into()
            .ok()?;
        let _ = catch.call1(&promise, &nothing);
        Some(Self {
            abort,
            _granted: granted,
        })
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        self.abort.abort();
    }
}

/// This tab's own lock, held while it lives: the page's presence for its peer to watch.
pub struct Presence {
    _request: Request,
    /// Settles the promise that holds the lock, once it is granted.
    release: Rc<RefCell<Option<Function>>>,
}

impl Presence {
    /// Asks for this tab's lock; `held` runs (one task later) once the browser has granted it.
    /// Only from then on may another tab watch it: asked for earlier, its watch could be granted
    /// first and take this tab for gone (Chromium's locks and channels are separate pipes, so a
    /// message posted after asking can arrive before the asking).
    pub fn hold(me: TabId, held: impl FnOnce() + 'static) -> Option<Self> {
        let release: Rc<RefCell<Option<Function>>> = Rc::default();
        let slot = Rc::clone(&release);
        let mut held = Some(held);
        let granted = Closure::new(move |_lock: JsValue| -> JsValue {
            if let Some(held) = held.take() {
                wasm_bindgen_futures::spawn_local(async move { held() });
            }
            let slot = Rc::clone(&slot);
            Promise::new(&mut |resolve, _| *slot.borrow_mut() = Some(resolve)).into()
        });
        Some(Self {
            _request: Request::new(me, granted)?,
            release,
        })
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        if let Some(resolve) = self.release.borrow_mut().take() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    }
}

/// Watches the page of `peer`: `gone` runs once it is gone. Dropping the watch stops it.
pub struct Watch {
    _request: Request,
}

impl Watch {
    pub fn new(peer: TabId, gone: impl FnOnce() + 'static) -> Option<Self> {
        let mut gone = Some(gone);
        // Granted means the page let go of it: let go at once too, for the page that may come
        // back with the same id (a reload) to take it.
        let granted = Closure::new(move |_lock: JsValue| -> JsValue {
            if let Some(gone) = gone.take() {
                gone();
            }
            JsValue::UNDEFINED
        });
        Some(Self {
            _request: Request::new(peer, granted)?,
        })
    }
}
