//! loopback-rtc: the WebRTC loopback page in Rust/wasm — camera, two peers in one page, and what
//! happens between them.

/// Clicks in, decisions out: wires the page, the camera and the call together.
pub mod app;
/// Which button may act now, and what a click does: the plain-Rust state machine.
pub mod controls;
/// What can go wrong, in words shown to the user.
pub mod error;
/// The 60-second graphs on canvas.
pub mod graph;
/// The timed step log.
pub mod log;
/// The local camera and microphone.
pub mod media;
/// The page's elements.
pub mod page;
/// The stats panel during a call: reading getStats() and showing it.
pub mod panel;
/// The two peers of the loopback call.
pub mod peer_pair;
/// Call statistics: parsing, rates, history.
pub mod stats;

pub use app::App;
pub use error::Error;

use std::cell::RefCell;
use wasm_bindgen::prelude::wasm_bindgen;

thread_local! {
    /// The page's one app, kept for the page's lifetime.
    static APP: RefCell<Option<App>> = const { RefCell::new(None) };
}

/// Runs when the wasm module loads: brings the page to life if this document is the page.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    // Test harness pages load this module too; they have no buttons and mount their own app.
    if document.get_element_by_id(page::START_BUTTON).is_none() {
        return;
    }
    match App::mount(&document, Box::new(media::UserMedia)) {
        Ok(app) => APP.with(|slot| *slot.borrow_mut() = Some(app)),
        Err(e) => web_sys::console::error_1(&e.to_string().into()),
    }
}

/// Bytes of wasm linear memory (it grows, never shrinks): the benchmark's leak check reads it.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen]
pub fn wasm_memory_bytes() -> f64 {
    (core::arch::wasm32::memory_size(0) * 65_536) as f64
}

/// talc instead of the default dlmalloc: 2.9 KB less gzip wasm, measured (README, "Size").
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
