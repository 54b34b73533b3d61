//! The page's first module: all a visitor downloads before Start works. It runs Start and HangUp
//! while the rest of the page (the `loopback-rtc` crate: the call, controls, stats, rooms) loads,
//! then hands the page over through [`hand_over`]. `www/boot.js`, appended to this module's glue
//! at build time, starts it and loads the rest.
//!
//! It is `no_std`, with a panic handler that only traps: std's panic machinery and the
//! formatting it pulls in were a good part of this module's bytes, and every byte here is
//! compiled before Start works (README, "Size"). It is only ever built for the browser.
#![cfg(target_arch = "wasm32")]
#![no_std]

extern crate alloc;

/// Clicks in, decisions out: Start and HangUp, and the moment to let go of the page.
mod app;

use app::First;
use core::cell::RefCell;
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

/// A panic here is a bug; the browser shows it as a trap ("unreachable") in this module.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// The same allocator as the rest of the page's (README, "Size").
#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// The module's app while it runs the page: until it hands over, or for good if the rest of the
/// page never loads. A `static` because `no_std` has no `thread_local!`.
static FIRST: Slot = Slot(RefCell::new(None));

struct Slot(RefCell<Option<First>>);

// SAFETY: without the atomics feature a wasm32 module has one thread, so nothing is shared.
#[cfg(not(target_feature = "atomics"))]
unsafe impl Sync for Slot {}

impl Slot {
    fn take(&self) -> Option<First> {
        self.0.borrow_mut().take()
    }

    fn put(&self, first: First) {
        *self.0.borrow_mut() = Some(first);
    }
}

/// Runs when the module loads: makes Start work, if the page is the tutorial's loopback. A room
/// link waits for the whole page, which alone knows rooms.
#[wasm_bindgen(start)]
pub fn begin() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let search = document.location().and_then(|l| l.search().ok());
    if !loopback_core::query::is_loopback(search.as_deref().unwrap_or_default()) {
        return;
    }
    match First::mount(document) {
        Ok(first) => FIRST.put(first),
        Err(e) => web_sys::console::error_1(&JsValue::from_str(&e.message())),
    }
}

/// Lets go of the page for the module that takes it over, as soon as Start is not waiting for the
/// camera. Resolves with the camera's stream, still live, or `null`.
#[wasm_bindgen]
pub fn hand_over() -> Promise {
    Promise::new(&mut |resolve: Function, _| {
        // Out of its slot while it decides: handing over at once, it must find the slot free.
        let Some(first) = FIRST.take() else {
            let _ = resolve.call1(&JsValue::NULL, &JsValue::NULL);
            return;
        };
        first.hand_over_when_free(alloc::boxed::Box::new(move |stream| {
            let stream = stream.map_or(JsValue::NULL, JsValue::from);
            let _ = resolve.call1(&JsValue::NULL, &stream);
            // Handed over later, from the camera's answer: the module goes now. Its handlers
            // that are running finish first (wasm-bindgen frees a closure after its call).
            drop(FIRST.take());
        }));
        // Still waiting for the camera's answer: it stays until then. Otherwise it goes here.
        if first.waiting_to_hand_over() {
            FIRST.put(first);
        }
    })
}

/// The rest of the page could not load (`reason`): this module keeps the page, and says so.
#[wasm_bindgen]
pub fn rest_failed(reason: alloc::string::String) {
    if let Some(first) = FIRST.0.borrow().as_ref() {
        first.rest_failed(&reason);
    }
}
