//! Where the camera and microphone come from: `navigator.mediaDevices`, which a page outside a
//! secure context does not have.

use crate::error::Error;
use crate::js;
use wasm_bindgen::JsCast;
use web_sys::MediaDevices;

/// `navigator.mediaDevices`, absent outside a secure context: calling through the binding then
/// would throw a TypeError that tells the user nothing.
pub fn media_devices() -> Result<MediaDevices, Error> {
    let window = web_sys::window().ok_or(Error::InsecureContext)?;
    Ok(js::present(&window.navigator(), "mediaDevices")
        .ok_or(Error::InsecureContext)?
        .unchecked_into())
}
