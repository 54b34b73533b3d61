//! loopback-rtc: the WebRTC loopback page in Rust/wasm — camera, two peers in one page, and what
//! happens between them.

/// What the page's address asks for: the tutorial's loopback, or a room call.
pub mod address;
/// Clicks in, decisions out: wires the page, the camera and the call together.
pub mod app;
/// The call: peers that negotiate by themselves, in the page or across a room.
pub mod call;
/// What the data channel's two ends say: chat lines, receipts, pings.
pub mod chat;
/// The local camera and microphone.
pub mod media;
/// The page: its elements, the step log, the stats panel's figures and graphs.
pub mod page;
/// Recording the call: the local camera, the remote video or both, to a file to download.
pub mod record;
/// What the call's controls may be set to: resolution presets, bitrate cap, codecs.
pub mod settings;
/// How a page in a room reaches the other page: the signaling server, or tabs.
pub mod signaling;
/// Call statistics in plain Rust: parsing, rates, history.
pub mod stats;
/// Files over the data channel, in plain Rust: offers, chunks, acks, the hash, the bar's words.
pub mod transfer;

/// What this crate shares with the page's first module (`start/`): the buttons' state machine,
/// the errors in words, property reading, and what the tutorial says.
pub use loopback_core::{controls, error, js, words, START_USABLE};

pub use app::App;
pub use error::Error;

use std::cell::RefCell;
use wasm_bindgen::{prelude::wasm_bindgen, JsCast, JsValue};

thread_local! {
    /// The page's one app, kept for the page's lifetime.
    static APP: RefCell<Option<App>> = const { RefCell::new(None) };
}

/// The User Timing mark of the moment the whole page works, controls and stats included.
pub const PAGE_READY: &str = "loopback:page-ready";

/// Runs when the wasm module loads, in the page and in test harness pages alike.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Brings the page to life, taking over from the first module (www/boot.js calls it once that
/// module has let go): `handed` is the camera's stream the first module opened, or `null`.
#[wasm_bindgen]
pub fn mount(handed: JsValue) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let search = document.location().and_then(|l| l.search().ok());
    let (mode, bad_room) = match address::mode(search.as_deref().unwrap_or_default()) {
        Ok(mode) => (mode, None),
        Err(bad) => (
            address::Mode::Loopback,
            Some(Error::BadRoom(bad.to_string())),
        ),
    };
    let root = page::Root::Document(document);
    match App::mount_in(root, Box::new(media::UserMedia), mode) {
        Ok(app) => {
            if let Some(error) = bad_room {
                app.page().error(&error);
            }
            if let Ok(stream) = handed.dyn_into::<web_sys::MediaStream>() {
                app.adopt(stream);
            }
            app.resume();
            APP.with(|slot| *slot.borrow_mut() = Some(app));
            // Everything works from here on: DevTools, the tests and the benchmark see when.
            if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
                let _ = performance.mark(PAGE_READY);
            }
        }
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
