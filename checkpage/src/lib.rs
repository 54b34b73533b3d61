//! Check this machine (`?check`): the page that measures the camera, the microphone, the speaker
//! and the network, and shows what each figure means (`loopback-check` judges). www/boot.js
//! loads this module instead of the rest of the loopback page when the address asks for it.

/// Two seconds of the microphone's level, and the speaker's tone.
mod audio;
/// The camera at each common resolution, and frames sampled from it.
mod camera;
/// Candidates from each ICE server, and connections through each path.
mod ice;
/// The checks in order, and the report they make.
mod run;
/// A data channel as fast as flow control allows, and a video call ramping up.
mod throughput;
/// The check's part of the page: a row per check, the ICE servers, the summary and the report.
mod view;
/// Waiting on the browser: every promise raced against a deadline.
mod wait;

use std::cell::RefCell;
use wasm_bindgen::{prelude::wasm_bindgen, JsCast, JsValue};

thread_local! {
    /// The check page, kept for the page's lifetime.
    static PAGE: RefCell<Option<run::CheckPage>> = const { RefCell::new(None) };
}

/// Runs when the module loads.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Takes the page over from the first module: `handed` is a camera stream Start may have
/// opened meanwhile, which the check does not use (each check opens its own), so it is stopped.
#[wasm_bindgen]
pub fn mount(handed: JsValue) {
    if let Ok(stream) = handed.dyn_into::<web_sys::MediaStream>() {
        for track in stream.get_tracks().iter() {
            if let Ok(track) = track.dyn_into::<web_sys::MediaStreamTrack>() {
                track.stop();
            }
        }
    }
    match run::CheckPage::mount() {
        Ok(page) => PAGE.with(|slot| *slot.borrow_mut() = Some(page)),
        Err(e) => web_sys::console::error_1(&e.to_string().into()),
    }
}

/// The last run's report as JSON (what "Download report" saves), for DevTools and tests; `None`
/// before a run has ended.
#[wasm_bindgen]
pub fn report_json() -> Option<String> {
    PAGE.with(|slot| slot.borrow().as_ref().and_then(run::CheckPage::report_json))
}
