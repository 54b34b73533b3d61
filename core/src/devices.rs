//! Where the camera and microphone come from (`navigator.mediaDevices`, which a page outside a
//! secure context does not have), and a stream's tracks, in words.

use crate::error::Error;
use crate::{js, words};
use alloc::string::String;
use alloc::vec::Vec;
use wasm_bindgen::JsCast;
use web_sys::{MediaDevices, MediaStream, MediaStreamTrack};

/// `navigator.mediaDevices`, absent outside a secure context: calling through the binding then
/// would throw a TypeError that tells the user nothing.
pub fn media_devices() -> Result<MediaDevices, Error> {
    let window = web_sys::window().ok_or(Error::InsecureContext)?;
    Ok(js::present(&window.navigator(), "mediaDevices")
        .ok_or(Error::InsecureContext)?
        .unchecked_into())
}

/// The tracks of `stream`.
pub fn tracks(stream: &MediaStream) -> Vec<MediaStreamTrack> {
    let tracks = stream.get_tracks();
    (0..tracks.length())
        .filter_map(|i| tracks.get(i).dyn_into().ok())
        .collect()
}

/// "camera “…”, microphone “…”": the device labels, so the user sees which devices opened.
pub fn describe(stream: &MediaStream) -> String {
    let mut said = String::new();
    for track in tracks(stream) {
        if !said.is_empty() {
            said.push_str(", ");
        }
        said.push_str(&words::describe_track(&track.kind(), &track.label()));
    }
    said
}
