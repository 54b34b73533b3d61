//! The page's first module: all a visitor downloads before Start works. It runs Start and HangUp
//! while the rest of the page (the `loopback-rtc` crate: the call, controls, stats, rooms) loads,
//! then hands the page over through [`hand_over`]. `www/boot.js`, appended to this module's glue
//! at build time, starts it and loads the rest.

/// Clicks in, decisions out: Start and HangUp, and the moment to let go of the page.
mod app;

use app::First;
use js_sys::{Function, Promise};
use std::cell::RefCell;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::spawn_local;

thread_local! {
    /// The module's app while it runs the page: until it hands over, or for good if the rest of
    /// the page never loads.
    static FIRST: RefCell<Option<First>> = const { RefCell::new(None) };
}

/// Runs when the module loads: makes Start work, if the page is the tutorial's loopback. A room
/// link waits for the whole page, which alone knows rooms.
#[wasm_bindgen(start)]
pub fn begin() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let search = document.location().and_then(|l| l.search().ok());
    let loopback = matches!(
        loopback_rtc::address::mode(search.as_deref().unwrap_or_default()),
        Ok(loopback_rtc::address::Mode::Loopback)
    );
    if !loopback {
        return;
    }
    match First::mount(document) {
        Ok(first) => FIRST.with(|slot| *slot.borrow_mut() = Some(first)),
        Err(e) => web_sys::console::error_1(&e.message().as_ref().into()),
    }
}

/// Lets go of the page for the module that takes it over, as soon as no camera request is under
/// way. Resolves with the camera's stream, still live, or `null`.
#[wasm_bindgen]
pub fn hand_over() -> Promise {
    Promise::new(&mut |resolve: Function, _| {
        let waiting = FIRST.with(|slot| {
            let slot = slot.borrow();
            let first = slot.as_ref()?;
            let resolve = resolve.clone();
            first.hand_over_when_free(Box::new(move |stream| {
                let stream = stream.map_or(JsValue::NULL, JsValue::from);
                let _ = resolve.call1(&JsValue::NULL, &stream);
                // Dropped once the click or the answer being handled now has returned: its
                // listener is among those that go.
                spawn_local(async {
                    FIRST.with(|slot| slot.borrow_mut().take());
                });
            }));
            Some(())
        });
        if waiting.is_none() {
            let _ = resolve.call1(&JsValue::NULL, &JsValue::NULL);
        }
    })
}

/// The rest of the page could not load (`reason`): this module keeps the page, and says so.
#[wasm_bindgen]
pub fn rest_failed(reason: String) {
    FIRST.with(|slot| {
        if let Some(first) = slot.borrow().as_ref() {
            first.rest_failed(&reason);
        }
    });
}
